"""District map pictures: the occupancy grid with routes, crosswalks, zones, hotspots and
entrances over it (`dawnpatrol map show`, and the base of the report's maps)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from dawnpatrol_core.maps.district import DistrictMap

ZONE_STYLE: dict[str, tuple[tuple[int, int, int, int], tuple[int, int, int, int]]] = {
    # kind: (fill RGBA, outline RGBA)
    "operating_area": ((0, 0, 0, 0), (40, 120, 40, 255)),
    "keep_out": ((220, 30, 30, 90), (200, 0, 0, 255)),
    "speed_limit": ((0, 0, 0, 0), (60, 60, 200, 160)),
    "hotspot": ((255, 140, 0, 80), (230, 110, 0, 255)),
    "night_restricted": ((140, 0, 160, 60), (140, 0, 160, 255)),
    "watch": ((255, 220, 0, 50), (200, 170, 0, 255)),
    "depot": ((0, 160, 220, 90), (0, 120, 200, 255)),
    "dock": ((0, 200, 120, 140), (0, 140, 80, 255)),
}


def render_district(dm: DistrictMap, width_px: int = 1600, labels: bool = True) -> Image.Image:
    """Draw a district map to an RGB image ``width_px`` wide (height keeps the aspect)."""
    g = dm.grid
    occ = Image.fromarray(np.where(g.occupied[::-1], 40, 245).astype(np.uint8), mode="L")
    scale = width_px / (g.width * g.resolution)  # pixels per metre
    height_px = max(1, round(g.height * g.resolution * scale))
    base = occ.resize((width_px, height_px), Image.Resampling.BOX).convert("RGBA")
    ox, oy = g.origin_x, g.origin_y

    def px(x: float, y: float) -> tuple[float, float]:
        return ((x - ox) * scale, height_px - (y - oy) * scale)

    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    od = ImageDraw.Draw(overlay)
    for z in dm.zones:
        fill, outline = ZONE_STYLE[z.kind]
        for ring in [z.polygon.exterior, *z.polygon.interiors]:
            od.polygon([px(x, y) for x, y in ring.coords], fill=fill, outline=outline, width=2)
    base = Image.alpha_composite(base, overlay)
    d = ImageDraw.Draw(base)
    for e in dm.graph.edges.values():
        color = (230, 230, 230, 255) if e.crosswalk else (30, 90, 220, 255)
        pts = [px(x, y) for x, y in e.points]
        if e.crosswalk:
            d.line(pts, fill=(20, 20, 20, 255), width=5)
        d.line(pts, fill=color, width=2)
    r = max(2.0, 0.6 * scale)
    for n in dm.graph.nodes.values():
        cx, cy = px(n.x, n.y)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(30, 90, 220, 255))
    for h in dm.hotspots:
        cx, cy = px(h.observation_pose.x, h.observation_pose.y)
        rr = r * 2.5
        d.regular_polygon((cx, cy, rr), 5, fill=(255, 120, 0, 255), outline=(0, 0, 0, 255))
        if labels:
            d.text((cx + rr + 2, cy - rr - 8), h.name, fill=(160, 60, 0, 255))
    for a in dm.addresses.values():
        cx, cy = px(a.pose.x, a.pose.y)
        hx = cx + 2.5 * r * math.cos(a.pose.theta)
        hy = cy - 2.5 * r * math.sin(a.pose.theta)
        d.rectangle((cx - r, cy - r, cx + r, cy + r), fill=(200, 0, 120, 255))
        d.line([(cx, cy), (hx, hy)], fill=(200, 0, 120, 255), width=2)
        if labels:
            d.text((cx + r + 2, cy + r), a.id, fill=(120, 0, 80, 255))
    d.text(
        (8, 8),
        f"{dm.name}  ({g.width * g.resolution:.0f} m x {g.height * g.resolution:.0f} m)",
        fill=(0, 0, 0, 255),
    )
    legend = (
        "blue: sidewalk routes  white/black: crosswalks  red: keep-out  orange: hotspots  "
        "purple: night-restricted  magenta: entrances  cyan: depot"
    )
    d.text((8, height_px - 16), legend, fill=(0, 0, 0, 255))
    return base.convert("RGB")
