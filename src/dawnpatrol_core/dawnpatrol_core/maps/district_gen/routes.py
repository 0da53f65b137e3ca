"""A sidewalk route graph from free space: the centre lines of the walkable space a robot of a
given radius fits in (the skeleton of the free space eroded by radius + margin), cleaned up
(spurs pruned, junctions merged, short loops dropped) and cut into edges of bounded length.

Also joins points that must be on the graph (entrances, depot bays) with straight or grid-planned
spurs, and puts per-edge metadata (clearance, speed limit, crossing) on every edge.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
import shapely.ops
from PIL import Image, ImageDraw
from scipy import ndimage
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from dawnpatrol_core.errors import ConfigError, MapError
from dawnpatrol_core.maps.district_gen.skeleton import skeleton_graph, thin
from dawnpatrol_core.maps.grid import OccupancyGrid
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph, RouteNode

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
SNAP_M = 0.05  # m: points this close are one node


@dataclass(frozen=True, slots=True)
class RouteGenConfig:
    """Tuning of the generator (metres, m/s).

    ``robot_radius`` + ``margin``: the least distance between a centre line and anything not
    walkable (narrower passages get no edge). ``resolution``: cell size of the skeleton grid.
    ``max_edge_length``: edges are cut so that nodes are at most this far apart along them.
    ``spur_length``: a dead-end branch shorter than this plus the clearance where it leaves its
    junction is an artefact of the outline and is pruned. ``merge_distance``: junctions closer
    than this become one. ``min_loop_length``: loops shorter than this (round a post or a
    speckle) keep only their shorter side. ``simplify_tolerance``: how far a simplified edge may
    stray from the skeleton. ``speed_limit`` on edges, ``narrow_speed_limit`` where the
    clearance is below ``narrow_clearance``.
    """

    robot_radius: float = 0.4
    margin: float = 0.2
    resolution: float = 0.1
    max_edge_length: float = 10.0
    spur_length: float = 1.5
    merge_distance: float = 2.0
    min_loop_length: float = 12.0
    simplify_tolerance: float = 0.1
    speed_limit: float = 1.5
    narrow_speed_limit: float = 1.0
    narrow_clearance: float = 1.2

    def __post_init__(self) -> None:
        for name in ("robot_radius", "resolution", "max_edge_length", "speed_limit",
                     "narrow_speed_limit"):
            if not getattr(self, name) > 0.0:
                raise ConfigError(f"RouteGenConfig: field '{name}': got "
                                  f"{getattr(self, name)!r}, expected > 0")
        for name in ("margin", "spur_length", "merge_distance", "min_loop_length",
                     "simplify_tolerance", "narrow_clearance"):
            if not getattr(self, name) >= 0.0:
                raise ConfigError(f"RouteGenConfig: field '{name}': got "
                                  f"{getattr(self, name)!r}, expected >= 0")

    @property
    def clearance(self) -> float:
        """Least clearance (m) of a generated centre line: robot radius + margin."""
        return self.robot_radius + self.margin


# -- the walkable space -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class Walkable:
    """The walkable space on a coarse grid (``resolution`` m, lower-left corner at ``origin``).

    ``mask``: (H, W) bool, free and on the walkable surface. ``clearance``: (H, W) float64,
    metres from each cell centre to the nearest cell that is not walkable. ``crossing``: (H, W)
    bool, cells on a road crossing.
    """

    mask: BoolArray
    clearance: FloatArray
    crossing: BoolArray
    resolution: float
    origin_x: float
    origin_y: float

    def to_cell(self, xy: FloatArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(rows, cols) of (N, 2) map points, clipped into the grid."""
        c = np.floor((xy[:, 0] - self.origin_x) / self.resolution).astype(np.int64)
        r = np.floor((xy[:, 1] - self.origin_y) / self.resolution).astype(np.int64)
        h, w = self.mask.shape
        return np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)

    def to_xy(self, rc: npt.ArrayLike) -> FloatArray:
        """(N, 2) map points of (N, 2) (row, col) cell coordinates (cell centres)."""
        rc = np.asarray(rc, dtype=np.float64).reshape(-1, 2)
        return np.stack((self.origin_x + (rc[:, 1] + 0.5) * self.resolution,
                         self.origin_y + (rc[:, 0] + 0.5) * self.resolution), axis=1)

    def clearance_at(self, xy: FloatArray) -> FloatArray:
        """(N,) clearance (m) at (N, 2) map points (their cells'; 0 outside the grid)."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        c = np.floor((xy[:, 0] - self.origin_x) / self.resolution).astype(np.int64)
        r = np.floor((xy[:, 1] - self.origin_y) / self.resolution).astype(np.int64)
        h, w = self.mask.shape
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        out = np.zeros(len(xy))
        out[inside] = self.clearance[r[inside], c[inside]]
        return out


def rasterize_polygons(polys: Iterable[BaseGeometry], shape: tuple[int, int], resolution: float,
                       origin_x: float, origin_y: float) -> BoolArray:
    """(H, W) bool, cells whose centre lies in one of the polygons (row 0 at ``origin_y``)."""
    h, w = shape
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    for g in polys:
        for poly in getattr(g, "geoms", [g]):
            if poly.is_empty or not hasattr(poly, "exterior"):
                continue
            for k, ring in enumerate([poly.exterior, *poly.interiors]):
                c = np.asarray(ring.coords, dtype=np.float64)[:, :2]
                px = (c[:, 0] - origin_x) / resolution - 0.5
                py = (h - (c[:, 1] - origin_y) / resolution) - 0.5
                draw.polygon([(float(a), float(b)) for a, b in zip(px, py, strict=True)],
                             fill=0 if k else 1)
    return np.asarray(img, dtype=np.uint8)[::-1] > 0


def walkable_space(grid: OccupancyGrid, resolution: float,
                   surfaces: Sequence[BaseGeometry] = (),
                   crossings: Sequence[BaseGeometry] = ()) -> Walkable:
    """The walkable space of ``grid`` at ``resolution`` m (a coarse cell is walkable when every
    fine cell in it is known free), limited to ``surfaces`` when any are given."""
    f = max(1, round(resolution / grid.resolution))
    res = grid.resolution * f
    blocked = ~grid.free
    h, w = blocked.shape
    hh, ww = -(-h // f), -(-w // f)
    pad = np.ones((hh * f, ww * f), dtype=bool)
    pad[:h, :w] = blocked
    coarse_blocked = pad.reshape(hh, f, ww, f).any(axis=(1, 3))
    mask = ~coarse_blocked
    args = ((hh, ww), res, grid.origin_x, grid.origin_y)
    if surfaces:
        mask &= rasterize_polygons(surfaces, *args)
    crossing = rasterize_polygons(crossings, *args) if crossings else np.zeros_like(mask)
    # Distance from each cell centre to the nearest blocked cell's edge (half a cell nearer
    # than its centre); the grid's border counts as blocked.
    edt = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    clear = np.maximum(edt * res - 0.5 * res, 0.0) * mask
    return Walkable(np.asarray(mask, dtype=bool), clear.astype(np.float64),
                    np.asarray(crossing & mask, dtype=bool), res, grid.origin_x, grid.origin_y)


# -- a mutable undirected graph for the clean-up -------------------------------------------------
@dataclass(slots=True)
class _Edge:
    u: int
    v: int
    pts: FloatArray  # (K, 2), node u first, node v last

    @property
    def length(self) -> float:
        return float(np.sum(np.hypot(*np.diff(self.pts, axis=0).T))) if len(self.pts) > 1 else 0.0


@dataclass(slots=True)
class Sketch:
    """An undirected graph being generated: node positions (m) and polyline edges."""

    nodes: dict[int, FloatArray] = field(default_factory=dict)
    edges: dict[int, _Edge] = field(default_factory=dict)
    adj: dict[int, set[int]] = field(default_factory=dict)  # node -> edge ids
    fixed: set[int] = field(default_factory=set)  # nodes never merged, moved or dissolved
    _next_node: int = 0
    _next_edge: int = 0

    def add_node(self, xy: Sequence[float] | FloatArray, fixed: bool = False) -> int:
        n = self._next_node
        self._next_node += 1
        self.nodes[n] = np.asarray(xy, dtype=np.float64).reshape(2)
        self.adj[n] = set()
        if fixed:
            self.fixed.add(n)
        return n

    def add_edge(self, u: int, v: int, pts: FloatArray) -> int:
        e = self._next_edge
        self._next_edge += 1
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        pts = np.vstack((self.nodes[u], pts, self.nodes[v]))
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.any(np.abs(np.diff(pts, axis=0)) > 1e-9, axis=1)
        keep[-1] = True
        pts = pts[keep] if keep.sum() >= 2 else np.vstack((self.nodes[u], self.nodes[v]))
        self.edges[e] = _Edge(u, v, pts)
        self.adj[u].add(e)
        self.adj[v].add(e)
        return e

    def remove_edge(self, e: int) -> None:
        ed = self.edges.pop(e)
        self.adj[ed.u].discard(e)
        self.adj[ed.v].discard(e)

    def remove_node(self, n: int) -> None:
        for e in list(self.adj[n]):
            self.remove_edge(e)
        del self.nodes[n], self.adj[n]
        self.fixed.discard(n)

    def degree(self, n: int) -> int:
        return sum(2 if self.edges[e].u == self.edges[e].v else 1 for e in self.adj[n])

    def other(self, e: int, n: int) -> int:
        ed = self.edges[e]
        return ed.v if ed.u == n else ed.u

    def oriented(self, e: int, n: int) -> FloatArray:
        """Edge points starting at node ``n``."""
        ed = self.edges[e]
        return ed.pts if ed.u == n else ed.pts[::-1]

    def dissolve(self, n: int) -> bool:
        """Join the two edges of a degree-2 node into one; False when not possible."""
        if n in self.fixed or len(self.adj[n]) != 2:
            return False
        a, b = sorted(self.adj[n])
        ua, ub = self.other(a, n), self.other(b, n)
        if ua == n or ub == n:
            return False
        pts = np.vstack((self.oriented(a, ua), self.oriented(b, n)[1:]))
        self.remove_edge(a)
        self.remove_edge(b)
        del self.nodes[n], self.adj[n]
        self.add_edge(ua, ub, pts[1:-1])
        return True

    def dissolve_all(self) -> None:
        for n in list(self.nodes):
            if n in self.nodes and self.degree(n) == 2:
                self.dissolve(n)

    def merge(self, a: int, b: int) -> int:
        """Contract nodes a and b into one (at a fixed node's place, else their midpoint);
        edges between them that become loops shorter than a metre go."""
        if a in self.fixed and b in self.fixed:
            return a
        if b in self.fixed:
            a, b = b, a
        keep, gone = a, b
        pos = self.nodes[keep] if keep in self.fixed else 0.5 * (self.nodes[a] + self.nodes[b])
        for e in list(self.adj[gone]):
            ed = self.edges[e]
            u = keep if ed.u == gone else ed.u
            v = keep if ed.v == gone else ed.v
            self.remove_edge(e)
            if u == v and ed.length < 1.0:
                continue
            self.add_edge(u, v, ed.pts[1:-1])
        del self.nodes[gone], self.adj[gone]
        self.move(keep, pos)
        for e in [e for e in self.adj[keep]
                  if self.edges[e].u == self.edges[e].v and self.edges[e].length < 1.0]:
            self.remove_edge(e)
        return keep

    def move(self, n: int, xy: FloatArray) -> None:
        """Move node ``n`` (and its edges' end points) to ``xy``."""
        self.nodes[n] = np.asarray(xy, dtype=np.float64).reshape(2).copy()
        for e in self.adj[n]:
            ed = self.edges[e]
            if ed.u == n:
                ed.pts[0] = self.nodes[n]
            if ed.v == n:
                ed.pts[-1] = self.nodes[n]

    def total_length(self) -> float:
        return sum(e.length for e in self.edges.values())

    def components(self) -> list[set[int]]:
        """Node sets of the connected components, largest total edge length first."""
        seen: set[int] = set()
        comps: list[tuple[float, set[int]]] = []
        for start in sorted(self.nodes):
            if start in seen:
                continue
            comp, stack, length = {start}, [start], 0.0
            while stack:
                n = stack.pop()
                for e in self.adj[n]:
                    m = self.other(e, n)
                    if m not in comp:
                        comp.add(m)
                        stack.append(m)
            for n in comp:
                length += sum(self.edges[e].length for e in self.adj[n]) / 2.0
            seen |= comp
            comps.append((length, comp))
        comps.sort(key=lambda t: -t[0])
        return [c for _, c in comps]


def skeleton_sketch(walk: Walkable, cfg: RouteGenConfig) -> Sketch:
    """The raw skeleton of the walkable space eroded by ``cfg.clearance``, as a Sketch."""
    eroded = walk.mask & (walk.clearance >= cfg.clearance)
    pg = skeleton_graph(thin(eroded))
    sk = Sketch()
    xy = walk.to_xy(pg.nodes) if len(pg.nodes) else np.zeros((0, 2))
    ids = [sk.add_node(p) for p in xy]
    for a, b, pix in pg.edges:
        sk.add_edge(ids[a], ids[b], walk.to_xy(pix) if len(pix) else np.zeros((0, 2)))
    return sk


def _node_clearance(sk: Sketch, walk: Walkable, n: int) -> float:
    return float(walk.clearance_at(sk.nodes[n])[0])


def clean_sketch(sk: Sketch, walk: Walkable, cfg: RouteGenConfig) -> None:
    """Prune spurs and short loops, merge nearby junctions and dissolve pass-through nodes."""
    changed = True
    while changed:
        changed = False
        for e in list(sk.edges):
            ed = sk.edges.get(e)
            if ed is not None and ed.u == ed.v and ed.length < cfg.min_loop_length:
                sk.remove_edge(e)
                changed = True
        for n in list(sk.nodes):
            if n not in sk.nodes or n in sk.fixed or sk.degree(n) != 1:
                continue
            (e,) = tuple(sk.adj[n])
            other = sk.other(e, n)
            if sk.degree(other) < 3 and other not in sk.fixed:
                continue  # an isolated segment or the end of a dead-end path: kept
            if sk.edges[e].length < cfg.spur_length + _node_clearance(sk, walk, other):
                sk.remove_node(n)
                changed = True
        # parallel edges (two sides of a post or speckle): keep the shorter when short
        by_pair: dict[tuple[int, int], list[int]] = {}
        for e, ed in sk.edges.items():
            if ed.u != ed.v:
                by_pair.setdefault((min(ed.u, ed.v), max(ed.u, ed.v)), []).append(e)
        for es in by_pair.values():
            if len(es) < 2:
                continue
            es.sort(key=lambda k: sk.edges[k].length)
            for e in es[1:]:
                if sk.edges[e].length + sk.edges[es[0]].length < cfg.min_loop_length:
                    sk.remove_edge(e)
                    changed = True
        for e in list(sk.edges):
            ed = sk.edges.get(e)
            if ed is None or ed.u == ed.v or ed.length >= cfg.merge_distance:
                continue
            if sk.degree(ed.u) >= 3 and sk.degree(ed.v) >= 3:
                sk.merge(ed.u, ed.v)
                changed = True
        before = len(sk.nodes)
        sk.dissolve_all()
        changed = changed or len(sk.nodes) != before
    for n in [n for n in sk.nodes if not sk.adj[n] and n not in sk.fixed]:
        sk.remove_node(n)


def keep_components(sk: Sketch, walk: Walkable, radius: float,
                    anchors: FloatArray | None = None) -> None:
    """Keep, for each anchor point (m), the graph component nearest to it among those the robot
    (``radius`` m) can drive to from it; the largest component without anchors."""
    comps = sk.components()
    if not comps:
        return
    pts = np.asarray(anchors if anchors is not None else np.zeros((0, 2)),
                     dtype=np.float64).reshape(-1, 2)
    keep: set[int] = set()
    if len(pts):
        lab, _ = ndimage.label(walk.mask & (walk.clearance >= radius))
        ids = np.array(sorted(sk.nodes))
        xy = np.array([sk.nodes[n] for n in ids])
        rr, cc = walk.to_cell(xy)
        node_region = lab[rr, cc]
        comp_of = {n: i for i, c in enumerate(comps) for n in c}
        r, c = walk.to_cell(pts)
        for k, a in enumerate(pts):
            same = node_region == lab[r[k], c[k]] if lab[r[k], c[k]] else np.ones(len(ids), bool)
            if not same.any():
                continue
            d = np.where(same, np.hypot(*(xy - a).T), np.inf)
            keep |= comps[comp_of[int(ids[int(np.argmin(d))])]]
    if not keep:
        keep = comps[0]
    for n in [n for n in sk.nodes if n not in keep]:
        sk.remove_node(n)


def simplify_and_split(sk: Sketch, walk: Walkable, cfg: RouteGenConfig) -> None:
    """Simplify every edge polyline and cut edges longer than ``cfg.max_edge_length``."""
    for e in list(sk.edges):
        ed = sk.edges[e]
        line = LineString(ed.pts)
        simple = line.simplify(cfg.simplify_tolerance, preserve_topology=False)
        pts = np.asarray(simple.coords, dtype=np.float64)
        if len(pts) < 2 or ed.u == ed.v:
            pts = ed.pts
        # a simplified chord must not cut a corner closer to an obstacle than the margin allows
        ed.pts = pts if _min_clearance(walk, pts) >= cfg.robot_radius else ed.pts
    for e in list(sk.edges):
        ed = sk.edges[e]
        length = ed.length
        pieces = max(1, math.ceil(length / cfg.max_edge_length - 1e-9))
        if ed.u == ed.v:
            pieces = max(pieces, 3)  # a loop needs nodes of its own
        if pieces == 1:
            continue
        line = LineString(ed.pts)
        cuts = [length * k / pieces for k in range(1, pieces)]
        u, v, pts = ed.u, ed.v, ed.pts
        sk.remove_edge(e)
        cum = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))))
        prev_node, prev_s = u, 0.0
        for s in [*cuts, length]:
            if s < length:
                p = line.interpolate(s)
                node = sk.add_node((p.x, p.y))
            else:
                node = v
            inner = pts[(cum > prev_s + 1e-9) & (cum < s - 1e-9)]
            sk.add_edge(prev_node, node, inner)
            prev_node, prev_s = node, s


