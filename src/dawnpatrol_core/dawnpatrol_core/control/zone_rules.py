"""What navigation needs from the district zones, as a Protocol, and path checks built on it."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class ZoneRules(Protocol):
    """Zone queries (``dawnpatrol_core.maps`` provides the real implementation)."""

    def speed_limit_at(self, x: float, y: float) -> float:
        """Speed limit (m/s) in force at the map point (x, y) metres."""
        ...

    def is_allowed(self, x: float, y: float) -> bool:
        """True when (x, y) is inside the operating area and outside every keep-out zone."""
        ...

    def speed_limits_xy(self, xy: FloatArray) -> FloatArray:
        """(N,) speed limits (m/s) at the (N, 2) map points."""
        ...

    def allowed_xy(self, xy: FloatArray) -> npt.NDArray[np.bool_]:
        """(N,) bool: ``is_allowed`` at each of the (N, 2) map points."""
        ...


class PointwiseZoneRules:
    """Base for simple zone rules written point by point (test worlds, synthetic maps): the
    array queries call the scalar ones."""

    def speed_limit_at(self, x: float, y: float) -> float:
        raise NotImplementedError

    def is_allowed(self, x: float, y: float) -> bool:
        raise NotImplementedError

    def speed_limits_xy(self, xy: FloatArray) -> FloatArray:
        return np.array([self.speed_limit_at(float(x), float(y)) for x, y in xy], dtype=float)

    def allowed_xy(self, xy: FloatArray) -> npt.NDArray[np.bool_]:
        return np.array([self.is_allowed(float(x), float(y)) for x, y in xy], dtype=bool)


def densify(points: FloatArray, step: float) -> FloatArray:
    """Resample an (N, 2) polyline (m) so consecutive points are at most ``step`` metres apart."""
    if len(points) < 2:
        return points
    seg = np.hypot(np.diff(points[:, 0]), np.diff(points[:, 1]))
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    n = max(2, int(np.ceil(cum[-1] / step)) + 1)
    s = np.linspace(0.0, cum[-1], n)
    return np.column_stack((np.interp(s, cum, points[:, 0]), np.interp(s, cum, points[:, 1])))


def first_disallowed(zones: ZoneRules, points: FloatArray, step: float = 0.1,
                     leaving: bool = False) -> int:
    """Index into ``densify(points, step)`` of the first point not allowed, or -1 if all are.
    ``leaving``: the path starts in a disallowed place (a robot pushed or backed out of the
    area) and its way back in is fine: only a point disallowed after it is allowed counts."""
    dense = densify(np.asarray(points, dtype=np.float64).reshape(-1, 2), step)
    if len(dense) == 0:
        return -1
    ok = zones.allowed_xy(dense)
    if leaving:
        inside = np.flatnonzero(ok)
        if len(inside) == 0:
            return 0
        ok = ok.copy()
        ok[: inside[0]] = True
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if len(bad) else -1


def speed_limits_along(zones: ZoneRules, points: FloatArray) -> FloatArray:
    """(N,) float64 zone speed limits (m/s) at each of the (N, 2) points."""
    return zones.speed_limits_xy(np.asarray(points, dtype=np.float64).reshape(-1, 2))
