"""Low-variance (systematic) resampling and KLD-sampling particle counts, vectorized.

KLD sampling (Fox 2003) picks how many particles are needed so that the sampled histogram is
within ``err`` (KL divergence) of the true one with confidence given by ``z``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.geometry import FloatArray

IntArray = npt.NDArray[np.int64]


def low_variance_resample(weights: FloatArray, n: int, rng: np.random.Generator) -> IntArray:
    """Indices ``(n,)`` drawn by one random offset and ``n`` equally spaced pointers.

    ``weights``: (M,) non-negative, need not be normalized. Particle ``i`` is copied
    ``floor(n*w_i)`` or ``ceil(n*w_i)`` times. Returned indices are sorted ascending.
    """
    total = float(np.sum(weights))
    if not np.isfinite(total) or total <= 0.0:
        raise ValueError(f"weights must have a positive finite sum, got {total}")
    cdf = np.cumsum(weights / total)
    cdf[-1] = 1.0
    pointers = (rng.random() + np.arange(n, dtype=np.float64)) / n
    return np.searchsorted(cdf, pointers, side="right").astype(np.int64)


def kld_sample_count(k: npt.ArrayLike, err: float, z: float) -> IntArray:
    """KLD bound on the sample count for ``k`` occupied histogram bins (array or scalar).

    ``n = ceil((k-1)/(2 err) * (1 - 2/(9(k-1)) + sqrt(2/(9(k-1))) z)^3)``; 0 when ``k <= 1``.
    ``z`` is the upper standard-normal quantile (e.g. 2.33 for 99 %).
    """
    kk = np.asarray(k, dtype=np.float64)
    km1 = np.maximum(kk - 1.0, 1.0)
    a = 2.0 / (9.0 * km1)
    n = km1 / (2.0 * err) * (1.0 - a + np.sqrt(a) * z) ** 3
    return np.where(kk > 1.0, np.ceil(n), 0.0).astype(np.int64)


def kld_prefix_length(
    bins: IntArray, min_count: int, max_count: int, err: float, z: float
) -> int:
    """How many of the samples (in draw order) KLD sampling keeps.

    ``bins``: (M,) int64 histogram-bin key of each sample, in the random order they were drawn.
    Returns the smallest ``n`` with ``n >= kld_sample_count(bins occupied by the first n)``,
    clipped to ``[min_count, min(max_count, M)]``.
    """
    m = bins.shape[0]
    _, first = np.unique(bins, return_index=True)
    new_bin = np.zeros(m, dtype=np.int64)
    new_bin[first] = 1
    k = np.cumsum(new_bin)  # bins occupied after 1..m samples
    need = kld_sample_count(k, err, z)
    counts = np.arange(1, m + 1)
    done = np.nonzero(counts >= np.maximum(need, min_count))[0]
    n = int(done[0]) + 1 if done.size else m
    return int(min(max(n, min_count), max_count, m))


def pose_bins(particles: FloatArray, bin_xy: float, bin_theta: float) -> IntArray:
    """(N,) int64 histogram-bin keys of poses (N, 3); cells are bin_xy m by bin_theta rad."""
    ix = np.floor(particles[:, 0] / bin_xy).astype(np.int64)
    iy = np.floor(particles[:, 1] / bin_xy).astype(np.int64)
    it = np.floor(particles[:, 2] / bin_theta).astype(np.int64)
    # 21 bits per axis (±1 M bins) is ample for any district map.
    off = 1 << 20
    return ((ix + off) << 42) | ((iy + off) << 21) | (it + off)
