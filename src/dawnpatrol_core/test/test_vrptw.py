"""The generic VRPTW model: fleet lower bounds by hand, fleet minimisation, pinned/optional stops."""

from __future__ import annotations

import numpy as np

from dawnpatrol_core.planning.vrptw import (
    FleetMethod,
    RoutingProblem,
    Scales,
    SolveOptions,
    Stop,
    Vehicle,
    fleet_lower_bound,
    solve_fleet_minimal,
    validate_routes,
)


def _problem(points: list[tuple[float, float]], stops: list[Stop], vehicles: list[Vehicle],
             depots: tuple[int, ...] = (0,)) -> RoutingProblem:
    """Euclidean distances, unit speed (seconds = metres)."""
    xy = np.array(points, dtype=np.float64)
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    return RoutingProblem(depots, tuple(stops), tuple(vehicles), dist, (dist,))


def _wide(k: int, loc: int, demand: int = 1) -> Stop:
    return Stop(f"s{k}", loc, demand, 0.0, 10_000.0, 1.0)


def test_capacity_bound_packs_the_largest_vehicles_first() -> None:
    # Demands 2 x 5 = 10; one vehicle of 6 and three of 2: 6 + 2 + 2 >= 10 -> 3 vehicles.
    pts = [(0.0, 0.0)] + [(10.0 * k, 0.0) for k in range(1, 6)]
    stops = [_wide(k, k, demand=2) for k in range(1, 6)]
    vehicles = [Vehicle("big", 6, 0, 0), Vehicle("small", 2, 0, 0, count=3)]
    bound = fleet_lower_bound(_problem(pts, stops, vehicles))
    assert bound.capacity == 3 and bound.value == 3
    # Loads 2 + 2 fit the big vehicle: no pair excludes each other, wide windows: clique 1.
    assert len(bound.clique) == 1


def test_duration_bound_packs_service_and_drive_in_into_shifts() -> None:
    # Ten stops 10 m apart on a line from the depot, 50 s service, unit speed: each costs at
    # least 60 s (the nearest thing to drive in from is 10 m away); 600 s > 2 shifts of 290 s.
    # Windows exclude little here (the clique is 2: only the far end excludes the rest).
    pts = [(0.0, 0.0)] + [(10.0 * k, 0.0) for k in range(1, 11)]
    stops = [Stop(f"s{k}", k, 1, 0.0, 1e4, 50.0) for k in range(1, 11)]
    bound = fleet_lower_bound(_problem(pts, stops, [Vehicle("v", 99, 0, 0, shift_end=290.0,
                                                           count=5)]))
    assert bound.duration == 3 and len(bound.clique) == 2 and bound.value == 3
    # Two stops at one address may follow each other with no drive: 2 x 100 s fits 250 s.
    twin = [Stop("a", 1, 1, 0.0, 1e4, 100.0), Stop("b", 1, 1, 0.0, 1e4, 100.0)]
    assert fleet_lower_bound(_problem(pts, twin, [Vehicle("v", 99, 0, 0, shift_end=250.0,
                                                         count=5)])).duration == 1
    apart = [Stop("a", 1, 1, 0.0, 1e4, 100.0), Stop("b", 2, 1, 0.0, 1e4, 100.0)]
    assert fleet_lower_bound(_problem(pts, apart, [Vehicle("v", 99, 0, 0, shift_end=215.0,
                                                          count=5)])).duration == 2


def test_loads_that_cannot_share_a_vehicle_form_a_clique() -> None:
    # Demands 3 x 5 = 15 in vehicles of 4: capacity says 4, but no two fit together: 5.
    pts = [(0.0, 0.0)] + [(10.0 * k, 0.0) for k in range(1, 6)]
    stops = [_wide(k, k, demand=3) for k in range(1, 6)]
    bound = fleet_lower_bound(_problem(pts, stops, [Vehicle("v", 4, 0, 0, count=10)]))
    assert bound.capacity == 4 and bound.clique == (0, 1, 2, 3, 4) and bound.value == 5


