"""Replay window: every command nonce seen per signing key until its envelope has expired,
kept in SQLite so that a restarted fleet or robot still refuses a capture from before."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

from dawnpatrol_core.store.database import Migration, connect, transaction

#: Seen nonces are kept this long past their envelope's expiry (s): covers the clock skew the
#: verifier tolerates, so an expired envelope is refused as expired, never accepted again.
KEEP_AFTER_EXPIRY_S = 60.0


class ReplayGuard(Protocol):
    """What the verifier needs: consume a nonce once."""

    def consume(self, key_id: str, nonce: bytes, expires_at: float, now: float) -> bool:
        """Record ``nonce`` of ``key_id`` (valid until ``expires_at`` s); False when it was seen
        before (a replay), True (and remembered) when new."""
        ...

    def seen(self, key_id: str, nonce: bytes) -> bool:
        """True when ``nonce`` of ``key_id`` was consumed and is still remembered."""
        ...


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE seen_nonces (
            key_id TEXT NOT NULL,
            nonce BLOB NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (key_id, nonce)
        ) WITHOUT ROWID"""
    )
    conn.execute("CREATE INDEX seen_nonces_expiry ON seen_nonces (expires_at)")


#: Schema steps; append to migrate, never edit a released step.
REPLAY_MIGRATIONS: tuple[Migration, ...] = (_v1,)


class ReplayWindow:
    """SQLite-backed :class:`ReplayGuard` (``":memory:"`` for tests). A consumed nonce is
    committed before :meth:`consume` returns, so a command acted on is never accepted twice,
    even across a crash. Nonces are forgotten ``KEEP_AFTER_EXPIRY_S`` after their expiry; a
    clock that jumps back only keeps them longer."""

    def __init__(self, path: str | Path,
                 migrations: tuple[Migration, ...] = REPLAY_MIGRATIONS) -> None:
        self.path = str(path)
        self._conn = connect(self.path, migrations)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ReplayWindow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def consume(self, key_id: str, nonce: bytes, expires_at: float, now: float) -> bool:
        """See :meth:`ReplayGuard.consume`. One transaction: prune, check, insert."""
        with transaction(self._conn) as c:
            c.execute("DELETE FROM seen_nonces WHERE expires_at < ?",
                      (now - KEEP_AFTER_EXPIRY_S,))
            cur = c.execute(
                "INSERT OR IGNORE INTO seen_nonces (key_id, nonce, expires_at) VALUES (?, ?, ?)",
                (key_id, nonce, expires_at))
            return cur.rowcount == 1

    def seen(self, key_id: str, nonce: bytes) -> bool:
        """See :meth:`ReplayGuard.seen`."""
        row = self._conn.execute(
            "SELECT 1 FROM seen_nonces WHERE key_id = ? AND nonce = ?", (key_id, nonce)
        ).fetchone()
        return row is not None

    def __len__(self) -> int:
        """Nonces remembered now."""
        return int(self._conn.execute("SELECT COUNT(*) FROM seen_nonces").fetchone()[0])
