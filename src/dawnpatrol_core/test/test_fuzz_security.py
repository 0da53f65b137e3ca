"""Hostile input for the security core: envelopes (random text, edited JSON, flipped bytes)
never crash the verifier and never pass unless genuine; every edit of an audit entry is found;
a refused registry change leaves the registry as it was. 1,000 generated inputs each."""

from __future__ import annotations

import base64
import json
import random
import sqlite3
from pathlib import Path

from hostile_inputs import FUZZ, NASTY_TEXT, check_clean, hostile_value, mutate, random_text
from hypothesis import given
from hypothesis import strategies as st

from dawnpatrol_core.security.envelope import (
    Signer,
    envelope_to_text,
    verify_command,
)
from dawnpatrol_core.security.keys import generate_private_key, parse_public_key, public_bytes
from dawnpatrol_core.security.registry import Operator, OperatorRegistry, RegistryStore
from dawnpatrol_core.security.replay import ReplayWindow
from dawnpatrol_core.security.roles import Command, Role
from dawnpatrol_core.store.audit_chain import AuditChain

NOW = 1_790_000_000.0
KEY = generate_private_key()
SIGNER = Signer("kim", Role.SUPERVISOR, KEY)
REGISTRY = OperatorRegistry((Operator("kim", Role.SUPERVISOR, public_bytes(KEY), 0.0),))
ARGS = {"robot_id": "r1", "reason": "clear", "engage": False, "operator_name": "kim"}
GENUINE = SIGNER.sign(Command.RESUME, "r1", ARGS, NOW, b"n" * 16)
GENUINE_TEXT = envelope_to_text(GENUINE)
GENUINE_DOC = json.loads(GENUINE_TEXT)


def _verify(envelope: object, args: object = ARGS, replay: ReplayWindow | None = None):
    v = verify_command(envelope, command=Command.RESUME, target="r1", args=args,  # type: ignore[arg-type]
                       registry=REGISTRY, now=NOW + 1, replay=replay)
    assert "\n" not in v.reason and "\r" not in v.reason and len(v.reason) < 400, v.reason
    return v


@FUZZ
@given(r=st.randoms(use_true_random=True))
def test_edited_envelopes_never_pass_and_never_crash(r: random.Random) -> None:
    doc = mutate(GENUINE_DOC, r, list(GENUINE_DOC))
    try:
        text = json.dumps(doc, allow_nan=True)
    except ValueError:
        return
    v = _verify(text)
    # an edit that leaves the meaning as it was (e.g. a key deleted and re-added) may pass
    assert not v.ok or doc == GENUINE_DOC, (doc, v.reason)


@FUZZ
@given(r=st.randoms(use_true_random=True))
def test_flipped_bytes_and_random_text(r: random.Random) -> None:
    pick = r.randrange(4)
    if pick == 0:
        raw = bytearray(GENUINE_TEXT.encode())
        for _ in range(r.randint(1, 3)):
            raw[r.randrange(len(raw))] = r.randrange(256)
        text = raw.decode("utf-8", errors="replace")
    elif pick == 1:
        text = random_text(r, 60)
    elif pick == 2:
        text = r.choice(NASTY_TEXT) * r.randint(1, 5000)
    else:  # a genuine envelope for other arguments, or with bytes of the signature changed
        sig = bytearray(GENUINE.signature)
        sig[r.randrange(64)] ^= 1 << r.randrange(8)
        text = GENUINE_TEXT.replace(json.loads(GENUINE_TEXT)["sig"],
                                    base64.b64encode(bytes(sig)).decode())
    v = _verify(text)
    assert not v.ok or text == GENUINE_TEXT


