"""Tests for dawnpatrol_core.world: SDF static geometry, actors and the robot model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.world import Actor, ActorWaypoint, load_robot_model, load_world

REPO = Path(__file__).resolve().parents[3]


def _world(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "w.sdf"
    head = '<?xml version="1.0"?>\n<sdf version="1.9">\n<world name="t">\n'
    p.write_text(f"{head}{body}\n</world>\n</sdf>\n")
    return p


NESTED = """
<model name="ground_plane"><static>true</static><link name="l"><collision name="c">
  <geometry><plane><normal>0 0 1</normal></plane></geometry></collision></link></model>
<model name="outer">
  <static>true</static>
  <pose>10 0 0 0 0 1.5707963267948966</pose>
  <model name="inner">
    <pose>2 0 0 0 0 0</pose>
    <link name="l">
      <pose>0 1 0 0 0 0</pose>
      <collision name="box"><pose>0 0 0.5 0 0 0</pose>
        <geometry><box><size>2 1 1</size></box></geometry></collision>
      <collision name="post"><pose>1 0 1 0 0 0</pose>
        <geometry><cylinder><radius>0.25</radius><length>2</length></cylinder></geometry>
      </collision>
    </link>
  </model>
</model>
<model name="high_sign"><static>true</static><link name="l"><collision name="c">
  <pose>0 0 2.5 0 0 0</pose><geometry><box><size>1 1 0.4</size></box></geometry>
</collision></link></model>
<model name="curb"><static>true</static><link name="l"><collision name="c">
  <pose>0 0 0.02 0 0 0</pose><geometry><box><size>5 0.3 0.04</size></box></geometry>
</collision></link></model>
<model name="robot"><link name="l"><collision name="c">
  <geometry><box><size>1 1 1</size></box></geometry></collision></link></model>
<model name="wall"><static>true</static><link name="l"><collision name="c">
  <geometry><polyline><point>0 0</point><point>4 0</point><point>4 3</point>
  <height>2</height></polyline></geometry></collision></link></model>
