"""A scenario's ``expectations``: the contract a simulated shift is judged by.

Parsed from the scenario file (one line naming the bad field), evaluated against the facts of a
finished shift (:class:`ShiftFacts`, gathered by the scenario runner over ROS or by a headless
run), and rendered as a PASS/MISS table for the terminal and the shift report.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dawnpatrol_core.errors import ScenarioError, field_error

_KEYS = ("min_delivered_in_window", "alerts", "no_alerts", "max_alerts", "hotspot_bounds",
         "calls_answered_within_s", "min_patrol_visits", "anomaly")


@dataclass(frozen=True, slots=True)
class Expectations:
    """What a shift must show. ``min_delivered_in_window``: share (0..1) of the parcels whose
    recipient is home handed over inside their window; ``alerts``: kinds that must be raised;
    ``no_alerts``: kinds that must not be; ``max_alerts``: most alerts of a kind (one per
    incident); ``hotspot_bounds``: every hotspot's idleness bound held; ``calls_answered_within_s``:
    every operator call has a robot on scene within this many seconds; ``min_patrol_visits``:
    patrol visits (investigations are not patrol visits). None / empty: not checked."""

    min_delivered_in_window: float | None = None
    alerts: tuple[str, ...] = ()
    no_alerts: tuple[str, ...] = ()
    max_alerts: Mapping[str, int] = field(default_factory=dict)
    hotspot_bounds: bool = False
    calls_answered_within_s: float | None = None
    min_patrol_visits: int | None = None

    @property
    def empty(self) -> bool:
        """True when nothing is to be checked."""
        return not (self.min_delivered_in_window is not None or self.alerts or self.no_alerts
                    or self.max_alerts or self.hotspot_bounds
                    or self.calls_answered_within_s is not None
                    or self.min_patrol_visits is not None)


def parse_expectations(raw: Any, source: str) -> Expectations:
    """The scenario's ``expectations`` mapping (None: nothing expected); ScenarioError naming
    the field of a bad entry. The ``anomaly`` section belongs to the anomaly benchmark."""
    if raw is None:
        return Expectations()
    if not isinstance(raw, Mapping):
        raise ScenarioError(field_error(source, "expectations", raw, "a mapping"))
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise ScenarioError(field_error(source, f"expectations.{unknown[0]}", raw[unknown[0]],
                                        "one of " + ", ".join(_KEYS)))

    def kinds(name: str) -> tuple[str, ...]:
        v = raw.get(name, [])
        if not isinstance(v, list) or not all(isinstance(k, str) and k for k in v):
            raise ScenarioError(field_error(source, f"expectations.{name}", v,
                                            "a list of anomaly kinds"))
        return tuple(v)

    share = raw.get("min_delivered_in_window")
    if share is not None and not (_number(share) and 0.0 <= share <= 1.0):
        raise ScenarioError(field_error(source, "expectations.min_delivered_in_window", share,
                                        "a share in [0, 1]"))
    maxes = raw.get("max_alerts", {})
    if not isinstance(maxes, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in maxes.items()):
        raise ScenarioError(field_error(source, "expectations.max_alerts", maxes,
                                        "{kind: a count >= 0}"))
    bounds = raw.get("hotspot_bounds")
    if bounds not in (None, "held"):
        raise ScenarioError(field_error(source, "expectations.hotspot_bounds", bounds, "held"))
    within = raw.get("calls_answered_within_s")
    if within is not None and not (_number(within) and within > 0):
        raise ScenarioError(field_error(source, "expectations.calls_answered_within_s", within,
                                        "seconds > 0"))
    visits = raw.get("min_patrol_visits")
    if visits is not None and not (isinstance(visits, int) and not isinstance(visits, bool)
                                   and visits >= 0):
        raise ScenarioError(field_error(source, "expectations.min_patrol_visits", visits,
                                        "an integer >= 0"))
    return Expectations(
        None if share is None else float(share), kinds("alerts"), kinds("no_alerts"),
        dict(maxes), bounds == "held", None if within is None else float(within), visits)


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True, slots=True)
class ShiftFacts:
    """What happened in a shift, as the expectations need it. ``at_home``: orders whose recipient
    is home; ``in_window``: those handed over by their window's end; ``alerts``: (kind, time s)
    of each alert raised (one per uuid); ``hotspot_violations``: hotspot id -> gaps longer than
    its bound; ``call_response_s``: per operator call, seconds until a robot was on scene (None:
    never); ``patrol_visits``: finished patrol visits."""

    at_home: frozenset[str] = frozenset()
    in_window: frozenset[str] = frozenset()
    alerts: tuple[tuple[str, float], ...] = ()
    hotspot_violations: Mapping[str, int] = field(default_factory=dict)
    call_response_s: tuple[float | None, ...] = ()
    patrol_visits: int = 0


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the verdict."""

    name: str
    expected: str
    actual: str
    passed: bool


