"""Check a district folder as a whole: every problem found, one line each (file, feature id, what).

What is checked: each file loads; every edge keeps the robot's radius from occupied (and unknown)
cells; every entrance is reachable from every depot bay and back; zones are valid polygons inside
the operating area; hotspots and watch zones are reachable; the georeference is sane.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import LineString, Point, Polygon
from shapely.validation import explain_validity

from dawnpatrol_core.errors import DawnPatrolError, PlanningError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.addresses import Address, load_addresses
from dawnpatrol_core.maps.district_gen.routes import densify
from dawnpatrol_core.maps.geojson_io import read_features
from dawnpatrol_core.maps.georef import GeoReference, load_georef
from dawnpatrol_core.maps.grid import OccupancyGrid
from dawnpatrol_core.maps.occupancy_io import read_map_yaml
from dawnpatrol_core.maps.route_graph import RouteGraph
from dawnpatrol_core.maps.route_io import load_route_graph
from dawnpatrol_core.maps.zones import Zone, zone_from_feature
from dawnpatrol_core.planning.route_search import RoutePlanner, RouteSearchConfig

FloatArray = npt.NDArray[np.float64]
T = TypeVar("T")
Report = Callable[[Path | str, object, str], None]
#: Zone area (m²) allowed outside the operating area (outline rounding).
OUTSIDE_TOLERANCE_M2 = 0.05
#: A watch zone is reachable when a route from the depot passes this close (m): the robot sees it.
WATCH_REACH_M = 5.0


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: the file, the feature (edge, zone or address id; '' for the file) and
    what is wrong, for people."""

    file: str
    feature: str
    what: str

    def __str__(self) -> str:
        return f"{self.file}: {self.feature + ': ' if self.feature else ''}{self.what}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The problems found and, for the summary line, what was looked at."""

    problems: tuple[Problem, ...]
    nodes: int = 0
    edges: int = 0
    entrances: int = 0
    bays: int = 0
    zones: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class _Clearance:
    """Distance (m) from any map point to the nearest cell that is not known free."""

    def __init__(self, grid: OccupancyGrid) -> None:
        self.grid = grid
        edt = ndimage.distance_transform_edt(np.pad(grid.free, 1))[1:-1, 1:-1]
        self.dist = np.maximum(edt * grid.resolution - 0.5 * grid.resolution, 0.0)

    def at(self, xy: FloatArray) -> FloatArray:
        r, c = self.grid.world_to_cell(xy[:, 0], xy[:, 1])
        inside = self.grid.in_bounds(r, c)
        out = np.zeros(len(xy))
        out[inside] = self.dist[r[inside], c[inside]]
        return out

    def worst(self, pts: FloatArray) -> tuple[float, FloatArray]:
        """Least clearance along a polyline and where it is."""
        dense = densify(pts, 0.5 * self.grid.resolution)
        d = self.at(dense)
        k = int(np.argmin(d))
        return float(d[k]), dense[k]


