"""Sensitivity analyses of a network: leave one out, exclusions, cumulative fits.

There are no reference values to compare with (netmeta's ``netleave`` reports other
quantities); the reference is the definition itself: every refit must equal a direct
``nma()`` of the same subset of studies with the original settings, to 1e-10.
"""

from __future__ import annotations

import functools
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgrade._result import dumps, frozen_array
from netgrade.errors import DataError, ModelError
from netgrade.network import (
    NetworkData,
    StudyBlock,
    cumulative,
    exclude_before_year,
    exclude_high_risk_of_bias,
    exclude_studies,
    leave_one_out,
    nma,
)
from netgrade.network.sensitivity import Thresholds
from tests.nma_data import network
from tests.reference import data_path

RTOL = 1e-10
ATOL = 1e-12


# ---------------------------------------------------------------------------------
# helpers


def _close(a, b, what=""):
    a, b = float(a), float(b)
    if math.isnan(b):
        assert math.isnan(a), what
        return
    assert abs(a - b) <= ATOL + RTOL * abs(b), f"{what}: {a!r} != {b!r}"


def _direct(res, studies, data=None):
    """The network refitted directly on ``studies`` (original settings; the reference's
    sub-network if the subset is disconnected)."""
    data = (res.data if data is None else data).subset(studies=studies)
    comps = data.components()
    order = None if res.order is None else [t for t in res.order if t in data.treatments]
    return nma(
        data,
        reference=res.reference,
        method=res.method,
        level=res.level,
        tau2=res.tau2 if res.tau2_fixed else None,
        larger_better=res.larger_better,
        order=order,
        component=[res.reference] if len(comps) > 1 else None,
    )


def _assert_step_equals(step, fit, where):
    assert step.failure is None, where
    assert step.k == fit.k, where
    _close(step.tau2, fit.tau2, f"{where} tau2")
    _close(step.i2, fit.i2, f"{where} i2")
    _close(step.q, fit.q, f"{where} q")
    assert step.q_df == fit.q_df, where
    eff = fit.effects().set_index("treatment")
    for e in step.estimates:
        if e.treatment not in eff.index:
            assert not e.estimable, f"{where} {e.treatment}"
            continue
        assert e.estimable, f"{where} {e.treatment}"
        for col in ("estimate", "se", "ci_low", "ci_high", "pval"):
            _close(getattr(e, col), eff.loc[e.treatment, col], f"{where} {e.treatment} {col}")


def _block(study, arms, means, variances):
    """A study from arm-level means and variances (consistent contrasts)."""
    m = np.asarray(means, float)
    v = np.asarray(variances, float)
    y = m[:, None] - m[None, :]
    R = v[:, None] + v[None, :]
    np.fill_diagonal(R, 0.0)
    return StudyBlock(study, tuple(arms), frozen_array(y), frozen_array(R))


def _net(blocks, measure="MD"):
    return NetworkData(tuple(blocks), tuple(sorted({t for b in blocks for t in b.arms})), measure)


def _hasselblad_years():
    raw = pd.read_csv(data_path("dat.hasselblad1998"))
    return {str(k): int(v) for k, v in raw.groupby("study")["year"].first().items()}


def _senn_years():
    return {s: int(re.search(r"\((\d{4})", s).group(1)) for s in network("dat.senn2013").studies}


def _bridge_network():
    """A - B (S1, S2), B - C (S3, the only bridge to C and D), C - D (S4, S5), A - E (S6,
    the only study of E), A - B - C (S7 would make it robust; left out on purpose)."""
    return _net(
        [
            _block("S1", ("A", "B"), [0.0, 0.5], [0.04, 0.05]),
            _block("S2", ("A", "B"), [0.0, 0.3], [0.03, 0.06]),
            _block("S3", ("B", "C"), [0.0, -0.2], [0.05, 0.05]),
            _block("S4", ("C", "D"), [0.0, 0.4], [0.04, 0.03]),
            _block("S5", ("C", "D"), [0.0, 0.1], [0.06, 0.04]),
            _block("S6", ("A", "E"), [0.0, 0.7], [0.05, 0.08]),
        ]
    )


# ---------------------------------------------------------------------------------
# leave one out


