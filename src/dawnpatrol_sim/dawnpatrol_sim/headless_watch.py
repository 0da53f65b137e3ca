"""The anomaly scenarios (sim/scenarios/anomaly_*.yaml) in lockstep, with no DDS: robots parked
or driving with the navigator, people scripted, every watching robot's anomaly monitor fed from
the engine (:class:`~dawnpatrol_sim.fleet_watch.HeadlessWatch`) and the fleet's incidents."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from dawnpatrol_core.anomaly.monitor import MonitorOutput, load_monitor_config
from dawnpatrol_core.anomaly.zones_adapter import district_zones
from dawnpatrol_core.control.causes import NavResult
from dawnpatrol_core.control.navigator import NavigatorCore
from dawnpatrol_core.control.navigator import Scan as RobotScan
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.localization.loop import LocalizationLoop
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.store.inbox import InboxRecord
from dawnpatrol_core.world import load_robot_model, load_world
from dawnpatrol_sim.engine import SimEngine
from dawnpatrol_sim.fleet_watch import HeadlessWatch, Received
from dawnpatrol_sim.headless_shift import (
    ShiftSettings,
    drive_tick,
    make_drive,
    make_localizer,
    read_sensors,
    robot_frame_scan,
)
from dawnpatrol_sim.scenario import load_scenario

__all__ = ["HeadlessWatch", "PatrolDrive", "Received", "WatchRun", "run_watch_scenario"]


# -- anomaly scenarios: robots parked or driving, people scripted, the fleet's incidents ----------
class PatrolDrive:
    """A robot driving between ``poses`` in turn, as on a patrol or a delivery: goal after goal,
    round and round, through the navigator node's goal runner (:func:`make_drive`: the
    navigator core, pose timeout, latency compensation and, with ``loop``, the localization
    gate) on params/navigator.yaml (``settings``). ``loop``: the robot's localization loop
    (its estimate is the pose the runner gets, its health gates the runner); None: ground
    truth."""

    def __init__(self, eng: SimEngine, robot_id: str, district: DistrictMap,
                 poses: Sequence[Pose2D], settings: ShiftSettings,
                 loop: LocalizationLoop | None = None) -> None:
        self.drive = make_drive(district, settings, loop is not None)
        self.eng, self.robot_id, self.poses, self.k = eng, robot_id, tuple(poses), 0
        self.loop = loop
        self.results: list[NavResult] = []  # how each goal ended, in turn
        self._scan: RobotScan | None = None
        self._scan_t = -math.inf

    @property
    def nav(self) -> NavigatorCore:
        """The navigator core under the goal runner."""
        return self.drive.nav

    def sense(self, now: float, pose: Pose2D) -> None:
        """After each engine step at ``now`` (s): the robot's ``pose`` (its localization
        estimate, or ground truth) and the step's scan, as the navigator node receives them."""
        self.drive.pose_in(pose, now, now)
        sc = self.eng.latest_scan(self.robot_id)
        if sc is not None:
            self._scan = robot_frame_scan(sc, self.eng.model.lidar.mount_x)
            self._scan_t = now

    def command(self, now: float) -> tuple[float, float]:
        """One control period at ``now`` (s): the goal runner's (v m/s, w rad/s), the next goal
        when the last one ended (reached, given up or refused)."""
        if not self.drive.active:
            if self.drive.last is not None:
                self.results.append(self.drive.last)
            self.drive.start(now, [self.poses[self.k % len(self.poses)]])
            self.k += 1
        scan = self._scan if now - self._scan_t < 0.5 else None
        return drive_tick(self.drive, self.loop, now, scan)


@dataclass(frozen=True, slots=True)
class WatchRun:
    """A finished anomaly scenario: clock ``start_s`` (s, local time since midnight) at engine
    time 0, ``duration_s`` run, what the fleet ``received``, the monitors' ``outputs`` (robot,
    clock s, output), the fleet's ``incidents`` at the end, ground truth ``first_in`` (person,
    zone) -> engine s of their first step into the zone, and the wall time."""

    name: str
    start_s: float
    duration_s: float
    received: tuple[Received, ...]
    outputs: tuple[tuple[str, float, MonitorOutput], ...]
    incidents: tuple[InboxRecord, ...]
    first_in: Mapping[tuple[str, str], float]
    wall_s: float


