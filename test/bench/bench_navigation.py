"""Navigation benchmark in the headless simulator on suwon_dawn: entrance-to-entrance trips,
pedestrians crossing the path, and a blocked sidewalk, with NavigatorCore + SpeedGovernor at 10 Hz.

``python test/bench/bench_navigation.py [--quick] [--trips N] [--localization]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for pkg in ("dawnpatrol_core", "dawnpatrol_fleet", "dawnpatrol_sim"):
    sys.path.insert(0, str(ROOT / "src" / pkg))

from dawnpatrol_core.control.navigator import NavigatorCore  # noqa: E402
from dawnpatrol_core.geometry import Pose2D  # noqa: E402
from dawnpatrol_core.localization.health import HealthState  # noqa: E402
from dawnpatrol_core.localization.likelihood_field import LikelihoodField  # noqa: E402
from dawnpatrol_core.localization.loop import LocalizationLoop  # noqa: E402
from dawnpatrol_core.maps.district import DistrictMap, load_district_map  # noqa: E402
from dawnpatrol_core.planning.grid_planner import GridPlanner  # noqa: E402
from dawnpatrol_core.planning.route_search import RoutePlanner  # noqa: E402
from dawnpatrol_core.world import RobotModel, World, load_robot_model, load_world  # noqa: E402
from dawnpatrol_sim.engine import SimEngine  # noqa: E402
from dawnpatrol_sim.headless_shift import (  # noqa: E402
    ShiftSettings,
    drive_tick,
    make_drive,
    make_localizer,
    read_sensors,
)
from dawnpatrol_sim.scenario import ObstacleSpec, PersonSpec, RobotStart, Scenario  # noqa: E402

ROBOT = "r1"
CONTROL_DT = 0.1  # s, 10 Hz
GOAL_TOL = 0.25  # m


@dataclass
class Setup:
    """Everything shared by the runs: world, robot model, map and the (stateless) planners."""

    world: World
    model: RobotModel
    dm: DistrictMap
    routes: RoutePlanner
    grid: GridPlanner
    localization: bool
    settings: ShiftSettings  # params/*.yaml as the nodes read them (localization, lost timeout)
    field: LikelihoodField | None = None


@dataclass
class Trip:
    """Outcome of one run."""

    name: str
    status: str = ""
    error: float = math.inf  # m, final ground-truth distance to the goal
    sim_time: float = 0.0  # s
    distance: float = 0.0  # m driven (ground truth)
    static_contacts: int = 0
    other_contacts: list[str] = field(default_factory=list)
    keepout_entries: int = 0
    over_limit: int = 0  # 10 Hz ground-truth samples above the zone speed limit
    max_over: float = 0.0  # m/s, worst excess
    loc_err: list[float] = field(default_factory=list)
    lost_s: float = 0.0  # s of sim time localization reported LOST (the robot stood still)
    events: list[tuple[float, str]] = field(default_factory=list)
    wall: float = 0.0

    @property
    def reached(self) -> bool:
        return self.status == "succeeded" and self.error <= GOAL_TOL


def make_navigator(s: Setup) -> NavigatorCore:
    """The navigator node's core on params/navigator.yaml."""
    return s.settings.navigator.navigator(s.dm, routes=s.routes, grid=s.grid)


def localizer(s: Setup, start: Pose2D, seed: int) -> LocalizationLoop | None:
    """The localization node's loop with params/localization.yaml, started at ``start`` (1-sigma
    0.1 m, 0.055 rad); None for ground truth."""
    if not s.localization:
        return None
    settings = replace(s.settings, initial_std=(0.1, math.sqrt(0.003)))
    return make_localizer(s.dm, settings, start, np.random.default_rng(seed + 7), s.field)


