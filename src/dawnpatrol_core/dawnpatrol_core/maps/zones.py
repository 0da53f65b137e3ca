"""District zones from ``zones.geojson``: operating area, keep-out, speed limits, hotspots,
night-restricted areas, loitering watch zones, depot and docks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.errors import ShapelyError
from shapely.geometry import Point, Polygon
from shapely.validation import explain_validity

from dawnpatrol_core.errors import MapError, finite_number, one_line
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.geojson_io import feature_error, number, point, read_features

ZONE_KINDS = (
    "operating_area",
    "keep_out",
    "speed_limit",
    "hotspot",
    "night_restricted",
    "watch",
    "depot",
    "dock",
)


@dataclass(frozen=True, slots=True)
class PriorityBand:
    """Hotspot weight for local hours ``from_hour`` <= h < ``to_hour`` (wraps past midnight)."""

    from_hour: float
    to_hour: float
    weight: float

    def contains(self, hour: float) -> bool:
        h = hour % 24.0
        if self.from_hour <= self.to_hour:
            return self.from_hour <= h < self.to_hour
        return h >= self.from_hour or h < self.to_hour


@dataclass(frozen=True, slots=True, eq=False)
class Zone:
    """A polygon (map metres) with a ``kind`` from :data:`ZONE_KINDS` and its raw properties.

    ``speed_limit``: m/s for speed_limit zones (else None). ``hours``: (from, to) local hours for
    night_restricted zones. ``pose``: for depot/dock zones, the stand-off/docking pose.
    ``bays``: for a depot zone, its parking bays in order (robot i parks in bay i; empty when
    the file names none and the fleet spaces them along the depot's front).
    """

    id: str
    kind: str
    polygon: Polygon
    name: str = ""
    speed_limit: float | None = None
    hours: tuple[float, float] | None = None
    pose: Pose2D | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    bays: tuple[Pose2D, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Hotspot:
    """A crime-prevention hotspot: visit at ``observation_pose``, dwell ``dwell_s`` seconds, and
    never leave it unvisited longer than ``max_idleness_s`` seconds."""

    id: str
    name: str
    polygon: Polygon
    observation_pose: Pose2D
    priority: tuple[PriorityBand, ...]
    max_idleness_s: float
    dwell_s: float

    def weight_at(self, hour: float) -> float:
        """Priority weight at a local hour (0 outside every band)."""
        return next((b.weight for b in self.priority if b.contains(hour)), 0.0)


def _pose(src: str, fid: object, key: str, v: object) -> Pose2D:
    vals = [finite_number(a) for a in v] if isinstance(v, list) else []
    nums = [a for a in vals if a is not None]
    if len(vals) != 3 or len(nums) != 3:
        raise feature_error(src, fid, key, v, "[x, y, yaw] finite numbers")
    return Pose2D(nums[0], nums[1], nums[2])


def _hour(src: str, fid: object, key: str, v: object) -> float:
    h = number(src, fid, key, v, 0.0)
    if h > 24.0:
        raise feature_error(src, fid, key, v, "an hour in [0, 24]")
    return h


def zone_from_feature(src: str, f: dict[str, Any]) -> tuple[Zone, Hotspot | None]:
    """One ``zones.geojson`` feature as a zone (and its hotspot for kind hotspot); ``MapError``
    naming the file, the feature id and the problem (unknown kind, self-intersecting polygon,
    missing hotspot field, a depot bay outside its zone, ...)."""
    props, geom = f["properties"], f["geometry"]
    fid = props["id"]
    if not isinstance(fid, str) or not fid:
        raise feature_error(src, fid, "id", fid, "a non-empty string")
    kind = props.get("kind")
    if kind not in ZONE_KINDS:
        raise feature_error(src, fid, "kind", kind, "one of " + ", ".join(ZONE_KINDS))
    if geom.get("type") != "Polygon":
        raise feature_error(src, fid, "geometry.type", geom.get("type"), "'Polygon'")
    rings = geom.get("coordinates")
    if not isinstance(rings, list) or not rings or not all(
            isinstance(ring, list) and len(ring) >= 4 for ring in rings):
        raise feature_error(src, fid, "geometry.coordinates", rings,
                            "polygon rings of at least 4 [x, y] points")
    pts = [[point(src, fid, "geometry.coordinates", c) for c in ring] for ring in rings]
    try:
        poly = Polygon(pts[0], pts[1:])
    except (ValueError, ShapelyError) as exc:
        raise feature_error(src, fid, "geometry.coordinates", one_line(exc),
                            "polygon rings") from None
    if poly.is_empty or not poly.is_valid:
        why = explain_validity(poly) if not poly.is_empty else "empty"
        raise feature_error(src, fid, "geometry", why, "a simple (non-self-intersecting) polygon")
    speed = None
    if kind == "speed_limit":
        speed = number(src, fid, "speed_limit", props.get("speed_limit"), 0.0)
        if speed <= 0:
            raise feature_error(src, fid, "speed_limit", speed, "> 0 m/s")
    hours = None
    if kind == "night_restricted":
        h = props.get("hours")
        if not isinstance(h, dict):
            raise feature_error(src, fid, "hours", h, "{from_hour, to_hour}")
        hours = (
            _hour(src, fid, "hours.from_hour", h.get("from_hour")),
            _hour(src, fid, "hours.to_hour", h.get("to_hour")),
        )
    pose = _pose(src, fid, "pose", props.get("pose")) if kind in ("depot", "dock") else None
    bays: tuple[Pose2D, ...] = ()
    if kind == "depot" and props.get("bays") is not None:
        raw = props["bays"]
        if not isinstance(raw, list) or not raw:
            raise feature_error(src, fid, "bays", raw, "a list of [x, y, yaw] parking bays")
        bays = tuple(_pose(src, fid, f"bays[{i}]", b) for i, b in enumerate(raw))
        for i, b in enumerate(bays):
            if not poly.covers(Point(b.x, b.y)):
                raise feature_error(src, fid, f"bays[{i}]", list(b.as_tuple()),
                                    "a point inside the depot polygon")
    name = str(props.get("name", ""))
    zone = Zone(fid, kind, poly, name, speed, hours, pose, dict(props), bays)
    if kind != "hotspot":
        return zone, None
    bands_raw = props.get("priority")
    if not isinstance(bands_raw, list) or not bands_raw:
        raise feature_error(src, fid, "priority", bands_raw,
                            "a list of {from_hour, to_hour, weight}")
    bands = []
    for b in bands_raw:
        if not isinstance(b, dict):
            raise feature_error(src, fid, "priority", b, "{from_hour, to_hour, weight}")
        bands.append(
            PriorityBand(
                _hour(src, fid, "priority.from_hour", b.get("from_hour")),
                _hour(src, fid, "priority.to_hour", b.get("to_hour")),
                number(src, fid, "priority.weight", b.get("weight"), 0.0),
            )
        )
    idle = number(src, fid, "max_idleness_s", props.get("max_idleness_s"), 0.0)
    if idle <= 0:
        raise feature_error(src, fid, "max_idleness_s", idle, "> 0 s")
    return zone, Hotspot(
        id=fid,
        name=name or fid,
        polygon=poly,
        observation_pose=_pose(src, fid, "observation_pose", props.get("observation_pose")),
        priority=tuple(bands),
        max_idleness_s=idle,
        dwell_s=number(src, fid, "dwell_s", props.get("dwell_s"), 0.0),
    )


def load_zones(path: str | Path) -> tuple[tuple[Zone, ...], tuple[Hotspot, ...]]:
    """Read ``zones.geojson`` into zones (every placed feature) and typed hotspots.

    Features with a null geometry are templates (an unplaced zone of each kind, as
    ``dawnpatrol district new`` writes them) and are skipped. Raises ``MapError`` naming the
    file, the feature id and the problem on the first bad feature.
    """
    src, feats = read_features(path, unplaced=True)
    zones: list[Zone] = []
    hotspots: list[Hotspot] = []
    seen: set[str] = set()
    for f in feats:
        fid = f["properties"]["id"]
        if not isinstance(fid, str) or not fid or fid in seen:
            raise feature_error(src, fid, "id", fid, "a unique non-empty string")
        seen.add(fid)
        zone, hotspot = zone_from_feature(src, f)
        zones.append(zone)
        if hotspot is not None:
            hotspots.append(hotspot)
    if not any(z.kind == "operating_area" for z in zones):
        raise MapError(f"{src}: no feature of kind 'operating_area'")
    return tuple(zones), tuple(hotspots)


def depot_parking(zone: Zone, spacing: float = 2.0, margin: float = 0.6) -> tuple[Pose2D, ...]:
    """Where robots can park in a depot zone: its declared bays first, then poses every
    ``spacing`` m along the depot's front (across its heading, alternating sides of its pose)
    that keep ``margin`` m inside the zone; all with the depot's heading."""
    out = list(zone.bays)
    base = zone.pose or (zone.bays[0] if zone.bays else None)
    if base is None:
        return tuple(out)
    inner = zone.polygon.buffer(-margin)
    ax, ay = -math.sin(base.theta), math.cos(base.theta)  # across the heading
    for k in range(0, 200):
        off = spacing * ((k + 1) // 2) * (1 if k % 2 else -1)
        x, y = base.x + off * ax, base.y + off * ay
        if inner.contains(Point(x, y)) and all(math.hypot(x - p.x, y - p.y) > 0.5 * spacing
                                               for p in out):
            out.append(Pose2D(x, y, base.theta))
    return tuple(out)
