"""anomaly_monitor: the core AnomalyMonitor (scan -> people -> tracks -> zone rules -> incidents,
plus robot health) on ROS topics; its outbox is resent on `anomalies` until the fleet acknowledges
each event. Its closed edges go to the navigator signed with the robot's onboard key."""

from __future__ import annotations

import math
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseWithCovarianceStamped, Twist
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterUninitializedException
from rclpy.parameter import Parameter
from sensor_msgs.msg import BatteryState, Imu, LaserScan
from std_msgs.msg import Float64, Header

from dawnpatrol_core.anomaly.monitor import (
    MONITOR_PARAMS,
    AnomalyMonitor,
    MonitorConfig,
    MonitorOutput,
)
from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.security.gate import onboard_signer
from dawnpatrol_core.security.roles import Command as Sec
from dawnpatrol_core.store.outbox import Backoff, Outbox
from dawnpatrol_interfaces.msg import ClosedEdges, RobotStatus
from dawnpatrol_robot.alert_sender import AlertSender
from dawnpatrol_ros.convert import msg_to_pose2d, scan_arrays, time_to_seconds
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from dawnpatrol_ros.signing import message_fields

_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
MAX_BEAMS = 20_000
_DEFAULTS = MonitorConfig()
# name -> (default, description, (lo, hi) for numbers): the node's own, then the monitor's
_PARAMS: dict[str, tuple[Any, str, tuple[float, float] | None]] = {
    "robot_id": ("r1", "this robot's id ([A-Za-z0-9_]{1,64})", None),
    "map_dir": ("", "district map directory (map.yaml, routes.geojson, zones.geojson)", None),
    "outbox_path": ("", "SQLite outbox; '' = ~/.local/state/dawnpatrol/<robot>/outbox.db", None),
    "publish_rate_hz": (2.0, "outbox resend check rate, Hz", (0.1, 50.0)),
    "health_rate_hz": (1.0, "health check rate, Hz", (0.2, 50.0)),
    "resend_base_s": (1.0, "first resend delay, s", (0.05, 600.0)),
    "resend_factor": (2.0, "resend backoff factor", (1.0, 10.0)),
    "resend_cap_s": (30.0, "largest resend delay, s", (0.05, 3600.0)),
    "seed": (-1, "uuid random seed; -1 = OS entropy", (-1, 2**31 - 1)),
    **{name: (getattr(_DEFAULTS, name), desc, (lo, hi))
       for name, (desc, lo, hi) in MONITOR_PARAMS.items()},
}


def _finite(*v: float) -> bool:
    return all(math.isfinite(x) for x in v)


