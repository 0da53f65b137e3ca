"""Localization: particle filter on the occupancy grid fused with odometry and GNSS."""
