"""A deterministic door for snapshot tests: three gates, a frozen clock, a few alerts.

``python -m tests.tui.recording > tests/tui/door.jsonl`` wrote the first version of the
committed file; its conflicts, box name and alert life cycle were added by hand since.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any

NOW_MS = 1_764_331_200_000  # 2025-11-28 12:00:00 UTC, frozen
GATES = {"north": ("north-1", "north-2"), "south": ("south-1",), "vip": ("vip-1",)}
DENIALS = ["QR_ALREADY_USED", "ALREADY_SCANNED", "INVALID", "TICKET_REFUNDED", "QR_EXPIRED"]


def _scan(index: int, rng: random.Random) -> dict[str, Any]:
    gate = rng.choice(list(GATES))
    scanner = rng.choice(GATES[gate])
    allowed = rng.random() < 0.85
    reason = "ADMITTED" if allowed else rng.choice(DENIALS)
    at = NOW_MS - (60 - index) * 997
    return {
        "scan_id": f"scan-{index:04d}",
        "ticket_id": f"{rng.randrange(4000):08x}" if reason != "INVALID" else None,
        "scanner": scanner,
        "gate": gate,
        "direction": "entry",
        "reason": reason,
        "allowed": allowed,
        "decided_by": "offline",
        "scanned_at_ms": at,
        "recorded_at_ms": at,
        "sync_result": None,
    }


def records() -> list[dict[str, Any]]:
    rng = random.Random(8)
    scans = [_scan(index, rng) for index in range(60)]
    # Ticket 00000abc has a history: admitted at north, then a replay at south.
    scans[40].update(
        ticket_id="00000abc", gate="north", scanner="north-1", reason="ADMITTED", allowed=True
    )
    scans[52].update(
        ticket_id="00000abc",
        gate="south",
        scanner="south-1",
        reason="ALREADY_SCANNED",
        allowed=False,
    )
    history, live = scans[:50], scans[50:]
    gates = []
    for index, (gate, scanners) in enumerate(GATES.items()):
        mine = [scan for scan in history if scan["gate"] == gate]
        reasons: dict[str, int] = {}
        for scan in mine:
            reasons[scan["reason"]] = reasons.get(scan["reason"], 0) + 1
        gates.append(
            {
                "gate": gate,
                "paused": gate == "vip",
                "admitted": 400 * (3 - index) + sum(scan["allowed"] for scan in mine),
                "denied": 9 * (index + 1) + sum(not scan["allowed"] for scan in mine),
                "reasons": reasons,
                "per_minute_now": [42, 17, 0][index],
                "per_minute_15": [
                    [0, 2, 5, 9, 14, 22, 31, 40, 44, 47, 45, 41, 38, 40, 42],
                    [1, 1, 3, 4, 6, 8, 12, 15, 18, 20, 19, 18, 17, 16, 17],
                    [0, 0, 0, 1, 2, 2, 3, 3, 2, 1, 0, 0, 0, 0, 0],
                ][index],
                "last": None,
                "scanners": [
                    {
                        "name": name,
                        "direction": "entry",
                        "zone": "vip" if gate == "vip" else "main",
                        "counters": {"frames_ok": 100, "malformed": 0, "reconnects": 0},
                        "paused_reads": 0,
                        "connected": name != "north-2",
                    }
                    for name in scanners
                ],
            }
        )
    admitted = sum(gate["admitted"] for gate in gates)
    denied = sum(gate["denied"] for gate in gates)
    status = {
        "device_id": "7c0e3d52-4444-4d4d-8e8e-000000000004",
        "event_id": "9d8c7b6a-2222-4b4b-9c9c-000000000002",
        "mode": "offline-only",
        "state": "running",
        "pid": 4242,
        "started_at_ms": NOW_MS - 5_400_000,
        "uptime_s": 5400.0,
        "manifest": {
            "held": True,
            "sequence": 7,
            "tickets": 20000,
            "stale": False,
            "age_ms": 2_700_000,
            "issued_at_ms": NOW_MS - 2_700_000,
            "valid_until_ms": NOW_MS + 11_700_000,
            "by_status": {"ACTIVE": 19200, "REFUNDED": 500, "TRANSFERRED": 300},
        },
        "journal": {"scans": 2468, "unsent": 37},
        "link": {
            "backend": "https://scan.example.org",
            "online": False,
            "circuit": "open",
            "last_sync_ms": NOW_MS - 185_000,
        },
        "totals": {
            "admitted": admitted,
            "denied": denied,
            "inside": {"main": admitted - 120, "vip": 80},
            "tickets_in": admitted,
            "manifest_tickets": 20000,
            "share_in": round(admitted / 20000, 4),
        },
        "events": {"published": 2500, "listeners": 1},
    }
    alerts = [
        {
            "type": "alert",
            "id": "3",
            "kind": "replay_burst",
            "severity": "critical",
            "message": "12 replayed codes in 60 s at south",
            "at_ms": NOW_MS - 42_000,
            "gate": "south",
            "scanner": None,
            "active": True,
            "acknowledged": False,
        },
        {
            "type": "alert",
            "id": "2",
            "kind": "scanner_disconnected",
            "severity": "warning",
            "message": "north-2 has not answered for 95 s",
            "at_ms": NOW_MS - 95_000,
            "gate": "north",
            "scanner": "north-2",
            "active": True,
            "acknowledged": False,
        },
        {
            "type": "alert",
            "id": "1",
            "kind": "backend_unreachable",
            "severity": "warning",
            "message": "backend unreachable for 3 min",
            "at_ms": NOW_MS - 185_000,
            "gate": None,
            "scanner": None,
            "active": False,
            "acknowledged": True,
        },
    ]
    events = [
        {
            "type": "decision",
            "scan_id": scan["scan_id"],
            "at_ms": scan["scanned_at_ms"],
            "scanner": scan["scanner"],
            "gate": scan["gate"],
            "direction": "entry",
            "zone": "main",
            "ticket_id": scan["ticket_id"],
            "allowed": scan["allowed"],
            "reason": scan["reason"],
            "message": "",
            "decided_by": "offline",
            "latency_ms": 0.4,
        }
        for scan in live
    ]
    return [
        {"kind": "clock", "now_ms": NOW_MS, "tz": "UTC"},
        {"kind": "snapshot", "status": status, "gates": gates, "alerts": alerts},
        {"kind": "scans", "scans": scans},
        *({"kind": "event", "event": event} for event in events),
    ]


if __name__ == "__main__":
    for record in records():
        sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
