"""Feedback throttle: one message per period, a change of state at once."""

from __future__ import annotations

from dawnpatrol_robot.throttle import Throttle


def test_period_and_state_changes() -> None:
    t = Throttle(1.0)
    sent = [now for now, key in ((0.0, "a"), (0.5, "a"), (0.99, "a"), (1.0, "a"), (1.2, "b"),
                                 (1.3, "b"), (2.1, "b"), (2.2, "a")) if t.due(now, key)]
    assert sent == [0.0, 1.0, 1.2, 2.2]


def test_zero_period_sends_everything() -> None:
    t = Throttle(0.0)
    assert all(t.due(x * 0.1, "same") for x in range(5))
