"""The `dawnpatrol` verbs in process: a light parser with help on every option, every fleet
request through the session's one `send`, exit codes and one-line errors (a fake fleet link,
no ROS graph)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dawnpatrol_core.maps.rasterize import DEFAULT_RESOLUTION
from dawnpatrol_core.security.roles import Command
from dawnpatrol_fleet import cli, cli_map, client
from dawnpatrol_fleet.client import FleetUnreachableError

HEAVY = ("numpy", "scipy", "shapely", "PIL", "cryptography", "yaml", "rich", "rclpy",
         "dawnpatrol_interfaces", "dawnpatrol_ros")


def test_building_the_parser_imports_nothing_heavy() -> None:
    """`dawnpatrol --help` and the way to an unreachable fleet stay fast: the verbs import
    numpy, PIL, rclpy, cryptography ... only when they run."""
    code = ("import sys; from dawnpatrol_fleet.cli import build_parser; build_parser(); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"


def _actions(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"{path} {name}: no help text"
                found += _actions(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((path, action))
    return found


def test_every_command_and_option_has_help() -> None:
    actions = _actions(cli.build_parser(), "dawnpatrol")
    assert len(actions) > 60
    missing = [f"{path} {a.option_strings or a.dest}" for path, a in actions if not a.help]
    assert missing == []


def test_map_default_resolution_is_the_rasterizers() -> None:
    assert cli_map.DEFAULT_RESOLUTION == DEFAULT_RESOLUTION


class Reply:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


class FakeLink:
    """Stands in for FleetClient: records calls; ``answer(service, request)`` gives the reply
    or raises."""

    instances: list[FakeLink] = []

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.calls: list[tuple[str, Any, float | None]] = []
        self.direct: list[tuple[str, bool, str, str]] = []
        self.closed = False
        FakeLink.instances.append(self)

    answer: Any = None
    robots: list[str] = []

    def call(self, srv_type: Any, name: str, request: Any, timeout: float | None = None) -> Any:
        self.calls.append((name, request, timeout))
        return type(self).answer(name, request)

    def robot_estop_services(self, wait: float = 1.0) -> list[str]:
        return [f"/{r}/estop" for r in self.robots]

    def estop_robot_direct(self, robot_id: str, engage: bool, reason: str, operator: str) -> Any:
        self.direct.append((robot_id, engage, reason, operator))
        return Reply(success=True, message=f"{'stopped' if engage else 'released'} {robot_id}")

    def close(self) -> None:
        self.closed = True


OPERATORS = {"lee": "dispatcher", "kim": "supervisor"}


@pytest.fixture()
def link(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[FakeLink]:
    from dawnpatrol_core.security.keys import generate_private_key, write_private_key

    for name in OPERATORS:
        write_private_key(tmp_path / "keys" / f"{name}.key", generate_private_key())
    monkeypatch.setenv("DAWNPATROL_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("DAWNPATROL_OPERATOR", "lee")
    FakeLink.instances = []
    FakeLink.robots = []
    monkeypatch.setattr(client, "FleetClient", FakeLink)
    return FakeLink


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_request_goes_through_the_session_send(
        link: type[FakeLink], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One place sees each command with its target: where the signed envelope will attach."""
    from dawnpatrol_fleet.cli_base import FleetSession

    seen: list[tuple[Command, str]] = []
    send = FleetSession.send

    def spy(self: FleetSession, command: Command, *a: Any, **kw: Any) -> Any:
        seen.append((command, kw.get("target", "fleet")))
        return send(self, command, *a, **kw)

    monkeypatch.setattr(FleetSession, "send", spy)
    link.answer = lambda name, req: Reply(success=True, message=f"ok {name}")
    assert run(capsys, "patrol", "start", "--robot", "r2")[0] == 0
    assert run(capsys, "ack", "abc", "--note", "sent a car")[0] == 0
    assert run(capsys, "estop", "r1")[0] == 0
    assert run(capsys, "resume", "--all", "--operator", "kim")[0] == 0
    assert seen == [(Command.SET_PATROL, "r2"), (Command.ACK_ANOMALY, "fleet"),
                    (Command.ESTOP, "r1"), (Command.RESUME, "*")]
    requests = [c[1] for fake in link.instances for c in fake.calls]
    assert [r.operator_name for r in requests] == ["lee", "lee", "lee", "kim"]
    assert requests[2].engage is True and requests[3].engage is False
    assert requests[3].reason == "operator resume"
    assert all(fake.closed for fake in link.instances)
    # ... each signed by its operator for that command, target and arguments
    import time

    from dawnpatrol_core.security.envelope import signed_args, verify_command
    from dawnpatrol_core.security.keys import load_public_key
    from dawnpatrol_core.security.registry import Operator, OperatorRegistry
    from dawnpatrol_core.security.roles import parse_role
    from dawnpatrol_ros.signing import message_fields

    keys = Path(os.environ["DAWNPATROL_KEY_DIR"])
    reg = OperatorRegistry(tuple(Operator(n, parse_role(r), load_public_key(keys / f"{n}.pub"),
                                          0.0) for n, r in OPERATORS.items()))
    for (command, target), req in zip(seen, requests, strict=True):
        v = verify_command(req.envelope, command=command, target=target,
                           args=signed_args(command, message_fields(req)), registry=reg,
                           now=time.time())
        assert v.ok, v.reason


