"""Mission node in a real in-process ROS graph: deliveries with PIN handover, absent recipient,
patrol dwell, RobotStatus, parameter validation and resume from persisted state; goals only
when signed by the fleet, and a goal replayed after a restart refused."""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dawnpatrol_pytest import FleetKey, wait_for
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import BatteryState
from std_msgs.msg import Bool, Float64, String
from test_navigator_client import FakeNavServer, Ros

from dawnpatrol_core.delivery.mission import MissionState, expected_pin, make_task, new_mission
from dawnpatrol_core.security.gate import FleetSigner, onboard_signer
from dawnpatrol_interfaces.action import Mission
from dawnpatrol_interfaces.msg import MissionEvent, MissionTask, RobotStatus
from dawnpatrol_interfaces.srv import CancelMission, SubmitPin
from dawnpatrol_robot.mission_node import MissionNode
from dawnpatrol_robot.mission_state import MissionStateFile
from dawnpatrol_ros.convert import seconds_to_time, time_to_seconds
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS
from dawnpatrol_ros.signing import message_fields

pytestmark = pytest.mark.ros
SECRET = "test-secret"
_FLEET_DIR = tempfile.TemporaryDirectory(prefix="dp-fleet-key-")
FLEET = FleetKey(_FLEET_DIR.name)  # the fleet whose public key the robot holds


class Client(Node):
    """The fleet + recipient + sensors side of the mission node's graph."""

    def __init__(self, ros: Ros) -> None:
        super().__init__("fleet_side", namespace="/r1", context=ros.context)
        self.events: list[MissionEvent] = []
        self.status: list[RobotStatus] = []
        self.announced: list[str] = []
        self.mission = ActionClient(self, Mission, "mission")
        self.pin = self.create_client(SubmitPin, "submit_pin")
        self.keypad: FleetSigner | None = None  # the robot's onboard key, once it has a state dir
        self.create_subscription(MissionEvent, "mission_events", self.events.append, 100)
        self.create_subscription(RobotStatus, "status", self.status.append, LATCHED_QOS)
        self.create_subscription(String, "announce", lambda m: self.announced.append(m.data),
                                 RELIABLE_QOS)
        self.battery = self.create_publisher(BatteryState, "battery", RELIABLE_QOS)
        self.estop = self.create_publisher(Bool, "estopped", LATCHED_QOS)
        self.health = self.create_publisher(DiagnosticStatus, "localization/health", LATCHED_QOS)
        self.watch = self.create_publisher(Float64, "watch_until", RELIABLE_QOS)

    def kinds(self, task_id: str) -> list[str]:
        return [e.event for e in self.events if e.task_id == task_id]

    def send(self, *tasks: MissionTask) -> Any:
        """Send a mission signed by the fleet; returns the future of its result."""
        handle = self.send_goal(FLEET.sign("mission", "r1", Mission.Goal(mission_id="m1",
                                                                      tasks=list(tasks))))
        assert handle.accepted
        return handle.get_result_async()

    def send_goal(self, goal: Mission.Goal) -> Any:
        """Send ``goal`` as it is; returns its goal handle (accepted or not)."""
        wait_for(self.mission.server_is_ready, 10.0, "mission action server")
        fut = self.mission.send_goal_async(goal)
        wait_for(fut.done, 10.0, "goal response")
        return fut.result()

    def submit(self, order_id: str, pin: str, signed: bool = True) -> SubmitPin.Response:
        """Enter a PIN at the robot's keypad (signed with its onboard key) or, unsigned, as
        any process on the network could."""
        req = SubmitPin.Request(order_id=order_id, pin=pin)
        if signed:
            assert self.keypad is not None
            req.envelope = self.keypad.sign("submit_pin", "r1", message_fields(req), time.time())
        fut = self.pin.call_async(req)
        wait_for(fut.done, 10.0, "submit_pin response")
        return fut.result()


def task(kind: str, task_id: str, x: float = 5.0, dwell_s: float = 0.0) -> MissionTask:
    t = MissionTask(kind=kind, id=task_id, dwell_s=dwell_s)
    t.pose.position.x, t.pose.orientation.w = x, 1.0
    if kind == "deliver":
        t.stop.order_id, t.stop.handover_method = task_id, "pin"
    return t


