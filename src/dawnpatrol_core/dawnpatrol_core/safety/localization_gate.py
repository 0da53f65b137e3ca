"""Localization gate: no motion while localization is LOST (keep-out zones and the operating area
cannot be enforced without a pose); a goal waits for recovery, and fails if it does not come."""

from __future__ import annotations

import math
from enum import Enum

from dawnpatrol_core.errors import ConfigError


class Gate(Enum):
    """What the navigator may do with its goal now."""

    OPEN = "open"          # localized: drive
    HOLD = "hold"          # LOST: stand still, keep the goal
    EXPIRED = "expired"    # LOST for longer than the timeout: give the goal up


class LocalizationGate:
    """Tracks LOST periods reported by localization health.

    ``update(now, lost)`` records the latest health; ``state(now)`` says whether to drive, hold
    or give up.
    """

    def __init__(self, timeout: float) -> None:
        if not (math.isfinite(timeout) and timeout > 0.0):
            raise ConfigError(f"localization gate: field 'timeout': got {timeout!r}, expected "
                              "> 0 seconds")
        self.timeout = timeout
        self._lost_since: float | None = None

    @property
    def lost(self) -> bool:
        return self._lost_since is not None

    def update(self, now: float, lost: bool) -> None:
        """Record the health at ``now`` (s): ``lost`` True while localization reports LOST."""
        if lost and self._lost_since is None:
            self._lost_since = now
        elif not lost:
            self._lost_since = None

    def state(self, now: float) -> Gate:
        if self._lost_since is None:
            return Gate.OPEN
        return Gate.EXPIRED if now - self._lost_since > self.timeout else Gate.HOLD

    def lost_for(self, now: float) -> float:
        """Seconds LOST at ``now`` (0 when localized)."""
        return 0.0 if self._lost_since is None else max(0.0, now - self._lost_since)
