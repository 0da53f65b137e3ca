"""The compliance track: status samples kept, ground truth thinned to its rate."""

from __future__ import annotations

from dawnpatrol_core.fleet.track import TrackRecorder


def test_ground_truth_is_kept_once_per_period_per_robot() -> None:
    rec = TrackRecorder(0.1)
    for k in range(10):  # 50 Hz for 0.2 s
        rec.ground_truth(7200.0 + 0.02 * k, "r1", float(k), 0.0, -1.0)
    rec.ground_truth(7200.0, "r2", 0.0, 0.0, 1.0)
    rec.status(7200.05, "r1", 1.0, 2.0, -0.5)
    rows = rec.drain()
    assert [(round(t, 2), r) for t, r, *_ in rows if _[-1] == "ground_truth"] == [
        (7200.0, "r1"), (7200.1, "r1"), (7200.0, "r2")]
    assert (7200.05, "r1", 1.0, 2.0, 0.5, "status") in rows  # speeds are magnitudes
    assert rec.drain() == []
