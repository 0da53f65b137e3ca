"""Who may command the fleet, over the real fleet manager in the ROS graph (a fake robot):
unsigned, expired, replayed, wrongly signed, unregistered and insufficient-role commands are
refused with one line naming why and are in the chained audit log as refused; the same command
correctly signed is carried out, and what the fleet forwards to the robot is signed by the
fleet. An e-stop from an unsigned client still reaches the robot, recorded as unverified."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_fakes import FakeRobot, FleetProcess, Operators, ServiceCaller, wait_for

from dawnpatrol_core.security.envelope import (
    Signer,
    envelope_to_text,
    new_nonce,
    signed_args,
    verify_command,
)
from dawnpatrol_core.security.gate import AUDIT_FILE, FLEET_KEY_FILE, FLEET_PUBLIC_FILE
from dawnpatrol_core.security.keys import generate_private_key, load_public_key
from dawnpatrol_core.security.registry import fleet_registry
from dawnpatrol_core.security.roles import Command, Role
from dawnpatrol_core.store.audit_chain import AuditChain
from dawnpatrol_interfaces.srv import FleetStatus, SetEStop, SetPatrol
from dawnpatrol_ros.signing import message_fields

pytestmark = pytest.mark.ros


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[FakeRobot, ServiceCaller, Path]]:
    robot = FakeRobot("r1")
    data = tmp_path / "data"
    proc = FleetProcess(data)
    caller = ServiceCaller(robot)
    try:
        # operators registered once the fleet has made its key: the registry changes are then
        # signed in the audit chain like everything after them
        wait_for(lambda: (data / FLEET_PUBLIC_FILE).exists(), 30, "the fleet's key")
        caller.ops = Operators(data, tmp_path / "keys", {
            "kim": "supervisor", "lee": "dispatcher"})
        yield robot, caller, data
    finally:
        proc.kill()
        robot.close()


def resume(**kw: Any) -> SetEStop.Request:
    return SetEStop.Request(**{"engage": False, "robot_id": "r1", "reason": "crowd gone", **kw})


def call_resume(caller: ServiceCaller, req: SetEStop.Request) -> SetEStop.Response:
    # one attempt only: re-sending the same envelope would itself be a replay
    return caller.call(SetEStop, "/fleet/estop", req, timeout=20, attempt_s=20)


def audit(data: Path, command: str) -> list[Any]:
    with AuditChain(data / AUDIT_FILE) as chain:
        return chain.entries(command)


def fleet_envelope_ok(data: Path, command: Command, req: Any) -> bool:
    """Whether ``req`` (as the robot got it) carries the fleet's valid envelope for it."""
    reg = fleet_registry(load_public_key(data / FLEET_PUBLIC_FILE))
    return verify_command(req.envelope, command=command, target="r1",
                          args=signed_args(command, message_fields(req)), registry=reg,
                          now=time.time()).ok


