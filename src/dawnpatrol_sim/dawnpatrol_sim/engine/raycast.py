"""Vectorized 2-D ray casting of a lidar scan against segments and circles.

Each primitive is only tested against the beams inside the angle it subtends, so the cost grows
with the number of (beam, primitive) overlaps rather than beams x primitives.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TWO_PI = 2.0 * math.pi


def boxes_to_segments(boxes: FloatArray) -> FloatArray:
    """Outline edges of oriented boxes.

    boxes: (K,5) float64 [cx, cy, length_x, width_y, yaw] (m, rad).
    Returns (4K,4) float64 [x0, y0, x1, y1] (m).
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    hx, hy = b[:, 2] / 2.0, b[:, 3] / 2.0
    c, s = np.cos(b[:, 4]), np.sin(b[:, 4])
    lx = np.stack([hx, -hx, -hx, hx], axis=1)  # (K,4) corners CCW
    ly = np.stack([hy, hy, -hy, -hy], axis=1)
    cx = b[:, 0:1] + c[:, None] * lx - s[:, None] * ly
    cy = b[:, 1:2] + s[:, None] * lx + c[:, None] * ly
    nx, ny = np.roll(cx, -1, axis=1), np.roll(cy, -1, axis=1)
    return np.stack([cx, cy, nx, ny], axis=2).reshape(-1, 4)


def segments_in_box(
    segments: FloatArray, xmin: float, ymin: float, xmax: float, ymax: float
) -> IntArray:
    """Indices of segments whose bounding box overlaps the query box (m)."""
    s = segments
    sxmin = np.minimum(s[:, 0], s[:, 2])
    sxmax = np.maximum(s[:, 0], s[:, 2])
    symin = np.minimum(s[:, 1], s[:, 3])
    symax = np.maximum(s[:, 1], s[:, 3])
    keep = (sxmax >= xmin) & (sxmin <= xmax) & (symax >= ymin) & (symin <= ymax)
    return np.nonzero(keep)[0].astype(np.int64)


