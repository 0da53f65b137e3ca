"""Fleet parameters: the shift clock, validation with one-line errors, the params file."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.fleet.config import PARAMETERS, FleetConfig, parse_clock

PARAMS = Path(__file__).resolve().parents[3] / "params" / "fleet_manager.yaml"


@pytest.mark.parametrize("text", ["2am", "25", "02:60", "", "1:2:3"])
def test_parse_clock_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="parameter 'shift_start'"):
        parse_clock("shift_start", text)


def test_parse_clock() -> None:
    assert parse_clock("x", "02:30") == 9000.0


def test_config_from_the_params_file() -> None:
    values = yaml.safe_load(PARAMS.read_text())["/**"]["ros__parameters"]
    assert set(values) == set(PARAMETERS)  # every parameter in the file is declared, and back
    c = FleetConfig.from_params(values)
    assert c.robot_ids == ("r1", "r2", "r3") and c.compartments == 4
    assert (c.shift_start, c.shift_end) == (7200.0, 25200.0)
    assert c.range_m == math.inf  # 0 = unlimited
    assert c.heartbeat_period_s == 0.5 and c.track_period_s == 0.1


def test_config_defaults_and_a_shift_past_midnight() -> None:
    c = FleetConfig.from_params({"shift_start": "22:00", "shift_end": "06:00"})
    assert c.shift_end - c.shift_start == 8 * 3600.0
    assert c == FleetConfig.from_params({**{k: v for k, (v, _) in PARAMETERS.items()},
                                         "shift_start": "22:00", "shift_end": "06:00"})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("robot_ids", ["r1", "r1"], "parameter 'robot_ids': got ['r1', 'r1'], expected unique names"),
    ("robot_ids", [], "parameter 'robot_ids': got [], expected unique names"),
    ("robot_speed", 9.0, "parameter 'robot_speed': got 9.0, expected 0.1..3"),
    ("robot_speed", "fast", "parameter 'robot_speed': got 'fast', expected 0.1..3"),
    ("offline_after_s", 1.0, "parameter 'offline_after_s': got 1.0, expected 3..7200"),
    ("heartbeat_rate_hz", float("nan"), "parameter 'heartbeat_rate_hz': got nan, expected 0.5..50"),
    ("shift_end", "7pm", "parameter 'shift_end': got '7pm', expected 'HH:MM'"),
    ("calls_before_parcels", "yes",
     "parameter 'calls_before_parcels': got 'yes', expected true or false"),
])
def test_bad_parameters_name_themselves(name: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        FleetConfig.from_params({name: value})
    assert str(err.value) == message