LOO_CASES = [
    pytest.param("dat.hasselblad1998", "no_contact", "DL", {}, None, id="hasselblad-DL"),
    pytest.param("dat.hasselblad1998", "no_contact", "REML", {"level": 0.9}, ("1", "2", "9", "23"), id="hasselblad-REML-90"),
    pytest.param("dat.senn2013", "placebo", "FE", {}, None, id="senn-FE"),
    pytest.param(
        "dat.senn2013", "placebo", "DL", {"larger_better": True}, ("Willms (1999)", "Garber (2008)", "Lewin (2007)"), id="senn-DL"
    ),
    # linde2016: multi-arm studies (1, 11, 58) and sole studies of a treatment (5, 135)
    pytest.param("dat.linde2016", "Placebo", "DL", {}, ("1", "4", "11", "58", "5", "135"), id="linde-DL-some"),
]


@pytest.mark.parametrize("ds,ref,method,kw,omit", LOO_CASES)
def test_each_omission_equals_a_direct_refit(ds, ref, method, kw, omit):
    data = network(ds)
    res = nma(data, reference=ref, method=method, **kw)
    loo = leave_one_out(res, studies=omit)
    expected_studies = data.studies if omit is None else tuple(s for s in data.studies if s in omit)
    assert loo.studies == expected_studies
    for step in loo.steps:
        (s,) = step.studies
        fit = _direct(res, [x for x in data.studies if x != s], data=data)
        _assert_step_equals(step, fit, f"{ds} without {s}")
    # the full fit is carried unchanged
    _assert_step_equals(loo.full, res, f"{ds} full")


def test_explicit_treatment_order_is_kept_in_refits():
    data = network("dat.senn2013")
    order = list(reversed(data.treatments))
    res = nma(data, reference="placebo", method="REML", order=order)
    loo = leave_one_out(res, studies=["Willms (1999)"])
    for step in loo.steps:
        fit = _direct(res, [x for x in data.studies if x not in step.studies], data=data)
        _assert_step_equals(step, fit, step.label)
        assert [e.treatment for e in step.estimates] == list(res.treatments[1:])


def test_fixed_tau2_stays_fixed():
    res = nma(network("dat.hasselblad1998"), reference="no_contact", method="DL", tau2=0.25)
    loo = leave_one_out(res, studies=["1", "2"])
    assert loo.tau2_fixed
    for step in loo.steps:
        assert step.tau2 == 0.25
        _assert_step_equals(step, _direct(res, [x for x in res.data.studies if x not in step.studies]), step.label)


def test_treatment_ranges_and_conclusions():
    res = nma(network("dat.hasselblad1998"), reference="no_contact", method="DL")
    mid = math.log(1.25)
    loo = leave_one_out(res, mid=mid)
    thr = Thresholds(0.0, mid)
    for i, t in enumerate(loo.treatments):
        ests = {s.studies[0]: s.estimates[i] for s in loo.steps}
        lo = min(ests, key=lambda s: ests[s].estimate)
        hi = max(ests, key=lambda s: ests[s].estimate)
        assert (t.min_study, t.max_study) == (lo, hi)
        assert t.min_estimate == ests[lo].estimate and t.max_estimate == ests[hi].estimate
        assert t.min_estimate <= t.estimate <= t.max_estimate
        full = thr.position(t.ci_low, t.ci_high)
        changed = [s for s, e in ests.items() if thr.position(e.ci_low, e.ci_high) != full]
        assert [s for s, _ in t.changed_by] == changed
        assert t.not_estimable_without == ()
    # individual counselling's CI lies above +MID with all studies; without study 1
    # (Reid 1974, the largest) it reaches below the MID
    ind = next(t for t in loo.treatments if t.treatment == "ind_counseling")
    assert ind.conclusion == "CI above +MID (0.2231)"
    assert "1" in [s for s, _ in ind.changed_by]
    assert loo.changes_conclusion and "1" in loo.influential_studies
    # with the null alone nothing changes for individual counselling
    only_null = leave_one_out(res)
    ind0 = next(t for t in only_null.treatments if t.treatment == "ind_counseling")
    assert ind0.changed_by == () and ind0.robust
    # without thresholds nothing is judged
    none = leave_one_out(res, null=None, studies=["1"])
    assert all(t.conclusion is None and not t.changes_conclusion for t in none.treatments)