def run(s: Setup, name: str, start: Pose2D, goal: Pose2D, seed: int,
        people: tuple[PersonSpec, ...] = (), obstacles: tuple[ObstacleSpec, ...] = (),
        cap: float | None = None) -> Trip:
    """Drive from ``start`` to ``goal`` in a fresh simulation as the navigator node does (it
    stands still while localization is LOST); measure on ground truth."""
    t_wall = time.perf_counter()
    scen = Scenario(name=name, world=Path("bench"), robots=(RobotStart(ROBOT, start),), seed=seed,
                    people=people, obstacles=obstacles)
    eng = SimEngine(s.world, s.model, scen, seed=seed)
    loc = localizer(s, start, seed)
    drive = make_drive(s.dm, s.settings, loc is not None, s.routes, s.grid)
    nav = drive.nav
    trip = Trip(name)
    drive.pose_in(start, 0.0, 0.0)
    refused = drive.start(0.0, [goal])
    if refused is not None:
        trip.status, trip.events = f"rejected: {refused.reason}", list(nav.events)
        return trip
    route_len = float(np.sum(np.hypot(*np.diff(nav.path, axis=0).T)))
    cap = cap or 2.5 * route_len / 1.0 + 60.0
    steps = max(1, int(round(CONTROL_DT / eng.dt)))
    pose, scan, scan_t = start, None, -math.inf
    allowed = True
    last = start
    while eng.now < cap:
        lost = loc is not None and loc.estimate.health is HealthState.LOST
        v, w = drive_tick(drive, loc, eng.now, scan if eng.now - scan_t < 0.5 else None)
        if not drive.active:
            trip.status = "succeeded" if drive.last is not None and drive.last.ok else "failed"
            break
        for _ in range(steps):
            eng.step({ROBOT: (v, w)})
            pose, new = read_sensors(eng, ROBOT, loc, eng.now)
            drive.pose_in(pose, eng.now, eng.now)
            if new is not None:
                scan, scan_t = new, eng.now
        tr = eng.sensors(ROBOT).truth
        trip.distance += math.hypot(tr.x - last.x, tr.y - last.y)
        last = Pose2D(tr.x, tr.y, tr.theta)
        over = abs(tr.v) - s.dm.speed_limit_at(tr.x, tr.y)
        if over > 1e-6:
            trip.over_limit += 1
            trip.max_over = max(trip.max_over, over)
        ok = s.dm.is_allowed(tr.x, tr.y)
        trip.keepout_entries += int(allowed and not ok)
        allowed = ok
        if loc is not None:
            trip.loc_err.append(math.hypot(pose.x - tr.x, pose.y - tr.y))
            trip.lost_s += CONTROL_DT * lost
    else:
        trip.status = "timeout"
    # let the robot settle (the last command may still be ramping down)
    for _ in range(10):
        eng.step({ROBOT: (0.0, 0.0)})
    tr = eng.pose(ROBOT)
    trip.error = math.hypot(tr.x - goal.x, tr.y - goal.y)
    trip.sim_time = eng.now
    for c in eng.contacts:
        if c.what == "static":
            trip.static_contacts += 1
        else:
            trip.other_contacts.append(c.what)
    trip.events = list(nav.events)
    trip.wall = time.perf_counter() - t_wall
    return trip


# ------------------------------------------------------------------------------ scenarios
def random_trips(s: Setup, n: int, seed: int) -> list[Trip]:
    rng = np.random.default_rng(seed)
    ids = sorted(s.dm.addresses)
    out = []
    for k in range(n):
        a, b = rng.choice(len(ids), size=2, replace=False)
        start, goal = s.dm.address_pose(ids[a]), s.dm.address_pose(ids[b])
        t = run(s, f"{ids[a]} -> {ids[b]}", start, goal, seed=seed * 1000 + k)
        out.append(t)
        print(f"  trip {k + 1:2d}/{n}: {t.name:16s} {t.status:9s} err {t.error:5.2f} m  "
              f"{t.distance:6.1f} m in {t.sim_time:6.1f} s  (wall {t.wall:4.1f} s)",
              file=sys.stderr)
    return out


def point_on(path: np.ndarray, s_along: float) -> tuple[np.ndarray, np.ndarray]:
    """Point (2,) at arc length ``s_along`` (m) of an (N, 2) path and the unit tangent there."""
    cum = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))))
    s_along = min(s_along, float(cum[-1]) - 0.5)
    p = np.array([np.interp(s_along, cum, path[:, 0]), np.interp(s_along, cum, path[:, 1])])
    q = np.array([np.interp(s_along + 0.5, cum, path[:, 0]),
                  np.interp(s_along + 0.5, cum, path[:, 1])])
    d = q - p
    return p, d / max(float(np.linalg.norm(d)), 1e-9)


