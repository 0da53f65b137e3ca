"""The base of every DawnPatrol node and the one ``main()`` they share.

``DAWNPATROL_LEAN_NODES=1`` (set by the simulation launch files) starts nodes without parameter
services and QoS-event handlers: rclpy rebuilds its wait set in Python on every wake-up at a
cost growing with the entities a node has, and those made up most of them (a fifth of the CPU
of the suwon shift). On a robot the variable is unset and nodes keep ``ros2 param``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from dawnpatrol_core.errors import DawnPatrolError

LEAN_ENV = "DAWNPATROL_LEAN_NODES"
#: What a node constructor raises for bad parameters, maps or files: one line, exit code 2.
CONFIG_ERRORS: tuple[type[BaseException], ...] = (
    DawnPatrolError, ParameterException, OSError, ValueError,
)


def lean_nodes() -> bool:
    """True when nodes are to start without parameter services and QoS-event handlers."""
    return os.environ.get(LEAN_ENV, "") == "1"


class DawnPatrolNode(Node):
    """``rclpy.node.Node`` that honours ``DAWNPATROL_LEAN_NODES`` (see the module docstring)."""

    def __init__(self, node_name: str, **kwargs: Any) -> None:
        if lean_nodes():
            kwargs.setdefault("start_parameter_services", False)
        super().__init__(node_name, **kwargs)

    def create_subscription(self, *args: Any, **kwargs: Any) -> Any:
        if lean_nodes():
            kwargs.setdefault("event_callbacks",
                              SubscriptionEventCallbacks(use_default_callbacks=False))
        return super().create_subscription(*args, **kwargs)

    def create_publisher(self, *args: Any, **kwargs: Any) -> Any:
        if lean_nodes():
            kwargs.setdefault("event_callbacks",
                              PublisherEventCallbacks(use_default_callbacks=False))
        return super().create_publisher(*args, **kwargs)

    def now_s(self) -> float:
        """The node's clock (ROS time: simulated under use_sim_time) in seconds."""
        return float(self.get_clock().now().nanoseconds) * 1e-9


def run_node(name: str, factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Run the node ``factory()`` builds until shutdown; return the process exit code.

    One executor thread per process: rclpy's MultiThreadedExecutor contends for the GIL with its
    own callbacks (a 13 ms callback took 225 ms while another subscription kept receiving), so
    action servers here await futures in coroutines instead of blocking a thread. A node with a
    ``close()`` method has it called before the node is destroyed (databases, recordings).
    Shutdown by Ctrl-C, SIGTERM or the launcher is clean: no traceback, exit code 0.
    """
    rclpy.init(args=args)
    try:
        node = factory()
    except CONFIG_ERRORS as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{name}: {first}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        # A callback interrupted by the shutdown itself (a take or publish on a context that is
        # going away) is not a failure; anything while still running is.
        if rclpy.ok():
            raise
    close = getattr(node, "close", None)
    if callable(close):
        close()
    node.destroy_node()
    rclpy.try_shutdown()
    return 0
