"""Maps of a district: occupancy grid, sidewalk route graph, zones, addresses, georeference."""
