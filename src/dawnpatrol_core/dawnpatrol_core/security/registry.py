"""The operator registry: who may command the fleet, with which key and role, and whose key
was revoked. A pure value (:class:`OperatorRegistry`) and its SQLite repository."""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from dawnpatrol_core.errors import SecurityError
from dawnpatrol_core.security.keys import PUBLIC_KEY_BYTES, key_id
from dawnpatrol_core.security.roles import Role, parse_role
from dawnpatrol_core.store.database import Migration, connect, transaction

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: The name the fleet's own key carries in a robot's registry.
FLEET_NAME = "fleet"


def check_name(name: object, source: str = "operator") -> str:
    """``name`` if it is a valid operator or robot name (1-64 of ``A-Z a-z 0-9 . _ -``, not
    starting with a punctuation mark); SecurityError otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SecurityError(
            f"{source}: got {str(name)[:40]!r}, expected 1-64 letters, digits, '.', '_' or '-'")
    return name


@dataclass(frozen=True, slots=True)
class Operator:
    """A registered key: ``name``, ``role``, raw Ed25519 ``public_key`` (32 bytes), when it was
    added (s) and by whom, and when it was revoked (None while active)."""

    name: str
    role: Role
    public_key: bytes
    added_at: float
    added_by: str = ""
    revoked_at: float | None = None
    revoked_by: str = ""

    @property
    def key_id(self) -> str:
        """Short fingerprint of the public key (16 hex digits)."""
        return key_id(self.public_key)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class OperatorRegistry:
    """An immutable set of operators by name (at most one entry per name)."""

    operators: tuple[Operator, ...] = ()

    def __post_init__(self) -> None:
        names = [o.name for o in self.operators]
        if len(set(names)) != len(names):
            raise SecurityError(f"operator registry: field 'name': got duplicates in {names!r}")

    def get(self, name: str) -> Operator | None:
        """The entry named ``name`` (active or revoked), or None."""
        for o in self.operators:
            if o.name == name:
                return o
        return None

    def __iter__(self) -> Iterator[Operator]:
        return iter(self.operators)

    def __len__(self) -> int:
        return len(self.operators)

    def with_added(self, op: Operator) -> OperatorRegistry:
        """A registry with ``op`` added; a revoked entry of that name is replaced, an active one
        is an error (revoke it first, so a key change is always on record)."""
        check_name(op.name)
        if len(op.public_key) != PUBLIC_KEY_BYTES:
            raise SecurityError(f"operator {op.name}: field 'public_key': got "
                                f"{len(op.public_key)} bytes, expected {PUBLIC_KEY_BYTES}")
        old = self.get(op.name)
        if old is not None and old.active:
            raise SecurityError(f"operator {op.name}: already registered as {old.role.label} "
                                f"(key {old.key_id}); revoke it first")
        for o in self.operators:
            if o.active and o.public_key == op.public_key:
                raise SecurityError(f"operator {op.name}: key {op.key_id} is already "
                                    f"registered to {o.name}")
        rest = tuple(o for o in self.operators if o.name != op.name)
        return OperatorRegistry((*rest, op))

    def with_revoked(self, name: str, at: float, by: str = "") -> OperatorRegistry:
        """A registry where ``name``'s key is revoked at ``at`` (s)."""
        old = self.get(name)
        if old is None:
            raise SecurityError(f"operator {name[:64]!r}: not registered")
        if not old.active:
            raise SecurityError(f"operator {name}: already revoked")
        ops = tuple(replace(o, revoked_at=at, revoked_by=by) if o.name == name else o
                    for o in self.operators)
        return OperatorRegistry(ops)


def fleet_registry(fleet_public_key: bytes, added_at: float = 0.0) -> OperatorRegistry:
    """What a robot trusts: the fleet's public key alone, acting as admin."""
    return OperatorRegistry((Operator(FLEET_NAME, Role.ADMIN, fleet_public_key, added_at),))


# -- repository -----------------------------------------------------------------------------------
def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE operators (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            public_key BLOB NOT NULL,
            added_at REAL NOT NULL,
            added_by TEXT NOT NULL,
            revoked_at REAL,
            revoked_by TEXT NOT NULL DEFAULT ''
        )"""
    )


#: Schema steps of the registry table; append to migrate, never edit a released step.
REGISTRY_MIGRATIONS: tuple[Migration, ...] = (_v1,)


class RegistryStore:
    """The registry in SQLite. Each change is one transaction: it is applied whole or not."""

    def __init__(self, path: str | Path,
                 migrations: tuple[Migration, ...] = REGISTRY_MIGRATIONS) -> None:
        self.path = str(path)
        self._conn = connect(self.path, migrations)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RegistryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self) -> OperatorRegistry:
        """The registry as stored now."""
        rows = self._conn.execute(
            "SELECT name, role, public_key, added_at, added_by, revoked_at, revoked_by "
            "FROM operators ORDER BY name").fetchall()
        return OperatorRegistry(tuple(_row_operator(r, self.path) for r in rows))

    def add(self, name: str, role: Role, public_key: bytes, at: float, by: str = "") -> Operator:
        """Register ``name`` with ``public_key`` and ``role`` at ``at`` (s); see
        :meth:`OperatorRegistry.with_added` for what is refused."""
        if not math.isfinite(at):
            raise SecurityError(f"{self.path}: field 'added_at': got {at!r}, expected a time")
        op = Operator(check_name(name), role, bytes(public_key), at, by)
        with transaction(self._conn):
            self.load().with_added(op)  # validates against the current entries
            self._conn.execute(
                "INSERT OR REPLACE INTO operators (name, role, public_key, added_at, added_by, "
                "revoked_at, revoked_by) VALUES (?, ?, ?, ?, ?, NULL, '')",
                (op.name, op.role.label, op.public_key, at, by))
        return op

    def revoke(self, name: str, at: float, by: str = "") -> Operator:
        """Revoke ``name``'s key at ``at`` (s); returns the revoked entry."""
        with transaction(self._conn):
            reg = self.load().with_revoked(name, at, by)
            self._conn.execute(
                "UPDATE operators SET revoked_at = ?, revoked_by = ? WHERE name = ?",
                (at, by, name))
        op = reg.get(name)
        assert op is not None  # with_revoked raised otherwise
        return op

    def replace_all(self, operators: Iterable[Operator]) -> None:
        """Replace the whole registry in one transaction (e.g. restoring a backup)."""
        reg = OperatorRegistry(tuple(operators))
        with transaction(self._conn):
            self._conn.execute("DELETE FROM operators")
            self._conn.executemany(
                "INSERT INTO operators VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(o.name, o.role.label, o.public_key, o.added_at, o.added_by, o.revoked_at,
                  o.revoked_by) for o in reg])


def _row_operator(r: tuple[object, ...], source: str) -> Operator:
    name, role, pub, added_at, added_by, revoked_at, revoked_by = r
    if not isinstance(pub, bytes) or len(pub) != PUBLIC_KEY_BYTES:
        raise SecurityError(f"{source}: operator {name!r}: field 'public_key': corrupt")
    if not isinstance(added_at, float | int) or not (revoked_at is None
                                                      or isinstance(revoked_at, float | int)):
        raise SecurityError(f"{source}: operator {name!r}: field 'added_at': corrupt")
    return Operator(check_name(name, f"{source}: operator"), parse_role(role, f"{source}: role"),
                    pub, float(added_at), str(added_by),
                    None if revoked_at is None else float(revoked_at), str(revoked_by))
