"""Multi-target tracker: crossing targets keep their ids, M-of-N birth, timeout death."""

from __future__ import annotations

import numpy as np
import pytest

from dawnpatrol_core.anomaly.tracking import MultiTargetTracker, TrackerConfig


def nearest_id(tracks: tuple, x: float, y: float) -> int:  # type: ignore[type-arg]
    return min(tracks, key=lambda t: (t.x - x) ** 2 + (t.y - y) ** 2).id


def test_two_crossing_targets_keep_their_ids() -> None:
    rng = np.random.default_rng(7)
    trk = MultiTargetTracker()
    ids_start: dict[str, int] = {}
    for k in range(101):
        t = k * 0.1
        a = (t, t)  # walks north-east
        b = (t, 10.0 - t)  # walks south-east; the two meet at (5, 5) at t = 5 s
        z = np.array([a, b]) + rng.normal(0.0, 0.05, (2, 2))
        tracks = trk.update(z[::-1] if k % 2 else z, now=t)  # detection order must not matter
        if k == 10:
            confirmed = [tr for tr in tracks if tr.confirmed]
            assert len(confirmed) == 2
            ids_start = {"a": nearest_id(tracks, *a), "b": nearest_id(tracks, *b)}
    final = trk.confirmed_tracks()
    assert len(final) == 2
    assert nearest_id(final, 10.0, 10.0) == ids_start["a"]
    assert nearest_id(final, 10.0, 0.0) == ids_start["b"]
    ta = next(tr for tr in final if tr.id == ids_start["a"])
    assert ta.vx == pytest.approx(1.0, abs=0.15) and ta.vy == pytest.approx(1.0, abs=0.15)
    assert ta.history.shape == (101, 3) and ta.history[0, 0] == 0.0 and ta.history[-1, 0] == 10.0


def test_birth_after_m_of_n_hits() -> None:
    trk = MultiTargetTracker(TrackerConfig(birth_hits=3, birth_window=5))
    seen = [trk.update([[1.0, 1.0]], now=0.1 * k)[0].confirmed for k in range(3)]
    assert seen == [False, False, True]


def test_birth_tolerates_a_miss_within_window() -> None:
    trk = MultiTargetTracker(TrackerConfig(birth_hits=3, birth_window=5))
    trk.update([[1.0, 1.0]], 0.0)
    trk.update([], 0.1)
    trk.update([[1.0, 1.0]], 0.2)
    (t,) = trk.update([[1.0, 1.0]], 0.3)
    assert t.confirmed and t.id == 1


def test_tentative_track_dies_when_birth_becomes_impossible() -> None:
    trk = MultiTargetTracker(TrackerConfig(birth_hits=3, birth_window=5))
    trk.update([[1.0, 1.0]], 0.0)
    assert len(trk.update([], 0.1)) == 1
    assert len(trk.update([], 0.2)) == 1  # 1 hit + 2 updates left can still reach 3
    assert trk.update([], 0.3) == ()


def test_confirmed_track_dies_after_timeout_only() -> None:
    trk = MultiTargetTracker(TrackerConfig(death_timeout=2.0))
    for k in range(5):
        trk.update([[3.0, 4.0]], 0.1 * k)  # last seen at 0.4 s
    assert len(trk.update([], 2.4)) == 1
    assert trk.update([], 2.41) == ()


def test_far_detection_starts_a_new_track() -> None:
    trk = MultiTargetTracker()
    for k in range(4):
        trk.update([[0.0, 0.0]], 0.1 * k)
    tracks = trk.update([[0.0, 0.0], [5.0, 0.0]], 0.4)
    assert sorted(t.id for t in tracks) == [1, 2]
    assert next(t for t in tracks if t.id == 2).confirmed is False


def test_history_is_trimmed_to_horizon_and_snapshots_stay_valid() -> None:
    trk = MultiTargetTracker(TrackerConfig(history_s=1.0))
    first = None
    for k in range(200):
        (t,) = trk.update([[0.01 * k, 0.0]], 0.1 * k)
        if k == 5:
            first = t.history.copy(), t.history
    (t,) = trk.tracks()
    assert t.history[0, 0] >= 19.9 - 1.0 - 1e-9 and len(t.history) == 11
    assert first is not None
    np.testing.assert_array_equal(first[0], first[1])  # old snapshot never rewritten