def test_reloads_void_the_capacity_bound() -> None:
    pts = [(0.0, 0.0)] + [(10.0 * k, 0.0) for k in range(1, 6)]
    stops = [_wide(k, k, demand=3) for k in range(1, 6)]
    vehicles = [Vehicle("v", 4, 0, 0, count=10, reloads=True)]
    bound = fleet_lower_bound(_problem(pts, stops, vehicles))
    assert bound.capacity == 0 and bound.value == 1


def test_time_windows_that_exclude_each_other() -> None:
    # Four stops 100 m apart (square of side 100), windows [0, 10], service 5: after serving one,
    # the next is reached at >= 105 s > 10 s. A fifth stop with a wide window fits after any.
    pts = [(50.0, 50.0), (0.0, 0.0), (100.0, 0.0), (0.0, 100.0), (100.0, 100.0), (50.0, 60.0)]
    tight = [Stop(f"t{k}", k, 1, 0.0, 80.0, 5.0) for k in range(1, 5)]
    stops = [*tight, Stop("w", 5, 1, 0.0, 10_000.0, 5.0)]
    bound = fleet_lower_bound(_problem(pts, stops, [Vehicle("v", 100, 0, 0, count=10)]))
    assert bound.clique == (0, 1, 2, 3) and bound.value == 4 and bound.capacity == 1


def test_clique_uses_the_soonest_arrival_and_the_way_home() -> None:
    # a and b are 100 m from the depot and 150 m apart, service 10 s. Leaving at 0, a starts at
    # 100 s and b can start at 260 s: windows [0, 300] fit one vehicle. Leaving at 50 s, b would
    # start at 310 s > 300: two vehicles. Home by 300 s, b must start by 300 - 10 - 100 = 190 s.
    b_xy = (-12.5, (100.0**2 - 12.5**2) ** 0.5)  # |b| = 100, |a - b| = 150
    pts = [(0.0, 0.0), (100.0, 0.0), b_xy]

    def bound(window_end: float, **shift: float) -> int:
        stops = [Stop("a", 1, 1, 0.0, window_end, 10.0), Stop("b", 2, 1, 0.0, window_end, 10.0)]
        problem = _problem(pts, stops, [Vehicle("v", 9, 0, 0, count=5, **shift)])
        assert abs(problem.distance[1, 2] - 150.0) < 1e-9
        return fleet_lower_bound(problem).value

    assert bound(300.0) == 1
    assert bound(300.0, shift_start=50.0) == 2
    assert bound(1000.0) == 1
    assert bound(1000.0, shift_end=300.0) == 2


def test_pinned_stops_on_different_vehicles_exclude_each_other() -> None:
    pts = [(0.0, 0.0), (10.0, 0.0), (20.0, 0.0), (30.0, 0.0)]
    stops = [Stop("p0", 1, 1, 0.0, 1e4, 1.0, pinned_to=0),
             Stop("p1", 2, 1, 0.0, 1e4, 1.0, pinned_to=1), _wide(3, 3)]
    vehicles = [Vehicle("a", 5, 0, 0), Vehicle("b", 5, 0, 0), Vehicle("c", 5, 0, 0)]
    bound = fleet_lower_bound(_problem(pts, stops, vehicles))
    assert bound.pinned == 2 and bound.clique == (0, 1) and bound.value == 2


def test_optional_stops_do_not_count() -> None:
    pts = [(0.0, 0.0)] + [(10.0 * k, 0.0) for k in range(1, 6)]
    stops = [Stop(f"s{k}", k, 3, 0.0, 1e4, 1.0, required=k == 1, prize=10.0)
             for k in range(1, 6)]
    bound = fleet_lower_bound(_problem(pts, stops, [Vehicle("v", 4, 0, 0, count=10)]))
    assert bound.value == 1 and bound.clique == (0,)


