"""Anomaly detection over the scenario set sim/scenarios/anomaly_*.yaml, headless: the watching
robots' lidars (parked or driving) feed the shipped anomaly monitor (core AnomalyMonitor with
params/anomaly_monitor.yaml), their events go to a fleet inbox that merges incidents; scored on
fleet incidents: precision/recall per kind, latency, duplicates, health faults.
Usage: python test/bench/bench_anomaly_scenarios.py [--quick] [--only NAME] [--localization]
       [--seeds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for pkg in ("dawnpatrol_core", "dawnpatrol_fleet", "dawnpatrol_sim"):
    sys.path.insert(0, str(ROOT / "src" / pkg))

from dawnpatrol_core.anomaly.zones_adapter import district_zones  # noqa: E402
from dawnpatrol_core.maps.district import load_district_map  # noqa: E402
from dawnpatrol_core.store.inbox import InboxResult  # noqa: E402
from dawnpatrol_sim.headless_watch import run_watch_scenario  # noqa: E402
from dawnpatrol_sim.scenario import load_scenario  # noqa: E402

SCENE_KINDS = ("loitering", "intrusion", "blocked_sidewalk")
HEALTH_BUDGET_S = 5.0
PARAMS = ROOT / "params"


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
    updates: dict[str, int] = field(default_factory=dict)


def _add(d: dict[str, int], k: str, n: int = 1) -> None:
    d[k] = d.get(k, 0) + n


def run_scenario(path: Path, duration_cap: float | None, localization: bool = False,
                 seed: int | None = None) -> Outcome:
    """Run one scenario headless (dawnpatrol_sim.headless_watch: the shipped monitor with
    params/anomaly_monitor.yaml, the fleet inbox) and score its ``expectations.anomaly``
    section: scene kinds on the fleet's incidents, health faults when the robot raised them."""
    scen = load_scenario(path)
    spec: dict[str, Any] = (scen.expectations or {})["anomaly"]
    zones = district_zones(load_district_map(ROOT / "maps" / scen.world.stem))
    dwell = dict(zip([z.id for z in zones.watch], zones.dwell_s, strict=True))
    expect = list(spec.get("expect") or [])
    run = run_watch_scenario(path, ROOT / "maps", PARAMS, localization, duration_cap, seed)
    t0, duration, first_in = run.start_s, run.duration_s, run.first_in
    name = scen.name if seed is None else f"{scen.name} (seed {seed})"
    out = Outcome(name, sim_s=run.duration_s, wall_s=run.wall_s)
    # scene kinds as the fleet holds them: each incident opened (kind, zone, scenario s, id);
    # health faults when the robot raised them (a link-lost event waits for the link)
    opened = [(r.event.kind, r.event.zone, r.at - t0, r.incident) for r in run.received
              if r.result is InboxResult.NEW and r.event.kind in SCENE_KINDS]
    opened += [(e.kind, e.zone, at - t0, e.uuid) for _, at, o in run.outputs for e in o.events
               if e.revision == 0 and e.kind not in SCENE_KINDS]
    out.updates = {k: max((r.events for r in run.incidents if r.event.kind == k), default=0)
                   for k in SCENE_KINDS}

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
    ap.add_argument("--localization", action="store_true",
                    help="watching robots use their particle filter's pose, not ground truth")
    ap.add_argument("--seeds", type=int, default=1,
                    help="run each scenario with its own seed and N-1 more (seed+1000*k)")
    args = ap.parse_args()
    paths = sorted((ROOT / "sim" / "scenarios").glob("anomaly_*.yaml"))
    if args.only:
        paths = [p for p in paths if args.only in p.stem]
    cap = None
    if args.quick:
        paths, cap = paths[:3], 200.0
    results = []
    for p in paths:
        results.append(run_scenario(p, cap, args.localization))
        base = load_scenario(p).seed
        results += [run_scenario(p, cap, args.localization, base + 1000 * k)
                    for k in range(1, args.seeds)]

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
