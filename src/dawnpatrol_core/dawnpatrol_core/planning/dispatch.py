"""Dawn dispatch: orders and patrol visits to time-windowed multi-trip robot routes, replanning,
unserved reasons.

Orders become stops and robots vehicles of the generic VRPTW model (``planning.vrptw``); parcels
on board are pinned to their robot. A hotspot's patrol visit is a stop too, carrying nothing: its
window ends when the hotspot would go over its idleness bound, its service is the watch. Fewest
robots first, then distance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.errors import PlanningError
from dawnpatrol_core.planning.vrptw import (
    RoutingProblem,
    RoutingSolution,
    Scales,
    SolveOptions,
    Stop,
    Vehicle,
    route_distance,
    schedule_route,
    solve_fleet_minimal,
    solve_routing,
    validate_routes,
)
from dawnpatrol_core.shift_clock import clock

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Robot:
    """A delivery robot: ``compartments`` parcels' worth of space, shift [start, end] s since
    midnight, top ``speed`` m/s, battery ``range_m`` metres per shift."""

    id: str
    compartments: int
    shift_start: float
    shift_end: float
    speed: float = 1.5
    range_m: float = math.inf


@dataclass(frozen=True, slots=True)
class RobotState:
    """Where a robot is for replanning: at (x, y) m, free from ``available_at`` s, with parcels
    still on board (they stay on this robot), ``range_left_m`` battery metres left."""

    robot: Robot
    x: float
    y: float
    available_at: float
    on_board: tuple[Order, ...] = ()
    range_left_m: float = math.inf


@dataclass(frozen=True, slots=True)
class PatrolVisit:
    """A hotspot watch to fit into the routes: arrive at (x, y) m in [``earliest``, ``due``] s
    (``due``: the hotspot's last visit plus its idleness bound) and watch ``watch_s`` s.
    ``required``: the bound is a hard constraint; else serving it earns ``prize_m``."""

    id: str
    hotspot_id: str
    x: float
    y: float
    earliest: float
    due: float
    watch_s: float
    required: bool = True
    prize_m: float = 0.0


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """Model and solver settings. Costs are in metres-equivalent: each robot used costs
    ``robot_cost_m`` and each served order earns ``order_value_m`` x (1 + priority), so serving
    orders comes before both.

    ``minimise_fleet``: when every order fits, remove robots while a feasible plan exists
    (phase 1, at most ``fleet_share`` of ``time_limit_s``), then shorten the routes of the robots
    left (phase 2). Otherwise one solve with ``robot_cost_m`` per robot.
    """

    service_time_s: float = 60.0
    time_limit_s: float = 5.0
    seed: int = 0
    robot_cost_m: float = 1_000.0
    order_value_m: float = 20_000.0
    allow_reloads: bool = True
    scales: Scales = field(default_factory=Scales)
    minimise_fleet: bool = True
    fleet_share: float = 0.5


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """A stop on a robot's route: ETA ``arrival``, ``service_start`` and ``departure`` (s since
    midnight); ``trip`` counts depot reloads before it; ``seq`` its place on the route (orders and
    visits together, -1 unknown)."""

    order_id: str
    x: float
    y: float
    arrival: float
    service_start: float
    departure: float
    trip: int
    seq: int = -1


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    """A patrol visit on a robot's route: ``visit_id`` of its PatrolVisit at ``hotspot_id``,
    arrival, start and end of the watch (s), ``trip`` and ``seq`` as for a PlannedStop."""

    visit_id: str
    hotspot_id: str
    x: float
    y: float
    arrival: float
    service_start: float
    departure: float
    trip: int
    seq: int


@dataclass(frozen=True, slots=True)
class RobotRoute:
    """One robot's plan: leaves at ``departure``, back at the depot at ``return_time`` (s);
    ``visits``: the patrol visits it makes between its stops (see ``seq``)."""

    robot_id: str
    departure: float
    stops: tuple[PlannedStop, ...]
    return_time: float
    distance_m: float
    visits: tuple[PlannedVisit, ...] = ()


class UnservedCause(StrEnum):
    """Why the dispatcher left an order out, typed (the reason beside it says it for people)."""

    TOO_BIG = "too_big"                        # more compartments than the largest robot has
    UNREACHABLE = "unreachable"                # no route from any robot's position to it
    WINDOW_UNREACHABLE = "window_unreachable"  # no robot can be at the door before it closes
    WINDOW_TOO_LATE = "window_too_late"        # ... and be back before its shift ends
    BEYOND_RANGE = "beyond_range"              # the round trip is longer than any robot's range
    NO_ROOM = "no_room"                        # feasible alone; the solver could not fit it in


#: Causes of orders that no robot could serve inside their window even alone.
WINDOW_CAUSES = frozenset({UnservedCause.WINDOW_UNREACHABLE, UnservedCause.WINDOW_TOO_LATE})


@dataclass(frozen=True, slots=True, eq=False)
class DispatchPlan:
    """Routes per robot (empty routes for idle robots) and every order not served with a reason.

    ``robots_needed``: robots with a route (with ``minimise_fleet``, the fewest the solver found
    for the batch); ``robots_lower_bound``: no plan serving every order needs fewer (0 when not
    computed). ``problem`` and ``solution`` are the model behind the plan, for ``validate_plan``.
    ``missed``: (visit id, reason) of every patrol visit not on a route — its hotspot would go
    over its idleness bound. ``unserved_causes``: the typed cause of every unserved order, by id.
    """

    routes: tuple[RobotRoute, ...]
    unserved: tuple[tuple[str, str], ...]
    problem: RoutingProblem
    solution: RoutingSolution
    order_ids: tuple[str, ...]
    robots_needed: int = 0
    robots_lower_bound: int = 0
    missed: tuple[tuple[str, str], ...] = ()
    visit_ids: tuple[str, ...] = ()
    unserved_causes: Mapping[str, UnservedCause] = field(default_factory=dict)

    @property
    def served(self) -> int:
        """Number of orders on some route."""
        return sum(len(r.stops) for r in self.routes)


TravelFn = Callable[[FloatArray, float], tuple[FloatArray, FloatArray]]
"""``travel(points (N,2) m, speed m/s) -> (duration (N,N) s, distance (N,N) m)``."""


def euclidean_travel(points: FloatArray, speed: float) -> tuple[FloatArray, FloatArray]:
    """Straight-line travel between ``points`` (N,2) m at ``speed`` m/s: (seconds, metres)."""
    diff = points[:, None, :] - points[None, :, :]
    dist = np.sqrt((diff**2).sum(axis=2))
    return dist / speed, dist


def plan_dispatch(
    orders: Sequence[Order],
    robots: Sequence[Robot],
    depot_xy: tuple[float, float],
    travel: TravelFn,
    settings: DispatchSettings,
    visits: Sequence[PatrolVisit] = (),
) -> DispatchPlan:
    """Plan a shift from scratch: every robot starts at the depot at its shift start, empty."""
    states = [
        RobotState(r, depot_xy[0], depot_xy[1], r.shift_start, (), r.range_m) for r in robots
    ]
    return replan(states, orders, depot_xy, travel, settings, now=-math.inf, visits=visits)


def replan(
    states: Sequence[RobotState],
    pending: Sequence[Order],
    depot_xy: tuple[float, float],
    travel: TravelFn,
    settings: DispatchSettings,
    now: float,
    visits: Sequence[PatrolVisit] = (),
) -> DispatchPlan:
    """Re-solve the rest of a shift at time ``now`` (s): robots start where they are, no earlier
    than ``now``; parcels on board stay on their robot; ``pending`` orders wait at the depot.
    Delivered orders are simply not passed in. Unservable orders come back with a reason.
    ``visits``: patrol visits planned in the same model (any robot, loaded or not); those that
    do not fit come back in ``missed``.
    """
    if not states:
        raise PlanningError("dispatch: field 'robots': got 0 robots, expected at least 1")
    ids = [s.robot.id for s in states]
    if len(set(ids)) != len(ids):
        raise PlanningError(f"dispatch: field 'robots': got duplicate ids {ids}")
    all_orders: list[tuple[Order, int | None]] = [(o, None) for o in pending]
    for vi, st in enumerate(states):
        all_orders.extend((o, vi) for o in st.on_board)
    order_ids = [o.id for o, _ in all_orders]
    if len(set(order_ids)) != len(order_ids):
        raise PlanningError("dispatch: field 'orders': an order id appears twice")
    visit_ids = [v.id for v in visits]
    if len(set(visit_ids) | set(order_ids)) != len(visit_ids) + len(order_ids):
        raise PlanningError("dispatch: field 'visits': a visit id appears twice or as an order")

    # Locations: 0 depot, 1..R robot positions, then orders, then patrol visits.
    n_r = len(states)
    pts = np.array(
        [depot_xy] + [(s.x, s.y) for s in states] + [(o.x, o.y) for o, _ in all_orders]
        + [(v.x, v.y) for v in visits],
        dtype=np.float64,
    ).reshape(-1, 2)
    speeds = sorted({s.robot.speed for s in states})
    durations: list[FloatArray] = []
    distance: FloatArray | None = None
    for sp in speeds:
        dur, dist = travel(pts, sp)
        durations.append(np.asarray(dur, dtype=np.float64))
        distance = np.asarray(dist, dtype=np.float64) if distance is None else distance
    assert distance is not None

    vehicles = []
    for vi, st in enumerate(states):
        r = st.robot
        vehicles.append(
            Vehicle(
                name=r.id,
                capacity=r.compartments,
                start=1 + vi,
                end=0,
                shift_start=max(st.available_at, now, r.shift_start),
                shift_end=r.shift_end,
                max_distance=min(r.range_m, st.range_left_m),
                fixed_cost=settings.robot_cost_m,
                profile=speeds.index(r.speed),
                reloads=settings.allow_reloads,
                on_board=bool(st.on_board),
            )
        )

    unserved: list[tuple[str, str]] = []
    causes: dict[str, UnservedCause] = {}
    stops: list[Stop] = []
    stop_order: list[int] = []
    biggest = max(r.robot.compartments for r in states)
    for k, (o, pin) in enumerate(all_orders):
        loc = 1 + n_r + k
        cand = range(n_r) if pin is None else [pin]
        left_out = _precheck(o, loc, cand, vehicles, durations, distance, settings, biggest, pin)
        if left_out is not None:
            causes[o.id], reason = left_out
            unserved.append((o.id, reason))
            continue
        stop_order.append(k)
        stops.append(
            Stop(
                name=o.id,
                location=loc,
                demand=o.size,
                tw_early=o.window_start,
                tw_late=o.window_end - settings.service_time_s,
                service=settings.service_time_s,
                required=False,
                prize=settings.order_value_m * (1 + max(o.priority, 0)),
                pinned_to=pin,
            )
        )
    missed: list[tuple[str, str]] = []
    n_orders = len(stops)
    visit_of: list[int] = []
    for k, pv in enumerate(visits):
        loc = 1 + n_r + len(all_orders) + k
        earliest = min(v.shift_start + durations[v.profile][v.start, loc] for v in vehicles)
        if earliest > pv.due + 1e-6:
            missed.append((pv.id, f"cannot be reached before {clock(pv.due)} "
                                  f"(earliest {clock(earliest)})"))
            continue
        visit_of.append(k)
        stops.append(Stop(name=pv.id, location=loc, demand=0, tw_early=pv.earliest,
                          tw_late=pv.due, service=pv.watch_s, required=pv.required,
                          prize=pv.prize_m, loadless=True))
    problem = RoutingProblem(
        depots=tuple(range(1 + n_r)),
        stops=tuple(stops),
        vehicles=tuple(vehicles),
        distance=distance,
        durations=tuple(durations),
    )
    solution = _solve(problem, settings) if stops else RoutingSolution((), (), True)
    for si in solution.unassigned:
        if si >= n_orders:
            missed.append((visits[visit_of[si - n_orders]].id,
                           "no room in the routes before the hotspot's bound"))
            continue
        o, pin = all_orders[stop_order[si]]
        where = f"on board {ids[pin]}, returned to depot: " if pin is not None else ""
        causes[o.id] = UnservedCause.NO_ROOM
        unserved.append(
            (o.id, where + "solver could not fit it (capacity, time windows or range)")
        )

    routes = []
    by_vehicle = {r.vehicle: r for r in solution.routes}
    for vi, st in enumerate(states):
        rp = by_vehicle.get(vi)
        if rp is None:
            t0 = vehicles[vi].shift_start
            routes.append(RobotRoute(st.robot.id, t0, (), t0, 0.0))
            continue
        timed = schedule_route(problem, rp)
        planned = tuple(
            PlannedStop(
                order_id=problem.stops[vs.stop].name,
                x=float(pts[vs.location, 0]),
                y=float(pts[vs.location, 1]),
                arrival=vs.arrival,
                service_start=vs.service_start,
                departure=vs.departure,
                trip=vs.trip,
                seq=seq,
            )
            for seq, vs in enumerate(timed)
            if 0 <= vs.stop < n_orders
        )
        watches = tuple(
            PlannedVisit(
                visit_id=problem.stops[vs.stop].name,
                hotspot_id=visits[visit_of[vs.stop - n_orders]].hotspot_id,
                x=float(pts[vs.location, 0]),
                y=float(pts[vs.location, 1]),
                arrival=vs.arrival,
                service_start=vs.service_start,
                departure=vs.departure,
                trip=vs.trip,
                seq=seq,
            )
            for seq, vs in enumerate(timed)
            if vs.stop >= n_orders
        )
        routes.append(
            RobotRoute(
                st.robot.id, timed[0].departure, planned, timed[-1].arrival,
                route_distance(problem, rp), watches,
            )
        )
    return DispatchPlan(
        tuple(routes), tuple(unserved), problem, solution, tuple(order_ids),
        robots_needed=solution.num_vehicles, robots_lower_bound=solution.fleet_bound,
        missed=tuple(missed), visit_ids=tuple(visit_ids), unserved_causes=causes,
    )


def _solve(problem: RoutingProblem, settings: DispatchSettings) -> RoutingSolution:
    """Every order required first: load/time penalties drive the search to open new trips, which
    prize-collecting insertion alone does not (and fleet minimisation needs every order served).
    Only if that finds no feasible plan are orders made optional with a prize, so the best subset
    is served and the rest reported. Required patrol visits stay required throughout."""
    limit = settings.time_limit_s
    options = SolveOptions(limit, settings.seed, settings.scales,
                           fleet_share=settings.fleet_share)
    # Optional patrol visits (a soft bound) stay optional: they never make an order late.
    strict = replace(problem, stops=tuple(replace(s, required=s.required or not s.loadless)
                                          for s in problem.stops))
    if settings.minimise_fleet:
        first = solve_fleet_minimal(strict, options)
    else:
        first = solve_routing(strict, replace(options, time_limit_s=0.6 * limit))
    if first.solver_feasible and not validate_routes(strict, first):
        return first
    top_prize = max(s.prize for s in problem.stops) * settings.scales.distance
    rest = max(limit - first.runtime_s, 0.1 * limit)
    solution = solve_routing(
        problem, replace(options, time_limit_s=rest, max_penalty=100.0 * top_prize)
    )
    if not solution.solver_feasible:
        solution = _drop_infeasible(problem, solution)
    return replace(solution, fleet_bound=first.fleet_bound)


def _precheck(
    o: Order,
    loc: int,
    candidates: Sequence[int],
    vehicles: Sequence[Vehicle],
    durations: Sequence[FloatArray],
    distance: FloatArray,
    settings: DispatchSettings,
    biggest: int,
    pin: int | None,
) -> tuple[UnservedCause, str] | None:
    """Why no robot could serve ``o`` even alone (cause, reason for people), or None."""
    if pin is None and o.size > biggest:
        return (UnservedCause.TOO_BIG,
                f"too big: {o.size} compartments, largest robot has {biggest}")
    due = o.window_end - settings.service_time_s
    best_arrival, best_back, best_range = math.inf, math.inf, math.inf
    for vi in candidates:
        v = vehicles[vi]
        dur = durations[v.profile]
        first = v.start if (pin is not None or not v.on_board) else 0
        lead = 0.0 if first == v.start else dur[v.start, 0]
        lead_d = 0.0 if first == v.start else distance[v.start, 0]
        arrive = v.shift_start + lead + dur[first, loc]
        best_arrival = min(best_arrival, arrive)
        if arrive <= due:
            back = max(arrive, o.window_start) + settings.service_time_s + dur[loc, v.end]
            best_back = min(best_back, back - v.shift_end)
            best_range = min(
                best_range, lead_d + distance[first, loc] + distance[loc, v.end] - v.max_distance
            )
    if not math.isfinite(best_arrival):
        return (UnservedCause.UNREACHABLE,
                "unreachable: no route from the robots' positions to this address")
    if best_arrival > due:
        return UnservedCause.WINDOW_UNREACHABLE, (
            f"window unreachable: earliest handover start {clock(best_arrival)} is after "
            f"{clock(due)} (window end minus service time)"
        )
    if best_back > 1e-6:
        return (UnservedCause.WINDOW_TOO_LATE,
                "window too late: no robot can serve it and be back before its shift ends")
    if best_range > 1e-6:
        return (UnservedCause.BEYOND_RANGE,
                "beyond battery range: the round trip is longer than any robot's range")
    return None


def _drop_infeasible(problem: RoutingProblem, solution: RoutingSolution) -> RoutingSolution:
    """Keep only routes our validator accepts (the solver returned an infeasible best)."""
    keep, dropped = [], list(solution.unassigned)
    for rp in solution.routes:
        single = RoutingSolution((rp,), (), True)
        if [p for p in validate_routes(problem, single) if "required" not in p]:
            dropped.extend(s for trip in rp.trips for s in trip)
        else:
            keep.append(rp)
    return RoutingSolution(tuple(keep), tuple(sorted(dropped)), True, solution.runtime_s)


def validate_plan(plan: DispatchPlan) -> list[str]:
    """Independent feasibility check of a dispatch plan: the model checks of ``validate_routes``
    (capacity, windows, shift end, range, pinned parcels) plus every order accounted for exactly
    once, on a route or in ``unserved``. Returns one line per violation (empty = feasible)."""
    problems = validate_routes(plan.problem, plan.solution)
    counts: dict[str, int] = {}
    for r in plan.routes:
        for s in r.stops:
            counts[s.order_id] = counts.get(s.order_id, 0) + 1
    for oid, _ in plan.unserved:
        counts[oid] = counts.get(oid, 0) + 1
    for oid in plan.order_ids:
        n = counts.pop(oid, 0)
        if n != 1:
            problems.append(f"order '{oid}': accounted for {n} times, expected once")
    for oid in counts:
        problems.append(f"order '{oid}': in the plan but not in the input")
    return problems
