"""Calls (an operator's investigate request, a robot's alert that needs a look): where a robot
watches the place from when it may not go there, and which robot can be there first without
making a parcel late."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.patrol.interleave import RouteStop, latest_arrivals
from dawnpatrol_core.planning.travel import FloatArray

#: Zone kinds robots do not enter to look (people are judged there; robots watch from outside).
NO_ENTRY_KINDS = ("keep_out", "night_restricted")
#: Alert kinds about people that a robot's look settles (a robot goes to watch the place).
LOOK_KINDS = ("loitering", "intrusion")


def needs_a_look(kind: str) -> bool:
    """A new incident of this alert kind calls a robot to watch the place."""
    return kind in LOOK_KINDS


@dataclass(frozen=True, slots=True)
class Lookout:
    """Where a robot watches a called place from: ``pose`` (map m/rad) facing it,
    ``distance_m`` from it; ``why`` the place itself is not entered ('' when it is)."""

    pose: Pose2D
    distance_m: float
    why: str


def no_entry_reason(dm: DistrictMap, x: float, y: float) -> str:
    """Why robots may not go to (x, y) m ('' when they may)."""
    for z in dm.zones_at(x, y):
        if z.kind in NO_ENTRY_KINDS:
            label = "keep-out zone" if z.kind == "keep_out" else "restricted area"
            return f"in {label} '{z.id}'"
    if not dm.is_allowed(x, y):
        return "outside the operating area"
    return ""


def _route_points(dm: DistrictMap, step_m: float) -> FloatArray:
    """(N, 2) m: the route graph's nodes and points every ``step_m`` along its edges."""
    pts: list[tuple[float, float]] = [(n.x, n.y) for n in dm.graph.nodes.values()]
    for e in dm.graph.edges.values():
        line = e.points or ((dm.graph.nodes[e.start].x, dm.graph.nodes[e.start].y),
                            (dm.graph.nodes[e.end].x, dm.graph.nodes[e.end].y))
        for (ax, ay), (bx, by) in zip(line[:-1], line[1:], strict=True):
            n = max(1, int(math.hypot(bx - ax, by - ay) / step_m))
            pts.extend((ax + (bx - ax) * k / n, ay + (by - ay) * k / n) for k in range(1, n))
    return np.array(pts, dtype=np.float64).reshape(-1, 2)


#: The watch points of the maps seen last (id -> (map, points)): a map's zones and graph do not
#: change once loaded, and every lookout would rebuild them (30-40 ms on suwon_dawn).
_WATCH_POINTS: dict[int, tuple[DistrictMap, FloatArray]] = {}
_WATCH_POINTS_KEPT = 4


def _watch_points(dm: DistrictMap) -> FloatArray:
    """(N, 2) m: points every 0.5 m along the route graph where robots may stand."""
    hit = _WATCH_POINTS.get(id(dm))
    if hit is not None and hit[0] is dm:
        return hit[1]
    pts = _route_points(dm, 0.5)
    ok = dm.allowed_xy(pts)
    for z in dm.zones:
        if z.kind in NO_ENTRY_KINDS:
            ok &= ~np.asarray(shapely.intersects_xy(z.polygon, pts[:, 0], pts[:, 1]), dtype=bool)
    out = pts[ok]
    out.flags.writeable = False
    if len(_WATCH_POINTS) >= _WATCH_POINTS_KEPT:
        _WATCH_POINTS.pop(next(iter(_WATCH_POINTS)))
    _WATCH_POINTS[id(dm)] = (dm, out)
    return out


def seen_from_sidewalk(dm: DistrictMap, x: float, y: float, reach_m: float) -> bool:
    """Some point of the sidewalks where robots may stand, within ``reach_m`` of (x, y) m, has
    it in line of sight on the map (a fence or hoarding hides what is behind it from a robot's
    planar lidar)."""
    cand = _watch_points(dm)
    d = np.hypot(cand[:, 0] - x, cand[:, 1] - y)
    near = np.flatnonzero(d <= reach_m)
    return any(_in_sight(dm, (float(cand[i, 0]), float(cand[i, 1])), (x, y))
               for i in near[np.argsort(d[near], kind="stable")])


