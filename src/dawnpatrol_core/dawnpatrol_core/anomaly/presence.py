"""Presence at a place rather than on one track: the tracks of people lingering in watch zones are
linked into sites by position and time, so a loiterer whose track is broken by passers-by, lost
behind them or left behind by a robot driving on keeps one stay, and its dwell accumulates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon

from dawnpatrol_core.anomaly.tracking import Track

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: (K, 2) map points, m -> (K,) True where this scan saw free space at the point.
SeenFree = Callable[[FloatArray], BoolArray]
_FRESH_S = 0.25  # s: a track corrected this recently is seen at this update
_RECENT_S = 1.0  # s: a track corrected this recently shows someone is about
_MAYBE_SPEED = 1.5  # x linger_speed: a confirmed track faster than this is a passer-by
_MAX_STEP_S = 1.0  # s: most one update adds to the time a place was seen empty
_PATH_STEP_S = 0.5  # s between the points a track's way is measured on


@dataclass(frozen=True, slots=True)
class PresenceConfig:
    """How lingering is told and linked.

    A confirmed track seen for ``min_track_age_s`` s that walked less than ``linger_speed``
    m/s over the last ``speed_window_s`` s (and whose filtered speed is below it) lingers. A
    lingering track within ``link_radius`` m of a site's centre (the mean of its samples of
    the last ``centre_window_s`` s) continues that site, whatever its track id; a site keeps
    one sample per ``sample_period_s`` s and ``history_s`` s of them. A site ends when nobody
    lingered there for ``gap_s`` s (out of view, hidden behind others, the robot gone), or once
    the scan has seen free space at its centre and where the person was last seen for
    ``absent_s`` s in all (time out of view does not count), with nobody near it but
    passers-by. Someone pacing — who walked more than ``pace_speed`` m/s on average over the
    last ``pace_window_s`` s of their track (or all of it, when younger) — is not lingering, even
    while turning round: a commuter walking up and down a bus stop at 0.5 m/s is waiting, and
    would otherwise leave a stay at each end of the walk that they come back to every minute.
    In a zone marked as a waiting area (a bus stop), people lingering within ``group_radius``
    m of another lingering person wait together: a queue, not a loiterer. The queue is
    remembered for ``queue_memory_s`` s: someone lingering alone within ``queue_spot_m`` m of
    where a queue member stood is one of them with the others hidden behind (a robot close to
    a queue sees only its nearest members).
    """

    link_radius: float = 4.0
    linger_speed: float = 0.6
    speed_window_s: float = 3.0
    min_track_age_s: float = 1.0
    sample_period_s: float = 0.5
    centre_window_s: float = 120.0
    gap_s: float = 60.0
    absent_s: float = 15.0
    group_radius: float = 1.5
    history_s: float = 660.0
    pace_window_s: float = 30.0
    pace_speed: float = 0.35
    queue_memory_s: float = 600.0
    queue_spot_m: float = 0.75


@dataclass(frozen=True, slots=True)
class PresenceZone:
    """A watch zone as presence sees it: ``waiting_area`` zones (bus stops) tolerate groups."""

    id: str
    polygon: Polygon
    waiting_area: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Site:
    """A place where someone lingers, at one update: ``id``, the ``zone`` id, centre ``x``,
    ``y`` (m), ``first_seen``/``last_seen`` (s), ``history`` (K, 3) rows [t s, x m, y m]
    sampled from every track linked to it, and the ids of the ``tracks`` lingering there now."""

    id: int
    zone: str
    x: float
    y: float
    first_seen: float
    last_seen: float
    history: FloatArray
    tracks: tuple[int, ...]


class _SiteState:
    __slots__ = ("id", "zone", "buf", "n", "last_seen", "absent", "checked")

    def __init__(self, sid: int, zone: str) -> None:
        self.id = sid
        self.zone = zone
        self.buf = np.empty((64, 3))  # rows [t, x, y] in buf[:n], oldest first
        self.n = 0
        self.last_seen = -np.inf
        self.absent = 0.0  # s the place was seen empty since someone lingered there
        self.checked = -np.inf  # s, the last update that looked at it

    @property
    def rows(self) -> FloatArray:
        return self.buf[: self.n]

    def centre(self, now: float, window: float) -> tuple[float, float]:
        rows = self.rows
        recent = rows[rows[:, 0] >= now - window]
        if not len(recent):
            recent = rows[-1:]
        c = recent[:, 1:].mean(axis=0)
        return float(c[0]), float(c[1])

    def add(self, rows: FloatArray, period: float) -> None:
        last = self.buf[self.n - 1, 0] if self.n else -np.inf
        for t, x, y in rows.tolist():
            if t >= last + period - 1e-9:
                if self.n == len(self.buf):
                    self.buf = np.concatenate((self.buf, np.empty_like(self.buf)))
                self.buf[self.n] = (t, x, y)
                self.n += 1
                last = t

    def trim(self, horizon: float) -> None:
        rows = self.rows
        keep = rows[rows[:, 0] >= horizon]
        self.buf = np.concatenate((keep, np.empty((max(64, len(keep)), 3))))
        self.n = len(keep)


def lingering(track: Track, now: float, config: PresenceConfig) -> bool:
    """Whether ``track`` is a person standing about at ``now`` (s): confirmed, seen at this
    update, tracked for ``min_track_age_s``, slower than ``linger_speed`` both over its
    window and by its filtered velocity, and not pacing (``pace_speed`` over ``pace_window_s``)."""
    cfg = config
    if not track.confirmed or now - track.last_seen > _FRESH_S:
        return False
    if track.speed > cfg.linger_speed:  # the filter's velocity: a walker turning is still walking
        return False
    if now - track.first_seen < cfg.min_track_age_s:
        return False
    h = track.history
    if _pace(h[h[:, 0] >= now - cfg.speed_window_s]) > cfg.linger_speed:
        return False
    # Over the longer window (as much of it as the track has): a pacer's turn is slow, their
    # walk is not.
    return _pace(h[h[:, 0] >= now - cfg.pace_window_s]) <= cfg.pace_speed


def _pace(w: FloatArray) -> float:
    """m/s walked along the rows [t s, x m, y m] of ``w``: the way walked, not the net
    displacement (a walker turning round at the end of a path is back where they were a
    second ago), on points 0.5 s apart that keep the filter's jitter out; inf with fewer
    than two such points."""
    if not len(w):
        return np.inf
    w = w[np.unique(np.floor((w[:, 0] - w[0, 0]) / _PATH_STEP_S), return_index=True)[1]]
    if len(w) < 2:
        return np.inf
    dt = float(w[-1, 0] - w[0, 0])
    walked = float(np.hypot(np.diff(w[:, 1]), np.diff(w[:, 2])).sum())
    return walked / dt if dt > 0.0 else np.inf


class PresenceMap:
    """Sites of lingering people in ``zones``. Stateful: call :meth:`update` every scan."""

    def __init__(self, zones: Sequence[PresenceZone], config: PresenceConfig | None = None
                 ) -> None:
        self.config = config or PresenceConfig()
        self.zones = tuple(zones)
        self._sites: dict[int, _SiteState] = {}
        self._link: dict[int, int] = {}  # track id -> site id
        # (x, y) cells (queue_spot_m) where queue members stood in a waiting area -> when (s)
        self._queue_spots: dict[tuple[int, int], float] = {}
        self._next = 1

    def _zone_of(self, xy: FloatArray) -> list[PresenceZone | None]:
        out: list[PresenceZone | None] = [None] * len(xy)
        for z in self.zones:
            inside = shapely.contains_xy(z.polygon, xy[:, 0], xy[:, 1])
            for i in np.flatnonzero(inside):
                if out[i] is None:
                    out[i] = z
        return out

    def update(self, tracks: Sequence[Track], now: float, seen_free: SeenFree | None = None
               ) -> tuple[Site, ...]:
        """Link this update's lingering tracks to sites at ``now`` (s); return the sites
        someone lingers at now. ``seen_free`` says where the scan saw free space (None: the
        scan says nothing, and sites end only by ``gap_s``)."""
        cfg = self.config
        linger = [t for t in tracks if lingering(t, now, cfg)]
        xy = np.array([[t.x, t.y] for t in linger], dtype=np.float64).reshape(-1, 2)
        zones = self._zone_of(xy)
        waiting = [z is not None and z.waiting_area for z in zones]
        if any(waiting):  # people standing together in a waiting area are a queue
            zones = self._queued(xy, zones, waiting, now)
        centres = {sid: s.centre(now, cfg.centre_window_s) for sid, s in self._sites.items()}
        present: dict[int, list[int]] = {}
        for tr, zone, (x, y) in zip(linger, zones, xy.tolist(), strict=True):
            if zone is None:
                self._link.pop(tr.id, None)
                continue
            sid = self._link.get(tr.id)
            if sid is not None and (sid not in self._sites
                                    or np.hypot(x - centres[sid][0], y - centres[sid][1])
                                    > cfg.link_radius):
                sid = None
            fresh = sid is None
            if fresh:
                near = [(float(np.hypot(x - c[0], y - c[1])), s) for s, c in centres.items()
                        if self._sites[s].zone == zone.id]
                near = [n for n in near if n[0] <= cfg.link_radius]
                sid = min(near)[1] if near else None
            if sid is None:
                sid = self._next
                self._next += 1
                self._sites[sid] = _SiteState(sid, zone.id)
                centres[sid] = (x, y)
            site = self._sites[sid]
            self._link[tr.id] = sid
            h = tr.history
            if fresh:  # what the track saw before it was linked counts, near the site
                cx, cy = centres[sid]
                h = h[np.hypot(h[:, 1] - cx, h[:, 2] - cy) <= cfg.link_radius]
            else:
                h = h[-1:]
            site.add(h, cfg.sample_period_s)
            site.last_seen, site.absent, site.checked = now, 0.0, now
            present.setdefault(sid, []).append(tr.id)
        self._forget(tracks, now, present, centres, seen_free)
        out = []
        for sid, tids in present.items():
            s = self._sites[sid]
            rows = s.rows.copy()
            cx, cy = s.centre(now, cfg.centre_window_s)
            out.append(Site(sid, s.zone, cx, cy, float(rows[0, 0]), s.last_seen, rows,
                            tuple(tids)))
        return tuple(out)

    def _queued(self, xy: FloatArray, zones: list[PresenceZone | None], waiting: list[bool],
                now: float) -> list[PresenceZone | None]:
        """``zones`` with those of people waiting in a queue (with another lingering person
        within ``group_radius``, or where a queue member stood lately) set to None."""
        cfg = self.config
        grouped = np.zeros(len(xy), dtype=bool)
        if len(xy) > 1:
            d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
            np.fill_diagonal(d, np.inf)
            grouped = d.min(axis=1) <= cfg.group_radius
        cell = cfg.queue_spot_m
        for (x, y), w, g in zip(xy.tolist(), waiting, grouped.tolist(), strict=True):
            if w and g:
                self._queue_spots[(round(x / cell), round(y / cell))] = now
        self._queue_spots = {k: t for k, t in self._queue_spots.items()
                             if now - t <= cfg.queue_memory_s}
        spots = np.array(list(self._queue_spots), dtype=np.float64).reshape(-1, 2) * cell
        out = []
        for (x, y), z, w, g in zip(xy.tolist(), zones, waiting, grouped.tolist(), strict=True):
            stood = bool(len(spots)) and float(
                np.min(np.hypot(spots[:, 0] - x, spots[:, 1] - y))) <= cell
            out.append(None if w and (g or stood) else z)
        return out

    def stays(self, now: float, within_s: float) -> tuple[tuple[int, str, float], ...]:
        """(site id, zone id, stay start s) of every site someone lingered at within the last
        ``within_s`` s before ``now``: the stays still open."""
        return tuple((sid, s.zone, float(s.buf[0, 0])) for sid, s in self._sites.items()
                     if s.n and now - s.last_seen <= within_s)

    def _forget(self, tracks: Sequence[Track], now: float, present: dict[int, list[int]],
                centres: dict[int, tuple[float, float]], seen_free: SeenFree | None) -> None:
        cfg = self.config
        # People who may be the one who lingered: anyone near but a confirmed passer-by.
        maybe = np.array([[t.x, t.y] for t in tracks if now - t.last_seen <= _RECENT_S and (
            not t.confirmed or t.speed <= _MAYBE_SPEED * cfg.linger_speed)],
            dtype=np.float64).reshape(-1, 2)
        for sid in [sid for sid in self._sites if sid not in present]:
            site = self._sites[sid]
            cx, cy = centres[sid]
            dt, site.checked = min(now - site.checked, _MAX_STEP_S), now
            if len(maybe) and (np.hypot(maybe[:, 0] - cx, maybe[:, 1] - cy)
                               <= cfg.link_radius).any():
                site.absent = 0.0  # someone there, hidden from the rule for now
                continue
            if seen_free is None:
                continue
            # Empty in plain view: the centre and where they were last seen both clear. Out of
            # view or hidden behind others, nothing is known and nothing adds up.
            look = np.array([[cx, cy], site.buf[site.n - 1, 1:]], dtype=np.float64)
            if bool(seen_free(look).all()):
                site.absent += dt
        for sid in list(self._sites):
            s = self._sites[sid]
            if now - s.last_seen > cfg.gap_s or s.absent >= cfg.absent_s:
                del self._sites[sid]
            elif s.n and s.buf[0, 0] < now - cfg.history_s - 60.0:  # trim now and then
                s.trim(now - cfg.history_s)
        live = {t.id for t in tracks}
        self._link = {t: s for t, s in self._link.items() if s in self._sites and t in live}
