"""Anomaly events: the value sent to the fleet, its validation, and the incident manager.

Evidence is privacy-preserving by construction: a track history and a few scan points, never
images, so no face or licence plate can be stored.
"""

from __future__ import annotations

import json
import math
import re
import uuid as uuidlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from dawnpatrol_core.anomaly.incidents import IncidentPolicy
from dawnpatrol_core.errors import AnomalyError, finite_number


class Severity(StrEnum):
    """Operator-facing severity, ordered INFO < WARNING < ALERT < CRITICAL."""

    INFO = "info"
    WARNING = "warning"
    ALERT = "alert"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def escalated(self, steps: int = 1) -> Severity:
        """This severity raised by ``steps`` levels, capped at CRITICAL."""
        return _SEVERITY_ORDER[min(self.rank + steps, len(_SEVERITY_ORDER) - 1)]


_SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.INFO,
    Severity.WARNING,
    Severity.ALERT,
    Severity.CRITICAL,
)

#: Every anomaly kind and its default severity. Scene kinds come from rules.py, the rest
#: from health.py.
KIND_SEVERITY: dict[str, Severity] = {
    "loitering": Severity.WARNING,
    "intrusion": Severity.ALERT,
    "blocked_sidewalk": Severity.WARNING,
    "battery_low": Severity.WARNING,
    "battery_critical": Severity.CRITICAL,
    "stuck": Severity.ALERT,
    "localization_lost": Severity.ALERT,
    "sensor_stale": Severity.ALERT,
    "link_lost": Severity.WARNING,
    "impact": Severity.CRITICAL,
    "tilt": Severity.CRITICAL,
}
KINDS: frozenset[str] = frozenset(KIND_SEVERITY)

