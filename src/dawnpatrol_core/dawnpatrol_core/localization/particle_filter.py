"""Monte Carlo localization on an occupancy grid: odometry prediction, likelihood-field scans, GNSS.

Adaptive particle count (KLD sampling), resampling only when the effective sample size drops,
augmented-MCL recovery with random particles (around the last GNSS fix when there is one), and
laser odometry that takes over the prediction where the wheels slip.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.errors import ConfigError, SensorError, field_error
from dawnpatrol_core.geometry import FloatArray, Pose2D, wrap_angle, wrap_angles
from dawnpatrol_core.localization.gnss import gnss_consistency, gnss_log_likelihood
from dawnpatrol_core.localization.health import HealthMonitor, HealthState, HealthThresholds
from dawnpatrol_core.localization.likelihood_field import LikelihoodField
from dawnpatrol_core.localization.motion_model import (
    odometry_delta,
    sample_motion_model_odometry,
)
from dawnpatrol_core.localization.params import LocalizationParams
from dawnpatrol_core.localization.pose_sampling import sample_free_poses
from dawnpatrol_core.localization.resampling import (
    kld_prefix_length,
    low_variance_resample,
    pose_bins,
)
from dawnpatrol_core.localization.scan_matcher import (
    LEVER,
    ReferenceScan,
    ScanMatch,
    ScanMatcherConfig,
    match_scan,
    prepare_reference,
    scan_points,
)
from dawnpatrol_core.maps.grid import OccupancyGrid

# Below this weight fraction near a fix, the cloud is said to disagree with GNSS.
_GNSS_INCONSISTENT = 0.01
# Laser odometry measures the wheels' slip over at least this much of their travel (m); a fit
# that puts the robot's travel outside these shares of the wheels' is taken for a mismatch.
_MIN_SCALE_TRAVEL = 0.5
_WHEEL_SCALE = (0.3, 1.5)
_SCALE_HOLD = 2.0  # m of wheel travel a measured slip is believed without a new measurement
# Log-weight of a particle off the map or inside an occupied cell at a weighted scan: gone, unless
# the whole cloud is (then all alike, and the collapse of the scan likelihood says LOST).
_BLOCKED_LOG_WEIGHT = -1000.0


@dataclass(frozen=True, slots=True)
class LocalizationEstimate:
    """The filter's answer: pose in the map frame and its covariance.

    ``cov``: (3, 3) over (x m, y m, theta rad). ``ess``: effective sample size.
    ``score``: weighted mean per-beam hit score of the last scan in [0, 1].
    ``spread``: 1-sigma position radius (m), the square root of the largest eigenvalue of the
    position covariance.
    """

    pose: Pose2D
    cov: FloatArray
    n_particles: int
    ess: float
    score: float
    spread: float
    health: HealthState


class _Keyframe:
    """Laser odometry's reference scan and the motion since it: ``wheel`` as the wheels tell it,
    ``cloud`` as the cloud was moved (the wheels, or the fit where they disagreed); ``travel``
    (m) and ``turn`` (rad) of wheel motion."""

    __slots__ = ("cloud", "ref", "slipping", "stale", "travel", "turn", "wheel")

    def __init__(self, ref: ReferenceScan, slipping: bool) -> None:
        self.ref = ref
        self.wheel = Pose2D(0.0, 0.0, 0.0)
        self.cloud = Pose2D(0.0, 0.0, 0.0)
        self.travel = 0.0
        self.turn = 0.0
        self.stale = False  # the last fit failed: take a fresh keyframe
        # The wheels disagreed with the last fit (of the previous keyframe, at first): trust
        # the scan from the start of this one, before the slip adds up to a clear difference.
        self.slipping = slipping


@dataclass(frozen=True, slots=True)
class _Fix:
    x: float
    y: float
    std: float
    stamp: float


class ParticleFilter:
    """Particle filter over poses in ``grid``'s frame; call ``init_pose``/``init_global`` first."""

    def __init__(
        self,
        grid: OccupancyGrid,
        params: LocalizationParams,
        rng: np.random.Generator,
        field: LikelihoodField | None = None,
    ) -> None:
        self.grid = grid
        self.params = params
        self._rng = rng
        self.field = field or LikelihoodField.from_grid(
            grid,
            params.z_hit,
            params.z_rand,
            params.sigma_hit,
            params.laser_max_range,
            params.likelihood_max_dist,
        )
        p = params
        self._health = HealthMonitor(
            HealthThresholds(
                p.health_ok_score, p.health_ok_score_exit, p.health_lost_score,
                p.health_lost_score_exit, p.health_ok_spread, p.health_ok_spread_exit,
                p.health_lost_spread, p.health_lost_spread_exit, p.health_enter_dwell,
                p.health_exit_dwell,
            )
        )
        self._particles: FloatArray = np.zeros((0, 3))
        self._n_old = 0
        self._weights: FloatArray = np.zeros(0)
        self._w_slow = 0.0
        self._w_fast = 0.0
        self._moved_d = math.inf
        self._moved_a = math.inf
        self._score = 0.0
        self._fix: _Fix | None = None
        # (fix - estimate) x, y and the fix sigma of the last gnss_bias_fixes fixes (m)
        self._gnss_offsets: deque[tuple[float, float, float]] = deque(
            maxlen=params.gnss_bias_fixes)
        self._gnss_bad = 0
        self._gnss_fault = False
        self._w_ratio = 1.0  # last scan's likelihood relative to the long-term average
        self._collapsed = 0  # weighted scans in a row with a collapsed likelihood
        self._last_search = -math.inf  # last weighting of a scan without motion while LOST
        # Resampling (and any re-seeding) is deferred to the next weighted scan, so that freshly
        # injected particles are weighted before they enter an estimate.
        self._resample_due = False
        self._reseed_due = 0.0
        self._matcher = ScanMatcherConfig(sigma=p.laser_odom_sigma, max_dist=p.laser_odom_max_dist,
                                          min_info=p.laser_odom_min_info)
        self._kf: _Keyframe | None = None
        self._last_match: ScanMatch | None = None
        self._scan_motion = False  # the last weighted scan moved the cloud by laser odometry
        self._wheel_scale = 1.0
        self._unverified = math.inf  # share of the wheels' travel the robot makes (slip: < 1)
        self._scale_travel = 0.0  # wheel travel since the scale was last measured, m
        self._unverified = math.inf  # wheel travel since a fit last fixed every direction, m

    # ---------------------------------------------------------------- state access
    @property
    def particles(self) -> FloatArray:
        """(N, 3) particle poses [x m, y m, theta rad] (a read-only view)."""
        view = self._particles.view()
        view.flags.writeable = False
        return view

    @property
    def weights(self) -> FloatArray:
        """(N,) normalized particle weights (a read-only view)."""
        view = self._weights.view()
        view.flags.writeable = False
        return view

    @property
    def likelihood_ratio(self) -> float:
        """The last weighted scan's likelihood over its long-term average (1 when typical;
        below ``health_collapse_ratio`` health goes LOST at once)."""
        return self._w_ratio

    @property
    def gnss_disagrees(self) -> bool:
        """True while the cloud disagrees with the recent GNSS fixes (a re-seed is under way)."""
        return self._gnss_fault

    @property
    def last_scan_match(self) -> ScanMatch | None:
        """Laser odometry's last fit (motion since its keyframe), None before the first."""
        return self._last_match

    @property
    def scan_motion(self) -> bool:
        """True when the last weighted scan moved the cloud by laser odometry (the wheels
        disagreed with it beyond their noise)."""
        return self._scan_motion

    @property
    def wheel_scale(self) -> float:
        """The share of the wheels' travel the robot makes, as laser odometry last measured it
        where the scan fixed the motion every way: 1 while the wheels agree with the scans,
        below 1 while they slip. Between such scans (a featureless stretch) it holds for up to
        2 m of wheel travel."""
        return self._wheel_scale

    @property
    def initialized(self) -> bool:
        return bool(self._particles.shape[0] > 0)

    def set_particles(self, particles: FloatArray, weights: FloatArray | None = None) -> None:
        """Replace the cloud (tests, restoring state): ``particles`` (N, 3), ``weights`` (N,)."""
        n = particles.shape[0]
        self._particles = np.array(particles, dtype=np.float64).reshape(n, 3)
        self._n_old = n  # leading particles that are not freshly injected
        if weights is None:
            self._weights = np.full(n, 1.0 / n)
        else:
            w = np.asarray(weights, dtype=np.float64)
            self._weights = w / w.sum()

    # ---------------------------------------------------------------- initialization
    def init_pose(self, pose: Pose2D, cov: FloatArray) -> None:
        """Start from a gaussian around ``pose`` with ``cov`` (3, 3) over (x m, y m, theta rad).

        Raises ConfigError when the pose is outside the map or the covariance is malformed.
        """
        xmin, ymin, xmax, ymax = self.grid.extent
        if not (
            math.isfinite(pose.x) and math.isfinite(pose.y) and math.isfinite(pose.theta)
            and xmin <= pose.x < xmax and ymin <= pose.y < ymax
        ):
            raise ConfigError(
                field_error("initial pose", "position", (pose.x, pose.y),
                            f"inside the map [{xmin}, {xmax}) x [{ymin}, {ymax})")
            )
        c = np.asarray(cov, dtype=np.float64)
        if c.shape != (3, 3) or not np.all(np.isfinite(c)) or np.any(np.linalg.eigvalsh(
            0.5 * (c + c.T)) < -1e-12):
            raise ConfigError(
                field_error("initial pose", "covariance", c.tolist(),
                            "a finite symmetric positive semi-definite 3x3 matrix")
            )
        n = self.params.max_particles
        draws = self._rng.multivariate_normal(np.zeros(3), 0.5 * (c + c.T), size=n,
                                              method="eigh")
        parts = draws + np.array([pose.x, pose.y, pose.theta])
        parts[:, 2] = wrap_angles(parts[:, 2])
        self.set_particles(parts)
        self._reset_tracking()
        self._health.reset(HealthState.DEGRADED)

    def init_global(self, gnss_xy: tuple[float, float] | None = None, std: float = 5.0) -> None:
        """Global localization: particles in free space, around ``gnss_xy`` (m) with ``std`` (m)
        when a fix is known, else uniform over the whole map; headings uniform."""
        n = self.params.max_particles
        parts = sample_free_poses(self.grid, n, self._rng, center=gnss_xy, std=std)
        self.set_particles(parts)
        self._reset_tracking()
        self._health.reset(HealthState.LOST)

    def _reset_tracking(self) -> None:
        self._kf = None
        self._last_match = None
        self._scan_motion = False
        self._wheel_scale = 1.0
        self._w_slow = 0.0
        self._w_fast = 0.0
        self._moved_d = math.inf
        self._moved_a = math.inf
        self._gnss_bad = 0
        self._gnss_fault = False
        self._gnss_offsets.clear()
        self._w_ratio = 1.0  # last scan's likelihood relative to the long-term average
        self._collapsed = 0  # weighted scans in a row with a collapsed likelihood
        self._last_search = -math.inf  # last weighting of a scan without motion while LOST
        # Resampling (and any re-seeding) is deferred to the next weighted scan, so that freshly
        # injected particles are weighted before they enter an estimate.
        self._resample_due = False
        self._reseed_due = 0.0

    # ---------------------------------------------------------------- prediction
    def predict(self, odom_prev: Pose2D, odom_cur: Pose2D) -> None:
        """Move the cloud by the odometry increment from ``odom_prev`` to ``odom_cur``.

        Call at scan rate (the noise model assumes increments of about one scan period or more).
        While laser odometry has found the wheels slipping, their travel is scaled by the share
        the scans measured (:attr:`wheel_scale`).
        """
        self._require_init()
        step = odom_cur.relative_to(odom_prev)
        wheel = odometry_delta(odom_prev, odom_cur)
        s = self._wheel_scale
        moved = step if s == 1.0 else Pose2D(s * step.x, s * step.y, step.theta)
        delta = wheel if s == 1.0 else odometry_delta(Pose2D(0.0, 0.0, 0.0), moved)
        p = self.params
        self._particles = sample_motion_model_odometry(
            self._particles, delta, (p.alpha1, p.alpha2, p.alpha3, p.alpha4), self._rng
        )
        self._moved_d += wheel.trans
        self._moved_a += abs(wheel.rot1) + abs(wheel.rot2)
        self._scale_travel += wheel.trans
        self._unverified += wheel.trans
        if self._scale_travel > _SCALE_HOLD:
            self._wheel_scale = 1.0
        kf = self._kf
        if kf is not None:
            kf.wheel = kf.wheel.compose(step)
            kf.cloud = kf.cloud.compose(moved)
            kf.travel += wheel.trans
            kf.turn += abs(step.theta)

    # ---------------------------------------------------------------- scan update
    def usable_beams(self, ranges: npt.ArrayLike, range_min: float,
                     range_max: float) -> npt.NDArray[np.int64]:
        """Indices of the usable readings of a scan (finite, in ``[range_min, range_max)`` and
        the model's range). Raises SensorError when fewer than ``min_valid_beams``."""
        p = self.params
        r = np.asarray(ranges, dtype=np.float64).reshape(-1)
        max_r = min(range_max, p.laser_max_range)
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(r) & (r >= range_min) & (r < max_r)
        idx = np.flatnonzero(valid)
        if idx.size < p.min_valid_beams:
            raise SensorError(
                field_error("scan", "ranges", f"{idx.size} of {r.size} usable",
                            f"at least {p.min_valid_beams} finite readings in "
                            f"[{range_min}, {max_r}) m")
            )
        return idx

    def update_scan(
        self,
        ranges: FloatArray,
        angle_min: float,
        angle_increment: float,
        range_min: float,
        range_max: float,
        lidar_mount: Pose2D,
        now: float,
    ) -> bool:
        """Weight the cloud by a 2-D scan; returns True if the weights were updated.

        ``ranges``: (N,) float64 metres, beam ``i`` at ``angle_min + i * angle_increment`` rad in
        the lidar frame; ``lidar_mount``: lidar pose in the robot frame. NaN, ±inf and readings
        outside ``[range_min, range_max)`` are ignored (max-range returns carry no end point).
        Weights change only after the robot moved ``update_min_d``/``update_min_a`` since the
        last weighted scan; the match score and health are refreshed on every scan.
        Raises SensorError when fewer than ``min_valid_beams`` readings are usable.
        """
        self._require_init()
        p = self.params
        r = np.asarray(ranges, dtype=np.float64).reshape(-1)
        idx = self.usable_beams(r, range_min, range_max)
        every = idx
        if idx.size > p.max_beams:
            idx = idx[np.rint(np.linspace(0, idx.size - 1, p.max_beams)).astype(np.int64)]
        moved = self._moved_d >= p.update_min_d or self._moved_a >= p.update_min_a
        # LOST, the robot stands still (the navigator will not drive blind): keep searching with
        # the scans it has, or it would never find itself again.
        searching = (self._health.state is HealthState.LOST
                     and now - self._last_search >= p.lost_update_period)
        if searching:
            self._last_search = now
        moved = moved or searching
        if moved:
            self._apply_pending(now)
        angles = angle_min + idx.astype(np.float64) * angle_increment
        # Odometry can be far wrong (wheels slipping on wet leaves, a push): while tracking,
        # laser odometry checks the wheels' motion against the scan's and the cloud follows the
        # scan where they disagree.
        self._scan_motion = False
        if moved and p.laser_odom_beams > 0 and self._health.state is HealthState.OK:
            self._laser_odometry(r, every, angle_min, angle_increment, lidar_mount)
        # The local scan match (scan_match_range > 0), where laser odometry has not checked the
        # wheels' length for scan_match_after m (a featureless stretch): look for a pose close
        # by that explains the scan much better than the cloud does, and move part of the
        # cloud there before weighting; the beams that pose explains then count, however few
        # of the other particles back them.
        matched = 0
        if (moved and self._health.state is HealthState.OK
                and (p.laser_odom_beams == 0 or self._unverified >= p.scan_match_after)):
            matched = self._match_scan(
                r[every], angle_min + every.astype(np.float64) * angle_increment, lidar_mount)
        log_p = self._beam_log_likelihood(r[idx], angles, lidar_mount, self._particles)
        hit_nb = self.field.hit_score(log_p)
        # Beam skipping: a beam that ends far from any obstacle for most of the cloud hit
        # something unmapped (a person, a parked van); leave it out. When most beams disagree,
        # either the cloud is wrong or something big and unmapped stands close (a wall of cones
        # across the sidewalk): only a wrong cloud makes beams pass through mapped walls, so
        # all beams count again only if enough of the disagreeing ones do. Only while tracking
        # (health OK): a cloud that is still searching must not vote beams away.
        use = np.ones(idx.size, dtype=bool)
        if self._health.state is HealthState.OK:
            support = self._weights @ (hit_nb > 0.5)
            use = support >= p.beam_skip_support
            if matched:
                use |= (hit_nb[-matched:] > 0.5).mean(axis=0) >= 0.5
            n_use = int(use.sum())
            if n_use < p.beam_skip_min_share * use.size and (
                n_use < p.min_valid_beams
                or self._through_walls(r[idx][~use], angles[~use], lidar_mount)
                > p.beam_skip_through_share * (use.size - n_use)
            ):
                use[:] = True
        log_p = log_p[:, use]
        b = int(use.sum())
        sum_ll = log_p.sum(axis=1, dtype=np.float64)
        # A robot cannot stand inside a wall or off the map. Seen from inside a solid building
        # every beam ends in occupied cells, a perfect match: a cloud that drifted there (at the
        # end of the market alley, 8 m into the row of stalls) scored better than the truth.
        blocked = self._blocked(self._particles)
        if moved:
            # Per-beam geometric-mean likelihood relative to a perfect match, in (0, 1], averaged
            # over the particles that were not just injected (random ones would drag it down
            # and feed back into more injection); a particle in a wall explains nothing.
            rel = np.where(blocked, 0.0, np.exp(sum_ll / b - self.field.log_p_max))
            old = self._weights[: self._n_old]
            w_avg = float(old @ rel[: self._n_old]) / max(float(old.sum()), 1e-300)
            self._w_ratio = w_avg / self._w_slow if self._w_slow > 0.0 else 1.0
            if self._w_ratio < p.health_collapse_severe_ratio:
                self._collapsed = max(self._collapsed + 1, p.health_collapse_scans)
            elif self._w_ratio < p.health_collapse_ratio:
                self._collapsed += 1
            else:
                self._collapsed = 0
            if self._w_slow <= 0.0:
                self._w_slow = self._w_fast = w_avg
            else:
                self._w_slow += p.alpha_slow * (w_avg - self._w_slow)
                self._w_fast += p.alpha_fast * (w_avg - self._w_fast)
            self._reweight(p.likelihood_gain * sum_ll + _BLOCKED_LOG_WEIGHT * blocked)
            self._n_old = self._particles.shape[0]
            self._moved_d = 0.0
            self._moved_a = 0.0
            self._check_resample()
        elif self._collapsed and self._w_slow > 0.0:
            # Standing still the weights are left alone, but a collapse that has passed (the
            # crowd moved on) must be able to clear, or a robot that stops when LOST stays LOST.
            rel = np.exp(sum_ll / b - self.field.log_p_max)
            w_now = float(self._weights @ rel) / max(float(self._weights.sum()), 1e-300)
            if w_now / self._w_slow >= p.health_collapse_ratio:
                self._collapsed = 0
        # The match score (health) is over the beams used: a skipped beam hit something that is
        # not in the map, which says nothing about where the robot is.
        self._score = float(self._weights @ hit_nb[:, use].mean(axis=1))
        self._update_health(now)
        if p.laser_odom_beams > 0 and moved:
            self._renew_keyframe(r, every, angle_min, angle_increment, lidar_mount)
        return moved

    def _blocked(self, poses: FloatArray) -> npt.NDArray[np.bool_]:
        """(N,) True where a pose of ``poses`` (N, >=2) lies off the map or in an occupied
        cell."""
        g = self.grid
        row, col = g.world_to_cell(poses[:, 0], poses[:, 1])
        inside = g.in_bounds(row, col)
        out = ~inside
        out[inside] = g.occupied[row[inside], col[inside]]
        return np.asarray(out, dtype=np.bool_)

    def _beam_log_likelihood(
        self, r: FloatArray, angles: FloatArray, mount: Pose2D, particles: FloatArray
    ) -> npt.NDArray[np.float32]:
        """(N, B) end-point log-likelihoods of beams ``r`` (B,) at ``angles`` (B,) for each pose."""
        ex = mount.x + r * np.cos(mount.theta + angles)  # end points in the robot frame
        ey = mount.y + r * np.sin(mount.theta + angles)
        c = np.cos(particles[:, 2])[:, None]
        s = np.sin(particles[:, 2])[:, None]
        wx = particles[:, 0:1] + c * ex - s * ey
        wy = particles[:, 1:2] + s * ex + c * ey
        return self.field.lookup(wx, wy)

    # ---------------------------------------------------------------- laser odometry
    def _laser_odometry(self, r: FloatArray, beams: npt.NDArray[np.int64], angle_min: float,
                        angle_increment: float, mount: Pose2D) -> None:
        """Match the scan (``r`` all ranges, ``beams`` the usable ones) onto the keyframe, seeded
        by the motion the cloud was given since; where the wheels' motion since the keyframe
        differs from the fit by more than their noise allows (in the directions the fit
        constrains), move the cloud by the difference between the fit and what it was given."""
        p = self.params
        kf = self._kf
        if kf is None:
            return
        sel = beams
        if sel.size > p.laser_odom_beams:
            sel = sel[np.rint(np.linspace(0, sel.size - 1, p.laser_odom_beams)).astype(np.int64)]
        pts = scan_points(r[sel], angle_min + sel.astype(np.float64) * angle_increment, mount)
        fit = match_scan(kf.ref, pts, kf.cloud, self._matcher)
        self._last_match = fit
        if (not fit.converged or fit.inlier_share < p.laser_odom_min_inliers
                or fit.constrained.shape[0] == 0):
            kf.stale = True
            return
        if fit.fully_constrained:
            self._unverified = 0.0
        slipping = _disagreement(
            fit, kf.wheel, p.laser_odom_wheel_noise * kf.travel + p.laser_odom_sigma,
            p.laser_odom_wheel_noise * kf.turn + p.laser_odom_sigma / LEVER) > p.laser_odom_gate
        follow = slipping or kf.slipping
        wheel = math.hypot(kf.wheel.x, kf.wheel.y)
        if fit.fully_constrained and wheel >= _MIN_SCALE_TRAVEL:
            # Only a fit that fixes the length too, over enough travel for a slip to show, can
            # tell whether the wheels still slip and by how much: the prediction scales their
            # travel by it until the next such fit or _SCALE_HOLD m (a featureless stretch in
            # between keeps the wheels' length, times the slip).
            scale = math.hypot(fit.delta.x, fit.delta.y) / wheel
            if slipping and not _WHEEL_SCALE[0] <= scale <= _WHEEL_SCALE[1]:
                # No slip looks like that: the fit took one repeated feature for its neighbour.
                kf.stale = True
                return
            kf.slipping = slipping
            self._wheel_scale = scale if slipping else 1.0
            self._scale_travel = 0.0
        if not follow:
            return
        # The wheels slip (or the robot was pushed): redo the prediction since the keyframe
        # with the scan's motion. Along the directions the scan does not fix, the fit kept the
        # seed, so there the cloud keeps the wheels' motion.
        fix = kf.cloud.inverse().compose(fit.delta)
        self._particles = _compose(self._particles, fix)
        kf.cloud = fit.delta
        self._scan_motion = True

    def _renew_keyframe(self, r: FloatArray, beams: npt.NDArray[np.int64], angle_min: float,
                        angle_increment: float, mount: Pose2D) -> None:
        """After a weighted scan: a fresh keyframe from it when the old one is used up (or
        failed), keeping only returns near the map at the estimate; none while not tracking."""
        p = self.params
        if self._health.state is not HealthState.OK:
            self._kf = None
            self._wheel_scale = 1.0
            return
        kf = self._kf
        if kf is not None and not kf.stale and kf.travel < p.laser_odom_keyframe_d \
                and kf.turn < p.laser_odom_keyframe_a:
            return
        slipping = kf is not None and kf.slipping
        ref = prepare_reference(r[beams], beams, angle_min, angle_increment, mount,
                                self._matcher)
        pose, _ = self._moments()
        c, s = math.cos(pose.theta), math.sin(pose.theta)
        px, py = ref.points[:, 0], ref.points[:, 1]
        hit = self.field.hit_score(self.field.lookup(pose.x + c * px - s * py,
                                                      pose.y + s * px + c * py))
        d = p.laser_odom_map_dist / self.field.sigma_hit
        self._kf = _Keyframe(ref.subset(hit >= math.exp(-0.5 * d * d)), slipping)

    def _match_scan(self, r: FloatArray, angles: FloatArray, mount: Pose2D) -> int:
        """Local scan match along the heading: a small grid of poses round the cloud's mean (up
        to ``scan_match_range`` m along the heading, a beam's width across, a little turned).
        If the best of them beats the best that is not moved along (the cloud's own small
        misfit across and in heading, which the filter mends itself) by more than
        ``scan_match_margin`` in mean beam log-likelihood, and lies at least two hit sigmas
        along (nearer ones are normal tracking jitter), ``scan_match_fraction`` of the cloud is
        redrawn round it (the last particles) and their count is returned; else 0."""
        p = self.params
        if p.scan_match_range <= 0.0 or p.scan_match_fraction <= 0.0:
            return 0
        pose, _ = self._moments()
        step = p.sigma_hit
        n_along = max(1, int(round(p.scan_match_range / (step / 1.5))))
        along = np.linspace(-p.scan_match_range, p.scan_match_range, 2 * n_along + 1)
        a, c, t = (g.ravel() for g in np.meshgrid(along, [-step, 0.0, step], [-0.02, 0.0, 0.02],
                                                  indexing="ij"))
        ch, sh = math.cos(pose.theta), math.sin(pose.theta)
        cand = np.column_stack((pose.x + ch * a - sh * c, pose.y + sh * a + ch * c,
                                pose.theta + t))
        ll = self._beam_log_likelihood(r, angles, mount, cand).mean(axis=1, dtype=np.float64)
        best = int(np.argmax(ll))
        if (abs(float(a[best])) < 2.0 * step
                or ll[best] - float(ll[np.abs(a) < 1e-9].max()) <= p.scan_match_margin):
            return 0
        n = self._particles.shape[0]
        k = max(1, int(round(p.scan_match_fraction * n)))
        keep = low_variance_resample(self._weights, n - k, self._rng)
        fresh = cand[best] + np.array([step / 2.0, step / 2.0, 0.01]) * self._rng.standard_normal(
            (k, 3))
        fresh[:, 2] = wrap_angles(fresh[:, 2])
        # set_particles counts every particle as old: the scan's average likelihood (augmented
        # MCL, collapse) is then judged on the moved cloud, which explains it, so no random
        # particles are drawn besides (in a long street they find look-alike places).
        self.set_particles(np.vstack((self._particles[keep], fresh)))
        return k

    def _through_walls(self, r: FloatArray, angles: FloatArray, mount: Pose2D) -> int:
        """How many beams ``r`` (B,) at ``angles`` (B,), cast from the cloud's mean pose, cross
        an occupied cell before their last ``2 sigma_hit`` (a beam cannot pass through a wall)."""
        pose, _ = self._moments()
        g = self.grid
        c, s = math.cos(pose.theta), math.sin(pose.theta)
        ox = pose.x + c * mount.x - s * mount.y
        oy = pose.y + s * mount.x + c * mount.y
        reach = r - 2.0 * self.params.sigma_hit
        t = np.arange(0.0, max(float(reach.max(initial=0.0)), 0.0), g.resolution)
        heading = pose.theta + mount.theta + angles
        x = ox + np.cos(heading)[:, None] * t[None, :]
        y = oy + np.sin(heading)[:, None] * t[None, :]
        row, col = g.world_to_cell(x, y)
        inside = g.in_bounds(row, col) & (t[None, :] < reach[:, None])
        occ = np.zeros(inside.shape, dtype=bool)
        occ[inside] = g.occupied[row[inside], col[inside]]
        return int(occ.any(axis=1).sum())

    def scan_log_likelihood(
        self,
        poses: FloatArray,
        ranges: FloatArray,
        angles: FloatArray,
        lidar_mount: Pose2D,
    ) -> FloatArray:
        """(M,) summed beam log-likelihood of a scan (already filtered) for poses (M, 3)."""
        ll = self._beam_log_likelihood(ranges, angles, lidar_mount, poses)
        return np.asarray(ll.sum(axis=1, dtype=np.float64))

    def _reweight(self, log_l: FloatArray) -> None:
        logw = np.log(np.maximum(self._weights, 1e-300)) + log_l
        logw -= logw.max()
        w = np.exp(logw)
        self._weights = w / w.sum()

    # ---------------------------------------------------------------- GNSS
    def update_gnss(self, x: float, y: float, std: float, now: float) -> None:
        """Weight the cloud by a GNSS fix at (``x``, ``y``) m in the map frame, 1-sigma ``std`` m.

        When the cloud keeps disagreeing with the fixes (``gnss_reinit_count`` fixes in a row
        with almost no weight within ``gnss_reinit_sigma`` sigmas), part of the cloud is
        re-seeded around the fix and health reports LOST until the two agree again.
        """
        self._require_init()
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(std) and std > 0.0):
            raise SensorError(
                field_error("gnss", "fix", (x, y, std), "finite x, y and a positive std")
            )
        p = self.params
        sigma = max(std, p.gnss_min_std)
        self._fix = _Fix(x, y, sigma, now)
        xy = self._particles[:, :2]
        w = self._weights
        self._gnss_offsets.append((x - float(w @ xy[:, 0]), y - float(w @ xy[:, 1]), sigma))
        near = gnss_consistency(xy, self._weights, x, y, p.gnss_reinit_sigma * sigma)
        if near < _GNSS_INCONSISTENT:
            self._gnss_bad += 1
        else:
            self._gnss_bad = 0
            self._gnss_fault = False
        if self._gnss_bad >= p.gnss_reinit_count:
            self._gnss_fault = True
            self._gnss_bad = 0
            self._reseed_due = p.gnss_reinit_fraction
            return
        if p.gnss_gain > 0.0:
            self._reweight(p.gnss_gain * gnss_log_likelihood(xy, x, y, sigma, p.gnss_outlier_prob))
            self._check_resample()

    @property
    def gnss_biased(self) -> bool:
        """True when the last ``gnss_bias_fixes`` fixes lie, on average, further from the
        estimate than their noise allows (``gnss_bias_sigmas`` standard errors of the mean): a
        cloud that settled a few metres off along a straight street, too close for a re-seed."""
        q = self._gnss_offsets
        if len(q) < self.params.gnss_bias_fixes:
            return False
        a = np.asarray(q)
        sem = math.sqrt(float(np.mean(a[:, 2] ** 2)) / len(q))
        return math.hypot(float(a[:, 0].mean()), float(a[:, 1].mean())) > (
            self.params.gnss_bias_sigmas * sem)

    def _recent_fix(self, now: float) -> _Fix | None:
        fix = self._fix
        if fix is None or now - fix.stamp > self.params.gnss_max_age:
            return None
        return fix

    def _reseed_around_fix(self, fix: _Fix, fraction: float) -> None:
        """Grow the cloud to ``max_particles``, ``fraction`` of them fresh around the fix."""
        n = self.params.max_particles
        n_new = int(round(fraction * n))
        keep = low_variance_resample(self._weights, n - n_new, self._rng)
        fresh = self._random_poses(n_new, fix.stamp)
        self.set_particles(np.vstack((self._particles[keep], fresh)))
        self._n_old = n - n_new
        # w_slow keeps its long-term level so augmented MCL goes on injecting until the new
        # cloud matches scans as well as tracking did.

    # ---------------------------------------------------------------- resampling
    def _inject_probability(self) -> float:
        p = self.params
        if self._w_slow <= 0.0:
            return 0.0
        inject = min(max(0.0, 1.0 - self._w_fast / self._w_slow), p.inject_max_fraction)
        return inject if inject >= p.inject_min_prob else 0.0

    def _check_resample(self) -> None:
        """Mark a resample due when the ESS is low or augmented MCL wants random particles."""
        n = self._particles.shape[0]
        ess = 1.0 / float(np.sum(self._weights**2))
        if ess < self.params.resample_ess_ratio * n or self._inject_probability() > 0.0:
            self._resample_due = True

    def _apply_pending(self, now: float) -> None:
        fix = self._recent_fix(now)
        if self._reseed_due > 0.0 and fix is not None:
            self._reseed_around_fix(fix, self._reseed_due)
            self._reseed_due = 0.0
            self._resample_due = False
            return
        self._reseed_due = 0.0
        if self._resample_due:
            self._resample(now)
            self._resample_due = False

    def _resample(self, now: float) -> None:
        """KLD-sized low-variance resample, replacing a share of particles by random ones."""
        p = self.params
        inject = self._inject_probability()
        m = p.max_particles
        idx = low_variance_resample(self._weights, m, self._rng)
        cand = self._particles[self._rng.permutation(idx)]
        keep = kld_prefix_length(
            pose_bins(cand, p.kld_bin_xy, p.kld_bin_theta),
            p.min_particles, p.max_particles, p.kld_err, p.kld_z,
        )
        # Random particles come on top of the KLD count, sized from max_particles: a collapse
        # needs a dense search, not a share of an already shrunken cloud.
        n_inject = min(int(self._rng.binomial(m, inject)), m - keep) if inject > 0.0 else 0
        parts = cand[:keep]
        if n_inject > 0:
            parts = np.vstack((parts, self._random_poses(n_inject, now)))
        self.set_particles(parts)
        self._n_old = keep

    def _random_poses(self, n: int, now: float) -> FloatArray:
        """``n`` poses in free space. While tracking (health OK): around the estimate
        (``inject_local_std``), the robot cannot have jumped; half around a recent fix too when
        the fixes keep lying to one side (``gnss_biased``: what moves a cloud that settled a
        few metres along a straight street). Not round every fix: one among buildings is metres
        off, and a sample around it found a junction 17 m away that matched a scan better than
        the true place. With health in doubt: around a recent fix; else, while LOST, anywhere
        on the map; else around the estimate, wider by the cloud's spread. While tracking all
        keep the current heading estimate (a street between two like facades matches a
        turned-round robot too: a benchmark robot turned round in one scan); otherwise half do
        (drift and aliasing rarely flip the heading) and half are uniform."""
        p = self.params
        fix = self._recent_fix(now)
        pose, cov = self._moments()
        tracking = self._health.state is HealthState.OK
        fix_std = math.inf if fix is None else fix.std * p.inject_std_scale
        if tracking:
            off = fix if fix is not None and self.gnss_biased else None
            k = 0 if off is None else n // 2
            fresh = sample_free_poses(self.grid, n - k, self._rng, center=(pose.x, pose.y),
                                      std=p.inject_local_std)
            if off is not None:
                fresh = np.vstack((fresh, sample_free_poses(
                    self.grid, k, self._rng, center=(off.x, off.y), std=fix_std)))
        elif fix is not None:
            fresh = sample_free_poses(self.grid, n, self._rng, center=(fix.x, fix.y),
                                      std=fix_std)
        elif self._health.state is HealthState.LOST:
            fresh = sample_free_poses(self.grid, n, self._rng)
        else:
            fresh = sample_free_poses(self.grid, n, self._rng, center=(pose.x, pose.y),
                                      std=p.inject_local_std + self._spread(cov))
        half = n if tracking else n // 2
        sd = min(math.sqrt(max(float(cov[2, 2]), 0.0)) + 0.05, math.pi)
        fresh[:half, 2] = wrap_angles(pose.theta + sd * self._rng.standard_normal(half))
        return fresh

    # ---------------------------------------------------------------- estimate
    def _moments(self) -> tuple[Pose2D, FloatArray]:
        w = self._weights
        pts = self._particles
        mx = float(w @ pts[:, 0])
        my = float(w @ pts[:, 1])
        mt = math.atan2(float(w @ np.sin(pts[:, 2])), float(w @ np.cos(pts[:, 2])))
        d = np.column_stack((pts[:, 0] - mx, pts[:, 1] - my, wrap_angles(pts[:, 2] - mt)))
        cov = (d * w[:, None]).T @ d
        return Pose2D(mx, my, mt), np.asarray(cov, dtype=np.float64)

    @staticmethod
    def _spread(cov: FloatArray) -> float:
        return math.sqrt(max(float(np.linalg.eigvalsh(cov[:2, :2])[-1]), 0.0))

    def _update_health(self, now: float) -> None:
        _, cov = self._moments()
        fault = self._gnss_fault and self._recent_fix(now) is not None
        if self._collapsed >= self.params.health_collapse_scans:
            fault = True  # the scan likelihood collapsed: the cloud is not where the robot is
        self._health.update(self._spread(cov), self._score, now, fault)

    def estimate(self) -> LocalizationEstimate:
        """Weighted mean pose (circular mean heading), covariance, and health."""
        self._require_init()
        pose, cov = self._moments()
        ess = 1.0 / float(np.sum(self._weights**2))
        return LocalizationEstimate(
            pose=pose,
            cov=cov,
            n_particles=int(self._particles.shape[0]),
            ess=ess,
            score=self._score,
            spread=self._spread(cov),
            health=self._health.state,
        )

    def _require_init(self) -> None:
        if not self.initialized:
            raise ConfigError(
                field_error("particle filter", "initial pose", None,
                            "init_pose() or init_global() before use")
            )


