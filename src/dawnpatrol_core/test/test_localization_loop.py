"""The localization node's loop (LocalizationLoop): odometry at each scan, weighting gated by
motion or the idle period, unusable scans dropped without losing the motion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_localization_particle_filter import ANGLE_INC, ANGLE_MIN, MOUNT, _filter, ray_march

from dawnpatrol_core.errors import ConfigError, SensorError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.localization.loop import LocalizationLoop, LoopConfig


def counted(loop: LocalizationLoop) -> list[float]:
    """Times at which the loop asked the filter to weight a scan."""
    calls: list[float] = []
    inner = loop.pf.update_scan

    def spy(*args: object) -> bool:
        calls.append(float(args[-1]))  # type: ignore[arg-type]
        return inner(*args)  # type: ignore[arg-type]

    loop.pf.update_scan = spy  # type: ignore[method-assign]
    return calls


def test_tracks_a_drive_and_weights_only_after_motion_or_the_idle_period() -> None:
    pf = _filter(3, update_min_d=0.2, update_min_a=0.2)
    truth = Pose2D(10.0, 3.5, 0.0)
    pf.init_pose(Pose2D(10.2, 3.4, 0.05), np.diag([0.05, 0.05, 0.01]))
    loop = LocalizationLoop(pf, LoopConfig(MOUNT, idle_period_s=1.0))
    calls = counted(loop)
    rng = np.random.default_rng(4)
    odom, t = Pose2D(0.0, 0.0, 0.0), 0.0
    move = Pose2D(0.1, 0.0, 0.1 / 3.0)  # 0.1 m per scan: weighted every 2nd (update_min_d 0.2)
    for _ in range(60):
        truth, odom, t = truth.compose(move), odom.compose(move), round(t + 0.1, 6)
        loop.scan(odom, ray_march(pf.grid, truth) + rng.normal(0, 0.01, 360), ANGLE_MIN,
                  ANGLE_INC, 0.1, 20.0, t)
    est = loop.estimate.pose
    assert math.hypot(est.x - truth.x, est.y - truth.y) < 0.1
    assert 25 <= len(calls) <= 35
    n = len(calls)
    for _ in range(30):  # standing still for 3 s: a weighting per idle period
        t = round(t + 0.1, 6)
        loop.scan(odom, ray_march(pf.grid, truth), ANGLE_MIN, ANGLE_INC, 0.1, 20.0, t)
    assert len(calls) - n == 3


def test_an_unusable_scan_is_reported_and_its_motion_kept() -> None:
    pf = _filter(5)
    truth = Pose2D(7.0, 6.0, 0.0)
    pf.init_pose(truth, np.diag([1e-4, 1e-4, 1e-5]))
    loop = LocalizationLoop(pf, LoopConfig(MOUNT, 1.0))
    loop.restart(Pose2D(0.0, 0.0, 0.0))
    with pytest.raises(SensorError, match="usable"):
        loop.scan(Pose2D(0.5, 0.0, 0.0), np.full(360, np.nan), ANGLE_MIN, ANGLE_INC, 0.1, 20.0,
                  0.1)
    assert loop.estimate.pose.x == pytest.approx(7.5, abs=0.1)  # predicted all the same
    moved = truth.compose(Pose2D(0.5, 0.0, 0.0))
    loop.scan(Pose2D(0.5, 0.0, 0.0), ray_march(pf.grid, moved), ANGLE_MIN, ANGLE_INC, 0.1,
              20.0, 0.2)
    assert loop.estimate.pose.x == pytest.approx(7.5, abs=0.1)


def test_loop_config_from_params() -> None:
    cfg = LoopConfig.from_params({"lidar_x": 0.25, "idle_update_period": 2, "seed": 4})
    assert cfg == LoopConfig(Pose2D(0.25, 0.0, 0.0), 2.0)
    with pytest.raises(ConfigError, match=r"^loc.yaml: parameter 'idle_update_period': got "
                       r"0.0, expected a number in \[0.05, 60\]$"):
        LoopConfig.from_params({"idle_update_period": 0.0}, "loc.yaml")
