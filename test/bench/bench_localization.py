"""Localization benchmark in the headless simulator: tracking, wheel slip, kidnapping, cost.

Drives a robot with a scripted cmd_vel (pure pursuit on ground truth) and feeds the same simulated
scan, odometry and GNSS, through the localization node's loop, to the shipped filter
(params/localization.yaml: laser odometry on) and, in the same process on the same inputs, to the
filter as it was before laser odometry (the local scan match instead) and to wheel odometry alone.
``python test/bench/bench_localization.py [--quick] [--parts tracking,slip,kidnap,cost]``
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pyastar2d
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
for pkg in ("dawnpatrol_core", "dawnpatrol_fleet", "dawnpatrol_sim"):
    sys.path.insert(0, str(ROOT / "src" / pkg))

from dawnpatrol_core.geometry import Pose2D, wrap_angle  # noqa: E402
from dawnpatrol_core.localization.health import HealthState  # noqa: E402
from dawnpatrol_core.localization.likelihood_field import LikelihoodField  # noqa: E402
from dawnpatrol_core.localization.loop import LocalizationLoop, LoopConfig  # noqa: E402
from dawnpatrol_core.localization.params import LocalizationParams  # noqa: E402
from dawnpatrol_core.localization.particle_filter import ParticleFilter  # noqa: E402
from dawnpatrol_core.maps.grid import OccupancyGrid  # noqa: E402
from dawnpatrol_core.maps.occupancy_io import read_map_yaml  # noqa: E402
from dawnpatrol_core.maps.rasterize import rasterize_footprints  # noqa: E402
from dawnpatrol_core.maps.route_io import load_route_graph  # noqa: E402
from dawnpatrol_core.world import RobotModel, World, load_robot_model, load_world  # noqa: E402
from dawnpatrol_sim.engine import SimEngine  # noqa: E402
from dawnpatrol_sim.headless_shift import feed_localizer, ros_params  # noqa: E402
from dawnpatrol_sim.scenario import FaultSpec, RobotStart, Scenario  # noqa: E402

RES = 0.05
COARSE = 10  # fine cells per planning cell (0.5 m)
CLEARANCE = 1.0  # m, minimum distance of route cells from obstacles
V_MAX = 1.2  # m/s cruise speed of the scripted driver
LOOKAHEAD = 1.2  # m
ROBOT = "r1"
PARAMS = ROOT / "params" / "localization.yaml"
# Wheel slip as the demo scripts it (sim/scenarios/dawn_shift.yaml: 40 % for 10 s), starting
# once the robot has driven about 10 m down the sidewalk and the filter tracks.
SLIP, SLIP_AT, SLIP_FOR = 0.4, 10.0, 10.0
MIN_STRAIGHT = 40.0  # m, shortest straight run of the route graph that counts
# suwon_dawn's sidewalks along the streets are 3.2 m wide; its alleys and park paths 2.5-3 m.
SIDEWALK_WIDTH = 3.2
# Before laser odometry the filter caught slipping wheels with a local scan match along the
# heading before every weighted scan (its shipped values); the baseline runs the same code with
# laser odometry off and these.
OLD_FILTER = {"laser_odom_beams": 0, "scan_match_range": 1.0, "scan_match_margin": 0.2,
              "scan_match_fraction": 0.3}


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
    """Shortest clear paths on a coarse clearance-weighted grid (pyastar2d A*)."""

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
        w = np.where(self.usable, self.cost, np.inf).astype(np.float32)
        cells = pyastar2d.astar_path(w, a, b, allow_diagonal=True)
        if cells is None:
            return None
        rc = np.asarray(cells)
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


# ------------------------------------------------------------------------------ set-up
@dataclass
class Setup:
    """What every run shares: the world, the robot, the map with its likelihood field, the
    estimators' params by name (filters in the same process, same inputs) and the node's loop
    settings."""

    world: World
    model: RobotModel
    grid: OccupancyGrid
    field: LikelihoodField
    planner: Planner
    variants: dict[str, LocalizationParams]
    mount: Pose2D
    idle_period: float


def shipped_params() -> tuple[LocalizationParams, Pose2D, float]:
    """The localization node's filter params, lidar mount and idle period from
    params/localization.yaml (the shipped values, not the dataclass defaults)."""
    values = ros_params(PARAMS)
    names = {f.name for f in fields(LocalizationParams)}
    params = LocalizationParams.from_mapping({k: v for k, v in values.items() if k in names},
                                             str(PARAMS.relative_to(ROOT)))
    loop = LoopConfig.from_params(values, str(PARAMS.relative_to(ROOT)))
    return params, loop.mount, loop.idle_period_s


def filter_variants(shipped: LocalizationParams) -> dict[str, LocalizationParams]:
    """The shipped filter and the same code as it ran before laser odometry."""
    old = replace(shipped, **OLD_FILTER)
    return {"new": shipped, "old": old}


# ------------------------------------------------------------------------------ runs
@dataclass
class Track:
    """One filter's estimates (x, y, theta) and health at each scan, and its update times."""

    est: list[tuple[float, float, float]] = field(default_factory=list)
    health: list[HealthState] = field(default_factory=list)
    update_ms: list[float] = field(default_factory=list)


