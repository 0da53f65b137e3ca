"""Signed commands on the ROS graph (docs/security.md): the request fields a signature covers,
the digest of a mission goal, and the robots' lazily opened gate. The verifying itself is
``dawnpatrol_core.security`` (pure); this module only turns messages into its inputs.

Envelope times are wall-clock seconds (``time.time()``), never the simulated ROS clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import struct
import time
from pathlib import Path
from typing import Any

from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.security.audited import identity as identity  # re-exported
from dawnpatrol_core.security.envelope import Verdict, VerdictStatus
from dawnpatrol_core.security.gate import CommandGate, onboard_gate, robot_gate
from dawnpatrol_core.security.roles import Command


def message_fields(msg: Any) -> dict[str, object]:
    """A message's fields as JSON values (arrays as lists), without its ``envelope``: what
    :func:`dawnpatrol_core.security.envelope.signed_args` picks the signed fields from."""
    out: dict[str, object] = {}
    for name in msg.get_fields_and_field_types():
        if name == "envelope":
            continue
        v = getattr(msg, name)
        if isinstance(v, str | bool | int | float):
            out[name] = v
        elif hasattr(v, "__iter__") and not hasattr(v, "get_fields_and_field_types"):
            items = list(v)
            if all(isinstance(i, str | bool | int | float) for i in items):
                out[name] = [i.item() if hasattr(i, "item") else i for i in items]
    return out


_ELEMENT = re.compile(r"sequence<([^,>]+)(?:,\s*\d+)?>|([^\[]+)\[\d*\]")
_F32 = struct.Struct("<f")


def _element_type(typ: str) -> str:
    m = _ELEMENT.fullmatch(typ)
    return (m.group(1) or m.group(2)) if m else typ


_FIELDS: dict[type, tuple[tuple[str, str], ...] | None] = {}


def _fields_of(cls: type) -> tuple[tuple[str, str], ...] | None:
    """(field name, element type) of a message class, once per class; None for other types."""
    if cls not in _FIELDS:
        get = getattr(cls, "get_fields_and_field_types", None)
        _FIELDS[cls] = (None if get is None else
                        tuple((name, _element_type(typ)) for name, typ in get().items()))
    return _FIELDS[cls]


def _canonical(value: Any, typ: str) -> Any:
    """JSON-able canonical form of a message field: a message as the list of its fields in
    the order its definition gives (both ends share it), float32 fields at their float32 value
    (what the receiver reads), floats as floats (JSON writes their shortest repr; NaN and
    infinities too), bytes as hex."""
    kind = type(value)
    if kind is float:
        return _F32.unpack(_F32.pack(value))[0] if typ == "float" else value
    if kind is str or kind is int or kind is bool:
        return value
    fields = _fields_of(kind)
    if fields is not None:
        return [_canonical(getattr(value, name), t) for name, t in fields]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, float):  # a subclass, e.g. numpy.float64
        return _canonical(float(value), typ)
    if isinstance(value, str | int):
        return value
    return [_canonical(v.item() if hasattr(v, "item") else v, typ) for v in value]


_INTS = frozenset(("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"))
_STRINGS = frozenset(("string", "wstring"))


def _f32(value: float) -> float:
    return float(_F32.unpack(_F32.pack(value))[0])


_ENCODERS: dict[type, Any] = {}


def _encoder(cls: type) -> Any:
    """A function giving a message of ``cls`` in :func:`_canonical`'s form, generated once per
    class: one expression per field, nested messages through their own encoders. A mission goal
    of 30 tasks is about 400 fields: walking them generically cost 0.49 ms, this 0.14 ms
    (``test/bench/bench_security.py``). Field types it does not know go through ``_canonical``."""
    enc = _ENCODERS.get(cls)
    if enc is not None:
        return enc
    fields = _fields_of(cls)
    assert fields is not None
    spaces: dict[str, Any] = {"_f32": _f32, "_canonical": _canonical}
    parts = []
    slots = set(getattr(cls, "__slots__", ()))
    for k, (name, typ) in enumerate(fields):
        # rosidl's Python classes keep each field in slot ``_<name>`` behind a property: the
        # slot is read a third of the time (0.083 -> 0.025 ms for 30 tasks); the property where
        # a class has no such slot
        get = f"m._{name}" if f"_{name}" in slots else f"m.{name}"
        seq = _ELEMENT.fullmatch(_type_of(cls, name)) is not None
        if typ in _STRINGS or typ in _INTS or typ == "boolean":
            one = "v" if typ in _STRINGS else "bool(v)" if typ == "boolean" else "int(v)"
            parts.append(f"[{one} for v in {get}]" if seq else get)
            continue
        if typ == "double":
            parts.append(f"[float(v) for v in {get}]" if seq else get)
            continue
        if typ == "float":
            parts.append(f"[_f32(v) for v in {get}]" if seq else f"_f32({get})")
            continue
        sub = _message_class(cls, name)
        if sub is not None:
            spaces[f"_e{k}"] = _encoder(sub)
            parts.append(f"[_e{k}(v) for v in {get}]" if seq else f"_e{k}({get})")
            continue
        parts.append(f"_canonical({get}, {_type_of(cls, name)!r})")
    source = "def encode(m):\n    return [" + ", ".join(parts) + "]\n"
    exec(source, spaces)  # noqa: S102 - generated from the message definition's field names
    enc = _ENCODERS[cls] = spaces["encode"]
    return enc


def _type_of(cls: type, name: str) -> str:
    return str(cls.get_fields_and_field_types()[name])  # type: ignore[attr-defined]


def _message_class(cls: type, name: str) -> type | None:
    """The message class of field ``name`` (an element's class for a sequence), or None."""
    slot_types = getattr(cls, "SLOT_TYPES", None)
    fields = list(cls.get_fields_and_field_types())  # type: ignore[attr-defined]
    if slot_types is None or name not in fields:
        return None
    st = slot_types[fields.index(name)]
    st = getattr(st, "value_type", st)  # sequences and arrays: their element
    names = getattr(st, "namespaces", None)
    if names is None or not hasattr(st, "name"):
        return None
    module = __import__(".".join(names), fromlist=[st.name])
    found = getattr(module, st.name, None)
    return found if isinstance(found, type) else None


def goal_digest(goal: Any) -> str:
    """Hex SHA-256 of a Mission goal's canonical form with its envelope left out: what the
    fleet's MISSION signature covers (every task, pose and stop). Not the serialized bytes:
    CDR leaves its alignment padding unset, so the same goal serializes differently."""
    canon = _encoder(type(goal))(goal)
    names = [name for name, _ in _fields_of(type(goal)) or ()]
    del canon[names.index("envelope")]
    text = json.dumps(canon, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def mission_fields(robot_id: str, goal: Any) -> dict[str, object]:
    """The signed fields of a mission goal to ``robot_id``."""
    return {"robot_id": robot_id, "goal_sha256": goal_digest(goal)}


class RobotGate:
    """A robot's gate, opened on first use: the fleet's public key file may appear after the
    robot starts (the fleet manager writes it on its first start). Until it can be read, every
    signed command is refused, naming the file; e-stops never need it. ``onboard``: the gate
    for the robot's own nodes' commands, trusting its onboard key (``onboard.pub`` in
    ``state_dir``, written by the node that signs)."""

    def __init__(self, fleet_public_key: str, state_dir: str | Path,
                 onboard: bool = False) -> None:
        self.fleet_public_key = str(fleet_public_key)
        self.state_dir = Path(state_dir).expanduser()
        self.onboard = onboard  # trust the robot's onboard key instead (its own nodes)
        self._gate: CommandGate | None = None

    def _open(self) -> CommandGate | str:
        if self._gate is None:
            if not self.fleet_public_key and not self.onboard:
                return "no fleet public key configured (parameter 'fleet_public_key' is '')"
            try:
                self._gate = (onboard_gate(self.state_dir) if self.onboard else
                              robot_gate(Path(self.fleet_public_key).expanduser(),
                                         self.state_dir))
            except (DawnPatrolError, OSError) as exc:
                return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return self._gate

    def check(self, command: Command, target: str, fields: dict[str, object],
              envelope: str, consume: bool = True) -> Verdict:
        """The verdict on a fleet command (refused, naming why, while the key is unreadable)."""
        gate = self._open()
        if isinstance(gate, str):
            return Verdict(VerdictStatus.UNKNOWN_OPERATOR,
                           f"refused {command.value} on {target}: {gate}", command.value)
        return gate.check(command, target, fields, envelope, time.time(), consume=consume)

    def identify_estop(self, target: str, fields: dict[str, object], envelope: str) -> str:
        """Who an e-stop came from, for the record (after stopping; never raises)."""
        claimed = str(fields.get("operator_name", ""))
        gate = self._open()
        if isinstance(gate, str):
            return f"unverified {claimed[:64]!r} (no fleet key)"
        return identity(gate.identify_estop(target, fields, envelope, time.time()), claimed)

    def close(self) -> None:
        if self._gate is not None:
            gate, self._gate = self._gate, None
            # opened by another thread (in-process tests): every change is committed already,
            # the connection goes with the gate
            with contextlib.suppress(sqlite3.ProgrammingError):
                gate.close()
