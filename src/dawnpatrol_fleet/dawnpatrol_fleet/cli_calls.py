"""`dawnpatrol investigate X Y`: an operator's call — the robot that can be there first goes to
look, and the fleet's reply names it, its ETA and where it watches from."""

from __future__ import annotations

import argparse
import math
from typing import Any

from dawnpatrol_fleet.cli_base import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    FleetSession,
    FleetVerb,
    to_json,
)

#: Longest note the fleet takes (characters): as ``dawnpatrol_core.fleet.services.MAX_NOTE``
#: (a test holds them equal; the parser must not import the core's solver stack).
MAX_NOTE = 200


def coordinate(name: str, text: str) -> float:
    """``text`` as a finite map coordinate in metres; a one-line CliError (exit 2) if not."""
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise CliError(f"{name}: got {text!r}, expected a finite number of metres in the map "
                       "frame", EXIT_BAD_INPUT)
    return v


def call_line(res: Any) -> str:
    """The fleet's answer to a call in one line for people: who goes, when, from where."""
    where = f"({res.watch_x:.1f}, {res.watch_y:.1f})"
    if res.robot_id:
        return (f"{res.robot_id} goes: on scene in about {res.eta_s:.0f} s, watching from "
                f"{where}")
    return (f"queued: no robot can go yet without making a parcel late (it will watch from "
            f"{where})")


class InvestigateVerb(FleetVerb):
    """Send the robot that can be there first (delivering or not, when its parcels' windows
    still hold after the detour) to look at a place; a place robots may not enter is watched
    from the nearest allowed point that sees it. Needs a supervisor's key."""

    name = "investigate"
    help = "send the robot that can be there first to look at X Y (an operator's call)"
    json_output = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("x", help="map x of the place, m (e.g. 150.0)")
        parser.add_argument("y", help="map y of the place, m")
        parser.add_argument("--note", default="",
                            help="what was reported, in one line (recorded with the call, e.g. "
                            "'a resident reports someone lingering in the park')")

    def run(self, args: argparse.Namespace) -> int:
        # Bad arguments fail before any link to the fleet is made.
        args.x, args.y = coordinate("x", args.x), coordinate("y", args.y)
        if len(args.note) > MAX_NOTE or not args.note.isprintable():
            raise CliError(f"--note: got {args.note[:40]!r}, expected one printable line of at "
                           f"most {MAX_NOTE} characters", EXIT_BAD_INPUT)
        return super().run(args)

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        from dawnpatrol_core.security.roles import Command
        from dawnpatrol_interfaces.srv import Investigate

        req = Investigate.Request(x=args.x, y=args.y, note=args.note,
                                  operator_name=fleet.operator)
        res = fleet.send(Command.INVESTIGATE, Investigate, "/fleet/investigate", req)
        if args.json:
            print(to_json({k: getattr(res, k) for k in (
                "success", "message", "robot_id", "eta_s", "watch_x", "watch_y")}))
        else:  # a refusal (or a place off the map) is the fleet's line, as other verbs
            print(call_line(res) if res.success else res.message)
        return EXIT_OK if res.success else EXIT_FAILED
