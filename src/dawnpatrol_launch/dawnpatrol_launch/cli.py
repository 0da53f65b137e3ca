"""``dawnpatrol-launch FILE.launch.xml name:=value …`` — run a ROS 2 XML launch file."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

from dawnpatrol_core.errors import LaunchFileError
from dawnpatrol_launch.resolve import LaunchResolver
from dawnpatrol_launch.runner import LaunchRunner


def parse_arguments(pairs: list[str]) -> dict[str, str]:
    """``name:=value`` pairs -> dict; ValueError naming the bad pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition(":=")
        if not sep or not name:
            raise ValueError(f"launch argument {pair!r}: expected name:=value")
        out[name] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dawnpatrol-launch",
        description="Run a ROS 2 XML launch file (the subset documented in "
        "dawnpatrol_launch.resolve) where `ros2 launch` is not installed.",
    )
    parser.add_argument("file", help="path to a *.launch.xml file")
    parser.add_argument("arguments", nargs="*", help="launch arguments as name:=value")
    parser.add_argument(
        "--print", action="store_true", help="print the resolved command lines and exit"
    )
    parser.add_argument(
        "--log-dir", default="",
        help="where nodes with output='log' write <name>.log (default $DAWNPATROL_LOG_DIR, "
        "else ~/.ros/log/dawnpatrol-launch)")
    ns = parser.parse_args(argv)
    try:
        args = parse_arguments(ns.arguments)
        specs = LaunchResolver().resolve(ns.file, args)
    except (LaunchFileError, ValueError) as exc:
        print(f"dawnpatrol-launch: {exc}", file=sys.stderr)
        return 2
    if ns.print:
        for s in specs:
            print(f"{s.name}: {' '.join(s.command)}")
        return 0
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    runner = LaunchRunner(specs, log_dir=ns.log_dir or os.environ.get("DAWNPATROL_LOG_DIR"))

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        runner.request_shutdown(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
