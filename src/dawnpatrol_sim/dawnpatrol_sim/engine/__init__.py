"""Headless simulator engine: pure Python, no rclpy; stepped in lockstep with a fixed dt."""

from dawnpatrol_sim.engine.readings import (
    BatteryReading,
    Contact,
    GnssFix,
    GroundTruth,
    ImuReading,
    OdomReading,
    Scan,
    SensorFrame,
)
from dawnpatrol_sim.engine.sim_engine import SimEngine

__all__ = [
    "BatteryReading",
    "Contact",
    "GnssFix",
    "GroundTruth",
    "ImuReading",
    "OdomReading",
    "Scan",
    "SensorFrame",
    "SimEngine",
]