def start(ros: Ros, tmp_path: Path, **params: Any) -> MissionNode:
    values = {"pin_secret": SECRET, "state_dir": str(tmp_path), "status_rate_hz": 10.0,
              "absent_after_s": 30.0, "fleet_public_key": str(FLEET.pub), **params}
    return ros.add(MissionNode(namespace="/r1", context=ros.context, parameter_overrides=[
        Parameter(k, value=v) for k, v in values.items()]))


@pytest.fixture
def ros() -> Iterator[Ros]:
    r = Ros()
    yield r
    r.close()


@pytest.fixture
def graph(ros: Ros, tmp_path: Path) -> tuple[Client, MissionNode]:
    ros.add(FakeNavServer(ros.context))
    client = ros.add(Client(ros))
    client.keypad = onboard_signer(tmp_path)
    return client, start(ros, tmp_path)


def test_deliver_with_right_pin_hands_over(graph: tuple[Client, MissionNode]) -> None:
    client, _ = graph
    result = client.send(task("deliver", "O-1"))
    wait_for(lambda: "arrived" in client.kinds("O-1"), 10.0, "arrived")
    wait_for(lambda: any("O-1" in a for a in client.announced), 10.0, "announcement")
    wait_for(lambda: client.pin.service_is_ready(), 10.0, "submit_pin service")
    assert not client.submit("O-9", "0000").accepted  # no handover waiting for that order
    unsigned = client.submit("O-1", expected_pin("O-1", SECRET), signed=False)
    assert not unsigned.accepted and "no signed envelope" in unsigned.message
    res = client.submit("O-1", expected_pin("O-1", SECRET))
    assert res.accepted, res.message
    wait_for(result.done, 10.0, "mission result")
    assert result.result().result.success
    assert list(result.result().result.completed_ids) == ["O-1"]
    wait_for(lambda: "handed_over" in client.kinds("O-1"), 10.0, "handed_over event")
    assert client.kinds("O-1") == ["started", "arrived", "announced", "handed_over"]
    assert [e.method for e in client.events if e.event == "handed_over"] == ["pin"]


def test_early_robot_waits_at_the_door_until_the_window_opens(ros: Ros, tmp_path: Path) -> None:
    ros.add(FakeNavServer(ros.context))
    client = ros.add(Client(ros))
    # A UTC offset that makes it 01:00 local now, so the night's windows are ahead (any hour).
    now = time.time()
    offset = (3600.0 - now % 86400.0 + 43200.0) % 86400.0 - 43200.0
    start(ros, tmp_path, utc_offset_s=offset)
    t = task("deliver", "O-7")
    t.stop.handover_method = "door"
    t.stop.window_start = seconds_to_time(3600.0 + 5.0)  # opens 5 s from now
    opens = now + 5.0
    result = client.send(t)
    wait_for(lambda: "waiting" in client.kinds("O-7"), 10.0, "waiting event")
    waiting = next(e for e in client.events if e.event == "waiting")
    assert waiting.detail.startswith("window opens in"), waiting.detail
    wait_for(result.done, 20.0, "mission result")
    assert result.result().result.success
    assert client.kinds("O-7") == ["started", "arrived", "waiting", "announced", "handed_over"]
    handed = next(e for e in client.events if e.event == "handed_over")
    assert time_to_seconds(handed.header.stamp) >= opens - 0.05  # not before the window


def test_wrong_pin_three_times_keeps_parcel_and_returns_it(
        graph: tuple[Client, MissionNode]) -> None:
    client, _ = graph
    result = client.send(task("deliver", "O-2"), task("return", "depot", x=0.0))
    wait_for(lambda: "arrived" in client.kinds("O-2"), 10.0, "arrived")
    wait_for(lambda: client.pin.service_is_ready(), 10.0, "submit_pin service")
    right = expected_pin("O-2", SECRET)
    wrong = f"{(int(right) + 1) % 10_000:04d}"
    assert not client.submit("O-2", wrong, signed=False).accepted  # refused, not an attempt
    msgs = [client.submit("O-2", wrong).message for _ in range(3)]
    assert msgs == ["wrong PIN, 2 attempt(s) left", "wrong PIN, 1 attempt(s) left",
                    "wrong_pin_limit"]
    wait_for(result.done, 10.0, "mission result")
    r = result.result().result
    assert not r.success
    assert (list(r.failed_ids), list(r.failure_reasons)) == (["O-2"], ["wrong_pin_limit"])
    assert list(r.completed_ids) == ["depot"]
    failed = [e for e in client.events if e.event == "failed"]
    assert [(e.task_id, e.detail) for e in failed] == [("O-2", "wrong_pin_limit")]
    wait_for(lambda: "returned" in client.kinds("depot"), 10.0, "returned event")
    returned = [e for e in client.events if e.event == "returned"]
    assert returned[0].detail == "parcels: O-2"


