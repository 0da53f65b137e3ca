"""The navigator's parameters (params/navigator.yaml) as one typed, validated object, and the
navigator core built from them: the ``navigator`` node and the headless runs both build theirs
here, so one file is the truth."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from dawnpatrol_core.control.moving import EvadeConfig
from dawnpatrol_core.control.navigator import NavigatorConfig, NavigatorCore
from dawnpatrol_core.control.obstacles import ObstacleConfig
from dawnpatrol_core.control.path_follower import FollowerConfig
from dawnpatrol_core.errors import ConfigError, finite_number, shown
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.planning.grid_planner import GridPlanner, GridPlannerConfig
from dawnpatrol_core.planning.route_search import RoutePlanner, RouteSearchConfig
from dawnpatrol_core.safety.estop import EStop
from dawnpatrol_core.safety.governor import GovernorConfig, SpeedGovernor
from dawnpatrol_core.safety.operating_hours import OperatingHours
from dawnpatrol_core.safety.watchdog import HeartbeatWatchdog

_POS = "a number > 0"


def _num(ok: Callable[[float], bool]) -> Callable[[object], bool]:
    def check(v: object) -> bool:
        f = finite_number(v)
        return f is not None and not isinstance(v, bool) and ok(f)
    return check


def _text(v: object) -> bool:
    return isinstance(v, str)


# name -> (description, check, expected); the defaults are NavigatorParams' field defaults.
SPECS: dict[str, tuple[str, Callable[[object], bool], str]] = {
    "robot_id": ("robot id for logs; '' = the node's namespace", _text, "a string"),
    "fleet_public_key": ("the fleet's public key file (fleet.pub in its data directory): resumes "
                         "and the fleet's closed edges must be signed by it; '' = refuse them "
                         "(e-stops always work)", _text, "a file path or ''"),
    "state_dir": ("replay window of signed commands (kept across restarts); '' = "
                  "~/.local/state/dawnpatrol/<robot_id>", _text, "a directory path or ''"),
    "map_dir": ("district map directory (map.yaml, routes.geojson, zones.geojson, ...)",
                lambda v: isinstance(v, str) and v != "", "a map directory path"),
    "control_rate_hz": ("control loop rate, Hz (1 to 50)", _num(lambda v: 1 <= v <= 50),
                        "1 to 50 Hz"),
    "max_speed": ("robot top speed, m/s (at most 4.17 = 15 km/h)",
                  _num(lambda v: 0 < v <= 4.17), "0 < m/s <= 4.17"),
    "max_angular": ("top yaw rate, rad/s", _num(lambda v: v > 0), _POS),
    "max_accel": ("acceleration limit, m/s^2", _num(lambda v: v > 0), _POS),
    "max_decel": ("normal deceleration, m/s^2 (zone slow-downs)", _num(lambda v: v > 0), _POS),
    "stop_decel": ("deceleration of forced stops by the governor, m/s^2",
                   _num(lambda v: v > 0), _POS),
    "heartbeat_timeout_s": ("s without /fleet/heartbeat before stopping; 0 disables",
                            _num(lambda v: v >= 0), "a number >= 0 (0 disables)"),
    "operating_hours": ("daily window 'HH:MM-HH:MM' in local time; '' = always", _text,
                        "'HH:MM-HH:MM' or ''"),
    "utc_offset_s": ("local time minus clock time, s (Korea: 32400)",
                     _num(lambda v: abs(v) <= 86400), "|s| <= 86400"),
    "pose_source": ("localization (PoseWithCovarianceStamped) | ground_truth (Odometry)",
                    lambda v: v in ("localization", "ground_truth"),
                    "localization or ground_truth"),
    "pose_topic": ("pose topic; '' = 'pose' (localization) or 'ground_truth'", _text,
                   "a topic name or ''"),
    "pose_timeout_s": ("s after which a silent pose source stops the robot",
                       _num(lambda v: v > 0), _POS),
    "scan_offset_x": ("m the lidar sits ahead of the base centre", _num(lambda v: abs(v) < 2),
                      "|m| < 2"),
    "goal_tolerance": ("m from the goal counted as arrived", _num(lambda v: v > 0), _POS),
    "localization_lost_timeout_s": ("s a goal waits, standing still, for LOST localization to "
                                    "recover before it fails", _num(lambda v: v > 0), _POS),
    "feedback_period_s": ("s between navigate feedback messages (a status change is sent at "
                          "once)", _num(lambda v: v >= 0), "a number >= 0"),
    "wait_timeout_s": ("s to wait for people/obstacles before detouring",
                       _num(lambda v: v > 0), _POS),
    "stall_timeout_s": ("s a goal may stay within 1 m of one spot (stopping and resuming) before "
                        "the way counts as blocked: replan, recover, then fail for the fleet",
                        _num(lambda v: v > 0), _POS),
    "crosswalk_penalty_s": ("s added per crosswalk edge in route search",
                            _num(lambda v: v >= 0), "a number >= 0"),
    "robot_radius": ("m, grid planner inflation", _num(lambda v: v > 0), _POS),
    "footprint_length": ("m, for the obstacle stop zone", _num(lambda v: v > 0), _POS),
    "footprint_width": ("m, for the obstacle stop zone", _num(lambda v: v > 0), _POS),
    "stop_margin": ("m of clearance ahead that stops the robot", _num(lambda v: v >= 0),
                    "a number >= 0"),
    "obstacle_decel": ("m/s^2 of braking assumed when capping the speed before an obstacle "
                       "(below max_decel: a margin for latency)", _num(lambda v: v > 0), _POS),
    "slow_side_margin": ("m beside the path within which obstacles and people slow the robot",
                         _num(lambda v: v >= 0), "a number >= 0"),
    "zone_pose_margin": ("m the pose estimate may be off: zone speed limits are taken as the "
                         "lowest within it", _num(lambda v: v >= 0), "a number >= 0"),
    "predict_movers": ("track people and robots in the scan: stop short of where they are about "
                       "to be, step aside for those coming the other way",
                       lambda v: isinstance(v, bool), "true or false"),
    "pass_clearance": ("m between a person coming the other way and the robot's centre when "
                       "passing them", _num(lambda v: v > 0), _POS),
}


@dataclass(frozen=True, slots=True)
class NavigatorParams:
    """Validated navigator parameters; see params/navigator.yaml for each one's meaning."""

    robot_id: str = ""
    fleet_public_key: str = ""
    state_dir: str = ""
    map_dir: str = ""
    control_rate_hz: float = 10.0
    max_speed: float = 1.5
    max_angular: float = 1.2
    max_accel: float = 1.0
    max_decel: float = 1.5
    stop_decel: float = 2.0
    heartbeat_timeout_s: float = 3.0
    operating_hours: str = ""
    utc_offset_s: float = 32400.0
    pose_source: str = "localization"
    pose_topic: str = ""
    pose_timeout_s: float = 1.0
    scan_offset_x: float = 0.3
    goal_tolerance: float = 0.25
    localization_lost_timeout_s: float = 60.0
    feedback_period_s: float = 0.5
    wait_timeout_s: float = 8.0
    stall_timeout_s: float = 45.0
    crosswalk_penalty_s: float = 15.0
    robot_radius: float = 0.4
    footprint_length: float = 1.0
    footprint_width: float = 0.6
    stop_margin: float = 0.4
    obstacle_decel: float = 0.55
    slow_side_margin: float = 0.8
    zone_pose_margin: float = 0.5
    predict_movers: bool = True
    pass_clearance: float = 0.95

    @classmethod
    def from_params(cls, values: Mapping[str, object], source: str = "",
                    require_map: bool = True) -> NavigatorParams:
        """Parameters from ``values`` (a node's parameters or a params file's
        ``ros__parameters``); missing ones take their defaults, unknown ones are an error.
        ConfigError names ``source`` (a file; '' for a node, whose name the error gets), the
        first bad parameter, its value and what was expected.
        ``require_map`` False lets ``map_dir`` stay empty (the caller has its map)."""
        at = f"{source}: " if source else ""
        unknown = sorted(set(values) - set(SPECS))
        if unknown:
            raise ConfigError(f"{at}parameter '{unknown[0]}': unknown, expected one of the "
                              "navigator's parameters")
        out: dict[str, object] = {}
        for f in fields(cls):
            v = values.get(f.name, f.default)
            _, check, expected = SPECS[f.name]
            if f.name == "map_dir" and not require_map and v == "":
                out[f.name] = v
                continue
            try:
                ok = bool(check(v))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ConfigError(f"{at}parameter '{f.name}': got {shown(v)}, expected "
                                  f"{expected}")
            out[f.name] = float(v) if isinstance(f.default, float) else v  # type: ignore[arg-type]
        p = cls(**out)  # type: ignore[arg-type]
        p.hours()  # a bad window is reported here, before anything runs
        return p

    def hours(self) -> OperatingHours | None:
        """The operating-hours window, None when always open."""
        if not self.operating_hours:
            return None
        start, _, end = self.operating_hours.partition("-")
        try:
            return OperatingHours.from_strings(start, end, self.utc_offset_s)
        except ConfigError:
            raise ConfigError(f"parameter 'operating_hours': got {self.operating_hours!r}, "
                              "expected 'HH:MM-HH:MM' or ''") from None

    @property
    def period(self) -> float:
        """s between control ticks."""
        return 1.0 / self.control_rate_hz

    def governor(self, zones: DistrictMap, estop: EStop | None = None,
                 watchdog: HeartbeatWatchdog | None = None) -> SpeedGovernor:
        """The speed governor: drive limits, zone limits, e-stop, heartbeat, operating hours."""
        cfg = GovernorConfig(max_speed=self.max_speed, max_angular=self.max_angular,
                             max_accel=self.max_accel, max_decel=self.max_decel,
                             stop_decel=self.stop_decel, pose_margin=self.zone_pose_margin,
                             period=self.period)
        return SpeedGovernor(cfg, zones, estop, watchdog, self.hours())

    def config(self) -> NavigatorConfig:
        """The navigator core's tuning."""
        return NavigatorConfig(
            follower=FollowerConfig(max_speed=self.max_speed, max_angular=self.max_angular,
                                    goal_tolerance=self.goal_tolerance),
            obstacles=ObstacleConfig(length=self.footprint_length, width=self.footprint_width,
                                     stop_margin=self.stop_margin, decel=self.obstacle_decel,
                                     slow_side_margin=self.slow_side_margin,
                                     slow_max_speed=self.max_speed),
            wait_timeout=self.wait_timeout_s, stall_timeout=self.stall_timeout_s,
            predict_movers=self.predict_movers,
            pass_clearance=self.pass_clearance,
            evade=EvadeConfig(accel=self.max_accel, decel=self.stop_decel))

    def route_planner(self, dm: DistrictMap) -> RoutePlanner:
        """Route search on the district's sidewalk graph (stateless: may be shared)."""
        return RoutePlanner(dm.graph, dm, RouteSearchConfig(self.crosswalk_penalty_s))

    def grid_planner(self, dm: DistrictMap) -> GridPlanner:
        """Grid planner on the district's occupancy grid (stateless: may be shared)."""
        return GridPlanner(dm.grid, GridPlannerConfig(robot_radius=self.robot_radius,
                                                      snap_radius=1.5))

    def navigator(self, dm: DistrictMap, governor: SpeedGovernor | None = None,
                  routes: RoutePlanner | None = None,
                  grid: GridPlanner | None = None) -> NavigatorCore:
        """The navigator core on ``dm``; planners from these parameters unless given (shared
        by several robots), the governor defaults to :meth:`governor` without e-stop,
        heartbeat or hours."""
        return NavigatorCore(routes or self.route_planner(dm), grid or self.grid_planner(dm),
                             dm, governor if governor is not None else self.governor(dm),
                             self.config())
