"""Pedestrians as timed polylines, evaluated for the whole crowd at once.

Every person type (SDF actor, walker, loiterer, intruder, waiting group member) compiles to knots
(t, x, y) in local time plus when the track starts, whether it loops and when the person is present.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

PERSON_RADIUS = 0.3  # m, the disc a pedestrian occupies for lidar and contacts


@dataclass(frozen=True, slots=True)
class PersonTrack:
    """One person's motion.

    times: (K,) float64 local seconds, non-decreasing, times[0] == 0; xy: (K,2) float64 metres.
    Local time is ``now - start`` (wrapped by times[-1] when ``loop``); the person exists (is seen,
    can be hit) only for ``appear <= now < vanish`` (s).
    """

    name: str
    kind: str
    times: FloatArray
    xy: FloatArray
    start: float = 0.0
    loop: bool = False
    appear: float = -math.inf
    vanish: float = math.inf


def polyline_track(
    name: str,
    kind: str,
    points: FloatArray,
    speed: float,
    start: float,
    loop: bool,
    appear: float = -math.inf,
    vanish: float = math.inf,
    dwell_end: float = 0.0,
) -> PersonTrack:
    """Track walking ``points`` (K,2) m at ``speed`` m/s from ``start`` s; closes the loop if asked.

    ``dwell_end`` s: how long the person stands at the last point before the track ends/loops.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if loop and pts.shape[0] > 1 and not np.allclose(pts[0], pts[-1]):
        pts = np.vstack([pts, pts[:1]])
    seg = np.hypot(*np.diff(pts, axis=0).T) if pts.shape[0] > 1 else np.zeros(0)
    times = np.concatenate([[0.0], np.cumsum(seg) / max(speed, 1e-6)])
    if dwell_end > 0.0 and math.isfinite(dwell_end):
        times = np.append(times, times[-1] + dwell_end)
        pts = np.vstack([pts, pts[-1:]])
    return PersonTrack(name, kind, times, pts, start, loop, appear, vanish)


def loiter_track(
    name: str,
    center: tuple[float, float],
    radius: float,
    start: float,
    duration: float,
    rng: np.random.Generator,
    speed: float = 0.4,
) -> PersonTrack:
    """A person drifting between random spots within ``radius`` m of ``center``.

    Pauses 5–20 s at each spot; present only during [start, start + duration) (s).
    """
    times = [0.0]
    pts = [(center[0], center[1])]
    t = 0.0
    while t < duration:
        pause = float(rng.uniform(5.0, 20.0))
        ang = float(rng.uniform(0.0, 2.0 * math.pi))
        r = radius * math.sqrt(float(rng.uniform()))
        nxt = (center[0] + r * math.cos(ang), center[1] + r * math.sin(ang))
        walk = math.dist(pts[-1], nxt) / speed
        t += pause
        times.append(t)
        pts.append(pts[-1])
        t += walk
        times.append(t)
        pts.append(nxt)
    return PersonTrack(
        name, "loiterer", np.array(times), np.array(pts), start, False, start, start + duration
    )


def waiting_group(
    name: str, at: tuple[float, float], count: int, appear: float, vanish: float
) -> list[PersonTrack]:
    """``count`` people standing on a 0.8 m ring around ``at`` (a bus stop queue)."""
    out = []
    for k in range(count):
        a = 2.0 * math.pi * k / max(count, 1)
        p = np.array([[at[0] + 0.8 * math.cos(a), at[1] + 0.8 * math.sin(a)]])
        out.append(
            PersonTrack(f"{name}_{k}", "waiting", np.zeros(1), p, 0.0, False, appear, vanish)
        )
    return out


class Crowd:
    """All people; ``positions(now)`` evaluates every track with one searchsorted."""

    def __init__(self, tracks: Sequence[PersonTrack]) -> None:
        self.tracks = tuple(tracks)
        self.names = tuple(t.name for t in self.tracks)
        n = len(self.tracks)
        times, xys, offs, lens = [], [], [], []
        off = 0
        for tr in self.tracks:
            tt, xy = np.asarray(tr.times, float), np.asarray(tr.xy, float).reshape(-1, 2)
            if tt.shape[0] == 1:  # a standing person: two equal knots one second apart
                tt, xy = np.array([0.0, 1.0]), np.vstack([xy, xy])
            times.append(tt)
            xys.append(xy)
            offs.append(off)
            lens.append(tt.shape[0])
            off += tt.shape[0]
        span = max((float(t[-1]) for t in times), default=1.0) + 2.0
        self._span = span
        self._t = np.concatenate(times) if n else np.zeros(0)
        self._xy = np.concatenate(xys) if n else np.zeros((0, 2))
        self._off = np.array(offs, dtype=np.int64)
        self._len = np.array(lens, dtype=np.int64)
        idx = np.repeat(np.arange(n), self._len) if n else np.zeros(0, np.int64)
        self._keys = idx * span + self._t
        self._period = np.array([t[-1] for t in times]) if n else np.zeros(0)
        self._start = np.array([t.start for t in self.tracks])
        pairs = zip(self.tracks, self._period, strict=True)
        self._loop = np.array([t.loop and float(p) > 0 for t, p in pairs], dtype=bool)
        self._any_loop = bool(self._loop.any())
        self._period_safe = np.where(self._period > 0, self._period, 1.0)
        self._base = np.arange(n) * span
        self._last = self._off + self._len - 2
        self._appear = np.array([t.appear for t in self.tracks])
        self._vanish = np.array([t.vanish for t in self.tracks])

    def __len__(self) -> int:
        return len(self.tracks)

    def positions(self, now: float) -> tuple[FloatArray, BoolArray]:
        """People positions (P,2) m and presence mask (P,) bool at time ``now`` (s)."""
        n = len(self.tracks)
        if n == 0:
            return np.zeros((0, 2)), np.zeros(0, dtype=bool)
        tau = now - self._start
        if self._any_loop:
            tau = np.where(self._loop & (tau > 0), np.mod(tau, self._period_safe), tau)
        tau = np.minimum(np.maximum(tau, 0.0), self._period)
        k = np.searchsorted(self._keys, self._base + tau, side="right") - 1
        k = np.minimum(np.maximum(k, self._off), self._last)
        t0, t1 = self._t[k], self._t[k + 1]
        dt = t1 - t0
        f = np.where(dt > 0, (tau - t0) / np.where(dt > 0, dt, 1.0), 0.0)
        xy = self._xy[k] + (self._xy[k + 1] - self._xy[k]) * f[:, None]
        active = (now >= self._appear) & (now < self._vanish)
        return xy, active
