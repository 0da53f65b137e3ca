"""WGS84 <-> map frame conversions of dawnpatrol_core.maps.georef."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawnpatrol_core.maps.georef import WGS84_A, WGS84_E2, GeoReference

SUWON = GeoReference(37.2850, 127.0450, 45.0)


@settings(max_examples=300, deadline=None)
@given(st.floats(-50.0, 350.0), st.floats(-50.0, 250.0))
def test_round_trip_under_a_millimetre_over_the_district(x: float, y: float) -> None:
    lat, lon = SUWON.to_wgs84(x, y)
    bx, by = SUWON.from_wgs84(lat, lon)
    assert math.hypot(bx - x, by - y) < 1e-3


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-60.0, 60.0),
    st.floats(-179.0, 179.0),
    st.floats(-2000.0, 2000.0),
    st.floats(-2000.0, 2000.0),
)
def test_round_trip_anywhere(lat0: float, lon0: float, x: float, y: float) -> None:
    g = GeoReference(lat0, lon0, 0.0)
    bx, by = g.from_wgs84(*g.to_wgs84(x, y))
    assert math.hypot(bx - x, by - y) < 1e-3


def test_origin_and_axes_match_ellipsoid_radii() -> None:
    assert SUWON.to_wgs84(0.0, 0.0) == pytest.approx((37.285, 127.045), abs=1e-12)
    lat = math.radians(37.285)
    w = math.sqrt(1.0 - WGS84_E2 * math.sin(lat) ** 2)
    m = WGS84_A * (1.0 - WGS84_E2) / w**3  # meridional radius of curvature
    n = WGS84_A / w  # prime-vertical radius
    lat_n, lon_n = SUWON.to_wgs84(0.0, 100.0)
    assert math.radians(lat_n - 37.285) * (m + 45.0) == pytest.approx(100.0, abs=2e-3)
    assert lon_n == pytest.approx(127.045, abs=1e-12)
    lat_e, lon_e = SUWON.to_wgs84(100.0, 0.0)
    east = math.radians(lon_e - 127.045) * (n + 45.0) * math.cos(lat)
    assert east == pytest.approx(100.0, abs=2e-3)
