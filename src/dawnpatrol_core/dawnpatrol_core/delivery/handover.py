"""The per-stop handover state machine: navigate, arrive, announce, wait for the PIN, hand over
or fail and keep the parcel. Pure: every event takes ``now`` (s) and returns a new state."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from enum import Enum
from typing import Literal

from dawnpatrol_core.delivery.proof import HandoverMethod, ProofOfDelivery
from dawnpatrol_core.errors import HandoverError

FailReason = Literal["absent", "wrong_pin_limit", "timeout"]


class Phase(Enum):
    """Where a stop is in its handover."""

    NAVIGATING = "navigating"
    ARRIVED = "arrived"
    ANNOUNCED = "announced"
    WAITING_PIN = "waiting_pin"
    HANDED_OVER = "handed_over"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class HandoverRules:
    """``absent_after_s``: no response after the announcement -> absent; ``pin_timeout_s``: PIN
    entry started but not completed -> timeout; ``max_pin_attempts``: wrong PINs allowed."""

    absent_after_s: float = 180.0
    pin_timeout_s: float = 120.0
    max_pin_attempts: int = 3


def pin_digest(order_id: str, pin: str) -> str:
    """Salted SHA-256 of a PIN, so the state never holds the PIN itself."""
    return hashlib.sha256(f"{order_id}\x00{pin}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StopHandover:
    """One stop's handover state. Times in seconds; position in map metres."""

    order_id: str
    robot_id: str
    method: HandoverMethod
    pin_hash: str
    rules: HandoverRules
    phase: Phase = Phase.NAVIGATING
    since: float = 0.0
    attempts: int = 0
    x: float = 0.0
    y: float = 0.0
    reason: FailReason | None = None
    proof: ProofOfDelivery | None = None

    @property
    def done(self) -> bool:
        """True once handed over or failed."""
        return self.phase in (Phase.HANDED_OVER, Phase.FAILED)

    @property
    def parcel_on_board(self) -> bool:
        """True unless handed over: a failed stop keeps its parcel for the depot."""
        return self.phase is not Phase.HANDED_OVER

    @property
    def return_to_depot(self) -> bool:
        """True when the stop failed and the parcel must go back to the depot."""
        return self.phase is Phase.FAILED


def start_stop(
    order_id: str, robot_id: str, method: HandoverMethod, pin: str, rules: HandoverRules,
    now: float,
) -> StopHandover:
    """A new stop in NAVIGATING; ``pin`` is the recipient's code (ignored for 'door')."""
    if rules.max_pin_attempts < 1:
        got = rules.max_pin_attempts
        raise HandoverError(f"field 'max_pin_attempts': got {got}, expected >= 1")
    return StopHandover(order_id, robot_id, method, pin_digest(order_id, pin), rules, since=now)


def _expect(s: StopHandover, event: str, *phases: Phase) -> None:
    if s.phase not in phases:
        allowed = " or ".join(p.name for p in phases)
        raise HandoverError(
            f"order '{s.order_id}': event '{event}': got phase {s.phase.name}, expected {allowed}"
        )


def arrive(s: StopHandover, now: float, x: float, y: float) -> StopHandover:
    """The robot stopped at the entrance at (x, y) m."""
    _expect(s, "arrive", Phase.NAVIGATING)
    return replace(s, phase=Phase.ARRIVED, since=now, x=x, y=y)


def announce(s: StopHandover, now: float) -> StopHandover:
    """The recipient was notified; a 'door' parcel is left at once and proven."""
    _expect(s, "announce", Phase.ARRIVED)
    if s.method == "door":
        return _hand_over(replace(s, phase=Phase.ANNOUNCED, since=now), now)
    return replace(s, phase=Phase.ANNOUNCED, since=now)


def recipient_present(s: StopHandover, now: float) -> StopHandover:
    """The recipient came to the robot and starts entering the PIN."""
    _expect(s, "recipient_present", Phase.ANNOUNCED)
    return replace(s, phase=Phase.WAITING_PIN, since=now)


def enter_pin(s: StopHandover, now: float, pin: str) -> StopHandover:
    """Check a PIN: right -> HANDED_OVER; wrong -> one attempt used, FAILED at the limit."""
    _expect(s, "enter_pin", Phase.ANNOUNCED, Phase.WAITING_PIN)
    s = tick(s, now)
    if s.done:
        return s
    if hmac.compare_digest(pin_digest(s.order_id, pin), s.pin_hash):
        return _hand_over(s, now)
    attempts = s.attempts + 1
    if attempts >= s.rules.max_pin_attempts:
        return replace(s, phase=Phase.FAILED, since=now, attempts=attempts,
                       reason="wrong_pin_limit")
    return replace(s, phase=Phase.WAITING_PIN, attempts=attempts,
                   since=s.since if s.phase is Phase.WAITING_PIN else now)


def tick(s: StopHandover, now: float) -> StopHandover:
    """Apply timeouts at time ``now``: absent recipient after the announcement, PIN timeout."""
    if s.phase is Phase.ANNOUNCED and now - s.since >= s.rules.absent_after_s:
        return replace(s, phase=Phase.FAILED, since=now, reason="absent")
    if s.phase is Phase.WAITING_PIN and now - s.since >= s.rules.pin_timeout_s:
        return replace(s, phase=Phase.FAILED, since=now, reason="timeout")
    return s


def _hand_over(s: StopHandover, now: float) -> StopHandover:
    proof = ProofOfDelivery(s.order_id, s.robot_id, now, s.x, s.y, s.method)
    return replace(s, phase=Phase.HANDED_OVER, since=now, proof=proof)
