"""Pytest plugin of the workspace: DDS isolation for every test and a launcher fixture.

Loaded for every test run (see ``[tool.pytest.ini_options]`` in pyproject.toml). Each test gets
its own ``ROS_DOMAIN_ID`` and ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` in ``os.environ``, so
in-process rclpy and every child process stay on loopback and never see another test.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_counter = itertools.count()
# Domain ids 1..100 (valid for Fast DDS on Linux); the session offset keeps parallel runs apart.
_session_base = (os.getpid() * 7) % 100


def next_domain_id() -> int:
    return 1 + (_session_base + next(_counter)) % 100


@pytest.fixture(autouse=True)
def ros_isolation(monkeypatch: pytest.MonkeyPatch) -> int:
    """A test-unique ROS_DOMAIN_ID and loopback-only discovery, for this process and children."""
    domain = next_domain_id()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    monkeypatch.delenv("ROS_LOCALHOST_ONLY", raising=False)
    return domain


def wait_for(predicate: Callable[[], object], timeout: float,
             what: str | Callable[[], str]) -> None:
    """Poll ``predicate`` until truthy; fail the test naming ``what`` (or what it returns, to
    describe the state at the time) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    text = what if isinstance(what, str) else what()
    raise AssertionError(f"timed out after {timeout:g} s waiting for {text}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class LaunchedGraph:
    """A ``dawnpatrol-launch`` process started by a test, with its output captured."""

    def __init__(self, launch_file: str | Path, args: dict[str, str]) -> None:
        cmd = [sys.executable, "-m", "dawnpatrol_launch.cli", str(launch_file)]
        cmd += [f"{k}:={v}" for k, v in args.items()]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
        self.lines: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def child_pids(self) -> dict[str, list[int]]:
        """Node name -> pids the launcher reported starting, in order."""
        out: dict[str, list[int]] = {}
        for m in re.finditer(r"\[launch\] started (\S+) \[pid (\d+)\]", self.output):
            out.setdefault(m.group(1), []).append(int(m.group(2)))
        return out

    def wait_output(self, pattern: str, timeout: float = 30.0) -> None:
        wait_for(
            lambda: re.search(pattern, self.output), timeout, f"output /{pattern}/\n{self.output}"
        )

    def interrupt(self, timeout: float = 20.0) -> int:
        """Ctrl-C the launcher and wait for it; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., LaunchedGraph]]:
    """Start launch files through our launcher; everything is stopped at teardown, and each
    graph's whole output is kept as ``launch-<n>.log`` in the test's ``tmp_path``."""
    started: list[LaunchedGraph] = []

    def start(launch_file: str | Path, **args: str) -> LaunchedGraph:
        graph = LaunchedGraph(launch_file, args)
        started.append(graph)
        return graph

    yield start
    for graph in started:
        if graph.proc.poll() is None:
            graph.proc.send_signal(signal.SIGINT)
            try:
                graph.proc.wait(20)
            except subprocess.TimeoutExpired:
                graph.proc.kill()
        for pids in graph.child_pids().values():
            for pid in pids:
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
    for n, graph in enumerate(started, 1):
        (tmp_path / f"launch-{n}.log").write_text(graph.output + "\n", encoding="utf-8")


class FleetKey:
    """A fleet key pair in ``directory`` (``fleet.key`` / ``fleet.pub``, as the fleet manager
    makes on its first start), signing what the fleet sends robots — for tests that play the
    fleet in front of real robot nodes."""

    def __init__(self, directory: str | Path) -> None:
        from dawnpatrol_core.security.gate import FleetSigner, ensure_fleet_key

        self.key_file = ensure_fleet_key(directory)
        self.pub = self.key_file.with_suffix(".pub")
        self.signer = FleetSigner(self.key_file)

    def sign(self, command: str, robot_id: str, request: object, now: float | None = None,
             lifetime_s: float = 10.0) -> object:
        """``request`` (a message) with the fleet's envelope for ``command`` to ``robot_id``;
        a Mission goal's signature covers its digest. ``now``: wall-clock s."""
        from dawnpatrol_ros.signing import message_fields, mission_fields

        fields = (mission_fields(robot_id, request) if command == "mission"
                  else message_fields(request))
        request.envelope = self.signer.sign(  # type: ignore[attr-defined]
            command, robot_id, fields, time.time() if now is None else now, lifetime_s)
        return request
