"""The robots' track for the compliance report: position and speed samples from their status
reports and, where a simulator publishes it, ground truth at a bounded rate, buffered for the
store."""

from __future__ import annotations

import math

#: One sample: (t s, robot id, x m, y m, speed m/s, source 'status' | 'ground_truth').
Sample = tuple[float, str, float, float, float, str]


class TrackRecorder:
    """Collects samples between writes; ground truth is kept at most once per ``period_s``."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._rows: list[Sample] = []
        self._last_gt: dict[str, float] = {}

    def status(self, t: float, robot_id: str, x: float, y: float, speed: float) -> None:
        """A status report's position (m) and speed (m/s) at ``t`` s."""
        self._rows.append((t, robot_id, x, y, abs(speed), "status"))

    def ground_truth(self, t: float, robot_id: str, x: float, y: float, speed: float) -> None:
        """A ground-truth pose at ``t`` s; dropped if the robot's last kept one is younger than
        the period."""
        if t - self._last_gt.get(robot_id, -math.inf) < self.period_s - 1e-6:
            return
        self._last_gt[robot_id] = t
        self._rows.append((t, robot_id, x, y, abs(speed), "ground_truth"))

    def drain(self) -> list[Sample]:
        """The samples collected since the last drain."""
        rows, self._rows = self._rows, []
        return rows
