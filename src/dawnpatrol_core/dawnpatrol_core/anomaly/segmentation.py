"""People and objects from a 2-D lidar scan: drop what the static map explains, cluster the rest.

Person-sized clusters feed the tracker; larger unmapped clusters feed the blocked-sidewalk rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy.ndimage import distance_transform_edt

from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.grid import OccupancyGrid

FloatArray = npt.NDArray[np.float64]


class ClusterKind(StrEnum):
    PERSON = "person"
    OBJECT = "object"
    CLUTTER = "clutter"


@dataclass(frozen=True, slots=True)
class SegmentationConfig:
    """``map_tolerance``: m, a point closer than this to an occupied map cell is explained by
    the map. ``jump``: m, base break distance between adjacent kept beams, grown by
    ``jump_ratio`` x range x beam spacing for far points. ``max_beam_gap``: a cluster also
    breaks across more than this many removed beams. Person: ``person_width`` (m, bounding-box
    diagonal) and at least ``person_min_points``, or as many as a body ``person_body`` m wide
    shows between beams that far away (at least ``far_person_min_points``: a person 18 m off
    falls between the beams of a 1 degree sweep); wider and ``object_min_points`` or more is
    an OBJECT; the rest is CLUTTER."""

    map_tolerance: float = 0.25
    jump: float = 0.3
    jump_ratio: float = 3.0
    max_beam_gap: int = 2
    person_width: tuple[float, float] = (0.2, 0.9)
    person_min_points: int = 3
    far_person_min_points: int = 2
    person_body: float = 0.5
    object_min_points: int = 5
    range_min: float = 0.05
    range_max: float = 30.0


@dataclass(frozen=True, slots=True, eq=False)
class Cluster:
    """A group of adjacent scan points: centroid (x, y) m, ``width`` m (diagonal of the
    points' bounding box), ``points`` (K, 2) float64 world metres, ``kind``."""

    x: float
    y: float
    width: float
    kind: ClusterKind
    points: FloatArray

    @property
    def n_points(self) -> int:
        return int(self.points.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class Segmentation:
    """Clusters of one scan and all points the map did not explain ((M, 2) world metres)."""

    clusters: tuple[Cluster, ...]
    unexplained: FloatArray

    @property
    def people(self) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.kind is ClusterKind.PERSON)

    @property
    def objects(self) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.kind is ClusterKind.OBJECT)

    def people_xy(self) -> FloatArray:
        """(P, 2) centroids of the person clusters, metres."""
        p = self.people
        return np.array([[c.x, c.y] for c in p], dtype=np.float64).reshape(len(p), 2)


