"""The lockstep engine: lidar, arcs, contacts, actors, faults and determinism."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.world import load_robot_model, load_world
from dawnpatrol_sim.engine import SimEngine
from dawnpatrol_sim.engine.raycast import boxes_to_segments
from dawnpatrol_sim.engine.social import SocialParams
from dawnpatrol_sim.scenario import (
    FaultSpec,
    ObstacleSpec,
    PersonSpec,
    RobotStart,
    Scenario,
    load_scenario,
)

ROOT = Path(__file__).resolve().parents[3]
YARD = ROOT / "sim/worlds/test_yard.sdf"
MODEL = load_robot_model(ROOT / "sim/models/dawnbot/model.sdf")


def open_world(segments: np.ndarray | None = None, circles: np.ndarray | None = None) -> Any:
    return SimpleNamespace(
        name="open",
        segments=np.zeros((0, 4)) if segments is None else segments,
        circles=np.zeros((0, 3)) if circles is None else circles,
        footprints=(),
        actors=(),
        bounds=(-100.0, -100.0, 100.0, 100.0),
    )


def scenario(*robots: tuple[str, float, float, float], **kw: object) -> Scenario:
    rs = tuple(RobotStart(r, Pose2D(x, y, th)) for r, x, y, th in robots)
    return Scenario(name="t", world=Path("none"), robots=rs, **kw)  # type: ignore[arg-type]


def run(e: SimEngine, seconds: float, cmds: dict[str, tuple[float, float]]) -> None:
    for _ in range(int(round(seconds / e.dt))):
        e.step(cmds)


def test_lidar_sees_box_and_cylinder_at_analytic_ranges_within_noise() -> None:
    box = boxes_to_segments(np.array([[10.0, 0.0, 2.0, 4.0, 0.0]]))  # face at x = 9
    world = open_world(box, np.array([[0.0, -6.0, 0.5]]))  # cylinder 6 m to the right
    e = SimEngine(world, MODEL, scenario(("r1", 0.0, 0.0, 0.0)), seed=3)
    run(e, 0.1, {})
    scan = e.sensors("r1").scan
    assert scan is not None
    lx = MODEL.lidar.mount_x
    ang = scan.angle_min + np.arange(scan.ranges.shape[0]) * scan.angle_increment
    face = np.abs(np.tan(ang) * (9.0 - lx)) < 1.9
    face &= np.cos(ang) > 0
    want_box = (9.0 - lx) / np.cos(ang[face])
    got_box = scan.ranges[face]
    ok = np.isfinite(got_box)  # dropouts are +inf
    assert ok.sum() >= face.sum() - 2
    sigma = MODEL.lidar.noise_std
    assert np.max(np.abs(got_box[ok] - want_box[ok])) < 5 * sigma
    # cylinder: beam straight at its centre from the sensor at (lx, 0)
    k = int(np.argmin(np.abs(ang - math.atan2(-6.0, -lx))))
    want_cyl = math.hypot(lx, 6.0) - 0.5
    assert abs(scan.ranges[k] - want_cyl) < 5 * sigma + 0.01
    assert np.isposinf(scan.ranges[~face & (np.abs(ang - math.atan2(-6.0, -lx)) > 0.2)]).all()


def test_fixed_cmd_vel_follows_kinematic_arc() -> None:
    e = SimEngine(open_world(), MODEL, scenario(("r1", 1.0, 2.0, 0.3)), seed=1)
    v, w = 0.8, 0.4
    run(e, 3.0, {"r1": (v, w)})  # speed up to the command
    centres = []
    for _ in range(100):
        e.step({"r1": (v, w)})
        p = e.pose("r1")
        r = v / w
        centres.append((p.x - r * math.sin(p.theta), p.y + r * math.cos(p.theta)))
    c = np.array(centres)
    np.testing.assert_allclose(c, np.repeat(c[:1], len(c), axis=0), atol=1e-9)
    gt = e.sensors("r1").truth
    assert (gt.v, gt.w) == pytest.approx((v, w))


def test_collision_is_recorded_and_stops_the_robot() -> None:
    box = boxes_to_segments(np.array([[6.0, 0.0, 2.0, 4.0, 0.0]]))  # face at x = 5
    e = SimEngine(open_world(box), MODEL, scenario(("r1", 0.0, 0.0, 0.0)), seed=1)
    run(e, 12.0, {"r1": (1.0, 0.0)})
    assert len(e.contacts) == 1
    c = e.contacts[0]
    assert (c.robot, c.what) == ("r1", "static")
    p = e.pose("r1")
    assert p.x + MODEL.footprint_length / 2 <= 5.0
    assert p.x + MODEL.footprint_length / 2 > 5.0 - 0.1  # stopped at the wall, not before
    f = e.sensors("r1")
    assert f.in_contact and f.truth.v == 0.0
    run(e, 2.0, {"r1": (-0.5, 0.0)})  # backing off is allowed
    assert e.pose("r1").x < p.x - 0.3


def test_scripted_person_walking_into_a_standing_robot_is_a_contact_by_the_person() -> None:
    # a script played blind (as Gazebo's actors move; by default scripted people wait instead)
    walker = PersonSpec("pat", "walker", waypoints=((5.0, 0.0), (-5.0, 0.0)), speed=1.0,
                        react=False)
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), people=(walker,)), seed=1,
                  social=SocialParams(scripted_wait=False))
    run(e, 6.0, {})
    assert [(c.robot, c.what, c.by) for c in e.contacts] == [("r1", "person:pat", "person")]
    assert e.contacts[0].time == pytest.approx(5.0 - 0.5 - 0.3, abs=0.06)


def test_robot_driving_into_a_standing_person_is_a_contact_by_the_robot() -> None:
    stander = PersonSpec("sam", "walker", waypoints=((3.0, 0.0),), speed=1.0, react=False)
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), people=(stander,)), seed=1)
    run(e, 5.0, {"r1": (1.0, 0.0)})
    assert [(c.what, c.by) for c in e.contacts] == [("person:sam", "robot")]


def test_reacting_walker_steps_round_a_standing_robot_and_walks_on() -> None:
    walker = PersonSpec("pat", "walker", waypoints=((8.0, 0.0), (-8.0, 0.0)), speed=1.3)
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), people=(walker,)), seed=1)
    least = math.inf
    for _ in range(int(20.0 / e.dt)):
        e.step({})
        _, xy, _ = e.people()
        least = min(least, math.hypot(*xy[0]))
    assert e.contacts == []
    assert least > 0.3 + 0.3  # kept clear of the footprint's sides (half width 0.3 m)
    _, xy, _ = e.people()
    assert xy[0] == pytest.approx((-8.0, 0.0), abs=0.3)  # back on the path, at its end


def test_reacting_walker_passes_a_robot_on_the_side_it_is_already_on() -> None:
    """A robot standing across the sidewalk, the walker's path brushing its left flank: the walker
    passes on the left. Stepping right, as a head-on encounter would, slid them along the robot's
    flat side to its middle, where they stood for good."""
    walker = PersonSpec("pat", "walker", waypoints=((-8.0, 0.6), (8.0, 0.6)), speed=1.3)
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, -math.pi / 2),
                                                people=(walker,)), seed=1)
    for _ in range(int(20.0 / e.dt)):
        e.step({})
    _, xy, _ = e.people()
    assert xy[0] == pytest.approx((8.0, 0.6), abs=0.3)
    assert e.contacts == []


def test_reacting_walkers_pass_each_other_head_on() -> None:
    a = PersonSpec("a", "walker", waypoints=((-6.0, 0.0), (6.0, 0.0)), speed=1.3)
    b = PersonSpec("b", "walker", waypoints=((6.0, 0.0), (-6.0, 0.0)), speed=1.3)
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 50.0, 0.0), people=(a, b)), seed=1)
    least = math.inf
    for _ in range(int(16.0 / e.dt)):
        e.step({})
        _, xy, _ = e.people()
        least = min(least, float(np.hypot(*(xy[0] - xy[1]))))
        # each keeps to their right: a (walking +x) passes below, b (walking -x) above
    assert least > 2 * 0.3
    _, xy, _ = e.people()
    assert xy[0] == pytest.approx((6.0, 0.0), abs=0.3)
    assert xy[1] == pytest.approx((-6.0, 0.0), abs=0.3)


def test_reacting_walkers_on_two_point_loops_turn_round_and_walk_back() -> None:
    """A looped two-point path is walked out and back; at each end the path folds onto itself,
    and the walker must take the way back rather than stand at the fold. In the north alley's
    passers-by scenario both walkers once stood 1 m short of their far ends for good (a person
    lingering in a watch zone that nobody scripted, reported as loitering)."""
    scen = load_scenario(ROOT / "sim/scenarios/anomaly_suwon_alley_passersby.yaml")
    scen = replace(scen, people=tuple(p for p in scen.people if p.type == "walker"),
                   faults=())
    e = SimEngine(load_world(scen.world), MODEL, scen)
    ys = []
    for _ in range(int(110.0 / e.dt)):
        e.step({})
        ys.append(e.people()[1][:, 1].copy())
    y = np.array(ys)  # (T, 2): north_bound, south_bound
    for k in range(2):  # 45 m a leg at 1.3-1.5 m/s: at least up, down, up through the middle
        crossings = int(np.count_nonzero(np.diff(np.sign(y[:, k] - 172.5)) != 0))
        assert crossings >= 3, (k, crossings, y[::200, k].round(1).tolist())


@pytest.mark.parametrize(("at", "side", "home"), [(3.0, -1.0, -8.0), (12.0, 1.0, 20.0)])
def test_a_walker_at_something_dumped_across_an_alley_turns_back_and_leaves(
        at: float, side: float, home: float) -> None:
    """A 2.5 m alley (walls at y = +-1.25) with furniture across it from ``at`` s: the walker on
    a loop through it (out to x = 20 and back) stops at it (never walks through), then turns
    back and leaves at the corner they came round: the start when it blocks the way out, the
    far end when it blocks the way back. Walkers once walked through the furniture, or stood
    at it for good, and a robot reported them loitering there (crime bench: every false
    alert of 18 seeds; then a walker turned back on the way back and met it again)."""
    walls = np.array([[-40.0, 1.25, 40.0, 1.25], [-40.0, -1.25, 40.0, -1.25]])
    walker = PersonSpec("pat", "walker", waypoints=((-8.0, 0.0), (20.0, 0.0)), loop=True,
                        speed=1.3)
    sofa = ObstacleSpec("sofa", at, (0.0, 0.0), (1.2, 2.6))
    e = SimEngine(open_world(walls), MODEL, scenario(("r1", 30.0, 30.0, 0.0), people=(walker,),
                                                     obstacles=(sofa,)), seed=2)
    xs, ons = [], []
    for _ in range(int(90.0 / e.dt)):
        e.step({})
        _, xy, on = e.people()
        xs.append(float(xy[0, 0]))
        ons.append(bool(on[0]))
    x, present = np.array(xs), np.array(ons)
    t = np.arange(x.size) * e.dt
    after = present & (t > at)
    face = 0.6 * side  # the furniture's side the walker meets
    assert (side * x[after]).min() > abs(face) + 0.05  # a soft body, but never into it
    stood = after & (np.abs(x - face) < 2.0)
    assert 25.0 <= stood.sum() * e.dt <= 40.0  # stood there about give_up_s (30 s), then went
    assert np.median(np.abs(x[stood])) > abs(face) + 0.25
    assert not present[-1]  # at the corner, and gone
    last = int(np.flatnonzero(present)[-1])
    assert x[last] == pytest.approx(home, abs=2.5)  # its path progress runs ahead of it


@pytest.mark.parametrize("kind", ["walker", "loiterer"])
def test_a_scripted_person_stands_aside_for_a_robot_instead_of_walking_into_it(
        kind: str) -> None:
    """A scripted walker (``react: false``) whose path runs through a parked robot, and a
    scripted loiterer wandering round the spot a robot watches from: neither walks into the
    robot (they used to: 3 contacts a demo by the park loiterer). The walker stands beside it
    while its script runs through, then goes on on time — never stuck there for good."""
    if kind == "walker":
        person = PersonSpec("pat", "walker", waypoints=((-10.0, 0.0), (10.0, 0.0)), speed=1.3,
                            react=False)
    else:
        person = PersonSpec("lo", "loiterer", center=(0.0, 0.0), radius=3.0, start=0.0,
                            duration=600.0)
    at = 0.0 if kind == "walker" else 1.5  # the loiterer sets off from the centre
    e = SimEngine(open_world(), MODEL, scenario(("r1", at, 0.0, math.pi / 2),
                                                people=(person,)), seed=4)
    xs = []
    for _ in range(int((300.0 if kind == "loiterer" else 12.0) / e.dt)):
        e.step({})
        xs.append(float(e.people()[1][0, 0]))
    assert e.contacts == []
    if kind == "walker":
        x = np.array(xs)
        assert np.any(np.diff(x) == 0.0)  # it stood for a moment
        assert x[-1] == pytest.approx(-10.0 + 1.3 * 12.0, abs=0.1)  # and is on time again


def test_a_queue_due_round_a_standing_robot_forms_once_it_has_room() -> None:
    """A bus-stop queue (4 people on a 0.8 m ring) due while a robot stands on its centre: the
    two due in front of and behind it (the footprint's long axis) wait; the robot is not hemmed
    in and drives off; then the queue is whole. (It appeared round the robot watching the stop
    and held it there for the queue's hour: crime bench seed 7.)"""
    queue = PersonSpec("q", "waiting", center=(0.0, 0.0), count=4, start=1.0, end=1e9)
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), people=(queue,)), seed=1)
    run(e, 5.0, {})
    _, xy, on = e.people()
    assert int(on.sum()) == 2 and np.all(np.abs(xy[on, 1]) > 0.7)  # the two at its sides
    run(e, 4.0, {"r1": (0.8, 0.0)})
    run(e, 1.0, {})
    assert e.pose("r1").x > 2.5  # out of the ring
    assert int(e.people()[2].sum()) == 4
    assert e.contacts == []


