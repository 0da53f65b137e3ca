"""One way every node declares and checks its parameters: a table of :class:`Param` in, the
validated values out, or one line naming the parameter, the value and what was expected."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node

from dawnpatrol_core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter: its default (whose type is the parameter's: an int default takes integers,
    a float default takes any number), a description, and optionally an inclusive range
    ``low``..``high``, a set of ``choices``, or a ``check`` with the ``expected`` text."""

    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    check: Callable[[Any], bool] | None = None
    expected: str = ""

    def descriptor(self) -> ParameterDescriptor:
        """The ROS descriptor: description and range (shown by ``ros2 param describe``)."""
        d = ParameterDescriptor(description=self.description, dynamic_typing=True)
        if self.low is not None and self.high is not None:
            if _kind(self.default) is int:
                d.integer_range = [IntegerRange(from_value=int(self.low),
                                                to_value=int(self.high), step=1)]
            elif _kind(self.default) is float:
                d.floating_point_range = [FloatingPointRange(
                    from_value=float(self.low), to_value=float(self.high), step=0.0)]
        if self.choices:
            d.additional_constraints = "one of " + ", ".join(str(c) for c in self.choices)
        return d

    def expectation(self) -> str:
        """What a valid value is, in words."""
        if self.expected:
            return self.expected
        kind = _WORDS[_kind(self.default)]
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.low is not None and self.high is not None:
            return f"{kind} in [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{kind} >= {self.low:g}"
        if self.high is not None:
            return f"{kind} <= {self.high:g}"
        return kind

    def validate(self, name: str, value: Any) -> Any:
        """``value`` converted to the parameter's type; ConfigError when it is not valid."""
        kind = _kind(self.default)
        ok = True
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if ok:
                value = float(value)
                ok = math.isfinite(value)
        elif kind is str:
            ok = isinstance(value, str)
        elif kind is list:
            ok = isinstance(value, list | tuple)
            value = list(value) if ok else value
        if ok and self.low is not None and kind in (int, float):
            ok = value >= self.low
        if ok and self.high is not None and kind in (int, float):
            ok = value <= self.high
        if ok and self.choices:
            ok = value in self.choices
        if ok and self.check is not None:
            try:
                ok = bool(self.check(value))
            except (TypeError, ValueError):
                ok = False
        if not ok:
            raise ConfigError(f"parameter '{name}': got {value!r}, expected {self.expectation()}")
        return value


_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
          list: "a list"}


def _kind(default: Any) -> type:
    for t in (bool, int, float, str):
        if isinstance(default, t):
            return t
    return list


def declare_parameters(node: Node, table: Mapping[str, Param]) -> dict[str, Any]:
    """Declare every parameter of ``table`` on ``node`` (descriptions and ranges) and return the
    validated values by name; the first bad one raises ConfigError in one line."""
    out: dict[str, Any] = {}
    for name, spec in table.items():
        try:
            value = node.declare_parameter(name, spec.default, spec.descriptor()).value
        except ParameterException:
            # rclpy refused the value against the descriptor's range: say it our way.
            override = getattr(node, "_parameter_overrides", {}).get(name)
            value = override.value if override is not None else spec.default
        out[name] = spec.validate(name, value)
    return out
