"""Load a Nav2 route-server GeoJSON graph (``routes.geojson``) into a :class:`RouteGraph`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dawnpatrol_core.errors import MapError
from dawnpatrol_core.maps.geojson_io import feature_error, number, point, read_features
from dawnpatrol_core.maps.route_graph import RouteEdge, RouteGraph, RouteNode

DEFAULT_SPEED_LIMIT = 1.5
ENDPOINT_TOLERANCE = 0.05


def _coords(src: str, fid: object, geom: dict[str, object]) -> list[tuple[float, float]]:
    gtype, coords = geom.get("type"), geom.get("coordinates")
    lines: object
    if gtype == "LineString":
        lines = [coords]
    elif gtype == "MultiLineString":
        lines = coords
    else:
        raise feature_error(src, fid, "geometry.type", gtype, "'LineString' or 'MultiLineString'")
    pts: list[tuple[float, float]] = []
    if not isinstance(lines, list):
        raise feature_error(src, fid, "geometry.coordinates", lines, "a list of lines")
    for line in lines:
        if not isinstance(line, list):
            raise feature_error(src, fid, "geometry.coordinates", line, "a list of [x, y]")
        for c in line:
            p = point(src, fid, "geometry.coordinates", c)
            if not pts or pts[-1] != p:
                pts.append(p)
    return pts


def load_route_graph(path: str | Path) -> RouteGraph:
    """Read ``routes.geojson``: nodes are Point features, edges LineString/MultiLineString
    features with ``startid``, ``endid``, ``cost``, ``overridable``, ``metadata`` (speed_limit
    m/s, width m, crosswalk bool). Coordinates are map metres. Raises ``MapError`` naming the
    file and feature id on the first problem.
    """
    src, feats = read_features(path)
    nodes: dict[int, RouteNode] = {}
    edge_feats = []
    for f in feats:
        props, geom = f["properties"], f["geometry"]
        fid = props["id"]
        if geom.get("type") == "Point":
            if isinstance(fid, bool) or not isinstance(fid, int):
                raise feature_error(src, fid, "id", fid, "an integer node id")
            if fid in nodes:
                raise feature_error(src, fid, "id", fid, "a unique node id")
            x, y = point(src, fid, "geometry.coordinates", geom.get("coordinates"))
            frame = props.get("frame", "map")
            if frame != "map":
                raise feature_error(src, fid, "frame", frame, "'map'")
            meta = props.get("metadata") or {}
            name = meta.get("name", "") if isinstance(meta, dict) else ""
            nodes[fid] = RouteNode(fid, x, y, str(name))
        else:
            edge_feats.append(f)
    edges: dict[int, RouteEdge] = {}
    for f in edge_feats:
        props = f["properties"]
        fid = props["id"]
        if isinstance(fid, bool) or not isinstance(fid, int) or fid in edges:
            raise feature_error(src, fid, "id", fid, "a unique integer edge id")
        ends = []
        for key in ("startid", "endid"):
            nid = props.get(key)
            if isinstance(nid, bool) or not isinstance(nid, int) or nid not in nodes:
                raise feature_error(src, fid, key, nid, "the id of a node in this file")
            ends.append(nodes[nid])
        start, end = ends
        pts = _coords(src, fid, f["geometry"]) or [(start.x, start.y), (end.x, end.y)]
        for (px, py), n, which in ((pts[0], start, "first"), (pts[-1], end, "last")):
            if math.hypot(px - n.x, py - n.y) > ENDPOINT_TOLERANCE:
                raise feature_error(
                    src,
                    fid,
                    "geometry.coordinates",
                    [px, py],
                    f"the {which} point at node {n.id} ({n.x}, {n.y})",
                )
        meta = props.get("metadata") or {}
        if not isinstance(meta, dict):
            raise feature_error(src, fid, "metadata", meta, "an object")
        speed = number(
            src, fid, "metadata.speed_limit", meta.get("speed_limit", DEFAULT_SPEED_LIMIT)
        )
        width = number(src, fid, "metadata.width", meta.get("width", 2.0))
        if speed <= 0 or width <= 0:
            raise feature_error(src, fid, "metadata.speed_limit/width", (speed, width), "> 0")
        crosswalk = meta.get("crosswalk", False)
        if not isinstance(crosswalk, bool):
            raise feature_error(src, fid, "metadata.crosswalk", crosswalk, "true or false")
        cost = props.get("cost")
        cost_v = None if cost is None else number(src, fid, "cost", cost, 0.0)
        overridable = props.get("overridable", True)
        if not isinstance(overridable, bool):
            raise feature_error(src, fid, "overridable", overridable, "true or false")
        length = sum(math.dist(a, b) for a, b in zip(pts, pts[1:], strict=False))
        edges[fid] = RouteEdge(
            id=fid,
            start=start.id,
            end=end.id,
            length=length,
            speed_limit=speed,
            width=width,
            crosswalk=crosswalk,
            cost=cost_v,
            overridable=overridable,
            points=tuple(pts),
            metadata=dict(meta),
        )
    if not nodes:
        raise MapError(f"{src}: no node (Point) features")
    return RouteGraph.build(list(nodes.values()), list(edges.values()))


def route_graph_document(graph: RouteGraph, name: str) -> dict[str, Any]:
    """``graph`` as a Nav2 route-server GeoJSON FeatureCollection (nodes, then edges, by id)."""
    feats: list[dict[str, Any]] = []
    for nid in sorted(graph.nodes):
        n = graph.nodes[nid]
        props: dict[str, Any] = {"id": n.id, "frame": "map"}
        if n.name:
            props["metadata"] = {"name": n.name}
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [n.x, n.y]},
                      "properties": props})
    for eid in sorted(graph.edges):
        e = graph.edges[eid]
        a, b = graph.nodes[e.start], graph.nodes[e.end]
        pts = [list(p) for p in e.points] or [[a.x, a.y], [b.x, b.y]]
        meta = dict(e.metadata) or {"speed_limit": e.speed_limit, "width": e.width,
                                    "crosswalk": e.crosswalk}
        feats.append({
            "type": "Feature",
            "geometry": {"type": "MultiLineString", "coordinates": [pts]},
            "properties": {"id": e.id, "startid": e.start, "endid": e.end,
                           "cost": e.cost if e.cost is not None else round(e.length, 3),
                           "overridable": e.overridable, "metadata": meta},
        })
    return {"type": "FeatureCollection", "name": f"{name}_routes", "features": feats}


def write_route_graph(graph: RouteGraph, path: str | Path, name: str) -> None:
    """Write ``routes.geojson`` (Nav2 route-server GeoJSON, one feature per line)."""
    doc = route_graph_document(graph, name)
    head = {k: v for k, v in doc.items() if k != "features"}
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in doc["features"]]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n' + ",\n".join(lines)
    Path(path).write_text(text + "\n]}\n", encoding="utf-8")