def check_district(directory: str | Path, robot_radius: float = 0.4) -> CheckResult:
    """Every problem of the district in ``directory`` (see the module docstring)."""
    d = Path(directory)
    problems: list[Problem] = []

    def bad(path: Path | str, feature: object, what: str) -> None:
        problems.append(Problem(str(path), "" if feature == "" else str(feature), what))

    def load(fn: Callable[[Path], T], path: Path) -> T | None:
        if not path.is_file():
            bad(path, "", "missing")
            return None
        try:
            return fn(path)
        except DawnPatrolError as exc:
            msg = str(exc).splitlines()[0]
            bad(path, "", msg.removeprefix(f"{path}: ").removeprefix(f"{path}:"))
            return None

    grid = load(read_map_yaml, d / "map.yaml")
    graph = load(load_route_graph, d / "routes.geojson")
    addresses: tuple[Address, ...] = load(load_addresses, d / "addresses.yaml") or ()
    georef = load(load_georef, d / "georef.yaml")
    zones = _zones(d / "zones.geojson", bad)

    if georef is not None:
        _check_georef(georef, grid, d / "georef.yaml", bad)
    clear = _Clearance(grid) if grid is not None else None
    if graph is not None and clear is not None:
        _check_edges(graph, clear, robot_radius, d / "routes.geojson", bad)
    operating = [z for z in zones if z.kind == "operating_area"]
    area = operating[0].polygon if operating else None
    if zones and area is None:
        bad(d / "zones.geojson", "", "no zone of kind 'operating_area'")
    for z in zones:
        if area is None or z.kind == "operating_area":
            continue
        outside = z.polygon.difference(area).area
        if outside > OUTSIDE_TOLERANCE_M2:
            bad(d / "zones.geojson", z.id,
                f"{z.kind} zone: {outside:.2f} m² of it lies outside the operating area")
    bays = _bays(zones)
    if not bays and zones:
        bad(d / "zones.geojson", "", "no zone of kind 'depot' with a pose")
    if graph is not None and graph.edges and bays:
        planner = RoutePlanner(graph, None, RouteSearchConfig())
        reach = _Reach(graph, planner, clear, robot_radius)
        depot_comp = {reach.component(b) for b in bays}
        depot_comp.discard(None)
        for i, b in enumerate(bays):
            why = reach.why_not(b)
            if why:
                bad(d / "zones.geojson", "depot", f"bay {i + 1} at ({b.x:.2f}, {b.y:.2f}): {why}")
        if len(depot_comp) > 1:
            bad(d / "zones.geojson", "depot",
                "the depot bays are on routes not connected with each other (both ways)")
        for a in addresses:
            if area is not None and not area.covers(Point(a.pose.x, a.pose.y)):
                bad(d / "addresses.yaml", a.id,
                    f"pose ({a.pose.x:.2f}, {a.pose.y:.2f}) is outside the operating area")
            why = reach.why_not(a.pose) or reach.cut_off(a.pose, depot_comp, "depot bays")
            if why:
                bad(d / "addresses.yaml", a.id, f"entrance not reachable: {why}")
        for z in zones:
            if z.kind == "hotspot":
                pose = _observation(z)
                if pose is None:
                    continue
                why = reach.why_not(pose) or reach.cut_off(pose, depot_comp, "depot bays")
                if area is not None and not area.covers(Point(pose.x, pose.y)):
                    why = why or "observation pose outside the operating area"
                if why:
                    bad(d / "zones.geojson", z.id, f"hotspot not reachable: {why}")
            elif z.kind == "watch" and not reach.touches(z.polygon, depot_comp):
                bad(d / "zones.geojson", z.id,
                    "watch zone not reachable: no route from the depot passes within "
                    f"{WATCH_REACH_M:g} m of it")
    return CheckResult(
        tuple(problems),
        nodes=len(graph.nodes) if graph else 0,
        edges=len(graph.edges) if graph else 0,
        entrances=len(addresses),
        bays=len(bays),
        zones=sum(1 for z in zones),
    )


def _zones(path: Path, bad: Report) -> list[Zone]:
    """Every zone that parses; one problem per feature that does not."""
    if not path.is_file():
        bad(path, "", "missing")
        return []
    try:
        src, feats = read_features(path, unplaced=True)
    except DawnPatrolError as exc:
        bad(path, "", str(exc).splitlines()[0].removeprefix(f"{path}: "))
        return []
    out: list[Zone] = []
    seen: set[str] = set()
    for f in feats:
        fid = f["properties"]["id"]
        if fid in seen:
            bad(path, fid, "id used by another feature")
            continue
        seen.add(str(fid))
        geom = f.get("geometry") or {}
        if geom.get("type") == "Polygon":
            try:
                from shapely.geometry import shape

                poly = shape(geom)
                if not poly.is_valid:
                    bad(path, fid, f"{f['properties'].get('kind', 'zone')} polygon is not "
                                   f"simple: {explain_validity(poly)}")
                    continue
            except (ValueError, TypeError, AttributeError, IndexError):
                pass
        try:
            out.append(zone_from_feature(src, f)[0])
        except DawnPatrolError as exc:
            msg = str(exc).splitlines()[0]
            bad(path, fid, msg.split(f"feature id {fid!r}: ", 1)[-1])
    return out


def _bays(zones: Iterable[Zone]) -> tuple[Pose2D, ...]:
    for z in zones:
        if z.kind == "depot" and z.pose is not None:
            return z.bays or (z.pose,)
    return ()


def _observation(z: Zone) -> Pose2D | None:
    v = z.properties.get("observation_pose")
    if isinstance(v, list) and len(v) == 3:
        return Pose2D(float(v[0]), float(v[1]), float(v[2]))
    return None


