"""run_node: exit codes, a node ending by itself, and a clean end when shutdown breaks a take."""

from __future__ import annotations

import threading

import pytest
import rclpy

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_ros.node import DawnPatrolNode, run_node

TAKE_ERROR = "Unable to convert call argument '0' to Python object"


class _Ends(DawnPatrolNode):
    """Sets ``exit_code`` from a timer, as the simulator and the scenario runner do."""

    def __init__(self, code: int) -> None:
        super().__init__("ends")
        self.closed = False
        self.create_timer(0.05, lambda: setattr(self, "exit_code", code))

    def close(self) -> None:
        self.closed = True


def test_node_that_ends_by_itself_returns_its_exit_code_and_is_closed() -> None:
    made: list[_Ends] = []

    def factory() -> _Ends:
        made.append(_Ends(3))
        return made[0]

    assert run_node("ends", factory) == 3
    assert made[0].closed
    assert not rclpy.ok()


def test_bad_configuration_is_exit_code_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def factory() -> DawnPatrolNode:
        raise ConfigError("params/x.yaml: field 'rate_hz': got -1, expected > 0\nmore detail")

    assert run_node("x", factory) == 2
    assert capsys.readouterr().err == "x: params/x.yaml: field 'rate_hz': got -1, expected > 0\n"


class _BrokenTake(DawnPatrolNode):
    """A callback failing as rclpy's take does when a signal lands mid-take; ``shutdown_after``
    s later the context goes down (rclpy's signal thread), or never (None)."""

    def __init__(self, shutdown_after: float | None) -> None:
        super().__init__("broken_take")
        self._after = shutdown_after
        self.create_timer(0.05, self._fail)

    def _fail(self) -> None:
        if self._after is not None:
            threading.Timer(self._after, rclpy.shutdown).start()
        raise RuntimeError(TAKE_ERROR)


def test_error_from_a_take_broken_by_the_shutdown_is_a_clean_exit() -> None:
    assert run_node("broken_take", lambda: _BrokenTake(shutdown_after=0.2)) == 0


def test_error_while_running_still_raises() -> None:
    with pytest.raises(RuntimeError, match="Unable to convert"):
        run_node("broken_take", lambda: _BrokenTake(shutdown_after=None))
    rclpy.try_shutdown()


def test_stopped_while_starting_is_a_clean_exit() -> None:
    """The launcher's SIGTERM lands in the constructor: rclpy shuts the context down and the
    next publisher the constructor creates fails (RCLError: context is invalid)."""

    def factory() -> DawnPatrolNode:
        rclpy.shutdown()
        raise RuntimeError("Failed to create publisher: rcl node's context is invalid")

    assert run_node("starting", factory) == 0


def test_other_error_while_starting_still_raises() -> None:
    def factory() -> DawnPatrolNode:
        raise RuntimeError("a bug in the constructor")

    with pytest.raises(RuntimeError, match="a bug"):
        run_node("starting", factory)
    assert not rclpy.ok()
