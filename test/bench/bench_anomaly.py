"""Anomaly pipeline benchmark: per-scan cost (segmentation + tracking + rules, 360 beams) and a
seeded synthetic precision/recall/latency over loiter, passer-by, bus-stop, couple and intruder
tracks. Usage: python test/bench/bench_anomaly.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from shapely.geometry import LineString, box

from dawnpatrol_core.anomaly.events import EventManager, EventManagerConfig
from dawnpatrol_core.anomaly.rules import (
    EdgeLine,
    HourWindow,
    RestrictedArea,
    RuleConfig,
    RuleEngine,
    WatchZone,
)
from dawnpatrol_core.anomaly.segmentation import StaticMapFilter, segment_scan
from dawnpatrol_core.anomaly.tracking import MultiTargetTracker
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.grid import OccupancyGrid

NIGHT = 1 * 3600.0  # 01:00 local
DAY = 13 * 3600.0
ZONE = WatchZone("alley", box(0, 0, 12, 8), HourWindow(22, 5))
AREA = RestrictedArea("schoolyard", box(30, 0, 45, 10), HourWindow(21, 6))
BUS_STOP = (18.0, -4.0)
RULES = RuleConfig(loiter_radius=3.0, loiter_time=60.0, block_time=10.0)
ANGLES = np.linspace(-np.pi, np.pi, 360, endpoint=False)


# ------------------------------------------------------------------ per-scan cost


def room() -> OccupancyGrid:
    data = np.zeros((800, 800), dtype=np.int8)  # 40 m x 40 m at 5 cm
    data[:3, :] = data[-3:, :] = data[:, :3] = data[:, -3:] = 100
    data[400:420, 100:300] = 100  # a building block inside
    return OccupancyGrid(data, 0.05, -20.0, -20.0)


def cast(pose: Pose2D, circles: np.ndarray) -> np.ndarray:
    """Ranges to the room walls (inner faces at +-19.85 m) and circles (K, 3) [x, y, r]."""
    d = np.stack([np.cos(ANGLES + pose.theta), np.sin(ANGLES + pose.theta)], axis=1)
    o = np.array([pose.x, pose.y])
    with np.errstate(divide="ignore", invalid="ignore"):
        tx = (np.sign(d[:, 0]) * 19.85 - o[0]) / d[:, 0]
        ty = (np.sign(d[:, 1]) * 19.85 - o[1]) / d[:, 1]
    r = np.minimum(np.abs(tx), np.abs(ty))
    oc = o[None, :] - circles[:, :2]  # (K, 2)
    b = d @ oc.T  # (N, K)
    disc = b * b - ((oc * oc).sum(axis=1) - circles[:, 2] ** 2)[None, :]
    t = -b - np.sqrt(np.maximum(disc, 0.0))
    t = np.where((disc > 0) & (t > 0), t, np.inf)
    return np.minimum(r, t.min(axis=1))


def bench_scan_cost(n_scans: int, seed: int) -> tuple[float, float, int]:
    rng = np.random.default_rng(seed)
    smap = StaticMapFilter(room())
    tracker = MultiTargetTracker()
    edges = [EdgeLine(1, LineString([(-15, -10), (15, -10)])),
             EdgeLine(2, LineString([(15, -10), (15, 15)]))]
    engine = RuleEngine([ZONE], [AREA], edges, RULES)
    pose = Pose2D(0.0, -5.0, 0.0)
    starts = rng.uniform(-12, 12, (6, 2))
    vel = rng.uniform(-0.8, 0.8, (6, 2))
    times = []
    n_tracks = 0
    for k in range(n_scans):
        now = NIGHT + 0.1 * k
        pos = starts + vel * np.sin(0.01 * k)[None, None] * 10.0
        circles = np.column_stack([pos, np.full(len(pos), 0.22)])
        circles = np.vstack([circles, [[5.0, -10.0, 0.7]]])  # a dumped sofa on edge 1
        ranges = cast(pose, circles) + rng.normal(0, 0.01, len(ANGLES))
        t0 = time.perf_counter()
        seg = segment_scan(ranges, ANGLES, pose, smap)
        tracks = tracker.update(seg.people_xy(), now)
        engine.evaluate(tracks, seg.objects, now, seg.unexplained)
        times.append((time.perf_counter() - t0) * 1e3)
        n_tracks = max(n_tracks, sum(t.confirmed for t in tracks))
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], n_tracks


# ------------------------------------------------------------------ synthetic precision / recall


@dataclass(frozen=True)
class Case:
    """A scripted scene: people paths (t s -> (P, 2) positions), duration, the kinds that
    should fire, and the ground-truth time each threshold is met (s after start)."""

    name: str
    paths: Callable[[float], np.ndarray]
    n_people: int
    duration: float
    t0: float
    expect: dict[str, float]


def _walk(a: np.ndarray, b: np.ndarray, speed: float, t: float, t_start: float = 0.0) -> np.ndarray:
    L = float(np.hypot(*(b - a)))
    s = np.clip((t - t_start) * speed / L, 0.0, 1.0)
    return a + (b - a) * s


def make_cases(rng: np.random.Generator, per_type: int) -> list[Case]:
    cases: list[Case] = []
    T = RULES.loiter_time
    for i in range(per_type):
        # Loiterer: walks 4 m into the alley, then lingers (sway <= 1.5 m) for 120 s.
        spot = rng.uniform([3, 2], [9, 6])
        entry = spot + np.array([-4.0, 0.0])
        walk_t = (4.0 - RULES.loiter_radius) / 1.2  # enters radius R of the spot
        sway = rng.uniform(0.3, 1.5)
        ph = rng.uniform(0, 6.28)

        def loiter(t: float, spot: np.ndarray = spot, entry: np.ndarray = entry,
                   sway: float = sway, ph: float = ph) -> np.ndarray:
            p = _walk(entry, spot, 1.2, t)
            return (p + sway * np.array([np.sin(0.1 * t + ph), np.cos(0.07 * t)]))[None]

        cases.append(Case(f"loiter-{i}", loiter, 1, 130.0, NIGHT, {"loitering": walk_t + T}))
        cases.append(Case(f"loiter-day-{i}", loiter, 1, 130.0, DAY, {}))
        # Passer-by: crosses the alley at 0.8-1.5 m/s.
        y = rng.uniform(1, 7)
        v = rng.uniform(0.8, 1.5)
        cases.append(Case(
            f"passer-by-{i}",
            lambda t, y=y, v=v: _walk(np.array([-5.0, y]), np.array([25.0, y]), v, t)[None],
            1, 40.0, NIGHT, {}))
        # Slow passer-by who pauses 20 s mid-alley (checks a phone), then walks on.
        cases.append(Case(
            f"pause-{i}",
            lambda t, y=y: _walk(np.array([-3.0, y]), np.array([20.0, y]), 1.0,
                                 t if t < 8 else max(8.0, t - 20.0))[None],
            1, 60.0, NIGHT, {}))
        # Bus stop: waits 150 s outside any watch zone.
        stop = np.array(BUS_STOP) + rng.uniform(-1, 1, 2)
        cases.append(Case(
            f"bus-stop-{i}",
            lambda t, p=stop: (p + 0.3 * np.array([np.sin(0.2 * t), 0.0]))[None],
            1, 150.0, NIGHT, {}))
        # Couple chatting 1.5-3 m outside the alley boundary (x > 12) for 150 s.
        cx = 12.0 + rng.uniform(1.5, 3.0)
        cases.append(Case(
            f"couple-{i}",
            lambda t, cx=cx: np.array([[cx, 4.0], [cx + 0.8, 4.2]])
            + 0.15 * np.sin(0.3 * t),
            2, 150.0, NIGHT, {}))
        # Intruder: walks from the street into the schoolyard.
        yy = rng.uniform(2, 8)
        cases.append(Case(
            f"intruder-{i}",
            lambda t, yy=yy: _walk(np.array([24.0, yy]), np.array([38.0, yy]), 1.0, t)[None],
            1, 25.0, NIGHT, {"intrusion": 6.0}))
        # Walker along the schoolyard fence, outside it, at night.
        cases.append(Case(
            f"fence-walker-{i}",
            lambda t, yy=yy: _walk(np.array([28.0, -1.5]), np.array([48.0, -1.5]), 1.2, t)[None],
            1, 25.0, NIGHT, {}))
    return cases


def run_case(case: Case, rng: np.random.Generator, rate_hz: float) -> dict[str, float]:
    """Feed noisy positions at ``rate_hz``; return the first event time (s after start) per
    kind."""
    tracker = MultiTargetTracker()
    engine = RuleEngine([ZONE], [AREA], (), RULES)
    events = EventManager("r1", rng, EventManagerConfig())
    first: dict[str, float] = {}
    for k in range(int(case.duration * rate_hz) + 1):
        t = k / rate_hz
        z = case.paths(t) + rng.normal(0.0, 0.08, (case.n_people, 2))
        drop = rng.random(case.n_people) < 0.05  # missed detections
        tracks = tracker.update(z[~drop], case.t0 + t)
        for det in engine.evaluate(tracks, (), case.t0 + t):
            ev = events.report(det, case.t0 + t)
            if ev is not None:
                first.setdefault(ev.kind, t)
    return first


def bench_quality(
    per_type: int, seed: int, rate_hz: float
) -> list[tuple[str, int, int, int, float]]:
    rng = np.random.default_rng(seed)
    cases = make_cases(rng, per_type)
    stats = {k: [0, 0, 0, []] for k in ("loitering", "intrusion")}  # tp, fp, fn, latencies
    for case in cases:
        fired = run_case(case, rng, rate_hz)
        for kind, s in stats.items():
            if kind in case.expect and kind in fired:
                s[0] += 1  # type: ignore[operator]
                s[3].append(fired[kind] - case.expect[kind])  # type: ignore[union-attr]
            elif kind in fired:
                s[1] += 1  # type: ignore[operator]
                print(f"  false {kind}: {case.name}")
            elif kind in case.expect:
                s[2] += 1  # type: ignore[operator]
                print(f"  missed {kind}: {case.name}")
    rows = []
    for kind, (tp, fp, fn, lat) in stats.items():
        med = statistics.median(lat) if lat else float("nan")  # type: ignore[arg-type]
        rows.append((kind, int(tp), int(fp), int(fn), float(med)))  # type: ignore[call-overload]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n_scans = 200 if args.quick else 2000
    per_type = 2 if args.quick else 10
    rate = 5.0 if args.quick else 10.0

    med, p95, ntr = bench_scan_cost(n_scans, args.seed)
    print("\n### Per-scan cost (360 beams, 40 m map at 5 cm, 6 walkers + 1 object; "
          f"{n_scans} scans)\n")
    print("| stage | median ms | p95 ms | max confirmed tracks |")
    print("|---|---|---|---|")
    print(f"| segmentation + tracking + rules | {med:.3f} | {p95:.3f} | {ntr} |")

    rows = bench_quality(per_type, args.seed, rate)
    print(f"\n### Synthetic rule quality ({per_type} scenes per type x 8 types, {rate:g} Hz, "
          f"seed {args.seed}; T={RULES.loiter_time:g} s, R={RULES.loiter_radius:g} m)\n")
    print("| rule | TP | FP | FN | precision | recall | median latency s |")
    print("|---|---|---|---|---|---|---|")
    for kind, tp, fp, fn, lat in rows:
        prec = tp / (tp + fp) if tp + fp else float("nan")
        rec = tp / (tp + fn) if tp + fn else float("nan")
        print(f"| {kind} | {tp} | {fp} | {fn} | {prec:.2f} | {rec:.2f} | {lat:.2f} |")


if __name__ == "__main__":
    main()
