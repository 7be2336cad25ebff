"""Graph layouts for network plots, with numpy only (no networkx).

Nodes are indexed 0..n-1; edges are pairs of indices.  Every function is deterministic:
no random numbers, no iteration over sets or hash-ordered containers.

* :func:`components` -- connected components, in the order of their first node.
* :func:`graph_distances` -- shortest-path lengths (number of edges) by breadth-first search.
* :func:`circle_layout` -- nodes on a circle, the first at the top, clockwise.
* :func:`stress_layout` -- stress majorisation (SMACOF, de Leeuw 1977; Gansner, Koren &
  North 2004, "Graph drawing by stress majorization", LNCS 3383:239) on graph distances,
  started from classical multidimensional scaling (Torgerson 1952) -- or from the circle
  when the scaling is not unique -- and turned so that the first node is at the top and
  the second on the right.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Sequence

import numpy as np

__all__ = ["components", "graph_distances", "circle_layout", "stress_layout", "stress"]


def _adjacency(n: int, edges: Sequence[tuple[int, int]]) -> list[list[int]]:
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        if b not in adj[a]:
            adj[a].append(b)
        if a not in adj[b]:
            adj[b].append(a)
    for lst in adj:
        lst.sort()
    return adj


def components(n: int, edges: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected components as sorted lists of node indices, ordered by their smallest
    node (so the component of node 0 comes first).  Isolated nodes are components."""
    adj = _adjacency(n, edges)
    seen = [False] * n
    out: list[list[int]] = []
    for start in range(n):
        if seen[start]:
            continue
        comp = []
        queue = deque([start])
        seen[start] = True
        while queue:
            v = queue.popleft()
            comp.append(v)
            for w in adj[v]:
                if not seen[w]:
                    seen[w] = True
                    queue.append(w)
        out.append(sorted(comp))
    return out


def graph_distances(n: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """n x n matrix of shortest-path lengths (edges counted); ``inf`` between components."""
    adj = _adjacency(n, edges)
    dist = np.full((n, n), np.inf)
    for s in range(n):
        dist[s, s] = 0.0
        queue = deque([s])
        while queue:
            v = queue.popleft()
            for w in adj[v]:
                if not np.isfinite(dist[s, w]):
                    dist[s, w] = dist[s, v] + 1.0
                    queue.append(w)
    return dist


def circle_layout(n: int, radius: float = 1.0) -> np.ndarray:
    """n points on a circle of ``radius`` around the origin: the first at the top (90°),
    the others clockwise at equal angles.  One point sits at the origin."""
    if n == 1:
        return np.zeros((1, 2))
    ang = circle_angles(n)
    return radius * np.column_stack([np.cos(ang), np.sin(ang)])


def circle_angles(n: int) -> np.ndarray:
    """Angles (radians) of :func:`circle_layout`: pi/2, then clockwise."""
    return math.pi / 2 - 2 * math.pi * np.arange(n) / n


def stress(x: np.ndarray, dist: np.ndarray) -> float:
    """Weighted stress sum_{i<j} d_ij^-2 (||x_i - x_j|| - d_ij)^2 of a layout."""
    n = len(x)
    iu = np.triu_indices(n, 1)
    d = dist[iu]
    e = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))[iu]
    return float((((e - d) / d) ** 2).sum())


def _classical_mds(dist: np.ndarray) -> np.ndarray | None:
    """Torgerson's classical scaling into 2 dimensions, or None when the best plane is not
    unique (the 2nd and 3rd eigenvalues tie, e.g. for a complete graph): the eigenvectors
    LAPACK returns for a tied eigenvalue are arbitrary, so they would not give the same
    layout on every machine."""
    n = len(dist)
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ (dist**2) @ j
    b = (b + b.T) / 2
    vals, vecs = np.linalg.eigh(b)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    top = max(float(vals[0]), 1e-300)
    if float(vals[1]) <= 1e-9 * top:
        # one dimension is enough (a path): the line is unique, the 2nd coordinate is 0
        return np.column_stack([vecs[:, 0] * math.sqrt(top), np.zeros(n)])
    if n > 2 and float(vals[1] - vals[2]) < 1e-6 * top:
        return None
    x = vecs[:, :2] * np.sqrt(np.clip(vals[:2], 0.0, None))
    return x


def _canonical(x: np.ndarray) -> np.ndarray:
    """Centre a layout, turn it so that node 0 is straight above the centre, and mirror it
    so that the first node off the vertical axis is on the right.  Layouts that differ by a
    rotation or reflection (the only freedom stress has) become the same."""
    x = x - x.mean(axis=0)
    scale = float(np.abs(x).max()) or 1.0
    r0 = float(np.hypot(*x[0]))
    if r0 > 1e-9 * scale:
        a = math.pi / 2 - math.atan2(x[0, 1], x[0, 0])
        c, s = math.cos(a), math.sin(a)
        x = x @ np.array([[c, s], [-s, c]])
    for k in range(len(x)):
        if abs(x[k, 0]) > 1e-6 * scale:
            if x[k, 0] < 0:
                x[:, 0] = -x[:, 0]
            break
    x[np.abs(x) < 1e-12 * scale] = 0.0  # no '-0.0' noise
    return x


def stress_layout(dist: np.ndarray, max_iter: int = 1000, tol: float = 1e-7) -> np.ndarray:
    """Stress-majorisation layout of one connected graph from its distance matrix.

    Minimises sum_{i<j} w_ij (||x_i - x_j|| - d_ij)^2 with w_ij = d_ij^-2 by the Guttman
    transform x <- L_w^+ L_x x (Gansner, Koren & North 2004), from classical scaling (or
    from the circle when classical scaling is not unique), until the stress decreases by
    less than ``tol`` relatively.  The result is in graph-distance units, centred, with
    node 0 at the top (see :func:`_canonical`).
    """
    dist = np.asarray(dist, dtype=float)
    n = len(dist)
    if n == 1:
        return np.zeros((1, 2))
    if not np.all(np.isfinite(dist)):
        raise ValueError("stress_layout needs a connected graph (finite distances)")
    x = _classical_mds(dist)
    if x is None:
        x = circle_layout(n, radius=float(dist.max()) / 2)
    w = np.zeros_like(dist)
    off = ~np.eye(n, dtype=bool)
    w[off] = dist[off] ** -2.0
    lw = -w.copy()
    lw[np.diag_indices(n)] = w.sum(axis=1)
    lw_pinv = np.linalg.pinv(lw)
    x = x - x.mean(axis=0)
    if float(np.abs(x).max()) == 0.0:
        x = circle_layout(n)
    iu = np.triu_indices(n, 1)
    d_iu = dist[iu]
    prev = math.inf
    for _ in range(max_iter):
        diff = x[:, None, :] - x[None, :, :]
        e = np.sqrt((diff**2).sum(-1))
        cur = float((((e[iu] - d_iu) / d_iu) ** 2).sum())  # stress of x
        if cur <= 1e-20 or (math.isfinite(prev) and prev - cur <= tol * prev):
            break
        prev = cur
        with np.errstate(divide="ignore", invalid="ignore"):
            lz = np.where(off & (e > 0), -w * dist / e, 0.0)
        lz[np.diag_indices(n)] = -lz.sum(axis=1)
        x = lw_pinv @ (lz @ x)
    return _canonical(x)
