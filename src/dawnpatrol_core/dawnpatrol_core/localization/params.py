"""Tuning of the particle filter: one validated value object shared by the core and the node.

Every field has a documented unit and an allowed range; a bad value raises ConfigError naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from dawnpatrol_core.errors import ConfigError, field_error, finite_number

# field name -> (low, high, low inclusive, high inclusive); floats and ints alike.
_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "alpha1": (0.0, 10.0, True, True),
    "alpha2": (0.0, 10.0, True, True),
    "alpha3": (0.0, 10.0, True, True),
    "alpha4": (0.0, 10.0, True, True),
    "min_particles": (1, 1_000_000, True, True),
    "max_particles": (1, 1_000_000, True, True),
    "kld_err": (0.0, 1.0, False, False),
    "kld_z": (0.0, 10.0, False, True),
    "kld_bin_xy": (0.0, 100.0, False, True),
    "kld_bin_theta": (0.0, math.pi, False, True),
    "resample_ess_ratio": (0.0, 1.0, False, True),
    "alpha_slow": (0.0, 1.0, False, False),
    "alpha_fast": (0.0, 1.0, False, False),
    "z_hit": (0.0, 1.0, False, True),
    "z_rand": (0.0, 1.0, False, True),
    "sigma_hit": (0.0, 10.0, False, True),
    "laser_max_range": (0.0, 1000.0, False, True),
    "likelihood_max_dist": (0.0, 100.0, False, True),
    "max_beams": (2, 4096, True, True),
    "min_valid_beams": (1, 4096, True, True),
    "likelihood_gain": (0.0, 10.0, False, True),
    "beam_skip_support": (0.0, 1.0, True, True),
    "beam_skip_min_share": (0.0, 1.0, True, True),
    "beam_skip_through_share": (0.0, 1.0, True, True),
    "scan_match_range": (0.0, 10.0, True, True),
    "scan_match_margin": (0.0, 100.0, False, True),
    "scan_match_fraction": (0.0, 1.0, True, True),
    "scan_match_after": (0.0, 1000.0, True, True),
    "laser_odom_beams": (0, 4096, True, True),
    "laser_odom_sigma": (0.0, 1.0, False, True),
    "laser_odom_max_dist": (0.0, 10.0, False, True),
    "laser_odom_min_info": (0.0, 1e6, False, True),
    "laser_odom_min_inliers": (0.0, 1.0, True, True),
    "laser_odom_keyframe_d": (0.0, 100.0, False, True),
    "laser_odom_keyframe_a": (0.0, math.pi, False, True),
    "laser_odom_wheel_noise": (0.0, 1.0, True, True),
    "laser_odom_gate": (0.0, 1e4, False, True),
    "laser_odom_map_dist": (0.0, 100.0, False, True),
    "update_min_d": (0.0, 100.0, True, True),
    "update_min_a": (0.0, math.pi, True, True),
    "gnss_min_std": (0.0, 1000.0, False, True),
    "gnss_outlier_prob": (0.0, 1.0, True, False),
    "gnss_gain": (0.0, 10.0, True, True),
    "gnss_max_age": (0.0, 3600.0, False, True),
    "gnss_reinit_sigma": (0.0, 1000.0, False, True),
    "gnss_reinit_count": (1, 1000, True, True),
    "gnss_reinit_fraction": (0.0, 1.0, True, True),
    "gnss_bias_fixes": (2, 1000, True, True),
    "gnss_bias_sigmas": (0.0, 100.0, False, True),
    "inject_std_scale": (0.0, 100.0, False, True),
    "inject_local_std": (0.0, 1000.0, False, True),
    "inject_max_fraction": (0.0, 1.0, True, True),
    "inject_min_prob": (0.0, 1.0, False, True),
    "health_ok_score": (0.0, 1.0, True, True),
    "health_ok_score_exit": (0.0, 1.0, True, True),
    "health_lost_score": (0.0, 1.0, True, True),
    "health_lost_score_exit": (0.0, 1.0, True, True),
    "health_ok_spread": (0.0, 1000.0, False, True),
    "health_ok_spread_exit": (0.0, 1000.0, False, True),
    "health_lost_spread": (0.0, 1000.0, False, True),
    "health_lost_spread_exit": (0.0, 1000.0, False, True),
    "health_collapse_ratio": (0.0, 1.0, True, True),
    "health_collapse_scans": (1, 100, True, True),
    "health_collapse_severe_ratio": (0.0, 1.0, True, True),
    "lost_update_period": (0.05, 60.0, True, True),
    "health_enter_dwell": (0.0, 3600.0, True, True),
    "health_exit_dwell": (0.0, 3600.0, True, True),
}

# Public view of the allowed ranges, for nodes that declare ROS parameter descriptors.
PARAM_RANGES: dict[str, tuple[float, float, bool, bool]] = _RANGES


@dataclass(frozen=True, slots=True)
class LocalizationParams:
    """Particle-filter tuning. Units: metres, radians, seconds; probabilities in [0, 1].

    Motion noise (Thrun's odometry model): ``alpha1`` rot→rot, ``alpha2`` trans→rot,
    ``alpha3`` trans→trans, ``alpha4`` rot→trans (variances per unit squared motion).
    Beam skipping: a beam is left out when less than ``beam_skip_support`` of the cloud's
    weight puts its end point near an obstacle, unless fewer than ``beam_skip_min_share`` of
    the beams would remain and more than ``beam_skip_through_share`` of the left-out beams,
    cast from the mean pose, pass through a mapped wall (a wrong cloud; a big unmapped object
    near the robot only shortens beams). ``likelihood_gain`` tempers the summed beam
    log-likelihood. Local scan match (odometry far off, e.g. slipping wheels): before a
    weighted scan, poses up to ``scan_match_range`` m along the heading from the mean are tried;
    if one beats the best not moved along by more than ``scan_match_margin`` in mean beam
    log-likelihood (nats per beam), ``scan_match_fraction`` of the cloud is redrawn round it and
    the beams it explains count (0 range or fraction: off). With laser odometry on, the match
    runs only after ``scan_match_after`` m of wheel travel without a fit that fixes every
    direction: along a featureless stretch it walks the cloud back once features show.
    Laser odometry (slipping wheels, a push): each weighted scan's ``laser_odom_beams`` returns
    (0: off) are matched by point-to-line ICP onto a keyframe scan, renewed every
    ``laser_odom_keyframe_d`` m / ``laser_odom_keyframe_a`` rad of wheel motion, seeded by the
    motion the cloud was given since. ``laser_odom_sigma``: lidar range noise (m);
    ``laser_odom_max_dist``: largest residual (m) of the first iterations;
    ``laser_odom_min_info``: information (beams' worth) a direction needs to be trusted (along
    a featureless street the length is not, and keeps the wheels'); ``laser_odom_min_inliers``:
    share of returns matched for a fit to count. Where the wheels' motion since the keyframe
    and the fit's differ by more than ``laser_odom_gate`` (squared Mahalanobis distance, the
    wheels' 1-sigma ``laser_odom_wheel_noise`` times the distance and turn plus the lidar noise,
    in the fit's trusted directions), the cloud follows the fit. Keyframe returns farther than
    ``laser_odom_map_dist`` m from the map at the estimate (people, parked things) are left out.
    Health thresholds come in enter/exit pairs for hysteresis: a state is entered when the
    *enter* threshold is crossed for ``health_enter_dwell`` s and left when the stricter
    *exit* threshold holds for ``health_exit_dwell`` s. Scores are mean per-beam hit
    likelihoods in [0, 1]; spreads are the 1-sigma position radius (m) of the particle cloud.
    LOST is also entered at once when a weighted scan's likelihood falls below
    ``health_collapse_severe_ratio`` times its long-term average (augmented MCL's w_slow;
    kidnapping gives < 0.06), or below ``health_collapse_ratio`` in ``health_collapse_scans``
    weighted scans in a row (a passing crowd or another robot can pull one scan under 0.2), or
    when the cloud keeps disagreeing with GNSS.
    """

    alpha1: float = 0.05
    alpha2: float = 0.02
    alpha3: float = 0.02
    alpha4: float = 0.02
    min_particles: int = 500
    max_particles: int = 5000
    kld_err: float = 0.05
    kld_z: float = 2.33
    kld_bin_xy: float = 0.5
    kld_bin_theta: float = math.radians(10.0)
    resample_ess_ratio: float = 0.5
    alpha_slow: float = 0.01
    alpha_fast: float = 0.2
    z_hit: float = 0.9
    z_rand: float = 0.1
    sigma_hit: float = 0.15
    laser_max_range: float = 30.0
    likelihood_max_dist: float = 2.0
    max_beams: int = 72
    min_valid_beams: int = 5
    likelihood_gain: float = 0.3
    beam_skip_support: float = 0.3
    beam_skip_min_share: float = 0.5
    beam_skip_through_share: float = 0.2
    scan_match_range: float = 1.0
    scan_match_margin: float = 0.2
    scan_match_fraction: float = 0.3
    scan_match_after: float = 3.0
    laser_odom_beams: int = 360
    laser_odom_sigma: float = 0.02
    laser_odom_max_dist: float = 0.5
    laser_odom_min_info: float = 0.25
    laser_odom_min_inliers: float = 0.5
    laser_odom_keyframe_d: float = 1.0
    laser_odom_keyframe_a: float = 0.5
    laser_odom_wheel_noise: float = 0.03
    laser_odom_gate: float = 9.0
    laser_odom_map_dist: float = 0.5
    update_min_d: float = 0.05
    update_min_a: float = math.radians(2.0)
    gnss_min_std: float = 0.5
    gnss_outlier_prob: float = 0.05
    gnss_gain: float = 0.2
    gnss_max_age: float = 5.0
    gnss_reinit_sigma: float = 3.5
    gnss_reinit_count: int = 3
    gnss_reinit_fraction: float = 0.5
    gnss_bias_fixes: int = 10
    gnss_bias_sigmas: float = 4.0
    inject_std_scale: float = 1.0
    inject_local_std: float = 3.0
    inject_max_fraction: float = 0.5
    inject_min_prob: float = 0.05
    health_ok_score: float = 0.6
    health_ok_score_exit: float = 0.7
    health_lost_score: float = 0.3
    health_lost_score_exit: float = 0.45
    health_ok_spread: float = 0.5
    health_ok_spread_exit: float = 0.3
    health_lost_spread: float = 3.0
    health_lost_spread_exit: float = 1.0
    health_collapse_ratio: float = 0.2
    health_collapse_scans: int = 3
    health_collapse_severe_ratio: float = 0.06
    lost_update_period: float = 0.5
    health_enter_dwell: float = 1.0
    health_exit_dwell: float = 2.0

    def __post_init__(self) -> None:
        source = "localization params"
        for f in fields(self):
            value = getattr(self, f.name)
            lo, hi, lo_in, hi_in = _RANGES[f.name]
            is_int = f.type in ("int", int)
            if is_int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(field_error(source, f.name, value, "an integer"))
            if not is_int and finite_number(value) is None:
                raise ConfigError(field_error(source, f.name, value, "a finite number"))
            ok_lo = value >= lo if lo_in else value > lo
            ok_hi = value <= hi if hi_in else value < hi
            if not (ok_lo and ok_hi):
                interval = f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
                raise ConfigError(field_error(source, f.name, value, f"in {interval}"))
        if self.min_particles > self.max_particles:
            raise ConfigError(
                field_error(source, "min_particles", self.min_particles,
                            f"<= max_particles ({self.max_particles})")
            )
        if self.min_valid_beams > self.max_beams:
            raise ConfigError(
                field_error(source, "min_valid_beams", self.min_valid_beams,
                            f"<= max_beams ({self.max_beams})")
            )
        if self.alpha_slow >= self.alpha_fast:
            raise ConfigError(
                field_error(source, "alpha_slow", self.alpha_slow,
                            f"< alpha_fast ({self.alpha_fast})")
            )
        pairs = [
            ("health_ok_score_exit", self.health_ok_score_exit, ">=", self.health_ok_score),
            ("health_lost_score_exit", self.health_lost_score_exit, ">=",
             self.health_lost_score),
            ("health_ok_score", self.health_ok_score, ">=", self.health_lost_score),
            ("health_ok_spread_exit", self.health_ok_spread_exit, "<=", self.health_ok_spread),
            ("health_lost_spread_exit", self.health_lost_spread_exit, "<=",
             self.health_lost_spread),
            ("health_ok_spread", self.health_ok_spread, "<=", self.health_lost_spread),
        ]
        for name, value, op, other in pairs:
            good = value >= other if op == ">=" else value <= other
            if not good:
                raise ConfigError(field_error(source, name, value, f"{op} {other}"))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], source: str) -> LocalizationParams:
        """Build from a ``name -> value`` mapping (e.g. a params file); unknown names are errors."""
        if not isinstance(values, Mapping):
            raise ConfigError(field_error(source, "parameters", type(values).__name__,
                                          "a mapping of parameter names to values"))
        known = {f.name for f in fields(cls)}
        for name in values:
            if name not in known:
                raise ConfigError(field_error(source, name, values[name], "a known parameter"))
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("localization params", source, 1)) from None
