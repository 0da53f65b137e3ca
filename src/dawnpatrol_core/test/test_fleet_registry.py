"""The robot registry: link states, status records, which robots are free."""

from __future__ import annotations

from dawnpatrol_core.fleet.registry import (
    Connection,
    RobotMode,
    RobotStatusReport,
    RobotView,
    connection_state,
    free_robots,
    mode_of_code,
)


def test_connection_state_by_age() -> None:
    assert connection_state(100.0, 103.0, 3.0, 10.0) is Connection.ONLINE
    assert connection_state(100.0, 103.1, 3.0, 10.0) is Connection.STALE
    assert connection_state(100.0, 110.1, 3.0, 10.0) is Connection.OFFLINE


def test_free_robots() -> None:
    on, idle = Connection.ONLINE, RobotMode.IDLE
    views = [
        RobotView("r1", on, idle, False, 0, 0),
        RobotView("r2", Connection.STALE, idle, False, 0, 0),
        RobotView("r3", on, idle, True, 0, 0),
        RobotView("r4", on, RobotMode.FAULT, False, 0, 0),
        RobotView("r5", on, RobotMode.PATROLLING, False, 0, 0),
        # delivering a mission the fleet no longer follows (resumed after a restart): not free
        RobotView("r6", on, RobotMode.DELIVERING, False, 0, 0),
    ]
    assert free_robots(views, busy=["r5"]) == ["r1"]
    assert free_robots(views, busy=[]) == ["r1", "r5"]


def test_status_record_round_trip_and_mode_codes() -> None:
    s = RobotStatusReport("r1", RobotMode.RETURNING, 1.0, 2.0, 0.5, 37.2, None, 1, 0.8, 77.0,
                          1.2, "return depot", ("O-1",), 12.0, False, "", 7200.5)
    assert RobotStatusReport.from_dict("r1", s.to_dict()) == s
    assert s.to_dict()["mode_code"] == 4 and mode_of_code(4) is RobotMode.RETURNING
    assert mode_of_code(99) is RobotMode.FAULT
    assert RobotStatusReport.from_dict("r2", {"mode": "dancing"}).mode is RobotMode.FAULT
