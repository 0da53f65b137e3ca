"""Dispatch on tiny hand-checkable instances, unserved reasons, replanning, the validator."""

from __future__ import annotations

import math

import pytest

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.planning.dispatch import (
    DispatchSettings,
    Robot,
    RobotState,
    UnservedCause,
    euclidean_travel,
    plan_dispatch,
    replan,
    validate_plan,
)
from dawnpatrol_core.planning.vrptw import (
    RoutePlan,
    RoutingProblem,
    RoutingSolution,
    Stop,
    Vehicle,
    validate_routes,
)

SETTINGS = DispatchSettings(service_time_s=60.0, time_limit_s=0.3, seed=1)
DEPOT = (0.0, 0.0)


def _order(oid: str, x: float, y: float, start: float = 0.0, end: float = 3600.0,
           size: int = 1) -> Order:
    return Order(oid, None, None, None, x, y, start, end, size)


def test_two_orders_one_robot_exact_etas() -> None:
    robot = Robot("r1", compartments=2, shift_start=0.0, shift_end=3600.0, speed=1.0)
    orders = [_order("a", 100.0, 0.0, end=400.0), _order("b", 100.0, 100.0)]
    plan = plan_dispatch(orders, [robot], DEPOT, euclidean_travel, SETTINGS)
    assert validate_plan(plan) == [] and plan.unserved == ()
    (route,) = plan.routes
    assert [s.order_id for s in route.stops] == ["a", "b"]
    a, b = route.stops
    assert a.arrival - route.departure == pytest.approx(100.0)
    assert a.departure == pytest.approx(a.service_start + 60.0)
    assert b.arrival == pytest.approx(a.departure + 100.0)
    assert route.return_time == pytest.approx(b.departure + math.hypot(100.0, 100.0))
    assert route.distance_m == pytest.approx(200.0 + math.hypot(100.0, 100.0))


def test_impossible_orders_listed_with_reason() -> None:
    robot = Robot("r1", compartments=2, shift_start=0.0, shift_end=3600.0, speed=1.0,
                  range_m=5000.0)
    orders = [
        _order("ok", 10.0, 0.0),
        _order("late", 1000.0, 0.0, end=500.0),  # arrival 1000 s > 440 s
        _order("big", 10.0, 0.0, size=3),
        _order("far", 3000.0, 0.0, end=3600.0 * 2),  # 6 km round trip > 5 km range
    ]
    robot2 = Robot("r2", 2, 0.0, 7200.0 * 2, 1.0, 5000.0)
    plan = plan_dispatch(orders, [robot, robot2], DEPOT, euclidean_travel, SETTINGS)
    reasons = dict(plan.unserved)
    assert set(reasons) == {"late", "big", "far"}
    assert reasons["late"].startswith("window unreachable")
    assert reasons["big"].startswith("too big")
    assert reasons["far"].startswith("beyond battery range")
    assert plan.unserved_causes == {"late": UnservedCause.WINDOW_UNREACHABLE,
                                    "big": UnservedCause.TOO_BIG,
                                    "far": UnservedCause.BEYOND_RANGE}
    assert plan.served == 1 and validate_plan(plan) == []


def test_capacity_overflow_reported_not_dropped() -> None:
    robot = Robot("r1", compartments=1, shift_start=0.0, shift_end=400.0, speed=1.0)
    orders = [_order("a", 50.0, 0.0), _order("b", -50.0, 0.0), _order("c", 0.0, 50.0)]
    plan = plan_dispatch(orders, [robot], DEPOT, euclidean_travel,
                         DispatchSettings(60.0, 0.3, 1, allow_reloads=False))
    assert plan.served == 1
    assert len(plan.unserved) == 2 and all("solver could not fit" in r for _, r in plan.unserved)
    assert set(plan.unserved_causes.values()) == {UnservedCause.NO_ROOM}
    assert set(plan.unserved_causes) == {oid for oid, _ in plan.unserved}
    assert validate_plan(plan) == []


