"""The fast shortest-path contribution matrix against the previous, path-by-path version.

``contribution_matrix(..., method="shortestpath")`` (Papakonstantinou et al. 2018) used to
run one breadth-first search of the whole flow per path and per row, minutes for a dense
network of 60 treatments.  It now searches the paths of each length once, in column
order, with all rows in lockstep (see ``_shortest_path_rows``).  The definition — the
shortest path first, ties broken by the breadth-first search in column order, the order
of stream removal — is unchanged, so the results must be too: this file keeps the
previous implementation as the slow reference (``_reference``, the code as it was, checks
and messages included) and requires the same matrix, entry for entry (bit for bit), on
random connected networks with multi-arm studies fitted by ``nma``, on networks whose
edges come in any order and orientation, with more than 64 treatments (node sets of two
words), in small chunks of rows, and the same errors for rows that are not flows.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

import netgrade.network.contribution as contribution
from netgrade._result import frozen_array
from netgrade.errors import DataError, ModelError
from netgrade.network import NetworkData, StudyBlock, nma
from netgrade.network.contribution import (
    aggregate_hat_matrix,
    contribution_matrix,
    network_contribution,
)

TOL = 1e-12
CONSERVATION_TOL = 1e-7


# ---------------------------------------------------------------------------------
# the previous implementation (slow reference; not part of the package)


def _reference_row_flow(h, pairs, source, sink, label):
    flows = []
    net = {}
    for e, ((a, b), x) in enumerate(zip(pairs, h)):
        if not np.isfinite(x):
            raise ModelError(f"contribution_matrix: row {label} of H has a missing entry")
        if abs(x) <= TOL:
            continue
        u, v, f = (a, b, x) if x > 0 else (b, a, -x)
        flows.append((u, v, float(f), e))
        net[u] = net.get(u, 0.0) + f
        net[v] = net.get(v, 0.0) - f
    out_source = net.get(source, 0.0)
    if abs(out_source - 1.0) > CONSERVATION_TOL:
        hint = " (is the row oriented the other way round?)" if abs(out_source + 1.0) <= CONSERVATION_TOL else ""
        raise ModelError(
            f"contribution_matrix: row {label} of H is not the flow of a network estimate: "
            f"{out_source:.6g} units leave {source!r} instead of 1{hint}"
        )
    for node, value in net.items():
        if node not in (source, sink) and abs(value) > CONSERVATION_TOL:
            raise ModelError(
                f"contribution_matrix: row {label} of H is not a flow: {value:.3g} units are lost at {node!r}"
            )
    return flows


def _reference_topological_order(nodes, flows, label):
    indeg = {n: 0 for n in nodes}
    out = {n: [] for n in nodes}
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


def _reference_shortest_path_row(flows, source, sink, n_edges):
    remaining = {e: f for (_, _, f, e) in flows}
    ends = {e: (u, v) for (u, v, _, e) in flows}
    out = {}
    for u, v, _, e in sorted(flows, key=lambda x: x[3]):
        out.setdefault(u, []).append(e)
    contrib = np.zeros(n_edges)
    while True:
        prev = {}
        seen = {source}
        queue = deque([source])
        while queue and sink not in seen:
            node = queue.popleft()
            for e in out.get(node, ()):
                if e not in remaining:
                    continue
                nxt = ends[e][1]
                if nxt not in seen:
                    seen.add(nxt)
                    prev[nxt] = e
                    queue.append(nxt)
        if sink not in seen:
            break
        path = []
        node = sink
        while node != source:
            e = prev[node]
            path.append(e)
            node = ends[e][0]
        phi = min(remaining[e] for e in path)
        for e in path:
            contrib[e] += phi / len(path)
            remaining[e] -= phi
            if remaining[e] <= TOL:
                del remaining[e]
    return contrib


def _reference(H, edges, comparisons):
    """The shortest-path contribution matrix as computed before (percent)."""
    pairs = [(str(a), str(b)) for a, b in edges]
    comps = [(str(a), str(b)) for a, b in comparisons]
    Hm = np.asarray(H, dtype=float)
    nodes = sorted({t for p in pairs for t in p} | {t for c in comps for t in c})
    values = np.zeros(Hm.shape)
    for r, (s, t) in enumerate(comps):
        label = f"{s}:{t}"
        if s == t:
            raise DataError(f"contribution_matrix: comparison {r + 1} compares {s!r} with itself")
        flows = _reference_row_flow(Hm[r], pairs, s, t, label)
        _reference_topological_order(nodes, flows, label)
        row = _reference_shortest_path_row(flows, s, t, len(pairs))
        row[row < TOL] = 0.0
        values[r] = 100.0 * row
    return values


# ---------------------------------------------------------------------------------
# random networks


def _simulate(seed: int, n_treatments: int, n_studies: int) -> NetworkData:
    """A connected network of two- to four-arm studies (continuous outcome)."""
    rng = np.random.default_rng(seed)
    names = [f"T{i:02d}" for i in range(n_treatments)]
    order = rng.permutation(n_treatments)
    truth = rng.normal(0.0, 0.5, n_treatments)
    blocks = []
    for s in range(n_studies):
        if s < n_treatments - 1:  # a random spanning path keeps the network connected
            arms = [int(order[s]), int(order[s + 1])]
            if rng.random() < 0.3:
                arms.append(int(rng.choice([k for k in range(n_treatments) if k not in arms])))
        else:
            k = int(rng.choice([2, 2, 3, 3, 4]))
            arms = [int(a) for a in rng.choice(n_treatments, size=min(k, n_treatments), replace=False)]
        arms.sort()
        n = rng.integers(10, 300, len(arms)).astype(float)
        var = rng.uniform(1.0, 6.0) / n
        mean = truth[arms] + rng.normal(0.0, 0.2) + rng.normal(0.0, np.sqrt(var))
        y = mean[:, None] - mean[None, :]
        R = var[:, None] + var[None, :]
        np.fill_diagonal(R, 0.0)
        blocks.append(StudyBlock(f"S{s:03d}", tuple(names[a] for a in arms), frozen_array(y), frozen_array(R),
                                 frozen_array(n)))
    return NetworkData(tuple(blocks), tuple(names), "MD")


def _random_edges(rng, n_treatments: int, density: float):
    names = [f"N{i:03d}" for i in range(n_treatments)]
    order = rng.permutation(n_treatments)
    edges = {tuple(sorted((names[order[k]], names[order[rng.integers(0, k)]]))) for k in range(1, n_treatments)}
    for i in range(n_treatments):
        for j in range(i + 1, n_treatments):
            if rng.random() < density:
                edges.add((names[i], names[j]))
    return names, sorted(edges)


NETWORKS = [  # (seed, treatments, studies, method)
    (1, 4, 6, "FE"),
    (2, 5, 9, "DL"),
    (3, 6, 14, "FE"),
    (4, 7, 20, "DL"),
    (5, 8, 30, "REML"),
    (6, 10, 45, "DL"),
    (7, 12, 80, "FE"),
    (8, 15, 140, "DL"),
]


@pytest.mark.parametrize(("seed", "n_treatments", "n_studies", "method"), NETWORKS)
def test_fitted_networks_with_multi_arm_studies_match_the_previous_implementation(seed, n_treatments, n_studies,
                                                                                  method):
    data = _simulate(seed, n_treatments, n_studies)
    assert any(b.n_arms > 2 for b in data.blocks)
    res = nma(data, reference="T00", method=method)
    cm = network_contribution(res, method="shortestpath")
    edges, variance, _ = contribution._direct_evidence(res, None)
    H, comparisons = aggregate_hat_matrix(edges, variance, res.treatments)
    assert cm.comparisons == comparisons and list(cm.edges) == list(edges)
    np.testing.assert_array_equal(cm.values, _reference(H, edges, comparisons))


@pytest.mark.parametrize("seed", range(8))
def test_any_edge_order_and_orientation_matches_the_previous_implementation(seed):
    # shuffled and flipped edges: nodes whose edges are not in the order of the node sets
    rng = np.random.default_rng(100 + seed)
    names, edges = _random_edges(rng, int(rng.integers(4, 14)), float(rng.uniform(0.2, 0.9)))
    edges = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in edges]
    edges = [edges[k] for k in rng.permutation(len(edges))]
    H, comps = aggregate_hat_matrix(edges, rng.uniform(0.05, 3.0, len(edges)), list(rng.permutation(names)))
    cm = contribution_matrix(H, edges, comps, "shortestpath")
    np.testing.assert_array_equal(cm.values, _reference(H, edges, comps))
    # comparisons in either orientation and any order (rows of H negated for flipped ones)
    flip = rng.random(len(comps)) < 0.5
    rows = rng.permutation(len(comps))
    H2 = np.where(flip[rows, None], -np.asarray(H)[rows], np.asarray(H)[rows])
    comps2 = [(comps[r][1], comps[r][0]) if flip[r] else comps[r] for r in rows]
    cm2 = contribution_matrix(H2, edges, comps2, "shortestpath")
    np.testing.assert_array_equal(cm2.values, _reference(H2, edges, comps2))


def test_more_than_64_treatments_and_small_chunks_match_the_previous_implementation(monkeypatch):
    rng = np.random.default_rng(2024)
    names, edges = _random_edges(rng, 70, 0.06)  # node sets take two 64-bit words
    H, comps = aggregate_hat_matrix(edges, rng.uniform(0.05, 3.0, len(edges)), names)
    rows = np.sort(rng.choice(len(comps), size=24, replace=False))
    Hs, cs = np.asarray(H)[rows], [comps[r] for r in rows]
    expected = _reference(Hs, edges, cs)
    np.testing.assert_array_equal(contribution_matrix(Hs, edges, cs, "shortestpath").values, expected)
    monkeypatch.setattr(contribution, "_chunk_rows", lambda E, T: 5)  # 5 rows at a time
    np.testing.assert_array_equal(contribution_matrix(Hs, edges, cs, "shortestpath").values, expected)
    monkeypatch.setattr(contribution, "_chunk_rows", lambda E, T: 1)  # one row at a time
    np.testing.assert_array_equal(contribution_matrix(Hs[:3], edges, cs[:3], "shortestpath").values, expected[:3])
    # edges shuffled and flipped: two-word node sets out of column order (a new column
    # order breaks ties differently, hence a new reference)
    perm = rng.permutation(len(edges))
    flip = rng.random(len(edges)) < 0.5
    edges2 = [(edges[k][1], edges[k][0]) if flip[k] else edges[k] for k in perm]
    H2 = np.where(flip[perm], -Hs[:, perm], Hs[:, perm])
    np.testing.assert_array_equal(contribution_matrix(H2, edges2, cs, "shortestpath").values,
                                  _reference(H2, edges2, cs))


def test_dense_network_in_chunks_matches_the_previous_implementation(monkeypatch):
    rng = np.random.default_rng(7)
    names, edges = _random_edges(rng, 14, 0.8)
    H, comps = aggregate_hat_matrix(edges, rng.uniform(0.05, 3.0, len(edges)), names)
    expected = _reference(H, edges, comps)
    np.testing.assert_array_equal(contribution_matrix(H, edges, comps, "shortestpath").values, expected)
    monkeypatch.setattr(contribution, "_chunk_rows", lambda E, T: 7)  # 7 rows per chunk
    np.testing.assert_array_equal(contribution_matrix(H, edges, comps, "shortestpath").values, expected)


# ---------------------------------------------------------------------------------
# rows that are not flows: the same errors as before, for the first such row


def _same_error(H, edges, comps):
    with pytest.raises((ModelError, DataError)) as expected:
        _reference(H, edges, comps)
    with pytest.raises(type(expected.value)) as got:
        contribution_matrix(H, edges, comps, "shortestpath")
    assert str(got.value) == str(expected.value)
    return str(got.value)


def test_errors_are_those_of_the_previous_implementation():
    edges = [("A", "B"), ("A", "C"), ("B", "C"), ("B", "D"), ("C", "D")]
    H, comps = aggregate_hat_matrix(edges, [0.5, 1.0, 1.0, 1.0, 0.5], ["A", "B", "C", "D"])
    H = np.array(H)
    r = comps.index(("A", "D"))
    bad = H.copy()
    bad[r, 2] = np.nan
    assert "missing entry" in _same_error(bad, edges, comps)
    # a circulation A->B->D->C->A on top of the flow: conserved, but with a cycle
    cyc = H.copy()
    cyc[r] += 2.0 * np.array([1.0, -1.0, 0.0, 1.0, -1.0])
    assert "cycle" in _same_error(cyc, edges, comps)
    leak = H.copy()
    leak[r, 3] += 0.01
    assert "lost at 'B'" in _same_error(leak, edges, comps)
    # the first failing row decides the error, whatever comes after it
    both = H.copy()
    both[r, 3] += 0.01
    both[-1] *= 2.0
    assert "lost at 'B'" in _same_error(both, edges, comps)
    assert "2 units leave" in _same_error(2.0 * H, edges, comps)
    assert "other way round" in _same_error(H, edges, [(b, a) for a, b in comps])
    same = list(comps)
    same[r + 1] = ("C", "C")
    assert "with itself" in _same_error(H, edges, same)
    early = list(comps)
    early[-1] = ("D", "D")
    late_leak = H.copy()
    late_leak[0, 3] += 0.01  # row 0 fails before the last row's comparison with itself
    assert "lost at" in _same_error(late_leak, edges, early)
    # tiny violations within the tolerance pass, as before
    fine = H.copy()
    fine[r, 3] += 1e-9
    np.testing.assert_array_equal(contribution_matrix(fine, edges, comps, "shortestpath").values,
                                  _reference(fine, edges, comps))
