"""Reconciliation: 50,000 offline scans pushed through a real backend process, then again.

Starts `scanctl server run` on a temporary SQLite file, creates an event with 50,000
tickets, registers an offline device with its own keys, and pushes 50,000 offline
admissions (one per ticket, as a gate's outbox sends them) with the device's JWTs in
batches of 5,000. Then pushes the same scans again: every answer must be `duplicate`
and the table must not grow. Prints `name=value` lines: reconcile_50k_s, repush_50k_s,
reconcile_scans_per_s, and the same run's baseline, raw_insert_50k_s (50,000 rows of the
same shape inserted with one executemany into a SQLite file with synchronous=FULL).
Also the device's manifest pull of those 50,000 tickets before the scans (packed and
signed), again (packed entries cached, only sealed and signed), and its size.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanctl.backend.auth.principal import Role
from scanctl.client import DeviceAuth, ScanctlClient
from scanctl.manifests import DeviceKeys
from tests.backend.helpers import start_server

SCANS = 50_000
BATCH = 5_000
SCANNED_MS = 1_906_567_200_000  # 2030-06-01T19:00:00Z, inside the event


def scans_of(tickets: list[str]) -> list[dict[str, object]]:
    at = datetime.fromtimestamp(SCANNED_MS / 1000, UTC)
    return [
        {
            "id": str(uuid.uuid4()),
            "qrData": f"{ticket}:{SCANNED_MS}:0011223344556677:{'ab' * 32}",
            "ticketId": ticket,
            "allowed": True,
            "reason": "ADMITTED",
            "gate": f"gate-{index % 8}",
            "scanner": f"lane-{index % 16}",
            "direction": "entry",
            "scannedAt": at.isoformat(),
            "decidedBy": "offline",
        }
        for index, ticket in enumerate(tickets)
    ]


def push_all(client: ScanctlClient, device: str, scans: list[dict[str, object]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for start in range(0, len(scans), BATCH):
        answer = client.reconcile(device, scans[start : start + BATCH], timeout=120)
        for key, value in answer["summary"].items():
            totals[key] = totals.get(key, 0) + value
    return totals


def raw_insert_baseline(folder: Path, scans: list[dict[str, object]]) -> float:
    conn = sqlite3.connect(folder / "raw.sqlite3")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE scans (tenant_id TEXT, id TEXT, event_id TEXT, ticket_id TEXT,"
        " device_id TEXT, gate TEXT, direction TEXT, raw TEXT, reason TEXT, allowed INT,"
        " decided_by TEXT, scanned_at_ms INT, recorded_at_ms INT, late INT,"
        " PRIMARY KEY (tenant_id, id))"
    )
    conn.execute("CREATE INDEX ix ON scans (tenant_id, event_id, ticket_id, scanned_at_ms)")
    rows = [
        ("t", s["id"], "e", s["ticketId"], "d", s["gate"], "entry", s["qrData"], "ADMITTED",
         1, "offline", SCANNED_MS, SCANNED_MS, 0)
        for s in scans
    ]  # fmt: skip
    started = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO scans VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        server = start_server(folder / "backend", DEVICE_REGISTRATION_LIMIT="100/hour")
        try:
            tenant, venue, event = "bench", str(uuid.uuid4()), str(uuid.uuid4())
            tickets = [f"{index:08x}" for index in range(SCANS)]
            admin = server.client(server.token(Role.ADMIN, tenant))
            with admin:
                admin.post(
                    "/api/catalog/events",
                    json={"id": event, "venueId": venue, "name": "Bench",
                          "startsAt": "2030-06-01T18:00:00Z", "endsAt": "2030-06-01T23:30:00Z"},
                ).raise_for_status()  # fmt: skip
                for start in range(0, SCANS, 10_000):
                    admin.post(
                        f"/api/catalog/events/{event}/tickets",
                        json={"tickets": [{"id": t} for t in tickets[start : start + 10_000]]},
                        timeout=120,
                    ).raise_for_status()
                keys, device = DeviceKeys.generate(), str(uuid.uuid4())
                admin.post(
                    "/api/devices/register",
                    json={"deviceId": device, "name": "bench gate", "type": "SCANNER_GUN",
                          "venueId": venue, "canScanOffline": True,
                          "signingPublicKey": keys.signing_public_b64,
                          "sealingPublicKey": keys.exchange_public_b64},
                ).raise_for_status()  # fmt: skip
            scans = scans_of(tickets)
            auth = DeviceAuth(device, tenant, venue, keys.signing)
            with ScanctlClient(server.url, auth, timeout=120) as client:
                started = time.perf_counter()
                wire = client.pull_manifest(event, device_id=device)
                pull_s = time.perf_counter() - started
                started = time.perf_counter()
                client.pull_manifest(event, device_id=device)
                pull_cached_s = time.perf_counter() - started
                started = time.perf_counter()
                first = push_all(client, device, scans)
                reconcile_s = time.perf_counter() - started
                started = time.perf_counter()
                again = push_all(client, device, scans)
                repush_s = time.perf_counter() - started
            assert first.get("accepted") == SCANS, first
            assert again.get("duplicate") == SCANS, again
            db = Path(server.env["SCANCTL_DATA_DIR"]) / "backend.sqlite3"
            with sqlite3.connect(db) as conn:
                stored = conn.execute("SELECT count(*) FROM scans").fetchone()[0]
            assert stored == SCANS, stored
        finally:
            server.stop()
        baseline = raw_insert_baseline(folder, scans)
    print(f"reconcile_50k_s={reconcile_s:.2f}")
    print(f"repush_50k_s={repush_s:.2f}")
    print(f"reconcile_scans_per_s={SCANS / reconcile_s:.0f}")
    print(f"raw_insert_50k_s={baseline:.2f}")
    print(f"manifest_pull_50k_s={pull_s:.2f}")
    print(f"manifest_pull_cached_50k_s={pull_cached_s:.2f}")
    print(f"manifest_50k_bytes={len(wire)}")


if __name__ == "__main__":
    main()