def evaluate(exp: Expectations, facts: ShiftFacts) -> tuple[Check, ...]:
    """Every expectation against the facts, in the order of :class:`Expectations`."""
    out: list[Check] = []
    if exp.min_delivered_in_window is not None:
        n = len(facts.at_home)
        got = len(facts.in_window & facts.at_home)
        share = got / n if n else 1.0
        out.append(Check("delivered in window", f">= {exp.min_delivered_in_window:.0%} of "
                         "recipients at home", f"{got}/{n} ({share:.0%})",
                         share >= exp.min_delivered_in_window - 1e-9))
    raised: dict[str, list[float]] = {}
    for kind, t in facts.alerts:
        raised.setdefault(kind, []).append(t)
    for kind in exp.alerts:
        n = len(raised.get(kind, []))
        out.append(Check(f"alert {kind}", "raised", f"{n} raised" if n else "not raised",
                         n > 0))
    for kind in exp.no_alerts:
        n = len(raised.get(kind, []))
        out.append(Check(f"no alert {kind}", "none", f"{n} raised", n == 0))
    for kind, most in sorted(exp.max_alerts.items()):
        n = len(raised.get(kind, []))
        out.append(Check(f"alerts {kind}", f"<= {most}", str(n), n <= most))
    if exp.hotspot_bounds:
        over = {h: n for h, n in sorted(facts.hotspot_violations.items()) if n > 0}
        actual = "all held" if not over else ", ".join(f"{h} over {n}x" for h, n in over.items())
        out.append(Check("hotspot idleness bounds", "all held", actual, not over))
    if exp.calls_answered_within_s is not None:
        limit = exp.calls_answered_within_s
        times = facts.call_response_s
        missed = sum(t is None for t in times)
        known = [t for t in times if t is not None]
        actual = (f"{len(known)}/{len(times)} answered" + (
            f", median {statistics.median(known):.0f} s, max {max(known):.0f} s" if known else ""))
        out.append(Check("calls answered", f"all within {limit:.0f} s", actual,
                         missed == 0 and all(t <= limit for t in known)))
    if exp.min_patrol_visits is not None:
        out.append(Check("patrol visits", f">= {exp.min_patrol_visits}",
                         str(facts.patrol_visits), facts.patrol_visits >= exp.min_patrol_visits))
    return tuple(out)


def render(checks: Sequence[Check]) -> list[str]:
    """The verdict as a markdown table (also readable on a terminal), then a one-line total."""
    lines = ["| check | expected | actual | result |", "|---|---|---|---|"]
    lines += [f"| {c.name} | {c.expected} | {c.actual} | {'PASS' if c.passed else 'MISS'} |"
              for c in checks]
    missed = sum(not c.passed for c in checks)
    lines.append(f"expectations: {len(checks) - missed}/{len(checks)} met"
                 + (f", {missed} MISS" if missed else ""))
    return lines


def answer_times(calls: Sequence[tuple[float, float, float]],
                 arrivals: Sequence[tuple[float, float, float]],
                 radius_m: float = 20.0) -> tuple[float | None, ...]:
    """Seconds from each call (t s, x m, y m) to the first robot arriving on an investigation
    (t, x, y) within ``radius_m`` of its point after it; None when none did. An arrival answers
    one call, the earliest it can."""
    used: set[int] = set()
    out: list[float | None] = []
    for tc, xc, yc in calls:
        best = None
        for i, (ta, xa, ya) in enumerate(arrivals):
            if i in used or ta < tc or math.hypot(xa - xc, ya - yc) > radius_m:
                continue
            if best is None or ta < arrivals[best][0]:
                best = i
        if best is None:
            out.append(None)
        else:
            used.add(best)
            out.append(arrivals[best][0] - tc)
    return tuple(out)
