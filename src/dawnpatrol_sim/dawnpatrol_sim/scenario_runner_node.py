"""Scenario runner: plays the people around a simulated shift and writes the reports at the end.

It dispatches the scenario's orders through the fleet manager exactly as an operator would, starts
the patrol, keys in recipients' PINs at the door (absent recipients never come), acknowledges
alerts after a delay, prints the shift's progress, and asks the fleet for the shift and compliance
reports when the scenario's time is up. When it exits, the launch file shuts everything down.

It acts as an operator with a key of its own (docs/security.md): unless one is there already it
creates ``<key dir>/<operator>.key`` (default: the report directory's ``keys/``) and registers it
as a supervisor in the fleet's registry once the fleet manager is up; every command it sends
carries an envelope signed with it, so the shift report names it among the operators who acted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from geometry_msgs.msg import PoseWithCovarianceStamped

from dawnpatrol_core.delivery.mission import expected_pin
from dawnpatrol_core.delivery.orders import load_orders
from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.security.enroll import enroll_operator
from dawnpatrol_core.security.envelope import Signer, envelope_to_text, new_nonce, signed_args
from dawnpatrol_core.security.gate import FLEET_KEY_FILE, FleetSigner, onboard_signer
from dawnpatrol_core.security.roles import Command, Role
from dawnpatrol_interfaces.msg import Anomaly, MissionEvent
from dawnpatrol_interfaces.srv import (
    AckAnomaly,
    DispatchOrders,
    FleetStatus,
    GenerateReport,
    Investigate,
    SetPatrol,
    SubmitPin,
)
from dawnpatrol_ros.convert import pose2d_to_msg
from dawnpatrol_ros.node import DawnPatrolNode, run_node
from dawnpatrol_ros.params import Param, declare_parameters
from dawnpatrol_ros.qos import ALERT_QOS, RELIABLE_QOS
from dawnpatrol_ros.signing import message_fields
from dawnpatrol_sim.expectations import Check, evaluate, parse_expectations, render
from dawnpatrol_sim.scenario import (
    check_launched_robots,
    load_scenario,
    map_parking,
    robot_starts,
)
from dawnpatrol_sim.shift_progress import (
    OperatorCall,
    ShiftProgress,
    call_answer,
    clock,
    operator_calls,
)

OPERATOR = "scenario-operator"
#: Mission events told in the robots' own logs but not on the shift's screen (one line per
#: order is enough there: DELIVERED or why not).
DETAIL_EVENTS = frozenset({"arrived", "waiting"})


PARAMS = {
    "scenario": Param("", "scenario YAML file", check=bool, expected="a scenario file"),
    "map_dir": Param("", "district map directory: hotspots and addresses for the verdict, "
                     "depot bays for the robots the scenario does not name",
                     check=bool, expected="a map directory"),
    "robot_ids": Param(["r1"], "robots of the run"),
    "report_dir": Param("reports/latest", "reports go here"),
    "start_time_s": Param(7200.0, "sim clock at the scenario's t=0 (s since midnight)",
                          0.0, 172800.0),
    "pin_secret": Param("dawnpatrol-demo", "shared secret of the PIN convention (sim only)"),
    "ready_timeout_s": Param(240.0, "wall seconds to wait for the fleet to come up",
                             1.0, 3600.0),
    "progress_period_s": Param(120.0, "sim seconds between progress lines", 1.0, 86400.0),
    "operator": Param(OPERATOR, "the operator this runner acts as (its key signs every "
                      "command)", check=bool, expected="an operator name"),
    "operator_key_dir": Param("", "where the operator's key is, or is created; '' = "
                              "<report_dir>/keys"),
    "fleet_data_dir": Param("", "the fleet manager's data directory (its operator registry); "
                            "'' = <report_dir>/data/fleet"),
}


class ScenarioRunnerNode(DawnPatrolNode):
    def __init__(self) -> None:
        super().__init__("scenario_runner")
        p = declare_parameters(self, PARAMS)
        scenario = str(p["scenario"])
        self.scenario = load_scenario(scenario)
        self.robots = [str(r) for r in p["robot_ids"]]
        check_launched_robots(self.scenario, self.robots)  # at once, before the map loads
        self.expect = parse_expectations(self.scenario.expectations, scenario)
        self.dm = load_district_map(str(p["map_dir"]))
        orders_cfg = self.scenario.orders or {}
        if not isinstance(orders_cfg, dict) or "file" not in orders_cfg:
            raise DawnPatrolError(f"{scenario}: field 'orders.file': missing, expected a file name")
        self.orders_path = Path(scenario).parent / str(orders_cfg["file"])
        self.orders_text = self.orders_path.read_text(encoding="utf-8")
        orders = load_orders(self.orders_path, {k: a.pose for k, a in self.dm.addresses.items()},
                             0.0, 0.0, 1_000_000, self.dm.from_wgs84 if self.dm.georef else None)
        self.window_end = {o.id: o.window_end for o in orders}
        op = self.scenario.operator or {}
        self.progress = ShiftProgress(
            orders=set(self.window_end),
            absent=set(orders_cfg.get("absent", [])),
            pin_delay_s=float(orders_cfg.get("pin_delay_s", 20.0)),
            ack_delay_s=float(op.get("ack_delay_s", 90.0)),
        )
        self.patrol_at = float((self.scenario.patrol or {}).get("start_at_s", 30.0))
        self.calls = operator_calls(op, scenario)  # tips passed on as investigations
        self.called: list[tuple[float, float, float]] = []  # (t, x, y) of the calls made
        self.t0 = float(p["start_time_s"])
        self.secret = str(p["pin_secret"])
        self.report_dir = str(Path(str(p["report_dir"])).resolve())
        self.operator = str(p["operator"])
        self.key_dir = Path(str(p["operator_key_dir"]) or Path(self.report_dir) / "keys")
        self.fleet_dir = Path(str(p["fleet_data_dir"]) or Path(self.report_dir) / "data" / "fleet")
        self.signer: Signer | None = None  # once enrolled (the fleet manager is up)
        self._keypads: dict[str, FleetSigner] = {}
        self.ready_deadline = float(p["ready_timeout_s"])
        self.period = float(p["progress_period_s"])
        self.next_summary = self.period
        self.state = "waiting"
        self.exit_code: int | None = None
        self.patrol_started = False
        self._running_since: tuple[float, float] | None = None  # (wall s, shift s) at dispatch

        self.dispatch = self.create_client(DispatchOrders, "/fleet/dispatch_orders")
        self.investigate = self.create_client(Investigate, "/fleet/investigate")
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
        parking = map_parking(str(p["map_dir"]))
        self.starts = {rs.id: rs for rs in
                       robot_starts(self.scenario.robots, self.robots, parking)}
        self.placed: set[str] = set()
        self._wall_waited = 0.0
        self.create_timer(0.5, self._tick)
        self.get_logger().info(
            f"scenario {self.scenario.name}: {len(orders)} orders from {self.orders_path.name}, "
            f"{len(self.robots)} robots, {self.scenario.duration:.0f} s of shift"
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _keypad(self, rid: str) -> FleetSigner:
        """Robot ``rid``'s keypad: its onboard key, in its state directory (the simulated
        robots keep theirs beside the fleet's data directory)."""
        if rid not in self._keypads:
            self._keypads[rid] = onboard_signer(self.fleet_dir.parent / rid)
        return self._keypads[rid]

    def _signed(self, command: Command, request: Any, target: str = "fleet") -> Any:
        """``request`` with this operator's envelope for ``command`` on ``target``."""
        assert self.signer is not None
        env = self.signer.sign(command, target, signed_args(command, message_fields(request)),
                               time.time(), new_nonce())
        request.envelope = envelope_to_text(env)
        return request

    def _enroll(self) -> bool:
        """Set up this runner's operator key once the fleet manager has made its own key (the
        registry change is then signed in the audit chain); True when done."""
        if self.signer is None and (self.fleet_dir / FLEET_KEY_FILE).exists():
            self.signer = enroll_operator(self.operator, Role.SUPERVISOR, self.key_dir,
                                          self.fleet_dir, time.time(), by="scenario set-up")
            self._say(f"operator {self.operator}: key {self.signer.key_id} in {self.key_dir}, "
                      "registered as supervisor")
        return self.signer is not None

    def _say(self, line: str) -> None:
        self.get_logger().info(line)

    def _pace(self, t: float) -> str:
        """How fast the shift runs: wall time since dispatch and the real-time factor."""
        if self._running_since is None:
            return ""
        wall, t_run = time.monotonic() - self._running_since[0], t - self._running_since[1]
        factor = f", {t_run / wall:.1f}x real time" if wall > 0 else ""
        return f" [{wall / 60:.0f} min wall{factor}]"

    def _finish(self, code: int, why: str) -> None:
        if code == 0:
            self.get_logger().info(why)
        else:
            self.get_logger().error(why)
        self.exit_code = code

    # -- subscriptions -----------------------------------------------------------------------------
    def _on_event(self, ev: MissionEvent) -> None:
        line = self.progress.on_event(
            ev.robot_id, ev.task_kind, ev.event, ev.task_id, ev.detail, self._now(),
            ev.position.x, ev.position.y)
        if line and ev.event not in DETAIL_EVENTS:
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
            try:
                if not self._enroll():
                    return
            except (DawnPatrolError, OSError) as exc:
                self._finish(1, f"operator set-up failed: {exc}")
                return
            self._poll_status()
            if (
                now > 0
                and self.placed == set(self.robots)
                and self.online >= set(self.robots)
                and self.dispatch.service_is_ready()
                and self.patrol.service_is_ready()
                and all(c.service_is_ready() for c in self.pin.values())
            ):
                self.state = "dispatching"
                if self.patrol_at <= 0.0 and not self.patrol_started:
                    # Patrol from the start: on before the batch, so the fleet plans parcels and
                    # patrol visits in one schedule.
                    self._start_patrol(now).add_done_callback(lambda _: self._send_orders())
                else:
                    self._send_orders()
            elif self._wall_waited > self.ready_deadline:
                self._finish(1, "fleet manager or robots did not come up in time")
            return
        if self.state != "running":
            return
        t = now - self.t0
        if not self.patrol_started and t >= self.patrol_at and self.patrol.service_is_ready():
            self._start_patrol(now)
        while self.calls and t >= self.calls[0].at:
            self._call(self.calls.pop(0), now)
        for p in self.progress.due_pins(now):  # at the robot's keypad: its onboard key signs
            req = SubmitPin.Request(order_id=p.order_id, pin=expected_pin(p.order_id, self.secret))
            req.envelope = self._keypad(p.robot_id).sign(Command.SUBMIT_PIN, p.robot_id,
                                                         message_fields(req), time.time())
            self.pin[p.robot_id].call_async(req)
        for uuid in self.progress.due_acks(now):
            self.ack.call_async(self._signed(Command.ACK_ANOMALY, AckAnomaly.Request(
                uuid=uuid, note="seen on camera feed; patrol informed",
                operator_name=self.operator)))
        if t >= self.next_summary:
            self.next_summary += self.period
            self._say(f"{clock(now)} progress: {self.progress.summary()}{self._pace(t)}")
        if t >= self.scenario.duration:
            self.state = "reporting"
            self._say(f"{clock(now)} shift over: {self.progress.summary()}; writing reports")
            req = self._signed(Command.GENERATE_REPORT, GenerateReport.Request(
                out_dir=self.report_dir, shift=f"{self.scenario.name} (simulated)",
                operator_name=self.operator))
            self.report.call_async(req).add_done_callback(self._on_report)

    def _call(self, call: OperatorCall, now: float) -> None:
        """Pass a resident's tip on as an investigate call; the story tells the fleet's reply
        when it comes (asynchronously: the shift goes on meanwhile)."""
        req = self._signed(Command.INVESTIGATE, Investigate.Request(
            x=call.x, y=call.y, note=call.note, operator_name=self.operator))
        self.called.append((now, call.x, call.y))
        said = (f"{clock(now)} operator: {call.note or 'a call'} at ({call.x:.0f}, "
                f"{call.y:.0f})")

        def answered(fut: Any) -> None:
            res = fut.result()
            if res is None:
                self.get_logger().warning(f"{said} → no answer from the fleet")
            elif not res.success:
                self.get_logger().warning(f"{said} → refused: {res.message}")
            else:
                self._say(f"{said} → " + call_answer(res.robot_id, res.eta_s, call.x, call.y,
                                                     res.watch_x, res.watch_y, res.message))

        self.investigate.call_async(req).add_done_callback(answered)

    def _start_patrol(self, now: float) -> Any:
        self.patrol_started = True
        self._say(f"{clock(now)} operator starts the patrol")
        return self.patrol.call_async(self._signed(
            Command.SET_PATROL,
            SetPatrol.Request(active=True, robot_id="*", operator_name=self.operator), "*"))

    def _send_orders(self) -> None:
        req = self._signed(Command.DISPATCH_ORDERS, DispatchOrders.Request(
            orders_text=self.orders_text, format="csv", source_name=str(self.orders_path),
            dry_run=False, operator_name=self.operator))
        self.dispatch.call_async(req).add_done_callback(self._on_dispatched)

    def _poll_status(self) -> None:
        if self._status_pending or not self.status.service_is_ready():
            return
        self._status_pending = True

        def done(fut: Any) -> None:
            self._status_pending = False
            res = fut.result()
            if res is not None and res.refused:
                self.get_logger().warning(res.refused)
            elif res is not None:
                self.online = {
                    s.robot_id
                    for s, c in zip(res.robots, res.connection, strict=False)
                    if c == "online"
                }

        self.status.call_async(self._signed(Command.GET_STATUS, FleetStatus.Request())
                               ).add_done_callback(done)

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
        self._say(f"{clock(self._now())} {res.message}")  # "dispatched: N of M orders ..."
        self.state = "running"
        self._running_since = (time.monotonic(), self._now() - self.t0)

    def _on_report(self, fut: Any) -> None:
        res = fut.result()
        if res is None or not res.success:
            self._finish(1, f"report failed: {getattr(res, 'message', 'no answer')}")
            return
        for f in res.files:
            self._say(f"wrote {f}")
        checks = self.verdict()
        table = render(checks)
        for line in table:
            self._say(line)
        report = next((Path(f) for f in res.files if Path(f).name == "shift_report.md"), None)
        if report is not None and checks:
            with report.open("a", encoding="utf-8") as fh:
                fh.write("\n## Scenario expectations\n\n" + "\n".join(table) + "\n")
        missed = [c.name for c in checks if not c.passed]
        if missed:
            self._finish(1, f"MISS: {', '.join(missed)} ({self.progress.summary()})")
        else:
            self._finish(0, f"done: {self.progress.summary()}")

    def verdict(self) -> tuple[Check, ...]:
        """The scenario's expectations against what this shift showed."""
        hotspots = {h.id: h.max_idleness_s for h in self.dm.hotspots}
        start = self.t0
        facts = self.progress.facts(self.window_end, hotspots, self.called, start,
                                    start + self.scenario.duration)
        return evaluate(self.expect, facts)


def main(args: list[str] | None = None) -> int:
    return run_node("scenario_runner", ScenarioRunnerNode, args)

if __name__ == "__main__":
    sys.exit(main())
