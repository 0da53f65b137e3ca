"""Hostile input for every core file parser and validator: 1,000 generated inputs each (random
edits of valid documents, random text). Each returns, or raises a DawnPatrolError with one
short line; a batch is accepted whole or rejected whole; accepted numbers are finite."""

from __future__ import annotations

import csv
import io
import json
import math
import random
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pytest
import yaml
from hostile_inputs import (
    FUZZ,
    NASTY_TEXT,
    check_clean,
    json_text,
    mutate,
    mutated,
    random_text,
    text_edited,
)
from hypothesis import given
from hypothesis import strategies as st

from dawnpatrol_core.anomaly.events import (
    AnomalyEvent,
    Detection,
    EventManager,
    event_from_dict,
    event_from_json,
    event_to_dict,
    make_evidence,
)
from dawnpatrol_core.delivery.mission import mission_config
from dawnpatrol_core.delivery.orders import FIELDS, Order, load_orders
from dawnpatrol_core.errors import AnomalyError, DawnPatrolError
from dawnpatrol_core.localization.params import LocalizationParams
from dawnpatrol_core.maps.addresses import load_addresses
from dawnpatrol_core.maps.georef import load_georef
from dawnpatrol_core.maps.occupancy_io import read_map_yaml
from dawnpatrol_core.maps.route_io import load_route_graph
from dawnpatrol_core.maps.zones import load_zones
from dawnpatrol_core.store.inbox import Inbox

REPO = Path(__file__).resolve().parents[3]
YARD = REPO / "maps" / "test_yard"


@dataclass(frozen=True, slots=True)
class _Addr:
    x: float
    y: float


ADDRESSES = {"101-1": _Addr(24.0, 19.0), "102-1": _Addr(5.0, 5.0)}
ORDER_ROWS = [
    {"id": "O-1", "address_id": "101-1", "window_start": "02:05", "window_end": "02:30",
     "size": "1", "handover": "pin", "priority": "1"},
    {"id": "O-2", "lat": "37.2801", "lon": "127.0401", "window_start": "02:00",
     "window_end": "03:00", "size": "2", "handover": "door", "priority": "0"},
    {"id": "O-3", "address_id": "102-1", "window_start": 7500, "window_end": 9000},
]


def _finite_order(o: Order) -> bool:
    nums = [o.x, o.y, o.window_start, o.window_end] + [v for v in (o.lat, o.lon) if v is not None]
    return all(math.isfinite(v) for v in nums) and o.size >= 1 and o.handover in ("pin", "door")


def _load(path: Path) -> list[Order]:
    return load_orders(path, ADDRESSES, now=7200.0, service_time_s=60.0, max_compartments=4,
                       locate_latlon=lambda lat, lon: (lat - 37.28, lon - 127.04))


def _check_batch(path: Path, n_records: int | None) -> None:
    out = check_clean(lambda: _load(path), multi_line=True)
    if isinstance(out, DawnPatrolError):
        for line in str(out).split("\n"):
            assert line.startswith(str(path)), line
        return
    assert out, "an accepted batch has orders"
    assert all(_finite_order(o) for o in out), out
    assert len({o.id for o in out}) == len(out)
    if n_records is not None:  # all or nothing: every record became an order
        assert len(out) == n_records


@FUZZ
@given(doc=mutated(ORDER_ROWS, keys=list(FIELDS)), fmt=st.sampled_from(["json", "yaml", "wrapped"]))
def test_orders_json_and_yaml(tmp_path: Path, doc: object, fmt: str) -> None:
    if fmt == "wrapped":
        doc = {"orders": doc}
    path = tmp_path / ("orders.json" if fmt != "yaml" else "orders.yaml")
    if fmt == "yaml":
        try:
            text = yaml.safe_dump(doc, allow_unicode=True)
        except yaml.YAMLError:
            return
    else:
        text = json_text(doc)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    rows = doc["orders"] if isinstance(doc, dict) and isinstance(doc.get("orders"), list) else doc
    _check_batch(path, len(rows) if isinstance(rows, list) else None)


