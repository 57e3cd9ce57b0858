"""Parsers of the services' answers: valid shapes become facts, anything else is garbage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.upstream.errors import UpstreamGarbage
from scanctl.backend.upstream.models import parse_event, parse_ticket, parse_ticket_page
from scanctl.core import TicketStatus


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


EVENT = "0b9f1a52-3c1e-4f7e-9d51-5d1f4f0e2a11"
VENUE = "9a0d7e0c-8b7c-4a53-a0b6-3f2f8f1c0d22"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "eventId",
                    "venueId",
                    "name",
                    "startsAt",
                    "endsAt",
                    "status",
                    "zones",
                    "tickets",
                    "next",
                    "validFrom",
                    "transferredTo",
                ]
            ),
            inner,
            max_size=8,
        )
    ),
    max_leaves=16,
)


@given(json_values)
def test_any_json_is_an_event_or_garbage(doc: Any) -> None:
    try:
        event = parse_event(doc, "tenant", EVENT)
    except UpstreamGarbage:
        return
    assert event.facts.event_id == EVENT


@given(json_values)
def test_any_json_is_a_ticket_or_garbage(doc: Any) -> None:
    try:
        ticket = parse_ticket(doc, EVENT, "0000abcd")
    except UpstreamGarbage:
        return
    assert ticket.ticket_id == "0000abcd" and ticket.event_id == EVENT


@given(json_values, st.none() | st.sampled_from(["00000000", "0000ffff"]))
def test_any_json_is_a_page_or_garbage(doc: Any, after: str | None) -> None:
    try:
        page = parse_ticket_page(doc, EVENT, after)
    except UpstreamGarbage:
        return
    ids = [facts.ticket_id for facts, _ in page.tickets]
    assert ids == sorted(set(ids))


def test_what_a_scanctl_catalog_answers_is_understood() -> None:
    event = parse_event(
        {
            "id": EVENT,
            "venueId": VENUE,
            "name": "Night",
            "startsAt": "2030-06-01T18:00:00+02:00",
            "endsAt": "2030-06-01T23:00:00+02:00",
            "ticketSequence": 4,
            "createdAt": "2030-01-01T00:00:00Z",
        },
        "tenant",
        EVENT,
    )
    assert event.name == "Night"
    assert event.facts.starts_at_ms == ms("2030-06-01T16:00:00+00:00")
    ticket = parse_ticket(
        {
            "id": "0000abcd",
            "eventId": EVENT,
            "status": "TRANSFERRED",
            "zones": ["vip"],
            "validFrom": None,
            "validUntil": "2030-06-01T23:00:00Z",
            "transferredTo": "0000abce",
            "staticHash": None,
            "updatedSeq": 3,
        },
        EVENT,
        "0000abcd",
    )
    assert ticket.status is TicketStatus.TRANSFERRED
    assert ticket.transferred_to == "0000abce" and ticket.zones == frozenset({"vip"})
    assert ticket.valid_until_ms == ms("2030-06-01T23:00:00+00:00")


def test_an_answer_about_another_event_is_garbage() -> None:
    with pytest.raises(UpstreamGarbage, match="asked for event"):
        parse_event(
            {
                "id": VENUE,
                "venueId": VENUE,
                "name": "x",
                "startsAt": "2030-06-01T18:00:00Z",
                "endsAt": "2030-06-01T19:00:00Z",
            },
            "tenant",
            EVENT,
        )
    with pytest.raises(UpstreamGarbage, match=r"naive|timezone"):
        parse_event(
            {
                "id": EVENT,
                "venueId": VENUE,
                "name": "x",
                "startsAt": "2030-06-01T18:00:00",
                "endsAt": "2030-06-01T19:00:00Z",
            },
            "tenant",
            EVENT,
        )
