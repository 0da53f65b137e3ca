"""Obstacle assessment from a 2D scan: footprint-shaped stop and slow-down zones, time-to-collision.

Everything is in the robot frame (x forward, y left, metres); the corridor follows the current arc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import ConfigError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ObstacleConfig:
    """Zones around a rectangular footprint centred on the robot origin.

    ``length``/``width``: footprint, m. ``stop_margin``: m of clearance ahead (and ``side_margin``
    beside) inside which anything stops the robot. ``slow_distance``: m ahead of the footprint
    where speed is scaled from ``slow_max_speed`` down to ``slow_min_speed`` (m/s).
    ``decel``: m/s^2 assumed for the proximity speed cap.
    ``ttc_stop``: s, a time-to-collision below this also stops. ``max_range``: m, farther
    returns are ignored (as are NaN/inf and below ``min_range``).
    """

    length: float = 1.0
    width: float = 0.6
    stop_margin: float = 0.4
    side_margin: float = 0.15
    slow_distance: float = 2.5
    slow_side_margin: float = 0.35
    decel: float = 1.0
    ttc_stop: float = 0.8
    slow_min_speed: float = 0.3
    slow_max_speed: float = 1.5
    min_range: float = 0.05
    max_range: float = 30.0

    def __post_init__(self) -> None:
        for name in ("length", "width", "slow_distance", "decel", "max_range"):
            v = getattr(self, name)
            if not v > 0.0:
                raise ConfigError(f"obstacles: field '{name}': got {v!r}, expected > 0")
        if self.stop_margin < 0.0 or self.side_margin < 0.0:
            raise ConfigError(
                f"obstacles: field 'stop_margin'/'side_margin': got {self.stop_margin!r}/"
                f"{self.side_margin!r}, expected >= 0"
            )


@dataclass(frozen=True, slots=True, eq=False)
class ObstacleAssessment:
    """Result for one scan at the commanded motion.

    ``gap``: m from the footprint's leading edge to the nearest return in the travel corridor
    (inf if none). ``stop``: something is in the stop zone (or TTC below ``ttc_stop``).
    ``slow``: something is in the slow-down zone. ``ttc``: s until contact at the current speed
    (inf if none / not moving). ``speed_cap``: m/s the robot may drive given ``gap``.
    ``points``: (K, 2) float64 valid returns in the robot frame, m. ``blocker``: the return
    that sets ``gap`` (robot frame, m), None when nothing is in the travel corridor.
    """

    gap: float
    stop: bool
    slow: bool
    ttc: float
    speed_cap: float
    points: FloatArray
    blocker: tuple[float, float] | None = None


def scan_points(ranges: FloatArray, angles: FloatArray, config: ObstacleConfig) -> FloatArray:
    """(K, 2) robot-frame points (m) from ``ranges`` (N,) m and ``angles`` (N,) rad, dropping
    invalid returns."""
    r = np.asarray(ranges, dtype=np.float64)
    a = np.asarray(angles, dtype=np.float64)
    ok = np.isfinite(r) & (r >= config.min_range) & (r <= config.max_range)
    return np.column_stack((r[ok] * np.cos(a[ok]), r[ok] * np.sin(a[ok])))


def corridor_coordinates(points: FloatArray, v: float, w: float) -> tuple[FloatArray, FloatArray]:
    """Arc length along (m, signed, + in the travel direction) and lateral offset (m, >= 0) of
    each (K, 2) point relative to the arc the robot drives at (v, w)."""
    x, y = points[:, 0], points[:, 1]
    sign = -1.0 if v < 0.0 else 1.0
    xs = x * sign
    k = w / v if abs(v) > 1e-3 else 0.0
    k *= sign  # reversing mirrors the arc about the y axis
    if abs(k) < 1e-3:
        return xs, np.abs(y)
    r = 1.0 / k
    # Circle centre at (0, r); angle swept from the robot to the point's projection.
    dx, dy = xs, y - r
    dist = np.hypot(dx, dy)
    lateral = np.abs(dist - abs(r))
    ang = np.arctan2(dx, -dy) if r > 0 else np.arctan2(dx, dy)
    return ang * abs(r), lateral


def assess_scan(
    ranges: FloatArray,
    angles: FloatArray,
    v: float,
    w: float,
    config: ObstacleConfig | None = None,
) -> ObstacleAssessment:
    """Assess a scan (``ranges`` (N,) m at ``angles`` (N,) rad, robot frame) for motion at
    (v m/s, w rad/s)."""
    cfg = config or ObstacleConfig()
    pts = scan_points(ranges, angles, cfg)
    half_l, half_w = cfg.length / 2.0, cfg.width / 2.0
    if len(pts) == 0:
        return ObstacleAssessment(math.inf, False, False, math.inf, math.inf, pts)
    v_dir = v if abs(v) > 1e-3 else 1e-3
    along, lat = corridor_coordinates(pts, v_dir, w)
    ahead = along - half_l
    # Only what lies ahead of the robot's centre in the direction of travel can be driven
    # into: reversing away from a wall the nose touches is not blocked by that wall.
    behind_ok = along > 0.0
    in_lane = (lat <= half_w + cfg.side_margin) & behind_ok
    in_slow_lane = (lat <= half_w + cfg.slow_side_margin) & behind_ok
    gap, blocker = math.inf, None
    if in_lane.any():
        k = int(np.flatnonzero(in_lane)[np.argmin(ahead[in_lane])])
        gap, blocker = max(float(ahead[k]), 0.0), (float(pts[k, 0]), float(pts[k, 1]))
    slow_gap = (
        float(np.min(np.maximum(ahead[in_slow_lane], 0.0))) if in_slow_lane.any() else math.inf
    )
    speed = abs(v)
    ttc = gap / speed if speed > 1e-3 and math.isfinite(gap) else math.inf
    if speed <= 1e-3 and abs(w) > 1e-3:
        # Turning on the spot: the footprint sweeps its circumscribed circle.
        radius = math.hypot(half_l, half_w) + cfg.side_margin
        stop = bool(np.any(np.hypot(pts[:, 0], pts[:, 1]) <= radius))
    else:
        stop = gap <= cfg.stop_margin or ttc < cfg.ttc_stop
    cap = math.sqrt(2.0 * cfg.decel * max(0.0, gap - cfg.stop_margin))
    slow = slow_gap < cfg.slow_distance
    if slow:
        ratio = max(0.0, (slow_gap - cfg.stop_margin) / max(cfg.slow_distance - cfg.stop_margin,
                                                             1e-9))
        cap = min(cap, cfg.slow_min_speed + (cfg.slow_max_speed - cfg.slow_min_speed) * ratio)
    return ObstacleAssessment(
        gap=gap,
        stop=stop,
        slow=slow,
        ttc=ttc,
        speed_cap=0.0 if stop else cap,
        points=pts,
        blocker=blocker,
    )
