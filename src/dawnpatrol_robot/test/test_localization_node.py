"""Localization node in an in-process ROS graph, fed odometry, scans, GNSS and /clock from the
headless simulator on test_yard: convergence to ground truth, health, and bad inputs."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from dawnpatrol_pytest import wait_for
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseWithCovarianceStamped, TransformStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import LaserScan, NavSatFix, NavSatStatus
from test_navigator_client import Ros

from dawnpatrol_core.geometry import Pose2D, wrap_angle
from dawnpatrol_core.localization.params import LocalizationParams
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.world import load_robot_model, load_world
from dawnpatrol_robot.localization_node import _NODE_PARAMS, LocalizationNode
from dawnpatrol_ros.convert import msg_to_pose2d, pose2d_to_msg, seconds_to_time, time_to_seconds
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from dawnpatrol_sim.engine.readings import SensorFrame
from dawnpatrol_sim.engine.sim_engine import SimEngine
from dawnpatrol_sim.scenario import load_scenario

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[3]
MAP = ROOT / "maps/test_yard"
START = Pose2D(5.0, 10.0, 0.0)  # r1's start in test_yard_basic.yaml


@pytest.fixture
def ros() -> Iterator[Ros]:
    graph = Ros()
    yield graph
    graph.close()


class Sensors(Node):
    """The simulator side of the graph, and a listener on everything localization publishes."""

    def __init__(self, ros: Ros) -> None:
        super().__init__("fake_sim", namespace="/r1", context=ros.context)
        self.clock = self.create_publisher(Clock, "/clock", 10)
        self.odom = self.create_publisher(Odometry, "odom", RELIABLE_QOS)
        self.scan = self.create_publisher(LaserScan, "scan", SENSOR_QOS)
        self.gnss = self.create_publisher(NavSatFix, "gnss", RELIABLE_QOS)
        self.initialpose = self.create_publisher(PoseWithCovarianceStamped, "initialpose",
                                                 RELIABLE_QOS)
        self.poses: list[PoseWithCovarianceStamped] = []
        self.tfs: list[TransformStamped] = []
        self.health: list[DiagnosticStatus] = []
        self.diagnostics: list[DiagnosticArray] = []
        self._pose_cv = threading.Condition()
        self.create_subscription(PoseWithCovarianceStamped, "pose", self._on_pose, RELIABLE_QOS)
        self.create_subscription(TransformStamped, "map_to_odom", self.tfs.append, RELIABLE_QOS)
        self.create_subscription(DiagnosticStatus, "localization/health", self.health.append,
                                 LATCHED_QOS)
        self.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append,
                                 RELIABLE_QOS)

    def _on_pose(self, msg: PoseWithCovarianceStamped) -> None:
        with self._pose_cv:
            self.poses.append(msg)
            self._pose_cv.notify_all()

    def wait_pose(self, stamp: float, timeout: float = 10.0) -> None:
        """Block until a pose stamped ``stamp`` (s) arrived (a condition wait, not a sleep)."""
        def arrived() -> bool:
            return any(abs(time_to_seconds(p.header.stamp) - stamp) < 1e-6
                       for p in self.poses[-3:])
        with self._pose_cv:
            if not self._pose_cv.wait_for(arrived, timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for pose at {stamp}")

    def connected(self) -> bool:
        return all(p.get_subscription_count() > 0
                   for p in (self.clock, self.odom, self.scan, self.gnss, self.initialpose))


def odom_msg(f: SensorFrame) -> Odometry:
    assert f.odom is not None
    msg = Odometry()
    msg.header.stamp, msg.header.frame_id = seconds_to_time(f.stamp), "r1/odom"
    msg.child_frame_id = "r1/base_link"
    msg.pose.pose = pose2d_to_msg(Pose2D(f.odom.x, f.odom.y, f.odom.theta))
    msg.twist.twist.linear.x, msg.twist.twist.angular.z = f.odom.v, f.odom.w
    return msg


def scan_msg(f: SensorFrame) -> LaserScan:
    s = f.scan
    assert s is not None
    msg = LaserScan(angle_min=s.angle_min, angle_increment=s.angle_increment,
                    range_min=s.range_min, range_max=s.range_max, scan_time=s.scan_time)
    msg.angle_max = s.angle_min + (s.ranges.size - 1) * s.angle_increment
    msg.ranges = s.ranges.astype(np.float32).tolist()
    msg.header.stamp, msg.header.frame_id = seconds_to_time(s.stamp), "r1/lidar_link"
    return msg


class Drive:
    """Steps the simulator along a gentle left arc and publishes what r1 senses, waiting after
    every scan until the node has published the pose for it (lockstep, no sleeps)."""

    def __init__(self, sensors: Sensors) -> None:
        world = load_world(ROOT / "sim/worlds/test_yard.sdf")
        model = load_robot_model(ROOT / "sim/models/dawnbot/model.sdf")
        scenario = load_scenario(ROOT / "sim/scenarios/test_yard_basic.yaml")
        self.engine = SimEngine(world, model, scenario, seed=3)
        self.sensors = sensors
        self.district = load_district_map(MAP)
        self.truth: dict[float, Pose2D] = {}  # stamp (s, rounded to ms) -> true pose
        self.odom: dict[float, Pose2D] = {}  # stamp -> odometry pose
        wait_for(sensors.connected, 15.0, "localization subscriptions discovered")

    def run(self, seconds: float, v: float = 0.7, w: float = 0.15, lockstep: bool = True) -> None:
        end = self.engine.now + seconds
        while self.engine.now < end - 1e-9:
            self.engine.step({"r1": (v, w)})
            f = self.engine.sensors("r1")
            self.truth[round(f.stamp, 3)] = Pose2D(f.truth.x, f.truth.y, f.truth.theta)
            self.sensors.clock.publish(Clock(clock=seconds_to_time(f.stamp)))
            if f.odom is not None:
                self.odom[round(f.stamp, 3)] = Pose2D(f.odom.x, f.odom.y, f.odom.theta)
                self.sensors.odom.publish(odom_msg(f))
            if f.gnss is not None:
                self.sensors.gnss.publish(self.gnss_msg(f.gnss.x, f.gnss.y, f.gnss.std))
            if f.scan is not None and lockstep:
                self.publish_scan(scan_msg(f))
            elif f.scan is not None:
                self.sensors.scan.publish(scan_msg(f))

    def publish_scan(self, msg: LaserScan) -> None:
        self.sensors.scan.publish(msg)
        self.sensors.wait_pose(time_to_seconds(msg.header.stamp))

    def gnss_msg(self, x: float, y: float, std: float) -> NavSatFix:
        msg = NavSatFix(position_covariance_type=NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN)
        msg.latitude, msg.longitude = self.district.to_wgs84(x, y)
        msg.position_covariance[0] = msg.position_covariance[4] = std * std
        msg.header.frame_id, msg.status.status = "r1/gnss_link", NavSatStatus.STATUS_FIX
        return msg

    def errors(self, last: int) -> list[tuple[float, float]]:
        """(position m, |heading| rad) errors of the last ``last`` poses stamped at a step."""
        out = []
        for p in self.sensors.poses[-last:]:
            truth = self.truth[round(time_to_seconds(p.header.stamp), 3)]
            est = msg_to_pose2d(p.pose.pose)
            out.append((est.distance_to(truth), abs(wrap_angle(est.theta - truth.theta))))
        return out


def shipped_params() -> dict[str, Any]:
    """The parameters of params/localization.yaml."""
    doc = yaml.safe_load((ROOT / "params/localization.yaml").read_text(encoding="utf-8"))
    return dict(doc["/**"]["ros__parameters"])


def start(ros: Ros, map_dir: Path = MAP, **params: Any) -> LocalizationNode:
    values: dict[str, Any] = {
        **shipped_params(), "map_dir": str(map_dir), "use_sim_time": True, "seed": 1,
        "max_particles": 1500,
        "min_particles": 300, "publish_rate_hz": 2.0, "initial_x": START.x + 0.3,
        "initial_y": START.y - 0.25, "initial_yaw": 0.08, **params}
    return ros.add(LocalizationNode(namespace="/r1", context=ros.context, parameter_overrides=[
        Parameter(k, value=v) for k, v in values.items()]))


class Log:
    """Accumulates what the process wrote to stderr (rcutils logging writes to fd 2)."""

    def __init__(self, capfd: pytest.CaptureFixture[str]) -> None:
        self._capfd, self.text = capfd, ""

    def count(self, fragment: str) -> int:
        self.text += self._capfd.readouterr().err
        return self.text.count(fragment)

    def has(self, fragment: str) -> bool:
        return self.count(fragment) > 0


def test_converges_to_ground_truth_and_reports_ok(ros: Ros) -> None:
    sensors = ros.add(Sensors(ros))
    start(ros)
    drive = Drive(sensors)
    drive.run(20.0)
    errs = drive.errors(20)
    assert max(e for e, _ in errs) < 0.3, errs
    assert max(a for _, a in errs) < 0.1, errs
    wait_for(lambda: sensors.health and sensors.health[-1].message == "OK", 30.0, "health OK")
    h = sensors.health[-1]
    assert h.level == DiagnosticStatus.OK
    values = {kv.key: float(kv.value) for kv in h.values}
    assert set(values) == {"score", "spread", "n_particles", "ess"}
    assert 300 <= values["n_particles"] <= 1500 and values["spread"] < 0.3
    wait_for(lambda: sensors.diagnostics, 30.0, "/diagnostics")
    assert sensors.diagnostics[-1].status[0].message in ("OK", "DEGRADED")
    # map_to_odom composed with the odometry pose at the same stamp is the published pose
    wait_for(lambda: len(sensors.tfs) >= len(sensors.poses), 30.0, "every map_to_odom")
    pose = sensors.poses[-1]
    tf = next(t for t in reversed(sensors.tfs) if t.header.stamp == pose.header.stamp)
    assert tf.header.frame_id == "map" and tf.child_frame_id == "r1/odom"
    q = tf.transform.rotation
    m2o = Pose2D(tf.transform.translation.x, tf.transform.translation.y,
                 2.0 * math.atan2(q.z, q.w))
    odom = drive.odom[round(time_to_seconds(pose.header.stamp), 3)]
    assert m2o.compose(odom).distance_to(msg_to_pose2d(pose.pose.pose)) < 1e-6


def test_global_localization_from_the_first_gnss_fix(ros: Ros) -> None:
    sensors = ros.add(Sensors(ros))
    start(ros, global_localization_at_start=True, max_particles=3000, global_init_std=3.0)
    drive = Drive(sensors)
    assert not sensors.poses
    drive.run(0.25, lockstep=False)  # the first fix (5 Hz) seeds the cloud
    drive.run(22.0)
    assert max(e for e, _ in drive.errors(10)) < 0.3


def initialpose_msg(p: Pose2D) -> PoseWithCovarianceStamped:
    msg = PoseWithCovarianceStamped()
    msg.pose.pose, msg.header.frame_id = pose2d_to_msg(p), "map"
    return msg


def test_bad_initial_pose_is_logged_and_ignored(ros: Ros, capfd: pytest.CaptureFixture[str]
                                                ) -> None:
    log = Log(capfd)
    sensors = ros.add(Sensors(ros))
    node = start(ros, initial_x=500.0)  # outside the 34 m map: logged, not initialized
    wait_for(lambda: log.has("parameter initial pose ignored"), 30.0, "log of the bad param")
    wait_for(lambda: sensors.health and sensors.health[-1].message == "LOST", 30.0, "LOST")
    drive = Drive(sensors)
    for x, y in ((500.0, 5.0), (math.nan, 1.0)):
        sensors.initialpose.publish(initialpose_msg(Pose2D(x, y)))
    wait_for(lambda: log.count("initialpose initial pose ignored") == 2, 10.0,
             "two bad initial poses logged")
    sensors.initialpose.publish(initialpose_msg(Pose2D(5.2, 10.1, 0.0)))
    wait_for(lambda: log.count("from initialpose") == 1, 30.0, "initialized from initialpose")
    drive.run(8.0)
    assert max(e for e, _ in drive.errors(10)) < 0.3
    assert node.context.ok()


def test_nan_inputs_are_dropped_and_logged(ros: Ros, capfd: pytest.CaptureFixture[str]
                                           ) -> None:
    log = Log(capfd)
    sensors = ros.add(Sensors(ros))
    start(ros)
    drive = Drive(sensors)
    drive.run(2.0)
    f = drive.engine.sensors("r1")
    nan_odom = odom_msg(f)
    nan_odom.pose.pose.position.x = math.nan
    sensors.odom.publish(nan_odom)
    wait_for(lambda: log.has("odom dropped"), 30.0, "NaN odom logged")
    for _ in range(3):  # all invalid: skipped, logged once per invalid_log_every (100)
        scan = drive_scan(drive)
        scan.ranges = [math.nan] * len(scan.ranges)
        drive.publish_scan(scan)
    wait_for(lambda: log.has("scan dropped (1 so far)"), 30.0, "all-NaN scan logged")
    assert log.count("scan dropped") == 1
    scan = drive_scan(drive)
    ranges = np.array(scan.ranges)
    ranges[::3], ranges[1::7] = np.inf, np.nan  # partly invalid: used
    scan.ranges = ranges.tolist()
    drive.publish_scan(scan)
    no_fix = drive.gnss_msg(10.0, 10.0, 1.0)
    no_fix.status.status = NavSatStatus.STATUS_NO_FIX  # ignored without a log line
    sensors.gnss.publish(no_fix)
    nan_fix = drive.gnss_msg(10.0, 10.0, 1.0)
    nan_fix.latitude = math.nan
    sensors.gnss.publish(nan_fix)
    wait_for(lambda: log.has("gnss dropped"), 30.0, "NaN fix logged")
    assert log.count("gnss dropped") == 1
    drive.run(6.0)
    assert max(e for e, _ in drive.errors(10)) < 0.3


def drive_scan(drive: Drive) -> LaserScan:
    """The next real scan of the simulator (odometry and clock published on the way)."""
    while True:
        drive.engine.step({"r1": (0.0, 0.0)})
        f = drive.engine.sensors("r1")
        drive.truth[round(f.stamp, 3)] = Pose2D(f.truth.x, f.truth.y, f.truth.theta)
        drive.sensors.clock.publish(Clock(clock=seconds_to_time(f.stamp)))
        drive.sensors.odom.publish(odom_msg(f))
        if f.scan is not None:
            return scan_msg(f)


def test_gnss_without_georeference_is_disabled_with_a_log_line(
    ros: Ros, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = Log(capfd)
    bare = tmp_path / "test_yard"
    shutil.copytree(MAP, bare)
    (bare / "georef.yaml").unlink()
    sensors = ros.add(Sensors(ros))
    start(ros, map_dir=bare, gnss_enabled=True)
    wait_for(lambda: log.has("has no georeference (georef.yaml): GNSS disabled"), 10.0,
             "georeference log line")
    drive = Drive(sensors)  # publishes fixes too: ignored
    drive.run(6.0)
    assert max(e for e, _ in drive.errors(10)) < 0.3


@pytest.mark.parametrize(("param", "line"), [
    ("max_particles:=0", "parameter 'max_particles': got 0, expected an integer in [1, 1000000]"),
    ("alpha1:=-0.5", "parameter 'alpha1': got -0.5, expected a number with a decimal point "
                     "in [0.0, 10.0]"),
    ("min_particles:=6000", "localization parameters: field 'min_particles': got 6000, "
                            "expected <= max_particles (5000)"),
])
def test_bad_parameter_exits_2_with_one_line(param: str, line: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from dawnpatrol_robot.localization_node import main; "
         "sys.exit(main())", "--ros-args", "-p", f"map_dir:={MAP}", "-p", param],
        capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"localization: {line}"]


def test_params_file_declares_every_parameter_and_is_valid() -> None:
    values = shipped_params()
    filter_names = {f.name for f in fields(LocalizationParams)}
    assert set(values) == set(_NODE_PARAMS) | filter_names
    LocalizationParams.from_mapping({k: values[k] for k in filter_names}, "localization.yaml")
