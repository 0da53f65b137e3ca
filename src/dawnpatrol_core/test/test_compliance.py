"""Compliance checks on the test yard: speed per zone, keep-out entries, operating-area exits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dawnpatrol_core.compliance import DEFAULT_ZONE, check_compliance
from dawnpatrol_core.maps.district import DistrictMap, load_district_map

YARD = Path(__file__).resolve().parents[3] / "maps" / "test_yard"


@pytest.fixture(scope="module")
def yard() -> DistrictMap:
    return load_district_map(YARD)


def test_speed_per_zone_and_over_limit(yard: DistrictMap) -> None:
    # speed_yard (1.5 m/s) covers the whole yard; speed_entrance (0.8 m/s) is x 20..28, y 16..20.
    t = np.array([0.0, 1.0, 2.0, 3.0])
    xy = np.array([[5.0, 5.0], [6.0, 5.0], [24.0, 18.0], [25.0, 18.0]])
    speed = np.array([1.2, 1.6, 0.7, 0.9])
    res = check_compliance(yard, t, ["r1"] * 4, xy, speed)
    zs = {z.zone_id: z for z in res.zone_speeds}
    assert zs["speed_yard"].samples == 4 and zs["speed_yard"].max_mps == 1.6
    # the entrance apron's 0.8 m/s is the limit in force there: 0.9 is over, 1.6 at (6,5) too
    assert zs["speed_entrance"].samples == 2 and zs["speed_entrance"].over == 1
    assert zs["speed_yard"].over == 2
    assert zs[DEFAULT_ZONE].samples == 0
    assert [(o.t, o.limit_mps) for o in res.over_speed] == [(1.0, 1.5), (3.0, 0.8)]
    assert res.keep_out_entries == () and res.operating_area_exits == ()


def test_tolerance_hides_small_overshoot(yard: DistrictMap) -> None:
    res = check_compliance(yard, np.array([0.0]), ["r1"], np.array([[5.0, 5.0]]),
                           np.array([1.52]), tolerance_mps=0.05)
    assert res.over_speed == () and res.violations == 0


def test_keep_out_entries_are_intervals_per_robot(yard: DistrictMap) -> None:
    # flower bed keep-out: x 14..18, y 12..16. r1 enters twice, r2 once; samples unsorted.
    t = np.array([0, 1, 2, 3, 4, 0, 1, 2], dtype=float)
    xy = np.array([[10, 14], [15, 14], [16, 14], [10, 14], [15, 13],
                   [16, 15], [10, 10], [10, 11]], dtype=float)
    rid = ["r1"] * 5 + ["r2"] * 3
    perm = np.array([7, 2, 0, 5, 3, 1, 6, 4])
    res = check_compliance(yard, t[perm], [rid[i] for i in perm], xy[perm], np.zeros(8))
    got = [(e.robot_id, e.zone_id, e.start_s, e.end_s) for e in res.keep_out_entries]
    # sorted by entry time
    assert got == [("r2", "keep_out_flower_bed", 0.0, 0.0), ("r1", "keep_out_flower_bed", 1.0, 2.0),
                   ("r1", "keep_out_flower_bed", 4.0, 4.0)]
    assert res.violations == 3


def test_operating_area_exit(yard: DistrictMap) -> None:
    t = np.arange(4, dtype=float)
    xy = np.array([[29.0, 5.0], [31.0, 5.0], [32.0, 5.0], [29.0, 5.0]])
    res = check_compliance(yard, t, ["r1"] * 4, xy, np.full(4, 0.5))
    assert [(e.start_s, e.end_s, e.x) for e in res.operating_area_exits] == [(1.0, 2.0, 31.0)]
    # outside every speed zone the sidewalk default applies
    zs = {z.zone_id: z for z in res.zone_speeds}
    assert zs[DEFAULT_ZONE].samples == 2 and zs[DEFAULT_ZONE].limit_mps == 1.5


def test_no_samples(yard: DistrictMap) -> None:
    res = check_compliance(yard, np.zeros(0), [], np.zeros((0, 2)), np.zeros(0))
    assert res.samples == 0 and res.violations == 0 and res.robots == ()


def test_mismatched_lengths_rejected(yard: DistrictMap) -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        check_compliance(yard, np.zeros(2), ["r1"], np.zeros((2, 2)), np.zeros(2))
