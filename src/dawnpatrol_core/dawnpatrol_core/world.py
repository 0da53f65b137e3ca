"""SDFormat world and robot-model reader: the static 2-D obstacle layout, pedestrians, sensors.

Both the built-in simulator and the map builder read Gazebo worlds through this module, so what
the robots see here is what Gazebo users see.
"""

from __future__ import annotations

import math
import re
import xml.parsers.expat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from dawnpatrol_core.errors import MapError, field_error

FloatArray = npt.NDArray[np.float64]

#: Vertical band (m above ground) swept by the robot's body and lidar; geometry outside is ignored.
SENSING_BAND = (0.05, 1.8)
#: Number of segments used to approximate a quarter circle in footprints.
CIRCLE_QUAD_SEGS = 8


@dataclass(frozen=True, slots=True)
class ActorWaypoint:
    """A scripted pedestrian waypoint: time ``t`` (s from script start), x, y (m), yaw (rad)."""

    t: float
    x: float
    y: float
    yaw: float


@dataclass(frozen=True, slots=True)
class Actor:
    """A pedestrian following an SDF ``<actor><script>`` trajectory in the world frame."""

    name: str
    waypoints: tuple[ActorWaypoint, ...]
    loop: bool
    delay_start: float

    @property
    def duration(self) -> float:
        """Length of one pass of the trajectory (s)."""
        return self.waypoints[-1].t - self.waypoints[0].t if self.waypoints else 0.0

    def position_at(self, t: float) -> tuple[float, float, float]:
        """Pose (x m, y m, yaw rad) at simulation time ``t`` (s), linearly interpolated.

        Before ``delay_start`` the actor stands at its first waypoint; after the last waypoint
        it loops (``loop``) or stays at the last one.
        """
        wps = self.waypoints
        if not wps:
            return (0.0, 0.0, 0.0)
        t0 = wps[0].t
        local = max(0.0, t - self.delay_start)
        dur = self.duration
        if dur <= 0.0:
            return (wps[0].x, wps[0].y, wps[0].yaw)
        local = math.fmod(local, dur) if self.loop else min(local, dur)
        tq = t0 + local
        times = [w.t for w in wps]
        i = int(np.searchsorted(times, tq, side="right")) - 1
        i = min(max(i, 0), len(wps) - 2) if len(wps) > 1 else 0
        if len(wps) == 1:
            return (wps[0].x, wps[0].y, wps[0].yaw)
        a, b = wps[i], wps[i + 1]
        span = b.t - a.t
        f = 0.0 if span <= 0.0 else min(max((tq - a.t) / span, 0.0), 1.0)
        dyaw = (b.yaw - a.yaw + math.pi) % (2.0 * math.pi) - math.pi
        yaw = (a.yaw + f * dyaw + math.pi) % (2.0 * math.pi) - math.pi
        return (a.x + f * (b.x - a.x), a.y + f * (b.y - a.y), yaw)


@dataclass(frozen=True, slots=True, eq=False)
class World:
    """The 2-D view of an SDF world inside the robot's sensing band.

    ``segments``: (N, 4) float64 ``[x0, y0, x1, y1]`` metres, outline edges of every static
    box / polyline (and of any non-vertical cylinder). ``circles``: (M, 3) float64
    ``[cx, cy, r]`` metres for vertical cylinders and spheres. ``footprints``: every static
    obstacle footprint as a shapely polygon (circles approximated). ``actors``: pedestrians.
    ``bounds``: (xmin, ymin, xmax, ymax) metres over footprints and actor waypoints.
    ``footprint_names``: ``model::link::collision`` scoped name of each footprint.
    """

    name: str
    segments: FloatArray
    circles: FloatArray
    footprints: tuple[BaseGeometry, ...]
    actors: tuple[Actor, ...]
    bounds: tuple[float, float, float, float]
    footprint_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LidarSpec:
    """2-D lidar: ``samples`` beams from ``min_angle`` to ``max_angle`` (rad, robot frame),
    ranges ``range_min``..``range_max`` (m), ``rate_hz``, Gaussian range noise ``noise_std`` (m),
    mounted ``mount_x`` metres ahead of the robot's base frame origin."""

    samples: int
    min_angle: float
    max_angle: float
    range_min: float
    range_max: float
    rate_hz: float
    noise_std: float
    mount_x: float


