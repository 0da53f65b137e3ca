"""The fleet manager's message conversions: RobotStatus, MissionTask, MissionEvent, the mission
action's result and Anomaly to and from the fleet coordinator's and the inbox's types.
(They belong with the other codecs in the ROS glue package once it exists.)"""

from __future__ import annotations

import json
import math
from typing import Any

from action_msgs.msg import GoalStatus

from dawnpatrol_core.anomaly.events import AnomalyEvent, Severity, event_from_dict
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
from dawnpatrol_core.store.inbox import InboxRecord
from dawnpatrol_interfaces.msg import Anomaly, DeliveryStop, MissionEvent, MissionTask, RobotStatus
from dawnpatrol_robot.msgconv import (
    msg_to_pose2d,
    pose2d_to_msg,
    seconds_to_time,
    time_to_seconds,
)

SEVERITIES = [s.value for s in Severity]
_OUTCOMES = {GoalStatus.STATUS_SUCCEEDED: MissionOutcome.SUCCEEDED,
             GoalStatus.STATUS_CANCELED: MissionOutcome.CANCELED,
             GoalStatus.STATUS_ABORTED: MissionOutcome.FAILED}


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


def status_from_msg(m: RobotStatus) -> RobotStatusReport:
    """RobotStatus -> the fleet's status record (NaN fields become None)."""
    p = msg_to_pose2d(m.pose)
    return RobotStatusReport(
        m.robot_id, mode_of_code(m.mode), p.x, p.y, p.theta, _num(m.latitude),
        _num(m.longitude), m.localization_health, float(m.localization_quality),
        float(m.battery_percent), float(m.speed), m.current_task, tuple(m.parcels_on_board),
        _num(m.eta_s), bool(m.estopped), m.last_error, time_to_seconds(m.header.stamp))


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
    """A planned task -> MissionTask (a deliver task carries its DeliveryStop)."""
    m = MissionTask(kind=t.kind.value, id=t.id, pose=pose2d_to_msg(t.pose),
                    dwell_s=float(t.dwell_s))
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


def anomaly_to_dict(m: Anomaly) -> dict[str, Any]:
    """Anomaly -> the dict event_from_dict validates (AnomalyError, ValueError on bad fields)."""
    evidence = json.loads(m.evidence) if m.evidence.strip() else {}
    # Robots send their event revision inside the evidence JSON (msgconv.anomaly_event_to_msg);
    # it is not evidence, and validate_event rejects any key but track and scan.
    revision = evidence.pop("revision", None) if isinstance(evidence, dict) else None
    if m.severity >= len(SEVERITIES):
        raise AnomalyError(f"/{m.robot_id}/anomalies: field 'severity': got {m.severity}, "
                           "expected 0..3")
    return {
        "uuid": m.uuid, "robot_id": m.robot_id, "kind": m.kind,
        "severity": SEVERITIES[m.severity], "confidence": float(m.confidence),
        "x": m.position.x, "y": m.position.y, "lat": _num(m.latitude), "lon": _num(m.longitude),
        "zone": m.zone, "first_seen": time_to_seconds(m.first_seen),
        "last_seen": time_to_seconds(m.last_seen), "count": int(m.count),
        "description": m.description, "evidence": evidence,
        # Without a sent revision the merge count, which grows with every update, orders them.
        "revision": min(int(m.count), 10_000_000) if revision is None else revision,
    }


def anomaly_event(m: Anomaly) -> AnomalyEvent:
    """A robot's Anomaly, validated (AnomalyError, ValueError, TypeError on hostile input)."""
    source = f"/{m.robot_id or '?'}/anomalies"
    if len(m.evidence) > 16 * 1024:
        raise AnomalyError(f"{source}: field 'evidence': got {len(m.evidence)} bytes, "
                           "expected at most 16 KiB")
    return event_from_dict(anomaly_to_dict(m), source)


def anomaly_to_msg(r: InboxRecord) -> Anomaly:
    """An inbox record -> Anomaly, as operators receive it."""
    e = r.event
    m = Anomaly(uuid=e.uuid, robot_id=e.robot_id, kind=e.kind,
                severity=SEVERITIES.index(e.severity.value), zone=e.zone,
                confidence=float(e.confidence), count=e.count, description=e.description,
                latitude=_nan(e.lat), longitude=_nan(e.lon),
                first_seen=seconds_to_time(e.first_seen), last_seen=seconds_to_time(e.last_seen))
    m.position.x, m.position.y = e.x, e.y
    m.evidence = json.dumps({"track": [list(t) for t in e.evidence.track],
                             "scan": [list(s) for s in e.evidence.scan]}, separators=(",", ":"))
    return m
