"""Likelihood-field range sensor model: a per-cell log-likelihood table built once from the grid.

Each beam end point scores ``log(z_hit * N(d; 0, sigma_hit) + z_rand / max_range)`` where ``d`` is
the distance to the nearest occupied cell (capped), so a scan update is a table gather.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from dawnpatrol_core.geometry import FloatArray
from dawnpatrol_core.maps.grid import OccupancyGrid

_TILE = 1024  # cells per tile side for the distance transform (bounds peak memory)


def obstacle_distance(grid: OccupancyGrid, max_dist: float) -> npt.NDArray[np.float32]:
    """(H, W) float32 distance (m) from each cell centre to the nearest occupied cell, capped.

    Computed tile by tile with a margin of ``max_dist`` so large maps stay within a few tens of
    MB of scratch memory; distances up to ``max_dist`` are exact, larger ones read ``max_dist``.
    """
    occ = grid.occupied
    h, w = occ.shape
    out = np.full((h, w), max_dist, dtype=np.float32)
    if not occ.any():
        return out
    margin = int(math.ceil(max_dist / grid.resolution)) + 1
    for r0 in range(0, h, _TILE):
        for c0 in range(0, w, _TILE):
            r1, c1 = min(r0 + _TILE, h), min(c0 + _TILE, w)
            pr0, pc0 = max(r0 - margin, 0), max(c0 - margin, 0)
            pr1, pc1 = min(r1 + margin, h), min(c1 + margin, w)
            tile = occ[pr0:pr1, pc0:pc1]
            if not tile.any():
                continue
            dist = ndimage.distance_transform_edt(~tile) * grid.resolution
            core = dist[r0 - pr0 : r1 - pr0, c0 - pc0 : c1 - pc0]
            out[r0:r1, c0:c1] = np.minimum(core, max_dist).astype(np.float32)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class LikelihoodField:
    """Precomputed per-cell beam log-likelihood over an occupancy grid.

    ``log_p``: (H, W) float32, natural log of the end-point likelihood (1/m). End points
    outside the grid score ``log_p_far`` (as if far from any obstacle).
    """

    log_p: npt.NDArray[np.float32]
    resolution: float
    origin_x: float
    origin_y: float
    z_hit: float
    z_rand: float
    sigma_hit: float
    max_range: float
    log_p_far: float

    @classmethod
    def from_grid(
        cls,
        grid: OccupancyGrid,
        z_hit: float,
        z_rand: float,
        sigma_hit: float,
        max_range: float,
        max_dist: float,
    ) -> LikelihoodField:
        """Build the table: ``sigma_hit``, ``max_range``, ``max_dist`` in metres."""
        # Evaluated in place in float32 so a 24 M-cell map needs one table of scratch memory.
        log_p = obstacle_distance(grid, max_dist)
        log_p *= np.float32(1.0 / sigma_hit)
        np.square(log_p, out=log_p)
        log_p *= np.float32(-0.5)
        np.exp(log_p, out=log_p)
        log_p *= np.float32(z_hit / (sigma_hit * math.sqrt(2 * math.pi)))
        log_p += np.float32(z_rand / max_range)
        np.log(log_p, out=log_p)
        far_p = z_hit * math.exp(-0.5 * (max_dist / sigma_hit) ** 2) / (
            sigma_hit * math.sqrt(2 * math.pi)
        )
        far = math.log(far_p + z_rand / max_range)
        return cls(
            log_p=log_p,
            resolution=grid.resolution,
            origin_x=grid.origin_x,
            origin_y=grid.origin_y,
            z_hit=z_hit,
            z_rand=z_rand,
            sigma_hit=sigma_hit,
            max_range=max_range,
            log_p_far=far,
        )

    @property
    def log_p_max(self) -> float:
        """Log-likelihood of an end point exactly on an obstacle."""
        peak = self.z_hit / (self.sigma_hit * math.sqrt(2 * math.pi))
        return math.log(peak + self.z_rand / self.max_range)

    def lookup(self, x: FloatArray, y: FloatArray) -> npt.NDArray[np.float32]:
        """Log-likelihood of end points at world positions ``x``, ``y`` (m), any equal shapes."""
        h, w = self.log_p.shape
        col = np.floor((x - self.origin_x) * (1.0 / self.resolution)).astype(np.int64)
        row = np.floor((y - self.origin_y) * (1.0 / self.resolution)).astype(np.int64)
        inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
        flat = np.where(inside, row * w + col, 0)
        vals = np.take(self.log_p.reshape(-1), flat)
        return np.where(inside, vals, np.float32(self.log_p_far))

    def hit_score(self, log_p: npt.NDArray[np.float32]) -> FloatArray:
        """Map log-likelihoods to a match score in [0, 1]: 1 on an obstacle, 0 far from any."""
        p = np.exp(log_p.astype(np.float64))
        rand = self.z_rand / self.max_range
        peak = math.exp(self.log_p_max) - rand
        return np.asarray(np.clip((p - rand) / peak, 0.0, 1.0), dtype=np.float64)
