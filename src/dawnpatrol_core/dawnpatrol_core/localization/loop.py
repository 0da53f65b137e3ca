"""The localization node's use of the particle filter as a pure class: each scan with the
odometry of its moment predicts the cloud; the scan is weighted after ``update_min_d`` /
``update_min_a`` of motion or every idle period; GNSS fixes as they come. The ``localization``
node and the headless runs (shift, benchmarks) both run it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import ConfigError, finite_number, shown
from dawnpatrol_core.geometry import Pose2D, wrap_angle
from dawnpatrol_core.localization.particle_filter import LocalizationEstimate, ParticleFilter

# name -> (default, low, high): the loop's own parameters in params/localization.yaml.
_LOOP_PARAMS: dict[str, tuple[float, float, float]] = {
    "lidar_x": (0.30, -10.0, 10.0),
    "lidar_y": (0.0, -10.0, 10.0),
    "lidar_yaw": (0.0, -math.pi, math.pi),
    "idle_update_period": (1.0, 0.05, 60.0),
}


@dataclass(frozen=True, slots=True)
class LoopConfig:
    """Where the lidar sits on the robot (base frame) and the s between scan weightings while
    standing still."""

    mount: Pose2D = Pose2D(0.30, 0.0, 0.0)
    idle_period_s: float = 1.0

    @classmethod
    def from_params(cls, values: Mapping[str, object], source: str = "parameters") -> LoopConfig:
        """From the localization parameters (``lidar_x``, ``lidar_y``, ``lidar_yaw``,
        ``idle_update_period``; others are ignored, missing ones take their defaults)."""
        got: dict[str, float] = {}
        for name, (default, lo, hi) in _LOOP_PARAMS.items():
            v = values.get(name, default)
            f = finite_number(v)
            if f is None or isinstance(v, bool) or not lo <= f <= hi:
                raise ConfigError(f"{source}: parameter '{name}': got {shown(v)}, expected a "
                                  f"number in [{lo:g}, {hi:g}]")
            got[name] = f
        return cls(Pose2D(got["lidar_x"], got["lidar_y"], got["lidar_yaw"]),
                   got["idle_update_period"])


class LocalizationLoop:
    """Scans, odometry and fixes in; the estimate out. Call :meth:`restart` whenever the filter
    is (re)initialized."""

    def __init__(self, pf: ParticleFilter, config: LoopConfig) -> None:
        self.pf, self.config = pf, config
        self._odom: Pose2D | None = None
        self._moved = (math.inf, math.inf)
        self._last_weighted = -math.inf
        self._estimate: LocalizationEstimate | None = None

    @property
    def estimate(self) -> LocalizationEstimate:
        """The filter's estimate after the last input (ConfigError before the filter is
        initialized)."""
        if self._estimate is None:
            self._estimate = self.pf.estimate()
        return self._estimate

    def restart(self, odom: Pose2D | None) -> None:
        """A fresh cloud: motion counts from ``odom`` (the latest odometry, None if none yet)
        and the next scan is weighted."""
        self._odom, self._moved = odom, (math.inf, math.inf)
        self._estimate = None

    def gnss(self, x: float, y: float, std: float, now: float) -> None:
        """A fix at (x, y) m in the map, 1-sigma ``std`` m (SensorError when unusable)."""
        try:
            self.pf.update_gnss(x, y, std, now)
        finally:
            self._estimate = None

    def scan(self, odom: Pose2D, ranges: npt.ArrayLike, angle_min: float,
             angle_increment: float, range_min: float, range_max: float, now: float) -> None:
        """A scan (lidar frame) with the odometry pose of its moment: predict, then weight it
        when due. SensorError when the scan has too few usable beams (the motion is kept);
        ``estimate`` is up to date either way."""
        try:
            if self._odom is not None:
                self.pf.predict(self._odom, odom)
                rel = odom.relative_to(self._odom)
                self._moved = (self._moved[0] + math.hypot(rel.x, rel.y),
                               self._moved[1] + abs(wrap_angle(rel.theta)))
            self._odom = odom
            r = np.asarray(ranges, dtype=np.float64)
            self.pf.usable_beams(r, range_min, range_max)
            p = self.pf.params
            if (self._moved[0] >= p.update_min_d or self._moved[1] >= p.update_min_a
                    or now - self._last_weighted >= self.config.idle_period_s):
                if self.pf.update_scan(r, angle_min, angle_increment, range_min, range_max,
                                       self.config.mount, now):
                    self._moved = (0.0, 0.0)
                self._last_weighted = now
        finally:
            self._estimate = None  # the cloud moved: estimated again when asked
