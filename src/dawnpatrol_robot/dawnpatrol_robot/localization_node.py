"""Localization node: the core particle filter on scan, odometry, GNSS and initial-pose messages.

Publishes the pose, the map→odom correction and the health. Logic: dawnpatrol_core.localization;
the scan/odometry/GNSS loop is dawnpatrol_core.localization.loop (the headless runs use it too).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import fields
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseWithCovarianceStamped, TransformStamped
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from sensor_msgs.msg import LaserScan, NavSatFix, NavSatStatus

from dawnpatrol_core.errors import ConfigError, SensorError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.localization.health import HealthState
from dawnpatrol_core.localization.loop import LocalizationLoop, LoopConfig
from dawnpatrol_core.localization.params import _RANGES, LocalizationParams
from dawnpatrol_core.localization.particle_filter import LocalizationEstimate, ParticleFilter
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_ros import convert as mc
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS

_PI = math.pi
# name -> (default, description, (low, high)); the filter's own tuning comes from
# LocalizationParams (same names, ranges from the core). Documented in params/localization.yaml.
_NODE_PARAMS: dict[str, tuple[Any, str, tuple[float, float] | None]] = {
    "map_dir": ("", "map directory (map.yaml, georef.yaml, ...), required", None),
    "seed": (0, "seed of the filter's random generator", (0, 2**31 - 1)),
    "publish_rate_hz": (5.0, "pose and map_to_odom rate between scans, Hz", (2.0, 50.0)),
    "idle_update_period": (1.0, "s between scan weightings while standing still", (0.05, 60.0)),
    "initial_x": (0.0, "initial pose x in the map, m", (-1e6, 1e6)),
    "initial_y": (0.0, "initial pose y in the map, m", (-1e6, 1e6)),
    "initial_yaw": (0.0, "initial heading, rad", (-_PI, _PI)),
    "initial_std_xy": (0.5, "1-sigma of the initial position, m", (0.001, 100.0)),
    "initial_std_yaw": (0.2, "1-sigma of the initial heading, rad", (0.001, _PI)),
    "global_localization_at_start": (False, "start globally: around the first GNSS fix, "
                                     "or over the whole map without GNSS", None),
    "global_init_std": (5.0, "1-sigma around the first GNSS fix for global start, m",
                        (0.1, 1000.0)),
    "gnss_enabled": (True, "weight the particles by GNSS fixes (needs georef.yaml)", None),
    "gnss_default_std": (3.0, "fix 1-sigma when NavSatFix has no covariance, m", (0.01, 1000.0)),
    "lidar_x": (0.30, "lidar position ahead of base_link, m", (-10.0, 10.0)),
    "lidar_y": (0.0, "lidar position left of base_link, m", (-10.0, 10.0)),
    "lidar_yaw": (0.0, "lidar heading relative to base_link, rad", (-_PI, _PI)),
    "invalid_log_every": (100, "log every N-th unusable scan / bad message", (1, 1_000_000)),
    "odom_match_tolerance_s": (0.06, "a scan is used only with odometry stamped this close to "
                               "it, s", (0.001, 1.0)),
}
_KIND = {float: "a number with a decimal point", bool: "true or false", str: "a string"}
_FILTER_DOC = "particle-filter tuning (see LocalizationParams and params/localization.yaml)"
_LEVEL = {HealthState.OK: DiagnosticStatus.OK, HealthState.DEGRADED: DiagnosticStatus.WARN,
          HealthState.LOST: DiagnosticStatus.ERROR}


def _descriptor(text: str, rng: tuple[float, float] | None, integer: bool) -> ParameterDescriptor:
    d = ParameterDescriptor(description=text)
    if rng is not None and integer:
        d.integer_range = [IntegerRange(from_value=int(rng[0]), to_value=int(rng[1]), step=1)]
    elif rng is not None:
        d.floating_point_range = [FloatingPointRange(from_value=float(rng[0]),
                                                     to_value=float(rng[1]), step=0.0)]
    return d


class LocalizationNode(DawnPatrolNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("localization", **kwargs)
        p = self._declare_all()
        names = {f.name for f in fields(LocalizationParams)}
        self._params = LocalizationParams.from_mapping(
            {k: v for k, v in p.items() if k in names}, "localization parameters")
        if not p["map_dir"]:
            raise ConfigError("parameter 'map_dir': got '', expected a map directory")
        self._map: DistrictMap = load_district_map(p["map_dir"])
        self._p = p
        self._pf = ParticleFilter(self._map.grid, self._params, np.random.default_rng(p["seed"]))
        self._loop = LocalizationLoop(self._pf, LoopConfig.from_params(p, "localization"))
        self._gnss_on = bool(p["gnss_enabled"])
        if self._gnss_on and self._map.georef is None:
            self.get_logger().error(f"map '{p['map_dir']}' has no georeference (georef.yaml): "
                                    "GNSS disabled")
            self._gnss_on = False
        self._odom: deque[tuple[float, Pose2D, str]] = deque(maxlen=100)
        self._scans: deque[LaserScan] = deque(maxlen=3)  # waiting for their odometry
        self._est: LocalizationEstimate | None = None
        self._m2o: Pose2D | None = None
        self._last_pose_stamp = -math.inf
        self._bad: dict[str, int] = {}
        self._pose_pub = self.create_publisher(PoseWithCovarianceStamped, "pose", RELIABLE_QOS)
        self._tf_pub = self.create_publisher(TransformStamped, "map_to_odom", RELIABLE_QOS)
        self._health_pub = self.create_publisher(DiagnosticStatus, "localization/health",
                                                 LATCHED_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", RELIABLE_QOS)
        self.create_subscription(LaserScan, "scan", self._on_scan, SENSOR_QOS)
        self.create_subscription(Odometry, "odom", self._on_odom, RELIABLE_QOS)
        self.create_subscription(NavSatFix, "gnss", self._on_gnss, RELIABLE_QOS)
        self.create_subscription(PoseWithCovarianceStamped, "initialpose", self._on_initialpose,
                                 RELIABLE_QOS)
        self.create_timer(1.0 / p["publish_rate_hz"], self._publish_between_scans)
        self.create_timer(1.0, self._publish_health)
        self._start()
        if not self._pf.initialized:
            self._publish_health()

    def _declare_all(self) -> dict[str, Any]:
        specs = {n: (d, t, r, type(d) is int) for n, (d, t, r) in _NODE_PARAMS.items()}
        for f in fields(LocalizationParams):
            lo, hi, _, _ = _RANGES[f.name]
            integer = f.type in ("int", int)
            default = int(f.default) if integer else float(f.default)  # type: ignore[arg-type]
            specs[f.name] = (default, f"{_FILTER_DOC}: {f.name}", (lo, hi), integer)
        out: dict[str, Any] = {}
        for name, (default, text, rng, integer) in specs.items():
            try:
                out[name] = self.declare_parameter(
                    name, default, _descriptor(text, rng, integer)).value
            except ParameterException:
                got = self.declare_parameter(  # the rejected value, for the one-line error
                    name, default, ParameterDescriptor(dynamic_typing=True)).value
                kind = "an integer" if integer else _KIND[type(default)]
                span = f" in [{rng[0]}, {rng[1]}]" if rng is not None else ""
                raise ConfigError(f"parameter '{name}': got {got!r}, expected {kind}{span}"
                                  ) from None
        return out

    def _start(self) -> None:
        p = self._p
        if p["global_localization_at_start"]:
            if self._gnss_on:
                self.get_logger().info("global localization: waiting for the first GNSS fix")
            else:
                self._pf.init_global()
                self._initialized("global localization over the whole map")
            return
        sxy, syaw = p["initial_std_xy"], p["initial_std_yaw"]
        self._init_pose(Pose2D(p["initial_x"], p["initial_y"], p["initial_yaw"]),
                        np.diag([sxy * sxy, sxy * sxy, syaw * syaw]), "parameter")

    def _init_pose(self, pose: Pose2D, cov: np.ndarray, source: str) -> None:
        try:
            self._pf.init_pose(pose, cov)
        except ConfigError as exc:
            self.get_logger().error(f"{source} initial pose ignored: {exc}")
            return
        self._initialized(f"initialized at ({pose.x:.2f}, {pose.y:.2f}, {pose.theta:.2f}) "
                          f"from {source}")

    def _initialized(self, what: str) -> None:
        """A fresh cloud: the next scan is weighted; pose and health are published at once."""
        self.get_logger().info(what)
        self._loop.restart(self._odom[-1][1] if self._odom else None)
        self._m2o = None
        self._est = self._pf.estimate()
        self._publish_health()
        if self._odom:
            self._publish_estimate(self._odom[-1])

    def _drop(self, what: str, reason: str) -> None:
        """Log an unusable input on its first occurrence and then every N-th."""
        n = self._bad[what] = self._bad.get(what, 0) + 1
        if n % self._p["invalid_log_every"] == 1 or self._p["invalid_log_every"] == 1:
            self.get_logger().warning(f"{what} dropped ({n} so far): {reason}")

    # -- inputs ------------------------------------------------------------------------------
    def _on_odom(self, msg: Odometry) -> None:
        pose = mc.msg_to_pose2d(msg.pose.pose)
        if not all(math.isfinite(v) for v in pose.as_tuple()):
            self._drop("odom", "non-finite pose")
            return
        self._odom.append((mc.time_to_seconds(msg.header.stamp), pose,
                           msg.header.frame_id or "odom"))
        self._try_scan()

    def _odom_at(self, t: float) -> tuple[float, Pose2D, str] | None:
        """The odometry sample nearest to stamp ``t`` (s), the newest on a tie."""
        if not self._odom:
            return None
        return min(reversed(self._odom), key=lambda o: abs(o[0] - t))

    def _on_scan(self, msg: LaserScan) -> None:
        # Scans wait for the odometry of their moment, which may come after the next scan when
        # this node lags (the executor takes one message per topic per turn).
        if len(self._scans) == self._scans.maxlen:  # its odometry never came: nearest there is
            self._process_scan(self._scans.popleft())
        self._scans.append(msg)
        self._try_scan()

    def _try_scan(self) -> None:
        """Process the waiting scans whose odometry (at or after their stamp) has arrived."""
        while self._scans and self._odom and (
                self._odom[-1][0] >= mc.time_to_seconds(self._scans[0].header.stamp) - 1e-6):
            self._process_scan(self._scans.popleft())

    def _process_scan(self, msg: LaserScan) -> None:
        if not self._pf.initialized:
            return
        stamp = mc.time_to_seconds(msg.header.stamp)
        odom = self._odom_at(stamp)
        head = (msg.angle_min, msg.angle_increment, msg.range_min, msg.range_max)
        if odom is None:
            self._drop("scan", "no odometry yet")
            return
        if not all(math.isfinite(v) for v in head):
            self._drop("scan", f"non-finite angles or range limits {head}")
            return
        if abs(odom[0] - stamp) > self._p["odom_match_tolerance_s"]:
            # Pairing a scan with odometry from another moment moves the cloud to the wrong
            # place (at 1.5 m/s, 0.1 s is 15 cm and a turn's worth of heading): skip it.
            self._drop("scan", f"no odometry within {self._p['odom_match_tolerance_s']} s of the "
                               f"scan (nearest {odom[0] - stamp:+.3f} s)")
            return
        ranges, _ = mc.scan_arrays(msg)
        try:  # an unusable scan is reported whether or not the filter would weigh it now
            self._loop.scan(odom[1], ranges, *head, self._now())
        except SensorError as exc:
            self._drop("scan", str(exc))
        self._publish_estimate(odom)

    def _on_gnss(self, msg: NavSatFix) -> None:
        if not self._gnss_on or msg.status.status < NavSatStatus.STATUS_FIX:
            return
        lat, lon = msg.latitude, msg.longitude
        if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
            self._drop("gnss", f"invalid position ({lat}, {lon})")
            return
        x, y = self._map.from_wgs84(lat, lon)
        xmin, ymin, xmax, ymax = self._map.grid.extent
        if not (xmin <= x < xmax and ymin <= y < ymax):
            self._drop("gnss", f"fix ({x:.1f}, {y:.1f}) m outside the map")
            return
        c = msg.position_covariance
        std = self._p["gnss_default_std"]
        if msg.position_covariance_type != NavSatFix.COVARIANCE_TYPE_UNKNOWN:
            std = math.sqrt(max(c[0], c[4], 0.0))
        if not (math.isfinite(std) and std > 0.0):
            self._drop("gnss", f"invalid covariance {list(c)}")
            return
        if not self._pf.initialized:
            if self._p["global_localization_at_start"]:
                self._pf.init_global((x, y), self._p["global_init_std"])
                self._initialized(f"global localization around GNSS ({x:.1f}, {y:.1f})")
            return
        try:
            self._loop.gnss(x, y, std, self._now())
        except SensorError as exc:
            self._drop("gnss", str(exc))

    def _on_initialpose(self, msg: PoseWithCovarianceStamped) -> None:
        if msg.header.frame_id not in ("", "map"):
            self.get_logger().error(f"initialpose ignored: frame '{msg.header.frame_id}', "
                                    "expected 'map'")
            return
        cov = mc.msg_to_covariance(msg)
        if not np.any(cov):
            sxy, syaw = self._p["initial_std_xy"], self._p["initial_std_yaw"]
            cov = np.diag([sxy * sxy, sxy * sxy, syaw * syaw])
        self._init_pose(mc.msg_to_pose2d(msg.pose.pose), cov, "initialpose")

    # -- outputs -----------------------------------------------------------------------------
    def _publish_estimate(self, odom: tuple[float, Pose2D, str]) -> None:
        prev = self._est.health if self._est is not None else None
        self._est = self._loop.estimate
        self._m2o = self._est.pose.compose(odom[1].inverse())
        self._publish_pose(self._est.pose, odom)
        if self._est.health != prev:
            e = self._est
            self.get_logger().info(
                f"health {prev.value if prev else '-'} -> {e.health.value} at ({e.pose.x:.1f}, "
                f"{e.pose.y:.1f}): score {e.score:.2f}, spread {e.spread:.2f} m, likelihood "
                f"ratio {self._pf.likelihood_ratio:.2f}"
                + (", GNSS disagrees" if self._pf.gnss_disagrees else ""))
            self._publish_health()

    def _publish_between_scans(self) -> None:
        """Odometry-extrapolated pose when scans lag (nothing new to say while they keep up)."""
        if self._m2o is not None and self._odom and self._pf.initialized:
            odom = self._odom[-1]
            if odom[0] > self._last_pose_stamp + 1e-6:
                self._publish_pose(self._m2o.compose(odom[1]), odom)

    def _publish_pose(self, pose: Pose2D, odom: tuple[float, Pose2D, str]) -> None:
        assert self._est is not None and self._m2o is not None
        self._last_pose_stamp = odom[0]
        stamp = mc.seconds_to_time(odom[0])
        msg = PoseWithCovarianceStamped()
        msg.header.stamp, msg.header.frame_id = stamp, "map"
        msg.pose.pose = mc.pose2d_to_msg(pose)
        msg.pose.covariance = mc.covariance_to_msg(self._est.cov)
        self._pose_pub.publish(msg)
        tf = TransformStamped()
        tf.header.stamp, tf.header.frame_id, tf.child_frame_id = stamp, "map", odom[2]
        q = mc.pose2d_to_msg(self._m2o)
        tf.transform.translation.x, tf.transform.translation.y = q.position.x, q.position.y
        tf.transform.rotation = q.orientation
        self._tf_pub.publish(tf)

    def _publish_health(self) -> None:
        est = self._est
        state = est.health if est is not None else HealthState.LOST
        values = {"score": 0.0, "spread": math.inf, "n_particles": 0, "ess": 0.0}
        if est is not None:
            values = {"score": est.score, "spread": est.spread, "n_particles": est.n_particles,
                      "ess": est.ess}
        status = DiagnosticStatus(
            level=_LEVEL[state], name=f"{self.get_fully_qualified_name()}", message=str(state),
            hardware_id=self.get_namespace().strip("/") or "robot",
            values=[KeyValue(key=k, value=f"{v:.4g}") for k, v in values.items()])
        self._health_pub.publish(status)
        arr = DiagnosticArray(status=[status])
        arr.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(arr)

    def _now(self) -> float:
        return float(self.get_clock().now().nanoseconds) * 1e-9


def main(args: list[str] | None = None) -> int:
    return run_node("localization", LocalizationNode, args)

