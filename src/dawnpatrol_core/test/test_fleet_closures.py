"""Sidewalks closed by blocked-sidewalk reports."""

from __future__ import annotations

from pathlib import Path

from dawnpatrol_core.fleet.closures import closed_edges
from dawnpatrol_core.maps.district import load_district_map

MAPS = Path(__file__).resolve().parents[3] / "maps"


def test_closed_edges_near_recent_reports() -> None:
    suwon = load_district_map(MAPS / "suwon_dawn")
    e = next(iter(suwon.graph.edges.values()))
    mx = 0.5 * (e.points[0][0] + e.points[-1][0])
    my = 0.5 * (e.points[0][1] + e.points[-1][1])
    closed = closed_edges(suwon, [(mx, my, 100.0)], now=200.0, ttl_s=600.0, radius_m=0.5)
    assert e.id in closed
    reverse = [x.id for x in suwon.graph.edges.values() if (x.start, x.end) == (e.end, e.start)]
    assert set(reverse) <= set(closed)
    assert closed_edges(suwon, [(mx, my, 100.0)], now=1000.0, ttl_s=600.0) == []
