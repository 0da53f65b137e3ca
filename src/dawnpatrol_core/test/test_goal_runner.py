"""The navigator node's goal supervision (GoalRunner): every way a goal ends carries its cause."""

from __future__ import annotations

import math

from disc_scan import scan_of
from test_navigator import KeepOutRight, line_graph, open_grid

from dawnpatrol_core.control.causes import REACHED, NavCause, NavResult
from dawnpatrol_core.control.goal_runner import GoalRunner, InProcessNavigator
from dawnpatrol_core.control.navigator import NavigatorConfig, NavigatorCore
from dawnpatrol_core.geometry import Pose2D, wrap_angle
from dawnpatrol_core.planning.grid_planner import GridPlanner
from dawnpatrol_core.planning.route_search import RoutePlanner
from dawnpatrol_core.safety.estop import EStop
from dawnpatrol_core.safety.governor import SpeedGovernor
from dawnpatrol_core.safety.localization_gate import LocalizationGate

DT = 0.1


def runner(gate: LocalizationGate | None = None, estop: EStop | None = None,
           config: NavigatorConfig | None = None) -> GoalRunner:
    zones = KeepOutRight()
    nav = NavigatorCore(RoutePlanner(line_graph(), zones), GridPlanner(open_grid()), zones,
                        SpeedGovernor(zones=zones, estop=estop), config)
    return GoalRunner(nav, gate, pose_timeout_s=1.0)


def drive(r: GoalRunner, pose: Pose2D, t0: float, t1: float, discs: list[tuple[float, float,
          float]] | None = None, lost: bool = False) -> tuple[Pose2D, float, NavResult | None]:
    """Integrate the runner's commands from ``t0`` to ``t1`` (or the goal's end)."""
    t = t0
    while t < t1:
        r.pose_in(pose, t, t)
        r.health_in(t, lost)
        tick = r.tick(t, scan_of(pose, discs or []))
        if tick.result is not None:
            return pose, t, tick.result
        th = wrap_angle(pose.theta + tick.w * DT)
        pose = Pose2D(pose.x + tick.v * math.cos(th) * DT, pose.y + tick.v * math.sin(th) * DT, th)
        t += DT
    return pose, t, None


def test_waypoints_are_driven_in_order_and_the_goal_is_reached() -> None:
    r = runner()
    start = Pose2D(1.0, 5.0, 0.0)
    r.pose_in(start, 0.0, 0.0)
    assert r.start(0.0, [Pose2D(10.0, 5.0), Pose2D(30.0, 5.0, 0.0)]) is None
    pose, _, result = drive(r, start, 0.0, 200.0)
    assert result == REACHED and r.last == REACHED and not r.active
    assert math.hypot(pose.x - 30.0, pose.y - 5.0) <= 0.25


def test_refusals_carry_their_cause() -> None:
    r = runner()
    assert r.start(0.0, [Pose2D(1.0, 1.0)]) == NavResult(
        NavCause.POSE_LOST, "no current pose (is localization running?)")
    r.pose_in(Pose2D(1.0, 5.0), 0.0, 0.0)
    refused = r.start(0.0, [Pose2D(44.0, 5.0)])
    assert refused is not None and refused.cause is NavCause.REJECTED
    refused = r.start(0.0, [Pose2D(20.0, 60.0)])
    assert refused is not None and refused.cause is NavCause.UNREACHABLE
    assert not r.active


def test_estop_ends_the_goal_as_a_safety_stop_and_refuses_new_ones() -> None:
    estop = EStop()
    r = runner(estop=estop)
    start = Pose2D(1.0, 5.0, 0.0)
    r.pose_in(start, 0.0, 0.0)
    assert r.start(0.0, [Pose2D(35.0, 5.0)]) is None
    pose, t, _ = drive(r, start, 0.0, 5.0)
    estop.trigger(t, "op", "test")
    _, _, result = drive(r, pose, t, t + 1.0)
    assert result is not None and result.cause is NavCause.SAFETY_STOP
    refused = r.start(t + 1.0, [Pose2D(35.0, 5.0)])
    assert refused is not None and refused.cause is NavCause.SAFETY_STOP


def test_a_silent_pose_source_ends_the_goal_as_pose_lost() -> None:
    r = runner()
    r.pose_in(Pose2D(1.0, 5.0), 0.0, 0.0)
    assert r.start(0.0, [Pose2D(35.0, 5.0)]) is None
    tick = r.tick(1.5, None)  # the last pose is 1.5 s old: the timeout is 1 s
    assert tick.stopped and (tick.v, tick.w) == (0.0, 0.0)
    assert tick.result == NavResult(NavCause.POSE_LOST, "pose lost")


def test_lost_localization_holds_then_replans_or_fails_as_localization_lost() -> None:
    r = runner(LocalizationGate(10.0))
    start = Pose2D(1.0, 5.0, 0.0)
    r.pose_in(start, 0.0, 0.0)
    assert r.start(0.0, [Pose2D(35.0, 5.0)]) is None
    pose, t, _ = drive(r, start, 0.0, 3.0)
    r.health_in(t, True)
    r.pose_in(pose, t, t)
    tick = r.tick(t, None)
    assert tick.held and tick.stopped and tick.result is None and r.active
    _, t, result = drive(r, pose, t, t + 5.0, lost=True)
    assert result is None  # held within the timeout, the goal kept
    pose, t, result = drive(r, pose, t, t + 200.0)  # recovered: replanned, driven on
    assert result == REACHED
    assert r.start(t, [Pose2D(1.0, 5.0)]) is None
    _, _, result = drive(r, pose, t, t + 30.0, lost=True)
    assert result is not None and result.cause is NavCause.LOCALIZATION_LOST
    assert result.reason.startswith("localization lost for 1")


def test_a_way_that_stays_blocked_ends_as_blocked() -> None:
    r = runner(config=NavigatorConfig(wait_timeout=3.0))
    start = Pose2D(0.0, 5.0, 0.0)
    r.pose_in(start, 0.0, 0.0)
    assert r.start(0.0, [Pose2D(30.0, 5.0)]) is None
    _, _, result = drive(r, start, 0.0, 600.0, discs=[(30.0, 5.0, 0.45)])
    assert result is not None and result.cause is NavCause.BLOCKED


def test_in_process_port_gives_the_mission_each_goal_once() -> None:
    r = runner()
    port = InProcessNavigator(r)
    start = Pose2D(1.0, 5.0, 0.0)
    r.pose_in(start, 0.0, 0.0)
    assert port.outcome() is None and port.go_to(Pose2D(44.0, 5.0), 0.0)
    refused = port.outcome()
    assert refused is not None and refused.cause is NavCause.REJECTED
    assert port.go_to(Pose2D(10.0, 5.0), 0.0) and port.outcome() is None
    r.tick(0.0, None)
    assert port.progress()[0] > 5.0
    port.cancel()
    assert port.outcome() == NavResult(NavCause.CANCELED, "canceled")
