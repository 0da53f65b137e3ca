"""The fleet's operator services without ROS: each request is verified and recorded by the
:class:`~dawnpatrol_core.security.audited.AuditedGate`, and only an accepted one reaches the
coordinator, the anomaly inbox or the report writer. The fleet manager node converts messages
to the request fields (``message_fields``) and the replies back; tests call these directly.

Times: ``wall`` s of Unix time (envelopes, the audit chain), ``now`` s of the fleet's clock.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from dawnpatrol_core.anomaly.events import AnomalyEvent
from dawnpatrol_core.errors import AnomalyError, DawnPatrolError
from dawnpatrol_core.fleet import commands as cmd
from dawnpatrol_core.fleet import events as ev
from dawnpatrol_core.fleet.calls import lookout, needs_a_look
from dawnpatrol_core.fleet.coordinator import FleetCoordinator
from dawnpatrol_core.fleet.plans import plan_to_json
from dawnpatrol_core.fleet.registry import Connection, RobotStatusReport
from dawnpatrol_core.security.audited import (
    AuditedGate,
    AuditRecord,
    CommandRequest,
    Outcome,
    identity,
)
from dawnpatrol_core.security.envelope import Verdict
from dawnpatrol_core.security.roles import FLEET_TARGET, Command
from dawnpatrol_core.store.audit_chain import AuditChain
from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.inbox import Inbox, InboxRecord, InboxResult


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's answer: ``success`` and one line (a refusal names why)."""

    success: bool
    message: str


@dataclass(frozen=True, slots=True)
class DispatchReply:
    success: bool
    message: str
    problems: tuple[str, ...] = ()
    plan_json: str = ""


@dataclass(frozen=True, slots=True)
class CallReply:
    """The answer to an operator's call: who goes (``robot_id``, '' when the call is queued),
    on scene in ``eta_s`` s (NaN: queued), watching from (``watch_x``, ``watch_y``) m."""

    success: bool
    message: str
    robot_id: str = ""
    eta_s: float = math.nan
    watch_x: float = math.nan
    watch_y: float = math.nan


