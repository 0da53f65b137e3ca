"""Message <-> core-type conversions and the QoS profiles of the graph contract.

Shared by the robot, fleet and simulator nodes so that every node converts the same way.
See src/dawnpatrol_interfaces/README.md for which topic uses which profile.
"""

from __future__ import annotations

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

from dawnpatrol_core.geometry import Pose2D, quaternion_to_yaw, yaw_to_quaternion

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
    sec = math.floor(t)
    return TimeMsg(sec=int(sec), nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)


def time_to_seconds(msg: TimeMsg) -> float:
    return float(msg.sec) + float(msg.nanosec) * 1e-9


def seconds_to_duration(t: float) -> DurationMsg:
    sec = math.floor(t)
    return DurationMsg(sec=int(sec), nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)


def scan_arrays(msg: LaserScan) -> tuple[np.ndarray, np.ndarray]:
    """(ranges (N,) float64 m, angles (N,) float64 rad) of a LaserScan, in the sensor frame."""
    ranges = np.asarray(msg.ranges, dtype=np.float64)
    angles = msg.angle_min + msg.angle_increment * np.arange(ranges.size, dtype=np.float64)
    return ranges, angles
