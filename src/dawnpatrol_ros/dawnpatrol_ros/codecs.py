"""One codec per DawnPatrol message: Anomaly <-> AnomalyEvent, RobotStatus <-> the fleet's status
record (and the CLI's dict), MissionTask, MissionEvent and the Mission result <-> the fleet
coordinator's types, the Navigate result's cause.

Enum tables are derived from the message constants (``MODE_*``, ``LOC_*``, ``SEVERITY_*``), so a
constant added to a .msg file is known here without a second table to keep in step.
"""

from __future__ import annotations

import json
import math
from typing import Any

from action_msgs.msg import GoalStatus

from dawnpatrol_core.anomaly.events import AnomalyEvent, Severity, event_from_dict, event_to_dict
from dawnpatrol_core.control.causes import NavCause, NavResult
from dawnpatrol_core.errors import AnomalyError
from dawnpatrol_core.fleet.events import (
    MissionEventReceived,
    MissionOutcome,
    MissionResultReceived,
    TaskEvent,
)
from dawnpatrol_core.fleet.registry import MODES, RobotStatusReport, mode_of_code
from dawnpatrol_core.fleet.tasks import TaskKind, TaskPlan
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_interfaces.action import Navigate
from dawnpatrol_interfaces.msg import Anomaly, DeliveryStop, MissionEvent, MissionTask, RobotStatus
from dawnpatrol_ros.convert import msg_to_pose2d, pose2d_to_msg, seconds_to_time, time_to_seconds

MAX_EVIDENCE_BYTES = 16 * 1024


def constants(msg_type: type, prefix: str) -> dict[int, str]:
    """``{value: name}`` of a message type's integer constants ``<prefix>NAME``, names in
    lower case: ``constants(RobotStatus, "MODE_")[1] == "delivering"``."""
    return {int(getattr(msg_type, n)): n[len(prefix):].lower() for n in dir(msg_type)
            if n.startswith(prefix) and isinstance(getattr(msg_type, n), int)}


MODE_NAMES = constants(RobotStatus, "MODE_")
MODE_CODES = {v: k for k, v in MODE_NAMES.items()}
LOC_NAMES = constants(RobotStatus, "LOC_")
LOC_CODES = {v: k for k, v in LOC_NAMES.items()}
SEVERITY_NAMES = constants(Anomaly, "SEVERITY_")
SEVERITY_CODES = {Severity(v): k for k, v in SEVERITY_NAMES.items()}
CAUSE_NAMES = constants(Navigate.Result, "CAUSE_")
CAUSE_CODES = {NavCause(v): k for k, v in CAUSE_NAMES.items()}


# -- Navigate result ----------------------------------------------------------------------------
def nav_result_to_msg(result: NavResult, code: int) -> Navigate.Result:
    """A goal's end as the action result: ``code`` (CODE_*), the cause and the reason."""
    return Navigate.Result(code=code, cause=CAUSE_CODES[result.cause], reason=result.reason)


def cause_from_code(cause: int) -> NavCause:
    """The cause of a Navigate result's ``cause`` field (UNKNOWN for a value we do not know:
    a newer navigator)."""
    name = CAUSE_NAMES.get(int(cause))
    return NavCause(name) if name is not None else NavCause.UNKNOWN


# -- Anomaly ------------------------------------------------------------------------------------
def anomaly_to_msg(ev: AnomalyEvent) -> Anomaly:
    """An event as an Anomaly message; ``evidence`` is JSON ``{"track": [[t, x, y]...],
    "scan": [[x, y]...]}`` (track ``t`` relative to ``last_seen``, s <= 0; x, y map metres)."""
    d = event_to_dict(ev)
    msg = Anomaly(
        uuid=ev.uuid, robot_id=ev.robot_id, kind=ev.kind, severity=SEVERITY_CODES[ev.severity],
        latitude=math.nan if ev.lat is None else float(ev.lat),
        longitude=math.nan if ev.lon is None else float(ev.lon),
        zone=ev.zone, confidence=float(ev.confidence),
        first_seen=seconds_to_time(ev.first_seen), last_seen=seconds_to_time(ev.last_seen),
        count=int(ev.count), revision=int(ev.revision), description=ev.description,
        evidence=json.dumps(d["evidence"], separators=(",", ":"), allow_nan=False),
    )
    msg.position.x, msg.position.y = float(ev.x), float(ev.y)
    return msg


