"""Where the robots must go in a district: building entrances and depot parking bays, from a
world's marker models or from a small YAML file the user writes for a SLAM map.

Sites YAML (map metres, radians)::

    entrances:          # the door on the building face; yaw points out of the building
      - {id: "101-1", x: 19.0, y: 54.0, yaw: 1.5708, handover: pin,
         address_en: "Entrance 1, Bldg 101", address_ko: "101동 1번 출입구"}
    depot:              # parking bays in order (robot i parks in bay i); yaw = parked heading
      - {x: 70.0, y: 6.5, yaw: 1.5708}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.addresses import HANDOVER_METHODS
from dawnpatrol_core.world import DistrictMarkers

_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


@dataclass(frozen=True, slots=True)
class Entrance:
    """A door: ``door`` pose on the building face (yaw out of the building), the address texts
    ('' = a placeholder is written) and the handover method."""

    id: str
    door: Pose2D
    address_ko: str = ""
    address_en: str = ""
    handover: str = "pin"
    source: str = ""

    def standing_pose(self, standoff: float) -> Pose2D:
        """Where the robot stops: ``standoff`` m out of the door, facing it."""
        c, s = math.cos(self.door.theta), math.sin(self.door.theta)
        return Pose2D(self.door.x + standoff * c, self.door.y + standoff * s,
                      math.atan2(-s, -c))


@dataclass(frozen=True, slots=True)
class Sites:
    """Entrances and depot bays (in bay order) of a district."""

    entrances: tuple[Entrance, ...]
    depot_bays: tuple[Pose2D, ...]

    def merged(self, other: Sites) -> Sites:
        """These sites plus ``other``'s (its entrances replace same-id ones; its bays follow)."""
        ids = {e.id for e in other.entrances}
        return Sites(tuple(e for e in self.entrances if e.id not in ids) + other.entrances,
                     self.depot_bays + other.depot_bays)


def sites_from_markers(markers: DistrictMarkers, source: str = "") -> Sites:
    """The sites a world marks with ``entrance_<id>`` and ``depot_<n>`` models."""
    return Sites(
        tuple(Entrance(m.id, Pose2D(m.x, m.y, m.yaw), source=f"{source}:{m.line}")
              for m in markers.entrances),
        tuple(Pose2D(m.x, m.y, m.yaw) for m in markers.depot_bays),
    )


def _num(src: str, where: str, key: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise MapError(f"{src}: {where}: field '{key}': got {v!r}, expected a number")
    return float(v)


def load_sites(path: str | Path) -> Sites:
    """Read a sites YAML (see the module docstring); ``MapError`` naming the entry and field."""
    p = Path(path)
    src = str(p)
    try:
        doc: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MapError(f"{src}: cannot read sites: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise MapError(f"{src}: field '(root)': got {type(doc).__name__}, expected a mapping "
                       "with 'entrances' and 'depot'")
    unknown = sorted(set(doc) - {"entrances", "depot"})
    if unknown:
        raise MapError(f"{src}: field {unknown[0]!r}: unknown, expected entrances or depot")
    entrances: list[Entrance] = []
    seen: set[str] = set()
    for i, it in enumerate(doc.get("entrances") or []):
        where = f"entrances[{i}]"
        if not isinstance(it, dict):
            raise MapError(f"{src}: {where}: got {it!r}, expected a mapping {{id, x, y, yaw}}")
        eid = it.get("id")
        if isinstance(eid, int) and not isinstance(eid, bool):
            eid = str(eid)
        if not isinstance(eid, str) or not eid or eid in seen or not set(eid) <= _ID_CHARS:
            raise MapError(f"{src}: {where}: field 'id': got {eid!r}, expected a unique id of "
                           "letters, digits, '_', '.', '-'")
        seen.add(eid)
        pose = Pose2D(*(_num(src, where, k, it.get(k)) for k in ("x", "y", "yaw")))
        handover = it.get("handover", "pin")
        if handover not in HANDOVER_METHODS:
            raise MapError(f"{src}: {where}: field 'handover': got {handover!r}, expected "
                           f"{' or '.join(HANDOVER_METHODS)}")
        texts = []
        for key in ("address_ko", "address_en"):
            t = it.get(key, "")
            if not isinstance(t, str):
                raise MapError(f"{src}: {where}: field '{key}': got {t!r}, expected a string")
            texts.append(t)
        extra = sorted(set(it) - {"id", "x", "y", "yaw", "handover", "address_ko", "address_en"})
        if extra:
            raise MapError(f"{src}: {where}: field {extra[0]!r}: unknown")
        entrances.append(Entrance(eid, pose, texts[0], texts[1], str(handover), src))
    bays: list[Pose2D] = []
    for i, it in enumerate(doc.get("depot") or []):
        where = f"depot[{i}]"
        if not isinstance(it, dict):
            raise MapError(f"{src}: {where}: got {it!r}, expected a mapping {{x, y, yaw}}")
        bays.append(Pose2D(*(_num(src, where, k, it.get(k)) for k in ("x", "y", "yaw"))))
    return Sites(tuple(entrances), tuple(bays))
