"""Randomized multi-robot patrol scheduler that keeps every hotspot's idleness under its bound.

The next hotspot is drawn at random (priority × idleness) among the *safe* choices: those after
which a deterministic least-slack roll-out of all patrol robots still meets every deadline.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.patrol.interleave import DetourBudget
from dawnpatrol_core.patrol.plan import PatrolPlan

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class SweepStep:
    """At ``offset_s`` seconds after arrival, turn to ``yaw`` (radians, map frame) and observe."""

    offset_s: float
    yaw: float


@dataclass(frozen=True, slots=True)
class PatrolTask:
    """One patrol visit: leave now, arrive, dwell (sweeping), leave. Times in seconds.

    ``safe``: False when no choice kept every bound (the one missing a bound latest was taken).
    """

    robot: str
    hotspot_id: str
    hotspot: int
    start_s: float
    arrive_s: float
    leave_s: float
    sweep: tuple[SweepStep, ...]
    revisit: bool
    safe: bool

    @property
    def dwell_s(self) -> float:
        """Seconds spent at the hotspot."""
        return self.leave_s - self.arrive_s


def plan_sweep(
    yaw: float, dwell_s: float, headings: int, rng: np.random.Generator
) -> tuple[SweepStep, ...]:
    """Observation headings at random times inside a dwell of ``dwell_s`` seconds.

    ``headings`` directions evenly spread around the circle from a random offset, in random
    order; the first starts on arrival, the others at sorted uniform times in the dwell.
    """
    n = max(1, headings)
    base = yaw + rng.uniform(-math.pi / n, math.pi / n) + 2.0 * math.pi * np.arange(n) / n
    yaws = (rng.permutation(base) + math.pi) % (2.0 * math.pi) - math.pi
    offsets = np.concatenate([[0.0], np.sort(rng.uniform(0.0, dwell_s, n - 1))])
    return tuple(SweepStep(float(o), float(y)) for o, y in zip(offsets, yaws, strict=True))


def rollout_first_miss(
    travel_s: FloatArray,
    bound_s: FloatArray,
    dwell_s: FloatArray,
    deadline_s: FloatArray,
    free_at_s: FloatArray,
    rows_s: FloatArray,
    end_s: float,
) -> float:
    """Deadline (s) of the first hotspot a greedy roll-out misses before ``end_s``; inf if none.

    ``travel_s``: (H, H) s. ``bound_s``, ``dwell_s``, ``deadline_s``: (H,) s — a hotspot must be
    reached by its deadline; a visit leaving at t moves it to ``t + bound``. ``free_at_s``: (R,)
    s when each robot is next free; ``rows_s``: (R, H) s travel from where it will be.
    The robot free first protects the most urgent hotspot u (least slack it can still make): it
    goes to the hotspot with the best (1 − slack/bound) per second of travel + dwell among those
    from which it still reaches u in time, and dwells the minimum there. A hotspot is missed
    when no robot can reach it before its deadline.
    """
    deadline = deadline_s.copy()
    free_at = free_at_s.copy()
    rows = rows_s.copy()
    if free_at.size == 0:
        return float(deadline.min())
    while True:
        arrive = free_at[:, None] + rows
        missed = arrive.min(axis=0) > deadline + _EPS
        if missed.any():
            return float(deadline[missed].min())
        q = int(np.argmin(free_at))
        if free_at[q] >= end_s:
            return math.inf
        slack = deadline - arrive[q]
        ok = slack >= -_EPS
        if not ok.any():
            h = int(np.argmax(slack))
        else:
            u = int(np.argmin(np.where(ok, slack, np.inf)))
            fits = ok & (arrive[q] + dwell_s + travel_s[:, u] <= deadline[u] + _EPS)
            fits[u] = True
            gain = (1.0 - slack / bound_s) / (rows[q] + dwell_s)
            h = int(np.argmax(np.where(fits, gain, -np.inf)))
        free_at[q] = arrive[q, h] + dwell_s[h]
        deadline[h] = free_at[q] + bound_s[h]
        rows[q] = travel_s[h]


class PatrolScheduler:
    """Hands out patrol visits to robots as they become free; tracks idleness and claims.

    Robots are either *dedicated* (their future is in the roll-out that guards the bounds) or
    not (a delivery robot patrolling in its slack: its visits help but are never relied on).
    Call :meth:`next_task` when a robot is free; the scheduler assumes it follows the task and
    leaves at ``task.leave_s`` unless :meth:`complete` or :meth:`pause` says otherwise.
    """

    def __init__(
        self,
        plan: PatrolPlan,
        now: float,
        *,
        last_leave_s: FloatArray | None = None,
        not_dedicated: Collection[str] = (),
    ) -> None:
        """``last_leave_s``: (H,) s, last departure per hotspot (default ``now``: fresh shift)."""
        self.plan = plan
        n, r = len(plan.hotspots), len(plan.robots)
        self._bound = plan.max_idleness_s
        self._dwell = plan.dwell_s
        self._last_leave = (
            np.full(n, now, dtype=np.float64)
            if last_leave_s is None
            else np.asarray(last_leave_s, dtype=np.float64).copy()
        )
        self._claim = np.full(n, -1, dtype=np.int64)
        self._claim_arrive = np.zeros(n, dtype=np.float64)
        self._claim_leave = np.zeros(n, dtype=np.float64)
        self._free_at = np.full(r, now, dtype=np.float64)
        self._rows = plan.start_travel_s.copy()
        self._active = np.ones(r, dtype=np.bool_)
        self._dedicated = np.array([x not in not_dedicated for x in plan.robots], dtype=np.bool_)
        self._task: list[PatrolTask | None] = [None] * r
        self._recent: list[int] = []
        span = plan.settings.lookahead_s
        self._lookahead = float(1.5 * self._bound.max()) if span is None else float(span)

    # -- state -------------------------------------------------------------------------------
    def robot_index(self, robot: str) -> int:
        """Index of ``robot`` in the plan; PatrolError when unknown."""
        try:
            return self.plan.robots.index(robot)
        except ValueError:
            raise PatrolError(
                f"patrol scheduler: field 'robot': got {robot!r}, expected one of "
                f"{list(self.plan.robots)}"
            ) from None

    def deadlines(self) -> FloatArray:
        """(H,) s: latest next arrival per hotspot (claimed ones: after the claimed visit)."""
        claimed = self._claim >= 0
        return np.where(claimed, self._claim_leave, self._last_leave) + self._bound

    def idleness(self, now: float) -> FloatArray:
        """(H,) s since each hotspot was last observed (0 while a robot dwells there)."""
        present = (self._claim >= 0) & (self._claim_arrive <= now) & (now <= self._claim_leave)
        return np.where(present, 0.0, np.maximum(0.0, now - self._last_leave))

    def last_left(self) -> FloatArray:
        """(H,) s: last departure per hotspot (a copy)."""
        return self._last_leave.copy()

    def observed(self, hotspot: int, left_at_s: float) -> None:
        """A visit the scheduler did not hand out (a watch on a delivery route) ended at
        ``left_at_s`` (s) at hotspot index ``hotspot``."""
        self._last_leave[hotspot] = max(self._last_leave[hotspot], left_at_s)

    def is_active(self, robot: str) -> bool:
        """True unless the robot's patrol is paused."""
        return bool(self._active[self.robot_index(robot)])

    def set_dedicated(self, robot: str, dedicated: bool) -> None:
        """Count the robot in (or out of) the roll-out that guards the idleness bounds."""
        self._dedicated[self.robot_index(robot)] = dedicated

    def complete(self, robot: str, left_at_s: float) -> None:
        """The robot left its current hotspot at ``left_at_s`` (s): the visit is done."""
        r = self.robot_index(robot)
        task = self._task[r]
        if task is None:
            return
        h = task.hotspot
        self._last_leave[h] = max(self._last_leave[h], left_at_s)
        if self._claim[h] == r:
            self._claim[h] = -1
        self._free_at[r] = left_at_s
        self._rows[r] = self.plan.travel_s[h]
        self._task[r] = None
        if h in self._recent:
            self._recent.remove(h)
        self._recent.append(h)
        del self._recent[: max(0, len(self._recent) - max(2, len(self.plan.hotspots) // 4))]

    def pause(self, robot: str, now: float) -> None:
        """Stop patrolling (e.g. to investigate): a visit under way ends now, a claim is freed."""
        r = self.robot_index(robot)
        task = self._task[r]
        if task is not None:
            if task.arrive_s <= now:
                self.complete(robot, min(now, task.leave_s))
            else:
                if self._claim[task.hotspot] == r:
                    self._claim[task.hotspot] = -1
                self._task[r] = None
        self._active[r] = False

    def resume(self, robot: str, now: float, travel_from_s: FloatArray) -> None:
        """Patrol again from a place ``travel_from_s`` (H,) seconds from each hotspot."""
        r = self.robot_index(robot)
        self._active[r] = True
        self._free_at[r] = now
        self._rows[r] = np.asarray(travel_from_s, dtype=np.float64)

    # -- decisions ---------------------------------------------------------------------------
    def _first_miss_if(
        self, r: int, c: int, leave_c: float, now: float, row: FloatArray
    ) -> float:
        deadline = self.deadlines()
        deadline[c] = leave_c + self._bound[c]
        mask = self._active & self._dedicated
        mask[r] = False
        free_at = np.maximum(self._free_at[mask], now)
        rows = self._rows[mask]
        if self._dedicated[r]:
            free_at = np.append(free_at, leave_c)
            rows = np.vstack([rows, self.plan.travel_s[c]])
        return rollout_first_miss(
            self.plan.travel_s,
            self._bound,
            self._dwell,
            deadline,
            free_at,
            rows,
            now + self._lookahead,
        )

    def next_task(
        self,
        robot: str,
        now: float,
        rng: np.random.Generator,
        *,
        travel_from_s: FloatArray | None = None,
        budget: DetourBudget | None = None,
    ) -> PatrolTask | None:
        """Choose and claim the robot's next visit, starting at ``now`` (s).

        ``travel_from_s``: (H,) s from the robot's place (default: from its last hotspot or
        start). ``budget``: a delivery route's slack; only visits that end at the next stop in
        time are considered, and None is returned when none fits. Returns None also when the
        robot is paused.
        """
        r = self.robot_index(robot)
        if not self._active[r]:
            return None
        task = self._task[r]
        if task is not None:
            self.complete(robot, min(now, task.leave_s))
        row = self._rows[r] if travel_from_s is None else np.asarray(travel_from_s, np.float64)
        self._rows[r] = row
        self._free_at[r] = now
        s = self.plan.settings
        arrive = now + row
        jitter = self._dwell * rng.uniform(1.0, 1.0 + s.dwell_jitter, self._dwell.size)
        open_ = (self._claim < 0) | (self._claim == r)
        if budget is not None:
            open_ &= budget.fits(arrive + self._dwell)
        if not open_.any():
            return None
        deadline = self.deadlines()
        cand = np.flatnonzero(open_)
        choice, revisit, safe = -1, False, False
        for dwell in (jitter, self._dwell):
            if budget is not None:
                ok = cand[budget.fits(arrive + dwell)[cand]]
            else:
                ok = cand
            ok = ok[arrive[ok] <= deadline[ok] + _EPS]
            if self._dedicated[r]:
                miss = np.array(
                    [self._first_miss_if(r, int(c), arrive[c] + dwell[c], now, row) for c in ok]
                )
            else:  # its visit on time only moves a deadline later; nothing relies on it
                miss = np.full(ok.size, math.inf)
            safe_set = ok[np.isinf(miss)] if ok.size else ok
            if safe_set.size:
                choice, revisit = self._draw(safe_set, now, rng)
                chosen_dwell, safe = float(dwell[choice]), True
                break
        if choice < 0:
            if budget is not None:
                return None
            miss = np.array(
                [self._first_miss_if(r, int(c), arrive[c] + self._dwell[c], now, row) for c in cand]
            )
            slack = deadline[cand] - arrive[cand]
            choice = int(cand[np.lexsort((slack, -miss))[0]])
            chosen_dwell = float(self._dwell[choice])
        hs = self.plan.hotspots[choice]
        a = float(arrive[choice])
        new = PatrolTask(
            robot=robot,
            hotspot_id=hs.id,
            hotspot=choice,
            start_s=now,
            arrive_s=a,
            leave_s=a + chosen_dwell,
            sweep=plan_sweep(hs.yaw, chosen_dwell, s.sweep_headings, rng),
            revisit=revisit,
            safe=safe,
        )
        self._task[r] = new
        self._claim[choice] = r
        self._claim_arrive[choice] = new.arrive_s
        self._claim_leave[choice] = new.leave_s
        self._free_at[r] = new.leave_s
        self._rows[r] = self.plan.travel_s[choice]
        return new

    def _draw(
        self, safe_set: npt.NDArray[np.int64], now: float, rng: np.random.Generator
    ) -> tuple[int, bool]:
        s = self.plan.settings
        recent = np.intersect1d(safe_set, np.array(self._recent, dtype=np.int64))
        if recent.size and rng.random() < s.revisit_prob:
            return int(rng.choice(recent)), True
        idle = self.idleness(now)[safe_set]
        w = self.plan.priorities_at(now)[safe_set] * (idle + s.idle_floor_s)
        if not w.sum() > 0.0:
            w = np.ones(safe_set.size)
        return int(rng.choice(safe_set, p=w / w.sum())), False
