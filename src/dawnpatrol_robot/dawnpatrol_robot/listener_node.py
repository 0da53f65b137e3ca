"""Demo listener: logs each ``Greeting`` and can append it as a JSON line to a file (tests)."""

from __future__ import annotations

import json
import os

from rcl_interfaces.msg import ParameterDescriptor

from dawnpatrol_interfaces.msg import Greeting
from dawnpatrol_robot.lean_node import DawnPatrolNode
from dawnpatrol_robot.node_main import run_node


class ListenerNode(DawnPatrolNode):
    def __init__(self) -> None:
        super().__init__("listener")
        self.declare_parameter(
            "record_path",
            "",
            ParameterDescriptor(description="if set, append each message as JSON to this file"),
        )
        self._record = str(self.get_parameter("record_path").value)
        self.create_subscription(Greeting, "greeting", self._on_greeting, 10)

    def _on_greeting(self, msg: Greeting) -> None:
        self.get_logger().info(f"heard {msg.robot_id} #{msg.seq} value={msg.value:g}")
        if self._record:
            row = {
                "robot_id": msg.robot_id,
                "seq": msg.seq,
                "value": msg.value,
                "node": self.get_fully_qualified_name(),
                "topic": self.resolve_topic_name("greeting"),
                "discovery_range": os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", ""),
                "domain_id": os.environ.get("ROS_DOMAIN_ID", ""),
                "pid": os.getpid(),
            }
            with open(self._record, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")


def main(args: list[str] | None = None) -> int:
    return run_node("listener", ListenerNode, args)

