"""Zones of a generated district: the operating area (the walkable space the route graph
reaches), the depot round its parking bays, and an unplaced template of every other kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy import ndimage
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district_gen.routes import Walkable, rasterize_polygons

#: Holes smaller than this (m²) in the operating area are posts, trees and benches: filled.
SMALL_HOLE_M2 = 25.0
#: Half the side (m) of the square kept round each parking bay in the depot zone.
BAY_HALF_SIDE = 1.2


def mask_polygon(mask: npt.NDArray[np.bool_], resolution: float, origin_x: float,
                 origin_y: float) -> BaseGeometry:
    """The union of a mask's cells as shapely geometry (map metres): each row's runs of cells,
    runs repeated in the next rows merged into one box first."""
    h, w = mask.shape
    m = np.zeros((h, w + 2), dtype=np.int8)
    m[:, 1:-1] = mask
    d = np.diff(m, axis=1)
    boxes: list[BaseGeometry] = []
    open_runs: dict[tuple[int, int], int] = {}  # (start col, end col) -> first row
    for r in range(h + 1):
        if r < h:
            starts = np.flatnonzero(d[r] == 1)
            ends = np.flatnonzero(d[r] == -1)
            runs = set(zip(starts.tolist(), ends.tolist(), strict=True))
        else:
            runs = set()
        for run in list(open_runs):
            if run not in runs:
                r0 = open_runs.pop(run)
                boxes.append(box(origin_x + run[0] * resolution, origin_y + r0 * resolution,
                                 origin_x + run[1] * resolution, origin_y + r * resolution))
        for run in runs:
            open_runs.setdefault(run, r)
    return shapely.union_all(boxes) if boxes else Polygon()


def fill_small_holes(poly: Polygon, max_area: float = SMALL_HOLE_M2) -> Polygon:
    """``poly`` without its holes smaller than ``max_area`` m²."""
    keep = [r for r in poly.interiors if Polygon(r).area >= max_area]
    return Polygon(poly.exterior, keep)


def operating_area(walk: Walkable, graph_xy: npt.NDArray[np.float64],
                   corridor: BaseGeometry | None = None, keep_all: bool = False) -> Polygon:
    """The walkable space connected (4-neighbours) to the given points (the graph's nodes), as
    one polygon with the small holes filled and the outline simplified to a quarter cell.

    ``corridor``: only the walkable space inside it counts. ``keep_all``: every region the
    points touch, as they are (may be a MultiPolygon), rather than the largest.
    """
    mask = walk.mask
    if corridor is not None:
        mask = mask & rasterize_polygons([corridor], mask.shape, walk.resolution, walk.origin_x,
                                         walk.origin_y)
    lab, _ = ndimage.label(mask)
    rows, cols = walk.to_cell(np.asarray(graph_xy, dtype=np.float64).reshape(-1, 2))
    ids = set(int(v) for v in lab[rows, cols]) - {0}
    if not ids:
        raise MapError("operating area: the route graph lies outside the walkable space")
    region = np.isin(lab, sorted(ids))
    geom = mask_polygon(region, walk.resolution, walk.origin_x, walk.origin_y)
    # Regions touching only at a corner join through a hair's width.
    geom = geom.buffer(0.25 * walk.resolution, join_style="mitre").buffer(
        -0.25 * walk.resolution, join_style="mitre")
    if keep_all:
        return geom  # type: ignore[no-any-return]
    polys = list(getattr(geom, "geoms", [geom]))
    poly = max(polys, key=lambda p: p.area)
    poly = fill_small_holes(poly).simplify(0.25 * walk.resolution)
    if not isinstance(poly, Polygon) or not poly.is_valid:
        fixed = shapely.make_valid(poly)
        poly = max(getattr(fixed, "geoms", [fixed]), key=lambda p: p.area)
    return poly


def depot_zone(bays: Sequence[Pose2D], area: Polygon) -> Polygon:
    """The depot: the hull of squares round the parking bays, inside the operating area."""
    hull = shapely.union_all([box(b.x - BAY_HALF_SIDE, b.y - BAY_HALF_SIDE,
                                  b.x + BAY_HALF_SIDE, b.y + BAY_HALF_SIDE)
                              for b in bays]).convex_hull
    inside = hull.intersection(area)
    parts = [p for p in getattr(inside, "geoms", [inside]) if isinstance(p, Polygon)]
    first = Point(bays[0].x, bays[0].y)
    poly = next((p for p in parts if p.covers(first)), None)
    if poly is None:
        raise MapError(f"depot bay 1 at ({bays[0].x:.2f}, {bays[0].y:.2f}): outside the "
                       "operating area")
    return poly


def _coords(poly: Polygon) -> list[list[list[float]]]:
    poly = shapely.geometry.polygon.orient(poly, 1.0)
    return [[[round(x, 3), round(y, 3)] for x, y in ring.coords]
            for ring in [poly.exterior, *poly.interiors]]


def _feature(props: dict[str, Any], poly: Polygon | None) -> dict[str, Any]:
    geom = None if poly is None else {"type": "Polygon", "coordinates": _coords(poly)}
    return {"type": "Feature", "properties": props, "geometry": geom}


#: Unplaced zones the user copies, edits and gives a Polygon (map metres); the stack reads
#: every field shown.
TEMPLATES: tuple[dict[str, Any], ...] = (
    {"id": "template_keep_out", "kind": "keep_out", "name": "never enter (e.g. a pond)"},
    {"id": "template_speed_limit", "kind": "speed_limit", "name": "slower here",
     "speed_limit": 1.0},
    {"id": "template_hotspot", "kind": "hotspot", "name": "patrol here",
     "priority": [{"from_hour": 22, "to_hour": 24, "weight": 1.0},
                  {"from_hour": 0, "to_hour": 6, "weight": 1.0}],
     "max_idleness_s": 1800, "dwell_s": 60, "observation_pose": [0.0, 0.0, 0.0]},
    {"id": "template_watch", "kind": "watch", "name": "report people lingering",
     "max_dwell_s": 180},
    {"id": "template_night_restricted", "kind": "night_restricted", "name": "closed at night",
     "hours": {"from_hour": 22, "to_hour": 6}},
    {"id": "template_dock", "kind": "dock", "name": "charging dock", "pose": [0.0, 0.0, 0.0]},
)


def zones_document(name: str, area: Polygon, depot: Polygon,
                   bays: Sequence[Pose2D]) -> dict[str, Any]:
    """The ``zones.geojson`` FeatureCollection of a generated district."""
    bay_list = [[round(b.x, 3), round(b.y, 3), round(b.theta, 4)] for b in bays]
    feats = [
        _feature({"id": "operating_area", "kind": "operating_area",
                  "name": "walkable space the route graph reaches (generated)"}, area),
        _feature({"id": "depot", "kind": "depot", "name": "depot (generated from its bays)",
                  "pose": bay_list[0], "bays": bay_list}, depot),
    ]
    feats += [_feature({**t, "template": True,
                        "note": "unplaced: give it a Polygon geometry (map metres) to use it"},
                       None) for t in TEMPLATES]
    return {"type": "FeatureCollection", "name": f"{name}_zones", "features": feats}


