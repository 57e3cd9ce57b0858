"""`ScanGuard`: refusals every instance can make from Redis alone, before the database.

Two denials are *monotone* — once true for a code or ticket they stay true whatever
else the database holds — so they can be decided from shared state without the
writer's transaction:

- QR_ALREADY_USED: a verified rotating code claims its nonce with ``SET NX`` (expiry:
  the code's lifetime plus the clock-skew allowance). A second use of the nonce at
  any instance finds the claim.
- ALREADY_SCANNED (events without re-entry): every admission through an entry lane
  leaves the ticket's last entry in Redis for the duplicate window; a later scan finds
  it and is refused with its time and gate.

The answer is computed by the same `core.decide()` the writer calls, with the nonce
state and the one-pass history Redis knows; only those two reasons are taken from it.
Everything else — admissions above all — is decided by the writer from the database,
whose unique nonce record and admitted history stay the authority. With Redis down the
guard answers "don't know" and every scan goes to the database, as on one instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanctl.backend.sharedstate.codec import decode_admission, encode_admission
from scanctl.backend.sharedstate.keys import KeySpace
from scanctl.backend.sharedstate.link import RedisLink
from scanctl.core import (
    Decision,
    Direction,
    EventFacts,
    ParsedCode,
    PastScan,
    Policy,
    Reason,
    RotatingCode,
    ScannerContext,
    TicketFacts,
    decide,
    verify_mac,
)

__all__ = ["Precheck", "ScanGuard"]

_SHARED_REASONS = frozenset({Reason.QR_ALREADY_USED, Reason.ALREADY_SCANNED})


@dataclass(frozen=True, slots=True)
class Precheck:
    """A refusal decided from Redis (or None), and the nonce key this scan claimed."""

    refusal: Decision | None = None
    claimed: str | None = None


_NOTHING = Precheck()


class ScanGuard:
    """Nonce claims and last admissions in Redis; counts what it refused."""

    def __init__(self, link: RedisLink, keys: KeySpace) -> None:
        self.link = link
        self.keys = keys
        self.refused: dict[Reason, int] = dict.fromkeys(_SHARED_REASONS, 0)

    def precheck(
        self,
        tenant_id: str,
        code: ParsedCode,
        *,
        ticket: TicketFacts | None,
        event: EventFacts,
        policy: Policy,
        scanner: ScannerContext,
        event_keys: tuple[bytes, ...],
        now_ms: int,
    ) -> Precheck:
        """Refuse a replayed code or a duplicate admission from Redis; claim a fresh nonce.

        Only genuine codes touch Redis: a forged one (MAC does not verify) could
        otherwise claim nonces of codes it never saw.
        """
        if ticket is None or not self.link.up:
            return _NOTHING
        nonce_key: str | None = None
        ttl_ms = 0
        if isinstance(code, RotatingCode):
            if code.ticket_id != ticket.ticket_id or not verify_mac(code, event_keys):
                return _NOTHING
            lifetime_ms = (policy.qr_lifetime_seconds + policy.clock_skew_seconds) * 1000
            ttl_ms = code.timestamp_ms + lifetime_ms - now_ms
            if ttl_ms > 0:  # an expired code is refused as such by the writer
                nonce_key = self.keys.nonce(tenant_id, code.nonce)
        admitted_key = None
        if not policy.reentry_allowed:
            admitted_key = self.keys.admitted(tenant_id, ticket.event_id, ticket.ticket_id)
        if nonce_key is None and admitted_key is None:
            return _NOTHING

        def ask(client: object) -> list[object]:
            pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
            if nonce_key is not None:
                pipe.set(nonce_key, b"1", nx=True, px=ttl_ms)
            if admitted_key is not None:
                pipe.get(admitted_key)
            answers: list[object] = pipe.execute()
            return answers

        answers = self.link.run(ask, None)
        if answers is None:
            return _NOTHING
        claimed = bool(answers[0]) if nonce_key is not None else False
        last = decode_admission(answers[-1]) if admitted_key is not None else None  # type: ignore[arg-type]
        decision = decide(
            code,
            ticket=ticket,
            event=event,
            policy=policy,
            history=() if last is None else (last,),
            scanner=scanner,
            now_ms=now_ms,
            event_keys=event_keys,
            nonce_seen=nonce_key is not None and not claimed,
        )
        own_claim = nonce_key if claimed else None
        if decision.reason in _SHARED_REASONS:
            self.refused[decision.reason] += 1
            return Precheck(decision, own_claim)
        return Precheck(None, own_claim)

    def release(self, claimed: str | None) -> None:
        """Give a claimed nonce back: the scan that claimed it was never recorded."""
        if claimed is not None:
            self.link.run(lambda client: client.delete(claimed), 0)

    @staticmethod
    def remembers(policy: Policy, scanner: ScannerContext) -> bool:
        """Whether an admission of this scan is worth remembering: entries, under a policy
        without re-entry (the only case `precheck` reads it). Should the policy change
        later, the database still has every admission."""
        return not policy.reentry_allowed and scanner.direction is Direction.ENTRY

    def admitted(
        self,
        tenant_id: str,
        ticket: TicketFacts,
        scanner: ScannerContext,
        at_ms: int,
        policy: Policy,
    ) -> None:
        """Remember an admission for the duplicate window (see `remembers`)."""
        if not self.remembers(policy, scanner):
            return
        key = self.keys.admitted(tenant_id, ticket.event_id, ticket.ticket_id)
        value = encode_admission(
            PastScan(at_ms, scanner.gate, scanner.direction, scanner.device_id)
        )
        window_ms = max(policy.duplicate_window_seconds * 1000, 1000)
        self.link.run(lambda client: client.set(key, value, px=window_ms), None)
