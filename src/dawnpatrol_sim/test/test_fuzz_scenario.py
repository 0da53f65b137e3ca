"""Hostile scenario files: 1,000 random edits of a scenario using every section, plus random
text. The loader returns a scenario with finite numbers, or one ScenarioError line; and the
inputs the fuzzing found crashing it, as regressions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hostile_inputs import FUZZ, check_clean, json_text, mutated, text_edited
from hypothesis import given
from hypothesis import strategies as st

from dawnpatrol_core.errors import DawnPatrolError, ScenarioError
from dawnpatrol_sim.scenario import TOP_KEYS, Scenario, load_scenario

BOUNDS = (0.0, 0.0, 300.0, 200.0)
BASE = yaml.safe_load("""
world: ../worlds/suwon_dawn.sdf
robot_model: ../models/dawnbot/model.sdf
duration: 1800
robots:
  - {id: r1, start: [62.0, 7.0, -1.5708]}
  - {id: r2, start: [70.0, 7.0]}
people:
  - {type: loiterer, center: [150.0, 105.0], radius: 3.0, start: 900}
  - {type: intruder, waypoints: [[92.6, 100.0], [80.0, 99.0]], speed: 1.2, dwell: 650}
  - {type: walker, waypoints: [[10.0, 10.0]], loop: true}
  - {type: waiting, at: [243.0, 146.5], count: 4, end: 1800}
obstacles:
  - {at: 120, center: [251.2, 26.0], size: [2.6, 1.2], yaw: 0.2, until: 1800}
faults:
  - {type: wheel_slip, robot: r1, start: 1000, end: 1010, slip: 0.4}
  - {type: kidnap, robot: r1, start: 1200, pose: [100.0, 50.0, 1.0]}
  - {type: battery_drop, robot: r2, start: 1300, drop: 0.5}
orders: {file: orders.csv, absent: [O-11]}
""")
KEYS = [*TOP_KEYS, "id", "start", "type", "center", "radius", "waypoints", "speed", "dwell",
        "loop", "at", "count", "end", "size", "yaw", "until", "robot", "slip", "pose", "drop"]


def _finite(sc: Scenario) -> bool:
    nums = [sc.duration] + [v for r in sc.robots for v in (r.start.x, r.start.y, r.start.theta)]
    nums += [v for o in sc.obstacles for v in (*o.center, *o.size, o.yaw, o.at)]
    nums += [f.start for f in sc.faults]
    return all(math.isfinite(v) for v in nums)


def _check(path: Path) -> None:
    out = check_clean(lambda: load_scenario(path, bounds=BOUNDS))
    if not isinstance(out, DawnPatrolError):
        assert _finite(out), out
        assert len({r.id for r in out.robots}) == len(out.robots) >= 1


@FUZZ
@given(doc=mutated(BASE, keys=KEYS), as_json=st.sampled_from([True, True, False]))
def test_scenario_edits(tmp_path: Path, doc: object, as_json: bool) -> None:
    path = tmp_path / "s.yaml"
    try:
        text = json_text(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _check(path)


@FUZZ
@given(text=st.one_of(text_edited(yaml.safe_dump(BASE)), st.binary(max_size=80).map(
    lambda b: b.decode("latin-1")), st.just("? [a, b]\n: 1\n"), st.just("a: &x [*x]\n")))
def test_scenario_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _check(path)


HEAD = "world: w.sdf\nrobots:\n  - {id: r1, start: [1.0, 1.0]}\n"


@pytest.mark.parametrize("data, needle", [
    (b"name: \x80\xff\n", "UTF-8"),                                  # UnicodeDecodeError
    (b"? [a, b]\n: 1\n", "unhashable"),                               # TypeError
    ((HEAD + "duration: " + "9" * 400 + "\n").encode(), "duration"),    # OverflowError
    (b"world: w.sdf\nrobots:\n  - {id: \"r\\nx\", start: [1.0, 1.0]}\n", "robot id"),  # 2 lines
    ((HEAD + "seed: 2026-13-45\n").encode(), "invalid YAML"),          # ValueError (a date)
    (HEAD.replace("w.sdf", '"w\\0.sdf"').encode(), "world"),          # ValueError (NUL)
    (HEAD.replace("w.sdf", '"w\\ud800.sdf"').encode(), "world"),      # UnicodeEncodeError
])
def test_scenario_regressions(tmp_path: Path, data: bytes, needle: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, bounds=BOUNDS)
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg, msg