@dataclass(frozen=True, slots=True)
class ImuSpec:
    """IMU: update rate (Hz) and yaw-rate (z gyro) noise standard deviation (rad/s)."""

    rate_hz: float
    gyro_noise_std: float


@dataclass(frozen=True, slots=True)
class GnssSpec:
    """GNSS (navsat): update rate (Hz) and horizontal position noise std (m)."""

    rate_hz: float
    noise_std: float


@dataclass(frozen=True, slots=True)
class RobotModel:
    """Robot parameters read from its model.sdf.

    Footprint in metres (length along +x), mass kg, ``max_speed`` m/s, ``max_accel`` m/s²,
    ``max_decel`` m/s² (braking, from the plugin's min_linear_acceleration; ``max_accel`` when
    it has none), ``max_yaw_rate`` rad/s, wheel separation and radius in metres.
    """

    footprint_length: float
    footprint_width: float
    mass: float
    max_speed: float
    max_accel: float
    max_decel: float
    max_yaw_rate: float
    wheel_separation: float
    wheel_radius: float
    lidar: LidarSpec
    imu: ImuSpec
    gnss: GnssSpec


# --------------------------------------------------------------------------- XML with lines


class _Doc:
    """A parsed SDF file: the root element plus the source line of every element."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[ET.Element, int] = {}
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MapError(f"{path}: cannot read world file: {exc.strerror}") from None
        stack: list[ET.Element] = []
        root: list[ET.Element] = []
        parser = xml.parsers.expat.ParserCreate()

        def start(tag: str, attrs: dict[str, str]) -> None:
            el = ET.Element(tag, attrs)
            self.lines[el] = parser.CurrentLineNumber
            if stack:
                stack[-1].append(el)
            else:
                root.append(el)
            stack.append(el)

        def end(tag: str) -> None:
            stack.pop()

        def chars(text: str) -> None:
            if stack:
                el = stack[-1]
                el.text = (el.text or "") + text

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = chars
        try:
            parser.Parse(data, True)
        except xml.parsers.expat.ExpatError as exc:
            raise MapError(f"{path}:{exc.lineno}: malformed XML: {exc}") from None
        if not root or root[0].tag != "sdf":
            raise MapError(f"{path}:1: root element: expected <sdf>")
        self.root = root[0]

    def line(self, el: ET.Element) -> int | None:
        return self.lines.get(el)

    def err(self, el: ET.Element, fieldname: str, got: object, expected: str) -> MapError:
        return MapError(field_error(str(self.path), fieldname, got, expected, self.line(el)))

    def floats(self, el: ET.Element, n: int | None = None) -> list[float]:
        text = (el.text or "").split()
        try:
            vals = [float(v) for v in text]
        except ValueError:
            raise self.err(el, el.tag, el.text, "numbers") from None
        if n is not None and len(vals) != n:
            raise self.err(el, el.tag, (el.text or "").strip(), f"{n} numbers")
        return vals

    def child_float(self, el: ET.Element | None, path: str, default: float) -> float:
        if el is None:
            return default
        c = el.find(path)
        if c is None or not (c.text or "").strip():
            return default
        return self.floats(c, 1)[0]

    def pose(self, el: ET.Element, parent_frame: str | None) -> FloatArray:
        """4x4 transform of ``el``'s ``<pose>`` in its parent frame (identity when absent)."""
        p = el.find("pose")
        if p is None or not (p.text or "").strip():
            return np.eye(4)
        rel = p.get("relative_to", "")
        if rel and rel != parent_frame:
            expected = f"empty or the parent frame {parent_frame!r}"
            raise self.err(p, "pose@relative_to", rel, expected)
        rot_fmt = p.get("rotation_format", "euler_rpy")
        if rot_fmt != "euler_rpy":
            raise self.err(p, "pose@rotation_format", rot_fmt, "'euler_rpy'")
        v = self.floats(p, 6)
        if p.get("degrees", "false").strip().lower() in ("true", "1"):
            v[3:] = [math.radians(a) for a in v[3:]]
        return _transform(*v)


