"""The anomaly monitor's loop, once: scan -> segmentation -> static-map and own-robot filters ->
tracking -> zone rules -> incidents -> outbox, plus robot health. The ROS node and the headless
benchmarks both run it; it watches whenever a zone is in view, parked or driving."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from dawnpatrol_core.anomaly.events import (
    AnomalyEvent,
    Detection,
    EventManager,
    EventManagerConfig,
    Evidence,
)
from dawnpatrol_core.anomaly.health import HealthConfig, HealthMonitor
from dawnpatrol_core.anomaly.incidents import IncidentPolicy
from dawnpatrol_core.anomaly.presence import PresenceConfig
from dawnpatrol_core.anomaly.rules import RuleConfig
from dawnpatrol_core.anomaly.segmentation import (
    SegmentationConfig,
    StaticMapFilter,
    drop_near,
    seen_free,
    segment_scan,
)
from dawnpatrol_core.anomaly.tracking import MultiTargetTracker, TrackerConfig
from dawnpatrol_core.anomaly.zones_adapter import DistrictRuleEngine, district_zones
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D, wrap_angle
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.store.outbox import Outbox

FloatArray = npt.NDArray[np.float64]

#: name -> (description, lowest, highest) of every MonitorConfig number (the node declares them
#: with these; params/anomaly_monitor.yaml sets them).
MONITOR_PARAMS: dict[str, tuple[str, float, float]] = {
    "utc_offset_s": ("local time - UTC, s, for zone hours (Korea 32400)", -50400.0, 50400.0),
    "own_robot_radius_m": ("people within this of a fleet robot are that robot, m", 0.0, 5.0),
    "lidar_mount_x": ("lidar ahead of the base frame, m", -2.0, 2.0),
    "map_tolerance_m": ("scan points this close to the static map are the map, m", 0.0, 2.0),
    "pose_time_error_s": ("a scan's pose is right to this time (a sweep): turning, points "
                          "beyond map_tolerance_m / (yaw rate x this) are not trusted, s",
                          0.0, 1.0),
    "loiter_time_s": ("loitering time, s; 0 = each watch zone's max_dwell_s", 0.0, 86400.0),
    "loiter_radius_m": ("loitering radius, m", 0.1, 50.0),
    "block_time_s": ("an object on a route edge this long blocks it, s", 0.1, 3600.0),
    "intrusion_time_s": ("a person staying this long in a restricted area is an intruder, s",
                         0.0, 3600.0),
    "intrusion_depth_m": ("only positions this far inside the area's edge count for it, m",
                          0.0, 10.0),
    "linger_speed_mps": ("people slower than this stand about (their presence counts), m/s",
                         0.05, 3.0),
    "presence_gap_s": ("a place nobody was seen lingering at this long ends its stay, s",
                       1.0, 3600.0),
    "presence_absent_s": ("a place seen empty this long ends its stay, s", 0.5, 3600.0),
    "loitering_gap_s": ("a loitering incident unseen this long has ended, s", 1.0, 86400.0),
    "intrusion_gap_s": ("an intrusion incident unseen this long has ended, s", 1.0, 86400.0),
    "blocked_gap_s": ("a blocked-sidewalk incident unseen this long has ended, s", 1.0, 86400.0),
    "battery_low": ("battery LOW below this state of charge (0..1)", 0.0, 1.0),
    "battery_critical": ("battery CRITICAL below this state of charge (0..1)", 0.0, 1.0),
    "link_timeout_s": ("no fleet heartbeat this long = link lost, s", 0.1, 3600.0),
    "stale_s": ("no scan/odom this long = sensor stale, s", 0.1, 3600.0),
    "stuck_time_s": ("commanded motion without progress this long = stuck, s", 0.1, 600.0),
    "localization_lost_s": ("localization LOST this long = reported, s", 0.0, 600.0),
}
SENSORS = ("scan", "odom")
ODOM_KEEP_S = 5.0  # s of odometry kept to carry a localization pose to a scan's time
PERSON_WIDTH_M = 0.45  # m: how wide a person shows at least, to tell where the scan resolves one


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """The anomaly monitor's tuning (units in the names; ranges in :data:`MONITOR_PARAMS`).
    ``required_sensors``: the sensors watched for staleness (``scan``, ``odom``)."""

    utc_offset_s: float = 32400.0
    own_robot_radius_m: float = 1.0
    lidar_mount_x: float = 0.30
    map_tolerance_m: float = 0.15
    pose_time_error_s: float = 0.1
    loiter_time_s: float = 0.0
    loiter_radius_m: float = 3.0
    block_time_s: float = 10.0
    intrusion_time_s: float = 5.0
    intrusion_depth_m: float = 0.3
    linger_speed_mps: float = 0.6
    presence_gap_s: float = 60.0
    presence_absent_s: float = 15.0
    loitering_gap_s: float = 600.0
    intrusion_gap_s: float = 600.0
    blocked_gap_s: float = 10800.0
    battery_low: float = 0.20
    battery_critical: float = 0.08
    link_timeout_s: float = 3.0
    stale_s: float = 1.0
    stuck_time_s: float = 3.0
    localization_lost_s: float = 1.0
    required_sensors: tuple[str, ...] = SENSORS

    def __post_init__(self) -> None:
        for name, (_, lo, hi) in MONITOR_PARAMS.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise ConfigError(f"anomaly monitor params: field '{name}': got {v!r}, expected "
                                  f"a number in [{lo:g}, {hi:g}]")
            object.__setattr__(self, name, float(v))
        rs = self.required_sensors
        if isinstance(rs, str) or not all(isinstance(s, str) for s in rs) or not set(rs) <= set(
                SENSORS):
            raise ConfigError(f"anomaly monitor params: field 'required_sensors': got {rs!r}, "
                              "expected a list of scan, odom")
        object.__setattr__(self, "required_sensors", tuple(rs))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], source: str) -> MonitorConfig:
        """Build from ``name -> value`` (a params file's, a node's); unknown names are errors
        naming ``source``."""
        known = {f.name for f in fields(cls)}
        for name, v in values.items():
            if name not in known:
                raise ConfigError(f"{source}: field '{name}': got {v!r}, expected a known "
                                  "anomaly monitor parameter")
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("anomaly monitor params", source, 1)) from None


def load_monitor_config(path: str | Path) -> MonitorConfig:
    """The monitor's part of a ROS params file (``/**: ros__parameters:``, e.g.
    params/anomaly_monitor.yaml); the node's own transport parameters in it are skipped."""
    try:
        doc: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        values = dict(doc["/**"]["ros__parameters"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: field '/**.ros__parameters': got {type(exc).__name__}, "
                          "expected a readable ROS parameter file") from None
    known = {f.name for f in fields(MonitorConfig)}
    return MonitorConfig.from_mapping({k: v for k, v in values.items() if k in known}, str(path))


@dataclass(frozen=True, slots=True)
class MonitorOutput:
    """What one call produced: ``events`` new or updated (already in the outbox when the
    monitor has one), incidents ``closed`` (ended: not seen within their gap), and
    ``closed_edges``: every route edge reported blocked so far, when that set grew (else None).
    """

    events: tuple[AnomalyEvent, ...] = ()
    closed: tuple[AnomalyEvent, ...] = ()
    closed_edges: tuple[int, ...] | None = None


@dataclass(slots=True)
class _Odom:
    samples: deque[tuple[float, Pose2D]] = field(default_factory=deque)

    def add(self, t: float, pose: Pose2D) -> None:
        self.samples.append((t, pose))
        while self.samples and self.samples[0][0] < t - ODOM_KEEP_S:
            self.samples.popleft()

    def yaw_rate(self, t: float, span: float = 0.2) -> float:
        """|yaw rate| (rad/s) over the ``span`` s of odometry up to ``t`` (0 without it)."""
        then, now = self.near(t - span), self.near(t)
        if then is None or now is None or then is now:
            return 0.0
        t0 = min(self.samples, key=lambda s: abs(s[0] - (t - span)))[0]
        t1 = min(self.samples, key=lambda s: abs(s[0] - t))[0]
        return abs(wrap_angle(now.theta - then.theta)) / (t1 - t0) if t1 > t0 else 0.0

    def near(self, t: float, tolerance: float = 0.25) -> Pose2D | None:
        best = min(self.samples, key=lambda s: abs(s[0] - t), default=None)
        return None if best is None or abs(best[0] - t) > tolerance else best[1]


class AnomalyMonitor:
    """One robot's anomaly monitor. Feed it scans, poses, odometry, the fleet's robots and the
    health signals with their times (s); each scan and health check returns a
    :class:`MonitorOutput`. Zones are judged whenever the scan sees them — parked, on patrol or
    on a delivery: people are tracked in the map frame with the robot's pose at the scan's time
    (the last localization pose carried forward by odometry), so the robot's own motion is not
    taken for theirs. ``outbox``: where events are persisted before anyone sends them (None:
    the caller takes them from the outputs). ``static_map``: the district's map filter, when
    several monitors share one. Not thread-safe: one per robot."""

    def __init__(self, robot_id: str, district: DistrictMap, config: MonitorConfig,
                 rng: np.random.Generator, now: float, outbox: Outbox | None = None,
                 static_map: StaticMapFilter | None = None) -> None:
        cfg = config
        self.robot_id = robot_id
        self.config = cfg
        zones = district_zones(district, dwell_override_s=cfg.loiter_time_s or None)
        self.zones = zones
        self._mount = Pose2D(cfg.lidar_mount_x, 0.0, 0.0)
        # the map's distance transform takes seconds on a district: robots may share one
        self._filter = static_map if static_map is not None else StaticMapFilter(district.grid)
        self._seg = SegmentationConfig(map_tolerance=cfg.map_tolerance_m)
        longest = max(zones.dwell_s, default=60.0)
        # history must outlast the longest dwell time, or that zone can never fire
        self._tracker = MultiTargetTracker(TrackerConfig(history_s=longest + 60.0))
        self._rules = DistrictRuleEngine(
            zones,
            RuleConfig(loiter_radius=cfg.loiter_radius_m, block_time=cfg.block_time_s,
                       utc_offset_s=cfg.utc_offset_s, intrusion_time=cfg.intrusion_time_s,
                       intrusion_depth=cfg.intrusion_depth_m),
            PresenceConfig(linger_speed=cfg.linger_speed_mps, gap_s=cfg.presence_gap_s,
                           absent_s=cfg.presence_absent_s, history_s=longest + 120.0))
        policy = IncidentPolicy(gap_s_by_kind={"loitering": cfg.loitering_gap_s,
                                               "intrusion": cfg.intrusion_gap_s,
                                               "blocked_sidewalk": cfg.blocked_gap_s})
        self._events = EventManager(robot_id, rng, EventManagerConfig(incidents=policy),
                                    to_latlon=district.to_wgs84 if district.georef else None)
        self._outbox = outbox
        self._health = HealthMonitor(now, self._health_config())
        self._loc: tuple[float, Pose2D] | None = None
        self._lost = False  # the localizer says LOST: where anything is seen is not known
        self._odom = _Odom()
        self._fleet: dict[str, tuple[float, float]] = {}
        self._closed_edges: set[int] = set()

    def _health_config(self) -> HealthConfig:
        c = self.config
        return HealthConfig(
            battery_low=c.battery_low, battery_low_clear=c.battery_low + 0.05,
            battery_critical=c.battery_critical,
            battery_critical_clear=c.battery_critical + 0.04, stuck_time=c.stuck_time_s,
            stale_scan_s=c.stale_s, stale_odom_s=c.stale_s,
            required_sensors=c.required_sensors, link_timeout=c.link_timeout_s,
            localization_lost_time=c.localization_lost_s)

    # ------------------------------------------------------------------ inputs
    @property
    def open_incidents(self) -> tuple[AnomalyEvent, ...]:
        """The incidents this robot reports as going on."""
        return self._events.open_events

    def on_pose(self, pose: Pose2D, stamp: float) -> None:
        """A localization estimate of the base (map frame) at ``stamp`` (s, its odometry's)."""
        self._loc = (stamp, pose)

    def on_odom(self, pose: Pose2D, now: float, stamp: float | None = None) -> None:
        """An odometry pose (odom frame) received at ``now`` and taken at ``stamp`` (s, default
        ``now``): carries the last localization pose to each scan's time, and feeds the stuck
        and stale checks."""
        self._odom.add(now if stamp is None else stamp, pose)
        self._health.on_odom(pose.x, pose.y, now)

    def pose_at(self, t: float) -> Pose2D | None:
        """The base pose in the map at ``t`` (s): the last localization pose moved on by the
        odometry since its stamp (the pose itself when odometry does not cover both times)."""
        if self._loc is None:
            return None
        stamp, pose = self._loc
        then, now = self._odom.near(stamp), self._odom.near(t)
        if then is None or now is None:
            return pose
        return pose.compose(now.relative_to(then))

    def on_fleet_robot(self, robot_id: str, x: float, y: float) -> None:
        """Where another robot of the fleet is (m): people that close to it are that robot."""
        if robot_id != self.robot_id:
            self._fleet[robot_id] = (x, y)

    def on_battery(self, soc: float, now: float) -> None:
        self._health.on_battery(soc, now)

    def on_cmd_vel(self, v: float, w: float, now: float) -> None:
        self._health.on_cmd_vel(v, w, now)

    def on_imu(self, ax: float, ay: float, roll: float, pitch: float, now: float) -> None:
        self._health.on_imu(ax, ay, roll, pitch, now)

    def on_heartbeat(self, now: float) -> None:
        self._health.on_heartbeat(now)

    def on_localization(self, lost: bool, now: float) -> None:
        """The localizer's verdict: while LOST, scans judge nothing in the scene (a robot that
        does not know where it is sees the map's walls as objects on the sidewalk and people
        in the wrong zones); they still count as signs of life."""
        self._lost = lost
        self._health.on_localization(lost, now)

    def restart_health(self, now: float) -> None:
        """Measure silence from ``now`` (s): a simulated clock has just started."""
        self._health = HealthMonitor(now, self._health_config())

    # ------------------------------------------------------------------ the loop
    def on_scan(self, ranges: npt.ArrayLike, angles: npt.ArrayLike, now: float,
                stamp: float | None = None, pose: Pose2D | None = None) -> MonitorOutput:
        """One scan (``ranges`` (N,) m, ``angles`` (N,) rad in the lidar frame) taken at
        ``stamp`` (s, default ``now``), judged at ``now``. ``pose``: the base pose at the scan's
        time when the caller has it (headless); else :meth:`pose_at`. Before any pose the scan
        only counts as a sign of life, as while localization is LOST. Raises ValueError on
        scan arrays of different lengths."""
        self._health.on_scan(now)
        r = np.asarray(ranges, dtype=np.float64)
        a = np.asarray(angles, dtype=np.float64)
        if r.shape != a.shape:
            raise ValueError(f"scan: field 'ranges': got {r.shape} values for {a.shape} angles, "
                             "expected one per angle")
        t_scan = now if stamp is None else stamp
        base = pose if pose is not None else self.pose_at(t_scan)
        if base is None or self._lost:
            return self._output(now, [])
        turn = self._odom.yaw_rate(t_scan)
        if turn > 0.0 and self.config.pose_time_error_s > 0.0:
            # Turning, a small error in the scan's time swings far points off the map by more
            # than its tolerance: a car's corner becomes a person. Those points are not seen.
            reach = self.config.map_tolerance_m / (turn * self.config.pose_time_error_s)
            r = np.where(r <= reach, r, np.nan)
        sensor = base.compose(self._mount)
        seg = segment_scan(r, a, sensor, self._filter, self._seg)
        fleet = list(self._fleet.values())  # our own robots are neither people nor litter
        radius = self.config.own_robot_radius_m
        people = drop_near(seg.people, fleet, radius)
        objects = drop_near(seg.objects, fleet, radius)
        xy = np.array([[c.x, c.y] for c in people], dtype=np.float64).reshape(-1, 2)
        tracks = self._tracker.update(xy, now)
        # Beyond this range a person falls between the beams: no sign that a place is empty.
        step = abs(float(a[1] - a[0])) if len(a) > 1 else 0.0
        resolve = PERSON_WIDTH_M / (step * self._seg.person_min_points) if step else 0.0
        rmax = min(self._seg.range_max, resolve)

        def free(points: FloatArray) -> npt.NDArray[np.bool_]:
            return seen_free(r, a, sensor, points, range_max=rmax)

        dets = self._rules.evaluate(tracks, objects, now, seg.unexplained, free)
        return self._output(now, dets)

    def watch_until(self, now: float) -> float:
        """Until when (s) this robot should stay where it is to tell whether someone it sees
        lingering in a watch zone is loitering: when the latest open stay would meet the rule.
        0.0 when nobody is lingering undecided in view (or the robot does not know where it
        is). A robot ending a patrol dwell before then would leave the loiterer unreported."""
        if self._lost:
            return 0.0
        return self._rules.undecided_until(now)

    def check_health(self, now: float) -> MonitorOutput:
        """The health checks at ``now`` (s); faults are placed at the robot's pose."""
        pose = self.pose_at(now)
        x, y = (pose.x, pose.y) if pose is not None else (0.0, 0.0)
        return self._output(now, [f.to_detection(x, y) for f in self._health.check(now).active])

    def _output(self, now: float, dets: Sequence[Detection]) -> MonitorOutput:
        events = []
        grew = False
        for det in dets:
            if det.evidence.track:
                # Evidence track times go out relative to last_seen (s, <= 0): validate_event
                # bounds every evidence column by MAX_ABS_COORD, which epoch times exceed.
                rel = tuple((round(t - now, 3), x, y) for t, x, y in det.evidence.track)
                det = replace(det, evidence=Evidence(rel, det.evidence.scan))
            ev = self._events.report(det, now)
            if ev is not None:
                if self._outbox is not None:
                    self._outbox.put(ev, now)  # persisted before any send
                events.append(ev)
            if det.edge_ids and not set(det.edge_ids) <= self._closed_edges:
                self._closed_edges |= set(det.edge_ids)
                grew = True
        self._events.expire(now)
        return MonitorOutput(tuple(events), self._events.take_closed(),
                             tuple(sorted(self._closed_edges)) if grew else None)