def anomaly_from_msg(msg: Anomaly, source: str = "<Anomaly>") -> AnomalyEvent:
    """Validate an incoming Anomaly message (NaN, unknown kind or severity, oversize or hostile
    text, evidence over 16 KiB) and return the event; AnomalyError naming the field else."""
    if len(msg.evidence) > MAX_EVIDENCE_BYTES:
        raise AnomalyError(f"{source}: field 'evidence': got {len(msg.evidence)} bytes, "
                           f"expected at most {MAX_EVIDENCE_BYTES}")
    try:
        raw = json.loads(msg.evidence or "{}", parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise AnomalyError(f"{source}: field 'evidence': got invalid JSON, expected an object"
                           ) from None
    if not isinstance(raw, dict):
        raise AnomalyError(f"{source}: field 'evidence': got {type(raw).__name__}, "
                           "expected an object")
    severity = SEVERITY_NAMES.get(msg.severity)
    if severity is None:
        raise AnomalyError(f"{source}: field 'severity': got {msg.severity}, expected "
                           f"{min(SEVERITY_NAMES)}..{max(SEVERITY_NAMES)}")
    if not math.isfinite(msg.position.z):
        raise AnomalyError(f"{source}: field 'position.z': got {msg.position.z}, "
                           "expected a finite number")
    data = {
        "uuid": msg.uuid, "robot_id": msg.robot_id, "kind": msg.kind, "severity": severity,
        "confidence": float(msg.confidence),
        "x": float(msg.position.x), "y": float(msg.position.y),
        "lat": _opt(msg.latitude), "lon": _opt(msg.longitude), "zone": msg.zone,
        "first_seen": time_to_seconds(msg.first_seen),
        "last_seen": time_to_seconds(msg.last_seen),
        "count": int(msg.count), "description": msg.description, "evidence": raw,
        "revision": int(msg.revision),
    }
    return event_from_dict(data, source)


def _opt(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


def _no_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


# -- RobotStatus --------------------------------------------------------------------------------
def status_to_dict(m: RobotStatus) -> dict[str, Any]:
    """A RobotStatus as the fleet stores and prints it (JSON-ready: NaN -> None); ``mode`` and
    ``localization`` by name."""
    p = msg_to_pose2d(m.pose)
    return {
        "robot_id": m.robot_id, "mode": MODE_NAMES.get(m.mode, "fault"),
        "x": p.x, "y": p.y, "yaw": p.theta,
        "latitude": _opt_finite(m.latitude), "longitude": _opt_finite(m.longitude),
        "localization": LOC_NAMES.get(m.localization_health, "lost"),
        "localization_quality": float(m.localization_quality),
        "battery_percent": _opt_finite(m.battery_percent), "speed": float(m.speed),
        "current_task": m.current_task, "parcels_on_board": list(m.parcels_on_board),
        "eta_s": _opt_finite(m.eta_s), "estopped": bool(m.estopped), "last_error": m.last_error,
        "stamp": time_to_seconds(m.header.stamp),
    }


def status_from_dict(rid: str, s: dict[str, Any]) -> RobotStatus:
    """Inverse of :func:`status_to_dict` (missing fields take neutral values)."""
    m = RobotStatus(robot_id=rid, mode=MODE_CODES.get(str(s.get("mode", "idle")), 0),
                    localization_health=LOC_CODES.get(str(s.get("localization", "ok")), 0),
                    localization_quality=float(s.get("localization_quality", 0.0)),
                    speed=float(s.get("speed", 0.0)),
                    current_task=str(s.get("current_task", "")),
                    parcels_on_board=[str(p) for p in s.get("parcels_on_board", [])],
                    estopped=bool(s.get("estopped", False)),
                    last_error=str(s.get("last_error", "")))
    m.header.stamp = seconds_to_time(float(s.get("stamp", 0.0)))
    m.header.frame_id = "map"
    m.pose = pose2d_to_msg(Pose2D(float(s.get("x", 0.0)), float(s.get("y", 0.0)),
                                  float(s.get("yaw", 0.0))))
    for name in ("latitude", "longitude", "eta_s", "battery_percent"):
        v = s.get(name)
        setattr(m, name, math.nan if v is None else float(v))
    return m


def _opt_finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


# -- fleet coordinator types ------------------------------------------------------------------
_OUTCOMES = {GoalStatus.STATUS_SUCCEEDED: MissionOutcome.SUCCEEDED,
             GoalStatus.STATUS_CANCELED: MissionOutcome.CANCELED,
             GoalStatus.STATUS_ABORTED: MissionOutcome.FAILED}


def _num_or_none(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


def status_from_msg(m: RobotStatus) -> RobotStatusReport:
    """RobotStatus -> the fleet's status record (NaN fields become None)."""
    p = msg_to_pose2d(m.pose)
    return RobotStatusReport(
        m.robot_id, mode_of_code(m.mode), p.x, p.y, p.theta, _num_or_none(m.latitude),
        _num_or_none(m.longitude), m.localization_health, float(m.localization_quality),
        float(m.battery_percent), float(m.speed), m.current_task, tuple(m.parcels_on_board),
        _num_or_none(m.eta_s), bool(m.estopped), m.last_error, time_to_seconds(m.header.stamp))


def status_to_msg(s: RobotStatusReport) -> RobotStatus:
    """The fleet's status record -> RobotStatus (None fields become NaN)."""
    m = RobotStatus(robot_id=s.robot_id, mode=MODES.index(s.mode),
                    localization_health=s.localization_health,
                    localization_quality=s.localization_quality,
                    battery_percent=s.battery_percent, speed=s.speed,
                    current_task=s.current_task, parcels_on_board=list(s.parcels_on_board),
                    estopped=s.estopped, last_error=s.last_error, latitude=_nan(s.latitude),
                    longitude=_nan(s.longitude), eta_s=_nan(s.eta_s))
    m.header.stamp = seconds_to_time(s.stamp)
    m.header.frame_id = "map"
    m.pose = pose2d_to_msg(Pose2D(s.x, s.y, s.yaw))
    return m


def task_to_msg(t: TaskPlan) -> MissionTask:
    """A planned task -> MissionTask (a deliver task carries its DeliveryStop; a patrol visit
    planned between parcels, the start of its watch as the stop's window start)."""
    m = MissionTask(kind=t.kind.value, id=t.id, pose=pose2d_to_msg(t.pose),
                    dwell_s=float(t.dwell_s))
    if t.kind is TaskKind.PATROL and t.window_start > 0.0:
        m.stop = DeliveryStop(window_start=seconds_to_time(t.window_start))
    if t.kind is TaskKind.DELIVER:
        m.stop = DeliveryStop(
            order_id=t.order_id, address_id=t.address_id, pose=pose2d_to_msg(t.pose),
            window_start=seconds_to_time(max(0.0, t.window_start)),
            window_end=seconds_to_time(max(0.0, t.window_end)),
            handover_method=t.method, compartments=t.compartments)
    return m


def event_from_msg(m: MissionEvent) -> MissionEventReceived | None:
    """MissionEvent -> the coordinator's event; None for an event name it does not know."""
    try:
        event = TaskEvent(m.event)
    except ValueError:
        return None
    stamp = time_to_seconds(m.header.stamp)
    return MissionEventReceived(m.robot_id, m.task_id, m.task_kind, event, m.position.x,
                                m.position.y, m.method, m.detail, stamp or None)


def result_from_action(robot_id: str, mission_id: str, wrapped: Any) -> MissionResultReceived:
    """The mission action's wrapped result (None or STATUS_UNKNOWN: the robot no longer knows
    the goal) -> the coordinator's event."""
    if wrapped is None or wrapped.status not in _OUTCOMES:
        return MissionResultReceived(robot_id, mission_id, MissionOutcome.LOST)
    r = wrapped.result
    return MissionResultReceived(
        robot_id, mission_id, _OUTCOMES[wrapped.status], tuple(r.completed_ids),
        tuple(zip(r.failed_ids, r.failure_reasons, strict=False)), r.message)
