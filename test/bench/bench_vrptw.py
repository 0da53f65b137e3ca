"""VRPTW literature benchmark: our dispatch model (PyVRP) vs OR-Tools routing, Solomon/Homberger.

Both solvers get the same instance, integer scaling (x1000, travel times rounded up), vehicle-first
fixed cost and time limit; gaps use exact double distances of the returned routes, and every
solution is checked by our own validator. Usage:
    python test/bench/bench_vrptw.py [--quick] [--time-limit S] [--homberger1000 [--limit N]]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from dawnpatrol_core.planning.dispatch import (
    RoutePlan,
    RoutingProblem,
    RoutingSolution,
    Scales,
    SolveOptions,
    route_distance,
    solve_routing,
    validate_routes,
)
from dawnpatrol_core.planning.solomon import read_solomon, to_routing_problem

DATA = Path("/work/shared/benchmarks/vrptw")
SCALE = 1000.0
VEHICLE_COST = 100_000.0  # distance units; far above any route length in these sets
QUICK = ("C101", "R101", "RC201")


def solve_ortools(problem: RoutingProblem, time_limit_s: float) -> RoutingSolution:
    """Same model in OR-Tools routing: guided local search, same scaling and fixed cost."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    v = problem.vehicles[0]
    n = problem.distance.shape[0]
    dist = np.rint(problem.distance * SCALE).astype(np.int64)
    travel = np.ceil(problem.durations[0] * SCALE - 1e-6).astype(np.int64)
    service = np.zeros(n, dtype=np.int64)
    early = np.zeros(n, dtype=np.int64)
    late = np.zeros(n, dtype=np.int64)
    demand = np.zeros(n, dtype=np.int64)
    for s in problem.stops:
        service[s.location] = math.ceil(s.service * SCALE - 1e-6)
        early[s.location] = math.ceil(s.tw_early * SCALE - 1e-6)
        late[s.location] = math.floor(s.tw_late * SCALE + 1e-6)
        demand[s.location] = s.demand
    transit_time = (travel + service[:, None]).tolist()
    dist_l = dist.tolist()
    dem_l = demand.tolist()

    manager = pywrapcp.RoutingIndexManager(n, v.count, 0)
    routing = pywrapcp.RoutingModel(manager)

    def dist_cb(i: int, j: int) -> int:
        return int(dist_l[manager.IndexToNode(i)][manager.IndexToNode(j)])

    def time_cb(i: int, j: int) -> int:
        return int(transit_time[manager.IndexToNode(i)][manager.IndexToNode(j)])

    def demand_cb(i: int) -> int:
        return int(dem_l[manager.IndexToNode(i)])

    d_idx = routing.RegisterTransitCallback(dist_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(d_idx)
    routing.SetFixedCostOfAllVehicles(int(v.fixed_cost * SCALE))
    t_idx = routing.RegisterTransitCallback(time_cb)
    horizon = int(math.floor(v.shift_end * SCALE))
    routing.AddDimension(t_idx, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    for s in problem.stops:
        tdim.CumulVar(manager.NodeToIndex(s.location)).SetRange(
            int(early[s.location]), int(late[s.location])
        )
    for k in range(v.count):
        tdim.CumulVar(routing.Start(k)).SetRange(int(math.ceil(v.shift_start * SCALE)), horizon)
        tdim.CumulVar(routing.End(k)).SetRange(0, horizon)
    c_idx = routing.RegisterUnaryTransitCallback(demand_cb)
    routing.AddDimensionWithVehicleCapacity(c_idx, 0, [v.capacity] * v.count, True, "load")

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    t0 = time.perf_counter()
    sol = routing.SolveWithParameters(params)
    runtime = time.perf_counter() - t0
    if sol is None:
        return RoutingSolution((), tuple(range(len(problem.stops))), False, runtime)
    stop_of = {s.location: i for i, s in enumerate(problem.stops)}
    routes = []
    for k in range(v.count):
        idx = routing.Start(k)
        visits = []
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            visits.append(stop_of[manager.IndexToNode(idx)])
            idx = sol.Value(routing.NextVar(idx))
        if visits:
            routes.append(RoutePlan(0, v.shift_start, (tuple(visits),)))
    served = {s for r in routes for s in r.trips[0]}
    missing = tuple(i for i in range(len(problem.stops)) if i not in served)
    return RoutingSolution(tuple(routes), missing, True, runtime)


def evaluate(problem: RoutingProblem, sol: RoutingSolution) -> tuple[float, int, bool, int]:
    """Exact distance, vehicles, feasible by our validator, number of violations."""
    violations = validate_routes(problem, sol)
    dist = sum(route_distance(problem, r) for r in sol.routes)
    return dist, len(sol.routes), not violations and not sol.unassigned, len(violations)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 instances x 2 s")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per instance/solver")
    ap.add_argument("--homberger1000", action="store_true", help="1000-customer set instead")
    ap.add_argument("--limit", type=int, default=None, help="only the first N instances")
    ap.add_argument("--no-ortools", action="store_true", help="skip the OR-Tools comparison")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    bks = json.loads((DATA / "bks.json").read_text())
    folder = DATA / ("homberger_1000" if args.homberger1000 else "solomon")
    files = sorted(folder.glob("*.txt"), key=lambda p: p.stem.upper())
    limit = args.time_limit
    if args.quick:
        files = [f for f in files if f.stem.upper() in QUICK]
        limit = limit or 2.0
    limit = limit or (60.0 if args.homberger1000 else 10.0)
    if args.limit:
        files = files[: args.limit]
    options = SolveOptions(limit, args.seed, Scales(SCALE, SCALE))

    print(f"# VRPTW benchmark: {folder.name}, {len(files)} instances, {limit:g} s each\n")
    print("| instance | BKS veh | BKS dist | ours veh | ours dist | ours gap % | ours ok "
          "| ours s | OR veh | OR dist | OR gap % | OR ok |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for f in files:
        inst = read_solomon(f)
        key = f.stem.upper() if f.stem.upper() in bks else f.stem
        ref = bks[key]
        problem = to_routing_problem(inst, VEHICLE_COST)
        t0 = time.perf_counter()
        ours = solve_routing(problem, options)
        t_ours = time.perf_counter() - t0
        d, nv, ok, _ = evaluate(problem, ours)
        gap = 100.0 * (d - ref["best_known_cost"]) / ref["best_known_cost"]
        row = {"name": key, "bks_v": ref["solved_with_vehicles"], "bks_d": ref["best_known_cost"],
               "v": nv, "d": d, "gap": gap, "ok": ok, "t": t_ours}
        or_txt = "| – | – | – | – |"
        if not args.no_ortools:
            ort = solve_ortools(problem, limit)
            od, onv, ook, _ = evaluate(problem, ort)
            ogap = 100.0 * (od - ref["best_known_cost"]) / ref["best_known_cost"]
            row.update({"ov": onv, "od": od, "ogap": ogap, "ook": ook})
            or_txt = (f"| {onv} | {od:.2f} | {ogap:+.2f} | yes |" if ook
                      else "| – | – | – | NO (no feasible solution) |")
        rows.append(row)
        print(f"| {key} | {row['bks_v']} | {row['bks_d']:.2f} | {nv} | {d:.2f} | {gap:+.2f} "
              f"| {'yes' if ok else 'NO'} | {t_ours:.1f} " + or_txt, flush=True)

    n = len(rows)
    print("\n## Summary\n")
    print("| solver | avg gap % | max gap % | avg gap % (veh = BKS) | feasible | veh = BKS "
          "| veh <= BKS+1 | avg s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, vk, gk, okk, tk in (("ours (PyVRP)", "v", "gap", "ok", "t"),
                                   ("OR-Tools GLS", "ov", "ogap", "ook", None)):
        if vk not in rows[0]:
            continue
        gaps = [r[gk] for r in rows if r[okk]] or [math.nan]
        same = [r[gk] for r in rows if r[okk] and r[vk] == r["bks_v"]] or [math.nan]
        avg_t = f"{sum(r[tk] for r in rows) / n:.1f}" if tk else f"{limit:g}"
        print(f"| {label} | {sum(gaps) / len(gaps):+.2f} | {max(gaps):+.2f} "
              f"| {sum(same) / len(same):+.2f} "
              f"| {sum(bool(r[okk]) for r in rows)}/{n} "
              f"| {sum(r[okk] and r[vk] == r['bks_v'] for r in rows)}/{n} "
              f"| {sum(r[okk] and r[vk] <= r['bks_v'] + 1 for r in rows)}/{n} | {avg_t} |")
    print("\n(gaps averaged over the feasible solutions of each solver; a solution with more "
          "vehicles than the BKS can be shorter, so the 'veh = BKS' column compares like with like)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
