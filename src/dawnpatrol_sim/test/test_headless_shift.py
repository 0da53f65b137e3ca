"""A headless delivery shift on the test yard: dispatch, navigation, PIN handover, an absent
recipient's parcel back at the depot."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from dawnpatrol_core.control.causes import NavCause
from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.planning.dispatch import (
    DispatchSettings,
    Robot,
    UnservedCause,
    euclidean_travel,
    plan_dispatch,
)
from dawnpatrol_sim.headless_shift import (
    OrderOutcome,
    Recipients,
    ShiftSettings,
    _outcomes,
    load_shift,
    load_stage,
    ros_params,
    run_shift,
    shift_duties,
)
from dawnpatrol_sim.shift_progress import ShiftProgress

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
    assert absent.outcome == "failed" and absent.cause == "absent", (absent, log)
    assert absent.cause_group == "absent recipient" and "absent" in absent.reason
    assert not absent.recipient_home
    # nobody answered for absent_after_s after the announcement; then the parcel rode back
    assert math.isfinite(absent.returned_at), (absent, log)
    assert absent.returned_at >= res.start_s + settings.rules.absent_after_s
    (robot,) = res.robots
    assert robot.parcels_on_board == ()
    assert robot.trips == 1 and robot.distance_m > 2 * 20.0  # yard corner to the door and back
    assert robot.contacts == ()
    assert res.end_s >= absent.returned_at and res.wall_time_s > 0.0


DUTY_SCENARIO = f"""name: yard_duties
world: {ROOT / "sim/worlds/test_yard.sdf"}
world_actors: false
seed: 11
duration: 420
robots:
  - {{id: r1, start: [4.0, 7.0, 1.5708]}}
  - {{id: r2, start: [6.5, 7.0, 1.5708]}}
people:
  - {{name: lurker, type: loiterer, center: [8.0, 26.0], radius: 1.0, start: 30, duration: 600}}
orders:
  file: orders.csv
  absent: [T-3]
  pin_delay_s: 10
patrol:
  start_at_s: 15
operator:
  calls:
    - {{at: 60, point: [8.0, 24.0], note: someone lingers by the bench}}
