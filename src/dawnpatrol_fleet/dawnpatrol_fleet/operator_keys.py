"""The operator's side of signed commands: where keys live, and the one call that signs a
command for the fleet (``sign_for_fleet``), used by the CLI before each request."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dawnpatrol_core.security.roles import FLEET_TARGET as FLEET_TARGET  # re-exported

if TYPE_CHECKING:
    from dawnpatrol_core.security.roles import Command

KEY_DIR_ENV = "DAWNPATROL_KEY_DIR"
PASSPHRASE_ENV = "DAWNPATROL_KEY_PASSPHRASE"
DATA_DIR_ENV = "DAWNPATROL_DATA_DIR"


def default_key_dir() -> Path:
    """Operator keys: $DAWNPATROL_KEY_DIR, else ~/.config/dawnpatrol/keys."""
    return Path(os.environ.get(KEY_DIR_ENV) or "~/.config/dawnpatrol/keys").expanduser()


def default_data_dir() -> Path:
    """The fleet's data directory: $DAWNPATROL_DATA_DIR, else the fleet manager's default."""
    return Path(os.environ.get(DATA_DIR_ENV) or "~/.dawnpatrol/fleet").expanduser()


def key_path(operator: str, key_dir: str | Path | None = None) -> Path:
    """The private key file of ``operator``: ``<key dir>/<operator>.key``."""
    return Path(key_dir or default_key_dir()).expanduser() / f"{operator}.key"


def passphrase() -> bytes | None:
    """The key passphrase from $DAWNPATROL_KEY_PASSPHRASE (None: keys are not encrypted)."""
    p = os.environ.get(PASSPHRASE_ENV)
    return p.encode() if p else None


def sign_for_fleet(command: Command | str, target: str, fields: Mapping[str, object],
                   operator: str, key_dir: str | Path | None = None, now: float | None = None,
                   lifetime_s: float | None = None) -> str:
    """Envelope text authorizing ``command`` on ``target`` (a robot id, '*' or 'fleet') with
    the request's ``fields``, signed with ``operator``'s key, claiming the least role the
    command needs (least privilege: the fleet refuses a claim above the registered role).
    ``now``: wall-clock s (default: the system clock). Raises SecurityError (one line) when the
    key is missing or unreadable. ``lifetime_s``: default the envelope's DEFAULT_LIFETIME_S."""
    # Signing needs cryptography: imported here, so that the CLI's parser (which reads the key
    # and data paths above) stays fast.
    from dawnpatrol_core.security.envelope import (
        DEFAULT_LIFETIME_S,
        Signer,
        envelope_to_text,
        new_nonce,
        signed_args,
    )
    from dawnpatrol_core.security.keys import load_private_key
    from dawnpatrol_core.security.roles import parse_command, required_role

    cmd = parse_command(command)
    signer = Signer(operator, required_role(cmd),
                    load_private_key(key_path(operator, key_dir), passphrase()))
    t = time.time() if now is None else now
    life = DEFAULT_LIFETIME_S if lifetime_s is None else lifetime_s
    env = signer.sign(cmd, target, signed_args(cmd, fields), t, new_nonce(), life)
    return envelope_to_text(env)
