"""Mantel-Haenszel network meta-analysis (netgrade.network.mantel_haenszel).

Reference: netmeta 3.3-1 ``netmetabin(pairwise(...), method = 'MH')`` on
dat.hasselblad1998 (expected(...)["netmeta"]["netmetabin_MH"]), a closed form: every
value to a relative 1e-8, including the stage-I exclusions netmeta warns about (the
no_contact arm of design grp_counseling:no_contact has no events; the design is then
left with one arm and is excluded).  Properties: with one study per design the MH
network equals the inverse-variance network (the Robins-Breslow-Greenland variance of
one table is Woolf's); with two treatments it is the pairwise Mantel-Haenszel
estimate; input order and study labels do not matter; exclusions are listed.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgrade.data.readers import read_arms
from netgrade.errors import DataError, ModelError
from netgrade.network import network_from_arms, nma
from netgrade.network.mantel_haenszel import MHNMAResult, design_estimates, mh_nma
from netgrade.pairwise.mantel_haenszel import mantel_haenszel
from tests.reference import CLOSED, assert_close, data_path, expected

DS = "dat.hasselblad1998"
REF = expected(DS)["netmeta"]["netmetabin_MH"]
COLS = {"study": "study", "treatment": "trt", "events": "xi", "n": "ni"}
FIELDS = ["TE", "seTE", "lower", "upper", "statistic", "pval"]
OURS = {"TE": "estimate", "seTE": "se", "lower": "ci_low", "upper": "ci_high", "statistic": "z", "pval": "pval"}


def _frame(df: pd.DataFrame | None = None):
    df = pd.read_csv(data_path(DS)) if df is None else df
    return read_arms(df, COLS)


@functools.lru_cache(maxsize=None)
def _mh() -> MHNMAResult:
    return mh_nma(_frame(), reference=expected(DS)["reference"], order=REF["treatments"])


def _none(values):
    return [math.nan if v is None else v for v in values]


# ---------------------------------------------------------------------------------
# netmeta's netmetabin(method = "MH")

CHECKED = {
    "call", "treatments", "common_vs_reference", "league_common", "Q", "df_Q", "pval_Q",
    "Q_inconsistency", "df_Q_inconsistency",
}


def test_every_netmetabin_reference_value_is_checked():
    assert set(REF) == CHECKED, set(REF) ^ CHECKED
    assert set(REF["common_vs_reference"]) == {"treatment", *FIELDS}
    assert set(REF["league_common"]) == set(FIELDS)


def test_call_and_treatments():
    assert REF["call"] == "netmetabin(pairwise(...), method = 'MH')"
    res = _mh()
    assert list(res.treatments) == REF["treatments"]
    assert res.reference == expected(DS)["reference"] == REF["common_vs_reference"]["treatment"][0]
    assert res.method == "MH" and res.measure == "OR"


@pytest.mark.parametrize("field", FIELDS)
def test_common_vs_reference(field):
    ref = REF["common_vs_reference"]
    eff = _mh().effects().set_index("treatment").loc[ref["treatment"]]
    ours = eff[OURS[field]].tolist()
    if field in ("statistic", "pval"):
        # netmeta: NA for the reference against itself
        assert ref[field][0] is None and math.isnan(ours[0])
        assert_close(ours[1:], ref[field][1:], CLOSED, f"common_vs_reference/{field}")
    else:
        assert_close(ours, ref[field], CLOSED, f"common_vs_reference/{field}")


@pytest.mark.parametrize("field", FIELDS)
def test_league_common(field):
    lg = _mh().league()
    assert list(lg.treatments) == REF["treatments"]
    with np.errstate(invalid="ignore", divide="ignore"):
        ours = {"TE": lg.est, "seTE": lg.se, "lower": lg.ci_low, "upper": lg.ci_high,
                "statistic": lg.est / lg.se, "pval": lg.pval}[field]
    ref = np.array([_none(row) for row in REF["league_common"][field]], float)
    mask = np.isfinite(ref)
    assert np.array_equal(mask, np.isfinite(ours)), field
    assert_close(np.asarray(ours)[mask].tolist(), ref[mask].tolist(), CLOSED, f"league_common/{field}")
    # the prediction interval of a common-effect model is the confidence interval
    np.testing.assert_array_equal(lg.pi_low, lg.ci_low)


def test_q_of_inconsistency_and_no_total_q():
    res = _mh()
    assert_close(res.q_inconsistency, REF["Q_inconsistency"], CLOSED, "Q_inconsistency")
    assert res.q_inconsistency_df == REF["df_Q_inconsistency"] == 6
    from scipy import stats

    assert_close(res.q_inconsistency_pval, stats.chi2.sf(REF["Q_inconsistency"], 6), CLOSED, "pval_Q_inconsistency")
    # no heterogeneity (and so no total) Q for the MH model, as in netmeta
    assert REF["Q"] is None and REF["df_Q"] is None and REF["pval_Q"] is None
    assert not hasattr(res, "q") and not hasattr(res, "tau2")


def test_exclusions_are_listed_as_netmeta_warns():
    """netmeta: "Treatment arm 'no_contact' without events in design
    'grp_counseling:no_contact' excluded ..." and "Design 'grp_counseling:no_contact'
    with single treatment arm excluded ..." -- both listed, never silent."""
    msgs = [w["message"] for w in expected(DS)["warnings"] if w["where"].endswith("netmetabin MH")]
    assert len(msgs) == 2
    assert "Treatment arm 'no_contact' without events in design 'grp_counseling:no_contact'" in msgs[0]
    assert "Design 'grp_counseling:no_contact' with single treatment arm excluded" in msgs[1]
    res = _mh()
    arm = [w for w in res.warnings if w.code == "mh_arm_excluded"]
    design = [w for w in res.warnings if w.code == "mh_design_excluded"]
    assert len(arm) == 1 and "'no_contact' without events in design 'grp_counseling:no_contact'" in arm[0].message
    assert len(design) == 1 and "'grp_counseling:no_contact'" in design[0].message
    assert arm[0].studies == design[0].studies == ("19",)
    assert [e.study for e in res.excluded] == ["19"]
    assert "19" not in res.studies and res.k == 23
    assert "excluded: 19" in res.summary()
    d = json.loads(res.to_json())
    assert d["excluded"][0]["study"] == "19"
    # rabkin (study 5) has no quitters under no_contact, but its design has: kept
    assert "5" in res.studies


