"""Tests for NavigatorCore in a kinematic loop with an analytic disc-world scan."""

from __future__ import annotations

import math

import numpy as np
import pytest
from disc_scan import scan_of

from dawnpatrol_core.control.causes import NavCause
from dawnpatrol_core.control.navigator import NavigatorConfig, NavigatorCore
from dawnpatrol_core.control.zone_rules import PointwiseZoneRules, first_disallowed
from dawnpatrol_core.geometry import Pose2D, wrap_angle
from dawnpatrol_core.maps.grid import OccupancyGrid
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph, RouteNode
from dawnpatrol_core.planning.grid_planner import GridPlanner
from dawnpatrol_core.planning.route_search import RoutePlanner
from dawnpatrol_core.safety.governor import SpeedGovernor


def two_way_graph(pts: dict[int, tuple[float, float]],
                  links: list[tuple[int, int]]) -> RouteGraph:
    """Straight two-way 1.5 m/s sidewalks between the nodes ``pts`` along ``links``."""
    nodes = [RouteNode(i, x, y) for i, (x, y) in pts.items()]
    edges: list[RouteEdge] = []
    for a, b in links:
        (ax, ay), (bx, by) = pts[a], pts[b]
        length = math.hypot(bx - ax, by - ay)
        for s, e in ((a, b), (b, a)):
            edges.append(RouteEdge(len(edges), s, e, length, 1.5, points=(pts[s], pts[e])))
    return RouteGraph.build(nodes, edges)


