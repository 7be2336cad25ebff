"""Mantel-Haenszel and Peto pooling against metafor's rma.mh and rma.peto (metafor 3.8-1).

Every reference value that is not null is compared to a relative 1e-8.  The yusuf1985
references for rma.mh were computed with drop00=FALSE (the escalc settings recorded in
the JSON: Q has k - 1 df including the double-zero tables), those for rma.peto with
metafor's defaults (drop00=TRUE: Q has k_yi - 1 df without them, which is what the
JSON's "Some yi/vi values are NA" warnings are about).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgrade.errors import DataError, ModelError
from netgrade.pairwise.mantel_haenszel import MantelHaenszelResult, mantel_haenszel
from netgrade.pairwise.peto import PetoResult, peto
from tests.reference import CLOSED, assert_close, data_path, expected

YUSUF_TABLES = ["6", "9", "10", "11", "12a", "12b"]


def _compare(result, reference: dict, where: str) -> int:
    got = result.to_metafor()
    checked = 0
    for key, ref in reference.items():
        if ref is None:
            assert got.get(key) is None or (isinstance(got[key], float) and math.isnan(got[key])), (
                f"{where}.{key}: expected NA, got {got.get(key)!r}"
            )
            continue
        if isinstance(ref, str):
            assert got[key] == ref, f"{where}.{key}"
            continue
        assert_close(got[key], ref, CLOSED, f"{where}.{key}")
        checked += 1
    return checked


def _bcg():
    df = pd.read_csv(data_path("dat.bcg"))
    return df, [f"{a}, {y}" for a, y in zip(df["author"], df["year"])]


def _yusuf(table: str) -> pd.DataFrame:
    df = pd.read_csv(data_path("dat.yusuf1985"), dtype={"table": str, "id": str})
    return df[df["table"] == table]


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_bcg_mantel_haenszel(measure):
    df, slab = _bcg()
    ref = expected("dat.bcg")["analyses"][measure]
    assert ref["escalc"]["drop00"] is False
    res = mantel_haenszel(df["tpos"], df["tneg"], df["cpos"], df["cneg"], measure=measure,
                          add=ref["escalc"]["add"], to=ref["escalc"]["to"], drop00=ref["escalc"]["drop00"],
                          studies=slab)
    assert isinstance(res, MantelHaenszelResult)
    n = _compare(res, ref["rma_mh"], f"bcg {measure} rma_mh")
    assert n >= (21 if measure == "OR" else 13)
    assert res.studies == tuple(slab)
    # bcg has no zero cells: drop00 is irrelevant, so metafor's default gives the same
    default = mantel_haenszel(df["tpos"], df["tneg"], df["cpos"], df["cneg"], measure=measure)
    _compare(default, ref["rma_mh"], f"bcg {measure} rma_mh (defaults)")


def test_bcg_peto():
    df, slab = _bcg()
    ref = expected("dat.bcg")["analyses"]["OR"]["rma_peto"]
    res = peto(df["tpos"], df["tneg"], df["cpos"], df["cneg"], studies=slab)
    assert isinstance(res, PetoResult)
    assert _compare(res, ref, "bcg rma_peto") >= 13


@pytest.mark.parametrize("table", YUSUF_TABLES)
def test_yusuf_mantel_haenszel(table):
    rows = _yusuf(table)
    ref = expected("dat.yusuf1985")["analyses"][f"table_{table}_OR"]
    res = mantel_haenszel(rows["ai"], ci=rows["ci"], n1i=rows["n1i"], n2i=rows["n2i"], measure="OR",
                          add=0.5, to="only0", drop00=False, studies=rows["id"])
    assert _compare(res, ref["rma_mh"], f"yusuf {table} rma_mh") >= 20
    assert list(res.studies) == ref["rows_used_id"]
    assert res.k == len(ref["rows_used_id"])
    assert [e.study for e in res.excluded] == rows.loc[rows["ai"].isna(), "id"].tolist()


@pytest.mark.parametrize("table", YUSUF_TABLES)
def test_yusuf_peto(table):
    rows = _yusuf(table)
    data = expected("dat.yusuf1985")
    ref = data["analyses"][f"table_{table}_OR"]
    res = peto(rows["ai"], ci=rows["ci"], n1i=rows["n1i"], n2i=rows["n2i"], studies=rows["id"])
    assert _compare(res, ref["rma_peto"], f"yusuf {table} rma_peto") >= 13
    # metafor warned "Some yi/vi values are NA." exactly for the tables with double-zero
    # studies; we say which studies are pooled but not in Q, and why
    warned = any(w["where"] == f"dat.yusuf1985 table {table} rma.peto" for w in data["warnings"])
    ours = [w for w in res.warnings if w.code == "not_in_heterogeneity_test"]
    assert bool(ours) == warned
    if warned:
        used = rows.dropna(subset=["ai"])
        double = used.loc[(used["ai"] == 0) & (used["ci"] == 0), "id"].tolist()
        assert list(ours[0].studies) == double
        assert res.k_yi == res.k - len(double)
        assert res.k_pos == res.k - len(double)
        uninformative = [w for w in res.warnings if w.code == "uninformative_tables"]
        assert list(uninformative[0].studies) == double


def test_default_drop00_only_changes_q():
    rows = _yusuf("6")
    ref = expected("dat.yusuf1985")["analyses"]["table_6_OR"]["rma_mh"]
    res = mantel_haenszel(rows["ai"], ci=rows["ci"], n1i=rows["n1i"], n2i=rows["n2i"], studies=rows["id"])
    assert res.drop00 == (True, False)
    for key in ("estimate", "se", "CO", "MH", "BD", "TA", "k", "k_pos"):
        assert_close(res.to_metafor()[key], ref[key], CLOSED, key)
    assert res.k_yi == 18 and res.q_df == 17  # three double-zero trials are not in Q
    assert res.q != pytest.approx(ref["QE"], rel=1e-6)
    w = [w for w in res.warnings if w.code == "not_in_heterogeneity_test"]
    assert w and set(w[0].studies) == {"1.12", "1.15", "2.2"}


def test_hand_computed_two_tables():
    # tables (a, b, c, d): (10, 90, 20, 80) and (5, 45, 8, 42)
    a = np.array([10.0, 5.0]); b = np.array([90.0, 45.0]); c = np.array([20.0, 8.0]); d = np.array([80.0, 42.0])
    n = a + b + c + d
    R, S = a * d / n, b * c / n
    P, Q = (a + d) / n, (b + c) / n
    or_mh = R.sum() / S.sum()
    var = (P * R).sum() / (2 * R.sum() ** 2) + (P * S + Q * R).sum() / (2 * R.sum() * S.sum()) + (Q * S).sum() / (2 * S.sum() ** 2)
    res = mantel_haenszel(a, b, c, d)
    assert res.estimate == pytest.approx(math.log(or_mh), rel=1e-13)
    assert res.se == pytest.approx(math.sqrt(var), rel=1e-13)
    assert res.estimate_display == pytest.approx(or_mh, rel=1e-13)
    # Mantel-Haenszel chi-square with continuity correction, by hand
    n1, n2, m1, m2 = a + b, c + d, a + c, b + d
    e = n1 * m1 / n
    v = n1 * n2 * m1 * m2 / (n**2 * (n - 1))
    assert res.cmh == pytest.approx((abs((a - e).sum()) - 0.5) ** 2 / v.sum(), rel=1e-13)
    uncorrected = mantel_haenszel(a, b, c, d, correct=False)
    assert uncorrected.cmh == pytest.approx(((a - e).sum()) ** 2 / v.sum(), rel=1e-13)
    assert uncorrected.estimate == res.estimate
    # the fitted cell under OR_MH reproduces OR_MH in every table (Breslow-Day)
    from netgrade.pairwise.mantel_haenszel import _fitted_cell

    x = _fitted_cell(or_mh, n1, n2, m1)
    np.testing.assert_allclose(x * (n2 - m1 + x) / ((n1 - x) * (m1 - x)), or_mh, rtol=1e-12)
    # risk ratio and risk difference
    rr = mantel_haenszel(a, b, c, d, measure="RR")
    assert rr.estimate == pytest.approx(math.log((a * n2 / n).sum() / (c * n1 / n).sum()), rel=1e-13)
    rd = mantel_haenszel(a, b, c, d, measure="RD")
    assert rd.estimate == pytest.approx(((a * n2 - c * n1) / n).sum() / (n1 * n2 / n).sum(), rel=1e-13)
    assert math.isnan(rr.cmh) and rr.k_pos is None


def test_single_table_equals_its_odds_ratio():
    res = mantel_haenszel([12], [30], [20], [25])
    assert res.estimate == pytest.approx(math.log(12 * 25 / (30 * 20)), rel=1e-13)
    # with one table the RBG variance is Woolf's
    assert res.se == pytest.approx(math.sqrt(1 / 12 + 1 / 30 + 1 / 20 + 1 / 25), rel=1e-12)
    assert res.q == 0 and res.q_pval == 1 and res.i2 == 0 and res.h2 == 1
    assert res.k_pos == 1 and math.isnan(res.bd_pval)


def test_undefined_estimate_is_flagged():
    res = mantel_haenszel([0, 0], [10, 12], [3, 1], [7, 11], measure="RR")
    assert math.isnan(res.estimate)
    assert any(w.code == "estimate_undefined" for w in res.warnings)


def test_peto_needs_events():
    with pytest.raises(ModelError, match="never occurred"):
        peto([0, 0], [10, 12], [0, 0], [7, 11])


def test_pooling_step_corrections_and_levels():
    rows = _yusuf("9")
    base = mantel_haenszel(rows["ai"], ci=rows["ci"], n1i=rows["n1i"], n2i=rows["n2i"], studies=rows["id"])
    corrected = mantel_haenszel(rows["ai"], ci=rows["ci"], n1i=rows["n1i"], n2i=rows["n2i"], studies=rows["id"],
                                add=(0.5, 0.5), to=("only0", "only0"), drop00=(False, True))
    assert corrected.estimate != base.estimate
    assert corrected.corrections and all("pooling step" in c.reason for c in corrected.corrections)
    assert any(w.code == "continuity_correction" and "before pooling" in w.message for w in corrected.warnings)
    assert any("dropped from the pooling" in e.reason for e in corrected.excluded)
    narrow = mantel_haenszel(rows["ai"], ci=rows["ci"], n1i=rows["n1i"], n2i=rows["n2i"], level=90)
    assert narrow.level == 0.9 and narrow.ci_high - narrow.ci_low < base.ci_high - base.ci_low
    with pytest.raises(ModelError, match="OR, RR and RD"):
        mantel_haenszel([1], [2], [3], [4], measure="SMD")
    with pytest.raises(DataError):
        mantel_haenszel([1, -1], [2, 2], [3, 3], [4, 4])


def test_reports():
    df, slab = _bcg()
    res = mantel_haenszel(df["tpos"], df["tneg"], df["cpos"], df["cneg"], studies=slab)
    text = res.summary()
    assert "Mantel-Haenszel" in text and "Breslow-Day" in text and "odds ratio" in text
    frame = res.to_frame()
    assert frame.shape[0] == 1 and {"estimate", "ci_low", "q", "i2", "bd", "k_pos"} <= set(frame.columns)
    assert '"estimate"' in res.to_json()
    pt = peto(df["tpos"], df["tneg"], df["cpos"], df["cneg"], studies=slab)
    assert "Peto" in pt.summary() and pt.to_frame().shape[0] == 1
    assert pt.estimate_display == pytest.approx(math.exp(pt.estimate))
    with pytest.raises(Exception):
        res.estimate = 0.0  # type: ignore[misc]


@st.composite
def tables(draw):
    k = draw(st.integers(2, 8))
    out = []
    for _ in range(k):
        n1, n2 = draw(st.integers(2, 150)), draw(st.integers(2, 150))
        out.append((draw(st.integers(1, n1 - 1)), n1, draw(st.integers(1, n2 - 1)), n2))
    return np.array(out, dtype=float)


@settings(max_examples=50, deadline=None)
@given(tables())
def test_swapping_groups_flips_the_pooled_effect(t):
    a, n1, c, n2 = t.T
    for measure in ("OR", "RR", "RD"):
        fwd = mantel_haenszel(a, ci=c, n1i=n1, n2i=n2, measure=measure)
        rev = mantel_haenszel(c, ci=a, n1i=n2, n2i=n1, measure=measure)
        assert rev.estimate == pytest.approx(-fwd.estimate, rel=1e-9, abs=1e-12)
        assert rev.se == pytest.approx(fwd.se, rel=1e-9)
        assert rev.q == pytest.approx(fwd.q, rel=1e-9, abs=1e-12)
        if measure == "OR":
            assert rev.cmh == pytest.approx(fwd.cmh, rel=1e-9, abs=1e-12)
            assert rev.bd == pytest.approx(fwd.bd, rel=1e-7, abs=1e-9)
    pf, pr = peto(a, ci=c, n1i=n1, n2i=n2), peto(c, ci=a, n1i=n2, n2i=n1)
    assert pr.estimate == pytest.approx(-pf.estimate, rel=1e-9, abs=1e-12)
    assert pr.q == pytest.approx(pf.q, rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(tables(), st.randoms(use_true_random=False))
def test_table_order_does_not_matter(t, rnd):
    perm = list(range(len(t)))
    rnd.shuffle(perm)
    a, n1, c, n2 = t.T
    for fn in (lambda *x: mantel_haenszel(*x[:1], ci=x[1], n1i=x[2], n2i=x[3]),
               lambda *x: peto(*x[:1], ci=x[1], n1i=x[2], n2i=x[3])):
        r1, r2 = fn(a, c, n1, n2), fn(a[perm], c[perm], n1[perm], n2[perm])
        assert r2.estimate == pytest.approx(r1.estimate, rel=1e-10, abs=1e-13)
        assert r2.q == pytest.approx(r1.q, rel=1e-9, abs=1e-12)
