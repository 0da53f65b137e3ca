"""Tests for dawnpatrol_core.patrol.interleave: latest arrivals and detour budgets."""

from __future__ import annotations

import numpy as np
import pytest

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.patrol.interleave import (
    RouteStop,
    detour_budget,
    latest_arrivals,
    slack_s,
)


def travel(a: int, b: int) -> float:
    return 50.0 * abs(a - b)


def test_latest_arrivals_hand_computed() -> None:
    stops = [RouteStop("A", 1, 100, 200, 10), RouteStop("B", 2, 300, 400, 10)]
    np.testing.assert_allclose(latest_arrivals(stops, travel), [200.0, 400.0])
    tight = [RouteStop("A", 1, 100, 200, 10), RouteStop("B", 2, 150, 250, 10)]
    np.testing.assert_allclose(latest_arrivals(tight, travel), [190.0, 250.0])


def test_infeasible_route_names_the_stop() -> None:
    stops = [RouteStop("A", 1, 400, 500, 10), RouteStop("B", 2, 300, 310, 10)]
    with pytest.raises(PatrolError, match="stop 'A'"):
        latest_arrivals(stops, travel)


def test_budget_fits_only_detours_that_return_in_time() -> None:
    stops = [RouteStop("A", 1, 100, 200, 10)]
    to_stop = np.array([[30.0, 40.0], [30.0, 90.0]])  # (H=2 hotspots, L=2 places)
    b = detour_budget(stops, latest_arrivals(stops, travel), 0, to_stop)
    assert b is not None
    np.testing.assert_allclose(b.return_s, [40.0, 90.0])
    np.testing.assert_array_equal(b.fits(np.array([160.0, 120.0])), [True, False])
    assert slack_s(100.0, 50.0, b) == pytest.approx(50.0)
    assert detour_budget(stops, latest_arrivals(stops, travel), 1, to_stop) is None