@dataclass
class RunLog:
    t: list[float]
    truth: list[tuple[float, float, float]]
    dr: list[tuple[float, float, float]]
    tracks: dict[str, Track]
    distance: float = 0.0
    contacts: int = 0  # the scripted driver does not give way: people it walked into


def odom_pose(odom: object) -> Pose2D:
    return Pose2D(float(getattr(odom, "x")), float(getattr(odom, "y")),  # noqa: B009
                  float(getattr(odom, "theta")))  # noqa: B009


def run(s: Setup, path: np.ndarray, seed: int, duration_cap: float,
        faults: tuple[FaultSpec, ...] = (), kidnap: tuple[float, Planner] | None = None,
        walkers: bool = True) -> tuple[RunLog, float | None]:
    """Drive ``path`` with every filter variant fed the same readings (``walkers``: with the
    world's pedestrians); return the log and (kidnap runs) the teleport time."""
    heading = math.atan2(path[3, 1] - path[0, 1], path[3, 0] - path[0, 0])
    start = Pose2D(float(path[0, 0]), float(path[0, 1]), heading)
    scen = Scenario(name="bench", world=Path("bench"), robots=(RobotStart(ROBOT, start),),
                    seed=seed, duration=duration_cap, faults=faults, world_actors=walkers)
    eng = SimEngine(s.world, s.model, scen, seed=seed)
    rng = np.random.default_rng(seed + 1000)  # initial pose error, kidnap destination
    init = Pose2D(start.x + rng.normal(0, 0.1), start.y + rng.normal(0, 0.1),
                  start.theta + rng.normal(0, 0.03))
    locs: dict[str, LocalizationLoop] = {}
    for name, params in s.variants.items():
        pf = ParticleFilter(s.grid, params, np.random.default_rng(seed + 2000), field=s.field)
        pf.init_pose(init, np.diag([0.02, 0.02, 0.005]))
        locs[name] = LocalizationLoop(pf, LoopConfig(s.mount, s.idle_period))
    follower = Follower(path)
    log = RunLog([], [], [], {name: Track() for name in locs})
    odom0: Pose2D | None = None
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
        odom = None if fr.odom is None else odom_pose(fr.odom)
        if odom is not None and odom0 is None:
            odom0 = odom
        for name, loc in locs.items():
            t0 = time.perf_counter()
            feed_localizer(loc, fr, fr.stamp)
            if fr.scan is not None and odom is not None:
                log.tracks[name].update_ms.append(1000.0 * (time.perf_counter() - t0))
        if fr.scan is None or odom is None or odom0 is None:
            continue
        for name, loc in locs.items():
            log.tracks[name].est.append(loc.estimate.pose.as_tuple())
            log.tracks[name].health.append(loc.estimate.health)
        tr = fr.truth
        log.t.append(fr.stamp)
        log.truth.append((tr.x, tr.y, tr.theta))
        log.dr.append(start.compose(odom.relative_to(odom0)).as_tuple())
        log.distance += math.dist(last_xy, (tr.x, tr.y))
        last_xy = (tr.x, tr.y)
    log.contacts = len(eng.contacts)
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
    """Position (m) and heading (rad) errors of estimator ``which`` (a variant or "odometry")
    at the scans from ``skip_t`` s on."""
    t = np.array(log.t)
    tr = np.array(log.truth)
    other = np.array(log.dr if which == "odometry" else log.tracks[which].est)
    keep = t >= skip_t
    pos = np.hypot(*(other[keep, :2] - tr[keep, :2]).T)
    head = np.abs((other[keep, 2] - tr[keep, 2] + math.pi) % (2 * math.pi) - math.pi)
    return pos, head


def rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a))))


# ------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="one short run of each kind")
    ap.add_argument("--world", default="suwon_dawn", help="world name under sim/worlds")
    ap.add_argument("--routes", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--length", type=float, default=330.0, help="planned route length, m")
    ap.add_argument("--kidnap-seeds", type=int, default=10)
    ap.add_argument("--slip-directions", default="both", choices=("both", "one"),
                    help="drive each straight sidewalk both ways or one way")
    ap.add_argument("--slip-walkers", action="store_true",
                    help="keep the world's pedestrians in the slip sweep (the scripted driver "
                         "does not give way and walks into those on the paths)")
    ap.add_argument("--sidewalks", default="",
                    help="comma-separated indices of the straight sidewalks to drive (all)")
    ap.add_argument("--parts", default="tracking,slip,kidnap,cost",
                    help="comma-separated subset of tracking,slip,kidnap,cost")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="experiment: override a filter parameter of the new filter only "
                         "(printed; the shipped run uses none)")
    args = ap.parse_args()
    if args.quick:
        args.routes, args.seeds, args.length, args.kidnap_seeds = 1, 1, 60.0, 1

    world = load_world(ROOT / "sim" / "worlds" / f"{args.world}.sdf")
    model = load_robot_model(ROOT / "sim" / "models" / "dawnbot" / "model.sdf")
    grid, grid_src = load_grid(args.world, world)
    shipped, mount, idle = shipped_params()
    variants = filter_variants(shipped)
    if args.set:
        over = dict(kv.split("=", 1) for kv in args.set)
        variants["new"] = LocalizationParams.from_mapping(
            {**{f.name: getattr(shipped, f.name) for f in fields(shipped)},
             **{k: type(getattr(shipped, k))(v) for k, v in over.items()}}, "--set")
    t0 = time.perf_counter()
    fld = LikelihoodField.from_grid(grid, shipped.z_hit, shipped.z_rand, shipped.sigma_hit,
                                    shipped.laser_max_range, shipped.likelihood_max_dist)
    prep = time.perf_counter() - t0
    s = Setup(world, model, grid, fld, Planner.build(grid, world.bounds), variants, mount, idle)
    print(f"# Localization benchmark — {args.world}\n")
    print(f"load average at start {load()}; params {PARAMS.relative_to(ROOT)}; grid "
          f"{grid.width}x{grid.height} cells @ {grid.resolution} m ({grid_src}); likelihood "
          f"field prep {prep:.2f} s, {fld.log_p.nbytes / 1e6:.0f} MB; lidar "
          f"{model.lidar.samples} beams -> {shipped.max_beams} weighted, "
          f"{shipped.laser_odom_beams} matched; GNSS std {model.gnss.noise_std} m\n")
    if args.set:
        print(f"**Experiment**: the new filter with {', '.join(args.set)}\n")
    print("Filters: **new** = params/localization.yaml as shipped; **old** = the same code and "
          "params as before laser odometry "
          f"({', '.join(f'{k} {v}' for k, v in OLD_FILTER.items())}); **odometry** = wheel "
          "odometry dead reckoning from the true start.\n")
    parts = set(args.parts.split(","))
    if "tracking" in parts:
        tracking(args, s)
    if "slip" in parts:
        slip_sweep(args, s)
    if "kidnap" in parts:
        kidnapping(args, s)
    if "cost" in parts:
        cost(args, s)
    print(f"load average at end {load()}")
    return 0


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"