def test_reacting_crowd_is_deterministic_for_a_seed_and_speeds_are_drawn() -> None:
    people = tuple(
        PersonSpec(f"p{k}", "walker", waypoints=((-10.0, 0.3 * k), (10.0, -0.3 * k)), loop=True)
        for k in range(8)
    )

    def trace(seed: int) -> np.ndarray:
        e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), people=people,
                                                    seed=seed))
        run(e, 10.0, {"r1": (0.8, 0.1)})
        return e.people()[1]

    np.testing.assert_array_equal(trace(3), trace(3))
    assert not np.allclose(trace(3), trace(4))
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), people=people, seed=3))
    v0 = e.social.desired_speeds
    assert v0.shape == (8,) and len(set(v0.round(6).tolist())) == 8
    assert (v0 >= 0.7).all() and (v0 <= 2.0).all()


def test_actor_matches_sdf_trajectory_at_waypoint_times() -> None:
    world = load_world(YARD)
    actor = world.actors[0]
    e = SimEngine(world, MODEL, scenario(("r1", 5.0, 20.0, 0.0)), seed=0)
    k = e.crowd.names.index(actor.name)
    for wp in actor.waypoints:
        xy, on = e.crowd.positions(actor.delay_start + wp.t - actor.waypoints[0].t)
        assert on[k]
        assert xy[k] == pytest.approx((wp.x, wp.y), abs=1e-9)
    for t in np.linspace(0.0, 3 * actor.duration + 7.0, 97):
        xy, _ = e.crowd.positions(float(t))
        assert tuple(xy[k]) == pytest.approx(actor.position_at(float(t))[:2], abs=1e-9)


