"""``dawnpatrol`` — the operator's command line for a DawnPatrol fleet.

Exit codes: 0 ok; 1 the action failed (the fleet said no); 2 bad input (file, argument);
3 the fleet (or robot) did not answer. Every failure prints one line on stderr.
The operator's name (``--operator``, else $DAWNPATROL_OPERATOR, else $USER) is sent with every
command and recorded in the fleet's audit log.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNREACHABLE = 0, 1, 2, 3
MODES = [
    "idle",
    "delivering",
    "patrolling",
    "investigating",
    "returning",
    "charging",
    "estopped",
    "fault",
]
LOC = ["OK", "DEGRADED", "LOST"]
SEVERITY = ["info", "warning", "alert", "critical"]


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def operator_name(args: argparse.Namespace) -> str:
    return str(
        args.operator
        or os.environ.get("DAWNPATROL_OPERATOR")
        or os.environ.get("USER")
        or "operator"
    )


# -- output helpers ----------------------------------------------------------------------------
def _console() -> Any:
    from rich.console import Console

    return Console()


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    _console().print(t)


def _finite(data: Any) -> Any:
    """``data`` with NaN/inf floats as None: strict JSON (jq, browsers) has no NaN."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def _json(data: object, indent: int | None = 2) -> str:
    return json.dumps(_finite(data), indent=indent, sort_keys=True, default=str, allow_nan=False)


def _with_spinner(text: str, fn: Callable[[], Any]) -> Any:
    if not sys.stderr.isatty():
        return fn()
    from rich.console import Console

    with Console(stderr=True).status(text):
        return fn()


# -- message -> plain data -----------------------------------------------------------------------
def status_to_dict(s: Any, conn: str) -> dict[str, Any]:
    from dawnpatrol_robot.msgconv import msg_to_pose2d

    p = msg_to_pose2d(s.pose)
    return {
        "robot_id": s.robot_id,
        "connection": conn,
        "mode": MODES[s.mode] if s.mode < len(MODES) else str(s.mode),
        "x": round(p.x, 2),
        "y": round(p.y, 2),
        "yaw": round(p.theta, 3),
        "latitude": s.latitude,
        "longitude": s.longitude,
        "localization": LOC[s.localization_health] if s.localization_health < 3 else "?",
        "localization_quality": round(float(s.localization_quality), 3),
        "battery_percent": round(float(s.battery_percent), 1),
        "speed": round(float(s.speed), 2),
        "current_task": s.current_task,
        "parcels_on_board": list(s.parcels_on_board),
        "eta_s": None if math.isnan(s.eta_s) else round(s.eta_s, 1),
        "estopped": bool(s.estopped),
        "last_error": s.last_error,
    }


def anomaly_to_dict(a: Any, acked: bool | None = None, note: str = "") -> dict[str, Any]:
    from dawnpatrol_robot.msgconv import time_to_seconds

    d = {
        "uuid": a.uuid,
        "robot_id": a.robot_id,
        "kind": a.kind,
        "severity": SEVERITY[a.severity] if a.severity < 4 else str(a.severity),
        "x": round(a.position.x, 2),
        "y": round(a.position.y, 2),
        "latitude": a.latitude,
        "longitude": a.longitude,
        "zone": a.zone,
        "confidence": round(float(a.confidence), 3),
        "first_seen": time_to_seconds(a.first_seen),
        "last_seen": time_to_seconds(a.last_seen),
        "count": a.count,
        "description": a.description,
    }
    if acked is not None:
        d["acknowledged"] = acked
        d["ack_note"] = note
    return d


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t)) if t > 0 else "-"


# -- commands ------------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace, client: Any) -> int:
    from dawnpatrol_interfaces.srv import FleetStatus

    res = client.call(FleetStatus, "/fleet/get_status", FleetStatus.Request())
    robots = [status_to_dict(s, c) for s, c in zip(res.robots, res.connection, strict=False)]
    summary = json.loads(res.summary_json or "{}")
    if args.command == "robots":
        robots = [r for r in robots if r["robot_id"] == args.robot]
        if not robots:
            raise CliError(f"robot '{args.robot}': not known to the fleet", EXIT_BAD_INPUT)
        if args.json:
            print(_json(robots[0]))
        else:
            _table(f"robot {args.robot}", ["field", "value"], list(robots[0].items()))
        return EXIT_OK
    if args.json:
        print(_json({"robots": robots, "summary": summary}))
        return EXIT_OK
    _table(
        "fleet",
        ["robot", "link", "mode", "battery", "loc", "parcels", "task", "ETA"],
        [
            (
                r["robot_id"],
                r["connection"],
                r["mode"] + (" [E-STOP]" if r["estopped"] else ""),
                f"{r['battery_percent']:.0f} %",
                r["localization"],
                len(r["parcels_on_board"]),
                r["current_task"],
                "-" if r["eta_s"] is None else f"{r['eta_s'] / 60:.1f} min",
            )
            for r in robots
        ],
    )
    if summary:
        print("  ".join(f"{k}: {v}" for k, v in sorted(summary.items())))
    return EXIT_OK


