"""Mission tasks as the fleet plans them, before they become MissionTask messages: a delivery
trip's stops, the patrol visits planned between them, and its return to the robot's bay; a
patrol visit; an investigation."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.planning.dispatch import RobotRoute


class TaskKind(StrEnum):
    """What a robot does at a task (the MissionTask KIND_* values)."""

    DELIVER = "deliver"
    PATROL = "patrol"
    INVESTIGATE = "investigate"
    RETURN = "return"
    CHARGE = "charge"


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """One mission task. Pose in map metres/radians; windows in shift-day seconds; ``dwell_s``
    seconds; ``method`` the handover (pin | door); ``compartments`` the parcel's size."""

    kind: TaskKind
    id: str
    pose: Pose2D
    dwell_s: float = 0.0
    order_id: str = ""
    address_id: str = ""
    window_start: float = 0.0
    window_end: float = 0.0
    method: str = "pin"
    compartments: int = 1


#: The task id of a trip's return to its depot bay (where the next trip is loaded).
RETURN_TASK_ID = "depot"


def delivery_tasks(order_ids: Sequence[str], orders: Mapping[str, Order], dm: DistrictMap,
                   depot: Pose2D) -> tuple[TaskPlan, ...]:
    """One trip's tasks: a deliver task per order (stop pose = the entrance's pose, facing the
    door; orders given by lat/lon stop at their point), then a return to the bay ``depot``.
    Ids starting with '@' are patrol visits ('@<hotspot>#<k>', '/<s>' after it: the planned
    start of the watch, shift-day s): a patrol task at the hotspot's observation pose for its
    dwell, not before that start (``window_start``), so the visit ends no earlier than planned;
    its task id is the hotspot id ('<hotspot>#<k>' when the trip watches the same hotspot
    twice)."""
    hotspots = {h.id: h for h in dm.hotspots}
    watched = [i[1:].split("#", 1)[0].split("/", 1)[0] for i in order_ids if i.startswith("@")]
    tasks = []
    for oid in order_ids:
        if oid.startswith("@"):
            name, _, stay = oid[1:].partition("/")
            hid = name.split("#", 1)[0]
            h = hotspots.get(hid)
            if h is None:
                continue  # the map changed under a stored trip: nothing to watch there
            tid = hid if watched.count(hid) == 1 else name
            tasks.append(TaskPlan(TaskKind.PATROL, tid, h.observation_pose, dwell_s=h.dwell_s,
                                  window_start=float(stay) if stay else 0.0))
            continue
        o = orders[oid]
        a = dm.addresses.get(o.address_id or "")
        pose = a.pose if a is not None else Pose2D(o.x, o.y, 0.0)
        tasks.append(TaskPlan(
            TaskKind.DELIVER, oid, pose, order_id=oid, address_id=o.address_id or "",
            window_start=o.window_start, window_end=o.window_end, method=o.handover,
            compartments=o.size,
        ))
    tasks.append(TaskPlan(TaskKind.RETURN, RETURN_TASK_ID, depot))
    return tuple(tasks)


def route_trips(route: RobotRoute) -> list[tuple[str, ...]]:
    """Ids of a planned route's orders and patrol visits ('<visit id>/<planned watch start s>')
    split into depot trips, in trip order (one mission each), each trip in route order."""
    trips: dict[int, list[tuple[int, str]]] = {}
    for s in route.stops:
        trips.setdefault(s.trip, []).append((s.seq, s.order_id))
    for v in route.visits:
        start = math.floor(v.service_start)
        trips.setdefault(v.trip, []).append((v.seq, f"{v.visit_id}/{start}"))
    return [tuple(i for _, i in sorted(trips[k], key=lambda p: p[0])) for k in sorted(trips)]


def investigate_dwell_s(dm: DistrictMap, x: float, y: float, base_s: float) -> float:
    """How long to observe at (x, y) m: ``base_s``, or longer where a watch zone needs a person
    seen for its ``max_dwell_s`` before loitering can be told (plus 30 s to be sure)."""
    zone_dwell = [float(z.properties["max_dwell_s"]) for z in dm.zones_at(x, y)
                  if z.kind == "watch" and "max_dwell_s" in z.properties]
    return max([base_s] + [d + 30.0 for d in zone_dwell])
