"""Anomaly detection: people from lidar, tracking, rules, events, robot health."""
