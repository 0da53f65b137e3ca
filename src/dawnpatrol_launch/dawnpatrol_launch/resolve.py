"""Read a ROS 2 XML launch file and resolve it completely into the processes to start.

Supported subset (anything else is rejected with FILE:LINE and the tag or attribute name):

- ``<launch>`` root; ``<arg name default description>``; ``<let name value>``
- ``<node pkg exec name namespace output respawn respawn_delay args on_exit>`` with children
  ``<param name value>``, ``<param from>``, ``<remap from to>``, ``<env name value>``
- ``<group scoped>`` with ``<push-ros-namespace namespace>`` (also spelt ``push_ros_namespace``)
- ``<include file>`` with ``<arg name value>`` children
- ``<set_env name value>``, ``<unset_env name>``
- ``if`` / ``unless`` on every action; substitutions ``$(var)``, ``$(env X [default])``,
  ``$(find-pkg-share pkg)``, ``$(dirname)``, ``$(eval EXPR)`` (literals, arithmetic,
  comparisons, and/or/not only).

``output``: ``screen`` (the default) relays the node's lines as ``[name] line``; ``log`` writes them
only to ``<log dir>/<name>.log`` (the tail is printed if the node fails); ``both`` does both.

``on_exit="shutdown"`` marks a required node: when it exits, everything is shut down, and the
launcher's exit code is non-zero if that node failed.
"""

from __future__ import annotations

import os
import shlex
import xml.parsers.expat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dawnpatrol_core.errors import LaunchFileError
from dawnpatrol_launch.substitution import (
    SubstitutionContext,
    default_find_pkg_share,
    find_pkg_prefix,
    substitute,
)

OUTPUTS = ("screen", "log", "both")
_COMMON = {"if", "unless"}
# Includes may nest this deep: sim.launch.xml includes a file once per robot (XML has no loops),
# so a fleet of N robots nests about 2 N + 4 deep.
MAX_INCLUDE_DEPTH = 256
_TAGS: dict[str, set[str]] = {
    "arg": {"name", "default", "description"} | _COMMON,
    "let": {"name", "value"} | _COMMON,
    "node": {
        "pkg",
        "exec",
        "name",
        "namespace",
        "output",
        "respawn",
        "respawn_delay",
        "args",
        "on_exit",
    }
    | _COMMON,
    "group": {"scoped", "forwarding"} | _COMMON,
    "push-ros-namespace": {"namespace"} | _COMMON,
    "push_ros_namespace": {"namespace"} | _COMMON,
    "include": {"file"} | _COMMON,
    "set_env": {"name", "value"} | _COMMON,
    "unset_env": {"name"} | _COMMON,
}
_NODE_CHILDREN: dict[str, set[str]] = {
    "param": {"name", "value", "from"},
    "remap": {"from", "to"},
    "env": {"name", "value"},
}
_INCLUDE_CHILDREN: dict[str, set[str]] = {"arg": {"name", "value"}}


