"""OpenStreetMap as a source of sidewalks: footways, footpaths and crossings of an extract (.osm
XML or .pbf, read with pyosmium), projected into the map frame with a georeference.

What is read: ``highway=footway`` (``footway=sidewalk`` a sidewalk, ``footway=crossing`` a road
crossing), ``highway=path|pedestrian|living_street`` and ``highway=crossing`` ways as routes
(steps and ways tagged ``access=no|private`` are left out: a robot cannot use them); roads
tagged ``sidewalk=both|left|right`` get sidewalk lines offset to that side; ``building=*``
outlines and ``barrier=wall|fence|...`` lines as obstacles; ``entrance=*`` nodes on a building
outline as entrances (their yaw pointing out of the building).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import osmium
from shapely.geometry import LineString, Polygon

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district_gen.sites import Entrance
from dawnpatrol_core.maps.georef import GeoReference

FloatArray = npt.NDArray[np.float64]

ROUTE_HIGHWAYS = ("footway", "path", "pedestrian", "living_street", "crossing", "cycleway")
ROAD_HIGHWAYS = ("primary", "secondary", "tertiary", "residential", "unclassified", "service",
                 "living_street", "primary_link", "secondary_link", "tertiary_link", "trunk")
BARRIERS = ("wall", "fence", "retaining_wall", "hedge", "guard_rail", "city_wall")
DEFAULT_WIDTH = {"sidewalk": 2.0, "crossing": 3.0, "path": 2.0}
LANE_WIDTH = 3.0  # m per lane, for the offset of sidewalks tagged on a road


@dataclass(frozen=True, slots=True, eq=False)
class OsmRoute:
    """A walkable line in the map frame: ``kind`` sidewalk | crossing | path, ``width`` m,
    ``way`` the OSM way id it comes from."""

    line: LineString
    kind: str
    width: float
    way: int


@dataclass(frozen=True, slots=True, eq=False)
class OsmDistrict:
    """What an extract gives the generator, in map metres: routes, obstacle footprints,
    entrances and the extract's bounds (xmin, ymin, xmax, ymax; None when it has none)."""

    routes: tuple[OsmRoute, ...]
    obstacles: tuple[Polygon, ...]
    entrances: tuple[Entrance, ...]
    bounds: tuple[float, float, float, float] | None


def _width(tags: dict[str, str], default: float) -> float:
    try:
        w = float(tags.get("width", "").replace("m", "").strip())
    except ValueError:
        return default
    return w if 0.5 <= w <= 20.0 else default


def _route_kind(tags: dict[str, str]) -> str | None:
    hw = tags.get("highway", "")
    if hw not in ROUTE_HIGHWAYS or tags.get("access") in ("no", "private"):
        return None
    if tags.get("area") == "yes":
        return None
    if hw == "crossing" or tags.get("footway") == "crossing" or tags.get("path") == "crossing":
        return "crossing"
    if tags.get("footway") == "sidewalk":
        return "sidewalk"
    return "path"


