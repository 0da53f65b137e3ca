"""The fleet coordinator's decisions, event by event, on the test yard with a SQLite store:
dispatch and trips, failures and requeues, link loss and adoption, patrol pre-emption,
investigations, restart from the store."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.fleet.calls import sees
from dawnpatrol_core.fleet.commands import (
    CancelMission,
    ClosedEdgesChanged,
    Command,
    DispatchAnswered,
    IncidentRecorded,
    InvestigateAnswered,
    LogLine,
    OrderStateChanged,
    PatrolAnswered,
    SendMission,
)
from dawnpatrol_core.fleet.config import FleetConfig
from dawnpatrol_core.fleet.coordinator import FleetCoordinator
from dawnpatrol_core.fleet.events import (
    DispatchRequested,
    Event,
    InvestigateRequested,
    MissionAccepted,
    MissionEventReceived,
    MissionOutcome,
    MissionRejected,
    MissionResultReceived,
    PatrolRequested,
    SidewalkReports,
    StatusReceived,
    TaskEvent,
    Tick,
)
from dawnpatrol_core.fleet.records import MissionKind, OrderState
from dawnpatrol_core.fleet.registry import RobotMode, RobotStatusReport
from dawnpatrol_core.fleet.tasks import TaskKind
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.planning.dispatch import DispatchPlan, UnservedCause
from dawnpatrol_core.store.fleet import FleetStore

YARD = Path(__file__).resolve().parents[3] / "maps" / "test_yard"
T0 = 7000.0  # 01:56:40, before the 02:00 shift start
# Calls are watched from the called place itself here (the standoff has its own test).
CONFIG = FleetConfig(map_dir=str(YARD), robot_ids=("r1", "r2"), compartments=1,
                     solver_time_limit_s=0.1, call_standoff_m=0.0, call_wait_s=0.0)
THREE = """id,address_id,window_start,window_end
A,101-1,02:10,04:00
B,101-1,02:10,04:00
C,101-1,02:10,04:00
"""
ONE = "id,address_id,window_start,window_end\nD,101-1,02:10,04:00\n"
TIGHT = "id,address_id,window_start,window_end\nT,101-1,02:00,02:03\n"
SPOT = (24.0, 19.0)  # a place in the yard to look at


@pytest.fixture(scope="module")
def yard() -> DistrictMap:
    return load_district_map(YARD)


@dataclass
class Fleet:
    """A coordinator over a store file, with the clock and the commands it gave."""

    dm: DistrictMap
    path: Path
    config: FleetConfig = CONFIG
    now: float = T0
    out: list[Command] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = FleetStore(self.path)
        self.coord = FleetCoordinator(self.config, self.dm, self.store, self.now)

    def on(self, event: Event, dt: float = 0.0) -> list[Command]:
        self.now += dt
        cmds = self.coord.handle(event, self.now)
        self.out += cmds
        return cmds

    def status(self, rid: str, mode: RobotMode = RobotMode.IDLE, dt: float = 0.0,
               x: float = 3.0, y: float = 3.0) -> list[Command]:
        return self.on(StatusReceived(RobotStatusReport(rid, mode, x, y, stamp=self.now + dt)),
                       dt)

    def restart(self) -> None:
        self.store.close()
        self.__post_init__()

    def dispatch(self, text: str, dry_run: bool = False) -> tuple[DispatchAnswered, list[Command]]:
        cmds = self.on(DispatchRequested(text, "csv", "night.csv", dry_run, "kim"))
        (answer,) = [c for c in cmds if isinstance(c, DispatchAnswered)]
        return answer, cmds

    def states(self) -> dict[str, OrderState]:
        return {oid: o.state for oid, o in self.coord.orders.items()}


def sent(cmds: list[Command], kind: MissionKind | None = None) -> list[SendMission]:
    return [c for c in cmds if isinstance(c, SendMission) and kind in (None, c.kind)]


def orders_of(m: SendMission) -> list[str]:
    return [t.order_id for t in m.tasks if t.kind is TaskKind.DELIVER]


@pytest.fixture
def fleet(yard: DistrictMap, tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(yard, tmp_path / "fleet.db")
    yield f
    f.store.close()


def test_dispatch_sends_the_first_trip_and_each_next_trip_after_a_result(fleet: Fleet) -> None:
    fleet.status("r1")  # r2 never heard of: not free
    answer, cmds = fleet.dispatch(THREE)
    assert answer.success and answer.plan is not None
    assert answer.message == "dispatched: 3 of 3 orders on 1 robots, 0 unserved"
    assert set(answer.orders) == {"A", "B", "C"}
    (m,) = sent(cmds)
    assert m.robot_id == "r1" and m.kind is MissionKind.DELIVER
    assert [t.kind for t in m.tasks] == [TaskKind.DELIVER, TaskKind.RETURN]  # 1 compartment
    assert m.tasks[-1].pose == fleet.coord.bays[0]  # r1 returns to its own bay
    first = orders_of(m)
    assert fleet.states() == dict.fromkeys("ABC", OrderState.ASSIGNED)
    assert sum(len(t) for t in fleet.coord.queues["r1"]) == 2
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.on(MissionEventReceived("r1", first[0], "deliver", TaskEvent.HANDED_OVER, 24.0, 19.0,
                                  "pin", stamp=fleet.now + 100.0))
    assert fleet.states()[first[0]] is OrderState.DELIVERED
    cmds = fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.SUCCEEDED,
                                          (first[0], "depot")), dt=200.0)
    (m2,) = sent(cmds)
    assert m2.robot_id == "r1" and len(orders_of(m2)) == 1 and orders_of(m2) != first
    assert fleet.coord.missions["r1"].id == m2.mission_id
    # a late result of a mission no longer in flight changes nothing
    assert fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.SUCCEEDED)) == []


def test_failure_fails_parcels_on_board_and_requeues_trips_for_a_free_robot(
        fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(THREE)
    (m,) = sent(cmds)
    on_board = orders_of(m)[0]
    fleet.on(MissionAccepted("r1", m.mission_id))
    # the robot gave up before reaching the door: the parcel is on board, the other two never
    # left the depot
    cmds = fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.FAILED, (),
                                          (("depot", "unreachable: blocked"),), "aborted"),
                    dt=60.0)
    rec = fleet.coord.orders[on_board]
    assert rec.state is OrderState.FAILED
    assert rec.reason == "r1 aborted its mission; parcel on board"
    waiting = sorted(set("ABC") - {on_board})
    assert {o: fleet.states()[o] for o in waiting} == dict.fromkeys(waiting, OrderState.PLANNED)
    assert IncidentRecorded("r1", "mission_failed", "r1 aborted its mission") in cmds
    assert "r1" not in fleet.coord.missions and "r1" not in fleet.coord.queues
    # r1 stays in fault; r2 comes online and takes the waiting parcels
    fleet.status("r1", RobotMode.FAULT)
    fleet.status("r2")
    cmds = fleet.on(Tick())
    (m2,) = sent(cmds)
    assert m2.robot_id == "r2"
    assert {fleet.coord.orders[o].robot_id for o in waiting} == {"r2"}
    assert {fleet.coord.orders[o].reason for o in waiting} == {"reassigned"}
    assert fleet.states()[on_board] is OrderState.FAILED  # it stays with r1
    # r1 brings it back to the depot
    fleet.on(MissionEventReceived("r1", "depot", "return", TaskEvent.RETURNED), dt=300.0)
    assert fleet.states()[on_board] is OrderState.RETURNED


def first_of_three_trips(fleet: Fleet) -> tuple[SendMission, str]:
    """r1 takes THREE, one parcel a trip (two trips wait at the depot), and accepts the first:
    its mission and parcel."""
    fleet.status("r1")
    _, cmds = fleet.dispatch(THREE)
    (m,) = sent(cmds)
    (first,) = orders_of(m)
    fleet.on(MissionAccepted("r1", m.mission_id))
    return m, first


def test_a_robot_whose_return_failed_goes_back_to_load_before_its_next_trip(
        fleet: Fleet) -> None:
    # The trip is done but the way back was blocked: the next parcels are at the depot, so the
    # robot is sent back first (not off on a trip with nothing loaded); a second failed return
    # tries once more, a third gives its trips to others and is told to the operator.
    m, first = first_of_three_trips(fleet)
    blocked = (("depot", "unreachable: blocked"),)
    cmds = fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.FAILED, (first,),
                                          blocked), dt=600.0)
    (home,) = sent(cmds)
    assert [(t.kind, t.id) for t in home.tasks] == [(TaskKind.RETURN, "depot")]
    assert home.tasks[0].pose == fleet.coord.bays[0]
    assert len(fleet.coord.queues["r1"]) == 2
    (m2,) = sent(fleet.on(MissionResultReceived("r1", home.mission_id, MissionOutcome.SUCCEEDED,
                                                ("depot",)), dt=120.0))
    assert m2.kind is MissionKind.DELIVER and len(orders_of(m2)) == 1  # loaded: off it goes
    for _ in range(2):
        (home,) = sent(fleet.on(MissionResultReceived(
            "r1", fleet.coord.missions["r1"].id, MissionOutcome.FAILED, tuple(orders_of(m2)),
            blocked), dt=300.0))
        assert [t.kind for t in home.tasks] == [TaskKind.RETURN]
        m2 = home
    cmds = fleet.on(MissionResultReceived("r1", home.mission_id, MissionOutcome.FAILED, (),
                                          blocked), dt=300.0)
    assert sent(cmds) == [] and "r1" not in fleet.coord.queues
    assert IncidentRecorded("r1", "mission_failed", "r1 could not get back to the depot 3 "
                            "times (unreachable: blocked); its next trips go to other robots"
                            ) in cmds
    (last,) = [o for o, st in fleet.states().items() if st is OrderState.PLANNED]
    assert fleet.coord.orders[last].reason == "awaiting a robot: r1 could not get back to the depot"


def test_a_stop_failed_at_the_door_is_not_requeued(fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(ONE)
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.on(MissionEventReceived("r1", "D", "deliver", TaskEvent.FAILED, detail="absent"))
    fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.FAILED, ("depot",),
                                   (("D", "absent"),)), dt=400.0)
    assert fleet.coord.orders["D"].state is OrderState.FAILED
    assert fleet.coord.orders["D"].reason == "absent"
    assert sent(fleet.on(Tick())) == [] and "r1" not in fleet.coord.missions


def test_link_loss_fails_the_trip_and_reassigns_the_rest(fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(THREE)
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.on(Tick(), dt=1.0)
    fleet.status("r1", RobotMode.DELIVERING, dt=1.0)
    # r2 is heard from once between two ticks: no tick saw its link up, so its silence is no
    # link lost
    fleet.status("r2", RobotMode.FAULT)
    cmds = fleet.on(Tick(), dt=CONFIG.offline_after_s + 1.0)  # nobody heard from since
    assert [c for c in cmds if isinstance(c, IncidentRecorded)] == [
        IncidentRecorded("r1", "link_lost", "no status for 10 s"),
        IncidentRecorded("r1", "mission_failed", "link lost with r1")]
    assert fleet.coord.orders[orders_of(m)[0]].state is OrderState.FAILED
    assert "r1" not in fleet.coord.missions
    waiting = {o for o, s in fleet.states().items() if s is OrderState.PLANNED}
    assert len(waiting) == 2
    fleet.status("r2")
    (m2,) = sent(fleet.on(Tick(), dt=1.0))
    assert m2.robot_id == "r2" and set(orders_of(m2)) <= waiting
    # r1's link comes back: its old mission's result is not ours any more
    fleet.status("r1", RobotMode.DELIVERING)
    assert fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.SUCCEEDED)) == []


def test_a_mission_the_fleet_lost_track_of_is_adopted_when_the_robot_is_idle(
        fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(THREE)
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    # the robot's mission node restarted: it resumes the mission from disk, we no longer get a
    # result; the mission stays ours
    (line,) = fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.LOST), dt=20.0)
    assert isinstance(line, LogLine) and "following it by status" in line.text
    assert fleet.coord.missions["r1"].id == m.mission_id
    fleet.status("r1", RobotMode.DELIVERING, dt=1.0)
    assert sent(fleet.on(Tick())) == []  # still busy with it
    fleet.status("r1", RobotMode.IDLE, dt=100.0)
    (m2,) = sent(fleet.on(Tick()))  # over: the next trip goes out
    assert m2.robot_id == "r1" and m2.mission_id != m.mission_id


def test_restart_from_the_store(fleet: Fleet) -> None:
    fleet.status("r2", RobotMode.DELIVERING)  # busy with a mission of its own
    fleet.on(InvestigateRequested(*SPOT))  # nobody can go: queued
    fleet.status("r1")
    _, cmds = fleet.dispatch(THREE)
    (m,) = sent(cmds)
    fleet.on(PatrolRequested("r2", True))
    queues = {r: list(q) for r, q in fleet.coord.queues.items()}
    fleet.now += 30.0
    before = (fleet.coord.summary(fleet.now), fleet.states())
    fleet.restart()
    coord = fleet.coord
    assert (coord.summary(fleet.now), fleet.states()) == before
    assert coord.summary(fleet.now).patrol == {"r1": False, "r2": True}
    assert coord.missions["r1"].id == m.mission_id
    assert coord.missions["r1"].orders == tuple(orders_of(m))
    assert {r: list(q) for r, q in coord.queues.items()} == queues
    assert coord.investigations == (SPOT,)
    assert [s.robot_id for s, _ in coord.robots(fleet.now)] == ["r1", "r2"]
    # the queued call takes r1 from its trip (its window holds); r1 resumes the trip after the
    # look, in one mission, once it has let go of the old one
    fleet.status("r1", RobotMode.DELIVERING)
    cmds = fleet.on(Tick(), dt=1.0)
    assert CancelMission("r1", m.mission_id) in cmds and sent(cmds) == []
    fleet.restart()  # a pending call survives a restart too
    fleet.status("r1", RobotMode.IDLE, dt=60.0)
    (m2,) = sent(fleet.on(Tick()), MissionKind.DELIVER)
    assert m2.robot_id == "r1" and fleet.coord.investigations == ()
    assert [t.kind for t in m2.tasks] == [TaskKind.INVESTIGATE, TaskKind.DELIVER, TaskKind.RETURN]
    assert orders_of(m2) == orders_of(m)
    # the same ids are refused after the restart too
    answer, _ = fleet.dispatch(THREE)
    assert not answer.success and len(answer.problems) == 3


def test_rejected_delivery_waits_for_a_robot_and_a_rejected_look_is_queued_again(
        fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(THREE)
    (m,) = sent(cmds)
    cmds = fleet.on(MissionRejected("r1", m.mission_id, "mission server not available"))
    assert any(isinstance(c, LogLine) and c.text == f"r1: mission {m.mission_id} rejected: "
               "mission server not available" for c in cmds)
    assert fleet.states() == dict.fromkeys("ABC", OrderState.PLANNED)
    assert {o.reason for o in fleet.coord.orders.values()} == {
        "awaiting a robot: r1 did not accept the mission"}
    assert "r1" not in fleet.coord.missions and "r1" not in fleet.coord.queues
    (m2,) = sent(fleet.on(Tick(), dt=1.0))  # tried again, replanned
    assert m2.robot_id == "r1" and fleet.states() == dict.fromkeys("ABC", OrderState.ASSIGNED)

    fleet.status("r2")
    (look,) = sent(fleet.on(InvestigateRequested(*SPOT)))
    assert look.robot_id == "r2" and look.kind is MissionKind.INVESTIGATE
    assert look.tasks[0].pose.x == SPOT[0] and look.tasks[0].dwell_s == CONFIG.investigate_dwell_s
    fleet.on(MissionRejected("r2", look.mission_id))
    assert fleet.coord.investigations == (SPOT,)
    (again,) = sent(fleet.on(Tick(), dt=1.0))
    assert again.robot_id == "r2" and again.kind is MissionKind.INVESTIGATE
    assert fleet.coord.investigations == ()


def test_patrol_started_after_a_batch_replans_the_trips_not_yet_out_with_visits(
        fleet: Fleet) -> None:
    """A batch dispatched before the patrol: its trips carry no visits. Starting the patrol puts
    the parcels of the trips not yet out back to waiting, and the robot back plans them with
    the visits due (before: the hotspots waited until the last trip was done)."""
    fleet.status("r1")
    _, cmds = fleet.dispatch(THREE)
    (m,) = sent(cmds)
    assert all(t.kind is not TaskKind.PATROL for t in m.tasks)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.status("r1", RobotMode.DELIVERING)
    first = orders_of(m)
    (answer,) = [c for c in fleet.on(PatrolRequested("*", True))
                 if isinstance(c, PatrolAnswered)]
    assert answer.success and answer.message.endswith(
        "2 parcel(s) of trips not yet out are planned again with the patrol visits as robots "
        "come back")
    rest = set("ABC") - set(first)
    assert {o: fleet.states()[o] for o in rest} == dict.fromkeys(rest, OrderState.PLANNED)
    assert fleet.coord.queues["r1"] == []
    fleet.on(MissionEventReceived("r1", first[0], "deliver", TaskEvent.HANDED_OVER, 24.0, 19.0,
                                  "pin", stamp=fleet.now + 100.0))
    fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.SUCCEEDED,
                                   (first[0], "depot")), dt=200.0)
    fleet.status("r1")
    (m2,) = sent(fleet.on(Tick(), dt=1.0), MissionKind.DELIVER)
    assert any(t.kind is TaskKind.PATROL for t in m2.tasks)  # the visits ride along now
    assert set(orders_of(m2)) <= rest and orders_of(m2)
    assert all(fleet.states()[o] is not OrderState.UNSERVED for o in rest)


def test_a_delivery_batch_takes_a_patrolling_robot(fleet: Fleet) -> None:
    fleet.status("r1")
    (answer,) = fleet.on(PatrolRequested("r1", True))
    assert answer == PatrolAnswered(True, "patrol started: r1")
    (patrol,) = sent(fleet.on(Tick()))
    assert patrol.kind is MissionKind.PATROL and patrol.tasks[0].id == "hs_yard_corner"
    fleet.on(MissionAccepted("r1", patrol.mission_id))
    fleet.status("r1", RobotMode.PATROLLING, dt=5.0)
    _, cmds = fleet.dispatch(ONE)
    # the patrol is cancelled; the trip waits until the robot has let go of it (a robot refuses
    # a mission while one is in progress), and no patrol goes out meanwhile
    assert CancelMission("r1", patrol.mission_id) in cmds and sent(cmds) == []
    assert sent(fleet.on(Tick(), dt=1.0)) == []
    # the cancelled patrol's result is not the delivery's
    assert fleet.on(MissionResultReceived("r1", patrol.mission_id,
                                          MissionOutcome.CANCELED)) == []
    fleet.status("r1", RobotMode.IDLE, dt=1.0)  # let go
    (m,) = sent(fleet.on(Tick()))
    assert m.robot_id == "r1" and m.kind is MissionKind.DELIVER and orders_of(m) == ["D"]
    assert fleet.coord.missions["r1"].kind is MissionKind.DELIVER
    # deliveries first: while the delivery is in flight no patrol goes out
    assert sent(fleet.on(Tick(), dt=1.0)) == []


def patrolling(fleet: Fleet, who: str = "r1") -> SendMission:
    """r1 online and on its first patrol mission (accepted, its status says patrolling)."""
    fleet.status("r1")
    fleet.on(PatrolRequested(who, True))
    (patrol,) = sent(fleet.on(Tick()))
    fleet.on(MissionAccepted("r1", patrol.mission_id))
    fleet.status("r1", RobotMode.PATROLLING, dt=5.0)
    return patrol


def test_a_robot_that_never_says_it_let_go_gets_its_trip_after_a_while(fleet: Fleet) -> None:
    patrolling(fleet)
    _, cmds = fleet.dispatch(ONE)
    assert sent(cmds) == []
    fleet.status("r1", RobotMode.PATROLLING, dt=5.0)  # status still says patrolling
    assert sent(fleet.on(Tick())) == []
    fleet.status("r1", RobotMode.PATROLLING, dt=6.0)  # 11 s after the cancel
    (m,) = sent(fleet.on(Tick()))
    assert m.kind is MissionKind.DELIVER and orders_of(m) == ["D"]


def test_an_investigation_takes_a_patrolling_robot_once_it_let_go(fleet: Fleet) -> None:
    patrol = patrolling(fleet, "*")
    cmds = fleet.on(InvestigateRequested(*SPOT))
    assert CancelMission("r1", patrol.mission_id) in cmds and sent(cmds) == []
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert answer.robot_id == "r1" and answer.eta_s > 0.0 and "r1 stops its patrol" in answer.message
    assert fleet.coord.investigations == ()  # r1 holds it
    (look,) = sent(fleet.on(Tick(), dt=1.0))  # the look goes first, not a new patrol
    assert look.robot_id == "r1" and look.kind is MissionKind.INVESTIGATE
    fleet.on(MissionAccepted("r1", look.mission_id))
    fleet.status("r1", RobotMode.INVESTIGATING, dt=5.0)
    fleet.on(MissionEventReceived("r1", look.tasks[0].id, "investigate", TaskEvent.DWELL_DONE,
                                  *SPOT, detail="nobody there"))
    cmds = fleet.on(MissionResultReceived("r1", look.mission_id, MissionOutcome.SUCCEEDED),
                    dt=60.0)
    assert cmds == []
    fleet.status("r1")
    (back,) = sent(fleet.on(Tick(), dt=1.0))  # the patrol resumes
    assert back.kind is MissionKind.PATROL
    cmds = fleet.on(PatrolRequested("", False))
    assert CancelMission("r1", back.mission_id) in cmds
    assert PatrolAnswered(True, "patrol stopped: r1, r2") in cmds
    assert "r1" not in fleet.coord.missions
    assert fleet.on(PatrolRequested("r9", True)) == [PatrolAnswered(False, "unknown robot 'r9'")]


def test_a_call_a_patrol_point_sees_joins_the_robot_on_its_way_there(
        fleet: Fleet, yard: DistrictMap) -> None:
    # r1 patrols to the yard corner (8, 24); the called place is 5.7 m from it and in sight:
    # r1 watches it there, r2 (free, as near) is not sent and r1's patrol is not stopped
    patrol = patrolling(fleet, "*")
    fleet.status("r2")
    (hid,) = [t.id for t in patrol.tasks]
    corner = (patrol.tasks[0].pose.x, patrol.tasks[0].pose.y)
    place = (12.0, 28.0)
    assert sees(yard, corner, place, CONFIG.call_sensor_reach_m)
    cmds = fleet.on(InvestigateRequested(*place))
    assert sent(cmds) == [] and not any(isinstance(c, CancelMission) for c in cmds)
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert answer.robot_id == "r1" and (answer.x, answer.y) == corner
    assert f"r1 is on its way to watch {hid}" in answer.message and answer.eta_s > 0.0
    # a second call about the scene joins it too, r2 stays free
    cmds = fleet.on(InvestigateRequested(place[0] + 2.0, place[1]))
    assert sent(cmds) == [] and [c.robot_id for c in cmds
                                 if isinstance(c, InvestigateAnswered)] == ["r1"]
    # once r1 has watched the corner, a new call there gets a look of its own
    fleet.on(MissionEventReceived("r1", hid, "patrol", TaskEvent.DWELL_DONE, *corner), dt=60.0)
    fleet.status("r1", RobotMode.PATROLLING, x=corner[0], y=corner[1])
    fleet.status("r2")
    cmds = fleet.on(InvestigateRequested(*place))
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert "r1 stops its patrol" in answer.message or sent(cmds, MissionKind.INVESTIGATE)
    # a place the corner does not see (6 m from it, behind the wall) is not joined either
    assert not sees(yard, corner, (8.0, 30.0), CONFIG.call_sensor_reach_m)


def test_a_call_is_not_left_to_a_patrol_slower_than_a_robot_going_straight(
        yard: DistrictMap, tmp_path: Path) -> None:
    # r1 patrols to the corner from the far side of the yard; r2 is next to the called place
    # and would be there more than call_join_patrol_s before r1
    fleet = Fleet(yard, tmp_path / "fleet.db", replace(CONFIG, call_join_patrol_s=5.0))
    patrol = patrolling(fleet, "*")
    fleet.status("r1", RobotMode.PATROLLING, x=27.0, y=3.0)
    fleet.status("r2", x=12.0, y=26.0)
    cmds = fleet.on(InvestigateRequested(12.0, 28.0))
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert answer.robot_id == "r2" and [m.robot_id for m in sent(cmds)] == ["r2"]
    assert CancelMission("r1", patrol.mission_id) not in cmds
    fleet.store.close()


def call_during_a_tight_trip(fleet: Fleet, spot: tuple[float, float] = SPOT
                             ) -> tuple[SendMission, list[Command], InvestigateAnswered]:
    """r1 out with T (handover must start by 02:02) at 02:01:10, when a call to ``spot``
    comes in: the trip, the call's commands and its answer."""
    fleet.status("r1")
    _, cmds = fleet.dispatch(TIGHT)
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.status("r1", RobotMode.DELIVERING, dt=270.0, x=20.0, y=12.0)
    cmds = fleet.on(InvestigateRequested(*spot))
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    return m, cmds, answer


