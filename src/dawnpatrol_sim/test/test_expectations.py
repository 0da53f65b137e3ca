"""Scenario expectations: parsing (one line per bad field), evaluation, the PASS/MISS table."""

from __future__ import annotations

import pytest

from dawnpatrol_core.errors import ScenarioError
from dawnpatrol_sim.expectations import (
    Expectations,
    ShiftFacts,
    answer_times,
    evaluate,
    parse_expectations,
    render,
)

RAW = {"min_delivered_in_window": 0.95, "alerts": ["loitering", "intrusion"],
       "no_alerts": ["battery_low"], "max_alerts": {"intrusion": 1}, "hotspot_bounds": "held",
       "calls_answered_within_s": 300, "min_patrol_visits": 3}


def test_parse_every_field() -> None:
    e = parse_expectations(RAW, "s.yaml")
    assert e == Expectations(0.95, ("loitering", "intrusion"), ("battery_low",), {"intrusion": 1},
                             True, 300.0, 3)
    assert parse_expectations(None, "s.yaml").empty
    assert parse_expectations({"anomaly": {"x": 1}}, "s.yaml").empty  # the anomaly bench's


@pytest.mark.parametrize(("raw", "field"), [
    ([], "expectations"),
    ({"min_delivered_in_window": 1.5}, "expectations.min_delivered_in_window"),
    ({"min_delivered_in_window": True}, "expectations.min_delivered_in_window"),
    ({"alerts": "loitering"}, "expectations.alerts"),
    ({"no_alerts": [""]}, "expectations.no_alerts"),
    ({"max_alerts": {"intrusion": -1}}, "expectations.max_alerts"),
    ({"hotspot_bounds": "kept"}, "expectations.hotspot_bounds"),
    ({"calls_answered_within_s": 0}, "expectations.calls_answered_within_s"),
    ({"min_patrol_visits": 2.5}, "expectations.min_patrol_visits"),
    ({"alert": ["loitering"]}, "expectations.alert"),
])
def test_bad_fields_are_named(raw: object, field: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_expectations(raw, "s.yaml")
    assert str(exc.value).startswith(f"s.yaml: field '{field}': got ")
    assert "\n" not in str(exc.value)


def test_all_met() -> None:
    facts = ShiftFacts(frozenset({"A", "B"}), frozenset({"A", "B"}),
                       (("loitering", 1.0), ("intrusion", 2.0)), {"hs": 0}, (120.0, 250.0), 4)
    checks = evaluate(parse_expectations(RAW, "s.yaml"), facts)
    assert [c.passed for c in checks] == [True] * 8
    assert render(checks)[-1] == "expectations: 8/8 met"


def test_each_miss_is_named() -> None:
    facts = ShiftFacts(frozenset({"A", "B"}), frozenset({"A"}),
                       (("intrusion", 1.0), ("intrusion", 5.0), ("battery_low", 6.0)),
                       {"hs_park": 2, "hs_gate": 0}, (120.0, None), 2)
    checks = evaluate(parse_expectations(RAW, "s.yaml"), facts)
    missed = {c.name: c.actual for c in checks if not c.passed}
    assert missed == {
        "delivered in window": "1/2 (50%)",
        "alert loitering": "not raised",
        "no alert battery_low": "1 raised",
        "alerts intrusion": "2",
        "hotspot idleness bounds": "hs_park over 2x",
        "calls answered": "1/2 answered, median 120 s, max 120 s",
        "patrol visits": "2",
    }
    assert "| alert intrusion | raised | 2 raised | PASS |" in render(checks)
    assert render(checks)[-1] == "expectations: 1/8 met, 7 MISS"


def test_nobody_at_home_counts_as_met() -> None:
    checks = evaluate(Expectations(min_delivered_in_window=1.0), ShiftFacts())
    assert checks[0].passed and checks[0].actual == "0/0 (100%)"


def test_answer_times_match_each_call_to_its_first_nearby_arrival() -> None:
    calls = [(100.0, 0.0, 0.0), (110.0, 50.0, 0.0), (500.0, 0.0, 0.0)]
    arrivals = [(90.0, 0.0, 0.0), (180.0, 49.0, 1.0), (160.0, 1.0, 0.0), (700.0, 100.0, 0.0)]
    # the arrival at 90 s came before the call; the one at 180 s is 49 m from the first call
    assert answer_times(calls, arrivals) == (60.0, 70.0, None)
