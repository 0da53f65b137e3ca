"""The ``navigator`` node: the ``navigate`` action, cmd_vel through the speed governor, e-stop.

A thin wrapper around ``dawnpatrol_core.control.navigator.NavigatorCore``. Rejected goals are
accepted at the action level and finish at once with ``CODE_REJECTED`` and the reason, so clients
always read why. E-stop, a lost fleet heartbeat and closed operating hours zero cmd_vel on the
next control tick and end the active goal with ``CODE_FAILED`` (reason starts ``e-stop``,
``watchdog`` or ``out of operating hours``); the mission layer re-sends it after a resume.

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

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, Twist, Vector3
from nav_msgs.msg import Odometry, Path
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionServer, CancelResponse
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Bool, Header, Int32MultiArray

from dawnpatrol_core.control.moving import EvadeConfig
from dawnpatrol_core.control.navigator import NavigatorConfig, NavigatorCore
from dawnpatrol_core.control.obstacles import ObstacleConfig
from dawnpatrol_core.control.path_follower import FollowerConfig
from dawnpatrol_core.errors import ConfigError, SafetyError
from dawnpatrol_core.geometry import Pose2D, drive_arc
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.planning.grid_planner import GridPlanner, GridPlannerConfig
from dawnpatrol_core.planning.route_search import RoutePlanner, RouteSearchConfig
from dawnpatrol_core.safety.estop import EStop
from dawnpatrol_core.safety.governor import GovernorConfig, SpeedGovernor
from dawnpatrol_core.safety.localization_gate import Gate, LocalizationGate
from dawnpatrol_core.safety.operating_hours import OperatingHours
from dawnpatrol_core.safety.watchdog import HeartbeatWatchdog
from dawnpatrol_core.security.roles import Command as Sec
from dawnpatrol_interfaces.action import Navigate
from dawnpatrol_interfaces.msg import ClosedEdges
from dawnpatrol_interfaces.srv import SetEStop
from dawnpatrol_robot.throttle import Throttle
from dawnpatrol_ros.convert import msg_to_pose2d, pose2d_to_msg, scan_arrays, time_to_seconds
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from dawnpatrol_ros.signing import RobotGate, message_fields

_R = Navigate.Result
_POS = "a number > 0"
# name -> (default, description, check, expected)
_PARAMS: dict[str, tuple[Any, str, Any, str]] = {
    "robot_id": ("", "robot id for logs; '' = the node's namespace", lambda v: isinstance(v, str),
                 "a string"),
    "fleet_public_key": ("", "the fleet's public key file (fleet.pub in its data directory): "
                         "resumes and the fleet's closed edges must be signed by it; '' = "
                         "refuse them (e-stops always work)", lambda v: isinstance(v, str),
                         "a file path or ''"),
    "state_dir": ("", "replay window of signed commands (kept across restarts); '' = "
                  "~/.local/state/dawnpatrol/<robot_id>", lambda v: isinstance(v, str),
                  "a directory path or ''"),
    "map_dir": ("", "district map directory (map.yaml, routes.geojson, zones.geojson, ...)",
                lambda v: isinstance(v, str) and v != "", "a map directory path"),
    "control_rate_hz": (10.0, "control loop rate, Hz (1 to 50)", lambda v: 1 <= float(v) <= 50,
                        "1 to 50 Hz"),
    "max_speed": (1.5, "robot top speed, m/s (at most 4.17 = 15 km/h)",
                  lambda v: 0 < float(v) <= 4.17, "0 < m/s <= 4.17"),
    "max_angular": (1.2, "top yaw rate, rad/s", lambda v: float(v) > 0, _POS),
    "max_accel": (1.0, "acceleration limit, m/s^2", lambda v: float(v) > 0, _POS),
    "max_decel": (1.5, "normal deceleration, m/s^2 (zone slow-downs)", lambda v: float(v) > 0,
                  _POS),
    "stop_decel": (2.0, "deceleration of forced stops by the governor, m/s^2",
                   lambda v: float(v) > 0, _POS),
    "heartbeat_timeout_s": (3.0, "s without /fleet/heartbeat before stopping; 0 disables",
                            lambda v: float(v) >= 0, "a number >= 0 (0 disables)"),
    "operating_hours": ("", "daily window 'HH:MM-HH:MM' in local time; '' = always",
                        lambda v: isinstance(v, str), "'HH:MM-HH:MM' or ''"),
    "utc_offset_s": (32400.0, "local time minus clock time, s (Korea: 32400)",
                     lambda v: abs(float(v)) <= 86400, "|s| <= 86400"),
    "pose_source": ("localization", "localization (PoseWithCovarianceStamped) | ground_truth "
                    "(Odometry)", lambda v: v in ("localization", "ground_truth"),
                    "localization or ground_truth"),
    "pose_topic": ("", "pose topic; '' = 'pose' (localization) or 'ground_truth'",
                   lambda v: isinstance(v, str), "a topic name or ''"),
    "pose_timeout_s": (1.0, "s after which a silent pose source stops the robot",
                       lambda v: float(v) > 0, _POS),
    "scan_offset_x": (0.3, "m the lidar sits ahead of the base centre", lambda v: abs(float(v)) < 2,
                      "|m| < 2"),
    "goal_tolerance": (0.25, "m from the goal counted as arrived", lambda v: float(v) > 0, _POS),
    "localization_lost_timeout_s": (60.0, "s a goal waits, standing still, for LOST "
                                   "localization to recover before it fails",
                                   lambda v: float(v) > 0, _POS),
    "feedback_period_s": (0.5, "s between navigate feedback messages (a status change is sent "
                         "at once)", lambda v: float(v) >= 0, "a number >= 0"),
    "wait_timeout_s": (8.0, "s to wait for people/obstacles before detouring",
                       lambda v: float(v) > 0, _POS),
    "crosswalk_penalty_s": (15.0, "s added per crosswalk edge in route search",
                            lambda v: float(v) >= 0, "a number >= 0"),
    "robot_radius": (0.4, "m, grid planner inflation", lambda v: float(v) > 0, _POS),
    "footprint_length": (1.0, "m, for the obstacle stop zone", lambda v: float(v) > 0, _POS),
    "footprint_width": (0.6, "m, for the obstacle stop zone", lambda v: float(v) > 0, _POS),
    "stop_margin": (0.4, "m of clearance ahead that stops the robot", lambda v: float(v) >= 0,
                    "a number >= 0"),
    "obstacle_decel": (0.55, "m/s^2 of braking assumed when capping the speed before an "
                       "obstacle (below max_decel: a margin for latency)",
                       lambda v: float(v) > 0, _POS),
    "slow_side_margin": (0.8, "m beside the path within which obstacles and people slow the "
                         "robot", lambda v: float(v) >= 0, "a number >= 0"),
    "zone_pose_margin": (0.5, "m the pose estimate may be off: zone speed limits are taken as "
                         "the lowest within it", lambda v: float(v) >= 0, "a number >= 0"),
    "predict_movers": (True, "track people and robots in the scan: stop short of where they are "
                       "about to be, step aside for those coming the other way",
                       lambda v: isinstance(v, bool), "true or false"),
    "pass_clearance": (0.95, "m between a person coming the other way and the robot's centre "
                       "when passing them", lambda v: float(v) > 0, _POS),
}
_STATUS = {"active": "following", "waiting": "waiting_for_people", "recovering": "recovering"}


@dataclass
class _Goal:
    """The goal being executed; the execute coroutine awaits ``done``."""

    handle: Any
    remaining: list[Pose2D]
    planned: bool = True  # False while waiting for localization to plan from
    done: Future = field(default_factory=Future)
    code: int = _R.CODE_FAILED
    reason: str = ""


def read_params(node: Node) -> dict[str, Any]:
    """Declare every parameter with its description and return the validated values."""
    for name, (default, text, _, _) in _PARAMS.items():
        node.declare_parameter(name, default, ParameterDescriptor(
            description=text, dynamic_typing=True))
    p = {name: node.get_parameter(name).value for name in _PARAMS}
    for name, (_, _, check, expected) in _PARAMS.items():
        try:
            ok = bool(check(p[name]))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"parameter '{name}': got {p[name]!r}, expected {expected}")
    return p


class NavigatorNode(DawnPatrolNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("navigator", **kwargs)
        p = read_params(self)
        self._robot_id = str(p["robot_id"] or self.get_namespace().strip("/") or "r0")
        self._auth = RobotGate(str(p["fleet_public_key"]), str(
            p["state_dir"] or f"~/.local/state/dawnpatrol/{self._robot_id}"))
        self._closed_issued = -math.inf  # issue time (wall s) of the fleet's set in force
        self._map = dm = load_district_map(str(p["map_dir"]))
        now = self._now()
        hours = None
        if p["operating_hours"]:
            start, _, end = str(p["operating_hours"]).partition("-")
            try:
                hours = OperatingHours.from_strings(start, end, float(p["utc_offset_s"]))
            except ConfigError:
                raise ConfigError(f"parameter 'operating_hours': got {p['operating_hours']!r}, "
                                  "expected 'HH:MM-HH:MM' or ''") from None
        timeout = float(p["heartbeat_timeout_s"])
        self.estop = EStop()
        gov_cfg = GovernorConfig(max_speed=float(p["max_speed"]),
                                 max_angular=float(p["max_angular"]),
                                 max_accel=float(p["max_accel"]), max_decel=float(p["max_decel"]),
                                 stop_decel=float(p["stop_decel"]),
                                 pose_margin=float(p["zone_pose_margin"]),
                                 period=1.0 / float(p["control_rate_hz"]))
        self.governor = SpeedGovernor(gov_cfg, dm, self.estop,
                                      HeartbeatWatchdog(timeout, now) if timeout > 0 else None,
                                      hours)
        cfg = NavigatorConfig(
            follower=FollowerConfig(max_speed=float(p["max_speed"]),
                                    max_angular=float(p["max_angular"]),
                                    goal_tolerance=float(p["goal_tolerance"])),
            obstacles=ObstacleConfig(length=float(p["footprint_length"]),
                                     width=float(p["footprint_width"]),
                                     stop_margin=float(p["stop_margin"]),
                                     decel=float(p["obstacle_decel"]),
                                     slow_side_margin=float(p["slow_side_margin"]),
                                     slow_max_speed=float(p["max_speed"])),
            wait_timeout=float(p["wait_timeout_s"]),
            predict_movers=bool(p["predict_movers"]),
            pass_clearance=float(p["pass_clearance"]),
            evade=EvadeConfig(accel=float(p["max_accel"]), decel=float(p["stop_decel"])))
        self.core = NavigatorCore(
            RoutePlanner(dm.graph, dm, RouteSearchConfig(float(p["crosswalk_penalty_s"]))),
            GridPlanner(dm.grid, GridPlannerConfig(robot_radius=float(p["robot_radius"]),
                                                   snap_radius=1.5)),
            dm, self.governor, cfg)
        self._gate = LocalizationGate(float(p["localization_lost_timeout_s"]))
        self._feedback = Throttle(float(p["feedback_period_s"]))
        self._scan_dx = float(p["scan_offset_x"])
        self._pose_timeout = float(p["pose_timeout_s"])
        self._lock = threading.Lock()
        self._goal: _Goal | None = None
        self._pose: Pose2D | None = None
        self._pose_t = -math.inf
        self._pose_stamp = -math.inf
        self._cmd = (0.0, 0.0)  # last (v, w) sent, for latency compensation
        self._scan: tuple[Any, Any] | None = None
        self._scan_t = -math.inf
        self._closed: dict[str, set[int]] = {}
        self._last_path: Any = None
        self._n_events = 0
        self._estopped: bool | None = None

        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", RELIABLE_QOS)
        self._plan_pub = self.create_publisher(Path, "plan", LATCHED_QOS)
        self._estop_pub = self.create_publisher(Bool, "estopped", LATCHED_QOS)
        ground_truth = p["pose_source"] == "ground_truth"
        topic = str(p["pose_topic"] or ("ground_truth" if ground_truth else "pose"))
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
        self.create_subscription(ClosedEdges, "/fleet/closed_edges", self._on_fleet_closed,
                                 LATCHED_QOS)
        self.create_subscription(Int32MultiArray, "closed_edges",  # this robot's own monitor
                                 lambda m: self._on_closed("closed_edges", m.data), LATCHED_QOS)
        self.create_service(SetEStop, "estop", self._on_estop)
        self._server = ActionServer(
            self, Navigate, "navigate", execute_callback=self._execute,
            cancel_callback=lambda _: CancelResponse.ACCEPT)
        self.create_timer(1.0 / float(p["control_rate_hz"]), self._tick)
        self._publish_estopped()
        self.get_logger().info(f"navigator for {self._robot_id} on map {dm.name}, pose from "
                               f"{topic}")

    # -- inputs ----------------------------------------------------------------------------
    def _on_pose(self, msg: Any) -> None:
        self._pose = msg_to_pose2d(msg.pose.pose)
        self._pose_t = self._now()
        self._pose_stamp = time_to_seconds(msg.header.stamp)

    def _on_scan(self, msg: LaserScan) -> None:
        r, a = scan_arrays(msg)
        if self._scan_dx:  # sensor frame -> robot frame
            x, y = r * np.cos(a) + self._scan_dx, r * np.sin(a)
            r, a = np.hypot(x, y), np.arctan2(y, x)
        self._scan, self._scan_t = (r, a), self._now()

    def _on_health(self, msg: DiagnosticStatus) -> None:
        lost = msg.message.strip().upper() == "LOST"
        if lost != self._gate.lost:
            self.get_logger().warning("localization LOST: standing still" if lost else
                                      "localization recovered")
        self._gate.update(self._now(), lost)

    def _on_link(self, msg: Bool) -> None:
        self._link_up = bool(msg.data)

    def _on_heartbeat(self, _msg: Header) -> None:
        if self._link_up and self.governor.watchdog is not None:
            self.governor.watchdog.beat(self._now())

    def _on_fleet_closed(self, msg: ClosedEdges) -> None:
        # Re-sent (re-signed) by the fleet every few seconds: checked without spending the
        # nonce, applied only when newer than the set in force.
        v = self._auth.check(Sec.CLOSE_EDGES, "*", message_fields(msg), msg.envelope,
                             consume=False)
        if not v.ok or v.envelope is None:
            self.get_logger().warning(v.reason)
            return
        if v.envelope.issued_at <= self._closed_issued:
            return
        self._closed_issued = v.envelope.issued_at
        self._on_closed("/fleet/closed_edges", msg.edges)

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
                self._end_goal(_R.CODE_FAILED, self.estop.reason, now)
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
        """Start the goal (or refuse it with a reason), then await the control loop's verdict:
        a coroutine, so one executor thread serves the loop and the action alike."""
        req = handle.request
        goals = [msg_to_pose2d(m.pose) for m in (req.waypoints or [req.pose])]
        frames = {m.header.frame_id for m in (req.waypoints or [req.pose])} - {"", "map"}
        g = _Goal(handle, goals)
        with self._lock:
            now = self._now()
            self._end_goal(_R.CODE_CANCELED, "preempted by a new goal", now)
            reason = self.governor.stop_reason(now)
            if frames:
                reason = f"goal frame {sorted(frames)}, expected 'map'"
            elif not reason and not self._pose_fresh(now):
                reason = "no current pose (is localization running?)"
            if not reason and self._gate.lost:
                g.planned = False  # planned once localization has recovered
            elif not reason:
                resp = self.core.set_goal(now, self._pose, goals[0])  # type: ignore[arg-type]
                reason = resp.reason
            if reason:
                g.code, g.reason = _R.CODE_REJECTED, reason
                self.get_logger().warning(f"goal rejected: {reason}")
            else:
                self._goal = g
        if not g.reason:
            await g.done
        if g.code == _R.CODE_SUCCEEDED:
            handle.succeed()
        elif g.code == _R.CODE_CANCELED and handle.is_cancel_requested:
            handle.canceled()
        else:
            handle.abort()
        return Navigate.Result(code=g.code, reason=g.reason)

    def _end_goal(self, code: int, reason: str, now: float) -> None:
        """Finish the active goal (if any) with ``code``; caller holds the lock."""
        g, self._goal = self._goal, None
        if g is None:
            return
        if code != _R.CODE_SUCCEEDED:
            self.core.cancel(now)
        g.code, g.reason = code, reason
        g.done.set_result(code)
        self.get_logger().info(f"goal finished ({code}): {reason}")

    # -- control loop ----------------------------------------------------------------------
    def _tick(self) -> None:
        with self._lock:
            now = self._now()
            stop = self.governor.stop_reason(now)
            self._publish_estopped()
            if stop:
                self._end_goal(_R.CODE_FAILED, stop, now)
            g = self._goal
            if g is not None and g.handle.is_cancel_requested:
                self._end_goal(_R.CODE_CANCELED, "canceled", now)
                g = None
            if not self._pose_fresh(now):
                self._stop_now()
                if g is not None:
                    self._end_goal(_R.CODE_FAILED, "pose lost", now)
                return
            assert self._pose is not None
            # The pose describes the moment of its sensor data; bring it to now with what was
            # commanded since (localization lags by its processing time).
            age = now - self._pose_stamp
            pose = (drive_arc(self._pose, *self._cmd, age) if 0.0 < age <= self._pose_timeout
                    else self._pose)
            if not self._gate_open(now, pose, g):
                return
            scan = self._scan if now - self._scan_t < 0.5 else None
            cmd = self.core.step(now, pose, scan)
            if stop:
                self._stop_now()
            else:
                self._cmd = (float(cmd.v), float(cmd.w))
                self._cmd_pub.publish(Twist(linear=_vec(cmd.v), angular=_vec(0.0, cmd.w)))
            self._log_events()
            self._publish_plan()
            if g is None:
                return
            if cmd.status == "succeeded":
                if len(g.remaining) > 1:
                    g.remaining.pop(0)
                    resp = self.core.set_goal(now, pose, g.remaining[0])
                    if not resp.accepted:
                        self._end_goal(_R.CODE_FAILED, f"waypoint: {resp.reason}", now)
                    return
                self._end_goal(_R.CODE_SUCCEEDED, "", now)
            elif cmd.status in ("failed", "canceled"):
                self._end_goal(_R.CODE_FAILED, cmd.reason, now)
            elif self._feedback.due(now, (id(g), cmd.status)):
                g.handle.publish_feedback(Navigate.Feedback(
                    distance_remaining_m=float(cmd.distance_left), eta_s=float(cmd.eta),
                    speed_limit=float(self._map.speed_limit_at(pose.x, pose.y)),
                    status=_STATUS.get(cmd.status, cmd.status), current_pose=pose2d_to_msg(pose)))

    def _gate_open(self, now: float, pose: Pose2D, g: _Goal | None) -> bool:
        """Hold still while localization is LOST (caller holds the lock); replan on recovery."""
        gate = self._gate.state(now)
        if gate is Gate.OPEN:
            if g is not None and not g.planned:
                resp = self.core.set_goal(now, pose, g.remaining[0])
                g.planned = resp.accepted
                if not resp.accepted:
                    self._end_goal(_R.CODE_FAILED, resp.reason, now)
            return True
        self._stop_now()
        if g is None:
            return False
        if gate is Gate.EXPIRED:
            self._end_goal(_R.CODE_FAILED, f"localization lost for "
                           f"{self._gate.lost_for(now):.0f} s", now)
            return False
        if g.planned:
            self.core.cancel(now)
            g.planned = False
        g.handle.publish_feedback(Navigate.Feedback(
            distance_remaining_m=0.0, eta_s=0.0, status="localization_lost",
            speed_limit=float(self._map.speed_limit_at(pose.x, pose.y)),
            current_pose=pose2d_to_msg(pose)))
        return False

    # -- outputs ---------------------------------------------------------------------------
    def _stop_now(self) -> None:
        self._cmd = (0.0, 0.0)
        self._cmd_pub.publish(Twist())
        self.governor.reset()

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

    def _pose_fresh(self, now: float) -> bool:
        return self._pose is not None and now - self._pose_t <= self._pose_timeout

    def _now(self) -> float:
        return float(self.get_clock().now().nanoseconds) * 1e-9

    def close(self) -> None:
        self._auth.close()


def _vec(x: float, z: float = 0.0) -> Vector3:
    return Vector3(x=float(x), y=0.0, z=float(z))


def main(args: list[str] | None = None) -> int:
    return run_node("navigator", NavigatorNode, args)


if __name__ == "__main__":
    sys.exit(main())