def test_a_call_no_robot_can_take_in_time_goes_to_the_least_late_robot_at_once(
        fleet: Fleet) -> None:
    # calls_before_parcels (the default): the operator is answered now, told the cost
    m, cmds, answer = call_during_a_tight_trip(fleet)
    assert answer.robot_id == "r1" and "leaves its delivery trip" in answer.message
    assert "its parcels may be up to" in answer.message and "s late" in answer.message
    assert CancelMission("r1", m.mission_id) in cmds
    assert fleet.coord.investigations == ()


def test_a_call_waits_for_the_last_parcel_of_a_trip_when_that_is_soon_enough(
        yard: DistrictMap, tmp_path: Path) -> None:
    # r1 is seconds from T's door (due by 02:02) when a call comes 8 m away: going at once
    # would make T late; handing T over first (60 s at the door) puts it on scene well within
    # call_wait_s of going at once. It goes from the door; the trip's return follows the look.
    fleet = Fleet(yard, tmp_path / "fleet.db", replace(CONFIG, call_wait_s=90.0))
    m, cmds, answer = call_during_a_tight_trip(fleet, (18.0, 14.0))
    assert answer.robot_id == "r1" and "after handing over its trip's last parcel" in answer.message
    assert 60.0 < answer.eta_s < 90.0 and "late" not in answer.message
    assert sent(cmds) == [] and not any(isinstance(c, CancelMission) for c in cmds)
    assert fleet.coord.missions["r1"].id == m.mission_id
    fleet.restart()  # a call waiting for a trip survives a restart
    cmds = fleet.on(MissionEventReceived("r1", "T", "deliver", TaskEvent.HANDED_OVER, 24.0, 19.0,
                                         "door"), dt=65.0)
    assert CancelMission("r1", m.mission_id) in cmds and sent(cmds) == []
    assert fleet.coord.orders["T"].state is OrderState.DELIVERED
    fleet.status("r1", x=24.0, y=19.0, dt=1.0)
    (m2,) = sent(fleet.on(Tick()))
    assert m2.robot_id == "r1" and [t.kind for t in m2.tasks] == [TaskKind.INVESTIGATE,
                                                                  TaskKind.RETURN]
    assert (m2.tasks[0].pose.x, m2.tasks[0].pose.y) == (answer.x, answer.y)
    fleet.store.close()


