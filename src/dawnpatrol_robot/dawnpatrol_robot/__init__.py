"""DawnPatrol nodes that run on a robot."""
