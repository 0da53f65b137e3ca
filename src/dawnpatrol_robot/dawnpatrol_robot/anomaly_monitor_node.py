"""anomaly_monitor: lidar people -> tracks -> zone rules, plus robot health, into the outbox;
the outbox is resent on `anomalies` until the fleet acknowledges each event."""

from __future__ import annotations

import math
import re
import sys
from dataclasses import replace
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
from std_msgs.msg import Header, Int32MultiArray

from dawnpatrol_core.anomaly.events import Detection, EventManager, Evidence
from dawnpatrol_core.anomaly.health import HealthConfig, HealthMonitor
from dawnpatrol_core.anomaly.rules import RuleConfig
from dawnpatrol_core.anomaly.segmentation import (
    SegmentationConfig,
    StaticMapFilter,
    drop_near,
    segment_scan,
)
from dawnpatrol_core.anomaly.tracking import MultiTargetTracker, TrackerConfig
from dawnpatrol_core.anomaly.zones_adapter import DistrictRuleEngine, district_zones
from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.store.outbox import Backoff, Outbox
from dawnpatrol_interfaces.msg import RobotStatus
from dawnpatrol_robot.alert_sender import AlertSender
from dawnpatrol_ros.convert import msg_to_pose2d, scan_arrays
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS

_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
MAX_BEAMS = 20_000
# name -> (default, description, (lo, hi) for numbers)
_PARAMS: dict[str, tuple[Any, str, tuple[float, float] | None]] = {
    "robot_id": ("r1", "this robot's id ([A-Za-z0-9_]{1,64})", None),
    "map_dir": ("", "district map directory (map.yaml, routes.geojson, zones.geojson)", None),
    "outbox_path": ("", "SQLite outbox; '' = ~/.local/state/dawnpatrol/<robot>/outbox.db", None),
    "utc_offset_s": (32400.0, "local time - UTC, s, for zone hours (Korea 32400)",
                     (-50400.0, 50400.0)),
    "publish_rate_hz": (2.0, "outbox resend check rate, Hz", (0.1, 50.0)),
    "health_rate_hz": (1.0, "health check rate, Hz", (0.2, 50.0)),
    "resend_base_s": (1.0, "first resend delay, s", (0.05, 600.0)),
    "resend_factor": (2.0, "resend backoff factor", (1.0, 10.0)),
    "resend_cap_s": (30.0, "largest resend delay, s", (0.05, 3600.0)),
    "own_robot_radius_m": (1.0, "people within this of a fleet robot are that robot, m",
                           (0.0, 5.0)),
    "lidar_mount_x": (0.30, "lidar ahead of the base frame, m", (-2.0, 2.0)),
    "map_tolerance_m": (0.15, "scan points this close to the static map are the map, m",
                        (0.0, 2.0)),
    "loiter_time_s": (0.0, "loitering time, s; 0 = each watch zone's max_dwell_s", (0.0, 86400.0)),
    "loiter_radius_m": (3.0, "loitering radius, m", (0.1, 50.0)),
    "block_time_s": (10.0, "an object on a route edge this long blocks it, s", (0.1, 3600.0)),
    "battery_low": (0.20, "battery LOW below this state of charge (0..1)", (0.0, 1.0)),
    "battery_critical": (0.08, "battery CRITICAL below this state of charge (0..1)", (0.0, 1.0)),
    "link_timeout_s": (3.0, "no fleet heartbeat this long = link lost, s", (0.1, 3600.0)),
    "stale_s": (1.0, "no scan/odom this long = sensor stale, s", (0.1, 3600.0)),
    "stuck_time_s": (3.0, "commanded motion without progress this long = stuck, s", (0.1, 600.0)),
    "localization_lost_s": (1.0, "localization LOST this long = reported, s", (0.0, 600.0)),
    "seed": (-1, "uuid random seed; -1 = OS entropy", (-1, 2**31 - 1)),
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
        if not p["required_sensors"]:
            p["required_sensors"] = ["scan", "odom"]
        rid = str(p["robot_id"])
        if not _ID.fullmatch(rid) or not all(_ID.fullmatch(str(r)) for r in p["fleet_robot_ids"]):
            raise DawnPatrolError(f"parameter 'robot_id'/'fleet_robot_ids': got {rid!r}, "
                                  f"{p['fleet_robot_ids']!r}, expected ids [A-Za-z0-9_]{{1,64}}")
        if not set(p["required_sensors"]) <= {"scan", "odom"}:
            raise DawnPatrolError(f"parameter 'required_sensors': got {p['required_sensors']}, "
                                  "expected a subset of scan, odom")
        if not p["map_dir"]:
            raise DawnPatrolError("parameter 'map_dir': got '', expected a map directory")
        district = load_district_map(p["map_dir"])
        rules = RuleConfig(loiter_radius=p["loiter_radius_m"], block_time=p["block_time_s"],
                           utc_offset_s=p["utc_offset_s"])
        zones = district_zones(district, dwell_override_s=p["loiter_time_s"] or None)
        outbox_path = p["outbox_path"] or str(
            Path.home() / ".local" / "state" / "dawnpatrol" / rid / "outbox.db")
        Path(outbox_path).parent.mkdir(parents=True, exist_ok=True)

        self._rid = rid
        self._mount = Pose2D(p["lidar_mount_x"], 0.0, 0.0)
        self._own_radius = float(p["own_robot_radius_m"])
        self._filter = StaticMapFilter(district.grid)
        self._seg_cfg = SegmentationConfig(map_tolerance=p["map_tolerance_m"])
        # history must outlast the longest dwell time, or that zone can never fire
        self._tracker = MultiTargetTracker(
            TrackerConfig(history_s=max(zones.dwell_s, default=60.0) + 60.0))
        self._rules = DistrictRuleEngine(zones, rules)
        seed = None if p["seed"] < 0 else int(p["seed"])
        self._events = EventManager(rid, np.random.default_rng(seed),
                                    to_latlon=district.to_wgs84 if district.georef else None)
        self._outbox = Outbox(outbox_path, Backoff(p["resend_base_s"], p["resend_factor"],
                                                   p["resend_cap_s"]))
        self._health = HealthMonitor(self._now(), HealthConfig(
            battery_low=p["battery_low"], battery_low_clear=p["battery_low"] + 0.05,
            battery_critical=p["battery_critical"],
            battery_critical_clear=p["battery_critical"] + 0.04,
            stuck_time=p["stuck_time_s"], stale_scan_s=p["stale_s"], stale_odom_s=p["stale_s"],
            required_sensors=tuple(p["required_sensors"]), link_timeout=p["link_timeout_s"],
            localization_lost_time=p["localization_lost_s"]))
        self._clock_started = self._now() > 0.0 and not self.get_parameter("use_sim_time").value
        self._pose: Pose2D | None = None
        self._fleet: dict[str, tuple[float, float]] = {}
        self._closed: set[int] = set()

        self._sender = AlertSender(self, self._outbox, rid, p["publish_rate_hz"])
        self._closed_pub = self.create_publisher(Int32MultiArray, "closed_edges", LATCHED_QOS)
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
        self._health.on_scan(now)
        if self._pose is None:
            return
        ranges, angles = scan_arrays(msg)
        try:
            seg = segment_scan(ranges, angles, self._pose.compose(self._mount), self._filter,
                               self._seg_cfg)
            fleet = list(self._fleet.values())  # our own robots are neither people nor litter
            people = drop_near(seg.people, fleet, self._own_radius)
            objects = drop_near(seg.objects, fleet, self._own_radius)
            xy = np.array([[c.x, c.y] for c in people]).reshape(-1, 2)
            tracks = self._tracker.update(xy, now)
            dets = self._rules.evaluate(tracks, objects, now, seg.unexplained)
        except (DawnPatrolError, ValueError, FloatingPointError) as exc:
            return self._drop("scan", str(exc)[:120])
        for det in dets:
            self._report(det, now)

    def _on_pose(self, msg: PoseWithCovarianceStamped) -> None:
        q, pos = msg.pose.pose.orientation, msg.pose.pose.position
        if not _finite(pos.x, pos.y, q.x, q.y, q.z, q.w) or abs(pos.x) + abs(pos.y) > 1e6:
            return self._drop("pose", "non-finite or out-of-range position")
        self._pose = msg_to_pose2d(msg.pose.pose)

    def _on_loc(self, msg: DiagnosticStatus) -> None:
        self._health.on_localization(msg.message.strip().upper() == "LOST", self._now())

    def _on_battery(self, msg: BatteryState) -> None:
        soc = msg.percentage
        if not math.isfinite(soc) and _finite(msg.charge, msg.capacity) and msg.capacity > 0:
            soc = msg.charge / msg.capacity
        if not math.isfinite(soc) or not 0.0 <= soc <= 1.0:
            return self._drop("battery", f"state of charge {soc}")
        self._health.on_battery(float(soc), self._now())

    def _on_odom(self, msg: Odometry) -> None:
        pos = msg.pose.pose.position
        if not _finite(pos.x, pos.y):
            return self._drop("odom", "non-finite position")
        self._health.on_odom(pos.x, pos.y, self._now())

    def _on_cmd(self, msg: Twist) -> None:
        if _finite(msg.linear.x, msg.angular.z):
            self._health.on_cmd_vel(msg.linear.x, msg.angular.z, self._now())

    def _on_imu(self, msg: Imu) -> None:
        a, q = msg.linear_acceleration, msg.orientation
        if not _finite(a.x, a.y, q.x, q.y, q.z, q.w):
            return self._drop("imu", "non-finite values")
        roll = math.atan2(2 * (q.w * q.x + q.y * q.z), 1 - 2 * (q.x * q.x + q.y * q.y))
        pitch = math.asin(max(-1.0, min(1.0, 2 * (q.w * q.y - q.z * q.x))))
        self._health.on_imu(a.x, a.y, roll, pitch, self._now())

    def _on_heartbeat(self, msg: Header) -> None:
        if self._sender.link_up:
            self._health.on_heartbeat(self._now())

    def _on_other_pose(self, other: str, msg: PoseWithCovarianceStamped) -> None:
        pos = msg.pose.pose.position
        if not _finite(pos.x, pos.y):
            return self._drop(f"/{other}/pose", "non-finite position")
        self._fleet[other] = (pos.x, pos.y)

    def _on_status(self, other: str, msg: RobotStatus) -> None:
        pos = msg.pose.position
        if not _finite(pos.x, pos.y):
            return self._drop(f"/{other}/status", "non-finite position")
        self._fleet[other] = (pos.x, pos.y)

    # ------------------------------------------------------------------ outputs
    def _report(self, det: Detection, now: float) -> None:
        if det.evidence.track:
            # Evidence track times go out relative to last_seen (s, <= 0): validate_event bounds
            # every evidence column by MAX_ABS_COORD, which epoch times exceed.
            rel = tuple((round(t - now, 3), x, y) for t, x, y in det.evidence.track)
            det = replace(det, evidence=Evidence(rel, det.evidence.scan))
        ev = self._events.report(det, now)
        if ev is not None:
            self._outbox.put(ev, now)  # persisted before any send
        if det.edge_ids and not set(det.edge_ids) <= self._closed:
            self._closed |= set(det.edge_ids)
            self._closed_pub.publish(Int32MultiArray(data=sorted(self._closed)))

    def _check_health(self) -> None:
        now = self._now()
        if now <= 0.0:  # simulated clock not started yet: nothing can be late
            return
        if not self._clock_started:
            # Silence is measured from when time starts, not from the epoch of the sim clock.
            self._clock_started = True
            self._health = HealthMonitor(now, self._health.config)
        x, y = (self._pose.x, self._pose.y) if self._pose else (0.0, 0.0)
        for fault in self._health.check(now).active:
            self._report(fault.to_detection(x, y), now)

    def close(self) -> None:
        self._outbox.close()


def main(args: list[str] | None = None) -> int:
    return run_node("anomaly_monitor", AnomalyMonitorNode, args)


if __name__ == "__main__":
    sys.exit(main())
