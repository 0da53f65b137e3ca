"""Mission state, the per-task run and its events, the PIN rule and the node's parameter checks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dawnpatrol_core.control.causes import REACHED, NavCause, NavResult
from dawnpatrol_core.delivery.handover import HandoverRules
from dawnpatrol_core.delivery.mission import (
    HOLD_RETRY_S,
    REJECTED_RETRIES,
    WATCH_MARGIN_S,
    WATCH_MAX_S,
    WATCH_REACH_M,
    MissionState,
    Step,
    begin_task,
    cancel_mission,
    expected_pin,
    finish_navigation,
    make_task,
    mission_config,
    mission_from_json,
    mission_to_json,
    new_mission,
    record_outcome,
    robot_mode,
    submit_pin,
    task_eta,
    tick_run,
    window_opens_at,
)
from dawnpatrol_core.errors import ConfigError, MissionError

RULES = HandoverRules(absent_after_s=60.0, pin_timeout_s=30.0, max_pin_attempts=2)
PARAMS = {"robot_id": "", "navigator": "dawnpatrol", "pin_secret": "s", "absent_after_s": 5.0,
          "pin_timeout_s": 4.0, "max_pin_attempts": 3, "state_dir": "", "status_rate_hz": 1.0,
          "feedback_period_s": 1.0, "utc_offset_s": 32400.0, "shift_end": "07:00"}


def test_expected_pin_is_last_four_decimal_digits_of_sha256() -> None:
    # int(sha256(b"O-1test-secret")) % 10000 == 5127 and int(sha256(b"A")) % 10000 == 8845
    assert expected_pin("O-1", "test-secret") == "5127"
    assert expected_pin("A", "") == "8845"


def test_deliver_run_right_pin_hands_over_and_parcel_leaves() -> None:
    t = make_task("deliver", "O-1", 3.0, 4.0)
    state = new_mission("m", (t, make_task("return", "depot", 0.0, 0.0)))
    assert state.parcels == ("O-1",)
    run, ev = begin_task(t, 100.0)
    assert [e.event for e in ev] == ["started"] and run.state == "navigating"
    run, ev = finish_navigation(run, 110.0, REACHED, 3.0, 4.0, "r1", "1234", RULES, ())
    assert [e.event for e in ev] == ["arrived", "announced", "announce"]
    assert run.state == "announced"
    run, ev, ok, msg = submit_pin(run, 115.0, "O-1", "1111")
    assert (ok, msg, ev) == (False, "wrong PIN, 1 attempt(s) left", ())
    run, ev, ok, msg = submit_pin(run, 116.0, "O-1", "1234")
    assert ok and run.step is Step.DONE and run.ok and run.failure is None
    assert [(e.event, e.method) for e in ev] == [("handed_over", "pin")]
    assert run.handover is not None and run.handover.proof is not None
    assert (run.handover.proof.x, run.handover.proof.y) == (3.0, 4.0)
    state = record_outcome(state, run)
    assert (state.index, state.parcels, state.completed) == (1, (), ("O-1",))


def test_absent_recipient_fails_and_parcel_is_returned() -> None:
    t = make_task("deliver", "O-2", 0.0, 0.0)
    state = new_mission("m", (t, make_task("return", "depot", 0.0, 0.0)))
    run, _ = begin_task(t, 0.0)
    run, _ = finish_navigation(run, 10.0, REACHED, 0.0, 0.0, "r1", "1234", RULES, ())
    run, ev = tick_run(run, 69.9)
    assert ev == () and run.step is Step.HANDOVER and run.failure is None
    run, ev = tick_run(run, 70.0)
    assert [(e.event, e.detail) for e in ev] == [("failed", "absent")]
    assert run.failure == "absent"
    state = record_outcome(state, run)
    assert state.parcels == ("O-2",) and state.failed == (("O-2", "absent"),)
    ret, _ = begin_task(state.tasks[1], 71.0)
    ret, ev = finish_navigation(ret, 90.0, REACHED, 0.0, 0.0, "r1", "", RULES, state.parcels)
    assert [(e.event, e.detail) for e in ev] == [("arrived", ""), ("returned", "parcels: O-2")]
    state = record_outcome(state, ret)
    assert state.finished and state.parcels == ()


def test_a_failed_handover_says_why_in_its_type() -> None:
    t = make_task("deliver", "O-4", 0.0, 0.0)
    run, _ = begin_task(t, 0.0)
    at_door, _ = finish_navigation(run, 10.0, REACHED, 0.0, 0.0, "r1", "1234", RULES, ())
    wrong, _, _, _ = submit_pin(at_door, 11.0, "O-4", "0000")
    wrong, ev, ok, _ = submit_pin(wrong, 12.0, "O-4", "0000")
    assert not ok and wrong.failure == "wrong_pin_limit" and ev[0].cause is None
    typing, _, _, _ = submit_pin(at_door, 11.0, "O-4", "0000")  # started, never finished
    slow, ev = tick_run(typing, 11.0 + RULES.pin_timeout_s)
    assert slow.failure == "timeout" and [e.event for e in ev] == ["failed"]


def test_door_delivery_hands_over_on_arrival_and_failed_navigation_fails() -> None:
    t = make_task("deliver", "O-3", 0.0, 0.0, method="door")
    run, _ = begin_task(t, 0.0)
    done, ev = finish_navigation(run, 5.0, REACHED, 0.0, 0.0, "r1", "", RULES, ())
    assert done.ok and [e.event for e in ev] == ["arrived", "announced", "announce", "handed_over"]
    bad, ev = finish_navigation(run, 5.0, NavResult(NavCause.REJECTED, "keep-out"), 0.0, 0.0,
                                "r1", "", RULES, ())
    assert not bad.ok and [(e.event, e.detail) for e in ev] == [("failed", "unreachable: keep-out")]
    assert bad.cause is NavCause.REJECTED and ev[0].cause is NavCause.REJECTED
    assert bad.failure is NavCause.REJECTED
    # an unreachable goal's reason says so itself
    why = "unreachable: no route to the goal"
    bad, ev = finish_navigation(run, 5.0, NavResult(NavCause.UNREACHABLE, why), 0.0, 0.0, "r1",
                                "", RULES, ())
    assert bad.reason == why and bad.failure is NavCause.UNREACHABLE


def test_a_goal_refused_at_once_is_tried_again_before_the_task_fails() -> None:
    t = make_task("deliver", "O-9", 5.0, 5.0)
    run, _ = begin_task(t, 0.0)
    why = "the path crosses a keep-out zone or leaves the operating area"
    refused = NavResult(NavCause.UNREACHABLE, why)
    events = []
    for _ in range(REJECTED_RETRIES):
        run, ev = finish_navigation(run, run.since + 0.1, refused, 50.0, 50.0, "r1", "1",
                                    RULES, ())
        assert run.step is Step.HOLD
        events += ev
        run, _ = tick_run(run, run.since + HOLD_RETRY_S)
        assert run.step is Step.NAVIGATE
    assert [e.detail for e in events][-1] == f"retry {REJECTED_RETRIES}/{REJECTED_RETRIES}: {why}"
    run, ev = finish_navigation(run, run.since + 0.1, refused, 50.0, 50.0, "r1", "1",
                                RULES, ())
    assert run.step is Step.DONE and [e.event for e in ev] == ["failed"]


def test_blocked_just_short_of_the_door_hands_over_there() -> None:
    # Another robot waits at the entrance: the way stays blocked 1.5 m short of it. The robot
    # hands over where it stands (the recipient walks the last metres); 8 m away it fails.
    t = make_task("deliver", "O-8", 40.0, 155.0)
    run, _ = begin_task(t, 0.0)
    blocked = NavResult(NavCause.BLOCKED, "failed: recoveries exhausted")
    near, ev = finish_navigation(run, 60.0, blocked, 40.0, 153.5, "r1", "1234", RULES, ())
    assert near.step is Step.HANDOVER
    assert [(e.event, e.detail) for e in ev][:2] == [
        ("arrived", "door occupied: handover 1.5 m from the entrance"), ("announced", "")]
    far, ev = finish_navigation(run, 60.0, blocked, 40.0, 147.0, "r1", "1234", RULES, ())
    assert far.step is Step.DONE and not far.ok
    assert [e.event for e in ev] == ["failed"]
    # the cause decides, not the words: "blocked" in another cause's reason is no handover,
    # and a BLOCKED whose reason never says so is one
    worded = NavResult(NavCause.UNREACHABLE, "unreachable: blocked sidewalk closed")
    assert finish_navigation(run, 60.0, worded, 40.0, 153.5, "r1", "1", RULES, ())[0].step \
        is Step.DONE
    silent = NavResult(NavCause.BLOCKED, "nav2 controller: patience exceeded (error 104)")
    assert finish_navigation(run, 60.0, silent, 40.0, 153.5, "r1", "1", RULES, ())[0].step \
        is Step.HANDOVER


def test_early_robot_waits_at_the_door_for_the_window() -> None:
    t = make_task("deliver", "O-5", 3.0, 4.0, not_before=400.0)
    run, _ = begin_task(t, 100.0)
    run, ev = finish_navigation(run, 250.0, REACHED, 3.0, 4.0, "r1", "1234", RULES, ())
    assert run.step is Step.WAIT and run.state == "waiting_window"
    assert [(e.event, e.detail) for e in ev] == [("arrived", ""),
                                                 ("waiting", "window opens in 150 s")]
    assert task_eta(run, 300.0, 0.0, 0.0) == (0.0, 100.0)
    # no PIN before the announcement, and no absence clock running while it waits
    assert submit_pin(run, 260.0, "O-5", "1234")[2] is False
    assert tick_run(run, 399.9) == (run, ())
    run, ev = tick_run(run, 400.0)
    assert run.step is Step.HANDOVER and [e.event for e in ev] == ["announced", "announce"]
    run, ev, ok, _ = submit_pin(run, 420.0, "O-5", "1234")
    assert ok and run.ok and run.handover is not None and run.handover.proof is not None
    assert (run.handover.proof.time, run.handover.proof.x) == (420.0, 3.0)
    door = make_task("deliver", "O-6", 0.0, 0.0, method="door", not_before=50.0)
    run, _ = finish_navigation(begin_task(door, 0.0)[0], 10.0, REACHED, 0.0, 0.0, "r1", "",
                               RULES, ())
    done, ev = tick_run(run, 50.0)  # left at the door once the window opens, not before
    assert done.ok and [e.event for e in ev] == ["announced", "announce", "handed_over"]
    assert make_task("investigate", "I", 0, 0, not_before=9.0).not_before == 0.0
    with pytest.raises(MissionError, match="field 'not_before'"):
        make_task("deliver", "O-7", 0, 0, not_before=math.nan)


@pytest.mark.parametrize(("cause", "reason"), [
    (NavCause.SAFETY_STOP, "e-stop by op-kim: crowd"),
    (NavCause.SAFETY_STOP, "watchdog: fleet heartbeat missing for 3.2 s"),
    (NavCause.LOCALIZATION_LOST, "localization lost for 60 s"),
    (NavCause.SAFETY_STOP, "out of operating hours (07:00-22:00)"),
    (NavCause.POSE_LOST, "pose lost"),
    (NavCause.SAFETY_STOP, "")])  # the cause decides: no words needed
def test_safety_stop_holds_the_task_and_tries_again(cause: NavCause, reason: str) -> None:
    t = make_task("deliver", "O-4", 1.0, 2.0)
    run, _ = begin_task(t, 0.0)
    held, ev = finish_navigation(run, 10.0, NavResult(cause, reason), 0.0, 0.0, "r1", "1234",
                                 RULES, ())
    assert held.step is Step.HOLD and not held.ok
    assert [(e.event, e.detail, e.cause) for e in ev] == [("held", reason, cause)]
    assert tick_run(held, 10.0 + HOLD_RETRY_S - 0.1) == (held, ())
    again, ev = tick_run(held, 10.0 + HOLD_RETRY_S)
    assert again.step is Step.NAVIGATE and again.task == t and ev == ()


def test_patrol_dwell_and_eta() -> None:
    t = make_task("patrol", "H-1", 1.0, 1.0, dwell_s=30.0)
    run, _ = begin_task(t, 0.0)
    assert task_eta(run, 0.0, 15.0, 10.0) == (15.0, 40.0)
    run, ev = finish_navigation(run, 10.0, REACHED, 1.0, 1.0, "r1", "", RULES, ())
    assert run.step is Step.DWELL and [e.event for e in ev] == ["arrived", "announce"]
    assert task_eta(run, 25.0, 99.0, 99.0) == (0.0, 15.0)
    run, ev = tick_run(run, 40.0)
    assert run.ok and [(e.event, e.detail) for e in ev] == [("dwell_done", "30 s")]
    d, eta = task_eta(None, 0.0, 1.0, 1.0)
    assert d == 0.0 and math.isnan(eta)


def test_a_patrol_visit_planned_later_watches_until_its_planned_end() -> None:
    t = make_task("patrol", "H-1", 1.0, 1.0, dwell_s=30.0, not_before=100.0)
    run, _ = finish_navigation(begin_task(t, 0.0)[0], 60.0, REACHED, 1.0, 1.0, "r1", "",
                               RULES, ())
    assert run.step is Step.DWELL  # watching from arrival; the watch counts from 100 s
    assert task_eta(run, 60.0, 0.0, 0.0) == (0.0, 70.0)
    assert tick_run(run, 129.0) == (run, ())
    done, ev = tick_run(run, 130.0)
    assert done.ok and [e.event for e in ev] == ["dwell_done"]
    late, _ = finish_navigation(begin_task(t, 0.0)[0], 150.0, REACHED, 1.0, 1.0, "r1", "",
                                RULES, ())
    assert tick_run(late, 180.0)[0].ok  # arrived late: the watch starts on arrival


def test_a_dwell_goes_on_while_someone_lingering_in_view_is_undecided() -> None:
    t = make_task("patrol", "H-1", 1.0, 1.0, dwell_s=30.0)
    run, _ = finish_navigation(begin_task(t, 0.0)[0], 10.0, REACHED, 1.0, 1.0, "r1", "",
                               RULES, ())
    # the monitor will judge a stay at 150 s: the robot stays past its 30 s until just after
    assert tick_run(run, 40.0, watch_until=150.0) == (run, ())
    assert tick_run(run, 150.0 + WATCH_MARGIN_S - 0.1, watch_until=150.0) == (run, ())
    done, ev = tick_run(run, 150.0 + WATCH_MARGIN_S, watch_until=150.0)
    assert done.ok and [(e.event, e.detail) for e in ev] == [
        ("dwell_done", f"30 s + {150.0 + WATCH_MARGIN_S - 40.0:.0f} s watching someone lingering")]
    # nobody (0), or a stay already decided (in the past): the dwell ends as planned
    assert tick_run(run, 40.0, watch_until=0.0)[0].ok
    assert tick_run(run, 40.0, watch_until=20.0)[0].ok
    # never longer than WATCH_MAX_S past its own end, whatever the monitor says
    assert tick_run(run, 40.0 + WATCH_MAX_S - 1.0, watch_until=1e9) == (run, ())
    assert tick_run(run, 40.0 + WATCH_MAX_S, watch_until=1e9)[0].ok


@pytest.mark.parametrize("kind", ["patrol", "investigate"])
def test_a_blocked_watch_point_is_watched_from_close_by(kind: str) -> None:
    # a queue stands on the bus-stop hotspot: the robot, stuck 5 m short, watches from there
    t = make_task(kind, "H-1", 10.0, 0.0, dwell_s=30.0)
    blocked = NavResult(NavCause.BLOCKED, "failed: blocked, recoveries exhausted")
    run, ev = finish_navigation(begin_task(t, 0.0)[0], 60.0, blocked, 5.0, 0.0, "r1", "",
                                RULES, ())
    assert run.step is Step.DWELL
    assert (ev[0].event, ev[0].detail) == ("arrived", "way blocked: watching from 5.0 m")
    far = WATCH_REACH_M + 1.0
    run, ev = finish_navigation(begin_task(t, 0.0)[0], 60.0, blocked, 10.0 - far, 0.0, "r1",
                                "", RULES, ())
    assert run.ok is False and [e.event for e in ev] == ["failed"]


def test_cancel_fails_the_rest_and_keeps_parcels() -> None:
    state = new_mission("m", (make_task("patrol", "H", 0, 0), make_task("deliver", "O", 0, 0)),
                        carried=("O-old",))
    assert state.parcels == ("O-old", "O")
    c = cancel_mission(state, "canceled")
    assert c.finished and c.failed == (("H", "canceled"), ("O", "canceled"))
    assert c.parcels == ("O-old", "O")


def test_bad_tasks_are_rejected() -> None:
    with pytest.raises(MissionError, match="field 'kind': got 'fly'"):
        make_task("fly", "X", 0, 0)
    with pytest.raises(MissionError, match="duplicate task id 'A'"):
        new_mission("m", (make_task("patrol", "A", 0, 0), make_task("patrol", "A", 0, 0)))
    with pytest.raises(MissionError, match="field 'dwell_s'"):
        make_task("patrol", "A", 0, 0, dwell_s=-1.0)


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)


@given(st.lists(st.tuples(st.sampled_from(["deliver", "patrol", "return"]), names,
                          st.floats(-1e4, 1e4), st.floats(0, 600)), max_size=5,
                unique_by=lambda t: t[1]), st.integers(0, 5))
def test_json_round_trip(raw: list[tuple[str, str, float, float]], index: int) -> None:
    tasks = tuple(make_task(k, i, x, -x, 0.5, d, not_before=d) for k, i, x, d in raw)
    state = new_mission("m-1", tasks)
    state = MissionState(state.mission_id, tasks, min(index, len(tasks)), state.parcels,
                         ("a",), (("b", "why"),))
    assert mission_from_json(mission_to_json(state), "f.json") == state


def test_corrupt_state_file_names_file_and_field() -> None:
    with pytest.raises(MissionError, match=r"^s\.json: field 'json'"):
        mission_from_json("{", "s.json")
    text = mission_to_json(new_mission("m", (make_task("patrol", "H", 0, 0),)))
    with pytest.raises(MissionError, match=r"^s\.json: field 'index'"):
        mission_from_json(text.replace('"index": 0', '"index": 7'), "s.json")


def test_mission_config_defaults_and_errors() -> None:
    cfg = mission_config(PARAMS, "/r2")
    assert (cfg.robot_id, cfg.state_dir) == ("r2", "~/.local/state/dawnpatrol/r2")
    assert cfg.rules == HandoverRules(5.0, 4.0, 3)
    for name, bad in (("navigator", "ros1"), ("absent_after_s", 0.0), ("max_pin_attempts", 0),
                      ("max_pin_attempts", True), ("status_rate_hz", "fast"),
                      ("shift_end", "7 am"), ("utc_offset_s", 90000.0)):
        with pytest.raises(ConfigError, match=f"^parameter '{name}': got {bad!r}, expected"):
            mission_config({**PARAMS, name: bad}, "/r2")


def test_window_opens_at_on_sim_and_wall_clocks() -> None:
    cfg = mission_config(PARAMS, "/r1")
    assert (cfg.utc_offset_s, cfg.shift_end_s) == (32400.0, 7 * 3600.0)
    assert window_opens_at(9000.0, 7300.0, cfg) == 9000.0  # a sim clock counts shift seconds
    # 2026-01-02 01:50 KST = 2026-01-01 16:50 UTC (1767286200): a 02:30 window opens in 40 min
    assert window_opens_at(2.5 * 3600, 1767286200.0, cfg) == 1767286200.0 + 40 * 60
    assert window_opens_at(0.0, 1767286200.0, cfg) == 0.0


def test_robot_mode_priorities() -> None:
    assert robot_mode(None) == "idle"
    assert robot_mode("deliver") == "delivering"
    assert robot_mode("patrol", localization="LOST") == "fault"
    assert robot_mode("patrol", estopped=True, localization="LOST") == "estopped"
