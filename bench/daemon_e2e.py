"""Daemon end to end: a frame written into a pty -> the scanner's good-read acknowledgement.

Runs the real daemon (`scanctl daemon run`, its own process) with a serial scanner on a
pseudo-terminal and Honeywell host-ACK feedback. The daemon acknowledges a read only
after its decision is committed to the journal, so the time from a frame's *intended*
send time to its acknowledgement is the whole path: pty, framing, decide, journal
commit, feedback. Prints `name=value` lines: e2e_p50_ms and e2e_p99_ms at 200 scans/s
and max_sustained_per_s (a burst written as fast as the pty takes it) with the default
`journal_sync = "normal"`, the same three prefixed `full_` with `journal_sync = "full"`
(an fsync before every acknowledgement), and the same run's baselines: the raw pty
write->read round trip (pty_rtt_p99_ms), one fsync of this disk (fsync_p99_ms), and how
late the generator itself wrote its frames (send_late_p99_ms; e2e_from_write_p99_ms is
the p99 timed from the actual write instead of the due time).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.daemon.gate_kit import (
    SCANCTL,
    gate_toml,
    now_ms,
    provision,
    pty_pair,
    wait_ready,
)

RATE = 200
PACED_SCANS = 2_000
BURST_SCANS = 10_000
ACK = 3


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


def read_acks(master: int, count: int, arrived: list[float], deadline_s: float) -> None:
    """Timestamp each acknowledgement as it arrives (bytes may come several at a time)."""
    pending = b""
    deadline = time.monotonic() + deadline_s
    while len(arrived) < count and time.monotonic() < deadline:
        if select.select([master], [], [], 0.5)[0]:
            pending += os.read(master, 65536)
            now = time.perf_counter()
            while len(pending) >= ACK:
                pending = pending[ACK:]
                arrived.append(now)


def fsync_p99(folder: Path) -> float:
    """A 4 KiB append and its fsync, 500 times, 5 ms apart: what `full` pays per commit."""
    times = []
    fd = os.open(folder / "fsync-probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for _ in range(500):
            started = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            times.append((time.perf_counter() - started) * 1000)
            time.sleep(1 / RATE)
    finally:
        os.close(fd)
    return percentile(times, 0.99)


def run(folder: Path, journal_sync: str) -> dict[str, float]:
    gate = provision(
        folder,
        now_ms(),
        tickets=PACED_SCANS + BURST_SCANS,
        policy={"scanner_rate_limit_per_minute": 100_000},
    )
    link = folder / "scanner"
    results: dict[str, float] = {}
    with pty_pair(link) as master:
        config = gate_toml(
            folder,
            f'[[scanner]]\nname = "s1"\ndriver = "serial"\npath = "{link}"\ngate = "g"\n'
            'feedback = "honeywell"\n',
        )
        with subprocess.Popen(
            [str(SCANCTL), "daemon", "run", "--config", str(config)],
            stderr=subprocess.DEVNULL,
            env={**os.environ, "SCANCTL_JOURNAL_SYNC": journal_sync},
        ) as daemon:
            socket = folder / "daemon.sock"
            wait_ready(socket)
            frames = [b"]Q1" + gate.token(t, now_ms()).encode() + b"\r" for t in gate.tickets]

            # Paced: one frame every 5 ms, each timed from when it was due.
            paced, arrived = frames[:PACED_SCANS], []
            reader = threading.Thread(
                target=read_acks, args=(master, len(paced), arrived, 60), daemon=True
            )
            reader.start()
            start = time.perf_counter() + 0.05
            intended = [start + i / RATE for i in range(len(paced))]
            sent = []
            for due, frame in zip(intended, paced, strict=True):
                while (delay := due - time.perf_counter()) > 0:
                    time.sleep(delay)
                sent.append(time.perf_counter())
                os.write(master, frame)
            reader.join()
            latencies = [(a - i) * 1000 for a, i in zip(arrived, intended, strict=False)]
            # The generator's own lateness (a sleep that overran) is charged to the
            # daemon above; these show how much of the figure it was.
            from_write = [(a - w) * 1000 for a, w in zip(arrived, sent, strict=False)]
            late = [(w - i) * 1000 for w, i in zip(sent, intended, strict=True)]
            results["e2e_from_write_p99_ms"] = percentile(from_write, 0.99)
            results["send_late_p99_ms"] = percentile(late, 0.99)
            results["e2e_p50_ms"] = percentile(latencies, 0.50)
            results["e2e_p99_ms"] = percentile(latencies, 0.99)

            # Burst: everything at once, as fast as the pty takes it.
            burst, arrived = frames[PACED_SCANS:], []
            reader = threading.Thread(
                target=read_acks, args=(master, len(burst), arrived, 120), daemon=True
            )
            reader.start()
            started = time.perf_counter()
            for frame in burst:
                rest = frame
                while rest:
                    rest = rest[os.write(master, rest) :]
            reader.join()
            results["max_sustained_per_s"] = len(arrived) / (arrived[-1] - started)
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    return results


def main() -> None:
    for journal_sync, prefix in (("normal", ""), ("full", "full_")):
        with tempfile.TemporaryDirectory() as folder:
            results = run(Path(folder), journal_sync)
        print(f"{prefix}e2e_p50_ms={results['e2e_p50_ms']:.3f}")
        print(f"{prefix}e2e_p99_ms={results['e2e_p99_ms']:.3f}")
        print(f"{prefix}max_sustained_per_s={results['max_sustained_per_s']:.0f}")
        print(f"{prefix}e2e_from_write_p99_ms={results['e2e_from_write_p99_ms']:.3f}")
        print(f"{prefix}send_late_p99_ms={results['send_late_p99_ms']:.3f}")
    print(f"pty_rtt_p99_ms={pty_round_trip_p99():.3f}")
    with tempfile.TemporaryDirectory() as folder:
        print(f"fsync_p99_ms={fsync_p99(Path(folder)):.3f}")


if __name__ == "__main__":
    main()
