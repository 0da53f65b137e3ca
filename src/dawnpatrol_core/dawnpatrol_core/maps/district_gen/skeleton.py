"""Thinning of a free-space mask to a one-pixel skeleton, and the skeleton as a pixel graph.

The thinning deletes simple border points one direction at a time (north, east, south, west),
which keeps the mask's topology (8-connected foreground, 4-connected background) and leaves the
skeleton on the centre lines. Only pixels next to a deletion are looked at again, so the cost
grows with the mask's area, not with its width times its area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

# Neighbour k (bit k of a neighbourhood code): E, NE, N, NW, W, SW, S, SE as (drow, dcol), with
# row growing northwards (the occupancy grid's convention; the thinning itself is symmetric).
_NEIGHBOURS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))
_DIRECTIONS = (2, 0, 6, 4)  # the 4-neighbour that must be background: N, E, S, W


def _deletable_tables() -> npt.NDArray[np.bool_]:
    """(4, 256) bool: for each direction, codes of pixels that are simple, not an end point and
    border in that direction."""
    codes = np.arange(256)
    bits = (codes[:, None] >> np.arange(8)) & 1  # (256, 8): x1..x8
    nb = 1 - bits
    # Yokoi's 8-connectivity number: sum over k in {1,3,5,7} of nb_k - nb_k nb_k+1 nb_k+2.
    c8 = np.zeros(256, dtype=np.int64)
    for k in (0, 2, 4, 6):
        c8 += nb[:, k] - nb[:, k] * nb[:, (k + 1) % 8] * nb[:, (k + 2) % 8]
    simple = c8 == 1
    not_end = bits.sum(axis=1) >= 2
    return np.array([simple & not_end & (bits[:, d] == 0) for d in _DIRECTIONS])


_TABLES = _deletable_tables()


def thin(mask: BoolArray) -> BoolArray:
    """(H, W) bool skeleton of ``mask``: one pixel wide, same 8-connected components and holes.

    End points are kept, so every bump of the outline leaves a short spur (pruned later, on the
    graph).
    """
    h, w = mask.shape
    img = np.zeros((h + 2, w + 2), dtype=np.uint8)
    img[1:-1, 1:-1] = mask
    flat = img.reshape(-1)
    stride = w + 2
    offsets = np.array([dr * stride + dc for dr, dc in _NEIGHBOURS], dtype=np.int64)
    weights = (1 << np.arange(8)).astype(np.int64)
    # Candidates: foreground pixels with a background 4-neighbour.
    fg = img.astype(bool)
    inner = ndimage.binary_erosion(fg, structure=np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]))
    cand = np.flatnonzero(fg & ~inner)
    age = np.zeros(flat.size, dtype=np.int8)  # directions looked at since a neighbour changed
    slot = np.zeros(flat.size, dtype=np.int64)  # for de-duplicating without a sort
    d = 0
    while cand.size:
        code = flat[cand[:, None] + offsets[None, :]].astype(np.int64) @ weights
        dele = _TABLES[d][code]
        gone = cand[dele]
        flat[gone] = 0
        keep = cand[~dele]
        age[keep] += 1
        touched = (gone[:, None] + offsets[None, :]).reshape(-1)
        touched = touched[flat[touched] == 1]
        age[touched] = 0
        both = np.concatenate((keep[age[keep] < 4], touched))
        slot[both] = np.arange(both.size)
        cand = both[slot[both] == np.arange(both.size)]
        d = (d + 1) % 4
    return img[1:-1, 1:-1].astype(bool)


@dataclass(frozen=True, slots=True, eq=False)
class PixelGraph:
    """A skeleton as a graph of pixels.

    ``nodes``: (N, 2) float64 (row, col) of each node: junction clusters (pixels with three or
    more neighbours, 8-connected) at their mean, end points, and one pixel of every loop that
    has neither. ``edges``: (start node, end node, (K, 2) int64 (row, col) pixels between them,
    the nodes' own pixels excluded); a loop is an edge from a node to itself.
    """

    nodes: npt.NDArray[np.float64]
    edges: tuple[tuple[int, int, IntArray], ...]


def skeleton_graph(skel: BoolArray) -> PixelGraph:
    """Nodes and edges of a one-pixel skeleton (8-connected)."""
    s = np.pad(skel.astype(bool), 1)
    k8 = np.ones((3, 3), dtype=np.int64)
    k8[1, 1] = 0
    deg = ndimage.convolve(s.astype(np.int64), k8, mode="constant") * s
    junction = s & (deg >= 3)
    jlab, nj = ndimage.label(junction, structure=np.ones((3, 3)))
    stride = s.shape[1]
    node_id = np.full(s.size, -1, dtype=np.int64)
    nodes: list[tuple[float, float]] = []
    if nj:
        idx = np.arange(1, nj + 1)
        rr, cc = np.indices(s.shape)
        rows = ndimage.mean(rr, jlab, idx)
        cols = ndimage.mean(cc, jlab, idx)
        nodes.extend((float(r) - 1.0, float(c) - 1.0) for r, c in zip(rows, cols, strict=True))
        node_id[jlab.reshape(-1) > 0] = jlab.reshape(-1)[jlab.reshape(-1) > 0] - 1
    for f in np.flatnonzero(s & (deg <= 1)):
        node_id[f] = len(nodes)
        r, c = divmod(int(f), stride)
        nodes.append((float(r) - 1.0, float(c) - 1.0))
    sflat = s.reshape(-1)
    offs = [dr * stride + dc for dr, dc in _NEIGHBOURS]
    visited = np.zeros(s.size, dtype=bool)
    edges: list[tuple[int, int, IntArray]] = []
    touching: set[tuple[int, int]] = set()

    def trace(prev: int, cur: int) -> tuple[int, list[int]]:
        """Chain pixels from ``cur`` (next to node pixel ``prev``) to the next node."""
        path = [cur]
        visited[cur] = True
        while True:
            nxt = [q for q in (cur + o for o in offs) if sflat[q] and q != prev]
            q = next((p for p in nxt if node_id[p] >= 0), nxt[0] if nxt else -1)
            if q < 0 or (node_id[q] < 0 and visited[q]):
                return -1, path  # cannot happen in a thinned skeleton: dropped
            if node_id[q] >= 0:
                return int(node_id[q]), path
            visited[q] = True
            path.append(q)
            prev, cur = cur, q

    def from_node(f: int) -> None:
        n = int(node_id[f])
        for o in offs:
            p = f + o
            if not sflat[p]:
                continue
            if node_id[p] < 0 and not visited[p]:
                end, path = trace(f, p)
                if end >= 0:
                    edges.append((n, end, _rc(path, stride)))
            elif node_id[p] >= 0 and node_id[p] != n:
                touching.add((min(n, int(node_id[p])), max(n, int(node_id[p]))))

    for f in np.flatnonzero(node_id >= 0):
        from_node(int(f))
    # Loops without a node: one of their pixels becomes a node.
    for f in np.flatnonzero(sflat & (node_id < 0) & ~visited):
        if visited[f]:
            continue
        node_id[f] = len(nodes)
        r, c = divmod(int(f), stride)
        nodes.append((float(r) - 1.0, float(c) - 1.0))
        visited[f] = True
        from_node(int(f))
    edges.extend((a, b, np.zeros((0, 2), dtype=np.int64)) for a, b in sorted(touching))
    return PixelGraph(np.array(nodes, dtype=np.float64).reshape(-1, 2), tuple(edges))


def _rc(path: list[int], stride: int) -> IntArray:
    arr = np.array(path, dtype=np.int64)
    return np.stack((arr // stride - 1, arr % stride - 1), axis=1).reshape(-1, 2)