def load_osm(path: str | Path, georef: GeoReference) -> OsmDistrict:
    """Read an OSM extract and project what it holds for a district (see the module docstring).
    Raises ``MapError`` for a file pyosmium cannot read or one without any route."""
    src = str(path)
    if not Path(path).is_file():
        raise MapError(f"{src}: cannot read OSM extract: no such file")
    ways: list[tuple[int, dict[str, str], list[tuple[int, float, float]]]] = []
    entrance_nodes: dict[int, dict[str, str]] = {}
    try:
        fp = osmium.FileProcessor(src).with_locations()
        box = fp.header.box()
        for obj in fp:
            if isinstance(obj, osmium.osm.Node) and "entrance" in obj.tags:
                entrance_nodes[obj.id] = {t.k: t.v for t in obj.tags}
            elif isinstance(obj, osmium.osm.Way):
                tags = {t.k: t.v for t in obj.tags}
                if not ({"highway", "building", "barrier"} & set(tags)):
                    continue
                nds = [(n.ref, n.location.lat, n.location.lon) for n in obj.nodes
                       if n.location.valid()]
                if len(nds) >= 2:
                    ways.append((obj.id, tags, nds))
    except (RuntimeError, osmium.InvalidLocationError) as exc:
        raise MapError(f"{src}: cannot read OSM extract: {str(exc).splitlines()[0]}") from None

    def project(nds: list[tuple[int, float, float]]) -> FloatArray:
        return np.array([georef.from_wgs84(lat, lon) for _, lat, lon in nds], dtype=np.float64)

    routes: list[OsmRoute] = []
    obstacles: list[Polygon] = []
    entrances: list[Entrance] = []
    for wid, tags, nds in ways:
        xy = project(nds)
        kind = _route_kind(tags)
        if kind is not None and tags.get("highway") != "steps":
            routes.append(OsmRoute(LineString(xy), kind, _width(tags, DEFAULT_WIDTH[kind]), wid))
            continue
        side = tags.get("sidewalk", "")
        if tags.get("highway") in ROAD_HIGHWAYS and side in ("both", "left", "right"):
            try:
                lanes = int(tags.get("lanes", "2"))
            except ValueError:
                lanes = 2
            road = _width(tags, LANE_WIDTH * max(lanes, 1))
            off = 0.5 * road + 0.5 * DEFAULT_WIDTH["sidewalk"]
            line = LineString(xy)
            for s, sign in (("left", 1.0), ("right", -1.0)):
                if side in (s, "both"):
                    shifted = line.offset_curve(sign * off)
                    if isinstance(shifted, LineString) and not shifted.is_empty:
                        routes.append(OsmRoute(shifted, "sidewalk", DEFAULT_WIDTH["sidewalk"],
                                               wid))
        elif "building" in tags and nds[0][0] == nds[-1][0] and len(nds) >= 4:
            poly = Polygon(xy)
            if not poly.is_valid:
                poly = poly.buffer(0)
            if isinstance(poly, Polygon) and not poly.is_empty:
                obstacles.append(poly)
                entrances += _entrances_on(poly, nds, xy, entrance_nodes, src)
        elif tags.get("barrier") in BARRIERS:
            obstacles.append(LineString(xy).buffer(0.15, cap_style="flat"))
    if not routes:
        raise MapError(f"{src}: no footway, path or crossing (highway=footway|path|pedestrian, "
                       "or a road with sidewalk=*) in the extract")
    bounds = None
    if box.valid():
        corners = [georef.from_wgs84(box.bottom_left.lat, box.bottom_left.lon),
                   georef.from_wgs84(box.top_right.lat, box.top_right.lon)]
        bounds = (min(c[0] for c in corners), min(c[1] for c in corners),
                  max(c[0] for c in corners), max(c[1] for c in corners))
    return OsmDistrict(tuple(routes), tuple(obstacles), tuple(entrances), bounds)


def _entrances_on(poly: Polygon, nds: list[tuple[int, float, float]], xy: FloatArray,
                  entrance_nodes: dict[int, dict[str, str]], src: str) -> list[Entrance]:
    """Entrance nodes on a building outline, each posed on the outline facing out."""
    out: list[Entrance] = []
    ring = xy[:-1]
    n = len(ring)
    ccw = poly.exterior.is_ccw
    for i, (ref, _, _) in enumerate(nds[:-1]):
        tags = entrance_nodes.get(ref)
        if tags is None:
            continue
        tx, ty = ring[(i + 1) % n] - ring[(i - 1) % n]
        # outward normal: right of the direction of travel round a counter-clockwise ring
        nx, ny = (ty, -tx) if ccw else (-ty, tx)
        yaw = math.atan2(ny, nx)
        eid = tags.get("ref") or f"osm{ref}"
        street = " ".join(v for v in (tags.get("addr:housenumber"), tags.get("addr:street"))
                          if v)
        out.append(Entrance(eid, Pose2D(float(ring[i][0]), float(ring[i][1]), yaw),
                            address_en=street, source=f"{src}: node {ref}"))
    return out
