"""Loaders of dawnpatrol_core.maps: good fixtures parse exactly; each bad file gives one line
naming the file, the feature id and what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.maps.addresses import load_addresses
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.maps.grid import FREE, OCCUPIED, UNKNOWN
from dawnpatrol_core.maps.occupancy_io import decode_pgm, read_map_yaml
from dawnpatrol_core.maps.route_io import load_route_graph
from dawnpatrol_core.maps.zones import PriorityBand, load_zones

REPO = Path(__file__).resolve().parents[3]
YARD = REPO / "maps/test_yard"


def _copy_yard(tmp_path: Path) -> Path:
    d = tmp_path / "yard"
    shutil.copytree(YARD, d)
    return d


def _edit_json(path: Path, fn: Any) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc, indent=1))


def _one_line(exc: pytest.ExceptionInfo[MapError], *needles: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_route_graph_parses_exactly() -> None:
    g = load_route_graph(YARD / "routes.geojson")
    assert len(g.nodes) == 11 and len(g.edges) == 22
    e = g.edges[101]
    assert (e.start, e.end, e.length, e.speed_limit, e.width, e.crosswalk) == (
        1,
        2,
        12.0,
        1.5,
        2.0,
        False,
    )
    assert e.points == ((3.0, 3.0), (15.0, 3.0)) and e.cost == 12.0 and e.overridable is False
    assert set(g.out_edges[1]) == {101, 118, 121}
    assert g.nodes[6].name == "entrance_101-1"


def test_malformed_geojson(tmp_path: Path) -> None:
    p = tmp_path / "routes.geojson"
    p.write_text('{"type": "FeatureCollection",\n "features": [\n  {"type": "Feature",,}]}')
    with pytest.raises(MapError) as exc:
        load_route_graph(p)
    _one_line(exc, f"{p}:3:", "malformed GeoJSON")


def test_edge_naming_a_missing_node(tmp_path: Path) -> None:
    d = _copy_yard(tmp_path)

    def edit(doc: dict[str, Any]) -> None:
        doc["features"][-1]["properties"]["endid"] = 77

    _edit_json(d / "routes.geojson", edit)
    with pytest.raises(MapError) as exc:
        load_district_map(d)
    _one_line(exc, str(d / "routes.geojson"), "feature id 122", "'endid'", "77", "node")


def test_edge_geometry_must_meet_its_nodes(tmp_path: Path) -> None:
    d = _copy_yard(tmp_path)

    def edit(doc: dict[str, Any]) -> None:
        doc["features"][11]["geometry"]["coordinates"] = [[[3, 3], [16, 3]]]

    _edit_json(d / "routes.geojson", edit)
    with pytest.raises(MapError) as exc:
        load_route_graph(d / "routes.geojson")
    _one_line(exc, "feature id 101", "geometry.coordinates", "node 2")


def test_self_intersecting_zone(tmp_path: Path) -> None:
    d = _copy_yard(tmp_path)

    def edit(doc: dict[str, Any]) -> None:
        bowtie = [[14, 12], [18, 16], [18, 12], [14, 16], [14, 12]]
        doc["features"][1]["geometry"]["coordinates"] = [bowtie]

    _edit_json(d / "zones.geojson", edit)
    with pytest.raises(MapError) as exc:
        load_district_map(d)
    _one_line(exc, str(d / "zones.geojson"), "'keep_out_flower_bed'", "Self-intersection")


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("kind", "playground", "field 'kind'"),
        ("max_idleness_s", -5, "field 'max_idleness_s'"),
        ("observation_pose", [1, 2], "field 'observation_pose'"),
        ("priority", [{"from_hour": 22, "to_hour": 30, "weight": 1}], "priority.to_hour"),
    ],
)
def test_bad_hotspot_fields(tmp_path: Path, key: str, value: object, needle: str) -> None:
    d = _copy_yard(tmp_path)

    def edit(doc: dict[str, Any]) -> None:
        doc["features"][4]["properties"][key] = value

    _edit_json(d / "zones.geojson", edit)
    with pytest.raises(MapError) as exc:
        load_zones(d / "zones.geojson")
    _one_line(exc, "'hs_yard_corner'", needle)


def test_zones_and_hotspots_parse_exactly() -> None:
    zones, hotspots = load_zones(YARD / "zones.geojson")
    assert [z.kind for z in zones][:2] == ["operating_area", "keep_out"]
    (h,) = hotspots
    assert h.id == "hs_yard_corner" and h.observation_pose.as_tuple()[:2] == (8.0, 24.0)
    assert h.priority == (PriorityBand(22, 3, 1.0), PriorityBand(3, 6, 2.0))
    assert h.weight_at(23.5) == 1.0 and h.weight_at(2.0) == 1.0 and h.weight_at(4.0) == 2.0
    assert h.weight_at(12.0) == 0.0
    night = next(z for z in zones if z.kind == "night_restricted")
    assert night.hours == (23.0, 5.0)
    dock = next(z for z in zones if z.kind == "dock")
    assert dock.pose is not None and dock.pose.x == 1.85


def test_address_outside_operating_area(tmp_path: Path) -> None:
    d = _copy_yard(tmp_path)
    text = (
        (d / "addresses.yaml").read_text().replace("[24.0, 19.0, 1.5708]", "[45.0, 19.0, 1.5708]")
    )
    (d / "addresses.yaml").write_text(text)
    with pytest.raises(MapError) as exc:
        load_district_map(d)
    _one_line(exc, f"{d / 'addresses.yaml'}:4:", "'101-1'", "operating area")


def test_address_bad_handover(tmp_path: Path) -> None:
    d = _copy_yard(tmp_path)
    text = (d / "addresses.yaml").read_text().replace("handover: pin", "handover: drone")
    (d / "addresses.yaml").write_text(text)
    with pytest.raises(MapError) as exc:
        load_addresses(d / "addresses.yaml")
    _one_line(exc, "'101-1'", "field 'handover'", "'drone'")


def test_map_yaml_missing_image(tmp_path: Path) -> None:
    d = _copy_yard(tmp_path)
    (d / "map.pgm").unlink()
    with pytest.raises(MapError) as exc:
        load_district_map(d)
    _one_line(exc, f"{d / 'map.yaml'}:3:", "field 'image'", "'map.pgm'", "not found")


def test_read_map_yaml_trinary_and_orientation(tmp_path: Path) -> None:
    # 3 wide x 2 high, top row first: [0 254 128] / [254 254 0]; 205 reads as free at 0.25
    (tmp_path / "m.pgm").write_bytes(
        b"P5\n# comment\n3 2\n255\n" + bytes([0, 254, 128, 254, 254, 0])
    )
    (tmp_path / "map.yaml").write_text(
        "image: m.pgm\nresolution: 0.5\norigin: [-1.0, 2.0, 0.0]\nnegate: 0\n"
        "occupied_thresh: 0.65\nfree_thresh: 0.25\nmode: trinary\n"
    )
    g = read_map_yaml(tmp_path / "map.yaml")
    np.testing.assert_array_equal(g.data, [[FREE, FREE, OCCUPIED], [OCCUPIED, FREE, UNKNOWN]])
    assert (g.resolution, g.origin_x, g.origin_y) == (0.5, -1.0, 2.0)
    assert g.is_free_at(-0.25, 2.25) and not g.is_free_at(-0.75, 2.75)


def test_decode_pgm_rejects_wrong_magic() -> None:
    with pytest.raises(MapError, match="'P5'"):
        decode_pgm(b"P2\n1 1\n255\n0", "x.pgm")
