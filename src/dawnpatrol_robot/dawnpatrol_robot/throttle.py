"""Rate limit for feedback streams: at most one message per period, except on a change of what
the message says (a new state is sent at once)."""

from __future__ import annotations

import math
from collections.abc import Hashable


class Throttle:
    """``due(now, key)`` is True when ``period`` s passed since the last True, or ``key`` (the
    message's state: task index, status, ...) differs from the last one sent."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._last = -math.inf
        self._key: Hashable = object()

    def due(self, now: float, key: Hashable = None) -> bool:
        if key == self._key and now - self._last < self.period:
            return False
        self._last, self._key = now, key
        return True