def _transform(x: float, y: float, z: float, roll: float, pitch: float, yaw: float) -> FloatArray:
    """Homogeneous 4x4 transform from an SDF pose (fixed-axis roll, pitch, yaw)."""
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    t = np.eye(4)
    t[:3, :3] = [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]
    t[:3, 3] = [x, y, z]
    return t


# --------------------------------------------------------------------------- world loading


@dataclass(frozen=True, slots=True)
class _Shape:
    name: str
    footprint: BaseGeometry
    circle: tuple[float, float, float] | None  # (cx, cy, r) when a vertical circle


def _is_true(el: ET.Element | None) -> bool:
    return el is not None and (el.text or "").strip().lower() in ("true", "1")


def _iter_collisions(
    doc: _Doc, model: ET.Element, parent_tf: FloatArray, scope: str, static: bool, parent: str
) -> Iterator[tuple[str, ET.Element, FloatArray]]:
    """Yield (scoped name, geometry element, world transform) of static collisions."""
    name = model.get("name", "")
    tf = parent_tf @ doc.pose(model, parent)
    static = static or _is_true(model.find("static"))
    scoped = f"{scope}::{name}" if scope else name
    for sub in model.findall("model"):
        yield from _iter_collisions(doc, sub, tf, scoped, static, name)
    if not static:
        return
    for link in model.findall("link"):
        ltf = tf @ doc.pose(link, name)
        lname = link.get("name", "")
        for col in link.findall("collision"):
            geom = col.find("geometry")
            if geom is None:
                continue
            ctf = ltf @ doc.pose(col, lname)
            yield f"{scoped}::{lname}::{col.get('name', '')}", geom, ctf


def _z_overlaps(zmin: float, zmax: float, band: tuple[float, float] = SENSING_BAND) -> bool:
    return zmax > band[0] and zmin < band[1]


def _hull(points: FloatArray) -> BaseGeometry:
    return MultiPoint([tuple(p) for p in points[:, :2]]).convex_hull


def _circle_poly(cx: float, cy: float, r: float) -> BaseGeometry:
    return Point(cx, cy).buffer(r, quad_segs=CIRCLE_QUAD_SEGS)


