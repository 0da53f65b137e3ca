"""fleet_manager in the ROS graph with a fake robot: dispatch, all-or-nothing rejection, e-stop
broadcast, idempotent anomaly inbox with receipts, and state after SIGKILL + restart."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_fakes import (
    SUWON,
    FakeRobot,
    FleetProcess,
    Operators,
    ServiceCaller,
    anomaly,
    wait_for,
)

from dawnpatrol_interfaces.srv import (
    AckAnomaly,
    DispatchOrders,
    FleetStatus,
    GenerateReport,
    QueryAnomalies,
    SetEStop,
)

pytestmark = pytest.mark.ros

GOOD = """id,address_id,window_start,window_end,size,handover
O-1,101-1,02:10,04:00,1,pin
O-2,102-1,02:20,04:30,1,door
"""
BAD = """id,address_id,window_start,window_end,size,handover
B-1,999-9,02:10,04:00,1,pin
B-2,101-1,01:00,01:30,1,pin
B-2,101-2,02:10,04:00,9,pin
"""
UUID = "0b7c1a52-8c1e-4a7e-9a0e-3d2f5e6a7b10"


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[tuple[FakeRobot, FleetProcess, ServiceCaller]]:
    robot = FakeRobot("r1")
    fleet = FleetProcess(tmp_path / "data")
    caller = ServiceCaller(robot)
    caller.ops = Operators(tmp_path / "data", tmp_path / "keys", {"kim": "supervisor"})
    try:
        yield robot, fleet, caller
    finally:
        fleet.kill()
        robot.close()


def status(caller: ServiceCaller) -> tuple[dict[str, str], dict]:
    res = caller.call(FleetStatus, "/fleet/get_status", FleetStatus.Request(),
                      sign=caller.ops.signer("kim", "get_status"))
    assert not res.refused, res.refused
    conn = {r.robot_id: c for r, c in zip(res.robots, res.connection, strict=True)}
    return conn, json.loads(res.summary_json)


def wait_online(caller: ServiceCaller) -> None:
    wait_for(lambda: status(caller)[0].get("r1") == "online", 20, "r1 online")


def dispatch(caller: ServiceCaller, text: str, dry_run: bool = False) -> DispatchOrders.Response:
    req = DispatchOrders.Request(orders_text=text, format="csv", source_name="night.csv",
                                 dry_run=dry_run, operator_name="kim")
    return caller.call(DispatchOrders, "/fleet/dispatch_orders", req, timeout=30, attempt_s=30,
                       sign=caller.ops.signer("kim", "dispatch_orders"))


def test_dispatch_sends_a_mission_and_bad_batch_is_rejected_whole(graph) -> None:
    robot, fleet, caller = graph
    wait_online(caller)
    res = dispatch(caller, BAD)
    assert not res.success
    assert len(res.problems) == 4, res.problems
    text = "\n".join(res.problems)
    assert all(p.startswith("night.csv:") for p in res.problems)
    for needle in ("unknown address", "window in the past", "duplicate", "compartments"):
        assert needle in text
    assert status(caller)[1]["orders"]["planned"] == 0 and not robot.goals

    res = dispatch(caller, GOOD)
    assert res.success, res.message
    plan = json.loads(res.plan_json)
    assert {s["order_id"] for r in plan["routes"] for s in r["stops"]} == {"O-1", "O-2"}
    wait_for(lambda: robot.goals, 10, "mission goal at r1")
    goal = robot.goals[0]
    kinds = [t.kind for t in goal.tasks]
    assert kinds[-1] == "return" and sorted(kinds[:-1]) == ["deliver", "deliver"]
    stop = next(t.stop for t in goal.tasks if t.id == "O-1")
    assert stop.window_start.sec == 2 * 3600 + 10 * 60 and stop.handover_method == "pin"
    assert math.isclose(stop.pose.position.x, 19.0) and math.isclose(stop.pose.position.y, 55.0)
    # the fake robot hands both parcels over: the store records proof of delivery
    wait_for(lambda: status(caller)[1]["orders"]["delivered"] == 2, 10, "2 delivered")
    # the same ids again are refused (they are already in the order book)
    again = dispatch(caller, GOOD)
    assert not again.success and len(again.problems) == 2


def test_estop_all_reaches_the_robot(graph) -> None:
    robot, fleet, caller = graph
    wait_online(caller)
    res = caller.call(SetEStop, "/fleet/estop",
                      SetEStop.Request(engage=True, robot_id="*", reason="drill",
                                       operator_name="kim"),
                      sign=caller.ops.signer("kim", "estop", "*"))
    assert res.success, res.message
    assert "r1: confirmed" in res.message
    assert [r.engage for r in robot.estops] == [True]


def test_anomaly_upsert_is_idempotent_and_acknowledged(graph) -> None:
    robot, fleet, caller = graph
    wait_online(caller)
    robot.anomaly_pub.publish(anomaly(UUID))
    robot.anomaly_pub.publish(anomaly(UUID))
    hostile = anomaly("1b7c1a52-8c1e-4a7e-9a0e-3d2f5e6a7b11", x=float("nan"))
    robot.anomaly_pub.publish(hostile)
    unknown = anomaly("2b7c1a52-8c1e-4a7e-9a0e-3d2f5e6a7b12", kind="ufo")
    robot.anomaly_pub.publish(unknown)
    wait_for(lambda: len(robot.acks) >= 2, 15, "two receipts")
    assert {a.uuid for a in robot.acks} == {UUID}
    q = caller.call(QueryAnomalies, "/fleet/query_anomalies", QueryAnomalies.Request(),
                    sign=caller.ops.signer("kim", "query_anomalies"))
    assert [a.uuid for a in q.anomalies] == [UUID] and q.acknowledged == [False]
    wait_for(lambda: robot.alerts, 10, "republished on /fleet/anomalies")
    ack = caller.call(AckAnomaly, "/fleet/ack_anomaly",
                      AckAnomaly.Request(uuid=UUID, note="police called", operator_name="kim"),
                      sign=caller.ops.signer("kim", "ack_anomaly"))
    assert ack.success
    q = caller.call(QueryAnomalies, "/fleet/query_anomalies",
                    QueryAnomalies.Request(unacknowledged_only=True),
                    sign=caller.ops.signer("kim", "query_anomalies"))
    assert list(q.anomalies) == []


def test_state_survives_sigkill(graph, tmp_path: Path) -> None:
    robot, fleet, caller = graph
    wait_online(caller)
    assert dispatch(caller, GOOD).success
    robot.anomaly_pub.publish(anomaly(UUID))
    wait_for(lambda: robot.acks, 10, "receipt")
    before = status(caller)[1]["orders"]
    fleet.kill()
    fleet.start()
    wait_online(caller)
    conn, summary = status(caller)
    assert summary["orders"] == before and set(conn) == {"r1"}
    q = caller.call(QueryAnomalies, "/fleet/query_anomalies",
                    QueryAnomalies.Request(unacknowledged_only=True),
                    sign=caller.ops.signer("kim", "query_anomalies"))
    assert [a.uuid for a in q.anomalies] == [UUID]
    out = tmp_path / "report"
    rep = caller.call(GenerateReport, "/fleet/generate_report",
                      GenerateReport.Request(out_dir=str(out), shift="test", operator_name="kim"),
                      timeout=60, attempt_s=30, sign=caller.ops.signer("kim", "generate_report"))
    assert rep.success, rep.message
    assert (out / "shift_report.md").read_text().count("O-1") >= 1
    assert "Operators who acted (signed commands, verified): kim (supervisor)." in (
        out / "shift_report.md").read_text()
    assert "Privacy" in (out / "compliance_report.md").read_text()


def test_bad_parameter_exits_2(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "dawnpatrol_fleet.fleet_manager_node", "--ros-args",
           "-p", f"map_dir:={SUWON}", "-p", f"data_dir:={tmp_path}", "-p", "shift_start:=2am"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines()[-1] == (
        "fleet_manager: parameter 'shift_start': got '2am', expected 'HH:MM'")


def test_patrol_and_investigate_send_missions(graph) -> None:
    from dawnpatrol_interfaces.srv import Investigate, SetPatrol

    robot, fleet, caller = graph
    wait_online(caller)
    res = caller.call(SetPatrol, "/fleet/set_patrol",
                      SetPatrol.Request(active=True, robot_id="r1", operator_name="kim"),
                      sign=caller.ops.signer("kim", "set_patrol", "r1"))
    assert res.success, res.message

    def kinds() -> list[str]:
        return [t.kind for g in list(robot.goals) for t in g.tasks]

    wait_for(lambda: "patrol" in kinds(), 15, "a patrol mission")
    task = next(t for g in robot.goals for t in g.tasks if t.kind == "patrol")
    assert task.id.startswith("hs_") and task.dwell_s > 0
    assert status(caller)[1]["patrol"] == {"r1": True}
    sign = caller.ops.signer("kim", "investigate")
    off = caller.call(Investigate, "/fleet/investigate",
                      Investigate.Request(x=1e6, y=55.0, operator_name="kim"), sign=sign)
    assert not off.success and off.robot_id == "" and math.isnan(off.eta_s)
    assert off.message.startswith("investigate: field 'x': got 1000000.0, expected a place on "
                                  "the map") and "\n" not in off.message
    unsigned = caller.call(Investigate, "/fleet/investigate",
                           Investigate.Request(x=39.0, y=55.0, operator_name="kim"))
    assert not unsigned.success and "refused investigate" in unsigned.message
    assert "investigate" not in kinds()
    res = caller.call(Investigate, "/fleet/investigate", Investigate.Request(
        x=39.0, y=55.0, note="a resident reports someone lingering", operator_name="kim"),
        sign=sign)
    # r1, the only robot, goes (stopping its patrol): the reply names it, its ETA and the spot
    assert res.success and res.robot_id == "r1", res.message
    assert 0.0 < res.eta_s < 3600.0 and "r1 " in res.message
    assert math.isfinite(res.watch_x) and math.isfinite(res.watch_y)
    wait_for(lambda: "investigate" in kinds(), 15, "an investigate mission")
    res = caller.call(SetPatrol, "/fleet/set_patrol",
                      SetPatrol.Request(active=False, robot_id="*", operator_name="kim"),
                      sign=caller.ops.signer("kim", "set_patrol", "*"))
    assert res.success and status(caller)[1]["patrol"] == {"r1": False}
