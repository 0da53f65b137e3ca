"""The launch-file resolver: the supported subset works, everything else is one clear line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dawnpatrol_core.errors import LaunchFileError
from dawnpatrol_launch.cli import parse_arguments
from dawnpatrol_launch.resolve import LaunchResolver
from dawnpatrol_launch.substitution import SubstitutionContext, substitute

PKGS = {"demo_pkg": ["talker", "listener"]}


def fake_exec(pkg: str, exe: str) -> str | None:
    if pkg not in PKGS:
        raise LookupError(pkg)
    return f"/install/{pkg}/lib/{pkg}/{exe}" if exe in PKGS[pkg] else None


def fake_share(pkg: str) -> str:
    if pkg not in PKGS:
        raise LookupError(pkg)
    return f"/install/{pkg}/share/{pkg}"


def resolver(env: dict[str, str] | None = None) -> LaunchResolver:
    return LaunchResolver(
        environ=env or {"HOME": "/home/op"}, find_pkg_share=fake_share, find_executable=fake_exec
    )


def write(tmp_path: Path, body: str, name: str = "t.launch.xml") -> Path:
    p = tmp_path / name
    p.write_text(f"<launch>\n{body}\n</launch>\n")
    return p


def test_full_subset_resolves(tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text("/**:\n  ros__parameters:\n    a: 1\n")
    inner = write(
        tmp_path,
        '<arg name="who"/>\n<node pkg="demo_pkg" exec="listener" name="$(var who)"/>',
        "inner.launch.xml",
    )
    f = write(
        tmp_path,
        f"""
<arg name="robot" default="r1" description="ns"/>
<arg name="use_l" default="true"/>
<let name="full" value="$(var robot)_x"/>
<set_env name="FOO" value="bar"/>
<group>
  <push-ros-namespace namespace="$(var robot)"/>
  <node pkg="demo_pkg" exec="talker" name="t" respawn="true" respawn_delay="1.5" args="--x 1">
    <param from="$(dirname)/p.yaml"/>
    <param name="rate" value="$(env RATE 5)"/>
    <remap from="a" to="b"/>
    <env name="E" value="$(var full)"/>
  </node>
  <node pkg="demo_pkg" exec="listener" if="$(var use_l)" on_exit="shutdown"/>
  <node pkg="demo_pkg" exec="listener" name="never" unless="$(var use_l)"/>