def sees(dm: DistrictMap, at: tuple[float, float], place: tuple[float, float],
         reach_m: float) -> bool:
    """A robot standing at ``at`` (m) has ``place`` (m) within ``reach_m`` and in line of sight
    on the map."""
    return math.dist(at, place) <= reach_m and _in_sight(dm, at, place)


def _in_sight(dm: DistrictMap, a: tuple[float, float], b: tuple[float, float],
              near_target_m: float = 0.5) -> bool:
    """No occupied map cell on the segment a -> b (the last ``near_target_m`` before b, the
    watched thing itself, excepted)."""
    g = dm.grid
    d = math.hypot(b[0] - a[0], b[1] - a[1])
    if d <= near_target_m:
        return True
    n = max(2, int(d / (0.5 * g.resolution)))
    t = np.linspace(0.0, (d - near_target_m) / d, n)
    xs, ys = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
    r, c = g.world_to_cell(xs, ys)
    inside = g.in_bounds(r, c)
    return bool(np.all(~inside | ~g.occupied[np.clip(r, 0, g.height - 1),
                                             np.clip(c, 0, g.width - 1)]))


def lookout(dm: DistrictMap, x: float, y: float, reach_m: float,
            standoff_m: float = 0.0) -> Lookout:
    """Where to watch (x, y) m from. A place robots may go: the nearest allowed sidewalk point
    at least ``standoff_m`` away with it in line of sight (a robot parked on top of the person
    it was sent to watch blocks them, and a person against the robot is no longer seen as one),
    else the place itself. A place robots may not enter: the nearest allowed point on the
    sidewalks within ``reach_m`` that has it in line of sight (else the nearest in sight, else
    the nearest allowed one) — a call is never refused."""
    why = no_entry_reason(dm, x, y)
    if not why and standoff_m <= 0.0:
        return Lookout(Pose2D(x, y, 0.0), 0.0, "")
    cand = _watch_points(dm)
    if cand.size == 0:
        return Lookout(Pose2D(x, y, 0.0), 0.0, why)
    d = np.hypot(cand[:, 0] - x, cand[:, 1] - y)
    if not why:  # a standoff: in sight, between standoff_m and reach_m away
        for i in np.argsort(np.where(d >= standoff_m, d, np.inf), kind="stable"):
            if d[i] > max(reach_m, standoff_m) or d[i] < standoff_m:
                break
            if _in_sight(dm, (float(cand[i, 0]), float(cand[i, 1])), (x, y)):
                px, py = float(cand[i, 0]), float(cand[i, 1])
                return Lookout(Pose2D(px, py, math.atan2(y - py, x - px)), float(d[i]), "")
        return Lookout(Pose2D(x, y, 0.0), 0.0, "")
    order = np.argsort(d, kind="stable")
    best = None
    for i in order:
        if d[i] > reach_m and best is not None:
            break
        if _in_sight(dm, (float(cand[i, 0]), float(cand[i, 1])), (x, y)):
            best = int(i)
            break
        if d[i] > 3.0 * reach_m:
            break
    i = int(order[0]) if best is None else best
    px, py = float(cand[i, 0]), float(cand[i, 1])
    return Lookout(Pose2D(px, py, math.atan2(y - py, x - px)), float(d[i]), why)


@dataclass(frozen=True, slots=True)
class Responder:
    """A robot that can answer a call: on scene ``eta_s`` s from now; ``delivering`` when it
    leaves a delivery trip for it (and resumes after); ``late_s``: how late the detour makes
    its parcels, at most (s, 0 when every window holds)."""

    robot_id: str
    eta_s: float
    delivering: bool
    late_s: float = 0.0
    after_trip: bool = False  # it goes once its trip's last parcel is handed over


