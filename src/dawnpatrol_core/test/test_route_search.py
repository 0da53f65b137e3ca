"""Tests for A* route search on the sidewalk graph (hand-built graphs, hand-computed costs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_core.control.zone_rules import PointwiseZoneRules
from dawnpatrol_core.errors import ConfigError, PlanningError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph, RouteNode
from dawnpatrol_core.planning.route_search import RoutePlanner, RouteSearchConfig


def two_way(
    nodes: dict[int, tuple[float, float]],
    links: list[tuple[int, int, float, bool]],
) -> RouteGraph:
    """Graph with one edge per direction for each (a, b, speed, crosswalk) link."""
    ns = [RouteNode(i, x, y) for i, (x, y) in nodes.items()]
    es: list[RouteEdge] = []
    for a, b, v, cw in links:
        (ax, ay), (bx, by) = nodes[a], nodes[b]
        length = math.hypot(bx - ax, by - ay)
        for s, e, p in ((a, b, ((ax, ay), (bx, by))), (b, a, ((bx, by), (ax, ay)))):
            es.append(RouteEdge(len(es), s, e, length, v, crosswalk=cw, points=p))
    return RouteGraph.build(ns, es)


# A square 0-1-2 / 0-3-2 with sides 10 m and a slow diagonal 0-2.
SQUARE = {0: (0.0, 0.0), 1: (10.0, 0.0), 2: (10.0, 10.0), 3: (0.0, 10.0)}


def test_fastest_path_by_time_not_length() -> None:
    # Direct diagonal (14.14 m at 0.5 m/s = 28.3 s) loses to two sides (20 m at 1.0 = 20 s).
    g = two_way(SQUARE, [(0, 1, 1.0, False), (1, 2, 1.0, False), (0, 3, 0.8, False),
                         (3, 2, 0.8, False), (0, 2, 0.5, False)])
    route = RoutePlanner(g).plan(0, 2)
    assert route.node_ids == (0, 1, 2)
    assert route.eta == pytest.approx(20.0)
    assert route.length == pytest.approx(20.0)
    np.testing.assert_allclose(route.points, [[0, 0], [10, 0], [10, 10]])


def test_crosswalk_penalty_changes_the_choice() -> None:
    g = two_way(SQUARE, [(0, 1, 1.0, True), (1, 2, 1.0, False), (0, 3, 0.8, False),
                         (3, 2, 0.8, False)])
    route = RoutePlanner(g, config=RouteSearchConfig(crosswalk_penalty=10.0)).plan(0, 2)
    assert route.node_ids == (0, 3, 2)
    assert route.eta == pytest.approx(25.0)
    route = RoutePlanner(g, config=RouteSearchConfig(crosswalk_penalty=4.0)).plan(0, 2)
    assert route.node_ids == (0, 1, 2)
    assert route.eta == pytest.approx(24.0)


class SlowBelowY5(PointwiseZoneRules):
    """Zone rules: 0.25 m/s where y < 5, otherwise 10 m/s."""

    def speed_limit_at(self, x: float, y: float) -> float:
        return 0.25 if y < 5.0 else 10.0

    def is_allowed(self, x: float, y: float) -> bool:
        return True


def test_zone_limit_caps_edge_speed() -> None:
    g = two_way(SQUARE, [(0, 1, 1.0, False), (1, 2, 1.0, False), (0, 3, 0.8, False),
                         (3, 2, 0.8, False)])
    planner = RoutePlanner(g, zones=SlowBelowY5())
    # Edge 0->1 lies at y=0: 0.25 m/s. Edge 0->3 touches y=0 too (its start node).
    assert planner.edge_speed(0) == pytest.approx(0.25)
    assert planner.edge_speed(6) == pytest.approx(0.8)  # 3->2 at y=10
    route = planner.plan(0, 2)
    assert route.node_ids == (0, 3, 2)
    assert route.eta == pytest.approx(10 / 0.25 + 10 / 0.8)


def test_closed_edge_reroutes_and_all_closed_is_unreachable() -> None:
    g = two_way(SQUARE, [(0, 1, 1.0, False), (1, 2, 1.0, False), (0, 3, 0.8, False),
                         (3, 2, 0.8, False)])
    planner = RoutePlanner(g)
    # Close 1->2 (edge id 2): the route goes round through 3.
    route = planner.plan(0, 2, closed_edges={2})
    assert route.node_ids == (0, 3, 2)
    with pytest.raises(PlanningError, match="unreachable"):
        planner.plan(0, 2, closed_edges={2, 6})


def test_disconnected_goal_is_unreachable() -> None:
    g = two_way({0: (0, 0), 1: (10, 0), 2: (50, 0), 3: (60, 0)},
                [(0, 1, 1.0, False), (2, 3, 1.0, False)])
    with pytest.raises(PlanningError, match="unreachable"):
        RoutePlanner(g).plan(0, 3)


def test_join_projects_onto_the_edge_not_the_nearest_node() -> None:
    g = two_way(SQUARE, [(0, 1, 1.0, False), (1, 2, 1.0, False)])
    j = RoutePlanner(g).join(4.0, 1.5)
    assert j.edge_id in (0, 1)
    assert (j.x, j.y) == pytest.approx((4.0, 0.0))
    assert j.distance == pytest.approx(1.5)
    assert j.s == pytest.approx(4.0 if j.edge_id == 0 else 6.0)


def test_pose_to_pose_route_uses_partial_edges() -> None:
    g = two_way(SQUARE, [(0, 1, 1.0, False), (1, 2, 1.0, False), (0, 3, 1.0, False),
                         (3, 2, 1.0, False)])
    planner = RoutePlanner(g, config=RouteSearchConfig(join_speed=1.0))
    route = planner.plan(Pose2D(4.0, 1.0), Pose2D(9.0, 7.0))
    # 1 m join + 6 m to node 1 + 7 m up to the projection + 1 m to the goal.
    assert route.node_ids == (1,)
    assert route.eta == pytest.approx(15.0)
    np.testing.assert_allclose(route.points, [[4, 1], [4, 0], [10, 0], [10, 7], [9, 7]])
    assert route.length == pytest.approx(15.0)


def test_start_and_goal_on_same_edge_go_direct_either_way() -> None:
    g = two_way(SQUARE, [(0, 1, 1.0, False), (1, 2, 1.0, False)])
    planner = RoutePlanner(g)
    fwd = planner.plan(Pose2D(2.0, 0.0), Pose2D(7.0, 0.0))
    np.testing.assert_allclose(fwd.points, [[2, 0], [7, 0]])
    assert fwd.eta == pytest.approx(5.0)
    back = planner.plan(Pose2D(7.0, 0.0), Pose2D(2.0, 0.0))
    np.testing.assert_allclose(back.points, [[7, 0], [2, 0]])


def test_pose_too_far_from_graph_is_rejected() -> None:
    g = two_way(SQUARE, [(0, 1, 1.0, False)])
    planner = RoutePlanner(g, config=RouteSearchConfig(max_join_distance=5.0))
    with pytest.raises(PlanningError, match="within 5.0 m"):
        planner.plan(Pose2D(5.0, 20.0), 1)


def test_unknown_node_and_bad_config() -> None:
    g = two_way(SQUARE, [(0, 1, 1.0, False)])
    with pytest.raises(PlanningError, match="field 'node'"):
        RoutePlanner(g).plan(0, 99)
    with pytest.raises(ConfigError, match="crosswalk_penalty"):
        RouteSearchConfig(crosswalk_penalty=-1.0)


def test_astar_matches_brute_force_on_random_lattice() -> None:
    rng = np.random.default_rng(5)
    side = 6
    nodes = {r * side + c: (c * 10.0 + rng.uniform(-2, 2), r * 10.0 + rng.uniform(-2, 2))
             for r in range(side) for c in range(side)}
    links = []
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < side and c + dc < side:
                    links.append((r * side + c, (r + dr) * side + c + dc,
                                  float(rng.choice([0.5, 1.0, 1.5])), bool(rng.random() < 0.2)))
    g = two_way(nodes, links)
    planner = RoutePlanner(g)
    # Bellman-Ford style relaxation as the reference.
    n = len(nodes)
    for src in (0, 7, 20):
        dist = [math.inf] * n
        dist[src] = 0.0
        for _ in range(n):
            for e in g.edges.values():
                c = e.length / e.speed_limit + (15.0 if e.crosswalk else 0.0)
                dist[e.end] = min(dist[e.end], dist[e.start] + c)
        for dst in (35, 5, 30):
            assert planner.plan(src, dst).eta == pytest.approx(dist[dst])


@pytest.mark.parametrize("heading, expected", [(math.pi / 2, (0, 3, 4, 2)), (-math.pi / 2, (1, 2))])
def test_a_robot_on_a_blocked_sidewalk_leaves_it_the_way_it_faces_away_from(
        heading: float, expected: tuple[int, ...]) -> None:
    """An alley 0-1-2 (x = 0, y 0..60) with a way round 0-3-4-2. Something blocks the alley
    between y 20 and 30 (edges 0 and 1 closed); the robot stopped in front of it at y 20 (facing
    north) or at y 25 from the other side (facing south). It leaves back the way it came, never
    by a straight leg through the blockage to the nearest open edge (node 1's, 10 m away)."""
    g = two_way({0: (0.0, 0.0), 1: (0.0, 30.0), 2: (0.0, 60.0), 3: (20.0, 0.0), 4: (20.0, 60.0)},
                [(0, 1, 1.0, False), (1, 2, 1.0, False), (0, 3, 1.0, False),
                 (3, 4, 1.0, False), (4, 2, 1.0, False)])
    planner = RoutePlanner(g)
    y = 20.0 if heading > 0 else 25.0
    route = planner.plan(Pose2D(0.0, y, heading), 2, closed_edges={0, 1})
    assert route.node_ids == expected
    ahead = route.points[1] - route.points[0]
    assert ahead[1] * math.sin(heading) < 0.0  # first leg: away from the blockage
    # with the alley open the robot goes straight on
    assert planner.plan(Pose2D(0.0, 20.0, math.pi / 2), 2).node_ids == (1, 2)