@dataclass(slots=True)
class Element:
    """An XML element with the line it starts on."""

    tag: str
    attrib: dict[str, str]
    line: int
    children: list[Element] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One process to start: the resolved command line and environment changes."""

    name: str
    package: str
    executable: str
    command: tuple[str, ...]
    env: tuple[tuple[str, str | None], ...]
    respawn: bool
    respawn_delay: float
    required: bool
    output: str
    source: str


def parse_xml(path: str) -> Element:
    """Parse ``path`` into an :class:`Element` tree keeping line numbers."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise LaunchFileError(f"{path}: cannot read launch file: {exc.strerror}") from None
    parser = xml.parsers.expat.ParserCreate()
    stack: list[Element] = []
    root: list[Element] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        el = Element(tag, dict(attrib), parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(el)
        stack.append(el)

    def end(_tag: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise LaunchFileError(f"{path}:{exc.lineno}: not well-formed XML: {exc}") from None
    if not root or root[0].tag != "launch":
        got = root[0].tag if root else "nothing"
        raise LaunchFileError(f"{path}:1: root element must be <launch>, got <{got}>")
    return root[0]


@dataclass(slots=True)
class _Scope:
    variables: dict[str, str]
    namespace: str
    env: dict[str, str | None]


class LaunchResolver:
    """Resolves a launch file (and its includes) into :class:`NodeSpec` objects.

    ``environ`` is the environment substitutions see; ``find_pkg_share`` and ``find_executable``
    are injectable for tests.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        find_pkg_share: Callable[[str], str] = default_find_pkg_share,
        find_executable: Callable[[str, str], str | None] | None = None,
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._find_share = find_pkg_share
        self._find_exec = find_executable or _default_find_executable
        self._depth = 0

    def resolve(self, path: str, arguments: Mapping[str, str]) -> list[NodeSpec]:
        """Resolve ``path`` with ``name:=value`` launch ``arguments``."""
        scope = _Scope(variables={}, namespace="", env={})
        nodes: list[NodeSpec] = []
        self._resolve_file(os.path.abspath(path), dict(arguments), scope, nodes, top=True)
        return nodes

    # -- files and scopes ---------------------------------------------------------------------
    def _resolve_file(
        self, path: str, given: dict[str, str], scope: _Scope, nodes: list[NodeSpec], top: bool
    ) -> None:
        self._depth += 1
        if self._depth > MAX_INCLUDE_DEPTH:
            raise LaunchFileError(
                f"{path}: includes nested more than {MAX_INCLUDE_DEPTH} deep (a cycle?)"
            )
        root = parse_xml(path)
        declared = {
            el.attrib.get("name", "")
            for el in _walk(root)
            if el.tag == "arg" and el.attrib.get("name")
        }
        if top:
            unknown = sorted(set(given) - declared)
            if unknown:
                raise LaunchFileError(
                    f"{path}: unknown launch argument(s) {', '.join(unknown)} "
                    f"(declared: {', '.join(sorted(declared)) or 'none'})"
                )
        for name, value in given.items():
            scope.variables[name] = value
        self._actions(root.children, path, scope, nodes)
        self._depth -= 1

    def _ctx(self, path: str, scope: _Scope) -> SubstitutionContext:
        env = dict(self._environ)
        for k, v in scope.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v

        def share(pkg: str) -> str:
            try:
                return self._find_share(pkg)
            except LookupError:
                raise LaunchFileError(
                    f"{path}: $(find-pkg-share {pkg}): package not found (is the workspace built "
                    "and env.sh sourced?)"
                ) from None

        return SubstitutionContext(scope.variables, env, os.path.dirname(path), share)

    def _attr(
        self, el: Element, name: str, path: str, scope: _Scope, default: str | None = None
    ) -> str:
        where = f"{path}:{el.line}"
        if name not in el.attrib:
            if default is None:
                raise LaunchFileError(f"{where}: <{el.tag}> needs attribute '{name}'")
            return default
        return substitute(el.attrib[name], self._ctx(path, scope), where)

    def _condition(self, el: Element, path: str, scope: _Scope) -> bool:
        where = f"{path}:{el.line}"
        for key, want in (("if", True), ("unless", False)):
            if key in el.attrib:
                value = _to_bool(self._attr(el, key, path, scope), where, key)
                if value != want:
                    return False
        return True

    def _check(self, el: Element, allowed: Mapping[str, set[str]], path: str, parent: str) -> None:
        where = f"{path}:{el.line}"
        if el.tag not in allowed:
            raise LaunchFileError(
                f"{where}: unsupported tag <{el.tag}> in <{parent}> "
                f"(supported: {', '.join(sorted(allowed))})"
            )
        bad = sorted(set(el.attrib) - allowed[el.tag])
        if bad:
            raise LaunchFileError(
                f"{where}: <{el.tag}> has unsupported attribute(s) {', '.join(bad)}"
            )

    def _actions(
        self, elements: list[Element], path: str, scope: _Scope, nodes: list[NodeSpec]
    ) -> None:
        for el in elements:
            self._check(el, _TAGS, path, "launch")
            if not self._condition(el, path, scope):
                continue
            getattr(self, "_do_" + el.tag.replace("-", "_"))(el, path, scope, nodes)

    # -- actions -----------------------------------------------------------------------------
    def _do_arg(self, el: Element, path: str, scope: _Scope, nodes: list[NodeSpec]) -> None:
        name = self._attr(el, "name", path, scope)
        if name in scope.variables:
            return
        if "default" not in el.attrib:
            raise LaunchFileError(
                f"{path}:{el.line}: launch argument '{name}' has no default and no value was given "
                f"(pass {name}:=VALUE)"
            )
        scope.variables[name] = self._attr(el, "default", path, scope)

    def _do_let(self, el: Element, path: str, scope: _Scope, nodes: list[NodeSpec]) -> None:
        scope.variables[self._attr(el, "name", path, scope)] = self._attr(el, "value", path, scope)

    def _do_set_env(self, el: Element, path: str, scope: _Scope, nodes: list[NodeSpec]) -> None:
        scope.env[self._attr(el, "name", path, scope)] = self._attr(el, "value", path, scope)

    def _do_unset_env(self, el: Element, path: str, scope: _Scope, nodes: list[NodeSpec]) -> None:
        scope.env[self._attr(el, "name", path, scope)] = None

    def _do_push_ros_namespace(
        self, el: Element, path: str, scope: _Scope, nodes: list[NodeSpec]
    ) -> None:
        scope.namespace = _join_ns(scope.namespace, self._attr(el, "namespace", path, scope))

    def _do_group(self, el: Element, path: str, scope: _Scope, nodes: list[NodeSpec]) -> None:
        scoped = _to_bool(
            self._attr(el, "scoped", path, scope, "true"), f"{path}:{el.line}", "scoped"
        )
        inner = _Scope(dict(scope.variables), scope.namespace, dict(scope.env)) if scoped else scope
        self._actions(el.children, path, inner, nodes)

    def _do_include(self, el: Element, path: str, scope: _Scope, nodes: list[NodeSpec]) -> None:
        target = self._attr(el, "file", path, scope)
        if not os.path.isabs(target):
            target = os.path.join(os.path.dirname(path), target)
        given: dict[str, str] = {}
        for child in el.children:
            self._check(child, _INCLUDE_CHILDREN, path, "include")
            given[self._attr(child, "name", path, scope)] = self._attr(child, "value", path, scope)
        if not os.path.isfile(target):
            raise LaunchFileError(f"{path}:{el.line}: <include file='{target}'>: no such file")
        inner = _Scope(dict(scope.variables), scope.namespace, dict(scope.env))
        self._resolve_file(os.path.abspath(target), given, inner, nodes, top=False)

    def _do_node(self, el: Element, path: str, scope: _Scope, nodes: list[NodeSpec]) -> None:
        where = f"{path}:{el.line}"
        pkg = self._attr(el, "pkg", path, scope)
        exe = self._attr(el, "exec", path, scope)
        name = self._attr(el, "name", path, scope, exe)
        ns = _join_ns(scope.namespace, self._attr(el, "namespace", path, scope, ""))
        output = self._attr(el, "output", path, scope, "screen")
        if output not in OUTPUTS:
            raise LaunchFileError(f"{where}: <node> attribute 'output': got {output!r}, "
                                  f"expected one of {', '.join(OUTPUTS)}")
        respawn = _to_bool(self._attr(el, "respawn", path, scope, "false"), where, "respawn")
        delay_text = self._attr(el, "respawn_delay", path, scope, "0")
        try:
            delay = float(delay_text)
        except ValueError:
            raise LaunchFileError(
                f"{where}: <node> attribute 'respawn_delay': got {delay_text!r}, expected seconds"
            ) from None
        on_exit = self._attr(el, "on_exit", path, scope, "")
        if on_exit not in ("", "shutdown"):
            raise LaunchFileError(
                f"{where}: <node> on_exit={on_exit!r}: only 'shutdown' is supported"
            )
        try:
            executable = self._find_exec(pkg, exe)
        except LookupError:
            raise LaunchFileError(
                f"{where}: <node pkg='{pkg}'>: package not found (is the workspace built?)"
            ) from None
        if executable is None:
            raise LaunchFileError(f"{where}: <node pkg='{pkg}' exec='{exe}'>: no such executable")
        ros_args: list[str] = ["-r", f"__node:={name}"]
        if ns:
            ros_args += ["-r", f"__ns:={ns}"]
        env = dict(scope.env)
        for child in el.children:
            self._check(child, _NODE_CHILDREN, path, "node")
            cw = f"{path}:{child.line}"
            if child.tag == "param":
                if "from" in child.attrib:
                    pfile = self._attr(child, "from", path, scope)
                    if not os.path.isfile(pfile) or not os.access(pfile, os.R_OK):
                        raise LaunchFileError(
                            f"{cw}: <param from='{pfile}'>: params file is not readable"
                        )
                    ros_args += ["--params-file", pfile]
                else:
                    pname = self._attr(child, "name", path, scope)
                    # rcl reads -p values as YAML; an empty value must be spelt '' to stay a string.
                    pvalue = self._attr(child, "value", path, scope) or "''"
                    ros_args += ["-p", f"{pname}:={pvalue}"]
            elif child.tag == "remap":
                src = self._attr(child, "from", path, scope)
                ros_args += ["-r", f"{src}:={self._attr(child, 'to', path, scope)}"]
            else:
                env[self._attr(child, "name", path, scope)] = self._attr(
                    child, "value", path, scope
                )
        extra = shlex.split(self._attr(el, "args", path, scope, ""))
        nodes.append(
            NodeSpec(
                name=f"{ns.strip('/') + '/' if ns.strip('/') else ''}{name}",
                package=pkg,
                executable=exe,
                command=(executable, *extra, "--ros-args", *ros_args),
                env=tuple(sorted(env.items())),
                respawn=respawn,
                respawn_delay=delay,
                required=on_exit == "shutdown",
                output=output,
                source=where,
            )
        )


def _walk(el: Element) -> list[Element]:
    out = [el]
    for c in el.children:
        if c.tag not in ("include", "node"):
            out.extend(_walk(c))
    return out


def _join_ns(base: str, ns: str) -> str:
    if not ns:
        return base
    if ns.startswith("/"):
        return "/" + ns.strip("/")
    return "/" + "/".join(p for p in (base.strip("/"), ns.strip("/")) if p)


def _to_bool(text: str, where: str, attr: str) -> bool:
    low = text.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise LaunchFileError(f"{where}: attribute '{attr}': got {text!r}, expected true or false")


def _default_find_executable(package: str, executable: str) -> str | None:
    """``<prefix>/lib/<package>/<executable>``; LookupError if the package is unknown."""
    prefix = find_pkg_prefix(package)
    candidate = os.path.join(prefix, "lib", package, executable)
    return candidate if os.access(candidate, os.X_OK) else None
