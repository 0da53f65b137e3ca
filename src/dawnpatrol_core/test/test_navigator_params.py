"""The navigator's parameters: params/navigator.yaml is the one source of both the node's and
the headless runs' navigator."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dawnpatrol_core.control.navigator_params import NavigatorParams
from dawnpatrol_core.errors import ConfigError

YAML = Path(__file__).resolve().parents[3] / "params" / "navigator.yaml"


def shipped() -> dict[str, object]:
    return dict(yaml.safe_load(YAML.read_text(encoding="utf-8"))["/**"]["ros__parameters"])


def test_the_shipped_file_builds_the_navigator_it_says() -> None:
    values = shipped()
    p = NavigatorParams.from_params(values, str(YAML))
    cfg = p.config()
    assert cfg.follower.goal_tolerance == values["goal_tolerance"]
    assert cfg.obstacles.decel == values["obstacle_decel"]
    assert cfg.obstacles.stop_margin == values["stop_margin"]
    assert cfg.wait_timeout == values["wait_timeout_s"]
    assert cfg.stall_timeout == values["stall_timeout_s"]
    assert cfg.evade.decel == values["stop_decel"]
    assert p.period == pytest.approx(1.0 / float(values["control_rate_hz"]))  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("goal_tolerance", 0.0, "a number > 0"),
    ("max_speed", 9.0, "0 < m/s <= 4.17"),
    ("predict_movers", "yes", "true or false"),
    ("pose_source", "gps", "localization or ground_truth"),
    ("map_dir", "", "a map directory path"),
])
def test_a_bad_value_is_one_line_naming_file_parameter_and_expectation(
        name: str, value: object, expected: str) -> None:
    values = shipped() | {name: value}
    with pytest.raises(ConfigError) as err:
        NavigatorParams.from_params(values, "nav.yaml")
    assert str(err.value) == (f"nav.yaml: parameter '{name}': got {value!r}, expected "
                              f"{expected}")


def test_unknown_parameters_and_bad_hours_are_refused() -> None:
    with pytest.raises(ConfigError, match="parameter 'goal_tolerence': unknown"):
        NavigatorParams.from_params(shipped() | {"goal_tolerence": 0.2}, "nav.yaml")
    with pytest.raises(ConfigError, match="parameter 'operating_hours'"):
        NavigatorParams.from_params(shipped() | {"operating_hours": "25:00-07:00"})
