"""The anomaly monitor's loop (core runner): params, the pose at a scan's time from localization
and odometry, a driving robot that watches a zone, incidents out of it, the outbox."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from disc_scan import scan_of

from dawnpatrol_core.anomaly.monitor import (
    AnomalyMonitor,
    MonitorConfig,
    load_monitor_config,
)
from dawnpatrol_core.anomaly.segmentation import seen_free
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.store.outbox import Outbox

REPO = Path(__file__).resolve().parents[3]
NIGHT = 1 * 3600.0  # 01:00 on a clock counting local seconds since midnight
PERSON = (8.0, 26.0, 0.25)  # in the test yard's watch corner (5-11 x 22-29.5)


@pytest.fixture(scope="module")
def yard() -> DistrictMap:
    return load_district_map(REPO / "maps" / "test_yard")


def monitor(yard: DistrictMap, **cfg: object) -> AnomalyMonitor:
    config = MonitorConfig.from_mapping({"utc_offset_s": 0.0, "loiter_time_s": 30.0, **cfg},
                                        "test")
    return AnomalyMonitor("r1", yard, config, np.random.default_rng(1), NIGHT)


def test_params_file_and_bad_values() -> None:
    cfg = load_monitor_config(REPO / "params" / "anomaly_monitor.yaml")
    assert cfg.map_tolerance_m == 0.3 and cfg.required_sensors == ("scan", "odom")
    with pytest.raises(ConfigError, match=r"p.yaml: field 'loiter_radius_m': got -1"):
        MonitorConfig.from_mapping({"loiter_radius_m": -1}, "p.yaml")
    with pytest.raises(ConfigError, match=r"p.yaml: field 'loiter_radius': got 3"):
        MonitorConfig.from_mapping({"loiter_radius": 3}, "p.yaml")
    with pytest.raises(ConfigError, match="field 'required_sensors'"):
        MonitorConfig(required_sensors=("scan", "gps"))
    with pytest.raises(ConfigError, match="field 'presence_gap_s'"):
        MonitorConfig(presence_gap_s=True)  # type: ignore[arg-type]


def test_pose_at_a_scan_carries_localization_forward_by_odometry(yard: DistrictMap) -> None:
    m = monitor(yard)
    assert m.pose_at(NIGHT) is None
    # odometry frame rotated and shifted against the map: only its motion may matter
    odom0 = Pose2D(-3.0, 7.0, 1.0)
    for k in range(11):
        step = Pose2D(0.1 * k, 0.0, 0.05 * k)
        m.on_odom(odom0.compose(step), NIGHT + 0.1 * k)
    m.on_pose(Pose2D(10.0, 18.0, 0.0), NIGHT)  # the estimate at the first odometry's stamp
    p = m.pose_at(NIGHT + 1.0)
    assert p is not None
    assert (p.x, p.y, p.theta) == pytest.approx((11.0, 18.0, 0.5), abs=1e-9)
    # no odometry near the estimate's stamp: the estimate as it is
    m.on_pose(Pose2D(2.0, 2.0, 0.0), NIGHT - 50.0)
    assert m.pose_at(NIGHT + 1.0) == Pose2D(2.0, 2.0, 0.0)


def test_seen_free_follows_the_beam_toward_each_point() -> None:
    pose = Pose2D(0.0, 0.0, 0.0)
    ranges, angles = scan_of(pose, [(5.0, 0.0, 0.3)])
    free = seen_free(ranges, angles, pose, [[3.0, 0.0], [8.0, 0.0], [0.0, 8.0], [0.0, 40.0]],
                     range_max=25.0)
    assert free.tolist() == [True, False, True, False]  # before, behind the disc, open, too far


def drive_past(m: AnomalyMonitor, seconds: float, person: bool = True,
               stale_pose_hz: float = 0.0, t0: float = NIGHT) -> list:  # type: ignore[type-arg]
    """The robot drives back and forth along y = 18 (x 3 .. 20, 1 m/s) south of the corner, a
    scan every 0.1 s; with ``stale_pose_hz`` the localization pose comes only that often and
    odometry (a frame of its own) carries it to each scan."""
    events = []
    odom0 = Pose2D(5.0, -2.0, 0.7)
    last_fix = -math.inf
    for k in range(int(seconds * 10)):
        t = t0 + 0.1 * k
        s = (0.1 * k) % 34.0
        x, heading = (3.0 + s, 0.0) if s < 17.0 else (20.0 - (s - 17.0), math.pi)
        truth = Pose2D(x, 18.0, heading)
        sensor = truth.compose(Pose2D(0.3, 0.0, 0.0))
        ranges, angles = scan_of(sensor, [PERSON] if person else [])
        if stale_pose_hz:
            m.on_odom(odom0.compose(truth), t)
            if t - last_fix >= 1.0 / stale_pose_hz:
                m.on_pose(truth, t)
                last_fix = t
            out = m.on_scan(ranges, angles, t)
        else:
            out = m.on_scan(ranges, angles, t, pose=truth)
        events += out.events
    return events


@pytest.mark.parametrize("stale_pose_hz", [0.0, 0.5])
def test_a_driving_robot_raises_the_loiterer_once(yard: DistrictMap, stale_pose_hz: float
                                                  ) -> None:
    m = monitor(yard)
    events = drive_past(m, 90.0, stale_pose_hz=stale_pose_hz)
    kinds = {(e.kind, e.zone) for e in events}
    assert kinds == {("loitering", "watch_yard_corner")}
    assert len({e.uuid for e in events}) == 1  # one incident, updated
    first = events[0]
    # first seen when the stay began (the person is there from the start), raised once it
    # had lasted the zone's 30 s
    assert first.first_seen == pytest.approx(NIGHT, abs=1.5)
    assert first.last_seen == pytest.approx(NIGHT + 30.0, abs=1.5)
    assert math.hypot(first.x - PERSON[0], first.y - PERSON[1]) < 0.5
    assert events[-1].count > first.count and events[-1].revision > 0


def test_a_lost_robot_judges_nothing_in_the_scene(yard: DistrictMap) -> None:
    m = monitor(yard)
    m.on_localization(True, NIGHT)
    assert drive_past(m, 60.0) == []  # the loiterer is there, but where is the robot?
    m.on_localization(False, NIGHT + 60.0)
    assert {e.kind for e in drive_past(m, 90.0, t0=NIGHT + 60.0)} == {"loitering"}


def test_nobody_there_nothing_raised_while_driving(yard: DistrictMap) -> None:
    assert drive_past(monitor(yard), 60.0, person=False) == []


def test_outbox_gets_every_event_and_incidents_close(yard: DistrictMap, tmp_path: Path
                                                     ) -> None:
    box = Outbox(tmp_path / "o.db")
    cfg = MonitorConfig(utc_offset_s=0.0, loiter_time_s=10.0, loitering_gap_s=20.0)
    m = AnomalyMonitor("r1", yard, cfg, np.random.default_rng(2), NIGHT, box)
    truth = Pose2D(8.0, 20.0, math.pi / 2)
    sensor = truth.compose(Pose2D(0.3, 0.0, 0.0))
    seen = []
    for k in range(200):
        ranges, angles = scan_of(sensor, [PERSON])
        seen += m.on_scan(ranges, angles, NIGHT + 0.1 * k, pose=truth).events
    assert seen and len(box) == 1 and m.open_incidents[0].uuid == seen[0].uuid
    assert all(-600.0 <= r[0] <= 0.0 for r in seen[-1].evidence.track)  # times relative
    empty, angles = scan_of(sensor, [])
    closed = ()
    for k in range(200, 600):
        closed += m.on_scan(empty, angles, NIGHT + 0.1 * k, pose=truth).closed
    assert [e.uuid for e in closed] == [seen[0].uuid] and m.open_incidents == ()
    box.close()


def test_health_faults_through_the_runner(yard: DistrictMap) -> None:
    m = monitor(yard, stale_s=1.0)
    m.on_battery(0.05, NIGHT)
    out = m.check_health(NIGHT + 3.0)
    assert {e.kind for e in out.events} >= {"battery_critical", "sensor_stale"}
    assert replace(out, events=()).closed == ()


def test_far_points_are_not_trusted_while_the_robot_turns(yard: DistrictMap) -> None:
    """Turning at 1 rad/s, a scan's pose a sweep off swings a point 9 m away by 0.9 m: far
    points then count for nothing (a car's corner would become an intruder)."""
    m = monitor(yard)
    far = (20.5, 9.5, 0.3)  # in the night-closed parking bay beside the car, 9 m away
    kinds: list[list[str]] = []
    for spin in (1.0, 0.0):
        got: list[str] = []
        for k in range(30 if spin else 80):  # standing still: past intrusion_time
            t = NIGHT + 10.0 * (spin == 0.0) + 0.1 * k
            pose = Pose2D(11.5, 8.5, spin * 0.1 * k)
            m.on_odom(pose, t)
            ranges, angles = scan_of(pose.compose(Pose2D(0.3, 0.0, 0.0)), [far])
            got += [e.kind for e in m.on_scan(ranges, angles, t, pose=pose).events]
        kinds.append(got)
    assert kinds[0] == [] and "intrusion" in kinds[1]
