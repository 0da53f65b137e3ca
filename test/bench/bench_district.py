"""District generator benchmark: generate suwon_dawn from its world and compare the generated route
graph with the shipped, hand-drawn one (maps/suwon_dawn/routes.geojson).

``python test/bench/bench_district.py [--pairs N] [--seed S] [--out DIR] [--keep]``

Prints: generation time, graph size, every address served from the depot (there and back), and
the shortest route length between random address pairs on both graphs (the generated graph's
may be shorter — it also crosses the lots — but should not be more than 10 % longer).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src" / "dawnpatrol_core"))

from dawnpatrol_core.errors import PlanningError  # noqa: E402
from dawnpatrol_core.maps.district import DistrictMap, load_district_map  # noqa: E402
from dawnpatrol_core.maps.district_gen import build  # noqa: E402
from dawnpatrol_core.maps.route_graph import RouteGraph  # noqa: E402
from dawnpatrol_core.planning.route_search import RoutePlanner, RouteSearchConfig  # noqa: E402

WORLD = ROOT / "sim" / "worlds" / "suwon_dawn.sdf"
SHIPPED = ROOT / "maps" / "suwon_dawn"


def length_planner(graph: RouteGraph) -> RoutePlanner:
    """A planner whose cost is plain length (one speed everywhere, no crossing penalty)."""
    edges = [dataclasses.replace(e, speed_limit=1.0, crosswalk=False)
             for e in graph.edges.values()]
    flat = RouteGraph.build(list(graph.nodes.values()), edges)
    return RoutePlanner(flat, None, RouteSearchConfig(crosswalk_penalty=0.0))


def depot_service(dm: DistrictMap) -> tuple[int, list[str]]:
    """(addresses served there and back from the depot pose, the ones that are not)."""
    planner = RoutePlanner(dm.graph, dm)
    depot = next(z.pose for z in dm.zones_of_kind("depot") if z.pose is not None)
    bad = []
    for aid, a in sorted(dm.addresses.items()):
        try:
            planner.plan(depot, a.pose)
            planner.plan(a.pose, depot)
        except PlanningError as exc:
            bad.append(f"{aid}: {exc}")
    return len(dm.addresses) - len(bad), bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=50, help="random address pairs (default 50)")
    ap.add_argument("--seed", type=int, default=1, help="pair draw seed (default 1)")
    ap.add_argument("--out", help="write the generated district here (default: a temp dir)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    out = Path(args.out or tmp.name)
    t0 = time.perf_counter()
    src = build.source_from_world(WORLD, out_dir=out)
    assert src.georef is not None
    d = build.generate_district(src, src.georef)
    build.write_district(d, out, write_grid=False)
    gen_s = time.perf_counter() - t0
    gen, ref = load_district_map(out), load_district_map(SHIPPED)
    served, bad = depot_service(gen)
    ids = sorted(set(gen.addresses) & set(ref.addresses))
    rng = np.random.default_rng(args.seed)
    pg, pr = length_planner(gen.graph), length_planner(ref.graph)
    ratios = []
    for _ in range(args.pairs):
        a, b = rng.choice(len(ids), size=2, replace=False)
        pa, pb = gen.addresses[ids[a]].pose, gen.addresses[ids[b]].pose
        ra, rb = ref.addresses[ids[a]].pose, ref.addresses[ids[b]].pose
        lg = pg.plan(pa, pb).length
        lr = pr.plan(ra, rb).length
        ratios.append(lg / lr)
    r = np.array(ratios)
    n_cross = sum(e.crosswalk for e in gen.graph.edges.values()) // 2
    print("# District generator — suwon_dawn world against the shipped map\n")
    print("| metric | value |\n|---|---|")
    print(f"| generation (world -> district folder) | {gen_s:.1f} s |")
    print(f"| route graph | {len(gen.graph.nodes)} nodes, {len(gen.graph.edges)} directed edges "
          f"({n_cross} crossings each way); shipped {len(ref.graph.nodes)} / "
          f"{len(ref.graph.edges)} |")
    print(f"| addresses served from the depot and back | {served}/{len(gen.addresses)} |")
    print(f"| route length generated / shipped, {args.pairs} address pairs: median | "
          f"{np.median(r):.3f} |")
    print(f"| ... min / max | {r.min():.3f} / {r.max():.3f} |")
    print(f"| ... pairs within +10 % | {int(np.sum(r <= 1.10))}/{len(r)} |")
    for line in bad:
        print(f"not served: {line}")
    for w in d.warnings:
        print(f"warning: {w}")
    if args.out:
        print(f"\ngenerated district in {out}")
    return 0 if served == len(gen.addresses) and math.isfinite(float(r.max())) else 1


if __name__ == "__main__":
    sys.exit(main())
