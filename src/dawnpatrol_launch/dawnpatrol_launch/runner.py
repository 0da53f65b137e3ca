"""Runs resolved launch nodes as child processes: prefixed output, respawn, clean shutdown."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from dawnpatrol_launch.resolve import NodeSpec

#: Variables forced into every child: DDS discovery stays on this machine.
FORCED_ENV = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
_PR_SET_PDEATHSIG = 1


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


class LaunchRunner:
    """Start every node, relay output as ``[name] line``, respawn, and shut down cleanly.

    Shutdown sends SIGINT, then SIGTERM after ``sigterm_timeout`` s, then SIGKILL after
    ``sigkill_timeout`` s more. ``run()`` returns the launcher's exit code: non-zero when a node
    marked ``on_exit="shutdown"`` failed, or when shutdown had to escalate past SIGINT… no: only
    required failures count.
    """

    def __init__(
        self,
        specs: Sequence[NodeSpec],
        base_env: Mapping[str, str] | None = None,
        out: IO[str] | None = None,
        sigterm_timeout: float = 5.0,
        sigkill_timeout: float = 3.0,
    ) -> None:
        self._procs = [_Proc(s) for s in specs]
        self._env = dict(os.environ if base_env is None else base_env)
        self._env.update(FORCED_ENV)
        self._out = out or sys.stdout
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sigterm_timeout = sigterm_timeout
        self._sigkill_timeout = sigkill_timeout
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
        self._log("launch", f"started {proc.spec.name} [pid {proc.popen.pid}]")
        threading.Thread(target=self._pump, args=(proc.spec.name, proc.popen), daemon=True).start()

    def _pump(self, name: str, popen: subprocess.Popen[bytes]) -> None:
        assert popen.stdout is not None
        for raw in iter(popen.stdout.readline, b""):
            self._log(name, raw.decode("utf-8", "replace").rstrip("\n"))

    def run(self) -> int:
        """Run until every node has ended or shutdown is requested; return the exit code."""
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
                if p.spec.required:
                    p.done, p.returncode = True, code
                    if code != 0:
                        self._exit_code = 1
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
            (signal.SIGINT, self._sigterm_timeout, "SIGINT"),
            (signal.SIGTERM, self._sigkill_timeout, "SIGTERM"),
            (signal.SIGKILL, 2.0, "SIGKILL"),
        ):
            if not self._running():
                break
            if sig != signal.SIGINT:
                self._log("launch", f"escalating to {label}")
            self._signal_all(sig)
            self._wait_all(timeout)
        for p in self._procs:
            if p.popen is not None:
                p.popen.wait()
