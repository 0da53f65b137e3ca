"""Scan segmentation: map-explained points are dropped, people and objects are clustered."""

from __future__ import annotations

import numpy as np
import pytest

from dawnpatrol_core.anomaly.segmentation import (
    ClusterKind,
    SegmentationConfig,
    StaticMapFilter,
    drop_near,
    scan_to_points,
    segment_scan,
)
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.grid import OccupancyGrid

ANGLES = np.linspace(-np.pi, np.pi, 360, endpoint=False)


def room_grid() -> OccupancyGrid:
    """10 m x 10 m room at 0.1 m, one-cell walls on the border."""
    data = np.zeros((100, 100), dtype=np.int8)
    data[0, :] = data[-1, :] = data[:, 0] = data[:, -1] = 100
    return OccupancyGrid(data, 0.1, 0.0, 0.0)


def cast(pose: Pose2D, circles: list[tuple[float, float, float]],
         boxes: list[tuple[float, float, float, float]] = ()) -> np.ndarray:
    """Ranges from ``pose`` to the inner walls of the room (0.1..9.9), circles (cx, cy, r) and
    axis-aligned boxes (xmin, ymin, xmax, ymax)."""
    th = ANGLES + pose.theta
    d = np.stack([np.cos(th), np.sin(th)], axis=1)
    o = np.array([pose.x, pose.y])
    with np.errstate(divide="ignore", invalid="ignore"):
        tx = np.where(d[:, 0] > 0, (9.9 - o[0]) / d[:, 0], (0.1 - o[0]) / d[:, 0])
        ty = np.where(d[:, 1] > 0, (9.9 - o[1]) / d[:, 1], (0.1 - o[1]) / d[:, 1])
    r = np.minimum(np.abs(tx), np.abs(ty))
    for cx, cy, rad in circles:
        oc = o - np.array([cx, cy])
        b = d @ oc
        disc = b * b - (oc @ oc - rad * rad)
        t = -b - np.sqrt(np.maximum(disc, 0))
        r = np.where((disc > 0) & (t > 0), np.minimum(r, t), r)
    for x0, y0, x1, y1 in boxes:
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = (np.array([x0, y0]) - o) / d
            t2 = (np.array([x1, y1]) - o) / d
        tmin = np.nanmax(np.minimum(t1, t2), axis=1)
        tmax = np.nanmin(np.maximum(t1, t2), axis=1)
        hit = (tmax >= tmin) & (tmin > 0)
        r = np.where(hit, np.minimum(r, tmin), r)
    return r


def test_scan_to_points_transforms_and_drops_invalid() -> None:
    pts, idx = scan_to_points([1.0, np.nan, 2.0, 50.0], [0.0, 0.1, np.pi / 2, 0.0],
                              Pose2D(1.0, 2.0, np.pi / 2))
    assert idx.tolist() == [0, 2]
    np.testing.assert_allclose(pts, [[1.0, 3.0], [-1.0, 2.0]], atol=1e-12)


def test_empty_room_is_fully_explained() -> None:
    pose = Pose2D(5.0, 5.0, 0.3)
    seg = segment_scan(cast(pose, []), ANGLES, pose, StaticMapFilter(room_grid()))
    assert seg.clusters == ()
    assert seg.unexplained.shape == (0, 2)


def test_person_is_one_person_cluster() -> None:
    pose = Pose2D(5.0, 5.0, 0.0)
    seg = segment_scan(cast(pose, [(7.0, 5.0, 0.2)]), ANGLES, pose, StaticMapFilter(room_grid()))
    assert len(seg.clusters) == 1
    (c,) = seg.clusters
    assert c.kind is ClusterKind.PERSON
    assert c.x == pytest.approx(6.85, abs=0.05) and c.y == pytest.approx(5.0, abs=0.02)
    assert 0.2 <= c.width <= 0.4
    np.testing.assert_allclose(seg.people_xy(), [[c.x, c.y]])


def test_without_map_the_walls_are_objects() -> None:
    pose = Pose2D(5.0, 5.0, 0.0)
    seg = segment_scan(cast(pose, []), ANGLES, pose, None)
    assert len(seg.objects) >= 1 and seg.people == ()


def test_person_across_scan_wrap_is_merged() -> None:
    # The person sits at bearing pi, where the first and last beams of the scan meet.
    pose = Pose2D(5.0, 5.0, 0.0)
    seg = segment_scan(cast(pose, [(3.0, 5.0, 0.25)]), ANGLES, pose, StaticMapFilter(room_grid()))
    assert len(seg.clusters) == 1
    assert seg.clusters[0].kind is ClusterKind.PERSON
    assert seg.clusters[0].x == pytest.approx(3.2, abs=0.06)


def test_large_box_is_object_and_two_people_stay_apart() -> None:
    pose = Pose2D(5.0, 5.0, 0.0)
    ranges = cast(pose, [(5.0, 7.0, 0.2), (5.0, 3.0, 0.2)], boxes=[(7.0, 4.2, 7.5, 5.8)])
    seg = segment_scan(ranges, ANGLES, pose, StaticMapFilter(room_grid()))
    kinds = sorted(c.kind.value for c in seg.clusters)
    assert kinds == ["object", "person", "person"]
    obj = seg.objects[0]
    assert obj.width == pytest.approx(1.6, abs=0.15)


def test_tiny_cluster_is_clutter() -> None:
    pose = Pose2D(5.0, 5.0, 0.0)
    cfg = SegmentationConfig()
    seg = segment_scan(cast(pose, [(6.0, 5.0, 0.04)]), ANGLES, pose,
                       StaticMapFilter(room_grid()), cfg)
    assert [c.kind for c in seg.clusters] == [ClusterKind.CLUTTER]


def test_drop_near_removes_fleet_robots() -> None:
    pose = Pose2D(5.0, 5.0, 0.0)
    seg = segment_scan(cast(pose, [(5.0, 7.0, 0.2), (5.0, 3.0, 0.2)]), ANGLES, pose,
                       StaticMapFilter(room_grid()))
    kept = drop_near(seg.clusters, [[5.0, 7.0]], radius=0.5)
    assert len(kept) == 1 and kept[0].y < 5.0


def test_a_far_person_between_the_beams_is_a_person_a_nearer_pair_is_clutter() -> None:
    """Two adjacent returns of a 1 degree sweep: 18 m off (0.31 m apart) a body shows no more
    (a person); 12 m off (0.21 m apart) a person would show three (clutter)."""
    step = ANGLES[1] - ANGLES[0]
    for rng_m, kind in ((18.0, ClusterKind.PERSON), (12.0, ClusterKind.CLUTTER)):
        r = np.full(360, np.inf)
        r[100:102] = rng_m
        (c,) = segment_scan(r, ANGLES, Pose2D(0.0, 0.0, 0.0), None).clusters
        assert c.n_points == 2 and c.width == pytest.approx(rng_m * step, rel=0.01)
        assert c.width >= SegmentationConfig().person_width[0]
        assert c.kind is kind, (rng_m, c)
