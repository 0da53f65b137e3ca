"""Inputs the district generator's tests make for themselves: a world the generator has never
seen, a noisy SLAM-style grid and a small OpenStreetMap extract."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from dawnpatrol_core.maps.georef import GeoReference
from dawnpatrol_core.maps.grid import OCCUPIED, OccupancyGrid

ROBOT_RADIUS = 0.4
# The alley between the two eastern buildings: 0.9 m wide, narrower than the 1.2 m the
# generator needs (robot radius 0.4 + margin 0.2 on each side).
ALLEY = (46.0, 46.9, 20.0, 32.0)  # xmin, xmax, ymin, ymax


def _box(name: str, x: float, y: float, sx: float, sy: float, h: float = 6.0,
         yaw: float = 0.0) -> str:
    return (f'    <model name="{name}"><static>true</static>'
            f"<pose>{x} {y} 0 0 0 {yaw}</pose><link name=\"link\">"
            f'<collision name="c"><pose>0 0 {h / 2} 0 0 0</pose><geometry><box>'
            f"<size>{sx} {sy} {h}</size></box></geometry></collision>"
            f'<visual name="v"><pose>0 0 {h / 2} 0 0 0</pose><geometry><box>'
            f"<size>{sx} {sy} {h}</size></box></geometry></visual></link></model>\n")


def _marker(name: str, x: float, y: float, yaw: float) -> str:
    return (f'    <model name="{name}"><static>true</static><pose>{x} {y} 0 0 0 {yaw}</pose>'
            '<link name="link"><visual name="mat"><pose>0.3 0 0.005 0 0 0</pose><geometry>'
            "<box><size>0.6 1.2 0.01</size></box></geometry></visual></link></model>\n")


def courtyard_world(path: Path) -> Path:
    """A 60 x 40 m walled courtyard: a rotated apartment block with an entrance, two shops with
    a 0.9 m alley between them and an entrance each, a tree, two depot bays."""
    yaw = 0.3
    # entrance on the rotated block's south face (local (0, -4)), x axis out of the building
    ex = 18.0 + 4.0 * math.sin(yaw)
    ey = 26.0 - 4.0 * math.cos(yaw)
    body = (
        _box("wall_s", 30, -0.15, 60.6, 0.3, 2) + _box("wall_n", 30, 40.15, 60.6, 0.3, 2)
        + _box("wall_w", -0.15, 20, 0.3, 40, 2) + _box("wall_e", 60.15, 20, 0.3, 40, 2)
        + _box("block_a", 18, 26, 14, 8, 20, yaw)
        + _box("shop_b", 41, 26, 10, 12) + _box("shop_c", 51.45, 26, 9.1, 12)
        + '    <model name="tree"><static>true</static><pose>30 12 0 0 0 0</pose>'
        '<link name="link"><collision name="c"><pose>0 0 2 0 0 0</pose><geometry><cylinder>'
        "<radius>0.4</radius><length>4</length></cylinder></geometry></collision></link>"
        "</model>\n"
        + _marker("entrance_A-1", ex, ey, yaw - math.pi / 2)
        + _marker("entrance_B-1", 41, 20, -math.pi / 2)
        + _marker("entrance_C-1", 51.45, 32, math.pi / 2)
        + _marker("depot_1", 5, 5, 0.0) + _marker("depot_2", 5, 8, 0.0)
    )
    path.write_text(
        '<?xml version="1.0"?>\n<sdf version="1.9">\n  <world name="courtyard">\n'
        "    <spherical_coordinates><surface_model>EARTH_WGS84</surface_model>"
        "<world_frame_orientation>ENU</world_frame_orientation><latitude_deg>37.3"
        "</latitude_deg><longitude_deg>127.0</longitude_deg><elevation>40</elevation>"
        "<heading_deg>0</heading_deg></spherical_coordinates>\n"
        + body + "  </world>\n</sdf>\n", encoding="utf-8")
    return path


def noisy_grid(grid: OccupancyGrid, seed: int = 7) -> tuple[OccupancyGrid, np.ndarray]:
    """``grid`` as a SLAM run might give it: 40 speckles (single occupied cells, their
    (N, 2) map positions returned) in open space, and a ragged wall across part of it."""
    rng = np.random.default_rng(seed)
    data = grid.data.copy()
    free = np.argwhere(grid.free)
    # ragged wall: a 10 m run along y = 10 m from x = 2 m whose cells stick out 0-3 cells
    r0 = int((10.0 - grid.origin_y) / grid.resolution)
    c0 = int((2.0 - grid.origin_x) / grid.resolution)
    for c in range(c0, c0 + int(10.0 / grid.resolution)):
        top = int(rng.integers(0, 4))
        bottom = int(rng.integers(0, 4))
        data[r0 - 2 - bottom: r0 + 2 + top, c] = OCCUPIED
    speckles = []
    while len(speckles) < 40:
        r, c = free[int(rng.integers(len(free)))]
        x = grid.origin_x + (c + 0.5) * grid.resolution
        y = grid.origin_y + (r + 0.5) * grid.resolution
        if 2.0 < x < 28.0 and 12.0 < y < 28.0 and grid.free[r - 20:r + 21, c - 20:c + 21].all():
            data[r, c] = OCCUPIED
            speckles.append((x, y))
    return OccupancyGrid(data, grid.resolution, grid.origin_x, grid.origin_y), np.array(speckles)


ORIGIN = GeoReference(37.28, 127.04, 40.0)


def osm_extract(path: Path, road_tagged: bool = False) -> Path:
    """A street along y = 0 (x from -60 to 60 m) and, unless ``road_tagged``, its sidewalks as
    their own ways at y = +5 and y = -5 joined by a zebra crossing at x = 0; a footpath north
    to a building with an entrance node (ref A1). With ``road_tagged`` the street carries
    ``sidewalk=both`` instead of separate sidewalk ways (and the crossing is drawn across
    the street, kerb to kerb and a little beyond)."""
    pts = {
        1: (-60, 0), 2: (60, 0),                       # street
        10: (-60, 5), 11: (0, 5), 12: (20, 5), 13: (60, 5),     # north sidewalk
        20: (-60, -5), 21: (0, -5), 22: (60, -5),      # south sidewalk
        30: (20, 20), 31: (20, 30),                    # footpath to the building
        40: (10, 30), 41: (30, 30), 42: (30, 45), 43: (10, 45),  # building
        44: (0, 2.0), 45: (0, -2.0),                   # crossing nodes on the street's kerbs
        46: (0, 5.5), 47: (0, -5.5),                   # crossing ends (road-tagged variant)
    }
    nodes = []
    for nid, (x, y) in sorted(pts.items()):
        lat, lon = ORIGIN.to_wgs84(float(x), float(y))
        tags = '<tag k="entrance" v="main"/><tag k="ref" v="A1"/>' if nid == 31 else ""
        nodes.append(f'  <node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}">'
                     f"{tags}</node>")

    def way(wid: int, refs: list[int], tags: dict[str, str]) -> str:
        nd = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        return f'  <way id="{wid}" version="1">{nd}{tg}</way>'

    street = {"highway": "residential", "lanes": "2", "name": "Siheom-ro"}
    ways = []
    if road_tagged:
        ways.append(way(100, [1, 2], {**street, "sidewalk": "both"}))
        ways.append(way(103, [46, 44, 45, 47], {"highway": "footway", "footway": "crossing"}))
        ways.append(way(104, [12, 30, 31], {"highway": "footway"}))
    else:
        ways += [
            way(100, [1, 2], street),
            way(101, [10, 11, 12, 13], {"highway": "footway", "footway": "sidewalk"}),
            way(102, [20, 21, 22], {"highway": "footway", "footway": "sidewalk"}),
            way(103, [11, 44, 45, 21], {"highway": "footway", "footway": "crossing",
                                         "crossing": "zebra"}),
            way(104, [12, 30, 31], {"highway": "path"}),
        ]
    ways.append(way(105, [40, 31, 41, 42, 43, 40], {"building": "apartments"}))
    lo = ORIGIN.to_wgs84(-70.0, -20.0)
    hi = ORIGIN.to_wgs84(70.0, 55.0)
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\" generator=\"tests\">\n"
        f'  <bounds minlat="{lo[0]:.9f}" minlon="{lo[1]:.9f}" maxlat="{hi[0]:.9f}" '
        f'maxlon="{hi[1]:.9f}"/>\n' + "\n".join(nodes + ways) + "\n</osm>\n", encoding="utf-8")
    return path