def test_fleet_minimisation_reaches_the_bound_and_stops_there() -> None:
    # 12 parcels in a ring, vehicles of 4, a dozen available, no cost per vehicle: the bound is
    # 3 and phase 1 must stop there (trying 2 would run until phase 1's deadline, 1 s).
    ang = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
    pts = [(0.0, 0.0)] + [(100.0 * np.cos(a), 100.0 * np.sin(a)) for a in ang]
    stops = [_wide(k, k) for k in range(1, 13)]
    problem = _problem(pts, stops, [Vehicle("v", 4, 0, 0, count=12)])
    sol = solve_fleet_minimal(problem, SolveOptions(2.0, seed=3, fleet_share=0.5))
    assert validate_routes(problem, sol) == [] and sol.unassigned == ()
    assert sol.fleet_bound == 3 and sol.num_vehicles == 3
    assert sol.fleet_s < 1.0


def test_fleet_minimisation_below_the_first_plan_when_the_bound_is_loose() -> None:
    # Two pairs of stops 100 m east and west; a 250 m range covers one side (210 m) but not both
    # (>= 400 m). The bound ignores range (1); phase 1 must find 2 and not claim 1.
    pts = [(0.0, 0.0), (100.0, 0.0), (100.0, 10.0), (-100.0, 0.0), (-100.0, 10.0)]
    stops = [_wide(k, k) for k in range(1, 5)]
    problem = _problem(pts, stops, [Vehicle("v", 10, 0, 0, max_distance=250.0, count=4)])
    assert fleet_lower_bound(problem).value == 1
    sol = solve_fleet_minimal(problem, SolveOptions(1.0, seed=1))
    assert validate_routes(problem, sol) == [] and sol.num_vehicles == 2


def test_pyvrp_fleet_minimisation_where_the_model_allows_it() -> None:
    ang = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
    pts = [(0.0, 0.0)] + [(100.0 * np.cos(a), 100.0 * np.sin(a)) for a in ang]
    problem = _problem(pts, [_wide(k, k) for k in range(1, 13)],
                       [Vehicle("v", 4, 0, 0, count=12)])
    sol = solve_fleet_minimal(problem, SolveOptions(1.0, seed=3, fleet_method="pyvrp"))
    assert validate_routes(problem, sol) == [] and sol.num_vehicles == 3


def test_dawn_model_keeps_pinned_vehicle_and_held_optional_stops() -> None:
    # Robot "out" starts away (location 1) with parcel p on board and may reload at the depot;
    # robots "a" and "b" wait at the depot. Everything fits on "out" alone (reloading), so phase 1
    # removes "a" and "b" but never "out", and the optional stop it served stays served.
    pts = [(0.0, 0.0), (200.0, 0.0), (150.0, 0.0), (20.0, 0.0), (0.0, 20.0), (-20.0, 0.0),
           (0.0, -20.0)]
    stops = [Stop("p", 2, 1, 0.0, 1e4, 30.0, pinned_to=0),
             Stop("f1", 3, 1, 0.0, 1e4, 30.0), Stop("f2", 4, 1, 0.0, 1e4, 30.0),
             Stop("f3", 5, 1, 0.0, 1e4, 30.0),
             Stop("opt", 6, 1, 0.0, 1e4, 30.0, required=False, prize=10_000.0)]
    vehicles = [Vehicle("out", 2, 1, 0, fixed_cost=0.0, reloads=True, on_board=True),
                Vehicle("a", 2, 0, 0, reloads=True), Vehicle("b", 2, 0, 0, reloads=True)]
    problem = _problem(pts, stops, vehicles, depots=(0, 1))
    assert fleet_lower_bound(problem).value == 1
    # "pyvrp" cannot take several vehicle types or optional stops: our loop runs instead.
    methods: tuple[FleetMethod, ...] = ("own", "pyvrp")
    for method in methods:
        sol = solve_fleet_minimal(problem, SolveOptions(1.5, seed=2, scales=Scales(10.0, 10.0),
                                                        fleet_method=method))
        assert validate_routes(problem, sol) == []
        assert [r.vehicle for r in sol.routes] == [0]
        assert sol.unassigned == ()
        (route,) = sol.routes
        assert route.trips[0] == (0,)  # the parcel on board goes first, before any reload
