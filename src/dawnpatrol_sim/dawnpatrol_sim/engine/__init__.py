"""Headless simulator engine: pure Python, no rclpy; stepped in lockstep with a fixed dt."""
