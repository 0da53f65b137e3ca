"""Alert delivery end to end over DDS: the robot's AlertSender and outbox against the real
fleet_manager process on sim time — a 60 s link loss and a SIGKILL mid-burst lose nothing
and store nothing twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rclpy
from dawnpatrol_pytest import wait_for
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Bool

from dawnpatrol_core.anomaly.events import AnomalyEvent, Evidence, Severity, new_event_uuid
from dawnpatrol_core.store.outbox import Outbox
from dawnpatrol_interfaces.msg import AnomalyAck
from dawnpatrol_interfaces.srv import QueryAnomalies
from dawnpatrol_robot.alert_sender import AlertSender
from dawnpatrol_ros.convert import seconds_to_time
from dawnpatrol_ros.qos import LATCHED_QOS

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[1]
SIM_T0 = 7000.0  # s of sim time at the start of a test
RATE = 10.0  # sim seconds per real second
N_EVENTS = 500
BURST_PER_S = 50.0  # events put per sim second during the burst
KINDS = ("loitering", "intrusion", "stuck", "battery_low")
ACKS_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                      history=HistoryPolicy.KEEP_LAST)


def make_events(rng: np.random.Generator, t0: float) -> list[AnomalyEvent]:
    """N_EVENTS distinct valid events of robot r1 with counts 1..5 (revision = count - 1), each
    in its own zone, so that each is its own incident for the fleet as well."""
    out = []
    for i in range(N_EVENTS):
        kind = KINDS[i % len(KINDS)]
        count = 1 + i % 5
        x, y = (float(v) for v in rng.uniform(0.0, 200.0, 2).round(2))
        out.append(AnomalyEvent(
            uuid=new_event_uuid(rng), robot_id="r1", kind=kind,
            severity=Severity.WARNING if i % 2 else Severity.ALERT, confidence=0.9, x=x, y=y,
            zone=f"z{i}", first_seen=t0, last_seen=t0 + count, count=count,
            description=f"burst event {i}",
            evidence=Evidence(track=((-1.0, x, y), (0.0, x + 0.5, y))), revision=count - 1))
    return out


class FleetProcess:
    """The real fleet_manager on sim time, as a child process logging to a file."""

    def __init__(self, tmp: Path) -> None:
        self.data_dir = tmp / "fleet"
        self.log = tmp / "fleet.log"
        self.args = [sys.executable, "-m", "dawnpatrol_fleet.fleet_manager_node", "--ros-args",
                     "-p", f"map_dir:={REPO / 'maps' / 'suwon_dawn'}",
                     "-p", f"data_dir:={self.data_dir}", "-p", "robot_ids:=[r1]",
                     "-p", "use_sim_time:=true"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(self.args, stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=REPO,
                                         env=dict(os.environ))

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.output()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")[-3000:] if self.log.exists() else ""

    def stored(self) -> dict[str, tuple[int, int]]:
        """uuid -> (count, revision) read straight from the inbox file."""
        conn = sqlite3.connect(self.data_dir / "anomalies.db", timeout=10.0)
        try:
            rows = conn.execute("SELECT uuid, count, revision FROM anomalies").fetchall()
        finally:
            conn.close()
        assert len(rows) == len({r[0] for r in rows})
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}


class Harness:
    """Robot side (an AlertSender on an outbox, spun in this thread, on sim time) and a
    control-room side in a background thread: /clock at RATE x real time, the link switch,
    a receipt recorder and the query client."""

    def __init__(self, tmp: Path) -> None:
        self.fleet = FleetProcess(tmp)
        # a viewer's key in the fleet's registry: queries are signed (docs/security.md)
        from dawnpatrol_core.security.enroll import enroll_operator
        from dawnpatrol_core.security.roles import Role

        self.viewer = enroll_operator("viewer", Role.VIEWER, tmp / "keys", self.fleet.data_dir,
                                      time.time(), by="test")
        # control room: clock, link switch, ack recorder, service client
        self.ctx = Context()
        rclpy.init(context=self.ctx)
        self.node = Node("alert_delivery_test", context=self.ctx)
        self._t0 = time.monotonic()
        self.clock_pub = self.node.create_publisher(Clock, "/clock", 10)
        self.link_pub = self.node.create_publisher(Bool, "/r1/sim/link_up", LATCHED_QOS)
        self.lock = threading.Lock()
        self.acked: set[str] = set()
        self.node.create_subscription(AnomalyAck, "/fleet/anomaly_acks", self._on_ack, ACKS_QOS)
        self.node.create_timer(0.01, self._tick)
        self.query = self.node.create_client(QueryAnomalies, "/fleet/query_anomalies")
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()
        # robot: everything below is used from this thread only (sqlite3 is per thread)
        self.rctx = Context()
        rclpy.init(context=self.rctx)
        self.robot = Node("alert_sender", namespace="r1", context=self.rctx,
                          parameter_overrides=[Parameter("use_sim_time", value=True)])
        self.outbox = Outbox(tmp / "outbox.db")
        self.sender = AlertSender(self.robot, self.outbox, "r1")
        self.rexec = SingleThreadedExecutor(context=self.rctx)
        self.rexec.add_node(self.robot)
        self.spin_until(lambda: self.now() >= SIM_T0, 20.0, "/clock")
        self.wait_fleet()

    def _tick(self) -> None:
        self.clock_pub.publish(Clock(clock=seconds_to_time(self.sim_of(time.monotonic()))))

    def _on_ack(self, msg: AnomalyAck) -> None:
        if msg.robot_id == "r1":
            with self.lock:
                self.acked.add(msg.uuid)

    def acked_now(self) -> set[str]:
        with self.lock:
            return set(self.acked)

    def sim_of(self, mono: float) -> float:
        return SIM_T0 + RATE * (mono - self._t0)

    def now(self) -> float:
        """The robot's clock (sim time), s."""
        return float(self.robot.get_clock().now().nanoseconds * 1e-9)

    def spin_until(self, pred: Callable[[], object], timeout: float, what: str) -> None:
        """Spin the robot node until ``pred`` holds; fail after ``timeout`` real seconds."""
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n"
                                     f"{self.fleet.output()}")
            self.rexec.spin_once(timeout_sec=0.01)

    def wait_fleet(self) -> None:
        """Until the fleet subscribes to /r1/anomalies and publishes receipts."""
        self.spin_until(lambda: self.robot.count_subscribers("/r1/anomalies") > 0
                        and self.robot.count_publishers("/fleet/anomaly_acks") > 0
                        and self.node.count_subscribers("/r1/sim/link_up") > 0,
                        30.0, "fleet manager up")

    def set_link(self, up: bool) -> None:
        self.link_pub.publish(Bool(data=up))
        self.spin_until(lambda: self.sender.link_up == up, 5.0, f"link_up {up}")

    def put_burst(self, events: list[AnomalyEvent], start: int, stop: int) -> None:
        """Put events[start:stop] at BURST_PER_S per sim second, spinning meanwhile."""
        t0, i = self.now(), start
        while i < stop:
            due = min(stop, start + 1 + int((self.now() - t0) * BURST_PER_S))
            while i < due:
                self.outbox.put(events[i], self.now())
                i += 1
            self.rexec.spin_once(timeout_sec=0.01)

    def drain(self, timeout: float) -> tuple[float, float]:
        """Spin until the outbox is empty; returns (real s, sim s) it took."""
        r0, s0 = time.monotonic(), self.now()
        self.spin_until(lambda: len(self.outbox) == 0, timeout, "outbox drained")
        return time.monotonic() - r0, self.now() - s0

    def query_all(self) -> Any:
        # call_async may meet a killed server's stale endpoint: re-send until answered
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            if not self.query.wait_for_service(timeout_sec=1.0):
                continue
            fut = self.query.call_async(self.signed_query())
            try:
                wait_for(fut.done, 5.0, "query answer")
            except AssertionError:
                self.query.remove_pending_request(fut)
                continue
            return fut.result()
        raise AssertionError(f"no answer from /fleet/query_anomalies\n{self.fleet.output()}")

    def signed_query(self) -> QueryAnomalies.Request:
        """A query with a fresh envelope (each attempt: a re-sent one would be a replay)."""
        from dawnpatrol_core.security.envelope import envelope_to_text, new_nonce
        from dawnpatrol_core.security.roles import Command

        env = self.viewer.sign(Command.QUERY_ANOMALIES, "fleet", {"since_s": 0.0, "kind": "",
                               "unacknowledged_only": False}, time.time(), new_nonce())
        return QueryAnomalies.Request(envelope=envelope_to_text(env))

    def check_store(self, events: list[AnomalyEvent]) -> dict[str, tuple[int, int]]:
        """All events in the store exactly once, as sent (service and inbox file agree)."""
        res = self.query_all()
        assert not res.refused, res.refused
        uuids = [m.uuid for m in res.anomalies]
        assert len(uuids) == N_EVENTS, self.fleet.output()
        assert len(set(uuids)) == N_EVENTS
        assert set(uuids) == {e.uuid for e in events}
        stored = self.fleet.stored()
        assert len(stored) == N_EVENTS
        # none twice: every stored count and revision is the one the robot sent
        assert stored == {e.uuid: (e.count, e.revision) for e in events}
        assert {m.uuid: m.count for m in res.anomalies} == {e.uuid: e.count for e in events}
        assert "anomaly dropped" not in self.fleet.output()
        return stored

    def close(self) -> None:
        self.fleet.stop()
        self.rexec.shutdown()
        self.robot.destroy_node()
        self.outbox.close()
        rclpy.try_shutdown(context=self.rctx)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.ctx)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


