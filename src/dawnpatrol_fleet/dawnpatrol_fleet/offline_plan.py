"""`dawnpatrol plan`: plan an orders file on a district map without robots or a fleet manager,
with the same dispatcher, travel model and plan JSON the fleet manager uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dawnpatrol_core.delivery.orders import load_orders
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.fleet.config import parse_clock
from dawnpatrol_core.fleet.depot import depot_pose
from dawnpatrol_core.fleet.plans import plan_to_json
from dawnpatrol_core.fleet.travel import make_travel
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.planning.dispatch import DispatchSettings, Robot, plan_dispatch


def plan_offline(
    orders_path: str | Path,
    map_dir: str | Path,
    robots: int = 3,
    time_limit: float = 5.0,
    shift_start: str = "02:00",
    *,
    shift_hours: float = 5.0,
    compartments: int = 4,
    speed: float = 1.5,
    service_time_s: float = 60.0,
) -> dict[str, Any]:
    """Plan ``orders_path`` for ``robots`` robots leaving the map's depot at ``shift_start``
    ('HH:MM') for ``shift_hours`` hours; solver ``time_limit`` s. Returns the plan JSON dict.

    Raises OrderError (every problem, one per line), MapError or ConfigError on bad input.
    """
    if robots < 1:
        raise ConfigError(f"field 'robots': got {robots}, expected at least 1")
    if not time_limit > 0:
        raise ConfigError(f"field 'time_limit': got {time_limit}, expected > 0 s")
    dm = load_district_map(map_dir)
    start = parse_clock("shift_start", shift_start)
    end = start + shift_hours * 3600.0
    addresses = {k: a.pose for k, a in dm.addresses.items()}
    locate = dm.from_wgs84 if dm.georef is not None else None
    # Planning ahead of the shift: "now" is the shift start, so earlier windows are in the past.
    orders = load_orders(orders_path, addresses, start, service_time_s, compartments, locate)
    fleet = [Robot(f"r{k + 1}", compartments, start, end, speed) for k in range(robots)]
    depot = depot_pose(dm)
    plan = plan_dispatch(
        orders, fleet, (depot.x, depot.y), make_travel(dm),
        DispatchSettings(service_time_s=service_time_s, time_limit_s=time_limit),
    )
    return plan_to_json(plan, {o.id: o for o in orders}, str(Path(map_dir)))