# ------------------------------------------------------------------------------ tracking
def tracking(args: argparse.Namespace, s: Setup) -> None:
    names = [*s.variants, "odometry"]
    pos: dict[str, list[np.ndarray]] = {n: [] for n in names}
    head: dict[str, list[np.ndarray]] = {n: [] for n in names}
    ms: dict[str, list[float]] = {n: [] for n in s.variants}
    print("## Tracking (3 routes x 5 seeds by default; errors at every scan)\n")
    print("| route | seed | driven m | " + " | ".join(
        f"{n} RMSE m | {n} max m" for n in names) + " | new not-OK share | contacts |")
    print("|---|---|---|" + "---|---|" * len(names) + "---|---|")
    for route_id in range(args.routes):
        path = make_route(s.planner, args.length, np.random.default_rng(100 + route_id))
        for seed in range(args.seeds):
            log, _ = run(s, path, seed=seed, duration_cap=args.length * 3)
            cells = []
            for n in names:
                p, h = errors(log, n)
                pos[n].append(p)
                head[n].append(h)
                cells.append(f"{rms(p):.3f} | {p.max():.2f}")
            for n in s.variants:
                ms[n] += log.tracks[n].update_ms
            first = next(iter(s.variants))
            hl = log.tracks[first].health
            bad = sum(h is not HealthState.OK for h in hl) / max(len(hl), 1)
            print(f"| {route_id} | {seed} | {log.distance:.0f} | " + " | ".join(cells)
                  + f" | {bad:.1%} | {log.contacts} |", flush=True)
    print("\n## Tracking (all runs)\n")
    print("| estimator | position RMSE m | p95 m | max m | heading RMSE ° | update median ms "
          "| update p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for n in names:
        p, h = np.concatenate(pos[n]), np.concatenate(head[n])
        cost_cells = (f"{np.median(ms[n]):.2f} | {np.percentile(ms[n], 95):.2f}" if n in ms
                      else "– | –")
        print(f"| {n} | {rms(p):.3f} | {np.percentile(p, 95):.3f} | {p.max():.2f} "
              f"| {math.degrees(rms(h)):.2f} | {cost_cells} |")
    print("\ntarget (new): RMSE ≤ 0.05 m, p95 ≤ 0.12 m, heading ≤ 1°. Update = the node loop's "
          "work per scan (predict every scan, weighting after update_min_d/update_min_a).\n",
          flush=True)


# ------------------------------------------------------------------------------ wheel slip
def straight_runs(path: Path, min_len: float = MIN_STRAIGHT) -> list[tuple[np.ndarray, float]]:
    """Maximal straight runs of the route graph's non-crosswalk edges at least ``min_len`` m
    long: (2, 2) end points [[x0, y0], [x1, y1]] (m) and the narrowest edge width on the run
    (m), in a stable order."""
    graph = load_route_graph(path)
    lines: dict[tuple[float, float], list[tuple[float, float, float]]] = {}
    axis: dict[tuple[float, float], np.ndarray] = {}
    for e in graph.edges.values():
        if e.crosswalk or len(e.points) != 2:
            continue
        (x0, y0), (x1, y1) = e.points
        u = np.array([x1 - x0, y1 - y0]) / math.hypot(x1 - x0, y1 - y0)
        if u[1] < -1e-9 or (abs(u[1]) <= 1e-9 and u[0] < 0):
            u = -u  # one direction per line
        off = round(float(u[0] * y0 - u[1] * x0), 2)
        a, b = sorted((float(u @ (x0, y0)), float(u @ (x1, y1))))
        key = (round(math.atan2(u[1], u[0]), 4), off)
        axis.setdefault(key, u)
        lines.setdefault(key, []).append((a, b, e.width))
    out = []
    for key, spans in sorted(lines.items()):
        u, off = axis[key], key[1]
        n = np.array([-u[1], u[0]])
        runs: list[list[float]] = []
        for a, b, width in sorted(spans):
            if runs and a <= runs[-1][1] + 1e-6:
                runs[-1][1] = max(runs[-1][1], b)
                runs[-1][2] = min(runs[-1][2], width)
            else:
                runs.append([a, b, width])
        for a, b, width in runs:
            if b - a >= min_len:
                out.append((np.array([a * u + off * n, b * u + off * n]), width))
    return out


def slip_sweep(args: argparse.Namespace, s: Setup) -> None:
    """40 % wheel slip for 10 s on every straight sidewalk (and the straight alleys and paths,
    reported apart), each way: the worst position error from the slip's start to the end of
    the run."""
    every = list(enumerate(straight_runs(ROOT / "maps" / args.world / "routes.geojson")))
    runs = every
    if args.sidewalks:
        runs = [every[int(i)] for i in args.sidewalks.split(",")]
    elif args.quick:
        runs = every[:2]
    dirs = (False, True) if args.slip_directions == "both" else (False,)
    names = [*s.variants, "odometry"]
    print(f"## Wheel slip ({SLIP:.0%} for {SLIP_FOR:.0f} s from t = {SLIP_AT:.0f} s, "
          f"{len(runs)} straight sidewalks ≥ {MIN_STRAIGHT:.0f} m x {len(dirs)} directions, "
          f"{'with' if args.slip_walkers else 'without'} the world's pedestrians)\n")
    print("| # | kind | from -> to | m | " + " | ".join(f"{n} worst m" for n in names)
          + " | new not-OK share in slip | contacts |")
    print("|---|---|---|---|" + "---|" * len(names) + "---|---|")
    worst: dict[str, dict[str, list[float]]] = {}
    for index, (ends, width) in runs:
        kind = "sidewalk" if width >= SIDEWALK_WIDTH - 1e-6 else "alley or path"
        for rev in dirs:
            a, b = (ends[1], ends[0]) if rev else (ends[0], ends[1])
            length = float(np.hypot(*(b - a)))
            steps = max(2, int(length / 0.25))
            path = a + np.linspace(0.0, 1.0, steps + 1)[:, None] * (b - a)
            fault = FaultSpec("wheel_slip", ROBOT, start=SLIP_AT, end=SLIP_AT + SLIP_FOR,
                              slip=SLIP)
            log, _ = run(s, path, seed=300 + 2 * index + rev, faults=(fault,),
                         duration_cap=length / V_MAX + 40.0, walkers=args.slip_walkers)
            cells = []
            for n in names:
                p, _ = errors(log, n, skip_t=SLIP_AT)
                worst.setdefault(kind, {}).setdefault(n, []).append(float(p.max()))
                cells.append(f"{p.max():.2f}")
            first = next(iter(s.variants))
            t = np.array(log.t)
            during = (t >= SLIP_AT) & (t < SLIP_AT + SLIP_FOR)
            hl = np.array(log.tracks[first].health, dtype=object)[during]
            bad = float(np.mean([h is not HealthState.OK for h in hl])) if hl.size else 0.0
            print(f"| {index} | {kind} | ({a[0]:.1f}, {a[1]:.1f}) -> ({b[0]:.1f}, {b[1]:.1f}) "
                  f"| {length:.0f} | " + " | ".join(cells) + f" | {bad:.0%} | {log.contacts} |",
                  flush=True)
    print("\n| runs | estimator | worst m | median of worst m | runs ≤ 0.5 m |")
    print("|---|---|---|---|---|")
    for kind, by_name in worst.items():
        for n in names:
            w = np.array(by_name[n])
            print(f"| {kind} | {n} | {w.max():.2f} | {np.median(w):.2f} "
                  f"| {int((w <= 0.5).sum())}/{w.size} |")
    print("\ntarget (new): worst ≤ 0.5 m on every straight sidewalk\n", flush=True)


# ------------------------------------------------------------------------------ kidnapping
def kidnapping(args: argparse.Namespace, s: Setup) -> None:
    print("## Kidnapping (teleport 50 m at t = 20 s)\n")
    print("| seed | " + " | ".join(f"{n} LOST after s | {n} re-localized after s"
                                  for n in s.variants) + " |")
    print("|---|" + "---|---|" * len(s.variants))
    passes = dict.fromkeys(s.variants, 0)
    for seed in range(args.kidnap_seeds):
        path = make_route(s.planner, 200.0, np.random.default_rng(500 + seed))
        log, tk = run(s, path, seed=50 + seed, duration_cap=45.0, kidnap=(20.0, s.planner))
        assert tk is not None
        t = np.array(log.t)
        after = t >= tk
        cells = []
        for n in s.variants:
            pos, _ = errors(log, n)
            lost = [ti for ti, h in zip(t, log.tracks[n].health, strict=True)
                    if ti >= tk and h is HealthState.LOST]
            t_lost = lost[0] - tk if lost else math.inf
            t_reloc = relocalized_after(t[after], pos[after], tk)
            passes[n] += t_lost <= 3.0 and t_reloc <= 15.0
            cells.append(f"{t_lost:.1f} | {t_reloc:.1f}")
        print(f"| {seed} | " + " | ".join(cells) + " |", flush=True)
    print("\n" + ", ".join(f"{n}: {passes[n]}/{args.kidnap_seeds}" for n in s.variants)
          + " seeds LOST within 3 s and re-localized (< 0.5 m for 1 s) within 15 s "
          "(target ≥ 9/10)\n", flush=True)


def relocalized_after(t: np.ndarray, pos: np.ndarray, tk: float, hold: float = 1.0) -> float:
    """Seconds from the kidnap until the error is < 0.5 m and stays so for ``hold`` s."""
    good = pos < 0.5
    for i in np.nonzero(good)[0]:
        window = (t >= t[i]) & (t < t[i] + hold)
        if good[window].all() and t[-1] >= t[i] + hold:
            return float(t[i] - tk)
    return math.inf


# ------------------------------------------------------------------------------ cost
def cost(args: argparse.Namespace, s: Setup) -> None:
    print("## Cost (predict + weighted scan update on every scan, recorded scans replayed)\n")
    print("Wall time (what a node sees on this shared machine) and the process's CPU time (less "
          "sensitive to the other jobs on it), median and p95 over the scans.\n")
    print("| particles | beams | " + " | ".join(
        f"{n} wall median / p95 ms | {n} CPU median / p95 ms" for n in s.variants) + " |")
    print("|---|---|" + "---|---|" * len(s.variants))
    frames = record_frames(s, n=40 if args.quick else 150)
    for n in (250, 500, 1000, 2000, 5000):
        for beams in ((72,) if n != 2000 else (60, 72, 90)):
            cells = []
            for params in s.variants.values():
                p = replace(params, min_particles=n, max_particles=n, max_beams=beams,
                            update_min_d=0.0, update_min_a=0.0)
                wall, cpu = replay_cost(s, p, frames)
                cells += [f"{np.median(wall):.2f} / {np.percentile(wall, 95):.2f}",
                          f"{np.median(cpu):.2f} / {np.percentile(cpu, 95):.2f}"]
            print(f"| {n} | {beams} | " + " | ".join(cells) + " |", flush=True)
    print()


def record_frames(s: Setup, n: int) -> list:
    """``n`` (odom_prev, odom, scan, truth) tuples from a drive, for cost replay."""
    path = make_route(s.planner, 150.0, np.random.default_rng(7))
    heading = math.atan2(path[3, 1] - path[0, 1], path[3, 0] - path[0, 0])
    start = Pose2D(float(path[0, 0]), float(path[0, 1]), heading)
    scen = Scenario(name="cost", world=Path("cost"), robots=(RobotStart(ROBOT, start),), seed=3)
    eng = SimEngine(s.world, s.model, scen, seed=3)
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
            prev = cur
        if fr.scan is not None:
            frames.append((prev, cur, fr.scan, fr.truth))
            prev = cur
    return frames


def replay_cost(s: Setup, params: LocalizationParams,
                frames: list) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of predict + update_scan for each replayed frame."""
    pf = ParticleFilter(s.grid, params, np.random.default_rng(0), field=s.field)
    tr = frames[0][3]
    pf.init_pose(Pose2D(tr.x, tr.y, tr.theta), np.diag([0.02, 0.02, 0.005]))
    wall, cpu = [], []
    for prev, cur, scan, _ in frames:
        t0, c0 = time.perf_counter(), time.process_time()
        pf.predict(prev, cur)
        pf.update_scan(scan.ranges, scan.angle_min, scan.angle_increment, scan.range_min,
                       scan.range_max, s.mount, scan.stamp)
        wall.append(1000.0 * (time.perf_counter() - t0))
        cpu.append(1000.0 * (time.process_time() - c0))
    return wall[3:], cpu[3:]


if __name__ == "__main__":
    sys.exit(main())
