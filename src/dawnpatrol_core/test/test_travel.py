"""Travel matrices on a hand-computed graph."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_core.errors import PlanningError
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph, RouteNode
from dawnpatrol_core.planning.travel import travel_time_matrix


def _graph() -> RouteGraph:
    nodes = [RouteNode(1, 0.0, 0.0), RouteNode(2, 10.0, 0.0), RouteNode(3, 10.0, 10.0),
             RouteNode(4, 100.0, 100.0)]
    edges = [
        RouteEdge(1, 1, 2, 10.0, 1.0), RouteEdge(2, 2, 1, 10.0, 1.0),
        RouteEdge(3, 2, 3, 10.0, 2.0), RouteEdge(4, 3, 2, 10.0, 2.0),
        RouteEdge(5, 1, 3, 30.0, 1.0),  # shorter in hops but slower: 30 s vs 15 s
    ]
    return RouteGraph.build(nodes, edges)


def test_fastest_path_times_and_distances() -> None:
    pts = np.array([[0.0, -1.0], [10.0, 11.0], [10.0, 0.0]])
    m = travel_time_matrix(_graph(), pts, access_speed=1.0)
    # 1 m access + 10 s + 5 s + 1 m access; distance along the fastest path (20 m), not 30 m.
    assert m.duration[0, 1] == pytest.approx(17.0)
    assert m.distance[0, 1] == pytest.approx(22.0)
    assert m.duration[1, 0] == pytest.approx(17.0)
    assert m.duration[0, 2] == pytest.approx(1.0 + 10.0)
    assert m.distance[2, 1] == pytest.approx(10.0 + 1.0)
    assert list(m.node_ids) == [1, 3, 2]
    np.testing.assert_allclose(m.access, [1.0, 1.0, 0.0])
    assert np.all(np.diag(m.duration) == 0.0)


def test_speed_callback_and_cap() -> None:
    pts = np.array([[0.0, 0.0], [10.0, 10.0]])
    slow = travel_time_matrix(_graph(), pts, lambda e: e.speed_limit / 2.0)
    assert slow.duration[0, 1] == pytest.approx(30.0)  # 20 s + 10 s
    capped = travel_time_matrix(_graph(), pts, max_speed=1.0)
    assert capped.duration[0, 1] == pytest.approx(20.0)
    assert capped.distance[0, 1] == pytest.approx(20.0)


def test_unreachable_and_identical_points() -> None:
    pts = np.array([[0.0, 0.0], [100.0, 101.0], [0.0, 0.0]])
    m = travel_time_matrix(_graph(), pts)
    assert math.isinf(m.duration[0, 1]) and math.isinf(m.distance[1, 0])
    assert m.duration[0, 2] == 0.0


def test_bad_speed_rejected() -> None:
    with pytest.raises(PlanningError, match="speed"):
        travel_time_matrix(_graph(), np.zeros((1, 2)), lambda e: 0.0)
