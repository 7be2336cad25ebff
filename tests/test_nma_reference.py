"""Network meta-analysis against netmeta 3.3-1 and metafor's rma.mv.

Closed forms (common effect, generalised DerSimonian-Laird) are compared with netmeta
to a relative 1e-8; REML and ML with metafor's rma.mv to a relative 1e-5 (rma.mv's
optimiser was not tightened: at dat.hasselblad1998 REML its tau² sits 1e-6 from the
maximum).  Matrices are compared entry by entry, mapping treatments by name.
"""

from __future__ import annotations

import numpy as np
import pytest

from netgrade.network import nma
from tests.nma_data import NETWORKS, network
from tests.reference import CLOSED, assert_close, expected

LIKELIHOOD = 1e-5


def _fit(ds, method, **kw):
    return nma(network(ds), reference=expected(ds)["reference"], method=method, **kw)


def _reorder(lg, order):
    idx = [lg.treatments.index(t) for t in order]
    return np.ix_(idx, idx)


def _matrix(values):
    return [[np.nan if v is None else v for v in row] for row in values]


def _cmp_matrix(ours, ref, rtol, where, atol=1e-12, diagonal=True):
    ref = np.array(_matrix(ref), float)
    ours = np.asarray(ours, float)
    mask = np.isfinite(ref)
    if not diagonal:
        mask &= ~np.eye(ref.shape[0], dtype=bool)
    assert_close(ours[mask].tolist(), ref[mask].tolist(), rtol, where, atol=atol)


# --- netmeta: generalised DL and the common-effect model ------------------------


@pytest.mark.parametrize("ds", NETWORKS)
def test_netmeta_dl_heterogeneity_and_q_split(ds):
    ref = expected(ds)["netmeta"]["DL"]
    res = _fit(ds, "DL")
    assert res.k == ref["k"] and res.n_contrasts == ref["m"] and res.n_treatments == ref["n"] and res.n_designs == ref["d"]
    assert_close(res.tau2, ref["tau2"], CLOSED, "tau2")
    assert_close(res.tau, ref["tau"], CLOSED, "tau")
    assert_close(res.i2 / 100, ref["I2"], CLOSED, "I2")
    assert_close(res.i2_ci_low / 100, ref["lower_I2"], CLOSED, "lower_I2")
    assert_close(res.i2_ci_high / 100, ref["upper_I2"], CLOSED, "upper_I2")
    for ours, theirs in (("q", "Q"), ("q_within", "Q_heterogeneity"), ("q_between", "Q_inconsistency")):
        assert_close(getattr(res, ours), ref[theirs], CLOSED, theirs)
        assert getattr(res, ours.replace("q", "q") + "_df") == ref["df_" + theirs]
        assert_close(getattr(res, ours + "_pval"), ref["pval_" + theirs], CLOSED, "pval_" + theirs)
    decomp = ref["decomp_design"]["Q_decomp"]
    assert_close([res.q, res.q_within, res.q_between], decomp["Q"], CLOSED, "Q_decomp")
    assert [res.q_df, res.q_within_df, res.q_between_df] == decomp["df"]


@pytest.mark.parametrize("ds", NETWORKS)
def test_netmeta_within_design_q(ds):
    ref = expected(ds)["netmeta"]["DL"]["decomp_design"]["Q_het_design"]
    res = _fit(ds, "DL")
    ours = {frozenset(d.design.split(":")): d for d in res.design_q}
    assert len(ours) == len(ref["design"])
    for label, q, df, p in zip(ref["design"], ref["Q"], ref["df"], ref["pval"]):
        d = ours[frozenset(label.split(":"))]
        assert_close(d.q, q, CLOSED, f"Q_het_design[{label}]")
        assert d.df == df
        assert_close(d.pval, p, CLOSED, f"pval[{label}]")