def test_link_loss_60s_mid_burst_delivers_all_once(harness: Harness) -> None:
    h = harness
    events = make_events(np.random.default_rng(9), h.now())
    h.put_burst(events, 0, N_EVENTS // 2)
    h.set_link(False)
    t_down = h.now()
    h.put_burst(events, N_EVENTS // 2, N_EVENTS)  # the rest of the burst while the link is down
    held = len(h.outbox)
    assert held >= N_EVENTS - N_EVENTS // 2  # the second half cannot have gone out
    h.spin_until(lambda: h.now() >= t_down + 60.0, 30.0, "60 s of sim time link down")
    assert len(h.outbox) == held
    h.set_link(True)
    t_up = h.now()
    real_s, sim_s = h.drain(40.0)
    h.check_store(events)
    print(f"\nlink loss: down {t_up - t_down:.1f} sim s, {held} held; drained in "
          f"{real_s:.2f} real s = {sim_s:.1f} sim s; {h.sender.published} published "
          f"for {N_EVENTS} events; {len(h.acked_now())} uuids acked")


def test_fleet_sigkill_mid_burst_keeps_acked_and_stores_all_once(harness: Harness) -> None:
    h = harness
    events = make_events(np.random.default_rng(11), h.now())
    h.put_burst(events, 0, N_EVENTS // 2)
    h.spin_until(lambda: len(h.acked_now()) >= 100, 30.0, "100 receipts")
    h.fleet.kill()
    acked_before = h.acked_now()
    pending_at_kill = len(h.outbox)
    # every receipt the fleet sent is for an event its file holds, before any restart
    assert acked_before <= set(h.fleet.stored())
    h.put_burst(events, N_EVENTS // 2, N_EVENTS)  # the burst goes on with the fleet down
    h.fleet.start()
    h.wait_fleet()
    real_s, sim_s = h.drain(60.0)
    stored = h.check_store(events)
    assert acked_before <= set(stored)
    print(f"\nsigkill: {len(acked_before)} acked before the kill, {pending_at_kill} in the outbox "
          f"then; drained {real_s:.2f} real s = {sim_s:.1f} sim s after restart; "
          f"{h.sender.published} published for {N_EVENTS} events")
