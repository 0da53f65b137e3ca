"""Low-variance resampling and the KLD-sampling particle count."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dawnpatrol_core.localization.resampling import (
    kld_prefix_length,
    kld_sample_count,
    low_variance_resample,
    pose_bins,
)


def test_counts_proportional_to_weights() -> None:
    w = np.array([0.1, 0.2, 0.3, 0.4])
    idx = low_variance_resample(w, 1000, np.random.default_rng(0))
    counts = np.bincount(idx, minlength=4)
    # systematic resampling: each count is floor or ceil of n * w_i
    assert np.all(np.abs(counts - 1000 * w) <= 1)
    assert counts.sum() == 1000


def test_unnormalized_weights_and_tiny_weights() -> None:
    w = np.array([1.0, 0.0, 3.0, 1e-9])
    counts = np.bincount(low_variance_resample(w, 400, np.random.default_rng(5)), minlength=4)
    assert counts[1] == 0
    assert counts[3] <= 1
    assert abs(counts[0] - 100) <= 1 and abs(counts[2] - 300) <= 1


def test_deterministic_with_seeded_rng() -> None:
    w = np.random.default_rng(9).random(50)
    a = low_variance_resample(w, 73, np.random.default_rng(42))
    b = low_variance_resample(w, 73, np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


def test_one_particle_with_all_weight_gets_every_copy() -> None:
    w = np.zeros(10)
    w[6] = 2.5
    np.testing.assert_array_equal(low_variance_resample(w, 25, np.random.default_rng(1)), [6] * 25)


def test_zero_weights_rejected() -> None:
    with pytest.raises(ValueError, match="positive finite"):
        low_variance_resample(np.zeros(3), 3, np.random.default_rng(0))


def test_kld_count_hand_values() -> None:
    # k = 2: (1 / 0.1) * (1 - 2/9 + sqrt(2/9) * 2.33)^3 = 66.04 -> 67
    assert int(kld_sample_count(2, 0.05, 2.33)) == 67
    # k = 11: a = 2/90; (10/0.1) * (1 - a + sqrt(a)*2.33)^3
    a = 2.0 / 90.0
    expected = math.ceil(100 * (1 - a + math.sqrt(a) * 2.33) ** 3)
    assert int(kld_sample_count(11, 0.05, 2.33)) == expected
    np.testing.assert_array_equal(kld_sample_count(np.array([0, 1]), 0.05, 2.33), [0, 0])


def test_kld_count_approximates_chi_square_quantile() -> None:
    z = float(stats.norm.ppf(0.99))
    for k in (21, 101, 501):
        exact = stats.chi2.ppf(0.99, k - 1) / (2 * 0.05)
        assert int(kld_sample_count(k, 0.05, z)) == pytest.approx(exact, rel=0.01)


def test_prefix_length_single_bin_gives_minimum() -> None:
    assert kld_prefix_length(np.zeros(1000, dtype=np.int64), 50, 1000, 0.05, 2.33) == 50


def test_prefix_length_all_distinct_bins_hits_maximum() -> None:
    bins = np.arange(3000, dtype=np.int64)
    assert kld_prefix_length(bins, 10, 2000, 0.05, 2.33) == 2000


def test_prefix_length_stops_at_first_sufficient_count() -> None:
    # two bins from the start: after the 2nd sample 67 are needed (hand value above)
    bins = np.array([0, 1] + [0] * 200, dtype=np.int64)
    assert kld_prefix_length(bins, 2, 500, 0.05, 2.33) == 67
    # with a minimum of 1 the first sample (one bin, bound 0) already suffices
    assert kld_prefix_length(bins, 1, 500, 0.05, 2.33) == 1


def test_pose_bins_separate_axes() -> None:
    parts = np.array([[0.1, 0.1, 0.01], [0.4, 0.2, 0.05], [0.6, 0.1, 0.01], [0.1, 0.1, -0.01]])
    keys = pose_bins(parts, 0.5, 0.1)
    assert keys[0] == keys[1]
    assert len({int(k) for k in keys}) == 3
