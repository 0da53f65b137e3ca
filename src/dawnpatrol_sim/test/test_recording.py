"""MCAP recording: the file reads back with every topic and the expected message counts."""

from __future__ import annotations

from pathlib import Path

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from dawnpatrol_core.world import load_robot_model, load_world
from dawnpatrol_sim.engine import SimEngine
from dawnpatrol_sim.recording import Recorder, message_definition, topic_counts
from dawnpatrol_sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[3]


def test_mcap_reads_back_with_topics_and_counts(tmp_path: Path) -> None:
    sc = load_scenario(ROOT / "sim/scenarios/test_yard_basic.yaml")
    model = load_robot_model(sc.robot_model or "")
    e = SimEngine(load_world(sc.world), model, sc, dt=0.05)
    out = tmp_path / "run.mcap"
    with Recorder(out) as rec:
        for _ in range(100):  # 5 s
            e.step({"r1": (0.5, 0.0), "r2": (0.3, 0.1)})
            rec.record(e)
    counts = topic_counts(out)
    want = {"/clock": 100}
    for rid in ("r1", "r2"):
        want |= {
            f"/{rid}/scan": 50,
            f"/{rid}/odom": 100,
            f"/{rid}/imu": 100,
            f"/{rid}/gnss": 25,
            f"/{rid}/ground_truth": 100,
            f"/{rid}/battery": 5,
        }
    assert counts == want
    with out.open("rb") as fh:
        reader = make_reader(fh, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        assert summary is not None
        kinds = {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()}
        assert kinds["/r1/scan"] == "sensor_msgs/LaserScan"
        assert kinds["/clock"] == "rosgraph_msgs/Clock"
        assert {c.message_encoding for c in summary.channels.values()} == {"cdr"}
        for _s, _ch, _m, msg in reader.iter_decoded_messages(topics=["/r1/scan"]):
            assert len(msg.ranges) == model.lidar.samples
            assert msg.header.frame_id == "r1/lidar_link"
            break
        last = None
        for _s, _ch, _m, msg in reader.iter_decoded_messages(topics=["/r2/ground_truth"]):
            last = msg
        assert last is not None
        assert abs(last.pose.position.x - e.pose("r2").x) < 1e-9


def test_message_definition_is_concatenated_format() -> None:
    text = message_definition("nav_msgs/Odometry")
    assert text.startswith("std_msgs/Header header\n")
    assert "\n" + "=" * 80 + "\nMSG: geometry_msgs/Pose\n" in text
