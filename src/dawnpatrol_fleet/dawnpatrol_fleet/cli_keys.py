"""`dawnpatrol keys new|add|revoke|list`: operator key pairs on the operator's machine, and
the fleet's operator registry (who may command the fleet, with which role).

Exit codes: 0 ok; 1 the change failed; 2 bad input (name, key, role, file). Errors are one line
on stderr. Registry changes are recorded in the fleet's chained audit log.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.security.roles import ROLE_NAMES
from dawnpatrol_fleet.cli_base import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    Verb,
    operator_name,
    print_table,
    wall_clock,
)
from dawnpatrol_fleet.operator_keys import default_data_dir, default_key_dir, key_path, passphrase

# Keys, registry and audit log need cryptography: imported when a command runs, so that the
# parser every `dawnpatrol` command builds stays fast.
if TYPE_CHECKING:
    from dawnpatrol_core.security.registry import Operator
    from dawnpatrol_core.store.audit_chain import AuditChain


def open_audit(data_dir: Path) -> AuditChain:
    """The fleet's chained audit log in ``data_dir``, signed with the fleet key when this
    machine has it (the CLI runs beside the fleet manager for registry changes)."""
    from dawnpatrol_core.security.gate import AUDIT_FILE, FLEET_KEY_FILE
    from dawnpatrol_core.security.keys import load_private_key
    from dawnpatrol_core.store.audit_chain import AuditChain

    fleet_key = data_dir / FLEET_KEY_FILE
    signer = load_private_key(fleet_key, passphrase()) if fleet_key.exists() else None
    return AuditChain(data_dir / AUDIT_FILE, signer=signer)


def data_dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None,
                   help="the fleet's data directory (default: $DAWNPATROL_DATA_DIR, else "
                   "~/.dawnpatrol/fleet)")


def _read_public(text: str) -> bytes:
    """A public key given as ``ed25519:...`` text or as a path to a ``.pub`` file."""
    from dawnpatrol_core.security.keys import load_public_key, parse_public_key

    if text.startswith("ed25519:"):
        return parse_public_key(text, "public key")
    return load_public_key(text)


class KeysVerb(Verb):
    """Operator key pairs and the fleet's operator registry."""

    name = "keys"
    help = "operator keys: new key pair, add/revoke in the fleet's registry, list"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
        n = sub.add_parser("new", help="create a key pair (private key 0600) and print the "
                           "public key to give to an admin")
        n.add_argument("name", help="operator name (or 'fleet' for the fleet's own key)")
        n.add_argument("--key-dir", type=Path, default=None,
                       help="where to write NAME.key and NAME.pub (default: "
                       "$DAWNPATROL_KEY_DIR, else ~/.config/dawnpatrol/keys; for the fleet's "
                       "key: its data directory)")
        n.add_argument("--force", action="store_true", help="replace an existing key file")
        n.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
        a = sub.add_parser("add", help="register an operator's public key with a role "
                           "(admin's task, on the fleet's machine)")
        a.add_argument("name", help="operator name")
        a.add_argument("public_key", help="'ed25519:...' text, or the operator's .pub file")
        a.add_argument("--role", required=True, choices=ROLE_NAMES,
                       help="viewer: status, anomalies, reports; dispatcher: + orders, patrol, "
                       "ack; supervisor: + resume after e-stop, closing edges, investigations; "
                       "admin: + registry changes")
        a.add_argument("--operator", help="your name for the audit log")
        data_dir_arg(a)
        r = sub.add_parser("revoke", help="revoke an operator's key (e.g. a lost laptop): "
                           "its commands are refused from now on")
        r.add_argument("name", help="operator name")
        r.add_argument("--operator", help="your name for the audit log")
        data_dir_arg(r)
        ls = sub.add_parser("list", help="the registry: names, roles, key ids, revocations")
        ls.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
        data_dir_arg(ls)

    def main(self, args: argparse.Namespace) -> int:
        try:
            action = {"new": self._new, "add": self._add, "revoke": self._revoke,
                      "list": self._list}[args.keys_command]
            return action(args)
        except DawnPatrolError as exc:
            print(f"dawnpatrol keys {args.keys_command}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except OSError as exc:
            print(f"dawnpatrol keys {args.keys_command}: {exc.filename or ''}: "
                  f"{exc.strerror}", file=sys.stderr)
            return EXIT_FAILED

    def _new(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.security.keys import (
            generate_private_key,
            key_id,
            public_bytes,
            public_key_text,
            write_private_key,
        )
        from dawnpatrol_core.security.registry import check_name

        name = check_name(args.name, "name")
        key = generate_private_key()
        path = write_private_key(key_path(name, args.key_dir or default_key_dir()), key,
                                 passphrase(), overwrite=args.force)
        text = public_key_text(key)
        if args.json:
            print(json.dumps({"name": name, "public_key": text, "key_id":
                              key_id(public_bytes(key)), "key_file": str(path),
                              "public_file": str(path.with_suffix(".pub"))}))
            return EXIT_OK
        print(f"wrote {path} (mode 0600) and {path.with_suffix('.pub')}")
        print(f"public key: {text}")
        print(f"an admin registers it with: dawnpatrol keys add {name} {text} --role ROLE")
        return EXIT_OK

    def _add(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.security.gate import OPERATORS_FILE
        from dawnpatrol_core.security.keys import key_id
        from dawnpatrol_core.security.registry import RegistryStore, check_name
        from dawnpatrol_core.security.roles import Command, parse_role

        name = check_name(args.name, "name")
        role = parse_role(args.role, "--role")
        pub = _read_public(args.public_key)
        data_dir = (args.data_dir or default_data_dir()).expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
        now = time.time()
        by = operator_name(args)
        with RegistryStore(data_dir / OPERATORS_FILE) as store, open_audit(data_dir) as audit:
            record = {"name": name, "role": role.label, "key_id": key_id(pub)}
            try:
                op = store.add(name, role, pub, now, by)
            except DawnPatrolError as exc:
                audit.append(by, Command.REGISTRY_ADD.value, record, False, str(exc), now,
                             f"{by} (local)", "fleet")
                raise
            audit.append(by, Command.REGISTRY_ADD.value, record, True,
                         f"added {name} as {role.label}", now, f"{by} (local)", "fleet")
        print(f"added {op.name} as {op.role.label} (key {op.key_id})")
        return EXIT_OK

    def _revoke(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.security.gate import OPERATORS_FILE
        from dawnpatrol_core.security.registry import RegistryStore, check_name
        from dawnpatrol_core.security.roles import Command

        name = check_name(args.name, "name")
        data_dir = (args.data_dir or default_data_dir()).expanduser()
        path = data_dir / OPERATORS_FILE
        if not path.exists():
            raise FileNotFoundError(2, "no operator registry here", str(path))
        now = time.time()
        by = operator_name(args)
        with RegistryStore(path) as store, open_audit(data_dir) as audit:
            try:
                op = store.revoke(name, now, by)
            except DawnPatrolError as exc:
                audit.append(by, Command.REGISTRY_REVOKE.value, {"name": name}, False, str(exc),
                             now, f"{by} (local)", "fleet")
                raise
            audit.append(by, Command.REGISTRY_REVOKE.value,
                         {"name": name, "key_id": op.key_id}, True, f"revoked {name}", now,
                         f"{by} (local)", "fleet")
        print(f"revoked {op.name} (key {op.key_id}): its commands are refused from now on")
        return EXIT_OK

    def _list(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.security.gate import OPERATORS_FILE
        from dawnpatrol_core.security.registry import RegistryStore

        data_dir = (args.data_dir or default_data_dir()).expanduser()
        path = data_dir / OPERATORS_FILE
        ops: list[Operator] = []
        if path.exists():
            with RegistryStore(path) as store:
                ops = list(store.load())
        if args.json:
            print(json.dumps([{"name": o.name, "role": o.role.label, "key_id": o.key_id,
                               "added_at": o.added_at, "added_by": o.added_by,
                               "revoked_at": o.revoked_at, "revoked_by": o.revoked_by}
                              for o in ops], indent=2))
            return EXIT_OK
        print_table("operators", ["name", "role", "key id", "added", "by", "revoked"], [
            (o.name, o.role.label, o.key_id, wall_clock(o.added_at), o.added_by or "-",
             wall_clock(o.revoked_at) + (f" by {o.revoked_by}" if o.revoked_by else ""))
            for o in ops
        ])
        return EXIT_OK