def _orders_request(path: str, dry_run: bool, operator: str) -> Any:
    from dawnpatrol_interfaces.srv import DispatchOrders

    p = Path(path)
    fmt = {".csv": "csv", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}.get(p.suffix.lower())
    if fmt is None:
        raise CliError(f"{path}: expected a .csv, .yaml or .json orders file", EXIT_BAD_INPUT)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}", EXIT_BAD_INPUT) from None
    return DispatchOrders.Request(
        orders_text=text, format=fmt, source_name=str(path), dry_run=dry_run, operator_name=operator
    )


def _print_plan(plan: dict[str, Any]) -> None:
    rows = []
    for route in plan.get("routes", []):
        for stop in route.get("stops", []):
            rows.append(
                (
                    route.get("robot_id"),
                    stop.get("order_id"),
                    stop.get("address_id", ""),
                    _clock(stop.get("eta", 0.0)),
                    f"{_clock(stop.get('window_start', 0))}-{_clock(stop.get('window_end', 0))}",
                )
            )
    _table("plan", ["robot", "order", "address", "ETA", "window"], rows)
    for u in plan.get("unserved", []):
        print(f"unserved {u.get('order_id')}: {u.get('reason')}")


def cmd_deliver(args: argparse.Namespace, client: Any) -> int:
    from dawnpatrol_interfaces.srv import DispatchOrders

    req = _orders_request(args.orders, args.dry_run, operator_name(args))
    res = _with_spinner(
        "planning routes…",
        lambda: client.call(
            DispatchOrders, "/fleet/dispatch_orders", req, timeout=args.timeout + 60
        ),
    )
    if not res.success:
        for line in res.problems:
            print(line, file=sys.stderr)
        code = EXIT_BAD_INPUT if res.problems else EXIT_FAILED
        raise CliError(res.message or "dispatch rejected", code)
    plan = json.loads(res.plan_json or "{}")
    if args.out and plan:
        _plan_png(plan, args.out)
    if args.json:
        print(_json(plan))
    else:
        _print_plan(plan)
        print(res.message)
    return EXIT_OK


def _plan_png(plan: dict[str, Any], out: str) -> None:
    from dawnpatrol_fleet.report import draw_plan

    draw_plan(plan, out)
    print(f"wrote {out}", file=sys.stderr)


def cmd_plan(args: argparse.Namespace) -> int:
    from dawnpatrol_fleet.offline_plan import plan_offline

    plan = _with_spinner(
        "planning routes…",
        lambda: plan_offline(
            args.orders,
            args.map,
            robots=args.robots,
            time_limit=args.time_limit,
            shift_start=args.shift_start,
        ),
    )
    if args.out:
        _plan_png(plan, args.out)
    if args.json:
        print(_json(plan))
    else:
        _print_plan(plan)
    return EXIT_OK


def cmd_patrol(args: argparse.Namespace, client: Any) -> int:
    from dawnpatrol_interfaces.srv import SetPatrol

    req = SetPatrol.Request(
        active=args.action == "start", robot_id=args.robot or "*", operator_name=operator_name(args)
    )
    res = client.call(SetPatrol, "/fleet/set_patrol", req)
    print(res.message)
    return EXIT_OK if res.success else EXIT_FAILED


def cmd_estop(args: argparse.Namespace, client: Any, engage: bool) -> int:
    from dawnpatrol_fleet.client import FleetUnreachableError
    from dawnpatrol_interfaces.srv import SetEStop

    target = "*" if getattr(args, "all", False) else args.robot
    if not target:
        raise CliError("estop: name a robot or pass --all", EXIT_BAD_INPUT)
    op = operator_name(args)
    req = SetEStop.Request(engage=engage, robot_id=target, reason=args.reason, operator_name=op)
    try:
        res = client.call(SetEStop, "/fleet/estop", req, timeout=min(args.timeout, 2.0))
        print(res.message)
        return EXIT_OK if res.success else EXIT_FAILED
    except FleetUnreachableError:
        pass
    # The fleet manager is down: go to the robots directly (e-stop must always work).
    names = [f"/{target}/estop"] if target != "*" else client.robot_estop_services(wait=1.5)
    if not names:
        raise CliError("fleet manager down and no robot e-stop service found", EXIT_UNREACHABLE)
    failed = 0
    for name in names:
        rid = name.strip("/").split("/")[0]
        try:
            r = client.estop_robot_direct(rid, engage, args.reason, op)
            print(f"{rid}: {r.message} (direct, fleet manager not answering)")
            failed += 0 if r.success else 1
        except FleetUnreachableError as exc:
            print(f"{rid}: {exc}", file=sys.stderr)
            failed += 1
    return EXIT_OK if failed == 0 else EXIT_UNREACHABLE


