"""docs/parameters.md: every node's parameters as the node declares them.

``python test/test_parameter_docs.py`` rewrites the page from the nodes' own declarations
(name, default, description and range: what ``ros2 param describe`` shows) and the comments of
their params files; the test checks that the page lists every parameter each node declares.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import rclpy
import yaml
from rclpy.exceptions import ParameterUninitializedException

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "parameters.md"
#: node name -> (package, module:class, params file)
NODES = {
    "localization": ("dawnpatrol_robot", "localization_node:LocalizationNode", "localization.yaml"),
    "navigator": ("dawnpatrol_robot", "navigator_node:NavigatorNode", "navigator.yaml"),
    "mission": ("dawnpatrol_robot", "mission_node:MissionNode", "mission.yaml"),
    "anomaly_monitor": ("dawnpatrol_robot", "anomaly_monitor_node:AnomalyMonitorNode",
                        "anomaly_monitor.yaml"),
    "fleet_manager": ("dawnpatrol_fleet", "fleet_manager_node:FleetManagerNode",
                      "fleet_manager.yaml"),
    "sim": ("dawnpatrol_sim", "sim_node:SimNode", "sim.yaml"),
    "scenario_runner": ("dawnpatrol_sim", "scenario_runner_node:ScenarioRunnerNode",
                        "scenario_runner.yaml"),
}
#: rclpy's own parameters, declared by every node
BUILT_IN = {"use_sim_time", "start_type_description_service"}
_COMMENT = re.compile(r"^\s+([a-z][a-z0-9_]*):.*?\s#\s?(.*)$")


def declared(node_name: str) -> list[tuple[str, Any, str]]:
    """(name, default, description with range) of every parameter the node declares.

    The node is constructed with its defaults only: constructors declare every parameter before
    they check it (a required map or scenario path is empty, so most stop there, which is fine:
    the declarations are made). A node that checks as it declares (the ``Param`` tables of
    ``dawnpatrol_ros.params``) is read from its table instead.
    """
    package, spec, _ = NODES[node_name]
    module_name, cls_name = spec.split(":")
    module = importlib.import_module(f"{package}.{module_name}")
    table = getattr(module, "PARAMS", None)
    if isinstance(table, dict) and all(hasattr(p, "descriptor") for p in table.values()):
        return [(n, p.default, _describe(p.descriptor(), n)) for n, p in table.items()]
    cls = getattr(module, cls_name)
    node = cls.__new__(cls)
    with contextlib.suppress(Exception):  # a required path is empty: declarations are made
        node.__init__()
    try:
        names = [n for n in node.list_parameters([], 0).names if n not in BUILT_IN]
        return [(n, _default(node, n), _describe(d, n))
                for n, d in zip(names, node.describe_parameters(names), strict=True)]
    finally:
        node.destroy_node()


def _default(node: Any, name: str) -> Any:
    try:
        return node.get_parameter(name).value
    except ParameterUninitializedException:  # declared by type only: the launch file sets it
        return "(none)"


def _describe(d: Any, name: str) -> str:
    text = d.description.removesuffix(f": {name}")  # a table's generic text names the field
    for r in list(d.floating_point_range) + list(d.integer_range):
        text += f" [{r.from_value:g}, {r.to_value:g}]"
    if d.additional_constraints:
        text += f" ({d.additional_constraints})"
    return text


def file_comments(params_file: str) -> dict[str, str]:
    """Parameter -> its comment in ``params/<file>`` (the text after '#' on its line)."""
    out: dict[str, str] = {}
    for line in (REPO / "params" / params_file).read_text(encoding="utf-8").splitlines():
        m = _COMMENT.match(line)
        if m:
            out[m[1]] = m[2].strip()
    return out


def _value(value: Any) -> str:
    """A default as it would be written in a params file."""
    if isinstance(value, str | list):
        value = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
        value = value.removesuffix("...").strip()
    return _cell(value)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|")


def render() -> str:
    """The whole page, from the nodes' declarations."""
    lines = [
        "# Node parameters",
        "",
        "Every parameter of every node, as the node declares it (what `ros2 param describe` "
        "shows: default,",
        "description, range) and as its params file sets it. Generated: "
        "`python test/test_parameter_docs.py`",
        "rewrites this page; `test/test_parameter_docs.py` checks that it lists every declared "
        "parameter.",
        "Launch files set the per-robot values (`robot_id`, `map_dir`, `use_sim_time`, ...).",
    ]
    rclpy.init()
    try:
        for node_name, (package, _, params_file) in NODES.items():
            comments = file_comments(params_file)
            lines += ["", f"## {node_name} (`{package}`, `params/{params_file}`)", "",
                      "| parameter | default | description | in the params file |",
                      "|---|---|---|---|"]
            for name, default, text in sorted(declared(node_name)):
                lines.append(f"| `{name}` | {_value(default)} | {_cell(text)} | "
                             f"{_cell(comments.get(name, ''))} |")
    finally:
        rclpy.try_shutdown()
    return "\n".join(lines) + "\n"


def documented(page: str) -> dict[str, set[str]]:
    """Node -> the parameter names its section of ``page`` lists."""
    out: dict[str, set[str]] = {}
    current = ""
    for line in page.splitlines():
        if line.startswith("## "):
            current = line[3:].split(" ")[0]
            out[current] = set()
        elif current and (m := re.match(r"^\| `([a-z0-9_]+)` \|", line)):
            out[current].add(m[1])
    return out


def test_parameter_page_lists_every_declared_parameter() -> None:
    page = documented(DOC.read_text(encoding="utf-8"))
    rclpy.init()
    try:
        for node_name in NODES:
            names = {n for n, _, _ in declared(node_name)}
            missing = sorted(names - page.get(node_name, set()))
            stale = sorted(page.get(node_name, set()) - names)
            assert not missing and not stale, (
                f"docs/parameters.md, {node_name}: missing {missing}, no longer declared "
                f"{stale}: run python test/test_parameter_docs.py")
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)
