"""Patrol: hotspot plans, unpredictable schedules with idleness bounds, metrics."""
