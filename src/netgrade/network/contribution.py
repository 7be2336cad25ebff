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
  order of ``edges``, so the result is deterministic for a given edge order.  That
  choice is the shortest path whose sequence of edge indices is lexicographically
  smallest, which lets all paths of one length be found in one depth-first search, with
  all rows of H searched in lockstep (:func:`_shortest_path_rows`): the same paths, in
  the same order, with the same arithmetic as one breadth-first search per path.
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

import heapq
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
    """Directed flow edges (u, v, flow, column) of one hat-matrix row, checked.

    The shortest-path method screens all rows at once and calls this (and
    :func:`_topological_order`) only for the rows the screen flags, for the exact check
    and message."""
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


# Node sets are bits of uint64 words: node i is bit i % 64 of word i // 64.
_ONE = np.uint64(1)
# Entries (rows x edges) of H decomposed at once by the shortest-path method: bounds its
# work arrays (two of 8 bytes per entry, and one byte per row and pair of nodes).
_CHUNK = 1 << 22


def _chunk_rows(E: int, T: int) -> int:
    """How many rows of H the shortest-path method decomposes at once."""
    return max(1, _CHUNK // max(E, T * T // 8))


def _pack(flags: np.ndarray) -> np.ndarray:
    """Boolean array (..., T) -> node sets (..., W) as bits of uint64 words."""
    T = flags.shape[-1]
    W = (T + 63) // 64
    flags = np.ascontiguousarray(flags, dtype=bool)
    if T < 64 * W:
        flags = np.concatenate([flags, np.zeros(flags.shape[:-1] + (64 * W - T,), dtype=bool)], axis=-1)
    return np.packbits(flags, axis=-1, bitorder="little").view("<u8").astype(np.uint64)


def _unpack(words: np.ndarray, T: int) -> np.ndarray:
    """Node sets (..., W) -> boolean array (..., T); the inverse of :func:`_pack`."""
    raw = np.ascontiguousarray(words.astype("<u8")).view(np.uint8)
    return np.unpackbits(raw, axis=-1, bitorder="little")[..., :T].astype(bool)


def _lowest_bit(words: np.ndarray) -> np.ndarray:
    """Position of the lowest set bit of every (non-zero) uint64 word."""
    low = words & (~words + _ONE)
    return np.frexp(low.astype(np.float64))[1].astype(np.intp) - 1


def _bit_order(ea: np.ndarray, eb: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit positions for the nodes such that, where possible, every node's edges taken in
    column order lead to increasing bit positions.

    Returns ``(bit, in_order)``: ``bit[node]`` is the node's position in the node sets and
    ``in_order[bit]`` says whether that node's edges in column order go to increasing
    positions; then the first edge in column order among any set of them is the lowest set
    bit.  Edges listed the usual way (sorted by their treatments) always have such an order;
    for other nodes the search compares the columns, which costs time but changes nothing.
    """
    incident: list[list[int]] = [[] for _ in range(T)]
    for a, b in zip(ea.tolist(), eb.tolist()):
        incident[a].append(b)
        incident[b].append(a)
    succ: list[set[int]] = [set() for _ in range(T)]
    indeg = [0] * T
    for others in incident:
        for y, z in zip(others, others[1:]):
            if z not in succ[y]:
                succ[y].add(z)
                indeg[z] += 1
    heap = [x for x in range(T) if indeg[x] == 0]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        y = heapq.heappop(heap)
        order.append(y)
        for z in succ[y]:
            indeg[z] -= 1
            if indeg[z] == 0:
                heapq.heappush(heap, z)
    placed = set(order)
    order += [x for x in range(T) if x not in placed]  # contradictory column orders: no such order
    bit = np.empty(T, dtype=np.intp)
    bit[order] = np.arange(T)
    in_order = np.ones(T, dtype=bool)
    for x, others in enumerate(incident):
        in_order[bit[x]] = bool(np.all(np.diff(bit[others]) > 0))
    return bit, in_order


def _cyclic(adj: np.ndarray) -> np.ndarray:
    """Rows (of a stack of adjacency matrices, n x T x T) whose graph has a directed cycle:
    Kahn's algorithm on all rows at once, removing every node without incoming edges from
    the nodes left, until none is left (acyclic) or none can be removed (a cycle)."""
    n, T, _ = adj.shape
    into = _pack(adj.transpose(0, 2, 1))  # into[r, v]: the tails of the edges into v
    left = np.ones((n, T), dtype=bool)
    while True:
        free = left & ~(into & _pack(left)[:, None, :]).any(axis=2)
        if not free.any():
            return left.any(axis=1)
        left &= ~free


def _shortest_path_rows(flow: np.ndarray, adj: np.ndarray, src: np.ndarray, snk: np.ndarray,
                        col: np.ndarray, in_order: np.ndarray, con: np.ndarray) -> None:
    """Papakonstantinou et al. (2018): decomposition of many rows along shortest paths.

    Row r of ``flow`` (n x E) holds the flow on every edge (column), ``adj[r, x, y]`` says
    that x sends flow to y (edges with flow), ``src[r]`` and ``snk[r]`` are the source and
    the sink, ``col[x, y]`` is the column of the edge between x and y; nodes are numbered
    by :func:`_bit_order`.  The contributions (fractions; rows sum to 1) are added to
    ``con`` (n x E, zeros); ``flow`` is used up (it ends as the flow left over).  Both are
    C-contiguous.

    The method, for one row: repeatedly take the shortest (fewest edges) path from source
    to sink over the edges that still carry flow, ties broken by a breadth-first search
    that scans every node's edges in column order; give every edge of the path φ/ℓ, with φ
    the smallest remaining flow on the path and ℓ its length; subtract φ; drop the edges
    left with no flow (≤ ``_FLOW_TOL``); stop when no path is left.

    How it is computed, with the same paths in the same order and the same floating-point
    operations:

    - The breadth-first tie-break takes, among the shortest paths, the one whose sequence
      of columns (read from the source) is lexicographically smallest (by induction over
      the levels of the search: a node's parent is the first node of the previous level,
      in queue order, with an edge to it).
    - Edges are only ever dropped, so the length ℓ of the shortest path never decreases,
      and while it is ℓ the lexicographically smallest path of length ℓ never decreases.
      The paths of length ℓ are thus taken in one depth-first search in column order
      ("phase" ℓ; ℓ = 1, 2, …).
    - That search skips (x, ρ) — node x with ρ edges still to go — once it has found that
      no path of exactly ρ edges leads from x to the sink; dropping edges cannot undo that,
      so the mark is kept for all later paths and phases.  A[x, ρ] starts as "x has a path
      of exactly ρ edges to the sink" and loses (x, ρ) when the search gets stuck there.
      The next edge from x is then the first column among x's remaining edges into
      {y : A[y, ρ − 1]}: with node sets as bits, one AND and a lowest-bit look-up.
    - All rows are searched in lockstep: every pass of the loop moves every unfinished row
      one step (a step down, a step back, or the subtraction of a path that reached the
      sink), with numpy over the rows.  This replaces the breadth-first search of the whole
      network per path and per row.
    """
    n, T, _ = adj.shape
    E = flow.shape[1]
    W = (T + 63) // 64
    rows = np.arange(n)
    out3 = _pack(adj)  # out3[r, x]: the nodes x sends flow to
    sink = np.zeros((n, T), dtype=bool)
    sink[rows, snk] = True
    A3 = np.zeros((n, T + 1, W), dtype=np.uint64)
    A3[:, 0] = _pack(sink)
    for rho in range(1, T):
        reach = (out3 & A3[:, rho - 1][:, None, :]).any(axis=2)
        if not reach.any():
            break
        A3[:, rho] = _pack(reach)
    if W == 1:  # one word per set: plain vectors
        out, A = out3.reshape(n * T), A3.reshape(n * (T + 1))
    else:
        out, A = out3.reshape(n * T, W), A3.reshape(n * (T + 1), W)

    all_but = ~np.left_shift(_ONE, (np.arange(T) % 64).astype(np.uint64))  # all nodes but i (in i's word)

    def remove(sets: np.ndarray, at: np.ndarray, nodes_: np.ndarray) -> None:
        if W == 1:
            sets[at] &= all_but[nodes_]
        else:
            sets[at, nodes_ // 64] &= all_but[nodes_]

    rem = flow.reshape(n * E)
    con = con.reshape(n * E)
    rT, rT1, rE = rows * T, rows * (T + 1), rows * E
    rhos = np.arange(T + 1)
    # the possible lengths of the paths from the source (the search meets the source only at
    # the start of a path, so it never marks these beyond the current length)
    from_source = (A3[rows, :, src // 64] & np.left_shift(_ONE, (src % 64).astype(np.uint64))[:, None]) != 0
    length = np.zeros(n, dtype=np.intp)  # ℓ of the current phase
    nodes = np.zeros(n * (T + 1), dtype=np.intp)  # the search's current path: nodes …
    nodes[rT1] = src
    path = np.zeros(n * T, dtype=np.intp)  # … and columns
    depth = np.zeros(n, dtype=np.intp)
    done = np.zeros(n, dtype=bool)
    colflat = col.ravel()
    big = np.iinfo(np.intp).max

    def next_phase(r: np.ndarray) -> bool:
        """The next length with a possible path from the source, or done (returns True)."""
        ok = from_source[r] & (rhos > length[r][:, None])
        more = ok.any(axis=1)
        length[r[more]] = ok[more].argmax(axis=1)
        depth[r] = 0
        done[r[~more]] = True
        return not more.all()

    next_phase(rows)
    active = np.flatnonzero(~done)
    odd_nodes = not in_order.all()
    finished = False
    while True:
        if finished:
            active = active[~done[active]]
            finished = False
        if active.size == 0:
            return
        d = active
        dep, ell = depth[d], length[d]
        arrived = dep == ell
        if arrived.any():  # subtract the paths that reached the sink
            p, lp = d[arrived], ell[arrived]
            starts = np.cumsum(lp) - lp
            rr = np.repeat(p, lp)
            pos = np.arange(rr.size) - np.repeat(starts, lp)
            at = rE[rr] + path[rT[rr] + pos]
            flows = rem[at]
            phi = np.minimum.reduceat(flows, starts)
            left = flows - np.repeat(phi, lp)
            con[at] += np.repeat(phi / lp, lp)
            rem[at] = left
            empty = left <= _FLOW_TOL
            dep[arrived] = np.minimum.reduceat(np.where(empty, pos, big), starts)  # back to the first dropped edge
            gone = np.flatnonzero(empty)
            tail = rT1[rr[gone]] + pos[gone]
            remove(out, rT[rr[gone]] + nodes[tail], nodes[tail + 1])
        x = nodes[rT1[d] + dep]
        rho = ell - dep
        cand = out[rT[d] + x] & A[rT1[d] + rho - 1]
        has = cand != 0 if W == 1 else (cand != 0).any(axis=1)
        if not has.all():  # stuck: mark (x, ρ) and step back, or the phase is over
            stuck = ~has
            rs, xs, ds = d[stuck], x[stuck], dep[stuck]
            remove(A, rT1[rs] + rho[stuck], xs)
            first = ds == 0
            if first.any():
                finished = next_phase(rs[first])
            if not first.all():
                depth[rs[~first]] = ds[~first] - 1
            d, dep, x, cand = d[has], dep[has], x[has], cand[has]
        if W == 1:
            y = _lowest_bit(cand)
        else:
            w0 = (cand != 0).argmax(axis=1)
            y = 64 * w0 + _lowest_bit(cand[np.arange(d.size), w0])
        if odd_nodes:
            odd = ~in_order[x]
            if odd.any():  # edges of x not in bit order: the smallest column among the candidates
                y[odd] = np.where(_unpack(cand[odd].reshape(-1, W), T), col[x[odd]], big).argmin(axis=1)
        path[rT[d] + dep] = colflat[x * T + y]
        dep += 1
        nodes[rT1[d] + dep] = y
        depth[d] = dep


def _shortest_path_matrix(Hm: np.ndarray, pairs, comps, nodes, ea: np.ndarray, eb: np.ndarray,
                          src: np.ndarray, snk: np.ndarray) -> np.ndarray:
    """Shortest-path contributions (fractions) of all rows of H, checked as
    :func:`_row_flow` and :func:`_topological_order` check them, errors in row order."""
    R, E = Hm.shape
    T = len(nodes)
    bit, in_order = _bit_order(ea, eb, T)
    col = np.full((T, T), np.iinfo(np.intp).max, dtype=np.intp)
    col[bit[ea], bit[eb]] = np.arange(E)
    col[bit[eb], bit[ea]] = np.arange(E)
    inc = np.zeros((E, T))
    inc[np.arange(E), ea] = 1.0
    inc[np.arange(E), eb] = -1.0
    values = np.zeros((R, E))
    step = _chunk_rows(E, T)
    for start in range(0, R, step):
        stop = min(R, start + step)
        h = Hm[start:stop]
        n = stop - start
        s, t = src[start:stop], snk[start:stop]
        flow = np.where(np.abs(h) > _FLOW_TOL, h, 0.0)  # NaN: no flow (the checks catch it)
        # the flows as edges x -> y: edge e runs forwards where H > 0, backwards where H < 0
        adj = np.zeros((n, T, T), dtype=bool)
        adj[:, bit[ea], bit[eb]] = flow > 0
        adj[:, bit[eb], bit[ea]] = flow < 0
        # screen: rows that may fail a check are checked again exactly, one by one; the
        # margin covers the rounding difference between the two sums of the flows at a node
        net = flow @ inc
        np.abs(flow, out=flow)
        limit = _CONSERVATION_TOL - (2.0 * (E + 2) * np.finfo(float).eps * flow.sum(axis=1) + 1e-15)
        local = np.arange(n)
        suspect = ~np.isfinite(h).all(axis=1) | (np.abs(net[local, s] - 1.0) > limit)
        net[local, s] = 0.0
        net[local, t] = 0.0
        suspect |= (np.abs(net) > limit[:, None]).any(axis=1)
        del net
        suspect |= _cyclic(adj)
        for r in range(start, stop):
            a, b = comps[r]
            if a == b:
                raise DataError(f"contribution_matrix: comparison {r + 1} compares {a!r} with itself")
            if suspect[r - start]:
                label = _label((a, b))
                _topological_order(nodes, _row_flow(Hm[r], pairs, a, b, label), label)
        con = values[start:stop]
        _shortest_path_rows(flow, adj, bit[s], bit[t], col, in_order, con)
        total = con.sum(axis=1)
        bad = np.flatnonzero(np.abs(total - 1.0) > 1e-6)
        if bad.size:  # pragma: no cover - guaranteed by the checks above
            r = start + int(bad[0])
            raise ModelError(
                f"contribution_matrix: the streams of row {_label(comps[r])} carry {total[bad[0]]:.6g} instead of 1"
            )
    return values


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
    T = len(nodes)
    if method == "shortestpath":
        src = np.array([node_idx[s] for s, _ in comps], dtype=int)
        snk = np.array([node_idx[t] for _, t in comps], dtype=int)
        values = _shortest_path_matrix(Hm, pairs, comps, nodes, ea, eb, src, snk)
        values[values < _FLOW_TOL] = 0.0
        values *= 100.0
    else:
        values = np.zeros(Hm.shape)
        for r, (s, t) in enumerate(comps):
            label = _label((s, t))
            if s == t:
                raise DataError(f"contribution_matrix: comparison {r + 1} compares {s!r} with itself")
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
