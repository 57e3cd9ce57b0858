"""`scanctl report EVENT` on a real backend: two gates' offline uploads of a night, the
HTML opened in headless Chromium (Debian's package), every number in it checked against
the scans the backend lists."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess
from tests.backend.offline_kit import SCANNED_MS, make_venue, offline_scan, push, register_gate
from tests.cli.conftest import Cli
from tests.services import service_unavailable

MINUTE_MS = 60_000
FIGURE = re.compile(r'data-figure="([^"]+)">([^<]*)<')


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    service_unavailable("headless Chromium is not installed (apt-get install chromium)")


def rendered_dom(html: Path, profile: Path) -> str:
    """The page as Chromium built it (headless, isolated, nothing fetched from anywhere)."""
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def night(server: ServerProcess) -> tuple[str, str, dict[str, str]]:
    """An event, two gates (zones GA and VIP) and a night of their offline uploads:
    the tenant, the event and each device's zone."""
    tenant = f"report-{secrets.token_hex(3)}"
    venue = make_venue(server, tenant, tickets=30, zones=["GA", "VIP"])
    north = register_gate(server, venue, zone="GA")
    vip = register_gate(server, venue, zone="VIP")
    t = venue.ticket_ids

    def at(minute: int, second: int = 0) -> int:
        return SCANNED_MS + minute * MINUTE_MS + second * 1000

    def denied(ticket: str | None, reason: str, when: int, gate: str) -> dict[str, Any]:
        return {**offline_scan(ticket, allowed=False, at_ms=when, gate=gate), "reason": reason}

    north_scans = [offline_scan(t[i], at_ms=at(0, i), gate="north") for i in range(5)]
    north_scans += [offline_scan(t[5 + i], at_ms=at(1, i), gate="north") for i in range(8)]
    north_scans += [offline_scan(t[13 + i], at_ms=at(2, i), gate="north") for i in range(3)]
    north_scans += [
        denied(t[0], "QR_ALREADY_USED", at(2, 30), "north"),
        denied(t[1], "QR_ALREADY_USED", at(2, 31), "north"),
        denied(t[29], "TICKET_REFUNDED", at(3, 5), "north"),
        denied(None, "INVALID", at(12, 0), "north"),  # after a quiet spell: a new period
    ]
    vip_scans = [offline_scan(t[20 + i], at_ms=at(1, 10 + i), gate="vip") for i in range(3)]
    vip_scans.append(offline_scan(t[2], at_ms=at(1, 40), gate="vip"))  # in twice: a conflict
    vip_scans.append(
        {**offline_scan(t[20], at_ms=at(2, 0), gate="vip", direction="exit"), "reason": "EXITED"}
    )
    vip_scans.append(
        {**offline_scan(t[20], at_ms=at(3, 0), gate="vip"), "reason": "RE_ENTRY_ADMITTED"}
    )
    push(server, north, north_scans)
    push(server, vip, vip_scans)
    return tenant, venue.event, {north.device_id: "GA", vip.device_id: "VIP"}


def test_the_report_renders_in_chromium_and_its_numbers_are_the_scans(
    cli: Cli, server: ServerProcess, tmp_path: Path
) -> None:
    tenant, event, zones = night(server)
    cli.env["SCANCTL_URL"] = server.url
    cli.env["SCANCTL_TOKEN"] = server.token(Role.ADMIN, tenant)
    listing = cli.run(
        "scans",
        "list",
        "--event",
        event,
        "--all",
        "--format",
        "ndjson",
    )
    assert listing.returncode == 0, listing.stderr
    scans = [json.loads(line) for line in listing.stdout.splitlines()]
    assert len(scans) == 26

    out = tmp_path / "night.html"
    result = cli.run(
        "report",
        event,
        "--out",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout)
    assert [Path(p).name for p in written["charts"]] == [
        "entries-by-gate.png",
        "entries-by-zone.png",
        "denials-by-reason.png",
    ]
    for chart in written["charts"]:
        assert Path(chart).read_bytes().startswith(b"\x89PNG")
    assert "src='http" not in out.read_text() and "<script" not in out.read_text()

    dom = rendered_dom(out, tmp_path / "chromium-profile")
    shown = dict(FIGURE.findall(dom))
    assert dom.count("<img") == 3 and dom.count("data:image/png;base64,") == 3

    # Every figure, from the scans the backend lists.
    entries = [s for s in scans if s["allowed"] and s["reason"] != "EXITED"]
    assert shown["entries"] == str(len(entries)) == "21"
    assert shown["reentries"] == "1"
    assert shown["exits"] == "1"
    assert shown["denied"] == str(sum(not s["allowed"] for s in scans)) == "4"
    assert shown["tickets-in"] == str(len({s["ticketId"] for s in entries})) == "19"
    listed = cli.run("conflicts", "list", "--event", event, "--json")
    conflicts = json.loads(listed.stdout)["conflicts"]
    assert shown["conflicts"] == str(len(conflicts)) and conflicts
    assert all(c["ticketId"] in dom for c in conflicts)
    by_minute = Counter((s["gate"], s["scannedAt"][11:16]) for s in entries)
    per_gate = {(g, m): n for (g, m), n in by_minute.items()}
    for (gate, minute), count in per_gate.items():
        assert shown[f"entries@gate:{gate}@2030-06-01T{minute}Z"] == str(count), (gate, minute)
    assert shown["entries@gate:north@2030-06-01T18:01Z"] == "8"
    assert shown["entries@gate:north@2030-06-01T18:05Z"] == "0"  # quiet minutes are there
    zone_of = {s["id"]: zones[s["deviceId"]] for s in scans}
    by_zone = Counter((zone_of[s["id"]], s["scannedAt"][11:16]) for s in entries)
    for (zone, minute), count in by_zone.items():
        assert shown[f"entries@zone:{zone}@2030-06-01T{minute}Z"] == str(count), (zone, minute)
    assert shown["peak@gate:north"] == "8" and shown["peak-at@gate:north"] == "18:01"
    assert shown["peak@gate:vip"] == "4" and shown["reentries@gate:vip"] == "1"
    assert shown["peak"] == "12 at 18:01"  # north 8 + vip 4
    assert shown["denied@reason:QR_ALREADY_USED"] == "2"
    assert shown["denied@reason:TICKET_REFUNDED"] == "1"
    # Offline periods: north's first run, its lone read after 9 quiet minutes, vip's run.
    assert shown["offline-periods"] == "3"
