"""SE(2) helpers: composition round trips and the unicycle arc used for latency compensation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dawnpatrol_core.geometry import Pose2D, drive_arc, wrap_angle

finite = st.floats(-100.0, 100.0)
angle = st.floats(-math.pi, math.pi)


@given(finite, finite, angle, finite, finite, angle)
def test_relative_to_undoes_compose(x: float, y: float, t: float, a: float, b: float,
                                    c: float) -> None:
    base, rel = Pose2D(x, y, t), Pose2D(a, b, c)
    back = base.compose(rel).relative_to(base)
    assert back.x == pytest.approx(a, abs=1e-6) and back.y == pytest.approx(b, abs=1e-6)
    assert wrap_angle(back.theta - c) == pytest.approx(0.0, abs=1e-9)


def test_drive_arc_straight_and_quarter_circle() -> None:
    p = drive_arc(Pose2D(1.0, 2.0, math.pi / 2), 1.5, 0.0, 2.0)
    assert p.as_tuple() == pytest.approx((1.0, 5.0, math.pi / 2))
    # 1 m/s at 0.5 rad/s: a 2 m radius; after pi s a quarter turn, at (2, 2) from (0, 0)
    q = drive_arc(Pose2D(0.0, 0.0, 0.0), 1.0, 0.5, math.pi)
    assert q.as_tuple() == pytest.approx((2.0, 2.0, math.pi / 2))


@given(st.floats(-2.0, 2.0), st.floats(-1.5, 1.5), st.floats(0.0, 1.0))
def test_drive_arc_matches_fine_integration(v: float, w: float, dt: float) -> None:
    p, n = Pose2D(3.0, -1.0, 0.4), 2000
    for _ in range(n):
        p = Pose2D(p.x + v * dt / n * math.cos(p.theta + w * dt / n / 2),
                   p.y + v * dt / n * math.sin(p.theta + w * dt / n / 2), p.theta + w * dt / n)
    q = drive_arc(Pose2D(3.0, -1.0, 0.4), v, w, dt)
    assert q.distance_to(p) < 1e-6
    assert wrap_angle(q.theta - p.theta) == pytest.approx(0.0, abs=1e-9)
