"""Vehicle routing with time windows over PyVRP: a generic model, fleet-minimal solving, checks.

Dispatch and the literature benchmarks build on it; solver integers are scaled so that solver
feasibility implies exact (float) feasibility.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.stop import FirstFeasible, MaxRuntime, MultipleCriteria, StoppingCriterion

from dawnpatrol_core.errors import PlanningError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

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
    """A visit at location ``location``: ``demand`` compartments, service may start in
    [``tw_early``, ``tw_late``] s and lasts ``service`` s. ``pinned_to``: the vehicle it rides.
    ``prize``: cost units (metres) earned by serving an optional (``required=False``) stop.
    ``loadless``: carries nothing (a patrol watch): any vehicle may make it at any point of its
    route, loaded or not, and it takes no compartment.

    A patrol visit is a stop too: window up to last visit + idleness bound, service = watch time.
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
    loadless: bool = False


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
    leaving its start at ``start_time`` s. ``vehicle`` indexes ``RoutingProblem.vehicles``."""

    vehicle: int
    start_time: float
    trips: tuple[tuple[int, ...], ...]

    @property
    def num_stops(self) -> int:
        """Stops on all trips."""
        return sum(len(t) for t in self.trips)


@dataclass(frozen=True, slots=True)
class RoutingSolution:
    """Routes, stop indices left out, the solver's own feasibility claim, and wall time (s).

    Fleet-minimal solves also give ``fleet_bound`` (the lower bound on vehicles, 0 when not
    computed) and ``fleet_s``, the seconds phase 1 (removing vehicles) took.
    """

    routes: tuple[RoutePlan, ...]
    unassigned: tuple[int, ...]
    solver_feasible: bool
    runtime_s: float = 0.0
    fleet_bound: int = 0
    fleet_s: float = 0.0

    @property
    def num_vehicles(self) -> int:
        """Vehicles with at least one stop."""
        return sum(1 for r in self.routes if r.num_stops)


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


FleetMethod = Literal["own", "pyvrp"]


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """Solver budget: wall-clock limit (s) and random seed; integer scaling; PyVRP's penalty cap
    (raise it above the largest prize so that leaving a stop out beats an infeasible route).

    Fleet-minimal solves (``solve_fleet_minimal``) spend at most ``fleet_share`` of the limit
    removing vehicles (phase 1), the rest shortening routes with that fleet (phase 2).
    ``fleet_method``: "own" (our loop, any model) or "pyvrp" (``pyvrp.minimise_fleet``; only
    for one vehicle type and no optional stops, else our loop runs).
    """

    time_limit_s: float = 5.0
    seed: int = 0
    scales: Scales = field(default_factory=Scales)
    max_penalty: float = 100_000.0  # per unit of excess load / time warp; above any prize
    fleet_share: float = 0.5
    fleet_method: FleetMethod = "own"


@dataclass(frozen=True, slots=True)
class FleetBound:
    """Lower bounds on the vehicles any feasible solution uses for the required stops.

    ``capacity``: total demand packed into the largest vehicles (0 when vehicles reload);
    ``duration``: total service plus the shortest drive into each stop, packed into the longest
    shifts; ``clique``: stop indices whose time windows (or pins, or loads) pairwise exclude
    sharing a vehicle; ``pinned``: vehicles carrying pinned stops.
    """

    capacity: int
    duration: int
    clique: tuple[int, ...]
    pinned: int

    @property
    def value(self) -> int:
        """The strongest of the bounds."""
        return max(self.capacity, self.duration, len(self.clique), self.pinned)


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


def _kept(problem: RoutingProblem, fleet: Sequence[int] | None) -> list[int]:
    """Vehicle indices that become PyVRP vehicle types (those with vehicles available)."""
    if fleet is None:
        return list(range(len(problem.vehicles)))
    if len(fleet) != len(problem.vehicles):
        raise PlanningError(
            f"routing problem: field 'fleet': got {len(fleet)} counts, "
            f"expected {len(problem.vehicles)} (one per vehicle)"
        )
    return [vi for vi, n in enumerate(fleet) if n > 0]


def build_model(
    problem: RoutingProblem, scales: Scales, fleet: Sequence[int] | None = None
) -> pyvrp.ProblemData:
    """Translate ``problem`` into PyVRP's ``ProblemData`` (integer units per ``scales``).

    ``fleet``: vehicles available per entry of ``problem.vehicles`` (default: each ``count``);
    entries with 0 are left out, so PyVRP vehicle type k is the k-th vehicle with a count.
    """
    n_loc = problem.distance.shape[0]
    if problem.distance.shape != (n_loc, n_loc) or any(
        d.shape != (n_loc, n_loc) for d in problem.durations
    ):
        raise PlanningError(f"routing problem: matrices must all be ({n_loc}, {n_loc})")
    kept = _kept(problem, fleet)
    if not kept:
        raise PlanningError("routing problem: field 'fleet': got no vehicles, expected >= 1")
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
        if not s.loadless:
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
    for vi in kept:
        v = problem.vehicles[vi]
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
                num_available=v.count if fleet is None else fleet[vi],
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


def _from_pyvrp(
    problem: RoutingProblem, kept: Sequence[int], best: pyvrp.Solution, scales: Scales,
    runtime_s: float,
) -> RoutingSolution:
    """PyVRP's solution in our terms (vehicle types mapped back through ``kept``)."""
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
                vehicle=kept[int(route.vehicle_type())],
                start_time=route.start_time() / scales.time,
                trips=tuple(tuple(trips.get(k, ())) for k in range(n_trips)),
            )
        )
    unassigned = tuple(i for i in range(len(problem.stops)) if i not in served)
    return RoutingSolution(
        routes=tuple(routes), unassigned=unassigned, solver_feasible=bool(best.is_feasible()),
        runtime_s=runtime_s,
    )


