"""anomaly_monitor over real DDS: a synthetic loiterer on test_yard -> Anomaly on `anomalies`,
acks stop resends, link loss holds events back, hostile inputs are dropped, health faults."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import PoseWithCovarianceStamped
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import BatteryState, Imu, LaserScan
from std_msgs.msg import Bool, Float64, Header

from dawnpatrol_core.errors import AnomalyError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_interfaces.msg import Anomaly, AnomalyAck, RobotStatus
from dawnpatrol_ros.codecs import anomaly_from_msg
from dawnpatrol_ros.convert import pose2d_to_msg, time_to_seconds
from dawnpatrol_ros.qos import ALERT_QOS, LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "test"))
from dawnpatrol_pytest import wait_for  # noqa: E402

ROBOT = Pose2D(8.0, 20.0, math.pi / 2)  # test_yard, looking north into watch_yard_corner
PERSON = (8.0, 24.0)
ANGLES = np.linspace(-math.pi, math.pi, 360, endpoint=False)


def night_offset() -> float:
    """utc_offset_s that makes the local hour about 01:00 now (watch zones are active 22-05)."""
    return ((3600.0 - time.time() % 86400.0 + 43200.0) % 86400.0) - 43200.0


def person_scan(present: bool) -> list[float]:
    """Ranges of a 360-beam scan from the robot's lidar (0.3 m ahead) seeing one 0.25 m disc."""
    if not present:
        return [math.inf] * len(ANGLES)
    o = np.array([ROBOT.x, ROBOT.y + 0.3])
    th = ANGLES + ROBOT.theta
    d = np.column_stack([np.cos(th), np.sin(th)])
    oc = o - np.array(PERSON)
    b = d @ oc
    disc = b * b - (oc @ oc - 0.25**2)
    return np.where(disc > 0, -b - np.sqrt(np.maximum(disc, 0.0)), np.inf).tolist()


