"""Social-navigation benchmark: the shipped navigator among people who react (social forces), on
suwon_dawn's sidewalk corridors over a sweep of crowd densities and in four scenes (crossing in
the park, overtaking, an oncoming group, oncoming people in a narrow alley). Every episode is run
twice in the same process: with the shipped navigator and with the baseline (the same navigator
with mover prediction off — no passing offset, no stopping short of where people will be).

Metrics per episode, on ground truth: success (goal within 0.25 m before the time cap), contacts
split by who moved into whom (the robot's footprint moving towards the person, or the person
walking into a robot that stood or moved away), the least gap between the robot's footprint and a
person's body (0 = touching), time with a gap under 0.45 m (intimate) and under 1.2 m (personal,
Hall's zones measured body to body), driven length over the straight start-goal line, time to
goal, and the RMS jerk of the forward speed.

``python test/bench/bench_social_nav.py [--quick] [--per-density N] [--per-scene N] [--jobs J]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for pkg in ("dawnpatrol_core", "dawnpatrol_fleet", "dawnpatrol_sim"):
    sys.path.insert(0, str(ROOT / "src" / pkg))

from dawnpatrol_core.control.goal_runner import GoalRunner  # noqa: E402
from dawnpatrol_core.control.navigator import NavigatorCore  # noqa: E402
from dawnpatrol_core.geometry import Pose2D  # noqa: E402
from dawnpatrol_core.maps.district import DistrictMap, load_district_map  # noqa: E402
from dawnpatrol_core.planning.grid_planner import GridPlanner  # noqa: E402
from dawnpatrol_core.planning.route_search import RoutePlanner  # noqa: E402
from dawnpatrol_core.world import RobotModel, World, load_robot_model, load_world  # noqa: E402
from dawnpatrol_sim.engine import SimEngine  # noqa: E402
from dawnpatrol_sim.engine.social import footprint_gaps, walking_speeds  # noqa: E402
from dawnpatrol_sim.headless_shift import ShiftSettings, read_sensors  # noqa: E402
from dawnpatrol_sim.scenario import PersonSpec, RobotStart, Scenario, load_scenario  # noqa: E402

ROBOT = "r1"
CONTROL_DT = 0.1  # s
GOAL_TOL = 0.25  # m
DENSITIES = (0.05, 0.1, 0.2, 0.3)  # people per m^2 of sidewalk
SCENES = ("crossing", "overtaking", "group", "narrow alley")
CORRIDOR_LEN = 30.0  # m
EXTEND = 8.0  # m of sidewalk beyond each end where the crowd also walks
INTIMATE, PERSONAL = 0.45, 1.2  # m, body to body


@dataclass(frozen=True)
class Stage:
    world: World
    model: RobotModel
    dm: DistrictMap
    routes: RoutePlanner
    grid: GridPlanner
    settings: ShiftSettings  # params/*.yaml as the nodes read them


@dataclass(frozen=True)
class Episode:
    kind: str  # "density" or a scene name
    density: float
    seed: int
    start: Pose2D
    goal: Pose2D
    people: tuple[PersonSpec, ...]

    @property
    def label(self) -> str:
        return f"density {self.density:.2f}" if self.kind == "density" else self.kind


@dataclass
class Result:
    label: str
    variant: str
    seed: int
    people: int
    success: bool = False
    status: str = ""
    robot_contacts: int = 0  # the robot moved into a person
    person_contacts: int = 0  # a person walked into a standing (or retreating) robot
    other_contacts: int = 0  # static geometry, obstacles
    min_gap: float = math.inf  # m
    t_intimate: float = 0.0  # s with a gap < 0.45 m
    t_personal: float = 0.0  # s with a gap < 1.2 m
    path_ratio: float = math.nan
    time_to_goal: float = math.nan  # s
    jerk_rms: float = math.nan  # m/s^3
    sim_time: float = 0.0
    wall: float = 0.0
    contacts: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------ the stage
def load_stage() -> Stage:
    world = load_world(ROOT / "sim" / "worlds" / "suwon_dawn.sdf")
    model = load_robot_model(ROOT / "sim" / "models" / "dawnbot" / "model.sdf")
    dm = load_district_map(ROOT / "maps" / "suwon_dawn")
    settings = ShiftSettings.from_params(ROOT / "params", pose_source="ground_truth")
    p = settings.navigator
    return Stage(world, model, dm, p.route_planner(dm), p.grid_planner(dm), settings)


def corridors(dm: DistrictMap, length: float = CORRIDOR_LEN) -> list[tuple[np.ndarray, np.ndarray,
                                                                          float]]:
    """Straight sidewalk runs of ``length`` m on the route graph (not crosswalks, >= 3 m wide):
    (start (2,), unit direction (2,), width m), one per run and direction."""
    g = dm.graph
    out: list[tuple[np.ndarray, np.ndarray, float]] = []
    seen: set[tuple[int, int, int, int]] = set()
    for e in sorted(g.edges.values(), key=lambda e: e.id):
        if e.crosswalk or e.width < 3.0:
            continue
        a, b = g.nodes[e.start], g.nodes[e.end]
        d = np.array([b.x - a.x, b.y - a.y])
        d /= max(float(np.linalg.norm(d)), 1e-9)
        total, cur, width, prev = e.length, e.end, e.width, e.start
        while total < length + 4.0:
            nxt = None
            for k in g.out_edges.get(cur, ()):
                f = g.edges[k]
                if f.crosswalk or f.width < 3.0 or f.end == prev:
                    continue
                p, q = g.nodes[f.start], g.nodes[f.end]
                fd = np.array([q.x - p.x, q.y - p.y]) / max(f.length, 1e-9)
                if float(fd @ d) > 0.999:
                    nxt = f
                    break
            if nxt is None:
                break
            total += nxt.length
            width = min(width, nxt.width)
            prev, cur = cur, nxt.end
        if total < length + 4.0:
            continue
        s = np.array([a.x, a.y]) + 2.0 * d  # start 2 m in: not on a junction
        key = (round(s[0] / 5), round(s[1] / 5), round(d[0]), round(d[1]))
        if key in seen:
            continue
        seen.add(key)
        out.append((s, d, width))
    return out


def pose_at(p: np.ndarray, d: np.ndarray) -> Pose2D:
    return Pose2D(float(p[0]), float(p[1]), math.atan2(float(d[1]), float(d[0])))


def pt(p: np.ndarray) -> tuple[float, float]:
    return (float(p[0]), float(p[1]))


def density_episode(c: tuple[np.ndarray, np.ndarray, float], density: float,
                    seed: int) -> Episode:
    """People walking both ways along the corridor (and ``EXTEND`` m beyond it), spread along it,
    at ``density`` people per m^2 of sidewalk."""
    s, d, width = c
    n = np.array([-d[1], d[0]])
    rng = np.random.default_rng(seed)
    a, b = s - EXTEND * d, s + (CORRIDOR_LEN + EXTEND) * d
    span = CORRIDOR_LEN + 2 * EXTEND
    count = int(round(density * span * width))
    half = width / 2.0 - 0.35
    people = []
    speeds = walking_speeds(rng, count)
    for k in range(count):
        while True:
            at = float(rng.uniform(0.0, span))
            if abs(at - EXTEND) > 2.5 and abs(at - EXTEND - CORRIDOR_LEN) > 1.5:
                break  # nobody starts on the robot or on its goal
        lat = float(rng.uniform(-half, half))
        p0 = a + at * d + lat * n
        ends = (a + lat * n, b + lat * n)
        if rng.uniform() < 0.5:
            ends = ends[::-1]
        people.append(PersonSpec(f"p{k}", "walker", (pt(p0), pt(ends[0]), pt(ends[1])),
                                 speed=float(speeds[k]), loop=True))
    return Episode("density", density, seed, pose_at(s, d), pose_at(s + CORRIDOR_LEN * d, d),
                   tuple(people))


def scene_episode(stage: Stage, cs: list[tuple[np.ndarray, np.ndarray, float]], scene: str,
                  seed: int) -> Episode:
    rng = np.random.default_rng(seed)
    people: list[PersonSpec] = []
    if scene == "crossing":
        # the park's east-west path (y = 105): people cross it north-south as the robot arrives
        s, d = np.array([112.0, 105.0]), np.array([1.0, 0.0])
        n = np.array([0.0, 1.0])
        for k in range(4):
            along = 6.0 + 6.0 * k + float(rng.uniform(-1.0, 1.0))
            side = 1.0 if rng.uniform() < 0.5 else -1.0
            v = float(walking_speeds(rng, 1)[0])
            w0, w1 = s + along * d + side * 6.0 * n, s + along * d - side * 6.0 * n
            t_meet = along / 1.0  # the robot at ~1 m/s
            start = max(0.0, t_meet - 6.0 / v + float(rng.uniform(-1.5, 1.5)))
            people.append(PersonSpec(f"crosser{k}", "walker", (pt(w0), pt(w1)), speed=v,
                                     start=start))
        return Episode(scene, 0.0, seed, pose_at(s, d), pose_at(s + CORRIDOR_LEN * d, d),
                       tuple(people))
    c = cs[int(rng.integers(len(cs)))]
    s, d, width = c
    n = np.array([-d[1], d[0]])
    if scene == "overtaking":
        # slow walkers ahead going the robot's way, a jogger catching up from behind
        for k in range(3):
            at = 5.0 + 7.0 * k + float(rng.uniform(-1.0, 1.0))
            lat = float(rng.uniform(-0.8, 0.8))
            p0 = s + at * d + lat * n
            p1 = s + (CORRIDOR_LEN + 10.0) * d + lat * n
            people.append(PersonSpec(f"slow{k}", "walker", (pt(p0), pt(p1)),
                                     speed=float(rng.uniform(0.5, 0.8))))
        lat = float(rng.uniform(-0.5, 0.5))
        people.append(PersonSpec("jogger", "walker", (pt(s - 12.0 * d + lat * n),
                                                      pt(s + (CORRIDOR_LEN + 10.0) * d + lat * n)),
                                 speed=float(rng.uniform(2.4, 3.0)),
                                 start=float(rng.uniform(2.0, 8.0))))
    elif scene == "group":
        # four friends walking side by side towards the robot
        v = float(rng.uniform(1.0, 1.3))
        at = CORRIDOR_LEN + float(rng.uniform(0.0, 6.0))
        lat0 = float(rng.uniform(-0.4, 0.4))
        for k, (dl, da) in enumerate(((-0.45, 0.0), (0.45, 0.0), (-0.45, 1.0), (0.45, 1.0))):
            p0 = s + (at + da) * d + (lat0 + dl) * n
            p1 = s - 10.0 * d + (lat0 + dl) * n
            people.append(PersonSpec(f"group{k}", "walker", (pt(p0), pt(p1)), speed=v))
    elif scene == "narrow alley":
        # the 2.5 m alley between 104 and 105: people in single file coming the other way
        s, d, n = np.array([251.25, 33.0]), np.array([0.0, 1.0]), np.array([-1.0, 0.0])
        for k in range(3):
            at = 22.0 + 3.5 * k + float(rng.uniform(0.0, 1.5))
            lat = float(rng.uniform(-0.5, 0.5))
            people.append(PersonSpec(f"alley{k}", "walker",
                                     (pt(s + at * d + lat * n), pt(s - 6.0 * d + lat * n)),
                                     speed=float(walking_speeds(rng, 1)[0])))
        return Episode(scene, 0.0, seed, pose_at(s, d), pose_at(s + 27.0 * d, d), tuple(people))
    return Episode(scene, 0.0, seed, pose_at(s, d), pose_at(s + CORRIDOR_LEN * d, d),
                   tuple(people))


# ------------------------------------------------------------------------------ one run
def navigator(stage: Stage, variant: str) -> NavigatorCore:
    nav = stage.settings.navigator.navigator(stage.dm, routes=stage.routes, grid=stage.grid)
    if variant == "baseline":
        nav = NavigatorCore(nav.routes, nav.grid, nav.zones, nav.governor,
                            replace(nav.config, predict_movers=False))
    elif variant == "give-way":  # a candidate: the shipped one with give_way on
        nav = NavigatorCore(nav.routes, nav.grid, nav.zones, nav.governor,
                            replace(nav.config, give_way=True))
    elif variant != "shipped":
        raise SystemExit(f"bench_social_nav: --variants: got {variant!r}, expected shipped, "
                         "baseline or give-way")
    return nav


def run(stage: Stage, ep: Episode, variant: str) -> Result:
    t_wall = time.perf_counter()
    res = Result(ep.label, variant, ep.seed, len(ep.people))
    scen = Scenario(name=ep.label, world=Path("bench"), robots=(RobotStart(ROBOT, ep.start),),
                    seed=ep.seed, world_actors=False, people=ep.people)
    eng = SimEngine(stage.world, stage.model, scen, seed=ep.seed)
    nav = navigator(stage, variant)
    drive = GoalRunner(nav, None, stage.settings.navigator.pose_timeout_s)  # ground truth
    drive.pose_in(ep.start, 0.0, 0.0)
    refused = drive.start(0.0, [ep.goal])
    if refused is not None:
        res.status = f"rejected: {refused.reason}"
        return res
    straight = math.hypot(ep.goal.x - ep.start.x, ep.goal.y - ep.start.y)
    cap = 3.0 * straight + 40.0
    steps = max(1, int(round(CONTROL_DT / eng.dt)))
    hl, hw = stage.model.footprint_length / 2.0, stage.model.footprint_width / 2.0
    pose, scan, scan_t = ep.start, None, -math.inf
    last = ep.start
    dist = 0.0
    speeds: list[float] = []
    while eng.now < cap:
        t = drive.tick(eng.now, scan if eng.now - scan_t < 0.5 else None)
        if t.result is not None:
            break
        for _ in range(steps):
            eng.step({ROBOT: (t.v, t.w)})
            pose, new = read_sensors(eng, ROBOT, None, eng.now)
            drive.pose_in(pose, eng.now, eng.now)
            if new is not None:
                scan, scan_t = new, eng.now
        tr = eng.sensors(ROBOT).truth
        dist += math.hypot(tr.x - last.x, tr.y - last.y)
        last = Pose2D(tr.x, tr.y, tr.theta)
        speeds.append(tr.v)
        _, xy, on = eng.people()
        if on.any():
            body = np.array([[tr.x, tr.y, tr.theta, 0.0, hl, hw]])
            _, gap = footprint_gaps(xy[on], body, 0.0)
            g = max(float(gap.min()), 0.0)
            res.min_gap = min(res.min_gap, g)
            res.t_intimate += CONTROL_DT * (g < INTIMATE)
            res.t_personal += CONTROL_DT * (g < PERSONAL)
    end = None if drive.active else drive.last
    ok = end is not None and end.ok
    res.status = ("succeeded" if ok else f"failed: {end.reason}") if end else "timeout"
    tr = eng.pose(ROBOT)
    err = math.hypot(tr.x - ep.goal.x, tr.y - ep.goal.y)
    res.success = ok and err <= GOAL_TOL
    res.sim_time = eng.now
    if res.success:
        res.time_to_goal = eng.now
        res.path_ratio = dist / max(straight, 1e-9)
    if len(speeds) > 2:
        jerk = np.diff(np.asarray(speeds), n=2) / CONTROL_DT**2
        res.jerk_rms = float(np.sqrt(np.mean(jerk**2)))
    for c in eng.contacts:
        if c.what.startswith("person:"):
            if c.by == "robot":
                res.robot_contacts += 1
            else:
                res.person_contacts += 1
            res.contacts.append(f"{c.what} by {c.by} at {c.time:.1f} s")
        else:
            res.other_contacts += 1
            res.contacts.append(f"{c.what} at {c.time:.1f} s")
    res.wall = time.perf_counter() - t_wall
    return res


# ------------------------------------------------------------------------------ the sweep
_STAGE: Stage | None = None


def _work(job: tuple[Episode, str]) -> Result:
    global _STAGE
    if _STAGE is None:
        _STAGE = load_stage()
    return run(_STAGE, *job)


def episodes(stage: Stage, per_density: int, per_scene: int, seed: int) -> list[Episode]:
    cs = corridors(stage.dm)
    eps = []
    for j, dens in enumerate(DENSITIES):
        for k in range(per_density):
            c = cs[(k * 7 + j * 3) % len(cs)]
            eps.append(density_episode(c, dens, seed * 10_000 + j * 1000 + k))
    for j, scene in enumerate(SCENES):
        for k in range(per_scene):
            eps.append(scene_episode(stage, cs, scene, seed * 10_000 + 5000 + j * 100 + k))
    # round robin over the densities and scenes: a run cut short still covers all of them
    groups: dict[str, list[Episode]] = {}
    for ep in eps:
        groups.setdefault(ep.label, []).append(ep)
    out: list[Episode] = []
    for k in range(max(per_density, per_scene)):
        out += [g[k] for g in groups.values() if k < len(g)]
    return out


def suwon_density(stage: Stage) -> tuple[float, int, float]:
    """People per m^2 of sidewalk in the demo shift: the world's walking actors and the dawn
    shift's walkers over the route network's area (each edge once, its width)."""
    sc = load_scenario(ROOT / "sim" / "scenarios" / "dawn_shift.yaml")
    n = sum(1 for a in stage.world.actors if len(list(a.waypoints)) > 1)
    n += sum(1 for p in sc.people if p.type in ("walker", "intruder", "loiterer", "waiting"))
    area = sum(e.length * e.width for e in stage.dm.graph.edges.values()) / 2.0
    return n / area, n, area


def table(results: list[Result], labels: list[str]) -> None:
    print("| episodes | variant | n | success | robot→person | person→robot | other contacts | "
          "min gap median / min (m) | < 0.45 m (s/trip) | < 1.2 m (s/trip) | path ratio | "
          "time to goal (s) | jerk RMS (m/s³) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label in labels + ["all"]:
        for variant in ("shipped", "baseline", "give-way"):
            rs = [r for r in results if r.variant == variant and (label == "all"
                                                                  or r.label == label)]
            if not rs:
                continue
            ok = [r for r in rs if r.success]
            gaps = [r.min_gap for r in rs if math.isfinite(r.min_gap)]

            def med(xs: list[float]) -> str:
                xs = [x for x in xs if math.isfinite(x)]
                return f"{np.median(xs):.2f}" if xs else "-"

            name = f"**{label}**" if label == "all" else label
            print(f"| {name} | {variant} | {len(rs)} | {len(ok)}/{len(rs)} "
                  f"({100.0 * len(ok) / len(rs):.0f} %) | {sum(r.robot_contacts for r in rs)} | "
                  f"{sum(r.person_contacts for r in rs)} | {sum(r.other_contacts for r in rs)} | "
                  f"{med(gaps)} / {min(gaps) if gaps else math.nan:.2f} | "
                  f"{np.mean([r.t_intimate for r in rs]):.1f} | "
                  f"{np.mean([r.t_personal for r in rs]):.1f} | "
                  f"{med([r.path_ratio for r in ok])} | {med([r.time_to_goal for r in ok])} | "
                  f"{med([r.jerk_rms for r in rs])} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="2 episodes per density and scene")
    ap.add_argument("--per-density", type=int, default=15)
    ap.add_argument("--per-scene", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--variants", default="shipped,baseline",
                    help="comma list of shipped, baseline, give-way")
    ap.add_argument("--jsonl", type=Path, default=None,
                    help="append every result to this file as it comes")
    ap.add_argument("--summarize", type=Path, default=None,
                    help="only print the tables of the results in this JSONL file")
    args = ap.parse_args()
    if args.summarize is not None:
        rows = [Result(**json.loads(line)) for line in
                args.summarize.read_text(encoding="utf-8").splitlines() if line.strip()]
        labels = [f"density {d:.2f}" for d in DENSITIES] + list(SCENES)
        print(f"{len(rows)} runs from {args.summarize.name}\n")
        table(rows, labels)
        return 0
    if args.quick:
        args.per_density = args.per_scene = 2
    t0, c0 = time.perf_counter(), time.process_time()
    stage = load_stage()
    eps = episodes(stage, args.per_density, args.per_scene, args.seed)
    variants = args.variants.split(",")
    jobs = [(ep, v) for ep in eps for v in variants]
    dens, n_people, area = suwon_density(stage)
    print("# Social navigation — suwon_dawn, headless, reacting pedestrians, control 10 Hz, "
          "ground-truth pose\n")
    print(f"{len(eps)} episodes × {len(variants)} navigators; {len(corridors(stage.dm))} "
          f"straight {CORRIDOR_LEN:.0f} m sidewalk corridors; the demo shift's density: "
          f"{n_people} people on {area:.0f} m² of sidewalk = {dens:.4f} people/m²\n",
          flush=True)
    results: list[Result] = []
    if args.jobs > 1:
        with mp.get_context("fork").Pool(args.jobs) as pool:
            for r in pool.imap(_work, jobs):
                results.append(r)
                _progress(r, len(results), len(jobs))
                _save(args.jsonl, r)
    else:
        for job in jobs:
            r = run(stage, *job)
            results.append(r)
            _progress(r, len(results), len(jobs))
            _save(args.jsonl, r)
    labels = [f"density {d:.2f}" for d in DENSITIES] + list(SCENES)
    table(results, labels)
    bad = [r for r in results if not r.success or r.robot_contacts or r.person_contacts]
    if bad:
        print("\nNot reached or touched:\n")
        for r in bad:
            print(f"- {r.variant} {r.label} seed {r.seed} ({r.people} people): {r.status}; "
                  f"{', '.join(r.contacts) or 'no contact'}")
    sim = sum(r.sim_time for r in results)
    load = os.getloadavg()
    print(f"\n{sim:.0f} s simulated; wall {time.perf_counter() - t0:.0f} s, CPU of this process "
          f"{time.process_time() - c0:.0f} s; load average {load[0]:.1f} / {load[1]:.1f} / "
          f"{load[2]:.1f} on {os.cpu_count()} cores")
    return 0


def _save(path: Path | None, r: Result) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(dataclasses.asdict(r)) + "\n")


def _progress(r: Result, k: int, n: int) -> None:
    print(f"  {k:3d}/{n} {r.variant:8s} {r.label:14s} seed {r.seed:6d} {r.people:3d} people "
          f"{r.status[:40]:40s} contacts {r.robot_contacts}/{r.person_contacts} "
          f"gap {r.min_gap:5.2f} (wall {r.wall:4.1f} s)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
