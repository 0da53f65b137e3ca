"""Scene rules on tracks, zones and the hour: loitering, intrusion and blocked sidewalk.

Each rule returns :class:`Detection` values carrying the time its threshold was met, so the
scenario evaluation can measure detection latency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, Polygon

from dawnpatrol_core.anomaly.events import Detection, make_evidence
from dawnpatrol_core.anomaly.segmentation import Cluster
from dawnpatrol_core.anomaly.tracking import Track
from dawnpatrol_core.maps.route_graph import RouteGraph

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class HourWindow:
    """Local hours [start, end) in hours of the day (0-24); wraps midnight when start > end
    (22 -> 5 is the night). start == end means all day."""

    start: float = 0.0
    end: float = 24.0

    def contains(self, hour: float) -> bool:
        h = hour % 24.0
        if self.start == self.end or (self.start == 0.0 and self.end == 24.0):
            return True
        if self.start < self.end:
            return self.start <= h < self.end
        return h >= self.start or h < self.end


NIGHT = HourWindow(22.0, 5.0)


def local_hour(now: float, utc_offset_s: float = 0.0) -> float:
    """Hour of the day (0 <= h < 24) of ``now`` (s since the Unix epoch, or since a local
    midnight when ``utc_offset_s`` is 0 and the clock is a simulation clock)."""
    return ((now + utc_offset_s) % 86400.0) / 3600.0


@dataclass(frozen=True, slots=True)
class WatchZone:
    """A zone where loitering is reported during ``hours``."""

    id: str
    polygon: Polygon
    hours: HourWindow = NIGHT


@dataclass(frozen=True, slots=True)
class RestrictedArea:
    """A night-restricted area (closed school yard, park) where entry during ``hours`` is an
    intrusion."""

    id: str
    polygon: Polygon
    hours: HourWindow = NIGHT


@dataclass(frozen=True, slots=True)
class EdgeLine:
    """A route edge's polyline in map metres (both directions of a sidewalk share one line)."""

    id: int
    line: LineString


