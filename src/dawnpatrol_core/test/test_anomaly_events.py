"""Anomaly events: dedup, rate limit, escalation, serialization and hostile-input rejection."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawnpatrol_core.anomaly.events import (
    MAX_DESCRIPTION_LEN,
    AnomalyEvent,
    Detection,
    EventManager,
    EventManagerConfig,
    Severity,
    event_from_dict,
    event_from_json,
    event_to_dict,
    event_to_json,
    make_evidence,
    new_event_uuid,
    validate_event,
)
from dawnpatrol_core.anomaly.incidents import IncidentPolicy
from dawnpatrol_core.errors import AnomalyError


def det(kind: str = "loitering", key: str = "track:1", zone: str = "alley", t: float = 0.0,
        description: str = "", x: float = 1.0) -> Detection:
    return Detection(kind, key, x, 2.0, detected_at=t, threshold_met_at=t, zone=zone,
                     confidence=0.9, description=description,
                     evidence=make_evidence([[t, x, 2.0]], [[x + 0.1, 2.0]]))


def manager(**cfg: Any) -> EventManager:
    return EventManager("r1", np.random.default_rng(0), EventManagerConfig(**cfg))


def test_same_subject_updates_one_event() -> None:
    m = manager(min_update_interval_s=5.0)
    first = m.report(det(t=0.0), 0.0)
    assert first is not None and first.count == 1 and first.revision == 0
    assert m.report(det(t=1.0), 1.0) is None  # merged, not worth sending yet
    upd = m.report(det(t=5.0), 5.0)
    assert upd is not None and upd.uuid == first.uuid
    assert (upd.count, upd.revision, upd.last_seen, upd.first_seen) == (3, 1, 5.0, 0.0)
    other_zone = m.report(det(zone="park", t=5.0), 5.0)
    far_away = m.report(det(key="track:3", t=5.0, x=20.0), 5.0)  # beyond the 8 m radius
    assert other_zone is not None and far_away is not None
    assert len({first.uuid, other_zone.uuid, far_away.uuid}) == 3


def test_a_broken_track_is_the_same_incident() -> None:
    """A new track id at the same place (a passer-by broke the old one) updates the incident."""
    m = manager(min_update_interval_s=0.0)
    first = m.report(det(key="track:1", t=0.0), 0.0)
    again = m.report(det(key="track:7", t=30.0, x=3.0), 30.0)
    assert first is not None and again is not None
    assert again.uuid == first.uuid and again.count == 2 and again.x == 3.0
    intruder = m.report(det(kind="intrusion", key="track:2", zone="yard", t=31.0), 31.0)
    # 39 m further in 30 s (1.3 m/s): it may be the same person again, in the same yard
    other = m.report(det(kind="intrusion", key="track:9", zone="yard", t=61.0, x=40.0), 61.0)
    assert intruder is not None and other is not None and other.uuid == intruder.uuid


def test_a_second_intruder_in_sight_with_the_first_is_a_second_incident() -> None:
    """Two people in one yard at once, 20 m apart: nobody walks 20 m in half a second, so the
    second is a new incident (it used to vanish into the first: crime bench seeds 2 and 4). Each
    person's later reports, and a broken track of either, go to their own incident."""
    m = manager(min_update_interval_s=0.0)
    one = m.report(det(kind="intrusion", key="track:1", zone="yard", t=100.0, x=0.0), 100.0)
    two = m.report(det(kind="intrusion", key="track:2", zone="yard", t=100.5, x=20.0), 100.5)
    assert one is not None and two is not None and two.uuid != one.uuid
    again_one = m.report(det(kind="intrusion", key="track:1", zone="yard", t=101.0, x=0.5), 101.0)
    broken_two = m.report(det(kind="intrusion", key="track:5", zone="yard", t=104.0, x=21.0),
                          104.0)
    assert again_one is not None and again_one.uuid == one.uuid
    assert broken_two is not None and broken_two.uuid == two.uuid
    # a step or two apart is one person (tracking and localization error)
    near = m.report(det(kind="intrusion", key="track:8", zone="yard", t=104.2, x=3.5), 104.2)
    assert near is not None and near.uuid == one.uuid
    assert len(m.open_events) == 2


def test_event_closed_after_silence_reopens_as_new() -> None:
    m = manager(incidents=IncidentPolicy(gap_s_by_kind={"loitering": 30.0}))
    a = m.report(det(t=0.0), 0.0)
    assert m.take_closed() == ()
    m.expire(30.0)
    assert m.take_closed() == ()
    b = m.report(det(t=31.0), 31.0)
    assert a is not None and b is not None and a.uuid != b.uuid
    assert [e.uuid for e in m.take_closed()] == [a.uuid]
    assert [e.uuid for e in m.open_events] == [b.uuid]


