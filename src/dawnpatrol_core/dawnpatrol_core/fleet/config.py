"""The fleet manager's parameters, validated in one place: the node declares them from
``PARAMETERS`` and the headless shift reads the same params/fleet_manager.yaml."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.shift_clock import DAY_S

#: name -> (default, description) of every fleet_manager parameter.
PARAMETERS: dict[str, tuple[object, str]] = {
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
    "patrol_bounds": ("hard", "hotspot idleness bounds against parcels: 'hard' (a batch that "
                              "would break a bound is refused, saying which parcels would be "
                              "late and which hotspots over) or 'soft' (accepted; parcels first, "
                              "saying which hotspots go over)"),
    "patrol_window_share": (0.5, "a planned patrol visit's window as a share of its hotspot's "
                                 "bound (0.1..1; smaller: fewer visits are needed but each is "
                                 "less flexible)"),
    "patrol_margin_s": (120.0, "patrol visits are planned this long inside each hotspot's bound "
                               "(at most a tenth of it), s: a robot held up at a door still "
                               "arrives in time"),
    "call_sensor_reach_m": (12.0, "a call to a place robots may not enter is watched from an "
                                  "allowed point within this distance and in line of sight, m"),
    "calls_before_parcels": (True, "a call no robot can take with every parcel window held is "
                                   "answered at once by the robot that makes its parcels least "
                                   "late (the answer says how late); false: it waits for a "
                                   "robot that can"),
    "call_wait_s": (90.0, "a call no robot can take with every parcel window held waits for "
                          "a robot to hand over its trip's last parcel when that robot is on "
                          "scene no more than this long after the first that could go at once, "
                          "s; 0: never waits (then calls_before_parcels decides)"),
    "call_standoff_m": (3.0, "a robot answering a call to a place it may enter watches from an "
                             "allowed sidewalk point at least this far, in line of sight (not "
                             "on top of the person), m; 0 = from the place itself"),
    "call_merge_m": (8.0, "a call this close to a place a robot is already going to watch (or "
                           "a call already waiting) joins that look, m"),
    "call_join_patrol_s": (45.0, "a call a hotspot's watch point sees is left to the robot on its "
                                 "way to watch that hotspot (patrol, a visit of its trip) when it "
                                 "is there no more than this long after the first robot that "
                                 "could go straight, s"),
    "pin_secret": ("", "recipients' PIN secret: robots check PINs; the fleet never sends it"),
}


def parse_clock(name: str, text: object) -> float:
    """'HH:MM' -> seconds since midnight; ConfigError naming the parameter when malformed."""
    parts = str(text).split(":")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        h, m = int(parts[0]), int(parts[1])
        if not (0 <= h <= 47 and 0 <= m < 60):
            raise ValueError(text)
    except ValueError:
        raise ConfigError(f"parameter '{name}': got {text!r}, expected 'HH:MM'") from None
    return h * 3600.0 + m * 60.0


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """Validated fleet_manager parameters. Shift window in shift-day seconds (``shift_end`` after
    ``shift_start``, past midnight if need be); speeds m/s; distances m; times s; periods s."""

    map_dir: str = ""
    data_dir: str = "~/.dawnpatrol/fleet"
    robot_ids: tuple[str, ...] = ("r1", "r2", "r3")
    shift_start: float = 7200.0
    shift_end: float = 25200.0
    compartments: int = 4
    speed: float = 1.5
    range_m: float = math.inf
    service_time_s: float = 60.0
    utc_offset_s: float = 32400.0
    heartbeat_period_s: float = 0.5
    stale_after_s: float = 3.0
    offline_after_s: float = 10.0
    patrol_on_start: bool = False
    solver_time_limit_s: float = 5.0
    estop_timeout_s: float = 1.5
    investigate_dwell_s: float = 60.0
    blocked_edge_ttl_s: float = 1800.0
    track_period_s: float = 0.1
    patrol_seed: int = 0
    patrol_bounds: str = "hard"
    patrol_window_share: float = 0.5
    patrol_margin_s: float = 120.0
    call_sensor_reach_m: float = 12.0
    call_merge_m: float = 8.0
    call_join_patrol_s: float = 45.0
    calls_before_parcels: bool = True
    call_wait_s: float = 90.0
    call_standoff_m: float = 3.0

    @classmethod
    def from_params(cls, values: Mapping[str, object]) -> FleetConfig:
        """Check parameter ``values`` (missing names take their defaults); ConfigError names the
        first bad one as ``parameter 'x': got 'y', expected ...``."""
        p = {name: values.get(name, default) for name, (default, _) in PARAMETERS.items()}

        def num(name: str, lo: float, hi: float) -> float:
            try:
                v = float(str(p[name])) if not isinstance(p[name], bool) else math.nan
            except ValueError:
                v = math.nan
            if not (math.isfinite(v) and lo <= v <= hi):
                raise ConfigError(f"parameter '{name}': got {p[name]!r}, expected {lo:g}..{hi:g}")
            return v

        def flag(name: str) -> bool:
            v = p[name]
            if not isinstance(v, bool):
                raise ConfigError(f"parameter '{name}': got {v!r}, expected true or false")
            return v

        raw_ids = p["robot_ids"]
        ids = [str(r) for r in raw_ids] if isinstance(raw_ids, list | tuple) else []
        if not ids or len(set(ids)) != len(ids) or not all(r.isidentifier() for r in ids):
            raise ConfigError(f"parameter 'robot_ids': got {raw_ids!r}, expected unique names")
        start = parse_clock("shift_start", p["shift_start"])
        end = parse_clock("shift_end", p["shift_end"])
        range_m = num("robot_range_m", 0.0, 1e7)
        stale = num("stale_after_s", 0.1, 3600.0)
        bounds = str(p["patrol_bounds"])
        if bounds not in ("hard", "soft"):
            raise ConfigError(f"parameter 'patrol_bounds': got {p['patrol_bounds']!r}, "
                              "expected 'hard' or 'soft'")
        return cls(
            map_dir=str(p["map_dir"]), data_dir=str(p["data_dir"]), robot_ids=tuple(ids),
            shift_start=start, shift_end=end + DAY_S if end <= start else end,
            compartments=int(num("robot_compartments", 1, 32)),
            speed=num("robot_speed", 0.1, 3.0), range_m=range_m if range_m > 0 else math.inf,
            service_time_s=num("service_time_s", 0.0, 3600.0),
            utc_offset_s=num("utc_offset_s", -14 * 3600, 14 * 3600),
            heartbeat_period_s=1.0 / num("heartbeat_rate_hz", 0.5, 50.0),
            stale_after_s=stale, offline_after_s=num("offline_after_s", stale, 7200.0),
            patrol_on_start=bool(p["patrol_on_start"]),
            solver_time_limit_s=num("solver_time_limit_s", 0.1, 120.0),
            estop_timeout_s=num("estop_timeout_s", 0.1, 10.0),
            investigate_dwell_s=num("investigate_dwell_s", 0.0, 3600.0),
            blocked_edge_ttl_s=num("blocked_edge_ttl_s", 0.0, 86400.0),
            track_period_s=1.0 / num("track_rate_hz", 0.1, 100.0),
            patrol_seed=int(num("patrol_seed", 0, 2**63 - 1)),
            patrol_bounds=bounds,
            patrol_window_share=num("patrol_window_share", 0.1, 1.0),
            patrol_margin_s=num("patrol_margin_s", 0.0, 3600.0),
            call_sensor_reach_m=num("call_sensor_reach_m", 1.0, 100.0),
            call_merge_m=num("call_merge_m", 0.0, 100.0),
            call_join_patrol_s=num("call_join_patrol_s", 0.0, 3600.0),
            calls_before_parcels=flag("calls_before_parcels"),
            call_wait_s=num("call_wait_s", 0.0, 600.0),
            call_standoff_m=num("call_standoff_m", 0.0, 50.0),
        )
