"""Planar rigid-body geometry (SE(2)) used by every other module.

Angles are radians, positions metres, in the ENU map frame (x east, y north).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def wrap_angle(a: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def wrap_angles(a: FloatArray) -> FloatArray:
    """Vectorized :func:`wrap_angle` over an array of angles."""
    return np.asarray((a + np.pi) % (2.0 * np.pi) - np.pi, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Pose2D:
    """A pose in the plane: position (m) and heading ``theta`` (rad, CCW from +x)."""

    x: float
    y: float
    theta: float = 0.0

    def compose(self, other: Pose2D) -> Pose2D:
        """Return ``self ⊕ other``: ``other`` given in this pose's frame, in the parent frame."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        return Pose2D(
            self.x + c * other.x - s * other.y,
            self.y + s * other.x + c * other.y,
            wrap_angle(self.theta + other.theta),
        )

    def inverse(self) -> Pose2D:
        """Return the inverse transform, so that ``p.compose(p.inverse())`` is the identity."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        return Pose2D(-c * self.x - s * self.y, s * self.x - c * self.y, wrap_angle(-self.theta))

    def relative_to(self, base: Pose2D) -> Pose2D:
        """Express this pose in the frame of ``base`` (``base⁻¹ ⊕ self``)."""
        return base.inverse().compose(self)

    def distance_to(self, other: Pose2D) -> float:
        """Euclidean distance between the two positions (m)."""
        return math.hypot(other.x - self.x, other.y - self.y)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.theta)


def yaw_to_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """Quaternion (x, y, z, w) of a rotation by ``yaw`` about +z."""
    return (0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0))


def quaternion_to_yaw(x: float, y: float, z: float, w: float) -> float:
    """Yaw (rad) of a quaternion, ignoring roll and pitch."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def drive_arc(pose: Pose2D, v: float, w: float, dt: float) -> Pose2D:
    """Where a unicycle at ``pose`` ends after driving (v m/s, w rad/s) for ``dt`` s (exact arc).

    Used to bring a pose computed from older sensor data up to the present (latency
    compensation) with the velocity commanded since.
    """
    if abs(w) < 1e-9:
        return Pose2D(pose.x + v * dt * math.cos(pose.theta),
                      pose.y + v * dt * math.sin(pose.theta), pose.theta)
    th = pose.theta + w * dt
    r = v / w
    return Pose2D(pose.x + r * (math.sin(th) - math.sin(pose.theta)),
                  pose.y - r * (math.cos(th) - math.cos(pose.theta)), wrap_angle(th))
