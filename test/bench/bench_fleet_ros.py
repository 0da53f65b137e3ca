"""The fleet manager node serving N robots over ROS 2 (DDS on this machine): 3, 10, 25, 50.

One process plays the robots: every robot publishes its RobotStatus once a second (each at its
own phase, a task string carrying a sequence number). The operator side calls
/fleet/get_status 10 times a second. Measured per fleet size, for ``--seconds`` s after a warm-up:

- status round trip: from a robot publishing a status to the operator's get_status answer first
  showing it (includes up to one 100 ms polling period: an upper bound);
- get_status call time (request to answer, N robots in it);
- the fleet manager process's CPU (share of one core, from /proc) and resident memory.

``python test/bench/bench_fleet_ros.py [--sizes 3,10,25,50] [--seconds 60]`` (after make build)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from dawnpatrol_core.security.enroll import enroll_operator
from dawnpatrol_core.security.envelope import Signer, envelope_to_text, new_nonce
from dawnpatrol_core.security.roles import Command, Role
from dawnpatrol_interfaces.msg import RobotStatus
from dawnpatrol_interfaces.srv import FleetStatus
from dawnpatrol_ros.qos import LATCHED_QOS

ROOT = Path(__file__).resolve().parents[2]
# This run's own DDS domain (another bench or test on the machine must not answer it).
DOMAIN = str(101 + os.getpid() % 100)


class Robots(Node):
    def __init__(self, context: Context, ids: list[str], signer: Signer) -> None:
        super().__init__("bench_robots", context=context)
        self.ids = ids
        self.signer = signer  # a viewer's key: every get_status is signed, as the CLI's
        self.pubs = {r: self.create_publisher(RobotStatus, f"/{r}/status", LATCHED_QOS)
                     for r in ids}
        self.seq = dict.fromkeys(ids, 0)
        self.sent: dict[tuple[str, int], float] = {}
        self.seen: dict[str, int] = dict.fromkeys(ids, -1)
        self.trips: list[float] = []
        self.calls: list[float] = []
        self.client = self.create_client(FleetStatus, "/fleet/get_status")
        self.measuring = False
        self._next = {r: time.monotonic() + k / len(ids) for k, r in enumerate(ids)}
        self.create_timer(0.01, self._publish)
        self.create_timer(0.1, self._poll)
        self._pending = False

    def _publish(self) -> None:
        now = time.monotonic()
        for r in self.ids:
            if now < self._next[r]:
                continue
            self._next[r] += 1.0
            self.seq[r] += 1
            m = RobotStatus(robot_id=r, mode=0, battery_percent=80.0,
                            current_task=f"seq {self.seq[r]}", latitude=float("nan"),
                            longitude=float("nan"), eta_s=float("nan"))
            m.header.stamp = self.get_clock().now().to_msg()
            m.header.frame_id = "map"
            self.sent[(r, self.seq[r])] = now
            self.pubs[r].publish(m)

    def _poll(self) -> None:
        if self._pending or not self.client.service_is_ready():
            return
        self._pending = True
        t0 = time.monotonic()
        env = self.signer.sign(Command.GET_STATUS, "fleet", {}, time.time(), new_nonce())
        fut = self.client.call_async(FleetStatus.Request(envelope=envelope_to_text(env)))

        def done(f: object) -> None:
            t1 = time.monotonic()
            self._pending = False
            res = fut.result()
            if res is None:
                return
            if res.refused:
                raise RuntimeError(res.refused)
            if self.measuring:
                self.calls.append(t1 - t0)
            for st in res.robots:
                if not st.current_task.startswith("seq "):
                    continue
                k = int(st.current_task[4:])
                if k > self.seen.get(st.robot_id, -1):
                    self.seen[st.robot_id] = k
                    sent = self.sent.get((st.robot_id, k))
                    if sent is not None and self.measuring:
                        self.trips.append(t1 - sent)

        fut.add_done_callback(done)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def measure(n: int, seconds: float, warmup: float) -> dict[str, float]:
    ids = [f"r{k + 1}" for k in range(n)]
    env = dict(os.environ, ROS_DOMAIN_ID=DOMAIN, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["fleet_manager", "--ros-args", "-r", "__node:=fleet_manager", "-r", "__ns:=/fleet",
               "--params-file", str(ROOT / "params/fleet_manager.yaml"),
               "-p", f"map_dir:={ROOT / 'maps/suwon_dawn'}", "-p", f"data_dir:={tmp}",
               "-p", f"robot_ids:=[{', '.join(ids)}]"]
        fm = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.environ["ROS_DOMAIN_ID"] = DOMAIN
        ctx = Context()
        rclpy.init(context=ctx)
        signer = enroll_operator("bench-viewer", Role.VIEWER, Path(tmp) / "keys", tmp,
                                 time.time(), by="bench")
        node = Robots(ctx, ids, signer)
        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        try:
            t_end = time.monotonic() + 120.0
            while not node.client.service_is_ready() and time.monotonic() < t_end:
                ex.spin_once(timeout_sec=0.1)
                if fm.poll() is not None:
                    raise RuntimeError(f"fleet_manager exited: {fm.stderr.read().decode()[-500:]}")
            t_end = time.monotonic() + warmup
            while time.monotonic() < t_end:
                ex.spin_once(timeout_sec=0.05)
            node.measuring = True
            c0, w0, r0 = proc_cpu(fm.pid), time.monotonic(), proc_rss(fm.pid)
            t_end = w0 + seconds
            while time.monotonic() < t_end:
                ex.spin_once(timeout_sec=0.05)
            cpu, wall, rss = proc_cpu(fm.pid) - c0, time.monotonic() - w0, proc_rss(fm.pid)
        finally:
            ex.shutdown()
            node.destroy_node()
            rclpy.shutdown(context=ctx)
            fm.terminate()
            try:
                fm.wait(10)
            except subprocess.TimeoutExpired:
                fm.kill()
    trips = np.array(node.trips) * 1000.0
    calls = np.array(node.calls) * 1000.0
    return {"n": n, "trips": len(trips), "published": sum(node.seq.values()),
            "trip50": float(np.percentile(trips, 50)) if len(trips) else float("nan"),
            "trip95": float(np.percentile(trips, 95)) if len(trips) else float("nan"),
            "call50": float(np.percentile(calls, 50)) if len(calls) else float("nan"),
            "call95": float(np.percentile(calls, 95)) if len(calls) else float("nan"),
            "cpu": cpu / wall, "rss": rss, "rss0": r0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="3,10,25,50")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=10.0)
    args = ap.parse_args()
    print(f"# Fleet manager over ROS 2 — load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores at the start; {args.seconds:.0f} s per row\n")
    print("| robots | status round trip p50 / p95 (ms) | get_status call p50 / p95 (ms) | "
          "fleet manager CPU (one core) | RSS (MB) |")
    print("|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, args.seconds, args.warmup)
        print(f"| {n} | {r['trip50']:.0f} / {r['trip95']:.0f} | {r['call50']:.0f} / "
              f"{r['call95']:.0f} | {100 * r['cpu']:.1f} % | {r['rss']:.0f} |", flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
