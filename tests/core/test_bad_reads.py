"""Bad-read reasons: stable codes, one message each, and RawScan stays compatible."""

from __future__ import annotations

from scanctl.core import BadRead, RawScan, Reason, bad_read_message


def test_every_bad_read_has_a_message_and_a_stable_code() -> None:
    for reason in BadRead:
        assert reason.value == reason.name
        assert bad_read_message(reason).endswith(".")


def test_bad_reads_never_collide_with_decision_reasons() -> None:
    assert not {r.value for r in BadRead} & {r.value for r in Reason}


def test_raw_scan_is_a_good_read_unless_told_otherwise() -> None:
    good = RawScan(b"code", "]Q1", "door-1", 1.0)
    assert good.bad_read is None
    bad = RawScan(b"\x00", None, "door-1", 1.0, BadRead.UNREADABLE)
    assert bad.bad_read is BadRead.UNREADABLE