def _to_pyvrp(
    data: pyvrp.ProblemData, kept: Sequence[int], routes: Sequence[RoutePlan]
) -> pyvrp.Solution:
    """Our routes as a PyVRP solution of ``data`` (a warm start); trips joined by depot 0."""
    type_of = {vi: k for k, vi in enumerate(kept)}
    out = []
    for rp in routes:
        acts: list[pyvrp.Activity] = []
        for k, trip in enumerate(rp.trips):
            if k > 0:
                acts.append(pyvrp.Activity(pyvrp.ActivityType.DEPOT, 0))
            acts.extend(pyvrp.Activity(pyvrp.ActivityType.CLIENT, si) for si in trip)
        out.append(pyvrp.Route(data, acts, type_of[rp.vehicle]))
    return pyvrp.Solution(data, out)


def _run(
    problem: RoutingProblem,
    options: SolveOptions,
    stop: StoppingCriterion,
    *,
    fleet: Sequence[int] | None = None,
    initial: Sequence[RoutePlan] | None = None,
    seed: int | None = None,
) -> RoutingSolution:
    """One PyVRP run on ``problem`` with ``fleet``, optionally warm-started from ``initial``."""
    t0 = time.perf_counter()
    kept = _kept(problem, fleet)
    data = build_model(problem, options.scales, fleet)
    params = pyvrp.SolveParams(penalty=pyvrp.PenaltyParams(max_penalty=options.max_penalty))
    warm = _to_pyvrp(data, kept, initial) if initial is not None else None
    result = pyvrp.solve(
        data, stop, seed=options.seed if seed is None else seed, collect_stats=False,
        display=False, params=params, initial_solution=warm,
    )
    return _from_pyvrp(problem, kept, result.best, options.scales, time.perf_counter() - t0)


def solve_routing(problem: RoutingProblem, options: SolveOptions) -> RoutingSolution:
    """Solve once with PyVRP's iterated local search for ``options.time_limit_s`` seconds
    (vehicles cost their ``fixed_cost``; the fleet is each vehicle's ``count``)."""
    return _run(problem, options, MaxRuntime(options.time_limit_s))


