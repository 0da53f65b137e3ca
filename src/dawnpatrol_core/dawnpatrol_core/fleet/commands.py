"""What the fleet coordinator asks for: missions sent or cancelled, and what it decided and
recorded (order states, incidents, closed sidewalks, log lines, answers to requests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.fleet.records import MissionKind, OrderState
from dawnpatrol_core.fleet.tasks import TaskPlan
from dawnpatrol_core.planning.dispatch import DispatchPlan


@dataclass(frozen=True, slots=True)
class SendMission:
    """Send this mission to the robot; answer with MissionAccepted or MissionRejected."""

    robot_id: str
    mission_id: str
    kind: MissionKind
    tasks: tuple[TaskPlan, ...]


@dataclass(frozen=True, slots=True)
class CancelMission:
    """Cancel the robot's mission (if the fleet still follows it: its result is not awaited)."""

    robot_id: str
    mission_id: str


@dataclass(frozen=True, slots=True)
class OrderStateChanged:
    """An order changed state (already in the store)."""

    order_id: str
    state: OrderState
    robot_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class IncidentRecorded:
    """An incident went into the store (link lost, mission failed, investigation)."""

    robot_id: str
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class ClosedEdgesChanged:
    """Every robot's planner avoids these route edges from now on (the latest full list)."""

    edges: tuple[int, ...]


class Level(Enum):
    """Severity of a log line."""

    INFO = "info"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class LogLine:
    """A line for the operator's log."""

    level: Level
    text: str


@dataclass(frozen=True, slots=True, eq=False)
class DispatchAnswered:
    """The answer to a DispatchRequested: the typed plan and its orders by id when planned,
    every problem (one line each) when rejected."""

    success: bool
    message: str
    problems: tuple[str, ...] = ()
    plan: DispatchPlan | None = None
    orders: Mapping[str, Order] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InvestigateAnswered:
    """The answer to an InvestigateRequested: ``robot_id`` goes ('' when none can yet: the call
    waits for the next robot), on scene in ``eta_s`` s (NaN: unknown), watching from
    (``x``, ``y``) m; ``message`` for people (names the robot, its ETA, and why it watches from
    elsewhere when the place is off limits)."""

    robot_id: str
    eta_s: float
    x: float
    y: float
    message: str


@dataclass(frozen=True, slots=True)
class PatrolAnswered:
    """The answer to a PatrolRequested."""

    success: bool
    message: str


Command = (SendMission | CancelMission | OrderStateChanged | IncidentRecorded
           | ClosedEdgesChanged | LogLine | DispatchAnswered | InvestigateAnswered
           | PatrolAnswered)
