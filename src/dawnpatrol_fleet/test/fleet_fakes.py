"""Test doubles for the fleet manager's ROS tests: a fake robot (status, mission action, e-stop,
anomalies, /clock) in-process, the fleet manager as a killable subprocess, and operators with
keys registered in its data directory (as `dawnpatrol keys new` + `keys add` make them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rclpy
from rclpy.action import ActionServer, CancelResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.task import Future
from rosgraph_msgs.msg import Clock

from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_interfaces.action import Mission
from dawnpatrol_interfaces.msg import Anomaly, AnomalyAck, MissionEvent, RobotStatus
from dawnpatrol_interfaces.srv import CancelMission, SetEStop
from dawnpatrol_ros.convert import pose2d_to_msg, seconds_to_time
from dawnpatrol_ros.qos import ALERT_QOS, LATCHED_QOS, RELIABLE_QOS

REPO = Path(__file__).resolve().parents[3]
SUWON = REPO / "maps" / "suwon_dawn"
SIM_T0 = 7000.0  # 01:56:40 on the shift day: orders for 02:10 onwards are in the future


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class FakeRobot:
    """Robot ``rid`` at the depot: publishes status and /clock, serves mission and e-stop, and
    records what the fleet sends. ``mission_delay_s`` keeps a mission running that long."""

    def __init__(self, rid: str = "r1", clock: bool = True, mission_delay_s: float = 0.0) -> None:
        self.rid = rid
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = Node(f"fake_{rid}", context=self.context)
        group = self._group = ReentrantCallbackGroup()
        self._running: dict[str, Future] = {}  # mission id -> done (delayed missions)
        self.goals: list[Any] = []
        self.estops: list[Any] = []
        self.acks: list[AnomalyAck] = []
        self.alerts: list[Anomaly] = []
        self.mission_delay_s = mission_delay_s
        self._t0 = time.monotonic()
        self.status_pub = self.node.create_publisher(RobotStatus, f"/{rid}/status", LATCHED_QOS)
        self.event_pub = self.node.create_publisher(
            MissionEvent, f"/{rid}/mission_events", RELIABLE_QOS)
        self.anomaly_pub = self.node.create_publisher(Anomaly, f"/{rid}/anomalies", ALERT_QOS)
        self.clock_pub = self.node.create_publisher(Clock, "/clock", 10)
        self.node.create_subscription(AnomalyAck, "/fleet/anomaly_acks", self.acks.append,
                                      RELIABLE_QOS)
        self.node.create_subscription(Anomaly, "/fleet/anomalies", self.alerts.append, ALERT_QOS)
        self.node.create_service(SetEStop, f"/{rid}/estop", self._estop, callback_group=group)
        self.cancels: list[Any] = []  # the fleet's (signed) cancel_mission requests
        self.node.create_service(CancelMission, f"/{rid}/cancel_mission", self._cancel,
                                 callback_group=group)
        ActionServer(self.node, Mission, f"/{rid}/mission", self._execute, callback_group=group,
                     cancel_callback=lambda _: CancelResponse.REJECT)  # as the mission node
        self.estopped = False
        if clock:
            self.node.create_timer(0.05, self._tick_clock, callback_group=group)
        self.node.create_timer(0.3, self.publish_status, callback_group=group)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def now(self) -> float:
        return SIM_T0 + time.monotonic() - self._t0

    def _tick_clock(self) -> None:
        self.clock_pub.publish(Clock(clock=seconds_to_time(self.now())))

    def publish_status(self) -> None:
        m = RobotStatus(robot_id=self.rid, mode=6 if self.estopped else 0, battery_percent=90.0,
                        estopped=self.estopped, eta_s=float("nan"), latitude=float("nan"),
                        longitude=float("nan"))
        m.header.stamp = seconds_to_time(self.now())
        m.pose = pose2d_to_msg(Pose2D(70.0, 6.5, 1.57))
        self.status_pub.publish(m)

    def _estop(self, req: SetEStop.Request, res: SetEStop.Response) -> SetEStop.Response:
        self.estops.append(req)
        self.estopped = req.engage
        res.success, res.message = True, "stopped" if req.engage else "resumed"
        return res

    def _cancel(self, req: CancelMission.Request,
                res: CancelMission.Response) -> CancelMission.Response:
        self.cancels.append(req)
        running = self._running.get(req.mission_id)
        if running is not None and not running.done():
            running.set_result(True)
        res.success = True
        return res

    def _cancelled(self, goal: Any) -> bool:
        return any(c.mission_id == goal.mission_id for c in self.cancels)

    async def _execute(self, handle: Any) -> Mission.Result:
        goal = handle.request
        self.goals.append(goal)
        if self.mission_delay_s > 0:  # awaited, not slept: the executor serves calls meanwhile
            done = self._running[goal.mission_id] = Future()
            timer = self.node.create_timer(self.mission_delay_s,
                                           lambda: done.done() or done.set_result(True),
                                           callback_group=self._group)
            await done
            self.node.destroy_timer(timer)
        done = []
        for task in goal.tasks:
            if task.kind == "deliver":
                ev = MissionEvent(robot_id=self.rid, mission_id=goal.mission_id,
                                  task_id=task.id, task_kind="deliver", event="handed_over",
                                  method=task.stop.handover_method)
                ev.header.stamp = seconds_to_time(self.now())
                ev.position.x, ev.position.y = task.pose.position.x, task.pose.position.y
                self.event_pub.publish(ev)
            done.append(task.id)
        if self._cancelled(goal):
            handle.abort()
            return Mission.Result(success=False, message="canceled")
        handle.succeed()
        return Mission.Result(success=True, completed_ids=done)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def anomaly(uuid: str, kind: str = "loitering", count: int = 1, x: float = 30.0,
            rid: str = "r1") -> Anomaly:
    m = Anomaly(uuid=uuid, robot_id=rid, kind=kind, severity=1, zone="watch_park",
                confidence=0.9, count=count, description="person lingering",
                latitude=float("nan"), longitude=float("nan"),
                first_seen=seconds_to_time(7100.0), last_seen=seconds_to_time(7100.0 + count),
                evidence='{"track": [[7100.0, 30.0, 40.0]], "scan": []}')
    m.position.x, m.position.y = x, 40.0
    return m


class FleetProcess:
    """``fleet_manager`` as a subprocess on sim time (the fake robot publishes /clock)."""

    def __init__(self, data_dir: Path, robots: str = "[r1]", **params: str) -> None:
        self.args = [sys.executable, "-m", "dawnpatrol_fleet.fleet_manager_node", "--ros-args",
                     "-p", f"map_dir:={SUWON}", "-p", f"data_dir:={data_dir}",
                     "-p", f"robot_ids:={robots}", "-p", "use_sim_time:=true",
                     "-p", "solver_time_limit_s:=1.0", "-p", "stale_after_s:=2.0"]
        for k, v in params.items():
            self.args += ["-p", f"{k}:={v}"]
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=REPO, env=dict(os.environ))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        assert self.proc.stdout is not None
        return self.proc.stdout.read().decode("utf-8", "replace")


class ServiceCaller:
    """Synchronous service calls from the test through the fake robot's executor."""

    def __init__(self, robot: FakeRobot) -> None:
        self.node = robot.node
        self.ops: Operators  # set by tests that sign their requests

    def call(self, srv: Any, name: str, request: Any, timeout: float = 15.0,
             attempt_s: float = 4.0, sign: Callable[[Any], Any] | None = None) -> Any:
        """Call ``name``; re-send every ``attempt_s`` s (a killed server's endpoint may linger
        in discovery and swallow a request) until ``timeout`` s. ``sign``: signs the request
        afresh before each attempt (a re-sent envelope would be a replay)."""
        client = self.node.create_client(srv, name)
        try:
            deadline = time.monotonic() + timeout
            while True:
                wait_for(client.service_is_ready, max(0.1, deadline - time.monotonic()),
                         f"service {name}")
                fut = client.call_async(sign(request) if sign is not None else request)
                try:
                    wait_for(fut.done, min(attempt_s, max(0.1, deadline - time.monotonic())),
                             f"answer from {name}")
                    return fut.result()
                except AssertionError:
                    client.remove_pending_request(fut)
                    if time.monotonic() >= deadline:
                        raise
        finally:
            self.node.destroy_client(client)


