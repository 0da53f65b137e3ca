"""The fleet's operator services over the real gate, coordinator, inbox and store: accepted
requests act and are audited, refused ones change nothing and are audited as refused, reads
are audited too (in the chain's sink, not in the shift report's store). Then hostile input:
1,000 generated requests per service through the same code path the fleet manager node calls
— no crash, a one-line answer, one audit record each, and nothing changed on a refusal."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostile_inputs import FUZZ, NASTY_NUMBERS, NASTY_TEXT, random_text
from hypothesis import given
from hypothesis import strategies as st
from test_security_audited import MemoryReplay, Sink

from dawnpatrol_core.anomaly.events import AnomalyEvent, Detection, EventManager, make_evidence
from dawnpatrol_core.fleet import commands as cmd
from dawnpatrol_core.fleet import events as ev
from dawnpatrol_core.fleet.config import FleetConfig
from dawnpatrol_core.fleet.coordinator import FleetCoordinator
from dawnpatrol_core.fleet.services import AuditTrail, CallReply, FleetServices, Reply
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.security.audited import AuditedGate, AuditRecord, AuditSink
from dawnpatrol_core.security.envelope import (
    COMMAND_FIELDS,
    Signer,
    envelope_to_text,
    signed_args,
)
from dawnpatrol_core.security.gate import CommandGate
from dawnpatrol_core.security.keys import generate_private_key, public_bytes
from dawnpatrol_core.security.registry import Operator, OperatorRegistry
from dawnpatrol_core.security.roles import FLEET_TARGET, Command, Role
from dawnpatrol_core.store.audit_chain import AuditChain
from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.inbox import Inbox

YARD = Path(__file__).resolve().parents[3] / "maps" / "test_yard"
WALL = 1_790_000_000.0  # Unix s
T0 = 7000.0  # the fleet's clock (shift-day s)
ROLES = {"lee": Role.VIEWER, "choi": Role.DISPATCHER, "kim": Role.SUPERVISOR}


def alert(t: float = 10.0, kind: str = "intrusion") -> AnomalyEvent:
    m = EventManager("r1", np.random.default_rng([int(t), len(kind)]))
    e = m.report(Detection(kind, "track:1", 24.0, 19.0, t, t - 1.0, zone="school",
                           evidence=make_evidence([[t, 24.0, 19.0]], [[1.0, 1.0]])), t)
    assert e is not None
    return e


@dataclass
class Desk:
    """FleetServices over a real coordinator, inbox and store; the coordinator's ``feed`` is
    recorded (a stub answers dispatch and patrol: the solver is not what is tested here)."""

    tmp: Path
    fed: list[ev.Event] = field(default_factory=list)
    reports: list[tuple[str, str]] = field(default_factory=list)
    sink: Sink = field(default_factory=Sink)
    replay: MemoryReplay = field(default_factory=MemoryReplay)
    chained: bool = True
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.signers, ops = {}, []
        for name, role in ROLES.items():
            key = generate_private_key()
            self.signers[name] = Signer(name, role, key)
            ops.append(Operator(name, role, public_bytes(key), WALL - 100))
        self.signers["mallory"] = Signer("mallory", Role.ADMIN, generate_private_key())
        registry = OperatorRegistry(tuple(ops))
        self.store = FleetStore(self.tmp / "fleet.db")
        self.inbox = Inbox(self.tmp / "anomalies.db")
        self.event = alert()
        self.inbox.upsert(self.event, T0)
        cfg = FleetConfig(map_dir=str(YARD), robot_ids=("r1", "r2"), compartments=1,
                          solver_time_limit_s=0.1)
        self.coord = FleetCoordinator(cfg, load_district_map(YARD), self.store, T0)
        sink: AuditSink = self.sink
        if self.chained:  # the node's trail too: the chain and the shift report's store
            self.chain = AuditChain(self.tmp / "audit.db")
            sink = Tee(self.sink, AuditTrail(self.chain, self.store, self.log.append,
                                             self.log.append))
        gate = AuditedGate(CommandGate(lambda: registry, self.replay), sink)
        self.ops = FleetServices(gate, self.coord, self.inbox, self.store, self.feed,
                                 self.write, str(YARD))

    def feed(self, e: ev.Event) -> list[cmd.Command]:
        self.fed.append(e)
        if isinstance(e, ev.DispatchRequested):
            return [cmd.DispatchAnswered(True, f"planned {e.source}")]
        if isinstance(e, ev.PatrolRequested):
            return [cmd.PatrolAnswered(True, "patrol on")]
        if isinstance(e, ev.InvestigateRequested):
            return [cmd.InvestigateAnswered("r2", 116.0, e.x + 1.0, e.y, f"r2 goes [{e.source}]")]
        return []

    def write(self, out_dir: str, shift: str) -> list[Path]:
        self.reports.append((out_dir, shift))
        return [Path(out_dir) / "shift_report.md"]

    def sign(self, who: str, command: Command, fields: dict[str, object],
             target: str = FLEET_TARGET, now: float = WALL, nonce: bytes | None = None) -> str:
        return envelope_to_text(self.signers[who].sign(
            command, target, signed_args(command, fields), now,
            nonce if nonce is not None else random.randbytes(16)))

    def state(self) -> tuple[object, ...]:
        """Everything a request could change (the audit records aside)."""
        rec = self.inbox.get(self.event.uuid)
        acked = None if rec is None else (rec.acked_at, rec.acked_by, rec.ack_note)
        return (len(self.fed), tuple(self.reports), acked, frozenset(self.replay.spent),
                len(self.store.incidents()))

    def close(self) -> None:
        self.store.close()
        self.inbox.close()
        if self.chained:
            self.chain.close()


@dataclass
class Tee:
    first: AuditSink
    second: AuditSink

    def record(self, entry: AuditRecord) -> None:
        self.first.record(entry)
        self.second.record(entry)


@pytest.fixture()
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk(tmp_path)
    yield d
    d.close()


# -- decisions ------------------------------------------------------------------------------------
DISPATCH = {"orders_text": "id,address_id,window_start,window_end\nA,101-1,02:10,04:00\n",
            "format": "csv", "source_name": "night.csv", "dry_run": True, "operator_name": "choi"}


def test_a_signed_dispatch_reaches_the_coordinator_as_the_verified_operator(desk) -> None:
    r = desk.ops.dispatch(DISPATCH, desk.sign("choi", Command.DISPATCH_ORDERS, DISPATCH), WALL,
                          T0)
    assert (r.success, r.message) == (True, "planned night.csv")
    [e] = desk.fed
    assert isinstance(e, ev.DispatchRequested) and e.operator == "choi" and e.dry_run
    [rec] = desk.sink.records
    assert (rec.command, rec.identity, rec.ok, rec.args) == (
        "dispatch_orders", "choi (dispatcher)", True, {"source": "night.csv", "dry_run": True})


def test_a_refused_dispatch_never_reaches_the_coordinator(desk) -> None:
    before = desk.state()
    r = desk.ops.dispatch(DISPATCH, desk.sign("lee", Command.DISPATCH_ORDERS, DISPATCH), WALL,
                          T0)
    assert not r.success and r.message == ("refused dispatch_orders on fleet: viewer may not; "
                                           "needs dispatcher (operator lee)")
    assert (r.problems, r.plan_json) == ((), "")
    assert desk.state() == before
    assert desk.sink.records[-1].refused


def test_patrol_targets_the_robot_or_all(desk) -> None:
    one = {"active": True, "robot_id": "r2", "operator_name": "choi"}
    assert desk.ops.set_patrol(one, desk.sign("choi", Command.SET_PATROL, one, "r2"), WALL,
                               T0) == Reply(True, "patrol on")
    every = {**one, "robot_id": ""}
    assert not desk.ops.set_patrol(every, desk.sign("choi", Command.SET_PATROL, every, "r2"),
                                   WALL, T0).success  # signed for r2, asked for all
    assert desk.ops.set_patrol(every, desk.sign("choi", Command.SET_PATROL, every, "*"), WALL,
                               T0).success
    assert [(e.robot_id, e.active) for e in desk.fed] == [("r2", True), ("", True)]


CALL = {"x": 24.0, "y": 19.0, "note": "a resident reports someone lingering",
        "operator_name": "kim"}


def test_investigate_needs_a_supervisor(desk) -> None:
    assert not desk.ops.investigate(CALL, desk.sign("choi", Command.INVESTIGATE, CALL), WALL,
                                    T0).success
    assert desk.fed == []
    assert desk.ops.investigate(CALL, desk.sign("kim", Command.INVESTIGATE, CALL), WALL,
                                T0).success
    assert desk.fed == [ev.InvestigateRequested(
        24.0, 19.0, "call from kim: a resident reports someone lingering")]


def test_a_call_is_answered_with_the_robot_its_eta_and_where_it_watches_from(desk) -> None:
    r = desk.ops.investigate(CALL, desk.sign("kim", Command.INVESTIGATE, CALL), WALL, T0)
    assert r == CallReply(True, "r2 goes [call from kim: a resident reports someone lingering]",
                          "r2", 116.0, 25.0, 19.0)
    [rec] = desk.sink.records
    assert (rec.command, rec.identity, rec.ok, rec.args) == (
        "investigate", "kim (supervisor)", True,
        {"x": 24.0, "y": 19.0, "note": "a resident reports someone lingering"})


def test_a_queued_call_into_a_keep_out_zone_names_the_allowed_point_it_is_watched_from(
        desk) -> None:
    # The real coordinator: no robot has reported yet, so none can go and the call waits.
    ops = FleetServices(desk.ops.gate, desk.coord, desk.inbox, desk.store,
                        lambda e: desk.coord.handle(e, T0), desk.write, str(YARD))
    flower_bed = {**CALL, "x": 16.0, "y": 14.0}  # keep_out_flower_bed: 14..18 x 12..16 m
    r = ops.investigate(flower_bed, desk.sign("kim", Command.INVESTIGATE, flower_bed), WALL, T0)
    assert r.success and r.robot_id == "" and math.isnan(r.eta_s)
    assert "queued" in r.message and "\n" not in r.message
    assert not (14.0 <= r.watch_x <= 18.0 and 12.0 <= r.watch_y <= 16.0)
    assert desk.coord.dm.is_allowed(r.watch_x, r.watch_y)
    # a sidewalk point within the sensor reach that sees the bed
    assert math.hypot(r.watch_x - 16.0, r.watch_y - 14.0) <= desk.coord.cfg.call_sensor_reach_m


@pytest.mark.parametrize(("change", "field_name"), [
    ({"x": 34.5}, "x"), ({"y": -4.5}, "y"), ({"x": 1e300}, "x"),
    ({"note": "two\nlines"}, "note"), ({"note": "n" * 201}, "note")])
def test_a_call_off_the_map_or_with_a_bad_note_is_refused_in_one_line_and_changes_nothing(
        desk, change, field_name) -> None:
    bad = {**CALL, **change}
    r = desk.ops.investigate(bad, desk.sign("kim", Command.INVESTIGATE, bad), WALL, T0)
    assert not r.success and desk.fed == []
    assert r.message.startswith(f"investigate: field '{field_name}': got ")
    assert "\n" not in r.message and r.robot_id == "" and math.isnan(r.eta_s)
    assert desk.sink.records[-1].result == r.message and not desk.sink.records[-1].ok


def test_a_call_with_a_non_finite_place_is_refused_at_the_gate(desk) -> None:
    bad = {**CALL, "x": math.nan}
    r = desk.ops.investigate(bad, "", WALL, T0)  # no envelope can sign NaN
    assert not r.success and desk.fed == [] and desk.sink.records[-1].refused


def test_ack_records_the_verified_name_and_a_refusal_leaves_the_incident_unacked(desk) -> None:
    f = {"uuid": desk.event.uuid, "note": "seen on camera", "operator_name": "kim"}
    r = desk.ops.ack_anomaly(f, "", WALL, T0)
    assert not r.success and "no signed envelope" in r.message
    assert desk.inbox.incidents(unacked=True)
    r = desk.ops.ack_anomaly(f, desk.sign("choi", Command.ACK_ANOMALY, f), WALL, T0)
    assert r == Reply(True, f"acknowledged {desk.event.uuid}")
    [inc] = desk.inbox.incidents()
    assert (inc.acked_by, inc.ack_note) == ("choi", "seen on camera")  # not the claimed 'kim'
    unknown = {**f, "uuid": "nope"}
    r = desk.ops.ack_anomaly(unknown, desk.sign("choi", Command.ACK_ANOMALY, unknown), WALL, T0)
    assert r == Reply(False, "unknown anomaly 'nope'")
    assert [(x.ok, x.refused) for x in desk.sink.records] == [
        (False, True), (True, False), (False, False)]


def test_reads_are_answered_and_audited_both_ways_but_stay_out_of_the_shift_report(desk) -> None:
    q = {"since_s": 0.0, "kind": "", "unacknowledged_only": True}
    r = desk.ops.query_anomalies(q, desk.sign("lee", Command.QUERY_ANOMALIES, q), WALL, T0)
    assert r.refused == "" and [i.event.uuid for i in r.incidents] == [desk.event.uuid]
    s = desk.ops.status({}, desk.sign("lee", Command.GET_STATUS, {}), WALL, T0)
    assert s.refused == "" and '"unacked_alerts": 1' in s.summary_json
    refused = desk.ops.status({}, "", WALL, T0)
    assert refused.refused.startswith("refused get_status on fleet: ") and refused.robots == ()
    assert [(x.command, x.ok, x.read, x.result) for x in desk.sink.records] == [
        ("query_anomalies", True, True, "1 incidents"), ("get_status", True, True, "0 robots"),
        ("get_status", False, True, refused.refused)]
    assert desk.store.audit_log() == []  # the report lists commands, not every poll
    assert [(e.command, e.ok) for e in desk.chain.entries()] == [
        ("query_anomalies", True), ("get_status", True), ("get_status", False)]
    assert desk.log[-1].startswith("audit: unverified (unsigned) get_status fleet {} -> REFUSED")
    assert desk.replay.spent == set()


def test_a_report_is_audited_before_it_is_written(desk) -> None:
    f = {"out_dir": "/tmp/r", "shift": "2026-11-25", "operator_name": "lee"}
    r = desk.ops.generate_report(f, desk.sign("lee", Command.GENERATE_REPORT, f), WALL, T0)
    assert r.success and r.files == ("/tmp/r/shift_report.md",)
    assert desk.store.audit_log()[0]["result"] == "writing the reports"
    assert not desk.ops.generate_report(f, "", WALL, T0).success
    assert desk.reports == [("/tmp/r", "2026-11-25")]


def test_a_resume_is_admitted_only_for_a_supervisor_and_recorded_per_robot(desk) -> None:
    f = {"engage": False, "robot_id": "", "reason": "clear", "operator_name": "kim"}
    req = desk.ops.estop_request(f, desk.sign("choi", Command.RESUME, f, "*"))
    assert req.command is Command.RESUME and req.target == "*"
    assert not desk.ops.gate.admit(req, WALL, T0).ok
    req = desk.ops.estop_request(f, desk.sign("kim", Command.RESUME, f, "*"))
    v = desk.ops.gate.admit(req, WALL, T0)
    assert v.ok and desk.ops.estop_targets("") == ["r1", "r2"]
    out = desk.ops.estop_done(req, v, {"r1": Reply(True, "resumed by kim"), "r2": None}, WALL,
                              T0)
    assert out == Reply(False, "resume: r1: confirmed (resumed by kim); r2: NOT confirmed")
    assert [(i["robot_id"], i["kind"]) for i in desk.store.incidents()] == [
        ("r1", "resume"), ("r2", "resume")]
    assert desk.sink.records[-1].identity == "kim (supervisor)"


def test_a_blocked_sidewalk_report_updates_the_closures_and_a_new_alert_asks_for_a_look(
        desk) -> None:
    got = desk.ops.receive_anomaly(alert(20.0, "blocked_sidewalk"), T0)
    assert got.alert is not None and got.alert.kind == "blocked_sidewalk"
    assert any(isinstance(e, ev.SidewalkReports) and e.reports for e in got.events)
    again = desk.ops.receive_anomaly(alert(20.0, "blocked_sidewalk"), T0 + 1)
    assert again.alert is None and again.events == ()  # a duplicate changes nothing


FLOATS = [float(x) for x in NASTY_NUMBERS if abs(x) < 1e308]  # what a float64 field holds


# -- hostile input --------------------------------------------------------------------------------
def _value(r: random.Random, like: object) -> object:
    """A value of the field's wire type (what a ROS request can carry), hostile."""
    if isinstance(like, bool):
        return r.random() < 0.5
    if isinstance(like, float):
        return r.choice([*FLOATS, r.uniform(-1e3, 1e3)])
    return r.choice([random_text(r, 40), r.choice(NASTY_TEXT), str(like)])


