"""Moments of the sampled odometry motion model against the closed-form expectations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.localization.motion_model import (
    OdometryDelta,
    odometry_delta,
    sample_motion_model_odometry,
)

N = 200_000


def test_delta_decomposition_forward_turn() -> None:
    d = odometry_delta(Pose2D(1.0, 1.0, 0.0), Pose2D(2.0, 2.0, math.pi / 2))
    assert d.rot1 == pytest.approx(math.pi / 4)
    assert d.trans == pytest.approx(math.sqrt(2.0))
    assert d.rot2 == pytest.approx(math.pi / 4)
    assert not d.reverse


def test_delta_reverse_is_not_a_half_turn() -> None:
    d = odometry_delta(Pose2D(0.0, 0.0, 0.0), Pose2D(-1.0, 0.0, 0.0))
    assert (d.rot1, d.trans, d.rot2, d.reverse) == (0.0, 1.0, 0.0, True)
    out = sample_motion_model_odometry(np.zeros((3, 3)), d, (0, 0, 0, 0), np.random.default_rng(0))
    np.testing.assert_allclose(out, [[-1.0, 0.0, 0.0]] * 3, atol=1e-12)


def test_delta_pure_rotation() -> None:
    d = odometry_delta(Pose2D(3.0, 4.0, 0.5), Pose2D(3.0, 4.0, 1.0))
    assert (d.rot1, d.trans) == (0.0, 0.0)
    assert d.rot2 == pytest.approx(0.5)


def test_noise_free_motion_is_exact_in_each_particle_frame() -> None:
    parts = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, math.pi / 2]])
    out = sample_motion_model_odometry(
        parts, OdometryDelta(0.0, 2.0, 0.1), (0, 0, 0, 0), np.random.default_rng(1)
    )
    np.testing.assert_allclose(out, [[2.0, 0.0, 0.1], [1.0, 4.0, math.pi / 2 + 0.1]], atol=1e-12)


def test_straight_motion_moments() -> None:
    a1, a2, a3, a4 = 0.01, 0.01, 0.04, 0.5
    out = sample_motion_model_odometry(
        np.zeros((N, 3)), OdometryDelta(0.0, 1.0, 0.0), (a1, a2, a3, a4), np.random.default_rng(2)
    )
    s2 = a2  # rot1 variance: a1*0 + a2*1²; trans variance a3 (a4 term is zero: no rotation)
    # x = t cos(rot1) with t ~ N(1, a3), rot1 ~ N(0, s2): E[cos] = exp(-s2/2).
    assert out[:, 0].mean() == pytest.approx(math.exp(-s2 / 2), abs=2e-3)
    ex2 = (1 + a3) * (1 + math.exp(-2 * s2)) / 2
    assert out[:, 0].var() == pytest.approx(ex2 - math.exp(-s2), rel=0.03)
    assert out[:, 1].mean() == pytest.approx(0.0, abs=2e-3)
    assert out[:, 1].var() == pytest.approx((1 + a3) * (1 - math.exp(-2 * s2)) / 2, rel=0.03)
    assert out[:, 2].mean() == pytest.approx(0.0, abs=2e-3)
    assert out[:, 2].var() == pytest.approx(2 * a2, rel=0.03)  # rot1 + rot2, both a2*t²


def test_pure_rotation_moments() -> None:
    a1, a4 = 0.02, 0.01
    rot = math.pi / 2
    out = sample_motion_model_odometry(
        np.zeros((N, 3)), OdometryDelta(0.0, 0.0, rot), (a1, 0.3, 0.3, a4),
        np.random.default_rng(3),
    )
    assert out[:, 2].mean() == pytest.approx(rot, abs=2e-3)
    assert out[:, 2].var() == pytest.approx(a1 * rot * rot, rel=0.03)
    # zero-mean translation noise with variance a4*rot² along a heading of exactly 0 (rot1 = 0)
    assert out[:, 0].mean() == pytest.approx(0.0, abs=2e-3)
    assert out[:, 0].var() == pytest.approx(a4 * rot * rot, rel=0.03)
    np.testing.assert_allclose(out[:, 1], 0.0, atol=1e-12)
