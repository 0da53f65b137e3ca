"""Delivery shift benchmark in the headless simulator on suwon_dawn: a dawn batch dispatched and
sent trip by trip by the fleet coordinator the fleet manager runs, delivered by robots running the
mission, navigator and localization cores.

``python test/bench/bench_shift.py [--quick] [--orders N] [--robots N] [--seed S] [--ground-truth]
[--map DIR] [--patrol]``

``--patrol``: every robot patrols from the start (params/fleet_manager.yaml's patrol_bounds), so
dispatch plans the patrol visits with the parcels; the run ends 30 min after the last window and
the patrol visits and idleness-bound violations until the last window closes are reported.

Orders are drawn from the seed over the map's entrances: windows of 30-60 min inside 02:00-04:30,
1-2 compartments, the entrance's handover method, one or two recipients absent. ``--map`` runs
the same world on another district folder of it, e.g. one made by ``dawnpatrol district new``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for pkg in ("dawnpatrol_core", "dawnpatrol_sim"):
    sys.path.insert(0, str(ROOT / "src" / pkg))

from dawnpatrol_core.errors import DawnPatrolError  # noqa: E402
from dawnpatrol_core.fleet.patrol import hotspot_of  # noqa: E402
from dawnpatrol_core.geometry import Pose2D  # noqa: E402
from dawnpatrol_core.maps.district import DistrictMap  # noqa: E402
from dawnpatrol_core.patrol.metrics import Visit, patrol_metrics  # noqa: E402
from dawnpatrol_core.shift_clock import clock  # noqa: E402
from dawnpatrol_sim.headless_shift import (  # noqa: E402
    Recipients,
    ShiftInput,
    ShiftResult,
    ShiftSettings,
    load_stage,
    run_shift,
)
from dawnpatrol_sim.scenario import (  # noqa: E402
    RobotStart,
    Scenario,
    fleet_robot_ids,
    map_parking,
    robot_starts,
)

WORLD = ROOT / "sim" / "worlds" / "suwon_dawn.sdf"
MODEL = ROOT / "sim" / "models" / "dawnbot" / "model.sdf"
MAP = ROOT / "maps" / "suwon_dawn"
# Where the robots stand at the start, in the depot lot facing the sidewalk: clear of the bays
# the first three return to (dawnpatrol_core.fleet.depot.depot_bays: x = 70, 66, 74), or a
# robot still parked there blocks a return.
BAYS = (62.0, 78.0, 86.0, 66.0, 74.0, 82.0)
FIRST, LAST = 2 * 60, 4 * 60 + 30  # minutes since midnight: windows inside 02:00-04:30


def make_orders(dm: DistrictMap, n: int, seed: int) -> tuple[str, frozenset[str]]:
    """(orders CSV text, absent order ids): ``n`` orders drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    ids = sorted(dm.addresses)
    lines = ["id,address_id,window_start,window_end,size,handover,priority"]
    pin_orders = []
    for k in range(n):
        oid, addr = f"B-{k + 1:02d}", ids[int(rng.integers(len(ids)))]
        length = int(rng.choice([30, 40, 45, 60]))
        start = FIRST + 5 * int(rng.integers(0, (LAST - length - FIRST) // 5 + 1))
        size = 1 if rng.random() < 0.7 else 2
        handover = dm.addresses[addr].handover
        priority = int(rng.random() < 0.25)
        lines.append(f"{oid},{addr},{start // 60:02d}:{start % 60:02d},"
                     f"{(start + length) // 60:02d}:{(start + length) % 60:02d},{size},"
                     f"{handover},{priority}")
        if handover == "pin":
            pin_orders.append(oid)
    n_absent = min(len(pin_orders), 1 if n < 20 else 2)
    absent = rng.choice(pin_orders, size=n_absent, replace=False) if n_absent else []
    return "\n".join(lines) + "\n", frozenset(str(a) for a in absent)


def pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100.0 * a / b:.0f} %)" if b else "0/0"