def _trace(seed: int) -> tuple[np.ndarray, ...]:
    sc = load_scenario(ROOT / "sim/scenarios/test_yard_basic.yaml")
    e = SimEngine(load_world(sc.world), MODEL, sc, seed=seed)
    scans, odo, gnss = [], [], []
    for _ in range(60):
        e.step({"r1": (0.6, 0.2), "r2": (0.9, -0.1)})
        f = e.sensors("r1")
        if f.scan is not None:
            scans.append(f.scan.ranges)
        assert f.odom is not None
        odo.append((f.odom.x, f.odom.y, f.odom.theta))
        g = e.sensors("r2").gnss
        if g is not None:
            gnss.append((g.x, g.y))
    return np.array(scans), np.array(odo), np.array(gnss), e.people()[1]


def test_same_seed_same_run_and_other_seed_differs() -> None:
    a, b, c = _trace(11), _trace(11), _trace(12)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[1], c[1])


def test_faults_dropout_slip_link_kidnap_battery() -> None:
    faults = (
        FaultSpec("lidar_dropout", "r1", 1.0, 2.0),
        FaultSpec("gnss_dropout", "r1", 1.0, 2.0),
        FaultSpec("odom_dropout", "r1", 1.0, 2.0),
        FaultSpec("link_loss", "r1", 1.0, 2.0),
        FaultSpec("kidnap", "r1", 3.0, pose=Pose2D(20.0, -10.0, 1.0)),
        FaultSpec("battery_drop", "r1", 3.0, drop=0.25),
    )
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), faults=faults), seed=2)
    seen: dict[str, int] = {"scan": 0, "gnss": 0, "odom": 0}
    while e.now < 2.0 - 1e-9:
        e.step({"r1": (0.5, 0.0)})
        f = e.sensors("r1")
        if 1.0 - 1e-9 < e.now < 2.0 - 1e-9:
            assert not e.link_up("r1")
            seen["scan"] += f.scan is not None
            seen["gnss"] += f.gnss is not None
            seen["odom"] += f.odom is not None
    assert seen == {"scan": 0, "gnss": 0, "odom": 0}
    assert e.link_up("r1", 2.5) and e.link_up("r1", 0.5)
    soc_before = e.sensors("r1").battery.soc
    run(e, 1.0, {"r1": (0.5, 0.0)})
    assert e.pose("r1").as_tuple() == pytest.approx((20.0, -10.0, 1.0))
    assert e.sensors("r1").battery.soc == pytest.approx(soc_before - 0.25, abs=0.01)


