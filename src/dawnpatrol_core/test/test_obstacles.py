"""Tests for scan-based stop / slow-down zones and time-to-collision (hand-placed returns)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_core.control.obstacles import ObstacleConfig, assess_scan, corridor_coordinates

CFG = ObstacleConfig(length=1.0, width=0.6, stop_margin=0.4, side_margin=0.15,
                     slow_distance=2.5, decel=1.0, ttc_stop=0.8)


def scan_with(points: list[tuple[float, float]], n: int = 360) -> tuple[np.ndarray, np.ndarray]:
    """A 360-beam scan that is empty (inf) except for returns at the given robot-frame points."""
    angles = np.linspace(-math.pi, math.pi, n, endpoint=False)
    ranges = np.full(n, np.inf)
    for x, y in points:
        k = int(np.argmin(np.abs(np.angle(np.exp(1j * (angles - math.atan2(y, x)))))))
        ranges[k] = math.hypot(x, y)
    return ranges, angles


def test_empty_scan_is_clear() -> None:
    r, a = scan_with([])
    res = assess_scan(r, a, 1.0, 0.0, CFG)
    assert not res.stop and not res.slow
    assert res.gap == math.inf and res.ttc == math.inf


def test_person_in_stop_zone_ahead() -> None:
    r, a = scan_with([(0.8, 0.0)])  # 0.3 m ahead of the 0.5 m nose
    res = assess_scan(r, a, 0.5, 0.0, CFG)
    assert res.gap == pytest.approx(0.3, abs=1e-9)
    assert res.stop and res.speed_cap == 0.0


def test_slow_zone_and_ttc() -> None:
    r, a = scan_with([(2.5, 0.0)])  # 2.0 m gap
    res = assess_scan(r, a, 1.0, 0.0, CFG)
    assert res.gap == pytest.approx(2.0, abs=1e-9)
    assert res.ttc == pytest.approx(2.0, abs=1e-9)
    assert res.slow and not res.stop
    # Braking cap sqrt(2 * 1.0 * (2.0 - 0.4)) = 1.789; slow ramp 0.3 + 1.2 * 1.6 / 2.1 = 1.214.
    assert res.speed_cap == pytest.approx(0.3 + 1.2 * 1.6 / 2.1, abs=1e-9)


def test_fast_approach_stops_on_ttc() -> None:
    r, a = scan_with([(1.5, 0.0)])  # 1.0 m gap
    assert not assess_scan(r, a, 1.0, 0.0, CFG).stop      # ttc 1.0 s
    assert assess_scan(r, a, 1.5, 0.0, CFG).stop          # ttc 0.67 s < 0.8 s


def test_returns_beside_the_corridor_do_not_stop() -> None:
    r, a = scan_with([(1.0, 0.5)])  # lateral 0.5 > 0.3 + 0.15, but inside slow lane 0.65
    res = assess_scan(r, a, 1.0, 0.0, CFG)
    assert not res.stop and res.slow
    r, a = scan_with([(1.0, 0.8)])
    assert not assess_scan(r, a, 1.0, 0.0, CFG).slow


def test_corridor_follows_the_arc() -> None:
    # Turning left on radius 2 m: a point on that circle a quarter turn on is in the corridor.
    pts = np.array([[2.0, 2.0], [2.0, -2.0]])
    along, lat = corridor_coordinates(pts, 1.0, 0.5)
    assert along[0] == pytest.approx(math.pi)
    assert lat[0] == pytest.approx(0.0, abs=1e-12)
    assert lat[1] == pytest.approx(math.hypot(2.0, 4.0) - 2.0)


def test_rotating_in_place_checks_the_swept_circle() -> None:
    r, a = scan_with([(0.0, 0.6)])  # beside the body, within the 0.73 m swept radius
    assert assess_scan(r, a, 0.0, 0.8, CFG).stop
    r, a = scan_with([(0.0, 1.0)])
    assert not assess_scan(r, a, 0.0, 0.8, CFG).stop


def test_invalid_ranges_are_ignored() -> None:
    angles = np.array([0.0, 0.1, 0.2])
    ranges = np.array([np.nan, 0.01, 50.0])
    res = assess_scan(ranges, angles, 1.0, 0.0, CFG)
    assert len(res.points) == 0 and not res.stop


def test_reversing_away_from_what_the_nose_touches_is_clear() -> None:
    wall = [(0.52, y) for y in np.arange(-0.5, 0.51, 0.1)]  # 2 cm beyond the 0.5 m nose
    r, a = scan_with(wall)
    assert assess_scan(r, a, 0.3, 0.0, CFG).stop         # forward: into the wall
    assert not assess_scan(r, a, -0.2, 0.0, CFG).stop    # backward: away from it
    r, a = scan_with([(-0.8, 0.0)])                      # 0.3 m behind the 0.5 m tail
    assert assess_scan(r, a, -0.2, 0.0, CFG).stop
    r, a = scan_with([(0.2, 0.4)])                       # alongside the front half, 0.1 m off
    assert assess_scan(r, a, 0.3, 0.0, CFG).stop and not assess_scan(r, a, -0.3, 0.0, CFG).stop
