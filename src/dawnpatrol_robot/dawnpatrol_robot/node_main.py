"""The one ``main()`` every DawnPatrol node shares: start, refuse bad configuration in one line,
spin, and shut down cleanly on Ctrl-C, SIGTERM or the launcher's shutdown."""

from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from dawnpatrol_core.errors import DawnPatrolError

#: What a node constructor raises for bad parameters, maps or files: one line, exit code 2.
CONFIG_ERRORS: tuple[type[BaseException], ...] = (
    DawnPatrolError, ParameterException, OSError, ValueError,
)


def run_node(name: str, factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Run the node ``factory()`` builds until shutdown; return the process exit code.

    One executor thread per process: rclpy's MultiThreadedExecutor contends for the GIL with its
    own callbacks (measured: a 13 ms callback took 225 ms while another subscription of the
    node kept receiving), so action servers here await futures in coroutines instead of blocking
    a thread. A node with a ``close()`` method has it called before the node is destroyed
    (databases, recordings).
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
