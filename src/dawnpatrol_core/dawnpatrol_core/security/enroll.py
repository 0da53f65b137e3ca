"""An operator set up in one call on the fleet's machine: a key pair in a key directory (kept
when there) registered with a role in the fleet's registry, the change recorded in the audit
chain — what `dawnpatrol keys new` and `dawnpatrol keys add` do by hand. The simulated shift's
set-up (the scenario runner) uses it, so that `make demo` runs with signed commands."""

from __future__ import annotations

from pathlib import Path

from dawnpatrol_core.security.envelope import Signer
from dawnpatrol_core.security.gate import AUDIT_FILE, FLEET_KEY_FILE, OPERATORS_FILE
from dawnpatrol_core.security.keys import (
    generate_private_key,
    key_id,
    load_private_key,
    public_bytes,
    write_private_key,
)
from dawnpatrol_core.security.registry import RegistryStore, check_name
from dawnpatrol_core.security.roles import Command, Role
from dawnpatrol_core.store.audit_chain import AuditChain


def enroll_operator(name: str, role: Role, key_dir: str | Path, data_dir: str | Path,
                    now: float, by: str = "set-up",
                    passphrase: bytes | None = None) -> Signer:
    """A :class:`Signer` for ``name`` with ``role``: its key ``key_dir/NAME.key`` (created
    when absent), registered in ``data_dir``'s registry with that role (an active entry with
    another key or role is revoked and replaced, both on record). ``now``: wall-clock s. The
    audit entries are signed with the fleet's key when ``data_dir`` holds it."""
    name = check_name(name, "operator")
    key_file = Path(key_dir).expanduser() / f"{name}.key"
    if key_file.exists():
        key = load_private_key(key_file, passphrase)
    else:
        key = generate_private_key()
        write_private_key(key_file, key, passphrase)
    pub = public_bytes(key)
    d = Path(data_dir).expanduser()
    d.mkdir(parents=True, exist_ok=True)
    fleet_key = d / FLEET_KEY_FILE
    signer = load_private_key(fleet_key, passphrase) if fleet_key.exists() else None
    with RegistryStore(d / OPERATORS_FILE) as store, \
            AuditChain(d / AUDIT_FILE, signer=signer) as audit:
        old = store.load().get(name)
        if old is not None and old.active and old.public_key == pub and old.role is role:
            return Signer(name, role, key)
        if old is not None and old.active:
            store.revoke(name, now, by)
            audit.append(by, Command.REGISTRY_REVOKE.value, {"name": name, "key_id": old.key_id},
                         True, f"revoked {name} (replaced by the set-up)", now, f"{by} (local)",
                         "fleet")
        store.add(name, role, pub, now, by)
        audit.append(by, Command.REGISTRY_ADD.value,
                     {"name": name, "role": role.label, "key_id": key_id(pub)}, True,
                     f"added {name} as {role.label}", now, f"{by} (local)", "fleet")
    return Signer(name, role, key)
