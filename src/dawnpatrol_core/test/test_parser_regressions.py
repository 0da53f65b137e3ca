"""Regressions: each input here crashed a parser (or was accepted as garbage) until the fuzz
tests (test_fuzz_parsers.py) found it. Each must now give one short DawnPatrolError line."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from dawnpatrol_core.anomaly.events import (
    Detection,
    EventManager,
    event_from_dict,
    event_to_dict,
    make_evidence,
)
from dawnpatrol_core.delivery.mission import mission_config
from dawnpatrol_core.delivery.orders import load_orders
from dawnpatrol_core.errors import (
    AnomalyError,
    ConfigError,
    DawnPatrolError,
    MapError,
    OrderError,
    field_error,
)
from dawnpatrol_core.localization.params import LocalizationParams
from dawnpatrol_core.maps.addresses import load_addresses
from dawnpatrol_core.maps.georef import load_georef
from dawnpatrol_core.maps.occupancy_io import read_map_yaml
from dawnpatrol_core.maps.route_io import load_route_graph
from dawnpatrol_core.maps.zones import load_zones

REPO = Path(__file__).resolve().parents[3]
YARD = REPO / "maps" / "test_yard"
HUGE = 10**400  # JSON and YAML read it as an int; float() overflows


def one_line(exc: pytest.ExceptionInfo[DawnPatrolError]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and "\r" not in msg and len(msg) < 400, msg
    return msg


def test_field_error_cuts_hostile_values_and_names() -> None:
    msg = field_error("f.csv", "a\nb", HUGE, "a number", 3)
    assert "\n" not in msg and len(msg) < 200 and msg.startswith("f.csv:3: field ")
    assert "'x' * 500" not in field_error("f", "x", "x" * 500, "e") and len(
        field_error("f", "x", "x" * 500, "e")) < 120
    assert "<an integer of" in field_error("f", "x", 10**5000, "e")  # repr() itself refuses


def _orders(tmp_path: Path, name: str, data: bytes) -> pytest.ExceptionInfo[OrderError]:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(OrderError) as exc:
        load_orders(p, {}, 0.0, 60.0, 4)
    return exc


def test_orders_not_utf8_and_hostile_values(tmp_path: Path) -> None:
    assert "UTF-8" in one_line(_orders(tmp_path, "o.csv", b"id\n\x80\xff"))
    exc = _orders(tmp_path, "o.json", json.dumps([HUGE]).encode())
    assert len(str(exc.value)) < 300
    exc = _orders(tmp_path, "o.json", json.dumps([{"id": "A", "x\ny": 1}]).encode())
    for line in str(exc.value).split("\n"):  # one problem a line, each naming the file
        assert line.startswith(str(tmp_path / "o.json"))


def _geojson(tmp_path: Path, feats: list[object] | bytes, name: str = "z.geojson") -> Path:
    p = tmp_path / name
    if isinstance(feats, bytes):
        p.write_bytes(feats)
    else:
        p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}),
                     encoding="utf-8")
    return p


def _zone(geometry: dict[str, object], **props: object) -> dict[str, object]:
    return {"type": "Feature", "geometry": geometry,
            "properties": {"id": "z", "kind": "operating_area", **props}}


SQUARE = [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]


@pytest.mark.parametrize("feats, needle", [
    ([_zone({"type": "Polygon"})], "coordinates"),                     # KeyError in shapely
    ([_zone({"type": "Polygon", "coordinates": [[[0, 0], [HUGE, 0], [1, 1], [0, 0]]]})],
     "finite numbers"),                                                # OverflowError
    ([_zone({"type": "Polygon", "coordinates": [[[0, 0], [1e308, 0], [1, 1], [0, 0]]]})],
     "finite numbers"),                                                # overflow in GEOS
    ([_zone({"type": "Polygon", "coordinates": SQUARE}, kind="depot")], "pose"),  # KeyError
    ([_zone({"type": "Polygon", "coordinates": SQUARE}, kind="speed_limit",
            speed_limit=float("nan"))], "speed_limit"),                # NaN was accepted
])
def test_zones_regressions(tmp_path: Path, feats: list[object], needle: str) -> None:
    with pytest.raises(MapError) as exc:
        load_zones(_geojson(tmp_path, feats))
    assert needle in one_line(exc)


def _node(i: int, xy: list[object]) -> dict[str, object]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": xy},
            "properties": {"id": i, "frame": "map"}}


def _edge(start: object, end: object = 2) -> dict[str, object]:
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []},
            "properties": {"id": 10, "startid": start, "endid": end}}


@pytest.mark.parametrize("feats, needle", [
    ([_node(1, [0, 0]), _node(2, [5, 0]), _edge([1])], "startid"),  # unhashable: TypeError
    ([_node(1, [0, HUGE])], "finite numbers"),                        # OverflowError
    ([_node(1, [0, float("nan")])], "finite numbers"),                # NaN node accepted
    ([_node(1, [0, 0]), _node(2, [5, 0]),
      {**_edge(1), "properties": {**_edge(1)["properties"],           # type: ignore[dict-item]
                                  "metadata": {"speed_limit": float("nan")}}}], "speed_limit"),
])
def test_routes_regressions(tmp_path: Path, feats: list[object], needle: str) -> None:
    with pytest.raises(MapError) as exc:
        load_route_graph(_geojson(tmp_path, feats, "r.geojson"))
    assert needle in one_line(exc)


@pytest.mark.parametrize("data", [b"\x80\xff", b"[" * 100_000])  # UnicodeDecodeError, recursion
def test_geojson_bytes_regressions(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(MapError) as exc:
        load_zones(_geojson(tmp_path, data))
    one_line(exc)


@pytest.mark.parametrize("text, needle", [
    ("addresses: [{id: a, address_ko: x, address_en: y, pose: [0, 0, .nan], handover: pin}]",
     "pose"),                                                          # NaN pose accepted
    (f"addresses: [{{id: a, address_ko: {HUGE}, address_en: y}}]", "address_ko"),  # 400 digits
    ("addresses: [{id: a, address_ko: x, address_en: y, pose: 2026-13-45}]", "cannot read"),
    ("addresses: [{id: a, address_ko: x, address_en: y, handover: pin, pose: [0, 0, "
     + str(HUGE) + "]}]",
     "pose"),
])
def test_addresses_regressions(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "addresses.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(MapError) as exc:
        load_addresses(p)
    assert needle in one_line(exc)


def test_addresses_and_georef_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "f.yaml"
    p.write_bytes(b"origin: \x80\xff")
    for load in (load_addresses, load_georef):
        with pytest.raises(MapError) as exc:
            load(p)
        one_line(exc)


@pytest.fixture()
def map_dir(tmp_path: Path) -> Path:
    (tmp_path / "map.pgm").write_bytes(b"P5\n2 2\n255\n\x00\x00\xff\xff")
    return tmp_path


@pytest.mark.parametrize("change, needle", [
    ({"resolution": float("nan")}, "resolution"),                     # NaN was accepted
    ({"origin": [0.0, float("inf"), 0.0]}, "origin"),                 # inf was accepted
    ({"image": "x\ry.pgm"}, "image"),                                 # raw CR in the message
    ({"image": "notes.txt"}, "image"),                                # PIL error escaped
])
def test_map_yaml_regressions(map_dir: Path, change: dict[str, object], needle: str) -> None:
    (map_dir / "notes.txt").write_text("not an image", encoding="utf-8")
    doc = {**yaml.safe_load((YARD / "map.yaml").read_text(encoding="utf-8")), **change}
    (map_dir / "map.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(MapError) as exc:
        read_map_yaml(map_dir / "map.yaml")
    assert needle in one_line(exc)


@pytest.mark.parametrize("pgm", [b"P5\nx 2\n255\n", b"P5\n0 0\n255\n"])
def test_pgm_header_regressions(map_dir: Path, pgm: bytes) -> None:
    (map_dir / "map.pgm").write_bytes(pgm)  # int('x') ValueError; 0x0 reshape
    (map_dir / "map.yaml").write_text((YARD / "map.yaml").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    with pytest.raises(MapError) as exc:
        read_map_yaml(map_dir / "map.yaml")
    one_line(exc)


MISSION = yaml.safe_load((REPO / "params" / "mission.yaml").read_text(encoding="utf-8")
                         )["/**"]["ros__parameters"]


@pytest.mark.parametrize("values", [
    {k: v for k, v in MISSION.items() if k != "robot_id"},            # KeyError
    None,                                                             # TypeError
    {**MISSION, "absent_after_s": HUGE},                              # OverflowError
    {**MISSION, "pin_timeout_s": float("inf")},                       # inf was accepted
    {**MISSION, "shift_end": HUGE},                                   # OverflowError
])
def test_mission_params_regressions(values: object) -> None:
    with pytest.raises(ConfigError) as exc:
        mission_config(values, "/r1")  # type: ignore[arg-type]
    one_line(exc)


@pytest.mark.parametrize("values", [None, {**asdict(LocalizationParams()), "alpha1": HUGE}])
def test_localization_params_regressions(values: object) -> None:
    with pytest.raises(ConfigError) as exc:
        LocalizationParams.from_mapping(values, "params/localization.yaml")  # type: ignore[arg-type]
    one_line(exc)


def test_event_with_a_huge_integer_is_refused() -> None:
    m = EventManager("r1", np.random.default_rng(1))
    e = m.report(Detection("intrusion", "t:1", 1.0, 2.0, 10.0, 9.0, zone="z",
                           evidence=make_evidence([[10.0, 1.0, 2.0]], [[1.0, 1.0]])), 10.0)
    assert e is not None
    d = event_to_dict(e)
    for key, value in (("x", HUGE), ("confidence", HUGE), ("evidence", {"track": [[HUGE, 1, 1]]}),
                       ("evidence", {"track": [], 3: []})):
        with pytest.raises(AnomalyError) as exc:
            event_from_dict({**d, key: value})
        one_line(exc)
    assert math.isfinite(event_from_dict(d).x)
