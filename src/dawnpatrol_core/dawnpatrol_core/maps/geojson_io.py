"""Shared GeoJSON reading: parse a FeatureCollection with one-line, feature-naming errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dawnpatrol_core.errors import MapError, finite_number, shown

#: Largest coordinate accepted in a map file, m: far beyond any district, small enough that
#: geometry on it cannot overflow.
MAX_ABS_COORD = 1e7


def read_features(
    path: str | Path, unplaced: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """(source name, features) of a GeoJSON FeatureCollection; raises ``MapError``.

    With ``unplaced``, features whose geometry is null (GeoJSON's unlocated features: templates
    for the user to place) are accepted and left out of the result.
    """
    p = Path(path)
    src = str(p)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MapError(f"{src}: cannot read GeoJSON: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise MapError(f"{src}:{exc.lineno}: malformed GeoJSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise MapError(f"{src}: malformed GeoJSON: byte {exc.object[exc.start]:#04x} at offset "
                       f"{exc.start} is not UTF-8") from None
    except (ValueError, RecursionError) as exc:  # nesting too deep, a number too long
        raise MapError(f"{src}: malformed GeoJSON: {str(exc).splitlines()[0][:80]}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise MapError(f"{src}: field 'type': got {got!r}, expected 'FeatureCollection'")
    feats = doc.get("features")
    if not isinstance(feats, list):
        raise MapError(f"{src}: field 'features': got {type(feats).__name__}, expected a list")
    placed = []
    for i, f in enumerate(feats):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise MapError(f"{src}: feature #{i}: field 'type': expected 'Feature'")
        if not isinstance(f.get("properties"), dict) or "id" not in f["properties"]:
            raise MapError(f"{src}: feature #{i}: field 'properties.id': missing")
        if unplaced and f.get("geometry", 0) is None:
            continue
        if not isinstance(f.get("geometry"), dict):
            raise MapError(
                f"{src}: feature id {f['properties']['id']!r}: field 'geometry': missing"
            )
        placed.append(f)
    return src, placed


def feature_error(src: str, fid: object, fieldname: str, got: object, expected: str) -> MapError:
    """``SRC: feature id ID: field 'F': got V, expected E``."""
    return MapError(
        f"{src}: feature id {shown(fid, 40)}: field '{fieldname}': got {shown(got)}, "
        f"expected {expected}"
    )


def number(src: str, fid: object, fieldname: str, v: object, lo: float | None = None) -> float:
    """``v`` as a finite float (not bool, not NaN), at least ``lo`` when given."""
    f = finite_number(v)
    if f is None or (lo is not None and f < lo):
        raise feature_error(
            src, fid, fieldname, v, "a finite number" + (f" >= {lo}" if lo is not None else "")
        )
    return f


def point(src: str, fid: object, fieldname: str, c: object) -> tuple[float, float]:
    """``[x, y, ...]`` finite numbers (|v| <= MAX_ABS_COORD) -> (x, y)."""
    vals = [finite_number(v) for v in c] if isinstance(c, list) else []
    nums = [v for v in vals if v is not None and abs(v) <= MAX_ABS_COORD]
    if len(nums) < 2 or len(nums) != len(vals):
        raise feature_error(src, fid, fieldname, c,
                            f"[x, y] finite numbers of metres, |v| <= {MAX_ABS_COORD:g}")
    return (nums[0], nums[1])
