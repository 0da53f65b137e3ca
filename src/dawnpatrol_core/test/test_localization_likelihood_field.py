"""Likelihood-field sensor model against hand-computed values on a tiny grid."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.localization.likelihood_field import LikelihoodField, obstacle_distance
from dawnpatrol_core.localization.params import LocalizationParams
from dawnpatrol_core.localization.particle_filter import ParticleFilter
from dawnpatrol_core.maps.grid import OccupancyGrid

Z_HIT, Z_RAND, SIGMA, MAX_RANGE, MAX_DIST = 0.8, 0.2, 0.5, 10.0, 3.0


def _tiny() -> OccupancyGrid:
    data = np.zeros((5, 5), dtype=np.int8)
    data[2, 2] = 100  # the only obstacle: cell centre at world (2.5, 2.5)
    data[0, 4] = -1  # unknown is not an obstacle
    return OccupancyGrid(data, 1.0, 0.0, 0.0)


def _expected(d: float) -> float:
    gauss = math.exp(-0.5 * (d / SIGMA) ** 2) / (SIGMA * math.sqrt(2 * math.pi))
    return math.log(Z_HIT * gauss + Z_RAND / MAX_RANGE)


def _field() -> LikelihoodField:
    return LikelihoodField.from_grid(_tiny(), Z_HIT, Z_RAND, SIGMA, MAX_RANGE, MAX_DIST)


def test_obstacle_distance_hand_values() -> None:
    d = obstacle_distance(_tiny(), MAX_DIST)
    assert d[2, 2] == 0.0
    assert d[2, 4] == pytest.approx(2.0)
    assert d[3, 3] == pytest.approx(math.sqrt(2.0))
    assert d[0, 0] == pytest.approx(math.sqrt(8.0))
    assert d[0, 4] == pytest.approx(math.sqrt(8.0))


@pytest.mark.parametrize(
    ("x", "y", "dist"),
    [(2.5, 2.5, 0.0), (4.5, 2.5, 2.0), (3.2, 3.9, math.sqrt(2.0)), (0.1, 0.1, math.sqrt(8.0))],
)
def test_lookup_matches_model(x: float, y: float, dist: float) -> None:
    got = _field().lookup(np.array([x]), np.array([y]))
    assert float(got[0]) == pytest.approx(_expected(dist), rel=1e-5)


def test_outside_grid_scores_as_far() -> None:
    f = _field()
    got = f.lookup(np.array([-0.5, 7.0, 2.5]), np.array([2.5, 2.5, 5.01]))
    np.testing.assert_allclose(got, _expected(MAX_DIST), rtol=1e-5)
    assert f.log_p_far == pytest.approx(_expected(MAX_DIST))


def test_hit_score_endpoints() -> None:
    f = _field()
    score = f.hit_score(np.array([f.log_p_max, _expected(1.0)], dtype=np.float32))
    assert score[0] == pytest.approx(1.0, abs=1e-5)
    assert score[1] == pytest.approx(math.exp(-0.5 * (1.0 / SIGMA) ** 2), rel=1e-4)


def test_scan_log_likelihood_sums_beam_end_points() -> None:
    params = LocalizationParams(
        z_hit=Z_HIT, z_rand=Z_RAND, sigma_hit=SIGMA, laser_max_range=MAX_RANGE,
        likelihood_max_dist=MAX_DIST,
    )
    pf = ParticleFilter(_tiny(), params, np.random.default_rng(0))
    # Lidar mounted 0.5 m ahead of the robot; robot at (1.0, 2.5) facing +x.
    # Beam 0 (angle 0, 1 m) ends at (2.5, 2.5): on the obstacle.
    # Beam 1 (angle +90°, 1 m) ends at (1.5, 3.5): 1 cell diagonal from the obstacle.
    ll = pf.scan_log_likelihood(
        np.array([[1.0, 2.5, 0.0]]), np.array([1.0, 1.0]), np.array([0.0, math.pi / 2]),
        Pose2D(0.5, 0.0, 0.0),
    )
    assert float(ll[0]) == pytest.approx(_expected(0.0) + _expected(math.sqrt(2.0)), rel=1e-5)


def test_tiled_distance_equals_whole_map_transform() -> None:
    from scipy import ndimage

    rng = np.random.default_rng(4)
    data = np.where(rng.random((1300, 1500)) < 0.002, 100, 0).astype(np.int8)
    grid = OccupancyGrid(data, 0.05, 0.0, 0.0)
    tiled = obstacle_distance(grid, 1.0)
    whole = np.minimum(ndimage.distance_transform_edt(data < 50) * 0.05, 1.0)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
