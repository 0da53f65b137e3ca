"""Regulated pure pursuit: follows a polyline with curvature, proximity and approach slow-down."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import ConfigError, PlanningError
from dawnpatrol_core.geometry import Pose2D, wrap_angle

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FollowerConfig:
    """Tuning. Speeds m/s, distances m, times s, angles rad.

    Lookahead = clamp(``lookahead_time`` * v, ``min_lookahead``, ``max_lookahead``). Below turning
    radius ``min_radius`` the speed scales with radius / ``min_radius``. Within
    ``approach_distance`` of the goal the speed scales down to ``min_approach_speed``. A heading
    error above ``rotate_angle`` turns on the spot first.
    """

    max_speed: float = 1.5
    max_angular: float = 1.2
    lookahead_time: float = 1.2
    min_lookahead: float = 0.6
    max_lookahead: float = 2.0
    min_radius: float = 3.0
    min_curvature_speed: float = 0.35
    approach_distance: float = 1.5
    min_approach_speed: float = 0.08
    goal_tolerance: float = 0.25
    heading_tolerance: float = 0.25
    rotate_angle: float = 0.9
    rotate_gain: float = 1.5

    def __post_init__(self) -> None:
        for name in ("max_speed", "max_angular", "min_lookahead", "max_lookahead",
                     "goal_tolerance", "heading_tolerance", "min_radius"):
            v = getattr(self, name)
            if not v > 0.0:
                raise ConfigError(f"follower: field '{name}': got {v!r}, expected > 0")


@dataclass(frozen=True, slots=True)
class FollowCommand:
    """One follower output: ``v`` m/s, ``w`` rad/s; ``done`` when within goal tolerances;
    ``distance_left`` m along the path; ``lookahead`` the carrot point (x, y) m; ``reason`` for
    the speed choice ("" when cruising)."""

    v: float
    w: float
    done: bool
    distance_left: float
    lookahead: tuple[float, float]
    reason: str


class PathFollower:
    """Follows one path; ``step`` is called every control period with the current pose."""

    def __init__(
        self,
        path: FloatArray,
        goal_heading: float | None = None,
        config: FollowerConfig | None = None,
    ) -> None:
        pts = np.asarray(path, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 1:
            raise PlanningError(
                f"follower: field 'path': got shape {pts.shape}, expected (N, 2) with N >= 1"
            )
        if len(pts) == 1:
            pts = np.vstack((pts, pts))
        self.config = config or FollowerConfig()
        self.path = pts
        seg = np.hypot(np.diff(pts[:, 0]), np.diff(pts[:, 1]))
        self._cum = np.concatenate(([0.0], np.cumsum(seg)))
        self.length = float(self._cum[-1])
        self.goal_heading = goal_heading
        self._s = 0.0  # progress (m along the path), never decreases by more than a window
        self._aligning = False

    @property
    def progress(self) -> float:
        """Metres along the path of the robot's last projection."""
        return self._s

    def point_at(self, s: float) -> tuple[float, float]:
        """The path point at arc length ``s`` (m, clamped to the path)."""
        s = min(max(s, 0.0), self.length)
        return (float(np.interp(s, self._cum, self.path[:, 0])),
                float(np.interp(s, self._cum, self.path[:, 1])))

    def normal_at(self, s: float) -> tuple[float, float]:
        """Unit normal (x, y) to the left of the path's direction at arc length ``s`` (m)."""
        ax, ay = self.point_at(s - 0.25)
        bx, by = self.point_at(s + 0.25)
        d = math.hypot(bx - ax, by - ay)
        if d < 1e-9:
            return 0.0, 0.0
        return -(by - ay) / d, (bx - ax) / d

    def offset_point(self, s: float, offset: float) -> tuple[float, float]:
        """The point ``offset`` m to the left (negative: right) of the path at arc length ``s``."""
        x, y = self.point_at(s)
        if offset == 0.0:
            return x, y
        nx, ny = self.normal_at(s)
        return x + offset * nx, y + offset * ny

    def path_after(self, s: float) -> FloatArray:
        """(M, 2) path vertices strictly beyond arc length ``s`` (m)."""
        return self.path[self._cum > s]

    def project(self, x: float, y: float, window: float = 4.0) -> float:
        """Arc length (m) of the closest path point to (x, y), searched from the current progress
        up to ``window`` m ahead (so loops and switchbacks do not make it jump)."""
        p = self.path
        lo = max(0, int(np.searchsorted(self._cum, self._s - 0.5)) - 1)
        hi = min(len(p) - 1, int(np.searchsorted(self._cum, self._s + window)) + 1)
        a, b = p[lo:hi], p[lo + 1 : hi + 1]
        if len(a) == 0:
            return self._s
        d = b - a
        ll = np.maximum((d**2).sum(axis=1), 1e-12)
        t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / ll, 0.0, 1.0)
        px, py = a[:, 0] + t * d[:, 0], a[:, 1] + t * d[:, 1]
        k = int(np.argmin((px - x) ** 2 + (py - y) ** 2))
        return float(self._cum[lo + k] + t[k] * math.sqrt(float(ll[k])))

    def lookahead_path(self, pose: Pose2D, distance: float, offset: float = 0.0) -> FloatArray:
        """(M, 2) path points from the robot's projection to ``distance`` m ahead, shifted
        ``offset`` m to the left (negative: right) as :meth:`step` follows it."""
        s0, s1 = self._s, min(self._s + distance, self.length)
        if offset != 0.0:
            ss = np.linspace(s0, s1, max(2, int(math.ceil((s1 - s0) / 0.25)) + 1))
            pts = np.array([self.offset_point(float(x), offset) for x in ss])
            return np.vstack(([[pose.x, pose.y]], pts))
        inner = self.path[(self._cum > s0) & (self._cum < s1)]
        return np.vstack(([[pose.x, pose.y]], [self.point_at(s0)], inner, [self.point_at(s1)]))

    def step(self, pose: Pose2D, v_now: float, speed_cap: float = math.inf,
             offset: float = 0.0) -> FollowCommand:
        """Command for the robot at ``pose`` moving at ``v_now`` m/s, never above ``speed_cap``,
        following the path shifted ``offset`` m to its left (negative: right) — stepping aside."""
        cfg = self.config
        self._s = max(self._s, self.project(pose.x, pose.y))
        left = max(0.0, self.length - self._s)
        gx, gy = self.point_at(self.length)
        to_goal = math.hypot(gx - pose.x, gy - pose.y)
        if to_goal <= cfg.goal_tolerance and left <= cfg.goal_tolerance + 0.5:
            # At the goal position: align heading if asked, then done.
            if self.goal_heading is None:
                return FollowCommand(0.0, 0.0, True, 0.0, (gx, gy), "goal reached")
            err = wrap_angle(self.goal_heading - pose.theta)
            if abs(err) <= cfg.heading_tolerance:
                return FollowCommand(0.0, 0.0, True, 0.0, (gx, gy), "goal reached")
            w = math.copysign(min(cfg.max_angular, max(0.3, cfg.rotate_gain * abs(err))), err)
            return FollowCommand(0.0, w, False, to_goal, (gx, gy), "aligning to goal heading")

        lookahead = min(max(cfg.lookahead_time * abs(v_now), cfg.min_lookahead),
                        cfg.max_lookahead)
        cx, cy = self.offset_point(self._s + lookahead, offset)
        if math.hypot(cx - pose.x, cy - pose.y) < 1e-6:
            cx, cy = gx, gy
        dx, dy = cx - pose.x, cy - pose.y
        c, s = math.cos(pose.theta), math.sin(pose.theta)
        lx, ly = c * dx + s * dy, -s * dx + c * dy
        dist2 = lx * lx + ly * ly
        heading_err = math.atan2(ly, lx)
        # Rotate in place when the carrot is far off the nose (with hysteresis).
        if abs(heading_err) > cfg.rotate_angle or (self._aligning and abs(heading_err) > 0.3):
            self._aligning = True
            w = math.copysign(min(cfg.max_angular, max(0.3, cfg.rotate_gain * abs(heading_err))),
                              heading_err)
            return FollowCommand(0.0, w, False, left, (cx, cy), "turning to path")
        self._aligning = False
        curvature = 2.0 * ly / max(dist2, 1e-9)
        v = cfg.max_speed
        reason = ""
        radius = 1.0 / abs(curvature) if abs(curvature) > 1e-9 else math.inf
        if radius < cfg.min_radius:
            v = max(cfg.min_curvature_speed, v * radius / cfg.min_radius)
            reason = "curvature"
        remaining = max(left, to_goal)
        if remaining < cfg.approach_distance:
            v_app = max(cfg.min_approach_speed, cfg.max_speed * remaining / cfg.approach_distance)
            if v_app < v:
                v, reason = v_app, "approaching goal"
        if speed_cap < v:
            v, reason = max(0.0, speed_cap), "speed cap"
        w = v * curvature
        if abs(w) > cfg.max_angular:
            v *= cfg.max_angular / abs(w)
            w = math.copysign(cfg.max_angular, w)
        return FollowCommand(v, w, False, left, (cx, cy), reason)
