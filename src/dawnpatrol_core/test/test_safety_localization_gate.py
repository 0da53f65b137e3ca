"""Localization gate: open while localized, hold while LOST, expire after the timeout."""

from __future__ import annotations

import math

import pytest

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.safety.localization_gate import Gate, LocalizationGate


def test_hold_while_lost_then_expire_and_reopen() -> None:
    g = LocalizationGate(timeout=10.0)
    assert g.state(0.0) is Gate.OPEN and not g.lost
    g.update(5.0, lost=True)
    g.update(7.0, lost=True)  # still lost: counted from the first LOST
    assert g.lost and g.lost_for(9.0) == 4.0
    assert g.state(15.0) is Gate.HOLD
    assert g.state(15.01) is Gate.EXPIRED
    g.update(16.0, lost=False)
    assert g.state(16.0) is Gate.OPEN and g.lost_for(16.0) == 0.0
    g.update(20.0, lost=True)  # a new LOST period starts its own count
    assert g.state(29.0) is Gate.HOLD


@pytest.mark.parametrize("timeout", [0.0, -1.0, math.nan, math.inf])
def test_bad_timeout_is_rejected(timeout: float) -> None:
    with pytest.raises(ConfigError, match="field 'timeout'"):
        LocalizationGate(timeout)
