"""Inconsistency in network meta-analysis against netmeta 3.3-1 and metafor's rma.mv.

* node-splitting by back-calculation: ``netsplit`` (common and random), every column;
* netmeta's multi-arm adjusted standard errors (``seTE.adj``);
* the design-based decomposition of Q: ``decomp.design`` (whole list);
* the design-by-treatment interaction test;
* random inconsistency effects: ``rma.mv(..., random = list(~ comp | study,
  ~ comp | design), rho = 1/2, phi = 1/2)`` by REML;
* the net heat plot, which has no reference values: its defining properties on the
  three networks and on hand-built networks whose answer is known.

Closed forms to a relative 1e-8, REML to 1e-5 (metafor's optimiser was not tightened).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import linalg, optimize, stats

from netgrade._result import frozen_array
from netgrade.errors import ModelError
from netgrade.network import NetworkData, StudyBlock, nma
from netgrade.network.inconsistency import (
    Decomposition,
    NodeSplit,
    RandomInconsistency,
    _DesignModel,
    _units,
    adjusted_standard_errors,
    decomposition,
    design_by_treatment,
    node_split,
    random_inconsistency,
)
from netgrade.network.netheat import NETHEAT_CMAP, NetHeat, net_heat, net_heat_plot
from tests.nma_data import NETWORKS, network
from tests.reference import CLOSED, assert_close, expected

LIKELIHOOD = 1e-5
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.lru_cache(maxsize=None)
def _fit(ds: str, method: str = "DL"):
    return nma(network(ds), reference=expected(ds)["reference"], method=method)


@functools.lru_cache(maxsize=None)
def _split(ds: str) -> NodeSplit:
    return node_split(_fit(ds))


@functools.lru_cache(maxsize=None)
def _decomp(ds: str) -> Decomposition:
    return decomposition(_fit(ds))


def _na(values):
    return [None if v is None else v for v in values]


# --- netsplit ------------------------------------------------------------------------

SPLIT_COLUMNS = {
    "nma": ("network", ("TE", "seTE", "lower", "upper")),
    "direct": ("direct", ("TE", "seTE", "lower", "upper", "p")),
    "indirect": ("indirect", ("TE", "seTE", "lower", "upper", "p")),
    "compare": ("difference", ("TE", "seTE", "lower", "upper", "z", "p")),
}
ATTR = {"TE": "est", "seTE": "se", "lower": "ci_low", "upper": "ci_high", "z": "z", "p": "pval"}


def _rows(ns: NodeSplit, labels):
    own = list(ns.labels)
    missing = [c for c in labels if c not in own]
    assert not missing, f"comparisons not listed (or listed the other way round): {missing}"
    return [own.index(c) for c in labels]


@pytest.mark.parametrize("ds", NETWORKS)
def test_netsplit_lists_netmeta_comparisons_in_its_order_and_orientation(ds):
    ref = expected(ds)["netmeta"]["DL"]["netsplit"]
    ns = _split(ds)
    assert list(ns.labels) == ref["common"]["comparison"] == ref["random"]["comparison"]
    assert ref["method"] == "Back-calculation" and ns.method == "back-calculation"
    n = len(ns.treatments)
    assert len(ns.comparisons) == n * (n - 1) // 2
    assert all(b != ns.reference for a, b in ns.comparisons if a == ns.reference) and all(
        a != ns.reference for a, _ in ns.comparisons
    )


@pytest.mark.parametrize("ds", NETWORKS)
@pytest.mark.parametrize("kind", ["common", "random"])
@pytest.mark.parametrize("block", ["k", "prop_direct", "nma", "direct", "indirect", "compare"])
def test_netsplit_matches_netmeta(ds, kind, block):
    ref = expected(ds)["netmeta"]["DL"]["netsplit"][kind]
    assert set(ref) == {"comparison", "k", "prop_direct", *SPLIT_COLUMNS}
    ns = _split(ds)
    t = ns.table(kind)
    idx = _rows(ns, ref["comparison"])
    where = f"{ds}/{kind}/{block}"
    if block == "k":
        assert [int(ns.k[i]) for i in idx] == ref["k"]
        return
    if block == "prop_direct":
        assert_close(t.prop_direct[idx].tolist(), ref["prop_direct"], CLOSED, where)
        return
    attr, columns = SPLIT_COLUMNS[block]
    assert set(ref[block]) == set(columns), f"{where}: reference columns {sorted(ref[block])}"
    est = getattr(t, attr)
    for col in columns:
        ours = [None if not np.isfinite(v) else float(v) for v in getattr(est, ATTR[col])[idx]]
        # p-values of 1e-28 are compared relatively too: they come from the same closed form
        assert_close(ours, _na(ref[block][col]), CLOSED, f"{where}/{col}", atol=1e-13)


@pytest.mark.parametrize("ds", NETWORKS)
def test_netsplit_random_uses_the_network_tau2(ds):
    ns, res = _split(ds), _fit(ds)
    assert ns.random.tau2 == res.tau2 and ns.common.tau2 == 0.0
    assert_close(ns.random.tau2, expected(ds)["netmeta"]["DL"]["tau2"], CLOSED, "tau2")


@pytest.mark.parametrize("ds", NETWORKS)
def test_multiarm_adjusted_standard_errors_match_netmeta(ds):
    """netmeta's seTE.adj (common and random): minus the off-diagonal of the
    Laplacian (-1/2 C R C)^+ of each study (Rücker 2012)."""
    ref = expected(ds)["netmeta"]["DL"]["input"]
    adj = adjusted_standard_errors(_fit(ds))
    key = {(r.study, frozenset((r.treat1, r.treat2))): r for r in adj.itertuples()}
    assert len(key) == len(ref["studlab"]) == len(adj)
    for kind in ("common", "random"):
        ours = [getattr(key[(str(s), frozenset((a, b)))], f"se_adj_{kind}") for s, a, b in zip(ref["studlab"], ref["treat1"], ref["treat2"])]
        assert_close(ours, ref[f"seTE_adj_{kind}"], CLOSED, f"{ds}/seTE_adj_{kind}")
    ours = [key[(str(s), frozenset((a, b)))].se for s, a, b in zip(ref["studlab"], ref["treat1"], ref["treat2"])]
    assert_close(ours, ref["seTE"], CLOSED, f"{ds}/seTE")


def test_adjusted_weights_reproduce_the_network_fit():
    """Used as independent pairwise comparisons with the adjusted weights, the
    contrasts give the network estimates (the reason the adjustment exists)."""
    res = _fit("dat.hasselblad1998")
    adj = adjusted_standard_errors(res)
    for model, fit, col in (("common", res.common, "se_adj_common"), ("random", res, "se_adj_random")):
        T = list(fit.treatments)
        B = np.zeros((len(adj), len(T)))
        for n, r in enumerate(adj.itertuples()):
            B[n, T.index(r.treat1)] = 1.0
            B[n, T.index(r.treat2)] = -1.0
        w = 1.0 / adj[col].to_numpy() ** 2
        X = B[:, 1:]
        coef = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * adj.TE.to_numpy()))
        assert_close(coef.tolist(), np.asarray(fit.coef).tolist(), 1e-10, model)


# --- decomposition -----------------------------------------------------------------------


@pytest.mark.parametrize("ds", NETWORKS)
@pytest.mark.parametrize("part", ["Q_decomp", "Q_het_design", "Q_inc_detach", "Q_inc_random"])
def test_decomp_design_matches_netmeta(ds, part):
    ref = expected(ds)["netmeta"]["DL"]["decomp_design"]
    assert set(ref) == {"Q_decomp", "Q_het_design", "Q_inc_detach", "Q_inc_random"}
    d = _decomp(ds)
    ref = ref[part]
    if part == "Q_decomp":
        assert ref["component"] == ["Total", "Within designs", "Between designs"]
        assert_close([d.q, d.q_within, d.q_between], ref["Q"], CLOSED, part)
        assert [d.q_df, d.q_within_df, d.q_between_df] == ref["df"]
        assert_close([d.q_pval, d.q_within_pval, d.q_between_pval], ref["pval"], CLOSED, part)
    elif part == "Q_het_design":
        ours = {frozenset(x.design.split(":")): x for x in d.design_q}
        assert len(ours) == len(ref["design"])
        for lab, q, df, p in zip(ref["design"], ref["Q"], ref["df"], ref["pval"]):
            x = ours[frozenset(lab.split(":"))]
            assert_close(x.q, q, CLOSED, f"{part}/{lab}", atol=1e-12)
            assert x.df == df
            assert_close(x.pval if df > 0 else None, p, CLOSED, f"{part}/{lab}/pval")
    elif part == "Q_inc_detach":
        ours = {frozenset(x.design.split(":")): x for x in d.detach}
        assert set(ours) == {frozenset(lab.split(":")) for lab in ref["design"]}
        for lab, q, df, p in zip(ref["design"], ref["Q"], ref["df"], ref["pval"]):
            x = ours[frozenset(lab.split(":"))]
            assert_close(x.q, q, CLOSED, f"{part}/{lab}")
            assert x.df == df
            assert_close(x.pval, p, CLOSED, f"{part}/{lab}/pval")
        # every design not listed is one whose removal disconnects the network
        assert len(d.detach) + len(d.not_detachable) == len(d.design_q)
    else:
        assert set(ref) == {"Q", "df", "pval", "tau.within"}
        assert_close(d.q_between_random, ref["Q"][0], CLOSED, "Q_inc_random")
        assert d.q_between_df == ref["df"][0]
        assert_close(d.q_between_random_pval, ref["pval"][0], CLOSED, "Q_inc_random/pval")
        assert_close(d.tau_within, ref["tau.within"][0], CLOSED, "tau.within")


@pytest.mark.parametrize("ds", NETWORKS)
def test_design_level_model_reproduces_the_core_q_split(ds):
    """The between-design Q of the design-level model equals the core's, and the design
    contributions add up to it (Krahn et al. 2013, eq. 8)."""
    d, res = _decomp(ds), _fit(ds)
    assert d.q_between == res.q_between
    dm = _DesignModel(_units(res), len(res.treatments) - 1, 0.0)
    r = dm.residuals(dm.fit())
    assert_close(dm.q(r), res.q_between, 1e-10, "design-level Q")
    assert_close(sum(c for _, c in d.design_contribution), res.q_between, 1e-10, "contributions")
    frame = d.designs_frame()
    assert len(frame) == len(res.design_q) and "q_detached" in frame
    assert "Between designs" in d.summary()


@pytest.mark.parametrize("ds", NETWORKS)
def test_design_by_treatment_test(ds):
    ref = expected(ds)["netmeta"]["DL"]["decomp_design"]
    t = design_by_treatment(_fit(ds))
    assert_close(t.q_common, ref["Q_decomp"]["Q"][2], CLOSED, "common")
    assert_close(t.pval_common, ref["Q_decomp"]["pval"][2], CLOSED, "common p")
    assert_close(t.q_random, ref["Q_inc_random"]["Q"][0], CLOSED, "random")
    assert_close(t.pval_random, ref["Q_inc_random"]["pval"][0], CLOSED, "random p")
    assert t.df == ref["Q_decomp"]["df"][2] == ref["Q_inc_random"]["df"][0]
    assert_close(math.sqrt(t.tau2_within), ref["Q_inc_random"]["tau.within"][0], CLOSED, "tau.within")
    assert len(t.to_frame()) == 2 and "Higgins" in t.summary()


def _explicit_wald(res, tau2):
    """Wald test of the inconsistency parameters of the design-by-treatment model fitted
    at the study level (Higgins et al. 2012): consistency columns X plus design-specific
    columns completing them to one parameter per design comparison."""
    units = _units(res)
    designs = list(dict.fromkeys(u.design for u in units))
    cols = {}
    for u in units:
        for r, t in enumerate(u.arms[1:]):
            cols.setdefault((u.design, t), len(cols))
    y = np.concatenate([u.y for u in units])
    X = np.vstack([u.X for u in units])
    F = np.zeros((len(y), len(cols)))
    row = 0
    for u in units:
        for t in u.arms[1:]:
            F[row, cols[(u.design, t)]] = 1.0
            row += 1
    V = linalg.block_diag(*[u.V + tau2 * 0.5 * (np.ones((u.m, u.m)) + np.eye(u.m)) for u in units])
    Z = X.copy()
    for j in range(F.shape[1]):  # add design columns that are not yet spanned
        trial = np.column_stack([Z, F[:, j]])
        if np.linalg.matrix_rank(trial, tol=1e-9) > np.linalg.matrix_rank(Z, tol=1e-9):
            Z = trial
    assert np.linalg.matrix_rank(Z, tol=1e-9) == len(cols) or len(designs) == 0
    W = np.linalg.inv(V)
    cov = np.linalg.inv(Z.T @ W @ Z)
    b = cov @ Z.T @ W @ y
    p = X.shape[1]
    om, C = b[p:], cov[p:, p:]
    return float(om @ np.linalg.solve(C, om)), len(om)


@pytest.mark.parametrize("ds", NETWORKS)
def test_design_by_treatment_equals_an_explicit_wald_test(ds):
    res = _fit(ds)
    t = design_by_treatment(res)
    w, df = _explicit_wald(res, 0.0)
    assert df == t.df
    assert_close(w, t.q_common, 1e-8, "common Wald")
    w, _ = _explicit_wald(res, t.tau2_within)
    assert_close(w, t.q_random, 1e-8, "random Wald")


# --- random inconsistency effects (metafor) --------------------------------------------


@functools.lru_cache(maxsize=None)
def _law(ds: str, override: bool = False) -> RandomInconsistency:
    # metafor's input took each multi-arm study's first-listed arm as its baseline; the
    # only study where that is not our baseline is hasselblad's study 9 (self_help)
    baselines = {"9": "self_help"} if override else None
    return random_inconsistency(_fit(ds, "REML"), baselines=baselines)


@pytest.mark.parametrize("ds", NETWORKS)
def test_random_inconsistency_matches_metafor(ds):
    ref = expected(ds)["metafor"]["RE_inconsistency_REML"]
    ri = _law(ds, override=ds == "dat.hasselblad1998")
    assert ref["method"] == "REML" and ref["random_struct"] == ["CS", "CS"]
    assert ri.rho == ref["rho"] == 0.5 and ri.phi == ref["phi"] == 0.5
    assert ri.k == ref["k"] and len(ri.coef_names) == ref["p"]
    idx = [ri.coef_names.index(c) for c in ref["coef_names"]]
    tol = LIKELIHOOD
    assert_close(ri.tau2, ref["tau2"], tol, "tau2")
    assert_close(ri.tau, ref["tau"], tol, "tau")
    # gamma² sits on its boundary in all three networks (metafor stops at ~1e-10)
    assert ri.gamma2 == 0.0 or ri.gamma2 < 1e-8
    assert ref["gamma2"] < 1e-8
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("zval", "zval"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        assert_close(np.asarray(getattr(ri, ours))[idx].tolist(), ref[theirs], tol, theirs, atol=1e-9)
    assert_close(np.asarray(ri.pval)[idx].tolist(), ref["pval"], tol, "pval")
    assert_close(np.asarray(ri.vcov)[np.ix_(idx, idx)].tolist(), ref["vcov"], tol, "vcov", atol=1e-12)
    assert_close(ri.qe, ref["QE"], CLOSED, "QE")
    assert ri.qe_df == ref["QE_df"]
    assert_close(ri.qe_pval, ref["QEp"], CLOSED, "QEp", atol=1e-300)
    assert_close(ri.qm, ref["QM"], tol, "QM")
    assert_close(ri.qm_pval, ref["QMp"], tol, "QMp")
    for key, attr in (("logLik", "loglik"), ("deviance", "deviance"), ("AIC", "aic"), ("BIC", "bic"), ("AICc", "aicc")):
        assert_close(getattr(ri, attr), ref["fit_stats"][key], tol, f"fit_stats/{key}")
    d = ri.to_dict()
    assert d["fit_stats"]["AIC"] == ri.aic and "gamma" in ri.summary()


def test_random_inconsistency_baseline_changes_only_the_reml_constant():
    a, b = _law("dat.hasselblad1998"), _law("dat.hasselblad1998", override=True)
    assert_close(np.asarray(a.estimate).tolist(), np.asarray(b.estimate).tolist(), 1e-9, "estimate")
    assert_close(a.tau2, b.tau2, 1e-9, "tau2")
    assert abs(a.loglik - b.loglik) > 1e-4  # 1/2 log|X'X| differs
    with pytest.raises(ModelError, match="no arm"):
        random_inconsistency(_fit("dat.hasselblad1998", "REML"), baselines={"9": "no_contact"})
    with pytest.raises(ModelError, match="not in the network"):
        random_inconsistency(_fit("dat.hasselblad1998", "REML"), baselines={"nope": "A"})


@pytest.mark.parametrize("ds", NETWORKS)
def test_random_inconsistency_with_gamma_zero_is_the_consistency_reml_fit(ds):
    """At gamma² = 0 the model is the consistency model: tau² and the estimates equal
    the core's REML fit (with metafor's reduction of multi-arm studies)."""
    ri = _law(ds)
    res = nma(network(ds), reference=expected(ds)["reference"], method="REML", multiarm="baseline")
    assert ri.gamma2 == 0.0
    assert_close(ri.tau2, res.tau2, 1e-6, "tau2")
    assert_close(np.asarray(ri.estimate).tolist(), np.asarray(res.coef).tolist(), 1e-6, "coef", atol=1e-9)
    assert any(w.code == "variance_boundary" for w in ri.warnings)


# --- hand-built networks -------------------------------------------------------------------


def _block(study, arms, means, variances):
    """A study from arm-level means and variances (its contrasts are consistent)."""
    m = np.asarray(means, float)
    v = np.asarray(variances, float)
    y = m[:, None] - m[None, :]
    R = v[:, None] + v[None, :]
    np.fill_diagonal(R, 0.0)
    return StudyBlock(study, tuple(arms), frozen_array(y), frozen_array(R))


def _net(blocks):
    return NetworkData(tuple(blocks), tuple(sorted({t for b in blocks for t in b.arms})), "MD")


THETA = {"A": 0.0, "B": 0.5, "C": -0.3, "D": 1.1, "E": 0.2}


def _k4(shift_bc: float = 0.0, studies_per_design: int = 2, seed: int = 1):
    """The complete network of A-D, two-arm designs only; the B:C studies are shifted by
    ``shift_bc`` (0 = consistent)."""
    rng = np.random.default_rng(seed)
    blocks = []
    for a, b in itertools.combinations("ABCD", 2):
        for s in range(studies_per_design):
            v = rng.uniform(0.02, 0.1, 2)
            mb = THETA[b] - THETA[a] + (shift_bc if (a, b) == ("B", "C") else 0.0)
            blocks.append(_block(f"{a}{b}{s}", (a, b), [0.0, mb], v))
    return _net(blocks)


def test_consistent_network_has_no_inconsistency_anywhere():
    rng = np.random.default_rng(7)
    blocks = []
    for n, arms in enumerate([("A", "B"), ("A", "C"), ("B", "C"), ("A", "B", "D"), ("C", "D"), ("B", "D"), ("A", "B", "C")]):
        blocks.append(_block(f"S{n}", arms, [THETA[t] for t in arms], rng.uniform(0.02, 0.2, len(arms))))
        blocks.append(_block(f"T{n}", arms, [THETA[t] for t in arms], rng.uniform(0.02, 0.2, len(arms))))
    res = nma(_net(blocks), reference="A", method="DL")
    ns = node_split(res)
    for t in (ns.common, ns.random):
        both = np.isfinite(t.difference.est)
        assert both.sum() > 3
        assert np.max(np.abs(t.difference.est[both])) < 1e-10
        assert np.max(np.abs(t.difference.z[both])) < 1e-8
    d = decomposition(res)
    assert d.q < 1e-12 and abs(d.q_between) < 1e-12 and d.q_between_random < 1e-12
    assert all(x.q < 1e-12 for x in d.detach) and d.tau2_within == 0.0
    heat = net_heat(res, showall=True)
    assert np.max(np.abs(heat.change)) < 1e-12
    # no warm (or any) colour: every cell is drawn white
    fig = net_heat_plot(heat)
    (image,) = fig.axes[0].images
    colours = np.asarray(image.get_array())
    assert colours.shape[:2] == (heat.n, heat.n)
    assert np.allclose(colours[..., :3], 1.0)
    with pytest.raises(ModelError, match="consistent"):
        net_heat(res)


def test_network_without_loops_has_no_indirect_evidence():
    rng = np.random.default_rng(11)
    blocks = []
    for a, b in (("A", "B"), ("A", "C"), ("C", "D"), ("C", "E")):  # a tree
        for s in range(3):
            blocks.append(_block(f"{a}{b}{s}", (a, b), [0.0, THETA[b] - THETA[a] + rng.normal(0, 0.3)], rng.uniform(0.02, 0.2, 2)))
    res = nma(_net(blocks), reference="A", method="DL")
    ns = node_split(res)
    direct = ns.k > 0
    for t in (ns.common, ns.random):
        assert_close(t.prop_direct[direct].tolist(), [1.0] * int(direct.sum()), 1e-12, "prop")
        assert np.all(np.isnan(t.indirect.est[direct])) and np.all(np.isnan(t.difference.est))
        assert_close(t.direct.est[direct].tolist(), t.network.est[direct].tolist(), 1e-12, "direct = network")
        # comparisons without direct evidence: all of it is indirect
        assert np.all(np.isnan(t.direct.est[~direct]))
        assert_close(t.indirect.est[~direct].tolist(), t.network.est[~direct].tolist(), 1e-12, "indirect")
    d = decomposition(res)
    assert abs(d.q_between) < 1e-12 and d.q_between_df == 0 and not d.detach
    assert len(d.not_detachable) == 4 and d.q_between_random == 0.0
    with pytest.raises(ModelError, match="no loop"):
        net_heat(res)


def test_detaching_the_one_inconsistent_design_removes_all_inconsistency():
    res = nma(_k4(shift_bc=1.5), reference="A", method="FE")
    d = decomposition(res)
    assert d.q_between > 15
    det = {x.design: x for x in d.detach}
    assert set(det) == {"A:B", "A:C", "A:D", "B:C", "B:D", "C:D"}
    assert det["B:C"].q < 1e-20 and det["B:C"].df == 6 - 3 - 1
    assert all(det[k].q > 1 for k in det if k != "B:C")
    contrib = dict(d.design_contribution)
    assert max(contrib, key=contrib.get) == "B:C"
    ns = node_split(res)
    bc = ns.comparison("C", "B", "common")
    cb = ns.comparison("B", "C", "common")
    assert bc["diff"] == pytest.approx(-cb["diff"]) and cb["pval"] < 0.01
    # the net heat plot: detaching B:C empties every row's contribution
    heat = net_heat(res, cluster=False)
    j = heat.labels.index("B:C")
    assert_close(heat.change[:, j].tolist(), (-heat.q_contribution).tolist(), 1e-9, "B:C column", atol=1e-12)
    assert heat.change[j, j] == min(np.diag(heat.change))
    assert not heat.omitted
    hs = heat.hot_spots()
    assert (hs.detached == "B:C").any()


def test_net_heat_properties_on_hand_built_networks():
    res = nma(_k4(shift_bc=0.6, studies_per_design=1, seed=3), reference="A", method="FE")
    heat = net_heat(res)
    # the diagonal: a detached design fits itself, so its contribution goes to zero
    assert_close(np.diag(heat.change).tolist(), (-heat.q_contribution).tolist(), 1e-12, "diagonal", atol=1e-14)
    # columns: the change of Q when that design is detached
    assert_close(heat.change.sum(axis=0).tolist(), (heat.q_detached - heat.q_between).tolist(), 1e-9, "columns", atol=1e-12)
    d = decomposition(res)
    det = {x.design: x.q for x in d.detach}
    assert_close(heat.q_detached.tolist(), [det[x] for x in heat.designs], 1e-12, "detached Q")
    assert_close(heat.q_between, d.q_between, 1e-10, "Q between")
    # the hat matrix is symmetric in the metric of the design variances: H V = X M^-1 X'
    dm = _DesignModel(_units(res), 3, 0.0)
    HV = dm.hat() @ dm.V
    assert_close(HV.tolist(), HV.T.tolist(), 1e-10, "H V symmetric", atol=1e-14)
    # ...and it reproduces consistent design estimates
    assert_close((dm.hat() @ dm.X).tolist(), dm.X.tolist(), 1e-10, "H X = X", atol=1e-12)
    # a single triangle: detaching any design leaves no loop
    tri = nma(_net([b for b in _k4(0.5).blocks if "D" not in b.arms]), reference="A", method="FE")
    with pytest.raises(ModelError, match="without loops"):
        net_heat(tri)


@pytest.mark.parametrize("ds", NETWORKS)
@pytest.mark.parametrize("random", [False, True])
def test_net_heat_on_the_reference_networks(ds, random, tmp_path):
    res = _fit(ds)
    heat = net_heat(res, random=random)
    d = _decomp(ds)
    assert heat.model == ("random" if random else "common")
    if random:
        assert_close(heat.tau2, d.tau2_within, 1e-12, "tau2 within")
        assert_close(heat.q_between, d.q_between_random, 1e-10, "Q between random")
    else:
        assert_close(heat.q_between, d.q_between, 1e-10, "Q between")
        det = {x.design: x.q for x in d.detach}
        assert_close(heat.q_detached.tolist(), [det[x] for x in heat.designs], 1e-10, "detached Q")
    assert heat.change.shape == heat.contribution.shape == (heat.n, heat.n)
    assert np.all(np.isfinite(heat.change))
    assert_close(np.diag(heat.change).tolist(), (-heat.q_contribution).tolist(), 1e-12, "diagonal", atol=1e-13)
    # every omitted design is a bridge, or (netmeta's default) contributes nothing
    omitted = {x for x, _ in heat.omitted}
    assert omitted.isdisjoint(heat.designs)
    assert omitted | set(heat.designs) == {x.design for x in d.design_q}
    contrib = dict(d.design_contribution)
    for name, why in heat.omitted:
        assert name in d.not_detachable or abs(contrib[name]) < 1e-7, (name, why)
    assert len(heat.to_frame()) == heat.n**2 and heat.to_dict()["labels"] == list(heat.labels)
    if not random:
        from netgrade.report.plots import save_figure

        fig = heat.figure()
        (image,) = fig.axes[0].images
        assert np.asarray(image.get_array()).shape[:2] == (heat.n, heat.n)
        (png,) = save_figure(fig, tmp_path / "netheat.png", formats=("png",), dpi=60)
        assert png.stat().st_size > 1000


def test_net_heat_colour_map_is_warm_for_decreases():
    warm, white, cool = (np.array(NETHEAT_CMAP(x)[:3]) for x in (0.0, 0.5, 1.0))
    assert warm[0] > 0.7 and warm[2] < 0.3  # red
    assert np.allclose(white, 1.0)
    assert cool[2] > 0.5 and cool[0] < 0.3  # blue


# --- properties ----------------------------------------------------------------------------

TREATMENTS = "ABCDE"


@st.composite
def _networks(draw):
    """Connected networks of 3 to 5 treatments with two- and three-arm studies and
    random (possibly inconsistent) effects."""
    n_t = draw(st.integers(3, 5))
    trts = TREATMENTS[:n_t]
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    designs = [(trts[i - 1], trts[i]) for i in range(1, n_t)]  # a spanning path
    extra = [c for c in itertools.combinations(trts, 2) if c not in designs]
    designs += [extra[i] for i in draw(st.lists(st.integers(0, len(extra) - 1), min_size=1, max_size=4, unique=True))]
    if draw(st.booleans()):
        designs.append(tuple(trts[:3]))
    blocks = []
    for n, arms in enumerate(designs):
        for s in range(draw(st.integers(1, 3))):
            means = [THETA[t] + rng.normal(0, 0.25) for t in arms]
            blocks.append(_block(f"S{n}-{s}", arms, means, rng.uniform(0.02, 0.2, len(arms))))
    return _net(blocks)


def _rename(data: NetworkData, mapping) -> NetworkData:
    blocks = [StudyBlock(b.study, tuple(mapping[t] for t in b.arms), b.y, b.R) for b in data.blocks]
    return _net(blocks)


@SETTINGS
@given(_networks())
def test_swapping_orientation_flips_direct_indirect_and_difference(data):
    """Renaming the treatments so that every comparison is listed the other way round
    flips the sign of the direct, indirect and network estimates and of their
    difference, and changes nothing else."""
    trts = sorted({t for b in data.blocks for t in b.arms})
    rev = dict(zip(trts, reversed(trts)))  # reverses the order of every pair
    ref = trts[0]
    a = node_split(nma(data, reference=ref, method="DL"))
    b = node_split(nma(_rename(data, rev), reference=rev[ref], method="DL"))
    for (t1, t2) in a.comparisons:
        for model in ("common", "random"):
            x = a.comparison(t1, t2, model)
            y = b.comparison(rev[t1], rev[t2], model)
            z = b.comparison(rev[t2], rev[t1], model)  # the other orientation of the same pair
            for key in ("network", "direct", "indirect", "diff"):
                for u, v in ((x[key], y[key]), (x[key], -z[key])):
                    assert (math.isnan(u) and math.isnan(v)) or u == pytest.approx(v, rel=1e-8, abs=1e-10)
                assert (math.isnan(x[f"{key}_se"]) and math.isnan(z[f"{key}_se"])) or x[f"{key}_se"] == pytest.approx(
                    z[f"{key}_se"], rel=1e-8
                )
            assert x["k"] == z["k"] and x["prop_direct"] == pytest.approx(z["prop_direct"], rel=1e-9, abs=1e-12)
            assert (math.isnan(x["pval"]) and math.isnan(z["pval"])) or x["pval"] == pytest.approx(z["pval"], rel=1e-7)
            assert (math.isnan(x["z"]) and math.isnan(z["z"])) or x["z"] == pytest.approx(-z["z"], rel=1e-8, abs=1e-10)


@SETTINGS
@given(_networks())
def test_back_calculation_identities(data):
    """Direct and indirect estimates combine into the network estimate with the
    proportion of direct evidence as weight (König et al. 2013), and the between-design
    Q is the sum of the design contributions and does not depend on the reference."""
    res = nma(data, reference="A", method="DL")
    ns = node_split(res)
    for t in (ns.common, ns.random):
        ok = np.isfinite(t.difference.est)
        p = t.prop_direct[ok]
        assert_close((p * t.direct.est[ok] + (1 - p) * t.indirect.est[ok]).tolist(), t.network.est[ok].tolist(), 1e-8, "mix", atol=1e-10)
        inv = 1 / t.direct.se[ok] ** 2 + 1 / t.indirect.se[ok] ** 2
        assert_close(inv.tolist(), (1 / t.network.se[ok] ** 2).tolist(), 1e-8, "precision")
        assert np.all((t.prop_direct >= 0) & (t.prop_direct <= 1 + 1e-12))
    d = decomposition(res)
    assert_close(sum(c for _, c in d.design_contribution), res.q_between, 1e-8, "contributions", atol=1e-10)
    other = decomposition(nma(data, reference=res.treatments[-1], method="DL"))
    assert_close(other.q_between, d.q_between, 1e-8, "reference invariance", atol=1e-10)
    assert_close(other.q_between_random, d.q_between_random, 1e-8, "reference invariance", atol=1e-10)
    assert_close(other.tau2_within, d.tau2_within, 1e-8, "tau within", atol=1e-12)
    w, df = _explicit_wald(res, 0.0)
    assert df == d.q_between_df
    assert_close(w, d.q_between, 1e-7, "Wald", atol=1e-9)


def _naive_reml(y, X, V, G, theta):
    S = V + sum(t * g for t, g in zip(theta, G))
    Si = np.linalg.inv(S)
    M = X.T @ Si @ X
    b = np.linalg.solve(M, X.T @ Si @ y)
    r = y - X @ b
    n, p = X.shape
    logdets = -np.linalg.slogdet(X.T @ X)[1] + np.linalg.slogdet(S)[1] + np.linalg.slogdet(M)[1]
    return -0.5 * ((n - p) * math.log(2 * math.pi) + logdets + r @ Si @ r)


def test_random_inconsistency_finds_the_reml_maximum_with_real_inconsistency():
    """A network with inconsistent designs and heterogeneous studies: both variance
    components are positive, and the estimate is the maximum of an independently coded
    restricted likelihood (checked by a bounded quasi-Newton search)."""
    rng = np.random.default_rng(2024)
    blocks = []
    offsets = {("A", "B"): 0.0, ("A", "C"): 0.6, ("B", "C"): -0.5, ("A", "D"): 0.4, ("B", "D"): 0.0, ("C", "D"): -0.4}
    for (a, b), off in offsets.items():
        for s in range(4):
            blocks.append(_block(f"{a}{b}{s}", (a, b), [0.0, THETA[b] - THETA[a] + off + rng.normal(0, 0.3)], rng.uniform(0.01, 0.04, 2)))
    for s in range(3):
        arms = ("A", "B", "C")
        blocks.append(_block(f"ABC{s}", arms, [THETA[t] + rng.normal(0, 0.2) for t in arms], rng.uniform(0.01, 0.04, 3)))
    res = nma(_net(blocks), reference="A", method="REML")
    ri = random_inconsistency(res)
    assert ri.tau2 > 0.01 and ri.gamma2 > 0.01
    units = _units(res)
    y = np.concatenate([u.y for u in units])
    X = np.vstack([u.X for u in units])
    V = linalg.block_diag(*[u.V for u in units])
    study = np.concatenate([[n] * u.m for n, u in enumerate(units)])
    design = np.concatenate([[u.design] * u.m for u in units])
    comp = np.concatenate([[f"{t}" for t in u.arms[1:]] for u in units])
    corr = np.where(comp[:, None] == comp[None, :], 1.0, 0.5)
    G = [np.where(study[:, None] == study[None, :], corr, 0.0), np.where(design[:, None] == design[None, :], corr, 0.0)]
    opt = optimize.minimize(
        lambda t: -_naive_reml(y, X, V, G, t),
        x0=[0.05, 0.05],
        bounds=[(0, None), (0, None)],
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    assert -opt.fun <= ri.loglik + 1e-9
    assert ri.loglik == pytest.approx(_naive_reml(y, X, V, G, [ri.tau2, ri.gamma2]), rel=1e-12)
    assert ri.tau2 == pytest.approx(opt.x[0], rel=1e-3) and ri.gamma2 == pytest.approx(opt.x[1], rel=1e-3)
    # the QM test and the CIs follow from the estimates and their covariance
    assert ri.qm == pytest.approx(float(ri.estimate @ np.linalg.solve(ri.vcov, ri.estimate)), rel=1e-10)
    assert ri.qm_pval == pytest.approx(stats.chi2.sf(ri.qm, 3), rel=1e-10)
    assert not any(w.code == "variance_boundary" for w in ri.warnings)


# --- result objects ----------------------------------------------------------------------------


def test_result_objects_present_themselves():
    ns = _split("dat.hasselblad1998")
    frame = ns.to_frame()
    assert len(frame) == 2 * len(ns.comparisons)
    assert {"comparison", "k", "prop_direct", "direct", "indirect", "diff", "z", "pval"} <= set(frame)
    text = ns.summary()
    assert "A:B = A versus B" in text and "Random-effects" in text
    assert ns.to_dict()["orientation"].startswith("comparison A:B")
    assert "<pre>" in ns._repr_html_()
    import json

    recs = ns.records()
    assert len(recs) == len(ns.comparisons) and {r["model"] for r in recs} == {"random"}
    assert {r["model"] for r in ns.records(random=False)} == {"common"}
    json.dumps(recs, allow_nan=False)  # NaN (no direct or no indirect evidence) became null
    json.dumps(ns.to_dict(), allow_nan=False)
    row = ns.comparison("grp_counseling", "ind_counseling")
    assert row["k"] == 4 and row["diff"] == pytest.approx(ns.random.difference.est[0])
    with pytest.raises(ModelError):
        ns.comparison("grp_counseling", "nothing")
    fe = node_split(nma(network("dat.hasselblad1998"), reference="no_contact", method="FE"))
    assert fe.random is None and fe.to_frame().model.unique().tolist() == ["common"]
    with pytest.raises(ModelError, match="common-effect"):
        fe.table("random")
    with pytest.raises(ModelError, match="node-splitting method"):
        node_split(_fit("dat.hasselblad1998"), method="SIDDE")
    d = _decomp("dat.senn2013")
    assert d.to_dict()["tau_within"] == pytest.approx(d.tau_within)
    assert len(d.to_frame()) == 4
    d2 = decomposition(_fit("dat.senn2013"), tau2=_fit("dat.senn2013").tau2)
    assert d2.q_between_preset is not None and len(d2.to_frame()) == 5
    heat = net_heat(_fit("dat.senn2013"), tau2=0.05)
    assert heat.model == "random" and heat.tau2 == 0.05 and "Net heat" in heat.summary()
    assert isinstance(heat, NetHeat) and heat.matrix("contribution").shape == (heat.n, heat.n)