class Operators:
    """Operator keys in ``key_dir``, registered with their roles in the fleet's ``data_dir``;
    :meth:`signer` gives the ``sign`` argument of :meth:`ServiceCaller.call`."""

    def __init__(self, data_dir: Path, key_dir: Path, roles: dict[str, str]) -> None:
        from dawnpatrol_core.security.enroll import enroll_operator
        from dawnpatrol_core.security.roles import parse_role

        self.signers = {name: enroll_operator(name, parse_role(role), key_dir, data_dir,
                                              time.time(), by="test")
                        for name, role in roles.items()}

    def sign(self, name: str, command: str, request: Any, target: str = "fleet",
             now: float | None = None, lifetime_s: float = 10.0) -> Any:
        """``request`` with ``name``'s envelope for ``command`` on ``target``."""
        from dawnpatrol_core.security.envelope import envelope_to_text, new_nonce, signed_args
        from dawnpatrol_core.security.roles import parse_command
        from dawnpatrol_ros.signing import message_fields

        cmd = parse_command(command)
        env = self.signers[name].sign(cmd, target, signed_args(cmd, message_fields(request)),
                                      time.time() if now is None else now, new_nonce(),
                                      lifetime_s)
        request.envelope = envelope_to_text(env)
        return request

    def signer(self, name: str, command: str, target: str = "fleet") -> Callable[[Any], Any]:
        return lambda req: self.sign(name, command, req, target)
