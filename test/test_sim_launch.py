"""sim.launch.xml against scenarios written for another fleet: it fails at once, in one line."""

from __future__ import annotations

import subprocess
import sys
import time

from dawnpatrol_pytest import REPO

DAWN = REPO / "sim" / "scenarios" / "dawn_shift.yaml"  # names r1, r2, r3


def test_scenario_naming_robots_not_launched_exits_2_at_once_in_one_line(tmp_path) -> None:
    start = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "dawnpatrol_launch.cli", str(REPO / "launch" / "sim.launch.xml"),
         "robot_count:=1", f"scenario:={DAWN}", f"report_dir:={tmp_path}"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    took = time.monotonic() - start
    out = res.stdout + res.stderr
    assert res.returncode == 2, out
    lines = [ln for ln in out.splitlines() if "names robots" in ln]
    assert len(lines) == 1, out
    assert "r1, r2, r3" in lines[0] and "starts r1 (robot_count:=1)" in lines[0], lines[0]
    assert str(DAWN.name) in lines[0]
    assert "Traceback" not in out, out
    # At once: not after the runner's 240 s wait for robots that never come up.
    # About 5 s on an idle machine; the bound leaves room for a loaded one (no timed tests).
    assert took < 60.0, f"took {took:.1f} s\n{out}"
