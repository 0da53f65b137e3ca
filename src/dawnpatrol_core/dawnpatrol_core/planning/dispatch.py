"""Dawn dispatch: orders to time-windowed multi-trip robot routes with PyVRP, replanning, checks.

One VRPTW model (``RoutingProblem`` -> ``build_model``) serves dispatch and the Solomon benchmark;
solver integers are scaled so that solver feasibility implies exact (float) feasibility.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.stop import MaxRuntime

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.errors import PlanningError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_BIG = 10**12  # solver stand-in for "unreachable" / "unbounded"
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Vehicle:
    """``count`` identical vehicles leaving location ``start`` no earlier than ``shift_start`` (s)
    and back at ``end`` by ``shift_end`` (s), driving at most ``max_distance`` metres.

    ``reloads``: may return to the main depot mid-shift to load more parcels.
    ``on_board``: starts away from the depot with parcels on board; it can deliver only its pinned
    stops before its first depot visit.
    """

    name: str
    capacity: int
    start: int
    end: int
    shift_start: float = 0.0
    shift_end: float = math.inf
    max_distance: float = math.inf
    fixed_cost: float = 0.0
    profile: int = 0
    count: int = 1
    reloads: bool = False
    on_board: bool = False


@dataclass(frozen=True, slots=True)
class Stop:
    """A delivery at location ``location``: ``demand`` compartments, service may start in
    [``tw_early``, ``tw_late``] s and lasts ``service`` s. ``pinned_to``: the vehicle it rides.
    ``prize``: cost units (metres) earned by serving an optional stop.
    """

    name: str
    location: int
    demand: int
    tw_early: float
    tw_late: float
    service: float
    required: bool = True
    prize: float = 0.0
    pinned_to: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class RoutingProblem:
    """Locations are rows of ``distance`` (L, L) float64 metres and of each ``durations[p]``
    (L, L) float64 seconds (one per speed profile). ``depots[0]`` is the main (reload) depot."""

    depots: tuple[int, ...]
    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    distance: FloatArray
    durations: tuple[FloatArray, ...]


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """One vehicle's route: stop indices per trip (trips separated by main-depot visits),
    leaving its start at ``start_time`` s."""

    vehicle: int
    start_time: float
    trips: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class RoutingSolution:
    """Routes, stop indices left out, the solver's own feasibility claim, and wall time (s)."""

    routes: tuple[RoutePlan, ...]
    unassigned: tuple[int, ...]
    solver_feasible: bool
    runtime_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Visit:
    """A timed visit on a route: stop index (-1 = depot), times in seconds."""

    stop: int
    location: int
    trip: int
    arrival: float
    service_start: float
    departure: float


@dataclass(frozen=True, slots=True)
class Scales:
    """Integer scaling for the solver: units per metre and per second."""

    distance: float = 10.0
    time: float = 10.0


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """Solver budget: wall-clock limit (s) and random seed; integer scaling; PyVRP's penalty cap
    (raise it above the largest prize so that leaving a stop out beats an infeasible route)."""

    time_limit_s: float = 5.0
    seed: int = 0
    scales: Scales = field(default_factory=Scales)
    max_penalty: float = 100_000.0  # per unit of excess load / time warp; above any prize


def _ceil(a: FloatArray, scale: float) -> IntArray:
    out = np.where(np.isfinite(a), np.ceil(np.nan_to_num(a, posinf=0.0) * scale - 1e-6), _BIG)
    return np.minimum(out, _BIG).astype(np.int64)


def _round(a: FloatArray, scale: float) -> IntArray:
    out = np.where(np.isfinite(a), np.rint(np.nan_to_num(a, posinf=0.0) * scale), _BIG)
    return np.minimum(out, _BIG).astype(np.int64)


def _early(t: float, scale: float) -> int:
    return 0 if t <= 0 else min(_BIG, math.ceil(t * scale - 1e-6))


def _late(t: float, scale: float) -> int:
    return _BIG if not math.isfinite(t) else max(0, math.floor(t * scale + 1e-6))