class Harness:
    """The monitor as a child process in namespace /r1, and a test node talking to it."""

    def __init__(self, tmp: Path, params: dict[str, str]) -> None:
        self.outbox = tmp / "outbox.db"
        base = {
            "robot_id": "r1", "map_dir": str(REPO / "maps" / "test_yard"),
            "outbox_path": str(self.outbox), "utc_offset_s": repr(night_offset()),
            "loiter_time_s": "2.0", "resend_base_s": "0.2", "resend_factor": "1.0",
            "resend_cap_s": "0.2", "publish_rate_hz": "10.0", "link_timeout_s": "3600.0",
            "stale_s": "3600.0", "seed": "7", "fleet_robot_ids": "[r2]",
        }
        base.update(params)
        cmd = [sys.executable, "-m", "dawnpatrol_robot.anomaly_monitor_node", "--ros-args",
               "-r", "__ns:=/r1"]
        for k, v in base.items():
            cmd += ["-p", f"{k}:={v}"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.node = Node("monitor_test", context=self.ctx)
        self.received: list[Anomaly] = []
        self.lock = threading.Lock()
        n = self.node
        n.create_subscription(Anomaly, "/r1/anomalies", self._on_anomaly, ALERT_QOS)
        self.watch: list[float] = []  # the monitor's watch_until, as published
        n.create_subscription(Float64, "/r1/watch_until",
                              lambda m: self.watch.append(m.data), RELIABLE_QOS)
        self.scan = n.create_publisher(LaserScan, "/r1/scan", SENSOR_QOS)
        self.pose = n.create_publisher(PoseWithCovarianceStamped, "/r1/pose", RELIABLE_QOS)
        self.battery = n.create_publisher(BatteryState, "/r1/battery", RELIABLE_QOS)
        self.imu = n.create_publisher(Imu, "/r1/imu", SENSOR_QOS)
        self.link = n.create_publisher(Bool, "/r1/sim/link_up", LATCHED_QOS)
        self.ack = n.create_publisher(AnomalyAck, "/fleet/anomaly_acks", RELIABLE_QOS)
        self.heartbeat = n.create_publisher(Header, "/fleet/heartbeat", RELIABLE_QOS)
        self.status = n.create_publisher(RobotStatus, "/r2/status", LATCHED_QOS)
        self.person = False
        self.beating = False
        n.create_timer(0.1, self._tick)
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(n)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_anomaly(self, msg: Anomaly) -> None:
        with self.lock:
            self.received.append(msg)

    def _tick(self) -> None:
        p = PoseWithCovarianceStamped()
        p.header.frame_id = "map"
        p.pose.pose = pose2d_to_msg(ROBOT)
        self.pose.publish(p)
        self.scan.publish(LaserScan(angle_min=-math.pi, angle_max=math.pi,
                                    angle_increment=2 * math.pi / 360, range_min=0.1,
                                    range_max=30.0, ranges=person_scan(self.person)))
        if self.beating:
            self.heartbeat.publish(Header(frame_id="fleet"))

    def ready(self, *pubs: object) -> None:
        """Wait until the monitor subscribes to each of ``pubs`` (volatile topics lose early
        messages)."""
        for pub in pubs:
            wait_for(lambda p=pub: p.get_subscription_count() > 0, 10.0,  # type: ignore[attr-defined]
                     f"monitor subscribed to {pub.topic_name}")  # type: ignore[attr-defined]

    def of_kind(self, kind: str) -> list[Anomaly]:
        with self.lock:
            return [m for m in self.received if m.kind == kind]

    def outbox_rows(self) -> list[tuple[str, str, int]]:
        if not self.outbox.exists():
            return []
        with sqlite3.connect(self.outbox) as c:
            return c.execute("SELECT uuid, kind, attempts FROM outbox").fetchall()

    def quiet(self, seconds: float, pred: Callable[[], bool]) -> bool:
        """True when ``pred`` stays false for an observation window (absence checks only)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if pred():
                return False
            time.sleep(0.05)
        return True

    def close(self) -> int | None:
        alive = self.proc.poll()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.ctx)
        return alive


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def start(**params: str) -> Harness:
        h = Harness(tmp_path, params)
        made.append(h)
        return h

    yield start
    for h in made:
        h.close()


def test_loiterer_reported_resent_until_acked(monitor: Callable[..., Harness]) -> None:
    h = monitor()
    h.person = True
    wait_for(lambda: h.of_kind("loitering"), 20.0, "a loitering anomaly")
    first = h.of_kind("loitering")[0]
    h.person = False
    assert first.zone == "watch_yard_corner" and first.robot_id == "r1"
    assert abs(first.position.x - PERSON[0]) < 0.5 and abs(first.position.y - PERSON[1]) < 0.5
    assert not math.isnan(first.latitude)
    ev = anomaly_from_msg(first)  # the wire form passes the fleet's validation
    assert ev.kind == "loitering" and ev.evidence.track
    wait_for(lambda: len([m for m in h.of_kind("loitering") if m.uuid == first.uuid]) >= 3,
             5.0, "resends of the unacknowledged event")
    h.ack.publish(AnomalyAck(uuid=first.uuid, robot_id="r1"))
    wait_for(lambda: all(r[0] != first.uuid for r in h.outbox_rows()), 5.0, "ack applied")
    n = len([m for m in h.of_kind("loitering") if m.uuid == first.uuid])
    assert h.quiet(1.0, lambda: len([m for m in h.of_kind("loitering")
                                     if m.uuid == first.uuid]) > n + 1)  # one may be in flight
    assert h.proc.poll() is None


def test_watch_until_says_when_someone_lingering_will_be_judged(
        monitor: Callable[..., Harness]) -> None:
    h = monitor(loiter_time_s="8.0")
    wait_for(lambda: len(h.watch) >= 2, 15.0, "watch_until with nobody about")
    assert h.watch[-1] == 0.0
    h.person = True
    wait_for(lambda: h.watch and h.watch[-1] > 0.0, 15.0, "watch_until for the lingering person")
    until = h.watch[-1]
    wait_for(lambda: h.of_kind("loitering"), 20.0, "the loitering anomaly")
    first = h.of_kind("loitering")[0]
    assert abs(until - (time_to_seconds(first.first_seen) + 8.0)) < 2.0
    wait_for(lambda: h.watch[-1] == 0.0, 5.0, "judged: nothing more to wait for")


def test_link_down_holds_events_until_link_up(monitor: Callable[..., Harness]) -> None:
    h = monitor()
    h.link.publish(Bool(data=False))
    h.ready(h.link, h.battery)
    h.battery.publish(BatteryState(percentage=0.1))
    wait_for(lambda: any(r[1] == "battery_low" for r in h.outbox_rows()), 10.0,
             "battery_low persisted in the outbox")
    assert h.quiet(1.0, lambda: bool(h.received))
    assert all(r[2] == 0 for r in h.outbox_rows())  # never sent
    h.link.publish(Bool(data=True))
    wait_for(lambda: h.of_kind("battery_low"), 5.0, "pending event sent after link up")


def test_hostile_inputs_dropped_node_keeps_running(monitor: Callable[..., Harness]) -> None:
    h = monitor()
    h.ready(h.ack, h.pose, h.battery, h.status)
    nan = math.nan
    h.ack.publish(AnomalyAck(uuid="x" * 100_000, robot_id="r1"))
    h.ack.publish(AnomalyAck(uuid="\x1b[2J\u202e", robot_id="r1"))
    bad_pose = PoseWithCovarianceStamped()
    bad_pose.pose.pose.position.x = nan
    h.pose.publish(bad_pose)
    h.scan.publish(LaserScan(angle_min=nan, angle_increment=nan, ranges=[nan, math.inf, -1.0]))
    h.scan.publish(LaserScan(angle_min=0.0, angle_increment=0.0, ranges=[1.0] * 10))
    h.scan.publish(LaserScan(angle_min=0.0, angle_increment=1e-3, ranges=[1.0] * 30_000))
    h.battery.publish(BatteryState(percentage=nan, charge=nan, capacity=0.0))
    h.battery.publish(BatteryState(percentage=7.5))
    imu = Imu()
    imu.linear_acceleration.x = math.inf
    h.imu.publish(imu)
    st = RobotStatus(robot_id="r2")
    st.pose.position.y = nan
    h.status.publish(st)
    h.battery.publish(BatteryState(percentage=0.05))  # then a real fault still gets through
    wait_for(lambda: h.of_kind("battery_critical"), 10.0, "battery_critical after hostile input")
    assert h.proc.poll() is None


def test_hostile_anomaly_messages_rejected() -> None:
    good = Anomaly(uuid="0f8fad5b-d9cb-469f-a165-70867728950e", robot_id="r1", kind="loitering",
                   confidence=0.9, count=1, revision=0, evidence='{"track":[],"scan":[]}')
    assert anomaly_from_msg(good).kind == "loitering"
    bad = [
        Anomaly(**{**_fields(good), "kind": "alien"}),
        Anomaly(**{**_fields(good), "description": "x" * 513}),
        Anomaly(**{**_fields(good), "description": "ok\x1b[31m"}),
        Anomaly(**{**_fields(good), "evidence": '{"image": "AAAA"}'}),
        Anomaly(**{**_fields(good), "evidence": "[" * 20_000}),
        Anomaly(**{**_fields(good), "evidence": '{"track": [[NaN, 1, 2]]}'}),
        Anomaly(**{**_fields(good), "severity": 9}),
    ]
    nan_pos = Anomaly(**_fields(good))
    nan_pos.position.x = math.nan
    bad.append(nan_pos)
    for msg in bad:
        with pytest.raises(AnomalyError):
            anomaly_from_msg(msg)


def _fields(msg: Anomaly) -> dict[str, object]:
    return {k: getattr(msg, k) for k in ("uuid", "robot_id", "kind", "confidence", "count",
                                         "evidence", "description", "severity", "zone")}


def test_battery_low_and_link_lost(monitor: Callable[..., Harness]) -> None:
    h = monitor(link_timeout_s="2.0")
    h.beating = True
    h.ready(h.battery, h.heartbeat)
    h.battery.publish(BatteryState(percentage=0.15))
    wait_for(lambda: h.of_kind("battery_low"), 5.0, "battery_low within 5 s")
    assert not h.of_kind("link_lost")  # heartbeats flowing for longer than the timeout
    h.beating = False
    wait_for(lambda: h.of_kind("link_lost"), 5.0, "link_lost within 5 s of the last heartbeat")
