"""Reader for VRPTW benchmark instances in the Solomon text format (also Gehring & Homberger).

Used by the dispatch benchmark to run the literature instances through our own planning model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import PlanningError
from dawnpatrol_core.planning.vrptw import RoutingProblem, Stop, Vehicle

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class SolomonInstance:
    """One instance; row 0 is the depot.

    ``xy``: (N+1, 2) float64 coordinates; ``demand``, ``ready``, ``due``, ``service``:
    (N+1,) float64 in the instance's units (time = distance at unit speed).
    """

    name: str
    num_vehicles: int
    capacity: int
    xy: FloatArray
    demand: FloatArray
    ready: FloatArray
    due: FloatArray
    service: FloatArray

    @property
    def num_customers(self) -> int:
        """Customers, depot excluded."""
        return int(self.xy.shape[0] - 1)

    def distances(self) -> FloatArray:
        """Euclidean distances, double precision: (N+1, N+1) float64."""
        diff = self.xy[:, None, :] - self.xy[None, :, :]
        return np.asarray(np.sqrt((diff**2).sum(axis=2)), dtype=np.float64)


def read_solomon(path: str | Path) -> SolomonInstance:
    """Read a Solomon-format file: name line, VEHICLE block, CUSTOMER table (7 numbers a row)."""
    p = Path(path)
    lines = p.read_text(encoding="utf-8").splitlines()
    name = next((ln.strip() for ln in lines if ln.strip()), p.stem)
    vehicles: tuple[int, int] | None = None
    rows: list[list[float]] = []
    for lineno, raw in enumerate(lines, start=1):
        parts = raw.split()
        if not parts:
            continue
        try:
            nums = [float(x) for x in parts]
        except ValueError:
            continue
        if len(nums) == 2 and vehicles is None:
            vehicles = (int(nums[0]), int(nums[1]))
        elif len(nums) == 7:
            rows.append(nums)
        else:
            raise PlanningError(
                f"{p}:{lineno}: got {len(nums)} numbers, expected 2 (vehicles, capacity) or 7"
            )
    if vehicles is None:
        raise PlanningError(f"{p}: field 'VEHICLE': got nothing, expected NUMBER and CAPACITY")
    if len(rows) < 2:
        raise PlanningError(f"{p}: field 'CUSTOMER': got {len(rows)} rows, expected >= 2")
    table = np.array(rows, dtype=np.float64)
    if not np.array_equal(table[:, 0], np.arange(len(rows))):
        raise PlanningError(f"{p}: field 'CUST NO.': expected 0, 1, 2, … in order")
    return SolomonInstance(
        name=name,
        num_vehicles=vehicles[0],
        capacity=vehicles[1],
        xy=table[:, 1:3].copy(),
        demand=table[:, 3].copy(),
        ready=table[:, 4].copy(),
        due=table[:, 5].copy(),
        service=table[:, 6].copy(),
    )


def to_routing_problem(inst: SolomonInstance, vehicle_cost: float) -> RoutingProblem:
    """The instance as our dispatch model: one vehicle type (``num_vehicles`` available), travel
    time = Euclidean distance, a fixed ``vehicle_cost`` per vehicle used (fewest vehicles first)."""
    dist = inst.distances()
    stops = tuple(
        Stop(
            name=str(i),
            location=i,
            demand=int(inst.demand[i]),
            tw_early=float(inst.ready[i]),
            tw_late=float(inst.due[i]),
            service=float(inst.service[i]),
        )
        for i in range(1, inst.num_customers + 1)
    )
    vehicle = Vehicle(
        name=inst.name,
        capacity=inst.capacity,
        start=0,
        end=0,
        shift_start=float(inst.ready[0]),
        shift_end=float(inst.due[0]),
        fixed_cost=vehicle_cost,
        count=inst.num_vehicles,
    )
    return RoutingProblem(
        depots=(0,), stops=stops, vehicles=(vehicle,), distance=dist, durations=(dist,)
    )
