"""What the fleet knows of each robot: its last status report, when it was heard from, the link
state that follows, and which robots may take new work."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RobotMode(StrEnum):
    """A robot's mode; the order of the members is the RobotStatus MODE_* code."""

    IDLE = "idle"
    DELIVERING = "delivering"
    PATROLLING = "patrolling"
    INVESTIGATING = "investigating"
    RETURNING = "returning"
    CHARGING = "charging"
    ESTOPPED = "estopped"
    FAULT = "fault"


MODES: tuple[RobotMode, ...] = tuple(RobotMode)

#: Modes of a robot carrying out a mission that must not be interrupted for new work, even one
#: the fleet does not follow any more (its mission node restarted and resumed it from disk).
BUSY_MODES = (RobotMode.DELIVERING, RobotMode.RETURNING, RobotMode.INVESTIGATING,
              RobotMode.CHARGING)


def mode_of_code(code: int) -> RobotMode:
    """The mode of a RobotStatus MODE_* code; an unknown code is a fault."""
    return MODES[code] if 0 <= code < len(MODES) else RobotMode.FAULT


class Connection(StrEnum):
    """Link state from the age of a robot's last status."""

    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"


def connection_state(last_seen: float, now: float, stale_after: float,
                     offline_after: float) -> Connection:
    """ONLINE, STALE or OFFLINE from the age of the last status (s)."""
    age = now - last_seen
    if age <= stale_after:
        return Connection.ONLINE
    return Connection.STALE if age <= offline_after else Connection.OFFLINE


def _num(v: object) -> float | None:
    f = float(v) if isinstance(v, int | float) else math.nan
    return f if math.isfinite(f) else None


@dataclass(frozen=True, slots=True)
class RobotStatusReport:
    """A robot's status as the fleet keeps it: pose (map m, rad), WGS84 degrees (None without a
    georeference), localization health code (RobotStatus LOC_*) and quality 0..1, battery %,
    speed m/s, ETA s (None: no task), ``stamp`` the robot's time of the status (s)."""

    robot_id: str
    mode: RobotMode = RobotMode.IDLE
    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0
    latitude: float | None = None
    longitude: float | None = None
    localization_health: int = 0
    localization_quality: float = 0.0
    battery_percent: float = 0.0
    speed: float = 0.0
    current_task: str = ""
    parcels_on_board: tuple[str, ...] = ()
    eta_s: float | None = None
    estopped: bool = False
    last_error: str = ""
    stamp: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The stored form (JSON-ready)."""
        return {
            "mode": self.mode.value, "mode_code": MODES.index(self.mode), "x": self.x,
            "y": self.y, "yaw": self.yaw, "latitude": self.latitude,
            "longitude": self.longitude, "localization_health": self.localization_health,
            "localization_quality": self.localization_quality,
            "battery_percent": self.battery_percent, "speed": self.speed,
            "current_task": self.current_task, "parcels_on_board": list(self.parcels_on_board),
            "eta_s": self.eta_s, "estopped": self.estopped, "last_error": self.last_error,
            "stamp": self.stamp,
        }

    @classmethod
    def from_dict(cls, robot_id: str, d: Mapping[str, Any]) -> RobotStatusReport:
        """Inverse of :meth:`to_dict`; missing or odd fields take their defaults."""
        mode = d.get("mode")
        return cls(
            robot_id, RobotMode(mode) if mode in MODES else RobotMode.FAULT,
            float(d.get("x", 0.0)), float(d.get("y", 0.0)), float(d.get("yaw", 0.0)),
            _num(d.get("latitude")), _num(d.get("longitude")),
            int(d.get("localization_health", 0)), float(d.get("localization_quality", 0.0)),
            float(d.get("battery_percent", 0.0)), float(d.get("speed", 0.0)),
            str(d.get("current_task", "")), tuple(str(p) for p in d.get("parcels_on_board", [])),
            _num(d.get("eta_s")), bool(d.get("estopped", False)), str(d.get("last_error", "")),
            float(d.get("stamp", 0.0)))


@dataclass(frozen=True, slots=True)
class RobotView:
    """What the fleet knows of a robot now: link state, mode, e-stop, position (m), parcels on
    board, and ``stamp`` (s) when the robot published the status this view comes from."""

    id: str
    connection: Connection
    mode: RobotMode
    estopped: bool
    x: float
    y: float
    parcels: tuple[str, ...] = ()
    stamp: float = 0.0


def robot_view(report: RobotStatusReport, connection: Connection) -> RobotView:
    """The decision-relevant part of a status report."""
    return RobotView(report.robot_id, connection, report.mode, report.estopped, report.x,
                     report.y, report.parcels_on_board, report.stamp)


def free_robots(robots: Iterable[RobotView], busy: Iterable[str]) -> list[str]:
    """Robots that may take new work: online, not e-stopped, not in fault, no mission of ours
    (``busy``), and not busy with a mission of its own (BUSY_MODES); sorted by id."""
    taken = set(busy)
    return sorted(
        r.id for r in robots
        if r.connection == Connection.ONLINE and not r.estopped
        and r.mode not in (RobotMode.FAULT, RobotMode.ESTOPPED, *BUSY_MODES)
        and r.id not in taken
    )
