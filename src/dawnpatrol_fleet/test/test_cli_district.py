"""`dawnpatrol district new|check` and `map show` on a generated district, through cli.main."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dawnpatrol_fleet import cli

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "src" / "dawnpatrol_core" / "test"))
from district_fixtures import courtyard_world, osm_extract  # noqa: E402


def test_new_then_check_then_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = courtyard_world(tmp_path / "courtyard.sdf")
    out = tmp_path / "maps" / "courtyard"
    assert cli.main(["district", "new", str(world), "--out", str(out)]) == 0
    o = capsys.readouterr()
    assert f"wrote {out}: " in o.out and f"{out}: ok — " in o.out
    assert "walkable space" in o.err  # progress on stderr
    for f in ("map.yaml", "map.pgm", "routes.geojson", "addresses.yaml", "zones.geojson",
              "georef.yaml"):
        assert (out / f).is_file(), f
    assert cli.main(["district", "new", str(world), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]
    assert cli.main(["district", "check", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{out}: ok — ") and "3 entrances reachable from 2 depot bays" in line
    assert cli.main(["map", "show", str(out), "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_check_lists_problems_and_exits_2(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "yard"
    assert cli.main(["district", "new", str(REPO / "sim" / "worlds" / "test_yard.sdf"),
                     "--out", str(out), "--no-check"]) == 0
    capsys.readouterr()
    zones = json.loads((out / "zones.geojson").read_text())
    zones["features"].append({"type": "Feature", "properties": {"id": "bad", "kind": "keep_out"},
                              "geometry": {"type": "Polygon", "coordinates": [
                                  [[0, 0], [4, 4], [4, 0], [0, 4], [0, 0]]]}})
    (out / "zones.geojson").write_text(json.dumps(zones))
    assert cli.main(["district", "check", str(out)]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{out / 'zones.geojson'}: bad: ")
    assert cli.main(["district", "check", str(out), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["problems"][0]["feature"] == "bad"


def test_osm_source_with_sites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extract = osm_extract(tmp_path / "street.osm")
    sites = tmp_path / "sites.yaml"
    sites.write_text("depot:\n  - {x: -40.0, y: 5.0, yaw: 0.0}\n", encoding="utf-8")
    out = tmp_path / "street"
    assert cli.main(["district", "new", str(extract), "--out", str(out),
                     "--origin", "37.28,127.04,40", "--sites", str(sites)]) == 0
    assert "ok — " in capsys.readouterr().out
    # without an origin an OSM extract cannot be placed
    assert cli.main(["district", "new", str(extract), "--out", str(tmp_path / "x")]) == 2
    assert "--origin" in capsys.readouterr().err


@pytest.mark.parametrize("argv, expected", [
    (["district", "new", "nope.sdf", "--out", "x"], "no such file"),
    (["district", "check", "/nonexistent/dir"], "not a directory"),
])
def test_bad_input_is_one_line(argv: list[str], expected: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]


def test_bad_origin_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["district", "new", "w.sdf", "--out", "x", "--origin", "north"])
    assert exc.value.code == 2 and "LAT,LON" in capsys.readouterr().err
