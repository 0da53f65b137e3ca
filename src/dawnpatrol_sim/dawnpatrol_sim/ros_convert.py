"""Simulator readings -> ROS 2 messages, and an MCAP sink that records published messages as CDR.

Times are integer nanoseconds of the sim clock (seconds since the shift day's midnight), so
stamps never lose a nanosecond to float rounding however long the run.
"""

from __future__ import annotations

import array
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from builtin_interfaces.msg import Time as TimeMsg
from geometry_msgs.msg import Pose, PoseArray
from nav_msgs.msg import Odometry
from rclpy.serialization import serialize_message
from sensor_msgs.msg import BatteryState, Imu, LaserScan, NavSatFix, NavSatStatus

from dawnpatrol_core.maps.georef import GeoReference
from dawnpatrol_sim.engine.readings import (
    BatteryReading,
    Contact,
    GnssFix,
    GroundTruth,
    ImuReading,
    OdomReading,
    Scan,
)

NS = 1_000_000_000
# 1-sigma odometry twist noise reported in the covariance (m/s, rad/s): order of the engine's
# wheel noise; consumers use it to weight odometry, not to reproduce it.
ODOM_TWIST_STD = (0.02, 0.03)


def time_msg(ns: int) -> TimeMsg:
    """builtin_interfaces/Time of ``ns`` integer nanoseconds."""
    sec, nanosec = divmod(int(ns), NS)
    return TimeMsg(sec=sec, nanosec=nanosec)


def scan_to_msg(
    scan: Scan, stamp: TimeMsg, frame_id: str, out: LaserScan | None = None
) -> LaserScan:
    """A lidar sweep (ranges (N,) m, REP-117 ±inf kept) as a LaserScan in ``frame_id``.

    ``out``: a message to fill in place and return (publishers serialize at once, so a node may
    reuse one message per topic; this is what keeps the node fast).
    """
    n = scan.ranges.shape[0]
    msg = LaserScan() if out is None else out
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.angle_min = float(scan.angle_min)
    msg.angle_increment = float(scan.angle_increment)
    msg.angle_max = float(scan.angle_min + (n - 1) * scan.angle_increment)
    msg.scan_time = float(scan.scan_time)
    msg.range_min, msg.range_max = float(scan.range_min), float(scan.range_max)
    msg.ranges = array.array("f", np.ascontiguousarray(scan.ranges, dtype=np.float32).tobytes())
    return msg


def _fill_odometry(msg: Odometry, x: float, y: float, theta: float, v: float, w: float) -> None:
    pose, twist = msg.pose.pose, msg.twist.twist
    pose.position.x, pose.position.y = x, y
    pose.orientation.z, pose.orientation.w = math.sin(theta / 2.0), math.cos(theta / 2.0)
    twist.linear.x, twist.angular.z = v, w


def odom_to_msg(
    odom: OdomReading,
    stamp: TimeMsg,
    frame_id: str,
    child_frame_id: str,
    out: Odometry | None = None,
) -> Odometry:
    """Wheel odometry (pose in the odom frame, m/rad; body twist m/s, rad/s); ``out`` as in
    :func:`scan_to_msg`."""
    msg = Odometry() if out is None else out
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.child_frame_id = child_frame_id
    _fill_odometry(msg, odom.x, odom.y, odom.theta, odom.v, odom.w)
    cov = msg.twist.covariance
    cov[0], cov[35] = ODOM_TWIST_STD[0] ** 2, ODOM_TWIST_STD[1] ** 2
    return msg


def truth_to_msg(
    gt: GroundTruth, stamp: TimeMsg, child_frame_id: str, out: Odometry | None = None
) -> Odometry:
    """Ground truth as Odometry in the map frame (exact: zero covariance); ``out`` as in
    :func:`scan_to_msg`."""
    msg = Odometry() if out is None else out
    msg.header.stamp, msg.header.frame_id = stamp, "map"
    msg.child_frame_id = child_frame_id
    _fill_odometry(msg, gt.x, gt.y, gt.theta, gt.v, gt.w)
    return msg


def imu_to_msg(
    imu: ImuReading, stamp: TimeMsg, frame_id: str, gyro_std: float, out: Imu | None = None
) -> Imu:
    """Yaw rate (rad/s) only: orientation and acceleration marked absent (covariance[0] = -1);
    ``out`` as in :func:`scan_to_msg`."""
    msg = Imu() if out is None else out
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.angular_velocity.z = imu.yaw_rate
    msg.orientation_covariance[0] = -1.0
    msg.linear_acceleration_covariance[0] = -1.0
    msg.angular_velocity_covariance[8] = gyro_std * gyro_std
    return msg


def gnss_to_msg(
    fix: GnssFix | None, georef: GeoReference, stamp: TimeMsg, frame_id: str
) -> NavSatFix:
    """A fix (map x, y m; std m) as latitude/longitude through ``georef``; None -> NO_FIX."""
    msg = NavSatFix()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.status.service = NavSatStatus.SERVICE_GPS
    if fix is None:
        msg.status.status = NavSatStatus.STATUS_NO_FIX
        msg.latitude = msg.longitude = msg.altitude = math.nan
        msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
        return msg
    msg.status.status = NavSatStatus.STATUS_FIX
    msg.latitude, msg.longitude = georef.to_wgs84(fix.x, fix.y)
    msg.altitude = georef.altitude_m
    var = fix.std * fix.std
    cov = msg.position_covariance
    cov[0], cov[4], cov[8] = var, var, 4.0 * var
    msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
    return msg


