"""Speed governor: the last filter before cmd_vel (limits, ramps, forced stops with a reason)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dawnpatrol_core.control.zone_rules import ZoneRules
from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.safety.estop import EStop
from dawnpatrol_core.safety.operating_hours import OperatingHours
from dawnpatrol_core.safety.watchdog import HeartbeatWatchdog


@dataclass(frozen=True, slots=True)
class GovernorConfig:
    """Robot limits. Speeds m/s, rates rad/s, accelerations m/s^2 (angular rad/s^2).

    ``stop_decel``: deceleration used for forced stops (e-stop, watchdog, hours, keep-out ahead).
    ``period``: s, the command period assumed on the first call.
    ``keepout_margin``: m kept between the robot centre and a disallowed point ahead.
    ``pose_margin``: m the estimated pose may be off (localization): the zone limit is the
    lowest within this distance of the pose, and lower limits ahead are met this much earlier.
    """

    max_speed: float = 1.5
    max_reverse: float = 0.3
    max_angular: float = 1.2
    max_accel: float = 1.0
    max_decel: float = 1.5
    stop_decel: float = 2.5
    max_angular_accel: float = 3.0
    period: float = 0.1
    keepout_margin: float = 0.6
    pose_margin: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_speed", "max_angular", "max_accel", "max_decel", "stop_decel",
                     "max_angular_accel", "period"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0.0):
                raise ConfigError(f"governor: field '{name}': got {v!r}, expected > 0")
        for name in ("max_reverse", "keepout_margin", "pose_margin"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0.0):
                raise ConfigError(f"governor: field '{name}': got {v!r}, expected >= 0")


@dataclass(frozen=True, slots=True)
class GovernedCommand:
    """The command to publish: ``v`` m/s, ``w`` rad/s, ``reason`` for any limiting ("" if none).

    ``stopped``: True when a safety cause (e-stop, watchdog, hours) forces zero.
    """

    v: float
    w: float
    reason: str
    stopped: bool


def _toward(current: float, target: float, up: float, down: float) -> float:
    """Move ``current`` toward ``target``: by at most ``up`` when |value| grows, ``down`` when it
    shrinks (``up``/``down`` are absolute steps)."""
    if current >= 0.0 and target >= current or current <= 0.0 and target <= current:
        step = up
    else:
        step = down
    if abs(target - current) <= step:
        return target
    return current + math.copysign(step, target - current)


class SpeedGovernor:
    """Clamps every command to min(zone limit, robot limit), ramps it, and forces stops.

    The zone limit is looked up ahead along the heading over the braking distance, so the robot
    slows *before* a lower-limit zone and stops short of a disallowed point.
    """

    def __init__(
        self,
        config: GovernorConfig | None = None,
        zones: ZoneRules | None = None,
        estop: EStop | None = None,
        watchdog: HeartbeatWatchdog | None = None,
        hours: OperatingHours | None = None,
    ) -> None:
        self.config = config or GovernorConfig()
        self.zones = zones
        self.estop = estop
        self.watchdog = watchdog
        self.hours = hours
        self._v = 0.0
        self._w = 0.0
        self._last: float | None = None

    def reset(self, v: float = 0.0, w: float = 0.0) -> None:
        """Forget the ramp state (e.g. after a restart), assuming the robot moves at (v, w)."""
        self._v, self._w, self._last = v, w, None

    def stop_reason(self, now: float) -> str:
        """Why the robot must be stopped at ``now`` ("" when it may move)."""
        if self.estop is not None and self.estop.engaged:
            return self.estop.reason
        if self.watchdog is not None and self.watchdog.tripped(now):
            return self.watchdog.reason(now)
        if self.hours is not None and not self.hours.is_open(now):
            return self.hours.reason(now)
        return ""

    def filter(self, now: float, v: float, w: float, pose: Pose2D) -> GovernedCommand:
        """Govern the requested (v m/s, w rad/s) at time ``now`` (s) with the robot at ``pose``."""
        cfg = self.config
        dt = cfg.period if self._last is None else min(max(now - self._last, 0.0), 1.0)
        self._last = now
        reasons: list[str] = []
        stop = self.stop_reason(now)
        if not (math.isfinite(v) and math.isfinite(w)):
            v, w = 0.0, 0.0
            reasons.append("non-finite command")
        tv = min(max(v, -cfg.max_reverse), cfg.max_speed)
        tw = min(max(w, -cfg.max_angular), cfg.max_angular)
        if tv != v or tw != w:
            reasons.append("robot limit")
        here = math.inf
        keep_out = False  # a keep-out zone limits the speed: brake as hard as a forced stop
        if self.zones is not None:
            here = self._limit_here(pose)
            speed = max(abs(self._v), abs(tv))
            # forwards, and when reversing the same rules behind the robot
            for sign in (1.0, -1.0) if tv < 0.0 or self._v < 0.0 else (1.0,):
                lim, why, wall = self._limit_ahead(pose, speed, dt, backwards=sign < 0.0)
                if sign * tv > min(here, lim):
                    tv = sign * min(here, lim)
                    reasons.append(why if lim < here else f"zone limit {here:.2f} m/s")
                    keep_out = keep_out or (wall and lim < here)
        decel = cfg.max_decel
        if stop:
            tv, tw, decel = 0.0, 0.0, cfg.stop_decel
            reasons.insert(0, stop)
        elif keep_out:
            decel = cfg.stop_decel
        out_v = _toward(self._v, tv, cfg.max_accel * dt, decel * dt)
        out_w = _toward(self._w, tw, cfg.max_angular_accel * dt, cfg.max_angular_accel * 2 * dt)
        # Hard cap: never above the limit where the robot is, whatever the ramp wants.
        if abs(out_v) > here:
            out_v = math.copysign(here, out_v)
        if out_v != tv and not reasons:
            reasons.append("acceleration limit")
        self._v, self._w = out_v, out_w
        return GovernedCommand(out_v, out_w, "; ".join(reasons), bool(stop))

    def _limit_here(self, pose: Pose2D) -> float:
        """The zone limit (m/s) at ``pose`` — the lowest within ``pose_margin`` of it."""
        assert self.zones is not None
        m = self.config.pose_margin
        if m <= 0.0:
            return self.zones.speed_limit_at(pose.x, pose.y)
        c, s = m * math.cos(pose.theta), m * math.sin(pose.theta)
        pts = np.array([[pose.x, pose.y], [pose.x + c, pose.y + s], [pose.x - c, pose.y - s],
                        [pose.x - s, pose.y + c], [pose.x + s, pose.y - c]])
        return float(np.min(self.zones.speed_limits_xy(pts)))

    def _limit_ahead(self, pose: Pose2D, speed: float, dt: float,
                     backwards: bool = False) -> tuple[float, str, bool]:
        """(highest speed m/s from which the robot can still meet every zone limit and stop
        short of disallowed points over its braking distance along the heading — ``backwards``:
        behind it, for reversing —, why, whether a disallowed point sets it)."""
        cfg = self.config
        assert self.zones is not None
        a = cfg.max_decel
        reach = (speed * dt + speed * speed / (2.0 * a) + cfg.keepout_margin + cfg.pose_margin
                 + 0.3)
        n = max(2, int(math.ceil(reach / 0.2)) + 1)
        spacing = reach / (n - 1)
        d = reach * np.arange(1, n) / (n - 1)
        heading = pose.theta + (math.pi if backwards else 0.0)
        xy = np.column_stack((pose.x + math.cos(heading) * d, pose.y + math.sin(heading) * d))
        here_ok = self.zones.is_allowed(pose.x, pose.y)
        allowed = self.zones.allowed_xy(xy)
        limits = self.zones.speed_limits_xy(xy)
        where = "behind" if backwards else "ahead"
        best, why, wall = math.inf, "", False
        for i in range(n - 1):
            if here_ok and not allowed[i]:
                room = max(0.0, d[i] - spacing - cfg.keepout_margin - speed * dt)
                lim = math.sqrt(2.0 * cfg.stop_decel * room)
                if lim < best:
                    best, why, wall = lim, f"keep-out {where} at {d[i]:.1f} m", True
                break
            # The zone may begin anywhere after the previous sample: assume the worst.
            lim = math.sqrt(limits[i] ** 2 + 2.0 * a * max(
                0.0, d[i] - spacing - speed * dt - cfg.pose_margin))
            if lim < best:
                best, why, wall = lim, f"zone limit {where} {limits[i]:.2f} m/s", False
        return best, why, wall
