"""Laser odometry: point-to-line ICP between two 2-D scans, with a degeneracy check.

The reference scan is cut into surfaces (lines through neighbouring beams) and small foreground
blobs (posts, poles); the directions the fit cannot see (the length of a featureless corridor) keep
the seed, the wheel odometry, instead of a falsely confident match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from dawnpatrol_core.errors import ConfigError, field_error
from dawnpatrol_core.geometry import FloatArray, Pose2D, wrap_angle

# Rotation is compared with translation at this lever arm (m): a turn of 1 rad counts like a
# shift of 1 m, so the information eigenvalues come in "beams' worth" of constraint.
LEVER = 1.0
# Adaptive break-point detector: two neighbouring returns belong to one surface if they are no
# farther apart than a wall seen this obliquely (rad from along the beam) would put them.
_BREAK_INCIDENCE = math.radians(10.0)
_WINDOW = 8  # beams either side of a return in its local line fit ...
_REACH = 0.6  # m ... and at most this far from it (a short window gives a noisy normal)
_MIN_LINE = 5  # returns that make a line
_POST_SIZE = 0.6  # m, a foreground run at most this wide is a post (pole, tree, bollard)
_POST_GAP = 0.3  # m, ... standing at least this far in front of the returns beside it
_MAX_DROPOUT = 2  # beams in a row without a return that may still be a surface's dropouts
_NN_MAX = 1.0  # m, a reference point farther than this from a scan point is no correspondence


@dataclass(frozen=True, slots=True)
class ScanMatcherConfig:
    """ICP tuning. ``sigma``: lidar range noise (m, 1-sigma): line fits must hold within
    2.5 sigma, residuals beyond 2 sigma get Huber weights. ``max_dist``: largest point-to-line
    residual (m) kept in the first iteration (halved each iteration down to 3 sigma).
    ``min_info``: smallest information eigenvalue (beams' worth of full constraint, rotation
    at a 1 m lever) of a trusted direction. ``max_iterations``: Gauss-Newton steps at most.
    """

    sigma: float = 0.02
    max_dist: float = 0.5
    min_info: float = 0.25
    max_iterations: int = 20

    def __post_init__(self) -> None:
        for name, value, lo, hi in (("sigma", self.sigma, 0.0, 1.0),
                                    ("max_dist", self.max_dist, 0.0, 10.0),
                                    ("min_info", self.min_info, 0.0, 1e6)):
            if not (math.isfinite(value) and lo < value <= hi):
                raise ConfigError(field_error("scan matcher", name, value, f"in ({lo}, {hi}]"))
        if not 1 <= self.max_iterations <= 1000:
            raise ConfigError(field_error("scan matcher", "max_iterations", self.max_iterations,
                                          "in [1, 1000]"))


@dataclass(frozen=True, slots=True)
class ReferenceScan:
    """A scan prepared as an ICP target, in the robot frame it was taken in.

    ``points``: (K, 2) m, the returns that lie on a surface or a post; ``normals``: (K, 2) unit
    normals of their lines (for posts: the line of sight, the only direction a post's returns
    fix); ``weights``: (K,) in (0, 1], the precision of each return relative to a surface
    return; ``tree``: a k-d tree over ``points``.
    """

    points: FloatArray
    normals: FloatArray
    weights: FloatArray
    tree: cKDTree

    @property
    def size(self) -> int:
        return int(self.points.shape[0])

    def subset(self, keep: npt.NDArray[np.bool_]) -> ReferenceScan:
        """The reference with only the points where ``keep`` (K,) is True."""
        pts = np.ascontiguousarray(self.points[keep])
        return ReferenceScan(pts, np.ascontiguousarray(self.normals[keep]), self.weights[keep],
                             cKDTree(pts))


@dataclass(frozen=True, slots=True)
class ScanMatch:
    """The pose of a scan in the reference scan's robot frame, and how far to trust it.

    ``delta``: the motion from the reference scan to this one (m, rad). ``info``: (3, 3)
    information over (x m, y m, theta rad) (inverse covariance; residual variance from the fit,
    at least ``sigma``). ``eigenvalues``: (3,) ascending, of the information in beams' worth
    (rotation at a 1 m lever); ``degenerate``: (K, 3) unit directions in that scaled space the
    scan does not fix (eigenvalue below ``min_info``): along them ``delta`` keeps the seed.
    ``constrained``: (3 - K, 3) the trusted directions (same space).
    ``cov``: (3, 3) covariance in the trusted directions only (zero along degenerate ones).
    ``inlier_share``: matched points with a residual within the final gate over all points
    given; ``rmse``: their residual, m.
    """

    delta: Pose2D
    info: FloatArray
    cov: FloatArray
    eigenvalues: FloatArray
    degenerate: FloatArray
    constrained: FloatArray
    iterations: int
    converged: bool
    inlier_share: float
    rmse: float

    @property
    def fully_constrained(self) -> bool:
        return bool(self.degenerate.shape[0] == 0)


def scan_points(ranges: FloatArray, angles: FloatArray, mount: Pose2D) -> FloatArray:
    """(N, 2) end points (m) in the robot frame of beams ``ranges`` (N,) m at ``angles`` (N,)
    rad in the lidar frame mounted at ``mount``."""
    a = mount.theta + angles
    return np.column_stack((mount.x + ranges * np.cos(a), mount.y + ranges * np.sin(a)))


def prepare_reference(ranges: FloatArray, beams: npt.NDArray[np.int64], angle_min: float,
                      angle_increment: float, mount: Pose2D,
                      config: ScanMatcherConfig) -> ReferenceScan:
    """Cut a scan into surfaces and posts: ``ranges`` (N,) m are the usable readings of beams
    ``beams`` (N,) (ascending indices; a missing index is a beam without a usable return).

    Neighbouring returns lie on one surface unless farther apart than the break-point
    distance. A surface that is one straight line (every return within 4 sigma) gives all its
    returns that
    line's normal (fitted on all of them: a long wall's normal is then exact, and sliding
    along it gains nothing); other surfaces give each return the normal of the line through
    its neighbours when they fit one. Runs at most 0.6 m wide in front of everything beside
    them are posts: one reference point at the centroid of their returns, the line of sight as
    normal, and a weight below 1 (where a beam meets a post's round face varies by up to its
    radius). Anything else (corners, curved clutter, lone returns far along a wall) is left
    out: it fixes nothing reliably.
    """
    r = np.asarray(ranges, dtype=np.float64)
    b = np.asarray(beams, dtype=np.int64)
    pts = scan_points(r, angle_min + b.astype(np.float64) * angle_increment, mount)
    n = r.size
    if n == 0:
        empty = np.zeros((0, 2))
        return ReferenceScan(empty, empty, np.zeros(0), cKDTree(empty))
    dtheta = abs(angle_increment)
    gap = np.diff(pts, axis=0)
    # (a dropout or two inside a surface leaves it whole: the limit grows with the beams between)
    step = np.diff(b)
    limit = (np.minimum(r[:-1], r[1:]) * np.sin(step * dtheta)
             / np.sin(np.maximum(_BREAK_INCIDENCE - step * dtheta, 1e-3)) + 3.0 * config.sigma)
    brk = (step > _MAX_DROPOUT + 1) | (np.hypot(gap[:, 0], gap[:, 1]) > limit)
    first = np.concatenate(([True], brk))
    starts = np.flatnonzero(first)
    run = np.cumsum(first) - 1
    tol = 3.0 * config.sigma
    # Whole-run line fits, refitted without the returns off the first line (noise tails, a
    # post against the wall): a run with nearly all its returns on one line gives that line's
    # normal, fitted on hundreds of returns, to the returns on it.
    cnt_run = np.diff(np.append(starts, n))
    on = np.ones(n, dtype=bool)
    px, py = pts[:, 0], pts[:, 1]
    for _ in range(2):
        m = on.astype(np.float64)
        normals = _line_fit(
            np.add.reduceat(px * m, starts), np.add.reduceat(py * m, starts),
            np.add.reduceat(px * px * m, starts), np.add.reduceat(py * py * m, starts),
            np.add.reduceat(px * py * m, starts), np.add.reduceat(on, starts))
        off = np.einsum("ij,ij->i", normals[run], pts)
        mean_off = np.add.reduceat(off * m, starts) / np.maximum(np.add.reduceat(m, starts), 1)
        on = np.abs(off - mean_off[run]) <= tol
    share = np.add.reduceat(on, starts) / cnt_run
    on_line = ((cnt_run >= _MIN_LINE) & (share >= 0.9))[run] & on
    # Local line fits over the neighbours of each return (same run, within _REACH m).
    idx = np.arange(n)[:, None] + np.arange(-_WINDOW, _WINDOW + 1)[None, :]
    ok = (idx >= 0) & (idx < n)
    idx = np.clip(idx, 0, n - 1)
    cx, cy = pts[idx, 0] - pts[:, :1], pts[idx, 1] - pts[:, 1:]  # centred on each return
    ok &= (run[idx] == run[:, None]) & (cx * cx + cy * cy <= _REACH * _REACH)
    cx, cy = np.where(ok, cx, 0.0), np.where(ok, cy, 0.0)
    cnt = ok.sum(axis=1)
    nrm_w = _line_fit(cx.sum(axis=1), cy.sum(axis=1), (cx * cx).sum(axis=1),
                      (cy * cy).sum(axis=1), (cx * cy).sum(axis=1), cnt)
    # every neighbour on the line: a window over a bump or a corner gives a tilted normal
    mcx, mcy = cx.sum(axis=1) / cnt, cy.sum(axis=1) / cnt
    dev_w = np.abs(nrm_w[:, :1] * (cx - mcx[:, None]) + nrm_w[:, 1:] * (cy - mcy[:, None]))
    local = (cnt >= _MIN_LINE) & (np.where(ok, dev_w, 0.0).max(axis=1) <= tol)
    nrm = np.where(on_line[:, None], normals[run], nrm_w)
    line = on_line | local
    # Posts: compact runs with everything beside them farther away or missing. A post counts
    # once, at the centroid of its returns, along the line of sight: which part of its round
    # face a beam meets varies by up to its radius, so each return that meets it weighs less.
    last = np.append(starts[1:] - 1, n - 1)
    near = np.minimum.reduceat(r, starts)
    left, right = starts - 1, last + 1
    # Beside a post lies open space (several beams without a return) or something farther
    # away; a beam or two without a return is a dropout, and the return past it decides. A
    # scan of a full turn goes on across its seam (the last beam lies beside beam 0: straight
    # behind the robot, where a corridor's wall seen edge-on would otherwise end in a 'post'
    # that fixes the corridor's length); before beam 0 of a partial scan is unknown.
    turn = round(2.0 * math.pi / dtheta)
    seam = abs(turn * dtheta - 2.0 * math.pi) < 0.5 * dtheta and int(b[-1]) < turn
    across = int(b[0]) + turn - 1 - int(b[-1])  # beams without a return across the seam
    has_left, has_right = (left >= 0) | seam, (right < n) | seam
    li, ri = left % n, right % n
    gap_left = np.where(left >= 0, b[starts] - b[li] - 1, across if seam else b[starts])
    gap_right = np.where(right < n, b[ri] - b[last] - 1, across if seam else _MAX_DROPOUT + 1)
    open_left, open_right = gap_left > _MAX_DROPOUT, gap_right > _MAX_DROPOUT
    left_far = open_left | (has_left & (r[li] > near + _POST_GAP))
    right_far = open_right | (has_right & (r[ri] > near + _POST_GAP))
    extent = np.hypot(*(pts[last] - pts[starts]).T) + near * dtheta
    post = left_far & right_far & (extent <= _POST_SIZE)
    line &= ~post[run]
    cen = np.column_stack([np.add.reduceat(pts[:, k], starts) / cnt_run for k in (0, 1)])[post]
    sight = cen - np.array([mount.x, mount.y])
    sight /= np.maximum(np.hypot(sight[:, 0], sight[:, 1]), 1e-9)[:, None]
    spread = extent[post] / 6.0  # ~ a third of the radius
    kp = np.ascontiguousarray(np.vstack((pts[line], cen)))
    return ReferenceScan(
        kp, np.ascontiguousarray(np.vstack((nrm[line], sight))),
        np.concatenate((np.ones(int(line.sum())),
                        config.sigma**2 / (config.sigma**2 + spread * spread))),
        cKDTree(kp))


def _line_fit(sx: FloatArray, sy: FloatArray, sxx: FloatArray, syy: FloatArray,
              sxy: FloatArray, cnt: npt.NDArray[np.int64]) -> FloatArray:
    """Unit normals (K, 2) of the least-squares lines through point sets given by their sums
    of x, y, x², y², xy and their counts."""
    c = np.maximum(cnt, 1)
    mx, my = sx / c, sy / c
    vxx, vyy, vxy = sxx / c - mx * mx, syy / c - my * my, sxy / c - mx * my
    major = 0.5 * np.arctan2(2.0 * vxy, vxx - vyy)
    return np.column_stack((-np.sin(major), np.cos(major)))
def match_scan(ref: ReferenceScan, points: FloatArray, seed: Pose2D,
               config: ScanMatcherConfig) -> ScanMatch:
    """Point-to-line ICP of ``points`` (M, 2) m (a scan in its robot frame) onto ``ref``,
    starting from ``seed`` (the motion from the reference scan, e.g. wheel odometry).

    Gauss-Newton on point-to-line residuals with Huber weights. The residual gate stays at
    ``max_dist`` while the steps are large, then halves each iteration down to 3 sigma. Each
    step is taken only along the directions the correspondences constrain (eigenvalue of
    their information, Huber weights left out, at least ``min_info``), so the degenerate ones
    keep the seed.
    """
    q = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    m = q.shape[0]
    x = np.array([seed.x, seed.y, seed.theta], dtype=np.float64)
    scale = np.array([1.0, 1.0, LEVER])
    sigma = config.sigma
    huber, floor = 2.0 * sigma, 3.0 * sigma
    gate = config.max_dist
    converged = False
    it = 0
    info = np.zeros((3, 3))
    res = np.zeros(0)
    w = np.zeros(0)
    evals = np.zeros(3)
    evecs = np.eye(3)
    if ref.size < 3 or m < 3:
        return _result(x, info, evals, evecs, sigma, config, 0, False, 0, 0.0, m)
    while it < config.max_iterations:
        it += 1
        c, s = math.cos(x[2]), math.sin(x[2])
        rq = q @ np.array([[c, s], [-s, c]])  # rotated points (rows: R @ q_i)
        wq = rq + x[:2]
        d, j = ref.tree.query(wq, distance_upper_bound=_NN_MAX)
        found = np.flatnonzero(np.isfinite(d))
        jj = j[found]
        nrm = ref.normals[jj]
        res = np.einsum("ij,ij->i", nrm, wq[found] - ref.points[jj])
        inl = np.abs(res) <= gate
        nrm, res, prec, rqi = nrm[inl], res[inl], ref.weights[jj[inl]], rq[found[inl]]
        drq = np.column_stack((-rqi[:, 1], rqi[:, 0]))  # d(R q)/d theta
        jac = np.column_stack((nrm, np.einsum("ij,ij->i", nrm, drq))) / scale
        info = (jac * prec[:, None]).T @ jac
        evals, evecs = np.linalg.eigh(info)
        keep = evals >= config.min_info
        if not keep.any():
            break
        ares = np.abs(res)
        w = prec * np.where(ares <= huber, 1.0, huber / np.maximum(ares, 1e-12))
        good = evecs[:, keep]
        jg = jac @ good
        step_s = -good @ np.linalg.solve((jg * w[:, None]).T @ jg, (jg * w[:, None]).T @ res)
        x += step_s / scale
        x[2] = wrap_angle(float(x[2]))
        size = float(np.linalg.norm(step_s))
        if size < 0.01:
            # (a millimetre: correspondences flipping between neighbours keep it from zero)
            if gate <= floor and size < 1e-3:
                converged = True
                break
            gate = max(0.5 * gate, floor)
    n_in = int(res.size)
    rmse = float(np.sqrt(np.mean(res * res))) if n_in else 0.0
    var = max(float(np.sum(w * res * res) / max(float(w.sum()), 1e-12)), sigma * sigma) \
        if w.size == res.size and n_in else sigma * sigma
    return _result(x, info, evals, evecs, math.sqrt(var), config, it, converged, n_in, rmse, m)


def _result(x: FloatArray, info_s: FloatArray, evals: FloatArray, evecs: FloatArray, sd: float,
            config: ScanMatcherConfig, iterations: int, converged: bool, n_in: int,
            rmse: float, m: int) -> ScanMatch:
    """Package a fit: ``info_s`` (3, 3) and its eigen-pairs are in the scaled space (beams'
    worth, rotation at the lever arm); ``sd`` the residual scale, m."""
    scale = np.array([1.0, 1.0, LEVER])
    keep = evals >= config.min_info
    good, bad = evecs[:, keep], evecs[:, ~keep]
    cov_s = (good / np.maximum(evals[keep], 1e-12)) @ good.T * (sd * sd)
    return ScanMatch(
        delta=Pose2D(float(x[0]), float(x[1]), wrap_angle(float(x[2]))),
        info=np.asarray(info_s * np.outer(scale, scale) / (sd * sd), dtype=np.float64),
        cov=np.asarray(cov_s / np.outer(scale, scale), dtype=np.float64),
        eigenvalues=np.asarray(evals, dtype=np.float64),
        degenerate=np.asarray(bad.T, dtype=np.float64),
        constrained=np.asarray(good.T, dtype=np.float64),
        iterations=iterations,
        converged=converged,
        inlier_share=n_in / m if m else 0.0,
        rmse=rmse,
    )
