"""The mission node's loop (MissionRunner) over a scripted navigator port: it decides on the
navigator's causes, persists every change and hands finished missions back."""

from __future__ import annotations

from dataclasses import dataclass, field

from dawnpatrol_core.control.causes import REACHED, NavCause, NavResult
from dawnpatrol_core.delivery.handover import HandoverRules
from dawnpatrol_core.delivery.mission import (
    HOLD_RETRY_S,
    MissionState,
    Step,
    expected_pin,
    make_task,
)
from dawnpatrol_core.delivery.mission_runner import MissionRunner, NavigatorPort
from dawnpatrol_core.geometry import Pose2D

RULES = HandoverRules(absent_after_s=60.0, pin_timeout_s=30.0, max_pin_attempts=3)


@dataclass
class ScriptedNav:
    """A navigator port whose goals end as the test says (``finish``)."""

    goals: list[Pose2D] = field(default_factory=list)
    result: NavResult | None = None
    ready: bool = True
    canceled: int = 0

    def go_to(self, goal: Pose2D, now: float) -> bool:
        if self.ready:
            self.goals.append(goal)
            self.result = None
        return self.ready

    def outcome(self) -> NavResult | None:
        return self.result

    def progress(self) -> tuple[float, float]:
        return (12.0, 8.0) if self.result is None else (0.0, 0.0)

    def cancel(self) -> None:
        self.canceled += 1
        self.result = NavResult(NavCause.CANCELED, "canceled")


def make(nav: ScriptedNav) -> tuple[MissionRunner, list[MissionState | None]]:
    saved: list[MissionState | None] = []
    port: NavigatorPort = nav  # the protocol is satisfied structurally
    return MissionRunner("r1", "s", RULES, port, saved.append), saved


def test_delivery_and_return_over_the_port() -> None:
    nav = ScriptedNav(ready=False)
    r, saved = make(nav)
    tasks = (make_task("deliver", "O-1", 5.0, 0.0), make_task("return", "R", 0.0, 0.0))
    r.start("m1", tasks, 0.0)
    assert saved[-1] is not None and saved[-1].mission_id == "m1"
    r.tick(0.1, Pose2D(0, 0))
    assert nav.goals == []  # no server yet: sent again on the next tick
    nav.ready = True
    r.tick(0.2, Pose2D(0, 0))
    assert nav.goals == [Pose2D(5.0, 0.0)] and r.eta(0.2) == (12.0, 8.0)
    r.tick(0.3, Pose2D(1, 0))
    assert r.run is not None and r.run.step is Step.NAVIGATE
    nav.result = REACHED
    r.tick(10.0, Pose2D(5, 0))
    assert r.run is not None and r.run.step is Step.HANDOVER
    assert r.submit_pin(20.0, "O-1", expected_pin("O-1", "s")) == (True, "accepted")
    assert r.parcels == () and r.done[-1].run.ok and r.done[-1].parcels == ("O-1",)
    r.tick(20.1, Pose2D(5, 0))
    nav.result = REACHED
    r.tick(40.0, Pose2D(0, 0))
    (ended,) = r.ended
    assert ended.completed == ("O-1", "R") and ended.failed == ()
    assert saved[-1] is None and r.mission is None
    events = [(e.task.id, e.event.event) for e in r.events]
    assert events[:2] == [("O-1", "started"), ("O-1", "arrived")]
    assert ("R", "returned") in events


def test_each_hold_cause_holds_and_resends_the_goal() -> None:
    for cause in (NavCause.SAFETY_STOP, NavCause.LOCALIZATION_LOST, NavCause.POSE_LOST):
        nav = ScriptedNav()
        r, _ = make(nav)
        r.start("m", (make_task("patrol", "P", 3.0, 0.0, dwell_s=5.0),), 0.0)
        r.tick(0.1, Pose2D(0, 0))
        nav.result = NavResult(cause, "")  # no words: the cause decides
        r.tick(30.0, Pose2D(1, 0))
        assert r.run is not None and r.run.step is Step.HOLD, cause
        assert r.events[-1].event.cause is cause
        r.tick(30.0 + HOLD_RETRY_S, Pose2D(1, 0))
        r.tick(30.1 + HOLD_RETRY_S, Pose2D(1, 0))
        assert len(nav.goals) == 2 and r.ended == [], cause


def test_failure_causes_fail_the_task_with_the_cause_and_blocked_at_the_door_hands_over() -> None:
    for cause in (NavCause.UNREACHABLE, NavCause.REJECTED, NavCause.UNKNOWN, NavCause.CANCELED):
        nav = ScriptedNav()
        r, _ = make(nav)
        r.start("m", (make_task("deliver", "O-2", 3.0, 0.0),), 0.0)
        r.tick(0.1, Pose2D(0, 0))
        nav.result = NavResult(cause, "why")
        r.tick(30.0, Pose2D(0, 0))  # long after the goal went out: no retry
        (ended,) = r.ended
        assert ended.failed[0][0] == "O-2" and r.done[-1].run.cause is cause
        assert r.last_error.startswith("deliver O-2: ") and "why" in r.last_error
        assert r.parcels == ("O-2",)  # the parcel stays on board
    nav = ScriptedNav()
    r, _ = make(nav)
    r.start("m", (make_task("deliver", "O-3", 3.0, 0.0),), 0.0)
    r.tick(0.1, Pose2D(0, 0))
    nav.result = NavResult(NavCause.BLOCKED, "")
    r.tick(30.0, Pose2D(1.5, 0.0))  # 1.5 m short of the door
    assert r.run is not None and r.run.step is Step.HANDOVER


def test_cancel_fails_the_rest_and_stops_the_navigator() -> None:
    nav = ScriptedNav()
    r, saved = make(nav)
    r.start("m", (make_task("deliver", "O-4", 3.0, 0.0), make_task("return", "R", 0, 0)), 0.0)
    r.tick(0.1, Pose2D(0, 0))
    state = r.cancel(1.0)
    assert state is not None and [f[0] for f in state.failed] == ["O-4", "R"]
    assert nav.canceled == 1 and r.ended == [state] and saved[-1] is None
    assert r.carried == ("O-4",) and r.cancel(2.0) is None


def test_resume_takes_up_the_current_task() -> None:
    nav = ScriptedNav()
    r, _ = make(nav)
    tasks = (make_task("patrol", "P1", 1, 0), make_task("patrol", "P2", 2, 0))
    r.resume(MissionState("m", tasks, index=1), 0.0)
    assert r.run is not None and r.run.task.id == "P2"
    assert r.events[0].event.detail == "resumed after restart"
