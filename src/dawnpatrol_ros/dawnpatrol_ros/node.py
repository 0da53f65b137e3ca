"""The base of every DawnPatrol node and the one ``main()`` they share.

``DAWNPATROL_LEAN_NODES=1`` (set by the simulation launch files) starts nodes without parameter
services and QoS-event handlers: rclpy rebuilds its wait set in Python on every wake-up at a
cost growing with the entities a node has, and those made up most of them (a fifth of the CPU
of the suwon shift). On a robot the variable is unset and nodes keep ``ros2 param``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.callback_groups import CallbackGroup
from rclpy.clock import Clock
from rclpy.context import Context
from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.task import Future

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

    #: Set by a node that ends by itself: ``run_node`` stops spinning and returns it.
    exit_code: int | None = None

    def now_s(self) -> float:
        """The node's clock (ROS time: simulated under use_sim_time) in seconds."""
        return float(self.get_clock().now().nanoseconds) * 1e-9

    async def wait_all(self, futures: list[Future], timeout_s: float, group: CallbackGroup,
                       clock: Clock) -> None:
        """Await every future in ``futures``, or ``timeout_s`` on ``clock``, whichever comes
        first. ``group`` must let the caller's callback run beside the timer's (reentrant)."""
        done = Future()

        def check(_: Any = None) -> None:
            if all(f.done() for f in futures) and not done.done():
                done.set_result(True)

        for f in futures:
            f.add_done_callback(check)
        timer = self.create_timer(timeout_s, lambda: done.done() or done.set_result(False),
                                  callback_group=group, clock=clock)
        check()
        await done
        self.destroy_timer(timer)


def context_going_down(context: Context, wait_s: float = 2.0) -> bool:
    """True when ``context`` is shut down or shuts down within ``wait_s`` s.

    rclpy's signal handler only wakes a thread that shuts the contexts down, so a signal can
    break a take in the executor (pybind11: "Unable to convert call argument '0'") while the
    context still reads ok; the shutdown follows within milliseconds.
    """
    deadline = time.monotonic() + wait_s
    while context.ok():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def run_node(name: str, factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Run the node ``factory()`` builds until shutdown; return the process exit code.

    One executor thread per process: rclpy's MultiThreadedExecutor contends for the GIL with its
    own callbacks (a 13 ms callback took 225 ms while another subscription kept receiving), so
    action servers here await futures in coroutines instead of blocking a thread. A node that
    ends by itself sets ``exit_code`` (the simulator at the end of its run, the scenario runner
    with its verdict); it is returned. A node with a ``close()`` method has it called before the
    node is destroyed (databases, recordings). Shutdown by Ctrl-C, SIGTERM or the launcher is
    clean: no traceback, exit code 0 — also when the signal lands while a message is being taken
    (rclpy then raises from inside the take as the context goes away).
    """
    rclpy.init(args=args)
    try:
        node = factory()
    except Exception as exc:
        config = isinstance(exc, CONFIG_ERRORS)
        # Stopped while starting: the context went away under the constructor.
        stopped = not rclpy.ok() or (
            not config and context_going_down(rclpy.get_default_context()))
        rclpy.try_shutdown()
        if stopped:
            return 0
        if not config:
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{name}: {first}", file=sys.stderr)
        return 2
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    code: int | None = None
    try:
        while code is None and rclpy.ok():
            executor.spin_once(timeout_sec=0.5)
            code = getattr(node, "exit_code", None)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        # A take or publish interrupted by the shutdown itself is not a failure; anything while
        # still running is.
        if not context_going_down(node.context):
            raise
    finally:
        close = getattr(node, "close", None)
        if callable(close):
            close()
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()
    return int(code) if code is not None else 0
