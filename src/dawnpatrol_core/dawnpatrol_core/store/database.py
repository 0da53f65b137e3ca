"""SQLite connection setup shared by the repositories: WAL journal, durable commits, and a
schema versioned by ``PRAGMA user_version`` with ordered migration steps."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dawnpatrol_core.errors import ConfigError

#: One migration step: brings the schema from version i to i + 1 (inside a transaction).
Migration = Callable[[sqlite3.Connection], None]


def connect(path: str | Path, migrations: Sequence[Migration], busy_timeout_s: float = 5.0
            ) -> sqlite3.Connection:
    """Open ``path`` (``":memory:"`` allowed) in WAL mode with ``synchronous=FULL`` and bring
    its schema up to ``len(migrations)``.

    FULL rather than NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and
    both repositories promise durability the moment a call returns (the outbox before an event
    is sent, the inbox before an acknowledgement is sent). Write rates are tens per second at
    most, so the extra fsync per commit is affordable.
    The connection is in autocommit mode; writes use :func:`transaction`.
    """
    conn = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None)
    try:
        _set_wal(conn, busy_timeout_s)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn, migrations, str(path))
    except BaseException:
        conn.close()
        raise
    return conn


def _set_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    """Switch to WAL. SQLite answers 'database is locked' at once, without its busy handler,
    when another connection holds the new file's lock meanwhile (two processes opening a new
    database together): retry until the busy timeout."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], source: str) -> int:
    """Apply the steps after the stored ``user_version``, each in its own transaction; return
    the final version. A database newer than the code is refused (ConfigError)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(migrations):
        raise ConfigError(
            f"{source}: field 'user_version': got {version}, expected <= {len(migrations)} "
            "(database written by a newer DawnPatrol)"
        )
    while version < len(migrations):
        with transaction(conn):
            # Re-read under the write lock: another process opening the same file (the fleet
            # manager and a CLI command, say) may have migrated it since.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version < len(migrations):
                migrations[version](conn)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
    return len(migrations)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on any exception)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
