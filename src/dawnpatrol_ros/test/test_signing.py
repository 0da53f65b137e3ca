"""The ROS glue of signed commands: which fields a signature covers, the canonical digest of a
mission goal (the same on both ends of a wire, different for any change), and the identity
recorded for a command."""

from __future__ import annotations

import json
import math

from geometry_msgs.msg import PoseWithCovariance
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import LaserScan

from dawnpatrol_core.security.envelope import Verdict, VerdictStatus
from dawnpatrol_interfaces.action import Mission
from dawnpatrol_interfaces.msg import ClosedEdges, MissionTask, RobotStatus
from dawnpatrol_interfaces.srv import SetEStop
from dawnpatrol_ros.signing import (
    _canonical,
    _encoder,
    _fields_of,
    goal_digest,
    identity,
    message_fields,
)


def goal(n: int = 3) -> Mission.Goal:
    tasks = []
    for k in range(n):
        t = MissionTask(kind="deliver", id=f"O-{k}", dwell_s=0.1)
        t.pose.position.x, t.pose.orientation.w = 5.0 + k / 3.0, 1.0
        t.stop.order_id, t.stop.handover_method = t.id, "pin"
        t.stop.window_start.sec = 7200 + k
        tasks.append(t)
    return Mission.Goal(mission_id="m1", tasks=tasks)


def test_goal_digest_is_the_same_after_the_wire_and_ignores_the_envelope() -> None:
    g = goal()
    received = deserialize_message(serialize_message(g), Mission.Goal)
    assert goal_digest(received) == goal_digest(g)
    g.envelope = '{"v":1}'
    assert goal_digest(g) == goal_digest(received)


def test_any_change_to_a_goal_changes_its_digest() -> None:
    base = goal_digest(goal())
    changes = []
    for change in (lambda g: setattr(g, "mission_id", "m2"),
                   lambda g: setattr(g.tasks[1].pose.position, "x", 40.0),
                   lambda g: setattr(g.tasks[0].stop, "handover_method", "door"),
                   lambda g: setattr(g.tasks[2].stop.window_start, "sec", 1),
                   lambda g: g.tasks.pop(),
                   lambda g: g.tasks.reverse()):
        g = goal()
        change(g)
        changes.append(goal_digest(g))
    assert base not in changes and len(set(changes)) == len(changes)


def test_float32_fields_are_taken_at_the_value_the_receiver_reads() -> None:
    scan = LaserScan(angle_min=0.1, ranges=[0.1, math.inf, math.nan])
    received = deserialize_message(serialize_message(scan), LaserScan)
    assert received.angle_min != 0.1  # float32 on the wire
    # as JSON text: NaN is not equal to itself in a list
    assert json.dumps(_canonical(scan, "sensor_msgs/LaserScan")) == json.dumps(
        _canonical(received, "sensor_msgs/LaserScan"))


def test_generated_encoders_give_the_generic_canonical_form() -> None:
    """The per-class encoders (fast path) and the field-by-field walk (reference) agree on
    nested messages, sequences of messages, float32 (NaN, infinity), fixed float64 arrays
    (numpy), integer sequences and plain scalars."""
    cov = PoseWithCovariance()
    cov.covariance[3] = 0.1
    msgs = [goal(4), LaserScan(angle_min=0.1, ranges=[0.1, math.inf, math.nan],
                               intensities=[2.5]), cov, ClosedEdges(edges=[3, 7], envelope="e"),
            RobotStatus(robot_id="r1", battery_percent=50.3)]
    for m in msgs:
        reference = [_canonical(getattr(m, n), t) for n, t in _fields_of(type(m)) or ()]
        assert repr(_encoder(type(m))(m)) == repr(reference), type(m).__name__


def test_message_fields_are_json_values_without_the_envelope() -> None:
    assert message_fields(ClosedEdges(edges=[3, 7], envelope="x")) == {"edges": [3, 7]}
    req = SetEStop.Request(engage=False, robot_id="r1", reason="ok", operator_name="kim",
                           envelope="x")
    assert message_fields(req) == {"engage": False, "robot_id": "r1", "reason": "ok",
                                   "operator_name": "kim"}


def test_identity_names_what_an_unsigned_command_claimed() -> None:
    unsigned = Verdict(VerdictStatus.UNSIGNED, "refused resume on r1: no signed envelope",
                       "resume")
    assert identity(unsigned, "kim") == "unverified 'kim' (unsigned)"
    assert identity(unsigned, "") == "unverified (unsigned)"
    expired = Verdict(VerdictStatus.EXPIRED, "...", "resume", "lee")
    assert identity(expired, "someone-else") == "unverified 'lee' (expired)"
