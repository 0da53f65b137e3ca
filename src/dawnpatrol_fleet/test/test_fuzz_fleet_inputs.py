"""Hostile input for the fleet's pure parsers: shift clock parameters, the fleet params file's
retention, the audit head and public keys the CLI reads. 1,000 generated inputs each."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import yaml
from hostile_inputs import FUZZ, NASTY_TEXT, check_clean, json_text, mutated, random_text
from hypothesis import given
from hypothesis import strategies as st

from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.fleet.config import parse_clock
from dawnpatrol_fleet.cli_audit import parse_head
from dawnpatrol_fleet.cli_data import retention_from_params
from dawnpatrol_fleet.cli_keys import _read_public

REPO = Path(__file__).resolve().parents[3]
_PARAMS = yaml.safe_load((REPO / "params" / "fleet_manager.yaml").read_text(encoding="utf-8"))
FLEET = {"/**": {"ros__parameters": {  # a few of the real ones (YAML parsing is the cost here)
    **dict(list(_PARAMS["/**"]["ros__parameters"].items())[:4]), "retention_days": 30}}}


@FUZZ
@given(r=st.randoms(use_true_random=True))
def test_shift_clock_parameters(r: random.Random) -> None:
    v = r.choice([random_text(r, 8), r.choice(NASTY_TEXT), f"{r.randint(-5, 60)}:"
                  f"{r.randint(-5, 99):02d}", r.randint(-10, 10**6), None, 2.5, [1]])
    out = check_clean(lambda: parse_clock("shift_start", v))  # type: ignore[arg-type]
    assert isinstance(out, DawnPatrolError) or 0 <= out < 48 * 3600


@FUZZ
@given(doc=mutated(FLEET, keys=["/**", "ros__parameters", "retention_days"]),
       as_json=st.booleans())
def test_retention_from_params(tmp_path: Path, doc: object, as_json: bool) -> None:
    path = tmp_path / "fleet.yaml"
    try:
        text = json_text(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = check_clean(lambda: retention_from_params(path))
    assert isinstance(out, DawnPatrolError) or 0 < out <= 3650


def _head_or_key(r: random.Random) -> str:
    pick = r.randrange(4)
    if pick == 0:
        return f"{r.randint(0, 10**r.randint(1, 30))}:" + "".join(
            r.choice("0123456789abcdefX") for _ in range(r.randint(60, 70)))
    if pick == 1:
        return "ed25519:" + base64.b64encode(r.randbytes(r.randint(28, 36))).decode()
    return r.choice([random_text(r, 80), r.choice(NASTY_TEXT)])


@FUZZ
@given(text=st.randoms(use_true_random=True).map(_head_or_key))
def test_audit_head_and_public_key_arguments(tmp_path: Path, text: str) -> None:
    check_clean(lambda: parse_head(text))
    arg = str(tmp_path / text) if text and not text.startswith("ed25519:") else text
    out = check_clean(lambda: _read_public(arg))
    assert isinstance(out, DawnPatrolError) or len(out) == 32
