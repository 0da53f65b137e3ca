"""Occupancy grid in the map_server convention, with world <-> cell conversions.

Cell values follow ``nav_msgs/OccupancyGrid``: 0 free, 100 occupied, -1 unknown. Row 0 is the
*bottom* row (lowest y), as in ROS; the PGM image on disk is stored top row first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FREE = 0
OCCUPIED = 100
UNKNOWN = -1


@dataclass(frozen=True, slots=True, eq=False)
class OccupancyGrid:
    """A 2-D occupancy grid.

    ``data``: (H, W) int8, row index grows with y (row 0 at ``origin_y``).
    ``resolution``: metres per cell. ``origin_x``/``origin_y``: world position of the lower-left
    corner of cell (0, 0). Grids here are axis-aligned (origin yaw 0).
    """

    data: npt.NDArray[np.int8]
    resolution: float
    origin_x: float
    origin_y: float
    # Masks computed on first use and kept (a district grid has ~25 M cells: one mask takes
    # tens of ms, and localization asks on every injection). ``data`` is not to be modified.
    _masks: dict[str, npt.NDArray[np.bool_]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def height(self) -> int:
        return int(self.data.shape[0])

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def occupied(self) -> npt.NDArray[np.bool_]:
        """(H, W) bool: cells that are occupied (unknown counts as not occupied). Read-only."""
        mask = self._masks.get("occupied")
        if mask is None:
            mask = self._masks["occupied"] = np.asarray(self.data >= 50)
            mask.flags.writeable = False
        return mask

    @property
    def free(self) -> npt.NDArray[np.bool_]:
        """(H, W) bool: cells known to be free. Read-only."""
        mask = self._masks.get("free")
        if mask is None:
            mask = self._masks["free"] = np.asarray((self.data >= 0) & (self.data < 50))
            mask.flags.writeable = False
        return mask

    def world_to_cell(
        self, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """World metres -> (row, col) integer cell indices (may be out of bounds)."""
        col = np.floor((np.asarray(x, dtype=np.float64) - self.origin_x) / self.resolution)
        row = np.floor((np.asarray(y, dtype=np.float64) - self.origin_y) / self.resolution)
        return row.astype(np.int64), col.astype(np.int64)

    def cell_to_world(
        self, row: npt.ArrayLike, col: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(row, col) -> world metres of the cell centre."""
        x = self.origin_x + (np.asarray(col, dtype=np.float64) + 0.5) * self.resolution
        y = self.origin_y + (np.asarray(row, dtype=np.float64) + 0.5) * self.resolution
        return x, y

    def in_bounds(self, row: npt.ArrayLike, col: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        r = np.asarray(row)
        c = np.asarray(col)
        return np.asarray((r >= 0) & (r < self.height) & (c >= 0) & (c < self.width))

    def is_free_at(self, x: float, y: float) -> bool:
        """True when the world point lies in a known-free cell inside the grid."""
        r, c = self.world_to_cell(x, y)
        if not bool(self.in_bounds(r, c)):
            return False
        return bool(self.free[int(r), int(c)])

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the grid in world metres."""
        return (
            self.origin_x,
            self.origin_y,
            self.origin_x + self.width * self.resolution,
            self.origin_y + self.height * self.resolution,
        )
