"""DawnPatrol built-in simulator: a headless 2-D engine and its ROS node."""
