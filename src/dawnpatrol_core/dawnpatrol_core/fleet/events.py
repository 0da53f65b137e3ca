"""What the fleet coordinator hears: robot status, what became of the missions it sent, the
robots' mission events, the clock, and the operator's requests. Times are ROS time seconds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from dawnpatrol_core.fleet.registry import RobotStatusReport


@dataclass(frozen=True, slots=True)
class StatusReceived:
    """A robot published its status."""

    status: RobotStatusReport


@dataclass(frozen=True, slots=True)
class MissionAccepted:
    """The robot accepted the mission: its result will come (MissionResultReceived)."""

    robot_id: str
    mission_id: str


@dataclass(frozen=True, slots=True)
class MissionRejected:
    """The robot refused the mission, or could not be reached to send it."""

    robot_id: str
    mission_id: str
    reason: str = ""


class MissionOutcome(Enum):
    """How a mission the fleet followed ended. LOST: the robot no longer knows it (its mission
    node restarted and resumes it from disk), so the fleet follows it by status instead."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class MissionResultReceived:
    """A mission ended: task ids completed, (task id, reason) failed, a line for people."""

    robot_id: str
    mission_id: str
    outcome: MissionOutcome
    completed: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    message: str = ""


class TaskEvent(StrEnum):
    """A robot's mission event (MissionEvent EVENT_* values)."""

    STARTED = "started"
    ARRIVED = "arrived"
    HANDED_OVER = "handed_over"
    FAILED = "failed"
    HELD = "held"
    WAITING = "waiting"
    ANNOUNCED = "announced"
    DWELL_DONE = "dwell_done"
    RETURNED = "returned"


@dataclass(frozen=True, slots=True)
class MissionEventReceived:
    """Something happened in a robot's mission at ``stamp`` (None: unknown, taken as now), the
    robot at (x, y) m; ``method`` of a handover; ``detail`` for people."""

    robot_id: str
    task_id: str
    task_kind: str
    event: TaskEvent
    x: float = 0.0
    y: float = 0.0
    method: str = ""
    detail: str = ""
    stamp: float | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes (about once a second): link states, waiting work, patrol."""


@dataclass(frozen=True, slots=True)
class DispatchRequested:
    """An operator's order batch: ``text`` in ``fmt`` (csv, yaml, json) named ``source``;
    ``dry_run`` plans only. Answered by DispatchAnswered."""

    text: str
    fmt: str
    source: str
    dry_run: bool = False
    operator: str = ""


@dataclass(frozen=True, slots=True)
class InvestigateRequested:
    """Send the robot that can be there first to look at (x, y) m: an operator's call (a
    resident phoned) or a robot's alert that needs a look (``source`` says which, for people).
    Answered by InvestigateAnswered."""

    x: float
    y: float
    source: str = "operator"
    robot_id: str = ""  # the robot whose alert it is ('' for an operator's call)


@dataclass(frozen=True, slots=True)
class PatrolRequested:
    """Start (``active``) or stop the patrol of ``robot_id`` ('*' or '': every robot).
    Answered by PatrolAnswered."""

    robot_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class SidewalkReports:
    """Every blocked-sidewalk report the fleet holds: (x m, y m, last seen s)."""

    reports: tuple[tuple[float, float, float], ...]


Event = (StatusReceived | MissionAccepted | MissionRejected | MissionResultReceived
         | MissionEventReceived | Tick | DispatchRequested | InvestigateRequested
         | PatrolRequested | SidewalkReports)
