"""Laser odometry's ICP: known motions in a synthetic room, the degeneracy check in a corridor.

Scans are cast exactly against line segments and circles (below), with gaussian range noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import FloatArray, Pose2D
from dawnpatrol_core.localization.scan_matcher import (
    ReferenceScan,
    ScanMatcherConfig,
    match_scan,
    prepare_reference,
    scan_points,
)

MOUNT = Pose2D(0.3, 0.0, 0.0)
N_BEAMS = 360
ANGLE_MIN = -math.pi
ANGLE_INC = 2 * math.pi / N_BEAMS
MAX_RANGE = 25.0
CONFIG = ScanMatcherConfig()

# A 12 m x 8 m room with a pillar, a cabinet against a wall and a post (segments x0 y0 x1 y1)
ROOM = np.array([[0, 0, 12, 0], [12, 0, 12, 8], [12, 8, 0, 8], [0, 8, 0, 0],
                 [7, 3, 8, 3], [8, 3, 8, 4], [8, 4, 7, 4], [7, 4, 7, 3],
                 [2, 8, 2, 7.4], [2, 7.4, 3.5, 7.4], [3.5, 7.4, 3.5, 8]], dtype=np.float64)
ROOM_POSTS = np.array([[4.0, 2.0, 0.1]])
# A straight corridor 4 m wide, far longer than the lidar's range: nothing fixes its length.
CORRIDOR = np.array([[-200.0, -2.0, 200.0, -2.0], [-200.0, 2.0, 200.0, 2.0]])


def cast(robot: Pose2D, segments: FloatArray, posts: FloatArray, noise: float,
         rng: np.random.Generator) -> FloatArray:
    """(N_BEAMS,) ranges (m) from the lidar at ``robot ⊕ MOUNT``; inf where nothing is hit."""
    lidar = robot.compose(MOUNT)
    a = lidar.theta + ANGLE_MIN + ANGLE_INC * np.arange(N_BEAMS)
    d = np.column_stack((np.cos(a), np.sin(a)))
    o = np.array([lidar.x, lidar.y])
    best = np.full(N_BEAMS, np.inf)
    if segments.size:
        p, e = segments[:, :2] - o, segments[:, 2:] - segments[:, :2]
        den = d[:, None, 0] * e[None, :, 1] - d[:, None, 1] * e[None, :, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (p[None, :, 0] * e[None, :, 1] - p[None, :, 1] * e[None, :, 0]) / den
            u = (p[None, :, 0] * d[:, None, 1] - p[None, :, 1] * d[:, None, 0]) / den
        hit = (den != 0) & (t > 0) & (u >= 0) & (u <= 1)
        best = np.minimum(best, np.where(hit, t, np.inf).min(axis=1))
    if posts.size:
        oc = posts[:, :2] - o
        b = d @ oc.T
        disc = b * b - ((oc**2).sum(axis=1) - posts[:, 2] ** 2)[None, :]
        t = b - np.sqrt(np.maximum(disc, 0.0))
        best = np.minimum(best, np.where((disc >= 0) & (t > 0), t, np.inf).min(axis=1))
    ranges = best + rng.normal(0.0, noise, N_BEAMS)
    return np.where(best < MAX_RANGE, ranges, np.inf)


def reference(ranges: FloatArray) -> ReferenceScan:
    beams = np.flatnonzero(np.isfinite(ranges))
    return prepare_reference(ranges[beams], beams, ANGLE_MIN, ANGLE_INC, MOUNT, CONFIG)


def points(ranges: FloatArray) -> FloatArray:
    beams = np.flatnonzero(np.isfinite(ranges))
    return scan_points(ranges[beams], ANGLE_MIN + ANGLE_INC * beams, MOUNT)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_icp_recovers_a_known_motion_in_a_room(seed: int) -> None:
    rng = np.random.default_rng(seed)
    start = Pose2D(rng.uniform(3.0, 6.0), rng.uniform(2.5, 5.5), rng.uniform(-math.pi, math.pi))
    motion = Pose2D(rng.uniform(0.2, 0.6), rng.normal(0.0, 0.05), rng.normal(0.0, 0.15))
    ref = reference(cast(start, ROOM, ROOM_POSTS, 0.02, rng))
    scan = points(cast(start.compose(motion), ROOM, ROOM_POSTS, 0.02, rng))
    # seeded by wheels that slipped: 40 % short and a little turned
    seed_pose = Pose2D(0.6 * motion.x, motion.y, motion.theta + 0.03)
    fit = match_scan(ref, scan, seed_pose, CONFIG)
    assert fit.converged and fit.fully_constrained
    assert fit.inlier_share > 0.8
    err = fit.delta.relative_to(motion)
    assert math.hypot(err.x, err.y) < 0.01, (fit.delta, motion)
    assert abs(err.theta) < math.radians(0.1)
    assert fit.eigenvalues[0] > 10.0  # walls every way: a firm fit
    # the covariance says about as much (1-sigma well under a centimetre)
    assert float(np.sqrt(np.diag(fit.cov)[:2]).max()) < 0.01


def test_a_room_scan_becomes_straight_walls_and_a_post() -> None:
    rng = np.random.default_rng(7)
    robot = Pose2D(5.0, 5.0, 0.0)
    ref = reference(cast(robot, ROOM, ROOM_POSTS, 0.02, rng))
    post = ref.weights < 1.0
    assert int(post.sum()) == 1  # the post counts once, at the centroid of its returns
    cx, cy = ref.points[post][0]
    # (robot frame: the post at (4, 2) is 1 m behind and 3 m to the right, less the mount)
    assert math.hypot(cx - (-1.0), cy - (-3.0)) < 0.12
    sight = np.array([cx - MOUNT.x, cy - MOUNT.y]) / math.hypot(cx - MOUNT.x, cy - MOUNT.y)
    assert abs(float(ref.normals[post][0] @ sight)) > 0.999
    # returns on a plain wall mostly carry its normal fitted on all of them: exact to a
    # thousandth of a radian, where the normal of a few neighbours is off by a hundredth
    tilt = np.abs(ref.normals[np.abs(ref.points[:, 1] + 5.0) < 0.1, 0])
    assert tilt.size > 30
    assert float(np.median(tilt)) < 0.002
    assert float(tilt.max()) < 0.05


def test_in_a_featureless_corridor_the_length_keeps_the_seed() -> None:
    # The robot moved 1.0 m down the corridor, the wheels say 0.6 m. No return fixes the
    # length: the fit must not make one up (a falsely confident match would "correct" the
    # wheels with noise); it takes the wheels' length and fixes the rest.
    rng = np.random.default_rng(3)
    start = Pose2D(10.0, 0.3, 0.05)
    motion = Pose2D(1.0, 0.1, 0.04)
    ref = reference(cast(start, CORRIDOR, np.zeros((0, 3)), 0.02, rng))
    scan = points(cast(start.compose(motion), CORRIDOR, np.zeros((0, 3)), 0.02, rng))
    seed_pose = Pose2D(0.6, 0.0, 0.0)
    fit = match_scan(ref, scan, seed_pose, CONFIG)
    assert fit.converged
    assert fit.degenerate.shape == (1, 3)
    # the weak direction is the corridor's length (in the start's robot frame)
    axis = np.array([math.cos(-start.theta), math.sin(-start.theta), 0.0])
    assert abs(float(fit.degenerate[0] @ axis)) > 0.999
    assert fit.eigenvalues[0] < 0.01 * CONFIG.min_info  # far below trust
    # no information along it and no covariance claimed along it
    assert float(axis @ fit.cov @ axis) == pytest.approx(0.0, abs=1e-12)
    # along the corridor the motion is the seed's; across it and in heading, the truth's
    moved = np.array([fit.delta.x, fit.delta.y])
    seed_xy = np.array([seed_pose.x, seed_pose.y])
    true_xy = np.array([motion.x, motion.y])
    assert float((moved - seed_xy) @ axis[:2]) == pytest.approx(0.0, abs=1e-4)
    across = np.array([-axis[1], axis[0]])
    assert float((moved - true_xy) @ across) == pytest.approx(0.0, abs=0.01)
    assert fit.delta.theta == pytest.approx(motion.theta, abs=math.radians(0.1))


# The north alley of suwon_dawn: 2.5 m between the walls.
ALLEY = np.array([[-200.0, -1.25, 200.0, -1.25], [-200.0, 1.25, 200.0, 1.25]])


@pytest.mark.parametrize("heading", [0.12, 0.2, -0.2, 0.3])
def test_a_wall_seen_edge_on_across_the_scans_seam_is_no_post(heading: float) -> None:
    # Turned in a narrow alley, the beam straight behind (the last of a full turn, beside
    # beam 0) meets a wall edge-on, the beam before it much farther along the wall. Beam 0,
    # nearer on the same wall, lies beside it across the seam: no post. A 'post' there (demo
    # run AB) fixed the alley's length, told the wheels they slipped and left the estimate 2 m
    # behind the robot, which drove off the map's edge.
    rng = np.random.default_rng(5)
    start = Pose2D(10.0, 0.45, heading)
    ref = reference(cast(start, ALLEY, np.zeros((0, 3)), 0.02, rng))
    axis = np.array([math.cos(-start.theta), math.sin(-start.theta)])
    assert not np.any(np.abs(ref.normals @ axis) > 0.5)  # nothing faces along the alley
    motion = Pose2D(0.4, 0.0, 0.0)
    scan = points(cast(start.compose(motion), ALLEY, np.zeros((0, 3)), 0.02, rng))
    fit = match_scan(ref, scan, Pose2D(0.25, 0.0, 0.0), CONFIG)
    assert not fit.fully_constrained  # the length keeps the wheels'


def test_one_post_in_the_corridor_fixes_its_length() -> None:
    rng = np.random.default_rng(4)
    post = np.array([[16.0, -1.0, 0.1]])
    start = Pose2D(10.0, 0.3, 0.0)
    motion = Pose2D(1.0, 0.0, 0.0)
    ref = reference(cast(start, CORRIDOR, post, 0.02, rng))
    scan = points(cast(start.compose(motion), CORRIDOR, post, 0.02, rng))
    fit = match_scan(ref, scan, Pose2D(0.6, 0.0, 0.0), CONFIG)
    assert fit.converged and fit.fully_constrained
    assert abs(fit.delta.x - motion.x) < 0.05
    # ... but only just: the post is all there is along the corridor
    assert fit.eigenvalues[0] < 5.0


def test_matcher_config_rejects_bad_values() -> None:
    with pytest.raises(ConfigError, match="sigma"):
        ScanMatcherConfig(sigma=0.0)
    with pytest.raises(ConfigError, match="max_iterations"):
        ScanMatcherConfig(max_iterations=0)


def test_too_few_points_give_an_unconverged_fit_at_the_seed() -> None:
    empty = prepare_reference(np.zeros(0), np.zeros(0, dtype=np.int64), ANGLE_MIN, ANGLE_INC,
                              MOUNT, CONFIG)
    fit = match_scan(empty, np.zeros((5, 2)), Pose2D(0.2, 0.0, 0.1), CONFIG)
    assert not fit.converged
    assert fit.delta.as_tuple() == pytest.approx((0.2, 0.0, 0.1))
    assert fit.degenerate.shape == (3, 3)
