"""Patrol and investigation choices for the fleet: which hotspot a free robot visits next (the
core patrol scheduler over the map's hotspots) and which robot goes to look at a place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.fleet.depot import depot_pose
from dawnpatrol_core.fleet.registry import RobotView
from dawnpatrol_core.fleet.travel import make_travel
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.patrol.investigate import nearest_free_robot
from dawnpatrol_core.patrol.plan import (
    PatrolPlan,
    PatrolSettings,
    build_patrol_plan,
    hotspots_from_district,
)
from dawnpatrol_core.patrol.scheduler import PatrolScheduler, PatrolTask
from dawnpatrol_core.planning.dispatch import TravelFn
from dawnpatrol_core.planning.travel import FloatArray


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

    def hotspot_pose(self, hotspot_id: str) -> Pose2D:
        """Observation pose of a hotspot."""
        for h in self.dm.hotspots:
            if h.id == hotspot_id:
                return h.observation_pose
        raise PatrolError(f"hotspot {hotspot_id!r}: not in map '{self.dm.name}'")


def choose_investigator(travel: TravelFn, robots: Sequence[RobotView], free: Iterable[str],
                        x: float, y: float, speed: float) -> str | None:
    """Nearest free robot (by travel time at ``speed`` m/s) to (x, y) m, or None if none is
    free."""
    free_set = set(free)
    cands = [r for r in robots if r.id in free_set]
    if not cands:
        return None
    pts = np.array([[x, y]] + [[r.x, r.y] for r in cands], dtype=np.float64)
    t, _ = travel(pts, speed)
    try:
        i = nearest_free_robot(tuple(r.id for r in cands), t[1:, 0], ())
    except PatrolError:
        return None
    return cands[i].id
