"""Localization benchmark in the headless simulator: tracking, kidnapping and cost tables.

Drives a robot along long routes with a scripted cmd_vel that follows waypoints using ground
truth, runs the particle filter on the simulated scan/odom/GNSS, and compares it with odometry
dead reckoning in the same runs.  ``python test/bench/bench_localization.py [--quick]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.graph import route_through_array

ROOT = Path(__file__).resolve().parents[2]
for pkg in ("dawnpatrol_core", "dawnpatrol_sim"):
    sys.path.insert(0, str(ROOT / "src" / pkg))

from dawnpatrol_core.geometry import Pose2D, wrap_angle  # noqa: E402
from dawnpatrol_core.localization.health import HealthState  # noqa: E402
from dawnpatrol_core.localization.likelihood_field import LikelihoodField  # noqa: E402
from dawnpatrol_core.localization.params import LocalizationParams  # noqa: E402
from dawnpatrol_core.localization.particle_filter import ParticleFilter  # noqa: E402
from dawnpatrol_core.maps.grid import OccupancyGrid  # noqa: E402
from dawnpatrol_core.maps.occupancy_io import read_map_yaml  # noqa: E402
from dawnpatrol_core.maps.rasterize import rasterize_footprints  # noqa: E402
from dawnpatrol_core.world import RobotModel, World, load_robot_model, load_world  # noqa: E402
from dawnpatrol_sim.engine import SimEngine  # noqa: E402
from dawnpatrol_sim.scenario import FaultSpec, RobotStart, Scenario  # noqa: E402

RES = 0.05
COARSE = 10  # fine cells per planning cell (0.5 m)
CLEARANCE = 1.0  # m, minimum distance of route cells from obstacles
V_MAX = 1.2  # m/s cruise speed of the scripted driver
LOOKAHEAD = 1.2  # m
ROBOT = "r1"


# ------------------------------------------------------------------------------ map
def load_grid(name: str, world: World) -> tuple[OccupancyGrid, str]:
    """The committed map (maps/NAME/map.yaml) if there is one, else the world rasterized."""
    yaml_path = ROOT / "maps" / name / "map.yaml"
    if yaml_path.exists():
        return read_map_yaml(yaml_path), str(yaml_path.relative_to(ROOT))
    return rasterize_footprints(world.footprints, world.bounds), "rasterized from the world"


# ------------------------------------------------------------------------------ routes
@dataclass
class Planner:
    """Shortest clear paths on a coarse clearance-weighted grid (skimage MCP)."""

    grid: OccupancyGrid
    cost: np.ndarray
    usable: np.ndarray

    @classmethod
    def build(cls, grid: OccupancyGrid, bounds: tuple[float, float, float, float]) -> Planner:
        """Routes stay inside ``bounds`` (m, the world's extent) shrunk by 2 m."""
        h, w = grid.height // COARSE, grid.width // COARSE
        fine = grid.occupied[: h * COARSE, : w * COARSE]
        occ = fine.reshape(h, COARSE, w, COARSE).any(axis=(1, 3))
        clear = ndimage.distance_transform_edt(~occ) * RES * COARSE
        usable = clear >= CLEARANCE + RES * COARSE
        ys = grid.origin_y + (np.arange(h) + 0.5) * RES * COARSE
        xs = grid.origin_x + (np.arange(w) + 0.5) * RES * COARSE
        inside_y = (ys > bounds[1] + 2.0) & (ys < bounds[3] - 2.0)
        inside_x = (xs > bounds[0] + 2.0) & (xs < bounds[2] - 2.0)
        usable &= inside_y[:, None] & inside_x[None, :]
        # keep the largest connected free region so every pair of cells is joinable
        labels, n = ndimage.label(usable, structure=np.ones((3, 3)))
        if n > 1:
            sizes = ndimage.sum(usable, labels, index=np.arange(1, n + 1))
            usable = labels == (1 + int(np.argmax(sizes)))
        cost = np.where(usable, 1.0 + 2.0 / np.maximum(clear, 0.1), -1.0)
        return cls(grid, cost, usable)

    def cell_xy(self, rc: np.ndarray) -> np.ndarray:
        return np.column_stack((
            self.grid.origin_x + (rc[:, 1] + 0.5) * RES * COARSE,
            self.grid.origin_y + (rc[:, 0] + 0.5) * RES * COARSE,
        ))

    def xy_cell(self, x: float, y: float) -> tuple[int, int]:
        return (int((y - self.grid.origin_y) / (RES * COARSE)),
                int((x - self.grid.origin_x) / (RES * COARSE)))

    def path(self, a: tuple[int, int], b: tuple[int, int]) -> np.ndarray | None:
        try:
            cells, _ = route_through_array(self.cost, a, b, fully_connected=True, geometric=True)
        except ValueError:
            return None
        rc = np.array(cells)
        if not self.usable[rc[:, 0], rc[:, 1]].all():
            return None
        return self.cell_xy(rc)

    def random_cell(self, rng: np.random.Generator) -> tuple[int, int]:
        cells = np.argwhere(self.usable)
        r, c = cells[rng.integers(len(cells))]
        return int(r), int(c)


def smooth(xy: np.ndarray, k: int = 7) -> np.ndarray:
    if len(xy) < k:
        return xy
    kernel = np.ones(k) / k
    pad = np.vstack([np.repeat(xy[:1], k // 2, 0), xy, np.repeat(xy[-1:], k // 2, 0)])
    return np.column_stack([np.convolve(pad[:, i], kernel, "valid") for i in range(2)])


def make_route(planner: Planner, length: float, rng: np.random.Generator,
               start: tuple[int, int] | None = None) -> np.ndarray:
    """A chain of shortest paths between random far-apart goals, at least ``length`` m long."""
    cur = start or planner.random_cell(rng)
    pts = [planner.cell_xy(np.array([cur]))]
    total = 0.0
    tries = 0
    min_hop = min(40.0, 0.4 * math.hypot(*planner.usable.shape) * RES * COARSE)
    while total < length and tries < 200:
        tries += 1
        goal = planner.random_cell(rng)
        a, b = planner.cell_xy(np.array([cur, goal]))
        if math.dist(a, b) < min_hop:
            continue
        seg = planner.path(cur, goal)
        if seg is None:
            continue
        pts.append(seg[1:])
        total += float(np.sum(np.hypot(*np.diff(seg, axis=0).T)))
        cur = goal
    return smooth(np.vstack(pts))


class Follower:
    """Pure pursuit on ground truth: (v, w) toward a point ``LOOKAHEAD`` m ahead on the path."""

    def __init__(self, path: np.ndarray) -> None:
        self.path = path
        self.i = 0

    @property
    def done(self) -> bool:
        return self.i >= len(self.path) - 1

    def command(self, pose: Pose2D) -> tuple[float, float]:
        p = self.path
        window = p[self.i : self.i + 40]
        d = np.hypot(window[:, 0] - pose.x, window[:, 1] - pose.y)
        self.i += int(np.argmin(d))
        rest = np.hypot(p[self.i :, 0] - pose.x, p[self.i :, 1] - pose.y)
        ahead = np.nonzero(rest >= LOOKAHEAD)[0]
        if ahead.size == 0:
            self.i = len(p) - 1
            return 0.0, 0.0
        tx, ty = p[self.i + int(ahead[0])]
        alpha = wrap_angle(math.atan2(ty - pose.y, tx - pose.x) - pose.theta)
        if abs(alpha) > 1.0:
            return 0.0, math.copysign(0.8, alpha)
        v = V_MAX * max(0.25, 1.0 - abs(alpha) / 1.0)
        return v, float(np.clip(2.0 * v * math.sin(alpha) / LOOKAHEAD, -1.0, 1.0))


# ------------------------------------------------------------------------------ runs
@dataclass
class RunLog:
    t: list[float]
    truth: list[tuple[float, float, float]]
    est: list[tuple[float, float, float]]
    dr: list[tuple[float, float, float]]
    health: list[HealthState]
    update_ms: list[float]
    distance: float = 0.0


def odom_pose(odom: object) -> Pose2D:
    return Pose2D(float(getattr(odom, "x")), float(getattr(odom, "y")),  # noqa: B009
                  float(getattr(odom, "theta")))  # noqa: B009


def run(world: World, model: RobotModel, grid: OccupancyGrid, field: LikelihoodField,
        params: LocalizationParams, path: np.ndarray, seed: int, duration_cap: float,
        kidnap: tuple[float, Planner] | None = None) -> tuple[RunLog, float | None]:
    """Drive ``path``; return the log and (kidnap runs) the teleport time."""
    heading = math.atan2(path[3, 1] - path[0, 1], path[3, 0] - path[0, 0])
    start = Pose2D(float(path[0, 0]), float(path[0, 1]), heading)
    scen = Scenario(name="bench", world=Path("bench"), robots=(RobotStart(ROBOT, start),),
                    seed=seed, duration=duration_cap)
    eng = SimEngine(world, model, scen, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    pf = ParticleFilter(grid, params, rng, field=field)
    pf.init_pose(Pose2D(start.x + rng.normal(0, 0.1), start.y + rng.normal(0, 0.1),
                        start.theta + rng.normal(0, 0.03)), np.diag([0.02, 0.02, 0.005]))
    mount = Pose2D(model.lidar.mount_x, 0.0, 0.0)
    follower = Follower(path)
    log = RunLog([], [], [], [], [], [])
    odom0: Pose2D | None = None
    odom_last: Pose2D | None = None
    kidnap_t: float | None = None
    last_xy = (start.x, start.y)
    while eng.now < duration_cap and not follower.done:
        truth_pose = eng.pose(ROBOT)
        if kidnap and kidnap_t is None and eng.now >= kidnap[0]:
            dest = kidnap_destination(kidnap[1], truth_pose, rng)
            fault = FaultSpec("kidnap", ROBOT, start=eng.now + eng.dt / 2, pose=dest)
            # The engine's own kidnap fault, scheduled now because the destination depends on
            # where the robot is; the planner then gives the robot a fresh route from there.
            eng._faults = (*eng._faults, fault)  # noqa: SLF001
            kidnap_t = eng.now + eng.dt
            new_path = make_route(kidnap[1], 60.0, rng, start=kidnap[1].xy_cell(dest.x, dest.y))
            follower = Follower(np.vstack(([dest.x, dest.y], new_path)))
        eng.step({ROBOT: follower.command(truth_pose)})
        fr = eng.sensors(ROBOT)
        if fr.odom is not None:
            cur = odom_pose(fr.odom)
            if odom0 is None:
                odom0 = odom_last = cur
        if fr.gnss is not None and fr.odom is not None:
            pf.update_gnss(fr.gnss.x, fr.gnss.y, fr.gnss.std, fr.stamp)
        if fr.scan is None or fr.odom is None or odom_last is None or odom0 is None:
            continue
        cur = odom_pose(fr.odom)
        t0 = time.perf_counter()
        pf.predict(odom_last, cur)
        try:
            pf.update_scan(fr.scan.ranges, fr.scan.angle_min, fr.scan.angle_increment,
                           fr.scan.range_min, fr.scan.range_max, mount, fr.stamp)
        except Exception as exc:  # a real node logs and skips; count it here
            print(f"scan skipped at {fr.stamp:.1f}s: {exc}", file=sys.stderr)
        log.update_ms.append(1000.0 * (time.perf_counter() - t0))
        odom_last = cur
        est = pf.estimate()
        tr = fr.truth
        dr = start.compose(cur.relative_to(odom0))
        log.t.append(fr.stamp)
        log.truth.append((tr.x, tr.y, tr.theta))
        log.est.append(est.pose.as_tuple())
        log.dr.append(dr.as_tuple())
        log.health.append(est.health)
        log.distance += math.dist(last_xy, (tr.x, tr.y))
        last_xy = (tr.x, tr.y)
    return log, kidnap_t


def kidnap_destination(planner: Planner, pose: Pose2D, rng: np.random.Generator) -> Pose2D:
    """A clear pose about 50 m from ``pose``, random heading."""
    for _ in range(2000):
        a = rng.uniform(-math.pi, math.pi)
        x, y = pose.x + 50.0 * math.cos(a), pose.y + 50.0 * math.sin(a)
        r, c = planner.xy_cell(x, y)
        if 0 <= r < planner.usable.shape[0] and 0 <= c < planner.usable.shape[1] \
                and planner.usable[r, c]:
            xy = planner.cell_xy(np.array([[r, c]]))[0]
            return Pose2D(float(xy[0]), float(xy[1]), float(rng.uniform(-math.pi, math.pi)))
    raise RuntimeError("no clear kidnap destination 50 m away")


def errors(log: RunLog, which: str, skip_t: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.array(log.t)
    tr = np.array(log.truth)
    other = np.array(log.est if which == "pf" else log.dr)
    keep = t >= skip_t
    pos = np.hypot(*(other[keep, :2] - tr[keep, :2]).T)
    head = np.abs((other[keep, 2] - tr[keep, 2] + math.pi) % (2 * math.pi) - math.pi)
    return pos, head


# ------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="one short run of each kind")
    ap.add_argument("--world", default="suwon_dawn", help="world name under sim/worlds")
    ap.add_argument("--routes", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--length", type=float, default=330.0, help="planned route length, m")
    ap.add_argument("--kidnap-seeds", type=int, default=10)
    ap.add_argument("--parts", default="tracking,kidnap,cost",
                    help="comma-separated subset of tracking,kidnap,cost")
    args = ap.parse_args()
    if args.quick:
        args.routes, args.seeds, args.length, args.kidnap_seeds = 1, 1, 60.0, 1

    world_path = ROOT / "sim" / "worlds" / f"{args.world}.sdf"
    world = load_world(world_path)
    model = load_robot_model(ROOT / "sim" / "models" / "dawnbot" / "model.sdf")
    grid, grid_src = load_grid(args.world, world)
    params = LocalizationParams(laser_max_range=model.lidar.range_max)
    t0 = time.perf_counter()
    field = LikelihoodField.from_grid(grid, params.z_hit, params.z_rand, params.sigma_hit,
                                      params.laser_max_range, params.likelihood_max_dist)
    prep = time.perf_counter() - t0
    planner = Planner.build(grid, world.bounds)
    print(f"# Localization benchmark — {args.world}\n")
    print(f"grid {grid.width}x{grid.height} cells @ {grid.resolution} m ({grid_src}); "
          f"likelihood field prep {prep:.2f} s, {field.log_p.nbytes / 1e6:.0f} MB; lidar "
          f"{model.lidar.samples} beams -> {params.max_beams}; GNSS std {model.gnss.noise_std} m\n")

    parts = set(args.parts.split(","))
    if "tracking" in parts:
        tracking(args, world, model, grid, field, params, planner)
    if "kidnap" in parts:
        kidnapping(args, world, model, grid, field, params, planner)
    if "cost" in parts:
        cost(args, world, model, grid, field, params, planner)
    return 0


def tracking(args: argparse.Namespace, world: World, model: RobotModel, grid: OccupancyGrid,
             field: LikelihoodField, params: LocalizationParams, planner: Planner) -> None:
    rows = []
    all_pf_pos, all_pf_head, all_dr_pos, all_dr_head, all_ms = [], [], [], [], []
    for route_id in range(args.routes):
        path = make_route(planner, args.length, np.random.default_rng(100 + route_id))
        for s in range(args.seeds):
            log, _ = run(world, model, grid, field, params, path, seed=s,
                         duration_cap=args.length * 3)
            pos, head = errors(log, "pf")
            dpos, dhead = errors(log, "dr")
            all_pf_pos.append(pos)
            all_pf_head.append(head)
            all_dr_pos.append(dpos)
            all_dr_head.append(dhead)
            all_ms += log.update_ms
            rows.append((route_id, s, log.distance, pos, head, dpos, dhead,
                         sum(h is not HealthState.OK for h in log.health) / len(log.health)))
    print("## Tracking (per run)\n")
    print("| route | seed | driven m | RMSE m | p95 m | max m | heading RMSE ° | DR RMSE m "
          "| DR final m | DR heading RMSE ° | not-OK share |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r, s, dist, pos, head, dpos, dhead, bad in rows:
        print(f"| {r} | {s} | {dist:.0f} | {rms(pos):.3f} | {np.percentile(pos, 95):.3f} "
              f"| {pos.max():.3f} | {math.degrees(rms(head)):.2f} | {rms(dpos):.2f} "
              f"| {dpos[-1]:.2f} | {math.degrees(rms(dhead)):.2f} | {bad:.1%} |")
    pos = np.concatenate(all_pf_pos)
    head = np.concatenate(all_pf_head)
    dpos = np.concatenate(all_dr_pos)
    dhead = np.concatenate(all_dr_head)
    print("\n## Tracking (all runs)\n")
    print("| estimator | position RMSE m | p95 m | heading RMSE ° | target |")
    print("|---|---|---|---|---|")
    print(f"| particle filter | {rms(pos):.3f} | {np.percentile(pos, 95):.3f} "
          f"| {math.degrees(rms(head)):.2f} | ≤ 0.10 / ≤ 0.25 / ≤ 2 |")
    print(f"| odometry only | {rms(dpos):.2f} | {np.percentile(dpos, 95):.2f} "
          f"| {math.degrees(rms(dhead)):.2f} | baseline |")
    print(f"\nmedian predict+scan update {np.median(all_ms):.2f} ms "
          f"(p95 {np.percentile(all_ms, 95):.2f} ms) over {len(all_ms)} scans\n")



def kidnapping(args: argparse.Namespace, world: World, model: RobotModel, grid: OccupancyGrid,
               field: LikelihoodField, params: LocalizationParams, planner: Planner) -> None:
    print("## Kidnapping (teleport 50 m)\n")
    print("| seed | time to LOST s | re-localized < 0.5 m after s | pass |")
    print("|---|---|---|---|")
    passes = 0
    for s in range(args.kidnap_seeds):
        path = make_route(planner, 200.0, np.random.default_rng(500 + s))
        log, tk = run(world, model, grid, field, params, path, seed=50 + s,
                      duration_cap=45.0, kidnap=(20.0, planner))
        assert tk is not None
        t = np.array(log.t)
        pos, _ = errors(log, "pf")
        after = t >= tk
        lost = [ti for ti, h in zip(t, log.health, strict=True)
                if ti >= tk and h is HealthState.LOST]
        t_lost = lost[0] - tk if lost else math.inf
        t_reloc = relocalized_after(t[after], pos[after], tk)
        ok = t_lost <= 3.0 and t_reloc <= 15.0
        passes += ok
        print(f"| {s} | {t_lost:.1f} | {t_reloc:.1f} | {'yes' if ok else 'no'} |")
    print(f"\n{passes}/{args.kidnap_seeds} seeds pass (target ≥ 9/10)\n")



def cost(args: argparse.Namespace, world: World, model: RobotModel, grid: OccupancyGrid,
         field: LikelihoodField, params: LocalizationParams, planner: Planner) -> None:
    print("## Cost (median predict + scan update, recorded scans replayed)\n")
    print("| particles | beams | median ms | p95 ms |")
    print("|---|---|---|---|")
    frames = record_frames(world, model, planner, n=40 if args.quick else 150)
    for n in (250, 500, 1000, 2000, 5000):
        for beams in ((72,) if n != 2000 else (60, 72, 90)):
            p = replace(params, min_particles=n, max_particles=n, max_beams=beams,
                        update_min_d=0.0, update_min_a=0.0)
            ms = replay_cost(grid, field, p, frames, model)
            print(f"| {n} | {beams} | {np.median(ms):.2f} | {np.percentile(ms, 95):.2f} |")


def rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a))))


def relocalized_after(t: np.ndarray, pos: np.ndarray, tk: float, hold: float = 1.0) -> float:
    """Seconds from the kidnap until the error is < 0.5 m and stays so for ``hold`` s."""
    good = pos < 0.5
    for i in np.nonzero(good)[0]:
        window = (t >= t[i]) & (t < t[i] + hold)
        if good[window].all() and t[-1] >= t[i] + hold:
            return float(t[i] - tk)
    return math.inf


def record_frames(world: World, model: RobotModel, planner: Planner, n: int) -> list:
    """``n`` (odom_prev, odom, scan, truth) tuples from a drive, for cost replay."""
    path = make_route(planner, 150.0, np.random.default_rng(7))
    heading = math.atan2(path[3, 1] - path[0, 1], path[3, 0] - path[0, 0])
    start = Pose2D(float(path[0, 0]), float(path[0, 1]), heading)
    scen = Scenario(name="cost", world=Path("cost"), robots=(RobotStart(ROBOT, start),), seed=3)
    eng = SimEngine(world, model, scen, seed=3)
    follower = Follower(path)
    frames: list = []
    prev = None
    while len(frames) < n and not follower.done:
        eng.step({ROBOT: follower.command(eng.pose(ROBOT))})
        fr = eng.sensors(ROBOT)
        if fr.odom is None:
            continue
        cur = odom_pose(fr.odom)
        if prev is None:
            prev = (cur, start)
        if fr.scan is not None:
            frames.append((prev[0], cur, fr.scan, fr.truth))
            prev = (cur, start)
    return frames


def replay_cost(grid: OccupancyGrid, field: LikelihoodField, params: LocalizationParams,
                frames: list, model: RobotModel) -> list[float]:
    pf = ParticleFilter(grid, params, np.random.default_rng(0), field=field)
    tr = frames[0][3]
    pf.init_pose(Pose2D(tr.x, tr.y, tr.theta), np.diag([0.02, 0.02, 0.005]))
    mount = Pose2D(model.lidar.mount_x, 0.0, 0.0)
    ms = []
    for prev, cur, scan, _ in frames:
        t0 = time.perf_counter()
        pf.predict(prev, cur)
        pf.update_scan(scan.ranges, scan.angle_min, scan.angle_increment, scan.range_min,
                       scan.range_max, mount, scan.stamp)
        ms.append(1000.0 * (time.perf_counter() - t0))
    return ms[3:]


if __name__ == "__main__":
    sys.exit(main())
