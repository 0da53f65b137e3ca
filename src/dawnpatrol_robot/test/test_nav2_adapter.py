"""The Nav2 adapter maps Nav2's result and error codes onto our causes, so the mission decides
the same way whichever navigator runs (no Nav2 needed: a stand-in BasicNavigator)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest

from dawnpatrol_core.control.causes import HOLD_CAUSES, REACHED, NavCause, NavResult
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_robot.nav2_adapter import NAV2_CODES, Nav2Navigator, cause_of_nav2
from dawnpatrol_robot.navigator_client import TaskResult


class Nav2TaskResult(Enum):  # nav2_simple_commander's TaskResult
    UNKNOWN = 0
    SUCCEEDED = 1
    CANCELED = 2
    FAILED = 3


@dataclass
class Done:
    """A finished result future of NavigateToPose."""

    error_code: int
    error_msg: str = ""

    def done(self) -> bool:
        return True

    def result(self) -> Any:
        return SimpleNamespace(result=SimpleNamespace(error_code=self.error_code,
                                                      error_msg=self.error_msg))


class FakeBasicNavigator:
    """The slice of BasicNavigator the adapter uses; the task ends as ``end`` says."""

    def __init__(self, end: Nav2TaskResult, error_code: int = 0, error_msg: str = "") -> None:
        self.end, self.result_future = end, Done(error_code, error_msg)
        self.poses: list[Any] = []
        self.complete = False

    def goToPose(self, pose: Any) -> bool:  # noqa: N802 (BasicNavigator's name)
        self.poses.append(pose)
        return True

    def isTaskComplete(self) -> bool:  # noqa: N802
        return self.complete

    def getResult(self) -> Nav2TaskResult:  # noqa: N802
        return self.end

    def getFeedback(self) -> Any:  # noqa: N802
        return None

    def get_clock(self) -> Any:
        return SimpleNamespace(now=lambda: SimpleNamespace(to_msg=lambda: _stamp()))


def _stamp() -> Any:
    from builtin_interfaces.msg import Time
    return Time(sec=5)


@pytest.mark.parametrize(("code", "cause"), [
    (104, NavCause.BLOCKED), (105, NavCause.BLOCKED), (206, NavCause.BLOCKED),
    (208, NavCause.UNREACHABLE), (308, NavCause.UNREACHABLE), (9002, NavCause.UNREACHABLE),
    (204, NavCause.REJECTED), (102, NavCause.POSE_LOST), (203, NavCause.LOCALIZATION_LOST),
    (9000, NavCause.UNKNOWN), (0, NavCause.UNKNOWN), (4242, NavCause.UNKNOWN)])
def test_nav2_error_codes_map_to_causes(code: int, cause: NavCause) -> None:
    nav = FakeBasicNavigator(Nav2TaskResult.FAILED, code, "controller says no")
    port = Nav2Navigator(navigator=nav)
    assert port.go_to(Pose2D(3.0, 4.0, 0.0), 0.0)
    assert nav.poses[0].header.frame_id == "map" and nav.poses[0].pose.position.x == 3.0
    assert port.outcome() is None  # under way
    nav.complete = True
    result = port.outcome()
    assert result is not None and result.cause is cause
    assert result.reason.endswith("controller says no")
    assert port.getResult() is TaskResult.FAILED and port.lastCause is cause


def test_success_cancel_and_refusal() -> None:
    nav = FakeBasicNavigator(Nav2TaskResult.SUCCEEDED)
    port = Nav2Navigator(navigator=nav)
    port.go_to(Pose2D(1.0, 1.0), 0.0)
    nav.complete = True
    assert port.outcome() == REACHED
    assert cause_of_nav2(TaskResult.CANCELED, None).cause is NavCause.CANCELED
    nav = FakeBasicNavigator(Nav2TaskResult.FAILED)
    nav.goToPose = lambda pose: False  # type: ignore[method-assign]
    port = Nav2Navigator(navigator=nav)
    assert not port.go_to(Pose2D(1.0, 1.0), 0.0)
    assert port.outcome() == NavResult(NavCause.REJECTED, "goal rejected by Nav2")


def test_every_mapped_code_is_a_known_nav2_code_and_none_holds_for_obstacles() -> None:
    # obstacles and no path are never "safety stops": the mission must not hold for ever on them
    for code, (cause, _) in NAV2_CODES.items():
        assert 100 <= code <= 309 or 9000 <= code <= 9002
        if code in (104, 105, 106, 107, 205, 206, 208, 305, 306, 308):
            assert cause not in HOLD_CAUSES
    assert cause_of_nav2(TaskResult.FAILED, 208).reason.startswith("unreachable: nav2")