def _shapes_of(
    doc: _Doc, name: str, geom: ET.Element, tf: FloatArray, band: tuple[float, float] = SENSING_BAND
) -> list[_Shape]:
    """Footprints of one collision (or visual) geometry that overlap the height ``band`` (m)."""
    kinds = [c for c in geom if c.tag != "empty"]
    if not kinds:
        return []
    kind = kinds[0]
    rot, pos = tf[:3, :3], tf[:3, 3]
    if kind.tag == "plane":
        return []
    if kind.tag == "box":
        size_el = kind.find("size")
        sx, sy, sz = doc.floats(size_el, 3) if size_el is not None else (1.0, 1.0, 1.0)
        if min(sx, sy, sz) <= 0.0:
            raise doc.err(kind, "box/size", (sx, sy, sz), "three positive numbers (m)")
        signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)])
        corners = signs * np.array([sx, sy, sz]) / 2.0
        pts = corners @ rot.T + pos
        if not _z_overlaps(float(pts[:, 2].min()), float(pts[:, 2].max()), band):
            return []
        return [_Shape(name, _hull(pts), None)]
    if kind.tag in ("cylinder", "sphere", "capsule"):
        r = doc.child_float(kind, "radius", 0.5)
        length = 0.0 if kind.tag == "sphere" else doc.child_float(kind, "length", 1.0)
        if r <= 0.0 or length < 0.0:
            raise doc.err(kind, f"{kind.tag}/radius", r, "a positive radius (m)")
        axis = rot[:, 2]
        half = axis * (length / 2.0)
        # Vertical extent of a swept sphere/disc: axis endpoints ± (r or r*|sin|).
        if kind.tag == "cylinder":
            dz = r * math.sqrt(max(0.0, 1.0 - axis[2] ** 2))
        else:
            dz = r
        zmin = pos[2] - abs(half[2]) - dz
        zmax = pos[2] + abs(half[2]) + dz
        if not _z_overlaps(zmin, zmax, band):
            return []
        if kind.tag == "sphere" or abs(abs(axis[2]) - 1.0) < 1e-9 or length == 0.0:
            cx, cy = float(pos[0]), float(pos[1])
            return [_Shape(name, _circle_poly(cx, cy, r), (cx, cy, r))]
        # Tilted cylinder: hull of its two end discs, sampled in 3-D and projected.
        u = np.linspace(0.0, 2.0 * math.pi, 4 * CIRCLE_QUAD_SEGS, endpoint=False)
        ring = r * (np.outer(np.cos(u), rot[:, 0]) + np.outer(np.sin(u), rot[:, 1]))
        pts = np.vstack([ring + pos - half, ring + pos + half])
        return [_Shape(name, _hull(pts), None)]
    if kind.tag == "polyline":
        out: list[_Shape] = []
        for pl in geom.findall("polyline"):
            h = doc.child_float(pl, "height", 1.0)
            pts2 = [doc.floats(p, 2) for p in pl.findall("point")]
            if len(pts2) < 3:
                raise doc.err(pl, "polyline/point", len(pts2), "at least 3 points")
            local = np.array([[px, py, z] for z in (0.0, h) for px, py in pts2])
            pts = local @ rot.T + pos
            if not _z_overlaps(float(pts[:, 2].min()), float(pts[:, 2].max()), band):
                continue
            if abs(abs(rot[2, 2]) - 1.0) < 1e-9:
                poly = Polygon(pts[: len(pts2), :2])
                if not poly.is_valid:
                    raise doc.err(pl, "polyline", "self-intersecting", "a simple polygon")
            else:
                poly = _hull(pts)
            out.append(_Shape(name, poly, None))
        return out
    expected = "box, cylinder, sphere, capsule or polyline"
    raise doc.err(kind, "collision/geometry", kind.tag, expected)


def _outline_segments(geoms: list[BaseGeometry]) -> FloatArray:
    """(N, 4) exterior (and hole) edges of polygon footprints."""
    rows: list[FloatArray] = []
    for g in geoms:
        polys = list(getattr(g, "geoms", [g]))
        for p in polys:
            if p.is_empty or not hasattr(p, "exterior"):
                continue
            for ring in [p.exterior, *p.interiors]:
                c = np.asarray(ring.coords, dtype=np.float64)[:, :2]
                rows.append(np.hstack([c[:-1], c[1:]]))
    if not rows:
        return np.zeros((0, 4), dtype=np.float64)
    return np.vstack(rows)


def _parse_actor(doc: _Doc, el: ET.Element) -> Actor | None:
    script = el.find("script")
    name = el.get("name", "")
    if script is None:
        return None
    wps: list[ActorWaypoint] = []
    offset = 0.0
    for traj in script.findall("trajectory"):
        seg: list[ActorWaypoint] = []
        for wp in traj.findall("waypoint"):
            t_el, p_el = wp.find("time"), wp.find("pose")
            if t_el is None or p_el is None:
                raise doc.err(wp, f"actor {name} waypoint", "incomplete", "<time> and <pose>")
            t = doc.floats(t_el, 1)[0]
            x, y, _z, _r, _p, yaw = doc.floats(p_el, 6)
            seg.append(ActorWaypoint(t + offset, x, y, yaw))
        seg.sort(key=lambda w: w.t)
        if seg and wps and seg[0].t < wps[-1].t:
            raise doc.err(traj, f"actor {name} trajectory", "overlapping times", "increasing times")
        wps.extend(seg)
        if seg:
            offset = seg[-1].t
    if not wps:
        return None
    loop_el = script.find("loop")
    loop = True if loop_el is None else _is_true(loop_el)
    delay = doc.child_float(script, "delay_start", 0.0)
    if delay < 0.0:
        raise doc.err(script, f"actor {name} delay_start", delay, "a non-negative time (s)")
    return Actor(name=name, waypoints=tuple(wps), loop=loop, delay_start=delay)


