"""Tests for the e-stop latch and its effect through the speed governor (kinematic loop)."""

from __future__ import annotations

import math

import pytest

from dawnpatrol_core.errors import SafetyError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.safety.estop import EStop
from dawnpatrol_core.safety.governor import GovernorConfig, SpeedGovernor


def test_latch_stays_until_resume_with_who_and_why() -> None:
    e = EStop()
    assert not e.engaged and e.reason == ""
    e.trigger(10.0, "operator kim", "crowd at crosswalk")
    assert e.engaged
    assert e.reason == "e-stop by operator kim: crowd at crosswalk"
    with pytest.raises(SafetyError, match="field 'who'/'why'"):
        e.resume(11.0, "", "ok")
    with pytest.raises(SafetyError):
        e.resume(11.0, "kim", "  ")
    assert e.engaged
    e.resume(12.0, "kim", "crosswalk clear")
    assert not e.engaged
    assert [(ev.time, ev.engaged) for ev in e.history] == [(10.0, True), (12.0, False)]


def test_estop_at_full_speed_stops_within_one_second_and_stays_stopped() -> None:
    estop = EStop()
    gov = SpeedGovernor(GovernorConfig(max_speed=1.5, stop_decel=2.5), estop=estop)
    dt = 0.05
    gov.reset(v=1.5)
    x, v, t = 0.0, 1.5, 0.0
    stopped_at = None
    for k in range(200):
        t = k * dt
        if k == 20:
            estop.trigger(t, "operator", "test")
        cmd = gov.filter(t, 1.5, 0.0, Pose2D(x, 0.0))
        v = cmd.v  # the robot tracks the governed command
        x += v * dt
        if k >= 20:
            assert cmd.stopped and cmd.reason.startswith("e-stop by operator")
        if k >= 20 and v == 0.0 and stopped_at is None:
            stopped_at = t
        if stopped_at is not None:
            assert v == 0.0
    assert stopped_at is not None
    assert stopped_at - 20 * dt <= 1.0
    # Braking distance at 2.5 m/s^2 from 1.5 m/s is 0.45 m; x before the stop was 30 * 0.05 * 1.5.
    assert x == pytest.approx(1.5 + 0.45, abs=0.1)
    estop.resume(t, "operator", "clear")
    assert gov.filter(t + dt, 1.5, 0.0, Pose2D(x, 0.0)).v > 0.0


def test_forced_stop_also_zeroes_rotation() -> None:
    estop = EStop()
    gov = SpeedGovernor(estop=estop)
    gov.reset(v=0.0, w=1.0)
    estop.trigger(0.0, "fleet", "link")
    ws = [gov.filter(0.1 * k, 0.0, 1.0, Pose2D(0, 0)).w for k in range(1, 10)]
    assert ws[-1] == 0.0
    assert all(math.isfinite(w) for w in ws)