def line_graph() -> RouteGraph:
    """Sidewalk 0 -(20 m)- 1 -(20 m)- 2 along y = 5, and a parallel one 0'-1'-2' along y = 15
    joined at both ends, all two-way, 1.5 m/s."""
    return two_way_graph({0: (0.0, 5.0), 1: (20.0, 5.0), 2: (40.0, 5.0),
                          3: (0.0, 15.0), 4: (20.0, 15.0), 5: (40.0, 15.0)},
                         [(0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (2, 5)])


def open_grid() -> OccupancyGrid:
    data = np.zeros((400, 900), dtype=np.int8)  # 45 m x 20 m at 0.05 m
    data[:4, :] = data[-4:, :] = 100
    data[120:280, 40:760] = 100  # a building between the two sidewalks (y 6..14, x 2..38)
    return OccupancyGrid(data, 0.05, -2.0, 0.0)


class KeepOutRight(PointwiseZoneRules):
    """Everything allowed except x > 42 (outside the operating area) and a keep-out disc."""

    def speed_limit_at(self, x: float, y: float) -> float:
        return 0.8 if 25.0 <= x <= 30.0 else 1.5

    def is_allowed(self, x: float, y: float) -> bool:
        return x <= 42.0 and math.hypot(x - 20.0, y - 1.0) > 1.0


def run(nav: NavigatorCore, pose: Pose2D, discs_at: object = None, t_max: float = 200.0,
        dt: float = 0.1) -> tuple[Pose2D, list[tuple[float, str, float]]]:
    log: list[tuple[float, str, float]] = []
    t = 0.0
    while t < t_max:
        discs = discs_at(t) if callable(discs_at) else []
        cmd = nav.step(t, pose, scan_of(pose, discs))
        log.append((t, cmd.status, cmd.v))
        for cx, cy, r in discs:
            assert math.hypot(pose.x - cx, pose.y - cy) > r + 0.3, "contact"
        if cmd.status in ("succeeded", "failed", "canceled"):
            break
        th = wrap_angle(pose.theta + cmd.w * dt)
        pose = Pose2D(pose.x + cmd.v * math.cos(th) * dt, pose.y + cmd.v * math.sin(th) * dt, th)
        t += dt
    return pose, log


def test_drives_to_a_pose_along_the_graph_within_tolerance() -> None:
    zones = KeepOutRight()
    nav = NavigatorCore(RoutePlanner(line_graph(), zones), zones=zones,
                        governor=SpeedGovernor(zones=zones))
    goal = Pose2D(35.0, 5.5, 0.0)
    assert nav.set_goal(0.0, Pose2D(1.0, 5.0, 0.0), goal).accepted
    pose, log = run(nav, Pose2D(1.0, 5.0, 0.0))
    assert log[-1][1] == "succeeded"
    assert pose.distance_to(goal) <= 0.25
    # Never above the zone limit (0.8 m/s for 25 <= x <= 30) - checked via the governor.
    assert max(v for _, _, v in log) <= 1.5


def test_bad_goals_are_rejected_with_a_reason() -> None:
    zones = KeepOutRight()
    nav = NavigatorCore(RoutePlanner(line_graph(), zones), zones=zones)
    r = nav.set_goal(0.0, Pose2D(1.0, 5.0), Pose2D(44.0, 5.0))
    assert not r.accepted and "outside the operating area" in r.reason
    assert r.cause is NavCause.REJECTED
    r = nav.set_goal(0.0, Pose2D(1.0, 5.0), Pose2D(20.0, 1.2))
    assert not r.accepted and "keep-out" in r.reason and r.cause is NavCause.REJECTED
    r = nav.set_goal(0.0, Pose2D(1.0, 5.0), Pose2D(20.0, 60.0))
    assert not r.accepted and r.reason.startswith("unreachable")
    assert r.cause is NavCause.UNREACHABLE and nav.failure is NavCause.UNREACHABLE
    assert nav.step(1.0, Pose2D(1.0, 5.0)).v == 0.0


@pytest.mark.parametrize("out", [0.8, 3.5])
def test_a_robot_outside_the_area_drives_back_in(out: float) -> None:
    # Pushed (or backed) past the operating area's edge at x = 42: its goals are still accepted
    # and it drives back in, rather than standing there refusing every path — also from farther
    # out than the zone check's lookahead (2.5 m), where no point of it is inside yet.
    zones = KeepOutRight()
    nav = NavigatorCore(RoutePlanner(line_graph(), zones), zones=zones,
                        governor=SpeedGovernor(zones=zones))
    assert out > nav.config.lookahead_check or out < 1.0
    start, goal = Pose2D(42.0 + out, 5.0, math.pi), Pose2D(35.0, 5.5, math.pi)
    r = nav.set_goal(0.0, start, goal)
    assert r.accepted, r.reason
    pose, log = run(nav, start)
    assert log[-1][1] == "succeeded" and pose.distance_to(goal) <= 0.25
    # ... but a goal out there is still refused
    assert not nav.set_goal(0.0, start, Pose2D(43.0, 5.0)).accepted


def test_person_crossing_stops_the_robot_then_it_resumes() -> None:
    nav = NavigatorCore(RoutePlanner(line_graph()))
    assert nav.set_goal(0.0, Pose2D(0.0, 5.0), Pose2D(30.0, 5.0)).accepted

    def person(t: float) -> list[tuple[float, float, float]]:
        # Stands on the sidewalk at x = 12 from t = 0 to t = 14 s, then walks away.
        return [(12.0, 5.0, 0.3)] if t < 14.0 else [(12.0, 30.0, 0.3)]

    pose, log = run(nav, Pose2D(0.0, 5.0, 0.0), person)
    statuses = [s for _, s, _ in log]
    assert "waiting" in statuses
    first_wait = statuses.index("waiting")
    assert all(v == 0.0 for _, s, v in log if s == "waiting")
    assert log[first_wait][0] < 14.0
    assert log[-1][1] == "succeeded"
    assert any(text == "resumed" for _, text in nav.events)


def footprint_clearance(pose: Pose2D, cx: float, cy: float, r: float) -> float:
    """m between a disc (cx, cy, r) and the 1.0 m x 0.6 m footprint at ``pose``."""
    c, s = math.cos(pose.theta), math.sin(pose.theta)
    lx, ly = c * (cx - pose.x) + s * (cy - pose.y), -s * (cx - pose.x) + c * (cy - pose.y)
    return math.hypot(max(abs(lx) - 0.5, 0.0), max(abs(ly) - 0.3, 0.0)) - r


def drive_among(nav: NavigatorCore, pose: Pose2D, people: object,
                t_max: float = 60.0) -> tuple[Pose2D, list[tuple[float, str, float]], float, float]:
    """Like ``run`` with moving people; also the least clearance to them (m) and the least y."""
    log: list[tuple[float, str, float]] = []
    least, low_y, t, dt = math.inf, pose.y, 0.0, 0.1
    while t < t_max:
        discs = people(t)  # type: ignore[operator]
        cmd = nav.step(t, pose, scan_of(pose, discs))
        log.append((t, cmd.status, cmd.v))
        if cmd.status in ("succeeded", "failed", "canceled"):
            break
        th = wrap_angle(pose.theta + cmd.w * dt)
        pose = Pose2D(pose.x + cmd.v * math.cos(th) * dt, pose.y + cmd.v * math.sin(th) * dt, th)
        t += dt
        least = min([least] + [footprint_clearance(pose, *d) for d in people(t)])  # type: ignore[operator]
        low_y = min(low_y, pose.y)
    return pose, log, least, low_y


def test_stops_short_of_where_a_crossing_person_is_about_to_be() -> None:
    # Someone crosses the sidewalk at x = 12 at 0.6 m/s, reaching the robot's line just as the
    # robot would: the robot stops before their path (not in it) and goes on once they passed.
    nav = NavigatorCore(RoutePlanner(line_graph()), GridPlanner(open_grid()))
    assert nav.set_goal(0.0, Pose2D(0.0, 5.0), Pose2D(30.0, 5.0)).accepted

    def person(t: float) -> list[tuple[float, float, float]]:
        y = 0.5 + 0.6 * max(0.0, t - 1.5)
        return [(12.0, y, 0.3)] if y < 9.0 else []

    pose, log, least, _ = drive_among(nav, Pose2D(0.0, 5.0, 0.0), person)
    assert log[-1][1] == "succeeded"
    assert least > 0.3, least
    # it stopped and waited for them, then drove on
    waited = [t for t, s, v in log if s == "waiting"]
    assert waited and any(v > 1.0 for t, _, v in log if t > waited[-1])


def test_steps_aside_for_a_person_coming_the_other_way() -> None:
    # A jogger runs along the robot's sidewalk line towards it (scripted: does not swerve);
    # the robot keeps to its right, lets them by, and is back on its path to the goal.
    nav = NavigatorCore(RoutePlanner(line_graph()), GridPlanner(open_grid()))
    goal = Pose2D(30.0, 5.0)
    assert nav.set_goal(0.0, Pose2D(0.0, 5.0), goal).accepted

    def jogger(t: float) -> list[tuple[float, float, float]]:
        return [(36.0 - 2.5 * t, 5.0, 0.3)]

    pose, log, least, low_y = drive_among(nav, Pose2D(0.0, 5.0, 0.0), jogger)
    assert log[-1][1] == "succeeded" and pose.distance_to(goal) <= 0.25
    assert least > 0.1, least
    assert low_y < 4.4  # stepped to the right of its line (y decreases to the right here)


def test_blocked_sidewalk_detours_on_the_grid() -> None:
    nav = NavigatorCore(RoutePlanner(line_graph()), GridPlanner(open_grid()),
                        config=NavigatorConfig(wait_timeout=3.0))
    goal = Pose2D(30.0, 5.0)
    assert nav.set_goal(0.0, Pose2D(0.0, 5.0), goal).accepted
    # A parked scooter that never moves, blocking the middle of the sidewalk.
    pose, log = run(nav, Pose2D(0.0, 5.0, 0.0), lambda t: [(12.0, 5.0, 0.4)])
    assert log[-1][1] == "succeeded"
    assert pose.distance_to(goal) <= 0.25
    assert any("blocked sidewalk" in text for _, text in nav.events)


def test_a_robot_held_in_place_by_a_dithering_obstacle_fails_as_blocked() -> None:
    # Pinned where it stands (against a kerb, a bollard the scan sees only now and then) with
    # someone stepping in front of it and away every 6 s: each time the robot resumes, so its
    # 8 s wait never runs out. With no progress for the stall timeout it replans, recovers and
    # at last fails as blocked for the fleet to plan again, instead of standing for ever.
    nav = NavigatorCore(RoutePlanner(line_graph()), GridPlanner(open_grid()),
                        config=NavigatorConfig(stall_timeout=30.0))
    assert nav.set_goal(0.0, Pose2D(0.0, 5.0), Pose2D(30.0, 5.0)).accepted
    pose, t, status = Pose2D(11.0, 5.0, 0.0), 0.0, "active"
    while t < 3600.0 and status not in ("succeeded", "failed"):
        person = [] if t % 6.0 > 5.8 else [(11.9, 5.0, 0.35)]
        status = nav.step(t, pose, scan_of(pose, person)).status
        t += 0.1
    assert sum(text == "resumed" for _, text in nav.events) >= 3  # the wait was reset
    stalls = [t for t, text in nav.events if text.startswith("no progress for 30 s")]
    assert stalls and stalls[0] < 45.0, nav.events[-8:]
    assert status == "failed" and nav.failure is NavCause.BLOCKED, nav.events[-8:]
    assert t < 600.0


def test_a_safety_pause_does_not_count_as_no_progress() -> None:
    # Steps stop for 60 s (the goal runner holds the navigator while the pose is uncertain);
    # the robot then drives on without treating the pause as being blocked.
    nav = NavigatorCore(RoutePlanner(line_graph()), config=NavigatorConfig(stall_timeout=30.0))
    assert nav.set_goal(0.0, Pose2D(0.0, 5.0), Pose2D(30.0, 5.0)).accepted
    pose = Pose2D(0.0, 5.0, 0.0)
    nav.step(0.0, pose, scan_of(pose, []))
    cmd = nav.step(60.0, pose, scan_of(pose, []))
    assert cmd.v > 0.0 or cmd.status == "active"
    assert not any(text.startswith("no progress") for _, text in nav.events)


def drive_to_parked(at_x: float) -> tuple[NavigatorCore, Pose2D, list[tuple[float, str, float]]]:
    """From (0, 5) to the goal (30, 5) along line_graph with a 0.45 m disc parked at (at_x, 5)."""
    nav = NavigatorCore(RoutePlanner(line_graph()), GridPlanner(open_grid()),
                        config=NavigatorConfig(wait_timeout=3.0))
    assert nav.set_goal(0.0, Pose2D(0.0, 5.0), Pose2D(30.0, 5.0)).accepted
    pose, log = run(nav, Pose2D(0.0, 5.0, 0.0), lambda t: [(at_x, 5.0, 0.45)], t_max=600.0)
    return nav, pose, log


def test_goal_occupied_by_a_parked_obstacle_fails_instead_of_circling() -> None:
    # Another robot parked on the goal (a shared depot pose). Detours only brought the robot
    # to it from the other side (grid detours, then recoveries: minutes); the goal ends as
    # blocked where the robot first waited for it, one wait_timeout later, without a detour.
    nav, pose, log = drive_to_parked(30.0)
    assert log[-1][1] == "failed", nav.events[-6:]
    waited = next(t for t, text in nav.events if text.startswith("stopped"))
    assert log[-1][0] <= waited + 3.0 + 0.2
    assert nav.events[-1][1] == "failed: blocked, something stands on the goal"
    assert nav.failure is NavCause.BLOCKED
    assert not any("detour" in text or "recovery" in text for _, text in nav.events)
    assert 1.0 < pose.distance_to(Pose2D(30.0, 5.0)) < 3.0


def test_something_standing_short_of_the_goal_is_still_passed() -> None:
    # A parked cart on the way 4 m short of the goal: not on the goal, so the robot detours
    # round it and arrives (the goal is not given up for what merely stands near it).
    nav, pose, log = drive_to_parked(26.0)
    assert log[-1][1] == "succeeded", nav.events[-6:]
    assert pose.distance_to(Pose2D(30.0, 5.0)) <= 0.25


def bay_graph() -> RouteGraph:
    """Sidewalk A(0, 5) - E(20, 5) - B(40, 5) with a 4.8 m path up from E to a bus-stop bay
    G(20, 9.8); across the road (10.2 < y < 13, crossed only at the ends) the sidewalk
    C(0, 13.5) - D(40, 13.5); crosswalks A-C and B-D. All two-way, 1.5 m/s."""
    return two_way_graph({0: (0.0, 5.0), 1: (20.0, 5.0), 2: (40.0, 5.0), 3: (20.0, 9.8),
                          4: (0.0, 13.5), 5: (40.0, 13.5)},
                         [(0, 1), (1, 2), (1, 3), (4, 5), (0, 4), (2, 5)])


class RoadAcross(PointwiseZoneRules):
    """bay_graph's road (10.2 < y < 13 between the crosswalks) is not for robots."""

    def speed_limit_at(self, x: float, y: float) -> float:
        return 1.5

    def is_allowed(self, x: float, y: float) -> bool:
        return not (10.2 < y < 13.0 and 2.0 < x < 38.0)


def test_replans_round_people_on_the_goal_never_cross_the_road() -> None:
    # A queue stands on the goal (a bus stop's watch point at the end of its path). Closing
    # that path leaves the sidewalk across the road as the nearest open edge: a replan joining
    # it by a straight leg over the road held the robot at the kerb ("keep-out ahead") for the
    # stall timeout, reroute after reroute (a bus-stop patrol failed 14 m away, after minutes).
    # Every path followed keeps to allowed places, and the goal soon ends blocked by the queue.
    zones = RoadAcross()
    grid = OccupancyGrid(np.zeros((400, 900), dtype=np.int8), 0.05, -2.0, 0.0)
    nav = NavigatorCore(RoutePlanner(bay_graph(), zones), GridPlanner(grid), zones=zones,
                        config=NavigatorConfig(wait_timeout=3.0))
    goal = Pose2D(20.0, 9.8)
    start = Pose2D(2.0, 5.0, 0.0)
    assert nav.set_goal(0.0, start, goal).accepted
    queue = [(20.0, 9.8, 0.3), (20.6, 10.0, 0.3), (19.4, 9.9, 0.3)]
    pose, t, status = start, 0.0, "active"
    while t < 1200.0 and status not in ("succeeded", "failed"):
        cmd = nav.step(t, pose, scan_of(pose, queue))
        status = cmd.status
        assert first_disallowed(zones, nav.path, 0.1, False) < 0, (t, nav.events[-3:])
        th = wrap_angle(pose.theta + cmd.w * 0.1)
        pose = Pose2D(pose.x + cmd.v * math.cos(th) * 0.1, pose.y + cmd.v * math.sin(th) * 0.1,
                      th)
        t += 0.1
    assert status == "failed" and nav.failure is NavCause.BLOCKED, nav.events[-6:]
    assert pose.distance_to(goal) < 8.0, pose
    assert t < 120.0, nav.events


def test_a_robot_in_an_alley_closed_on_both_sides_of_it_drives_out() -> None:
    # A 60 m alley P(0, 0) - Q(0, 30) - R(0, 60) off the street R - T(40, 60), and P - U(40, 0)
    # - T round the block. Something dumped at Q: the fleet closes the alley on both sides of
    # the robot watching there, and no open edge is within the join distance. The robot must
    # still leave (the way it faces away from) and reach its next door.
    graph = two_way_graph({0: (0.0, 0.0), 1: (0.0, 30.0), 2: (0.0, 60.0), 3: (40.0, 60.0),
                           4: (40.0, 0.0)}, [(0, 1), (1, 2), (2, 3), (0, 4), (4, 3)])
    nav = NavigatorCore(RoutePlanner(graph))
    nav.closed_edges = {0, 1, 2, 3}  # the whole alley
    here = Pose2D(0.0, 29.8, math.pi / 2)  # facing the dumped furniture, north
    r = nav.set_goal(0.0, here, Pose2D(40.0, 30.0))
    assert r.accepted, r.reason
    assert nav.path[1][1] < here.y  # out to the south, away from the furniture


def test_blocked_corridor_reroutes_through_the_graph() -> None:
    # A barrier across the whole lower sidewalk (not in the map): the grid detour would be far
    # longer than the blocked stretch, so the route goes round by y = 15 instead.
    barrier = [(23.0, y, 0.35) for y in np.arange(0.3, 6.2, 0.5)]
    nav = NavigatorCore(RoutePlanner(line_graph()), GridPlanner(open_grid()),
                        config=NavigatorConfig(wait_timeout=2.0, detour_ahead=6.0))
    goal = Pose2D(40.0, 10.0, math.pi / 2)  # on the east link, beyond the blocked edge
    assert nav.set_goal(0.0, Pose2D(15.0, 5.0), goal).accepted
    pose, log = run(nav, Pose2D(15.0, 5.0, 0.0), lambda t: barrier, t_max=300.0)
    assert pose.distance_to(goal) <= 0.25
    assert log[-1][1] == "succeeded"
    assert any("rerouted" in text for _, text in nav.events)
    assert nav.blocked_edges


def test_cancel_stops() -> None:
    nav = NavigatorCore(RoutePlanner(line_graph()))
    nav.set_goal(0.0, Pose2D(0.0, 5.0), Pose2D(30.0, 5.0))
    nav.step(0.0, Pose2D(0.0, 5.0))
    nav.cancel(0.1)
    cmd = nav.step(0.2, Pose2D(0.1, 5.0))
    assert cmd.status == "canceled" and cmd.v == 0.0 and cmd.w == 0.0


def test_eta_and_distance_left() -> None:
    nav = NavigatorCore(RoutePlanner(line_graph()))
    nav.set_goal(0.0, Pose2D(0.0, 5.0), Pose2D(30.0, 5.0))
    cmd = nav.step(0.0, Pose2D(0.0, 5.0))
    assert cmd.distance_left == pytest.approx(30.0)
    assert cmd.eta == pytest.approx(20.0)


def test_nose_against_a_wall_backs_out_before_turning_round() -> None:
    # Parked facing a wall 5 cm beyond its nose (as at a door) with the goal behind it: a turn
    # on the spot would sweep the footprint's corners (0.58 m from the centre) into the wall.
    wall = [(10.9, y, 0.35) for y in np.arange(3.0, 7.01, 0.25)]
    nav = NavigatorCore(RoutePlanner(line_graph()))
    start, goal = Pose2D(10.0, 5.0, 0.0), Pose2D(2.0, 5.0, math.pi)
    assert nav.set_goal(0.0, start, goal).accepted
    pose, t, backed = start, 0.0, False
    while t < 60.0:
        cmd = nav.step(t, pose, scan_of(pose, wall))
        if cmd.status == "succeeded":
            break
        clearance = min(math.hypot(pose.x - cx, pose.y - cy) - r for cx, cy, r in wall)
        if cmd.w != 0.0 and cmd.v == 0.0:
            assert clearance > math.hypot(0.5, 0.3), (t, pose)  # room to turn
        backed |= cmd.v < 0.0 and cmd.reason == "backing out to turn"
        th = wrap_angle(pose.theta + cmd.w * 0.1)
        pose = Pose2D(pose.x + cmd.v * math.cos(th) * 0.1, pose.y + cmd.v * math.sin(th) * 0.1,
                      th)
        t += 0.1
    assert backed and cmd.status == "succeeded", nav.events
    assert pose.distance_to(goal) <= 0.25
