"""District map zones as anomaly rule inputs: watch zones (with their own dwell time and hours),
night-restricted areas and route-edge polylines, and the rule engine the anomaly monitor runs:
loitering judged on presence at a place (linked tracks), intrusion, blocked sidewalks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.anomaly.events import Detection
from dawnpatrol_core.anomaly.presence import (
    PresenceConfig,
    PresenceMap,
    PresenceZone,
    SeenFree,
    Site,
)
from dawnpatrol_core.anomaly.rules import (
    NIGHT,
    BlockedSidewalkDetector,
    EdgeLine,
    HourWindow,
    RestrictedArea,
    RuleConfig,
    WatchZone,
    detect_intrusion,
    detect_loitering,
    edge_lines_from_graph,
    local_hour,
)
from dawnpatrol_core.anomaly.segmentation import Cluster
from dawnpatrol_core.anomaly.tracking import Track
from dawnpatrol_core.errors import MapError
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.maps.zones import Zone

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DistrictZones:
    """Rule inputs of one district: ``watch`` zones and their loitering time ``dwell_s`` (s,
    same order), ``restricted`` night-restricted areas, ``edges`` route-edge polylines.
    ``waiting`` (same order as ``watch``): zones where people wait together (a bus stop)."""

    watch: tuple[WatchZone, ...]
    dwell_s: tuple[float, ...]
    restricted: tuple[RestrictedArea, ...]
    edges: tuple[EdgeLine, ...]
    waiting: tuple[bool, ...] = ()


def _hours_property(zone: Zone, default: HourWindow, src: str) -> HourWindow:
    """``hours: {from_hour, to_hour}`` of a zone (local hours 0-24), else ``default``."""
    if zone.hours is not None:
        return HourWindow(float(zone.hours[0]), float(zone.hours[1]))
    raw: Any = zone.properties.get("hours")
    if raw is None:
        return default
    ok = isinstance(raw, Mapping) and all(
        isinstance(raw.get(k), (int, float))
        and not isinstance(raw.get(k), bool)
        and 0.0 <= float(raw[k]) <= 24.0
        for k in ("from_hour", "to_hour")
    )
    if not ok:
        raise MapError(
            f"{src}: feature {zone.id!r}: field 'hours': got {raw!r}, "
            "expected {from_hour, to_hour} in 0..24"
        )
    return HourWindow(float(raw["from_hour"]), float(raw["to_hour"]))


def _dwell_property(zone: Zone, default: float, src: str) -> float:
    raw: Any = zone.properties.get("max_dwell_s")
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0.0 < float(raw) < 1e6:
        raise MapError(
            f"{src}: feature {zone.id!r}: field 'max_dwell_s': got {raw!r}, "
            "expected a number of seconds > 0"
        )
    return float(raw)


def _waiting_property(zone: Zone, src: str) -> bool:
    raw: Any = zone.properties.get("waiting_area", False)
    if not isinstance(raw, bool):
        raise MapError(
            f"{src}: feature {zone.id!r}: field 'waiting_area': got {raw!r}, expected true or false"
        )
    return raw


def district_zones(
    district: DistrictMap,
    default_dwell_s: float = 60.0,
    dwell_override_s: float | None = None,
) -> DistrictZones:
    """Rule inputs from ``district``: watch zones (kind ``watch``; hours from ``hours`` or the
    night 22-05; loitering time from ``max_dwell_s`` or ``default_dwell_s``, s), night-restricted
    areas (kind ``night_restricted`` with their ``hours``) and the route graph's edges. A watch
    zone with ``waiting_area: true`` is a place where people wait together (a bus stop).

    ``dwell_override_s`` (s) replaces every zone's loitering time (short thresholds in tests).
    Raises MapError naming the feature for a malformed ``hours``, ``max_dwell_s`` or
    ``waiting_area``.
    """
    src = f"{district.name}/zones.geojson"
    watch = district.zones_of_kind("watch")
    dwell = tuple(
        _dwell_property(z, default_dwell_s, src) if dwell_override_s is None else dwell_override_s
        for z in watch
    )
    return DistrictZones(
        watch=tuple(WatchZone(z.id, z.polygon, _hours_property(z, NIGHT, src)) for z in watch),
        dwell_s=dwell,
        restricted=tuple(
            RestrictedArea(z.id, z.polygon, _hours_property(z, NIGHT, src))
            for z in district.zones_of_kind("night_restricted")
        ),
        edges=edge_lines_from_graph(district.graph),
        waiting=tuple(_waiting_property(z, src) for z in watch),
    )


class DistrictRuleEngine:
    """The anomaly monitor's scene rules over one robot's tracks and object clusters, with each
    watch zone's own loitering time (``max_dwell_s``: a bus stop tolerates longer waits than
    an alley). Loitering is judged on presence at a place: lingering tracks are linked into
    sites (:class:`~dawnpatrol_core.anomaly.presence.PresenceMap`), so a broken track does not
    restart the stay; a detection's key names its site. Stateful: call :meth:`evaluate` every
    scan."""

    def __init__(self, zones: DistrictZones, config: RuleConfig | None = None,
                 presence: PresenceConfig | None = None) -> None:
        self.config = config or RuleConfig()
        self.zones = zones
        self._dwell = dict(zip((z.id for z in zones.watch), zones.dwell_s, strict=True))
        waiting = zones.waiting or (False,) * len(zones.watch)
        self.presence = PresenceMap(
            [PresenceZone(z.id, z.polygon, w) for z, w in zip(zones.watch, waiting, strict=True)],
            presence or PresenceConfig(history_s=max(zones.dwell_s, default=60.0) + 120.0))
        self._watch = {z.id: z for z in zones.watch}
        self.blocked = BlockedSidewalkDetector(zones.edges, self.config)
        self._judged: set[int] = set()  # sites whose stay met the loitering rule

    def evaluate(
        self,
        tracks: Sequence[Track],
        objects: Sequence[Cluster],
        now: float,
        scan: FloatArray | None = None,
        seen_free: SeenFree | None = None,
    ) -> list[Detection]:
        """Every rule at ``now`` (s) over ``tracks`` and OBJECT clusters; ``scan`` (M, 2) map
        metres of unexplained points, kept as evidence; ``seen_free`` where this scan saw free
        space (ends a stay nobody keeps up)."""
        out: list[Detection] = []
        for site in self.presence.update(tracks, now, seen_free):
            out += self._loitering(site, now, scan)
        out += detect_intrusion(tracks, self.zones.restricted, now, self.config, scan)
        out += self.blocked.update(objects, now)
        return out

    def _loitering(self, site: Site, now: float, scan: FloatArray | None) -> list[Detection]:
        cfg = replace(self.config, loiter_time=self._dwell[site.zone])
        stay = Track(site.id, site.x, site.y, 0.0, 0.0, True, site.first_seen, site.last_seen,
                     site.history)
        dets = detect_loitering([stay], [self._watch[site.zone]], now, cfg, scan)
        n = len(site.tracks)
        who = "person" if n == 1 else f"{n} people"
        if dets:
            self._judged.add(site.id)
        return [replace(d, key=f"site:{site.id}",
                        description=d.description.replace("person", who, 1))
                for d in dets]

    def undecided_until(self, now: float, within_s: float = 10.0) -> float:
        """When the open stays not yet judged loitering would meet the rule (s; the latest of
        them): someone seen lingering in an active watch zone within the last ``within_s`` s
        whose stay began less than that zone's loitering time ago. 0.0 when there is none —
        a robot watching the place can then leave without missing a loiterer."""
        hour = local_hour(now, self.config.utc_offset_s)
        live = self.presence.stays(now, within_s)
        self._judged &= {sid for sid, _, _ in live}
        until = 0.0
        for sid, zone, start in live:
            if sid in self._judged or not self._watch[zone].hours.contains(hour):
                continue
            until = max(until, start + self._dwell[zone])
        return until
