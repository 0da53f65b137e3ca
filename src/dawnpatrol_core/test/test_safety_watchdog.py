"""Tests for the heartbeat watchdog and operating hours."""

from __future__ import annotations

import pytest

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.safety.estop import EStop
from dawnpatrol_core.safety.governor import SpeedGovernor
from dawnpatrol_core.safety.operating_hours import OperatingHours, parse_clock
from dawnpatrol_core.safety.watchdog import HeartbeatWatchdog


def test_trips_after_timeout_and_recovers_on_heartbeat() -> None:
    wd = HeartbeatWatchdog(timeout=2.0, started_at=0.0)
    wd.beat(1.0)
    assert not wd.tripped(3.0)
    assert wd.tripped(3.01)
    assert wd.reason(4.0) == "watchdog: fleet heartbeat missing for 3.0 s"
    wd.beat(4.5)
    assert not wd.tripped(4.6)
    wd.beat(2.0)  # late, out of order: ignored
    assert wd.last_heartbeat == 4.5


def test_never_heard_from_fleet_trips_after_timeout() -> None:
    wd = HeartbeatWatchdog(timeout=1.5, started_at=100.0)
    assert not wd.tripped(101.5)
    assert wd.tripped(101.6)


def test_watchdog_stop_recovers_only_when_not_estopped() -> None:
    wd = HeartbeatWatchdog(timeout=1.0)
    estop = EStop()
    gov = SpeedGovernor(watchdog=wd, estop=estop)
    wd.beat(0.0)
    assert gov.filter(0.5, 0.5, 0.0, Pose2D(0, 0)).v > 0.0
    cmd = gov.filter(2.0, 0.5, 0.0, Pose2D(0, 0))
    assert cmd.stopped and cmd.reason.startswith("watchdog")
    estop.trigger(2.0, "robot", "link lost too long")
    wd.beat(3.0)
    cmd = gov.filter(3.0, 0.5, 0.0, Pose2D(0, 0))
    assert cmd.stopped and cmd.v == 0.0 and cmd.reason.startswith("e-stop")
    estop.resume(3.1, "operator", "link back")
    assert not gov.filter(3.2, 0.5, 0.0, Pose2D(0, 0)).stopped


def test_bad_timeout() -> None:
    with pytest.raises(ConfigError, match="field 'timeout'"):
        HeartbeatWatchdog(timeout=0.0)


def test_operating_hours_crossing_midnight() -> None:
    h = OperatingHours.from_strings("22:00", "07:00")
    assert h.is_open(23 * 3600.0)
    assert h.is_open(3 * 3600.0)
    assert h.is_open(22 * 3600.0)
    assert not h.is_open(7 * 3600.0)
    assert not h.is_open(12 * 3600.0)
    assert h.reason(12 * 3600.0) == "out of operating hours (22:00-07:00, now 12:00)"
    assert h.is_open(86400.0 * 5 + 1 * 3600.0)  # any day


def test_operating_hours_same_day_and_utc_offset() -> None:
    h = OperatingHours.from_strings("02:00", "07:00", utc_offset=9 * 3600.0)
    # 18:00 UTC is 03:00 in Korea.
    assert h.is_open(18 * 3600.0)
    assert not h.is_open(23 * 3600.0)  # 08:00 local
    assert OperatingHours(0.0, 0.0).is_open(12345.0)


def test_hours_stop_the_governor() -> None:
    gov = SpeedGovernor(hours=OperatingHours.from_strings("02:00", "07:00"))
    cmd = gov.filter(12 * 3600.0, 1.0, 0.0, Pose2D(0, 0))
    assert cmd.stopped and cmd.v == 0.0 and "out of operating hours" in cmd.reason


@pytest.mark.parametrize("text", ["7", "25:00", "07:60", "aa:bb", "07:00:99"])
def test_bad_clock_strings(text: str) -> None:
    with pytest.raises(ConfigError, match="expected"):
        parse_clock(text)
