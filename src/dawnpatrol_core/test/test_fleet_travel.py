"""Travel on the sidewalk graph under zone speed limits."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dawnpatrol_core.fleet.travel import make_travel
from dawnpatrol_core.maps.district import load_district_map

MAPS = Path(__file__).resolve().parents[3] / "maps"


def test_travel_respects_zone_limits() -> None:
    suwon = load_district_map(MAPS / "suwon_dawn")
    pts = np.array([[70.0, 6.5], [19.0, 55.0]])
    fast, dist = make_travel(suwon)(pts, 3.0)
    slow, _ = make_travel(suwon)(pts, 0.5)
    assert dist[0, 1] > 0 and slow[0, 1] > fast[0, 1]
    # capped by zone limits (<= 1.5 m/s) even when the robot could go 3 m/s
    assert fast[0, 1] >= (dist[0, 1] - 2.0) / 1.5