def test_wheel_slip_makes_odometry_overestimate() -> None:
    sc = scenario(("r1", 0.0, 0.0, 0.0), faults=(FaultSpec("wheel_slip", "r1", 0.0, 10.0, 0.5),))
    e = SimEngine(open_world(), MODEL, sc, seed=5)
    run(e, 10.0, {"r1": (1.0, 0.0)})
    odom = e.sensors("r1").odom
    assert odom is not None
    assert e.pose("r1").x == pytest.approx(odom.x / 2.0, rel=0.05)


def test_odometry_drifts_but_stays_close_without_faults() -> None:
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0)), seed=9)
    run(e, 30.0, {"r1": (1.0, 0.1)})
    odom = e.sensors("r1").odom
    truth = e.pose("r1")
    assert odom is not None
    err = math.hypot(odom.x - truth.x, odom.y - truth.y)
    assert 0.0 < err < 0.05 * 30.0


def test_gnss_noise_grows_near_buildings() -> None:
    bldg = boxes_to_segments(np.array([[0.0, 0.0, 20.0, 20.0, 0.0]]))
    from shapely.geometry import box as sbox

    world: Any = SimpleNamespace(
        segments=bldg,
        circles=np.zeros((0, 3)),
        footprints=(sbox(-10, -10, 10, 10),),
        actors=(),
        bounds=(-100.0, -100.0, 100.0, 100.0),
    )
    e = SimEngine(
        world,
        MODEL,
        scenario(("near", 11.0, 0.0, 0.0), ("far", 80.0, 80.0, 0.0)),
        seed=4,
    )
    run(e, 1.0, {})
    near, far = e.sensors("near").gnss, e.sensors("far").gnss
    assert near is not None and far is not None
    assert far.std == pytest.approx(MODEL.gnss.noise_std)
    assert near.std > 2.0 * far.std


