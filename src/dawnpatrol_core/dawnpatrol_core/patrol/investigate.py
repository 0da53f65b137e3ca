"""Investigate an anomaly: send the nearest free robot, pause its patrol, resume it afterwards."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.patrol.scheduler import PatrolScheduler

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Investigation:
    """``robot`` leaves at ``start_s``, arrives at ``arrive_s``, observes until ``until_s`` (s)."""

    robot: str
    start_s: float
    arrive_s: float
    until_s: float


def nearest_free_robot(
    robots: tuple[str, ...], travel_s: FloatArray, busy: Collection[str]
) -> int:
    """Index of the robot with the shortest travel ``travel_s`` (R,) s among those not ``busy``.

    Ties go to the first robot in ``robots``; unreachable (inf) robots are never chosen.
    """
    t = np.asarray(travel_s, dtype=np.float64)
    free = np.array([r not in busy for r in robots], dtype=np.bool_) & np.isfinite(t)
    if not free.any():
        raise PatrolError(
            "investigate: field 'robots': got no free robot that can reach the anomaly, "
            f"expected one of {list(robots)} free"
        )
    return int(np.argmin(np.where(free, t, np.inf)))


def dispatch_investigation(
    scheduler: PatrolScheduler,
    travel_s: FloatArray,
    now: float,
    observe_s: float,
    busy: Collection[str] = (),
) -> Investigation:
    """Choose the nearest free robot for an anomaly and pause its patrol.

    ``travel_s``: (R,) s from each robot's current place to the anomaly (robots in plan order).
    ``busy``: robots that cannot go (delivering, charging); robots already paused are busy too.
    The caller resumes the robot with :meth:`PatrolScheduler.resume` after ``until_s``.
    """
    robots = scheduler.plan.robots
    paused = {r for r in robots if not scheduler.is_active(r)}
    i = nearest_free_robot(robots, travel_s, set(busy) | paused)
    scheduler.pause(robots[i], now)
    arrive = now + float(travel_s[i])
    return Investigation(robots[i], now, arrive, arrive + observe_s)
