"""Shift-day time: seconds since the shift day's local midnight, and the one way they are shown.

The simulated clock counts these seconds directly (02:00 = 7200); a robot's wall clock is Unix
time, turned into local time with a UTC offset. Every "HH:MM" the project prints comes from here.
"""

from __future__ import annotations

import math

DAY_S = 86_400.0
#: ROS times below this are sim clocks already counting shift-day seconds (sim starts at e.g.
#: 02:00 = 7200 s); above it they are Unix epoch times (wall clock).
SIM_CLOCK_LIMIT_S = 2 * DAY_S


def shift_seconds(ros_time_s: float, utc_offset_s: float, shift_end_s: float) -> float:
    """Seconds since the current shift day's local midnight — the time base of order windows,
    DeliveryStop windows and plan ETAs.

    A simulated clock (< 2 days) already counts shift-day seconds and is returned as is. A wall
    clock (Unix time) is turned into local time of day with ``utc_offset_s``; after the shift's
    end the coming night's shift is meant, so the result is negative (e.g. 15:00 -> -9 h).
    """
    if ros_time_s < SIM_CLOCK_LIMIT_S:
        return ros_time_s
    tod = (ros_time_s + utc_offset_s) % DAY_S
    return tod if tod < shift_end_s else tod - DAY_S


def clock(t: float, seconds: bool = True) -> str:
    """``t`` s since midnight as ``HH:MM:SS`` (``HH:MM`` without ``seconds``), cut to the shown
    unit as a clock shows it (to the millisecond first: 7199.9999 is 02:00:00); a later day gets
    ``(+Nd)`` (93600 -> ``02:00:00 (+1d)``), a time before midnight a sign (-3600 ->
    ``-01:00:00``). Not finite -> ``-``."""
    if not math.isfinite(t):
        return "-"
    unit = 1 if seconds else 60
    day, s = divmod(math.floor(round(abs(t), 3) / unit) * unit, int(DAY_S))
    sign = "-" if t < 0 else ""
    text = f"{s // 3600:02d}:{s % 3600 // 60:02d}" + (f":{s % 60:02d}" if seconds else "")
    return sign + text + (f" (+{day}d)" if day else "")


def ros_clock(t: float | None, utc_offset_s: float = 0.0, seconds: bool = True) -> str:
    """``HH:MM:SS`` of a ROS time in s: a sim clock (shift-day seconds) as it is, a wall clock
    (Unix time) as local time of day with ``utc_offset_s``. ``-`` for None, not finite, or 0
    and less (a message field's "not set")."""
    if t is None or not math.isfinite(t) or t <= 0:
        return "-"
    tod = t if t < SIM_CLOCK_LIMIT_S else (t + utc_offset_s) % DAY_S
    return clock(tod, seconds)
