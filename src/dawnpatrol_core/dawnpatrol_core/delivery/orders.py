"""Delivery orders and their all-or-nothing import from CSV, YAML or JSON.

Fields (CSV header / mapping keys): ``id``; ``address_id`` or ``lat`` + ``lon``; ``window_start``,
``window_end`` ("HH:MM", "HH:MM:SS" or seconds since the shift day's local midnight); ``size``
(compartments, default 1); ``handover`` ("pin" or "door", default "pin"); ``priority`` (int, 0).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import yaml

from dawnpatrol_core.errors import OrderError, field_error, finite_number
from dawnpatrol_core.shift_clock import clock

Handover = Literal["pin", "door"]
FIELDS = ("id", "address_id", "lat", "lon", "window_start", "window_end", "size", "handover",
          "priority")
_MAX_TIME_S = 48 * 3600.0
_TIME_RE = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")


class AddressPose(Protocol):
    """What orders need from an address book entry: its map-frame position (metres)."""

    @property
    def x(self) -> float: ...

    @property
    def y(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Order:
    """A parcel promised to a place within [``window_start``, ``window_end``] (s since local
    midnight of the shift day); ``x``, ``y``: resolved map position (m); ``size``: compartments."""

    id: str
    address_id: str | None
    lat: float | None
    lon: float | None
    x: float
    y: float
    window_start: float
    window_end: float
    size: int = 1
    handover: Handover = "pin"
    priority: int = 0


@dataclass(frozen=True, slots=True)
class _Record:
    line: int
    values: dict[str, object]
    lines: dict[str, int]


def parse_time_of_day(value: object) -> float:
    """Seconds since midnight from "HH:MM", "HH:MM:SS" or a number of seconds; ValueError if bad."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if finite_number(value) is None:
            raise ValueError(value)
        t = float(value)
    else:
        text = str(value).strip()
        m = _TIME_RE.match(text)
        if m:
            t = int(m[1]) * 3600.0 + int(m[2]) * 60.0 + int(m[3] or 0)
        else:
            t = float(text)
    if not math.isfinite(t) or not 0.0 <= t <= _MAX_TIME_S:
        raise ValueError(value)
    return t


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _records_csv(text: str) -> list[_Record]:
    reader = csv.DictReader(io.StringIO(text))
    out = []
    for row in reader:
        line = reader.line_num
        values: dict[str, object] = {
            (k or "").strip(): v for k, v in row.items() if k is not None or v
        }
        out.append(_Record(line, values, {}))
    return out


