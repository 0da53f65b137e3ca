"""Every launch file is in the supported ROS 2 XML subset, names executables and params files that
exist, and every parameter in a params file is declared by the node it is given to."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from dawnpatrol_launch.resolve import LaunchResolver

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((REPO / "launch").glob("*.launch.xml"))
# Packages that exist only where Gazebo + ros_gz are installed (gazebo.launch.xml).
EXTERNAL = {"ros_gz_sim": {"gzserver", "create"}, "ros_gz_bridge": {"parameter_bridge"}}
# parameter_bridge's TOPIC@ROS_TYPE[GZ_TYPE (Gazebo to ROS), ] (ROS to Gazebo) or @ (both ways)
BRIDGE_ARG = re.compile(r"(?P<topic>[^@]+)@(?P<ros_type>[^@\[\]]+)[@\[\]](?P<gz_type>.+)")


def entry_points() -> dict[tuple[str, str], Path]:
    """(package, executable) -> module source file, from each package's setup.py."""
    out: dict[tuple[str, str], Path] = {}
    for setup in (REPO / "src").glob("*/setup.py"):
        pkg = setup.parent.name
        for exe, module in re.findall(r'"([\w-]+)\s*=\s*([\w.]+):main"', setup.read_text()):
            out[(pkg, exe)] = setup.parent / (module.replace(".", "/") + ".py")
    return out


def _module_file(module: str) -> Path | None:
    pkg = module.split(".")[0]
    f = REPO / "src" / pkg / (module.replace(".", "/") + ".py")
    return f if f.is_file() else None


