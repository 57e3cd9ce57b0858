"""A bound on the audit rows refused requests write: no audit flood.

Every 403 writes an audit row, so a caller looping on a forbidden route could grow the
audit log without bound (and hide earlier rows from `GET /api/audit`'s newest-first
page). Per caller (tenant and subject), at most ``per_window`` refusals are recorded
each ``window_ms``; the first row recorded after a window with more carries how many
were left out. The refusals themselves still happen, every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["DenialBudget"]

PER_WINDOW = 20
WINDOW_MS = 60_000
_KEYS_KEPT = 10_000


class DenialBudget:
    """Decides which refusals of a caller get an audit row (thread-safe)."""

    def __init__(self, per_window: int = PER_WINDOW, window_ms: int = WINDOW_MS) -> None:
        self.per_window = per_window
        self.window_ms = window_ms
        self._lock = threading.Lock()
        # caller -> [window start, recorded in window, left out so far]
        self._callers: OrderedDict[tuple[str, str], list[int]] = OrderedDict()

    def admit(self, tenant_id: str, subject: str, now_ms: int) -> tuple[bool, int]:
        """(record this refusal?, how many earlier ones were left out, to say so in it)."""
        key = (tenant_id, subject)
        with self._lock:
            state = self._callers.get(key)
            if state is None or now_ms - state[0] >= self.window_ms:
                left_out = 0 if state is None else state[2]
                state = [now_ms, 0, left_out]
                self._callers[key] = state
            self._callers.move_to_end(key)
            while len(self._callers) > _KEYS_KEPT:
                self._callers.popitem(last=False)
            if state[1] >= self.per_window:
                state[2] += 1
                return False, 0
            state[1] += 1
            left_out, state[2] = state[2], 0
            return True, left_out
