"""Random particle poses in the free space of a grid: uniform, or gaussian around a position.

Used for global localization and for the random particles augmented MCL injects.
"""

from __future__ import annotations

import math

import numpy as np

from dawnpatrol_core.geometry import FloatArray
from dawnpatrol_core.maps.grid import OccupancyGrid

_MAX_ROUNDS = 20


def sample_free_poses(
    grid: OccupancyGrid,
    n: int,
    rng: np.random.Generator,
    center: tuple[float, float] | None = None,
    std: float = 1.0,
) -> FloatArray:
    """(n, 3) poses [x m, y m, theta rad] in known-free cells, headings uniform in [-pi, pi).

    Positions are uniform over the grid, or gaussian with ``std`` (m) around ``center`` when
    given. Rejection sampling in batches; if free space is too rare near ``center`` the
    remaining draws are kept where they fell, so the call always returns ``n`` poses.
    """
    free = grid.free
    out = np.empty((0, 2), dtype=np.float64)
    xmin, ymin, xmax, ymax = grid.extent
    for _ in range(_MAX_ROUNDS):
        need = n - out.shape[0]
        if need <= 0:
            break
        m = max(2 * need, 64)
        if center is None:
            pts = np.column_stack((rng.uniform(xmin, xmax, m), rng.uniform(ymin, ymax, m)))
        else:
            pts = np.asarray(center, dtype=np.float64) + std * rng.standard_normal((m, 2))
        r, c = grid.world_to_cell(pts[:, 0], pts[:, 1])
        ok = grid.in_bounds(r, c)
        ok[ok] = free[r[ok], c[ok]]
        out = np.vstack((out, pts[ok][:need]))
    if out.shape[0] < n:
        need = n - out.shape[0]
        if center is None:
            fill = np.column_stack((rng.uniform(xmin, xmax, need), rng.uniform(ymin, ymax, need)))
        else:
            fill = np.asarray(center, dtype=np.float64) + std * rng.standard_normal((need, 2))
        out = np.vstack((out, fill))
    theta = rng.uniform(-math.pi, math.pi, n)
    return np.column_stack((out, theta))
