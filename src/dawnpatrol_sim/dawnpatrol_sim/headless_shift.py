"""A whole delivery shift in lockstep on the headless engine: the fleet coordinator the fleet
manager runs (dispatch, trips, requeues, patrol, investigations), then per robot the mission core,
the navigator core, the particle filter and the anomaly monitor, called as the ROS nodes call
them, with simulated time and no DDS. ``run_shift`` says what became of every order and, with
:class:`ShiftDuties`, of the patrol, the operator's calls and every alert.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from dawnpatrol_core.anomaly.monitor import MonitorConfig, load_monitor_config
from dawnpatrol_core.control.causes import NavCause
from dawnpatrol_core.control.goal_runner import GoalRunner, InProcessNavigator
from dawnpatrol_core.control.navigator import Scan as RobotScan
from dawnpatrol_core.control.navigator import scan_in_base_frame
from dawnpatrol_core.control.navigator_params import NavigatorParams
from dawnpatrol_core.delivery import mission as core
from dawnpatrol_core.delivery.handover import FailReason, HandoverRules
from dawnpatrol_core.delivery.mission_runner import MissionRunner
from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.errors import (
    ConfigError,
    OrderError,
    PlanningError,
    ScenarioError,
    SensorError,
)
from dawnpatrol_core.fleet import commands as fc
from dawnpatrol_core.fleet import events as fe
from dawnpatrol_core.fleet.config import FleetConfig
from dawnpatrol_core.fleet.coordinator import FleetCoordinator
from dawnpatrol_core.fleet.plans import plan_to_json
from dawnpatrol_core.fleet.records import OrderState
from dawnpatrol_core.fleet.registry import RobotMode, RobotStatusReport
from dawnpatrol_core.fleet.tasks import TaskKind, TaskPlan
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.localization.health import HealthState
from dawnpatrol_core.localization.likelihood_field import LikelihoodField
from dawnpatrol_core.localization.loop import LocalizationLoop, LoopConfig
from dawnpatrol_core.localization.params import LocalizationParams
from dawnpatrol_core.localization.particle_filter import ParticleFilter
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.planning.dispatch import WINDOW_CAUSES, DispatchPlan, UnservedCause
from dawnpatrol_core.planning.grid_planner import GridPlanner
from dawnpatrol_core.planning.route_search import RoutePlanner
from dawnpatrol_core.safety.localization_gate import LocalizationGate
from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.inbox import InboxRecord
from dawnpatrol_core.world import RobotModel, World, load_robot_model, load_world
from dawnpatrol_sim.engine import Scan, SensorFrame, SimEngine
from dawnpatrol_sim.fleet_watch import HeadlessWatch, Received
from dawnpatrol_sim.scenario import RobotStart, Scenario, load_scenario
from dawnpatrol_sim.shift_progress import OperatorCall, ShiftProgress, clock, operator_calls

PoseSource = Literal["localization", "ground_truth"]
Outcome = Literal["delivered", "late", "failed", "unserved", "unfinished"]
#: Why an order was not delivered, in the core's types: the navigator's cause or the handover's
#: (a failed stop), the dispatcher's (unserved); None for the others.
OrderCause = NavCause | FailReason | UnservedCause | None
CONTROL_DT = 0.1  # s: navigator and mission ticks at 10 Hz, as the nodes run them


# -- settings and inputs ---------------------------------------------------------------------------
def ros_params(path: str | Path) -> dict[str, Any]:
    """The ``/**: ros__parameters:`` mapping of a params file."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    try:
        return dict(doc["/**"]["ros__parameters"])
    except (KeyError, TypeError):
        raise ConfigError(f"{path}: field '/**.ros__parameters': missing, expected a ROS "
                          "parameter file") from None


@dataclass(frozen=True, slots=True)
class ShiftSettings:
    """How a headless shift runs. ``start_time_s``: the clock at engine time 0 (shift-day s, as
    the sim node's ``start_time_s``); ``max_duration_s``: the run stops here even with missions
    under way. The rest are the nodes' parameters (``loop``: the localization node's loop,
    ``navigator``: params/navigator.yaml): see :meth:`from_params`."""

    pose_source: PoseSource = "localization"
    start_time_s: float = 7200.0
    max_duration_s: float = 5 * 3600.0
    fleet: FleetConfig = field(default_factory=FleetConfig)
    rules: HandoverRules = field(default_factory=HandoverRules)
    pin_secret: str = "dawnpatrol-sim"
    localization: LocalizationParams = field(default_factory=LocalizationParams)
    loop: LoopConfig = field(default_factory=LoopConfig)
    navigator: NavigatorParams = field(default_factory=NavigatorParams)
    initial_std: tuple[float, float] = (0.05, 0.05)  # m, rad: the runner's initialpose

    @classmethod
    def from_params(cls, params_dir: str | Path, **overrides: Any) -> ShiftSettings:
        """Settings from the params files the ROS graph reads (fleet_manager, mission,
        localization, navigator, sim .yaml in ``params_dir``), then ``overrides`` by field."""
        d = Path(params_dir)
        fleet = FleetConfig.from_params(ros_params(d / "fleet_manager.yaml"))
        mission = core.mission_config(ros_params(d / "mission.yaml"), "/headless")
        loc = ros_params(d / "localization.yaml")
        names = {f.name for f in fields(LocalizationParams)}
        params = LocalizationParams.from_mapping({k: v for k, v in loc.items() if k in names},
                                                 str(d / "localization.yaml"))
        t0 = float(ros_params(d / "sim.yaml")["start_time_s"])
        base = cls(
            start_time_s=t0, max_duration_s=fleet.shift_end - t0, fleet=fleet, rules=mission.rules,
            pin_secret=mission.pin_secret, localization=params,
            loop=LoopConfig.from_params(loc, str(d / "localization.yaml")),
            navigator=NavigatorParams.from_params(ros_params(d / "navigator.yaml"),
                                                  str(d / "navigator.yaml")))
        return replace(base, **overrides)


@dataclass(frozen=True, slots=True)
class Recipients:
    """The people at the doors, as the scenario runner plays them: ``absent`` orders' recipients
    never come; every other recipient keys in the right PIN ``pin_delay_s`` s after the robot
    arrives."""

    absent: frozenset[str] = frozenset()
    pin_delay_s: float = 20.0


@dataclass(frozen=True, slots=True)
class ShiftInput:
    """One shift to run: the scenario (world, robots, people, faults), the orders file handed to
    the fleet, and the recipients."""

    scenario: Scenario
    orders_path: Path
    recipients: Recipients


@dataclass(frozen=True, slots=True)
class ShiftDuties:
    """The crime-prevention side of a headless shift, played as the scenario runner plays it:
    the operator starts the patrol ``patrol_at_s`` s after the start (None: never) and passes on
    ``calls`` (a robot goes to look); with ``monitor`` every robot runs its anomaly monitor (this
    config; zone hours on the simulated clock), alerts reach the fleet's inbox while the robot's
    link is up, and blocked sidewalks close edges for every navigator. The run lasts
    ``duration_s`` s (a patrol never ends by itself)."""

    duration_s: float
    patrol_at_s: float | None = None
    calls: tuple[OperatorCall, ...] = ()
    monitor: MonitorConfig | None = None


def shift_duties(scenario: Scenario, params_dir: str | Path) -> ShiftDuties:
    """The duties of a scenario file as the scenario runner plays them (``patrol.start_at_s``,
    ``operator.calls``, ``duration``) with the shipped anomaly monitor
    (``params_dir``/anomaly_monitor.yaml; the simulated clock is local time: no UTC offset)."""
    patrol = scenario.patrol if isinstance(scenario.patrol, dict) else {}
    at = patrol.get("start_at_s", 30.0) if scenario.patrol is not None else None
    config = replace(load_monitor_config(Path(params_dir) / "anomaly_monitor.yaml"),
                     utc_offset_s=0.0)
    return ShiftDuties(scenario.duration, None if at is None else float(at),
                       tuple(operator_calls(scenario.operator, scenario.source)), config)


def load_shift(path: str | Path) -> ShiftInput:
    """A scenario file with an ``orders:`` section (``file`` relative to it, ``absent``,
    ``pin_delay_s``), read as the scenario runner reads it."""
    sc = load_scenario(path)
    cfg = sc.orders
    if not isinstance(cfg, dict) or "file" not in cfg:
        raise ScenarioError(f"{path}: field 'orders.file': missing, expected a file name")
    return ShiftInput(sc, Path(path).parent / str(cfg["file"]),
                      Recipients(frozenset(str(a) for a in cfg.get("absent", []) or []),
                                 float(cfg.get("pin_delay_s", 20.0))))


@dataclass(frozen=True, slots=True, eq=False)
class ShiftStage:
    """What every run on one district shares: world, robot model, map and the particle filter's
    likelihood field (None: ground-truth runs only)."""

    world: World
    model: RobotModel
    dm: DistrictMap
    map_dir: Path
    field: LikelihoodField | None = None


def load_stage(world: str | Path, robot_model: str | Path, map_dir: str | Path,
               localization: LocalizationParams | None = None) -> ShiftStage:
    """Load world, model and map; with ``localization`` also build the likelihood field."""
    dm = load_district_map(map_dir)
    lf = None
    if localization is not None:
        p = localization
        lf = LikelihoodField.from_grid(dm.grid, p.z_hit, p.z_rand, p.sigma_hit,
                                       p.laser_max_range, p.likelihood_max_dist)
    return ShiftStage(load_world(world), load_robot_model(robot_model), dm, Path(map_dir), lf)


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What became of one order; times in shift-day seconds (NaN: did not happen).

    ``outcome``: delivered (handed over by the window's end, as the shift report counts it) |
    late (handed over after it) | failed (``cause``: the mission's typed failure of the stop, a
    :class:`NavCause` or the handover's ``FailReason``) | unserved (not in the plan; ``cause``:
    the dispatcher's :class:`UnservedCause`) | unfinished (the run ended before the stop had an
    outcome). ``reason`` says it for people; nothing decides on its words. ``returned_at``: the
    parcel was unloaded at the depot by a return task. ``loaded_away``: its trip was sent after
    the robot's return to the depot had failed, so the parcel could not really have been loaded.
    """

    order_id: str
    address_id: str
    robot_id: str
    outcome: Outcome
    reason: str
    cause: OrderCause
    window_start: float
    window_end: float
    planned_eta: float
    handed_over_at: float
    returned_at: float
    recipient_home: bool
    loaded_away: bool = False

    @property
    def early(self) -> bool:
        """Handed over before its window opened (robots wait at the door: never, unless broken)."""
        return self.handed_over_at < self.window_start

    @property
    def cause_group(self) -> str:
        """The cause in the acceptance's terms, from its type: absent recipient, infeasible
        window, robot fault (the navigator's cause in brackets), PIN not completed, unserved
        (the dispatcher's cause), unfinished; '' when delivered."""
        c = self.cause
        if isinstance(c, NavCause):
            return f"robot fault ({c.value})"
        if isinstance(c, UnservedCause):
            return "infeasible window" if c in WINDOW_CAUSES else f"unserved ({c.value})"
        if c == "absent":
            return "absent recipient"
        if c is not None:
            return f"PIN not completed ({c})"
        return self.outcome if self.outcome in ("unfinished", "failed") else ""


@dataclass(frozen=True, slots=True)
class RobotReport:
    """One robot's shift: trips started, metres driven (ground truth), what it touched
    (``static``, ``person:<name>``, ``robot:<id>``, ``obstacle:<name>``), parcels still on board
    at the end, localization error (median, p95, max m; NaN on ground truth), seconds LOST."""

    robot_id: str
    trips: int
    distance_m: float
    contacts: tuple[str, ...]
    parcels_on_board: tuple[str, ...]
    localization_error_m: tuple[float, float, float]
    lost_s: float


@dataclass(frozen=True, slots=True, eq=False)
class ShiftResult:
    """A finished run: every order's outcome, every robot's report, the fleet's plan JSON, the
    clock span (shift-day s), wall seconds, whether every mission ended before
    ``max_duration_s``, the shift's log lines, and the patrol visits made (robot, task id,
    arrived, left; shift-day s). With duties: the shift's ``progress`` (patrol visits, calls
    looked at, alerts), the operator's ``calls`` (clock s, x, y), every event the fleet
    ``received`` and its ``incidents`` at the end."""

    orders: tuple[OrderOutcome, ...]
    robots: tuple[RobotReport, ...]
    plan: Mapping[str, Any]
    start_s: float
    end_s: float
    wall_time_s: float
    finished: bool
    log: tuple[str, ...]
    visits: tuple[tuple[str, str, float, float], ...] = ()
    progress: ShiftProgress | None = None
    calls: tuple[tuple[float, float, float], ...] = ()
    received: tuple[Received, ...] = ()
    incidents: tuple[InboxRecord, ...] = ()

    @property
    def sim_time_s(self) -> float:
        return self.end_s - self.start_s

    def count(self, outcome: Outcome) -> int:
        """Orders with this outcome."""
        return sum(o.outcome == outcome for o in self.orders)


# -- one robot: localization, navigation, mission --------------------------------------------------
def robot_frame_scan(scan: Scan, mount_x: float) -> RobotScan:
    """(ranges, angles) of a sim scan moved from the lidar frame to the robot base frame."""
    r = np.asarray(scan.ranges, dtype=np.float64)
    a = scan.angle_min + scan.angle_increment * np.arange(r.size, dtype=np.float64)
    return scan_in_base_frame(r, a, mount_x)


def make_localizer(dm: DistrictMap, settings: ShiftSettings, start: Pose2D,
                   rng: np.random.Generator, lf: LikelihoodField | None = None
                   ) -> LocalizationLoop:
    """The localization node's loop on a particle filter started at ``start`` (the runner's
    initialpose, ``settings.initial_std``)."""
    pf = ParticleFilter(dm.grid, settings.localization, rng, field=lf)
    sxy, syaw = settings.initial_std
    pf.init_pose(start, np.diag([sxy * sxy, sxy * sxy, syaw * syaw]))
    loop = LocalizationLoop(pf, settings.loop)
    loop.restart(None)
    return loop


def make_drive(dm: DistrictMap, settings: ShiftSettings, localized: bool,
               routes: RoutePlanner | None = None,
               grid: GridPlanner | None = None) -> GoalRunner:
    """The navigator node's goal runner on params/navigator.yaml (``settings.navigator``);
    ``localized``: with the localization gate (the pose comes from the particle filter)."""
    p = settings.navigator
    gate = LocalizationGate(p.localization_lost_timeout_s) if localized else None
    return GoalRunner(p.navigator(dm, routes=routes, grid=grid), gate, p.pose_timeout_s)


def read_sensors(eng: SimEngine, robot_id: str, loop: LocalizationLoop | None,
                 now: float) -> tuple[Pose2D, RobotScan | None]:
    """One engine step's readings as the robot's nodes take them: the pose the navigator gets
    (the localization loop's estimate after this step's fix, scan and odometry; ground truth
    without one) and this step's scan in the robot frame, if there is a new one."""
    if loop is None:
        raw, pose = eng.latest_scan(robot_id), eng.pose(robot_id)
    else:
        fr = eng.sensors(robot_id)
        raw = fr.scan
        feed_localizer(loop, fr, now)
        pose = loop.estimate.pose
    return pose, None if raw is None else robot_frame_scan(raw, eng.model.lidar.mount_x)


def feed_localizer(loop: LocalizationLoop, fr: SensorFrame, now: float) -> None:
    """A step's fix, scan and odometry to the localization loop, as the node's callbacks hand
    them over (an unusable fix or scan is dropped; a scan without odometry too)."""
    try:
        if fr.gnss is not None:
            loop.gnss(fr.gnss.x, fr.gnss.y, fr.gnss.std, now)
        if fr.scan is not None and fr.odom is not None:
            sc = fr.scan
            loop.scan(Pose2D(fr.odom.x, fr.odom.y, fr.odom.theta), sc.ranges, sc.angle_min,
                      sc.angle_increment, sc.range_min, sc.range_max, now)
    except SensorError:
        pass


def drive_tick(drive: GoalRunner, loop: LocalizationLoop | None, now: float,
               scan: RobotScan | None) -> tuple[float, float]:
    """One control period of the navigator node: localization health to the gate, then the
    goal runner's command."""
    if loop is not None:
        drive.health_in(now, loop.estimate.health is HealthState.LOST)
    t = drive.tick(now, scan)
    return t.v, t.w


@dataclass(slots=True)
class _Robot:
    """One robot's nodes in one process: the localization loop, the navigator's goal runner and
    the mission runner over it, and the shift's bookkeeping of what the robot did."""

    id: str
    drive: GoalRunner
    loop: LocalizationLoop | None
    runner: MissionRunner
    pose: Pose2D
    trips: int = 0
    scan: RobotScan | None = None
    scan_t: float = -math.inf
    returned: dict[str, float] = field(default_factory=dict)  # parcel -> unloaded at depot
    away: bool = False  # the last return to the depot failed: not reloaded since
    loaded_away: set[str] = field(default_factory=set)  # parcels of trips sent while away
    failures: dict[str, tuple[float, OrderCause]] = field(default_factory=dict)  # order -> last
    distance_m: float = 0.0
    truth: Pose2D | None = None
    loc_err: list[float] = field(default_factory=list)
    lost_s: float = 0.0
    watch_until: float = 0.0  # the anomaly monitor's: someone lingering in view judged then (s)

    def tick(self, now: float) -> tuple[float, float]:
        """One control period: the navigator's command, then the mission's tick."""
        scan = self.scan if now - self.scan_t < 0.5 else None
        cmd = drive_tick(self.drive, self.loop, now, scan)
        self.runner.tick(now, self.pose, self.watch_until)
        for d in self.runner.done:
            if d.run.task.kind == "return":
                self.away = not d.run.ok
                if d.run.ok:
                    self.returned.update(dict.fromkeys(d.parcels, d.run.since))
            elif d.run.task.kind == "deliver" and not d.run.ok:
                self.failures[d.run.task.order_id] = (d.run.since, d.run.failure)
        self.runner.done.clear()
        return cmd

    def cancel(self, now: float) -> None:
        """The fleet cancels the mission (the mission node's cancel): the robot stops where it
        is, the parcels stay on board, the result is not awaited."""
        if self.runner.cancel(now) is not None:
            self.runner.ended.pop()

    def sense(self, eng: SimEngine, now: float) -> None:
        """Read this step's sensors: the pose for the navigator and the latest scan."""
        self.pose, scan = read_sensors(eng, self.id, self.loop, now)
        self.drive.pose_in(self.pose, now, now)
        if scan is not None:
            self.scan, self.scan_t = scan, now

    def measure(self, truth: Pose2D) -> None:
        """Ground-truth bookkeeping after a control period: distance, localization error."""
        if self.truth is not None:
            self.distance_m += math.hypot(truth.x - self.truth.x, truth.y - self.truth.y)
        self.truth = truth
        if self.loop is not None:
            self.loc_err.append(math.hypot(self.pose.x - truth.x, self.pose.y - truth.y))
            self.lost_s += CONTROL_DT * (self.loop.estimate.health is HealthState.LOST)

    def report(self, contacts: tuple[str, ...]) -> RobotReport:
        e = np.array(self.loc_err or [math.nan])
        return RobotReport(self.id, self.trips, self.distance_m, contacts, self.runner.parcels,
                           (float(np.median(e)), float(np.percentile(e, 95)), float(e.max())),
                           self.lost_s)


def _make_robot(stage: ShiftStage, settings: ShiftSettings, start: RobotStart, index: int,
                seed: int, lf: LikelihoodField | None, routes: RoutePlanner,
                grid: GridPlanner, now: float) -> _Robot:
    loop = None
    if settings.pose_source == "localization":
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, index)))
        loop = make_localizer(stage.dm, settings, start.start, rng, lf)
    drive = make_drive(stage.dm, settings, loop is not None, routes, grid)
    drive.pose_in(start.start, now, now)
    runner = MissionRunner(start.id, settings.pin_secret, settings.rules,
                           InProcessNavigator(drive))
    return _Robot(start.id, drive, loop, runner, start.start, truth=start.start)


def mission_tasks(tasks: Sequence[TaskPlan]) -> tuple[core.TaskSpec, ...]:
    """The fleet's task plans as the mission node receives them (MissionTask -> TaskSpec; the
    simulated clock counts shift-day seconds, so a window opens at its start; a patrol visit
    planned between parcels watches from its planned start)."""
    deliver = [t.kind == "deliver" for t in tasks]
    return tuple(core.make_task(t.kind.value, t.id, t.pose.x, t.pose.y, t.pose.theta, t.dwell_s,
                                t.order_id if d else "", t.method if d else "pin",
                                not_before=max(t.window_start, 0.0))
                 for t, d in zip(tasks, deliver, strict=True))


# -- the shift -------------------------------------------------------------------------------------
class ShiftFleet:
    """The fleet side of the shift: the fleet coordinator the fleet manager node runs, over an
    in-memory store, fed what the node would hear (each robot's status and tick once a simulated
    second, mission events, mission results) and carrying out its commands on the robots."""

    def __init__(self, stage: ShiftStage, settings: ShiftSettings, robots: dict[str, _Robot],
                 log: list[str]) -> None:
        self.robots, self.log = robots, log
        self.store = FleetStore(":memory:")
        self.coord = FleetCoordinator(replace(settings.fleet, robot_ids=tuple(robots)), stage.dm,
                                      self.store, settings.start_time_s, str(stage.map_dir))
        self.next_tick = -math.inf

    def feed(self, event: fe.Event, now: float) -> list[fc.Command]:
        """Hand ``event`` to the coordinator and carry out its commands on the robots."""
        cmds = self.coord.handle(event, now)
        for a in cmds:  # the dispatch's answer is logged before the trips it sends
            if isinstance(a, fc.DispatchAnswered) and a.plan is not None:
                self.log.append(f"{clock(now)} {a.message}")
                self.log += [f"  unserved {oid}: {why}" for oid, why in a.plan.unserved]
        for c in cmds:
            if isinstance(c, fc.CancelMission):
                self.robots[c.robot_id].cancel(now)
            elif isinstance(c, fc.SendMission):
                _start_trip(self.robots[c.robot_id], c, now, self.log)
                self.coord.handle(fe.MissionAccepted(c.robot_id, c.mission_id), now)
            elif isinstance(c, fc.LogLine):
                self.log.append(f"{clock(now)} {c.text}")
        return cmds

    def dispatch(self, path: Path, now: float) -> fc.DispatchAnswered:
        """The orders file dispatched as an operator uploads it; OrderError (every problem) or
        PlanningError when the fleet refuses it."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise OrderError(f"{path}: cannot read orders file: {exc.strerror}") from None
        self.heard(now)
        req = fe.DispatchRequested(text, path.suffix.lstrip("."), str(path), False, "headless")
        answer = next(c for c in self.feed(req, now) if isinstance(c, fc.DispatchAnswered))
        if answer.problems:
            raise OrderError("\n".join(answer.problems))
        if not answer.success:
            raise PlanningError(answer.message)
        return answer

    def heard(self, now: float) -> None:
        """Every robot's status, as its mission node publishes it."""
        for r in self.robots.values():
            # the mode the mission node reports: its current task's (a patrol is not busy)
            run = r.runner.run
            mode = RobotMode(core.robot_mode(run.task.kind if run is not None else None))
            self.feed(fe.StatusReceived(RobotStatusReport(
                r.id, mode, r.pose.x, r.pose.y, r.pose.theta, stamp=now,
                parcels_on_board=r.runner.parcels)), now)

    def step(self, now: float) -> None:
        """Finished missions' results, then once a second statuses and the fleet's tick."""
        for r in self.robots.values():
            ended, r.runner.ended = r.runner.ended, []
            for done in ended:
                outcome = fe.MissionOutcome.FAILED if done.failed else fe.MissionOutcome.SUCCEEDED
                self.feed(fe.MissionResultReceived(
                    r.id, done.mission_id, outcome, done.completed, done.failed,
                    f"{len(done.completed)} completed, {len(done.failed)} failed"), now)
        if now >= self.next_tick:
            self.next_tick = now + 1.0
            self.heard(now)
            self.feed(fe.Tick(), now)

    @property
    def idle(self) -> bool:
        """No mission in flight and no order waiting for a robot."""
        return not self.coord.missions and all(
            o.state is not OrderState.PLANNED for o in self.coord.orders.values())


def run_shift(stage: ShiftStage, shift: ShiftInput, settings: ShiftSettings,
              on_line: Callable[[str], None] | None = None,
              duties: ShiftDuties | None = None,
              on_step: Callable[[SimEngine, float], None] | None = None) -> ShiftResult:
    """Dispatch the orders through the fleet coordinator at the shift's start, then step every
    robot at 10 Hz (engine dt 0.05 s), the fleet sending trips as robots come back, until all
    trips are done or ``max_duration_s`` is up. ``on_line`` receives each log line as it
    happens (live progress). With ``duties`` the patrol, the operator's calls and the robots'
    anomaly monitors run too, for ``duties.duration_s``. ``on_step(engine, clock s)`` is called
    after every engine step (ground truth for a benchmark).

    Raises OrderError (the batch is rejected whole) or PlanningError from dispatch.
    """
    wall0 = time.perf_counter()
    t0 = settings.start_time_s
    log: list[str] = []
    eng = SimEngine(stage.world, stage.model, shift.scenario)
    lf = stage.field
    if settings.pose_source == "localization" and lf is None:
        lp = settings.localization
        lf = LikelihoodField.from_grid(stage.dm.grid, lp.z_hit, lp.z_rand, lp.sigma_hit,
                                       lp.laser_max_range, lp.likelihood_max_dist)
    routes, grid = settings.navigator.route_planner(stage.dm), settings.navigator.grid_planner(
        stage.dm)  # stateless: shared by the robots
    robots = {r.id: _make_robot(stage, settings, r, i, eng.seed, lf, routes, grid, t0)
              for i, r in enumerate(shift.scenario.robots)}
    fleet = ShiftFleet(stage, settings, robots, log)
    if duties is not None and duties.patrol_at_s is not None and duties.patrol_at_s <= 0.0:
        # patrol on before the batch: the fleet plans parcels and visits in one schedule
        fleet.heard(t0)
        fleet.feed(fe.PatrolRequested("*", True), t0)
        log.append(f"{clock(t0)} operator starts the patrol")
    answer = fleet.dispatch(shift.orders_path, t0)
    assert answer.plan is not None
    orders, plan = answer.orders, plan_to_json(answer.plan, answer.orders, str(stage.map_dir))
    progress = ShiftProgress(set(orders), set(shift.recipients.absent),
                             shift.recipients.pin_delay_s, ack_delay_s=math.inf)
    duty = _Duties(duties, eng, stage.dm, fleet, progress, t0) if duties is not None else None
    end = duties.duration_s if duties is not None else settings.max_duration_s
    steps = max(1, round(CONTROL_DT / eng.dt))
    finished, shown = False, 0
    while eng.now < end - 1e-9:
        now = t0 + eng.now
        fleet.step(now)
        if duty is None and fleet.idle:
            finished = True
            break
        if duty is not None:
            duty.operator(now)
        cmds = {r.id: r.tick(now) for r in robots.values()}
        for due in progress.due_pins(now):
            pin = core.expected_pin(due.order_id, settings.pin_secret)
            robots[due.robot_id].runner.submit_pin(now, due.order_id, pin)
        for r in robots.values():
            _record_events(r, progress, log, fleet, now)
        if on_line is not None:
            for line in log[shown:]:
                on_line(line)
            shown = len(log)
        for _ in range(steps):
            eng.step(cmds)
            for r in robots.values():
                r.sense(eng, t0 + eng.now)
            if duty is not None:
                duty.watch_step({r.id: r.pose for r in robots.values()}, cmds)
            if on_step is not None:
                on_step(eng, t0 + eng.now)
        for r in robots.values():
            r.measure(eng.pose(r.id))
    if duty is not None:
        finished = not fleet.coord.missions or all(
            m.kind.value == "patrol" for m in fleet.coord.missions.values())
    if not finished:
        log.append(f"{clock(t0 + eng.now)} run stopped after {settings.max_duration_s:.0f} s "
                   "with missions under way")
        for r in robots.values():
            run = r.runner.run
            if run is not None:
                tail = "; ".join(f"[{clock(t)}] {text}" for t, text in r.drive.nav.events[-6:])
                log.append(f"  {r.id} still on {run.task.kind} {run.task.id} "
                           f"({run.state} since {clock(run.since)}) at ({r.pose.x:.1f}, "
                           f"{r.pose.y:.1f}), navigator {r.drive.nav.status}: {tail}")
    if on_line is not None:
        for line in log[shown:]:
            on_line(line)
    returned = {p: t for r in robots.values() for p, t in r.returned.items()}
    away = set().union(*(r.loaded_away for r in robots.values()))
    failures = dict(sorted((f for r in robots.values() for f in r.failures.items()),
                           key=lambda f: f[1][0]))  # the last failure of an order counts
    fleet.store.close()
    watched: tuple[tuple[Received, ...], tuple[InboxRecord, ...]] = ((), ())
    if duty is not None:
        watched = duty.close()
    return ShiftResult(
        tuple(_outcomes(orders, answer.plan, progress, returned, away, shift.recipients,
                        {oid: cause for oid, (_, cause) in failures.items()})),
        tuple(r.report(tuple(c.what for c in eng.contacts if c.robot == r.id))
              for r in robots.values()),
        plan, t0, t0 + eng.now, time.perf_counter() - wall0, finished, tuple(log),
        tuple(progress.visits), progress if duty is not None else None,
        tuple(duty.called) if duty else (), *watched)


class _Duties:
    """The operator and the robots' monitors of a shift with duties: patrol start and calls on
    the shift's clock; each engine step's readings to every robot's anomaly monitor, its alerts
    to the fleet (blocked sidewalks close edges), closed edges to every navigator (the fleet's
    and the robot's own, as the navigator node joins both topics)."""

    def __init__(self, duties: ShiftDuties, eng: SimEngine, dm: DistrictMap, fleet: ShiftFleet,
                 progress: ShiftProgress, t0: float) -> None:
        self.duties, self.fleet, self.progress, self.t0 = duties, fleet, progress, t0
        self.calls = list(duties.calls)
        self.called: list[tuple[float, float, float]] = []
        self.patrol_started = duties.patrol_at_s is None or duties.patrol_at_s <= 0.0
        self.watch = (HeadlessWatch(eng, dm, duties.monitor, t0, seed=eng.seed)
                      if duties.monitor is not None else None)
        self._seen = self._outputs_seen = 0
        self._fleet_closed: set[int] = set()
        self._own_closed: dict[str, set[int]] = {}

    def operator(self, now: float) -> None:
        t = now - self.t0
        if not self.patrol_started and t >= (self.duties.patrol_at_s or 0.0):
            self.patrol_started = True
            self.fleet.feed(fe.PatrolRequested("*", True), now)
            self.fleet.log.append(f"{clock(now)} operator starts the patrol")
        while self.calls and t >= self.calls[0].at:
            call = self.calls.pop(0)
            self.called.append((now, call.x, call.y))
            self.fleet.log.append(f"{clock(now)} operator: {call.note or 'a call'}: investigate "
                                  f"({call.x:.0f}, {call.y:.0f})")
            self.fleet.feed(fe.InvestigateRequested(call.x, call.y), now)

    def watch_step(self, poses: Mapping[str, Pose2D],
                   cmds: Mapping[str, tuple[float, float]]) -> None:
        w = self.watch
        if w is None:
            return
        w.step(poses, cmds)
        now = w.start_s + w.eng.now
        for rid, r in self.fleet.robots.items():  # as the mission node hears watch_until
            mon = w.monitors.get(rid)
            r.watch_until = mon.watch_until(now) if mon is not None else 0.0
        outs, self._outputs_seen = w.outputs[self._outputs_seen:], len(w.outputs)
        for rid, _, out in outs:
            if out.closed_edges is not None:
                self._own_closed[rid] = set(out.closed_edges)
                self._apply_closed(rid)
        new = w.received[self._seen:]
        self._seen = len(w.received)
        blocked = False
        for rec in new:
            if self.progress.on_alert(rec.incident, rec.event.kind, rec.at):
                self.fleet.log.append(f"{clock(rec.at)} ALERT {rec.event.kind} by "
                                      f"{rec.event.robot_id} in {rec.event.zone or 'no zone'}: "
                                      f"{rec.event.description}")
            blocked |= rec.event.kind == "blocked_sidewalk"
        if blocked:
            reports = tuple((r.event.x, r.event.y, r.event.last_seen)
                            for r in w.inbox.query(kind="blocked_sidewalk"))
            for c in self.fleet.feed(fe.SidewalkReports(reports), now):
                if isinstance(c, fc.ClosedEdgesChanged):
                    self._fleet_closed = set(c.edges)
                    for rid in self.fleet.robots:
                        self._apply_closed(rid)

    def _apply_closed(self, rid: str) -> None:
        self.fleet.robots[rid].drive.nav.closed_edges = (
            self._fleet_closed | self._own_closed.get(rid, set()))

    def close(self) -> tuple[tuple[Received, ...], tuple[InboxRecord, ...]]:
        if self.watch is None:
            return (), ()
        out = (tuple(self.watch.received), tuple(self.watch.inbox.incidents(limit=100_000)))
        self.watch.close()
        return out


def _start_trip(r: _Robot, m: fc.SendMission, now: float, log: list[str]) -> None:
    """A mission from the fleet starts on the robot (the mission node accepts it). Like the
    fleet, the shift does not check that the last return reached the depot; trips sent after a
    failed return are flagged."""
    ids = [t.order_id for t in m.tasks if t.kind is TaskKind.DELIVER]
    if [t.kind for t in m.tasks] == [TaskKind.RETURN]:  # the fleet sends it back to load
        log.append(f"{clock(now)} {r.id} back to the depot to load its next trip (from "
                   f"({r.pose.x:.1f}, {r.pose.y:.1f}))")
        r.runner.start(m.mission_id, mission_tasks(m.tasks), now)
        return
    away = ""
    if r.away:
        r.loaded_away.update(ids)
        away = f" (NOT reloaded: the last return failed; at ({r.pose.x:.1f}, {r.pose.y:.1f}))"
    log.append(f"{clock(now)} {r.id} trip {r.trips + 1}: {', '.join(ids)}{away}")
    r.trips += 1
    r.runner.start(m.mission_id, mission_tasks(m.tasks), now)


def _record_events(r: _Robot, progress: ShiftProgress, log: list[str], fleet: ShiftFleet,
                   now: float) -> None:
    """Feed a robot's mission events to the fleet and to the shift's bookkeeping (what the
    runner hears)."""
    for em in r.runner.events:
        task, e, at = em.task, em.event, em.at
        if e.event == "announce":  # to the speaker, not a MissionEvent
            continue
        if e.event in fe.TaskEvent.__members__.values():
            fleet.feed(fe.MissionEventReceived(r.id, task.id, task.kind, fe.TaskEvent(e.event),
                                               r.pose.x, r.pose.y, e.method, e.detail, at), now)
        line = progress.on_event(r.id, task.kind, e.event, task.id, e.detail, at, r.pose.x,
                                 r.pose.y)
        if line:
            log.append(line)
        if e.event == "failed" and task.kind != "deliver":
            log.append(f"{clock(at)} {r.id} {task.kind} {task.id} FAILED: {e.detail}")
        if e.event == "failed" and e.cause is not None:  # failed by the navigator
            tail = "; ".join(text for _, text in r.drive.nav.events[-4:])
            log.append(f"  {r.id} navigator's last events: {tail}")
    r.runner.events.clear()


def _outcomes(orders: Mapping[str, Order], plan: DispatchPlan, progress: ShiftProgress,
              returned: Mapping[str, float], loaded_away: set[str], recipients: Recipients,
              failures: Mapping[str, OrderCause]) -> list[OrderOutcome]:
    """Every order's outcome from the dispatch ``plan`` (typed unserved causes), the shift's
    bookkeeping and ``failures``: the mission's typed failure of each order's last failed stop."""
    eta = {s.order_id: (r.robot_id, s.arrival) for r in plan.routes for s in r.stops}
    why = dict(plan.unserved)
    out = []
    for oid, o in orders.items():
        rid, planned = eta.get(oid, ("", math.nan))
        at = progress.delivered.get(oid, math.nan)
        outcome: Outcome
        cause: OrderCause = None
        if oid in why:
            outcome, reason, cause = "unserved", why[oid], plan.unserved_causes[oid]
        elif math.isfinite(at):
            outcome = "delivered" if at <= o.window_end + 1e-6 else "late"
            reason = "" if outcome == "delivered" else f"handed over {at - o.window_end:.0f} s late"
        elif oid in failures:
            outcome, reason, cause = "failed", progress.failed.get(oid, ""), failures[oid]
        else:
            outcome, reason = "unfinished", "the run ended before the stop had an outcome"
        out.append(OrderOutcome(oid, o.address_id or "", rid, outcome, reason, cause,
                                o.window_start,
                                o.window_end, planned, at, returned.get(oid, math.nan),
                                oid not in recipients.absent, oid in loaded_away))
    return out
