"""People tracks: walkers, loiterers, intruders, waiting groups, evaluated for the whole crowd."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_sim.engine.people import Crowd, loiter_track, polyline_track, waiting_group


def test_walker_positions_and_loop() -> None:
    w = polyline_track(
        "w", "walker", np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]]), 1.0, 2.0, loop=True
    )
    c = Crowd([w])
    # start at t=2; 4 m east, 3 m north, then 5 m back to the start: a 12 s loop
    for t, want in [
        (0.0, (0, 0)),
        (4.0, (2, 0)),
        (8.0, (4, 2)),
        (11.5, (2.0, 1.5)),
        (14.0, (0, 0)),
        (16.0, (2, 0)),
    ]:
        xy, on = c.positions(t)
        assert on[0]
        assert tuple(xy[0]) == pytest.approx(want)


def test_loiterer_stays_within_radius_and_only_for_its_time() -> None:
    tr = loiter_track("l", (10.0, -3.0), 2.5, 30.0, 300.0, np.random.default_rng(1))
    c = Crowd([tr])
    for t in np.linspace(30.0, 329.0, 300):
        xy, on = c.positions(float(t))
        assert on[0]
        assert math.dist(xy[0], (10.0, -3.0)) <= 2.5 + 1e-9
    assert not c.positions(29.9)[1][0] and not c.positions(330.0)[1][0]
    moved = {tuple(np.round(c.positions(float(t))[0][0], 3)) for t in range(30, 330, 10)}
    assert len(moved) > 5  # it does drift about


def test_intruder_appears_walks_and_dwells() -> None:
    tr = polyline_track(
        "i",
        "intruder",
        np.array([[0.0, 0.0], [10.0, 0.0]]),
        2.0,
        100.0,
        False,
        appear=100.0,
        vanish=100.0 + 5.0 + 20.0,
        dwell_end=20.0,
    )
    c = Crowd([tr])
    assert not c.positions(99.0)[1][0]
    xy, on = c.positions(102.5)
    assert on[0] and tuple(xy[0]) == pytest.approx((5.0, 0.0))
    assert tuple(c.positions(120.0)[0][0]) == pytest.approx((10.0, 0.0))
    assert not c.positions(125.0)[1][0]


def test_waiting_group_stands_around_the_stop() -> None:
    c = Crowd(waiting_group("bus", (5.0, 5.0), 4, 10.0, 20.0))
    xy, on = c.positions(15.0)
    assert on.all() and len(c) == 4
    np.testing.assert_allclose(np.hypot(xy[:, 0] - 5, xy[:, 1] - 5), 0.8)
    assert not c.positions(20.0)[1].any()
