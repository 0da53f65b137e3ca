"""The `sim` node over real DDS: /clock, sensors, cmd_vel driving ground truth, faults and
contacts, MCAP recording, and one-line exit 2 on bad parameters."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rclpy
from dawnpatrol_pytest import wait_for
from geometry_msgs.msg import Twist, Vector3
from nav_msgs.msg import Odometry
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import LaserScan, NavSatFix, NavSatStatus
from std_msgs.msg import Bool, String

from dawnpatrol_core.maps.georef import load_georef
from dawnpatrol_core.world import load_robot_model
from dawnpatrol_ros.qos import ALERT_QOS, LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from dawnpatrol_sim.recording import topic_counts
from dawnpatrol_sim.sim_node import SimNode

ROOT = Path(__file__).resolve().parents[3]
WORLD = ROOT / "sim/worlds/test_yard.sdf"
MODEL = ROOT / "sim/models/dawnbot/model.sdf"
START = 7200.0


def _t(stamp: Any) -> float:
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


class Probe(Node):
    """Subscribes to the sim's topics for robot r1; drives it with ``cmd`` while set, sending
    one Twist per 0.05 s of sim time so the 0.5 s command timeout never trips."""

    def __init__(self, context: Context) -> None:
        super().__init__("probe", context=context)
        self.clock: list[float] = []
        self.scans: list[LaserScan] = []
        self.odom: list[Odometry] = []
        self.gnss: list[NavSatFix] = []
        self.truth: list[tuple[float, float, float, float]] = []  # t, x, y, v
        self.link: list[bool] = []
        self.contacts: list[dict[str, Any]] = []
        self.cmd: tuple[float, float] | None = None
        self._last_cmd = -math.inf
        self._cmd_pub = self.create_publisher(Twist, "/r1/cmd_vel", RELIABLE_QOS)
        self.create_subscription(Clock, "/clock", self._on_clock, 10)
        self.create_subscription(LaserScan, "/r1/scan", self.scans.append, SENSOR_QOS)
        self.create_subscription(Odometry, "/r1/odom", self.odom.append, RELIABLE_QOS)
        self.create_subscription(NavSatFix, "/r1/gnss", self.gnss.append, RELIABLE_QOS)
        self.create_subscription(Odometry, "/r1/ground_truth", self._on_truth, RELIABLE_QOS)
        # Latched, but deeper than one: a 0.25 s link drop must not be overwritten by its end
        # before the probe's executor takes it on a loaded machine.
        link_qos = QoSProfile(depth=10, reliability=LATCHED_QOS.reliability,
                              durability=LATCHED_QOS.durability)
        self.create_subscription(Bool, "/r1/sim/link_up", self._on_link, link_qos)
        self.create_subscription(String, "/sim/contacts", self._on_contact, ALERT_QOS)

    def _on_clock(self, msg: Clock) -> None:
        t = _t(msg.clock)
        self.clock.append(t)
        if self.cmd is not None and t - self._last_cmd >= 0.05 - 1e-9:
            self._last_cmd = t
            v, w = self.cmd
            self._cmd_pub.publish(Twist(linear=Vector3(x=v), angular=Vector3(z=w)))

    def _on_truth(self, msg: Odometry) -> None:
        p = msg.pose.pose.position
        self.truth.append((_t(msg.header.stamp), p.x, p.y, msg.twist.twist.linear.x))

    def _on_link(self, msg: Bool) -> None:
        self.link.append(msg.data)

    def _on_contact(self, msg: String) -> None:
        self.contacts.append(json.loads(msg.data))

    def now_s(self) -> float:
        return self.clock[-1] if self.clock else -1.0


class Graph:
    """A sim node and a probe node spun by one executor on a background thread."""

    def __init__(self, **params: Any) -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        overrides = [Parameter(k, value=v) for k, v in params.items()]
        self.sim = SimNode(context=self.context, parameter_overrides=overrides)
        self.probe = Probe(self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.sim)
        self.executor.add_node(self.probe)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set():
            self.executor.spin_once(timeout_sec=0.05)

    def close(self) -> None:
        """Stop spinning between callbacks, then finish the recording and shut down (once)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self.thread.join(10)
        self.sim.close()
        self.executor.shutdown()
        self.sim.destroy_node()
        self.probe.destroy_node()
        self.context.try_shutdown()


