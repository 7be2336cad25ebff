"""Generalized linear mixed models (netgrade.pairwise.glmm) against metafor's rma.glmm.

Reference: dat.pritz1997, ``rma.glmm(measure = "PLO", xi, ni)`` from metafor 3.8-1,
which calls ``lme4::glmer(nAGQ = 7)``.  Two facts shape these tests:

* Every convention is reproduced exactly: evaluated at the reference's own (mu, tau²)
  every reported key matches to 1e-6 or better (test_pritz_every_key_at_reference_solution).
* The reference is not the exact maximum of its likelihood.  glmer's default optimiser
  (Nelder-Mead, stage 2 of glmer) stops where the score is still 4e-5; our fit is solved
  to a score of ~1e-14 and has a higher log-likelihood (by 1.5e-10).  The fitted
  estimates therefore differ from the reference by up to 1e-5 relative (tau²), and the
  p-value by 5e-5 (test_pritz_fit_matches_reference_to_glmer_precision).  An oracle run
  with tight glmer tolerances would allow the 1e-6 check of the fitted values.

The odds-ratio models are checked against the values in metafor's own test suite and
Stijnen, Hamza & Özdemir (2010, Stat Med 29:3046) for dat.nielweise2007, and by
properties (symmetry, homogeneous data, single studies against scipy's noncentral
hypergeometric distribution).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from netgrade.errors import DataError, ModelError
from netgrade.pairwise.glmm import GLMMResult, _plo_at, _plo_engine, glmm_or, glmm_proportions
from tests.reference import CLOSED, ITERATIVE, assert_close, data_path, expected

REF_KEYS = {
    "estimate": "estimate",
    "se": "se",
    "zval": "z",
    "pval": "pval",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "tau2": "tau2",
    "QE_Wld": "qe_wld",
    "QEp_Wld": "qe_wld_pval",
    "QE_LRT": "qe_lrt",
    "QEp_LRT": "qe_lrt_pval",
    "I2": "i2",
    "H2": "h2",
}
FIT_KEYS = {"logLik": "loglik", "deviance": "deviance", "AIC": "aic", "BIC": "bic", "AICc": "aicc"}

@pytest.fixture(scope="module")
def pritz():
    return pd.read_csv(data_path("dat.pritz1997"))


@pytest.fixture(scope="module")
def ref():
    return expected("dat.pritz1997")["analyses"]["PLO"]["rma_glmm"]


@pytest.fixture(scope="module")
def fit(pritz):
    return glmm_proportions(pritz["xi"], pritz["ni"], studies=pritz["authors"])


def _compare(res: GLMMResult, ref: dict, rtol: float) -> None:
    for key, attr in REF_KEYS.items():
        if ref[key] is None:
            continue
        assert_close(getattr(res, attr), ref[key], rtol, key)
    for key, attr in FIT_KEYS.items():
        assert_close(getattr(res, attr), ref["fit_stats"][key], rtol, key)


# ---------------------------------------------------------------------------------
# dat.pritz1997 against metafor 3.8-1 / lme4


def test_pritz_labels_and_counts(fit, ref):
    assert (fit.model, fit.measure, fit.method) == (ref["model"], ref["measure"], ref["method"])
    assert fit.k == ref["k"] == 14
    assert fit.nagq == 7  # metafor's default nAGQ
    assert fit.studies[0] == "Giannotta et al."


def test_pritz_heterogeneity_tests_closed_form(fit, ref):
    # likelihood-ratio test: common logit against one logit per study (closed form)
    assert_close(fit.qe_lrt, ref["QE_LRT"], CLOSED, "QE_LRT")
    assert_close(fit.qe_lrt_pval, ref["QEp_LRT"], CLOSED, "QEp_LRT")
    # Wald-type test: R's glm stops iterating for the two studies with 100% events,
    # leaving them a weight of ~1e-9 instead of the limit 0 (difference 1.6e-8)
    assert_close(fit.qe_wld, ref["QE_Wld"], ITERATIVE, "QE_Wld")
    assert_close(fit.qe_wld_pval, ref["QEp_Wld"], ITERATIVE, "QEp_Wld")
    assert fit.qe_df == 13


def test_pritz_every_key_at_reference_solution(pritz, ref):
    """All of metafor's conventions (vcov from the joint Hessian, I² from the escalc
    variances with 1/2 added to the 100% studies, logLik from lme4's conditional
    deviance, AIC/BIC/AICc) reproduced at glmer's own (mu, tau²)."""
    at_ref = _plo_at(pritz["xi"], pritz["ni"], ref["estimate"], ref["tau2"])
    _compare(at_ref, ref, ITERATIVE)
    # tighter where no finite-difference Hessian is involved
    for key in ("estimate", "tau2", "I2", "H2", "QE_LRT"):
        assert_close(getattr(at_ref, REF_KEYS[key]), ref[key], CLOSED, key)
    for key in FIT_KEYS:
        assert_close(getattr(at_ref, FIT_KEYS[key]), ref["fit_stats"][key], CLOSED, key)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "the reference is not at the ML optimum: lme4's Nelder-Mead (glmer defaults, not "
        "tightened for the oracle) stopped with a score of 4e-5, so tau² differs by ~1e-5 "
        "relative; our fit has score < 1e-9 and a higher likelihood "
        "(test_pritz_exact_optimum_beats_reference) and every convention matches at the "
        "reference point (test_pritz_every_key_at_reference_solution). Re-run the oracle "
        "with tight glmer tolerances to turn this into a pass."
    ),
)
def test_pritz_fit_matches_reference_to_1e6(fit, ref):
    _compare(fit, ref, ITERATIVE)


