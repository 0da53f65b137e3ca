"""The depot: its pose and the parking bays robots return to."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from shapely.geometry import Point

from dawnpatrol_core.fleet.depot import depot_bays, depot_pose
from dawnpatrol_core.maps.district import DistrictMap, load_district_map

MAPS = Path(__file__).resolve().parents[3] / "maps"


@pytest.fixture(scope="module")
def suwon() -> DistrictMap:
    return load_district_map(MAPS / "suwon_dawn")


def test_depot_pose(suwon: DistrictMap) -> None:
    p = depot_pose(suwon)
    assert (p.x, p.y) == (70.0, 6.5)


def test_depot_bays_are_apart_inside_the_depot_and_start_at_the_depot_pose(
        suwon: DistrictMap) -> None:
    # Every robot used to return to the one depot pose: the first one back parked on it and
    # the others' returns failed "still blocked" (the dawn shift's r1 and r3).
    zone = suwon.zones_of_kind("depot")[0].polygon
    bays = depot_bays(suwon)
    assert (bays[0].x, bays[0].y) == (70.0, 6.5)
    # the zone names the twelve bays the world marks (depot_1..12), the first six where the
    # fleet spaced them 4 m apart before
    assert sorted(b.x for b in bays[:6]) == [62.0, 66.0, 70.0, 74.0, 78.0, 82.0]
    assert sorted(b.x for b in bays) == [62.0 + 2.0 * k for k in range(12)]
    assert all(zone.contains(Point(b.x, b.y)) and b.theta == bays[0].theta for b in bays)
    spaced = replace(suwon.zones_of_kind("depot")[0], bays=())  # no bays named: 4 m apart
    dm = DistrictMap.build("x", suwon.grid, suwon.graph, (spaced,), (), (), None)
    assert sorted(b.x for b in depot_bays(dm)) == [62.0, 66.0, 70.0, 74.0, 78.0, 82.0]
