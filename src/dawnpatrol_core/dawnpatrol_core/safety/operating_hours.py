"""Operating hours: the daily window (local time, may cross midnight) when robots may move."""

from __future__ import annotations

from dataclasses import dataclass

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.shift_clock import DAY_S, clock


def parse_clock(text: str, field: str = "time") -> float:
    """``"HH:MM"`` or ``"HH:MM:SS"`` -> seconds after midnight; ConfigError when malformed."""
    parts = text.strip().split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (2, 3) or not (0 <= nums[0] <= 24 and 0 <= nums[1] < 60) or (
        len(nums) == 3 and not 0 <= nums[2] < 60
    ):
        raise ConfigError(f"operating hours: field '{field}': got {text!r}, expected 'HH:MM'")
    secs = nums[0] * 3600.0 + nums[1] * 60.0 + (nums[2] if len(nums) == 3 else 0)
    if secs > DAY_S:
        raise ConfigError(f"operating hours: field '{field}': got {text!r}, expected <= 24:00")
    return secs


@dataclass(frozen=True, slots=True)
class OperatingHours:
    """Daily window [start, end) in seconds after local midnight; ``start > end`` crosses midnight.

    ``utc_offset``: seconds added to ``now`` (s, UTC epoch or sim time) to get local time
    (Korea: 9 h). ``start == end`` means always open.
    """

    start: float
    end: float
    utc_offset: float = 0.0

    @staticmethod
    def from_strings(start: str, end: str, utc_offset: float = 0.0) -> OperatingHours:
        """Build from ``"HH:MM"`` strings, e.g. ``from_strings("22:00", "07:00", 9 * 3600)``."""
        return OperatingHours(parse_clock(start, "start"), parse_clock(end, "end"), utc_offset)

    def is_open(self, now: float) -> bool:
        """True when ``now`` (s) falls inside the daily window."""
        if self.start == self.end:
            return True
        tod = (now + self.utc_offset) % DAY_S
        if self.start < self.end:
            return self.start <= tod < self.end
        return tod >= self.start or tod < self.end

    def reason(self, now: float) -> str:
        """Why motion is refused at ``now`` ("" when inside the window)."""
        if self.is_open(now):
            return ""
        shown = [clock(t % DAY_S, seconds=False)
                 for t in (self.start, self.end, now + self.utc_offset)]
        return f"out of operating hours ({shown[0]}-{shown[1]}, now {shown[2]})"

