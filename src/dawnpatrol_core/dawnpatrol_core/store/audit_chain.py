"""Tamper-evident audit log: each entry carries the SHA-256 of the previous one (a hash chain
over a canonical encoding that includes a sequence number), optionally signed with the fleet's
key; :meth:`AuditChain.verify` names any entry that was changed, removed or moved."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dawnpatrol_core.errors import SecurityError
from dawnpatrol_core.security.keys import verify_signature
from dawnpatrol_core.store.database import Migration, connect, transaction

#: prev_hash of the first entry.
GENESIS = "0" * 64
_DOMAIN = b"DawnPatrol audit entry v1\x00"
_MAX_TEXT = 4096


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE audit_chain (
            id INTEGER PRIMARY KEY,
            seq INTEGER NOT NULL,
            at REAL NOT NULL,
            operator TEXT NOT NULL,
            identity TEXT NOT NULL,
            command TEXT NOT NULL,
            target TEXT NOT NULL,
            args_json TEXT NOT NULL,
            ok INTEGER NOT NULL,
            result TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            signature BLOB
        )"""
    )


#: Schema step creating the chain table; a store adopting the chain into its own database
#: appends :func:`create_audit_chain_table` to its migrations instead.
AUDIT_CHAIN_MIGRATIONS: tuple[Migration, ...] = (_v1,)
create_audit_chain_table: Migration = _v1


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry. ``at``: s (the caller's clock); ``operator``: the name the command
    carried; ``identity``: how far it was verified (e.g. ``choi (supervisor)`` or
    ``unverified 'x' (expired)``); ``args_json``: canonical JSON of the arguments;
    ``ok``: whether the command was carried out; ``result``: one line."""

    seq: int
    at: float
    operator: str
    identity: str
    command: str
    target: str
    args_json: str
    ok: bool
    result: str
    prev_hash: str
    hash: str
    signature: bytes | None = None
    #: Columns of the stored row with a value of the wrong kind ('' when none): tampering.
    malformed: str = ""

    @property
    def args(self) -> object:
        """The arguments as JSON values."""
        return json.loads(self.args_json)


def entry_hash(seq: int, at: float, operator: str, identity: str, command: str, target: str,
               args_json: str, ok: bool, result: str, prev_hash: str) -> str:
    """Hex SHA-256 of an entry's canonical encoding (a domain tag and the JSON array of its
    fields in this order; floats in Python's shortest round-trip form)."""
    body = json.dumps([seq, at, operator, identity, command, target, args_json, ok, result,
                       prev_hash], separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(_DOMAIN + body.encode("utf-8", errors="surrogatepass")).hexdigest()


def _canonical_json(args: Mapping[str, object]) -> str:
    try:
        return json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SecurityError(f"audit entry: field 'args': got {str(exc)[:60]}, expected JSON "
                            "values") from None


class ProblemKind(StrEnum):
    """What :meth:`AuditChain.verify` found wrong with an entry."""

    CHANGED = "changed"        # content no longer matches its hash, or re-hashed after a change
    MISSING = "missing"        # a sequence number is absent (removed entry)
    REORDERED = "reordered"    # entries stand out of sequence, or two swapped their contents
    DUPLICATE = "duplicate"    # a sequence number appears twice
    BAD_SIGNATURE = "bad_signature"  # signature absent or not the fleet key's


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """A finding: the sequence number it concerns, its kind and one line for people."""

    seq: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """Result of a verification: entries read, the head (last sequence number and hash in the
    chain, to note elsewhere and pass back as ``expect_head``), and the problems (none: intact)."""

    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditChain:
    """The chained log over an SQLite connection or file. Appends are serialized by
    ``BEGIN IMMEDIATE``, so several writers on one file still form one chain."""

    def __init__(self, path: str | Path | sqlite3.Connection,
                 signer: Ed25519PrivateKey | None = None,
                 migrations: tuple[Migration, ...] = AUDIT_CHAIN_MIGRATIONS) -> None:
        """Open the chain at ``path`` (its own file, with its own migrations), or use an open
        connection whose schema already has the table (a store adopting the chain).
        ``signer``: the fleet's key, to sign each entry's hash (None: unsigned chain)."""
        if isinstance(path, sqlite3.Connection):
            self.path, self._conn, self._owned = "<connection>", path, False
        else:
            self.path, self._conn, self._owned = str(path), connect(path, migrations), True
        self._signer = signer

    def close(self) -> None:
        if self._owned:
            self._conn.close()

    def __enter__(self) -> AuditChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, operator: str, command: str, args: Mapping[str, object], ok: bool,
               result: str, at: float, identity: str = "", target: str = "") -> AuditEntry:
        """Record a command (same arguments as ``FleetStore.audit`` plus the verified
        ``identity`` and the ``target``), chained to the last entry; committed on return."""
        if not math.isfinite(at):
            raise SecurityError(f"audit entry: field 'at': got {at!r}, expected a finite time")
        texts = {"operator": operator, "identity": identity, "command": command,
                 "target": target, "result": result}
        for name, text in texts.items():
            if not isinstance(text, str) or len(text) > _MAX_TEXT:
                raise SecurityError(f"audit entry: field '{name}': got {str(text)[:40]!r}, "
                                    f"expected text of at most {_MAX_TEXT} characters")
        args_json = _canonical_json(args)
        with transaction(self._conn) as c:
            row = c.execute("SELECT seq, hash FROM audit_chain ORDER BY id DESC LIMIT 1"
                            ).fetchone()
            if row is not None and (not isinstance(row[0], int) or not isinstance(row[1], str)):
                raise SecurityError(f"{self.path}: the last audit entry is damaged (run "
                                    "`dawnpatrol audit verify`); nothing appended")
            seq, prev = (1, GENESIS) if row is None else (int(row[0]) + 1, str(row[1]))
            h = entry_hash(seq, at, operator, identity, command, target, args_json, ok, result,
                           prev)
            sig = self._signer.sign(bytes.fromhex(h)) if self._signer is not None else None
            c.execute(
                "INSERT INTO audit_chain (seq, at, operator, identity, command, target, "
                "args_json, ok, result, prev_hash, hash, signature) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, at, operator, identity, command, target, args_json, int(ok), result, prev,
                 h, sig))
        return AuditEntry(seq, at, operator, identity, command, target, args_json, ok, result,
                          prev, h, sig)

    def entries(self, command: str | None = None) -> list[AuditEntry]:
        """Entries in stored order (of one ``command`` when given), as stored — unverified."""
        sql = ("SELECT seq, at, operator, identity, command, target, args_json, ok, result, "
               "prev_hash, hash, signature FROM audit_chain")
        # Text is read as bytes: a tampered file may hold invalid UTF-8 in any column, which
        # sqlite3 cannot return as str; it is decoded here and fails its hash like any change.
        factory = self._conn.text_factory
        self._conn.text_factory = bytes
        try:
            rows = (self._conn.execute(sql + " WHERE command = ? ORDER BY id", (command,))
                    if command is not None else self._conn.execute(sql + " ORDER BY id")
                    ).fetchall()
        finally:
            self._conn.text_factory = factory
        return [_row_entry(r) for r in rows]

    def head(self) -> tuple[int, str]:
        """(sequence number, hash) of the last entry; (0, GENESIS) when empty."""
        row = self._conn.execute("SELECT seq, hash FROM audit_chain ORDER BY id DESC LIMIT 1"
                                 ).fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def verify(self, public_key: bytes | None = None,
               expect_head: tuple[int, str] | None = None) -> AuditVerification:
        """Walk the chain in stored order and report every changed, removed, duplicated or
        moved entry by sequence number. With the fleet's ``public_key`` each entry's signature
        is checked too (a chain rewritten and re-hashed by someone without the key shows).
        ``expect_head`` (seq, hash) noted earlier reveals entries cut off the end."""
        return verify_entries(self.entries(), public_key, expect_head)


