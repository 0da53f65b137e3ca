"""The mission's navigator surface over Nav2's real BasicNavigator, for robots that run Nav2.
Nav2 is imported only when the adapter is built, so this module imports fine without it.

Nav2's results carry an error code (``error_code`` of NavigateToPose and of the planner and
controller servers whose codes the behaviour tree passes up); :func:`cause_of_nav2` maps it to
our :class:`NavCause`, so the mission decides on the same causes whichever navigator runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geometry_msgs.msg import PoseStamped

from dawnpatrol_core.control.causes import REACHED, NavCause, NavResult
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_robot.navigator_client import TaskResult
from dawnpatrol_ros.convert import pose2d_to_msg

# Nav2 (Jazzy) error codes -> (cause, what happened). FollowPath 100-107, ComputePathToPose
# 200-208, ComputePathThroughPoses 300-309, NavigateToPose / NavigateThroughPoses 9000-9002.
NAV2_CODES: dict[int, tuple[NavCause, str]] = {
    100: (NavCause.UNKNOWN, "controller failed"),
    101: (NavCause.UNKNOWN, "invalid controller"),
    102: (NavCause.POSE_LOST, "controller: no transform to the robot"),
    103: (NavCause.UNREACHABLE, "controller: invalid path"),
    104: (NavCause.BLOCKED, "controller: patience exceeded"),
    105: (NavCause.BLOCKED, "controller: failed to make progress"),
    106: (NavCause.BLOCKED, "controller: no valid control"),
    107: (NavCause.BLOCKED, "controller timed out"),
    200: (NavCause.UNKNOWN, "planner failed"),
    201: (NavCause.UNKNOWN, "invalid planner"),
    202: (NavCause.POSE_LOST, "planner: no transform to the robot"),
    203: (NavCause.LOCALIZATION_LOST, "planner: start outside the map"),
    204: (NavCause.REJECTED, "planner: goal outside the map"),
    205: (NavCause.BLOCKED, "planner: start occupied"),
    206: (NavCause.BLOCKED, "planner: goal occupied"),
    207: (NavCause.UNREACHABLE, "planner timed out"),
    208: (NavCause.UNREACHABLE, "planner: no valid path"),
    300: (NavCause.UNKNOWN, "planner failed"),
    301: (NavCause.UNKNOWN, "invalid planner"),
    302: (NavCause.POSE_LOST, "planner: no transform to the robot"),
    303: (NavCause.LOCALIZATION_LOST, "planner: start outside the map"),
    304: (NavCause.REJECTED, "planner: goal outside the map"),
    305: (NavCause.BLOCKED, "planner: start occupied"),
    306: (NavCause.BLOCKED, "planner: goal occupied"),
    307: (NavCause.UNREACHABLE, "planner timed out"),
    308: (NavCause.UNREACHABLE, "planner: no valid path"),
    309: (NavCause.REJECTED, "planner: no via points given"),
    9000: (NavCause.UNKNOWN, "navigator failed"),
    9001: (NavCause.UNKNOWN, "navigator: behavior tree failed to load"),
    9002: (NavCause.UNREACHABLE, "navigator timed out"),
}


def cause_of_nav2(result: TaskResult, error_code: int | None, error_msg: str = "") -> NavResult:
    """Our result of a Nav2 task: ``result`` (BasicNavigator's TaskResult), Nav2's
    ``error_code`` (None when the result carried none) and ``error_msg``."""
    if result is TaskResult.SUCCEEDED:
        return REACHED
    if result is TaskResult.CANCELED:
        return NavResult(NavCause.CANCELED, "nav2: canceled")
    cause, what = NAV2_CODES.get(int(error_code or 0), (NavCause.UNKNOWN, "failed"))
    code = f" (error {error_code})" if error_code else ""
    reason = f"nav2 {what}{code}" + (f": {error_msg}" if error_msg else "")
    if cause is NavCause.UNREACHABLE:
        reason = f"unreachable: {reason}"
    return NavResult(cause, reason)


class Nav2Navigator:
    """Same methods as :class:`dawnpatrol_robot.navigator_client.Navigator` (BasicNavigator's
    surface and the mission runner's navigator port), delegated to
    ``nav2_simple_commander.robot_navigator.BasicNavigator`` in ``namespace``."""

    def __init__(self, namespace: str = "", navigator: Any = None) -> None:
        if navigator is None:
            try:
                from nav2_simple_commander.robot_navigator import BasicNavigator
            except ImportError:
                raise ConfigError(
                    "parameter 'navigator': got 'nav2', expected nav2_simple_commander to be "
                    "installed (use navigator:=dawnpatrol here)") from None
            navigator = BasicNavigator(node_name="mission_nav2", namespace=namespace)
        self._nav: Any = navigator
        self._busy = False
        self.lastReason = ""
        self.lastCause = NavCause.NONE

    # -- the mission runner's navigator port -----------------------------------------------
    def go_to(self, goal: Pose2D, now: float) -> bool:
        """Send ``goal`` (map frame, stamped by Nav2's node clock)."""
        msg = PoseStamped(pose=pose2d_to_msg(goal))
        msg.header.frame_id = "map"
        msg.header.stamp = self._nav.get_clock().now().to_msg()
        return self.goToPose(msg)

    def outcome(self) -> NavResult | None:
        """How the last goal ended (cause from Nav2's error code); None while under way."""
        if not self.isTaskComplete():
            return None
        return REACHED if self.getResult() is TaskResult.SUCCEEDED else NavResult(
            self.lastCause, self.lastReason)

    def progress(self) -> tuple[float, float]:
        """(distance left m, ETA s) from Nav2's feedback; (0, 0) without one."""
        fb = self._nav.getFeedback()
        if fb is None:
            return 0.0, 0.0
        eta = getattr(fb, "estimated_time_remaining", None)
        secs = float(eta.sec + eta.nanosec * 1e-9) if eta is not None else 0.0
        return float(getattr(fb, "distance_remaining", 0.0)), secs

    def cancel(self) -> None:
        self.cancelTask()

    # -- BasicNavigator's surface ----------------------------------------------------------
    def isServerReady(self) -> bool:
        """Nav2's action servers are awaited by BasicNavigator itself: always True."""
        return True

    def goToPose(self, pose: PoseStamped) -> bool:
        """Send a goal pose; False (with ``lastReason``) if Nav2 rejects it."""
        return self._started(self._nav.goToPose(pose))

    def followWaypoints(self, poses: Sequence[PoseStamped]) -> bool:
        """Follow waypoints in order; False (with ``lastReason``) if Nav2 rejects them."""
        return self._started(self._nav.followWaypoints(list(poses)))

    def isTaskComplete(self) -> bool:
        """True when no task is in progress (spins Nav2's node briefly)."""
        if not self._busy:
            return True
        done = bool(self._nav.isTaskComplete())
        if done:
            self._busy = False
            code, msg = self._error()
            r = cause_of_nav2(self.getResult(), code, msg)
            self.lastCause, self.lastReason = r.cause, r.reason
        return done

    def getFeedback(self) -> Any:
        """Nav2's latest feedback message (NavigateToPose/FollowWaypoints feedback) or None."""
        return self._nav.getFeedback()

    def getResult(self) -> TaskResult:
        """Outcome of the last task, mapped onto our TaskResult by name."""
        return TaskResult[self._nav.getResult().name]

    def cancelTask(self) -> None:
        """Cancel the task in progress."""
        self._nav.cancelTask()

    def setInitialPose(self, pose: PoseStamped) -> None:
        """Publish the initial pose for AMCL."""
        self._nav.setInitialPose(pose)

    def destroy(self) -> None:
        """Destroy the BasicNavigator node."""
        self._nav.destroy_node()

    def _error(self) -> tuple[int | None, str]:
        """Nav2's ``error_code`` and ``error_msg`` of the finished task's result, when the
        result message has them (BasicNavigator keeps the result future)."""
        future = getattr(self._nav, "result_future", None)
        wrapped = future.result() if future is not None and future.done() else None
        result = getattr(wrapped, "result", None)
        code = getattr(result, "error_code", None)
        return (None if code is None else int(code)), str(getattr(result, "error_msg", "") or "")

    def _started(self, accepted: Any) -> bool:
        self._busy = bool(accepted)
        self.lastReason = "" if accepted else "goal rejected by Nav2"
        self.lastCause = NavCause.NONE if accepted else NavCause.REJECTED
        return bool(accepted)
