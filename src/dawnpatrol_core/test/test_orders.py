"""Order import: every error kind, all-or-nothing, CSV/YAML/JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dawnpatrol_core.delivery.orders import load_orders, parse_time_of_day
from dawnpatrol_core.errors import OrderError


@dataclass(frozen=True)
class Addr:
    x: float
    y: float


ADDR = {"A101": Addr(10.0, 20.0), "B202": Addr(-5.0, 3.0)}
NOW = 1.5 * 3600.0  # 01:30
HEADER = "id,address_id,lat,lon,window_start,window_end,size,handover,priority\n"


def _load(path: Path, **kw: object) -> list[object]:
    args: dict[str, object] = {"now": NOW, "service_time_s": 120.0, "max_compartments": 4}
    args.update(kw)
    return load_orders(path, ADDR, **args)  # type: ignore[arg-type]


def _csv(tmp_path: Path, rows: str) -> Path:
    p = tmp_path / "orders.csv"
    p.write_text(HEADER + rows)
    return p


def test_csv_ok(tmp_path: Path) -> None:
    p = _csv(tmp_path, "o1,A101,,,02:00,03:00,2,door,1\no2,,37.5,127.0,7200,9000,,,\n")
    orders = _load(p, locate_latlon=lambda lat, lon: (lat, lon))
    o1, o2 = orders
    assert (o1.id, o1.x, o1.y, o1.window_start, o1.window_end, o1.size, o1.handover,
            o1.priority) == ("o1", 10.0, 20.0, 7200.0, 10800.0, 2, "door", 1)
    assert (o2.address_id, o2.lat, o2.x, o2.size, o2.handover) == (None, 37.5, 37.5, 1, "pin")


def test_yaml_times_not_base60(tmp_path: Path) -> None:
    p = tmp_path / "orders.yaml"
    p.write_text("orders:\n  - id: o1\n    address_id: A101\n    window_start: 02:30\n"
                 "    window_end: 03:15:30\n")
    (o,) = _load(p)
    assert (o.window_start, o.window_end) == (9000.0, 11730.0)


def test_json_ok_and_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "orders.json"
    p.write_text(json.dumps([
        {"id": "o1", "address_id": "A101", "window_start": "02:00", "window_end": "03:00"},
        {"id": "o2", "address_id": "Z9", "window_start": "02:00", "window_end": "03:00"},
    ], indent=1))
    with pytest.raises(OrderError) as exc:
        _load(p)
    (line,) = str(exc.value).splitlines()
    assert line == (f"{p}:8: field 'address_id': got 'Z9', expected an address id from the "
                    "address book (unknown address)")


@pytest.mark.parametrize(
    ("row", "field", "fragment"),
    [
        ("o1,ZZZ,,,02:00,03:00,1,pin,0", "address_id", "unknown address"),
        ("o1,A101,,,01:00,01:20,1,pin,0", "window_end", "window in the past"),
        ("o1,A101,,,02:00,02:01,1,pin,0", "window_end", "service time"),
        ("o1,A101,,,02:00,03:00,5,pin,0", "size", "larger than any robot"),
        ("o1,A101,,,2 am,03:00,1,pin,0", "window_start", "'HH:MM'"),
        ("o1,A101,,,02:00,,1,pin,0", "window_end", "missing field"),
        (",A101,,,02:00,03:00,1,pin,0", "id", "missing field"),
        ("o1,,,,02:00,03:00,1,pin,0", "address_id", "missing field"),
        ("o1,A101,,,02:00,03:00,1,drone,0", "handover", "'pin' or 'door'"),
        ("o1,,37.5,127,02:00,03:00,1,pin,0", "lat", "no georeference"),
    ],
)
def test_each_error_kind(tmp_path: Path, row: str, field: str, fragment: str) -> None:
    p = _csv(tmp_path, row + "\n")
    with pytest.raises(OrderError) as exc:
        _load(p)
    (line,) = str(exc.value).splitlines()
    assert line.startswith(f"{p}:2: field '{field}': got ")
    assert fragment in line


def test_all_problems_listed_nothing_returned(tmp_path: Path) -> None:
    p = _csv(tmp_path, "o1,A101,,,02:00,03:00,1,pin,0\n"
                       "o1,B202,,,02:00,03:00,1,pin,0\n"
                       "o3,NOPE,,,02:00,03:00,9,pin,0\n")
    with pytest.raises(OrderError) as exc:
        _load(p)
    lines = str(exc.value).splitlines()
    assert len(lines) == 3
    assert lines[0] == f"{p}:3: field 'id': got 'o1', expected a unique id (duplicate of line 2)"
    assert lines[1].startswith(f"{p}:4: field 'address_id'")
    assert lines[2].startswith(f"{p}:4: field 'size'")


def test_unknown_extension_and_empty(tmp_path: Path) -> None:
    bad = tmp_path / "orders.txt"
    bad.write_text("x")
    with pytest.raises(OrderError, match="extension"):
        _load(bad)
    with pytest.raises(OrderError, match="0 orders"):
        _load(_csv(tmp_path, ""))


@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_time_parsing_roundtrip(h: int, m: int, s: int) -> None:
    assert parse_time_of_day(f"{h:02d}:{m:02d}:{s:02d}") == h * 3600 + m * 60 + s
    assert parse_time_of_day(f"{h}:{m:02d}") == h * 3600 + m * 60
    assert parse_time_of_day(h * 3600 + m * 60 + s) == h * 3600 + m * 60 + s
