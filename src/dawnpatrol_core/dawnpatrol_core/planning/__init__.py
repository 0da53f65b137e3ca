"""Planning: route-graph search, grid search, VRPTW dispatch."""
