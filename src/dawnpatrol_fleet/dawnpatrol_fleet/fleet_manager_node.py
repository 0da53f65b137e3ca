"""fleet_manager: the control room's node, wiring around the fleet coordinator (which makes every
fleet decision): parameters, messages, mission action clients, services, the heartbeat thread,
the e-stop fan-out, the anomaly inbox and reports. Times: ROS time s (shift-day s in simulation).

Security (docs/security.md): every operator request carries a signed envelope; the core's
FleetServices check it (signature, role, expiry, replay) before anything acts and record every
request, reads included, in the chained audit log (audit.db); refusals name why in one line.
What the fleet sends robots (missions, e-stop and resume, closed edges) is signed with the
fleet's key (fleet.key in the data directory, created on the first start). An e-stop is
forwarded at once, whatever its envelope; who sent it is identified afterwards, for the record.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.task import Future
from std_msgs.msg import Header

from dawnpatrol_core.errors import AnomalyError, ConfigError
from dawnpatrol_core.fleet import commands as cmd
from dawnpatrol_core.fleet import events as ev
from dawnpatrol_core.fleet.config import PARAMETERS, FleetConfig
from dawnpatrol_core.fleet.coordinator import FleetCoordinator
from dawnpatrol_core.fleet.services import AuditTrail, FleetServices, Reply
from dawnpatrol_core.fleet.track import TrackRecorder
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.security.audited import AuditedGate
from dawnpatrol_core.security.gate import AUDIT_FILE, FleetSigner, ensure_fleet_key, fleet_gate
from dawnpatrol_core.security.roles import Command as Sec
from dawnpatrol_core.store.audit_chain import AuditChain
from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.inbox import Inbox
from dawnpatrol_fleet.operator_keys import passphrase
from dawnpatrol_fleet.report import write_reports
from dawnpatrol_interfaces import srv
from dawnpatrol_interfaces.action import Mission
from dawnpatrol_interfaces.msg import (
    Anomaly,
    AnomalyAck,
    ClosedEdges,
    MissionEvent,
    RobotStatus,
)
from dawnpatrol_ros import codecs as codec
from dawnpatrol_ros.convert import time_to_seconds
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import ALERT_QOS, EVENTS_QOS, LATCHED_QOS, RELIABLE_QOS
from dawnpatrol_ros.signing import message_fields, mission_fields

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
        log = self.get_logger()
        trail = AuditTrail(self.chain, self.store, log.info, log.error)
        self._closed_edges: list[int] | None = None  # in force, re-signed every 10 s
        self._closed_signed = -math.inf  # steady s
        self.coord = FleetCoordinator(self.cfg, self.dm, self.store, self.now_s(), self.map_dir)
        if self.coord.patrol.warning:
            self.get_logger().warning(f"patrol best effort: {self.coord.patrol.warning}")
        self.track = TrackRecorder(self.cfg.track_period_s)
        self.ops = FleetServices(AuditedGate(self.gate, trail), self.coord, self.inbox,
                                      self.store, self._feed, self._write_reports, self.map_dir,
                                      log.warning)
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
        self._robot_clients: dict[tuple[str, str], Any] = {}  # (robot, service) -> client
        for rid in self.cfg.robot_ids:
            self._add_robot(rid)
        self.create_service(srv.FleetStatus, "/fleet/get_status", self._on_status)
        self.create_service(srv.DispatchOrders, "/fleet/dispatch_orders",
                            self._serve(self.ops.dispatch))
        self.create_service(srv.SetPatrol, "/fleet/set_patrol",
                            self._serve(self.ops.set_patrol))
        self.create_service(srv.SetEStop, "/fleet/estop", self._on_estop,
                            callback_group=self._async_group)
        self.create_service(srv.QueryAnomalies, "/fleet/query_anomalies", self._on_query)
        self.create_service(srv.AckAnomaly, "/fleet/ack_anomaly",
                            self._serve(self.ops.ack_anomaly))
        self.create_service(srv.GenerateReport, "/fleet/generate_report",
                            self._serve(self.ops.generate_report))
        self.create_service(srv.Investigate, "/fleet/investigate",  # a call: who goes, ETA
                            self._serve(self.ops.investigate))
        self.create_timer(1.0, self._tick, clock=self._steady)
        self._stop = threading.Event()
        self._hb_thread = threading.Thread(target=self._beat, daemon=True)
        self._hb_thread.start()
        for rec in self.inbox.incidents(unacked=True):  # restart: operators still see alerts
            self._alerts.publish(codec.anomaly_to_msg(rec.event))
        self._feed(ev.SidewalkReports(self.ops.blocked()))
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
        self._client(srv.SetEStop, rid, "estop")

    def _client(self, kind: Any, rid: str, name: str) -> Any:
        if (rid, name) not in self._robot_clients:
            self._robot_clients[rid, name] = self.create_client(kind, f"/{rid}/{name}",
                                                          callback_group=self._async_group)
        return self._robot_clients[rid, name]

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
            for c in self.coord.handle(pending.pop(0), self.now_s()):
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
            case cmd.CancelMission(rid, mid):  # signed: robots refuse the action's own cancel
                self._handles.pop(mid, None)
                req = srv.CancelMission.Request(robot_id=rid, mission_id=mid)
                req.envelope = self.signer.sign(Sec.CANCEL_MISSION, rid, message_fields(req),
                                                time.time(), ROBOT_LIFETIME_S)
                self._client(srv.CancelMission, rid, "cancel_mission").call_async(req)
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
            self.track.status(self.now_s(), msg.robot_id, status.x, status.y, status.speed)
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

    # -- operator services: the core's FleetServices verify, act and audit ------------------------
    def _times(self) -> tuple[float, float]:
        return time.time(), self.now_s()

    def _serve(self, call: Callable[[Mapping[str, object], str, float, float], Any]
               ) -> Callable[[Any, Any], Any]:
        """A service callback: the request's fields and envelope to ``call`` (a FleetServices
        method), its reply onto the response, field by field of the same name."""
        def callback(req: Any, res: Any) -> Any:
            reply = call(message_fields(req), req.envelope, *self._times())
            for name in res.get_fields_and_field_types():
                if hasattr(reply, name):
                    value = getattr(reply, name)
                    setattr(res, name, list(value) if isinstance(value, tuple) else value)
            return res
        return callback

    # -- e-stop: straight to the robots, never through the coordinator -----------------------------
    async def _on_estop(self, req: srv.SetEStop.Request, res: srv.SetEStop.Response) -> Any:
        # An e-stop goes out at once whatever its envelope (identified afterwards, for the
        # record); a resume only with a supervisor's signature, forwarded signed by the fleet.
        fields = message_fields(req)
        request = self.ops.estop_request(fields, req.envelope)
        verdict = None if req.engage else self.ops.gate.admit(request, *self._times())
        if verdict is not None and not verdict.ok:
            res.success, res.message = False, verdict.reason
            return res
        operator = req.operator_name if verdict is None else verdict.operator
        targets = self.ops.estop_targets(req.robot_id)
        futures: dict[str, Future] = {}
        for rid in targets:
            client = self._client(srv.SetEStop, rid, "estop")
            if client.service_is_ready():
                fwd = srv.SetEStop.Request(engage=req.engage, robot_id=rid, reason=req.reason,
                                           operator_name=operator)
                fwd.envelope = self.signer.sign(request.command, rid, message_fields(fwd),
                                                time.time(), ROBOT_LIFETIME_S)
                futures[rid] = client.call_async(fwd)
        if verdict is None:  # after the e-stop went out: who sent it, for the record
            verdict = self.ops.gate.identify_estop(request, time.time())
        await self.wait_all(list(futures.values()), self.cfg.estop_timeout_s,
                            self._async_group, self._steady)
        got = {rid: f.result() for rid, f in futures.items() if f.done()}
        answers = {rid: None if (r := got.get(rid)) is None else Reply(r.success, r.message)
                   for rid in targets}
        out = self.ops.estop_done(request, verdict, answers, *self._times())
        res.success, res.message = out.success, out.message
        return res

    # -- anomalies -------------------------------------------------------------------------------
    def _on_anomaly(self, msg: Anomaly) -> None:
        try:
            event = codec.anomaly_from_msg(msg, f"/{msg.robot_id or '?'}/anomalies")
        except (AnomalyError, ValueError, TypeError, RecursionError) as exc:
            self.get_logger().warning(f"anomaly dropped: {str(exc).splitlines()[0][:300]}")
            return
        got = self.ops.receive_anomaly(event, self.now_s())
        self._acks.publish(AnomalyAck(uuid=event.uuid, robot_id=event.robot_id))
        if got.alert is not None:  # one alert per incident, updated
            self._alerts.publish(codec.anomaly_to_msg(got.alert))
        for e in got.events:
            self._feed(e)

    def _on_query(self, req: srv.QueryAnomalies.Request, res: srv.QueryAnomalies.Response) -> Any:
        r = self.ops.query_anomalies(message_fields(req), req.envelope, *self._times())
        res.refused = r.refused
        res.anomalies = [codec.anomaly_to_msg(i.event) for i in r.incidents]
        res.acknowledged = [i.acked_at is not None for i in r.incidents]
        res.ack_notes = [i.ack_note or "" for i in r.incidents]
        return res

    def _on_status(self, req: srv.FleetStatus.Request, res: srv.FleetStatus.Response) -> Any:
        r = self.ops.status(message_fields(req), req.envelope, *self._times())
        res.refused, res.summary_json = r.refused, r.summary_json
        for status, conn in r.robots:
            res.robots.append(codec.status_to_msg(status))
            res.connection.append(conn.value)
        return res

    def _write_reports(self, out_dir: str, shift: str) -> list[Path]:
        self.store.add_samples(self.track.drain())
        return write_reports(self.store, self.inbox, self.dm, out_dir, shift,
                             self.cfg.utc_offset_s, (self.cfg.shift_start, self.cfg.shift_end))

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