def test_battery_drains_with_time_and_distance() -> None:
    e = SimEngine(open_world(), MODEL, scenario(("a", 0, 0, 0), ("b", 0, 10, 0)), seed=0)
    run(e, 60.0, {"b": (1.0, 0.0)})
    bp = e.battery_params
    ea, eb = e.sensors("a").battery.energy_wh, e.sensors("b").battery.energy_wh
    assert bp.capacity_wh - ea == pytest.approx(bp.idle_w * 60 / 3600)
    assert ea - eb == pytest.approx(bp.drive_wh_per_m * e.pose("b").x, rel=1e-6)


def test_blocked_sidewalk_appears_at_its_time() -> None:
    from dawnpatrol_sim.scenario import ObstacleSpec

    cones = ObstacleSpec("cones", at=5.0, center=(6.0, 0.0), size=(0.5, 3.0))
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), obstacles=(cones,)), seed=1)
    run(e, 0.1, {})
    scan = e.sensors("r1").scan
    assert scan is not None and np.isinf(scan.ranges[180])
    run(e, 5.0, {})
    scan = e.sensors("r1").scan
    assert scan is not None
    assert abs(scan.ranges[180] - (5.75 - MODEL.lidar.mount_x)) < 5 * MODEL.lidar.noise_std
    run(e, 10.0, {"r1": (1.0, 0.0)})
    assert [c.what for c in e.contacts] == ["obstacle:cones"]


