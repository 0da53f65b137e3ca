"""The audited gate: an accepted request acts once and is recorded as done (or failed); a
refused one never acts and is recorded as refused with the one-line reason, for every reason
the verifier has; reads are recorded both ways and spend no nonce."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import pytest

from dawnpatrol_core.security.audited import (
    AuditedGate,
    AuditRecord,
    CommandRequest,
    Outcome,
    identity,
)
from dawnpatrol_core.security.envelope import (
    Signer,
    Verdict,
    VerdictStatus,
    envelope_to_text,
    signed_args,
)
from dawnpatrol_core.security.gate import CommandGate
from dawnpatrol_core.security.keys import generate_private_key, public_bytes
from dawnpatrol_core.security.registry import Operator, OperatorRegistry
from dawnpatrol_core.security.roles import FLEET_TARGET, Command, Role

NOW = 1_790_000_000.0  # Unix s
SIM = 7200.0  # the fleet's clock
ACK = {"uuid": "u-1", "note": "seen", "operator_name": "choi"}


class MemoryReplay:
    """A replay window in memory (the gate's real one is SQLite)."""

    def __init__(self) -> None:
        self.spent: set[tuple[str, bytes]] = set()

    def consume(self, key_id: str, nonce: bytes, expires_at: float, now: float) -> bool:
        if (key_id, nonce) in self.spent:
            return False
        self.spent.add((key_id, nonce))
        return True

    def seen(self, key_id: str, nonce: bytes) -> bool:
        return (key_id, nonce) in self.spent

    def close(self) -> None:
        pass


@dataclass
class Sink:
    records: list[AuditRecord] = field(default_factory=list)

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


@dataclass
class World:
    signers: dict[str, Signer]
    replay: MemoryReplay
    sink: Sink
    gate: AuditedGate
    acted: list[Verdict] = field(default_factory=list)

    def sign(self, who: str, command: Command, fields: dict[str, object], now: float = NOW,
             target: str = FLEET_TARGET, nonce: bytes = b"n" * 16) -> str:
        return envelope_to_text(self.signers[who].sign(command, target,
                                                       signed_args(command, fields), now, nonce))


@pytest.fixture()
def world() -> World:
    signers, ops = {}, []
    for name, role in (("lee", Role.VIEWER), ("choi", Role.DISPATCHER), ("kim", Role.SUPERVISOR)):
        key = generate_private_key()
        signers[name] = Signer(name, role, key)
        ops.append(Operator(name, role, public_bytes(key), NOW - 100))
    signers["mallory"] = Signer("mallory", Role.ADMIN, generate_private_key())  # not registered
    registry = OperatorRegistry(tuple(ops))
    replay, sink = MemoryReplay(), Sink()
    return World(signers, replay, sink, AuditedGate(CommandGate(lambda: registry, replay), sink))


def ack(w: World, envelope: str, fields: dict[str, object] = ACK) -> Outcome:
    req = CommandRequest(Command.ACK_ANOMALY, FLEET_TARGET, fields, envelope,
                         {"uuid": fields.get("uuid")}, str(fields.get("operator_name", "")))

    def run(v: Verdict) -> Outcome:
        w.acted.append(v)
        return Outcome(True, "acknowledged u-1")
    return w.gate.run(req, run, NOW + 1, SIM)


def test_an_accepted_command_acts_once_and_is_recorded_with_the_verified_identity(world) -> None:
    out = ack(world, world.sign("choi", Command.ACK_ANOMALY, ACK))
    assert out == Outcome(True, "acknowledged u-1")
    [v] = world.acted
    assert v.ok and v.operator == "choi"
    [rec] = world.sink.records
    assert (rec.operator, rec.identity, rec.command, rec.target) == (
        "choi", "choi (dispatcher)", "ack_anomaly", "fleet")
    assert (rec.ok, rec.refused, rec.result, rec.read) == (True, False, "acknowledged u-1", False)
    assert (rec.wall, rec.now) == (NOW + 1, SIM)
    assert rec.line() == "audit: choi (dispatcher) ack_anomaly fleet {'uuid': 'u-1'} -> ok: " \
                         "acknowledged u-1"


def test_a_command_that_fails_is_recorded_as_failed_not_refused(world) -> None:
    req = CommandRequest(Command.ACK_ANOMALY, FLEET_TARGET, ACK, world.sign(
        "choi", Command.ACK_ANOMALY, ACK), {}, "choi")
    out = world.gate.run(req, lambda v: Outcome(False, "unknown anomaly 'u-1'"), NOW + 1, SIM)
    assert out.ok is False
    [rec] = world.sink.records
    assert (rec.ok, rec.refused) == (False, False)
    assert "-> FAILED: unknown anomaly 'u-1'" in rec.line()


def _refusals(w: World) -> list[tuple[VerdictStatus, str, dict[str, object]]]:
    good = w.sign("choi", Command.ACK_ANOMALY, ACK)
    doc = json.loads(good)
    sig = bytearray(base64.b64decode(doc["sig"]))
    sig[0] ^= 1
    tampered = json.dumps({**doc, "sig": base64.b64encode(bytes(sig)).decode()},
                          separators=(",", ":"))
    return [
        (VerdictStatus.UNSIGNED, "", ACK),
        (VerdictStatus.MALFORMED, "{not json", ACK),
        (VerdictStatus.BAD_SIGNATURE, tampered, ACK),
        (VerdictStatus.UNKNOWN_OPERATOR, w.sign("mallory", Command.ACK_ANOMALY, ACK), ACK),
        (VerdictStatus.INSUFFICIENT_ROLE, w.sign("lee", Command.ACK_ANOMALY, ACK), ACK),
        (VerdictStatus.EXPIRED, w.sign("choi", Command.ACK_ANOMALY, ACK, now=NOW - 60), ACK),
        (VerdictStatus.NOT_YET_VALID, w.sign("choi", Command.ACK_ANOMALY, ACK, now=NOW + 60),
         ACK),
        (VerdictStatus.ARGS_MISMATCH, good, {**ACK, "uuid": "u-2"}),
        (VerdictStatus.ARGS_MISMATCH, w.sign("choi", Command.SET_PATROL, ACK), ACK),
        (VerdictStatus.MALFORMED, good, {**ACK, "note": float("nan")}),  # no envelope signs NaN
    ]


@pytest.mark.parametrize("case", range(10))
def test_every_refusal_never_acts_and_is_recorded_as_refused_naming_why(world, case) -> None:
    status, envelope, fields = _refusals(world)[case]
    out = ack(world, envelope, fields)
    assert world.acted == []
    assert out.ok is False and out.message.startswith("refused ack_anomaly on fleet: ")
    assert "\n" not in out.message
    [rec] = world.sink.records
    assert (rec.ok, rec.refused, rec.result) == (False, True, out.message)
    assert f"({status.value})" in rec.identity
    assert rec.line().endswith(f"-> REFUSED: {out.message}")
    assert world.replay.spent == set()  # a refusal spends no nonce


def test_a_replayed_command_is_refused_after_the_first_acted(world) -> None:
    env = world.sign("choi", Command.ACK_ANOMALY, ACK)
    assert ack(world, env).ok
    out = ack(world, env)
    assert not out.ok and "replay" in out.message
    assert len(world.acted) == 1
    assert [(r.ok, r.refused) for r in world.sink.records] == [(True, False), (False, True)]
    assert "(replayed)" in world.sink.records[1].identity


def test_an_unsigned_request_is_recorded_under_the_name_it_claims_as_unverified(world) -> None:
    ack(world, "")
    [rec] = world.sink.records
    assert (rec.operator, rec.identity) == ("choi", "unverified 'choi' (unsigned)")
    ack(world, "", {**ACK, "operator_name": ""})
    assert (world.sink.records[1].operator, world.sink.records[1].identity) == (
        "unknown", "unverified (unsigned)")


def read(w: World, envelope: str) -> Outcome:
    req = CommandRequest(Command.GET_STATUS, FLEET_TARGET, {}, envelope, read=True)
    return w.gate.run(req, lambda v: Outcome(True, "2 robots"), NOW + 1, SIM)


def test_reads_are_recorded_both_ways_and_spend_no_nonce(world) -> None:
    env = world.sign("lee", Command.GET_STATUS, {})
    assert read(world, env).ok and read(world, env).ok  # a polled read may repeat
    assert not read(world, "").ok
    assert [(r.command, r.ok, r.refused, r.read) for r in world.sink.records] == [
        ("get_status", True, False, True), ("get_status", True, False, True),
        ("get_status", False, True, True)]
    assert world.sink.records[0].identity == "lee (viewer)"
    assert world.replay.spent == set()


def test_admit_and_record_apart_for_a_command_answered_later(world) -> None:
    fields = {"robot_id": "r1", "engage": False, "reason": "clear", "operator_name": "kim"}
    req = CommandRequest(Command.RESUME, "r1", fields,
                         world.sign("kim", Command.RESUME, fields, target="r1"))
    v = world.gate.admit(req, NOW + 1, SIM)
    assert v.ok and world.sink.records == []  # an accepted one is recorded by the caller
    world.gate.record(v, req, True, "resume: r1: confirmed", NOW + 2, SIM + 1)
    assert world.sink.records[0].identity == "kim (supervisor)"
    refused = world.gate.admit(CommandRequest(Command.RESUME, "r1", fields,
                                              world.sign("choi", Command.RESUME, fields,
                                                         target="r1")), NOW + 1, SIM)
    assert refused.status is VerdictStatus.INSUFFICIENT_ROLE
    assert world.sink.records[-1].refused


def test_an_estop_is_identified_never_refused(world) -> None:
    fields = {"robot_id": "r1", "engage": True, "reason": "x", "operator_name": "anyone"}
    for env in ("", "garbage", world.sign("lee", Command.ESTOP, fields, target="r1")):
        v = world.gate.identify_estop(CommandRequest(Command.ESTOP, "r1", fields, env), NOW)
        assert isinstance(v, Verdict)
    assert v.ok and identity(v, "anyone") == "lee (viewer)"
    assert world.replay.spent == set() and world.sink.records == []
