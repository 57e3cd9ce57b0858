"""core.conflicts: every double entry that can be known, once, under its kind."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from scanctl.core.conflicts import (
    Admission,
    ConflictKind,
    code_key,
    conflict_id,
    conflict_to_wire,
    find_conflicts,
)
from scanctl.core.keys import mint_token
from scanctl.core.policy import Policy
from scanctl.core.tickets import Direction
from scanctl.core.tokens import parse_code, printed_hash_of, stored_payload

EVENT = "6f1c0a4e-4a53-4c44-9d5b-2a0f1a0c9b11"
TICKET = "0000beef"
SECRET = "Zm9vYmFyYmF6cXV4cXV1eHh5enp5eHdhYmNk"
MIN = 60_000
NO_REENTRY = Policy()
REENTRY = Policy(reentry_allowed=True, max_reentries=1, duplicate_window_seconds=600)


def entry(scan: str, device: str, at_ms: int, code: str | None = None) -> Admission:
    return Admission(scan, device, at_ms, gate=f"gate-{device}", code=code, recorded_at_ms=at_ms)


def leave(scan: str, device: str, at_ms: int) -> Admission:
    return Admission(scan, device, at_ms, Direction.EXIT, gate=f"gate-{device}")


def kinds(found: list[object]) -> list[str]:
    return [c.kind.value for c in found]  # type: ignore[attr-defined]


def test_code_keys_name_the_nonce_or_the_hash_of_a_printed_secret_never_the_secret() -> None:
    token = mint_token(b"k" * 32, TICKET, 1_800_000_000_000, "0123456789abcdef")
    assert code_key(token) == "nonce:0123456789abcdef"
    printed = code_key(SECRET)
    assert printed == "printed:" + hashlib.sha256(SECRET.encode()).hexdigest()
    assert SECRET not in (printed or "")
    assert code_key("not a code") is None
    # A gate (and the backend) keep a printed code as its hash: the same key.
    stored = stored_payload(parse_code(SECRET))
    assert stored == "sha256:" + hashlib.sha256(SECRET.encode()).hexdigest()
    assert code_key(stored) == printed and printed_hash_of(stored) == printed[len("printed:") :]
    assert stored_payload(parse_code(token)) is None
    assert stored_payload(parse_code("not a code")) is None
    assert code_key("sha256:" + "Z" * 64) is None


def test_a_screenshot_is_one_same_code_conflict_with_every_admission_first_first() -> None:
    passes = [
        entry("s2", "b", 2 * MIN, "nonce:aa"),
        entry("s1", "a", 1 * MIN, "nonce:aa"),
        leave("x1", "a", 3 * MIN),
        entry("s3", "c", 90 * MIN, "nonce:aa"),
    ]
    found = find_conflicts(EVENT, TICKET, passes, NO_REENTRY)
    assert kinds(found) == ["same-code"]
    (conflict,) = found
    assert [a.scan_id for a in conflict.admissions] == ["s1", "s2", "s3"]
    assert conflict.first.scan_id == "s1"
    assert conflict.ticket_id == TICKET and conflict.event_id == EVENT
    assert conflict.detected_at_ms == 90 * MIN
    assert conflict.involves("c") and not conflict.involves("z")


def test_the_wire_form_is_the_backends_conflict_listing() -> None:
    passes = [entry("s2", "b", 2 * MIN, "nonce:aa"), entry("s1", "a", 1 * MIN, "nonce:aa")]
    (conflict,) = find_conflicts(EVENT, TICKET, passes, NO_REENTRY)
    wire = conflict_to_wire(conflict)
    assert wire["id"] == conflict.id and wire["kind"] == "same-code"
    assert (wire["eventId"], wire["ticketId"], wire["firstScanId"]) == (EVENT, TICKET, "s1")
    assert wire["detectedAt"] == "1970-01-01T00:02:00Z"
    assert [(a["scanId"], a["deviceId"], a["first"]) for a in wire["admissions"]] == [
        ("s1", "a", True),
        ("s2", "b", False),
    ]
    assert wire["admissions"][0]["scannedAt"] == "1970-01-01T00:01:00Z"
    assert wire["admissions"][0]["direction"] == "entry"


def test_a_printed_code_twice_without_exit_is_same_printed_code() -> None:
    passes = [entry("s1", "a", 0, "printed:h"), entry("s2", "b", MIN, "printed:h")]
    found = find_conflicts(EVENT, TICKET, passes, REENTRY)
    assert kinds(found) == ["same-printed-code"]
    assert [a.device_id for a in found[0].admissions] == ["a", "b"]


def test_two_codes_of_one_ticket_without_exit_is_entry_without_exit() -> None:
    passes = [entry("s1", "a", 0, "nonce:aa"), entry("s2", "b", MIN, "nonce:bb")]
    assert kinds(find_conflicts(EVENT, TICKET, passes, REENTRY)) == ["entry-without-exit"]
    unknown = [entry("s1", "a", 0), entry("s2", "b", MIN)]
    assert kinds(find_conflicts(EVENT, TICKET, unknown, REENTRY)) == ["entry-without-exit"]


def test_outside_the_window_a_reentry_without_exit_is_allowed_when_reentry_is_on() -> None:
    passes = [entry("s1", "a", 0, "printed:h"), entry("s2", "b", 11 * MIN, "printed:h")]
    assert find_conflicts(EVENT, TICKET, passes, REENTRY) == []
    # re-entry off: two entries without exit are a double entry at any distance
    assert kinds(find_conflicts(EVENT, TICKET, passes, NO_REENTRY)) == ["same-printed-code"]


def test_an_exit_between_makes_it_a_stay_each_and_past_the_allowance_over_allowance() -> None:
    passes = [
        entry("s1", "a", 0, "printed:h"),
        leave("x1", "a", MIN),
        entry("s2", "b", 2 * MIN, "printed:h"),
        leave("x2", "b", 3 * MIN),
        entry("s3", "a", 4 * MIN, "printed:h"),
    ]
    found = find_conflicts(EVENT, TICKET, passes, REENTRY)  # allowance 2
    assert kinds(found) == ["over-allowance"]
    assert [a.scan_id for a in found[0].admissions] == ["s1", "s2", "s3"]
    assert find_conflicts(EVENT, TICKET, passes, Policy(reentry_allowed=True)) == []
    assert kinds(find_conflicts(EVENT, TICKET, passes[:3], NO_REENTRY)) == ["over-allowance"]


def test_each_double_entry_is_reported_once_under_its_most_specific_kind() -> None:
    passes = [
        entry("s1", "a", 0, "nonce:aa"),
        entry("s2", "b", MIN, "nonce:aa"),  # screenshot of s1
        entry("s3", "b", 2 * MIN, "nonce:bb"),  # in again, no exit
    ]
    found = find_conflicts(EVENT, TICKET, passes, NO_REENTRY)
    assert kinds(found) == ["same-code", "entry-without-exit"]
    assert [a.scan_id for a in found[1].admissions] == ["s2", "s3"]


def test_ids_are_stable_and_name_kind_ticket_and_scans() -> None:
    passes = [entry("s1", "a", 0, "printed:h"), entry("s2", "b", MIN, "printed:h")]
    first = find_conflicts(EVENT, TICKET, passes, NO_REENTRY)
    again = find_conflicts(EVENT, TICKET, list(reversed(passes)), NO_REENTRY)
    assert [c.id for c in first] == [c.id for c in again]
    assert first[0].id == conflict_id(ConflictKind.SAME_PRINTED_CODE, EVENT, TICKET, passes)
    other = conflict_id(ConflictKind.ENTRY_WITHOUT_EXIT, EVENT, TICKET, passes)
    assert first[0].id != other
    # a scan id names a scan of its device only
    moved = [entry("s1", "a", 0, "printed:h"), entry("s2", "c", MIN, "printed:h")]
    assert find_conflicts(EVENT, TICKET, moved, NO_REENTRY)[0].id != first[0].id


@given(st.lists(st.tuples(st.integers(0, 50), st.sampled_from("ab"), st.booleans()), max_size=12))
def test_every_entry_past_the_allowance_is_in_some_conflict(
    rows: list[tuple[int, str, bool]],
) -> None:
    passes = [
        Admission(f"s{i}", device, minute * MIN, Direction.ENTRY if inside else Direction.EXIT)
        for i, (minute, device, inside) in enumerate(rows)
    ]
    for policy in (NO_REENTRY, REENTRY):
        found = find_conflicts(EVENT, TICKET, passes, policy)
        ordered = sorted(
            (a for a in passes if a.direction is Direction.ENTRY),
            key=lambda a: (a.at_ms, a.key),
        )
        allowance = policy.admission_allowance or 0
        involved = {a.key for c in found for a in c.admissions[1:]}
        assert {a.key for a in ordered[allowance:]} <= involved
        assert len({c.id for c in found}) == len(found)
