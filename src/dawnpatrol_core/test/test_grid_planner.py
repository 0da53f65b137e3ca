"""Tests for the inflated-grid planner: paths around obstacles, no path, inflation, backends."""

from __future__ import annotations

import numpy as np
import pytest

from dawnpatrol_core.errors import ConfigError, PlanningError
from dawnpatrol_core.maps.grid import OccupancyGrid
from dawnpatrol_core.planning.grid_planner import GridPlanner, GridPlannerConfig


def room_with_wall(gap: bool) -> OccupancyGrid:
    """20 m x 10 m at 0.05 m, border walls, a wall at x = 10 m with a 2 m gap near the top."""
    data = np.zeros((200, 400), dtype=np.int8)
    data[:2, :] = data[-2:, :] = 100
    data[:, :2] = data[:, -2:] = 100
    data[:, 198:202] = 100
    if gap:
        data[150:190, 198:202] = 0  # y in [7.5, 9.5)
    return OccupancyGrid(data, 0.05, 0.0, 0.0)


def clearance_along(grid: OccupancyGrid, pts: np.ndarray) -> float:
    """Minimum distance (m) from densely sampled path points to occupied cells."""
    occ_r, occ_c = np.nonzero(grid.occupied)
    ox, oy = grid.cell_to_world(occ_r, occ_c)
    samples = []
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        t = np.linspace(0, 1, 50)[:, None]
        samples.append(a + t * (b - a))
    s = np.vstack(samples)
    d = np.hypot(s[:, None, 0] - ox[None, :], s[:, None, 1] - oy[None, :]).min(axis=1)
    return float(d.min())


# "mcp" (scikit-image) is a comparison backend installed with the benchmarks only (bench_planning.py).
@pytest.mark.parametrize("backend", ["pyastar2d", "heapq"])
def test_path_goes_through_the_gap_with_clearance(backend: str) -> None:
    grid = room_with_wall(gap=True)
    planner = GridPlanner(grid, GridPlannerConfig(robot_radius=0.4, backend=backend))  # type: ignore[arg-type]
    path = planner.plan((3.0, 2.0), (17.0, 2.0))
    assert tuple(path.points[0]) == (3.0, 2.0)
    assert tuple(path.points[-1]) == (17.0, 2.0)
    # Must climb to the gap (y >= 7.5) to cross x = 10.
    p = path.points
    k = int(np.flatnonzero((p[:-1, 0] < 10.0) & (p[1:, 0] >= 10.0))[0])
    t = (10.0 - p[k, 0]) / (p[k + 1, 0] - p[k, 0])
    y_cross = p[k, 1] + t * (p[k + 1, 1] - p[k, 1])
    assert 7.5 + 0.35 <= y_cross <= 9.5 - 0.35
    # Straight-line lower bound: (3,2)->(10,8)->(17,2) ~ 18.4 m; string-pulled stays close.
    assert 18.0 < path.length < 21.0
    assert clearance_along(grid, path.points) >= 0.4 - 0.05


def test_no_path_when_wall_is_closed() -> None:
    planner = GridPlanner(room_with_wall(gap=False))
    with pytest.raises(PlanningError, match="unreachable"):
        planner.plan((3.0, 2.0), (17.0, 2.0))


def test_gap_narrower_than_robot_is_closed() -> None:
    grid = room_with_wall(gap=True)  # gap is 2.0 m
    with pytest.raises(PlanningError, match="unreachable"):
        GridPlanner(grid, GridPlannerConfig(robot_radius=1.1)).plan((3.0, 2.0), (17.0, 2.0))


def test_goal_inside_obstacle_and_outside_map() -> None:
    planner = GridPlanner(room_with_wall(gap=True), GridPlannerConfig(snap_radius=0.3))
    with pytest.raises(PlanningError, match="field 'goal'.*clearance"):
        planner.plan((3.0, 2.0), (10.0, 5.0))
    with pytest.raises(PlanningError, match="inside the map"):
        planner.plan((3.0, 2.0), (30.0, 5.0))


def test_start_near_wall_snaps_to_free_cell() -> None:
    planner = GridPlanner(room_with_wall(gap=True))
    path = planner.plan((0.3, 2.0), (5.0, 2.0))  # 0.2 m from the border wall
    assert tuple(path.points[0]) == (0.3, 2.0)
    assert path.length < 6.0


def test_extra_obstacles_force_a_detour() -> None:
    grid = room_with_wall(gap=True)
    planner = GridPlanner(grid)
    direct = planner.plan((3.0, 5.0), (8.0, 5.0))
    assert direct.length == pytest.approx(5.0)
    # A row of obstacle points across y in [3, 7] at x = 5.5 (a parked scooter line).
    blockers = np.column_stack((np.full(21, 5.5), np.linspace(3.0, 7.0, 21)))
    detour = planner.plan((3.0, 5.0), (8.0, 5.0), extra_obstacles=blockers)
    assert detour.length > 6.0
    assert np.all(np.abs(detour.points[:, 1] - 5.0) < 4.5)


def test_inflation_blocks_cells_near_walls() -> None:
    planner = GridPlanner(room_with_wall(gap=True), GridPlannerConfig(robot_radius=0.5))
    assert planner.is_free(5.0, 5.0)
    assert not planner.is_free(10.0 - 0.1 - 0.4, 5.0)   # 0.4 m from the wall face
    assert planner.is_free(10.0 - 0.1 - 0.8, 5.0)


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="robot_radius"):
        GridPlannerConfig(robot_radius=0.0)
    with pytest.raises(ConfigError, match="backend"):
        GridPlannerConfig(backend="dijkstra")  # type: ignore[arg-type]
