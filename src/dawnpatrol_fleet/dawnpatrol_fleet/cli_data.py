"""`dawnpatrol data purge --older-than DAYS`: remove events, tracks and recordings past the
retention period from the fleet's data, robot state folders and report folders, and record in
the fleet's audit log what was removed.

Exit codes: 0 ok; 1 the purge failed (e.g. a database stayed locked); 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from dawnpatrol_core.errors import ConfigError, DawnPatrolError, one_line, path_text
from dawnpatrol_fleet.cli_base import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    Verb,
    operator_name,
    print_table,
    wall_clock,
)
from dawnpatrol_fleet.cli_keys import data_dir_arg, open_audit
from dawnpatrol_fleet.operator_keys import default_data_dir


def retention_from_params(path: Path) -> float:
    """``retention_days`` of the fleet manager's params file (``/**: ros__parameters:``)."""
    import yaml

    from dawnpatrol_core.store.retention import retention_days

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path_text(path)}: cannot read parameters: {one_line(exc)}"
                          ) from None
    name = path_text(path)
    nodes = doc.values() if isinstance(doc, dict) else []
    for node in nodes:
        params = node.get("ros__parameters") if isinstance(node, dict) else None
        if isinstance(params, dict) and "retention_days" in params:
            return retention_days(params["retention_days"], f"{name}: field 'retention_days'")
    raise ConfigError(f"{name}: field 'retention_days': missing; give --older-than DAYS")


class DataVerb(Verb):
    """Stored data: retention."""

    name = "data"
    help = "data retention: purge events, tracks and recordings older than N days"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
        p = sub.add_parser("purge", help="remove events, tracks and recordings older than DAYS "
                           "(orders, deliveries and the audit log are kept)")
        p.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                       help="retention period in days (default: retention_days of --params)")
        p.add_argument("--params", type=Path, default=Path("params/fleet_manager.yaml"),
                       help="fleet parameters to read retention_days from (default "
                       "params/fleet_manager.yaml)")
        data_dir_arg(p)
        p.add_argument("--path", type=Path, action="append", default=[],
                       help="also purge under this folder: a robot's state folder, a report "
                       "folder with run.mcap (repeatable)")
        p.add_argument("--dry-run", action="store_true", help="count only, remove nothing")
        p.add_argument("--operator", help="your name for the audit log")
        p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")

    def main(self, args: argparse.Namespace) -> int:
        import sqlite3

        try:
            return self._purge(args)
        except DawnPatrolError as exc:
            print(f"dawnpatrol data purge: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except (OSError, sqlite3.Error) as exc:
            print(f"dawnpatrol data purge: {str(exc).splitlines()[0]}", file=sys.stderr)
            return EXIT_FAILED

    def _purge(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.store.retention import (
            PURGE_COMMAND,
            purge_older_than,
            retention_days,
        )

        days = (retention_days(args.older_than, "--older-than") if args.older_than is not None
                else retention_from_params(args.params))
        data_dir = (args.data_dir or default_data_dir()).expanduser()
        roots = [data_dir, *args.path]
        for r in roots:
            if not r.exists():
                raise ConfigError(f"{path_text(r)}: no such folder")
        now = time.time()
        rep = purge_older_than(roots, days, now, dry_run=args.dry_run)
        if not args.dry_run:
            with open_audit(data_dir) as audit:
                t = rep.totals()
                audit.append(operator_name(args), PURGE_COMMAND, rep.to_record(), True,
                             f"purged {t['events']} events, {t['tracks']} track samples, "
                             f"{t['recordings']} recordings older than {days:g} days", now,
                             f"{operator_name(args)} (local)", "fleet")
        if args.json:
            print(json.dumps({**rep.to_record(), "now": now}, indent=2))
            return EXIT_OK
        verb = "would remove" if args.dry_run else "removed"
        print_table(f"data older than {days:g} days (before {wall_clock(rep.cutoff_s)})",
                    ["category", "what", "source", verb], [
                        (i.category, i.what, i.source, i.count) for i in rep.items])
        t = rep.totals()
        print(f"{verb}: {t['events']} events, {t['tracks']} track samples, {t['recordings']} "
              f"recordings ({rep.sources_checked} databases and recordings checked)")
        return EXIT_OK
