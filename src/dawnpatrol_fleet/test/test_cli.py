"""The `dawnpatrol` CLI against a running fleet manager and a fake robot (subprocesses), and
without any fleet (exit 3). The operator 'lee' signs with a key registered as dispatcher."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fleet_fakes import FakeRobot, FleetProcess, Operators, ServiceCaller, anomaly, wait_for

from dawnpatrol_interfaces.srv import FleetStatus

pytestmark = pytest.mark.ros
UUID = "3c7c1a52-8c1e-4a7e-9a0e-3d2f5e6a7b13"


def cli(*args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dawnpatrol_fleet.cli", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**__import__("os").environ, "DAWNPATROL_OPERATOR": "lee"})


def strict_json(name: str) -> None:
    raise AssertionError(f"{name} in --json output: not JSON")


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """lee's key, where the CLI looks for it."""
    from dawnpatrol_core.security.keys import generate_private_key, write_private_key

    keys = tmp_path / "keys"
    write_private_key(keys / "lee.key", generate_private_key())
    monkeypatch.setenv("DAWNPATROL_KEY_DIR", str(keys))
    return keys


def test_unreachable_fleet_exits_3_quickly() -> None:
    t0 = time.monotonic()
    p = cli("status", "--json")  # default timeout
    assert p.returncode == 3
    # the acceptance bound is 5 s; the margin covers interpreter start on a loaded machine
    assert time.monotonic() - t0 < 7.0
    assert len(p.stderr.strip().splitlines()) == 1 and "fleet" in p.stderr


def test_commands_against_a_running_fleet(tmp_path: Path) -> None:
    robot = FakeRobot("r1")
    fleet = FleetProcess(tmp_path / "data")
    try:
        caller = ServiceCaller(robot)
        # `dawnpatrol keys add lee ... --role dispatcher` on the fleet's machine
        caller.ops = Operators(tmp_path / "data", tmp_path / "keys", {"lee": "dispatcher"})

        def online() -> bool:
            res = caller.call(FleetStatus, "/fleet/get_status", FleetStatus.Request(),
                              sign=caller.ops.signer("lee", "get_status"))
            return list(res.connection) == ["online"]

        wait_for(online, 20, "r1 online")
        p = cli("status", "--timeout", "15", "--json")
        assert p.returncode == 0, p.stderr
        data = json.loads(p.stdout, parse_constant=strict_json)
        assert [r["robot_id"] for r in data["robots"]] == ["r1"]
        assert data["robots"][0]["connection"] == "online" and "orders" in data["summary"]

        robot.anomaly_pub.publish(anomaly(UUID))
        wait_for(lambda: robot.acks, 10, "receipt")
        p = cli("anomalies", "--timeout", "15", "--json")
        assert p.returncode == 0, p.stderr
        items = json.loads(p.stdout)
        assert [(a["uuid"], a["kind"], a["acknowledged"]) for a in items] == [
            (UUID, "loitering", False)]

        p = cli("ack", "--timeout", "15", UUID, "--note", "patrol car sent")
        assert p.returncode == 0, p.stderr
        p = cli("anomalies", "--timeout", "15", "--unacked", "--json")
        assert json.loads(p.stdout) == []
        assert cli("ack", "--timeout", "15", "no-such-id").returncode == 1

        bad = tmp_path / "bad.csv"
        bad.write_text("id,address_id,window_start,window_end\nX-1,nowhere,02:10,03:00\n"
                       "X-2,101-1,03:00,02:00\n")
        p = cli("deliver", "--timeout", "15", str(bad))
        assert p.returncode == 2
        assert "unknown address" in p.stderr and "X-2" not in p.stdout
        assert sum(line.startswith(str(bad)) for line in p.stderr.splitlines()) == 2

        p = cli("estop", "--timeout", "15", "--all", "--reason", "drill")
        assert p.returncode == 0, p.stderr + p.stdout
        assert [r.engage for r in robot.estops] == [True]
        assert robot.estops[0].operator_name == "lee"
    finally:
        fleet.kill()
        robot.close()