def _compose(particles: FloatArray, step: Pose2D) -> FloatArray:
    """Particles (N, 3) each moved by ``step`` in its own frame."""
    c, s = np.cos(particles[:, 2]), np.sin(particles[:, 2])
    out = np.empty_like(particles)
    out[:, 0] = particles[:, 0] + c * step.x - s * step.y
    out[:, 1] = particles[:, 1] + s * step.x + c * step.y
    out[:, 2] = wrap_angles(particles[:, 2] + step.theta)
    return out


def _disagreement(fit: ScanMatch, wheel: Pose2D, sd_trans: float, sd_rot: float) -> float:
    """Squared Mahalanobis distance between the fit's motion and the wheels' (``sd_trans`` m,
    ``sd_rot`` rad 1-sigma per axis) in the directions the fit constrains."""
    scale = np.array([1.0, 1.0, LEVER])
    e = scale * np.array([fit.delta.x - wheel.x, fit.delta.y - wheel.y,
                          wrap_angle(fit.delta.theta - wheel.theta)])
    cov = np.diag([sd_trans**2, sd_trans**2, (sd_rot * LEVER) ** 2]) + fit.cov * np.outer(
        scale, scale)
    g = fit.constrained
    eg = g @ e
    return float(eg @ np.linalg.solve(g @ cov @ g.T, eg))
