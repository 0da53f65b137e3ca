"""A headless delivery shift on the test yard: dispatch, navigation, PIN handover, an absent
recipient's parcel back at the depot."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from dawnpatrol_sim.headless_shift import (
    ShiftSettings,
    load_shift,
    load_stage,
    ros_params,
    run_shift,
)

ROOT = Path(__file__).resolve().parents[3]
ORDERS = """id,address_id,window_start,window_end,size,handover,priority
T-1,101-1,02:00,02:30,1,pin,0
T-2,101-1,02:00,02:40,1,door,0
T-3,101-1,02:00,02:40,1,pin,1
T-4,101-1,02:20,02:50,1,door,0
"""
SCENARIO = f"""name: tiny_yard_shift
world: {ROOT / "sim/worlds/test_yard.sdf"}
world_actors: false
seed: 5
robots:
  - {{id: r1, start: [4.0, 7.0, 1.5708]}}
orders:
  file: orders.csv
  absent: [T-3]
  pin_delay_s: 10
"""


@pytest.fixture(scope="module")
def settings() -> ShiftSettings:
    s = ShiftSettings.from_params(ROOT / "params", pose_source="ground_truth",
                                  max_duration_s=1800.0)
    # a short wait for the absent recipient and a short solver run keep the test fast
    return replace(s, fleet=replace(s.fleet, solver_time_limit_s=1.0),
                   rules=replace(s.rules, absent_after_s=60.0))


def test_settings_come_from_the_params_files() -> None:
    settings = ShiftSettings.from_params(ROOT / "params")
    mission = ros_params(ROOT / "params/mission.yaml")
    loc = ros_params(ROOT / "params/localization.yaml")
    assert settings.pose_source == "localization"
    assert settings.rules.absent_after_s == mission["absent_after_s"]
    assert settings.pin_secret == mission["pin_secret"]
    assert settings.localization.max_particles == loc["max_particles"]
    assert settings.localization.update_min_d == loc["update_min_d"]
    assert settings.loop.mount.x == loc["lidar_x"]
    assert settings.loop.idle_period_s == loc["idle_update_period"]
    # the navigator's params are the node's file: no second set of numbers (issue 18)
    nav = ros_params(ROOT / "params/navigator.yaml")
    assert settings.navigator.goal_tolerance == nav["goal_tolerance"]
    assert settings.navigator.obstacle_decel == nav["obstacle_decel"]
    assert settings.navigator.localization_lost_timeout_s == nav["localization_lost_timeout_s"]
    core = settings.navigator.config()
    assert core.follower.goal_tolerance == nav["goal_tolerance"]
    assert core.obstacles.decel == nav["obstacle_decel"]
    assert settings.fleet.compartments == ros_params(
        ROOT / "params/fleet_manager.yaml")["robot_compartments"]


def test_yard_shift_delivers_and_returns_the_absent_parcel(settings: ShiftSettings,
                                                           tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "shift.yaml").write_text(SCENARIO, encoding="utf-8")
    shift = load_shift(tmp_path / "shift.yaml")
    assert shift.recipients.absent == {"T-3"}
    stage = load_stage(ROOT / "sim/worlds/test_yard.sdf", ROOT / "sim/models/dawnbot/model.sdf",
                       ROOT / "maps/test_yard")
    res = run_shift(stage, shift, settings)
    log = "\n".join(res.log)
    assert res.finished, log
    out = {o.order_id: o for o in res.orders}
    assert set(out) == {"T-1", "T-2", "T-3", "T-4"}
    for oid in ("T-1", "T-2", "T-4"):  # recipients at home (T-2 and T-4 left at the door)
        o = out[oid]
        assert o.outcome == "delivered", (o, log)
        assert o.window_start <= o.handed_over_at <= o.window_end, o
    assert "r1 waits at the door for T-4: window opens in" in log  # early, it waited
    absent = out["T-3"]
    assert absent.outcome == "failed" and "absent" in absent.reason, (absent, log)
    assert not absent.recipient_home
    # nobody answered for absent_after_s after the announcement; then the parcel rode back
    assert math.isfinite(absent.returned_at), (absent, log)
    assert absent.returned_at >= res.start_s + settings.rules.absent_after_s
    (robot,) = res.robots
    assert robot.parcels_on_board == ()
    assert robot.trips == 1 and robot.distance_m > 2 * 20.0  # yard corner to the door and back
    assert robot.contacts == ()
    assert res.end_s >= absent.returned_at and res.wall_time_s > 0.0
