"""Anomaly detection over the scenario set sim/scenarios/anomaly_*.yaml, headless: a parked robot's
lidar feeds the anomaly monitor's pipeline; precision/recall per kind, latency, health faults.
Usage: python test/bench/bench_anomaly_scenarios.py [--quick] [--only NAME]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[2]
for pkg in ("dawnpatrol_core", "dawnpatrol_sim"):
    sys.path.insert(0, str(ROOT / "src" / pkg))

from dawnpatrol_core.anomaly.events import EventManager  # noqa: E402
from dawnpatrol_core.anomaly.health import HealthConfig, HealthMonitor  # noqa: E402
from dawnpatrol_core.anomaly.rules import RuleConfig  # noqa: E402
from dawnpatrol_core.anomaly.segmentation import (  # noqa: E402
    SegmentationConfig,
    StaticMapFilter,
    drop_near,
    segment_scan,
)
from dawnpatrol_core.anomaly.tracking import MultiTargetTracker, TrackerConfig  # noqa: E402
from dawnpatrol_core.anomaly.zones_adapter import DistrictRuleEngine, district_zones  # noqa: E402
from dawnpatrol_core.geometry import Pose2D  # noqa: E402
from dawnpatrol_core.maps.district import load_district_map  # noqa: E402
from dawnpatrol_core.world import load_robot_model, load_world  # noqa: E402
from dawnpatrol_sim.engine import SimEngine  # noqa: E402
from dawnpatrol_sim.scenario import load_scenario  # noqa: E402

SCENE_KINDS = ("loitering", "intrusion", "blocked_sidewalk")
HEALTH_BUDGET_S = 5.0
OWN_ROBOT_RADIUS = 1.0
#: same as the node's map_tolerance_m: a person standing against an alley wall stays visible
SEGMENTATION = SegmentationConfig(map_tolerance=0.15)


@dataclass
class Outcome:
    name: str
    tp: dict[str, int] = field(default_factory=dict)
    fn: dict[str, int] = field(default_factory=dict)
    fp: dict[str, int] = field(default_factory=dict)
    dup: int = 0
    latency: dict[str, list[float]] = field(default_factory=dict)
    health: list[tuple[str, float | None]] = field(default_factory=list)  # kind, latency
    health_fp: list[str] = field(default_factory=list)
    sim_s: float = 0.0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _add(d: dict[str, int], k: str, n: int = 1) -> None:
    d[k] = d.get(k, 0) + n


def run_scenario(path: Path, duration_cap: float | None) -> Outcome:
    """Run one scenario headless and score its ``expectations.anomaly`` section."""
    scen = load_scenario(path)
    spec: dict[str, Any] = (scen.expectations or {})["anomaly"]
    world = load_world(scen.world)
    model = load_robot_model(scen.robot_model or ROOT / "sim/models/dawnbot/model.sdf")
    district = load_district_map(ROOT / "maps" / scen.world.stem)
    zones = district_zones(district)
    dwell = dict(zip([z.id for z in zones.watch], zones.dwell_s, strict=True))
    t0 = float(spec.get("start_hour", 1.0)) * 3600.0  # local clock: seconds since midnight
    observer = str(spec.get("observer", scen.robots[0].id))
    drive = {str(k): (float(v[0]), float(v[1])) for k, v in (spec.get("drive") or {}).items()}
    expect = list(spec.get("expect") or [])

    eng = SimEngine(world, model, scen)
    mount = Pose2D(model.lidar.mount_x, 0.0, 0.0)
    static = StaticMapFilter(district.grid)
    tracker = MultiTargetTracker(TrackerConfig(history_s=max(zones.dwell_s, default=60.0) + 60))
    rules = DistrictRuleEngine(zones, RuleConfig())
    events = EventManager(observer, np.random.default_rng(scen.seed))
    health = HealthMonitor(t0, HealthConfig(required_sensors=("scan", "odom")))
    others = [r for r in eng.robot_ids if r != observer]
    areas = {a.id: a for a in zones.restricted}
    watch = {z.id: z for z in zones.watch}
    first_in: dict[tuple[str, str], float] = {}
    opened: list[tuple[str, str, float, str]] = []  # kind, zone, detected (scenario s), uuid

    out = Outcome(scen.name)
    duration = scen.duration if duration_cap is None else min(scen.duration, duration_cap)
    next_check = 1.0
    next_beat = 0.0
    start = time.perf_counter()
    while eng.now < duration - 1e-9:
        eng.step({rid: drive.get(rid, (0.0, 0.0)) for rid in eng.robot_ids})
        t = eng.now
        now = t0 + t
        # ground truth: when each person first stands in each zone
        names, xy, on = eng.people()
        for zid, geom in [*((k, v.polygon) for k, v in watch.items()),
                          *((k, v.polygon) for k, v in areas.items())]:
            inside = shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) & on
            for i in np.flatnonzero(inside):
                first_in.setdefault((names[i], zid), t)
        frame = eng.sensors(observer)
        if frame.odom is not None:
            health.on_odom(frame.odom.x, frame.odom.y, now)
        health.on_battery(frame.battery.soc, now)
        if t >= next_beat:
            next_beat += 0.5
            if eng.link_up(observer):
                health.on_heartbeat(now)
        dets = []
        if frame.scan is not None:
            health.on_scan(now)
            sc = frame.scan
            angles = sc.angle_min + sc.angle_increment * np.arange(sc.ranges.size)
            truth = Pose2D(frame.truth.x, frame.truth.y, frame.truth.theta)
            seg = segment_scan(sc.ranges, angles, truth.compose(mount), static, SEGMENTATION)
            fleet = [(eng.pose(r).x, eng.pose(r).y) for r in others]
            people = drop_near(seg.people, fleet, OWN_ROBOT_RADIUS)
            tracks = tracker.update(np.array([[c.x, c.y] for c in people]).reshape(-1, 2), now)
            dets += rules.evaluate(tracks, seg.objects, now, seg.unexplained)
        if t >= next_check - 1e-9:
            next_check += 1.0
            dets += [f.to_detection(frame.truth.x, frame.truth.y)
                     for f in health.check(now).active]
        for d in dets:
            ev = events.report(d, now)
            if ev is not None and ev.revision == 0:
                opened.append((ev.kind, ev.zone, t, ev.uuid))
    out.wall_s = time.perf_counter() - start
    out.sim_s = eng.now

    # ---- score scene kinds
    used: set[str] = set()
    for e in expect:
        kind = str(e["kind"])
        if kind not in SCENE_KINDS:
            continue
        zone = e.get("zone")
        by = float(e.get("by_s", duration))
        if by > duration:
            continue  # the quick run stops before this expectation is due
        hits = [o for o in opened if o[0] == kind and (zone is None or o[1] == zone)
                and o[2] <= by and o[3] not in used]
        if not hits:
            _add(out.fn, kind)
            out.notes.append(f"missed {kind} {zone or ''}")
            continue
        _add(out.tp, kind)
        person = e.get("person")
        if person is not None and (person, zone) in first_in:
            truth = first_in[(person, zone)] + (dwell.get(zone, 0.0) if kind == "loitering"
                                                 else 0.0)
            hits.sort(key=lambda o: abs(o[2] - truth))  # several subjects in one zone
            out.latency.setdefault(kind, []).append(hits[0][2] - truth)
        used.add(hits[0][3])
        n_expected = sum(1 for x in expect if x["kind"] == kind and x.get("zone") == zone)
        if n_expected == 1:
            for o in hits[1:]:  # the same subject re-raised: a duplicate, not a false alarm
                used.add(o[3])
                out.dup += 1
    for o in opened:
        if o[0] in SCENE_KINDS and o[3] not in used:
            _add(out.fp, o[0])
            out.notes.append(f"false {o[0]} {o[1]} at {o[2]:.0f} s")
    # ---- health faults: first event of the kind at/after onset, within the budget
    for e in expect:
        kind = str(e["kind"])
        if kind in SCENE_KINDS or float(e["onset_s"]) > duration:
            continue
        onset = float(e["onset_s"])
        hit = [o[2] for o in opened if o[0] == kind and o[2] >= onset - 1e-6]
        out.health.append((kind, hit[0] - onset if hit else None))
        used.update(o[3] for o in opened if o[0] == kind)
    for o in opened:
        if o[0] not in SCENE_KINDS and o[3] not in used:
            out.health_fp.append(f"{o[0]}@{o[2]:.0f}s")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 scenarios, at most 200 s each")
    ap.add_argument("--only", default="", help="run only scenarios whose name contains this")
    args = ap.parse_args()
    paths = sorted((ROOT / "sim" / "scenarios").glob("anomaly_*.yaml"))
    if args.only:
        paths = [p for p in paths if args.only in p.stem]
    cap = None
    if args.quick:
        paths, cap = paths[:3], 200.0
    results = [run_scenario(p, cap) for p in paths]

    print("| scenario | sim s | wall s | TP | FN | FP | dup | health (latency s) | notes |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        hl = ", ".join(f"{k} {'MISSED' if v is None else f'{v:.1f}'}" for k, v in r.health)
        if r.health_fp:
            hl += " unexpected: " + " ".join(r.health_fp[:4])
        print(f"| {r.name} | {r.sim_s:.0f} | {r.wall_s:.1f} | {sum(r.tp.values())} | "
              f"{sum(r.fn.values())} | {sum(r.fp.values())} | {r.dup} | {hl} | "
              f"{'; '.join(r.notes[:3])} |")
    print()
    print("| kind | TP | FP | FN | precision | recall | median latency s | max latency s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in SCENE_KINDS:
        tp = sum(r.tp.get(kind, 0) for r in results)
        fp = sum(r.fp.get(kind, 0) for r in results)
        fn = sum(r.fn.get(kind, 0) for r in results)
        lat = [v for r in results for v in r.latency.get(kind, [])]
        prec = f"{tp / (tp + fp):.3f}" if tp + fp else "-"
        rec = f"{tp / (tp + fn):.3f}" if tp + fn else "-"
        med = f"{statistics.median(lat):.2f}" if lat else "-"
        mx = f"{max(lat):.2f}" if lat else "-"
        print(f"| {kind} | {tp} | {fp} | {fn} | {prec} | {rec} | {med} | {mx} |")
    hl_all = [(k, v) for r in results for k, v in r.health]
    ok = [v for _, v in hl_all if v is not None and v <= HEALTH_BUDGET_S]
    print()
    print(f"health faults: {len(ok)}/{len(hl_all)} reported within {HEALTH_BUDGET_S:g} s; "
          f"worst {max((v for _, v in hl_all if v is not None), default=float('nan')):.1f} s; "
          f"unexpected health events: {sum(len(r.health_fp) for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
