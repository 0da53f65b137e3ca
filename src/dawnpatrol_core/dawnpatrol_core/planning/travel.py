"""All-pairs travel times and distances between stops along the sidewalk route graph.

Each stop is joined to its nearest graph node by a straight access leg; node-to-node legs are the
fastest paths of the graph (one Dijkstra per distinct snapped node, not per graph node).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from dawnpatrol_core.errors import PlanningError
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class TravelMatrices:
    """Travel between N stops.

    ``duration``: (N, N) float64, seconds, fastest path ``i -> j`` (inf when unreachable).
    ``distance``: (N, N) float64, metres driven along that fastest path (inf when unreachable).
    ``node_ids``: (N,) int64, the route node each stop was snapped to.
    ``access``: (N,) float64, metres of the straight access leg from stop to its node.
    """

    duration: FloatArray
    distance: FloatArray
    node_ids: IntArray
    access: FloatArray


def _edge_speeds(
    graph: RouteGraph,
    edges: list[RouteEdge],
    speed_of_edge: Callable[[RouteEdge], float] | None,
    max_speed: float | None,
) -> FloatArray:
    if speed_of_edge is None:
        speeds = np.array([e.speed_limit for e in edges], dtype=np.float64)
    else:
        speeds = np.array([speed_of_edge(e) for e in edges], dtype=np.float64)
    if max_speed is not None:
        speeds = np.minimum(speeds, max_speed)
    bad = ~(speeds > 0.0) | ~np.isfinite(speeds)
    if bad.any():
        first = edges[int(np.flatnonzero(bad)[0])]
        raise PlanningError(
            f"route edge {first.id}: field 'speed': got {float(speeds[bad][0])!r}, "
            "expected a finite speed > 0 m/s"
        )
    return speeds


def travel_time_matrix(
    graph: RouteGraph,
    points: FloatArray,
    speed_of_edge: Callable[[RouteEdge], float] | None = None,
    *,
    max_speed: float | None = None,
    access_speed: float = 1.0,
) -> TravelMatrices:
    """Fastest travel between every pair of ``points``: (N, 2) float64, metres, map frame.

    ``speed_of_edge`` gives the allowed speed (m/s) on an edge, e.g. the minimum of the edge
    limit and the zone limits it crosses; by default ``edge.speed_limit``. ``max_speed`` (m/s)
    caps every edge (the robot's top speed). The access leg from a point to its nearest node is
    straight and driven at ``access_speed`` m/s. Identical points are 0 apart.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise PlanningError(f"points: got shape {pts.shape}, expected (N, 2)")
    if not graph.nodes:
        raise PlanningError("route graph: got 0 nodes, expected at least 1")
    if access_speed <= 0.0:
        raise PlanningError(f"field 'access_speed': got {access_speed!r}, expected > 0 m/s")

    node_ids = np.array(sorted(graph.nodes), dtype=np.int64)
    index_of = {int(nid): k for k, nid in enumerate(node_ids)}
    xy = np.array([[graph.nodes[int(n)].x, graph.nodes[int(n)].y] for n in node_ids])
    n_nodes = len(node_ids)

    edges = [e for e in graph.edges.values() if e.start in index_of and e.end in index_of]
    u = np.array([index_of[e.start] for e in edges], dtype=np.int64)
    v = np.array([index_of[e.end] for e in edges], dtype=np.int64)
    length = np.array([e.length for e in edges], dtype=np.float64)
    time = length / _edge_speeds(graph, edges, speed_of_edge, max_speed) if edges else length

    # Keep the fastest of parallel edges so that a (u, v) pair names one edge.
    keep = u != v
    u, v, length, time = u[keep], v[keep], length[keep], time[keep]
    key = u * n_nodes + v
    order = np.lexsort((time, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    sel = order[first]
    u, v, length, time, key = u[sel], v[sel], length[sel], time[sel], key[sel]
    # csgraph treats explicit zeros as missing edges; a tiny positive time keeps them.
    weights = np.maximum(time, 1e-9)
    time_graph = csr_matrix((weights, (u, v)), shape=(n_nodes, n_nodes))

    tree = cKDTree(xy)
    access, snapped = tree.query(pts)
    access = np.asarray(access, dtype=np.float64)
    snapped = np.asarray(snapped, dtype=np.int64)
    sources, inverse = np.unique(snapped, return_inverse=True)

    node_time, pred = dijkstra(time_graph, directed=True, indices=sources, return_predecessors=True)
    node_dist = _path_lengths(pred, sources, key, length, n_nodes)

    t_nodes = node_time[inverse][:, snapped]
    d_nodes = node_dist[inverse][:, snapped]
    duration = access[:, None] / access_speed + t_nodes + access[None, :] / access_speed
    distance = access[:, None] + d_nodes + access[None, :]
    same = np.all(np.abs(pts[:, None, :] - pts[None, :, :]) < 1e-9, axis=2)
    duration[same] = 0.0
    distance[same] = 0.0
    return TravelMatrices(
        duration=duration, distance=distance, node_ids=node_ids[snapped], access=access
    )


def _path_lengths(
    pred: IntArray, sources: IntArray, key: IntArray, length: FloatArray, n_nodes: int
) -> FloatArray:
    """Metres along each shortest-path tree: (S, V) float64, inf where unreachable.

    Pointer jumping: every node accumulates its ancestors' edge lengths in O(log depth) rounds.
    """
    n_src = pred.shape[0]
    rows = np.arange(n_src)[:, None]
    has_pred = pred >= 0
    parent = np.where(has_pred, pred, np.arange(n_nodes)[None, :])
    edge_key = parent * n_nodes + np.arange(n_nodes)[None, :]
    pos = np.clip(np.searchsorted(key, edge_key), 0, max(len(key) - 1, 0))
    acc = np.where(has_pred, length[pos] if len(key) else 0.0, 0.0).astype(np.float64)
    while True:
        grand = parent[rows, parent]
        if np.array_equal(grand, parent):
            break
        acc = acc + acc[rows, parent] * (parent != np.arange(n_nodes)[None, :])
        parent = grand
    acc = acc + acc[rows, parent] * (parent != np.arange(n_nodes)[None, :])
    reachable = has_pred.copy()
    reachable[np.arange(n_src), sources] = True
    return np.where(reachable, acc, np.inf)
