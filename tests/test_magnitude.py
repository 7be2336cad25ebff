"""Magnitude classes on the judgement scale, ratio-to-absolute conversions and the
grouping of interventions (Brignardello-Petersen et al. 2020, BMJ 371:m3900 / m3907).

Every expected number is worked out by hand in the comment next to it.
"""

from __future__ import annotations

import json
import math

import pytest

from netgrade._result import dumps
from netgrade.certainty.magnitude import (
    GROUP_LABELS,
    classify_magnitude,
    group_interventions,
    intervention_risk,
    judgement_scale_effect,
    judgement_scale_interval,
    judgement_scale_unit,
)
from netgrade.certainty.types import Outcome, Thresholds
from netgrade.errors import ModelError, SpecError

PAIN = Outcome("pain", "MD", larger_better=False, thresholds=Thresholds(1.5, 3.0, 4.5), unit="cm")
FUNCTION = Outcome("function", "MD", larger_better=True, thresholds=Thresholds(1.5, 3.0, 4.5), unit="points")
PAIN_MID_ONLY = Outcome("pain", "MD", larger_better=False, thresholds=Thresholds(1.5), unit="cm")


# ---------------------------------------------------------------------------------
# boundaries

BOUNDARIES = [
    (0.0, "trivial"),
    (1.0, "trivial"),
    (1.4999, "trivial"),  # just below the MID
    (1.5, "small"),  # at the MID: reaches it
    (1.5001, "small"),
    (2.9999, "small"),
    (3.0, "moderate"),  # at the moderate threshold
    (3.0001, "moderate"),
    (4.4999, "moderate"),
    (4.5, "large"),  # at the large threshold
    (4.5001, "large"),
    (9.0, "large"),
]


@pytest.mark.parametrize("value, size", BOUNDARIES)
@pytest.mark.parametrize("sign", [1, -1])
def test_boundaries_smaller_is_better(value, size, sign):
    m = classify_magnitude(sign * value, PAIN)
    assert m.size == size
    if size == "trivial":
        assert m.direction == "none" and m.label == "little to no effect" and not m.important
    else:
        # pain: a positive MD is more pain than the comparator, i.e. harm
        expected = "harm" if sign > 0 else "benefit"
        assert m.direction == expected
        assert m.label == f"{size} {expected}"
        assert m.important
    assert m.effect == sign * value
    if value:
        assert m.change == ("increase" if sign > 0 else "decrease")


@pytest.mark.parametrize("value, size", BOUNDARIES)
@pytest.mark.parametrize("sign", [1, -1])
def test_boundaries_larger_is_better(value, size, sign):
    m = classify_magnitude(sign * value, FUNCTION)
    assert m.size == size
    if size != "trivial":
        # function: a positive MD is better function, i.e. benefit
        assert m.direction == ("benefit" if sign > 0 else "harm")


def test_zero_is_no_effect():
    m = classify_magnitude(0.0, PAIN)
    assert (m.size, m.direction, m.change) == ("trivial", "none", "none")


def test_mid_only_thresholds_give_important_effects():
    # only the MID: an effect at or beyond it is important, its size is not graded
    assert classify_magnitude(1.4999, PAIN_MID_ONLY).size == "trivial"
    m = classify_magnitude(1.82, PAIN_MID_ONLY)
    assert (m.size, m.direction, m.label) == ("important", "harm", "important harm")
    assert classify_magnitude(-9.0, PAIN_MID_ONLY).label == "important benefit"


def test_moderate_without_large_threshold():
    o = Outcome("pain", "MD", False, Thresholds(1.5, 3.0), unit="cm")
    assert classify_magnitude(2.9, o).size == "small"
    assert classify_magnitude(3.0, o).size == "moderate"
    assert classify_magnitude(50.0, o).size == "moderate"  # "at least moderate"


def test_threshold_reached_despite_floating_point_noise():
    # RR = exp(log 1.3) at baseline 0.1: 1000 * 0.1 * 0.3 = 30 per 1,000 up to rounding
    o = Outcome("death", "RR", False, Thresholds(10, 20, 30), baseline_risk=0.1)
    eff = judgement_scale_effect(math.log(1.3), o)
    assert eff == pytest.approx(30.0, rel=1e-12)
    assert classify_magnitude(math.log(1.3), o).size == "large"


def test_smd_is_judged_as_is():
    o = Outcome("depression", "SMD", False, Thresholds(0.2, 0.5, 0.8))
    assert judgement_scale_effect(-0.5, o) == -0.5
    assert classify_magnitude(-0.5, o).label == "moderate benefit"
    assert judgement_scale_unit(o) == "SD"


# ---------------------------------------------------------------------------------
# ratio measures -> risk difference per 1,000


