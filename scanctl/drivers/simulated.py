"""The simulated scanner: realistic arrivals and a chosen mix of good and bad codes, repeatably."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum

from scanctl.core import RawScan, mint_token
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.errors import DriverConfigError

__all__ = [
    "ArrivalCurve",
    "CodeKind",
    "CodeMixer",
    "ScanMix",
    "SimulatedScanner",
    "SimulatedTickets",
]

_REPLAY_MEMORY = 1000  # screenshots get passed around soon after they are taken
_IDLE_STEP_S = 1.0  # how far simulated time moves on while the rate is zero
_IDLE_LIMIT_S = 86_400.0  # a day without arrivals: the curve has ended


class CodeKind(StrEnum):
    """What a simulated code is, and so what the gate should decide for it."""

    VALID = "valid"  # a fresh code for a ticket not yet used: ADMITTED
    DUPLICATE = "duplicate"  # a fresh code for a ticket already used: ALREADY_SCANNED
    REPLAYED = "replayed"  # the very same code again (a screenshot): QR_ALREADY_USED
    FORGED = "forged"  # a real ticket id with a MAC no key made: INVALID
    REFUNDED = "refunded"  # a genuine code for a refunded ticket: TICKET_REFUNDED
    WRONG_EVENT = "wrong_event"  # a genuine code of another event: WRONG_EVENT


# At an exit lane nearly every code is someone inside leaving; now and then a forged one.
_EXIT_MIX = {CodeKind.VALID: 0.98, CodeKind.FORGED: 0.02}


@dataclass(frozen=True, slots=True)
class ScanMix:
    """Relative weights of each kind of code (they need not add up to one)."""

    valid: float = 0.86
    duplicate: float = 0.04
    replayed: float = 0.03
    forged: float = 0.02
    refunded: float = 0.03
    wrong_event: float = 0.02

    def __post_init__(self) -> None:
        weights = [getattr(self, f.name) for f in fields(self)]
        if any(not w >= 0 for w in weights) or not sum(weights) > 0:
            raise DriverConfigError("mix weights must be non-negative and not all zero")

    def weights(self) -> dict[CodeKind, float]:
        """Weight per kind."""
        return {CodeKind(f.name): float(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class SimulatedTickets:
    """The ticket ids to draw from, per category, and the other event's key.

    ``valid`` tickets belong to the event (each is admitted once, then only ever comes
    back as a duplicate); ``refunded`` ones are in the manifest as refunded;
    ``wrong_event`` ones belong to another event whose codes ``wrong_event_key`` signs.
    """

    valid: Sequence[str]
    refunded: Sequence[str] = ()
    wrong_event: Sequence[str] = ()
    wrong_event_key: bytes | None = None
    inside: Callable[[], Sequence[str]] | None = None
    """An exit lane's people: the tickets inside right now (the gate's own record).
    When given, a valid code is for one of them, so an exit lets out someone who came
    in; while nobody is inside the lane stays quiet (there is no one to leave)."""


@dataclass(frozen=True, slots=True)
class ArrivalCurve:
    """Scans per second at ``t`` seconds after doors open, peaking at ``peak_per_s``.

    Two humps, as at a real door: the queue that formed before doors open is scanned
    in a rush right at opening (``rush_share`` of the peak, decaying over
    ``rush_decay_s``), then the main wave of arrivals peaks ``peak_before_start_s``
    before the show starts (``show_start_s`` after doors) and tails off after it, with
    a trickle of late-comers (``base_per_s``).
    """

    peak_per_s: float = 5.0
    show_start_s: float = 5400.0
    peak_before_start_s: float = 900.0
    spread_s: float = 1200.0
    rush_share: float = 0.6
    rush_decay_s: float = 300.0
    base_per_s: float = 0.02

    def __post_init__(self) -> None:
        if not self.peak_per_s > 0 or self.spread_s <= 0 or self.rush_decay_s <= 0:
            raise DriverConfigError("the arrival curve needs a positive peak, spread and decay")

    def __call__(self, t: float) -> float:
        if t < 0:
            return 0.0
        main_at = self.show_start_s - self.peak_before_start_s
        main = math.exp(-0.5 * ((t - main_at) / self.spread_s) ** 2)
        rush = self.rush_share * math.exp(-t / self.rush_decay_s)
        return self.base_per_s + (self.peak_per_s - self.base_per_s) * min(1.0, main + rush)


class CodeMixer:
    """Draws codes of each kind in the proportions of a mix. Pure and deterministic.

    Nonces come from the seeded ``rng`` (not ``core.new_nonce``, which is truly random)
    so a run can be repeated code for code. When a kind cannot be drawn (no valid
    tickets left, nothing admitted yet to duplicate or replay, an empty category) the
    draw is repeated among the kinds that can.
    """

    def __init__(
        self,
        event_key: bytes,
        tickets: SimulatedTickets,
        mix: ScanMix | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        if not tickets.valid:
            raise DriverConfigError("the simulation needs at least one valid ticket id")
        if tickets.wrong_event and tickets.wrong_event_key is None:
            raise DriverConfigError("wrong-event tickets need the other event's key")
        self.event_key = event_key
        self.tickets = tickets
        self.rng = rng if rng is not None else random.Random(0)  # noqa: S311 - not secrets
        self._weights = (mix or ScanMix()).weights()
        self._unused = list(tickets.valid)
        self.rng.shuffle(self._unused)
        self._used: list[str] = []
        self._recent: deque[str] = deque(maxlen=_REPLAY_MEMORY)

    def next(self, now_ms: int) -> tuple[CodeKind, str] | None:
        """One code minted at wall-clock ``now_ms``, and what kind it is; None when an
        exit lane has nobody inside to let out."""
        if self.tickets.inside is not None:
            inside = self.tickets.inside()
            if not inside:
                return None
            kind = self.rng.choices(list(_EXIT_MIX), list(_EXIT_MIX.values()))[0]
            if kind is CodeKind.VALID:
                ticket = self.rng.choice(inside)
                return kind, self._mint(self.event_key, ticket, now_ms)
            return kind, self._draw(kind, now_ms)
        weights = {kind: w for kind, w in self._weights.items() if w > 0 and self._can(kind)}
        if not weights:  # everything admitted and nothing else asked for: duplicates
            weights = {CodeKind.DUPLICATE: 1.0}
        kind = self.rng.choices(list(weights), list(weights.values()))[0]
        return kind, self._draw(kind, now_ms)

    def _can(self, kind: CodeKind) -> bool:
        if kind is CodeKind.VALID:
            return bool(self._unused)
        if kind is CodeKind.DUPLICATE:
            return bool(self._used)
        if kind is CodeKind.REPLAYED:
            return bool(self._recent)
        if kind is CodeKind.REFUNDED:
            return bool(self.tickets.refunded)
        if kind is CodeKind.WRONG_EVENT:
            return bool(self.tickets.wrong_event)
        return True  # forged

    def _draw(self, kind: CodeKind, now_ms: int) -> str:
        if kind is CodeKind.REPLAYED:
            return self.rng.choice(self._recent)
        if kind is CodeKind.VALID:
            ticket = self._unused.pop()
            self._used.append(ticket)
            token = self._mint(self.event_key, ticket, now_ms)
            self._recent.append(token)
            return token
        if kind is CodeKind.DUPLICATE:
            return self._mint(self.event_key, self.rng.choice(self._used), now_ms)
        if kind is CodeKind.REFUNDED:
            return self._mint(self.event_key, self.rng.choice(self.tickets.refunded), now_ms)
        if kind is CodeKind.WRONG_EVENT:
            assert self.tickets.wrong_event_key is not None  # checked in __init__
            ticket = self.rng.choice(self.tickets.wrong_event)
            return self._mint(self.tickets.wrong_event_key, ticket, now_ms)
        genuine = self._mint(self.event_key, self.rng.choice(self.tickets.valid), now_ms)
        signed, _, mac = genuine.rpartition(":")
        forged = mac
        while forged == mac:
            forged = f"{self.rng.getrandbits(256):064x}"
        return f"{signed}:{forged}"

    def _mint(self, key: bytes, ticket: str, now_ms: int) -> str:
        return mint_token(key, ticket, now_ms, f"{self.rng.getrandbits(64):016x}")


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SimulatedScanner:
    """Yields scans of a ``CodeMixer`` at the times a rate function gives.

    ``rate(t)`` is scans per second at simulated second ``t`` (default: an
    ``ArrivalCurve``); gaps are drawn exponentially at the current rate, a close
    approximation while the rate changes slowly against the gaps. ``time_scale`` is
    simulated seconds per real second (60: an hour of doors in a minute);
    ``as_fast_as_possible`` drops the waiting altogether, for benchmarks. Scans are
    scheduled on an absolute timeline, so a late wake-up does not slow the run down.
    Iteration ends after ``max_scans`` scans or ``duration_s`` simulated seconds, when
    given, after a simulated day at rate zero, or at ``aclose()``. ``clock``, ``sleep``
    and ``wall_clock_ms`` (the mint time of codes) are injectable; ``kinds`` counts
    what was sent, ``last_kind`` says what the latest scan was.
    """

    def __init__(
        self,
        *,
        event_key: bytes,
        tickets: SimulatedTickets,
        name: str = "simulated",
        mix: ScanMix | None = None,
        rate: Callable[[float], float] | None = None,
        seed: int = 0,
        time_scale: float = 1.0,
        as_fast_as_possible: bool = False,
        max_scans: int | None = None,
        duration_s: float | None = None,
        symbology: str | None = "]Q1",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        wall_clock_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        if time_scale <= 0:
            raise DriverConfigError("time_scale must be positive")
        self.name = name
        self.counters = DriverCounters()
        self.kinds: Counter[CodeKind] = Counter()
        self.last_kind: CodeKind | None = None
        self.rate = rate if rate is not None else ArrivalCurve()
        self.time_scale = time_scale
        self.as_fast_as_possible = as_fast_as_possible
        self.max_scans = max_scans
        self.duration_s = duration_s
        self.symbology = symbology
        self._rng = random.Random(seed)  # noqa: S311 - a simulation, not secrets
        self._mixer = CodeMixer(event_key, tickets, mix, rng=self._rng)
        self._clock = clock
        self._sleep = sleep
        self._wall_clock_ms = wall_clock_ms
        self._sim_t = 0.0
        self._started_at: float | None = None
        self._sent = 0
        self._closed = False
        self._closing = asyncio.Event()

    @property
    def simulated_seconds(self) -> float:
        """Simulated time of the latest scan."""
        return self._sim_t

    def __aiter__(self) -> SimulatedScanner:
        return self

    async def __anext__(self) -> RawScan:
        if self._started_at is None:
            self._started_at = self._clock()
        while True:
            if self._closed or (self.max_scans is not None and self._sent >= self.max_scans):
                raise StopAsyncIteration
            arrival = self._next_arrival(self._sim_t)
            if arrival is None or (self.duration_s is not None and arrival > self.duration_s):
                raise StopAsyncIteration
            self._sim_t = arrival
            if self.as_fast_as_possible:
                await self._sleep(0)  # let the rest of the loop run between scans
            else:
                delay = self._started_at + self._sim_t / self.time_scale - self._clock()
                if delay > 0:
                    await self._wait(delay)
            if self._closed:
                raise StopAsyncIteration
            drawn = self._mixer.next(self._wall_clock_ms())
            if drawn is not None:  # None: an exit lane with nobody inside, nobody leaves
                break
        kind, token = drawn
        self._sent += 1
        self.kinds[kind] += 1
        self.last_kind = kind
        self.counters.frames_ok += 1
        return RawScan(token.encode("ascii"), self.symbology, self.name, self._clock())

    async def feedback(self, good: bool, *, warning: bool = False) -> bool:
        """Nothing to beep: no bytes are sent."""
        return False

    async def aclose(self) -> None:
        """Stop; a scan being waited for is not sent."""
        self._closed = True
        self._closing.set()

    def _next_arrival(self, t: float) -> float | None:
        """Simulated time of the next scan; None once the rate has stayed zero too long."""
        limit = t + _IDLE_LIMIT_S if self.duration_s is None else self.duration_s
        while t <= limit:
            rate = self.rate(t)
            if rate > 0:
                return t + self._rng.expovariate(rate)
            t += _IDLE_STEP_S
        return None

    async def _wait(self, delay: float) -> None:
        sleeper = asyncio.ensure_future(self._sleep(delay))
        closing = asyncio.ensure_future(self._closing.wait())
        await asyncio.wait((sleeper, closing), return_when=asyncio.FIRST_COMPLETED)
        sleeper.cancel()
        closing.cancel()
