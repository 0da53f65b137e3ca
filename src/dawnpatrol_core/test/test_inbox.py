"""Fleet inbox: idempotent on uuid, newest revision wins, operator acks, queries."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dawnpatrol_core.anomaly.events import AnomalyEvent, Detection, EventManager, make_evidence
from dawnpatrol_core.errors import AnomalyError
from dawnpatrol_core.store.inbox import Inbox, InboxResult


def ev(kind: str = "intrusion", key: str = "track:1", t: float = 10.0) -> AnomalyEvent:
    m = EventManager("r2", np.random.default_rng(abs(hash((kind, key, t))) % 2**32))
    e = m.report(Detection(kind, key, 1.5, -2.0, t, t - 1.0, zone="school",
                           evidence=make_evidence([[t, 1.5, -2.0]], [[1.0, 1.0]])), t)
    assert e is not None
    return e


def test_upsert_is_idempotent_and_keeps_newest(tmp_path: Path) -> None:
    e = ev()
    with Inbox(tmp_path / "f.db") as ib:
        assert ib.upsert(e, 11.0) is InboxResult.NEW
        assert ib.upsert(e, 12.0) is InboxResult.DUPLICATE
        newer = replace(e, revision=2, count=7, last_seen=40.0)
        assert ib.upsert(newer, 41.0) is InboxResult.UPDATED
        assert ib.upsert(replace(e, revision=1, count=3, last_seen=20.0), 42.0) is (
            InboxResult.DUPLICATE)
        assert len(ib) == 1
        rec = ib.get(e.uuid)
        assert rec is not None and rec.event == newer
        assert (rec.received_at, rec.updated_at, rec.acked_at) == (11.0, 41.0, None)
        assert ib.get("00000000-0000-4000-8000-000000000000") is None


def test_ack_records_who_when_and_note(tmp_path: Path) -> None:
    e = ev()
    with Inbox(tmp_path / "f.db") as ib:
        ib.upsert(e, 11.0)
        assert ib.ack(e.uuid, "kim", "police notified", 50.0) is True
        assert ib.ack(e.uuid, "lee", "second ack", 60.0) is True  # first ack kept
        rec = ib.get(e.uuid)
        assert rec is not None
        assert (rec.acked_at, rec.acked_by, rec.ack_note) == (50.0, "kim", "police notified")
        ib.upsert(replace(e, revision=1, last_seen=70.0), 71.0)  # later update keeps the ack
        rec = ib.get(e.uuid)
        assert rec is not None and rec.acked_by == "kim"
        assert ib.ack("00000000-0000-4000-8000-000000000000", "kim", "", 1.0) is False
        with pytest.raises(AnomalyError, match="field 'note'"):
            ib.ack(e.uuid, "kim", "bad\x1b[2J", 1.0)
        with pytest.raises(AnomalyError, match="field 'by'"):
            ib.ack(e.uuid, "", "x", 1.0)


def test_query_filters(tmp_path: Path) -> None:
    a = ev("intrusion", "track:1", 10.0)
    b = ev("loitering", "track:2", 20.0)
    c = ev("battery_low", "robot", 30.0)
    with Inbox(tmp_path / "f.db") as ib:
        for e in (a, b, c):
            ib.upsert(e, e.last_seen)
        ib.ack(b.uuid, "kim", "", 31.0)
        uu = lambda recs: [r.event.uuid for r in recs]  # noqa: E731
        assert uu(ib.query()) == [c.uuid, b.uuid, a.uuid]
        assert uu(ib.query(since=20.0)) == [c.uuid, b.uuid]
        assert uu(ib.query(kind="intrusion")) == [a.uuid]
        assert uu(ib.query(unacked=True)) == [c.uuid, a.uuid]
        assert uu(ib.query(robot_id="r9")) == []
        assert uu(ib.query(limit=1)) == [c.uuid]


def test_invalid_event_is_rejected_and_nothing_stored(tmp_path: Path) -> None:
    with Inbox(tmp_path / "f.db") as ib:
        with pytest.raises(AnomalyError, match="field 'x'"):
            ib.upsert(replace(ev(), x=math.nan), 1.0)
        with pytest.raises(AnomalyError, match="field 'kind'"):
            ib.upsert(replace(ev(), kind="ufo"), 1.0)
        assert len(ib) == 0


def test_survives_reopen_and_is_versioned(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    e = ev()
    with Inbox(path) as ib:
        ib.upsert(e, 1.0)
    with Inbox(path) as ib:
        assert ib.upsert(e, 2.0) is InboxResult.DUPLICATE
        rec = ib.get(e.uuid)
        assert rec is not None and rec.event.evidence == e.evidence
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def at(kind: str, robot: str, x: float, t0: float, t1: float, zone: str = "",
       seed: int = 0) -> AnomalyEvent:
    """An event of ``robot`` seen from t0 to t1 (s) at (x, 0)."""
    m = EventManager(robot, np.random.default_rng(seed))
    e = m.report(Detection(kind, "k", x, 0.0, t0, t0, zone=zone), t0)
    assert e is not None
    return replace(e, last_seen=t1)


def test_one_object_seen_by_two_robots_is_one_incident(tmp_path: Path) -> None:
    a = at("blocked_sidewalk", "r1", 10.0, 100.0, 130.0, seed=1)
    b = at("blocked_sidewalk", "r2", 12.5, 400.0, 420.0, seed=2)  # the other side, later
    c = at("blocked_sidewalk", "r1", 30.0, 410.0, 415.0, seed=3)  # another object
    with Inbox(tmp_path / "f.db") as ib:
        assert ib.upsert(a, 131.0) is InboxResult.NEW
        assert ib.upsert(b, 421.0) is InboxResult.MERGED
        assert ib.upsert(c, 416.0) is InboxResult.NEW
        assert ib.incident_of(b.uuid) == a.uuid and ib.incident_of(c.uuid) == c.uuid
        inc = ib.incident(b.uuid)
        assert inc is not None and inc.event.uuid == a.uuid
        assert inc.robots == ("r1", "r2") and inc.events == 2
        assert (inc.event.first_seen, inc.event.last_seen, inc.event.count) == (100.0, 420.0, 2)
        assert inc.event.x == 12.5 and "seen by r1, r2" in inc.event.description
        assert [r.event.uuid for r in ib.incidents()] == [a.uuid, c.uuid]  # newest first
        assert len(ib.query()) == 3  # every event is kept
        # updates of a member update the incident; its revision grows with them
        before = inc.event.revision
        ib.upsert(replace(b, last_seen=500.0, count=9, revision=1), 501.0)
        inc2 = ib.incident(a.uuid)
        assert inc2 is not None and inc2.event.last_seen == 500.0 and inc2.event.count == 10
        assert inc2.event.revision > before
        # seen again an hour on (the crime bench's furniture, 57 min unseen): the same object
        again = at("blocked_sidewalk", "r2", 11.0, 3900.0, 3910.0, seed=5)
        assert ib.upsert(again, 3911.0) is InboxResult.MERGED
        # after the gap (3 h for a blocked sidewalk: it stays until cleared) a new incident
        late = at("blocked_sidewalk", "r2", 11.0, 15000.0, 15010.0, seed=4)
        assert ib.upsert(late, 15011.0) is InboxResult.NEW


def test_intrusions_merge_by_area_faults_stay_with_their_robot(tmp_path: Path) -> None:
    with Inbox(tmp_path / "f.db") as ib:
        first = at("intrusion", "r1", 0.0, 10.0, 20.0, zone="yard", seed=1)
        assert ib.upsert(first, 20.0) is InboxResult.NEW
        far_side = at("intrusion", "r2", 60.0, 30.0, 40.0, zone="yard", seed=2)
        assert ib.upsert(far_side, 40.0) is InboxResult.MERGED
        other_area = at("intrusion", "r2", 1.0, 30.0, 40.0, zone="site", seed=3)
        assert ib.upsert(other_area, 40.0) is InboxResult.NEW
        assert ib.upsert(at("battery_low", "r1", 0.0, 10.0, 20.0, seed=4), 20.0) is (
            InboxResult.NEW)
        assert ib.upsert(at("battery_low", "r2", 0.0, 10.0, 20.0, seed=5), 20.0) is (
            InboxResult.NEW)
        assert ib.upsert(at("battery_low", "r1", 0.0, 30.0, 35.0, seed=6), 35.0) is (
            InboxResult.MERGED)
        assert len(ib.incidents()) == 4 and len(ib.incidents(kind="intrusion")) == 2


def test_two_robots_seeing_two_intruders_at_once_raise_two_incidents(tmp_path: Path) -> None:
    """r1 and r2 each watch a person in the yard at the same moment, 25 m apart: two people, two
    incidents; r1's later report of its person, 10 s on and 6 m away, continues its own."""
    with Inbox(tmp_path / "f.db") as ib:
        a = at("intrusion", "r1", 0.0, 100.0, 110.0, zone="yard", seed=1)
        b = at("intrusion", "r2", 25.0, 105.0, 110.5, zone="yard", seed=2)
        assert ib.upsert(a, 110.0) is InboxResult.NEW
        assert ib.upsert(b, 110.5) is InboxResult.NEW
        c = at("intrusion", "r1", 6.0, 118.0, 120.0, zone="yard", seed=3)
        assert ib.upsert(c, 120.0) is InboxResult.MERGED
        assert ib.incident_of(c.uuid) == a.uuid
        assert len(ib.incidents(kind="intrusion")) == 2


