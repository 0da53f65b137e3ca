"""Tests for dawnpatrol_core.patrol.plan: validation and the feasibility test."""

from __future__ import annotations

import numpy as np
import pytest

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.patrol.plan import (
    HotspotSpec,
    PriorityBand,
    build_patrol_plan,
    robot_demand,
)


def spot(i: str, x: float, bound: float = 1000.0, dwell: float = 20.0) -> HotspotSpec:
    return HotspotSpec(i, f"name {i}", x, 0.0, 0.0, (PriorityBand(22, 2, 3.0),), bound, dwell)


TWO = np.array([[0.0, 100.0], [100.0, 0.0]])


def test_priority_band_wraps_past_midnight() -> None:
    h = spot("a", 0.0)
    assert h.priority_at(23.5) == 3.0
    assert h.priority_at(1.0) == 3.0
    assert h.priority_at(2.0) == 1.0
    assert h.priority_at(12.0) == 1.0
    assert h.priority_at(-0.5) == 3.0  # 23:30


def test_robot_demand_hand_computed() -> None:
    # (dwell 20 + fastest arrival 100) / (bound 380 + dwell 20) = 0.3
    d = robot_demand([spot("a", 0, 380.0), spot("b", 100, 80.0)], TWO)
    np.testing.assert_allclose(d, [0.3, 1.0])


def test_valid_plan_builds() -> None:
    plan = build_patrol_plan([spot("a", 0), spot("b", 100)], ["r1"], TWO)
    assert plan.index_of("b") == 1
    np.testing.assert_array_equal(plan.max_idleness_s, [1000.0, 1000.0])
    assert plan.start_travel_s.shape == (1, 2)


def test_infeasible_bounds_name_the_hotspot() -> None:
    # each hotspot needs (20 + 100) / (50 + 20) > 1 robot -> capped 1; two robots needed
    hs = [spot("a", 0, 60.0), spot("alley", 100, 50.0)]
    build_patrol_plan(hs, ["r1", "r2"], TWO)
    with pytest.raises(PatrolError, match=r"hotspot 'a' .*needs 1.00 of a robot.*2.00 robots"):
        build_patrol_plan(hs, ["r1"], TWO)


def test_first_arrival_beyond_bound_is_rejected() -> None:
    hs = [spot("a", 0, 1000.0), spot("gate", 100, 150.0)]
    with pytest.raises(PatrolError, match=r"hotspot 'gate'.*expected ≥ 200 s"):
        build_patrol_plan(hs, ["r1"], TWO, start_travel_s=np.array([[100.0, 200.0]]))


def test_keep_out_or_outside_area_is_rejected() -> None:
    hs = [spot("a", 0), spot("park", 60)]
    with pytest.raises(PatrolError, match=r"hotspot 'park' \(name park\).*operating area"):
        build_patrol_plan(hs, ["r1"], TWO, is_allowed=lambda x, y: x < 50.0)


@pytest.mark.parametrize(
    ("hs", "travel", "pattern"),
    [
        ([spot("a", 0, dwell=0.0), spot("b", 1)], TWO, r"hotspot 'a'.*'dwell_s'"),
        ([spot("a", 0), spot("a", 1)], TWO, r"hotspot 'a'.*duplicate"),
        ([spot("a", 0), spot("b", 1)], np.array([[0.0, np.inf], [1.0, 0.0]]), r"travel_s\[0,1\]"),
        ([spot("a", 0), spot("b", 1)], np.zeros((3, 3)), r"'travel_s'.*shape"),
    ],
)
def test_bad_fields(hs: list[HotspotSpec], travel: np.ndarray, pattern: str) -> None:
    with pytest.raises(PatrolError, match=pattern):
        build_patrol_plan(hs, ["r1"], travel)


def test_bad_priority_band() -> None:
    h = HotspotSpec("x", "x", 0, 0, 0, (PriorityBand(0, 2, -1.0),), 100.0, 10.0)
    with pytest.raises(PatrolError, match=r"hotspot 'x'.*priority.weight"):
        build_patrol_plan([h], ["r1"], np.zeros((1, 1)))


def test_map_hotspot_adapter() -> None:
    from shapely.geometry import box

    from dawnpatrol_core.geometry import Pose2D
    from dawnpatrol_core.maps import zones
    from dawnpatrol_core.patrol.plan import hotspots_from_district

    h = zones.Hotspot(
        "hs_gate", "School gate", box(0, 0, 1, 1), Pose2D(2.0, 3.0, 0.5),
        (zones.PriorityBand(22, 3, 1.5),), 1800.0, 60.0,
    )

    class Dm:
        hotspots = (h,)

    (spec,) = hotspots_from_district(Dm())
    assert (spec.id, spec.x, spec.y, spec.yaw, spec.max_idleness_s, spec.dwell_s) == (
        "hs_gate", 2.0, 3.0, 0.5, 1800.0, 60.0
    )
    assert spec.priority_at(23.0) == 1.5 and spec.priority_at(12.0) == 0.1
