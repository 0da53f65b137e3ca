"""The fleet's typed records: a mission it sent and follows, an order in the order book."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dawnpatrol_core.delivery.orders import Order


class MissionKind(StrEnum):
    """What a fleet mission is for."""

    DELIVER = "deliver"
    PATROL = "patrol"
    INVESTIGATE = "investigate"


@dataclass(frozen=True, slots=True)
class MissionRecord:
    """A mission the fleet sent to ``robot_id`` at ``sent_at`` (ROS time s): its task ids, the
    orders of a delivery trip, the hotspot of a patrol visit, the place (x, y) m of an
    investigation."""

    id: str
    kind: MissionKind
    robot_id: str
    sent_at: float
    tasks: tuple[str, ...]
    orders: tuple[str, ...] = ()
    hotspot: str = ""
    at: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored form (JSON-ready; the robot id is the key it is stored under)."""
        d: dict[str, Any] = {"id": self.id, "kind": self.kind.value, "sent_at": self.sent_at,
                             "tasks": list(self.tasks)}
        if self.kind is MissionKind.DELIVER:
            d["orders"] = list(self.orders)
        if self.hotspot:
            d["hotspot"] = self.hotspot
        if self.at is not None:
            d["at"] = list(self.at)
        return d

    @classmethod
    def from_dict(cls, robot_id: str, d: Mapping[str, Any]) -> MissionRecord:
        """Inverse of :meth:`to_dict`."""
        at = d.get("at")
        return cls(str(d["id"]), MissionKind(d["kind"]), robot_id, float(d["sent_at"]),
                   tuple(str(t) for t in d.get("tasks", [])),
                   tuple(str(o) for o in d.get("orders", [])), str(d.get("hotspot", "")),
                   (float(at[0]), float(at[1])) if at is not None else None)


class OrderState(StrEnum):
    """Where an order is: waiting for a robot (planned), on a robot's trip (assigned), handed
    over (delivered), failed at the door or with its robot, back at the depot (returned), or
    left out by the planner (unserved)."""

    PLANNED = "planned"
    ASSIGNED = "assigned"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"
    UNSERVED = "unserved"


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order in the order book: its batch, state, robot, the reason of the state, planned ETA
    (shift-day s) and when it last changed (ROS time s)."""

    id: str
    batch_id: int
    order: Order
    state: OrderState
    robot_id: str | None
    reason: str
    eta: float | None
    updated_at: float


def order_counts(states: Iterable[str]) -> dict[str, int]:
    """Orders per state (every state listed, zeros included)."""
    out = {s.value: 0 for s in OrderState}
    for s in states:
        out[str(s)] = out.get(str(s), 0) + 1
    return out
