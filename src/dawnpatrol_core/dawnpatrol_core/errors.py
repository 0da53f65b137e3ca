"""Exception types of DawnPatrol: one base, one subclass per domain.

Messages follow the house shape ``FILE:LINE: field 'x': got 'y', expected ...`` so an operator
can fix the input from the one line they see.
"""

from __future__ import annotations

import math


class DawnPatrolError(Exception):
    """Base of every error DawnPatrol raises on purpose."""


class ConfigError(DawnPatrolError):
    """A parameter or configuration file is invalid."""


class MapError(DawnPatrolError):
    """A map, route graph, zone file, address book or world file is invalid."""


class ScenarioError(DawnPatrolError):
    """A simulator scenario file is invalid."""


class OrderError(DawnPatrolError):
    """An order batch is invalid (the whole batch is rejected)."""


class PlanningError(DawnPatrolError):
    """A route, path or dispatch plan cannot be produced."""


class PatrolError(DawnPatrolError):
    """A patrol plan is invalid or infeasible."""


class LaunchFileError(DawnPatrolError):
    """A launch file uses something outside the supported ROS 2 XML subset."""


def where(source: str, line: int | None = None) -> str:
    """Format an error location as ``source`` or ``source:line``."""
    src = path_text(source)
    return f"{src}:{line}" if line is not None else src


def path_text(path: object) -> str:
    """A file name for a message: as is when printable, else quoted with escapes (a name
    with a line break must not break the one-line message)."""
    s = str(path)
    return s if s.isprintable() and len(s) <= 200 else repr(s)[:200]


def shown(got: object, limit: int = 80) -> str:
    """``repr(got)`` cut to ``limit`` characters, for messages: a hostile file's value is named,
    never copied whole (repr also escapes line breaks, so the message stays one line)."""
    try:
        text = repr(got)
    except ValueError:  # an integer too long to print
        return f"<an integer of {got.bit_length() if isinstance(got, int) else '?'} bits>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def field_error(
    source: str, field: str, got: object, expected: str, line: int | None = None
) -> str:
    """Build a one-line message ``SOURCE[:LINE]: field 'F': got 'V', expected E``."""
    ok = isinstance(field, str) and field.isprintable() and len(field) <= 60
    name = field if ok else shown(field, 60)
    return f"{where(source, line)}: field '{name}': got {shown(got)}, expected {expected}"


def one_line(exc: BaseException, limit: int = 120) -> str:
    """The first line of a library exception's message, cut to ``limit`` characters (its
    class name when it has no message), to quote inside one of our one-line errors."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def finite_number(v: object) -> float | None:
    """``v`` as a float when it is a finite int or float (not a bool), else None — also for
    an integer too large for a float, which ``float()`` would raise on."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


class AnomalyError(DawnPatrolError):
    """An anomaly event or anomaly store record is malformed or hostile."""


class SensorError(DawnPatrolError):
    """A sensor reading cannot be used (e.g. a scan with no valid range); the caller skips it."""


class SafetyError(DawnPatrolError):
    """A safety request is refused (e.g. a resume without who/why)."""


class HandoverError(DawnPatrolError):
    """A delivery handover event arrived in a state where it is not allowed."""


class MissionError(DawnPatrolError):
    """A robot mission or its persisted state is invalid."""


class SecurityError(DawnPatrolError):
    """A key, operator registry, command envelope or audit log is malformed or refused."""
