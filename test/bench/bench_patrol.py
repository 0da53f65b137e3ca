"""Patrol benchmark: a 4-hour night, 2 robots, suwon_dawn hotspots; ours vs cyclic vs random.

Task-level discrete-event simulation (travel time along the route graph + dwell). Prints markdown
tables: idleness against each hotspot's bound, violations, entropy; a night with deliveries; and
the joint plan the dispatcher ships (parcels and patrol visits in one PyVRP model, hard bounds)
for the same batch on both robots, measured on its own timing.
Run: ``python test/bench/bench_patrol.py [--quick]``.
"""

from __future__ import annotations

import argparse
import heapq
import importlib
import itertools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src/dawnpatrol_core")]

from dawnpatrol_core.delivery.orders import Order  # noqa: E402
from dawnpatrol_core.fleet.patrol import visit_windows  # noqa: E402
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph, RouteNode  # noqa: E402
from dawnpatrol_core.patrol.interleave import RouteStop  # noqa: E402
from dawnpatrol_core.patrol.metrics import PatrolMetrics, Visit, patrol_metrics  # noqa: E402
from dawnpatrol_core.patrol.night import simulate_night  # noqa: E402
from dawnpatrol_core.patrol.plan import (  # noqa: E402
    HotspotSpec,
    PatrolPlan,
    PatrolSettings,
    PriorityBand,
    build_patrol_plan,
)
from dawnpatrol_core.planning.dispatch import (  # noqa: E402
    DispatchSettings,
    PatrolVisit,
    Robot,
    plan_dispatch,
    validate_plan,
)

NIGHT_S = 4 * 3600.0
ROBOTS = ("r1", "r2")
TOP_SPEED = 1.5  # m/s, dawnbot normal top speed


def _hotspot(p: dict[str, object], fid: str) -> HotspotSpec:
    pose = p["observation_pose"]
    assert isinstance(pose, list)
    bands = p.get("priority", [])
    assert isinstance(bands, list)
    return HotspotSpec(
        id=fid,
        name=str(p.get("name", fid)),
        x=float(pose[0]),
        y=float(pose[1]),
        yaw=float(pose[2]),
        priority=tuple(
            PriorityBand(float(b["from_hour"]), float(b["to_hour"]), float(b["weight"]))
            for b in bands
        ),
        max_idleness_s=float(str(p["max_idleness_s"])),
        dwell_s=float(str(p["dwell_s"])),
    )


def _read_routes(path: Path) -> RouteGraph:
    """Minimal reader of Nav2 route GeoJSON, used only until the maps loader lands."""
    feats = json.loads(path.read_text())["features"]
    nodes, edges = [], []
    for f in feats:
        p, g = f["properties"], f["geometry"]
        if g["type"] == "Point":
            nodes.append(RouteNode(int(p["id"]), *map(float, g["coordinates"][:2])))
        else:
            lines = g["coordinates"] if g["type"] == "MultiLineString" else [g["coordinates"]]
            pts = np.array([q[:2] for line in lines for q in line], dtype=np.float64)
            length = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
            meta = p.get("metadata", {})
            edges.append(
                RouteEdge(int(p["id"]), int(p["startid"]), int(p["endid"]), length,
                          float(meta.get("speed_limit", TOP_SPEED)))
            )
    return RouteGraph.build(nodes, edges)


Layout = tuple[
    str, list[HotspotSpec], np.ndarray, np.ndarray, Callable[..., np.ndarray],
    Callable[[float, float], bool] | None,
]


