"""A* route search on the sidewalk route graph, with poses joined onto the nearest edge.

Edge cost is travel time: length / min(edge speed limit, zone limit) plus a crosswalk penalty.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.control.zone_rules import ZoneRules
from dawnpatrol_core.errors import ConfigError, PlanningError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.route_graph import RouteGraph

FloatArray = npt.NDArray[np.float64]
__all__ = ["GraphJoin", "Route", "RoutePlanner", "RouteSearchConfig", "ZoneRules"]

#: A pose this close to an edge's polyline (m) stands on that sidewalk (half its usual width,
#: plus localization error).
_ON_EDGE_M = 3.0


@dataclass(frozen=True, slots=True)
class RouteSearchConfig:
    """Tuning of the route search.

    ``crosswalk_penalty``: seconds added per crosswalk edge (waiting for a gap, crossing care).
    ``max_join_distance``: metres; a pose farther than this from every open edge is not joined.
    ``join_speed``: m/s assumed for the straight legs between a pose and its join point.
    """

    crosswalk_penalty: float = 15.0
    max_join_distance: float = 15.0
    join_speed: float = 1.0

    def __post_init__(self) -> None:
        if self.crosswalk_penalty < 0.0:
            raise ConfigError(
                f"RouteSearchConfig: field 'crosswalk_penalty': got {self.crosswalk_penalty!r}, "
                "expected >= 0"
            )
        if self.max_join_distance <= 0.0 or self.join_speed <= 0.0:
            raise ConfigError(
                "RouteSearchConfig: field 'max_join_distance'/'join_speed': got "
                f"{self.max_join_distance!r}/{self.join_speed!r}, expected > 0"
            )


@dataclass(frozen=True, slots=True)
class GraphJoin:
    """Where a pose meets the graph: on edge ``edge_id`` at arc length ``s`` (m) from its start.

    ``x``/``y``: the projected point (m); ``distance``: metres from the pose to that point.
    """

    edge_id: int
    s: float
    x: float
    y: float
    distance: float


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """A planned route.

    ``node_ids``: graph nodes passed, in order. ``edge_ids``: edges used (the first and last may be
    used only in part, from/to a join point). ``points``: (N, 2) float64 polyline, metres, from the
    start position to the goal position. ``length``: metres along ``points``. ``eta``: seconds.
    """

    node_ids: tuple[int, ...]
    edge_ids: tuple[int, ...]
    points: FloatArray
    length: float
    eta: float


Endpoint = Pose2D | int


def _polyline_length(p: FloatArray) -> FloatArray:
    """Cumulative arc length (N,) of an (N, 2) polyline, starting at 0."""
    if len(p) < 2:
        return np.zeros(len(p))
    seg = np.hypot(np.diff(p[:, 0]), np.diff(p[:, 1]))
    return np.concatenate(([0.0], np.cumsum(seg)))


def _cut(p: FloatArray, cum: FloatArray, s0: float, s1: float) -> FloatArray:
    """Sub-polyline of ``p`` between arc lengths s0 <= s1 (m), endpoints interpolated."""
    xs = np.interp([s0, s1], cum, p[:, 0])
    ys = np.interp([s0, s1], cum, p[:, 1])
    inner = (cum > s0) & (cum < s1)
    mid = p[inner]
    return np.vstack(([[xs[0], ys[0]]], mid, [[xs[1], ys[1]]]))


class RoutePlanner:
    """Shortest-time routes on one :class:`RouteGraph`; arrays are precomputed at construction."""

    def __init__(
        self,
        graph: RouteGraph,
        zones: ZoneRules | None = None,
        config: RouteSearchConfig | None = None,
    ) -> None:
        self.graph = graph
        self.config = config or RouteSearchConfig()
        cfg = self.config
        self._node_ids: list[int] = sorted(graph.nodes)
        self._node_index = {nid: i for i, nid in enumerate(self._node_ids)}
        self._xs = [graph.nodes[n].x for n in self._node_ids]
        self._ys = [graph.nodes[n].y for n in self._node_ids]
        self._edge_ids: list[int] = sorted(graph.edges)
        self._edge_index = {eid: i for i, eid in enumerate(self._edge_ids)}

        n_edges = len(self._edge_ids)
        self._edge_start = [0] * n_edges
        self._edge_end = [0] * n_edges
        self._edge_len = [0.0] * n_edges
        self._edge_speed = [0.0] * n_edges
        self._edge_cost = [0.0] * n_edges
        self._edge_points: list[FloatArray] = []
        self._edge_cum: list[FloatArray] = []
        pair: dict[tuple[int, int], int] = {}
        seg_rows: list[FloatArray] = []
        seg_edge: list[FloatArray] = []
        seg_s0: list[FloatArray] = []
        for i, eid in enumerate(self._edge_ids):
            e = graph.edges[eid]
            if e.start not in self._node_index or e.end not in self._node_index:
                raise PlanningError(f"route graph: edge {eid}: names a missing node")
            a, b = graph.nodes[e.start], graph.nodes[e.end]
            pts = (
                np.asarray(e.points, dtype=np.float64)
                if len(e.points) >= 2
                else np.array([[a.x, a.y], [b.x, b.y]], dtype=np.float64)
            )
            cum = _polyline_length(pts)
            speed = e.speed_limit
            if zones is not None:
                mids = 0.5 * (pts[1:] + pts[:-1])
                probe = np.vstack((pts, mids))
                speed = min(speed, float(np.min(zones.speed_limits_xy(probe))))
            if speed <= 0.0 or e.length < 0.0:
                raise PlanningError(
                    f"route graph: edge {eid}: field 'speed_limit': got {speed!r}, expected > 0"
                )
            self._edge_start[i] = self._node_index[e.start]
            self._edge_end[i] = self._node_index[e.end]
            self._edge_len[i] = e.length
            self._edge_speed[i] = speed
            self._edge_cost[i] = e.length / speed + (cfg.crosswalk_penalty if e.crosswalk else 0.0)
            self._edge_points.append(pts)
            self._edge_cum.append(cum)
            pair[(e.start, e.end)] = i
            seg_rows.append(np.hstack((pts[:-1], pts[1:])))
            seg_edge.append(np.full(len(pts) - 1, i, dtype=np.float64))
            seg_s0.append(cum[:-1])
        self._reverse = [
            pair.get((graph.edges[eid].end, graph.edges[eid].start), -1)
            for eid in self._edge_ids
        ]
        self._adj: list[list[tuple[int, int, float]]] = [[] for _ in self._node_ids]
        for i in range(n_edges):
            self._adj[self._edge_start[i]].append((self._edge_end[i], i, self._edge_cost[i]))
        self._inv_vmax = 1.0 / max(self._edge_speed) if n_edges else 1.0
        # Segment table for joining: (S, 4) x0 y0 x1 y1, owning edge index, arc length at x0.
        self._seg = np.vstack(seg_rows) if seg_rows else np.zeros((0, 4))
        self._seg_edge = (np.concatenate(seg_edge) if seg_edge else np.zeros(0)).astype(np.int64)
        self._seg_s0 = np.concatenate(seg_s0) if seg_s0 else np.zeros(0)

    def edge_speed(self, edge_id: int) -> float:
        """Effective speed (m/s) on an edge: min of its own limit and the zone limits along it."""
        return self._edge_speed[self._edge_index[edge_id]]

    def join(self, x: float, y: float, closed_edges: Collection[int] = ()) -> GraphJoin:
        """Project the point (x, y) onto the nearest open edge; PlanningError when too far."""
        seg = self._seg
        if len(seg) == 0:
            raise PlanningError("route graph: field 'edges': got 0 edges, expected at least one")
        dx = seg[:, 2] - seg[:, 0]
        dy = seg[:, 3] - seg[:, 1]
        ll = dx * dx + dy * dy
        t = np.clip(((x - seg[:, 0]) * dx + (y - seg[:, 1]) * dy) / np.maximum(ll, 1e-12), 0, 1)
        px = seg[:, 0] + t * dx
        py = seg[:, 1] + t * dy
        d2 = (px - x) ** 2 + (py - y) ** 2
        if closed_edges:
            closed_idx = [self._edge_index[c] for c in closed_edges if c in self._edge_index]
            rev = np.asarray(self._reverse)[self._seg_edge]
            c_arr = np.asarray(closed_idx, dtype=np.int64)
            both = np.isin(self._seg_edge, c_arr) & ((rev < 0) | np.isin(rev, c_arr))
            d2 = np.where(both, np.inf, d2)
        k = int(np.argmin(d2))
        dist = math.sqrt(float(d2[k]))
        if not dist <= self.config.max_join_distance:
            raise PlanningError(
                f"route join: field 'pose': got ({x:.2f}, {y:.2f}), expected within "
                f"{self.config.max_join_distance} m of an open sidewalk edge (nearest {dist:.1f} m)"
            )
        ei = int(self._seg_edge[k])
        s = float(self._seg_s0[k] + t[k] * math.sqrt(float(ll[k])))
        return GraphJoin(self._edge_ids[ei], s, float(px[k]), float(py[k]), dist)

    def plan(
        self, start: Endpoint, goal: Endpoint, closed_edges: Collection[int] = ()
    ) -> Route:
        """Fastest route from ``start`` to ``goal`` (a pose, joined to the graph, or a node id).

        ``closed_edges``: edge ids that must not be used (e.g. a blocked sidewalk).
        Raises PlanningError when the goal cannot be reached.
        """
        closed = {self._edge_index[c] for c in closed_edges if c in self._edge_index}
        cfg = self.config
        # Sources: (node index, initial cost, polyline piece, edge index or -1).
        sources: list[tuple[int, float, FloatArray, int]] = []
        sinks: dict[int, tuple[float, FloatArray, int]] = {}
        direct: tuple[float, FloatArray, int] | None = None
        sj = gj = None
        if isinstance(start, Pose2D):
            behind = self._way_back(start, closed)
            sj = behind[0] if behind is not None else self.join(start.x, start.y, closed_edges)
            lead = np.array([[start.x, start.y]])
            lead_cost = sj.distance / cfg.join_speed
            for ei, s_on, _ in self._directions(self._edge_index[sj.edge_id], sj.s):
                if ei in closed and (behind is None or ei != behind[1]):
                    continue
                pts, cum = self._edge_points[ei], self._edge_cum[ei]
                piece = _cut(pts, cum, s_on, float(cum[-1]))
                frac = 1.0 - s_on / max(float(cum[-1]), 1e-9)
                cost = lead_cost + self._partial_cost(ei, frac)
                sources.append((self._edge_end[ei], cost, np.vstack((lead, piece)), ei))
        else:
            sources.append((self._node(start), 0.0, self._node_xy(self._node(start)), -1))
        if isinstance(goal, Pose2D):
            gj = self.join(goal.x, goal.y, closed_edges)
            tail = np.array([[goal.x, goal.y]])
            tail_cost = gj.distance / cfg.join_speed
            for ei, s_on, _ in self._directions(self._edge_index[gj.edge_id], gj.s):
                if ei in closed:
                    continue
                pts, cum = self._edge_points[ei], self._edge_cum[ei]
                piece = _cut(pts, cum, 0.0, s_on)
                frac = s_on / max(float(cum[-1]), 1e-9)
                cost = tail_cost + self._partial_cost(ei, frac)
                node = self._edge_start[ei]
                if node not in sinks or cost < sinks[node][0]:
                    sinks[node] = (cost, np.vstack((piece, tail)), ei)
        else:
            g = self._node(goal)  # goal is a node id here
            sinks[g] = (0.0, self._node_xy(g), -1)
        if sj is not None and gj is not None:
            direct = self._direct(start, goal, sj, gj, closed)

        target: GraphJoin | int = gj if gj is not None else int(goal)  # type: ignore[arg-type]
        return self._search(sources, sinks, direct, target, closed)

    # -- internals ---------------------------------------------------------------------------

    def _node(self, node_id: int) -> int:
        if node_id not in self._node_index:
            raise PlanningError(
                f"route plan: field 'node': got {node_id!r}, expected a graph node id"
            )
        return self._node_index[node_id]

    def _node_xy(self, i: int) -> FloatArray:
        return np.array([[self._xs[i], self._ys[i]]])

    def _partial_cost(self, ei: int, frac: float) -> float:
        """Seconds to travel ``frac`` of edge ``ei`` (crosswalk penalty counted in full)."""
        pen = self._edge_cost[ei] - self._edge_len[ei] / self._edge_speed[ei]
        return frac * self._edge_len[ei] / self._edge_speed[ei] + (pen if frac > 0.0 else 0.0)

    def _way_back(self, start: Pose2D, closed: set[int]) -> tuple[GraphJoin, int] | None:
        """A robot standing on a closed sidewalk (both directions closed: something blocks it)
        leaves it the way it faces away from — it was stopped facing the blockage — rather than
        by a straight leg to the nearest open edge, which may cross what blocks the sidewalk.
        Returns its join and the edge index it may leave by, or None (not on a closed edge)."""
        if not closed:
            return None
        j = self.join(start.x, start.y)
        ei = self._edge_index[j.edge_id]
        if ei not in closed or j.distance > _ON_EDGE_M:
            return None
        r = self._reverse[ei]
        if r >= 0 and r not in closed:
            return None  # one direction is open: the ordinary join uses it
        pts, cum = self._edge_points[ei], self._edge_cum[ei]
        k = int(np.clip(np.searchsorted(cum, j.s, side="right") - 1, 0, len(pts) - 2))
        dx, dy = pts[k + 1] - pts[k]
        if dx * math.cos(start.theta) + dy * math.sin(start.theta) < 0.0:
            return j, ei  # this direction points away from where the robot faces
        return (j, r) if r >= 0 else None

    def _directions(self, ei: int, s: float) -> Iterable[tuple[int, float, bool]]:
        """The edge and its reverse with the join arc length expressed along each."""
        yield ei, s, True
        r = self._reverse[ei]
        if r >= 0:
            yield r, max(0.0, float(self._edge_cum[r][-1]) - s), False

    def _direct(
        self, start: Endpoint, goal: Endpoint, sj: GraphJoin, gj: GraphJoin, closed: set[int]
    ) -> tuple[float, FloatArray, int] | None:
        """Travel along the shared edge when start and goal join the same sidewalk segment."""
        assert isinstance(start, Pose2D) and isinstance(goal, Pose2D)
        si = self._edge_index[sj.edge_id]
        gi = self._edge_index[gj.edge_id]
        s_g = gj.s
        if gi != si:
            if self._reverse[si] != gi:
                return None
            s_g = max(0.0, float(self._edge_cum[si][-1]) - gj.s)
        ei, s0, s1 = si, sj.s, s_g
        if s1 < s0:
            r = self._reverse[si]
            if r < 0:
                return None
            total = float(self._edge_cum[si][-1])
            ei, s0, s1 = r, total - s0, total - s1
        if ei in closed:
            return None
        frac = (s1 - s0) / max(float(self._edge_cum[ei][-1]), 1e-9)
        cost = (sj.distance + gj.distance) / self.config.join_speed + self._partial_cost(ei, frac)
        piece = _cut(self._edge_points[ei], self._edge_cum[ei], s0, s1)
        pts = np.vstack(([[start.x, start.y]], piece, [[goal.x, goal.y]]))
        return cost, pts, ei

    def _search(
        self,
        sources: list[tuple[int, float, FloatArray, int]],
        sinks: dict[int, tuple[float, FloatArray, int]],
        direct: tuple[float, FloatArray, int] | None,
        goal: GraphJoin | int,
        closed: set[int],
    ) -> Route:
        if isinstance(goal, GraphJoin):
            gx, gy = goal.x, goal.y
        else:
            gi = self._node_index[goal]
            gx, gy = self._xs[gi], self._ys[gi]
        xs, ys, inv_v, adj = self._xs, self._ys, self._inv_vmax, self._adj
        n = len(xs)
        g_cost = [math.inf] * n
        parent_edge = [-1] * n
        source_of: dict[int, int] = {}
        heap: list[tuple[float, float, int]] = []
        for k, (node, cost, _, _) in enumerate(sources):
            if cost < g_cost[node]:
                g_cost[node] = cost
                source_of[node] = k
                heapq.heappush(heap, (cost + math.hypot(xs[node] - gx, ys[node] - gy) * inv_v,
                                      cost, node))
        best = direct[0] if direct is not None else math.inf
        best_sink = -1
        done = [False] * n
        while heap:
            f, g, u = heapq.heappop(heap)
            if f >= best:
                break
            if done[u] or g > g_cost[u]:
                continue
            done[u] = True
            sink = sinks.get(u)
            if sink is not None and g + sink[0] < best:
                best = g + sink[0]
                best_sink = u
            for v, ei, c in adj[u]:
                if ei in closed:
                    continue
                ng = g + c
                if ng < g_cost[v]:
                    g_cost[v] = ng
                    parent_edge[v] = ei
                    source_of.pop(v, None)
                    heapq.heappush(heap, (ng + math.hypot(xs[v] - gx, ys[v] - gy) * inv_v, ng, v))
        if best_sink < 0:
            if direct is not None:
                return self._route(direct[1], [], [self._edge_ids[direct[2]]], direct[0])
            raise PlanningError("route plan: field 'goal': got an unreachable goal, expected a "
                                "goal connected to the start by open edges")
        # Walk back from the sink to a source node.
        edges: list[int] = []
        u = best_sink
        while parent_edge[u] >= 0 and u not in source_of:
            edges.append(parent_edge[u])
            u = self._edge_start[parent_edge[u]]
        edges.reverse()
        _, _, src_piece, src_edge = sources[source_of[u]]
        nodes = [u] + [self._edge_end[e] for e in edges]
        pieces = [src_piece] + [self._edge_points[e][1:] for e in edges]
        sink_cost, sink_piece, sink_edge = sinks[best_sink]
        pieces.append(sink_piece[1:] if sink_edge >= 0 else sink_piece[:0])
        used = [src_edge] if src_edge >= 0 else []
        used += edges + ([sink_edge] if sink_edge >= 0 else [])
        return self._route(
            np.vstack(pieces), [self._node_ids[i] for i in nodes],
            [self._edge_ids[e] for e in used], best,
        )

    @staticmethod
    def _route(points: FloatArray, nodes: list[int], edges: list[int], eta: float) -> Route:
        keep = np.ones(len(points), dtype=bool)
        if len(points) > 1:
            keep[1:] = np.hypot(np.diff(points[:, 0]), np.diff(points[:, 1])) > 1e-9
        pts = points[keep]
        return Route(tuple(nodes), tuple(edges), pts, float(_polyline_length(pts)[-1]), eta)
