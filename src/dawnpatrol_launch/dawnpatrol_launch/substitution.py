"""``$(...)`` substitutions of the ROS 2 launch XML format (the subset DawnPatrol uses)."""

from __future__ import annotations

import ast
import operator
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dawnpatrol_core.errors import LaunchFileError

SUPPORTED = ("var", "env", "find-pkg-share", "dirname", "eval")


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
        depth, j, quote = 1, start + 2, ""
        while j < len(text) and depth:
            ch = text[j]
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif text.startswith("$(", j):
                depth += 1
                j += 2
                continue
            elif ch == ")":
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
    if name == "eval" and len(args) == 1:
        return safe_eval(args[0], where)
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


_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Mod: operator.mod,
}
_CMPOPS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def safe_eval(expr: str, where: str) -> str:
    """``$(eval EXPR)`` restricted to literals, arithmetic, comparisons and and/or/not.

    ``ros2 launch`` evaluates full Python here; launch files that stay within this subset behave
    the same under both. Anything else (names, calls, attributes) is rejected.
    """

    def ev(node: ast.AST) -> object:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not ev(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)  # type: ignore[operator]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.BoolOp):
            values = [ev(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPOPS:
            cmp: Any = _CMPOPS[type(node.ops[0])]
            return cmp(ev(node.left), ev(node.comparators[0]))
        raise ValueError(type(node).__name__)

    try:
        return str(ev(ast.parse(expr, mode="eval")))
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError) as exc:
        raise LaunchFileError(
            f"{where}: $(eval {expr!r}): only literals, arithmetic, comparisons and and/or/not "
            f"are supported ({exc})"
        ) from None