def load_layout() -> Layout:
    """(source, hotspots, depot xy (2,), entrances xy (E, 2), travel(points (N,2)) -> (N,N) s,
    is_allowed(x, y) or None)."""
    mdir = ROOT / "maps/suwon_dawn"
    if (mdir / "zones.geojson").exists() and (mdir / "routes.geojson").exists():
        from dawnpatrol_core.planning.travel import travel_time_matrix

        speed: Callable[[RouteEdge], float] | None = None
        allowed: Callable[[float, float], bool] | None = None

        try:  # the district loader, once it exists; else the map module loaders
            from dawnpatrol_core.patrol.plan import hotspots_from_district

            try:
                loader = importlib.import_module("dawnpatrol_core.maps.district")
                dm = loader.load_district_map(mdir)
                hotspots, graph = hotspots_from_district(dm), dm.graph
                allowed = dm.is_allowed

                def speed(e: RouteEdge) -> float:  # edge limit, capped by the zone limits
                    mid = np.mean([e.points[0], e.points[-1]], axis=0) if e.points else None
                    zone = dm.speed_limit_at(*mid) if mid is not None else e.speed_limit
                    return float(min(e.speed_limit, zone))
                source = "suwon_dawn (district loader)"
            except (ImportError, AttributeError):
                from dawnpatrol_core.maps.route_io import load_route_graph
                from dawnpatrol_core.maps.zones import load_zones
                from dawnpatrol_core.patrol.plan import hotspot_spec

                hotspots = [hotspot_spec(x) for x in load_zones(mdir / "zones.geojson")[1]]
                graph = load_route_graph(mdir / "routes.geojson")
                source = "suwon_dawn (maps loaders)"
        except ImportError:
            zones = json.loads((mdir / "zones.geojson").read_text())["features"]
            hotspots = [
                _hotspot(f["properties"], f["properties"]["id"])
                for f in zones
                if f["properties"].get("kind") == "hotspot"
            ]
            graph, source = _read_routes(mdir / "routes.geojson"), "suwon_dawn (geojson)"
        zones = json.loads((mdir / "zones.geojson").read_text())["features"]
        depot = next(f for f in zones if f["properties"].get("kind") == "depot")
        depot_xy = np.array(depot["properties"]["pose"][:2], dtype=np.float64)
        book = yaml.safe_load((mdir / "addresses.yaml").read_text())["addresses"]
        entrances = np.array([a["pose"][:2] for a in book], dtype=np.float64)

        def travel(points: np.ndarray) -> np.ndarray:
            return travel_time_matrix(graph, points, speed, max_speed=TOP_SPEED).duration

        return source, hotspots, depot_xy, entrances, travel, allowed
    rng = np.random.default_rng(7)
    xy = rng.uniform([0, 0], [300, 200], (10, 2))
    hotspots = [
        HotspotSpec(f"hs{i}", f"synthetic {i}", *xy[i], 0.0, (PriorityBand(2, 4, 2.0),),
                    900.0 if i % 3 == 0 else 1500.0, 45.0)
        for i in range(len(xy))
    ]

    def manhattan(points: np.ndarray) -> np.ndarray:
        return np.abs(points[:, None] - points[None]).sum(-1) / 1.2

    entrances = rng.uniform([0, 0], [300, 200], (20, 2))
    return "synthetic", hotspots, np.array([70.0, 6.0]), entrances, manhattan, None


def best_cycle(travel: np.ndarray) -> list[int]:
    """Shortest closed tour (exact for ≤ 8 hotspots, else nearest neighbour + 2-opt)."""
    n = len(travel)
    if n <= 8:
        best = min(itertools.permutations(range(1, n)),
                   key=lambda p: sum(travel[a, b] for a, b in zip((0, *p), (*p, 0), strict=True)))
        return [0, *best]
    tour = [0]
    while len(tour) < n:
        rest = [j for j in range(n) if j not in tour]
        tour.append(min(rest, key=lambda j: travel[tour[-1], j]))
    return tour


