"""How the fleet's costs grow with the number of robots (3, 10, 25, 50).

1. Headless simulator on suwon_dawn: N robots with 360-beam lidars at 10 Hz and 200 people
   (the world's actors plus reacting walkers), dt 0.05 s; real-time factor on CPU time.
2. Fleet coordinator (the fleet manager node's core) over an on-disk SQLite fleet store, as the
   node runs it: a dispatch of 20 parcels per robot with windows, then every robot's status once a
   second, the 1 Hz tick, missions accepted; CPU per simulated second (= share of one core at
   real time), per-status handling time p50/p95, and the process's resident memory growth.
   DDS transport is not in these figures (see docs/scaling.md).

The dispatcher alone with 1,000 parcels and 50 robots: ``bench_dispatch_batch.py --orders 1000
--robots 50``.

``python test/bench/bench_fleet_scale.py [--quick] [--sizes 3,10,25,50] [--sim-seconds S]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src/dawnpatrol_core"), str(ROOT / "src/dawnpatrol_sim"),
                str(Path(__file__).resolve().parent)]

from bench_sim import make_scenario, wander  # noqa: E402

from dawnpatrol_core.fleet import commands as fc  # noqa: E402
from dawnpatrol_core.fleet import events as fe  # noqa: E402
from dawnpatrol_core.fleet.config import FleetConfig  # noqa: E402
from dawnpatrol_core.fleet.coordinator import FleetCoordinator  # noqa: E402
from dawnpatrol_core.fleet.registry import RobotMode, RobotStatusReport  # noqa: E402
from dawnpatrol_core.maps.district import load_district_map  # noqa: E402
from dawnpatrol_core.store.fleet import FleetStore  # noqa: E402
from dawnpatrol_core.world import load_robot_model, load_world  # noqa: E402
from dawnpatrol_sim.engine import SimEngine  # noqa: E402

WORLD = ROOT / "sim/worlds/suwon_dawn.sdf"
MODEL = ROOT / "sim/models/dawnbot/model.sdf"
MAP = ROOT / "maps/suwon_dawn"


def rss_mb() -> float:
    """Resident memory of this process (MB)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def sim_row(n: int, people: int, seconds: float) -> dict[str, float]:
    world = load_world(WORLD)
    model = load_robot_model(MODEL)
    m0 = rss_mb()
    eng = SimEngine(world, model, make_scenario(world, n, people, seed=n), seed=1)
    cmds = {rid: (1.0, 0.0) for rid in eng.robot_ids}
    steps = int(round(seconds / eng.dt))
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        eng.step(cmds)
        wander(eng, cmds)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"n": n, "people": len(eng.crowd), "reacting": int(eng.social.reacting.sum()),
            "sim": seconds, "cpu": cpu, "wall": wall, "mem": rss_mb() - m0,
            "contacts": len(eng.contacts)}


def orders_csv(dm_addresses: list[str], count: int, rng: np.random.Generator) -> str:
    """``count`` parcels to the district's entrances, 20-60 min windows 02:00-06:30."""
    lines = ["id,address_id,window_start,window_end,size,handover,priority"]
    for k in range(count):
        a = dm_addresses[int(rng.integers(len(dm_addresses)))]
        s = int(rng.integers(2 * 60, 6 * 60))
        e = s + int(rng.integers(20, 61))
        lines.append(f"P{k:04d},{a},{s // 60:02d}:{s % 60:02d},{e // 60:02d}:{e % 60:02d},1,door,0")
    return "\n".join(lines) + "\n"


