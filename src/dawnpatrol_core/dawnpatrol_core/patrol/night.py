"""Task-level discrete-event simulation of a patrol night (travel + dwell), with deliveries.

Used by tests and the benchmark to run the scheduler for hours in milliseconds; motion is a
travel-time matrix, not a simulator.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.patrol.interleave import RouteStop, detour_budget, latest_arrivals
from dawnpatrol_core.patrol.metrics import Visit
from dawnpatrol_core.patrol.plan import PatrolPlan
from dawnpatrol_core.patrol.scheduler import PatrolScheduler

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """A served stop: arrival, service start and the window end (s); on time iff start ≤ end."""

    robot: str
    stop_id: str
    arrive_s: float
    service_start_s: float
    window_end_s: float

    @property
    def on_time(self) -> bool:
        """True when service started inside the window."""
        return self.service_start_s <= self.window_end_s + 1e-6


@dataclass(frozen=True, slots=True)
class NightResult:
    """Everything that happened: patrol visits, served stops, and the count of tasks taken
    when no choice was provably safe."""

    visits: tuple[Visit, ...]
    deliveries: tuple[DeliveryOutcome, ...]
    unsafe_choices: int


def simulate_night(
    plan: PatrolPlan,
    start_s: float,
    end_s: float,
    rng: np.random.Generator,
    *,
    places_travel_s: FloatArray | None = None,
    routes: Mapping[str, Sequence[RouteStop]] | None = None,
    route_start_place: Mapping[str, int] | None = None,
) -> NightResult:
    """Run the scheduler from ``start_s`` to ``end_s`` (s) for every robot in the plan.

    Deliveries (optional): ``places_travel_s`` (P, P) s over places whose first H are the
    hotspots; ``routes[robot]``: its stops in order (``RouteStop.location`` is a place index);
    ``route_start_place[robot]``: where it starts (default: place H, the depot). A robot with a
    route patrols only inside the route's slack and becomes a dedicated patroller when done.
    """
    routes = dict(routes or {})
    n = len(plan.hotspots)
    if routes and places_travel_s is None:
        raise PatrolError("night: field 'places_travel_s': got None, expected (P, P) with routes")
    places = np.asarray(places_travel_s if places_travel_s is not None else plan.travel_s)
    sched = PatrolScheduler(plan, start_s, not_dedicated=set(routes))
    latest = {r: latest_arrivals(s, lambda a, b: float(places[a, b])) for r, s in routes.items()}
    next_stop = dict.fromkeys(routes, 0)
    place: dict[str, int] = {r: (route_start_place or {}).get(r, n) for r in routes}
    visits: list[Visit] = []
    served: list[DeliveryOutcome] = []
    unsafe = 0
    queue = [(start_s, i, robot) for i, robot in enumerate(plan.robots)]
    heapq.heapify(queue)
    seq = len(queue)
    while queue:
        now, _, robot = heapq.heappop(queue)
        if now >= end_s:
            continue
        stops = routes.get(robot)
        if stops is not None and next_stop[robot] < len(stops):
            k = next_stop[robot]
            p = place[robot]
            budget = detour_budget(stops, latest[robot], k, places[:n, :])
            task = sched.next_task(
                robot, now, rng, travel_from_s=places[p, :n], budget=budget
            )
            if task is None:
                stop = stops[k]
                arrive = now + float(places[p, stop.location])
                if p != stop.location:
                    place[robot] = stop.location
                    nxt = arrive
                else:
                    begin = max(now, stop.window_start_s)
                    served.append(
                        DeliveryOutcome(robot, stop.id, now, begin, stop.window_end_s)
                    )
                    next_stop[robot] = k + 1
                    nxt = begin + stop.service_s
                    if k + 1 == len(stops):
                        sched.set_dedicated(robot, True)
                        sched.resume(robot, nxt, places[stop.location, :n])
                seq += 1
                heapq.heappush(queue, (nxt, seq, robot))
                continue
            place[robot] = task.hotspot
        else:
            task = sched.next_task(robot, now, rng)
            if task is None:
                continue
        unsafe += 0 if task.safe else 1
        visits.append(Visit(robot, task.hotspot, task.arrive_s, task.leave_s))
        seq += 1
        heapq.heappush(queue, (task.leave_s, seq, robot))
    return NightResult(tuple(visits), tuple(served), unsafe)
