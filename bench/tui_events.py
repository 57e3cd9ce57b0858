"""The supervisor TUI under 1,000 decision events per second.

A source posing as the daemon writes ``data: {…}`` lines at a fixed rate (open loop,
from each event's intended time) through the TUI's own SSE parser and coalescer — the
path live events take — into the app running headless (``run_test``) on the gates
screen, then on the scan log (the flood starts once the screen is up: switching screens
costs a one-off few hundred ms, not counted here). Each batch's lag is measured from its
oldest event's intended time to the screen refresh after the batch was drawn. Prints
`name=value` lines:

- events_per_s_offered, events_per_s_handled, max_lag_ms, p50_lag_ms, batches_per_s
  (gates screen); log_events_per_s_handled, log_max_lag_ms (scan-log screen);
- baselines from the same run: baseline_uncoalesced_* — the same app and flood with one
  message per event (no coalescing), for 3 s; baseline_raw_messages_per_s — a bare
  Textual app's message rate with no drawing at all.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App
from textual.message import Message

from scanctl.tui import build_app
from scanctl.tui.coalesce import Coalescer
from scanctl.tui.messages import DaemonEvents, DaemonSnapshot, LinkState, LinkUpdate
from scanctl.tui.source import Post
from scanctl.tui.sse import SseParser

RATE = 1_000
GATES_SECONDS = 10.0
LOG_SECONDS = 5.0
UNCOALESCED_SECONDS = 3.0
TICK_S = 0.005
GATES = ["north", "south", "east", "vip"]
REASONS = ["ADMITTED"] * 8 + ["QR_ALREADY_USED", "INVALID"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class FloodSource:
    """A DoorSource that floods decisions at ``rate``/s for ``seconds``."""

    rate: int
    seconds: float
    coalesce: bool = True
    tz: tzinfo | None = None
    sent: int = 0
    started: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def run(self, post: Post) -> None:
        gates = [{"gate": name, "scanners": [{"name": f"{name}-1"}]} for name in GATES]
        post(LinkUpdate(LinkState.ONLINE))
        post(DaemonSnapshot({"totals": {"admitted": 0, "denied": 0}}, gates, []))
        coalescer = Coalescer(post)
        ticker = asyncio.create_task(coalescer.run())
        parser = SseParser()
        total = int(self.rate * self.seconds)
        await self.go.wait()  # the screen under test is up
        self.started = time.monotonic()
        try:
            while self.sent < total:
                due = min(total, int((time.monotonic() - self.started) * self.rate))
                while self.sent < due:
                    intended = self.started + self.sent / self.rate
                    line = "data: " + json.dumps(self._event(self.sent, intended))
                    parser.feed(line)
                    event = parser.feed("")
                    assert event is not None
                    if self.coalesce:
                        coalescer.add(event)
                    else:
                        post(DaemonEvents([event], intended))
                    self.sent += 1
                await asyncio.sleep(TICK_S)  # the pacing of an open-loop generator
        finally:
            ticker.cancel()
            coalescer.flush()
            self.done.set()
        await asyncio.Event().wait()

    @staticmethod
    def _event(index: int, intended: float) -> dict[str, Any]:
        reason = REASONS[index % len(REASONS)]
        gate = GATES[index % len(GATES)]
        return {
            "type": "decision",
            "scan_id": f"s{index}",
            "at_ms": 1_764_331_200_000 + index,
            "scanner": f"{gate}-1",
            "gate": gate,
            "direction": "entry",
            "zone": "main",
            "ticket_id": f"{index % 50_000:08x}",
            "allowed": reason == "ADMITTED",
            "reason": reason,
            "message": "",
            "decided_by": "offline",
            "latency_ms": 0.4,
            "bench_intended": intended,
        }

    async def scans(self, **_: Any) -> list[dict[str, Any]]:
        return []

    async def set_paused(self, gate: str, paused: bool) -> None:
        pass

    async def acknowledge(self, alert_id: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def flood(
    screen_key: str | None, seconds: float, *, coalesce: bool = True
) -> dict[str, float]:
    source = FloodSource(RATE, seconds, coalesce)
    lags: list[float] = []
    shown = 0
    last_shown = 0.0

    def on_shown(batch: DaemonEvents) -> None:
        nonlocal shown, last_shown
        last_shown = time.monotonic()
        lags.append(last_shown - float(batch.events[0]["bench_intended"]))
        shown += len(batch.events)

    app = build_app(source, on_shown=on_shown)
    async with app.run_test(size=(120, 40)) as pilot:
        if screen_key:
            await pilot.press(screen_key)
        await pilot.pause(0.3)
        source.go.set()
        await source.done.wait()
        total = source.sent
        deadline = time.monotonic() + 60
        while shown < total and time.monotonic() < deadline:
            await pilot.pause(0.02)
        assert app.state.events_seen >= total
    elapsed = last_shown - source.started
    return {
        "offered": RATE,
        "handled": shown / elapsed if elapsed > 0 else 0.0,
        "max_lag_ms": max(lags) * 1000,
        "p50_lag_ms": percentile(lags, 0.5) * 1000,
        "batches_per_s": len(lags) / elapsed if elapsed > 0 else 0.0,
    }


class Ping(Message):
    pass


class BareApp(App[None]):
    """No widgets, one counter: Textual's own message throughput."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.handled = 0
        self.finished = asyncio.Event()

    def on_ping(self, message: Ping) -> None:
        self.handled += 1
        if self.handled == self.count:
            self.finished.set()


async def raw_message_rate(count: int = 50_000) -> float:
    app = BareApp(count)
    async with app.run_test():
        started = time.monotonic()
        for index in range(count):
            app.post_message(Ping())
            if index % 500 == 0:
                await asyncio.sleep(0)
        await app.finished.wait()
        return count / (time.monotonic() - started)


async def main() -> None:
    gates = await flood(None, GATES_SECONDS)
    log = await flood("2", LOG_SECONDS)
    uncoalesced = await flood(None, UNCOALESCED_SECONDS, coalesce=False)
    baseline = await raw_message_rate()
    print(f"events_per_s_offered={gates['offered']:.0f}")
    print(f"events_per_s_handled={gates['handled']:.0f}")
    print(f"max_lag_ms={gates['max_lag_ms']:.1f}")
    print(f"p50_lag_ms={gates['p50_lag_ms']:.1f}")
    print(f"batches_per_s={gates['batches_per_s']:.1f}")
    print(f"log_events_per_s_handled={log['handled']:.0f}")
    print(f"log_max_lag_ms={log['max_lag_ms']:.1f}")
    print(f"baseline_uncoalesced_events_per_s_handled={uncoalesced['handled']:.0f}")
    print(f"baseline_uncoalesced_max_lag_ms={uncoalesced['max_lag_ms']:.1f}")
    print(f"baseline_raw_messages_per_s={baseline:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
