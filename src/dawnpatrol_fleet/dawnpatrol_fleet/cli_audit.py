"""`dawnpatrol audit verify`: check the fleet's chained audit log and name every entry that was
changed, removed or moved.

Exit codes: 0 intact; 1 problems found (listed on stdout, a one-line summary on stderr);
2 bad input (no audit log there, a bad --expect-head or key file).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from dawnpatrol_core.errors import DawnPatrolError, SecurityError, path_text
from dawnpatrol_fleet.cli_base import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Verb
from dawnpatrol_fleet.cli_keys import data_dir_arg
from dawnpatrol_fleet.operator_keys import default_data_dir

_HEAD = re.compile(r"(\d+):([0-9a-f]{64})")


def parse_head(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (as printed by a verification) -> (seq, hash); SecurityError otherwise."""
    m = _HEAD.fullmatch(text.strip())
    if m is None:
        raise SecurityError(f"--expect-head: got {text[:80]!r}, expected SEQ:HASH as printed by "
                            "`dawnpatrol audit verify` (64 hex digits)")
    return int(m[1]), m[2]


class AuditVerb(Verb):
    """The fleet's tamper-evident audit log."""

    name = "audit"
    help = "verify the fleet's hash-chained audit log"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
        v = sub.add_parser("verify", help="find changed, removed or reordered entries")
        data_dir_arg(v)
        v.add_argument("--signed", action="store_true",
                       help="also check each entry's signature with the fleet's public key "
                       "(DATA_DIR/fleet.pub, or --fleet-key): shows a chain rewritten whole")
        v.add_argument("--fleet-key", type=Path, default=None,
                       help="the fleet's public key file (implies --signed)")
        v.add_argument("--expect-head", default=None,
                       help="SEQ:HASH printed by an earlier verification: shows entries cut "
                       "off the end since")
        v.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")

    def main(self, args: argparse.Namespace) -> int:
        try:
            return self._verify(args)
        except DawnPatrolError as exc:
            print(f"dawnpatrol audit verify: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT

    def _verify(self, args: argparse.Namespace) -> int:
        # cryptography and the chain: imported when the command runs (the parser stays fast)
        from dawnpatrol_core.security.gate import AUDIT_FILE, FLEET_PUBLIC_FILE
        from dawnpatrol_core.security.keys import load_public_key
        from dawnpatrol_core.store.audit_chain import AuditChain

        data_dir = (args.data_dir or default_data_dir()).expanduser()
        path = data_dir / AUDIT_FILE
        if not path.is_file():
            raise SecurityError(f"{path_text(path)}: no audit log here (give the fleet's "
                                "--data-dir)")
        head = parse_head(args.expect_head) if args.expect_head else None
        key = None
        if args.signed or args.fleet_key:
            key = load_public_key(args.fleet_key or data_dir / FLEET_PUBLIC_FILE)
        with AuditChain(path) as chain:
            v = chain.verify(key, head)
        if args.json:
            print(json.dumps({"ok": v.ok, "entries": v.entries, "head": f"{v.head_seq}:"
                              f"{v.head_hash}", "signatures_checked": key is not None,
                              "problems": [{"seq": p.seq, "kind": p.kind.value,
                                            "message": p.message} for p in v.problems]},
                             indent=2))
        else:
            for p in v.problems:
                print(f"{p.kind.value:13} {p.message}")
            state = "intact" if v.ok else f"{len(v.problems)} problem(s)"
            print(f"{path}: {state}; {v.entries} entries, head {v.head_seq}:{v.head_hash}"
                  + ("; signatures checked" if key is not None else ""))
        if not v.ok:
            print(f"dawnpatrol audit verify: {path}: {len(v.problems)} problem(s), first: "
                  f"{v.problems[0].message}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
