"""P-scores, rank probabilities and SUCRA (netgrade.network.ranking).

P-scores are closed forms given the league matrices, so they are compared with netmeta's
``netrank`` and with the ``pscores`` computed from metafor's league tables to a relative
1e-8 (CLOSED).  Rank probabilities are checked for determinism, internal consistency,
explicit ties and convergence of SUCRA to the P-score (Rücker & Schwarzer 2015).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from netgrade.errors import DataError, ModelError
from netgrade.network.ranking import PScores, p_scores, p_scores_from_league, rank_probabilities
from tests.reference import CLOSED, assert_close, expected

NETWORKS = ["dat.hasselblad1998", "dat.senn2013", "dat.linde2016"]
# netrank's small.values: "undesirable" small values = larger is better
LARGER_BETTER = {"undesirable": True, "desirable": False}


def _netmeta_cases():
    for ds in NETWORKS:
        for method in ("DL", "REML", "ML"):
            for model in ("common", "random"):
                yield pytest.param(ds, method, model, id=f"{ds}-{method}-{model}")


def _metafor_cases():
    for ds in NETWORKS:
        doc = expected(ds)
        for block in (k for k in doc if k.startswith("metafor")):
            for fit, entry in doc[block].items():
                if isinstance(entry, dict) and "pscores" in entry:
                    yield pytest.param(ds, block, fit, id=f"{ds}-{block}-{fit}")


# ---------------------------------------------------------------------------------
# reference values


@pytest.mark.parametrize("ds, method, model", list(_netmeta_cases()))
def test_pscores_match_netmeta_netrank(ds, method, model):
    nm = expected(ds)["netmeta"]
    block = nm[method]
    rank = block["netrank"]
    larger_better = LARGER_BETTER[rank["small.values"]]
    # The common-effect fit does not depend on the tau² estimator: netmeta reports its
    # league table once, in the DL block (the REML and ML blocks repeat the P-scores).
    league = block.get(f"league_{model}") or nm["DL"][f"league_{model}"]
    trts = block["treatments"]
    res = p_scores_from_league(league["TE"], league["seTE"], trts, larger_better)
    ref = rank[f"pscore_{model}"]
    assert_close(res.p_score, [ref[t] for t in trts], CLOSED, f"{ds} {method} pscore_{model}")
    assert res.larger_better is larger_better


@pytest.mark.parametrize("ds, block, fit", list(_metafor_cases()))
def test_pscores_match_metafor_league(ds, block, fit):
    entry = expected(ds)[block][fit]
    league, ref = entry["league"], entry["pscores"]
    trts = league["treatments"]
    assert ref["P_row_larger_than_col"]["rownames"] == trts
    for larger_better, key in ((True, "pscore_larger_is_better"), (False, "pscore_smaller_is_better")):
        res = p_scores_from_league(league["est"], league["se"], trts, larger_better)
        assert_close(res.p_score, [ref[key][t] for t in trts], CLOSED, f"{ds} {block} {fit} {key}")
        # the matrix of Φ((θi - θj)/se_ij) does not depend on the direction (diagonal NA)
        assert_close(res.p_row_larger_than_col, ref["P_row_larger_than_col"]["values"], CLOSED,
                     f"{ds} {block} {fit} P_row_larger_than_col")


@pytest.mark.parametrize("ds, block, fit", list(_metafor_cases()))
def test_pscores_from_estimates_and_vcov_match_metafor(ds, block, fit):
    """The covariance route (estimates against the reference, reference row/column 0)."""
    entry = expected(ds)[block][fit]
    trts = entry["league"]["treatments"]
    est = np.r_[0.0, entry["estimate"]]
    cov = np.zeros((len(trts), len(trts)))
    cov[1:, 1:] = np.asarray(entry["vcov"], dtype=float)
    ref = entry["pscores"]
    for larger_better, key in ((True, "pscore_larger_is_better"), (False, "pscore_smaller_is_better")):
        res = p_scores(est, cov, trts, larger_better=larger_better)
        assert_close(res.p_score, [ref[key][t] for t in trts], CLOSED, f"{ds} {block} {fit} {key}")


# ---------------------------------------------------------------------------------
# direction, output, validation

TRTS = ("A", "B", "C")
EST = np.array([0.0, 0.4, -0.2])
COV = np.array([[0.0, 0.0, 0.0], [0.0, 0.04, 0.01], [0.0, 0.01, 0.09]])


def test_pscores_by_hand_and_direction_is_stated():
    res = p_scores(EST, COV, TRTS, larger_better=True)
    se_ab = np.sqrt(0.04)
    se_ac = np.sqrt(0.09)
    se_bc = np.sqrt(0.04 + 0.09 - 2 * 0.01)
    p_ab = norm.cdf(-0.4 / se_ab)  # A better than B
    p_ac = norm.cdf(0.2 / se_ac)
    p_bc = norm.cdf(0.6 / se_bc)
    expected_scores = [(p_ab + p_ac) / 2, (1 - p_ab + p_bc) / 2, (1 - p_ac + 1 - p_bc) / 2]
    np.testing.assert_allclose(res.p_score, expected_scores, rtol=1e-12)
    assert list(res.rank) == [2, 1, 3]
    assert "larger values are better" in res.summary()
    assert res.summary().splitlines()[-3].split()[1] == "B"  # sorted, best first
    low = p_scores(EST, COV, TRTS, larger_better=False)
    assert "smaller values are better" in low.summary()
    assert list(low.rank) == [2, 3, 1]
    frame = res.to_frame()
    assert list(frame.columns) == ["p_score", "rank"] and list(frame.index) == list(TRTS)
    d = res.to_dict()
    assert d["larger_better"] is True and d["p_better"][0][0] is None
    assert res.as_dict()["B"] == pytest.approx(expected_scores[1], rel=1e-12)


def test_direction_is_required_and_boolean():
    with pytest.raises(TypeError):
        p_scores(EST, COV, TRTS)  # keyword-only, no default
    for bad in (None, "undesirable", 1):
        with pytest.raises(ModelError, match="larger_better"):
            p_scores(EST, COV, TRTS, larger_better=bad)


def test_league_validation():
    est = EST[:, None] - EST[None, :]
    cov_se = np.sqrt(np.diag(COV)[:, None] + np.diag(COV)[None, :] - 2 * COV)
    ok = p_scores_from_league(est, cov_se, TRTS, True)
    np.testing.assert_allclose(ok.p_score, p_scores(EST, COV, TRTS, larger_better=True).p_score, rtol=1e-13)
    bad = est.copy()
    bad[0, 1] += 0.1
    with pytest.raises(DataError, match="antisymmetric"):
        p_scores_from_league(bad, cov_se, TRTS, True)
    missing = cov_se.copy()
    missing[1, 2] = missing[2, 1] = np.nan
    with pytest.raises(ModelError, match="B versus C"):
        p_scores_from_league(est, missing, TRTS, True)
    with pytest.raises(DataError, match="treatment names"):
        p_scores_from_league(est, cov_se, ("A", "B"), True)
    with pytest.raises(DataError, match="duplicated"):
        p_scores(EST, COV, ("A", "B", "A"), larger_better=True)
    with pytest.raises(ModelError, match="not positive"):
        p_scores([0.0, 1.0], np.zeros((2, 2)), ("A", "B"), larger_better=True)


# ---------------------------------------------------------------------------------
# invariants (hypothesis; derandomised for determinism)

PROPS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def networks(draw):
    n = draw(st.integers(2, 7))
    est = np.array(draw(st.lists(st.floats(-3, 3), min_size=n, max_size=n)))
    a = np.array(draw(st.lists(st.floats(-1, 1), min_size=n * n, max_size=n * n))).reshape(n, n)
    cov = a @ a.T + 0.05 * np.eye(n)
    perm = draw(st.permutations(range(n)))
    shift = draw(st.floats(-50, 50))
    return est, cov, [f"t{i}" for i in range(n)], np.array(perm), shift


@PROPS
@given(networks())
def test_permuting_treatments_permutes_pscores(net):
    est, cov, trts, perm, _ = net
    base = p_scores(est, cov, trts, larger_better=True)
    res = p_scores(est[perm], cov[np.ix_(perm, perm)], [trts[i] for i in perm], larger_better=True)
    np.testing.assert_allclose(res.p_score, base.p_score[perm], rtol=1e-12, atol=1e-14)
    assert res.treatments == tuple(trts[i] for i in perm)


@PROPS
@given(networks())
def test_flipping_direction_gives_one_minus_p(net):
    est, cov, trts, _, _ = net
    up = p_scores(est, cov, trts, larger_better=True)
    down = p_scores(est, cov, trts, larger_better=False)
    np.testing.assert_allclose(down.p_score, 1.0 - up.p_score, atol=1e-12)
    off = ~np.eye(len(trts), dtype=bool)
    np.testing.assert_allclose(down.p_better[off], up.p_better.T[off], atol=1e-15)
    np.testing.assert_array_equal(down.p_row_larger_than_col[off], up.p_row_larger_than_col[off])
    assert np.isclose(np.mean(up.p_score), 0.5)  # the P-scores of a network average 1/2


@PROPS
@given(networks())
def test_adding_a_constant_changes_nothing(net):
    est, cov, trts, _, shift = net
    base = p_scores(est, cov, trts, larger_better=True)
    moved = p_scores(est + shift, cov, trts, larger_better=True)
    np.testing.assert_allclose(moved.p_score, base.p_score, atol=1e-9)
    # and so does changing the reference: estimates against t0 instead of the mean
    ref = 0
    M = np.eye(len(trts)) - np.eye(len(trts))[ref][None, :]
    rebased = p_scores(M @ est, M @ cov @ M.T, trts, larger_better=True)
    np.testing.assert_allclose(rebased.p_score, base.p_score, atol=1e-10)


# ---------------------------------------------------------------------------------
# rank probabilities


def _hasselblad_re():
    entry = expected("dat.hasselblad1998")["metafor"]["RE_REML"]
    trts = entry["league"]["treatments"]
    est = np.r_[0.0, entry["estimate"]]
    cov = np.zeros((len(trts), len(trts)))
    cov[1:, 1:] = np.asarray(entry["vcov"], dtype=float)
    return est, cov, trts


def test_rank_probabilities_are_deterministic_and_consistent():
    est, cov, trts = _hasselblad_re()
    a = rank_probabilities(est, cov, trts, larger_better=True, n_sim=5000, seed=20250101)
    b = rank_probabilities(est, cov, trts, larger_better=True, n_sim=5000, seed=20250101)
    c = rank_probabilities(est, cov, trts, larger_better=True, n_sim=5000, seed=7)
    assert a.to_json() == b.to_json()
    assert not np.array_equal(a.probabilities, c.probabilities)
    assert a.seed == 20250101 and a.n_sim == 5000 and a.n_ties == 0
    P = np.asarray(a.probabilities)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(P.sum(axis=0), 1.0, atol=1e-12)
    n = len(trts)
    np.testing.assert_allclose(a.mean_rank, P @ np.arange(1, n + 1), atol=1e-12)
    np.testing.assert_allclose(a.sucra, (n - a.mean_rank) / (n - 1), atol=1e-12)
    cum = a.cumulative
    for i in range(n):
        r = a.median_rank[i]
        assert cum[i, r - 1] >= 0.5 and (r == 1 or cum[i, r - 2] < 0.5)
    # no_contact is worst in most draws when larger is better
    assert a.probabilities[0, n - 1] > 0.85
    text = a.summary()
    assert "larger values are better" in text and "seed 20250101" in text
    assert list(a.to_frame().columns[-3:]) == ["sucra", "mean_rank", "median_rank"]


def test_rank_probabilities_direction_reverses_ranks():
    est, cov, trts = _hasselblad_re()
    up = rank_probabilities(est, cov, trts, larger_better=True, n_sim=4000, seed=3)
    down = rank_probabilities(est, cov, trts, larger_better=False, n_sim=4000, seed=3)
    # the same draws, ranked the other way round
    np.testing.assert_allclose(down.probabilities, np.asarray(up.probabilities)[:, ::-1], atol=1e-12)
    np.testing.assert_allclose(down.sucra, 1 - np.asarray(up.sucra), atol=1e-12)
    assert "smaller values are better" in down.summary()


def test_sucra_converges_to_pscore():
    """Rücker & Schwarzer (2015): the P-score is the SUCRA of the joint normal."""
    est, cov, trts = _hasselblad_re()
    p = p_scores(est, cov, trts, larger_better=True).p_score
    errors = []
    for n_sim in (500, 5000, 200_000):
        r = rank_probabilities(est, cov, trts, larger_better=True, n_sim=n_sim, seed=11)
        errors.append(float(np.max(np.abs(r.sucra - p))))
    assert errors[2] < errors[1] < errors[0]
    # Monte Carlo error of a SUCRA with 200000 draws is below 0.001
    assert errors[2] < 0.002


def test_ties_share_ranks_equally():
    # B and C are the same estimate with perfectly correlated errors: tied in every draw
    est = np.array([0.0, 1.0, 1.0])
    cov = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    res = rank_probabilities(est, cov, ("A", "B", "C"), larger_better=True, n_sim=40_000, seed=5)
    assert res.n_ties == 40_000
    P = np.asarray(res.probabilities)
    np.testing.assert_array_equal(P[1], P[2])
    q = norm.cdf(1.0)  # P(B > A)
    np.testing.assert_allclose(P[0], [1 - q, 0.0, q], atol=0.01)
    np.testing.assert_allclose(P[1], [q / 2, 0.5, (1 - q) / 2], atol=0.01)
    assert P[1, 1] == pytest.approx(0.5, abs=1e-12)  # B and C always share rank 2
    np.testing.assert_allclose(P.sum(axis=0), 1.0, atol=1e-12)
    assert "tied" in res.summary()
    # P-scores cannot be formed for a difference without variance: a clear error
    with pytest.raises(ModelError, match="Var\\(B - C\\)"):
        p_scores(est, cov, ("A", "B", "C"), larger_better=True)


def test_rank_probabilities_validation():
    est, cov, trts = _hasselblad_re()
    with pytest.raises(TypeError):
        rank_probabilities(est, cov, trts, larger_better=True)  # seed is required
    with pytest.raises(ModelError, match="seed"):
        rank_probabilities(est, cov, trts, larger_better=True, seed=-1)
    with pytest.raises(ModelError, match="n_sim"):
        rank_probabilities(est, cov, trts, larger_better=True, n_sim=0, seed=1)
    with pytest.raises(ModelError, match="larger_better"):
        rank_probabilities(est, cov, trts, larger_better=None, seed=1)
    assert isinstance(p_scores(est, cov, trts, larger_better=True), PScores)
