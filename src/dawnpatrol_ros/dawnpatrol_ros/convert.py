"""Conversions between standard ROS messages and core types: poses, covariances, times, scans."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from builtin_interfaces.msg import Duration as DurationMsg
from builtin_interfaces.msg import Time as TimeMsg
from geometry_msgs.msg import Pose, PoseWithCovarianceStamped, Quaternion
from sensor_msgs.msg import LaserScan

from dawnpatrol_core.geometry import Pose2D, quaternion_to_yaw, yaw_to_quaternion

FloatArray = npt.NDArray[np.float64]
_XY_YAW = (0, 1, 5)  # rows/columns of x, y and yaw in a 6x6 pose covariance


def pose2d_to_msg(p: Pose2D) -> Pose:
    """A planar pose (m, rad) as a geometry_msgs/Pose (z = 0, yaw quaternion)."""
    msg = Pose()
    msg.position.x, msg.position.y = float(p.x), float(p.y)
    x, y, z, w = yaw_to_quaternion(p.theta)
    msg.orientation = Quaternion(x=x, y=y, z=z, w=w)
    return msg


def msg_to_pose2d(msg: Pose) -> Pose2D:
    """The planar part of a geometry_msgs/Pose: x, y (m) and yaw (rad)."""
    q = msg.orientation
    return Pose2D(msg.position.x, msg.position.y, quaternion_to_yaw(q.x, q.y, q.z, q.w))


def covariance_to_msg(cov3: FloatArray) -> list[float]:
    """(3,3) x/y/yaw covariance -> the 36 floats of a PoseWithCovariance."""
    out = [0.0] * 36
    for i in range(3):
        for j in range(3):
            out[_XY_YAW[i] * 6 + _XY_YAW[j]] = float(cov3[i, j])
    return out


def msg_to_covariance(msg: PoseWithCovarianceStamped) -> FloatArray:
    """The (3,3) x/y/yaw block of a PoseWithCovarianceStamped's covariance."""
    c = msg.pose.covariance
    return np.array([[c[i * 6 + j] for j in _XY_YAW] for i in _XY_YAW], dtype=np.float64)


def seconds_to_time(t: float) -> TimeMsg:
    """Seconds -> builtin_interfaces/Time (rounded to the nanosecond)."""
    sec, nsec = divmod(round(t * 1e9), 1_000_000_000)
    return TimeMsg(sec=int(sec), nanosec=int(nsec))


def time_to_seconds(msg: TimeMsg) -> float:
    """builtin_interfaces/Time -> seconds."""
    return float(msg.sec) + float(msg.nanosec) * 1e-9


def seconds_to_duration(t: float) -> DurationMsg:
    """Seconds -> builtin_interfaces/Duration."""
    sec, nsec = divmod(round(t * 1e9), 1_000_000_000)
    return DurationMsg(sec=int(sec), nanosec=int(nsec))


def scan_arrays(msg: LaserScan) -> tuple[FloatArray, FloatArray]:
    """(ranges (N,) float64 m, angles (N,) float64 rad) of a LaserScan, in the sensor frame."""
    ranges = np.asarray(msg.ranges, dtype=np.float64)
    angles = msg.angle_min + msg.angle_increment * np.arange(ranges.size, dtype=np.float64)
    return ranges, angles
