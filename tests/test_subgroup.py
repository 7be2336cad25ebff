"""Subgroup analysis: both tau² conventions against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netgrade.errors import DataError, ModelError
from netgrade.pairwise import rma
from netgrade.pairwise.subgroup import subgroup_analysis
from tests.reference import CLOSED, ITERATIVE, assert_close, data_path, expected


def _bcg():
    a = expected("dat.bcg")["analyses"]["RR"]
    df = pd.read_csv(data_path("dat.bcg"))
    return np.array(a["input"]["yi"]), np.array(a["input"]["vi"]), a["input"]["slab"], df


def test_common_tau2_reproduces_metafor_factor_metaregression():
    """With a pooled tau², the test for subgroup differences is metafor's QM for
    ~factor(alloc) and each subgroup estimate is the model's prediction for it."""
    y, v, slab, df = _bcg()
    ref = expected("dat.bcg")["analyses"]["RR"]["metareg"]["alloc"]["REML"]
    res = subgroup_analysis(y, v, df["alloc"], method="REML", tau2="common", studies=slab)
    assert res.groups == ("alternate", "random", "systematic")
    assert_close(res.q_between, ref["QM"], ITERATIVE, "QM")
    assert_close(res.q_between_pval, ref["QMp"], ITERATIVE, "QMp")
    assert res.q_between_df == 2
    pred = np.array(ref["predict"]["pred"])
    se = np.array(ref["predict"]["se"])
    for g, fit in zip(res.groups, res.fits):
        rows = np.flatnonzero(df["alloc"].to_numpy() == g)
        assert_close(fit.estimate, pred[rows[0]], ITERATIVE, f"{g}/estimate")
        assert_close(fit.se, se[rows[0]], ITERATIVE, f"{g}/se")
        assert fit.tau2 == pytest.approx(ref["tau2"], rel=1e-6)


def test_separate_tau2_between_q_is_common_effect_q_of_subgroup_estimates():
    y, v, slab, df = _bcg()
    res = subgroup_analysis(y, v, df["alloc"], method="DL", studies=slab)
    est = np.array([f.estimate for f in res.fits])
    se = np.array([f.se for f in res.fits])
    fe = rma(est, se**2, method="FE")
    assert_close(res.q_between, fe.q, CLOSED, "Q_between")
    assert_close(res.q_between_pval, fe.q_pval, CLOSED, "p")
    for g, fit in zip(res.groups, res.fits):
        idx = df["alloc"].to_numpy() == g
        direct = rma(y[idx], v[idx], method="DL")
        assert_close(fit.estimate, direct.estimate, CLOSED, g)
        assert fit.k == idx.sum()
    assert res.q_within == pytest.approx(sum(f.q for f in res.fits))
    assert res.to_frame().shape[0] == 3
    assert "Test for subgroup differences" in res.summary()


def test_single_study_subgroup_is_reported_not_dropped():
    y, v, slab, df = _bcg()
    groups = ["a"] * 12 + ["b"]
    res = subgroup_analysis(y, v, groups, method="REML", studies=slab)
    assert res.fit("b").k == 1
    assert res.fit("b").estimate == pytest.approx(y[-1])
    assert any(w.code == "single_study_subgroup" for w in res.warnings)


def test_subgroup_errors():
    y, v, slab, df = _bcg()
    with pytest.raises(DataError, match="subgroup label missing"):
        subgroup_analysis(y, v, [None] + ["a"] * 12, studies=slab)
    with pytest.raises(ModelError, match="at least two"):
        subgroup_analysis(y, v, ["a"] * 13)
    with pytest.raises(DataError, match="one subgroup label per study"):
        subgroup_analysis(y, v, ["a", "b"])
