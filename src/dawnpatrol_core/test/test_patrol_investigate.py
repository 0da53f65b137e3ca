"""Tests for dawnpatrol_core.patrol.investigate: nearest free robot, pause and resume."""

from __future__ import annotations

import numpy as np
import pytest

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.patrol.investigate import dispatch_investigation, nearest_free_robot
from dawnpatrol_core.patrol.plan import HotspotSpec, build_patrol_plan
from dawnpatrol_core.patrol.scheduler import PatrolScheduler

ROBOTS = ("r1", "r2", "r3")


def test_nearest_free_robot() -> None:
    t = np.array([50.0, 20.0, 10.0])
    assert nearest_free_robot(ROBOTS, t, busy={"r3"}) == 1
    assert nearest_free_robot(ROBOTS, t, busy=()) == 2
    assert nearest_free_robot(ROBOTS, np.array([5.0, np.inf, 1.0]), busy={"r3"}) == 0
    with pytest.raises(PatrolError, match="no free robot"):
        nearest_free_robot(ROBOTS, t, busy=set(ROBOTS))


def test_dispatch_pauses_and_resume_restarts_patrol() -> None:
    hs = [HotspotSpec(f"h{i}", f"h{i}", 0, 0, 0, (), 5000.0, 10.0) for i in range(3)]
    travel = 60.0 * (1 - np.eye(3))
    plan = build_patrol_plan(hs, ROBOTS, travel, start_travel_s=np.full((3, 3), 100.0))
    sched = PatrolScheduler(plan, 0.0)
    rng = np.random.default_rng(1)
    tasks = {r: sched.next_task(r, 0.0, rng) for r in ROBOTS}
    job = dispatch_investigation(sched, np.array([50.0, 20.0, 10.0]), 5.0, 30.0, busy={"r3"})
    assert (job.robot, job.arrive_s, job.until_s) == ("r2", 25.0, 55.0)
    assert not sched.is_active("r2")
    assert sched.next_task("r2", 6.0, rng) is None
    # r2 had not arrived yet: its claim is released, the hotspot stays idle since 0
    t2 = tasks["r2"]
    assert t2 is not None and t2.arrive_s == pytest.approx(100.0)
    assert sched.deadlines()[t2.hotspot] == pytest.approx(5000.0)
    # r2 is paused and r3 busy: the nearest free robot is r1
    again = dispatch_investigation(sched, np.array([50.0, 1.0, 10.0]), 7.0, 30.0, busy={"r3"})
    assert again.robot == "r1"
    sched.resume("r2", 55.0, np.array([5.0, 6.0, 7.0]))
    nxt = sched.next_task("r2", 55.0, rng)
    assert nxt is not None and nxt.arrive_s == pytest.approx(55.0 + [5.0, 6.0, 7.0][nxt.hotspot])
