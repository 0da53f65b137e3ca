"""Sensor error models: lidar noise and dropouts, wheel-odometry drift, gyro, GNSS sky blockage,
and battery drain.

GNSS: the fix noise grows with the share of the sky hidden by buildings, approximated by the
fraction of the ground within ``radius`` m of the receiver covered by building footprints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy.ndimage import uniform_filter

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NoiseParams:
    """Error model knobs that the robot model file does not carry (defaults are typical values).

    lidar_dropout: probability a beam returns nothing; odom_scale_std: calibration error of both
    wheels together (fraction, drawn once per robot: distance error); odom_diff_std: error between
    the wheels (fraction, drawn once: heading drift); odom_noise_*: wheel speed noise as a
    fraction of speed plus a floor (m/s); gyro_bias_std: constant gyro bias (rad/s, drawn
    once); gnss_block_gain: noise multiplier per unit of sky blockage; gnss_block_radius: m.
    """

    lidar_dropout: float = 0.005
    odom_scale_std: float = 0.01
    odom_diff_std: float = 0.001
    odom_noise_frac: float = 0.02
    odom_noise_floor: float = 0.002
    gyro_bias_std: float = 0.002
    gnss_block_gain: float = 6.0
    gnss_block_radius: float = 20.0


@dataclass(frozen=True, slots=True)
class BatteryParams:
    """Battery: capacity (Wh), constant draw (W), drive energy (Wh/m), pack voltages (V)."""

    capacity_wh: float = 1500.0
    idle_w: float = 60.0
    drive_wh_per_m: float = 0.03
    v_empty: float = 44.0
    v_full: float = 54.6


class SkyBlockage:
    """Fraction of the neighbourhood covered by building footprints, on a 2 m raster."""

    def __init__(
        self,
        footprints: Sequence[object],
        bounds: tuple[float, float, float, float],
        radius: float,
        cell: float = 2.0,
    ) -> None:
        xmin, ymin, xmax, ymax = bounds
        self._x0, self._y0, self._cell = xmin - radius, ymin - radius, cell
        nx = int(math.ceil((xmax - xmin + 2 * radius) / cell)) + 1
        ny = int(math.ceil((ymax - ymin + 2 * radius) / cell)) + 1
        xs = self._x0 + (np.arange(nx) + 0.5) * cell
        ys = self._y0 + (np.arange(ny) + 0.5) * cell
        gx, gy = np.meshgrid(xs, ys)
        covered = np.zeros(gx.shape, dtype=np.float64)
        if footprints:
            union = shapely.union_all(list(footprints))
            covered = shapely.contains_xy(union, gx, gy).astype(np.float64)
        size = max(1, int(round(2 * radius / cell)) | 1)
        self._frac = uniform_filter(covered, size=size, mode="constant")

    def fraction(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Blocked share (0..1) at positions x, y (R,) m."""
        i = np.clip(((y - self._y0) / self._cell).astype(np.int64), 0, self._frac.shape[0] - 1)
        j = np.clip(((x - self._x0) / self._cell).astype(np.int64), 0, self._frac.shape[1] - 1)
        return np.asarray(self._frac[i, j])


def noisy_ranges(
    ranges: FloatArray,
    noise_std: float,
    dropout: float,
    range_min: float,
    range_max: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Add gaussian noise (std m) and random dropouts (+inf) to true ranges (N,) m (REP-117)."""
    n = ranges.shape[0]
    out = ranges + rng.normal(0.0, noise_std, n) if noise_std > 0 else ranges.copy()
    out[rng.random(n) < dropout] = np.inf
    out[out > range_max] = np.inf
    out[out < range_min] = -np.inf
    return out


def battery_voltage(soc: FloatArray, p: BatteryParams) -> FloatArray:
    """Pack voltage (V) from state of charge (0..1), linear between empty and full."""
    return p.v_empty + (p.v_full - p.v_empty) * np.clip(soc, 0.0, 1.0)