# -- the fleet ------------------------------------------------------------------------------------
def fleet_lower_bound(problem: RoutingProblem) -> FleetBound:
    """Cheap lower bounds on the vehicles needed for the required stops of ``problem``.

    Capacity: the total demand needs the largest vehicles' capacities (void when vehicles
    reload). Duration: each stop takes its service plus the shortest drive into it out of some
    vehicle's shift. Clique: two stops exclude each other when neither can follow the other on
    one vehicle (the earliest service start of the first, i.e. its window opening or the soonest
    any vehicle can be there, plus its service and the fastest travel between them is after the
    second's latest start, i.e. its window end or the latest any vehicle can start it and still
    be home), or they are pinned to different vehicles, or (no reloads) their loads together
    exceed every capacity; a greedy clique of that exclusion graph needs a vehicle per member.
    """
    req = [i for i, s in enumerate(problem.stops) if s.required]
    vehicles = problem.vehicles
    reloads = any(v.reloads for v in vehicles)
    cap_bound = 0
    if not reloads:
        caps = [float(v.capacity) for v in vehicles for _ in range(v.count)]
        cap_bound = _pack(sum(float(problem.stops[i].demand) for i in req), caps)
    pinned = len({problem.stops[i].pinned_to for i in req} - {None})
    if not req:
        return FleetBound(cap_bound, 0, (), pinned)

    # Duration: every stop a vehicle serves costs it the service and a drive in from somewhere
    # (another stop, a vehicle's start, or the reload depot).
    every = np.array([s.location for s in problem.stops], dtype=np.int64)
    outside = np.array([v.start for v in vehicles] + ([problem.depots[0]] if reloads else []),
                       dtype=np.int64)
    sources = np.unique(np.concatenate([every, outside]))
    into = np.minimum.reduce([d[np.ix_(sources, every)] for d in problem.durations])
    # A stop's own location is a source only if something else starts or stops there too.
    alone = ~(_repeated(every) | np.isin(every, outside))
    into = np.where((sources[:, None] == every[None, :]) & alone[None, :], np.inf, into)
    drive_in = into.min(axis=0)[req]
    work = float(sum(problem.stops[i].service for i in req) + np.sum(drive_in))
    shifts = [v.shift_end - v.shift_start for v in vehicles for _ in range(v.count)]
    dur_bound = _pack(work, shifts)

    loc = np.array([problem.stops[i].location for i in req])
    early = np.array([problem.stops[i].tw_early for i in req], dtype=np.float64)
    late = np.array([problem.stops[i].tw_late for i in req], dtype=np.float64)
    service = np.array([problem.stops[i].service for i in req], dtype=np.float64)
    load = np.array([problem.stops[i].demand for i in req], dtype=np.float64)
    dur = np.minimum.reduce([d[np.ix_(loc, loc)] for d in problem.durations])
    if reloads:  # a reload between two stops is a detour, unless the matrix breaks the triangle
        d0 = problem.depots[0]
        via = np.minimum.reduce([d[loc, d0][:, None] + d[d0, loc][None, :]
                                 for d in problem.durations])
        dur = np.minimum(dur, via)
    first = np.full(len(req), np.inf)
    last = np.full(len(req), -np.inf)
    for v in vehicles:
        dp = problem.durations[v.profile]
        first = np.minimum(first, v.shift_start + dp[v.start, loc])
        last = np.maximum(last, v.shift_end - service - dp[loc, v.end])
    start_min = np.maximum(early, first)
    start_max = np.minimum(late, last)
    # follows[i, j]: j can be served after i on one vehicle.
    follows = start_min[:, None] + service[:, None] + dur <= start_max[None, :] + _EPS
    excl: BoolArray = ~(follows | follows.T)
    pins = [problem.stops[i].pinned_to for i in req]
    pin_arr = np.array([-1 if p is None else p for p in pins])
    excl |= (pin_arr[:, None] >= 0) & (pin_arr[None, :] >= 0) & (pin_arr[:, None] != pin_arr)
    if not reloads:
        excl |= load[:, None] + load[None, :] > max(v.capacity for v in vehicles)
    np.fill_diagonal(excl, False)
    clique = _greedy_clique(excl)
    return FleetBound(cap_bound, dur_bound, tuple(sorted(req[k] for k in clique)), pinned)