def report(res: ShiftResult, n_robots: int, pose: str, setup_s: float, solver_s: float,
           map_name: str = "suwon_dawn") -> None:
    orders = res.orders
    n = len(orders)
    home = [o for o in orders if o.recipient_home]
    in_window = [o for o in orders if o.outcome == "delivered"]
    failed = [o for o in orders if o.outcome == "failed"]
    causes = Counter(o.cause_group for o in orders if o.outcome not in ("delivered", "late"))
    returned = [o for o in failed if math.isfinite(o.returned_at)]
    contacts = Counter(c.split(":")[0] for r in res.robots for c in r.contacts)
    print(f"# Delivery shift benchmark — {map_name}, headless, {n} orders, {n_robots} robots, "
          f"pose from {pose}\n")
    print(f"set-up {setup_s:.1f} s; dispatch solver {solver_s:g} s"
          f"{'' if res.finished else '; RUN STOPPED at max duration with missions under way'}\n")
    print("| metric | value |\n|---|---|")
    print(f"| orders (recipients absent) | {n} ({n - len(home)}) |")
    print(f"| planned / not served by the plan | {n - res.count('unserved')} / "
          f"{res.count('unserved')} |")
    print(f"| delivered inside their window (handed over by its end) | "
          f"{pct(len(in_window), n)} |")
    print(f"| ... of orders whose recipient is home (target >= 95 %) | "
          f"{pct(sum(o.outcome == 'delivered' for o in home), len(home))} |")
    print(f"| ... of which handed over before the window opened | "
          f"{sum(o.early for o in in_window)} |")
    print(f"| delivered strictly inside [window start, window end] | "
          f"{pct(sum(not o.early for o in in_window), n)} |")
    print(f"| delivered late | {res.count('late')} |")
    print(f"| ... handed over from a trip sent without reloading (its last return failed) | "
          f"{sum(o.loaded_away for o in orders if o.outcome in ('delivered', 'late'))} |")
    print(f"| failed | {len(failed)} |")
    print(f"| not delivered, by cause | "
          f"{', '.join(f'{c}: {k}' for c, k in sorted(causes.items())) or '-'} |")
    print(f"| parcels of failed stops returned to the depot | {pct(len(returned), len(failed))} |")
    print(f"| parcels still on board at the end | "
          f"{sum(len(r.parcels_on_board) for r in res.robots)} |")
    print(f"| contacts (static / people / robots / obstacles) | {contacts['static']} / "
          f"{contacts['person']} / {contacts['robot']} / {contacts['obstacle']} |")
    print(f"| distance driven (m) | {sum(r.distance_m for r in res.robots):.0f} |")
    errs = [r.localization_error_m for r in res.robots if math.isfinite(r.localization_error_m[0])]
    if errs:
        print(f"| localization error median / p95 / max (m) | "
              f"{max(e[0] for e in errs):.3f} / {max(e[1] for e in errs):.3f} / "
              f"{max(e[2] for e in errs):.3f} (worst robot) |")
        print(f"| time localization LOST (s) | {sum(r.lost_s for r in res.robots):.1f} |")
    print(f"| sim time | {clock(res.start_s)} -> {clock(res.end_s)} ({res.sim_time_s:.0f} s) |")
    print(f"| wall time (s) | {res.wall_time_s:.0f} "
          f"({res.sim_time_s / max(res.wall_time_s, 1e-9):.1f}x real time) |")
    print("\n| robot | trips | distance (m) | contacts | localization error p95 (m) | "
          "parcels left |\n|---|---|---|---|---|---|")
    for r in res.robots:
        print(f"| {r.robot_id} | {r.trips} | {r.distance_m:.0f} | "
              f"{', '.join(r.contacts) or '-'} | {r.localization_error_m[1]:.3f} | "
              f"{', '.join(r.parcels_on_board) or '-'} |")
    bad = [o for o in orders if o.outcome != "delivered"]
    if bad:
        print("\n| order | robot | window | outcome | reason | parcel back at depot |\n"
              "|---|---|---|---|---|---|")
        for o in bad:
            back = clock(o.returned_at) if math.isfinite(o.returned_at) else "-"
            print(f"| {o.order_id} | {o.robot_id or '-'} | {clock(o.window_start)}-"
                  f"{clock(o.window_end)} | {o.outcome} | {o.reason} | {back} |")
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small shift: 8 orders, 2 robots")
    ap.add_argument("--orders", type=int, default=40, help="orders in the batch (default 40)")
    ap.add_argument("--robots", type=int, default=3,
                    help=f"robots (default 3): the first {len(BAYS)} start in the depot lot as "
                         "below, more in the depot's free bays")
    ap.add_argument("--seed", type=int, default=1, help="orders, absences and simulation seed")
    ap.add_argument("--map", default=str(MAP),
                    help="district folder of the suwon_dawn world (default maps/suwon_dawn)")
    ap.add_argument("--ground-truth", action="store_true",
                    help="pose from ground truth instead of the particle filter (faster)")
    ap.add_argument("--patrol", action="store_true",
                    help="patrol from the start: visits planned with the parcels (see above)")
    args = ap.parse_args()
    if args.quick:
        args.orders, args.robots = 8, 2
    if args.robots < 1 or args.orders < 1:
        print("--robots and --orders must be >= 1", file=sys.stderr)
        return 2
    pose = "ground_truth" if args.ground_truth else "localization"
    t0 = time.perf_counter()
    settings = ShiftSettings.from_params(ROOT / "params", pose_source=pose)
    if args.patrol:
        settings = replace(settings, fleet=replace(settings.fleet, patrol_on_start=True),
                           max_duration_s=(LAST + 30) * 60.0 - settings.start_time_s)
    stage = load_stage(WORLD, MODEL, args.map, None if args.ground_truth else settings.localization)
    text, absent = make_orders(stage.dm, args.orders, args.seed)
    named = tuple(RobotStart(f"r{k + 1}", Pose2D(BAYS[k], 7.0, -math.pi / 2))
                  for k in range(min(args.robots, len(BAYS))))
    robots = robot_starts(named, fleet_robot_ids(args.robots), map_parking(args.map))
    scenario = Scenario(name=f"bench_shift_{args.orders}", world=WORLD, robots=robots,
                        robot_model=MODEL, seed=args.seed, duration=settings.max_duration_s)
    setup = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "orders.csv"
        path.write_text(text, encoding="utf-8")
        try:
            res = run_shift(stage, ShiftInput(scenario, path, Recipients(absent, 20.0)),
                            settings, on_line=lambda line: print(line, file=sys.stderr))
        except DawnPatrolError as exc:
            print(f"bench_shift: {exc}", file=sys.stderr)
            return 2
    report(res, args.robots, "particle filter" if pose == "localization" else "ground truth",
           setup, settings.fleet.solver_time_limit_s, Path(args.map).resolve().name)
    if args.patrol:
        patrol_report(res, stage.dm, settings.fleet.patrol_bounds)
    return 0


