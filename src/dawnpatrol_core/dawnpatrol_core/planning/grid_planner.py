"""Path planning on the inflated occupancy grid, for off-graph legs and detours around blockages.

The map is inflated once by the robot radius (distance transform) and downsampled (conservatively)
to a coarse planning grid; each query runs 8-connected A* there and string-pulls the result.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from dawnpatrol_core.errors import ConfigError, PlanningError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.grid import OccupancyGrid

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Backend = Literal["pyastar2d", "mcp", "heapq"]
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True, slots=True)
class GridPlannerConfig:
    """Tuning of the grid planner.

    ``robot_radius``: m, cells closer than this to an obstacle are forbidden.
    ``resolution``: m per planning cell (the map is downsampled to it, conservatively).
    ``clearance``: m, within this distance of obstacles a cell costs up to ``clearance_weight``
    extra per step, so paths keep to the middle of sidewalks.
    ``unknown_is_free``: treat unknown map cells as free (default: as obstacles).
    ``backend``: "pyastar2d" (compiled A*, the default: fastest measured), "mcp" (scikit-image
    minimum-cost path) or "heapq" (pure-Python A*, no extra dependency).
    """

    robot_radius: float = 0.4
    resolution: float = 0.2
    clearance: float = 1.0
    clearance_weight: float = 1.0
    unknown_is_free: bool = False
    snap_radius: float = 1.0
    backend: Backend = "pyastar2d"

    def __post_init__(self) -> None:
        for name in ("robot_radius", "resolution", "snap_radius"):
            v = getattr(self, name)
            if not v > 0.0:
                raise ConfigError(f"GridPlannerConfig: field '{name}': got {v!r}, expected > 0")
        if self.backend not in ("pyastar2d", "mcp", "heapq"):
            raise ConfigError(
                f"GridPlannerConfig: field 'backend': got {self.backend!r}, "
                "expected one of pyastar2d, mcp, heapq"
            )


@dataclass(frozen=True, slots=True, eq=False)
class GridPath:
    """A grid path: ``points`` (N, 2) float64 metres, start first; ``length`` metres."""

    points: FloatArray
    length: float


class GridPlanner:
    """Plans collision-free paths on one map; the inflation and downsampling are done once."""

    def __init__(self, grid: OccupancyGrid, config: GridPlannerConfig | None = None) -> None:
        self.config = cfg = config or GridPlannerConfig()
        f = max(1, int(round(cfg.resolution / grid.resolution)))
        self.factor = f
        self.resolution = grid.resolution * f
        self.origin_x = grid.origin_x
        self.origin_y = grid.origin_y
        blocked = grid.occupied if cfg.unknown_is_free else ~grid.free
        # Distance (m) from every fine cell centre to the nearest blocked cell.
        dist = ndimage.distance_transform_edt(~blocked) * grid.resolution
        h, w = blocked.shape
        hc, wc = -(-h // f), -(-w // f)
        pad = np.zeros((hc * f, wc * f))
        pad[:h, :w] = dist
        # Coarse cell clearance = the worst fine cell inside it (conservative).
        self.clearance = pad.reshape(hc, f, wc, f).min(axis=(1, 3))
        self.blocked: BoolArray = self.clearance < cfg.robot_radius
        extra = np.clip((cfg.clearance - self.clearance) / max(cfg.clearance, 1e-9), 0.0, 1.0)
        self.weights = (1.0 + cfg.clearance_weight * extra).astype(np.float32)

    # -- queries ---------------------------------------------------------------------------

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) of the planning cell containing (x, y) metres (may be out of bounds)."""
        return (
            int(math.floor((y - self.origin_y) / self.resolution)),
            int(math.floor((x - self.origin_x) / self.resolution)),
        )

    def is_free(self, x: float, y: float) -> bool:
        """True when the robot (as a disc of ``robot_radius``) fits at (x, y) metres."""
        r, c = self.cell_of(x, y)
        h, w = self.blocked.shape
        return 0 <= r < h and 0 <= c < w and not bool(self.blocked[r, c])

    def plan(
        self,
        start: Pose2D | tuple[float, float],
        goal: Pose2D | tuple[float, float],
        extra_obstacles: FloatArray | None = None,
        obstacle_radius: float = 0.3,
    ) -> GridPath:
        """Shortest clear path from ``start`` to ``goal`` (metres); PlanningError if none.

        ``extra_obstacles``: (K, 2) float64 world points (m) seen by the robot but not in the map
        (e.g. a blocked sidewalk), each blocking a disc of ``obstacle_radius`` + robot radius.
        """
        sx, sy = (start.x, start.y) if isinstance(start, Pose2D) else start
        gx, gy = (goal.x, goal.y) if isinstance(goal, Pose2D) else goal
        blocked, weights = self.blocked, self.weights
        if extra_obstacles is not None and len(extra_obstacles):
            blocked, weights = self._with_obstacles(extra_obstacles, obstacle_radius)
        s = self._snap(sx, sy, blocked, "start")
        g = self._snap(gx, gy, blocked, "goal")
        cells = self._search(s, g, blocked, weights)
        cells = _corners(cells)
        cells = _string_pull(cells, blocked)
        xs = self.origin_x + (cells[:, 1] + 0.5) * self.resolution
        ys = self.origin_y + (cells[:, 0] + 0.5) * self.resolution
        pts = np.column_stack((xs, ys))
        pts[0] = (sx, sy)
        pts[-1] = (gx, gy)
        if len(pts) == 1:
            pts = np.array([[sx, sy], [gx, gy]])
        seg = np.hypot(np.diff(pts[:, 0]), np.diff(pts[:, 1]))
        return GridPath(pts, float(seg.sum()))

    # -- internals ---------------------------------------------------------------------------

    def _with_obstacles(
        self, pts: FloatArray, radius: float
    ) -> tuple[BoolArray, npt.NDArray[np.float32]]:
        blocked = self.blocked.copy()
        weights = self.weights.copy()
        reach = radius + self.config.robot_radius
        k = int(math.ceil(reach / self.resolution))
        dr, dc = np.mgrid[-k : k + 1, -k : k + 1]
        disc = (np.hypot(dr, dc) * self.resolution) <= reach
        rows = np.floor((pts[:, 1] - self.origin_y) / self.resolution).astype(np.int64)
        cols = np.floor((pts[:, 0] - self.origin_x) / self.resolution).astype(np.int64)
        rr = (rows[:, None] + dr[disc][None, :]).ravel()
        cc = (cols[:, None] + dc[disc][None, :]).ravel()
        h, w = blocked.shape
        ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        blocked[rr[ok], cc[ok]] = True
        return blocked, weights

    def _snap(self, x: float, y: float, blocked: BoolArray, what: str) -> tuple[int, int]:
        """The cell of (x, y), or the nearest free cell within ``snap_radius`` of it."""
        r, c = self.cell_of(x, y)
        h, w = blocked.shape
        if not (0 <= r < h and 0 <= c < w):
            raise PlanningError(
                f"grid plan: field '{what}': got ({x:.2f}, {y:.2f}), "
                "expected a point inside the map"
            )
        if not blocked[r, c]:
            return r, c
        k = int(math.ceil(self.config.snap_radius / self.resolution))
        r0, r1, c0, c1 = max(0, r - k), min(h, r + k + 1), max(0, c - k), min(w, c + k + 1)
        win = ~blocked[r0:r1, c0:c1]
        rr, cc = np.nonzero(win)
        if len(rr) == 0:
            raise PlanningError(
                f"grid plan: field '{what}': got ({x:.2f}, {y:.2f}), expected a point with "
                f"{self.config.robot_radius} m clearance (none free within "
                f"{self.config.snap_radius} m)"
            )
        d = (rr + r0 - r) ** 2 + (cc + c0 - c) ** 2
        i = int(np.argmin(d))
        return int(rr[i] + r0), int(cc[i] + c0)

    def _search(
        self,
        s: tuple[int, int],
        g: tuple[int, int],
        blocked: BoolArray,
        weights: npt.NDArray[np.float32],
    ) -> npt.NDArray[np.int64]:
        backend = self.config.backend
        if backend == "pyastar2d":
            return _search_pyastar(s, g, blocked, weights)
        if backend == "mcp":
            return _search_mcp(s, g, blocked, weights)
        return _search_heapq(s, g, blocked, weights)


