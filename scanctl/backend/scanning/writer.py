"""The single scan writer: decides queued scans in order, in one transaction, and group-commits.

Why one writer. "Admit at most N" needs every decision about a ticket to see every
earlier admission of it. Requests put a `ScanJob` on a queue; one thread takes *all*
queued jobs, opens one transaction per tenant, and for each job in arrival order reads
the ticket's admitted history and the nonce from the database (inside that transaction)
plus an in-memory view of what this batch has already admitted and spent, calls
`core.decide()`, and collects the scan rows and nonces. Then it inserts them, commits
once (SQLite in WAL mode with synchronous=FULL: the admission is durable before anyone
hears of it) and answers every job of the batch. Decisions are serialized (correctness)
and the fsync is shared by everything that queued meanwhile (throughput): under load a
batch holds dozens of scans, at rest one.

PostgreSQL with several instances: each instance still batches, but instances no longer
see each other's batches, so the guarantee moves into the database. Inside the batch
transaction the writer takes ``SELECT … FROM tickets WHERE tenant_id=:t AND event_id=:e
AND id=:id FOR UPDATE`` for each ticket of the batch, events and tickets in id order so
that two instances cannot deadlock (`store.lock_tickets`; a no-op on SQLite, whose single
writer already serializes), and only then reads the clock, the history and the
nonces. The engine runs READ COMMITTED (`db.engine`), so those reads see what another
instance committed while this one waited on the lock. Nonces keep their primary key
(tenant_id, nonce) as a second guard: a replay that still raced would fail the loser's
insert, and the writer decides that scan again on its own — the retry reads the nonce
as used (QR_ALREADY_USED). Both are tested with two real server processes
(tests/backend/test_postgres_instances.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from scanctl.backend.db.engine import Database
from scanctl.backend.store.nonces import forget_expired_nonces, remember_nonces, used_nonces
from scanctl.backend.store.scans import (
    ScanRecord,
    admitted_histories,
    insert_scans,
    scans_by_device_id,
)
from scanctl.backend.store.scope import Scope
from scanctl.backend.store.tickets import lock_tickets
from scanctl.core import (
    Decision,
    EventFacts,
    ParsedCode,
    PastScan,
    Policy,
    Reason,
    RotatingCode,
    ScannerContext,
    TicketFacts,
    decide,
    message_for,
)
from scanctl.core.ids import uuid7

__all__ = ["ScanJob", "ScanOutcome", "ScanWriter", "WriterStopped"]

log = logging.getLogger("scanctl.backend.scanning")

_PURGE_EVERY_MS = 60_000


class WriterStopped(RuntimeError):
    """The writer is not running (the service is starting or shutting down)."""


@dataclass(slots=True)
class ScanJob:
    """Everything decide() needs except history and nonce, which the writer reads itself.

    ``forced`` is a decision made before the writer (a device of another venue, a
    rate-limited scanner): it is recorded as is, without calling decide().
    ``scan_id`` is the id the gate gave the read (an idempotency key of its device) and
    ``read_at_ms`` when it read the code; both None for clients that send neither.
    ``metadata`` is the client's ``metadata`` object as compact JSON, stored with the scan.
    """

    tenant_id: str
    code: ParsedCode
    ticket: TicketFacts | None
    event: EventFacts
    policy: Policy
    scanner: ScannerContext
    event_keys: tuple[bytes, ...]
    raw: str
    forced: Decision | None = None
    scan_id: str | None = None
    read_at_ms: int | None = None
    metadata: str | None = None
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[ScanOutcome] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """The decision and the recorded scan's id and time. ``replayed``: the gate had sent
    this scan id before, and this is the decision stored then (nothing was recorded)."""

    decision: Decision
    scan_id: str
    decided_at_ms: int
    replayed: bool = False


READ_TIME_TRUSTED_MS = 5 * 60_000
"""A read time the gate sends is stored as the scan's time when it is at most this old
(and not in the future): a request that sat in a queue keeps the moment of the read. Any
other is a clock gone wrong, and the backend's time is stored instead."""


def _scanned_at(job: ScanJob, now_ms: int) -> int:
    read = job.read_at_ms
    if read is None or not now_ms - READ_TIME_TRUSTED_MS <= read <= now_ms:
        return now_ms
    return read