@pytest.fixture
def graph() -> Iterator[Any]:
    made: list[Graph] = []

    def start(**params: Any) -> Graph:
        g = Graph(**params)
        made.append(g)
        return g

    yield start
    for g in made:
        g.close()


def test_clock_sensors_cmd_vel_and_recording(graph: Any, tmp_path: Path) -> None:
    model = load_robot_model(MODEL)
    rec = tmp_path / "run.mcap"
    g = graph(
        world=str(WORLD),
        robot_model=str(MODEL),
        robot_ids=["r1"],
        start_poses=[3.0, 18.0, 0.0],
        real_time_factor=4.0,
        max_steps_per_tick=2,  # short catch-up bursts: the probe's commands keep up
        start_time_s=START,
        record=str(rec),
        map_dir=str(ROOT / "maps/test_yard"),
    )
    p = g.probe
    wait_for(lambda: p.now_s() > START + 0.5, 30, "/clock to pass start + 0.5 s")
    assert all(b > a for a, b in zip(p.clock, p.clock[1:], strict=False))  # strictly advancing
    wait_for(lambda: p.scans and p.odom and p.gnss, 30, "scan, odom and gnss")
    scan = p.scans[-1]
    assert len(scan.ranges) == model.lidar.samples == 360
    assert scan.range_max == pytest.approx(model.lidar.range_max)
    assert scan.header.frame_id == "r1/base_scan"
    assert p.odom[-1].header.frame_id == "r1/odom"
    fix = p.gnss[-1]
    assert fix.status.status == NavSatStatus.STATUS_FIX
    lat, lon = load_georef(ROOT / "maps/test_yard/georef.yaml").to_wgs84(3.0, 18.0)
    assert fix.latitude == pytest.approx(lat, abs=1e-4)  # ~10 m: fix noise is a few metres
    assert fix.longitude == pytest.approx(lon, abs=1e-4)

    # drive east at 0.5 m/s: once at speed, ground truth moves exactly v * dt along x
    p.cmd = (0.5, 0.0)
    t_cmd = p.now_s()
    wait_for(lambda: p.now_s() > t_cmd + 3.0, 30, "3 s of driving")
    # the longest run of received samples all at the commanded speed (DDS may skip a sample
    # under load; a lapse of the command would show as samples below 0.5 m/s)
    run: list[tuple[float, float, float, float]] = []
    best: list[tuple[float, float, float, float]] = []
    for s in p.truth:
        run = run + [s] if s[0] > t_cmd and abs(s[3] - 0.5) < 1e-9 else []
        best = run if len(run) > len(best) else best
    assert best and best[-1][0] - best[0][0] > 1.0, "1 s of driving at 0.5 m/s"
    (t1, x1, y1, _), (t2, x2, y2, _) = best[0], best[-1]
    assert x2 - x1 == pytest.approx(0.5 * (t2 - t1), abs=1e-6)
    assert y2 == pytest.approx(y1, abs=1e-9)

    # no command for 0.5 s of sim time: the sim stops the robot by itself
    p.cmd = None
    t_stop = p.now_s()
    wait_for(lambda: any(s[0] > t_stop + 1.5 for s in p.truth), 30, "1.5 s after the last command")
    assert p.truth[-1][3] == 0.0
    assert p.link == [True]

    g.close()
    steps = g.sim._steps
    counts = topic_counts(rec)
    n_scan = math.floor(steps * 0.02 * model.lidar.rate_hz + 1e-9)
    n_gnss = math.floor(steps * 0.02 * model.gnss.rate_hz + 1e-9)
    assert counts["/clock"] == counts["/r1/ground_truth"] == counts["/r1/odom"] == steps + 1
    assert counts["/r1/imu"] == steps
    assert counts["/r1/scan"] == n_scan
    assert counts["/r1/gnss"] == n_gnss
    assert counts["/r1/battery"] == math.floor(steps * 0.02) + 1
    assert counts["/r1/sim/link_up"] == 1
    assert counts["/sim/people"] == math.ceil(steps * 0.02 / 0.2 + 1e-9)


