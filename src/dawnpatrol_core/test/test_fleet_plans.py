"""Order batches from text and plans to trips, tasks and JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.errors import OrderError
from dawnpatrol_core.fleet.depot import depot_pose
from dawnpatrol_core.fleet.plans import order_from_dict, order_to_dict, parse_batch, plan_to_json
from dawnpatrol_core.fleet.tasks import TaskKind, delivery_tasks, route_trips
from dawnpatrol_core.fleet.travel import make_travel
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.planning.dispatch import (
    DispatchSettings,
    PlannedStop,
    Robot,
    RobotRoute,
    plan_dispatch,
)

MAPS = Path(__file__).resolve().parents[3] / "maps"


@pytest.fixture(scope="module")
def suwon() -> DistrictMap:
    return load_district_map(MAPS / "suwon_dawn")


def test_order_round_trip() -> None:
    o = Order("O-1", "101-1", None, None, 19.0, 55.0, 7800.0, 12600.0, 2, "door", 1)
    assert order_from_dict(order_to_dict(o)) == o


def test_batch_from_text_names_its_source_on_every_line(suwon: DistrictMap) -> None:
    text = "id,address_id,window_start,window_end\nA,101-1,02:10,04:00\nB,999-9,02:10,04:00\n"
    with pytest.raises(OrderError) as err:
        parse_batch(text, "csv", "night.csv", suwon, 7200.0, 60.0, 4)
    assert str(err.value) == ("night.csv:3: field 'address_id': got '999-9', expected an "
                              "address id from the address book (unknown address)")
    yaml_text = "orders:\n  - {id: A, address_id: 101-1, window_start: '02:10', " \
                "window_end: '04:00'}\n"
    (o,) = parse_batch(yaml_text, "yaml", "upload", suwon, 7200.0, 60.0, 4)
    assert (o.id, o.window_start) == ("A", 7800.0)
    with pytest.raises(OrderError, match="^upload: field 'format': got 'xml', expected csv"):
        parse_batch(text, "xml", "upload", suwon, 7200.0, 60.0, 4)


def test_plan_to_trips_tasks_and_json(suwon: DistrictMap) -> None:
    a, b = suwon.addresses["101-1"].pose, suwon.addresses["102-1"].pose
    orders = [Order("O-1", "101-1", None, None, a.x, a.y, 7800.0, 14400.0),
              Order("O-2", "102-1", None, None, b.x, b.y, 7800.0, 14400.0, 1, "door")]
    depot = depot_pose(suwon)
    plan = plan_dispatch(orders, [Robot("r1", 4, 7200.0, 25200.0)], (depot.x, depot.y),
                         make_travel(suwon), DispatchSettings(time_limit_s=0.5))
    pj = plan_to_json(plan, {o.id: o for o in orders}, "maps/suwon_dawn")
    assert pj["unserved"] == [] and pj["map_dir"] == "maps/suwon_dawn"
    assert pj["robots_needed"] == 1 and pj["robots_lower_bound"] == 1
    route = pj["routes"][0]
    assert route["robot_id"] == "r1" and len(route["stops"]) == 2
    assert all(s["window_end"] == 14400.0 and s["eta"] >= 7200.0 for s in route["stops"])
    trips = route_trips(plan.routes[0])
    assert sorted(trips[0]) == ["O-1", "O-2"]
    tasks = delivery_tasks(trips[0], {o.id: o for o in orders}, suwon, depot)
    assert tasks[-1].kind is TaskKind.RETURN and tasks[-1].pose == depot
    t1 = next(t for t in tasks if t.id == "O-1")
    assert t1.pose == a and t1.method == "pin" and t1.address_id == "101-1"
    assert next(t for t in tasks if t.id == "O-2").method == "door"


def test_route_trips_split_by_trip() -> None:
    stops = tuple(PlannedStop(oid, 0.0, 0.0, 0.0, 0.0, 0.0, trip)
                  for oid, trip in (("a", 0), ("b", 1), ("c", 0)))
    assert route_trips(RobotRoute("r1", 0.0, stops, 0.0, 0.0)) == [("a", "c"), ("b",)]