def load_world(path: str | Path) -> World:
    """Read an SDFormat world into its 2-D obstacle view and scripted pedestrians.

    Static models' box/cylinder/sphere/capsule/polyline collisions (nested model, link and
    collision poses resolved) that overlap the sensing band z in [0.05, 1.8] m become
    footprints; planes (ground) are ignored; non-static models and ``<include>``s are skipped.
    ``<actor>`` scripts become :class:`Actor` with world-frame waypoints. Raises ``MapError``.
    """
    doc = _Doc(Path(path))
    world = doc.root.find("world")
    if world is None:
        raise doc.err(doc.root, "sdf/world", None, "a <world> element")
    shapes: list[_Shape] = []
    for model in world.findall("model"):
        for name, geom, tf in _iter_collisions(doc, model, np.eye(4), "", False, "world"):
            shapes.extend(_shapes_of(doc, name, geom, tf))
    actors = [a for a in (_parse_actor(doc, el) for el in world.findall("actor")) if a is not None]

    footprints = tuple(s.footprint for s in shapes)
    circles = np.array([s.circle for s in shapes if s.circle is not None], dtype=np.float64)
    circles = circles.reshape(-1, 3)
    segments = _outline_segments([s.footprint for s in shapes if s.circle is None])
    xs: list[float] = []
    ys: list[float] = []
    if footprints:
        b = shapely.bounds(np.array(footprints, dtype=object))
        xs += [float(b[:, 0].min()), float(b[:, 2].max())]
        ys += [float(b[:, 1].min()), float(b[:, 3].max())]
    for a in actors:
        xs += [w.x for w in a.waypoints]
        ys += [w.y for w in a.waypoints]
    bounds = (min(xs), min(ys), max(xs), max(ys)) if xs else (0.0, 0.0, 0.0, 0.0)
    return World(
        name=world.get("name", ""),
        segments=segments,
        circles=circles,
        footprints=footprints,
        actors=tuple(actors),
        bounds=bounds,
        footprint_names=tuple(s.name for s in shapes),
    )


# --------------------------------------------------------------------------- robot model


def _find_sensor(model: ET.Element, types: tuple[str, ...]) -> tuple[ET.Element, ET.Element] | None:
    for link in model.iter("link"):
        for s in link.findall("sensor"):
            if s.get("type", "") in types:
                return link, s
    return None


def _noise_std(doc: _Doc, el: ET.Element | None) -> float:
    """stddev of a ``<noise>`` element (0 when absent or type none)."""
    if el is None or el.get("type", el.findtext("type", "gaussian")).strip() == "none":
        return 0.0
    return doc.child_float(el, "stddev", 0.0)


