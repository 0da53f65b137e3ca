"""Generate a district (route graph, addresses, zones, georeference) from a world, a SLAM map
or OpenStreetMap."""
