"""Exception types of DawnPatrol: one base, one subclass per domain.

Messages follow the house shape ``FILE:LINE: field 'x': got 'y', expected ...`` so an operator
can fix the input from the one line they see.
"""

from __future__ import annotations


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
    return f"{source}:{line}" if line is not None else source


def field_error(
    source: str, field: str, got: object, expected: str, line: int | None = None
) -> str:
    """Build a one-line message ``SOURCE[:LINE]: field 'F': got 'V', expected E``."""
    return f"{where(source, line)}: field '{field}': got {got!r}, expected {expected}"


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
