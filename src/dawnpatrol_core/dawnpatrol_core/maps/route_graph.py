"""Sidewalk route graph: the types shared by the GeoJSON loader and the route planner.

The on-disk format is Nav2 route server GeoJSON (nodes are Point features with ``id``; edges
are LineString features with ``id``, ``startid``, ``endid``, ``cost``, ``overridable`` and
``metadata``); one directed edge per direction of travel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RouteNode:
    """A graph vertex at (x, y) metres in the map frame."""

    id: int
    x: float
    y: float
    name: str = ""


@dataclass(frozen=True, slots=True)
class RouteEdge:
    """A directed edge ``start -> end``.

    ``length``: metres along ``points``. ``speed_limit``: m/s on this edge (before zone limits).
    ``width``: usable sidewalk width, metres. ``crosswalk``: True on road crossings.
    ``points``: the polyline, start node first, end node last.
    """

    id: int
    start: int
    end: int
    length: float
    speed_limit: float
    width: float = 2.0
    crosswalk: bool = False
    cost: float | None = None
    overridable: bool = True
    points: tuple[tuple[float, float], ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True, eq=False)
class RouteGraph:
    """Nodes and directed edges by id; ``out_edges`` maps a node id to its outgoing edge ids."""

    nodes: dict[int, RouteNode]
    edges: dict[int, RouteEdge]
    out_edges: dict[int, tuple[int, ...]]

    @staticmethod
    def build(nodes: list[RouteNode], edges: list[RouteEdge]) -> RouteGraph:
        """Index nodes and edges (no validation: loaders validate before calling this)."""
        out: dict[int, list[int]] = {n.id: [] for n in nodes}
        for e in edges:
            out.setdefault(e.start, []).append(e.id)
        return RouteGraph(
            nodes={n.id: n for n in nodes},
            edges={e.id: e for e in edges},
            out_edges={k: tuple(v) for k, v in out.items()},
        )