def scan_to_points(
    ranges: npt.ArrayLike,
    angles: npt.ArrayLike,
    pose: Pose2D,
    range_min: float = 0.05,
    range_max: float = 30.0,
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """World points of valid beams: ``ranges`` (N,) m, ``angles`` (N,) rad in the sensor frame,
    ``pose`` the sensor pose in the map. Returns ((K, 2) metres, (K,) beam indices)."""
    r = np.asarray(ranges, dtype=np.float64)
    a = np.asarray(angles, dtype=np.float64)
    ok = np.isfinite(r) & (r >= range_min) & (r < range_max)
    idx = np.flatnonzero(ok)
    th = a[idx] + pose.theta
    pts = np.column_stack((pose.x + r[idx] * np.cos(th), pose.y + r[idx] * np.sin(th)))
    return pts, idx


class StaticMapFilter:
    """Distance (m) from every cell centre to the nearest occupied cell, computed once per map."""

    def __init__(self, grid: OccupancyGrid) -> None:
        self.grid = grid
        occ = grid.occupied
        if occ.any():
            dist = distance_transform_edt(~occ) * grid.resolution
        else:
            dist = np.full(occ.shape, np.inf)
        self.distance: FloatArray = np.asarray(dist, dtype=np.float64)

    def explained(self, points: FloatArray, tolerance: float) -> npt.NDArray[np.bool_]:
        """(K,) True where a world point lies within ``tolerance`` m of the mapped obstacles.

        Points outside the map are treated as explained: no rule can place them in a zone.
        """
        row, col = self.grid.world_to_cell(points[:, 0], points[:, 1])
        inside = self.grid.in_bounds(row, col)
        out = np.ones(len(points), dtype=bool)
        out[inside] = self.distance[row[inside], col[inside]] < tolerance
        return out


def segment_scan(
    ranges: npt.ArrayLike,
    angles: npt.ArrayLike,
    pose: Pose2D,
    static_map: StaticMapFilter | None,
    config: SegmentationConfig | None = None,
) -> Segmentation:
    """Segment one scan (``ranges`` (N,) m, ``angles`` (N,) rad, sensor ``pose`` in the map).

    Drops the points the static map explains, splits the rest at range jumps and beam gaps,
    and classifies each cluster by width and point count.
    """
    cfg = config or SegmentationConfig()
    a = np.asarray(angles, dtype=np.float64)
    pts, idx = scan_to_points(ranges, a, pose, cfg.range_min, cfg.range_max)
    if static_map is not None and len(pts):
        keep = ~static_map.explained(pts, cfg.map_tolerance)
        pts, idx = pts[keep], idx[keep]
    if len(pts) == 0:
        return Segmentation((), np.zeros((0, 2)))
    beam_step = float(np.median(np.abs(np.diff(a)))) if len(a) > 1 else 0.0
    rng_m = np.hypot(pts[:, 0] - pose.x, pts[:, 1] - pose.y)
    step = np.hypot(*np.diff(pts, axis=0).T)
    thr = np.maximum(cfg.jump, cfg.jump_ratio * rng_m[1:] * beam_step)
    breaks = (step > thr) | (np.diff(idx) > cfg.max_beam_gap + 1)
    labels = np.concatenate(([0], np.cumsum(breaks)))
    # A full 360° scan wraps: the last cluster may continue into the first one.
    n_beams = len(a)
    full_circle = n_beams > 1 and beam_step * n_beams >= 2 * np.pi - 1.5 * beam_step
    if full_circle and labels[-1] > 0:
        gap = idx[0] + n_beams - idx[-1]
        d = float(np.hypot(*(pts[0] - pts[-1])))
        near = d <= max(cfg.jump, cfg.jump_ratio * rng_m[0] * beam_step)
        if gap <= cfg.max_beam_gap + 1 and near:
            k = int(np.flatnonzero(labels == labels[-1])[0])
            pts = np.concatenate((pts[k:], pts[:k]))
            idx = np.concatenate((idx[k:], idx[:k]))
            labels = np.concatenate((np.zeros(len(labels) - k, dtype=labels.dtype), labels[:k]))
    starts = np.flatnonzero(np.concatenate(([True], labels[1:] != labels[:-1])))
    ends = np.concatenate((starts[1:], [len(pts)]))
    counts = ends - starts
    cx = np.add.reduceat(pts[:, 0], starts) / counts
    cy = np.add.reduceat(pts[:, 1], starts) / counts
    ext = np.maximum.reduceat(pts, starts, axis=0) - np.minimum.reduceat(pts, starts, axis=0)
    width = np.hypot(ext[:, 0], ext[:, 1])
    lo, hi = cfg.person_width
    # beams a body spans at the cluster's range: fewer points are all a far person can show
    reach = np.hypot(cx - pose.x, cy - pose.y) * beam_step
    shows = np.floor(cfg.person_body / np.maximum(reach, 1e-9)) + 1.0
    need = np.clip(shows, cfg.far_person_min_points, cfg.person_min_points)
    person = (counts >= need) & (width >= lo) & (width <= hi)
    obj = ~person & (counts >= cfg.object_min_points) & (width > hi)
    clusters = tuple(
        Cluster(
            x=float(cx[i]),
            y=float(cy[i]),
            width=float(width[i]),
            kind=ClusterKind.PERSON
            if person[i]
            else ClusterKind.OBJECT
            if obj[i]
            else ClusterKind.CLUTTER,
            points=pts[starts[i] : ends[i]],
        )
        for i in range(len(starts))
    )
    return Segmentation(clusters, pts)


def drop_near(
    clusters: tuple[Cluster, ...], xy: npt.ArrayLike, radius: float
) -> tuple[Cluster, ...]:
    """Clusters whose centroid is farther than ``radius`` m from every point of ``xy`` (K, 2),
    e.g. the known positions of the robots of our own fleet."""
    ref = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not len(ref) or not clusters:
        return clusters
    c = np.array([[k.x, k.y] for k in clusters])
    d = np.hypot(c[:, None, 0] - ref[None, :, 0], c[:, None, 1] - ref[None, :, 1]).min(axis=1)
    return tuple(k for k, far in zip(clusters, d > radius, strict=True) if far)


def seen_free(
    ranges: npt.ArrayLike,
    angles: npt.ArrayLike,
    pose: Pose2D,
    points: npt.ArrayLike,
    margin: float = 0.5,
    range_max: float = 30.0,
    radius: float = 0.3,
) -> npt.NDArray[np.bool_]:
    """(K,) True where the scan saw free space at ``points`` (K, 2) map metres: every beam
    (``ranges`` (N,) m, evenly spaced ``angles`` (N,) rad, sensor ``pose``) passing within
    ``radius`` m of a point reached at least ``margin`` m beyond it (a beam with no return,
    +inf, reaches ``range_max``; NaN sees nothing), and the point lies within ``range_max``.
    Pass as ``range_max`` the range at which the scan would still resolve what you look for:
    a person can stand between the beams of a far sweep."""
    r = np.asarray(ranges, dtype=np.float64)
    a = np.asarray(angles, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.zeros(len(p), dtype=bool)
    if len(a) < 2 or not len(p):
        return out
    inc = float(a[1] - a[0])
    if not np.isfinite(inc) or inc <= 0.0:
        return out
    reach = np.where(np.isposinf(r), range_max, np.where(np.isfinite(r), r, 0.0))
    full = inc * len(a) >= 2.0 * np.pi - 1.5 * inc
    for k, (px, py) in enumerate(p.tolist()):
        dist = float(np.hypot(px - pose.x, py - pose.y))
        if dist + margin > range_max or dist <= radius:
            continue
        half = float(np.arcsin(radius / dist))
        rel = np.arctan2(py - pose.y, px - pose.x) - pose.theta - a[0]
        rel = float(np.mod(rel, 2.0 * np.pi))
        lo, hi = int(np.ceil((rel - half) / inc)), int(np.floor((rel + half) / inc))
        idx = np.arange(min(lo, hi), max(lo, hi) + 1)
        if full:
            idx %= len(a)
        elif (idx < 0).any() or (idx >= len(a)).any():
            continue  # outside the field of view
        out[k] = bool((reach[idx] >= dist + margin).all())
    return out
