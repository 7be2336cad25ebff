"""Case diagnostics against metafor: leave1out, influence, rstandard/rstudent, BLUPs.

Every ``leave1out_*``, ``influence_REML``, ``rstandard_REML`` and ``blup_REML`` entry of
every pairwise reference data set is compared (inputs are the reference yi/vi).
REML-based quantities are iterative (1e-6), common-effect ones closed (1e-8).  The
invariants (hypothesis) cover what metafor does not test: study order, meta-regression
models, and the identity between studentized residuals and a mean-shift outlier model.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from netgrade.errors import ModelError
from netgrade.pairwise import rma
from netgrade.pairwise.influence import blup, influence, leave1out, rstandard, rstudent
from tests.reference import CLOSED, ITERATIVE, assert_close, data_path, expected

PAIRWISE = ["dat.bcg", "dat.normand1999", "dat.pritz1997", "dat.raudenbush1985", "dat.yusuf1985"]
TOL = {"REML": ITERATIVE, "FE": CLOSED}


def _analyses(key: str):
    out = []
    for ds in PAIRWISE:
        for name, a in expected(ds)["analyses"].items():
            if key in a:
                out.append(pytest.param(ds, name, id=f"{ds}-{name}"))
    return out


def _input(ds: str, name: str):
    inp = expected(ds)["analyses"][name]["input"]
    return np.array(inp["yi"], float), np.array(inp["vi"], float), inp["slab"]


def test_every_reference_entry_is_covered():
    """No diagnostic entry in the reference files is left out of the comparisons."""
    known = {"leave1out_REML", "leave1out_FE", "influence_REML", "rstandard_REML", "blup_REML"}
    for ds in PAIRWISE:
        for name, a in expected(ds)["analyses"].items():
            diag = {k for k in a if k.startswith(("leave1out", "influence", "rstandard", "rstudent", "blup"))}
            assert diag <= known, f"{ds}/{name}: untested entries {diag - known}"


# ---------------------------------------------------------------------------------
# metafor reference values


@pytest.mark.parametrize("method", ["REML", "FE"])
@pytest.mark.parametrize("ds,name", _analyses("leave1out_REML"))
def test_leave1out_matches_metafor(ds, name, method):
    ref = expected(ds)["analyses"][name][f"leave1out_{method}"]
    y, v, slab = _input(ds, name)
    res = rma(y, v, method=method, studies=slab)
    loo = leave1out(res)
    tol = TOL[method]
    where = f"{ds}/{name}/leave1out_{method}"
    assert loo.k == len(ref["estimate"])
    assert loo.studies == tuple(slab)
    for key, attr in (
        ("estimate", "estimate"),
        ("se", "se"),
        ("zval", "stat"),
        ("pval", "pval"),
        ("ci_lb", "ci_low"),
        ("ci_ub", "ci_high"),
        ("Q", "q"),
        ("Qp", "q_pval"),
        ("I2", "i2"),
        ("H2", "h2"),
    ):
        # metafor stops at tau² = 5e-14 where the exact optimum is 0 (yusuf1985 table 11
        # without study 17), which is I² = 7e-11 percent: an absolute floor for I²
        atol = 1e-9 if key == "I2" else 1e-12
        assert_close(getattr(loo, attr), ref[key], tol, f"{where}/{key}", atol=atol)
    if method == "FE":
        assert "tau2" not in ref  # metafor drops tau2 for common-effect models
        assert np.all(loo.tau2 == 0.0)
    else:
        assert_close(loo.tau2, ref["tau2"], tol, f"{where}/tau2")
    assert not loo.warnings


@pytest.mark.parametrize("ds,name", _analyses("influence_REML"))
def test_influence_matches_metafor(ds, name):
    ref = expected(ds)["analyses"][name]["influence_REML"]
    y, v, slab = _input(ds, name)
    inf = influence(rma(y, v, method="REML", studies=slab))
    where = f"{ds}/{name}/influence_REML"
    for key, attr in (
        ("rstudent", "rstudent"),
        ("dffits", "dffits"),
        ("cook_d", "cook_d"),
        ("cov_r", "cov_r"),
        ("tau2_del", "tau2_del"),
        ("QE_del", "q_del"),
        ("hat", "hat"),
        ("weight", "weight"),
    ):
        assert_close(getattr(inf, attr), ref[key], ITERATIVE, f"{where}/{key}")
    # metafor's rule for flagging influential studies, applied to the reference values
    k, p = len(y), 1
    flags = (
        (np.abs(ref["dffits"]) > 3 * math.sqrt(p / (k - p)))
        | (stats.chi2.cdf(ref["cook_d"], p) > 0.5)
        | (np.array(ref["hat"]) > 3 * p / k)
        | np.any(np.abs(inf.dfbetas) > 1, axis=1)
    )
    np.testing.assert_array_equal(inf.influential, flags)


@pytest.mark.parametrize("ds,name", _analyses("rstandard_REML"))
def test_rstandard_matches_metafor(ds, name):
    ref = expected(ds)["analyses"][name]["rstandard_REML"]
    y, v, slab = _input(ds, name)
    rs = rstandard(rma(y, v, method="REML", studies=slab))
    where = f"{ds}/{name}/rstandard_REML"
    for key in ("resid", "se", "z"):
        assert_close(getattr(rs, key), ref[key], ITERATIVE, f"{where}/{key}")


@pytest.mark.parametrize("ds,name", _analyses("blup_REML"))
def test_blup_matches_metafor(ds, name):
    ref = expected(ds)["analyses"][name]["blup_REML"]
    y, v, slab = _input(ds, name)
    b = blup(rma(y, v, method="REML", studies=slab))
    where = f"{ds}/{name}/blup_REML"
    for key, attr in (("pred", "pred"), ("se", "se"), ("pi_lb", "pi_low"), ("pi_ub", "pi_high")):
        assert_close(getattr(b, attr), ref[key], ITERATIVE, f"{where}/{key}")


@pytest.mark.parametrize("ds,name", _analyses("influence_REML"))
def test_rstudent_is_the_influence_rstudent(ds, name):
    ref = expected(ds)["analyses"][name]["influence_REML"]
    y, v, slab = _input(ds, name)
    rs = rstudent(rma(y, v, method="REML", studies=slab))
    assert_close(rs.z, ref["rstudent"], ITERATIVE, f"{ds}/{name}/rstudent")
    np.testing.assert_allclose(rs.resid / rs.se, rs.z)


# ---------------------------------------------------------------------------------
# properties


@st.composite
def meta_data(draw, min_k=4, max_k=10):
    """Effects, variances and a moderator on grids (no degenerate floats like 5e-324)."""
    k = draw(st.integers(min_k, max_k))
    y = draw(st.lists(st.integers(-200, 200), min_size=k, max_size=k, unique=True))
    v = draw(st.lists(st.integers(2, 100), min_size=k, max_size=k))
    x = draw(st.lists(st.integers(-50, 50), min_size=k, max_size=k, unique=True))
    return np.array(y) / 100.0, np.array(v) / 100.0, np.array(x) / 50.0


SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=meta_data(), method=st.sampled_from(["FE", "DL", "REML"]), seed=st.integers(0, 2**31 - 1))
def test_study_order_does_not_change_leave1out(data, method, seed):
    y, v, _ = data
    perm = np.random.default_rng(seed).permutation(y.size)
    studies = [f"s{i}" for i in range(y.size)]
    a = leave1out(rma(y, v, method=method, studies=studies))
    b = leave1out(rma(y[perm], v[perm], method=method, studies=[studies[i] for i in perm]))
    # the same set of leave-one-out fits, each attached to the same omitted study
    assert b.studies == tuple(a.studies[i] for i in perm)
    for attr in ("estimate", "se", "tau2", "q", "i2"):
        np.testing.assert_allclose(getattr(a, attr)[perm], getattr(b, attr), rtol=1e-6, atol=1e-9)


@SETTINGS
@given(data=meta_data(), method=st.sampled_from(["FE", "DL", "REML"]))
def test_leave1out_is_the_fit_without_the_study(data, method):
    y, v, _ = data
    loo = leave1out(rma(y, v, method=method))
    for i in (0, y.size - 1):
        keep = np.arange(y.size) != i
        direct = rma(y[keep], v[keep], method=method)
        assert loo.estimate[i] == pytest.approx(direct.estimate, rel=1e-12, abs=1e-14)
        assert loo.tau2[i] == pytest.approx(direct.tau2, rel=1e-12, abs=1e-14)


@SETTINGS
@given(
    data=meta_data(),
    method=st.sampled_from(["FE", "DL", "REML"]),
    test=st.sampled_from(["z", "knha"]),
    with_mod=st.booleans(),
)
def test_rstudent_equals_mean_shift_outlier_model(data, method, test, with_mod):
    """Viechtbauer & Cheung (2010): the studentized deleted residual is the test of a
    dummy for the study (for estimators whose tau² ignores the study under the dummy)."""
    y, v, x = data
    mods = x if with_mod else None
    try:
        res = rma(y, v, mods=mods, method=method, test=test)
    except ModelError:  # e.g. Hartung-Knapp with effects exactly on the regression line
        assume(False)
    rs = rstudent(res)
    for i in (0, y.size // 2):
        d = (np.arange(y.size) == i).astype(float)
        X = np.column_stack([res.X, d])
        try:
            ms = rma(y, v, mods=X, intercept=False, method=method, test=test, coef_names=res.coef_names + ("outlier",))
        except ModelError:
            assert np.isnan(rs.z[i])  # the deleted fit is impossible too
            continue
        assert rs.resid[i] == pytest.approx(ms.coef[-1], rel=1e-6, abs=1e-8)
        assert rs.z[i] == pytest.approx(ms.coef_stat[-1], rel=1e-6, abs=1e-8)


@SETTINGS
@given(data=meta_data(), method=st.sampled_from(["FE", "DL", "REML"]), with_mod=st.booleans())
def test_leverages_sum_to_p_and_weights_to_100(data, method, with_mod):
    y, v, x = data
    with_mod = with_mod and method != "REML"  # REML meta-regression fits are slow in the core
    res = rma(y, v, mods=x if with_mod else None, method=method)
    inf = influence(res)
    assert inf.hat.sum() == pytest.approx(res.p, rel=1e-10)
    assert inf.weight.sum() == pytest.approx(100.0, rel=1e-10)
    assert inf.dfbetas.shape == (y.size, res.p)
    assert np.all(np.isfinite(inf.cook_d)) and np.all(inf.cov_r > 0)


@SETTINGS
@given(data=meta_data(), method=st.sampled_from(["DL", "REML"]))
def test_rstandard_se_closed_form(data, method):
    y, v, _ = data
    res = rma(y, v, method=method)
    rs = rstandard(res)
    h = res.weights / 100.0
    np.testing.assert_allclose(rs.se, np.sqrt((v + res.tau2) * (1 - h)), rtol=1e-10)
    np.testing.assert_allclose(rs.resid, y - res.estimate, rtol=1e-10, atol=1e-13)


@SETTINGS
@given(data=meta_data())
def test_blup_shrinks_towards_the_mean(data):
    y, v, _ = data
    res = rma(y, v, method="REML")
    b = blup(res)
    mu = res.estimate
    assert np.all(np.abs(b.pred - mu) <= np.abs(y - mu) + 1e-12)
    fe = blup(rma(y, v, method="FE"))  # no heterogeneity: the fitted value for every study
    np.testing.assert_allclose(fe.pred, np.full(y.size, rma(y, v, method="FE").estimate), rtol=1e-12)


def test_meta_regression_influence_uses_all_coefficients():
    y, v, slab = _input("dat.bcg", "RR")
    ablat = pd.read_csv(data_path("dat.bcg"))["ablat"].to_numpy(float)
    res = rma(y, v, mods=ablat, method="DL", studies=slab)
    inf = influence(res)
    loo = leave1out(res)
    assert loo.coef.shape == (13, 2)
    # Cook's distance is the Mahalanobis distance of the change in both coefficients
    for i in (0, 3, 7):
        dfb = res.coef - loo.coef[i]
        assert inf.cook_d[i] == pytest.approx(float(dfb @ np.linalg.solve(res.vcov, dfb)), rel=1e-10)
        assert inf.cov_r[i] == pytest.approx(
            np.linalg.det(rma(np.delete(y, i), np.delete(v, i), mods=np.delete(ablat, i), method="DL").vcov)
            / np.linalg.det(res.vcov),
            rel=1e-8,
        )
    with pytest.raises(ModelError, match="one coefficient"):
        loo.estimate  # noqa: B018


def test_knha_leave1out_uses_t():
    y, v, slab = _input("dat.bcg", "RR")
    res = rma(y, v, method="REML", test="knha", studies=slab)
    loo = leave1out(res)
    assert loo.ddf == res.k - 2
    keep = np.arange(res.k) != 0
    direct = rma(y[keep], v[keep], method="REML", test="knha")
    assert loo.ci_low[0] == pytest.approx(direct.ci_low, rel=1e-12)


# ---------------------------------------------------------------------------------
# undefined cases


def test_single_study_is_an_error():
    res = rma([0.5], [0.1], method="FE")
    for f in (leave1out, influence, rstudent):
        with pytest.raises(ModelError, match="at least 2 studies"):
            f(res)


def test_two_studies_random_effects_cannot_be_refitted():
    res = rma([0.1, 0.5], [0.1, 0.2], method="REML")
    with pytest.raises(ModelError, match="cannot be refitted without any one"):
        leave1out(res)


def test_deletion_that_makes_a_moderator_inestimable_gives_missing_values():
    y = np.array([0.1, 0.3, -0.2, 0.5, 0.4, 0.0, 0.2])
    v = np.array([0.05, 0.1, 0.08, 0.2, 0.1, 0.07, 0.1])
    dummy = np.array([0, 0, 0, 0, 0, 0, 1.0])  # only the last study carries the moderator
    res = rma(y, v, mods=dummy, method="DL", studies=list("abcdefg"))
    inf = influence(res)
    assert np.isnan(inf.rstudent[6]) and np.isnan(inf.cook_d[6])
    assert np.all(np.isfinite(inf.rstudent[:6]))
    assert inf.hat[6] == 1.0
    assert inf.influential[6]  # leverage 1 > 3p/k = 6/7
    assert [w.code for w in inf.warnings] == ["deletion_fit_failed"]
    assert inf.warnings[0].studies == ("g",)
    loo = leave1out(res)
    assert np.all(np.isnan(loo.coef[6])) and loo.warnings[0].studies == ("g",)


def test_blup_with_custom_weights_is_an_error():
    res = rma([0.1, 0.5, 0.3], [0.1, 0.2, 0.1], method="REML", weights=[1, 2, 3])
    with pytest.raises(ModelError, match="custom weights"):
        blup(res)


def test_results_present_themselves():
    y, v, slab = _input("dat.bcg", "RR")
    res = rma(y, v, studies=slab)
    for r in (leave1out(res), influence(res), rstandard(res), rstudent(res), blup(res)):
        assert isinstance(r.summary(), str) and r.summary()
        frame = r.to_frame()
        assert len(frame) == 13
        assert r.to_json()
        assert "<pre>" in r._repr_html_()
    assert "Influential studies" in influence(res).summary()