def edge_lines_from_graph(graph: RouteGraph) -> tuple[EdgeLine, ...]:
    """Polylines of the graph's edges (from ``points``, or start/end nodes when empty)."""
    out = []
    for e in graph.edges.values():
        pts = e.points or (
            (graph.nodes[e.start].x, graph.nodes[e.start].y),
            (graph.nodes[e.end].x, graph.nodes[e.end].y),
        )
        out.append(EdgeLine(e.id, LineString(pts)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """``loiter_radius`` m and ``loiter_time`` s: a confirmed track staying within the radius
    of its mean position for this long in a watch zone during its hours is loitering;
    ``loiter_slack`` m allows for where a person's centre is measured (the visible side of a
    0.3 m body, a lagging filter), ``loiter_outliers`` is the share of points allowed outside
    (a sample taken while a passer-by swapped tracks).
    ``block_time`` s: an unmapped object cluster lying within ``block_distance`` m of an edge
    polyline for this long blocks the edge; a candidate unseen for ``block_forget`` s is
    forgotten; clusters within ``block_match`` m are the same object. ``utc_offset_s``: added
    to ``now`` to get local time for zone hours. ``snippet_radius``: m around the subject kept as
    scan evidence. ``intrusion_time`` s and ``intrusion_depth`` m: a confirmed track is an
    intruder once it has stayed at least this deep inside a restricted area for this long (a
    person pacing along the fence, or one misplaced sighting, is not an entry)."""

    loiter_radius: float = 3.0
    loiter_time: float = 60.0
    loiter_slack: float = 0.5
    loiter_outliers: float = 0.05
    block_time: float = 10.0
    block_distance: float = 0.5
    block_forget: float = 3.0
    block_match: float = 0.6
    utc_offset_s: float = 0.0
    snippet_radius: float = 1.5
    intrusion_time: float = 5.0
    intrusion_depth: float = 0.3


def _snippet(scan: FloatArray | None, x: float, y: float, radius: float) -> FloatArray | None:
    if scan is None or not len(scan):
        return None
    near = np.hypot(scan[:, 0] - x, scan[:, 1] - y) <= radius
    return scan[near]


def detect_loitering(
    tracks: Iterable[Track],
    zones: Sequence[WatchZone],
    now: float,
    config: RuleConfig,
    scan: FloatArray | None = None,
) -> list[Detection]:
    """Loitering detections at ``now`` (s) for confirmed ``tracks`` in ``zones``.

    A track loiters when its history spans ``loiter_time`` s, all but ``loiter_outliers`` of
    the points of the last ``loiter_time`` s lie within ``loiter_radius`` + ``loiter_slack`` m
    of their mean, that mean is inside a watch zone, and the local hour is within the zone's
    hours. ``threshold_met_at`` = start of the stay + ``loiter_time``, where the stay is the
    longest recent stretch of history that keeps to the same share inside the radius.
    """
    if not zones:
        return []
    hour = local_hour(now, config.utc_offset_s)
    active = [z for z in zones if z.hours.contains(hour)]
    out: list[Detection] = []
    T, R = config.loiter_time, config.loiter_radius
    reach = R + config.loiter_slack
    for tr in tracks:
        h = tr.history
        if not tr.confirmed or len(h) < 2 or h[0, 0] > now - T:
            continue
        win = h[h[:, 0] >= now - T]
        c = win[:, 1:].mean(axis=0)
        d_win = np.hypot(win[:, 1] - c[0], win[:, 2] - c[1])
        if np.mean(d_win > reach) > config.loiter_outliers:
            continue
        zone = next((z for z in active if z.polygon.covers(shapely.Point(c))), None)
        if zone is None:
            continue
        # Stay start: the earliest point from which on the history keeps the outlier share.
        far = np.hypot(h[:, 1] - c[0], h[:, 2] - c[1]) > reach
        tail_far = np.cumsum(far[::-1])[::-1]
        tail_n = np.arange(len(h), 0, -1)
        first = int(np.argmax(tail_far <= config.loiter_outliers * tail_n))
        stay_start = float(h[first, 0])
        out.append(
            Detection(
                kind="loitering",
                key=f"track:{tr.id}",
                x=float(c[0]),
                y=float(c[1]),
                detected_at=now,
                threshold_met_at=min(stay_start + T, now),
                began_at=min(stay_start, now),
                zone=zone.id,
                confidence=0.9,
                description=f"person within {R:g} m for {now - stay_start:.0f} s",
                evidence=make_evidence(h, _snippet(scan, tr.x, tr.y, config.snippet_radius)),
            )
        )
    return out


def detect_intrusion(
    tracks: Iterable[Track],
    areas: Sequence[RestrictedArea],
    now: float,
    config: RuleConfig,
    scan: FloatArray | None = None,
) -> list[Detection]:
    """Intrusion detections at ``now`` (s): a confirmed track that has been at least
    ``intrusion_depth`` m inside a restricted area during its hours for ``intrusion_time`` s
    (its history's points since the last one that was not). ``threshold_met_at`` = the start of
    that stay + ``intrusion_time``; ``began_at`` = the start of the stay."""
    if not areas:
        return []
    hour = local_hour(now, config.utc_offset_s)
    active = [a for a in areas if a.hours.contains(hour)]
    out: list[Detection] = []
    for tr in tracks:
        if not tr.confirmed:
            continue
        p = shapely.Point(tr.x, tr.y)
        area = next((a for a in active if _deep_inside(a, [p], config.intrusion_depth)[0]),
                    None)
        if area is None:
            continue
        h = tr.history
        if not len(h):
            continue
        deep = _deep_inside(area, shapely.points(h[:, 1:]), config.intrusion_depth)
        if not deep[-1]:
            continue  # filtered position inside, last recorded point not yet
        shallow = np.flatnonzero(~deep)
        entry = float(h[shallow[-1] + 1, 0] if len(shallow) else h[0, 0])
        if now - entry < config.intrusion_time:
            continue
        out.append(
            Detection(
                kind="intrusion",
                key=f"track:{tr.id}",
                x=tr.x,
                y=tr.y,
                detected_at=now,
                threshold_met_at=min(entry + config.intrusion_time, now),
                began_at=min(entry, now),
                zone=area.id,
                confidence=0.9,
                description=f"person inside restricted area {area.id} for {now - entry:.0f} s",
                evidence=make_evidence(h, _snippet(scan, tr.x, tr.y, config.snippet_radius)),
            )
        )
    return out


def _deep_inside(area: RestrictedArea, points: Any, depth: float) -> BoolArray:
    """Which ``points`` (shapely points) lie inside ``area`` at least ``depth`` m from its
    boundary."""
    inside = np.asarray(shapely.covers(area.polygon, points), dtype=bool)
    if depth > 0.0 and inside.any():
        inside &= np.asarray(shapely.distance(area.polygon.boundary, points)) >= depth
    return inside


@dataclass(slots=True)
class _Blob:
    x: float
    y: float
    first_seen: float
    last_seen: float
    points: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))


