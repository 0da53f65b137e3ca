"""Robot-side anomaly outbox: every event is committed to SQLite before it is sent, and resent
with exponential backoff until the fleet acknowledges it (survives link loss and restarts)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dawnpatrol_core.anomaly.events import AnomalyEvent, event_from_json, event_to_json
from dawnpatrol_core.store.database import Migration, connect, transaction


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE outbox (
            uuid TEXT PRIMARY KEY,
            revision INTEGER NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX outbox_due ON outbox (next_attempt_at, created_at)")


#: Schema steps; append a function to migrate (never edit a released one).
OUTBOX_MIGRATIONS: tuple[Migration, ...] = (_v1,)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An event due for (re)sending and how many times it was sent already."""

    event: AnomalyEvent
    attempts: int


@dataclass(frozen=True, slots=True)
class Backoff:
    """Resend delay after attempt k (1-based): ``min(base * factor**(k-1), cap)`` seconds."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 30.0

    def delay(self, attempts: int) -> float:
        return float(min(self.base * self.factor ** max(attempts - 1, 0), self.cap))


class Outbox:
    """The outbox repository. Owns one connection; use from one thread (sqlite3 connections
    are not shared across threads here), or open one Outbox per thread on the same file —
    WAL lets them coexist and ``BEGIN IMMEDIATE`` serializes the writers."""

    def __init__(
        self,
        path: str | Path,
        backoff: Backoff | None = None,
        migrations: tuple[Migration, ...] = OUTBOX_MIGRATIONS,
    ) -> None:
        self.path = str(path)
        self.backoff = backoff or Backoff()
        self._conn = connect(self.path, migrations)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, event: AnomalyEvent, now: float) -> None:
        """Persist ``event`` (committed on return) and make it due at ``now`` (s).

        A newer revision of a stored uuid replaces it and is due again; an older or equal
        revision is ignored (so replays cannot roll an event back)."""
        with transaction(self._conn) as c:
            c.execute(
                """INSERT INTO outbox (uuid, revision, kind, payload, created_at, attempts,
                                       next_attempt_at)
                   VALUES (?, ?, ?, ?, ?, 0, ?)
                   ON CONFLICT (uuid) DO UPDATE SET
                       revision = excluded.revision, payload = excluded.payload,
                       attempts = 0, next_attempt_at = excluded.next_attempt_at
                   WHERE excluded.revision > outbox.revision""",
                (event.uuid, event.revision, event.kind, event_to_json(event), now, now),
            )

    def pending(self, now: float, limit: int = 100) -> list[OutboxItem]:
        """Events due at ``now`` (s), oldest due first, at most ``limit``."""
        rows = self._conn.execute(
            """SELECT payload, attempts FROM outbox WHERE next_attempt_at <= ?
               ORDER BY next_attempt_at, created_at LIMIT ?""",
            (now, limit),
        ).fetchall()
        return [OutboxItem(event_from_json(p, f"{self.path}:outbox"), int(a)) for p, a in rows]

    def mark_sent(self, uuids: list[str], now: float) -> None:
        """Record one more send attempt of each uuid at ``now`` (s) and schedule the next one
        after the backoff delay (the ack normally arrives first and removes the row)."""
        if not uuids:
            return
        with transaction(self._conn) as c:
            for u in uuids:
                row = c.execute("SELECT attempts FROM outbox WHERE uuid = ?", (u,)).fetchone()
                if row is None:
                    continue
                k = int(row[0]) + 1
                c.execute(
                    "UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE uuid = ?",
                    (k, now + self.backoff.delay(k), u),
                )

    def ack(self, uuid: str, revision: int | None = None) -> bool:
        """The fleet stored ``uuid`` (at ``revision``; None = any). Removes the row unless a
        newer revision is waiting; returns True when a row was removed."""
        with transaction(self._conn) as c:
            if revision is None:
                cur = c.execute("DELETE FROM outbox WHERE uuid = ?", (uuid,))
            else:
                cur = c.execute(
                    "DELETE FROM outbox WHERE uuid = ? AND revision <= ?", (uuid, revision)
                )
            return cur.rowcount > 0

    def ack_many(self, acks: list[tuple[str, int]]) -> int:
        """Apply several (uuid, revision) acks in one transaction; return rows removed."""
        if not acks:
            return 0
        with transaction(self._conn) as c:
            before = c.total_changes
            c.executemany("DELETE FROM outbox WHERE uuid = ? AND revision <= ?", acks)
            return c.total_changes - before

    def __len__(self) -> int:
        """Number of events not yet acknowledged."""
        return int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