def test_a_call_waiting_for_a_trip_waits_for_any_robot_when_that_robot_is_lost(
        yard: DistrictMap, tmp_path: Path) -> None:
    fleet = Fleet(yard, tmp_path / "fleet.db", replace(CONFIG, call_wait_s=90.0))
    _, _, answer = call_during_a_tight_trip(fleet, (18.0, 14.0))
    assert answer.robot_id == "r1" and fleet.coord.investigations == ()
    fleet.on(Tick())  # r1 online
    fleet.on(Tick(), dt=CONFIG.offline_after_s + 1.0)  # no status from r1 since: link lost
    assert fleet.coord.investigations == ((18.0, 14.0),)
    fleet.status("r2")
    (look,) = sent(fleet.on(Tick(), dt=1.0))
    assert look.robot_id == "r2" and look.kind is MissionKind.INVESTIGATE
    fleet.store.close()


def test_a_free_robot_watches_a_called_place_from_a_standoff(
        yard: DistrictMap, tmp_path: Path) -> None:
    fleet = Fleet(yard, tmp_path / "fleet.db", replace(CONFIG, call_standoff_m=3.0))
    fleet.status("r1")
    cmds = fleet.on(InvestigateRequested(*SPOT))
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    (look,) = sent(cmds)
    p = look.tasks[0].pose
    assert answer.robot_id == "r1" and (answer.x, answer.y) == (p.x, p.y)
    assert 3.0 <= math.hypot(p.x - SPOT[0], p.y - SPOT[1]) <= CONFIG.call_sensor_reach_m
    # a second call about the same scene joins the look by the called place, not by the
    # watch point standing off from it
    beyond = (SPOT[0] + (SPOT[0] - p.x) * 2.0, SPOT[1] + (SPOT[1] - p.y) * 2.0)
    assert math.dist(beyond, (p.x, p.y)) > CONFIG.call_merge_m >= math.dist(beyond, SPOT)
    fleet.status("r2")
    cmds = fleet.on(InvestigateRequested(*beyond))
    assert sent(cmds) == [] and any(isinstance(c, InvestigateAnswered) and c.robot_id == "r1"
                                    for c in cmds)
    fleet.store.close()


