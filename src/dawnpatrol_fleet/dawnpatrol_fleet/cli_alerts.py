"""`dawnpatrol anomalies | ack`: list or follow the robots' alerts, and acknowledge one."""

from __future__ import annotations

import argparse
import signal
import time
from typing import Any

from dawnpatrol_core.shift_clock import ros_clock
from dawnpatrol_fleet.cli_base import (
    EXIT_FAILED,
    EXIT_OK,
    FleetSession,
    FleetVerb,
    print_table,
    to_json,
)


def anomaly_to_dict(a: Any, acked: bool | None = None, note: str = "") -> dict[str, Any]:
    """An Anomaly message for people and --json (no evidence)."""
    from dawnpatrol_ros.codecs import SEVERITY_NAMES
    from dawnpatrol_ros.convert import time_to_seconds

    d = {
        "uuid": a.uuid,
        "robot_id": a.robot_id,
        "kind": a.kind,
        "severity": SEVERITY_NAMES.get(a.severity, str(a.severity)),
        "x": round(a.position.x, 2),
        "y": round(a.position.y, 2),
        "latitude": a.latitude,
        "longitude": a.longitude,
        "zone": a.zone,
        "confidence": round(float(a.confidence), 3),
        "first_seen": time_to_seconds(a.first_seen),
        "last_seen": time_to_seconds(a.last_seen),
        "count": a.count,
        "revision": a.revision,
        "description": a.description,
    }
    if acked is not None:
        d["acknowledged"] = acked
        d["ack_note"] = note
    return d


class AnomaliesVerb(FleetVerb):
    """The fleet's alerts: a table of those stored (``--since``, ``--kind``, ``--unacked``), or
    a line per new or updated alert as it arrives (``--follow``)."""

    name = "anomalies"
    help = "list or follow alerts"
    json_output = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--follow", action="store_true",
                            help="keep printing new alerts (Ctrl-C ends)")
        parser.add_argument(
            "--since",
            type=float,
            default=0.0,
            help="only alerts last seen after this time (ROS time, seconds)",
        )
        parser.add_argument("--kind", help="only this kind, e.g. loitering")
        parser.add_argument("--unacked", action="store_true", help="only unacknowledged alerts")
        parser.add_argument("--max", type=int, default=0,
                            help="with --follow: stop after N alerts")
        parser.add_argument(
            "--duration", type=float, default=0.0,
            help="with --follow: stop after this many seconds"
        )

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        if args.follow:
            return self.follow(args, fleet)
        from dawnpatrol_core.security.roles import Command
        from dawnpatrol_interfaces.srv import QueryAnomalies

        req = QueryAnomalies.Request(
            since_s=float(args.since), kind=args.kind or "", unacknowledged_only=args.unacked
        )
        res = fleet.send(Command.QUERY_ANOMALIES, QueryAnomalies, "/fleet/query_anomalies", req)
        items = [
            anomaly_to_dict(a, k, n)
            for a, k, n in zip(res.anomalies, res.acknowledged, res.ack_notes, strict=False)
        ]
        if args.json:
            print(to_json(items))
            return EXIT_OK
        print_table(
            "anomalies",
            ["id", "last seen", "severity", "kind", "robot", "zone", "n", "ack", "description"],
            [
                (
                    d["uuid"][:8],
                    ros_clock(d["last_seen"]),
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

    def follow(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        """Print each new or updated alert on /fleet/anomalies until Ctrl-C, ``--max`` alerts
        or ``--duration`` seconds."""
        seen: dict[str, int] = {}
        start = time.monotonic()
        stop = {"flag": False}
        signal.signal(signal.SIGINT, lambda *_: stop.update(flag=True))

        def on_msg(a: Any) -> None:
            if args.kind and a.kind != args.kind:
                return
            # The fleet sends each incident under one id, again on every update: a line when
            # it opens and when its severity rises, not for every sighting.
            if a.uuid in seen and a.severity <= seen[a.uuid]:
                return
            seen[a.uuid] = a.severity
            d = anomaly_to_dict(a)
            if args.json:
                print(to_json(d, indent=None), flush=True)
            else:
                print(
                    f"{ros_clock(d['last_seen'])} {d['severity'].upper():8} {d['kind']:16} "
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

        fleet.client.follow_anomalies(on_msg, done)
        return EXIT_OK


class AckVerb(FleetVerb):
    """Acknowledge an alert, with a note of what was done."""

    name = "ack"
    help = "acknowledge an alert"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("id", help="alert uuid (as listed by `anomalies`)")
        parser.add_argument("--note", default="", help="what you did about it")

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        from dawnpatrol_core.security.roles import Command
        from dawnpatrol_interfaces.srv import AckAnomaly

        req = AckAnomaly.Request(uuid=args.id, note=args.note, operator_name=fleet.operator)
        res = fleet.send(Command.ACK_ANOMALY, AckAnomaly, "/fleet/ack_anomaly", req)
        print(res.message)
        return EXIT_OK if res.success else EXIT_FAILED