def build_model(problem: RoutingProblem, scales: Scales) -> pyvrp.ProblemData:
    """Translate ``problem`` into PyVRP's ``ProblemData`` (integer units per ``scales``)."""
    n_loc = problem.distance.shape[0]
    if problem.distance.shape != (n_loc, n_loc) or any(
        d.shape != (n_loc, n_loc) for d in problem.durations
    ):
        raise PlanningError(f"routing problem: matrices must all be ({n_loc}, {n_loc})")
    ds, ts = scales.distance, scales.time
    locations = [pyvrp.Location(0.0, 0.0, name=str(i)) for i in range(n_loc)]

    # Load dimensions: 0 compartments; 1 "fresh from the depot" (only if some vehicle starts
    # loaded); then one dimension per vehicle that has pinned stops.
    any_on_board = any(v.on_board for v in problem.vehicles)
    pinned = sorted({s.pinned_to for s in problem.stops if s.pinned_to is not None})
    pin_dim = {v: (2 if any_on_board else 1) + k for k, v in enumerate(pinned)}
    n_dims = (2 if any_on_board else 1) + len(pinned)
    fresh_cap = len(problem.stops) + 1

    clients = []
    for s in problem.stops:
        delivery = [0] * n_dims
        delivery[0] = s.demand
        if s.pinned_to is not None:
            delivery[pin_dim[s.pinned_to]] = 1
        elif any_on_board:
            delivery[1] = 1
        clients.append(
            pyvrp.Client(
                location=s.location,
                delivery=delivery,
                service_duration=int(_ceil(np.array([s.service]), ts)[0]),
                tw_early=_early(s.tw_early, ts),
                tw_late=_late(s.tw_late, ts),
                required=s.required,
                prize=0 if s.required else round(s.prize * ds),
                name=s.name,
            )
        )
    depots = [pyvrp.Depot(location=loc, name=f"depot{k}") for k, loc in enumerate(problem.depots)]
    depot_of = {loc: k for k, loc in enumerate(problem.depots)}
    vehicle_types = []
    for vi, v in enumerate(problem.vehicles):
        if v.start not in depot_of or v.end not in depot_of:
            raise PlanningError(f"vehicle '{v.name}': start/end must be depot locations")
        capacity = [0] * n_dims
        capacity[0] = v.capacity
        initial = [0] * n_dims
        if any_on_board:
            capacity[1] = fresh_cap
            initial[1] = fresh_cap if v.on_board else 0
        if vi in pin_dim:
            capacity[pin_dim[vi]] = fresh_cap
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=v.count,
                capacity=capacity,
                start_depot=depot_of[v.start],
                end_depot=depot_of[v.end],
                fixed_cost=round(v.fixed_cost * ds),
                tw_early=_early(v.shift_start, ts),
                tw_late=_late(v.shift_end, ts),
                max_distance=_late(v.max_distance, ds),
                profile=v.profile,
                initial_load=initial,
                reload_depots=[0] if v.reloads else [],
                name=v.name,
            )
        )
    dist: Any = _round(problem.distance, ds)
    durs: list[Any] = [_ceil(d, ts) for d in problem.durations]
    return pyvrp.ProblemData(
        locations, clients, depots, vehicle_types, [dist] * len(durs), durs
    )


def solve_routing(problem: RoutingProblem, options: SolveOptions) -> RoutingSolution:
    """Solve with PyVRP's iterated local search for ``options.time_limit_s`` seconds."""
    data = build_model(problem, options.scales)
    params = pyvrp.SolveParams(penalty=pyvrp.PenaltyParams(max_penalty=options.max_penalty))
    result = pyvrp.solve(
        data, MaxRuntime(options.time_limit_s), seed=options.seed, collect_stats=False,
        display=False, params=params,
    )
    best = result.best
    routes = []
    served: set[int] = set()
    for route in best.routes():
        trips: dict[int, list[int]] = {}
        for act in route.schedule():
            if act.is_client():
                trips.setdefault(int(act.trip), []).append(int(act.idx))
                served.add(int(act.idx))
        n_trips = max(trips) + 1 if trips else 0
        routes.append(
            RoutePlan(
                vehicle=int(route.vehicle_type()),
                start_time=route.start_time() / options.scales.time,
                trips=tuple(tuple(trips.get(k, ())) for k in range(n_trips)),
            )
        )
    unassigned = tuple(i for i in range(len(problem.stops)) if i not in served)
    return RoutingSolution(
        routes=tuple(routes), unassigned=unassigned, solver_feasible=bool(best.is_feasible()),
        runtime_s=float(result.runtime),
    )


def schedule_route(problem: RoutingProblem, route: RoutePlan) -> list[Visit]:
    """Exact timing of ``route`` (waiting when early), depot visits included as ``stop=-1``."""
    v = problem.vehicles[route.vehicle]
    dur = problem.durations[v.profile]
    t = max(route.start_time, v.shift_start)
    loc = v.start
    visits = [Visit(-1, loc, 0, t, t, t)]
    for k, trip in enumerate(route.trips):
        if k > 0:
            t += dur[loc, problem.depots[0]]
            loc = problem.depots[0]
            visits.append(Visit(-1, loc, k, t, t, t))
        for si in trip:
            s = problem.stops[si]
            t += dur[loc, s.location]
            start = max(t, s.tw_early)
            visits.append(Visit(si, s.location, k, t, start, start + s.service))
            t = start + s.service
            loc = s.location
    t += dur[loc, v.end]
    visits.append(Visit(-1, v.end, max(len(route.trips) - 1, 0), t, t, t))
    return visits


