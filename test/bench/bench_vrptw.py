"""VRPTW literature benchmark: our fleet-minimal PyVRP model vs OR-Tools routing, Solomon/Homberger.

Every solver gets the same instance, integer scaling (x1000, travel times rounded up) and time
limit; "ours" removes vehicles for part of the limit, then shortens routes with that fleet;
"single" is one PyVRP solve with a fixed cost per vehicle (the model before fleet minimisation);
OR-Tools runs guided local search with the same fixed cost. Gaps use exact double distances of
the returned routes, and every solution is checked by our own validator. Usage:
    python test/bench/bench_vrptw.py --solomon --time 10
    python test/bench/bench_vrptw.py --homberger --time 60
    python test/bench/bench_vrptw.py --quick
Data: ../shared/benchmarks/vrptw beside the repository (or its main worktree), or --data DIR.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from dawnpatrol_core.planning.solomon import read_solomon, to_routing_problem
from dawnpatrol_core.planning.vrptw import (
    RoutePlan,
    RoutingProblem,
    RoutingSolution,
    Scales,
    SolveOptions,
    fleet_lower_bound,
    route_distance,
    solve_fleet_minimal,
    solve_routing,
    validate_routes,
)

REPO = Path(__file__).resolve().parents[2]
SCALE = 1000.0
VEHICLE_COST = 100_000.0  # distance units; far above any route length in these sets
QUICK = ("C101", "R101", "RC201", "R104", "RC105")
# Homberger 1000: two instances of each of the six classes.
HOMBERGER = tuple(f"{c}_10_{k}" for c in ("c1", "c2", "r1", "r2", "rc1", "rc2") for k in (1, 2))
SOLVERS = ("ours", "single", "ortools")


def default_data() -> Path:
    """``../shared/benchmarks/vrptw`` beside this repository, or beside its main worktree when
    this checkout is a git worktree (``.git`` is then a file naming the main repository)."""
    roots = [REPO]
    git = REPO / ".git"
    if git.is_file():
        text = git.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            # gitdir: <main>/.git/worktrees/<name>
            roots.append(Path(text.split(":", 1)[1].strip()).parents[2])
    for root in roots:
        cand = root / ".." / "shared" / "benchmarks" / "vrptw"
        if (cand / "bks.json").exists():
            return cand.resolve()
    return (REPO / ".." / "shared" / "benchmarks" / "vrptw").resolve()


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
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
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


def evaluate(problem: RoutingProblem, sol: RoutingSolution) -> tuple[float, int, bool]:
    """Exact distance, vehicles used, feasible by our validator."""
    violations = validate_routes(problem, sol)
    dist = sum(route_distance(problem, r) for r in sol.routes)
    return dist, sol.num_vehicles, not violations and not sol.unassigned


def run_solver(name: str, problem: RoutingProblem, options: SolveOptions) -> tuple[
        RoutingSolution, float, float]:
    """One solver on one instance: (solution, wall seconds including model building, CPU seconds
    of this process meanwhile: on a busy machine the solvers get less CPU than wall time)."""
    t0, c0 = time.perf_counter(), time.process_time()
    if name == "ours":
        sol = solve_fleet_minimal(problem, options)
    elif name == "single":
        sol = solve_routing(problem, options)
    else:
        sol = solve_ortools(problem, options.time_limit_s)
    return sol, time.perf_counter() - t0, time.process_time() - c0


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--solomon", action="store_true", help="the 56 Solomon instances (default)")
    which.add_argument("--homberger", "--homberger1000", action="store_true",
                       help="12 Gehring-Homberger 1000-customer instances (2 per class)")
    which.add_argument("--quick", action="store_true", help=f"{', '.join(QUICK)} at 2 s")
    ap.add_argument("--time", "--time-limit", dest="time", type=float, default=None,
                    help="seconds per instance and solver (default 10 Solomon, 60 Homberger)")
    ap.add_argument("--only", default=None, help="comma-separated instance names")
    ap.add_argument("--limit", type=int, default=None, help="only the first N instances")
    ap.add_argument("--solvers", default="ours,ortools",
                    help=f"comma-separated, from {', '.join(SOLVERS)} (default ours,ortools)")
    ap.add_argument("--no-ortools", action="store_true", help="drop OR-Tools from --solvers")
    ap.add_argument("--fleet-share", type=float, default=SolveOptions().fleet_share,
                    help="share of the time spent removing vehicles (default %(default)s)")
    ap.add_argument("--fleet-method", choices=("own", "pyvrp"), default=SolveOptions().fleet_method,
                    help="phase 1: our loop or pyvrp.minimise_fleet (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=None, help="benchmark folder (bks.json inside)")
    args = ap.parse_args()

    solvers = [s for s in args.solvers.split(",") if s]
    if args.no_ortools:
        solvers = [s for s in solvers if s != "ortools"]
    bad = [s for s in solvers if s not in SOLVERS]
    if bad or not solvers:
        print(f"--solvers: got {args.solvers!r}, expected some of {', '.join(SOLVERS)}",
              file=sys.stderr)
        return 2
    data = args.data or default_data()
    if not (data / "bks.json").exists():
        print(f"{data}: no bks.json; expected the VRPTW benchmark folder (see --data)",
              file=sys.stderr)
        return 2
    bks = json.loads((data / "bks.json").read_text())
    folder = data / ("homberger_1000" if args.homberger else "solomon")
    files = sorted(folder.glob("*.txt"), key=lambda p: p.stem.upper())
    limit = args.time
    if args.quick:
        files = [f for f in files if f.stem.upper() in QUICK]
        limit = limit or 2.0
    elif args.homberger and not args.only:
        files = [f for f in files if f.stem in HOMBERGER]
    if args.only:
        wanted = {n.strip().upper() for n in args.only.split(",")}
        files = [f for f in files if f.stem.upper() in wanted]
    if args.limit:
        files = files[: args.limit]
    limit = limit or (60.0 if args.homberger else 10.0)
    options = replace(SolveOptions(limit, args.seed, Scales(SCALE, SCALE)),
                      fleet_share=args.fleet_share, fleet_method=args.fleet_method)

    print(f"# VRPTW benchmark: {folder.name}, {len(files)} instances, {limit:g} s each, "
          f"fleet share {args.fleet_share:g} ({args.fleet_method})\n")
    head = "| instance | BKS veh | BKS dist | bound |"
    for s in solvers:
        head += f" {s} veh | {s} dist | {s} gap % | {s} s |"
    print(head)
    print("|" + "---|" * (4 + 4 * len(solvers)))
    rows: list[dict[str, Any]] = []
    for f in files:
        inst = read_solomon(f)
        key = f.stem.upper() if f.stem.upper() in bks else f.stem
        ref = bks[key]
        problem = to_routing_problem(inst, VEHICLE_COST)
        row: dict[str, Any] = {"name": key, "bks_v": ref["solved_with_vehicles"],
                               "bks_d": ref["best_known_cost"],
                               "bound": fleet_lower_bound(problem).value}
        line = f"| {key} | {row['bks_v']} | {row['bks_d']:.2f} | {row['bound']} |"
        for s in solvers:
            sol, wall, cpu = run_solver(s, problem, options)
            d, nv, ok = evaluate(problem, sol)
            gap = 100.0 * (d - row["bks_d"]) / row["bks_d"]
            row[s] = {"v": nv, "d": d, "gap": gap, "ok": ok, "t": wall, "cpu": cpu}
            line += (f" {nv} | {d:.2f} | {gap:+.2f} | {wall:.1f} |" if ok
                     else f" {nv} | {d:.2f} | NO (infeasible) | {wall:.1f} |")
        rows.append(row)
        print(line, flush=True)

    n = len(rows)
    print("\n## Summary\n")
    print("| solver | feasible | veh = BKS | veh <= BKS+1 | veh < BKS | gap % where veh = BKS "
          "| gap % all feasible (max) | avg s | CPU / wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in solvers:
        res = [(r, r[s]) for r in rows]
        ok = [(r, x) for r, x in res if x["ok"]]
        same = [x["gap"] for r, x in ok if x["v"] == r["bks_v"]]
        gaps = [x["gap"] for _, x in ok]
        print(f"| {s} | {len(ok)}/{n} | {sum(x['v'] == r['bks_v'] for r, x in ok)}/{n} "
              f"| {sum(x['v'] <= r['bks_v'] + 1 for r, x in ok)}/{n} "
              f"| {sum(x['v'] < r['bks_v'] for r, x in ok)}/{n} "
              f"| {_mean(same):+.2f} | {_mean(gaps):+.2f} ({max(gaps, default=math.nan):+.2f}) "
              f"| {_mean([x['t'] for _, x in res]):.1f} "
              f"| {sum(x['cpu'] for _, x in res) / sum(x['t'] for _, x in res):.0%} |")
    print(f"\nbound = our lower bound on vehicles (capacity, duration, time-window clique); it "
          f"equals the best-known count on {sum(r['bound'] == r['bks_v'] for r in rows)}/{n}. "
          "A solution "
          "with more vehicles than the best known can be shorter, so 'where veh = BKS' compares "
          "like with like.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
