"""The fleet manager's decisions as plain functions: shift clock, travel on the district graph,
plans to missions and JSON, which robot is free, patrol and investigation choices, closed edges.

No rclpy here: the node converts messages to these values and back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry import Point

from dawnpatrol_core.delivery.orders import DAY_S as DAY_S  # the time base, re-exported
from dawnpatrol_core.delivery.orders import SIM_CLOCK_LIMIT_S as SIM_CLOCK_LIMIT_S
from dawnpatrol_core.delivery.orders import Order, load_orders
from dawnpatrol_core.delivery.orders import shift_seconds as shift_seconds
from dawnpatrol_core.errors import ConfigError, PatrolError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.maps.route_graph import RouteEdge
from dawnpatrol_core.patrol.investigate import nearest_free_robot
from dawnpatrol_core.patrol.plan import (
    PatrolPlan,
    PatrolSettings,
    build_patrol_plan,
    hotspots_from_district,
)
from dawnpatrol_core.patrol.scheduler import PatrolScheduler, PatrolTask
from dawnpatrol_core.planning.dispatch import (
    DispatchPlan,
    DispatchSettings,
    Robot,
    RobotState,
    TravelFn,
    plan_dispatch,
    replan,
)
from dawnpatrol_core.planning.travel import travel_time_matrix

FloatArray = npt.NDArray[np.float64]


def parse_clock(name: str, text: str) -> float:
    """'HH:MM' -> seconds since midnight; ConfigError naming the parameter when malformed."""
    parts = str(text).split(":")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        h, m = int(parts[0]), int(parts[1])
        if not (0 <= h <= 47 and 0 <= m < 60):
            raise ValueError(text)
    except ValueError:
        raise ConfigError(f"parameter '{name}': got {text!r}, expected 'HH:MM'") from None
    return h * 3600.0 + m * 60.0


def depot_pose(dm: DistrictMap) -> Pose2D:
    """The depot's stand-off pose (from the map's depot zone); ConfigError when the map has none."""
    for z in dm.zones_of_kind("depot"):
        if z.pose is not None:
            return z.pose
    raise ConfigError(f"map '{dm.name}': no zone of kind 'depot' with a pose")


BAY_SPACING_M = 4.0  # between parking bays along the depot's front
BAY_MARGIN_M = 0.6  # a bay's centre keeps this far inside the depot zone (half the robot and more)


def depot_bays(dm: DistrictMap) -> tuple[Pose2D, ...]:
    """The depot's parking bays, robot ``i`` (0-based, in the fleet's robot order) parking in
    bay ``i % len``: the depot pose first, then ``BAY_SPACING_M`` to either side in turn along
    the depot's front (across its heading), as long as the bay lies inside the depot zone.
    Robots that all drive back to one pose block each other's return."""
    base = depot_pose(dm)
    zone = next(z for z in dm.zones_of_kind("depot") if z.pose is not None)
    inner = zone.polygon.buffer(-BAY_MARGIN_M)
    ax, ay = -math.sin(base.theta), math.cos(base.theta)  # across the heading
    bays = [base]
    for k in range(1, 64):
        off = BAY_SPACING_M * ((k + 1) // 2) * (1 if k % 2 else -1)
        x, y = base.x + off * ax, base.y + off * ay
        if inner.contains(Point(x, y)):
            bays.append(Pose2D(x, y, base.theta))
    return tuple(bays)


# -- travel --------------------------------------------------------------------------------------
def edge_speed_fn(dm: DistrictMap) -> Callable[[RouteEdge], float]:
    """Allowed speed (m/s) on an edge: its own limit and the zone limit at its midpoint."""
    cache: dict[int, float] = {}

    def speed(e: RouteEdge) -> float:
        v = cache.get(e.id)
        if v is None:
            pts = e.points or ((dm.graph.nodes[e.start].x, dm.graph.nodes[e.start].y),
                               (dm.graph.nodes[e.end].x, dm.graph.nodes[e.end].y))
            mx = 0.5 * (pts[0][0] + pts[-1][0])
            my = 0.5 * (pts[0][1] + pts[-1][1])
            v = min(e.speed_limit, dm.speed_limit_at(mx, my))
            cache[e.id] = v
        return v

    return speed


def make_travel(dm: DistrictMap) -> Callable[[FloatArray, float], tuple[FloatArray, FloatArray]]:
    """``travel(points (N,2) m, speed m/s) -> (seconds (N,N), metres (N,N))`` along the sidewalk
    graph honouring zone speed limits: the TravelFn the dispatcher takes."""
    speed = edge_speed_fn(dm)

    def travel(points: FloatArray, top_speed: float) -> tuple[FloatArray, FloatArray]:
        m = travel_time_matrix(dm.graph, points, speed, max_speed=top_speed,
                               access_speed=min(1.0, top_speed))
        return m.duration, m.distance

    return travel


# -- orders and plans ----------------------------------------------------------------------------
def load_batch(path: str | Path, dm: DistrictMap, now: float, service_time_s: float,
               compartments: int) -> list[Order]:
    """A batch of orders from a file, validated all-or-nothing against the map's address book
    (orders by lat/lon are placed with the map's georeference); ``now`` in shift-day seconds.
    Raises OrderError listing every problem."""
    addresses = {k: a.pose for k, a in dm.addresses.items()}
    locate = dm.from_wgs84 if dm.georef is not None else None
    return load_orders(path, addresses, now, service_time_s, compartments, locate)


def plan_batch(orders: Sequence[Order], robots: Sequence[Robot], depot: Pose2D,
               travel: TravelFn, settings: DispatchSettings, now: float) -> DispatchPlan:
    """Plan a batch at shift-day time ``now`` (s): before the shift starts, every robot leaves
    the depot at its shift start; mid-shift, every robot loads at the depot from ``now`` on."""
    xy = (depot.x, depot.y)
    if all(now <= r.shift_start for r in robots):
        return plan_dispatch(orders, robots, xy, travel, settings)
    states = [RobotState(r, depot.x, depot.y, now) for r in robots]
    return replan(states, orders, xy, travel, settings, now)


def order_to_dict(o: Order) -> dict[str, Any]:
    """The stored form of an order (JSON-ready)."""
    return {
        "id": o.id, "address_id": o.address_id, "lat": o.lat, "lon": o.lon, "x": o.x, "y": o.y,
        "window_start": o.window_start, "window_end": o.window_end, "size": o.size,
        "handover": o.handover, "priority": o.priority,
    }


def order_from_dict(d: Mapping[str, Any]) -> Order:
    """Inverse of :func:`order_to_dict`."""
    return Order(
        id=str(d["id"]), address_id=d.get("address_id"), lat=d.get("lat"), lon=d.get("lon"),
        x=float(d["x"]), y=float(d["y"]), window_start=float(d["window_start"]),
        window_end=float(d["window_end"]), size=int(d.get("size", 1)),
        handover="door" if d.get("handover") == "door" else "pin",
        priority=int(d.get("priority", 0)),
    )


def plan_to_json(plan: DispatchPlan, orders: Mapping[str, Order], map_dir: str) -> dict[str, Any]:
    """The plan as the CLI and reports read it (times: shift-day seconds)."""
    routes = []
    for r in plan.routes:
        stops = []
        for s in r.stops:
            o = orders[s.order_id]
            stops.append({
                "order_id": s.order_id, "address_id": o.address_id or "", "x": round(s.x, 3),
                "y": round(s.y, 3), "eta": round(s.arrival, 1),
                "service_start": round(s.service_start, 1), "trip": s.trip,
                "window_start": o.window_start, "window_end": o.window_end,
            })
        routes.append({
            "robot_id": r.robot_id, "departure": round(r.departure, 1),
            "return_time": round(r.return_time, 1), "distance_m": round(r.distance_m, 1),
            "stops": stops,
        })
    return {
        "routes": routes,
        "unserved": [{"order_id": oid, "reason": why} for oid, why in plan.unserved],
        "robots_needed": plan.robots_needed,
        "robots_lower_bound": plan.robots_lower_bound,
        "map_dir": map_dir,
    }


def route_trips(route: Mapping[str, Any]) -> list[list[str]]:
    """Order ids of a plan_json route split into depot trips (one mission per trip)."""
    trips: dict[int, list[str]] = {}
    for s in route.get("stops", []):
        trips.setdefault(int(s.get("trip", 0)), []).append(str(s["order_id"]))
    return [trips[k] for k in sorted(trips)]


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """One mission task before it becomes a MissionTask message.

    ``kind``: deliver | patrol | investigate | return. Pose in map metres/radians; windows in
    shift-day seconds; ``dwell_s`` seconds.
    """

    kind: str
    id: str
    pose: Pose2D
    dwell_s: float = 0.0
    order_id: str = ""
    address_id: str = ""
    window_start: float = 0.0
    window_end: float = 0.0
    method: str = "pin"
    compartments: int = 1


def delivery_tasks(order_ids: Sequence[str], orders: Mapping[str, Order], dm: DistrictMap,
                   depot: Pose2D) -> list[TaskPlan]:
    """One trip's tasks: a deliver task per order (stop pose = the entrance's pose, facing the
    door; orders given by lat/lon stop at their point), then a return to the depot."""
    tasks = []
    for oid in order_ids:
        o = orders[oid]
        a = dm.addresses.get(o.address_id or "")
        pose = a.pose if a is not None else Pose2D(o.x, o.y, 0.0)
        tasks.append(TaskPlan(
            "deliver", oid, pose, order_id=oid, address_id=o.address_id or "",
            window_start=o.window_start, window_end=o.window_end, method=o.handover,
            compartments=o.size,
        ))
    tasks.append(TaskPlan("return", "depot", depot))
    return tasks


# -- the registry ---------------------------------------------------------------------------------
MODES = ("idle", "delivering", "patrolling", "investigating", "returning", "charging",
         "estopped", "fault")


@dataclass(frozen=True, slots=True)
class RobotView:
    """What the fleet knows of a robot now: link state, mode name, e-stop, position (m)."""

    id: str
    connection: str
    mode: str
    estopped: bool
    x: float
    y: float
    parcels: tuple[str, ...] = ()
    stamp: float = 0.0  # s, when the robot published the status this view comes from


#: Modes of a robot carrying out a mission that must not be interrupted for new work, even one
#: the fleet does not follow any more (its mission node restarted and resumed it from disk).
BUSY_MODES = ("delivering", "returning", "investigating", "charging")


def free_robots(robots: Iterable[RobotView], busy: Iterable[str]) -> list[str]:
    """Robots that may take new work: online, not e-stopped, not in fault, no mission of ours,
    and not busy with a mission of its own (BUSY_MODES)."""
    taken = set(busy)
    return sorted(
        r.id for r in robots
        if r.connection == "online" and not r.estopped
        and r.mode not in ("fault", "estopped", *BUSY_MODES) and r.id not in taken
    )


def order_counts(states: Iterable[str]) -> dict[str, int]:
    """Orders per state (every state of the store listed, zeros included)."""
    out = dict.fromkeys(("planned", "assigned", "delivered", "failed", "returned", "unserved"), 0)
    for s in states:
        out[s] = out.get(s, 0) + 1
    return out


# -- patrol ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class PatrolCoordinator:
    """The core PatrolScheduler over the map's hotspots, with travel on the route graph.

    Interleave policy (simple and honest): a robot patrols only while it has no delivery or
    investigation mission; a delivery batch always takes precedence, so patrol never makes a
    delivery late. ``rng`` makes the patrol unpredictable (seed it for reproducible runs).
    """

    dm: DistrictMap
    robots: tuple[str, ...]
    speed: float
    now: float
    rng: np.random.Generator
    epoch_hour: float = 0.0
    scheduler: PatrolScheduler | None = field(default=None, init=False)
    warning: str = field(default="", init=False)
    _travel: Callable[[FloatArray, float], tuple[FloatArray, FloatArray]] | None = field(
        default=None, init=False)
    _hxy: FloatArray | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        specs = hotspots_from_district(self.dm)
        if not specs:
            return
        self._travel = make_travel(self.dm)
        self._hxy = np.array([[h.x, h.y] for h in specs], dtype=np.float64)
        t, _ = self._travel(self._hxy, self.speed)
        depot = depot_pose(self.dm)
        start = self.from_point(depot.x, depot.y)
        st = np.tile(start, (len(self.robots), 1))
        settings = PatrolSettings(epoch_hour=self.epoch_hour)
        try:
            plan = build_patrol_plan(specs, self.robots, t, start_travel_s=st, settings=settings,
                                     is_allowed=self.dm.is_allowed)
        except PatrolError as exc:
            # Too few robots to guarantee every bound: patrol best effort, and say so.
            self.warning = str(exc)
            plan = PatrolPlan(tuple(specs), self.robots, t, st, settings)
        self.scheduler = PatrolScheduler(plan, self.now)

    def from_point(self, x: float, y: float) -> FloatArray:
        """(H,) s from (x, y) m to each hotspot's observation pose."""
        assert self._travel is not None and self._hxy is not None
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


def choose_investigator(dm: DistrictMap, robots: Sequence[RobotView], free: Iterable[str],
                        x: float, y: float, speed: float) -> str | None:
    """Nearest free robot (by travel time on the graph) to (x, y) m, or None if none is free."""
    free_set = set(free)
    cands = [r for r in robots if r.id in free_set]
    if not cands:
        return None
    pts = np.array([[x, y]] + [[r.x, r.y] for r in cands], dtype=np.float64)
    t, _ = make_travel(dm)(pts, speed)
    try:
        i = nearest_free_robot(tuple(r.id for r in cands), t[1:, 0], ())
    except PatrolError:
        return None
    return cands[i].id


def investigate_dwell_s(dm: DistrictMap, x: float, y: float, base_s: float) -> float:
    """How long to observe at (x, y) m: ``base_s``, or longer where a watch zone needs a person
    seen for its ``max_dwell_s`` before loitering can be told (plus 30 s to be sure)."""
    zone_dwell = [float(z.properties["max_dwell_s"]) for z in dm.zones_at(x, y)
                  if z.kind == "watch" and "max_dwell_s" in z.properties]
    return max([base_s] + [d + 30.0 for d in zone_dwell])


# -- closed edges ---------------------------------------------------------------------------------
def edges_near(dm: DistrictMap, x: float, y: float, radius_m: float) -> list[int]:
    """Ids of route edges (both directions) passing within ``radius_m`` metres of (x, y)."""
    out = []
    p = np.array([x, y])
    for e in dm.graph.edges.values():
        pts = np.array(e.points or ((dm.graph.nodes[e.start].x, dm.graph.nodes[e.start].y),
                                    (dm.graph.nodes[e.end].x, dm.graph.nodes[e.end].y)),
                       dtype=np.float64)
        a, b = pts[:-1], pts[1:]
        ab = b - a
        den = np.maximum((ab**2).sum(axis=1), 1e-12)
        t = np.clip(((p - a) * ab).sum(axis=1) / den, 0.0, 1.0)
        d = np.sqrt((((a + t[:, None] * ab) - p) ** 2).sum(axis=1)).min()
        if d <= radius_m:
            out.append(e.id)
    return sorted(out)


def closed_edges(dm: DistrictMap, blocked: Iterable[tuple[float, float, float]], now: float,
                 ttl_s: float, radius_m: float = 2.0) -> list[int]:
    """Edges closed by blocked-sidewalk reports (x m, y m, last_seen s) seen within ``ttl_s``
    seconds of ``now``: every edge within ``radius_m`` of a report, both directions."""
    out: set[int] = set()
    for x, y, last in blocked:
        if now - last <= ttl_s and math.isfinite(x) and math.isfinite(y):
            out.update(edges_near(dm, x, y, radius_m))
    return sorted(out)
