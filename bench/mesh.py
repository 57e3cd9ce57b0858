"""Gate mesh: how fast an admission reaches the other gates, and what that prevents.

Real daemons (`scanctl daemon run`, one process each) on loopback, offline-only (no
backend), each with a serial scanner on a pty and host-ACK feedback. Tickets arrive at
a steady rate spread over the gates; a quarter of them is presented again at another
gate, with a fresh code (a second phone, a photo of a printed code), after a random gap.
A second presentation that gets the good beep is a double admission.

Prints `name=value` lines for 3 and 8 gates: propagation_p50_ms / propagation_p99_ms
(read time at the origin to applied at a peer, as the receiving gates measure it; the
p99 is the worst gate's), double_admissions_gap_ge_1s, double admissions at smaller
gaps, cpu_percent_per_gate, and the local decision's latency (pty write to feedback,
p50/p99) with the mesh beside the same run without it (the baseline; the ratio says
what the mesh adds to a decision).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import select
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanctl.core import Direction
from scanctl.daemon.mesh.wire import MeshCodec, MeshRecord, Summary, derive_mesh_key
from scanctl.manifests import DeviceKeys
from tests.daemon.gate_kit import EVENT, TENANT, now_ms
from tests.daemon.mesh_kit import GOOD, MeshGate, provision_mesh, scanners

RATE_PER_GATE = 8.0
"""Arrivals per second per gate: a busy door (a lane takes a person every 2-4 s, and a
gate box serves two to four lanes)."""
SECONDS = 12.0
REPEAT_SHARE = 0.25
GAPS_S = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5)
PORT_BASE = 47600
BOX_RATE = 20.0
"""One box's reads per second in the one-box run (several lanes at a busy door)."""
BOX_READS = 400
BOX_WARM_UP = 30


@dataclass(order=True)
class Presentation:
    at_s: float
    gate: int
    ticket: str
    repeat_gap_s: float | None = None


def schedule(gates: int, tickets: list[str], rng: random.Random) -> list[Presentation]:
    plan = []
    t = 0.0
    index = 0
    while t < SECONDS:
        t += rng.expovariate(RATE_PER_GATE * gates)
        gate = rng.randrange(gates)
        ticket = tickets[index]
        index += 1
        plan.append(Presentation(t, gate, ticket))
        if rng.random() < REPEAT_SHARE:
            gap = rng.choice(GAPS_S)
            other = rng.choice([g for g in range(gates) if g != gate])
            plan.append(Presentation(t + gap, other, ticket, gap))
    return sorted(plan)


def present(gate: MeshGate, code: str) -> tuple[bool, float]:
    assert gate.master is not None
    started = time.perf_counter()
    os.write(gate.master, code.encode() + b"\r")
    ready, _, _ = select.select([gate.master], [], [], 5)
    assert ready, f"{gate.name} gave no feedback"
    answer = os.read(gate.master, 3)
    return answer == GOOD, (time.perf_counter() - started) * 1000


