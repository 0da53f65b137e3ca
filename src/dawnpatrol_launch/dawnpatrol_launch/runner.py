"""Runs resolved launch nodes as child processes: output to the screen (prefixed) or to a log
file per node, respawn, clean shutdown."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from dawnpatrol_launch.resolve import NodeSpec

#: Variables forced into every child: DDS discovery stays on this machine.
FORCED_ENV = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
_PR_SET_PDEATHSIG = 1
#: Lines of a failed node's log printed to the screen.
TAIL_LINES = 20


def _die_with_parent() -> None:
    """Ask the kernel to SIGTERM the child if the launcher itself dies (even by SIGKILL)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(slots=True)
class _Proc:
    spec: NodeSpec
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    done: bool = False
    returncode: int | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    pump: threading.Thread | None = None


class LaunchRunner:
    """Start every node, relay its output (``[name] line`` on the screen and/or
    ``log_dir/<name>.log``), respawn, and shut down cleanly.

    Shutdown sends SIGTERM, then SIGKILL after ``stop_timeout`` s. SIGTERM, not SIGINT: rclpy
    nodes shut down on either alike (ExternalShutdownException), but a Python process still
    importing turns SIGINT into a KeyboardInterrupt traceback and ends quietly on SIGTERM.
    ``run()`` returns the launcher's exit code: 0, or, when a node
    marked ``on_exit="shutdown"`` failed, that node's exit code (2: bad configuration), 1 if it
    died by a signal. A node that fails has the tail of its output printed.
    """

    def __init__(
        self,
        specs: Sequence[NodeSpec],
        base_env: Mapping[str, str] | None = None,
        out: IO[str] | None = None,
        stop_timeout: float = 8.0,
        log_dir: str | Path | None = None,
    ) -> None:
        self._procs = [_Proc(s) for s in specs]
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self._env = dict(os.environ if base_env is None else base_env)
        self._env.update(FORCED_ENV)
        self._out = out or sys.stdout
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stop_timeout = stop_timeout
        self._exit_code = 0

    def request_shutdown(self, reason: str = "") -> None:
        """Ask the run loop to stop every process (safe from a signal handler)."""
        if reason:
            self._log("launch", f"shutting down: {reason}")
        self._stop.set()

    def _log(self, name: str, line: str) -> None:
        with self._lock:
            self._out.write(f"[{name}] {line}\n")
            self._out.flush()

    def _start(self, proc: _Proc) -> None:
        env = dict(self._env)
        for key, value in proc.spec.env:
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        env.update(FORCED_ENV)
        env.setdefault("PYTHONUNBUFFERED", "1")
        proc.popen = subprocess.Popen(
            list(proc.spec.command),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log = self.log_path(proc.spec)
        self._log("launch", f"started {proc.spec.name} [pid {proc.popen.pid}]")
        proc.tail.clear()
        proc.pump = threading.Thread(target=self._pump, args=(proc, proc.popen, log), daemon=True)
        proc.pump.start()

    def log_path(self, spec: NodeSpec) -> Path | None:
        """The file a node's output goes to (None: screen only)."""
        if spec.output == "screen":
            return None
        base = self._log_dir or Path.home() / ".ros" / "log" / "dawnpatrol-launch"
        return base / (spec.name.replace("/", "_") + ".log")

    def _pump(self, proc: _Proc, popen: subprocess.Popen[bytes], log: Path | None) -> None:
        assert popen.stdout is not None
        screen = proc.spec.output in ("screen", "both")
        fh = None
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            fh = log.open("a", encoding="utf-8")
        try:
            for raw in iter(popen.stdout.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                proc.tail.append(line)
                if fh is not None:
                    fh.write(line + "\n")
                    fh.flush()
                if screen:
                    self._log(proc.spec.name, line)
        finally:
            if fh is not None:
                fh.close()

    def _report_failure(self, proc: _Proc, code: int) -> None:
        """A node that failed while running: its last lines, when they went only to a file."""
        if code == 0 or proc.spec.output == "screen" or self._stop.is_set():
            return
        if proc.pump is not None:
            proc.pump.join(timeout=2.0)  # the last lines may still be in the pipe
        for line in list(proc.tail):
            self._log(proc.spec.name, line)

    def run(self) -> int:
        """Run until every node has ended or shutdown is requested; return the exit code."""
        logs = {path.parent for p in self._procs if (path := self.log_path(p.spec)) is not None}
        for folder in sorted(logs):
            self._log("launch", f"node logs in {folder}")
        for p in self._procs:
            self._start(p)
        respawn_at: dict[int, float] = {}
        while not self._stop.is_set():
            alive = False
            for i, p in enumerate(self._procs):
                if p.done or p.popen is None:
                    continue
                code = p.popen.poll()
                if code is None:
                    alive = True
                    continue
                if i in respawn_at:
                    alive = True
                    if time.monotonic() >= respawn_at[i]:
                        del respawn_at[i]
                        p.restarts += 1
                        self._start(p)
                    continue
                self._log("launch", f"{p.spec.name} exited with code {code}")
                self._report_failure(p, code)
                if p.spec.required:
                    p.done, p.returncode = True, code
                    if code != 0:
                        self._exit_code = code if code > 0 else 1
                    self.request_shutdown(f"required node {p.spec.name} ended")
                    break
                if p.spec.respawn:
                    alive = True
                    respawn_at[i] = time.monotonic() + p.spec.respawn_delay
                    self._log("launch", f"respawning {p.spec.name} in {p.spec.respawn_delay:g} s")
                else:
                    p.done, p.returncode = True, code
            if not alive:
                break
            self._stop.wait(0.1)
        self._shutdown()
        return self._exit_code

    def _running(self) -> list[subprocess.Popen[bytes]]:
        return [p.popen for p in self._procs if p.popen is not None and p.popen.poll() is None]

    def _signal_all(self, sig: int) -> None:
        for popen in self._running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, sig)

    def _wait_all(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._running() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._running()

    def _shutdown(self) -> None:
        if not self._running():
            return
        for sig, timeout, label in (
            (signal.SIGTERM, self._stop_timeout, "SIGTERM"),
            (signal.SIGKILL, 2.0, "SIGKILL"),
        ):
            if not self._running():
                break
            if sig != signal.SIGTERM:
                self._log("launch", f"escalating to {label}")
            self._signal_all(sig)
            self._wait_all(timeout)
        for p in self._procs:
            if p.popen is not None:
                p.popen.wait()
