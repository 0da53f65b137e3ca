"""Scenario files (sim/scenarios/*.yaml): robots, scripted people, obstacles and faults.

Format documented in sim/scenarios/README.md. Errors are one line: ``FILE:LINE: field 'x': ...``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from dawnpatrol_core.errors import ScenarioError, field_error, finite_number, one_line
from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_core.maps.zones import depot_parking, load_zones

PERSON_TYPES = ("walker", "loiterer", "intruder", "waiting")
FAULT_TYPES = (
    "lidar_dropout",
    "gnss_dropout",
    "odom_dropout",
    "wheel_slip",
    "link_loss",
    "kidnap",
    "battery_drop",
)
INTERVAL_FAULTS = ("lidar_dropout", "gnss_dropout", "odom_dropout", "wheel_slip", "link_loss")
_ROBOT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")

TOP_KEYS = (
    "name",
    "world",
    "robot_model",
    "seed",
    "duration",
    "world_actors",
    "actors_react",
    "robots",
    "people",
    "obstacles",
    "faults",
    "orders",
    "patrol",
    "expectations",
    "operator",
    "description",
)


@dataclass(frozen=True, slots=True)
class RobotStart:
    """A robot of the scenario and its start pose in the map frame (m, rad)."""

    id: str
    start: Pose2D


@dataclass(frozen=True, slots=True)
class PersonSpec:
    """A scripted person. Fields used depend on ``type``:

    walker: waypoints, speed, start (appears then), loop; intruder: waypoints, speed, start
    (appears then),
    dwell (s at the last waypoint, then gone; inf = stays); loiterer: center, radius, start,
    duration; waiting: center (the stop), count, start, end. Points are (x, y) m, times s.
    ``speed`` nan (not given): a reacting person's is drawn from the adult walking-speed
    distribution, a scripted one walks at 1.3 m/s.
    ``react``: the person steps aside for people and robots (social forces) instead of playing
    the script; None = by type (walkers react, the others keep their scripts).
    """

    name: str
    type: str
    waypoints: tuple[tuple[float, float], ...] = ()
    speed: float = math.nan
    start: float = 0.0
    loop: bool = False
    dwell: float = math.inf
    center: tuple[float, float] = (0.0, 0.0)
    radius: float = 3.0
    duration: float = 300.0
    count: int = 1
    end: float = math.inf
    react: bool | None = None

    @property
    def reacts(self) -> bool:
        """Whether this person is stepped by social forces."""
        return self.type == "walker" if self.react is None else self.react


@dataclass(frozen=True, slots=True)
class ObstacleSpec:
    """A box (size m, yaw rad) placed at ``center`` at time ``at``, removed at ``until`` (s)."""

    name: str
    at: float
    center: tuple[float, float]
    size: tuple[float, float]
    yaw: float = 0.0
    until: float = math.inf


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault on one robot: active for [start, end) s (instant faults use ``start``).

    wheel_slip: ``slip`` (0..1, share of wheel motion lost); kidnap: ``pose``;
    battery_drop: ``drop`` (share of capacity lost at once).
    """

    type: str
    robot: str
    start: float
    end: float = math.inf
    slip: float = 0.5
    pose: Pose2D | None = None
    drop: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """A parsed scenario. ``world``/``robot_model`` are resolved paths; ``orders``, ``patrol``
    and ``expectations`` pass through as raw YAML for the modules that own them."""

    name: str
    world: Path
    robots: tuple[RobotStart, ...]
    robot_model: Path | None = None
    seed: int = 0
    duration: float = 600.0
    world_actors: bool = True
    actors_react: bool = False
    people: tuple[PersonSpec, ...] = ()
    obstacles: tuple[ObstacleSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    orders: Any = None
    patrol: Any = None
    expectations: Any = None
    operator: Any = None
    source: str = "<scenario>"
    extra: dict[str, Any] = field(default_factory=dict)


class _Map(dict[Any, Any]):
    line: int
    lines: dict[Any, int]


class _Seq(list[Any]):
    line: int
    lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences remember their (1-based) source lines."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    m = _Map()
    m.line = node.start_mark.line + 1
    m.lines = {}
    for knode, vnode in node.value:
        key = loader.construct_object(knode, deep=True)
        try:
            hash(key)
        except TypeError:  # a list or mapping as a key ("? [a, b]")
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key",
                knode.start_mark) from None
        m[key] = loader.construct_object(vnode, deep=True)
        m.lines[key] = vnode.start_mark.line + 1
    return m


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    s = _Seq(loader.construct_object(v, deep=True) for v in node.value)
    s.line = node.start_mark.line + 1
    s.lines = [v.start_mark.line + 1 for v in node.value]
    return s


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


