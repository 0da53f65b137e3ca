"""When two anomaly reports are one incident: the same kind at the same place (zone, or within a
radius) within a gap. The robot's event manager and the fleet's inbox both decide with it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Kinds about the scene (a person, an object), reported by any robot that sees them; every other
#: kind is a robot's own fault and belongs to that robot.
SCENE_KINDS: frozenset[str] = frozenset({"loitering", "intrusion", "blocked_sidewalk"})


@dataclass(frozen=True, slots=True)
class IncidentPolicy:
    """``gap_s``: s, a report within this long of an incident's last sighting continues it;
    later, it starts a new incident (``gap_s_by_kind`` overrides per kind). ``radius_m_by_kind``:
    m, reports of a place-bound kind farther apart than this are different incidents (a kind
    without a radius is bound to its zone: one intrusion incident per restricted area).
    ``walk_mps_by_kind``: m/s, for kinds about a person: two reports farther apart than a person
    could have walked between them (this speed times the time between the two sightings, plus
    ``walk_slack_m`` m for tracking and localization error) are two people, so two incidents —
    a second intruder in the yard while the first is still in sight is not the first."""

    gap_s: float = 60.0
    gap_s_by_kind: Mapping[str, float] = field(
        default_factory=lambda: {"loitering": 600.0, "intrusion": 600.0,
                                 "blocked_sidewalk": 10800.0}
    )
    radius_m_by_kind: Mapping[str, float] = field(
        default_factory=lambda: {"loitering": 5.0, "blocked_sidewalk": 6.0}
    )
    walk_mps_by_kind: Mapping[str, float] = field(default_factory=lambda: {"intrusion": 3.0})
    walk_slack_m: float = 4.0

    def gap(self, kind: str) -> float:
        """The gap (s) after which ``kind`` starts a new incident."""
        return float(self.gap_s_by_kind.get(kind, self.gap_s))

    def same(self, kind: str, robot_id: str, zone: str, x: float, y: float, t: float,
             other_kind: str, other_robot: str, other_zone: str, ox: float, oy: float,
             other_first: float, other_last: float, at: float | None = None) -> bool:
        """Whether a report (``kind`` by ``robot_id`` in ``zone`` at ``x, y`` m seen at ``t`` s)
        continues the incident ``other_*`` (seen from ``other_first`` to ``other_last`` s, last
        at ``ox, oy``). ``at``: s, when the report was at ``x, y`` (default ``t``)."""
        if kind != other_kind or zone != other_zone:
            return False
        gap = self.gap(kind)
        if t - other_last > gap or other_first - t > gap:
            return False
        if kind not in SCENE_KINDS:
            return robot_id == other_robot  # a fault is its robot's own
        d = math.hypot(x - ox, y - oy)
        walk = self.walk_mps_by_kind.get(kind)
        if walk is not None:
            dt = abs((t if at is None else at) - other_last)
            if d > walk * dt + self.walk_slack_m:
                return False  # nobody walks that far that fast: someone else
        radius = self.radius_m_by_kind.get(kind)
        return radius is None or d <= radius
