"""The hash-chained audit log finds an edited, a deleted and a swapped entry and names it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dawnpatrol_core.errors import SecurityError
from dawnpatrol_core.security.keys import generate_private_key, public_bytes
from dawnpatrol_core.store.audit_chain import (
    GENESIS,
    AuditChain,
    ProblemKind,
    create_audit_chain_table,
    entry_hash,
)


def filled(path: Path, n: int = 6, signer=None) -> AuditChain:
    chain = AuditChain(path, signer=signer)
    for k in range(1, n + 1):
        chain.append(f"op{k}", "resume" if k % 2 else "dispatch_orders", {"robot_id": f"r{k}"},
                     k != 3, f"result {k}", at=1000.0 + k, identity=f"op{k} (supervisor)",
                     target=f"r{k}")
    return chain


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), isolation_level=None)


def kinds(v) -> list[tuple[int, ProblemKind]]:
    return [(p.seq, p.kind) for p in v.problems]


def test_an_intact_chain_verifies_and_links(tmp_path: Path) -> None:
    chain = filled(tmp_path / "audit.db")
    v = chain.verify()
    assert v.ok and v.entries == 6 and v.head_seq == 6
    es = chain.entries()
    assert es[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(es, es[1:], strict=False))
    assert [e.seq for e in es] == [1, 2, 3, 4, 5, 6]
    assert es[2].ok is False and es[0].args == {"robot_id": "r1"}
    assert chain.head() == (6, es[-1].hash)


def test_an_edited_entry_is_named(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    chain = filled(db)
    raw(db).execute("UPDATE audit_chain SET operator = 'mallory' WHERE seq = 4")
    v = chain.verify()
    assert kinds(v) == [(4, ProblemKind.CHANGED)]
    assert "entry 4" in v.problems[0].message and "edited" in v.problems[0].message


def test_an_edited_and_rehashed_entry_is_named_through_its_successor(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    chain = filled(db)
    e = chain.entries()[3]
    h = entry_hash(e.seq, e.at, "mallory", e.identity, e.command, e.target, e.args_json, e.ok,
                   e.result, e.prev_hash)
    raw(db).execute("UPDATE audit_chain SET operator = 'mallory', hash = ? WHERE seq = 4", (h,))
    v = chain.verify()
    assert kinds(v) == [(4, ProblemKind.CHANGED)]
    assert "re-hashed" in v.problems[0].message


def test_a_deleted_entry_is_named(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    chain = filled(db)
    raw(db).execute("DELETE FROM audit_chain WHERE seq = 3")
    v = chain.verify()
    assert kinds(v) == [(3, ProblemKind.MISSING)]
    assert v.problems[0].message == "entry 3: missing (removed between 2 and 4)"
    raw(db).execute("DELETE FROM audit_chain WHERE seq IN (1, 5)")
    assert kinds(chain.verify()) == [(1, ProblemKind.MISSING), (3, ProblemKind.MISSING),
                                     (5, ProblemKind.MISSING)]


def test_a_swapped_pair_is_named_both_ways(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    chain = filled(db)
    c = raw(db)
    cols = "seq, at, operator, identity, command, target, args_json, ok, result, prev_hash, " \
           "hash, signature"
    # whole rows exchanged: entry 4 now stored before entry 3
    r3 = c.execute(f"SELECT {cols} FROM audit_chain WHERE seq = 3").fetchone()
    r4 = c.execute(f"SELECT {cols} FROM audit_chain WHERE seq = 4").fetchone()
    sets = ", ".join(f"{k.strip()} = ?" for k in cols.split(","))
    c.execute(f"UPDATE audit_chain SET {sets} WHERE id = 3", r4)
    c.execute(f"UPDATE audit_chain SET {sets} WHERE id = 4", r3)
    v = chain.verify()
    assert kinds(v) == [(3, ProblemKind.REORDERED)]
    assert "entry 3: stored after entry 4" in v.problems[0].message
    # put back, then exchange only the contents (sequence numbers and hashes stay in place)
    c.execute(f"UPDATE audit_chain SET {sets} WHERE id = 3", r3)
    c.execute(f"UPDATE audit_chain SET {sets} WHERE id = 4", r4)
    assert chain.verify().ok
    payload = "at, operator, identity, command, target, args_json, ok, result"
    p3 = c.execute(f"SELECT {payload} FROM audit_chain WHERE seq = 3").fetchone()
    p4 = c.execute(f"SELECT {payload} FROM audit_chain WHERE seq = 4").fetchone()
    psets = ", ".join(f"{k.strip()} = ?" for k in payload.split(","))
    c.execute(f"UPDATE audit_chain SET {psets} WHERE seq = 3", p4)
    c.execute(f"UPDATE audit_chain SET {psets} WHERE seq = 4", p3)
    v = chain.verify()
    assert kinds(v) == [(3, ProblemKind.REORDERED)]
    assert v.problems[0].message == "entries 3 and 4: contents swapped"


def test_a_rewritten_chain_shows_with_the_fleet_key_and_a_cut_tail_with_the_head(
        tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    key = generate_private_key()
    chain = filled(db, signer=key)
    assert chain.verify(public_bytes(key)).ok
    head = chain.head()
    # someone without the key deletes entry 6 and rewrites entry 5 with a fresh hash
    c = raw(db)
    c.execute("DELETE FROM audit_chain WHERE seq = 6")
    e = chain.entries()[4]
    h = entry_hash(e.seq, e.at, "mallory", e.identity, e.command, e.target, e.args_json, e.ok,
                   e.result, e.prev_hash)
    c.execute("UPDATE audit_chain SET operator = 'mallory', hash = ? WHERE seq = 5", (h,))
    assert chain.verify().ok  # a hash chain alone cannot see this...
    v = chain.verify(public_bytes(key), expect_head=head)
    assert kinds(v) == [(5, ProblemKind.BAD_SIGNATURE), (6, ProblemKind.MISSING)]
    assert "missing at the end" in v.problems[1].message
    other = public_bytes(generate_private_key())
    assert all(p.kind is ProblemKind.BAD_SIGNATURE for p in chain.verify(other).problems)


def test_append_refuses_bad_values_and_writes_nothing(tmp_path: Path) -> None:
    chain = filled(tmp_path / "audit.db", n=2)
    for kwargs in ({"args": {"x": float("nan")}}, {"at": float("inf")},
                   {"result": "x" * 5000}):
        call = {"operator": "a", "command": "c", "args": {}, "ok": True, "result": "r",
                "at": 1.0, **kwargs}
        with pytest.raises(SecurityError):
            chain.append(**call)
    assert len(chain.entries()) == 2 and chain.verify().ok


def test_a_store_can_adopt_the_chain_on_its_own_connection() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    create_audit_chain_table(conn)
    chain = AuditChain(conn)
    chain.append("kim", "resume", {"robot_id": "r1"}, True, "resumed", at=5.0)
    chain.close()  # does not close a connection it was given
    assert conn.execute("SELECT COUNT(*) FROM audit_chain").fetchone()[0] == 1
    assert AuditChain(conn).verify().ok


def test_invalid_utf8_or_wrong_kinds_written_by_another_tool_are_named(tmp_path: Path) -> None:
    # Regression (fuzzing): sqlite3 raised OperationalError reading invalid UTF-8 text, and a
    # text 'ok' read as True hid the edit.
    db = tmp_path / "audit.db"
    chain = filled(db)
    c = raw(db)
    c.execute("UPDATE audit_chain SET ok = CAST(X'80ff' AS TEXT) WHERE seq = 2")
    c.execute("UPDATE audit_chain SET operator = CAST(X'6b696dff' AS TEXT) WHERE seq = 4")
    c.execute("UPDATE audit_chain SET ok = 'yes' WHERE seq = 5")
    v = chain.verify()
    assert kinds(v) == [(2, ProblemKind.CHANGED), (4, ProblemKind.CHANGED),
                        (5, ProblemKind.CHANGED)]
    assert "column ok" in v.problems[0].message and "column operator" in v.problems[1].message
    c.execute("UPDATE audit_chain SET seq = 'six' WHERE seq = 6")
    with pytest.raises(SecurityError, match="damaged"):
        chain.append("kim", "resume", {}, True, "ok", at=2000.0)
