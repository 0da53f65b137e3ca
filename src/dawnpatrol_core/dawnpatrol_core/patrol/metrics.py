"""Patrol metrics: idleness per hotspot, visits, dwell, and how unpredictable the patrol was.

Idleness of a hotspot at time t is 0 while a robot is there and otherwise the time since the
last robot left it (the shift start counts as a departure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Visit:
    """A robot observed hotspot index ``hotspot`` from ``arrive_s`` to ``leave_s`` (seconds)."""

    robot: str
    hotspot: int
    arrive_s: float
    leave_s: float


@dataclass(frozen=True, slots=True)
class HotspotMetrics:
    """One hotspot over a shift (seconds throughout).

    ``avg_idleness_s``: time average of instantaneous idleness over the shift, Σ gap²/2 / T.
    ``worst_idleness_s``: longest unobserved gap (including shift start → first arrival and last
    departure → shift end). ``violations``: gaps longer than ``max_idleness_s``.
    ``dwell_mean_s``: mean visit length (arrival → departure).
    """

    hotspot_id: str
    visits: int
    avg_idleness_s: float
    worst_idleness_s: float
    max_idleness_s: float
    violations: int
    dwell_mean_s: float


@dataclass(frozen=True, slots=True)
class PatrolMetrics:
    """A shift's patrol metrics.

    ``order_entropy_bits``: conditional entropy H(next hotspot | current hotspot) of each robot's
    visit sequence, transitions pooled over robots (0 for a fixed cycle; ≤ log2 H).
    ``interval_entropy_bits``: per hotspot, the Shannon entropy of its arrival-to-arrival
    intervals binned to ``interval_bin_s``, averaged over hotspots with ≥ 2 intervals (0 when a
    hotspot is visited like clockwork).
    """

    hotspots: tuple[HotspotMetrics, ...]
    order_entropy_bits: float
    interval_entropy_bits: float
    interval_bin_s: float

    @property
    def violations(self) -> int:
        """Idleness-bound violations summed over hotspots."""
        return sum(h.violations for h in self.hotspots)


def idleness_gaps(
    arrive_s: FloatArray, leave_s: FloatArray, start_s: float, end_s: float
) -> FloatArray:
    """(G,) float64: unobserved gaps (s) of one hotspot between ``start_s`` and ``end_s``.

    ``arrive_s``, ``leave_s``: (V,) visit times, any order; overlapping visits merge.
    """
    order = np.argsort(arrive_s, kind="stable")
    a = np.clip(np.asarray(arrive_s, np.float64)[order], start_s, end_s)
    left = np.clip(np.asarray(leave_s, np.float64)[order], start_s, end_s)
    covered = np.maximum.accumulate(np.concatenate([[start_s], left]))
    gaps = np.concatenate([a - covered[:-1], [end_s - covered[-1]]])
    return np.asarray(gaps[gaps > 0.0], dtype=np.float64)


def _entropy_bits(counts: npt.NDArray[np.int64]) -> float:
    c = counts[counts > 0].astype(np.float64)
    if c.size == 0:
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def order_entropy(visits: Sequence[Visit], n_hotspots: int) -> float:
    """Conditional entropy H(next | current), bits, of per-robot visit sequences.

    Computed as H(current, next) − H(current) over the pooled transition counts.
    """
    pairs = np.zeros((n_hotspots, n_hotspots), dtype=np.int64)
    for robot in sorted({v.robot for v in visits}):
        seq = [v.hotspot for v in sorted(visits, key=lambda v: v.arrive_s) if v.robot == robot]
        if len(seq) > 1:
            np.add.at(pairs, (np.array(seq[:-1]), np.array(seq[1:])), 1)
    return _entropy_bits(pairs.ravel()) - _entropy_bits(pairs.sum(axis=1))


def interval_entropy(visits: Sequence[Visit], n_hotspots: int, bin_s: float) -> float:
    """Mean over hotspots of the entropy (bits) of arrival-to-arrival intervals, ``bin_s`` bins."""
    values = []
    for h in range(n_hotspots):
        arr = np.sort(np.array([v.arrive_s for v in visits if v.hotspot == h], dtype=np.float64))
        if arr.size >= 3:
            bins = np.floor(np.diff(arr) / bin_s).astype(np.int64)
            values.append(_entropy_bits(np.unique(bins, return_counts=True)[1]))
    return float(np.mean(values)) if values else 0.0


def patrol_metrics(
    visits: Sequence[Visit],
    hotspot_ids: Sequence[str],
    max_idleness_s: FloatArray,
    start_s: float,
    end_s: float,
    *,
    interval_bin_s: float = 60.0,
) -> PatrolMetrics:
    """Metrics of a shift from ``start_s`` to ``end_s`` (s); ``max_idleness_s``: (H,) bounds."""
    span = end_s - start_s
    per = []
    for h, hid in enumerate(hotspot_ids):
        mine = [v for v in visits if v.hotspot == h]
        a = np.array([v.arrive_s for v in mine], dtype=np.float64)
        lv = np.array([v.leave_s for v in mine], dtype=np.float64)
        gaps = idleness_gaps(a, lv, start_s, end_s)
        bound = float(max_idleness_s[h])
        per.append(
            HotspotMetrics(
                hotspot_id=hid,
                visits=len(mine),
                avg_idleness_s=float((gaps**2).sum() / 2.0 / span) if span > 0 else 0.0,
                worst_idleness_s=float(gaps.max()) if gaps.size else 0.0,
                max_idleness_s=bound,
                violations=int((gaps > bound + 1e-6).sum()),
                dwell_mean_s=float((lv - a).mean()) if mine else 0.0,
            )
        )
    n = len(hotspot_ids)
    return PatrolMetrics(
        hotspots=tuple(per),
        order_entropy_bits=order_entropy(visits, n),
        interval_entropy_bits=interval_entropy(visits, n, interval_bin_s),
        interval_bin_s=interval_bin_s,
    )
