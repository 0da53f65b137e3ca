"""Shift report, compliance report and map images for the operator and the city: markdown
tables in plain language, drawn over the district map."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from dawnpatrol_core.compliance import ComplianceResult, PrivacyStatement, check_compliance
from dawnpatrol_core.fleet.depot import depot_pose
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.patrol.metrics import Visit, patrol_metrics
from dawnpatrol_core.shift_clock import clock, ros_clock
from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.inbox import Inbox, InboxRecord
from dawnpatrol_fleet.map_drawing import render_district

ROBOT_COLORS = [(0, 110, 255), (230, 60, 20), (20, 160, 60), (150, 60, 200), (200, 140, 0),
                (0, 170, 170)]
SEVERITY_COLORS = {"info": (90, 90, 90), "warning": (230, 170, 0), "alert": (230, 80, 0),
                   "critical": (200, 0, 0)}


@dataclass(frozen=True, slots=True)
class _Frame:
    """Map metres -> image pixels for an image from ``render_district``."""

    ox: float
    oy: float
    scale: float
    height: int

    def px(self, x: float, y: float) -> tuple[float, float]:
        return ((x - self.ox) * self.scale, self.height - (y - self.oy) * self.scale)


def _base(dm: DistrictMap, width_px: int = 1600) -> tuple[Image.Image, _Frame]:
    img = render_district(dm, width_px=width_px, labels=False)
    g = dm.grid
    scale = width_px / (g.width * g.resolution)
    return img, _Frame(g.origin_x, g.origin_y, scale, img.height)


def _dot(d: ImageDraw.ImageDraw, xy: tuple[float, float], r: float, fill: Any,
         outline: Any = (0, 0, 0)) -> None:
    d.ellipse((xy[0] - r, xy[1] - r, xy[0] + r, xy[1] + r), fill=fill, outline=outline)


def _draw_routes(d: ImageDraw.ImageDraw, f: _Frame, dm: DistrictMap,
                 routes: Sequence[dict[str, Any]]) -> None:
    depot = depot_pose(dm)
    for k, route in enumerate(routes):
        color = ROBOT_COLORS[k % len(ROBOT_COLORS)]
        stops = route.get("stops", [])
        if not stops:
            continue
        pts = [f.px(depot.x, depot.y)] + [f.px(s["x"], s["y"]) for s in stops]
        pts.append(f.px(depot.x, depot.y))
        d.line(pts, fill=color, width=3)
        for n, s in enumerate(stops, start=1):
            p = f.px(s["x"], s["y"])
            _dot(d, p, 7, color)
            d.text((p[0] - 3, p[1] - 6), str(n), fill=(255, 255, 255))
        d.text((10, 28 + 14 * k), f"{route.get('robot_id')}: {len(stops)} stops", fill=color)


def draw_plan(plan: dict[str, Any], out_png: str | Path) -> Path:
    """Draw a dispatch plan (plan_json) over its district: one colour per robot, depot -> stops
    in order (legs drawn straight) -> depot, stops numbered. Returns the PNG path."""
    dm = load_district_map(plan["map_dir"])
    img, f = _base(dm)
    d = ImageDraw.Draw(img)
    _draw_routes(d, f, dm, plan.get("routes", []))
    if plan.get("unserved"):
        d.text((10, img.height - 34), f"{len(plan['unserved'])} unserved orders (see table)",
               fill=(200, 0, 0))
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, format="PNG")
    return out


# -- shift data ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ShiftData:
    """Everything a report states, read once from the fleet store and the anomaly inbox."""

    orders: list[Any]
    deliveries: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    robots: list[Any]
    batches: list[dict[str, Any]]
    alerts: list[InboxRecord]
    samples: list[tuple[float, str, float, float, float]]
    sample_source: str


def collect(store: FleetStore, inbox: Inbox) -> ShiftData:
    """Read the shift from the stores (ground-truth samples preferred over status estimates)."""
    sources = store.sample_sources()
    source = "ground_truth" if "ground_truth" in sources else ("status" if sources else "")
    return ShiftData(
        orders=store.orders(), deliveries=store.deliveries(), visits=store.visits(),
        incidents=store.incidents(), audit=store.audit_log(), robots=store.robots(),
        batches=store.batches(), alerts=list(reversed(inbox.incidents(limit=100_000))),
        samples=store.samples(source) if source else [], sample_source=source,
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> str:
    rows = list(rows)
    if not rows:
        return f"_{empty}_\n"
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(str(v).replace("|", "/") for v in r) + " |")
    return "\n".join(out) + "\n"


def _span(data: ShiftData) -> tuple[float, float]:
    times = [s[0] for s in data.samples] + [v["arrived_at"] for v in data.visits]
    times += [d["at"] for d in data.deliveries] + [a.event.last_seen for a in data.alerts]
    return (min(times), max(times)) if times else (0.0, 0.0)


def _response(a: InboxRecord) -> str:
    if a.acked_at is None:
        return "not acknowledged"
    return f"{max(0.0, a.acked_at - a.received_at) / 60:.1f} min"


def shift_markdown(data: ShiftData, dm: DistrictMap, shift: str, utc: float = 0.0,
                   map_png: str = "shift_map.png") -> str:
    """The shift report: deliveries, patrol, alerts and operator commands."""
    orders = {o.id: o for o in data.orders}
    delivered = {d["order_id"]: d for d in data.deliveries}
    on_time = sum(1 for oid, d in delivered.items()
                  if oid in orders and d["at"] <= orders[oid].order.window_end + 1e-6)
    counts: dict[str, int] = {}
    for o in data.orders:
        counts[o.state] = counts.get(o.state, 0) + 1
    unacked = sum(1 for a in data.alerts if a.acked_at is None)
    robot_ids = sorted({r.id for r in data.robots} | {o.robot_id for o in data.orders if o.robot_id}
                       | {s[1] for s in data.samples})
    lines = [
        f"# DawnPatrol shift report — {shift}",
        "",
        f"District **{dm.name}**, robots: {', '.join(robot_ids) or 'none'}.",
        "",
        "## At a glance",
        "",
        _table(["what", "count"], [
            ("orders received", len(data.orders)),
            ("delivered", counts.get("delivered", 0)),
            ("delivered inside their time window", on_time),
            ("failed (parcel returned to the depot)",
             counts.get("failed", 0) + counts.get("returned", 0)),
            ("could not be planned", counts.get("unserved", 0)),
            ("still under way or waiting", counts.get("assigned", 0) + counts.get("planned", 0)),
            ("patrol visits", len(data.visits)),
            ("alerts raised", len(data.alerts)),
            ("alerts not yet acknowledged", unacked),
        ], "nothing recorded"),
        f"![map of the shift]({map_png})",
        "",
        "## Deliveries",
        "",
        "Times are local clock times. A delivery is on time when the parcel was handed over "
        "before its window closed.",
        "",
        _table(["order", "address", "robot", "window", "outcome", "handed over", "how"], [
            (o.id, o.order.address_id or "-", o.robot_id or "-",
             f"{clock(o.order.window_start)}–{clock(o.order.window_end)}",
             o.state + (f": {o.reason}" if o.reason and o.state != "delivered" else ""),
             ros_clock(delivered[o.id]["at"], utc) if o.id in delivered else "-",
             delivered[o.id]["method"] if o.id in delivered else "-")
            for o in data.orders
        ], "no orders this shift"),
    ]
    lines += ["## Patrol", ""]
    hs_ids = [h.id for h in dm.hotspots]
    if data.visits and hs_ids:
        start, end = _span(data)
        visits = [Visit(v["robot_id"], hs_ids.index(v["hotspot_id"]), v["arrived_at"],
                        v["left_at"] if v["left_at"] is not None else v["arrived_at"])
                  for v in data.visits if v["hotspot_id"] in hs_ids]
        bound = np.array([h.max_idleness_s for h in dm.hotspots], dtype=np.float64)
        m = patrol_metrics(visits, hs_ids, bound, start, end)
        lines += [
            "Idleness is the time a hotspot went without a robot watching it.",
            "",
            _table(["hotspot", "visits", "average idleness", "worst idleness", "allowed",
                    "over the limit"], [
                (h.hotspot_id, h.visits, f"{h.avg_idleness_s / 60:.1f} min",
                 f"{h.worst_idleness_s / 60:.1f} min", f"{h.max_idleness_s / 60:.0f} min",
                 h.violations) for h in m.hotspots
            ], "no hotspots"),
            f"Unpredictability of the visiting order: {m.order_entropy_bits:.2f} bits "
            "(0 = a fixed round).",
            "",
        ]
    else:
        lines += ["_No patrol visits were recorded._", ""]
    lines += [
        "## Alerts", "",
        _table(["first seen", "kind", "severity", "robot", "zone", "observations",
                "acknowledged by", "response time", "note"], [
            (ros_clock(a.event.first_seen, utc), a.event.kind, a.event.severity.value,
             a.event.robot_id, a.event.zone or "-", a.event.count, a.acked_by or "-",
             _response(a), a.ack_note or "") for a in data.alerts
        ], "no alerts"),
        "## Operator commands", "",
        "Operators who acted (signed commands, verified): "
        + (", ".join(operators_who_acted(data.audit)) or "none") + ".", "",
        _table(["time", "operator", "command", "result"], [
            (ros_clock(a["at"], utc), a["operator"], a["command"],
             ("ok: " if a["ok"] else "FAILED: ") + a["result"][:120]) for a in data.audit
        ], "no operator commands"),
    ]
    return "\n".join(lines)


def operators_who_acted(audit: Iterable[dict[str, Any]]) -> list[str]:
    """Who commanded the fleet, as verified (``kim (supervisor)``), in order of first command;
    refused commands (``unverified ...``) name nobody."""
    seen: list[str] = []
    for a in audit:
        who = str(a["operator"])
        if who and who != "unknown" and not who.startswith("unverified") and who not in seen:
            seen.append(who)
    return seen


def retention_markdown(privacy: PrivacyStatement | None, utc: float = 0.0) -> list[str]:
    """The report section on data retention, purges and the robots' recording indicators."""
    if privacy is None:
        return ["## Retention and recording", "",
                "_Not stated: the fleet passed no retention settings to this report._", ""]
    days = f"{privacy.retention_days:g}"
    return [
        "## Retention and recording", "",
        f"Retention in force: events, position tracks and recordings are kept for **{days} "
        "days** and then purged (`dawnpatrol data purge`); orders, deliveries and the audit "
        "log are kept as the shift's record.", "",
        _table(["purged at", "by", "older than", "events", "tracks", "recordings"], [
            (ros_clock(p.at, utc), p.operator, f"{p.older_than_days:g} days", p.events, p.tracks,
             p.recordings) for p in privacy.purges
        ], "No purge was recorded."),
        "Recording indicator of each robot (robots signal when they record; recording in the "
        "field is off unless enabled):", "",
        _table(["robot", "indicator", "since", "last reported"], [
            (i.robot_id, i.state, ros_clock(i.since_s, utc), ros_clock(i.reported_at_s, utc))
            for i in privacy.indicators
        ], "No robot reported its recording indicator."),
    ]


