"""The verifier's side in one object: a :class:`CommandGate` holds whom it trusts and its
replay window, and turns (command, target, request fields, envelope, now) into a Verdict.

The fleet's gate trusts the operator registry in its data directory; a robot's gate trusts the
fleet's public key alone. Both keep their replay window on disk beside their other state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from dawnpatrol_core.errors import SecurityError
from dawnpatrol_core.security.envelope import (
    CommandEnvelope,
    Signer,
    Verdict,
    envelope_to_text,
    identify_estop,
    new_nonce,
    signed_args,
    verify_command,
)
from dawnpatrol_core.security.keys import (
    generate_private_key,
    load_private_key,
    load_public_key,
    write_private_key,
)
from dawnpatrol_core.security.registry import (
    FLEET_NAME,
    Operator,
    OperatorRegistry,
    RegistryStore,
    fleet_registry,
)
from dawnpatrol_core.security.replay import ReplayWindow
from dawnpatrol_core.security.roles import Command, Role, parse_command

#: Files in the fleet's data directory (beside fleet.db and anomalies.db).
OPERATORS_FILE = "operators.db"
REPLAY_FILE = "replay.db"
AUDIT_FILE = "audit.db"
FLEET_KEY_FILE = "fleet.key"
FLEET_PUBLIC_FILE = "fleet.pub"
#: A robot's replay window, in its state directory.
ROBOT_REPLAY_FILE = "replay.db"
#: A robot's onboard key, in its state directory: what the robot's own nodes tell each other
#: over the network (the anomaly monitor's closed edges) is signed with it, and only that
#: robot's nodes trust it (as a supervisor's, for those commands alone).
ONBOARD_KEY_FILE = "onboard.key"
ONBOARD_NAME = "onboard"
ONBOARD_REPLAY_FILE = "onboard_replay.db"


class CommandGate:
    """Verifies envelopes against ``registry()`` (called per check, so a registry changed by
    another process counts at once) and consumes nonces in ``replay``."""

    def __init__(self, registry: Callable[[], OperatorRegistry], replay: ReplayWindow,
                 on_close: Callable[[], None] | None = None) -> None:
        self._registry = registry
        self.replay = replay
        self._on_close = on_close

    def close(self) -> None:
        self.replay.close()
        if self._on_close is not None:
            self._on_close()

    def check(self, command: Command | str, target: str, fields: Mapping[str, object],
              envelope: CommandEnvelope | str | None, now: float,
              consume: bool = True) -> Verdict:
        """Verdict for a request: ``fields`` are the request's fields (the command's signed
        ones are picked by :func:`signed_args`), ``now`` wall-clock seconds. Only an OK verdict
        may act; its nonce is then spent. ``consume=False`` for state that is re-sent (a
        latched topic such as closed edges): the nonce is checked, not spent, and the caller
        applies the state only when its ``envelope.issued_at`` is newer than the one in force."""
        cmd = parse_command(command)
        return verify_command(envelope, command=cmd, target=target,
                              args=signed_args(cmd, fields), registry=self._registry(),
                              now=now, replay=self.replay, consume=consume)

    def identify_estop(self, target: str, fields: Mapping[str, object],
                       envelope: CommandEnvelope | str | None, now: float) -> Verdict:
        """Who asked for an e-stop — call after stopping; never refuses, never raises."""
        return identify_estop(envelope, target=target, args=signed_args(Command.ESTOP, fields),
                              registry=self._registry(), now=now)


def fleet_gate(data_dir: str | Path) -> CommandGate:
    """The fleet manager's gate: operators from ``data_dir/operators.db``, replay window in
    ``data_dir/replay.db``."""
    d = Path(data_dir).expanduser()
    d.mkdir(parents=True, exist_ok=True)
    store = RegistryStore(d / OPERATORS_FILE)
    return CommandGate(store.load, ReplayWindow(d / REPLAY_FILE), store.close)


def robot_gate(fleet_public_key: bytes | str | Path, state_dir: str | Path) -> CommandGate:
    """A robot's gate: trusts the fleet's public key (raw bytes or a ``.pub`` file) alone;
    replay window in ``state_dir/replay.db`` (kept across restarts)."""
    pub = (fleet_public_key if isinstance(fleet_public_key, bytes)
           else load_public_key(fleet_public_key))
    reg = fleet_registry(pub)
    d = Path(state_dir).expanduser()
    d.mkdir(parents=True, exist_ok=True)
    return CommandGate(lambda: reg, ReplayWindow(d / ROBOT_REPLAY_FILE))


def onboard_gate(state_dir: str | Path) -> CommandGate:
    """A robot's gate for its own nodes' commands: trusts ``state_dir/onboard.pub`` alone (as
    a supervisor); replay window in ``state_dir/onboard_replay.db``."""
    d = Path(state_dir).expanduser()
    pub = load_public_key(d / Path(ONBOARD_KEY_FILE).with_suffix(".pub"))
    reg = OperatorRegistry((Operator(ONBOARD_NAME, Role.SUPERVISOR, pub, 0.0),))
    return CommandGate(lambda: reg, ReplayWindow(d / ONBOARD_REPLAY_FILE))


class FleetSigner:
    """The fleet's key, signing what the fleet sends to robots (missions, resume, closed edges)
    as operator 'fleet' (admin); with ``name`` and ``role``, another service's key (a robot's
    onboard key: see :func:`onboard_signer`)."""

    def __init__(self, key_file: str | Path, passphrase: bytes | None = None,
                 name: str = FLEET_NAME, role: Role = Role.ADMIN) -> None:
        #: The private key, also for signing the audit chain's entries.
        self.key = load_private_key(key_file, passphrase)
        self._signer = Signer(name, role, self.key)
        self.public_key = self._signer.public_key

    def sign(self, command: Command | str, robot_id: str, fields: Mapping[str, object],
             now: float, lifetime_s: float = 10.0) -> str:
        """Envelope text for ``command`` to ``robot_id`` with the request's ``fields``, issued
        at ``now`` (wall-clock s), valid ``lifetime_s`` (<= 30)."""
        cmd = parse_command(command)
        env = self._signer.sign(cmd, robot_id, signed_args(cmd, fields), now, new_nonce(),
                                lifetime_s)
        return envelope_to_text(env)


def ensure_fleet_key(data_dir: str | Path, passphrase: bytes | None = None) -> Path:
    """``data_dir/fleet.key`` (and ``fleet.pub`` beside it), created with a new key pair when
    absent — the fleet manager's first start; robots are given the ``.pub`` file."""
    return ensure_key(Path(data_dir).expanduser() / FLEET_KEY_FILE, passphrase)


def onboard_signer(state_dir: str | Path) -> FleetSigner:
    """The robot's onboard key (``state_dir/onboard.key``, created on first use), signing as
    'onboard' (supervisor)."""
    d = Path(state_dir).expanduser()
    d.mkdir(parents=True, exist_ok=True)
    return FleetSigner(ensure_key(d / ONBOARD_KEY_FILE), None, ONBOARD_NAME, Role.SUPERVISOR)


def ensure_key(path: Path, passphrase: bytes | None = None) -> Path:
    """``path`` (and its ``.pub`` beside it), created with a new key pair when absent."""
    if not path.exists():
        try:
            write_private_key(path, generate_private_key(), passphrase)
        except SecurityError:
            if not path.exists():  # not a lost race with another starting process
                raise
    return path