class _Ctx:
    """Field readers that raise one-line ScenarioErrors with the file and line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, fieldname: str, got: object, expected: str, line: int | None) -> ScenarioError:
        return ScenarioError(field_error(self.source, fieldname, got, expected, line))

    def line(self, m: Any, key: Any) -> int | None:
        if isinstance(m, _Map):
            return m.lines.get(key, m.line)
        if isinstance(m, _Seq) and isinstance(key, int) and key < len(m.lines):
            return m.lines[key]
        return getattr(m, "line", None)

    def mapping(self, v: Any, fieldname: str, line: int | None) -> _Map:
        if not isinstance(v, _Map):
            raise self.fail(fieldname, v, "a mapping", line)
        return v

    def seq(self, v: Any, fieldname: str, line: int | None) -> _Seq:
        if not isinstance(v, _Seq):
            raise self.fail(fieldname, v, "a list", line)
        return v

    def get(
        self,
        m: _Map,
        key: str,
        prefix: str,
        conv: Callable[[Any, str, int | None], Any],
        default: Any = ...,
    ) -> Any:
        name = f"{prefix}{key}"
        if key not in m:
            if default is ...:
                raise self.fail(name, None, "a value (required)", m.line)
            return default
        return conv(m[key], name, self.line(m, key))

    def number(self, v: Any, name: str, line: int | None) -> float:
        if isinstance(v, str) and _EXPONENT.fullmatch(v.strip()):
            v = float(v)  # YAML 1.1 reads ``1e-3`` (no dot) as a string
        f = finite_number(v)  # an absent end time is "never"; a written one is finite
        if f is None:
            raise self.fail(name, v, "a finite number", line)
        return f

    def time(self, v: Any, name: str, line: int | None) -> float:
        t = self.number(v, name, line)
        if t < 0:
            raise self.fail(name, v, "a time >= 0 s", line)
        return t

    def positive(self, v: Any, name: str, line: int | None) -> float:
        x = self.number(v, name, line)
        if x <= 0:
            raise self.fail(name, v, "a number > 0", line)
        return x

    def fraction(self, v: Any, name: str, line: int | None) -> float:
        x = self.number(v, name, line)
        if not 0.0 <= x <= 1.0:
            raise self.fail(name, v, "a fraction in [0, 1]", line)
        return x

    def string(self, v: Any, name: str, line: int | None) -> str:
        if not isinstance(v, str) or not v:
            raise self.fail(name, v, "a non-empty string", line)
        return v

    def robot_id(self, v: Any, name: str, line: int | None) -> str:
        if not isinstance(v, str) or not _ROBOT_ID.fullmatch(v):
            raise self.fail(name, v, "a robot id: a letter, then up to 31 letters, digits or '_' "
                            "(it becomes the robot's ROS namespace)", line)
        return v

    def boolean(self, v: Any, name: str, line: int | None) -> bool:
        if not isinstance(v, bool):
            raise self.fail(name, v, "true or false", line)
        return v

    def integer(self, v: Any, name: str, line: int | None) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise self.fail(name, v, "an integer >= 0", line)
        return v

    def vec(self, v: Any, name: str, line: int | None, n: int) -> tuple[float, ...]:
        if not isinstance(v, list) or len(v) != n:
            raise self.fail(name, v, f"a list of {n} numbers", line)
        return tuple(self.number(x, name, line) for x in v)


def load_scenario(
    path: str | Path, bounds: tuple[float, float, float, float] | None = None
) -> Scenario:
    """Parse and validate a scenario file.

    ``bounds`` (xmin, ymin, xmax, ymax) m bound every point; when None they come from the
    scenario's world file (loaded with ``dawnpatrol_core.world.load_world``).
    Raises ScenarioError with one line naming file:line and field.
    """
    p = Path(path)
    src = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(f"{src}: cannot read scenario: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{src}: field 'encoding': got byte {e.object[e.start]:#04x} at "
                            f"offset {e.start}, expected UTF-8 text") from None
    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = one_line(Exception(getattr(e, "problem", None) or e))
        raise ScenarioError(f"{src}:{line}: invalid YAML: {msg}") from None
    except (ValueError, RecursionError) as e:  # a YAML date like 2026-13-45; deep nesting
        raise ScenarioError(f"{src}: invalid YAML: {one_line(e)}") from None
    c = _Ctx(src)
    top = c.mapping(doc, "<top>", 1)
    for key in top:
        if key not in TOP_KEYS:
            raise c.fail(str(key), key, f"one of {', '.join(TOP_KEYS)}", c.line(top, key))

    def resolve(s: str, name: str) -> Path:
        q = Path(s)
        try:
            return q if q.is_absolute() else (p.parent / q).resolve()
        except ValueError:  # a NUL byte, a lone surrogate (not encodable as a file name)
            raise c.fail(name, s, "a file path", c.line(top, name)) from None

    world = resolve(c.get(top, "world", "", c.string), "world")
    model_s = c.get(top, "robot_model", "", c.string, None)
    if bounds is None:
        from dawnpatrol_core.world import load_world

        if not world.is_file():
            raise c.fail("world", str(world), "an existing SDF world file", c.line(top, "world"))
        bounds = load_world(world).bounds

    def point(v: Any, name: str, line: int | None) -> tuple[float, float]:
        x, y = c.vec(v, name, line, 2)
        xmin, ymin, xmax, ymax = bounds
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            box = tuple(round(b, 2) for b in bounds)
            raise c.fail(name, v, f"a point inside the world bounds {box}", line)
        return (x, y)

    def pose(v: Any, name: str, line: int | None) -> Pose2D:
        if not isinstance(v, list) or len(v) not in (2, 3):
            raise c.fail(name, v, "[x, y] or [x, y, yaw]", line)
        x, y = point(v[:2], name, line)
        yaw = c.number(v[2], name, line) if len(v) == 3 else 0.0
        return Pose2D(x, y, yaw)

    robots: list[RobotStart] = []
    rseq = c.get(top, "robots", "", c.seq)
    if not rseq:
        raise c.fail("robots", [], "at least one robot", c.line(top, "robots"))
    for i, r in enumerate(rseq):
        pre = f"robots[{i}]."
        rm = c.mapping(r, f"robots[{i}]", c.line(rseq, i))
        rid = c.get(rm, "id", pre, c.robot_id)
        if any(o.id == rid for o in robots):
            raise c.fail(pre + "id", rid, "a unique robot id", c.line(rm, "id"))
        robots.append(RobotStart(rid, c.get(rm, "start", pre, pose)))
    ids = {r.id for r in robots}

    people: list[PersonSpec] = []
    people_seq = c.get(top, "people", "", c.seq, _Seq())
    for i, pm_ in enumerate(people_seq):
        pre = f"people[{i}]."
        pm = c.mapping(pm_, f"people[{i}]", c.line(people_seq, i))
        kind = c.get(pm, "type", pre, c.string)
        if kind not in PERSON_TYPES:
            raise c.fail(
                pre + "type", kind, f"one of {', '.join(PERSON_TYPES)}", c.line(pm, "type")
            )
        name = c.get(pm, "name", pre, c.string, f"{kind}_{i}")
        kw: dict[str, Any] = {"start": c.get(pm, "start", pre, c.time, 0.0)}
        if kind in ("walker", "intruder"):
            wseq = c.get(pm, "waypoints", pre, c.seq)
            if len(wseq) < 1:
                raise c.fail(pre + "waypoints", [], "at least one point", c.line(pm, "waypoints"))
            kw["waypoints"] = tuple(
                point(w, f"{pre}waypoints[{j}]", c.line(wseq, j)) for j, w in enumerate(wseq)
            )
            kw["speed"] = c.get(pm, "speed", pre, c.positive, math.nan)
            kw["react"] = c.get(pm, "react", pre, c.boolean, kind == "walker")
            if kind == "walker":
                kw["loop"] = c.get(pm, "loop", pre, c.boolean, False)
            else:
                kw["dwell"] = c.get(pm, "dwell", pre, c.time, math.inf)
        elif kind == "loiterer":
            kw["center"] = c.get(pm, "center", pre, point)
            kw["radius"] = c.get(pm, "radius", pre, c.positive, 3.0)
            kw["duration"] = c.get(pm, "duration", pre, c.positive, 300.0)
        else:
            kw["center"] = c.get(pm, "at", pre, point)
            kw["count"] = c.get(pm, "count", pre, c.integer, 3)
            kw["end"] = c.get(pm, "end", pre, c.time, math.inf)
        people.append(PersonSpec(name, kind, **kw))

    obstacles: list[ObstacleSpec] = []
    obstacles_seq = c.get(top, "obstacles", "", c.seq, _Seq())
    for i, om_ in enumerate(obstacles_seq):
        pre = f"obstacles[{i}]."
        om = c.mapping(om_, f"obstacles[{i}]", c.line(obstacles_seq, i))
        size = c.get(om, "size", pre, lambda v, n, ln: c.vec(v, n, ln, 2))
        if min(size) <= 0:
            raise c.fail(pre + "size", list(size), "two sizes > 0 m", c.line(om, "size"))
        obstacles.append(
            ObstacleSpec(
                name=c.get(om, "name", pre, c.string, f"obstacle_{i}"),
                at=c.get(om, "at", pre, c.time),
                center=c.get(om, "center", pre, point),
                size=(size[0], size[1]),
                yaw=c.get(om, "yaw", pre, c.number, 0.0),
                until=c.get(om, "until", pre, c.time, math.inf),
            )
        )

    faults: list[FaultSpec] = []
    faults_seq = c.get(top, "faults", "", c.seq, _Seq())
    for i, fm_ in enumerate(faults_seq):
        pre = f"faults[{i}]."
        fm = c.mapping(fm_, f"faults[{i}]", c.line(faults_seq, i))
        ftype = c.get(fm, "type", pre, c.string)
        if ftype not in FAULT_TYPES:
            raise c.fail(
                pre + "type", ftype, f"one of {', '.join(FAULT_TYPES)}", c.line(fm, "type")
            )
        rid = c.get(fm, "robot", pre, c.string)
        if rid not in ids:
            raise c.fail(
                pre + "robot",
                rid,
                f"a robot id of this scenario ({', '.join(sorted(ids))})",
                c.line(fm, "robot"),
            )
        start = c.get(fm, "start", pre, c.time)
        end = c.get(fm, "end", pre, c.time, math.inf) if ftype in INTERVAL_FAULTS else math.inf
        if end <= start:
            raise c.fail(pre + "end", end, f"a time after start ({start} s)", c.line(fm, "end"))
        faults.append(
            FaultSpec(
                ftype,
                rid,
                start,
                end,
                slip=c.get(fm, "slip", pre, c.fraction, 0.5),
                pose=c.get(fm, "pose", pre, pose) if ftype == "kidnap" else None,
                drop=c.get(fm, "drop", pre, c.fraction, 0.0),
            )
        )

    return Scenario(
        name=c.get(top, "name", "", c.string, p.stem),
        world=world,
        robots=tuple(robots),
        robot_model=resolve(model_s, "robot_model") if model_s else None,
        seed=c.get(top, "seed", "", c.integer, 0),
        duration=c.get(top, "duration", "", c.positive, 600.0),
        world_actors=c.get(top, "world_actors", "", c.boolean, True),
        actors_react=c.get(top, "actors_react", "", c.boolean, False),
        people=tuple(people),
        obstacles=tuple(obstacles),
        faults=tuple(faults),
        orders=_plain(top.get("orders")),
        patrol=_plain(top.get("patrol")),
        expectations=_plain(top.get("expectations")),
        operator=_plain(top.get("operator")),
        source=src,
    )


def _plain(v: Any) -> Any:
    """Strip the line bookkeeping: plain dicts and lists for the pass-through sections."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def scenario_line(path: str | Path, *keys: str | int) -> int | None:
    """Source line (1-based) of a nested value, e.g. ``scenario_line(p, 'orders', 0, 'address')``,
    so modules consuming the pass-through sections can name lines in their own errors."""
    node: Any = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
    line: int | None = getattr(node, "line", None)
    for k in keys:
        in_map = isinstance(node, _Map) and k in node
        in_seq = isinstance(node, _Seq) and isinstance(k, int) and 0 <= k < len(node)
        if not (in_map or in_seq):
            return None
        line = node.lines[k]
        node = node[k]
    return line


