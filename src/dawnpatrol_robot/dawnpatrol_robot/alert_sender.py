"""AlertSender: publishes a robot's outbox on `anomalies` until the fleet's receipts on
/fleet/anomaly_acks remove each event; `sim/link_up` false holds everything back."""

from __future__ import annotations

import re

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool

from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.store.outbox import Outbox
from dawnpatrol_interfaces.msg import Anomaly, AnomalyAck
from dawnpatrol_ros.codecs import anomaly_to_msg
from dawnpatrol_ros.qos import ALERT_QOS, LATCHED_QOS

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Receipts come in bursts (one per event of a resent batch): a deep reader queue keeps the
# executor from dropping them, which would only cost resends, not events.
ACK_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     history=HistoryPolicy.KEEP_LAST)


class AlertSender:
    """Sends ``outbox`` for robot ``robot_id`` from ``node``: every ``1/rate_hz`` s (node clock)
    the due events go out on ``anomalies`` (relative to the node's namespace) and are marked
    sent; a receipt for a uuid sent from here removes it from the outbox (at the revision that
    was sent). While the link is down (``sim/link_up`` false, or :meth:`set_link_up`) nothing
    is sent and receipts are ignored, as if the radio were off."""

    def __init__(self, node: Node, outbox: Outbox, robot_id: str, rate_hz: float = 2.0,
                 batch: int = 100) -> None:
        self._node = node
        self._outbox = outbox
        self._rid = robot_id
        self._batch = batch
        self._link_up = True
        self._sent_rev: dict[str, int] = {}
        self.published = 0  #: messages published since start (resends included)
        self.acked = 0  #: outbox rows removed by receipts
        self._pub = node.create_publisher(Anomaly, "anomalies", ALERT_QOS)
        node.create_subscription(Bool, "sim/link_up", self._on_link, LATCHED_QOS)
        node.create_subscription(AnomalyAck, "/fleet/anomaly_acks", self._on_ack, ACK_QOS)
        node.create_timer(1.0 / rate_hz, self.publish_due)

    @property
    def link_up(self) -> bool:
        """False while the (simulated) radio link is down."""
        return self._link_up

    def set_link_up(self, up: bool) -> None:
        """Open (True) or close (False) the link gate."""
        self._link_up = bool(up)

    def _now(self) -> float:
        return float(self._node.get_clock().now().nanoseconds * 1e-9)

    def _on_link(self, msg: Bool) -> None:
        self.set_link_up(msg.data)

    def _on_ack(self, msg: AnomalyAck) -> None:
        if msg.robot_id != self._rid or not self._link_up:
            return
        if not _UUID.fullmatch(msg.uuid):
            self._node.get_logger().warning(f"dropped ack: uuid {msg.uuid[:40]!r}",
                                            throttle_duration_sec=5.0)
            return
        rev = self._sent_rev.pop(msg.uuid, None)
        if rev is None:
            # A repeated receipt (the event was resent before the first one came back): the
            # row it named is gone, and a newer revision put since must not go with it.
            return
        if self._outbox.ack(msg.uuid, rev):
            self.acked += 1

    def publish_due(self) -> int:
        """Publish the events due now (at most one batch); returns how many went out."""
        if not self._link_up:
            return 0
        now = self._now()
        try:
            items = self._outbox.pending(now, self._batch)
        except DawnPatrolError as exc:
            self._node.get_logger().error(f"outbox: {exc}", throttle_duration_sec=5.0)
            return 0
        for item in items:
            self._pub.publish(anomaly_to_msg(item.event))
            self._sent_rev[item.event.uuid] = item.event.revision
        self._outbox.mark_sent([i.event.uuid for i in items], now)
        self.published += len(items)
        return len(items)
