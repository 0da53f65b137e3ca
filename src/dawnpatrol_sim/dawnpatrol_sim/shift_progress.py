"""What the scenario runner knows about a running shift: deliveries, visits, alerts, pending PINs.

Pure bookkeeping (no rclpy): the runner node feeds it events and asks it what to do next and what
to print, so the same logic is unit-tested without a ROS graph.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dawnpatrol_core.errors import ScenarioError, field_error
from dawnpatrol_core.fleet.patrol import hotspot_of
from dawnpatrol_core.fleet.services import MAX_NOTE
from dawnpatrol_core.patrol.metrics import Visit, patrol_metrics
from dawnpatrol_core.shift_clock import clock as clock  # re-exported: the runners' lines
from dawnpatrol_sim.expectations import ShiftFacts, answer_times


@dataclass(frozen=True, slots=True)
class OperatorCall:
    """A tip the operator passes on at ``at`` s of the shift: look at (x, y) m."""

    at: float
    x: float
    y: float
    note: str


def operator_calls(operator: Mapping[str, Any] | None, source: str) -> list[OperatorCall]:
    """The scenario's ``operator.calls`` (``[{at: s, point: [x, y], note: text}]``), in time
    order; ScenarioError names the entry and field of a bad one."""
    raw = (operator or {}).get("calls", [])
    if not isinstance(raw, list):
        raise ScenarioError(field_error(source, "operator.calls", raw, "a list of calls"))
    calls = []
    for i, c in enumerate(raw):
        name = f"operator.calls[{i}]"
        if not isinstance(c, Mapping):
            raise ScenarioError(field_error(source, name, c, "{at, point, note}"))
        at, point = c.get("at"), c.get("point")
        if not isinstance(at, int | float) or isinstance(at, bool) or not 0 <= at < math.inf:
            raise ScenarioError(field_error(source, f"{name}.at", at, "a time >= 0 s"))
        if (not isinstance(point, list) or len(point) != 2
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in point)):
            raise ScenarioError(field_error(source, f"{name}.point", point, "[x, y] in metres"))
        note = c.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_NOTE or not note.isprintable():
            raise ScenarioError(field_error(source, f"{name}.note", note, "one printable line "
                                            f"of at most {MAX_NOTE} characters"))
        calls.append(OperatorCall(float(at), float(point[0]), float(point[1]), note))
    return sorted(calls, key=lambda k: k.at)


_LATE = re.compile(r"may be up to (\d+) s late")


def call_answer(robot_id: str, eta_s: float, x: float, y: float, watch_x: float,
                watch_y: float, message: str = "") -> str:
    """The fleet's answer to a call at (x, y) m for the shift's story: who goes and when (or
    that the call waits), and where from when that is not the place itself (off limits); from
    the fleet's ``message``, what it costs: going after the trip's last parcel, or parcels
    made late."""
    if not robot_id:
        said = "queued: no robot can go yet without making a parcel late"
    else:
        after = " after handing over its trip's last parcel" if "after handing over" in message \
            else ""
        said = f"{robot_id} goes{after}, on scene in about {eta_s:.0f} s"
    if math.hypot(watch_x - x, watch_y - y) > 0.5:
        said += f", watching from ({watch_x:.1f}, {watch_y:.1f})"
    late = _LATE.search(message)
    if robot_id and late:
        said += f"; its parcels may be up to {late.group(1)} s late"
    return said


@dataclass(slots=True)
class PendingPin:
    robot_id: str
    order_id: str
    due: float


@dataclass(slots=True)
class ShiftProgress:
    """Counters and queues of one shift. ``absent``: orders whose recipient never comes."""

    orders: set[str]
    absent: set[str]
    pin_delay_s: float
    ack_delay_s: float
    delivered: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    returned: set[str] = field(default_factory=set)
    visits: list[tuple[str, str, float, float]] = field(default_factory=list)
    looks: list[tuple[float, float, float]] = field(default_factory=list)
    alerts: dict[str, tuple[str, float]] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    pins: list[PendingPin] = field(default_factory=list)
    _arrived: dict[tuple[str, str], float] = field(default_factory=dict)

    def on_event(
        self, robot_id: str, kind: str, event: str, task_id: str, detail: str, now: float,
        x: float = math.nan, y: float = math.nan,
    ) -> str | None:
        """Record a MissionEvent (at the robot's position x, y m); returns a line for the
        operator's live view (or None). Patrol visits and investigations are counted apart,
        as the shift report counts them."""
        if kind == "deliver" and event == "arrived":
            return f"{clock(now)} {robot_id} at the door for {task_id}"
        if kind == "deliver" and event == "waiting":
            return f"{clock(now)} {robot_id} waits at the door for {task_id}: {detail}"
        if kind == "deliver" and event == "announced":
            # the recipient answers the notification (absent ones never do)
            if task_id not in self.absent:
                self.pins.append(PendingPin(robot_id, task_id, now + self.pin_delay_s))
            return None
        if kind == "deliver" and event == "handed_over":
            self.delivered[task_id] = now
            return f"{clock(now)} {robot_id} DELIVERED {task_id} ({self.summary()})"
        if kind == "deliver" and event == "failed":
            self.failed[task_id] = detail
            return f"{clock(now)} {robot_id} could not deliver {task_id}: {detail}"
        if event == "returned":
            self.returned.update(p for p in detail.split(",") if p.strip())
            return f"{clock(now)} {robot_id} back at the depot {detail}".rstrip()
        if kind in ("patrol", "investigate") and event == "arrived":
            self._arrived[(robot_id, task_id)] = now
            if kind == "investigate":
                self.looks.append((now, x, y))
                return f"{clock(now)} {robot_id} on scene for {task_id}"
            return None
        if kind == "patrol" and event == "dwell_done":
            # a trip's second visit of one hotspot is 'hs#2': the visit is the hotspot's
            hotspot = hotspot_of(task_id)
            self.visits.append((robot_id, hotspot, self._arrived.pop((robot_id, task_id), now),
                                now))
            return f"{clock(now)} {robot_id} patrolled {hotspot} (visits: {len(self.visits)})"
        if kind == "investigate" and event == "dwell_done":
            self._arrived.pop((robot_id, task_id), None)
            return f"{clock(now)} {robot_id} looked at {task_id}: {detail}".rstrip(": ")
        return None

    def due_pins(self, now: float) -> list[PendingPin]:
        """PINs whose recipient arrives now; they are removed from the queue."""
        due = [p for p in self.pins if p.due <= now]
        self.pins = [p for p in self.pins if p.due > now]
        return due

    def on_alert(self, uuid: str, kind: str, now: float) -> bool:
        """Record an alert; True the first time this uuid is seen."""
        if uuid in self.alerts:
            return False
        self.alerts[uuid] = (kind, now)
        return True

    def due_acks(self, now: float) -> list[str]:
        """Alert uuids the operator acknowledges now (each once)."""
        due = [
            u
            for u, (_, t) in self.alerts.items()
            if u not in self.acked and now - t >= self.ack_delay_s
        ]
        self.acked.update(due)
        return due

    def finished(self) -> bool:
        """Every order delivered or failed (a failed parcel still has to reach the depot)."""
        done = set(self.delivered) | set(self.failed)
        return self.orders <= done

    def summary(self) -> str:
        n = len(self.orders)
        return (
            f"{len(self.delivered)}/{n} delivered, {len(self.failed)} failed, "
            f"{len(self.visits)} patrol visits, {len(self.looks)} calls looked at, "
            f"{len(self.alerts)} alerts"
        )

    def facts(self, window_end: Mapping[str, float], hotspots: Mapping[str, float],
              calls: list[tuple[float, float, float]], start: float, end: float) -> ShiftFacts:
        """The shift's facts for its expectations: ``window_end`` by order id (s),
        ``hotspots``: id -> idleness bound (s), ``calls``: (t, x, y) of operator calls, the
        shift from ``start`` to ``end`` (s)."""
        home = frozenset(self.orders - self.absent)
        in_window = frozenset(o for o, t in self.delivered.items()
                              if t <= window_end.get(o, math.inf) + 1e-6)
        ids = list(hotspots)
        visits = [Visit(r, ids.index(h), a, b) for r, h, a, b in self.visits if h in hotspots]
        over: dict[str, int] = {}
        if ids:
            m = patrol_metrics(visits, ids, np.array([hotspots[h] for h in ids]), start, end)
            over = {h.hotspot_id: h.violations for h in m.hotspots}
        return ShiftFacts(home, in_window, tuple(self.alerts.values()), over,
                          answer_times(calls, self.looks), len(self.visits))
