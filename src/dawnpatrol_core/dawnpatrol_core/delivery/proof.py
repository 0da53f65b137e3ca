"""Proof of delivery: what the robot records when a parcel leaves it (no personal data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HandoverMethod = Literal["pin", "door"]


@dataclass(frozen=True, slots=True)
class ProofOfDelivery:
    """Order ``order_id`` handed over by ``robot_id`` at ``time`` (s since midnight) at map
    position (``x``, ``y``) metres, by PIN at the robot or left at the door."""

    order_id: str
    robot_id: str
    time: float
    x: float
    y: float
    method: HandoverMethod

    def as_dict(self) -> dict[str, object]:
        """Plain values for storage or a message."""
        return {
            "order_id": self.order_id,
            "robot_id": self.robot_id,
            "time": self.time,
            "x": self.x,
            "y": self.y,
            "method": self.method,
        }