def _same_object(blob: _Blob, c: Cluster, match: float) -> bool:
    """Whether cluster ``c`` is ``blob`` seen again: centroids within ``match`` m, or (a robot
    driving by sees another face of the object) any of its points within ``match`` m of the
    blob's last points."""
    if np.hypot(blob.x - c.x, blob.y - c.y) <= match:
        return True
    a, b = blob.points, c.points
    if not len(a) or not len(b):
        return False
    d2 = (a[:, None, 0] - b[None, :, 0]) ** 2 + (a[:, None, 1] - b[None, :, 1]) ** 2
    return bool(d2.min() <= match * match)


class BlockedSidewalkDetector:
    """Persistent unmapped objects on route edges. Stateful: call :meth:`update` every scan."""

    def __init__(self, edges: Sequence[EdgeLine], config: RuleConfig | None = None) -> None:
        self.config = config or RuleConfig()
        self._edges = tuple(edges)
        self._tree = shapely.STRtree([e.line for e in self._edges])
        self._blobs: list[_Blob] = []

    def update(self, objects: Sequence[Cluster], now: float) -> list[Detection]:
        """Feed this scan's OBJECT clusters; return blocked-edge detections whose object has
        stayed on an edge for ``block_time`` s. ``edge_ids`` are the edges to close."""
        cfg = self.config
        self._blobs = [b for b in self._blobs if now - b.last_seen <= cfg.block_forget]
        out: list[Detection] = []
        for c in objects:
            edge_ids = self._edges_under(c.points)
            if not edge_ids:
                continue
            blob = next((b for b in self._blobs if _same_object(b, c, cfg.block_match)), None)
            if blob is None:
                blob = _Blob(c.x, c.y, now, now, c.points)
                self._blobs.append(blob)
            blob.x, blob.y, blob.last_seen, blob.points = c.x, c.y, now, c.points
            if now - blob.first_seen >= cfg.block_time:
                ids = ",".join(str(i) for i in edge_ids)
                out.append(
                    Detection(
                        kind="blocked_sidewalk",
                        key=f"edges:{ids}",
                        x=c.x,
                        y=c.y,
                        detected_at=now,
                        threshold_met_at=blob.first_seen + cfg.block_time,
                        confidence=0.8,
                        description=f"object {c.width:.1f} m wide blocks route edges {ids}",
                        evidence=make_evidence(None, c.points),
                        edge_ids=edge_ids,
                    )
                )
        return out

    def _edges_under(self, points: FloatArray) -> tuple[int, ...]:
        if not len(self._edges) or not len(points):
            return ()
        _, hit = self._tree.query(
            shapely.points(points), predicate="dwithin", distance=self.config.block_distance
        )
        return tuple(sorted({self._edges[int(i)].id for i in np.unique(hit)}))


class RuleEngine:
    """All scene rules over one robot's tracks and object clusters."""

    def __init__(
        self,
        watch_zones: Sequence[WatchZone] = (),
        restricted: Sequence[RestrictedArea] = (),
        edges: Sequence[EdgeLine] = (),
        config: RuleConfig | None = None,
    ) -> None:
        self.config = config or RuleConfig()
        self.watch_zones = tuple(watch_zones)
        self.restricted = tuple(restricted)
        self.blocked = BlockedSidewalkDetector(edges, self.config)

    def evaluate(
        self,
        tracks: Sequence[Track],
        objects: Sequence[Cluster],
        now: float,
        scan: FloatArray | None = None,
    ) -> list[Detection]:
        """Every rule at ``now`` (s); ``scan`` (M, 2) unexplained points for evidence."""
        return (
            detect_loitering(tracks, self.watch_zones, now, self.config, scan)
            + detect_intrusion(tracks, self.restricted, now, self.config, scan)
            + self.blocked.update(objects, now)
        )