def test_pritz_exact_optimum_beats_reference(fit, pritz, ref):
    at_ref = _plo_at(pritz["xi"], pritz["ni"], ref["estimate"], ref["tau2"])
    assert fit.grad_max < 1e-9  # solved to full precision
    assert at_ref.grad_max > 1e-5  # glmer stopped before the score reached 0
    assert fit.loglik_marginal >= at_ref.loglik_marginal
    assert fit.loglik_marginal - at_ref.loglik_marginal < 1e-8


def test_pritz_continuity_correction_recorded(fit):
    (w,) = [w for w in fit.warnings if w.code == "continuity_correction"]
    assert set(w.studies) == {"Tanabe et al.", "Hadeishi et al."}  # 10/10 and 12/12
    assert not any(w.code == "tau2_boundary" for w in fit.warnings)


def test_predict_ilogit(fit):
    z = stats.norm.ppf(0.975)
    pr = fit.predict("ilogit")
    assert pr.pred == pytest.approx(special.expit(fit.estimate), rel=1e-14)
    assert pr.ci_low == pytest.approx(special.expit(fit.ci_low), rel=1e-14)
    assert pr.ci_high == pytest.approx(special.expit(fit.ci_high), rel=1e-14)
    half = z * math.sqrt(fit.se**2 + fit.tau2)
    assert pr.pi_low == pytest.approx(special.expit(fit.estimate - half), rel=1e-14)
    assert pr.pi_high == pytest.approx(special.expit(fit.estimate + half), rel=1e-14)
    raw = fit.predict()
    assert raw.pred == fit.estimate and raw.se == fit.se
    assert fit.predict(level=0.9).pi_high < raw.pi_high


def test_agq_is_the_integral(pritz):
    """The quadrature log-likelihood against direct numerical integration (scipy.quad)."""
    x, n = pritz["xi"].to_numpy(float)[:4], pritz["ni"].to_numpy(float)[:4]  # incl. 16/17 and 4/8
    mu, tau = 1.2, 0.8

    def exact(xi, ni):
        lc = math.lgamma(ni + 1) - math.lgamma(xi + 1) - math.lgamma(ni - xi + 1)

        def f(u):
            eta = mu + tau * u
            return math.exp(lc + xi * eta - ni * math.log1p(math.exp(eta)) - 0.5 * u * u) / math.sqrt(2 * math.pi)

        return math.log(integrate.quad(f, -12, 12, epsabs=0, epsrel=1e-13, limit=200)[0])

    ref = np.array([exact(a, b) for a, b in zip(x, n)])
    for nagq, tol in ((31, 1e-11), (7, 1e-4), (1, 2e-2)):
        got = _plo_engine(x, n, nagq, True).loglik_i(np.array([mu, tau]))
        assert np.max(np.abs(got - ref)) < tol, nagq


# ---------------------------------------------------------------------------------
# dat.nielweise2007 (printed in metafor's documentation) against metafor's test suite
# (tests/testthat/test_misc_rma_glmm.r, test_analysis_example_stijnen2010.r) and
# Stijnen, Hamza & Özdemir (2010) Tables II and III.

NW = dict(
    ai=[0, 1, 2, 0, 5, 1, 1, 1, 1, 1, 0, 0, 3, 6, 0, 0, 1, 4],
    n1i=[116, 44, 208, 130, 151, 98, 174, 74, 97, 113, 66, 70, 188, 187, 118, 252, 345, 64],
    ci=[3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1],
    n2i=[117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69],
)


