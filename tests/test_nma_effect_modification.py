"""Effect modification in networks: network meta-regression and subgroup network
meta-analysis (netgrade.network.metareg, netgrade.network.subgroup_nma).

Validation:

* a two-treatment network is a pairwise meta-regression: every number equals
  ``netgrade.pairwise.rma(yi, vi, mods=..., method=...)`` (validated against metafor)
  to a relative 1e-6 (observed: ~1e-12);
* with a categorical covariate and independent interactions the model is one network
  per level: with common effects (or a fixed tau²) its per-level effects equal separate
  network meta-analyses of the levels, exactly;
* a covariate that does not vary (or is zero) gives back ``nma``;
* multi-arm networks against a brute-force dense generalised least squares / (RE)ML
  written independently here (stacked contrasts, block-diagonal covariance, a bounded
  one-dimensional likelihood search), also on dat.hasselblad1998 with year of
  publication;
* simulated networks with a large interaction (p < 0.001, estimates near the truth) and
  without one (p > 0.05), each with one fixed seed chosen before looking at the result;
* invariants: study order, treatment labels, the sign of a numeric covariate.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy.linalg import block_diag

from netgrade._result import frozen_array
from netgrade.data.schema import StudyTable
from netgrade.errors import DataError, ModelError
from netgrade.network import (
    NetworkData,
    NetworkMetaRegResult,
    StudyBlock,
    SubgroupNMAResult,
    network_metareg,
    nma,
    subgroup_nma,
)
from netgrade.pairwise import rma
from tests.nma_data import network
from tests.reference import data_path

SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-6  # iterative quantities (REML, ML); closed forms agree far closer


def _block(study, arms, means, variances):
    """A study from arm-level means and variances (its contrasts are consistent)."""
    m = np.asarray(means, float)
    v = np.asarray(variances, float)
    y = m[:, None] - m[None, :]
    R = v[:, None] + v[None, :]
    np.fill_diagonal(R, 0.0)
    return StudyBlock(study, tuple(arms), frozen_array(y), frozen_array(R), None)


def _net(blocks, measure="MD"):
    return NetworkData(tuple(blocks), tuple(sorted({t for b in blocks for t in b.arms})), measure)


# designs cycled through by the simulations: two- and three-arm, every treatment in many
DESIGNS = [
    ("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("C", "D"),
    ("A", "B", "C"), ("A", "C", "D"), ("A", "B"), ("A", "B", "D"), ("B", "D"),
]
TRUTH_NONE = {"cervical": {"A": 0.0, "B": -1.0, "C": -0.5, "D": -0.3}, "lumbar": {"A": 0.0, "B": -1.0, "C": -0.5, "D": -0.3}}
# B's effect against A differs by 1.5 SD between the regions; C and D do not
TRUTH_B = {"cervical": {"A": 0.0, "B": -1.0, "C": -0.5, "D": -0.3}, "lumbar": {"A": 0.0, "B": 0.5, "C": -0.5, "D": -0.3}}
# every active treatment is 1.5 SD less effective against A in the lumbar region
TRUTH_COMMON = {"cervical": {"A": 0.0, "B": -1.0, "C": -0.5, "D": -0.3}, "lumbar": {"A": 0.0, "B": 0.5, "C": 1.0, "D": 1.2}}


def simulate(seed, truth, k=30, n=40, tau=0.1, designs=DESIGNS):
    """k trials of a continuous outcome (SD 1) alternating between two regions; arm
    means with a per-arm random effect (so that contrasts have variance tau² and
    correlation 1/2 within a study) and sampling error for n/2 to 2n patients per arm."""
    rng = np.random.default_rng(seed)
    blocks, region = [], {}
    for i in range(k):
        reg = ("cervical", "lumbar")[i % 2]
        arms = designs[(i // 2) % len(designs)]
        mu = rng.normal(0.0, 1.0)
        ns = rng.integers(n // 2, 2 * n, size=len(arms))
        means = [
            mu + truth[reg][t] + rng.normal(0.0, tau / math.sqrt(2)) + rng.normal(0.0, 1 / math.sqrt(m))
            for t, m in zip(arms, ns)
        ]
        s = f"S{i:02d}"
        blocks.append(_block(s, arms, means, [1.0 / m for m in ns]))
        region[s] = reg
    return _net(blocks), region


def dense_fit(net, z, reference, interactions, reml=True, tau2=None):
    """Independent brute-force network meta-regression: every study's contrasts
    against its first arm stacked, their covariance V + tau² S block-diagonal, design
    rows [x, x z] (independent) or [x, sum(x) z] (common); tau² maximises the
    (restricted) likelihood by a bounded scalar search."""
    trts = [t for t in net.treatments if t != reference]
    col = {t: i for i, t in enumerate(trts)}
    ys, rows, Vs, Ss = [], [], [], []
    for b in net.blocks:
        m = b.n_arms - 1
        zs = np.atleast_1d(np.asarray(z[b.study], float))
        for t in b.arms[1:]:
            x = np.zeros(len(trts))
            if t in col:
                x[col[t]] += 1
            if b.arms[0] in col:
                x[col[b.arms[0]]] -= 1
            xi = np.outer(x, zs).ravel() if interactions == "independent" else x.sum() * zs
            rows.append(np.concatenate([x, xi]))
        ys.append(b.y[1:, 0])
        Vs.append(b.baseline_covariance())
        Ss.append(0.5 * (np.ones((m, m)) + np.eye(m)))
    y, X, V, S = np.concatenate(ys), np.array(rows), block_diag(*Vs), block_diag(*Ss)

    def parts(t2):
        W = np.linalg.inv(V + t2 * S)
        M = X.T @ W @ X
        beta = np.linalg.solve(M, X.T @ W @ y)
        r = y - X @ beta
        return W, M, beta, r

    def nll(t2):
        W, M, beta, r = parts(t2)
        val = -np.linalg.slogdet(W)[1] + r @ W @ r
        return 0.5 * (val + (np.linalg.slogdet(M)[1] if reml else 0.0))

    if tau2 is None:
        res = optimize.minimize_scalar(nll, bounds=(0.0, 5.0), method="bounded", options={"xatol": 1e-14})
        tau2 = float(res.x) if nll(res.x) < nll(0.0) else 0.0
    W, M, beta, r = parts(tau2)
    q0 = parts(0.0)
    return {"tau2": tau2, "beta": beta, "vcov": np.linalg.inv(M), "qe": float(q0[3] @ q0[0] @ q0[3])}


# ---------------------------------------------------------------------------------
# (a) a two-treatment network is a pairwise meta-regression


def _two_treatment(seed=11, k=14):
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, k)
    region = np.array(["cervical", "lumbar", "thoracic"])[np.arange(k) % 3]
    y = 0.3 + 0.03 * (x - 50) + 0.4 * (region == "lumbar") + rng.normal(0, 0.5, k)
    v = rng.uniform(0.02, 0.3, k)
    blocks = [_block(f"S{i}", ("A", "B"), [0.0, y[i]], [v[i] / 2, v[i] / 2]) for i in range(k)]
    return _net(blocks), y, v, x, region


def _assert_matches_rma(res, pw, method):
    assert res.coef == pytest.approx(pw.coef, rel=TOL, abs=1e-12)
    assert res.coefficients.se == pytest.approx(pw.coef_se, rel=TOL)
    assert res.coefficients.ci_low == pytest.approx(pw.coef_ci_low, rel=TOL, abs=1e-12)
    assert res.coefficients.ci_high == pytest.approx(pw.coef_ci_high, rel=TOL, abs=1e-12)
    assert res.coefficients.pval == pytest.approx(pw.coef_pval, rel=TOL)
    assert np.asarray(res.vcov) == pytest.approx(pw.vcov, rel=TOL, abs=1e-14)
    assert res.tau2 == pytest.approx(pw.tau2, rel=TOL, abs=1e-10)
    assert res.qe == pytest.approx(pw.q, rel=1e-10) and res.qe_df == pw.q_df
    assert res.qm == pytest.approx(pw.qm, rel=TOL) and res.qm_df == pw.qm_df[0]
    assert res.qm_pval == pytest.approx(pw.qm_pval, rel=TOL)
    if method in ("REML", "ML"):
        assert res.loglik == pytest.approx(pw.loglik, rel=TOL)
        assert res.aic == pytest.approx(pw.aic, rel=TOL)
        assert res.bic == pytest.approx(pw.bic, rel=TOL)
    if method != "FE":
        assert res.r2 == pytest.approx(pw.r2, rel=TOL, abs=1e-8)


@pytest.mark.parametrize("interactions", ["common", "independent"])
@pytest.mark.parametrize("method", ["REML", "ML", "DL", "FE"])
def test_two_treatment_numeric_equals_rma(method, interactions):
    net, y, v, x, _ = _two_treatment()
    cov = {f"S{i}": x[i] for i in range(len(x))}
    res = network_metareg(net, cov, reference="A", method=method, interactions=interactions, covariate_name="x")
    pw = rma(y, v, mods=pd.DataFrame({"x": x}), method=method)
    assert res.tau2 > 0 or method == "FE"
    _assert_matches_rma(res, pw, method)
    assert res.coef_names == (("B", "x") if interactions == "common" else ("B", "B:x"))
    # the effect at a covariate value is the meta-regression's prediction there
    eff = res.effects_at(62.5).set_index("treatment").loc["B"]
    pred = pw.predict(62.5)
    assert eff["estimate"] == pytest.approx(pred.pred[0], rel=TOL)
    assert eff["se"] == pytest.approx(pred.se[0], rel=TOL)
    if method != "FE":
        assert eff["pi_low"] == pytest.approx(pred.pi_low[0], rel=TOL)


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "FE"])
def test_two_treatment_centred_and_categorical_equal_rma(method):
    net, y, v, x, region = _two_treatment(seed=12)
    # centred numeric covariate: the intercept is the effect at the centre
    res = network_metareg(net, dict(zip(net.studies, x)), reference="A", method=method, centre="mean")
    assert res.centre == pytest.approx(float(np.mean(x)), rel=1e-15)
    _assert_matches_rma(res, rma(y, v, mods=x - np.mean(x), method=method), method)
    assert "centred at" in res.summary()
    # categorical covariate (three levels, dummy-coded against the first)
    res = network_metareg(net, dict(zip(net.studies, region)), reference="A", method=method, covariate_name="region")
    pw = rma(y, v, mods=pd.DataFrame({"region": region}), method=method)
    _assert_matches_rma(res, pw, method)
    assert res.coef_names == ("B", "regionlumbar", "regionthoracic")
    assert res.levels == ("cervical", "lumbar", "thoracic")
    by = res.effects_by_level().set_index(["region", "treatment"])
    for j, lev in enumerate(res.levels):
        pred = pw.predict([[0.0, 0.0] if j == 0 else [float(j == 1), float(j == 2)]])
        assert by.loc[(lev, "B"), "estimate"] == pytest.approx(pred.pred[0], rel=TOL)
        assert by.loc[(lev, "B"), "se"] == pytest.approx(pred.se[0], rel=TOL)


# ---------------------------------------------------------------------------------
# (b) independent interactions on a categorical covariate = one network per level


def _per_level_identity(net, region, method, tau2=None, tol=1e-9):
    res = network_metareg(net, region, reference="A", interactions="independent", method=method, tau2=tau2,
                          covariate_name="region")
    assert not res.not_estimable
    by = res.effects_by_level().set_index(["region", "treatment"])
    for lev in ("cervical", "lumbar"):
        sub = net.subset(studies=[s for s in net.studies if region[s] == lev])
        sep = nma(sub, reference="A", method=method, tau2=tau2).effects().set_index("treatment")
        for t in ("B", "C", "D"):
            assert by.loc[(lev, t), "estimate"] == pytest.approx(sep.loc[t, "estimate"], rel=tol, abs=1e-12)
            assert by.loc[(lev, t), "se"] == pytest.approx(sep.loc[t, "se"], rel=tol)
        # every pair, not only against the reference
        lg = res.league_at(lev)
        sep_lg = nma(sub, reference="A", method=method, tau2=tau2).league()
        assert lg.pair("C", "D")["estimate"] == pytest.approx(sep_lg.pair("C", "D")["estimate"], rel=tol)
        assert lg.pair("C", "D")["se"] == pytest.approx(sep_lg.pair("C", "D")["se"], rel=tol)
    return res


def test_two_arm_network_common_effect_per_level_equals_separate_nmas():
    two_arm = [d for d in DESIGNS if len(d) == 2]
    net, region = simulate(21, TRUTH_B, k=28, designs=two_arm)
    assert all(b.n_arms == 2 for b in net.blocks)
    res = _per_level_identity(net, region, "FE")
    # and the residual Q is the sum of the per-level Qs
    qs = [nma(net.subset(studies=[s for s in net.studies if region[s] == lev]), reference="A", method="FE") for lev in ("cervical", "lumbar")]
    assert res.qe == pytest.approx(sum(q.q for q in qs), rel=1e-10)
    assert res.qe_df == sum(q.q_df for q in qs)


def test_multiarm_network_per_level_identity_with_fixed_tau2():
    net, region = simulate(22, TRUTH_B)
    assert any(b.n_arms == 3 for b in net.blocks)
    _per_level_identity(net, region, "FE")
    _per_level_identity(net, region, "REML", tau2=0.05)


# ---------------------------------------------------------------------------------
# (c) no covariate effect: back to nma


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "FE"])
@pytest.mark.parametrize("interactions", ["common", "independent"])
@pytest.mark.parametrize("value", [3.0, 0.0])
def test_constant_covariate_recovers_nma(method, interactions, value):
    net, _ = simulate(23, TRUTH_NONE, tau=0.3)
    res = network_metareg(net, {s: value for s in net.studies}, reference="A", method=method, interactions=interactions)
    ref = nma(net, reference="A", method=method)
    assert res.coef == pytest.approx(ref.coef, rel=1e-10, abs=1e-13)
    assert np.asarray(res.vcov) == pytest.approx(np.asarray(ref.vcov), rel=1e-10)
    assert res.tau2 == pytest.approx(ref.tau2, rel=1e-10, abs=1e-14)
    assert res.qe == pytest.approx(ref.q, rel=1e-12) and res.qe_df == ref.q_df
    assert res.interaction_names == () and res.qm_df == 0 and math.isnan(res.qm)
    assert set(res.not_estimable) == ({"B:covariate", "C:covariate", "D:covariate"} if interactions == "independent" else {"covariate"})
    assert any(w.code == "interaction_not_estimable" for w in res.warnings)
    if method in ("REML", "ML"):
        assert res.loglik == pytest.approx(ref.loglik, rel=1e-9)
    eff = res.effects_at(7.0).set_index("treatment")
    assert eff.loc[["B", "C", "D"], "estimate"].to_numpy() == pytest.approx(ref.coef, rel=1e-10)
    assert not eff["interaction_estimable"].all()


def test_single_level_categorical_and_fixed_tau2_recover_nma():
    net, _ = simulate(24, TRUTH_NONE, tau=0.3)
    res = network_metareg(net, {s: "lumbar" for s in net.studies}, reference="A", method="REML", covariate_name="region")
    ref = nma(net, reference="A", method="REML")
    assert res.coef == pytest.approx(ref.coef, rel=1e-10)
    assert res.tau2 == pytest.approx(ref.tau2, rel=1e-10)
    assert any(w.code == "single_level" for w in res.warnings)
    # tau² fixed: the same fixed-tau² network meta-analysis
    res = network_metareg(net, {s: 1.0 for s in net.studies}, reference="A", method="REML", tau2=0.07)
    ref = nma(net, reference="A", method="REML", tau2=0.07)
    assert res.tau2_fixed and res.tau2 == 0.07
    assert res.coef == pytest.approx(ref.coef, rel=1e-12)


# ---------------------------------------------------------------------------------
# multi-arm networks against brute-force dense GLS / (RE)ML


@pytest.mark.parametrize("interactions", ["common", "independent"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_multiarm_against_dense_likelihood(method, interactions):
    net, _ = simulate(25, TRUTH_NONE, tau=0.4)
    rng = np.random.default_rng(251)
    age = {s: float(rng.normal(55, 8)) for s in net.studies}
    res = network_metareg(net, age, reference="A", method=method, interactions=interactions, centre=55.0)
    ref = dense_fit(net, {s: a - 55.0 for s, a in age.items()}, "A", interactions, reml=method == "REML")
    assert res.tau2 > 0.01
    assert res.tau2 == pytest.approx(ref["tau2"], rel=TOL)
    assert res.coef == pytest.approx(ref["beta"], rel=TOL, abs=1e-8)
    assert np.asarray(res.vcov) == pytest.approx(ref["vcov"], rel=TOL, abs=1e-10)
    assert res.qe == pytest.approx(ref["qe"], rel=1e-10)


@pytest.mark.parametrize("interactions", ["common", "independent"])
def test_hasselblad1998_year_against_dense_likelihood(interactions):
    """Real data (smoking cessation, log odds ratios, two three-arm studies): year of
    publication, centred at 1985, REML."""
    net = network("dat.hasselblad1998")
    raw = pd.read_csv(data_path("dat.hasselblad1998"))
    studies = raw[["study", "year"]].drop_duplicates().astype({"study": str})
    res = network_metareg(net, "year", studies=studies, reference="no_contact", interactions=interactions,
                          method="REML", centre=1985)
    year = dict(zip(studies["study"], studies["year"] - 1985.0))
    ref = dense_fit(net, year, "no_contact", interactions, reml=True)
    assert res.tau2 == pytest.approx(ref["tau2"], rel=TOL)
    assert res.coef == pytest.approx(ref["beta"], rel=TOL)
    assert np.asarray(res.vcov) == pytest.approx(ref["vcov"], rel=TOL)
    assert res.qm_df == (1 if interactions == "common" else 3)
    assert res.qm_pval > 0.05  # no evidence that the effects drifted with time
    assert res.nma.tau2 > res.tau2  # the covariate accounts for some heterogeneity


# ---------------------------------------------------------------------------------
# simulations (fixed seeds, chosen before looking; effects clear-cut)


def test_large_interaction_of_one_treatment_is_detected():
    net, region = simulate(1, TRUTH_B)
    res = network_metareg(net, region, reference="A", interactions="independent", covariate_name="region")
    assert res.qm_df == 3 and res.qm_pval < 0.001
    row = res.coefficients.row("B:regionlumbar")
    assert row["pval"] < 0.001 and abs(row["estimate"] - 1.5) < 3 * row["se"]
    by = res.effects_by_level().set_index(["region", "treatment"])
    for lev in ("cervical", "lumbar"):
        for t in ("B", "C", "D"):
            r = by.loc[(lev, t)]
            truth = TRUTH_B[lev][t]
            assert abs(r["estimate"] - truth) < 3 * r["se"] and abs(r["estimate"] - truth) < 0.35
            assert not r["extrapolated"]
    # the subgroup analysis agrees: B differs between regions, in both tau² conventions
    for mode in ("common", "separate"):
        sg = subgroup_nma(net, region, reference="A", tau2=mode, covariate_name="region")
        assert sg.test("B").pval < 0.001 and sg.q_between_pval < 0.001


def test_large_common_interaction_is_detected():
    net, region = simulate(3, TRUTH_COMMON)
    res = network_metareg(net, region, reference="A", interactions="common", covariate_name="region")
    row = res.coefficients.row("regionlumbar")
    assert res.qm_df == 1 and res.qm_pval < 0.001
    assert abs(row["estimate"] - 1.5) < 3 * row["se"] and abs(row["estimate"] - 1.5) < 0.3
    # a treatment-by-treatment fit sees the same shift for each
    ind = network_metareg(net, region, reference="A", interactions="independent", covariate_name="region")
    for t in ("B", "C", "D"):
        r = ind.coefficients.row(f"{t}:regionlumbar")
        assert abs(r["estimate"] - 1.5) < 3 * r["se"]


def test_large_numeric_interaction_is_detected():
    """Effect of B against A grows by 0.05 per year of mean age (1.5 over 30 years)."""
    rng = np.random.default_rng(4)
    blocks, age = [], {}
    for i in range(30):
        arms = DESIGNS[i % len(DESIGNS)]
        a = float(rng.uniform(40, 70))
        eff = {"A": 0.0, "B": -1.0 + 0.05 * (a - 55), "C": -0.5, "D": -0.3}
        ns = rng.integers(20, 80, size=len(arms))
        mu = rng.normal()
        means = [mu + eff[t] + rng.normal(0, 0.07) + rng.normal(0, 1 / math.sqrt(m)) for t, m in zip(arms, ns)]
        blocks.append(_block(f"S{i:02d}", arms, means, [1.0 / m for m in ns]))
        age[f"S{i:02d}"] = a
    net = _net(blocks)
    res = network_metareg(net, age, reference="A", interactions="independent", centre=55, covariate_name="age")
    row = res.coefficients.row("B:age")
    assert row["pval"] < 0.001 and abs(row["estimate"] - 0.05) < 3 * row["se"]
    assert res.coefficients.row("B")["estimate"] == pytest.approx(-1.0, abs=0.3)
    eff = res.effects_at([45.0, 65.0]).set_index(["age", "treatment"])
    assert eff.loc[(65.0, "B"), "estimate"] - eff.loc[(45.0, "B"), "estimate"] == pytest.approx(
        20 * row["estimate"], rel=1e-12
    )
    # extrapolation: beyond the ages of the studies of B
    ages_b = [age[b.study] for b in net.blocks if "B" in b.arms]
    inside = res.effects_at([min(ages_b), max(ages_b)]).set_index("treatment").loc["B", "extrapolated"]
    outside = res.effects_at([min(ages_b) - 0.01, max(ages_b) + 0.01]).set_index("treatment").loc["B", "extrapolated"]
    assert not inside.any() and outside.all()


def test_no_interaction_is_not_detected():
    net, region = simulate(2, TRUTH_NONE)
    for inter in ("independent", "common"):
        res = network_metareg(net, region, reference="A", interactions=inter, covariate_name="region")
        assert res.qm_pval > 0.05
    sg = subgroup_nma(net, region, reference="A", tau2="common", covariate_name="region")
    assert sg.q_between_pval > 0.05


# ---------------------------------------------------------------------------------
# subgroup network meta-analysis


def _drop_arm(net, studies, treatment):
    blocks = []
    for b in net.blocks:
        if b.study in studies and treatment in b.arms:
            idx = [i for i, t in enumerate(b.arms) if t != treatment]
            if len(idx) < 2:
                continue
            ix = np.ix_(idx, idx)
            b = StudyBlock(b.study, tuple(b.arms[i] for i in idx), frozen_array(b.y[ix]), frozen_array(b.R[ix]), None)
        blocks.append(b)
    return NetworkData(tuple(blocks), net.treatments, net.measure)


@pytest.mark.parametrize("method", ["REML", "DL", "FE"])
def test_subgroup_common_tau2_is_the_full_interaction_metaregression(method):
    net, region = simulate(26, TRUTH_B, tau=0.3)
    # D is never studied in the lumbar region
    net = _drop_arm(net, {s for s, r in region.items() if r == "lumbar"}, "D")
    region = {s: region[s] for s in net.studies}
    sg = subgroup_nma(net, region, reference="A", method=method, tau2="common", covariate_name="region")
    lumbar = sg.get("lumbar")
    assert lumbar.absent == ("D",) and lumbar.analysed
    assert sg.test("D").df == 0 and math.isnan(sg.test("D").q)
    frame = sg.to_frame().set_index(["level", "treatment"])
    assert math.isnan(frame.loc[("lumbar", "D"), "estimate"]) and frame.loc[("lumbar", "D"), "note"] == "not studied in this level"
    mr = network_metareg(net, region, reference="A", method=method, interactions="independent", covariate_name="region")
    assert mr.not_estimable == ("D:regionlumbar",)
    if method != "FE":
        assert sg.tau2 == pytest.approx(mr.tau2, rel=1e-12) and sg.tau2 > 0
    # the global test is the meta-regression's QM, the per-level fits its per-level effects
    assert sg.q_between == pytest.approx(mr.qm, rel=1e-9)
    assert sg.q_between_df == mr.qm_df == 2
    by = mr.effects_by_level().set_index(["region", "treatment"])
    for lev in ("cervical", "lumbar"):
        for t in sg.fit(lev).treatments[1:]:
            assert frame.loc[(lev, t), "estimate"] == pytest.approx(by.loc[(lev, t), "estimate"], rel=1e-9)
            assert frame.loc[(lev, t), "se"] == pytest.approx(by.loc[(lev, t), "se"], rel=1e-9)
    # the per-treatment test is Cochran's Q of the level estimates
    b = frame.xs("B", level="treatment")
    w = 1 / b["se"] ** 2
    mean = float(np.sum(w * b["estimate"]) / np.sum(w))
    assert sg.test("B").q == pytest.approx(float(np.sum(w * (b["estimate"] - mean) ** 2)), rel=1e-12)
    assert by.loc[("lumbar", "D"), "extrapolated"]


def test_subgroup_separate_tau2_fits_each_level_on_its_own():
    net, region = simulate(27, TRUTH_B, tau=0.3)
    sg = subgroup_nma(net, region, reference="A", tau2="separate", covariate_name="region")
    assert sg.tau2_mode == "separate" and math.isnan(sg.tau2) and sg.metareg is None
    for lev in ("cervical", "lumbar"):
        sub = net.subset(studies=[s for s in net.studies if region[s] == lev])
        ref = nma(sub, reference="A", method="REML")
        assert sg.fit(lev).tau2 == pytest.approx(ref.tau2, rel=1e-12)
        assert np.asarray(sg.fit(lev).coef) == pytest.approx(np.asarray(ref.coef), rel=1e-12)
    fixed = subgroup_nma(net, region, reference="A", tau2=0.02, covariate_name="region")
    assert fixed.tau2_mode == "fixed" and all(lv.fit.tau2 == 0.02 for lv in fixed.levels)


def test_subgroup_levels_that_cannot_be_analysed_are_reported():
    blocks = [
        _block("c1", ("A", "B"), [0, -1.0], [0.02, 0.02]),
        _block("c2", ("A", "B", "C"), [0, -0.9, -0.5], [0.03, 0.02, 0.02]),
        _block("c3", ("A", "C"), [0, -0.4], [0.02, 0.03]),
        _block("l1", ("A", "B"), [0, 0.3], [0.02, 0.02]),
        _block("l2", ("A", "B"), [0, 0.5], [0.03, 0.02]),
        _block("l3", ("C", "D"), [0, 0.2], [0.02, 0.02]),  # not connected to A in lumbar
        _block("t1", ("B", "C"), [0, 0.3], [0.02, 0.02]),  # thoracic: no study of A
        _block("t2", ("B", "D"), [0, 0.1], [0.02, 0.02]),
    ]
    net = _net(blocks)
    region = {"c1": "cervical", "c2": "cervical", "c3": "cervical", "l1": "lumbar", "l2": "lumbar", "l3": "lumbar",
              "t1": "thoracic", "t2": "thoracic"}
    sg = subgroup_nma(net, region, reference="A", method="FE", covariate_name="region")
    assert sg.level_names == ("cervical", "lumbar", "thoracic")
    assert not sg.get("thoracic").analysed and "reference A" in sg.get("thoracic").reason
    assert not sg.get("lumbar").analysed and "disconnected" in sg.get("lumbar").reason
    assert sg.get("cervical").absent == ("D",)
    codes = [w.code for w in sg.warnings]
    assert codes.count("subgroup_not_analysed") == 2
    assert math.isnan(sg.q_between) and sg.q_between_df == 0
    text = sg.summary()
    assert "not analysed" in text and "thoracic" in text
    # analysing the reference's sub-network of a disconnected level instead
    sg = subgroup_nma(net, region, reference="A", method="FE", disconnected="reference", covariate_name="region")
    lumbar = sg.get("lumbar")
    assert lumbar.analysed and set(lumbar.left_out) == {"C", "D"} and lumbar.fit.k == 2
    assert sg.test("B").df == 1 and sg.test("B").pval < 0.001
    frame = sg.to_frame().set_index(["level", "treatment"])
    assert "not connected" in frame.loc[("lumbar", "C"), "note"]
    assert frame.loc[("thoracic", "B"), "note"].startswith("level not analysed")
    # every level without the reference: an error that says so
    with pytest.raises(ModelError, match="no level"):
        subgroup_nma(net.subset(studies=["t2", "l3", "c1"]), {"t2": "x", "l3": "y", "c1": "y"}, reference="C")


# ---------------------------------------------------------------------------------
# inputs, results, errors


def test_covariate_inputs_and_missing_values():
    net, region = simulate(28, TRUTH_B)
    frame = pd.DataFrame({"study": list(region), "region": list(region.values()), "n": range(len(region))})
    a = network_metareg(net, "region", studies=frame, reference="A")
    b = network_metareg(net, "region", studies=StudyTable(frame), reference="A")
    c = network_metareg(net, pd.Series(region, name="region"), reference="A")
    d = network_metareg(net, [region[s] for s in net.studies], reference="A", covariate_name="region")
    for r in (b, c, d):
        assert r.coef == pytest.approx(a.coef, rel=1e-14) and r.coef_names == a.coef_names
    # the order of levels decides the baseline; effects per level do not change
    e = network_metareg(net, "region", studies=frame, reference="A", levels=["lumbar", "cervical"])
    assert e.coef_names[-1] == "regioncervical"
    assert e.effects_by_level().set_index(["region", "treatment"])["estimate"].sort_index().to_numpy() == pytest.approx(
        a.effects_by_level().set_index(["region", "treatment"])["estimate"].sort_index().to_numpy(), rel=1e-9
    )
    # missing values: an error naming the studies, or an explicit exclusion
    partial = dict(region)
    del partial["S03"]
    partial["S05"] = None
    with pytest.raises(DataError, match="missing for 2 studies") as err:
        network_metareg(net, partial, reference="A")
    assert {i.study for i in err.value.issues} == {"S03", "S05"}
    r = network_metareg(net, partial, reference="A", missing="exclude")
    assert r.k == 28 and {e.study for e in r.excluded} == {"S03", "S05"}
    with pytest.raises(DataError, match="no column"):
        network_metareg(net, "diagnosis", studies=frame, reference="A")
    with pytest.raises(DataError, match="studies table"):
        network_metareg(net, "region", reference="A")
    with pytest.raises(ModelError, match="common' or 'independent"):
        network_metareg(net, region, reference="A", interactions="exchangeable")
    with pytest.raises(ModelError, match="not a level"):
        a.effects_at("thoracic")
    with pytest.raises(ModelError, match="numeric"):
        network_metareg(net, region, reference="A", centre=1.0)
    # a numeric covariate can be analysed as categorical
    n = network_metareg(net, {s: float(i % 3) for i, s in enumerate(net.studies)}, reference="A", categorical=True,
                        covariate_name="dose")
    assert n.kind == "categorical" and n.levels == ("0", "1", "2") and n.qm_df == 2


def test_results_are_frozen_and_export():
    net, region = simulate(29, TRUTH_B)
    res = network_metareg(net, region, reference="A", interactions="independent", covariate_name="region")
    assert isinstance(res, NetworkMetaRegResult)
    with pytest.raises(Exception):
        res.tau2 = 1.0
    assert not res.coef.flags.writeable
    d = json.loads(res.to_json())
    assert d["interaction_names"] == ["B:regionlumbar", "C:regionlumbar", "D:regionlumbar"]
    assert d["qm_df"] == 3 and len(d["effects_by_level"]) == 8
    assert d["values"]["S00"] == "cervical"
    assert list(res.to_frame()["term"]) == ["treatment"] * 3 + ["interaction"] * 3
    text = res.summary()
    assert "Test for treatment-by-region interaction" in text and "lumbar" in text
    assert "<pre>" in res._repr_html_()
    assert res.interaction_test()["df"] == 3
    sg = subgroup_nma(net, region, reference="A", tau2="common", covariate_name="region")
    assert isinstance(sg, SubgroupNMAResult)
    d = json.loads(sg.to_json())
    assert d["q_between_df"] == 3 and len(d["effects"]) == 6 and len(d["tests"]) == 3
    assert "Global test for subgroup differences" in sg.summary()
    assert list(sg.tests_frame()["treatment"]) == ["B", "C", "D"]
    assert "<pre>" in sg._repr_html_()
    # an NMAResult can be passed in: its reference and level are reused
    base = nma(net, reference="B", method="REML", level=0.9)
    r = network_metareg(base, region, covariate_name="region")
    assert r.reference == "B" and r.level == 0.9


# ---------------------------------------------------------------------------------
# invariants


def _numeric_network(seed):
    net, _ = simulate(seed, TRUTH_B, k=18, tau=0.3)
    rng = np.random.default_rng(seed + 1000)
    age = {s: float(rng.normal(55, 8)) for s in net.studies}
    return net, age


@SETTINGS
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 10_000), inter=st.sampled_from(["common", "independent"]))
def test_study_order_does_not_matter(seed, perm_seed, inter):
    net, age = _numeric_network(seed)
    perm = np.random.default_rng(perm_seed).permutation(net.n_studies)
    shuffled = NetworkData(tuple(net.blocks[i] for i in perm), net.treatments, net.measure)
    a = network_metareg(net, age, reference="A", interactions=inter, centre="mean")
    b = network_metareg(shuffled, age, reference="A", interactions=inter, centre="mean")
    assert b.coef_names == a.coef_names
    assert b.coef == pytest.approx(a.coef, rel=1e-7, abs=1e-9)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-7, abs=1e-10)
    assert b.qm == pytest.approx(a.qm, rel=1e-7)


@SETTINGS
@given(seed=st.integers(0, 10_000), names=st.permutations(["zeta", "alpha", "Mu", "beta2"]),
       inter=st.sampled_from(["common", "independent"]))
def test_relabelling_treatments_does_not_matter(seed, names, inter):
    net, region = simulate(seed, TRUTH_B, k=18, tau=0.3)
    rename = dict(zip(["A", "B", "C", "D"], names))
    blocks = [StudyBlock(b.study, tuple(rename[t] for t in b.arms), b.y, b.R, b.n) for b in net.blocks]
    renamed = NetworkData(tuple(blocks), tuple(sorted(rename.values())), net.measure)
    a = network_metareg(net, region, reference="A", interactions=inter, covariate_name="region")
    b = network_metareg(renamed, region, reference=rename["A"], interactions=inter, covariate_name="region")
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-10)
    assert b.qm == pytest.approx(a.qm, rel=1e-6)
    assert b.qe == pytest.approx(a.qe, rel=1e-9)
    ea = a.effects_by_level().set_index(["region", "treatment"])
    eb = b.effects_by_level().set_index(["region", "treatment"])
    for (lev, t), row in ea.iterrows():
        other = eb.loc[(lev, rename[t])]
        assert other["estimate"] == pytest.approx(row["estimate"], rel=1e-6, abs=1e-9)
        assert other["se"] == pytest.approx(row["se"], rel=1e-6, abs=1e-12)


@SETTINGS
@given(seed=st.integers(0, 10_000), inter=st.sampled_from(["common", "independent"]), centre=st.sampled_from([None, "mean"]))
def test_flipping_the_covariate_flips_the_interactions(seed, inter, centre):
    net, age = _numeric_network(seed)
    a = network_metareg(net, age, reference="A", interactions=inter, centre=centre, covariate_name="age")
    b = network_metareg(net, {s: -v for s, v in age.items()}, reference="A", interactions=inter, centre=centre,
                        covariate_name="age")
    ia = np.array([a.coefficients.row(n)["estimate"] for n in a.interaction_names])
    ib = np.array([b.coefficients.row(n)["estimate"] for n in b.interaction_names])
    assert ib == pytest.approx(-ia, rel=1e-7, abs=1e-10)
    main = ["B", "C", "D"]
    assert [b.coefficients.row(t)["estimate"] for t in main] == pytest.approx(
        [a.coefficients.row(t)["estimate"] for t in main], rel=1e-7, abs=1e-9
    )
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-7, abs=1e-10) and b.qm == pytest.approx(a.qm, rel=1e-7)


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_constant_covariate_recovers_nma_on_linde2016(method):
    """Published contrasts whose multi-arm studies do not add up exactly (projected as
    netmeta does for DL, baseline contrasts for REML): still the network meta-analysis."""
    net = network("dat.linde2016")
    res = network_metareg(net, {s: 1.0 for s in net.studies}, reference="Placebo", method=method)
    ref = nma(net, reference="Placebo", method=method)
    assert res.coef == pytest.approx(ref.coef, rel=1e-10, abs=1e-13)
    assert res.tau2 == pytest.approx(ref.tau2, rel=1e-10)
    assert res.qe == pytest.approx(ref.q, rel=1e-12)


def test_iceman_rating_reflects_a_true_interaction_and_its_absence():
    """The subgroup analysis feeds ICEMAN: with a large true interaction the chance
    question is answered from the data and the credibility is as high as a between-trial
    comparison allows (moderate); without one, chance is a very likely explanation and
    the credibility is low at most."""
    from netgrade.certainty.iceman import answers_from_spec, assess_credibility, iceman_from_result

    spec = answers_from_spec({"prespecified": True, "protocol": True, "direction": "correct", "rationale": "strong",
                              "prior_evidence": "supports", "n_modifiers_tested": 1, "continuous_modifier": False})
    ratings = {}
    for name, seed, truth in (("interaction", 1, TRUTH_B), ("none", 2, TRUTH_NONE)):
        net, region = simulate(seed, truth)
        sg = subgroup_nma(net, region, reference="A", tau2="common", covariate_name="region")
        data = iceman_from_result(sg, comparison="between-trial", interaction_p=sg.test("B").pval, n_trials=net.n_studies,
                                  model="random")
        ratings[name] = assess_credibility(data, spec)
    yes = ratings["interaction"]
    assert yes.answer("chance") == "definitely yes" and yes.item("chance").source == "data"
    assert yes.credibility == "moderate"
    no = ratings["none"]
    assert no.answer("chance") == "definitely no"
    assert no.credibility in ("low", "very low")
