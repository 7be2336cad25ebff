"""ICEMAN (Schandelmaier et al. 2020, CMAJ 192:E901): questions, response validation,
answers from data and spec, the default overall rule, overrides and the duck-typed entry.

Worked examples follow the rule documented in ``netgrade.certainty.iceman``: a strong,
pre-specified within-trial interaction rates high; a post hoc between-trial subgroup
difference with p = 0.3 in few trials rates very low; missing spec answers are listed
and rated down.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from netgrade.certainty import iceman as I
from netgrade.certainty import assess_credibility, iceman_from_data
from netgrade.certainty.types import Override
from netgrade.errors import SpecError

STRONG_SPEC = {
    "prespecified": True,
    "direction": "correct",
    "protocol": True,
    "prior_evidence": "supports",
    "rationale": "strong",
    "n_modifiers_tested": 1,
    "continuous_modifier": False,
}
LEVELS = [
    {"name": "under 50", "estimate": -1.2, "ci_low": -1.6, "ci_high": -0.8},
    {"name": "50 and over", "estimate": -0.3, "ci_low": -0.6, "ci_high": 0.0},
]


def strong_data(**kw):
    args = dict(
        interaction_p=0.0004, comparison="within-trial", n_trials=8, within_i2=0.0, within_het_p=0.7, model="REML", levels=LEVELS
    )
    args.update(kw)
    return iceman_from_data(**args)


# ---------------------------------------------------------------------------------
# the instrument's questions


def test_eight_core_questions_in_form_order():
    assert I.CORE_QUESTIONS == (
        "within_trial", "similar_across_trials", "number_of_trials", "direction_a_priori",
        "chance", "few_modifiers", "random_effects", "cut_points",
    )  # fmt: skip
    texts = [q.text for q in I.QUESTIONS if q.core]
    assert texts[0] == "Is the analysis of effect modification based on comparison within rather than between trials?"
    assert texts[4] == (
        "Does a test for interaction suggest that chance is an unlikely explanation of the apparent effect modification?"
    )
    assert [q.number for q in I.QUESTIONS] == list(range(1, 12))
    assert [q.key for q in I.QUESTIONS if q.can_be_na] == [
        "similar_across_trials", "number_of_trials", "cut_points", "related_outcomes", "gradient", "prior_evidence",
    ]  # fmt: skip
    assert I.question(5).key == "chance"
    assert I.question("Few-Modifiers").key == "few_modifiers"


def test_core_question_wording_and_where_it_comes_from():
    # item 1 is verbatim from the iceman.help manual; items 2-8 from the public
    # re-statement of CMAJ Table 1 (item 6 with its comma); Table 1 itself was not found
    assert [q.text for q in I.QUESTIONS if q.core] == [
        "Is the analysis of effect modification based on comparison within rather than between trials?",
        "For within-trial comparisons, is the effect modification similar from trial to trial?",
        "For between-trial comparisons, is the number of trials large?",
        "Was the direction of effect modification correctly hypothesized a priori?",
        "Does a test for interaction suggest that chance is an unlikely explanation of the apparent effect modification?",
        "Did the authors test only a small number of effect modifiers, or consider the number in their statistical analysis?",
        "Did the authors use a random-effects model?",
        "If the effect modifier is a continuous variable, were arbitrary cut points avoided?",
    ]
    assert I.question(1).source == "ICEMAN manual, meta-analyses, item 1 (verbatim)"
    for n in range(2, 9):
        assert "full text not read" in I.question(n).source
    for q in I.QUESTIONS:
        if not q.core:
            assert "its wording was not found" in q.source


def test_item_4_descriptions_are_the_manuals():
    # iceman.help manual, RCT item 1 (same question), response options table
    assert dict(I.question("direction_a_priori").labels) == {
        "definitely yes": "Prior protocol available and includes hypothesis with correct specification of direction",
        "probably yes": "No protocol available but unequivocal statement of a priori hypothesis with correct direction",
        "probably no": "Vague hypothesis or hypothesized direction unclear",
        "definitely no": "Clearly post-hoc, results inconsistent with hypothesized direction, or biologically very implausible",
    }


def test_unverified_labels_are_marked_and_defaults_documented():
    # labels and rules no source confirmed stay marked as netgrade's
    assert dict(I.question("chance").labels)["probably no"] == "Chance a likely explanation (label inferred)"
    assert all(lab.endswith("(netgrade label)") for c, lab in I.question("within_trial").labels if c != "definitely no")
    assert I.CHANCE_CUTPOINTS == (0.001, 0.01, 0.05)
    doc = I.__doc__
    assert "3. p-value categories for item 5: no source gives them" in doc
    assert "no algorithm was found, so netgrade's default rule stands" in doc


@pytest.mark.parametrize("p, flagged", [(0.0999, False), (0.1, True), (0.3, True)])
def test_scope_boundary_follows_the_form(p, flagged):
    # the form: "interaction or meta-regression p < 0.1"; the FAQ says "p-value <= 0.1";
    # netgrade follows the form, so p = 0.1 exactly is flagged
    a = assess_credibility(iceman_from_data(interaction_p=p, comparison="within-trial", n_trials=8), STRONG_SPEC)
    assert any("does not apply when there is none" in w for w in a.warnings) == flagged
    assert a.answer("chance") == "definitely no"
    assert I.CEILINGS["chance"]["definitely no"] == "low"


# ---------------------------------------------------------------------------------
# response validation: every option of every question


@pytest.mark.parametrize("q", I.QUESTIONS, ids=lambda q: q.key)
@pytest.mark.parametrize("resp", I.RESPONSES)
def test_every_response_option_accepted(q, resp):
    a = I.Answer(q.key, resp.upper().replace(" ", "_"), "user", "why")
    assert a.response == resp
    assert a.source == "user"


@pytest.mark.parametrize("q", I.QUESTIONS, ids=lambda q: q.key)
def test_not_applicable_only_where_the_question_is_conditional(q):
    if q.can_be_na:
        assert I.Answer(q.key, "NA").response == "not applicable"
    else:
        with pytest.raises(SpecError, match=rf"question {q.number} \({q.key}.*invalid response 'NA'.*allowed: definitely yes, probably yes, probably no, definitely no(;|$)"):
            I.Answer(q.key, "NA")


@pytest.mark.parametrize("q", I.QUESTIONS, ids=lambda q: q.key)
@pytest.mark.parametrize("bad", ["maybe", "yes", "", "definitely"])
def test_invalid_response_names_question_and_options(q, bad):
    with pytest.raises(SpecError) as e:
        I.Answer(q.key, bad)
    msg = str(e.value)
    assert f"ICEMAN question {q.number} ({q.key}" in msg
    assert f"invalid response {bad!r}" in msg
    assert "allowed: definitely yes, probably yes, probably no, definitely no" in msg


@pytest.mark.parametrize(
    "key, value, canon",
    [
        ("chance", "dy", "definitely yes"),
        ("chance", "Chance may not explain", "probably yes"),
        ("chance", "chance a very likely explanation", "definitely no"),
        ("chance", "Chance a likely explanation", "probably no"),
        ("number_of_trials", "Very small", "definitely no"),
        ("number_of_trials", "rather small or unclear", "probably no"),
        ("number_of_trials", "Large", "definitely yes"),
        ("within_trial", "Completely between", "definitely no"),
        ("within_trial", "completely within", "definitely yes"),
        ("direction_a_priori", "probably no or unclear", "probably no"),
        ("direction_a_priori", "unclear", "probably no"),
        ("cut_points", "n/a", "not applicable"),
    ],
)
def test_aliases_and_item_labels(key, value, canon):
    assert I.response(key, value) == canon


def test_unknown_question_and_source():
    with pytest.raises(SpecError, match=r"unknown ICEMAN question 'subgroup_size'; use one of: within_trial \(1\)"):
        I.Answer("subgroup_size", "definitely yes")
    with pytest.raises(SpecError, match="unknown answer source 'oracle'; use one of: data, spec, user"):
        I.Answer("chance", "definitely yes", "oracle")


def test_item_labels_shown():
    assert I.Answer("chance", "probably yes").label == "Chance may not explain"
    assert I.Answer("number_of_trials", "probably no").label == "Rather small or unclear"
    assert I.Answer("few_modifiers", "probably no").label == "probably no"


# ---------------------------------------------------------------------------------
# worked example 1: strong within-trial interaction -> high


def test_strong_within_trial_interaction_rates_high():
    a = assess_credibility(strong_data(), STRONG_SPEC)
    assert a.computed == a.credibility == "high"
    assert a.unanswered == ()
    assert a.warnings == ()
    got = {it.question: (it.response, it.source) for it in a.items}
    assert got == {
        "within_trial": ("definitely yes", "data"),
        "similar_across_trials": ("definitely yes", "data"),
        "number_of_trials": ("not applicable", "data"),
        "direction_a_priori": ("definitely yes", "spec"),
        "chance": ("definitely yes", "data"),
        "few_modifiers": ("definitely yes", "spec"),
        "random_effects": ("definitely yes", "data"),
        "cut_points": ("not applicable", "spec"),
        "related_outcomes": (None, None),
        "gradient": (None, None),
        "prior_evidence": ("definitely yes", "spec"),
    }
    chance = a.item("chance")
    assert chance.label == "Chance an unlikely explanation"
    assert chance.reason == (
        "interaction p = 0.0004 < 0.001; subgroup estimates: under 50 -1.200 [-1.600, -0.800]; "
        "50 and over -0.300 [-0.600, 0.000]"
    )
    assert math.isclose(chance.numbers["levels"][0]["se"], 0.4 / 1.959963984540054, rel_tol=1e-12)
    assert a.item("direction_a_priori").reason == "prior protocol states the hypothesis with the correct direction"
    assert a.rule == ("no answer limits the rating: maximum high", "lowest ceiling: high", "computed credibility: high")
    assert "Credibility of the effect modification: HIGH (computed)" in a.summary()


def test_strong_but_interaction_only_moderately_small_is_moderate():
    # p = 0.007: "Chance may not explain" -> at most moderate (the published application
    # shows "Maximum usually moderate" next to p = 0.007)
    a = assess_credibility(strong_data(interaction_p=0.007), STRONG_SPEC)
    assert a.computed == "moderate"
    assert a.rule[0] == "item 5 (chance) probably yes: maximum moderate"


# ---------------------------------------------------------------------------------
# worked example 2: between-trial, p = 0.3, few trials, post hoc -> very low


def test_post_hoc_between_trial_difference_rates_very_low():
    data = iceman_from_data(interaction_p=0.3, comparison="between-trial", n_trials=4, model="DL")
    a = assess_credibility(data, {"prespecified": False, "n_modifiers_tested": 6, "continuous_modifier": False})
    assert a.computed == "very low"
    assert a.answer("within_trial") == "definitely no"
    assert a.item("within_trial").label == "Completely between"
    assert a.answer("similar_across_trials") == "not applicable"
    assert a.item("number_of_trials").label == "Very small"
    assert a.item("number_of_trials").reason == "4 trials: fewer than 5 trials or a subgroup with fewer than 2"
    assert a.item("direction_a_priori").reason == "clearly post hoc"
    assert a.item("chance").label == "Chance a very likely explanation"
    assert a.answer("few_modifiers") == "probably no"
    assert a.rule[-2] == (
        "5 core questions answered probably no, definitely no or unanswered "
        "(within_trial, number_of_trials, direction_a_priori, chance, few_modifiers): one level lower, low -> very low"
    )
    assert a.warnings == (
        "interaction p = 0.3000 >= 0.1: ICEMAN was developed for a suggested effect modification (p < 0.1) "
        "and does not apply when there is none; credibility is low at best",
    )


def test_between_trial_with_many_trials_is_capped_at_moderate():
    data = iceman_from_data(
        interaction_p=0.0002, comparison="between", n_trials=30, trials_per_subgroup={"a": 12, "b": 18}, model="random"
    )
    a = assess_credibility(data, STRONG_SPEC)
    assert a.item("number_of_trials").label == "Large"
    assert a.item("within_trial").ceiling == "moderate"
    assert a.computed == "moderate"
    assert "between-trial comparison with a large or rather large number of trials: maximum moderate" in a.rule


# ---------------------------------------------------------------------------------
# worked example 3: spec answers missing -> listed and rated conservatively


def test_missing_spec_answers_are_listed_and_rated_down():
    a = assess_credibility(strong_data())
    assert a.unanswered == ("direction_a_priori", "few_modifiers", "cut_points")
    assert a.computed == "low"
    assert a.rule == (
        "item 4 (direction_a_priori) unanswered: maximum moderate",
        "item 6 (few_modifiers) unanswered: maximum moderate",
        "item 8 (cut_points) unanswered: maximum moderate",
        "lowest ceiling: moderate",
        "3 core questions answered probably no, definitely no or unanswered "
        "(direction_a_priori, few_modifiers, cut_points): one level lower, moderate -> low",
        "computed credibility: low",
    )
    assert a.warnings == (
        "unanswered ICEMAN questions (counted as 'probably no or unclear'): "
        "4 direction_a_priori, 6 few_modifiers, 8 cut_points",
    )
    assert "UNANSWERED (counted as probably no or unclear)" in a.summary()
    assert a.item("few_modifiers").response is None


def test_nothing_answered_is_very_low():
    a = assess_credibility()
    assert a.unanswered == I.CORE_QUESTIONS
    assert a.computed == "very low"


# ---------------------------------------------------------------------------------
# overrides


def test_override_needs_a_justification():
    with pytest.raises(SpecError, match="needs a justification"):
        assess_credibility(strong_data(), STRONG_SPEC, override={"level": "moderate", "justification": "  "})
    with pytest.raises(SpecError, match="needs a justification"):
        assess_credibility(strong_data(), STRONG_SPEC, override={"level": "moderate"})
    with pytest.raises(SpecError, match="needs a justification"):
        Override("moderate", "")


def test_override_keeps_the_computed_rating():
    ov = {"level": "Moderate", "justification": "single IPD source; replication pending", "by": "panel"}
    a = assess_credibility(strong_data(), STRONG_SPEC, override=ov)
    assert a.computed == "high"
    assert a.credibility == "moderate"
    assert a.override == Override("moderate", "single IPD source; replication pending", "panel")
    assert a.summary().splitlines()[1] == (
        "Credibility of the effect modification: MODERATE (override of computed 'high': "
        "single IPD source; replication pending; by panel)"
    )
    d = a.to_dict()
    assert (d["credibility"], d["computed"], d["override"]["justification"]) == (
        "moderate", "high", "single IPD source; replication pending",
    )  # fmt: skip
    b = assess_credibility(strong_data(), STRONG_SPEC, override=Override("low", "investigators' own trials only"))
    assert (b.credibility, b.computed) == ("low", "high")


def test_override_level_and_shape_validated():
    with pytest.raises(SpecError, match="unknown credibility level 'certain'; use one of: high, moderate, low, very low"):
        assess_credibility(override={"level": "certain", "justification": "x"})
    with pytest.raises(SpecError, match="needs 'level' and 'justification'"):
        assess_credibility(override={"justification": "x", "why": "y"})
    with pytest.raises(SpecError, match="must be an Override or a mapping"):
        assess_credibility(override="high")


# ---------------------------------------------------------------------------------
# item rules from data, at their boundaries


@pytest.mark.parametrize(
    "p, resp",
    [(0.0, "definitely yes"), (0.000999, "definitely yes"), (0.001, "probably yes"), (0.007, "probably yes"),
     (0.00999, "probably yes"), (0.01, "probably no"), (0.049, "probably no"), (0.05, "definitely no"),
     (0.06, "definitely no"), (1.0, "definitely no")],
)  # fmt: skip
def test_chance_cutpoints(p, resp):
    assert iceman_from_data(interaction_p=p)["chance"].response == resp


def test_chance_custom_cutpoints_and_validation():
    a = iceman_from_data(interaction_p=0.004, chance_cutpoints=(0.005, 0.01, 0.05))["chance"]
    assert (a.response, a.reason) == ("definitely yes", "interaction p = 0.0040 < 0.005")
    assert a.numbers["cutpoints"] == [0.005, 0.01, 0.05]
    with pytest.raises(SpecError, match="chance_cutpoints must be three increasing p-values"):
        iceman_from_data(interaction_p=0.004, chance_cutpoints=(0.05, 0.01, 0.001))


@pytest.mark.parametrize(
    "kw, resp",
    [
        (dict(within_i2=10), "definitely yes"),
        (dict(within_i2=24.99), "definitely yes"),
        (dict(within_i2=25), "probably yes"),
        (dict(within_i2=60), "probably no"),
        (dict(within_i2=75), "definitely no"),
        (dict(within_i2=10, within_het_p=0.05), "probably no"),
        (dict(within_i2=80, within_het_p=0.001), "definitely no"),
        (dict(within_het_p=0.5), "probably yes"),
        (dict(within_het_p=0.05), "probably no"),
        (dict(within_het_p=0.005), "definitely no"),
        (dict(within_i2=0, n_trials_within=1), "probably no"),
    ],
)
def test_similar_across_trials(kw, resp):
    assert iceman_from_data(comparison="within", n_trials=6, **kw)["similar_across_trials"].response == resp


def test_similar_across_trials_reason_and_applicability():
    a = iceman_from_data(comparison="mixed", within_i2=10, within_het_p=0.05)["similar_across_trials"]
    assert a.reason == (
        "I² of the within-trial interaction estimates = 10.0% (<25%, Higgins 2003 benchmarks); "
        "heterogeneity p = 0.0500 < 0.10 caps the answer at probably no"
    )
    assert iceman_from_data(comparison="between", within_i2=10)["similar_across_trials"].response == "not applicable"
    assert "similar_across_trials" not in iceman_from_data(comparison="within")  # nothing to judge it by
    assert "similar_across_trials" not in iceman_from_data(within_i2=10)  # applicability unknown


@pytest.mark.parametrize(
    "n, per, resp",
    [(4, None, "definitely no"), (5, None, "probably no"), (9, None, "probably no"), (10, None, "probably yes"),
     (19, None, "probably yes"), (20, None, "definitely yes"), (25, (10, 15), "definitely yes"),
     (25, (4, 21), "probably yes"), (25, (2, 23), "probably no"), (25, (1, 24), "definitely no")],
)  # fmt: skip
def test_number_of_trials(n, per, resp):
    assert iceman_from_data(comparison="between-trial", n_trials=n, trials_per_subgroup=per)["number_of_trials"].response == resp


def test_number_of_trials_from_levels_and_applicability():
    lv = [{"name": "a", "estimate": 0.1, "se": 0.1, "k": 7}, {"name": "b", "estimate": 0.4, "se": 0.1, "k": 6}]
    a = iceman_from_data(comparison="between-trial", levels=lv)["number_of_trials"]
    assert (a.response, a.reason) == ("probably yes", "13 trials, smallest subgroup 6: 10 to 19 trials, or a subgroup with fewer than 5")
    assert iceman_from_data(comparison="within-trial", n_trials=3)["number_of_trials"].response == "not applicable"
    assert iceman_from_data(comparison="mixed", n_trials=3)["number_of_trials"].response == "definitely no"
    assert iceman_from_data(comparison="mixed")["within_trial"].response == "probably no"


@pytest.mark.parametrize(
    "model, ri2, resp",
    [("random", None, "definitely yes"), ("REML", None, "definitely yes"), ("DL", 40, "definitely yes"),
     ("FE", 0, "probably yes"), ("common", None, "probably no"), ("fixed", 40, "definitely no")],
)  # fmt: skip
def test_random_effects(model, ri2, resp):
    assert iceman_from_data(model=model, residual_i2=ri2)["random_effects"].response == resp


def test_random_effects_definitely_no_caps_at_moderate():
    a = assess_credibility(strong_data(model="FE", residual_i2=30), STRONG_SPEC)
    assert a.item("random_effects").reason == "common-effect model despite residual I² = 30.0%: the interaction p is too small"
    assert a.computed == "moderate"


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(interaction_p=1.5), "interaction_p must be a p-value between 0 and 1"),
        (dict(interaction_p="small"), "interaction_p must be a p-value"),
        (dict(comparison="sideways"), "comparison must be one of within-trial, between-trial, mixed"),
        (dict(comparison="within", within_i2=150), r"within_i2 must be I² in percent \(0 to 100\)"),
        (dict(n_trials=-1), "n_trials must be a non-negative whole number"),
        (dict(n_trials=2.5), "n_trials must be a non-negative whole number"),
        (dict(model="bayesian"), "model must be 'random' or 'common'"),
        (dict(levels=[{"name": "x", "estimate": 1, "se": 0}]), "subgroup x: standard error must be positive"),
        (dict(levels=[{"name": "x", "estimate": 1, "ci_low": 2, "ci_high": 0}]), "subgroup x: ci_high 0.0 is below ci_low 2.0"),
    ],
)
def test_data_input_validation(kw, match):
    with pytest.raises(SpecError, match=match):
        iceman_from_data(**kw)


# ---------------------------------------------------------------------------------
# optional considerations: gradient and related outcomes


def test_trend_test_by_hand_and_against_weighted_least_squares():
    t = I.trend_test([0.0, 1.0, 2.0], [1.0, 1.0, 1.0])
    assert math.isclose(t["slope"], 1.0, rel_tol=1e-12)
    assert math.isclose(t["se"], 1 / math.sqrt(2), rel_tol=1e-12)
    assert math.isclose(t["pval"], math.erfc(1.0), rel_tol=1e-12)  # z = sqrt(2), p = erfc(z / sqrt 2)
    assert t["monotone"] is True

    y = np.array([0.12, 0.30, 0.41, 0.77])
    se = np.array([0.10, 0.15, 0.08, 0.20])
    x = np.array([1.0, 2.0, 4.0, 8.0])
    t = I.trend_test(y, se, x)
    w = 1 / se**2
    X = np.column_stack([np.ones(4), x])
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * y)
    assert math.isclose(t["slope"], beta[1], rel_tol=1e-12)
    assert math.isclose(t["se"], math.sqrt(cov[1, 1]), rel_tol=1e-12)


def test_trend_test_validation():
    with pytest.raises(SpecError, match="at least three ordered levels"):
        I.trend_test([1, 2], [1, 1])
    with pytest.raises(SpecError, match="scores must not all be equal"):
        I.trend_test([1, 2, 3], [1, 1, 1], [2, 2, 2])
    with pytest.raises(SpecError, match="standard errors must be positive"):
        I.trend_test([1, 2, 3], [1, -1, 1])


def test_gradient_answers():
    ordered = [{"name": f"dose {i}", "estimate": e, "se": 0.1} for i, e in enumerate([0.0, 0.4, 0.9])]
    a = iceman_from_data(levels=ordered, ordered=True)["gradient"]
    assert a.response == "definitely yes"
    assert a.reason.startswith("weighted linear trend over 3 ordered levels: slope 0.4500 (se 0.0707), p = <.0001; estimates monotone")
    flat = [{"name": str(i), "estimate": e, "se": 1.0} for i, e in enumerate([0.0, 0.3, 0.1])]
    assert iceman_from_data(levels=flat, ordered=True)["gradient"].response == "probably no"
    assert iceman_from_data(levels=LEVELS, ordered=True)["gradient"].response == "not applicable"
    assert "gradient" not in iceman_from_data(levels=ordered)  # not said to be ordered


@pytest.mark.parametrize(
    "related, resp", [([0.2, 0.5], "definitely yes"), ([0.2], "probably yes"), ([0.2, -0.1], "probably no"), ([-0.2, -0.1, 0.3], "definitely no"), (True, "probably yes"), (False, "probably no")]
)  # fmt: skip
def test_related_outcomes(related, resp):
    assert iceman_from_data(interaction_estimate=0.4, related_outcomes=related)["related_outcomes"].response == resp


def test_related_outcomes_needs_the_main_estimate():
    with pytest.raises(SpecError, match="needs a non-zero interaction_estimate"):
        iceman_from_data(related_outcomes=[0.1, 0.2])


def test_optional_definitely_no_caps_but_never_raises():
    a = assess_credibility(strong_data(interaction_estimate=0.9, related_outcomes=[-0.3, -0.2, 0.1]), STRONG_SPEC)
    assert a.answer("related_outcomes") == "definitely no"
    assert a.computed == "moderate"
    assert "item 9 (related_outcomes) definitely no: maximum moderate" in a.rule
    # a favourable optional answer does not lift a rating capped by a core item
    b = assess_credibility(strong_data(interaction_p=0.03, interaction_estimate=0.9, related_outcomes=[0.3, 0.2]), STRONG_SPEC)
    assert (b.answer("related_outcomes"), b.computed) == ("definitely yes", "low")


# ---------------------------------------------------------------------------------
# answers from a spec


@pytest.mark.parametrize(
    "facts, resp, reason",
    [
        (dict(prespecified=True, direction="correct", protocol=True), "definitely yes", "prior protocol states the hypothesis with the correct direction"),
        (dict(prespecified=True, direction="correct"), "probably yes", "a priori hypothesis with correct direction, no protocol available"),
        (dict(prespecified=True, direction="none"), "probably no", "vague hypothesis or hypothesised direction unclear"),
        (dict(prespecified=True), "probably no", "vague hypothesis or hypothesised direction unclear"),
        (dict(prespecified=True, direction="opposite", protocol=True), "definitely no", "results inconsistent with the hypothesised direction"),
        (dict(prespecified=False, direction="correct"), "definitely no", "clearly post hoc"),
        (dict(prespecified=True, direction="correct", rationale="implausible"), "definitely no", "biologically very implausible"),
    ],
)
def test_direction_a_priori_from_facts(facts, resp, reason):
    a = I.answers_from_spec(facts)["direction_a_priori"]
    assert (a.response, a.reason, a.source) == (resp, reason, "spec")


@pytest.mark.parametrize(
    "facts, resp",
    [(dict(n_modifiers_tested=1), "definitely yes"), (dict(n_modifiers_tested=3), "probably yes"),
     (dict(n_modifiers_tested=4), "probably no"), (dict(n_modifiers_tested=10), "probably no"),
     (dict(n_modifiers_tested=11), "definitely no"), (dict(n_modifiers_tested=20, multiplicity_adjusted=True), "definitely yes")],
)  # fmt: skip
def test_few_modifiers_from_facts(facts, resp):
    assert I.answers_from_spec(facts)["few_modifiers"].response == resp


@pytest.mark.parametrize(
    "facts, resp",
    [(dict(continuous_modifier=False), "not applicable"), (dict(continuous_modifier=True, cut_points="none"), "definitely yes"),
     (dict(cut_points="established"), "probably yes"), (dict(continuous_modifier=True, cut_points="arbitrary"), "probably no"),
     (dict(continuous_modifier=True, cut_points="data_driven"), "definitely no")],
)  # fmt: skip
def test_cut_points_from_facts(facts, resp):
    assert I.answers_from_spec(facts)["cut_points"].response == resp


def test_continuous_modifier_without_cut_points_stays_unanswered():
    assert "cut_points" not in I.answers_from_spec({"continuous_modifier": True})


@pytest.mark.parametrize(
    "facts, resp",
    [(dict(prior_evidence="supports", rationale="strong"), "definitely yes"), (dict(prior_evidence=True), "probably yes"),
     (dict(rationale="strong"), "probably yes"), (dict(prior_evidence="none"), "probably no"),
     (dict(prior_evidence="conflicts"), "definitely no")],
)  # fmt: skip
def test_prior_evidence_from_facts(facts, resp):
    assert I.answers_from_spec(facts)["prior_evidence"].response == resp


def test_direct_answers_reasons_and_by():
    spec = {
        "n_modifiers_tested": 12,
        "few_modifiers": {"response": "probably yes", "reason": "false discovery rate controlled"},
        "random_effects": "dy",
        "reasons": {"random_effects": "REML, Knapp-Hartung"},
        "by": "reviewer A",
    }
    ans = I.answers_from_spec(spec)
    assert ans["few_modifiers"].response == "probably yes"  # direct answer wins over the derived one
    assert ans["few_modifiers"].reason == "false discovery rate controlled"
    assert ans["random_effects"].reason == "answered in the spec; REML, Knapp-Hartung"
    assert ans["random_effects"].by == "reviewer A"


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"pre_specified": True}, "unknown ICEMAN spec key 'pre_specified'; use a question key"),
        ({"direction": "sideways"}, "ICEMAN spec key 'direction': invalid value 'sideways'; allowed: correct, opposite, none, unclear"),
        ({"prespecified": "yes"}, "ICEMAN spec key 'prespecified' must be true or false"),
        ({"n_modifiers_tested": 0}, "must be at least 1"),
        ({"cut_points": "median"}, "allowed: none, established, arbitrary, data-driven"),
        ({"chance": "perhaps"}, r"ICEMAN question 5 \(chance.*invalid response 'perhaps'"),
        ({"chance": {"answer": "dy"}}, "a table needs 'response'"),
        ({"reasons": {"nonsense": "x"}}, "unknown ICEMAN question 'nonsense'"),
    ],
)
def test_spec_validation(spec, match):
    with pytest.raises(SpecError, match=match):
        I.answers_from_spec(spec)


def test_conflicting_answers_keep_the_less_favourable():
    a = assess_credibility(strong_data(), {**STRONG_SPEC, "within_trial": "probably no"})
    assert a.answer("within_trial") == "probably no"
    assert a.item("within_trial").source == "spec"
    assert a.warnings == (
        "question within_trial: data answered 'definitely yes' and spec answered 'probably no'; "
        "the less favourable (spec: 'probably no') is kept",
    )
    assert a.computed == "moderate"


def test_answer_collections_validated():
    d = strong_data()
    assert assess_credibility(list(d.values()), STRONG_SPEC).computed == "high"
    with pytest.raises(SpecError, match="key 'chance' holds an answer to 'within_trial'"):
        assess_credibility({"chance": d["within_trial"]})
    with pytest.raises(SpecError, match="answered twice"):
        assess_credibility([d["chance"], d["chance"]])
    with pytest.raises(SpecError, match="expected Answer objects"):
        assess_credibility(["definitely yes"])


# ---------------------------------------------------------------------------------
# duck-typed entry


def test_from_result_attributes_and_mapping():
    res = SimpleNamespace(pval=0.0004, comparison="within-trial", n_trials=8, levels=LEVELS, method="REML", within_i2=0.0)
    by_attr = I.iceman_from_result(res)
    by_key = I.iceman_from_result({"interaction_p": 0.0004, "comparison": "within", "k": 8, "levels": LEVELS, "model": "random", "within_i2": 0})
    for ans in (by_attr, by_key):
        assert {k: a.response for k, a in ans.items()} == {
            "within_trial": "definitely yes",
            "similar_across_trials": "definitely yes",
            "number_of_trials": "not applicable",
            "chance": "definitely yes",
            "random_effects": "definitely yes",
        }
    assert I.iceman_from_result(res, interaction_p=0.02)["chance"].response == "probably no"
    with pytest.raises(SpecError, match="not a single number"):
        I.iceman_from_result({"qm_pval": [0.01, 0.02]})


def test_from_netgrade_subgroup_result():
    from netgrade.pairwise.subgroup import subgroup_analysis

    yi = [-0.9, -1.1, -1.3, -0.2, -0.1, -0.4]
    vi = [0.04, 0.05, 0.06, 0.04, 0.05, 0.03]
    sg = subgroup_analysis(yi, vi, ["A", "A", "A", "B", "B", "B"])
    ans = I.iceman_from_result(sg, comparison="between-trial")
    assert ans["chance"].numbers["interaction_p"] == sg.q_between_pval
    assert [lv["name"] for lv in ans["chance"].numbers["levels"]] == ["A", "B"]
    assert ans["chance"].numbers["levels"][0]["estimate"] == sg.fits[0].estimate
    assert ans["number_of_trials"].reason == "6 trials, smallest subgroup 3: fewer than 10 trials (Cochrane Handbook 10.11.5.1) or a subgroup with fewer than 3"
    assert ans["random_effects"].response == "definitely yes"


def test_from_subgroup_nma_like_result():
    # the shape of netgrade.network.subgroup_nma.SubgroupNMAResult: levels carry studies,
    # not one estimate; the global test is q_between_pval; per-treatment tests in tests
    res = SimpleNamespace(
        q_between_pval=0.04,
        method="REML",
        levels=(SimpleNamespace(level="lumbar", studies=("s1", "s2", "s3", "s4")), SimpleNamespace(level="cervical", studies=("s5", "s6"))),
        tests=(SimpleNamespace(treatment="RF", pval=0.008),),
    )
    ans = I.iceman_from_result(res, comparison="between-trial")
    assert ans["chance"].reason == "0.01 <= interaction p = 0.0400 < 0.05"
    assert ans["number_of_trials"].reason == "6 trials, smallest subgroup 2: fewer than 10 trials (Cochrane Handbook 10.11.5.1) or a subgroup with fewer than 3"
    one = I.iceman_from_result(res, comparison="between-trial", interaction_p=res.tests[0].pval)
    assert one["chance"].label == "Chance may not explain"
    assert "within_trial" not in I.iceman_from_result(res)


# ---------------------------------------------------------------------------------
# result object


def test_result_exports():
    a = assess_credibility(strong_data(), STRONG_SPEC)
    df = a.to_frame()
    assert list(df.index) == list(range(1, 12))
    assert list(df.columns) == ["question", "text", "core", "response", "label", "source", "reason", "ceiling"]
    assert df.loc[5, "label"] == "Chance an unlikely explanation"
    d = json.loads(a.to_json())
    assert d["credibility"] == "high" and d["override"] is None
    assert d["items"][4]["numbers"]["interaction_p"] == 0.0004
    assert a.to_json() == assess_credibility(strong_data(), STRONG_SPEC).to_json()
    html = a._repr_html_()
    assert "Credibility of the effect modification: HIGH" in html and "<table" in html
    assert str(a) == a.summary()