def _min_clearance(walk: Walkable, pts: FloatArray, step: float | None = None) -> float:
    """Least clearance (m) along a polyline, sampled every ``step`` m (half a cell)."""
    dense = densify(pts, step or 0.5 * walk.resolution)
    return float(np.min(walk.clearance_at(dense))) if len(dense) else 0.0


def densify(pts: FloatArray, step: float) -> FloatArray:
    """(M, 2) points along a polyline at most ``step`` m apart, the vertices included."""
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 2:
        return pts
    out = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        n = max(1, math.ceil(float(np.hypot(*(b - a))) / step))
        t = np.arange(1, n + 1)[:, None] / n
        out.append(a + t * (b - a))
    return np.vstack(out)


# -- joining points to the graph ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Joined:
    """A point joined to the graph: its node and the spur's length (m)."""

    node: int
    spur_length: float


def join_point(sk: Sketch, walk: Walkable, xy: Sequence[float], radius: float,
               max_distance: float = 40.0) -> Joined | None:
    """Add a fixed node at ``xy`` and a spur to the nearest graph point it can reach: a straight
    line clear by ``radius`` (m) when there is one, else a path on the grid. None (nothing
    added) when no graph point within ``max_distance`` m can be reached."""
    p = np.asarray(xy, dtype=np.float64).reshape(2)
    if float(walk.clearance_at(p)[0]) < radius:
        return None
    cands: list[tuple[float, int, float, FloatArray]] = []  # (distance, edge, arc length, point)
    for e, ed in sk.edges.items():
        seg_a, seg_b = ed.pts[:-1], ed.pts[1:]
        d = seg_b - seg_a
        ll = np.maximum(np.sum(d * d, axis=1), 1e-12)
        t = np.clip(np.sum((p - seg_a) * d, axis=1) / ll, 0.0, 1.0)
        proj = seg_a + t[:, None] * d
        dist = np.hypot(*(proj - p).T)
        k = int(np.argmin(dist))
        if dist[k] <= max_distance:
            cum = np.concatenate(([0.0], np.cumsum(np.sqrt(ll))))
            cands.append((float(dist[k]), e, float(cum[k] + t[k] * math.sqrt(ll[k])), proj[k]))
    cands.sort(key=lambda c: c[0])
    for dist, e, s, q in cands[:12]:
        if _min_clearance(walk, np.vstack((p, q))) >= radius:
            return _attach(sk, p, e, s, np.zeros((0, 2)), dist)
    path = _grid_path(walk, p, sk, radius, max_distance)
    if path is None:
        return None
    pts, e, s = path
    return _attach(sk, p, e, s, pts[1:-1], float(np.sum(np.hypot(*np.diff(pts, axis=0).T))))


