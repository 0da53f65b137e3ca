"""Scenario-runner bookkeeping: PIN queue, absent recipients, acks, completion."""

from __future__ import annotations

import re

import pytest

from dawnpatrol_core.errors import ScenarioError
from dawnpatrol_sim.shift_progress import ShiftProgress, call_answer, operator_calls


def make() -> ShiftProgress:
    return ShiftProgress(orders={"O-1", "O-2"}, absent={"O-2"}, pin_delay_s=20.0, ack_delay_s=60.0)


def test_pin_only_for_present_recipients_after_delay() -> None:
    p = make()
    assert "at the door" in (p.on_event("r1", "deliver", "arrived", "O-1", "", 90.0) or "")
    assert "waits" in (p.on_event("r1", "deliver", "waiting", "O-1", "", 90.0) or "")
    assert p.due_pins(500.0) == []  # recipients answer the announcement, not the arrival
    p.on_event("r1", "deliver", "announced", "O-1", "", 100.0)
    p.on_event("r2", "deliver", "announced", "O-2", "", 100.0)
    assert p.due_pins(119.0) == []
    due = p.due_pins(120.0)
    assert [(d.robot_id, d.order_id) for d in due] == [("r1", "O-1")]
    assert p.due_pins(500.0) == []


def test_completion_and_summary() -> None:
    p = make()
    p.on_event("r1", "deliver", "handed_over", "O-1", "", 130.0)
    assert not p.finished()
    p.on_event("r2", "deliver", "failed", "O-2", "absent", 400.0)
    assert p.finished()
    p.on_event("r2", "return", "returned", "depot", "O-2", 600.0)
    assert p.returned == {"O-2"}
    p.on_event("r1", "patrol", "arrived", "hs_park", "", 640.0)
    p.on_event("r1", "patrol", "dwell_done", "hs_park", "", 700.0)
    p.on_event("r2", "investigate", "arrived", "inv-1", "", 710.0, 3.0, 4.0)
    p.on_event("r2", "investigate", "dwell_done", "inv-1", "", 770.0)
    assert p.visits == [("r1", "hs_park", 640.0, 700.0)]  # an investigation is no patrol visit
    assert p.looks == [(710.0, 3.0, 4.0)]
    assert p.summary() == ("1/2 delivered, 1 failed, 1 patrol visits, 1 calls looked at, "
                           "0 alerts")


def test_facts_for_the_expectations() -> None:
    p = make()
    p.on_event("r1", "deliver", "handed_over", "O-1", "", 130.0)
    p.on_event("r1", "patrol", "arrived", "hs_a", "", 200.0)
    p.on_event("r1", "patrol", "dwell_done", "hs_a", "", 260.0)
    p.on_event("r2", "investigate", "arrived", "inv-1", "", 500.0, 10.0, 0.0)
    p.on_alert("u1", "loitering", 300.0)
    f = p.facts({"O-1": 120.0, "O-2": 900.0}, {"hs_a": 600.0, "hs_b": 600.0},
                [(400.0, 12.0, 0.0)], 0.0, 1000.0)
    assert f.in_window == frozenset() and f.at_home == {"O-1"}  # O-1 handed over 10 s late
    assert f.hotspot_violations == {"hs_a": 1, "hs_b": 1}  # hs_a: 260 -> 1000; hs_b never
    assert f.call_response_s == (100.0,) and f.patrol_visits == 1
    assert f.alerts == (("loitering", 300.0),)


def test_a_trips_second_visit_of_a_hotspot_counts_for_that_hotspot() -> None:
    p = make()
    for task, t in (("hs_a#1", 100.0), ("hs_a#2", 500.0)):
        p.on_event("r1", "patrol", "arrived", task, "", t)
        line = p.on_event("r1", "patrol", "dwell_done", task, "", t + 30.0)
        assert line is not None and "patrolled hs_a " in line
    f = p.facts({}, {"hs_a": 600.0}, [], 0.0, 1000.0)
    assert f.hotspot_violations == {"hs_a": 0} and f.patrol_visits == 2


def test_alerts_acked_once_after_delay() -> None:
    p = make()
    assert p.on_alert("u1", "loitering", 10.0)
    assert not p.on_alert("u1", "loitering", 15.0)
    assert p.due_acks(69.0) == []
    assert p.due_acks(70.0) == ["u1"]
    assert p.due_acks(200.0) == []


def test_operator_calls_sorted_and_validated() -> None:
    calls = operator_calls({"calls": [{"at": 900, "point": [150, 105], "note": "resident"},
                                      {"at": 300.5, "point": [92.6, 100.0]}]}, "s.yaml")
    assert [(c.at, c.x, c.y, c.note) for c in calls] == [
        (300.5, 92.6, 100.0, ""), (900.0, 150.0, 105.0, "resident")]
    assert operator_calls(None, "s.yaml") == [] and operator_calls({}, "s.yaml") == []
    for bad, field in (({"calls": {"at": 1}}, "operator.calls"),
                       ({"calls": [{"at": -1, "point": [0, 0]}]}, "operator.calls[0].at"),
                       ({"calls": [{"at": 5, "point": [0]}]}, "operator.calls[0].point"),
                       ({"calls": [{"at": True, "point": [0, 0]}]}, "operator.calls[0].at"),
                       ({"calls": [{"at": 5, "point": [0, 0], "note": "a\nb"}]},
                        "operator.calls[0].note"),
                       ({"calls": [{"at": 5, "point": [0, 0], "note": "n" * 201}]},
                        "operator.calls[0].note")):
        with pytest.raises(ScenarioError, match=re.escape(f"field '{field}'")):
            operator_calls(bad, "s.yaml")


def test_a_calls_answer_names_the_robot_and_eta_or_says_it_waits() -> None:
    assert call_answer("r2", 115.6, 150.0, 98.0, 150.0, 98.2) == (
        "r2 goes, on scene in about 116 s")
    # a place off limits: watched from elsewhere, said so
    assert call_answer("r1", 40.0, 16.0, 14.0, 16.0, 18.0) == (
        "r1 goes, on scene in about 40 s, watching from (16.0, 18.0)")
    assert call_answer("", float("nan"), 3.0, 4.0, 3.0, 4.0) == (
        "queued: no robot can go yet without making a parcel late")
    # what the fleet says it costs is told too
    assert call_answer("r3", 82.0, 88.0, 100.0, 88.0, 100.0, (
        "investigate (88.0, 100.0) [call]: r3 leaves its delivery trip (resumes after); no robot "
        "could go with every parcel in its window: its parcels may be up to 205 s late, on scene "
        "in about 82 s")) == "r3 goes, on scene in about 82 s; its parcels may be up to 205 s late"
    assert call_answer("r1", 140.0, 88.0, 100.0, 88.0, 100.0, (
        "investigate (88.0, 100.0) [call]: r1 goes after handing over its trip's last parcel "
        "(no robot could go at once with every parcel in its window), on scene in about 140 s")
    ) == "r1 goes after handing over its trip's last parcel, on scene in about 140 s"
