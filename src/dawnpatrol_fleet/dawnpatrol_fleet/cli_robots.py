"""`dawnpatrol status | robots | patrol | estop | resume`: see the fleet's robots and command them.

An e-stop goes to the robots directly when the fleet manager does not answer: it must always work.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dawnpatrol_fleet.cli_base import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    CliError,
    FleetSession,
    FleetVerb,
    print_table,
    to_json,
)


def status_to_dict(s: Any, conn: str) -> dict[str, Any]:
    """A RobotStatus message for people and --json (rounded; localization in capitals)."""
    from dawnpatrol_ros.codecs import status_to_dict as decode

    d = decode(s)
    d.pop("stamp")
    for key, digits in (("x", 2), ("y", 2), ("yaw", 3), ("localization_quality", 3),
                        ("battery_percent", 1), ("speed", 2), ("eta_s", 1)):
        if d[key] is not None:
            d[key] = round(d[key], digits)
    d["localization"] = d["localization"].upper()
    return {"robot_id": d.pop("robot_id"), "connection": conn, **d}


def fleet_status(fleet: FleetSession) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every robot the fleet knows (as :func:`status_to_dict`) and the fleet's summary."""
    from dawnpatrol_core.security.roles import Command
    from dawnpatrol_interfaces.srv import FleetStatus

    res = fleet.send(Command.GET_STATUS, FleetStatus, "/fleet/get_status", FleetStatus.Request())
    robots = [status_to_dict(s, c) for s, c in zip(res.robots, res.connection, strict=False)]
    return robots, json.loads(res.summary_json or "{}")


class StatusVerb(FleetVerb):
    """The whole fleet, one line per robot."""

    name = "status"
    help = "every robot: link, mode, battery, localization, parcels, task and ETA"
    json_output = True

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        robots, summary = fleet_status(fleet)
        if args.json:
            print(to_json({"robots": robots, "summary": summary}))
            return EXIT_OK
        print_table(
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


class RobotsVerb(FleetVerb):
    """One robot, every field of its status."""

    name = "robots"
    help = "one robot in detail"
    json_output = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("robot", help="robot id, e.g. r1")

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        robots = [r for r in fleet_status(fleet)[0] if r["robot_id"] == args.robot]
        if not robots:
            raise CliError(f"robot '{args.robot}': not known to the fleet", EXIT_BAD_INPUT)
        if args.json:
            print(to_json(robots[0]))
        else:
            print_table(f"robot {args.robot}", ["field", "value"], list(robots[0].items()))
        return EXIT_OK


class PatrolVerb(FleetVerb):
    """Patrol on or off, for one robot or all."""

    name = "patrol"
    help = "start or stop patrolling"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("action", choices=["start", "stop"], help="start or stop")
        parser.add_argument("--robot", help="only this robot (default: all)")

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        from dawnpatrol_core.security.roles import Command
        from dawnpatrol_interfaces.srv import SetPatrol

        target = args.robot or "*"
        req = SetPatrol.Request(
            active=args.action == "start", robot_id=target, operator_name=fleet.operator
        )
        res = fleet.send(Command.SET_PATROL, SetPatrol, "/fleet/set_patrol", req, target=target)
        print(res.message)
        return EXIT_OK if res.success else EXIT_FAILED


class EStopVerb(FleetVerb):
    """Engage the e-stop latch of one robot or all: through the fleet manager, or, when it does
    not answer, at each robot's own /<robot>/estop service."""

    name = "estop"
    help = "stop a robot (or all) now; latched until `resume`"
    engage = True
    default_reason = "operator e-stop"
    reason_help = "recorded with the e-stop"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("robot", nargs="?", help="robot id")
        parser.add_argument("--all", action="store_true", help="every robot")
        parser.add_argument("--reason", default=self.default_reason,
                            help=self.reason_help)

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        from dawnpatrol_core.security.roles import Command
        from dawnpatrol_fleet.client import FleetUnreachableError
        from dawnpatrol_interfaces.srv import SetEStop

        target = "*" if args.all else args.robot
        if not target:
            raise CliError("estop: name a robot or pass --all", EXIT_BAD_INPUT)
        req = SetEStop.Request(engage=self.engage, robot_id=target, reason=args.reason,
                               operator_name=fleet.operator)
        command = Command.ESTOP if self.engage else Command.RESUME
        try:
            # an e-stop waits at most 2 s for the fleet before going to the robots itself
            res = fleet.send(command, SetEStop, "/fleet/estop", req, target=target,
                             timeout=min(args.timeout, 2.0) if self.engage else args.timeout)
            print(res.message)
            return EXIT_OK if res.success else EXIT_FAILED
        except FleetUnreachableError as exc:
            if not self.engage:  # robots take a resume only signed by the fleet
                raise CliError(f"{exc}; a resume needs the fleet manager (robots accept only "
                               "its signed resume)", EXIT_UNREACHABLE) from None
        # The fleet manager is down: go to the robots directly (e-stop must always work; this
        # path stays unsigned by design, docs/security.md).
        client = fleet.client
        names = [f"/{target}/estop"] if target != "*" else client.robot_estop_services(wait=1.5)
        if not names:
            raise CliError("fleet manager down and no robot e-stop service found",
                           EXIT_UNREACHABLE)
        failed = 0
        for name in names:
            rid = name.strip("/").split("/")[0]
            try:
                r = client.estop_robot_direct(rid, self.engage, args.reason, fleet.operator)
                print(f"{rid}: {r.message} (direct, fleet manager not answering)")
                failed += 0 if r.success else 1
            except FleetUnreachableError as exc:
                print(f"{rid}: {exc}", file=sys.stderr)
                failed += 1
        return EXIT_OK if failed == 0 else EXIT_UNREACHABLE


class ResumeVerb(EStopVerb):
    """Release the e-stop latch through the fleet manager, which needs a supervisor's
    signature and forwards it signed by the fleet (robots take no other resume: no fallback)."""

    name = "resume"
    help = "release a robot's e-stop latch"
    engage = False
    default_reason = "operator resume"
    reason_help = "recorded with the resume"
