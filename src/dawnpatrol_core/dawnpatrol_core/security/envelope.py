"""Signed command envelopes: who (operator, role) asks what (command, target, SHA-256 of the
canonical arguments), when (issued-at, expiry <= 30 s) and once (nonce), signed with Ed25519
over a canonical byte encoding; and their verification into a typed :class:`Verdict`.

Times are wall-clock seconds (Unix time) passed in by the caller — never a simulated ROS clock,
which the operator's laptop does not share.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dawnpatrol_core.errors import SecurityError
from dawnpatrol_core.security.keys import SIGNATURE_BYTES, key_id, public_bytes, verify_signature
from dawnpatrol_core.security.registry import OperatorRegistry, check_name
from dawnpatrol_core.security.replay import ReplayGuard
from dawnpatrol_core.security.roles import Command, Role, parse_command, parse_role, required_role

#: Longest lifetime (expiry - issued-at) an envelope may have, s.
MAX_LIFETIME_S = 30.0
#: Lifetime the signing helpers give by default, s: enough for a slow mobile link.
DEFAULT_LIFETIME_S = 10.0
#: Clock difference tolerated between signer and verifier for "not yet valid", s.
DEFAULT_SKEW_S = 2.0
NONCE_BYTES = 16
#: Longest envelope text accepted before parsing (a real one is about 330 characters).
MAX_TEXT = 1024
_VERSION = 1
_DOMAIN = b"DawnPatrol command envelope v1\x00"
_TARGET = re.compile(r"\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_MS = 2**53  # integers JSON readers everywhere keep exactly

#: The request fields each command's signature covers (see :func:`signed_args`). The fleet and
#: the CLI both build the arguments from the service request with this table.
COMMAND_FIELDS: MappingProxyType[Command, tuple[str, ...]] = MappingProxyType({
    Command.GET_STATUS: (),
    Command.QUERY_ANOMALIES: ("since_s", "kind", "unacknowledged_only"),
    Command.GENERATE_REPORT: ("out_dir", "shift"),
    Command.DISPATCH_ORDERS: ("orders_text", "format", "source_name", "dry_run"),
    Command.SET_PATROL: ("active", "robot_id"),
    Command.ACK_ANOMALY: ("uuid", "note"),
    Command.MISSION: ("robot_id", "goal_sha256"),
    Command.CANCEL_MISSION: ("robot_id", "mission_id"),
    Command.SUBMIT_PIN: ("order_id", "pin"),
    # SetEStop serves both: engage true = e-stop, false = resume; operator_name is the
    # supervisor a fleet-signed resume was authorized by.
    Command.RESUME: ("robot_id", "engage", "reason", "operator_name"),
    Command.CLOSE_EDGES: ("edges",),
    Command.INVESTIGATE: ("x", "y", "note"),
    Command.REGISTRY_ADD: ("name", "role", "public_key"),
    Command.REGISTRY_REVOKE: ("name",),
    Command.ESTOP: ("robot_id", "engage", "reason", "operator_name"),
})


def signed_args(command: Command, fields: Mapping[str, object]) -> dict[str, object]:
    """The arguments of ``command`` covered by its signature: the :data:`COMMAND_FIELDS` of
    ``fields`` (e.g. a service request's fields). Fields absent from ``fields`` are left out,
    so signer and verifier only agree if they saw the same ones."""
    return {k: fields[k] for k in COMMAND_FIELDS[command] if k in fields}


def canonical_args(args: Mapping[str, object]) -> bytes:
    """Canonical bytes of JSON-able ``args``: sorted keys, no spaces, UTF-8, no NaN."""
    try:
        text = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SecurityError(f"command arguments: got {str(exc)[:80]}, expected JSON values "
                            "(str, finite numbers, bool, None, lists, string-keyed objects)"
                            ) from None
    return text.encode("utf-8", errors="surrogatepass")


def args_digest(args: Mapping[str, object]) -> bytes:
    """SHA-256 (32 bytes) of :func:`canonical_args`."""
    return hashlib.sha256(canonical_args(args)).digest()


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


@dataclass(frozen=True, slots=True)
class CommandEnvelope:
    """One signed command. Times are integer milliseconds of Unix time; ``args_sha256`` is the
    32-byte digest of the canonical arguments; ``signature`` 64 bytes of Ed25519."""

    operator: str
    role: Role
    target: str
    command: Command
    args_sha256: bytes
    issued_at_ms: int
    expires_at_ms: int
    nonce: bytes
    signature: bytes = b""

    @property
    def issued_at(self) -> float:
        """Issue time, s (Unix time)."""
        return self.issued_at_ms / 1000.0

    @property
    def expires_at(self) -> float:
        """Expiry time, s (Unix time)."""
        return self.expires_at_ms / 1000.0

    def signed_bytes(self) -> bytes:
        """The canonical byte encoding the signature covers: a domain tag, then every field
        length-prefixed (strings UTF-8) or fixed-width big-endian (times)."""
        return b"".join((
            _DOMAIN,
            _field(self.operator.encode()),
            _field(self.role.label.encode()),
            _field(self.target.encode()),
            _field(self.command.value.encode()),
            _field(self.args_sha256),
            struct.pack(">qq", self.issued_at_ms, self.expires_at_ms),
            _field(self.nonce),
        ))


def new_nonce() -> bytes:
    """16 random bytes from the operating system, for one envelope (callers at the edge)."""
    return secrets.token_bytes(NONCE_BYTES)


class Signer:
    """Signs commands as ``name`` with ``role`` — an operator's key in the CLI, or the fleet's
    key (name 'fleet') for the commands the fleet sends to robots."""

    def __init__(self, name: str, role: Role, key: Ed25519PrivateKey) -> None:
        self.name = check_name(name)
        self.role = role
        self._key = key
        self.public_key = public_bytes(key)
        self.key_id = key_id(self.public_key)

    def sign(self, command: Command | str, target: str, args: Mapping[str, object], now: float,
             nonce: bytes, lifetime_s: float = DEFAULT_LIFETIME_S) -> CommandEnvelope:
        """An envelope for ``command`` on ``target`` (robot id, '*' or 'fleet') with ``args``,
        issued at ``now`` (s, Unix time), valid ``lifetime_s`` (0 < s <= 30)."""
        cmd = parse_command(command)
        if not 0.0 < lifetime_s <= MAX_LIFETIME_S:
            raise SecurityError(f"lifetime_s: got {lifetime_s!r}, expected 0 < s <= "
                                f"{MAX_LIFETIME_S:g}")
        if not math.isfinite(now) or not 0 <= now * 1000.0 < _MAX_MS:
            raise SecurityError(f"now: got {now!r}, expected a Unix time in seconds")
        if not _TARGET.fullmatch(target):
            raise SecurityError(f"target: got {target[:40]!r}, expected a robot id, '*' or "
                                "'fleet'")
        iat = int(math.floor(now * 1000.0))
        env = CommandEnvelope(self.name, self.role, target, cmd, args_digest(args), iat,
                              iat + int(round(lifetime_s * 1000.0)), bytes(nonce))
        return _with_signature(env, self._key.sign(env.signed_bytes()))


def _with_signature(env: CommandEnvelope, sig: bytes) -> CommandEnvelope:
    return CommandEnvelope(env.operator, env.role, env.target, env.command, env.args_sha256,
                           env.issued_at_ms, env.expires_at_ms, env.nonce, sig)


# -- text form ------------------------------------------------------------------------------------
_KEYS = ("v", "op", "role", "target", "cmd", "args", "iat", "exp", "nonce", "sig")


def envelope_to_text(env: CommandEnvelope) -> str:
    """Compact one-line JSON of ``env`` (what travels in a request's ``envelope`` field)."""
    return json.dumps({
        "v": _VERSION, "op": env.operator, "role": env.role.label, "target": env.target,
        "cmd": env.command.value, "args": env.args_sha256.hex(), "iat": env.issued_at_ms,
        "exp": env.expires_at_ms, "nonce": base64.b64encode(env.nonce).decode("ascii"),
        "sig": base64.b64encode(env.signature).decode("ascii"),
    }, separators=(",", ":"))


def envelope_from_text(text: object, source: str = "envelope") -> CommandEnvelope:
    """Parse :func:`envelope_to_text`'s form strictly; SecurityError (one line) otherwise."""
    if not isinstance(text, str):
        raise SecurityError(f"{source}: got {type(text).__name__}, expected envelope text")
    if len(text) > MAX_TEXT:
        raise SecurityError(f"{source}: got {len(text)} characters, expected at most {MAX_TEXT}")
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise SecurityError(f"{source}: got invalid JSON ({str(exc).splitlines()[0][:60]}), "
                            "expected an envelope object") from None
    if not isinstance(doc, dict) or set(doc) != set(_KEYS):
        got = sorted(doc)[:12] if isinstance(doc, dict) else type(doc).__name__
        raise SecurityError(f"{source}: field 'keys': got {got!r}, expected {list(_KEYS)}")
    if doc["v"] != _VERSION or isinstance(doc["v"], bool):
        raise SecurityError(f"{source}: field 'v': got {doc['v']!r:.20}, expected {_VERSION}")
    op = check_name(doc["op"], f"{source}: field 'op'")
    role = parse_role(doc["role"], f"{source}: field 'role'")
    target = doc["target"]
    if not isinstance(target, str) or not _TARGET.fullmatch(target):
        raise SecurityError(f"{source}: field 'target': got {str(target)[:40]!r}, expected a "
                            "robot id, '*' or 'fleet'")
    cmd = parse_command(doc["cmd"], f"{source}: field 'cmd'")
    digest = doc["args"]
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise SecurityError(f"{source}: field 'args': got {str(digest)[:70]!r}, expected 64 "
                            "lower-case hex digits (SHA-256)")
    times = []
    for k in ("iat", "exp"):
        v = doc[k]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < _MAX_MS:
            raise SecurityError(f"{source}: field '{k}': got {str(v)[:30]!r}, expected "
                                "milliseconds of Unix time")
        times.append(v)
    nonce = _b64(doc["nonce"], source, "nonce", NONCE_BYTES, 64)
    sig = _b64(doc["sig"], source, "sig", SIGNATURE_BYTES, SIGNATURE_BYTES)
    return CommandEnvelope(op, role, target, cmd, bytes.fromhex(digest), times[0], times[1],
                           nonce, sig)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _b64(v: object, source: str, name: str, lo: int, hi: int) -> bytes:
    want = f"base64 of {lo} bytes" if lo == hi else f"base64 of {lo}..{hi} bytes"
    if not isinstance(v, str) or len(v) > 4 * hi:
        raise SecurityError(f"{source}: field '{name}': got {str(v)[:40]!r}, expected {want}")
    try:
        raw = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise SecurityError(f"{source}: field '{name}': got {v[:40]!r}, expected {want}"
                            ) from None
    if not lo <= len(raw) <= hi:
        raise SecurityError(f"{source}: field '{name}': got {len(raw)} bytes, expected {want}")
    if base64.b64encode(raw).decode("ascii") != v:  # one text per envelope: no spare bits set
        raise SecurityError(f"{source}: field '{name}': got {v[:40]!r}, expected canonical "
                            f"{want}")
    return raw


# -- verification ---------------------------------------------------------------------------------
class VerdictStatus(StrEnum):
    """Outcome of :func:`verify_command`; only OK lets a command act."""

    OK = "ok"
    UNSIGNED = "unsigned"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_OPERATOR = "unknown_operator"  # not registered, or its key was revoked
    INSUFFICIENT_ROLE = "insufficient_role"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REPLAYED = "replayed"
    ARGS_MISMATCH = "args_mismatch"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verification outcome: ``status``, a one-line ``reason`` for people (never parse it),
    and who the envelope claimed to be (``operator`` '' when unsigned or unreadable; ``role``
    the registered role when verified)."""

    status: VerdictStatus
    reason: str
    command: str
    operator: str = ""
    role: Role | None = None
    envelope: CommandEnvelope | None = None

    @property
    def ok(self) -> bool:
        return self.status is VerdictStatus.OK

    @property
    def identity(self) -> str:
        """Who acted, for the audit log: ``choi (supervisor)`` when verified, else what was
        claimed and why it does not count, e.g. ``unverified 'choi' (expired)``."""
        if self.ok and self.role is not None:
            return f"{self.operator} ({self.role.label})"
        if not self.operator:
            return f"unverified ({self.status.value})"
        return f"unverified {self.operator!r} ({self.status.value})"


def verify_command(
    envelope: CommandEnvelope | str | None,
    *,
    command: Command | str,
    target: str,
    args: Mapping[str, object],
    registry: OperatorRegistry,
    now: float,
    replay: ReplayGuard | None = None,
    max_skew_s: float = DEFAULT_SKEW_S,
    consume: bool = True,
) -> Verdict:
    """Check that ``envelope`` (object, text or None/'' for none) authorizes ``command`` on
    ``target`` with ``args`` at ``now`` (s, Unix time): a registered, unrevoked operator's
    valid signature, the same command, target and argument digest, a lifetime <= 30 s that
    covers ``now`` (issue time up to ``max_skew_s`` ahead is tolerated), a role allowed the
    command, and — when ``replay`` is given and ``consume`` — a nonce never used before (it is
    then recorded). Never raises for a hostile envelope; raises SecurityError only for a bad
    ``command`` or unencodable ``args`` from the caller."""
    cmd = parse_command(command)
    digest = args_digest(args)
    shown = target if _TARGET.fullmatch(target) else repr(target[:40])  # one line, always

    def verdict(status: VerdictStatus, why: str, operator: str = "",
                env: CommandEnvelope | None = None) -> Verdict:
        who = f" (operator {operator})" if operator else ""
        return Verdict(status, f"refused {cmd.value} on {shown}: {why}{who}", cmd.value,
                       operator, None, env)

    if not _TARGET.fullmatch(target):  # no envelope can name it
        return verdict(VerdictStatus.MALFORMED, "target: expected a robot id, '*' or 'fleet'")
    if envelope is None or envelope == "":
        return verdict(VerdictStatus.UNSIGNED, "no signed envelope")
    if isinstance(envelope, CommandEnvelope):
        env = envelope
    else:
        try:
            env = envelope_from_text(envelope)
        except SecurityError as exc:
            return verdict(VerdictStatus.MALFORMED, f"unreadable envelope: {exc}")
    name = env.operator
    op = registry.get(name)
    if op is None:
        return verdict(VerdictStatus.UNKNOWN_OPERATOR, "operator not registered", name, env)
    if not op.active:
        return verdict(VerdictStatus.UNKNOWN_OPERATOR,
                       f"key {op.key_id} revoked at {op.revoked_at:.0f}", name, env)
    if not verify_signature(op.public_key, env.signature, env.signed_bytes()):
        return verdict(VerdictStatus.BAD_SIGNATURE,
                       f"signature does not match key {op.key_id}", name, env)
    if env.command is not cmd or env.target != target:
        return verdict(VerdictStatus.ARGS_MISMATCH,
                       f"envelope is for {env.command.value} on {env.target}", name, env)
    if env.args_sha256 != digest:
        return verdict(VerdictStatus.ARGS_MISMATCH,
                       "arguments differ from the signed ones", name, env)
    lifetime = (env.expires_at_ms - env.issued_at_ms) / 1000.0
    if not 0.0 < lifetime <= MAX_LIFETIME_S:
        return verdict(VerdictStatus.MALFORMED, f"lifetime {lifetime:g} s, expected 0 < s <= "
                       f"{MAX_LIFETIME_S:g}", name, env)
    if env.issued_at > now + max_skew_s:
        return verdict(VerdictStatus.NOT_YET_VALID,
                       f"issued {env.issued_at - now:.1f} s in the future (clocks apart?)",
                       name, env)
    if now > env.expires_at:
        return verdict(VerdictStatus.EXPIRED, f"expired {now - env.expires_at:.1f} s ago",
                       name, env)
    role = min(op.role, env.role)
    if env.role > op.role:
        return verdict(VerdictStatus.INSUFFICIENT_ROLE, f"claims {env.role.label}, registered "
                       f"as {op.role.label}", name, env)
    need = required_role(cmd)
    if role < need:
        return verdict(VerdictStatus.INSUFFICIENT_ROLE,
                       f"{role.label} may not; needs {need.label}", name, env)
    if replay is not None:
        fresh = (replay.consume(op.key_id, env.nonce, env.expires_at, now) if consume
                 else not replay.seen(op.key_id, env.nonce))
        if not fresh:
            return verdict(VerdictStatus.REPLAYED, "envelope used before (replay)", name, env)
    return Verdict(VerdictStatus.OK,
                   f"{cmd.value} on {target} by {name} ({role.label}, key {op.key_id})",
                   cmd.value, name, role, env)


def identify_estop(
    envelope: CommandEnvelope | str | None,
    *,
    target: str,
    args: Mapping[str, object],
    registry: OperatorRegistry,
    now: float,
) -> Verdict:
    """Who asked for an e-stop, for the record only. Call it *after* the robot has stopped:
    an e-stop is never refused, whatever this says. It consumes no nonce and touches no disk
    (a replayed e-stop only stops a robot again); it never raises."""
    try:
        return verify_command(envelope, command=Command.ESTOP, target=target, args=args,
                              registry=registry, now=now, replay=None, consume=False)
    except SecurityError as exc:  # unencodable args from the caller: still only a record
        return Verdict(VerdictStatus.MALFORMED, f"e-stop identity unknown: {exc}",
                       Command.ESTOP.value)