def _pack(total: float, sizes: Sequence[float]) -> int:
    """Fewest of ``sizes`` (largest first) that add up to ``total``; len + 1 if all do not."""
    if total <= 0:
        return 0
    acc = 0.0
    for k, size in enumerate(sorted(sizes, reverse=True), start=1):
        acc += size
        if acc >= total - _EPS:
            return k
    return len(sizes) + 1


def _repeated(locations: IntArray) -> BoolArray:
    """(N,) bool: the location is shared by another stop (a drive of 0 s into it is possible)."""
    _, inverse, counts = np.unique(locations, return_inverse=True, return_counts=True)
    return np.asarray(counts[inverse] > 1)


def _greedy_clique(adj: BoolArray, seeds: int = 64) -> list[int]:
    """A large clique of the symmetric graph ``adj`` (N, N) bool: from each of the ``seeds``
    highest-degree vertices, add the highest-degree vertex adjacent to all chosen so far."""
    n = adj.shape[0]
    deg = adj.sum(axis=1)
    best: list[int] = []
    for seed in np.argsort(-deg, kind="stable")[: min(n, seeds)]:
        if deg[seed] + 1 <= len(best):
            break  # degrees only fall from here: no larger clique can start at this seed
        clique = [int(seed)]
        cand = adj[seed].copy()
        while cand.any():
            idx = np.flatnonzero(cand)
            v = int(idx[np.argmax(deg[idx])])
            clique.append(v)
            cand &= adj[v]
        if len(clique) > len(best):
            best = clique
    return best


def _fleet_of(problem: RoutingProblem, routes: Sequence[RoutePlan]) -> list[int]:
    """Vehicles used per entry of ``problem.vehicles``."""
    used = [0] * len(problem.vehicles)
    for r in routes:
        if r.num_stops:
            used[r.vehicle] += 1
    return used


def _feasible(problem: RoutingProblem, sol: RoutingSolution) -> bool:
    return sol.solver_feasible and not validate_routes(problem, sol)


