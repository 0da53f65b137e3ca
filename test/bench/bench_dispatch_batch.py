"""A realistic dawn batch: 200 orders, 8 robots, one district graph, planned end to end.

Uses the suwon_dawn route graph when a loader for it exists in dawnpatrol_core.maps, otherwise a
synthetic 300 m x 200 m sidewalk grid. ``--single`` also plans the batch with one solve and a cost
per robot (no fleet minimisation) for comparison. Usage:
    python test/bench/bench_dispatch_batch.py [--quick] [--single]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph, RouteNode
from dawnpatrol_core.planning.dispatch import (
    DispatchSettings,
    Robot,
    plan_dispatch,
    validate_plan,
)
from dawnpatrol_core.planning.travel import travel_time_matrix

ROUTES = Path(__file__).resolve().parents[2] / "maps" / "suwon_dawn" / "routes.geojson"


def synthetic_district(spacing: float = 5.0, width: float = 300.0, height: float = 200.0
                       ) -> RouteGraph:
    """Grid of sidewalk segments every ``spacing`` m; a 'park' quarter at 1.0 m/s, else 1.5."""
    nx, ny = int(width / spacing) + 1, int(height / spacing) + 1
    nodes = [RouteNode(j * nx + i, i * spacing, j * spacing) for j in range(ny) for i in range(nx)]
    edges = []
    for j in range(ny):
        for i in range(nx):
            a = j * nx + i
            for di, dj in ((1, 0), (0, 1)):
                if i + di < nx and j + dj < ny:
                    b = (j + dj) * nx + i + di
                    park = i * spacing > 200.0 and j * spacing > 120.0
                    speed = 1.0 if park else 1.5
                    for s, e in ((a, b), (b, a)):
                        edges.append(RouteEdge(len(edges), s, e, spacing, speed))
    return RouteGraph.build(nodes, edges)


def load_district() -> tuple[RouteGraph, str]:
    """The suwon_dawn graph if a maps loader can read it, else the synthetic grid."""
    if ROUTES.exists():
        maps = importlib.import_module("dawnpatrol_core.maps")
        for name in ("load_route_graph", "load_routes"):
            loader = getattr(maps, name, None)
            if loader is not None:
                return loader(ROUTES), f"suwon_dawn ({ROUTES.name})"
    return synthetic_district(), "synthetic 300 m x 200 m grid"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 s solver budget")
    ap.add_argument("--time-limit", type=float, default=None, help="solver seconds (default 10)")
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--robots", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--single", action="store_true",
                    help="also plan with one solve, no fleet minimisation (comparison)")
    args = ap.parse_args()
    limit = args.time_limit or (2.0 if args.quick else 10.0)

    rng = np.random.default_rng(args.seed)
    graph, label = load_district()
    xy = np.array([[n.x, n.y] for n in graph.nodes.values()])
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    depot = (float((lo[0] + hi[0]) / 2), float(lo[1]))
    pts = rng.uniform(lo, hi, size=(args.orders, 2))
    starts = rng.integers(2 * 60, 6 * 60, size=args.orders) * 60.0  # 02:00-06:00, whole minutes
    orders = [
        Order(f"o{k:03d}", None, None, None, float(p[0]), float(p[1]), float(s), float(s) + 3600.0,
              int(rng.integers(1, 3)))
        for k, (p, s) in enumerate(zip(pts, starts, strict=True))
    ]
    robots = [Robot(f"r{k + 1}", 4, 2 * 3600.0, 7 * 3600.0, 1.5, 20_000.0)
              for k in range(args.robots)]

    def travel(points: np.ndarray, speed: float) -> tuple[np.ndarray, np.ndarray]:
        m = travel_time_matrix(graph, points, max_speed=speed)
        return m.duration, m.distance

    settings = DispatchSettings(service_time_s=60.0, time_limit_s=limit, seed=args.seed)
    t0 = time.perf_counter()
    mat = travel(np.vstack([depot, pts]), 1.5)
    t_matrix = time.perf_counter() - t0
    variants = [("fleet-minimal", settings)]
    if args.single:
        variants.append(("single solve", replace(settings, minimise_fleet=False)))
    results = []
    for _, s in variants:
        t0 = time.perf_counter()
        plan = plan_dispatch(orders, robots, depot, travel, s)
        results.append((plan, time.perf_counter() - t0, validate_plan(plan)))

    print(f"# Dispatch batch: {args.orders} orders, {args.robots} robots, {label}\n")
    print(f"graph: {len(graph.nodes)} nodes, {len(graph.edges)} edges; "
          f"matrix {mat[0].shape[0]}x{mat[0].shape[0]}\n")
    print("| metric | " + " | ".join(name for name, _ in variants) + " |")
    print("|---|" + "---|" * len(variants))

    def row(label: str, cells: list[str]) -> None:
        print(f"| {label} | " + " | ".join(cells) + " |")

    row("travel matrix (s)", [f"{t_matrix:.3f}"] * len(variants))
    row("plan total incl. matrix + solver (s)", [f"{t:.1f}" for _, t, _ in results])
    row("solver time limit (s)", [f"{limit:g}"] * len(variants))
    row("served", [f"{p.served} / {args.orders}" for p, _, _ in results])
    row("robots used", [f"{sum(bool(r.stops) for r in p.routes)} / {args.robots}"
                        for p, _, _ in results])
    row("robots needed (plan) / lower bound",
        [f"{p.robots_needed} / {p.robots_lower_bound}" for p, _, _ in results])
    row("trips (depot reloads + 1)",
        [str(sum(max((st.trip for st in r.stops), default=-1) + 1 for r in p.routes))
         for p, _, _ in results])
    row("distance (km)", [f"{sum(r.distance_m for r in p.routes) / 1000:.2f}"
                          for p, _, _ in results])
    row("validator violations", [str(len(v)) for _, _, v in results])
    for k, (p, _, v) in enumerate(results):
        for reason, n in Counter(r.split(":")[0] for _, r in p.unserved).most_common():
            print(f"{variants[k][0]}: unserved: {reason}: {n}")
        for line in v[:5]:
            print(f"{variants[k][0]}: violation: {line}")
    violations = [line for _, _, v in results for line in v]
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
