"""Mission node: runs the fleet's ``mission`` action task by task (deliver with PIN handover,
patrol/investigate dwell, return, charge), publishes RobotStatus and MissionEvents, and resumes
a mission from its persisted state after a restart. Logic: dawnpatrol_core.delivery.mission and
its loop, dawnpatrol_core.delivery.mission_runner (run by the headless shift too).

A PIN counts only when signed with the robot's onboard key (its keypad). A mission goal is
accepted, and a mission cancelled (``cancel_mission``; the action's own cancel
requests carry no signature and are refused), only when signed by the fleet for this robot
(docs/security.md); the replay window in ``state_dir`` outlives a restart, so a command captured
before one is refused."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseWithCovarianceStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.task import Future
from sensor_msgs.msg import BatteryState
from std_msgs.msg import Bool, Float64, String

from dawnpatrol_core.delivery import mission as core
from dawnpatrol_core.delivery.mission_runner import Emitted, MissionRunner, NavigatorPort
from dawnpatrol_core.errors import ConfigError, MissionError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.security.roles import Command as Sec
from dawnpatrol_interfaces.action import Mission
from dawnpatrol_interfaces.msg import MissionEvent, MissionTask, RobotStatus
from dawnpatrol_interfaces.srv import CancelMission, SubmitPin
from dawnpatrol_robot.mission_state import MissionStateFile
from dawnpatrol_robot.navigator_client import Navigator
from dawnpatrol_robot.throttle import Throttle
from dawnpatrol_ros.codecs import LOC_CODES, MODE_CODES
from dawnpatrol_ros.convert import msg_to_pose2d, pose2d_to_msg, time_to_seconds
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import EVENTS_QOS, LATCHED_QOS, RELIABLE_QOS
from dawnpatrol_ros.signing import RobotGate, message_fields, mission_fields

#: s a watch_until from the anomaly monitor holds (it publishes every second).
WATCH_FRESH_S = 3.0

_PARAMS: dict[str, tuple[Any, str]] = {
    "robot_id": ("", "robot id in status and events; '' = the node's namespace"),
    "navigator": ("dawnpatrol", "dawnpatrol (our navigate action) | nav2 (BasicNavigator)"),
    "pin_secret": ("dawnpatrol-sim", "shared secret of the PIN rule expected_pin(order, secret)"),
    "absent_after_s": (180.0, "s after the announcement with no PIN -> recipient absent (> 0)"),
    "pin_timeout_s": (120.0, "s to finish PIN entry once started (> 0)"),
    "max_pin_attempts": (3, "wrong PINs allowed before the parcel is kept (>= 1)"),
    "state_dir": ("", "persisted mission state dir; '' = ~/.local/state/dawnpatrol/<robot_id>"),
    "status_rate_hz": (1.0, "RobotStatus publish rate, Hz (0.1 to 20)"),
    "feedback_period_s": (1.0, "s between mission feedback messages (a new task or state is "
                               "sent at once)"),
    "utc_offset_s": (32400.0, "local time = UTC + this, s (order windows are local; KST)"),
    "shift_end": ("07:00", "local end of the night shift, HH:MM (the day order windows are on)"),
    "fleet_public_key": ("", "the fleet's public key file (fleet.pub): mission goals must be "
                         "signed by it; '' = refuse every goal"),
}


@dataclass
class _Waiter:
    """Hands a finished mission's result to the action's execute coroutine."""

    done: Future = field(default_factory=Future)
    result: Mission.Result = field(default_factory=Mission.Result)

    def release(self, result: Mission.Result) -> None:
        self.result = result
        if not self.done.done():
            self.done.set_result(True)


def task_from_msg(t: MissionTask, now: float, cfg: core.MissionConfig) -> core.TaskSpec:
    """MissionTask message -> validated core TaskSpec (MissionError on a bad field); the
    stop's window start (shift-day seconds) becomes a time on this node's clock (``now``)."""
    p = msg_to_pose2d(t.pose)
    opens = core.window_opens_at(time_to_seconds(t.stop.window_start), now, cfg)
    return core.make_task(t.kind, t.id, p.x, p.y, p.theta, t.dwell_s, t.stop.order_id,
                          t.stop.handover_method or "pin", not_before=opens)


class MissionNode(DawnPatrolNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("mission", **kwargs)
        for name, (default, text) in _PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(
                description=text, dynamic_typing=True))
        cfg = core.mission_config(
            {name: self.get_parameter(name).value for name in _PARAMS}, self.get_namespace())
        self._robot_id = cfg.robot_id
        self._cfg = cfg
        pub = self.get_parameter("fleet_public_key").value
        if not isinstance(pub, str):
            raise ConfigError(f"parameter 'fleet_public_key': got {pub!r}, expected a file path "
                              "or ''")
        self._auth = RobotGate(pub, cfg.state_dir)
        self._keypad = RobotGate("", cfg.state_dir, onboard=True)  # PINs: the onboard key
        self._store = MissionStateFile(Path(cfg.state_dir))
        self._feedback = Throttle(cfg.feedback_period_s)
        nav: NavigatorPort
        if cfg.navigator == "nav2":
            from dawnpatrol_robot.nav2_adapter import Nav2Navigator
            nav = Nav2Navigator(self.get_namespace())
        else:
            nav = Navigator(self)
        self._nav = nav
        self.runner = MissionRunner(cfg.robot_id, cfg.pin_secret, cfg.rules, nav, self._save)
        self._goal: Any = None
        self._pending: Any = None
        self._cancel: str | None = None  # mission id the fleet's signed cancel ends next tick
        self._waiters: dict[bytes, _Waiter] = {}
        self._pose = Pose2D(math.nan, math.nan)
        self._loc, self._loc_score = "OK", 0.0
        self._battery, self._estopped = math.nan, False
        self._status_pub = self.create_publisher(RobotStatus, "status", LATCHED_QOS)
        self._events_pub = self.create_publisher(MissionEvent, "mission_events", EVENTS_QOS)
        self._announce_pub = self.create_publisher(String, "announce", RELIABLE_QOS)
        self.create_subscription(PoseWithCovarianceStamped, "pose", lambda m: setattr(
            self, "_pose", msg_to_pose2d(m.pose.pose)), RELIABLE_QOS)
        self.create_subscription(DiagnosticStatus, "localization/health", self._on_health,
                                 LATCHED_QOS)
        self.create_subscription(BatteryState, "battery", lambda m: setattr(
            self, "_battery", float(m.percentage) * 100.0), RELIABLE_QOS)
        self.create_subscription(Bool, "estopped", lambda m: setattr(
            self, "_estopped", bool(m.data)), LATCHED_QOS)
        # The anomaly monitor: someone lingering in view is judged at this clock time (s).
        self._watch = (0.0, -math.inf)  # (watch_until s, received at s)
        self.create_subscription(Float64, "watch_until", self._on_watch, RELIABLE_QOS)
        self.create_service(SubmitPin, "submit_pin", self._on_pin)
        self.create_service(CancelMission, "cancel_mission", self._on_cancel)
        self._server = ActionServer(
            self, Mission, "mission", execute_callback=self._execute,
            goal_callback=self._on_goal, handle_accepted_callback=self._on_accepted,
            cancel_callback=self._on_action_cancel)
        self.create_timer(0.1, self._tick)
        self.create_timer(1.0 / cfg.status_rate_hz, self._publish_status)
        self.get_logger().info(f"robot {cfg.robot_id}: navigator {cfg.navigator}, "
                               f"state in {self._store.path}")
        self._resume()

    # -- mission lifecycle -----------------------------------------------------------------
    def _save(self, state: core.MissionState | None) -> None:
        if state is None:
            self._store.clear()
        else:
            self._store.save(state)

    def _resume(self) -> None:
        try:
            state = self._store.load()
        except MissionError as exc:
            self.get_logger().error(f"ignoring persisted mission: {exc}")
            self._store.clear()
            return
        if state is not None and not state.finished:
            self.get_logger().info(f"resuming mission '{state.mission_id}' at task {state.index}")
            self.runner.resume(state, self._now())
            self._flush()

    def _on_goal(self, request: Mission.Goal) -> GoalResponse:
        verdict = self._auth.check(Sec.MISSION, self._robot_id,
                                   mission_fields(self._robot_id, request), request.envelope)
        if not verdict.ok:
            self.get_logger().warning(f"mission rejected: {verdict.reason}")
            self.runner.last_error = verdict.reason
            return GoalResponse.REJECT
        if self._goal is not None or self._pending is not None:  # a resumed one is preempted
            self.get_logger().warning("mission rejected: another mission is in progress")
            return GoalResponse.REJECT
        try:
            now = self._now()
            core.new_mission(request.mission_id,
                             tuple(task_from_msg(t, now, self._cfg) for t in request.tasks))
        except MissionError as exc:
            self.get_logger().warning(f"mission rejected: {exc}")
            self.runner.last_error = str(exc)
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_action_cancel(self, _: Any) -> CancelResponse:
        self.get_logger().warning("mission cancel refused: unsigned (the fleet cancels with a "
                                  "signed cancel_mission)")
        return CancelResponse.REJECT

    def _on_cancel(self, req: CancelMission.Request,
                   res: CancelMission.Response) -> CancelMission.Response:
        mission = self.runner.mission
        verdict = self._auth.check(Sec.CANCEL_MISSION, self._robot_id, message_fields(req),
                                   req.envelope)
        if not verdict.ok:
            res.success, res.message = False, verdict.reason
        elif mission is None or req.mission_id not in ("", mission.mission_id):
            res.success = False
            res.message = f"no mission '{req.mission_id}' running (running: " \
                          f"{mission.mission_id if mission is not None else 'none'})"
        else:
            self._cancel = mission.mission_id
            res.success, res.message = True, f"cancelling mission '{mission.mission_id}'"
        self.get_logger().warning(f"cancel_mission: {res.message}")
        return res

    def _on_accepted(self, goal_handle: Any) -> None:
        self._waiters[bytes(goal_handle.goal_id.uuid)] = _Waiter()
        self._pending = goal_handle   # started by the next tick, in this callback group
        goal_handle.execute()

    async def _execute(self, goal_handle: Any) -> Mission.Result:
        """Awaits the tick loop's end of the mission (a coroutine: one executor thread)."""
        waiter = self._waiters[bytes(goal_handle.goal_id.uuid)]
        await waiter.done
        return waiter.result

    def destroy_node(self) -> None:
        """Release waiting action threads, then destroy (the persisted mission is kept)."""
        for waiter in self._waiters.values():
            waiter.release(Mission.Result(success=False, message="mission node shut down"))
        self._auth.close()
        self._keypad.close()
        super().destroy_node()

    def _start_pending(self) -> None:
        goal, self._pending = self._pending, None
        req = goal.request
        now = self._now()
        tasks = tuple(task_from_msg(t, now, self._cfg) for t in req.tasks)
        self._goal = goal
        self.runner.start(req.mission_id or str(uuid.uuid4()), tasks, now)

    def _flush(self) -> None:
        """Publish the runner's events; hand finished missions to their action goals."""
        for e in self.runner.events:
            self._emit(e)
        self.runner.events.clear()
        self.runner.done.clear()
        for state in self.runner.ended:
            self._finish(state)
        self.runner.ended.clear()

    def _finish(self, state: core.MissionState) -> None:
        result = Mission.Result(
            success=not state.failed, completed_ids=list(state.completed),
            failed_ids=[f[0] for f in state.failed], failure_reasons=[f[1] for f in state.failed],
            message=f"{len(state.completed)} completed, {len(state.failed)} failed")
        self.get_logger().info(f"mission '{state.mission_id}' finished: {result.message}")
        goal, self._goal = self._goal, None
        if goal is not None:
            if result.success:
                goal.succeed()
            else:
                goal.abort()
            self._waiters.pop(bytes(goal.goal_id.uuid)).release(result)

    def _on_watch(self, msg: Float64) -> None:
        until = float(msg.data)
        if math.isfinite(until):  # a bad value is ignored: the dwell ends as planned
            self._watch = (until, self._now())

    # -- periodic work ---------------------------------------------------------------------
    def _tick(self) -> None:
        now = self._now()
        if self._pending is not None:
            if self.runner.mission is not None:  # a mission resumed after restart: the fleet's
                self.runner.cancel(now)
                self._flush()
            self._start_pending()
        mission, cancel, self._cancel = self.runner.mission, self._cancel, None
        if mission is not None and mission.mission_id == cancel:
            self.runner.cancel(now)
        else:
            until, heard = self._watch
            self.runner.tick(now, self._pose, until if now - heard <= WATCH_FRESH_S else 0.0)
        self._flush()
        self._publish_feedback()

    def _publish_feedback(self) -> None:
        mission, run = self.runner.mission, self.runner.run
        if self._goal is None or mission is None or run is None:
            return
        if not self._feedback.due(self._now(), (mission.index, run.state)):
            return
        dist, eta = self.runner.eta(self._now())
        self._goal.publish_feedback(Mission.Feedback(
            current_index=mission.index, total=len(mission.tasks),
            current_id=run.task.id, state=run.state, distance_left_m=dist, eta_s=eta))

    def _publish_status(self) -> None:
        run = self.runner.run
        kind = run.task.kind if run is not None else None
        mode = MODE_CODES[core.robot_mode(kind, self._estopped, self._loc)]
        msg = RobotStatus(robot_id=self._robot_id, mode=mode, estopped=self._estopped,
                          latitude=math.nan, longitude=math.nan,
                          localization_health=LOC_CODES.get(self._loc.lower(),
                                                            RobotStatus.LOC_DEGRADED),
                          localization_quality=self._loc_score, battery_percent=self._battery,
                          last_error=self.runner.last_error,
                          eta_s=self.runner.eta(self._now())[1])
        msg.header.stamp, msg.header.frame_id = self.get_clock().now().to_msg(), "map"
        if math.isfinite(self._pose.x):
            msg.pose = pose2d_to_msg(self._pose)
        msg.parcels_on_board = list(self.runner.parcels)
        msg.current_task = f"{kind} {run.task.id}" if run is not None else ""
        self._status_pub.publish(msg)

    # -- inputs and outputs ----------------------------------------------------------------
    def _on_pin(self, req: SubmitPin.Request, res: SubmitPin.Response) -> SubmitPin.Response:
        verdict = self._keypad.check(Sec.SUBMIT_PIN, self._robot_id, message_fields(req),
                                     req.envelope)
        if not verdict.ok:  # not from this robot's keypad: not an attempt
            self.get_logger().warning(f"submit_pin: {verdict.reason}")
            res.accepted, res.message = False, verdict.reason
            return res
        res.accepted, res.message = self.runner.submit_pin(self._now(), req.order_id, req.pin)
        self._flush()
        return res

    def _on_health(self, msg: DiagnosticStatus) -> None:
        self._loc = msg.message
        score = [kv.value for kv in msg.values if kv.key == "score"]
        try:
            self._loc_score = float(score[0]) if score else self._loc_score
        except ValueError:
            self.get_logger().warning(f"localization score not a number: {score[0]!r}")

    def _emit(self, e: Emitted) -> None:
        task, ev = e.task, e.event
        if ev.event == "announce":
            self._announce_pub.publish(String(data=ev.detail))
            return
        msg = MissionEvent(robot_id=self._robot_id, task_id=task.id, task_kind=task.kind,
                           event=ev.event, method=ev.method, detail=ev.detail)
        msg.mission_id = e.mission_id
        msg.header.stamp, msg.header.frame_id = self.get_clock().now().to_msg(), "map"
        msg.position.x, msg.position.y = self._pose.x, self._pose.y
        self._events_pub.publish(msg)
        self.get_logger().info(f"{task.kind} {task.id}: {ev.event} {ev.detail}".rstrip())

    def _now(self) -> float:
        return float(self.get_clock().now().nanoseconds) * 1e-9


def main(args: list[str] | None = None) -> int:
    return run_node("mission", MissionNode, args)