def test_reloads_serve_more_than_capacity() -> None:
    robot = Robot("r1", compartments=1, shift_start=0.0, shift_end=3600.0, speed=1.0)
    orders = [_order("a", 50.0, 0.0), _order("b", -50.0, 0.0), _order("c", 0.0, 50.0)]
    plan = plan_dispatch(orders, [robot], DEPOT, euclidean_travel, SETTINGS)
    assert plan.served == 3 and validate_plan(plan) == []
    assert sorted(s.trip for s in plan.routes[0].stops) == [0, 1, 2]


def test_replan_keeps_on_board_parcels_on_their_robot() -> None:
    r1 = Robot("r1", 2, 0.0, 3600.0, 1.0)
    r2 = Robot("r2", 2, 0.0, 3600.0, 1.0)
    carried = _order("carried", -200.0, 0.0)  # r2 is much closer, but r1 holds the parcel
    states = [
        RobotState(r1, 300.0, 0.0, available_at=900.0, on_board=(carried,)),
        RobotState(r2, -190.0, 0.0, available_at=900.0),
    ]
    pending = [_order("new", 20.0, 0.0)]
    plan = replan(states, pending, DEPOT, euclidean_travel, SETTINGS, now=900.0)
    assert validate_plan(plan) == [] and plan.unserved == ()
    on = {r.robot_id: [s.order_id for s in r.stops] for r in plan.routes}
    assert "carried" in on["r1"] and "carried" not in on["r2"]
    first = plan.routes[0].stops[0]
    assert first.order_id == "carried" and first.arrival == pytest.approx(900.0 + 500.0)


def test_replan_pinned_parcel_past_window_is_reported() -> None:
    r1 = Robot("r1", 2, 0.0, 3600.0, 1.0)
    carried = _order("carried", 500.0, 0.0, end=1000.0)
    plan = replan([RobotState(r1, 0.0, 0.0, 950.0, (carried,))], [], DEPOT, euclidean_travel,
                  SETTINGS, now=950.0)
    assert plan.unserved[0][0] == "carried" and "window unreachable" in plan.unserved[0][1]
    assert plan.unserved_causes == {"carried": UnservedCause.WINDOW_UNREACHABLE}


def test_validator_catches_violations() -> None:
    d = [[0.0, 10.0], [10.0, 0.0]]
    import numpy as np

    dist = np.array(d)
    problem = RoutingProblem(
        depots=(0,),
        stops=(Stop("s", 1, demand=3, tw_early=0.0, tw_late=5.0, service=1.0),),
        vehicles=(Vehicle("v", capacity=2, start=0, end=0, shift_end=15.0, max_distance=15.0),),
        distance=dist,
        durations=(dist,),
    )
    bad = RoutingSolution((RoutePlan(0, 0.0, ((0, 0),)),), (), True)
    found = "\n".join(validate_routes(problem, bad))
    for what in ("load 6 > capacity 2", "starts 10.000 > due 5.0", "shift end", "distance 20.000",
                 "served 2 times"):
        assert what in found
    missing = RoutingSolution((), (0,), True)
    assert validate_routes(problem, missing) == ["stop 's': required but not served"]


def test_plan_says_how_many_robots_the_batch_needs() -> None:
    # "east" and "west" are 600 m apart with handovers in the same minute: two robots, and the
    # lower bound knows it; the three other orders fit on those two; two robots stay home.
    robots = [Robot(f"r{k}", 4, 0.0, 3600.0, 1.0) for k in range(1, 5)]
    orders = [_order("east", 300.0, 0.0, start=300.0, end=420.0),
              _order("west", -300.0, 0.0, start=300.0, end=420.0),
              _order("n1", 0.0, 50.0), _order("n2", 0.0, 80.0), _order("s1", 0.0, -50.0)]
    plan = plan_dispatch(orders, robots, DEPOT, euclidean_travel, SETTINGS)
    assert validate_plan(plan) == [] and plan.served == 5
    assert plan.robots_needed == 2 and plan.robots_lower_bound == 2
    assert sum(1 for r in plan.routes if r.stops) == 2