def test_ack_covers_the_incident_and_what_joins_it_later(tmp_path: Path) -> None:
    a = at("loitering", "r1", 5.0, 100.0, 150.0, zone="park", seed=1)
    b = at("loitering", "r2", 7.0, 140.0, 160.0, zone="park", seed=2)
    with Inbox(tmp_path / "f.db") as ib:
        ib.upsert(a, 150.0)
        ib.upsert(b, 160.0)
        assert ib.ack(b.uuid, "kim", "police on the way", 170.0) is True  # a member's uuid
        assert ib.incidents(unacked=True) == []
        c = at("loitering", "r3", 6.0, 200.0, 210.0, zone="park", seed=3)
        assert ib.upsert(c, 210.0) is InboxResult.MERGED
        (inc,) = ib.incidents()
        assert (inc.acked_by, inc.ack_note, inc.events) == ("kim", "police on the way", 3)
        assert ib.incidents(unacked=True) == []


def test_a_version_1_inbox_is_migrated(tmp_path: Path) -> None:
    from dawnpatrol_core.store.inbox import INBOX_MIGRATIONS

    path = tmp_path / "old.db"
    e = ev()
    with Inbox(path, migrations=INBOX_MIGRATIONS[:1]) as old:
        con = old._conn  # written the way version 1 wrote it: no incident column
        old_cols = [r[1] for r in con.execute("PRAGMA table_info(anomalies)")]
        assert "incident" not in old_cols
        con.execute(
            "INSERT INTO anomalies (uuid, robot_id, kind, severity, confidence, x, y, lat, lon,"
            " zone, first_seen, last_seen, count, description, revision, evidence, received_at,"
            " updated_at) VALUES (?, 'r2', 'intrusion', 'alert', 0.9, 1.5, -2.0, NULL, NULL,"
            " 'school', 9.0, 10.0, 1, '', 0, '{\"track\":[],\"scan\":[]}', 11.0, 11.0)",
            (e.uuid,))
    with Inbox(path) as ib:
        assert ib.incident_of(e.uuid) == e.uuid
        (inc,) = ib.incidents()
        assert inc.event.uuid == e.uuid and inc.robots == ("r2",)