def test_rate_limit_per_kind() -> None:
    m = manager(rate_limit=3, rate_window_s=60.0)
    got = [m.report(det(key=f"track:{i}", t=float(i), x=20.0 * i), float(i)) for i in range(5)]
    assert [g is not None for g in got] == [True, True, True, False, False]
    assert m.suppressed == {"loitering": 2}
    assert m.report(det(kind="intrusion", t=5.0), 5.0) is not None  # other kinds unaffected
    assert m.report(det(key="track:9", t=60.5, x=200.0), 60.5) is not None  # window slid on


def test_persistent_event_escalates() -> None:
    m = manager(escalate_after_s_by_kind={"loitering": 100.0}, min_update_interval_s=1e9,
                incidents=IncidentPolicy(gap_s_by_kind={"loitering": 1e9}))
    ev = m.report(det(t=0.0), 0.0)
    assert ev is not None and ev.severity is Severity.WARNING
    assert m.report(det(t=50.0), 50.0) is None
    up = m.report(det(t=100.0), 100.0)  # escalation is published despite the interval
    assert up is not None and up.severity is Severity.ALERT and up.revision == 1
    up2 = m.report(det(t=200.0), 200.0)
    assert up2 is not None and up2.severity is Severity.CRITICAL
    assert m.report(det(t=400.0), 400.0) is None  # capped at critical


def test_rule_text_is_sanitized_and_latlon_added() -> None:
    m = EventManager("r1", np.random.default_rng(0), to_latlon=lambda x, y: (37.0 + y, 127.0 + x))
    ev = m.report(det(description="a\x1b[31mb\u202ec" + "x" * 1000), 0.0)
    assert ev is not None and validate_event(ev) is None
    assert ev.description.startswith("a [31mb c") and len(ev.description) == MAX_DESCRIPTION_LEN
    assert (ev.lat, ev.lon) == (39.0, 128.0)


def test_uuid_is_reproducible_with_seed() -> None:
    u1 = new_event_uuid(np.random.default_rng(42))
    assert u1 == new_event_uuid(np.random.default_rng(42))
    assert len(u1) == 36 and u1[14] == "4"


def good() -> dict[str, Any]:
    m = manager()
    ev = m.report(det(), 0.0)
    assert ev is not None
    return event_to_dict(ev)


def test_json_round_trip() -> None:
    m = manager()
    ev = m.report(det(), 0.0)
    assert ev is not None
    assert event_from_json(event_to_json(ev)) == ev


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("x", math.nan, "field 'x'"),
        ("y", math.inf, "field 'y'"),
        ("x", "1.0", "field 'x'"),
        ("kind", "alien_landing", "field 'kind'"),
        ("severity", "apocalyptic", "field 'severity'"),
        ("description", "x" * (MAX_DESCRIPTION_LEN + 1), "at most 512"),
        ("description", "ok\x1b]0;pwned\x07", "field 'description'"),
        ("description", "evil\u202etxt.exe", "field 'description'"),
        ("description", "two\nlines", "field 'description'"),
        ("robot_id", "r1; DROP TABLE anomalies", "field 'robot_id'"),
        ("robot_id", "r" * 65, "field 'robot_id'"),
        ("zone", "../../etc", "field 'zone'"),
        ("uuid", "not-a-uuid", "field 'uuid'"),
        ("confidence", 1.5, "field 'confidence'"),
        ("count", 0, "field 'count'"),
        ("count", True, "field 'count'"),
        ("last_seen", -1.0, "field 'last_seen'"),
        ("lat", 91.0, "field 'lat'"),
        ("evidence", {"image": "base64..."}, "no images"),
        ("evidence", {"track": [[0.0, 1.0]]}, "field 'evidence.track'"),
        ("evidence", {"scan": [[0.0, 0.0]] * 721}, "field 'evidence.scan'"),
    ],
)
def test_hostile_or_malformed_events_are_rejected(field: str, value: Any, fragment: str) -> None:
    d = good()
    d[field] = value
    err = validate_event(d, "msg")
    assert err is not None and fragment in err
    assert err.startswith("msg: ") and "\n" not in err and "\x1b" not in err and len(err) < 300


def test_missing_field_and_bad_json() -> None:
    d = good()
    del d["kind"]
    assert validate_event(d) == "<event>: field 'kind': missing, expected a value"
    with pytest.raises(AnomalyError, match="non-finite|not valid JSON"):
        event_from_json('{"x": NaN}')
    with pytest.raises(AnomalyError, match="expected a JSON object"):
        event_from_json("[1, 2]")
    with pytest.raises(AnomalyError, match="field 'x'"):
        event_from_json(event_to_json(replace(_ev(), x=0.0)).replace('"x":0.0', '"x":"a"'))


def _ev() -> AnomalyEvent:
    ev = manager().report(det(), 0.0)
    assert ev is not None
    return ev


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list(good().keys()) + ["junk"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                 st.text(max_size=20), st.lists(st.integers(), max_size=3))))
def test_validate_never_raises(data: dict[str, Any]) -> None:
    base = good()
    base.update(data)
    err = validate_event(base)
    assert err is None or ("\n" not in err and err.startswith("<event>: "))
    if err is None:  # whatever validates must also build and round-trip
        ev = event_from_dict(base)
        assert event_from_json(event_to_json(ev)) == ev
