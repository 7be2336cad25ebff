"""Small-study effects against metafor: regtest, ranktest, trimfill.

Every ``regtest.*``, ``ranktest`` and ``trimfill.*`` entry of every pairwise reference data
set is compared, inputs being the reference yi/vi.

A finding about the references: metafor 3.8-1 fits the *internal* models of
``regtest`` and ``trimfill`` (the test regression, the fits to the trimmed data and the
model with the filled studies) with its default Fisher-scoring stopping rule (start at
the Hedges estimate, stop when tau² changes by less than 1e-5, set tau² = 0 only if that
raises the log-likelihood by more than eps^0.25), not with the full-precision control
used for the main fits.  The REML-based regtest/trimfill entries therefore carry up to
~1e-4 relative error in tau² (more in derived values close to zero).  netgrade solves
REML to full precision by default and offers metafor's default rule as
``solver="metafor"``; the tests

- reproduce the REML entries to 1e-8 with ``solver="metafor"`` for the internal fits,
  which shows the algorithms are identical, and
- check that netgrade's own full-precision internal fits are at the REML optimum (the
  score equation holds), with the same k0, side and k as the references.
Common-effect, DL and lm entries are closed forms and compared to 1e-8 directly.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from netgrade.errors import ModelError
from netgrade.pairwise import rma
from netgrade.pairwise._gls import gls
from netgrade.pairwise.small_study import (
    _kendall_counts,
    kendall_exact_pvalue,
    ranktest,
    regtest,
    trimfill,
)
from tests.reference import CLOSED, assert_close, data_path, expected

PAIRWISE = ["dat.bcg", "dat.normand1999", "dat.pritz1997", "dat.raudenbush1985", "dat.yusuf1985"]
# the references' own convergence error for REML-based internal fits (see module doc)


def _input(ds: str, name: str):
    inp = expected(ds)["analyses"][name]["input"]
    return np.array(inp["yi"], float), np.array(inp["vi"], float), inp["slab"]


def _entries(key: str):
    out = []
    for ds in PAIRWISE:
        for name, a in expected(ds)["analyses"].items():
            for sub in a.get(key, {}):
                out.append(pytest.param(ds, name, sub, id=f"{ds}-{name}-{sub}"))
    return out


def _analyses(key: str):
    return [
        pytest.param(ds, name, id=f"{ds}-{name}")
        for ds in PAIRWISE
        for name, a in expected(ds)["analyses"].items()
        if key in a
    ]


def _assert_reml_optimum(fit):
    """The fit's tau² maximises the restricted likelihood: the score is zero, or
    non-positive at the boundary tau² = 0 (Viechtbauer 2005)."""
    y, v, X = np.asarray(fit.yi), np.asarray(fit.vi), np.asarray(fit.X)
    f = gls(y, v + fit.tau2, X)
    score = f.yPPy - f.trace_P
    if fit.tau2 > 0:
        assert abs(score) <= 1e-9 * f.trace_P, score
    else:
        assert score <= 1e-12


def test_every_reference_entry_is_covered():
    seen = {"regtest", "ranktest", "trimfill"}
    for ds in PAIRWISE:
        for name, a in expected(ds)["analyses"].items():
            extra = {k for k in a if k.startswith(("regtest", "ranktest", "trimfill", "funnel", "fsn"))} - seen
            assert not extra, f"{ds}/{name}: untested entries {extra}"
            for key, ref in a.get("regtest", {}).items():
                assert (ref["model"], ref["predictor"]) in {("rma", "sei"), ("rma", "vi"), ("lm", "sei")}
            for key, ref in a.get("trimfill", {}).items():
                assert ref["method"] in ("REML", "FE", "DL") and ref["test"] == "z"


# ---------------------------------------------------------------------------------
# regtest


def _check_regtest(rt, ref, tol, atol, where):
    assert rt.model == ref["model"] and rt.predictor == ref["predictor"]
    assert rt.ddf == ref["dfs"]
    assert_close(rt.stat, ref["zval"], tol, where + "/zval", atol=atol)
    assert_close(rt.pval, ref["pval"], tol, where + "/pval", atol=atol)
    assert_close(rt.limit_estimate, ref["limit_estimate"], tol, where + "/limit_estimate", atol=atol)
    assert_close(rt.limit_ci_low, ref["limit_ci_lb"], tol, where + "/limit_ci_lb", atol=atol)
    assert_close(rt.limit_ci_high, ref["limit_ci_ub"], tol, where + "/limit_ci_ub", atol=atol)
    assert len(rt.coef_names) == len(ref["fit_coef"]["names"])
    assert rt.coef_names[-1] == ref["predictor"]
    assert_close(rt.coef, ref["fit_coef"]["estimate"], tol, where + "/fit_coef/estimate", atol=atol)
    assert_close(rt.coef_se, ref["fit_coef"]["se"], tol, where + "/fit_coef/se", atol=atol)


@pytest.mark.parametrize("ds,name,key", _entries("regtest"))
def test_regtest_matches_metafor(ds, name, key):
    ref = expected(ds)["analyses"][name]["regtest"][key]
    y, v, slab = _input(ds, name)
    res = rma(y, v, method=ref["method"] or "REML", studies=slab)
    where = f"{ds}/{name}/regtest/{key}"
    if ref["method"] == "REML" and ref["model"] == "rma":
        rt = regtest(res, model=ref["model"], predictor=ref["predictor"], solver="metafor")
        _check_regtest(rt, ref, CLOSED, 1e-12, where + " (metafor's stopping rule)")
        rt = regtest(res, model=ref["model"], predictor=ref["predictor"])
        _assert_reml_optimum(rt.fit)
    else:
        rt = regtest(res, model=ref["model"], predictor=ref["predictor"])
        _check_regtest(rt, ref, CLOSED, 1e-12, where)
    if ref["model"] == "rma":
        assert rt.fit is not None and rt.fit.k == len(y)
        assert rt.method == ref["method"]
    else:
        assert rt.fit is None and rt.method is None


def test_regtest_lm_is_eggers_original_regression():
    """Egger et al. (1997): regress y_i/se_i on 1/se_i by OLS; the intercept of that line
    is the coefficient of sei here, with the same t statistic on k - 2 df."""
    y, v, _ = _input("dat.bcg", "OR")
    se = np.sqrt(v)
    Z = np.column_stack([np.ones_like(se), 1 / se])
    zy = y / se
    beta, rss, *_ = np.linalg.lstsq(Z, zy, rcond=None)
    sigma2 = float(rss[0]) / (len(y) - 2)
    cov = sigma2 * np.linalg.inv(Z.T @ Z)
    rt = regtest(rma(y, v), model="lm")
    assert rt.coef[1] == pytest.approx(beta[0], rel=1e-10)
    assert rt.coef[0] == pytest.approx(beta[1], rel=1e-10)
    assert rt.stat == pytest.approx(beta[0] / math.sqrt(cov[0, 0]), rel=1e-10)
    assert rt.ddf == len(y) - 2


def test_regtest_sample_size_predictors():
    y, v, _ = _input("dat.bcg", "RR")
    bcg = pd.read_csv(data_path("dat.bcg"))
    ni = (bcg["tpos"] + bcg["tneg"] + bcg["cpos"] + bcg["cneg"]).to_numpy(float)
    with pytest.raises(ModelError, match="sample sizes"):
        regtest(rma(y, v), predictor="ninv")
    res = rma(y, v, method="FE")
    rt = regtest(res, predictor="ninv", ni=ni)
    direct = rma(y, v, mods=1 / ni, method="FE")
    assert rt.stat == pytest.approx(direct.coef_stat[1], rel=1e-12)
    assert rt.limit_estimate == pytest.approx(direct.coef[0], rel=1e-12)
    rt_ni = regtest(res, predictor="ni", ni=ni)
    assert math.isnan(rt_ni.limit_estimate)  # no limit when the predictor grows with precision


def test_regtest_meta_regression_has_no_limit_estimate():
    y, v, _ = _input("dat.bcg", "RR")
    x = np.arange(13.0)
    rt = regtest(rma(y, v, mods=x, method="DL"))
    assert rt.coef_names == ("intrcpt", "mods", "sei")
    assert math.isnan(rt.limit_estimate)
    direct = rma(y, v, mods=np.column_stack([x, np.sqrt(v)]), method="DL")
    assert rt.stat == pytest.approx(direct.coef_stat[2], rel=1e-12)


def test_regtest_knha_uses_t():
    y, v, _ = _input("dat.bcg", "RR")
    rt = regtest(rma(y, v, method="DL", test="knha"))
    assert rt.ddf == 11
    assert "t = " in rt.summary()


def test_regtest_undefined_cases():
    with pytest.raises(ModelError, match="full rank"):
        regtest(rma([0.1, 0.4, 0.2, 0.5], [0.1, 0.1, 0.1, 0.1], method="FE"))
    with pytest.raises(ModelError, match="at least 3"):
        regtest(rma([0.1, 0.4], [0.1, 0.2], method="FE"))
    with pytest.raises(ModelError, match="unknown predictor"):
        regtest(rma([0.1, 0.4, 0.3], [0.1, 0.2, 0.3]), predictor="n")


# ---------------------------------------------------------------------------------
# ranktest and Kendall's exact distribution


@pytest.mark.parametrize("ds,name", _analyses("ranktest"))
def test_ranktest_matches_metafor(ds, name):
    ref = expected(ds)["analyses"][name]["ranktest"]
    y, v, slab = _input(ds, name)
    rt = ranktest(rma(y, v, studies=slab))
    assert_close(rt.tau, ref["tau"], CLOSED, f"{ds}/{name}/ranktest/tau")
    assert_close(rt.pval, ref["pval"], CLOSED, f"{ds}/{name}/ranktest/pval")
    warned = any(
        w["where"] == f"{ds} ranktest" and "Cannot compute exact p-value with ties" in w["message"]
        for w in expected(ds)["warnings"]
    )
    assert rt.exact is not warned
    assert [w.code for w in rt.warnings] == (["ranktest_ties"] if warned else [])
    if warned:
        assert "Cannot compute exact p-value with ties" in rt.warnings[0].message


def test_ranktest_does_not_depend_on_the_tau2_estimator():
    y, v, _ = _input("dat.bcg", "RR")
    a, b = ranktest(rma(y, v, method="REML")), ranktest(rma(y, v, method="FE"))
    assert (a.tau, a.pval) == (b.tau, b.pval)


def _inversions(perm) -> int:
    return sum(1 for i, j in itertools.combinations(range(len(perm)), 2) if perm[i] > perm[j])


@pytest.mark.parametrize("n", range(1, 8))
def test_kendall_counts_are_the_permutation_distribution(n):
    counts = _kendall_counts(n)
    brute = [0] * (n * (n - 1) // 2 + 1)
    for perm in itertools.permutations(range(n)):
        brute[_inversions(perm)] += 1
    assert list(counts) == brute
    assert sum(counts) == math.factorial(n)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=st.integers(3, 60), seed=st.integers(0, 2**31 - 1))
def test_kendall_exact_pvalue_agrees_with_scipy(n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.permutation(n), rng.permutation(n)
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    concordant = int(np.sum(np.triu(sx * sy, 1) > 0))
    ref = stats.kendalltau(x, y, method="exact").pvalue
    assert kendall_exact_pvalue(concordant, n) == pytest.approx(ref, rel=1e-9, abs=1e-300)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    y=st.lists(st.integers(-30, 30), min_size=6, max_size=25),
    seed=st.integers(0, 2**31 - 1),
)
def test_ranktest_normal_approximation_with_ties_agrees_with_scipy(y, seed):
    """Tied variances: tau-b and the tie-corrected variance of S (Kendall 1970)."""
    k = len(y)
    v = np.random.default_rng(seed).choice([0.05, 0.1, 0.2], size=k)
    yy = np.array(y, float) / 10
    assume(np.unique(v).size > 1 and np.unique(yy).size > 2)
    res = rma(yy, v, method="FE")
    rt = ranktest(res)
    w = 1 / v
    ystar = (yy - np.sum(w * yy) / np.sum(w)) / np.sqrt(v - 1 / np.sum(w))
    ref = stats.kendalltau(ystar, v, method="asymptotic", variant="b")
    assert rt.tau == pytest.approx(ref.statistic, rel=1e-10, abs=1e-12)
    if not rt.exact:
        assert rt.pval == pytest.approx(ref.pvalue, rel=1e-8)


def test_ranktest_exact_switch():
    y, v, _ = _input("dat.bcg", "RR")
    res = rma(y, v)
    assert ranktest(res).exact and ranktest(res, exact=None).exact  # k = 13 < 50, no ties
    approx = ranktest(res, exact=False)
    assert not approx.exact and not approx.warnings
    assert approx.tau == ranktest(res).tau


def test_ranktest_undefined_cases():
    with pytest.raises(ModelError, match="without moderators"):
        ranktest(rma([0.1, 0.4, 0.2, 0.5], [0.1, 0.2, 0.3, 0.4], mods=[1, 2, 3, 5]))
    with pytest.raises(ModelError, match="undefined"):
        ranktest(rma([0.1, 0.4, 0.2, 0.5], [0.1, 0.1, 0.1, 0.1]))


# ---------------------------------------------------------------------------------
# trim and fill

_FIT_KEYS = (
    ("estimate", "estimate"),
    ("se", "se"),
    ("zval", "stat"),
    ("pval", "pval"),
    ("ci_lb", "ci_low"),
    ("ci_ub", "ci_high"),
    ("tau2", "tau2"),
    ("tau", "tau"),
    ("se_tau2", "se_tau2"),
    ("I2", "i2"),
    ("H2", "h2"),
    ("QE", "q"),
    ("QEp", "q_pval"),
)
_FIT_STATS = (("logLik", "loglik"), ("deviance", "deviance"), ("AIC", "aic"), ("BIC", "bic"), ("AICc", "aicc"))


def _check_trimfill(tf, ref, tol, atol, where):
    assert tf.estimator == ref["estimator"] and tf.side == ref["side"]
    assert tf.k0 == ref["k0"] and tf.fit.k == ref["k"] and tf.fit.p == ref["p"]
    assert tf.fit.method == ref["method"] and tf.fit.test == ref["test"] and tf.fit.level == ref["level"]
    assert_close(tf.se_k0, ref["se_k0"], CLOSED, where + "/se_k0")
    assert_close(tf.p_k0, ref["p_k0"], CLOSED, where + "/p_k0")
    assert_close(tf.filled_yi, ref["filled_yi"], tol, where + "/filled_yi", atol=atol)
    assert_close(tf.filled_vi, ref["filled_vi"], CLOSED, where + "/filled_vi")
    for key, attr in _FIT_KEYS:
        assert_close(getattr(tf.fit, attr), ref[key], tol, f"{where}/{key}", atol=atol)
    for key, attr in _FIT_STATS:
        assert_close(getattr(tf.fit, attr), ref["fit_stats"][key], tol, f"{where}/fit_stats/{key}", atol=atol)
    n_filled = int(np.sum(tf.filled))
    assert n_filled == tf.k0 == len(tf.filled_yi)
    assert tf.filled_studies == tuple(f"Filled {j + 1}" for j in range(tf.k0))


@pytest.mark.parametrize("ds,name,key", _entries("trimfill"))
def test_trimfill_matches_metafor(ds, name, key):
    ref = expected(ds)["analyses"][name]["trimfill"][key]
    y, v, slab = _input(ds, name)
    res = rma(y, v, method=ref["method"], studies=slab)
    where = f"{ds}/{name}/trimfill/{key}"
    if ref["method"] == "REML":
        tf = trimfill(res, estimator=ref["estimator"], solver="metafor")
        _check_trimfill(tf, ref, CLOSED, 1e-12, where + " (metafor's stopping rule)")
        tf = trimfill(res, estimator=ref["estimator"])
        assert (tf.k0, tf.side, tf.fit.k) == (ref["k0"], ref["side"], ref["k"]), where
        _assert_reml_optimum(tf.fit)
    else:
        tf = trimfill(res, estimator=ref["estimator"])
        _check_trimfill(tf, ref, CLOSED, 1e-12, where)
    if tf.k0 == 0:
        assert tf.fit is res and not tf.warnings
    else:
        assert tf.fit.studies[: len(y)] == tuple(slab)
        assert [w.code for w in tf.warnings] == ["trimfill_filled"]


def test_trimfill_side_can_be_forced():
    y, v, _ = _input("dat.bcg", "RR")
    res = rma(y, v, method="FE")
    left = trimfill(res, side="left")
    assert left.side == "left"
    assert np.all(left.filled_yi < res.estimate + 1e-12) or left.k0 == 0


@st.composite
def funnel(draw, min_k=5, max_k=14):
    k = draw(st.integers(min_k, max_k))
    y = draw(st.lists(st.integers(-300, 300), min_size=k, max_size=k, unique=True))
    v = draw(st.lists(st.integers(2, 80), min_size=k, max_size=k, unique=True))
    return np.array(y) / 100.0, np.array(v) / 100.0


TF_SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@TF_SETTINGS
@given(data=funnel(), method=st.sampled_from(["FE", "DL", "REML"]), estimator=st.sampled_from(["L0", "R0"]))
def test_mirrored_data_fill_the_other_side(data, method, estimator):
    y, v = data
    try:
        a = trimfill(rma(y, v, method=method), estimator=estimator)
        b = trimfill(rma(-y, v, method=method), estimator=estimator)
    except ModelError:
        assume(False)
    assert {a.side, b.side} == {"left", "right"}
    assert a.k0 == b.k0
    assert a.se_k0 == pytest.approx(b.se_k0, rel=1e-12)
    np.testing.assert_allclose(np.sort(a.filled_yi), np.sort(-b.filled_yi), rtol=1e-6, atol=1e-9)
    assert a.estimate == pytest.approx(-b.estimate, rel=1e-6, abs=1e-9)


@TF_SETTINGS
@given(data=funnel(), method=st.sampled_from(["FE", "DL"]), seed=st.integers(0, 2**31 - 1))
def test_trimfill_does_not_depend_on_study_order(data, method, seed):
    y, v = data
    perm = np.random.default_rng(seed).permutation(y.size)
    try:
        a = trimfill(rma(y, v, method=method))
        b = trimfill(rma(y[perm], v[perm], method=method))
    except ModelError:
        assume(False)
    assert (a.k0, a.side) == (b.k0, b.side)
    np.testing.assert_allclose(np.sort(a.filled_yi), np.sort(b.filled_yi), rtol=1e-9, atol=1e-12)
    assert a.estimate == pytest.approx(b.estimate, rel=1e-9, abs=1e-12)


@TF_SETTINGS
@given(
    d=st.lists(st.integers(1, 100), min_size=2, max_size=7, unique=True),
    v=st.lists(st.integers(2, 60), min_size=7, max_size=7, unique=True),
    mu=st.integers(-100, 100),
    method=st.sampled_from(["FE", "DL", "REML"]),
    side=st.sampled_from(["left", "right"]),
)
def test_symmetric_funnel_fills_nothing(d, v, mu, method, side):
    """Mirror pairs mu ± d_j with equal variances: R0 finds no missing study.

    (L0 is not tested on exact mirror pairs: the pairs tie in |y - mu|, metafor breaks
    ties by position, and L0 then counts the positive partner higher, k0 = 1; see
    test_balanced_signed_ranks_fill_nothing_with_l0.)
    """
    dd = np.array(d, float) / 50.0
    vv = np.array(v[: len(d)], float) / 100.0
    y = np.concatenate([mu / 100.0 + dd, mu / 100.0 - dd])
    var = np.concatenate([vv, vv])
    tf = trimfill(rma(y, var, method=method), side=side, estimator="R0")
    assert tf.k0 == 0 and tf.p_k0 == 0.5 and tf.fit.k == y.size


@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_balanced_signed_ranks_fill_nothing_with_l0(method, side):
    """Centred values -4, -1, 2, 3 with equal variances: the estimate is 0 exactly and the
    positive ranks sum to k(k+1)/4 = 5, so L0 = 0 (Duval & Tweedie 2000)."""
    y = np.array([-4.0, -1.0, 2.0, 3.0]) / 10
    tf = trimfill(rma(y, np.full(4, 0.1), method=method), side=side)
    assert tf.k0 == 0 and tf.fit.k == 4 and math.isnan(tf.p_k0)


def test_trimfill_fills_a_truncated_funnel():
    """Remove the small studies with small effects from a symmetric funnel: trim and
    fill finds missing studies on the left and moves the estimate down."""
    se = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
    z = np.array([0.3, -0.3, 1.1, -1.1, 0.7, -0.7, 1.4, -1.4])
    y = 0.5 + z * se
    keep = ~((z < 0) & (se > 0.15))
    res = rma(y[keep], se[keep] ** 2, method="FE")
    tf = trimfill(res)
    assert tf.side == "left" and tf.k0 >= 1
    assert tf.estimate < res.estimate
    assert "missing studies on the left side" in tf.summary()
    frame = tf.to_frame()
    assert frame["filled"].sum() == tf.k0 and len(frame) == res.k + tf.k0


def test_trimfill_undefined_cases():
    with pytest.raises(ModelError, match="without moderators"):
        trimfill(rma([0.1, 0.4, 0.2, 0.5], [0.1, 0.2, 0.3, 0.4], mods=[1, 2, 3, 5]))
    with pytest.raises(ModelError, match="at least 3"):
        trimfill(rma([0.1, 0.4], [0.1, 0.2], method="FE"))
    with pytest.raises(ModelError, match="same standard error"):
        trimfill(rma([0.1, 0.4, 0.2, 0.5], [0.1, 0.1, 0.1, 0.1]))
    with pytest.raises(ModelError, match="side must be"):
        trimfill(rma([0.1, 0.4, 0.2, 0.5], [0.1, 0.2, 0.3, 0.4]), side="up")
    with pytest.raises(ModelError, match="estimator"):
        trimfill(rma([0.1, 0.4, 0.2, 0.5], [0.1, 0.2, 0.3, 0.4]), estimator="Q0")


def test_results_present_themselves():
    y, v, slab = _input("dat.pritz1997", "PLO")
    res = rma(y, v, studies=slab)
    for r in (regtest(res), regtest(res, model="lm"), ranktest(res), trimfill(res)):
        assert r.summary()
        assert len(r.to_frame()) >= 1
        assert r.to_json()
        assert "<pre>" in r._repr_html_()