def test_absent_recipient_fails_absent(ros: Ros, tmp_path: Path) -> None:
    ros.add(FakeNavServer(ros.context))
    client = ros.add(Client(ros))
    start(ros, tmp_path, absent_after_s=0.3)
    result = client.send(task("deliver", "O-3"))
    wait_for(result.done, 15.0, "mission result")
    r = result.result().result
    assert (list(r.failed_ids), list(r.failure_reasons)) == (["O-3"], ["absent"])
    wait_for(lambda: "failed" in client.kinds("O-3"), 10.0, "failed event")
    assert client.kinds("O-3") == ["started", "arrived", "announced", "failed"]
    # the parcel stays on board after the mission
    wait_for(lambda: client.status and list(client.status[-1].parcels_on_board) == ["O-3"],
             10.0, "status listing the kept parcel")


def test_patrol_dwells_and_status_reports_mode(graph: tuple[Client, MissionNode]) -> None:
    client, _ = graph
    client.battery.publish(BatteryState(percentage=0.5))
    client.health.publish(DiagnosticStatus(message="DEGRADED",
                                           values=[KeyValue(key="score", value="0.4")]))
    result = client.send(task("patrol", "H-1", dwell_s=1.0))
    wait_for(lambda: any(s.mode == RobotStatus.MODE_PATROLLING for s in client.status), 10.0,
             "PATROLLING status")
    s = next(s for s in client.status if s.mode == RobotStatus.MODE_PATROLLING)
    assert s.robot_id == "r1" and s.current_task == "patrol H-1"
    wait_for(result.done, 10.0, "mission result")
    assert client.kinds("H-1") == ["started", "arrived", "dwell_done"]
    wait_for(lambda: client.status[-1].mode == RobotStatus.MODE_IDLE, 10.0, "IDLE status")
    last = client.status[-1]
    assert last.battery_percent == pytest.approx(50.0)
    assert last.localization_health == RobotStatus.LOC_DEGRADED
    assert last.localization_quality == pytest.approx(0.4)
    client.estop.publish(Bool(data=True))
    wait_for(lambda: client.status[-1].mode == RobotStatus.MODE_ESTOPPED
             and client.status[-1].estopped, 10.0, "ESTOPPED status")


def test_a_patrol_dwell_waits_for_the_monitor_to_judge_someone_lingering(
        graph: tuple[Client, MissionNode]) -> None:
    client, node = graph
    until = node._now() + 3.0  # the anomaly monitor: someone lingering is judged then
    client.watch.publish(Float64(data=math.nan))  # a bad value changes nothing
    beat = client.create_timer(0.2, lambda: client.watch.publish(Float64(data=until)))
    result = client.send(task("patrol", "H-1", dwell_s=0.5))
    wait_for(result.done, 15.0, "mission result")
    beat.cancel()
    done = next(e for e in client.events if e.task_id == "H-1" and e.event == "dwell_done")
    assert time_to_seconds(done.header.stamp) >= until
    assert "watching someone lingering" in done.detail


