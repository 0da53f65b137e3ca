"""Message <-> core-type conversions and the QoS profiles of the graph contract.

Shared by the robot, fleet and simulator nodes so that every node converts the same way.
See src/dawnpatrol_interfaces/README.md for which topic uses which profile.
"""

from __future__ import annotations

import json
import math

import numpy as np
from builtin_interfaces.msg import Duration as DurationMsg
from builtin_interfaces.msg import Time as TimeMsg
from geometry_msgs.msg import Pose, PoseWithCovarianceStamped, Quaternion
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from sensor_msgs.msg import LaserScan

from dawnpatrol_core.anomaly.events import (
    AnomalyEvent,
    Severity,
    event_from_dict,
    event_to_dict,
)
from dawnpatrol_core.errors import AnomalyError
from dawnpatrol_core.geometry import Pose2D, quaternion_to_yaw, yaw_to_quaternion
from dawnpatrol_interfaces.msg import Anomaly

SENSOR_QOS = qos_profile_sensor_data
RELIABLE_QOS = QoSProfile(
    depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
LATCHED_QOS = QoSProfile(
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
    history=HistoryPolicy.KEEP_LAST,
)
ALERT_QOS = QoSProfile(
    depth=1000,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
    history=HistoryPolicy.KEEP_LAST,
)


def pose2d_to_msg(p: Pose2D) -> Pose:
    msg = Pose()
    msg.position.x, msg.position.y = float(p.x), float(p.y)
    x, y, z, w = yaw_to_quaternion(p.theta)
    msg.orientation = Quaternion(x=x, y=y, z=z, w=w)
    return msg


def msg_to_pose2d(msg: Pose) -> Pose2D:
    q = msg.orientation
    return Pose2D(msg.position.x, msg.position.y, quaternion_to_yaw(q.x, q.y, q.z, q.w))


def covariance_to_msg(cov3: np.ndarray) -> list[float]:
    """(3,3) x/y/yaw covariance -> the 36 floats of a PoseWithCovariance."""
    out = [0.0] * 36
    idx = (0, 1, 5)
    for i in range(3):
        for j in range(3):
            out[idx[i] * 6 + idx[j]] = float(cov3[i, j])
    return out


def msg_to_covariance(msg: PoseWithCovarianceStamped) -> np.ndarray:
    c = msg.pose.covariance
    idx = (0, 1, 5)
    return np.array([[c[i * 6 + j] for j in idx] for i in idx], dtype=np.float64)


def seconds_to_time(t: float) -> TimeMsg:
    sec, nsec = divmod(round(t * 1e9), 1_000_000_000)
    return TimeMsg(sec=int(sec), nanosec=int(nsec))


def time_to_seconds(msg: TimeMsg) -> float:
    return float(msg.sec) + float(msg.nanosec) * 1e-9


def seconds_to_duration(t: float) -> DurationMsg:
    sec, nsec = divmod(round(t * 1e9), 1_000_000_000)
    return DurationMsg(sec=int(sec), nanosec=int(nsec))


def scan_arrays(msg: LaserScan) -> tuple[np.ndarray, np.ndarray]:
    """(ranges (N,) float64 m, angles (N,) float64 rad) of a LaserScan, in the sensor frame."""
    ranges = np.asarray(msg.ranges, dtype=np.float64)
    angles = msg.angle_min + msg.angle_increment * np.arange(ranges.size, dtype=np.float64)
    return ranges, angles


_SEVERITY_CODE = {
    Severity.INFO: Anomaly.SEVERITY_INFO,
    Severity.WARNING: Anomaly.SEVERITY_WARNING,
    Severity.ALERT: Anomaly.SEVERITY_ALERT,
    Severity.CRITICAL: Anomaly.SEVERITY_CRITICAL,
}
_SEVERITY_OF_CODE = {v: k for k, v in _SEVERITY_CODE.items()}


def anomaly_event_to_msg(ev: AnomalyEvent) -> Anomaly:
    """An outbox event as an Anomaly message. ``evidence`` is JSON
    ``{"track": [[t, x, y]...], "scan": [[x, y]...], "revision": n}`` (the message has no
    revision field; receivers keep the highest revision of a uuid). The anomaly monitor sends
    track ``t`` relative to ``last_seen`` (s, <= 0); x, y are map metres."""
    d = event_to_dict(ev)
    evidence = dict(d["evidence"], revision=ev.revision)
    msg = Anomaly(
        uuid=ev.uuid,
        robot_id=ev.robot_id,
        kind=ev.kind,
        severity=_SEVERITY_CODE[ev.severity],
        latitude=math.nan if ev.lat is None else float(ev.lat),
        longitude=math.nan if ev.lon is None else float(ev.lon),
        zone=ev.zone,
        confidence=float(ev.confidence),
        first_seen=seconds_to_time(ev.first_seen),
        last_seen=seconds_to_time(ev.last_seen),
        count=int(ev.count),
        description=ev.description,
        evidence=json.dumps(evidence, separators=(",", ":"), allow_nan=False),
    )
    msg.position.x, msg.position.y = float(ev.x), float(ev.y)
    return msg


def msg_to_anomaly_event(msg: Anomaly, source: str = "<Anomaly>") -> AnomalyEvent:
    """Validate an incoming Anomaly message (as :func:`validate_event` does: NaN, unknown kind,
    oversize or hostile text, evidence over 16 KiB) and return the event; AnomalyError else."""
    if len(msg.evidence) > 16 * 1024:
        raise AnomalyError(f"{source}: field 'evidence': got {len(msg.evidence)} bytes, "
                           "expected at most 16384")
    try:
        raw = json.loads(msg.evidence or "{}", parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise AnomalyError(f"{source}: field 'evidence': got invalid JSON, expected an object"
                           ) from None
    if not isinstance(raw, dict):
        raise AnomalyError(f"{source}: field 'evidence': got {type(raw).__name__}, "
                           "expected an object")
    revision = raw.pop("revision", 0)
    severity = _SEVERITY_OF_CODE.get(msg.severity)
    if severity is None:
        raise AnomalyError(f"{source}: field 'severity': got {msg.severity}, expected 0..3")

    def opt(v: float) -> float | None:
        return None if math.isnan(v) else float(v)

    data = {
        "uuid": msg.uuid, "robot_id": msg.robot_id, "kind": msg.kind,
        "severity": severity.value, "confidence": float(msg.confidence),
        "x": float(msg.position.x), "y": float(msg.position.y),
        "lat": opt(msg.latitude), "lon": opt(msg.longitude), "zone": msg.zone,
        "first_seen": time_to_seconds(msg.first_seen),
        "last_seen": time_to_seconds(msg.last_seen),
        "count": int(msg.count), "description": msg.description, "evidence": raw,
        "revision": revision,
    }
    if not math.isfinite(msg.position.z):
        raise AnomalyError(f"{source}: field 'position.z': got {msg.position.z}, "
                           "expected a finite number")
    return event_from_dict(data, source)


def _no_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")