def test_without_a_key_an_estop_still_goes_out_unsigned_and_the_rest_fails(
        link: type[FakeLink], capsys: pytest.CaptureFixture[str]) -> None:
    link.answer = lambda name, req: Reply(success=True, message=f"ok {name}")
    code, out, err = run(capsys, "estop", "r1", "--operator", "nokey")
    assert code == 0 and "e-stop sent unsigned" in err
    assert link.instances[0].calls[0][1].envelope == ""
    code, out, err = run(capsys, "patrol", "start", "--operator", "nokey")
    assert code == 2 and err.count("\n") == 1
    assert "cannot sign set_patrol as nokey" in err and "nokey.key" in err
    assert len(link.instances[1].calls) == 0  # nothing unsigned was sent


def test_a_refusal_is_exit_1_with_the_fleets_line(
        link: type[FakeLink], capsys: pytest.CaptureFixture[str]) -> None:
    why = "refused get_status on fleet: operator not registered (operator lee)"
    link.answer = lambda name, req: Reply(robots=[], connection=[], summary_json="",
                                          refused=why)
    code, out, err = run(capsys, "status")
    assert (code, out, err) == (1, "", f"dawnpatrol status: {why}\n")


def test_fleet_silent_is_exit_3_with_one_line(
        link: type[FakeLink], capsys: pytest.CaptureFixture[str]) -> None:
    def silent(name: str, req: Any) -> Any:
        raise FleetUnreachableError(f"no answer from {name} within 3 s")

    link.answer = silent
    code, out, err = run(capsys, "status", "--json")
    assert (code, out) == (3, "")
    assert err == "dawnpatrol status: no answer from /fleet/get_status within 3 s\n"


def test_estop_goes_to_the_robots_when_the_fleet_is_down(
        link: type[FakeLink], capsys: pytest.CaptureFixture[str]) -> None:
    def silent(name: str, req: Any) -> Any:
        raise FleetUnreachableError(f"no answer from {name}")

    link.answer = silent
    link.robots = ["r1", "r2"]
    code, out, _ = run(capsys, "estop", "--all", "--reason", "drill", "--timeout", "9")
    assert code == 0
    fake = link.instances[0]
    assert [(n, t) for n, _, t in fake.calls] == [("/fleet/estop", 2.0)]
    assert fake.direct == [("r1", True, "drill", "lee"), ("r2", True, "drill", "lee")]
    assert out.splitlines() == ["r1: stopped r1 (direct, fleet manager not answering)",
                                "r2: stopped r2 (direct, fleet manager not answering)"]
    code, _, err = run(capsys, "resume", "--all")  # robots take only the fleet's resume
    assert code == 3 and err.count("\n") == 1 and "a resume needs the fleet manager" in err
    assert len(fake.direct) == 2
    link.robots = []
    code, _, err = run(capsys, "estop", "--all")
    assert code == 3 and err.count("\n") == 1 and "no robot e-stop service" in err
    code, _, err = run(capsys, "estop")
    assert code == 2 and err == "dawnpatrol estop: estop: name a robot or pass --all\n"