@pytest.mark.parametrize("react", [True, False])
def test_a_walker_appears_when_it_sets_off(react: bool) -> None:
    # a walker starting at 30 s is nowhere before: not standing at its first point till then
    walker = PersonSpec("late", "walker", waypoints=((5.0, 3.0), (5.0, 20.0)), speed=1.3,
                        start=30.0, react=react)
    e = SimEngine(open_world(), MODEL, scenario(("r1", 0.0, 0.0, 0.0), people=(walker,)), seed=1)
    run(e, 29.0, {})
    _, _, on = e.people()
    assert not on[0]
    scan = e.sensors("r1").scan
    assert scan is not None and np.isinf(scan.ranges).all()  # nothing to see in the open
    run(e, 5.0, {})
    _, xy, on = e.people()
    assert on[0] and xy[0][1] > 4.0  # on its way


def test_lidar_in_the_sdf_test_yard_sees_the_crate_face() -> None:
    # crate_a: a 2 m x 1 m box at (10, 10); its west face is x = 9
    sc = scenario(("r1", 5.0, 10.0, 0.0), world_actors=False)
    e = SimEngine(load_world(YARD), MODEL, sc, seed=8)
    run(e, 0.1, {})
    scan = e.sensors("r1").scan
    assert scan is not None
    k = int(round(-scan.angle_min / scan.angle_increment))  # the beam straight ahead
    ang = scan.angle_min + k * scan.angle_increment
    want = (9.0 - 5.0 - MODEL.lidar.mount_x) / math.cos(ang)
    assert abs(scan.ranges[k] - want) < 5 * MODEL.lidar.noise_std