def load_robot_model(path: str | Path) -> RobotModel:
    """Read the robot's footprint, mass, drive limits and sensor specs from its model.sdf.

    Footprint: xy bounds of all collisions overlapping the sensing band, in the model frame.
    Mass: sum of link ``<inertial><mass>``. Limits and wheel geometry: the gz-sim DiffDrive
    plugin parameters. Sensors: the first lidar/gpu_lidar (or legacy ray), imu and navsat
    (or gps) ``<sensor>``. Raises ``MapError`` when something required is missing.
    """
    doc = _Doc(Path(path))
    model = doc.root.find("model")
    if model is None:
        raise doc.err(doc.root, "sdf/model", None, "a <model> element")
    mname = model.get("name", "")
    fps: list[BaseGeometry] = []
    for link in model.findall("link"):
        ltf = doc.pose(link, mname)
        for col in link.findall("collision"):
            geom = col.find("geometry")
            if geom is None:
                continue
            ctf = ltf @ doc.pose(col, link.get("name", ""))
            fps.extend(s.footprint for s in _shapes_of(doc, "", geom, ctf))
    if not fps:
        raise doc.err(model, "collision", None, "at least one collision in the sensing band")
    xmin, ymin, xmax, ymax = shapely.union_all(fps).bounds
    mass = sum(doc.child_float(link, "inertial/mass", 0.0) for link in model.findall("link"))

    dd = next((p for p in model.findall("plugin") if "diff" in p.get("filename", "").lower()), None)
    if dd is None:
        raise doc.err(model, "plugin", None, "a gz-sim-diff-drive-system plugin")

    def dd_param(*names: str) -> float:
        for n in names:
            if dd.find(n) is not None:
                return doc.child_float(dd, n, 0.0)
        raise doc.err(dd, names[0], None, "a value in the diff-drive plugin")

    found = _find_sensor(model, ("gpu_lidar", "lidar", "ray", "gpu_ray"))
    if found is None:
        raise doc.err(model, "sensor", None, "a lidar/gpu_lidar sensor")
    llink, lsens = found
    lidar_el = lsens.find("lidar")
    if lidar_el is None:
        lidar_el = lsens.find("ray")
    if lidar_el is None:
        raise doc.err(lsens, "sensor/lidar", None, "a <lidar> (or <ray>) block")
    hor = lidar_el.find("scan/horizontal")
    mount = doc.pose(llink, mname) @ doc.pose(lsens, llink.get("name", ""))
    samples = int(doc.child_float(hor, "samples", 0.0))
    if samples <= 0:
        raise doc.err(lidar_el, "scan/horizontal/samples", samples, "a positive integer")
    lidar = LidarSpec(
        samples=samples,
        min_angle=doc.child_float(hor, "min_angle", 0.0),
        max_angle=doc.child_float(hor, "max_angle", 0.0),
        range_min=doc.child_float(lidar_el, "range/min", 0.0),
        range_max=doc.child_float(lidar_el, "range/max", 0.0),
        rate_hz=doc.child_float(lsens, "update_rate", 0.0),
        noise_std=_noise_std(doc, lidar_el.find("noise")),
        mount_x=float(mount[0, 3]),
    )
    if lidar.range_max <= lidar.range_min or lidar.rate_hz <= 0.0:
        raise doc.err(lidar_el, "range/max", lidar.range_max, "> range/min and update_rate > 0")

    found = _find_sensor(model, ("imu",))
    if found is None:
        raise doc.err(model, "sensor", None, "an imu sensor")
    imu_s = found[1]
    imu = ImuSpec(
        rate_hz=doc.child_float(imu_s, "update_rate", 0.0),
        gyro_noise_std=_noise_std(doc, imu_s.find("imu/angular_velocity/z/noise")),
    )
    found = _find_sensor(model, ("navsat", "gps"))
    if found is None:
        raise doc.err(model, "sensor", None, "a navsat sensor")
    nav_s = found[1]
    gnss = GnssSpec(
        rate_hz=doc.child_float(nav_s, "update_rate", 0.0),
        noise_std=_noise_std(doc, nav_s.find("navsat/position_sensing/horizontal/noise")),
    )
    accel = dd_param("max_linear_acceleration", "max_acceleration")
    return RobotModel(
        footprint_length=float(xmax - xmin),
        footprint_width=float(ymax - ymin),
        mass=float(mass),
        max_speed=dd_param("max_linear_velocity", "max_velocity"),
        max_accel=accel,
        max_decel=abs(doc.child_float(dd, "min_linear_acceleration", -accel)),
        max_yaw_rate=dd_param("max_angular_velocity"),
        wheel_separation=dd_param("wheel_separation"),
        wheel_radius=dd_param("wheel_radius"),
        lidar=lidar,
        imu=imu,
        gnss=gnss,
    )


def load_spherical_coordinates(path: str | Path) -> tuple[float, float, float] | None:
    """(latitude deg, longitude deg, elevation m) of a world's ``<spherical_coordinates>``
    (its ENU world-frame origin), or None when the world has none. Raises ``MapError``."""
    doc = _Doc(Path(path))
    sc = doc.root.find("world/spherical_coordinates")
    if sc is None:
        return None
    for key, expected in (("surface_model", "EARTH_WGS84"), ("world_frame_orientation", "ENU")):
        el = sc.find(key)
        if el is not None and (el.text or "").strip() != expected:
            raise doc.err(el, key, (el.text or "").strip(), repr(expected))
    if doc.child_float(sc, "heading_deg", 0.0) != 0.0:
        raise doc.err(sc, "heading_deg", doc.child_float(sc, "heading_deg", 0.0), "0")
    return (
        doc.child_float(sc, "latitude_deg", 0.0),
        doc.child_float(sc, "longitude_deg", 0.0),
        doc.child_float(sc, "elevation", 0.0),
    )


