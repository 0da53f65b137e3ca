"""Tests for dawnpatrol_core.patrol.metrics against hand-computed sequences."""

from __future__ import annotations

import numpy as np
import pytest

from dawnpatrol_core.patrol.metrics import (
    Visit,
    idleness_gaps,
    interval_entropy,
    order_entropy,
    patrol_metrics,
)


def test_gaps_include_start_and_end() -> None:
    g = idleness_gaps(np.array([50.0, 10.0]), np.array([60.0, 20.0]), 0.0, 100.0)
    np.testing.assert_allclose(g, [10.0, 30.0, 40.0])


def test_overlapping_visits_merge() -> None:
    g = idleness_gaps(np.array([10.0, 20.0]), np.array([30.0, 40.0]), 0.0, 100.0)
    np.testing.assert_allclose(g, [10.0, 60.0])


def test_no_visit_is_one_long_gap() -> None:
    np.testing.assert_allclose(idleness_gaps(np.array([]), np.array([]), 5.0, 25.0), [20.0])


def test_hotspot_metrics_hand_computed() -> None:
    visits = [Visit("r1", 0, 10.0, 20.0), Visit("r2", 0, 50.0, 60.0), Visit("r1", 1, 0.0, 100.0)]
    m = patrol_metrics(visits, ["a", "b"], np.array([35.0, 10.0]), 0.0, 100.0)
    a, b = m.hotspots
    assert a.visits == 2
    assert a.worst_idleness_s == pytest.approx(40.0)
    assert a.avg_idleness_s == pytest.approx((10**2 + 30**2 + 40**2) / 2 / 100)
    assert a.violations == 1  # the 40 s gap at the end of the shift
    assert a.dwell_mean_s == pytest.approx(10.0)
    assert (b.worst_idleness_s, b.avg_idleness_s, b.violations) == (0.0, 0.0, 0)
    assert m.violations == 1


def seq(robot: str, hotspots: list[int], step: float = 10.0) -> list[Visit]:
    return [Visit(robot, h, i * step, i * step + 1) for i, h in enumerate(hotspots)]


def test_order_entropy_cycle_is_zero() -> None:
    assert order_entropy(seq("r1", [0, 1, 2, 0, 1, 2, 0]), 3) == pytest.approx(0.0)


def test_order_entropy_hand_computed() -> None:
    # transitions 0→1, 1→0, 0→2, 2→0: H(pair)=2 bits, H(current)=1.5 bits → 0.5 bits
    assert order_entropy(seq("r1", [0, 1, 0, 2, 0]), 3) == pytest.approx(0.5)


def test_order_entropy_pools_robots_without_crossing_them() -> None:
    visits = seq("r1", [0, 1, 0]) + seq("r2", [1, 0, 1], step=10.5)
    assert order_entropy(visits, 2) == pytest.approx(0.0)


def test_interval_entropy_hand_computed() -> None:
    regular = seq("r1", [0, 0, 0, 0], step=100.0)
    assert interval_entropy(regular, 1, 60.0) == pytest.approx(0.0)
    mixed = [Visit("r1", 0, t, t + 1) for t in (0.0, 100.0, 250.0)]  # bins 1 and 2
    assert interval_entropy(mixed, 1, 60.0) == pytest.approx(1.0)
