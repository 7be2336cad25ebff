"""The pairwise engine against metafor: every estimator, test, interval and fit statistic.

Inputs are the reference yi/vi so that these tests isolate the model from the effect
size code (tested in test_effect_sizes.py).  Closed-form estimators are compared to a
relative 1e-8, iterative ones (and everything that depends on them) to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netgrade.pairwise import rma
from tests.reference import CLOSED, ITERATIVE, assert_close, data_path, expected

PAIRWISE = ["dat.bcg", "dat.normand1999", "dat.pritz1997", "dat.raudenbush1985", "dat.yusuf1985"]
ITERATIVE_METHODS = {"ML", "REML", "EB", "PM", "PMM"}


def _analyses():
    for ds in PAIRWISE:
        for name, a in expected(ds)["analyses"].items():
            if "rma" in a:
                yield ds, name


def _fits():
    for ds, name in _analyses():
        a = expected(ds)["analyses"][name]
        for test_key in ("rma", "rma_knha"):
            for method, ref in a.get(test_key, {}).items():
                if ref.get("estimate") is None:
                    continue  # metafor failed here; covered by test_normand_reml_where_metafor_fails
                yield pytest.param(ds, name, test_key, method, id=f"{ds}-{name}-{test_key}-{method}")


def _tol(method: str) -> float:
    return ITERATIVE if method in ITERATIVE_METHODS else CLOSED


def _input(ds: str, name: str):
    inp = expected(ds)["analyses"][name]["input"]
    return np.array(inp["yi"], float), np.array(inp["vi"], float), inp["slab"]


@pytest.mark.parametrize("ds,name,test_key,method", list(_fits()))
def test_rma_matches_metafor(ds, name, test_key, method):
    ref = expected(ds)["analyses"][name][test_key][method]
    y, v, slab = _input(ds, name)
    res = rma(y, v, method=method, test="knha" if test_key == "rma_knha" else "z", studies=slab)
    tol = _tol(method)
    where = f"{ds}/{name}/{test_key}/{method}"
    assert res.k == ref["k"] and res.p == ref["p"]
    assert_close(res.estimate, ref["estimate"], tol, where + "/estimate")
    assert_close(res.se, ref["se"], tol, where + "/se")
    assert_close(res.stat, ref["zval"], tol, where + "/zval")
    assert_close(res.pval, ref["pval"], tol, where + "/pval")
    assert_close(res.ci_low, ref["ci_lb"], tol, where + "/ci_lb")
    assert_close(res.ci_high, ref["ci_ub"], tol, where + "/ci_ub")
    assert_close(res.tau2, ref["tau2"], tol, where + "/tau2")
    assert_close(res.tau, ref["tau"], tol, where + "/tau")
    assert_close(res.se_tau2, ref["se_tau2"], tol, where + "/se_tau2")
    assert_close(res.i2, ref["I2"], tol, where + "/I2")
    assert_close(res.h2, ref["H2"], tol, where + "/H2")
    assert_close(res.q, ref["QE"], CLOSED, where + "/QE")
    assert_close(res.q_pval, ref["QEp"], CLOSED, where + "/QEp")
    assert res.q_df == ref["QE_df"]
    if "ddf" in ref:
        assert res.ddf == ref["ddf"]
    for key, attr in (("logLik", "loglik"), ("deviance", "deviance"), ("AIC", "aic"), ("BIC", "bic"), ("AICc", "aicc")):
        assert_close(getattr(res, attr), ref["fit_stats"][key], tol, f"{where}/fit_stats/{key}")
    assert_close(res.weights, ref["weights_pct"], tol, where + "/weights_pct")
    pr = res.predict()
    pref = ref["predict"]
    assert_close(pr.pred[0], pref["pred"], tol, where + "/predict/pred")
    assert_close(pr.se[0], pref["se"], tol, where + "/predict/se")
    assert_close(pr.ci_low[0], pref["ci_lb"], tol, where + "/predict/ci_lb")
    assert_close(pr.ci_high[0], pref["ci_ub"], tol, where + "/predict/ci_ub")
    if "pi_lb" in pref:
        assert_close(pr.pi_low[0], pref["pi_lb"], tol, where + "/predict/pi_lb")
        assert_close(pr.pi_high[0], pref["pi_ub"], tol, where + "/predict/pi_ub")
    _check_confint(res, ref, tol, where)


def _metafor_capped_upper(res, cref) -> bool:
    """metafor searches the Q-profile upper bound only up to max(100, 10 * tau²-hat)
    (its ``tau2.max``) and reports the cap when the root lies beyond it."""
    cap = max(100.0, 10.0 * res.tau2)
    return abs(cref["tau2"]["ci_ub"] - cap) <= 1e-9 * cap


def _check_confint(res, ref, tol, where):
    from scipy import stats

    from netgrade.pairwise._gls import q_statistic

    for kind in ("QP", "PL"):
        cref = ref.get(f"confint_{kind}")
        if cref is None:
            continue
        ci = res.confint(kind)
        capped = kind == "QP" and _metafor_capped_upper(res, cref)
        if capped:
            # Be right where metafor is not: our bound is the root of Q = chi2(alpha/2).
            crit = stats.chi2.ppf((1 - res.level) / 2, res.q_df)
            assert q_statistic(np.asarray(res.yi), np.asarray(res.vi), np.asarray(res.X), ci.tau2.ci_high) == pytest.approx(crit, rel=1e-10)
            assert ci.tau2.ci_high > cref["tau2"]["ci_ub"]
        near0 = cref["tau2"]["estimate"] < 1e-12  # see the tau/I² note in the metareg test
        for par, attr in (("tau2", "tau2"), ("tau", "tau"), ("I2", "i2"), ("H2", "h2")):
            got = getattr(ci, attr)
            atol = {"tau": 1e-6, "I2": 1e-8}.get(par, 1e-12) if near0 else 1e-12
            assert_close(got.estimate, cref[par]["estimate"], tol, f"{where}/confint_{kind}/{par}/estimate", atol=atol)
            assert_close(got.ci_low, cref[par]["ci_lb"], ITERATIVE, f"{where}/confint_{kind}/{par}/ci_lb")
            if not capped:
                assert_close(got.ci_high, cref[par]["ci_ub"], ITERATIVE, f"{where}/confint_{kind}/{par}/ci_ub")


def test_qprofile_upper_bound_beyond_metafor_cap():
    """dat.normand1999 MD: metafor reports 10 * tau²-hat as the upper Q-profile bound for
    DL, HS and HSk (its search cap) but the root, 2889.45, for the other estimators.
    The interval does not depend on the estimator, so ours is the same for all."""
    ref = expected("dat.normand1999")["analyses"]["MD"]["rma"]
    y, v, _ = _input("dat.normand1999", "MD")
    root = ref["PM"]["confint_QP"]["tau2"]["ci_ub"]
    for method in ("DL", "HS", "HSk", "PM", "HE"):
        res = rma(y, v, method=method)
        assert res.confint().tau2.ci_high == pytest.approx(root, rel=1e-9)
    assert ref["DL"]["confint_QP"]["tau2"]["ci_ub"] == pytest.approx(10 * ref["DL"]["tau2"], rel=1e-12)


def test_normand_reml_where_metafor_fails():
    """metafor's Fisher scoring does not converge for REML on dat.normand1999 MD (the
    reference records the error): its tightened control stops on an absolute change of
    1e-13, but at tau² = 684.6 the spacing of doubles is 1.1e-13, so the rule can never
    be met.  netgrade stops on a relative change and solves the score equation by
    bracketing; check the answer is the maximum of the restricted likelihood."""
    from scipy import optimize

    from netgrade.pairwise.tau2 import log_likelihood

    data = expected("dat.normand1999")
    a = data["analyses"]["MD"]
    assert a["rma"]["REML"].get("estimate") is None and a["rma_knha"]["REML"].get("estimate") is None
    assert any("did not converge" in w["message"] for w in data["warnings"])
    y, v, _ = _input("dat.normand1999", "MD")
    res = rma(y, v, method="REML")
    knha = rma(y, v, method="REML", test="knha")
    assert knha.tau2 == res.tau2 and knha.ddf == len(y) - 1
    X = np.ones((len(y), 1))
    opt = optimize.minimize_scalar(
        lambda t: -log_likelihood(y, v, X, t, True), bounds=(0, 10 * np.var(y)), method="bounded", options={"xatol": 1e-10}
    )
    assert res.tau2 == pytest.approx(opt.x, rel=1e-6)
    assert log_likelihood(y, v, X, res.tau2, True) >= -opt.fun - 1e-12
    assert res.tau2 > 0
    assert np.spacing(res.tau2) > 1e-13  # why metafor's absolute threshold cannot be met
    assert not [w for w in res.warnings if w.code == "tau2_solver"]


# --- meta-regression ---------------------------------------------------------------


def _covariates(ds: str) -> pd.DataFrame:
    df = pd.read_csv(data_path(ds))
    if ds == "dat.raudenbush1985":
        df["weeks.c"] = np.minimum(df["weeks"], 3)
    return df


def _metareg_cases():
    for ds, name in _analyses():
        mr = expected(ds)["analyses"][name].get("metareg", {})
        for term, spec in mr.items():
            for key in spec:
                if key in ("formula", "newmods"):
                    continue
                yield pytest.param(ds, name, term, key, id=f"{ds}-{name}-{term}-{key}")


@pytest.mark.parametrize("ds,name,term,key", list(_metareg_cases()))
def test_metaregression_matches_metafor(ds, name, term, key):
    spec = expected(ds)["analyses"][name]["metareg"][term]
    ref = spec[key]
    method, _, test = key.partition("_")
    formula = spec["formula"].replace("weeks.c", "weeks.c")
    y, v, slab = _input(ds, name)
    res = rma(y, v, mods=formula, data=_covariates(ds), method=method, test=test or "z", studies=slab)
    tol = _tol(method)
    where = f"{ds}/{name}/metareg/{term}/{key}"
    assert list(res.coef_names) == ref["coef_names"], where
    for ours, theirs in (
        ("coef", "beta"),
        ("coef_se", "se"),
        ("coef_stat", "zval"),
        ("coef_pval", "pval"),
        ("coef_ci_low", "ci_lb"),
        ("coef_ci_high", "ci_ub"),
    ):
        assert_close(getattr(res, ours), ref[theirs], tol, f"{where}/{theirs}")
    assert_close(res.vcov, ref["vcov"], tol, where + "/vcov")
    assert_close(res.qm, ref["QM"], tol, where + "/QM")
    assert_close(res.qm_pval, ref["QMp"], tol, where + "/QMp")
    assert list(res.qm_df) == ref["QMdf"], where
    assert_close(res.r2, ref["R2"], tol, where + "/R2")
    for k_ours, k_ref in (("tau2", "tau2"), ("se_tau2", "se_tau2"), ("h2", "H2"), ("q", "QE"), ("q_pval", "QEp")):
        assert_close(getattr(res, k_ours), ref[k_ref], tol, f"{where}/{k_ref}")
    if ref["tau2"] < 1e-12:
        # metafor's Fisher scoring stops a hair above the boundary (tau² ~ 1e-15), where
        # the maximum is at 0: tau = sqrt(tau²) and I² (percent) differ only in
        # absolute terms, by amounts of the size of that stopping error.
        assert res.tau <= 1e-6, where
        assert_close(res.i2, ref["I2"], tol, f"{where}/I2", atol=1e-8)
    else:
        assert_close(res.tau, ref["tau"], tol, f"{where}/tau")
        assert_close(res.i2, ref["I2"], tol, f"{where}/I2")
    assert res.q_df == ref["QE_df"]
    for k_ref, attr in (("logLik", "loglik"), ("deviance", "deviance"), ("AIC", "aic"), ("BIC", "bic"), ("AICc", "aicc")):
        assert_close(getattr(res, attr), ref["fit_stats"][k_ref], tol, f"{where}/fit_stats/{k_ref}")
    assert_close(res.weights, ref["weights_pct"], tol, where + "/weights_pct")
    newmods = spec.get("newmods")
    pr = res.predict(newmods) if newmods is not None else res.predict()
    pref = ref["predict"]
    for ours, theirs in (("pred", "pred"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
        if theirs in pref:
            assert_close(getattr(pr, ours), pref[theirs], tol, f"{where}/predict/{theirs}")
    _check_confint(res, ref, tol, where)


def test_custom_weights_common_effect():
    """rma(yi, vi, weights = ni, method = 'EE') on raw proportions with zero variances."""
    ref = expected("dat.pritz1997")["analyses"]["PR_EE_weights_ni"]
    df = pd.read_csv(data_path("dat.pritz1997"))
    y = (df["xi"] / df["ni"]).to_numpy(float)
    v = y * (1 - y) / df["ni"].to_numpy(float)
    res = rma(y, v, weights=df["ni"].to_numpy(float), method="EE")
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("stat", "zval"), ("pval", "pval"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        assert_close(getattr(res, ours), ref[theirs], CLOSED, theirs)
    assert_close(res.weights, ref["weights_pct"], CLOSED, "weights_pct")
    assert res.q_df == ref["QE_df"]
    for ours, theirs in (("q", "QE"), ("i2", "I2"), ("h2", "H2"), ("loglik", "logLik")):
        assert_close(getattr(res, ours), ref[theirs] if theirs != "logLik" else ref["fit_stats"]["logLik"], CLOSED, theirs)


def test_back_transformed_prediction():
    """predict(res, transf = transf.ilogit) for the REML fit of logit proportions."""
    ref = expected("dat.pritz1997")["analyses"]["PLO"]["predict_REML_ilogit"]
    y, v, slab = _input("dat.pritz1997", "PLO")
    pr = rma(y, v, method="REML", measure="PLO").predict(transform="ilogit")
    for ours, theirs in (("pred", "pred"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
        assert_close(getattr(pr, ours)[0], ref[theirs], ITERATIVE, theirs)
    # the measure name works as well as the transformation's name
    by_measure = rma(y, v, method="REML").predict(transform="PLO")
    assert by_measure.pred[0] == pr.pred[0]


def test_metafor_solver_reproduces_default_stopping_and_exact_is_the_optimum():
    """solver='metafor' stops Fisher scoring as metafor's defaults do (change <= 1e-5);
    the default solver is at the REML optimum, which the metafor rule only approaches."""
    from netgrade.pairwise._gls import gls

    y, v, _ = _input("dat.bcg", "RR")
    exact = rma(y, v, method="REML")
    default = rma(y, v, method="REML", solver="metafor")
    assert default.solver == "metafor" and exact.solver == "exact"
    assert abs(default.tau2 - exact.tau2) <= 1e-5 * 10
    f = gls(y, v + exact.tau2, np.ones((len(y), 1)))
    assert abs(f.yPPy - f.trace_P) < 1e-12 * f.trace_P
    assert default.refit(method="ML").solver == "metafor"
    with pytest.raises(Exception, match="unknown solver"):
        rma(y, v, solver="fast")