#: Robots the scenario does not name park this far (m) from any other robot at least.
PARKING_GAP_M = 1.5


def fleet_robot_ids(count: int) -> tuple[str, ...]:
    """``r1`` .. ``rN``: the robot ids (and namespaces) of a fleet of ``count``."""
    return tuple(f"r{k}" for k in range(1, count + 1))


def check_launched_robots(scenario: Scenario, ids: tuple[str, ...] | list[str]) -> None:
    """ScenarioError (one line naming both lists) when the scenario names a robot the run does
    not start: its orders, faults and expectations were written for that fleet. Robots beyond
    those it names are fine (they start in depot bays)."""
    named = [r.id for r in scenario.robots]
    missing = [r for r in named if r not in ids]
    if missing:
        raise ScenarioError(
            f"{scenario.source}: the scenario names robots {', '.join(named)} but the launch "
            f"starts {', '.join(ids) or 'none'} (robot_count:={len(ids)}); {', '.join(missing)} "
            f"missing: launch with robot_count:={len(named)} or more")


def robot_starts(named: tuple[RobotStart, ...], ids: tuple[str, ...] | list[str],
                 parking: tuple[Pose2D, ...]) -> tuple[RobotStart, ...]:
    """Start poses of the robots ``ids``: where the scenario puts those it names; each other
    robot in its own depot bay (robot i parks in bay i, as the fleet sends it back there) when
    that is free, else in a free place that is no robot's bay. Free: at least
    ``PARKING_GAP_M`` from every robot placed before. ScenarioError when nothing is free."""
    given = {r.id: r for r in named}
    out: list[RobotStart] = [given[i] for i in ids if i in given]
    n = len(ids)
    for k, rid in enumerate(ids):
        if rid in given:
            continue
        prefs = ([parking[k]] if k < len(parking) else []) + list(parking[n:]) + list(parking[:n])
        spot = next((p for p in prefs
                     if all(math.hypot(p.x - r.start.x, p.y - r.start.y) >= PARKING_GAP_M
                            for r in out)), None)
        if spot is None:
            raise ScenarioError(f"robot {rid}: no free depot parking place left for the robots "
                                f"the scenario does not name ({len(parking)} places)")
        out.append(RobotStart(rid, spot))
    order = {rid: i for i, rid in enumerate(ids)}
    return tuple(sorted(out, key=lambda r: order[r.id]))


def with_robots(scenario: Scenario, starts: tuple[RobotStart, ...]) -> Scenario:
    """``scenario`` run with exactly these robots (faults of robots not in it dropped)."""
    ids = {r.id for r in starts}
    return replace(scenario, robots=starts, faults=tuple(f for f in scenario.faults
                                                         if f.robot in ids))


def map_parking(map_dir: str | Path) -> tuple[Pose2D, ...]:
    """Parking places of a district's depot (its bays, then 2 m apart along its front); none
    without a map directory or a depot zone. Raises MapError for a bad zones file."""
    if not str(map_dir):
        return ()
    zones, _ = load_zones(Path(map_dir) / "zones.geojson")
    depot = next((z for z in zones if z.kind == "depot" and z.pose is not None), None)
    return depot_parking(depot) if depot is not None else ()
