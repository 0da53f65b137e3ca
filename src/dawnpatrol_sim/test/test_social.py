"""Reacting pedestrians round a robot: they see it coming (or see themselves catching up with it)
and steer clear in time, as people on a sidewalk do."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.world import load_robot_model
from dawnpatrol_sim.engine import SimEngine
from dawnpatrol_sim.engine.social import SocialParams
from dawnpatrol_sim.scenario import PersonSpec, RobotStart, Scenario

ROOT = Path(__file__).resolve().parents[3]
MODEL = load_robot_model(ROOT / "sim/models/dawnbot/model.sdf")
OPEN: Any = SimpleNamespace(name="open", segments=np.zeros((0, 4)), circles=np.zeros((0, 3)),
                            footprints=(), actors=(), bounds=(-100.0, -100.0, 100.0, 100.0))


def drive(people: tuple[PersonSpec, ...], robot: Pose2D, cmd: tuple[float, float],
          seconds: float, social: SocialParams | None = None) -> tuple[SimEngine, float]:
    """Run the engine with the robot commanded ``cmd``; the engine and the least gap (m) between
    any person and the robot's footprint."""
    sc = Scenario(name="t", world=Path("none"), robots=(RobotStart("r1", robot),),
                  people=people)
    e = SimEngine(OPEN, MODEL, sc, seed=1, social=social)
    hl, hw = MODEL.footprint_length / 2.0, MODEL.footprint_width / 2.0
    least = math.inf
    for _ in range(int(round(seconds / e.dt))):
        e.step({"r1": cmd})
        p = e.pose("r1")
        _, xy, on = e.people()
        c, s = math.cos(p.theta), math.sin(p.theta)
        for x, y in xy[on]:
            u, v = c * (x - p.x) + s * (y - p.y), -s * (x - p.x) + c * (y - p.y)
            gap = math.hypot(u - np.clip(u, -hl, hl), v - np.clip(v, -hw, hw)) - 0.3
            least = min(least, gap)
    return e, least


def person_contacts(e: SimEngine) -> list[str]:
    return [f"{c.what} by {c.by}" for c in e.contacts if c.what.startswith("person:")]


JOGGER = PersonSpec("jogger", "walker", waypoints=((-12.0, 0.15), (40.0, 0.15)), speed=2.8)


def test_jogger_overtakes_a_slow_robot_without_touching_it() -> None:
    e, least = drive((JOGGER,), Pose2D(0.0, 0.0, 0.0), (0.3, 0.0), 14.0)
    assert person_contacts(e) == []
    assert least > 0.15
    _, xy, _ = e.people()
    assert xy[0][0] > e.pose("r1").x + 5.0  # and is well past it


def test_without_anticipation_the_jogger_runs_into_the_robot() -> None:
    # The cause the anticipation term removes: forces from where the robot is (and will be)
    # grow too late for someone closing at 2.5 m/s.
    e, _ = drive((JOGGER,), Pose2D(0.0, 0.0, 0.0), (0.3, 0.0), 14.0,
                 SocialParams(anticipation=0.0))
    assert person_contacts(e)


def test_walker_goes_round_a_stopped_robot_in_their_way() -> None:
    walker = PersonSpec("w", "walker", waypoints=((-8.0, 0.05), (8.0, 0.05)), speed=1.4)
    e, least = drive((walker,), Pose2D(0.0, 0.0, math.pi / 2), (0.0, 0.0), 14.0)
    assert person_contacts(e) == []
    assert least > 0.25
    _, xy, _ = e.people()
    assert xy[0] == pytest.approx((8.0, 0.05), abs=0.3)


def test_anticipation_leaves_people_walking_away_from_a_robot_alone() -> None:
    # A robot behind, slower than the person: they never get closer, nothing to anticipate.
    walker = PersonSpec("w", "walker", waypoints=((2.0, 0.0), (30.0, 0.0)), speed=1.3)
    paths = []
    for ant in (0.0, 3.0):
        sc = Scenario(name="t", world=Path("none"),
                      robots=(RobotStart("r1", Pose2D(0.0, 0.0, 0.0)),), people=(walker,))
        e = SimEngine(OPEN, MODEL, sc, seed=1, social=SocialParams(anticipation=ant))
        trace = []
        for _ in range(int(round(8.0 / e.dt))):
            e.step({"r1": (0.5, 0.0)})
            trace.append(e.people()[1][0].copy())
        paths.append(np.array(trace))
    np.testing.assert_allclose(paths[0], paths[1], atol=1e-12)
