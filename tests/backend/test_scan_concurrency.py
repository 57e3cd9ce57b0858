"""Admit at most N under concurrency: 100 simultaneous scans of one ticket admit exactly one."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.backend.helpers import ServerProcess
from tests.backend.scan_kit import Door, RawHttp, open_door

CONCURRENT = 100


@pytest.fixture(scope="module")
def door(server: ServerProcess) -> Iterator[Door]:
    opened = open_door(server)
    # A scanner may read as fast as the test can send: the limit is not under test here.
    opened.policy(scanner_rate_limit_per_minute=100_000)
    try:
        yield opened
    finally:
        opened.admin.close()
        opened.staff.close()


def _connections(door: Door) -> list[RawHttp]:
    token = door.staff.headers["Authorization"].removeprefix("Bearer ")
    return [RawHttp(door.server.port, token) for _ in range(CONCURRENT)]


async def _burst(connections: list[RawHttp], door: Door, event: str, ticket: str) -> Counter[str]:
    """One request per connection, all in flight at once."""
    tokens = [door.mint(ticket, event) for _ in range(CONCURRENT)]
    answers = await asyncio.gather(
        *(
            http.post("/api/scan", {"qrData": t, "eventId": event, "deviceId": door.device})
            for http, t in zip(connections, tokens, strict=True)
        )
    )
    assert {status for status, _ in answers} == {200}
    return Counter(body["reason"] for _, body in answers)


def _run(door: Door, event: str, tickets: list[str]) -> list[Counter[str]]:
    async def run() -> list[Counter[str]]:
        connections = _connections(door)  # kept open across rounds
        try:
            return [await _burst(connections, door, event, ticket) for ticket in tickets]
        finally:
            for http in connections:
                await http.close()

    return asyncio.run(run())


def _rounds(door: Door, rounds: int) -> None:
    tickets = [door.ticket() for _ in range(rounds)]
    for reasons in _run(door, door.event, tickets):
        assert reasons == {"ADMITTED": 1, "ALREADY_SCANNED": CONCURRENT - 1}, reasons


def test_one_admission_out_of_a_hundred(door: Door) -> None:
    _rounds(door, 3)


@pytest.mark.slow
def test_one_admission_out_of_a_hundred_fifty_rounds(door: Door) -> None:
    _rounds(door, 50)


def test_max_reentries_hold_under_concurrency(door: Door) -> None:
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    door.policy(
        event,
        reentry_allowed=True,
        duplicate_window_seconds=0,
        max_reentries=2,
        scanner_rate_limit_per_minute=100_000,
    )
    [reasons] = _run(door, event, [door.ticket(event)])
    assert reasons == {"ADMITTED": 1, "RE_ENTRY_ADMITTED": 2, "MAX_REENTRIES": CONCURRENT - 3}
