"""Properties of the committed district maps: connected graph, reachable entrances and hotspots,
edges in free space, inside the operating area and clear of keep-out zones; zone queries."""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.maps.district import DEFAULT_SIDEWALK_SPEED, DistrictMap, load_district_map
from dawnpatrol_core.maps.route_graph import RouteGraph

REPO = Path(__file__).resolve().parents[3]
MAPS = ("test_yard", "suwon_dawn")
#: Robot half-width (m): every edge sample must have free cells this far around it.
CLEARANCE = 0.30
#: An address or hotspot pose must be this close to a route node (m).
MAX_JOIN = 3.0


@pytest.fixture(scope="module", params=MAPS)
def dm(request: pytest.FixtureRequest) -> DistrictMap:
    return load_district_map(REPO / "maps" / request.param)


def _reach(graph: RouteGraph, start: int, reverse: bool) -> set[int]:
    adj: dict[int, list[int]] = {n: [] for n in graph.nodes}
    for e in graph.edges.values():
        a, b = (e.end, e.start) if reverse else (e.start, e.end)
        adj[a].append(b)
    seen, todo = {start}, deque([start])
    while todo:
        for m in adj[todo.popleft()]:
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def test_graph_strongly_connected(dm: DistrictMap) -> None:
    start = min(dm.graph.nodes)
    assert _reach(dm.graph, start, False) == set(dm.graph.nodes)
    assert _reach(dm.graph, start, True) == set(dm.graph.nodes)


def test_every_edge_has_its_reverse(dm: DistrictMap) -> None:
    pairs = {(e.start, e.end) for e in dm.graph.edges.values()}
    assert all((b, a) in pairs for a, b in pairs)


def test_addresses_and_hotspots_join_the_graph(dm: DistrictMap) -> None:
    poses = [a.pose for a in dm.addresses.values()] + [h.observation_pose for h in dm.hotspots]
    assert poses
    for p in poses:
        n = dm.nearest_node(p.x, p.y)
        assert math.hypot(n.x - p.x, n.y - p.y) <= MAX_JOIN
        assert dm.is_allowed(p.x, p.y)


def _samples(points: tuple[tuple[float, float], ...], step: float) -> np.ndarray:
    line = LineString(points)
    d = np.linspace(0.0, line.length, max(2, int(math.ceil(line.length / step)) + 1))
    return np.array([line.interpolate(float(v)).coords[0] for v in d])


def test_edges_lie_in_free_space(dm: DistrictMap) -> None:
    g = dm.grid
    occ = g.occupied
    k = int(math.ceil(CLEARANCE / g.resolution))
    offs = np.array(
        [
            (dr, dc)
            for dr in range(-k, k + 1)
            for dc in range(-k, k + 1)
            if (dr * dr + dc * dc) * g.resolution**2 <= CLEARANCE**2
        ]
    )
    bad = []
    for e in dm.graph.edges.values():
        pts = _samples(e.points, g.resolution)
        r, c = g.world_to_cell(pts[:, 0], pts[:, 1])
        rr = (r[:, None] + offs[None, :, 0]).ravel()
        cc = (c[:, None] + offs[None, :, 1]).ravel()
        assert bool(np.all(g.in_bounds(rr, cc))), f"edge {e.id} leaves the grid"
        if occ[rr, cc].any():
            bad.append(e.id)
    assert bad == []


def test_edges_inside_operating_area_and_clear_of_keep_out(dm: DistrictMap) -> None:
    area = [z.polygon for z in dm.zones_of_kind("operating_area")]
    keep_out = [z.polygon for z in dm.zones_of_kind("keep_out")]
    assert keep_out, "every district has at least one keep-out zone"
    for e in dm.graph.edges.values():
        line = LineString(e.points)
        assert any(a.covers(line) for a in area), f"edge {e.id} leaves the operating area"
        assert not any(k.intersects(line) for k in keep_out), f"edge {e.id} crosses keep-out"


