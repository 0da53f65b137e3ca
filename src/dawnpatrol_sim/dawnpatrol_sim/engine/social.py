"""Pedestrians who react: a social-force model stepped for the whole crowd at once (numpy).

Each reacting person follows their scripted polyline as a *path* (not a timetable): a goal force
pulls them towards a point ``lookahead`` m ahead of where they are along it, at their own desired
speed. Other people, robots (their footprint now and where it will be ``robot_horizon`` s ahead)
and the static geometry push them away with exponentially decaying forces (Helbing & Molnár 1995,
in acceleration units). Things outside a person's field of view weigh ``behind_weight`` (heard,
not seen). Everything ahead also nudges them to their right (Korean sidewalks keep right), which
breaks the head-on deadlock of a purely repulsive model, unless they are already passing it on
its left. Things put in the way (a scenario's obstacles) push like walls; someone who has got
no further along their path for ``give_up_s`` s turns back, as people do at a blocked alley:
they walk back to the last corner of their path they came round and leave there.
Scripted people (loiterers, intruders,
waiting groups, SDF actors unless the scenario says otherwise) are evaluated from their tracks and
only push; they are never pushed.

No randomness inside a step: the run is deterministic for the speeds drawn at set-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_sim.engine.collision import ClearanceGrid
from dawnpatrol_sim.engine.people import PERSON_RADIUS, Crowd, PersonTrack

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

# Free walking speeds of adults, m/s: normal with mean 1.34, sd 0.26 (Weidmann 1993, as used by
# Helbing et al.), cut to [0.7, 2.0]; joggers 2.2-3.2 m/s.
WALK_SPEED_MEAN, WALK_SPEED_SD, WALK_SPEED_MIN, WALK_SPEED_MAX = 1.34, 0.26, 0.7, 2.0
_FORWARD_PREFERENCE = 0.01  # m of distance per m further along the path: breaks ties forward
_PASSING_LEFT = 0.3  # sin of the bearing beyond which someone is passing a source on its left


def walking_speeds(rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` desired walking speeds (m/s) from the adult free-walking distribution."""
    v = rng.normal(WALK_SPEED_MEAN, WALK_SPEED_SD, n)
    return np.asarray(np.clip(v, WALK_SPEED_MIN, WALK_SPEED_MAX), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class SocialParams:
    """Social-force tuning. Accelerations m/s^2, lengths m, times s.

    ``tau``: how fast a person returns to their desired velocity. ``a_*``/``b_*``: strength and
    range of the push from other people, robots and walls. ``fov_deg``: field of view; outside it
    forces weigh ``behind_weight``. ``keep_right``: share of a push from ahead turned into a
    sidestep to the right. ``robot_horizon``: people also keep clear of where a robot will be
    this far ahead. ``cutoff``: people and robots farther than this are ignored.
    ``max_speed_factor``: a pushed person walks at most this times their desired speed.
    ``give_up_s``: a walker who has not got ``give_up_m`` further along their path in this long
    turns back. ``scripted_wait``: scripted people do not walk into a robot: where their script
    runs through one they stand beside it until the script comes out (their timing is kept);
    False plays every script blind, as Gazebo's actors move.
    """

    tau: float = 0.5
    a_people: float = 2.0
    b_people: float = 0.3
    a_robot: float = 3.0
    b_robot: float = 0.45
    a_wall: float = 3.0
    b_wall: float = 0.15
    fov_deg: float = 200.0
    behind_weight: float = 0.3
    keep_right: float = 0.5
    robot_horizon: float = 1.0
    lookahead: float = 2.0
    cutoff: float = 3.0
    max_speed_factor: float = 1.3
    give_up_s: float = 30.0
    give_up_m: float = 1.0
    scripted_wait: bool = True


class SocialCrowd:
    """All people: the scripted ones from their tracks, the reacting ones stepped by social forces.

    ``react`` (P,) marks the reacting tracks; ``speeds`` (P,) their desired speeds (m/s; the
    scripted timing is ignored for them, only the path and its start time are kept).
    """

    def __init__(
        self,
        tracks: Sequence[PersonTrack],
        react: Sequence[bool],
        speeds: Sequence[float],
        clearance: ClearanceGrid | None = None,
        params: SocialParams | None = None,
    ) -> None:
        self.tracks = tuple(tracks)
        self.names = tuple(t.name for t in self.tracks)
        self.params = params or SocialParams()
        self._scripted = Crowd(self.tracks)
        self._clearance = clearance
        self._react = np.array(list(react), dtype=bool).reshape(-1)
        if self._react.shape[0] != len(self.tracks):
            raise ValueError(
                f"social crowd: field 'react': got {self._react.shape[0]} flags, "
                f"expected {len(self.tracks)}"
            )
        self._ri = np.flatnonzero(self._react)
        sp = np.asarray(list(speeds), dtype=np.float64).reshape(-1)
        self._v0 = sp[self._ri] if sp.shape[0] == len(self.tracks) else np.zeros(0)
        if self._v0.shape[0] != self._ri.shape[0]:
            raise ValueError(
                f"social crowd: field 'speeds': got {sp.shape[0]}, expected {len(self.tracks)}"
            )
        self._setup_paths()
        xy, on = self._scripted.positions(0.0)
        self._xy, self._on = xy, on
        self._pos = xy[self._ri].copy()
        self._vel = np.zeros_like(self._pos)

    def __len__(self) -> int:
        return len(self.tracks)

    @property
    def scripted(self) -> Crowd:
        """Everyone's script (reacting people's too), evaluated at any time."""
        return self._scripted

    @property
    def desired_speeds(self) -> FloatArray:
        """(Pr,) m/s the reacting people's desired speeds, in track order."""
        return self._v0.copy()

    @property
    def any_reacting(self) -> bool:
        return bool(self._ri.shape[0])

    @property
    def reacting(self) -> BoolArray:
        """(P,) bool: which people react."""
        return self._react.copy()

    # ------------------------------------------------------------------------ paths
    def _setup_paths(self) -> None:
        """Pack every reacting person's polyline (duplicate knots dropped) into flat arrays."""
        a_l, b_l, own_l, s0_l, pts_l, keys_l, cum_l = [], [], [], [], [], [], []
        total, offs = [], []
        span = 0.0
        pls = []
        for i in self._ri.tolist():
            tr = self.tracks[i]
            p = np.asarray(tr.xy, np.float64).reshape(-1, 2)
            keep = np.ones(p.shape[0], bool)
            keep[1:] = np.hypot(*np.diff(p, axis=0).T) > 1e-6
            p = p[keep]
            if p.shape[0] == 1:
                p = np.vstack([p, p + 1e-6])
            pls.append(p)
            seg = np.hypot(*np.diff(p, axis=0).T)
            span = max(span, float(seg.sum()))
        span += 10.0
        n_seg = 0
        for k, p in enumerate(pls):
            seg = np.hypot(*np.diff(p, axis=0).T)
            cum = np.concatenate([[0.0], np.cumsum(seg)])
            a_l.append(p[:-1])
            b_l.append(p[1:])
            own_l.append(np.full(p.shape[0] - 1, k, np.int64))
            s0_l.append(cum[:-1])
            pts_l.append(p)
            cum_l.append(cum)
            keys_l.append(k * span + cum)
            total.append(float(cum[-1]))
            offs.append(n_seg)
            n_seg += p.shape[0] - 1
        r = len(pls)
        self._span = span
        self._seg_a = np.concatenate(a_l) if r else np.zeros((0, 2))
        self._seg_b = np.concatenate(b_l) if r else np.zeros((0, 2))
        self._seg_own = np.concatenate(own_l) if r else np.zeros(0, np.int64)
        self._seg_s0 = np.concatenate(s0_l) if r else np.zeros(0)
        d = self._seg_b - self._seg_a
        self._seg_d = d
        self._seg_len2 = np.maximum(np.einsum("ij,ij->i", d, d), 1e-12)
        self._seg_off = np.array(offs, np.int64)
        self._pts = np.concatenate(pts_l) if r else np.zeros((0, 2))
        self._cum = np.concatenate(cum_l) if r else np.zeros(0)
        self._keys = np.concatenate(keys_l) if r else np.zeros(0)
        self._total = np.array(total)
        self._pt_off = np.concatenate([[0], np.cumsum([p.shape[0] for p in pls])])[:-1].astype(
            np.int64
        ) if r else np.zeros(0, np.int64)
        self._pt_last = self._pt_off + np.array([p.shape[0] for p in pls], np.int64) - 1
        tr_r = [self.tracks[i] for i in self._ri.tolist()]
        self._loop = np.array([t.loop for t in tr_r], dtype=bool)
        self._start = np.array([t.start for t in tr_r], dtype=np.float64)
        self._prog = np.zeros(r)
        self._dir = np.ones(r)  # +1 along the path, -1 back (turned back)
        self._mark = np.zeros(r)  # progress when they last got give_up_m further
        self._mark_t = self._start.copy()  # and when
        self._home = np.zeros(r)  # where a walker who turned back leaves (path m)
        self._gone = np.zeros(r, dtype=bool)  # turned back and home again: left the scene

    def _project(self) -> None:
        """Move each reacting person's progress to their nearest path point in a window ahead
        of it, the way they walk (0.5 m back, 4 m forward; wrapping on loops)."""
        if not self._ri.shape[0]:
            return
        x = self._pos[self._seg_own]
        ap = x - self._seg_a
        t = np.clip(np.einsum("ij,ij->i", ap, self._seg_d) / self._seg_len2, 0.0, 1.0)
        q = self._seg_a + self._seg_d * t[:, None]
        dist = np.hypot(*(q - x).T)
        s = self._seg_s0 + t * np.sqrt(self._seg_len2)
        prog = self._prog[self._seg_own]
        tot = self._total[self._seg_own]
        ds = (s - prog) * self._dir[self._seg_own]  # along the way they walk
        loop = self._loop[self._seg_own]
        ds = np.where(loop & (tot > 0), np.mod(ds + 0.5, np.maximum(tot, 1e-9)) - 0.5, ds)
        ok = (ds >= -0.5) & (ds <= 4.0)
        # Ties go forward: where a path folds back onto itself (a looped two-point path walked
        # out and back) both legs are equally near, and keeping the leg behind would put the
        # carrot on the person, who would then stand at the fold for good.
        cost = np.where(ok, dist - _FORWARD_PREFERENCE * ds, np.inf)
        best = np.minimum.reduceat(cost, self._seg_off)
        is_best = (cost == best[self._seg_own]) & np.isfinite(cost)
        idx = np.flatnonzero(is_best)
        owners, first = np.unique(self._seg_own[idx], return_index=True)
        self._prog[owners] = s[idx[first]]

    def _point_at(self, s: FloatArray) -> FloatArray:
        """(R,2) the point at arc length ``s`` (R,) on each reacting person's path."""
        r = self._ri.shape[0]
        s = np.where(self._loop & (self._total > 0), np.mod(s, np.maximum(self._total, 1e-9)), s)
        s = np.clip(s, 0.0, self._total)
        base = np.arange(r) * self._span
        k = np.searchsorted(self._keys, base + s, side="right") - 1
        k = np.clip(k, self._pt_off, np.maximum(self._pt_last - 1, self._pt_off))
        s0, s1 = self._cum[k], self._cum[np.minimum(k + 1, self._pt_last)]
        f = np.where(s1 > s0, (s - s0) / np.where(s1 > s0, s1 - s0, 1.0), 0.0)
        nxt = self._pts[np.minimum(k + 1, self._pt_last)]
        return np.asarray(self._pts[k] + (nxt - self._pts[k]) * f[:, None])

    # ------------------------------------------------------------------------ stepping
    def positions(self) -> tuple[FloatArray, BoolArray]:
        """Positions (P,2) m and presence (P,) bool after the last step."""
        return self._xy, self._on

    def velocities(self) -> FloatArray:
        """(P,2) m/s: the reacting people's velocities (scripted people: zeros)."""
        out = np.zeros((len(self.tracks), 2))
        out[self._ri] = self._vel
        return out

    def step(self, now: float, dt: float, robots: FloatArray,
             obstacles: FloatArray | None = None) -> tuple[FloatArray, BoolArray]:
        """Advance to ``now`` (s) by ``dt`` s. ``robots`` (R,6): x, y, yaw, v, half length,
        half width of every robot (m, rad, m/s); ``obstacles`` (K,4): outline segments of the
        things put in the way now (m). Returns positions (P,2) and presence (P,)."""
        xy, on = self._scripted.positions(now)
        if robots.shape[0] and self.params.scripted_wait:
            xy, on = self._stand_aside(xy, on, robots)
        if self._ri.shape[0]:
            if self._gone.any():
                on = on.copy()
                on[self._ri[self._gone]] = False
            on_r = on[self._ri]
            acc = self._forces(now, xy, on, robots, obstacles)
            vel = self._vel + acc * dt
            vmax = np.maximum(self.params.max_speed_factor * self._v0, 1.0)
            sp = np.hypot(*vel.T)
            vel *= np.minimum(1.0, vmax / np.maximum(sp, 1e-9))[:, None]
            vel[~on_r] = 0.0
            self._vel = vel
            self._pos = self._pos + vel * dt
            self._project()
            self._turn_back(now, on_r)
            xy = xy.copy()
            xy[self._ri] = self._pos
        self._xy, self._on = xy, on
        return xy, on

    def _stand_aside(self, xy: FloatArray, on: BoolArray, robots: FloatArray
                     ) -> tuple[FloatArray, BoolArray]:
        """Scripted people keep their path and timing but do not walk into a robot: while their
        script would carry them closer to a robot's footprint than where they stand, within
        0.1 m of it (disc to footprint), they stand where they are, and take up the script again
        where it comes out (a step of about the robot's length past a parked robot; never
        stuck beside one, which would look like someone lingering there). Nor do they appear
        there: someone due where a robot stands arrives once it has room. A scripted loiterer
        walked into the robot watching them, again and again (demo: 3 contacts a run); a bus
        queue appeared in a ring round the robot watching the stop and held it there for an
        hour (crime bench seed 7)."""
        margin = 0.1  # m between a person's disc and a footprint they will not close

        def gaps(p: FloatArray) -> FloatArray:  # (K, R) m from each person's disc to each robot
            return footprint_gaps(p, robots, 0.0)[1]

        scripted = ~self._react & on
        arriving = np.flatnonzero(scripted & ~self._on)
        if arriving.shape[0]:
            crowded = (gaps(xy[arriving]) < margin).any(axis=1)
            if crowded.any():
                on = on.copy()
                on[arriving[crowded]] = False
        idx = np.flatnonzero(scripted & self._on)
        if not idx.shape[0]:
            return xy, on
        nxt, now_at = gaps(xy[idx]), gaps(self._xy[idx])
        into = ((nxt < margin) & (nxt < now_at - 1e-9)).any(axis=1)
        if into.any():
            xy = xy.copy()
            xy[idx[into]] = self._xy[idx[into]]
        return xy, on

    def _left(self) -> FloatArray:
        """(R,) m of path left the way each reacting person walks (inf on a loop; for one
        who turned back, to where they leave)."""
        ahead = np.where(self._dir > 0, self._total - self._prog, self._prog - self._home)
        return np.where(self._loop, np.inf, ahead)

    def _turn_back(self, now: float, on: BoolArray) -> None:
        """Walkers who have got no further for ``give_up_s`` turn back to the last corner of
        their path they came round (its start, or the far end of a loop's outward leg) and
        leave there; stuck again on the way back, they leave where they stand."""
        p = self.params
        moved = (self._prog - self._mark) * self._dir
        tot = np.maximum(self._total, 1e-9)
        moved = np.where(self._loop, np.mod(moved + 0.5 * tot, tot) - 0.5 * tot, moved)
        on_way = on & (now >= self._start) & (self._left() > 0.5) & ~self._gone
        got_on = moved >= p.give_up_m
        self._mark = np.where(got_on | ~on_way, self._prog, self._mark)
        self._mark_t = np.where(got_on | ~on_way, now, self._mark_t)
        stuck = on_way & (now - self._mark_t >= p.give_up_s)
        self._gone |= stuck & (self._dir < 0)
        for i in np.flatnonzero(stuck & (self._dir > 0)).tolist():
            knots = self._cum[self._pt_off[i]:self._pt_last[i] + 1]
            behind = knots[knots < self._prog[i] - 0.5]
            self._home[i] = float(behind[-1]) if behind.size else 0.0
            self._dir[i], self._loop[i], self._mark_t[i] = -1.0, False, now
        self._gone |= (self._dir < 0) & (self._prog <= self._home + 0.5)
        self._vel[self._gone] = 0.0

    def _forces(self, now: float, xy: FloatArray, on: BoolArray, robots: FloatArray,
                obstacles: FloatArray | None = None) -> FloatArray:
        p = self.params
        pos, vel = self._pos, self._vel
        r = pos.shape[0]
        # goal: towards the carrot on the path at the desired speed; stand still before the
        # start and at the end of an open path
        carrot = self._point_at(self._prog + self._dir * p.lookahead)
        to = carrot - pos
        dist = np.hypot(*to.T)
        e = to / np.maximum(dist, 1e-9)[:, None]
        left = self._left()
        v_des = self._v0 * np.clip(np.minimum(left, dist) / 1.0, 0.0, 1.0)
        v_des = np.where(now >= self._start, v_des, 0.0)
        acc = (v_des[:, None] * e - vel) / p.tau
        # heading for the field of view: where they walk, else where they want to go
        sp = np.hypot(*vel.T)
        head = np.where((sp > 0.2)[:, None], vel / np.maximum(sp, 1e-9)[:, None], e)
        cos_fov = math.cos(math.radians(p.fov_deg / 2.0))
        right = np.column_stack([head[:, 1], -head[:, 0]])

        def push(ii: IntArray, n: FloatArray, mag: FloatArray,
                 from_centre: FloatArray | None = None) -> None:
            """Add forces on people ``ii`` (K,) along unit ``n`` (K,2) (from the source to the
            person) of magnitude ``mag`` (K,), weighted by the field of view, plus the
            keep-right sidestep for what is ahead. ``from_centre`` (K,2): from the source's
            centre to the person, when the source is not a point (a robot's footprint)."""
            cosang = -np.einsum("kj,kj->k", n, head[ii])  # source direction vs heading
            w = np.where(cosang >= cos_fov, 1.0, p.behind_weight)
            # The sidestep goes right unless the person is already clearly passing the source
            # on its left: stepping right then walks them into it (a walker once stood for good
            # pressed between a parked robot and a bus queue, with room on the other side).
            # Measured from the source's centre: along a robot's flat side every normal is
            # square to it and would say "head on" all the way to the middle.
            c = n if from_centre is None else from_centre / np.maximum(
                np.hypot(*from_centre.T), 1e-9)[:, None]
            lateral = np.einsum("kj,kj->k", c, right[ii])  # > 0: the person is to its right
            sign = np.where(lateral > -_PASSING_LEFT, 1.0, -1.0)
            side = p.keep_right * mag * np.clip(cosang, 0.0, 1.0) * sign
            f = n * (mag * w)[:, None] + side[:, None] * right[ii]
            acc[:, 0] += np.bincount(ii, f[:, 0], minlength=r)
            acc[:, 1] += np.bincount(ii, f[:, 1], minlength=r)

        # other people (reacting and scripted), present and within the cutoff: only the pairs
        # that are near are evaluated
        on_xy = xy[on]
        on_idx = np.flatnonzero(on)
        dx = pos[:, 0:1] - on_xy[None, :, 0]
        dy = pos[:, 1:2] - on_xy[None, :, 1]
        near = (np.abs(dx) < p.cutoff) & (np.abs(dy) < p.cutoff)
        ii, kk = np.nonzero(near)
        keep = on_idx[kk] != self._ri[ii]  # not oneself
        ii, kk = ii[keep], kk[keep]
        if ii.shape[0]:
            ddx, ddy = dx[ii, kk], dy[ii, kk]
            dd = np.maximum(np.hypot(ddx, ddy), 1e-6)
            n = np.column_stack([ddx / dd, ddy / dd])
            mag = np.where(dd < p.cutoff,
                           p.a_people * np.exp((2 * PERSON_RADIUS - dd) / p.b_people), 0.0)
            push(ii, n, mag)
        # robots: their footprint now and ahead, for the (person, robot) pairs that are near
        if robots.shape[0]:
            ii, kk = _near_pairs(pos, robots, p.cutoff + p.robot_horizon * np.abs(robots[:, 3]))
            if ii.shape[0]:
                for ahead in (0.0, p.robot_horizon):
                    n2, gap = pair_gaps(pos[ii], robots[kk], ahead)
                    wgt = 1.0 if ahead == 0.0 else 0.5
                    mag = np.where(gap < p.cutoff, wgt * p.a_robot * np.exp(-gap / p.b_robot), 0.0)
                    rk = robots[kk]
                    reach = rk[:, 3] * ahead
                    centre = rk[:, :2] + np.column_stack([np.cos(rk[:, 2]), np.sin(rk[:, 2])]
                                                         ) * reach[:, None]
                    push(ii, n2, mag, pos[ii] - centre)
        # walls, where the path itself is clear of them (scripted paths may brush past a wall)
        if self._clearance is not None:
            dw, gx, gy = self._clearance.distance_gradient(pos[:, 0], pos[:, 1])
            dc, _, _ = self._clearance.distance_gradient(carrot[:, 0], carrot[:, 1])
            use = (dc > PERSON_RADIUS + 0.2) & (dw < 2.0)
            mag = np.where(use, p.a_wall * np.exp((PERSON_RADIUS - dw) / p.b_wall), 0.0)
            acc += np.column_stack([gx, gy]) * mag[:, None]
        # things put in the way push like walls, wherever the path goes
        if obstacles is not None and obstacles.shape[0]:
            n, d = nearest_segment(pos, obstacles)
            mag = np.where(d < 2.0, p.a_wall * np.exp((PERSON_RADIUS - d) / p.b_wall), 0.0)
            acc += n * mag[:, None]
        return np.asarray(acc)

    def resolve_overlaps(self, robots: FloatArray) -> None:
        """Push reacting people out of any robot footprint they ended up in (bodies do not pass
        through robots) and drop their velocity into it. ``robots`` as in :meth:`step`."""
        if not self._ri.shape[0] or not robots.shape[0]:
            return
        ii, kk = _near_pairs(self._pos, robots, np.full(robots.shape[0], 0.05))
        if not ii.shape[0]:
            return
        n, gap = pair_gaps(self._pos[ii], robots[kk], 0.0)
        over = gap < 0.01
        if not over.any():
            return
        for j in np.flatnonzero(over).tolist():  # few: people pressed against a robot
            i, nn = int(ii[j]), n[j]
            self._pos[i] += nn * (0.01 - gap[j])
            into = float(self._vel[i] @ nn)
            if into < 0.0:
                self._vel[i] -= into * nn
        self._xy = self._xy.copy()
        self._xy[self._ri] = self._pos


def footprint_gaps(
    pos: FloatArray, robots: FloatArray, ahead: float, paired: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Unit directions (R,K,2) from each robot footprint (K robots (K,6) as in
    :meth:`SocialCrowd.step`, moved ``ahead`` s along their heading at their speed) to each
    person (R,2), and the gaps (R,K) m between the person's disc and the footprint (negative:
    overlapping). ``paired``: person k with robot k only (R == K); shapes (K,1,2) and (K,1)."""
    x = robots[:, 0] + robots[:, 3] * ahead * np.cos(robots[:, 2])
    y = robots[:, 1] + robots[:, 3] * ahead * np.sin(robots[:, 2])
    c, s = np.cos(robots[:, 2]), np.sin(robots[:, 2])
    if paired:
        x, y, c, s = x[:, None], y[:, None], c[:, None], s[:, None]
        dx, dy = pos[:, 0:1] - x, pos[:, 1:2] - y
    else:
        dx, dy = pos[:, 0:1] - x[None, :], pos[:, 1:2] - y[None, :]
    u, v = c * dx + s * dy, -s * dx + c * dy
    hl, hw = (robots[:, 4:5], robots[:, 5:6]) if paired else (robots[:, 4], robots[:, 5])
    qu, qv = u - np.clip(u, -hl, hl), v - np.clip(v, -hw, hw)
    outside = np.hypot(qu, qv)
    inside = np.minimum(hl - np.abs(u), hw - np.abs(v))  # depth inside the rectangle
    ins = outside <= 1e-9
    # inside: push out across the nearest side
    in_u = (hl - np.abs(u)) < (hw - np.abs(v))
    qu = np.where(ins, np.where(in_u, np.sign(u) + (u == 0), 0.0), qu)
    qv = np.where(ins, np.where(in_u, 0.0, np.sign(v) + (v == 0)), qv)
    norm = np.maximum(np.hypot(qu, qv), 1e-9)
    nu, nv = qu / norm, qv / norm
    n = np.stack([c * nu - s * nv, s * nu + c * nv], axis=-1)
    gap = np.where(ins, -inside, outside) - PERSON_RADIUS
    return n, gap


def nearest_segment(pos: FloatArray, segs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Unit directions (N,2) from the nearest of ``segs`` (K,4: x0, y0, x1, y1 m) to each of
    ``pos`` (N,2) m, and the distances (N,) m."""
    a, d = segs[None, :, :2], segs[None, :, 2:] - segs[None, :, :2]
    ap = pos[:, None, :] - a
    t = np.clip(np.sum(ap * d, axis=2) / np.maximum(np.sum(d * d, axis=2), 1e-12), 0.0, 1.0)
    off = ap - d * t[:, :, None]  # (N,K,2) from the nearest point of each segment
    dist = np.hypot(off[:, :, 0], off[:, :, 1])
    k = np.argmin(dist, axis=1)
    rows = np.arange(pos.shape[0])
    best, dmin = off[rows, k], dist[rows, k]
    return best / np.maximum(dmin, 1e-9)[:, None], dmin


def _near_pairs(pos: FloatArray, robots: FloatArray, extra: FloatArray) -> tuple[IntArray,
                                                                                 IntArray]:
    """(person, robot) index pairs whose centres are within the robot's half diagonal plus a
    person's radius plus ``extra`` (K,) m of each other along both axes."""
    reach = np.hypot(robots[:, 4], robots[:, 5]) + PERSON_RADIUS + extra
    near = (np.abs(pos[:, 0:1] - robots[None, :, 0]) < reach) & (
        np.abs(pos[:, 1:2] - robots[None, :, 1]) < reach)
    ii, kk = np.nonzero(near)
    return ii.astype(np.int64), kk.astype(np.int64)


def pair_gaps(pos: FloatArray, robots: FloatArray, ahead: float) -> tuple[FloatArray, FloatArray]:
    """:func:`footprint_gaps` for K (person, robot) pairs: ``pos`` (K,2), ``robots`` (K,6);
    returns unit directions (K,2) and gaps (K,)."""
    n, gap = footprint_gaps(pos[:, None, :].reshape(-1, 2), robots, ahead, paired=True)
    return n.reshape(-1, 2), gap.reshape(-1)
