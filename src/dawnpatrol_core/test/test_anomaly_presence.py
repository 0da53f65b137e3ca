"""Presence at a place: broken tracks linked into one stay, passers-by and queues left out, a stay
ended by plain view of an empty place or by a long gap, not by occlusion."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from dawnpatrol_core.anomaly.presence import PresenceConfig, PresenceMap, PresenceZone, lingering
from dawnpatrol_core.anomaly.rules import HourWindow, RuleConfig, WatchZone
from dawnpatrol_core.anomaly.tracking import MultiTargetTracker, Track
from dawnpatrol_core.anomaly.zones_adapter import DistrictRuleEngine, DistrictZones

T0 = 1 * 3600.0  # 01:00 local
ALLEY = PresenceZone("alley", box(0, 0, 10, 10))
STOP = PresenceZone("stop", box(20, 0, 30, 4), waiting_area=True)


def nobody_free(points: np.ndarray) -> np.ndarray:
    return np.zeros(len(points), dtype=bool)


def everywhere_free(points: np.ndarray) -> np.ndarray:
    return np.ones(len(points), dtype=bool)


def still(tid: int, x: float, y: float, t0: float, t1: float) -> Track:
    t = np.arange(t0, t1 + 1e-9, 0.5)
    hist = np.column_stack([t, np.full_like(t, x), np.full_like(t, y)])
    return Track(tid, x, y, 0.0, 0.0, True, t0, t1, hist)


def test_lingering_needs_a_slow_confirmed_track_seen_now() -> None:
    cfg = PresenceConfig()
    assert lingering(still(1, 5, 5, T0, T0 + 3), T0 + 3, cfg)
    assert not lingering(still(1, 5, 5, T0, T0 + 0.5), T0 + 0.5, cfg)  # too young
    assert not lingering(still(1, 5, 5, T0, T0 + 3), T0 + 4, cfg)  # coasting, not seen now
    t = np.arange(0.0, 3.01, 0.5)
    walker = Track(2, 1.3 * 3, 5, 1.3, 0, True, T0, T0 + 3,
                   np.column_stack([T0 + t, 1.3 * t, np.full_like(t, 5.0)]))
    assert not lingering(walker, T0 + 3, cfg)


def test_a_track_broken_every_20_s_keeps_one_site_and_its_stay() -> None:
    """A loiterer vanishes for 3 s every 20 s (a passer-by hides them): the tracker starts a new
    track each time, the site carries on and its history covers the whole stay."""
    pm = PresenceMap([ALLEY])
    trk = MultiTargetTracker()
    rng = np.random.default_rng(3)
    ids, sites = set(), set()
    last = None
    for k in range(1800):  # 180 s at 10 Hz
        t = T0 + 0.1 * k
        hidden = (k % 200) >= 170
        det = [] if hidden else [(5.0 + rng.normal(0, 0.05), 5.0 + rng.normal(0, 0.05))]
        tracks = trk.update(det, t)
        ids |= {tr.id for tr in tracks if tr.confirmed}
        out = pm.update(tracks, t, nobody_free)
        sites |= {s.id for s in out}
        last = out[0] if out else last
    assert len(ids) >= 8  # the tracker did lose them every time
    assert sites == {1}
    assert last is not None and last.first_seen <= T0 + 1.5 and last.last_seen >= T0 + 176.0
    assert len(last.history) > 300


def test_passers_by_make_no_site() -> None:
    pm = PresenceMap([ALLEY])
    trk = MultiTargetTracker()
    for k in range(300):
        t = T0 + 0.1 * k
        x = -2.0 + 1.0 * 0.1 * k  # 1.0 m/s through the alley
        out = pm.update(trk.update([(x, 5.0), (12 - x, 3.0)], t), t, nobody_free)
        assert out == ()


def test_a_commuter_pacing_the_bus_stop_makes_no_site_but_a_drifting_loiterer_does() -> None:
    # Up and down 14 m at 0.5 m/s (below linger_speed), turning round at each end every 28 s:
    # they are waiting for a bus. The sim's loiterer drifts 0.4 m/s between pauses of 5-20 s.
    pm = PresenceMap([STOP, ALLEY])
    trk = MultiTargetTracker()
    rng = np.random.default_rng(5)
    sites: dict[str, set[int]] = {"stop": set(), "alley": set()}
    spot, goal, pause = np.array([5.0, 5.0]), np.array([5.0, 5.0]), 0.0
    for k in range(3000):  # 300 s at 10 Hz
        t = 0.1 * k
        u = (t % 56.0) / 28.0
        x = 16.0 + 14.0 * (u if u <= 1.0 else 2.0 - u)
        if pause > 0.0:
            pause -= 0.1
        elif np.hypot(*(goal - spot)) < 0.05:
            pause = rng.uniform(5.0, 20.0)
            goal = np.array([5.0, 5.0]) + rng.uniform(-2.0, 2.0, 2)
        else:
            spot = spot + (goal - spot) * min(1.0, 0.04 / np.hypot(*(goal - spot)))
        det = [(x + rng.normal(0, 0.03), 2.0 + rng.normal(0, 0.03)),
               (spot[0] + rng.normal(0, 0.03), spot[1] + rng.normal(0, 0.03))]
        for s in pm.update(trk.update(det, T0 + t), T0 + t, nobody_free):
            sites[s.zone].add(s.id)
    assert not sites["stop"]
    assert len(sites["alley"]) == 1


def test_a_queue_in_a_waiting_area_is_not_lingering_but_one_person_is() -> None:
    pm = PresenceMap([STOP])
    queue = [still(i, 24.0 + 0.8 * i, 2.0, T0, T0 + 10) for i in range(3)]
    assert pm.update(queue, T0 + 10, nobody_free) == ()
    alone = pm.update([still(9, 27.0, 2.0, T0, T0 + 10)], T0 + 10, nobody_free)
    assert [s.zone for s in alone] == ["stop"]
    pm2 = PresenceMap([PresenceZone("stop", STOP.polygon, waiting_area=False)])
    assert len(pm2.update(queue, T0 + 10, nobody_free)) == 1  # a group in a park lingers


def test_a_queue_member_seen_alone_still_waits_until_the_queue_is_forgotten() -> None:
    # A robot close to a bus-stop queue sees only its nearest member for minutes (the others
    # hidden behind): still a queue. Someone alone where no queue stood lingers; so does the
    # same spot once the queue has not been seen for queue_memory_s.
    cfg = PresenceConfig(queue_memory_s=600.0)
    pm = PresenceMap([STOP], cfg)
    queue = [still(i, 24.0 + 0.8 * i, 2.0, T0, T0 + 10) for i in range(3)]
    assert pm.update(queue, T0 + 10, nobody_free) == ()
    for k in range(1, 81):  # 400 s of the middle one alone
        t = T0 + 10 + 5.0 * k
        assert pm.update([still(1, 24.8, 2.1, T0, t)], t, nobody_free) == (), t
    apart = pm.update([still(1, 24.8, 2.1, T0, T0 + 415), still(9, 28.0, 2.0, T0, T0 + 415)],
                      T0 + 415, nobody_free)
    assert [(round(s.x), round(s.y)) for s in apart] == [(28, 2)]
    late = T0 + 10 + 601.0
    assert [s.zone for s in pm.update([still(1, 24.8, 2.1, T0, late)], late, nobody_free)] == [
        "stop"]


def test_a_site_survives_occlusion_but_ends_when_seen_empty_or_after_the_gap() -> None:
    cfg = PresenceConfig(gap_s=60.0, absent_s=15.0)
    for seen, lost_at in ((nobody_free, 60.0), (everywhere_free, 15.0)):
        pm = PresenceMap([ALLEY], cfg)
        first = pm.update([still(1, 5, 5, T0, T0 + 10)], T0 + 10, seen)
        assert [s.id for s in first] == [1]
        gone_after = None
        for k in range(1, 80):
            t = T0 + 10 + k
            pm.update([], t, seen)
            if not pm._sites and gone_after is None:
                gone_after = float(k)
        assert gone_after == pytest.approx(lost_at, abs=1.0)
        # back after the site ended: a new stay
        again = pm.update([still(5, 5, 5, T0 + 95, T0 + 100)], T0 + 100, seen)
        assert [s.id for s in again] == [2]


def test_unseen_for_a_while_the_stay_goes_on() -> None:
    """A robot drives off and comes back 40 s later (the place was out of view): same site,
    its history from before counts."""
    pm = PresenceMap([ALLEY])
    pm.update([still(1, 5, 5, T0, T0 + 30)], T0 + 30, nobody_free)
    for k in range(40):
        pm.update([], T0 + 31 + k, nobody_free)
    back = pm.update([still(2, 6, 5.5, T0 + 70, T0 + 75)], T0 + 75, nobody_free)
    assert [s.id for s in back] == [1]
    assert back[0].first_seen == T0 and back[0].tracks == (2,)


def test_district_rule_engine_raises_one_site_for_a_broken_loiterer() -> None:
    zones = DistrictZones(watch=(WatchZone("alley", box(0, 0, 10, 10), HourWindow(22, 5)),),
                          dwell_s=(60.0,), restricted=(), edges=())
    eng = DistrictRuleEngine(zones, RuleConfig())
    trk = MultiTargetTracker()
    keys, first_at = set(), None
    for k in range(900):  # 90 s at 10 Hz; hidden 3 s in every 15 s
        t = T0 + 0.1 * k
        det = [] if (k % 150) >= 120 else [(5.0, 5.0)]
        for d in eng.evaluate(trk.update(det, t), [], t, seen_free=nobody_free):
            keys.add(d.key)
            first_at = t if first_at is None else first_at
            assert d.kind == "loitering" and d.zone == "alley"
    assert keys == {"site:1"}
    assert first_at is not None and T0 + 60.0 <= first_at <= T0 + 63.0


def test_undecided_until_says_when_a_lingering_stay_will_be_judged() -> None:
    # Someone stands in the alley from T0: until the rule fires at T0 + 60 s a robot watching
    # should stay (undecided until T0 + 60); once judged, or once they leave, nothing to wait for.
    zones = DistrictZones(watch=(WatchZone("alley", box(0, 0, 10, 10), HourWindow(22, 5)),),
                          dwell_s=(60.0,), restricted=(), edges=())
    eng = DistrictRuleEngine(zones, RuleConfig())
    trk = MultiTargetTracker()
    assert eng.undecided_until(T0) == 0.0
    seen: list[tuple[float, float, int]] = []
    for k in range(1200):  # 120 s at 10 Hz: there for 90 s, then gone
        t = T0 + 0.1 * k
        det = [(5.0, 5.0)] if k < 900 else []
        fired = eng.evaluate(trk.update(det, t), [], t, seen_free=everywhere_free)
        seen.append((t, eng.undecided_until(t), len(fired)))
    waiting = [(t, u) for t, u, _ in seen if u > 0.0]
    assert waiting, "a lingering person was never waited for"
    assert all(T0 + 59.0 <= u <= T0 + 61.0 for _, u in waiting)
    fired_at = min(t for t, _, n in seen if n)
    assert all(t < fired_at for t, _ in waiting)  # judged: no reason to stay any more
    assert seen[-1][1] == 0.0


def test_undecided_until_ignores_people_outside_watch_zones_and_by_day() -> None:
    zones = DistrictZones(watch=(WatchZone("alley", box(0, 0, 10, 10), HourWindow(22, 5)),),
                          dwell_s=(60.0,), restricted=(), edges=())
    for x, t0 in ((25.0, T0), (5.0, 12 * 3600.0)):  # outside the zone; inside at noon
        eng, trk = DistrictRuleEngine(zones, RuleConfig()), MultiTargetTracker()
        for k in range(100):
            t = t0 + 0.1 * k
            eng.evaluate(trk.update([(x, 5.0)], t), [], t, seen_free=nobody_free)
        assert eng.undecided_until(t0 + 9.9) == 0.0
