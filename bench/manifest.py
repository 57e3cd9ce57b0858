"""An offline manifest of 100,000 tickets: build+sign, size, verify+load, lookups, daemon RSS.

Prints `name=value` lines:
  build_sign_s    build_manifest() for 100,000 entries (pack, compress, sign), median of 3
  wire_bytes      size of the signed manifest on the wire
  verify_load_s   verify + decode + apply to a fresh SQLite store, median of 3
  reopen_s        ManifestStore() on the file written above (a daemon restart)
  lookup_per_s    store.ticket() / ticket_by_static_hash() lookups per second (hits and misses)
  rss_mb          peak RSS of the daemon side (a child process that only verifies, loads,
                  reopens and looks up: the backend's building is not counted)
  json_dumps_s    baseline: json.dumps of the same entries as dicts, then zlib, median of 3
  json_wire_bytes baseline size
  build_vs_json   build_sign_s / json_dumps_s (how much a signed canonical manifest costs
                  over the plainest serialization)

Run with `.venv/bin/python bench/manifest.py`; `--daemon WIRE IDS KEY` is the child's mode.
"""

from __future__ import annotations

import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from scanctl.core import EventFacts, Policy, TicketStatus, static_code_hash
from scanctl.manifests import (
    DeviceKeys,
    ManifestEntry,
    ManifestSigner,
    ManifestStore,
    ManifestVerifier,
    TrustedKeys,
    build_manifest,
    seal_event_key,
)

TICKETS = 100_000
TENANT, VENUE, EVENT, DEVICE = "tenant-1", "venue-1", "event-1", "gate-1"
NOW = 1_764_320_000_000
ROUNDS = 3
LOOKUPS = 200_000


def entries(seed: int = 7) -> list[ManifestEntry]:
    """A realistic event: mostly active GA tickets, some VIP, refunds, transfers, printed
    tickets with static codes, a few with their own validity window or earlier entries."""
    rng = random.Random(seed)
    ids: set[str] = set()
    while len(ids) < TICKETS:
        ids.add(f"{rng.getrandbits(32):08x}")
    zones = [frozenset({"GA"})] * 8 + [frozenset({"VIP", "GA"}), frozenset()]
    result = []
    for n, ticket_id in enumerate(sorted(ids, key=lambda _: rng.random())):
        roll = rng.random()
        status = (
            TicketStatus.REFUNDED
            if roll < 0.03
            else TicketStatus.CANCELLED
            if roll < 0.04
            else TicketStatus.TRANSFERRED
            if roll < 0.05
            else TicketStatus.ACTIVE
        )
        windowed = rng.random() < 0.05
        result.append(
            ManifestEntry(
                ticket_id=ticket_id,
                status=status,
                zones=rng.choice(zones),
                valid_from_ms=NOW - 3_600_000 if windowed else None,
                valid_until_ms=NOW + 3_600_000 if windowed else None,
                transferred_to=f"{rng.getrandbits(32):08x}"
                if status is TicketStatus.TRANSFERRED
                else None,
                admissions_so_far=1 if rng.random() < 0.02 else 0,
                static_hash=static_code_hash(f"printed-{n:024d}") if rng.random() < 0.1 else None,
            )
        )
    return result


def median_seconds(work: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not getrusage: its ru_maxrss survives fork and
    exec, so a child would report the parent's peak from building the manifest."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def daemon_side(wire_path: str, ids_path: str, public_key: str) -> None:
    """The child: what a gate does with the manifest, and the RSS that costs."""
    wire = Path(wire_path).read_bytes()
    verifier = ManifestVerifier(TrustedKeys([public_key]))
    directory = Path(tempfile.mkdtemp(prefix="manifest-bench-"))
    context = {"tenant_id": TENANT, "venue_id": VENUE, "now_ms": NOW, "device_id": DEVICE}
    times = []
    for round_ in range(ROUNDS):
        store = ManifestStore(directory / f"gate-{round_}.db")
        started = time.perf_counter()
        store.load(wire, verifier, **context)  # type: ignore[arg-type]
        times.append(time.perf_counter() - started)
        store.close()
        del store  # a daemon holds one store: let this one go before the next
        gc.collect()
    started = time.perf_counter()
    store = ManifestStore(directory / "gate-0.db")
    reopen = time.perf_counter() - started
    assert len(store) == TICKETS

    rng = random.Random(3)
    present = Path(ids_path).read_text().split()
    probes = [
        rng.choice(present) if rng.random() < 0.9 else f"{rng.getrandbits(32):08x}"
        for _ in range(LOOKUPS)
    ]
    hashes = [static_code_hash(f"printed-{n:024d}") for n in range(0, LOOKUPS // 10)]
    ticket, by_hash = store.ticket, store.ticket_by_static_hash
    started = time.perf_counter()
    for ticket_id in probes:
        ticket(ticket_id)
    for digest in hashes:
        by_hash(digest)
    lookup_s = time.perf_counter() - started
    store.close()
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()

    print(f"verify_load_s={statistics.median(times):.3f}")
    print(f"reopen_s={reopen:.3f}")
    print(f"lookup_per_s={(len(probes) + len(hashes)) / lookup_s:.0f}")
    print(f"rss_mb={peak_rss_mb():.1f}")


def main() -> None:
    signer = ManifestSigner.generate()
    device = DeviceKeys.generate()
    event = EventFacts(EVENT, TENANT, VENUE, NOW, NOW + 4 * 3_600_000)
    sealed = seal_event_key(
        os.urandom(32),
        device.exchange_public_b64,
        tenant_id=TENANT,
        event_id=EVENT,
        device_id=DEVICE,
    )
    tickets = entries()
    wire = b""

    def build() -> None:
        nonlocal wire
        wire = build_manifest(
            event=event,
            issued_at_ms=NOW,
            valid_until_ms=NOW + 4 * 3_600_000,
            sequence=1,
            policy=Policy(),
            device_id=DEVICE,
            sealed_event_keys=sealed,
            entries=tickets,
            signer=signer,
        )

    build_s = median_seconds(build)
    as_dicts = [
        {
            "ticket_id": e.ticket_id,
            "status": str(e.status),
            "zones": sorted(e.zones),
            "valid_from_ms": e.valid_from_ms,
            "valid_until_ms": e.valid_until_ms,
            "transferred_to": e.transferred_to,
            "admissions_so_far": e.admissions_so_far,
            "static_hash": e.static_hash,
        }
        for e in tickets
    ]
    json_wire = b""

    def json_baseline() -> None:
        nonlocal json_wire
        json_wire = zlib.compress(json.dumps(as_dicts).encode())

    json_s = median_seconds(json_baseline)

    with tempfile.TemporaryDirectory(prefix="manifest-bench-") as directory:
        wire_path, ids_path = Path(directory, "manifest.scmf"), Path(directory, "ids.txt")
        wire_path.write_bytes(wire)
        ids_path.write_text("\n".join(e.ticket_id for e in tickets[:: TICKETS // 10_000]))
        child = subprocess.run(
            [sys.executable, __file__, "--daemon", wire_path, ids_path, signer.public_key_b64()],
            check=True,
            capture_output=True,
            text=True,
        )

    print(f"tickets={TICKETS}")
    print(f"build_sign_s={build_s:.3f}")
    print(f"wire_bytes={len(wire)}")
    print(child.stdout, end="")
    print(f"json_dumps_s={json_s:.3f}")
    print(f"json_wire_bytes={len(json_wire)}")
    print(f"build_vs_json={build_s / json_s:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--daemon":
        daemon_side(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
