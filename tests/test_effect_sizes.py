"""Effect sizes against metafor's escalc, plus the properties every measure must have.

Reference values: analyses.<measure>.input.yi/vi of the expected JSON (metafor 3.8-1),
to a relative 1e-8.  The CSVs are read with pandas directly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from netgrade.data import schema
from netgrade.data.effect_sizes import (
    DEFINED_AT_ZERO,
    MEASURES,
    EffectSizes,
    _pft,
    back_transform,
    effects_from_arms,
    effects_from_single_arms,
    escalc,
    hedges_correction,
    measure_info,
    measure_scale,
)
from netgrade.errors import DataError, ModelError
from tests.reference import CLOSED, assert_close, data_path, expected


def _bcg() -> tuple[pd.DataFrame, list[str]]:
    df = pd.read_csv(data_path("dat.bcg"))
    return df, [f"{a}, {y}" for a, y in zip(df["author"], df["year"])]


def _yusuf() -> pd.DataFrame:
    return pd.read_csv(data_path("dat.yusuf1985"), dtype={"table": str, "id": str})


# --------------------------------------------------------------------------------------
# reference values


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_bcg_two_by_two(measure):
    df, slab = _bcg()
    ref = expected("dat.bcg")["analyses"][measure]
    res = escalc(measure, ai=df["tpos"], bi=df["tneg"], ci=df["cpos"], di=df["cneg"], studies=slab)
    assert list(res.studies) == ref["input"]["slab"]
    assert res.k == ref["input"]["k"]
    assert_close(res.yi, ref["input"]["yi"], CLOSED, f"bcg {measure} yi")
    assert_close(res.vi, ref["input"]["vi"], CLOSED, f"bcg {measure} vi")
    assert res.corrections == () and res.excluded == () and res.warnings == ()
    assert res.measure == measure
    np.testing.assert_array_equal(res.ni, (df["tpos"] + df["tneg"] + df["cpos"] + df["cneg"]).to_numpy(float))


@pytest.mark.parametrize("measure", ["MD", "SMD", "ROM"])
def test_normand_means(measure):
    df = pd.read_csv(data_path("dat.normand1999"))
    ref = expected("dat.normand1999")["analyses"][measure]
    res = escalc(
        measure,
        m1i=df["m1i"], sd1i=df["sd1i"], n1i=df["n1i"],
        m2i=df["m2i"], sd2i=df["sd2i"], n2i=df["n2i"],
        studies=df["source"],
    )
    assert list(res.studies) == ref["input"]["slab"]
    assert_close(res.yi, ref["input"]["yi"], CLOSED, f"normand {measure} yi")
    assert_close(res.vi, ref["input"]["vi"], CLOSED, f"normand {measure} vi")


@pytest.mark.parametrize("measure", ["PR", "PLO", "PAS", "PFT"])
def test_pritz_proportions(measure):
    df = pd.read_csv(data_path("dat.pritz1997"))
    ref = expected("dat.pritz1997")["analyses"][measure]
    assert ref["escalc"]["add"] == 0.5 and ref["escalc"]["to"] == "only0"
    res = escalc(measure, xi=df["xi"], ni=df["ni"], studies=df["authors"])
    assert list(res.studies) == ref["input"]["slab"]
    assert_close(res.yi, ref["input"]["yi"], CLOSED, f"pritz {measure} yi")
    assert_close(res.vi, ref["input"]["vi"], CLOSED, f"pritz {measure} vi")
    # two studies with every patient improved get the correction (metafor 3.8-1 applies
    # it to all proportion measures, also PAS and PFT)
    full = df.loc[df["xi"] == df["ni"], "authors"].tolist()
    assert len(full) == 2
    assert [c.study for c in res.corrections] == full
    assert [w.code for w in res.warnings] == ["continuity_correction"]
    assert res.warnings[0].studies == tuple(full)


def test_pritz_without_correction_for_transforms_defined_at_zero():
    """Recent metafor uses add=0 for PAS/PFT; add=0 reproduces that explicitly."""
    df = pd.read_csv(data_path("dat.pritz1997"))
    assert {"PAS", "PFT", "AS"} <= DEFINED_AT_ZERO
    pas = escalc("PAS", xi=df["xi"], ni=df["ni"], add=0)
    full = (df["xi"] == df["ni"]).to_numpy()
    assert np.allclose(pas.yi[full], math.pi / 2)
    assert np.allclose(pas.vi, 1 / (4 * df["ni"].to_numpy(float)))
    assert pas.corrections == ()
    pft = escalc("PFT", xi=df["xi"], ni=df["ni"], add=0)
    n = df["ni"].to_numpy(float)
    assert_close(pft.yi, _pft(df["xi"].to_numpy(float), n), CLOSED, "pft add=0")


@pytest.mark.parametrize("table", ["6", "9", "10", "11", "12a", "12b"])
def test_yusuf_tables(table):
    df = _yusuf()
    rows = df[df["table"] == table]
    ref = expected("dat.yusuf1985")["analyses"][f"table_{table}_OR"]
    res = escalc("OR", ai=rows["ai"], n1i=rows["n1i"], ci=rows["ci"], n2i=rows["n2i"], studies=rows["id"])
    # rows with missing counts are excluded, with the reason, and exactly those
    assert list(res.studies) == ref["rows_used_id"]
    missing = rows.loc[rows[["ai", "n1i", "ci", "n2i"]].isna().any(axis=1), "id"].tolist()
    assert [e.study for e in res.excluded] == missing
    assert all("missing value" in e.reason for e in res.excluded)
    assert_close(res.yi, ref["input"]["yi"], CLOSED, f"yusuf {table} yi")
    assert_close(res.vi, ref["input"]["vi"], CLOSED, f"yusuf {table} vi")
    # double-zero studies are corrected, not dropped (drop00=False is escalc's default)
    used = rows[~rows["id"].isin(missing)]
    double = used.loc[(used["ai"] == 0) & (used["ci"] == 0), "id"].tolist()
    corrected = [c.study for c in res.corrections]
    assert set(double) <= set(corrected)
    zero = used.loc[(used[["ai", "ci"]] == 0).any(axis=1) | (used["ai"] == used["n1i"]) | (used["ci"] == used["n2i"]), "id"]
    assert corrected == zero.tolist()
    # per-study amounts, by position (labels can repeat, e.g. "3.5" in table 9)
    z = ((used[["ai", "ci"]] == 0).any(axis=1) | (used["ai"] == used["n1i"]) | (used["ci"] == used["n2i"])).to_numpy()
    np.testing.assert_array_equal(res.added, np.where(z, 0.5, 0.0))
    np.testing.assert_array_equal(res.to_frame()["continuity_correction"], res.added)


def test_yusuf_labels_from_trial_names():
    df = _yusuf()
    rows = df[df["table"] == "9"]
    ref = expected("dat.yusuf1985")["analyses"]["table_9_OR"]
    res = escalc("OR", ai=rows["ai"], n1i=rows["n1i"], ci=rows["ci"], n2i=rows["n2i"], studies=rows["trial"])
    assert list(res.studies) == ref["input"]["slab"]
    assert [e.study for e in res.excluded] == ["Ayerst", "ISIS"]


# --------------------------------------------------------------------------------------
# zero cells: add / to / drop00


def _zero_tables():
    # study A: double zero; B: one zero cell; C: no zero
    return dict(ai=[0, 0, 5], n1i=[10, 12, 20], ci=[0, 3, 7], n2i=[11, 12, 20], studies=["A", "B", "C"])


def test_only0_corrects_studies_with_a_zero_cell():
    res = escalc("OR", **_zero_tables())
    assert [c.study for c in res.corrections] == ["A", "B"]
    assert all(c.add == 0.5 for c in res.corrections)
    # double zero A: (0.5, 10.5, 0.5, 11.5)
    assert res.yi[0] == pytest.approx(math.log(0.5 * 11.5 / (10.5 * 0.5)), rel=1e-12)
    w = [w for w in res.warnings if w.code == "continuity_correction"]
    assert len(w) == 1 and w[0].studies == ("A", "B")
    # hand value for B: (0.5, 12.5, 3.5, 9.5)
    assert res.yi[1] == pytest.approx(math.log(0.5 * 9.5 / (12.5 * 3.5)), rel=1e-12)
    assert res.vi[1] == pytest.approx(1 / 0.5 + 1 / 12.5 + 1 / 3.5 + 1 / 9.5, rel=1e-12)
    assert res.yi[2] == pytest.approx(math.log(5 * 13 / (15 * 7)), rel=1e-12)


def test_all_and_if0all():
    res_all = escalc("OR", to="all", **_zero_tables())
    assert [c.study for c in res_all.corrections] == ["A", "B", "C"]
    assert res_all.yi[2] == pytest.approx(math.log(5.5 * 13.5 / (15.5 * 7.5)), rel=1e-12)
    res_if = escalc("OR", to="if0all", **_zero_tables())
    assert [c.study for c in res_if.corrections] == ["A", "B", "C"]
    assert "another study" in res_if.corrections[2].reason
    none_zero = escalc("OR", ai=[1, 2], n1i=[5, 5], ci=[2, 1], n2i=[5, 5], to="if0all")
    assert none_zero.corrections == ()


def test_to_none_excludes_undefined_studies_with_reason():
    res = escalc("OR", to="none", **_zero_tables())
    assert list(res.studies) == ["C"]
    assert [e.study for e in res.excluded] == ["A", "B"]
    assert all("undefined" in e.reason and "to='none'" in e.reason for e in res.excluded)
    assert res.corrections == ()


def test_drop00_excludes_double_zero_studies():
    res = escalc("OR", drop00=True, **_zero_tables())
    assert list(res.studies) == ["B", "C"]
    assert len(res.excluded) == 1 and res.excluded[0].study == "A"
    assert "double-zero" in res.excluded[0].reason and "drop00" in res.excluded[0].reason
    # only-events in both groups is a double zero too
    res = escalc("RR", ai=[10, 3], n1i=[10, 9], ci=[8, 4], n2i=[8, 9], drop00=True, studies=["all", "x"])
    assert [e.study for e in res.excluded] == ["all"]
    assert "only events" in res.excluded[0].reason


def test_rd_is_defined_without_correction():
    res = escalc("RD", to="none", **_zero_tables())
    assert res.k == 3
    assert res.yi[0] == 0.0
    assert [w.code for w in res.warnings] == ["zero_variance"]  # double zero: p(1-p)/n = 0
    assert res.warnings[0].studies == ("A",)


def test_peto_study_level():
    res = escalc("PETO", ai=[4, 0], n1i=[50, 10], ci=[9, 0], n2i=[50, 10], to="none", studies=["x", "dz"])
    a, b, c, d = 4.0, 46.0, 9.0, 41.0
    n1, n2, n = a + b, c + d, a + b + c + d
    e = (a + c) * n1 / n
    v = (a + c) * (b + d) * n1 * n2 / (n**2 * (n - 1))
    assert res.yi[0] == pytest.approx((a - e) / v, rel=1e-12)
    assert res.vi[0] == pytest.approx(1 / v, rel=1e-12)
    assert [e.study for e in res.excluded] == ["dz"]
    assert "hypergeometric variance is zero" in res.excluded[0].reason


def test_arcsine_risk_difference():
    res = escalc("AS", ai=[3], n1i=[20], ci=[6], n2i=[25])
    assert res.yi[0] == pytest.approx(math.asin(math.sqrt(3 / 20)) - math.asin(math.sqrt(6 / 25)), rel=1e-12)
    assert res.vi[0] == pytest.approx(1 / 80 + 1 / 100, rel=1e-12)


def test_proportion_variance_types():
    x, n = np.array([3.0, 10.0]), np.array([10.0, 40.0])
    p = x / n
    ub = escalc("PR", xi=x, ni=n, vtype="UB")
    assert_close(ub.vi, p * (1 - p) / (n - 1), CLOSED, "PR UB")
    ho = escalc("PR", xi=x, ni=n, vtype="HO")
    pbar = x.sum() / n.sum()
    assert_close(ho.vi, pbar * (1 - pbar) / n, CLOSED, "PR HO")
    pln = escalc("PLN", xi=x, ni=n)
    assert_close(pln.yi, np.log(p), CLOSED, "PLN yi")
    assert_close(pln.vi, 1 / x - 1 / n, CLOSED, "PLN vi")
    # mi (non-events) instead of ni gives the same
    alt = escalc("PLO", xi=x, mi=n - x)
    ref = escalc("PLO", xi=x, ni=n)
    assert_close(alt.yi, ref.yi, CLOSED, "mi") and None
    with pytest.raises(ModelError, match="vtype"):
        escalc("PAS", xi=x, ni=n, vtype="HO")


def test_mean_measures_by_hand():
    md = escalc("MD", m1i=[10], sd1i=[2], n1i=[20], m2i=[8], sd2i=[3], n2i=[30], vtype="HO")
    sp2 = (19 * 4 + 29 * 9) / 48
    assert md.yi[0] == 2 and md.vi[0] == pytest.approx(sp2 * (1 / 20 + 1 / 30), rel=1e-12)
    mn = escalc("MN", mi=[5.0, 7.0], sdi=[2.0, 1.0], ni=[16, 25])
    assert_close(mn.vi, [4 / 16, 1 / 25], CLOSED, "MN")
    mnln = escalc("MNLN", mi=[5.0], sdi=[2.0], ni=[16])
    assert mnln.yi[0] == pytest.approx(math.log(5), rel=1e-12)
    assert mnln.vi[0] == pytest.approx(4 / (16 * 25), rel=1e-12)
    smd_ub = escalc("SMD", m1i=[10], sd1i=[2], n1i=[20], m2i=[8], sd2i=[3], n2i=[30], vtype="UB")
    cm = hedges_correction(48)
    g = cm * 2 / math.sqrt(sp2)
    assert smd_ub.yi[0] == pytest.approx(g, rel=1e-12)
    assert smd_ub.vi[0] == pytest.approx(1 / 20 + 1 / 30 + (1 - 46 / (48 * cm**2)) * g**2, rel=1e-12)


def test_smdh_reduces_to_smd_with_equal_sds_and_sizes():
    kw = dict(m1i=[10.0], sd1i=[2.0], n1i=[15], m2i=[9.0], sd2i=[2.0], n2i=[15])
    assert escalc("SMDH", **kw).yi[0] == pytest.approx(escalc("SMD", **kw).yi[0], rel=1e-12)
    res = escalc("SMDH", m1i=[10.0], sd1i=[2.0], n1i=[15], m2i=[9.0], sd2i=[4.0], n2i=[25])
    cm = hedges_correction(38)
    s2 = (4 + 16) / 2
    g = cm * 1 / math.sqrt(s2)
    v = g**2 * (16 / 14 + 256 / 24) / (2 * 20**2) + (4 / 14 + 16 / 24) / s2
    assert res.yi[0] == pytest.approx(g, rel=1e-12)
    assert res.vi[0] == pytest.approx(cm**2 * v, rel=1e-12)


def test_hedges_correction_exact():
    assert hedges_correction(2) == pytest.approx(1 / math.sqrt(math.pi), rel=1e-14)
    m = np.array([5.0, 20.0, 300.0])
    exact = special.gamma(m / 2) / (np.sqrt(m / 2) * special.gamma((m - 1) / 2))
    assert_close(hedges_correction(m), exact, 1e-13, "c(m)")
    # no overflow where the gamma function itself overflows, and Hedges' approximation
    # 1 - 3/(4m - 1) agrees closely there
    assert hedges_correction(5000.0) == pytest.approx(1 - 3 / (4 * 5000 - 1), rel=1e-8)
    assert math.isnan(hedges_correction(1.0))


def test_generic_passthrough():
    res = escalc("GEN", yi=[0.1, -0.2, np.nan], sei=[0.5, 0.25, 0.1], studies=["a", "b", "c"])
    assert_close(res.vi, [0.25, 0.0625], CLOSED, "GEN vi")
    assert [e.study for e in res.excluded] == ["c"]
    assert res.ni is None
    with pytest.raises(DataError, match="negative"):
        escalc("GEN", yi=[0.1], vi=[-1.0])


def test_rom_with_nonpositive_mean_is_excluded():
    res = escalc("ROM", m1i=[5, -1], sd1i=[1, 1], n1i=[10, 10], m2i=[4, 2], sd2i=[1, 1], n2i=[10, 10], studies=["ok", "neg"])
    assert list(res.studies) == ["ok"]
    assert res.excluded[0].study == "neg" and "positive" in res.excluded[0].reason


def test_smd_with_too_few_participants_is_excluded():
    res = escalc("SMD", m1i=[5, 5], sd1i=[1, 1], n1i=[10, 1], m2i=[4, 4], sd2i=[1, 1], n2i=[10, 2], studies=["ok", "tiny"])
    assert list(res.studies) == ["ok"]
    assert "exceed 3" in res.excluded[0].reason


# --------------------------------------------------------------------------------------
# validation


def test_negative_count_names_study_and_argument():
    with pytest.raises(DataError) as err:
        escalc("OR", ai=[1, -2], bi=[5, 5], ci=[1, 1], di=[4, 4], studies=["good", "bad"])
    issue = err.value.issues[0]
    assert issue.study == "bad" and issue.column == "ai"
    assert "negative" in str(err.value)


def test_events_above_group_size():
    with pytest.raises(DataError) as err:
        escalc("RR", ai=[12, 1], n1i=[10, 10], ci=[3, 11], n2i=[10, 10], studies=["s1", "s2"])
    found = {(i.study, i.column) for i in err.value.issues}
    assert found == {("s1", "ai"), ("s2", "ci")}  # every problem is listed, not just the first
    with pytest.raises(DataError, match="exceeds ni"):
        escalc("PR", xi=[5], ni=[4], studies=["p"])


def test_sd_must_be_positive():
    with pytest.raises(DataError) as err:
        escalc("SMD", m1i=[1], sd1i=[0], n1i=[10], m2i=[1], sd2i=[1], n2i=[10], studies=["z"])
    assert err.value.issues[0].study == "z" and err.value.issues[0].column == "sd1i"


def test_mismatched_lengths():
    with pytest.raises(DataError, match="different lengths"):
        escalc("OR", ai=[1, 2], bi=[3], ci=[1, 2], di=[3, 4])
    with pytest.raises(DataError, match="study labels"):
        escalc("OR", ai=[1], bi=[3], ci=[1], di=[3], studies=["a", "b"])


def test_inconsistent_totals_and_missing_arguments():
    with pytest.raises(DataError, match="differs from n1i"):
        escalc("OR", ai=[1], bi=[3], n1i=[5], ci=[1], di=[3])
    with pytest.raises(DataError, match="bi or n1i"):
        escalc("OR", ai=[1], ci=[1], di=[3])
    with pytest.raises(ModelError, match="unknown effect measure"):
        escalc("XYZ", ai=[1], bi=[1], ci=[1], di=[1])
    with pytest.raises(ModelError, match="to="):
        escalc("OR", ai=[1], bi=[1], ci=[1], di=[1], to="sometimes")


# --------------------------------------------------------------------------------------
# properties

counts = st.integers(min_value=1, max_value=200)


@st.composite
def tables(draw, k_min=1, k_max=8):
    k = draw(st.integers(k_min, k_max))
    rows = []
    for _ in range(k):
        n1, n2 = draw(counts), draw(counts)
        a = draw(st.integers(0, n1))
        c = draw(st.integers(0, n2))
        rows.append((a, n1, c, n2))
    return np.array(rows, dtype=float)


@st.composite
def mean_data(draw, k_min=1, k_max=8):
    k = draw(st.integers(k_min, k_max))
    finite = st.floats(min_value=-100, max_value=100, allow_nan=False)
    sds = st.floats(min_value=0.1, max_value=50, allow_nan=False)
    sizes = st.integers(min_value=2, max_value=500)
    return np.array(
        [[draw(finite), draw(sds), draw(sizes), draw(finite), draw(sds), draw(sizes)] for _ in range(k)], dtype=float
    )


@settings(max_examples=60, deadline=None)
@given(tables(), st.sampled_from(["OR", "RR", "RD", "AS", "PETO"]))
def test_swapping_groups_flips_binary_effects(t, measure):
    a, n1, c, n2 = t.T
    fwd = escalc(measure, ai=a, n1i=n1, ci=c, n2i=n2)
    rev = escalc(measure, ai=c, n1i=n2, ci=a, n2i=n1)
    assert fwd.studies == rev.studies
    np.testing.assert_allclose(rev.yi, -fwd.yi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rev.vi, fwd.vi, rtol=1e-10, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(mean_data(), st.sampled_from(["MD", "SMD", "SMDH"]))
def test_swapping_groups_flips_mean_effects(d, measure):
    m1, s1, n1, m2, s2, n2 = d.T
    fwd = escalc(measure, m1i=m1, sd1i=s1, n1i=n1, m2i=m2, sd2i=s2, n2i=n2)
    rev = escalc(measure, m1i=m2, sd1i=s2, n1i=n2, m2i=m1, sd2i=s1, n2i=n1)
    np.testing.assert_allclose(rev.yi, -fwd.yi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rev.vi, fwd.vi, rtol=1e-10, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(mean_data(), st.floats(min_value=0.01, max_value=100))
def test_scaling_means_and_sds(d, scale):
    m1, s1, n1, m2, s2, n2 = d.T
    base = dict(m1i=m1, sd1i=s1, n1i=n1, m2i=m2, sd2i=s2, n2i=n2)
    scaled = dict(m1i=m1 * scale, sd1i=s1 * scale, n1i=n1, m2i=m2 * scale, sd2i=s2 * scale, n2i=n2)
    md, md_c = escalc("MD", **base), escalc("MD", **scaled)
    np.testing.assert_allclose(md_c.yi, scale * md.yi, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(md_c.vi, scale**2 * md.vi, rtol=1e-9)
    for measure in ("SMD", "SMDH"):
        g, g_c = escalc(measure, **base), escalc(measure, **scaled)
        np.testing.assert_allclose(g_c.yi, g.yi, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(g_c.vi, g.vi, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(tables(k_min=2), st.randoms(use_true_random=False), st.sampled_from(["OR", "RR", "RD", "PETO"]),
       st.sampled_from(["only0", "all", "none"]))
def test_study_order_does_not_matter(t, rnd, measure, to):
    labels = [f"s{i}" for i in range(len(t))]
    perm = list(range(len(t)))
    rnd.shuffle(perm)
    a, n1, c, n2 = t.T
    ref = escalc(measure, ai=a, n1i=n1, ci=c, n2i=n2, to=to, studies=labels)
    shuf = escalc(measure, ai=a[perm], n1i=n1[perm], ci=c[perm], n2i=n2[perm], to=to,
                  studies=[labels[i] for i in perm])
    got = dict(zip(shuf.studies, zip(shuf.yi, shuf.vi)))
    assert set(got) == set(ref.studies)
    for s, y, v in zip(ref.studies, ref.yi, ref.vi):
        assert got[s] == (y, v)
    assert {e.study for e in shuf.excluded} == {e.study for e in ref.excluded}
    assert {c.study for c in shuf.corrections} == {c.study for c in ref.corrections}


@settings(max_examples=40, deadline=None)
@given(tables(), st.sampled_from(["OR", "RR", "RD", "AS", "PETO"]), st.sampled_from(["only0", "all", "if0all", "none"]),
       st.booleans())
def test_every_study_is_analysed_or_excluded(t, measure, to, drop00):
    a, n1, c, n2 = t.T
    labels = [f"s{i}" for i in range(len(t))]
    res = escalc(measure, ai=a, n1i=n1, ci=c, n2i=n2, to=to, drop00=drop00, studies=labels)
    assert sorted(res.studies + tuple(e.study for e in res.excluded)) == sorted(labels)
    assert np.all(np.isfinite(res.yi)) and np.all(np.isfinite(res.vi)) and np.all(res.vi >= 0)


# --------------------------------------------------------------------------------------
# back-transformation and the registry


def test_back_transform():
    assert back_transform("OR", 0.0) == 1.0
    assert back_transform("RR", math.log(2)) == pytest.approx(2.0)
    assert back_transform("PLO", 0.0) == 0.5
    assert back_transform("PLO", np.array([-50.0, 50.0])) == pytest.approx([0.0, 1.0], abs=1e-15)
    assert back_transform("PAS", math.asin(math.sqrt(0.3))) == pytest.approx(0.3)
    assert back_transform("MD", 3.5) == 3.5
    assert isinstance(back_transform("OR", np.array([0.0, 1.0])), np.ndarray)
    assert measure_scale("OR") == "log" and measure_scale("PLO") == "logit" and measure_scale("SMD") == "identity"
    assert measure_info("or").code == "OR"
    with pytest.raises(ModelError, match="sample size"):
        back_transform("PFT", 1.0)


@pytest.mark.parametrize("n", [5, 17, 100])
def test_freeman_tukey_inverse(n):
    x = np.arange(0, n + 1, dtype=float)
    t = _pft(x, float(n))
    assert_close(back_transform("PFT", t, n=n), x / n, 1e-10, "ipft", atol=1e-12)


def test_measure_registry_complete():
    for code in ["OR", "RR", "RD", "AS", "PETO", "MD", "SMD", "SMDH", "ROM", "PR", "PLN", "PLO", "PAS", "PFT",
                 "MN", "MNLN", "GEN"]:
        assert code in MEASURES


# --------------------------------------------------------------------------------------
# result object


def test_result_is_frozen_and_reports():
    df, slab = _bcg()
    res = escalc("OR", ai=df["tpos"], bi=df["tneg"], ci=df["cpos"], di=df["cneg"], studies=slab)
    assert isinstance(res, EffectSizes)
    with pytest.raises(Exception):
        res.yi[0] = 1.0
    with pytest.raises(Exception):
        res.measure = "RR"  # type: ignore[misc]
    np.testing.assert_allclose(res.sei, np.sqrt(res.vi))
    frame = res.to_frame(back=True)
    assert list(frame["study"]) == slab
    assert {"yi", "vi", "sei", "ci_low", "ci_high", "est_display", "continuity_correction"} <= set(frame.columns)
    np.testing.assert_allclose(frame["est_display"], np.exp(res.yi))
    assert "Aronson, 1948" in res.summary()
    assert '"measure": "OR"' in res.to_json()
    assert "<pre>" in res._repr_html_()


# --------------------------------------------------------------------------------------
# from the data model


def _bcg_arms() -> schema.ArmTable:
    df, slab = _bcg()
    rows = []
    for s, r in zip(slab, df.itertuples()):
        rows.append({"study": s, "treatment": "BCG", "events": r.tpos, "n": r.tpos + r.tneg})
        rows.append({"study": s, "treatment": "control", "events": r.cpos, "n": r.cpos + r.cneg})
    return schema.ArmTable(pd.DataFrame(rows), "binary", source="bcg-arms.csv")


def test_effects_from_arms_reproduces_escalc():
    ref = expected("dat.bcg")["analyses"]["OR"]["input"]
    res = effects_from_arms(_bcg_arms(), "OR", treatment="BCG", control="control")
    assert list(res.studies) == expected("dat.bcg")["analyses"]["OR"]["input"]["slab"]
    assert_close(res.yi, ref["yi"], CLOSED, "arms OR yi")
    assert_close(res.vi, ref["vi"], CLOSED, "arms OR vi")
    flipped = effects_from_arms(_bcg_arms(), "OR", treatment="control", control="BCG")
    np.testing.assert_allclose(flipped.yi, -res.yi, rtol=1e-12)


def test_effects_from_arms_names_bad_studies():
    arms = _bcg_arms()
    frame = arms.frame.copy()
    frame = frame[~((frame["study"] == "Aronson, 1948") & (frame["treatment"] == "control"))]
    extra = pd.DataFrame([{"study": "TPT Madras, 1980", "treatment": "placebo", "events": 1, "n": 10}])
    frame = pd.concat([frame, extra], ignore_index=True)
    bad = schema.ArmTable(frame, "binary", source="bcg-arms.csv")
    with pytest.raises(DataError) as err:
        effects_from_arms(bad, "OR", treatment="BCG", control="control")
    studies = {i.study for i in err.value.issues}
    assert studies == {"Aronson, 1948", "TPT Madras, 1980"}
    text = str(err.value)
    assert "'placebo'" in text and "'BCG'" in text
    # lacking arms can be excluded instead; extra arms stay an error
    only_missing = schema.ArmTable(frame[frame["treatment"] != "placebo"], "binary")
    res = effects_from_arms(only_missing, "OR", treatment="BCG", control="control", missing="exclude")
    assert res.k == 12 and res.excluded[0].study == "Aronson, 1948"
    assert "no 'control' arm" in res.excluded[0].reason


def test_effects_from_arms_checks_outcome_type():
    with pytest.raises(DataError, match="mean"):
        effects_from_arms(_bcg_arms(), "SMD", treatment="BCG", control="control")
    with pytest.raises(ModelError, match="not a two-group measure"):
        effects_from_arms(_bcg_arms(), "PLO", treatment="BCG", control="control")


def test_effects_from_arms_continuous_and_options():
    df = pd.read_csv(data_path("dat.normand1999"))
    rows = []
    for r in df.itertuples():
        rows.append({"study": r.source, "treatment": "specialist", "mean": r.m1i, "sd": r.sd1i, "n": r.n1i})
        rows.append({"study": r.source, "treatment": "routine", "mean": r.m2i, "sd": r.sd2i, "n": r.n2i})
    arms = schema.ArmTable(pd.DataFrame(rows), "continuous")
    res = effects_from_arms(arms, "SMD", "specialist", "routine")
    assert_close(res.yi, expected("dat.normand1999")["analyses"]["SMD"]["input"]["yi"], CLOSED, "arms SMD")
    ho = effects_from_arms(arms, "MD", "specialist", "routine", vtype="HO")
    assert ho.vtype == "HO"


def test_effects_from_single_arms():
    df = pd.read_csv(data_path("dat.pritz1997"))
    frame = pd.DataFrame({"study": df["authors"], "treatment": "hyperdynamic", "events": df["xi"], "n": df["ni"]})
    arms = schema.ArmTable(frame, "binary", warnings=())
    res = effects_from_single_arms(arms, "PLO")
    assert_close(res.yi, expected("dat.pritz1997")["analyses"]["PLO"]["input"]["yi"], CLOSED, "single PLO")
    two = pd.concat([frame, frame.assign(treatment="other")], ignore_index=True)
    with pytest.raises(DataError, match="name the treatment"):
        effects_from_single_arms(schema.ArmTable(two, "binary"), "PLO")
    res2 = effects_from_single_arms(schema.ArmTable(two, "binary"), "PLO", treatment="other")
    np.testing.assert_allclose(res2.yi, res.yi)