def run_watch_scenario(path: str | Path, maps_dir: str | Path, params_dir: str | Path,
                       localization: bool = False, duration_cap: float | None = None,
                       seed: int | None = None) -> WatchRun:
    """Run an anomaly scenario (``expectations.anomaly``: ``start_hour``, ``observers`` (or
    ``observer``; default the first robot), ``drive`` {robot: [v, w]} constant commands,
    ``patrol`` {robot: [[x, y, yaw], ...]} goals for the navigator) with the shipped monitor
    (``params_dir``/anomaly_monitor.yaml, hours on the scenario's local clock) and a fleet
    inbox. ``localization``: the watching robots see with their particle filter's pose (the
    localization node's loop), and a patrolling one drives on it, else with ground truth. A
    patrolling robot drives through the navigator node's goal runner (:class:`PatrolDrive`).
    ``seed`` replaces the scenario's (people's draws, sensor noise)."""
    scen = load_scenario(path)
    if seed is not None:
        scen = replace(scen, seed=seed)
    spec: Mapping[str, Any] = (scen.expectations or {}).get("anomaly") or {}
    model_path = scen.robot_model or Path(params_dir).parent / "sim/models/dawnbot/model.sdf"
    eng = SimEngine(load_world(scen.world), load_robot_model(model_path), scen)
    district = load_district_map(Path(maps_dir) / scen.world.stem)
    zones = district_zones(district)
    t0 = float(spec.get("start_hour", 1.0)) * 3600.0
    observers = [str(r) for r in spec.get("observers") or [spec.get("observer", scen.robots[0].id)]]
    drive = {str(k): (float(v[0]), float(v[1])) for k, v in (spec.get("drive") or {}).items()}
    settings = ShiftSettings.from_params(params_dir)
    locs = _localizers(eng, district, observers, settings) if localization else {}
    patrols = {str(k): PatrolDrive(eng, str(k), district, [Pose2D(*map(float, p)) for p in v],
                                   settings, locs.get(str(k)))
               for k, v in (spec.get("patrol") or {}).items()}
    for rid, pat in patrols.items():
        pat.sense(t0, eng.pose(rid))
    # the scenario clock is local time since midnight: no UTC offset
    config = replace(load_monitor_config(Path(params_dir) / "anomaly_monitor.yaml"),
                     utc_offset_s=0.0)
    watch = HeadlessWatch(eng, district, config, t0, observers, seed=scen.seed)
    places = ([(z.id, z.polygon) for z in zones.watch]
              + [(z.id, z.polygon) for z in zones.restricted])
    first_in: dict[tuple[str, str], float] = {}
    duration = scen.duration if duration_cap is None else min(scen.duration, duration_cap)
    wall0 = time.perf_counter()
    cmds: dict[str, tuple[float, float]] = {}
    while eng.now < duration - 1e-9:
        if round(eng.now / eng.dt) % 2 == 0:  # the navigator ticks at 10 Hz, as the node does
            cmds = {rid: drive.get(rid, (0.0, 0.0)) for rid in eng.robot_ids}
            for rid, pat in patrols.items():
                cmds[rid] = pat.command(t0 + eng.now)
        eng.step(cmds)
        names, xy, on = eng.people()
        for zid, geom in places:
            inside = shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) & on
            for i in np.flatnonzero(inside):
                first_in.setdefault((names[i], zid), eng.now)
        poses = None
        if locs:
            poses = {}
            for rid, loc in locs.items():
                poses[rid] = read_sensors(eng, rid, loc, t0 + eng.now)[0]
        for rid, pat in patrols.items():
            pat.sense(t0 + eng.now, poses[rid] if poses and rid in poses else eng.pose(rid))
        watch.step(poses, cmds)
    run = WatchRun(scen.name, t0, eng.now, tuple(watch.received), tuple(watch.outputs),
                   tuple(watch.inbox.incidents(limit=100_000)), first_in,
                   time.perf_counter() - wall0)
    watch.close()
    return run


def _localizers(eng: SimEngine, district: DistrictMap, robots: Sequence[str],
                settings: ShiftSettings) -> dict[str, LocalizationLoop]:
    """Each robot's particle filter as the localization node runs it (the params files)."""
    return {rid: make_localizer(district, settings, eng.pose(rid), np.random.default_rng(
        np.random.SeedSequence(eng.seed, spawn_key=(2, i)))) for i, rid in enumerate(robots)}
