"""Data retention: purge events, tracks and recordings older than N days from the fleet store,
the anomaly inbox, robot outboxes and report folders, and say exactly what was removed.

Row times are ROS time seconds. A database whose times are a simulated shift clock (below two
days) is dated by the file's last change instead: its rows are as old as the run.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.shift_clock import DAY_S, SIM_CLOCK_LIMIT_S
from dawnpatrol_core.store.audit_chain import AuditEntry

#: Longest retention a parameter may set, days (ten years).
MAX_RETENTION_DAYS = 3650.0
#: Audit command name of a purge record in the chained audit log.
PURGE_COMMAND = "data_purge"
CATEGORIES = ("events", "tracks", "recordings")


@dataclass(frozen=True, slots=True)
class TableRule:
    """Rows of ``table`` whose ``time_column`` (s) is older than the cutoff are purged;
    ``category``: events or tracks; ``what``: a plain-language name for reports."""

    table: str
    time_column: str
    category: str
    what: str


#: What is purged in each known database file (by file name). Orders, deliveries and the audit
#: log are kept: they are the shift's business and accountability record, not observations of
#: people. Evidence tracks of anomalies live inside the anomaly rows.
DATABASE_RULES: Mapping[str, tuple[TableRule, ...]] = MappingProxyType({
    "fleet.db": (
        TableRule("incidents", "at", "events", "incidents (e-stops, link losses, contacts)"),
        TableRule("patrol_visits", "arrived_at", "events", "patrol visits"),
        TableRule("samples", "t", "tracks", "robot position and speed tracks"),
    ),
    "anomalies.db": (
        TableRule("anomalies", "last_seen", "events", "anomaly events with evidence tracks"),
    ),
    "outbox.db": (
        TableRule("outbox", "created_at", "events", "anomaly events waiting on a robot"),
    ),
})
#: File suffixes of recordings (report folders' run.mcap).
RECORDING_SUFFIXES = (".mcap",)


def retention_days(value: object, source: str = "parameter 'retention_days'") -> float:
    """A retention period in days: a finite number in (0, 3650]; ConfigError otherwise."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        try:
            v = float(value)  # type: ignore[arg-type]
        except OverflowError:
            ok = False
        else:
            ok = math.isfinite(v) and 0.0 < v <= MAX_RETENTION_DAYS
    if not ok:
        raise ConfigError(f"{source}: got {str(value)[:40]!r}, expected a number of days in "
                          f"(0, {MAX_RETENTION_DAYS:g}]")
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PurgedItem:
    """What one source lost: ``count`` rows of a table (``source`` ``FILE:table``) or one
    recording file (``bytes`` its size); oldest/newest time removed (s) when known."""

    category: str
    source: str
    what: str
    count: int
    bytes: int = 0
    oldest_s: float | None = None
    newest_s: float | None = None


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """A purge: ``older_than_days`` before ``now`` (s, Unix time) = ``cutoff_s``; items with
    nothing removed are left out. ``dry_run``: counted, nothing removed."""

    older_than_days: float
    now: float
    cutoff_s: float
    dry_run: bool
    items: tuple[PurgedItem, ...]
    sources_checked: int

    def totals(self) -> dict[str, int]:
        """Rows or files removed per category (events, tracks, recordings)."""
        out = dict.fromkeys(CATEGORIES, 0)
        for it in self.items:
            out[it.category] += it.count
        return out

    def to_record(self) -> dict[str, Any]:
        """JSON-able summary for the audit log (:data:`PURGE_COMMAND` entries)."""
        return {
            "older_than_days": self.older_than_days, "cutoff_s": self.cutoff_s,
            "dry_run": self.dry_run, "totals": self.totals(),
            "items": [{"category": i.category, "source": i.source, "count": i.count,
                       "bytes": i.bytes} for i in self.items],
        }


