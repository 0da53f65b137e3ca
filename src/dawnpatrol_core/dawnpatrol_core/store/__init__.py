"""Persistent state behind small repository classes: the robot's anomaly outbox and the fleet's
anomaly inbox (SQLite in WAL mode today, replaceable by a server database later)."""
