"""Aggregate hat matrix, contribution matrix and study contributions.

No reference values exist for these in the shared data, so the tests use networks whose
flows and contributions can be worked out by hand (the triangle, a star, a network with a
bridge, the "Wheatstone bridge" and a network in which the two published decompositions
differ), the defining properties of the methods (rows sum to 100; a bridge edge carries
all of its comparison; the random walk equals the sum over all paths of
probability/length, checked against explicit path enumeration) and invariance under
relabelling.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgrade.errors import DataError, ModelError
from netgrade.network.contribution import (
    METHODS,
    ContributionMatrix,
    aggregate_hat_matrix,
    contribution_matrix,
    study_contributions,
)


def _contrib(edges, var, trts, method):
    H, comps = aggregate_hat_matrix(edges, var, trts)
    return contribution_matrix(H, edges, comps, method)


def _pct(*fractions):
    return [100.0 * float(Fraction(f)) for f in fractions]


# ---------------------------------------------------------------------------------
# hat matrix


def test_hat_matrix_of_a_triangle_by_hand():
    # equal variances: the direct estimate gets weight 2/3, the indirect route 1/3
    trts = ["A", "B", "C"]
    edges = [("A", "B"), ("A", "C"), ("B", "C")]
    H, comps = aggregate_hat_matrix(edges, [1.0, 1.0, 1.0], trts)
    assert comps == (("A", "B"), ("A", "C"), ("B", "C"))
    third = 1.0 / 3.0
    np.testing.assert_allclose(
        H,
        [[2 * third, third, -third], [third, 2 * third, third], [-third, third, 2 * third]],
        atol=1e-14,
    )
    # an edge given the other way round flips the sign of its column
    H2, _ = aggregate_hat_matrix([("A", "B"), ("C", "A"), ("B", "C")], [1.0, 1.0, 1.0], trts)
    np.testing.assert_allclose(H2, H * np.array([1, -1, 1]), atol=1e-14)


def test_hat_matrix_is_the_weighted_least_squares_projection():
    rng = np.random.default_rng(4)
    trts = list("ABCDE")
    edges = [("A", "B"), ("A", "C"), ("B", "C"), ("B", "D"), ("C", "E"), ("D", "E"), ("A", "E")]
    var = rng.uniform(0.1, 2.0, len(edges))
    H, comps = aggregate_hat_matrix(edges, var, trts)
    # independent route: basic parameters against A by weighted least squares
    X = np.zeros((len(edges), len(trts) - 1))
    for e, (a, b) in enumerate(edges):
        if a != "A":
            X[e, trts.index(a) - 1] += 1.0
        if b != "A":
            X[e, trts.index(b) - 1] -= 1.0
    W = np.diag(1.0 / var)
    y = rng.normal(size=len(edges))
    d = np.linalg.solve(X.T @ W @ X, X.T @ W @ y)
    theta = np.r_[0.0, d]
    expected_est = [theta[trts.index(a)] - theta[trts.index(b)] for a, b in comps]
    np.testing.assert_allclose(H @ y, expected_est, atol=1e-12)
    # consistent direct estimates are reproduced exactly
    theta0 = rng.normal(size=len(trts))
    y0 = np.array([theta0[trts.index(a)] - theta0[trts.index(b)] for a, b in edges])
    np.testing.assert_allclose(H @ y0, [theta0[trts.index(a)] - theta0[trts.index(b)] for a, b in comps],
                               atol=1e-12)


def test_hat_matrix_validation():
    trts = ["A", "B", "C", "D"]
    with pytest.raises(ModelError, match="disconnected.*A, B; C, D"):
        aggregate_hat_matrix([("A", "B"), ("C", "D")], [1.0, 1.0], trts)
    with pytest.raises(DataError, match="listed twice"):
        aggregate_hat_matrix([("A", "B"), ("B", "A"), ("B", "C"), ("C", "D")], [1, 1, 1, 1], trts)
    with pytest.raises(DataError, match="'A' vs 'B' is 0.0"):
        aggregate_hat_matrix([("A", "B"), ("B", "C"), ("C", "D")], [0.0, 1.0, 1.0], trts)
    with pytest.raises(DataError, match=r"\['E'\]"):
        aggregate_hat_matrix([("A", "E"), ("B", "C"), ("C", "D")], [1.0, 1.0, 1.0], trts)
    with pytest.raises(DataError, match="3 variances for 2 edges"):
        aggregate_hat_matrix([("A", "B"), ("B", "C")], [1.0, 1.0, 1.0], ["A", "B", "C"])
    with pytest.raises(DataError, match="itself"):
        aggregate_hat_matrix([("A", "A"), ("A", "B")], [1.0, 1.0], ["A", "B"])


# ---------------------------------------------------------------------------------
# worked examples


@pytest.mark.parametrize("method", METHODS)
def test_triangle(method):
    cm = _contrib([("A", "B"), ("A", "C"), ("B", "C")], [1.0, 1.0, 1.0], ["A", "B", "C"], method)
    # A:B = 2/3 direct; the indirect stream A->C->B carries 1/3, half to each edge
    np.testing.assert_allclose(cm.values, [_pct("2/3", "1/6", "1/6"), _pct("1/6", "2/3", "1/6"),
                                           _pct("1/6", "1/6", "2/3")], atol=1e-10)
    assert cm.method == method


# "Wheatstone bridge": A-B, A-C, B-C, B-D, C-D with inverse variances 2, 1, 1, 1, 2.  A unit
# current from A to D gives node potentials A 5/7, B 3/7, C 2/7, D 0, hence flows
# A->B 4/7, A->C 3/7, B->C 1/7, B->D 3/7, C->D 4/7.  Shortest paths: A-B-D and A-C-D (3/7
# each, length 2), then A-B-C-D (1/7, length 3).  The random walk leaves B towards C with
# probability 1/4 and gives exactly the same three streams.
BRIDGE_TRTS = ["A", "B", "C", "D"]
BRIDGE_EDGES = [("A", "B"), ("A", "C"), ("B", "C"), ("B", "D"), ("C", "D")]
BRIDGE_VAR = [0.5, 1.0, 1.0, 1.0, 0.5]


@pytest.mark.parametrize("method", METHODS)
def test_wheatstone_bridge_by_hand(method):
    H, comps = aggregate_hat_matrix(BRIDGE_EDGES, BRIDGE_VAR, BRIDGE_TRTS)
    r = comps.index(("A", "D"))
    np.testing.assert_allclose(H[r], [4 / 7, 3 / 7, 1 / 7, 3 / 7, 4 / 7], atol=1e-14)
    cm = contribution_matrix(H, BRIDGE_EDGES, comps, method)
    np.testing.assert_allclose(cm.values[r], _pct("11/42", "9/42", "2/42", "9/42", "11/42"), atol=1e-10)
    assert cm.row(("D", "A"))[("B", "C")] == pytest.approx(100 * 2 / 42, abs=1e-10)


# Two hubs: S-M direct and S-X-M, then M-T direct and M-Y-T, all variances 1.  The flow
# for S:T is 2/3 on the direct edges and 1/3 on the detours, and all of it passes M.
# Shortest paths: S-M-T takes 2/3 (1/3 to each edge), then S-X-M-Y-T takes 1/3 (1/12 each).
# Random walk: independent 2/3 : 1/3 choices at S and at M, so the four paths have
# probabilities 4/9 (length 2), 2/9, 2/9 (length 3) and 1/9 (length 4):
# S-M = M-T = 4/9/2 + 2/9/3 = 8/27 and every detour edge 2/9/3 + 1/9/4 = 11/108.
HUB_TRTS = ["S", "X", "M", "Y", "T"]
HUB_EDGES = [("S", "M"), ("S", "X"), ("X", "M"), ("M", "T"), ("M", "Y"), ("Y", "T")]


def test_methods_differ_where_streams_cross_a_hub():
    H, comps = aggregate_hat_matrix(HUB_EDGES, [1.0] * 6, HUB_TRTS)
    r = comps.index(("S", "T"))
    np.testing.assert_allclose(H[r], [2 / 3, 1 / 3, 1 / 3, 2 / 3, 1 / 3, 1 / 3], atol=1e-14)
    sp = contribution_matrix(H, HUB_EDGES, comps, "shortestpath")
    rw = contribution_matrix(H, HUB_EDGES, comps, "randomwalk")
    np.testing.assert_allclose(sp.values[r], _pct("1/3", "1/12", "1/12", "1/3", "1/12", "1/12"), atol=1e-10)
    np.testing.assert_allclose(rw.values[r], _pct("8/27", "11/108", "11/108", "8/27", "11/108", "11/108"),
                               atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_bridge_edge_carries_all_of_its_comparison(method):
    # triangle A-B-C plus D hanging on C: C-D is a bridge
    edges = [("A", "B"), ("A", "C"), ("B", "C"), ("C", "D")]
    cm = _contrib(edges, [0.3, 0.7, 1.1, 0.4], ["A", "B", "C", "D"], method)
    row = cm.row(("C", "D"))
    assert row[("C", "D")] == pytest.approx(100.0, abs=1e-10)
    assert sum(v for e, v in row.items() if e != ("C", "D")) == pytest.approx(0.0, abs=1e-10)
    # all evidence on A or B versus D also has to cross the bridge
    for other in ("A", "B"):
        assert cm.row((other, "D"))[("C", "D")] > 0


@pytest.mark.parametrize("method", METHODS)
def test_star_network(method):
    trts = ["P", "A", "B", "C"]
    edges = [("A", "P"), ("B", "P"), ("C", "P")]
    cm = _contrib(edges, [0.2, 0.5, 1.3], trts, method)
    for e, edge in enumerate(edges):
        np.testing.assert_allclose(cm.row(edge)[edge], 100.0, atol=1e-10)
    # a comparison of two leaves runs through the hub: half of its single stream per edge
    row = cm.row(("A", "B"))
    assert row == pytest.approx({("A", "P"): 50.0, ("B", "P"): 50.0, ("C", "P"): 0.0}, abs=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_four_cycle_splits_by_inverse_resistance(method):
    # A-B direct (variance 1) against A-D-C-B (three edges of variance 1): flows 3/4 and 1/4
    edges = [("A", "B"), ("B", "C"), ("C", "D"), ("D", "A")]
    cm = _contrib(edges, [1.0] * 4, ["A", "B", "C", "D"], method)
    row = cm.row(("A", "B"))
    assert [row[e] for e in edges] == pytest.approx(_pct("3/4", "1/12", "1/12", "1/12"), abs=1e-10)


def test_methods_agree_where_the_flow_has_one_decomposition():
    for edges, var, trts in (
        ([("A", "B"), ("A", "C"), ("B", "C")], [0.3, 1.7, 0.9], ["A", "B", "C"]),
        (BRIDGE_EDGES, BRIDGE_VAR, BRIDGE_TRTS),
        ([("A", "B"), ("B", "C"), ("C", "D"), ("D", "A")], [0.5, 1.0, 2.0, 0.7], ["A", "B", "C", "D"]),
        ([("A", "P"), ("B", "P"), ("C", "P"), ("C", "D")], [0.2, 0.5, 1.3, 0.8], ["P", "A", "B", "C", "D"]),
    ):
        sp = _contrib(edges, var, trts, "shortestpath")
        rw = _contrib(edges, var, trts, "randomwalk")
        np.testing.assert_allclose(sp.values, rw.values, atol=1e-9)


def test_output_and_validation():
    cm = _contrib(BRIDGE_EDGES, BRIDGE_VAR, BRIDGE_TRTS, "shortestpath")
    frame = cm.to_frame()
    assert list(frame.columns) == ["A:B", "A:C", "B:C", "B:D", "C:D"]
    assert list(frame.index)[:3] == ["A:B", "A:C", "A:D"]
    text = cm.summary()
    assert "Papakonstantinou" in text and "A:D: A:B 26.2%, C:D 26.2%, A:C 21.4%, B:D 21.4%, B:C 4.8%" in text
    assert "Davies" in _contrib(BRIDGE_EDGES, BRIDGE_VAR, BRIDGE_TRTS, "randomwalk").summary()
    assert cm.to_dict()["method"] == "shortestpath"
    H, comps = aggregate_hat_matrix(BRIDGE_EDGES, BRIDGE_VAR, BRIDGE_TRTS)
    with pytest.raises(ModelError, match="unknown contribution method"):
        contribution_matrix(H, BRIDGE_EDGES, comps, "streams")
    with pytest.raises(ModelError, match="2 units leave 'A'"):
        contribution_matrix(2 * H, BRIDGE_EDGES, comps)
    flipped = [(b, a) for a, b in comps]
    with pytest.raises(ModelError, match="other way round"):
        contribution_matrix(H, BRIDGE_EDGES, flipped)
    with pytest.raises(DataError, match="shape"):
        contribution_matrix(H[:, :3], BRIDGE_EDGES, comps)
    with pytest.raises(ModelError, match="no network comparison"):
        cm.row(("A", "Z"))
    # the flow decomposition does not care how the rows and edges are named or oriented
    assert contribution_matrix(H, BRIDGE_EDGES, comps, "random-walk").method == "randomwalk"


# ---------------------------------------------------------------------------------
# properties on random connected networks (hypothesis; derandomised)

PROPS = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def random_networks(draw):
    n = draw(st.integers(3, 6))
    trts = [f"T{i}" for i in range(n)]
    order = draw(st.permutations(range(n)))
    edges = set()
    for k in range(1, n):  # a random spanning tree keeps the network connected
        parent = draw(st.integers(0, k - 1))
        edges.add(tuple(sorted((trts[order[k]], trts[order[parent]]))))
    for i, j in itertools.combinations(range(n), 2):
        if draw(st.booleans()):
            edges.add((trts[i], trts[j]))
    edges = sorted(edges)
    var = draw(st.lists(st.floats(0.05, 3.0), min_size=len(edges), max_size=len(edges)))
    perm = draw(st.permutations(range(n)))
    edge_perm = draw(st.permutations(range(len(edges))))
    flips = draw(st.lists(st.booleans(), min_size=len(edges), max_size=len(edges)))
    return trts, edges, np.array(var), list(perm), list(edge_perm), flips


def _path_enumeration(H, edges, comps):
    """Σ over all source-to-sink paths of (walk probability)/(length), by brute force."""
    out = np.zeros(H.shape)
    for r, (s, t) in enumerate(comps):
        nxt = {}
        for e, ((a, b), h) in enumerate(zip(edges, H[r])):
            if abs(h) > 1e-12:
                u, v = (a, b) if h > 0 else (b, a)
                nxt.setdefault(u, []).append((v, abs(h), e))

        def walk(node, prob, path):
            if node == t:
                for e in path:
                    out[r, e] += prob / len(path)
                return
            total = sum(f for _, f, _ in nxt[node])
            for v, f, e in nxt[node]:
                walk(v, prob * f / total, path + [e])

        walk(s, 1.0, [])
    return 100.0 * out


@PROPS
@given(random_networks())
def test_rows_sum_to_100_and_random_walk_equals_path_enumeration(net):
    trts, edges, var, _, _, _ = net
    H, comps = aggregate_hat_matrix(edges, var, trts)
    for method in METHODS:
        cm = contribution_matrix(H, edges, comps, method)
        np.testing.assert_allclose(cm.values.sum(axis=1), 100.0, atol=1e-8)
        assert np.all(cm.values >= 0)
        # a comparison's own edge, where there is one, contributes
        for r, c in enumerate(comps):
            if c in edges:
                assert cm.values[r, edges.index(c)] > 0
    rw = contribution_matrix(H, edges, comps, "randomwalk")
    np.testing.assert_allclose(rw.values, _path_enumeration(np.asarray(H), edges, comps), atol=1e-9)


@PROPS
@given(random_networks())
def test_random_walk_is_invariant_under_relabelling(net):
    trts, edges, var, perm, edge_perm, flips = net
    base = _contrib(edges, var, trts, "randomwalk")
    ref = {(frozenset(c), frozenset(e)): base.values[r, k]
           for r, c in enumerate(base.comparisons) for k, e in enumerate(base.edges)}
    names = {t: f"x{perm[i]}" for i, t in enumerate(trts)}  # new names, new order
    new_trts = sorted(names.values())
    new_edges = []
    for k in edge_perm:
        a, b = edges[k]
        a, b = names[a], names[b]
        new_edges.append((b, a) if flips[k] else (a, b))
    other = _contrib(new_edges, var[edge_perm], new_trts, "randomwalk")
    back = {v: k for k, v in names.items()}
    for r, c in enumerate(other.comparisons):
        for k, e in enumerate(other.edges):
            key = (frozenset(back[t] for t in c), frozenset(back[t] for t in e))
            assert other.values[r, k] == pytest.approx(ref[key], abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_shortest_path_and_random_walk_invariant_under_renaming_and_edge_order(method):
    base = _contrib(BRIDGE_EDGES, BRIDGE_VAR, BRIDGE_TRTS, method)
    rename = {"A": "delta", "B": "alpha", "C": "gamma", "D": "beta"}
    perm = [3, 0, 4, 2, 1]
    edges = [(rename[BRIDGE_EDGES[k][1]], rename[BRIDGE_EDGES[k][0]]) for k in perm]
    trts = sorted(rename.values())
    other = _contrib(edges, [BRIDGE_VAR[k] for k in perm], trts, method)
    for r, c in enumerate(base.comparisons):
        row = other.row((rename[c[0]], rename[c[1]]))
        for k, e in enumerate(base.edges):
            new_edge = next(x for x in other.edges if set(x) == {rename[e[0]], rename[e[1]]})
            assert row[new_edge] == pytest.approx(base.values[r, k], abs=1e-9)


# ---------------------------------------------------------------------------------
# study contributions


def test_study_contributions_by_hand():
    trts = ["A", "B", "C"]
    edges = [("A", "B"), ("A", "C"), ("B", "C")]
    cm = _contrib(edges, [1.0, 1.0, 1.0], trts, "shortestpath")
    # s3 is a three-arm study informing A:C and B:C; weights are inverse (adjusted) variances
    study_edges = [("s1", ("A", "B")), ("s2", ("B", "A")), ("s3", ("A", "C")), ("s3", ("B", "C")),
                   ("s4", ("C", "B"))]
    df = study_contributions(cm, study_edges, [1.0, 3.0, 2.0, 1.0, 1.0])
    assert list(df.columns) == ["comparison", "treat1", "treat2", "study", "contribution"]
    ab = df[df.comparison == "A:B"].set_index("study").contribution
    # A:B gets 2/3 from A-B (split 1:3), 1/6 from A-C (all s3), 1/6 from B-C (split 1:1)
    assert ab.to_dict() == pytest.approx({"s1": 100 / 6, "s2": 50.0, "s3": 100 / 6 + 100 / 12, "s4": 100 / 12},
                                         abs=1e-10)
    np.testing.assert_allclose(df.groupby("comparison").contribution.sum(), 100.0, atol=1e-10)
    assert df.study.tolist()[:4] == ["s1", "s2", "s3", "s4"]


def test_study_contributions_validation():
    edges = [("A", "B"), ("A", "C"), ("B", "C")]
    cm = _contrib(edges, [1.0, 1.0, 1.0], ["A", "B", "C"], "randomwalk")
    with pytest.raises(DataError, match="'B' vs 'C'"):
        study_contributions(cm, [("s1", ("A", "B")), ("s2", ("A", "C"))], [1.0, 1.0])
    with pytest.raises(DataError, match="not a direct comparison"):
        study_contributions(cm, [("s1", ("A", "D"))], [1.0])
    with pytest.raises(DataError, match="listed twice"):
        study_contributions(cm, [("s1", ("A", "B")), ("s1", ("B", "A")), ("s2", ("A", "C")), ("s3", ("B", "C"))],
                            [1.0, 1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="weights"):
        study_contributions(cm, [("s1", ("A", "B"))], [1.0, 2.0])
    with pytest.raises(ModelError, match="ContributionMatrix"):
        study_contributions(cm.to_frame(), [], [])
    assert isinstance(cm, ContributionMatrix)
