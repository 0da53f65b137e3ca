"""The operator CLI's link to the fleet: service calls with timeouts, and direct robot e-stop.

Exit-code contract of the CLI: a fleet that does not answer raises :class:`FleetUnreachableError`
(exit 3); a call that answers "no" is a failed action (exit 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.node import Node

from dawnpatrol_interfaces.msg import Anomaly
from dawnpatrol_interfaces.srv import SetEStop
from dawnpatrol_ros.qos import ALERT_QOS


class FleetUnreachableError(Exception):
    """The fleet manager (or a robot) did not answer within the timeout."""


class FleetClient:
    """A short-lived ROS node for one CLI command."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        rclpy.init()
        self.node = Node("dawnpatrol_cli", start_parameter_services=False)

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.try_shutdown()

    def call(self, srv_type: Any, name: str, request: Any, timeout: float | None = None) -> Any:
        """Call service ``name``; FleetUnreachableError if absent or silent for ``timeout`` s."""
        limit = self.timeout if timeout is None else timeout
        client = self.node.create_client(srv_type, name)
        try:
            deadline = time.monotonic() + limit
            if not client.wait_for_service(timeout_sec=limit):
                raise FleetUnreachableError(
                    f"no answer from {name} within {limit:g} s (is the fleet "
                    "manager running, with the same ROS_DOMAIN_ID?)"
                )
            future = client.call_async(request)
            rclpy.spin_until_future_complete(
                self.node, future, timeout_sec=max(0.1, deadline - time.monotonic() + limit)
            )
            if not future.done() or future.result() is None:
                raise FleetUnreachableError(f"{name} accepted the call but did not answer in time")
            return future.result()
        finally:
            self.node.destroy_client(client)

    def robot_estop_services(self, wait: float = 1.0) -> list[str]:
        """Names of every robot e-stop service visible on the graph (``/<robot>/estop``)."""
        deadline = time.monotonic() + wait
        found: set[str] = set()
        while time.monotonic() < deadline:
            for name, types in self.node.get_service_names_and_types():
                if (
                    name.endswith("/estop")
                    and name != "/fleet/estop"
                    and any(t.endswith("SetEStop") for t in types)
                ):
                    found.add(name)
            rclpy.spin_once(self.node, timeout_sec=0.1)
        return sorted(found)

    def estop_robot_direct(self, robot_id: str, engage: bool, reason: str, operator: str) -> Any:
        """Call ``/<robot>/estop`` directly, bypassing the fleet manager."""
        req = SetEStop.Request(
            engage=engage, robot_id=robot_id, reason=reason, operator_name=operator
        )
        return self.call(SetEStop, f"/{robot_id}/estop", req)

    def follow_anomalies(
        self, on_message: Callable[[Anomaly], None], until: Callable[[], bool]
    ) -> None:
        """Print every anomaly on /fleet/anomalies (history first, transient local) until
        ``until()`` is true."""
        self.node.create_subscription(Anomaly, "/fleet/anomalies", on_message, ALERT_QOS)
        while not until():
            rclpy.spin_once(self.node, timeout_sec=0.2)