def _expand(lo: FloatArray, hi: FloatArray, inc: float, n_beams: int) -> tuple[IntArray, IntArray]:
    """(beam, primitive) pairs for primitives covering relative angles [lo, hi] (rad ≥ -2π)."""
    k0 = np.ceil(lo / inc - 1e-9).astype(np.int64)
    k1 = np.floor(hi / inc + 1e-9).astype(np.int64)
    k0 = np.maximum(k0, 0)
    k1 = np.minimum(k1, n_beams - 1)
    counts = np.maximum(k1 - k0 + 1, 0)
    total = int(counts.sum())
    prim = np.repeat(np.arange(lo.shape[0], dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    beam = np.arange(total, dtype=np.int64) - np.repeat(starts - k0, counts)
    return beam, prim


def _pairs(lo: FloatArray, span: FloatArray, inc: float, n_beams: int) -> tuple[IntArray, IntArray]:
    """Pairs for arcs starting at ``lo`` ∈ [0, 2π) with width ``span`` (rad), wrap included."""
    lo2 = np.concatenate([lo, lo - TWO_PI])
    hi2 = lo2 + np.concatenate([span, span])
    beam, prim = _expand(lo2, hi2, inc, n_beams)
    n = lo.shape[0]
    return beam, np.where(prim >= n, prim - n, prim)


def cast_scan(
    ox: float,
    oy: float,
    first_angle: float,
    increment: float,
    n_beams: int,
    segments: FloatArray,
    circles: FloatArray,
    range_max: float,
) -> FloatArray:
    """Noise-free ranges of one scan from origin (ox, oy).

    first_angle: world-frame angle of beam 0 (rad); increment: beam spacing (rad, > 0).
    segments: (K,4) [x0,y0,x1,y1]; circles: (C,3) [cx,cy,r] (m).
    Returns (n_beams,) float64 distances (m); beams hitting nothing within range_max are +inf.
    """
    segs = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
    circs = np.asarray(circles, dtype=np.float64).reshape(-1, 3)
    out: FloatArray = cast_scans(
        np.array([[ox, oy]]),
        np.array([first_angle]),
        increment,
        n_beams,
        segs,
        np.zeros(segs.shape[0], np.int64),
        circs,
        np.zeros(circs.shape[0], np.int64),
        range_max,
    )[0]
    return out


def cast_scans(
    origins: FloatArray,
    first_angles: FloatArray,
    increment: float,
    n_beams: int,
    segments: FloatArray,
    seg_owner: IntArray,
    circles: FloatArray,
    circ_owner: IntArray,
    range_max: float,
) -> FloatArray:
    """Noise-free ranges of several scans at once (one numpy pass for all sensors).

    origins: (S,2) m; first_angles: (S,) rad; segments (K,4) / circles (C,3) with owners (K,)/(C,)
    naming the scan (0..S-1) each primitive is tested for. Returns (S, n_beams) m, +inf no hit.
    """
    n_scans = origins.shape[0]
    out = np.full(n_scans * n_beams, np.inf)
    beams: list[IntArray] = []
    dists: list[FloatArray] = []
    if segments.shape[0]:
        o = origins[seg_owner]
        px = segments[:, 0] - o[:, 0]
        py = segments[:, 1] - o[:, 1]
        ex = segments[:, 2] - segments[:, 0]
        ey = segments[:, 3] - segments[:, 1]
        ee = ex * ex + ey * ey
        u = -(px * ex + py * ey) / np.where(ee > 0, ee, 1.0)
        u = np.minimum(np.maximum(u, 0.0), 1.0)
        cx, cy = px + u * ex, py + u * ey
        near = np.nonzero((cx * cx + cy * cy) <= range_max * range_max)[0]
        px, py, ex, ey, own = px[near], py[near], ex[near], ey[near], seg_owner[near]
        if px.shape[0]:
            fa = first_angles[own]
            a1 = np.arctan2(py, px)
            a2 = np.arctan2(py + ey, px + ex)
            sweep = (a2 - a1 + math.pi) % TWO_PI - math.pi
            start = np.where(sweep >= 0, a1, a2)
            lo = (start - fa) % TWO_PI
            beam, prim = _pairs(lo, np.abs(sweep), increment, n_beams)
            if beam.shape[0]:
                ang = fa[prim] + beam * increment
                dx, dy = np.cos(ang), np.sin(ang)
                sx, sy, tx, ty = px[prim], py[prim], ex[prim], ey[prim]
                den = dx * ty - dy * tx
                with np.errstate(divide="ignore", invalid="ignore"):
                    t = (sx * ty - sy * tx) / den
                t[~((den != 0) & (t > 0))] = np.inf
                beams.append(own[prim] * n_beams + beam)
                dists.append(t)
    if circles.shape[0]:
        o = origins[circ_owner]
        qx = circles[:, 0] - o[:, 0]
        qy = circles[:, 1] - o[:, 1]
        r = circles[:, 2]
        d = np.hypot(qx, qy)
        keep = np.nonzero((d - r <= range_max) & (d > r))[0]
        qx, qy, r, d, own = qx[keep], qy[keep], r[keep], d[keep], circ_owner[keep]
        if qx.shape[0]:
            fa = first_angles[own]
            half = np.arcsin(r / d)
            lo = (np.arctan2(qy, qx) - half - fa) % TWO_PI
            beam, prim = _pairs(lo, 2.0 * half, increment, n_beams)
            if beam.shape[0]:
                ang = fa[prim] + beam * increment
                dx, dy = np.cos(ang), np.sin(ang)
                cxp, cyp, rp = qx[prim], qy[prim], r[prim]
                along = cxp * dx + cyp * dy
                perp = cxp * dy - cyp * dx
                disc = rp * rp - perp * perp
                t = along - np.sqrt(np.maximum(disc, 0.0))
                t[disc < 0] = np.inf
                beams.append(own[prim] * n_beams + beam)
                dists.append(t)
    if beams:
        np.minimum.at(out, np.concatenate(beams), np.concatenate(dists))
    out[out > range_max] = np.inf
    return out.reshape(n_scans, n_beams)
