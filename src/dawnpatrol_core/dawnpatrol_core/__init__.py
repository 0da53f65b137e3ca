"""DawnPatrol core: every algorithm of the stack as plain Python, free of ROS."""

__version__ = "0.1.0"
