"""Scenario files: the documented example loads; each kind of mistake gives one clear line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawnpatrol_core.errors import ScenarioError
from dawnpatrol_sim.scenario import check_launched_robots, load_scenario, scenario_line

ROOT = Path(__file__).resolve().parents[3]
BOUNDS = (0.0, 0.0, 30.0, 30.0)

GOOD = """\
name: t
world: ../worlds/test_yard.sdf
robots:
  - id: r1
    start: [5, 10, 0.5]
  - id: r2
    start: [6, 12]
people:
  - name: w
    type: walker
    waypoints: [[1, 1], [2, 2]]
    loop: true
  - type: waiting
    at: [3, 3]
    count: 2
faults:
  - {type: kidnap, robot: r2, start: 5, pose: [20, 20, 0]}
  - {type: wheel_slip, robot: r1, start: 1, end: 4, slip: 0.3}
obstacles:
  - {name: cones, at: 3, center: [10, 10], size: [1, 2]}
orders:
  - {id: o1, address: "101-1"}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


def test_good_scenario_fields(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD), bounds=BOUNDS)
    assert [r.id for r in s.robots] == ["r1", "r2"]
    assert s.robots[0].start.as_tuple() == (5.0, 10.0, 0.5)
    assert s.people[0].loop and s.people[0].waypoints == ((1.0, 1.0), (2.0, 2.0))
    assert s.people[1].type == "waiting" and s.people[1].count == 2
    assert s.people[1].end == math.inf
    assert s.faults[0].pose is not None and s.faults[0].pose.x == 20.0
    assert s.faults[1].slip == 0.3 and s.faults[1].end == 4.0
    assert s.obstacles[0].size == (1.0, 2.0)
    assert s.orders == [{"id": "o1", "address": "101-1"}]
    assert type(s.orders[0]) is dict
    assert s.world == (tmp_path / "../worlds/test_yard.sdf").resolve()
    assert scenario_line(tmp_path / "s.yaml", "orders", 0, "address") == 22


def test_shipped_scenarios_load() -> None:
    for p in sorted((ROOT / "sim/scenarios").glob("*.yaml")):
        s = load_scenario(p)
        assert s.robots


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "expected"),
    [
        ("type: walker", "type: jogger", 10, "people[0].type", "one of walker"),
        (
            "[[1, 1], [2, 2]]",
            "[[1, 1], [2, 99]]",
            11,
            "people[0].waypoints[1]",
            "inside the world bounds",
        ),
        ("start: 5, pose", "start: -5, pose", 17, "faults[0].start", "a time >= 0 s"),
        (
            "robot: r1, start: 1",
            "robot: r9, start: 1",
            18,
            "faults[1].robot",
            "a robot id of this scenario",
        ),
        ("at: 3, center", "at: -1, center", 20, "obstacles[0].at", "a time >= 0 s"),
        ("  - id: r2\n", "  - id: r1\n", 6, "robots[1].id", "a unique robot id"),
        ("slip: 0.3", "slip: 3", 18, "faults[1].slip", "a fraction"),
        ("count: 2", "count: two", 15, "people[1].count", "an integer"),
        ("name: t\n", "name: t\nrobts: []\n", 2, "robts", "one of name"),
    ],
)
def test_bad_scenarios_give_one_line(
    tmp_path: Path, old: str, new: str, line: int, field: str, expected: str
) -> None:
    assert old in GOOD
    p = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError) as ei:
        load_scenario(p, bounds=BOUNDS)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(f"{p}:{line}: field '{field}'")
    assert expected in msg


def test_missing_required_and_yaml_syntax(tmp_path: Path) -> None:
    p = write(tmp_path, "name: t\nworld: w.sdf\n")
    with pytest.raises(
        ScenarioError, match=r"s\.yaml:1: field 'robots': got None, expected a value"
    ):
        load_scenario(p, bounds=BOUNDS)
    p = write(tmp_path, "name: t\nrobots: [\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:3: invalid YAML"):
        load_scenario(p, bounds=BOUNDS)


def test_missing_world_file_named(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD.replace("../worlds/test_yard.sdf", "nowhere.sdf"))
    with pytest.raises(ScenarioError, match=r"s\.yaml:2: field 'world'.*nowhere\.sdf"):
        load_scenario(p)


@settings(max_examples=40, deadline=None)
@given(x=st.floats(-50, 80, allow_nan=False), y=st.floats(-50, 80, allow_nan=False))
def test_robot_start_accepted_exactly_inside_bounds(x: float, y: float) -> None:
    import tempfile

    text = GOOD.replace("start: [5, 10, 0.5]", f"start: [{x!r}, {y!r}, 0.5]")
    with tempfile.TemporaryDirectory() as d:
        p = write(Path(d), text)
        inside = 0 <= x <= 30 and 0 <= y <= 30
        if inside:
            assert load_scenario(p, bounds=BOUNDS).robots[0].start.x == x
        else:
            with pytest.raises(ScenarioError, match=r"s\.yaml:5: field 'robots\[0\]\.start'"):
                load_scenario(p, bounds=BOUNDS)


def test_robots_the_scenario_does_not_name_park_in_free_depot_bays() -> None:
    from dawnpatrol_core.geometry import Pose2D
    from dawnpatrol_sim.scenario import (
        RobotStart,
        fleet_robot_ids,
        map_parking,
        robot_starts,
    )

    repo = Path(__file__).resolve().parents[3]
    parking = map_parking(repo / "maps" / "suwon_dawn")
    assert [p.x for p in parking[:3]] == [70.0, 66.0, 74.0] and len(parking) == 12
    named = (RobotStart("r1", Pose2D(62.0, 7.0, -1.5708)), RobotStart("r2", Pose2D(70.0, 7.0, 0)))
    starts = robot_starts(named, fleet_robot_ids(5), parking)
    assert [s.id for s in starts] == ["r1", "r2", "r3", "r4", "r5"]
    assert starts[:2] == named
    # r3 and r5 in their own bays (the fleet's bays 3 and 5: x 74 and 78); r4's (62) is taken
    # by r1, so it parks in the first bay that is no robot's of the run (82)
    assert [s.start.x for s in starts[2:]] == [74.0, 82.0, 78.0]
    with pytest.raises(ScenarioError, match="r13: no free depot parking place"):
        robot_starts((), fleet_robot_ids(13), parking)


def test_launched_robots_must_include_every_robot_the_scenario_names() -> None:
    sc = load_scenario(ROOT / "sim" / "scenarios" / "dawn_shift.yaml")  # r1, r2, r3
    check_launched_robots(sc, ["r1", "r2", "r3"])
    check_launched_robots(sc, ["r1", "r2", "r3", "r4"])  # extra robots park in depot bays
    with pytest.raises(ScenarioError) as err:
        check_launched_robots(sc, ["r1"])
    msg = str(err.value)
    assert "\n" not in msg and "dawn_shift.yaml" in msg
    assert "names robots r1, r2, r3 but the launch starts r1 (robot_count:=1)" in msg
    assert "r2, r3 missing" in msg and "robot_count:=3" in msg
