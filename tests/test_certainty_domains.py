"""The six CINeMA domain rules, each at its boundaries.

Rules from Nikolakopoulou et al. 2020 (PLoS Med 17:e1003082) and the CINeMA software
(Papakonstantinou et al. 2020, Campbell Syst Rev 16:e1080); GRADE 34 (Zeng et al. 2022)
for the alternative imprecision scheme.  A limit exactly on a boundary touches it
without crossing it; p-values exactly at a cut-off are not below it.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from netgrade.certainty import domains as D
from netgrade.certainty.types import CONCERNS, Outcome, Thresholds
from netgrade.errors import DataError, SpecError

EPS = 1e-9
MID = 0.5
TR = ("drug", "placebo")


def md(target: str = "mid", larger_better: bool = False, thresholds: Thresholds | None = None) -> Outcome:
    return Outcome("HbA1c", "MD", larger_better, thresholds or Thresholds.from_mid(MID), unit="%", target=target)


def check(j, domain: str, level: str):
    assert j.domain == domain
    assert j.computed == level, j.rule
    assert j.level == level
    assert j.rule and isinstance(j.numbers, dict) and j.numbers
    assert j.computed in CONCERNS


# ---------------------------------------------------------------------------------
# within-study bias and indirectness


class TestStudyLevels:
    @pytest.mark.parametrize(
        "value, level",
        [("low", "low"), ("L", "low"), (1, "low"), ("1", "low"), (1.0, "low"), ("no concerns", "low"),
         ("some concerns", "some concerns"), ("unclear", "some concerns"), ("U", "some concerns"), (2, "some concerns"),
         ("high", "high"), ("H", "high"), (3, "high"), ("major concerns", "high"), ("High risk", "high")],
    )
    def test_aliases(self, value, level):
        assert D.study_level(value) == level

    @pytest.mark.parametrize("value", ["medium", 4, "", "x"])
    def test_unknown(self, value):
        with pytest.raises(SpecError, match="study-level judgement"):
            D.study_level(value)


class TestMajority:
    def test_plurality_not_majority(self):
        # no level reaches 50%: the largest share wins
        j = D.within_study_bias({"a": 40, "b": 35, "c": 25}, {"a": "high", "b": "low", "c": "some concerns"})
        check(j, "within-study bias", "major concerns")
        assert j.numbers["share_high"] == pytest.approx(40)
        assert "majority rule" in j.rule

    def test_exactly_fifty_fifty_ties_to_less_serious_like_cinema(self):
        j = D.within_study_bias({"a": 50, "b": 50}, {"a": "low", "b": "high"})
        check(j, "within-study bias", "no concerns")
        assert j.numbers["tied_levels"] == ["low", "high"]
        assert "tie" in j.rule

    def test_tie_higher_option(self):
        j = D.within_study_bias({"a": 50, "b": 50}, {"a": "low", "b": "high"}, tie="higher")
        check(j, "within-study bias", "major concerns")

    def test_three_way_tie(self):
        contrib = {"a": 100 / 3, "b": 100 / 3, "c": 100 / 3}
        rob = {"a": "low", "b": "some concerns", "c": "high"}
        assert D.within_study_bias(contrib, rob).computed == "no concerns"
        assert D.within_study_bias(contrib, rob, tie="higher").computed == "major concerns"

    def test_just_above_fifty_is_no_tie(self):
        j = D.within_study_bias({"a": 50 - 1e-6, "b": 50 + 1e-6}, {"a": "low", "b": "high"})
        check(j, "within-study bias", "major concerns")
        assert j.numbers["tied_levels"] == ["high"]
        j = D.within_study_bias({"a": 50 + 1e-6, "b": 50 - 1e-6}, {"a": "low", "b": "high"}, tie="higher")
        check(j, "within-study bias", "no concerns")

    def test_several_studies_per_level_are_summed(self):
        contrib = {"a": 30, "b": 30, "c": 40}
        rob = {"a": "some concerns", "b": "some concerns", "c": "low"}
        check(D.within_study_bias(contrib, rob), "within-study bias", "some concerns")

    def test_shares_relative_to_their_sum(self):
        j = D.within_study_bias({"a": 2, "b": 1}, {"a": "some", "b": "low"})
        check(j, "within-study bias", "some concerns")
        assert j.numbers["share_some_concerns"] == pytest.approx(200 / 3)
        assert "sum to 3%" in j.rule


class TestAverage:
    rob = {"a": "low", "b": "some concerns", "c": "high"}

    def test_exactly_one_and_a_half_rounds_up(self):
        j = D.within_study_bias({"a": 50, "b": 50}, self.rob, rule="average")
        check(j, "within-study bias", "some concerns")
        assert j.numbers["mean_score"] == 1.5

    def test_just_below_one_and_a_half(self):
        j = D.within_study_bias({"a": 50 + 1e-6, "b": 50 - 1e-6}, self.rob, rule="average")
        check(j, "within-study bias", "no concerns")
        assert j.numbers["mean_score"] < 1.5

    def test_exactly_two_and_a_half(self):
        check(D.within_study_bias({"b": 50, "c": 50}, self.rob, rule="average"), "within-study bias", "major concerns")

    def test_just_below_two_and_a_half(self):
        j = D.within_study_bias({"b": 50 + 1e-6, "c": 50 - 1e-6}, self.rob, rule="average")
        check(j, "within-study bias", "some concerns")

    def test_weighted_mean_by_hand(self):
        # 20% low, 30% some, 50% high: 0.2 + 0.6 + 1.5 = 2.3 -> some concerns
        j = D.within_study_bias({"a": 20, "b": 30, "c": 50}, self.rob, rule="average")
        assert j.numbers["mean_score"] == pytest.approx(2.3)
        check(j, "within-study bias", "some concerns")


class TestHighest:
    def test_any_contributing_high(self):
        j = D.within_study_bias({"a": 99.9, "b": 0.1}, {"a": "low", "b": "high"}, rule="highest")
        check(j, "within-study bias", "major concerns")
        assert "b" in j.rule

    def test_zero_contribution_is_ignored_even_without_a_judgement(self):
        j = D.within_study_bias({"a": 100, "b": 0.0, "c": 0}, {"a": "low", "c": "high"}, rule="highest")
        check(j, "within-study bias", "no concerns")
        assert set(j.numbers["studies"]) == {"a"}

    def test_all_low(self):
        check(D.within_study_bias({"a": 60, "b": 40}, {"a": 1, "b": "L"}, rule="highest"), "within-study bias", "no concerns")


class TestContributionErrors:
    def test_missing_judgement_names_the_studies(self):
        with pytest.raises(DataError, match=r"'b', 'c'.*does not guess"):
            D.within_study_bias({"a": 50, "b": 30, "c": 20}, {"a": "low"})

    def test_unknown_rule(self):
        with pytest.raises(SpecError, match="majority, average, highest"):
            D.within_study_bias({"a": 100}, {"a": "low"}, rule="worst")

    def test_negative_or_nan_contribution(self):
        with pytest.raises(DataError, match="must be a number >= 0"):
            D.within_study_bias({"a": -1, "b": 101}, {"a": "low", "b": "low"})
        with pytest.raises(DataError, match="must be a number >= 0"):
            D.within_study_bias({"a": math.nan}, {"a": "low"})

    def test_no_contribution(self):
        with pytest.raises(DataError, match="no study contributes"):
            D.within_study_bias({"a": 0}, {"a": "low"})

    def test_bad_tie(self):
        with pytest.raises(SpecError, match="tie"):
            D.within_study_bias({"a": 100}, {"a": "low"}, tie="random")


def test_indirectness_uses_the_same_machinery():
    contrib = {"a": 30, "b": 70}
    ind = {"a": "low", "b": "some concerns"}
    for rule in D.CONTRIBUTION_RULES:
        j = D.indirectness(contrib, ind, rule)
        b = D.within_study_bias(contrib, ind, rule)
        assert j.domain == "indirectness"
        assert j.computed == b.computed == "some concerns"
        assert "indirectness" in j.rule
    with pytest.raises(DataError, match="indirectness"):
        D.indirectness(contrib, {"a": "low"})


# ---------------------------------------------------------------------------------
# reporting bias


class TestReportingBias:
    @pytest.mark.parametrize(
        "word, level",
        [("undetected", "no concerns"), ("suspected", "some concerns"), ("Strongly suspected", "major concerns"),
         ("strongly_suspected", "major concerns"), ("some concerns", "some concerns"), ("no", "no concerns")],
    )
    def test_words(self, word, level):
        check(D.reporting_bias(word), "reporting bias", level)

    def test_unknown(self):
        with pytest.raises(SpecError, match="undetected"):
            D.reporting_bias("likely")

    def test_funnel_test_recorded_never_applied(self):
        j = D.reporting_bias("undetected", {"pval": 0.03, "stat": 2.4, "k": 26})
        check(j, "reporting bias", "no concerns")
        assert j.numbers["funnel_test"] == {"pval": 0.03, "stat": 2.4, "k": 26}
        assert "suspected" in j.numbers["suggestion"]
        assert "not applied" in j.rule
        assert "low_power" not in j.numbers

    def test_suggestion_boundary_and_power(self):
        j = D.reporting_bias("undetected", SimpleNamespace(pval=0.10, stat=1.6, k=9, model="lm"))
        assert "suggestion" not in j.numbers  # p exactly at 0.10 is not below it
        assert "low power" in j.numbers["low_power"]
        assert j.numbers["funnel_test"]["model"] == "lm"
        j = D.reporting_bias("undetected", SimpleNamespace(pval=0.10 - EPS, stat=1.6, k=12))
        assert "suggestion" in j.numbers

    def test_strongly_suspected_without_test_signal(self):
        j = D.reporting_bias("strongly suspected", {"pval": 0.6})
        check(j, "reporting bias", "major concerns")
        assert "state what makes" in j.numbers["suggestion"]

    def test_funnel_test_needs_a_p_value(self):
        with pytest.raises(SpecError, match="p-value"):
            D.reporting_bias("undetected", {"stat": 1.0})


# ---------------------------------------------------------------------------------
# the judgement scale


class TestRiskDifference:
    def test_by_hand(self):
        # OR 2 at p0 = 0.2: p1 = 0.4 / (0.8 + 0.4) = 1/3 -> 133.33 per 1,000
        assert D.risk_difference_per_1000(math.log(2), "OR", 0.2) == pytest.approx(1000 / 3 - 200, rel=1e-12)
        # RR 0.5 at 0.2: p1 = 0.1 -> -100
        assert D.risk_difference_per_1000(math.log(0.5), "RR", 0.2) == pytest.approx(-100, rel=1e-12)
        # HR 2 at 0.2: p1 = 1 - 0.8^2 = 0.36 -> 160
        assert D.risk_difference_per_1000(math.log(2), "HR", 0.2) == pytest.approx(160, rel=1e-12)
        # natural scale input, and the null maps to zero
        assert D.risk_difference_per_1000(2.0, "OR", 0.2, log_scale=False) == pytest.approx(1000 / 3 - 200)
        assert D.risk_difference_per_1000(0.0, "OR", 0.37) == 0.0
        # RD: already a risk difference
        assert D.risk_difference_per_1000(0.05, "RD", None) == pytest.approx(50)
        # a risk ratio cannot push the risk above 100%
        assert D.risk_difference_per_1000(math.log(10), "RR", 0.2) == pytest.approx(800)

    def test_vectorised_and_monotone(self):
        x = np.log([0.5, 0.8, 1.0, 1.25, 2.0])
        out = D.risk_difference_per_1000(x, "OR", 0.1)
        assert isinstance(out, np.ndarray) and np.all(np.diff(out) > 0)
        assert out[2] == 0.0

    def test_errors(self):
        with pytest.raises(SpecError, match="baseline risk"):
            D.risk_difference_per_1000(0.1, "OR", None)
        with pytest.raises(SpecError, match="baseline risk"):
            D.risk_difference_per_1000(0.1, "RR", 1.0)
        with pytest.raises(SpecError, match="not a ratio measure"):
            D.risk_difference_per_1000(0.1, "MD", 0.2)

    def test_to_judgement_scale(self):
        assert D.to_judgement_scale(-0.3, md()) == -0.3
        o = Outcome("death", "OR", False, Thresholds(20), baseline_risk=0.1)
        assert D.to_judgement_scale(math.log(0.5), o) == pytest.approx(1000 * (0.05 / 0.95 - 0.1))
        with pytest.raises(SpecError, match="baseline_risk"):
            D.to_judgement_scale(0.1, Outcome("death", "RR", False, Thresholds(20)))
        with pytest.raises(SpecError, match="no judgement scale"):
            D.to_judgement_scale(0.1, Outcome("x", "ROM", True, Thresholds(0.1)))
        assert "per 1,000" in D.judgement_scale_label(o)

    def test_imprecision_of_an_odds_ratio_on_the_absolute_scale(self):
        # OR 0.7 (0.5 to 0.9), baseline risk 10%, MID 20 per 1,000:
        # 0.5 -> 0.05/0.95 - 0.1 = -47.37; 0.9 -> 0.09/0.99 - 0.1 = -9.09 per 1,000: crosses -20 only
        o = Outcome("death", "OR", False, Thresholds(20), baseline_risk=0.1)
        lo, est, hi = D.to_judgement_scale(np.log([0.5, 0.7, 0.9]), o)
        assert lo == pytest.approx(-47.368421, rel=1e-6) and hi == pytest.approx(-9.090909, rel=1e-6)
        j = D.imprecision(est, lo, hi, o, treatments=("drug", "placebo"))
        check(j, "imprecision", "some concerns")
        assert "favouring drug" in j.rule  # fewer deaths with the drug


# ---------------------------------------------------------------------------------
# imprecision


class TestImprecisionMid:
    @pytest.mark.parametrize(
        "lo, hi, level",
        [
            (-1.0, -MID - EPS, "no concerns"),  # entirely beyond -MID
            (-1.0, -MID, "no concerns"),  # touches -MID: not crossed
            (-1.0, -MID + EPS, "some concerns"),  # just crosses -MID
            (-MID + EPS, MID - EPS, "no concerns"),  # entirely within the range of equivalence
            (-MID, MID, "no concerns"),  # exactly the range: nothing crossed
            (-MID - EPS, MID - EPS, "some concerns"),
            (-MID - EPS, MID + EPS, "major concerns"),  # both crossed
            (MID, 2.0, "no concerns"),
            (MID - EPS, 2.0, "some concerns"),
            (MID + EPS, 2.0, "no concerns"),
        ],
    )
    def test_boundaries(self, lo, hi, level):
        j = D.imprecision((lo + hi) / 2, lo, hi, md(), treatments=TR)
        check(j, "imprecision", level)
        assert j.numbers["boundaries"] == [-MID, MID]
        assert j.numbers["n_crossed"] == CONCERNS.index(level)

    def test_direction_only_names_the_sides(self):
        a = D.imprecision(-1.0, -1.2, -0.8, md(larger_better=False), treatments=TR)
        b = D.imprecision(-1.0, -1.2, -0.8, md(larger_better=True), treatments=TR)
        assert a.computed == b.computed == "no concerns"
        assert "favouring drug" in a.rule and "favouring placebo" in b.rule

    def test_invalid_intervals(self):
        with pytest.raises(DataError, match="above the upper"):
            D.imprecision(0, 1, -1, md())
        with pytest.raises(DataError, match="outside its interval"):
            D.imprecision(2, -1, 1, md())
        with pytest.raises(DataError, match="finite"):
            D.imprecision(0, -math.inf, 1, md())
        with pytest.raises(SpecError, match="scheme"):
            D.imprecision(0, -1, 1, md(), scheme="gradepro")


class TestImprecisionNull:
    o = md(target="null")

    @pytest.mark.parametrize(
        "est, lo, hi, level",
        [
            (-0.8, -1.0, -EPS, "no concerns"),  # does not reach the null
            (-0.8, -1.0, 0.0, "no concerns"),  # touches the null
            (-0.8, -1.0, EPS, "some concerns"),  # crosses the null only
            (-0.6, -1.0, MID - EPS, "some concerns"),
            (-0.6, -1.0, MID, "some concerns"),  # touches the opposite MID
            (-0.6, -1.0, MID + EPS, "major concerns"),  # null and the opposite MID
            (0.8, -EPS, 1.0, "some concerns"),  # positive estimate: boundaries -MID and 0
            (0.6, -MID - EPS, 1.0, "major concerns"),
            (-0.1, -MID + EPS, 0.3, "no concerns"),  # strictly inside the range of equivalence
            (-0.1, -MID, 0.3, "some concerns"),  # on -MID: not strictly inside; crosses the null
            (0.1, -0.3, MID - EPS, "no concerns"),
            (0.0, -MID - EPS, MID - EPS, "major concerns"),  # estimate on the null: both MIDs count
            (0.0, -MID + EPS, MID + EPS, "major concerns"),
            (0.0, -0.2, 0.2, "no concerns"),
        ],
    )
    def test_boundaries(self, est, lo, hi, level):
        check(D.imprecision(est, lo, hi, self.o, treatments=TR), "imprecision", level)

    def test_rule_names_the_boundaries(self):
        j = D.imprecision(-0.6, -1.0, 0.6, self.o, treatments=TR)
        assert j.numbers["boundaries"] == [0.0, MID]
        assert "line of no effect" in j.rule


class TestImprecisionGrade34:
    o = md(thresholds=Thresholds(0.5, 1.0, 1.5))

    @pytest.mark.parametrize(
        "lo, hi, n, level",
        [
            (-0.9, -0.6, 0, "no concerns"),  # within the 'small' category
            (-1.0, -0.6, 0, "no concerns"),  # touches the moderate threshold
            (-1.0 - EPS, -0.6, 1, "some concerns"),
            (-1.0 - EPS, -0.5 + EPS, 2, "major concerns"),
            (-1.6, -0.6, 2, "major concerns"),
            (-0.4, 0.4, 0, "no concerns"),  # trivial
            (-2.0, 2.0, 6, "major concerns"),
        ],
    )
    def test_thresholds(self, lo, hi, n, level):
        j = D.imprecision((lo + hi) / 2, lo, hi, self.o, scheme="grade34", treatments=TR)
        check(j, "imprecision", level)
        assert j.numbers["n_crossed"] == n
        assert j.numbers["grade_levels"] == min(n, 3)
        assert j.numbers["ois_checked"] is False

    def test_three_levels_noted(self):
        j = D.imprecision(0.0, -2.0, 2.0, self.o, scheme="grade34")
        assert "three levels" in j.rule

    def test_only_the_mid_given(self):
        j = D.imprecision(-0.7, -0.9, -0.4, md(thresholds=Thresholds(MID)), scheme="grade34")
        assert j.numbers["boundaries"] == [-0.5, 0.5]
        check(j, "imprecision", "some concerns")

    def test_needs_target_mid(self):
        with pytest.raises(SpecError, match="minimally contextualised"):
            D.imprecision(0.0, -1, 1, md(target="null"), scheme="grade34")


# ---------------------------------------------------------------------------------
# heterogeneity


class TestHeterogeneity:
    @pytest.mark.parametrize(
        "ci, pi, level",
        [
            ((-1.2, -0.8), (-1.6, -MID - EPS), "no concerns"),  # PI stays beyond -MID
            ((-1.2, -0.8), (-1.6, -MID), "no concerns"),  # touches -MID
            ((-1.2, -0.8), (-1.6, -MID + EPS), "some concerns"),  # reaches the equivalence range
            ((-1.2, -0.8), (-1.6, MID - EPS), "some concerns"),
            ((-1.2, -0.8), (-1.6, MID + EPS), "major concerns"),  # reaches both further regions
            ((-1.2, 0.0), (-1.6, MID - EPS), "no concerns"),  # CI already crosses -MID
            ((-1.2, 0.0), (-1.6, MID + EPS), "some concerns"),
            ((-0.7, 0.7), (-3.0, 3.0), "no concerns"),  # CI crosses both: nothing more to reach
            ((-0.2, 0.2), (-0.4, 0.4), "no concerns"),
            ((-0.2, 0.2), (-0.6, 0.4), "some concerns"),
        ],
    )
    def test_cinema_table(self, ci, pi, level):
        est = (ci[0] + ci[1]) / 2
        j = D.heterogeneity(est, *ci, *pi, md(), tau2=0.1, treatments=TR)
        check(j, "heterogeneity", level)
        assert j.numbers["tau2"] == 0.1
        assert j.numbers["extra_regions"] == CONCERNS.index(level)

    def test_common_effect_is_explained(self):
        j = D.heterogeneity(-1.0, -1.2, -0.8, -1.2, -0.8, md(), model="common")
        check(j, "heterogeneity", "no concerns")
        assert j.numbers["assessable"] is False
        assert "common-effect" in j.rule and "random-effects" in j.rule

    def test_no_prediction_interval_is_explained(self):
        for pi in ((None, None), (math.nan, math.nan)):
            j = D.heterogeneity(-1.0, -1.2, -0.8, *pi, md())
            check(j, "heterogeneity", "no concerns")
            assert j.numbers["assessable"] is False and "no prediction interval" in j.rule

    def test_prediction_interval_must_contain_ci(self):
        with pytest.raises(DataError, match="does not contain"):
            D.heterogeneity(-1.0, -1.2, -0.8, -1.1, -0.5, md())

    def test_null_target(self):
        o = md(target="null")
        # CI inside the equivalence range: PI judged against -MID and MID
        check(D.heterogeneity(-0.1, -0.3, 0.1, -0.45, 0.4, o), "heterogeneity", "no concerns")
        check(D.heterogeneity(-0.1, -0.3, 0.1, -0.55, 0.4, o), "heterogeneity", "some concerns")
        check(D.heterogeneity(-0.1, -0.3, 0.1, -0.55, 0.55, o), "heterogeneity", "major concerns")
        # otherwise against the null and the MID opposite the estimate
        check(D.heterogeneity(-1.0, -1.2, -0.8, -1.6, -EPS, o), "heterogeneity", "no concerns")
        check(D.heterogeneity(-1.0, -1.2, -0.8, -1.6, EPS, o), "heterogeneity", "some concerns")
        check(D.heterogeneity(-1.0, -1.2, -0.8, -1.6, MID + EPS, o), "heterogeneity", "major concerns")


# ---------------------------------------------------------------------------------
# incoherence


def mixed(p, direct=(-1.2, -1.0, -0.8), indirect=(-1.2, -1.0, -0.8)) -> dict:
    return {
        "k": 2, "prop_direct": 0.6, "pval": p, "z": 1.0, "diff": direct[1] - indirect[1],
        "direct": direct[1], "direct_ci_low": direct[0], "direct_ci_high": direct[2],
        "indirect": indirect[1], "indirect_ci_low": indirect[0], "indirect_ci_high": indirect[2],
    }


INDIRECT_ONLY = {"k": 0, "prop_direct": 0.0, "pval": math.nan, "direct": math.nan, "indirect": -0.4,
                 "indirect_ci_low": -0.9, "indirect_ci_high": 0.1}
DIRECT_ONLY = {"k": 3, "prop_direct": 1.0, "pval": math.nan, "direct": -0.4, "direct_ci_low": -0.9,
               "direct_ci_high": 0.1, "indirect": math.nan}


class TestIncoherenceMixed:
    def test_p_at_and_above_the_cutoff(self):
        far = dict(direct=(-1.2, -1.0, -0.8), indirect=(0.8, 1.0, 1.2))
        check(D.incoherence(mixed(0.10, **far), None, md()), "incoherence", "no concerns")
        check(D.incoherence(mixed(0.5, **far), None, md()), "incoherence", "no concerns")
        j = D.incoherence(mixed(0.10 - EPS, **far), None, md())
        check(j, "incoherence", "major concerns")
        assert j.numbers["regions_agreeing"] == 1  # both leave out the equivalence range only

    @pytest.mark.parametrize(
        "direct, indirect, agree, level",
        [
            ((-1.2, -1.0, -0.8), (-1.5, -1.1, -0.6), 3, "no concerns"),  # same single region
            ((-1.2, -1.0, -0.8), (-1.0, -0.6, -MID), 3, "no concerns"),  # indirect touches -MID only
            ((-1.2, -1.0, -0.8), (-1.0, -0.6, -MID + EPS), 2, "some concerns"),
            ((-1.2, -1.0, -0.8), (-0.4, 0.0, 0.4), 1, "major concerns"),  # beyond vs within
            ((-1.2, -1.0, -0.8), (-0.4, 0.3, MID + EPS), 0, "major concerns"),
            ((-0.6, 0.0, 0.6), (-0.4, 0.0, 0.4), 1, "major concerns"),
            ((-0.6, 0.0, 0.6), (-0.7, -0.1, 0.4), 2, "some concerns"),
        ],
    )
    def test_agreement_of_direct_and_indirect(self, direct, indirect, agree, level):
        j = D.incoherence(mixed(0.05, direct, indirect), None, md(), treatments=TR)
        check(j, "incoherence", level)
        assert j.numbers["evidence"] == "mixed"
        assert j.numbers["regions_agreeing"] == agree
        assert j.numbers["side_pval"] == 0.05

    def test_ratio_measures_are_compared_on_the_absolute_scale(self):
        o = Outcome("death", "OR", False, Thresholds(20), baseline_risk=0.1)
        # direct OR 0.5-0.9 (-47 to -9 per 1,000), indirect OR 0.6-0.95 (-37.5 to -4.6 per 1,000)
        sp = mixed(0.02, tuple(np.log([0.5, 0.7, 0.9])), tuple(np.log([0.6, 0.75, 0.95])))
        j = D.incoherence(sp, None, o)
        assert j.numbers["direct_ci_low"] == pytest.approx(-47.368421, rel=1e-6)
        check(j, "incoherence", "no concerns")

    def test_missing_side_p(self):
        with pytest.raises(DataError, match="SIDE p-value"):
            D.incoherence(mixed(math.nan), None, md())


class TestIncoherenceGlobal:
    @pytest.mark.parametrize(
        "p, level",
        [(0.5, "no concerns"), (0.10, "no concerns"), (0.10 - EPS, "some concerns"), (0.05, "some concerns"),
         (0.01, "some concerns"), (0.01 - EPS, "major concerns"), (1e-6, "major concerns")],
    )
    def test_indirect_only(self, p, level):
        j = D.incoherence(INDIRECT_ONLY, p, md())
        check(j, "incoherence", level)
        assert j.numbers["evidence"] == "indirect only"

    def test_direct_only_global_and_none(self):
        check(D.incoherence(DIRECT_ONLY, 0.005, md()), "incoherence", "major concerns")
        j = D.incoherence(DIRECT_ONLY, 0.005, md(), direct_only="none")
        check(j, "incoherence", "no concerns")
        assert j.numbers["evidence"] == "direct only"

    def test_cinema_code_thresholds(self):
        assert D.incoherence(INDIRECT_ONLY, 0.04, md(), p_thresholds=(0.05, 0.10)).computed == "major concerns"
        assert D.incoherence(INDIRECT_ONLY, 0.05, md(), p_thresholds=(0.05, 0.10)).computed == "some concerns"

    def test_no_global_test(self):
        j = D.incoherence(INDIRECT_ONLY, None, md())
        check(j, "incoherence", "major concerns")
        assert j.numbers["testable"] is False
        assert D.incoherence(INDIRECT_ONLY, None, md(), untestable="some").computed == "some concerns"
        star = SimpleNamespace(q_random=0.0, pval_random=math.nan, q_common=0.0, pval_common=math.nan, df=0)
        assert D.incoherence(DIRECT_ONLY, star, md()).computed == "major concerns"

    def test_design_by_treatment_object_model(self):
        dbt = SimpleNamespace(q_random=5.0, pval_random=0.5, q_common=20.0, pval_common=0.001, df=5)
        j = D.incoherence(INDIRECT_ONLY, dbt, md(), model="random")
        check(j, "incoherence", "no concerns")
        assert j.numbers["dbt_q"] == 5.0 and j.numbers["dbt_df"] == 5
        check(D.incoherence(INDIRECT_ONLY, dbt, md(), model="common"), "incoherence", "major concerns")

    def test_option_errors(self):
        with pytest.raises(SpecError, match="p_thresholds"):
            D.incoherence(INDIRECT_ONLY, 0.5, md(), p_thresholds=(0.2, 0.1))
        with pytest.raises(SpecError, match="direct_only"):
            D.incoherence(INDIRECT_ONLY, 0.5, md(), direct_only="skip")
        with pytest.raises(SpecError, match="node-splitting"):
            D.incoherence(None, 0.5, md())
        with pytest.raises(DataError, match="neither"):
            D.incoherence({"k": 0, "direct": math.nan, "indirect": math.nan}, 0.5, md())


def test_incoherence_on_a_real_node_split():
    from netgrade.network import design_by_treatment, nma, node_split
    from tests.nma_data import network

    res = nma(network("dat.senn2013"), reference="placebo", method="DL")
    ns, dbt = node_split(res), design_by_treatment(res)
    j = D.incoherence(ns.comparison("metformin", "placebo"), dbt, md())
    assert j.numbers["evidence"] == "mixed" and j.numbers["side_pval"] == pytest.approx(0.691247960087527)
    check(j, "incoherence", "no concerns")
    j = D.incoherence(ns.comparison("benfluorex", "placebo"), dbt, md())
    assert j.numbers["evidence"] == "direct only"
    assert j.numbers["dbt_pval"] == pytest.approx(dbt.pval_random)
    j = D.incoherence(ns.comparison("acarbose", "benfluorex"), dbt, md(), model="common")
    assert j.numbers["evidence"] == "indirect only"
    check(j, "incoherence", "major concerns")  # common-effect design-by-treatment p = 0.0021
