"""Robot-health monitor: battery, stuck, localization lost, stale sensors, lost link, impact/tilt.

Inputs are fed as they arrive (each with its time); :meth:`HealthMonitor.check` is called
periodically. Defaults report every fault within 5 s of its onset at a check rate of 1 Hz or
faster (worst case = threshold + one check period, documented per field).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from dawnpatrol_core.anomaly.events import KIND_SEVERITY, Detection, Severity

SENSORS = ("scan", "odom", "gnss")


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Thresholds (fractions of full charge, seconds, metres, m/s², radians).

    Battery: LOW below ``battery_low`` until above ``battery_low_clear``; CRITICAL likewise.
    Stuck: |commanded speed| above ``stuck_cmd_eps`` for ``stuck_time`` s with less than
    ``stuck_progress`` m of displacement. Stale: no message for ``stale_s[sensor]`` s (sensors
    in ``required_sensors``). Link: no fleet heartbeat for ``link_timeout`` s. Impact: horizontal
    acceleration above ``impact_accel``. Tilt: roll or pitch above ``tilt_angle`` for
    ``tilt_time`` s, cleared below ``tilt_clear``. ``localization_lost_time``: s of LOST before
    reporting. ``impact_hold``: s an impact stays active (one report per impact)."""

    battery_low: float = 0.20
    battery_low_clear: float = 0.25
    battery_critical: float = 0.08
    battery_critical_clear: float = 0.12
    stuck_cmd_eps: float = 0.05
    stuck_time: float = 3.0
    stuck_progress: float = 0.10
    stale_scan_s: float = 1.0
    stale_odom_s: float = 1.0
    stale_gnss_s: float = 3.0
    required_sensors: tuple[str, ...] = SENSORS
    link_timeout: float = 3.0
    startup_grace: float = 10.0
    impact_accel: float = 15.0
    impact_hold: float = 5.0
    tilt_angle: float = math.radians(20.0)
    tilt_clear: float = math.radians(15.0)
    tilt_time: float = 0.5
    localization_lost_time: float = 1.0