def _fields(r: random.Random, like: dict[str, object]) -> dict[str, object]:
    return {k: (v if r.random() < 0.4 else _value(r, v)) for k, v in like.items()}


def _envelope(r: random.Random, d: Desk, command: Command, target: str,
              fields: dict[str, object]) -> str:
    """No envelope, garbage, or a signed one — right, by the wrong role, unregistered, for
    another command or target, stale, from the future, over other arguments, or edited."""
    pick = r.randrange(10)
    if pick == 0:
        return ""
    if pick == 1:
        return r.choice([random_text(r, 60), r.choice(NASTY_TEXT), "{}", "[]"])
    who = r.choice([*ROLES, "mallory"])
    other = r.choice(list(Command))
    try:
        if pick == 2:
            return d.sign(who, other, fields, target)
        if pick == 3:
            return d.sign(who, command, fields, r.choice(["r1", "*", FLEET_TARGET]))
        if pick == 4:
            return d.sign(who, command, fields, target, now=WALL - r.uniform(30, 1e5))
        if pick == 5:
            return d.sign(who, command, fields, target, now=WALL + r.uniform(3, 1e5))
        if pick == 6:
            return d.sign(who, command, _fields(r, fields), target)
        text = d.sign(who, command, fields, target)
    except Exception:  # noqa: BLE001 - unsignable arguments (NaN): send it unsigned
        return ""
    if pick == 7:
        i = r.randrange(len(text))
        return text[:i] + random_text(r, 3) + text[i + 1:]
    return text