class AnomalyMonitorNode(DawnPatrolNode):
    def __init__(self) -> None:
        super().__init__("anomaly_monitor")
        p = {}
        for name, (default, desc, rng) in _PARAMS.items():
            # numbers accept int or float from YAML (32400 as well as 32400.0)
            self.declare_parameter(name, default, ParameterDescriptor(
                description=desc, dynamic_typing=rng is not None))
            v = self.get_parameter(name).value
            if rng is not None:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                        rng[0] <= v <= rng[1]):
                    raise DawnPatrolError(f"parameter '{name}': got {v!r}, expected a number "
                                          f"in [{rng[0]:g}, {rng[1]:g}]")
                v = type(default)(v)
            elif not isinstance(v, str):
                raise DawnPatrolError(f"parameter '{name}': got {v!r}, expected a string")
            p[name] = v
        for name, desc in (("fleet_robot_ids", "ids of our other robots (their /<id>/status)"),
                           ("required_sensors", "sensors watched for staleness: scan, odom")):
            self.declare_parameter(name, Parameter.Type.STRING_ARRAY,
                                   ParameterDescriptor(description=desc))
            try:
                p[name] = list(self.get_parameter(name).value or [])
            except ParameterUninitializedException:
                p[name] = []
        rid = str(p["robot_id"])
        if not _ID.fullmatch(rid) or not all(_ID.fullmatch(str(r)) for r in p["fleet_robot_ids"]):
            raise DawnPatrolError(f"parameter 'robot_id'/'fleet_robot_ids': got {rid!r}, "
                                  f"{p['fleet_robot_ids']!r}, expected ids [A-Za-z0-9_]{{1,64}}")
        if not p["map_dir"]:
            raise DawnPatrolError("parameter 'map_dir': got '', expected a map directory")
        config = MonitorConfig.from_mapping(
            {**{k: p[k] for k in MONITOR_PARAMS},
             "required_sensors": tuple(p["required_sensors"] or _DEFAULTS.required_sensors)},
            "parameters")
        district = load_district_map(p["map_dir"])
        outbox_path = p["outbox_path"] or str(
            Path.home() / ".local" / "state" / "dawnpatrol" / rid / "outbox.db")
        Path(outbox_path).parent.mkdir(parents=True, exist_ok=True)
        self._outbox = Outbox(outbox_path, Backoff(p["resend_base_s"], p["resend_factor"],
                                                   p["resend_cap_s"]))
        seed = None if p["seed"] < 0 else int(p["seed"])
        self._monitor = AnomalyMonitor(rid, district, config, np.random.default_rng(seed),
                                       self._now(), self._outbox)
        self._clock_started = self._now() > 0.0 and not self.get_parameter("use_sim_time").value
        self._closed: tuple[int, ...] | None = None  # the set published last, re-signed
        self._rid = rid
        # The navigator trusts this robot's onboard key alone for them (docs/security.md).
        self._signer = onboard_signer(Path(outbox_path).parent)
        self._closed_signed = -math.inf  # steady s

        self._sender = AlertSender(self, self._outbox, rid, p["publish_rate_hz"])
        self._closed_pub = self.create_publisher(ClosedEdges, "closed_edges", LATCHED_QOS)
        # Until when (clock s, 0 = no one) the mission should keep a dwell going: someone
        # lingers in view undecided by the loitering rule.
        self._watch_pub = self.create_publisher(Float64, "watch_until", RELIABLE_QOS)
        self.create_subscription(LaserScan, "scan", self._on_scan, SENSOR_QOS)
        self.create_subscription(PoseWithCovarianceStamped, "pose", self._on_pose, RELIABLE_QOS)
        self.create_subscription(DiagnosticStatus, "localization/health", self._on_loc,
                                 LATCHED_QOS)
        self.create_subscription(BatteryState, "battery", self._on_battery, RELIABLE_QOS)
        self.create_subscription(Odometry, "odom", self._on_odom, RELIABLE_QOS)
        self.create_subscription(Twist, "cmd_vel", self._on_cmd, RELIABLE_QOS)
        self.create_subscription(Imu, "imu", self._on_imu, SENSOR_QOS)
        self.create_subscription(Header, "/fleet/heartbeat", self._on_heartbeat, RELIABLE_QOS)
        for other in p["fleet_robot_ids"]:
            if other != rid:
                self.create_subscription(RobotStatus, f"/{other}/status",
                                         lambda m, o=other: self._on_status(o, m), LATCHED_QOS)
                # The other robots' localization poses (several Hz) keep up with a robot
                # driving past; the 1 Hz status alone lags it by more than a metre.
                self.create_subscription(PoseWithCovarianceStamped, f"/{other}/pose",
                                         lambda m, o=other: self._on_other_pose(o, m),
                                         RELIABLE_QOS)
        self.create_timer(1.0 / p["health_rate_hz"], self._check_health)
        self.create_timer(1.0, self._publish_watch)
        zones = self._monitor.zones
        self.get_logger().info(f"watching {len(zones.watch)} watch zones, "
                               f"{len(zones.restricted)} restricted areas; outbox {outbox_path} "
                               f"holds {len(self._outbox)} events")

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _drop(self, what: str, why: str) -> None:
        self.get_logger().warning(f"dropped {what}: {why}", throttle_duration_sec=5.0)

    # ------------------------------------------------------------------ inputs
    def _on_scan(self, msg: LaserScan) -> None:
        now = self._now()
        if len(msg.ranges) > MAX_BEAMS or not _finite(msg.angle_min, msg.angle_increment):
            return self._drop("scan", f"{len(msg.ranges)} beams, bad angles")
        if len(msg.ranges) > 1 and msg.angle_increment == 0.0:
            return self._drop("scan", "angle_increment 0")
        ranges, angles = scan_arrays(msg)
        stamp = time_to_seconds(msg.header.stamp) or now
        try:
            out = self._monitor.on_scan(ranges, angles, now, stamp)
        except (DawnPatrolError, ValueError, FloatingPointError) as exc:
            return self._drop("scan", str(exc)[:120])
        self._publish(out)

    def _on_pose(self, msg: PoseWithCovarianceStamped) -> None:
        q, pos = msg.pose.pose.orientation, msg.pose.pose.position
        if not _finite(pos.x, pos.y, q.x, q.y, q.z, q.w) or abs(pos.x) + abs(pos.y) > 1e6:
            return self._drop("pose", "non-finite or out-of-range position")
        stamp = time_to_seconds(msg.header.stamp) or self._now()
        self._monitor.on_pose(msg_to_pose2d(msg.pose.pose), stamp)

    def _on_loc(self, msg: DiagnosticStatus) -> None:
        self._monitor.on_localization(msg.message.strip().upper() == "LOST", self._now())

    def _on_battery(self, msg: BatteryState) -> None:
        soc = msg.percentage
        if not math.isfinite(soc) and _finite(msg.charge, msg.capacity) and msg.capacity > 0:
            soc = msg.charge / msg.capacity
        if not math.isfinite(soc) or not 0.0 <= soc <= 1.0:
            return self._drop("battery", f"state of charge {soc}")
        self._monitor.on_battery(float(soc), self._now())

    def _on_odom(self, msg: Odometry) -> None:
        pos, q = msg.pose.pose.position, msg.pose.pose.orientation
        if not _finite(pos.x, pos.y, q.x, q.y, q.z, q.w):
            return self._drop("odom", "non-finite pose")
        now = self._now()
        self._monitor.on_odom(msg_to_pose2d(msg.pose.pose), now,
                              time_to_seconds(msg.header.stamp) or now)

    def _on_cmd(self, msg: Twist) -> None:
        if _finite(msg.linear.x, msg.angular.z):
            self._monitor.on_cmd_vel(msg.linear.x, msg.angular.z, self._now())

    def _on_imu(self, msg: Imu) -> None:
        a, q = msg.linear_acceleration, msg.orientation
        if not _finite(a.x, a.y, q.x, q.y, q.z, q.w):
            return self._drop("imu", "non-finite values")
        roll = math.atan2(2 * (q.w * q.x + q.y * q.z), 1 - 2 * (q.x * q.x + q.y * q.y))
        pitch = math.asin(max(-1.0, min(1.0, 2 * (q.w * q.y - q.z * q.x))))
        self._monitor.on_imu(a.x, a.y, roll, pitch, self._now())

    def _on_heartbeat(self, msg: Header) -> None:
        if self._sender.link_up:
            self._monitor.on_heartbeat(self._now())

    def _on_other_pose(self, other: str, msg: PoseWithCovarianceStamped) -> None:
        pos = msg.pose.pose.position
        if not _finite(pos.x, pos.y):
            return self._drop(f"/{other}/pose", "non-finite position")
        self._monitor.on_fleet_robot(other, pos.x, pos.y)

    def _on_status(self, other: str, msg: RobotStatus) -> None:
        pos = msg.pose.position
        if not _finite(pos.x, pos.y):
            return self._drop(f"/{other}/status", "non-finite position")
        self._monitor.on_fleet_robot(other, pos.x, pos.y)

    # ------------------------------------------------------------------ outputs
    def _publish_watch(self) -> None:
        self._watch_pub.publish(Float64(data=float(self._monitor.watch_until(self._now()))))

    def _publish(self, out: MonitorOutput) -> None:
        if out.closed_edges is not None and out.closed_edges != self._closed:
            self._closed = out.closed_edges
            self._publish_closed()

    def _publish_closed(self) -> None:
        """The closed edges in force, signed now with the onboard key (a latched topic: the
        set is re-signed every 10 s so that a navigator restarted later can still verify it)."""
        if self._closed is None:
            return
        msg = ClosedEdges(edges=list(self._closed))
        msg.envelope = self._signer.sign(Sec.CLOSE_EDGES, self._rid, message_fields(msg),
                                         time.time(), 30.0)
        self._closed_signed = time.monotonic()
        self._closed_pub.publish(msg)

    def _check_health(self) -> None:
        now = self._now()
        if now <= 0.0:  # simulated clock not started yet: nothing can be late
            return
        if not self._clock_started:
            # Silence is measured from when time starts, not from the epoch of the sim clock.
            self._clock_started = True
            self._monitor.restart_health(now)
        self._publish(self._monitor.check_health(now))
        if time.monotonic() - self._closed_signed >= 10.0:
            self._publish_closed()

    def close(self) -> None:
        self._outbox.close()


def main(args: list[str] | None = None) -> int:
    return run_node("anomaly_monitor", AnomalyMonitorNode, args)


if __name__ == "__main__":
    sys.exit(main())
