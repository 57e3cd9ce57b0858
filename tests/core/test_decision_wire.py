"""core.decision_wire: a Decision survives the trip backend -> JSON -> gate unchanged."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.core.decide import Decision, deny
from scanctl.core.decision_wire import decision_from_wire, decision_to_wire, iso_ms, ms_of_iso
from scanctl.core.reasons import Reason, message_for

NOW = 1_764_320_000_123


def verified(reason: Reason, **facts: object) -> Decision:
    return Decision(reason.allowed, reason, message_for(reason), "0a1b2c3d", True, **facts)  # type: ignore[arg-type]


def roundtrip(decision: Decision) -> Decision:
    body = json.loads(json.dumps(decision_to_wire(decision, "scan-1", NOW)))
    wire = decision_from_wire(body)
    assert (wire.scan_id, wire.decided_at_ms) == ("scan-1", NOW)
    return wire.decision


@pytest.mark.parametrize(
    "decision",
    [
        verified(Reason.ADMITTED),
        verified(Reason.ADMITTED, warning="offline ticket data is out of date"),
        verified(
            Reason.ALREADY_SCANNED,
            admitted_at_ms=NOW - 60_001,
            admitted_gate="west",
            admitted_device="3f1c2d4e-0000-7000-8000-000000000001",
        ),
        verified(Reason.TICKET_TRANSFERRED, transferred_to="0a1b2c3e"),
        verified(Reason.COOLDOWN, retry_after_s=17),
        verified(Reason.EXITED),
        deny(Reason.INVALID),
        deny(Reason.UNAUTHORIZED_VENUE),
        deny(Reason.RATE_LIMITED)._replace(retry_after_s=3),
    ],
    ids=lambda d: d.reason.value,
)
def test_every_fact_survives_the_wire(decision: Decision) -> None:
    assert roundtrip(decision) == decision


def test_unverified_decisions_name_no_ticket_on_the_wire() -> None:
    leaky = Decision(
        False, Reason.INVALID, "x", "0a1b2c3d", False, admitted_gate="g", admitted_device="d"
    )
    body = decision_to_wire(leaky, "s", NOW)
    assert body["ticketId"] is None and body["admittedGate"] is None
    assert body["admittedDevice"] is None


def test_keys_added_later_come_after_the_first_ones() -> None:
    body = decision_to_wire(verified(Reason.ADMITTED), "s", NOW)
    assert list(body)[:11] == [
        "allowed", "reason", "message", "ticketId", "admittedAt", "admittedGate",
        "transferredTo", "retryAfterSeconds", "warning", "scanId", "decidedAt",
    ]  # fmt: skip
    assert list(body)[11:] == ["admittedDevice"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"reason": "NOT_A_REASON"}, "unknown reason"),
        ({"reason": None}, "unknown reason"),
        ({"allowed": False}, "contradicts"),
        ({"message": 3}, "message"),
        ({"retryAfterSeconds": -1}, "retryAfterSeconds"),
        ({"retryAfterSeconds": True}, "retryAfterSeconds"),
        ({"decidedAt": "2026-01-01T00:00:00"}, "zone"),
        ({"scanId": None}, "scanId"),
    ],
)
def test_a_body_that_is_no_decision_is_refused(change: dict[str, object], problem: str) -> None:
    body = {**decision_to_wire(verified(Reason.ADMITTED), "s", NOW), **change}
    with pytest.raises(ValueError, match=problem):
        decision_from_wire(body)


@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_times_are_exact_to_the_millisecond(ms: int) -> None:
    text = iso_ms(ms)
    assert text.endswith("Z")
    assert ms_of_iso(text) == ms


@given(st.dictionaries(st.text(max_size=12), st.none() | st.booleans() | st.text(max_size=12)))
def test_garbage_bodies_raise_value_error_only(body: dict[str, object]) -> None:
    with contextlib.suppress(ValueError):
        decision_from_wire(body)
