"""Tests for the speed governor: robot and zone clamps, ramps, look-ahead slow-down, keep-out."""

from __future__ import annotations

import pytest

from dawnpatrol_core.control.zone_rules import PointwiseZoneRules
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.safety.governor import GovernorConfig, SpeedGovernor


class Strip(PointwiseZoneRules):
    """x < 10: 1.5 m/s; 10 <= x < 20: school zone 0.5 m/s; x >= 30: keep-out."""

    def speed_limit_at(self, x: float, y: float) -> float:
        return 0.5 if 10.0 <= x < 20.0 else 1.5

    def is_allowed(self, x: float, y: float) -> bool:
        return x < 30.0


def test_clamps_to_robot_max_and_reverse() -> None:
    gov = SpeedGovernor(GovernorConfig(max_speed=1.5, max_accel=100.0, max_reverse=0.3))
    cmd = gov.filter(0.0, 3.0, 5.0, Pose2D(0, 0))
    assert cmd.v == pytest.approx(1.5)
    assert "robot limit" in cmd.reason
    gov2 = SpeedGovernor(GovernorConfig(max_decel=100.0, stop_decel=100.0, max_accel=100.0))
    assert gov2.filter(0.0, -1.0, 0.0, Pose2D(0, 0)).v == pytest.approx(-0.3)


def test_clamps_per_zone() -> None:
    gov = SpeedGovernor(GovernorConfig(max_accel=100.0), zones=Strip())
    gov.reset(v=0.5)
    cmd = gov.filter(0.0, 1.5, 0.0, Pose2D(15.0, 0.0))
    assert cmd.v == pytest.approx(0.5)
    assert cmd.reason == "zone limit 0.50 m/s"
    assert gov.filter(0.1, 1.5, 0.0, Pose2D(25.0, 0.0, 3.14159)).v == pytest.approx(1.5)


def test_acceleration_ramp() -> None:
    gov = SpeedGovernor(GovernorConfig(max_accel=1.0, period=0.1))
    vs = [gov.filter(0.1 * k, 1.5, 0.0, Pose2D(0, 0)).v for k in range(20)]
    assert vs[:3] == pytest.approx([0.1, 0.2, 0.3])
    assert vs[-1] == pytest.approx(1.5)


def test_never_above_zone_limit_when_driving_into_school_zone() -> None:
    zones = Strip()
    gov = SpeedGovernor(GovernorConfig(max_decel=1.5), zones=zones)
    gov.reset(v=1.5)
    x, dt = 0.0, 0.1
    for k in range(600):
        cmd = gov.filter(k * dt, 1.5, 0.0, Pose2D(x, 0.0))
        x += cmd.v * dt
        assert cmd.v <= zones.speed_limit_at(x, 0.0) + 1e-9
    # ... and it stops short of the keep-out at x = 30 with the margin.
    assert 29.0 < x < 30.0


def test_pose_margin_meets_a_zone_with_an_estimated_pose_that_lags() -> None:
    # The estimate trails the true position by 0.4 m (localization): with pose_margin 0.5 the
    # true speed is within the school zone's limit all the way in; without it, it is not.
    zones = Strip()

    def worst_excess(margin: float) -> float:
        gov = SpeedGovernor(GovernorConfig(max_decel=1.5, pose_margin=margin), zones=zones)
        gov.reset(v=1.5)
        x, dt, worst = 0.0, 0.1, 0.0
        for k in range(150):
            cmd = gov.filter(k * dt, 1.5, 0.0, Pose2D(x - 0.4, 0.0))
            x += cmd.v * dt
            worst = max(worst, cmd.v - zones.speed_limit_at(x, 0.0))
        return worst

    assert worst_excess(0.5) <= 1e-9
    assert worst_excess(0.0) > 0.1
    with pytest.raises(ConfigError, match="pose_margin"):
        GovernorConfig(pose_margin=-1.0)


def test_reversing_stops_short_of_a_keep_out_behind() -> None:
    # Facing away from the keep-out at x = 30 and backing towards it (a robot backing out of
    # a doorway): the rule holds behind the robot too.
    zones = Strip()
    gov = SpeedGovernor(GovernorConfig(max_reverse=0.3), zones=zones)
    x, dt = 28.0, 0.1
    for k in range(300):
        cmd = gov.filter(k * dt, -0.3, 0.0, Pose2D(x, 0.0, 3.14159))
        x -= cmd.v * dt  # heading -x: a negative speed moves +x
        assert zones.is_allowed(x, 0.0)
    assert 29.0 < x < 30.0 and "keep-out behind" in cmd.reason


def test_non_finite_command_becomes_zero() -> None:
    gov = SpeedGovernor(GovernorConfig(max_decel=100.0))
    cmd = gov.filter(0.0, float("nan"), 0.0, Pose2D(0, 0))
    assert cmd.v == 0.0 and "non-finite" in cmd.reason


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="max_speed"):
        GovernorConfig(max_speed=-1.0)
