"""Planning benchmark: route queries on a 50,000-edge synthetic graph and grid plans on a district.

Run: ``python test/bench/bench_planning.py [--quick]``; prints markdown tables (median ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src" / "dawnpatrol_core"))

from dawnpatrol_core.errors import PlanningError  # noqa: E402
from dawnpatrol_core.geometry import Pose2D  # noqa: E402
from dawnpatrol_core.maps.grid import OccupancyGrid  # noqa: E402
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph, RouteNode  # noqa: E402
from dawnpatrol_core.planning.grid_planner import GridPlanner, GridPlannerConfig  # noqa: E402
from dawnpatrol_core.planning.route_search import RoutePlanner  # noqa: E402


def synthetic_graph(n_edges: int, rng: np.random.Generator) -> RouteGraph:
    """A jittered street lattice with two directed edges per street, >= ``n_edges`` edges."""
    side = int(np.ceil(0.5 + np.sqrt(0.25 + n_edges / 4.0)))  # 4 * side * (side - 1) >= n_edges
    spacing = 20.0
    jitter = rng.uniform(-4.0, 4.0, size=(side, side, 2))
    nodes = [
        RouteNode(r * side + c, c * spacing + jitter[r, c, 0], r * spacing + jitter[r, c, 1])
        for r in range(side) for c in range(side)
    ]
    edges: list[RouteEdge] = []
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                r2, c2 = r + dr, c + dc
                if r2 >= side or c2 >= side:
                    continue
                a, b = nodes[r * side + c], nodes[r2 * side + c2]
                length = float(np.hypot(b.x - a.x, b.y - a.y))
                speed = float(rng.choice([1.0, 1.5, 1.5, 1.5]))
                cross = bool(rng.random() < 0.1)
                for s, e in ((a, b), (b, a)):
                    edges.append(RouteEdge(len(edges), s.id, e.id, length, speed, crosswalk=cross,
                                           points=((s.x, s.y), (e.x, e.y))))
    return RouteGraph.build(nodes, edges)


def timed(fn: Callable[[], object], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def bench_routes(quick: bool) -> None:
    rng = np.random.default_rng(1)
    graph = synthetic_graph(50_000, rng)
    t0 = time.perf_counter()
    planner = RoutePlanner(graph)
    build_ms = (time.perf_counter() - t0) * 1e3
    xs = np.array([n.x for n in graph.nodes.values()])
    ys = np.array([n.y for n in graph.nodes.values()])
    n_q = 20 if quick else 200
    times = []
    lengths = []
    for _ in range(n_q):
        # Poses a few metres off two random nodes (most of the lattice apart, on average).
        i, j = rng.integers(0, len(xs), 2)
        a = Pose2D(float(xs[i]) + rng.uniform(-3, 3), float(ys[i]) + rng.uniform(-3, 3))
        b = Pose2D(float(xs[j]) + rng.uniform(-3, 3), float(ys[j]) + rng.uniform(-3, 3))
        t = time.perf_counter()
        route = planner.plan(a, b)
        times.append((time.perf_counter() - t) * 1e3)
        lengths.append(route.length)
    join_ms = timed(lambda: planner.join(float(xs.mean()), float(ys.mean())), 50)
    print(f"\n### Route search, {len(graph.edges)} edges / {len(graph.nodes)} nodes\n")
    print("| queries | build ms | join median ms | query median ms | p95 ms | mean length m |")
    print("|---|---|---|---|---|---|")
    print(f"| {n_q} | {build_ms:.0f} | {statistics.median(join_ms):.2f} | "
          f"{statistics.median(times):.2f} | {np.percentile(times, 95):.2f} | "
          f"{np.mean(lengths):.0f} |")


def synthetic_district(rng: np.random.Generator) -> OccupancyGrid:
    """A 300 m x 200 m, 0.05 m grid (6000 x 4000): building blocks, border walls, poles."""
    res = 0.05
    data = np.zeros((4000, 6000), dtype=np.int8)
    for bx in range(8):
        for by in range(5):
            x0 = 8.0 + bx * 36.0 + rng.uniform(0, 4)
            y0 = 8.0 + by * 38.0 + rng.uniform(0, 4)
            w, h = rng.uniform(20, 28), rng.uniform(22, 30)
            data[int(y0 / res):int((y0 + h) / res), int(x0 / res):int((x0 + w) / res)] = 100
    data[:, :20] = data[:, -20:] = 100
    data[:20, :] = data[-20:, :] = 100
    # Bollards and poles: 0.3 m squares in the open space.
    for _ in range(600):
        r, c = rng.integers(40, 3960), rng.integers(40, 5960)
        data[r:r + 6, c:c + 6] = 100
    return OccupancyGrid(data, res, 0.0, 0.0)


def load_map_yaml(path: Path) -> OccupancyGrid:
    """Read a map_server map.yaml + image (trinary mode) into an OccupancyGrid."""
    import yaml
    from PIL import Image

    meta = yaml.safe_load(path.read_text())
    img = np.asarray(Image.open(path.parent / meta["image"]).convert("L"), dtype=np.float64)
    p = img / 255.0 if meta.get("negate", 0) else (255.0 - img) / 255.0
    data = np.full(img.shape, -1, dtype=np.int8)
    data[p > meta["occupied_thresh"]] = 100
    data[p < meta["free_thresh"]] = 0
    return OccupancyGrid(data[::-1].copy(), float(meta["resolution"]),
                         float(meta["origin"][0]), float(meta["origin"][1]))


def bench_grid(quick: bool) -> None:
    rng = np.random.default_rng(2)
    path = ROOT / "maps" / "suwon_dawn" / "map.yaml"
    if path.exists():
        grid, name = load_map_yaml(path), "suwon_dawn"
    else:
        grid, name = synthetic_district(rng), "synthetic 300x200 m"
    print(f"\n### Grid planning across {name} ({grid.width}x{grid.height} cells at "
          f"{grid.resolution} m), planning at 0.2 m\n")
    print("| backend | build ms | queries | median ms | p95 ms | mean length m |")
    print("|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    base = GridPlanner(grid, GridPlannerConfig(backend="pyastar2d"))
    build_ms = (time.perf_counter() - t0) * 1e3
    free_r, free_c = np.nonzero(~base.blocked)
    # Long queries: start in the left fifth, goal in the right fifth of the map.
    wc = base.blocked.shape[1]
    left = np.flatnonzero(free_c < wc // 5)
    right = np.flatnonzero(free_c > 4 * wc // 5)
    n_q = 5 if quick else 30
    pairs = []
    for _ in range(n_q):
        a, b = rng.choice(left), rng.choice(right)
        pairs.append(tuple((base.origin_x + (c + 0.5) * base.resolution,
                            base.origin_y + (r + 0.5) * base.resolution)
                           for r, c in ((free_r[a], free_c[a]), (free_r[b], free_c[b]))))
    for backend in ("pyastar2d", "mcp", "heapq"):
        planner = GridPlanner(grid, GridPlannerConfig(backend=backend))  # type: ignore[arg-type]
        reps = pairs if backend != "heapq" else pairs[: max(3, n_q // 6)]
        times, lengths = [], []
        for s, g in reps:
            t = time.perf_counter()
            try:
                lengths.append(planner.plan(s, g).length)
            except PlanningError:  # unreachable pockets count in time, not in length
                lengths.append(float("nan"))
            times.append((time.perf_counter() - t) * 1e3)
        print(f"| {backend} | {build_ms:.0f} | {len(reps)} | {statistics.median(times):.1f} | "
              f"{np.percentile(times, 95):.1f} | {np.nanmean(lengths):.1f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="few repetitions (smoke run)")
    args = ap.parse_args()
    bench_routes(args.quick)
    bench_grid(args.quick)