def patrol_report(res: ShiftResult, dm: DistrictMap, bounds: str) -> None:
    """Patrol visits made and idleness against each hotspot's bound from the shift's start
    until the last delivery window closes (the span the dispatcher planned visits for)."""
    ids = [h.id for h in dm.hotspots]
    end = max(o.window_end for o in res.orders)
    visits = [Visit(r, ids.index(hotspot_of(t)), a, lv) for r, t, a, lv in res.visits
              if hotspot_of(t) in ids]
    bound = np.array([h.max_idleness_s for h in dm.hotspots])
    m = patrol_metrics(visits, ids, bound, res.start_s, end)
    print(f"## Patrol (patrol_bounds: {bounds}), {clock(res.start_s)}-{clock(end)}\n")
    print("| hotspot | bound s | visits | worst idleness s | violations |\n|---|---|---|---|---|")
    for h, x in zip(dm.hotspots, m.hotspots, strict=True):
        print(f"| {h.id} | {h.max_idleness_s:.0f} | {x.visits} | {x.worst_idleness_s:.0f} | "
              f"{x.violations} |")
    print(f"\npatrol visits {len(visits)} (all {len(res.visits)} until the end of the run); "
          f"bound violations {m.violations}; order entropy {m.order_entropy_bits:.2f} bits\n")


if __name__ == "__main__":
    sys.exit(main())
