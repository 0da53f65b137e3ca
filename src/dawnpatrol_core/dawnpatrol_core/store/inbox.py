"""Fleet-side anomaly inbox: idempotent on the event uuid, keeps the newest revision of each
event, merges the events of one incident (whichever robot saw it, however often) and records
operator acknowledgements (who, when, note) per incident."""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from dawnpatrol_core.anomaly.events import (
    MAX_COUNT,
    MAX_DESCRIPTION_LEN,
    AnomalyEvent,
    event_from_dict,
    event_to_dict,
    validate_event,
)
from dawnpatrol_core.anomaly.incidents import IncidentPolicy
from dawnpatrol_core.errors import AnomalyError
from dawnpatrol_core.store.database import Migration, connect, transaction

_COLUMNS = (
    "uuid", "robot_id", "kind", "severity", "confidence", "x", "y", "lat", "lon", "zone",
    "first_seen", "last_seen", "count", "description", "revision",
)


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE anomalies (
            uuid TEXT PRIMARY KEY,
            robot_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            confidence REAL NOT NULL,
            x REAL NOT NULL,
            y REAL NOT NULL,
            lat REAL,
            lon REAL,
            zone TEXT NOT NULL,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            count INTEGER NOT NULL,
            description TEXT NOT NULL,
            revision INTEGER NOT NULL,
            evidence TEXT NOT NULL,
            received_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            acked_at REAL,
            acked_by TEXT,
            ack_note TEXT
        )"""
    )
    conn.execute("CREATE INDEX anomalies_last_seen ON anomalies (last_seen)")
    conn.execute("CREATE INDEX anomalies_kind ON anomalies (kind, last_seen)")


def _v2(conn: sqlite3.Connection) -> None:
    # incident: the uuid of the first event of the incident this event belongs to
    conn.execute("ALTER TABLE anomalies ADD COLUMN incident TEXT")
    conn.execute("UPDATE anomalies SET incident = uuid")
    conn.execute("CREATE INDEX anomalies_incident ON anomalies (incident)")


#: Schema steps; append a function to migrate (never edit a released one).
INBOX_MIGRATIONS: tuple[Migration, ...] = (_v1, _v2)


class InboxResult(StrEnum):
    """What :meth:`Inbox.upsert` did: a NEW event of a new incident, a new event MERGED into
    an incident already known, an UPDATE to a newer revision, or nothing (DUPLICATE of a
    revision already stored). All four are acknowledged to the robot."""

    NEW = "new"
    MERGED = "merged"
    UPDATED = "updated"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class InboxRecord:
    """A stored event, or an incident (:meth:`Inbox.incidents`), with its reception time and
    acknowledgement (None when unacked). For an incident ``robots`` are the robots that
    reported it and ``events`` how many events it merges."""

    event: AnomalyEvent
    received_at: float
    updated_at: float
    acked_at: float | None
    acked_by: str | None
    ack_note: str | None
    robots: tuple[str, ...] = ()
    events: int = 1


class Inbox:
    """The inbox repository. Owns one connection: use from one thread, or one Inbox per thread
    on the same file (WAL readers do not block the writer; ``BEGIN IMMEDIATE`` serializes
    writers). Every write is committed before the call returns, so an ack sent afterwards is
    never for an event a crash could lose."""

    def __init__(
        self,
        path: str | Path,
        migrations: tuple[Migration, ...] = INBOX_MIGRATIONS,
        policy: IncidentPolicy | None = None,
    ) -> None:
        self.path = str(path)
        self.policy = policy or IncidentPolicy()
        self._conn = connect(self.path, migrations)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert(self, event: AnomalyEvent, now: float) -> InboxResult:
        """Store ``event`` received at ``now`` (s); idempotent on uuid, newest revision wins. A
        new uuid joins the incident it continues (same kind and place within the policy's gap,
        whichever robot sent it; an acknowledged incident stays acknowledged) or opens one.

        Raises AnomalyError (one line) for an invalid event; nothing is stored then."""
        err = validate_event(event, f"{self.path}:upsert")
        if err is not None:
            raise AnomalyError(err)
        d = event_to_dict(event)
        values = [d[c] for c in _COLUMNS]
        evidence = json.dumps(d["evidence"], separators=(",", ":"))
        with transaction(self._conn) as c:
            row = c.execute(
                "SELECT revision FROM anomalies WHERE uuid = ?", (event.uuid,)
            ).fetchone()
            if row is None:
                incident = self._incident_of(c, event)
                ack: tuple[object, ...] = (None, None, None)
                if incident is not None:
                    ack = c.execute(
                        """SELECT acked_at, acked_by, ack_note FROM anomalies WHERE incident = ?
                           AND acked_at IS NOT NULL ORDER BY acked_at LIMIT 1""", (incident,)
                    ).fetchone() or ack
                c.execute(
                    f"INSERT INTO anomalies ({', '.join(_COLUMNS)}, evidence, received_at, "
                    "updated_at, incident, acked_at, acked_by, ack_note) "
                    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 7))})",
                    (*values, evidence, now, now, incident or event.uuid, *ack),
                )
                return InboxResult.NEW if incident is None else InboxResult.MERGED
            if event.revision <= int(row[0]):
                return InboxResult.DUPLICATE
            sets = ", ".join(f"{col} = ?" for col in _COLUMNS[1:])
            c.execute(
                f"UPDATE anomalies SET {sets}, evidence = ?, updated_at = ? WHERE uuid = ?",
                (*values[1:], evidence, now, event.uuid),
            )
            return InboxResult.UPDATED

    def _incident_of(self, c: sqlite3.Connection, ev: AnomalyEvent) -> str | None:
        """The incident a new event continues (the nearest in place, then time), or None."""
        gap = self.policy.gap(ev.kind)
        rows = c.execute(
            """SELECT incident, robot_id, x, y, first_seen, last_seen FROM anomalies
               WHERE kind = ? AND zone = ? AND last_seen >= ? AND first_seen <= ?""",
            (ev.kind, ev.zone, ev.first_seen - gap, ev.last_seen + gap),
        ).fetchall()
        best: tuple[float, float, str] | None = None
        for inc, rid, x, y, first, last in rows:
            if self.policy.same(ev.kind, ev.robot_id, ev.zone, ev.x, ev.y, ev.first_seen,
                                ev.kind, rid, ev.zone, x, y, first, last, at=ev.last_seen):
                key = (math.hypot(ev.x - x, ev.y - y), -last, str(inc))
                best = key if best is None or key < best else best
        return None if best is None else best[2]

    def ack(self, uuid: str, by: str, note: str, now: float) -> bool:
        """Operator ``by`` acknowledges the incident of ``uuid`` (an incident's id or any of its
        events' uuids) at ``now`` (s) with ``note``; False when the uuid is unknown. A repeated
        ack keeps the first one."""
        for name, text, limit in (("by", by, 64), ("note", note, MAX_DESCRIPTION_LEN)):
            if len(text) > limit or not text.isprintable() or (name == "by" and not text):
                raise AnomalyError(
                    f"{self.path}:ack: field '{name}': got {text[:60]!r}, expected printable "
                    f"text of at most {limit} characters"
                )
        with transaction(self._conn) as c:
            row = c.execute("SELECT incident FROM anomalies WHERE uuid = ?", (uuid,)).fetchone()
            if row is None:
                return False
            c.execute(
                """UPDATE anomalies SET acked_at = ?, acked_by = ?, ack_note = ?
                   WHERE incident = ? AND acked_at IS NULL""",
                (now, by, note, row[0]),
            )
            return True

    def incident(self, uuid: str) -> InboxRecord | None:
        """The incident (see :meth:`incidents`) that event or incident ``uuid`` belongs to."""
        inc = self.incident_of(uuid)
        if inc is None:
            return None
        rows = self._select_rows("WHERE incident = ? ORDER BY last_seen", (inc,))
        return _merge(inc, [r for _, r in rows])

    def incidents(
        self,
        since: float | None = None,
        kind: str | None = None,
        unacked: bool = False,
        limit: int = 1000,
    ) -> list[InboxRecord]:
        """One record per incident: the ``event`` is its latest event's, under the incident's
        id (its first event's uuid), with the incident's first/last seen, summed count, highest
        severity and confidence, the reporting robots named in the description when several;
        ``robots`` and ``events`` say who and how many. Filters as :meth:`query` (``since`` on
        the incident's last sighting); newest first, at most ``limit``."""
        where, args = ("WHERE kind = ?", [kind]) if kind is not None else ("", [])
        groups: dict[str, list[InboxRecord]] = {}
        for inc, rec in self._select_rows(f"{where} ORDER BY last_seen", tuple(args)):
            groups.setdefault(inc, []).append(rec)
        out = [_merge(inc, recs) for inc, recs in groups.items()]
        out = [r for r in out if (since is None or r.event.last_seen >= since)
               and not (unacked and r.acked_at is not None)]
        out.sort(key=lambda r: r.event.last_seen, reverse=True)
        return out[:limit]

    def incident_of(self, uuid: str) -> str | None:
        """The id of the incident event ``uuid`` belongs to, or None when unknown."""
        row = self._conn.execute("SELECT incident FROM anomalies WHERE uuid = ?",
                                 (uuid,)).fetchone()
        return None if row is None else str(row[0])

    def get(self, uuid: str) -> InboxRecord | None:
        """The stored record of ``uuid``, or None."""
        rows = self._select("WHERE uuid = ?", (uuid,))
        return rows[0] if rows else None

    def query(
        self,
        since: float | None = None,
        kind: str | None = None,
        unacked: bool = False,
        robot_id: str | None = None,
        limit: int = 1000,
    ) -> list[InboxRecord]:
        """Records with ``last_seen >= since`` (s), of ``kind``, from ``robot_id``, only unacked
        when asked; newest first, at most ``limit``."""
        where: list[str] = []
        args: list[object] = []
        if since is not None:
            where.append("last_seen >= ?")
            args.append(since)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if robot_id is not None:
            where.append("robot_id = ?")
            args.append(robot_id)
        if unacked:
            where.append("acked_at IS NULL")
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._select(f"{clause} ORDER BY last_seen DESC LIMIT ?", (*args, limit))

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM anomalies").fetchone()[0])

    def _select(self, tail: str, args: tuple[Any, ...]) -> list[InboxRecord]:
        return [rec for _, rec in self._select_rows(tail, args)]

    def _select_rows(self, tail: str, args: tuple[Any, ...]) -> list[tuple[str, InboxRecord]]:
        cols = ", ".join(_COLUMNS)
        cur = self._conn.execute(
            f"SELECT {cols}, evidence, received_at, updated_at, acked_at, acked_by, ack_note, "
            f"incident FROM anomalies {tail}",
            args,
        )
        out = []
        n = len(_COLUMNS)
        for row in cur.fetchall():
            d: dict[str, Any] = dict(zip(_COLUMNS, row[:n], strict=True))
            d["evidence"] = json.loads(row[n])
            out.append((str(row[n + 6]), InboxRecord(
                event=event_from_dict(d, f"{self.path}:{d['uuid']}"),
                received_at=float(row[n + 1]),
                updated_at=float(row[n + 2]),
                acked_at=None if row[n + 3] is None else float(row[n + 3]),
                acked_by=row[n + 4],
                ack_note=row[n + 5],
                robots=(str(d["robot_id"]),),
            )))
        return out


def _merge(incident: str, recs: list[InboxRecord]) -> InboxRecord:
    """One incident's events (oldest last sighting first) as one record."""
    evs = [r.event for r in recs]
    latest = evs[-1]
    robots = tuple(dict.fromkeys(e.robot_id for e in sorted(evs, key=lambda e: e.first_seen)))
    head = next((e for e in evs if e.uuid == incident), min(evs, key=lambda e: e.first_seen))
    desc = latest.description
    if len(robots) > 1:
        desc = f"{desc} (seen by {', '.join(robots)})"[:MAX_DESCRIPTION_LEN]
    event = replace(
        latest,
        uuid=incident,
        robot_id=head.robot_id,
        severity=max((e.severity for e in evs), key=lambda s: s.rank),
        confidence=max(e.confidence for e in evs),
        first_seen=min(e.first_seen for e in evs),
        last_seen=max(e.last_seen for e in evs),
        count=min(sum(e.count for e in evs), MAX_COUNT),
        description=desc,
        revision=min(sum(e.revision for e in evs) + len(evs) - 1, MAX_COUNT),
    )
    acked = [r for r in recs if r.acked_at is not None]
    first_ack = min(acked, key=lambda r: r.acked_at or 0.0) if acked else None
    return InboxRecord(
        event=event,
        received_at=min(r.received_at for r in recs),
        updated_at=max(r.updated_at for r in recs),
        acked_at=first_ack.acked_at if first_ack else None,
        acked_by=first_ack.acked_by if first_ack else None,
        ack_note=first_ack.ack_note if first_ack else None,
        robots=robots,
        events=len(recs),
    )