"""


def test_shift_with_duties_patrols_answers_the_call_and_reports_the_loiterer(
        settings: ShiftSettings, tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "shift.yaml").write_text(DUTY_SCENARIO, encoding="utf-8")
    shift = load_shift(tmp_path / "shift.yaml")
    duties = shift_duties(shift.scenario, ROOT / "params")
    assert duties.patrol_at_s == 15.0 and duties.duration_s == 420.0
    assert [(c.at, c.x, c.y) for c in duties.calls] == [(60.0, 8.0, 24.0)]
    assert duties.monitor is not None and duties.monitor.utc_offset_s == 0.0
    stage = load_stage(ROOT / "sim/worlds/test_yard.sdf", ROOT / "sim/models/dawnbot/model.sdf",
                       ROOT / "maps/test_yard")
    res = run_shift(stage, shift, settings, duties=duties)
    log = "\n".join(res.log)
    assert res.progress is not None
    assert res.end_s == pytest.approx(res.start_s + 420.0, abs=0.2)  # the duty runs its time
    assert res.calls and res.calls[0][0] == pytest.approx(res.start_s + 60.0, abs=0.2)
    # the call's point is the yard corner's: the call joined the robot on its way to watch it
    # (nobody else was sent), and the loiterer was reported once
    assert "is on its way to watch hs_yard_corner from (8.0, 24.0), which sees it" in log, log
    assert not res.progress.looks, log
    kinds = [r.event.kind for r in res.incidents]
    assert kinds.count("loitering") == 1, (kinds, log)
    assert "ALERT loitering" in log
    assert res.progress.visits, log  # the other robot patrolled meanwhile
    assert sum(o.outcome == "delivered" for o in res.orders) >= 1


def test_yard_shift_with_patrol_keeps_the_hotspot_within_its_bound(settings: ShiftSettings,
                                                                   tmp_path: Path) -> None:
    # Patrol on: dispatch plans the yard corner's visits (600 s bound) with the parcels, the
    # trip carries them, and the robot keeps the corner watched while it delivers.
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "shift.yaml").write_text(SCENARIO, encoding="utf-8")
    patrol = replace(settings, fleet=replace(settings.fleet, patrol_on_start=True),
                     max_duration_s=1500.0)
    stage = load_stage(ROOT / "sim/worlds/test_yard.sdf", ROOT / "sim/models/dawnbot/model.sdf",
                       ROOT / "maps/test_yard")
    res = run_shift(stage, load_shift(tmp_path / "shift.yaml"), patrol)
    log = "\n".join(res.log)
    assert "patrol visits planned between the parcels" in log, log
    out = {o.order_id: o.outcome for o in res.orders}
    assert out == {"T-1": "delivered", "T-2": "delivered", "T-3": "failed",
                   "T-4": "delivered"}, log
    visits = sorted((a, lv) for _, task, a, lv in res.visits)
    assert visits and all(task.startswith("hs_yard_corner") for _, task, _, _ in res.visits)
    left = [res.start_s] + [lv for _, lv in visits]
    gaps = [a - lv for (a, _), lv in zip(visits, left[:-1], strict=True)]
    gaps.append(res.end_s - max(left))  # still unwatched at the end of the run, if it is
    assert max(gaps) <= 600.0, (gaps, log)


def _orders(*spec: tuple[str, float, float]) -> dict[str, Order]:
    return {oid: Order(oid, None, None, None, x, 0.0, 0.0, end, 1) for oid, x, end in spec}


def test_order_outcomes_take_their_causes_from_types_not_words() -> None:
    # "late": no robot can reach it before its window closes (the dispatcher's cause); "nav" and
    # "pin" failed at the door, their reasons worded to mislead a reader of words.
    orders = _orders(("ok", 50.0, 3600.0), ("late", 1000.0, 500.0), ("nav", 60.0, 3600.0),
                     ("pin", 70.0, 3600.0), ("open", 80.0, 3600.0))
    plan = plan_dispatch(list(orders.values()), [Robot("r1", 4, 0.0, 7200.0, 1.0)], (0.0, 0.0),
                         euclidean_travel, DispatchSettings(60.0, 0.3, 1))
    assert dict(plan.unserved).keys() == {"late"}
    progress = ShiftProgress(set(orders), set(), 20.0, 60.0)
    progress.delivered["ok"] = 100.0
    progress.failed.update(nav="absent", pin="unreachable: window")
    out = {o.order_id: o for o in _outcomes(
        orders, plan, progress, {}, set(), Recipients(),
        {"nav": NavCause.BLOCKED, "pin": "wrong_pin_limit"})}
    assert [(k, o.outcome, o.cause) for k, o in out.items()] == [
        ("ok", "delivered", None), ("late", "unserved", UnservedCause.WINDOW_UNREACHABLE),
        ("nav", "failed", NavCause.BLOCKED), ("pin", "failed", "wrong_pin_limit"),
        ("open", "unfinished", None)]
    assert [o.cause_group for o in out.values()] == [
        "", "infeasible window", "robot fault (blocked)", "PIN not completed (wrong_pin_limit)",
        "unfinished"]
    assert out["nav"].reason == "absent"  # the words stay for people
    assert out["ok"].robot_id == "r1" and out["ok"].planned_eta > 0.0


def test_cause_groups_by_type() -> None:
    def outcome(cause: object, kind: str = "failed") -> OrderOutcome:
        return OrderOutcome("o", "a", "r1", kind, "", cause, 0.0, 1.0, 0.5,  # type: ignore[arg-type]
                            float("nan"), float("nan"), True)

    assert outcome("absent").cause_group == "absent recipient"
    assert outcome("timeout").cause_group == "PIN not completed (timeout)"
    assert outcome(NavCause.UNREACHABLE).cause_group == "robot fault (unreachable)"
    assert outcome(UnservedCause.WINDOW_TOO_LATE, "unserved").cause_group == "infeasible window"
    assert outcome(UnservedCause.NO_ROOM, "unserved").cause_group == "unserved (no_room)"
