"""Scenario runner: plays the people around a simulated shift and writes the reports at the end.

It dispatches the scenario's orders through the fleet manager exactly as an operator would, starts
the patrol, keys in recipients' PINs at the door (absent recipients never come), acknowledges
alerts after a delay, prints the shift's progress, and asks the fleet for the shift and compliance
reports when the scenario's time is up. When it exits, the launch file shuts everything down.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import rclpy
from geometry_msgs.msg import PointStamped, PoseWithCovarianceStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException

from dawnpatrol_core.delivery.mission import expected_pin
from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_interfaces.msg import Anomaly, MissionEvent
from dawnpatrol_interfaces.srv import (
    AckAnomaly,
    DispatchOrders,
    FleetStatus,
    GenerateReport,
    SetPatrol,
    SubmitPin,
)
from dawnpatrol_robot.lean_node import DawnPatrolNode
from dawnpatrol_robot.msgconv import ALERT_QOS, RELIABLE_QOS, pose2d_to_msg
from dawnpatrol_sim.scenario import load_scenario, map_parking, robot_starts
from dawnpatrol_sim.shift_progress import ShiftProgress, clock, operator_calls

OPERATOR = "scenario-operator"


class ScenarioRunnerNode(DawnPatrolNode):
    def __init__(self) -> None:
        super().__init__("scenario_runner")
        d = ParameterDescriptor
        self.declare_parameter("scenario", "", d(description="scenario YAML file"))
        self.declare_parameter("robot_ids", ["r1"], d(description="robots of the run"))
        self.declare_parameter(
            "map_dir", "", d(description="district whose depot bays hold the robots the "
                                         "scenario does not name")
        )
        self.declare_parameter("report_dir", "reports/latest", d(description="reports go here"))
        self.declare_parameter(
            "start_time_s",
            7200.0,
            d(description="sim clock at the scenario's t=0 (s since midnight)"),
        )
        self.declare_parameter(
            "pin_secret",
            "dawnpatrol-demo",
            d(description="shared secret of the PIN convention (sim only)"),
        )
        self.declare_parameter(
            "ready_timeout_s", 240.0, d(description="wall seconds to wait for the fleet to come up")
        )
        self.declare_parameter(
            "progress_period_s", 300.0, d(description="sim seconds between progress summaries")
        )
        scenario = str(self.get_parameter("scenario").value)
        self.scenario = load_scenario(scenario)
        orders_cfg = self.scenario.orders or {}
        if not isinstance(orders_cfg, dict) or "file" not in orders_cfg:
            raise DawnPatrolError(f"{scenario}: field 'orders.file': missing, expected a file name")
        self.orders_path = Path(scenario).parent / str(orders_cfg["file"])
        self.orders_text = self.orders_path.read_text(encoding="utf-8")
        ids = [ln.split(",")[0] for ln in self.orders_text.splitlines()[1:] if ln.strip()]
        op = self.scenario.operator or {}
        self.progress = ShiftProgress(
            orders=set(ids),
            absent=set(orders_cfg.get("absent", [])),
            pin_delay_s=float(orders_cfg.get("pin_delay_s", 20.0)),
            ack_delay_s=float(op.get("ack_delay_s", 90.0)),
        )
        self.patrol_at = float((self.scenario.patrol or {}).get("start_at_s", 30.0))
        self.calls = operator_calls(op, scenario)  # tips passed on as investigations
        self.robots = [str(r) for r in self.get_parameter("robot_ids").value]
        self.t0 = float(self.get_parameter("start_time_s").value)
        self.secret = str(self.get_parameter("pin_secret").value)
        self.report_dir = str(Path(str(self.get_parameter("report_dir").value)).resolve())
        self.ready_deadline = float(self.get_parameter("ready_timeout_s").value)
        self.period = float(self.get_parameter("progress_period_s").value)
        self.next_summary = self.period
        self.state = "waiting"
        self.exit_code: int | None = None
        self.patrol_started = False
        self.wall_start = self.get_clock().now()

        self.dispatch = self.create_client(DispatchOrders, "/fleet/dispatch_orders")
        self.investigate = self.create_publisher(PointStamped, "/fleet/investigate", RELIABLE_QOS)
        self.patrol = self.create_client(SetPatrol, "/fleet/set_patrol")
        self.ack = self.create_client(AckAnomaly, "/fleet/ack_anomaly")
        self.report = self.create_client(GenerateReport, "/fleet/generate_report")
        self.status = self.create_client(FleetStatus, "/fleet/get_status")
        self.online: set[str] = set()
        self._status_pending = False
        self.pin = {r: self.create_client(SubmitPin, f"/{r}/submit_pin") for r in self.robots}
        for r in self.robots:
            self.create_subscription(MissionEvent, f"/{r}/mission_events", self._on_event, 100)
        self.create_subscription(Anomaly, "/fleet/anomalies", self._on_alert, ALERT_QOS)
        # The operator places each robot on the map at its start pose (as with RViz's
        # "2D Pose Estimate"); the particle filter then tracks it.
        self.initialpose = {
            r: self.create_publisher(PoseWithCovarianceStamped, f"/{r}/initialpose", RELIABLE_QOS)
            for r in self.robots
        }
        # Robots the scenario does not name start in free depot bays, as the simulator puts
        # them (the same rule on the same map).
        parking = map_parking(str(self.get_parameter("map_dir").value))
        self.starts = {rs.id: rs for rs in robot_starts(self.scenario.robots, self.robots, parking)}
        self.placed: set[str] = set()
        self._wall_waited = 0.0
        self.create_timer(0.5, self._tick)
        self.get_logger().info(
            f"scenario {self.scenario.name}: {len(ids)} orders from {self.orders_path.name}, "
            f"{len(self.robots)} robots, {self.scenario.duration:.0f} s of shift"
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _say(self, line: str) -> None:
        self.get_logger().info(line)

    def _finish(self, code: int, why: str) -> None:
        if code == 0:
            self.get_logger().info(why)
        else:
            self.get_logger().error(why)
        self.exit_code = code

    # -- subscriptions -----------------------------------------------------------------------------
    def _on_event(self, ev: MissionEvent) -> None:
        line = self.progress.on_event(
            ev.robot_id, ev.task_kind, ev.event, ev.task_id, ev.detail, self._now()
        )
        if line:
            self._say(line)

    def _on_alert(self, a: Anomaly) -> None:
        if self.progress.on_alert(a.uuid, a.kind, self._now()):
            self._say(
                f"{clock(self._now())} ALERT {a.kind} by {a.robot_id or 'external'} "
                f"in {a.zone or 'no zone'}: {a.description}"
            )

    # -- the shift ---------------------------------------------------------------------------------
    def _place_robots(self) -> None:
        for r, pub in self.initialpose.items():
            if r in self.placed or r not in self.starts or pub.get_subscription_count() == 0:
                continue
            st = self.starts[r]
            msg = PoseWithCovarianceStamped()
            msg.header.frame_id = "map"
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.pose.pose = pose2d_to_msg(st.start)
            cov = [0.0] * 36
            cov[0] = cov[7] = 0.05**2
            cov[35] = 0.05**2
            msg.pose.covariance = cov
            pub.publish(msg)
            self.placed.add(r)
            self._say(f"placed {r} at ({st.start.x:.1f}, {st.start.y:.1f})")

    def _tick(self) -> None:
        now = self._now()
        self._place_robots()
        if self.state == "waiting":
            self._wall_waited += 0.5
            self._poll_status()
            if (
                now > 0
                and self.placed == set(self.robots)
                and self.online >= set(self.robots)
                and self.dispatch.service_is_ready()
                and all(c.service_is_ready() for c in self.pin.values())
            ):
                self.state = "dispatching"
                req = DispatchOrders.Request(
                    orders_text=self.orders_text,
                    format="csv",
                    source_name=str(self.orders_path),
                    dry_run=False,
                    operator_name=OPERATOR,
                )
                self.dispatch.call_async(req).add_done_callback(self._on_dispatched)
            elif self._wall_waited > self.ready_deadline:
                self._finish(1, "fleet manager or robots did not come up in time")
            return
        if self.state != "running":
            return
        t = now - self.t0
        if not self.patrol_started and t >= self.patrol_at and self.patrol.service_is_ready():
            self.patrol_started = True
            self.patrol.call_async(
                SetPatrol.Request(active=True, robot_id="*", operator_name=OPERATOR)
            )
            self._say(f"{clock(now)} operator starts the patrol")
        while self.calls and t >= self.calls[0].at:
            call = self.calls.pop(0)
            msg = PointStamped()
            msg.header.frame_id, msg.header.stamp = "map", self.get_clock().now().to_msg()
            msg.point.x, msg.point.y = call.x, call.y
            self.investigate.publish(msg)
            self._say(f"{clock(now)} operator: {call.note or 'a call'}: investigate "
                      f"({call.x:.0f}, {call.y:.0f})")
        for p in self.progress.due_pins(now):
            pin = expected_pin(p.order_id, self.secret)
            self.pin[p.robot_id].call_async(SubmitPin.Request(order_id=p.order_id, pin=pin))
        for uuid in self.progress.due_acks(now):
            self.ack.call_async(
                AckAnomaly.Request(
                    uuid=uuid, note="seen on camera feed; patrol informed", operator_name=OPERATOR
                )
            )
        if t >= self.next_summary:
            self.next_summary += self.period
            self._say(f"{clock(now)} progress: {self.progress.summary()}")
        if t >= self.scenario.duration:
            self.state = "reporting"
            self._say(f"{clock(now)} shift over: {self.progress.summary()}; writing reports")
            req = GenerateReport.Request(out_dir=self.report_dir,
                                         shift=f"{self.scenario.name} (simulated)",
                                         operator_name=OPERATOR)
            self.report.call_async(req).add_done_callback(self._on_report)

    def _poll_status(self) -> None:
        if self._status_pending or not self.status.service_is_ready():
            return
        self._status_pending = True

        def done(fut: Any) -> None:
            self._status_pending = False
            res = fut.result()
            if res is not None:
                self.online = {
                    s.robot_id
                    for s, c in zip(res.robots, res.connection, strict=False)
                    if c == "online"
                }

        self.status.call_async(FleetStatus.Request()).add_done_callback(done)

    def _on_dispatched(self, fut: Any) -> None:
        res = fut.result()
        if res is not None and not res.success and not res.problems and (
                self._wall_waited < self.ready_deadline):
            # The batch is fine but no robot is free yet (status not in): ask again shortly.
            self.get_logger().info(f"dispatch deferred: {res.message}")
            self.state = "waiting"
            return
        if res is None or not res.success:
            for line in getattr(res, "problems", []):
                self.get_logger().error(line)
            self._finish(1, f"dispatch rejected: {getattr(res, 'message', 'no answer')}")
            return
        self._say(f"{clock(self._now())} dispatched: {res.message}")
        self.state = "running"

    def _on_report(self, fut: Any) -> None:
        res = fut.result()
        if res is None or not res.success:
            self._finish(1, f"report failed: {getattr(res, 'message', 'no answer')}")
            return
        for f in res.files:
            self._say(f"wrote {f}")
        self._finish(0, f"done: {self.progress.summary()}")


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    try:
        node = ScenarioRunnerNode()
    except (DawnPatrolError, OSError, ValueError) as exc:
        print(f"scenario_runner: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    code = 1
    try:
        while rclpy.ok() and node.exit_code is None:
            rclpy.spin_once(node, timeout_sec=0.2)
        code = node.exit_code if node.exit_code is not None else 1
    except (KeyboardInterrupt, ExternalShutdownException):
        code = 130
    node.destroy_node()
    rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
