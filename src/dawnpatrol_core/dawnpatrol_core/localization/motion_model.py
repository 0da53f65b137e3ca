"""Sample-based odometry motion model (rot1-trans-rot2 decomposition), vectorized over particles.

Moves every particle by the odometry increment between two odometry poses, with noise whose
variance grows with the squared rotation and translation (the alpha1..alpha4 model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dawnpatrol_core.geometry import FloatArray, Pose2D, wrap_angle, wrap_angles


@dataclass(frozen=True, slots=True)
class OdometryDelta:
    """An odometry increment: first turn ``rot1`` (rad), drive ``trans`` (m), then turn ``rot2``.

    ``reverse`` is True when the robot drove backwards; ``rot1`` is then measured to the rear,
    so that reversing does not look like a half-turn to the noise model.
    """

    rot1: float
    trans: float
    rot2: float
    reverse: bool = False


def odometry_delta(odom_prev: Pose2D, odom_cur: Pose2D, min_trans: float = 1e-4) -> OdometryDelta:
    """Split the motion from ``odom_prev`` to ``odom_cur`` (odometry frame) into rot1/trans/rot2.

    Translations shorter than ``min_trans`` (m) are treated as pure rotation (rot1 = 0).
    """
    dx = odom_cur.x - odom_prev.x
    dy = odom_cur.y - odom_prev.y
    trans = math.hypot(dx, dy)
    dtheta = wrap_angle(odom_cur.theta - odom_prev.theta)
    if trans < min_trans:
        return OdometryDelta(0.0, 0.0, dtheta, False)
    rot1 = wrap_angle(math.atan2(dy, dx) - odom_prev.theta)
    reverse = abs(rot1) > math.pi / 2.0
    if reverse:
        rot1 = wrap_angle(rot1 + math.pi)
    rot2 = wrap_angle(dtheta - rot1)
    return OdometryDelta(rot1, trans, rot2, reverse)


def sample_motion_model_odometry(
    particles: FloatArray,
    delta: OdometryDelta,
    alphas: tuple[float, float, float, float],
    rng: np.random.Generator,
) -> FloatArray:
    """Return new particles ``(N, 3)`` [x m, y m, theta rad] moved by a noisy ``delta``.

    Variances: rot1 ``a1*rot1² + a2*trans²``, trans ``a3*trans² + a4*(rot1² + rot2²)``,
    rot2 ``a1*rot2² + a2*trans²``. ``particles`` is not modified.
    """
    a1, a2, a3, a4 = alphas
    n = particles.shape[0]
    r1, t, r2 = delta.rot1, delta.trans, delta.rot2
    sd_r1 = math.sqrt(a1 * r1 * r1 + a2 * t * t)
    sd_t = math.sqrt(a3 * t * t + a4 * (r1 * r1 + r2 * r2))
    sd_r2 = math.sqrt(a1 * r2 * r2 + a2 * t * t)
    noise = rng.standard_normal((n, 3))
    rot1 = r1 + sd_r1 * noise[:, 0]
    trans = t + sd_t * noise[:, 1]
    rot2 = r2 + sd_r2 * noise[:, 2]
    if delta.reverse:
        trans = -trans
    heading = particles[:, 2] + rot1
    out = np.empty_like(particles)
    out[:, 0] = particles[:, 0] + trans * np.cos(heading)
    out[:, 1] = particles[:, 1] + trans * np.sin(heading)
    out[:, 2] = wrap_angles(heading + rot2)
    return out