def _check_edges(graph: RouteGraph, clear: _Clearance, radius: float, path: Path,
                 bad: Report) -> None:
    done: set[tuple[int, int]] = set()
    for eid in sorted(graph.edges):
        e = graph.edges[eid]
        key = (min(e.start, e.end), max(e.start, e.end))
        if key in done:
            continue
        pts = np.asarray(e.points, dtype=np.float64)
        if len(pts) < 2:
            a, b = graph.nodes[e.start], graph.nodes[e.end]
            pts = np.array([[a.x, a.y], [b.x, b.y]])
        worst, where = clear.worst(pts)
        # the grid resolves clearance to half a cell
        if worst < radius - 0.5 * clear.grid.resolution - 1e-9:
            done.add(key)
            rev = next((r for r in graph.out_edges.get(e.end, ())
                        if graph.edges[r].end == e.start), None)
            both = f" (and its reverse {rev})" if rev is not None else ""
            bad(path, eid, f"edge{both} passes {worst:.2f} m from an occupied or unknown cell "
                           f"at ({where[0]:.2f}, {where[1]:.2f}), expected >= {radius:g} m "
                           "(the robot's radius)")


def _check_georef(g: GeoReference, grid: OccupancyGrid | None, path: Path,
                  bad: Report) -> None:
    if abs(g.latitude_deg) < 1e-9 and abs(g.longitude_deg) < 1e-9:
        bad(path, "origin", "latitude and longitude are 0, 0 (not set?)")
        return
    if abs(g.latitude_deg) > 84.0:
        bad(path, "origin", f"latitude {g.latitude_deg}: beyond 84°, the local ENU plane is "
                            "not a usable map frame there")
        return
    if grid is None:
        return
    x0, y0, x1, y1 = grid.extent
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        lat, lon = g.to_wgs84(x, y)
        bx, by = g.from_wgs84(lat, lon)
        if not (math.isfinite(lat) and math.isfinite(lon)) or math.hypot(bx - x, by - y) > 0.01:
            bad(path, "origin", f"map corner ({x:.1f}, {y:.1f}) does not convert to WGS84 and "
                                "back within 1 cm")
            return


class _Reach:
    """Joins poses to the graph as the navigator does and answers reachability questions on the
    strongly connected components of the directed graph."""

    def __init__(self, graph: RouteGraph, planner: RoutePlanner, clear: _Clearance | None,
                 radius: float) -> None:
        self.graph, self.planner, self.clear, self.radius = graph, planner, clear, radius
        ids = sorted(graph.nodes)
        index = {n: i for i, n in enumerate(ids)}
        rows = [index[e.start] for e in graph.edges.values()]
        cols = [index[e.end] for e in graph.edges.values()]
        m = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(ids), len(ids)))
        _, labels = connected_components(m, directed=True, connection="strong")
        self.scc = {n: int(labels[index[n]]) for n in ids}

    def _join(self, p: Pose2D) -> tuple[int | None, str]:
        try:
            j = self.planner.join(p.x, p.y)
        except PlanningError:
            return None, (f"no route edge within {self.planner.config.max_join_distance:g} m "
                          f"of ({p.x:.2f}, {p.y:.2f})")
        if self.clear is not None and j.distance > 1e-6:
            worst, where = self.clear.worst(np.array([[p.x, p.y], [j.x, j.y]]))
            if worst < self.radius - 0.5 * self.clear.grid.resolution:
                return None, (f"the nearest route edge {j.edge_id} is {j.distance:.1f} m away "
                              f"and the way to it passes {worst:.2f} m from an obstacle at "
                              f"({where[0]:.2f}, {where[1]:.2f})")
        e = self.graph.edges[j.edge_id]
        return self.scc[e.start] if self.scc[e.start] == self.scc[e.end] else None, (
            f"its edge {j.edge_id} is one-way")

    def component(self, p: Pose2D) -> int | None:
        return self._join(p)[0]

    def why_not(self, p: Pose2D) -> str:
        comp, why = self._join(p)
        return "" if comp is not None else why

    def cut_off(self, p: Pose2D, comps: set[int | None], what: str) -> str:
        comp = self.component(p)
        if comp is None or not comps or comp in comps:
            return ""
        return f"its routes are not connected with the {what} (both ways)"

    def touches(self, poly: Polygon, comps: set[int | None]) -> bool:
        near = poly.buffer(WATCH_REACH_M)
        for e in self.graph.edges.values():
            if self.scc[e.start] in comps and near.intersects(LineString(e.points)):
                return True
        return False
