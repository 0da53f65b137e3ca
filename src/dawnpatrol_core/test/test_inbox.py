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
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
