"""fleet_manager: the control room's node, wiring around the fleet coordinator (which makes every
fleet decision): parameters, messages, mission action clients, services, the heartbeat thread,
the e-stop fan-out, the anomaly inbox and reports. Times: ROS time s (shift-day s in simulation).

Security (docs/security.md): every operator request carries a signed envelope, checked by the
core's CommandGate (signature, role, expiry, replay) before anything acts; accepted and refused
commands go to the chained audit log (audit.db), refusals answered in one line naming why.
What the fleet sends robots (missions, e-stop and resume, closed edges) is signed with the
fleet's key (fleet.key in the data directory, created on the first start). An e-stop is
forwarded at once, whatever its envelope; who sent it is identified afterwards, for the record.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.task import Future
from std_msgs.msg import Header

from dawnpatrol_core.errors import AnomalyError, ConfigError, DawnPatrolError
from dawnpatrol_core.fleet import commands as cmd
from dawnpatrol_core.fleet import events as ev
from dawnpatrol_core.fleet.calls import needs_a_look
from dawnpatrol_core.fleet.config import PARAMETERS, FleetConfig
from dawnpatrol_core.fleet.coordinator import FleetCoordinator
from dawnpatrol_core.fleet.plans import plan_to_json
from dawnpatrol_core.fleet.track import TrackRecorder
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.security.envelope import Verdict, VerdictStatus
from dawnpatrol_core.security.gate import AUDIT_FILE, FleetSigner, ensure_fleet_key, fleet_gate
from dawnpatrol_core.security.roles import Command as Sec
from dawnpatrol_core.store.audit_chain import AuditChain
from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.inbox import Inbox, InboxResult
from dawnpatrol_fleet.operator_keys import FLEET_TARGET, passphrase
from dawnpatrol_fleet.report import write_reports
from dawnpatrol_interfaces import srv
from dawnpatrol_interfaces.action import Mission
from dawnpatrol_interfaces.msg import (
    Anomaly,
    AnomalyAck,
    ClosedEdges,
    Investigate,
    MissionEvent,
    RobotStatus,
)
from dawnpatrol_ros import codecs as codec
from dawnpatrol_ros.convert import time_to_seconds
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import ALERT_QOS, EVENTS_QOS, LATCHED_QOS, RELIABLE_QOS
from dawnpatrol_ros.signing import identity, message_fields, mission_fields

A = TypeVar("A", cmd.DispatchAnswered, cmd.PatrolAnswered)
#: Lifetime of what the fleet signs for robots (s, the longest allowed): a loaded robot still
#: verifies a goal that waited in its queue. Closed edges are re-signed well within it.
ROBOT_LIFETIME_S = 30.0
CLOSED_RESIGN_S = 10.0


class FleetManagerNode(DawnPatrolNode):
    def __init__(self) -> None:
        super().__init__("fleet_manager")
        for name, (default, desc) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=desc))
        self.cfg = FleetConfig.from_params({n: self.get_parameter(n).value for n in PARAMETERS})
        if not self.cfg.map_dir:
            raise ConfigError("parameter 'map_dir': got '', expected a map directory")
        self.map_dir = str(Path(self.cfg.map_dir).expanduser())
        self.dm = load_district_map(self.map_dir)
        self.data_dir = Path(self.cfg.data_dir).expanduser()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = FleetStore(self.data_dir / "fleet.db")
        self.inbox = Inbox(self.data_dir / "anomalies.db")
        self.gate = fleet_gate(self.data_dir)
        self.signer = FleetSigner(ensure_fleet_key(self.data_dir, passphrase()), passphrase())
        self.chain = AuditChain(self.data_dir / AUDIT_FILE, signer=self.signer.key)
        self._closed_edges: list[int] | None = None  # in force, re-signed every 10 s
        self._closed_signed = -math.inf  # steady s
        self.coord = FleetCoordinator(self.cfg, self.dm, self.store, self._now(), self.map_dir)
        if self.coord.patrol.warning:
            self.get_logger().warning(f"patrol best effort: {self.coord.patrol.warning}")
        self.track = TrackRecorder(self.cfg.track_period_s)
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._handles: dict[str, Any] = {}  # mission id -> goal handle, while its result is due

        self._acks = self.create_publisher(AnomalyAck, "/fleet/anomaly_acks", RELIABLE_QOS)
        self._alerts = self.create_publisher(Anomaly, "/fleet/anomalies", ALERT_QOS)
        self._closed = self.create_publisher(ClosedEdges, "/fleet/closed_edges", LATCHED_QOS)
        self._heartbeat = self.create_publisher(Header, "/fleet/heartbeat", RELIABLE_QOS)
        # The e-stop service awaits the robots' answers: it, their clients and its timeout timer
        # must not share the default (mutually exclusive) group, or the await never returns.
        self._async_group = ReentrantCallbackGroup()
        self._mission_clients: dict[str, ActionClient] = {}
        self._estop_clients: dict[str, Any] = {}
        for rid in self.cfg.robot_ids:
            self._add_robot(rid)
        self.create_service(srv.FleetStatus, "/fleet/get_status", self._on_status)
        self.create_service(srv.DispatchOrders, "/fleet/dispatch_orders", self._on_dispatch)
        self.create_service(srv.SetPatrol, "/fleet/set_patrol", self._on_set_patrol)
        self.create_service(srv.SetEStop, "/fleet/estop", self._on_estop,
                            callback_group=self._async_group)
        self.create_service(srv.QueryAnomalies, "/fleet/query_anomalies", self._on_query)
        self.create_service(srv.AckAnomaly, "/fleet/ack_anomaly", self._on_ack)
        self.create_service(srv.GenerateReport, "/fleet/generate_report", self._on_report)
        self.create_subscription(  # a resident's call: the robot there first goes to look
            Investigate, "/fleet/investigate", self._on_investigate, RELIABLE_QOS)
        self.create_timer(1.0, self._tick, clock=self._steady)
        self._stop = threading.Event()
        self._hb_thread = threading.Thread(target=self._beat, daemon=True)
        self._hb_thread.start()
        for rec in self.inbox.incidents(unacked=True):  # restart: operators still see alerts
            self._alerts.publish(codec.anomaly_to_msg(rec.event))
        self._feed(ev.SidewalkReports(self._blocked()))
        self.get_logger().info(
            f"fleet manager up: robots {list(self.cfg.robot_ids)}, map {self.dm.name}, data "
            f"{self.data_dir}, {len(self.coord.orders)} orders, {len(self.coord.missions)} "
            "missions in flight")

    def _add_robot(self, rid: str) -> None:
        self.create_subscription(RobotStatus, f"/{rid}/status", self._on_robot_status, LATCHED_QOS)
        self.create_subscription(MissionEvent, f"/{rid}/mission_events", self._on_event,
                                 EVENTS_QOS)
        self.create_subscription(Anomaly, f"/{rid}/anomalies", self._on_anomaly, ALERT_QOS)
        self.create_subscription(Odometry, f"/{rid}/ground_truth",
                                 lambda m, r=rid: self._on_ground_truth(r, m), RELIABLE_QOS)
        self._mission_clients[rid] = ActionClient(self, Mission, f"/{rid}/mission")
        self._estop_clients[rid] = self.create_client(srv.SetEStop, f"/{rid}/estop",
                                                      callback_group=self._async_group)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _beat(self) -> None:
        # Its own thread: a long solver run in a service callback must not starve the robots'
        # watchdogs. Under simulated time the rate is kept in wall time fast enough (10 Hz) that
        # even a fast simulation sees a beat every simulated second or two.
        period = self.cfg.heartbeat_period_s
        if self.get_parameter("use_sim_time").value:
            period = min(period, 0.1)
        while not self._stop.wait(period):
            with contextlib.suppress(Exception):
                self._heartbeat.publish(Header(stamp=self.get_clock().now().to_msg(),
                                               frame_id="fleet"))

    # -- the coordinator: events in, commands out ------------------------------------------------
    def _feed(self, event: ev.Event) -> list[cmd.Command]:
        """Hand ``event`` to the coordinator, carry out its commands (and their consequences:
        a mission that cannot be sent is rejected at once); returns every command given."""
        given: list[cmd.Command] = []
        pending = [event]
        while pending:
            for c in self.coord.handle(pending.pop(0), self._now()):
                given.append(c)
                pending += self._carry_out(c)
        return given

    def _carry_out(self, c: cmd.Command) -> list[ev.Event]:
        match c:
            case cmd.SendMission(rid, mid, _, tasks):
                client = self._mission_clients.get(rid)
                if client is None or not client.server_is_ready():
                    return [ev.MissionRejected(rid, mid, "mission server not available")]
                goal = Mission.Goal(mission_id=mid, tasks=[codec.task_to_msg(t) for t in tasks])
                goal.envelope = self.signer.sign(Sec.MISSION, rid, mission_fields(rid, goal),
                                                 time.time(), ROBOT_LIFETIME_S)
                client.send_goal_async(goal).add_done_callback(
                    lambda f, r=rid, m=mid: self._on_goal_response(r, m, f))
            case cmd.CancelMission(_, mid):
                handle = self._handles.pop(mid, None)
                if handle is not None:
                    handle.cancel_goal_async()
            case cmd.ClosedEdgesChanged(edges):
                self._closed_edges = [int(e) for e in edges]
                self._publish_closed()
            case cmd.LogLine(level, text):
                # rclpy keeps one severity per call site: one call per level.
                if level is cmd.Level.WARNING:
                    self.get_logger().warning(text)
                else:
                    self.get_logger().info(text)
        return []

    def _on_goal_response(self, rid: str, mid: str, fut: Future) -> None:
        handle = fut.result()
        if handle is None or not handle.accepted:
            self._feed(ev.MissionRejected(rid, mid))
            return
        self._handles[mid] = handle
        self._feed(ev.MissionAccepted(rid, mid))
        handle.get_result_async().add_done_callback(
            lambda f, r=rid, m=mid: self._on_result(r, m, f))

    def _on_result(self, rid: str, mid: str, fut: Future) -> None:
        self._handles.pop(mid, None)
        self._feed(codec.result_from_action(rid, mid, fut.result()))

    def _on_robot_status(self, msg: RobotStatus) -> None:
        if msg.robot_id in self.cfg.robot_ids:
            status = codec.status_from_msg(msg)
            self.track.status(self._now(), msg.robot_id, status.x, status.y, status.speed)
            self._feed(ev.StatusReceived(status))

    def _on_ground_truth(self, rid: str, msg: Odometry) -> None:
        v, p = msg.twist.twist.linear, msg.pose.pose.position
        self.track.ground_truth(time_to_seconds(msg.header.stamp), rid, p.x, p.y,
                                math.hypot(v.x, v.y))

    def _on_event(self, msg: MissionEvent) -> None:
        event = codec.event_from_msg(msg)
        if event is not None:
            self._feed(event)

    def _publish_closed(self) -> None:
        """The closed edges in force, signed now (a latched topic: robots that join later must
        still find a set whose signature has not expired)."""
        if self._closed_edges is None:
            return
        msg = ClosedEdges(edges=self._closed_edges)
        msg.envelope = self.signer.sign(Sec.CLOSE_EDGES, "*", message_fields(msg), time.time(),
                                        ROBOT_LIFETIME_S)
        self._closed_signed = time.monotonic()
        self._closed.publish(msg)

    def _tick(self) -> None:
        self.store.add_samples(self.track.drain())
        self._feed(ev.Tick())
        if time.monotonic() - self._closed_signed >= CLOSED_RESIGN_S:
            self._publish_closed()

    def _answer(self, event: ev.Event, kind: type[A]) -> A:
        return next(c for c in self._feed(event) if isinstance(c, kind))

    def _on_dispatch(self, req: srv.DispatchOrders.Request,
                     res: srv.DispatchOrders.Response) -> Any:
        args = {"source": req.source_name, "dry_run": req.dry_run}
        v = self._verify(Sec.DISPATCH_ORDERS, FLEET_TARGET, req)
        if not v.ok:
            res.success, res.message = False, v.reason
            self._audit(v, req, FLEET_TARGET, args, False, v.reason)
            return res
        a = self._answer(ev.DispatchRequested(req.orders_text, req.format, req.source_name,
                                              req.dry_run, v.operator),
                         cmd.DispatchAnswered)
        res.success, res.message, res.problems = a.success, a.message, list(a.problems)
        if a.plan is not None:
            res.plan_json = json.dumps(plan_to_json(a.plan, a.orders, self.map_dir))
        self._audit(v, req, FLEET_TARGET, args, a.success, a.message)
        return res

    def _on_set_patrol(self, req: srv.SetPatrol.Request, res: srv.SetPatrol.Response) -> Any:
        target = req.robot_id or "*"
        args = {"active": req.active, "robot_id": target}
        v = self._verify(Sec.SET_PATROL, target, req)
        if not v.ok:
            res.success, res.message = False, v.reason
        else:
            a = self._answer(ev.PatrolRequested(req.robot_id, req.active), cmd.PatrolAnswered)
            res.success, res.message = a.success, a.message
        self._audit(v, req, target, args, res.success, res.message)
        return res

    def _on_investigate(self, msg: Investigate) -> None:
        v = self._verify(Sec.INVESTIGATE, FLEET_TARGET, msg)
        if v.ok:
            self._feed(ev.InvestigateRequested(msg.x, msg.y))
        self._audit(v, msg, FLEET_TARGET, {"x": msg.x, "y": msg.y}, v.ok,
                    "the robot there first goes to look" if v.ok else v.reason)

    # -- e-stop: straight to the robots, never through the coordinator -----------------------------
    async def _on_estop(self, req: srv.SetEStop.Request, res: srv.SetEStop.Response) -> Any:
        # An e-stop goes out at once whatever its envelope (identified afterwards, for the
        # record); a resume only with a supervisor's signature, forwarded signed by the fleet.
        target = req.robot_id or "*"
        args = {"robot_id": req.robot_id, "reason": req.reason}
        operator = req.operator_name
        verdict: Verdict | None = None
        if not req.engage:
            verdict = self._verify(Sec.RESUME, target, req)
            if not verdict.ok:
                res.success, res.message = False, verdict.reason
                self._audit(verdict, req, target, args, False, verdict.reason)
                return res
            operator = verdict.operator
        targets = sorted(self.coord.known_robots) if target == "*" else [req.robot_id]
        futures: dict[str, Future] = {}
        for rid in targets:
            if rid not in self._estop_clients:
                self._estop_clients[rid] = self.create_client(srv.SetEStop, f"/{rid}/estop",
                                                              callback_group=self._async_group)
            client = self._estop_clients[rid]
            if client.service_is_ready():
                fwd = srv.SetEStop.Request(engage=req.engage, robot_id=rid, reason=req.reason,
                                           operator_name=operator)
                fwd.envelope = self.signer.sign(Sec.ESTOP if req.engage else Sec.RESUME, rid,
                                                message_fields(fwd), time.time(),
                                                ROBOT_LIFETIME_S)
                futures[rid] = client.call_async(fwd)
        if verdict is None:  # after the e-stop went out: who sent it, for the record
            verdict = self.gate.identify_estop(target, message_fields(req), req.envelope,
                                               time.time())
        await self._wait_all(list(futures.values()), self.cfg.estop_timeout_s)
        now = self._now()
        parts, ok = [], True
        for rid in targets:
            f = futures.get(rid)
            r = f.result() if f is not None and f.done() else None
            confirmed = r is not None and r.success
            ok &= confirmed
            parts.append(f"{rid}: {'confirmed' if confirmed else 'NOT confirmed'}"
                         + (f" ({r.message})" if r is not None and r.message else ""))
            self.store.record_incident(
                rid, "estop" if req.engage else "resume",
                f"{req.reason or 'operator'} by {identity(verdict, req.operator_name)}; "
                f"{'confirmed' if confirmed else 'not confirmed'}", now)
        res.success = ok
        res.message = f"{'e-stop' if req.engage else 'resume'}: " + "; ".join(parts)
        self._audit(verdict, req, target, args, ok, res.message)
        return res

    async def _wait_all(self, futures: list[Future], timeout: float) -> None:
        done = Future()

        def check(_: Any = None) -> None:
            if all(f.done() for f in futures) and not done.done():
                done.set_result(True)

        for f in futures:
            f.add_done_callback(check)
        timer = self.create_timer(timeout, lambda: done.done() or done.set_result(False),
                                  callback_group=self._async_group, clock=self._steady)
        check()
        await done
        self.destroy_timer(timer)

    # -- anomalies -------------------------------------------------------------------------------
    def _on_anomaly(self, msg: Anomaly) -> None:
        try:
            event = codec.anomaly_from_msg(msg, f"/{msg.robot_id or '?'}/anomalies")
        except (AnomalyError, ValueError, TypeError, RecursionError) as exc:
            self.get_logger().warning(f"anomaly dropped: {str(exc).splitlines()[0][:300]}")
            return
        result = self.inbox.upsert(event, self._now())
        self._acks.publish(AnomalyAck(uuid=event.uuid, robot_id=event.robot_id))
        if result is not InboxResult.DUPLICATE:
            incident = self.inbox.incident(event.uuid)  # one alert per incident, updated
            self._alerts.publish(codec.anomaly_to_msg(incident.event) if incident is not None
                                 else msg)
            if event.kind == "blocked_sidewalk":
                self._feed(ev.SidewalkReports(self._blocked()))
        if result is InboxResult.NEW and needs_a_look(event.kind):
            self._feed(ev.InvestigateRequested(event.x, event.y,
                                               f"{event.robot_id}'s {event.kind} alert"))

    def _blocked(self) -> tuple[tuple[float, float, float], ...]:
        return tuple((r.event.x, r.event.y, r.event.last_seen)
                     for r in self.inbox.query(kind="blocked_sidewalk"))

    def _on_query(self, req: srv.QueryAnomalies.Request, res: srv.QueryAnomalies.Response) -> Any:
        v = self._verify(Sec.QUERY_ANOMALIES, FLEET_TARGET, req, read=True)
        if not v.ok:
            res.refused = v.reason
            self._audit(v, req, FLEET_TARGET, {"kind": req.kind}, False, v.reason)
            return res
        recs = self.inbox.incidents(since=req.since_s or None, kind=req.kind or None,
                                    unacked=req.unacknowledged_only)
        res.anomalies = [codec.anomaly_to_msg(r.event) for r in recs]
        res.acknowledged = [r.acked_at is not None for r in recs]
        res.ack_notes = [r.ack_note or "" for r in recs]
        return res

    def _on_ack(self, req: srv.AckAnomaly.Request, res: srv.AckAnomaly.Response) -> Any:
        v = self._verify(Sec.ACK_ANOMALY, FLEET_TARGET, req)
        if not v.ok:
            res.success, res.message = False, v.reason
        else:
            try:
                res.success = self.inbox.ack(req.uuid, v.operator, req.note, self._now())
                res.message = (f"acknowledged {req.uuid}" if res.success
                               else f"unknown anomaly '{req.uuid}'")
            except AnomalyError as exc:
                res.success, res.message = False, str(exc)
        self._audit(v, req, FLEET_TARGET, {"uuid": req.uuid, "note": req.note}, res.success,
                    res.message)
        return res

    # -- status, reports and audit ---------------------------------------------------------------
    def _on_status(self, req: srv.FleetStatus.Request, res: srv.FleetStatus.Response) -> Any:
        v = self._verify(Sec.GET_STATUS, FLEET_TARGET, req, read=True)
        if not v.ok:
            res.refused = v.reason
            self._audit(v, req, FLEET_TARGET, {}, False, v.reason)
            return res
        now = self._now()
        for status, conn in self.coord.robots(now):
            res.robots.append(codec.status_to_msg(status))
            res.connection.append(conn.value)
        summary = asdict(self.coord.summary(now))
        summary["unacked_alerts"] = len(self.inbox.incidents(unacked=True))
        res.summary_json = json.dumps(summary, sort_keys=True)
        return res

    def _on_report(self, req: srv.GenerateReport.Request, res: srv.GenerateReport.Response) -> Any:
        args = {"out_dir": req.out_dir, "shift": req.shift}
        v = self._verify(Sec.GENERATE_REPORT, FLEET_TARGET, req)
        if not v.ok:
            res.success, res.message = False, v.reason
            self._audit(v, req, FLEET_TARGET, args, False, v.reason)
            return res
        # Recorded before writing, so that the report names who asked for it.
        self._audit(v, req, FLEET_TARGET, args, True, "writing the reports")
        try:
            self.store.add_samples(self.track.drain())
            files = write_reports(self.store, self.inbox, self.dm, req.out_dir, req.shift,
                                  self.cfg.utc_offset_s, (self.cfg.shift_start, self.cfg.shift_end))
            res.success, res.files = True, [str(f) for f in files]
            res.message = f"wrote {len(files)} files to {req.out_dir}"
        except (OSError, DawnPatrolError, ValueError) as exc:
            res.success, res.message = False, f"report failed: {exc}"
            self.get_logger().warning(res.message)
        return res

    # -- security --------------------------------------------------------------------------------
    def _verify(self, command: Sec, target: str, req: Any, read: bool = False) -> Verdict:
        """The core gate's verdict on ``req`` (its ``envelope`` and signed fields); a refusal
        is logged as one line naming why. ``read``: a read-only command (status, anomaly
        query) spends no nonce — a replayed read changes nothing, and a dashboard polling at
        10 Hz would otherwise cost an fsync per poll; the callers then record only refusals."""
        try:
            v = self.gate.check(command, target, message_fields(req), req.envelope, time.time(),
                                consume=not read)
        except DawnPatrolError as exc:  # arguments no envelope can sign (NaN, ...)
            v = Verdict(VerdictStatus.MALFORMED, f"refused {command.value} on {target}: "
                        f"{str(exc).splitlines()[0]}", command.value)
        if not v.ok:
            self.get_logger().warning(v.reason)
        return v

    def _audit(self, v: Verdict, req: Any, target: str, args: dict[str, Any], ok: bool,
               result: str) -> None:
        """Record a command, accepted or refused, in the chained audit log (wall-clock time,
        who as far as verified) and, for the shift report, in the fleet store."""
        claimed = getattr(req, "operator_name", "") or ""
        who = identity(v, claimed)
        try:
            self.chain.append(v.operator or claimed or "unknown", v.command, args, ok, result,
                              time.time(), who, target)
        except (DawnPatrolError, ValueError) as exc:
            self.get_logger().error(f"audit log: {str(exc).splitlines()[0]}")
        self.store.audit(who, v.command, args, ok, result, self._now())
        self.get_logger().info(f"audit: {who} {v.command} {target} {args} -> "
                               f"{'ok' if ok else 'REFUSED' if not v.ok else 'FAILED'}: "
                               f"{result}")

    def close(self) -> None:
        self._stop.set()
        self.store.close()
        self.inbox.close()
        self.gate.close()
        self.chain.close()


def main(args: list[str] | None = None) -> int:
    return run_node("fleet_manager", FleetManagerNode, args)


if __name__ == "__main__":
    sys.exit(main())
