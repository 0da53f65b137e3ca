"""Data retention: events, tracks and recordings older than N days are removed (and gone from
the database file), everything younger stays, and the purge says what it removed."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dawnpatrol_core.anomaly.events import AnomalyEvent, Detection, EventManager, make_evidence
from dawnpatrol_core.compliance import PrivacyStatement, RecordingIndicator
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.store.audit_chain import AuditChain
from dawnpatrol_core.store.inbox import Inbox
from dawnpatrol_core.store.outbox import Outbox
from dawnpatrol_core.store.retention import (
    DAY_S,
    PURGE_COMMAND,
    purge_older_than,
    purge_summaries,
    retention_days,
)

NOW = 1_790_000_000.0  # Unix time
OLD, RECENT = NOW - 40 * DAY_S, NOW - 2 * DAY_S


def ev(t: float, desc: str = "") -> AnomalyEvent:
    m = EventManager("r1", np.random.default_rng(int(t) % 2**32))
    e = m.report(Detection("loitering", f"track:{t}", 1.0, 2.0, t, t - 5.0, zone="park",
                           evidence=make_evidence([[t, 1.0, 2.0]], [[1.0, 1.0]])), t)
    assert e is not None
    return replace(e, description=desc) if desc else e


def data_dir(root: Path) -> None:
    fleet = root / "data" / "fleet"
    fleet.mkdir(parents=True)
    with Inbox(fleet / "anomalies.db") as ib:
        ib.upsert(ev(OLD, "SECRET-OLD-EVENT"), OLD)
        ib.upsert(ev(RECENT), RECENT)
    robot = root / "data" / "r1"
    robot.mkdir(parents=True)
    with Outbox(robot / "outbox.db") as ob:
        ob.put(ev(OLD + 1), OLD + 1)
        ob.put(ev(RECENT + 1), RECENT + 1)
    for name, when in (("old/run.mcap", OLD), ("new/run.mcap", RECENT)):
        p = root / "reports" / name
        p.parent.mkdir(parents=True)
        p.write_bytes(b"\x89MCAP0\r\n" + b"x" * 100)
        os.utime(p, (when, when))


def test_purge_removes_only_what_is_older_and_reports_it(tmp_path: Path) -> None:
    data_dir(tmp_path)
    dry = purge_older_than([tmp_path], 30, NOW, dry_run=True)
    assert dry.totals() == {"events": 2, "tracks": 0, "recordings": 1} and dry.dry_run
    with Inbox(tmp_path / "data/fleet/anomalies.db") as ib:
        assert len(ib) == 2  # a dry run removes nothing
    rep = purge_older_than([tmp_path], 30, NOW)
    assert rep.totals() == {"events": 2, "tracks": 0, "recordings": 1}
    assert rep.cutoff_s == NOW - 30 * DAY_S and rep.sources_checked == 4
    by_source = {Path(i.source.split(":")[0]).name: i for i in rep.items}
    assert by_source["anomalies.db"].count == 1 and by_source["anomalies.db"].oldest_s == OLD
    assert by_source["run.mcap"].bytes == 108
    with Inbox(tmp_path / "data/fleet/anomalies.db") as ib:
        assert [r.event.last_seen for r in ib.query()] == [RECENT]
    with Outbox(tmp_path / "data/r1/outbox.db") as ob:
        assert len(ob) == 1
    assert not (tmp_path / "reports/old/run.mcap").exists()
    assert (tmp_path / "reports/new/run.mcap").exists()
    # secure delete: the purged event's text is gone from the file, not only unlinked
    raw = b"".join(p.read_bytes() for p in (tmp_path / "data/fleet").iterdir())
    assert b"SECRET-OLD-EVENT" not in raw
    assert purge_older_than([tmp_path], 30, NOW).totals() == {"events": 0, "tracks": 0,
                                                                "recordings": 0}


def test_a_simulated_clock_database_is_as_old_as_its_file(tmp_path: Path) -> None:
    db = tmp_path / "anomalies.db"
    with Inbox(db) as ib:
        ib.upsert(ev(7200.0), 7200.0)  # a sim shift clock: 02:00 in shift-day seconds
    os.utime(db, (RECENT, RECENT))
    assert purge_older_than([db], 30, NOW).totals()["events"] == 0
    os.utime(db, (OLD, OLD))
    assert purge_older_than([db], 30, NOW).totals()["events"] == 1


def test_purge_records_reach_the_compliance_statement(tmp_path: Path) -> None:
    data_dir(tmp_path)
    rep = purge_older_than([tmp_path], 30, NOW)
    with AuditChain(tmp_path / "audit.db") as chain:
        chain.append("park", PURGE_COMMAND, rep.to_record(), True, "purged", at=NOW)
        dry = purge_older_than([tmp_path], 1, NOW, dry_run=True)
        chain.append("park", PURGE_COMMAND, dry.to_record(), True, "dry run", at=NOW + 1)
        summaries = purge_summaries(chain.entries())
    assert len(summaries) == 1  # the dry run removed nothing and is not stated as a purge
    s = summaries[0]
    assert (s.operator, s.older_than_days, s.events, s.tracks, s.recordings) == (
        "park", 30.0, 2, 0, 1)
    st = PrivacyStatement(30.0, summaries, (RecordingIndicator("r1", False),
                                            RecordingIndicator("r2", None),
                                            RecordingIndicator("r3", True, True, NOW)))
    assert [i.state.split(" (")[0] for i in st.indicators] == ["not recording", "unknown",
                                                                 "RECORDING"]


def test_retention_days_validation() -> None:
    assert retention_days(30) == 30.0 and retention_days(0.5) == 0.5
    for bad in (0, -1, float("nan"), float("inf"), True, "30", None, 10**400, 4000):
        with pytest.raises(ConfigError, match="retention_days"):
            retention_days(bad)
    with pytest.raises(ConfigError):
        purge_older_than([], 0, NOW)
