"""Control: path following, obstacle slow-down and stop, zone speed limits."""
