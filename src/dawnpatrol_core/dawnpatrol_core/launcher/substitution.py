"""``$(...)`` substitutions of the ROS 2 launch XML format (the subset DawnPatrol uses)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dawnpatrol_core.errors import LaunchFileError

SUPPORTED = ("var", "env", "find-pkg-share", "dirname")


@dataclass(frozen=True, slots=True)
class SubstitutionContext:
    """What substitutions can see: launch variables, the environment, the file's folder."""

    variables: Mapping[str, str]
    environ: Mapping[str, str]
    dirname: str
    find_pkg_share: Callable[[str], str]


def substitute(text: str, ctx: SubstitutionContext, where: str) -> str:
    """Expand every ``$(name args...)`` in ``text``; nested substitutions are expanded first.

    Raises LaunchFileError naming ``where`` (``FILE:LINE``) for an unknown substitution, an
    undefined variable or environment variable, or an unbalanced ``$(``.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        start = text.find("$(", i)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start])
        depth, j = 1, start + 2
        while j < len(text) and depth:
            if text.startswith("$(", j):
                depth += 1
                j += 2
                continue
            if text[j] == ")":
                depth -= 1
            j += 1
        if depth:
            raise LaunchFileError(f"{where}: unbalanced '$(' in {text!r}")
        inner = substitute(text[start + 2 : j - 1], ctx, where)
        out.append(_evaluate(inner, ctx, where))
        i = j
    return "".join(out)


def _evaluate(expr: str, ctx: SubstitutionContext, where: str) -> str:
    try:
        parts = shlex.split(expr)
    except ValueError as exc:
        raise LaunchFileError(f"{where}: cannot parse substitution $({expr}): {exc}") from None
    if not parts:
        raise LaunchFileError(f"{where}: empty substitution $()")
    name, args = parts[0], parts[1:]
    if name == "var" and len(args) == 1:
        if args[0] not in ctx.variables:
            raise LaunchFileError(f"{where}: $(var {args[0]}): no such launch argument or <let>")
        return ctx.variables[args[0]]
    if name == "env" and len(args) in (1, 2):
        if args[0] in ctx.environ:
            return ctx.environ[args[0]]
        if len(args) == 2:
            return args[1]
        raise LaunchFileError(f"{where}: $(env {args[0]}): environment variable is not set")
    if name == "find-pkg-share" and len(args) == 1:
        return ctx.find_pkg_share(args[0])
    if name == "dirname" and not args:
        return ctx.dirname
    if name in SUPPORTED:
        raise LaunchFileError(f"{where}: $({expr}): wrong number of arguments for '{name}'")
    raise LaunchFileError(
        f"{where}: substitution $({name} ...) is not supported (supported: {', '.join(SUPPORTED)})"
    )


def default_find_pkg_share(package: str) -> str:
    """Share directory of an installed package, found through AMENT_PREFIX_PATH."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        marker = os.path.join(prefix, "share", "ament_index", "resource_index", "packages", package)
        if prefix and os.path.exists(marker):
            return os.path.join(prefix, "share", package)
    raise LookupError(package)


def find_pkg_prefix(package: str) -> str:
    """Install prefix of a package, found through AMENT_PREFIX_PATH."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        marker = os.path.join(prefix, "share", "ament_index", "resource_index", "packages", package)
        if prefix and os.path.exists(marker):
            return prefix
    raise LookupError(package)
