"""`district check`: a clean generated district passes; each injected problem gets its own line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dawnpatrol_core.maps.district_check import check_district
from dawnpatrol_core.maps.district_gen import build

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture()
def yard(tmp_path: Path) -> Path:
    """The test yard's generated district (building 101 spans 20..28 x 20..28 m)."""
    out = tmp_path / "yard"
    src = build.source_from_world(REPO / "sim" / "worlds" / "test_yard.sdf", out_dir=out)
    assert src.georef is not None
    build.write_district(build.generate_district(src, src.georef), out, write_grid=False)
    return out


def _edit_json(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text())
    edit(doc["features"])
    path.write_text(json.dumps(doc))


def _square(x0: float, y0: float, x1: float, y1: float) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def test_generated_district_passes(yard: Path) -> None:
    res = check_district(yard)
    assert res.ok, "\n".join(map(str, res.problems))
    assert (res.entrances, res.bays) == (1, 2) and res.nodes > 5


def test_each_problem_has_its_own_line(yard: Path) -> None:
    def routes(feats: list[dict[str, object]]) -> None:  # an edge through building 101
        feats += [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [18.0, 24.0]},
             "properties": {"id": 9001, "frame": "map"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [30.0, 24.0]},
             "properties": {"id": 9002, "frame": "map"}},
            {"type": "Feature",
             "geometry": {"type": "LineString", "coordinates": [[18.0, 24.0], [30.0, 24.0]]},
             "properties": {"id": 9901, "startid": 9001, "endid": 9002, "cost": 12.0}},
        ]

    def zones(feats: list[dict[str, object]]) -> None:
        feats.append({"type": "Feature", "geometry": {
            "type": "Polygon", "coordinates": [[[5, 5], [9, 9], [9, 5], [5, 9], [5, 5]]]},
            "properties": {"id": "bow_tie", "kind": "keep_out"}})
        feats.append({"type": "Feature", "geometry": _square(-20, -20, -12, -12), "properties": {
            "id": "hs_outside", "kind": "hotspot", "priority": [
                {"from_hour": 0, "to_hour": 6, "weight": 1}],
            "max_idleness_s": 900, "dwell_s": 30, "observation_pose": [-16, -16, 0]}})

    _edit_json(yard / "routes.geojson", routes)
    _edit_json(yard / "zones.geojson", zones)
    doc = yaml.safe_load((yard / "addresses.yaml").read_text())
    doc["addresses"].append({"id": "201-1", "address_ko": "201동", "address_en": "Bldg 201",
                             "pose": [24.0, 24.0, 0.0], "handover": "pin"})  # inside 101
    (yard / "addresses.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))

    res = check_district(yard)
    lines = [str(p) for p in res.problems]
    text = "\n".join(lines)

    def one(*words: str) -> str:
        hits = [ln for ln in lines if all(w in ln for w in words)]
        assert len(hits) == 1, f"{words}: {hits}\n{text}"
        return hits[0]

    assert one("routes.geojson", "9901", "occupied").startswith(str(yard / "routes.geojson"))
    one("zones.geojson", "bow_tie", "Self-intersection")
    one("zones.geojson", "hs_outside", "outside the operating area")
    one("addresses.yaml", "201-1", "not reachable")
    assert all(p.file.startswith(str(yard)) for p in res.problems)


def test_missing_and_malformed_files_are_problems_not_crashes(yard: Path) -> None:
    (yard / "georef.yaml").write_text("origin: {latitude_deg: 0, longitude_deg: 0}\n")
    (yard / "routes.geojson").unlink()
    res = check_district(yard)
    lines = [str(p) for p in res.problems]
    assert any("routes.geojson: missing" in ln for ln in lines)
    assert any("georef.yaml: origin: latitude and longitude are 0, 0" in ln for ln in lines)


def test_unreachable_watch_zone_and_cut_off_hotspot_are_reported(yard: Path) -> None:
    def zones(feats: list[dict[str, object]]) -> None:
        op = next(f for f in feats if f["properties"]["kind"] == "operating_area")  # type: ignore[index]
        op["geometry"] = _square(-100, -100, 100, 100)
        feats.append({"type": "Feature", "geometry": _square(-80, -80, -70, -70),
                      "properties": {"id": "watch_far", "kind": "watch"}})

    _edit_json(yard / "zones.geojson", zones)
    res = check_district(yard)
    assert [p.feature for p in res.problems] == ["watch_far"]
    assert "watch zone not reachable" in res.problems[0].what


@pytest.mark.parametrize("name", ["suwon_dawn", "test_yard"])
def test_shipped_districts_pass_their_own_check(name: str) -> None:
    res = check_district(REPO / "maps" / name)
    assert res.ok, "\n".join(map(str, res.problems))
