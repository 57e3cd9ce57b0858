"""The response parser: the shapes it reads, and that no bytes make it raise a foreign error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.client import endpoints
from scanctl.client.breaker import CircuitBreaker
from scanctl.client.endpoints import Call
from scanctl.client.errors import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    InvalidResponse,
    RateLimited,
    ServerError,
    ServiceUnavailable,
)
from scanctl.client.execution import conclude
from scanctl.client.responses import Reply, error_for, parse_retry_after, scan_result
from scanctl.core import Reason


def reply(status: int, body: Any = None, **headers: str) -> Reply:
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    return Reply(status, raw, headers)


def test_scan_result_keeps_extra_facts_and_fills_a_missing_message() -> None:
    result = scan_result(
        reply(200, {"allowed": False, "reason": "TICKET_TRANSFERRED", "newTicketId": "0000beef"})
    )
    assert result.reason is Reason.TICKET_TRANSFERRED
    assert result.message == "This ticket was transferred to someone else."
    assert result.extra == {"newTicketId": "0000beef"}


@pytest.mark.parametrize(
    "body",
    [
        {"allowed": 1, "reason": "ADMITTED"},
        {"allowed": True},
        {"allowed": True, "reason": ""},
        ["allowed"],
        "ADMITTED",
    ],
)
def test_scan_result_refuses_what_is_not_a_decision(body: Any) -> None:
    with pytest.raises(InvalidResponse):
        scan_result(reply(200, body))


def test_error_shapes() -> None:
    nested = error_for(
        reply(409, {"error": {"code": "VENUE_CHANGE", "message": "no", "details": {"a": 1}}})
    )
    assert isinstance(nested, Conflict)
    assert (nested.code, nested.message, nested.details) == ("VENUE_CHANGE", "no", {"a": 1})
    flat = error_for(
        reply(400, {"code": "BAD", "message": "bad", "details": {"name": ["too long", "odd"]}})
    )
    assert isinstance(flat, BadRequest)
    assert [(f.field, f.message) for f in flat.field_errors] == [("name", "too long; odd")]
    text = error_for(reply(500, b"oops"))
    assert (
        type(text) is ServerError
        and text.message == "oops"
        and text.code == "Internal Server Error"
    )
    empty = error_for(reply(418))
    assert type(empty) is ApiError and str(empty) == "418 I'm a teapot: I'm a teapot"


def test_503_is_both_unreachable_and_a_server_error_with_its_hint() -> None:
    err = error_for(reply(503, {"detail": "draining"}, **{"Retry-After": "7"}))
    assert isinstance(err, ServiceUnavailable) and err.retry_after == 7.0
    assert err.message == "draining" and err.headers["retry-after"] == "7"


def test_retry_after_forms() -> None:
    now = 1_800_000_000.0
    when = format_datetime(datetime.fromtimestamp(now + 42, UTC), usegmt=True)
    assert parse_retry_after(when, now=now) == 42.0
    assert parse_retry_after("5", now=now) == 5.0
    assert parse_retry_after("-3") == 0.0
    for bad in (None, "", "soon", "nan", "inf", "Mon, 99 Foo 2026 00:00:00"):
        assert parse_retry_after(bad) is None
    assert isinstance(error_for(reply(429, None, **{"Retry-After": "2"})), RateLimited)


def test_redirects_are_not_followed_but_reported() -> None:
    with pytest.raises(InvalidResponse):
        conclude(endpoints.health(), reply(302, None, Location="/elsewhere"), None)


# -- property: any answer ends in a value or one of our errors ---------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["allowed", "reason", "message", "error", "code", "detail", "details", "loc", "msg",
             "field", "items", "devices", "x"]
        ) | st.text(max_size=5),
        children,
        max_size=5,
    ),
    max_leaves=20,
)  # fmt: skip

BODIES = st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode())

HEADERS = st.dictionaries(
    st.sampled_from(["Retry-After", "Content-Type", "X-Other"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)

CALLS: list[Call[Any]] = [
    endpoints.scan("c", "e", "d"),
    endpoints.get_device("d"),
    endpoints.list_devices(),
    endpoints.pull_manifest("e"),
    endpoints.ready(),
    endpoints.revoke_device("d"),
    endpoints.policy_templates(),
]


@settings(max_examples=400, deadline=None)
@given(
    status=st.integers(min_value=100, max_value=599),
    body=BODIES,
    headers=HEADERS,
    call=st.sampled_from(CALLS),
)
def test_any_answer_gives_a_value_or_our_error(
    status: int, body: bytes, headers: dict[str, str], call: Call[Any]
) -> None:
    try:
        conclude(call, Reply(status, body, httpx.Headers(headers)), CircuitBreaker())
    except ClientError as exc:
        str(exc)  # every error renders


@given(st.text(max_size=60))
def test_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or seconds >= 0