def test_rr_conversion_by_hand():
    # RR 0.8 at baseline 10%: 1000 * 0.1 * (0.8 - 1) = -20 per 1,000
    o = Outcome("stroke", "RR", False, Thresholds(10, 20, 30), baseline_risk=0.10)
    assert judgement_scale_effect(math.log(0.8), o) == pytest.approx(-20.0, rel=1e-12)
    assert judgement_scale_effect(0.8, o, scale="natural") == pytest.approx(-20.0, rel=1e-12)
    m = classify_magnitude(math.log(0.8), o)
    assert m.label == "moderate benefit" and m.unit == "per 1,000" and m.baseline_risk == 0.10


def test_or_conversion_by_hand():
    # OR 2 at baseline 20%: risk_t = 2*0.2 / (1 - 0.2 + 2*0.2) = 0.4/1.2 = 1/3
    # difference = 1000 * (1/3 - 0.2) = 133.33 per 1,000
    o = Outcome("response", "OR", True, Thresholds(50, 100, 150), baseline_risk=0.20)
    assert judgement_scale_effect(math.log(2.0), o) == pytest.approx(1000 * (1 / 3 - 0.2), rel=1e-12)
    assert classify_magnitude(math.log(2.0), o).label == "moderate benefit"  # more responders
    # OR 0.75 at 5%: 0.0375 / 0.9875 = 0.0379747 -> -12.03 per 1,000
    o5 = Outcome("death", "OR", False, Thresholds(10, 20, 30), baseline_risk=0.05)
    assert judgement_scale_effect(math.log(0.75), o5) == pytest.approx(1000 * (0.0375 / 0.9875 - 0.05), rel=1e-12)
    assert classify_magnitude(math.log(0.75), o5).label == "small benefit"


def test_hr_and_rd_conversions_by_hand():
    # HR 0.5 at 19%: 1 - (1 - 0.19)**0.5 = 1 - 0.9 = 0.1 -> -90 per 1,000
    o = Outcome("death", "HR", False, Thresholds(10), baseline_risk=0.19)
    assert judgement_scale_effect(math.log(0.5), o) == pytest.approx(-90.0, rel=1e-12)
    # RD 0.03 is 30 per 1,000, no baseline risk needed
    rd = Outcome("death", "RD", False, Thresholds(10, 20, 30))
    assert judgement_scale_effect(0.03, rd) == pytest.approx(30.0)
    assert classify_magnitude(0.03, rd).label == "large harm"


def test_intervention_risk_formulas():
    assert intervention_risk("RR", 0.5, 0.2) == pytest.approx(0.1)
    assert intervention_risk("RR", 3.0, 0.5) == 1.0  # a risk cannot exceed 1
    assert intervention_risk("OR", 1.0, 0.3) == pytest.approx(0.3)
    assert intervention_risk("OR", math.inf, 0.3) == 1.0
    assert intervention_risk("PETO", 3.0, 0.25) == pytest.approx(0.75 / 1.5)  # 3*.25/(.75+.75)
    with pytest.raises(ModelError):
        intervention_risk("MD", 1.0, 0.2)
    with pytest.raises(SpecError):
        intervention_risk("RR", 1.0, 1.2)


def test_interval_keeps_order():
    o = Outcome("death", "OR", False, Thresholds(10, 20, 30), baseline_risk=0.05)
    lo, hi = judgement_scale_interval(math.log(0.6), math.log(0.94), o)
    assert lo == pytest.approx(1000 * (0.03 / 0.98 - 0.05))
    assert hi == pytest.approx(1000 * (0.047 / 0.997 - 0.05))
    assert lo < hi


def test_ratio_measure_without_baseline_risk_is_a_clear_error():
    o = Outcome("death", "OR", False, Thresholds(10))
    with pytest.raises(ModelError, match="baseline_risk"):
        classify_magnitude(math.log(0.8), o)


@pytest.mark.parametrize("measure", ["ROM", "AS", "XYZ"])
def test_unjudgeable_measures(measure):
    with pytest.raises(ModelError, match=measure):
        judgement_scale_effect(0.1, Outcome("y", measure, True, Thresholds(1.0)))


def test_nan_estimate_and_bad_scale():
    with pytest.raises(ModelError, match="NaN"):
        classify_magnitude(float("nan"), PAIN)
    with pytest.raises(SpecError):
        judgement_scale_effect(0.1, PAIN, scale="log")


def test_magnitude_to_dict_is_json():
    d = classify_magnitude(-2.0, PAIN).to_dict()
    assert d["label"] == "small benefit" and d["thresholds"] == {"small": 1.5, "moderate": 3.0, "large": 4.5}
    json.loads(dumps(d))


# ---------------------------------------------------------------------------------
# grouping interventions