def test_refusals_and_failures_are_exit_codes_not_tracebacks(
        link: type[FakeLink], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    link.answer = lambda name, req: Reply(success=False, message="unknown alert 'x'")
    code, out, _ = run(capsys, "ack", "x")
    assert (code, out) == (1, "unknown alert 'x'\n")

    def broken(name: str, req: Any) -> Any:
        raise RuntimeError("boom")

    link.answer = broken
    code, _, err = run(capsys, "anomalies")
    assert (code, err) == (1, "dawnpatrol anomalies: boom\n")
    code, _, err = run(capsys, "deliver", str(tmp_path / "orders.txt"))
    assert code == 2 and err.endswith("expected a .csv, .yaml or .json orders file\n")
    code, _, err = run(capsys, "deliver", str(tmp_path / "missing.csv"))
    assert code == 2 and "cannot read" in err and err.count("\n") == 1


def test_status_json_has_no_nan(link: type[FakeLink], capsys: pytest.CaptureFixture[str]) -> None:
    from dawnpatrol_interfaces.msg import RobotStatus

    s = RobotStatus(robot_id="r1", battery_percent=87.26)
    s.eta_s = float("nan")
    link.answer = lambda name, req: Reply(robots=[s], connection=["online"],
                                          summary_json='{"orders": 2}')
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["summary"] == {"orders": 2}
    r1 = data["robots"][0]
    assert (r1["robot_id"], r1["connection"], r1["battery_percent"]) == ("r1", "online", 87.3)
    code, _, err = run(capsys, "robots", "r9")
    assert code == 2 and err == "dawnpatrol robots: robot 'r9': not known to the fleet\n"


def test_investigate_names_the_robot_its_eta_and_the_watch_point(
        link: type[FakeLink], capsys: pytest.CaptureFixture[str]) -> None:
    nan = float("nan")
    link.answer = lambda name, req: Reply(success=True, message="investigate ...", robot_id="r2",
                                          eta_s=115.6, watch_x=150.0, watch_y=98.04)
    code, out, err = run(capsys, "investigate", "150", "-96.5", "--note", "someone in the park",
                         "--operator", "kim")
    assert (code, out, err) == (0, "r2 goes: on scene in about 116 s, watching from (150.0, "
                                "98.0)\n", "")
    [(name, req, _)] = link.instances[0].calls
    assert (name, req.x, req.y, req.note, req.operator_name) == (
        "/fleet/investigate", 150.0, -96.5, "someone in the park", "kim")
    # signed by kim for investigate on the fleet, over x, y and the note
    import time

    from dawnpatrol_core.security.envelope import signed_args, verify_command
    from dawnpatrol_core.security.keys import load_public_key
    from dawnpatrol_core.security.registry import Operator, OperatorRegistry
    from dawnpatrol_core.security.roles import Role
    from dawnpatrol_ros.signing import message_fields

    keys = Path(os.environ["DAWNPATROL_KEY_DIR"])
    reg = OperatorRegistry((Operator("kim", Role.SUPERVISOR, load_public_key(keys / "kim.pub"),
                                     0.0),))
    args = signed_args(Command.INVESTIGATE, message_fields(req))
    assert args == {"x": 150.0, "y": -96.5, "note": "someone in the park"}
    assert verify_command(req.envelope, command=Command.INVESTIGATE, target="fleet", args=args,
                          registry=reg, now=time.time()).ok
    link.answer = lambda name, req: Reply(success=True, message="queued", robot_id="",
                                          eta_s=nan, watch_x=16.0, watch_y=18.0)
    code, out, _ = run(capsys, "investigate", "16", "14")
    assert (code, out) == (0, "queued: no robot can go yet without making a parcel late (it "
                              "will watch from (16.0, 18.0))\n")
    code, out, _ = run(capsys, "investigate", "16", "14", "--json")
    assert code == 0 and json.loads(out) == {
        "success": True, "message": "queued", "robot_id": "", "eta_s": None, "watch_x": 16.0,
        "watch_y": 18.0}
    why = "investigate: field 'x': got 9000.0, expected a place on the map (-4.0 to 34.0 m)"
    link.answer = lambda name, req: Reply(success=False, message=why, robot_id="", eta_s=nan,
                                          watch_x=nan, watch_y=nan)
    assert run(capsys, "investigate", "9000", "1") == (1, why + "\n", "")


@pytest.mark.parametrize("argv, expected", [
    (["abc", "3"], "x: got 'abc', expected a finite number of metres in the map frame"),
    (["1", "nan"], "y: got 'nan', expected a finite number of metres in the map frame"),
    (["inf", "1"], "x: got 'inf', expected a finite number"),
    (["1", "2", "--note", "two\nlines"], "--note: got 'two\\nlines', expected one printable "
                                         "line of at most 200 characters"),
    (["1", "2", "--note", "n" * 201], "--note: got 'nnnn"),
])
def test_investigate_bad_arguments_are_one_line_exit_2_and_send_nothing(
        link: type[FakeLink], capsys: pytest.CaptureFixture[str], argv: list[str],
        expected: str) -> None:
    link.answer = lambda name, req: pytest.fail("nothing may be sent")
    code, out, err = run(capsys, "investigate", *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"dawnpatrol investigate: {expected}") and err.count("\n") == 1
    assert link.instances == []  # no link to the fleet was even opened


def test_the_clis_note_limit_is_the_fleets() -> None:
    from dawnpatrol_core.fleet.services import MAX_NOTE
    from dawnpatrol_fleet.cli_calls import MAX_NOTE as CLI_MAX_NOTE

    assert CLI_MAX_NOTE == MAX_NOTE
