"""`dawnpatrol report`: have the fleet write the shift and compliance reports (markdown + PNG)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dawnpatrol_fleet.cli_base import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    FleetSession,
    FleetVerb,
    to_json,
    with_spinner,
)


class ReportVerb(FleetVerb):
    """The fleet writes the reports of a shift into a folder; their files are listed."""

    name = "report"
    help = "write the shift and compliance reports (markdown + PNG)"
    json_output = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--shift", help="shift label, e.g. 2026-11-25 (default: today)")
        parser.add_argument("--out", required=True, help="output folder")

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        from dawnpatrol_core.security.roles import Command
        from dawnpatrol_interfaces.srv import GenerateReport

        # The fleet manager writes the files: it needs the folder as an absolute path.
        req = GenerateReport.Request(out_dir=str(Path(args.out).resolve()),
                                     shift=args.shift or "", operator_name=fleet.operator)
        res = with_spinner(
            "writing report…",
            lambda: fleet.send(Command.GENERATE_REPORT, GenerateReport, "/fleet/generate_report",
                               req, timeout=args.timeout + 60),
        )
        if not res.success:
            raise CliError(res.message, EXIT_FAILED)
        if args.json:
            print(to_json({"files": list(res.files)}))
        else:
            for f in res.files:
                print(f)
        return EXIT_OK