def compliance_markdown(data: ShiftData, dm: DistrictMap, result: ComplianceResult, shift: str,
                        utc: float = 0.0, privacy: PrivacyStatement | None = None) -> str:
    """The compliance report for the city: speeds, zones, stops, link losses, alerts, privacy,
    retention and recording indicators."""
    source = {"ground_truth": "the simulator's ground-truth positions",
              "status": "the robots' own position and speed reports"}.get(
        data.sample_source, "no position data")
    stops = [i for i in data.incidents if i["kind"] in ("estop", "resume")]
    links = [i for i in data.incidents if i["kind"] == "link_lost"]
    links += [{"at": a.event.first_seen, "robot_id": a.event.robot_id, "kind": "link_lost",
               "detail": a.event.description} for a in data.alerts if a.event.kind == "link_lost"]
    other = [i for i in data.incidents if i["kind"] not in ("estop", "resume", "link_lost")]
    verdict = ("No rule was broken." if result.violations == 0 else
               f"{result.violations} finding(s) need review (details below).")
    return "\n".join([
        f"# DawnPatrol compliance report — {shift}",
        "",
        f"District **{dm.name}**. This report checks the robots against the sandbox rules: "
        "speed limits per zone, keep-out zones, and the operating area. It is based on "
        f"{result.samples} position and speed samples from {source}, for robots "
        f"{', '.join(result.robots) or '-'}.",
        "",
        f"**Summary: {verdict}**",
        "",
        "## Speed by zone",
        "",
        _table(["zone", "limit", "highest speed seen", "samples", "samples over the limit"], [
            (f"{z.name or z.zone_id}", f"{z.limit_mps * 3.6:.1f} km/h",
             f"{z.max_mps * 3.6:.1f} km/h", z.samples, z.over) for z in result.zone_speeds
        ], "no speed zones"),
        "## Keep-out zones entered",
        "",
        _table(["robot", "zone", "from", "to", "where (x, y m)"], [
            (e.robot_id, e.zone_id, ros_clock(e.start_s, utc), ros_clock(e.end_s, utc),
             f"{e.x:.1f}, {e.y:.1f}") for e in result.keep_out_entries
        ], "None: no robot entered a keep-out zone."),
        "## Leaving the operating area",
        "",
        _table(["robot", "from", "to", "where (x, y m)"], [
            (e.robot_id, ros_clock(e.start_s, utc), ros_clock(e.end_s, utc),
             f"{e.x:.1f}, {e.y:.1f}")
            for e in result.operating_area_exits
        ], "None: every robot stayed inside the operating area."),
        "## Emergency stops",
        "",
        _table(["time", "robot", "action", "detail"], [
            (ros_clock(i["at"], utc), i["robot_id"], "stop" if i["kind"] == "estop" else "resume",
             i["detail"]) for i in stops
        ], "No emergency stop was used."),
        "## Lost connections",
        "",
        _table(["time", "robot", "detail"], [
            (ros_clock(i["at"], utc), i["robot_id"], i["detail"]) for i in links
        ], "No robot lost its connection to the control room."),
        "## Other incidents",
        "",
        _table(["time", "robot", "kind", "detail"], [
            (ros_clock(i["at"], utc), i["robot_id"], i["kind"], i["detail"]) for i in other
        ], "No other incidents (no contacts were reported)."),
        "## Alerts and how fast they were acknowledged",
        "",
        _table(["raised", "kind", "severity", "robot", "acknowledged by", "response time"], [
            (ros_clock(a.received_at, utc), a.event.kind, a.event.severity.value, a.event.robot_id,
             a.acked_by or "-", _response(a)) for a in data.alerts
        ], "No alerts were raised."),
        "## Privacy",
        "",
        "What was stored: order ids, building-entrance ids, delivery times and positions, the "
        "handover method (PIN entered at the robot, or left at the door), robot positions, "
        "speeds and tracks, patrol visit times, and for alerts the position, time, kind and a "
        "simplified track of the moving object (a list of points) with a few laser range "
        "points.",
        "",
        "What was not stored: no camera images or video, no faces, no licence plates, no "
        "names, no phone numbers, no street addresses of recipients beyond the building "
        "entrance, and no PINs (robots check PINs on board; the control room never sees them).",
        "",
        *retention_markdown(privacy, utc),
    ])