def long_trip(s: Setup) -> tuple[Pose2D, Pose2D, np.ndarray]:
    """The pair of entrances with the longest planned route among a fixed sample: the stage for
    the people and blockage scenarios."""
    ids = sorted(s.dm.addresses)
    a, b = s.dm.address_pose(ids[0]), s.dm.address_pose(ids[len(ids) // 2])
    nav = make_navigator(s)
    nav.set_goal(0.0, a, b)
    return a, b, nav.path


def pedestrians(s: Setup, seed: int) -> Trip:
    """Three people cross the robot's path slowly just as it arrives (timed for ~1 m/s)."""
    a, b, path = long_trip(s)
    people = []
    for k, along in enumerate((20.0, 45.0, 70.0)):
        p, d = point_on(path, along)
        n = np.array([-d[1], d[0]])
        w0, w1 = p + 4.0 * n, p - 4.0 * n
        speed = 0.5
        people.append(PersonSpec(f"crosser_{k}", "walker",
                                 ((float(w0[0]), float(w0[1])), (float(w1[0]), float(w1[1]))),
                                 speed=speed, start=max(0.0, along / 1.1 - 4.0 / speed + 1.0)))
    return run(s, "pedestrians crossing", a, b, seed, people=tuple(people))


def blocked(s: Setup, seed: int, full: bool) -> Trip:
    """A box across the sidewalk 30 m ahead (not in the map): partly (detour) or fully
    (reroute through the graph)."""
    a, b, path = long_trip(s)
    p, d = point_on(path, 30.0)
    width = 12.0 if full else 1.0
    offset = 0.0 if full else 0.8  # partial: cones on half the sidewalk
    n = np.array([-d[1], d[0]])
    c = p + offset * n
    box = ObstacleSpec("cones", 0.0, (float(c[0]), float(c[1])), (1.0, width),
                       float(math.atan2(d[1], d[0])))
    return run(s, "blocked sidewalk (" + ("full" if full else "partial") + ")", a, b, seed,
               obstacles=(box,))


# ------------------------------------------------------------------------------ report
def summary(trips: list[Trip], label: str) -> None:
    n = len(trips)
    reached = sum(t.reached for t in trips)
    errs = np.array([t.error for t in trips if t.status == "succeeded"])
    print(f"## {label}\n")
    print("| metric | value |\n|---|---|")
    print(f"| trips | {n} |")
    print(f"| reached goal within {GOAL_TOL} m | {reached}/{n} ({100.0 * reached / n:.0f} %) |")
    if len(errs):
        print(f"| final error median / max (m) | {np.median(errs):.3f} / {errs.max():.3f} |")
    print(f"| contacts with static geometry | {sum(t.static_contacts for t in trips)} |")
    print(f"| other contacts (people, obstacles) | {sum(len(t.other_contacts) for t in trips)} |")
    print(f"| keep-out / operating-area entries | {sum(t.keepout_entries for t in trips)} |")
    over = sum(t.over_limit for t in trips)
    samples = sum(int(t.sim_time / CONTROL_DT) for t in trips)
    print(f"| samples above zone speed limit | {over} of {samples} "
          f"(worst +{max((t.max_over for t in trips), default=0):.3f} m/s) |")
    print(f"| distance driven (m) | {sum(t.distance for t in trips):.0f} |")
    print(f"| sim time (s) / wall (s) | {sum(t.sim_time for t in trips):.0f} / "
          f"{sum(t.wall for t in trips):.0f} |")
    loc = [e for t in trips for e in t.loc_err]
    if loc:
        print(f"| localization error median / p95 / max (m) | {np.median(loc):.3f} / "
              f"{np.percentile(loc, 95):.3f} / {max(loc):.2f} |")
        print(f"| LOST, standing still (s) | {sum(t.lost_s for t in trips):.1f} |")
    bad = [t for t in trips if not t.reached]
    if bad:
        print("\nNot reached: " + "; ".join(
            f"{t.name} ({t.status}, {t.error:.2f} m, last: {t.events[-1][1] if t.events else ''})"
            for t in bad))
    print()


def scenario_row(t: Trip) -> str:
    waits = sum("stopped: obstacle" in e for _, e in t.events)
    resumes = sum(e == "resumed" for _, e in t.events)
    reports = [e for _, e in t.events if "blocked" in e or "recovery" in e]
    return (f"| {t.name} | {t.status} | {t.error:.2f} | {t.static_contacts} | "
            f"{len(t.other_contacts)} | {waits} / {resumes} | "
            f"{'; '.join(reports) or '-'} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="5 trips instead of 50")
    ap.add_argument("--trips", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--localization", action="store_true",
                    help="pose from the particle filter instead of ground truth")
    args = ap.parse_args()
    if args.quick:
        args.trips = 5
    t0 = time.perf_counter()
    world = load_world(ROOT / "sim" / "worlds" / "suwon_dawn.sdf")
    model = load_robot_model(ROOT / "sim" / "models" / "dawnbot" / "model.sdf")
    dm = load_district_map(ROOT / "maps" / "suwon_dawn")
    settings = ShiftSettings.from_params(ROOT / "params")
    s = Setup(world, model, dm, settings.navigator.route_planner(dm),
              settings.navigator.grid_planner(dm), args.localization, settings)
    if args.localization:
        p = settings.localization
        s.field = LikelihoodField.from_grid(dm.grid, p.z_hit, p.z_rand, p.sigma_hit,
                                            p.laser_max_range, p.likelihood_max_dist)
    pose = "particle filter" if args.localization else "ground truth"
    print(f"# Navigation benchmark — suwon_dawn, headless, control 10 Hz, pose from {pose}\n")
    print(f"set-up {time.perf_counter() - t0:.1f} s; {len(dm.addresses)} entrances, "
          f"{len(dm.graph.edges)} route edges; world actors walking\n")
    trips = random_trips(s, args.trips, args.seed)
    summary(trips, f"{args.trips} random entrance-to-entrance trips")
    print("## Scenarios\n")
    print("| scenario | result | final error (m) | static contacts | other contacts | "
          "stops / resumes | reported |")
    print("|---|---|---|---|---|---|---|")
    for t in (pedestrians(s, 11), blocked(s, 12, full=False), blocked(s, 13, full=True)):
        print(scenario_row(t))
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
