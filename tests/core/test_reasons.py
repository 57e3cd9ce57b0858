"""Reasons are a contract: stable codes, a message each, and which ones admit."""

from __future__ import annotations

from scanctl.core.reasons import ALLOWED_REASONS, Reason, message_for

DESIGN_REASONS = {
    "ADMITTED", "RE_ENTRY_ADMITTED", "INVALID", "QR_EXPIRED", "QR_ALREADY_USED",
    "ALREADY_SCANNED", "COOLDOWN", "MAX_REENTRIES", "WRONG_EVENT", "UNAUTHORIZED_VENUE",
    "WRONG_ZONE", "EVENT_NOT_STARTED", "EVENT_ENDED", "TICKET_NOT_YET_VALID",
    "TICKET_EXPIRED", "TICKET_REFUNDED", "TICKET_CANCELLED", "TICKET_TRANSFERRED",
    "RATE_LIMITED", "MANIFEST_STALE",
}  # fmt: skip


def test_every_reason_of_the_design_exists_with_its_own_name_as_code() -> None:
    codes = {reason.value for reason in Reason}
    assert codes >= DESIGN_REASONS
    assert all(reason.value == reason.name for reason in Reason)


def test_only_admissions_and_exits_allow() -> None:
    assert {r for r in Reason if r.allowed} == ALLOWED_REASONS
    assert {Reason.ADMITTED, Reason.RE_ENTRY_ADMITTED, Reason.EXITED} == ALLOWED_REASONS


def test_every_reason_has_a_distinct_message() -> None:
    messages = [message_for(reason) for reason in Reason]
    assert all(messages)
    assert len(set(messages)) == len(messages)