def test_omission_that_disconnects_or_removes_is_reported():
    data = _bridge_network()
    res = nma(data, reference="A", method="FE")
    loo = leave_one_out(res)
    assert loo.disconnecting_studies == ("S3", "S6")
    s3 = loo.step("S3")
    assert s3.unconnected == ("C", "D") and s3.absent == () and s3.unused == ("S4", "S5")
    assert s3.estimable == ("B", "E")
    c = s3.estimate_of("C")
    assert not c.estimable and "not connected to A" in c.reason and math.isnan(c.estimate)
    _assert_step_equals(s3, _direct(res, ["S1", "S2", "S4", "S5", "S6"]), "without S3")
    s6 = loo.step("S6")
    assert s6.absent == ("E",) and s6.unconnected == ()
    assert "no study" in s6.estimate_of("E").reason
    _assert_step_equals(s6, _direct(res, ["S1", "S2", "S3", "S4", "S5"]), "without S6")
    by_treatment = {t.treatment: t for t in loo.treatments}
    assert by_treatment["C"].not_estimable_without == ("S3",)
    assert by_treatment["E"].not_estimable_without == ("S6",)
    assert not by_treatment["C"].robust
    codes = {w.code: w for w in loo.warnings}
    assert codes["disconnected"].studies == ("S3",) and "C, D" in codes["disconnected"].message
    assert codes["treatment_removed"].studies == ("S6",) and "E" in codes["treatment_removed"].message
    frame = loo.to_frame()
    row = frame[(frame.omitted == "S3") & (frame.treatment == "D")].iloc[0]
    assert not row.estimable and math.isnan(row.estimate) and "not connected" in row.reason
    text = loo.summary()
    assert "not connected to the reference: C, D" in text and "D: not estimable without S3" in text


def test_omission_of_the_only_study_of_the_reference_is_a_reported_failure():
    data = _net(
        [
            _block("S1", ("R", "A"), [0.0, 0.2], [0.05, 0.05]),
            _block("S2", ("A", "B"), [0.0, 0.4], [0.04, 0.06]),
            _block("S3", ("A", "B"), [0.0, 0.1], [0.05, 0.03]),
        ]
    )
    res = nma(data, reference="R", method="DL")
    loo = leave_one_out(res)
    s1 = loo.step("S1")
    assert s1.failure is not None and "reference R" in s1.failure
    assert s1.k == 0 and not any(e.estimable for e in s1.estimates)
    assert any(w.code == "refit_failed" for w in loo.warnings)
    assert {t.treatment: t.not_estimable_without for t in loo.treatments} == {"A": ("S1",), "B": ("S1",)}
    assert "no fit" in loo.summary()


def test_refit_warnings_are_carried():
    """Refit warnings the original fit does not have are carried, grouped, naming the
    omissions: two discordant trials have tau² > 0, each alone has tau² at 0."""
    data = _net(
        [
            _block("S1", ("A", "B"), [0.0, 0.9], [0.01, 0.01]),
            _block("S2", ("A", "B"), [0.0, -0.5], [0.01, 0.01]),
        ]
    )
    res = nma(data, reference="A", method="DL")
    assert res.tau2 > 0
    loo = leave_one_out(res)
    boundary = [w for w in loo.warnings if w.code == "tau2_boundary"]
    assert boundary and set(boundary[0].studies) == {"S1", "S2"}
    assert all(s.tau2 == 0.0 for s in loo.steps)
    assert any(w.code == "no_heterogeneity_df" for w in loo.steps[0].warnings)


def test_leave_one_out_bad_input():
    res = nma(network("dat.hasselblad1998"), reference="no_contact")
    with pytest.raises(DataError, match="'nope'"):
        leave_one_out(res, studies=["1", "nope"])
    with pytest.raises(ModelError, match="mid"):
        leave_one_out(res, mid=-1.0)
    with pytest.raises(ModelError, match="nma"):
        leave_one_out(res.effects())


@functools.lru_cache(maxsize=None)
def _hasselblad_loo(method):
    return leave_one_out(nma(network("dat.hasselblad1998"), reference="no_contact", method=method))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(perm=st.permutations(list(range(24))), method=st.sampled_from(["FE", "DL"]))
