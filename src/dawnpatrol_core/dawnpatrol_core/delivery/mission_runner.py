"""The mission node's loop as a pure class: missions from the fleet run task by task over a
navigator port — our ``navigate`` action client, the Nav2 adapter, or the headless goal runner
all satisfy :class:`NavigatorPort` — and every transition's events, outcomes and persisted state
go to the caller. The ``mission`` node and the headless shift both run it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dawnpatrol_core.control.causes import NavResult
from dawnpatrol_core.delivery import mission as core
from dawnpatrol_core.delivery.handover import HandoverRules
from dawnpatrol_core.geometry import Pose2D


class NavigatorPort(Protocol):
    """What the mission needs of a navigator: one goal at a time."""

    def go_to(self, goal: Pose2D, now: float) -> bool:
        """Send ``goal`` (map frame), replacing any goal under way; False when it could not be
        sent (no server yet): the mission sends it again on its next tick."""
        ...

    def outcome(self) -> NavResult | None:
        """How the last goal ended, with its cause; None while it is under way."""
        ...

    def progress(self) -> tuple[float, float]:
        """(distance left m, ETA s) of the goal under way; (0, 0) when not known."""
        ...

    def cancel(self) -> None:
        """Stop the goal under way (nothing when none is)."""
        ...


@dataclass(frozen=True, slots=True)
class Emitted:
    """A task event of mission ``mission_id`` at ``at`` s (to publish, or for the speaker)."""

    mission_id: str
    task: core.TaskSpec
    event: core.TaskEvent
    at: float


@dataclass(frozen=True, slots=True)
class TaskDone:
    """A task that ended (``run.ok``, ``run.reason``) with ``parcels`` on board before it."""

    run: core.TaskRun
    parcels: tuple[str, ...]


class MissionRunner:
    """One robot's missions. Call :meth:`tick` every control period with the robot's pose;
    take ``events``, ``done`` and ``ended`` (finished missions, for the action result) after
    each call. ``save`` receives the mission state on every change (None once it ended), so a
    restarted node resumes it (:meth:`resume`)."""

    def __init__(self, robot_id: str, pin_secret: str, rules: HandoverRules, nav: NavigatorPort,
                 save: Callable[[core.MissionState | None], None] | None = None) -> None:
        self.robot_id, self.secret, self.rules, self.nav = robot_id, pin_secret, rules, nav
        self._save = save or (lambda _s: None)
        self.mission: core.MissionState | None = None
        self.run: core.TaskRun | None = None
        self.carried: tuple[str, ...] = ()  # parcels still on board after the last mission
        self.last_error = ""
        self.events: list[Emitted] = []
        self.done: list[TaskDone] = []
        self.ended: list[core.MissionState] = []
        self._nav_sent = False
        self._pose = Pose2D(0.0, 0.0)

    @property
    def parcels(self) -> tuple[str, ...]:
        """Order ids on board."""
        return self.mission.parcels if self.mission is not None else self.carried

    def start(self, mission_id: str, tasks: tuple[core.TaskSpec, ...], now: float) -> None:
        """A new mission (MissionError on bad tasks), with the parcels still on board."""
        self.mission = core.new_mission(mission_id, tasks, self.carried)
        self._save(self.mission)
        self._begin_current(now, resumed=False)

    def resume(self, state: core.MissionState, now: float) -> None:
        """Take up a persisted mission at its current task."""
        self.mission = state
        self._begin_current(now, resumed=True)

    def cancel(self, now: float, reason: str = "canceled") -> core.MissionState | None:
        """Stop the mission: every remaining task fails with ``reason``; the ended state (also
        in ``ended``), None when no mission runs."""
        if self.mission is None:
            return None
        self.nav.cancel()
        state = core.cancel_mission(self.mission, reason)
        self._end(state)
        return state

    def tick(self, now: float, pose: Pose2D, watch_until: float = 0.0) -> None:
        """One control period: send the task's goal, take the navigator's outcome, apply time.
        ``watch_until``: the anomaly monitor's :meth:`AnomalyMonitor.watch_until` (a dwell
        lasts until someone lingering in view is judged)."""
        self._pose = pose
        run = self.run
        if run is None:
            return
        if run.step is core.Step.NAVIGATE:
            if not self._nav_sent:
                self._nav_sent = self.nav.go_to(Pose2D(run.task.x, run.task.y, run.task.theta),
                                                now)
                return
            result = self.nav.outcome()
            if result is not None:
                pin = core.expected_pin(run.task.order_id, self.secret)
                self._apply(core.finish_navigation(run, now, result, pose.x, pose.y,
                                                   self.robot_id, pin, self.rules,
                                                   self.parcels), now)
        else:
            self._apply(core.tick_run(run, now, watch_until), now)

    def submit_pin(self, now: float, order_id: str, pin: str) -> tuple[bool, str]:
        """A PIN typed on the keypad: (accepted, message for the keypad)."""
        if self.run is None:
            return False, "no mission in progress"
        run, events, accepted, message = core.submit_pin(self.run, now, order_id, pin)
        self._apply((run, events), now)
        return accepted, message

    def eta(self, now: float) -> tuple[float, float]:
        """(distance left m, ETA s) of the current task."""
        dist, eta = self.nav.progress() if self.run is not None else (0.0, 0.0)
        return core.task_eta(self.run, now, dist, eta)

    # -- internals ---------------------------------------------------------------------------
    def _begin_current(self, now: float, resumed: bool) -> None:
        assert self.mission is not None
        task = self.mission.current
        if task is None:
            self._end(self.mission)
            return
        self._nav_sent = False
        self._apply(core.begin_task(task, now, resumed), now)

    def _apply(self, transition: core.Transition, now: float) -> None:
        run, events = transition
        if run.step is core.Step.NAVIGATE and (self.run is None
                                                or self.run.step is not core.Step.NAVIGATE):
            self._nav_sent = False  # a held task tries again
        self.run = run
        mid = self.mission.mission_id if self.mission is not None else ""
        self.events += [Emitted(mid, run.task, e, now) for e in events]
        if run.step is core.Step.DONE and self.mission is not None:
            if not run.ok:
                self.last_error = f"{run.task.kind} {run.task.id}: {run.reason}"
            self.done.append(TaskDone(run, self.mission.parcels))
            self.mission = core.record_outcome(self.mission, run)
            self._save(self.mission)
            self._begin_current(now, resumed=False)

    def _end(self, state: core.MissionState) -> None:
        self.ended.append(state)
        self.mission, self.run, self.carried = None, None, state.parcels
        self._save(None)