def _csv(rows: list[dict[str, object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(FIELDS)
    for r in rows:
        w.writerow(["" if r.get(k) is None else r.get(k) for k in FIELDS])
    return buf.getvalue()


def _csv_rows(r: random.Random) -> str:
    rows = [mutate(row, r, list(FIELDS), 2) for row in ORDER_ROWS]
    return _csv([row if isinstance(row, dict) else {"id": row} for row in rows])


@FUZZ
@given(text=st.one_of(text_edited(_csv(ORDER_ROWS)),
                      st.randoms(use_true_random=True).map(_csv_rows)))
def test_orders_csv(tmp_path: Path, text: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _check_batch(path, None)


@FUZZ
@given(raw=st.binary(max_size=200), ext=st.sampled_from([".csv", ".yaml", ".json"]))
def test_orders_any_bytes(tmp_path: Path, raw: bytes, ext: str) -> None:
    path = tmp_path / f"orders{ext}"
    path.write_bytes(raw)
    _check_batch(path, None)


# -- maps ----------------------------------------------------------------------------------------
ZONES = json.loads((YARD / "zones.geojson").read_text(encoding="utf-8"))
ROUTES = json.loads((YARD / "routes.geojson").read_text(encoding="utf-8"))
ROUTES_SMALL = {**ROUTES, "features": [f for f in ROUTES["features"]
                                       if f["geometry"]["type"] == "Point"][:4]}
_ids = {f["properties"]["id"] for f in ROUTES_SMALL["features"]}
ROUTES_SMALL["features"] += [f for f in ROUTES["features"] if f["geometry"]["type"] != "Point"
                             and f["properties"].get("startid") in _ids
                             and f["properties"].get("endid") in _ids][:4]
GEO_KEYS = ["type", "features", "properties", "geometry", "coordinates", "id", "kind",
            "speed_limit", "hours", "from_hour", "to_hour", "pose", "priority", "weight",
            "max_idleness_s", "observation_pose", "dwell_s", "startid", "endid", "cost",
            "overridable", "metadata", "width", "crosswalk", "frame", "name"]


@FUZZ
@given(doc=mutated(ZONES, keys=GEO_KEYS))
def test_zones(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "zones.geojson"
    path.write_text(json_text(doc), encoding="utf-8", errors="surrogatepass")
    out = check_clean(lambda: load_zones(path))
    if isinstance(out, tuple):
        zones, hotspots = out
        for z in zones:
            assert z.polygon.is_valid and not z.polygon.is_empty
            assert z.speed_limit is None or (math.isfinite(z.speed_limit) and z.speed_limit > 0)
            assert z.hours is None or all(0 <= h <= 24 for h in z.hours)
            assert z.pose is None or all(math.isfinite(v) for v in (z.pose.x, z.pose.y,
                                                                     z.pose.theta))
        for h in hotspots:
            assert math.isfinite(h.max_idleness_s) and math.isfinite(h.dwell_s)
            assert all(math.isfinite(b.weight) for b in h.priority)
            p = h.observation_pose
            assert all(math.isfinite(v) for v in (p.x, p.y, p.theta))


@FUZZ
@given(doc=mutated(ROUTES_SMALL, keys=GEO_KEYS))
def test_routes(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "routes.geojson"
    path.write_text(json_text(doc), encoding="utf-8", errors="surrogatepass")
    out = check_clean(lambda: load_route_graph(path))
    if not isinstance(out, DawnPatrolError):
        for n in out.nodes.values() if isinstance(out.nodes, dict) else out.nodes:
            assert math.isfinite(n.x) and math.isfinite(n.y), n
        for e in out.edges.values() if isinstance(out.edges, dict) else out.edges:
            assert math.isfinite(e.length) and e.speed_limit > 0 and e.width > 0, e
            assert math.isfinite(e.speed_limit) and math.isfinite(e.width), e
            assert e.cost is None or math.isfinite(e.cost), e


@FUZZ
@given(raw=st.one_of(st.binary(max_size=120),
                     st.builds(lambda n: b"[" * n, st.integers(900, 20_000))))
def test_geojson_any_bytes(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "zones.geojson"
    path.write_bytes(raw)
    check_clean(lambda: load_zones(path))
    check_clean(lambda: load_route_graph(path))


ADDRESSES_DOC = yaml.safe_load((YARD / "addresses.yaml").read_text(encoding="utf-8"))
ADDRESSES_DOC["addresses"].append({"id": "102-1", "address_ko": "x", "address_en": "y",
                                   "pose": [5.0, 5.0, 0.0], "handover": "door"})
ADDR_KEYS = ["addresses", "id", "address_ko", "address_en", "pose", "handover", "__line__"]


@FUZZ
@given(doc=mutated(ADDRESSES_DOC, keys=ADDR_KEYS), as_json=st.booleans())
def test_addresses(tmp_path: Path, doc: object, as_json: bool) -> None:
    path = tmp_path / "addresses.yaml"
    try:  # JSON is YAML too; json_text also writes NaN and 1e999 as a careless tool would
        text = json_text(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = check_clean(lambda: load_addresses(path))
    if isinstance(out, tuple):
        for a in out:
            assert all(math.isfinite(v) for v in (a.pose.x, a.pose.y, a.pose.theta)), a


GEOREF = yaml.safe_load((YARD / "georef.yaml").read_text(encoding="utf-8"))
MAPYAML = yaml.safe_load((YARD / "map.yaml").read_text(encoding="utf-8"))
MAP_KEYS = ["origin", "latitude_deg", "longitude_deg", "altitude_m", "image", "mode",
            "resolution", "negate", "occupied_thresh", "free_thresh"]


@FUZZ
@given(doc=mutated(GEOREF, keys=MAP_KEYS), as_json=st.booleans())
def test_georef(tmp_path: Path, doc: object, as_json: bool) -> None:
    path = tmp_path / "georef.yaml"
    try:
        text = json_text(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = check_clean(lambda: load_georef(path))
    if not isinstance(out, DawnPatrolError):
        assert math.isfinite(out.latitude_deg) and math.isfinite(out.altitude_m)


@pytest.fixture()
def map_dir(tmp_path: Path) -> Path:
    (tmp_path / "map.pgm").write_bytes(b"P5\n4 3\n255\n" + bytes(range(0, 240, 20)))
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    return tmp_path


@FUZZ
@given(doc=mutated(MAPYAML, keys=MAP_KEYS), as_json=st.booleans(),
       image=st.sampled_from(["map.pgm", "notes.txt", "sub", "../map.pgm", "missing.png"]))
def test_map_yaml(map_dir: Path, doc: object, as_json: bool, image: str) -> None:
    if isinstance(doc, dict) and doc.get("image") == "map.pgm":
        doc["image"] = image
    path = map_dir / "map.yaml"
    try:
        text = json_text(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = check_clean(lambda: read_map_yaml(path))
    if not isinstance(out, DawnPatrolError):
        assert math.isfinite(out.resolution) and out.resolution > 0
        assert math.isfinite(out.origin_x) and math.isfinite(out.origin_y)


@FUZZ
@given(raw=st.binary(max_size=64))
def test_pgm_header(map_dir: Path, raw: bytes) -> None:
    (map_dir / "map.pgm").write_bytes(raw if raw[:2] != b"P5" else raw)
    (map_dir / "map.yaml").write_text(yaml.safe_dump(MAPYAML), encoding="utf-8")
    check_clean(lambda: read_map_yaml(map_dir / "map.yaml"))


# -- parameters ----------------------------------------------------------------------------------
MISSION = yaml.safe_load((REPO / "params" / "mission.yaml").read_text(encoding="utf-8")
                         )["/**"]["ros__parameters"]


@FUZZ
@given(values_=mutated(MISSION, keys=list(MISSION)))
def test_mission_params(values_: object) -> None:
    out = check_clean(lambda: mission_config(values_, "/r1"))  # type: ignore[arg-type]
    if not isinstance(out, DawnPatrolError):
        r = out.rules
        for v in (r.absent_after_s, r.pin_timeout_s, out.status_rate_hz, out.feedback_period_s,
                  out.utc_offset_s, out.shift_end_s):
            assert math.isfinite(v), out


LOC_DEFAULTS = asdict(LocalizationParams())
LOC_NAMES = [f.name for f in fields(LocalizationParams)]


@FUZZ
@given(values_=mutated(LOC_DEFAULTS, keys=LOC_NAMES))
def test_localization_params(values_: object) -> None:
    out = check_clean(lambda: LocalizationParams.from_mapping(values_, "params/loc.yaml"))  # type: ignore[arg-type]
    if not isinstance(out, DawnPatrolError):
        assert all(math.isfinite(getattr(out, n)) for n in LOC_NAMES)


# -- anomaly events and the inbox ----------------------------------------------------------------
def _event() -> AnomalyEvent:
    m = EventManager("r1", np.random.default_rng(3))
    e = m.report(Detection("intrusion", "track:1", 1.5, -2.0, 100.0, 99.0, zone="school",
                           evidence=make_evidence([[100.0, 1.5, -2.0]], [[1.0, 1.0]])), 100.0)
    assert e is not None
    return e


EVENT = event_to_dict(_event())
EVENT_KEYS = [*EVENT, "track", "scan"]


@FUZZ
@given(doc=mutated(EVENT, keys=EVENT_KEYS))
def test_event_from_dict(doc: object) -> None:
    if not isinstance(doc, dict):
        return
    out = check_clean(lambda: event_from_dict(doc, "/r1/anomalies"))
    assert not isinstance(out, DawnPatrolError) or isinstance(out, AnomalyError)


@FUZZ
@given(text=st.one_of(text_edited(json.dumps(EVENT)), st.text(max_size=40),
                      st.builds(json_text, mutated(EVENT, keys=EVENT_KEYS)),
                      st.builds(lambda n: "[" * n + "]" * n, st.integers(900, 50_000))))
def test_event_from_json(text: str) -> None:
    check_clean(lambda: event_from_json(text, "/r1/anomalies"))


def _rows(ib: Inbox) -> list[tuple[object, ...]]:
    return ib._conn.execute("SELECT * FROM anomalies ORDER BY uuid").fetchall()


@FUZZ
@given(r=st.randoms(use_true_random=True))
def test_inbox_never_half_applies(r: random.Random) -> None:
    base = _event()
    with Inbox(":memory:") as ib:
        ib.upsert(base, 100.0)
        doc = mutate(EVENT, r, EVENT_KEYS)
        before = _rows(ib)
        ev = check_clean(lambda: event_from_dict(doc, "req")) if isinstance(doc, dict) else None
        if isinstance(ev, AnomalyEvent) and isinstance(
                check_clean(lambda: ib.upsert(ev, 101.0)), DawnPatrolError):
            assert _rows(ib) == before  # a refused event changed nothing
        by = r.choice([random_text(r, 80), r.choice(NASTY_TEXT), "kim"])
        note = r.choice([random_text(r, 20) * r.randint(1, 40), r.choice(NASTY_TEXT), ""])
        before = _rows(ib)
        if isinstance(check_clean(lambda: ib.ack(base.uuid, by, note, 102.0)), DawnPatrolError):
            assert _rows(ib) == before  # a refused acknowledgement changed nothing