@dataclass(frozen=True, slots=True)
class QueryReply:
    """Incidents answering an anomaly query; ``refused`` '' when answered."""

    refused: str
    incidents: tuple[InboxRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusReply:
    """The fleet's status; ``refused`` '' when answered."""

    refused: str
    robots: tuple[tuple[RobotStatusReport, Connection], ...] = ()
    summary_json: str = ""


@dataclass(frozen=True, slots=True)
class ReportReply:
    success: bool
    message: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AnomalyReceived:
    """What a robot's anomaly report comes to: the incident's alert to publish (None for a
    duplicate) and the events for the coordinator (closed sidewalks, a look to take)."""

    alert: AnomalyEvent | None
    events: tuple[ev.Event, ...] = ()


def _text(fields: Mapping[str, object], name: str) -> str:
    v = fields.get(name, "")
    return v if isinstance(v, str) else ""


def _flag(fields: Mapping[str, object], name: str) -> bool:
    return fields.get(name) is True


def _number(fields: Mapping[str, object], name: str) -> float:
    v = fields.get(name, 0.0)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


#: Longest operator's note on a call (characters): one line in the log and the audit record.
MAX_NOTE = 200


class AuditTrail:
    """The fleet's audit sink: every record in the chained log (wall-clock time); commands
    (not reads) also in the fleet store for the shift report; a line in the node's log."""

    def __init__(self, chain: AuditChain, store: FleetStore, log: Callable[[str], None],
                 error: Callable[[str], None]) -> None:
        self.chain, self.store, self.log, self.error = chain, store, log, error

    def record(self, e: AuditRecord) -> None:
        try:
            self.chain.append(e.operator, e.command, e.args, e.ok, e.result, e.wall, e.identity,
                              e.target)
        except (DawnPatrolError, ValueError) as exc:
            self.error(f"audit log: {str(exc).splitlines()[0]}")
        if not e.read:
            self.store.audit(e.identity, e.command, dict(e.args), e.ok, e.result, e.now)
        self.log(e.line())


class FleetServices:
    """The operator services (dispatch, patrol, investigate, e-stop bookkeeping, anomalies,
    status, reports) behind one audited gate. ``feed`` hands an event to the coordinator and
    carries out its commands (the node's), returning every command given; ``write_reports``
    writes the shift reports into a folder for a shift label and returns the files; ``warn``
    logs a failure nobody else hears of (a report that could not be written)."""

    def __init__(self, gate: AuditedGate, coord: FleetCoordinator, inbox: Inbox,
                 store: FleetStore, feed: Callable[[ev.Event], list[cmd.Command]],
                 write_reports: Callable[[str, str], Sequence[Path]], map_dir: str,
                 warn: Callable[[str], None] = lambda _: None) -> None:
        self.gate, self.coord, self.inbox, self.store = gate, coord, inbox, store
        self.feed, self.write_reports, self.map_dir = feed, write_reports, map_dir
        self.warn = warn

    def dispatch(self, f: Mapping[str, object], envelope: str, wall: float,
                 now: float) -> DispatchReply:
        """Plan and send a batch of orders (accepted whole or rejected whole)."""
        req = CommandRequest(Command.DISPATCH_ORDERS, FLEET_TARGET, f, envelope,
                             {"source": _text(f, "source_name"), "dry_run": _flag(f, "dry_run")},
                             _text(f, "operator_name"))
        answers: list[cmd.DispatchAnswered] = []

        def act(v: Verdict) -> Outcome:
            event = ev.DispatchRequested(_text(f, "orders_text"), _text(f, "format"),
                                         _text(f, "source_name"), _flag(f, "dry_run"), v.operator)
            answers.extend(c for c in self.feed(event) if isinstance(c, cmd.DispatchAnswered))
            return Outcome(answers[0].success, answers[0].message)

        out = self.gate.run(req, act, wall, now)
        if not answers:
            return DispatchReply(False, out.message)
        a = answers[0]
        plan = ("" if a.plan is None else
                json.dumps(plan_to_json(a.plan, a.orders, self.map_dir)))
        return DispatchReply(a.success, a.message, tuple(a.problems), plan)

    def set_patrol(self, f: Mapping[str, object], envelope: str, wall: float,
                   now: float) -> Reply:
        """Start or stop patrolling on one robot (or '' = all)."""
        rid = _text(f, "robot_id")
        target = rid or "*"
        req = CommandRequest(Command.SET_PATROL, target, f, envelope,
                             {"active": _flag(f, "active"), "robot_id": target},
                             _text(f, "operator_name"))

        def act(_: Verdict) -> Outcome:
            a = next(c for c in self.feed(ev.PatrolRequested(rid, _flag(f, "active")))
                     if isinstance(c, cmd.PatrolAnswered))
            return Outcome(a.success, a.message)

        out = self.gate.run(req, act, wall, now)
        return Reply(out.ok, out.message)

    def investigate(self, f: Mapping[str, object], envelope: str, wall: float,
                    now: float) -> CallReply:
        """An operator's call (``note``: their words, e.g. what a resident reported): the robot
        that can be there first goes to look; the reply names it, its ETA and where it watches
        from, or says the call is queued. A place off the map is refused and changes nothing."""
        x, y, note = _number(f, "x"), _number(f, "y"), _text(f, "note")
        req = CommandRequest(Command.INVESTIGATE, FLEET_TARGET, f, envelope,
                             {"x": x, "y": y, "note": note}, _text(f, "operator_name"))
        answers: list[cmd.InvestigateAnswered] = []

        def act(v: Verdict) -> Outcome:
            bad = self._bad_call(x, y, note)
            if bad:
                return Outcome(False, bad)
            source = f"call from {v.operator}" + (f": {note}" if note else "")
            answers.extend(c for c in self.feed(ev.InvestigateRequested(x, y, source))
                           if isinstance(c, cmd.InvestigateAnswered))
            if not answers:  # the coordinator always answers; a fleet without one says so
                return Outcome(False, f"investigate ({x:.1f}, {y:.1f}): no answer from the fleet")
            return Outcome(True, answers[0].message)

        out = self.gate.run(req, act, wall, now)
        if not answers:
            return CallReply(False, out.message)
        a = answers[0]
        if a.robot_id:
            return CallReply(True, out.message, a.robot_id, a.eta_s, a.x, a.y)
        # Queued: where the robot that takes it will watch from (the coordinator's choice too).
        spot = lookout(self.coord.dm, x, y, self.coord.cfg.call_sensor_reach_m,
                       self.coord.cfg.call_standoff_m).pose
        return CallReply(True, out.message, "", math.nan, spot.x, spot.y)

    def _bad_call(self, x: float, y: float, note: str) -> str:
        """Why a call cannot be taken ('' when it can): a place off the map, a note that is
        not one printable line."""
        xmin, ymin, xmax, ymax = self.coord.dm.grid.extent
        for name, v, lo, hi in (("x", x, xmin, xmax), ("y", y, ymin, ymax)):
            if not (math.isfinite(v) and lo <= v <= hi):
                return (f"investigate: field '{name}': got {v!r}, expected a place on the map "
                        f"({lo:.1f} to {hi:.1f} m)")
        if len(note) > MAX_NOTE or not note.isprintable():
            return (f"investigate: field 'note': got {note[:40]!r}"
                    f"{'...' if len(note) > 40 else ''}, expected one printable line of at "
                    f"most {MAX_NOTE} characters")
        return ""

    # -- e-stop and resume: the node forwards them to the robots itself -------------------------
    @staticmethod
    def estop_request(f: Mapping[str, object], envelope: str) -> CommandRequest:
        """The gate's view of a SetEStop request (resume when ``engage`` is false)."""
        rid = _text(f, "robot_id")
        return CommandRequest(Command.ESTOP if _flag(f, "engage") else Command.RESUME,
                              rid or "*", f, envelope,
                              {"robot_id": rid, "reason": _text(f, "reason")},
                              _text(f, "operator_name"))

    def estop_targets(self, robot_id: str) -> list[str]:
        """The robots an e-stop or resume for ``robot_id`` ('' or '*' = all) goes to."""
        return sorted(self.coord.known_robots) if robot_id in ("", "*") else [robot_id]

    def estop_done(self, req: CommandRequest, v: Verdict, answers: Mapping[str, Reply | None],
                   wall: float, now: float) -> Reply:
        """Record an e-stop or resume the node has forwarded (``answers``: per robot its reply,
        None when it did not answer in time): one incident per robot, one audit entry."""
        engage = req.command is Command.ESTOP
        kind = "e-stop" if engage else "resume"
        reason = _text(req.fields, "reason") or "operator"
        who = identity(v, req.claimed)
        parts, ok = [], True
        for rid, r in answers.items():
            confirmed = r is not None and r.success
            ok &= confirmed
            parts.append(f"{rid}: {'confirmed' if confirmed else 'NOT confirmed'}"
                         + (f" ({r.message})" if r is not None and r.message else ""))
            self.store.record_incident(rid, "estop" if engage else "resume",
                                       f"{reason} by {who}; "
                                       f"{'confirmed' if confirmed else 'not confirmed'}", now)
        message = f"{kind}: " + "; ".join(parts)
        self.gate.record(v, req, ok, message, wall, now)
        return Reply(ok, message)

    # -- anomalies, status, reports --------------------------------------------------------------
    def receive_anomaly(self, event: AnomalyEvent, now: float) -> AnomalyReceived:
        """Store a robot's anomaly (idempotent on uuid); a new one at a place that needs a
        look sends the robot there first, a blocked sidewalk updates the closed edges."""
        result = self.inbox.upsert(event, now)
        if result is InboxResult.DUPLICATE:
            return AnomalyReceived(None)
        incident = self.inbox.incident(event.uuid)
        events: list[ev.Event] = []
        if event.kind == "blocked_sidewalk":
            events.append(ev.SidewalkReports(self.blocked()))
        if result is InboxResult.NEW and needs_a_look(event.kind):
            events.append(ev.InvestigateRequested(event.x, event.y,
                                                  f"{event.robot_id}'s {event.kind} alert",
                                                  event.robot_id))
        return AnomalyReceived(event if incident is None else incident.event, tuple(events))

    def blocked(self) -> tuple[tuple[float, float, float], ...]:
        """Blocked-sidewalk reports as (x, y, last seen s), for the coordinator's closures."""
        return tuple((r.event.x, r.event.y, r.event.last_seen)
                     for r in self.inbox.query(kind="blocked_sidewalk"))

    def query_anomalies(self, f: Mapping[str, object], envelope: str, wall: float,
                        now: float) -> QueryReply:
        """Incidents by time, kind and acknowledgement (a read: audited, no nonce spent)."""
        since, kind = _number(f, "since_s"), _text(f, "kind")
        unacked = _flag(f, "unacknowledged_only")
        req = CommandRequest(Command.QUERY_ANOMALIES, FLEET_TARGET, f, envelope,
                             {"kind": kind, "since_s": since, "unacknowledged_only": unacked},
                             read=True)
        found: list[InboxRecord] = []

        def act(_: Verdict) -> Outcome:
            if not kind.isprintable():  # no kind is named so (and SQLite takes no surrogates)
                return Outcome(False, f"query_anomalies: field 'kind': got {kind[:40]!r}, "
                                      "expected a kind name")
            found.extend(self.inbox.incidents(since=since if since > 0 else None,
                                              kind=kind or None, unacked=unacked))
            return Outcome(True, f"{len(found)} incidents")

        out = self.gate.run(req, act, wall, now)
        return QueryReply("" if out.ok else out.message, tuple(found))

    def ack_anomaly(self, f: Mapping[str, object], envelope: str, wall: float,
                    now: float) -> Reply:
        """An operator acknowledges an incident, under the verified name."""
        uuid, note = _text(f, "uuid"), _text(f, "note")
        req = CommandRequest(Command.ACK_ANOMALY, FLEET_TARGET, f, envelope,
                             {"uuid": uuid, "note": note}, _text(f, "operator_name"))

        def act(v: Verdict) -> Outcome:
            try:
                done = self.inbox.ack(uuid, v.operator, note, now)
            except AnomalyError as exc:
                return Outcome(False, str(exc))
            return Outcome(done, f"acknowledged {uuid}" if done else f"unknown anomaly '{uuid}'")

        out = self.gate.run(req, act, wall, now)
        return Reply(out.ok, out.message)

    def status(self, f: Mapping[str, object], envelope: str, wall: float,
               now: float) -> StatusReply:
        """Every robot with its link state, and a summary (a read: audited, no nonce spent)."""
        req = CommandRequest(Command.GET_STATUS, FLEET_TARGET, f, envelope, read=True)
        robots: list[tuple[RobotStatusReport, Connection]] = []

        def act(_: Verdict) -> Outcome:
            robots.extend(self.coord.robots(now))
            return Outcome(True, f"{len(robots)} robots")

        out = self.gate.run(req, act, wall, now)
        if not out.ok:
            return StatusReply(out.message)
        summary = asdict(self.coord.summary(now))
        summary["unacked_alerts"] = len(self.inbox.incidents(unacked=True))
        return StatusReply("", tuple(robots), json.dumps(summary, sort_keys=True))

    def generate_report(self, f: Mapping[str, object], envelope: str, wall: float,
                        now: float) -> ReportReply:
        """Write the shift reports; recorded before writing, so that they name who asked."""
        out_dir, shift = _text(f, "out_dir"), _text(f, "shift")
        req = CommandRequest(Command.GENERATE_REPORT, FLEET_TARGET, f, envelope,
                             {"out_dir": out_dir, "shift": shift}, _text(f, "operator_name"))
        v = self.gate.admit(req, wall, now)
        if not v.ok:
            return ReportReply(False, v.reason)
        self.gate.record(v, req, True, "writing the reports", wall, now)
        try:
            files = tuple(str(p) for p in self.write_reports(out_dir, shift))
        except (OSError, DawnPatrolError, ValueError) as exc:
            self.warn(f"report failed: {exc}")
            return ReportReply(False, f"report failed: {exc}")
        return ReportReply(True, f"wrote {len(files)} files to {out_dir}", files)