@dataclass(frozen=True)
class Service:
    command: Command
    fields: dict[str, object]
    call: Callable[[Desk, dict[str, object], str], Any]
    target: Callable[[dict[str, object]], str] = lambda f: FLEET_TARGET
    fixed: dict[str, object] = field(default_factory=dict)  # kept as they are


def _resume(d: Desk, f: dict[str, object], envelope: str) -> Reply:
    req = d.ops.estop_request(f, envelope)
    v = d.ops.gate.admit(req, WALL, T0)
    if not v.ok:
        return Reply(False, v.reason)
    return d.ops.estop_done(req, v, {rid: Reply(True, "ok") for rid in
                                     d.ops.estop_targets(str(f["robot_id"]))}, WALL, T0)


SERVICES = {
    "dispatch": Service(Command.DISPATCH_ORDERS, DISPATCH,
                        lambda d, f, e: d.ops.dispatch(f, e, WALL, T0)),
    "set_patrol": Service(Command.SET_PATROL,
                          {"active": True, "robot_id": "r1", "operator_name": "choi"},
                          lambda d, f, e: d.ops.set_patrol(f, e, WALL, T0),
                          lambda f: str(f["robot_id"]) or "*"),
    "investigate": Service(Command.INVESTIGATE, dict(CALL),
                           lambda d, f, e: d.ops.investigate(f, e, WALL, T0)),
    "resume": Service(Command.RESUME, {"engage": False, "robot_id": "r1", "reason": "clear",
                                       "operator_name": "kim"}, _resume,
                      lambda f: str(f["robot_id"]) or "*", {"engage": False}),
    "ack_anomaly": Service(Command.ACK_ANOMALY, {"uuid": "", "note": "seen",
                                                 "operator_name": "choi"},
                           lambda d, f, e: d.ops.ack_anomaly(f, e, WALL, T0)),
    "query_anomalies": Service(Command.QUERY_ANOMALIES, {"since_s": 0.0, "kind": "intrusion",
                                                         "unacknowledged_only": False},
                               lambda d, f, e: d.ops.query_anomalies(f, e, WALL, T0)),
    "get_status": Service(Command.GET_STATUS, {}, lambda d, f, e: d.ops.status(f, e, WALL, T0)),
    "generate_report": Service(Command.GENERATE_REPORT, {"out_dir": "/tmp/r", "shift": "",
                                                         "operator_name": "lee"},
                               lambda d, f, e: d.ops.generate_report(f, e, WALL, T0)),
}


