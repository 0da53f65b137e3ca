"""Values the engine hands out each step: sensor readings, ground truth, contacts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Scan:
    """One lidar sweep in the sensor frame (REP-117: +inf no return, -inf closer than range_min).

    ranges: (N,) float64 metres; beam i points at angle_min + i * angle_increment (rad) from the
    robot's heading, from a sensor ``mount_x`` m ahead of the base.
    """

    stamp: float
    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float
    ranges: FloatArray
    scan_time: float


@dataclass(frozen=True, slots=True)
class OdomReading:
    """Wheel odometry: pose integrated from measured wheel speeds in the odom frame (starts at 0),
    and the measured body velocity (m/s, rad/s)."""

    stamp: float
    x: float
    y: float
    theta: float
    v: float
    w: float


@dataclass(frozen=True, slots=True)
class ImuReading:
    """Gyro yaw rate (rad/s) with noise and bias."""

    stamp: float
    yaw_rate: float


@dataclass(frozen=True, slots=True)
class GnssFix:
    """A GNSS fix in the map frame (m) with its horizontal standard deviation (m)."""

    stamp: float
    x: float
    y: float
    std: float


@dataclass(frozen=True, slots=True)
class BatteryReading:
    """Battery energy (Wh), state of charge (0..1) and pack voltage (V)."""

    stamp: float
    energy_wh: float
    soc: float
    voltage: float


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """True pose in the map frame (m, rad) and true body velocity (m/s, rad/s)."""

    stamp: float
    x: float
    y: float
    theta: float
    v: float
    w: float


@dataclass(frozen=True, slots=True)
class SensorFrame:
    """Everything one robot produced in the last step; a sensor is None when it did not report
    (not due this step, or dropped out)."""

    stamp: float
    scan: Scan | None
    odom: OdomReading | None
    imu: ImuReading | None
    gnss: GnssFix | None
    battery: BatteryReading
    truth: GroundTruth
    in_contact: bool


@dataclass(frozen=True, slots=True)
class Contact:
    """A robot touched something at ``time`` (s): ``what`` is 'static', 'obstacle:<name>',
    'person:<name>' or 'robot:<id>'; (x, y) the robot's position (m). ``by``: who moved into
    whom — 'robot' (the robot drove or turned into it), 'person' (a person walked into a robot
    that stood or moved away), 'other' (another robot drove into this one standing)."""

    time: float
    robot: str
    what: str
    x: float
    y: float
    by: str = "robot"