def _unreachable() -> PlanningError:
    return PlanningError(
        "grid plan: field 'goal': got an unreachable goal, expected one connected to the start "
        "through free space"
    )


def _search_pyastar(
    s: tuple[int, int], g: tuple[int, int], blocked: BoolArray, weights: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    import pyastar2d  # type: ignore[import-not-found,import-untyped,unused-ignore]

    w = np.where(blocked, np.inf, weights).astype(np.float32)
    path = pyastar2d.astar_path(w, s, g, allow_diagonal=True)
    if path is None:
        raise _unreachable()
    return np.asarray(path, dtype=np.int64)


def _search_mcp(
    s: tuple[int, int], g: tuple[int, int], blocked: BoolArray, weights: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    from skimage.graph import MCP_Geometric

    w = np.where(blocked, -1.0, weights.astype(np.float64))
    mcp = MCP_Geometric(w, fully_connected=True)
    costs, _ = mcp.find_costs([s], [g], find_all_ends=True)
    if not np.isfinite(costs[g]):
        raise _unreachable()
    return np.asarray(mcp.traceback(g), dtype=np.int64)


def _search_heapq(
    s: tuple[int, int], g: tuple[int, int], blocked: BoolArray, weights: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """8-connected A* in pure Python over flat indices (octile heuristic, unit minimum weight)."""
    h, w = blocked.shape
    wf = weights.astype(np.float64).ravel().tolist()
    free = (~blocked).ravel().tolist()
    start, goal = s[0] * w + s[1], g[0] * w + g[1]
    gr, gc = g
    steps = [(dr, dc, dr * w + dc, _SQRT2 if dr and dc else 1.0)
             for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
    cost = {start: 0.0}
    parent = {start: -1}
    heap = [(0.0, 0.0, start)]
    done: set[int] = set()
    while heap:
        _, cu, u = heapq.heappop(heap)
        if u == goal:
            break
        if u in done:
            continue
        done.add(u)
        ur, uc = divmod(u, w)
        for dr, dc, dv, step in steps:
            vr, vc = ur + dr, uc + dc
            if not (0 <= vr < h and 0 <= vc < w):
                continue
            v = u + dv
            if not free[v] or v in done:
                continue
            nc = cu + step * 0.5 * (wf[u] + wf[v])
            if nc < cost.get(v, math.inf):
                cost[v] = nc
                parent[v] = u
                ar, ac = abs(vr - gr), abs(vc - gc)
                hh = max(ar, ac) + (_SQRT2 - 1.0) * min(ar, ac)
                heapq.heappush(heap, (nc + hh, nc, v))
    if goal not in parent:
        raise _unreachable()
    out = []
    u = goal
    while u >= 0:
        out.append(divmod(u, w))
        u = parent[u]
    out.reverse()
    return np.asarray(out, dtype=np.int64)


def _corners(cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Keep the first, last and every cell where the step direction changes."""
    if len(cells) <= 2:
        return cells
    d = np.diff(cells, axis=0)
    change = np.any(d[1:] != d[:-1], axis=1)
    keep = np.concatenate(([True], change, [True]))
    return cells[keep]


def _visible(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], blocked: BoolArray) -> bool:
    """True when the straight segment between cell centres a and b crosses no blocked cell."""
    n = int(3 * max(abs(int(b[0] - a[0])), abs(int(b[1] - a[1])))) + 2
    t = np.linspace(0.0, 1.0, n)
    r = np.rint(a[0] + t * (b[0] - a[0])).astype(np.int64)
    c = np.rint(a[1] + t * (b[1] - a[1])).astype(np.int64)
    return not bool(blocked[r, c].any())


def _string_pull(cells: npt.NDArray[np.int64], blocked: BoolArray) -> npt.NDArray[np.int64]:
    """Greedy line-of-sight shortcutting over the corner cells."""
    if len(cells) <= 2:
        return cells
    out = [0]
    i = 0
    n = len(cells)
    while i < n - 1:
        j = n - 1
        while j > i + 1 and not _visible(cells[i], cells[j], blocked):
            j -= 1
        out.append(j)
        i = j
    return cells[out]
