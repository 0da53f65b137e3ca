"""Persistent state behind small repository classes: the robot's anomaly outbox, the fleet's
anomaly inbox and the fleet store (SQLite in WAL mode today, replaceable by a server database
later)."""
