"""`dawnpatrol map build|show`: build a district's occupancy grid from its Gazebo world, and draw
a district map (grid, routes, zones, hotspots, addresses) to a PNG.

Exit codes: 0 ok, 2 bad input (one line on stderr). Also runnable alone:
``python -m dawnpatrol_fleet.cli_map map build|show ...``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from dawnpatrol_fleet.cli_base import EXIT_BAD_INPUT, EXIT_OK, Verb

# The grid's default cell size, as dawnpatrol_core.maps.rasterize.DEFAULT_RESOLUTION (a test
# holds them equal); written here so that building the parser imports no numpy.
DEFAULT_RESOLUTION = 0.05


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


class MapVerb(Verb):
    """The ``map`` command group: ``build`` a grid from a world, ``show`` a district."""

    name = "map"
    help = "build and draw district maps"
    description = "Build and draw district maps."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="map_command", required=True, metavar="{build,show}")
        b = sub.add_parser(
            "build",
            help="rasterize a Gazebo world into map.pgm + map.yaml (+ georef.yaml)",
            description="Build the occupancy grid (map_server format) of a world's static "
            "geometry in the robot's sensing band; deterministic byte for byte.",
        )
        b.add_argument("world", help="SDFormat world file, e.g. sim/worlds/suwon_dawn.sdf")
        b.add_argument("--out", required=True, help="output map directory, e.g. maps/suwon_dawn")
        b.add_argument(
            "--resolution",
            type=_positive_float,
            default=DEFAULT_RESOLUTION,
            help=f"cell size in metres (default {DEFAULT_RESOLUTION})",
        )
        s = sub.add_parser(
            "show",
            help="draw a map directory (grid, routes, zones, hotspots, addresses) to a PNG",
            description="Load and validate a map directory and draw it to a PNG.",
        )
        s.add_argument(
            "map_dir",
            help="map directory with map.yaml, routes.geojson, zones.geojson, addresses.yaml",
        )
        s.add_argument("--out", required=True, help="PNG file to write")
        s.add_argument(
            "--width", type=_positive_int, default=1600, help="image width in pixels (default 1600)"
        )
        s.add_argument("--no-labels", action="store_true", help="omit hotspot and address labels")

    def main(self, args: argparse.Namespace) -> int:
        """Run ``build`` or ``show``; a bad world, map folder or path is exit 2 with one line."""
        from dawnpatrol_core.errors import DawnPatrolError

        try:
            return self.run(args)
        except (DawnPatrolError, OSError) as exc:
            sys.stderr.write(f"dawnpatrol map: {str(exc).splitlines()[0]}\n")
            return EXIT_BAD_INPUT

    def run(self, args: argparse.Namespace) -> int:
        return self._build(args) if args.map_command == "build" else self._show(args)

    def _build(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.maps.rasterize import build_map

        t0 = time.perf_counter()
        grid = build_map(args.world, args.out, resolution=args.resolution)
        dt = time.perf_counter() - t0
        print(
            f"wrote {Path(args.out) / 'map.pgm'}: {grid.width}x{grid.height} cells at "
            f"{grid.resolution} m, origin ({grid.origin_x}, {grid.origin_y}), "
            f"{int(grid.occupied.sum())} occupied, in {dt:.2f} s"
        )
        return EXIT_OK

    def _show(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.maps.district import load_district_map
        from dawnpatrol_fleet.map_drawing import render_district

        dm = load_district_map(args.map_dir)
        img = render_district(dm, width_px=args.width, labels=not args.no_labels)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        img.save(out, format="PNG", optimize=True)
        print(f"wrote {out}: {img.width}x{img.height} px")
        return EXIT_OK


class _OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m dawnpatrol_fleet.cli_map map build|show ...``."""
    parser = _OneLineParser(prog="dawnpatrol", description="DawnPatrol map tools.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="{map}")
    verb = MapVerb()
    verb.add_arguments(subparsers.add_parser(verb.name, help=verb.help,
                                             description=verb.description))
    return verb.main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
