"""The navigator node in a tiny fake world: a unicycle integrated from its cmd_vel on test_yard.
E-stops from anyone stop it; only a resume signed by the fleet releases it."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import rclpy
from dawnpatrol_pytest import REPO, FleetKey, wait_for
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, Twist
from nav_msgs.msg import Odometry, Path
from rclpy.action import ActionClient
from rclpy.clock import Clock as RosClock
from rclpy.clock import ClockType
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Bool, Header

from dawnpatrol_core.geometry import yaw_to_quaternion
from dawnpatrol_core.security.gate import onboard_signer
from dawnpatrol_interfaces.action import Navigate
from dawnpatrol_interfaces.msg import ClosedEdges
from dawnpatrol_interfaces.srv import SetEStop
from dawnpatrol_robot.navigator_node import NavigatorNode
from dawnpatrol_ros.convert import seconds_to_time
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from dawnpatrol_ros.signing import message_fields

pytestmark = pytest.mark.ros
NS = "/r1"
_FLEET_DIR = tempfile.TemporaryDirectory(prefix="dp-fleet-key-")
FLEET = FleetKey(_FLEET_DIR.name)  # the fleet whose public key the robot holds
_R = Navigate.Result


class FakeWorld(Node):
    """The navigator's world in simulated time: a unicycle integrated from cmd_vel, an empty
    360-beam scan, and /clock. Every step (20 ms of wall time) advances the clock by 20 ms, but
    only while the navigator keeps up (a cmd_vel in the last 0.25 s of simulated time): a
    starved navigator stops the clock instead of missing deadlines, so the times these tests
    check are the navigator's, not the machine's. Records every cmd_vel with its sim time."""

    DT = 0.02

    def __init__(self, context: Context, x: float, y: float, theta: float,
                 as_localization: bool = False) -> None:
        super().__init__("fake_world", namespace=NS, context=context)
        # as_localization: the pose goes out as localization's PoseWithCovarianceStamped "pose",
        # with its health on "localization/health" (self.health, "OK" or "LOST")
        self.as_localization = as_localization
        self.health = "OK"
        self.x, self.y, self.theta = x, y, theta
        self.v = self.w = 0.0
        self.t = 0.0  # simulated time, s
        self.steps = 0
        self.beating = False
        self.cmds: list[tuple[float, float, float]] = []  # (sim s, v, w)
        self.plans: list[Path] = []
        self.estopped: list[bool] = []
        self._clock = self.create_publisher(Clock, "/clock", 10)
        self._odom = self.create_publisher(Odometry, "ground_truth", RELIABLE_QOS)
        self._pose = self.create_publisher(PoseWithCovarianceStamped, "pose", RELIABLE_QOS)
        self._health = self.create_publisher(DiagnosticStatus, "localization/health",
                                             LATCHED_QOS)
        self._scan = self.create_publisher(LaserScan, "scan", SENSOR_QOS)
        self._beat = self.create_publisher(Header, "/fleet/heartbeat", RELIABLE_QOS)
        self.create_subscription(Twist, "cmd_vel", self._on_cmd, RELIABLE_QOS)
        self.create_subscription(Path, "plan", self.plans.append, LATCHED_QOS)
        self.create_subscription(Bool, "estopped", lambda m: self.estopped.append(m.data),
                                 LATCHED_QOS)
        self.create_timer(self.DT, self._step, clock=RosClock(clock_type=ClockType.STEADY_TIME))
        self.estop = self.create_client(SetEStop, "estop")
        self.nav = ActionClient(self, Navigate, "navigate")

    def _on_cmd(self, msg: Twist) -> None:
        self.v, self.w = msg.linear.x, msg.angular.z
        self.cmds.append((self.t, self.v, self.w))

    def _step(self) -> None:
        if self.cmds and self.t - self.cmds[-1][0] > 0.25:
            return  # the navigator lags: hold the clock
        self.theta += self.w * self.DT
        self.x += self.v * self.DT * math.cos(self.theta)
        self.y += self.v * self.DT * math.sin(self.theta)
        self.steps += 1
        self.t = self.steps * self.DT
        self._clock.publish(Clock(clock=seconds_to_time(self.t)))
        msg = Odometry()
        msg.header.stamp, msg.header.frame_id = seconds_to_time(self.t), "map"
        msg.pose.pose.position.x, msg.pose.pose.position.y = self.x, self.y
        qx, qy, qz, qw = yaw_to_quaternion(self.theta)
        o = msg.pose.pose.orientation
        o.x, o.y, o.z, o.w = qx, qy, qz, qw
        if self.as_localization:
            self._pose.publish(PoseWithCovarianceStamped(header=msg.header, pose=msg.pose))
            if self.steps % 10 == 0:
                self._health.publish(DiagnosticStatus(message=self.health))
        else:
            self._odom.publish(msg)
        if self.steps % 5 == 0:
            n = 360
            self._scan.publish(LaserScan(angle_min=-math.pi, angle_increment=2 * math.pi / n,
                                         range_min=0.15, range_max=25.0, ranges=[math.inf] * n))
        if self.beating and self.steps % 10 == 0:
            self._beat.publish(Header(stamp=seconds_to_time(self.t)))


class Graph:
    """A private rclpy context with the navigator and the fake world, spun in the background."""

    def __init__(self, start: tuple[float, float, float], as_localization: bool = False,
                 **params: Any) -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        self._state = tempfile.TemporaryDirectory(prefix="dp-nav-state-")
        self.state_dir = self._state.name
        source = "localization" if as_localization else "ground_truth"
        overrides = {"map_dir": str(REPO / "maps" / "test_yard"), "pose_source": source,
                     "heartbeat_timeout_s": 0.0, "scan_offset_x": 0.0, "use_sim_time": True,
                     "fleet_public_key": str(FLEET.pub), "state_dir": self._state.name,
                     **params}
        self.navigator = NavigatorNode(
            namespace=NS, context=self.context,
            parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
        self.world = FakeWorld(self.context, *start, as_localization=as_localization)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.navigator)
        self.executor.add_node(self.world)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()
        wait_for(self.world.nav.server_is_ready, 10.0, "navigate action server")
        # the navigator publishes cmd_vel only once it has a pose
        wait_for(lambda: self.world.cmds, 10.0, "first cmd_vel (navigator has a pose)")

    def send(self, x: float, y: float, yaw: float = 0.0) -> Any:
        """Send a goal; returns the future of its result (the goal is always accepted)."""
        goal = PoseStamped()
        goal.header.frame_id = "map"
        goal.pose.position.x, goal.pose.position.y = x, y
        _, _, goal.pose.orientation.z, goal.pose.orientation.w = yaw_to_quaternion(yaw)
        sent = self.world.nav.send_goal_async(Navigate.Goal(pose=goal))
        wait_for(sent.done, 5.0, "goal response")
        handle = sent.result()
        assert handle.accepted
        return handle.get_result_async()

    def call_estop(self, engage: bool, who: str, why: str,
                   signed_by: FleetKey | None = None) -> SetEStop.Response:
        """Call the robot's estop service, unsigned or with ``signed_by``'s envelope."""
        wait_for(self.world.estop.service_is_ready, 5.0, "estop service")
        req = SetEStop.Request(engage=engage, robot_id="r1", operator_name=who, reason=why)
        if signed_by is not None:
            signed_by.sign("estop" if engage else "resume", "r1", req)
        fut = self.world.estop.call_async(req)
        wait_for(fut.done, 5.0, "estop response")
        return fut.result()

    def wait_moving(self, speed: float, timeout: float = 10.0) -> None:
        wait_for(lambda: self.world.cmds and self.world.cmds[-1][1] >= speed, timeout,
                 f"cmd_vel >= {speed} m/s")

    def close(self) -> None:
        # Stop spinning first, so no callback runs on a node being destroyed.
        self.executor.shutdown(timeout_sec=5.0)
        self._thread.join(5.0)
        for node in (self.navigator, self.world):
            node.destroy_node()
        self.navigator.close()
        rclpy.shutdown(context=self.context)
        self._state.cleanup()


@pytest.fixture
def graph_factory() -> Iterator[Any]:
    made: list[Graph] = []

    def make(start: tuple[float, float, float], **params: Any) -> Graph:
        made.append(Graph(start, **params))
        return made[-1]

    yield make
    for g in made:
        g.close()


def result_of(fut: Any, timeout: float) -> Navigate.Result:
    # A loaded machine (CI runs everything on 2 cores) may need far longer than the nominal time.
    wait_for(fut.done, max(timeout, 30.0), "navigate result")
    return fut.result().result


def test_goal_on_test_yard_succeeds_within_tolerance(graph_factory: Any) -> None:
    g = graph_factory((4.0, 3.0, 0.0))
    res = result_of(g.send(12.0, 3.0), 25.0)
    assert (res.code, res.cause, res.reason) == (_R.CODE_SUCCEEDED, _R.CAUSE_NONE, "")
    w = g.world
    # 0.25 m goal tolerance, plus what the test's own unicycle integrates after the navigator
    # stopped and before this (possibly starved) test process applied the stop.
    assert math.hypot(w.x - 12.0, w.y - 3.0) <= 0.25 + 0.15
    assert max(v for _, v, _ in w.cmds) <= 1.5 + 1e-9
    wait_for(lambda: g.world.plans, 5.0, "latched plan")
    last = g.world.plans[-1].poses[-1].pose.position
    assert (last.x, last.y) == pytest.approx((12.0, 3.0))


@pytest.mark.parametrize(("x", "y", "words"), [
    (16.0, 14.0, "keep-out"),    # the flower bed
    (40.0, 14.0, "operating area"),  # outside the yard
])
def test_goal_in_keep_out_or_outside_is_rejected_with_reason(
    graph_factory: Any, x: float, y: float, words: str
) -> None:
    g = graph_factory((4.0, 3.0, 0.0))
    res = result_of(g.send(x, y), 5.0)
    assert (res.code, res.cause) == (_R.CODE_REJECTED, _R.CAUSE_REJECTED)
    assert words in res.reason and f"({x:.2f}, {y:.2f})" in res.reason
    assert all(v == 0.0 for _, v, _ in g.world.cmds)


def test_unsigned_estop_at_speed_stops_within_1s_and_latches_until_a_fleet_signed_resume(
        graph_factory: Any, tmp_path: Any) -> None:
    g = graph_factory((3.0, 3.0, 0.0))
    fut = g.send(27.0, 3.0)
    g.wait_moving(1.2)
    t_call = g.world.t  # simulated time, as every time below
    resp = g.call_estop(True, "op-kim", "crowd at the gate")  # no envelope at all
    assert resp.success and "op-kim" in resp.message
    assert resp.message.endswith("[sender: unverified 'op-kim' (unsigned)]")
    w = g.world
    wait_for(lambda: w.cmds[-1][1] == 0.0 and w.cmds[-1][0] > t_call, 2.0, "zero cmd_vel")
    first_zero = next(t for t, v, _ in w.cmds if t > t_call and v == 0.0)
    assert first_zero - t_call <= 1.0
    res = result_of(fut, 5.0)
    assert (res.code, res.cause) == (_R.CODE_FAILED, _R.CAUSE_SAFETY_STOP)
    assert res.reason.startswith("e-stop")
    wait_for(lambda: w.estopped and w.estopped[-1] is True, 5.0, "estopped latched true")
    # A goal while stopped is refused, and nothing moves for 15 more control ticks.
    refusal = result_of(g.send(10.0, 3.0), 5.0)
    assert (refusal.code, refusal.cause) == (_R.CODE_REJECTED, _R.CAUSE_SAFETY_STOP)
    n = len(w.cmds)
    wait_for(lambda: len(w.cmds) >= n + 15, 5.0, "15 more cmd_vel")
    assert all(v == 0.0 and om == 0.0 for t, v, om in w.cmds if t >= first_zero)
    # Leaving it: not unsigned, not signed by another key, not a fleet e-stop envelope
    # reused as a resume, and not without a name; only the fleet's resume.
    stranger = FleetKey(tmp_path / "stranger")
    fleet_estop = FLEET.sign("estop", "r1", SetEStop.Request(
        engage=True, robot_id="r1", operator_name="op-kim", reason="crowd gone"))
    reused = SetEStop.Request(engage=False, robot_id="r1", operator_name="op-kim",
                              reason="crowd gone", envelope=fleet_estop.envelope)
    for who, key, why in (("op-kim", None, "no signed envelope"),
                          ("op-kim", stranger, "signature does not match"),
                          ("", FLEET, "operator_name")):
        refused = g.call_estop(False, who, "crowd gone", signed_by=key)
        assert not refused.success and why in refused.message, refused.message
    fut = g.world.estop.call_async(reused)
    wait_for(fut.done, 5.0, "estop response")
    assert not fut.result().success and "envelope is for estop" in fut.result().message
    assert g.navigator.estop.engaged and w.estopped[-1] is True
    assert g.call_estop(False, "op-kim", "crowd gone", signed_by=FLEET).success
    wait_for(lambda: w.estopped[-1] is False, 5.0, "estopped latched false")
    g.send(10.0, 3.0)
    g.wait_moving(0.3)


def test_own_closed_edges_count_only_when_signed_with_the_robots_onboard_key(
        graph_factory: Any) -> None:
    g = graph_factory((3.0, 3.0, 0.0))
    pub = g.world.create_publisher(ClosedEdges, "closed_edges", LATCHED_QOS)  # /r1/closed_edges
    wait_for(lambda: pub.get_subscription_count() > 0, 5.0, "navigator on closed_edges")
    onboard = onboard_signer(g.state_dir)  # the robot's key: its anomaly monitor's
    stranger = onboard_signer(tempfile.mkdtemp(prefix="dp-other-robot-"))

    def signed(by: Any, edges: list[int], target: str = "r1") -> ClosedEdges:
        msg = ClosedEdges(edges=edges)
        msg.envelope = by.sign("close_edges", target, message_fields(msg), time.time())
        return msg

    pub.publish(signed(onboard, [4, 5]))
    wait_for(lambda: g.navigator.core.closed_edges == {4, 5}, 5.0, "the monitor's set applied")
    old = signed(onboard, [6])
    for bad in (ClosedEdges(edges=[1]), signed(stranger, [2]), signed(onboard, [3], "r2")):
        pub.publish(bad)  # unsigned, another robot's key, for another robot
        time.sleep(0.5)  # nothing to wait for: a message that must not change anything
        assert g.navigator.core.closed_edges == {4, 5}
    pub.publish(signed(onboard, [7]))
    wait_for(lambda: g.navigator.core.closed_edges == {7}, 5.0, "a newer set applied")
    pub.publish(old)  # issued before the set in force: ignored
    time.sleep(0.5)
    assert g.navigator.core.closed_edges == {7}


def test_lost_heartbeat_stops_after_timeout(graph_factory: Any) -> None:
    g = graph_factory((3.0, 3.0, 0.0), heartbeat_timeout_s=1.0)
    w = g.world
    w.beating = True
    n = len(w.cmds)
    wait_for(lambda: len(w.cmds) > n + 15, 5.0, "control ticks with heartbeats")
    fut = g.send(27.0, 3.0)
    g.wait_moving(0.8)
    w.beating = False
    t_lost = w.t
    res = result_of(fut, 5.0)
    assert (res.code, res.cause) == (_R.CODE_FAILED, _R.CAUSE_SAFETY_STOP)
    assert res.reason.startswith("watchdog")
    assert w.cmds[-1][1] == 0.0
    stopped = next(t for t, v, _ in w.cmds if t > t_lost and v == 0.0)
    # the 1 s timeout counts from the last beat (0-0.2 s before), plus a 0.1 s control tick
    assert 0.75 <= stopped - t_lost <= 1.35


def test_lost_localization_holds_the_goal_then_resumes_or_fails(graph_factory: Any) -> None:
    g = graph_factory((3.0, 3.0, 0.0), as_localization=True, localization_lost_timeout_s=3.0)
    w = g.world
    fut = g.send(27.0, 3.0)
    g.wait_moving(0.8)
    w.health, t_lost = "LOST", w.t
    wait_for(lambda: w.cmds[-1][0] > t_lost + 1.5, 30.0, "1.5 s of LOST")
    # standing still from the first tick after the LOST report (0.2 s apart) on
    assert all(v == 0.0 for t, v, _ in w.cmds if t > t_lost + 0.5)
    assert not fut.done()  # the goal waits
    w.health = "OK"
    g.wait_moving(0.8)  # replanned from where it stood, and driving again
    w.health, t_lost = "LOST", w.t
    res = result_of(fut, 30.0)
    assert (res.code, res.cause) == (_R.CODE_FAILED, _R.CAUSE_LOCALIZATION_LOST)
    assert res.reason.startswith("localization lost for 3")
    assert 3.0 <= w.t - t_lost <= 4.5  # the 3 s timeout, a tick and the result's way back


def test_bad_parameter_exits_2_with_one_line() -> None:
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "dawnpatrol_robot.navigator_node", "--ros-args",
         "-p", f"map_dir:={REPO / 'maps' / 'test_yard'}", "-p", "control_rate_hz:=0.0"],
        capture_output=True, text=True, timeout=30, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == ["navigator: parameter 'control_rate_hz': got 0.0, expected 1 to 50 Hz"]
