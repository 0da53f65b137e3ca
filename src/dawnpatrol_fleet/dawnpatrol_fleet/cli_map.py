"""`dawnpatrol map build|show`: build a district's occupancy grid from its Gazebo world, and draw
a district map (grid, routes, zones, hotspots, addresses) to a PNG.

Exit codes: 0 ok, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np
from PIL import Image, ImageDraw

from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_core.maps.district import DistrictMap, load_district_map
from dawnpatrol_core.maps.rasterize import DEFAULT_RESOLUTION, build_map

EXIT_OK = 0
EXIT_BAD_INPUT = 2

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


def _cmd_build(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    grid = build_map(args.world, args.out, resolution=args.resolution)
    dt = time.perf_counter() - t0
    print(
        f"wrote {Path(args.out) / 'map.pgm'}: {grid.width}x{grid.height} cells at "
        f"{grid.resolution} m, origin ({grid.origin_x}, {grid.origin_y}), "
        f"{int(grid.occupied.sum())} occupied, in {dt:.2f} s"
    )
    return EXIT_OK


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


def _cmd_show(args: argparse.Namespace) -> int:
    dm = load_district_map(args.map_dir)
    img = render_district(dm, width_px=args.width, labels=not args.no_labels)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, format="PNG", optimize=True)
    print(f"wrote {out}: {img.width}x{img.height} px")
    return EXIT_OK


def _positive_float(text: str) -> float:
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a positive number")
    return v


def _positive_int(text: str) -> int:
    v = int(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a positive integer")
    return v


def add_map_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``map build`` and ``map show``; each sets ``args.func(args) -> exit code``."""
    p_map = subparsers.add_parser(
        "map", help="build and draw district maps", description="Build and draw district maps."
    )
    sub = p_map.add_subparsers(dest="map_command", required=True, metavar="{build,show}")
    b = sub.add_parser(
        "build",
        help="rasterize a Gazebo world into map.pgm + map.yaml (+ georef.yaml)",
        description="Build the occupancy grid (map_server format) of a world's static geometry "
        "in the robot's sensing band; deterministic byte for byte.",
    )
    b.add_argument("world", help="SDFormat world file, e.g. sim/worlds/suwon_dawn.sdf")
    b.add_argument("--out", required=True, help="output map directory, e.g. maps/suwon_dawn")
    b.add_argument(
        "--resolution",
        type=_positive_float,
        default=DEFAULT_RESOLUTION,
        help=f"cell size in metres (default {DEFAULT_RESOLUTION})",
    )
    b.set_defaults(func=_cmd_build)
    s = sub.add_parser(
        "show",
        help="draw a map directory (grid, routes, zones, hotspots, addresses) to a PNG",
        description="Load and validate a map directory and draw it to a PNG.",
    )
    s.add_argument(
        "map_dir", help="map directory with map.yaml, routes.geojson, zones.geojson, addresses.yaml"
    )
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument(
        "--width", type=_positive_int, default=1600, help="image width in pixels (default 1600)"
    )
    s.add_argument("--no-labels", action="store_true", help="omit hotspot and address labels")
    s.set_defaults(func=_cmd_show)


class _OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m dawnpatrol_fleet.cli_map map build|show ...``."""
    parser = _OneLineParser(prog="dawnpatrol", description="DawnPatrol map tools.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="{map}")
    add_map_commands(subparsers)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (DawnPatrolError, OSError) as exc:
        sys.stderr.write(f"dawnpatrol map: {str(exc).splitlines()[0]}\n")
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
