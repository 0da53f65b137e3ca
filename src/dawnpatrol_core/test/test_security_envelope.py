"""Signed command envelopes: every verdict, the canonical encoding, and replay across a
restart of the verifier."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dawnpatrol_core.errors import SecurityError
from dawnpatrol_core.security.envelope import (
    MAX_LIFETIME_S,
    CommandEnvelope,
    Signer,
    VerdictStatus,
    args_digest,
    canonical_args,
    envelope_from_text,
    envelope_to_text,
    identify_estop,
    signed_args,
    verify_command,
)
from dawnpatrol_core.security.keys import generate_private_key, public_bytes
from dawnpatrol_core.security.registry import Operator, OperatorRegistry, fleet_registry
from dawnpatrol_core.security.replay import ReplayWindow
from dawnpatrol_core.security.roles import Command, Role

NOW = 1_790_000_000.0  # a Unix time
ARGS = {"robot_id": "r1", "reason": "checked the street", "engage": False, "operator_name": "kim"}


def make(name: str, role: Role) -> tuple[Signer, Operator]:
    key = generate_private_key()
    return Signer(name, role, key), Operator(name, role, public_bytes(key), NOW - 100)


@pytest.fixture()
def world() -> tuple[dict[str, Signer], OperatorRegistry]:
    signers, ops = {}, []
    for name, role in (("lee", Role.VIEWER), ("choi", Role.DISPATCHER), ("kim", Role.SUPERVISOR),
                       ("park", Role.ADMIN)):
        s, o = make(name, role)
        signers[name] = s
        ops.append(o)
    return signers, OperatorRegistry(tuple(ops))


def check(env: CommandEnvelope | str | None, reg: OperatorRegistry, now: float = NOW + 1,
          command: Command = Command.RESUME, target: str = "r1",
          args: dict[str, object] = ARGS, replay: ReplayWindow | None = None):
    return verify_command(env, command=command, target=target, args=args, registry=reg, now=now,
                          replay=replay)


def test_a_supervisors_resume_is_ok_and_names_the_operator(world) -> None:
    signers, reg = world
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"n" * 16)
    v = check(env, reg)
    assert v.status is VerdictStatus.OK and v.ok
    assert v.operator == "kim" and v.role is Role.SUPERVISOR
    assert v.identity == "kim (supervisor)"
    assert "\n" not in v.reason and "kim" in v.reason


def test_each_refusal_has_its_status_and_a_one_line_reason(world) -> None:
    signers, reg = world
    kim = signers["kim"]
    good = kim.sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16)
    forged = replace(good, signature=bytes(64))
    other_key, _ = make("kim", Role.SUPERVISOR)  # a stranger's key under kim's name
    cases = [
        (None, VerdictStatus.UNSIGNED),
        ("", VerdictStatus.UNSIGNED),
        ("{not json", VerdictStatus.MALFORMED),
        (forged, VerdictStatus.BAD_SIGNATURE),
        (other_key.sign(Command.RESUME, "r1", ARGS, NOW, b"b" * 16), VerdictStatus.BAD_SIGNATURE),
        (make("ghost", Role.ADMIN)[0].sign(Command.RESUME, "r1", ARGS, NOW, b"c" * 16),
         VerdictStatus.UNKNOWN_OPERATOR),
        (signers["choi"].sign(Command.RESUME, "r1", ARGS, NOW, b"d" * 16),
         VerdictStatus.INSUFFICIENT_ROLE),
        (kim.sign(Command.RESUME, "r1", ARGS, NOW - 60, b"e" * 16), VerdictStatus.EXPIRED),
        (kim.sign(Command.RESUME, "r1", ARGS, NOW + 60, b"f" * 16), VerdictStatus.NOT_YET_VALID),
        (kim.sign(Command.RESUME, "r2", ARGS, NOW, b"g" * 16), VerdictStatus.ARGS_MISMATCH),
        (kim.sign(Command.RESUME, "r1", {**ARGS, "reason": "x"}, NOW, b"h" * 16),
         VerdictStatus.ARGS_MISMATCH),
        (kim.sign(Command.CLOSE_EDGES, "r1", ARGS, NOW, b"i" * 16), VerdictStatus.ARGS_MISMATCH),
    ]
    for env, status in cases:
        v = check(env, reg)
        assert v.status is status, (status, v.reason)
        assert not v.ok and v.reason.startswith("refused resume on r1: ")
        assert "\n" not in v.reason
        assert v.identity.startswith("unverified")


def test_a_revoked_key_is_refused_as_unknown_operator(world) -> None:
    signers, reg = world
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16)
    v = check(env, reg.with_revoked("kim", NOW - 5, "park"))
    assert v.status is VerdictStatus.UNKNOWN_OPERATOR and "revoked" in v.reason


def test_a_role_claimed_above_the_registered_one_is_refused(world) -> None:
    _, reg = world
    key = generate_private_key()
    reg = reg.with_added(Operator("mun", Role.DISPATCHER, public_bytes(key), NOW))
    env = Signer("mun", Role.ADMIN, key).sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16)
    v = check(env, reg)
    assert v.status is VerdictStatus.INSUFFICIENT_ROLE and "claims admin" in v.reason


def test_the_permission_table_by_role(world) -> None:
    signers, reg = world
    expect = {  # command -> least role that passes
        Command.GET_STATUS: "lee", Command.ESTOP: "lee", Command.DISPATCH_ORDERS: "choi",
        Command.ACK_ANOMALY: "choi", Command.SET_PATROL: "choi", Command.RESUME: "kim",
        Command.CLOSE_EDGES: "kim", Command.INVESTIGATE: "kim", Command.REGISTRY_ADD: "park",
    }
    order = ["lee", "choi", "kim", "park"]
    for cmd, least in expect.items():
        for k, name in enumerate(order):
            env = signers[name].sign(cmd, "fleet", {}, NOW, bytes([k]) * 16)
            v = check(env, reg, command=cmd, target="fleet", args={})
            assert v.ok == (k >= order.index(least)), (cmd, name, v.reason)


def test_lifetime_over_30_s_is_refused_at_signing_and_at_verification(world) -> None:
    signers, reg = world
    with pytest.raises(SecurityError, match="lifetime_s"):
        signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16, lifetime_s=31)
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16)
    long = replace(env, expires_at_ms=env.issued_at_ms + int(MAX_LIFETIME_S * 1000) + 1)
    # re-signed by the genuine key, so only the lifetime is wrong
    long = replace(long, signature=signers["kim"]._key.sign(long.signed_bytes()))
    v = check(long, reg)
    assert v.status is VerdictStatus.MALFORMED and "lifetime" in v.reason


def test_clock_skew_tolerance_for_not_yet_valid(world) -> None:
    signers, reg = world
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW + 1.5, b"a" * 16)
    assert check(env, reg, now=NOW).ok  # 1.5 s ahead, within the 2 s tolerance
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW + 2.5, b"b" * 16)
    assert check(env, reg, now=NOW).status is VerdictStatus.NOT_YET_VALID


def test_replay_is_refused_and_refusals_do_not_consume_the_nonce(world) -> None:
    signers, reg = world
    replay = ReplayWindow(":memory:")
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16)
    # refused for other reasons first: the nonce stays unused
    assert check(env, reg, args={"robot_id": "r9"}, replay=replay).status is \
        VerdictStatus.ARGS_MISMATCH
    assert len(replay) == 0
    assert check(env, reg, replay=replay).ok
    v = check(env, reg, replay=replay, now=NOW + 2)
    assert v.status is VerdictStatus.REPLAYED and "replay" in v.reason
    # the same text, re-serialized, is the same envelope
    assert check(envelope_to_text(env), reg, replay=replay, now=NOW + 3).status is \
        VerdictStatus.REPLAYED


def test_a_restarted_verifier_refuses_a_command_replayed_from_before(world, tmp_path: Path
                                                                     ) -> None:
    signers, _ = world
    fleet_key = generate_private_key()
    fleet = Signer("fleet", Role.ADMIN, fleet_key)
    robot_trust = fleet_registry(public_bytes(fleet_key))
    env = fleet.sign(Command.RESUME, "r1", ARGS, NOW, b"z" * 16)
    db = tmp_path / "replay.db"
    with ReplayWindow(db) as w:
        assert check(env, robot_trust, replay=w).ok
    # robot restarts: a new process opens the same file
    with ReplayWindow(db) as w:
        v = check(env, robot_trust, replay=w, now=NOW + 5)
        assert v.status is VerdictStatus.REPLAYED
        fresh = fleet.sign(Command.RESUME, "r1", ARGS, NOW + 5, b"y" * 16)
        assert check(fresh, robot_trust, replay=w, now=NOW + 6).ok


def test_old_nonces_are_forgotten_only_after_their_envelope_expired(world) -> None:
    signers, reg = world
    w = ReplayWindow(":memory:")
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16)
    assert check(env, reg, replay=w).ok
    assert w.consume("other", b"b" * 16, NOW + 1000, NOW + 500)  # prunes expired ones
    assert len(w) == 1  # kim's nonce (expired at NOW+10) is gone...
    assert check(env, reg, replay=w, now=NOW + 500).status is VerdictStatus.EXPIRED  # ...safely


def test_estop_identity_never_blocks_and_never_consumes(world) -> None:
    signers, reg = world
    args = {"robot_id": "r1", "engage": True, "reason": "drill"}
    v = identify_estop(None, target="r1", args=args, registry=reg, now=NOW)
    assert v.status is VerdictStatus.UNSIGNED and v.identity == "unverified (unsigned)"
    env = signers["lee"].sign(Command.ESTOP, "r1", args, NOW, b"a" * 16)
    for _ in range(2):  # the same e-stop twice is still identified (stopping again is safe)
        v = identify_estop(env, target="r1", args=args, registry=reg, now=NOW)
        assert v.ok and v.identity == "lee (viewer)"
    bad = identify_estop(env, target="r1", args={"x": float("nan")}, registry=reg, now=NOW)
    assert not bad.ok


def test_text_round_trip_and_strict_parsing(world) -> None:
    signers, _ = world
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16)
    text = envelope_to_text(env)
    assert envelope_from_text(text) == env and len(text) < 400
    for bad in ['[]', '{"v":1}', text.replace('"v":1', '"v":2'), text.replace('"v":1', '"v":true'),
                text.replace('"role":"supervisor"', '"role":"root"'),
                text.replace('"cmd":"resume"', '"cmd":"rm -rf"'), "x" * 5000,
                text.replace('"iat":', '"iat":-'), text.replace('"op":"kim"', '"op":"k\\nim"')]:
        with pytest.raises(SecurityError) as exc:
            envelope_from_text(bad)
        assert "\n" not in str(exc.value)


def test_canonical_arguments_are_order_independent_and_strict() -> None:
    assert canonical_args({"b": 1, "a": [1.5, "x"]}) == b'{"a":[1.5,"x"],"b":1}'
    assert args_digest({"a": 1, "b": 2}) == args_digest({"b": 2, "a": 1})
    for bad in ({"x": float("nan")}, {"x": object()}, {"x": float("inf")}):
        with pytest.raises(SecurityError):
            canonical_args(bad)


def test_signed_args_picks_the_commands_fields() -> None:
    req = {"orders_text": "id,...", "format": "csv", "source_name": "o.csv", "dry_run": False,
           "operator_name": "choi", "envelope": "{...}"}
    assert signed_args(Command.DISPATCH_ORDERS, req) == {
        "orders_text": "id,...", "format": "csv", "source_name": "o.csv", "dry_run": False}


def test_signed_bytes_cover_every_field(world) -> None:
    signers, _ = world
    env = signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"a" * 16)
    variants = [replace(env, operator="kin"), replace(env, role=Role.ADMIN),
                replace(env, target="r2"), replace(env, command=Command.MISSION),
                replace(env, args_sha256=bytes(32)), replace(env, issued_at_ms=1),
                replace(env, expires_at_ms=1), replace(env, nonce=b"b" * 16)]
    assert len({v.signed_bytes() for v in variants} | {env.signed_bytes()}) == len(variants) + 1


def test_only_the_canonical_text_of_an_envelope_is_read(world) -> None:
    # Regression (fuzzing): base64 with spare bits set decoded to the same nonce, so one
    # envelope had several texts. Harmless (the nonce is the same) but now refused.
    signers, reg = world
    text = envelope_to_text(signers["kim"].sign(Command.RESUME, "r1", ARGS, NOW, b"n" * 16))
    nonce = json.loads(text)["nonce"]  # 'bm5ubm5ubm5ubm5ubm5ubg==': 'g' has 4 spare bits
    odd = text.replace(nonce, nonce[:-3] + "h==")
    assert odd != text
    v = check(odd, reg)
    assert v.status is VerdictStatus.MALFORMED and "canonical" in v.reason
