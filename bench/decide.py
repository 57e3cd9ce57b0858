"""Throughput of parse_code() + decide() on one core, against one raw HMAC verification.

Prints `name=value` lines: decide_per_s, hmac_verify_per_s and their ratio decide_vs_hmac
(the share of a bare HMAC check's speed that a whole decision keeps). The mix is what a
busy entry lane sees: mostly first scans, some duplicates, forgeries, expired codes and
tickets for another event.
"""

from __future__ import annotations

import hmac
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from scanctl.core import (
    Direction,
    EventFacts,
    PastScan,
    Policy,
    ScannerContext,
    TicketFacts,
    decide,
    derive_event_key,
    mint_token,
    parse_code,
)

SECRET = os.urandom(32).hex()
TENANT, VENUE, EVENT, OTHER = "tenant-1", "venue-1", "event-1", "event-2"
NOW = 1_764_320_000_000
KEY = derive_event_key(SECRET, TENANT, EVENT)
MIX = {"valid": 0.70, "duplicate": 0.12, "forged": 0.08, "expired": 0.05, "wrong_event": 0.05}
SAMPLES = 20_000
SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Sample:
    token: str
    ticket: TicketFacts
    history: tuple[PastScan, ...]


def make_samples(rng: random.Random) -> list[Sample]:
    forged_key = derive_event_key(os.urandom(32).hex(), TENANT, EVENT)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=SAMPLES)
    samples = []
    for index, kind in enumerate(kinds):
        ticket_id = f"{index:08x}"
        ticket = TicketFacts(ticket_id, OTHER if kind == "wrong_event" else EVENT)
        minted_at = NOW - 60_000 if kind == "expired" else NOW - 2_000
        key = forged_key if kind == "forged" else KEY
        token = mint_token(key, ticket_id, minted_at, os.urandom(8).hex())
        history = (PastScan(NOW - 30_000, "north", Direction.ENTRY),) if kind == "duplicate" else ()
        samples.append(Sample(token, ticket, history))
    return samples


def rate(run_once: Callable[[], int]) -> float:
    """Operations per second of run_once (which returns how many it did), over SECONDS."""
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS:
        done += run_once()
    return done / elapsed


def main() -> None:
    samples = make_samples(random.Random(7))
    event = EventFacts(EVENT, TENANT, VENUE, NOW, NOW + 4 * 3_600_000)
    policy, scanner, keys = Policy(), ScannerContext("device-1", VENUE, "north"), (KEY,)

    def decide_all() -> int:
        for sample in samples:
            decide(
                parse_code(sample.token),
                ticket=sample.ticket,
                event=event,
                policy=policy,
                history=sample.history,
                scanner=scanner,
                now_ms=NOW,
                event_keys=keys,
            )
        return len(samples)

    messages = [sample.token.rsplit(":", 1) for sample in samples]

    def verify_all() -> int:
        for signed, mac in messages:
            expected = hmac.digest(KEY, signed.encode(), "sha256").hex()
            hmac.compare_digest(expected.encode(), mac.encode())
        return len(messages)

    decide_per_s = rate(decide_all)
    hmac_per_s = rate(verify_all)
    print(f"decide_per_s={decide_per_s:.0f}")
    print(f"hmac_verify_per_s={hmac_per_s:.0f}")
    print(f"decide_vs_hmac={decide_per_s / hmac_per_s:.3f}")


if __name__ == "__main__":
    main()
