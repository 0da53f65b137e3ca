"""Hostile commands at a robot's gates: 1,000 generated requests per robot service (mission
goal, cancel, resume, e-stop, the fleet's and the monitor's closed edges, the keypad's PIN)
through the gate a robot node calls — no crash, a one-line reason, nothing spent on a refusal,
and an e-stop's identification never refuses or raises."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hostile_inputs import FUZZ, NASTY_TEXT, random_text
from hypothesis import given
from hypothesis import strategies as st
from test_fleet_services import FLOATS
from test_security_audited import MemoryReplay

from dawnpatrol_core.security.envelope import (
    Signer,
    VerdictStatus,
    envelope_to_text,
    signed_args,
)
from dawnpatrol_core.security.gate import CommandGate
from dawnpatrol_core.security.keys import generate_private_key
from dawnpatrol_core.security.registry import FLEET_NAME, Operator, OperatorRegistry
from dawnpatrol_core.security.roles import Command, Role

WALL = 1_790_000_000.0


@dataclass(frozen=True)
class RobotService:
    command: Command
    fields: dict[str, object]
    trusted: str  # whose key the robot's gate trusts for it: 'fleet' or 'onboard'


SERVICES = {
    "mission": RobotService(Command.MISSION, {"robot_id": "r1", "goal_sha256": "ab" * 32},
                            "fleet"),
    "cancel_mission": RobotService(Command.CANCEL_MISSION, {"robot_id": "r1",
                                                            "mission_id": "m1"}, "fleet"),
    "resume": RobotService(Command.RESUME, {"robot_id": "r1", "engage": False, "reason": "ok",
                                            "operator_name": "kim"}, "fleet"),
    "fleet_closed_edges": RobotService(Command.CLOSE_EDGES, {"edges": [3, 4]}, "fleet"),
    "own_closed_edges": RobotService(Command.CLOSE_EDGES, {"edges": [3, 4]}, "onboard"),
    "submit_pin": RobotService(Command.SUBMIT_PIN, {"order_id": "O-1", "pin": "1234"},
                               "onboard"),
}


class Robot:
    """Robot r1's two gates over in-memory replay windows, and every key that may sign."""

    def __init__(self) -> None:
        self.keys = {name: Signer(name, role, generate_private_key()) for name, role in (
            (FLEET_NAME, Role.ADMIN), ("onboard", Role.SUPERVISOR), ("stranger", Role.ADMIN))}
        self.replay = {"fleet": MemoryReplay(), "onboard": MemoryReplay()}
        self.gates = {}
        for trusted, role in (("fleet", Role.ADMIN), ("onboard", Role.SUPERVISOR)):
            name = FLEET_NAME if trusted == "fleet" else "onboard"
            reg = OperatorRegistry((Operator(name, role, self.keys[name].public_key, 0.0),))
            self.gates[trusted] = CommandGate(lambda reg=reg: reg, self.replay[trusted])


@pytest.fixture(scope="module")
def robot() -> Iterator[Robot]:
    yield Robot()


def _hostile(r: random.Random, like: object) -> object:
    if r.random() < 0.4:
        return like
    if isinstance(like, bool):
        return r.random() < 0.5
    if isinstance(like, list):
        return [r.choice([-1, 0, 7, 2**31 - 1, -(2**31)]) for _ in range(r.randint(0, 5))]
    if isinstance(like, float):
        return r.choice(FLOATS)
    return r.choice([random_text(r, 40), r.choice(NASTY_TEXT), str(like)])


def _envelope(r: random.Random, robot: Robot, s: RobotService, target: str,
              fields: dict[str, object]) -> str:
    pick = r.randrange(8)
    if pick == 0:
        return ""
    if pick == 1:
        return r.choice([random_text(r, 60), r.choice(NASTY_TEXT), "{}"])
    key = robot.keys[r.choice(list(robot.keys))]
    command = r.choice(list(Command)) if pick == 2 else s.command
    now = WALL + (r.uniform(-1e4, 1e4) if pick == 3 else 0.0)
    signed = {k: _hostile(r, v) for k, v in fields.items()} if pick == 4 else fields
    try:
        text = envelope_to_text(key.sign(command, r.choice([target, "r2", "*"]) if pick == 5
                                         else target, signed_args(command, signed), now,
                                         r.randbytes(16)))
    except Exception:  # noqa: BLE001 - unsignable (NaN, a bad target): sent unsigned
        return ""
    if pick == 6:
        i = r.randrange(len(text))
        return text[:i] + random_text(r, 3) + text[i + 1:]
    return text


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_fuzzed_robot_commands_never_crash_and_a_refusal_spends_nothing(robot, name) -> None:
    s = SERVICES[name]
    gate, replay = robot.gates[s.trusted], robot.replay[s.trusted]
    target = "*" if name == "fleet_closed_edges" else "r1"

    @FUZZ
    @given(r=st.randoms(use_true_random=True))
    def run(r: random.Random) -> None:
        fields = {k: _hostile(r, v) for k, v in s.fields.items()}
        envelope = _envelope(r, robot, s, target, fields)
        spent = set(replay.spent)
        try:
            v = gate.check(s.command, target, fields, envelope, WALL + 1)
        except Exception as exc:  # noqa: BLE001 - only unencodable arguments may raise
            assert type(exc).__name__ == "SecurityError" and "\n" not in str(exc)
            assert replay.spent == spent
            return
        assert "\n" not in v.reason and v.reason
        if not v.ok:
            assert replay.spent == spent
        else:
            assert len(replay.spent) == len(spent) + 1
            signer = FLEET_NAME if s.trusted == "fleet" else "onboard"
            assert v.operator == signer
        if s.command is Command.RESUME:  # the same request as an e-stop: identified, never
            e = gate.identify_estop(target, {**fields, "engage": True}, envelope, WALL + 1)
            assert e.status in set(VerdictStatus)  # refused, never raises

    run()
