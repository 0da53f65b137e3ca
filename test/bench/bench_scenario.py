"""A shift scenario judged by its own ``expectations``, headless, over several seeds: the fleet
coordinator, mission, navigator, localization and anomaly monitor cores the nodes run (the
params files), the scenario's people, faults, patrol start and operator calls as the scenario
runner plays them. Each seed changes the people's and sensors' draws (the scenario's seed + k)
and the patrol's randomness (``patrol_seed`` k): another night with the same script.

``python test/bench/bench_scenario.py [SCENARIO] [--seeds N] [--first K] [--ground-truth]``

SCENARIO defaults to the demo's ``sim/scenarios/dawn_shift.yaml``. Prints one row per seed
(each check PASS/MISS, wall time) and how many seeds met every expectation; exits 1 when a seed
missed one. ``make demo`` runs the same scenario over ROS; this is its robustness check.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for pkg in ("dawnpatrol_core", "dawnpatrol_sim"):
    sys.path.insert(0, str(ROOT / "src" / pkg))

from dawnpatrol_sim.expectations import Check, evaluate, parse_expectations  # noqa: E402
from dawnpatrol_sim.headless_shift import (  # noqa: E402
    ShiftSettings,
    load_shift,
    load_stage,
    run_shift,
    shift_duties,
)

PARAMS = ROOT / "params"


def run_seed(path: Path, k: int, ground_truth: bool) -> tuple[tuple[Check, ...], float, str]:
    """The scenario at seed offset ``k``: its checks, wall seconds and the run's summary."""
    shift = load_shift(path)
    sc = replace(shift.scenario, seed=shift.scenario.seed + k)
    shift = replace(shift, scenario=sc)
    settings = ShiftSettings.from_params(
        PARAMS, pose_source="ground_truth" if ground_truth else "localization")
    settings = replace(settings, fleet=replace(settings.fleet, patrol_seed=k))
    model = sc.robot_model or ROOT / "sim" / "models" / "dawnbot" / "model.sdf"
    stage = load_stage(sc.world, model, ROOT / "maps" / sc.world.stem,
                       None if ground_truth else settings.localization)
    t0 = time.perf_counter()
    res = run_shift(stage, shift, settings, duties=shift_duties(sc, PARAMS))
    assert res.progress is not None
    bounds = {h.id: h.max_idleness_s for h in stage.dm.hotspots}
    window_end = {o.order_id: o.window_end for o in res.orders}
    facts = res.progress.facts(window_end, bounds, list(res.calls), res.start_s,
                               res.start_s + sc.duration)
    checks = evaluate(parse_expectations(sc.expectations, str(path)), facts)
    return checks, time.perf_counter() - t0, res.progress.summary()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "sim/scenarios/dawn_shift.yaml"))
    ap.add_argument("--seeds", type=int, default=5, help="seeds (default 5)")
    ap.add_argument("--first", type=int, default=0, help="first seed offset (default 0)")
    ap.add_argument("--ground-truth", action="store_true",
                    help="pose from ground truth instead of the particle filter (faster)")
    args = ap.parse_args()
    if args.seeds < 1:
        print(f"--seeds: got {args.seeds}, expected at least 1", file=sys.stderr)
        return 2
    path = Path(args.scenario)
    if parse_expectations(load_shift(path).scenario.expectations, str(path)).empty:
        print(f"{path}: field 'expectations': nothing to check", file=sys.stderr)
        return 2
    header: list[str] | None = None
    met = 0
    for k in range(args.first, args.first + args.seeds):
        checks, wall, summary = run_seed(path, k, args.ground_truth)
        if header is None:
            header = [c.name for c in checks]
            print("| seed | " + " | ".join(header) + " | wall s | shift |")
            print("|---" * (len(header) + 3) + "|")
        ok = all(c.passed for c in checks)
        met += ok
        cells = [("PASS" if c.passed else f"MISS ({c.actual})") for c in checks]
        print(f"| {k} | " + " | ".join(cells) + f" | {wall:.0f} | {summary} |", flush=True)
    pose = "ground truth" if args.ground_truth else "particle filter"
    print(f"\n{path.name}: {met}/{args.seeds} seeds met every expectation ({pose})")
    return 0 if met == args.seeds else 1


if __name__ == "__main__":
    sys.exit(main())