@pytest.mark.parametrize("ds", NETWORKS)
@pytest.mark.parametrize("kind", ["common", "random"])
def test_netmeta_effects_and_league(ds, kind):
    ref = expected(ds)["netmeta"]["DL"]
    res = _fit(ds, "DL")
    fit = res.common if kind == "common" else res
    order = ref["treatments"]
    lg = fit.league()
    ix = _reorder(lg, order)
    league = ref[f"league_{kind}"]
    _cmp_matrix(lg.est[ix], league["TE"], CLOSED, f"league_{kind}/TE")
    _cmp_matrix(lg.se[ix], league["seTE"], CLOSED, f"league_{kind}/seTE")
    _cmp_matrix(lg.ci_low[ix], league["lower"], CLOSED, f"league_{kind}/lower")
    _cmp_matrix(lg.ci_high[ix], league["upper"], CLOSED, f"league_{kind}/upper")
    _cmp_matrix(lg.pval[ix], league["pval"], CLOSED, f"league_{kind}/pval", diagonal=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        _cmp_matrix((lg.est / lg.se)[ix], league["statistic"], CLOSED, f"league_{kind}/statistic", diagonal=False)
    vs = ref[f"{kind}_vs_reference"]
    eff = fit.effects().set_index("treatment").loc[vs["treatment"]]
    assert_close(eff["estimate"].tolist(), vs["TE"], CLOSED, "TE vs reference")
    assert_close(eff["se"].tolist(), vs["seTE"], CLOSED, "seTE vs reference")
    assert_close(eff["ci_low"].tolist(), vs["lower"], CLOSED, "lower vs reference")
    assert_close(eff["ci_high"].tolist(), vs["upper"], CLOSED, "upper vs reference")
    assert_close([None if t == res.reference else p for t, p in zip(vs["treatment"], eff["pval"])], vs["pval"], CLOSED, "pval")


@pytest.mark.parametrize("ds", NETWORKS)
def test_netmeta_prediction_intervals(ds):
    ref = expected(ds)["netmeta"]["DL"]["predict"]
    res = _fit(ds, "DL")
    lg = res.league()
    ix = _reorder(lg, expected(ds)["netmeta"]["DL"]["treatments"])
    _cmp_matrix(lg.pi_low[ix], ref["lower"], CLOSED, "predict/lower", diagonal=False)
    _cmp_matrix(lg.pi_high[ix], ref["upper"], CLOSED, "predict/upper", diagonal=False)
    _cmp_matrix(np.sqrt(lg.se**2 + res.tau2)[ix], ref["seTE"], CLOSED, "predict/seTE")


@pytest.mark.parametrize("ds", NETWORKS)
def test_netmeta_multiarm_adjusted_standard_errors(ds):
    """netmeta's seTE.adj: the pairwise standard errors that, used as independent,
    give the same fit as the multi-arm covariance (Rücker 2012)."""
    from netgrade.network._engine import _project  # noqa: F401  (documents the method)

    ref = expected(ds)["netmeta"]["DL"]["input"]
    res = _fit(ds, "DL")
    pairs = res.data.pairs()
    for key in ("TE", "seTE"):
        for s, t1, t2, value in zip(ref["studlab"], ref["treat1"], ref["treat2"], ref[key]):
            row = pairs[(pairs.study == str(s)) & (((pairs.treat1 == t1) & (pairs.treat2 == t2)) | ((pairs.treat1 == t2) & (pairs.treat2 == t1)))]
            assert len(row) == 1
            sign = 1.0 if (key == "seTE" or row.treat1.iloc[0] == t1) else -1.0
            assert_close(sign * row[key].iloc[0], value, CLOSED, f"input/{key}/{s}/{t1}:{t2}")


# --- metafor's rma.mv: common effect, REML and ML -------------------------------


def _check_metafor(res, ref, tol, where, fit_stats=True):
    idx = [res.treatments.index(t) for t in ref["coef_names"]]
    theta = res.treatment_effects()
    C = res.treatment_covariance()
    assert_close(theta[idx].tolist(), ref["estimate"], tol, where + "/estimate", atol=1e-9)
    assert_close(np.sqrt(np.diag(C))[idx].tolist(), ref["se"], tol, where + "/se")
    assert_close(C[np.ix_(idx, idx)].tolist(), ref["vcov"], tol, where + "/vcov", atol=1e-12)
    if "tau2" in ref:
        assert_close(res.tau2, ref["tau2"], tol, where + "/tau2", atol=1e-9)
    assert_close(res.q, ref["QE"], CLOSED if res.multiarm == "baseline" or where.startswith("dat.senn") or where.startswith("dat.hassel") else 1e-8, where + "/QE")
    assert res.q_df == ref["QE_df"]
    if "QM" in ref:
        assert_close(res.qm, ref["QM"], tol, where + "/QM")
        assert_close(res.qm_pval, ref["QMp"], tol, where + "/QMp")
        assert res.qm_df == len(ref["coef_names"])
    if fit_stats:
        for key, attr in (("logLik", "loglik"), ("deviance", "deviance"), ("AIC", "aic"), ("BIC", "bic"), ("AICc", "aicc")):
            assert_close(getattr(res, attr), ref["fit_stats"][key], tol, f"{where}/fit_stats/{key}")
    lg = res.league(pi="z")
    league = ref["league"]
    ix = _reorder(lg, league["treatments"])
    scale = float(np.max(np.abs(lg.se)))
    for ours, theirs in (("est", "est"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
        _cmp_matrix(getattr(lg, ours)[ix], league[theirs], tol, f"{where}/league/{theirs}", atol=tol * scale)
    _cmp_matrix(lg.pval[ix], league["pval"], tol, f"{where}/league/pval", atol=1e-12, diagonal=False)


@pytest.mark.parametrize("ds", NETWORKS)
@pytest.mark.parametrize("key,method", [("FE", "FE"), ("RE_REML", "REML"), ("RE_ML", "ML")])
def test_metafor_rma_mv(ds, key, method):
    ref = expected(ds)["metafor"][key]
    # rounded multi-arm contrasts (linde): metafor reduces each study to its contrasts
    # against the first arm; multiarm="baseline" does the same for the common-effect fit
    # metafor's REML constant 1/2 log|X'X| depends on which arm is each multi-arm
    # study's baseline: the first in the data set's treatment order, which `order`
    # reproduces (hasselblad's is not alphabetical)
    res = _fit(ds, method, multiarm="baseline", order=expected(ds)["metafor"]["treatments"])
    tol = CLOSED if method == "FE" else LIKELIHOOD
    _check_metafor(res, ref, tol, f"{ds}/{key}")


@pytest.mark.parametrize("ds", ["dat.hasselblad1998", "dat.senn2013"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_netmeta_likelihood_fits_on_arm_data(ds, method):
    """With arm-level input netmeta's REML/ML agree with rma.mv; so do we."""
    ref = expected(ds)["netmeta"][method]
    res = _fit(ds, method)
    assert_close(res.tau2, ref["tau2"], LIKELIHOOD, "tau2")
    lg = res.league()
    ix = _reorder(lg, ref["treatments"])
    scale = float(np.max(lg.se))
    _cmp_matrix(lg.est[ix], ref["league_random"]["TE"], LIKELIHOOD, "TE", atol=LIKELIHOOD * scale)
    _cmp_matrix(lg.se[ix], ref["league_random"]["seTE"], LIKELIHOOD, "seTE")
    _cmp_matrix(lg.pi_low[ix], ref["predict"]["lower"], LIKELIHOOD, "predict/lower", atol=LIKELIHOOD * scale, diagonal=False)


def test_linde_reml_uses_the_multiarm_covariance_netmeta_ignores():
    """netmeta's REML on contrast-level input ignores the covariance of a multi-arm
    study's contrasts (tau² 0.0307); metafor's rma.mv, with it, finds 0.0183.  We must
    agree with metafor, and differ from netmeta by that margin."""
    res = _fit("dat.linde2016", "REML")
    metafor = expected("dat.linde2016")["metafor"]["RE_REML"]["tau2"]
    netmeta = expected("dat.linde2016")["netmeta"]["REML"]["tau2"]
    assert res.tau2 == pytest.approx(metafor, rel=LIKELIHOOD)
    assert res.tau2 == pytest.approx(0.0183, abs=5e-5)
    assert netmeta == pytest.approx(0.0307, abs=5e-5)
    assert abs(res.tau2 - netmeta) > 0.01


def test_reml_is_at_the_maximum_metafor_approaches():
    """hasselblad REML: rma.mv stopped at 0.45022962; the score is zero at ours."""
    from netgrade.network import _engine

    res = _fit("dat.hasselblad1998", "REML")
    design = _engine.Design(res.data, res.reference)
    f = _engine.fit(design, res.tau2, y_fixed=design.raw())
    assert abs(f.rWSWr - f.trace_PS) < 1e-10 * f.trace_PS
    assert res.tau2 == pytest.approx(expected("dat.hasselblad1998")["metafor"]["RE_REML"]["tau2"], rel=2e-6)


def test_treatment_order_sets_tables_not_estimates():
    ds = "dat.hasselblad1998"
    order = ["grp_counseling", "self_help", "no_contact", "ind_counseling"]
    a = _fit(ds, "REML", order=order)
    b = _fit(ds, "REML")
    assert a.treatments == ("no_contact", "grp_counseling", "self_help", "ind_counseling")
    ix = _reorder(b.league(), a.treatments)
    np.testing.assert_allclose(a.league().est, b.league().est[ix], atol=1e-10)
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-10)
    with pytest.raises(Exception, match="missing: ind_counseling"):
        _fit(ds, "DL", order=order[:3])
