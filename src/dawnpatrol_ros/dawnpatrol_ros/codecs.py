"""One codec per DawnPatrol message: Anomaly <-> AnomalyEvent, RobotStatus <-> its stored form.

Enum tables are derived from the message constants (``MODE_*``, ``LOC_*``, ``SEVERITY_*``), so a
constant added to a .msg file is known here without a second table to keep in step.
"""

from __future__ import annotations

import json
import math
from typing import Any

from dawnpatrol_core.anomaly.events import AnomalyEvent, Severity, event_from_dict, event_to_dict
from dawnpatrol_core.errors import AnomalyError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_interfaces.msg import Anomaly, RobotStatus
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