def test_faults_link_gnss_and_contacts(graph: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "bump.yaml"
    scenario.write_text(
        f"world: {WORLD}\nrobot_model: {MODEL}\nworld_actors: false\n"
        "robots: [{id: r1, start: [7.5, 10.0, 0.0]}]\n"  # 1 m west of crate_a's face (x = 9)
        "faults:\n"
        "  - {type: link_loss, robot: r1, start: 0.5, end: 1.0}\n"
        "  - {type: gnss_dropout, robot: r1, start: 0.5, end: 1.5}\n"
    )
    g = graph(scenario=str(scenario), real_time_factor=2.0, start_time_s=START)
    p = g.probe
    p.cmd = (0.5, 0.0)
    wait_for(lambda: p.contacts, 30, "a contact with crate_a")
    c = p.contacts[0]
    assert (c["robot"], c["what"]) == ("r1", "static")
    assert 9.0 - 0.5 - 0.01 < c["x"] < 9.0 - 0.5 + 0.01  # front of the 1 m robot at the face
    assert c["time"] > START
    assert p.link == [True, False, True]
    states = [(_t(f.header.stamp) - START, f.status.status) for f in p.gnss]
    assert {s for t, s in states if 0.5 < t < 1.5} == {NavSatStatus.STATUS_NO_FIX}
    assert {s for t, s in states if t >= 1.5} == {NavSatStatus.STATUS_FIX}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-p", "world:=/no/such/world.sdf"], "parameter 'world'"),
        (["-p", f"world:={WORLD}", "-p", "dt:=-0.02"], "parameter 'dt'"),
    ],
)
def test_bad_parameter_exits_2_with_one_line(args: list[str], needle: str) -> None:
    cmd = [sys.executable, "-m", "dawnpatrol_sim.sim_node", "--ros-args"]
    cmd += ["-p", f"robot_model:={MODEL}", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], res.stderr


def test_ctrl_c_closes_the_recording(tmp_path: Path) -> None:
    rec = tmp_path / "run.mcap"
    cmd = [sys.executable, "-m", "dawnpatrol_sim.sim_node", "--ros-args"]
    for k, v in {
        "world": WORLD,
        "robot_model": MODEL,
        "real_time_factor": 0.0,
        "record": rec,
    }.items():
        cmd += ["-p", f"{k}:={v}"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    threading.Thread(
        target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True
    ).start()  # type: ignore[union-attr]
    try:
        wait_for(lambda: any("sim t=10.0" in ln for ln in lines), 40, f"10 s of sim time {lines}")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    counts = topic_counts(rec)
    assert counts["/clock"] >= 500
    # Ctrl-C may land in the middle of a step's messages: at most that step is partial
    assert 0 <= counts["/clock"] - counts["/r1/ground_truth"] <= 1
    assert {"/r1/scan", "/r1/odom", "/r1/imu", "/r1/gnss", "/r1/battery"} <= counts.keys()


def test_robot_count_adds_robots_the_scenario_does_not_name(tmp_path: Path) -> None:
    """e2e_yard names r1 and r2; robot_count 3 adds r3 in the test yard's depot bay."""
    rec = tmp_path / "run.mcap"
    cmd = [sys.executable, "-m", "dawnpatrol_sim.sim_node", "--ros-args"]
    for k, v in {
        "scenario": ROOT / "sim/scenarios/e2e_yard.yaml",
        "robot_count": 3,
        "map_dir": ROOT / "maps/test_yard",
        "real_time_factor": 0.0,
        "duration_s": 1.0,
        "record": rec,
    }.items():
        cmd += ["-p", f"{k}:={v}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "3 robot(s) r1, r2, r3" in res.stderr
    counts = topic_counts(rec)
    assert {"/r1/ground_truth", "/r2/ground_truth", "/r3/ground_truth"} <= counts.keys()
