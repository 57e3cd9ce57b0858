"""One gate's place in the mesh: push its admissions, take its peers', catch up.

Runs on the daemon's event loop, beside the lanes, and never in their way: a lane's
decision, journal commit and feedback never wait for the mesh. After each journal
commit the node numbers this gate's new admissions and exits (``on_journaled``) and,
in a later turn of the loop than the feedback, sends them to every peer at once. A
peer's records are applied the moment they are opened: into the ticket histories and
nonces ``decide()`` sees, then onto disk (``MeshLog``).

Every ``heartbeat_ms`` each gate sends its peers a summary of what it holds; a peer that
holds more answers with the missing records (anti-entropy), so a datagram lost, a gate
restarted or a link cut and healed costs a few heartbeats, never a record. When records
that arrive make a double entry with this gate's own admissions (both sides of a cut
link kept deciding), it is reported as a conflict, the same way the backend reports
offline ones, under the same stable id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

from scanctl.core import (
    Admission,
    Direction,
    PastScan,
    Policy,
    conflict_to_wire,
    find_conflicts,
)
from scanctl.daemon.conflicts import ConflictJournal
from scanctl.daemon.journal import JournalEntry
from scanctl.daemon.mesh.log import MeshLog, code_of_raw
from scanctl.daemon.mesh.wire import REFUSALS, MeshCodec, MeshRecord, MeshRefused, Summary, pack
from scanctl.daemon.state import GateState

__all__ = ["LINK_TIMEOUT_MS", "MeshNode", "Peer"]

log = logging.getLogger(__name__)

LINK_TIMEOUT_MS = 3_000
"""A peer not heard from for this long is shown down."""
RESEND_LIMIT = 512
"""Records resent to one peer per heartbeat: a long partition heals over a few beats
instead of one burst that would overflow the peer's socket buffer."""
_SOCKET_BUFFER = 1 << 21


@dataclass
class Peer:
    """Another gate, by address: configured, discovered, or heard from."""

    address: tuple[str, int]
    origin: str
    """How it became known: static, mdns or heard."""
    device_id: str | None = None
    last_heard_ms: int | None = None
    their_have: dict[str, int] | None = None
    """What its latest summary said it holds (None: no summary heard yet)."""

    def state(self, now_ms: int) -> str:
        if self.last_heard_ms is None:
            return "unknown"
        return "up" if now_ms - self.last_heard_ms <= LINK_TIMEOUT_MS else "down"