# --------------------------------------------------------------------------- district markers

#: ``entrance_<id>``: a door, its pose on the building face with the x axis pointing out.
ENTRANCE_PREFIX = "entrance_"
#: ``depot_<n>``: a depot parking bay, its pose where a parked robot stands (x axis = heading).
DEPOT_PREFIX = "depot_"
#: ``pavement*`` (static, visuals only): the walkable surface; visuals named ``crosswalk*``
#: in it are road crossings. Without one, all free space is walkable.
PAVEMENT_PREFIX = "pavement"
_MARKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True, slots=True)
class Marker:
    """A marker model: ``id`` from its name, ``x``/``y`` (m) and ``yaw`` (rad) in the world
    frame, ``line`` in the world file."""

    id: str
    x: float
    y: float
    yaw: float
    line: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class DistrictMarkers:
    """What a world marks for the district generator: entrances, depot bays (ordered by their
    number), the walkable surface polygons and the crossing polygons among them (map metres)."""

    entrances: tuple[Marker, ...]
    depot_bays: tuple[Marker, ...]
    walkable: tuple[BaseGeometry, ...]
    crossings: tuple[BaseGeometry, ...]


def load_district_markers(path: str | Path) -> DistrictMarkers:
    """Read the marker models of an SDF world: ``entrance_<id>`` and ``depot_<n>`` models (top
    level, any content; give them no collision so the simulator does not see them) and the
    visuals of ``pavement*`` models. Raises ``MapError`` on a bad or repeated marker name."""
    doc = _Doc(Path(path))
    world = doc.root.find("world")
    if world is None:
        raise doc.err(doc.root, "sdf/world", None, "a <world> element")
    entrances: dict[str, Marker] = {}
    bays: dict[int, Marker] = {}
    walkable: list[BaseGeometry] = []
    crossings: list[BaseGeometry] = []
    everywhere = (-math.inf, math.inf)
    for model in world.findall("model"):
        name = model.get("name", "")
        tf = doc.pose(model, "world")
        yaw = math.atan2(float(tf[1, 0]), float(tf[0, 0]))
        line = doc.line(model) or 0
        if name.startswith(ENTRANCE_PREFIX):
            eid = name[len(ENTRANCE_PREFIX):]
            if not _MARKER_ID.fullmatch(eid) or eid in entrances:
                raise doc.err(model, "model@name", name,
                              "a unique entrance_<id> (id: letters, digits, '_', '.', '-')")
            entrances[eid] = Marker(eid, float(tf[0, 3]), float(tf[1, 3]), yaw, line)
        elif re.fullmatch(DEPOT_PREFIX + r"\d+", name):
            n = int(name[len(DEPOT_PREFIX):])
            if n in bays:
                raise doc.err(model, "model@name", name, "a unique depot_<n>")
            bays[n] = Marker(str(n), float(tf[0, 3]), float(tf[1, 3]), yaw, line)
        elif name.startswith(PAVEMENT_PREFIX):
            for link in model.findall("link"):
                ltf = tf @ doc.pose(link, name)
                for vis in link.findall("visual"):
                    geom = vis.find("geometry")
                    if geom is None:
                        continue
                    vtf = ltf @ doc.pose(vis, link.get("name", ""))
                    shapes = _shapes_of(doc, vis.get("name", ""), geom, vtf, everywhere)
                    polys = [s.footprint for s in shapes]
                    walkable.extend(polys)
                    if vis.get("name", "").startswith("crosswalk"):
                        crossings.extend(polys)
    return DistrictMarkers(
        entrances=tuple(entrances.values()),
        depot_bays=tuple(bays[k] for k in sorted(bays)),
        walkable=tuple(walkable),
        crossings=tuple(crossings),
    )
