"""The parameter helper: types, ranges and choices checked in one line; descriptors carry them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import rclpy
from rclpy.parameter import Parameter

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_ros.node import DawnPatrolNode
from dawnpatrol_ros.params import Param, declare_parameters

TABLE = {
    "rate_hz": Param(10.0, "control rate, Hz", 1.0, 50.0),
    "attempts": Param(3, "PIN attempts", 1, 10),
    "navigator": Param("dawnpatrol", "which navigator", choices=("dawnpatrol", "nav2")),
    "gnss": Param(True, "use GNSS"),
    "robots": Param(["r1"], "robot ids", check=lambda v: all(v),
                    expected="a list of non-empty names"),
}


@pytest.fixture()
def make_node() -> Iterator[Any]:
    rclpy.init()
    nodes: list[DawnPatrolNode] = []

    def make(**overrides: Any) -> DawnPatrolNode:
        n = DawnPatrolNode(f"p{len(nodes)}", parameter_overrides=[
            Parameter(k, value=v) for k, v in overrides.items()])
        nodes.append(n)
        return n

    yield make
    for n in nodes:
        n.destroy_node()
    rclpy.shutdown()


def test_defaults_and_overrides_come_back_typed(make_node: Any) -> None:
    assert declare_parameters(make_node(), TABLE) == {
        "rate_hz": 10.0, "attempts": 3, "navigator": "dawnpatrol", "gnss": True,
        "robots": ["r1"]}
    got = declare_parameters(make_node(rate_hz=20, navigator="nav2"), TABLE)
    assert got["rate_hz"] == 20.0 and isinstance(got["rate_hz"], float)
    assert got["navigator"] == "nav2"


@pytest.mark.parametrize(("override", "line"), [
    ({"rate_hz": 99.0}, "parameter 'rate_hz': got 99.0, expected a number in [1, 50]"),
    ({"rate_hz": "fast"}, "parameter 'rate_hz': got 'fast', expected a number in [1, 50]"),
    ({"attempts": 2.5}, "parameter 'attempts': got 2.5, expected an integer in [1, 10]"),
    ({"attempts": 0}, "parameter 'attempts': got 0, expected an integer in [1, 10]"),
    ({"navigator": "ros1"}, "parameter 'navigator': got 'ros1', expected one of 'dawnpatrol', "
                            "'nav2'"),
    ({"gnss": 1}, "parameter 'gnss': got 1, expected true or false"),
    ({"robots": ["r1", ""]}, "parameter 'robots': got ['r1', ''], expected a list of "
                             "non-empty names"),
])
def test_bad_values_give_one_line(make_node: Any, override: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError) as exc:
        declare_parameters(make_node(**override), TABLE)
    assert str(exc.value) == line


def test_descriptor_carries_description_and_range(make_node: Any) -> None:
    node = make_node()
    declare_parameters(node, TABLE)
    d = node.describe_parameter("rate_hz")
    assert d.description == "control rate, Hz"
    assert d.floating_point_range[0].from_value == 1.0
    assert d.floating_point_range[0].to_value == 50.0
    assert node.describe_parameter("attempts").integer_range[0].to_value == 10
    assert "nav2" in node.describe_parameter("navigator").additional_constraints