def cmd_anomalies(args: argparse.Namespace, client: Any) -> int:
    from dawnpatrol_interfaces.srv import QueryAnomalies

    if args.follow:
        seen: dict[str, int] = {}
        start = time.monotonic()
        stop = {"flag": False}
        signal.signal(signal.SIGINT, lambda *_: stop.update(flag=True))

        def on_msg(a: Any) -> None:
            # The fleet sends each incident under one id, again on every update: a line when
            # it opens and when its severity rises, not for every sighting.
            if args.kind and a.kind != args.kind:
                return
            if a.uuid in seen and a.severity <= seen[a.uuid]:
                return
            seen[a.uuid] = a.severity
            d = anomaly_to_dict(a)
            if args.json:
                print(_json(d, indent=None), flush=True)
            else:
                print(
                    f"{_clock(d['last_seen'])} {d['severity'].upper():8} {d['kind']:16} "
                    f"{d['robot_id']:4} {d['zone'] or '-':14} x{d['count']} {d['uuid'][:8]} "
                    f"{d['description']}",
                    flush=True,
                )

        def done() -> bool:
            if stop["flag"]:
                return True
            if args.max and len(seen) >= args.max:
                return True
            return bool(args.duration and time.monotonic() - start > args.duration)

        client.follow_anomalies(on_msg, done)
        return EXIT_OK
    req = QueryAnomalies.Request(
        since_s=float(args.since), kind=args.kind or "", unacknowledged_only=args.unacked
    )
    res = client.call(QueryAnomalies, "/fleet/query_anomalies", req)
    items = [
        anomaly_to_dict(a, k, n)
        for a, k, n in zip(res.anomalies, res.acknowledged, res.ack_notes, strict=False)
    ]
    if args.json:
        print(_json(items))
        return EXIT_OK
    _table(
        "anomalies",
        ["id", "last seen", "severity", "kind", "robot", "zone", "n", "ack", "description"],
        [
            (
                d["uuid"][:8],
                _clock(d["last_seen"]),
                d["severity"],
                d["kind"],
                d["robot_id"],
                d["zone"],
                d["count"],
                "yes" if d["acknowledged"] else "NO",
                d["description"],
            )
            for d in items
        ],
    )
    return EXIT_OK


def cmd_ack(args: argparse.Namespace, client: Any) -> int:
    from dawnpatrol_interfaces.srv import AckAnomaly

    res = client.call(
        AckAnomaly,
        "/fleet/ack_anomaly",
        AckAnomaly.Request(uuid=args.id, note=args.note, operator_name=operator_name(args)),
    )
    print(res.message)
    return EXIT_OK if res.success else EXIT_FAILED


