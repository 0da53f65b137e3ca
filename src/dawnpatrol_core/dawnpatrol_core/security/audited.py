"""Verify, act, record: the one path every operator command takes. An :class:`AuditedGate`
checks a request's envelope with a :class:`~dawnpatrol_core.security.gate.CommandGate`, lets
the caller act only on an OK verdict, and records every outcome — refused, failed or done,
reads included — in an :class:`AuditSink` (the fleet's chained audit log)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.security.envelope import Verdict, VerdictStatus
from dawnpatrol_core.security.roles import Command


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """One operator request as the gate sees it: ``command`` on ``target``, the request's
    ``fields`` (the signed ones are picked by the command's field table), its ``envelope``
    text, the ``args`` the audit log records, the ``operator_name`` it claims (for the record
    when it is not signed) and whether it is a ``read`` (status, anomaly query)."""

    command: Command
    target: str
    fields: Mapping[str, object]
    envelope: str
    args: Mapping[str, object] = field(default_factory=dict)
    claimed: str = ""
    read: bool = False


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What the audit log keeps of one request: who (``operator`` as claimed, ``identity`` as
    far as verified), what, the outcome (``ok``: carried out; ``refused``: stopped by the
    gate), and when — ``wall`` s of Unix time (the chain) and ``now`` s of the fleet's clock
    (the shift report)."""

    operator: str
    identity: str
    command: str
    target: str
    args: Mapping[str, object]
    ok: bool
    refused: bool
    result: str
    read: bool
    wall: float
    now: float

    def line(self) -> str:
        """One line for the node's log."""
        verdict = "ok" if self.ok else "REFUSED" if self.refused else "FAILED"
        target = self.target if self.target.isprintable() else repr(self.target[:40])
        return (f"audit: {self.identity} {self.command} {target} {dict(self.args)} -> "
                f"{verdict}: {self.result}")


class AuditSink(Protocol):
    """Where audit records go (the chained log, the fleet store, a test's list)."""

    def record(self, entry: AuditRecord) -> None: ...


class Checker(Protocol):
    """The verifying side (:class:`~dawnpatrol_core.security.gate.CommandGate`)."""

    def check(self, command: Command | str, target: str, fields: Mapping[str, object],
              envelope: str | None, now: float, consume: bool = True) -> Verdict: ...

    def identify_estop(self, target: str, fields: Mapping[str, object],
                       envelope: str | None, now: float) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What acting on an accepted request came to: ``ok`` and one line for people."""

    ok: bool
    message: str


def identity(verdict: Verdict, claimed: str) -> str:
    """Who a command came from, for the record: the verified ``name (role)``, else what it
    claimed — the envelope's operator, or for an unsigned one the request's ``operator_name``
    — as unverified, with why: ``unverified 'kim' (unsigned)``."""
    if verdict.operator or verdict.ok or not claimed:
        return verdict.identity
    return f"unverified {claimed[:64]!r} ({verdict.status.value})"


class AuditedGate:
    """A :class:`Checker` and an :class:`AuditSink`: requests in, verdicts out, every outcome
    recorded. Times are passed in: ``wall`` (Unix s, what envelopes are checked against) and
    ``now`` (the fleet's clock, s)."""

    def __init__(self, checker: Checker, sink: AuditSink) -> None:
        self.checker = checker
        self.sink = sink

    def admit(self, req: CommandRequest, wall: float, now: float) -> Verdict:
        """The verdict on ``req``; a refusal is recorded at once (the caller only answers).
        A read spends no nonce: a replayed read changes nothing, and a dashboard polling at
        10 Hz would otherwise fill the replay window."""
        try:
            v = self.checker.check(req.command, req.target, req.fields, req.envelope, wall,
                                   consume=not req.read)
        except DawnPatrolError as exc:  # arguments no envelope can sign (NaN, ...)
            shown = req.target if req.target.isprintable() else repr(req.target[:40])
            v = Verdict(VerdictStatus.MALFORMED, f"refused {req.command.value} on "
                        f"{shown}: {str(exc).splitlines()[0]}", req.command.value)
        if not v.ok:
            self.record(v, req, False, v.reason, wall, now)
        return v

    def record(self, v: Verdict, req: CommandRequest, ok: bool, result: str, wall: float,
               now: float) -> None:
        """Record ``req``'s outcome under verdict ``v``."""
        self.sink.record(AuditRecord(
            v.operator or req.claimed or "unknown", identity(v, req.claimed), v.command,
            req.target, req.args, ok, not v.ok, result, req.read, wall, now))

    def run(self, req: CommandRequest, act: Callable[[Verdict], Outcome], wall: float,
            now: float) -> Outcome:
        """Admit ``req``; when accepted, ``act`` on it and record what it came to. A refusal
        comes back as ``Outcome(False, reason)`` and ``act`` is never called."""
        v = self.admit(req, wall, now)
        if not v.ok:
            return Outcome(False, v.reason)
        out = act(v)
        self.record(v, req, out.ok, out.message, wall, now)
        return out

    def identify_estop(self, req: CommandRequest, wall: float) -> Verdict:
        """Who sent an e-stop — call after it went out; never refuses, never raises."""
        return self.checker.identify_estop(req.target, req.fields, req.envelope, wall)