def _row_entry(r: tuple[object, ...]) -> AuditEntry:
    seq, at, operator, identity, command, target, args_json, ok, result, prev, h, sig = r
    bad: list[str] = []

    def text(name: str, v: object) -> str:
        if isinstance(v, bytes):
            try:
                return v.decode("utf-8")
            except UnicodeDecodeError:
                bad.append(name)
                return v.decode("utf-8", errors="replace")
        bad.append(name)
        return str(v)

    if isinstance(seq, bool) or not isinstance(seq, int):
        bad.append("seq")
    if isinstance(at, bool) or not isinstance(at, int | float):
        bad.append("at")
    if isinstance(ok, bool | float) or ok not in (0, 1):
        bad.append("ok")
    return AuditEntry(
        seq if isinstance(seq, int) and "seq" not in bad else -1,
        float(at) if "at" not in bad else math.nan,  # type: ignore[arg-type]
        text("operator", operator), text("identity", identity), text("command", command),
        text("target", target), text("args_json", args_json), ok == 1,
        text("result", result), text("prev_hash", prev), text("hash", h),
        sig if isinstance(sig, bytes) else None, ", ".join(bad))


def _recompute(e: AuditEntry, seq: int | None = None, prev: str | None = None) -> str:
    if not math.isfinite(e.at):
        return ""
    return entry_hash(e.seq if seq is None else seq, e.at, e.operator, e.identity, e.command,
                      e.target, e.args_json, e.ok, e.result,
                      e.prev_hash if prev is None else prev)


