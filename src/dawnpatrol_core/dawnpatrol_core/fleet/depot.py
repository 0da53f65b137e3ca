"""The depot the fleet loads at: its stand-off pose and the parking bays robots return to."""

from __future__ import annotations

import math

from shapely.geometry import Point

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.district import DistrictMap

BAY_SPACING_M = 4.0  # between parking bays along the depot's front
BAY_MARGIN_M = 0.6  # a bay's centre keeps this far inside the depot zone (half the robot and more)


def depot_pose(dm: DistrictMap) -> Pose2D:
    """The depot's stand-off pose (from the map's depot zone); ConfigError when the map has none."""
    for z in dm.zones_of_kind("depot"):
        if z.pose is not None:
            return z.pose
    raise ConfigError(f"map '{dm.name}': no zone of kind 'depot' with a pose")


def depot_bays(dm: DistrictMap) -> tuple[Pose2D, ...]:
    """The depot's parking bays, robot ``i`` (0-based, in the fleet's robot order) parking in
    bay ``i % len``: the depot pose first, then ``BAY_SPACING_M`` to either side in turn along
    the depot's front (across its heading), as long as the bay lies inside the depot zone.
    Robots that all drive back to one pose block each other's return. A depot zone that names
    its ``bays`` (as generated districts do, from the world's depot_<n> models) gives those."""
    base = depot_pose(dm)
    zone = next(z for z in dm.zones_of_kind("depot") if z.pose is not None)
    if zone.bays:
        return zone.bays
    inner = zone.polygon.buffer(-BAY_MARGIN_M)
    ax, ay = -math.sin(base.theta), math.cos(base.theta)  # across the heading
    bays = [base]
    for k in range(1, 64):
        off = BAY_SPACING_M * ((k + 1) // 2) * (1 if k % 2 else -1)
        x, y = base.x + off * ax, base.y + off * ay
        if inner.contains(Point(x, y)):
            bays.append(Pose2D(x, y, base.theta))
    return tuple(bays)