def cpu_seconds(gate: MeshGate) -> float:
    assert gate.process is not None
    fields = Path(f"/proc/{gate.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def write_config(gate: MeshGate, index: int, count: int, mesh: bool) -> None:
    link = gate.directory / "lane"
    table = ""
    if mesh:
        peers = ", ".join(f'"127.0.0.1:{PORT_BASE + i}"' for i in range(count) if i != index)
        table = (
            f'[mesh]\nlisten = "127.0.0.1:{PORT_BASE + index}"\npeers = [{peers}]\n'
            'discovery = "off"\n\n'
        )
    gate.config = gate.directory / "gate.toml"
    gate.config.write_text(
        f'event_id = "{EVENT}"\ndata_dir = "{gate.directory}"\nmode = "offline-only"\n\n'
        f'{table}[[scanner]]\nname = "{gate.name}-1"\ndriver = "serial"\npath = "{link}"\n'
        f'gate = "{gate.name}"\ndirection = "entry"\nfeedback = "honeywell"\n'
    )


def run(count: int, *, mesh: bool, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    names = [f"gate{index}" for index in range(count)]
    with tempfile.TemporaryDirectory() as folder:
        # A gate box serves several lanes: lift the per-lane rate limit off this one lane.
        venue = provision_mesh(
            Path(folder),
            names,
            now_ms(),
            tickets=4000,
            printed=0,
            policy={"scanner_rate_limit_per_minute": 100_000},
        )
        gates = venue.gates
        with scanners(gates):
            for index, gate in enumerate(gates):
                write_config(gate, index, count, mesh)
                gate.start()
            if mesh:
                deadline = time.monotonic() + 20
                while any(g.mesh()["peers_up"] < count - 1 for g in gates):
                    assert time.monotonic() < deadline, "the gates never heard each other"
                    time.sleep(0.1)
            plan = schedule(count, venue.tickets, rng)
            cpu_before = [cpu_seconds(g) for g in gates]
            latencies: list[float] = []
            doubles: dict[str, int] = {"lt_250ms": 0, "lt_1s": 0, "ge_1s": 0}
            repeats: dict[str, int] = {"lt_250ms": 0, "lt_1s": 0, "ge_1s": 0}
            first_admitted: dict[str, bool] = {}
            started = time.monotonic()
            for item in plan:
                delay = started + item.at_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                gate = gates[item.gate]
                admitted, latency = present(gate, gate.token(item.ticket, now_ms()))
                latencies.append(latency)
                if item.repeat_gap_s is None:
                    first_admitted[item.ticket] = admitted
                elif first_admitted[item.ticket]:  # a double needs two admissions
                    bucket = (
                        "ge_1s"
                        if item.repeat_gap_s >= 1
                        else "lt_1s"
                        if item.repeat_gap_s >= 0.25
                        else "lt_250ms"
                    )
                    repeats[bucket] += 1
                    doubles[bucket] += int(admitted)
            elapsed = time.monotonic() - started
            cpu = [cpu_seconds(g) - before for g, before in zip(gates, cpu_before, strict=True)]
            figures = {
                "decision_p50_ms": percentile(latencies, 0.5),
                "decision_p99_ms": percentile(latencies, 0.99),
                "presentations": float(len(plan)),
                "cpu_percent_per_gate": 100 * sum(cpu) / len(cpu) / elapsed,
            }
            if mesh:
                views = [g.mesh()["propagation_ms"] for g in gates]
                figures["propagation_p50_ms"] = percentile([v["p50"] for v in views], 0.5)
                figures["propagation_p99_ms"] = max(v["p99"] for v in views)
            for bucket in doubles:
                figures[f"double_admissions_gap_{bucket}"] = float(doubles[bucket])
                figures[f"repeats_gap_{bucket}"] = float(repeats[bucket])
            for gate in gates:
                gate.stop()
            return figures


def one_box(fed: bool) -> float:
    """Decision p99 (ms) of ONE gate daemon at a busy door's rate, while (``fed``) seven
    simulated peers push it their admissions (8 per second each) and heartbeats: the
    mesh's own cost on a box, without seven other daemons sharing this machine's cores."""
    with tempfile.TemporaryDirectory() as folder:
        names = [f"gate{index}" for index in range(8)]
        venue = provision_mesh(
            Path(folder), names, now_ms(), tickets=4000, printed=0,
            policy={"scanner_rate_limit_per_minute": 100_000},
        )  # fmt: skip
        gate, peers = venue.gates[0], venue.gates[1:]
        with scanners([gate]):
            write_config(gate, 0, 1, mesh=True)
            gate.start()
            stop = multiprocessing.Event()
            spec = [(p.device_id, p.identity.keys.private_b64()) for p in peers]
            feeder = multiprocessing.Process(
                target=_feed,
                args=(spec, gate.event_key, venue.tickets[2000:], gate.device_id, stop),
                daemon=True,
            )
            if fed:
                feeder.start()
            for index in range(BOX_WARM_UP):  # first reads warm the daemon up: not counted
                present(gate, gate.token(venue.tickets[index], now_ms()))
            latencies = []
            started = time.monotonic()
            rng = random.Random(1)
            for index in range(BOX_WARM_UP, BOX_WARM_UP + BOX_READS):
                due = started + (index - BOX_WARM_UP) / BOX_RATE + rng.uniform(0, 0.02)
                if (delay := due - time.monotonic()) > 0:
                    time.sleep(delay)
                latencies.append(present(gate, gate.token(venue.tickets[index], now_ms()))[1])
            stop.set()
            if fed:
                feeder.join()
                assert gate.mesh()["records"]["peers"] > 0, "the simulated peers were not heard"
            gate.stop()
    return percentile(latencies, 0.99)


def _feed(
    peers: list[tuple[str, dict[str, str]]],
    event_key: bytes,
    tickets: list[str],
    gate_device: str,
    stop: Any,
) -> None:
    """Seven peers' traffic, from a process of its own (never the driver's GIL): each
    pushes one admission every 1/8 s and says every half second what it holds — the
    gate's own records included, as real peers would once they hold them."""
    codecs = [
        MeshCodec(
            event_id=EVENT,
            device_id=device_id,
            signing_key=DeviceKeys.from_private_b64(keys).signing,
            mesh_keys=[derive_mesh_key(event_key, TENANT, EVENT)],
            peers={},
        )
        for device_id, keys in peers
    ]
    target = ("127.0.0.1", PORT_BASE)
    seqs = [0] * len(codecs)
    unused = iter(tickets)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        beat = time.monotonic()
        while not stop.is_set():
            for index, codec in enumerate(codecs):
                seqs[index] += 1
                record = MeshRecord(codec.device_id, seqs[index], f"s{seqs[index]}",
                                    next(unused), now_ms(), f"gate{index + 1}", None,
                                    Direction.ENTRY, "offline")  # fmt: skip
                out.sendto(codec.seal((record,), now_ms()), target)
            if time.monotonic() - beat >= 0.5:
                beat = time.monotonic()
                for index, codec in enumerate(codecs):
                    have = Summary({codec.device_id: seqs[index], gate_device: 10**9})
                    out.sendto(codec.seal(have, now_ms()), target)
            stop.wait(1 / RATE_PER_GATE)


def main() -> None:
    quiet, fed = one_box(fed=False), one_box(fed=True)
    print(f"one_box_decision_p99_ms_alone={quiet:.3f}")
    print(f"one_box_decision_p99_ms_fed_by_7_peers={fed:.3f}")
    print(f"one_box_decision_p99_ratio_fed_vs_alone={fed / quiet:.3f}")
    overall: dict[str, float] = {}
    for count in (3, 8):
        without = run(count, mesh=False, seed=count)
        with_mesh = run(count, mesh=True, seed=count)
        prefix = f"gates{count}_"
        for name, value in with_mesh.items():
            print(f"{prefix}{name}={value:.3f}")
        print(f"{prefix}baseline_no_mesh_decision_p99_ms={without['decision_p99_ms']:.3f}")
        print(
            f"{prefix}baseline_no_mesh_double_admissions_gap_ge_1s="
            f"{without['double_admissions_gap_ge_1s']:.0f}"
        )
        ratio = with_mesh["decision_p99_ms"] / without["decision_p99_ms"]
        print(f"{prefix}decision_p99_ratio_mesh_vs_none={ratio:.3f}")
        for name in ("propagation_p50_ms", "propagation_p99_ms"):
            overall[name] = max(overall.get(name, 0.0), with_mesh[name])
        for name in ("double_admissions_gap_ge_1s", "double_admissions_gap_lt_1s"):
            overall[name] = overall.get(name, 0.0) + with_mesh[name]
    # The figures over both runs: the worse propagation, every double admission.
    for name, value in overall.items():
        print(f"{name}={value:.0f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