def route_distance(problem: RoutingProblem, route: RoutePlan) -> float:
    """Metres driven on ``route`` (exact, double precision)."""
    locs = [v.location for v in schedule_route(problem, route)]
    return float(sum(problem.distance[a, b] for a, b in zip(locs[:-1], locs[1:], strict=True)))


def validate_routes(problem: RoutingProblem, solution: RoutingSolution) -> list[str]:
    """Our own feasibility check, independent of the solver: one line per violation.

    Checks capacity per trip, time windows, shift end, maximum distance, vehicle counts,
    pinned stops on their vehicle, no fresh parcel before a loaded vehicle's first depot visit,
    every stop at most once and every required stop served.
    """
    problems: list[str] = []
    seen: dict[int, int] = {}
    used = [0] * len(problem.vehicles)
    for ri, route in enumerate(solution.routes):
        v = problem.vehicles[route.vehicle]
        used[route.vehicle] += 1
        tag = f"route {ri} ({v.name})"
        if route.start_time < v.shift_start - _EPS:
            problems.append(f"{tag}: starts {route.start_time:.3f} before shift {v.shift_start}")
        if len(route.trips) > 1 and not v.reloads:
            problems.append(f"{tag}: {len(route.trips)} trips but vehicle cannot reload")
        for k, trip in enumerate(route.trips):
            load = sum(problem.stops[s].demand for s in trip)
            if load > v.capacity:
                problems.append(f"{tag}: trip {k} load {load} > capacity {v.capacity}")
            for si in trip:
                s = problem.stops[si]
                seen[si] = seen.get(si, 0) + 1
                if s.pinned_to is not None and s.pinned_to != route.vehicle:
                    problems.append(f"{tag}: stop '{s.name}' is on board another vehicle")
                if v.on_board and k == 0 and s.pinned_to != route.vehicle:
                    problems.append(f"{tag}: stop '{s.name}' served before loading at depot")
        visits = schedule_route(problem, route)
        for vis in visits:
            if vis.stop >= 0 and vis.service_start > problem.stops[vis.stop].tw_late + _EPS:
                s = problem.stops[vis.stop]
                problems.append(
                    f"{tag}: stop '{s.name}' starts {vis.service_start:.3f} > due {s.tw_late}"
                )
        if visits[-1].arrival > v.shift_end + _EPS:
            problems.append(f"{tag}: returns {visits[-1].arrival:.3f} > shift end {v.shift_end}")
        dist = route_distance(problem, route)
        if dist > v.max_distance + _EPS:
            problems.append(f"{tag}: distance {dist:.3f} > max {v.max_distance}")
    for vi, n in enumerate(used):
        if n > problem.vehicles[vi].count:
            veh = problem.vehicles[vi]
            problems.append(f"vehicle '{veh.name}': {n} routes > {veh.count} available")
    for si, n in seen.items():
        if n > 1:
            problems.append(f"stop '{problem.stops[si].name}': served {n} times")
    for si, s in enumerate(problem.stops):
        if s.required and si not in seen:
            problems.append(f"stop '{s.name}': required but not served")
    return problems


# --------------------------------------------------------------------------------------------
# Dawn dispatch: robots and orders on top of the shared model.


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
class DispatchSettings:
    """Model and solver settings. Costs are in metres-equivalent: each robot used costs
    ``robot_cost_m`` (fewest robots first), each served order earns ``order_value_m`` x
    (1 + priority) so serving orders comes before both."""

    service_time_s: float = 60.0
    time_limit_s: float = 5.0
    seed: int = 0
    robot_cost_m: float = 1_000.0
    order_value_m: float = 20_000.0
    allow_reloads: bool = True
    scales: Scales = field(default_factory=Scales)


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """A stop on a robot's route: ETA ``arrival``, ``service_start`` and ``departure`` (s since
    midnight); ``trip`` counts depot reloads before it."""

    order_id: str
    x: float
    y: float
    arrival: float
    service_start: float
    departure: float
    trip: int


@dataclass(frozen=True, slots=True)
class RobotRoute:
    """One robot's plan: leaves at ``departure``, back at the depot at ``return_time`` (s)."""

    robot_id: str
    departure: float
    stops: tuple[PlannedStop, ...]
    return_time: float
    distance_m: float


