"""The ``navigator`` node: the ``navigate`` action, cmd_vel through the speed governor, e-stop.

A thin wrapper around ``dawnpatrol_core.control.navigator.NavigatorCore``. Rejected goals are
accepted at the action level and finish at once with ``CODE_REJECTED``, the cause and the reason,
so clients always read why. E-stop, a lost fleet heartbeat and closed operating hours zero
cmd_vel on the next control tick and end the active goal with ``CODE_FAILED`` and
``CAUSE_SAFETY_STOP``; the mission layer re-sends it after a resume. The goal supervision
(waypoints, pose timeout, latency compensation, localization gate) is
``dawnpatrol_core.control.goal_runner``.

Security (docs/security.md): any e-stop engages the latch at once, signed or not; who sent it is
identified afterwards, for the log. Leaving it needs a resume signed by the fleet (which asks
for a supervisor's signature first); the fleet's closed edges are applied only when signed by
the fleet and newer than the set in force. The replay window lives in ``state_dir``.
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, Twist, Vector3
from nav_msgs.msg import Odometry, Path
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionServer, CancelResponse
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Bool, Header

from dawnpatrol_core.control.causes import REACHED, NavCause, NavResult
from dawnpatrol_core.control.goal_runner import DriveTick, GoalRunner
from dawnpatrol_core.control.navigator import scan_in_base_frame
from dawnpatrol_core.control.navigator_params import SPECS, NavigatorParams
from dawnpatrol_core.errors import SafetyError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.safety.estop import EStop
from dawnpatrol_core.safety.localization_gate import LocalizationGate
from dawnpatrol_core.safety.watchdog import HeartbeatWatchdog
from dawnpatrol_core.security.roles import Command as Sec
from dawnpatrol_interfaces.action import Navigate
from dawnpatrol_interfaces.msg import ClosedEdges
from dawnpatrol_interfaces.srv import SetEStop
from dawnpatrol_robot.throttle import Throttle
from dawnpatrol_ros.codecs import nav_result_to_msg
from dawnpatrol_ros.convert import msg_to_pose2d, pose2d_to_msg, scan_arrays, time_to_seconds
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from dawnpatrol_ros.signing import RobotGate, message_fields

_R = Navigate.Result
_STATUS = {"active": "following", "waiting": "waiting_for_people", "recovering": "recovering"}


@dataclass
class _Goal:
    """The action goal being executed; the execute coroutine awaits ``done``."""

    handle: Any
    done: Future = field(default_factory=Future)
    code: int = _R.CODE_FAILED
    result: NavResult = REACHED


def read_params(node: Node) -> NavigatorParams:
    """Declare every parameter with its description and return the validated values."""
    for name, f in NavigatorParams.__dataclass_fields__.items():
        node.declare_parameter(name, f.default, ParameterDescriptor(
            description=SPECS[name][0], dynamic_typing=True))
    return NavigatorParams.from_params(
        {name: node.get_parameter(name).value for name in SPECS})


class NavigatorNode(DawnPatrolNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("navigator", **kwargs)
        p = read_params(self)
        self._robot_id = p.robot_id or self.get_namespace().strip("/") or "r0"
        state_dir = p.state_dir or f"~/.local/state/dawnpatrol/{self._robot_id}"
        self._auth = RobotGate(p.fleet_public_key, state_dir)
        self._onboard = RobotGate("", state_dir, onboard=True)  # this robot's own monitor
        self._closed_issued: dict[str, float] = {}  # topic -> issue time (wall s) in force
        self._map = dm = load_district_map(p.map_dir)
        timeout = p.heartbeat_timeout_s
        self.estop = EStop()
        self.governor = p.governor(dm, self.estop,
                                   HeartbeatWatchdog(timeout, self._now()) if timeout > 0 else None)
        self.core = p.navigator(dm, self.governor)
        self.runner = GoalRunner(self.core, LocalizationGate(p.localization_lost_timeout_s),
                                 p.pose_timeout_s)
        self._feedback = Throttle(p.feedback_period_s)
        self._scan_dx = p.scan_offset_x
        self._lock = threading.Lock()
        self._goal: _Goal | None = None
        self._scan: tuple[Any, Any] | None = None
        self._scan_t = -math.inf
        self._closed: dict[str, set[int]] = {}
        self._last_path: Any = None
        self._n_events = 0
        self._estopped: bool | None = None

        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", RELIABLE_QOS)
        self._plan_pub = self.create_publisher(Path, "plan", LATCHED_QOS)
        self._estop_pub = self.create_publisher(Bool, "estopped", LATCHED_QOS)
        ground_truth = p.pose_source == "ground_truth"
        topic = p.pose_topic or ("ground_truth" if ground_truth else "pose")
        self.create_subscription(Odometry if ground_truth else PoseWithCovarianceStamped, topic,
                                 self._on_pose, RELIABLE_QOS)
        if not ground_truth:
            self.create_subscription(DiagnosticStatus, "localization/health", self._on_health,
                                     LATCHED_QOS)
        self.create_subscription(LaserScan, "scan", self._on_scan, SENSOR_QOS)
        self.create_subscription(Header, "/fleet/heartbeat", self._on_heartbeat, RELIABLE_QOS)
        # Simulator fault injection: while the operator link is down no heartbeat reaches us.
        self._link_up = True
        self.create_subscription(Bool, "sim/link_up", self._on_link, LATCHED_QOS)
        self.create_subscription(ClosedEdges, "/fleet/closed_edges",
                                 lambda m: self._on_signed_closed(self._auth, "*", m),
                                 LATCHED_QOS)
        self.create_subscription(ClosedEdges, "closed_edges",  # this robot's own monitor
                                 lambda m: self._on_signed_closed(self._onboard,
                                                                  self._robot_id, m),
                                 LATCHED_QOS)
        self.create_service(SetEStop, "estop", self._on_estop)
        self._server = ActionServer(
            self, Navigate, "navigate", execute_callback=self._execute,
            cancel_callback=lambda _: CancelResponse.ACCEPT)
        self.create_timer(p.period, self._tick)
        self._publish_estopped()
        self.get_logger().info(f"navigator for {self._robot_id} on map {dm.name}, pose from "
                               f"{topic}")

    # -- inputs ----------------------------------------------------------------------------
    def _on_pose(self, msg: Any) -> None:
        with self._lock:
            self.runner.pose_in(msg_to_pose2d(msg.pose.pose), time_to_seconds(msg.header.stamp),
                                self._now())

    def _on_scan(self, msg: LaserScan) -> None:
        self._scan, self._scan_t = scan_in_base_frame(*scan_arrays(msg), self._scan_dx), self._now()

    def _on_health(self, msg: DiagnosticStatus) -> None:
        lost = msg.message.strip().upper() == "LOST"
        with self._lock:
            if self.runner.health_in(self._now(), lost):
                self.get_logger().warning("localization LOST: standing still" if lost else
                                          "localization recovered")

    def _on_link(self, msg: Bool) -> None:
        self._link_up = bool(msg.data)

    def _on_heartbeat(self, _msg: Header) -> None:
        if self._link_up and self.governor.watchdog is not None:
            self.governor.watchdog.beat(self._now())

    def _on_signed_closed(self, gate: RobotGate, target: str, msg: ClosedEdges) -> None:
        # The fleet's set (target '*', its key) or this robot's monitor's (its onboard key).
        # Re-sent (re-signed) every few seconds: checked without spending the nonce, applied
        # only when newer than the set in force from the same source.
        topic = "/fleet/closed_edges" if target == "*" else "closed_edges"
        v = gate.check(Sec.CLOSE_EDGES, target, message_fields(msg), msg.envelope,
                       consume=False)
        if not v.ok or v.envelope is None:
            self.get_logger().warning(f"{topic}: {v.reason}")
            return
        if v.envelope.issued_at <= self._closed_issued.get(topic, -math.inf):
            return
        self._closed_issued[topic] = v.envelope.issued_at
        self._on_closed(topic, msg.edges)

    def _on_closed(self, topic: str, data: Any) -> None:
        edges = {int(e) for e in data}
        with self._lock:
            if self._closed.get(topic) == edges:
                return
            self._closed[topic] = edges
            self.core.closed_edges = set().union(*self._closed.values())
        self.get_logger().info(f"closed edges from {topic}: {sorted(edges)}")

    def _on_estop(self, req: SetEStop.Request, resp: SetEStop.Response) -> SetEStop.Response:
        if req.robot_id not in ("", "*", self._robot_id):
            resp.success = False
            resp.message = f"this is robot {self._robot_id}, not {req.robot_id}"
            return resp
        if req.engage:  # stop first, whoever asks; identify the sender afterwards
            with self._lock:
                now = self._now()
                self.estop.trigger(now, req.operator_name, req.reason)
                self._stop_now()
                self._end_goal(_R.CODE_FAILED, self.runner.end(
                    now, NavResult(NavCause.SAFETY_STOP, self.estop.reason)))
                self._publish_estopped()
                resp.success, resp.message = True, self.estop.reason
            who = self._auth.identify_estop(self._robot_id, message_fields(req), req.envelope)
            resp.message += f" [sender: {who}]"
            self.get_logger().warning(f"estop service: {resp.message}")
            return resp
        verdict = self._auth.check(Sec.RESUME, self._robot_id, message_fields(req),
                                   req.envelope)
        with self._lock:
            now = self._now()
            if not verdict.ok:  # the latch stays engaged
                resp.success, resp.message = False, verdict.reason
            elif not req.operator_name.strip():
                resp.success = False
                resp.message = ("resume refused: field 'operator_name': got '', expected who "
                                "releases the e-stop")
            else:
                try:
                    self.estop.resume(now, req.operator_name, req.reason or "resumed")
                    resp.success, resp.message = True, f"resumed by {req.operator_name}"
                except SafetyError as exc:
                    resp.success, resp.message = False, str(exc)
            self._publish_estopped()
        self.get_logger().warning(f"estop service: {resp.message}")
        return resp

    # -- the action ------------------------------------------------------------------------
    async def _execute(self, handle: Any) -> Navigate.Result:
        """Start the goal (or refuse it with a cause and reason), then await the control loop's
        verdict: a coroutine, so one executor thread serves the loop and the action alike."""
        req = handle.request
        goals = [msg_to_pose2d(m.pose) for m in (req.waypoints or [req.pose])]
        frames = {m.header.frame_id for m in (req.waypoints or [req.pose])} - {"", "map"}
        g = _Goal(handle)
        with self._lock:
            now = self._now()
            self._end_goal(_R.CODE_CANCELED, self.runner.end(
                now, NavResult(NavCause.CANCELED, "preempted by a new goal")))
            refused = (NavResult(NavCause.REJECTED, f"goal frame {sorted(frames)}, expected 'map'")
                       if frames else self.runner.start(now, goals))
            if refused is not None:
                g.code, g.result = _R.CODE_REJECTED, refused
                self.get_logger().warning(f"goal rejected ({refused.cause.value}): "
                                          f"{refused.reason}")
            else:
                self._goal = g
        if refused is None:
            await g.done
        if g.code == _R.CODE_SUCCEEDED:
            handle.succeed()
        elif g.code == _R.CODE_CANCELED and handle.is_cancel_requested:
            handle.canceled()
        else:
            handle.abort()
        return nav_result_to_msg(g.result, g.code)

    def _end_goal(self, code: int, result: NavResult | None) -> None:
        """Hand a goal's end (``result`` None: no goal ended) to the action with ``code``;
        caller holds the lock."""
        g = self._goal
        if g is None or result is None:
            return
        self._goal = None
        g.code, g.result = code, result
        g.done.set_result(code)
        self.get_logger().info(f"goal finished ({code}, {result.cause.value}): {result.reason}")

    # -- control loop ----------------------------------------------------------------------
    def _tick(self) -> None:
        with self._lock:
            now = self._now()
            self._publish_estopped()
            g = self._goal
            if g is not None and g.handle.is_cancel_requested:
                self._end_goal(_R.CODE_CANCELED, self.runner.end(
                    now, NavResult(NavCause.CANCELED, "canceled")))
            scan = self._scan if now - self._scan_t < 0.5 else None
            t = self.runner.tick(now, scan)
            self._cmd_pub.publish(Twist(linear=_vec(t.v), angular=_vec(0.0, t.w)))
            if t.result is not None:
                self._end_goal(_code(t.result), t.result)
            if t.command is not None:
                self._log_events()
                self._publish_plan()
            self._send_feedback(now, t)

    def _send_feedback(self, now: float, t: DriveTick) -> None:
        g, pose = self._goal, self.runner.pose
        if g is None or pose is None or t.result is not None:
            return
        limit = float(self._map.speed_limit_at(pose.x, pose.y))
        if t.held:
            g.handle.publish_feedback(Navigate.Feedback(
                distance_remaining_m=0.0, eta_s=0.0, status="localization_lost",
                speed_limit=limit, current_pose=pose2d_to_msg(pose)))
        elif t.command is not None and self._feedback.due(now, (id(g), t.command.status)):
            cmd = t.command
            g.handle.publish_feedback(Navigate.Feedback(
                distance_remaining_m=float(cmd.distance_left), eta_s=float(cmd.eta),
                speed_limit=limit, status=_STATUS.get(cmd.status, cmd.status),
                current_pose=pose2d_to_msg(pose)))

    # -- outputs ---------------------------------------------------------------------------
    def _stop_now(self) -> None:
        self.runner.stop()
        self._cmd_pub.publish(Twist())

    def _publish_estopped(self) -> None:
        if self.estop.engaged != self._estopped:
            self._estopped = self.estop.engaged
            self._estop_pub.publish(Bool(data=self._estopped))

    def _publish_plan(self) -> None:
        path = self.core.path
        if len(path) == 0 or path is self._last_path:
            return
        self._last_path = path
        msg = Path()
        msg.header.stamp, msg.header.frame_id = self.get_clock().now().to_msg(), "map"
        for x, y in path:
            ps = PoseStamped(pose=pose2d_to_msg(Pose2D(float(x), float(y))))
            ps.header = msg.header
            msg.poses.append(ps)
        self._plan_pub.publish(msg)

    def _log_events(self) -> None:
        for t, text in self.core.events[self._n_events:]:
            # rclpy forbids changing the severity at one call site: two call sites.
            if "block" in text:
                self.get_logger().warning(f"[{t:.1f}] {text}")
            else:
                self.get_logger().info(f"[{t:.1f}] {text}")
        self._n_events = len(self.core.events)

    def _now(self) -> float:
        return float(self.get_clock().now().nanoseconds) * 1e-9

    def close(self) -> None:
        self._auth.close()
        self._onboard.close()


def _code(result: NavResult) -> int:
    """The action's result code of a goal's end."""
    if result.ok:
        return int(_R.CODE_SUCCEEDED)
    return int(_R.CODE_CANCELED if result.cause is NavCause.CANCELED else _R.CODE_FAILED)


def _vec(x: float, z: float = 0.0) -> Vector3:
    return Vector3(x=float(x), y=0.0, z=float(z))


def main(args: list[str] | None = None) -> int:
    return run_node("navigator", NavigatorNode, args)


if __name__ == "__main__":
    sys.exit(main())
