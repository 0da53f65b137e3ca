"""Contact tests of a robot's rectangular footprint against segments and circles."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def segments_hit_rectangle(
    x: float, y: float, yaw: float, half_length: float, half_width: float, segments: FloatArray
) -> BoolArray:
    """Which segments (K,4) touch the rectangle centred at (x, y) with heading yaw (m, rad).

    Separating-axis test in the rectangle's frame: its two axes and each segment's normal.
    Returns (K,) bool.
    """
    c, s = math.cos(yaw), math.sin(yaw)
    ax, ay = segments[:, 0] - x, segments[:, 1] - y
    bx, by = segments[:, 2] - x, segments[:, 3] - y
    u0, v0 = c * ax + s * ay, -s * ax + c * ay
    u1, v1 = c * bx + s * by, -s * bx + c * by
    sep = (np.minimum(u0, u1) > half_length) | (np.maximum(u0, u1) < -half_length)
    sep |= (np.minimum(v0, v1) > half_width) | (np.maximum(v0, v1) < -half_width)
    nx, ny = -(v1 - v0), u1 - u0
    radius = half_length * np.abs(nx) + half_width * np.abs(ny)
    sep |= np.abs(nx * u0 + ny * v0) > radius
    return ~sep


def circles_hit_rectangle(
    x: float, y: float, yaw: float, half_length: float, half_width: float, circles: FloatArray
) -> BoolArray:
    """Which circles (C,3) [cx, cy, r] touch the rectangle at (x, y, yaw). Returns (C,) bool."""
    c, s = math.cos(yaw), math.sin(yaw)
    dx, dy = circles[:, 0] - x, circles[:, 1] - y
    u, v = c * dx + s * dy, -s * dx + c * dy
    qu = u - np.clip(u, -half_length, half_length)
    qv = v - np.clip(v, -half_width, half_width)
    return np.asarray(qu * qu + qv * qv <= circles[:, 2] ** 2)


def rectangle_segments(
    x: float, y: float, yaw: float, half_length: float, half_width: float
) -> FloatArray:
    """The four outline edges (4,4) of a rectangle at (x, y, yaw) (m, rad)."""
    c, s = math.cos(yaw), math.sin(yaw)
    lx = (half_length, -half_length, -half_length, half_length)
    ly = (half_width, half_width, -half_width, -half_width)
    cx = [x + c * a - s * b for a, b in zip(lx, ly, strict=True)]
    cy = [y + s * a + c * b for a, b in zip(lx, ly, strict=True)]
    return np.array([[cx[k], cy[k], cx[(k + 1) % 4], cy[(k + 1) % 4]] for k in range(4)])


class ClearanceGrid:
    """A lower bound on the distance (m) from any point to the static geometry, on a raster.

    Lets the engine skip exact contact tests for robots out in the open (most of the time).
    """

    def __init__(
        self,
        segments: FloatArray,
        circles: FloatArray,
        bounds: tuple[float, float, float, float],
        resolution: float = 0.25,
        margin: float = 5.0,
    ) -> None:
        from scipy.ndimage import distance_transform_edt

        xmin, ymin, xmax, ymax = bounds
        self._x0, self._y0, self._res = xmin - margin, ymin - margin, resolution
        nx = int(math.ceil((xmax - xmin + 2 * margin) / resolution)) + 1
        ny = int(math.ceil((ymax - ymin + 2 * margin) / resolution)) + 1
        occ = np.zeros((ny, nx), dtype=bool)
        pts = [np.zeros((0, 2))]
        for x0, y0, x1, y1 in segments:
            k = int(math.ceil(math.hypot(x1 - x0, y1 - y0) / (resolution / 2))) + 1
            f = np.linspace(0.0, 1.0, k)
            pts.append(np.column_stack([x0 + f * (x1 - x0), y0 + f * (y1 - y0)]))
        for cx, cy, r in circles:
            k = int(math.ceil(2 * math.pi * r / (resolution / 2))) + 4
            a = np.linspace(0.0, 2 * math.pi, k)
            pts.append(np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)]))
            pts.append(np.array([[cx, cy]]))
        p = np.concatenate(pts)
        j = np.clip(((p[:, 0] - self._x0) / resolution).astype(np.int64), 0, nx - 1)
        i = np.clip(((p[:, 1] - self._y0) / resolution).astype(np.int64), 0, ny - 1)
        occ[i, j] = True
        dist = distance_transform_edt(~occ) * resolution if occ.any() else np.full(occ.shape, 1e9)
        # a point anywhere in a cell is within one cell diagonal of the cell's sample
        self._dist = np.asarray(dist, dtype=np.float64)
        self._clear = self._dist - 2.0 * resolution * math.sqrt(2.0)
        self._nx, self._ny = nx, ny
        self._grad: tuple[FloatArray, FloatArray] | None = None

    def clearance(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Lower bound of the distance (m) to static geometry at (x, y) (R,); 0 off the raster."""
        j = ((x - self._x0) / self._res).astype(np.int64)
        i = ((y - self._y0) / self._res).astype(np.int64)
        inside = (i >= 0) & (i < self._ny) & (j >= 0) & (j < self._nx)
        out = np.zeros(x.shape[0])
        out[inside] = self._clear[i[inside], j[inside]]
        return out

    def distance_gradient(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray,
                                                                        FloatArray]:
        """Approximate distance (m) to static geometry at (x, y) (R,) and the unit direction
        away from it (gx, gy); off the raster: far (1e9) with no direction."""
        if self._grad is None:
            gy, gx = np.gradient(self._dist, self._res)
            norm = np.maximum(np.hypot(gx, gy), 1e-9)
            self._grad = (gx / norm, gy / norm)
        j = ((x - self._x0) / self._res).astype(np.int64)
        i = ((y - self._y0) / self._res).astype(np.int64)
        inside = (i >= 0) & (i < self._ny) & (j >= 0) & (j < self._nx)
        d, gx_o, gy_o = np.full(x.shape[0], 1e9), np.zeros(x.shape[0]), np.zeros(x.shape[0])
        ii, jj = i[inside], j[inside]
        d[inside] = self._dist[ii, jj]
        gx_o[inside] = self._grad[0][ii, jj]
        gy_o[inside] = self._grad[1][ii, jj]
        return d, gx_o, gy_o