def test_design_level_estimates_are_exposed():
    res = _mh()
    tab = res.design_table()
    assert set(tab["design"]) == {d.design for d in res.designs}
    assert len(res.designs) == 7 and "grp_counseling:no_contact" not in tab["design"].tolist()
    three = [d for d in res.designs if len(d.treatments) == 3]
    assert {d.design for d in three} == {"grp_counseling:ind_counseling:no_contact", "grp_counseling:ind_counseling:self_help"}


# ---------------------------------------------------------------------------------
# properties


def test_one_study_per_design_equals_the_inverse_variance_network():
    """For a single 2x2 table the MH estimate is the study's log OR and the RBG variance
    is Woolf's; for a single multi-arm study the covariance is the shared arm's
    1/a + 1/b: the MH network of one study per design is the common-effect NMA."""
    df = pd.read_csv(data_path(DS))
    sub = _frame(df[df["study"].isin([1, 2, 6, 9, 11, 14, 16])])
    a = mh_nma(sub, reference="no_contact")
    b = nma(network_from_arms(sub, "OR"), reference="no_contact", method="FE")
    idx = [b.treatments.index(t) for t in a.treatments]
    assert_close(a.treatment_effects().tolist(), b.treatment_effects()[idx].tolist(), CLOSED, "est", atol=1e-14)
    assert_close(a.treatment_covariance().tolist(), b.treatment_covariance()[np.ix_(idx, idx)].tolist(), CLOSED, "cov", atol=1e-16)
    assert_close(a.q_inconsistency, b.q, CLOSED, "Q")
    ev, n = np.array([[9.0, 23.0, 10.0]]), np.array([[140.0, 140.0, 138.0]])
    _, est, V = design_estimates(ev, n - ev, n)
    v = 1 / ev[0] + 1 / (n[0] - ev[0])
    np.testing.assert_allclose(np.diag(V), v[1:] + v[0], rtol=1e-13)
    np.testing.assert_allclose(V[0, 1], v[0], rtol=1e-13)


def test_two_treatments_give_the_pairwise_mantel_haenszel_estimate():
    df = pd.read_csv(data_path(DS))
    two = df[df["trt"].isin(["no_contact", "ind_counseling"])]
    two = two[two.groupby("study")["trt"].transform("count") == 2]
    res = mh_nma(_frame(two), reference="no_contact")
    wide = two.pivot(index="study", columns="trt", values=["xi", "ni"])
    pw = mantel_haenszel(wide["xi"]["ind_counseling"], n1i=wide["ni"]["ind_counseling"],
                         ci=wide["xi"]["no_contact"], n2i=wide["ni"]["no_contact"], measure="OR")
    assert_close(res.coef[0], pw.estimate, CLOSED, "log OR")
    assert_close(math.sqrt(res.vcov[0, 0]), pw.se, CLOSED, "se")
    assert res.q_inconsistency_df == 0 and math.isnan(res.q_inconsistency_pval)


@settings(max_examples=10, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(list(range(50))))
def test_row_order_and_study_labels_do_not_matter(perm):
    df = pd.read_csv(data_path(DS)).iloc[list(perm)].reset_index(drop=True)
    df["study"] = "trial " + (100 - df["study"]).astype(str)
    res = mh_nma(_frame(df), reference="no_contact", order=REF["treatments"])
    base = _mh()
    np.testing.assert_allclose(res.coef, base.coef, rtol=1e-12)
    np.testing.assert_allclose(res.vcov, base.vcov, rtol=1e-12)
    assert res.q_inconsistency == pytest.approx(base.q_inconsistency, rel=1e-12)
    assert [e.study for e in res.excluded] == ["trial 81"]


