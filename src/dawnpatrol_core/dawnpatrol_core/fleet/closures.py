"""Sidewalks closed by blocked-sidewalk reports: the route edges the fleet tells every robot's
planner to avoid for a while."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from dawnpatrol_core.maps.district import DistrictMap


def edges_near(dm: DistrictMap, x: float, y: float, radius_m: float) -> list[int]:
    """Ids of route edges (both directions) passing within ``radius_m`` metres of (x, y)."""
    out = []
    p = np.array([x, y])
    for e in dm.graph.edges.values():
        pts = np.array(e.points or ((dm.graph.nodes[e.start].x, dm.graph.nodes[e.start].y),
                                    (dm.graph.nodes[e.end].x, dm.graph.nodes[e.end].y)),
                       dtype=np.float64)
        a, b = pts[:-1], pts[1:]
        ab = b - a
        den = np.maximum((ab**2).sum(axis=1), 1e-12)
        t = np.clip(((p - a) * ab).sum(axis=1) / den, 0.0, 1.0)
        d = np.sqrt((((a + t[:, None] * ab) - p) ** 2).sum(axis=1)).min()
        if d <= radius_m:
            out.append(e.id)
    return sorted(out)


def closed_edges(dm: DistrictMap, blocked: Iterable[tuple[float, float, float]], now: float,
                 ttl_s: float, radius_m: float = 2.0) -> list[int]:
    """Edges closed by blocked-sidewalk reports (x m, y m, last_seen s) seen within ``ttl_s``
    seconds of ``now``: every edge within ``radius_m`` of a report, both directions."""
    out: set[int] = set()
    for x, y, last in blocked:
        if now - last <= ttl_s and math.isfinite(x) and math.isfinite(y):
            out.update(edges_near(dm, x, y, radius_m))
    return sorted(out)
