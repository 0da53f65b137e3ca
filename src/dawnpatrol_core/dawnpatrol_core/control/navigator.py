"""Navigator core: plan (route graph + grid), follow, give way to people, recover, obey zone rules.

A pure class stepped with explicit time; the ``navigator`` ROS node wraps it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.control.causes import NavCause
from dawnpatrol_core.control.moving import (
    EvadeConfig,
    Mover,
    MovingConfig,
    MovingObstacles,
    evade,
    points_as_scan,
)
from dawnpatrol_core.control.obstacles import ObstacleConfig, assess_scan, scan_points
from dawnpatrol_core.control.path_follower import FollowerConfig, PathFollower
from dawnpatrol_core.control.zone_rules import ZoneRules, densify, first_disallowed
from dawnpatrol_core.errors import ConfigError, PlanningError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.planning.grid_planner import GridPlanner
from dawnpatrol_core.planning.route_search import Route, RoutePlanner
from dawnpatrol_core.safety.governor import SpeedGovernor

FloatArray = npt.NDArray[np.float64]
Status = Literal["idle", "active", "waiting", "recovering", "succeeded", "failed", "canceled"]
Scan = tuple[FloatArray, FloatArray]
"""(ranges (N,) m, angles (N,) rad) in the robot frame, like a LaserScan."""


def scan_in_base_frame(ranges: FloatArray, angles: FloatArray, mount_x: float) -> Scan:
    """A scan from a lidar ``mount_x`` m ahead of the base centre, in the base frame."""
    if not mount_x:
        return ranges, angles
    x, y = ranges * np.cos(angles) + mount_x, ranges * np.sin(angles)
    return np.hypot(x, y), np.arctan2(y, x)


@dataclass(frozen=True, slots=True)
class NavigatorConfig:
    """Behaviour tuning. Times s, distances m, speeds m/s.

    ``wait_timeout``: how long to wait for a blocked stop zone to clear before replanning.
    ``backup_distance``/``backup_speed``/``recovery_wait``: the recovery sequence.
    ``max_recoveries``: recoveries before the goal fails. ``detour_ahead``: m past the robot's
    progress where a grid detour rejoins the path; a detour longer than ``max_detour_ratio``
    times the stretch it replaces gives way to a reroute on the graph.
    ``resume_margin``: m beyond the stop margin the way ahead must clear before a waiting robot
    drives on (no stop-go chatter at the edge of the stop zone).
    ``stall_timeout``/``stall_distance``: a robot on a goal that has not got ``stall_distance``
    m from where it was for ``stall_timeout`` s is blocked, however often it stopped and
    resumed meanwhile (someone dithering in its way resets the wait, never this): it replans
    around, then recovers, then the goal fails as blocked for the fleet to plan again.
    ``goal_taken_radius``/``goal_taken_range``: a robot that has waited ``wait_timeout`` s
    within ``goal_taken_range`` m (along its path) of the goal for something standing within
    ``goal_taken_radius`` m of the goal (a bus-stop queue on a watch point, a person at a door)
    ends the goal as blocked there at once: a detour round the block only brings it to the
    same people from the other side (minutes, a bus-stop patrol) — the mission decides whether
    that is near enough to watch or hand over.
    ``predict_movers``: track people and robots in the scan (``moving``) and stop short of
    where they are about to be. ``pass_clearance``: m between a mover coming the other way and
    the robot's centre line when passing it; the robot steps aside along its path (keeping
    right when it can) at up to ``pass_speed`` m/s, starting when they would meet within
    ``pass_horizon`` s. ``give_way`` (off by default) with ``evade``: when a mover would still
    touch the robot — standing or driving on — the robot backs or turns away from it (a short
    rollout of candidate commands). It removed most pedestrian contacts in the navigation
    benchmark, but in the 40-order shift it backed a robot into a group of joggers, whose
    contacts then threw its localization 20 m off; it stays off until that is understood.
    """

    follower: FollowerConfig = field(default_factory=FollowerConfig)
    obstacles: ObstacleConfig = field(default_factory=ObstacleConfig)
    wait_timeout: float = 8.0
    backup_distance: float = 0.5
    backup_speed: float = 0.2
    recovery_wait: float = 3.0
    max_recoveries: int = 3
    detour_ahead: float = 8.0
    lookahead_check: float = 2.5
    max_detour_ratio: float = 2.5
    resume_margin: float = 0.15
    stall_timeout: float = 45.0
    stall_distance: float = 1.0
    goal_taken_radius: float = 1.5
    goal_taken_range: float = 4.0
    predict_movers: bool = True
    moving: MovingConfig = field(default_factory=MovingConfig)
    pass_clearance: float = 0.95
    pass_speed: float = 0.8
    pass_horizon: float = 6.0
    give_way: bool = False
    evade: EvadeConfig = field(default_factory=EvadeConfig)

    def __post_init__(self) -> None:
        for name in ("wait_timeout", "backup_speed", "recovery_wait", "detour_ahead",
                     "pass_clearance", "pass_speed", "pass_horizon", "stall_timeout",
                     "stall_distance", "goal_taken_radius", "goal_taken_range"):
            v = getattr(self, name)
            if not v > 0.0:
                raise ConfigError(f"navigator: field '{name}': got {v!r}, expected > 0")


@dataclass(frozen=True, slots=True)
class GoalResponse:
    """Whether a goal was accepted, and why not (one line and a cause) when it was rejected."""

    accepted: bool
    reason: str
    cause: NavCause = NavCause.NONE


@dataclass(frozen=True, slots=True)
class NavCommand:
    """Navigator output: ``v`` m/s, ``w`` rad/s, ``status``, ``distance_left`` m, ``eta`` s,
    ``reason`` (why stopped/slowed, or the last event)."""

    v: float
    w: float
    status: Status
    distance_left: float
    eta: float
    reason: str


class NavigatorCore:
    """Combines route/grid planning, pure pursuit, obstacle handling, recovery and zone rules."""

    def __init__(
        self,
        route_planner: RoutePlanner | None = None,
        grid_planner: GridPlanner | None = None,
        zones: ZoneRules | None = None,
        governor: SpeedGovernor | None = None,
        config: NavigatorConfig | None = None,
    ) -> None:
        self.routes = route_planner
        self.grid = grid_planner
        self.zones = zones
        self.governor = governor
        self.config = config or NavigatorConfig()
        self.status: Status = "idle"
        self.events: list[tuple[float, str]] = []
        self.blocked_edges: set[int] = set()
        # Edges closed from outside (fleet / operator): avoided by every plan, kept across goals;
        # blocked_edges are the ones this navigator found blocked during the current goal.
        self.closed_edges: set[int] = set()
        self._goal: Pose2D | None = None
        self._route: Route | None = None
        self._follower: PathFollower | None = None
        self._v = 0.0
        self._w = 0.0
        self._wait_since = 0.0
        self._phase = ""
        self._phase_since = 0.0
        self._backup_from: Pose2D | None = None
        self._recoveries = 0
        self._stuck: list[tuple[float, float]] = []  # where this goal replanned (x, y m)
        self._blocked_at: tuple[float, float] | None = None  # the path point found blocked
        self._reason = ""
        self.failure = NavCause.NONE  # why the last goal failed (status "failed")
        self.moving = MovingObstacles(self.config.moving) if self.config.predict_movers else None
        ob = self.config.obstacles  # the rollout's footprint is the obstacle check's
        self._evade_cfg = replace(self.config.evade, length=ob.length, width=ob.width)
        self._scan_seen: Scan | None = None
        self._offset = 0.0  # m left of the path (negative: right) the robot follows, passing
        self._offset_hold = -math.inf  # keep the offset until then (s)
        self._passing: set[int] = set()  # ids of the movers being passed
        self._mark: tuple[float, float, float] | None = None  # (x m, y m, since s): stall watch
        self._t_last = -math.inf

    # -- goals ---------------------------------------------------------------------------

    @property
    def path(self) -> FloatArray:
        """(N, 2) float64 the path being followed (m), empty when idle."""
        return self._follower.path if self._follower is not None else np.zeros((0, 2))

    def set_goal(
        self, now: float, pose: Pose2D, goal: Pose2D | Route | FloatArray
    ) -> GoalResponse:
        """Start navigating from ``pose`` to ``goal`` (a pose, a planned route, or an (N, 2) path).

        Rejected (with a one-line reason) when the goal is outside the operating area or in a
        keep-out zone, or cannot be reached.
        """
        self._reset()
        heading: float | None = None
        try:
            if isinstance(goal, Pose2D):
                reason = self._goal_rule_violation(goal.x, goal.y)
                if reason:
                    return self._reject(now, reason, NavCause.REJECTED)
                path, route = self._plan(pose, goal)
                heading, self._goal = goal.theta, goal
            else:
                route = goal if isinstance(goal, Route) else None
                path = goal.points if isinstance(goal, Route) else np.asarray(goal, np.float64)
                if path.ndim != 2 or path.shape[1] != 2 or len(path) < 1:
                    return self._reject(now, f"path shape {path.shape}, expected (N, 2)",
                                        NavCause.REJECTED)
                end = path[-1]
                reason = self._goal_rule_violation(float(end[0]), float(end[1]))
                if reason:
                    return self._reject(now, reason, NavCause.REJECTED)
                self._goal = Pose2D(float(end[0]), float(end[1]))
        except PlanningError as exc:
            return self._reject(now, f"unreachable: {exc}", NavCause.UNREACHABLE)
        if self.zones is not None and first_disallowed(self.zones, path, 0.2,
                                                       self._outside(pose)) >= 0:
            return self._reject(now, "unreachable: the path crosses a keep-out zone or leaves "
                                "the operating area", NavCause.UNREACHABLE)
        self._route = route
        self._follower = PathFollower(path, heading, self.config.follower)
        self.status = "active"
        self._event(now, "goal accepted")
        return GoalResponse(True, "")

    def cancel(self, now: float = 0.0) -> None:
        """Stop following the current goal (the next step commands zero)."""
        if self.status in ("active", "waiting", "recovering"):
            self.status = "canceled"
            self._event(now, "canceled")

    # -- control loop -------------------------------------------------------------------

    def step(self, now: float, pose: Pose2D, scan: Scan | None = None) -> NavCommand:
        """One control period at time ``now`` (s) with the robot at ``pose`` and the latest scan."""
        if self._follower is None or self.status not in ("active", "waiting", "recovering"):
            return self._out(now, pose, 0.0, 0.0, self._reason)
        f = self._follower
        if scan is not None and self.moving is not None and scan is not self._scan_seen:
            self._scan_seen = scan
            self.moving.update(now, pose, scan[0], scan[1])
        if self.status == "recovering":
            self._mark = None
            return self._recover(now, pose, scan)
        if self._stalled(now, pose):
            pts = (scan_points(scan[0], scan[1], self.config.obstacles) if scan is not None
                   else np.zeros((0, 2)))
            self._event(now, f"no progress for {self.config.stall_timeout:.0f} s: blocked")
            return self._replan_around(now, pose, pts)

        self._step_offset(now, pose)
        cmd = f.step(pose, self._v, offset=self._offset)
        if cmd.done:
            self.status = "succeeded"
            self._event(now, "goal reached")
            return self._out(now, pose, 0.0, 0.0, "goal reached")
        v, w, reason = cmd.v, cmd.w, cmd.reason
        if self._offset != 0.0:  # passing someone: at a walking pace
            v = min(v, self.config.pass_speed)
            if abs(cmd.v) > 1e-9:
                w = cmd.w * v / cmd.v
        # Zone rules: never command into a disallowed place along the lookahead path. A robot
        # already outside (pushed out, or its estimate off) judges its whole way back in: a
        # lookahead that ends before the area would hold it still for ever.
        if self.zones is not None and v > 0.0:
            outside = self._outside(pose)
            reach = max(f.length - f.progress, 0.0) if outside else 0.0
            ahead = f.lookahead_path(pose, max(self.config.lookahead_check, reach), self._offset)
            if first_disallowed(self.zones, ahead, 0.1, outside) >= 0:
                v, reason = 0.0, "keep-out or operating-area edge ahead"
        # Nose in (at a door, against a wall) with the path behind: turning on the spot would
        # sweep the corners into it, so back out until the turn is clear.
        if scan is not None and v == 0.0 and w != 0.0:
            turn = assess_scan(scan[0], scan[1], 0.0, w, self.config.obstacles)
            back = assess_scan(scan[0], scan[1], -self.config.backup_speed, 0.0,
                               self.config.obstacles)
            if turn.stop and not back.stop and self._room_behind(pose):
                return self._out(now, pose, -self.config.backup_speed, 0.0,
                                 "backing out to turn")
        # Someone about to walk into the robot whatever it does on its path: give way.
        if (self.config.give_way and scan is not None and self.moving is not None
                and self.moving.movers()):
            ev = self._evade(pose, scan, (v, w))
            if ev is not None:
                return self._out(now, pose, ev[0], ev[1], "giving way to a person or robot")
        # People first: stop and wait while anything is in the stop zone — or where a moving
        # person or robot is about to be (those being passed are only judged where they are).
        if scan is not None:
            if v > 0.0:  # driving on: not into where they will be (turning sweeps only here)
                scan = self._with_predictions(pose, scan)
            # Judge at the speed we could actually reach next, not the follower's wish.
            probe_v = min(v, max(self._v, 0.3)) if v > 0.0 else (0.3 if w == 0.0 else 0.0)
            a = assess_scan(scan[0], scan[1], probe_v, w, self.config.obstacles)
            held = (self.status == "waiting"
                    and a.gap < self.config.obstacles.stop_margin + self.config.resume_margin)
            if a.stop or held:
                if self.status != "waiting":
                    self.status = "waiting"
                    self._wait_since = now
                    self._event(now, f"stopped: obstacle {a.gap:.2f} m ahead")
                if now - self._wait_since >= self.config.wait_timeout:
                    if self._goal_taken(pose, a.blocker):
                        self.status, self.failure = "failed", NavCause.BLOCKED
                        self._reason = "failed: blocked, something stands on the goal"
                        self._event(now, self._reason)
                        return self._out(now, pose, 0.0, 0.0, self._reason)
                    return self._replan_around(now, pose, a.points)
                return self._out(now, pose, 0.0, 0.0, f"waiting: obstacle {a.gap:.2f} m ahead")
            if a.speed_cap < v:
                v, reason = a.speed_cap, f"obstacle {a.gap:.1f} m ahead"
                if abs(cmd.v) > 1e-9:
                    w = cmd.w * v / cmd.v
        if self.status == "waiting":
            self.status = "active"
            self._event(now, "resumed")
        return self._out(now, pose, v, w, reason)

    # -- internals ------------------------------------------------------------------------

    def _stalled(self, now: float, pose: Pose2D) -> bool:
        """The robot has stayed within ``stall_distance`` m of one spot for ``stall_timeout`` s
        (the watch then starts again from here). Steps not called for a while (a localization
        hold, a pause) start the watch again: only time spent trying to drive counts."""
        m = self._mark
        if (m is None or now - self._t_last > 2.0
                or math.hypot(pose.x - m[0], pose.y - m[1]) >= self.config.stall_distance):
            self._mark = (pose.x, pose.y, now)
            return False
        if now - m[2] < self.config.stall_timeout:
            return False
        self._mark = (pose.x, pose.y, now)
        return True

    def _goal_taken(self, pose: Pose2D, blocker: tuple[float, float] | None) -> bool:
        """What holds the robot (``blocker``, robot frame) stands on the goal, and the goal is
        near along the path (see ``goal_taken_radius``)."""
        f, goal, cfg = self._follower, self._goal, self.config
        if blocker is None or f is None or goal is None:
            return False
        if f.length - f.progress > cfg.goal_taken_range:
            return False
        c, s = math.cos(pose.theta), math.sin(pose.theta)
        bx = pose.x + c * blocker[0] - s * blocker[1]
        by = pose.y + s * blocker[0] + c * blocker[1]
        return math.hypot(bx - goal.x, by - goal.y) <= cfg.goal_taken_radius

    def _with_predictions(self, pose: Pose2D, scan: Scan) -> Scan:
        """The scan plus points on the predicted discs of the movers not being passed."""
        if self.moving is None:
            return scan
        pts = self.moving.predicted(pose, exclude=self._passing)
        if not len(pts):
            return scan
        r, a = points_as_scan(pts)
        return np.concatenate((scan[0], r)), np.concatenate((scan[1], a))

    def _evade(self, pose: Pose2D, scan: Scan,
               wish: tuple[float, float]) -> tuple[float, float, float] | None:
        assert self.moving is not None
        cfg = self.config
        zones = self.zones
        allowed = None
        if zones is not None:
            outside = self._outside(pose)

            def allowed(pts: FloatArray) -> bool:
                return first_disallowed(zones, pts, 0.1, outside) < 0

        return evade(self.moving.movers(), pose, self._v, wish,
                     scan_points(scan[0], scan[1], cfg.obstacles), self._evade_cfg,
                     self.moving.config.radius, allowed)

    def _step_offset(self, now: float, pose: Pose2D) -> None:
        """Choose the lateral offset for passing movers that come the other way along the path,
        and move the followed offset towards it (at most 0.5 m/s sideways)."""
        f = self._follower
        assert f is not None
        dt = min(max(now - self._t_last, 0.0), 0.5)
        self._t_last = now
        target, passing = 0.0, set()
        left = f.length - f.progress
        if self.moving is not None and left > 3.0:
            for m in self.moving.movers():
                want = self._pass_offset(f, pose, m)
                if want is not None:
                    passing.add(m.id)
                    if target == 0.0 or abs(want) > abs(target):
                        target = want
        if passing:
            self._passing, self._offset_hold = passing, now + 1.5
        elif now < self._offset_hold and left > 3.0:
            target = self._offset  # hold while the mover goes by alongside
        else:
            self._passing = set()
        step = 0.5 * dt
        self._offset += max(-step, min(step, target - self._offset))
        if abs(self._offset) < 1e-3:
            self._offset = 0.0

    def _pass_offset(self, f: PathFollower, pose: Pose2D, m: Mover) -> float | None:
        """Offset (m, + left) to pass mover ``m`` if it comes towards the robot along the path
        and would come too close; None when it is no concern."""
        cfg = self.config
        s_m = f.project(m.x, m.y, window=12.0)
        ahead = s_m - f.progress
        if ahead < 0.3:
            return None
        px, py = f.point_at(s_m)
        nx, ny = f.normal_at(s_m)
        tx, ty = ny, -nx
        lat = (m.x - px) * nx + (m.y - py) * ny
        if abs(lat) > 3.0:
            return None  # not on this path (the projection found only its nearest point)
        v_al, v_lat = m.vx * tx + m.vy * ty, m.vx * nx + m.vy * ny
        if v_al > -0.3 or abs(v_lat) > abs(v_al):
            return None  # not coming this way along the path
        closing = max(self._v, 0.0) - v_al
        if ahead / closing > cfg.pass_horizon:
            return None
        if abs(lat - self._offset) >= cfg.pass_clearance and m.id not in self._passing:
            return None  # passes clear anyway
        # Keep right of it when there is room, else left; as far as the sidewalk allows.
        sides = (lat - cfg.pass_clearance, lat + cfg.pass_clearance)
        if lat < -0.15:
            sides = sides[::-1]
        best = None
        for want in sides:
            got = self._room(f, want)
            if abs(got - want) < 0.05:
                return got
            if best is None or abs(got - lat) > abs(best - lat):
                best = got
        return best

    def _room(self, f: PathFollower, want: float) -> float:
        """How far towards ``want`` m (+ left) the robot can shift off its path over the next
        few metres: free on the grid and allowed by the zone rules."""
        if want == 0.0:
            return 0.0
        sign = 1.0 if want > 0.0 else -1.0
        got = 0.0
        ss = np.arange(f.progress, min(f.progress + 6.0, f.length) + 1e-9, 0.5)
        for mag in np.arange(0.1, abs(want) + 1e-9, 0.1):
            off = sign * float(mag)
            for s_ in ss:
                x, y = f.offset_point(float(s_), off)
                if (self.grid is not None and not self.grid.is_free(x, y)) or (
                        self.zones is not None and not self.zones.is_allowed(x, y)):
                    return got
            got = off
        return want if abs(want - got) < 0.1 else got

    def _plan(self, pose: Pose2D, goal: Pose2D) -> tuple[FloatArray, Route | None]:
        """Plan on the route graph (off-graph legs by grid if needed), else on the grid."""
        if self.routes is not None:
            closed = self.blocked_edges | self.closed_edges
            try:
                route = self.routes.plan(pose, goal, closed)
            except PlanningError:
                if self.grid is None:
                    raise
            else:
                path = self._fix_legs(route.points, self._off_graph(pose.x, pose.y, closed),
                                      self._off_graph(goal.x, goal.y, closed))
                # With edges closed round a blockage the nearest open edge may lie across a
                # road: a replan must keep to allowed places as a new goal does, or the robot
                # stands at the kerb for ever with "keep-out ahead".
                if self.zones is not None and first_disallowed(
                        self.zones, path, 0.2, self._outside(pose)) >= 0:
                    raise PlanningError("the path crosses a keep-out zone or leaves the "
                                        "operating area")
                return path, route
        if self.grid is None:
            raise PlanningError("navigator: field 'planners': got none, expected a route or "
                                "grid planner")
        return self.grid.plan(pose, goal).points, None

    def _off_graph(self, x: float, y: float, closed: set[int]) -> bool:
        """(x, y) joins the open graph by a leg of its own. A robot standing on a sidewalk
        closed on both sides of it (something dumped on it) has no open edge in reach; the
        route leaves along the closed one, and the first leg is checked like any join."""
        assert self.routes is not None
        try:
            return self.routes.join(x, y, closed).distance > 0.05
        except PlanningError:
            return True

    def _fix_legs(self, pts: FloatArray, lead: bool, tail: bool) -> FloatArray:
        """Replace the straight join legs (pose -> graph, graph -> goal) by grid paths when the
        straight line is not clear."""
        if self.grid is None or len(pts) < 3:
            return pts
        g = self.grid

        def clear(a: FloatArray, b: FloatArray) -> bool:
            return all(g.is_free(float(x), float(y))
                       for x, y in densify(np.vstack((a, b)), 0.1)[1:-1])

        def leg(a: FloatArray, b: FloatArray) -> FloatArray | None:
            try:
                return g.plan((float(a[0]), float(a[1])), (float(b[0]), float(b[1]))).points
            except PlanningError:
                # The robot stands where the inflated grid has no room (it drove in there, as
                # it may after a detour): the straight leg, watched by the obstacle checks.
                return None

        out = pts
        if lead and not clear(pts[0], pts[1]):
            head = leg(pts[0], pts[1])
            if head is not None:
                out = np.vstack((head, out[2:]))
        if tail and not clear(out[-2], out[-1]):
            end = leg(out[-2], out[-1])
            if end is not None:
                out = np.vstack((out[:-2], end))
        return out

    def _replan_around(self, now: float, pose: Pose2D, points: FloatArray) -> NavCommand:
        """Blocked too long: detour on the grid around what the scan sees, else reroute the graph
        without the blocked edge, else start recovery."""
        f = self._follower
        assert f is not None
        # Replanned twice already within 1 m of here for this goal: detours do not help,
        # recover. Every earlier spot counts, not only the last one, so that a robot shuttling
        # between two spots round an obstacle parked on its goal does not detour for ever.
        n = 1 + sum(math.hypot(pose.x - x, pose.y - y) < 3.0 for x, y in self._stuck)
        self._stuck.append((pose.x, pose.y))
        if n > 2:
            self._start_recovery(now, pose)
            return self._out(now, pose, 0.0, 0.0, "recovering: still blocked after replanning")
        c, s = math.cos(pose.theta), math.sin(pose.theta)
        world = np.column_stack((pose.x + c * points[:, 0] - s * points[:, 1],
                                 pose.y + s * points[:, 0] + c * points[:, 1]))
        near = world[np.hypot(points[:, 0], points[:, 1]) < 6.0]
        # First time here: a detour on the grid; blocked again near here: the grid's way round
        # did not work, reroute on the graph.
        if self.grid is not None and n == 1:
            rejoin_s = f.progress + self.config.detour_ahead
            rx, ry = f.point_at(rejoin_s)
            try:
                grid_path = self.grid.plan(pose, (rx, ry), extra_obstacles=near)
                if grid_path.length > self.config.max_detour_ratio * (
                    min(rejoin_s, f.length) - f.progress + 1.0
                ):
                    raise PlanningError("detour too long")
                detour = grid_path.points
                rest = f.path_after(rejoin_s)
                path = np.vstack((detour, rest)) if len(rest) else detour
                if self.zones is None or first_disallowed(self.zones, path, 0.2,
                                                          self._outside(pose)) < 0:
                    self._follow(path)
                    self.status = "active"
                    self._reason = "blocked sidewalk: detour"
                    self._event(now, "blocked sidewalk: detour planned on the grid")
                    return self._out(now, pose, 0.0, 0.0, self._reason)
            except PlanningError:
                pass
        # The blockage is where the first wait near here found it on the path (a detour since
        # may have led elsewhere).
        if n == 1:
            self._blocked_at = f.point_at(f.progress + 1.5)
        if self._reroute(now, pose, self._blocked_at or f.point_at(f.progress + 1.5)):
            return self._out(now, pose, 0.0, 0.0, self._reason)
        self._start_recovery(now, pose)
        return self._out(now, pose, 0.0, 0.0, "recovering: blocked")

    def _reroute(self, now: float, pose: Pose2D, at: tuple[float, float]) -> bool:
        """Close the route edge (both directions) at the blockage ``at`` (x, y m, on the path
        just ahead) and plan again on the graph."""
        if self.routes is None or self._route is None or self._goal is None:
            return False
        try:
            edge_id = self.routes.join(at[0], at[1], self.blocked_edges).edge_id
        except PlanningError:
            return False
        e = self.routes.graph.edges[edge_id]
        self.blocked_edges.add(edge_id)
        self.blocked_edges.update(k for k in self.routes.graph.out_edges.get(e.end, ())
                                  if self.routes.graph.edges[k].end == e.start)
        try:
            path, route = self._plan(pose, self._goal)
        except PlanningError:
            return False
        self._route = route
        self._follow(path)
        self.status = "active"
        self._reason = f"blocked sidewalk: rerouted around edges {sorted(self.blocked_edges)}"
        self._event(now, self._reason)
        return True

    def _start_recovery(self, now: float, pose: Pose2D) -> None:
        self._recoveries += 1
        if self._recoveries > self.config.max_recoveries:
            self.status, self.failure = "failed", NavCause.BLOCKED
            self._reason = "failed: blocked, recoveries exhausted"
            self._event(now, self._reason)
            return
        self.status = "recovering"
        self._phase, self._phase_since, self._backup_from = "backup", now, pose
        self._event(now, f"recovery {self._recoveries}: back up")

    def _recover(self, now: float, pose: Pose2D, scan: Scan | None) -> NavCommand:
        """Recovery state machine: back up -> wait -> replan."""
        cfg = self.config
        if self._phase == "backup":
            assert self._backup_from is not None
            moved = pose.distance_to(self._backup_from)
            rear_blocked = False
            if scan is not None:
                a = assess_scan(scan[0], scan[1], -cfg.backup_speed, 0.0, cfg.obstacles)
                rear_blocked = a.stop
            if (moved >= cfg.backup_distance or rear_blocked or now - self._phase_since > 5.0
                    or not self._room_behind(pose, 0.5)):
                self._phase, self._phase_since = "wait", now
                return self._out(now, pose, 0.0, 0.0, "recovering: wait")
            return self._out(now, pose, -cfg.backup_speed, 0.0, "recovering: back up")
        if self._phase == "wait":
            if now - self._phase_since < cfg.recovery_wait:
                return self._out(now, pose, 0.0, 0.0, "recovering: wait")
            self._phase = "replan"
        assert self._goal is not None
        try:
            path, route = self._plan(pose, self._goal)
        except PlanningError:
            self._start_recovery(now, pose)
            return self._out(now, pose, 0.0, 0.0, self._reason or "recovering: replan failed")
        self._route = route
        self._follow(path)
        self.status = "active"
        self._event(now, "recovery: replanned")
        return self._out(now, pose, 0.0, 0.0, "recovery: replanned")

    def _follow(self, path: FloatArray) -> None:
        heading = self._follower.goal_heading if self._follower is not None else None
        self._follower = PathFollower(path, heading, self.config.follower)

    def _room_behind(self, pose: Pose2D, distance: float = 1.0) -> bool:
        """Backing up ``distance`` m stays in allowed places (the area, out of keep-outs)."""
        if self.zones is None:
            return True
        c, s = math.cos(pose.theta), math.sin(pose.theta)
        line = np.array([[pose.x, pose.y], [pose.x - distance * c, pose.y - distance * s]])
        return first_disallowed(self.zones, line, 0.1, self._outside(pose)) < 0

    def _outside(self, pose: Pose2D) -> bool:
        """The robot is where it may not be (outside the area, in a keep-out): its paths may
        start there and lead back in."""
        return self.zones is not None and not self.zones.is_allowed(pose.x, pose.y)

    def _goal_rule_violation(self, x: float, y: float) -> str:
        if self.zones is None or self.zones.is_allowed(x, y):
            return ""
        explain = getattr(self.zones, "disallowed_reason", None)
        detail = explain(x, y) if callable(explain) else ""
        return (f"goal ({x:.2f}, {y:.2f}) is "
                f"{detail or 'outside the operating area or inside a keep-out zone'}")

    def _reject(self, now: float, reason: str, cause: NavCause) -> GoalResponse:
        self.status, self.failure = "failed", cause
        self._reason = f"goal rejected: {reason}"
        self._event(now, self._reason)
        return GoalResponse(False, reason, cause)

    def _reset(self) -> None:
        self._follower, self._route, self._goal = None, None, None
        self._recoveries = 0
        self._stuck = []
        self._blocked_at = None
        self._reason = ""
        self.failure = NavCause.NONE
        self.blocked_edges = set()
        self._offset, self._offset_hold, self._passing = 0.0, -math.inf, set()
        self._mark = None

    def _event(self, now: float, text: str) -> None:
        self.events.append((now, text))

    def _out(self, now: float, pose: Pose2D, v: float, w: float, reason: str) -> NavCommand:
        if self.governor is not None:
            g = self.governor.filter(now, v, w, pose)
            v, w = g.v, g.w
            if g.reason and (g.stopped or not reason):
                reason = g.reason
        self._v, self._w = v, w
        f = self._follower
        left = 0.0
        if f is not None and self.status not in ("succeeded", "canceled", "failed"):
            left = max(0.0, f.length - f.progress)
        speed = self.config.follower.max_speed * 0.8
        if self._route is not None and self._route.length > 0.0:
            speed = max(0.1, self._route.length / max(self._route.eta, 1e-9))
        return NavCommand(v, w, self.status, left, left / speed, reason)

