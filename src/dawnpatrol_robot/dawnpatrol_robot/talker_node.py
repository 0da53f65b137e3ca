"""Demo talker: publishes a numbered ``Greeting`` at a fixed rate (launcher tests, first demo)."""

from __future__ import annotations

import contextlib
import sys

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException

from dawnpatrol_interfaces.msg import Greeting
from dawnpatrol_robot.lean_node import DawnPatrolNode


class TalkerNode(DawnPatrolNode):
    def __init__(self) -> None:
        super().__init__("talker")
        self.declare_parameter("robot_id", "r0", ParameterDescriptor(description="robot id sent"))
        self.declare_parameter("scale", 1.0, ParameterDescriptor(description="value = scale * seq"))
        self.declare_parameter(
            "rate_hz", 5.0, ParameterDescriptor(description="publish rate, Hz (0.1 to 100)")
        )
        rate = float(self.get_parameter("rate_hz").value)
        if not 0.1 <= rate <= 100.0:
            raise ValueError(f"parameter 'rate_hz': got {rate}, expected 0.1 to 100")
        self._robot_id = str(self.get_parameter("robot_id").value)
        self._scale = float(self.get_parameter("scale").value)
        self._seq = 0
        self._pub = self.create_publisher(Greeting, "greeting", 10)
        self.create_timer(1.0 / rate, self._tick)

    def _tick(self) -> None:
        self._seq += 1
        msg = Greeting(robot_id=self._robot_id, seq=self._seq, value=self._scale * self._seq)
        msg.header.stamp = self.get_clock().now().to_msg()
        self._pub.publish(msg)


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    try:
        node = TalkerNode()
    except ValueError as exc:
        print(f"talker: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    with contextlib.suppress(KeyboardInterrupt, ExternalShutdownException):
        rclpy.spin(node)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0
