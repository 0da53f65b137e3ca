"""``dawnpatrol`` — the operator's command line for a DawnPatrol fleet.

Exit codes: 0 ok; 1 the action failed (the fleet said no); 2 bad input (file, argument);
3 the fleet (or robot) did not answer. Every failure prints one line on stderr.
The operator's name (``--operator``, else $DAWNPATROL_OPERATOR, else $USER) is sent with every
command and recorded in the fleet's audit log.
"""

from __future__ import annotations

import argparse
import sys

from dawnpatrol_fleet.cli_alerts import AckVerb, AnomaliesVerb
from dawnpatrol_fleet.cli_audit import AuditVerb
from dawnpatrol_fleet.cli_base import Verb, error_text, exit_code_of
from dawnpatrol_fleet.cli_calls import InvestigateVerb
from dawnpatrol_fleet.cli_data import DataVerb
from dawnpatrol_fleet.cli_district import DistrictVerb
from dawnpatrol_fleet.cli_keys import KeysVerb
from dawnpatrol_fleet.cli_map import MapVerb
from dawnpatrol_fleet.cli_orders import DeliverVerb, PlanVerb
from dawnpatrol_fleet.cli_report import ReportVerb
from dawnpatrol_fleet.cli_robots import EStopVerb, PatrolVerb, ResumeVerb, RobotsVerb, StatusVerb


def verbs() -> list[Verb]:
    """Every command, in the order ``dawnpatrol --help`` lists them."""
    return [
        StatusVerb(), RobotsVerb(), DeliverVerb(), PlanVerb(), PatrolVerb(), InvestigateVerb(),
        EStopVerb(), ResumeVerb(), AnomaliesVerb(), AckVerb(), ReportVerb(), MapVerb(),
        DistrictVerb(), KeysVerb(), AuditVerb(), DataVerb(),
    ]


def build_parser() -> argparse.ArgumentParser:
    """The ``dawnpatrol`` parser: one sub-command per verb; ``args.verb`` is the one chosen."""
    parser = argparse.ArgumentParser(
        prog="dawnpatrol", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in verbs():
        vp = sub.add_parser(verb.name, help=verb.help, description=verb.description or verb.help)
        verb.add_arguments(vp)
        vp.set_defaults(verb=verb)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``dawnpatrol ARGV``; returns the exit code."""
    args = build_parser().parse_args(argv)
    verb: Verb = args.verb
    try:
        return int(verb.main(args))
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line, never a traceback
        print(f"dawnpatrol {verb.name}: {error_text(exc)}", file=sys.stderr)
        return exit_code_of(exc)


if __name__ == "__main__":
    sys.exit(main())
