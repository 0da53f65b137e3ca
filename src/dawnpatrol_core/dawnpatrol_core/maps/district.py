"""A district map: grid, route graph, zones, hotspots, addresses and georeference, with the
point queries the navigator, planners and fleet use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Point

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.addresses import Address, load_addresses
from dawnpatrol_core.maps.georef import GeoReference, load_georef
from dawnpatrol_core.maps.grid import OccupancyGrid
from dawnpatrol_core.maps.occupancy_io import read_map_yaml
from dawnpatrol_core.maps.route_graph import RouteGraph, RouteNode
from dawnpatrol_core.maps.route_io import load_route_graph
from dawnpatrol_core.maps.zones import Hotspot, Zone, load_zones

#: Speed limit (m/s) where no speed_limit zone applies: Korean sidewalk robots, normal mode.
DEFAULT_SIDEWALK_SPEED = 1.5


@dataclass(frozen=True, slots=True, eq=False)
class DistrictMap:
    """Everything a robot knows about its district, in the map frame (ENU metres)."""

    name: str
    grid: OccupancyGrid
    graph: RouteGraph
    zones: tuple[Zone, ...]
    hotspots: tuple[Hotspot, ...]
    addresses: dict[str, Address]
    georef: GeoReference | None
    _tree: shapely.STRtree
    _node_ids: npt.NDArray[np.int64]
    _node_xy: npt.NDArray[np.float64]
    # Prepared unions and speed zones for the vectorized point queries (control loops ask for
    # hundreds of points a tick; one shapely call per zone kind instead of one per point).
    _operating: object
    _keep_out: object
    _speed_zones: tuple[tuple[object, float], ...]

    @staticmethod
    def build(
        name: str,
        grid: OccupancyGrid,
        graph: RouteGraph,
        zones: tuple[Zone, ...],
        hotspots: tuple[Hotspot, ...],
        addresses: tuple[Address, ...],
        georef: GeoReference | None,
    ) -> DistrictMap:
        """Assemble a district map and its spatial indexes (no validation)."""
        ids = np.array(sorted(graph.nodes), dtype=np.int64)
        xy = np.array([[graph.nodes[i].x, graph.nodes[i].y] for i in ids], dtype=np.float64)

        def union(kind: str) -> object:
            geom = shapely.union_all([z.polygon for z in zones if z.kind == kind])
            shapely.prepare(geom)
            return geom

        speed: list[tuple[object, float]] = []
        for z in zones:
            if z.speed_limit is not None:
                shapely.prepare(z.polygon)
                speed.append((z.polygon, float(z.speed_limit)))
        return DistrictMap(
            name,
            grid,
            graph,
            zones,
            hotspots,
            {a.id: a for a in addresses},
            georef,
            shapely.STRtree([z.polygon for z in zones]),
            ids,
            xy.reshape(-1, 2),
            union("operating_area"),
            union("keep_out"),
            tuple(speed),
        )

    def zones_at(self, x: float, y: float) -> tuple[Zone, ...]:
        """Zones whose polygon covers (x, y) (boundary included), in file order."""
        idx = self._tree.query(Point(x, y), predicate="intersects")
        return tuple(self.zones[i] for i in sorted(int(i) for i in idx))

    def zones_of_kind(self, kind: str) -> tuple[Zone, ...]:
        """All zones of one kind (e.g. ``"keep_out"``)."""
        return tuple(z for z in self.zones if z.kind == kind)

    def speed_limit_at(self, x: float, y: float) -> float:
        """Lowest speed_limit (m/s) over the zones covering (x, y); the sidewalk default else."""
        return float(self.speed_limits_xy(np.array([[x, y]], dtype=np.float64))[0])

    def is_allowed(self, x: float, y: float) -> bool:
        """True inside an operating area and outside every keep-out zone."""
        return bool(self.allowed_xy(np.array([[x, y]], dtype=np.float64))[0])

    def speed_limits_xy(self, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """(N,) speed limits (m/s) at the (N, 2) map points: as ``speed_limit_at`` for each."""
        x, y = xy[:, 0], xy[:, 1]
        out = np.full(len(xy), np.inf)
        for poly, limit in self._speed_zones:
            out = np.where(shapely.intersects_xy(poly, x, y), np.minimum(out, limit), out)
        return np.where(np.isinf(out), DEFAULT_SIDEWALK_SPEED, out)

    def allowed_xy(self, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """(N,) bool: each of the (N, 2) map points inside the operating area and outside every
        keep-out zone (boundaries count as inside, as in ``zones_at``)."""
        x, y = xy[:, 0], xy[:, 1]
        inside = np.asarray(shapely.intersects_xy(self._operating, x, y), dtype=bool)
        keep_out = np.asarray(shapely.intersects_xy(self._keep_out, x, y), dtype=bool)
        ok: npt.NDArray[np.bool_] = inside & ~keep_out
        return ok

    def nearest_node(self, x: float, y: float) -> RouteNode:
        """The route node closest to (x, y) (Euclidean, metres)."""
        d2 = np.sum((self._node_xy - np.array([x, y])) ** 2, axis=1)
        return self.graph.nodes[int(self._node_ids[int(np.argmin(d2))])]

    def address_pose(self, address_id: str) -> Pose2D:
        """Stop pose (facing the door) of an entrance; ``MapError`` for an unknown id."""
        a = self.addresses.get(address_id)
        if a is None:
            raise MapError(f"{self.name}: address id {address_id!r}: not in addresses.yaml")
        return a.pose

    def _geo(self) -> GeoReference:
        if self.georef is None:
            raise MapError(f"{self.name}: no georeference (georef.yaml missing)")
        return self.georef

    def to_wgs84(self, x: float, y: float) -> tuple[float, float]:
        """Map (x, y) metres -> (latitude, longitude) degrees."""
        return self._geo().to_wgs84(x, y)

    def from_wgs84(self, lat: float, lon: float) -> tuple[float, float]:
        """(latitude, longitude) degrees -> map (x, y) metres."""
        return self._geo().from_wgs84(lat, lon)


def load_district_map(directory: str | Path) -> DistrictMap:
    """Load ``map.yaml`` (+ image), ``routes.geojson``, ``zones.geojson``, ``addresses.yaml``
    and ``georef.yaml`` (optional) from a map directory, validating each and their
    consistency (every address inside the operating area and not in a keep-out zone)."""
    d = Path(directory)
    if not (d / "map.yaml").is_file():
        raise MapError(f"{d}: not a map directory (map.yaml missing)")
    grid = read_map_yaml(d / "map.yaml")
    graph = load_route_graph(d / "routes.geojson")
    zones, hotspots = load_zones(d / "zones.geojson")
    addresses = load_addresses(d / "addresses.yaml")
    georef = load_georef(d / "georef.yaml") if (d / "georef.yaml").is_file() else None
    dm = DistrictMap.build(d.name, grid, graph, zones, hotspots, addresses, georef)
    for a in addresses:
        if not dm.is_allowed(a.pose.x, a.pose.y):
            raise MapError(
                f"{d / 'addresses.yaml'}:{a.line}: address id {a.id!r}: field 'pose': got "
                f"{list(a.pose.as_tuple())!r}, expected a point inside the operating area "
                "and outside keep-out zones"
            )
    return dm