def test_input_study_order_does_not_change_leave_one_out(perm, method):
    data = network("dat.hasselblad1998")
    shuffled = NetworkData(tuple(data.blocks[i] for i in perm), data.treatments, data.measure)
    a = _hasselblad_loo(method)
    b = leave_one_out(nma(shuffled, reference="no_contact", method=method))
    assert b.studies == tuple(data.studies[i] for i in perm)
    for sa in a.steps:
        sb = b.step(sa.studies[0])
        _close(sb.tau2, sa.tau2, "tau2")
        _close(sb.q, sa.q, "q")
        for ea, eb in zip(sa.estimates, sb.estimates):
            assert ea.treatment == eb.treatment
            for col in ("estimate", "se", "ci_low", "ci_high"):
                _close(getattr(eb, col), getattr(ea, col), col)
    for ta, tb in zip(a.treatments, b.treatments):
        assert (ta.min_study, ta.max_study) == (tb.min_study, tb.max_study)
        assert sorted(ta.changed_by) == sorted(tb.changed_by)


def test_leave_one_out_presentation():
    res = nma(network("dat.senn2013"), reference="placebo", method="DL")
    loo = leave_one_out(res, mid=0.5, studies=["Willms (1999)", "Hermansen (2007)"])
    frame = loo.to_frame()
    assert list(frame.columns[:8]) == ["omitted", "treatment", "estimable", "estimate", "se", "ci_low", "ci_high", "pval"]
    assert len(frame) == 2 * (res.n_treatments - 1)
    assert set(frame.omitted) == {"Willms (1999)", "Hermansen (2007)"}
    assert "tau2" in frame.columns
    # Hermansen (2007) is the only sitagliptin trial
    assert loo.step("Hermansen (2007)").absent == ("sitagliptin",)
    tf = loo.treatment_frame()
    assert list(tf.treatment) == list(res.treatments[1:])
    text = loo.summary()
    assert "Leave-one-out network meta-analysis (MD" in text and "without Willms (1999)" in text
    assert "-MID (-0.5)" in text and "sitagliptin: not estimable without Hermansen (2007)" in text
    d = loo.to_dict()
    assert d["analysis"] == "leave_one_out" and len(d["steps"]) == 2
    assert dumps(d) == dumps(leave_one_out(res, mid=0.5, studies=["Hermansen (2007)", "Willms (1999)"]).to_dict())
    json.loads(loo.to_json())
    assert "<table" in loo._repr_html_()


# ---------------------------------------------------------------------------------
# exclusions


def test_exclude_studies_equals_subset_refit():
    data = network("dat.senn2013")
    res = nma(data, reference="placebo", method="REML")
    out = exclude_studies(res, ["Lewin (2007)", "De Fronzo (1995)"], "contested extraction")
    assert out.excluded_studies == ("De Fronzo (1995)", "Lewin (2007)")  # in the order of the data
    assert all(e.reason == "contested extraction" for e in out.excluded)
    fit = _direct(res, [s for s in data.studies if s not in out.excluded_studies], data=data)
    _assert_step_equals(out.refit, fit, "exclusion")
    _assert_step_equals(out.original, res, "original")
    assert out.fit is not None and out.fit.k == res.k - 2
    cmp = out.comparison().set_index("treatment")
    eff = res.effects().set_index("treatment")
    for t in res.treatments[1:]:
        assert cmp.loc[t, "estimate_original"] == eff.loc[t, "estimate"]
        _close(cmp.loc[t, "difference"], fit.effects().set_index("treatment").loc[t, "estimate"] - eff.loc[t, "estimate"], t)
    long = out.to_frame()
    assert set(long.analysis) == {"original", "refit"} and len(long) == 2 * (res.n_treatments - 1)
    assert "contested extraction" in out.summary()
    assert dumps(out.to_dict()) == dumps(exclude_studies(res, ["De Fronzo (1995)", "Lewin (2007)"], "contested extraction").to_dict())


def test_exclude_studies_with_reasons_per_study_and_bad_names():
    res = nma(network("dat.hasselblad1998"), reference="no_contact")
    out = exclude_studies(res, ["3", "1"], {"1": "cluster randomised", "3": "mis-extracted"}, criterion="contested trials")
    assert [(e.study, e.reason) for e in out.excluded] == [("1", "cluster randomised"), ("3", "mis-extracted")]
    assert out.criterion == "contested trials"
    with pytest.raises(DataError, match="'99'"):
        exclude_studies(res, ["1", "99"], "x")
    with pytest.raises(DataError, match="no reason given for '3'"):
        exclude_studies(res, ["1", "3"], {"1": "x"})
    same = exclude_studies(res, [], "nothing")
    assert any(w.code == "nothing_excluded" for w in same.warnings)
    _assert_step_equals(same.refit, res, "nothing excluded")