"""


def test_nested_poses_band_filter_and_shapes(tmp_path: Path) -> None:
    w = load_world(_world(tmp_path, NESTED))
    assert w.name == "t"
    assert w.footprint_names == (
        "outer::inner::l::box",
        "outer::inner::l::post",
        "wall::l::c",
    )
    # outer yaw 90°: inner (2,0) -> (10, 2); link (0,1) in inner -> world (-1, 0) offset -> (9, 2).
    box = w.footprints[0]
    assert box.bounds == pytest.approx((8.5, 1.0, 9.5, 3.0))
    # post at link-local x=1 -> world +y: centre (9, 3), radius 0.25.
    np.testing.assert_allclose(w.circles, [[9.0, 3.0, 0.25]], atol=1e-9)
    # segments: 4 box edges + 3 triangle edges; circles are not segments.
    assert w.segments.shape == (7, 4)
    tri = w.footprints[2]
    assert tri.area == pytest.approx(6.0)
    assert w.bounds == pytest.approx((0.0, 0.0, 9.5, 3.25))
    assert w.actors == ()


def test_tilted_cylinder_projects_to_rectangle(tmp_path: Path) -> None:
    body = """<model name="pipe"><static>true</static><link name="l"><collision name="c">
      <pose>0 0 0.3 1.5707963267948966 0 0</pose>
      <geometry><cylinder><radius>0.3</radius><length>4</length></cylinder></geometry>
    </collision></link></model>"""
    w = load_world(_world(tmp_path, body))
    assert w.circles.shape == (0, 3)
    assert w.footprints[0].bounds == pytest.approx((-0.3, -2.0, 0.3, 2.0), abs=1e-9)


def test_degrees_attribute(tmp_path: Path) -> None:
    body = """<model name="b"><static>true</static><pose degrees="true">0 0 0 0 0 90</pose>
      <link name="l"><collision name="c"><pose>0 0 0.5 0 0 0</pose>
      <geometry><box><size>4 1 1</size></box></geometry></collision></link></model>"""
    w = load_world(_world(tmp_path, body))
    assert w.footprints[0].bounds == pytest.approx((-0.5, -2.0, 0.5, 2.0))


ACTOR = """<actor name="p1"><script><loop>{loop}</loop><delay_start>5</delay_start>
  <trajectory id="0" type="walk">
    <waypoint><time>0</time><pose>0 0 1 0 0 0</pose></waypoint>
    <waypoint><time>10</time><pose>10 0 1 0 0 0</pose></waypoint>
    <waypoint><time>12</time><pose>10 0 1 0 0 3.141592653589793</pose></waypoint>
    <waypoint><time>22</time><pose>0 0 1 0 0 3.141592653589793</pose></waypoint>
  </trajectory></script></actor>"""


def test_actor_trajectory(tmp_path: Path) -> None:
    w = load_world(_world(tmp_path, ACTOR.format(loop="true")))
    (a,) = w.actors
    assert a.name == "p1" and a.loop and a.delay_start == 5.0 and a.duration == 22.0
    assert a.position_at(0.0) == pytest.approx((0.0, 0.0, 0.0))
    assert a.position_at(5.0 + 4.0) == pytest.approx((4.0, 0.0, 0.0))
    assert a.position_at(5.0 + 16.0) == pytest.approx((6.0, 0.0, -math.pi))
    assert a.position_at(5.0 + 22.0 + 4.0) == pytest.approx((4.0, 0.0, 0.0))
    x, y, yaw = a.position_at(5.0 + 11.0)
    assert (x, y) == pytest.approx((10.0, 0.0)) and abs(yaw) == pytest.approx(math.pi / 2)
    w2 = load_world(_world(tmp_path, ACTOR.format(loop="false")))
    assert w2.actors[0].position_at(100.0) == pytest.approx((0.0, 0.0, -math.pi))
    assert w.bounds == (0.0, 0.0, 10.0, 0.0)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 200.0))
def test_actor_stays_on_its_path(t: float) -> None:
    a = Actor(
        "a",
        (ActorWaypoint(0, 0, 0, 0), ActorWaypoint(4, 4, 0, 0), ActorWaypoint(8, 4, 4, 0)),
        True,
        1.0,
    )
    x, y, _ = a.position_at(t)
    on_first = abs(y) < 1e-9 and -1e-9 <= x <= 4 + 1e-9
    on_second = abs(x - 4) < 1e-9 and -1e-9 <= y <= 4 + 1e-9
    assert on_first or on_second


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('<model name="m"><static>true</static><pose>1 2 3</pose></model>', ":4: field 'pose'"),
        (
            '<model name="m"><static>true</static><link name="l"><collision name="c">'
            "<geometry><mesh><uri>x.dae</uri></mesh></geometry></collision></link></model>",
            "field 'collision/geometry': got 'mesh'",
        ),
        (
            '<model name="m"><static>true</static><pose relative_to="other">0 0 0 0 0 0</pose>'
            "</model>",
            "field 'pose@relative_to'",
        ),
        (
            "<model name='m'><static>true</static><link name='l'><collision name='c'><geometry>"
            "<box><size>1 -1 1</size></box></geometry></collision></link></model>",
            "box/size",
        ),
        ("<model", "malformed XML"),
    ],
)
def test_bad_world_gives_one_line(tmp_path: Path, body: str, needle: str) -> None:
    with pytest.raises(MapError) as exc:
        load_world(_world(tmp_path, body))
    msg = str(exc.value)
    assert "\n" not in msg and str(tmp_path / "w.sdf") in msg and needle in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MapError, match="cannot read world file"):
        load_world(tmp_path / "nope.sdf")


def test_committed_worlds_load() -> None:
    yard = load_world(REPO / "sim/worlds/test_yard.sdf")
    assert yard.name == "test_yard" and len(yard.actors) == 1
    xmin, ymin, xmax, ymax = yard.bounds
    assert (xmin, ymin, xmax, ymax) == pytest.approx((-0.3, -0.3, 30.3, 30.3))
    # curb (4 cm) and overhead sign (2.2 m) are outside the sensing band
    assert not any("curb" in n or "sign" in n for n in yard.footprint_names)


def test_robot_model() -> None:
    m = load_robot_model(REPO / "sim/models/dawnbot/model.sdf")
    assert (m.footprint_length, m.footprint_width) == pytest.approx((1.0, 0.6))
    assert m.mass == pytest.approx(100.0)
    assert (m.max_speed, m.max_accel, m.max_decel, m.max_yaw_rate) == (1.5, 0.8, 2.0, 1.2)
    assert (m.wheel_separation, m.wheel_radius) == (0.5, 0.15)
    lid = m.lidar
    assert lid.samples == 360 and lid.rate_hz == 10.0 and lid.range_max == 25.0
    assert lid.min_angle == pytest.approx(-math.pi) and lid.max_angle == pytest.approx(
        math.pi - math.radians(1.0)
    )
    assert lid.noise_std == 0.02 and lid.mount_x == pytest.approx(0.3)
    assert m.imu.rate_hz == 100.0 and m.imu.gyro_noise_std == 0.002
    assert m.gnss.rate_hz == 5.0 and m.gnss.noise_std == 1.5
