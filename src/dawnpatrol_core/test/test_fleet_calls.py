"""Which robot answers a call (hand-computed detours) and where it watches from."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dawnpatrol_core.fleet.calls import (
    Candidate,
    choose_responder,
    detour_holds,
    detour_overrun,
    lookout,
    needs_a_look,
    no_entry_reason,
    seen_from_sidewalk,
)
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.patrol.interleave import RouteStop

MAPS = Path(__file__).resolve().parents[3] / "maps"
NOW, WATCH = 1000.0, 60.0


def _delivering(rid: str, to_call: float, call_to_stop: float, to_stop: float,
                latest: float, slack: float = math.inf) -> Candidate:
    """A robot with one stop left whose handover must start by ``latest`` s."""
    stop = RouteStop("o1", 0, 0.0, latest, 60.0)
    return Candidate(rid, to_call, (stop,), to_stop, call_to_stop, np.zeros((1, 1)), slack,
                     delivering=True)


def test_a_delivering_robot_goes_when_its_window_still_holds() -> None:
    # 20 s there, 60 s watching, 30 s on to the door: at the door at 1110 <= 1120
    c = _delivering("r1", 20.0, 30.0, 25.0, latest=1120.0)
    assert detour_holds(c, NOW, WATCH)
    assert not detour_holds(_delivering("r1", 20.0, 30.0, 25.0, latest=1100.0), NOW, WATCH)
    # its queued trips start 85 s later (110 - 25): they need that much slack
    assert detour_holds(_delivering("r1", 20.0, 30.0, 25.0, 1120.0, slack=85.0), NOW, WATCH)
    assert not detour_holds(_delivering("r1", 20.0, 30.0, 25.0, 1120.0, slack=84.0), NOW, WATCH)


def test_the_first_on_scene_whose_parcels_hold_answers() -> None:
    near = _delivering("r1", 20.0, 30.0, 25.0, latest=1120.0)
    late = _delivering("r1", 20.0, 30.0, 25.0, latest=1100.0)
    free = Candidate("r2", 90.0)
    pick = choose_responder([near, free], NOW, WATCH)
    assert pick is not None and (pick.robot_id, pick.eta_s, pick.delivering) == ("r1", 20.0, True)
    pick = choose_responder([late, free], NOW, WATCH)
    assert pick is not None and (pick.robot_id, pick.eta_s) == ("r2", 90.0)
    tie = choose_responder([_delivering("r1", 90.0, 0.0, 0.0, 5000.0), free], NOW, WATCH)
    assert tie is not None and tie.robot_id == "r2"  # on a tie the free robot goes
    assert choose_responder([late, Candidate("r3", math.inf)], NOW, WATCH) is None


def test_when_no_robot_holds_every_window_the_least_late_goes_and_says_how_late() -> None:
    # r1 would reach its door at 1110 s against a latest start of 1100 (10 s late); r2 at 1160
    # against 1120 (40 s late): r1 goes when calls come before parcels, nobody otherwise.
    r1 = _delivering("r1", 20.0, 30.0, 25.0, latest=1100.0)
    r2 = _delivering("r2", 10.0, 90.0, 25.0, latest=1120.0)
    assert detour_overrun(r1, NOW, WATCH) == pytest.approx(10.0)
    assert detour_overrun(r2, NOW, WATCH) == pytest.approx(40.0)
    assert choose_responder([r2, r1], NOW, WATCH) is None
    pick = choose_responder([r2, r1], NOW, WATCH, late_ok=True)
    assert pick is not None and (pick.robot_id, pick.eta_s) == ("r1", 20.0)
    assert pick.late_s == pytest.approx(10.0)
    # one whose windows hold still goes first, however far
    far = Candidate("r3", 400.0)
    pick = choose_responder([r2, r1, far], NOW, WATCH, late_ok=True)
    assert pick is not None and pick.robot_id == "r3" and pick.late_s == 0.0
    # queued trips: the slack they lack is the lateness
    assert detour_overrun(_delivering("r1", 20.0, 30.0, 25.0, 1120.0, slack=80.0),
                          NOW, WATCH) == pytest.approx(5.0)


def test_a_call_waits_for_a_trips_last_door_when_that_robot_is_there_not_much_later() -> None:
    # r1 would make its parcel 10 s late going now; after its door it is on scene in 100 s,
    # 80 s after the 20 s it needs going straight: with 90 s allowed it goes after its trip
    r1 = replace(_delivering("r1", 20.0, 30.0, 25.0, latest=1100.0), after_trip_s=100.0,
                 after_trip_delay_s=150.0)
    pick = choose_responder([r1], NOW, WATCH, late_ok=True, wait_s=90.0)
    assert pick is not None and (pick.robot_id, pick.eta_s, pick.after_trip) == ("r1", 100.0, True)
    assert pick.late_s == 0.0
    # 60 s allowed: the least-late goes at once, as without waiting
    pick = choose_responder([r1], NOW, WATCH, late_ok=True, wait_s=60.0)
    assert pick is not None and not pick.after_trip and pick.late_s == pytest.approx(10.0)
    # the wait is counted from the first robot that could go straight, whoever that is
    r2 = _delivering("r2", 5.0, 90.0, 25.0, latest=1120.0)
    assert choose_responder([r1, r2], NOW, WATCH, wait_s=90.0) is None
    # what waits after the trip must hold: queued trips with less slack than the look costs
    short = replace(r1, later_slack_s=149.0)
    assert choose_responder([short], NOW, WATCH, wait_s=90.0) is None
    # a robot whose windows hold still goes first
    pick = choose_responder([r1, Candidate("r3", 300.0)], NOW, WATCH, wait_s=90.0)
    assert pick is not None and pick.robot_id == "r3" and not pick.after_trip


@pytest.fixture(scope="module")
def suwon() -> DistrictMap:
    return load_district_map(MAPS / "suwon_dawn")


def test_a_place_robots_may_not_enter_is_watched_from_an_allowed_point_in_sight(
        suwon: DistrictMap) -> None:
    pond = next(z for z in suwon.zones if z.id == "keep_out_pond").polygon.centroid
    assert no_entry_reason(suwon, pond.x, pond.y) == "in keep-out zone 'keep_out_pond'"
    spot = lookout(suwon, pond.x, pond.y, 12.0)
    p = spot.pose
    assert spot.why == "in keep-out zone 'keep_out_pond'" and suwon.is_allowed(p.x, p.y)
    assert spot.distance_m == pytest.approx(math.hypot(pond.x - p.x, pond.y - p.y))
    assert no_entry_reason(suwon, p.x, p.y) == ""
    yard = next(z for z in suwon.zones if z.id == "night_school_yard").polygon
    inside = yard.representative_point()
    far = lookout(suwon, inside.x, inside.y, 12.0)
    assert far.why == "in restricted area 'night_school_yard'"
    assert not yard.contains(type(inside)(far.pose.x, far.pose.y))
    ok = lookout(suwon, p.x, p.y, 12.0)  # an allowed place is watched from itself
    assert (ok.pose.x, ok.pose.y, ok.distance_m, ok.why) == (p.x, p.y, 0.0, "")


def test_an_allowed_place_is_watched_from_a_standoff_in_sight(suwon: DistrictMap) -> None:
    # someone lingering on the park path: the robot watches from 3 m or more, not on top of them
    park = (149.4, 102.2)
    spot = lookout(suwon, *park, 12.0, standoff_m=3.0)
    p = spot.pose
    assert spot.why == "" and 3.0 <= spot.distance_m <= 4.0
    assert spot.distance_m == pytest.approx(math.hypot(park[0] - p.x, park[1] - p.y))
    assert suwon.is_allowed(p.x, p.y) and no_entry_reason(suwon, p.x, p.y) == ""
    assert math.cos(p.theta - math.atan2(park[1] - p.y, park[0] - p.x)) == pytest.approx(1.0)
    # nowhere in sight within reach: the place itself
    alone = lookout(suwon, *park, 12.0, standoff_m=40.0)
    assert (alone.pose.x, alone.pose.y, alone.distance_m) == (*park, 0.0)


def test_what_a_hoarding_hides_is_not_seen_from_the_sidewalks(suwon: DistrictMap) -> None:
    # the construction site's barriers hide its inside from a planar lidar on any sidewalk;
    # the school yard is seen through its gate, its far corner is not
    site = next(z for z in suwon.zones if z.id == "night_construction").polygon.centroid
    assert not seen_from_sidewalk(suwon, site.x + 5.0, site.y + 5.0, 25.0)
    assert seen_from_sidewalk(suwon, 85.0, 100.0, 25.0)  # just inside the gate
    assert not seen_from_sidewalk(suwon, 85.0, 100.0, 1.0)  # the gate's path ends 2 m away
    assert not seen_from_sidewalk(suwon, 15.0, 88.0, 25.0)
    assert seen_from_sidewalk(suwon, 150.0, 105.0, 1.0)  # on the park path itself


def test_alerts_about_people_call_for_a_look() -> None:
    assert needs_a_look("loitering") and needs_a_look("intrusion")
    assert not needs_a_look("blocked_sidewalk") and not needs_a_look("link_lost")
