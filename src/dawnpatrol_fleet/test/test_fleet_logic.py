"""Pure fleet decisions: time base, registry, plans to missions, patrol and investigation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.planning.dispatch import DispatchSettings, Robot, plan_dispatch
from dawnpatrol_fleet import fleet_logic as fl

MAPS = Path(__file__).resolve().parents[3] / "maps"


@pytest.fixture(scope="module")
def suwon() -> DistrictMap:
    return load_district_map(MAPS / "suwon_dawn")


def test_shift_seconds_sim_and_wall_clock() -> None:
    assert fl.shift_seconds(7200.0, 32400.0, 7 * 3600.0) == 7200.0  # sim clock as is
    # 2026-01-01T17:00:00Z = 02:00 KST next day: inside the shift
    assert fl.shift_seconds(1767286800.0, 32400.0, 7 * 3600.0) == 7200.0
    # 06:00Z = 15:00 KST: after the shift's end, so tonight's shift is meant: 15:00 - 24 h
    assert fl.shift_seconds(1767247200.0, 32400.0, 7 * 3600.0) == 15 * 3600.0 - 86400.0


@pytest.mark.parametrize("text", ["2am", "25", "02:60", "", "1:2:3"])
def test_parse_clock_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="parameter 'shift_start'"):
        fl.parse_clock("shift_start", text)


def test_parse_clock() -> None:
    assert fl.parse_clock("x", "02:30") == 9000.0


def test_depot_pose(suwon: DistrictMap) -> None:
    p = fl.depot_pose(suwon)
    assert (p.x, p.y) == (70.0, 6.5)


def test_depot_bays_are_apart_inside_the_depot_and_start_at_the_depot_pose(
        suwon: DistrictMap) -> None:
    # Every robot used to return to the one depot pose: the first one back parked on it and
    # the others' returns failed "still blocked" (the dawn shift's r1 and r3).
    zone = suwon.zones_of_kind("depot")[0].polygon
    bays = fl.depot_bays(suwon)
    assert (bays[0].x, bays[0].y) == (70.0, 6.5)
    assert sorted(b.x for b in bays) == [62.0, 66.0, 70.0, 74.0, 78.0, 82.0]
    assert all(zone.contains(Point(b.x, b.y)) and b.theta == bays[0].theta for b in bays)


def test_order_round_trip() -> None:
    o = Order("O-1", "101-1", None, None, 19.0, 55.0, 7800.0, 12600.0, 2, "door", 1)
    assert fl.order_from_dict(fl.order_to_dict(o)) == o


def test_free_robots() -> None:
    views = [
        fl.RobotView("r1", "online", "idle", False, 0, 0),
        fl.RobotView("r2", "stale", "idle", False, 0, 0),
        fl.RobotView("r3", "online", "idle", True, 0, 0),
        fl.RobotView("r4", "online", "fault", False, 0, 0),
        fl.RobotView("r5", "online", "patrolling", False, 0, 0),
        # delivering a mission the fleet no longer follows (resumed after a restart): not free
        fl.RobotView("r6", "online", "delivering", False, 0, 0),
    ]
    assert fl.free_robots(views, busy=["r5"]) == ["r1"]
    assert fl.free_robots(views, busy=[]) == ["r1", "r5"]


def test_order_counts() -> None:
    c = fl.order_counts(["delivered", "delivered", "failed"])
    assert c["delivered"] == 2 and c["failed"] == 1 and c["planned"] == 0


def test_plan_to_missions(suwon: DistrictMap) -> None:
    a, b = suwon.addresses["101-1"].pose, suwon.addresses["102-1"].pose
    orders = [Order("O-1", "101-1", None, None, a.x, a.y, 7800.0, 14400.0),
              Order("O-2", "102-1", None, None, b.x, b.y, 7800.0, 14400.0, 1, "door")]
    depot = fl.depot_pose(suwon)
    plan = plan_dispatch(orders, [Robot("r1", 4, 7200.0, 25200.0)], (depot.x, depot.y),
                         fl.make_travel(suwon), DispatchSettings(time_limit_s=0.5))
    pj = fl.plan_to_json(plan, {o.id: o for o in orders}, "maps/suwon_dawn")
    assert pj["unserved"] == [] and pj["map_dir"] == "maps/suwon_dawn"
    assert pj["robots_needed"] == 1 and pj["robots_lower_bound"] == 1
    route = pj["routes"][0]
    assert route["robot_id"] == "r1" and len(route["stops"]) == 2
    assert all(s["window_end"] == 14400.0 and s["eta"] >= 7200.0 for s in route["stops"])
    trips = fl.route_trips(route)
    assert sorted(trips[0]) == ["O-1", "O-2"]
    tasks = fl.delivery_tasks(trips[0], {o.id: o for o in orders}, suwon, depot)
    assert [t.kind for t in tasks][-1] == "return" and tasks[-1].pose == depot
    t1 = next(t for t in tasks if t.id == "O-1")
    assert t1.pose == a and t1.method == "pin" and t1.address_id == "101-1"
    assert next(t for t in tasks if t.id == "O-2").method == "door"


def test_route_trips_split_by_trip() -> None:
    route = {"stops": [{"order_id": "a", "trip": 0}, {"order_id": "b", "trip": 1},
                       {"order_id": "c", "trip": 0}]}
    assert fl.route_trips(route) == [["a", "c"], ["b"]]


def test_travel_respects_zone_limits(suwon: DistrictMap) -> None:
    pts = np.array([[70.0, 6.5], [19.0, 55.0]])
    fast, dist = fl.make_travel(suwon)(pts, 3.0)
    slow, _ = fl.make_travel(suwon)(pts, 0.5)
    assert dist[0, 1] > 0 and slow[0, 1] > fast[0, 1]
    # capped by zone limits (<= 1.5 m/s) even when the robot could go 3 m/s
    assert fast[0, 1] >= (dist[0, 1] - 2.0) / 1.5


def test_patrol_coordinator_hands_out_hotspots(suwon: DistrictMap) -> None:
    pc = fl.PatrolCoordinator(suwon, ("r1", "r2"), 1.5, 7200.0, np.random.default_rng(3))
    t1 = pc.next_task("r1", 7200.0, 70.0, 6.5)
    t2 = pc.next_task("r2", 7200.0, 70.0, 6.5)
    assert t1 is not None and t2 is not None
    ids = {h.id for h in suwon.hotspots}
    assert t1.hotspot_id in ids and t2.hotspot_id in ids and t1.hotspot_id != t2.hotspot_id
    assert t1.arrive_s > 7200.0 and t1.dwell_s > 0
    assert pc.hotspot_pose(t1.hotspot_id) == next(
        h.observation_pose for h in suwon.hotspots if h.id == t1.hotspot_id)
    pc.visit_done("r1", t1.leave_s)
    assert pc.next_task("r3", 7200.0, 0.0, 0.0) is None  # not a patrol robot


def test_choose_investigator_is_nearest_free(suwon: DistrictMap) -> None:
    views = [fl.RobotView("r1", "online", "idle", False, 70.0, 6.5),
             fl.RobotView("r2", "online", "idle", False, 20.0, 50.0)]
    assert fl.choose_investigator(suwon, views, ["r1", "r2"], 19.0, 55.0, 1.5) == "r2"
    assert fl.choose_investigator(suwon, views, ["r1"], 19.0, 55.0, 1.5) == "r1"
    assert fl.choose_investigator(suwon, views, [], 19.0, 55.0, 1.5) is None


def test_closed_edges_near_recent_reports(suwon: DistrictMap) -> None:
    e = next(iter(suwon.graph.edges.values()))
    mx = 0.5 * (e.points[0][0] + e.points[-1][0])
    my = 0.5 * (e.points[0][1] + e.points[-1][1])
    closed = fl.closed_edges(suwon, [(mx, my, 100.0)], now=200.0, ttl_s=600.0, radius_m=0.5)
    assert e.id in closed
    reverse = [x.id for x in suwon.graph.edges.values() if (x.start, x.end) == (e.end, e.start)]
    assert set(reverse) <= set(closed)
    assert fl.closed_edges(suwon, [(mx, my, 100.0)], now=1000.0, ttl_s=600.0) == []


def test_investigation_watches_long_enough_to_tell_loitering() -> None:
    dm = load_district_map(MAPS / "suwon_dawn")
    assert fl.investigate_dwell_s(dm, 150.0, 105.0, 60.0) == 180.0 + 30.0  # park watch zone
    assert fl.investigate_dwell_s(dm, 92.6, 100.0, 60.0) == 60.0  # school gate: no watch zone
    assert fl.investigate_dwell_s(dm, 150.0, 105.0, 400.0) == 400.0
