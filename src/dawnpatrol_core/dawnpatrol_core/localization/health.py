"""Localization health: OK / DEGRADED / LOST from particle spread and scan-match score.

A small state machine with separate enter/exit thresholds and dwell times, so the reported
state does not flicker when a measure hovers around a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class HealthState(StrEnum):
    """Localization health as reported to the operator."""

    OK = "OK"
    DEGRADED = "DEGRADED"
    LOST = "LOST"


_LEVEL = {HealthState.OK: 0, HealthState.DEGRADED: 1, HealthState.LOST: 2}
_STATE = {0: HealthState.OK, 1: HealthState.DEGRADED, 2: HealthState.LOST}


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """Thresholds (score in [0, 1], spread in m) and dwell times (s).

    Worse states are entered when ``score < *_score`` or ``spread > *_spread`` holds for
    ``enter_dwell``; left when ``score >= *_score_exit`` and ``spread <= *_spread_exit`` hold for
    ``exit_dwell``.
    """

    ok_score: float
    ok_score_exit: float
    lost_score: float
    lost_score_exit: float
    ok_spread: float
    ok_spread_exit: float
    lost_spread: float
    lost_spread_exit: float
    enter_dwell: float
    exit_dwell: float


class HealthMonitor:
    """Hysteresis state machine over (spread, score, external fault) samples; ``now`` in seconds."""

    def __init__(self, thresholds: HealthThresholds, state: HealthState = HealthState.LOST) -> None:
        self._t = thresholds
        self._level = _LEVEL[state]
        self._pending: int | None = None
        self._since = 0.0

    @property
    def state(self) -> HealthState:
        """The current reported state."""
        return _STATE[self._level]

    def reset(self, state: HealthState) -> None:
        """Force a state (e.g. after an initial pose is set) and drop any pending change."""
        self._level = _LEVEL[state]
        self._pending = None

    def _candidate(self, spread: float, score: float, fault: bool) -> int:
        t = self._t
        lost_enter = fault or score < t.lost_score or spread > t.lost_spread
        lost_exit = score >= t.lost_score_exit and spread <= t.lost_spread_exit
        degraded_enter = score < t.ok_score or spread > t.ok_spread
        ok_exit = score >= t.ok_score_exit and spread <= t.ok_spread_exit
        if lost_enter or (self._level == 2 and not lost_exit):
            return 2
        if degraded_enter or (self._level >= 1 and not ok_exit):
            return 1
        return 0

    def update(self, spread: float, score: float, now: float, fault: bool = False) -> HealthState:
        """Feed one sample: ``spread`` (m, 1-sigma position radius), ``score`` in [0, 1].

        ``fault`` (e.g. the cloud keeps disagreeing with GNSS; the caller debounces it) makes the
        state LOST at once, without the enter dwell.
        """
        if fault:
            self._level = 2
            self._pending = None
            return self.state
        cand = self._candidate(spread, score, fault)
        if cand == self._level:
            self._pending = None
            return self.state
        if cand != self._pending:
            self._pending = cand
            self._since = now
        dwell = self._t.enter_dwell if cand > self._level else self._t.exit_dwell
        if now - self._since >= dwell:
            self._level = cand
            self._pending = None
        return self.state
