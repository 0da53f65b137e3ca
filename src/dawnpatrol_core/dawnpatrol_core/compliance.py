"""Sandbox-rule compliance of a shift from pose/speed samples: top speed per zone against its
limit, samples over the limit, keep-out entries and operating-area exits (for the city report)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from dawnpatrol_core.maps.district import DEFAULT_SIDEWALK_SPEED, DistrictMap
from dawnpatrol_core.store.retention import PurgeSummary

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Pseudo zone id for places covered by no speed-limit zone (the sidewalk default applies).
DEFAULT_ZONE = "(no speed zone)"


@dataclass(frozen=True, slots=True)
class ZoneSpeed:
    """Speeds seen in one speed zone: ``limit_mps`` its limit, ``max_mps`` the highest sample
    (0 with no sample), ``samples`` inside it, ``over`` samples above the limit in force there
    (the lowest of all zones covering the point)."""

    zone_id: str
    name: str
    limit_mps: float
    max_mps: float
    samples: int
    over: int


@dataclass(frozen=True, slots=True)
class Excursion:
    """A robot inside a keep-out zone, or outside the operating area, from ``start_s`` to
    ``end_s`` (time of the last sample in the excursion), first seen at (x, y) metres."""

    robot_id: str
    zone_id: str
    start_s: float
    end_s: float
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class OverSpeed:
    """One sample above the limit in force: time (s), robot, place (m), speed and limit (m/s)."""

    t: float
    robot_id: str
    x: float
    y: float
    speed_mps: float
    limit_mps: float


@dataclass(frozen=True, slots=True)
class ComplianceResult:
    """Everything the compliance report states; ``sources`` names where samples came from."""

    samples: int
    robots: tuple[str, ...]
    zone_speeds: tuple[ZoneSpeed, ...]
    over_speed: tuple[OverSpeed, ...]
    keep_out_entries: tuple[Excursion, ...]
    operating_area_exits: tuple[Excursion, ...]

    @property
    def violations(self) -> int:
        """Over-limit samples + keep-out entries + operating-area exits."""
        return (len(self.over_speed) + len(self.keep_out_entries)
                + len(self.operating_area_exits))


def _intervals(t: FloatArray, robot: npt.NDArray[np.str_], inside: BoolArray, zone_id: str,
               xy: FloatArray) -> list[Excursion]:
    """Runs of consecutive ``inside`` samples of the same robot (samples sorted by robot, t)."""
    if not inside.any():
        return []
    n = inside.size
    new_robot = np.ones(n, dtype=np.bool_)
    new_robot[1:] = robot[1:] != robot[:-1]
    prev_in = np.zeros(n, dtype=np.bool_)
    prev_in[1:] = inside[:-1]
    starts = np.flatnonzero(inside & (new_robot | ~prev_in))
    next_in = np.zeros(n, dtype=np.bool_)
    next_in[:-1] = inside[1:] & ~new_robot[1:]
    ends = np.flatnonzero(inside & ~next_in)
    return [
        Excursion(str(robot[s]), zone_id, float(t[s]), float(t[e]), float(xy[s, 0]),
                  float(xy[s, 1]))
        for s, e in zip(starts, ends, strict=True)
    ]


def check_compliance(
    dm: DistrictMap,
    t: FloatArray,
    robot_ids: Sequence[str],
    xy: FloatArray,
    speed: FloatArray,
    tolerance_mps: float = 0.0,
) -> ComplianceResult:
    """Check samples against the map's zones.

    ``t``: (N,) float64 s; ``robot_ids``: N robot ids; ``xy``: (N, 2) float64 m, map frame;
    ``speed``: (N,) float64 m/s (absolute forward speed). A sample is over the limit when its
    speed exceeds the lowest limit of the zones covering it (the sidewalk default
    1.5 m/s where none does) by more than ``tolerance_mps``.
    """
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    speed = np.abs(np.asarray(speed, dtype=np.float64).reshape(-1))
    rid = np.asarray(list(robot_ids), dtype=np.str_).reshape(-1)
    n = t.size
    if not (xy.shape[0] == n and speed.size == n and rid.size == n):
        raise ValueError(f"samples: got t {n}, xy {xy.shape[0]}, speed {speed.size}, "
                         f"robot_ids {rid.size}; expected equal lengths")
    order = np.lexsort((t, rid)) if n else np.zeros(0, dtype=np.int64)
    t, xy, speed, rid = t[order], xy[order], speed[order], rid[order]
    x, y = xy[:, 0], xy[:, 1]

    zones = dm.zones_of_kind("speed_limit")
    limit = np.full(n, DEFAULT_SIDEWALK_SPEED, dtype=np.float64)
    masks = []
    for z in zones:
        m = np.asarray(shapely.intersects_xy(z.polygon, x, y), dtype=np.bool_)
        masks.append(m)
        assert z.speed_limit is not None
        limit = np.where(m, np.minimum(limit, z.speed_limit), limit)
    over = speed > limit + tolerance_mps
    covered = np.zeros(n, dtype=np.bool_)
    rows = []
    for z, m in zip(zones, masks, strict=True):
        covered |= m
        assert z.speed_limit is not None
        rows.append(ZoneSpeed(z.id, z.name, z.speed_limit,
                              float(speed[m].max()) if m.any() else 0.0,
                              int(m.sum()), int((over & m).sum())))
    rest = ~covered
    rows.append(ZoneSpeed(DEFAULT_ZONE, "sidewalk default", DEFAULT_SIDEWALK_SPEED,
                          float(speed[rest].max()) if rest.any() else 0.0,
                          int(rest.sum()), int((over & rest).sum())))

    keep_out: list[Excursion] = []
    for z in dm.zones_of_kind("keep_out"):
        inside = np.asarray(shapely.intersects_xy(z.polygon, x, y), dtype=np.bool_)
        keep_out.extend(_intervals(t, rid, inside, z.id, xy))
    in_area = np.zeros(n, dtype=np.bool_)
    for z in dm.zones_of_kind("operating_area"):
        in_area |= np.asarray(shapely.intersects_xy(z.polygon, x, y), dtype=np.bool_)
    exits = _intervals(t, rid, ~in_area, "operating_area", xy)
    idx = np.flatnonzero(over)
    over_rows = tuple(
        OverSpeed(float(t[i]), str(rid[i]), float(x[i]), float(y[i]), float(speed[i]),
                  float(limit[i]))
        for i in idx
    )
    return ComplianceResult(
        samples=n,
        robots=tuple(sorted({str(r) for r in rid})),
        zone_speeds=tuple(rows),
        over_speed=over_rows,
        keep_out_entries=tuple(sorted(keep_out, key=lambda e: e.start_s)),
        operating_area_exits=tuple(sorted(exits, key=lambda e: e.start_s)),
    )


# -- privacy: retention and recording (PIPA art. 25-2: what is recorded, signalled, kept) --------
@dataclass(frozen=True, slots=True)
class RecordingIndicator:
    """A robot's recording indicator as last reported: ``recording`` True/False, or None when
    the robot never reported it; ``enabled`` whether its parameters allow recording in the
    field (off unless enabled); ``since_s`` when the current state began, ``reported_at_s``
    when it was last heard (s, ROS time)."""

    robot_id: str
    recording: bool | None
    enabled: bool = False
    since_s: float | None = None
    reported_at_s: float | None = None

    @property
    def state(self) -> str:
        """Plain words for the report."""
        if self.recording is None:
            return "unknown (the robot did not report its indicator)"
        if self.recording:
            return "RECORDING (indicator on)"
        return "not recording (indicator off)" + ("" if self.enabled else
                                                   "; recording disabled")


@dataclass(frozen=True, slots=True)
class PrivacyStatement:
    """What the compliance report states about data: the retention in force (days), the
    purges carried out (see ``dawnpatrol_core.store.retention.purge_summaries``), and each
    robot's recording indicator."""

    retention_days: float
    purges: tuple[PurgeSummary, ...] = ()
    indicators: tuple[RecordingIndicator, ...] = ()
