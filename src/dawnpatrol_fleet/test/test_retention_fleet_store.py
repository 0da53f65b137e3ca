"""Retention over the fleet store's real schema: old incidents, patrol visits and tracks go;
orders, deliveries and the audit table stay."""

from __future__ import annotations

from pathlib import Path

from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.retention import DATABASE_RULES, DAY_S, purge_older_than

NOW = 1_790_000_000.0
OLD, RECENT = NOW - 100 * DAY_S, NOW - DAY_S


def test_rules_name_real_tables_and_columns(tmp_path: Path) -> None:
    s = FleetStore(tmp_path / "fleet.db")
    cols = {t: {r[1] for r in s._conn.execute(f"PRAGMA table_info({t})")}
            for (t,) in s._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    s.close()
    for rule in DATABASE_RULES["fleet.db"]:
        assert rule.time_column in cols[rule.table], rule


def test_purge_of_a_fleet_store(tmp_path: Path) -> None:
    db = tmp_path / "fleet.db"
    s = FleetStore(db)
    for t in (OLD, RECENT):
        s.record_incident("r1", "estop", "drill", t)
        s.record_visit("r1", "park", t, t + 60)
        s.add_samples([(t, "r1", 1.0, 2.0, 0.5, "status"), (t + 1, "r1", 1.5, 2.0, 0.5, "status")])
        s.record_delivery(f"O-{int(t)}", "r1", t, 3.0, 4.0, "pin")
        s.audit("kim", "resume", {"robot_id": "r1"}, True, "ok", t)
    s.close()
    rep = purge_older_than([tmp_path], 30, NOW)
    assert rep.totals() == {"events": 2, "tracks": 2, "recordings": 0}
    s = FleetStore(db)
    assert [i["at"] for i in s.incidents()] == [RECENT]
    assert [v["arrived_at"] for v in s.visits()] == [RECENT]
    assert [r[0] for r in s.samples()] == [RECENT, RECENT + 1]
    assert len(s.deliveries()) == 2 and len(s.audit_log()) == 2  # business records kept
    s.close()
