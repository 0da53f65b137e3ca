"""Patrol visits planned with the parcels in one model: hand-checkable instances on straight-line
travel (1 m/s), visits carrying nothing, and the conflict between a parcel and a bound."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.fleet.patrol import visit_windows
from dawnpatrol_core.fleet.tasks import route_trips
from dawnpatrol_core.planning.dispatch import (
    DispatchSettings,
    PatrolVisit,
    Robot,
    RobotState,
    euclidean_travel,
    plan_dispatch,
    replan,
    validate_plan,
)

SETTINGS = DispatchSettings(service_time_s=60.0, time_limit_s=0.3, seed=1)
DEPOT = (0.0, 0.0)
ROBOT = Robot("r1", compartments=2, shift_start=0.0, shift_end=3600.0, speed=1.0)


def _order(oid: str, x: float, y: float, start: float = 0.0, end: float = 3600.0) -> Order:
    return Order(oid, None, None, None, x, y, start, end, 1)


def test_a_visit_due_first_is_made_before_the_parcel() -> None:
    # The hotspot at (0, 100) is due at 150 s: only going there first holds it (arrive 100 s,
    # watch 30 s); the parcel at (100, 0) follows, 141.4 m later.
    visit = PatrolVisit("@hs#1", "hs", 0.0, 100.0, 0.0, 150.0, 30.0)
    plan = plan_dispatch([_order("a", 100.0, 0.0)], [ROBOT], DEPOT, euclidean_travel, SETTINGS,
                         [visit])
    assert validate_plan(plan) == [] and plan.unserved == () and plan.missed == ()
    (route,) = plan.routes
    (v,) = route.visits
    (a,) = route.stops
    assert (v.visit_id, v.hotspot_id) == ("@hs#1", "hs")
    assert v.arrival == pytest.approx(100.0) and v.departure == pytest.approx(130.0)
    assert a.arrival == pytest.approx(130.0 + math.hypot(100.0, 100.0))
    assert v.seq < a.seq
    assert route_trips(route) == [("@hs#1/100", "a")]  # the watch starts at 100 s
    assert plan.served == 1  # visits are not orders


def test_a_loaded_robot_may_watch_before_it_reloads() -> None:
    # r1 stands at (50, 0) with parcel p on board; a fresh parcel needs the depot first, a watch
    # does not: the visit due at 100 s is made on the way.
    state = RobotState(ROBOT, 50.0, 0.0, 0.0, on_board=(_order("p", 100.0, 0.0),))
    visit = PatrolVisit("@hs#1", "hs", 50.0, 50.0, 0.0, 100.0, 20.0)
    plan = replan([state], [], DEPOT, euclidean_travel, SETTINGS, 0.0, [visit])
    assert validate_plan(plan) == [] and plan.missed == ()
    (route,) = plan.routes
    assert [v.trip for v in route.visits] == [0]
    assert route.visits[0].arrival == pytest.approx(50.0)


def test_a_visit_out_of_reach_in_time_is_missed_with_its_reason() -> None:
    visit = PatrolVisit("@hs#1", "hs", 500.0, 0.0, 0.0, 100.0, 20.0)  # 500 s away, due at 100 s
    plan = plan_dispatch([_order("a", 10.0, 0.0)], [ROBOT], DEPOT, euclidean_travel, SETTINGS,
                         [visit])
    assert plan.missed == (("@hs#1", "cannot be reached before 00:01:40 (earliest 00:08:20)"),)
    assert plan.served == 1


# Parcel a at (300, 0), latest handover start 340 s; the hotspot at (0, 100) due at 250 s.
# Visit first: at a at 130 + 316.2 s, too late; parcel first: at the hotspot at 360 + 316.2 s,
# over the bound. Each alone fits.
CONFLICT_ORDER = _order("a", 300.0, 0.0, end=400.0)


def _conflict(required: bool) -> PatrolVisit:
    return PatrolVisit("@hs#1", "hs", 0.0, 100.0, 0.0, 250.0, 30.0, required,
                       0.0 if required else 5_000.0)


def test_a_hard_bound_keeps_the_visit_and_leaves_the_parcel_out() -> None:
    plan = plan_dispatch([CONFLICT_ORDER], [ROBOT], DEPOT, euclidean_travel, SETTINGS,
                         [_conflict(True)])
    assert [oid for oid, _ in plan.unserved] == ["a"] and plan.missed == ()
    assert [v.visit_id for r in plan.routes for v in r.visits] == ["@hs#1"]
    assert validate_plan(plan) == []


def test_a_soft_bound_keeps_the_parcel_and_misses_the_visit() -> None:
    plan = plan_dispatch([CONFLICT_ORDER], [ROBOT], DEPOT, euclidean_travel, SETTINGS,
                         [_conflict(False)])
    assert plan.unserved == () and plan.served == 1
    assert plan.missed == (("@hs#1", "no room in the routes before the hotspot's bound"),)


@pytest.mark.parametrize("margin", [0.0, 100.0])
def test_visit_windows_hold_the_bound_wherever_each_visit_falls(margin: float) -> None:
    bound, dwell = np.array([600.0, 900.0]), np.array([20.0, 45.0])
    last = np.array([0.0, -5000.0])  # the second is overdue at the start
    rng = np.random.default_rng(3)
    wins = visit_windows(last, bound, dwell, 0.0, 3600.0, 0.5, rng, margin)
    planned = bound - np.minimum(margin, 0.1 * bound)  # kept on every gap, a tenth at most
    for h in (0, 1):
        mine = [(e, d) for hh, _, e, d in wins if hh == h]
        assert mine and all(0.0 <= e <= d for e, d in mine) and mine[-1][0] < 3600.0
        assert all(d - e <= 0.5 * planned[h] + 1e-9 for e, d in mine[1:])
        # the first due: last departure + bound - margin, or one window from now when overdue
        assert mine[0][1] == (planned[0] if h == 0 else pytest.approx(mine[0][1]))
        assert 0.25 * planned[h] <= mine[0][1] <= 0.5 * planned[h] or h == 0
        for _ in range(200):  # any arrival inside each window keeps every gap within the bound
            arrive = [rng.uniform(e, d) for e, d in mine]
            leave = [max(last[h], 0.0)] + [a + dwell[h] for a in arrive]
            gaps = np.array(arrive) - np.array(leave[:-1])
            assert gaps.max() <= planned[h] + 1e-9
