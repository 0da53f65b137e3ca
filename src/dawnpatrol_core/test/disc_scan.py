"""A 360-beam scan of a world of discs, for the navigator's tests (not itself a test module)."""

from __future__ import annotations

import math

import numpy as np

from dawnpatrol_core.geometry import Pose2D

ANGLES = np.linspace(-math.pi, math.pi, 360, endpoint=False)


def scan_of(pose: Pose2D, discs: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Exact ranges from ``pose`` to circles (x, y, r) for 360 beams; inf where nothing is hit."""
    ranges = np.full(len(ANGLES), np.inf)
    dirs = np.column_stack((np.cos(ANGLES + pose.theta), np.sin(ANGLES + pose.theta)))
    for cx, cy, r in discs:
        ox, oy = pose.x - cx, pose.y - cy
        b = dirs[:, 0] * ox + dirs[:, 1] * oy
        disc = b * b - (ox * ox + oy * oy - r * r)
        t = -b - np.sqrt(np.maximum(disc, 0.0))
        ranges = np.where((disc >= 0) & (t > 0), np.minimum(ranges, t), ranges)
    return ranges, ANGLES