def _rob():
    levels = ["low", "High", "some_concerns"]
    return {s: levels[int(s) % 3] for s in network("dat.hasselblad1998").studies}


def test_exclude_high_risk_of_bias():
    data = network("dat.hasselblad1998")
    res = nma(data, reference="no_contact", method="DL")
    rob = _rob()
    out = exclude_high_risk_of_bias(res, rob)
    high = [s for s in data.studies if rob[s] == "High"]
    assert out.excluded_studies == tuple(high)
    assert all(e.reason == "risk of bias: High" for e in out.excluded)
    _assert_step_equals(out.refit, _direct(res, [s for s in data.studies if s not in high]), "low/some")
    both = exclude_high_risk_of_bias(res, rob, levels=("high", "Some concerns"))
    assert set(both.excluded_studies) == {s for s in data.studies if rob[s] != "low"}
    _assert_step_equals(both.refit, _direct(res, [s for s in data.studies if rob[s] == "low"]), "low only")


def test_missing_risk_of_bias_judgement():
    res = nma(network("dat.hasselblad1998"), reference="no_contact", method="DL")
    rob = _rob()
    del rob["7"]
    rob["12"] = None
    with pytest.raises(DataError, match=r"'7', '12'"):
        exclude_high_risk_of_bias(res, rob)
    kept = exclude_high_risk_of_bias(res, rob, missing="keep")
    assert kept.kept_unassessed == ("7", "12") and "7" not in kept.excluded_studies
    assert any(w.code == "criterion_not_assessed" for w in kept.warnings)
    dropped = exclude_high_risk_of_bias(res, rob, missing="exclude")
    assert {"7", "12"} <= set(dropped.excluded_studies)
    assert dict((e.study, e.reason) for e in dropped.excluded)["7"] == "no risk-of-bias judgement"
    with pytest.raises(ModelError, match="missing"):
        exclude_high_risk_of_bias(res, rob, missing="ignore")


def test_exclude_before_year():
    data = network("dat.hasselblad1998")
    res = nma(data, reference="no_contact", method="DL")
    years = _hasselblad_years()
    out = exclude_before_year(res, years, 1985)
    early = [s for s in data.studies if years[s] < 1985]
    assert out.excluded_studies == tuple(early) and len(early) == 9
    assert dict((e.study, e.reason) for e in out.excluded)["1"] == "year 1974, before 1985"
    _assert_step_equals(out.refit, _direct(res, [s for s in data.studies if s not in early]), "from 1985")
    # integer study ids are matched to the network's study names
    ints = exclude_before_year(res, {int(k): v for k, v in years.items()}, 1985)
    assert ints.excluded_studies == out.excluded_studies
    # a year that leaves only late studies of some treatments reports what is lost
    # from 1993 on: three two-arm trials, one per edge (a spanning tree): tau² at 0
    late = exclude_before_year(res, years, 1993)
    assert late.refit.complete and late.refit.k == 3 and late.refit.q_df == 0
    assert late.changed_conclusions == ("grp_counseling", "ind_counseling")
    assert {"tau2_boundary", "no_heterogeneity_df"} <= {w.code for w in late.warnings}


def test_missing_year_raises_naming_the_study():
    res = nma(network("dat.hasselblad1998"), reference="no_contact")
    years = _hasselblad_years()
    del years["13"]
    with pytest.raises(DataError, match="'13'"):
        exclude_before_year(res, years, 1985)
    kept = exclude_before_year(res, years, 1985, missing="keep")
    assert kept.kept_unassessed == ("13",)
    years["13"] = "late eighties"
    with pytest.raises(DataError, match="'13'.*not a number"):
        exclude_before_year(res, years, 1985)


def test_exclusion_that_disconnects():
    res = nma(_bridge_network(), reference="A", method="FE")
    out = exclude_studies(res, ["S3"], "obsolete technique", mid=0.2)
    assert out.refit.unconnected == ("C", "D")
    assert set(out.changed_conclusions) >= {"C", "D"}
    assert any(w.code == "disconnected" for w in out.warnings)
    cmp = out.comparison().set_index("treatment")
    assert not cmp.loc["C", "estimable"] and math.isnan(cmp.loc["C", "difference"])
    assert "not estimable" in out.summary()