@dataclass(frozen=True, slots=True)
class HealthFault:
    """A fault: ``kind`` (an anomaly kind), ``onset`` s (when the condition began, the
    reference for the 5 s budget), ``detected_at`` s, ``detail`` (one line)."""

    kind: str
    onset: float
    detected_at: float
    detail: str
    severity: Severity

    def to_detection(self, x: float, y: float) -> Detection:
        """This fault as a detection at the robot position (x, y) m."""
        return Detection(
            kind=self.kind,
            key="robot",
            x=x,
            y=y,
            detected_at=self.detected_at,
            threshold_met_at=self.onset,
            severity=self.severity,
            description=self.detail,
        )


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Result of one check: faults newly ``raised``, kinds ``cleared``, and all ``active``."""

    raised: tuple[HealthFault, ...]
    cleared: tuple[str, ...]
    active: tuple[HealthFault, ...]


class HealthMonitor:
    """Stateful health monitor; time always comes in as an argument. Not thread-safe."""

    def __init__(self, start: float, config: HealthConfig | None = None) -> None:
        self.config = config or HealthConfig()
        self._start = start
        self._last_msg: dict[str, float] = {}
        self._heartbeat: float | None = None
        self._battery: float | None = None
        self._cmd_since: float | None = None
        self._odom: deque[tuple[float, float, float]] = deque()
        self._lost_since: float | None = None
        self._tilt_since: float | None = None
        self._tilt_angle = 0.0
        self._impact_at: float | None = None
        self._impact_accel = 0.0
        self._active: dict[str, HealthFault] = {}

    # ------------------------------------------------------------------ inputs
    def on_battery(self, fraction: float, now: float) -> None:
        """Battery state of charge in [0, 1]."""
        self._battery = fraction

    def on_scan(self, now: float) -> None:
        self._last_msg["scan"] = now

    def on_gnss(self, now: float) -> None:
        self._last_msg["gnss"] = now

    def on_odom(self, x: float, y: float, now: float) -> None:
        """Odometry position (m) at ``now``; also counts as an odom message."""
        self._last_msg["odom"] = now
        self._odom.append((now, x, y))
        horizon = now - 2.0 * self.config.stuck_time
        while len(self._odom) > 1 and self._odom[0][0] < horizon:
            self._odom.popleft()

    def on_cmd_vel(self, linear: float, angular: float, now: float) -> None:
        """Commanded linear (m/s) and angular (rad/s) velocity."""
        moving = abs(linear) > self.config.stuck_cmd_eps
        if not moving:
            self._cmd_since = None
        elif self._cmd_since is None:
            self._cmd_since = now

    def on_heartbeat(self, now: float) -> None:
        """A fleet heartbeat was received."""
        self._heartbeat = now

    def on_localization(self, lost: bool, now: float) -> None:
        """Localization status: ``lost`` True when the localizer reports LOST."""
        if not lost:
            self._lost_since = None
        elif self._lost_since is None:
            self._lost_since = now

    def on_imu(self, ax: float, ay: float, roll: float, pitch: float, now: float) -> None:
        """Body-frame horizontal acceleration (m/s²) and roll/pitch (rad)."""
        acc = math.hypot(ax, ay)
        if acc > self.config.impact_accel:
            self._impact_at = now
            self._impact_accel = acc
        angle = max(abs(roll), abs(pitch))
        self._tilt_angle = angle
        if angle > self.config.tilt_angle:
            if self._tilt_since is None:
                self._tilt_since = now
        elif angle < self.config.tilt_clear:
            self._tilt_since = None

    # ------------------------------------------------------------------ check
    def check(self, now: float) -> HealthReport:
        """Evaluate every fault at ``now`` (s)."""
        cfg = self.config
        cond: dict[str, tuple[float, str]] = {}  # kind -> (onset, detail)
        b = self._battery
        if b is not None:
            crit_on = "battery_critical" in self._active
            if b < cfg.battery_critical or (crit_on and b < cfg.battery_critical_clear):
                cond["battery_critical"] = (now, f"battery at {b * 100:.0f} %")
            low_on = "battery_low" in self._active
            if b < cfg.battery_low or (low_on and b < cfg.battery_low_clear):
                cond["battery_low"] = (now, f"battery at {b * 100:.0f} %")
        if self._cmd_since is not None and now - self._cmd_since >= cfg.stuck_time:
            recent = [p for p in self._odom if p[0] >= now - cfg.stuck_time]
            moved = (
                max(math.hypot(p[1] - recent[0][1], p[2] - recent[0][2]) for p in recent)
                if recent
                else 0.0
            )
            if moved < cfg.stuck_progress:
                cond["stuck"] = (
                    self._cmd_since + cfg.stuck_time,
                    f"commanded motion for {now - self._cmd_since:.0f} s, moved {moved:.2f} m",
                )
        if self._lost_since is not None and now - self._lost_since >= cfg.localization_lost_time:
            cond["localization_lost"] = (self._lost_since, "localization reports LOST")
        limits = {"scan": cfg.stale_scan_s, "odom": cfg.stale_odom_s, "gnss": cfg.stale_gnss_s}
        stale = []
        for name in cfg.required_sensors:
            last = self._last_msg.get(name, self._start)
            if now - last >= limits[name]:
                stale.append((last + limits[name], name))
        if stale:
            onset = min(t for t, _ in stale)
            cond["sensor_stale"] = (onset, "no data from " + ", ".join(n for _, n in stale))
        # Before the first heartbeat the link gets a start-up grace of its own (DDS discovery
        # on a busy robot can take seconds); after it, ``link_timeout`` of silence is a loss.
        hb = self._heartbeat if self._heartbeat is not None else self._start + cfg.startup_grace
        if now - hb >= cfg.link_timeout:
            cond["link_lost"] = (hb + cfg.link_timeout, f"no fleet heartbeat for {now - hb:.0f} s")
        if self._impact_at is not None and now - self._impact_at <= cfg.impact_hold:
            cond["impact"] = (self._impact_at, f"impact {self._impact_accel:.1f} m/s^2")
        if self._tilt_since is not None and now - self._tilt_since >= cfg.tilt_time:
            cond["tilt"] = (self._tilt_since, f"tilted {math.degrees(self._tilt_angle):.0f} deg")

        raised = []
        for kind, (onset, detail) in cond.items():
            prev = self._active.get(kind)
            if prev is None:
                f = HealthFault(kind, min(onset, now), now, detail, KIND_SEVERITY[kind])
                raised.append(f)
                self._active[kind] = f
        cleared = tuple(k for k in self._active if k not in cond)
        for k in cleared:
            del self._active[k]
        return HealthReport(tuple(raised), cleared, tuple(self._active.values()))