def cmd_report(args: argparse.Namespace, client: Any) -> int:
    from dawnpatrol_interfaces.srv import GenerateReport

    out = str(Path(args.out).resolve())
    res = _with_spinner(
        "writing report…",
        lambda: client.call(
            GenerateReport,
            "/fleet/generate_report",
            GenerateReport.Request(
                out_dir=out, shift=args.shift or "", operator_name=operator_name(args)
            ),
            timeout=args.timeout + 60,
        ),
    )
    if not res.success:
        raise CliError(res.message, EXIT_FAILED)
    if args.json:
        print(_json({"files": list(res.files)}))
    else:
        for f in res.files:
            print(f)
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--operator", help="your name for the audit log (default: $DAWNPATROL_OPERATOR, then $USER)"
    )
    common.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        help="seconds to wait for the fleet before exit code 3 (default 3: the whole command "
        "then ends within 5 s)",
    )
    js = argparse.ArgumentParser(add_help=False)
    js.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")

    p = argparse.ArgumentParser(
        prog="dawnpatrol", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "status",
        parents=[common, js],
        help="every robot: link, mode, battery, localization, parcels, task and ETA",
    )
    r = sub.add_parser("robots", parents=[common, js], help="one robot in detail")
    r.add_argument("robot", help="robot id, e.g. r1")
    d = sub.add_parser(
        "deliver", parents=[common, js], help="plan and dispatch a batch of orders (all-or-nothing)"
    )
    d.add_argument("orders", help="orders file: .csv, .yaml or .json")
    d.add_argument("--dry-run", action="store_true", help="plan and show, dispatch nothing")
    d.add_argument("--out", help="also draw the plan to this PNG")
    pl = sub.add_parser("plan", parents=[js], help="plan orders offline (no robots, no fleet)")
    pl.add_argument("orders", help="orders file: .csv, .yaml or .json")
    pl.add_argument("--map", required=True, help="map folder, e.g. maps/suwon_dawn")
    pl.add_argument("--robots", type=int, default=3, help="number of robots (default 3)")
    pl.add_argument("--time-limit", type=float, default=5.0, help="solver seconds (default 5)")
    pl.add_argument("--shift-start", default="02:00", help="shift start HH:MM (default 02:00)")
    pl.add_argument("--out", help="draw the plan to this PNG")
    pa = sub.add_parser("patrol", parents=[common], help="start or stop patrolling")
    pa.add_argument("action", choices=["start", "stop"], help="start or stop")
    pa.add_argument("--robot", help="only this robot (default: all)")
    e = sub.add_parser(
        "estop", parents=[common], help="stop a robot (or all) now; latched until `resume`"
    )
    e.add_argument("robot", nargs="?", help="robot id")
    e.add_argument("--all", action="store_true", help="every robot")
    e.add_argument("--reason", default="operator e-stop", help="recorded with the e-stop")
    rs = sub.add_parser("resume", parents=[common], help="release a robot's e-stop latch")
    rs.add_argument("robot", nargs="?", help="robot id")
    rs.add_argument("--all", action="store_true", help="every robot")
    rs.add_argument("--reason", default="operator resume", help="recorded with the resume")
    a = sub.add_parser("anomalies", parents=[common, js], help="list or follow alerts")
    a.add_argument("--follow", action="store_true", help="keep printing new alerts (Ctrl-C ends)")
    a.add_argument(
        "--since",
        type=float,
        default=0.0,
        help="only alerts last seen after this time (ROS time, seconds)",
    )
    a.add_argument("--kind", help="only this kind, e.g. loitering")
    a.add_argument("--unacked", action="store_true", help="only unacknowledged alerts")
    a.add_argument("--max", type=int, default=0, help="with --follow: stop after N alerts")
    a.add_argument(
        "--duration", type=float, default=0.0, help="with --follow: stop after this many seconds"
    )
    k = sub.add_parser("ack", parents=[common], help="acknowledge an alert")
    k.add_argument("id", help="alert uuid (as listed by `anomalies`)")
    k.add_argument("--note", default="", help="what you did about it")
    rp = sub.add_parser(
        "report",
        parents=[common, js],
        help="write the shift and compliance reports (markdown + PNG)",
    )
    rp.add_argument("--shift", help="shift label, e.g. 2026-11-25 (default: today)")
    rp.add_argument("--out", required=True, help="output folder")
    from dawnpatrol_fleet.cli_map import add_map_commands

    add_map_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "map":
        return int(args.func(args))
    try:
        if args.command == "plan":
            return cmd_plan(args)
        from dawnpatrol_fleet.client import FleetClient, FleetUnreachableError

        client = FleetClient(timeout=args.timeout)
        try:
            handlers: dict[str, Callable[[], int]] = {
                "status": lambda: cmd_status(args, client),
                "robots": lambda: cmd_status(args, client),
                "deliver": lambda: cmd_deliver(args, client),
                "patrol": lambda: cmd_patrol(args, client),
                "estop": lambda: cmd_estop(args, client, True),
                "resume": lambda: cmd_estop(args, client, False),
                "anomalies": lambda: cmd_anomalies(args, client),
                "ack": lambda: cmd_ack(args, client),
                "report": lambda: cmd_report(args, client),
            }
            return handlers[args.command]()
        except FleetUnreachableError as exc:
            raise CliError(str(exc), EXIT_UNREACHABLE) from None
        finally:
            client.close()
    except CliError as exc:
        print(f"dawnpatrol {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except Exception as exc:  # noqa: BLE001 - the operator gets one line, never a traceback
        from dawnpatrol_core.errors import DawnPatrolError

        code = EXIT_BAD_INPUT if isinstance(exc, DawnPatrolError) else EXIT_FAILED
        print(f"dawnpatrol {args.command}: {exc}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
