"""A whole district folder from one source: an SDF world, a map_server map (a SLAM grid) or an
OpenStreetMap extract — occupancy grid, route graph, addresses, zones and georeference, as
``dawnpatrol district new`` writes them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.addresses import Address
from dawnpatrol_core.maps.district_gen import routes as rg
from dawnpatrol_core.maps.district_gen import zones as zg
from dawnpatrol_core.maps.district_gen.osm import OsmDistrict, load_osm
from dawnpatrol_core.maps.district_gen.sites import Sites, sites_from_markers
from dawnpatrol_core.maps.georef import GeoReference, write_georef
from dawnpatrol_core.maps.grid import OccupancyGrid
from dawnpatrol_core.maps.occupancy_io import read_map_yaml, write_map_yaml
from dawnpatrol_core.maps.rasterize import DEFAULT_RESOLUTION, build_map, rasterize_footprints
from dawnpatrol_core.maps.route_graph import RouteGraph
from dawnpatrol_core.maps.route_io import write_route_graph
from dawnpatrol_core.world import load_district_markers, load_spherical_coordinates

#: Half-width (m) of the operating area round OSM routes when the extract is the only source.
OSM_CORRIDOR = 1.5


@dataclass(frozen=True, slots=True)
class DistrictConfig:
    """``routes``: the route generator's tuning. ``standoff``: m between a door and where the
    robot stops. ``max_join``: m, the farthest a site may be from the graph."""

    routes: rg.RouteGenConfig = field(default_factory=rg.RouteGenConfig)
    standoff: float = 1.0
    max_join: float = 40.0


@dataclass(frozen=True, slots=True, eq=False)
class Source:
    """What a district is made from: the grid, the sites, the walkable surface and crossings
    (empty: all free space is walkable), route lines (None: from the free space), the
    georeference when the source has one, and for OSM-only districts the corridor width."""

    name: str
    grid: OccupancyGrid
    sites: Sites
    surfaces: tuple[BaseGeometry, ...] = ()
    crossings: tuple[BaseGeometry, ...] = ()
    route_lines: tuple[LineString, ...] | None = None
    crossing_lines: tuple[LineString, ...] = ()
    georef: GeoReference | None = None
    corridor: float | None = None


def source_from_world(path: str | Path, resolution: float = DEFAULT_RESOLUTION,
                      out_dir: str | Path | None = None) -> Source:
    """A world's grid (written to ``out_dir`` when given, else built in memory), its marker
    models, its pavement and its ``<spherical_coordinates>``."""
    if out_dir is not None:
        grid = build_map(path, out_dir, resolution)
    else:
        from dawnpatrol_core.world import load_world

        world = load_world(path)
        grid = rasterize_footprints(world.footprints, _fp_bounds(world), resolution)
    markers = load_district_markers(path)
    sc = load_spherical_coordinates(path)
    return Source(Path(path).stem, grid, sites_from_markers(markers, str(path)),
                  markers.walkable, markers.crossings, georef=GeoReference(*sc) if sc else None)


def _fp_bounds(world: Any) -> tuple[float, float, float, float]:
    if not world.footprints:
        return tuple(world.bounds)  # type: ignore[no-any-return]
    b = [g.bounds for g in world.footprints]
    return (min(v[0] for v in b), min(v[1] for v in b), max(v[2] for v in b),
            max(v[3] for v in b))


def source_from_map(path: str | Path) -> Source:
    """A map_server map (e.g. from a SLAM run): the grid only; sites come from a sites YAML."""
    return Source(Path(path).parent.name or Path(path).stem, read_map_yaml(path),
                  Sites((), ()))


def source_from_osm(path: str | Path, georef: GeoReference,
                    resolution: float = DEFAULT_RESOLUTION) -> Source:
    """An OSM extract alone: buildings and barriers rasterized into the grid (over the
    extract's bounds), its footways as route lines, its entrance nodes as entrances."""
    osm = load_osm(path, georef)
    bounds = osm.bounds
    if bounds is None:
        xs = np.vstack([np.asarray(r.line.coords) for r in osm.routes])
        bounds = (float(xs[:, 0].min()), float(xs[:, 1].min()), float(xs[:, 0].max()),
                  float(xs[:, 1].max()))
    grid = rasterize_footprints(osm.obstacles, bounds, resolution, margin=3.0)
    return with_osm_routes(Source(Path(path).stem, grid, Sites(osm.entrances, ()),
                                  georef=georef, corridor=OSM_CORRIDOR), osm)


def with_osm_routes(src: Source, osm: OsmDistrict) -> Source:
    """``src`` with its route graph taken from an OSM extract's footways."""
    return Source(src.name, src.grid, src.sites, src.surfaces, src.crossings,
                  tuple(r.line for r in osm.routes),
                  tuple(r.line for r in osm.routes if r.kind == "crossing"),
                  src.georef, src.corridor)


@dataclass(frozen=True, slots=True, eq=False)
class District:
    """A generated district: everything ``write_district`` writes, plus what could not be done
    (``warnings``: one line each, e.g. an entrance the graph cannot reach)."""

    name: str
    grid: OccupancyGrid
    graph: RouteGraph
    addresses: tuple[Address, ...]
    zones: dict[str, Any]
    georef: GeoReference
    depot_bays: tuple[Pose2D, ...]
    warnings: tuple[str, ...]


Progress = Callable[[str], None]


def generate_district(src: Source, georef: GeoReference, cfg: DistrictConfig | None = None,
                      progress: Progress | None = None) -> District:
    """Route graph, addresses and zones for ``src``. Raises ``MapError`` when the district
    cannot be made at all (no depot bay, no walkable space, the depot cut off)."""
    cfg = cfg or DistrictConfig()
    say = progress or (lambda _line: None)
    rc = cfg.routes
    if not src.sites.depot_bays:
        raise MapError(f"{src.name}: no depot bay (mark them with depot_<n> models in the "
                       "world, or list them under 'depot:' in a sites YAML)")
    walk = rg.walkable_space(src.grid, rc.resolution, src.surfaces, src.crossings)
    say(f"walkable space: {walk.mask.sum() * walk.resolution ** 2:.0f} m² at "
        f"{walk.resolution:g} m")
    crossing_polys: list[Polygon] = []
    if src.route_lines is None:
        sk = rg.generate_sketch(walk, rc)
        say(f"skeleton: {len(sk.nodes)} nodes, {len(sk.edges)} edges, "
            f"{sk.total_length():.0f} m after pruning")
    else:
        # Routes keep the robot's radius from obstacles: a footpath mapped up to a wall ends
        # short of it (the entrance's spur joins it there).
        clear = replace(walk, mask=walk.mask & (walk.clearance >= rc.robot_radius))
        sk = rg.sketch_from_lines(src.route_lines, _touched_area(clear, src.route_lines))
        crossing_polys = [ln.buffer(0.25) for ln in src.crossing_lines]
        say(f"routes from OSM: {len(sk.nodes)} nodes, {len(sk.edges)} edges, "
            f"{sk.total_length():.0f} m inside the operating area")
    bays = src.sites.depot_bays
    rg.keep_components(sk, walk, rc.robot_radius, np.array([[b.x, b.y] for b in bays]))
    warnings: list[str] = []
    for i, b in enumerate(bays):
        if rg.join_point(sk, walk, (b.x, b.y), rc.robot_radius, cfg.max_join) is None:
            if i == 0:
                raise MapError(f"{src.name}: depot bay 1 at ({b.x:.2f}, {b.y:.2f}): no route "
                               f"reaches it with {rc.robot_radius} m of clearance")
            warnings.append(f"depot bay {i + 1} at ({b.x:.2f}, {b.y:.2f}): not reachable, "
                            "left out")
    kept_bays = tuple(b for i, b in enumerate(bays)
                      if not any(w.startswith(f"depot bay {i + 1} ") for w in warnings))
    addresses: list[Address] = []
    for k, e in enumerate(src.sites.entrances):
        pose = e.standing_pose(cfg.standoff)
        j = rg.join_point(sk, walk, (pose.x, pose.y), rc.robot_radius, cfg.max_join)
        if j is None:
            warnings.append(f"entrance {e.id!r} ({e.source or 'sites'}): the robot cannot stand "
                            f"{cfg.standoff:g} m in front of the door at ({pose.x:.2f}, "
                            f"{pose.y:.2f}) or reach the routes from there; left out")
            continue
        addresses.append(Address(
            e.id, e.address_ko or f"{e.id} 출입구 (주소를 입력하세요)",
            e.address_en or f"Entrance {e.id} (write the address here)",
            Pose2D(round(pose.x, 3), round(pose.y, 3), round(pose.theta, 4)), e.handover, k))
    rg.simplify_and_split(sk, walk, rc)
    graph = rg.sketch_to_graph(sk, walk, rc, crossing_polys)
    say(f"route graph: {len(graph.nodes)} nodes, {len(graph.edges)} directed edges; "
        f"{len(addresses)} entrances and {len(kept_bays)} depot bays joined")
    node_xy = np.array([[n.x, n.y] for n in graph.nodes.values()])
    corridor = None
    if src.corridor:
        from shapely.ops import unary_union

        corridor = unary_union([LineString(e.points).buffer(src.corridor)
                                for e in graph.edges.values()])
    area_poly = zg.operating_area(walk, node_xy, corridor)
    depot = zg.depot_zone(kept_bays, area_poly)
    say(f"operating area: {area_poly.area:.0f} m²; depot zone {depot.area:.0f} m²")
    return District(src.name, src.grid, graph, tuple(addresses),
                    zg.zones_document(src.name, area_poly, depot, kept_bays), georef, kept_bays,
                    tuple(warnings))


def _touched_area(walk: rg.Walkable, lines: Sequence[LineString]) -> BaseGeometry:
    """The walkable regions any of the lines passes through, as a polygon."""
    pts = np.vstack([rg.densify(np.asarray(ln.coords), walk.resolution) for ln in lines])
    return zg.operating_area(walk, pts, None, keep_all=True)


def write_district(d: District, out_dir: str | Path, write_grid: bool = True) -> list[Path]:
    """Write map.pgm/yaml (unless already written), routes.geojson, addresses.yaml,
    zones.geojson and georef.yaml into ``out_dir``; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if write_grid:
        write_map_yaml(d.grid, out)
    write_route_graph(d.graph, out / "routes.geojson", d.name)
    (out / "addresses.yaml").write_text(addresses_text(d.addresses, d.name), encoding="utf-8")
    (out / "zones.geojson").write_text(zones_text(d.zones), encoding="utf-8")
    write_georef(d.georef, out / "georef.yaml")
    return [out / f for f in ("map.yaml", "map.pgm", "routes.geojson", "addresses.yaml",
                              "zones.geojson", "georef.yaml")]


def addresses_text(addresses: Sequence[Address], name: str) -> str:
    """``addresses.yaml`` of generated entrances (placeholders where no text was given)."""
    head = (f"# Building entrances of the {name} district, made by `dawnpatrol district new`.\n"
            "# pose: [x m, y m, yaw rad] in the map frame, where the robot stops facing the door.\n"
            "# Write the real addresses and handover methods (pin | door) in place of the\n"
            "# placeholders; re-running `district new` overwrites this file.\n")
    body = yaml.safe_dump(
        {"addresses": [{"id": a.id, "address_ko": a.address_ko, "address_en": a.address_en,
                        "pose": list(a.pose.as_tuple()), "handover": a.handover}
                       for a in addresses]},
        allow_unicode=True, sort_keys=False, default_flow_style=None, width=100)
    return head + body


def zones_text(doc: dict[str, Any]) -> str:
    """``zones.geojson`` text: one feature per line."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in doc["features"]]
    return ('{"type": "FeatureCollection", "name": ' + json.dumps(doc["name"]) +
            ', "features": [\n' + ",\n".join(lines) + "\n]}\n")