def test_some_keep_out_is_near_a_route() -> None:
    dm = load_district_map(REPO / "maps/suwon_dawn")
    lines = [LineString(e.points) for e in dm.graph.edges.values()]
    near = [
        z.id
        for z in dm.zones_of_kind("keep_out")
        if min(ln.distance(z.polygon) for ln in lines) < 8.0
    ]
    assert near


def test_suwon_queries() -> None:
    dm = load_district_map(REPO / "maps/suwon_dawn")
    assert 6 <= len({a.id.split("-")[0] for a in dm.addresses.values()}) <= 10
    assert dm.speed_limit_at(50.0, 100.0) == 0.8  # school zone
    assert dm.speed_limit_at(150.0, 100.0) == 1.0  # park
    assert dm.speed_limit_at(2.4, 2.4) == DEFAULT_SIDEWALK_SPEED
    assert dm.speed_limit_at(-50.0, -50.0) == DEFAULT_SIDEWALK_SPEED  # no zone at all
    assert not dm.is_allowed(100.0, 30.0)  # carriageway
    assert dm.is_allowed(100.0, 62.6)  # crosswalk
    assert not dm.is_allowed(170.0, 120.0)  # pond keep-out
    kinds = {z.kind for z in dm.zones_at(150.0, 105.0)}
    assert {"operating_area", "speed_limit", "hotspot", "watch"} <= kinds
    depot = dm.nearest_node(69.0, 5.0)
    assert (depot.x, depot.y, depot.name) == (70.0, 6.5, "depot")
    assert dm.address_pose("101-1").as_tuple() == pytest.approx(
        (19.0, 55.0, -math.pi / 2), abs=1e-3
    )
    with pytest.raises(MapError, match="'999-9'"):
        dm.address_pose("999-9")
    school = next(h for h in dm.hotspots if h.id == "hs_school_gate")
    assert (
        school.weight_at(23.0) == 1.5
        and school.weight_at(1.0) == 1.0
        and school.weight_at(12.0) == 0.0
    )
    assert school.max_idleness_s == 1800 and school.dwell_s == 60
    narrow = [
        e
        for e in dm.graph.edges.values()
        if e.width <= 3.0
        and e.speed_limit == 1.0
        and len({n for n in (e.start, e.end) if "alley" in dm.graph.nodes[n].name}) > 0
    ]
    assert (
        len(
            {
                dm.graph.nodes[e.start].name.split("_")[1]
                for e in narrow
                if dm.graph.nodes[e.start].name.startswith("alley")
            }
        )
        >= 2
    )
    assert sum(e.crosswalk for e in dm.graph.edges.values()) >= 8
    assert dm.to_wgs84(0.0, 0.0) == pytest.approx((37.2850, 127.0450), abs=1e-12)


def test_array_queries_agree_with_the_zones_at_each_point(dm: DistrictMap) -> None:
    """allowed_xy / speed_limits_xy (one shapely call per zone) say what zones_at says."""
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = dm.grid.extent
    xy = np.column_stack((rng.uniform(x0 - 5, x1 + 5, 3000), rng.uniform(y0 - 5, y1 + 5, 3000)))
    # points exactly on zone boundaries count as inside (intersects)
    edge = np.array([z.polygon.exterior.coords[0] for z in dm.zones], dtype=float)
    xy = np.vstack((xy, edge))
    allowed, limits = dm.allowed_xy(xy), dm.speed_limits_xy(xy)
    for (x, y), ok, lim in zip(xy, allowed, limits, strict=True):
        zs = dm.zones_at(float(x), float(y))
        kinds = {z.kind for z in zs}
        assert ok == ("operating_area" in kinds and "keep_out" not in kinds), (x, y)
        want = min((z.speed_limit for z in zs if z.speed_limit is not None),
                   default=DEFAULT_SIDEWALK_SPEED)
        assert lim == want, (x, y)
    assert allowed.any() and not allowed.all()