def test_a_second_robot_confirming_a_stay_continues_the_incident(tmp_path: Path) -> None:
    """r2 reports a loiterer and drives on (last sighting 400 s); r1, sent to look, watches the
    same person for the zone's 240 s and confirms at 1140 s, 740 s after r2's last sighting (more
    than the 600 s gap). The stay r1 saw began at 900 s, within the gap: one incident."""
    def seen(robot: str, began: float, met: float, seed: int) -> AnomalyEvent:
        m = EventManager(robot, np.random.default_rng(seed))
        e = m.report(Detection("loitering", "site:1", 150.0, 105.0, met, met, zone="park",
                               began_at=began), met)
        assert e is not None and e.first_seen == began
        return e

    first = replace(seen("r2", 120.0, 360.0, 1), last_seen=400.0)
    confirm = seen("r1", 900.0, 1140.0, 2)
    with Inbox(tmp_path / "f.db") as ib:
        assert ib.upsert(first, 401.0) is InboxResult.NEW
        assert ib.upsert(confirm, 1141.0) is InboxResult.MERGED
        inc = ib.incident(confirm.uuid)
        assert inc is not None and sorted(inc.robots) == ["r1", "r2"]
        # a stay that began after the gap is another episode
        again = seen("r1", 1800.0, 2040.0, 3)
        assert ib.upsert(again, 2041.0) is InboxResult.NEW


def test_two_people_lingering_apart_in_one_zone_are_two_incidents(tmp_path: Path) -> None:
    """Two loiterers 6.5 m apart in the park at the same time are two episodes; one person's
    reports from two robots (a site centre 1.5 m off) are one."""
    def seen(robot: str, x: float, y: float, seed: int) -> AnomalyEvent:
        m = EventManager(robot, np.random.default_rng(seed))
        e = m.report(Detection("loitering", "site:1", x, y, 500.0, 500.0, zone="park",
                               began_at=320.0), 500.0)
        assert e is not None
        return e

    with Inbox(tmp_path / "f.db") as ib:
        assert ib.upsert(seen("r1", 149.4, 102.2, 1), 501.0) is InboxResult.NEW
        assert ib.upsert(seen("r2", 150.6, 103.1, 2), 502.0) is InboxResult.MERGED
        assert ib.upsert(seen("r1", 154.5, 106.3, 3), 503.0) is InboxResult.NEW
        assert len(ib.incidents(kind="loitering")) == 2
