"""One lane per scanner: read, decide, journal, then — only then — give feedback.

Decisions are made in read order the moment a read arrives; each is queued in the
journal at once and its feedback waits for the commit in a second task. So the frames
of a burst share one commit (and in ``full`` mode one fsync), the lane keeps deciding
while the disk works, and no scanner beeps green for a scan that is not yet on disk.

A read the driver could not make into a code (noise, cut short, too long, a refused
symbology) is not decided: it is journaled as a bad read and answered at once with a
bad-read feedback, so that every read gets an answer (a host-ACK scanner locks until
it does) and the supervisor sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from scanctl.core import BadRead, Decision, RawScan, Reason, bad_read_message
from scanctl.daemon.alerts import AlertBook, AlertKind, Severity
from scanctl.daemon.bad_reads import BadReadEntry
from scanctl.daemon.decider import GateDecider, Lane, Read
from scanctl.daemon.events import EventBus
from scanctl.daemon.journal import Journal, JournalClosed, JournalEntry
from scanctl.daemon.metrics import LaneLatency
from scanctl.drivers import ScannerDriver

__all__ = ["LaneRunner", "LaneStats", "OnlineDecider", "wall_clock_ms"]

log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class OnlineDecider(Protocol):
    """Asks the backend; returns None when it cannot answer in time (decide offline)."""

    async def decide(self, read: Read) -> Decision | None: ...


@dataclass
class LaneStats:
    """What a lane has decided (its journal's history included), for /status and /gates."""

    admitted: int = 0
    denied: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    paused_reads: int = 0
    last: dict[str, Any] | None = None
    bad_reads: dict[str, int] = field(default_factory=dict)
    """Reads answered without a decision, by BadRead reason (not in admitted/denied)."""
    decided_by: dict[str, int] = field(default_factory=dict)
    """Decisions since start by who made them (offline, online)."""

    @classmethod
    def from_journal(
        cls, reasons: dict[str, int], bad_reads: dict[str, int] | None = None
    ) -> LaneStats:
        """Counters that carry on from what the journal holds for this lane."""
        admitted = sum(n for reason, n in reasons.items() if Reason(reason).allowed)
        stats = cls(admitted, sum(reasons.values()) - admitted, dict(reasons))
        stats.bad_reads = dict(bad_reads or {})
        return stats


_LOGGED = (
    "scan_id", "gate", "scanner", "direction", "ticket_id", "allowed", "reason",
    "warning", "decided_by", "latency_ms",
)  # fmt: skip
_Pending = tuple[int, Decision, JournalEntry, float, float]
_DONE = None


class LaneRunner:
    """Runs one scanner's lane until its driver ends or the lane is stopped."""

    def __init__(
        self,
        driver: ScannerDriver,
        lane: Lane,
        decider: GateDecider,
        journal: Journal,
        bus: EventBus,
        *,
        online: OnlineDecider | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
        on_decision: Callable[[dict[str, Any]], None] | None = None,
        alerts: AlertBook | None = None,
        stats: LaneStats | None = None,
        latency: LaneLatency | None = None,
    ) -> None:
        self.driver = driver
        self.lane = lane
        self.decider = decider
        self.journal = journal
        self.bus = bus
        self.online = online
        self.clock_ms = clock_ms
        self.on_decision = on_decision
        self.alerts = alerts
        self.stats = stats or LaneStats()
        self.latency = latency
        self.paused = False
        self._pending: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._reading: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Read until the driver ends or ``stop()``; then answer every decided read, close.

        The driver stays open until the last feedback is out: a drain stops reading
        first, and only then closes the port the feedback goes through.
        """
        name = self.lane.scanner
        feedback = asyncio.create_task(self._feedback_loop(), name=f"feedback-{name}")
        self._reading = asyncio.create_task(self._read_loop(), name=f"read-{name}")
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        finally:
            self._pending.put_nowait(_DONE)
            await feedback
            await self.driver.aclose()

    # -- what the metrics read (daemon.metrics.LaneSource), copies taken at once ------

    @property
    def scanner(self) -> str:
        return self.lane.scanner

    @property
    def gate(self) -> str:
        return self.lane.gate

    @property
    def connected(self) -> bool:
        return bool(getattr(self.driver, "connected", True))

    def reasons(self) -> dict[str, int]:
        return dict(self.stats.reasons)

    def decided_by(self) -> dict[str, int]:
        return dict(self.stats.decided_by)

    def bad_reads(self) -> dict[str, int]:
        return dict(self.stats.bad_reads)

    def driver_counters(self) -> dict[str, int]:
        return self.driver.counters.snapshot()

    def stop(self) -> None:
        """Stop reading; run() returns once every decided read has had its feedback."""
        if self._reading is not None:
            self._reading.cancel()

    async def _read_loop(self) -> None:
        async for raw in self.driver:
            await self._handle(raw)

    async def _handle(self, raw: RawScan) -> None:
        if raw.bad_read is not None:
            await self._answer_bad_read(raw, raw.bad_read)
            return
        if self.paused:
            self.stats.paused_reads += 1
            await self.driver.feedback(False)
            return
        # Named and timed before anyone is asked: one scan id and read time, however decided.
        read = self.decider.take(raw, self.lane, self.clock_ms())
        decision: Decision | None = None
        if self.online is not None:
            decision = await self.online.decide(read)
        if decision is None:
            decision, entry = self.decider.decide(read)
        else:
            entry = self.decider.record_online(read, decision)
        mark = self.journal.enqueue((entry,))
        self._pending.put_nowait(
            (mark, decision, entry, raw.received_at_monotonic, time.monotonic())
        )

    async def _answer_bad_read(self, raw: RawScan, reason: BadRead) -> None:
        """Journal a read that cannot be decided (hashed), answer it at once, show it.

        Not through the feedback queue: a bad answer opens nothing, so it need not wait
        for a commit; a host-ACK scanner gets it within milliseconds of the read.
        """
        entry = BadReadEntry.of(raw, reason, self.lane.gate, self.clock_ms())
        try:
            self.journal.record_bad_read(entry)
        except Exception:  # the answer matters more than the record of it
            log.exception("could not journal a bad read from %s", entry.scanner)
        await self.driver.feedback(False)
        self.stats.bad_reads[reason.value] = self.stats.bad_reads.get(reason.value, 0) + 1
        self.bus.publish(
            {
                "type": "bad_read",
                "at_ms": entry.at_ms,
                "scanner": entry.scanner,
                "gate": entry.gate,
                "direction": self.lane.direction.value,
                "zone": self.lane.zone,
                "allowed": False,
                "reason": reason.value,
                "message": bad_read_message(reason),
                "symbology": entry.symbology,
                "length": entry.length,
                "payload_sha256": entry.payload_sha256,
            }
        )

    async def _feedback_loop(self) -> None:
        while (item := await self._pending.get()) is not _DONE:
            mark, decision, entry, received, queued = item
            try:
                await self.journal.wait(mark)
                committed = time.monotonic()
            except JournalClosed:
                # Not on disk: the gate must not open. Red light, and say why loudly.
                log.exception("journal commit failed for scan %s", entry.scan_id)
                await self.driver.feedback(False)
                if self.alerts is not None:
                    self.alerts.raise_alert(
                        AlertKind.JOURNAL_FAILED,
                        "journal",
                        "the journal cannot write: every scan is refused until it is fixed",
                        severity=Severity.CRITICAL,
                    )
                continue
            if decision.allowed and decision.warning is not None:
                await self.driver.feedback(True, warning=True)  # its own beep: look twice
            else:
                await self.driver.feedback(decision.allowed)
            self._count(decision, entry, received)
            if self.latency is not None:
                self.latency.observe(received, queued, committed)

    def _count(self, decision: Decision, entry: JournalEntry, received: float) -> None:
        stats = self.stats
        if decision.allowed:
            stats.admitted += 1
        else:
            stats.denied += 1
        stats.reasons[decision.reason.value] = stats.reasons.get(decision.reason.value, 0) + 1
        stats.decided_by[entry.decided_by] = stats.decided_by.get(entry.decided_by, 0) + 1
        event = {
            "type": "decision",
            "scan_id": entry.scan_id,
            "at_ms": entry.scanned_at_ms,
            "scanner": entry.scanner,
            "gate": entry.gate,
            "direction": entry.direction.value,
            "zone": self.lane.zone,
            "ticket_id": entry.ticket_id,
            "allowed": decision.allowed,
            "reason": decision.reason.value,
            "message": decision.message,
            "warning": decision.warning,
            "admitted_gate": decision.admitted_gate,
            "admitted_at_ms": decision.admitted_at_ms,
            "decided_by": entry.decided_by,
            "latency_ms": round((time.monotonic() - received) * 1000, 3),
        }
        stats.last = event
        if log.isEnabledFor(logging.DEBUG):  # `daemon run -v`: one line per decision
            log.debug(
                "decision %s %s at %s/%s",
                decision.reason.value,
                entry.scan_id,
                entry.gate,
                entry.scanner,
                extra={k: event[k] for k in _LOGGED if event[k] is not None},
            )
        if self.on_decision is not None:
            self.on_decision(event)
        self.bus.publish(event)
