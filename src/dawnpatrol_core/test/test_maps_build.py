"""`dawnpatrol map build` regenerates the committed grids byte for byte; CLI behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.maps.rasterize import build_map

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["test_yard", "suwon_dawn"])
def test_build_reproduces_committed_map(tmp_path: Path, name: str) -> None:
    build_map(REPO / f"sim/worlds/{name}.sdf", tmp_path)
    for f in ("map.pgm", "map.yaml", "georef.yaml"):
        assert (tmp_path / f).read_bytes() == (REPO / "maps" / name / f).read_bytes(), f


def test_yard_grid_cells_hand_checked() -> None:
    g = load_district_map(REPO / "maps/test_yard").grid
    assert (g.origin_x, g.origin_y, g.width, g.height) == (-4.0, -4.0, 760, 760)
    assert not g.is_free_at(10.0, 10.0)  # crate 9..11 x 9.5..10.5
    assert g.is_free_at(10.0, 10.7) and g.is_free_at(8.8, 10.0)
    assert not g.is_free_at(16.0, 14.35) and g.is_free_at(16.0, 14.5)  # tree r=0.4
    assert g.is_free_at(20.0, 2.0)  # 4 cm curb is below the sensing band
    assert g.is_free_at(6.0, 10.0)  # overhead sign is above it
    assert not g.is_free_at(15.0, -0.1) and g.is_free_at(15.0, 0.1)  # south wall face at y=0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [
            str(REPO / "src/dawnpatrol_core"),
            str(REPO / "src/dawnpatrol_fleet"),
            env.get("PYTHONPATH", ""),
        ]
    )
    return subprocess.run(
        [sys.executable, "-m", "dawnpatrol_fleet.cli_map", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_build_and_show(tmp_path: Path) -> None:
    out = tmp_path / "yard"
    res = _cli("map", "build", str(REPO / "sim/worlds/test_yard.sdf"), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert (out / "map.pgm").read_bytes() == (REPO / "maps/test_yard/map.pgm").read_bytes()
    png = tmp_path / "yard.png"
    res = _cli("map", "show", str(REPO / "maps/test_yard"), "--out", str(png), "--width", "300")
    assert res.returncode == 0, res.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args",
    [
        ("map", "build", "no/such/world.sdf", "--out", "x"),
        ("map", "show", "no/such/dir", "--out", "x.png"),
        ("map", "build", "w.sdf"),
        ("map", "build", "w.sdf", "--out", "x", "--resolution", "-1"),
    ],
)
def test_cli_errors_are_one_line_exit_2(args: tuple[str, ...]) -> None:
    res = _cli(*args)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
