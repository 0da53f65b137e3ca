"""A simulated fleet's anomaly monitors in lockstep, with no DDS: each robot's core AnomalyMonitor
fed from the engine as the anomaly monitor node is fed, its outbox delivered to the fleet's inbox
(which merges incidents across robots) while its link is up. The headless shift and the anomaly
scenarios both run it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dawnpatrol_core.anomaly.events import AnomalyEvent
from dawnpatrol_core.anomaly.incidents import IncidentPolicy
from dawnpatrol_core.anomaly.monitor import AnomalyMonitor, MonitorConfig, MonitorOutput
from dawnpatrol_core.anomaly.segmentation import StaticMapFilter
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.store.inbox import Inbox, InboxResult
from dawnpatrol_core.store.outbox import Outbox
from dawnpatrol_sim.engine import SimEngine


@dataclass(frozen=True, slots=True)
class Received:
    """An event as the fleet stored it: clock time ``at`` (s), the ``result`` of the upsert and
    the ``incident`` (id) it belongs to."""

    at: float
    event: AnomalyEvent
    result: InboxResult
    incident: str


class HeadlessWatch:
    """The anomaly monitors of ``robots`` (default: every robot of the engine) on ``eng``, the
    clock reading ``start_s`` (s) at engine time 0. Call :meth:`step` after every engine step.
    Each robot's monitor gets its scans with its pose (ground truth, or the pose its
    localization gives, passed to :meth:`step`), odometry, battery, the commanded velocity, the
    fleet's heartbeat every ``heartbeat_period_s`` while its link is up and the other robots'
    positions; health is checked every ``health_period_s``. Its outbox (in memory) goes to the
    fleet inbox while its link is up; ``received`` lists what the fleet stored."""

    def __init__(self, eng: SimEngine, district: DistrictMap, config: MonitorConfig,
                 start_s: float, robots: Sequence[str] | None = None, seed: int = 0,
                 policy: IncidentPolicy | None = None, heartbeat_period_s: float = 0.5,
                 health_period_s: float = 1.0) -> None:
        self.eng = eng
        self.start_s = start_s
        ids = tuple(robots) if robots is not None else eng.robot_ids
        self.outboxes = {rid: Outbox(":memory:") for rid in ids}
        static = StaticMapFilter(district.grid)
        self.monitors = {
            rid: AnomalyMonitor(rid, district, config,
                                np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,))),
                                start_s, self.outboxes[rid], static)
            for i, rid in enumerate(ids)}
        self.inbox = Inbox(":memory:", policy=policy)
        self.received: list[Received] = []
        self.outputs: list[tuple[str, float, MonitorOutput]] = []  # (robot, clock s, output)
        self._beat_period, self._health_period = heartbeat_period_s, health_period_s
        self._next_beat = self._next_health = start_s

    def step(self, poses: Mapping[str, Pose2D] | None = None,
             cmds: Mapping[str, tuple[float, float]] | None = None) -> None:
        """Feed the engine's readings of this step; ``poses`` (base poses in the map, per robot)
        replace ground truth, ``cmds`` are the velocities (m/s, rad/s) commanded this step."""
        eng = self.eng
        now = self.start_s + eng.now
        beat = now >= self._next_beat - 1e-9
        if beat:
            self._next_beat += self._beat_period
        health = now >= self._next_health - 1e-9
        if health:
            self._next_health += self._health_period
        where = {rid: eng.pose(rid) for rid in eng.robot_ids}
        for rid, mon in self.monitors.items():
            fr = eng.sensors(rid)
            link = eng.link_up(rid)
            if fr.odom is not None:
                mon.on_odom(Pose2D(fr.odom.x, fr.odom.y, fr.odom.theta), now)
            mon.on_battery(fr.battery.soc, now)
            if cmds is not None and rid in cmds:
                mon.on_cmd_vel(cmds[rid][0], cmds[rid][1], now)
            if beat and link:
                mon.on_heartbeat(now)
            for other, p in where.items():
                if other != rid:
                    mon.on_fleet_robot(other, p.x, p.y)
            if fr.scan is not None:
                sc = fr.scan
                angles = sc.angle_min + sc.angle_increment * np.arange(sc.ranges.size)
                pose = poses[rid] if poses is not None and rid in poses else where[rid]
                self._keep(rid, now, mon.on_scan(sc.ranges, angles, now, pose=pose))
            if health:
                self._keep(rid, now, mon.check_health(now))
            if link:
                self._send(rid, now)

    def _keep(self, rid: str, now: float, out: MonitorOutput) -> None:
        if out.events or out.closed or out.closed_edges is not None:
            self.outputs.append((rid, now, out))

    def _send(self, rid: str, now: float) -> None:
        box = self.outboxes[rid]
        for item in box.pending(now):
            result = self.inbox.upsert(item.event, now)
            box.ack(item.event.uuid, item.event.revision)
            incident = self.inbox.incident_of(item.event.uuid) or item.event.uuid
            self.received.append(Received(now, item.event, result, incident))

    def close(self) -> None:
        for box in self.outboxes.values():
            box.close()
        self.inbox.close()
