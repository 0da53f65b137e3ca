"""Validation of the localization parameters."""

from __future__ import annotations

import pytest

from dawnpatrol_core.errors import ConfigError
from dawnpatrol_core.localization.params import LocalizationParams


def test_defaults_are_valid() -> None:
    p = LocalizationParams()
    assert 60 <= p.max_beams <= 90


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"max_beams": 1}, "field 'max_beams': got 1, expected in [2, 4096]"),
        ({"kld_err": 0.0}, "field 'kld_err': got 0.0, expected in (0.0, 1.0)"),
        ({"min_particles": 2.5}, "field 'min_particles': got 2.5, expected an integer"),
        ({"sigma_hit": float("nan")}, "field 'sigma_hit': got nan, expected a finite number"),
        ({"min_particles": 900, "max_particles": 800}, "expected <= max_particles (800)"),
        ({"alpha_slow": 0.2, "alpha_fast": 0.1}, "expected < alpha_fast (0.1)"),
        ({"health_ok_score_exit": 0.1}, "field 'health_ok_score_exit'"),
    ],
)
def test_bad_values_name_field_value_and_range(kw: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        LocalizationParams(**kw)  # type: ignore[arg-type]
    assert message in str(exc.value)
    assert str(exc.value).startswith("localization params: ")


def test_from_mapping_names_source_and_unknown_keys() -> None:
    p = LocalizationParams.from_mapping({"max_particles": 3000}, "params/robot.yaml")
    assert p.max_particles == 3000
    with pytest.raises(ConfigError, match=r"^params/robot.yaml: field 'bogus'"):
        LocalizationParams.from_mapping({"bogus": 1}, "params/robot.yaml")
    with pytest.raises(ConfigError, match=r"^params/robot.yaml: field 'z_hit'"):
        LocalizationParams.from_mapping({"z_hit": 2.0}, "params/robot.yaml")
