"""Localization along the market alley of suwon_dawn to its east end (issue 19, weak point c).

A robot drives the alley (2.5 m wide, 79 m between two solid rows of stalls: nothing fixes the
position along it) to its east end, 5 m from the map's edge, and on along the sidewalk north or
south, or the other way; with the world's pedestrians (the market worker walks the alley) and the
demo's sensor noise. Pure pursuit on ground truth, as in bench_localization (it does not give way:
it meets the worker head-on at the alley's end in some seeds). The shipped filter
(params/localization.yaml) gets the readings through the node's loop; ``--node-drop`` drops the
fixes that lie outside the map before they reach it, as the localization node did.
``python test/bench/bench_market_street.py [--seeds 0,1,2,3] [--routes east,west,...]``
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_localization as bl  # noqa: E402

from dawnpatrol_core.errors import SensorError  # noqa: E402
from dawnpatrol_core.geometry import Pose2D  # noqa: E402
from dawnpatrol_core.localization.health import HealthState  # noqa: E402
from dawnpatrol_core.localization.loop import LocalizationLoop, LoopConfig  # noqa: E402
from dawnpatrol_core.localization.particle_filter import ParticleFilter  # noqa: E402
from dawnpatrol_sim.engine import SimEngine  # noqa: E402
from dawnpatrol_sim.scenario import RobotStart, Scenario  # noqa: E402

ROBOT = "r1"
SPEED = 1.0  # m/s, the alley's speed limit
# Corners of each route (m); the alley runs along y = 173 from x = 213 to 292, its route edge
# ends at the sidewalk x = 297.6.
ROUTES: dict[str, list[tuple[float, float]]] = {
    "east": [(208.0, 173.0), (297.6, 173.0)],
    "east-north": [(208.0, 173.0), (297.6, 173.0), (297.6, 196.0)],
    "east-south": [(208.0, 173.0), (297.6, 173.0), (297.6, 149.0)],
    "west": [(297.6, 190.0), (297.6, 173.0), (208.0, 173.0)],
}


def polyline(corners: list[tuple[float, float]], step: float = 0.25) -> np.ndarray:
    """(N, 2) points ``step`` m apart along the corners."""
    out = [np.array([corners[0]], dtype=np.float64)]
    for a, b in zip(corners[:-1], corners[1:], strict=True):
        pa, pb = np.array(a), np.array(b)
        n = max(2, int(math.dist(a, b) / step))
        out.append(pa + np.linspace(0.0, 1.0, n + 1)[1:, None] * (pb - pa))
    return np.vstack(out)


def drive(s: bl.Setup, route: str, seed: int, node_drop: bool) -> dict[str, float]:
    """One run: position errors at every scan, seconds LOST, the error at the end, fixes
    dropped."""
    path = polyline(ROUTES[route])
    heading = math.atan2(path[3, 1] - path[0, 1], path[3, 0] - path[0, 0])
    start = Pose2D(float(path[0, 0]), float(path[0, 1]), heading)
    scen = Scenario(name="market", world=Path("market"), robots=(RobotStart(ROBOT, start),),
                    seed=seed, duration=400.0)
    eng = SimEngine(s.world, s.model, scen, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    init = Pose2D(start.x + rng.normal(0, 0.1), start.y + rng.normal(0, 0.1),
                  start.theta + rng.normal(0, 0.03))
    pf = ParticleFilter(s.grid, s.variants["new"], np.random.default_rng(seed + 2000),
                        field=s.field)
    pf.init_pose(init, np.diag([0.02, 0.02, 0.005]))
    loop = LocalizationLoop(pf, LoopConfig(s.mount, s.idle_period))
    follower = bl.Follower(path)
    xmin, ymin, xmax, ymax = s.grid.extent
    errs: list[float] = []
    lost_s, dropped, fixes, last_t = 0.0, 0, 0, 0.0
    while eng.now < 400.0 and not follower.done:
        eng.step({ROBOT: follower.command(eng.pose(ROBOT))})
        fr = eng.sensors(ROBOT)
        try:
            if fr.gnss is not None:
                fixes += 1
                g = fr.gnss
                if node_drop and not (xmin <= g.x < xmax and ymin <= g.y < ymax):
                    dropped += 1
                else:
                    loop.gnss(g.x, g.y, g.std, fr.stamp)
            if fr.scan is not None and fr.odom is not None:
                sc, od = fr.scan, fr.odom
                loop.scan(Pose2D(od.x, od.y, od.theta), sc.ranges, sc.angle_min,
                          sc.angle_increment, sc.range_min, sc.range_max, fr.stamp)
        except SensorError:
            pass
        if fr.scan is None:
            continue
        est = loop.estimate
        errs.append(math.hypot(est.pose.x - fr.truth.x, est.pose.y - fr.truth.y))
        lost_s += (fr.stamp - last_t) * (est.health is HealthState.LOST)
        last_t = fr.stamp
    e = np.array(errs)
    return {"rmse": float(np.sqrt(np.mean(e**2))), "p95": float(np.percentile(e, 95)),
            "max": float(e.max()), "final": float(e[-1]), "lost_s": lost_s,
            "dropped": dropped, "fixes": fixes, "contacts": len(eng.contacts)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", default="0,1,2,3", help="comma-separated seeds")
    ap.add_argument("--routes", default=",".join(ROUTES), help="comma-separated of "
                    + ", ".join(ROUTES))
    ap.add_argument("--node-drop", action="store_true",
                    help="drop fixes outside the map before the filter (the node until 2026-12)")
    args = ap.parse_args()
    world = bl.load_world(bl.ROOT / "sim" / "worlds" / "suwon_dawn.sdf")
    model = bl.load_robot_model(bl.ROOT / "sim" / "models" / "dawnbot" / "model.sdf")
    grid, _ = bl.load_grid("suwon_dawn", world)
    params, mount, idle = bl.shipped_params()
    fld = bl.LikelihoodField.from_grid(grid, params.z_hit, params.z_rand, params.sigma_hit,
                                       params.laser_max_range, params.likelihood_max_dist)
    s = bl.Setup(world, model, grid, fld, None, {"new": params}, mount, idle)  # type: ignore[arg-type]
    bl.V_MAX = SPEED
    print("# Market alley to its east end — suwon_dawn, shipped filter"
          + (", fixes outside the map dropped" if args.node_drop else "") + "\n")
    print("| route | seed | RMSE m | p95 m | max m | final m | LOST s | fixes dropped | "
          "contacts |")
    print("|---|---|---|---|---|---|---|---|---|")
    runs = []
    for route in args.routes.split(","):
        for seed in (int(x) for x in args.seeds.split(",")):
            r = drive(s, route, seed, args.node_drop)
            runs.append(r)
            print(f"| {route} | {seed} | {r['rmse']:.2f} | {r['p95']:.2f} | {r['max']:.2f} | "
                  f"{r['final']:.2f} | {r['lost_s']:.1f} | {r['dropped']}/{r['fixes']} | "
                  f"{r['contacts']} |", flush=True)
    bad = sum(r["final"] > 2.0 for r in runs)
    print(f"\nruns {len(runs)}: final error > 2 m in {bad}, max > 2 m in "
          f"{sum(r['max'] > 2.0 for r in runs)}, LOST in {sum(r['lost_s'] > 0 for r in runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