</group>
<include file="{inner}"><arg name="who" value="inc"/></include>
<node pkg="demo_pkg" exec="talker" name="abs" namespace="/fleet"/>
""",
    )
    nodes = resolver().resolve(str(f), {"robot": "r7"})
    assert [n.name for n in nodes] == ["r7/t", "r7/listener", "inc", "fleet/abs"]
    t = nodes[0]
    assert t.command[:3] == ("/install/demo_pkg/lib/demo_pkg/talker", "--x", "1")
    ros = list(t.command[t.command.index("--ros-args") + 1 :])
    assert ros == [
        "-r",
        "__node:=t",
        "-r",
        "__ns:=/r7",
        "--params-file",
        str(tmp_path / "p.yaml"),
        "-p",
        "rate:=5",
        "-r",
        "a:=b",
    ]
    assert dict(t.env) == {"FOO": "bar", "E": "r7_x"}
    assert t.respawn and t.respawn_delay == 1.5 and not t.required
    assert nodes[1].required
    assert "__ns:=/fleet" in nodes[3].command


def test_group_scope_pops_namespace(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        """
<group><push_ros_namespace namespace="a"/><node pkg="demo_pkg" exec="talker"/></group>
<node pkg="demo_pkg" exec="listener"/>""",
    )
    nodes = resolver().resolve(str(f), {})
    assert [n.name for n in nodes] == ["a/talker", "listener"]


@pytest.mark.parametrize(
    ("body", "args", "line", "needle"),
    [
        (
            '<node pkg="demo_pkg" exec="talker"/>\n<timer period="1"/>',
            {},
            3,
            "unsupported tag <timer>",
        ),
        ('<arg name="robot"/>', {}, 2, "launch argument 'robot' has no default"),
        ('<node pkg="nope_pkg" exec="talker"/>', {}, 2, "package not found"),
        ('<node pkg="demo_pkg" exec="nope"/>', {}, 2, "no such executable"),
        (
            '<node pkg="demo_pkg" exec="talker">\n<param from="/nonexistent.yaml"/>\n</node>',
            {},
            3,
            "params file is not readable",
        ),
        (
            '<node pkg="demo_pkg" exec="$(command ls)"/>',
            {},
            2,
            "substitution $(command ...) is not",
        ),
        (
            '<node pkg="demo_pkg" exec="talker" machine="m1"/>',
            {},
            2,
            "unsupported attribute(s) machine",
        ),
        ('<node pkg="demo_pkg" exec="talker" respawn="maybe"/>', {}, 2, "expected true or false"),
        (
            '<node pkg="demo_pkg" exec="$(var nope)"/>',
            {},
            2,
            "$(var nope): no such launch argument",
        ),
        ('<node pkg="demo_pkg" exec="$(env NOPE_X)"/>', {}, 2, "environment variable is not set"),
        (
            '<node pkg="demo_pkg" exec="talker"><rosparam/></node>',
            {},
            2,
            "unsupported tag <rosparam>",
        ),
        ('<arg name="a" default="1"/>', {"b": "2"}, None, "unknown launch argument(s) b"),
    ],
)
def test_bad_launch_files_one_line(
    tmp_path: Path, body: str, args: dict[str, str], line: int | None, needle: str
) -> None:
    f = write(tmp_path, body)
    with pytest.raises(LaunchFileError) as err:
        resolver().resolve(str(f), args)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{f}:{line}:" if line else f"{f}:")
    assert needle in msg


def test_not_xml_and_wrong_root(tmp_path: Path) -> None:
    bad = tmp_path / "bad.launch.xml"
    bad.write_text("<launch>\n<node pkg='a'\n")
    with pytest.raises(LaunchFileError, match=r"bad.launch.xml:\d+: not well-formed XML"):
        resolver().resolve(str(bad), {})
    root = tmp_path / "root.launch.xml"
    root.write_text("<roslaunch/>")
    with pytest.raises(LaunchFileError, match="root element must be <launch>"):
        resolver().resolve(str(root), {})


def test_substitution_nesting_and_dirname() -> None:
    ctx = SubstitutionContext({"a": "x", "x": "deep"}, {"H": "/h"}, "/d", fake_share)
    assert substitute(
        "$(var $(var a))-$(env H)-$(dirname)-$(find-pkg-share demo_pkg)", ctx, "f:1"
    ) == ("deep-/h-/d-/install/demo_pkg/share/demo_pkg")
    with pytest.raises(LaunchFileError, match="unbalanced"):
        substitute("$(var a", ctx, "f:1")


def test_eval_subset() -> None:
    ctx = SubstitutionContext({"n": "3"}, {}, "/d", fake_share)
    assert substitute("$(eval '$(var n) >= 2')", ctx, "f:1") == "True"
    assert substitute("$(eval '$(var n) * 2 + 1')", ctx, "f:1") == "7"
    assert substitute("$(eval 'not ($(var n) > 5)')", ctx, "f:1") == "True"
    with pytest.raises(LaunchFileError, match="only literals"):
        substitute("$(eval '__import__(\"os\")')", ctx, "f:1")


def test_cli_arguments() -> None:
    assert parse_arguments(["a:=1", "b:=x:=y", "c:="]) == {"a": "1", "b": "x:=y", "c": ""}
    with pytest.raises(ValueError, match="expected name:=value"):
        parse_arguments(["a=1"])


def test_repo_launch_files_are_in_subset() -> None:
    """Every launch file of the repo resolves with its defaults (packages faked as present)."""
    repo = Path(__file__).resolve().parents[3]
    files = sorted((repo / "launch").glob("*.launch.xml"))
    assert files
    for f in files:
        any_exec = LaunchResolver(
            environ=dict(os.environ),
            find_pkg_share=lambda p: f"/s/{p}",
            find_executable=lambda p, e: f"/x/{p}/{e}",
        )
        any_exec.resolve(str(f), {})