def fleet_row(n: int, seconds: float, solver_s: float) -> dict[str, float]:
    dm = load_district_map(MAP)
    ids = tuple(f"r{k + 1}" for k in range(n))
    rng = np.random.default_rng(n)
    with tempfile.TemporaryDirectory() as tmp:
        m0 = rss_mb()
        store = FleetStore(Path(tmp) / "fleet.db")
        cfg = replace(FleetConfig(), robot_ids=ids, map_dir=str(MAP), solver_time_limit_s=solver_s)
        now = 0.0
        coord = FleetCoordinator(cfg, dm, store, now, str(MAP))
        # robots at the depot, idle
        poses = {rid: (coord.depot.x + 0.5 * k, coord.depot.y) for k, rid in enumerate(ids)}

        def status(rid: str, t: float, mode: RobotMode) -> fe.StatusReceived:
            x, y = poses[rid]
            return fe.StatusReceived(RobotStatusReport(rid, mode, x, y, 0.0, stamp=t,
                                                       battery_percent=90.0))

        for rid in ids:
            coord.handle(status(rid, now, RobotMode.IDLE), now)
        text = orders_csv(sorted(dm.addresses), 20 * n, rng)
        t0 = time.perf_counter()
        cmds = coord.handle(fe.DispatchRequested(text, "csv", "bench.csv", False, "bench"), now)
        t_dispatch = time.perf_counter() - t0
        answer = next((c for c in cmds if isinstance(c, fc.DispatchAnswered)), None)
        served = (answer.plan.served if answer is not None and answer.plan is not None else 0)
        busy: set[str] = set()

        def carry_out(cs: list[fc.Command], t: float) -> None:
            for c in cs:
                if isinstance(c, fc.SendMission):
                    busy.add(c.robot_id)
                    coord.handle(fe.MissionAccepted(c.robot_id, c.mission_id), t)

        carry_out(cmds, now)
        lat: list[float] = []
        c0, w0 = time.process_time(), time.perf_counter()
        for sec in range(1, int(seconds) + 1):
            now = float(sec)
            for rid in ids:
                mode = RobotMode.DELIVERING if rid in busy else RobotMode.IDLE
                x, y = poses[rid]
                poses[rid] = (x + 0.01, y)  # they move a little: stored rows change
                t1 = time.perf_counter()
                carry_out(coord.handle(status(rid, now, mode), now), now)
                lat.append(time.perf_counter() - t1)
            carry_out(coord.handle(fe.Tick(), now), now)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        mem = rss_mb() - m0
        store.close()
    a = np.array(lat) * 1000.0
    return {"n": n, "orders": 20 * n, "served": served, "dispatch": t_dispatch,
            "missions": len(busy), "cpu_share": cpu / seconds, "wall": wall,
            "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "max": float(a.max()), "mem": mem}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short rows (10 sim s, 30 fleet s)")
    ap.add_argument("--sizes", default="3,10,25,50")
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--sim-seconds", type=float, default=60.0)
    ap.add_argument("--fleet-seconds", type=float, default=120.0)
    ap.add_argument("--solver-s", type=float, default=5.0,
                    help="the dispatcher's solver limit (fleet.yaml solver_time_limit_s: 5)")
    ap.add_argument("--skip-sim", action="store_true")
    ap.add_argument("--skip-fleet", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.sim_seconds, args.fleet_seconds = 10.0, 30.0
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"# Fleet scale — suwon_dawn; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores at the start\n")
    if not args.skip_sim:
        print(f"## Headless simulator: {args.people} people, lidar 360 beams at 10 Hz, dt 0.05 s, "
              f"{args.sim_seconds:.0f} s simulated per row\n")
        print("| robots | people (reacting) | CPU s | real-time factor (CPU) | (wall) | "
              "CPU ms per sim s per robot | memory (MB) | contacts |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in sizes:
            r = sim_row(n, args.people, args.sim_seconds)
            print(f"| {n} | {r['people']} ({r['reacting']}) | {r['cpu']:.1f} | "
                  f"{r['sim'] / r['cpu']:.1f}× | {r['sim'] / r['wall']:.1f}× | "
                  f"{1000 * r['cpu'] / r['sim'] / n:.1f} | {r['mem']:.0f} | "
                  f"{r['contacts']:.0f} |", flush=True)
        print()
    if not args.skip_fleet:
        print(f"## Fleet coordinator + SQLite store: 20 parcels per robot dispatched, then status "
              f"from every robot at 1 Hz and the tick for {args.fleet_seconds:.0f} s\n")
        print("| robots | parcels served / dispatched | dispatch (s) | robots sent | "
              "CPU share of one core at real time | status handling p50 / p95 / max (ms) | "
              "memory growth (MB) |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for n in sizes:
            r = fleet_row(n, args.fleet_seconds, args.solver_s)
            print(f"| {n} | {r['served']} / {r['orders']} | {r['dispatch']:.1f} | "
                  f"{r['missions']} | {100 * r['cpu_share']:.2f} % | "
                  f"{r['p50']:.2f} / {r['p95']:.2f} / {r['max']:.1f} | {r['mem']:.0f} |",
                  flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
