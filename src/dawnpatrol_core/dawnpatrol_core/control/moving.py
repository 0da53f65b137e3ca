"""Moving things in the scan — people and other robots — tracked and predicted for the navigator.

The scan is clustered in the map frame (anomaly segmentation, no static-map filter: walls form
long clusters and are ignored by size), person- and robot-sized clusters are tracked with the
constant-velocity tracker, and the tracks that move are extrapolated over a short horizon.
The navigator treats the predicted positions as obstacles (so it stops short of a person about
to cross rather than in their way) and steps aside for what comes towards it along its path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.anomaly.segmentation import SegmentationConfig, segment_scan
from dawnpatrol_core.anomaly.tracking import MultiTargetTracker, Track, TrackerConfig
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MovingConfig:
    """``min_speed`` m/s: slower tracks count as standing (the scan itself handles those).
    ``horizon``/``step`` s: how far ahead and how finely positions are predicted.
    ``max_width`` m: the largest cluster (bounding-box diagonal) tracked — a person or a robot.
    ``radius`` m: the disc drawn round each predicted centre. ``range_max`` m: farther returns
    are not clustered. ``min_hits``: scans that must see a track before it counts."""

    min_speed: float = 0.35
    horizon: float = 2.5
    step: float = 0.25
    max_width: float = 1.4
    radius: float = 0.3
    range_max: float = 15.0
    min_hits: int = 3

    def __post_init__(self) -> None:
        for name in ("horizon", "step", "max_width", "range_max"):
            v = getattr(self, name)
            if not v > 0.0:
                raise ConfigError(f"moving: field '{name}': got {v!r}, expected > 0")
        if self.min_speed < 0.0 or self.radius < 0.0:
            raise ConfigError(f"moving: field 'min_speed'/'radius': got {self.min_speed!r}/"
                              f"{self.radius!r}, expected >= 0")


@dataclass(frozen=True, slots=True)
class Mover:
    """A moving track: position (m) and velocity (m/s) in the map frame."""

    id: int
    x: float
    y: float
    vx: float
    vy: float


class MovingObstacles:
    """Call :meth:`update` once per new scan; :meth:`movers` and :meth:`predicted` in between."""

    def __init__(self, config: MovingConfig | None = None) -> None:
        self.config = cfg = config or MovingConfig()
        self._seg = SegmentationConfig(person_width=(0.0, cfg.max_width), person_min_points=2,
                                       range_max=cfg.range_max)
        self._tracker = MultiTargetTracker(TrackerConfig(
            birth_hits=cfg.min_hits, birth_window=cfg.min_hits + 2, death_timeout=0.6,
            accel_sigma=3.0, max_match_distance=1.2, history_s=2.0))
        self._movers: tuple[Mover, ...] = ()

    def update(self, now: float, pose: Pose2D, ranges: FloatArray, angles: FloatArray) -> None:
        """Track the scan (``ranges`` (N,) m at ``angles`` (N,) rad in the robot frame) taken at
        ``now`` s with the robot at ``pose`` (map frame)."""
        seg = segment_scan(ranges, angles, pose, None, self._seg)
        xy = seg.people_xy()
        tracks = self._tracker.update(xy, now)
        self._movers = tuple(self._mover(t) for t in tracks if self._moving(t))

    def _moving(self, t: Track) -> bool:
        return t.confirmed and t.speed >= self.config.min_speed

    @staticmethod
    def _mover(t: Track) -> Mover:
        return Mover(t.id, t.x, t.y, t.vx, t.vy)

    def movers(self) -> tuple[Mover, ...]:
        """The tracks moving at ``min_speed`` or more at the last update."""
        return self._movers

    def predicted(self, pose: Pose2D, exclude: Collection[int] = ()) -> FloatArray:
        """(K, 2) robot-frame points (m) on the discs of the movers' predicted positions over
        the next ``horizon`` s, for the obstacle check; movers whose id is in ``exclude`` are
        left out."""
        cfg = self.config
        movers = [mv for mv in self._movers if mv.id not in exclude]
        if not movers:
            return np.zeros((0, 2))
        t = np.arange(cfg.step, cfg.horizon + 1e-9, cfg.step)
        m = np.array([[mv.x, mv.y, mv.vx, mv.vy] for mv in movers])
        cx = m[:, None, 0] + m[:, None, 2] * t[None, :]
        cy = m[:, None, 1] + m[:, None, 3] * t[None, :]
        ring = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        wx = (cx[..., None] + cfg.radius * ring[:, 0]).ravel()
        wy = (cy[..., None] + cfg.radius * ring[:, 1]).ravel()
        c, s = math.cos(pose.theta), math.sin(pose.theta)
        dx, dy = wx - pose.x, wy - pose.y
        return np.column_stack((c * dx + s * dy, -s * dx + c * dy))


def points_as_scan(points: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(ranges, angles) of (K, 2) robot-frame points, to append to a scan."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.hypot(p[:, 0], p[:, 1]), np.arctan2(p[:, 1], p[:, 0])


@dataclass(frozen=True, slots=True)
class EvadeConfig:
    """Giving way to a mover about to walk into the robot.

    ``horizon``/``step`` s: the rollout. ``contact`` m: clearance between a mover's disc and
    the footprint counted as a touch; ``safe`` m: clearance above which a motion needs no
    change. ``accel``/``decel`` m/s²: the drive's limits in the rollout. ``speeds`` (m/s) and
    ``turns`` (rad/s): the candidate commands. ``static_margin`` m: the footprint must stay
    this far from every other scan return during the rollout."""

    length: float = 1.0
    width: float = 0.6
    horizon: float = 2.5
    step: float = 0.1
    contact: float = 0.05
    safe: float = 0.25
    accel: float = 0.8
    decel: float = 2.0
    speeds: tuple[float, ...] = (-0.3, -0.15, 0.0, 0.3, 0.6, 0.9)
    turns: tuple[float, ...] = (-0.6, -0.3, 0.0, 0.3, 0.6)
    static_margin: float = 0.05


def _rollout(v0: float, v: float, w: float, cfg: EvadeConfig) -> FloatArray:
    """(T, 3) robot-frame poses (x, y, theta) over the horizon driving towards (v, w) from
    speed ``v0`` within the acceleration limits."""
    n = int(round(cfg.horizon / cfg.step))
    out = np.zeros((n, 3))
    x = y = th = 0.0
    cur = v0
    for k in range(n):
        rate = cfg.accel if abs(v) > abs(cur) and v * cur >= 0.0 else cfg.decel
        cur += max(-rate * cfg.step, min(rate * cfg.step, v - cur))
        th_mid = th + 0.5 * w * cfg.step
        x += cur * cfg.step * math.cos(th_mid)
        y += cur * cfg.step * math.sin(th_mid)
        th += w * cfg.step
        out[k] = (x, y, th)
    return out


def _clearance(poses: FloatArray, pts: FloatArray, cfg: EvadeConfig) -> FloatArray:
    """(T,) distance (m) from the footprint at each pose to the nearest of ``pts`` — either
    (T, K, 2) points moving with time or (K, 2) fixed ones, robot frame."""
    if pts.ndim == 2:
        pts = np.broadcast_to(pts, (len(poses),) + pts.shape)
    if pts.shape[1] == 0:
        return np.full(len(poses), math.inf)
    c, s = np.cos(poses[:, 2])[:, None], np.sin(poses[:, 2])[:, None]
    dx, dy = pts[..., 0] - poses[:, 0, None], pts[..., 1] - poses[:, 1, None]
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    ex = np.maximum(np.abs(lx) - cfg.length / 2.0, 0.0)
    ey = np.maximum(np.abs(ly) - cfg.width / 2.0, 0.0)
    out: FloatArray = np.hypot(ex, ey).min(axis=1)
    return out


def evade(
    movers: tuple[Mover, ...],
    pose: Pose2D,
    v_now: float,
    wish: tuple[float, float],
    static_points: FloatArray,
    cfg: EvadeConfig,
    radius: float = 0.3,
    allowed: Callable[[FloatArray], bool] | None = None,
) -> tuple[float, float, float] | None:
    """A command (v, w) and the clearance it keeps (m) when driving ``wish`` (v, w) and
    standing both would let a mover's disc (``radius`` m) come within ``safe`` of the
    footprint within the horizon; None when either is safe. Candidates must keep clear of
    ``static_points`` ((K, 2) robot frame, the scan without the movers) and pass ``allowed``
    ((T, 2) map points, the zone rules). The best candidate keeps the most clearance; among
    equals the one nearest ``wish``."""
    if not movers:
        return None
    n = int(round(cfg.horizon / cfg.step))
    t = cfg.step * np.arange(1, n + 1)
    c, s = math.cos(pose.theta), math.sin(pose.theta)
    m = np.array([[mv.x - pose.x, mv.y - pose.y, mv.vx, mv.vy] for mv in movers])
    mx, my = c * m[:, 0] + s * m[:, 1], -s * m[:, 0] + c * m[:, 1]
    mvx, mvy = c * m[:, 2] + s * m[:, 3], -s * m[:, 2] + c * m[:, 3]
    moving = np.stack((mx[None, :] + mvx[None, :] * t[:, None],
                       my[None, :] + mvy[None, :] * t[:, None]), axis=-1)  # (T, M, 2)
    now_pts = np.column_stack((mx, my))
    keep = np.hypot(static_points[:, None, 0] - now_pts[None, :, 0],
                    static_points[:, None, 1] - now_pts[None, :, 1]).min(axis=1) > radius + 0.3
    fixed = static_points[keep]

    def clearance(v: float, w: float) -> float:
        poses = _rollout(v_now, v, w, cfg)
        return float((_clearance(poses, moving, cfg) - radius).min())

    if clearance(*wish) >= cfg.safe or clearance(0.0, 0.0) >= cfg.safe:
        return None  # driving on is fine, or stopping is (the obstacle check stops it)
    best: tuple[float, float, float, float] | None = None
    for v in cfg.speeds:
        for w in cfg.turns:
            poses = _rollout(v_now, v, w, cfg)
            if float(_clearance(poses, fixed, cfg).min()) < cfg.static_margin:
                continue
            if allowed is not None:
                world = np.column_stack((pose.x + c * poses[:, 0] - s * poses[:, 1],
                                         pose.y + s * poses[:, 0] + c * poses[:, 1]))
                if not allowed(world):
                    continue
            keep_m = min(float((_clearance(poses, moving, cfg) - radius).min()), cfg.safe)
            score = (keep_m, -abs(v - wish[0]) - 0.3 * abs(w - wish[1]))
            if best is None or score > (best[2], best[3]):
                best = (v, w, keep_m, score[1])
    if best is None:
        return None
    return best[0], best[1], best[2]