def find_sources(roots: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(known database files, recording files) under ``roots`` (files or folders, searched
    recursively, symbolic links not followed)."""
    dbs: set[Path] = set()
    recs: set[Path] = set()

    def visit(p: Path) -> None:
        if p.name in DATABASE_RULES:
            dbs.add(p)
        elif p.suffix in RECORDING_SUFFIXES:
            recs.add(p)

    for root in roots:
        r = Path(root).expanduser()
        if r.is_file():
            visit(r)
            continue
        for dirpath, _dirs, files in os.walk(r, followlinks=False):
            for f in files:
                p = Path(dirpath) / f
                if p.is_file() and not p.is_symlink():
                    visit(p)
    return sorted(dbs), sorted(recs)


def purge_older_than(roots: Sequence[str | Path], older_than_days: float, now: float,
                     dry_run: bool = False) -> PurgeReport:
    """Remove events, tracks and recordings older than ``older_than_days`` before ``now``
    (s, Unix time) from every known database and recording under ``roots``. Each database is
    purged in one transaction with SQLite's secure delete (freed pages are zeroed) and its
    write-ahead log truncated, so the removed data is gone from the file, not only hidden."""
    days = retention_days(older_than_days, "older_than_days")
    if not math.isfinite(now):
        raise ConfigError(f"now: got {now!r}, expected a Unix time in seconds")
    cutoff = now - days * DAY_S
    dbs, recs = find_sources(roots)
    items: list[PurgedItem] = []
    for db in dbs:
        items.extend(_purge_database(db, DATABASE_RULES[db.name], cutoff, dry_run))
    for rec in recs:
        st = rec.stat()
        if st.st_mtime < cutoff:
            if not dry_run:
                rec.unlink()
            items.append(PurgedItem("recordings", str(rec), "recording", 1, st.st_size,
                                    st.st_mtime, st.st_mtime))
    return PurgeReport(days, now, cutoff, dry_run, tuple(items), len(dbs) + len(recs))


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}


def _purge_database(path: Path, rules: Sequence[TableRule], cutoff: float,
                    dry_run: bool) -> list[PurgedItem]:
    file_old = path.stat().st_mtime < cutoff
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None)
    out: list[PurgedItem] = []
    try:
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for rule in rules:
                if rule.time_column not in _columns(conn, rule.table):
                    continue  # an older schema without this table: nothing of it to purge
                where = (f"({rule.time_column} >= ? AND {rule.time_column} < ?) OR "
                         f"({rule.time_column} < ? AND ?)")
                args = (SIM_CLOCK_LIMIT_S, cutoff, SIM_CLOCK_LIMIT_S, int(file_old))
                n, lo, hi = conn.execute(
                    f"SELECT COUNT(*), MIN({rule.time_column}), MAX({rule.time_column}) "
                    f"FROM {rule.table} WHERE {where}", args).fetchone()
                if n and not dry_run:
                    conn.execute(f"DELETE FROM {rule.table} WHERE {where}", args)
                if n:
                    out.append(PurgedItem(rule.category, f"{path}:{rule.table}", rule.what,
                                          int(n), 0, _opt(lo), _opt(hi)))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if out and not dry_run:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return out


def _opt(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) else None


@dataclass(frozen=True, slots=True)
class PurgeSummary:
    """A purge as the compliance report states it: when (s), by whom, the period, and how many
    events, tracks (rows) and recordings (files) were removed."""

    at: float
    operator: str
    older_than_days: float
    events: int
    tracks: int
    recordings: int


def purge_summaries(entries: Iterable[AuditEntry]) -> tuple[PurgeSummary, ...]:
    """The purges recorded in audit entries (:data:`PURGE_COMMAND`, carried out, not dry)."""
    out = []
    for e in entries:
        if e.command != PURGE_COMMAND or not e.ok:
            continue
        a = e.args
        if not isinstance(a, dict) or a.get("dry_run") or not isinstance(a.get("totals"), dict):
            continue
        t = a["totals"]
        n = [v if isinstance(v := t.get(c, 0), int) else 0 for c in CATEGORIES]
        days = a.get("older_than_days")
        out.append(PurgeSummary(e.at, e.operator,
                                float(days) if isinstance(days, int | float) else math.nan,
                                n[0], n[1], n[2]))
    return tuple(out)
