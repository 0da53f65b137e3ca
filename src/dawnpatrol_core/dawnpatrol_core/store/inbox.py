"""Fleet-side anomaly inbox: idempotent on the event uuid, keeps the newest revision of each
event, and records operator acknowledgements (who, when, note)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from dawnpatrol_core.anomaly.events import (
    MAX_DESCRIPTION_LEN,
    AnomalyEvent,
    event_from_dict,
    event_to_dict,
    validate_event,
)
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


#: Schema steps; append a function to migrate (never edit a released one).
INBOX_MIGRATIONS: tuple[Migration, ...] = (_v1,)


class InboxResult(StrEnum):
    """What :meth:`Inbox.upsert` did: a NEW event, an UPDATE to a newer revision, or nothing
    (DUPLICATE of a revision already stored). All three are acknowledged to the robot."""

    NEW = "new"
    UPDATED = "updated"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class InboxRecord:
    """A stored event with its reception time and acknowledgement (None when unacked)."""

    event: AnomalyEvent
    received_at: float
    updated_at: float
    acked_at: float | None
    acked_by: str | None
    ack_note: str | None


class Inbox:
    """The inbox repository. Owns one connection: use from one thread, or one Inbox per thread
    on the same file (WAL readers do not block the writer; ``BEGIN IMMEDIATE`` serializes
    writers). Every write is committed before the call returns, so an ack sent afterwards is
    never for an event a crash could lose."""

    def __init__(
        self, path: str | Path, migrations: tuple[Migration, ...] = INBOX_MIGRATIONS
    ) -> None:
        self.path = str(path)
        self._conn = connect(self.path, migrations)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert(self, event: AnomalyEvent, now: float) -> InboxResult:
        """Store ``event`` received at ``now`` (s); idempotent on uuid, newest revision wins.

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
                c.execute(
                    f"INSERT INTO anomalies ({', '.join(_COLUMNS)}, evidence, received_at, "
                    f"updated_at) VALUES ({', '.join('?' * (len(_COLUMNS) + 3))})",
                    (*values, evidence, now, now),
                )
                return InboxResult.NEW
            if event.revision <= int(row[0]):
                return InboxResult.DUPLICATE
            sets = ", ".join(f"{col} = ?" for col in _COLUMNS[1:])
            c.execute(
                f"UPDATE anomalies SET {sets}, evidence = ?, updated_at = ? WHERE uuid = ?",
                (*values[1:], evidence, now, event.uuid),
            )
            return InboxResult.UPDATED

    def ack(self, uuid: str, by: str, note: str, now: float) -> bool:
        """Operator ``by`` acknowledges ``uuid`` at ``now`` (s) with ``note``; False when the
        uuid is unknown. A repeated ack keeps the first one."""
        for name, text, limit in (("by", by, 64), ("note", note, MAX_DESCRIPTION_LEN)):
            if len(text) > limit or not text.isprintable() or (name == "by" and not text):
                raise AnomalyError(
                    f"{self.path}:ack: field '{name}': got {text[:60]!r}, expected printable "
                    f"text of at most {limit} characters"
                )
        with transaction(self._conn) as c:
            exists = c.execute("SELECT 1 FROM anomalies WHERE uuid = ?", (uuid,)).fetchone()
            if exists is None:
                return False
            c.execute(
                """UPDATE anomalies SET acked_at = ?, acked_by = ?, ack_note = ?
                   WHERE uuid = ? AND acked_at IS NULL""",
                (now, by, note, uuid),
            )
            return True

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
        cols = ", ".join(_COLUMNS)
        cur = self._conn.execute(
            f"SELECT {cols}, evidence, received_at, updated_at, acked_at, acked_by, ack_note "
            f"FROM anomalies {tail}",
            args,
        )
        out = []
        n = len(_COLUMNS)
        for row in cur.fetchall():
            d: dict[str, Any] = dict(zip(_COLUMNS, row[:n], strict=True))
            d["evidence"] = json.loads(row[n])
            out.append(
                InboxRecord(
                    event=event_from_dict(d, f"{self.path}:{d['uuid']}"),
                    received_at=float(row[n + 1]),
                    updated_at=float(row[n + 2]),
                    acked_at=None if row[n + 3] is None else float(row[n + 3]),
                    acked_by=row[n + 4],
                    ack_note=row[n + 5],
                )
            )
        return out
