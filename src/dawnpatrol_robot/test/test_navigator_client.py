"""Navigator (BasicNavigator surface over our navigate action) against a fake navigate server.

Also home of the in-process ROS harness and the fake server that test_mission_node.py reuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import rclpy
from dawnpatrol_pytest import wait_for
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.task import Future

from dawnpatrol_core.control.causes import REACHED, NavCause, NavResult
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_interfaces.action import Navigate
from dawnpatrol_robot.navigator_client import Navigator, TaskResult
from dawnpatrol_ros.qos import RELIABLE_QOS

pytestmark = pytest.mark.ros


class FakeNavServer(Node):
    """``navigate`` server: ``mode`` succeed (after ``steps`` feedback steps of 20 ms), hold
    (until canceled), fail or reject. Records every goal."""

    def __init__(self, context: Context, namespace: str = "/r1") -> None:
        super().__init__("fake_navigator", namespace=namespace, context=context)
        self.mode = "succeed"
        self.steps = 3
        self.goals: list[Navigate.Goal] = []
        self._server = ActionServer(
            self, Navigate, "navigate", execute_callback=self._execute,
            goal_callback=self._on_goal, cancel_callback=lambda _: CancelResponse.ACCEPT)

    def _on_goal(self, goal: Navigate.Goal) -> GoalResponse:
        self.goals.append(goal)
        return GoalResponse.REJECT if self.mode == "reject" else GoalResponse.ACCEPT

    async def _pause(self, seconds: float) -> None:
        """Paces the simulated drive without blocking the (single) executor thread."""
        done = Future()
        timer = self.create_timer(seconds, lambda: done.done() or done.set_result(None))
        await done
        self.destroy_timer(timer)

    async def _execute(self, handle: Any) -> Navigate.Result:
        for i in range(1500):
            if handle.is_cancel_requested:
                handle.canceled()
                return Navigate.Result(code=Navigate.Result.CODE_CANCELED, reason="canceled")
            if self.mode != "hold" and i >= self.steps:
                break
            left = max(10.0 - 0.1 * i, 1.0)  # a hold never arrives
            handle.publish_feedback(Navigate.Feedback(
                distance_remaining_m=left, eta_s=left / 1.5, status="following"))
            await self._pause(0.02)
        if self.mode == "fail":
            handle.abort()
            return Navigate.Result(code=Navigate.Result.CODE_FAILED,
                                   cause=Navigate.Result.CAUSE_BLOCKED, reason="blocked sidewalk")
        handle.succeed()
        return Navigate.Result(code=Navigate.Result.CODE_SUCCEEDED)


class Ros:
    """A private rclpy context spun by one executor thread in the background (as the nodes'
    own processes are: see dawnpatrol_ros.node.run_node)."""

    def __init__(self) -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.nodes: list[Node] = []
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def add(self, node: Node) -> Any:
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def remove(self, node: Node) -> None:
        self.nodes.remove(node)
        self.executor.remove_node(node)
        node.destroy_node()

    def close(self) -> None:
        # Stop spinning first, so no callback runs on a node being destroyed.
        self.executor.shutdown(timeout_sec=5.0)
        self._thread.join(5.0)
        for node in self.nodes:
            node.destroy_node()
        self.nodes.clear()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def ros() -> Iterator[Ros]:
    r = Ros()
    yield r
    r.close()


def goal_pose(x: float, y: float) -> PoseStamped:
    p = PoseStamped()
    p.header.frame_id = "map"
    p.pose.position.x, p.pose.position.y = x, y
    p.pose.orientation.w = 1.0
    return p


@pytest.fixture
def nav(ros: Ros) -> tuple[Navigator, FakeNavServer, Node]:
    server = ros.add(FakeNavServer(ros.context))
    node = ros.add(Node("mission_client", namespace="/r1", context=ros.context))
    navigator = Navigator(node)
    wait_for(navigator.isServerReady, 10.0, "navigate server discovered")
    return navigator, server, node


def test_go_to_pose_succeeds_with_feedback(nav: tuple[Navigator, FakeNavServer, Node]) -> None:
    navigator, server, _ = nav
    assert navigator.isTaskComplete()  # nothing sent yet
    assert navigator.goToPose(goal_pose(3.0, 4.0))
    assert navigator.getResult() is TaskResult.UNKNOWN
    wait_for(navigator.isTaskComplete, 10.0, "task complete")
    assert navigator.getResult() is TaskResult.SUCCEEDED
    assert navigator.lastReason == ""
    assert navigator.outcome() == REACHED
    fb = navigator.getFeedback()
    assert fb is not None and fb.status == "following"
    assert navigator.progress() == (fb.distance_remaining_m, fb.eta_s)
    assert server.goals[0].pose.pose.position.x == 3.0
    assert server.goals[0].pose.pose.position.y == 4.0


def test_cancel_task(nav: tuple[Navigator, FakeNavServer, Node]) -> None:
    navigator, server, _ = nav
    server.mode = "hold"
    assert navigator.goToPose(goal_pose(1.0, 0.0))
    wait_for(lambda: navigator.getFeedback() is not None, 10.0, "feedback while driving")
    assert not navigator.isTaskComplete()
    navigator.cancel()
    wait_for(navigator.isTaskComplete, 10.0, "canceled task complete")
    assert navigator.getResult() is TaskResult.CANCELED
    outcome = navigator.outcome()
    assert outcome is not None and outcome.cause is NavCause.CANCELED


def test_rejected_and_failed_goals_give_reasons(
        nav: tuple[Navigator, FakeNavServer, Node]) -> None:
    navigator, server, _ = nav
    server.mode = "reject"
    assert navigator.goToPose(goal_pose(1.0, 0.0))
    wait_for(navigator.isTaskComplete, 10.0, "rejected task complete")
    assert navigator.getResult() is TaskResult.FAILED
    assert navigator.lastReason == "goal rejected by the navigator"
    assert navigator.outcome() == NavResult(NavCause.REJECTED, "goal rejected by the navigator")
    server.mode = "fail"
    assert navigator.go_to(Pose2D(1.0, 0.0), 0.0)  # the mission runner's port
    assert navigator.outcome() is None
    wait_for(navigator.isTaskComplete, 10.0, "failed task complete")
    assert navigator.getResult() is TaskResult.FAILED
    assert navigator.lastReason == "blocked sidewalk"
    assert navigator.outcome() == NavResult(NavCause.BLOCKED, "blocked sidewalk")  # the cause
    assert server.goals[-1].pose.header.frame_id == "map"


def test_follow_waypoints_sends_all_poses(nav: tuple[Navigator, FakeNavServer, Node]) -> None:
    navigator, server, _ = nav
    assert navigator.followWaypoints([goal_pose(1.0, 0.0), goal_pose(2.0, 0.0)])
    wait_for(navigator.isTaskComplete, 10.0, "waypoints done")
    assert navigator.getResult() is TaskResult.SUCCEEDED
    assert [w.pose.position.x for w in server.goals[0].waypoints] == [1.0, 2.0]


def test_no_server_returns_false_with_reason(ros: Ros) -> None:
    node = ros.add(Node("lonely", namespace="/r9", context=ros.context))
    navigator = Navigator(node)
    assert not navigator.goToPose(goal_pose(1.0, 0.0))
    assert navigator.isTaskComplete()
    assert navigator.getResult() is TaskResult.FAILED
    assert "not available" in navigator.lastReason
    assert not navigator.go_to(Pose2D(1.0, 0.0), 0.0)


def test_set_initial_pose_publishes(nav: tuple[Navigator, FakeNavServer, Node]) -> None:
    navigator, _, node = nav
    got: list[PoseWithCovarianceStamped] = []
    node.create_subscription(PoseWithCovarianceStamped, "initialpose", got.append, RELIABLE_QOS)
    wait_for(lambda: node.count_subscribers("initialpose") > 0, 10.0, "initialpose subscriber")

    def publish_and_check() -> bool:
        if not got:
            navigator.setInitialPose(goal_pose(5.0, 6.0))
        return bool(got)

    wait_for(publish_and_check, 10.0, "initial pose received")
    assert (got[0].pose.pose.position.x, got[0].pose.pose.position.y) == (5.0, 6.0)
    assert got[0].header.frame_id == "map"
