"""Robot outbox: persisted before send, resent with backoff, survives restarts; end-to-end
delivery into the fleet inbox across a 60 s link loss."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dawnpatrol_core.anomaly.events import AnomalyEvent, Detection, EventManager, EventManagerConfig
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.store.inbox import Inbox, InboxResult
from dawnpatrol_core.store.outbox import Backoff, Outbox


def events(n: int, seed: int = 0) -> list[AnomalyEvent]:
    m = EventManager("r1", np.random.default_rng(seed), EventManagerConfig(rate_limit=10**6))
    out = []
    for i in range(n):
        # one zone each: distinct incidents, not updates of one
        ev = m.report(Detection("intrusion", f"track:{i}", float(i), 0.0, float(i), float(i),
                                zone=f"school{i}"), float(i))
        assert ev is not None
        out.append(ev)
    return out


def test_put_then_pending_and_ack(tmp_path: Path) -> None:
    (ev,) = events(1)
    with Outbox(tmp_path / "o.db") as ob:
        ob.put(ev, now=10.0)
        assert [i.event for i in ob.pending(10.0)] == [ev]
        assert ob.pending(9.0) == []
        assert ob.ack(ev.uuid) is True
        assert ob.pending(100.0) == [] and len(ob) == 0
        assert ob.ack(ev.uuid) is False


def test_crash_without_ack_keeps_event(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    evs = events(3)
    ob = Outbox(path)
    for e in evs:
        ob.put(e, 1.0)
    ob.mark_sent([evs[0].uuid], 1.0)
    ob.ack(evs[1].uuid)
    ob.close()  # the node dies; no ack came for evs[0] and evs[2]
    with Outbox(path) as again:
        assert len(again) == 2
        due = again.pending(100.0)
        assert {i.event.uuid for i in due} == {evs[0].uuid, evs[2].uuid}
        assert {i.event.uuid: i.attempts for i in due}[evs[0].uuid] == 1
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    con.close()


def test_backoff_schedule(tmp_path: Path) -> None:
    (ev,) = events(1)
    bo = Backoff(base=1.0, factor=2.0, cap=5.0)
    assert [bo.delay(k) for k in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    with Outbox(tmp_path / "o.db", backoff=bo) as ob:
        ob.put(ev, 0.0)
        ob.mark_sent([ev.uuid], 0.0)  # next at 1
        assert ob.pending(0.99) == [] and len(ob.pending(1.0)) == 1
        ob.mark_sent([ev.uuid], 1.0)  # next at 3
        assert ob.pending(2.99) == [] and len(ob.pending(3.0)) == 1


def test_newer_revision_replaces_and_older_ack_keeps_it(tmp_path: Path) -> None:
    (ev,) = events(1)
    newer = replace(ev, revision=1, count=5, last_seen=9.0)
    with Outbox(tmp_path / "o.db") as ob:
        ob.put(ev, 0.0)
        ob.mark_sent([ev.uuid], 0.0)
        ob.put(newer, 1.0)
        ob.put(ev, 2.0)  # a stale replay does not roll back
        (item,) = ob.pending(1.0)
        assert item.event == newer and item.attempts == 0
        assert ob.ack(ev.uuid, revision=0) is False  # ack of the old revision
        assert ob.ack(ev.uuid, revision=1) is True


def test_database_from_newer_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    Outbox(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 7")
    con.close()
    with pytest.raises(ConfigError, match="user_version"):
        Outbox(path)


def test_migration_hook_runs_new_steps_once(tmp_path: Path) -> None:
    from dawnpatrol_core.store.outbox import OUTBOX_MIGRATIONS

    path = tmp_path / "o.db"
    Outbox(path).close()
    calls = []

    def v2(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")

    Outbox(path, migrations=(*OUTBOX_MIGRATIONS, v2)).close()
    Outbox(path, migrations=(*OUTBOX_MIGRATIONS, v2)).close()
    assert calls == [1]


def test_burst_with_link_loss_and_fleet_restart_delivers_each_event_once(tmp_path: Path) -> None:
    """500 events over 50 s; the link is down from t=10 to t=70; every 7th ack is lost; the fleet
    inbox is closed and reopened (as after SIGKILL) at t=30 and t=80."""
    evs = events(500)
    outbox = Outbox(tmp_path / "robot.db", backoff=Backoff(base=1.0, factor=2.0, cap=10.0))
    inbox_path = tmp_path / "fleet.db"
    inbox = Inbox(inbox_path)
    rng = np.random.default_rng(3)
    deliveries = 0
    results: dict[str, int] = {r.value: 0 for r in InboxResult}
    for step in range(2000):  # 200 s at 10 Hz
        t = step / 10.0
        if step < len(evs):  # 10 events per second for 50 s
            outbox.put(evs[step], t)
        due = outbox.pending(t, limit=200)
        outbox.mark_sent([i.event.uuid for i in due], t)
        link_up = not 10.0 <= t < 70.0
        if link_up:
            acks = []
            for item in due:
                res = inbox.upsert(item.event, t)  # committed before the ack is returned
                deliveries += 1
                results[res.value] += 1
                if rng.random() > 1 / 7:  # some acks are lost on the way back
                    acks.append((item.event.uuid, item.event.revision))
            outbox.ack_many(acks)
        if step in (300, 800):
            inbox.close()
            inbox = Inbox(inbox_path)
    assert len(outbox) == 0
    stored = inbox.query(limit=10_000)
    assert len(stored) == 500 == len(inbox)
    assert {r.event.uuid for r in stored} == {e.uuid for e in evs}
    assert all(r.event.count == 1 for r in stored)  # duplicate deliveries did not count twice
    assert results["new"] == 500 and results["duplicate"] == deliveries - 500 > 0
    inbox.close()
    outbox.close()


def test_two_processes_opening_a_new_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    """The fleet manager and a CLI command (or the demo's set-up) may open a new file at the
    same moment: each step runs once, neither fails with 'table already exists'."""
    import threading
    import time

    from dawnpatrol_core.store.database import connect

    def v1(conn: sqlite3.Connection) -> None:
        time.sleep(0.05)  # widen the window between reading the version and migrating
        conn.execute("CREATE TABLE t (x INTEGER)")

    for k in range(3):
        path = tmp_path / f"race{k}.db"
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def open_it(path: Path = path, errors: list[BaseException] = errors,
                    start: threading.Barrier = start) -> None:
            start.wait()
            try:
                connect(path, (v1,)).close()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        con = sqlite3.connect(path)
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        con.close()
