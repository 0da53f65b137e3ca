"""The mission's navigator surface over Nav2's real BasicNavigator, for robots that run Nav2.
Nav2 is imported only when the adapter is built, so this module imports fine without it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geometry_msgs.msg import PoseStamped

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_robot.navigator_client import TaskResult


class Nav2Navigator:
    """Same methods as :class:`dawnpatrol_robot.navigator_client.Navigator`, delegated to
    ``nav2_simple_commander.robot_navigator.BasicNavigator`` in ``namespace``."""

    def __init__(self, namespace: str = "") -> None:
        try:
            from nav2_simple_commander.robot_navigator import BasicNavigator
        except ImportError:
            raise ConfigError(
                "parameter 'navigator': got 'nav2', expected nav2_simple_commander to be "
                "installed (use navigator:=dawnpatrol here)") from None
        self._nav: Any = BasicNavigator(node_name="mission_nav2", namespace=namespace)
        self._busy = False
        self.lastReason = ""

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
            if self.getResult() is not TaskResult.SUCCEEDED:
                self.lastReason = f"nav2 result {self.getResult().name}"
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

    def _started(self, accepted: Any) -> bool:
        self._busy = bool(accepted)
        self.lastReason = "" if accepted else "goal rejected by Nav2"
        return bool(accepted)