@FUZZ
@given(r=st.randoms(use_true_random=True))
def test_hostile_request_args_and_replay_store(r: random.Random) -> None:
    args = hostile_value(r, list(ARGS))
    replay = ReplayWindow(":memory:")
    try:
        v = _verify(GENUINE, args if isinstance(args, dict) else {"x": args}, replay)
    except Exception as exc:  # only the caller's own unencodable args may raise
        from dawnpatrol_core.errors import SecurityError

        assert isinstance(exc, SecurityError), exc
        assert len(replay) == 0
        return
    assert v.ok == (args == ARGS)
    assert len(replay) == (1 if v.ok else 0)  # a refused command spends no nonce


@FUZZ
@given(text=st.one_of(st.text(max_size=60), st.sampled_from(NASTY_TEXT),
                      st.binary(min_size=30, max_size=34).map(
                          lambda b: "ed25519:" + base64.b64encode(b).decode())))
def test_public_key_text(text: str) -> None:
    out = check_clean(lambda: parse_public_key(text))
    assert isinstance(out, Exception) or len(out) == 32


CHAIN_FIELDS = ["seq", "at", "operator", "identity", "command", "target", "args_json", "ok",
                "result", "prev_hash", "hash"]


@FUZZ
@given(r=st.randoms(use_true_random=True))
def test_every_edit_of_an_audit_entry_is_found(r: random.Random) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    from dawnpatrol_core.store.audit_chain import create_audit_chain_table

    create_audit_chain_table(conn)
    chain = AuditChain(conn)
    for k in range(5):
        chain.append(f"op{k}", "resume", {"k": k}, k % 2 == 0, f"r{k}", at=100.0 + k)
    target = r.randint(1, 5)
    col = r.choice(CHAIN_FIELDS)
    old = conn.execute(f"SELECT {col} FROM audit_chain WHERE seq = ?", (target,)).fetchone()[0]
    new = hostile_value(r, [])
    if isinstance(new, list | dict):
        new = json.dumps(new)
    if isinstance(new, int) and not -(2**63) <= new < 2**63:
        new = str(new)
    if new == old or (isinstance(new, float) and new != new):
        return
    stored = f"SELECT typeof({col}), CAST({col} AS BLOB) FROM audit_chain WHERE seq = ?"
    before = conn.execute(stored, (target,)).fetchone()
    if r.random() < 0.1 and isinstance(new, str):  # invalid UTF-8 written with another tool
        conn.execute(f"UPDATE audit_chain SET {col} = CAST(? AS TEXT) WHERE seq = ?",
                     (new.encode("utf-8", "surrogatepass") + b"\xff", target))
    else:
        try:
            conn.execute(f"UPDATE audit_chain SET {col} = ? WHERE seq = ?", (new, target))
        except (sqlite3.IntegrityError, UnicodeEncodeError):
            return  # NULL in a NOT NULL column, a lone surrogate: SQLite itself refuses
    if conn.execute(stored, (target,)).fetchone() == before:
        return  # the column's affinity stored the same value (e.g. '0' in an INTEGER column)
    v = check_clean(lambda: chain.verify())
    assert not isinstance(v, Exception) and not v.ok, (col, old, new)


@FUZZ
@given(r=st.randoms(use_true_random=True))
def test_refused_registry_changes_leave_it_unchanged(tmp_path: Path, r: random.Random) -> None:
    with RegistryStore(tmp_path / "ops.db") as store:
        if not len(store.load()):
            store.add("kim", Role.SUPERVISOR, public_bytes(KEY), 1.0, "park")
        before = store.load()
        name = r.choice([random_text(r, 70), r.choice(NASTY_TEXT), "kim", "lee"])
        key = r.choice([public_bytes(KEY), bytes(32), r.randbytes(r.randint(0, 40))])
        at = r.choice([1.0, float("nan"), float("inf"), -5.0])
        out = check_clean(lambda: store.add(name, Role.VIEWER, key, at, "park"))
        if isinstance(out, Exception):
            assert store.load() == before
        else:
            store.revoke(name, 2.0)  # back to one active entry for the next example
            store.replace_all(before)
