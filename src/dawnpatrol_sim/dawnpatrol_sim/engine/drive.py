"""Differential-drive (unicycle) kinematics for all robots at once, with speed and accel limits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DriveLimits:
    """Limits of the drive: speeds (m/s, rad/s) and accelerations (m/s², rad/s²); ``max_decel``
    bounds braking (speed towards zero), ``max_accel`` everything else (None: the same)."""

    max_speed: float
    max_yaw_rate: float
    max_accel: float
    max_yaw_accel: float
    max_decel: float | None = None


def limit_velocity(
    v: FloatArray, w: FloatArray, v_cmd: FloatArray, w_cmd: FloatArray, lim: DriveLimits, dt: float
) -> tuple[FloatArray, FloatArray]:
    """New (v, w) (R,) after one step of dt (s) towards the command, within the limits."""
    # np.minimum/maximum rather than np.clip: a few microseconds less per call, every step
    vc = np.minimum(np.maximum(v_cmd, -lim.max_speed), lim.max_speed)
    wc = np.minimum(np.maximum(w_cmd, -lim.max_yaw_rate), lim.max_yaw_rate)
    av, aw = lim.max_accel * dt, lim.max_yaw_accel * dt
    dv = vc - v
    if lim.max_decel is not None:
        # braking (the change opposes the speed) at max_decel down to zero, not past it
        a = np.where(v * dv < 0.0, np.maximum(np.minimum(lim.max_decel * dt, np.abs(v)), av), av)
        dv = np.minimum(np.maximum(dv, -a), a)
    else:
        dv = np.minimum(np.maximum(dv, -av), av)
    dw = np.minimum(np.maximum(wc - w, -aw), aw)
    return v + dv, w + dw


def integrate_arc(
    x: FloatArray, y: FloatArray, th: FloatArray, v: FloatArray, w: FloatArray, dt: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Exact unicycle motion over dt (s) at constant (v, w): the arc of radius v/w.

    All arrays (R,); returns new (x, y, theta) with theta wrapped to [-π, π).
    """
    # the chord of the arc: length v*dt*sinc(w*dt/2), direction th + w*dt/2 (exact, and
    # well-behaved as w -> 0 without a branch)
    half = w * (dt / 2.0)
    chord = v * dt * np.sinc(half / np.pi)
    mid = th + half
    th1 = (th + 2.0 * half + np.pi) % (2.0 * np.pi) - np.pi
    return x + chord * np.cos(mid), y + chord * np.sin(mid), th1
