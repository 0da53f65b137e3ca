"""The launcher with real ROS 2 processes: namespaces, params, remaps, respawn, clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from dawnpatrol_pytest import REPO, pid_alive, wait_for

DEMO = REPO / "test" / "fixtures" / "talker_listener.launch.xml"


def _rows(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_two_nodes_exchange_message_and_ctrl_c_cleans_up(launch, tmp_path: Path) -> None:
    record = tmp_path / "heard.jsonl"
    graph = launch(DEMO, robot="r5", record_path=str(record))
    wait_for(lambda: len(_rows(record)) >= 3, 60, f"3 greetings in {record}\n{graph.output}")
    row = _rows(record)[-1]
    # robot_id came from <param>, scale 2.5 from the params file, topic from the remap, ns from
    # push-ros-namespace: each value is checked as received over DDS by the other process.
    assert row["robot_id"] == "r5"
    assert row["value"] == 2.5 * int(row["seq"])  # type: ignore[call-overload]
    assert row["node"] == "/r5/listener"
    assert row["topic"] == "/r5/chatter"
    assert row["discovery_range"] == "LOCALHOST"
    assert row["domain_id"] == os.environ["ROS_DOMAIN_ID"]
    pids = [p for ps in graph.child_pids().values() for p in ps]
    assert len(pids) == 2
    assert graph.interrupt() == 0
    wait_for(lambda: not any(pid_alive(p) for p in pids), 10, "no child process left")


def test_respawned_node_is_restarted(launch, tmp_path: Path) -> None:
    record = tmp_path / "heard.jsonl"
    graph = launch(DEMO, robot="r6", record_path=str(record), respawn_listener="true")
    wait_for(lambda: len(_rows(record)) >= 1, 60, "first greeting")
    first = graph.child_pids()["r6/listener"][0]
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: len(graph.child_pids().get("r6/listener", [])) >= 2, 20, "listener respawn")
    second = graph.child_pids()["r6/listener"][1]
    wait_for(lambda: any(r["pid"] == second for r in _rows(record)), 60, "respawned listener hears")
    assert graph.interrupt() == 0


def test_bad_launch_file_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.launch.xml"
    bad.write_text('<launch>\n  <node pkg="dawnpatrol_robot" exec="no_such_exe"/>\n</launch>\n')
    res = subprocess.run(
        [sys.executable, "-m", "dawnpatrol_launch.cli", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:2:" in lines[0] and "no such executable" in lines[0]


def test_required_node_failure_gives_nonzero_exit(tmp_path: Path) -> None:
    f = tmp_path / "req.launch.xml"
    f.write_text(
        '<launch>\n  <node pkg="dawnpatrol_test_fixtures" exec="talker" on_exit="shutdown">\n'
        '    <param name="rate_hz" value="1000.0"/>\n  </node>\n'
        '  <node pkg="dawnpatrol_test_fixtures" exec="listener"/>\n</launch>\n'
    )
    res = subprocess.run(
        [sys.executable, "-m", "dawnpatrol_launch.cli", str(f)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert res.returncode == 2, res.stdout  # the talker's own code: bad configuration
    assert "required node talker ended" in res.stdout


def test_log_output_goes_to_a_file_and_a_failing_node_shows_its_tail(tmp_path: Path) -> None:
    f = tmp_path / "log.launch.xml"
    f.write_text(
        '<launch>\n'
        '  <node pkg="dawnpatrol_test_fixtures" exec="talker" name="quiet" output="log"/>\n'
        '  <node pkg="dawnpatrol_test_fixtures" exec="talker" name="bad" output="log"'
        ' on_exit="shutdown">\n'
        '    <param name="rate_hz" value="1000.0"/>\n  </node>\n</launch>\n'
    )
    logs = tmp_path / "logs"
    res = subprocess.run(
        [sys.executable, "-m", "dawnpatrol_launch.cli", "--log-dir", str(logs), str(f)],
        capture_output=True, text=True, timeout=90,
    )
    # The required node's own exit code (2: bad configuration) is the launcher's.
    assert res.returncode == 2, res.stdout + res.stderr
    bad_line = "parameter 'rate_hz': got 1000.0, expected a number in [0.1, 100]"
    assert f"[bad] talker: {bad_line}" in res.stdout  # the failed node's tail, on screen
    assert bad_line in (logs / "bad.log").read_text()
    assert not any(line.startswith("[quiet]") for line in res.stdout.splitlines())
    assert (logs / "quiet.log").exists()
