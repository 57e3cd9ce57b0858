"""Daemon end to end: a frame written into a pty -> a journaled, answered decision.

Runs the real Daemon in this process with a serial scanner on a pseudo-terminal, writes
frames from a thread at a fixed rate, and times each from its intended send time to the
decision event (published only after the journal commit). Prints `name=value` lines:
e2e_p50_ms and e2e_p99_ms at 200 scans/s, max_sustained_per_s (a burst written as fast
as the pty takes it), and the same run's baseline, the raw pty write->read round trip
(pty_rtt_p99_ms).
"""

from __future__ import annotations

import asyncio
import os
import select
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanctl.daemon.config import load_settings
from scanctl.daemon.runner import Daemon
from tests.daemon.gate_kit import gate_toml, provision, pty_pair

RATE = 200
PACED_SCANS = 1_000
BURST_SCANS = 10_000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def pty_round_trip_p99() -> float:
    with tempfile.TemporaryDirectory() as folder, pty_pair(Path(folder) / "p") as master:
        slave = os.open((Path(folder) / "p").readlink(), os.O_RDWR | os.O_NOCTTY)
        times = []
        for _ in range(2_000):
            started = time.perf_counter()
            os.write(master, b"x" * 120 + b"\r")
            got = 0
            while got < 121:
                select.select([slave], [], [])
                got += len(os.read(slave, 4096))
            times.append((time.perf_counter() - started) * 1000)
        os.close(slave)
    return percentile(times, 0.99)


async def run_daemon(folder: Path) -> dict[str, float]:
    now = time.time_ns() // 1_000_000
    gate = provision(
        folder,
        now,
        tickets=PACED_SCANS + BURST_SCANS,
        policy={"scanner_rate_limit_per_minute": 100_000},
    )
    link = folder / "scanner"
    results: dict[str, float] = {}
    with pty_pair(link) as master:
        config = gate_toml(
            folder, f'[[scanner]]\nname = "s1"\ndriver = "serial"\npath = "{link}"\ngate = "g"\n'
        )
        daemon = Daemon(load_settings(config), gate.identity)
        daemon.open()
        events = daemon.bus.subscribe(maxsize=100_000)
        runner = asyncio.create_task(daemon.run())
        frames = [b"]Q1" + gate.token(t, now).encode() + b"\r" for t in gate.tickets]
        sent_at: dict[str, float] = {}

        def write(batch: list[bytes], rate: float | None) -> None:
            start = time.perf_counter()
            for index, frame in enumerate(batch):
                if rate is not None:
                    intended = start + index / rate
                    while (delay := intended - time.perf_counter()) > 0:
                        time.sleep(min(delay, 0.001))
                    sent_at[frame[3:11].decode()] = intended
                else:
                    sent_at[frame[3:11].decode()] = time.perf_counter()
                os.write(master, frame)

        async def collect(count: int) -> dict[str, float]:
            seen: dict[str, float] = {}
            while len(seen) < count:
                event = await events.get()
                if event.get("type") == "decision":
                    seen[event["ticket_id"]] = time.perf_counter()
            return seen

        await asyncio.sleep(0.2)  # let the driver open the port
        paced = frames[:PACED_SCANS]
        writer = threading.Thread(target=write, args=(paced, RATE))
        writer.start()
        seen = await collect(len(paced))
        writer.join()
        latencies = [(seen[t] - sent_at[t]) * 1000 for t in seen]
        results["e2e_p50_ms"] = percentile(latencies, 0.50)
        results["e2e_p99_ms"] = percentile(latencies, 0.99)

        burst = frames[PACED_SCANS:]
        started = time.perf_counter()
        writer = threading.Thread(target=write, args=(burst, None))
        writer.start()
        seen = await collect(len(burst))
        writer.join()
        results["max_sustained_per_s"] = len(burst) / (max(seen.values()) - started)
        results["journal_commits"] = float(daemon.journal.commits if daemon.journal else 0)
        daemon.request_stop()
        await runner
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(run_daemon(Path(folder)))
    print(f"e2e_p50_ms={results['e2e_p50_ms']:.3f}")
    print(f"e2e_p99_ms={results['e2e_p99_ms']:.3f}")
    print(f"max_sustained_per_s={results['max_sustained_per_s']:.0f}")
    print(f"journal_commits={results['journal_commits']:.0f}")
    print(f"pty_rtt_p99_ms={pty_round_trip_p99():.3f}")


if __name__ == "__main__":
    main()
