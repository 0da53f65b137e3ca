"""The `sim` node: steps the headless engine on a wall timer at a real-time factor and publishes
/clock, every robot's sensors and ground truth, people and contacts (graph contract topics).

The node owns the clock (sim time = start_time_s + engine time) and never uses sim time itself.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geometry_msgs.msg import PoseArray, PoseWithCovarianceStamped, Twist
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.clock import Clock, ClockType
from rclpy.parameter import Parameter
from rclpy.task import Future
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import BatteryState, Imu, LaserScan, NavSatFix
from std_msgs.msg import Bool, String

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.georef import GeoReference, load_georef
from dawnpatrol_core.world import load_robot_model, load_spherical_coordinates, load_world
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.qos import ALERT_QOS, LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS
from dawnpatrol_sim import ros_convert as rc
from dawnpatrol_sim.engine import SimEngine
from dawnpatrol_sim.scenario import (
    RobotStart,
    Scenario,
    fleet_robot_ids,
    load_scenario,
    map_parking,
    robot_starts,
    with_robots,
)

CMD_TIMEOUT_S = 0.5  # sim s without cmd_vel before the robot is commanded to stop (safety)
BATTERY_PERIOD_S = 1.0  # sim s between BatteryState messages
PEOPLE_PERIOD_S = 0.2  # sim s between /sim/people messages
REPORT_PERIOD_S = 10.0  # sim s between achieved-RTF log lines
FALLBACK_GEOREF = GeoReference(37.2850, 127.0450, 0.0)  # Gwanggyo, Suwon

# name: (default, description); types are checked by _typed, ranges in SimNode._build
PARAMS: dict[str, tuple[Any, str]] = {
    "world": ("", "SDF world file; '' = the scenario's world"),
    "robot_model": ("", "robot model.sdf; '' = the scenario's robot_model"),
    "scenario": ("", "scenario YAML (robots, people, faults); '' = none"),
    "robot_ids": (["r1"], "robot namespaces when no scenario is given"),
    "robot_count": (0, "with a scenario: run robots r1..rN, those it does not name parked in "
                       "free depot bays of map_dir (0 = the robots the scenario names)"),
    "start_poses": ([1.0, 1.0, 0.0], "x y yaw (m, m, rad) per robot, flattened; no scenario only"),
    "seed": (-1, "random seed; -1 = the scenario's seed (0 without a scenario)"),
    "dt": (0.02, "physics step, s (0.001 to 0.05)"),
    "real_time_factor": (1.0, "sim s per wall s (0 = as fast as possible, up to 1000)"),
    "max_steps_per_tick": (20, "cap on steps per timer tick when catching up (1 to 1000)"),
    "start_time_s": (7200.0, "sim clock at start: s since the shift day's midnight (7200 = 02:00)"),
    "duration_s": (0.0, "stop cleanly after this many sim s (0 = run until interrupted)"),
    "wait_subscribers": (0, "start stepping once /clock has this many subscribers (0 = at once)"),
    "record": ("", "MCAP file to record every published message to; '' = off"),
    "map_dir": ("", "map directory whose georef.yaml converts GNSS fixes to lat/lon"),
    "max_lag_s": (0.0, "hold the clock while a robot's cmd_vel or pose is older than this many "
                       "sim s (0 = never: a loaded machine then starves the robots' nodes)"),
    "ground_truth_period_s": (0.0, "sim s between ground_truth messages (0 = every step)"),
    "clock_period_s": (0.0, "sim s between /clock messages (0 = every step); every node wakes "
                            "for each, and ROS-time timers fire at most this often"),
    "odom_period_s": (0.0, "sim s between odom messages (0 = every step)"),
    "imu_period_s": (0.0, "sim s between imu messages (0 = every step)"),
}


class _Every:
    """Due every ``period`` s of engine time (at every step when the period is under dt)."""

    def __init__(self, period: float) -> None:
        self.period, self._next = period, 0.0

    def due(self, now: float) -> bool:
        if now < self._next - 1e-9:
            return False
        self._next = now + self.period
        return True


def _fail(name: str, got: object, expected: str) -> ConfigError:
    return ConfigError(f"parameter '{name}': got {got!r}, expected {expected}")


def _typed(name: str, value: Any) -> Any:
    """``value`` converted to the type of the parameter's default, or ConfigError (parameters
    use dynamic typing, so that `-p dt:=1` or `-p seed:=abc` reach this check)."""
    default = PARAMS[name][0]
    kind = type(default[0]) if isinstance(default, list) else type(default)

    def one(x: Any) -> Any:
        if isinstance(x, bool) or isinstance(x, str) != (kind is str):
            raise TypeError
        y = kind(x)
        if kind is int and y != x:
            raise TypeError
        return y

    try:
        if not isinstance(default, list):
            return one(value)
        if not isinstance(value, list | tuple):
            raise TypeError
        return [one(x) for x in value]
    except (TypeError, ValueError):
        what = {str: "a string", int: "an integer", float: "a number"}[kind]
        raise _fail(
            name, value, f"a list: {what} each" if isinstance(default, list) else what
        ) from None


class SimNode(DawnPatrolNode):
    """Publishes /clock, /<rid>/{scan,odom,imu,gnss,battery,ground_truth,sim/link_up},
    /sim/people and /sim/contacts; subscribes /<rid>/cmd_vel."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("sim", **kwargs)
        for name, (default, desc) in PARAMS.items():
            desc_ = ParameterDescriptor(description=desc, dynamic_typing=True)
            self.declare_parameter(name, default, desc_)
        if self.get_parameter("use_sim_time").value:
            self.get_logger().warning("use_sim_time ignored: the sim node owns the clock")
            self.set_parameters([Parameter("use_sim_time", Parameter.Type.BOOL, False)])
        p = {name: _typed(name, self.get_parameter(name).value) for name in PARAMS}
        self.engine, self.georef = self._build(p)
        self.dt, self.rtf = float(p["dt"]), float(p["real_time_factor"])
        self.max_steps = int(p["max_steps_per_tick"])
        self.start_ns = round(float(p["start_time_s"]) * 1e9)
        self.duration = float(p["duration_s"])
        self.wait_subscribers = int(p["wait_subscribers"])
        self.finished: Future = Future()
        self.sink = rc.McapSink(p["record"]) if p["record"] else None
        model = self.engine.model
        self._gyro_std = model.imu.gyro_noise_std
        self._gnss_period_ns = round(1e9 / model.gnss.rate_hz)
        self._clock_pub = self.create_publisher(ClockMsg, "/clock", 10)
        self._people_pub = self.create_publisher(PoseArray, "/sim/people", SENSOR_QOS)
        self._contacts_pub = self.create_publisher(String, "/sim/contacts", ALERT_QOS)
        self._pubs: dict[str, dict[str, Any]] = {}
        self._msgs: dict[str, dict[str, Any]] = {}  # reused per topic: publish serializes at once
        self._cmd: dict[str, tuple[float, float, float]] = {}  # rid -> v, w, engine time
        self._link: dict[str, bool] = {}
        # Lockstep with the robots' nodes: (robot, topic) -> engine time last heard, and since
        # when (wall) the clock has been held for it.
        self.max_lag = float(p["max_lag_s"])
        self._heard: dict[tuple[str, str], float] = {}
        self._held_since: dict[tuple[str, str], float] = {}
        self._every = {name: _Every(float(p[f"{name}_period_s"]))
                       for name in ("clock", "odom", "imu", "ground_truth")}
        self._every["battery"] = _Every(BATTERY_PERIOD_S)
        self._every["people"] = _Every(PEOPLE_PERIOD_S)
        self._last_gnss_ns: dict[str, int] = {}
        for rid in self.engine.robot_ids:
            self._pubs[rid] = {
                "scan": self.create_publisher(LaserScan, f"/{rid}/scan", SENSOR_QOS),
                "odom": self.create_publisher(Odometry, f"/{rid}/odom", RELIABLE_QOS),
                "imu": self.create_publisher(Imu, f"/{rid}/imu", SENSOR_QOS),
                "gnss": self.create_publisher(NavSatFix, f"/{rid}/gnss", RELIABLE_QOS),
                "battery": self.create_publisher(BatteryState, f"/{rid}/battery", RELIABLE_QOS),
                "ground_truth": self.create_publisher(
                    Odometry, f"/{rid}/ground_truth", RELIABLE_QOS
                ),
                "sim/link_up": self.create_publisher(Bool, f"/{rid}/sim/link_up", LATCHED_QOS),
            }
            self._msgs[rid] = {
                "scan": LaserScan(),
                "odom": Odometry(),
                "imu": Imu(),
                "gt": Odometry(),
            }
            self.create_subscription(Twist, f"/{rid}/cmd_vel", self._on_cmd(rid), RELIABLE_QOS)
            self.create_subscription(PoseWithCovarianceStamped, f"/{rid}/pose",
                                     self._on_heard(rid, "pose"), RELIABLE_QOS)
            self._last_gnss_ns[rid] = self.start_ns
        self._n_contacts = 0
        self._next_report = REPORT_PERIOD_S
        self._wall0, self._report_wall = -1.0, time.monotonic()
        self._ref_steps = self._report_steps = self._steps = 0
        self._publish(self.start_ns)  # t = start: ground truth, battery, link state, clock
        # At most 500 ticks a second: each runs the steps due (up to max_steps_per_tick), and a
        # held clock (lockstep) is looked at again on the next tick, not in a busy loop.
        period = 0.002 if self.rtf == 0 else max(self.dt / self.rtf, 0.002)
        self.create_timer(period, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"sim: {len(self.engine.robot_ids)} robot(s) {', '.join(self.engine.robot_ids)} in "
            f"{self.engine.world.name}, dt {self.dt} s, real-time factor "
            f"{self.rtf or 'max'}, seed {self.engine.seed}"
            + (f", recording to {p['record']}" if self.sink else "")
            + (
                f", waiting for {self.wait_subscribers} /clock subscriber(s)"
                if self.wait_subscribers
                else ""
            )
        )

    # --------------------------------------------------------------------------- set-up
    def _build(self, p: dict[str, Any]) -> tuple[SimEngine, GeoReference]:
        """Validate parameters and build the engine (ConfigError/ScenarioError/MapError)."""
        dt, rtf = float(p["dt"]), float(p["real_time_factor"])
        if not 0.001 <= dt <= 0.05:
            raise _fail("dt", dt, "a step in [0.001, 0.05] s")
        if not 0.0 <= rtf <= 1000.0:
            raise _fail("real_time_factor", rtf, "0 (max) or a factor in (0, 1000]")
        if not 1 <= int(p["max_steps_per_tick"]) <= 1000:
            raise _fail("max_steps_per_tick", p["max_steps_per_tick"], "an integer in [1, 1000]")
        for name in ("ground_truth_period_s", "clock_period_s", "odom_period_s", "imu_period_s"):
            if not 0.0 <= float(p[name]) <= 10.0:
                raise _fail(name, p[name], "a period in [0, 10] s (0 = every step)")
        for name in ("start_time_s", "duration_s"):
            if not 0.0 <= float(p[name]) < 1e8:
                raise _fail(name, p[name], "a time >= 0 s")
        if not 0 <= int(p["wait_subscribers"]) <= 1000:
            raise _fail("wait_subscribers", p["wait_subscribers"], "an integer in [0, 1000]")
        if int(p["seed"]) < -1:
            raise _fail("seed", p["seed"], "-1 or an integer >= 0")
        scenario = load_scenario(p["scenario"]) if p["scenario"] else None
        world_s = p["world"] or (str(scenario.world) if scenario else "")
        model_s = p["robot_model"] or (
            str(scenario.robot_model) if scenario and scenario.robot_model else ""
        )
        for name, path in (("world", world_s), ("robot_model", model_s)):
            if not Path(path).is_file():
                raise _fail(name, path, "an existing SDF file")
        if p["record"] and not Path(p["record"]).resolve().parent.is_dir():
            raise _fail("record", p["record"], "a path in an existing directory")
        world = load_world(world_s)
        model = load_robot_model(model_s)
        if not 0 <= int(p["robot_count"]) <= 1000:
            raise _fail("robot_count", p["robot_count"], "an integer in [0, 1000]")
        if scenario is None:
            scenario = Scenario(name="params", world=Path(world_s), robots=self._robots(p, world))
        elif int(p["robot_count"]) > 0:
            ids = fleet_robot_ids(int(p["robot_count"]))
            starts = robot_starts(scenario.robots, ids, map_parking(p["map_dir"]))
            dropped = sorted({f.robot for f in scenario.faults} - set(ids))
            if dropped:
                self.get_logger().warning(f"faults of {', '.join(dropped)} dropped: not in the "
                                          f"run ({len(ids)} robots)")
            scenario = with_robots(scenario, starts)
        elif p["robot_ids"] != PARAMS["robot_ids"][0] and list(p["robot_ids"]) != [
            r.id for r in scenario.robots
        ]:
            self.get_logger().warning("robot_ids ignored: the scenario names the robots")
        seed = int(p["seed"]) if int(p["seed"]) >= 0 else None
        engine = SimEngine(world, model, scenario, seed=seed, dt=dt)
        return engine, self._georef(p["map_dir"], world_s)

    @staticmethod
    def _robots(p: dict[str, Any], world: Any) -> tuple[RobotStart, ...]:
        ids, poses = [str(r) for r in p["robot_ids"]], [float(v) for v in p["start_poses"]]
        if not ids or len(set(ids)) != len(ids) or not all(r.isidentifier() for r in ids):
            raise _fail("robot_ids", ids, "unique non-empty names usable as namespaces")
        if len(poses) != 3 * len(ids):
            raise _fail("start_poses", poses, f"{3 * len(ids)} numbers (x y yaw per robot)")
        xmin, ymin, xmax, ymax = world.bounds
        starts = []
        for i, rid in enumerate(ids):
            x, y, th = poses[3 * i : 3 * i + 3]
            if not (xmin <= x <= xmax and ymin <= y <= ymax) or not math.isfinite(th):
                raise _fail("start_poses", [x, y, th], f"a pose inside the world {world.bounds}")
            starts.append(RobotStart(rid, Pose2D(x, y, th)))
        return tuple(starts)

    def _georef(self, map_dir: str, world_path: str) -> GeoReference:
        if map_dir:
            path = Path(map_dir) / "georef.yaml"
            if not path.is_file():
                raise _fail("map_dir", map_dir, "a map directory with a georef.yaml")
            return load_georef(path)
        origin = load_spherical_coordinates(world_path)
        if origin is not None:
            return GeoReference(*origin)
        self.get_logger().warning("no georeference (map_dir, world): GNSS uses Suwon's origin")
        return FALLBACK_GEOREF

    def _on_cmd(self, rid: str) -> Callable[[Twist], None]:
        def store(msg: Twist) -> None:
            self._cmd[rid] = (msg.linear.x, msg.angular.z, self.engine.now)
            self._heard[(rid, "cmd_vel")] = self.engine.now
            if self.sink is not None:  # what the robot was told, beside what it did
                now_ns = self.start_ns + round(self.engine.now * 1e9)
                self.sink.write(f"/{rid}/cmd_vel", msg, now_ns)

        return store

    def _on_heard(self, rid: str, topic: str) -> Callable[[Any], None]:
        def store(msg: Any) -> None:
            # A pose is as recent as the sensor data it was computed from (its stamp), not as
            # its arrival: a localization node working through a backlog lags by the backlog.
            st = msg.header.stamp
            ns = st.sec * 1_000_000_000 + st.nanosec
            self._heard[(rid, topic)] = min((ns - self.start_ns) * 1e-9, self.engine.now)
            if self.sink is not None:  # the robot's belief, beside the ground truth
                self.sink.write(f"/{rid}/{topic}", msg, ns)

        return store

    def _lagging(self, wall: float) -> bool:
        """True while some robot node that has spoken is more than max_lag_s of sim time
        behind; a node silent for 5 s of wall time is presumed dead (restarting) and not
        waited for until it speaks again."""
        if self.max_lag <= 0:
            return False
        now, held = self.engine.now, False
        for key, t in self._heard.items():
            if now - t <= self.max_lag:
                self._held_since.pop(key, None)
                continue
            since = self._held_since.setdefault(key, wall)
            if wall - since < 5.0:
                held = True
        return held

    # --------------------------------------------------------------------------- stepping
    def _tick(self) -> None:
        """Run the steps due at the real-time factor (at most max_steps_per_tick)."""
        wall = time.monotonic()
        if self._wall0 < 0:
            if self._clock_pub.get_subscription_count() < self.wait_subscribers:
                return
            if self.max_lag > 0 and not all(
                self.count_publishers(f"/{rid}/{topic}") > 0
                for rid in self.engine.robot_ids for topic in ("cmd_vel", "pose")
            ):
                return  # lockstep: wait until every robot's navigator and localization are up
            self._wall0 = self._report_wall = wall
        n = self.max_steps
        if self.rtf > 0:
            due = int((wall - self._wall0) * self.rtf / self.dt) - (self._steps - self._ref_steps)
            if due > 10 * self.max_steps:  # hopelessly behind: forget the backlog
                self._wall0, self._ref_steps = wall, self._steps
                due = 1
            n = min(due, self.max_steps)
        for _ in range(max(n, 0)):
            if self.finished.done() or not self.context.ok():
                return
            if self._lagging(wall):
                # Let the robots catch up; restart the real-time reference so that the time
                # spent waiting is not made up later in a burst.
                self._wall0, self._ref_steps = wall, self._steps
                return
            try:
                self.step_once()
            except Exception:
                if self.context.ok():
                    raise
                return  # shut down (Ctrl-C) in the middle of publishing: just stop

    def step_once(self) -> None:
        """Advance the engine by dt with the held commands and publish what it produced."""
        e = self.engine
        cmds = {r: (v, w) for r, (v, w, t) in self._cmd.items() if e.now - t <= CMD_TIMEOUT_S}
        e.step(cmds)
        self._steps += 1
        self._publish(self.start_ns + round(e.now * 1e9))
        if e.now >= self._next_report - 1e-9:
            self._report(e.now)
        if self.duration > 0 and e.now >= self.duration - 1e-9 and not self.finished.done():
            self._report(e.now)
            self.finished.set_result(True)
            self.exit_code = 0  # the run is over: run_node returns

    def _report(self, now: float) -> None:
        wall = time.monotonic()
        if now > 0 and wall > self._report_wall:
            rtf = (self._steps - self._report_steps) * self.dt / (wall - self._report_wall)
            self.get_logger().info(
                f"sim t={now:.1f} s: achieved real-time factor {rtf:.1f} "
                f"(target {self.rtf or 'max'}), {len(self.engine.contacts)} contact(s)"
            )
        self._report_wall, self._report_steps = wall, self._steps
        self._next_report = now + REPORT_PERIOD_S

    def _emit(self, pub: Any, topic: str, msg: Any, ns: int) -> None:
        if self.sink is None:
            pub.publish(msg)
        else:  # serialize once: the same CDR bytes go to DDS and to the file
            pub.publish(self.sink.write(topic, msg, ns))

    def _publish(self, ns: int) -> None:
        e = self.engine
        stamp = rc.time_msg(ns)
        due = {name: every.due(e.now) for name, every in self._every.items()}
        if due["clock"]:
            self._emit(self._clock_pub, "/clock", ClockMsg(clock=stamp), ns)
        for rid in e.robot_ids:
            pubs, f, top, out = self._pubs[rid], e.sensors(rid), f"/{rid}/", self._msgs[rid]
            base = f"{rid}/base_link"
            if f.scan is not None:
                msg: Any = rc.scan_to_msg(f.scan, stamp, f"{rid}/base_scan", out["scan"])
                self._emit(pubs["scan"], top + "scan", msg, ns)
            if f.odom is not None and due["odom"]:
                msg = rc.odom_to_msg(f.odom, stamp, f"{rid}/odom", base, out["odom"])
                self._emit(pubs["odom"], top + "odom", msg, ns)
            if f.imu is not None and due["imu"]:
                msg = rc.imu_to_msg(f.imu, stamp, f"{rid}/imu_link", self._gyro_std, out["imu"])
                self._emit(pubs["imu"], top + "imu", msg, ns)
            no_fix = ns - self._last_gnss_ns[rid] >= self._gnss_period_ns and self._gnss_out(rid)
            if f.gnss is not None or no_fix:
                self._last_gnss_ns[rid] = ns
                msg = rc.gnss_to_msg(f.gnss, self.georef, stamp, f"{rid}/gnss_link")
                self._emit(pubs["gnss"], top + "gnss", msg, ns)
            if due["battery"]:
                msg = rc.battery_to_msg(f.battery, stamp, base)
                self._emit(pubs["battery"], top + "battery", msg, ns)
            if due["ground_truth"]:
                msg = rc.truth_to_msg(f.truth, stamp, base, out["gt"])
                self._emit(pubs["ground_truth"], top + "ground_truth", msg, ns)
            up = e.link_up(rid)
            if self._link.get(rid) != up:
                self._link[rid] = up
                self._emit(pubs["sim/link_up"], top + "sim/link_up", Bool(data=up), ns)
        if due["people"]:
            _, xy, on = e.people()
            self._emit(self._people_pub, "/sim/people", rc.people_to_msg(xy, on, stamp), ns)
        for c in e.contacts[self._n_contacts :]:
            text = rc.contact_json(c, self.start_ns * 1e-9)
            self.get_logger().warning(f"contact: {text}")
            self._emit(self._contacts_pub, "/sim/contacts", String(data=text), ns)
        self._n_contacts = len(e.contacts)

    def _gnss_out(self, rid: str) -> bool:
        t = self.engine.now
        return any(
            f.type == "gnss_dropout" and f.robot == rid and f.start <= t < f.end
            for f in self.engine.scenario.faults
        )

    def close(self) -> None:
        """Finish the recording (safe to call twice)."""
        if self.sink is not None:
            self.sink.close()


def main(args: list[str] | None = None) -> int:
    return run_node("sim", SimNode, args)

if __name__ == "__main__":
    sys.exit(main())