def test_group_partially_contextualised():
    effects = {
        "A": (-5.0, "moderate"),  # large benefit
        "B": (-3.2, "low"),  # moderate benefit, low certainty
        "C": (-1.6, "high"),  # small benefit
        "D": (0.3, "moderate"),  # little to no effect
        "E": (2.0, "very low"),  # small harm
        "F": (3.5, "high"),  # moderate harm
    }
    g = group_interventions(effects, PAIN, reference="sham")
    by = g.set_index("treatment")
    assert by.loc["A", "category"] == 2 and by.loc["A", "group"] == "among the most effective"
    assert by.loc["A", "conclusion"] == "among the most effective"
    assert by.loc["B", "category"] == 2 and by.loc["B", "conclusion"] == "may be among the most effective"
    assert by.loc["B", "certainty_group"] == "low or very low"
    assert by.loc["C", "category"] == 1 and by.loc["C", "group"] == "among the intermediate effective"
    assert by.loc["D", "category"] == 0 and by.loc["D", "group"] == "no different from the reference"
    assert by.loc["E", "category"] == -1 and by.loc["E", "conclusion"] == "may be among the intermediate harmful"
    assert by.loc["F", "category"] == -2 and by.loc["F", "group"] == "among the most harmful"
    assert by.loc["sham", "category"] == 0 and by.loc["sham", "conclusion"] == "reference"
    # best category first; within one, high/moderate before low/very low; reference first in 0
    assert list(g["treatment"]) == ["A", "B", "C", "sham", "D", "E", "F"]
    assert g.attrs["direction"] == "smaller values are better"


def test_group_direction_larger_is_better():
    g = group_interventions({"A": (5.0, "high"), "B": (-5.0, "high")}, FUNCTION).set_index("treatment")
    assert g.loc["A", "category"] == 2 and g.loc["B", "category"] == -2


def test_group_accepts_rating_like_objects_and_custom_labels():
    class Rating:
        def __init__(self, estimate, final):
            self.estimate, self.final = estimate, final

    g = group_interventions({"A": Rating(-2.0, "Moderate")}, PAIN, labels={1: "better than sham"})
    assert g.loc[0, "group"] == "better than sham" and g.loc[0, "certainty"] == "moderate"
    assert GROUP_LABELS[1] == "among the intermediate effective"  # module table unchanged


def test_group_minimally_contextualised_against_null_and_mid():
    null = Outcome("pain", "MD", False, Thresholds(1.5), unit="cm", target="null")
    effects = {
        "A": (-2.0, "moderate", -3.0, -1.0),  # CI excludes 0 on the benefit side
        "B": (-1.0, "moderate", -1.8, -0.2),  # excludes 0, not the MID
        "C": (-1.0, "low", -2.0, 0.5),  # includes 0
        "D": (1.0, "low", 0.0, 2.0),  # touches 0: does not exclude it
        "E": (2.0, "low", 0.5, 3.5),  # excludes 0 on the harm side
    }
    g = group_interventions(effects, null, approach="minimally").set_index("treatment")
    assert dict(g["category"]) == {"A": 1, "B": 1, "C": 0, "D": 0, "E": -1}
    # against the MID (target "mid"): no CI lies entirely beyond 1.5 cm (A's upper limit is -1.0)
    g2 = group_interventions(effects, PAIN_MID_ONLY, approach="minimally").set_index("treatment")
    assert dict(g2["category"]) == {"A": 0, "B": 0, "C": 0, "D": 0, "E": 0}
    g3 = group_interventions({"A": (-3.0, "high", -4.0, -1.6)}, PAIN_MID_ONLY, approach="minimally")
    assert g3.loc[0, "category"] == 1


def test_group_minimally_category_two_needs_comparisons():
    null = Outcome("pain", "MD", False, Thresholds(1.5), unit="cm", target="null")
    effects = {"A": (-3.0, "high", -4.0, -2.0), "B": (-1.0, "high", -1.8, -0.2)}
    g = group_interventions(effects, null, approach="minimally").set_index("treatment")
    assert dict(g["category"]) == {"A": 1, "B": 1}
    # A vs B: -2.0 (-3.0 to -1.0) -> A superior to B, a category 1 intervention
    g = group_interventions(effects, null, approach="minimally", comparisons={("A", "B"): (-2.0, -3.0, -1.0)})
    assert dict(g.set_index("treatment")["category"]) == {"A": 2, "B": 1}
    assert g.loc[0, "group"] == "among the most effective"
    # given the other way round (B vs A: 2.0 (1.0 to 3.0)) the result is the same
    g = group_interventions(effects, null, approach="minimally", comparisons={("B", "A"): (2.0, 1.0, 3.0)})
    assert dict(g.set_index("treatment")["category"]) == {"A": 2, "B": 1}


def test_group_errors():
    with pytest.raises(SpecError, match="confidence interval"):
        group_interventions({"A": (-1.0, "high")}, PAIN, approach="minimally")
    with pytest.raises(SpecError):
        group_interventions({"A": (-1.0, "high", 1.0)}, PAIN)
    with pytest.raises(SpecError):
        group_interventions({"A": (-1.0, "certain")}, PAIN)
    with pytest.raises(SpecError):
        group_interventions({"A": (-1.0, "high")}, PAIN, approach="fully")