def _scalar_tree(node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return None if node.value in ("", "~", "null") else node.value
    if isinstance(node, yaml.SequenceNode):
        return [_scalar_tree(n) for n in node.value]
    return {str(k.value): _scalar_tree(v) for k, v in node.value}


def _records_yaml(text: str, path: str) -> list[_Record]:
    # Composed, not loaded: YAML 1.1 would read 02:30 as the base-60 integer 150.
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = field_error(path, "yaml", str(exc).splitlines()[0], "valid YAML", line)
        raise OrderError(msg) from None
    if isinstance(root, yaml.MappingNode):
        inner = [v for k, v in root.value if k.value == "orders"]
        root = inner[0] if inner else root
    if not isinstance(root, yaml.SequenceNode):
        line = root.start_mark.line + 1 if root is not None else 1
        raise OrderError(field_error(path, "orders", type(root).__name__, "a list of orders", line))
    out = []
    for item in root.value:
        if not isinstance(item, yaml.MappingNode):
            out.append(_Record(item.start_mark.line + 1, {"": item.value}, {}))
            continue
        values = {str(k.value): _scalar_tree(v) for k, v in item.value}
        lines = {str(k.value): k.start_mark.line + 1 for k, _ in item.value}
        out.append(_Record(item.start_mark.line + 1, values, lines))
    return out


def _object_lines(text: str, depth: int) -> list[int]:
    """Lines where JSON objects open at nesting ``depth`` (strings skipped)."""
    lines, level, line, in_str, esc = [], 0, 1, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_str:
            esc, in_str = (False, in_str) if esc else (ch == "\\", ch != '"')
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            if ch == "{" and level == depth:
                lines.append(line)
            level += 1
        elif ch in "}]":
            level -= 1
    return lines


def _records_json(text: str, path: str) -> list[_Record]:
    try:
        root = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OrderError(field_error(path, "json", exc.msg, "valid JSON", exc.lineno)) from None
    depth = 1
    if isinstance(root, dict) and isinstance(root.get("orders"), list):
        root, depth = root["orders"], 2
    if not isinstance(root, list):
        raise OrderError(field_error(path, "orders", type(root).__name__, "a list of orders", 1))
    lines = _object_lines(text, depth)
    out = []
    for k, item in enumerate(root):
        line = lines[k] if k < len(lines) else 1
        values = item if isinstance(item, dict) else {"": item}
        out.append(_Record(line, dict(values), {}))
    return out


#: Formats of an orders text, by name (a file's extension without the dot names its format).
FORMATS = ("csv", "yaml", "yml", "json")


def load_orders(
    path: str | Path,
    addresses: Mapping[str, AddressPose],
    now: float,
    service_time_s: float,
    max_compartments: int,
    locate_latlon: Callable[[float, float], tuple[float, float]] | None = None,
) -> list[Order]:
    """Read and validate a whole batch from a file (format by extension: .csv, .yaml/.yml,
    .json); see :func:`parse_orders`. Errors name the file."""
    p = Path(path)
    src = str(p)
    ext = p.suffix.lower()
    if ext.lstrip(".") not in FORMATS:
        raise OrderError(field_error(src, "extension", ext, ".csv, .yaml, .yml or .json"))
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrderError(f"{src}: cannot read orders file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise OrderError(f"{src}: field 'encoding': got byte {exc.object[exc.start]:#04x} at "
                         f"offset {exc.start}, expected UTF-8 text") from None
    return parse_orders(text, ext.lstrip("."), src, addresses, now, service_time_s,
                        max_compartments, locate_latlon)


def parse_orders(
    text: str,
    fmt: str,
    source: str,
    addresses: Mapping[str, AddressPose],
    now: float,
    service_time_s: float,
    max_compartments: int,
    locate_latlon: Callable[[float, float], tuple[float, float]] | None = None,
) -> list[Order]:
    """Validate a whole batch given as ``text`` in format ``fmt`` (csv, yaml, yml or json);
    ``source`` names it in every error line (a file name, an operator's upload).

    ``now``: seconds since the shift day's midnight; windows ending at or before it are in the
    past. ``locate_latlon(lat, lon) -> (x, y)`` map metres, needed for orders given by latitude and
    longitude. Raises OrderError listing every problem, one per line; returns nothing on error.
    """
    kind = fmt.strip().lower()
    if kind == "csv":
        records = _records_csv(text)
    elif kind in ("yaml", "yml"):
        records = _records_yaml(text, source)
    elif kind == "json":
        records = _records_json(text, source)
    else:
        raise OrderError(field_error(source, "format", fmt, "csv, yaml or json"))
    if not records:
        raise OrderError(f"{source}: field 'orders': got 0 orders, expected at least 1")

    problems: list[str] = []
    orders: list[Order] = []
    first_line: dict[str, int] = {}
    for rec in records:
        order = _parse_record(
            rec, source, addresses, now, service_time_s, max_compartments, locate_latlon,
            problems, first_line,
        )
        if order is not None:
            orders.append(order)
    if problems:
        raise OrderError("\n".join(problems))
    return orders


def _parse_record(
    rec: _Record,
    src: str,
    addresses: Mapping[str, AddressPose],
    now: float,
    service_time_s: float,
    max_compartments: int,
    locate_latlon: Callable[[float, float], tuple[float, float]] | None,
    problems: list[str],
    first_line: dict[str, int],
) -> Order | None:
    n_before = len(problems)
    v = rec.values

    def bad(name: str, got: object, expected: str) -> None:
        problems.append(field_error(src, name, got, expected, rec.lines.get(name, rec.line)))

    if "" in v and len(v) == 1:
        bad("order", v[""], "a mapping of order fields")
        return None
    for key in v:
        if key not in FIELDS:
            bad(key, v[key], f"one of the fields {', '.join(FIELDS)}")

    oid = "" if _blank(v.get("id")) else str(v["id"]).strip()
    if not oid:
        bad("id", v.get("id"), "a non-empty order id (missing field)")
    elif oid in first_line:
        bad("id", oid, f"a unique id (duplicate of line {first_line[oid]})")
    else:
        first_line[oid] = rec.lines.get("id", rec.line)

    address_id: str | None = None
    lat = lon = None
    x = y = math.nan
    if not _blank(v.get("address_id")):
        address_id = str(v["address_id"]).strip()
        if address_id in addresses:
            x, y = float(addresses[address_id].x), float(addresses[address_id].y)
        else:
            bad("address_id", address_id, "an address id from the address book (unknown address)")
    elif not _blank(v.get("lat")) or not _blank(v.get("lon")):
        try:
            lat = float(str(v.get("lat")))
            if not -90.0 <= lat <= 90.0:
                raise ValueError
        except ValueError:
            bad("lat", v.get("lat"), "a latitude in degrees, -90..90")
        try:
            lon = float(str(v.get("lon")))
            if not -180.0 <= lon <= 180.0:
                raise ValueError
        except ValueError:
            bad("lon", v.get("lon"), "a longitude in degrees, -180..180")
        if locate_latlon is None:
            bad("lat", v.get("lat"), "an address_id (no georeference to place lat/lon)")
        elif len(problems) == n_before and lat is not None and lon is not None:
            x, y = locate_latlon(lat, lon)
    else:
        bad("address_id", v.get("address_id"), "an address id or lat and lon (missing field)")

    times: dict[str, float] = {}
    for name in ("window_start", "window_end"):
        if _blank(v.get(name)):
            bad(name, v.get(name), "a time 'HH:MM' or seconds since midnight (missing field)")
            continue
        try:
            times[name] = parse_time_of_day(v[name])
        except ValueError:
            bad(name, v[name], "a time 'HH:MM', 'HH:MM:SS' or seconds since midnight, 0..48 h")
    start, end = times.get("window_start"), times.get("window_end")
    if start is not None and end is not None:
        if end <= now:
            bad("window_end", v["window_end"],
                f"a time after now ({clock(now, seconds=False)}): window in the past")
        elif end - start < service_time_s:
            bad("window_end", v["window_end"],
                f"at least {service_time_s:g} s (service time) after window_start "
                f"{clock(start, seconds=False)}")

    size = 1
    if not _blank(v.get("size")):
        try:
            size = int(str(v["size"]).strip())
            if size < 1:
                bad("size", v["size"], "an integer number of compartments >= 1")
            elif size > max_compartments:
                bad("size", v["size"],
                    f"at most {max_compartments} compartments (parcel larger than any robot)")
        except ValueError:
            bad("size", v["size"], "an integer number of compartments >= 1")

    handover = "pin" if _blank(v.get("handover")) else str(v["handover"]).strip().lower()
    if handover not in ("pin", "door"):
        bad("handover", v.get("handover"), "'pin' or 'door'")

    priority = 0
    if not _blank(v.get("priority")):
        try:
            priority = int(str(v["priority"]).strip())
        except ValueError:
            bad("priority", v["priority"], "an integer")

    if len(problems) > n_before or start is None or end is None:
        return None
    return Order(
        id=oid, address_id=address_id, lat=lat, lon=lon, x=x, y=y, window_start=start,
        window_end=end, size=size, handover="pin" if handover == "pin" else "door",
        priority=priority,
    )
