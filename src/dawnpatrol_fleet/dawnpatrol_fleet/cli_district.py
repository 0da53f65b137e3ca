"""`dawnpatrol district new|check`: make a whole district folder (grid, route graph, addresses,
zones, georeference) from an SDF world, a SLAM map or OpenStreetMap, and check one.

Exit codes: 0 ok; 1 the district was written but is incomplete (an entrance or bay left out, or
its check found problems); 2 bad input (one line on stderr) or, for `check`, problems found.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dawnpatrol_core.errors import DawnPatrolError
from dawnpatrol_fleet.cli_base import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Verb

if TYPE_CHECKING:
    from dawnpatrol_core.maps.georef import GeoReference

# The generator and checker pull in scipy and shapely: imported when a command runs, so that
# `dawnpatrol status` (which builds the whole parser) starts fast.

OSM_SUFFIXES = (".osm", ".pbf", ".o5m", ".xml")
WORLD_SUFFIXES = (".sdf", ".world")
GENERATED = ("map.yaml", "map.pgm", "routes.geojson", "addresses.yaml", "zones.geojson",
             "georef.yaml")


class _BadInputError(Exception):
    pass


def _origin(text: str) -> GeoReference:
    try:
        vals = [float(v) for v in text.split(",")]
        if len(vals) not in (2, 3) or not (-90 <= vals[0] <= 90 and -180 <= vals[1] <= 180):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected LAT,LON or LAT,LON,ALT in degrees (and metres)") from None
    from dawnpatrol_core.maps.georef import GeoReference

    return GeoReference(*vals)


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v > 0:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a positive number")
    return v


def _non_negative(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a number >= 0")
    return v


class DistrictVerb(Verb):
    """The ``district`` command group (ros2cli-style verb: ``add_arguments`` then ``main``)."""

    name = "district"
    help = "make a district folder from a world, a SLAM map or OpenStreetMap, or check one"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add ``new`` and ``check`` under ``parser``."""
        sub = parser.add_subparsers(dest="district_command", required=True,
                                    metavar="{new,check}")
        n = sub.add_parser(
            "new", help="generate a district folder (map, routes, addresses, zones, georef)",
            description="Generate the whole district folder the stack reads. SOURCE is an SDF "
            "world (entrances from entrance_<id> models, depot bays from depot_<n>, the "
            "walkable surface from a 'pavement' model), a map_server map.yaml (e.g. from a SLAM "
            "run; entrances and depot from --sites) or an OpenStreetMap extract (.osm/.pbf; "
            "needs --origin or --georef, depot from --sites).")
        n.add_argument("source", help="world .sdf, map.yaml or OSM extract .osm/.pbf")
        n.add_argument("--out", required=True, help="district folder to write, e.g. maps/NAME")
        n.add_argument("--origin", type=_origin, metavar="LAT,LON[,ALT]",
                       help="WGS84 origin of the map frame (default: the world's "
                            "<spherical_coordinates>)")
        n.add_argument("--georef", metavar="FILE", help="georef.yaml to take the origin from")
        n.add_argument("--sites", metavar="FILE",
                       help="YAML of entrances (id, x, y, yaw out of the building) and depot "
                            "bays (x, y, yaw); added to a world's markers")
        n.add_argument("--osm", metavar="FILE",
                       help="take the routes from this OSM extract's footways and crossings, "
                            "clipped to the grid's operating area")
        n.add_argument("--robot-radius", type=_positive, default=0.4,
                       help="robot radius in m (default 0.4, the navigator's robot_radius)")
        n.add_argument("--margin", type=_non_negative, default=0.2,
                       help="extra clearance of the route centre lines in m (default 0.2)")
        n.add_argument("--max-edge", type=_positive, default=10.0,
                       help="longest edge in m: nodes at most this far apart (default 10)")
        n.add_argument("--resolution", type=_positive, default=None,
                       help="grid cell size in m for worlds and OSM (default: as `dawnpatrol map "
                            "build`, 0.05)")
        n.add_argument("--force", action="store_true", help="overwrite an existing district")
        n.add_argument("--no-check", action="store_true",
                       help="skip the `district check` run at the end")
        c = sub.add_parser(
            "check", help="check a district folder; one line per problem, exit 2 if any",
            description="Check a district: files load, edges keep the robot's radius from "
                        "obstacles, every entrance is reachable from every depot bay and back, "
                        "zones are valid and inside the operating area, hotspots and watch "
                        "zones are reachable, the georeference is sane.")
        c.add_argument("map_dir", help="district folder, e.g. maps/suwon_dawn")
        c.add_argument("--robot-radius", type=_positive, default=0.4,
                       help="robot radius in m (default 0.4)")
        c.add_argument("--json", action="store_true", help="problems as JSON on stdout")

    def main(self, args: argparse.Namespace) -> int:
        """Run ``new`` or ``check``; returns the exit code."""
        try:
            if args.district_command == "new":
                return self._new(args)
            return self._check(args)
        except (_BadInputError, DawnPatrolError, OSError) as exc:
            sys.stderr.write(f"dawnpatrol district {args.district_command}: "
                             f"{str(exc).splitlines()[0]}\n")
            return EXIT_BAD_INPUT

    # -- new ---------------------------------------------------------------------------------
    def _new(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.maps.district_check import check_district
        from dawnpatrol_core.maps.district_gen import build
        from dawnpatrol_core.maps.district_gen.osm import load_osm
        from dawnpatrol_core.maps.district_gen.routes import RouteGenConfig
        from dawnpatrol_core.maps.district_gen.sites import load_sites
        from dawnpatrol_core.maps.rasterize import DEFAULT_RESOLUTION

        resolution = args.resolution if args.resolution is not None else DEFAULT_RESOLUTION
        t0 = time.perf_counter()
        source, out = Path(args.source), Path(args.out)

        def say(line: str) -> None:
            sys.stderr.write(f"[{time.perf_counter() - t0:5.1f} s] {line}\n")
            sys.stderr.flush()

        if not source.is_file():
            raise _BadInputError(f"source {source}: no such file")
        existing = [f for f in GENERATED if (out / f).exists()]
        if existing and not args.force:
            raise _BadInputError(f"--out {out}: already holds {', '.join(existing)} (--force to "
                            "overwrite)")
        georef = _georef(args)
        ext = source.suffix.lower()
        if ext in WORLD_SUFFIXES:
            src = build.source_from_world(source, resolution, out)
            say(f"grid from {source.name}: {src.grid.width}x{src.grid.height} cells; "
                f"{len(src.sites.entrances)} entrances, {len(src.sites.depot_bays)} depot bays, "
                f"{len(src.surfaces)} pavement surfaces")
        elif ext in (".yaml", ".yml"):
            src = build.source_from_map(source)
            say(f"grid from {source.name}: {src.grid.width}x{src.grid.height} cells")
        elif ext in OSM_SUFFIXES:
            if georef is None:
                raise _BadInputError("an OSM extract needs --origin LAT,LON or --georef FILE")
            src = build.source_from_osm(source, georef, resolution)
            say(f"OSM extract {source.name}: {len(src.route_lines or ())} routes, "
                f"{len(src.sites.entrances)} entrances")
        else:
            raise _BadInputError(f"source {source}: expected a world (.sdf), a map_server map.yaml "
                            "or an OSM extract (.osm, .pbf)")
        georef = georef or src.georef
        if georef is None:
            raise _BadInputError(f"source {source}: no georeference (the world has no "
                            "<spherical_coordinates>): pass --origin LAT,LON or --georef FILE")
        if args.sites:
            src = replace(src, sites=src.sites.merged(load_sites(args.sites)))
        if args.osm:
            src = build.with_osm_routes(src, load_osm(args.osm, georef))
        cfg = build.DistrictConfig(RouteGenConfig(robot_radius=args.robot_radius,
                                                  margin=args.margin,
                                                  max_edge_length=args.max_edge))
        district = build.generate_district(replace(src, name=out.resolve().name), georef, cfg,
                                           say)
        build.write_district(district, out, write_grid=ext not in WORLD_SUFFIXES)
        for w in district.warnings:
            sys.stderr.write(f"warning: {w}\n")
        g = district.graph
        print(f"wrote {out}: {len(g.nodes)} nodes, {len(g.edges)} directed edges, "
              f"{len(district.addresses)} entrances, {len(district.depot_bays)} depot bays "
              f"in {time.perf_counter() - t0:.1f} s")
        code = EXIT_FAILED if district.warnings else EXIT_OK
        if not args.no_check:
            res = check_district(out, args.robot_radius)
            for p in res.problems:
                sys.stderr.write(f"{p}\n")
            print(_summary(out, res))
            code = code if res.ok else EXIT_FAILED
        return code

    # -- check -------------------------------------------------------------------------------
    def _check(self, args: argparse.Namespace) -> int:
        from dawnpatrol_core.maps.district_check import check_district

        d = Path(args.map_dir)
        if not d.is_dir():
            raise _BadInputError(f"{d}: not a directory")
        res = check_district(d, args.robot_radius)
        if args.json:
            print(json.dumps({"ok": res.ok, "problems": [
                {"file": p.file, "feature": p.feature, "what": p.what} for p in res.problems]},
                ensure_ascii=False))
        else:
            for p in res.problems:
                print(p)
            if res.ok:
                print(_summary(d, res))
        return EXIT_OK if res.ok else EXIT_BAD_INPUT


def _georef(args: argparse.Namespace) -> GeoReference | None:
    if args.origin is not None and args.georef:
        raise _BadInputError("--origin and --georef: give one, not both")
    if args.georef:
        from dawnpatrol_core.maps.georef import load_georef

        return load_georef(args.georef)
    return args.origin  # type: ignore[no-any-return]


def _summary(d: Path, res: object) -> str:
    from dawnpatrol_core.maps.district_check import CheckResult

    assert isinstance(res, CheckResult)
    if not res.ok:
        return f"{d}: {len(res.problems)} problem(s)"
    return (f"{d}: ok — {res.nodes} nodes, {res.edges} edges; {res.entrances} entrances "
            f"reachable from {res.bays} depot bays and back; {res.zones} zones")


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``python -m dawnpatrol_fleet.cli_district new|check ...``."""
    verb = DistrictVerb()
    parser = argparse.ArgumentParser(prog="dawnpatrol district", description=verb.help)
    verb.add_arguments(parser)
    return verb.main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