def _nw(**kw):
    return glmm_or(NW["ai"], NW["n1i"], NW["ci"], NW["n2i"], **kw)


def test_nielweise_cm_el():
    res = _nw(model="CM.EL")
    assert [e.study for e in res.excluded] == ["15"]  # Yucel 2004: 0/118 and 0/105
    assert res.k == 17
    assert res.estimate == pytest.approx(-1.353158, abs=2e-6)  # metafor, 7 digits
    assert res.tau2 == pytest.approx(0.6935, abs=1e-4)
    # metafor: 0.12318-0.12330 across its optimisers (numDeriv Hessian of an integrate() likelihood)
    assert res.se**2 == pytest.approx(0.1232445, rel=3e-4)
    # Stijnen et al. (2010), Table III
    assert round(res.se, 3) == 0.351
    assert round(res.tau, 2) == 0.83
    pr = res.predict("exp")
    assert (round(pr.ci_low, 2), round(pr.ci_high, 2)) == (0.13, 0.51)
    assert res.grad_max < 1e-8


def test_nielweise_common_effect_models():
    assert _nw(model="CM.EL", method="EE").estimate == pytest.approx(-1.2236, abs=1e-4)
    assert _nw(model="CM.EL", method="EE").se ** 2 == pytest.approx(0.0502, abs=1e-4)
    assert _nw(model="UM.FS", method="EE").estimate == pytest.approx(-1.2286, abs=1e-4)
    rs = _nw(model="UM.RS", method="EE")  # glmer with nAGQ = 7 (metafor resets it only for ML)
    assert rs.nagq == 7
    assert rs.estimate == pytest.approx(-1.2207, abs=1e-4)
    assert rs.sigma2 == pytest.approx(0.6155, abs=1e-4)
    assert rs.tau2 == 0.0


def test_nielweise_um_rs():
    res = _nw(model="UM.RS")
    assert res.nagq == 1  # Laplace, as metafor must use for two random effects per study
    assert res.estimate == pytest.approx(-1.2812, abs=1e-4)
    assert res.tau2 == pytest.approx(0.7258, abs=1e-4)
    assert res.sigma2 == pytest.approx(0.5212, abs=1e-4)


def test_nielweise_um_fs():
    # Laplace: glmmTMB (Laplace, nlminb) gives -1.2372 and 0.3312 in metafor's tests
    lap = _nw(model="UM.FS", nagq=1)
    assert lap.estimate == pytest.approx(-1.2372, abs=1e-4)
    assert lap.tau2 == pytest.approx(0.3312, abs=1e-4)
    # 7-point AGQ: glmer reports -1.2370 / 0.3198, but its Nelder-Mead over 19
    # parameters stops early (our profile log-likelihood there is lower by 1.8e-6);
    # the exact optimum is stable in the number of quadrature points
    res = _nw(model="UM.FS")
    assert res.estimate == pytest.approx(-1.2370, abs=1e-3)
    assert res.tau2 == pytest.approx(0.3198, abs=1e-3)
    more = _nw(model="UM.FS", nagq=15)
    assert more.estimate == pytest.approx(res.estimate, abs=1e-7)
    assert more.tau2 == pytest.approx(res.tau2, abs=1e-6)
    assert res.n_par == 17 + 2 and res.k_eff == 34  # study intercepts counted, 2k groups


def test_nielweise_proportions_stijnen_table2():
    for x, n, (est, se, tau2, pred, lo, hi) in (
        (NW["ci"], NW["n2i"], (-3.50, 0.26, 0.81, 0.029, 0.018, 0.048)),
        (NW["ai"], NW["n1i"], (-4.81, 0.36, 0.83, 0.008, 0.004, 0.016)),
    ):
        res = glmm_proportions(x, n)
        pr = res.predict("ilogit")
        assert (round(res.estimate, 2), round(res.se, 2), round(res.tau2, 2)) == (est, se, tau2)
        assert (round(pr.pred, 3), round(pr.ci_low, 3), round(pr.ci_high, 3)) == (pred, lo, hi)


# ---------------------------------------------------------------------------------
# Properties of the odds-ratio models

SMALL = dict(ai=[2, 8, 5, 1, 9], n1i=[40, 60, 45, 30, 70], ci=[6, 12, 9, 5, 11], n2i=[42, 58, 50, 33, 65])


