"""The base class of every DawnPatrol node: rclpy's Node, optionally lean.

rclpy's executor rebuilds its wait set in Python on every wake-up, at a cost that grows with the
entities a node has; six parameter services and one QoS-event handler per publisher and
subscription make up most of them (20-30 in our nodes). With ``DAWNPATROL_LEAN_NODES=1`` in the
environment a node starts without them, which cut the CPU per simulated second of the suwon shift
(14 processes on 2 cores) by a fifth. The simulation launch file sets it; on a robot the variable
is unset and nodes keep ``ros2 param`` and the incompatible-QoS warnings.
"""

from __future__ import annotations

import os
from typing import Any

from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.node import Node

LEAN_ENV = "DAWNPATROL_LEAN_NODES"


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