def verify_entries(entries: list[AuditEntry], public_key: bytes | None = None,
                   expect_head: tuple[int, str] | None = None) -> AuditVerification:
    """:meth:`AuditChain.verify` over entries in stored order (pure)."""
    problems: list[AuditProblem] = []

    def found(seq: int, kind: ProblemKind, message: str) -> None:
        problems.append(AuditProblem(seq, kind, message))

    by_seq: dict[int, AuditEntry] = {}
    for e in entries:
        if e.seq in by_seq:
            found(e.seq, ProblemKind.DUPLICATE, f"entry {e.seq}: appears twice")
        else:
            by_seq[e.seq] = e
    intact = {e.seq: not e.malformed and _recompute(e) == e.hash for e in entries}
    swapped: set[int] = set()
    for a, b in zip(entries, entries[1:], strict=False):
        # Contents of two neighbours exchanged while seq and hash columns stayed in place:
        # each one's content hashes correctly at the other's place.
        if (b.seq == a.seq + 1 and not intact[a.seq] and not intact[b.seq]
                and _recompute(b, a.seq, a.prev_hash) == a.hash
                and _recompute(a, b.seq, a.hash) == b.hash):
            swapped |= {a.seq, b.seq}
            found(a.seq, ProblemKind.REORDERED,
                  f"entries {a.seq} and {b.seq}: contents swapped")
    prev_seq = 0
    for e in entries:
        if e.seq < 1:
            found(e.seq, ProblemKind.CHANGED, f"entry at sequence {e.seq}: invalid number")
            continue
        if e.seq < prev_seq:
            found(e.seq, ProblemKind.REORDERED,
                  f"entry {e.seq}: stored after entry {prev_seq} (moved)")
        prev_seq = max(prev_seq, e.seq)
        if e.seq in swapped:
            continue
        if not intact[e.seq]:
            found(e.seq, ProblemKind.CHANGED, f"entry {e.seq}: " + (
                f"column {e.malformed} holds a value of the wrong kind (edited)" if e.malformed
                else "content does not match its hash (edited)"))
            continue
        before = by_seq.get(e.seq - 1)
        want = GENESIS if e.seq == 1 else (before.hash if before is not None else None)
        if want is not None and e.prev_hash != want:
            if before is not None and intact.get(before.seq, False):
                found(before.seq, ProblemKind.CHANGED,
                      f"entry {before.seq}: changed and re-hashed (entry {e.seq} no longer "
                      "links to it)")
            elif e.seq == 1:
                found(1, ProblemKind.CHANGED, "entry 1: does not start the chain")
        if public_key is not None and (
                e.signature is None
                or not verify_signature(public_key, e.signature, bytes.fromhex(e.hash))):
            found(e.seq, ProblemKind.BAD_SIGNATURE,
                  f"entry {e.seq}: " + ("not signed" if e.signature is None
                                        else "signature is not the fleet key's"))
    _report_gaps(sorted(s for s in by_seq if s >= 1), found)
    head_seq, head_hash = (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS)
    if expect_head is not None:
        want_seq, want_hash = expect_head
        if prev_seq < want_seq:
            gap = (f"entry {want_seq}" if prev_seq + 1 == want_seq
                   else f"entries {prev_seq + 1}..{want_seq}")
            found(prev_seq + 1, ProblemKind.MISSING, f"{gap}: missing at the end "
                  f"(the head noted earlier was {want_seq})")
        elif want_seq in by_seq and by_seq[want_seq].hash != want_hash:
            found(want_seq, ProblemKind.CHANGED,
                  f"entry {want_seq}: hash differs from the head noted earlier")
    problems.sort(key=lambda p: p.seq)
    return AuditVerification(len(entries), head_seq, head_hash, tuple(problems))


def _report_gaps(seqs: list[int], found: Callable[[int, ProblemKind, str], None]) -> None:
    """A MISSING finding per run of sequence numbers absent below the highest one."""
    prev = 0
    for s in seqs:
        if s > prev + 1:
            gap = f"entry {prev + 1}" if s == prev + 2 else f"entries {prev + 1}..{s - 1}"
            found(prev + 1, ProblemKind.MISSING,
                  f"{gap}: missing (removed between {prev or 'the start'} and {s})")
        prev = s