# ---------------------------------------------------------------------------------
# cumulative


@pytest.mark.parametrize(
    "ds,ref,method,years",
    [
        ("dat.hasselblad1998", "no_contact", "DL", _hasselblad_years),
        ("dat.senn2013", "placebo", "FE", _senn_years),
        ("dat.senn2013", "placebo", "REML", _senn_years),
    ],
)
def test_cumulative_steps_equal_direct_refits(ds, ref, method, years):
    data = network(ds)
    res = nma(data, reference=ref, method=method)
    years = years()
    cum = cumulative(res, years, order_by="year")
    keys = sorted(set(years[s] for s in data.studies))
    assert [s.key for s in cum.steps] == keys
    so_far = []
    for step in cum.steps:
        assert sorted(step.studies) == sorted(s for s in data.studies if years[s] == step.key)
        so_far += list(step.studies)
        sub = data.subset(studies=so_far)
        if ref not in sub.treatments:
            assert step.failure is not None and f"reference {ref}" in step.failure
            continue
        if method == "REML" and len(so_far) < 22:
            continue  # (keep the test fast: the late REML steps suffice)
        _assert_step_equals(step, _direct(res, so_far, data=data), f"{ds} {step.label}")
    # the last step is the full fit
    _assert_step_equals(cum.final, res, "final")
    assert cum.final.complete and cum.final.k == res.k


def test_cumulative_ties_and_not_yet_estimable():
    res = nma(network("dat.hasselblad1998"), reference="no_contact", method="DL")
    cum = cumulative(res, _hasselblad_years(), order_by="year")
    by_year = {s.key: s for s in cum.steps}
    # three trials of 1983 come in together, listed in natural order
    assert by_year[1983].studies == ("2", "10", "21")
    first = cum.steps[0]
    assert first.key == 1974 and first.estimable == ("ind_counseling",)
    assert first.estimate_of("self_help").reason == "no study in this analysis includes it"
    assert cum.first_estimable() == {"grp_counseling": 1983, "ind_counseling": 1974, "self_help": 1986}
    assert not any(w.code in ("treatment_removed", "disconnected") for w in cum.warnings)
    assert any(w.code == "tau2_boundary" and w.studies == ("1",) for w in cum.warnings)
    frame = cum.to_frame()
    assert list(frame.columns[:5]) == ["step", "key", "added", "treatment", "estimable"]
    assert len(frame) == len(cum.steps) * 3
    assert frame[frame.step == 4].added.iloc[0] == "2, 10, 21"
    text = cum.summary()
    assert "Cumulative network meta-analysis by year" in text and "not estimable yet: grp_counseling, self_help" in text
    assert dumps(cum.to_dict()) == dumps(cumulative(res, dict(reversed(list(_hasselblad_years().items()))), order_by="year").to_dict())


def test_cumulative_reference_and_connection_over_time():
    res = nma(_bridge_network(), reference="A", method="FE")
    order = {"S4": 1, "S3": 2, "S1": 3, "S6": 4, "S2": 5, "S5": 5}
    cum = cumulative(res, order)
    s1, s2, s3 = cum.steps[:3]
    assert s1.failure is not None and "reference A" in s1.failure and s1.k == 0
    assert s2.failure is not None
    assert s3.failure is None and set(s3.estimable) == {"B", "C", "D"} and s3.absent == ("E",)
    assert cum.steps[-1].studies == ("S2", "S5")
    _assert_step_equals(cum.final, res, "final")
    assert not any(w.code == "refit_failed" for w in cum.warnings)


def test_cumulative_missing_values():
    res = nma(network("dat.hasselblad1998"), reference="no_contact", method="FE")
    years = _hasselblad_years()
    del years["24"]
    years["5"] = float("nan")
    with pytest.raises(DataError, match=r"'5', '24'"):
        cumulative(res, years, order_by="year")
    last = cumulative(res, years, order_by="year", missing="last")
    assert last.steps[-1].key is None and last.steps[-1].studies == ("5", "24")
    _assert_step_equals(last.final, res, "final with missing last")
    ex = cumulative(res, years, order_by="year", missing="exclude")
    assert [e.study for e in ex.excluded] == ["5", "24"]
    assert ex.final.k == res.k - 2
    with pytest.raises(DataError, match="cannot be ordered"):
        cumulative(res, {**_hasselblad_years(), "3": "early"})