def _draw_shift(data: ShiftData, dm: DistrictMap, out: Path) -> None:
    img, f = _base(dm)
    d = ImageDraw.Draw(img)
    robots = sorted({s[1] for s in data.samples} | {r.id for r in data.robots})
    color = {r: ROBOT_COLORS[k % len(ROBOT_COLORS)] for k, r in enumerate(robots)}
    for r in robots:
        pts = [f.px(s[2], s[3]) for s in data.samples if s[1] == r]
        if len(pts) > 1:
            d.line(pts[:: max(1, len(pts) // 4000)], fill=color[r], width=2)
    if not data.samples:
        for b in data.batches:
            _draw_routes(d, f, dm, b["plan"].get("routes", []))
    hs = {h.id: h for h in dm.hotspots}
    for v in data.visits:
        h = hs.get(v["hotspot_id"])
        if h is not None:
            p = f.px(h.observation_pose.x, h.observation_pose.y)
            d.ellipse((p[0] - 12, p[1] - 12, p[0] + 12, p[1] + 12), outline=(255, 120, 0),
                      width=2)
    for dl in data.deliveries:
        _dot(d, f.px(dl["x"], dl["y"]), 6, (0, 180, 0))
    for o in data.orders:
        if o.state in ("failed", "returned", "unserved"):
            x, y = f.px(o.order.x, o.order.y)
            d.line([(x - 6, y - 6), (x + 6, y + 6)], fill=(220, 0, 0), width=3)
            d.line([(x - 6, y + 6), (x + 6, y - 6)], fill=(220, 0, 0), width=3)
    for a in data.alerts:
        x, y = f.px(a.event.x, a.event.y)
        d.polygon([(x, y - 9), (x - 8, y + 6), (x + 8, y + 6)],
                  fill=SEVERITY_COLORS.get(a.event.severity.value, (0, 0, 0)), outline=(0, 0, 0))
    for k, r in enumerate(robots):
        d.text((10, 28 + 14 * k), f"{r} track", fill=color[r])
    d.text((10, img.height - 34), "green: delivered  red X: not delivered  orange ring: patrol "
           "visit  triangle: alert", fill=(0, 0, 0))
    img.save(out, format="PNG")


def write_reports(store: FleetStore, inbox: Inbox, dm: DistrictMap, out_dir: str | Path,
                  shift: str = "", utc_offset_s: float = 0.0,
                  shift_window: tuple[float, float] | None = None,
                  privacy: PrivacyStatement | None = None) -> list[Path]:
    """Write shift_report.md, shift_map.png and compliance_report.md into ``out_dir``;
    ``privacy``: retention in force, purges and recording indicators for the city."""
    del shift_window  # the report spans the data itself; kept for callers that know the shift
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    label = shift or "shift"
    data = collect(store, inbox)
    s = data.samples
    result = check_compliance(
        dm, np.array([r[0] for r in s], dtype=np.float64), [r[1] for r in s],
        np.array([[r[2], r[3]] for r in s], dtype=np.float64).reshape(-1, 2),
        np.array([r[4] for r in s], dtype=np.float64))
    files = [out / "shift_report.md", out / "shift_map.png", out / "compliance_report.md"]
    files[0].write_text(shift_markdown(data, dm, label, utc_offset_s), encoding="utf-8")
    _draw_shift(data, dm, files[1])
    files[2].write_text(compliance_markdown(data, dm, result, label, utc_offset_s, privacy),
                        encoding="utf-8")
    return files
