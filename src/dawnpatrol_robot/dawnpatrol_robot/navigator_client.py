"""Mission-side client of DawnPatrol's ``navigate`` action with the method surface of Nav2's
BasicNavigator, but non-blocking: call ``isTaskComplete()`` from a timer instead of spinning.
It is also the mission runner's navigator port (``go_to``, ``outcome``, ``progress``,
``cancel``: see dawnpatrol_core.delivery.mission_runner.NavigatorPort), with each goal's cause."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.task import Future

from dawnpatrol_core.control.causes import REACHED, NavCause, NavResult
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_interfaces.action import Navigate
from dawnpatrol_ros.codecs import cause_from_code
from dawnpatrol_ros.convert import pose2d_to_msg
from dawnpatrol_ros.qos import RELIABLE_QOS


class TaskResult(IntEnum):
    """Outcome of a navigation task (same values as nav2_simple_commander's TaskResult)."""

    UNKNOWN = 0
    SUCCEEDED = 1
    CANCELED = 2
    FAILED = 3


class Navigator:
    """Drives the ``navigate`` action of ``node``'s namespace; one task at a time (a new goal
    cancels the previous one). ``lastCause`` and ``lastReason`` say why the last task failed or
    was refused."""

    def __init__(self, node: Node, action_name: str = "navigate",
                 initialpose_topic: str = "initialpose") -> None:
        self._node = node
        self._client = ActionClient(node, Navigate, action_name)
        self._initialpose = node.create_publisher(
            PoseWithCovarianceStamped, initialpose_topic, RELIABLE_QOS)
        self._task = 0            # id of the newest task; callbacks of older ones are ignored
        self._goal_handle: Any = None
        self._cancel_wanted = False
        self._complete = True
        self._result = TaskResult.UNKNOWN
        self._feedback: Navigate.Feedback | None = None
        self.lastReason = ""
        self.lastCause = NavCause.NONE

    # -- the mission runner's navigator port -----------------------------------------------
    def go_to(self, goal: Pose2D, now: float) -> bool:
        """Send ``goal`` (map frame); False when no server is up (``now`` unused: the stamp
        is the node's clock)."""
        msg = PoseStamped(pose=pose2d_to_msg(goal))
        msg.header.stamp = self._node.get_clock().now().to_msg()
        msg.header.frame_id = "map"
        return self.goToPose(msg)

    def outcome(self) -> NavResult | None:
        """How the last goal ended (cause and reason); None while it is under way."""
        if not self._complete:
            return None
        if self._result is TaskResult.SUCCEEDED:
            return REACHED
        return NavResult(self.lastCause, self.lastReason)

    def progress(self) -> tuple[float, float]:
        """(distance left m, ETA s) from the latest feedback; (0, 0) without one."""
        fb = self._feedback
        return (0.0, 0.0) if fb is None else (float(fb.distance_remaining_m), float(fb.eta_s))

    def cancel(self) -> None:
        """Cancel the goal under way."""
        self.cancelTask()

    # -- BasicNavigator's surface ----------------------------------------------------------
    def isServerReady(self) -> bool:
        """True once the ``navigate`` action server is discovered."""
        return bool(self._client.server_is_ready())

    def goToPose(self, pose: PoseStamped) -> bool:
        """Send a goal pose (map frame); False (with ``lastReason``) if no server is up."""
        return self._send(Navigate.Goal(pose=pose))

    def followWaypoints(self, poses: Sequence[PoseStamped]) -> bool:
        """Send waypoints to pass in order; False (with ``lastReason``) if no server is up."""
        return self._send(Navigate.Goal(waypoints=list(poses)))

    def isTaskComplete(self) -> bool:
        """True when no task is in progress (finished, refused, canceled or none sent)."""
        return self._complete

    def getFeedback(self) -> Navigate.Feedback | None:
        """Latest feedback of the task (distance_remaining_m, eta_s, status, …) or None."""
        return self._feedback

    def getResult(self) -> TaskResult:
        """Outcome of the last task; UNKNOWN while it is in progress."""
        return self._result

    def cancelTask(self) -> None:
        """Ask the server to cancel the task in progress (result becomes CANCELED)."""
        if self._complete:
            return
        self._cancel_wanted = True
        if self._goal_handle is not None:
            self._goal_handle.cancel_goal_async()

    def setInitialPose(self, pose: PoseStamped) -> None:
        """Publish ``pose`` on ``initialpose`` for localization (default covariance)."""
        msg = PoseWithCovarianceStamped()
        msg.header = pose.header
        msg.pose.pose = pose.pose
        cov = [0.0] * 36
        cov[0] = cov[7] = 0.25
        cov[35] = 0.0685
        msg.pose.covariance = cov
        self._initialpose.publish(msg)

    def destroy(self) -> None:
        """Release the action client and publisher."""
        self._client.destroy()
        self._node.destroy_publisher(self._initialpose)

    # -- internals -------------------------------------------------------------------------
    def _send(self, goal: Navigate.Goal) -> bool:
        if not self._complete:
            self.cancelTask()
        self._task += 1
        task = self._task
        self._goal_handle = None
        self._cancel_wanted = False
        self._feedback = None
        if not self._client.server_is_ready():
            self._finish(task, TaskResult.FAILED, "navigate action server not available",
                         NavCause.UNKNOWN)
            return False
        self._complete = False
        self._result = TaskResult.UNKNOWN
        self.lastReason = ""
        self.lastCause = NavCause.NONE
        future = self._client.send_goal_async(
            goal, feedback_callback=lambda fb: self._on_feedback(task, fb))
        future.add_done_callback(lambda f: self._on_goal_response(task, f))
        return True

    def _on_feedback(self, task: int, fb: Any) -> None:
        if task == self._task:
            self._feedback = fb.feedback

    def _on_goal_response(self, task: int, future: Future) -> None:
        handle = future.result()
        if task != self._task:  # superseded while pending: stop it
            if handle is not None and handle.accepted:
                handle.cancel_goal_async()
            return
        if handle is None or not handle.accepted:
            self._finish(task, TaskResult.FAILED, "goal rejected by the navigator",
                         NavCause.REJECTED)
            return
        self._goal_handle = handle
        handle.get_result_async().add_done_callback(lambda f: self._on_result(task, f))
        if self._cancel_wanted:
            handle.cancel_goal_async()

    def _on_result(self, task: int, future: Future) -> None:
        response = future.result()
        if response is None:
            self._finish(task, TaskResult.FAILED, "no result from the navigator",
                         NavCause.UNKNOWN)
            return
        res, status = response.result, response.status
        cause = cause_from_code(res.cause)
        if status == GoalStatus.STATUS_SUCCEEDED and res.code == Navigate.Result.CODE_SUCCEEDED:
            self._finish(task, TaskResult.SUCCEEDED, "", NavCause.NONE)
        elif status == GoalStatus.STATUS_CANCELED or res.code == Navigate.Result.CODE_CANCELED:
            self._finish(task, TaskResult.CANCELED, res.reason or "canceled", NavCause.CANCELED)
        else:
            self._finish(task, TaskResult.FAILED, res.reason or f"goal status {status}",
                         NavCause.UNKNOWN if cause is NavCause.NONE else cause)

    def _finish(self, task: int, result: TaskResult, reason: str, cause: NavCause) -> None:
        if task != self._task:
            return
        self._result = result  # result first: the mission may poll from another thread
        self.lastReason, self.lastCause = reason, cause
        self._complete = True
