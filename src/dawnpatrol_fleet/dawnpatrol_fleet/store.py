"""The fleet manager's persistent state: robots, orders, deliveries, patrol visits, incidents
and the operator audit log, in SQLite (WAL) behind one small repository class.

Anomalies live in their own database (dawnpatrol_core.store.inbox), beside this one in the data
directory. Everything the fleet manager knows after a restart is rebuilt from these two files.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dawnpatrol_core.store.database import Migration, connect, transaction

ORDER_STATES = ("planned", "assigned", "delivered", "failed", "returned", "unserved")


def _script(conn: sqlite3.Connection, sql: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration's transaction.
    for stmt in sql.split(";"):
        if stmt.strip():
            conn.execute(stmt)


def _v1(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE robots (id TEXT PRIMARY KEY, first_seen REAL NOT NULL,
                             last_seen REAL NOT NULL, status_json TEXT NOT NULL);
        CREATE TABLE batches (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL,
                              created_at REAL NOT NULL, operator TEXT NOT NULL,
                              plan_json TEXT NOT NULL);
        CREATE TABLE orders (id TEXT PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES batches(id),
                             order_json TEXT NOT NULL, state TEXT NOT NULL, robot_id TEXT,
                             reason TEXT NOT NULL DEFAULT '', eta REAL, updated_at REAL NOT NULL);
        CREATE TABLE deliveries (order_id TEXT PRIMARY KEY, robot_id TEXT NOT NULL,
                                 at REAL NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
                                 method TEXT NOT NULL);
        CREATE TABLE patrol_visits (id INTEGER PRIMARY KEY AUTOINCREMENT, robot_id TEXT NOT NULL,
                                    hotspot_id TEXT NOT NULL, arrived_at REAL NOT NULL,
                                    left_at REAL);
        CREATE TABLE incidents (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
                                robot_id TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
                            operator TEXT NOT NULL, command TEXT NOT NULL, args_json TEXT NOT NULL,
                            ok INTEGER NOT NULL, result TEXT NOT NULL);
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )


def _v2(conn: sqlite3.Connection) -> None:
    # Pose/speed track of every robot for the compliance report (no other personal data).
    _script(
        conn,
        """
        CREATE TABLE samples (t REAL NOT NULL, robot_id TEXT NOT NULL, x REAL NOT NULL,
                              y REAL NOT NULL, speed REAL NOT NULL, source TEXT NOT NULL);
        CREATE INDEX samples_source ON samples (source, robot_id, t);
        """
    )


#: Schema steps; append to migrate, never edit a released step.
FLEET_MIGRATIONS: tuple[Migration, ...] = (_v1, _v2)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: str
    batch_id: int
    order: dict[str, Any]
    state: str
    robot_id: str | None
    reason: str
    eta: float | None
    updated_at: float


@dataclass(frozen=True, slots=True)
class RobotRecord:
    id: str
    first_seen: float
    last_seen: float
    status: dict[str, Any]


def connection_state(last_seen: float, now: float, stale_after: float, offline_after: float) -> str:
    """'online', 'stale' or 'offline' from the age of the last status (s)."""
    age = now - last_seen
    if age <= stale_after:
        return "online"
    return "stale" if age <= offline_after else "offline"


class FleetStore:
    """Repository over ``fleet.db``. Not thread-safe: use it from one executor thread."""

    def __init__(self, path: str | Path) -> None:
        self._conn = connect(path, FLEET_MIGRATIONS)

    def close(self) -> None:
        self._conn.close()

    # -- robots ------------------------------------------------------------------------------
    def upsert_robot(self, robot_id: str, status: dict[str, Any], now: float) -> None:
        with transaction(self._conn) as c:
            c.execute(
                "INSERT INTO robots (id, first_seen, last_seen, status_json) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET last_seen=excluded.last_seen, "
                "status_json=excluded.status_json",
                (robot_id, now, now, json.dumps(status)),
            )

    def robots(self) -> list[RobotRecord]:
        rows = self._conn.execute(
            "SELECT id, first_seen, last_seen, status_json FROM robots ORDER BY id"
        ).fetchall()
        return [RobotRecord(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    # -- orders ------------------------------------------------------------------------------
    def add_batch(
        self,
        source: str,
        operator: str,
        plan: dict[str, Any],
        orders: Iterable[tuple[str, dict[str, Any], str, str | None, str, float | None]],
        now: float,
    ) -> int:
        """Store a planned batch atomically: (order id, order, state, robot, reason, eta) rows."""
        with transaction(self._conn) as c:
            cur = c.execute(
                "INSERT INTO batches (source, created_at, operator, plan_json) VALUES (?, ?, ?, ?)",
                (source, now, operator, json.dumps(plan)),
            )
            batch = int(cur.lastrowid or 0)
            c.executemany(
                "INSERT INTO orders (id, batch_id, order_json, state, robot_id, reason, eta, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (oid, batch, json.dumps(o), st, rid, rs, eta, now)
                    for oid, o, st, rid, rs, eta in orders
                ],
            )
        return batch

    def batches(self) -> list[dict[str, Any]]:
        """Every stored batch: id, source, created_at, operator and its plan (plan_json dict)."""
        rows = self._conn.execute(
            "SELECT id, source, created_at, operator, plan_json FROM batches ORDER BY id"
        )
        return [
            {"id": r[0], "source": r[1], "created_at": r[2], "operator": r[3],
             "plan": json.loads(r[4])}
            for r in rows
        ]

    def known_order_ids(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT id FROM orders")}

    def set_order_state(
        self, order_id: str, state: str, now: float, robot_id: str | None = None, reason: str = ""
    ) -> None:
        if state not in ORDER_STATES:
            raise ValueError(f"order state {state!r}, expected one of {ORDER_STATES}")
        with transaction(self._conn) as c:
            c.execute(
                "UPDATE orders SET state=?, robot_id=COALESCE(?, robot_id), reason=?, "
                "updated_at=? WHERE id=?",
                (state, robot_id, reason, now, order_id),
            )

    def orders(self, state: str | None = None) -> list[OrderRecord]:
        sql = (
            "SELECT id, batch_id, order_json, state, robot_id, reason, eta, updated_at FROM orders"
        )
        rows = (
            self._conn.execute(sql + " WHERE state=? ORDER BY id", (state,))
            if state
            else self._conn.execute(sql + " ORDER BY id")
        ).fetchall()
        return [
            OrderRecord(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows
        ]

    def record_delivery(
        self, order_id: str, robot_id: str, at: float, x: float, y: float, method: str
    ) -> None:
        """Proof of delivery: order id, robot, time, position, method — no personal data."""
        with transaction(self._conn) as c:
            c.execute(
                "INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?)",
                (order_id, robot_id, at, x, y, method),
            )
            c.execute(
                "UPDATE orders SET state='delivered', updated_at=? WHERE id=?", (at, order_id)
            )

    def deliveries(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT order_id, robot_id, at, x, y, method FROM deliveries ORDER BY at"
        )
        return [
            dict(zip(("order_id", "robot_id", "at", "x", "y", "method"), r, strict=True))
            for r in rows
        ]

    # -- patrol, incidents, audit, settings ---------------------------------------------------
    def record_visit(
        self, robot_id: str, hotspot_id: str, arrived: float, left: float | None
    ) -> None:
        with transaction(self._conn) as c:
            c.execute(
                "INSERT INTO patrol_visits (robot_id, hotspot_id, arrived_at, left_at) "
                "VALUES (?, ?, ?, ?)",
                (robot_id, hotspot_id, arrived, left),
            )

    def visits(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT robot_id, hotspot_id, arrived_at, left_at FROM patrol_visits "
            "ORDER BY arrived_at"
        )
        return [
            dict(zip(("robot_id", "hotspot_id", "arrived_at", "left_at"), r, strict=True))
            for r in rows
        ]

    def record_incident(self, robot_id: str, kind: str, detail: str, at: float) -> None:
        with transaction(self._conn) as c:
            c.execute(
                "INSERT INTO incidents (at, robot_id, kind, detail) VALUES (?, ?, ?, ?)",
                (at, robot_id, kind, detail),
            )

    def incidents(self) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT at, robot_id, kind, detail FROM incidents ORDER BY at")
        return [dict(zip(("at", "robot_id", "kind", "detail"), r, strict=True)) for r in rows]

    def audit(
        self, operator: str, command: str, args: dict[str, Any], ok: bool, result: str, at: float
    ) -> None:
        """Record an operator command: who, when, what, and the outcome."""
        with transaction(self._conn) as c:
            c.execute(
                "INSERT INTO audit (at, operator, command, args_json, ok, result) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (at, operator, command, json.dumps(args, sort_keys=True), int(ok), result),
            )

    def audit_log(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT at, operator, command, args_json, ok, result FROM audit ORDER BY id"
        )
        return [
            {
                "at": r[0],
                "operator": r[1],
                "command": r[2],
                "args": json.loads(r[3]),
                "ok": bool(r[4]),
                "result": r[5],
            }
            for r in rows
        ]

    def add_samples(self, rows: Iterable[tuple[float, str, float, float, float, str]]) -> None:
        """Append track samples (t s, robot, x m, y m, speed m/s, source) in one transaction."""
        with transaction(self._conn) as c:
            c.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)", list(rows))

    def samples(self, source: str | None = None) -> list[tuple[float, str, float, float, float]]:
        """Track samples (t, robot, x, y, speed) of one source ('ground_truth', 'status') or all,
        sorted by robot and time."""
        sql = "SELECT t, robot_id, x, y, speed FROM samples"
        rows = (
            self._conn.execute(sql + " WHERE source=? ORDER BY robot_id, t", (source,))
            if source
            else self._conn.execute(sql + " ORDER BY robot_id, t")
        )
        return [(float(r[0]), str(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows]

    def sample_sources(self) -> list[str]:
        return [str(r[0]) for r in self._conn.execute("SELECT DISTINCT source FROM samples")]

    def set_setting(self, key: str, value: str) -> None:
        with transaction(self._conn) as c:
            c.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    def setting(self, key: str, default: str = "") -> str:
        row = self._conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else default
