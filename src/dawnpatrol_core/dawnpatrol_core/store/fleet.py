"""The fleet's persistent state: robots, orders, deliveries, patrol visits, incidents, the
operator audit log and the coordinator's missions and queues, in SQLite (WAL) behind one small
repository class (``":memory:"`` for tests and the headless shift).

Anomalies live in their own database (dawnpatrol_core.store.inbox), beside this one in the data
directory. Everything the fleet manager knows after a restart is rebuilt from these two files.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.fleet.plans import order_from_dict, order_to_dict
from dawnpatrol_core.fleet.records import OrderRecord, OrderState
from dawnpatrol_core.fleet.registry import RobotStatusReport
from dawnpatrol_core.store.database import Migration, connect, transaction


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
class RobotRecord:
    """A robot as last heard from: first and last status receipt (ROS time s), the status."""

    id: str
    first_seen: float
    last_seen: float
    status: RobotStatusReport


#: A new order of a batch: (order, state, robot id, reason, planned ETA shift-day s).
NewOrder = tuple[Order, OrderState, str | None, str, float | None]


class FleetRepository(Protocol):
    """What the fleet coordinator keeps across restarts (FleetStore is the SQLite one)."""

    def upsert_robot(self, robot_id: str, status: RobotStatusReport, now: float) -> None: ...
    def robots(self) -> list[RobotRecord]: ...
    def add_batch(self, source: str, operator: str, plan: dict[str, Any],
                  orders: Iterable[NewOrder], now: float) -> int: ...
    def set_order_state(self, order_id: str, state: OrderState, now: float,
                        robot_id: str | None = None, reason: str = "") -> None: ...
    def orders(self, state: OrderState | None = None) -> list[OrderRecord]: ...
    def record_delivery(self, order_id: str, robot_id: str, at: float, x: float, y: float,
                        method: str) -> None: ...
    def record_visit(self, robot_id: str, hotspot_id: str, arrived: float,
                     left: float | None) -> None: ...
    def record_incident(self, robot_id: str, kind: str, detail: str, at: float) -> None: ...
    def set_setting(self, key: str, value: str) -> None: ...
    def setting(self, key: str, default: str = "") -> str: ...


class FleetStore:
    """Repository over ``fleet.db``. Not thread-safe: use it from one executor thread."""

    def __init__(self, path: str | Path) -> None:
        self._conn = connect(path, FLEET_MIGRATIONS)

    def close(self) -> None:
        self._conn.close()

    # -- robots ------------------------------------------------------------------------------
    def upsert_robot(self, robot_id: str, status: RobotStatusReport, now: float) -> None:
        with transaction(self._conn) as c:
            c.execute(
                "INSERT INTO robots (id, first_seen, last_seen, status_json) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET last_seen=excluded.last_seen, "
                "status_json=excluded.status_json",
                (robot_id, now, now, json.dumps(status.to_dict())),
            )

    def robots(self) -> list[RobotRecord]:
        rows = self._conn.execute(
            "SELECT id, first_seen, last_seen, status_json FROM robots ORDER BY id"
        ).fetchall()
        return [RobotRecord(r[0], r[1], r[2], RobotStatusReport.from_dict(r[0], json.loads(r[3])))
                for r in rows]

    # -- orders ------------------------------------------------------------------------------
    def add_batch(
        self,
        source: str,
        operator: str,
        plan: dict[str, Any],
        orders: Iterable[NewOrder],
        now: float,
    ) -> int:
        """Store a planned batch atomically: its plan (JSON form) and (order, state, robot,
        reason, eta) rows."""
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
                    (o.id, batch, json.dumps(order_to_dict(o)), OrderState(st).value, rid, rs,
                     eta, now)
                    for o, st, rid, rs, eta in orders
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

    def set_order_state(
        self, order_id: str, state: OrderState, now: float, robot_id: str | None = None,
        reason: str = ""
    ) -> None:
        """Move an order to ``state`` (ValueError for a state that is none); ``robot_id`` None
        keeps the order's robot."""
        with transaction(self._conn) as c:
            c.execute(
                "UPDATE orders SET state=?, robot_id=COALESCE(?, robot_id), reason=?, "
                "updated_at=? WHERE id=?",
                (OrderState(state).value, robot_id, reason, now, order_id),
            )

    def orders(self, state: OrderState | None = None) -> list[OrderRecord]:
        sql = (
            "SELECT id, batch_id, order_json, state, robot_id, reason, eta, updated_at FROM orders"
        )
        rows = (
            self._conn.execute(sql + " WHERE state=? ORDER BY id", (OrderState(state).value,))
            if state
            else self._conn.execute(sql + " ORDER BY id")
        ).fetchall()
        return [
            OrderRecord(r[0], r[1], order_from_dict(json.loads(r[2])), OrderState(r[3]), r[4], r[5],
                        r[6], r[7])
            for r in rows
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
        """Append track samples (t s, robot, x m, y m, speed m/s, source) in one transaction
        (none: no transaction)."""
        batch = list(rows)
        if batch:
            with transaction(self._conn) as c:
                c.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)", batch)

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
