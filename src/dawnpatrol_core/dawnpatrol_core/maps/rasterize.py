"""Rasterize a world's static obstacle footprints into an occupancy grid (deterministic)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from shapely.geometry.base import BaseGeometry

from dawnpatrol_core.maps.georef import GeoReference, write_georef
from dawnpatrol_core.maps.grid import FREE, OCCUPIED, OccupancyGrid
from dawnpatrol_core.maps.occupancy_io import write_map_yaml
from dawnpatrol_core.world import load_spherical_coordinates, load_world

DEFAULT_RESOLUTION = 0.05
DEFAULT_MARGIN = 3.0


def grid_frame(
    bounds: tuple[float, float, float, float],
    resolution: float = DEFAULT_RESOLUTION,
    margin: float = DEFAULT_MARGIN,
) -> tuple[float, float, int, int]:
    """(origin_x, origin_y, width, height): bounds plus ``margin`` (m), snapped to whole metres."""
    x0 = math.floor(bounds[0] - margin)
    y0 = math.floor(bounds[1] - margin)
    x1 = math.ceil(bounds[2] + margin)
    y1 = math.ceil(bounds[3] + margin)
    return float(x0), float(y0), round((x1 - x0) / resolution), round((y1 - y0) / resolution)


def rasterize_footprints(
    footprints: Sequence[BaseGeometry],
    bounds: tuple[float, float, float, float],
    resolution: float = DEFAULT_RESOLUTION,
    margin: float = DEFAULT_MARGIN,
) -> OccupancyGrid:
    """Occupancy grid (free everywhere, occupied inside any footprint polygon).

    ``bounds`` (m) sets the extent (plus ``margin``). A cell is occupied when its centre lies in
    a footprint or the footprint's outline touches it (Pillow polygon fill + outline).
    """
    ox, oy, w, h = grid_frame(bounds, resolution, margin)
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    for g in footprints:
        for poly in getattr(g, "geoms", [g]):
            if poly.is_empty or not hasattr(poly, "exterior"):
                continue
            c = np.asarray(poly.exterior.coords, dtype=np.float64)[:, :2]
            # image x = column (pixel centres at +0.5), image y = top row first
            px = (c[:, 0] - ox) / resolution - 0.5
            py = (h - (c[:, 1] - oy) / resolution) - 0.5
            pts = [(float(a), float(b)) for a, b in zip(px, py, strict=True)]
            draw.polygon(pts, fill=1, outline=1)
    occ = np.asarray(img, dtype=np.uint8)[::-1] > 0
    data = np.where(occ, OCCUPIED, FREE).astype(np.int8)
    return OccupancyGrid(data=data, resolution=resolution, origin_x=ox, origin_y=oy)


def build_map(
    world_path: str | Path, out_dir: str | Path, resolution: float = DEFAULT_RESOLUTION
) -> OccupancyGrid:
    """Build ``map.pgm`` + ``map.yaml`` (and ``georef.yaml`` when the world has
    ``<spherical_coordinates>``) in ``out_dir`` from the world's static footprints."""
    world = load_world(world_path)
    fp_bounds = world.bounds
    if world.footprints:
        xs = [g.bounds for g in world.footprints]
        fp_bounds = (
            min(b[0] for b in xs),
            min(b[1] for b in xs),
            max(b[2] for b in xs),
            max(b[3] for b in xs),
        )
    grid = rasterize_footprints(world.footprints, fp_bounds, resolution)
    write_map_yaml(grid, out_dir)
    sc = load_spherical_coordinates(world_path)
    if sc is not None:
        write_georef(GeoReference(*sc), Path(out_dir) / "georef.yaml")
    return grid
