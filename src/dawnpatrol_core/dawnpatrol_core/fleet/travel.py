"""Travel times and distances on the district's sidewalk graph, honouring edge and zone speed
limits: the TravelFn the dispatcher, the patrol scheduler and the investigator choice use."""

from __future__ import annotations

from collections.abc import Callable

from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.maps.route_graph import RouteEdge
from dawnpatrol_core.planning.dispatch import TravelFn
from dawnpatrol_core.planning.travel import FloatArray, travel_time_matrix


def edge_speed_fn(dm: DistrictMap) -> Callable[[RouteEdge], float]:
    """Allowed speed (m/s) on an edge: its own limit and the zone limit at its midpoint."""
    cache: dict[int, float] = {}

    def speed(e: RouteEdge) -> float:
        v = cache.get(e.id)
        if v is None:
            pts = e.points or ((dm.graph.nodes[e.start].x, dm.graph.nodes[e.start].y),
                               (dm.graph.nodes[e.end].x, dm.graph.nodes[e.end].y))
            mx = 0.5 * (pts[0][0] + pts[-1][0])
            my = 0.5 * (pts[0][1] + pts[-1][1])
            v = min(e.speed_limit, dm.speed_limit_at(mx, my))
            cache[e.id] = v
        return v

    return speed


def make_travel(dm: DistrictMap) -> TravelFn:
    """``travel(points (N,2) m, speed m/s) -> (seconds (N,N), metres (N,N))`` along the sidewalk
    graph honouring zone speed limits."""
    speed = edge_speed_fn(dm)

    def travel(points: FloatArray, top_speed: float) -> tuple[FloatArray, FloatArray]:
        m = travel_time_matrix(dm.graph, points, speed, max_speed=top_speed,
                               access_speed=min(1.0, top_speed))
        return m.duration, m.distance

    return travel
