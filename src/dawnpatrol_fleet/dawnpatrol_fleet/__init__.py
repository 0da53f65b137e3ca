"""DawnPatrol fleet manager node, its store, and the operator CLI."""
