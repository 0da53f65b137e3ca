"""District generator: a never-seen world, a noisy SLAM-style grid, an OSM extract, the shipped
worlds' markers; the skeleton and the route graph's invariants."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from district_fixtures import ALLEY, ORIGIN, ROBOT_RADIUS, courtyard_world, noisy_grid, osm_extract
from shapely.geometry import LineString, box

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.maps.district_check import check_district
from dawnpatrol_core.maps.district_gen import build
from dawnpatrol_core.maps.district_gen.sites import Entrance, Sites, load_sites
from dawnpatrol_core.maps.district_gen.skeleton import skeleton_graph, thin
from dawnpatrol_core.maps.occupancy_io import read_map_yaml, write_map_yaml
from dawnpatrol_core.maps.route_graph import RouteGraph
from dawnpatrol_core.world import load_district_markers, load_world

REPO = Path(__file__).resolve().parents[3]


def _segments_in(graph: RouteGraph, region: object) -> list[int]:
    return [e.id for e in graph.edges.values() if LineString(e.points).intersects(region)]


def _assert_nav2_graph(graph: RouteGraph, max_edge: float = 10.0) -> None:
    """Both directions of every edge, cost = length, metadata, nodes at most max_edge apart."""
    pairs = {(e.start, e.end) for e in graph.edges.values()}
    for e in graph.edges.values():
        assert (e.end, e.start) in pairs, f"edge {e.id} has no reverse"
        assert e.cost == pytest.approx(e.length, abs=1e-3)
        assert e.length <= max_edge + 1e-6, f"edge {e.id}: {e.length:.2f} m"
        assert set(e.metadata) >= {"speed_limit", "clearance", "crosswalk"}
        assert e.metadata["clearance"] > 0.0


def _components(graph: RouteGraph) -> int:
    seen: set[int] = set()
    count = 0
    for start in graph.nodes:
        if start in seen:
            continue
        count += 1
        stack = [start]
        seen.add(start)
        while stack:
            n = stack.pop()
            for eid in graph.out_edges.get(n, ()):
                m = graph.edges[eid].end
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
    return count


# -- the skeleton ---------------------------------------------------------------------------------
def test_thinning_keeps_topology_and_centres_the_line() -> None:
    m = np.zeros((40, 60), dtype=bool)
    m[5:15, 5:55] = True  # a bar 10 cells thick ...
    m[5:35, 25:35] = True  # ... with a stem: a T
    sk = thin(m)
    assert sk[m].sum() == sk.sum() and sk.sum() > 40
    rows = np.flatnonzero(sk[:, 10])
    assert rows.tolist() in ([9], [10])  # the bar's centre line (rows 5..14)
    g = skeleton_graph(sk)
    assert len(g.edges) == 3 and len(g.nodes) == 4  # one junction, three ends


def test_thinning_keeps_a_ring_a_ring() -> None:
    m = np.zeros((30, 30), dtype=bool)
    m[3:27, 3:27] = True
    m[10:20, 10:20] = False
    g = skeleton_graph(thin(m))
    assert len(g.nodes) == 1 and len(g.edges) == 1 and g.edges[0][0] == g.edges[0][1]


# -- a world the generator has never seen ------------------------------------------------------------
@pytest.fixture(scope="module")
def courtyard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("courtyard")
    world = courtyard_world(d / "courtyard.sdf")
    src = build.source_from_world(world, out_dir=d / "district")
    assert src.georef is not None
    dist = build.generate_district(src, src.georef)
    assert dist.warnings == ()
    build.write_district(dist, d / "district", write_grid=False)
    return d / "district"


def test_new_world_gets_a_complete_district_whose_check_passes(courtyard: Path) -> None:
    res = check_district(courtyard, ROBOT_RADIUS)
    assert res.ok, "\n".join(map(str, res.problems))
    dm = load_district_map(courtyard)  # the stack loads it
    assert sorted(dm.addresses) == ["A-1", "B-1", "C-1"]
    assert res.bays == 2 and res.entrances == 3
    _assert_nav2_graph(dm.graph)
    assert _components(dm.graph) == 1
    assert dm.georef is not None and dm.georef.latitude_deg == pytest.approx(37.3)
    depot = next(z for z in dm.zones if z.kind == "depot")
    assert depot.bays == (Pose2D(5.0, 5.0, 0.0), Pose2D(5.0, 8.0, 0.0))
    kinds = {z.kind for z in dm.zones}
    assert kinds == {"operating_area", "depot"}  # the templates are unplaced
    text = (courtyard / "zones.geojson").read_text()
    for kind in ("keep_out", "speed_limit", "hotspot", "watch", "night_restricted", "dock"):
        assert f'"kind":"{kind}"' in text


def test_new_world_narrow_alley_has_no_edge(courtyard: Path) -> None:
    dm = load_district_map(courtyard)
    x0, x1, y0, y1 = ALLEY
    inside = box(x0, y0 + 0.5, x1, y1 - 0.5)
    assert _segments_in(dm.graph, inside) == []
    # the 4 m wide passage east of the shops does have a route
    assert _segments_in(dm.graph, box(56.5, 24.0, 59.5, 28.0))


def test_entrances_stand_in_front_of_their_doors_facing_them(courtyard: Path) -> None:
    dm = load_district_map(courtyard)
    b = dm.addresses["B-1"].pose
    assert (b.x, b.y) == pytest.approx((41.0, 19.0)) and b.theta == pytest.approx(math.pi / 2, abs=1e-4)
    a = dm.addresses["A-1"].pose
    door = (18.0 + 4.0 * math.sin(0.3), 26.0 - 4.0 * math.cos(0.3))
    assert math.dist((a.x, a.y), door) == pytest.approx(1.0, abs=1e-3)
    # the standing pose is a graph node: the route search joins it with no straight leg
    assert any(math.dist((n.x, n.y), (a.x, a.y)) < 1e-3 for n in dm.graph.nodes.values())


def test_markers_are_not_obstacles_for_the_simulator(courtyard: Path) -> None:
    world = load_world(courtyard.parent / "courtyard.sdf")
    assert not any("entrance" in n or "depot" in n for n in world.footprint_names)


# -- the shipped worlds' markers ---------------------------------------------------------------------
def test_shipped_worlds_mark_their_entrances_and_depot_bays() -> None:
    suwon = load_district_markers(REPO / "sim" / "worlds" / "suwon_dawn.sdf")
    shipped = load_district_map(REPO / "maps" / "suwon_dawn")
    sites = {e.id: e for e in build.sites_from_markers(suwon).entrances}
    assert set(sites) == set(shipped.addresses)
    for aid, a in shipped.addresses.items():
        p = sites[aid].standing_pose(1.0)
        assert (p.x, p.y) == pytest.approx((a.pose.x, a.pose.y), abs=1e-3)
        assert math.cos(p.theta - a.pose.theta) == pytest.approx(1.0, abs=1e-6)
    assert len(suwon.depot_bays) == 12 and len(suwon.crossings) == 24
    yard = load_district_markers(REPO / "sim" / "worlds" / "test_yard.sdf")
    assert [m.id for m in yard.entrances] == ["101-1"] and len(yard.depot_bays) == 2


# -- a SLAM-style grid -------------------------------------------------------------------------------
def test_noisy_slam_grid_gives_a_connected_graph_clear_of_the_speckles(tmp_path: Path) -> None:
    clean = build.source_from_world(REPO / "sim" / "worlds" / "test_yard.sdf").grid
    grid, speckles = noisy_grid(clean)
    write_map_yaml(grid, tmp_path / "slam")
    (tmp_path / "sites.yaml").write_text(
        "entrances:\n  - {id: '101-1', x: 24.0, y: 20.0, yaw: -1.5708, handover: door}\n"
        "depot:\n  - {x: 3.0, y: 3.0, yaw: 3.1416}\n", encoding="utf-8")
    src = build.source_from_map(tmp_path / "slam" / "map.yaml")
    src = build.Source(src.name, src.grid, load_sites(tmp_path / "sites.yaml"))
    dist = build.generate_district(src, ORIGIN)
    assert dist.warnings == ()
    out = tmp_path / "slam"
    build.write_district(dist, out, write_grid=False)
    res = check_district(out, ROBOT_RADIUS)
    assert res.ok, "\n".join(map(str, res.problems))
    assert _components(dist.graph) == 1
    # no edge comes within the robot's radius of a speckle
    for e in dist.graph.edges.values():
        line = LineString(e.points)
        d = min(line.distance(box(x - 0.025, y - 0.025, x + 0.025, y + 0.025))
                for x, y in speckles)
        assert d >= ROBOT_RADIUS, f"edge {e.id} passes {d:.2f} m from a speckle"
    grid2 = read_map_yaml(out / "map.yaml")
    assert (grid2.occupied == grid.occupied).all()


# -- OpenStreetMap -------------------------------------------------------------------------------------
def _osm_district(tmp_path: Path, road_tagged: bool) -> build.District:
    src = build.source_from_osm(osm_extract(tmp_path / "x.osm", road_tagged), ORIGIN)
    src = build.Source(src.name, src.grid, src.sites.merged(Sites((), (Pose2D(-40, 5, 0),))),
                       src.surfaces, src.crossings, src.route_lines, src.crossing_lines,
                       src.georef, src.corridor)
    return build.generate_district(src, ORIGIN)


def test_osm_crossings_are_crossing_edges_and_sidewalks_line_both_sides(tmp_path: Path) -> None:
    dist = _osm_district(tmp_path, road_tagged=False)
    g = dist.graph
    crossing = [e for e in g.edges.values() if e.crosswalk]
    assert crossing and all(abs(x) < 0.6 for e in crossing for x, _ in e.points)
    assert min(y for e in crossing for _, y in e.points) < -4.0
    assert max(y for e in crossing for _, y in e.points) > 4.0
    side = [e for e in g.edges.values() if not e.crosswalk]
    north = [e for e in side if all(4.5 < y < 5.5 for _, y in e.points)]
    south = [e for e in side if all(-5.5 < y < -4.5 for _, y in e.points)]
    for edges in (north, south):  # each sidewalk runs the length of the street
        xs = [x for e in edges for x, _ in e.points]
        assert min(xs) < -55.0 and max(xs) > 55.0
    carriageway = box(-60, -1.0, 60, 1.0)
    assert not [e.id for e in side if LineString(e.points).intersects(carriageway)]
    assert [a.id for a in dist.addresses] == ["A1"]  # the entrance node on the building
    a = dist.addresses[0].pose
    assert (a.x, a.y) == pytest.approx((20.0, 29.0), abs=0.05)
    _assert_nav2_graph(g)
    out = tmp_path / "osm"
    build.write_district(dist, out)
    res = check_district(out, ROBOT_RADIUS)
    assert res.ok, "\n".join(map(str, res.problems))


def test_osm_road_tagged_sidewalk_both_gives_sidewalks_on_both_sides(tmp_path: Path) -> None:
    g = _osm_district(tmp_path, road_tagged=True).graph
    side = [e for e in g.edges.values() if not e.crosswalk]
    for y0 in (4.0, -4.0):  # half the 6 m road + half a 2 m sidewalk either side
        xs = [x for e in side for x, y in e.points if abs(y - y0) < 0.05]
        assert min(xs) < -55.0 and max(xs) > 55.0
    assert any(e.crosswalk for e in g.edges.values())


def test_osm_extract_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><node id=", encoding="utf-8")
    with pytest.raises(MapError, match="bad.osm: cannot read OSM extract"):
        build.source_from_osm(bad, ORIGIN)
    empty = tmp_path / "empty.osm"
    empty.write_text("<?xml version='1.0'?><osm version='0.6'></osm>", encoding="utf-8")
    with pytest.raises(MapError, match="no footway"):
        build.source_from_osm(empty, ORIGIN)


# -- sites and failures -------------------------------------------------------------------------------
def test_sites_yaml_errors_name_entry_and_field(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    for text, match in (
        ("entrances:\n  - {id: a, x: 1, y: 2}\n", r"entrances\[0\]: field 'yaw'"),
        ("entrances:\n  - {id: a, x: 1, y: 2, yaw: 0}\n  - {id: a, x: 1, y: 2, yaw: 0}\n",
         r"entrances\[1\]: field 'id'"),
        ("depot:\n  - {x: 1, y: two, yaw: 0}\n", r"depot\[0\]: field 'y'"),
        ("entrances:\n  - {id: a, x: 1, y: 2, yaw: 0, handover: drone}\n", "handover"),
        ("bays: []\n", "field 'bays': unknown"),
    ):
        p.write_text(text, encoding="utf-8")
        with pytest.raises(MapError, match=match):
            load_sites(p)


def test_a_world_without_depot_bays_is_refused(tmp_path: Path) -> None:
    src = build.source_from_world(REPO / "sim" / "worlds" / "test_yard.sdf")
    with pytest.raises(MapError, match="no depot bay"):
        build.generate_district(build.Source("x", src.grid, Sites(src.sites.entrances, ())),
                                ORIGIN)


def test_an_entrance_in_a_wall_is_left_out_with_a_warning() -> None:
    src = build.source_from_world(REPO / "sim" / "worlds" / "test_yard.sdf")
    walled = Entrance("in-wall", Pose2D(24.0, 26.0, -math.pi / 2))  # inside building 101
    dist = build.generate_district(
        build.Source("x", src.grid, src.sites.merged(Sites((walled,), ()))), ORIGIN)
    assert [a.id for a in dist.addresses] == ["101-1"]
    assert len(dist.warnings) == 1 and "entrance 'in-wall'" in dist.warnings[0]
