"""Ray casting against boxes and circles, checked against shapely and closed-form distances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from dawnpatrol_sim.engine.raycast import boxes_to_segments, cast_scan, segments_in_box

N = 360
INC = 2 * math.pi / N


def _shapely_ranges(ox: float, oy: float, first: float, geom: object, rmax: float) -> np.ndarray:
    out = np.full(N, np.inf)
    for i in range(N):
        a = first + i * INC
        ray = LineString([(ox, oy), (ox + rmax * math.cos(a), oy + rmax * math.sin(a))])
        hit = ray.intersection(geom.boundary)  # type: ignore[attr-defined]
        if not hit.is_empty:
            out[i] = Point(ox, oy).distance(hit)
    return out


@pytest.mark.parametrize("first", [-math.pi, 0.3, 2.0])
def test_box_ranges_match_shapely(first: float) -> None:
    segs = boxes_to_segments(np.array([[5.0, 1.0, 2.0, 3.0, 0.4]]))
    got = cast_scan(0.0, 0.0, first, INC, N, segs, np.zeros((0, 3)), 30.0)
    poly = box(-1.0, -1.5, 1.0, 1.5)
    from shapely import affinity

    poly = affinity.translate(affinity.rotate(poly, 0.4, use_radians=True, origin=(0, 0)), 5, 1)
    want = _shapely_ranges(0.0, 0.0, first, poly, 30.0)
    assert np.array_equal(np.isfinite(got), np.isfinite(want))
    fin = np.isfinite(want)
    assert fin.sum() > 10
    np.testing.assert_allclose(got[fin], want[fin], atol=1e-9)


def test_straight_ahead_box_face_is_exact() -> None:
    segs = boxes_to_segments(np.array([[10.0, 0.0, 2.0, 2.0, 0.0]]))
    r = cast_scan(1.0, 0.0, 0.0, INC, N, segs, np.zeros((0, 3)), 30.0)
    assert r[0] == pytest.approx(8.0)  # face at x = 9
    assert r[5] == pytest.approx(8.0 / math.cos(5 * INC))
    assert np.isinf(r[180])


def test_cylinder_ranges_closed_form() -> None:
    cx, cy, rad = 3.0, -4.0, 0.7
    got = cast_scan(0.0, 0.0, -math.pi, INC, N, np.zeros((0, 4)), np.array([[cx, cy, rad]]), 30.0)
    ang = -math.pi + np.arange(N) * INC
    along = cx * np.cos(ang) + cy * np.sin(ang)
    perp = cx * np.sin(ang) - cy * np.cos(ang)
    disc = rad**2 - perp**2
    want = np.where((disc >= 0) & (along > 0), along - np.sqrt(np.maximum(disc, 0)), np.inf)
    assert np.isfinite(want).sum() >= 8
    np.testing.assert_allclose(got, want, atol=1e-9)
    # the beam straight at the centre hits at distance 5 - r
    k = int(round((math.atan2(cy, cx) + math.pi) / INC))
    assert got[k] == pytest.approx(5.0 - rad, abs=1e-3)


def test_nearest_of_overlapping_obstacles_and_range_limit() -> None:
    segs = np.array([[4.0, -5.0, 4.0, 5.0], [2.0, -1.0, 2.0, 1.0], [40.0, -5, 40.0, 5.0]])
    r = cast_scan(0.0, 0.0, 0.0, INC, N, segs, np.array([[-3.0, 0.0, 1.0]]), 25.0)
    assert r[0] == pytest.approx(2.0)
    assert r[180] == pytest.approx(2.0)  # circle behind
    assert r[45] == pytest.approx(4.0 / math.cos(math.radians(45)))
    assert np.isinf(r[60])  # passes above the 10 m wall at x=4
    assert np.isinf(r[89])  # wall at x=4 only 5 m tall: beyond it nothing within 25 m


def test_segment_across_the_wrap_angle() -> None:
    # a wall behind the sensor straddles the -pi/pi seam of the beam fan
    segs = np.array([[-3.0, -2.0, -3.0, 2.0]])
    r = cast_scan(0.0, 0.0, -math.pi, INC, N, segs, np.zeros((0, 3)), 30.0)
    assert r[0] == pytest.approx(3.0)
    assert r[N - 1] == pytest.approx(3.0 / math.cos(INC))
    assert r[10] == pytest.approx(3.0 / math.cos(10 * INC))


def test_segments_in_box_culls_by_bounding_box() -> None:
    segs = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [-3, 0.5, 3, 0.5]], dtype=float)
    assert segments_in_box(segs, 0.8, 0.2, 2.0, 2.0).tolist() == [0, 2]


@settings(max_examples=25, deadline=None)
@given(
    cx=st.floats(-15, 15),
    cy=st.floats(-15, 15),
    lx=st.floats(0.2, 6),
    ly=st.floats(0.2, 6),
    yaw=st.floats(-3.2, 3.2),
    first=st.floats(-3.2, 3.2),
)
def test_random_boxes_match_shapely(
    cx: float, cy: float, lx: float, ly: float, yaw: float, first: float
) -> None:
    from shapely import affinity

    poly = affinity.rotate(
        box(-lx / 2, -ly / 2, lx / 2, ly / 2), yaw, use_radians=True, origin=(0, 0)
    )
    poly = affinity.translate(poly, cx, cy)
    assume(poly.distance(Point(0, 0)) > 0.05)
    segs = boxes_to_segments(np.array([[cx, cy, lx, ly, yaw]]))
    got = cast_scan(0.0, 0.0, first, INC, N, segs, np.zeros((0, 3)), 20.0)
    want = _shapely_ranges(0.0, 0.0, first, poly, 20.0)
    both = np.isfinite(got) & np.isfinite(want)
    np.testing.assert_allclose(got[both], want[both], atol=1e-7)
    # beams grazing a corner may differ by one; nothing else
    assert np.count_nonzero(np.isfinite(got) != np.isfinite(want)) <= 2
