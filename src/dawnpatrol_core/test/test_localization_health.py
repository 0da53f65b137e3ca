"""Localization health state machine: thresholds, hysteresis and dwell times."""

from __future__ import annotations

from dawnpatrol_core.localization.health import HealthMonitor, HealthState, HealthThresholds

T = HealthThresholds(
    ok_score=0.4, ok_score_exit=0.5, lost_score=0.15, lost_score_exit=0.3,
    ok_spread=0.5, ok_spread_exit=0.3, lost_spread=3.0, lost_spread_exit=1.0,
    enter_dwell=1.0, exit_dwell=2.0,
)
GOOD = (0.1, 0.9)  # spread m, score


def _feed(m: HealthMonitor, spread: float, score: float, t0: float, t1: float,
          fault: bool = False) -> HealthState:
    state = m.state
    for i in range(round((t1 - t0) / 0.1) + 1):
        state = m.update(spread, score, round(t0 + 0.1 * i, 6), fault)
    return state


def test_starts_lost_and_recovers_only_after_exit_dwell() -> None:
    m = HealthMonitor(T)
    assert m.state is HealthState.LOST
    assert m.update(*GOOD, 0.0) is HealthState.LOST
    assert _feed(m, *GOOD, 0.1, 1.9) is HealthState.LOST
    assert m.update(*GOOD, 2.0) is HealthState.OK  # 2.0 s of good samples (skips DEGRADED)


def test_degrades_after_enter_dwell() -> None:
    m = HealthMonitor(T, HealthState.OK)
    assert _feed(m, 0.1, 0.35, 0.0, 0.9) is HealthState.OK
    assert m.update(0.1, 0.35, 1.0) is HealthState.DEGRADED


def test_short_dip_does_not_change_state() -> None:
    m = HealthMonitor(T, HealthState.OK)
    _feed(m, 0.1, 0.1, 0.0, 0.8)  # LOST-level for 0.8 s < enter dwell
    assert _feed(m, *GOOD, 0.9, 5.0) is HealthState.OK


def test_hysteresis_band_holds_current_state() -> None:
    m = HealthMonitor(T, HealthState.DEGRADED)
    # 0.45 is above the enter threshold (0.4) but below the exit threshold (0.5)
    assert _feed(m, 0.1, 0.45, 0.0, 10.0) is HealthState.DEGRADED
    m2 = HealthMonitor(T, HealthState.OK)
    assert _feed(m2, 0.1, 0.45, 0.0, 10.0) is HealthState.OK


def test_spread_drives_lost_and_back() -> None:
    m = HealthMonitor(T, HealthState.OK)
    assert _feed(m, 4.0, 0.9, 0.0, 1.0) is HealthState.LOST
    # spread 2.0 < lost enter (3.0) but > lost exit (1.0): stays LOST
    assert _feed(m, 2.0, 0.9, 1.1, 6.0) is HealthState.LOST
    # spread 0.4: leaves LOST, but 0.4 > ok exit (0.3): DEGRADED
    assert _feed(m, 0.4, 0.9, 6.1, 9.0) is HealthState.DEGRADED
    assert _feed(m, 0.2, 0.9, 9.1, 12.0) is HealthState.OK


def test_fault_forces_lost_at_once_and_exit_needs_dwell() -> None:
    m = HealthMonitor(T, HealthState.OK)
    assert m.update(*GOOD, 0.0, fault=True) is HealthState.LOST
    assert _feed(m, *GOOD, 0.1, 2.0) is HealthState.LOST
    assert m.update(*GOOD, 2.1) is HealthState.OK


def test_pending_change_restarts_when_candidate_changes() -> None:
    m = HealthMonitor(T, HealthState.OK)
    _feed(m, 0.1, 0.1, 0.0, 0.6)  # pending LOST since 0.0
    _feed(m, 0.1, 0.35, 0.7, 1.5)  # pending DEGRADED since 0.7
    assert m.state is HealthState.OK
    assert m.update(0.1, 0.35, 1.7) is HealthState.DEGRADED


def test_reset() -> None:
    m = HealthMonitor(T, HealthState.OK)
    m.reset(HealthState.LOST)
    assert m.state is HealthState.LOST
