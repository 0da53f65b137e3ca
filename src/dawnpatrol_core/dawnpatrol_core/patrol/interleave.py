"""Patrol in the slack of a delivery route: how long a robot may detour without a late stop.

A backward pass over the route gives each stop's latest arrival that keeps every later stop in
its window; a detour is allowed only if it ends at the next stop by that time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import PatrolError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RouteStop:
    """A delivery stop in route order.

    ``location``: index into the caller's travel-time function. ``window_start_s`` /
    ``window_end_s``: service must start inside ``[start, end]``, seconds. ``service_s``: handover
    duration, seconds (a robot arriving early waits until the window opens).
    """

    id: str
    location: int
    window_start_s: float
    window_end_s: float
    service_s: float


@dataclass(frozen=True, slots=True, eq=False)
class DetourBudget:
    """What a patrol detour must respect: be at ``next_location`` by ``deadline_s`` (seconds).

    ``return_s``: (H,) float64, seconds, travel from each hotspot to the next stop.
    """

    deadline_s: float
    next_location: int
    return_s: FloatArray

    def fits(self, finish_s: FloatArray) -> npt.NDArray[np.bool_]:
        """(H,) bool: a detour that leaves hotspot h at ``finish_s[h]`` (s) arrives in time."""
        return np.asarray(finish_s + self.return_s <= self.deadline_s + 1e-9, dtype=np.bool_)


def latest_arrivals(stops: Sequence[RouteStop], travel: Callable[[int, int], float]) -> FloatArray:
    """(K,) float64: latest arrival at each stop (s) that keeps it and every later stop in window.

    Backward pass: ``L_K = end_K``; ``L_k = min(end_k, L_{k+1} − service_k − travel(k, k+1))``.
    Raises PatrolError when ``L_k`` falls before stop k's window opens: service cannot start
    before the window, so the later stops could not be kept even without any detour.
    """
    k = len(stops)
    out = np.empty(k, dtype=np.float64)
    nxt = np.inf
    for i in range(k - 1, -1, -1):
        s = stops[i]
        limit = s.window_end_s
        if i + 1 < k:
            limit = min(limit, nxt - s.service_s - travel(s.location, stops[i + 1].location))
        if limit < s.window_start_s - 1e-9:
            raise PatrolError(
                f"delivery route: stop '{s.id}': field 'window_end_s': latest feasible arrival "
                f"{limit:.0f} s is before the window start {s.window_start_s:.0f} s"
            )
        out[i] = limit
        nxt = limit
    return out


def detour_budget(
    stops: Sequence[RouteStop],
    latest: FloatArray,
    next_stop: int,
    hotspot_to_stop_s: FloatArray,
) -> DetourBudget | None:
    """Budget for a detour before ``stops[next_stop]`` (None when the route is finished).

    ``latest``: from :func:`latest_arrivals`. ``hotspot_to_stop_s``: (H, L) float64, seconds,
    travel from each hotspot to each route location.
    """
    if next_stop >= len(stops):
        return None
    loc = stops[next_stop].location
    return DetourBudget(
        deadline_s=float(latest[next_stop]),
        next_location=loc,
        return_s=np.asarray(hotspot_to_stop_s[:, loc], dtype=np.float64),
    )


def slack_s(now: float, here_to_next_s: float, budget: DetourBudget) -> float:
    """Seconds the robot may spend elsewhere before it must head to its next stop (≥ 0 or not)."""
    return budget.deadline_s - now - here_to_next_s