def test_restart_resumes_from_persisted_state(ros: Ros, tmp_path: Path) -> None:
    ros.add(FakeNavServer(ros.context))
    client = ros.add(Client(ros))
    node = start(ros, tmp_path)
    client.send(task("patrol", "H-1", dwell_s=600.0), task("patrol", "H-2", dwell_s=0.2))
    wait_for(lambda: "arrived" in client.kinds("H-1"), 10.0, "arrived at H-1")
    saved = MissionStateFile(tmp_path).load()
    assert saved is not None and saved.index == 0 and saved.mission_id == "m1"
    ros.remove(node)  # "killed": the state file stays behind
    # the state as if H-1 had finished before the kill: the new node starts at H-2
    MissionStateFile(tmp_path).save(
        MissionState("m1", saved.tasks, index=1, completed=("H-1",)))
    client.events.clear()
    start(ros, tmp_path)
    wait_for(lambda: "dwell_done" in client.kinds("H-2"), 10.0, "resumed H-2 done")
    started = [e for e in client.events if e.event == "started"]
    assert [(e.task_id, e.detail) for e in started] == [("H-2", "resumed after restart")]
    wait_for(lambda: MissionStateFile(tmp_path).load() is None, 10.0, "state cleared")


def test_restart_mid_task_restarts_current_task(ros: Ros, tmp_path: Path) -> None:
    ros.add(FakeNavServer(ros.context))
    client = ros.add(Client(ros))
    client.keypad = onboard_signer(tmp_path)
    MissionStateFile(tmp_path).save(new_mission(
        "m7", (make_task("deliver", "O-5", 1.0, 2.0), make_task("return", "depot", 0.0, 0.0))))
    start(ros, tmp_path)
    wait_for(lambda: "arrived" in client.kinds("O-5"), 10.0, "resumed delivery arrived")
    assert [e.detail for e in client.events if e.event == "started"] == ["resumed after restart"]
    wait_for(lambda: client.pin.service_is_ready(), 10.0, "submit_pin service")
    assert client.submit("O-5", expected_pin("O-5", SECRET)).accepted
    wait_for(lambda: "returned" in client.kinds("depot"), 10.0, "returned")
    assert [e.detail for e in client.events if e.event == "returned"] == ["parcels: none"]


@pytest.mark.parametrize(("arg", "line"), [
    ("max_pin_attempts:=0",
     "mission: parameter 'max_pin_attempts': got 0, expected an integer >= 1"),
    ("navigator:=nav2", "mission: parameter 'navigator': got 'nav2', expected "
     "nav2_simple_commander to be installed (use navigator:=dawnpatrol here)"),
])
def test_bad_parameter_exits_2_with_one_line(tmp_path: Path, arg: str, line: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from dawnpatrol_robot.mission_node import main; "
         "sys.exit(main())", "--ros-args", "-p", arg, "-p", f"state_dir:={tmp_path}"],
        capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [line]


def test_feedback_and_cancel(ros: Ros, tmp_path: Path) -> None:
    server = ros.add(FakeNavServer(ros.context))
    server.mode = "hold"
    client = ros.add(Client(ros))
    start(ros, tmp_path)
    feedback: list[Mission.Feedback] = []
    wait_for(client.mission.server_is_ready, 10.0, "mission action server")
    fut = client.mission.send_goal_async(
        FLEET.sign("mission", "r1", Mission.Goal(
            mission_id="m2", tasks=[task("patrol", "H-1", dwell_s=5.0), task("deliver", "O-8")])),
        feedback_callback=lambda fb: feedback.append(fb.feedback))
    wait_for(fut.done, 10.0, "goal response")
    handle = fut.result()
    wait_for(lambda: any(f.distance_left_m > 0 for f in feedback), 10.0, "driving feedback")
    f = next(f for f in feedback if f.distance_left_m > 0)
    assert (f.current_index, f.total, f.current_id, f.state) == (0, 2, "H-1", "navigating")
    assert f.eta_s == pytest.approx(f.distance_left_m / 1.5 + 5.0)  # leg + dwell
    result = handle.get_result_async()
    refused = handle.cancel_goal_async()  # the action's own cancel: no signature, refused
    wait_for(refused.done, 10.0, "cancel response")
    assert not refused.result().goals_canceling and not result.done()
    cancel = client.create_client(CancelMission, "cancel_mission")
    for req, ok in ((CancelMission.Request(robot_id="r1", mission_id="m2"), False),  # unsigned
                    (FLEET.sign("cancel_mission", "r2", CancelMission.Request(
                        robot_id="r2", mission_id="m2")), False),  # for another robot
                    (FLEET.sign("cancel_mission", "r1", CancelMission.Request(
                        robot_id="r1", mission_id="m1")), False),  # not the running mission
                    (FLEET.sign("cancel_mission", "r1", CancelMission.Request(
                        robot_id="r1", mission_id="m2")), True)):
        answer = cancel.call_async(req)
        wait_for(answer.done, 10.0, "cancel_mission answer")
        assert answer.result().success is ok, answer.result().message
        assert ok or not result.done()
    wait_for(result.done, 10.0, "canceled result")
    r = result.result().result
    assert (list(r.failed_ids), list(r.failure_reasons)) == (["H-1", "O-8"], ["canceled"] * 2)
    assert MissionStateFile(tmp_path).load() is None
    wait_for(lambda: server.goals and not client.status[-1].current_task, 10.0, "idle again")
    assert list(client.status[-1].parcels_on_board) == ["O-8"]