def run_baseline(plan: PatrolPlan, kind: str, rng: np.random.Generator) -> list[Visit]:
    """Cyclic (robots evenly spaced on the shortest tour) or uniform-random next hotspot."""
    t, st, dwell = plan.travel_s, plan.start_travel_s, plan.dwell_s
    n = len(plan.hotspots)
    tour = best_cycle(t)
    pos = {r: -1 for r in plan.robots}
    step = {r: (k * n) // len(plan.robots) for k, r in enumerate(plan.robots)}
    queue = [(0.0, k, r) for k, r in enumerate(plan.robots)]
    visits: list[Visit] = []
    while queue:
        now, k, r = heapq.heappop(queue)
        if now >= NIGHT_S:
            continue
        if kind == "cyclic":
            h = tour[step[r] % n]
            step[r] += 1
        else:
            h = int(rng.choice([j for j in range(n) if j != pos[r]]))
        row = st[k] if pos[r] < 0 else t[pos[r]]
        arrive = now + float(row[h])
        visits.append(Visit(r, h, arrive, arrive + float(dwell[h])))
        pos[r] = h
        heapq.heappush(queue, (arrive + float(dwell[h]), k, r))
    return visits


def delivery_batch(
    entrances: np.ndarray, rng: np.random.Generator, count: int
) -> tuple[np.ndarray, list[tuple[int, float, float]]]:
    """Random entrances with 30-min windows spread over the first 3 hours, in window order."""
    idx = rng.choice(len(entrances), size=count, replace=False)
    opens = np.sort(rng.uniform(600.0, 3 * 3600.0, count))
    return entrances[idx], [(k, float(o), float(o) + 1800.0) for k, o in enumerate(opens)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="2 seeds instead of 10 (smoke run)")
    args = ap.parse_args()
    seeds = range(2) if args.quick else range(10)
    source, hotspots, depot, entrances, travel_fn, allowed = load_layout()
    h = len(hotspots)
    pts = np.vstack([[[x.x, x.y] for x in hotspots], depot[None]])
    full = travel_fn(pts)
    plan = build_patrol_plan(
        hotspots, ROBOTS, full[:h, :h], start_travel_s=np.tile(full[h, :h], (len(ROBOTS), 1)),
        settings=PatrolSettings(epoch_hour=2.0), is_allowed=allowed,
    )
    ids = [x.id for x in hotspots]
    bound = plan.max_idleness_s
    print(f"# Patrol benchmark — {source}: {h} hotspots, {len(ROBOTS)} robots, "
          f"{NIGHT_S / 3600:.0f} h night from 02:00, {len(seeds)} seeds\n")
    results: dict[str, list[PatrolMetrics]] = {"ours": [], "cyclic": [], "uniform random": []}
    cpu = 0.0
    for seed in seeds:
        t0 = time.perf_counter()
        ours = simulate_night(plan, 0.0, NIGHT_S, np.random.default_rng(seed)).visits
        cpu += time.perf_counter() - t0
        for name, visits in (
            ("ours", ours),
            ("cyclic", run_baseline(plan, "cyclic", np.random.default_rng(seed))),
            ("uniform random", run_baseline(plan, "random", np.random.default_rng(seed))),
        ):
            results[name].append(patrol_metrics(list(visits), ids, bound, 0.0, NIGHT_S))
    print("| policy | mean avg idleness s | worst idleness / bound (max) | violations "
          "| nights with a violation | order entropy bits | interval entropy bits |")
    print("|---|---|---|---|---|---|---|")
    for name, ms in results.items():
        avg = np.mean([[x.avg_idleness_s for x in m.hotspots] for m in ms])
        ratio = max(x.worst_idleness_s / x.max_idleness_s for m in ms for x in m.hotspots)
        print(f"| {name} | {avg:.0f} | {ratio:.3f} | {sum(m.violations for m in ms)} | "
              f"{sum(m.violations > 0 for m in ms)}/{len(ms)} | "
              f"{np.mean([m.order_entropy_bits for m in ms]):.2f} | "
              f"{np.mean([m.interval_entropy_bits for m in ms]):.2f} |")
    print(f"\n(order entropy ≤ log2 {h} = {np.log2(h):.2f} bits; interval bins 60 s; "
          f"scheduler CPU {cpu / len(seeds):.2f} s per night)\n")
    print("| hotspot | bound s | dwell s | " + " | ".join(
        f"{n} avg / worst s" for n in results) + " | ours visits |")
    print("|---|---|---|" + "---|" * (len(results) + 1))
    for i, x in enumerate(hotspots):
        cells = []
        for ms in results.values():
            a = np.mean([m.hotspots[i].avg_idleness_s for m in ms])
            w = max(m.hotspots[i].worst_idleness_s for m in ms)
            cells.append(f"{a:.0f} / {w:.0f}")
        visits = np.mean([m.hotspots[i].visits for m in results["ours"]])
        print(f"| {x.id} | {x.max_idleness_s:.0f} | {x.dwell_s:.0f} | " + " | ".join(cells)
              + f" | {visits:.1f} |")

    # -- the same night with a delivery batch on r1 ---------------------------------------
    print("\n## With a delivery batch on r1 (r2 patrols; r1 patrols only in its route's slack)\n")
    print("| seed | deliveries | on time | r1 patrol visits during its route | violations "
          "| worst idleness / bound |")
    print("|---|---|---|---|---|---|")
    count = min(10, len(entrances))
    for seed in seeds:
        rng = np.random.default_rng(1000 + seed)
        where, windows = delivery_batch(entrances, rng, count)
        places = travel_fn(np.vstack([pts, where]))
        places[:h, :h] = plan.travel_s
        stops = [RouteStop(f"o{k}", h + 1 + k, o, c, 60.0) for k, o, c in windows]
        res = simulate_night(
            plan, 0.0, NIGHT_S, np.random.default_rng(seed), places_travel_s=places,
            routes={"r1": stops}, route_start_place={"r1": h},
        )
        m = patrol_metrics(list(res.visits), ids, bound, 0.0, NIGHT_S)
        last = max(d.service_start_s for d in res.deliveries) if res.deliveries else 0.0
        own = sum(v.robot == "r1" and v.arrive_s < last for v in res.visits)
        ratio = max(x.worst_idleness_s / x.max_idleness_s for x in m.hotspots)
        print(f"| {seed} | {len(res.deliveries)}/{len(stops)} | "
              f"{sum(d.on_time for d in res.deliveries)} | {own} | {m.violations} | {ratio:.3f} |")

    # -- the joint plan: the same batches and visits in one model, on both robots --------
    print("\n## Joint plan: the batch and the patrol visits in one dispatch (hard bounds, both "
          "robots)\n")
    print("| seed | parcels served (in window: plan valid) | visits planned | violations until the last "
          "window | worst idleness / bound | order entropy bits | solve s |")
    print("|---|---|---|---|---|---|---|")
    robots = [Robot(r, 4, 0.0, NIGHT_S, TOP_SPEED) for r in ROBOTS]
    settings = DispatchSettings(service_time_s=60.0, time_limit_s=5.0)
    dwell = plan.dwell_s
    for seed in seeds:
        rng = np.random.default_rng(1000 + seed)
        where, windows = delivery_batch(entrances, rng, count)
        orders = [Order(f"o{k}", None, None, None, float(where[k, 0]), float(where[k, 1]), o, c)
                  for k, o, c in windows]
        until = max(c for _, _, c in windows)
        visits = [PatrolVisit(f"@{ids[hh]}#{k}", ids[hh], hotspots[hh].x, hotspots[hh].y, e, d,
                              float(dwell[hh]))
                  for hh, k, e, d in visit_windows(np.zeros(h), bound, dwell, 0.0, until, 0.5,
                                                   np.random.default_rng(seed))]

        def both(points: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray]:
            t = travel_fn(points)
            return t, t * top

        t0 = time.perf_counter()
        jp = plan_dispatch(orders, robots, (float(depot[0]), float(depot[1])), both, settings,
                           visits)
        solve = time.perf_counter() - t0
        planned = [Visit(r.robot_id, ids.index(v.hotspot_id), v.service_start, v.departure)
                   for r in jp.routes for v in r.visits]
        m = patrol_metrics(planned, ids, bound, 0.0, until)
        ratio = max(x.worst_idleness_s / x.max_idleness_s for x in m.hotspots)
        ok = "" if not validate_plan(jp) else " (plan INVALID)"
        print(f"| {seed} | {jp.served}/{len(orders)} | {len(planned)} | {m.violations} | "
              f"{ratio:.3f} | {m.order_entropy_bits:.2f} | {solve:.1f}{ok} |")


if __name__ == "__main__":
    main()