def test_the_fuzzed_services_are_every_operator_command_the_fleet_serves() -> None:
    served = {s.command for s in SERVICES.values()}
    to_robots = {Command.MISSION, Command.CANCEL_MISSION, Command.CLOSE_EDGES, Command.ESTOP,
                 Command.SUBMIT_PIN}
    registry = {Command.REGISTRY_ADD, Command.REGISTRY_REVOKE}  # the CLI's, on the data dir
    assert served == set(Command) - to_robots - registry
    for s in SERVICES.values():  # every signed field is generated
        assert set(COMMAND_FIELDS[s.command]) <= set(s.fields)


@pytest.fixture(scope="module")
def fuzz_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    d = Desk(tmp_path_factory.mktemp("fuzz"), chained=False)  # an fsync per request: slow
    yield d
    d.close()


def _one_line(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text and len(text) <= 600


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_fuzzed_requests_never_crash_and_a_refusal_changes_nothing(fuzz_desk, name) -> None:
    service = SERVICES[name]
    d = fuzz_desk
    if service.command is Command.ACK_ANOMALY:
        service.fields["uuid"] = d.event.uuid

    @FUZZ
    @given(r=st.randoms(use_true_random=True))
    def run(r: random.Random) -> None:
        f = {**_fields(r, service.fields), **service.fixed}
        envelope = _envelope(r, d, service.command, service.target(f), f)
        before, n = d.state(), len(d.sink.records)
        reply = service.call(d, f, envelope)
        [rec] = d.sink.records[n:]  # one record per request, whatever came of it
        assert rec.command == service.command.value
        answer = reply.refused if hasattr(reply, "refused") else reply.message
        if rec.refused:
            assert d.state() == before, f"a refused {name} changed state"
            assert _one_line(rec.result) and rec.result.startswith(f"refused {rec.command} ")
            assert answer == rec.result
            assert getattr(reply, "success", False) is False
        else:
            assert rec.identity.endswith(")") and not rec.identity.startswith("unverified")
        if service.command is Command.INVESTIGATE and not reply.success:  # off the map, say
            assert d.state() == before and _one_line(reply.message)
        assert math.isfinite(rec.wall)

    run()