@dataclass(frozen=True, slots=True)
class Candidate:
    """A robot as a call sees it. ``to_call_s``: its travel to the lookout (s). A delivering
    robot also gives ``stops`` (the rest of its trip, in order, windows in shift-day s),
    ``to_first_s`` (from where it is to its next stop), ``call_to_first_s`` (lookout to next
    stop), ``stop_travel_s`` (K, K) between its stops and ``later_slack_s``: how much later its
    queued trips may start (s, inf when none). ``after_trip_s``: when it would be on scene
    going after the last door of its trip (s from now, inf when it has none left), and
    ``after_trip_delay_s``: how much later that makes what follows the door (s)."""

    robot_id: str
    to_call_s: float
    stops: tuple[RouteStop, ...] = ()
    to_first_s: float = 0.0
    call_to_first_s: float = 0.0
    stop_travel_s: FloatArray | None = None
    later_slack_s: float = math.inf
    delivering: bool = False
    after_trip_s: float = math.inf
    after_trip_delay_s: float = 0.0


def detour_overrun(c: Candidate, now: float, watch_s: float) -> float:
    """How late (s) a delivering robot's parcels get at most if it goes to the lookout and
    watches ``watch_s`` s first: past the latest start of the rest of its trip that keeps every
    window, or past the slack of its queued trips. 0.0 when all hold; a robot not delivering
    makes nothing late. A trip already behind is made later by the whole detour."""
    if not c.delivering:
        return 0.0
    if not c.stops:
        return max(0.0, c.to_call_s + watch_s - c.later_slack_s)
    m = c.stop_travel_s
    delay = max(0.0, c.to_call_s + watch_s + c.call_to_first_s - c.to_first_s)
    try:
        latest = latest_arrivals(c.stops, lambda a, b: 0.0 if m is None else float(m[a, b]))
    except PatrolError:
        return max(delay, 1e-3)  # already behind: every second of detour comes on top
    arrive = now + c.to_call_s + watch_s + c.call_to_first_s
    return max(0.0, arrive - float(latest[0]), delay - c.later_slack_s)


def detour_holds(c: Candidate, now: float, watch_s: float) -> bool:
    """A delivering robot may go: after the lookout and ``watch_s`` s of watching, it still
    reaches every stop of its trip in its window and its queued trips start late by no more
    than their slack. A robot not delivering always may."""
    return detour_overrun(c, now, watch_s) <= 1e-6


def choose_responder(cands: Sequence[Candidate], now: float, watch_s: float,
                     late_ok: bool = False, wait_s: float = 0.0) -> Responder | None:
    """The robot that can be on scene first among those whose parcels still hold after the
    detour (ties: a robot that is not delivering, then the first given). When none holds: the
    robot first on scene after the last door of its trip, if that is no more than ``wait_s``
    after the first robot that could go straight and what waits after its trip still holds;
    else, with ``late_ok``, the one that makes its parcels least late (then the first on
    scene). None when no robot can go."""
    best: Responder | None = None
    least: tuple[float, float, int] | None = None
    for i, c in enumerate(cands):
        if not math.isfinite(c.to_call_s):
            continue
        late = detour_overrun(c, now, watch_s)
        if late <= 1e-6:
            if best is None or (c.to_call_s, c.delivering) < (best.eta_s, best.delivering):
                best = Responder(c.robot_id, c.to_call_s, c.delivering)
        elif least is None or (late, c.to_call_s) < least[:2]:
            least = (late, c.to_call_s, i)
    first = min((c.to_call_s for c in cands if math.isfinite(c.to_call_s)), default=math.inf)
    if best is None and wait_s > 0.0:
        after = [c for c in cands if c.delivering and c.after_trip_s <= first + wait_s
                 and c.after_trip_delay_s <= c.later_slack_s + 1e-6]
        if after:
            c = min(after, key=lambda c: c.after_trip_s)
            return Responder(c.robot_id, c.after_trip_s, True, after_trip=True)
    if best is None and late_ok and least is not None:
        c = cands[least[2]]
        best = Responder(c.robot_id, c.to_call_s, c.delivering, least[0])
    return best
