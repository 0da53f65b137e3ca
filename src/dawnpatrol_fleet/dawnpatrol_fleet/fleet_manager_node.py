"""fleet_manager: the control room's node — robot registry, order book and dispatch, patrol,
anomaly inbox, e-stop broadcast, fleet heartbeat and reports; restart-safe over SQLite.

Time base: order windows, DeliveryStop windows (builtin Time) and plan ETAs are *shift-day
seconds*, seconds since local midnight of the shift day. In simulation ROS time already is that
(the sim clock starts at e.g. 02:00 = 7200 s); on a wall clock see ``fleet_logic.shift_seconds``.
Stored event times ('at' columns) are ROS time seconds.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PointStamped
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.task import Future
from std_msgs.msg import Header, Int32MultiArray

from dawnpatrol_core.anomaly.events import Severity, event_from_dict
from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.errors import AnomalyError, ConfigError, DawnPatrolError, OrderError
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.planning.dispatch import DispatchSettings, Robot
from dawnpatrol_core.store.inbox import Inbox, InboxRecord, InboxResult
from dawnpatrol_fleet import fleet_logic as fl
from dawnpatrol_fleet.report import write_reports
from dawnpatrol_fleet.store import FleetStore, connection_state
from dawnpatrol_interfaces.action import Mission
from dawnpatrol_interfaces.msg import (
    Anomaly,
    AnomalyAck,
    DeliveryStop,
    MissionEvent,
    MissionTask,
    RobotStatus,
)
from dawnpatrol_interfaces.srv import (
    AckAnomaly,
    DispatchOrders,
    FleetStatus,
    GenerateReport,
    QueryAnomalies,
    SetEStop,
    SetPatrol,
)
from dawnpatrol_robot.lean_node import DawnPatrolNode
from dawnpatrol_robot.msgconv import (
    ALERT_QOS,
    LATCHED_QOS,
    RELIABLE_QOS,
    msg_to_pose2d,
    pose2d_to_msg,
    seconds_to_time,
    time_to_seconds,
)
from dawnpatrol_robot.node_main import run_node

SEVERITIES = [s.value for s in Severity]
PARAMS: dict[str, tuple[Any, str]] = {
    "map_dir": ("", "district map directory (map.yaml, routes, zones, addresses)"),
    "data_dir": ("~/.dawnpatrol/fleet", "directory of fleet.db and anomalies.db"),
    "robot_ids": (["r1", "r2", "r3"], "robot namespaces of the fleet"),
    "shift_start": ("02:00", "shift start, local HH:MM"),
    "shift_end": ("07:00", "shift end, local HH:MM"),
    "robot_compartments": (4, "parcel compartments per robot (1..32)"),
    "robot_speed": (1.5, "robot top speed used for planning, m/s (0.1..3)"),
    "robot_range_m": (0.0, "battery range per shift, m (0 = unlimited)"),
    "service_time_s": (60.0, "handover time per stop, s"),
    "utc_offset_s": (32400, "local time minus UTC, s (KST = 32400)"),
    "heartbeat_rate_hz": (2.0, "rate of /fleet/heartbeat, Hz (0.5..50)"),
    "stale_after_s": (3.0, "a robot silent this long is 'stale', s"),
    "offline_after_s": (10.0, "a robot silent this long is 'offline' (link loss), s"),
    "patrol_on_start": (False, "start patrolling every robot when the node starts"),
    "solver_time_limit_s": (5.0, "VRPTW solver time per dispatch, s (0.1..120)"),
    "estop_timeout_s": (1.5, "wait for each robot's e-stop confirmation, s"),
    "investigate_dwell_s": (60.0, "observation time at an investigated place, s"),
    "blocked_edge_ttl_s": (1800.0, "a blocked-sidewalk report closes edges this long, s"),
    "track_rate_hz": (10.0, "ground-truth samples kept per robot for compliance, Hz"),
    "patrol_seed": (0, "random seed of the patrol scheduler"),
    "pin_secret": ("", "recipients' PIN secret: robots check PINs; the fleet never sends it"),
}


class FleetManagerNode(DawnPatrolNode):
    def __init__(self) -> None:
        super().__init__("fleet_manager")
        for name, (default, desc) in PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=desc))
        p = {name: self.get_parameter(name).value for name in PARAMS}
        self._configure(p)
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._missions: dict[str, dict[str, Any]] = json.loads(self.store.setting("missions", "{}"))
        self._queues: dict[str, list[list[str]]] = json.loads(self.store.setting("queues", "{}"))
        patrol = json.loads(self.store.setting("patrol", "{}"))
        self._patrol = {r: bool(patrol.get(r, self.patrol_on_start)) for r in self.robot_ids}
        self._handles: dict[str, Any] = {}
        self._arrivals: dict[tuple[str, str], float] = {}
        self._last_conn: dict[str, str] = {}
        self._samples: list[tuple[float, str, float, float, float, str]] = []
        self._last_gt: dict[str, float] = {}
        self._seq = 0
        self.coordinator = fl.PatrolCoordinator(
            self.dm, tuple(self.robot_ids), self.speed, self._shift_now(),
            np.random.default_rng(int(p["patrol_seed"])))
        if self.coordinator.warning:
            self.get_logger().warning(f"patrol best effort: {self.coordinator.warning}")

        self._acks = self.create_publisher(AnomalyAck, "/fleet/anomaly_acks", RELIABLE_QOS)
        self._alerts = self.create_publisher(Anomaly, "/fleet/anomalies", ALERT_QOS)
        self._closed = self.create_publisher(Int32MultiArray, "/fleet/closed_edges", LATCHED_QOS)
        self._closed_sent: list[int] | None = None
        self._investigations: list[tuple[float, float]] = []  # waiting for a free robot
        self._was_online: set[str] = set()  # robots heard from since this node started
        self._reserved: dict[str, float] = {}  # robot -> when its patrol made way for a look
        self._heartbeat = self.create_publisher(Header, "/fleet/heartbeat", RELIABLE_QOS)
        # The e-stop service awaits the robots' answers: it, their clients and its timeout timer
        # must not share the default (mutually exclusive) group, or the await never returns.
        self._async_group = ReentrantCallbackGroup()
        self._mission_clients: dict[str, ActionClient] = {}
        self._estop_clients: dict[str, Any] = {}
        for rid in self.robot_ids:
            self._add_robot(rid)
        self.create_service(FleetStatus, "/fleet/get_status", self._on_status)
        self.create_service(DispatchOrders, "/fleet/dispatch_orders", self._on_dispatch)
        self.create_service(SetPatrol, "/fleet/set_patrol", self._on_set_patrol)
        self.create_service(SetEStop, "/fleet/estop", self._on_estop,
                            callback_group=self._async_group)
        self.create_service(QueryAnomalies, "/fleet/query_anomalies", self._on_query)
        self.create_service(AckAnomaly, "/fleet/ack_anomaly", self._on_ack)
        self.create_service(GenerateReport, "/fleet/generate_report", self._on_report)
        self.create_subscription(PointStamped, "/fleet/investigate", self._on_investigate,
                                 RELIABLE_QOS)
        self.create_timer(1.0, self._tick, clock=self._steady)
        self._stop = threading.Event()
        self._hb_thread = threading.Thread(target=self._beat, daemon=True)
        self._hb_thread.start()
        for rec in self.inbox.incidents(unacked=True):  # restart: operators still see alerts
            self._alerts.publish(_anomaly_msg(rec))
        self._publish_closed_edges()
        self.get_logger().info(
            f"fleet manager up: robots {self.robot_ids}, map {self.dm.name}, data {self.data_dir}, "
            f"{len(self.store.orders())} orders, {len(self._missions)} missions in flight")

    # -- configuration ---------------------------------------------------------------------------
    def _configure(self, p: dict[str, Any]) -> None:
        def rng(name: str, lo: float, hi: float) -> float:
            v = float(p[name])
            if not (math.isfinite(v) and lo <= v <= hi):
                raise ConfigError(f"parameter '{name}': got {p[name]!r}, expected {lo:g}..{hi:g}")
            return v

        if not p["map_dir"]:
            raise ConfigError("parameter 'map_dir': got '', expected a map directory")
        self.map_dir = str(Path(str(p["map_dir"])).expanduser())
        self.dm = load_district_map(self.map_dir)
        self.depot = fl.depot_pose(self.dm)
        self.bays = fl.depot_bays(self.dm)
        ids = [str(r) for r in p["robot_ids"]]
        if not ids or len(set(ids)) != len(ids) or not all(r.isidentifier() for r in ids):
            raise ConfigError(f"parameter 'robot_ids': got {ids!r}, expected unique names")
        self.robot_ids = ids
        self.shift_start = fl.parse_clock("shift_start", p["shift_start"])
        self.shift_end = fl.parse_clock("shift_end", p["shift_end"])
        if self.shift_end <= self.shift_start:
            self.shift_end += fl.DAY_S
        self.compartments = int(rng("robot_compartments", 1, 32))
        self.speed = rng("robot_speed", 0.1, 3.0)
        range_m = rng("robot_range_m", 0.0, 1e7)
        self.range_m = range_m if range_m > 0 else math.inf
        self.service_time = rng("service_time_s", 0.0, 3600.0)
        self.utc_offset = rng("utc_offset_s", -14 * 3600, 14 * 3600)
        self.hb_period = 1.0 / rng("heartbeat_rate_hz", 0.5, 50.0)
        self.stale_after = rng("stale_after_s", 0.1, 3600.0)
        self.offline_after = rng("offline_after_s", self.stale_after, 7200.0)
        self.patrol_on_start = bool(p["patrol_on_start"])
        self.time_limit = rng("solver_time_limit_s", 0.1, 120.0)
        self.estop_timeout = rng("estop_timeout_s", 0.1, 10.0)
        self.investigate_dwell = rng("investigate_dwell_s", 0.0, 3600.0)
        self.blocked_ttl = rng("blocked_edge_ttl_s", 0.0, 86400.0)
        self.track_period = 1.0 / rng("track_rate_hz", 0.1, 100.0)
        self.data_dir = Path(str(p["data_dir"])).expanduser()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = FleetStore(self.data_dir / "fleet.db")
        self.inbox = Inbox(self.data_dir / "anomalies.db")
        self.travel = fl.make_travel(self.dm)

    def _add_robot(self, rid: str) -> None:
        self.create_subscription(RobotStatus, f"/{rid}/status", self._on_robot_status, LATCHED_QOS)
        self.create_subscription(MissionEvent, f"/{rid}/mission_events", self._on_event,
                                 _depth(100))
        self.create_subscription(Anomaly, f"/{rid}/anomalies", self._on_anomaly, ALERT_QOS)
        self.create_subscription(Odometry, f"/{rid}/ground_truth",
                                 lambda m, r=rid: self._on_ground_truth(r, m), RELIABLE_QOS)
        self._mission_clients[rid] = ActionClient(self, Mission, f"/{rid}/mission")
        self._estop_clients[rid] = self.create_client(SetEStop, f"/{rid}/estop",
                                                   callback_group=self._async_group)

    # -- clocks ----------------------------------------------------------------------------------
    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _shift_now(self) -> float:
        return fl.shift_seconds(self._now(), self.utc_offset, self.shift_end)

    def _beat(self) -> None:
        # Its own thread: a long solver run in a service callback must not starve the robots'
        # watchdogs.
        # Under simulated time the rate is kept in wall time fast enough (10 Hz) that even a
        # fast simulation sees a beat every simulated second or two.
        period = min(self.hb_period, 0.1) if self.get_parameter("use_sim_time").value else (
            self.hb_period)
        while not self._stop.wait(period):
            with contextlib.suppress(Exception):
                self._heartbeat.publish(Header(stamp=self.get_clock().now().to_msg(),
                                               frame_id="fleet"))

    # -- registry --------------------------------------------------------------------------------
    def _on_robot_status(self, msg: RobotStatus) -> None:
        rid = msg.robot_id
        if rid not in self.robot_ids:
            return
        self.store.upsert_robot(rid, _status_dict(msg), self._now())
        pose = msg_to_pose2d(msg.pose)
        self._samples.append((self._now(), rid, pose.x, pose.y, abs(float(msg.speed)), "status"))

    def _on_ground_truth(self, rid: str, msg: Odometry) -> None:
        t = time_to_seconds(msg.header.stamp)
        if t - self._last_gt.get(rid, -math.inf) < self.track_period - 1e-6:
            return
        self._last_gt[rid] = t
        v = msg.twist.twist.linear
        self._samples.append((t, rid, msg.pose.pose.position.x, msg.pose.pose.position.y,
                              math.hypot(v.x, v.y), "ground_truth"))

    def _views(self) -> list[fl.RobotView]:
        now = self._now()
        out = []
        for r in self.store.robots():
            s = r.status
            out.append(fl.RobotView(
                r.id, connection_state(r.last_seen, now, self.stale_after, self.offline_after),
                str(s.get("mode", "idle")), bool(s.get("estopped", False)),
                float(s.get("x", 0.0)), float(s.get("y", 0.0)),
                tuple(s.get("parcels_on_board", [])), float(s.get("stamp", 0.0))))
        return out

    def _free(self, include_patrol: bool = False) -> list[str]:
        busy = [r for r, m in self._missions.items()
                if not (include_patrol and m["kind"] == "patrol")]
        return fl.free_robots(self._views(), busy)

    def _tick(self) -> None:
        now = self._now()
        for v in self._views():
            before = self._last_conn.get(v.id)
            self._last_conn[v.id] = v.connection
            if v.connection == "online":
                self._was_online.add(v.id)
            # a link that never came up at start is not a link lost
            if (before is not None and before != "offline" and v.connection == "offline"
                    and v.id in self._was_online):
                self.store.record_incident(v.id, "link_lost", "no status for "
                                           f"{self.offline_after:g} s", now)
                if self._missions.get(v.id, {}).get("kind") == "deliver":
                    self._robot_failed(v.id, f"link lost with {v.id}")
            mission = self._missions.get(v.id)
            # A mission whose action we no longer follow (the fleet or the robot's mission node
            # restarted) is over when the robot says idle, in a status sent well after the
            # mission was (not the one from before it started).
            if (mission is not None and v.id not in self._handles and v.mode == "idle"
                    and v.connection == "online" and now - mission["sent_at"] > 5.0
                    and v.stamp > mission["sent_at"] + 3.0):
                self._finish_mission(v.id, None)
        if self._samples:
            rows, self._samples = self._samples, []
            self.store.add_samples(rows)
        self._reassign_waiting()
        waiting, self._investigations = self._investigations, []
        for i, (x, y) in enumerate(waiting):
            if not self._investigate(x, y):
                self._investigations = waiting[i:]
                break
        self._patrol_step()

    # -- missions --------------------------------------------------------------------------------
    def _send_mission(self, rid: str, kind: str, tasks: list[fl.TaskPlan],
                      extra: dict[str, Any] | None = None) -> bool:
        self._seq += 1
        mid = f"{rid}-{kind}-{int(self._now())}-{self._seq}"
        goal = Mission.Goal(mission_id=mid, tasks=[_task_msg(t) for t in tasks])
        self._missions[rid] = {"id": mid, "kind": kind, "sent_at": self._now(),
                               "tasks": [t.id for t in tasks], **(extra or {})}
        self._save_missions()
        client = self._mission_clients[rid]
        if not client.server_is_ready():
            self.get_logger().warning(f"{rid}: mission server not available; {mid} not sent")
            self._finish_mission(rid, None, rejected=True)
            return False
        fut = client.send_goal_async(goal)
        fut.add_done_callback(lambda f, r=rid, m=mid: self._on_goal_response(r, m, f))
        return True

    def _on_goal_response(self, rid: str, mid: str, fut: Future) -> None:
        handle = fut.result()
        if handle is None or not handle.accepted:
            if self._missions.get(rid, {}).get("id") == mid:
                self.get_logger().warning(f"{rid}: mission {mid} rejected")
                self._finish_mission(rid, None, rejected=True)
            return
        self._handles[rid] = handle
        handle.get_result_async().add_done_callback(
            lambda f, r=rid, m=mid: self._on_result(r, m, f))

    def _on_result(self, rid: str, mid: str, fut: Future) -> None:
        if self._missions.get(rid, {}).get("id") != mid:
            return
        wrapped = fut.result()
        if wrapped is None or wrapped.status == GoalStatus.STATUS_UNKNOWN:
            # The robot's mission node restarted and no longer knows this goal: it resumes the
            # mission from its persisted state. Keep the mission; its events still count, and
            # _tick finishes it once the robot reports idle.
            self._handles.pop(rid, None)
            self.get_logger().warning(f"{rid}: mission {mid}: the robot's mission node "
                                      "restarted; following it by status until it is idle")
            return
        if wrapped.status != GoalStatus.STATUS_SUCCEEDED:
            self.get_logger().info(f"{rid}: mission {mid} ended with status {wrapped.status}: "
                                   f"{wrapped.result.message}")
        self._finish_mission(rid, wrapped.result)

    def _finish_mission(self, rid: str, result: Any, rejected: bool = False) -> None:
        mission = self._missions.pop(rid, None)
        self._handles.pop(rid, None)
        self._save_missions()
        if mission is None:
            return
        now = self._now()
        if mission["kind"] == "patrol":
            self.coordinator.visit_done(rid, self._shift_now())
            return
        if mission["kind"] == "investigate" and rejected and "at" in mission:
            self._investigations.append(tuple(mission["at"]))  # still to be looked at
            return
        if mission["kind"] != "deliver":
            return
        orders = mission.get("orders", [])
        if rejected:
            self._requeue(orders, f"{rid} did not accept the mission")
            self._requeue([o for trip in self._queues.pop(rid, []) for o in trip],
                          f"{rid} did not accept the mission")
            self._save_missions()
            return
        done = set(result.completed_ids) | set(result.failed_ids) if result is not None else set()
        if result is not None:
            for oid, why in zip(result.failed_ids, result.failure_reasons, strict=False):
                rec = self._order(oid)
                if rec is not None and rec.state == "assigned":
                    self.store.set_order_state(oid, "failed", now, reason=why)
        unattempted = [o for o in orders if result is not None and o not in done]
        if unattempted:
            self._robot_failed(rid, f"{rid} aborted its mission", unattempted)
            return
        trips = self._queues.get(rid, [])
        if trips:
            nxt = trips.pop(0)
            self._save_missions()
            self._send_delivery(rid, nxt)

    def _order(self, oid: str) -> Any:
        return next((o for o in self.store.orders() if o.id == oid), None)

    def _send_delivery(self, rid: str, order_ids: list[str]) -> None:
        orders = {o.id: fl.order_from_dict(o.order) for o in self.store.orders()
                  if o.id in order_ids}
        k = self.robot_ids.index(rid) if rid in self.robot_ids else 0
        tasks = fl.delivery_tasks(order_ids, orders, self.dm, self.bays[k % len(self.bays)])
        self._send_mission(rid, "deliver", tasks, {"orders": order_ids})

    def _requeue(self, order_ids: list[str], why: str) -> None:
        now = self._now()
        for oid in order_ids:
            rec = self._order(oid)
            if rec is not None and rec.state == "assigned":
                self.store.set_order_state(oid, "planned", now, reason=f"awaiting a robot: {why}")

    def _robot_failed(self, rid: str, why: str, unattempted: list[str] | None = None) -> None:
        """A delivery robot failed: parcels still at the depot (later trips) go back to the
        waiting list and are replanned onto free robots; parcels on board stay with it."""
        now = self._now()
        mission = self._missions.pop(rid, None)
        self._handles.pop(rid, None)
        on_board = unattempted if unattempted is not None else (
            mission.get("orders", []) if mission else [])
        for oid in on_board:
            rec = self._order(oid)
            if rec is not None and rec.state == "assigned":
                self.store.set_order_state(oid, "failed", now, reason=f"{why}; parcel on board")
        self._requeue([o for trip in self._queues.pop(rid, []) for o in trip], why)
        self._save_missions()
        self.store.record_incident(rid, "mission_failed", why, now)

    def _reassign_waiting(self) -> None:
        waiting = self.store.orders("planned")
        free = self._free(include_patrol=True)
        if not waiting or not free:
            return
        orders = [fl.order_from_dict(o.order) for o in waiting]
        plan = self._plan(orders, free)
        self._apply_plan(plan, {o.id: o for o in orders}, "reassigned")

    def _robots(self, ids: list[str]) -> list[Robot]:
        return [Robot(r, self.compartments, self.shift_start, self.shift_end, self.speed,
                      self.range_m) for r in ids]

    def _plan(self, orders: list[Order], robot_ids: list[str]) -> dict[str, Any]:
        settings = DispatchSettings(service_time_s=self.service_time,
                                    time_limit_s=self.time_limit)
        plan = fl.plan_batch(orders, self._robots(robot_ids), self.depot, self.travel, settings,
                             self._shift_now())
        return fl.plan_to_json(plan, {o.id: o for o in orders}, self.map_dir)

    def _apply_plan(self, plan: dict[str, Any], orders: dict[str, Order], why: str) -> None:
        now = self._now()
        for u in plan["unserved"]:
            self.store.set_order_state(u["order_id"], "unserved", now, reason=u["reason"])
        for route in plan["routes"]:
            trips = fl.route_trips(route)
            if not trips:
                continue
            rid = route["robot_id"]
            for s in route["stops"]:
                self.store.set_order_state(s["order_id"], "assigned", now, robot_id=rid,
                                           reason=why)
            handle = self._handles.get(rid)
            if self._missions.get(rid, {}).get("kind") == "patrol":
                if handle is not None:
                    handle.cancel_goal_async()
                self._missions.pop(rid, None)
                self._handles.pop(rid, None)
                self.coordinator.visit_done(rid, self._shift_now())
            self._queues[rid] = trips[1:]
            self._send_delivery(rid, trips[0])
        self._save_missions()

    def _save_missions(self) -> None:
        self.store.set_setting("missions", json.dumps(self._missions))
        self.store.set_setting("queues", json.dumps(self._queues))

    def _on_event(self, msg: MissionEvent) -> None:
        t = time_to_seconds(msg.header.stamp) or self._now()
        rid, tid, kind = msg.robot_id, msg.task_id, msg.task_kind
        x, y = msg.position.x, msg.position.y
        if msg.event == MissionEvent.EVENT_HANDED_OVER:
            self.store.record_delivery(tid, rid, t, x, y, msg.method)
        elif msg.event == MissionEvent.EVENT_FAILED and kind == MissionTask.KIND_DELIVER:
            self.store.set_order_state(tid, "failed", t, reason=msg.detail or "failed")
        elif msg.event == MissionEvent.EVENT_RETURNED:
            for rec in self.store.orders("failed"):
                if rec.robot_id == rid:
                    self.store.set_order_state(rec.id, "returned", t, reason=rec.reason)
        elif msg.event == MissionEvent.EVENT_ARRIVED and kind in ("patrol", "investigate"):
            self._arrivals[(rid, tid)] = t
        elif msg.event == MissionEvent.EVENT_DWELL_DONE and kind == MissionTask.KIND_PATROL:
            self.store.record_visit(rid, tid, self._arrivals.pop((rid, tid), t), t)
        elif msg.event == MissionEvent.EVENT_DWELL_DONE and kind == MissionTask.KIND_INVESTIGATE:
            self.store.record_incident(rid, "investigation",
                                       f"observed ({x:.1f}, {y:.1f}): {msg.detail}", t)

    # -- patrol and investigation -------------------------------------------------------------
    def _patrol_step(self) -> None:
        views = {v.id: v for v in self._views()}
        now = self._now()
        for rid in self._free():
            if not self._patrol.get(rid) or rid not in views:
                continue
            if now - self._reserved.get(rid, -math.inf) < 30.0:
                continue  # stopped for an investigation that has not gone out yet
            v = views[rid]
            task = self.coordinator.next_task(rid, self._shift_now(), v.x, v.y)
            if task is None:
                continue
            pose = self.coordinator.hotspot_pose(task.hotspot_id)
            self._send_mission(rid, "patrol", [fl.TaskPlan("patrol", task.hotspot_id, pose,
                                                           dwell_s=task.dwell_s)],
                               {"hotspot": task.hotspot_id})

    def _on_set_patrol(self, req: SetPatrol.Request, res: SetPatrol.Response) -> Any:
        target = req.robot_id or "*"
        robots = self.robot_ids if target == "*" else [target]
        if target != "*" and target not in self.robot_ids:
            res.success, res.message = False, f"unknown robot '{target}'"
        else:
            for r in robots:
                self._patrol[r] = req.active
                if not req.active and self._missions.get(r, {}).get("kind") == "patrol":
                    handle = self._handles.get(r)
                    if handle is not None:
                        handle.cancel_goal_async()
                    self._finish_mission(r, None)
            self.store.set_setting("patrol", json.dumps(self._patrol))
            res.success = True
            res.message = f"patrol {'started' if req.active else 'stopped'}: {', '.join(robots)}"
        self._audit(req.operator_name, "set_patrol",
                    {"active": req.active, "robot_id": target}, res.success, res.message)
        return res

    def _on_investigate(self, msg: PointStamped) -> None:
        x, y = msg.point.x, msg.point.y
        if not (math.isfinite(x) and math.isfinite(y)) or not self.dm.is_allowed(x, y):
            self.get_logger().warning(f"investigate ({x}, {y}): outside the operating area")
            return
        if not self._investigate(x, y):
            # Nobody is free now (deliveries first): the request waits for the next free robot.
            self._investigations.append((x, y))
            self.get_logger().warning(f"investigate ({x:.1f}, {y:.1f}): no free robot yet, "
                                      "queued")

    def _investigate(self, x: float, y: float) -> bool:
        """Send the nearest free robot (delivering robots are not) to look at (x, y)."""
        rid = fl.choose_investigator(self.dm, self._views(), self._free(include_patrol=True),
                                     x, y, self.speed)
        if rid is None:
            return False
        if self._missions.get(rid, {}).get("kind") == "patrol":
            # Stop the patrol first; the robot takes the investigation once it has let go of it
            # (a robot refuses a mission while one is in progress). Held back from new patrols.
            handle = self._handles.get(rid)
            if handle is not None:
                handle.cancel_goal_async()
            self._finish_mission(rid, None)
            self._reserved[rid] = self._now()
            return False
        self._reserved.pop(rid, None)
        self._seq += 1
        task = fl.TaskPlan("investigate", f"inv-{self._seq}", fl.Pose2D(x, y, 0.0),
                           dwell_s=fl.investigate_dwell_s(self.dm, x, y, self.investigate_dwell))
        self._send_mission(rid, "investigate", [task], {"at": [x, y]})
        self.get_logger().info(f"investigate ({x:.1f}, {y:.1f}): {rid} goes, observes "
                               f"{task.dwell_s:.0f} s")
        return True

    # -- dispatch --------------------------------------------------------------------------------
    def _on_dispatch(self, req: DispatchOrders.Request, res: DispatchOrders.Response) -> Any:
        args = {"source": req.source_name, "dry_run": req.dry_run}
        try:
            orders = self._parse_orders(req)
            free = self._free(include_patrol=True)
            robots = free if free or not req.dry_run else list(self.robot_ids)
            if not robots:
                raise DawnPatrolError("no robot is online and free to take deliveries")
            plan = self._plan(orders, robots)
            res.plan_json = json.dumps(plan)
            served = sum(len(r["stops"]) for r in plan["routes"])
            res.success = True
            res.message = (f"{'planned (dry run)' if req.dry_run else 'dispatched'}: "
                           f"{served} of {len(orders)} orders on {len(robots)} robots, "
                           f"{len(plan['unserved'])} unserved")
            if not req.dry_run:
                self._store_batch(req, orders, plan)
        except OrderError as exc:
            res.success = False
            res.problems = [self._relabel(line, req) for line in str(exc).splitlines()]
            res.message = f"rejected: {len(res.problems)} problem(s); nothing dispatched"
        except DawnPatrolError as exc:
            res.success, res.message = False, str(exc).splitlines()[0]
        self._audit(req.operator_name, "dispatch_orders", args, res.success, res.message)
        return res

    def _relabel(self, line: str, req: DispatchOrders.Request) -> str:
        tmp = getattr(self, "_tmp_path", "")
        return line.replace(tmp, req.source_name or "orders") if tmp else line

    def _parse_orders(self, req: DispatchOrders.Request) -> list[Order]:
        fmt = req.format.lower()
        if fmt not in ("csv", "yaml", "json"):
            raise OrderError(f"{req.source_name}: field 'format': got {req.format!r}, "
                             "expected csv, yaml or json")
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"orders.{fmt}"
            path.write_text(req.orders_text, encoding="utf-8")
            self._tmp_path = str(path)
            orders = fl.load_batch(path, self.dm, self._shift_now(), self.service_time,
                                   self.compartments)
        known = self.store.known_order_ids()
        dup = sorted(o.id for o in orders if o.id in known)
        if dup:
            raise OrderError("\n".join(
                f"{req.source_name}: field 'id': got {d!r}, expected an id not already in the "
                "order book" for d in dup))
        return orders

    def _store_batch(self, req: DispatchOrders.Request, orders: list[Order],
                     plan: dict[str, Any]) -> None:
        eta = {s["order_id"]: (r["robot_id"], s["eta"]) for r in plan["routes"]
               for s in r["stops"]}
        why = {u["order_id"]: u["reason"] for u in plan["unserved"]}
        rows = []
        for o in orders:
            rid, t = eta.get(o.id, (None, None))
            state = "planned" if rid is not None else "unserved"
            rows.append((o.id, fl.order_to_dict(o), state, rid, why.get(o.id, ""), t))
        self.store.add_batch(req.source_name, req.operator_name or "unknown", plan, rows,
                             self._now())
        self._apply_plan(plan, {o.id: o for o in orders}, "")

    # -- e-stop ----------------------------------------------------------------------------------
    async def _on_estop(self, req: SetEStop.Request, res: SetEStop.Response) -> Any:
        known = {r.id for r in self.store.robots()} | set(self.robot_ids)
        targets = sorted(known) if req.robot_id in ("*", "") else [req.robot_id]
        futures: dict[str, Future] = {}
        for rid in targets:
            if rid not in self._estop_clients:
                self._estop_clients[rid] = self.create_client(SetEStop, f"/{rid}/estop",
                                                   callback_group=self._async_group)
            client = self._estop_clients[rid]
            if client.service_is_ready():
                futures[rid] = client.call_async(SetEStop.Request(
                    engage=req.engage, robot_id=rid, reason=req.reason,
                    operator_name=req.operator_name))
        await self._wait_all(list(futures.values()), self.estop_timeout)
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
                f"{req.reason or 'operator'} by {req.operator_name or 'unknown'}; "
                f"{'confirmed' if confirmed else 'not confirmed'}", now)
        res.success = ok
        res.message = f"{'e-stop' if req.engage else 'resume'}: " + "; ".join(parts)
        self._audit(req.operator_name, "estop" if req.engage else "resume",
                    {"robot_id": req.robot_id, "reason": req.reason}, ok, res.message)
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
        source = f"/{msg.robot_id or '?'}/anomalies"
        try:
            if len(msg.evidence) > 16 * 1024:
                raise AnomalyError(f"{source}: field 'evidence': got {len(msg.evidence)} bytes, "
                                   "expected at most 16 KiB")
            ev = event_from_dict(_anomaly_dict(msg), source)
        except (AnomalyError, ValueError, TypeError, RecursionError) as exc:
            self.get_logger().warning(f"anomaly dropped: {str(exc).splitlines()[0][:300]}")
            return
        result = self.inbox.upsert(ev, self._now())
        self._acks.publish(AnomalyAck(uuid=ev.uuid, robot_id=ev.robot_id))
        if result is not InboxResult.DUPLICATE:
            incident = self.inbox.incident(ev.uuid)  # one alert per incident, updated
            self._alerts.publish(_anomaly_msg(incident) if incident is not None else msg)
            if ev.kind == "blocked_sidewalk":
                self._publish_closed_edges()

    def _publish_closed_edges(self) -> None:
        reports = [(r.event.x, r.event.y, r.event.last_seen)
                   for r in self.inbox.query(kind="blocked_sidewalk")]
        now = max([self._now()] + [t for _, _, t in reports]) if reports else self._now()
        edges = fl.closed_edges(self.dm, reports, now, self.blocked_ttl)
        if edges != self._closed_sent:  # a blocked sidewalk reported again changes nothing
            self._closed_sent = edges
            self._closed.publish(Int32MultiArray(data=edges))

    def _on_query(self, req: QueryAnomalies.Request, res: QueryAnomalies.Response) -> Any:
        recs = self.inbox.incidents(since=req.since_s or None, kind=req.kind or None,
                                    unacked=req.unacknowledged_only)
        res.anomalies = [_anomaly_msg(r) for r in recs]
        res.acknowledged = [r.acked_at is not None for r in recs]
        res.ack_notes = [r.ack_note or "" for r in recs]
        return res

    def _on_ack(self, req: AckAnomaly.Request, res: AckAnomaly.Response) -> Any:
        who = req.operator_name or "unknown"
        try:
            res.success = self.inbox.ack(req.uuid, who, req.note, self._now())
            res.message = (f"acknowledged {req.uuid}" if res.success
                           else f"unknown anomaly '{req.uuid}'")
        except AnomalyError as exc:
            res.success, res.message = False, str(exc)
        self._audit(who, "ack_anomaly", {"uuid": req.uuid, "note": req.note}, res.success,
                    res.message)
        return res

    # -- reports and audit -----------------------------------------------------------------------
    def _on_report(self, req: GenerateReport.Request, res: GenerateReport.Response) -> Any:
        try:
            if self._samples:
                rows, self._samples = self._samples, []
                self.store.add_samples(rows)
            files = write_reports(self.store, self.inbox, self.dm, req.out_dir, req.shift,
                                  self.utc_offset, (self.shift_start, self.shift_end))
            res.success, res.files = True, [str(f) for f in files]
            res.message = f"wrote {len(files)} files to {req.out_dir}"
        except (OSError, DawnPatrolError, ValueError) as exc:
            res.success, res.message = False, f"report failed: {exc}"
        self._audit(req.operator_name, "generate_report",
                    {"out_dir": req.out_dir, "shift": req.shift}, res.success, res.message)
        return res

    def _on_status(self, req: FleetStatus.Request, res: FleetStatus.Response) -> Any:
        now = self._now()
        for r in self.store.robots():
            res.robots.append(_status_msg(r.id, r.status))
            res.connection.append(
                connection_state(r.last_seen, now, self.stale_after, self.offline_after))
        res.summary_json = json.dumps({
            "orders": fl.order_counts(o.state for o in self.store.orders()),
            "unacked_alerts": len(self.inbox.incidents(unacked=True)),
            "patrol": {r: self._patrol.get(r, False) for r in self.robot_ids},
            "missions": {r: m["kind"] for r, m in self._missions.items()},
            "shift_now_s": round(self._shift_now(), 1),
        }, sort_keys=True)
        return res

    def _audit(self, who: str, command: str, args: dict[str, Any], ok: bool, result: str) -> None:
        self.store.audit(who or "unknown", command, args, ok, result, self._now())
        self.get_logger().info(f"audit: {who or 'unknown'} {command} {args} -> "
                               f"{'ok' if ok else 'FAILED'}: {result}")

    def close(self) -> None:
        self._stop.set()
        self.store.close()
        self.inbox.close()


# -- message conversions ------------------------------------------------------------------
def _depth(n: int) -> Any:
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=n, reliability=ReliabilityPolicy.RELIABLE,
                      history=HistoryPolicy.KEEP_LAST)


def _status_dict(m: RobotStatus) -> dict[str, Any]:
    p = msg_to_pose2d(m.pose)
    return {
        "mode": fl.MODES[m.mode] if m.mode < len(fl.MODES) else "fault", "mode_code": m.mode,
        "x": p.x, "y": p.y, "yaw": p.theta, "latitude": _num(m.latitude),
        "longitude": _num(m.longitude), "localization_health": m.localization_health,
        "localization_quality": float(m.localization_quality),
        "battery_percent": float(m.battery_percent), "speed": float(m.speed),
        "current_task": m.current_task, "parcels_on_board": list(m.parcels_on_board),
        "eta_s": _num(m.eta_s), "estopped": bool(m.estopped), "last_error": m.last_error,
        "stamp": time_to_seconds(m.header.stamp),
    }


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _status_msg(rid: str, s: dict[str, Any]) -> RobotStatus:
    m = RobotStatus(robot_id=rid, mode=int(s.get("mode_code", 0)),
                    localization_health=int(s.get("localization_health", 0)),
                    localization_quality=float(s.get("localization_quality", 0.0)),
                    battery_percent=float(s.get("battery_percent", 0.0)),
                    speed=float(s.get("speed", 0.0)), current_task=s.get("current_task", ""),
                    parcels_on_board=list(s.get("parcels_on_board", [])),
                    estopped=bool(s.get("estopped", False)), last_error=s.get("last_error", ""))
    m.header.stamp = seconds_to_time(float(s.get("stamp", 0.0)))
    m.header.frame_id = "map"
    m.pose = pose2d_to_msg(fl.Pose2D(s.get("x", 0.0), s.get("y", 0.0), s.get("yaw", 0.0)))
    for name in ("latitude", "longitude", "eta_s"):
        v = s.get(name)
        setattr(m, name, math.nan if v is None else float(v))
    return m


def _task_msg(t: fl.TaskPlan) -> MissionTask:
    m = MissionTask(kind=t.kind, id=t.id, pose=pose2d_to_msg(t.pose), dwell_s=float(t.dwell_s))
    if t.kind == MissionTask.KIND_DELIVER:
        m.stop = DeliveryStop(
            order_id=t.order_id, address_id=t.address_id, pose=pose2d_to_msg(t.pose),
            window_start=seconds_to_time(max(0.0, t.window_start)),
            window_end=seconds_to_time(max(0.0, t.window_end)),
            handover_method=t.method, compartments=t.compartments)
    return m


def _anomaly_dict(m: Anomaly) -> dict[str, Any]:
    evidence = json.loads(m.evidence) if m.evidence.strip() else {}
    # Robots send their event revision inside the evidence JSON (msgconv.anomaly_event_to_msg);
    # it is not evidence, and validate_event rejects any key but track and scan.
    revision = evidence.pop("revision", None) if isinstance(evidence, dict) else None
    if m.severity >= len(SEVERITIES):
        raise AnomalyError(f"/{m.robot_id}/anomalies: field 'severity': got {m.severity}, "
                           "expected 0..3")
    lat = m.latitude if math.isfinite(m.latitude) else None
    lon = m.longitude if math.isfinite(m.longitude) else None
    return {
        "uuid": m.uuid, "robot_id": m.robot_id, "kind": m.kind,
        "severity": SEVERITIES[m.severity], "confidence": float(m.confidence),
        "x": m.position.x, "y": m.position.y, "lat": lat, "lon": lon, "zone": m.zone,
        "first_seen": time_to_seconds(m.first_seen), "last_seen": time_to_seconds(m.last_seen),
        "count": int(m.count), "description": m.description, "evidence": evidence,
        # Without a sent revision the merge count, which grows with every update, orders them.
        "revision": min(int(m.count), 10_000_000) if revision is None else revision,
    }


def _anomaly_msg(r: InboxRecord) -> Anomaly:
    e = r.event
    m = Anomaly(uuid=e.uuid, robot_id=e.robot_id, kind=e.kind,
                severity=SEVERITIES.index(e.severity.value), zone=e.zone,
                confidence=float(e.confidence), count=e.count, description=e.description,
                latitude=math.nan if e.lat is None else e.lat,
                longitude=math.nan if e.lon is None else e.lon,
                first_seen=seconds_to_time(e.first_seen), last_seen=seconds_to_time(e.last_seen))
    m.position.x, m.position.y = e.x, e.y
    m.evidence = json.dumps({"track": [list(t) for t in e.evidence.track],
                             "scan": [list(s) for s in e.evidence.scan]}, separators=(",", ":"))
    return m


def main(args: list[str] | None = None) -> int:
    return run_node("fleet_manager", FleetManagerNode, args)


if __name__ == "__main__":
    sys.exit(main())
