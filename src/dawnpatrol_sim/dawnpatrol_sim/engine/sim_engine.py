"""The headless lockstep simulator: robots, people, obstacles and faults stepped with a fixed dt.

Deterministic for a given seed: every robot's lidar, odometry, IMU and GNSS draw from their own
``numpy.random.Generator`` spawned from the seed, so adding a robot does not change the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.world import Actor, RobotModel, World
from dawnpatrol_sim.engine.collision import (
    ClearanceGrid,
    circles_hit_rectangle,
    rectangle_segments,
    segments_hit_rectangle,
)
from dawnpatrol_sim.engine.drive import DriveLimits, integrate_arc, limit_velocity
from dawnpatrol_sim.engine.people import (
    PERSON_RADIUS,
    Crowd,
    PersonTrack,
    loiter_track,
    polyline_track,
    waiting_group,
)
from dawnpatrol_sim.engine.raycast import boxes_to_segments, cast_scans, segments_in_box
from dawnpatrol_sim.engine.readings import (
    BatteryReading,
    Contact,
    GnssFix,
    GroundTruth,
    ImuReading,
    OdomReading,
    Scan,
    SensorFrame,
)
from dawnpatrol_sim.engine.sensors import (
    BatteryParams,
    NoiseParams,
    SkyBlockage,
    battery_voltage,
    noisy_ranges,
)
from dawnpatrol_sim.engine.social import SocialCrowd, SocialParams, walking_speeds
from dawnpatrol_sim.scenario import Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_LIDAR_CELL = 5.0  # m, candidate lists for the lidar are cached per cell of this size
_CONTACT_CELL = 1.0  # m, same for contact tests


def actor_track(actor: Actor) -> PersonTrack:
    """An SDF actor's trajectory as a person track (same timing as ``Actor.position_at``)."""
    wps = list(actor.waypoints)
    t = np.array([w.t for w in wps], dtype=np.float64)
    xy = np.array([[w.x, w.y] for w in wps], dtype=np.float64)
    return PersonTrack(actor.name, "actor", t - t[0], xy, float(actor.delay_start), actor.loop)


