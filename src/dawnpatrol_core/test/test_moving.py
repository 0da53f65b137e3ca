"""Tests for the navigator's moving-obstacle tracking, prediction and giving way."""

from __future__ import annotations

import math

import numpy as np
from disc_scan import scan_of

from dawnpatrol_core.control.moving import EvadeConfig, Mover, MovingObstacles, evade
from dawnpatrol_core.geometry import Pose2D


def test_a_walking_person_is_a_mover_and_a_standing_one_is_not() -> None:
    mo = MovingObstacles()
    pose = Pose2D(0.0, 0.0, 0.5)
    for k in range(15):  # 1.5 s at 10 Hz: one walks +x at 1.2 m/s, one stands
        t = 0.1 * k
        mo.update(t, pose, *scan_of(pose, [(2.0 + 1.2 * t, 4.0, 0.25), (5.0, -3.0, 0.25)]))
    movers = mo.movers()
    assert len(movers) == 1
    m = movers[0]
    assert abs(m.y - 4.0) < 0.3 and abs(m.vx - 1.2) < 0.3 and abs(m.vy) < 0.3
    # Predicted discs run ahead of it along its velocity (robot frame -> map frame back).
    pts = mo.predicted(pose)
    c, s = math.cos(pose.theta), math.sin(pose.theta)
    wx = pose.x + c * pts[:, 0] - s * pts[:, 1]
    assert wx.max() > m.x + 2.0 and wx.min() > m.x - 0.5
    assert len(mo.predicted(pose, exclude={m.id})) == 0


def test_evade_gives_way_only_when_a_mover_would_touch() -> None:
    cfg = EvadeConfig()
    pose = Pose2D(0.0, 0.0, 0.0)
    nothing = np.zeros((0, 2))
    # Walking past 2.5 m to the side: no change.
    by = (Mover(1, 4.0, 2.5, -1.2, 0.0),)
    assert evade(by, pose, 0.0, (0.8, 0.0), nothing, cfg) is None
    # Walking straight at the robot, which stands: it moves so as to keep more clearance than
    # standing would, and never drives into the wall of returns on its left.
    at = (Mover(2, 3.5, 0.1, -1.0, 0.0),)
    wall = np.column_stack((np.linspace(-1.0, 2.0, 31), np.full(31, 0.55)))
    got = evade(at, pose, 0.0, (0.0, 0.0), wall, cfg)
    assert got is not None
    v, w, keep = got
    stand = evade(at, pose, 0.0, (0.0, 0.0), wall, EvadeConfig(speeds=(0.0,), turns=(0.0,)))
    assert stand is not None and keep > stand[2]
    assert not (v > 0.0 and w > 0.0)  # forward-left would hit the wall
