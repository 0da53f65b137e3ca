"""District zones -> anomaly rule inputs: hours and dwell from zone properties, per-zone dwell."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box

from dawnpatrol_core.anomaly.rules import HourWindow, RuleConfig
from dawnpatrol_core.anomaly.tracking import Track
from dawnpatrol_core.anomaly.zones_adapter import (
    DistrictRuleEngine,
    DistrictZones,
    district_zones,
)
from dawnpatrol_core.errors import MapError
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.maps.zones import Zone

MAPS = Path(__file__).resolve().parents[3] / "maps"


@pytest.fixture(scope="module")
def suwon() -> DistrictZones:
    return district_zones(load_district_map(MAPS / "suwon_dawn"))


def test_suwon_watch_zones_dwell_and_hours(suwon: DistrictZones) -> None:
    got = {z.id: (z.hours, d) for z, d in zip(suwon.watch, suwon.dwell_s, strict=True)}
    night = HourWindow(22.0, 5.0)
    assert got == {
        "watch_bus_stop": (night, 300.0),
        "watch_park": (night, 180.0),
        "watch_alley_north": (night, 120.0),
    }


def test_suwon_restricted_hours_from_zone(suwon: DistrictZones) -> None:
    got = {a.id: a.hours for a in suwon.restricted}
    assert got == {
        "night_school_yard": HourWindow(22.0, 6.0),
        "night_construction": HourWindow(0.0, 24.0),
    }
    assert suwon.restricted[0].polygon.bounds == (10.0, 83.0, 87.0, 108.0)


def test_edges_cover_route_graph() -> None:
    dm = load_district_map(MAPS / "test_yard")
    z = district_zones(dm)
    assert {e.id for e in z.edges} == set(dm.graph.edges)


def test_dwell_override() -> None:
    z = district_zones(load_district_map(MAPS / "test_yard"), dwell_override_s=2.5)
    assert z.dwell_s == (2.5,)


def _with_zone(props: dict[str, object]) -> DistrictZones:
    dm = load_district_map(MAPS / "test_yard")
    extra = Zone("w_bad", "watch", box(0, 0, 1, 1), properties=props)
    return district_zones(dataclasses.replace(dm, zones=(*dm.zones, extra)))


@pytest.mark.parametrize(
    "props",
    [
        {"hours": {"from_hour": 25, "to_hour": 3}},
        {"hours": "night"},
        {"max_dwell_s": -1},
        {"max_dwell_s": True},
    ],
)
def test_bad_properties_name_the_feature(props: dict[str, object]) -> None:
    with pytest.raises(MapError, match=r"test_yard/zones.geojson: feature 'w_bad': field"):
        _with_zone(props)


def test_hours_property_on_watch_zone() -> None:
    z = _with_zone({"hours": {"from_hour": 20, "to_hour": 23}, "max_dwell_s": 30})
    assert z.watch[-1].hours == HourWindow(20.0, 23.0) and z.dwell_s[-1] == 30.0


def _still(tid: int, x: float, y: float, t0: float, t1: float) -> Track:
    t = np.arange(t0, t1 + 1e-9, 1.0)
    hist = np.column_stack([t, np.full_like(t, x), np.full_like(t, y)])
    return Track(tid, x, y, 0.0, 0.0, True, t0, t1, hist)


def test_each_watch_zone_uses_its_own_dwell(suwon: DistrictZones) -> None:
    engine = DistrictRuleEngine(suwon, RuleConfig())
    now = 3600.0 + 200.0  # 01:03 local on a clock starting at midnight
    bus = _still(1, 243.0, 147.0, 3600.0, now)  # 200 s at the bus stop (limit 300 s)
    park = _still(2, 150.0, 105.0, 3600.0, now)  # 200 s in the park (limit 180 s)
    dets = engine.evaluate([bus, park], [], now)
    assert [(d.kind, d.zone, d.threshold_met_at) for d in dets] == [
        ("loitering", "watch_park", 3600.0 + 180.0)
    ]
    later = engine.evaluate([_still(1, 243.0, 147.0, 3600.0, now + 100.0)], [], now + 100.0)
    assert [(d.zone, d.threshold_met_at) for d in later] == [("watch_bus_stop", 3900.0)]


def test_daytime_is_quiet(suwon: DistrictZones) -> None:
    engine = DistrictRuleEngine(suwon, RuleConfig())
    noon = 12 * 3600.0
    assert engine.evaluate([_still(1, 150.0, 105.0, noon - 400.0, noon)], [], noon) == []
