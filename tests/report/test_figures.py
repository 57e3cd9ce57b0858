"""The night's figures from scans: entries never include exits or denials, every minute
is there, peaks and offline periods add up — for any list of scans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scanctl.report import build_report, night_from_scans
from scanctl.report.figures import NO_ZONE

START = datetime(2030, 6, 1, 18, 0, tzinfo=UTC)
REASONS = ["ADMITTED", "RE_ENTRY_ADMITTED", "EXITED", "QR_ALREADY_USED", "INVALID"]


def scan(second: int, reason: str, *, gate: str = "north", device: str = "d1", by: str = "offline"):  # type: ignore[no-untyped-def]
    return {
        "id": f"{device}-{second}-{reason}",
        "ticketId": f"{second:08x}",
        "deviceId": device,
        "gate": gate,
        "reason": reason,
        "allowed": reason in ("ADMITTED", "RE_ENTRY_ADMITTED", "EXITED"),
        "decidedBy": by,
        "scannedAt": (START + timedelta(seconds=second)).isoformat().replace("+00:00", "Z"),
    }


def test_a_small_night_by_hand() -> None:
    scans = [
        scan(0, "ADMITTED"),
        scan(10, "ADMITTED", gate="vip", device="d2"),
        scan(20, "EXITED", gate="vip", device="d2"),
        scan(70, "RE_ENTRY_ADMITTED", gate="vip", device="d2", by="online"),
        scan(75, "QR_ALREADY_USED"),
        scan(500, "ADMITTED"),  # 7 minutes later: the same device's second offline period
    ]
    night = night_from_scans(scans, zones={"d2": "VIP"})
    assert (night.entries, night.reentries, night.exits, night.denied) == (4, 1, 1, 1)
    assert night.tickets_in == 4
    assert len(night.minutes) == 9  # 18:00 … 18:08, quiet minutes included
    assert night.peak() == (2, START)
    assert night.peak("vip") == (1, START)
    assert set(night.entries_by_zone) == {"VIP", NO_ZONE}
    assert [(p.gate, p.scans) for p in night.offline] == [("north", 2), ("vip", 2), ("north", 1)]
    report = build_report({"id": "e"}, scans, generated_at=START)
    assert 'data-figure="entries">4<' in report.html
    assert set(report.charts) == {"entries-by-gate", "entries-by-zone", "denials-by-reason"}


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3 * 3600),
            st.sampled_from(REASONS),
            st.sampled_from(["north", "south"]),
            st.sampled_from(["d1", "d2"]),
            st.sampled_from(["online", "offline"]),
        ),
        max_size=40,
    )
)
def test_the_figures_add_up_for_any_scans(rows: list[tuple[int, str, str, str, str]]) -> None:
    scans = [
        scan(second, reason, gate=gate, device=device, by=by)
        for second, reason, gate, device, by in rows
    ]
    night = night_from_scans(scans)
    assert night.entries + night.exits + night.denied == night.scans == len(scans)
    assert sum(sum(c.values()) for c in night.entries_by_gate.values()) == night.entries
    assert sum(night.denials_total().values()) == night.denied
    assert night.peak()[0] <= night.entries
    assert sum(p.scans for p in night.offline) == sum(s["decidedBy"] == "offline" for s in scans)
    minutes = night.minutes
    assert minutes == sorted(minutes) and len(set(minutes)) == len(minutes)