def test_an_alert_from_a_robot_watching_there_sends_nobody_else(fleet: Fleet) -> None:
    # r1 watches SPOT on a look and raises an alert 20 m into the scene (beyond the 12 m a
    # call into a no-entry place is watched from; the lidar reaches 25 m): it is there already.
    # The same alert from a robot driving by (not watching) gets a look.
    fleet.status("r1")
    fleet.status("r2")
    (look,) = sent(fleet.on(InvestigateRequested(*SPOT)))
    rid = look.robot_id
    fleet.on(MissionAccepted(rid, look.mission_id))
    place = (SPOT[0] - 20.0, SPOT[1] - 2.0)
    for arrived in (False, True):  # seen on its way in, and while watching
        if arrived:
            fleet.on(MissionEventReceived(rid, look.tasks[0].id, "investigate",
                                          TaskEvent.ARRIVED, *SPOT), dt=30.0)
        cmds = fleet.on(InvestigateRequested(*place, f"{rid}'s intrusion alert", rid))
        assert sent(cmds) == [] and not any(isinstance(c, CancelMission) for c in cmds)
        (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
        how = "is watching there already" if arrived else "is on its way to watch there"
        assert answer.robot_id == rid and how in answer.message
    other = "r2" if rid == "r1" else "r1"
    fleet.status(other)
    cmds = fleet.on(InvestigateRequested(*place, f"{other}'s intrusion alert", other))
    assert [m.robot_id for m in sent(cmds)] == [other]


def test_calls_wait_in_order_while_no_robot_can_go_without_a_late_parcel(
        yard: DistrictMap, tmp_path: Path) -> None:
    fleet = Fleet(yard, tmp_path / "fleet.db", replace(CONFIG, calls_before_parcels=False))
    m, cmds, answer = call_during_a_tight_trip(fleet)
    assert answer.robot_id == "" and "queued" in answer.message
    fleet.on(InvestigateRequested(20.0, 10.0))
    assert sent(fleet.on(Tick(), dt=1.0)) == []  # the delivering robot is not taken
    assert fleet.coord.investigations == (SPOT, (20.0, 10.0))
    fleet.on(MissionResultReceived("r1", m.mission_id, MissionOutcome.SUCCEEDED, ("T", "depot")),
             dt=300.0)
    fleet.status("r1")
    (look,) = sent(fleet.on(Tick()))
    assert look.robot_id == "r1" and look.tasks[0].pose.x == SPOT[0]  # the first call first
    assert fleet.coord.investigations == ((20.0, 10.0),)
    fleet.store.close()


def test_bad_batch_and_duplicate_ids_are_rejected_whole(fleet: Fleet) -> None:
    fleet.status("r1")
    bad = "id,address_id,window_start,window_end\nX,101-1,02:10,04:00\nX,999-9,01:00,01:30\n"
    answer, cmds = fleet.dispatch(bad)
    assert not answer.success and answer.plan is None
    assert answer.message == "rejected: 3 problem(s); nothing dispatched"
    assert all(p.startswith("night.csv:3: ") for p in answer.problems)
    assert "duplicate of line 2" in answer.problems[0]
    assert cmds == [answer] and fleet.coord.orders == {}
    assert fleet.dispatch(ONE)[0].success
    mixed = "id,address_id,window_start,window_end\nD,101-1,02:10,04:00\nE,101-1,02:10,04:00\n"
    answer, cmds = fleet.dispatch(mixed)
    assert answer.problems == ("night.csv: field 'id': got 'D', expected an id not already in "
                               "the order book",)
    assert cmds == [answer] and set(fleet.coord.orders) == {"D"}  # E is not taken either


def test_dry_run_changes_nothing(fleet: Fleet) -> None:
    # no robot is online: a dry run plans on every robot anyway, a real one is refused
    answer, cmds = fleet.dispatch(THREE, dry_run=True)
    assert answer.success and answer.message.startswith("planned (dry run): 3 of 3 orders on 2")
    assert cmds == [answer]
    assert fleet.coord.orders == {} and fleet.store.orders() == [] and fleet.store.batches() == []
    answer, _ = fleet.dispatch(THREE)
    assert not answer.success
    assert answer.message == "no robot is online to take deliveries"
    fleet.status("r1")
    answer, cmds = fleet.dispatch(THREE, dry_run=True)
    assert answer.success and cmds == [answer] and fleet.coord.missions == {}
    assert fleet.dispatch(THREE)[0].success  # the dry run did not take the ids


TWO_TIGHT = ("id,address_id,window_start,window_end\n"
             "T1,101-1,02:00,02:03\nT2,101-1,02:00,02:03\n")  # one a robot: one compartment


def both_away_looking(fleet: Fleet) -> dict[str, SendMission]:
    fleet.status("r1")
    fleet.status("r2")
    looks = {}
    for spot in (SPOT, (20.0, 10.0)):
        (look,) = sent(fleet.on(InvestigateRequested(*spot)))
        fleet.on(MissionAccepted(look.robot_id, look.mission_id))
        fleet.status(look.robot_id, RobotMode.INVESTIGATING, dt=1.0)
        looks[look.robot_id] = look
    assert set(looks) == {"r1", "r2"}
    return looks


def back(fleet: Fleet, look: SendMission) -> list[Command]:
    rid = look.robot_id
    fleet.on(MissionResultReceived(rid, look.mission_id, MissionOutcome.SUCCEEDED), dt=5.0)
    fleet.status(rid)
    return fleet.on(Tick(), dt=1.0)


def test_a_batch_while_every_robot_is_out_waits_for_the_first_back(fleet: Fleet) -> None:
    looks = both_away_looking(fleet)
    answer, cmds = fleet.dispatch(THREE)
    assert answer.success and sent(cmds) == []
    assert answer.message.endswith("every robot is out (r1, r2): the parcels wait at the depot "
                                   "for the first robot back")
    assert fleet.states() == dict.fromkeys("ABC", OrderState.PLANNED)
    assert {o.reason for o in fleet.coord.orders.values()} == {
        "awaiting a robot: every robot is out"}
    assert sent(fleet.on(Tick(), dt=1.0)) == []  # still out
    (trip,) = sent(back(fleet, looks["r2"]))
    assert trip.robot_id == "r2" and trip.kind is MissionKind.DELIVER
    assert fleet.states() == dict.fromkeys("ABC", OrderState.ASSIGNED)  # r2 takes all three


def test_what_the_first_robot_back_cannot_take_waits_for_the_next(fleet: Fleet) -> None:
    looks = both_away_looking(fleet)
    answer, _ = fleet.dispatch(TWO_TIGHT)
    assert answer.success and "2 of 2 orders on 2 robots" in answer.message  # both back in time
    (trip,) = sent(back(fleet, looks["r1"]))
    (first,) = orders_of(trip)
    other = ({"T1", "T2"} - {first}).pop()
    assert fleet.states() == {first: OrderState.ASSIGNED, other: OrderState.PLANNED}
    assert sent(fleet.on(Tick(), dt=1.0)) == []  # r1 cannot take it: not replanned again
    (trip2,) = sent(back(fleet, looks["r2"]))
    assert trip2.robot_id == "r2" and orders_of(trip2) == [other]


def test_a_call_near_a_look_under_way_joins_it(fleet: Fleet) -> None:
    fleet.status("r1")
    fleet.status("r2")
    (look,) = sent(fleet.on(InvestigateRequested(*SPOT)))
    near = (SPOT[0] + 3.0, SPOT[1] - 5.0)  # 5.8 m away: the same scene
    cmds = fleet.on(InvestigateRequested(*near))
    assert sent(cmds) == []  # the other robot keeps its work
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert answer.robot_id == look.robot_id and answer.eta_s >= 0.0
    assert "is already going to watch (24.0, 19.0), 5.8 m away" in answer.message
    (other,) = sent(fleet.on(InvestigateRequested(20.0, 10.0)))  # 9.8 m away: a look of its own
    assert other.robot_id != look.robot_id
    # a call near a call that waits for a robot joins it
    fleet.on(InvestigateRequested(5.0, 25.0))
    assert fleet.coord.investigations == ((5.0, 25.0),)
    cmds = fleet.on(InvestigateRequested(6.0, 24.0))
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert answer.robot_id == "" and "joins the call waiting at (5.0, 25.0)" in answer.message
    assert fleet.coord.investigations == ((5.0, 25.0),)


def test_order_state_changes_are_told_and_stored(fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(ONE)
    assert OrderStateChanged("D", OrderState.ASSIGNED, "r1", "") in cmds
    fleet.on(MissionEventReceived("r1", "D", "deliver", TaskEvent.HANDED_OVER, 24.0, 19.0, "door",
                                  stamp=7900.0))
    (rec,) = fleet.store.orders()
    assert rec.state is OrderState.DELIVERED and rec.robot_id == "r1"
    assert fleet.store.deliveries() == [{"order_id": "D", "robot_id": "r1", "at": 7900.0,
                                         "x": 24.0, "y": 19.0, "method": "door"}]
    (batch,) = fleet.store.batches()
    assert batch["source"] == "night.csv" and batch["operator"] == "kim"
    assert batch["plan"]["routes"][0]["stops"][0]["order_id"] == "D"


def test_closed_edges_are_told_once_per_change(fleet: Fleet, yard: DistrictMap) -> None:
    e = next(iter(yard.graph.edges.values()))
    x, y = e.points[0] if e.points else (yard.graph.nodes[e.start].x, yard.graph.nodes[e.start].y)
    (first,) = fleet.on(SidewalkReports(()))
    assert first == ClosedEdgesChanged(())
    (closed,) = fleet.on(SidewalkReports(((x, y, fleet.now),)))
    assert isinstance(closed, ClosedEdgesChanged) and e.id in closed.edges
    assert fleet.on(SidewalkReports(((x, y, fleet.now), (x, y, fleet.now)))) == []
    # past the report's time to live the edges open again
    (reopened,) = fleet.on(SidewalkReports(((x, y, fleet.now),)),
                           dt=CONFIG.blocked_edge_ttl_s + 1.0)
    assert reopened == ClosedEdgesChanged(())


def test_a_call_takes_the_delivering_robot_whose_windows_hold_and_it_resumes_after(
        fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(ONE)  # D's window runs to 04:00
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.status("r1", RobotMode.DELIVERING, dt=300.0, x=22.0, y=17.0)  # close to the spot
    fleet.status("r2", x=3.0, y=3.0)  # free, but at the depot
    cmds = fleet.on(InvestigateRequested(*SPOT))
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert answer.robot_id == "r1" and "leaves its delivery trip" in answer.message
    assert answer.eta_s < 10.0 and (answer.x, answer.y) == SPOT
    assert CancelMission("r1", m.mission_id) in cmds and sent(cmds) == []
    assert sent(fleet.on(Tick(), dt=1.0)) == []  # r1 has not let go yet; r2 is not sent
    assert fleet.coord.orders["D"].state is OrderState.ASSIGNED  # the parcel stays on board
    fleet.status("r1", x=22.0, y=17.0, dt=1.0)
    (m2,) = sent(fleet.on(Tick()))
    assert m2.robot_id == "r1" and m2.kind is MissionKind.DELIVER
    assert [t.kind for t in m2.tasks] == [TaskKind.INVESTIGATE, TaskKind.DELIVER, TaskKind.RETURN]
    assert orders_of(m2) == ["D"] and fleet.coord.missions["r1"].orders == ("D",)
    fleet.on(MissionAccepted("r1", m2.mission_id))
    # A second call elsewhere while r1 is on its way to the first: r1 keeps its look, r2 goes.
    fleet.status("r1", RobotMode.DELIVERING, x=22.0, y=17.0)
    cmds = fleet.on(InvestigateRequested(20.0, 10.0))
    (second,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert second.robot_id == "r2" and not any(isinstance(c, CancelMission) for c in cmds)
    assert fleet.coord.missions["r1"].id == m2.mission_id
    cmds = fleet.on(MissionEventReceived("r1", m2.tasks[0].id, "investigate",
                                         TaskEvent.DWELL_DONE, *SPOT, detail="a loiterer"))
    assert [c.kind for c in cmds if isinstance(c, IncidentRecorded)] == ["investigation"]


def test_a_call_goes_to_the_next_robot_when_the_detour_would_make_a_parcel_late(
        fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(TIGHT)
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.status("r1", RobotMode.DELIVERING, dt=270.0, x=22.0, y=17.0)  # 02:01:10, T by 02:02
    fleet.status("r2", x=3.0, y=3.0)
    cmds = fleet.on(InvestigateRequested(*SPOT))
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    assert answer.robot_id == "r2" and answer.eta_s > 10.0
    assert not any(isinstance(c, CancelMission) for c in cmds)
    (look,) = sent(cmds)
    assert look.robot_id == "r2" and look.kind is MissionKind.INVESTIGATE
    assert fleet.coord.missions["r1"].id == m.mission_id


@pytest.mark.parametrize("place", [(16.0, 14.0), (33.0, 15.0)])
def test_a_call_into_a_place_robots_may_not_enter_is_watched_from_the_nearest_allowed_point(
        fleet: Fleet, yard: DistrictMap, place: tuple[float, float]) -> None:
    fleet.status("r1")
    cmds = fleet.on(InvestigateRequested(*place))
    (answer,) = [c for c in cmds if isinstance(c, InvestigateAnswered)]
    (look,) = sent(cmds)
    pose = look.tasks[0].pose
    assert answer.robot_id == "r1" and (answer.x, answer.y) == (pose.x, pose.y)
    assert yard.is_allowed(pose.x, pose.y) and not yard.is_allowed(*place)
    away = math.hypot(place[0] - pose.x, place[1] - pose.y)
    assert 0.0 < away <= CONFIG.call_sensor_reach_m
    assert math.cos(math.atan2(place[1] - pose.y, place[0] - pose.x) - pose.theta) > 0.999
    why = "keep-out zone 'keep_out_flower_bed'" if place[0] < 30 else "outside the operating area"
    assert why in answer.message and f"{away:.1f} m away" in answer.message


def test_idleness_is_counted_from_the_patrol_start_not_the_fleet_start(fleet: Fleet) -> None:
    """The fleet manager comes up long before the shift (under simulated time even before the
    clock runs); hotspots are not overdue when the operator starts the patrol an hour later."""
    fleet.status("r1", dt=3600.0)
    fleet.on(PatrolRequested("r1", True))
    start = fleet.coord.shift_now(fleet.now)
    sched = fleet.coord.patrol.scheduler
    assert sched is not None and np.all(sched.last_left() == start)
    fleet.on(PatrolRequested("r1", True), dt=600.0)  # already patrolling: nothing restarts
    assert np.all(sched.last_left() == start)


def test_patrol_visits_ride_on_the_delivery_trips_within_their_bounds(fleet: Fleet) -> None:
    fleet.status("r1")
    fleet.on(PatrolRequested("r1", True))
    answer, cmds = fleet.dispatch(THREE)
    assert answer.success and answer.plan is not None
    assert "patrol visits planned between the parcels" in answer.message
    assert answer.plan.missed == () and answer.plan.served == 3
    visits = [v for r in answer.plan.routes for v in r.visits]
    assert visits and {v.hotspot_id for v in visits} == {"hs_yard_corner"}
    # the yard corner (600 s bound, 20 s watch) is never left longer than its bound: from the
    # coordinator's start (its last visit) to 04:00, when the last window closes
    visits.sort(key=lambda v: v.service_start)
    t = [v.service_start for v in visits]
    left = [T0] + [v.departure for v in visits]
    assert max(a - lv for a, lv in zip(t, left[:-1], strict=True)) <= 600.0 + 1e-6
    assert all(v.departure - v.service_start == pytest.approx(20.0) for v in visits)
    assert left[-1] + 600.0 >= 4 * 3600.0
    (m,) = sent(cmds)
    watches = [t for t in m.tasks if t.kind is TaskKind.PATROL]
    assert all(t.pose == fleet.coord.patrol.hotspot_pose("hs_yard_corner") for t in watches)
    # each watches 20 s from its planned start at the earliest (a robot there early waits)
    assert all(t.dwell_s == 20.0 for t in watches)
    starts = {v.visit_id[1:]: v.service_start for v in visits}
    assert all(t.window_start == pytest.approx(starts[t.id], abs=1.0) for t in watches
               if t.id in starts)
    # a watch made on the trip is a patrol visit of the hotspot
    if watches:
        fleet.on(MissionAccepted("r1", m.mission_id))
        fleet.on(MissionEventReceived("r1", watches[0].id, "patrol", TaskEvent.ARRIVED),
                 dt=100.0)
        fleet.on(MissionEventReceived("r1", watches[0].id, "patrol", TaskEvent.DWELL_DONE),
                 dt=20.0)
        assert fleet.store.visits()[-1]["hotspot_id"] == "hs_yard_corner"
        sch = fleet.coord.patrol.scheduler
        assert sch is not None and sch.last_left()[0] == pytest.approx(fleet.now)


def drive_ticks(fleet: Fleet, rid: str, x: float, y: float, until: float,
                mode: RobotMode = RobotMode.DELIVERING) -> list[Command]:
    """Ticks every 10 s with ``rid`` reporting from (x, y) until the fleet cancels its
    mission or ``until`` (fleet s); the commands of the last tick."""
    while fleet.now < until:
        fleet.status(rid, mode, dt=10.0, x=x, y=y)
        cmds = fleet.on(Tick())
        if any(isinstance(c, CancelMission) for c in cmds):
            return cmds
    return []


def test_a_hotspot_nobody_will_reach_in_time_takes_the_delivering_robot_that_can(
        fleet: Fleet) -> None:
    # The trip went out before the patrol started: it carries no visit, and nobody else is
    # about. The yard corner (600 s bound) would go unwatched; r1's parcel (window to 04:00)
    # holds a detour, so r1 leaves its trip in time to be there before the bound runs out,
    # watches, and resumes its trip.
    fleet.status("r1")
    _, cmds = fleet.dispatch(ONE)
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.on(PatrolRequested("r1", True))
    due = fleet.coord.shift_now(fleet.now) + 600.0
    corner = fleet.coord.patrol.hotspot_pose("hs_yard_corner")
    t, _ = fleet.coord.travel(np.array([[22.0, 17.0], [corner.x, corner.y]]), CONFIG.speed)
    eta = float(t[0, 1])
    cmds = drive_ticks(fleet, "r1", 22.0, 17.0, fleet.now + 600.0)
    left = fleet.coord.shift_now(fleet.now)
    assert CancelMission("r1", m.mission_id) in cmds
    assert due - 190.0 <= left + eta <= due - 170.0  # not before it must, 180 s to spare
    (line,) = [c.text for c in cmds if isinstance(c, LogLine) and "hs_yard_corner" in c.text]
    assert line.startswith("hs_yard_corner: due by 02:06:40, no robot on its way: r1 leaves "
                           "its delivery trip (resumes after)")
    fleet.status("r1", x=22.0, y=17.0, dt=1.0)
    (m2,) = sent(fleet.on(Tick()))
    assert [t.kind for t in m2.tasks] == [TaskKind.PATROL, TaskKind.DELIVER, TaskKind.RETURN]
    watch = m2.tasks[0]  # an id of its own: the rest of a trip may visit the corner too
    assert watch.id.startswith("hs_yard_corner#") and orders_of(m2) == ["D"]
    assert len({t.id for t in m2.tasks}) == len(m2.tasks)
    assert watch.pose == corner and watch.dwell_s == 20.0
    fleet.on(MissionAccepted("r1", m2.mission_id))
    # on scene as the bound runs out, watching: it is not sent again (nor is anyone else)
    until = fleet.now + due - fleet.coord.shift_now(fleet.now) - 15.0  # ticks every 10 s
    assert drive_ticks(fleet, "r1", corner.x, corner.y, until) == []
    assert not [c for c in fleet.out[-20:] if isinstance(c, LogLine) and "unwatched" in c.text]
    # nor is a second robot while it is there, even past the bound (its watch not yet begun)
    before = len(fleet.out)
    for _ in range(9):
        fleet.status("r1", RobotMode.DELIVERING, dt=10.0, x=corner.x, y=corner.y)
        fleet.status("r2")  # free at the depot
        fleet.on(Tick())
    assert fleet.coord.shift_now(fleet.now) > due
    assert sent(fleet.out[before:]) == []
    fleet.on(MissionEventReceived("r1", watch.id, "patrol", TaskEvent.ARRIVED), dt=1.0)
    fleet.on(MissionEventReceived("r1", watch.id, "patrol", TaskEvent.DWELL_DONE), dt=20.0)
    assert fleet.store.visits()[-1]["hotspot_id"] == "hs_yard_corner"
    sch = fleet.coord.patrol.scheduler
    assert sch is not None and sch.last_left()[0] == pytest.approx(fleet.now)
    # the corner is watched again within its bound: nothing more is needed for now
    assert drive_ticks(fleet, "r1", corner.x, corner.y, fleet.now + 120.0) == []


def test_a_later_visit_of_the_robot_the_guard_sent_is_not_the_watch_it_was_sent_for(
        fleet: Fleet) -> None:
    # r1 alone: the guard sends it to the corner; its next trip (waiting at the depot) visits
    # the corner too, after E's door at 02:40, past the corner's next bound. Once the watch is
    # made, that later visit does not count as it: r1 leaves its trip again in time.
    fleet.status("r1")
    (m,) = sent(fleet.dispatch(ONE)[1])
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.on(PatrolRequested("r1", True))
    fleet.dispatch("id,address_id,window_start,window_end\nE,101-1,02:40,04:00\n")
    fleet.coord._queues["r1"] = [("E", "@hs_yard_corner")]  # as a joint plan would queue it
    corner = fleet.coord.patrol.hotspot_pose("hs_yard_corner")
    assert CancelMission("r1", m.mission_id) in drive_ticks(fleet, "r1", 22.0, 17.0,
                                                            fleet.now + 600.0)
    fleet.status("r1", x=22.0, y=17.0, dt=1.0)
    (m2,) = sent(fleet.on(Tick()))
    watch = m2.tasks[0]
    fleet.on(MissionAccepted("r1", m2.mission_id))
    fleet.on(MissionEventReceived("r1", watch.id, "patrol", TaskEvent.ARRIVED), dt=60.0)
    fleet.on(MissionEventReceived("r1", watch.id, "patrol", TaskEvent.DWELL_DONE), dt=20.0)
    sch = fleet.coord.patrol.scheduler
    assert sch is not None
    due = sch.last_left()[0] + 600.0
    cmds = drive_ticks(fleet, "r1", corner.x + 10.0, corner.y - 5.0, fleet.now + 600.0)
    assert CancelMission("r1", m2.mission_id) in cmds
    assert fleet.coord.shift_now(fleet.now) < due


def test_a_hotspot_is_left_to_its_planned_visit_while_that_is_in_time(fleet: Fleet) -> None:
    fleet.status("r1")
    fleet.on(PatrolRequested("r1", True))
    answer, cmds = fleet.dispatch(THREE)  # the trips carry the corner's visits
    (m,) = sent(cmds)
    assert any(t.kind is TaskKind.PATROL for t in m.tasks)
    fleet.on(MissionAccepted("r1", m.mission_id))
    assert drive_ticks(fleet, "r1", 3.0, 3.0, fleet.now + 60.0) == []


def test_a_hotspot_no_robot_can_reach_without_a_late_parcel_is_told_once(
        fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(TIGHT)  # T by 02:03: no detour holds
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.on(PatrolRequested("r1", True))
    before = len(fleet.out)
    assert drive_ticks(fleet, "r1", 22.0, 17.0, fleet.now + 300.0) == []
    lines = [c.text for c in fleet.out[before:] if isinstance(c, LogLine)
             and c.text.startswith("hs_yard_corner: unwatched past its bound")]
    assert lines == ["hs_yard_corner: unwatched past its bound at 02:06:40 unless plans "
                     "change: no robot can go without a late parcel"]


# Handovers of 10 min, one after the other at the same door: no 20 s watch fits between them,
# so the yard corner (600 s bound) cannot be held with both parcels.
OVERLOAD = """id,address_id,window_start,window_end
A,101-1,02:00,02:11
B,101-1,02:10,02:21
"""
BUSY = replace(CONFIG, compartments=2, service_time_s=600.0, solver_time_limit_s=0.5)


def test_a_hard_search_that_missed_a_parcel_is_not_a_refusal_when_the_second_holds_both(
        yard: DistrictMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The solver's search is time-limited: on a loaded machine the run with every visit
    required may leave a parcel out that the run with optional visits serves along with every
    visit. That plan holds both, so the batch is dispatched on it, not refused."""
    fleet = Fleet(yard, tmp_path / "fleet.db", replace(CONFIG, solver_time_limit_s=0.5))
    fleet.status("r1")
    fleet.on(PatrolRequested("r1", True))
    real = fleet.coord._plan
    runs: list[bool | None] = []

    def plan(orders: list[Order], robot_ids: list[str], hard: bool | None = None
             ) -> DispatchPlan:
        runs.append(hard)
        p = real(orders, robot_ids, hard)
        if hard is None:  # the search with required visits comes back short of parcel A
            return replace(p, routes=tuple(replace(r, stops=tuple(
                st for st in r.stops if st.order_id != "A")) for r in p.routes),
                unserved=(("A", "solver could not fit it"),), unserved_causes={
                    "A": UnservedCause.NO_ROOM})
        return p

    monkeypatch.setattr(fleet.coord, "_plan", plan)
    answer, cmds = fleet.dispatch(THREE)
    assert runs == [None, False]
    assert answer.success and answer.plan is not None and not answer.plan.unserved
    assert not answer.plan.missed and answer.plan.visit_ids
    assert fleet.coord.orders["A"].state is not OrderState.UNSERVED and sent(cmds)
    fleet.store.close()


@pytest.mark.parametrize("bounds", ["hard", "soft"])
def test_an_overloaded_batch_is_told_before_it_is_accepted(
        yard: DistrictMap, tmp_path: Path, bounds: str) -> None:
    fleet = Fleet(yard, tmp_path / "fleet.db", replace(BUSY, patrol_bounds=bounds))
    fleet.status("r1")
    fleet.on(PatrolRequested("r1", True))
    answer, cmds = fleet.dispatch(OVERLOAD)
    if bounds == "hard":  # refused whole, naming the parcels late and the hotspot over
        assert not answer.success and answer.message.startswith(
            "refused (patrol_bounds: hard): the fleet cannot hold both")
        assert any(p.startswith("parcel ") and "would be late" in p for p in answer.problems)
        assert "hotspot hs_yard_corner would go over its idleness bound" in answer.problems
        assert fleet.coord.orders == {} and sent(cmds) == []
    else:  # accepted, parcels first, saying which hotspot goes over
        assert answer.success and answer.plan is not None and answer.plan.served == 2
        assert "hotspots that will go over their bound: hs_yard_corner" in answer.message
        assert any(isinstance(c, LogLine) and "hs_yard_corner" in c.text for c in cmds)
        assert set(fleet.coord.orders) == {"A", "B"}
    fleet.store.close()


def test_a_robot_called_on_its_way_back_looks_then_returns_to_load_its_next_trip(
        fleet: Fleet) -> None:
    m, first = first_of_three_trips(fleet)
    fleet.on(MissionEventReceived("r1", first, "deliver", TaskEvent.HANDED_OVER, *SPOT, "pin"),
             dt=400.0)
    fleet.status("r1", RobotMode.DELIVERING, x=22.0, y=17.0)
    cmds = fleet.on(InvestigateRequested(20.0, 10.0))
    assert CancelMission("r1", m.mission_id) in cmds
    fleet.status("r1", x=22.0, y=17.0, dt=1.0)
    (m2,) = sent(fleet.on(Tick()))
    assert [t.kind for t in m2.tasks] == [TaskKind.INVESTIGATE, TaskKind.RETURN]
    assert len(fleet.coord.queues["r1"]) == 2  # the next trip goes once it is back
    (m3,) = sent(fleet.on(MissionResultReceived("r1", m2.mission_id, MissionOutcome.SUCCEEDED,
                                                (m2.tasks[0].id, "depot")), dt=200.0))
    assert m3.kind is MissionKind.DELIVER and len(orders_of(m3)) == 1


def test_a_resumed_trip_the_robot_refused_stays_with_it(fleet: Fleet) -> None:
    fleet.status("r1")
    _, cmds = fleet.dispatch(ONE)
    (m,) = sent(cmds)
    fleet.on(MissionAccepted("r1", m.mission_id))
    fleet.status("r1", RobotMode.DELIVERING, dt=300.0, x=22.0, y=17.0)
    fleet.status("r2", x=3.0, y=3.0)
    fleet.on(InvestigateRequested(*SPOT))
    fleet.status("r1", x=22.0, y=17.0, dt=1.0)
    (m2,) = sent(fleet.on(Tick()))
    fleet.on(MissionRejected("r1", m2.mission_id, "mission server not available"))
    assert fleet.coord.orders["D"].state is OrderState.ASSIGNED  # on board r1, not requeued
    (m3,) = sent(fleet.on(Tick(), dt=1.0))
    assert m3.robot_id == "r1" and [t.kind for t in m3.tasks] == [
        TaskKind.INVESTIGATE, TaskKind.DELIVER, TaskKind.RETURN]
    assert (m3.tasks[0].pose.x, m3.tasks[0].pose.y) == SPOT