class SimEngine:
    """Steps every robot and person by ``dt`` s per call to :meth:`step`.

    Per step and robot: odometry and IMU every step, lidar and GNSS at their model rates (first
    reading at t = 0 + one period), battery and ground truth always. Read them with
    :meth:`sensors`; contacts accumulate in :attr:`contacts`.
    """

    def __init__(
        self,
        world: World,
        robot_model: RobotModel,
        scenario: Scenario,
        seed: int | None = None,
        dt: float = 0.05,
        noise: NoiseParams | None = None,
        battery: BatteryParams | None = None,
        social: SocialParams | None = None,
    ) -> None:
        self.world, self.model, self.scenario = world, robot_model, scenario
        self.dt = float(dt)
        self.noise = noise or NoiseParams()
        self.battery_params = battery or BatteryParams()
        self.seed = scenario.seed if seed is None else int(seed)
        self.robot_ids = tuple(r.id for r in scenario.robots)
        self._index = {rid: i for i, rid in enumerate(self.robot_ids)}
        n = len(self.robot_ids)
        self._step = 0
        self.now = 0.0
        m = robot_model
        self._hl, self._hw = m.footprint_length / 2.0, m.footprint_width / 2.0
        self.limits = DriveLimits(
            m.max_speed, m.max_yaw_rate, m.max_accel, 2.0 * m.max_accel / m.wheel_separation,
            max_decel=m.max_decel,
        )
        lid = m.lidar
        self._n_beams = int(lid.samples)
        self._amin = float(lid.min_angle)
        amax = float(lid.max_angle)
        self._ainc = (amax - self._amin) / max(self._n_beams - 1, 1)
        self._rmin = float(lid.range_min)
        self._rmax = float(lid.range_max)
        self._lidar_std = float(lid.noise_std)
        self._mount = float(lid.mount_x)
        self._lidar_period = 1.0 / float(lid.rate_hz)
        self._gyro_std = float(m.imu.gyro_noise_std)
        self._gnss_period = 1.0 / float(m.gnss.rate_hz)
        self._gnss_std = float(m.gnss.noise_std)
        self._next_scan = self._lidar_period
        self._next_gnss = self._gnss_period

        self._segs = np.asarray(world.segments, dtype=np.float64).reshape(-1, 4)
        self._circs = np.asarray(world.circles, dtype=np.float64).reshape(-1, 3)
        self._cache: dict[tuple[int, int, int], tuple[FloatArray, FloatArray]] = {}
        self._clearance = ClearanceGrid(self._segs, self._circs, world.bounds)
        self._sky = SkyBlockage(world.footprints, world.bounds, self.noise.gnss_block_radius)

        # robots: true state, odometry state, battery
        st = np.array([r.start.as_tuple() for r in scenario.robots], dtype=np.float64).reshape(
            -1, 3
        )
        self._x, self._y, self._th = st[:, 0].copy(), st[:, 1].copy(), st[:, 2].copy()
        self._v, self._w = np.zeros(n), np.zeros(n)
        self._av, self._aw = np.zeros(n), np.zeros(n)  # actual (after slip and contacts)
        self._odo = np.zeros((n, 3))
        self._odo_v, self._odo_w = np.zeros(n), np.zeros(n)
        self._energy = np.full(n, self.battery_params.capacity_wh)
        self._in_contact = np.zeros(n, dtype=bool)
        # robot i's streams come from spawn key (1, i): the same whatever the number of robots
        robot_seqs = [np.random.SeedSequence(self.seed, spawn_key=(1, i)) for i in range(n)]
        self._rng_lidar, self._rng_odom, self._rng_imu, self._rng_gnss = [], [], [], []
        for seq in robot_seqs:
            a, b, c, d = (np.random.default_rng(s) for s in seq.spawn(4))
            self._rng_lidar.append(a)
            self._rng_odom.append(b)
            self._rng_imu.append(c)
            self._rng_gnss.append(d)
        self._odo_scale = np.array(
            [
                1.0
                + r.normal(0.0, self.noise.odom_scale_std)
                + np.array([-1.0, 1.0]) * r.normal(0.0, self.noise.odom_diff_std)
                for r in self._rng_odom
            ]
        ).reshape(n, 2)
        self._gyro_bias = np.array([r.normal(0.0, self.noise.gyro_bias_std) for r in self._rng_imu])
        self._world_rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0,)))
        self._pool = np.zeros((n, 3, 0))  # per-step normals: odom left/right, gyro
        self._pool_k = 0

        tracks, react, speeds = self._people_tracks()
        self.social = SocialCrowd(tracks, react, speeds, self._clearance, social)
        self.crowd: Crowd = self.social.scripted  # the scripts, evaluated at any time
        self._names = np.array(self.crowd.names, dtype=object)
        self._people_xy, self._people_on = self.social.positions()
        self._obstacles = [
            (o, boxes_to_segments(np.array([[*o.center, *o.size, o.yaw]])))
            for o in scenario.obstacles
        ]
        self._faults = scenario.faults
        self.contacts: list[Contact] = []
        self._last_touch: dict[tuple[int, str], float] = {}
        self._scan: list[Scan | None] = [None] * n
        self._gnss: list[GnssFix | None] = [None] * n
        self._odom_ok = np.ones(n, dtype=bool)
        self._imu = np.zeros(n)
        self._normals = np.zeros((n, 3))

    # ----------------------------------------------------------------------------- set-up
    def _people_tracks(self) -> tuple[list[PersonTrack], list[bool], list[float]]:
        """Every person's track, whether they react (social forces) and their desired speed.

        Speeds not given in the scenario are drawn, for the people who react, from the
        walking-speed distribution with a generator of their own (spawn key 2, so loiterers'
        draws stay as they were); scripted people keep the old 1.3 m/s.
        """
        tracks: list[PersonTrack] = []
        react: list[bool] = []
        speeds: list[float] = []
        speed_rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(2,)))
        if self.scenario.world_actors:
            for a in self.world.actors:
                if not list(a.waypoints):
                    continue
                tr = actor_track(a)
                tracks.append(tr)
                react.append(self.scenario.actors_react)
                seg = np.hypot(*np.diff(tr.xy, axis=0).T).sum() if len(tr.xy) > 1 else 0.0
                speeds.append(float(seg / tr.times[-1]) if tr.times[-1] > 0 else 1.3)
        for p in self.scenario.people:
            pts = np.array(p.waypoints, dtype=np.float64).reshape(-1, 2)
            reacts = p.reacts and p.type in ("walker", "intruder")
            if math.isfinite(p.speed):
                speed = p.speed
            else:  # not given: a reacting person's own pace, a scripted one's 1.3 m/s
                speed = float(walking_speeds(speed_rng, 1)[0]) if reacts else 1.3
            before = len(tracks)
            if p.type == "walker":
                # appears when it sets off: standing unseen-of at its first point until then
                # (for an hour, in a bench shift) made a stranger lingering in an alley
                tracks.append(polyline_track(p.name, "walker", pts, speed, p.start, p.loop,
                                             p.start))
            elif p.type == "intruder":
                dwell = p.dwell if math.isfinite(p.dwell) else 0.0
                tr = polyline_track(
                    p.name,
                    "intruder",
                    pts,
                    speed,
                    p.start,
                    False,
                    p.start,
                    math.inf,
                    dwell_end=dwell,
                )
                if math.isfinite(p.dwell):
                    tr = PersonTrack(
                        tr.name,
                        tr.kind,
                        tr.times,
                        tr.xy,
                        tr.start,
                        False,
                        p.start,
                        p.start + float(tr.times[-1]),
                    )
                tracks.append(tr)
            elif p.type == "loiterer":
                tracks.append(
                    loiter_track(p.name, p.center, p.radius, p.start, p.duration, self._world_rng)
                )
            else:
                tracks += waiting_group(p.name, p.center, p.count, p.start, p.end)
            added = len(tracks) - before
            react += [reacts] * added
            speeds += [speed] * added
        return tracks, react, speeds

    def _candidates(self, x: float, y: float, lidar: bool) -> tuple[FloatArray, FloatArray]:
        """Static segments and circles that may matter near (x, y): cached per grid cell."""
        cell = _LIDAR_CELL if lidar else _CONTACT_CELL
        ix, iy = int(math.floor(x / cell)), int(math.floor(y / cell))
        key = (ix, iy, 1 if lidar else 0)
        hit = self._cache.get(key)
        if hit is None:
            margin = self._rmax + 0.01 if lidar else math.hypot(self._hl, self._hw) + 0.5
            x0, y0 = ix * cell - margin, iy * cell - margin
            x1, y1 = (ix + 1) * cell + margin, (iy + 1) * cell + margin
            segs = self._segs[segments_in_box(self._segs, x0, y0, x1, y1)]
            c = self._circs
            keep = (
                (c[:, 0] + c[:, 2] >= x0)
                & (c[:, 0] - c[:, 2] <= x1)
                & (c[:, 1] + c[:, 2] >= y0)
                & (c[:, 1] - c[:, 2] <= y1)
            )
            hit = (np.ascontiguousarray(segs), np.ascontiguousarray(c[keep]))
            self._cache[key] = hit
        return hit

    # ----------------------------------------------------------------------------- queries
    def _i(self, robot_id: str) -> int:
        try:
            return self._index[robot_id]
        except KeyError:
            raise KeyError(
                f"unknown robot {robot_id!r}; robots: {', '.join(self.robot_ids)}"
            ) from None

    def _fault_active(self, kind: str, i: int, t: float) -> float | None:
        rid = self.robot_ids[i]
        for f in self._faults:
            if f.type == kind and f.robot == rid and f.start <= t < f.end:
                return f.slip
        return None

    def link_up(self, robot_id: str, t: float | None = None) -> bool:
        """False while a link_loss fault covers time ``t`` (s; default now) for the robot."""
        return (
            self._fault_active("link_loss", self._i(robot_id), self.now if t is None else t) is None
        )

    def pose(self, robot_id: str) -> Pose2D:
        """True pose of the robot (m, rad)."""
        i = self._i(robot_id)
        return Pose2D(float(self._x[i]), float(self._y[i]), float(self._th[i]))

    def people(self) -> tuple[tuple[str, ...], FloatArray, npt.NDArray[np.bool_]]:
        """Names, positions (P,2) m and presence mask (P,) of all people now."""
        return self.crowd.names, self._people_xy.copy(), self._people_on.copy()

    def obstacle_boxes(self) -> list[tuple[str, tuple[float, float], tuple[float, float], float]]:
        """Scenario obstacles present now: (name, center m, size m, yaw rad)."""
        return [
            (o.name, o.center, o.size, o.yaw)
            for o, _ in self._obstacles
            if o.at <= self.now < o.until
        ]

    def sensors(self, robot_id: str) -> SensorFrame:
        """The robot's readings from the last step (scan/gnss only if new this step)."""
        i = self._i(robot_id)
        t = self.now
        odom = None
        if self._odom_ok[i]:
            ox, oy, oth = self._odo[i]
            odom = OdomReading(
                t, float(ox), float(oy), float(oth), float(self._odo_v[i]), float(self._odo_w[i])
            )
        imu = ImuReading(t, float(self._imu[i])) if self._step > 0 else None
        soc = self._energy[i] / self.battery_params.capacity_wh
        volt = float(battery_voltage(np.array([soc]), self.battery_params)[0])
        return SensorFrame(
            stamp=t,
            scan=self._scan[i],
            odom=odom,
            imu=imu,
            gnss=self._gnss[i],
            battery=BatteryReading(t, float(self._energy[i]), float(soc), volt),
            truth=GroundTruth(
                t,
                float(self._x[i]),
                float(self._y[i]),
                float(self._th[i]),
                float(self._av[i]),
                float(self._aw[i]),
            ),
            in_contact=bool(self._in_contact[i]),
        )

    def latest_scan(self, robot_id: str) -> Scan | None:
        """The scan taken in the last step, or None (cheaper than :meth:`sensors`)."""
        return self._scan[self._i(robot_id)]

    def _next_normals(self) -> FloatArray:
        """(R,3) standard normals for this step: each robot's row from its own generators."""
        if self._pool_k >= self._pool.shape[2]:
            k = 512
            self._pool = np.stack(
                [
                    np.concatenate([ro.standard_normal((2, k)), ri.standard_normal((1, k))])
                    for ro, ri in zip(self._rng_odom, self._rng_imu, strict=True)
                ]
            ).reshape(len(self.robot_ids), 3, k)
            self._pool_k = 0
        out = self._pool[:, :, self._pool_k]
        self._pool_k += 1
        return out

    # ----------------------------------------------------------------------------- stepping
    def step(self, cmd_vels: Mapping[str, tuple[float, float]]) -> None:
        """Advance dt: apply commands (v m/s, w rad/s; missing robots get zero), move people,
        resolve contacts, apply faults, produce readings."""
        n = len(self.robot_ids)
        dt = self.dt
        t1 = (self._step + 1) * dt
        vc, wc = np.zeros(n), np.zeros(n)
        for rid, (v, w) in cmd_vels.items():
            i = self._i(rid)
            vc[i], wc[i] = v, w
        self._v, self._w = limit_velocity(self._v, self._w, vc, wc, self.limits, dt)
        slip = np.ones(n)
        if self._faults:
            for i in range(n):
                s = self._fault_active("wheel_slip", i, self.now)
                if s is not None:
                    slip[i] = 1.0 - s
        av, aw = self._v * slip, self._w * slip
        nx, ny, nth = integrate_arc(self._x, self._y, self._th, av, aw, dt)
        # people react to the robots where they are at the start of the step, and keep out of
        # the things put in the way
        obst = [(o.name, s) for o, s in self._obstacles if o.at <= t1 < o.until]
        self._people_xy, self._people_on = self.social.step(
            t1, dt, self._robot_bodies(av), np.vstack([s for _, s in obst]) if obst else None)
        people_c = np.column_stack(
            [self._people_xy[self._people_on], np.full(int(self._people_on.sum()), PERSON_RADIUS)]
        )
        names = self._names[self._people_on]
        contact = np.zeros(n, dtype=bool)
        # broadphase: people within reach of each robot's new pose (R,P)
        reach = math.hypot(self._hl, self._hw) + PERSON_RADIUS + 0.05
        near_p = (np.abs(nx[:, None] - people_c[None, :, 0]) < reach) & (
            np.abs(ny[:, None] - people_c[None, :, 1]) < reach
        )
        any_p = near_p.any(axis=1)
        diag = math.hypot(self._hl, self._hw)
        open_ = self._clearance.clearance(nx, ny) > diag + 0.05
        check = ~open_ | any_p
        if obst:
            check[:] = True
        if n > 1:  # robots that may touch another robot
            rr = 2.0 * diag + 0.2
            near_r = (np.abs(nx[:, None] - nx[None, :]) < rr) & (
                np.abs(ny[:, None] - ny[None, :]) < rr
            )
            check |= near_r.sum(axis=1) > 1
        for i in np.nonzero(check)[0].tolist():
            pc, pn = (
                (people_c[near_p[i]], names[near_p[i]]) if any_p[i] else (people_c[:0], names[:0])
            )
            what = self._touch(
                i, float(nx[i]), float(ny[i]), float(nth[i]), pc, pn, obst, bool(open_[i])
            )
            if what is not None:
                nx[i], ny[i], nth[i] = self._x[i], self._y[i], self._th[i]
                moved = (float(av[i]), float(aw[i]))  # what the robot tried this step
                self._v[i] = self._w[i] = av[i] = aw[i] = 0.0
                contact[i] = True
                # one Contact per touch: a robot nudging the same thing again within 1 s
                # (pushing into a wall while turning) is the same event
                last = self._last_touch.get((i, what), -math.inf)
                self._last_touch[(i, what)] = t1
                if not self._in_contact[i] and t1 - last > 1.0:
                    by = self._who_moved(i, what, people_c, names, *moved)
                    self.contacts.append(
                        Contact(t1, self.robot_ids[i], what, float(nx[i]), float(ny[i]), by)
                    )
            else:
                self._x[i], self._y[i], self._th[i] = nx[i], ny[i], nth[i]
        self._x, self._y, self._th = nx, ny, nth
        self._in_contact = contact
        if self.social.any_reacting:  # bodies do not pass through robots
            self.social.resolve_overlaps(self._robot_bodies(np.where(contact, 0.0, av)))
            self._people_xy, self._people_on = self.social.positions()
            people_c = np.column_stack(
                [self._people_xy[self._people_on], np.full(int(self._people_on.sum()),
                                                           PERSON_RADIUS)]
            )
        self._av, self._aw = av, aw
        self._normals = self._next_normals()
        self._odometry(dt, t1, contact)
        self._imu = aw + self._gyro_bias + self._gyro_std * self._normals[:, 2]
        dist = np.abs(av) * dt
        bp = self.battery_params
        self._energy = np.maximum(
            self._energy - bp.idle_w * dt / 3600.0 - bp.drive_wh_per_m * dist, 0.0
        )
        for f in self._faults:
            if self.now < f.start <= t1:
                i = self._index[f.robot]
                if f.type == "kidnap" and f.pose is not None:
                    self._x[i], self._y[i], self._th[i] = f.pose.x, f.pose.y, f.pose.theta
                    self._v[i] = self._w[i] = 0.0
                elif f.type == "battery_drop":
                    self._energy[i] = max(0.0, self._energy[i] - f.drop * bp.capacity_wh)
        self._step += 1
        self.now = t1
        self._scan = [None] * n
        self._gnss = [None] * n
        if t1 >= self._next_scan - 1e-9:
            self._next_scan += self._lidar_period
            self._scan_all(people_c, obst)
        if t1 >= self._next_gnss - 1e-9:
            self._next_gnss += self._gnss_period
            self._gnss_all()

    def _robot_bodies(self, v: FloatArray) -> FloatArray:
        """(R,6) x, y, yaw, speed (m/s), half length, half width of every robot, for people."""
        n = len(self.robot_ids)
        return np.column_stack(
            [self._x, self._y, self._th, v, np.full(n, self._hl), np.full(n, self._hw)]
        )

    def _who_moved(
        self,
        i: int,
        what: str,
        people_c: FloatArray,
        names: npt.NDArray[np.object_],
        v: float,
        w: float,
    ) -> str:
        """Who moved into whom: 'robot' when the footprint point nearest the person (or, for
        anything else, the robot) was moving towards it faster than 0.02 m/s this step, else
        'person' (the robot stood, or moved away, and the person walked into it)."""
        if not what.startswith("person:"):
            return "robot" if abs(v) > 1e-3 or abs(w) > 1e-3 else "other"
        k = np.flatnonzero(names == what[len("person:"):])
        if not k.shape[0]:
            return "robot"
        px, py = float(people_c[k[0], 0]), float(people_c[k[0], 1])
        x, y, th = float(self._x[i]), float(self._y[i]), float(self._th[i])
        c, s = math.cos(th), math.sin(th)
        u, q = c * (px - x) + s * (py - y), -s * (px - x) + c * (py - y)
        cu = min(max(u, -self._hl), self._hl)  # nearest footprint point, robot frame
        cq = min(max(q, -self._hw), self._hw)
        vu, vq = v - w * cq, w * cu  # its velocity in the robot frame
        du, dq = u - cu, q - cq
        norm = math.hypot(du, dq)
        if norm < 1e-9:
            du, dq, norm = u, q, max(math.hypot(u, q), 1e-9)
        closing = (vu * du + vq * dq) / norm
        return "robot" if closing > 0.02 else "person"

    def _touch(
        self,
        i: int,
        x: float,
        y: float,
        th: float,
        people_c: FloatArray,
        names: npt.NDArray[np.object_],
        obst: list[tuple[str, FloatArray]],
        in_open: bool,
    ) -> str | None:
        """What the footprint at (x, y, th) would touch, or None (``in_open``: static geometry
        is known to be out of reach)."""
        hl, hw = self._hl, self._hw
        if not in_open:
            segs, circs = self._candidates(x, y, lidar=False)
            if segs.shape[0] and segments_hit_rectangle(x, y, th, hl, hw, segs).any():
                return "static"
            if circs.shape[0] and circles_hit_rectangle(x, y, th, hl, hw, circs).any():
                return "static"
        if people_c.shape[0]:
            hit = circles_hit_rectangle(x, y, th, hl, hw, people_c)
            if hit.any():
                return f"person:{names[int(np.argmax(hit))]}"
        for name, s in obst:
            if segments_hit_rectangle(x, y, th, hl, hw, s).any():
                return f"obstacle:{name}"
        reach = 2.0 * math.hypot(hl, hw)
        for j in range(len(self.robot_ids)):
            if j == i or abs(self._x[j] - x) > reach or abs(self._y[j] - y) > reach:
                continue
            other = rectangle_segments(
                float(self._x[j]), float(self._y[j]), float(self._th[j]), hl, hw
            )
            if segments_hit_rectangle(x, y, th, hl, hw, other).any():
                return f"robot:{self.robot_ids[j]}"
        return None

    def _odometry(self, dt: float, t1: float, contact: npt.NDArray[np.bool_]) -> None:
        """Integrate wheel odometry from noisy, miscalibrated wheel speeds.

        Under wheel slip the wheels turn at the commanded speed while the body moves less, so
        odometry over-reports; in contact the wheels are stopped.
        """
        half = self.model.wheel_separation / 2.0
        v = np.where(contact, 0.0, self._v)
        w = np.where(contact, 0.0, self._w)
        wheels = np.column_stack([v - w * half, v + w * half])  # (R,2) left, right m/s
        nz = self.noise
        n = len(self.robot_ids)
        std = nz.odom_noise_frac * np.abs(wheels) + nz.odom_noise_floor * (wheels != 0)
        wheels = wheels * self._odo_scale + self._normals[:, 0:2] * std
        if self._faults:
            for i in range(n):
                self._odom_ok[i] = self._fault_active("odom_dropout", i, t1) is None
        mv = wheels.mean(axis=1)
        mw = (wheels[:, 1] - wheels[:, 0]) / (2.0 * half)
        ox, oy, oth = integrate_arc(self._odo[:, 0], self._odo[:, 1], self._odo[:, 2], mv, mw, dt)
        self._odo = np.column_stack([ox, oy, oth])
        self._odo_v, self._odo_w = mv, mw

    def _scan_all(self, people_c: FloatArray, obst: list[tuple[str, FloatArray]]) -> None:
        """All robots' scans in one ray-casting pass."""
        n = len(self.robot_ids)
        live = [
            i
            for i in range(n)
            if not self._faults or self._fault_active("lidar_dropout", i, self.now) is None
        ]
        if not live:
            return
        th = self._th[live]
        org = np.column_stack(
            [self._x[live] + self._mount * np.cos(th), self._y[live] + self._mount * np.sin(th)]
        )
        dyn = [s for _, s in obst]
        robots = (
            [
                rectangle_segments(
                    float(self._x[j]), float(self._y[j]), float(self._th[j]), self._hl, self._hw
                )
                for j in range(n)
            ]
            if n > 1
            else []
        )
        segs: list[FloatArray] = []
        seg_own: list[IntArray] = []
        circs: list[FloatArray] = []
        circ_own: list[IntArray] = []
        reach = self._rmax + 1.0
        for k, i in enumerate(live):
            ox, oy = float(org[k, 0]), float(org[k, 1])
            s_i, c_i = self._candidates(ox, oy, lidar=True)
            parts = [s_i, *dyn]
            parts += [
                robots[j]
                for j in range(len(robots))
                if j != i and abs(self._x[j] - ox) < reach and abs(self._y[j] - oy) < reach
            ]
            for part in parts:
                segs.append(part)
                seg_own.append(np.full(part.shape[0], k, dtype=np.int64))
            circs += [c_i, people_c]
            circ_own += [
                np.full(c_i.shape[0], k, dtype=np.int64),
                np.full(people_c.shape[0], k, dtype=np.int64),
            ]
        true = cast_scans(
            org,
            th + self._amin,
            self._ainc,
            self._n_beams,
            np.concatenate(segs),
            np.concatenate(seg_own),
            np.concatenate(circs),
            np.concatenate(circ_own),
            self._rmax,
        )
        for k, i in enumerate(live):
            ranges = noisy_ranges(
                true[k],
                self._lidar_std,
                self.noise.lidar_dropout,
                self._rmin,
                self._rmax,
                self._rng_lidar[i],
            )
            self._scan[i] = Scan(
                self.now, self._amin, self._ainc, self._rmin, self._rmax, ranges, self._lidar_period
            )

    def _gnss_all(self) -> None:
        frac = self._sky.fraction(self._x, self._y)
        std = self._gnss_std * (1.0 + self.noise.gnss_block_gain * frac)
        for i in range(len(self.robot_ids)):
            if self._fault_active("gnss_dropout", i, self.now) is not None:
                continue
            e = self._rng_gnss[i].normal(0.0, float(std[i]), 2)
            self._gnss[i] = GnssFix(
                self.now, float(self._x[i] + e[0]), float(self._y[i] + e[1]), float(std[i])
            )
