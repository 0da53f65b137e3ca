"""The one codec per message: round trips, enum tables from the message constants, bad input."""

from __future__ import annotations

import math

import pytest

from dawnpatrol_core.anomaly.events import AnomalyEvent, Evidence, Severity
from dawnpatrol_core.errors import AnomalyError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_interfaces.msg import Anomaly, RobotStatus
from dawnpatrol_ros.codecs import (
    LOC_NAMES,
    MODE_CODES,
    MODE_NAMES,
    SEVERITY_CODES,
    anomaly_from_msg,
    anomaly_to_msg,
    status_from_dict,
    status_to_dict,
)
from dawnpatrol_ros.convert import pose2d_to_msg, seconds_to_time

EVENT = AnomalyEvent(
    uuid="0b5c6f3e-7f6a-4e0b-9a57-2a3f0c1d2e4f", robot_id="r2", kind="loitering",
    severity=Severity.ALERT, confidence=0.75, x=12.5, y=-3.25, zone="watch_park",
    first_seen=7300.0, last_seen=7420.5, count=7, description="person within 3 m for 120 s",
    evidence=Evidence(track=((-2.0, 12.0, -3.0), (0.0, 12.5, -3.25)), scan=((12.4, -3.3),)),
    lat=37.27, lon=127.01, revision=4)


def test_tables_come_from_the_message_constants() -> None:
    assert MODE_NAMES[RobotStatus.MODE_IDLE] == "idle"
    assert MODE_NAMES[RobotStatus.MODE_INVESTIGATING] == "investigating"
    assert MODE_CODES["estopped"] == RobotStatus.MODE_ESTOPPED
    assert LOC_NAMES == {RobotStatus.LOC_OK: "ok", RobotStatus.LOC_DEGRADED: "degraded",
                         RobotStatus.LOC_LOST: "lost"}
    assert SEVERITY_CODES[Severity.CRITICAL] == Anomaly.SEVERITY_CRITICAL
    assert set(SEVERITY_CODES) == set(Severity)


def test_anomaly_round_trip_keeps_every_field_and_the_revision() -> None:
    msg = anomaly_to_msg(EVENT)
    assert msg.revision == 4 and "revision" not in msg.evidence
    assert anomaly_from_msg(msg) == EVENT


def test_anomaly_without_georeference_sends_nan() -> None:
    ev = AnomalyEvent(**{**{f: getattr(EVENT, f) for f in EVENT.__slots__},  # type: ignore[arg-type]
                         "lat": None, "lon": None})
    msg = anomaly_to_msg(ev)
    assert math.isnan(msg.latitude) and math.isnan(msg.longitude)
    assert anomaly_from_msg(msg).lat is None


@pytest.mark.parametrize(("change", "field"), [
    ({"severity": 9}, "severity"),
    ({"evidence": "[1, 2]"}, "evidence"),
    ({"evidence": "{not json"}, "evidence"),
    ({"evidence": "x" * 20000}, "evidence"),
    ({"kind": "spaceship"}, "kind"),
])
def test_bad_anomaly_messages_name_the_field(change: dict[str, object], field: str) -> None:
    msg = anomaly_to_msg(EVENT)
    for k, v in change.items():
        setattr(msg, k, v)
    with pytest.raises(AnomalyError, match=f"field '{field}'"):
        anomaly_from_msg(msg, "/r2/anomalies")


def test_non_finite_position_is_refused() -> None:
    msg = anomaly_to_msg(EVENT)
    msg.position.z = math.inf
    with pytest.raises(AnomalyError, match="position.z"):
        anomaly_from_msg(msg)


def test_status_round_trip_through_the_stored_form() -> None:
    m = RobotStatus(robot_id="r1", mode=RobotStatus.MODE_DELIVERING,
                    localization_health=RobotStatus.LOC_DEGRADED, localization_quality=0.5,
                    battery_percent=81.5, speed=1.25, current_task="deliver O-1",
                    parcels_on_board=["O-1", "O-2"], eta_s=math.nan, estopped=False,
                    latitude=math.nan, longitude=127.0, last_error="")
    m.pose = pose2d_to_msg(Pose2D(3.0, 4.0, 0.5))
    m.header.stamp = seconds_to_time(7200.25)
    d = status_to_dict(m)
    assert d["mode"] == "delivering" and d["localization"] == "degraded"
    assert d["eta_s"] is None and d["latitude"] is None and d["stamp"] == 7200.25
    back = status_from_dict("r1", d)
    assert back.mode == m.mode and back.localization_health == m.localization_health
    assert list(back.parcels_on_board) == ["O-1", "O-2"] and math.isnan(back.eta_s)
    assert status_to_dict(back) == d


def test_unknown_mode_code_reads_as_fault() -> None:
    assert status_to_dict(RobotStatus(mode=200))["mode"] == "fault"


def test_every_navigation_cause_is_a_navigate_result_constant_and_round_trips() -> None:
    from dawnpatrol_core.control.causes import NavCause, NavResult
    from dawnpatrol_interfaces.action import Navigate
    from dawnpatrol_ros.codecs import CAUSE_NAMES, cause_from_code, nav_result_to_msg

    assert set(CAUSE_NAMES.values()) == {c.value for c in NavCause}  # one table, both sides
    for cause in NavCause:
        msg = nav_result_to_msg(NavResult(cause, "why"), Navigate.Result.CODE_FAILED)
        assert msg.cause == getattr(Navigate.Result, f"CAUSE_{cause.name}")
        assert cause_from_code(msg.cause) is cause and msg.reason == "why"
    assert cause_from_code(200) is NavCause.UNKNOWN  # a newer navigator's cause
