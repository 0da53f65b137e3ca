"""Benchmark of the headless simulator on suwon_dawn: real-time factor for 1, 3 and 10 robots
with 360-beam lidars at 10 Hz and 20 pedestrians (the world's actors plus scripted walkers).

Run: python test/bench/bench_sim.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src/dawnpatrol_core"), str(ROOT / "src/dawnpatrol_sim")]

from dawnpatrol_core.geometry import Pose2D  # noqa: E402
from dawnpatrol_core.world import World, load_robot_model, load_world  # noqa: E402
from dawnpatrol_sim.engine import SimEngine  # noqa: E402
from dawnpatrol_sim.scenario import PersonSpec, RobotStart, Scenario  # noqa: E402

WORLD = ROOT / "sim/worlds/suwon_dawn.sdf"
MODEL = ROOT / "sim/models/dawnbot/model.sdf"


_UNIONS: dict[int, Any] = {}


def _union(world: World) -> Any:
    """All static footprints as one geometry (cached: union_all is slow)."""
    if id(world) not in _UNIONS:
        _UNIONS[id(world)] = shapely.union_all(list(world.footprints))
    return _UNIONS[id(world)]


def free_points(world: World, n: int, clearance: float, rng: np.random.Generator) -> list[Point]:
    """n random points at least ``clearance`` m from every static footprint."""
    obstacles = _union(world)
    xmin, ymin, xmax, ymax = world.bounds
    out: list[Point] = []
    while len(out) < n:
        p = Point(rng.uniform(xmin + 5, xmax - 5), rng.uniform(ymin + 5, ymax - 5))
        if p.distance(obstacles) >= clearance:
            out.append(p)
    return out


def make_scenario(world: World, n_robots: int, n_people: int, seed: int) -> Scenario:
    """Robots at free spots, walkers on free straight lines, so that actors + walkers = n_people."""
    rng = np.random.default_rng(seed)
    obstacles = _union(world)
    robots = tuple(
        RobotStart(f"r{i + 1}", Pose2D(p.x, p.y, float(rng.uniform(-math.pi, math.pi))))
        for i, p in enumerate(free_points(world, n_robots, 2.0, rng))
    )
    people: list[PersonSpec] = []
    while len(people) + len(world.actors) < n_people:
        a, b = free_points(world, 2, 1.0, rng)
        if LineString([a, b]).distance(obstacles) > 0.5 and a.distance(b) > 10:
            people.append(
                PersonSpec(
                    f"walker_{len(people)}",
                    "walker",
                    waypoints=((a.x, a.y), (b.x, b.y)),
                    speed=1.3,
                    loop=True,
                )
            )
    return Scenario(name="bench", world=WORLD, robots=robots, people=tuple(people), seed=seed)


def wander(engine: SimEngine, cmds: dict[str, tuple[float, float]]) -> None:
    """A cheap reactive driver: go ahead at 1.2 m/s, turn away when the front 60° is near."""
    for rid in engine.robot_ids:
        scan = engine.latest_scan(rid)
        if scan is None:
            continue
        n = scan.ranges.shape[0]
        front = scan.ranges[n // 2 - 30 : n // 2 + 30]
        near = float(np.min(np.abs(front)))
        cmds[rid] = (1.2, 0.0) if near > 3.0 else (0.0, 1.0)


def measure(world: World, n_robots: int, n_people: int, sim_seconds: float) -> dict[str, float]:
    model = load_robot_model(MODEL)
    eng = SimEngine(world, model, make_scenario(world, n_robots, n_people, seed=n_robots), seed=1)
    cmds = {rid: (1.0, 0.0) for rid in eng.robot_ids}
    steps = int(round(sim_seconds / eng.dt))
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        eng.step(cmds)
        wander(eng, cmds)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # CPU time is the fair figure on a shared machine; wall time is shown beside it
    return {
        "robots": n_robots,
        "sim_s": sim_seconds,
        "wall_s": wall,
        "cpu_s": cpu,
        "rtf": sim_seconds / cpu,
        "rtf_wall": sim_seconds / wall,
        "ms_per_sim_s": 1000 * cpu / sim_seconds,
        "contacts": len(eng.contacts),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run (20 sim s per row)")
    ap.add_argument("--profile", action="store_true", help="cProfile the 3-robot row")
    ap.add_argument("--seconds", type=float, default=None, help="simulated seconds per row")
    args = ap.parse_args()
    secs = args.seconds or (20.0 if args.quick else 300.0)
    world = load_world(WORLD)
    print(
        f"world {world.name}: {world.segments.shape[0]} segments, {world.circles.shape[0]} "
        f"circles, {len(world.actors)} actors; 20 pedestrians; dt 0.05 s; lidar 360 beams 10 Hz"
    )
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        measure(world, 3, 20, secs)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        return 0
    print(
        "\n| robots | sim s | CPU s | real-time factor (CPU) | (wall) | CPU ms per sim s "
        "| contacts |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in (1, 3, 10):
        r = measure(world, n, 20, secs)
        print(
            f"| {n} | {r['sim_s']:.0f} | {r['cpu_s']:.2f} | {r['rtf']:.0f}x | "
            f"{r['rtf_wall']:.0f}x | {r['ms_per_sim_s']:.2f} | {r['contacts']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
