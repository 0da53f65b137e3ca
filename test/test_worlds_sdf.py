"""Every committed world and robot model is valid SDFormat for `ign sdf -k` (as Gazebo reads it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SDF_FILES = sorted(REPO.glob("sim/worlds/*.sdf")) + [REPO / "sim/models/dawnbot/model.sdf"]


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ign", "sdf", "-k", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.skipif(shutil.which("ign") is None, reason="ignition-tools (ign sdf) not installed")
@pytest.mark.parametrize("path", SDF_FILES, ids=lambda p: p.name)
def test_sdf_is_valid(path: Path) -> None:
    res = _check(path)
    assert res.returncode == 0, res.stderr + res.stdout
    assert "Valid." in res.stdout


@pytest.mark.skipif(shutil.which("ign") is None, reason="ignition-tools (ign sdf) not installed")
def test_checker_rejects_invalid_sdf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sdf"
    bad.write_text(
        '<sdf version="1.9"><world name="w"><model name="m"><link name="l">'
        '<collision name="c"/><visual name="c"/></link></model></world></sdf>'
    )
    assert _check(bad).returncode != 0


def test_expected_files_present() -> None:
    names = {p.name for p in SDF_FILES}
    assert {"test_yard.sdf", "model.sdf"} <= names
