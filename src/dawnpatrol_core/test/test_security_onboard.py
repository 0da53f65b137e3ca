"""A robot's onboard key: what its own nodes tell each other (closed edges, PIN entries) is
signed with it, and its gate trusts that key alone — not another robot's, not the fleet's."""

from __future__ import annotations

import stat
from pathlib import Path

from dawnpatrol_core.security.envelope import VerdictStatus
from dawnpatrol_core.security.gate import (
    ONBOARD_KEY_FILE,
    FleetSigner,
    ensure_fleet_key,
    onboard_gate,
    onboard_signer,
)
from dawnpatrol_core.security.roles import Command

NOW = 1_790_000_000.0
EDGES = {"edges": [4, 5]}
PIN = {"order_id": "O-1", "pin": "1234"}


def test_the_key_is_made_once_private_and_its_gate_trusts_it_alone(tmp_path: Path) -> None:
    robot = tmp_path / "r1"
    signer = onboard_signer(robot)
    assert stat.S_IMODE((robot / ONBOARD_KEY_FILE).stat().st_mode) == 0o600
    again = onboard_signer(robot)  # a second node on the robot: the same key
    assert again.public_key == signer.public_key
    other = onboard_signer(tmp_path / "r2")
    fleet = FleetSigner(ensure_fleet_key(tmp_path / "fleet"))
    gate = onboard_gate(robot)
    try:
        for by, status in ((signer, VerdictStatus.OK), (again, VerdictStatus.OK),
                           (other, VerdictStatus.BAD_SIGNATURE),  # same name, not its key
                           (fleet, VerdictStatus.UNKNOWN_OPERATOR)):
            env = by.sign(Command.CLOSE_EDGES, "r1", EDGES, NOW)
            v = gate.check(Command.CLOSE_EDGES, "r1", EDGES, env, NOW + 1, consume=False)
            assert v.status is status, v.reason
        env = signer.sign(Command.SUBMIT_PIN, "r1", PIN, NOW)
        assert gate.check(Command.SUBMIT_PIN, "r1", PIN, env, NOW + 1).ok
        v = gate.check(Command.SUBMIT_PIN, "r1", PIN, env, NOW + 2)
        assert v.status is VerdictStatus.REPLAYED  # a captured PIN entry cannot be replayed
        wrong = signer.sign(Command.SUBMIT_PIN, "r1", {**PIN, "pin": "0000"}, NOW)
        assert gate.check(Command.SUBMIT_PIN, "r1", PIN, wrong, NOW + 1).status is (
            VerdictStatus.ARGS_MISMATCH)
    finally:
        gate.close()
