"""check_upload: one row per rule, and no admission counts unless its code checks."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.core import (
    EventFacts,
    UploadCheck,
    UploadFacts,
    check_upload,
    derive_event_key,
    mint_token,
    parse_code,
    static_code_hash,
    stored_payload,
)

HOUR = 3_600_000
STARTS = 1_900_000_000_000
ENDS = STARTS + 5 * HOUR
AT = STARTS + HOUR
KEY = derive_event_key("s" * 40, "tenant", "event")
OLD_KEY = derive_event_key("o" * 40, "tenant", "event")
TICKET = "0000abcd"
PRINTED = "printed-secret-0123456789abcdef"

FACTS = UploadFacts(
    device_registered_ms=STARTS - 24 * HOUR,
    device_revoked_ms=None,
    event=EventFacts("event", "tenant", "venue", STARTS, ENDS),
    event_keys=(KEY, OLD_KEY),
    ticket_known=True,
    static_hash=static_code_hash(PRINTED),
    skew_ms=5_000,
    doors_open_ms=2 * HOUR,
)
GOOD = mint_token(KEY, TICKET, AT, "0011223344556677")


def check(
    facts: UploadFacts = FACTS,
    *,
    qr: str = GOOD,
    ticket: str | None = TICKET,
    allowed: bool = True,
    at: int = AT,
) -> UploadCheck:
    return check_upload(facts, qr_data=qr, ticket_id=ticket, allowed=allowed, scanned_at_ms=at)


ROWS = [
    ("a genuine admission", {}, None, None),
    ("signed with the previous key", {"qr": mint_token(OLD_KEY, TICKET, AT, "1" * 16)}, None, None),
    ("a printed code", {"qr": PRINTED}, None, None),
    ("a printed code, as gates upload it", {"qr": stored_payload(parse_code(PRINTED))}, None, None),
    ("another printed code's hash", {"qr": "sha256:" + "0" * 64}, "printed code is not", None),
    ("before registration", {"at": FACTS.device_registered_ms - 6_000}, "registered", None),
    ("in year 9999", {"at": 253_402_300_799_000}, "outside its event", None),
    ("before the doors", {"at": STARTS - 2 * HOUR - 6_000}, "outside its event", None),
    ("at the doors", {"at": STARTS - 2 * HOUR}, None, None),
    ("after the end", {"at": ENDS + 6_000}, "outside its event", None),
    ("another ticket's code", {"ticket": "0000ffff"}, "another ticket", None),
    ("a forged MAC", {"qr": GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")}, "MAC", None),
    ("another printed code", {"qr": "x" * 30}, "printed code is not", None),
    ("garbage admitted", {"qr": "hello"}, "not a ticket code", None),
    ("no ticket id", {"ticket": None}, None, "no ticket id"),
    ("a denial in year 9999 is a record", {"allowed": False, "qr": "x", "at": 2**50}, None, None),
    ("a denial before registration", {"allowed": False, "at": 0}, "registered", None),
]


@pytest.mark.parametrize(("name", "kw", "refused", "unverified"), ROWS, ids=[r[0] for r in ROWS])
def test_rules(
    name: str, kw: dict[str, object], refused: str | None, unverified: str | None
) -> None:
    result = check(**kw)  # type: ignore[arg-type]
    if refused is None:
        assert result.refused is None
    else:
        assert result.refused is not None and refused in result.refused
    if unverified is None:
        assert result.unverified is None
    else:
        assert result.unverified is not None and unverified in result.unverified


def test_revocation_time() -> None:
    revoked = dataclasses.replace(FACTS, device_revoked_ms=AT)
    assert check(revoked, at=AT + 5_000).refused is None  # within the skew
    assert "revoked" in (check(revoked, at=AT + 6_000).refused or "")
    assert "revoked" in (check(revoked, at=AT + 6_000, allowed=False).refused or "")


def test_what_cannot_be_checked_is_marked() -> None:
    unknown = dataclasses.replace(FACTS, ticket_known=False)
    assert check(unknown).unverified == "a ticket the backend does not hold"
    no_hash = dataclasses.replace(FACTS, static_hash=None)
    assert "none on record" in (check(no_hash, qr=PRINTED).unverified or "")
    no_event = dataclasses.replace(FACTS, event=None)
    assert check(no_event, at=2**50) == UploadCheck()


@given(qr=st.text(max_size=120), at=st.integers(min_value=STARTS, max_value=ENDS))
def test_no_made_up_code_is_counted(qr: str, at: int) -> None:
    result = check(qr=qr, at=at)
    assert result.refused is not None or qr in (GOOD, PRINTED)
