"""Incidents, headless (no ROS): the shipped anomaly monitor on simulated robots, parked or driving
with the navigator, and the fleet inbox merging their events. One alert per incident for a
loiterer whose track passers-by keep breaking, an intruder about a closed car park for minutes,
a blocked path seen by two robots; a robot on patrol raises a loiterer; negatives stay quiet."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from dawnpatrol_core.control.causes import NavCause
from dawnpatrol_core.control.goal_runner import GoalRunner
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.localization.health import HealthState
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.store.inbox import InboxResult
from dawnpatrol_core.world import load_robot_model, load_world
from dawnpatrol_sim.engine import SimEngine
from dawnpatrol_sim.headless_shift import ShiftSettings, ros_params
from dawnpatrol_sim.headless_watch import PatrolDrive, WatchRun, run_watch_scenario
from dawnpatrol_sim.scenario import RobotStart, Scenario

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "sim" / "scenarios"
SCENE = ("loitering", "intrusion", "blocked_sidewalk")


def run(name: str, cap: float | None = None) -> WatchRun:
    return run_watch_scenario(SCENARIOS / f"{name}.yaml", ROOT / "maps", ROOT / "params",
                              duration_cap=cap)


def scene_incidents(r: WatchRun) -> dict[str, int]:
    return {k: sum(1 for i in r.incidents if i.event.kind == k) for k in SCENE}


def opened_at(r: WatchRun, kind: str) -> list[float]:
    """Engine seconds at which the fleet opened each incident of ``kind``."""
    return [x.at - r.start_s for x in r.received
            if x.result is InboxResult.NEW and x.event.kind == kind]


def test_loiterer_broken_by_passers_by_is_one_alert_in_time() -> None:
    r = run("anomaly_suwon_park_loiterer_crowded")
    assert scene_incidents(r) == {"loitering": 1, "intrusion": 0, "blocked_sidewalk": 0}
    rule_met = r.first_in[("park_lurker", "watch_park")] + 180.0  # watch_park max_dwell_s
    (t,) = opened_at(r, "loitering")
    assert rule_met - 5.0 <= t <= rule_met + 120.0
    # the tracker did lose the person to the passers-by: the incident merged several sightings
    (inc,) = r.incidents
    assert inc.event.count > 10 and inc.event.zone == "watch_park"


def test_intruder_about_the_car_park_for_minutes_is_one_updated_incident() -> None:
    r = run("anomaly_yard_intruder_long", 200.0)
    assert scene_incidents(r) == {"loitering": 0, "intrusion": 1, "blocked_sidewalk": 0}
    (inc,) = r.incidents
    assert inc.event.zone == "night_parking" and inc.event.revision > 0
    assert inc.event.last_seen - inc.event.first_seen > 120.0  # updated while it lasted
    entered = r.first_in[("prowler", "night_parking")]
    # the rule is met intrusion_time_s (5 s, params/anomaly_monitor.yaml) after the entry
    assert opened_at(r, "intrusion")[0] <= entered + 5.0 + 10.0


def test_blocked_path_seen_by_two_robots_is_one_incident_at_the_fleet() -> None:
    r = run("anomaly_suwon_blocked_two_robots", 150.0)  # r1 passes it twice by then
    assert scene_incidents(r) == {"loitering": 0, "intrusion": 0, "blocked_sidewalk": 1}
    (inc,) = r.incidents
    assert set(inc.robots) == {"r1", "r2"} and inc.events >= 2  # both reported it: merged
    assert opened_at(r, "blocked_sidewalk")[0] <= 10.0 + 30.0  # the sofa appears at 10 s


def test_a_robot_on_patrol_raises_the_loiterer_it_drives_past() -> None:
    r = run("anomaly_yard_patrol_loiterer", 240.0)  # the rule's time + 120 s
    assert scene_incidents(r) == {"loitering": 1, "intrusion": 0, "blocked_sidewalk": 0}
    rule_met = r.first_in[("lurker", "watch_yard_corner")] + 120.0
    (t,) = opened_at(r, "loitering")
    assert t <= rule_met + 120.0


@pytest.mark.parametrize(("name", "cap"), [
    ("anomaly_suwon_bus_queue_long", 340.0),  # a queue at the stop past its 300 s
    ("anomaly_yard_patrol_quiet", 200.0),  # passers-by, a jogger, a pair outside the zones
    ("anomaly_yard_day_loiterer", None),  # someone lingering at 14:00
])
def test_negatives_stay_silent(name: str, cap: float | None) -> None:
    r = run(name, cap)
    assert scene_incidents(r) == {"loitering": 0, "intrusion": 0, "blocked_sidewalk": 0}


def _yard_patrol(loop: object = None) -> tuple[SimEngine, PatrolDrive]:
    start = Pose2D(3.0, 3.0, math.pi / 2)
    scen = Scenario(name="patrol", world=Path("yard"), robots=(RobotStart("r1", start),), seed=3)
    eng = SimEngine(load_world(ROOT / "sim/worlds/test_yard.sdf"),
                    load_robot_model(ROOT / "sim/models/dawnbot/model.sdf"), scen, seed=3)
    pat = PatrolDrive(eng, "r1", load_district_map(ROOT / "maps/test_yard"),
                      [Pose2D(3.0, 12.0, math.pi / 2), start],
                      ShiftSettings.from_params(ROOT / "params"), loop)  # type: ignore[arg-type]
    pat.sense(0.0, start)
    return eng, pat


def _drive(eng: SimEngine, pat: PatrolDrive, seconds: float) -> None:
    cmd = (0.0, 0.0)
    for k in range(round(seconds / eng.dt)):
        if k % 2 == 0:  # 10 Hz, as the navigator node ticks
            cmd = pat.command(eng.now)
        eng.step({"r1": cmd})
        pat.sense(eng.now, eng.pose("r1"))


def test_patrol_drives_goal_after_goal_through_the_nodes_goal_runner() -> None:
    eng, pat = _yard_patrol()
    assert isinstance(pat.drive, GoalRunner) and pat.drive.gate is None  # ground truth
    # params/navigator.yaml, as the navigator node reads it
    nav = ros_params(ROOT / "params/navigator.yaml")
    assert pat.nav.config.follower.goal_tolerance == nav["goal_tolerance"]
    _drive(eng, pat, 60.0)
    assert [r.cause for r in pat.results[:2]] == [NavCause.NONE, NavCause.NONE], pat.results
    assert pat.k >= 3  # both poses reached, round again


def test_a_patrol_on_a_lost_estimate_stands_still_and_gives_up() -> None:
    lost = SimpleNamespace(estimate=SimpleNamespace(health=HealthState.LOST))
    eng, pat = _yard_patrol(lost)
    assert pat.drive.gate is not None  # the localization gate, as on a robot
    _drive(eng, pat, 3.0)
    assert math.hypot(eng.pose("r1").x - 3.0, eng.pose("r1").y - 3.0) < 0.05
    timeout = ros_params(ROOT / "params/navigator.yaml")["localization_lost_timeout_s"]
    _drive(eng, pat, timeout + 1.0)
    assert pat.results and pat.results[0].cause is NavCause.LOCALIZATION_LOST
