"""Patrol choices for the fleet: which hotspot a free robot visits next (the core patrol
scheduler over the map's hotspots), and the patrol visits a delivery plan must hold so that no
hotspot goes over its idleness bound."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.fleet.depot import depot_pose
from dawnpatrol_core.fleet.travel import make_travel
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.patrol.plan import (
    PatrolPlan,
    PatrolSettings,
    build_patrol_plan,
    hotspots_from_district,
)
from dawnpatrol_core.patrol.scheduler import PatrolScheduler, PatrolTask
from dawnpatrol_core.planning.dispatch import PatrolVisit, TravelFn
from dawnpatrol_core.planning.travel import FloatArray

#: Patrol visit ids start with this (never an order id: orders ids are checked apart).
VISIT_PREFIX = "@"


def visit_windows(last_left_s: FloatArray, bound_s: FloatArray, dwell_s: FloatArray, now: float,
                  until: float, share: float, rng: np.random.Generator,
                  margin_s: float = 0.0) -> list[tuple[int, int, float, float]]:
    """(hotspot, k, earliest s, due s) of the visits that keep every hotspot within its bound
    from ``now`` until ``until`` (s), whatever time in its window each visit is made.

    Visit 1 of hotspot h is due at its last departure + bound (no sooner than one window from
    now if it is already overdue). Visit k lasts ``dwell_s[h]`` and may be made anywhere in a
    window of width W (drawn in [0.5, 1] x ``share`` x bound, so the rhythm is not predictable)
    ending at its due time D_k; the next is due at D_k - W + dwell + bound: the latest next
    arrival after the earliest possible departure, so each gap stays within the bound.
    ``margin_s`` plans every visit that long inside its bound (a robot held up at a door or
    by people on the way still arrives in time), at most a tenth of the bound.
    """
    out: list[tuple[int, int, float, float]] = []
    for h in range(last_left_s.size):
        b = float(bound_s[h]) - min(margin_s, 0.1 * float(bound_s[h]))
        width = b * share * float(rng.uniform(0.5, 1.0))
        due = max(float(last_left_s[h]) + b, now + width)
        k = 1
        while True:
            earliest = max(now, due - width)
            if earliest >= until:
                break
            out.append((h, k, earliest, due))
            due = earliest + float(dwell_s[h]) + b
            width = b * share * float(rng.uniform(0.5, 1.0))
            k += 1
    return out


@dataclass(frozen=True, slots=True)
class Ahead:
    """A stop a robot has yet to make, in its order: where (m), how long it stays (s), not
    before when (shift-day s: a door's window, a visit's planned start; 0: at once) and the
    hotspot it watches ('' for a door, a look or the depot)."""

    x: float
    y: float
    service_s: float = 0.0
    not_before_s: float = 0.0
    hotspot: str = ""
    due_s: float = math.inf  # a door's latest start that keeps its window (shift-day s)


def arrivals(travel: TravelFn, speed: float, x: float, y: float, ahead: Sequence[Ahead],
             now: float) -> list[float]:
    """When (shift-day s) a robot at (x, y) m at ``now`` reaches each of its stops ``ahead``,
    making them in order at ``speed`` m/s (waiting for each stop's start). Time at a door
    beyond its service (a recipient slow to come) is not foreseen."""
    if not ahead:
        return []
    t, _ = travel(np.array([[x, y]] + [[a.x, a.y] for a in ahead], dtype=np.float64), speed)
    out: list[float] = []
    clock = now
    for i, a in enumerate(ahead):
        clock += float(t[i, i + 1])
        out.append(clock)
        clock = max(clock, a.not_before_s) + a.service_s
    return out


def first_arrivals(travel: TravelFn, speed: float, x: float, y: float,
                   ahead: Sequence[Ahead], now: float) -> dict[str, float]:
    """When (shift-day s) the robot first reaches each hotspot it is to watch (see
    :func:`arrivals`)."""
    out: dict[str, float] = {}
    for a, t in zip(ahead, arrivals(travel, speed, x, y, ahead, now), strict=True):
        if a.hotspot and a.hotspot not in out:
            out[a.hotspot] = t
    return out


def slack_s(ahead: Sequence[Ahead], arrive: Sequence[float]) -> float:
    """How much later (s) the stops ``ahead``, reached at ``arrive``, could all start and
    still keep every door's window (inf with no door)."""
    return min((a.due_s - max(t, a.not_before_s) for a, t in zip(ahead, arrive, strict=True)),
               default=math.inf)


def hotspot_of(task_id: str) -> str:
    """The hotspot a patrol task watches: its id, or the id before '#' (a second visit of the
    same hotspot in one mission)."""
    return task_id.split("#", 1)[0]


class PatrolCoordinator:
    """The core PatrolScheduler over the map's hotspots, with travel on the route graph.

    Interleave policy (simple and honest): a robot patrols only while it has no delivery or
    investigation mission; a delivery batch always takes precedence, so patrol never makes a
    delivery late. ``rng`` makes the patrol unpredictable (seed it for reproducible runs).
    ``warning`` says why the patrol is best effort (too few robots for every bound), or is ''.
    """

    def __init__(self, dm: DistrictMap, robots: tuple[str, ...], speed: float, now: float,
                 rng: np.random.Generator, travel: TravelFn | None = None,
                 epoch_hour: float = 0.0) -> None:
        self.dm, self.robots, self.speed, self.rng = dm, robots, speed, rng
        self.scheduler: PatrolScheduler | None = None
        self.warning = ""
        self._travel = travel or make_travel(dm)
        specs = hotspots_from_district(dm)
        self._hxy = np.array([[h.x, h.y] for h in specs], dtype=np.float64).reshape(-1, 2)
        if not specs:
            return
        t, _ = self._travel(self._hxy, speed)
        depot = depot_pose(dm)
        st = np.tile(self.from_point(depot.x, depot.y), (len(robots), 1))
        settings = PatrolSettings(epoch_hour=epoch_hour)
        try:
            plan = build_patrol_plan(specs, robots, t, start_travel_s=st, settings=settings,
                                     is_allowed=dm.is_allowed)
        except PatrolError as exc:
            # Too few robots to guarantee every bound: patrol best effort, and say so.
            self.warning = str(exc)
            plan = PatrolPlan(tuple(specs), robots, t, st, settings)
        self.scheduler = PatrolScheduler(plan, now)

    def from_point(self, x: float, y: float) -> FloatArray:
        """(H,) s from (x, y) m to each hotspot's observation pose."""
        pts = np.vstack([[x, y], self._hxy])
        t, _ = self._travel(pts, self.speed)
        return np.asarray(t[0, 1:], dtype=np.float64)

    def next_task(self, robot: str, now: float, x: float, y: float) -> PatrolTask | None:
        """Next hotspot visit for a free robot at (x, y), or None (no hotspots, paused)."""
        if self.scheduler is None or robot not in self.robots:
            return None
        return self.scheduler.next_task(robot, now, self.rng,
                                        travel_from_s=self.from_point(x, y))

    def visit_done(self, robot: str, now: float) -> None:
        """The robot left its hotspot at ``now`` s."""
        if self.scheduler is not None and robot in self.robots:
            self.scheduler.complete(robot, now)

    def started(self, now: float) -> None:
        """The patrol starts at ``now`` (shift-day s) with no robot patrolling before: every
        hotspot's idleness is counted from now (the bounds are a promise of the patrol; the
        fleet may have been up, and its clock far from the shift's, long before)."""
        if self.scheduler is not None:
            for h in range(len(self.scheduler.plan.hotspots)):
                self.scheduler.observed(h, now)

    def observed(self, hotspot_id: str, left_at: float) -> None:
        """A watch at ``hotspot_id`` made on a delivery route ended at ``left_at`` s."""
        if self.scheduler is not None:
            try:
                h = self.scheduler.plan.index_of(hotspot_id)
            except PatrolError:
                return
            self.scheduler.observed(h, left_at)

    def due_visits(self, now: float, until: float, required: bool, prize_m: float,
                   share: float, margin_s: float = 0.0) -> list[PatrolVisit]:
        """The patrol visits from ``now`` until ``until`` (shift-day s) that hold every hotspot's
        bound (see :func:`visit_windows`); ``required`` (a hard bound) or worth ``prize_m``."""
        sch = self.scheduler
        if sch is None or until <= now:
            return []
        plan = sch.plan
        return [
            PatrolVisit(f"{VISIT_PREFIX}{plan.hotspots[h].id}#{k}", plan.hotspots[h].id,
                        plan.hotspots[h].x, plan.hotspots[h].y, e, d,
                        float(plan.dwell_s[h]), required, prize_m)
            for h, k, e, d in visit_windows(sch.last_left(), plan.max_idleness_s, plan.dwell_s,
                                            now, until, share, self.rng, margin_s)
        ]

    def hotspot_pose(self, hotspot_id: str) -> Pose2D:
        """Observation pose of a hotspot."""
        for h in self.dm.hotspots:
            if h.id == hotspot_id:
                return h.observation_pose
        raise PatrolError(f"hotspot {hotspot_id!r}: not in map '{self.dm.name}'")