class MeshNode(asyncio.DatagramProtocol):
    """The mesh endpoint of one daemon (see the module docstring)."""

    def __init__(
        self,
        *,
        codec: MeshCodec,
        mesh_log: MeshLog,
        state: GateState,
        policy: Callable[[], Policy],
        conflicts: ConflictJournal | None,
        names: dict[str, str],
        listen: tuple[str, int],
        peers: Iterable[tuple[str, int]] = (),
        heartbeat_ms: int = 500,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.codec = codec
        self.log = mesh_log
        self.state = state
        self._policy = policy
        self.conflicts = conflicts
        self.names = names
        """Device id -> name, from the manifest's peer list."""
        self.listen = listen
        self.heartbeat_ms = heartbeat_ms
        self.clock_ms = clock_ms
        self.peers: dict[tuple[str, int], Peer] = {}
        for address in peers:
            self.peers[address] = Peer(address, "static")
        self.refused: Counter[str] = Counter({why: 0 for why in REFUSALS})
        self.hostile_seen = 0
        """Hostile refusals already alerted on (see mesh.watch)."""
        self.sent = 0
        self.propagation_ms: deque[int] = deque(maxlen=1024)
        """Read-to-applied time of records pushed straight from their origin."""
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: list[JournalEntry] = []
        self._flush_soon: asyncio.Handle | None = None
        self._beating: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mesh-log")
        self._resending: dict[tuple[str, int], asyncio.Task[None]] = {}

    # -- start and stop ---------------------------------------------------------------

    def bind(self) -> None:
        """Take the listening socket now, so a port in use stops the daemon at start
        (OSError) rather than later."""
        family = socket.AF_INET6 if ":" in self.listen[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
            sock.bind(self.listen)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self.listen = sock.getsockname()[:2]

    async def start(self) -> None:
        """Serve on the bound socket, share what a crash may have left unshared, beat."""
        if self._sock is None:
            self.bind()
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, sock=self._sock)
        self._recover_unshared()
        self._beating = asyncio.create_task(self._heartbeat(), name="mesh-heartbeat")
        log.info("gate mesh listening on %s:%d, %d static peer(s)", *self.listen, len(self.peers))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def close(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
        for task in self._resending.values():
            task.cancel()
        if self._flush_soon is not None:
            self._flush_soon.cancel()
            self._flush()
        if self._transport is not None:
            self._transport.close()
        elif self._sock is not None:
            self._sock.close()
        self._writer.shutdown(wait=True)  # every held peer record on disk first
        self.log.close()

    def add_peer(self, address: tuple[str, int], origin: str) -> None:
        """A peer found by discovery (or configured later)."""
        if address != self.listen and address not in self.peers:
            self.peers[address] = Peer(address, origin)

    # -- this gate's admissions out ------------------------------------------------------

    def on_journaled(self, entries: Sequence[JournalEntry]) -> None:
        """From the journal, right after a commit: share its admissions and exits soon
        (after this turn's feedback, never before)."""
        shared = [e for e in entries if e.allowed and e.ticket_id is not None]
        if not shared:
            return
        self._pending.extend(shared)
        if self._flush_soon is None:
            self._flush_soon = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        entries, self._pending, self._flush_soon = self._pending, [], None
        if not entries:
            return
        records = self._number(
            (e.scan_id, e.scanned_at_ms, e.ticket_id, e.gate, e.direction, e.scanner, e.raw,
             e.decided_by, e.nonce_expires_at_ms)
            for e in entries
        )  # fmt: skip
        self.log.add_own(records, self.clock_ms())
        self._send_records(records, [peer.address for peer in self.peers.values()])

    def _recover_unshared(self) -> None:
        """Number the admissions a crash left journaled but unshared (they go out with the
        next summaries' answers)."""
        records = self._number(self.log.missing_locals())
        if records:
            self.log.add_own(records, self.clock_ms())
            log.info("gate mesh: %d admission(s) journaled before a crash now shared", len(records))

    def _number(self, admissions: Iterable[tuple[Any, ...]]) -> list[MeshRecord]:
        """This gate's admissions as its next records: (scan id, read time, ticket, gate,
        direction, lane, raw code, decided by, code expiry) each, numbered from own_seq."""
        seq = self.log.own_seq
        records = []
        for scan_id, at_ms, ticket, gate, direction, lane, raw, decided_by, expires in admissions:
            seq += 1
            records.append(
                MeshRecord(
                    self.codec.device_id,
                    seq,
                    scan_id,
                    ticket,
                    at_ms,
                    gate,
                    lane,
                    Direction(direction),
                    decided_by,
                    code_of_raw(raw),
                    expires,
                )
            )
        return records

    def _send_records(self, records: Sequence[MeshRecord], to: Sequence[tuple[str, int]]) -> None:
        if self._transport is None or not to:
            return
        now = self.clock_ms()
        for group in pack(records):
            datagram = self.codec.seal(tuple(group), now)
            for address in to:
                self._send(datagram, address)

    async def _resend(self, records: Sequence[MeshRecord], address: tuple[str, int]) -> None:
        """A peer's catch-up, one datagram per turn of the loop: a long partition's
        hundreds of records never hold a lane's decision up for more than one of them."""
        try:
            for group in pack(records):
                if self._transport is None:
                    return
                self._send(self.codec.seal(tuple(group), self.clock_ms()), address)
                await asyncio.sleep(0)
        finally:
            self._resending.pop(address, None)

    def _send(self, datagram: bytes, address: tuple[str, int]) -> None:
        assert self._transport is not None
        try:
            self._transport.sendto(datagram, address)
            self.sent += 1
        except OSError as error:  # an unreachable peer is the heartbeat's business
            log.debug("gate mesh: cannot send to %s:%d: %s", *address, error)

    async def _heartbeat(self) -> None:
        while True:
            if self._transport is not None and self.peers:
                datagram = self.codec.seal(Summary(dict(self.log.have)), self.clock_ms())
                for address in list(self.peers):
                    self._send(datagram, address)
            await asyncio.sleep(self.heartbeat_ms / 1000)

    # -- peers' datagrams in ----------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        now = self.clock_ms()
        address = (str(addr[0]), int(addr[1]))
        try:
            sender, body = self.codec.open(data, now)
        except MeshRefused as refusal:
            self.refused[refusal.why] += 1
            log.debug("gate mesh: refused a datagram from %s:%d: %s", *address, refusal)
            return
        peer = self._heard(sender, address, now)
        if isinstance(body, Summary):
            peer.their_have = dict(body.have)
            if address not in self._resending:  # one catch-up at a time per peer
                missing = self.log.missing_for(peer.their_have, RESEND_LIMIT)
                if missing:
                    self._resending[address] = asyncio.get_running_loop().create_task(
                        self._resend(missing, address), name="mesh-resend"
                    )
        else:
            self.apply(body, sender, now)

    def error_received(self, exc: Exception) -> None:
        log.debug("gate mesh: %s", exc)

    def _heard(self, device_id: str, address: tuple[str, int], now: int) -> Peer:
        peer = self.peers.get(address)
        if peer is None:
            # A gate of the manifest heard from a new address (it restarted, or found us
            # first): answer it there from now on, and forget where it was before.
            for stale in [a for a, p in self.peers.items() if p.device_id == device_id]:
                if self.peers[stale].origin == "heard":
                    del self.peers[stale]
            peer = self.peers[address] = Peer(address, "heard")
        peer.device_id = device_id
        peer.last_heard_ms = now
        return peer

    def apply(self, records: Sequence[MeshRecord], sender: str, now: int) -> list[MeshRecord]:
        """Take peers' records: histories and nonces at once, then disk, then conflicts."""
        fresh = self.log.fresh(records)
        if fresh:
            self.log.hold(fresh, now)
            # Disk off the loop: the lanes never wait for a peer's record to be written.
            self._writer.submit(self._write_peers, fresh, now)
        for record in fresh:
            self.state.add_pass(
                record.ticket_id,
                PastScan(record.at_ms, record.gate, record.direction, record.origin),
            )
            nonce = record.nonce
            if nonce is not None and record.code_expires_at_ms is not None:
                self.state.remember_nonce(nonce, record.code_expires_at_ms)
            if record.origin == sender:
                self.propagation_ms.append(max(0, now - record.at_ms))
        if fresh and self.conflicts is not None:
            self._report_conflicts({record.ticket_id for record in fresh}, now)
        return fresh

    def _write_peers(self, records: list[MeshRecord], now: int) -> None:
        try:
            self.log.write(records, now, peers=True)
        except Exception:  # the peers send them again after a restart; say it loudly
            log.exception("gate mesh: could not write %d peer record(s)", len(records))

    def _report_conflicts(self, tickets: Iterable[str], now: int) -> None:
        """Double entries the new records make with this gate's own admissions."""
        assert self.conflicts is not None
        me, event_id, policy = self.codec.device_id, self.codec.event_id, self._policy()
        wires = []
        for ticket in tickets:
            admissions = [
                Admission(
                    r.scan_id,
                    r.origin,
                    r.at_ms,
                    r.direction,
                    r.gate,
                    r.lane,
                    r.decided_by,
                    r.code,
                    self.log.received_at.get((r.origin, r.seq), now),
                )
                for r in self.log.by_ticket.get(ticket, ())
            ]
            for conflict in find_conflicts(event_id, ticket, admissions, policy):
                if conflict.involves(me):
                    wires.append(conflict_to_wire(conflict))
        if wires:
            for fresh in self.conflicts.record(wires):
                log.warning(
                    "gate mesh: double entry of ticket %s (%s) at %s",
                    fresh["ticket_id"],
                    fresh["kind"],
                    ", ".join(fresh["gates"]),
                )

    # -- what the status page and metrics show -------------------------------------------

    def status(self) -> dict[str, Any]:
        now = self.clock_ms()
        own = self.codec.device_id
        peers = []
        for peer in sorted(self.peers.values(), key=lambda p: (p.device_id or "", p.address)):
            device = peer.device_id
            lag, behind = self.lag(peer)
            peers.append(
                {
                    "address": f"{peer.address[0]}:{peer.address[1]}",
                    "found_by": peer.origin,
                    "device_id": device,
                    "name": self.names.get(device or ""),
                    "state": peer.state(now),
                    "last_heard_at_ms": peer.last_heard_ms,
                    "lag_records": lag,
                    "behind_us": behind,
                }
            )
        samples = sorted(self.propagation_ms)
        return {
            "listen": f"{self.listen[0]}:{self.listen[1]}",
            "device_id": own,
            "peers": peers,
            "peers_up": sum(1 for p in peers if p["state"] == "up"),
            "records": {"own": self.log.count(own=True), "peers": self.log.count(own=False)},
            "sent_datagrams": self.sent,
            "refused": dict(self.refused),
            "propagation_ms": {
                "p50": _quantile(samples, 0.50),
                "p99": _quantile(samples, 0.99),
                "samples": len(samples),
            },
        }

    def lag(self, peer: Peer) -> tuple[int | None, int | None]:
        """(How many of the peer's own admissions we lack, how many of ours it lacks), by
        its latest summary; (None, None) before one is heard."""
        if peer.their_have is None or peer.device_id is None:
            return None, None
        own, theirs = self.codec.device_id, peer.device_id
        lag = max(0, peer.their_have.get(theirs, 0) - self.log.have.get(theirs, 0))
        return lag, max(0, self.log.have.get(own, 0) - peer.their_have.get(own, 0))


def _quantile(samples: Sequence[int], q: float) -> int | None:
    if not samples:
        return None
    return samples[min(len(samples) - 1, int(q * len(samples)))]
