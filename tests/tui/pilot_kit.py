"""Helpers for pilot tests: run an app on a source, wait for what the screen shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from scanctl.tui import DoorApp, build_app
from scanctl.tui.source import DoorSource
from scanctl.tui.widgets import GateCard
from scanctl.tui.widgets.gate_card import card_id

Body = Callable[[DoorApp, Pilot[None]], Awaitable[None]]


def run_app(source: DoorSource, body: Body, size: tuple[int, int] = (120, 40)) -> None:
    async def main() -> None:
        app = build_app(source)
        async with app.run_test(size=size) as pilot:
            await body(app, pilot)

    asyncio.run(main())


async def until(
    pilot: Pilot[None], condition: Callable[[], Any], what: str, within_s: float = 10.0
) -> Any:
    """Let the app run until ``condition()`` is truthy; fail after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            result = condition()
        except NoMatches:  # not composed yet
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def text_of(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def card(app: DoorApp, gate: str) -> GateCard:
    return app.screen.query_one(f"#{card_id(gate)}", GateCard)


def card_text(app: DoorApp, gate: str) -> str:
    """Every line a gate's card shows, border titles included."""
    found = card(app, gate)
    lines = [str(found.border_title), str(found.border_subtitle)]
    lines += [text_of(static) for static in found.query(Static)]
    return "\n".join(lines)


def table_rows(app: DoorApp) -> list[list[str]]:
    table: DataTable[Any] = app.screen.query_one(DataTable)
    return [
        [
            (cell.plain if isinstance(cell, Text) else str(cell)).strip()
            for cell in table.get_row_at(index)
        ]
        for index in range(table.row_count)
    ]
