"""Safety: e-stop latch, heartbeat watchdog, operating hours, speed governor."""
