"""Differential-drive kinematics: exact arcs and limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_sim.engine.drive import DriveLimits, integrate_arc, limit_velocity


def test_arc_quarter_turn() -> None:
    x, y, th = integrate_arc(
        np.zeros(1), np.zeros(1), np.zeros(1), np.array([1.0]), np.array([0.5]), math.pi
    )  # quarter circle of radius 2
    assert (x[0], y[0], th[0]) == pytest.approx((2.0, 2.0, math.pi / 2))


def test_straight_line_when_no_turn() -> None:
    x, y, th = integrate_arc(
        np.array([1.0]), np.array([2.0]), np.array([math.pi / 2]), np.array([2.0]), np.zeros(1), 0.5
    )
    assert (x[0], y[0], th[0]) == pytest.approx((1.0, 3.0, math.pi / 2))


def test_limits_clip_speed_and_acceleration() -> None:
    lim = DriveLimits(max_speed=1.5, max_yaw_rate=1.0, max_accel=1.0, max_yaw_accel=2.0)
    v, w = limit_velocity(
        np.zeros(2), np.zeros(2), np.array([5.0, -0.05]), np.array([-9.0, 0.1]), lim, 0.1
    )
    assert v.tolist() == pytest.approx([0.1, -0.05])
    assert w.tolist() == pytest.approx([-0.2, 0.1])
    v, w = limit_velocity(
        np.array([1.45]), np.array([0.95]), np.array([5.0]), np.array([5.0]), lim, 0.1
    )
    assert (v[0], w[0]) == pytest.approx((1.5, 1.0))


def test_braking_uses_the_braking_limit_down_to_zero() -> None:
    lim = DriveLimits(max_speed=1.5, max_yaw_rate=1.0, max_accel=0.8, max_yaw_accel=2.0,
                      max_decel=2.0)
    v, _ = limit_velocity(np.array([1.5, 0.1, 0.5, -1.0]), np.zeros(4),
                          np.array([0.0, -1.0, 1.5, 0.0]), np.zeros(4), lim, 0.1)
    # braking at 2 m/s^2 stops at zero (reverse starts the next step); speeding up at 0.8
    assert v.tolist() == pytest.approx([1.3, 0.0, 0.58, -0.8])
