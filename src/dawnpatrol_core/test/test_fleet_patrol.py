"""The fleet's patrol: hotspots handed out to free robots, how long a look watches."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dawnpatrol_core.fleet.patrol import (
    Ahead,
    PatrolCoordinator,
    arrivals,
    first_arrivals,
    slack_s,
)
from dawnpatrol_core.fleet.tasks import investigate_dwell_s
from dawnpatrol_core.maps.district import DistrictMap, load_district_map

MAPS = Path(__file__).resolve().parents[3] / "maps"


@pytest.fixture(scope="module")
def suwon() -> DistrictMap:
    return load_district_map(MAPS / "suwon_dawn")


def test_patrol_coordinator_hands_out_hotspots(suwon: DistrictMap) -> None:
    pc = PatrolCoordinator(suwon, ("r1", "r2"), 1.5, 7200.0, np.random.default_rng(3))
    t1 = pc.next_task("r1", 7200.0, 70.0, 6.5)
    t2 = pc.next_task("r2", 7200.0, 70.0, 6.5)
    assert t1 is not None and t2 is not None
    ids = {h.id for h in suwon.hotspots}
    assert t1.hotspot_id in ids and t2.hotspot_id in ids and t1.hotspot_id != t2.hotspot_id
    assert t1.arrive_s > 7200.0 and t1.dwell_s > 0
    assert pc.hotspot_pose(t1.hotspot_id) == next(
        h.observation_pose for h in suwon.hotspots if h.id == t1.hotspot_id)
    pc.visit_done("r1", t1.leave_s)
    assert pc.next_task("r3", 7200.0, 0.0, 0.0) is None  # not a patrol robot


def test_investigation_watches_long_enough_to_tell_loitering(suwon: DistrictMap) -> None:
    assert investigate_dwell_s(suwon, 150.0, 105.0, 60.0) == 180.0 + 30.0  # park watch zone
    assert investigate_dwell_s(suwon, 92.6, 100.0, 60.0) == 60.0  # school gate: no watch zone
    assert investigate_dwell_s(suwon, 150.0, 105.0, 400.0) == 400.0


def test_first_arrivals_follow_the_stops_in_order_with_their_waits_and_services() -> None:
    def straight(pts: np.ndarray, speed: float) -> tuple[np.ndarray, np.ndarray]:
        d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
        return d / speed, d

    ahead = [Ahead(10.0, 0.0, 60.0, 200.0),  # a door: there at 110, waits to 200, 60 s
             Ahead(10.0, 20.0, 30.0, 0.0, "hs_a"),  # 20 s on: 280
             Ahead(0.0, 20.0, 0.0, 0.0, "hs_b"),  # 10 s on after the 30 s watch: 320
             Ahead(10.0, 20.0, 30.0, 0.0, "hs_a")]  # again: the first arrival counts
    got = first_arrivals(straight, 1.0, 0.0, 0.0, ahead, 100.0)
    assert got == {"hs_a": pytest.approx(280.0), "hs_b": pytest.approx(320.0)}
    assert first_arrivals(straight, 1.0, 0.0, 0.0, [], 100.0) == {}
    # a door due by 230 (its window's end less the handover) starts at 200 (it waits for its
    # window): 30 s to spare; one due by 300 is reached at 280 (after the first's 60 s and a
    # 20 s walk): 20 s, the least of the two
    doors = [Ahead(10.0, 0.0, 60.0, 200.0, due_s=230.0), Ahead(10.0, 20.0, 0.0, 0.0,
                                                              due_s=300.0)]
    arrive = arrivals(straight, 1.0, 0.0, 0.0, doors, 100.0)
    assert arrive == [pytest.approx(110.0), pytest.approx(280.0)]
    assert slack_s(doors[:1], arrive[:1]) == pytest.approx(30.0)
    assert slack_s(doors, arrive) == pytest.approx(20.0)
    assert slack_s([], []) == math.inf
