"""Heartbeat watchdog: the robot stops when the fleet's heartbeat has been missing too long."""

from __future__ import annotations

import math

from dawnpatrol_core.errors import ConfigError


class HeartbeatWatchdog:
    """Trips when no heartbeat arrived for ``timeout`` seconds; clears when heartbeats return.

    Before the first heartbeat the watchdog counts from ``started_at`` (s), so a robot that never
    hears from the fleet stops after ``timeout`` too.
    """

    def __init__(self, timeout: float, started_at: float = 0.0) -> None:
        if not (math.isfinite(timeout) and timeout > 0.0):
            raise ConfigError(f"watchdog: field 'timeout': got {timeout!r}, expected > 0 seconds")
        self.timeout = timeout
        self._last = started_at

    @property
    def last_heartbeat(self) -> float:
        """Time (s) of the most recent heartbeat (or the start time if none yet)."""
        return self._last

    def beat(self, now: float) -> None:
        """Record a heartbeat received at ``now`` (s); older, out-of-order beats are ignored."""
        self._last = max(self._last, now)

    def tripped(self, now: float) -> bool:
        """True when the last heartbeat is more than ``timeout`` seconds old at ``now``."""
        return now - self._last > self.timeout

    def reason(self, now: float) -> str:
        """Why the watchdog is tripped at ``now`` ("" when it is not)."""
        if not self.tripped(now):
            return ""
        return f"watchdog: fleet heartbeat missing for {now - self._last:.1f} s"
