"""The operator's CLI end to end: the real launch file (simulator, fleet manager, two robots), and
the test as the operator at the terminal, with a key of their own registered as supervisor
(``keys new``, ``keys add``). ``deliver`` a small order file, ``status`` shows both
robots working, ``anomalies --follow`` prints the loiterer's alert, ``ack`` clears it, ``estop
--all`` stops both robots within 1 s of simulated time, ``resume`` lets them go again; a lost
operator link (the fleet manager frozen) stops both, and they go on when it returns; every read
command's ``--json`` is parsed and checked."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rclpy
from dawnpatrol_pytest import REPO, wait_for
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import Bool

from dawnpatrol_core.geometry import Pose2D
from dawnpatrol_ros.convert import pose2d_to_msg, time_to_seconds
from dawnpatrol_ros.qos import LATCHED_QOS, RELIABLE_QOS

SCENARIO = REPO / "sim" / "scenarios" / "e2e_cli_yard.yaml"
STARTS = {"r1": Pose2D(4.0, 7.0, math.pi / 2), "r2": Pose2D(6.5, 7.0, math.pi / 2)}
HEARTBEAT_TIMEOUT = 5.0  # s of simulated time without /fleet/heartbeat before a robot stops
ORDERS = ("id,address_id,window_start,window_end,size,handover,priority\n"
          "C-01,101-1,02:00,03:00,1,door,0\nC-02,101-1,02:00,03:00,1,door,0\n")


def cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAWNPATROL_OPERATOR": "op-choi"}
    return subprocess.run([sys.executable, "-m", "dawnpatrol_fleet.cli", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


class Watcher:
    """The test's own eyes on the graph (simulated time): each robot's true speed and e-stop
    latch; it also places the robots for localization, as an operator does in RViz."""

    def __init__(self) -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = Node("e2e_cli_watcher", context=self.context,
                         parameter_overrides=[Parameter("use_sim_time", value=True)])
        self.lock = threading.Lock()
        self.speed: dict[str, list[tuple[float, float]]] = {r: [] for r in STARTS}
        self.estopped: dict[str, list[tuple[float, bool]]] = {r: [] for r in STARTS}
        self.place = {r: self.node.create_publisher(PoseWithCovarianceStamped,
                                                    f"/{r}/initialpose", RELIABLE_QOS)
                      for r in STARTS}
        for r in STARTS:
            self.node.create_subscription(Odometry, f"/{r}/ground_truth",
                                          lambda m, r=r: self._on_truth(r, m), RELIABLE_QOS)
            self.node.create_subscription(Bool, f"/{r}/estopped",
                                          lambda m, r=r: self._on_estop(r, m), LATCHED_QOS)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_truth(self, rid: str, msg: Odometry) -> None:
        with self.lock:
            self.speed[rid].append((time_to_seconds(msg.header.stamp),
                                    abs(msg.twist.twist.linear.x)))

    def _on_estop(self, rid: str, msg: Bool) -> None:
        # stamped on the ground truth's timeline (the speeds' own), not on /clock: under load
        # the watcher's /clock lags, and a latch stamped early reads the braking as too slow
        now = self.now()
        with self.lock:
            self.estopped[rid].append((now, bool(msg.data)))

    def place_robots(self, robots: list[str]) -> None:
        for rid in robots:
            pose = STARTS[rid]
            msg = PoseWithCovarianceStamped()
            msg.header.frame_id = "map"
            msg.pose.pose = pose2d_to_msg(pose)
            self.place[rid].publish(msg)

    def now(self) -> float:
        """The latest simulated time seen on ground truth, s."""
        with self.lock:
            return max((s[-1][0] for s in self.speed.values() if s), default=0.0)

    def latched_at(self, rid: str, value: bool) -> float | None:
        with self.lock:
            return next((t for t, v in reversed(self.estopped[rid]) if v is value), None)

    def speeds(self, rid: str, t0: float, t1: float) -> list[float]:
        with self.lock:
            return [v for t, v in self.speed[rid] if t0 <= t <= t1]

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=5.0)
        self.thread.join(5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def ok_json(*args: str) -> Any:
    p = cli(*args, "--timeout", "15", "--json")
    assert p.returncode == 0, (args, p.stderr)
    return json.loads(p.stdout, parse_constant=strict_json)


def strict_json(name: str) -> None:
    raise AssertionError(f"{name} in --json output: not JSON")


def test_operator_session(launch: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("DAWNPATROL_KEY_DIR", str(tmp_path / "keys"))
    p = cli("keys", "new", "op-choi")
    assert p.returncode == 0, p.stderr
    p = cli("keys", "add", "op-choi", str(tmp_path / "keys" / "op-choi.pub"), "--role",
            "supervisor", "--data-dir", str(tmp_path / "data" / "fleet"))
    assert p.returncode == 0 and "added op-choi as supervisor" in p.stdout, p.stderr
    assert cli("keys", "new", "op-lee").returncode == 0
    p = cli("keys", "add", "op-lee", str(tmp_path / "keys" / "op-lee.pub"), "--role",
            "dispatcher", "--data-dir", str(tmp_path / "data" / "fleet"))
    assert p.returncode == 0, p.stderr
    graph = launch(REPO / "launch" / "sim.launch.xml", world="test_yard", scenario=str(SCENARIO),
                   robot_count="2", real_time_factor="4.0", run_scenario="false",
                   report_dir=str(tmp_path), pose_source="ground_truth",
                   heartbeat_timeout_s=str(HEARTBEAT_TIMEOUT))
    eyes = Watcher()
    try:
        def online() -> bool:
            p = cli("status", "--timeout", "5", "--json")
            if p.returncode != 0:
                return False
            robots = json.loads(p.stdout)["robots"]
            # placed like an operator in RViz, and only while not localized where it stands (a
            # new initial pose restarts the filter; a filter may also settle OK elsewhere first)
            astray = [r["robot_id"] for r in robots if r["localization"] != "OK"
                      or r["x"] is None or math.hypot(r["x"] - STARTS[r["robot_id"]].x,
                                                      r["y"] - STARTS[r["robot_id"]].y) > 1.0]
            eyes.place_robots(astray)
            return not astray and [(r["robot_id"], r["connection"], r["mode"])
                                   for r in robots] == [("r1", "online", "idle"),
                                                        ("r2", "online", "idle")]

        wait_for(online, 240.0, f"both robots online and localized\n{graph.output[-3000:]}")

        orders = tmp_path / "orders.csv"
        orders.write_text(ORDERS)
        p = cli("deliver", str(orders), "--timeout", "30")
        assert p.returncode == 0 and "dispatched" in p.stdout, (
            p.stdout + p.stderr + cli("status", "--timeout", "5").stdout)
        p = cli("patrol", "start", "--timeout", "15")
        assert p.returncode == 0, p.stderr

        seen: list[dict[str, str]] = []

        def working() -> bool:
            modes = {r["robot_id"]: r["mode"] for r in ok_json("status")["robots"]}
            seen.append(modes)
            # investigating: a loiterer's alert calls the robot there first to look
            return all(m in ("delivering", "patrolling", "returning", "investigating")
                       for m in modes.values())

        wait_for(working, 120.0, lambda: f"both robots working (last modes {seen[-3:]})")
        status = ok_json("status")
        assert status["summary"]["orders"], status
        detail = ok_json("robots", "r1")
        assert detail["robot_id"] == "r1" and detail["connection"] == "online"
        assert {"mode", "battery_percent", "parcels_on_board", "eta_s"} <= set(detail)

        # The loiterer in the yard's watch zone: the alert streams to the operator.
        follow = cli("anomalies", "--follow", "--kind", "loitering", "--max", "1", "--duration",
                     "400", "--json", "--timeout", "15", timeout=450)
        assert follow.returncode == 0, follow.stderr
        alert = json.loads(follow.stdout.strip().splitlines()[0])
        assert alert["kind"] == "loitering" and alert["zone"] == "watch_yard_corner", alert
        p = cli("ack", alert["uuid"], "--note", "police informed", "--timeout", "15")
        assert p.returncode == 0, p.stderr
        unacked = ok_json("anomalies", "--unacked")
        assert alert["uuid"] not in {a["uuid"] for a in unacked}
        listed = {a["uuid"]: a for a in ok_json("anomalies")}
        assert listed[alert["uuid"]]["acknowledged"] is True
        assert listed[alert["uuid"]]["ack_note"] == "police informed"

        # A resident's call into the flower bed (keep-out, 14..18 x 12..16 m): the robot there
        # first goes and watches from outside it, or the call waits; the answer says which.
        call = ok_json("investigate", "16", "14", "--note", "someone in the flower bed")
        assert call["success"] and call["robot_id"] in ("r1", "r2", ""), call
        assert (call["eta_s"] is None) == (call["robot_id"] == ""), call
        assert not (14.0 <= call["watch_x"] <= 18.0 and 12.0 <= call["watch_y"] <= 16.0), call
        p = cli("investigate", "16", "14", "--timeout", "15", "--operator", "op-lee")
        assert p.returncode == 1 and p.stdout.startswith("refused investigate on fleet: "), p
        p = cli("investigate", "500", "14", "--timeout", "15")
        assert p.returncode == 1 and p.stdout.startswith("investigate: field 'x': got 500.0"), p

        def moving() -> bool:
            t = eyes.now()
            return any(max(eyes.speeds(r, t - 1.0, t), default=0.0) > 0.3 for r in STARTS)

        def still(what: str) -> Callable[[], str]:
            """What the operator would look at when the robots stand: status and the log."""
            return lambda: (f"{what}\n{cli('status', '--timeout', '5').stdout}"
                            f"{graph.output[-6000:]}")

        def send_out(x: float, y: float) -> None:
            """A call to a free corner of the yard far from the hotspot: a robot drives there,
            at once or when one is free. (Parcels with slack in their window need not: the
            schedule may watch the hotspot first; with nothing to carry or look at, a robot
            rightly stands.)"""
            answer = ok_json("investigate", str(x), str(y), "--note", "a gate left open")
            assert answer["success"] and answer["robot_id"] in ("r1", "r2", ""), answer

        # A second batch is accepted even while both robots are away looking (the loiterer's
        # alert, the flower-bed call): its parcels then wait at the depot for the first robot back.
        orders.write_text(ORDERS.replace("C-01", "C-03").replace("C-02", "C-04"))
        p = cli("deliver", str(orders), "--timeout", "30")
        assert p.returncode == 0 and "dispatched" in p.stdout, p.stdout + p.stderr

        # E-stop every robot while one drives: stationary within 1 s of simulated time, latched
        # until resume.
        send_out(27.0, 4.0)
        wait_for(moving, 120.0, still("a robot driving before the e-stop"))
        p = cli("estop", "--all", "--reason", "drill", "--timeout", "15")
        assert p.returncode == 0, p.stdout + p.stderr
        wait_for(lambda: all(eyes.latched_at(r, True) is not None for r in STARTS), 10.0,
                 "estopped latched on both robots")
        t_stop = max(eyes.latched_at(r, True) or 0.0 for r in STARTS)
        wait_for(lambda: eyes.now() > t_stop + 5.0, 60.0, "5 s of simulated time after e-stop")
        for r in STARTS:
            after = eyes.speeds(r, t_stop + 1.0, t_stop + 5.0)
            assert after and max(after) < 0.02, (r, after)
        modes = {r["robot_id"]: (r["mode"], r["estopped"]) for r in ok_json("status")["robots"]}
        assert all(m == ("estopped", True) for m in modes.values()), modes

        # A dispatcher may not release it: refused in one line, the robots stay stopped.
        p = cli("resume", "r1", "--timeout", "15", "--operator", "op-lee")
        assert p.returncode == 1, p.stdout + p.stderr
        assert p.stdout == ("refused resume on r1: claims supervisor, registered as dispatcher "
                            "(operator op-lee)\n"), p.stdout
        modes = {r["robot_id"]: r["estopped"] for r in ok_json("status")["robots"]}
        assert modes == {"r1": True, "r2": True}, modes
        for r in STARTS:
            p = cli("resume", r, "--timeout", "15")
            assert p.returncode == 0, p.stdout + p.stderr
        wait_for(lambda: all((eyes.latched_at(r, False) or 0.0) > t_stop for r in STARTS), 20.0,
                 "e-stop released on both robots")
        wait_for(moving, 120.0, still("robots driving again after resume"))
        report = ok_json("status")["robots"]
        assert not any(r["estopped"] for r in report)

        # The operator link lost: the fleet manager frozen (no heartbeat). Every robot stops
        # within the heartbeat timeout plus braking (1.5 m/s at 2 m/s²) and stays stopped;
        # when the link comes back they drive on by themselves. Lost while a robot drives to a
        # call.
        send_out(4.0, 16.0)
        wait_for(moving, 120.0, still("a robot driving to the second call"))
        fleet = graph.child_pids()["fleet/fleet_manager"][-1]
        os.kill(fleet, signal.SIGSTOP)
        try:
            t_lost = eyes.now()
            t_stopped = t_lost + HEARTBEAT_TIMEOUT + 1.5
            wait_for(lambda: eyes.now() > t_stopped + 6.0, 90.0, "simulated time, link down")
            for r in STARTS:
                after = eyes.speeds(r, t_stopped, t_stopped + 6.0)
                assert after and max(after) < 0.02, (r, after)
        finally:
            os.kill(fleet, signal.SIGCONT)
        wait_for(moving, 120.0, still("robots driving again once the link is back"))
    finally:
        eyes.close()
