"""The fleet's decisions, pure and typed: the coordinator (events in, commands out) and what it
stands on (shift clock and parameters, depot, travel, task plans, patrol, closed sidewalks).
The fleet manager node and the headless shift both drive the same coordinator."""