def test_reference_and_order_only_change_the_presentation():
    base = _mh()
    other = mh_nma(_frame(), reference="self_help")
    assert other.treatments[0] == "self_help"
    a, b = base.league(), other.league()
    ix = [b.treatments.index(t) for t in a.treatments]
    np.testing.assert_allclose(b.est[np.ix_(ix, ix)], a.est, atol=1e-13)
    np.testing.assert_allclose(b.se[np.ix_(ix, ix)], a.se, rtol=1e-12)
    default = mh_nma(_frame())
    assert default.reference == "grp_counseling" and any(w.code == "default_reference" for w in default.warnings)


def test_studies_without_any_event_are_excluded_with_their_reason():
    df = pd.read_csv(data_path(DS))
    extra = pd.DataFrame({"id": [51, 52, 53, 54], "study": [25, 25, 26, 26], "authors": ["X", "X", "Y", "Y"],
                          "year": [2000] * 4, "trt": ["no_contact", "self_help", "no_contact", "self_help"],
                          "xi": [0, 0, 30, 40], "ni": [50, 60, 30, 40]})
    res = mh_nma(_frame(pd.concat([df, extra])), reference="no_contact", order=REF["treatments"])
    reasons = {e.study: e.reason for e in res.excluded}
    assert "no events in any arm" in reasons["25"] and "only events in every arm" in reasons["26"]
    assert any(w.code == "mh_studies_without_information" and w.studies == ("25", "26") for w in res.warnings)
    base = _mh()
    np.testing.assert_allclose(res.coef, base.coef, rtol=1e-13)


def test_cc_pooled_adds_the_increment_to_the_whole_design_instead_of_excluding():
    res = mh_nma(_frame(), reference="no_contact", order=REF["treatments"], cc_pooled=True, incr=0.5)
    assert not any(w.code in ("mh_arm_excluded", "mh_design_excluded") for w in res.warnings)
    cc = [w for w in res.warnings if w.code == "continuity_correction"]
    assert len(cc) == 1 and cc[0].studies == ("19",)
    assert "19" in res.studies and len(res.designs) == 8 and res.q_inconsistency_df == 7
    d = [x for x in res.designs if x.design == "grp_counseling:no_contact"][0]
    # one study: the corrected log OR (0.5/20.5) / (9.5/11.5) of no_contact vs grp_counseling
    assert d.treatments == ("grp_counseling", "no_contact")
    assert d.estimate[0] == pytest.approx(math.log(0.5 * 11.5 / (20.5 * 9.5)), rel=1e-12)
    with pytest.raises(ModelError, match="positive incr"):
        mh_nma(_frame(), cc_pooled=True, incr=0)


def test_a_network_broken_by_stage_one_is_an_error():
    df = pd.read_csv(data_path(DS))
    # study 19 (grp_counseling vs no_contact) is the only link between {no_contact,
    # ind_counseling} and {self_help, grp_counseling}; stage I removes it
    keep = df[df["study"].isin([1, 19, 16])]
    with pytest.raises(ModelError, match="2 sub-networks"):
        mh_nma(_frame(keep), reference="no_contact")
    # a treatment that loses all its arms is reported
    res = mh_nma(_frame(df[df["study"].isin([1, 19])]), reference="no_contact")
    assert res.treatments == ("no_contact", "ind_counseling")
    assert any(w.code == "mh_treatment_lost" and "grp_counseling" in w.message for w in res.warnings)


def test_direction_and_pscores():
    res = _mh()
    up = res.p_scores(larger_better=True)
    down = res.p_scores(larger_better=False)
    np.testing.assert_allclose(np.asarray(up.p_score) + np.asarray(down.p_score), 1.0, rtol=1e-12)
    assert res.larger_better is False
    assert up.as_dict()["ind_counseling"] > up.as_dict()["no_contact"]


def test_validation():
    with pytest.raises(DataError, match="event counts"):
        mh_nma(read_arms(data_path("dat.senn2013"), {"mean": "mi", "sd": "sdi", "n": "ni"}))
    with pytest.raises(DataError, match="arm-level event counts"):
        mh_nma([1, 2])
    with pytest.raises(ModelError, match="level"):
        mh_nma(_frame(), level=2)
    with pytest.raises(ModelError, match="not in the network"):
        mh_nma(_frame(), reference="acupuncture")
    with pytest.raises(ModelError, match="missing"):
        mh_nma(_frame(), reference="no_contact", order=["no_contact", "self_help"])
    text = _mh().summary()
    assert "Mantel-Haenszel" in text and "Q between designs" in text
    assert len(_mh().to_frame()) == 4 and "<pre>" in _mh()._repr_html_()
