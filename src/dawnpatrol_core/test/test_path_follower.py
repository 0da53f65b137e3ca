"""Tests for regulated pure pursuit, closed in a kinematic unicycle loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_core.control.path_follower import FollowerConfig, PathFollower
from dawnpatrol_core.errors import PlanningError
from dawnpatrol_core.geometry import Pose2D, wrap_angle


def drive(
    follower: PathFollower, pose: Pose2D, cap: float = math.inf, steps: int = 2000, dt: float = 0.1
) -> tuple[Pose2D, list[float], list[float], bool]:
    """Integrate the unicycle under the follower; returns final pose, speeds, cross-track, done."""
    v = 0.0
    speeds: list[float] = []
    xs: list[tuple[float, float]] = []
    for _ in range(steps):
        cmd = follower.step(pose, v, speed_cap=cap)
        if cmd.done:
            return pose, speeds, [p[1] for p in xs], True
        v = cmd.v
        speeds.append(v)
        th = pose.theta + cmd.w * dt
        pose = Pose2D(pose.x + v * math.cos(th) * dt, pose.y + v * math.sin(th) * dt,
                      wrap_angle(th))
        xs.append((pose.x, pose.y))
    return pose, speeds, [p[1] for p in xs], False


def test_converges_onto_a_straight_line_from_an_offset() -> None:
    path = np.array([[0.0, 0.0], [30.0, 0.0]])
    f = PathFollower(path, config=FollowerConfig(max_speed=1.5))
    pose, speeds, ys, done = drive(f, Pose2D(0.0, 1.0, 0.0))
    assert done
    assert math.hypot(pose.x - 30.0, pose.y) <= 0.25
    assert max(speeds) <= 1.5 + 1e-12
    # Settles: the last 10 m are within 5 cm of the line.
    assert max(abs(y) for y in ys[-60:]) < 0.05


def test_follows_a_curve_and_slows_in_the_bend() -> None:
    # Quarter circle of radius 1.5 m (tighter than min_radius 3 m) between two straights.
    ang = np.linspace(-math.pi / 2, 0.0, 30)
    arc = np.column_stack((10.0 + 1.5 * np.cos(ang), 1.5 + 1.5 * np.sin(ang)))
    path = np.vstack(([[0.0, 0.0]], arc, [[11.5, 12.0]]))
    f = PathFollower(path, goal_heading=math.pi / 2)
    pose, speeds, ys, done = drive(f, Pose2D(0.0, 0.0, 0.0))
    assert done
    assert math.hypot(pose.x - 11.5, pose.y - 12.0) <= 0.25
    assert abs(wrap_angle(pose.theta - math.pi / 2)) <= 0.25
    bend = [v for v, y in zip(speeds, ys, strict=True) if 0.3 < y < 3.0]
    assert min(bend) < 1.2  # regulated down in the bend
    assert max(speeds) <= 1.5


def test_never_exceeds_the_speed_cap() -> None:
    path = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    f = PathFollower(path)
    _, speeds, _, done = drive(f, Pose2D(0.0, 0.0, 0.0), cap=0.6)
    assert done
    assert max(speeds) <= 0.6


def test_turns_in_place_when_facing_away() -> None:
    f = PathFollower(np.array([[0.0, 0.0], [10.0, 0.0]]))
    cmd = f.step(Pose2D(0.0, 0.0, math.pi), 0.0)
    assert cmd.v == 0.0 and cmd.w != 0.0 and cmd.reason == "turning to path"


def test_approach_slows_near_goal() -> None:
    f = PathFollower(np.array([[0.0, 0.0], [10.0, 0.0]]))
    cmd = f.step(Pose2D(9.25, 0.0, 0.0), 0.5)
    assert cmd.reason == "approaching goal"
    assert cmd.v == pytest.approx(1.5 * 0.75 / 1.5)


def test_bad_path() -> None:
    with pytest.raises(PlanningError, match="field 'path'"):
        PathFollower(np.zeros((3, 3)))
