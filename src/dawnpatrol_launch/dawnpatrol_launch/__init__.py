"""A launcher for ROS 2 XML launch files where ``ros2 launch`` is not installed.

It reads the same files ``ros2 launch`` reads (a documented subset of the format, see
:mod:`.resolve`), resolves them completely before starting anything, then runs each node as its
own process from the colcon install space.
"""
