"""Order batches in and plans out: a batch parsed against the district's address book, planned
at the shift's clock, and the JSON form of a plan and an order (service replies, the store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dawnpatrol_core.delivery.orders import Order, parse_orders
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap
from dawnpatrol_core.planning.dispatch import (
    DispatchPlan,
    DispatchSettings,
    PatrolVisit,
    Robot,
    RobotState,
    TravelFn,
    plan_dispatch,
    replan,
)


def parse_batch(text: str, fmt: str, source: str, dm: DistrictMap, now: float,
                service_time_s: float, compartments: int) -> list[Order]:
    """A batch of orders given as text in ``fmt`` (csv, yaml, json), validated all-or-nothing
    against the map's address book (orders by lat/lon are placed with the map's georeference);
    ``now`` in shift-day seconds. Raises OrderError listing every problem, each naming
    ``source``."""
    addresses = {k: a.pose for k, a in dm.addresses.items()}
    locate = dm.from_wgs84 if dm.georef is not None else None
    return parse_orders(text, fmt, source, addresses, now, service_time_s, compartments, locate)


def plan_batch(orders: Sequence[Order], robots: Sequence[Robot], depot: Pose2D,
               travel: TravelFn, settings: DispatchSettings, now: float,
               visits: Sequence[PatrolVisit] = ()) -> DispatchPlan:
    """Plan a batch (and the patrol ``visits`` due meanwhile) at shift-day time ``now`` (s):
    before the shift starts, every robot leaves the depot at its shift start; mid-shift, every
    robot loads at the depot from ``now`` on."""
    xy = (depot.x, depot.y)
    if all(now <= r.shift_start for r in robots):
        return plan_dispatch(orders, robots, xy, travel, settings, visits)
    states = [RobotState(r, depot.x, depot.y, now) for r in robots]
    return replan(states, orders, xy, travel, settings, now, visits)


def order_to_dict(o: Order) -> dict[str, Any]:
    """The stored form of an order (JSON-ready)."""
    return {
        "id": o.id, "address_id": o.address_id, "lat": o.lat, "lon": o.lon, "x": o.x, "y": o.y,
        "window_start": o.window_start, "window_end": o.window_end, "size": o.size,
        "handover": o.handover, "priority": o.priority,
    }


def order_from_dict(d: Mapping[str, Any]) -> Order:
    """Inverse of :func:`order_to_dict`."""
    return Order(
        id=str(d["id"]), address_id=d.get("address_id"), lat=d.get("lat"), lon=d.get("lon"),
        x=float(d["x"]), y=float(d["y"]), window_start=float(d["window_start"]),
        window_end=float(d["window_end"]), size=int(d.get("size", 1)),
        handover="door" if d.get("handover") == "door" else "pin",
        priority=int(d.get("priority", 0)),
    )


def plan_to_json(plan: DispatchPlan, orders: Mapping[str, Order], map_dir: str) -> dict[str, Any]:
    """The plan as the CLI and reports read it (times: shift-day seconds)."""
    routes = []
    for r in plan.routes:
        stops = []
        for s in r.stops:
            o = orders[s.order_id]
            stops.append({
                "order_id": s.order_id, "address_id": o.address_id or "", "x": round(s.x, 3),
                "y": round(s.y, 3), "eta": round(s.arrival, 1),
                "service_start": round(s.service_start, 1), "trip": s.trip,
                "window_start": o.window_start, "window_end": o.window_end,
            })
        routes.append({
            "robot_id": r.robot_id, "departure": round(r.departure, 1),
            "return_time": round(r.return_time, 1), "distance_m": round(r.distance_m, 1),
            "stops": stops,
            "visits": [{"visit_id": v.visit_id, "hotspot_id": v.hotspot_id,
                        "x": round(v.x, 3), "y": round(v.y, 3), "eta": round(v.arrival, 1),
                        "leave": round(v.departure, 1), "trip": v.trip} for v in r.visits],
        })
    return {
        "routes": routes,
        "unserved": [{"order_id": oid, "reason": why} for oid, why in plan.unserved],
        "missed_visits": [{"visit_id": vid, "reason": why} for vid, why in plan.missed],
        "robots_needed": plan.robots_needed,
        "robots_lower_bound": plan.robots_lower_bound,
        "map_dir": map_dir,
    }
