"""`dawnpatrol deliver | plan`: plan a batch of orders and dispatch it to the fleet
(all-or-nothing), or plan it offline on a district map without robots or a fleet manager."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dawnpatrol_core.shift_clock import ros_clock
from dawnpatrol_fleet.cli_base import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    FleetSession,
    FleetVerb,
    Verb,
    add_json_option,
    print_table,
    to_json,
    with_spinner,
)

ORDER_FORMATS = {".csv": "csv", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def orders_request(path: str, dry_run: bool, operator: str) -> Any:
    """A DispatchOrders request with the text of the orders file ``path``; CliError (exit 2)
    for an unknown suffix or an unreadable file."""
    from dawnpatrol_interfaces.srv import DispatchOrders

    p = Path(path)
    fmt = ORDER_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise CliError(f"{path}: expected a .csv, .yaml or .json orders file", EXIT_BAD_INPUT)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}", EXIT_BAD_INPUT) from None
    return DispatchOrders.Request(
        orders_text=text, format=fmt, source_name=str(path), dry_run=dry_run, operator_name=operator
    )


def print_plan(plan: dict[str, Any]) -> None:
    """A plan (the fleet's plan JSON) as a table of stops, then its unserved orders."""
    rows = []
    for route in plan.get("routes", []):
        for stop in route.get("stops", []):
            rows.append(
                (
                    route.get("robot_id"),
                    stop.get("order_id"),
                    stop.get("address_id", ""),
                    ros_clock(stop.get("eta", 0.0)),
                    f"{ros_clock(stop.get('window_start', 0))}-"
                    f"{ros_clock(stop.get('window_end', 0))}",
                )
            )
    print_table("plan", ["robot", "order", "address", "ETA", "window"], rows)
    for u in plan.get("unserved", []):
        print(f"unserved {u.get('order_id')}: {u.get('reason')}")
    if plan.get("robots_needed"):
        bound = plan.get("robots_lower_bound", 0)
        print(f"robots needed: {plan['robots_needed']} of {len(plan.get('routes', []))}"
              + (f" (lower bound {bound})" if bound else ""))


def draw_plan_png(plan: dict[str, Any], out: str) -> None:
    """Draw ``plan`` over its district map to the PNG ``out``."""
    from dawnpatrol_fleet.report import draw_plan

    draw_plan(plan, out)
    print(f"wrote {out}", file=sys.stderr)


def add_orders_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("orders", help="orders file: .csv, .yaml or .json")


class DeliverVerb(FleetVerb):
    """Send an orders file to the fleet, which plans it and dispatches the routes."""

    name = "deliver"
    help = "plan and dispatch a batch of orders (all-or-nothing)"
    json_output = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        add_orders_argument(parser)
        parser.add_argument("--dry-run", action="store_true",
                            help="plan and show, dispatch nothing")
        parser.add_argument("--out", help="also draw the plan to this PNG")

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        from dawnpatrol_core.security.roles import Command
        from dawnpatrol_interfaces.srv import DispatchOrders

        req = orders_request(args.orders, args.dry_run, fleet.operator)
        res = with_spinner(
            "planning routes…",
            lambda: fleet.send(Command.DISPATCH_ORDERS, DispatchOrders, "/fleet/dispatch_orders",
                               req, timeout=args.timeout + 60),
        )
        if not res.success:
            for line in res.problems:
                print(line, file=sys.stderr)
            code = EXIT_BAD_INPUT if res.problems else EXIT_FAILED
            raise CliError(res.message or "dispatch rejected", code)
        plan = json.loads(res.plan_json or "{}")
        if args.out and plan:
            draw_plan_png(plan, args.out)
        if args.json:
            print(to_json(plan))
        else:
            print_plan(plan)
            print(res.message)
        return EXIT_OK


class PlanVerb(Verb):
    """Plan an orders file offline with the fleet's own dispatcher (no robots, no fleet)."""

    name = "plan"
    help = "plan orders offline (no robots, no fleet)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_json_option(parser)
        add_orders_argument(parser)
        parser.add_argument("--map", required=True, help="map folder, e.g. maps/suwon_dawn")
        parser.add_argument("--robots", type=int, default=3, help="number of robots (default 3)")
        parser.add_argument("--time-limit", type=float, default=5.0,
                            help="solver seconds (default 5)")
        parser.add_argument("--shift-start", default="02:00",
                            help="shift start HH:MM (default 02:00)")
        parser.add_argument("--out", help="draw the plan to this PNG")

    def run(self, args: argparse.Namespace) -> int:
        from dawnpatrol_fleet.offline_plan import plan_offline

        plan = with_spinner(
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
            draw_plan_png(plan, args.out)
        if args.json:
            print(to_json(plan))
        else:
            print_plan(plan)
        return EXIT_OK
