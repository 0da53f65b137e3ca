"""The shift clock: shift-day seconds, and how every time of day is shown."""

from __future__ import annotations

import math

from dawnpatrol_core.shift_clock import DAY_S, clock, ros_clock, shift_seconds


def test_clock_hours_minutes_seconds() -> None:
    assert clock(7200 + 65) == "02:01:05"
    assert clock(7200 + 65, seconds=False) == "02:01"
    assert clock(0.0) == "00:00:00"


def test_clock_cuts_to_the_shown_unit_as_a_clock_does() -> None:
    assert clock(21 * 3600 + 59 * 60 + 45, seconds=False) == "21:59"  # not yet 22:00
    assert clock(7199.6) == "01:59:59"
    assert clock(7199.9999) == "02:00:00"  # float noise of a ROS time in nanoseconds


def test_clock_later_day_and_before_midnight() -> None:
    assert clock(DAY_S + 7200) == "02:00:00 (+1d)"
    assert clock(26 * 3600, seconds=False) == "02:00 (+1d)"
    assert clock(-3600.0) == "-01:00:00"
    assert clock(math.nan) == "-" and clock(math.inf) == "-"


def test_ros_clock_sim_and_wall_time() -> None:
    assert ros_clock(7200.0) == "02:00:00"  # sim clock: shift-day seconds as they are
    assert ros_clock(1767286800.0, 32400.0) == "02:00:00"  # 2026-01-01 17:00 UTC, Korea
    assert ros_clock(1767286800.0) == "17:00:00"
    assert ros_clock(1767286800.0, 32400.0, seconds=False) == "02:00"
    for unset in (None, 0.0, -1.0, math.nan):
        assert ros_clock(unset) == "-"


def test_shift_seconds_sim_and_wall_clock() -> None:
    assert shift_seconds(7200.0, 32400.0, 7 * 3600.0) == 7200.0  # sim clock as is
    assert shift_seconds(1767286800.0, 32400.0, 7 * 3600.0) == 7200.0
    # 15:00 local, after the shift's end: the coming night's shift, 9 h before its midnight
    assert shift_seconds(1767247200.0, 32400.0, 7 * 3600.0) == 15 * 3600.0 - DAY_S