# Limits enforced by validate_event (documented for the message definition and the CLI).
MAX_ID_LEN = 64  #: robot_id / zone: characters from ``[A-Za-z0-9_.:-]``
MAX_DESCRIPTION_LEN = 512  #: description: printable text, no control or bidi characters
MAX_TRACK_POINTS = 600  #: evidence track history (t, x, y) rows
MAX_SCAN_POINTS = 720  #: evidence scan snippet (x, y) rows
MAX_COUNT = 10_000_000  #: count: 1..MAX_COUNT
MAX_ABS_COORD = 1.0e6  #: |x|, |y| in metres
MAX_ABS_TIME = 1.0e11  #: |t| in seconds (epoch or simulated), for evidence time stamps
_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]*")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# C0/C1 controls (tab and newline included: events are one-line), DEL, bidi overrides and
# isolates, zero-width and BOM characters: all used to spoof terminals and operator UIs.
_HOSTILE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]"
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Privacy-preserving evidence: ``track`` rows (t s, x m, y m), ``scan`` rows (x m, y m).

    Both are in the map frame; no image or appearance data exists anywhere in an event.
    """

    track: tuple[tuple[float, float, float], ...] = ()
    scan: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Detection:
    """One firing of a rule or health check, before deduplication.

    ``key`` identifies the subject (``"track:12"``, ``"edges:3,4"``, ``"robot"``);
    ``threshold_met_at`` is when the rule's condition became true (s) and ``detected_at`` when
    the rule noticed it (s): their difference is the detection latency. ``began_at`` is when
    the episode began (s; a loiterer's stay start, an intruder's entry; None: the threshold
    time): the incident's ``first_seen``, so a second robot that confirms a stay it only saw
    begin after another robot's last sighting still matches that incident.
    """

    kind: str
    key: str
    x: float
    y: float
    detected_at: float
    threshold_met_at: float
    zone: str = ""
    confidence: float = 1.0
    severity: Severity | None = None
    description: str = ""
    evidence: Evidence = field(default_factory=Evidence)
    edge_ids: tuple[int, ...] = ()
    began_at: float | None = None


@dataclass(frozen=True, slots=True)
class AnomalyEvent:
    """An anomaly as stored and sent: one per incident (kind, place, time; see incidents.py).

    ``x``/``y``: metres in the map frame; ``lat``/``lon``: WGS84 degrees when the map is
    georeferenced. ``first_seen``/``last_seen``: seconds; ``count``: detections merged.
    ``revision`` grows on every published update, so a receiver keeps the newest copy.
    """

    uuid: str
    robot_id: str
    kind: str
    severity: Severity
    confidence: float
    x: float
    y: float
    zone: str
    first_seen: float
    last_seen: float
    count: int
    description: str
    evidence: Evidence = field(default_factory=Evidence)
    lat: float | None = None
    lon: float | None = None
    revision: int = 0


def new_event_uuid(rng: np.random.Generator) -> str:
    """A random (version 4) UUID string drawn from ``rng`` (reproducible in simulation)."""
    raw = rng.integers(0, 256, size=16, dtype=np.uint8).tobytes()
    return str(uuidlib.UUID(bytes=raw, version=4))


# ---------------------------------------------------------------- serialization / validation


def event_to_dict(ev: AnomalyEvent) -> dict[str, Any]:
    """A JSON-ready dict of ``ev`` (the wire and storage format)."""
    return {
        "uuid": ev.uuid,
        "robot_id": ev.robot_id,
        "kind": ev.kind,
        "severity": ev.severity.value,
        "confidence": ev.confidence,
        "x": ev.x,
        "y": ev.y,
        "lat": ev.lat,
        "lon": ev.lon,
        "zone": ev.zone,
        "first_seen": ev.first_seen,
        "last_seen": ev.last_seen,
        "count": ev.count,
        "description": ev.description,
        "evidence": {
            "track": [list(r) for r in ev.evidence.track],
            "scan": [list(r) for r in ev.evidence.scan],
        },
        "revision": ev.revision,
    }


def event_to_json(ev: AnomalyEvent) -> str:
    """Compact JSON of ``ev``."""
    return json.dumps(event_to_dict(ev), separators=(",", ":"), allow_nan=False)


def event_from_json(text: str, source: str = "<json>") -> AnomalyEvent:
    """Parse and validate an event from JSON; raises AnomalyError with a one-line message."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise AnomalyError(f"{source}: not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise AnomalyError(f"{source}: got {type(data).__name__}, expected a JSON object")
    return event_from_dict(data, source)


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def event_from_dict(data: Mapping[str, Any], source: str = "<event>") -> AnomalyEvent:
    """Build a validated event from a dict; raises AnomalyError with a one-line message."""
    err = validate_event(data, source)
    if err is not None:
        raise AnomalyError(err)
    ev_raw = data.get("evidence") or {}
    lat = data.get("lat")
    lon = data.get("lon")
    return AnomalyEvent(
        uuid=str(data["uuid"]),
        robot_id=str(data["robot_id"]),
        kind=str(data["kind"]),
        severity=Severity(data.get("severity", KIND_SEVERITY[str(data["kind"])].value)),
        confidence=float(data["confidence"]),
        x=float(data["x"]),
        y=float(data["y"]),
        zone=str(data.get("zone", "")),
        first_seen=float(data["first_seen"]),
        last_seen=float(data["last_seen"]),
        count=int(data["count"]),
        description=str(data.get("description", "")),
        evidence=Evidence(
            track=tuple((float(r[0]), float(r[1]), float(r[2])) for r in ev_raw.get("track", [])),
            scan=tuple((float(r[0]), float(r[1])) for r in ev_raw.get("scan", [])),
        ),
        lat=None if lat is None else float(lat),
        lon=None if lon is None else float(lon),
        revision=int(data.get("revision", 0)),
    )


def _bad(source: str, name: str, got: object, expected: str) -> str:
    shown = repr(got)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    # repr() escapes control characters, so the message itself stays one safe line.
    return f"{source}: field '{name}': got {shown}, expected {expected}"


def _is_real(v: object) -> bool:
    return finite_number(v) is not None


def _check_id(source: str, name: str, v: object, allow_empty: bool) -> str | None:
    if not isinstance(v, str):
        return _bad(source, name, v, "a string")
    if len(v) > MAX_ID_LEN or (not v and not allow_empty) or not _ID_RE.fullmatch(v):
        return _bad(source, name, v, f"1..{MAX_ID_LEN} characters from [A-Za-z0-9_.:-]")
    return None