def declared_parameters(source: Path) -> set[str]:
    """Parameter names a node can declare: string literals given to declare_parameter, names in
    parameter tables, and fields of the (core) dataclasses it validates parameters with.

    Static on purpose (no node is started); a params-file key that appears nowhere in the node's
    code or in the dawnpatrol modules it imports is certainly not declared.
    """
    names: set[str] = set()
    files = [source]
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dawnpatrol"):
            f = _module_file(node.module)
            if f is not None:
                files.append(f)
    ident = re.compile(r"^[a-z][a-z0-9_]*$")
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if ident.match(node.value):
                    names.add(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return names


def resolve(path: Path) -> list:  # type: ignore[type-arg]
    return resolve_with(path, {})


def resolve_with(path: Path, arguments: dict[str, str]) -> list:  # type: ignore[type-arg]
    """The nodes of launch file ``path`` with ``arguments``, resolved by our launcher with this
    repository's executables (and stand-ins for the Gazebo packages)."""
    eps = entry_points()

    def find_exec(pkg: str, exe: str) -> str | None:
        if pkg in EXTERNAL:
            return f"/opt/ros/jazzy/lib/{pkg}/{exe}" if exe in EXTERNAL[pkg] else None
        if not (REPO / "src" / pkg).is_dir():
            raise LookupError(pkg)
        return str(eps[(pkg, exe)]) if (pkg, exe) in eps else None

    def find_share(pkg: str) -> str:
        if pkg in EXTERNAL or (REPO / "src" / pkg).is_dir():
            return f"/share/{pkg}"
        raise LookupError(pkg)

    return LaunchResolver(environ={"HOME": "/home/op"}, find_pkg_share=find_share,
                          find_executable=find_exec).resolve(str(path), arguments)


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_resolves_with_existing_executables_and_params(path: Path) -> None:
    nodes = resolve(path)
    assert nodes, f"{path.name} starts no node"
    for n in nodes:
        cmd = list(n.command)
        for i, tok in enumerate(cmd):
            if tok == "--params-file":
                assert Path(cmd[i + 1]).is_file(), f"{n.source}: missing {cmd[i + 1]}"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_params_files_only_set_declared_parameters(path: Path) -> None:
    for n in resolve(path):
        if n.package in EXTERNAL:
            continue
        declared = declared_parameters(Path(n.command[0])) | {"use_sim_time"}
        cmd = list(n.command)
        given = {cmd[i + 1].split(":=")[0] for i, t in enumerate(cmd) if t == "-p"}
        for i, tok in enumerate(cmd):
            if tok == "--params-file":
                data = yaml.safe_load(Path(cmd[i + 1]).read_text()) or {}
                for section in data.values():
                    given |= set((section or {}).get("ros__parameters", {}))
        unknown = sorted(given - declared)
        assert not unknown, f"{n.source}: {n.name} does not declare {unknown}"


def test_every_params_file_is_used_by_a_launch_file() -> None:
    used: set[str] = set()
    for path in LAUNCH_FILES:
        for n in resolve(path):
            cmd = list(n.command)
            used |= {Path(t.split(":=")[-1]).name for t in cmd if t.endswith(".yaml")}
    files = {p.name for p in (REPO / "params").glob("*.yaml")}
    assert files - used == set()


def test_launch_files_use_only_ros2_xml_tags() -> None:
    """Our subset is a subset of ROS 2's XML format: no ROS 1 tags or attributes sneak in."""
    ros1 = re.compile(r"<(rosparam|machine|test|remap\s+ns=)|\stype=\"|\sns=\"|\$\((find|optenv|arg) ")
    for path in LAUNCH_FILES:
        assert not ros1.search(path.read_text()), path.name


def bridged_topics(nodes: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    """(ROS topic, ROS type, Gazebo type) of every ros_gz_bridge among ``nodes``: the entries
    of its config file, and its ``TOPIC@ROS_TYPE[GZ_TYPE`` (or ``]``) arguments with their
    remaps."""
    out: list[tuple[str, str, str]] = []
    for n in nodes:
        if n.package != "ros_gz_bridge":
            continue
        cmd = list(n.command)
        ros_args = cmd[cmd.index("--ros-args"):]
        remaps = dict(ros_args[i + 1].split(":=", 1) for i, t in enumerate(ros_args)
                      if t == "-r" and not ros_args[i + 1].startswith("__"))
        for tok in cmd[1:cmd.index("--ros-args")]:
            m = BRIDGE_ARG.fullmatch(tok)
            assert m, f"{n.source}: bridge argument {tok!r}"
            out.append((remaps.get(m["topic"], m["topic"]), m["ros_type"], m["gz_type"]))
        for i, tok in enumerate(ros_args):
            if tok == "-p" and ros_args[i + 1].startswith("config_file:="):
                config = Path(ros_args[i + 1].split(":=", 1)[1])
                out += [(e["ros_topic_name"], e["ros_type_name"], e["gz_type_name"])
                        for e in yaml.safe_load(config.read_text())]
    return out


def test_gazebo_bridge_topics_match_our_nodes() -> None:
    """Every ROS topic the Gazebo bridges serve is one our nodes use, with the same type; with
    robot_count:=5, every robot's."""
    nodes = resolve_with(REPO / "launch" / "gazebo.launch.xml",
                         {"robot_count": "5", "run_robots": "false"})
    contract = (REPO / "src" / "dawnpatrol_interfaces" / "README.md").read_text()
    sources = "\n".join(p.read_text() for p in (REPO / "src").glob("*/*/*_node.py"))
    bridged = bridged_topics(nodes)
    for name, ros_type, _gz_type in bridged:
        rel = name.split("/")[-1]
        pkg, _, typ = ros_type.split("/")
        assert f"`{rel}`" in contract or f"`{name}`" in contract, name
        assert f"{pkg}/{typ}" in contract, (name, ros_type)
        assert re.search(rf'["\']/?(\{{\w+\}}/)?{re.escape(rel)}["\']', sources), (
            f"no node uses topic {rel!r}")
        assert typ in sources, f"no node imports {typ}"
    topics = {name for name, _, _ in bridged}
    assert topics == {"/clock"} | {f"/r{k}/{t}" for k in range(1, 6)
                                   for t in ("scan", "odom", "imu", "gnss", "cmd_vel")}
    assert len(bridged) == len(topics)


@pytest.mark.parametrize("count", [1, 5])
def test_gazebo_launch_spawns_any_number_of_robots(count: int) -> None:
    """robot_count:=N spawns r1..rN in a row of distinct poses, bridges each, starts each
    robot's nodes, and names r1..rN to the fleet and every anomaly monitor."""
    nodes = resolve_with(REPO / "launch" / "gazebo.launch.xml", {"robot_count": str(count)})
    ids = [f"r{k}" for k in range(1, count + 1)]
    listed = f"[{', '.join(ids)}]"
    assert len(nodes) == 2 + 1 + count * (2 + 4)  # gzserver, clock bridge, fleet; per robot
    spawns = {n.name: list(n.command) for n in nodes if n.executable == "create"}
    assert sorted(spawns) == sorted(f"{r}/spawn" for r in ids)
    poses = set()
    for rid in ids:
        cmd = spawns[f"{rid}/spawn"]
        assert cmd[cmd.index("-name") + 1] == rid
        assert cmd[cmd.index("-world") + 1] == "suwon_dawn"
        poses.add((float(cmd[cmd.index("-x") + 1]), float(cmd[cmd.index("-y") + 1])))
    assert len(poses) == count and min(poses) == (62.0, 6.5)
    bridges = sorted(n.name for n in nodes if n.package == "ros_gz_bridge")
    assert bridges == sorted(["gz_bridge", *(f"{r}/gz_bridge" for r in ids)])
    for rid in ids:
        assert {n.name for n in nodes if n.name.startswith(f"{rid}/")} == {
            f"{rid}/{x}" for x in ("spawn", "gz_bridge", "localization", "navigator", "mission",
                                   "anomaly_monitor")}
    for n in nodes:
        cmd = " ".join(n.command)
        if n.name == "fleet/fleet_manager":
            assert f"robot_ids:={listed}" in cmd and "use_sim_time:=true" in cmd
        if n.name.endswith("anomaly_monitor"):
            assert f"fleet_robot_ids:={listed}" in cmd, n.name
    bare = resolve_with(REPO / "launch" / "gazebo.launch.xml",
                        {"robot_count": str(count), "run_robots": "false"})
    assert len(bare) == 2 + 2 * count


@pytest.mark.parametrize("count", [1, 5, 12])
def test_sim_launch_starts_any_number_of_robots(count: int) -> None:
    """robot_count:=N starts N robots' nodes and names r1..rN to the simulator, the fleet, the
    scenario runner and every anomaly monitor (built by includes: XML launch has no loops)."""
    eps = entry_points()

    def find_exec(pkg: str, exe: str) -> str | None:
        return str(eps[(pkg, exe)]) if (pkg, exe) in eps else None

    nodes = LaunchResolver(environ={"HOME": "/home/op"}, find_pkg_share=lambda p: f"/share/{p}",
                           find_executable=find_exec).resolve(
        str(REPO / "launch" / "demo.launch.xml"), {"robot_count": str(count)})
    ids = [f"r{k}" for k in range(1, count + 1)]
    listed = f"[{', '.join(ids)}]"
    robots = sorted({n.name.split("/")[0] for n in nodes if n.name.split("/")[0] in ids})
    assert robots == sorted(ids) and len(nodes) == 4 * count + 3
    for n in nodes:
        cmd = " ".join(n.command)
        if n.name in ("sim", "fleet/fleet_manager", "scenario_runner"):
            assert f"robot_ids:={listed}" in cmd, n.name
        if n.name.endswith("anomaly_monitor"):
            assert f"fleet_robot_ids:={listed}" in cmd, n.name
    sim = next(n for n in nodes if n.name == "sim")
    assert f"robot_count:={count}" in sim.command
    assert f"wait_subscribers:={4 * count + 1}" in sim.command