def test_new_goal_preempts_a_resumed_mission(ros: Ros, tmp_path: Path) -> None:
    ros.add(FakeNavServer(ros.context))
    client = ros.add(Client(ros))
    MissionStateFile(tmp_path).save(new_mission(
        "old", (make_task("patrol", "H-9", 1.0, 2.0, dwell_s=600.0),)))
    start(ros, tmp_path)
    wait_for(lambda: "arrived" in client.kinds("H-9"), 10.0, "resumed patrol arrived")
    result = client.send(task("patrol", "H-1", dwell_s=0.1))
    wait_for(result.done, 10.0, "new mission result")
    assert list(result.result().result.completed_ids) == ["H-1"]
    assert client.kinds("H-9") == ["started", "arrived"]


def test_goal_not_signed_by_the_fleet_for_this_robot_is_rejected(
        graph: tuple[Client, MissionNode], tmp_path: Path) -> None:
    """Unsigned, signed by another key, signed for another robot, changed after signing,
    expired: each rejected, the reason in the robot's status; nothing runs."""
    client, _ = graph
    stranger = FleetKey(tmp_path / "stranger")

    def goal() -> Mission.Goal:
        return Mission.Goal(mission_id="mx", tasks=[task("patrol", "H-X", dwell_s=0.1)])

    tampered = FLEET.sign("mission", "r1", goal())
    tampered.tasks[0].pose.position.x = 40.0  # sent elsewhere after signing
    cases = [
        (goal(), "no signed envelope"),
        (stranger.sign("mission", "r1", goal()), "signature does not match"),
        (FLEET.sign("mission", "r2", goal()), "envelope is for mission on r2"),
        (tampered, "arguments differ from the signed ones"),
        (FLEET.sign("mission", "r1", goal(), now=time.time() - 60.0), "expired"),
    ]
    for g, why in cases:
        assert not client.send_goal(g).accepted, why
        wait_for(lambda why=why: client.status and why in client.status[-1].last_error, 10.0,
                 f"status naming '{why}'")
        assert client.status[-1].last_error.startswith("refused mission on r1: ")
    assert client.kinds("H-X") == []
    result = client.send(task("patrol", "H-1", dwell_s=0.1))  # the fleet's own goal runs
    wait_for(result.done, 10.0, "signed mission result")
    assert list(result.result().result.completed_ids) == ["H-1"]


def test_restarted_robot_refuses_a_goal_replayed_from_before_the_restart(
        ros: Ros, tmp_path: Path) -> None:
    ros.add(FakeNavServer(ros.context))
    client = ros.add(Client(ros))
    node = start(ros, tmp_path)
    captured = FLEET.sign("mission", "r1", Mission.Goal(
        mission_id="m1", tasks=[task("patrol", "H-1", dwell_s=0.1)]), lifetime_s=30.0)
    handle = client.send_goal(captured)
    assert handle.accepted
    result = handle.get_result_async()
    wait_for(result.done, 10.0, "first mission result")
    ros.remove(node)  # restarted mid-shift: the replay window is on disk in state_dir
    start(ros, tmp_path)
    client.status.clear()
    assert not client.send_goal(captured).accepted  # the same bytes, still within their life
    wait_for(lambda: client.status and "replay" in client.status[-1].last_error, 10.0,
             "status naming the replay")
    assert client.kinds("H-1").count("started") == 1