@pytest.mark.parametrize("model", ["UM.FS", "UM.RS", "CM.EL"])
def test_swapping_groups_flips_the_sign(model):
    a = glmm_or(SMALL["ai"], SMALL["n1i"], SMALL["ci"], SMALL["n2i"], model=model)
    b = glmm_or(SMALL["ci"], SMALL["n2i"], SMALL["ai"], SMALL["n1i"], model=model)
    assert b.estimate == pytest.approx(-a.estimate, abs=1e-9)
    assert b.se == pytest.approx(a.se, rel=1e-7)
    assert b.tau2 == pytest.approx(a.tau2, abs=1e-9)
    if model == "UM.RS":
        assert b.sigma2 == pytest.approx(a.sigma2, rel=1e-7)
    else:
        # (metafor's UM.RS saturated model puts the random intercept on group 2, so its
        # heterogeneity tests are not symmetric; those of UM.FS and CM.EL are)
        assert b.qe_wld == pytest.approx(a.qe_wld, rel=1e-9)
        assert b.qe_lrt == pytest.approx(a.qe_lrt, rel=1e-9)


def _conditional_mle(a, n1, c, n2) -> tuple[float, float]:
    """Common-effect conditional MLE of the log odds ratio with scipy's distribution."""
    a, n1, c, n2 = (np.asarray(v) for v in (a, n1, c, n2))

    def negll(t):
        return -np.sum(stats.nchypergeom_fisher.logpmf(a, n1 + n2, n1, a + c, math.exp(t)))

    t = optimize.minimize_scalar(negll, bracket=(-3, 0), tol=1e-12).x
    var = np.sum(stats.nchypergeom_fisher.var(n1 + n2, n1, a + c, math.exp(t)))
    return t, 1.0 / math.sqrt(var)


def test_cm_el_single_study_is_the_conditional_mle():
    res = glmm_or([3], [50], [10], [52], model="CM.EL", method="EE")
    t, se = _conditional_mle([3], [50], [10], [52])
    assert res.estimate == pytest.approx(t, abs=1e-6)
    assert res.se == pytest.approx(se, rel=1e-6)
    assert (res.qe_df, res.qe_wld_pval) == (0, 1.0)
    fs = glmm_or([3], [50], [10], [52], model="UM.FS", method="EE")  # unconditional MLE
    assert fs.estimate == pytest.approx(math.log(3 * 42 / (47 * 10)), abs=1e-10)
    assert fs.se == pytest.approx(math.sqrt(1 / 3 + 1 / 47 + 1 / 10 + 1 / 42), rel=1e-8)


def test_cm_el_common_effect_is_the_conditional_mle():
    res = glmm_or(SMALL["ai"], SMALL["n1i"], SMALL["ci"], SMALL["n2i"], model="CM.EL", method="EE")
    t, se = _conditional_mle(SMALL["ai"], SMALL["n1i"], SMALL["ci"], SMALL["n2i"])
    assert res.estimate == pytest.approx(t, abs=1e-6)
    assert res.se == pytest.approx(se, rel=1e-6)


@pytest.mark.parametrize("model", ["UM.FS", "UM.RS", "CM.EL"])
def test_homogeneous_tables_put_tau2_on_the_boundary(model):
    """Identical tables: tau² = 0 exactly, flagged, and the common-effect fit reproduced."""
    args = ([4, 4, 4, 4], [40, 40, 40, 40], [9, 9, 9, 9], [41, 41, 41, 41])
    res = glmm_or(*args, model=model)
    ee = glmm_or(*args, model=model, method="EE")
    assert res.tau2 == 0.0
    assert "tau2_boundary" in [w.code for w in res.warnings]
    assert res.estimate == pytest.approx(ee.estimate, abs=1e-9)
    assert res.se == pytest.approx(ee.se, rel=1e-6)
    if model == "CM.EL":
        t, _ = _conditional_mle(*args)
        assert res.estimate == pytest.approx(t, abs=1e-6)


# ---------------------------------------------------------------------------------
# Properties of the single-group model (hypothesis; derandomised for determinism)


@st.composite
def proportions(draw):
    k = draw(st.integers(3, 5))
    n = draw(st.lists(st.integers(5, 40), min_size=k, max_size=k))
    x = [draw(st.integers(1, ni - 1)) if i < 2 else draw(st.integers(0, ni)) for i, ni in enumerate(n)]
    perm = draw(st.permutations(range(k)))
    return np.array(x, float), np.array(n, float), list(perm)


PROPS = settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(proportions())
def test_study_order_does_not_change_the_fit(data):
    x, n, perm = data
    a = glmm_proportions(x, n)
    b = glmm_proportions(x[perm], n[perm])
    assert b.estimate == pytest.approx(a.estimate, abs=1e-8)
    assert b.tau2 == pytest.approx(a.tau2, abs=1e-8)
    assert b.se == pytest.approx(a.se, rel=1e-6)
    assert b.loglik == pytest.approx(a.loglik, abs=1e-8)
    assert b.qe_wld == pytest.approx(a.qe_wld, rel=1e-9, abs=1e-12)


