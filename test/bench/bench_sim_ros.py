"""Benchmark of the `sim` ROS node: 3 robots on suwon_dawn (sim/scenarios/dawn_shift.yaml) at
real_time_factor 0 (as fast as possible), with a subscriber in another process counting every
message; reports the achieved real-time factor (target >= 5x) and message delivery.

Run: python test/bench/bench_sim_ros.py [--quick] [--sim-seconds S]   (after `make build`)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import rclpy
from geometry_msgs.msg import Twist, Vector3
from nav_msgs.msg import Odometry
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, Imu, LaserScan, NavSatFix

from dawnpatrol_ros.qos import RELIABLE_QOS, SENSOR_QOS

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "sim/scenarios/dawn_shift.yaml"
ROBOTS = ("r1", "r2", "r3")
DT = 0.02

# topic suffix: (type, QoS, messages per sim second per robot)
TOPICS = {
    "scan": (LaserScan, SENSOR_QOS, 10.0),
    "odom": (Odometry, RELIABLE_QOS, 1.0 / DT),
    "imu": (Imu, SENSOR_QOS, 1.0 / DT),
    "gnss": (NavSatFix, RELIABLE_QOS, None),  # model rate, read from the first second
    "battery": (BatteryState, RELIABLE_QOS, 1.0),
    "ground_truth": (Odometry, RELIABLE_QOS, 1.0 / DT),
}


class MessageCounter(Node):
    """Counts messages per topic (raw, not deserialized: the count is what is measured) and
    keeps each robot driving forward with one cmd_vel per 0.1 s of sim time."""

    def __init__(self, context: Context) -> None:
        super().__init__("bench_counter", context=context)
        self.counts: Counter[str] = Counter()
        self.first: tuple[float, float] | None = None  # (wall, sim) at the first /clock
        self.last: tuple[float, float] | None = None
        self._last_cmd = -1.0
        self._cmd = {r: self.create_publisher(Twist, f"/{r}/cmd_vel", RELIABLE_QOS) for r in ROBOTS}
        self.create_subscription(Clock, "/clock", self._on_clock, 10)
        for rid in ROBOTS:
            for name, (mtype, qos, _) in TOPICS.items():
                topic = f"/{rid}/{name}"
                self.create_subscription(mtype, topic, self._count(topic), qos, raw=True)

    def _count(self, topic: str):  # noqa: ANN202 - a callback factory
        def cb(_: bytes) -> None:
            if self.first is not None:  # the window starts at the first /clock received
                self.counts[topic] += 1

        return cb

    def _on_clock(self, msg: Clock) -> None:
        t = msg.clock.sec + msg.clock.nanosec * 1e-9
        now = (time.monotonic(), t)
        self.counts["/clock"] += 1
        self.first = self.first or now
        self.last = now
        if t - self._last_cmd >= 0.1:
            self._last_cmd = t
            for pub in self._cmd.values():
                pub.publish(Twist(linear=Vector3(x=0.6), angular=Vector3(z=0.05)))


def run(sim_seconds: float, record: bool) -> dict[str, object]:
    """One run of the node in a subprocess; returns the row of the table."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(1 + (os.getpid() + int(record)) % 100)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.update({k: env[k] for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")})
    tmp = tempfile.mkdtemp(prefix="bench_sim_ros_")
    params = {
        "scenario": str(SCENARIO),
        "map_dir": str(ROOT / "maps/suwon_dawn"),
        "real_time_factor": "0.0",
        "dt": str(DT),
        "duration_s": f"{sim_seconds:.1f}",
        "wait_subscribers": "1",  # this counter: no message is lost to discovery
    }
    if record:
        params["record"] = str(Path(tmp) / "run.mcap")
    ctx = Context()
    rclpy.init(context=ctx)
    node = MessageCounter(ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ex.spin_once(timeout_sec=0.05)

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    cmd = [sys.executable, "-m", "dawnpatrol_sim.sim_node", "--ros-args"]
    for k, v in params.items():
        cmd += ["-p", f"{k}:={v}"]
    wall0 = time.monotonic()
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=60 + 40 * sim_seconds
    )
    wall = time.monotonic() - wall0
    stop.set()
    th.join(5)
    if proc.returncode != 0:
        raise SystemExit(f"sim node failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    logged = [float(x) for x in re.findall(r"achieved real-time factor ([\d.]+)", proc.stderr)]
    assert node.first and node.last
    (w0, s0), (w1, s1) = node.first, node.last
    sub_rtf = (s1 - s0) / max(w1 - w0, 1e-9)
    sim_s = s1 - s0
    steps = round(sim_s / DT)
    delivered = {"/clock": node.counts["/clock"] / max(steps, 1)}
    gnss_hz = node.counts["/r1/gnss"] / sim_s
    for name, (_, _, hz) in TOPICS.items():
        want = len(ROBOTS) * (hz if hz is not None else round(gnss_hz)) * sim_s
        want += len(ROBOTS) * (name == "battery")  # also published at the window's start
        got = sum(node.counts[f"/{r}/{name}"] for r in ROBOTS)
        delivered[name] = got / max(want, 1)
    total = sum(node.counts.values())
    mcap_mb = (Path(tmp) / "run.mcap").stat().st_size / 1e6 if record else 0.0
    ex.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=ctx)
    return {
        "record": "yes" if record else "no",
        "sim_s": sim_s,
        "wall_s": w1 - w0,
        "rtf_sub": sub_rtf,
        "rtf_node": sum(logged) / len(logged) if logged else float("nan"),
        "msgs": total,
        "msg_per_s": total / max(w1 - w0, 1e-9),
        "delivered": delivered,
        "mcap_mb": mcap_mb,
        "process_s": wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 s of sim time, no recording run")
    ap.add_argument("--sim-seconds", type=float, default=60.0, help="sim time per run (s)")
    args = ap.parse_args()
    sim_s = 10.0 if args.quick else args.sim_seconds
    rows = [run(sim_s, record=False)] + ([] if args.quick else [run(sim_s, record=True)])
    print(f"\n### `sim` node, suwon_dawn, {len(ROBOTS)} robots, dt {DT} s, real_time_factor 0\n")
    print(
        "| record | sim s | wall s | RTF (subscriber) | RTF (node log) | msgs received | msgs/s "
        "| MCAP MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['record']} | {r['sim_s']:.1f} | {r['wall_s']:.1f} | {r['rtf_sub']:.1f}x "
            f"| {r['rtf_node']:.1f}x | {r['msgs']} | {r['msg_per_s']:.0f} | {r['mcap_mb']:.1f} |"
        )
    print("\nShare of published messages the subscriber received (best-effort topics may drop):\n")
    names = ["/clock", *TOPICS]
    print("| record | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for r in rows:
        d = r["delivered"]
        assert isinstance(d, dict)
        print(f"| {r['record']} | " + " | ".join(f"{100 * d[n]:.0f}%" for n in names) + " |")
    worst = min(float(r["rtf_sub"]) for r in rows)  # type: ignore[arg-type]
    print(f"\nTarget >= 5x real time: {'met' if worst >= 5.0 else 'NOT met'} (worst {worst:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