@dataclass(frozen=True, slots=True, eq=False)
class DispatchPlan:
    """Routes per robot (empty routes for idle robots) and every order not served with a reason.

    ``problem`` and ``solution`` are the model behind the plan, kept for ``validate_plan``.
    """

    routes: tuple[RobotRoute, ...]
    unserved: tuple[tuple[str, str], ...]
    problem: RoutingProblem
    solution: RoutingSolution
    order_ids: tuple[str, ...]

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


def _hhmm(t: float) -> str:
    s = int(round(t))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def plan_dispatch(
    orders: Sequence[Order],
    robots: Sequence[Robot],
    depot_xy: tuple[float, float],
    travel: TravelFn,
    settings: DispatchSettings,
) -> DispatchPlan:
    """Plan a shift from scratch: every robot starts at the depot at its shift start, empty."""
    states = [
        RobotState(r, depot_xy[0], depot_xy[1], r.shift_start, (), r.range_m) for r in robots
    ]
    return replan(states, orders, depot_xy, travel, settings, now=-math.inf)


def replan(
    states: Sequence[RobotState],
    pending: Sequence[Order],
    depot_xy: tuple[float, float],
    travel: TravelFn,
    settings: DispatchSettings,
    now: float,
) -> DispatchPlan:
    """Re-solve the rest of a shift at time ``now`` (s): robots start where they are, no earlier
    than ``now``; parcels on board stay on their robot; ``pending`` orders wait at the depot.
    Delivered orders are simply not passed in. Unservable orders come back with a reason.
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

    # Locations: 0 depot, 1..R robot positions, then orders.
    n_r = len(states)
    pts = np.array(
        [depot_xy] + [(s.x, s.y) for s in states] + [(o.x, o.y) for o, _ in all_orders],
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
    stops: list[Stop] = []
    stop_order: list[int] = []
    biggest = max(r.robot.compartments for r in states)
    for k, (o, pin) in enumerate(all_orders):
        loc = 1 + n_r + k
        cand = range(n_r) if pin is None else [pin]
        reason = _precheck(o, loc, cand, vehicles, durations, distance, settings, biggest, pin)
        if reason is not None:
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
    problem = RoutingProblem(
        depots=tuple(range(1 + n_r)),
        stops=tuple(stops),
        vehicles=tuple(vehicles),
        distance=distance,
        durations=tuple(durations),
    )
    solution = RoutingSolution((), (), True, 0.0)
    if stops:
        # Phase 1: every order required: load/time penalties drive the search to open new trips,
        # which prize-collecting insertion alone does not. Phase 2 (only if 1 is infeasible):
        # orders optional with a prize, so the best subset is served and the rest reported.
        strict = replace(problem, stops=tuple(replace(s, required=True) for s in stops))
        first = solve_routing(
            strict, SolveOptions(0.6 * settings.time_limit_s, settings.seed, settings.scales)
        )
        if first.solver_feasible and not validate_routes(strict, first):
            solution = first
        else:
            top_prize = max(s.prize for s in stops) * settings.scales.distance
            solution = solve_routing(
                problem,
                SolveOptions(0.4 * settings.time_limit_s, settings.seed, settings.scales,
                             100.0 * top_prize),
            )
            if not solution.solver_feasible:
                solution = _drop_infeasible(problem, solution)
    for si in solution.unassigned:
        o, pin = all_orders[stop_order[si]]
        where = f"on board {ids[pin]}, returned to depot: " if pin is not None else ""
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
        visits = schedule_route(problem, rp)
        planned = tuple(
            PlannedStop(
                order_id=problem.stops[vs.stop].name,
                x=float(pts[vs.location, 0]),
                y=float(pts[vs.location, 1]),
                arrival=vs.arrival,
                service_start=vs.service_start,
                departure=vs.departure,
                trip=vs.trip,
            )
            for vs in visits
            if vs.stop >= 0
        )
        routes.append(
            RobotRoute(
                st.robot.id, visits[0].departure, planned, visits[-1].arrival,
                route_distance(problem, rp),
            )
        )
    return DispatchPlan(tuple(routes), tuple(unserved), problem, solution, tuple(order_ids))


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
) -> str | None:
    """Reason why no robot could serve ``o`` even alone, or None."""
    if pin is None and o.size > biggest:
        return f"too big: {o.size} compartments, largest robot has {biggest}"
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
        return "unreachable: no route from the robots' positions to this address"
    if best_arrival > due:
        return (
            f"window unreachable: earliest handover start {_hhmm(best_arrival)} is after "
            f"{_hhmm(due)} (window end minus service time)"
        )
    if best_back > 1e-6:
        return "window too late: no robot can serve it and be back before its shift ends"
    if best_range > 1e-6:
        return "beyond battery range: the round trip is longer than any robot's range"
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
