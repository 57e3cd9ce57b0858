"""The gate's in-memory view of what has happened: ticket histories, nonces, rate limits.

Seeded from the journal at start and updated the moment a decision is made (before it
is committed), so the next scan — a millisecond later, at the next lane — already sees
it. Passes learnt from elsewhere (the backend, later peer gates) are merged in the same
way, so one ticket's history is one list whatever its source.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence

from scanctl.core import Direction, PastScan
from scanctl.daemon.windows import SlidingWindows

__all__ = ["GateState", "SlidingWindowLimiter"]

_NO_HISTORY: tuple[PastScan, ...] = ()


class GateState:
    """Ticket histories (oldest first), the nonces seen, and who is inside.

    Presence is kept up to date pass by pass (``entered``: tickets admitted at least
    once; ``inside_by_gate``: tickets whose latest pass is an entry, by that entry's
    gate), so the supervisor's totals never need a walk over every ticket.
    """

    def __init__(
        self,
        history: dict[str, list[PastScan]] | None = None,
        nonces: dict[str, int] | None = None,
    ) -> None:
        self._history = history or {}
        self._nonces = nonces or {}
        self.entered: set[str] = set()
        self._inside_at: dict[str, str] = {}
        self.inside_by_gate: Counter[str] = Counter()
        for ticket_id, passes in self._history.items():
            if any(p.direction is Direction.ENTRY for p in passes):
                self.entered.add(ticket_id)
            self._update_inside(ticket_id, passes)

    def history(self, ticket_id: str) -> Sequence[PastScan]:
        return self._history.get(ticket_id, _NO_HISTORY)

    def add_pass(self, ticket_id: str, past: PastScan) -> None:
        """Record a pass, keeping the history in time order (peers may report late)."""
        passes = self._history.setdefault(ticket_id, [])
        if not passes or passes[-1].at_ms <= past.at_ms:
            passes.append(past)
        else:
            bisect.insort(passes, past, key=lambda p: p.at_ms)
        if past.direction is Direction.ENTRY:
            self.entered.add(ticket_id)
        self._update_inside(ticket_id, passes)

    def _update_inside(self, ticket_id: str, passes: Sequence[PastScan]) -> None:
        was = self._inside_at.pop(ticket_id, None)
        if was is not None:
            self.inside_by_gate[was] -= 1
        latest = passes[-1] if passes else None
        if latest is not None and latest.direction is Direction.ENTRY:
            self._inside_at[ticket_id] = latest.gate
            self.inside_by_gate[latest.gate] += 1

    def inside(self) -> list[str]:
        """The tickets whose latest pass is an entry (who is inside now)."""
        return list(self._inside_at)

    def nonce_seen(self, nonce: str, now_ms: int) -> bool:
        expires = self._nonces.get(nonce)
        return expires is not None and expires > now_ms

    def remember_nonce(self, nonce: str, expires_at_ms: int) -> None:
        self._nonces[nonce] = expires_at_ms

    def forget_expired_nonces(self, now_ms: int) -> int:
        expired = [nonce for nonce, expires in self._nonces.items() if expires <= now_ms]
        for nonce in expired:
            del self._nonces[nonce]
        return len(expired)

    @property
    def tickets_seen(self) -> int:
        return len(self._history)


class SlidingWindowLimiter:
    """At most ``limit`` events per ``window_ms`` for one key (a scanner)."""

    def __init__(self, limit: int, window_ms: int = 60_000) -> None:
        self.limit = limit
        self._windows = SlidingWindows(window_ms)

    def allow(self, key: str, now_ms: int) -> bool:
        """Count this event and say whether it is within the limit (refusals do not count)."""
        if self._windows.count(key, now_ms) >= self.limit:
            return False
        self._windows.add(key, now_ms)
        return True