def _replayed(record: ScanRecord) -> ScanOutcome:
    """The stored decision of a scan id sent again (its facts beyond the reason are not
    stored: the answer says what was decided, not again why in detail)."""
    reason = Reason(record.reason)
    decision = Decision(
        reason.allowed, reason, message_for(reason), record.ticket_id, reason.verified
    )
    return ScanOutcome(decision, record.id, record.recorded_at_ms, replayed=True)


class ScanWriter:
    """A daemon thread owning every online scan write. `submit()` from the event loop."""

    def __init__(self, database: Database, clock: Callable[[], int]) -> None:
        self._db = database
        self._clock = clock
        self._queue: queue.SimpleQueue[ScanJob | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._last_purge_ms = 0
        self._tenants_seen: set[str] = set()
        self.batches = 0
        self.largest_batch = 0

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scan-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Finish the queued jobs, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    async def submit(self, job: ScanJob) -> ScanOutcome:
        """Queue a job and wait for its committed outcome."""
        if self._thread is None:
            raise WriterStopped("the scan writer is not running")
        loop = asyncio.get_running_loop()
        job.loop = loop
        job.future = loop.create_future()
        self._queue.put(job)
        return await job.future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._process(batch)
            if stop:
                return

    def _process(self, batch: list[ScanJob]) -> None:
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        by_tenant: dict[str, list[ScanJob]] = defaultdict(list)
        for job in batch:
            by_tenant[job.tenant_id].append(job)
        answers: list[tuple[ScanJob, ScanOutcome | BaseException]] = []
        for tenant_id, jobs in by_tenant.items():
            try:
                outcomes = self._decide_and_commit(tenant_id, jobs)
            except Exception as exc:
                # A lost race on a unique key (another instance committed the same nonce
                # first) is decided again: the retry reads the nonce as used.
                if len(jobs) == 1 and not isinstance(exc, IntegrityError):
                    log.exception("a scan could not be committed")
                    answers.append((jobs[0], exc))
                    continue
                # One bad job must not sink its batch: retry each on its own.
                log.warning("scan batch of %d failed (%s); retrying one by one", len(jobs), exc)
                for job in jobs:
                    try:
                        answers.append((job, self._decide_and_commit(tenant_id, [job])[0]))
                    except Exception as single:
                        log.exception("a scan could not be committed")
                        answers.append((job, single))
            else:
                answers.extend(zip(jobs, outcomes, strict=True))
        self._answer(answers)
        self._maybe_purge()

    def _decide_and_commit(self, tenant_id: str, jobs: list[ScanJob]) -> list[ScanOutcome]:
        scope = Scope.tenant_wide(tenant_id)
        self._tenants_seen.add(tenant_id)
        with self._db.write(scope) as conn:
            # Everything the batch needs from the database, read up front in a few queries.
            histories = _histories(scope, conn, jobs)
            # The clock is read once the ticket locks are held: an admission another
            # instance committed while this batch waited is then never in its future.
            now_ms = self._clock()
            spent = used_nonces(
                scope,
                conn,
                (
                    j.code.nonce
                    for j in jobs
                    if isinstance(j.code, RotatingCode) and j.forced is None
                ),
            )
            records: list[ScanRecord] = []
            new_nonces: list[tuple[str, int]] = []
            outcomes: list[ScanOutcome] = []
            # Scan ids the gates sent: a read sent twice (a retry, or the answer came
            # too late and the gate asked again) is one scan, decided once.
            known = _known_scans(scope, conn, jobs)
            for job in jobs:
                key = (job.scanner.device_id, job.scan_id or "")
                if key in known:
                    outcomes.append(_replayed(known[key]))
                    continue
                decision = job.forced
                history: list[PastScan] | None = None
                if decision is None:
                    nonce_seen = False
                    if isinstance(job.code, RotatingCode) and job.ticket is not None:
                        nonce_seen = job.code.nonce in spent
                    if job.ticket is not None:
                        history = histories[(job.ticket.event_id, job.ticket.ticket_id)]
                    decision = decide(
                        job.code,
                        ticket=job.ticket,
                        event=job.event,
                        policy=job.policy,
                        history=history or (),
                        scanner=job.scanner,
                        now_ms=now_ms,
                        event_keys=job.event_keys,
                        nonce_seen=nonce_seen,
                    )
                    code = job.code
                    if decision.verified and isinstance(code, RotatingCode) and not nonce_seen:
                        spent.add(code.nonce)
                        valid_until = job.policy.code_valid_until_ms(code.timestamp_ms)
                        new_nonces.append((code.nonce, valid_until))
                scan_id = job.scan_id or uuid7(now_ms)
                if decision.allowed and history is not None:
                    history.append(
                        PastScan(
                            now_ms,
                            job.scanner.gate,
                            job.scanner.direction,
                            job.scanner.device_id,
                        )
                    )
                records.append(
                    ScanRecord(
                        id=scan_id,
                        event_id=job.event.event_id,
                        ticket_id=decision.ticket_id or _ticket_of(job),
                        device_id=job.scanner.device_id,
                        gate=job.scanner.gate or None,
                        direction=job.scanner.direction,
                        raw=job.raw,
                        reason=decision.reason.value,
                        allowed=decision.allowed,
                        decided_by="online",
                        scanned_at_ms=_scanned_at(job, now_ms),
                        recorded_at_ms=now_ms,
                        client_metadata=job.metadata,
                    )
                )
                outcomes.append(ScanOutcome(decision, scan_id, now_ms))
                if job.scan_id is not None:
                    known[key] = records[-1]
            insert_scans(scope, conn, records)
            remember_nonces(scope, conn, new_nonces)
        return outcomes

    def _answer(self, answers: list[tuple[ScanJob, ScanOutcome | BaseException]]) -> None:
        # One wake-up per event loop for the whole batch, not one per request.
        per_loop: dict[asyncio.AbstractEventLoop, list[tuple[ScanJob, object]]] = defaultdict(list)
        for job, outcome in answers:
            if job.loop is not None:
                per_loop[job.loop].append((job, outcome))
        for loop, items in per_loop.items():
            # A closed loop has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, items)

    def _maybe_purge(self) -> None:
        now_ms = self._clock()
        if now_ms - self._last_purge_ms < _PURGE_EVERY_MS:
            return
        self._last_purge_ms = now_ms
        for tenant_id in list(self._tenants_seen):
            scope = Scope.tenant_wide(tenant_id)
            try:
                with self._db.write(scope) as conn:
                    forget_expired_nonces(scope, conn, now_ms)
            except Exception:
                log.exception("could not forget expired nonces of tenant %s", tenant_id)
        self._tenants_seen.clear()


def _ticket_of(job: ScanJob) -> str | None:
    if job.ticket is not None:
        return job.ticket.ticket_id
    if isinstance(job.code, RotatingCode):
        return job.code.ticket_id
    return None


def _known_scans(
    scope: Scope, conn: Connection, jobs: list[ScanJob]
) -> dict[tuple[str, str], ScanRecord]:
    """The stored scans of the batch's gate-made ids, by (device, id)."""
    keys = [(job.scanner.device_id, job.scan_id) for job in jobs if job.scan_id is not None]
    return scans_by_device_id(scope, conn, keys) if keys else {}


def _histories(
    scope: Scope, conn: Connection, jobs: list[ScanJob]
) -> dict[tuple[str, str], list[PastScan]]:
    """Admitted history of every ticket the batch names, keyed (event_id, ticket_id)."""
    by_event: dict[str, set[str]] = defaultdict(set)
    for job in jobs:
        if job.ticket is not None and job.forced is None:
            by_event[job.ticket.event_id].add(job.ticket.ticket_id)
    found: dict[tuple[str, str], list[PastScan]] = {}
    # Locks in (event, ticket) order everywhere: two instances never wait on each other
    # in a cycle.
    for event_id in sorted(by_event):
        ordered = sorted(by_event[event_id])
        lock_tickets(scope, conn, event_id, ordered)
        for ticket_id, history in admitted_histories(scope, conn, event_id, ordered).items():
            found[(event_id, ticket_id)] = history
    return found


def _resolve(items: list[tuple[ScanJob, object]]) -> None:
    for job, outcome in items:
        future = job.future
        if future is None or future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]