@PROPS
@given(proportions())
def test_swapping_events_and_non_events_flips_the_sign(data):
    x, n, _ = data
    a = glmm_proportions(x, n)
    b = glmm_proportions(n - x, n)
    assert b.estimate == pytest.approx(-a.estimate, abs=1e-8)
    assert b.tau2 == pytest.approx(a.tau2, abs=1e-8)
    assert b.se == pytest.approx(a.se, rel=1e-6)
    assert b.qe_lrt == pytest.approx(a.qe_lrt, rel=1e-9, abs=1e-12)
    assert b.i2 == pytest.approx(a.i2, abs=1e-7)


def test_boundary_tau2_is_reported():
    res = glmm_proportions([5, 10, 20], [10, 20, 40])  # identical proportions
    assert res.tau2 == 0.0
    (w,) = [w for w in res.warnings if w.code == "tau2_boundary"]
    assert "boundary" in w.message
    # at tau² = 0 the model is the common-effect logistic model
    ee = glmm_proportions([5, 10, 20], [10, 20, 40], method="EE")
    assert res.se == pytest.approx(ee.se, rel=1e-7) == 1 / math.sqrt(70 * 0.25)
    assert math.isnan(ee.predict().pi_low)
    assert res.i2 == 0.0 and res.h2 == 1.0


# ---------------------------------------------------------------------------------
# Input handling, errors and the result object


def test_invalid_counts_are_located():
    with pytest.raises(DataError) as err:
        glmm_proportions([3, -1, 12], [10, 10, 10], studies=["A", "B", "C"])
    issues = {(i.study, i.column) for i in err.value.issues}
    assert issues == {("B", "xi"), ("C", "xi")}  # negative; more events than participants
    with pytest.raises(DataError):
        glmm_proportions([1.5, 2], [10, 10])
    with pytest.raises(DataError):
        glmm_or([1, 2], [10, 10], [3], [10, 10])


def test_model_errors():
    with pytest.raises(ModelError, match="at least 2 studies"):
        glmm_proportions([3], [10])
    with pytest.raises(ModelError, match="no events"):
        glmm_proportions([0, 0], [10, 12])
    with pytest.raises(ModelError, match="infinite"):
        glmm_proportions([0, 10], [10, 10])  # tau² -> infinity
    with pytest.raises(ModelError, match="unknown model"):
        glmm_or([1, 2], [10, 10], [3, 4], [10, 10], model="BV")
    with pytest.raises(ModelError, match="unknown method"):
        glmm_proportions([1, 2], [10, 10], method="REML")
    with pytest.raises(ModelError, match="nagq"):
        glmm_proportions([1, 2], [10, 10], nagq=0)
    with pytest.raises(ModelError, match="separation"):
        glmm_or([0, 0, 0], [50, 50, 50], [10, 8, 9], [50, 50, 50], model="UM.FS")


def test_exclusions_are_listed():
    res = glmm_proportions([3, 0, 5, 7], [10, 0, 12, 20], studies=["a", "b", "c", "d"])
    assert [(e.study, e.reason) for e in res.excluded] == [("b", "no participants (ni = 0)")]
    assert res.studies == ("a", "c", "d")
    kept = glmm_or([0, 2, 3], [20, 20, 20], [0, 5, 6], [20, 20, 20], model="CM.EL", method="EE", drop00=True)
    assert [e.study for e in kept.excluded] == ["1"] and "drop00" in kept.excluded[0].reason


def test_result_object(fit):
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.tau2 = 0.0  # type: ignore[misc]
    d = json.loads(fit.to_json())
    assert d["tau2"] == fit.tau2 and d["qe_lrt"] == fit.qe_lrt
    assert d["warnings"][0]["code"] == "continuity_correction"
    text = fit.summary()
    for piece in ("7-point adaptive Gauss-Hermite", "tau² = 0.5893", "I² = 67.79%", "Summary proportion: 0.7984"):
        assert piece in text
    assert list(fit.to_frame().columns) == ["estimate", "se", "z", "pval", "ci_low", "ci_high"]
    assert "<table" in fit._repr_html_()
    assert fit.stat == fit.z and fit.tau == pytest.approx(math.sqrt(fit.tau2))


def test_deterministic(pritz):
    a = glmm_proportions(pritz["xi"], pritz["ni"])
    b = glmm_proportions(pritz["xi"], pritz["ni"])
    assert a.to_json() == b.to_json()
