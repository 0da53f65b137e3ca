"""Handover state machine: transitions, absent recipient, PIN attempt limit, proof."""

from __future__ import annotations

import pytest

from dawnpatrol_core.delivery.handover import (
    HandoverRules,
    Phase,
    StopHandover,
    announce,
    arrive,
    enter_pin,
    recipient_present,
    start_stop,
    tick,
)
from dawnpatrol_core.errors import HandoverError

RULES = HandoverRules(absent_after_s=180.0, pin_timeout_s=120.0, max_pin_attempts=3)


def _announced(method: str = "pin") -> StopHandover:
    s = start_stop("o1", "r1", "pin" if method == "pin" else "door", "4321", RULES, now=100.0)
    assert s.phase is Phase.NAVIGATING and s.parcel_on_board
    s = arrive(s, 200.0, 5.0, 6.0)
    assert s.phase is Phase.ARRIVED
    return announce(s, 210.0)


def test_pin_handover_with_proof() -> None:
    s = _announced()
    assert s.phase is Phase.ANNOUNCED
    s = recipient_present(s, 220.0)
    assert s.phase is Phase.WAITING_PIN
    s = enter_pin(s, 230.0, "0000")
    assert s.phase is Phase.WAITING_PIN and s.attempts == 1
    s = enter_pin(s, 240.0, "4321")
    assert s.phase is Phase.HANDED_OVER and not s.parcel_on_board and not s.return_to_depot
    assert s.proof is not None
    assert s.proof.as_dict() == {"order_id": "o1", "robot_id": "r1", "time": 240.0, "x": 5.0,
                                 "y": 6.0, "method": "pin"}
    assert "4321" not in repr(s)


def test_door_handover_at_announce() -> None:
    s = _announced("door")
    assert s.phase is Phase.HANDED_OVER and s.proof is not None and s.proof.method == "door"


def test_absent_recipient() -> None:
    s = _announced()
    assert tick(s, 389.9).phase is Phase.ANNOUNCED
    s = tick(s, 390.0)
    assert s.phase is Phase.FAILED and s.reason == "absent"
    assert s.parcel_on_board and s.return_to_depot and s.proof is None


def test_pin_attempt_limit() -> None:
    s = recipient_present(_announced(), 220.0)
    for t in (221.0, 222.0):
        s = enter_pin(s, t, "1111")
        assert s.phase is Phase.WAITING_PIN
    s = enter_pin(s, 223.0, "1111")
    assert s.phase is Phase.FAILED and s.reason == "wrong_pin_limit" and s.attempts == 3
    with pytest.raises(HandoverError, match="enter_pin"):
        enter_pin(s, 224.0, "4321")


def test_pin_timeout_beats_late_correct_pin() -> None:
    s = recipient_present(_announced(), 220.0)
    s = enter_pin(s, 340.0, "4321")
    assert s.phase is Phase.FAILED and s.reason == "timeout"


def test_out_of_order_event_rejected() -> None:
    s = start_stop("o1", "r1", "pin", "1", RULES, now=0.0)
    with pytest.raises(HandoverError, match="NAVIGATING"):
        announce(s, 1.0)