def _check_rows(source: str, name: str, rows: object, width: int, limit: int) -> str | None:
    if not isinstance(rows, (list, tuple)) or len(rows) > limit:
        return _bad(source, name, f"<{type(rows).__name__}>", f"a list of at most {limit} rows")
    for row in rows:
        if (
            not isinstance(row, (list, tuple))
            or len(row) != width
            or not all(_is_real(v) for v in row)
            # the last two columns are x, y metres; a leading column is a time stamp (s)
            or not all(abs(v) <= MAX_ABS_COORD for v in row[-2:])
            or not all(abs(v) <= MAX_ABS_TIME for v in row[:-2])
        ):
            return _bad(source, name, row, f"rows of {width} finite numbers")
    return None


def validate_event(event: AnomalyEvent | Mapping[str, Any], source: str = "<event>") -> str | None:
    """Check an incoming event; return a one-line error, or None when it is acceptable.

    Rejects unknown kinds or severities, NaN/inf or out-of-range numbers, malformed uuids,
    ids outside ``[A-Za-z0-9_.:-]{1,64}``, descriptions over 512 characters or containing
    control, bidi-override or zero-width characters, and oversize evidence (limits above).
    """
    data: Mapping[str, Any] = event_to_dict(event) if isinstance(event, AnomalyEvent) else event
    if not isinstance(data, Mapping):
        return _bad(source, "event", type(data).__name__, "an object")
    for req in ("uuid", "robot_id", "kind", "confidence", "x", "y", "first_seen", "last_seen",
                "count"):
        if req not in data:
            return f"{source}: field '{req}': missing, expected a value"
    u = data["uuid"]
    if not isinstance(u, str) or not _UUID_RE.fullmatch(u):
        return _bad(source, "uuid", u, "a lowercase canonical UUID")
    if (e := _check_id(source, "robot_id", data["robot_id"], allow_empty=False)) is not None:
        return e
    if (e := _check_id(source, "zone", data.get("zone", ""), allow_empty=True)) is not None:
        return e
    kind = data["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        return _bad(source, "kind", kind, "one of " + ", ".join(sorted(KINDS)))
    sev = data.get("severity", KIND_SEVERITY[kind].value)
    if not isinstance(sev, str) or sev not in {s.value for s in Severity}:
        return _bad(source, "severity", sev, "one of info, warning, alert, critical")
    conf = data["confidence"]
    if not _is_real(conf) or not 0.0 <= conf <= 1.0:
        return _bad(source, "confidence", conf, "a finite number in [0, 1]")
    for name in ("x", "y"):
        v = data[name]
        if not _is_real(v) or abs(v) > MAX_ABS_COORD:
            return _bad(source, name, v, f"a finite number of metres, |v| <= {MAX_ABS_COORD:g}")
    for name, lim in (("lat", 90.0), ("lon", 180.0)):
        v = data.get(name)
        if v is not None and (not _is_real(v) or abs(v) > lim):
            return _bad(source, name, v, f"null or a finite number of degrees, |v| <= {lim:g}")
    fs, ls = data["first_seen"], data["last_seen"]
    if not _is_real(fs) or fs < 0:
        return _bad(source, "first_seen", fs, "a finite time >= 0 s")
    if not _is_real(ls) or ls < fs:
        return _bad(source, "last_seen", ls, "a finite time >= first_seen")
    cnt = data["count"]
    if not isinstance(cnt, int) or isinstance(cnt, bool) or not 1 <= cnt <= MAX_COUNT:
        return _bad(source, "count", cnt, f"an integer in [1, {MAX_COUNT}]")
    rev = data.get("revision", 0)
    if not isinstance(rev, int) or isinstance(rev, bool) or not 0 <= rev <= MAX_COUNT:
        return _bad(source, "revision", rev, f"an integer in [0, {MAX_COUNT}]")
    desc = data.get("description", "")
    if not isinstance(desc, str):
        return _bad(source, "description", desc, "a string")
    if len(desc) > MAX_DESCRIPTION_LEN:
        return _bad(source, "description", f"<{len(desc)} characters>",
                    f"at most {MAX_DESCRIPTION_LEN} characters")
    if _HOSTILE_RE.search(desc):
        return _bad(source, "description", desc, "printable text without control characters")
    evid = data.get("evidence", {})
    if not isinstance(evid, Mapping):
        return _bad(source, "evidence", f"<{type(evid).__name__}>", "an object {track, scan}")
    extra = set(evid) - {"track", "scan"}
    if extra:
        return _bad(source, "evidence", sorted(map(str, extra))[0],
                    "only 'track' and 'scan' (no images)")
    if (e := _check_rows(source, "evidence.track", evid.get("track", []), 3,
                         MAX_TRACK_POINTS)) is not None:
        return e
    return _check_rows(source, "evidence.scan", evid.get("scan", []), 2, MAX_SCAN_POINTS)


def make_evidence(
    track: npt.ArrayLike | None = None,
    scan: npt.ArrayLike | None = None,
    max_track: int = 200,
    max_scan: int = 64,
) -> Evidence:
    """Evidence from ``track`` (K, 3) [t, x, y] and ``scan`` (M, 2) [x, y], downsampled evenly
    to at most ``max_track`` / ``max_scan`` rows and rounded to millimetres."""
    tr = np.zeros((0, 3)) if track is None else np.asarray(track, dtype=np.float64).reshape(-1, 3)
    sc = np.zeros((0, 2)) if scan is None else np.asarray(scan, dtype=np.float64).reshape(-1, 2)
    if len(tr) > max_track:
        tr = tr[np.linspace(0, len(tr) - 1, max_track).round().astype(np.int64)]
    if len(sc) > max_scan:
        sc = sc[np.linspace(0, len(sc) - 1, max_scan).round().astype(np.int64)]
    tr = np.round(tr, 3)
    sc = np.round(sc, 3)
    return Evidence(
        track=tuple((float(a), float(b), float(c)) for a, b, c in tr),
        scan=tuple((float(a), float(b)) for a, b in sc),
    )


# ---------------------------------------------------------------- event manager


@dataclass(frozen=True, slots=True)
class EventManagerConfig:
    """Incident, rate-limit and escalation policy.

    ``incidents``: which detections are one incident (same kind and place within a gap); an
    incident not refreshed within its gap is closed and a later detection opens a new one.
    ``min_update_interval_s``: refreshes of an open event are published at most this often
    (escalations always are). ``rate_limit``/``rate_window_s``: at most this many NEW events
    per kind per window. ``escalate_after_s``: an event open this long goes up one severity
    level (again after each further period).
    """

    incidents: IncidentPolicy = field(default_factory=IncidentPolicy)
    min_update_interval_s: float = 5.0
    rate_limit: int = 20
    rate_window_s: float = 60.0
    escalate_after_s: float = 300.0
    escalate_after_s_by_kind: Mapping[str, float] = field(
        default_factory=lambda: {"loitering": 300.0, "intrusion": 60.0, "blocked_sidewalk": 600.0}
    )


@dataclass(slots=True)
class _Open:
    event: AnomalyEvent
    last_published: float
    keys: set[str]


class EventManager:
    """Turns detections into incidents: one event per incident (same kind and place within the
    policy's gap, or the same rule subject), updated while it lasts (last seen, count,
    escalation) and closed after its gap; rate-limits new events per kind. Not thread-safe:
    one instance per robot."""

    def __init__(
        self,
        robot_id: str,
        rng: np.random.Generator,
        config: EventManagerConfig | None = None,
        to_latlon: Callable[[float, float], tuple[float, float]] | None = None,
    ) -> None:
        self.robot_id = robot_id
        self.config = config or EventManagerConfig()
        self._rng = rng
        self._to_latlon = to_latlon
        self._open: list[_Open] = []
        self._new_times: dict[str, deque[float]] = {}
        self._closed: list[AnomalyEvent] = []
        self.suppressed: dict[str, int] = {}

    @property
    def open_events(self) -> tuple[AnomalyEvent, ...]:
        return tuple(o.event for o in self._open)

    def take_closed(self) -> tuple[AnomalyEvent, ...]:
        """Events closed since the last call (their last published state or newer), oldest
        first: their incident ended, a later detection opens a new event."""
        out, self._closed = tuple(self._closed), []
        return out

    def expire(self, now: float) -> None:
        """Close the events whose incident gap has passed at ``now`` (s) (see take_closed)."""
        policy = self.config.incidents
        keep = []
        for o in self._open:
            if now - o.event.last_seen > policy.gap(o.event.kind):
                self._closed.append(o.event)
            else:
                keep.append(o)
        self._open = keep

    def _find(self, det: Detection) -> _Open | None:
        for o in self._open:  # the same rule subject first (a track, a site, the robot)
            if o.event.kind == det.kind and o.event.zone == det.zone and det.key in o.keys:
                return o
        policy = self.config.incidents
        best: _Open | None = None
        best_d = math.inf
        for o in self._open:
            ev = o.event
            if policy.same(det.kind, self.robot_id, det.zone, det.x, det.y, det.detected_at,
                           ev.kind, ev.robot_id, ev.zone, ev.x, ev.y, ev.first_seen,
                           ev.last_seen):
                d = math.hypot(det.x - ev.x, det.y - ev.y)
                if d < best_d:
                    best, best_d = o, d
        return best

    def report(self, det: Detection, now: float) -> AnomalyEvent | None:
        """Merge ``det`` (at time ``now``, s) into its incident; return the event to publish,
        or None.

        None means: merged into an open event without anything new worth sending yet, or
        dropped by the rate limit (counted in ``suppressed``).
        """
        if det.kind not in KINDS:
            raise AnomalyError(_bad("<detection>", "kind", det.kind, "a known anomaly kind"))
        self.expire(now)
        cur = self._find(det)
        if cur is None:
            return self._open_new(det, now)
        cur.keys.add(det.key)
        ev = cur.event
        base = det.severity or KIND_SEVERITY[det.kind]
        period = self.config.escalate_after_s_by_kind.get(det.kind, self.config.escalate_after_s)
        steps = int((now - ev.first_seen) // period) if period > 0 else 0
        sev = max(ev.severity, base.escalated(steps), key=lambda s: s.rank)
        escalated = sev.rank > ev.severity.rank
        lat, lon = self._latlon(det.x, det.y)
        new_ev = replace(
            ev,
            severity=sev,
            confidence=max(ev.confidence, det.confidence),
            x=det.x,
            y=det.y,
            lat=lat,
            lon=lon,
            last_seen=max(ev.last_seen, now),
            count=min(ev.count + 1, MAX_COUNT),
            description=_clip(det.description) or ev.description,
            evidence=det.evidence if det.evidence.track or det.evidence.scan else ev.evidence,
        )
        cur.event = new_ev
        if escalated or now - cur.last_published >= self.config.min_update_interval_s:
            cur.event = new_ev = replace(new_ev, revision=ev.revision + 1)
            cur.last_published = now
            return new_ev
        return None

    def _open_new(self, det: Detection, now: float) -> AnomalyEvent | None:
        times = self._new_times.setdefault(det.kind, deque())
        while times and times[0] <= now - self.config.rate_window_s:
            times.popleft()
        if len(times) >= self.config.rate_limit:
            self.suppressed[det.kind] = self.suppressed.get(det.kind, 0) + 1
            return None
        times.append(now)
        lat, lon = self._latlon(det.x, det.y)
        ev = AnomalyEvent(
            uuid=new_event_uuid(self._rng),
            robot_id=self.robot_id,
            kind=det.kind,
            severity=det.severity or KIND_SEVERITY[det.kind],
            confidence=float(min(max(det.confidence, 0.0), 1.0)),
            x=det.x,
            y=det.y,
            zone=det.zone,
            first_seen=min(det.threshold_met_at if det.began_at is None else det.began_at, now),
            last_seen=now,
            count=1,
            description=_clip(det.description),
            evidence=det.evidence,
            lat=lat,
            lon=lon,
        )
        self._open.append(_Open(ev, now, {det.key}))
        return ev

    def _latlon(self, x: float, y: float) -> tuple[float | None, float | None]:
        if self._to_latlon is None:
            return None, None
        lat, lon = self._to_latlon(x, y)
        return lat, lon


def _clip(text: str) -> str:
    """Make rule-generated text safe for the wire: hostile characters removed, length capped."""
    return _HOSTILE_RE.sub(" ", text)[:MAX_DESCRIPTION_LEN]
