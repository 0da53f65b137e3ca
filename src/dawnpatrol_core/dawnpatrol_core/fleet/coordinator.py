"""The fleet coordinator: every fleet decision in one pure, single-threaded object. Events in
(robot status, mission outcomes and events, the clock, operator requests), commands out
(missions to send or cancel, order states, incidents, closed sidewalks, log lines, answers).

The fleet manager node and the headless shift both drive it. Its state (missions in flight, trips
still to send, patrol flags, waiting investigations, the order book) lives in a FleetRepository,
so a new coordinator over the same store carries on where the last one stopped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.errors import DawnPatrolError, OrderError
from dawnpatrol_core.fleet.calls import Candidate, choose_responder, lookout, sees
from dawnpatrol_core.fleet.closures import closed_edges
from dawnpatrol_core.fleet.commands import (
    CancelMission,
    ClosedEdgesChanged,
    Command,
    DispatchAnswered,
    IncidentRecorded,
    InvestigateAnswered,
    Level,
    LogLine,
    OrderStateChanged,
    PatrolAnswered,
    SendMission,
)
from dawnpatrol_core.fleet.config import FleetConfig
from dawnpatrol_core.fleet.depot import depot_bays, depot_pose
from dawnpatrol_core.fleet.events import (
    DispatchRequested,
    Event,
    InvestigateRequested,
    MissionAccepted,
    MissionEventReceived,
    MissionOutcome,
    MissionRejected,
    MissionResultReceived,
    PatrolRequested,
    SidewalkReports,
    StatusReceived,
    TaskEvent,
    Tick,
)
from dawnpatrol_core.fleet.patrol import (
    VISIT_PREFIX,
    Ahead,
    PatrolCoordinator,
    arrivals,
    first_arrivals,
    hotspot_of,
    slack_s,
)
from dawnpatrol_core.fleet.plans import parse_batch, plan_batch, plan_to_json
from dawnpatrol_core.fleet.records import (
    MissionKind,
    MissionRecord,
    OrderRecord,
    OrderState,
    order_counts,
)
from dawnpatrol_core.fleet.registry import (
    Connection,
    RobotMode,
    RobotStatusReport,
    RobotView,
    connection_state,
    free_robots,
    robot_view,
)
from dawnpatrol_core.fleet.tasks import (
    RETURN_TASK_ID,
    TaskKind,
    TaskPlan,
    delivery_tasks,
    investigate_dwell_s,
)
from dawnpatrol_core.fleet.tasks import route_trips as trips_of
from dawnpatrol_core.fleet.travel import make_travel
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.patrol.interleave import RouteStop
from dawnpatrol_core.planning.dispatch import (
    DispatchPlan,
    DispatchSettings,
    PatrolVisit,
    Robot,
    UnservedCause,
)
from dawnpatrol_core.shift_clock import clock, shift_seconds
from dawnpatrol_core.store.fleet import FleetRepository, NewOrder, RobotRecord

#: A mission the fleet no longer follows (the fleet or the robot's mission node restarted) is
#: over when the robot says idle this long after it was sent (s), in a status stamped at least
#: FRESH_STATUS_S after it was sent (not the one from before it started).
ADOPT_AFTER_S = 5.0
FRESH_STATUS_S = 3.0
#: A robot whose patrol made way for an investigation is held back from new patrols this long (s)
#: while the investigation waits for it to let go of the patrol.
RESERVE_S = 30.0
#: A robot whose patrol was cancelled to make way for a delivery trip gets the trip once its status
#: shows it idle after the cancel (a robot refuses a mission while one is in progress), or after
#: this long (s) at the latest.
LET_GO_S = 10.0
#: What an optional patrol visit (patrol_bounds: soft) is worth against driving (metres): a
#: quarter of a parcel's worth, so parcels come first and visits still beat short detours.
VISIT_VALUE_M = 5_000.0
#: Hard hotspot bounds are held while plans slip (a call, a blocked sidewalk, a slow door):
#: every GUARD_PERIOD_S the fleet checks the hotspots due within GUARD_HORIZON_S; one no robot
#: will reach by then (GUARD_SLACK_S to spare) along its stops gets the robot that can be there
#: first with every parcel window held, once it must leave to arrive GUARD_LEAD_S before the
#: bound runs out.
GUARD_PERIOD_S = 10.0
GUARD_HORIZON_S = 900.0
GUARD_SLACK_S = 60.0
GUARD_LEAD_S = 180.0
#: A robot whose trip did not get back to the depot is sent back before its next trip at most
#: this many times in a row; then its waiting trips go to other robots.
HOMING_TRIES = 2


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """The fleet at a glance: orders per state, patrol flag and mission kind per robot, and the
    shift clock (shift-day s)."""

    orders: dict[str, int]
    patrol: dict[str, bool]
    missions: dict[str, str]
    shift_now_s: float


class FleetCoordinator:
    """Fleet decisions over ``store``: call :meth:`handle` with each event and carry out the
    commands it returns, in order. ``now`` is always ROS time in seconds (shift-day seconds in
    simulation). Not thread-safe: drive it from one thread."""

    def __init__(self, config: FleetConfig, dm: DistrictMap, store: FleetRepository, now: float,
                 map_dir: str = "", rng: np.random.Generator | None = None) -> None:
        self.cfg, self.dm, self.store = config, dm, store
        self.map_dir = map_dir or config.map_dir
        self.robot_ids = config.robot_ids
        self.depot = depot_pose(dm)
        self.bays = depot_bays(dm)
        self.travel = make_travel(dm)
        # hotspot id -> (observation pose, watch time s)
        self._hotspots = {h.id: (h.observation_pose, float(h.dwell_s)) for h in dm.hotspots}
        self.patrol = PatrolCoordinator(
            dm, self.robot_ids, config.speed, self.shift_now(now),
            rng if rng is not None else np.random.default_rng(config.patrol_seed), self.travel)
        self._now = now
        # Restored from the store: what the last run knew.
        self._registry: dict[str, RobotRecord] = {r.id: r for r in store.robots()}
        self._orders: dict[str, OrderRecord] = {o.id: o for o in store.orders()}
        self._missions = {rid: MissionRecord.from_dict(rid, d)
                          for rid, d in json.loads(store.setting("missions", "{}")).items()}
        self._queues: dict[str, list[tuple[str, ...]]] = {
            rid: [tuple(t) for t in trips]
            for rid, trips in json.loads(store.setting("queues", "{}")).items()}
        flags = json.loads(store.setting("patrol", "{}"))
        self._patrolling = {r: bool(flags.get(r, config.patrol_on_start)) for r in self.robot_ids}
        self._investigations: list[tuple[float, float]] = [
            (float(x), float(y)) for x, y in json.loads(store.setting("investigations", "[]"))]
        # This run only.
        self._followed: set[str] = set()  # mission ids whose result will come
        self._last_conn: dict[str, Connection] = {}
        self._was_online: set[str] = set()  # heard from since this coordinator started
        self._reserved: dict[str, float] = {}  # robot -> when its patrol made way for a look
        self._letting_go: dict[str, float] = {}  # robot -> when its patrol made way for a trip
        # robot -> (the look, the rest of its trip or None when it was not delivering, the
        # called place) it takes once it has let go of its mission
        self._calls: dict[str, tuple[TaskPlan, tuple[str, ...] | None, tuple[float, float]]] = {
            rid: (_look_from(c), None if c["rest"] is None else tuple(str(i) for i in c["rest"]),
                  (float(c["at"][0]), float(c["at"][1])))
            for rid, c in json.loads(store.setting("calls", "{}")).items()}
        # robot -> (the look, the called place) it takes once its trip's last parcel is handed
        # over (a call that waits for it rather than make parcels late)
        self._after: dict[str, tuple[TaskPlan, tuple[float, float]]] = {
            rid: (_look_from(c), (float(c["at"][0]), float(c["at"][1])))
            for rid, c in json.loads(store.setting("calls_after", "{}")).items()}
        self._done: dict[str, set[str]] = {}  # mission id -> task ids done (events heard)
        self._homing: dict[str, int] = {}  # robot -> failed returns in a row, trips waiting
        self._guard_next = -math.inf  # when the hotspot bounds are checked next (s)
        self._guard_told: dict[str, float] = {}  # hotspot -> the due time told as missed
        # hotspot -> (robot, task id) of the watch the guard sent, until it is made
        self._guarding: dict[str, tuple[str, str]] = {}
        self._arrivals: dict[tuple[str, str], float] = {}
        # robot -> (task id, x m, y m) of the look or patrol watch it is at now
        self._dwelling: dict[str, tuple[str, float, float]] = {}
        # look mission id -> the called place it watches (its watch point may stand off)
        self._look_place: dict[str, tuple[float, float]] = {}
        # robot -> (hotspot, its watch point, the called place) of a call that joined the
        # robot's visit of a hotspot that sees the place (until it has made that visit)
        self._joined: dict[str, tuple[str, tuple[float, float], tuple[float, float]]] = {}
        self._closed_sent: tuple[int, ...] | None = None
        # (free robots, waiting orders) last planned: the same again is not replanned
        self._waiting_tried: tuple[frozenset[str], frozenset[str]] | None = None
        self._seq = 0
        self._out: list[Command] = []

    # -- the one entry point ---------------------------------------------------------------------
    def handle(self, event: Event, now: float) -> list[Command]:
        """Decide on ``event`` at ROS time ``now`` (s); returns the commands to carry out."""
        self._now = now
        match event:
            case StatusReceived(status):
                self._on_status(status)
            case MissionAccepted(rid, mid):
                if self._current(rid, mid) is not None:
                    self._followed.add(mid)
            case MissionRejected(rid, mid, reason):
                if self._current(rid, mid) is not None:
                    self._log(Level.WARNING, f"{rid}: mission {mid} rejected"
                              + (f": {reason}" if reason else ""))
                    self._finish(rid, None, rejected=True)
            case MissionResultReceived():
                self._on_result(event)
            case MissionEventReceived():
                self._on_mission_event(event)
            case Tick():
                self._tick()
            case DispatchRequested():
                self._on_dispatch(event)
            case InvestigateRequested(x, y, source, rid):
                self._on_investigate(x, y, source, rid)
            case PatrolRequested(rid, active):
                self._on_patrol(rid, active)
            case SidewalkReports(reports):
                self._on_sidewalks(reports)
        out, self._out = self._out, []
        return out

    # -- queries ---------------------------------------------------------------------------------
    def shift_now(self, now: float) -> float:
        """Shift-day seconds at ROS time ``now`` (the time base of windows and ETAs)."""
        return shift_seconds(now, self.cfg.utc_offset_s, self.cfg.shift_end)

    def robots(self, now: float) -> list[tuple[RobotStatusReport, Connection]]:
        """Every robot heard of (this run or before), by id, with its link state at ``now``."""
        return [(r.status, self._connection(r, now))
                for r in sorted(self._registry.values(), key=lambda r: r.id)]

    def summary(self, now: float) -> FleetSummary:
        """Orders per state, patrol flags, mission kinds, the shift clock."""
        return FleetSummary(order_counts(o.state for o in self._orders.values()),
                            {r: self._patrolling.get(r, False) for r in self.robot_ids},
                            {r: m.kind.value for r, m in self._missions.items()},
                            round(self.shift_now(now), 1))

    @property
    def known_robots(self) -> frozenset[str]:
        """The fleet's robots and every robot heard of before."""
        return frozenset(self._registry) | frozenset(self.robot_ids)

    @property
    def missions(self) -> Mapping[str, MissionRecord]:
        """The mission in flight per robot."""
        return self._missions

    @property
    def orders(self) -> Mapping[str, OrderRecord]:
        """The order book by order id."""
        return self._orders

    @property
    def queues(self) -> Mapping[str, list[tuple[str, ...]]]:
        """Delivery trips still to send per robot (order ids), after its current mission."""
        return self._queues

    @property
    def investigations(self) -> tuple[tuple[float, float], ...]:
        """Places (x, y) m waiting for a free robot to look at them."""
        return tuple(self._investigations)

    # -- registry and the clock ------------------------------------------------------------------
    def _connection(self, r: RobotRecord, now: float) -> Connection:
        return connection_state(r.last_seen, now, self.cfg.stale_after_s, self.cfg.offline_after_s)

    def _views(self) -> list[RobotView]:
        return [robot_view(s, c) for s, c in self.robots(self._now)]

    def _free(self, include_patrol: bool = False, include_called: bool = False) -> list[str]:
        """Robots free for new work (``include_patrol``: patrolling ones too); robots that made
        way for a call are not, unless ``include_called``."""
        busy = [r for r, m in self._missions.items()
                if not (include_patrol and m.kind is MissionKind.PATROL)]
        busy += list(self._letting_go)
        if not include_called:
            busy += list(self._calls)
        return free_robots(self._views(), busy)

    def _busy_online(self) -> list[str]:
        """Robots not offline, stopped or in fault that are out on work of ours (a trip, a look,
        a patrol being let go): they take new work once back."""
        free = set(self._free(include_patrol=True))
        return sorted(
            v.id for v in self._views()
            if v.connection is not Connection.OFFLINE and not v.estopped
            and v.mode not in (RobotMode.FAULT, RobotMode.ESTOPPED) and v.id not in free
            and (v.id in self._missions or v.id in self._calls or v.id in self._letting_go))

    def _on_status(self, s: RobotStatusReport) -> None:
        if s.robot_id not in self.robot_ids:
            return
        self.store.upsert_robot(s.robot_id, s, self._now)
        before = self._registry.get(s.robot_id)
        first = before.first_seen if before is not None else self._now
        self._registry[s.robot_id] = RobotRecord(s.robot_id, first, self._now, s)

    def _tick(self) -> None:
        for v in self._views():
            before = self._last_conn.get(v.id)
            self._last_conn[v.id] = v.connection
            if v.connection is Connection.ONLINE:
                self._was_online.add(v.id)
            # A link that never came up since the start is not a link lost.
            if (before not in (None, Connection.OFFLINE) and v.connection is Connection.OFFLINE
                    and v.id in self._was_online):
                self._incident(v.id, "link_lost", f"no status for {self.cfg.offline_after_s:g} s")
                self._drop_call(v.id, f"link lost with {v.id}")
                m = self._missions.get(v.id)
                if m is not None and m.kind is MissionKind.DELIVER:
                    self._robot_failed(v.id, f"link lost with {v.id}")
            m = self._missions.get(v.id)
            if (m is not None and m.id not in self._followed and v.mode is RobotMode.IDLE
                    and v.connection is Connection.ONLINE and self._now - m.sent_at > ADOPT_AFTER_S
                    and v.stamp > m.sent_at + FRESH_STATUS_S):
                self._finish(v.id, None)
        self._send_queued()
        self._reassign_waiting()
        self._serve_calls()
        self._serve_investigations()
        self._guard_bounds()
        self._patrol_step()

    # -- missions --------------------------------------------------------------------------------
    def _current(self, rid: str, mid: str) -> MissionRecord | None:
        m = self._missions.get(rid)
        return m if m is not None and m.id == mid else None

    def _send(self, rid: str, kind: MissionKind, tasks: tuple[TaskPlan, ...],
              orders: tuple[str, ...] = (), hotspot: str = "",
              at: tuple[float, float] | None = None) -> None:
        self._seq += 1
        mid = f"{rid}-{kind.value}-{int(self._now)}-{self._seq}"
        self._missions[rid] = MissionRecord(mid, kind, rid, self._now, tuple(t.id for t in tasks),
                                            orders, hotspot, at)
        self._save()
        self._out.append(SendMission(rid, mid, kind, tasks))

    def _send_delivery(self, rid: str, trip: tuple[str, ...],
                       first: tuple[TaskPlan, ...] = ()) -> None:
        """Send a trip (order ids and patrol visits '@...', in route order), after ``first``
        (a look on the way)."""
        orders = {oid: self._orders[oid].order for oid in trip if oid in self._orders}
        tasks = delivery_tasks([i for i in trip if i in orders or i.startswith(VISIT_PREFIX)],
                               orders, self.dm, self._bay(rid))
        at = (first[0].pose.x, first[0].pose.y) if first else None
        self._send(rid, MissionKind.DELIVER, first + tasks,
                   orders=tuple(i for i in trip if i in orders), at=at)

    def _bay(self, rid: str) -> Pose2D:
        """The robot's own depot bay (where it loads and where its trips end)."""
        k = self.robot_ids.index(rid) if rid in self.robot_ids else 0
        return self.bays[k % len(self.bays)]

    def _home_first(self, rid: str, result: MissionResultReceived | None) -> bool:
        """The trip's return to the depot failed and trips wait there for the robot: its next
        parcels cannot be loaded where it stands, so it is sent back first (the trips go once
        it is in), at most ``HOMING_TRIES`` times in a row; then they go to other robots.
        False when the robot is back (or nothing waits for it)."""
        failed = dict(result.failed) if result is not None else {}
        if RETURN_TASK_ID not in failed or not self._queues.get(rid):
            self._homing.pop(rid, None)
            return False
        tries = self._homing.get(rid, 0) + 1
        why = failed[RETURN_TASK_ID]
        if tries > HOMING_TRIES:
            self._homing.pop(rid, None)
            self._requeue([o for trip in self._queues.pop(rid, []) for o in trip],
                          f"{rid} could not get back to the depot")
            self._save()
            self._incident(rid, "mission_failed",
                           f"{rid} could not get back to the depot {tries} times ({why}); "
                           "its next trips go to other robots")
            return True
        self._homing[rid] = tries
        self._log(Level.WARNING, f"{rid} did not get back to the depot ({why}): sent back to "
                  "load its next trip")
        self._send(rid, MissionKind.DELIVER, (TaskPlan(TaskKind.RETURN, RETURN_TASK_ID,
                                                       self._bay(rid)),))
        return True

    def _on_result(self, r: MissionResultReceived) -> None:
        if self._current(r.robot_id, r.mission_id) is None:
            return  # not ours any more (cancelled, failed by link loss, replaced)
        if r.outcome is MissionOutcome.LOST:
            # The robot's mission node restarted and resumes the mission from disk: keep it (its
            # events still count) and finish it once the robot reports idle (_tick).
            self._followed.discard(r.mission_id)
            self._log(Level.WARNING, f"{r.robot_id}: mission {r.mission_id}: the robot's mission "
                      "node restarted; following it by status until it is idle")
            return
        if r.outcome is not MissionOutcome.SUCCEEDED:
            self._log(Level.INFO, f"{r.robot_id}: mission {r.mission_id} ended "
                      f"{r.outcome.value}" + (f": {r.message}" if r.message else ""))
        self._finish(r.robot_id, r)

    def _finish(self, rid: str, result: MissionResultReceived | None,
                rejected: bool = False) -> None:
        """The robot's mission is over: ``result`` None when it ended unseen (adopted, stopped)."""
        m = self._missions.pop(rid, None)
        if m is None:
            return
        self._followed.discard(m.id)
        self._dwelling.pop(rid, None)
        self._look_place.pop(m.id, None)
        self._save()
        if m.kind is MissionKind.PATROL:
            self.patrol.visit_done(rid, self.shift_now(self._now))
            return
        self._done.pop(m.id, None)
        if m.kind is MissionKind.INVESTIGATE:
            if rejected and m.at is not None:
                self._investigations.append(m.at)  # still to be looked at
                self._save_investigations()
            trips = self._queues.get(rid)
            if trips and not rejected:  # a delivering robot that made way: back to its route
                nxt = trips.pop(0)
                self._save()
                self._send_delivery(rid, nxt)
            return
        if rejected and m.at is not None:
            # The rest of a trip after a look: its parcels are on board, so the robot (not
            # another) takes it again, look first, once it accepts missions.
            hid = hotspot_of(m.tasks[0])
            look = (TaskPlan(TaskKind.PATROL, m.tasks[0], *self._hotspots[hid])
                    if self._is_hotspot(hid) else
                    TaskPlan(TaskKind.INVESTIGATE, m.tasks[0], Pose2D(*m.at, 0.0),
                             dwell_s=investigate_dwell_s(self.dm, *m.at,
                                                         self.cfg.investigate_dwell_s)))
            rest = tuple(t if t in m.orders else f"{VISIT_PREFIX}{t}" for t in m.tasks[1:]
                         if t in m.orders or self._is_hotspot(hotspot_of(t)))
            self._calls[rid] = (look, rest, m.at)
            self._release_after(rid)
            self._save()
            return
        if rejected:
            self._release_after(rid)
            why = f"{rid} did not accept the mission"
            self._requeue(m.orders, why)
            self._requeue([o for trip in self._queues.pop(rid, []) for o in trip], why)
            self._save()
            return
        if result is not None:
            for oid, why in result.failed:
                self._set_order(oid, OrderState.FAILED, reason=why, only_if=OrderState.ASSIGNED)
            done = set(result.completed) | {oid for oid, _ in result.failed}
            unattempted = tuple(o for o in m.orders if o not in done)
            if unattempted:
                self._robot_failed(rid, f"{rid} aborted its mission", unattempted)
                return
        after = self._after.pop(rid, None)
        if after is not None:  # the trip ended before a door told: the look now, trips after
            self._calls[rid] = (after[0], None, after[1])
            self._save()
            return
        if self._home_first(rid, result):
            return
        trips = self._queues.get(rid)
        if trips:
            nxt = trips.pop(0)
            self._save()
            self._send_delivery(rid, nxt)

    def _stop_mission(self, rid: str) -> None:
        m = self._missions.get(rid)
        if m is not None:
            self._out.append(CancelMission(rid, m.id))
            self._finish(rid, None)

    def _robot_failed(self, rid: str, why: str, unattempted: tuple[str, ...] | None = None) -> None:
        """A delivery robot failed: parcels still at the depot (later trips) go back to the
        waiting list and are replanned onto free robots; parcels on board stay with it."""
        self._release_after(rid)
        m = self._missions.pop(rid, None)
        if m is not None:
            self._followed.discard(m.id)
        on_board = unattempted if unattempted is not None else (m.orders if m else ())
        for oid in on_board:
            self._set_order(oid, OrderState.FAILED, reason=f"{why}; parcel on board",
                            only_if=OrderState.ASSIGNED)
        self._requeue([o for trip in self._queues.pop(rid, []) for o in trip], why)
        self._save()
        self._incident(rid, "mission_failed", why)

    def _requeue(self, order_ids: Iterable[str], why: str) -> None:
        for oid in order_ids:
            self._set_order(oid, OrderState.PLANNED, reason=f"awaiting a robot: {why}",
                            only_if=OrderState.ASSIGNED)

    def _on_mission_event(self, e: MissionEventReceived) -> None:
        t = e.stamp or self._now
        rid, tid, kind = e.robot_id, e.task_id, e.task_kind
        m = self._missions.get(rid)
        if m is not None and e.event in (TaskEvent.HANDED_OVER, TaskEvent.FAILED,
                                         TaskEvent.DWELL_DONE):
            self._done.setdefault(m.id, set()).add(tid)
        if e.event is TaskEvent.HANDED_OVER:
            self.store.record_delivery(tid, rid, t, e.x, e.y, e.method)
            rec = self._orders.get(tid)
            if rec is not None:
                self._orders[tid] = replace(rec, state=OrderState.DELIVERED, updated_at=t)
                self._out.append(OrderStateChanged(tid, OrderState.DELIVERED, rec.robot_id, ""))
        elif e.event is TaskEvent.FAILED and kind == TaskKind.DELIVER:
            self._set_order(tid, OrderState.FAILED, reason=e.detail or "failed", at=t)
        elif e.event is TaskEvent.RETURNED:
            for rec in list(self._orders.values()):
                if rec.state is OrderState.FAILED and rec.robot_id == rid:
                    self._set_order(rec.id, OrderState.RETURNED, reason=rec.reason, at=t)
        elif e.event is TaskEvent.ARRIVED and kind in (TaskKind.PATROL, TaskKind.INVESTIGATE):
            self._arrivals[(rid, tid)] = t
            self._dwelling[rid] = (tid, e.x, e.y)
        elif e.event is TaskEvent.DWELL_DONE and kind == TaskKind.PATROL:
            self.store.record_visit(rid, hotspot_of(tid), self._arrivals.pop((rid, tid), t), t)
            self.patrol.observed(hotspot_of(tid), self.shift_now(t))
        elif e.event is TaskEvent.DWELL_DONE and kind == TaskKind.INVESTIGATE:
            self._incident(rid, "investigation", f"observed ({e.x:.1f}, {e.y:.1f}): {e.detail}", t)
        if (e.event in (TaskEvent.DWELL_DONE, TaskEvent.FAILED)
                and self._dwelling.get(rid, ("",))[0] == tid):
            self._dwelling.pop(rid, None)
        if m is not None and rid in self._after and m.kind is MissionKind.DELIVER:
            self._after_trip_done(m)

    def _after_trip_done(self, m: MissionRecord) -> None:
        """A call waits for this trip's last parcel: once none is left to hand over, the robot
        leaves the rest of the trip (visits, the return) for the look, as for any call."""
        done = self._done.get(m.id, set())
        if any(o not in done and (rec := self._orders.get(o)) is not None
               and rec.state is OrderState.ASSIGNED for o in m.orders):
            return
        look, place = self._after.pop(m.robot_id)
        self._leave_trip(m, look, place)

    def _release_after(self, rid: str) -> None:
        """A call waiting for ``rid``'s trip to end waits for any robot again (the robot failed
        or is gone)."""
        after = self._after.pop(rid, None)
        if after is not None:
            self._investigations.append(after[1])
            self._save_investigations()
            self._save()

    # -- orders and plans ------------------------------------------------------------------------
    def _on_dispatch(self, req: DispatchRequested) -> None:
        try:
            orders = self._parse(req)
            free = self._free(include_patrol=True)
            # Every robot out on work of ours: the batch is checked on them as if back now and
            # waits for the first to come back (then planned on the robots free by then).
            away = [] if free else self._busy_online()
            robots = free or away or (list(self.robot_ids) if req.dry_run else [])
            if not robots:
                raise DawnPatrolError("no robot is online to take deliveries")
            plan = self._plan(orders, robots)
            if self.cfg.patrol_bounds == "hard" and plan.missed:
                # These robots cannot hold every bound even with parcels left out: refusing the
                # batch would not hold them. Parcels first, and say which hotspots go over.
                plan = self._plan(orders, robots, hard=False)
            conflict = self._conflict(orders, robots, plan)
            if isinstance(conflict, DispatchPlan):
                plan, conflict = conflict, None  # the second search held both after all
            if conflict is not None:
                late, over = conflict
                problems = tuple([f"parcel {oid} would be late: {why}" for oid, why in late]
                                 + [f"hotspot {h} would go over its idleness bound"
                                    for h in over])
                self._out.append(DispatchAnswered(
                    False, "refused (patrol_bounds: hard): the fleet cannot hold both the "
                    f"parcels and the hotspot bounds — {len(late)} parcel(s) would be late, "
                    f"{len(over)} hotspot(s) would go over; nothing dispatched", problems,
                    plan, {o.id: o for o in orders}))
                return
            message = (f"{'planned (dry run)' if req.dry_run else 'dispatched'}: "
                       f"{plan.served} of {len(orders)} orders on {len(robots)} robots, "
                       f"{len(plan.unserved)} unserved")
            visits = sum(len(r.visits) for r in plan.routes)
            if visits or plan.missed:
                message += f"; {visits} patrol visits planned between the parcels"
            over = sorted({hotspot_of(v[len(VISIT_PREFIX):]) for v, _ in plan.missed})
            if over:
                message += (f"; WARNING (patrol_bounds: {self.cfg.patrol_bounds}): hotspots that "
                            f"will go over their bound: {', '.join(over)}")
                self._log(Level.WARNING, f"dispatch: {message}")
            if away and not req.dry_run:
                message += (f"; every robot is out ({', '.join(away)}): the parcels wait at "
                            "the depot for the first robot back")
            if not req.dry_run:
                self._store_batch(req, orders, plan, wait=bool(away))
            self._out.append(DispatchAnswered(True, message, (), plan, {o.id: o for o in orders}))
        except OrderError as exc:
            problems = tuple(str(exc).splitlines())
            self._out.append(DispatchAnswered(
                False, f"rejected: {len(problems)} problem(s); nothing dispatched", problems))
        except DawnPatrolError as exc:
            self._out.append(DispatchAnswered(False, str(exc).splitlines()[0]))

    def _parse(self, req: DispatchRequested) -> list[Order]:
        source = req.source or "orders"
        orders = parse_batch(req.text, req.fmt, source, self.dm, self.shift_now(self._now),
                             self.cfg.service_time_s, self.cfg.compartments)
        dup = sorted(o.id for o in orders if o.id in self._orders)
        if dup:
            raise OrderError("\n".join(
                f"{source}: field 'id': got {d!r}, expected an id not already in the order book"
                for d in dup))
        return orders

    def _plan(self, orders: list[Order], robot_ids: list[str],
              hard: bool | None = None) -> DispatchPlan:
        """Plan ``orders`` on ``robot_ids`` with the patrol visits due until the last window ends
        (when any robot patrols): required with a hard bound (``hard``, default the fleet's
        policy), else optional with a prize."""
        c = self.cfg
        robots = [Robot(r, c.compartments, c.shift_start, c.shift_end, c.speed, c.range_m)
                  for r in robot_ids]
        visits = self._visits(orders, hard)
        # With patrol visits in the plan the solver's seed is drawn too: another night, another
        # order of the watches (parcels alone keep seed 0: the same batch, the same plan).
        seed = int(self.patrol.rng.integers(2**31)) if visits else 0
        settings = DispatchSettings(service_time_s=c.service_time_s,
                                    time_limit_s=c.solver_time_limit_s, seed=seed)
        return plan_batch(orders, robots, self.depot, self.travel, settings,
                          self.shift_now(self._now), visits)

    def _visits(self, orders: list[Order], hard: bool | None) -> list[PatrolVisit]:
        if not orders or not any(self._patrolling.get(r) for r in self.robot_ids):
            return []
        hard = self.cfg.patrol_bounds == "hard" if hard is None else hard
        now = max(self.shift_now(self._now), self.cfg.shift_start)
        until = max(o.window_end for o in orders)
        return self.patrol.due_visits(now, until, hard, 0.0 if hard else VISIT_VALUE_M,
                                      self.cfg.patrol_window_share, self.cfg.patrol_margin_s)

    def _conflict(self, orders: list[Order], robots: list[str], plan: DispatchPlan
                  ) -> tuple[list[tuple[str, str]], list[str]] | DispatchPlan | None:
        """With hard bounds, when the plan leaves parcels out: the parcels a plan with soft bounds
        serves but this one cannot (they would be late to hold the bounds) and the hotspots that
        plan lets go over; None when holding the bounds costs no parcel (or bounds are soft).
        The plan with soft bounds itself when it serves every parcel and makes every visit: the
        solver's time-limited search found that one (with visits optional the search is easier
        and it has had a second run), and it holds both."""
        if self.cfg.patrol_bounds != "hard" or not plan.visit_ids or plan.missed:
            return None
        if UnservedCause.NO_ROOM not in plan.unserved_causes.values():
            return None
        soft = self._plan(orders, robots, hard=False)
        if not soft.unserved and not soft.missed:
            return soft
        soft_out = {oid for oid, _ in soft.unserved}
        late = [(oid, "no room for it while every hotspot keeps its bound")
                for oid, _ in plan.unserved if oid not in soft_out]
        # Hotspots the hard plan misses too (out of reach in time) go over whatever the batch.
        held = {hotspot_of(v[len(VISIT_PREFIX):]) for v, _ in plan.missed}
        over = sorted({hotspot_of(v[len(VISIT_PREFIX):]) for v, _ in soft.missed} - held)
        return (late, over) if late else None

    def _store_batch(self, req: DispatchRequested, orders: list[Order],
                     plan: DispatchPlan, wait: bool = False) -> None:
        """Store the batch and send its trips; with ``wait`` (every robot out) its planned
        orders wait for a robot (``_reassign_waiting``)."""
        eta = {s.order_id: (r.robot_id, round(s.arrival, 1)) for r in plan.routes
               for s in r.stops}
        why = dict(plan.unserved)
        rows: list[NewOrder] = []
        for o in orders:
            rid, t = eta.get(o.id, (None, None))
            state = OrderState.PLANNED if rid is not None else OrderState.UNSERVED
            reason = why.get(o.id, "")
            if wait and rid is not None:
                rid, t, reason = None, None, "awaiting a robot: every robot is out"
            rows.append((o, state, rid, reason, t))
        by_id = {o.id: o for o in orders}
        batch = self.store.add_batch(req.source, req.operator or "unknown",
                                     plan_to_json(plan, by_id, self.map_dir), rows, self._now)
        for o, state, rid, reason, t in rows:
            self._orders[o.id] = OrderRecord(o.id, batch, o, state, rid, reason, t, self._now)
        if wait:
            self._save()
        else:
            self._apply_plan(plan, "")

    def _apply_plan(self, plan: DispatchPlan, why: str, keep_waiting: bool = False) -> None:
        """Send ``plan``'s trips; orders it leaves out are unserved, or (``keep_waiting``) stay
        waiting for a robot still out."""
        for oid, reason in plan.unserved:
            if not keep_waiting:
                self._set_order(oid, OrderState.UNSERVED, reason=reason)
        for route in plan.routes:
            trips = trips_of(route)
            if not trips:
                continue
            rid = route.robot_id
            for s in route.stops:
                self._set_order(s.order_id, OrderState.ASSIGNED, robot_id=rid, reason=why)
            m = self._missions.get(rid)
            if m is not None and m.kind is MissionKind.PATROL:
                self._stop_mission(rid)  # deliveries first: patrol never makes one late
                # ... but the robot takes the trip only once it has let go of the patrol
                self._queues[rid] = trips
                self._letting_go[rid] = self._now
                continue
            self._queues[rid] = trips[1:]
            self._send_delivery(rid, trips[0])
        self._save()

    def _send_queued(self) -> None:
        """Robots with trips queued and no mission (a patrol cancelled to make way for a trip;
        a fleet restarted between trips) take their next trip once they have let go: a status
        saying idle after the cancel, or ``LET_GO_S`` later."""
        views = {v.id: v for v in self._views()}
        free = set(free_robots(views.values(), [*self._missions, *self._calls]))
        for rid, trips in self._queues.items():
            if not trips or rid not in free:
                continue
            since = self._letting_go.get(rid)
            v = views[rid]
            if (since is not None and self._now - since < LET_GO_S
                    and not (v.mode is RobotMode.IDLE and v.stamp > since)):
                continue
            self._letting_go.pop(rid, None)
            nxt = trips.pop(0)
            self._save()
            self._send_delivery(rid, nxt)

    def _reassign_waiting(self) -> None:
        waiting = sorted((o for o in self._orders.values() if o.state is OrderState.PLANNED),
                         key=lambda o: o.id)
        free = self._free(include_patrol=True)
        if not waiting or not free:
            return
        if (frozenset(free), frozenset(o.id for o in waiting)) == self._waiting_tried:
            return  # these robots could take none of these orders: they wait for another
        try:
            plan = self._plan([o.order for o in waiting], free)
        except DawnPatrolError as exc:
            self._log(Level.WARNING, f"waiting orders not replanned: {exc}")
            return
        # What these robots cannot take waits for one still out; with none out, it is unserved.
        keep = bool(plan.unserved) and bool(self._busy_online())
        self._waiting_tried = (frozenset(free), frozenset(o for o, _ in plan.unserved)) if keep \
            else None
        self._apply_plan(plan, "reassigned", keep_waiting=keep)

    def _set_order(self, oid: str, state: OrderState, reason: str = "",
                   robot_id: str | None = None, only_if: OrderState | None = None,
                   at: float | None = None) -> None:
        rec = self._orders.get(oid)
        if rec is None or (only_if is not None and rec.state is not only_if):
            return
        t = self._now if at is None else at
        self.store.set_order_state(oid, state, t, robot_id=robot_id, reason=reason)
        rec = replace(rec, state=state, robot_id=robot_id or rec.robot_id, reason=reason,
                      updated_at=t)
        self._orders[oid] = rec
        self._out.append(OrderStateChanged(oid, state, rec.robot_id, reason))

    # -- patrol and investigation ----------------------------------------------------------------
    def _on_patrol(self, robot_id: str, active: bool) -> None:
        target = robot_id or "*"
        if target != "*" and target not in self.robot_ids:
            self._out.append(PatrolAnswered(False, f"unknown robot '{target}'"))
            return
        robots = self.robot_ids if target == "*" else (target,)
        starting = active and not any(self._patrolling.values())
        if starting:
            self.patrol.started(self.shift_now(self._now))
        for r in robots:
            self._patrolling[r] = active
            m = self._missions.get(r)
            if not active and m is not None and m.kind is MissionKind.PATROL:
                self._stop_mission(r)
        self.store.set_setting("patrol", json.dumps(self._patrolling))
        moved = self._unqueue_for_patrol() if starting else 0
        note = (f"; {moved} parcel(s) of trips not yet out are planned again with the patrol "
                "visits as robots come back") if moved else ""
        self._out.append(PatrolAnswered(
            True, f"patrol {'started' if active else 'stopped'}: {', '.join(robots)}{note}"))

    def _unqueue_for_patrol(self) -> int:
        """Trips planned while nobody patrolled carry no visits, and the hotspots would wait
        until the last of them is done: when the patrol starts, the parcels of trips not yet
        out wait again, and each robot back plans them with the visits due (parcels' windows
        first, as in any plan). Returns how many parcels."""
        moved = [oid for trips in self._queues.values() for trip in trips for oid in trip
                 if oid in self._orders and self._orders[oid].state is OrderState.ASSIGNED]
        if not moved:
            return 0
        for rid in self._queues:
            self._queues[rid] = []
        for oid in moved:
            self._set_order(oid, OrderState.PLANNED, reason="awaiting a robot: planned again "
                            "with the patrol visits")
        self._waiting_tried = None
        self._save()
        return len(moved)

    def _patrol_step(self) -> None:
        views = {v.id: v for v in self._views()}
        for rid in self._free():
            if not self._patrolling.get(rid) or rid not in views:
                continue
            if self._now - self._reserved.get(rid, -math.inf) < RESERVE_S:
                continue  # stopped for an investigation that has not gone out yet
            v = views[rid]
            task = self.patrol.next_task(rid, self.shift_now(self._now), v.x, v.y)
            if task is None:
                continue
            pose = self.patrol.hotspot_pose(task.hotspot_id)
            self._send(rid, MissionKind.PATROL,
                       (TaskPlan(TaskKind.PATROL, task.hotspot_id, pose, dwell_s=task.dwell_s),),
                       hotspot=task.hotspot_id)

    def _guard_bounds(self) -> None:
        """Hard bounds held while plans slip: a hotspot due soon that no robot will reach in
        time along its stops (trips, looks, patrols, the trips waiting at the depot) is
        watched by the robot that can be there first with every parcel window held — leaving
        its trip (and resuming it after) or going from the depot — once it must leave to be
        there ``GUARD_LEAD_S`` before the bound runs out. Robots on a patrol of their own are
        the scheduler's, which knows the bounds."""
        sch = self.patrol.scheduler
        if (sch is None or self.cfg.patrol_bounds != "hard" or self._now < self._guard_next
                or not any(self._patrolling.values())):
            return
        self._guard_next = self._now + GUARD_PERIOD_S
        now = self.shift_now(self._now)
        plan = sch.plan
        due = sch.last_left() + plan.max_idleness_s
        soon = [h for h in np.argsort(due, kind="stable") if due[h] - now <= GUARD_HORIZON_S]
        if not soon:
            return
        arrivals = self._planned_arrivals(now)
        planned = {hid: min(a.get(hid, math.inf) for a in arrivals.values())
                   for hid in self._hotspots}
        for h in soon:
            hid, d = plan.hotspots[h].id, float(due[h])
            p = planned[hid]
            sent = self._guarding.get(hid)
            if sent is not None and self._pending(*sent):
                continue  # the watch it sent is still to be made: one is enough
            self._guarding.pop(hid, None)
            # in time, with GUARD_SLACK_S to spare (less for a robot about to be there)
            if p + min(GUARD_SLACK_S, 0.25 * max(p - now, 0.0)) <= d:
                continue
            pose = self.patrol.hotspot_pose(hid)
            dwell = float(plan.dwell_s[h])
            cands = [c for c in self._candidates(pose.x, pose.y, dwell)
                     if not self._on_own_patrol(c.robot_id)]
            pick = choose_responder(cands, now, dwell)
            if pick is not None and (arrivals.get(pick.robot_id, {}).get(hid, math.inf)
                                     <= now + pick.eta_s + GUARD_SLACK_S):
                continue  # going straight there would gain it little: let it go on
            if pick is None:
                if self._guard_told.get(hid) != d:
                    self._guard_told[hid] = d
                    self._log(Level.WARNING, f"{hid}: unwatched past its bound at {clock(d)} "
                              "unless plans change: no robot can go without a late parcel")
                continue
            if now + pick.eta_s + GUARD_LEAD_S < d:
                continue  # not yet: the plan may still catch up
            tid = self._watch_hotspot(pick.robot_id, hid, pose, dwell, pick.eta_s, d,
                                      p if math.isfinite(p) else None)
            self._guarding[hid] = (pick.robot_id, tid)

    def _pending(self, rid: str, tid: str) -> bool:
        """Task ``tid`` is still ahead of ``rid``: the look it made way for, or a task of its
        mission not yet done (a watch ends done, failed or cancelled)."""
        call = self._calls.get(rid)
        if call is not None and call[0].id == tid:
            return True
        m = self._missions.get(rid)
        return m is not None and tid in m.tasks and tid not in self._done.get(m.id, set())

    def _on_own_patrol(self, rid: str) -> bool:
        m = self._missions.get(rid)
        return m is not None and m.kind is MissionKind.PATROL

    def _watch_hotspot(self, rid: str, hid: str, pose: Pose2D, dwell: float, eta: float,
                       due: float, planned: float | None) -> str:
        """Send ``rid`` to watch ``hid`` now: a free robot goes, a delivering one leaves its
        trip (parcels stay on board) and resumes it after the watch. The watch's task id."""
        # its own task id: the rest of the trip may hold a visit of the same hotspot
        self._seq += 1
        watch = TaskPlan(TaskKind.PATROL, f"{hid}#g{self._seq}", pose, dwell_s=dwell)
        m = self._missions.get(rid)
        if m is not None and m.kind is MissionKind.DELIVER:
            self._leave_trip(m, watch, (pose.x, pose.y))
            how = "leaves its delivery trip (resumes after)"
        else:
            self._send(rid, MissionKind.PATROL, (watch,), hotspot=hid)
            how = "goes"
        when = "no robot on its way" if planned is None else f"next planned {clock(planned)}"
        self._log(Level.INFO, f"{hid}: due by {clock(due)}, {when}: {rid} {how}, on scene in "
                  f"about {eta:.0f} s")
        return watch.id

    def _leave_trip(self, m: MissionRecord, look: TaskPlan, place: tuple[float, float]) -> None:
        """Pre-empt ``m``, a delivery mission, for ``look`` at ``place``: its parcels stay on
        board and the rest of the trip (orders not yet handed over, visits not yet made, then
        the return) follows the look in one mission once the robot has let go of ``m``."""
        done = self._done.pop(m.id, set())
        rest = tuple(
            t if t in m.orders else f"{VISIT_PREFIX}{t}" for t in m.tasks if t not in done
            and ((t in m.orders and self._orders.get(t) is not None
                  and self._orders[t].state is OrderState.ASSIGNED)
                 or (t not in m.orders and self._is_hotspot(hotspot_of(t)))))
        rid = m.robot_id
        self._out.append(CancelMission(rid, m.id))
        self._missions.pop(rid, None)
        self._dwelling.pop(rid, None)
        self._followed.discard(m.id)
        self._calls[rid] = (look, rest, place)
        self._save()

    def _planned_arrivals(self, now: float) -> dict[str, dict[str, float]]:
        """Robot -> hotspot -> when it first reaches it along its stops (shift-day s), for
        every online robot."""
        views = {v.id: v for v in self._views()}
        return {rid: first_arrivals(self.travel, self.cfg.speed, v.x, v.y, self._ahead(rid), now)
                for rid in self.robot_ids
                if (v := views.get(rid)) is not None and v.connection is Connection.ONLINE}

    def _ahead(self, rid: str) -> list[Ahead]:
        """The stops ``rid`` has yet to make, in order: its look and the rest of its trip, or
        its mission's tasks not yet done, then the trips waiting for it at the depot."""
        return self._ahead_now(rid) + self._ahead_queued(rid)

    def _ahead_queued(self, rid: str) -> list[Ahead]:
        """The stops of the trips waiting for ``rid`` at the depot, each back to its bay."""
        bay = self._bay(rid)
        out: list[Ahead] = []
        for trip in self._queues.get(rid, []):
            out += [a for a in map(self._ahead_of, trip) if a is not None] + [Ahead(bay.x, bay.y)]
        return out

    def _ahead_now(self, rid: str) -> list[Ahead]:
        """The stops of ``rid``'s look and the rest of its trip, or of its mission."""
        out: list[Ahead] = []
        bay = self._bay(rid)
        home = Ahead(bay.x, bay.y)
        call = self._calls.get(rid)
        m = self._missions.get(rid)
        if call is not None:
            look, rest, _ = call
            out.append(Ahead(look.pose.x, look.pose.y, look.dwell_s,
                             hotspot=hotspot_of(look.id) if look.kind is TaskKind.PATROL
                             else ""))
            if rest is not None:
                out += [a for a in map(self._ahead_of, rest) if a is not None] + [home]
        elif m is not None:
            done = self._done.get(m.id, set())
            for k, tid in enumerate(m.tasks):
                if tid in done:
                    continue
                if k == 0 and m.at is not None and not self._is_hotspot(hotspot_of(tid)):
                    out.append(Ahead(*m.at, self.cfg.investigate_dwell_s))  # a look first
                    continue
                a = home if tid == RETURN_TASK_ID else self._ahead_of(tid)
                if a is not None:
                    out.append(a)
        return out

    def _ahead_of(self, tid: str) -> Ahead | None:
        """A trip id as a stop: an order's door (from its window's start) or a hotspot visit
        ('@<hotspot>[#k][/<planned start>]', or a mission's hotspot task id)."""
        rec = self._orders.get(tid)
        if rec is not None:
            o = rec.order
            svc = self.cfg.service_time_s
            return Ahead(o.x, o.y, svc, o.window_start, due_s=o.window_end - svc)
        name, _, stay = tid.removeprefix(VISIT_PREFIX).partition("/")
        hid = hotspot_of(name)
        info = self._hotspots.get(hid)
        if info is None:
            return None
        return Ahead(info[0].x, info[0].y, info[1], float(stay) if stay else 0.0, hid)

    def _on_investigate(self, x: float, y: float, source: str = "operator",
                        robot_id: str = "") -> None:
        if not (math.isfinite(x) and math.isfinite(y)):
            self._log(Level.WARNING, f"investigate ({x}, {y}): not a place")
            self._out.append(InvestigateAnswered("", math.nan, x, y,
                                                 f"investigate ({x}, {y}): not a place"))
            return
        if self._watching_already(x, y, source, robot_id) or self._join_look(x, y, source):
            return
        if not self._investigate(x, y, source):
            # Nobody can go without making a parcel late: the call waits for the next robot.
            self._investigations.append((x, y))
            self._save_investigations()
            text = (f"investigate ({x:.1f}, {y:.1f}) [{source}]: no robot can go yet without "
                    "making a parcel late; queued for the next robot")
            self._log(Level.WARNING, text)
            self._out.append(InvestigateAnswered("", math.nan, x, y, text))

    def _watching_already(self, x: float, y: float, source: str, robot_id: str) -> bool:
        """A robot's alert raised while it watches on a look or a patrol, or on its way to a
        look whose place is within twice call_sensor_reach_m of it: it saw the place (its lidar
        reaches farther: an intruder 18 m into the school yard from the gate) and stays there,
        no other robot goes. True when so (and answered)."""
        at = self._dwelling.get(robot_id)
        if at is None:  # or on its way to a look that sees it (it saw it on the way in)
            at = next((("", *watch) for rid, watch, place in self._looks() if rid == robot_id
                       and min(math.dist((x, y), watch), math.dist((x, y), place))
                       <= 2.0 * self.cfg.call_sensor_reach_m), None)
        if at is None:
            return False
        how = "is watching there already" if at[0] else "is on its way to watch there"
        text = (f"investigate ({x:.1f}, {y:.1f}) [{source}]: {robot_id} {how}, from "
                f"({at[1]:.1f}, {at[2]:.1f}), {math.dist((x, y), at[1:]):.1f} m away")
        self._log(Level.INFO, text)
        self._out.append(InvestigateAnswered(robot_id, 0.0, at[1], at[2], text))
        return True

    def _looks(self) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
        """(robot, watch point, called place) of every look a robot is on its way to or
        watching: robots that made way for a call, investigations and trips that begin with a
        look (whose mission keeps only the watch point)."""
        out = [(rid, (look.pose.x, look.pose.y), place)
               for rid, (look, _, place) in self._calls.items()]
        out += [(rid, (look.pose.x, look.pose.y), place)
                for rid, (look, place) in self._after.items()]
        out += [(rid, m.at, self._look_place.get(m.id, m.at))
                for rid, m in self._missions.items()
                if m.at is not None and m.tasks and m.tasks[0] not in self._done.get(m.id, set())]
        out += [(rid, watch, place) for rid, (_, watch, place) in self._joins().items()]
        return out

    def _joins(self) -> dict[str, tuple[str, tuple[float, float], tuple[float, float]]]:
        """The calls that joined a robot's hotspot visit it has not made yet (or is making)."""
        for rid, (hid, _, _) in list(self._joined.items()):
            if all(a.hotspot != hid for a in self._ahead_now(rid)):
                del self._joined[rid]
        return self._joined

    def _visit_seeing(self, x: float, y: float, now: float) -> tuple[float, str, Ahead] | None:
        """(when, robot, stop): the first arrival of any online robot, along its stops (not
        the trips waiting at the depot), at a hotspot whose watch point sees (x, y) m."""
        best: tuple[float, str, Ahead] | None = None
        reach = self.cfg.call_sensor_reach_m
        for v in self._views():
            if (v.connection is not Connection.ONLINE or v.estopped
                    or v.mode in (RobotMode.FAULT, RobotMode.ESTOPPED)):
                continue
            stops = self._ahead_now(v.id)
            if not any(a.hotspot for a in stops):
                continue
            for a, t in zip(stops, arrivals(self.travel, self.cfg.speed, v.x, v.y, stops, now),
                            strict=True):
                if a.hotspot and sees(self.dm, (a.x, a.y), (x, y), reach):
                    if best is None or t < best[0]:
                        best = (t, v.id, a)
                    break
        return best

    def _join_look(self, x: float, y: float, source: str) -> bool:
        """A call within ``call_merge_m`` of a place a robot is already going to watch (or of a
        call already waiting) is that look's: one robot per scene, the others keep their work.
        True when it joined one (and was answered)."""
        near = self.cfg.call_merge_m
        views = {v.id: v for v in self._views()}
        for rid, watch, place in self._looks():
            d = min(math.dist((x, y), place), math.dist((x, y), watch))
            v = views.get(rid)
            if d > near or v is None:
                continue
            t, _ = self.travel(np.array([[v.x, v.y], watch], dtype=np.float64), self.cfg.speed)
            eta = float(t[0, 1])
            text = (f"investigate ({x:.1f}, {y:.1f}) [{source}]: {rid} is already going to "
                    f"watch ({place[0]:.1f}, {place[1]:.1f}), {d:.1f} m away, on scene in about "
                    f"{eta:.0f} s")
            self._log(Level.INFO, text)
            self._out.append(InvestigateAnswered(rid, eta, *watch, text))
            return True
        for px, py in self._investigations:
            if math.dist((x, y), (px, py)) <= near:
                text = (f"investigate ({x:.1f}, {y:.1f}) [{source}]: joins the call waiting "
                        f"at ({px:.1f}, {py:.1f}) for the next robot")
                self._log(Level.INFO, text)
                self._out.append(InvestigateAnswered("", math.nan, px, py, text))
                return True
        return False

    def _serve_investigations(self) -> None:
        if not self._investigations:
            return
        waiting, self._investigations = self._investigations, []
        for i, (x, y) in enumerate(waiting):
            if not self._investigate(x, y, "queued call"):
                self._investigations = waiting[i:] + self._investigations
                break
        if self._investigations != waiting:
            self._save_investigations()

    def _serve_calls(self) -> None:
        """Robots that made way for a call take it once they have let go of their mission."""
        free = set(self._free(include_called=True))
        for rid in [r for r in self._calls if r in free]:
            look, rest, place = self._calls.pop(rid)
            self._reserved.pop(rid, None)
            self._save()
            if rest is not None:  # the rest of its trip, back to the depot at least
                self._send_delivery(rid, rest, first=(look,))
            else:
                self._send(rid, MissionKind.INVESTIGATE, (look,), at=(look.pose.x, look.pose.y))
            self._look_place[self._missions[rid].id] = place

    def _candidates(self, px: float, py: float, watch_s: float) -> list[Candidate]:
        """Every robot that could take a call at (px, py) m: free, patrolling or delivering
        (with its trip's stops and the slack of its queued trips)."""
        now = self.shift_now(self._now)
        out: list[Candidate] = []
        views = {v.id: v for v in self._views()}
        free = set(self._free(include_patrol=True))
        joined = self._joins()
        for rid in self.robot_ids:
            v = views.get(rid)
            if v is None or rid in self._calls or rid in self._after or rid in joined:
                continue  # a robot that made way for a call, has one after its trip, or whose
                # visit a call joined
            m = self._missions.get(rid)
            if rid in free:
                t, _ = self.travel(np.array([[v.x, v.y], [px, py]], dtype=np.float64),
                                   self.cfg.speed)
                out.append(Candidate(rid, float(t[0, 1])))
                continue
            if (m is None or m.kind is not MissionKind.DELIVER or v.connection
                    is not Connection.ONLINE or v.estopped or v.mode is RobotMode.FAULT):
                continue
            if m.at is not None and m.tasks and m.tasks[0] not in self._done.get(m.id, set()):
                continue  # on its way to another call's look: that call keeps its robot
            done = self._done.get(m.id, set())
            left = [self._orders[o].order for o in m.orders
                    if o in self._orders and o not in done
                    and self._orders[o].state is OrderState.ASSIGNED]
            pts = np.array([[v.x, v.y], [px, py]] + [[o.x, o.y] for o in left],
                           dtype=np.float64)
            t, _ = self.travel(pts, self.cfg.speed)
            svc = self.cfg.service_time_s
            stops = tuple(RouteStop(o.id, k, o.window_start, o.window_end - svc, svc)
                          for k, o in enumerate(left))
            # the queued trips' slack from where the robot is now, after its trip (the plan's
            # times go stale as looks and slow doors push the trips later)
            now_stops, later = self._ahead_now(rid), self._ahead_queued(rid)
            arrive = arrivals(self.travel, self.cfg.speed, v.x, v.y, now_stops + later, now)
            after_s, after_delay_s = self._after_trip(now_stops, arrive, px, py, watch_s, now)
            out.append(Candidate(
                rid, float(t[0, 1]), stops, float(t[0, 2]) if left else 0.0,
                float(t[1, 2]) if left else 0.0, t[2:, 2:] if left else None,
                slack_s(later, arrive[len(now_stops):]), delivering=True,
                after_trip_s=after_s, after_trip_delay_s=after_delay_s))
        return out

    def _after_trip(self, stops: Sequence[Ahead], arrive: Sequence[float], px: float,
                    py: float, watch_s: float, now: float) -> tuple[float, float]:
        """Going to the lookout (px, py) m after the last door of ``stops`` (reached at
        ``arrive``), and watching ``watch_s`` s: on scene in how long (s from ``now``; inf with
        no door left), and how much later the stops after that door are reached (s)."""
        doors = [k for k, a in enumerate(stops) if math.isfinite(a.due_s)]
        if not doors:
            return math.inf, 0.0
        k = doors[-1]
        door = stops[k]
        done = max(arrive[k], door.not_before_s) + door.service_s
        pts = [[door.x, door.y], [px, py]]
        if k + 1 < len(stops):
            pts.append([stops[k + 1].x, stops[k + 1].y])
        t, _ = self.travel(np.array(pts, dtype=np.float64), self.cfg.speed)
        back = float(t[1, 2] - t[0, 2]) if len(pts) == 3 else 0.0
        return done - now + float(t[0, 1]), float(t[0, 1]) + watch_s + back

    def _investigate(self, x: float, y: float, source: str) -> bool:
        """Send the robot that can be there first (delivering or not, when its parcels' windows
        hold after the detour) to watch (x, y): from the place itself, or from the nearest
        allowed point that sees it. False when no robot can go yet."""
        spot = lookout(self.dm, x, y, self.cfg.call_sensor_reach_m,
                       self.cfg.call_standoff_m)
        dwell = investigate_dwell_s(self.dm, x, y, self.cfg.investigate_dwell_s)
        now = self.shift_now(self._now)
        cands = self._candidates(spot.pose.x, spot.pose.y, dwell)
        visit = self._visit_seeing(x, y, now)
        first = min((c.to_call_s for c in cands), default=math.inf)
        if visit is not None and visit[0] - now <= first + self.cfg.call_join_patrol_s:
            self._join_visit(x, y, source, *visit)
            return True
        pick = choose_responder(cands, now, dwell, late_ok=self.cfg.calls_before_parcels,
                                wait_s=self.cfg.call_wait_s)
        if pick is None:
            return False
        rid = pick.robot_id
        self._seq += 1
        look = TaskPlan(TaskKind.INVESTIGATE, f"inv-{self._seq}", spot.pose, dwell_s=dwell)
        where = (f"; ({x:.1f}, {y:.1f}) is {spot.why}: watched from ({spot.pose.x:.1f}, "
                 f"{spot.pose.y:.1f}), {spot.distance_m:.1f} m away" if spot.why else "")
        m = self._missions.get(rid)
        if pick.after_trip:
            # no robot could go at once with every parcel in its window: this one goes from
            # its trip's last door, not much later than the first could have been there
            self._after[rid] = (look, (x, y))
            self._save()
            how = ("goes after handing over its trip's last parcel (no robot could go at once "
                   "with every parcel in its window)")
        elif m is not None and m.kind is MissionKind.DELIVER:
            self._leave_trip(m, look, (x, y))
            how = "leaves its delivery trip (resumes after)"
        elif m is not None and m.kind is MissionKind.PATROL:
            # Stop the patrol first; the robot takes the look once it has let go of it (a robot
            # refuses a mission while one is in progress). Held back from new patrols.
            self._stop_mission(rid)
            self._reserved[rid] = self._now
            self._calls[rid] = (look, None, (x, y))
            self._save()
            how = "stops its patrol"
        else:
            self._reserved.pop(rid, None)
            self._send(rid, MissionKind.INVESTIGATE, (look,), at=(spot.pose.x, spot.pose.y))
            self._look_place[self._missions[rid].id] = (x, y)
            how = "goes"
        if pick.late_s > 0.0:
            how += (f"; no robot could go with every parcel in its window: its parcels may be "
                    f"up to {pick.late_s:.0f} s late")
        text = (f"investigate ({x:.1f}, {y:.1f}) [{source}]: {rid} {how}, on scene in about "
                f"{pick.eta_s:.0f} s, observes {dwell:.0f} s{where}")
        self._log(Level.INFO, text)
        self._out.append(InvestigateAnswered(rid, pick.eta_s, spot.pose.x, spot.pose.y, text))
        return True

    def _join_visit(self, x: float, y: float, source: str, when: float, rid: str,
                    stop: Ahead) -> None:
        """The call at (x, y) m is watched by ``rid``'s visit ``stop`` of a hotspot that sees
        it (within call_sensor_reach_m, in line of sight), reached at ``when`` (shift-day s) —
        no more than call_join_patrol_s after the first robot that could go straight there:
        nobody leaves their work for it (someone lingering in view keeps the robot watching
        until the rule can tell)."""
        self._joined[rid] = (stop.hotspot, (stop.x, stop.y), (x, y))
        eta = max(0.0, when - self.shift_now(self._now))
        text = (f"investigate ({x:.1f}, {y:.1f}) [{source}]: {rid} is on its way to watch "
                f"{stop.hotspot} from ({stop.x:.1f}, {stop.y:.1f}), which sees it "
                f"{math.dist((x, y), (stop.x, stop.y)):.1f} m away, on scene in about {eta:.0f} s")
        self._log(Level.INFO, text)
        self._out.append(InvestigateAnswered(rid, eta, stop.x, stop.y, text))

    def _drop_call(self, rid: str, why: str) -> None:
        """A robot that made way for a call is gone: the call waits for another robot, the
        parcels of its interrupted trip stay on board (failed), its queued trips are
        replanned."""
        self._release_after(rid)
        call = self._calls.pop(rid, None)
        if call is None:
            return
        _, rest, target = call
        self._investigations.append(target)
        self._save_investigations()
        for oid in rest or ():
            self._set_order(oid, OrderState.FAILED, reason=f"{why}; parcel on board",
                            only_if=OrderState.ASSIGNED)
        self._requeue([o for trip in self._queues.pop(rid, []) for o in trip], why)
        self._save()

    def _is_hotspot(self, hid: str) -> bool:
        return hid in self._hotspots

    # -- closed sidewalks ------------------------------------------------------------------------
    def _on_sidewalks(self, reports: tuple[tuple[float, float, float], ...]) -> None:
        now = max([self._now] + [t for _, _, t in reports])
        edges = tuple(closed_edges(self.dm, reports, now, self.cfg.blocked_edge_ttl_s))
        if edges != self._closed_sent:  # a blocked sidewalk reported again changes nothing
            self._closed_sent = edges
            self._out.append(ClosedEdgesChanged(edges))

    # -- records ---------------------------------------------------------------------------------
    def _incident(self, rid: str, kind: str, detail: str, at: float | None = None) -> None:
        self.store.record_incident(rid, kind, detail, self._now if at is None else at)
        self._out.append(IncidentRecorded(rid, kind, detail))

    def _log(self, level: Level, text: str) -> None:
        self._out.append(LogLine(level, text))

    def _save(self) -> None:
        self.store.set_setting("missions", json.dumps(
            {rid: m.to_dict() for rid, m in self._missions.items()}))
        self.store.set_setting("calls", json.dumps(
            {rid: {**_look_to(t), "rest": None if rest is None else list(rest), "at": list(at)}
             for rid, (t, rest, at) in self._calls.items()}))
        self.store.set_setting("calls_after", json.dumps(
            {rid: {**_look_to(t), "at": list(at)} for rid, (t, at) in self._after.items()}))
        self.store.set_setting("queues", json.dumps(
            {rid: [list(t) for t in trips] for rid, trips in self._queues.items()}))

    def _save_investigations(self) -> None:
        self.store.set_setting("investigations", json.dumps([list(p) for p in
                                                             self._investigations]))


def _look_to(t: TaskPlan) -> dict[str, object]:
    """A look as the store keeps it (with a call waiting for a robot)."""
    return {"id": t.id, "pose": [t.pose.x, t.pose.y, t.pose.theta], "dwell_s": t.dwell_s}


def _look_from(c: Mapping[str, Any]) -> TaskPlan:
    """A look back from the store (:func:`_look_to`)."""
    return TaskPlan(TaskKind.INVESTIGATE, str(c["id"]), Pose2D(*map(float, c["pose"])),
                    dwell_s=float(c["dwell_s"]))
