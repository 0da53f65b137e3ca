"""Patrol plans: hotspots, robots and settings, validated before any robot moves.

A plan is rejected with a :class:`PatrolError` naming the hotspot when it is outside the operating
area, inside a keep-out zone, or when its idleness bound cannot be met by the robots available.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import PatrolError
from dawnpatrol_core.maps.zones import Hotspot

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PriorityBand:
    """Priority ``weight`` (> 0) from ``from_hour`` to ``to_hour`` (local clock hours, [0, 24]).

    A band with ``from_hour > to_hour`` wraps past midnight (e.g. 22 → 2).
    """

    from_hour: float
    to_hour: float
    weight: float

    def covers(self, hour: float) -> bool:
        """True when the clock ``hour`` (0 ≤ hour < 24) is inside this band (start inclusive)."""
        if self.from_hour <= self.to_hour:
            return self.from_hour <= hour < self.to_hour
        return hour >= self.from_hour or hour < self.to_hour


@dataclass(frozen=True, slots=True)
class HotspotSpec:
    """A crime-prevention hotspot as the patrol core needs it.

    ``x, y``: observation position, metres, map frame; ``yaw``: observation heading, radians.
    ``priority``: hour bands; outside every band the weight is ``default_priority``.
    ``max_idleness_s``: longest allowed time, seconds, between one visit's departure and the next
    arrival. ``dwell_s``: minimum time a visit stays and observes, seconds.
    """

    id: str
    name: str
    x: float
    y: float
    yaw: float
    priority: tuple[PriorityBand, ...]
    max_idleness_s: float
    dwell_s: float
    default_priority: float = 1.0

    def priority_at(self, hour: float) -> float:
        """Priority weight at the local clock ``hour`` (any real; taken modulo 24)."""
        h = hour % 24.0
        for band in self.priority:
            if band.covers(h):
                return band.weight
        return self.default_priority


@dataclass(frozen=True, slots=True)
class PatrolSettings:
    """Knobs of the randomized scheduler.

    ``dwell_jitter``: a visit dwells ``dwell_s * U(1, 1 + dwell_jitter)`` seconds.
    ``revisit_prob``: probability of choosing among recently visited hotspots (unpredictability).
    ``idle_floor_s``: added to idleness in the choice weight so fresh hotspots stay possible, s.
    ``sweep_headings``: observation headings per dwell.
    ``lookahead_s``: horizon of the feasibility roll-out, seconds (None: 1.5 × largest bound).
    ``epoch_hour``: local clock hour at ``now = 0`` (priority bands are in clock hours).
    """

    dwell_jitter: float = 0.5
    revisit_prob: float = 0.1
    idle_floor_s: float = 60.0
    sweep_headings: int = 4
    lookahead_s: float | None = None
    epoch_hour: float = 0.0

    def hour_at(self, now: float) -> float:
        """Local clock hour in [0, 24) at time ``now`` (seconds)."""
        return (self.epoch_hour + now / 3600.0) % 24.0


@dataclass(frozen=True, slots=True, eq=False)
class PatrolPlan:
    """Validated patrol plan; build it with :func:`build_patrol_plan`.

    ``travel_s``: (H, H) float64, seconds, fastest travel between hotspot observation poses
    (diagonal 0). ``start_travel_s``: (R, H) float64, seconds, from each robot's start pose.
    """

    hotspots: tuple[HotspotSpec, ...]
    robots: tuple[str, ...]
    travel_s: FloatArray
    start_travel_s: FloatArray
    settings: PatrolSettings

    @property
    def max_idleness_s(self) -> FloatArray:
        """(H,) float64, seconds."""
        return np.array([h.max_idleness_s for h in self.hotspots], dtype=np.float64)

    @property
    def dwell_s(self) -> FloatArray:
        """(H,) float64, seconds, configured (minimum) dwell."""
        return np.array([h.dwell_s for h in self.hotspots], dtype=np.float64)

    def priorities_at(self, now: float) -> FloatArray:
        """(H,) float64 priority weights at time ``now`` (seconds)."""
        hour = self.settings.hour_at(now)
        return np.array([h.priority_at(hour) for h in self.hotspots], dtype=np.float64)

    def index_of(self, hotspot_id: str) -> int:
        """Index of the hotspot ``hotspot_id``; PatrolError when unknown."""
        for i, h in enumerate(self.hotspots):
            if h.id == hotspot_id:
                return i
        raise PatrolError(f"patrol plan: field 'hotspot': got {hotspot_id!r}, expected a known id")


def robot_demand(hotspots: Sequence[HotspotSpec], travel_s: FloatArray) -> FloatArray:
    """Lower bound on the fraction of one robot each hotspot needs, (H,) float64 in (0, 1].

    Let ``M`` be the bound, ``d`` the dwell and ``τ`` the fastest arrival from any other hotspot.
    Over a shift of length T, the hotspot is observed in ``N`` episodes (continuous intervals
    with a robot present, each ≥ d long); unobserved gaps are ≤ M, so the observed time is at
    least ``T − N·M``. Every episode starts with a robot arriving from elsewhere (≥ τ of
    driving, charged to this hotspot only since each leg ends at exactly one hotspot). Robot
    time spent on the hotspot is therefore ≥ ``max(T − N(M − τ), N(d + τ))``, minimised at
    ``N = T/(M + d)``: fraction ``(d + τ)/(M + d)``, capped at 1 (a robot parked there for good).
    """
    t = np.asarray(travel_s, dtype=np.float64).copy()
    n = t.shape[0]
    dwell = np.array([h.dwell_s for h in hotspots], dtype=np.float64)
    bound = np.array([h.max_idleness_s for h in hotspots], dtype=np.float64)
    if n == 1:
        return np.ones(1, dtype=np.float64)
    np.fill_diagonal(t, np.inf)
    tau = t.min(axis=0)
    return np.asarray(np.minimum(1.0, (dwell + tau) / (bound + dwell)), dtype=np.float64)


def _check_matrix(name: str, m: FloatArray, shape: tuple[int, int]) -> None:
    if m.shape != shape:
        raise PatrolError(f"patrol plan: field '{name}': got shape {m.shape}, expected {shape}")
    if not np.all(np.isfinite(m)) or np.any(m < 0.0):
        i, j = np.argwhere(~np.isfinite(m) | (m < 0.0))[0]
        raise PatrolError(
            f"patrol plan: field '{name}[{i},{j}]': got {float(m[i, j])!r}, "
            "expected a finite travel time ≥ 0 s (is the hotspot reachable?)"
        )


def _check_hotspot(h: HotspotSpec, is_allowed: Callable[[float, float], bool] | None) -> None:
    where = f"hotspot '{h.id}' ({h.name})"
    for field, value in (("max_idleness_s", h.max_idleness_s), ("dwell_s", h.dwell_s)):
        if not (math.isfinite(value) and value > 0.0):
            raise PatrolError(f"{where}: field '{field}': got {value!r}, expected > 0 s")
    for band in h.priority:
        if not (0.0 <= band.from_hour <= 24.0 and 0.0 <= band.to_hour <= 24.0):
            raise PatrolError(
                f"{where}: field 'priority': got hours {band.from_hour}-{band.to_hour}, "
                "expected hours in [0, 24]"
            )
        if not (math.isfinite(band.weight) and band.weight > 0.0):
            raise PatrolError(
                f"{where}: field 'priority.weight': got {band.weight!r}, expected > 0"
            )
    if is_allowed is not None and not is_allowed(h.x, h.y):
        raise PatrolError(
            f"{where}: field 'observation_pose': got ({h.x:.2f}, {h.y:.2f}), expected a point "
            "inside the operating area and outside every keep-out zone"
        )


def build_patrol_plan(
    hotspots: Sequence[HotspotSpec],
    robots: Sequence[str],
    travel_s: FloatArray,
    *,
    start_travel_s: FloatArray | None = None,
    settings: PatrolSettings | None = None,
    is_allowed: Callable[[float, float], bool] | None = None,
) -> PatrolPlan:
    """Validate and build a patrol plan.

    ``travel_s``: (H, H) seconds between hotspots. ``start_travel_s``: (R, H) seconds from each
    robot's start pose (default: robots start on the hotspots, i.e. zeros). ``is_allowed(x, y)``:
    the map's operating-area/keep-out test. Feasibility checks (necessary conditions, so a plan
    that passes may still be tight, but one that fails is certainly impossible):

    1. each hotspot's first deadline: some robot reaches it from its start within its bound;
    2. robot demand: ``Σ_h (d_h + τ_h)/(M_h + d_h) ≤ R`` (see :func:`robot_demand`); the error
       names the hotspot with the largest demand.
    """
    hs = tuple(hotspots)
    rs = tuple(robots)
    if not hs:
        raise PatrolError("patrol plan: field 'hotspots': got 0, expected at least one hotspot")
    if not rs:
        raise PatrolError("patrol plan: field 'robots': got 0, expected at least one robot")
    ids = [h.id for h in hs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise PatrolError(f"hotspot '{dup[0]}': field 'id': got a duplicate, expected unique ids")
    n, r = len(hs), len(rs)
    t = np.asarray(travel_s, dtype=np.float64)
    _check_matrix("travel_s", t, (n, n))
    st = (
        np.zeros((r, n), dtype=np.float64)
        if start_travel_s is None
        else np.asarray(start_travel_s, dtype=np.float64)
    )
    _check_matrix("start_travel_s", st, (r, n))
    for h in hs:
        _check_hotspot(h, is_allowed)
    bound = np.array([h.max_idleness_s for h in hs], dtype=np.float64)
    first = st.min(axis=0)
    late = np.flatnonzero(first > bound)
    if late.size:
        i = int(late[0])
        raise PatrolError(
            f"hotspot '{hs[i].id}' ({hs[i].name}): field 'max_idleness_s': got "
            f"{bound[i]:.0f} s, expected ≥ {first[i]:.0f} s, the fastest first arrival of any "
            "robot from its start"
        )
    demand = robot_demand(hs, t)
    if float(demand.sum()) > r + 1e-9:
        i = int(np.argmax(demand))
        raise PatrolError(
            f"hotspot '{hs[i].id}' ({hs[i].name}): field 'max_idleness_s': got "
            f"{bound[i]:.0f} s, needs {demand[i]:.2f} of a robot; all hotspots need "
            f"{demand.sum():.2f} robots, expected ≤ {r} (loosen the bounds, shorten dwells, "
            "or add robots)"
        )
    return PatrolPlan(
        hotspots=hs,
        robots=rs,
        travel_s=t,
        start_travel_s=st,
        settings=settings if settings is not None else PatrolSettings(),
    )


class _HasHotspots(Protocol):
    @property
    def hotspots(self) -> Sequence[Hotspot]: ...


def hotspot_spec(h: Hotspot, off_band_priority: float = 0.1) -> HotspotSpec:
    """The patrol view of a map hotspot (observation pose, bands, bound, dwell).

    The map gives weight 0 outside every band; the patrol keeps ``off_band_priority`` there so
    such a hotspot is still drawn now and then (its bound is guarded either way).
    """
    return HotspotSpec(
        id=h.id,
        name=h.name,
        x=h.observation_pose.x,
        y=h.observation_pose.y,
        yaw=h.observation_pose.theta,
        priority=tuple(PriorityBand(b.from_hour, b.to_hour, b.weight) for b in h.priority),
        max_idleness_s=h.max_idleness_s,
        dwell_s=h.dwell_s,
        default_priority=off_band_priority,
    )


def hotspots_from_district(dm: _HasHotspots) -> list[HotspotSpec]:
    """Hotspot specs from a loaded district map (anything with ``.hotspots`` of map Hotspots)."""
    return [hotspot_spec(h) for h in dm.hotspots]
