"""Multi-target tracking of people: constant-velocity Kalman filters, gated Hungarian assignment,
M-of-N track birth and timeout death. Tracks keep their (t, x, y) history as event evidence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

FloatArray = npt.NDArray[np.float64]

_H = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """``accel_sigma``: m/s², white-noise acceleration of walkers. ``meas_sigma``: m, centroid
    noise. ``gate``: squared Mahalanobis distance accepted for a match (13.8 = 99.9 % for 2 dof).
    ``max_match_distance``: m, a hard Euclidean cap on top of the gate. Birth: ``birth_hits`` hits
    among the last ``birth_window`` updates. Death: a confirmed track unseen for
    ``death_timeout`` s. ``history_s``: s of history kept per track."""

    accel_sigma: float = 1.5
    meas_sigma: float = 0.2
    init_speed_sigma: float = 1.5
    gate: float = 13.8
    max_match_distance: float = 1.5
    birth_hits: int = 3
    birth_window: int = 5
    death_timeout: float = 2.0
    history_s: float = 300.0


@dataclass(frozen=True, slots=True, eq=False)
class Track:
    """Snapshot of a track: id, filtered position (m) and velocity (m/s), ``confirmed`` after
    birth, ``first_seen``/``last_seen`` (s), ``history`` (K, 3) float64 rows [t s, x m, y m]."""

    id: int
    x: float
    y: float
    vx: float
    vy: float
    confirmed: bool
    first_seen: float
    last_seen: float
    history: FloatArray

    @property
    def speed(self) -> float:
        return float(np.hypot(self.vx, self.vy))


class _State:
    __slots__ = ("id", "x", "P", "t", "hits", "confirmed", "first_seen", "last_seen", "buf",
                 "lo", "hi")

    def __init__(self, tid: int, xy: FloatArray, now: float, cfg: TrackerConfig) -> None:
        self.id = tid
        self.x = np.array([xy[0], xy[1], 0.0, 0.0])
        v0 = cfg.init_speed_sigma**2
        self.P = np.diag([cfg.meas_sigma**2, cfg.meas_sigma**2, v0, v0])
        self.t = now
        self.hits: deque[bool] = deque([True], maxlen=cfg.birth_window)
        self.confirmed = cfg.birth_hits <= 1
        self.first_seen = now
        self.last_seen = now
        # History rows live in buf[lo:hi]. Rows are never rewritten in place (a full buffer is
        # replaced by a new one), so snapshots can share views of it without copying.
        self.buf = np.empty((64, 3))
        self.buf[0] = (now, xy[0], xy[1])
        self.lo, self.hi = 0, 1

    def append(self, row: tuple[float, float, float], horizon: float) -> None:
        if self.hi == len(self.buf):
            keep = self.buf[self.lo : self.hi]
            keep = keep[keep[:, 0] >= horizon]
            new = np.empty((max(64, 2 * len(keep)), 3))
            new[: len(keep)] = keep
            self.buf, self.lo, self.hi = new, 0, len(keep)
        self.buf[self.hi] = row
        self.hi += 1
        while self.lo < self.hi - 1 and self.buf[self.lo, 0] < horizon:
            self.lo += 1

    def history(self) -> FloatArray:
        view = self.buf[self.lo : self.hi]
        view.flags.writeable = False
        return view


class MultiTargetTracker:
    """Tracks point detections over time. Call :meth:`update` once per scan with ``now``."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_State] = []
        self._next_id = 1
        r = self.config.meas_sigma**2
        self._R = np.diag([r, r])

    def _predict(self, s: _State, now: float) -> None:
        dt = max(now - s.t, 0.0)
        if dt == 0.0:
            return
        F = np.eye(4)
        F[0, 2] = F[1, 3] = dt
        q = self.config.accel_sigma**2
        g2, g3, g4 = dt * dt, dt**3 / 2.0, dt**4 / 4.0
        Q = q * np.array(
            [[g4, 0, g3, 0], [0, g4, 0, g3], [g3, 0, g2, 0], [0, g3, 0, g2]], dtype=np.float64
        )
        s.x = F @ s.x
        s.P = F @ s.P @ F.T + Q
        s.t = now

    def update(self, detections: npt.ArrayLike, now: float) -> tuple[Track, ...]:
        """Advance to ``now`` (s) with ``detections`` (M, 2) person centroids in metres; return
        every live track (confirmed and tentative)."""
        cfg = self.config
        z = np.asarray(detections, dtype=np.float64).reshape(-1, 2)
        for s in self._tracks:
            self._predict(s, now)
        n, m = len(self._tracks), len(z)
        matched_t: set[int] = set()
        matched_d: set[int] = set()
        if n and m:
            means = np.array([s.x[:2] for s in self._tracks])  # (n, 2)
            S = np.array([s.P[:2, :2] + self._R for s in self._tracks])  # (n, 2, 2)
            Sinv = np.linalg.inv(S)
            diff = z[None, :, :] - means[:, None, :]  # (n, m, 2)
            d2 = np.einsum("nmi,nij,nmj->nm", diff, Sinv, diff)
            eucl = np.hypot(diff[..., 0], diff[..., 1])
            ok = (d2 <= cfg.gate) & (eucl <= cfg.max_match_distance)
            cost = np.where(ok, d2, 1e9)
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
                if ok[i, j]:
                    self._correct(self._tracks[i], z[j], Sinv[i], now)
                    matched_t.add(i)
                    matched_d.add(j)
        for i, s in enumerate(self._tracks):
            if i not in matched_t:
                s.hits.append(False)
        survivors = []
        for s in self._tracks:
            if s.confirmed:
                alive = now - s.last_seen <= cfg.death_timeout
            else:
                # A tentative track dies as soon as it can no longer reach birth_hits.
                missing = cfg.birth_window - len(s.hits)
                alive = sum(s.hits) + missing >= cfg.birth_hits
            if alive:
                survivors.append(s)
        self._tracks = survivors
        for j in range(m):
            if j not in matched_d:
                self._tracks.append(_State(self._next_id, z[j], now, cfg))
                self._next_id += 1
        return self.tracks()

    def _correct(self, s: _State, zj: FloatArray, Sinv: FloatArray, now: float) -> None:
        K = s.P @ _H.T @ Sinv
        s.x = s.x + K @ (zj - s.x[:2])
        s.P = (np.eye(4) - K @ _H) @ s.P
        s.hits.append(True)
        s.last_seen = now
        if not s.confirmed and sum(s.hits) >= self.config.birth_hits:
            s.confirmed = True
        s.append((now, float(s.x[0]), float(s.x[1])), now - self.config.history_s)

    def tracks(self) -> tuple[Track, ...]:
        """Snapshots of all live tracks."""
        return tuple(
            Track(
                id=s.id,
                x=float(s.x[0]),
                y=float(s.x[1]),
                vx=float(s.x[2]),
                vy=float(s.x[3]),
                confirmed=s.confirmed,
                first_seen=s.first_seen,
                last_seen=s.last_seen,
                history=s.history(),
            )
            for s in self._tracks
        )

    def confirmed_tracks(self) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks() if t.confirmed)
