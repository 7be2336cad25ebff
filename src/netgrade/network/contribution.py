"""The contribution matrix: how much each direct comparison feeds each network estimate.

CINeMA (Nikolakopoulou et al. 2020, PLoS Med 17:e1003082) weights the within-study bias
and indirectness judgements of the direct comparisons by their contributions to each
network estimate.  The contributions come from the hat matrix H of the two-step
("aggregate") network model: the direct (pairwise) estimates y_e of the E edges are
combined into the network estimates θ̂ = H y.  Row r of H, read as the currents of an
electrical network, is a flow of evidence from the first to the second treatment of
comparison r: one unit leaves the source, none is lost at the other nodes, and the flow
is acyclic (Papakonstantinou, Nikolakopoulou, Rücker, Chaimani, Schwarzer, Egger &
Salanti 2018, F1000Research 7:610, "Estimating the contribution of studies in network
meta-analysis: paths, flows and streams").  The flow is decomposed into streams (a path
from source to sink with its share φ of the flow) and every edge on a path of length ℓ
receives φ/ℓ.  Two decompositions are implemented:

- ``"shortestpath"`` (Papakonstantinou et al. 2018): repeatedly take the shortest path
  (fewest edges) that still carries flow, give it the smallest flow on its edges,
  subtract, and remove exhausted edges.  When several shortest paths exist the result
  can depend on which is taken first; here the breadth-first search visits edges in the
  order of ``edges``, so the result is deterministic for a given edge order.
- ``"randomwalk"`` (Davies, Papakonstantinou, Nikolakopoulou, Rücker & Galla 2022, Stat
  Med 41:2091, "Network meta-analysis and random walks"): a walker starts at the source
  and leaves every node along an outgoing edge with probability proportional to the
  edge's flow; a path's stream is the probability that the walker takes it.  This has no
  ambiguity.  The sum over paths is evaluated analytically by dynamic programming over
  path lengths (forward probabilities of reaching a node in a steps, backward
  probabilities of reaching the sink in b steps, edge weight 1/(a + b + 1)), which is
  exact and avoids enumerating the paths, whose number grows exponentially.

Both give contributions (in percent) that sum to 100 in every row.  The hat matrix is
built as netmeta's ``hatmatrix(x, method = "Davies", type = "long")`` (Davies et al.
2022): with B the E x T edge-incidence matrix (+1 for the first and −1 for the second
treatment of an edge), W the diagonal matrix of inverse variances of the direct
estimates and L = BᵀWB the weighted Laplacian, H = B_full L⁺ Bᵀ W, where B_full has a row
for every pair of treatments (Rücker 2012, Res Synth Methods 3:312).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .._result import ResultMixin, frozen_array
from ..errors import DataError, ModelError

__all__ = [
    "ContributionMatrix",
    "aggregate_hat_matrix",
    "contribution_matrix",
    "study_contributions",
    "METHODS",
]

METHODS = ("shortestpath", "randomwalk")

# Entries of a hat-matrix row below this are treated as no flow (rounding residue).
_FLOW_TOL = 1e-12
# Tolerance of the flow-conservation checks on a row of H.
_CONSERVATION_TOL = 1e-7


def _label(pair: tuple[str, str]) -> str:
    return f"{pair[0]}:{pair[1]}"


def _pairs(items, what: str) -> tuple[tuple[str, str], ...]:
    out = []
    for k, item in enumerate(items):
        try:
            a, b = item
        except (TypeError, ValueError):
            raise DataError(f"{what}: entry {k + 1} ({item!r}) is not a pair of treatments") from None
        out.append((str(a), str(b)))
    return tuple(out)


def _check_edges(edges, treatments: Sequence[str] | None, what: str) -> tuple[tuple[str, str], ...]:
    pairs = _pairs(edges, what)
    if not pairs:
        raise DataError(f"{what}: no edges (direct comparisons) given")
    known = None if treatments is None else set(treatments)
    seen: dict[frozenset, int] = {}
    for k, (a, b) in enumerate(pairs):
        if a == b:
            raise DataError(f"{what}: edge {k + 1} compares {a!r} with itself")
        if known is not None:
            unknown = [t for t in (a, b) if t not in known]
            if unknown:
                raise DataError(f"{what}: edge {a!r} vs {b!r} names treatment(s) {unknown} not in the treatments")
        key = frozenset((a, b))
        if key in seen:
            raise DataError(
                f"{what}: the direct comparison {a!r} vs {b!r} is listed twice (edges {seen[key] + 1} "
                f"and {k + 1}); pool its studies into one direct estimate per edge"
            )
        seen[key] = k
    return pairs


def _all_comparisons(trts: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((trts[i], trts[j]) for i in range(len(trts)) for j in range(i + 1, len(trts)))


def aggregate_hat_matrix(
    edges: Sequence[tuple[str, str]],
    direct_variance,
    treatments: Sequence[str],
) -> tuple[np.ndarray, tuple[tuple[str, str], ...]]:
    """Hat matrix of the aggregate (two-step) network model (Davies et al. 2022).

    ``edges`` lists the E pairs (t1, t2) with direct evidence; the direct estimate of an
    edge is θ_t1 − θ_t2 and ``direct_variance[e]`` its variance (the variance of the
    pooled pairwise estimate, 1/Σ w_i with the studies' adjusted weights for multi-arm
    trials, as netmeta's ``seTE.adj``; with tau² included for a random-effects model).

    Returns ``(H, comparisons)``: ``comparisons`` are all T(T−1)/2 pairs (t_i, t_j), i < j
    in the order of ``treatments``, meaning θ_ti − θ_tj; ``H`` (T(T−1)/2 x E) maps the
    vector of direct estimates to the network estimates of those comparisons:
    H = B_full L⁺ Bᵀ W with L = BᵀWB (netmeta ``hatmatrix(..., method = "Davies", type =
    "long")``).  L⁺ is computed as (L + J/T)⁻¹ − J/T, exact for a connected network.
    """
    trts = tuple(str(t) for t in treatments)
    if len(set(trts)) != len(trts):
        raise DataError("aggregate_hat_matrix: duplicated treatment names")
    if len(trts) < 2:
        raise ModelError("aggregate_hat_matrix: a network needs at least two treatments")
    pairs = _check_edges(edges, trts, "aggregate_hat_matrix")
    var = np.asarray(direct_variance, dtype=float).reshape(-1)
    if var.shape[0] != len(pairs):
        raise DataError(f"aggregate_hat_matrix: {var.shape[0]} variances for {len(pairs)} edges")
    bad = ~np.isfinite(var) | (var <= 0)
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"aggregate_hat_matrix: the variance of the direct estimate {pairs[k][0]!r} vs "
            f"{pairs[k][1]!r} is {float(var[k])!r}; it must be a positive number"
        )
    pos = {t: i for i, t in enumerate(trts)}
    T, E = len(trts), len(pairs)
    B = np.zeros((E, T))
    for e, (a, b) in enumerate(pairs):
        B[e, pos[a]], B[e, pos[b]] = 1.0, -1.0
    # connectedness (union-find over the edges)
    parent = list(range(T))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(pos[a]), find(pos[b])
        if ra != rb:
            parent[ra] = rb
    groups: dict[int, list[str]] = {}
    for t in trts:
        groups.setdefault(find(pos[t]), []).append(t)
    if len(groups) > 1:
        parts = "; ".join(", ".join(g) for g in groups.values())
        raise ModelError(
            f"aggregate_hat_matrix: the network is disconnected ({len(groups)} sub-networks: {parts}); "
            "network estimates between sub-networks do not exist"
        )
    w = 1.0 / var
    L = B.T @ (w[:, None] * B)
    J = np.full((T, T), 1.0 / T)
    Lplus = np.linalg.inv(L + J) - J
    comparisons = _all_comparisons(trts)
    Bfull = np.zeros((len(comparisons), T))
    for r, (a, b) in enumerate(comparisons):
        Bfull[r, pos[a]], Bfull[r, pos[b]] = 1.0, -1.0
    H = Bfull @ Lplus @ B.T * w[None, :]
    return frozen_array(H), comparisons


# ---------------------------------------------------------------------------------
# flow decomposition


def _row_flow(h: np.ndarray, pairs, source: str, sink: str, label: str):
    """Directed flow edges (u, v, flow, column) of one hat-matrix row, checked."""
    flows = []
    net: dict[str, float] = {}
    for e, ((a, b), x) in enumerate(zip(pairs, h)):
        if not np.isfinite(x):
            raise ModelError(f"contribution_matrix: row {label} of H has a missing entry")
        if abs(x) <= _FLOW_TOL:
            continue
        u, v, f = (a, b, x) if x > 0 else (b, a, -x)
        flows.append((u, v, float(f), e))
        net[u] = net.get(u, 0.0) + f
        net[v] = net.get(v, 0.0) - f
    out_source = net.get(source, 0.0)
    if abs(out_source - 1.0) > _CONSERVATION_TOL:
        hint = " (is the row oriented the other way round?)" if abs(out_source + 1.0) <= _CONSERVATION_TOL else ""
        raise ModelError(
            f"contribution_matrix: row {label} of H is not the flow of a network estimate: "
            f"{out_source:.6g} units leave {source!r} instead of 1{hint}"
        )
    for node, value in net.items():
        if node not in (source, sink) and abs(value) > _CONSERVATION_TOL:
            raise ModelError(
                f"contribution_matrix: row {label} of H is not a flow: {value:.3g} units are lost at {node!r}"
            )
    return flows


def _topological_order(nodes, flows, label: str) -> list[str]:
    indeg = {n: 0 for n in nodes}
    out: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v, _, _ in flows:
        out[u].append(v)
        indeg[v] += 1
    queue = deque(n for n in nodes if indeg[n] == 0)
    order = []
    while queue:
        n = queue.popleft()
        order.append(n)
        for v in out[n]:
            indeg[v] -= 1
            if indeg[v] == 0:
                queue.append(v)
    if len(order) != len(nodes):
        raise ModelError(f"contribution_matrix: the flow of row {label} of H has a cycle; it is not a hat matrix row")
    return order


def _screen_rows(Hm: np.ndarray, ea: np.ndarray, eb: np.ndarray, src: np.ndarray, snk: np.ndarray, T: int):
    """Vectorised screen of all rows of H at once: which rows may fail the flow checks.

    Returns ``(suspect, U, V, F, active)``: ``suspect[r]`` is True where row r has a missing
    entry, may not be a unit flow from its source to its sink (net flows computed for all
    rows in one matrix product, with a margin for the rounding difference to the exact
    sequential check of :func:`_row_flow`) or may have a cycle (Kahn's algorithm on all
    rows at once).  Suspect rows are re-checked exactly, one by one, with the original
    checks, so errors and messages are those of the row-by-row implementation.  ``U``,
    ``V`` and ``F`` (R x E) give the tail, head and amount of every edge's flow in every
    row, ``active`` where it exceeds the rounding threshold.
    """
    R, E = Hm.shape
    finite = np.isfinite(Hm)
    absH = np.abs(np.where(finite, Hm, 0.0))
    active = absH > _FLOW_TOL
    pos = Hm > 0
    U = np.where(pos, ea[None, :], eb[None, :])
    V = np.where(pos, eb[None, :], ea[None, :])
    Hz = np.where(active, Hm, 0.0)
    inc = np.zeros((E, T))
    inc[np.arange(E), ea] = 1.0
    inc[np.arange(E), eb] = -1.0
    net = Hz @ inc  # net outflow at every node, every row
    # the exact check sums sequentially; both sums are within (E + 2) eps Σ|h| of the truth
    margin = 2.0 * (E + 2) * np.finfo(float).eps * absH.sum(axis=1) + 1e-15
    limit = _CONSERVATION_TOL - margin
    rows = np.arange(R)
    suspect = ~finite.all(axis=1)
    suspect |= np.abs(net[rows, src] - 1.0) > limit
    net[rows, src] = 0.0
    net[rows, snk] = 0.0
    suspect |= (np.abs(net) > limit[:, None]).any(axis=1)
    suspect |= _cyclic_rows(U, V, active, T)
    return suspect, U, V, absH, active


def _cyclic_rows(U: np.ndarray, V: np.ndarray, active: np.ndarray, T: int, chunk: int = 256) -> np.ndarray:
    """Rows whose flow graph has a directed cycle (Kahn's algorithm, all rows of a chunk at once)."""
    R = active.shape[0]
    out = np.zeros(R, dtype=bool)
    for start in range(0, R, chunk):
        stop = min(R, start + chunk)
        rr, kk = np.nonzero(active[start:stop])
        n = stop - start
        A = np.zeros((n, T, T), dtype=np.float32)
        A[rr, U[start:stop][rr, kk], V[start:stop][rr, kk]] = 1.0
        indeg = A.sum(axis=1)
        left = np.ones((n, T), dtype=bool)
        while True:
            free = left & (indeg == 0)
            if not free.any():
                break
            left &= ~free
            indeg -= np.matmul(free[:, None, :].astype(np.float32), A)[:, 0, :]
        out[start:stop] = left.any(axis=1)
    return out


def _levels(A: np.ndarray, start: int, stop_at: int = -1) -> np.ndarray:
    """Breadth-first levels (number of edges) from ``start`` in the boolean adjacency
    matrix ``A``; −1 where unreachable.  Stops after the level of ``stop_at``."""
    dist = np.full(A.shape[0], -1, dtype=np.intp)
    dist[start] = 0
    frontier = np.array([start])
    d = 0
    while frontier.size and (stop_at < 0 or dist[stop_at] < 0):
        d += 1
        frontier = np.flatnonzero(A[frontier].any(axis=0) & (dist < 0))
        dist[frontier] = d
    return dist


def _shortest_path_row(u: np.ndarray, v: np.ndarray, f: np.ndarray, s: int, t: int, T: int) -> np.ndarray:
    """Papakonstantinou et al. (2018): iterative decomposition along shortest paths.

    The flow's edges k = 0..m−1 (in the order of the columns of H) run from node u[k] to
    v[k] and carry f[k] > 0.  Repeatedly: take the shortest (fewest edges) path from s to t
    over the edges that still carry flow, ties broken by the breadth-first search that scans
    every node's edges in column order; give every edge of the path φ/ℓ, with φ the smallest
    remaining flow on the path and ℓ its length; subtract φ; drop the edges left with no
    flow (≤ ``_FLOW_TOL``).  Returns the contributions of the m edges.

    The breadth-first tie-break picks, among the shortest paths, the one whose sequence
    of column indices (read from s) is lexicographically smallest (induction over the
    levels of the search: a node's parent is the first node of the previous level, in
    queue order, with an edge to it).  Edges are only ever removed, so (i) the length of
    the shortest path never decreases and (ii) while it stays ℓ, the paths of length ℓ
    are those of the level graph fixed at the start of that phase (edges u→v with
    dist(s, u) + 1 + dist(v, t) = ℓ), and the lexicographically smallest one never
    decreases.  Each phase is therefore one depth-first search in column order with a
    current-edge pointer and dead-end marks per node (as in Dinic's maximum-flow
    algorithm), instead of one breadth-first search of the whole network per path; the
    paths taken, their order and the floating-point operations are those of the
    path-by-path search.  Phases of length 1 and 2 (a direct edge; paths s→a→t, which
    share no edge) are applied with numpy at once.
    """
    m = f.shape[0]
    rem = f.astype(float, copy=True)
    live = np.ones(m, dtype=bool)
    contrib = np.zeros(m)
    idx = np.full((T, T), -1, dtype=np.intp)
    idx[u, v] = np.arange(m)
    A = np.zeros((T, T), dtype=bool)
    A[u, v] = True
    while True:
        ds = _levels(A, s, stop_at=t)
        L = int(ds[t])
        if L < 0:
            break
        if L == 1:
            k = idx[s, t]
            phi = rem[k]
            contrib[k] += phi
            rem[k] -= phi
            live[k] = False
            A[s, t] = False
        elif L == 2:
            mid = np.flatnonzero(A[s] & A[:, t])
            k1, k2 = idx[s, mid], idx[mid, t]
            phi = np.minimum(rem[k1], rem[k2])
            share = phi / 2
            contrib[k1] += share
            contrib[k2] += share
            rem[k1] -= phi
            rem[k2] -= phi
            gone = np.concatenate([k1, k2])
            gone = gone[rem[gone] <= _FLOW_TOL]
            live[gone] = False
            A[u[gone], v[gone]] = False
        else:
            dt = _levels(A.T, t, stop_at=s)
            kk = np.flatnonzero(live)
            du, dv = ds[u[kk]], dt[v[kk]]
            kk = kk[(du >= 0) & (dv >= 0) & (du + 1 + dv == L)]
            adj: list[list[tuple[int, int]]] = [[] for _ in range(T)]
            for k, a, b in zip(kk.tolist(), u[kk].tolist(), v[kk].tolist()):
                adj[a].append((k, b))  # column order within every node
            rem_l, con_l, live_l = rem.tolist(), contrib.tolist(), live.tolist()
            _dfs_phase(adj, rem_l, con_l, live_l, s, t, T)
            rem, contrib = np.array(rem_l), np.array(con_l)
            live = np.array(live_l, dtype=bool)
            A[:] = False
            A[u[live], v[live]] = True
    return contrib


def _dfs_phase(adj, rem, con, live, s: int, t: int, T: int) -> None:
    """One phase of :func:`_shortest_path_row`: all paths of the level graph ``adj``,
    lexicographically smallest first, in place on the lists ``rem``, ``con``, ``live``."""
    ptr = [0] * T
    dead = [False] * T
    nodes = [s]
    path: list[int] = []
    while True:
        x = nodes[-1]
        if x == t:
            phi = min([rem[k] for k in path])
            share = phi / len(path)
            cut = -1
            for i, k in enumerate(path):
                con[k] += share
                r = rem[k] - phi
                rem[k] = r
                if r <= _FLOW_TOL:
                    live[k] = False
                    if cut < 0:
                        cut = i
            del path[cut:]
            del nodes[cut + 1 :]
            continue
        out = adj[x]
        p, n = ptr[x], len(out)
        while p < n:
            k, y = out[p]
            if live[k] and not dead[y]:
                break
            p += 1
        ptr[x] = p
        if p == n:
            if x == s:
                return
            dead[x] = True
            nodes.pop()
            path.pop()
            continue
        path.append(k)
        nodes.append(y)


def _random_walk_row_vectorised(h, ea, eb, s: int, t: int, T: int, label: str) -> np.ndarray:
    """Davies et al. (2022): streams = path probabilities of a walker following the flow.

    contribution(e = u→v) = Σ_{paths π ∋ e} P(π)/|π|
                          = Σ_{a,b ≥ 0} f_a(u) P(u→v) g_b(v) / (a + 1 + b),
    with f_a(u) the probability of being at u after a steps from the source and g_b(v)
    the probability of reaching the sink from v in exactly b steps (the flow graph is
    acyclic, so every path is simple and has at most T − 1 edges).  All edges are read
    off M = fᵀ (1/(a+b+1)) g at once, O(T³) per row.
    """
    if not np.all(np.isfinite(h)):
        raise ModelError(f"contribution_matrix: row {label} of H has a missing entry")
    active = np.abs(h) > _FLOW_TOL
    pos = h > 0
    u = np.where(pos, ea, eb)[active]
    v = np.where(pos, eb, ea)[active]
    f = np.abs(h)[active]
    net = np.bincount(u, f, T) - np.bincount(v, f, T)
    if abs(net[s] - 1.0) > _CONSERVATION_TOL:
        hint = " (is the row oriented the other way round?)" if abs(net[s] + 1.0) <= _CONSERVATION_TOL else ""
        raise ModelError(
            f"contribution_matrix: row {label} of H is not the flow of a network estimate: "
            f"{net[s]:.6g} units leave node {s} instead of 1{hint}"
        )
    others = np.ones(T, bool)
    others[[s, t]] = False
    if np.any(np.abs(net[others]) > _CONSERVATION_TOL):
        raise ModelError(f"contribution_matrix: row {label} of H is not a flow: units are lost at an intermediate node")
    P = np.zeros((T, T))
    np.add.at(P, (u, v), f)
    out = P.sum(axis=1)
    moving = out > 0
    P[moving] /= out[moving][:, None]
    P[t, :] = 0.0
    fwd = np.zeros((T + 1, T))
    bwd = np.zeros((T, T))
    fwd[0, s] = 1.0
    bwd[0, t] = 1.0
    for a in range(1, T + 1):
        fwd[a] = fwd[a - 1] @ P
        if a < T:
            bwd[a] = P @ bwd[a - 1]
    if np.any(fwd[T] > _FLOW_TOL):  # an acyclic walk cannot last T steps
        raise ModelError(f"contribution_matrix: the flow of row {label} of H has a cycle; it is not a hat matrix row")
    a_idx = np.arange(T)
    inv_len = 1.0 / (a_idx[:, None] + a_idx[None, :] + 1.0)
    M = fwd[:T].T @ inv_len @ bwd
    row = np.zeros(h.shape[0])
    contrib = P[u, v] * M[u, v]
    contrib[u == t] = 0.0
    row[np.flatnonzero(active)] = contrib
    return row


@dataclass(frozen=True, eq=False)
class ContributionMatrix(ResultMixin):
    """Percentage contribution of each direct comparison (column) to each network
    estimate (row); every row sums to 100.

    ``comparisons[r]`` = (t_i, t_j) is the network estimate θ_ti − θ_tj, ``edges[e]`` =
    (t1, t2) the direct comparison; ``method`` is ``"shortestpath"`` (Papakonstantinou et
    al. 2018) or ``"randomwalk"`` (Davies et al. 2022).
    """

    comparisons: tuple[tuple[str, str], ...]
    edges: tuple[tuple[str, str], ...]
    values: np.ndarray
    method: str

    def row(self, comparison: tuple[str, str]) -> dict[tuple[str, str], float]:
        """Edge -> percentage for one network comparison (either orientation)."""
        a, b = comparison
        for r, c in enumerate(self.comparisons):
            if c == (a, b) or c == (b, a):
                return {edge: float(x) for edge, x in zip(self.edges, self.values[r])}
        raise ModelError(f"no network comparison {a!r} vs {b!r} in the contribution matrix")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            np.asarray(self.values),
            index=pd.Index([_label(c) for c in self.comparisons], name="comparison"),
            columns=pd.Index([_label(e) for e in self.edges], name="direct"),
        )

    def summary(self) -> str:
        ref = (
            "shortest paths; Papakonstantinou et al. 2018"
            if self.method == "shortestpath"
            else "random walk; Davies et al. 2022"
        )
        lines = [
            f"Contribution matrix ({ref})",
            f"{len(self.comparisons)} network comparisons x {len(self.edges)} direct comparisons; "
            "percentage contributions, each row sums to 100.",
            "",
        ]
        for r, c in enumerate(self.comparisons):
            vals = self.values[r]
            order = sorted(range(len(self.edges)), key=lambda e: (-vals[e], e))
            parts = [f"{_label(self.edges[e])} {vals[e]:.1f}%" for e in order if vals[e] >= 0.05]
            lines.append(f"{_label(c)}: " + ", ".join(parts))
        return "\n".join(lines)


def contribution_matrix(
    H,
    edges: Sequence[tuple[str, str]],
    comparisons: Sequence[tuple[str, str]],
    method: str = "shortestpath",
) -> ContributionMatrix:
    """Percentage contribution of each direct comparison to each network estimate.

    ``H`` (rows = ``comparisons``, columns = ``edges``) is a hat matrix of the aggregate
    model such as :func:`aggregate_hat_matrix` returns: row r gives the network estimate
    of comparisons[r] = (s, t), θ_s − θ_t, as a linear combination of the direct
    estimates θ_t1 − θ_t2 of the edges.  Each row is read as a flow of evidence from s to
    t (an edge carries |H[r, e]| along the sign of H[r, e]) and decomposed into streams
    (Papakonstantinou et al. 2018): ``method="shortestpath"`` takes shortest paths first,
    ``method="randomwalk"`` uses the path probabilities of a random walk along the flow
    (Davies et al. 2022).  A row that is not a unit flow from s to t (flow lost at a
    node, a cycle, or the wrong orientation) raises :class:`~netgrade.errors.ModelError`.
    """
    method = str(method).lower().replace("_", "").replace("-", "").replace(" ", "")
    if method not in METHODS:
        raise ModelError(f"unknown contribution method {method!r}; choose 'shortestpath' or 'randomwalk'")
    pairs = _check_edges(edges, None, "contribution_matrix")
    comps = _pairs(comparisons, "contribution_matrix comparisons")
    Hm = np.asarray(H, dtype=float)
    if Hm.ndim != 2 or Hm.shape != (len(comps), len(pairs)):
        raise DataError(
            f"contribution_matrix: H has shape {Hm.shape}, expected ({len(comps)} comparisons, {len(pairs)} edges)"
        )
    nodes = sorted({t for p in pairs for t in p} | {t for c in comps for t in c})
    node_idx = {n: i for i, n in enumerate(nodes)}
    ea = np.array([node_idx[a] for a, _ in pairs], dtype=int)
    eb = np.array([node_idx[b] for _, b in pairs], dtype=int)
    values = np.zeros(Hm.shape)
    T = len(nodes)
    if method == "shortestpath":
        src = np.array([node_idx[s] for s, _ in comps], dtype=int)
        snk = np.array([node_idx[t] for _, t in comps], dtype=int)
        suspect, U, V, F, active = _screen_rows(Hm, ea, eb, src, snk, T)
    for r, (s, t) in enumerate(comps):
        label = _label((s, t))
        if s == t:
            raise DataError(f"contribution_matrix: comparison {r + 1} compares {s!r} with itself")
        if method == "shortestpath":
            if suspect[r]:  # the exact row-by-row checks raise the error, if there is one
                flows = _row_flow(Hm[r], pairs, s, t, label)
                _topological_order(nodes, flows, label)
            cols = np.flatnonzero(active[r])
            row = np.zeros(len(pairs))
            row[cols] = _shortest_path_row(U[r, cols], V[r, cols], F[r, cols], src[r], snk[r], T)
        else:
            row = _random_walk_row_vectorised(Hm[r], ea, eb, node_idx[s], node_idx[t], T, label)
        total = row.sum()
        if abs(total - 1.0) > 1e-6:  # pragma: no cover - guaranteed by the checks above
            raise ModelError(f"contribution_matrix: the streams of row {label} carry {total:.6g} instead of 1")
        row[row < _FLOW_TOL] = 0.0
        values[r] = 100.0 * row
    return ContributionMatrix(
        comparisons=comps,
        edges=pairs,
        values=frozen_array(values),
        method=method,
    )


# ---------------------------------------------------------------------------------
# study-level contributions


def study_contributions(
    contrib: ContributionMatrix,
    study_edges: Sequence[tuple[str, tuple[str, str]]],
    study_weights,
) -> pd.DataFrame:
    """Split each direct comparison's contribution among its studies (as CINeMA does).

    ``study_edges[k]`` = (study, (t1, t2)) says that a study contributes a contrast to the
    direct comparison t1 vs t2 (either orientation), and ``study_weights[k]`` is that
    contrast's weight in the direct (pairwise) meta-analysis of the edge: its inverse
    variance, with the adjusted variance of a multi-arm study's contrasts (netmeta's
    ``1/seTE.adj²``; with tau² added for a random-effects model).  A study receives, from
    every edge it informs, the edge's contribution times its share of the edge's weight
    (Papakonstantinou et al. 2018; netmeta ``netcontrib(..., study = TRUE)``), so the
    study contributions to a network estimate sum to 100.

    Returns a long table with columns ``comparison``, ``treat1``, ``treat2``, ``study``,
    ``contribution`` (percent), rows in the order of the contribution matrix's
    comparisons and, within a comparison, of the studies' first appearance; studies that
    contribute nothing to a comparison are left out.
    """
    if not isinstance(contrib, ContributionMatrix):
        raise ModelError(f"study_contributions needs a ContributionMatrix; got {type(contrib).__name__}")
    rows = list(study_edges)
    w = np.asarray(study_weights, dtype=float).reshape(-1)
    if w.shape[0] != len(rows):
        raise DataError(f"study_contributions: {w.shape[0]} weights for {len(rows)} study contrasts")
    edge_index = {frozenset(e): i for i, e in enumerate(contrib.edges)}
    studies: list[str] = []
    study_pos: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    entries: list[tuple[int, int, float]] = []  # (study position, edge index, weight)
    for k, item in enumerate(rows):
        try:
            study, edge = item
            a, b = edge
        except (TypeError, ValueError):
            raise DataError(
                f"study_contributions: entry {k + 1} ({item!r}) must be (study, (treatment1, treatment2))"
            ) from None
        study, a, b = str(study), str(a), str(b)
        key = frozenset((a, b))
        if key not in edge_index:
            raise DataError(
                f"study_contributions: study {study!r} compares {a!r} with {b!r}, which is not a "
                "direct comparison (edge) of the contribution matrix"
            )
        wk = w[k]
        if not np.isfinite(wk) or wk < 0:
            raise DataError(
                f"study_contributions: study {study!r} ({a} vs {b}) has weight {float(wk)!r}; weights must be >= 0"
            )
        e = edge_index[key]
        if (study, e) in seen:
            raise DataError(f"study_contributions: study {study!r} is listed twice for {a!r} vs {b!r}")
        seen.add((study, e))
        if study not in study_pos:
            study_pos[study] = len(studies)
            studies.append(study)
        entries.append((study_pos[study], e, float(wk)))
    E = len(contrib.edges)
    total = np.zeros(E)
    for _, e, wk in entries:
        total[e] += wk
    missing = [contrib.edges[e] for e in range(E) if total[e] <= 0]
    if missing:
        raise DataError(
            "study_contributions: no study with positive weight for the direct comparison(s) "
            + ", ".join(f"{a!r} vs {b!r}" for a, b in missing)
        )
    share = np.zeros((len(studies), E))  # share of each edge's weight
    for sp, e, wk in entries:
        share[sp, e] += wk / total[e]
    values = np.asarray(contrib.values) @ share.T  # comparisons x studies, percent
    records = []
    for r, (t1, t2) in enumerate(contrib.comparisons):
        for sp, study in enumerate(studies):
            v = float(values[r, sp])
            if v > 0:
                records.append(
                    {"comparison": _label((t1, t2)), "treat1": t1, "treat2": t2, "study": study, "contribution": v}
                )
    return pd.DataFrame.from_records(records, columns=["comparison", "treat1", "treat2", "study", "contribution"])


def network_contribution(res, method: str = "shortestpath", random: bool | None = None) -> ContributionMatrix:
    """The contribution matrix of a fitted network (an NMAResult).

    Each direct comparison's estimate is the inverse-variance pool of its studies'
    contrasts with netmeta's multi-arm adjusted weights (plus tau² for the
    random-effects model, as netmeta's ``netcontrib`` does); ``random`` defaults to
    whether the fit is a random-effects one.  Studies' shares within each direct
    comparison are available through :func:`network_study_contributions`.
    """
    edges, variance, _ = _direct_evidence(res, random)
    H, comparisons = aggregate_hat_matrix(edges, variance, res.treatments)
    return contribution_matrix(H, edges, comparisons, method=method)


def network_study_contributions(res, method: str = "shortestpath", random: bool | None = None) -> pd.DataFrame:
    """Percentage contribution of every study to every network estimate."""
    edges, variance, study_w = _direct_evidence(res, random)
    H, comparisons = aggregate_hat_matrix(edges, variance, res.treatments)
    cm = contribution_matrix(H, edges, comparisons, method=method)
    study_edges = [(s, e) for (s, e, _) in study_w]
    weights = [w for (_, _, w) in study_w]
    return study_contributions(cm, study_edges, weights)


def _direct_evidence(res, random: bool | None):
    from ._engine import adjusted_pair_weights

    use_random = res.is_random if random is None else bool(random)
    tau2 = res.tau2 if use_random else 0.0
    rank = {t: i for i, t in enumerate(res.treatments)}
    total: dict[tuple[str, str], float] = {}
    per_study: list[tuple[str, tuple[str, str], float]] = []
    for b in res.data.blocks:
        R = np.asarray(b.R) + tau2 * (1.0 - np.eye(b.n_arms))
        W = adjusted_pair_weights(R)
        for i in range(b.n_arms):
            for j in range(i + 1, b.n_arms):
                a, c = sorted((b.arms[i], b.arms[j]), key=rank.__getitem__)
                total[(a, c)] = total.get((a, c), 0.0) + W[i, j]
                per_study.append((b.study, (a, c), float(W[i, j])))
    edges = sorted(total, key=lambda e: (rank[e[0]], rank[e[1]]))
    variance = [1.0 / total[e] for e in edges]
    return edges, variance, per_study
