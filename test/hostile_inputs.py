"""Hypothesis strategies for hostile input (fuzz tests of every parser) and the property they
check: a parser returns, or raises a DawnPatrolError with a short one-line message — nothing
else, never a traceback from deep inside.

Documents are valid files with random edits. Hypothesis draws a seeded ``random.Random`` per
example and the edits are made with it: generating nested hostile values through hypothesis's
own strategies cost ~15x more per example, and 1,000 examples per parser must stay cheap.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from dawnpatrol_core.errors import DawnPatrolError

T = TypeVar("T")

#: Every fuzz test: 1,000 generated inputs (DAWNPATROL_FUZZ_EXAMPLES changes it for a quick or a
#: long local run), the same ones each run (derandomized: CI never flakes; a local run with
#: DAWNPATROL_FUZZ_RANDOM=1 draws new ones), no per-example deadline (the machine is shared),
#: no health check about slow data generation.
FUZZ = settings(max_examples=int(os.environ.get("DAWNPATROL_FUZZ_EXAMPLES", "1000")),
                deadline=None, database=None,
                derandomize=os.environ.get("DAWNPATROL_FUZZ_RANDOM", "") != "1",
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
#: Longest error line accepted: one line an operator can read, not a dump of the input.
MAX_LINE = 400

NASTY_TEXT = [
    "", " ", "nan", "NaN", "inf", "-inf", "1e999", "-1e999", "1e-999", "02:00", "25:61",
    "99:99:99", "-01:00", "\x00", "\u202e", "null", "~", "true", "yes", "no", "0x10", "1_000",
    "[1, 2]", "{}", "\n", "\r", '"', "'", "#", "%", "a" * 300, "é", "\ud800", "\U0001f600",
    "1,5", "  7  ", "0", "-0", "+1", "1.", ".5", "1e3", "pin", "door", "r1", "*", "..",
    "../x", "2026-13-45", "12:30:45.5", "!!python/object", "&a", "*a", "<<",
]
NASTY_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 10**400, -(10**400), 0.0, -0.0, 1e308,
                 -1e308, 5e-324, float("nan"), float("inf"), float("-inf"), True, False, 0.5,
                 3600, 86400, 7200.0, -7200.0, 24.0001, 90.0, 180.0001, 1e-9]
_CHARS = ("abcXYZ019 _-.:/,;'\"\\#&*!%{}[]|>\n\r\t\x00\x7f\u00e9\ud55c\u202e\u200b"
          "\U0001f600\ud800")


def random_text(r: random.Random, n: int = 12) -> str:
    return "".join(r.choice(_CHARS) for _ in range(r.randint(0, n)))


def hostile_scalar(r: random.Random) -> Any:
    """A scalar of any JSON/YAML kind, biased towards the ones parsers trip over."""
    pick = r.randrange(7)
    if pick == 0:
        return r.choice([None, True, False])
    if pick == 1:
        return r.randint(-(10**6), 10**6)
    if pick == 2:
        return r.choice(NASTY_NUMBERS)
    if pick == 3:
        return r.uniform(-1e6, 1e6)
    if pick == 4:
        return r.choice(NASTY_TEXT)
    return random_text(r)


def hostile_value(r: random.Random, keys: list[str], depth: int = 0) -> Any:
    """A scalar, or a list or mapping (keys from ``keys`` or random) nested up to 3 deep."""
    pick = r.random()
    if depth < 3 and pick < 0.12:
        return [hostile_value(r, keys, depth + 1) for _ in range(r.randint(0, 3))]
    if depth < 3 and pick < 0.24:
        return {hostile_key(r, keys): hostile_value(r, keys, depth + 1)
                for _ in range(r.randint(0, 3))}
    return hostile_scalar(r)


def hostile_key(r: random.Random, keys: list[str]) -> str:
    return r.choice(keys) if keys and r.random() < 0.7 else random_text(r, 8)


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, (*path, i)))
    return out


def mutate(doc: Any, r: random.Random, keys: list[str], max_edits: int = 3) -> Any:
    """A copy of ``doc`` with 1..max_edits random edits: a value replaced by a hostile one, a
    key or item removed, a key added, a list item duplicated, a whole list emptied."""
    doc = copy.deepcopy(doc)
    for _ in range(r.randint(1, max_edits)):
        path = r.choice(_paths(doc))
        op = r.choice(["replace", "replace", "replace", "delete", "add", "duplicate", "empty"])
        if not path:
            if op == "replace":
                doc = hostile_value(r, keys)
            continue
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        last = path[-1]
        if op == "replace":
            parent[last] = hostile_value(r, keys)
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent, dict):
            parent[hostile_key(r, keys)] = hostile_value(r, keys)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif op == "empty" and isinstance(parent[last], list | dict):
            parent[last] = type(parent[last])()
    return doc


def mutated(doc: Any, keys: list[str] | None = None, max_edits: int = 3
            ) -> st.SearchStrategy[Any]:
    """Documents: ``doc`` with random edits (see :func:`mutate`), one seed per example."""
    return st.randoms(use_true_random=True).map(
        lambda r: mutate(doc, r, list(keys or ()), max_edits))


def text_edited(text: str) -> st.SearchStrategy[str]:
    """``text`` with a random slice replaced by random characters."""
    def edit(r: random.Random) -> str:
        i = r.randint(0, len(text))
        j = r.randint(i, min(len(text), i + 40))
        return text[:i] + random_text(r, 8) + text[j:]
    return st.randoms(use_true_random=True).map(edit)


def json_text(doc: Any) -> str:
    """JSON as a careless writer produces it: NaN/Infinity allowed, non-ASCII kept."""
    return json.dumps(doc, allow_nan=True, ensure_ascii=False)


def check_clean(fn: Callable[[], T], multi_line: bool = False) -> T | DawnPatrolError:
    """Call ``fn``: its result, or the DawnPatrolError it raised after checking the message is
    one short line (or, with ``multi_line``, short non-empty lines — order files list every
    problem). Any other exception propagates: that is a crash."""
    try:
        return fn()
    except DawnPatrolError as exc:
        msg = str(exc)
        lines = msg.split("\n")
        assert msg.strip(), f"empty message from {type(exc).__name__}"
        assert multi_line or len(lines) == 1, f"multi-line message: {msg[:300]!r}"
        for line in lines:
            assert line.strip() and len(line) <= MAX_LINE, f"message line: {line[:600]!r}"
            assert "\r" not in line, f"carriage return in message: {line[:300]!r}"
        return exc