def _attach(sk: Sketch, p: FloatArray, e: int, s: float, inner: FloatArray,
            length: float) -> Joined:
    """Split edge ``e`` at arc length ``s`` (or use its end node when close) and add the spur."""
    ed = sk.edges[e]
    total = ed.length
    if s < 0.5 or total - s < 0.5:
        at = ed.u if s < total - s else ed.v
    else:
        line = LineString(ed.pts)
        q = line.interpolate(s)
        at = sk.add_node((q.x, q.y))
        cum = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(ed.pts, axis=0).T))))
        u, v, pts = ed.u, ed.v, ed.pts
        sk.remove_edge(e)
        sk.add_edge(u, at, pts[(cum > 1e-9) & (cum < s - 1e-9)])
        sk.add_edge(at, v, pts[(cum > s + 1e-9) & (cum < total - 1e-9)])
    if float(np.hypot(*(sk.nodes[at] - p))) < SNAP_M and at not in sk.fixed:
        sk.move(at, p)
        sk.fixed.add(at)
        return Joined(at, 0.0)
    n = sk.add_node(p, fixed=True)
    sk.add_edge(n, at, inner)
    return Joined(n, length)


def _grid_path(walk: Walkable, p: FloatArray, sk: Sketch, radius: float,
               max_distance: float) -> tuple[FloatArray, int, float] | None:
    """Shortest grid path (8-connected, cells clear by ``radius``) from ``p`` to a cell an edge
    passes through, within ``max_distance`` m: (points, edge, arc length of the end on it)."""
    res = walk.resolution
    r0, c0 = (int(v[0]) for v in walk.to_cell(p.reshape(1, 2)))
    k = int(math.ceil(max_distance / res))
    h, w = walk.mask.shape
    rlo, rhi, clo, chi = max(0, r0 - k), min(h, r0 + k + 1), max(0, c0 - k), min(w, c0 + k + 1)
    ok = walk.clearance[rlo:rhi, clo:chi] >= radius
    target = np.full(ok.shape, -1, dtype=np.int64)
    samples: list[tuple[int, float, FloatArray]] = []
    for e, ed in sk.edges.items():
        dense = densify(ed.pts, 0.5 * res)
        cum = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(dense, axis=0).T))))
        rr, cc = walk.to_cell(dense)
        inwin = (rr >= rlo) & (rr < rhi) & (cc >= clo) & (cc < chi)
        for i in np.flatnonzero(inwin):
            target[rr[i] - rlo, cc[i] - clo] = len(samples)
            samples.append((e, float(cum[i]), dense[i]))
    if not samples:
        return None
    # Dijkstra on the window (8 neighbours; a diagonal step costs sqrt 2).
    dist = np.full(ok.shape, np.inf)
    start = (r0 - rlo, c0 - clo)
    dist[start] = 0.0
    parent = np.full(ok.shape + (2,), -1, dtype=np.int64)
    steps = [(dr, dc, math.hypot(dr, dc)) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
    heap = [(0.0, start)]
    found: tuple[int, int] | None = None
    while heap:
        d0, (r, c) = heapq.heappop(heap)
        if d0 > dist[r, c]:
            continue
        if target[r, c] >= 0:
            found = (r, c)
            break
        for dr, dc, cost in steps:
            rr_, cc_ = r + dr, c + dc
            if 0 <= rr_ < ok.shape[0] and 0 <= cc_ < ok.shape[1] and ok[rr_, cc_]:
                nd = d0 + cost
                if nd < dist[rr_, cc_]:
                    dist[rr_, cc_] = nd
                    parent[rr_, cc_] = (r, c)
                    heapq.heappush(heap, (nd, (rr_, cc_)))
    if found is None:
        return None
    cells = [found]
    while cells[-1] != start:
        pr, pc = parent[cells[-1]]
        cells.append((int(pr), int(pc)))
    cells.reverse()
    rc = np.array(cells, dtype=np.float64) + np.array([rlo, clo])
    e, s, q = samples[int(target[found])]
    pts = np.vstack((p, walk.to_xy(rc)[1:-1], q))
    line = LineString(pts).simplify(walk.resolution, preserve_topology=False)
    simple = np.asarray(line.coords, dtype=np.float64)
    if _min_clearance(walk, simple) >= radius:
        pts = simple
    return pts, e, s


# -- to the route graph -----------------------------------------------------------------------
def sketch_to_graph(sk: Sketch, walk: Walkable, cfg: RouteGenConfig,
                    crossing_polys: Sequence[Polygon] = ()) -> RouteGraph:
    """Number nodes (by position) and edges, one directed edge per direction, with Nav2 route
    metadata: ``speed_limit`` (m/s), ``clearance`` (m), ``width`` (m, twice the clearance) and
    ``crosswalk`` (most of the edge on a road crossing)."""
    for e in list(sk.edges):  # edges shorter than the file's millimetres: one node
        ed = sk.edges.get(e)
        if ed is not None and ed.u != ed.v and ed.length < SNAP_M:
            sk.merge(ed.u, ed.v)
    order = sorted(sk.nodes, key=lambda n: (round(float(sk.nodes[n][0]), 3),
                                            round(float(sk.nodes[n][1]), 3)))
    nid = {n: i + 1 for i, n in enumerate(order)}
    nodes = [RouteNode(nid[n], round(float(sk.nodes[n][0]), 3), round(float(sk.nodes[n][1]), 3))
             for n in order]
    base = 10 ** max(1, math.ceil(math.log10(len(nodes) + 1)))
    edges: list[RouteEdge] = []
    ekeys = sorted(sk.edges, key=lambda e: (min(nid[sk.edges[e].u], nid[sk.edges[e].v]),
                                            max(nid[sk.edges[e].u], nid[sk.edges[e].v]),
                                            sk.edges[e].length))
    for e in ekeys:
        ed = sk.edges[e]
        if nid[ed.u] > nid[ed.v]:
            u, v, pts = ed.v, ed.u, ed.pts[::-1]
        else:
            u, v, pts = ed.u, ed.v, ed.pts
        pts = np.round(pts, 3)
        pts[0], pts[-1] = [nodes[nid[u] - 1].x, nodes[nid[u] - 1].y], \
            [nodes[nid[v] - 1].x, nodes[nid[v] - 1].y]
        dense = densify(pts, 0.5 * walk.resolution)
        clearance = round(float(np.min(walk.clearance_at(dense))), 2)
        rr, cc = walk.to_cell(dense)
        on_crossing = bool(np.mean(walk.crossing[rr, cc]) >= 0.5)
        if crossing_polys and not on_crossing and len(pts) >= 2:
            line = LineString(pts)
            on_crossing = any(line.intersection(c).length >= 0.5 * line.length
                              for c in crossing_polys)
        speed = cfg.narrow_speed_limit if clearance < cfg.narrow_clearance else cfg.speed_limit
        length = float(np.sum(np.hypot(*np.diff(pts, axis=0).T)))
        meta = {"speed_limit": speed, "clearance": clearance,
                "width": round(max(2.0 * clearance, 0.01), 2), "crosswalk": on_crossing}
        tpts = tuple((float(x), float(y)) for x, y in pts)
        for a, b, p in ((u, v, tpts), (v, u, tpts[::-1])):
            eid = base + len(edges)
            edges.append(RouteEdge(eid, nid[a], nid[b], length, speed, meta["width"],
                                   on_crossing, round(length, 3), True, p, dict(meta)))
    return RouteGraph.build(nodes, edges)


def generate_sketch(walk: Walkable, cfg: RouteGenConfig) -> Sketch:
    """Skeleton of the walkable space, cleaned (before any point is joined)."""
    if not walk.mask.any():
        raise MapError("walkable space: empty (no free cell on the walkable surface)")
    sk = skeleton_sketch(walk, cfg)
    clean_sketch(sk, walk, cfg)
    return sk


def sketch_from_lines(lines: Sequence[LineString], area: BaseGeometry | None = None,
                      snap: float = 1.0) -> Sketch:
    """A sketch of given route lines (map metres): clipped to ``area``, ends within ``snap`` m of
    another line snapped onto it, and noded wherever two lines meet or cross."""
    geoms: list[LineString] = []
    for ln in lines:
        g = ln.intersection(area) if area is not None else ln
        for part in getattr(g, "geoms", [g]):
            if isinstance(part, LineString) and part.length > 1e-6:
                geoms.append(part)
    if not geoms:
        raise MapError("route lines: none inside the operating area")
    snapped: list[LineString] = []
    for i, ln in enumerate(geoms):
        others = shapely.union_all([g for j, g in enumerate(geoms) if j != i])
        pts = [np.asarray(ln.coords, dtype=np.float64)]
        for end in (0, -1):
            p = shapely.Point(pts[0][end])
            if others.is_empty or others.distance(p) > snap or others.distance(p) < 1e-9:
                continue
            q = shapely.ops.nearest_points(others, p)[0]
            if end == 0:
                pts[0] = np.vstack(([[q.x, q.y]], pts[0]))
            else:
                pts[0] = np.vstack((pts[0], [[q.x, q.y]]))
        snapped.append(LineString(pts[0]))
    noded = shapely.node(shapely.MultiLineString(snapped))
    sk = Sketch()
    at: dict[tuple[float, float], int] = {}

    def node(p: Sequence[float]) -> int:
        key = (round(float(p[0]), 3), round(float(p[1]), 3))
        if key not in at:
            at[key] = sk.add_node(key)
        return at[key]

    for seg in getattr(noded, "geoms", [noded]):
        c = np.asarray(seg.coords, dtype=np.float64)
        if len(c) < 2 or seg.length < 1e-6:
            continue
        sk.add_edge(node(c[0]), node(c[-1]), c[1:-1])
    return sk
