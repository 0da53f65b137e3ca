"""The navigator node's goal supervision as a pure class, around :class:`NavigatorCore`: goals
through waypoints, safety stops from the governor, a pose timeout, latency compensation of the
pose, and the localization gate (stand still while LOST, replan on recovery, fail after the
timeout). Every goal ends with a :class:`NavResult` carrying its cause. The ``navigator`` node
and the headless runs (shift, navigation benchmark) both drive with it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dawnpatrol_core.control.causes import REACHED, NavCause, NavResult
from dawnpatrol_core.control.navigator import NavCommand, NavigatorCore, Scan
from dawnpatrol_core.geometry import Pose2D, drive_arc
from dawnpatrol_core.safety.localization_gate import Gate, LocalizationGate


@dataclass(frozen=True, slots=True)
class DriveTick:
    """One control period's output: the command ``v`` m/s, ``w`` rad/s (zero when ``stopped``:
    no pose, LOST or a safety stop), the core's output when it was stepped, ``held`` while a
    goal waits for localization, and ``result`` when a goal ended in this period."""

    v: float
    w: float
    stopped: bool
    command: NavCommand | None = None
    held: bool = False
    result: NavResult | None = None


class GoalRunner:
    """Feed poses (:meth:`pose_in`) and localization health (:meth:`health_in`), start goals,
    and call :meth:`tick` at the control rate. ``gate`` None: no localization gate (ground
    truth). ``pose_timeout_s``: a pose older than this (by arrival) stops the robot."""

    def __init__(self, nav: NavigatorCore, gate: LocalizationGate | None,
                 pose_timeout_s: float) -> None:
        self.nav, self.gate, self.pose_timeout = nav, gate, pose_timeout_s
        self.pose: Pose2D | None = None
        self._pose_t = -math.inf      # when the pose arrived (our clock)
        self._pose_stamp = -math.inf  # the moment the pose describes
        self._cmd = (0.0, 0.0)        # last command, for latency compensation
        self._goals: list[Pose2D] = []
        self._planned = False
        self.last: NavResult | None = None  # how the last goal ended
        self.last_command: NavCommand | None = None  # the core's latest output

    @property
    def active(self) -> bool:
        """A goal is under way (possibly held while LOST)."""
        return bool(self._goals)

    def pose_in(self, pose: Pose2D, stamp: float, now: float) -> None:
        """A pose describing the moment ``stamp`` arrived at ``now`` (s)."""
        self.pose, self._pose_t, self._pose_stamp = pose, now, stamp

    def health_in(self, now: float, lost: bool) -> bool:
        """Localization health (LOST or not) at ``now``; True when it changed."""
        if self.gate is None:
            return False
        changed = lost != self.gate.lost
        self.gate.update(now, lost)
        return changed

    def pose_fresh(self, now: float) -> bool:
        return self.pose is not None and now - self._pose_t <= self.pose_timeout

    def start(self, now: float, goals: Sequence[Pose2D]) -> NavResult | None:
        """Start a goal through ``goals`` in order (a goal under way must have been ended: see
        :meth:`end`). The refusal (cause and reason) when it cannot start, else None."""
        self.last = None
        stop = self.nav.governor.stop_reason(now) if self.nav.governor is not None else ""
        if stop:
            return self._refuse(NavResult(NavCause.SAFETY_STOP, stop))
        if not goals:
            return self._refuse(NavResult(NavCause.REJECTED, "no goal pose given"))
        if not self.pose_fresh(now):
            return self._refuse(NavResult(NavCause.POSE_LOST,
                                          "no current pose (is localization running?)"))
        self._goals = list(goals)
        self._planned = False
        if self.gate is not None and self.gate.lost:
            return None  # planned once localization has recovered
        assert self.pose is not None
        resp = self.nav.set_goal(now, self.pose, self._goals[0])
        if not resp.accepted:
            self._goals = []
            return self._refuse(NavResult(resp.cause, resp.reason))
        self._planned = True
        return None

    def end(self, now: float, result: NavResult) -> NavResult | None:
        """End the goal under way with ``result`` (canceled, preempted, e-stop); ``result`` when
        there was one, else None."""
        if not self._goals:
            return None
        if not result.ok:
            self.nav.cancel(now)
        self._goals, self._planned, self.last = [], False, result
        return result

    def stop(self) -> None:
        """Command zero now (and let the governor ramp from standstill)."""
        self._cmd = (0.0, 0.0)
        if self.nav.governor is not None:
            self.nav.governor.reset()

    def tick(self, now: float, scan: Scan | None) -> DriveTick:
        """One control period at ``now`` s with the latest scan (robot frame)."""
        stop = self.nav.governor.stop_reason(now) if self.nav.governor is not None else ""
        ended = self.end(now, NavResult(NavCause.SAFETY_STOP, stop)) if stop else None
        if not self.pose_fresh(now):
            self.stop()
            return DriveTick(0.0, 0.0, True,
                             result=self.end(now, NavResult(NavCause.POSE_LOST, "pose lost"))
                             or ended)
        assert self.pose is not None
        # The pose describes the moment of its sensor data; bring it to now with what was
        # commanded since (localization lags by its processing time).
        age = now - self._pose_stamp
        pose = (drive_arc(self.pose, *self._cmd, age) if 0.0 < age <= self.pose_timeout
                else self.pose)
        if self.gate is not None:
            held = self._gate(now, pose)
            if held is not None:
                return held if held.result is not None else replace(held, result=ended)
        cmd = self.last_command = self.nav.step(now, pose, scan)
        v, w = (0.0, 0.0) if stop else (float(cmd.v), float(cmd.w))
        if stop:
            self.stop()
        else:
            self._cmd = (v, w)
        result = ended
        if self._goals:
            if cmd.status == "succeeded":
                if len(self._goals) > 1:
                    self._goals.pop(0)
                    resp = self.nav.set_goal(now, pose, self._goals[0])
                    if not resp.accepted:
                        result = self.end(now, NavResult(resp.cause, f"waypoint: {resp.reason}"))
                else:
                    result = self.end(now, REACHED)
            elif cmd.status == "failed":
                result = self.end(now, NavResult(self.nav.failure, cmd.reason))
            elif cmd.status == "canceled":
                result = self.end(now, NavResult(NavCause.CANCELED, cmd.reason))
        return DriveTick(v, w, stop != "", cmd, result=result)

    def _gate(self, now: float, pose: Pose2D) -> DriveTick | None:
        """Hold still while localization is LOST (a tick to return), replan on recovery (None:
        drive on)."""
        assert self.gate is not None
        state = self.gate.state(now)
        if state is Gate.OPEN:
            if self._goals and not self._planned:
                resp = self.nav.set_goal(now, pose, self._goals[0])
                self._planned = resp.accepted
                if not resp.accepted:
                    self.stop()
                    return DriveTick(0.0, 0.0, True,
                                     result=self.end(now, NavResult(resp.cause, resp.reason)))
            return None
        self.stop()
        if not self._goals:
            return DriveTick(0.0, 0.0, True)
        if state is Gate.EXPIRED:
            why = f"localization lost for {self.gate.lost_for(now):.0f} s"
            return DriveTick(0.0, 0.0, True,
                             result=self.end(now, NavResult(NavCause.LOCALIZATION_LOST, why)))
        if self._planned:
            self.nav.cancel(now)
            self._planned = False
        return DriveTick(0.0, 0.0, True, held=True)

    def _refuse(self, result: NavResult) -> NavResult:
        self.last = result
        return result


class InProcessNavigator:
    """The mission runner's navigator port on a goal runner in the same process (what the
    ``navigate`` action and its client carry between the nodes): the headless runs use it."""

    def __init__(self, drive: GoalRunner) -> None:
        self.drive = drive
        self._now = 0.0

    def go_to(self, goal: Pose2D, now: float) -> bool:
        """Start ``goal`` (a goal under way is preempted); a refusal is the outcome."""
        self._now = now
        self.drive.end(now, NavResult(NavCause.CANCELED, "preempted by a new goal"))
        self.drive.start(now, [goal])
        return True

    def outcome(self) -> NavResult | None:
        return None if self.drive.active else self.drive.last

    def progress(self) -> tuple[float, float]:
        cmd = self.drive.last_command
        return (0.0, 0.0) if cmd is None else (float(cmd.distance_left), float(cmd.eta))

    def cancel(self) -> None:
        self.drive.end(self._now, NavResult(NavCause.CANCELED, "canceled"))
