"""map_server files: read and write ``map.yaml`` + a P5 PGM image as an :class:`OccupancyGrid`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from dawnpatrol_core.errors import MapError, field_error, finite_number, one_line, shown
from dawnpatrol_core.maps.grid import FREE, OCCUPIED, UNKNOWN, OccupancyGrid

PGM_FREE = 254
PGM_OCCUPIED = 0
PGM_UNKNOWN = 128  # p = 0.5: unknown under our thresholds (205 would read as free at 0.25)
OCCUPIED_THRESH = 0.65
FREE_THRESH = 0.25


def encode_pgm(grid: OccupancyGrid) -> bytes:
    """Binary P5 PGM bytes of ``grid``, top row first (254 free, 0 occupied, 128 unknown)."""
    img = np.full(grid.data.shape, PGM_FREE, dtype=np.uint8)
    img[grid.data >= 50] = PGM_OCCUPIED
    img[grid.data < 0] = PGM_UNKNOWN
    header = f"P5\n{grid.width} {grid.height}\n255\n".encode("ascii")
    return header + np.ascontiguousarray(img[::-1]).tobytes()


def decode_pgm(data: bytes, source: str) -> npt.NDArray[np.uint8]:
    """(H, W) uint8 pixels of a binary P5 PGM, top row first."""
    tokens: list[bytes] = []
    pos = 0
    while len(tokens) < 4:
        while pos < len(data) and data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.find(b"\n", pos) + 1 or len(data)
            continue
        start = pos
        while pos < len(data) and not data[pos : pos + 1].isspace():
            pos += 1
        if start == pos:
            raise MapError(f"{source}: truncated PGM header")
        tokens.append(data[start:pos])
    if tokens[0] != b"P5":
        raise MapError(field_error(source, "magic", tokens[0].decode(errors="replace"), "'P5'"))
    if not all(t.isdigit() and len(t) <= 6 for t in tokens[1:]):
        raise MapError(field_error(source, "header", b" ".join(tokens[1:]).decode(
            errors="replace"), "width, height and maxval as decimal numbers"))
    w, h, maxval = (int(t) for t in tokens[1:])
    if w == 0 or h == 0:
        raise MapError(field_error(source, "size", f"{w}x{h}", "at least 1x1 pixels"))
    body = data[pos + 1 : pos + 1 + w * h]
    if maxval != 255 or len(body) != w * h:
        raise MapError(f"{source}: PGM body: got {len(body)} bytes, expected {w}x{h} 8-bit pixels")
    return np.frombuffer(body, dtype=np.uint8).reshape(h, w)


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(f"{key}:"):
            return i
    return None


def read_map_yaml(path: str | Path) -> OccupancyGrid:
    """Load a map_server ``map.yaml`` and its image into an :class:`OccupancyGrid`.

    Follows map_server's trinary interpretation: p = (255 - v) / 255 (or v / 255 when
    ``negate``); p > occupied_thresh -> occupied, p < free_thresh -> free, else unknown.
    """
    p = Path(path)
    src = str(p)
    try:
        text = p.read_text(encoding="utf-8")
        doc: Any = yaml.safe_load(text)
    except (OSError, ValueError, RecursionError, yaml.YAMLError) as exc:
        raise MapError(f"{src}: cannot read map yaml: {one_line(exc)}") from None
    if not isinstance(doc, dict):
        raise MapError(field_error(src, "(root)", type(doc).__name__, "a mapping"))

    def num(key: str, default: float | None = None) -> float:
        v = doc.get(key, default)
        f = finite_number(v)
        if f is None:
            raise MapError(field_error(src, key, v, "a finite number", _line_of(text, key)))
        return f

    image = doc.get("image")
    if not isinstance(image, str) or not image:
        raise MapError(
            field_error(src, "image", image, "an image file name", _line_of(text, "image"))
        )
    try:
        img_path = (p.parent / image).resolve()
        is_file = img_path.is_file()
    except (OSError, ValueError):  # a name with a NUL byte, a loop of links
        is_file = False
        img_path = p.parent / "?"
    if not is_file:
        raise MapError(
            field_error(
                src,
                "image",
                image,
                f"an existing image file ({shown(str(img_path))} not found)",
                _line_of(text, "image"),
            )
        )
    res = num("resolution")
    if res <= 0:
        raise MapError(
            field_error(src, "resolution", res, "> 0 m/cell", _line_of(text, "resolution"))
        )
    origin = doc.get("origin")
    xyz = [finite_number(v) for v in origin] if isinstance(origin, list) else []
    ox = [v for v in xyz if v is not None]
    if len(xyz) != 3 or len(ox) != 3:
        raise MapError(field_error(src, "origin", origin, "[x, y, yaw] finite numbers",
                                   _line_of(text, "origin")))
    if abs(ox[2]) > 1e-9:
        raise MapError(
            field_error(
                src, "origin", origin, "yaw 0 (axis-aligned grids)", _line_of(text, "origin")
            )
        )
    occ_t, free_t = num("occupied_thresh", OCCUPIED_THRESH), num("free_thresh", FREE_THRESH)
    negate = int(num("negate", 0))
    mode = doc.get("mode", "trinary")
    if mode not in ("trinary", "scale"):
        raise MapError(
            field_error(src, "mode", mode, "'trinary' or 'scale'", _line_of(text, "mode"))
        )
    if img_path.suffix.lower() == ".pgm":
        pix = decode_pgm(img_path.read_bytes(), str(img_path))
    else:
        from PIL import Image

        try:
            with Image.open(img_path) as im:
                pix = np.asarray(im.convert("L"), dtype=np.uint8)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise MapError(field_error(src, "image", image, f"a readable image ({one_line(exc)})",
                                       _line_of(text, "image"))) from None
    levels = np.arange(256, dtype=np.float64)
    prob = levels / 255.0 if negate else (255.0 - levels) / 255.0
    lut = np.full(256, UNKNOWN, dtype=np.int8)
    lut[prob > occ_t] = OCCUPIED
    lut[prob < free_t] = FREE
    data = lut[pix]
    return OccupancyGrid(
        data=np.ascontiguousarray(data[::-1]),
        resolution=res,
        origin_x=ox[0],
        origin_y=ox[1],
    )


def write_map_yaml(grid: OccupancyGrid, directory: str | Path, image: str = "map.pgm") -> None:
    """Write ``map.yaml`` and the PGM image of ``grid`` into ``directory`` (byte-deterministic)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / image).write_bytes(encode_pgm(grid))
    text = (
        "# Occupancy grid in the ROS map_server format, built by `dawnpatrol map build` from the\n"
        "# world's static geometry. The map frame is the world frame; see georef.yaml.\n"
        f"image: {image}\n"
        "mode: trinary\n"
        f"resolution: {grid.resolution!r}\n"
        f"origin: [{grid.origin_x!r}, {grid.origin_y!r}, 0.0]\n"
        "negate: 0\n"
        f"occupied_thresh: {OCCUPIED_THRESH}\n"
        f"free_thresh: {FREE_THRESH}\n"
    )
    (d / "map.yaml").write_text(text, encoding="utf-8")