def battery_to_msg(b: BatteryReading, stamp: TimeMsg, frame_id: str) -> BatteryState:
    """Battery: voltage V, charge Ah, percentage 0..1 (the state of charge)."""
    msg = BatteryState()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.voltage = float(b.voltage)
    msg.temperature = msg.current = math.nan
    msg.charge = float(b.energy_wh / b.voltage) if b.voltage > 0 else math.nan
    msg.capacity = msg.design_capacity = math.nan
    msg.percentage = float(min(max(b.soc, 0.0), 1.0))
    msg.power_supply_status = BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
    msg.power_supply_health = BatteryState.POWER_SUPPLY_HEALTH_GOOD
    msg.power_supply_technology = BatteryState.POWER_SUPPLY_TECHNOLOGY_LION
    msg.present = True
    return msg


def people_to_msg(
    xy: npt.NDArray[np.float64], present: npt.NDArray[np.bool_], stamp: TimeMsg
) -> PoseArray:
    """Positions (P,2) m of the people present (mask (P,)) as a PoseArray in the map frame."""
    msg = PoseArray()
    msg.header.stamp, msg.header.frame_id = stamp, "map"
    poses = []
    for x, y in xy[present].tolist():
        p = Pose()
        p.position.x, p.position.y = x, y
        poses.append(p)
    msg.poses = poses
    return msg


def contact_json(contact: Contact, time_offset_s: float) -> str:
    """One contact as JSON; ``time`` is on the sim clock (engine time + ``time_offset_s``)."""
    return json.dumps(
        {
            "time": round(contact.time + time_offset_s, 6),
            "robot": contact.robot,
            "what": contact.what,
            "x": round(contact.x, 4),
            "y": round(contact.y, 4),
            "by": contact.by,
        }
    )


# ------------------------------------------------------------------------------ MCAP recording
_PRIMITIVES = frozenset(
    ("bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16")
    + ("int32", "uint32", "int64", "uint64", "string", "wstring")
)
_SEP = "=" * 80


def _msg_file(pkg: str, name: str) -> Path:
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory(pkg)) / "msg" / f"{name}.msg"


def message_definition(type_name: str) -> str:
    """ROS 2 concatenated definition (``ros2msg`` schema) of ``pkg/msg/Name``, built from the
    installed .msg files: the type's text, then each nested type once after a ``MSG:`` line."""
    pkg, _, name = type_name.split("/")
    out: list[str] = []
    seen = {f"{pkg}/{name}"}
    todo = [(pkg, name)]
    while todo:
        p, n = todo.pop(0)
        text = _msg_file(p, n).read_text(encoding="utf-8")
        out.append(text if not out else f"{_SEP}\nMSG: {p}/{n}\n{text}")
        for line in text.splitlines():
            tok = line.split("#", 1)[0].split()
            if len(tok) < 2:
                continue  # blank or comment
            base = tok[0].split("[", 1)[0].split("<=", 1)[0]  # drop array and bound suffixes
            if base in _PRIMITIVES:
                continue
            if "/" in base:
                dp, dn = base.split("/")[0], base.split("/")[-1]
            else:  # same package, except the implicit std_msgs Header
                dp, dn = ("std_msgs" if base == "Header" else p), base
            key = f"{dp}/{dn}"
            if key not in seen:
                seen.add(key)
                todo.append((dp, dn))
    return "\n".join(out)


def _type_name(msg: Any) -> str:
    mod = type(msg).__module__.split(".")  # e.g. sensor_msgs.msg._laser_scan
    return f"{mod[0]}/msg/{type(msg).__name__}"


class McapSink:
    """Writes published ROS messages (serialized CDR) to an MCAP file that ``ros2 bag`` and
    Foxglove read. Channels and schemas are registered on first use."""

    def __init__(self, path: str | Path) -> None:
        from mcap.writer import CompressionType, Writer

        self.path = Path(path)
        self._fh = self.path.open("wb")
        self._w = Writer(self._fh, compression=CompressionType.LZ4)
        self._w.start(profile="ros2", library="dawnpatrol_sim")
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, tuple[int, int]] = {}  # topic -> (channel id, sequence)

    def write(self, topic: str, msg: Any, t_ns: int) -> bytes:
        """Record ``msg`` on ``topic`` at sim time ``t_ns`` (log and publish time); returns the
        serialized CDR bytes (a publisher can send them as they are)."""
        ch = self._channels.get(topic)
        if ch is None:
            tname = _type_name(msg)
            sid = self._schemas.get(tname)
            if sid is None:
                schema = message_definition(tname).encode("utf-8")
                sid = self._w.register_schema(tname, "ros2msg", schema)
                self._schemas[tname] = sid
            ch = (self._w.register_channel(topic, "cdr", sid), 0)
        cid, seq = ch
        data: bytes = serialize_message(msg)
        self._w.add_message(cid, log_time=t_ns, data=data, publish_time=t_ns, sequence=seq)
        self._channels[topic] = (cid, seq + 1)
        return data

    def close(self) -> None:
        """Write the summary and index, close the file (idempotent)."""
        if not self._fh.closed:
            self._w.finish()
            self._fh.close()
