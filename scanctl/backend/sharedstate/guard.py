"""`ScanGuard`: refusals every instance can make from Redis alone, in one round trip.

Two denials are *monotone* — once true for a code or ticket they stay true whatever
else the database holds — so they can be decided from shared state without the
writer's transaction:

- QR_ALREADY_USED: a verified rotating code claims its nonce with ``SET NX`` (expiry:
  the code's lifetime plus the clock-skew allowance). A second use of the nonce at
  any instance finds the claim.
- ALREADY_SCANNED (events without re-entry): every admission through an entry lane
  leaves the ticket's last entry in Redis for the duplicate window; a later scan finds
  it and is refused with its time and gate.

The same round trip counts the scan against its lane's rate limit (when the rate
limits live in this Redis), with the sliding window counter of the `limits` library.

The answer is computed by the same `core.decide()` the writer calls, with the nonce
state and the one-pass history Redis knows; only those two reasons are taken from it.
Everything else — admissions above all — is decided by the writer from the database,
whose unique nonce record and admitted history stay the authority. With Redis down the
guard answers "don't know" and every scan goes to the database, as on one instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    deny,
    rate_limit_unit,
    verify_mac,
)

__all__ = ["Precheck", "ScanGuard"]

_SHARED_REASONS = frozenset({Reason.QR_ALREADY_USED, Reason.ALREADY_SCANNED})

# One round trip for the whole pre-check. KEYS: [previous, current] rate windows when
# ARGV[1] (the limit per minute) > 0, then the nonce when ARGV[2] (its TTL) > 0, then
# the last admission when ARGV[3] == 1. The rate limit is the sliding window counter of
# the `limits` library (its acquire_sliding_window.lua), so a scan counts the same
# whether Redis or, while Redis is down, `limits` in memory counts it.
# Answers {0, ms to wait} when limited, else {1, claimed (1, 0, -1: no nonce), last}.
_PRECHECK = """
local i = 1
local limit = tonumber(ARGV[1])
if limit > 0 then
    local previous, current = KEYS[1], KEYS[2]
    local expiry = 60000
    i = 3
    local current_ttl = tonumber(redis.call('pttl', current))
    if current_ttl > 0 and current_ttl < expiry then
        redis.call('rename', current, previous)
        redis.call('set', current, 0, 'PX', current_ttl + expiry)
    end
    local previous_count = tonumber(redis.call('get', previous)) or 0
    local previous_ttl = tonumber(redis.call('pttl', previous)) or 0
    local current_count = tonumber(redis.call('get', current)) or 0
    current_ttl = tonumber(redis.call('pttl', current)) or 0
    if previous_ttl < 0 then previous_ttl = 0 end
    if current_ttl < 0 then current_ttl = 0 end
    local weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
    if weighted + 1 > limit then
        local wait = current_ttl - expiry
        if wait <= 0 then wait = previous_ttl end
        return {0, wait}
    end
    if redis.call('exists', current) == 1 then
        redis.call('incrby', current, 1)
    else
        redis.call('set', current, 1, 'PX', expiry * 2)
    end
end
local claimed = -1
local ttl = tonumber(ARGV[2])
if ttl > 0 then
    if redis.call('set', KEYS[i], '1', 'NX', 'PX', ttl) then claimed = 1 else claimed = 0 end
    i = i + 1
end
local last = false
if ARGV[3] == '1' then last = redis.call('get', KEYS[i]) end
return {1, claimed, last}
"""


@dataclass(frozen=True, slots=True)
class Precheck:
    """A refusal decided from Redis (or None), the nonce key this scan claimed, and
    whether the scan was counted against its device's rate limit in Redis."""

    refusal: Decision | None = None
    claimed: str | None = None
    counted: bool = False


_NOTHING = Precheck()


class ScanGuard:
    """Nonce claims and last admissions in Redis; counts what it refused."""

    def __init__(self, link: RedisLink, keys: KeySpace) -> None:
        self.link = link
        self.keys = keys
        self.refused: dict[Reason, int] = dict.fromkeys(_SHARED_REASONS, 0)
        self._script = link.client.register_script(_PRECHECK)

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
        rate_per_minute: int | None = None,
    ) -> Precheck:
        """Count the scan against the device's rate (when asked), refuse a replayed code or a
        duplicate admission from Redis, claim a fresh nonce — in one round trip.

        Only genuine codes touch nonces: a forged one (MAC does not verify) could
        otherwise claim nonces of codes it never saw. A rate-limited scan claims nothing.
        """
        if not self.link.up:
            return _NOTHING
        nonce_key: str | None = None
        ttl_ms = 0
        genuine = (
            isinstance(code, RotatingCode)
            and ticket is not None
            and code.ticket_id == ticket.ticket_id
            and verify_mac(code, event_keys)
        )
        if genuine:
            assert isinstance(code, RotatingCode)
            ttl_ms = policy.code_valid_until_ms(code.timestamp_ms) - now_ms
            if ttl_ms > 0:  # an expired code is refused as such by the writer
                nonce_key = self.keys.nonce(tenant_id, code.nonce)
        admitted_key = None
        if ticket is not None and not policy.reentry_allowed:
            admitted_key = self.keys.admitted(tenant_id, ticket.event_id, ticket.ticket_id)
        if rate_per_minute is None and nonce_key is None and admitted_key is None:
            return _NOTHING
        keys: list[str] = []
        if rate_per_minute is not None:
            keys.extend(self.keys.scan_rate(tenant_id, rate_limit_unit(scanner), rate_per_minute))
        if nonce_key is not None:
            keys.append(nonce_key)
        if admitted_key is not None:
            keys.append(admitted_key)
        args = [rate_per_minute or 0, ttl_ms if nonce_key else 0, int(admitted_key is not None)]
        answer: Any = self.link.run(lambda _client: self._script(keys=keys, args=args), None)
        if not isinstance(answer, list) or not answer:
            return _NOTHING  # Redis failed: the caller limits in memory, the writer decides
        if answer[0] == 0:
            wait_s = max(1, -(-int(answer[1]) // 1000))
            return Precheck(deny(Reason.RATE_LIMITED)._replace(retry_after_s=wait_s), None, True)
        claimed = answer[1] == 1
        if ticket is None:
            return Precheck(None, None, rate_per_minute is not None)
        last = decode_admission(answer[2]) if admitted_key is not None else None
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
        counted = rate_per_minute is not None
        if decision.reason in _SHARED_REASONS:
            self.refused[decision.reason] += 1
            return Precheck(decision, own_claim, counted)
        return Precheck(None, own_claim, counted)

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