def test_resume_is_refused_unless_a_supervisor_signed_it(fleet) -> None:
    robot, caller, data = fleet
    ops = caller.ops
    status = caller.call(FleetStatus, "/fleet/get_status", FleetStatus.Request())
    assert status.refused == "refused get_status on fleet: no signed envelope"
    assert list(status.robots) == []
    wait_for(lambda: caller.call(FleetStatus, "/fleet/get_status", FleetStatus.Request(),
                                 sign=ops.signer("kim", "get_status")).robots, 20, "r1 known")

    # the thief's key claiming to be kim: a valid signature, but not kim's key
    forged = Signer("kim", Role.SUPERVISOR, generate_private_key()).sign(
        Command.RESUME, "r1", signed_args(Command.RESUME, message_fields(
            resume(operator_name="kim"))), time.time(), new_nonce())
    stranger = Signer("stranger", Role.SUPERVISOR, generate_private_key()).sign(
        Command.RESUME, "r1", signed_args(Command.RESUME, message_fields(
            resume(operator_name="stranger"))), time.time(), new_nonce())
    changed = ops.sign("kim", "resume", resume(operator_name="kim", reason="other"), "r1")
    changed.reason = "crowd gone"  # altered after signing
    replayed = ops.sign("kim", "resume", resume(operator_name="kim"), "r1")
    cases = [
        (resume(operator_name="kim"), "no signed envelope"),
        (ops.sign("kim", "resume", resume(operator_name="kim"), "r1",
                  now=time.time() - 60.0), "expired"),
        (resume(operator_name="kim", envelope=envelope_to_text(forged)),
         "signature does not match key"),
        (ops.sign("lee", "resume", resume(operator_name="lee"), "r1"),
         "dispatcher may not; needs supervisor"),
        (ops.sign("kim", "resume", resume(operator_name="kim"), "r2"),
         "envelope is for resume on r2"),
        (changed, "arguments differ from the signed ones"),
        (resume(operator_name="stranger", envelope=envelope_to_text(stranger)),
         "operator not registered"),
    ]
    for req, why in cases:
        res = call_resume(caller, req)
        assert not res.success and why in res.message, (why, res.message)
        assert res.message.startswith("refused resume on r1: ") and "\n" not in res.message
    assert robot.estops == []  # nothing was forwarded

    ok = call_resume(caller, replayed)  # kim's own resume: carried out ...
    assert ok.success and "r1: confirmed" in ok.message, ok.message
    wait_for(lambda: robot.estops, 10, "the resume at the robot")
    fwd = robot.estops[-1]
    assert (fwd.engage, fwd.operator_name) == (False, "kim")
    assert fleet_envelope_ok(data, Command.RESUME, fwd)
    again = call_resume(caller, replayed)  # ... once
    assert not again.success and "envelope used before (replay)" in again.message
    assert len(robot.estops) == 1

    entries = audit(data, "resume")
    assert [(e.ok, e.identity.split(" (")[0]) for e in entries] == [
        (False, "unverified 'kim'"), (False, "unverified 'kim'"), (False, "unverified 'kim'"),
        (False, "unverified 'lee'"), (False, "unverified 'kim'"), (False, "unverified 'kim'"),
        (False, "unverified 'stranger'"), (True, "kim"), (False, "unverified 'kim'")]
    assert [e.identity.rsplit("(", 1)[1] for e in entries] == [
        "unsigned)", "expired)", "bad_signature)", "insufficient_role)", "args_mismatch)",
        "args_mismatch)", "unknown_operator)", "supervisor)", "replayed)"]
    assert all(e.result.startswith("refused resume on r1: ") for e in entries if not e.ok)
    # the chain the fleet wrote is intact and signed by the fleet's key throughout
    p = subprocess.run([sys.executable, "-m", "dawnpatrol_fleet.cli", "audit", "verify",
                        "--data-dir", str(data), "--signed"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "intact" in p.stdout and "signatures checked" in p.stdout
    assert (data / FLEET_KEY_FILE).stat().st_mode & 0o077 == 0


def test_an_unsigned_estop_still_reaches_the_robot(fleet) -> None:
    robot, caller, data = fleet
    wait_for(lambda: caller.call(FleetStatus, "/fleet/get_status", FleetStatus.Request(),
                                 sign=caller.ops.signer("kim", "get_status")).robots, 20,
             "r1 known")
    res = caller.call(SetEStop, "/fleet/estop", SetEStop.Request(
        engage=True, robot_id="r1", reason="stranger", operator_name="nobody"), attempt_s=15)
    assert res.success and "r1: confirmed" in res.message, res.message
    assert [r.engage for r in robot.estops] == [True]
    assert fleet_envelope_ok(data, Command.ESTOP, robot.estops[0])
    [entry] = audit(data, "estop")
    assert entry.ok and entry.identity == "unverified 'nobody' (unsigned)"
    # a dispatcher's signed e-stop is on record under the dispatcher's verified name
    req = caller.ops.sign("lee", "estop", SetEStop.Request(
        engage=True, robot_id="*", reason="drill", operator_name="lee"), "*")
    assert caller.call(SetEStop, "/fleet/estop", req, attempt_s=15).success
    assert audit(data, "estop")[-1].identity == "lee (dispatcher)"


def test_a_mission_is_cancelled_with_the_fleets_signature_and_reads_are_audited(fleet) -> None:
    robot, caller, data = fleet
    robot.mission_delay_s = 120.0  # the patrol runs until the fleet cancels it
    wait_for(lambda: caller.call(FleetStatus, "/fleet/get_status", FleetStatus.Request(),
                                 sign=caller.ops.signer("kim", "get_status")).robots, 20,
             "r1 known")
    reads = audit(data, "get_status")
    assert reads and all(e.ok and e.identity == "kim (supervisor)" for e in reads)
    for active in (True, False):
        res = caller.call(SetPatrol, "/fleet/set_patrol", SetPatrol.Request(
            active=active, robot_id="r1", operator_name="lee"), timeout=30, attempt_s=30,
            sign=caller.ops.signer("lee", "set_patrol", "r1"))
        assert res.success, res.message
        if active:
            wait_for(lambda: robot.goals, 20, "a patrol mission")
    wait_for(lambda: robot.cancels, 20, "the patrol mission cancelled")
    [cancel] = robot.cancels
    assert (cancel.robot_id, cancel.mission_id) == ("r1", robot.goals[0].mission_id)
    assert fleet_envelope_ok(data, Command.CANCEL_MISSION, cancel)
