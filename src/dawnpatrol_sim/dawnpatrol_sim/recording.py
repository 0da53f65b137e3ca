"""Recording a simulator run as MCAP with ROS 2 (CDR) messages, readable by Foxglove and ros2 bag.

Message definitions are written out here in the ROS 2 concatenated format (the main type, then
each dependency after a line of 80 '=' and ``MSG: pkg/Type``), as MCAP's ros2msg schema expects.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from mcap.reader import make_reader
from mcap.writer import CompressionType
from mcap_ros2.writer import Writer

from dawnpatrol_sim.engine.readings import SensorFrame
from dawnpatrol_sim.engine.sim_engine import SimEngine

_SEP = "=" * 80
_BASE: dict[str, str] = {
    "builtin_interfaces/Time": "int32 sec\nuint32 nanosec\n",
    "std_msgs/Header": "builtin_interfaces/Time stamp\nstring frame_id\n",
    "geometry_msgs/Point": "float64 x\nfloat64 y\nfloat64 z\n",
    "geometry_msgs/Vector3": "float64 x\nfloat64 y\nfloat64 z\n",
    "geometry_msgs/Quaternion": "float64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n",
    "geometry_msgs/Pose": "Point position\nQuaternion orientation\n",
    "geometry_msgs/Twist": "Vector3 linear\nVector3 angular\n",
    "geometry_msgs/PoseWithCovariance": "Pose pose\nfloat64[36] covariance\n",
    "geometry_msgs/TwistWithCovariance": "Twist twist\nfloat64[36] covariance\n",
    "sensor_msgs/NavSatStatus": (
        "int8 STATUS_UNKNOWN = -2\nint8 STATUS_NO_FIX = -1\nint8 STATUS_FIX = 0\n"
        "int8 STATUS_SBAS_FIX = 1\nint8 STATUS_GBAS_FIX = 2\nint8 status\n"
        "uint16 SERVICE_GPS = 1\nuint16 SERVICE_GLONASS = 2\nuint16 SERVICE_COMPASS = 4\n"
        "uint16 SERVICE_GALILEO = 8\nuint16 service\n"
    ),
}
_MAIN: dict[str, tuple[str, tuple[str, ...]]] = {
    "rosgraph_msgs/Clock": ("builtin_interfaces/Time clock\n", ("builtin_interfaces/Time",)),
    "sensor_msgs/LaserScan": (
        "std_msgs/Header header\nfloat32 angle_min\nfloat32 angle_max\nfloat32 angle_increment\n"
        "float32 time_increment\nfloat32 scan_time\nfloat32 range_min\nfloat32 range_max\n"
        "float32[] ranges\nfloat32[] intensities\n",
        ("std_msgs/Header", "builtin_interfaces/Time"),
    ),
    "nav_msgs/Odometry": (
        "std_msgs/Header header\nstring child_frame_id\n"
        "geometry_msgs/PoseWithCovariance pose\ngeometry_msgs/TwistWithCovariance twist\n",
        (
            "std_msgs/Header",
            "builtin_interfaces/Time",
            "geometry_msgs/PoseWithCovariance",
            "geometry_msgs/Pose",
            "geometry_msgs/Point",
            "geometry_msgs/Quaternion",
            "geometry_msgs/TwistWithCovariance",
            "geometry_msgs/Twist",
            "geometry_msgs/Vector3",
        ),
    ),
    "geometry_msgs/PoseStamped": (
        "std_msgs/Header header\nPose pose\n",
        (
            "std_msgs/Header",
            "builtin_interfaces/Time",
            "geometry_msgs/Pose",
            "geometry_msgs/Point",
            "geometry_msgs/Quaternion",
        ),
    ),
    "sensor_msgs/Imu": (
        "std_msgs/Header header\ngeometry_msgs/Quaternion orientation\n"
        "float64[9] orientation_covariance\ngeometry_msgs/Vector3 angular_velocity\n"
        "float64[9] angular_velocity_covariance\ngeometry_msgs/Vector3 linear_acceleration\n"
        "float64[9] linear_acceleration_covariance\n",
        (
            "std_msgs/Header",
            "builtin_interfaces/Time",
            "geometry_msgs/Quaternion",
            "geometry_msgs/Vector3",
        ),
    ),
    "sensor_msgs/NavSatFix": (
        "uint8 COVARIANCE_TYPE_UNKNOWN = 0\nuint8 COVARIANCE_TYPE_APPROXIMATED = 1\n"
        "uint8 COVARIANCE_TYPE_DIAGONAL_KNOWN = 2\nuint8 COVARIANCE_TYPE_KNOWN = 3\n"
        "std_msgs/Header header\nsensor_msgs/NavSatStatus status\nfloat64 latitude\n"
        "float64 longitude\nfloat64 altitude\nfloat64[9] position_covariance\n"
        "uint8 position_covariance_type\n",
        ("std_msgs/Header", "builtin_interfaces/Time", "sensor_msgs/NavSatStatus"),
    ),
    "sensor_msgs/BatteryState": (
        "uint8 POWER_SUPPLY_STATUS_UNKNOWN = 0\nuint8 POWER_SUPPLY_STATUS_CHARGING = 1\n"
        "uint8 POWER_SUPPLY_STATUS_DISCHARGING = 2\nuint8 POWER_SUPPLY_STATUS_NOT_CHARGING = 3\n"
        "uint8 POWER_SUPPLY_STATUS_FULL = 4\nuint8 POWER_SUPPLY_HEALTH_UNKNOWN = 0\n"
        "uint8 POWER_SUPPLY_HEALTH_GOOD = 1\nuint8 POWER_SUPPLY_TECHNOLOGY_UNKNOWN = 0\n"
        "uint8 POWER_SUPPLY_TECHNOLOGY_LION = 2\n"
        "std_msgs/Header header\nfloat32 voltage\nfloat32 temperature\nfloat32 current\n"
        "float32 charge\nfloat32 capacity\nfloat32 design_capacity\nfloat32 percentage\n"
        "uint8 power_supply_status\nuint8 power_supply_health\nuint8 power_supply_technology\n"
        "bool present\nfloat32[] cell_voltage\nfloat32[] cell_temperature\nstring location\n"
        "string serial_number\n",
        ("std_msgs/Header", "builtin_interfaces/Time"),
    ),
}


def message_definition(datatype: str) -> str:
    """The ROS 2 concatenated message definition text of one of the recorded types."""
    text, deps = _MAIN[datatype]
    parts = [text]
    for d in deps:
        parts.append(f"{_SEP}\nMSG: {d}\n{_BASE[d]}")
    return "\n".join(parts)


# default georeference: Gwanggyo, Suwon (lat, lon in degrees) for the local tangent plane
SUWON_ORIGIN = (37.2850, 127.0450)
_EARTH_R = 6378137.0


def tangent_plane_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """Map (x east, y north) m to (lat, lon) deg on a local tangent plane at SUWON_ORIGIN.

    A fallback only: pass the map's own georeference to :class:`Recorder` when you have it.
    """
    lat0, lon0 = SUWON_ORIGIN
    lat = lat0 + math.degrees(y / _EARTH_R)
    lon = lon0 + math.degrees(x / (_EARTH_R * math.cos(math.radians(lat0))))
    return lat, lon


def _stamp(t: float) -> dict[str, int]:
    ns = int(round(t * 1e9))
    return {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}


def _quat(yaw: float) -> dict[str, float]:
    return {"x": 0.0, "y": 0.0, "z": math.sin(yaw / 2.0), "w": math.cos(yaw / 2.0)}


class Recorder:
    """Writes a run to ``path``: /clock each step and, per robot ``rid``, /rid/scan, /rid/odom,
    /rid/imu, /rid/gnss as they report, /rid/ground_truth each step and /rid/battery every
    ``battery_period`` s. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        path: str | Path,
        map_to_wgs84: Callable[[float, float], tuple[float, float]] = tangent_plane_to_wgs84,
        battery_period: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self._fh = self.path.open("wb")
        self._w = Writer(self._fh, compression=CompressionType.LZ4)
        self._schemas = {t: self._w.register_msgdef(t, message_definition(t)) for t in _MAIN}
        self._to_wgs84 = map_to_wgs84
        self._battery_period = battery_period
        self._next_battery: dict[str, float] = {}
        self._seq: Counter[str] = Counter()

    def _write(self, topic: str, datatype: str, msg: dict[str, Any], t: float) -> None:
        ns = int(round(t * 1e9))
        self._w.write_message(
            topic,
            self._schemas[datatype],
            msg,
            log_time=ns,
            publish_time=ns,
            sequence=self._seq[topic],
        )
        self._seq[topic] += 1

    def record(self, engine: SimEngine) -> None:
        """Write what the engine produced in its last step."""
        t = engine.now
        self._write("/clock", "rosgraph_msgs/Clock", {"clock": _stamp(t)}, t)
        for rid in engine.robot_ids:
            self.record_frame(rid, engine.sensors(rid))

    def record_frame(self, rid: str, f: SensorFrame) -> None:
        """Write one robot's readings under the namespace ``/rid``."""
        t = f.stamp
        hdr = {"stamp": _stamp(t)}
        if f.scan is not None:
            s = f.scan
            n = s.ranges.shape[0]
            self._write(
                f"/{rid}/scan",
                "sensor_msgs/LaserScan",
                {
                    "header": {**hdr, "frame_id": f"{rid}/lidar_link"},
                    "angle_min": s.angle_min,
                    "angle_max": s.angle_min + (n - 1) * s.angle_increment,
                    "angle_increment": s.angle_increment,
                    "time_increment": 0.0,
                    "scan_time": s.scan_time,
                    "range_min": s.range_min,
                    "range_max": s.range_max,
                    "ranges": s.ranges.astype("float32").tolist(),
                    "intensities": [],
                },
                t,
            )
        if f.odom is not None:
            o = f.odom
            self._write(
                f"/{rid}/odom",
                "nav_msgs/Odometry",
                {
                    "header": {**hdr, "frame_id": f"{rid}/odom"},
                    "child_frame_id": f"{rid}/base_link",
                    "pose": {
                        "pose": {
                            "position": {"x": o.x, "y": o.y, "z": 0.0},
                            "orientation": _quat(o.theta),
                        },
                        "covariance": [0.0] * 36,
                    },
                    "twist": {
                        "twist": {
                            "linear": {"x": o.v, "y": 0.0, "z": 0.0},
                            "angular": {"x": 0.0, "y": 0.0, "z": o.w},
                        },
                        "covariance": [0.0] * 36,
                    },
                },
                t,
            )
        if f.imu is not None:
            self._write(
                f"/{rid}/imu",
                "sensor_msgs/Imu",
                {
                    "header": {**hdr, "frame_id": f"{rid}/imu_link"},
                    "orientation": _quat(0.0),
                    "orientation_covariance": [-1.0] + [0.0] * 8,
                    "angular_velocity": {"x": 0.0, "y": 0.0, "z": f.imu.yaw_rate},
                    "angular_velocity_covariance": [0.0] * 9,
                    "linear_acceleration": {"x": 0.0, "y": 0.0, "z": 0.0},
                    "linear_acceleration_covariance": [-1.0] + [0.0] * 8,
                },
                t,
            )
        if f.gnss is not None:
            g = f.gnss
            lat, lon = self._to_wgs84(g.x, g.y)
            var = g.std * g.std
            self._write(
                f"/{rid}/gnss",
                "sensor_msgs/NavSatFix",
                {
                    "header": {**hdr, "frame_id": f"{rid}/gnss_link"},
                    "status": {"status": 0, "service": 1},
                    "latitude": lat,
                    "longitude": lon,
                    "altitude": 0.0,
                    "position_covariance": [var, 0.0, 0.0, 0.0, var, 0.0, 0.0, 0.0, 4.0 * var],
                    "position_covariance_type": 2,
                },
                t,
            )
        tr = f.truth
        self._write(
            f"/{rid}/ground_truth",
            "geometry_msgs/PoseStamped",
            {
                "header": {**hdr, "frame_id": "map"},
                "pose": {
                    "position": {"x": tr.x, "y": tr.y, "z": 0.0},
                    "orientation": _quat(tr.theta),
                },
            },
            t,
        )
        if t >= self._next_battery.get(rid, 0.0) - 1e-9:
            self._next_battery[rid] = t + self._battery_period
            b = f.battery
            cap_ah = b.energy_wh / max(b.soc, 1e-9) / b.voltage if b.soc > 0 else 0.0
            self._write(
                f"/{rid}/battery",
                "sensor_msgs/BatteryState",
                {
                    "header": {**hdr, "frame_id": f"{rid}/base_link"},
                    "voltage": b.voltage,
                    "temperature": math.nan,
                    "current": math.nan,
                    "charge": b.energy_wh / b.voltage,
                    "capacity": cap_ah,
                    "design_capacity": cap_ah,
                    "percentage": b.soc,
                    "power_supply_status": 2,
                    "power_supply_health": 1,
                    "power_supply_technology": 2,
                    "present": True,
                    "cell_voltage": [],
                    "cell_temperature": [],
                    "location": "",
                    "serial_number": rid,
                },
                t,
            )

    def close(self) -> None:
        """Finish the MCAP file (summary, index) and close it."""
        if not self._fh.closed:
            self._w.finish()  # type: ignore[no-untyped-call]
            self._fh.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def topic_counts(path: str | Path) -> dict[str, int]:
    """Read an MCAP file back, decoding every message; returns messages per topic."""
    from mcap_ros2.decoder import DecoderFactory

    counts: Counter[str] = Counter()
    with Path(path).open("rb") as fh:
        reader = make_reader(fh, decoder_factories=[DecoderFactory()])
        for _schema, channel, _msg, _decoded in reader.iter_decoded_messages():
            counts[channel.topic] += 1
    return dict(counts)
