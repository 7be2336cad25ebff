"""Summary-of-findings tables (Guyatt et al. 2013, GRADE guidelines 12 and 13).

The absolute effects per 1,000 are worked out by hand: with an odds ratio OR and a
comparator risk p, the risk with the intervention is OR*p / (1 - p + OR*p).
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from netgrade.certainty.sof import SummaryOfFindings, summary_of_findings
from netgrade.certainty.statements import SPINE_STYLE
from netgrade.certainty.types import DomainJudgement, Outcome, Override, Thresholds
from netgrade.errors import ModelError, SpecError

DEATH = Outcome(
    "mortality", "OR", larger_better=False, thresholds=Thresholds(10, 20, 30), baseline_risk=0.05,
    description="All-cause mortality at 1 year",
)
PAIN = Outcome("pain", "MD", larger_better=False, thresholds=Thresholds(1.5), unit="cm", description="Pain (10 cm VAS)")
LN = math.log


def _binary_table(**kw) -> SummaryOfFindings:
    rows = [
        {
            "intervention": "Drug A",
            "comparator": "placebo",
            "estimate": LN(0.75),
            "ci_low": LN(0.60),
            "ci_high": LN(0.94),
            "certainty": "moderate",
            "downgrades": [("imprecision", "some concerns", "the CI crosses the MID"), ("indirectness", "no concerns")],
            "n_studies": 5,
            "n_participants": 1200,
        },
        {
            "intervention": "Drug B",
            "comparator": "placebo",
            "estimate": LN(1.30),
            "ci_low": LN(0.90),
            "ci_high": LN(1.90),
            "certainty": "very low",
            "downgrades": [
                ("imprecision", "some concerns", "the CI crosses the MID"),
                {"domain": "within-study bias", "level": "major concerns"},
            ],
        },
    ]
    return summary_of_findings(rows, DEATH, baseline_risks={"low risk": 0.05, "high risk": 0.20}, **kw)


def test_binary_relative_and_absolute_effects_by_hand():
    sof = _binary_table()
    a = sof.rows[0]
    assert a.effect == pytest.approx(0.75) and a.effect_ci_low == pytest.approx(0.60) and a.effect_ci_high == pytest.approx(0.94)
    low, high = a.absolute
    assert (low.label, low.baseline_risk, high.label, high.baseline_risk) == ("low risk", 0.05, "high risk", 0.20)
    # p = 0.05: OR 0.75 -> 0.0375/0.9875; OR 0.60 -> 0.03/0.98; OR 0.94 -> 0.047/0.997
    assert low.comparator_per_1000 == pytest.approx(50.0)
    assert low.intervention_per_1000 == pytest.approx(1000 * 0.0375 / 0.9875)  # 37.97
    assert low.intervention_ci_low == pytest.approx(1000 * 0.03 / 0.98)  # 30.61
    assert low.intervention_ci_high == pytest.approx(1000 * 0.047 / 0.997)  # 47.14
    assert low.difference == pytest.approx(1000 * 0.0375 / 0.9875 - 50)  # -12.03
    assert low.difference_ci_low == pytest.approx(1000 * 0.03 / 0.98 - 50)  # -19.39
    assert low.difference_ci_high == pytest.approx(1000 * 0.047 / 0.997 - 50)  # -2.86
    # p = 0.20: OR 0.75 -> 0.15/0.95; OR 0.60 -> 0.12/0.92; OR 0.94 -> 0.188/0.988
    assert high.comparator_per_1000 == pytest.approx(200.0)
    assert high.intervention_per_1000 == pytest.approx(1000 * 0.15 / 0.95)  # 157.89
    assert high.difference == pytest.approx(1000 * 0.15 / 0.95 - 200)  # -42.11
    assert high.difference_ci_low == pytest.approx(1000 * 0.12 / 0.92 - 200)  # -69.57
    assert high.difference_ci_high == pytest.approx(1000 * 0.188 / 0.988 - 200)  # -9.72
    # displayed, rounded to whole numbers per 1,000
    assert sof.effect_text(a) == "OR 0.75 (0.60 to 0.94)"
    assert low.comparator_text() == "50 per 1,000"
    assert low.intervention_text() == "38 per 1,000 (31 to 47)"
    assert low.difference_text() == "12 fewer per 1,000 (from 19 fewer to 3 fewer)"
    assert high.intervention_text() == "158 per 1,000 (130 to 190)"
    assert high.difference_text() == "42 fewer per 1,000 (from 70 fewer to 10 fewer)"
    # OR 1.30 (0.90 to 1.90) at 5%: 0.065/1.015 = 64.04; 0.045/0.995 = 45.23; 0.095/1.045 = 90.91
    b_low = sof.rows[1].absolute[0]
    assert b_low.difference == pytest.approx(1000 * 0.065 / 1.015 - 50)
    assert b_low.difference_text() == "14 more per 1,000 (from 5 fewer to 41 more)"


def test_binary_magnitude_and_statements():
    sof = _binary_table()
    a, b = sof.rows
    # -12 per 1,000 at the outcome's 5% baseline: a small benefit (thresholds 10/20/30)
    assert a.magnitude.label == "small benefit"
    assert sof.judged_at == 0.05 and sof.notes == ()
    assert a.statement == "Drug A probably results in a slight reduction in mortality compared with placebo."
    assert b.statement == "The evidence is very uncertain about the effect of drug B on mortality compared with placebo."


def test_footnotes_name_the_domains_that_lowered_certainty():
    sof = _binary_table()
    a, b = sof.rows
    assert sof.footnotes == (
        ("a", "downgraded for imprecision (some concerns): the CI crosses the MID"),
        ("b", "downgraded for within-study bias (major concerns)"),
    )
    # the same reason shares its letter; "no concerns" lowers nothing
    assert a.footnotes == ("a",) and b.footnotes == ("a", "b")
    assert [d.domain for d in a.downgrades] == ["imprecision"]
    assert [d.domain for d in b.downgrades] == ["imprecision", "within-study bias"]
    assert sof.certainty_text(b) == "Very low (a, b)"


def test_continuous_outcome_md_in_cm_from_rating_like_objects():
    """A CertaintyRating-like object read duck-typed: treatment1 vs treatment2, final,
    domains as DomainJudgement objects (one overridden, one without concerns)."""
    rating = SimpleNamespace(
        treatment1="epidural steroid",
        treatment2="sham",
        estimate=0.39,
        ci_low=-0.94,
        ci_high=1.71,
        final="low",
        domains=(
            DomainJudgement("within-study bias", "no concerns", "most information from low risk of bias trials"),
            DomainJudgement("imprecision", "some concerns", "the CI crosses the MID"),
            DomainJudgement(
                "heterogeneity",
                "major concerns",
                "prediction interval crosses the MID on both sides",
                override=Override("some concerns", "the spread is explained by one outlying trial"),
            ),
        ),
        n_studies=8,
        n_participants=611,
    )
    sof = summary_of_findings([rating], PAIN, outcome_phrase={"none": "pain relief", "default": "pain"})
    (row,) = sof.rows
    assert (row.intervention, row.comparator) == ("epidural steroid", "sham")
    assert row.absolute == () and sof.baseline_risks == () and sof.judged_at is None
    assert (row.effect, row.effect_ci_low, row.effect_ci_high) == (0.39, -0.94, 1.71)
    assert sof.effect_text(row) == "MD 0.39 cm higher (0.94 lower to 1.71 higher)"
    assert sof.measure_label == "Mean difference (cm)"
    assert row.magnitude.label == "little to no effect"
    assert row.statement == "Epidural steroid may result in little to no difference in pain relief compared with sham."
    assert sof.footnotes == (
        ("a", "downgraded for imprecision (some concerns): the CI crosses the MID"),
        (
            "b",
            "downgraded for heterogeneity (some concerns): prediction interval crosses the MID on both sides "
            "[panel override: computed major concerns; the spread is explained by one outlying trial]",
        ),
    )
    assert row.footnotes == ("a", "b")
    assert sof.studies_text(row) == "8 (611)"
    # the spine guideline's verb
    sof2 = summary_of_findings(
        [rating], PAIN, style=SPINE_STYLE, outcome_phrase={"none": "pain relief", "default": "pain"}, plural=True
    )
    assert sof2.rows[0].statement == "Epidural steroid may provide little to no difference in pain relief compared with sham."


def test_overall_override_is_a_footnote():
    rating = SimpleNamespace(
        treatment1="RFA", treatment2="sham", estimate=-0.2, ci_low=-0.9, ci_high=0.5,
        domains=(DomainJudgement("imprecision", "some concerns", "the CI crosses the MID"),),
        computed="moderate", final="low",
        override=Override("low", "indirect population: most trials enrolled patients without diagnostic blocks"),
    )
    sof = summary_of_findings([rating], PAIN)
    assert sof.rows[0].certainty == "low"
    assert sof.footnotes[1] == (
        "b",
        "overall certainty set to low by the panel (computed: moderate): indirect population: most trials "
        "enrolled patients without diagnostic blocks",
    )
    frame = sof.to_frame()
    assert frame.loc[0, "downgraded_for"] == "imprecision" and frame.loc[0, "overall_override"] == "low"


def test_continuous_harm_and_default_comparator():
    sof = summary_of_findings(
        [{"treatment1": "IM LA + steroid", "estimate": 1.82, "ci_low": -0.29, "ci_high": 3.93, "final": "Low",
          "downgrades": {"imprecision": "major concerns"}}],
        PAIN,
        comparator="sham",
        style=SPINE_STYLE,
        outcome_phrase={"none": "pain relief", "default": "pain"},
    )
    row = sof.rows[0]
    assert row.comparator == "sham" and row.certainty == "low"
    assert row.statement == "IM LA + steroid may increase pain compared with sham."
    assert sof.effect_text(row) == "MD 1.82 cm higher (0.29 lower to 3.93 higher)"
    assert sof.footnotes == (("a", "downgraded for imprecision (major concerns)"),)


def test_outputs_frame_dict_summary():
    sof = _binary_table()
    frame = sof.to_frame()
    assert list(frame["intervention"]) == ["Drug A", "Drug B"]
    assert frame.loc[0, "risk_difference_per_1000[low risk]"] == pytest.approx(1000 * 0.0375 / 0.9875 - 50)
    assert frame.loc[0, "risk_intervention_per_1000[high risk]"] == pytest.approx(1000 * 0.15 / 0.95)
    assert frame.loc[0, "n_studies"] == 5 and frame["n_studies"].isna().iloc[1]
    assert frame.loc[1, "footnotes"] == "a,b" and frame.loc[1, "downgraded_for"] == "imprecision; within-study bias"
    d = sof.to_dict()
    assert d["rows"][0]["absolute"][1]["label"] == "high risk"
    assert d["footnotes"][1] == {"key": "b", "text": "downgraded for within-study bias (major concerns)"}
    text = sof.to_json()
    assert json.loads(text)["measure"] == "OR"
    assert text == _binary_table().to_json()  # deterministic
    s = sof.summary()
    assert "Summary of findings: All-cause mortality at 1 year" in s
    assert "12 fewer per 1,000 (from 19 fewer to 3 fewer)" in s
    assert "a: downgraded for imprecision (some concerns): the CI crosses the MID" in s
    assert "Moderate (a)" in s and "smaller values are better" in s


def test_html_is_escaped_and_accessible():
    rows = [
        {
            "intervention": "<script>alert(1)</script>",
            "comparator": "A & B",
            "estimate": LN(0.75),
            "ci_low": LN(0.60),
            "ci_high": LN(0.94),
            "certainty": "moderate",
            "downgrades": [("imprecision", "some concerns", 'CI < MID "really"')],
        }
    ]
    outcome = Outcome("<b>death</b>", "OR", False, Thresholds(10, 20, 30), baseline_risk=0.05)
    h = summary_of_findings(rows, outcome).to_html()
    assert "<script>" not in h and "<b>" not in h
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in h
    assert "A &amp; B" in h and "&lt;b&gt;death&lt;/b&gt;" in h
    assert "CI &lt; MID &quot;really&quot;" in h
    assert "<caption>" in h and '<th scope="col">' in h and '<th scope="row">' in h
    assert '<span aria-hidden="true">⊕⊕⊕◯</span> Moderate<sup>a</sup>' in h
    assert "http" not in h and "<link" not in h and "<style" not in h  # no external assets
    assert summary_of_findings(rows, outcome)._repr_html_() == h


def test_outcome_without_baseline_risk_is_judged_at_the_first_one_given():
    o = Outcome("mortality", "RR", False, Thresholds(10, 20, 30))
    sof = summary_of_findings(
        [{"intervention": "X", "comparator": "Y", "estimate": LN(0.8), "certainty": "high"}],
        o,
        baseline_risks=[0.10, 0.30],
    )
    # RR 0.8: 1000 * 0.1 * (0.8 - 1) = -20 at 10%; -60 at 30%
    assert [a.difference for a in sof.rows[0].absolute] == pytest.approx([-20.0, -60.0])
    assert [a.label for a in sof.rows[0].absolute] == ["risk 10%", "risk 30%"]
    assert sof.judged_at == 0.10 and "first baseline risk" in sof.notes[0]
    assert sof.rows[0].magnitude.label == "moderate benefit"
    assert sof.rows[0].absolute[0].difference_text() == "20 fewer per 1,000"


def test_risk_difference_measure():
    o = Outcome("mortality", "RD", False, Thresholds(10, 20, 30))
    sof = summary_of_findings(
        [{"intervention": "X", "comparator": "Y", "estimate": -0.015, "ci_low": -0.03, "ci_high": 0.0, "certainty": "high"}],
        o,
        baseline_risks={"typical": 0.1},
    )
    a = sof.rows[0].absolute[0]
    assert a.intervention_per_1000 == pytest.approx(85.0) and a.difference == pytest.approx(-15.0)
    assert sof.effect_text(sof.rows[0]) == "15 fewer per 1,000 (from 30 fewer to 0)"
    assert sof.rows[0].statement == "X results in a slight reduction in mortality compared with Y."


def test_errors():
    row = {"intervention": "X", "comparator": "Y", "estimate": LN(0.8), "certainty": "high"}
    with pytest.raises(ModelError, match="baseline risk"):
        summary_of_findings([row], Outcome("death", "OR", False, Thresholds(10)))
    with pytest.raises(SpecError, match="binary"):
        summary_of_findings([{**row, "estimate": 0.3}], PAIN, baseline_risks={"low": 0.1})
    with pytest.raises(SpecError, match="inside its CI"):
        summary_of_findings([{**row, "estimate": 0.3, "ci_low": 0.5, "ci_high": 1.0}], PAIN)
    with pytest.raises(SpecError, match="certainty"):
        summary_of_findings([{"intervention": "X", "comparator": "Y", "estimate": 0.3}], PAIN)
    with pytest.raises(SpecError, match="comparator"):
        summary_of_findings([{"intervention": "X", "estimate": 0.3, "certainty": "low"}], PAIN)
    with pytest.raises(SpecError, match="between 0 and 1"):
        summary_of_findings([row], DEATH, baseline_risks={"low": 1.5})
    with pytest.raises(ModelError, match="ROM"):
        summary_of_findings([row], Outcome("y", "ROM", True, Thresholds(1.0)))
    with pytest.raises(SpecError, match="n_studies"):
        summary_of_findings([{**row, "estimate": 0.3, "n_studies": 2.5}], PAIN)
