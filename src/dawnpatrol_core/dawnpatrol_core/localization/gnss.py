"""GNSS position fixes as a particle measurement: a gaussian with an outlier floor.

Fixes arrive already converted to the map frame (x, y in metres, through the map's
georeference) with their 1-sigma horizontal standard deviation.
"""

from __future__ import annotations

import numpy as np

from dawnpatrol_core.geometry import FloatArray


def gnss_log_likelihood(
    xy: FloatArray, fix_x: float, fix_y: float, std: float, outlier_prob: float
) -> FloatArray:
    """(N,) log-likelihood (up to a constant) of a fix for particle positions ``xy`` (N, 2) m.

    ``log((1 - e) * exp(-d²/(2 std²)) + e)`` with ``e = outlier_prob``: a multipath outlier far
    from the truth costs at most ``log(e)``, not an unbounded penalty.
    """
    d2 = (xy[:, 0] - fix_x) ** 2 + (xy[:, 1] - fix_y) ** 2
    g = np.exp(-0.5 * d2 / (std * std))
    return np.asarray(np.log((1.0 - outlier_prob) * g + outlier_prob), dtype=np.float64)


def gnss_consistency(
    xy: FloatArray, weights: FloatArray, fix_x: float, fix_y: float, radius: float
) -> float:
    """Weight fraction (0..1) of particles within ``radius`` m of the fix."""
    d2 = (xy[:, 0] - fix_x) ** 2 + (xy[:, 1] - fix_y) ** 2
    return float(np.sum(weights[d2 <= radius * radius]))