def solve_fleet_minimal(problem: RoutingProblem, options: SolveOptions) -> RoutingSolution:
    """Fewest vehicles first, then distance, within ``options.time_limit_s`` seconds.

    Phase 1 (at most ``fleet_share`` of the limit) finds a feasible solution with the whole
    fleet, then removes a vehicle (one of the least used, never one carrying pinned stops) and
    solves again from scratch while a feasible solution exists, stopping early at
    ``fleet_lower_bound``. Each attempt stops at its first feasible solution, which may use
    fewer vehicles still (the next attempt then starts below it).
    Optional stops served by the whole fleet's solution are held as required meanwhile, so a
    smaller fleet serves the same stops. Phase 2 shortens the routes of the smallest feasible
    fleet, starting from its solution, for the rest of the limit.

    If phase 1 finds no feasible solution at all, its best (infeasible) solution is returned
    after phase 1's share of the limit, leaving the rest to the caller (``solver_feasible`` is
    False). ``pyvrp.minimise_fleet`` does phase 1 when ``fleet_method`` is "pyvrp" and the model
    allows it (one vehicle type, every stop required).
    """
    t0 = time.perf_counter()
    bound = fleet_lower_bound(problem).value
    share = min(max(options.fleet_share, 0.0), 1.0)
    deadline1 = t0 + share * options.time_limit_s
    deadline = t0 + options.time_limit_s
    fleet = [v.count for v in problem.vehicles]
    if options.fleet_method == "pyvrp" and len(problem.vehicles) == 1 and all(
        s.required for s in problem.stops
    ):
        data = build_model(problem, options.scales)
        params = pyvrp.SolveParams(penalty=pyvrp.PenaltyParams(max_penalty=options.max_penalty))
        vt = pyvrp.minimise_fleet(
            data, MaxRuntime(share * options.time_limit_s), options.seed, params
        )
        fleet = [vt.num_available]
        t1 = time.perf_counter()
        final = _run(problem, options, MaxRuntime(max(deadline - t1, 0.0)), fleet=fleet)
        return replace(final, runtime_s=time.perf_counter() - t0, fleet_bound=bound,
                       fleet_s=t1 - t0)

    optional = any(not s.required for s in problem.stops)
    # Without optional stops the first feasible solution fixes what must be served; with them,
    # the whole fleet first settles which optional stops are worth serving.
    first_stop: StoppingCriterion = (
        MaxRuntime(max(deadline1 - time.perf_counter(), 0.0) / 3) if optional
        else MultipleCriteria([FirstFeasible(), MaxRuntime(max(deadline1 - t0, 0.0))])
    )
    best = _run(problem, options, first_stop)
    if not _feasible(problem, best):
        return replace(best, runtime_s=time.perf_counter() - t0, fleet_bound=bound,
                       fleet_s=time.perf_counter() - t0)
    served = {si for r in best.routes for trip in r.trips for si in trip}
    held = replace(problem, stops=tuple(
        replace(s, required=True) if si in served else s for si, s in enumerate(problem.stops)
    ))
    if optional:
        bound = max(bound, fleet_lower_bound(held).value)
    fixed = {s.pinned_to for s in problem.stops if s.pinned_to is not None}
    attempt = 0
    while True:
        fleet = _fleet_of(problem, best.routes)
        if sum(fleet) <= bound or time.perf_counter() >= deadline1:
            break
        removable = [r for r in best.routes if r.num_stops and r.vehicle not in fixed]
        if not removable:
            break
        drop = min(removable, key=lambda r: (r.num_stops, route_distance(problem, r)))
        smaller = list(fleet)
        smaller[drop.vehicle] -= 1
        attempt += 1
        stop = MultipleCriteria(
            [FirstFeasible(), MaxRuntime(max(deadline1 - time.perf_counter(), 0.0))]
        )
        # From scratch, as pyvrp.minimise_fleet does: re-inserting the dropped route's stops into
        # the rest of the last solution found the smaller fleet far less often (Solomon, 10 s:
        # 0 of the 13 instances that missed the best-known count, against 10 of 13 from scratch).
        trial = _run(held, options, stop, fleet=smaller, seed=options.seed + attempt)
        if not _feasible(held, trial):
            break
        best = trial
    t1 = time.perf_counter()
    final = _run(held if optional else problem, options, MaxRuntime(max(deadline - t1, 0.0)),
                 fleet=fleet, initial=best.routes)
    if not _feasible(problem, final):  # cannot happen from a feasible warm start; stay safe
        final = best
    return replace(final, runtime_s=time.perf_counter() - t0, fleet_bound=bound, fleet_s=t1 - t0)


# -- timing and checks ----------------------------------------------------------------------------
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
            load = sum(problem.stops[s].demand for s in trip if not problem.stops[s].loadless)
            if load > v.capacity:
                problems.append(f"{tag}: trip {k} load {load} > capacity {v.capacity}")
            for si in trip:
                s = problem.stops[si]
                seen[si] = seen.get(si, 0) + 1
                if s.pinned_to is not None and s.pinned_to != route.vehicle:
                    problems.append(f"{tag}: stop '{s.name}' is on board another vehicle")
                if v.on_board and k == 0 and s.pinned_to != route.vehicle and not s.loadless:
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
