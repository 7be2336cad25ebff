"""Evidence-to-decision records: judgement vocabularies, benefits, harms, overall certainty.

The judgement options are those of the GRADE EtD framework for clinical recommendations
(Alonso-Coello et al. 2016, BMJ 353:i2016, i2089); overall certainty is the lowest among
critical outcomes (GRADE guidelines 11).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from netgrade.certainty.types import Override, Thresholds
from netgrade.errors import SpecError
from netgrade.guideline.etd import (
    CRITERIA,
    EvidenceToDecision,
    HarmEffect,
    Judgement,
    OutcomeEffect,
    effects_from_sof,
    lowest_certainty,
    normalise_judgement,
)


def effect(intervention="A", estimate=0.2, certainty="moderate", **kw):
    kw.setdefault("magnitude", "trivial")
    return OutcomeEffect(intervention, kw.pop("comparator", "sham"), kw.pop("outcome", "pain"), estimate, certainty, **kw)


def etd(**kw):
    kw.setdefault("benefits", (effect("A"), effect("B", certainty="low")))
    return EvidenceToDecision(
        population=kw.pop("population", "adults with chronic axial spine pain"),
        interventions=kw.pop("interventions", ("A", "B")),
        comparator=kw.pop("comparator", "sham"),
        **kw,
    )


# ------------------------------------------------------------------------- judgements


class TestJudgements:
    def test_every_option_of_every_criterion_is_accepted(self):
        for criterion, (_, options) in CRITERIA.items():
            for option in options:
                assert normalise_judgement(criterion, option.upper()) == option

    def test_balance_options_are_grades(self):
        assert CRITERIA["balance"][1] == (
            "favours the comparison",
            "probably favours the comparison",
            "does not favour either the intervention or the comparison",
            "probably favours the intervention",
            "favours the intervention",
            "varies",
            "don't know",
        )

    @pytest.mark.parametrize(
        "criterion, given, expected",
        [
            ("balance", "Favors the comparison", "favours the comparison"),
            ("balance", "does not favor either", "does not favour either the intervention or the comparison"),
            ("balance", "do not know", "don't know"),
            ("values", "All or almost all informed patients would choose to avoid", "all or almost all would decline the intervention"),
            ("values", "all or almost all would choose to avoid the procedure.", "all or almost all would decline the intervention"),
            ("values", "most would choose", "most would choose the intervention, many would not"),
            ("resources", "Large costs", "large costs"),
            ("equity", "probably no impact", "probably no impact"),
        ],
    )
    def test_aliases(self, criterion, given, expected):
        assert normalise_judgement(criterion, given) == expected

    def test_unknown_value_names_the_field_and_lists_the_options(self):
        with pytest.raises(SpecError) as exc:
            etd(id="q1", balance="favours")
        msg = str(exc.value)
        assert "q1" in msg and ".balance" in msg and "'favours'" in msg
        assert "'probably favours the comparison'" in msg

    @pytest.mark.parametrize("criterion", sorted(CRITERIA))
    def test_unknown_value_refused_for_each_criterion(self, criterion):
        with pytest.raises(SpecError, match=rf"\.{criterion}: unknown judgement"):
            etd(**{criterion: "perhaps"})

    def test_forms_of_a_judgement(self):
        r = etd(
            values=("all or almost all would decline", "little or no benefit, known harms"),
            resources={"judgement": "moderate costs", "text": "repeat procedures", "evidence": "claims data"},
            balance=Judgement("balance", "favours the comparison"),
            equity="varies",
        )
        assert r.values.value == "all or almost all would decline the intervention"
        assert r.values.text == "little or no benefit, known harms"
        assert (r.resources.value, r.resources.text, r.resources.evidence) == ("moderate costs", "repeat procedures", "claims data")
        assert r.balance.value == "favours the comparison"
        assert r.equity.value == "varies" and r.equity.text == ""
        assert r.acceptability is None
        assert r.values.sentence() == (
            "Values and preferences: all or almost all would decline the intervention. little or no benefit, known harms"
        )

    def test_mapping_with_unknown_keys_refused(self):
        with pytest.raises(SpecError, match="resources: unknown keys"):
            etd(resources={"judgement": "moderate costs", "comment": "x"})

    def test_judgement_on_the_wrong_criterion_refused(self):
        with pytest.raises(SpecError, match="balance: a judgement on 'equity'"):
            etd(balance=Judgement("equity", "varies"))


# ------------------------------------------------------------------------- benefits


class TestOutcomeEffect:
    def test_plain_values(self):
        e = OutcomeEffect(
            "epidural LA", "sham", "pain", 0.28, "Moderate", -1.18, 1.75, magnitude="trivial", measure="MD", unit="cm",
            statement="probably provides little to no difference in pain relief",
        )
        assert (e.magnitude, e.direction, e.certainty, e.importance) == ("trivial", "none", "moderate", "critical")
        assert e.effect_text() == "MD 0.28 cm (95% CI \u22121.18 to 1.75)"
        assert e.sentence() == (
            "Compared with sham, epidural LA probably provides little to no difference in pain relief "
            "(pain: MD 0.28 cm (95% CI \u22121.18 to 1.75); moderate certainty; little to no difference (below the MID))."
        )

    @pytest.mark.parametrize(
        "estimate, size, direction",
        [(-1.5, "important", "benefit"), (-1.4999, "trivial", "none"), (1.5, "important", "harm"), (-3.2, "important", "benefit")],
    )
    def test_classified_against_the_mid(self, estimate, size, direction):
        e = OutcomeEffect("A", "sham", "pain", estimate, "low", thresholds=1.5, larger_better=False, measure="MD")
        assert (e.magnitude, e.direction) == (size, direction)

    def test_classified_against_graded_thresholds(self):
        t = Thresholds.from_mid(1.5)
        sizes = [
            OutcomeEffect("A", "sham", "pain", x, "low", thresholds=t, larger_better=False).magnitude
            for x in (-1.49, -1.5, -3.0, -4.5)
        ]
        assert sizes == ["trivial", "small", "moderate", "large"]
        up = OutcomeEffect("A", "sham", "function", 10.0, "low", thresholds=Thresholds(10.0), larger_better=True)
        assert up.direction == "benefit"

    def test_from_a_magnitude_object(self):
        mag = SimpleNamespace(size="small", direction="benefit", estimate=-1.6, measure="MD")
        e = OutcomeEffect.from_magnitude(mag, intervention="A", comparator="sham", outcome="pain", certainty="moderate")
        assert (e.estimate, e.magnitude, e.direction, e.measure) == (-1.6, "small", "benefit", "MD")

    def test_from_a_summary_of_findings_table(self):
        from netgrade.certainty.sof import summary_of_findings
        from netgrade.certainty.types import Outcome

        oc = Outcome("pain", "MD", False, Thresholds(1.5), unit="cm")
        sof = summary_of_findings(
            [
                {"intervention": "epidural_LA", "comparator": "sham", "estimate": 0.28, "ci_low": -1.18, "ci_high": 1.75,
                 "certainty": "moderate"},
                {"intervention": "X", "comparator": "sham", "estimate": -1.6, "ci_low": -2.5, "ci_high": -0.7,
                 "certainty": "moderate"},
            ],
            oc,
        )
        effects = effects_from_sof(sof)
        assert [(e.intervention, e.magnitude, e.direction, e.certainty) for e in effects] == [
            ("epidural_LA", "trivial", "none", "moderate"),
            ("X", "important", "benefit", "moderate"),
        ]
        assert effects[0].effect_text() == "MD 0.28 cm (95% CI \u22121.18 to 1.75)"
        assert effects[0].sentence().endswith("(pain: MD 0.28 cm (95% CI \u22121.18 to 1.75); moderate certainty; "
                                              "little to no difference (below the MID)).")
        assert [e.intervention for e in effects_from_sof(sof, interventions=["X"])] == ["X"]

    def test_magnitude_needs_a_source(self):
        with pytest.raises(SpecError, match="give the magnitude"):
            OutcomeEffect("A", "sham", "pain", -1.0, "low")

    def test_validation(self):
        with pytest.raises(SpecError, match="unknown magnitude 'huge'"):
            effect(magnitude="huge")
        with pytest.raises(SpecError, match="must be a benefit or a harm"):
            effect(magnitude="small", direction="none")
        with pytest.raises(SpecError, match="needs a direction"):
            effect(magnitude="small")
        with pytest.raises(SpecError, match="outside its CI"):
            effect(estimate=2.0, ci_low=-1.0, ci_high=1.0)
        with pytest.raises(SpecError, match="both ci_low and ci_high"):
            effect(ci_low=-1.0)
        with pytest.raises(SpecError, match=r"benefit 'A' vs 'sham' on 'pain': unknown certainty level 'certain'"):
            effect(certainty="certain")
        with pytest.raises(SpecError, match="unknown importance"):
            effect(importance="vital")

    def test_default_statement_follows_grade_wording(self):
        assert effect(certainty="high").statement_text() == "results in little to no difference in pain"
        assert effect(certainty="moderate").statement_text() == "probably results in little to no difference in pain"
        assert effect(certainty="low", magnitude="small", direction="benefit").statement_text() == (
            "may result in a small benefit on pain"
        )
        assert effect(certainty="very low").statement_text() == "the evidence is very uncertain about the effect on pain"


# ------------------------------------------------------------------------- harms


class TestHarms:
    def test_rates_per_1000(self):
        h = HarmEffect("prolonged pain or stiffness", 0.086, certainty="low")
        assert h.per_1000 == pytest.approx(86.0)
        assert h.describe() == "prolonged pain or stiffness 8.6% (86 per 1,000), low certainty"
        d = HarmEffect("dural puncture", 0.014)
        assert d.describe() == "dural puncture 1.4% (14 per 1,000)"
        assert HarmEffect("rare", 0.0004).describe() == "rare 0.04% (0.4 per 1,000)"

    def test_interval_and_comparator(self):
        # illustrative numbers (the published CIs are not reproduced here)
        h = HarmEffect("x", 0.086, 0.05, 0.13, certainty="low", comparator_rate=0.02)
        assert h.describe() == (
            "x 8.6% (95% CI 5.0% to 13.0%; 86 per 1,000, 50 to 130; 66 more per 1,000 than with the comparator (2.0%)), "
            "low certainty"
        )
        assert h.difference_per_1000 == pytest.approx(66.0)

    def test_burden_without_rate(self):
        h = HarmEffect("repeat visits", text="injections are repeated every few months")
        assert h.describe() == "repeat visits (injections are repeated every few months)"

    def test_validation(self):
        with pytest.raises(SpecError, match=r"8.6% is 0.086"):
            HarmEffect("x", 8.6)
        with pytest.raises(SpecError, match="give a rate, or describe"):
            HarmEffect("x")
        with pytest.raises(SpecError, match="outside its CI"):
            HarmEffect("x", 0.2, 0.05, 0.1)
        with pytest.raises(SpecError, match="a CI needs a rate"):
            HarmEffect("x", None, 0.05, 0.1, text="t")


# ------------------------------------------------------------------------- the record


class TestRecord:
    def test_overall_certainty_is_lowest_among_critical_outcomes(self):
        r = etd(
            benefits=(
                effect("A", certainty="high"),
                effect("A", outcome="function", certainty="moderate"),
                effect("A", outcome="sleep", certainty="very low", importance="important"),
                effect("B", certainty="moderate"),
            )
        )
        assert r.computed_certainty_of("A") == "moderate"  # 'sleep' is not critical
        assert r.certainty == "moderate"
        assert r.certainty_range() == "moderate"

    def test_critical_harm_with_a_certainty_counts(self):
        r = etd(harms=(HarmEffect("serious harm", 0.01, certainty="low", importance="critical"),))
        assert r.certainty_of("A") == "low"
        r2 = etd(harms=(HarmEffect("minor harm", 0.01, certainty="very low"),))
        assert r2.certainty_of("A") == "moderate"

    def test_certainty_range_for_a_group(self):
        r = etd()
        assert (r.certainty, r.certainty_range()) == ("low", "low to moderate")

    def test_override_of_the_overall_certainty(self):
        ov = Override("Moderate", "all critical outcomes point the same way; the better-supported one decides")
        r = etd(certainty_override=ov)
        assert r.computed_certainty == "low" and r.certainty == "moderate"
        assert r.certainty_of("B") == "moderate"
        row = r.to_frame().set_index("criterion").loc["certainty"]
        assert row["judgement"] == "moderate" and "overridden from low" in row["text"]
        with pytest.raises(SpecError, match="needs a justification"):
            Override("moderate", "  ")
        r3 = EvidenceToDecision.from_dict({"population": "p", "interventions": ["A"], "comparator": "sham",
                                           "benefits": [{"intervention": "A", "outcome": "pain", "estimate": 0.1,
                                                         "certainty": "low", "magnitude": "trivial"}],
                                           "certainty_override": {"level": "moderate", "justification": "why"}})
        assert r3.certainty == "moderate"
        with pytest.raises(SpecError, match="certainty_override: give level, justification"):
            etd(certainty_override={"lvl": "moderate"})
        with pytest.raises(SpecError, match="certainty_override: unknown certainty level"):
            etd(certainty_override=Override("certain", "because"))

    def test_effects_must_belong_to_the_question(self):
        with pytest.raises(SpecError, match="intervention 'C' is not one of the question's interventions"):
            etd(benefits=(effect("C"),))
        with pytest.raises(SpecError, match="against 'usual care'"):
            etd(benefits=(effect("A", comparator="usual care"),))
        with pytest.raises(SpecError, match=r"\['Z'\] not among the question's interventions"):
            etd(harms=(HarmEffect("x", 0.1, interventions=("Z",)),))
        with pytest.raises(SpecError, match="listed twice"):
            etd(interventions=("A", "A"))
        with pytest.raises(SpecError, match="at least one intervention"):
            etd(interventions=())

    def test_harms_apply_to_named_members(self):
        r = etd(harms=(HarmEffect("all", 0.1), HarmEffect("only B", 0.01, interventions="B")))
        assert [h.name for h in r.harms_for("A")] == ["all"]
        assert [h.name for h in r.harms_for("B")] == ["all", "only B"]

    def test_from_dict(self):
        r = EvidenceToDecision.from_dict(
            {
                "id": "axial-epidural",
                "population": "adults with chronic axial spine pain",
                "interventions": ["A", "B"],
                "comparator": "sham",
                "label": "A or B",
                "benefits": [
                    {"intervention": "A", "outcome": "pain", "estimate": 0.28, "lower": -1.18, "upper": 1.75,
                     "certainty": "moderate", "magnitude": "trivial"},
                    {"treatment": "B", "outcome": "pain", "estimate": 0.39, "certainty": "low", "thresholds": 1.5,
                     "larger_better": False},
                ],
                "harms": [{"name": "dural puncture", "rate": 0.014}],
                "values": {"judgement": "all or almost all would decline", "text": "t"},
            }
        )
        assert r.key == "axial-epidural"
        assert r.benefits[1].magnitude == "trivial" and r.benefits[0].ci_low == -1.18
        with pytest.raises(SpecError, match=r"unknown keys \['colour'\]"):
            EvidenceToDecision.from_dict({"population": "p", "interventions": ["A"], "comparator": "sham", "colour": 1})
        with pytest.raises(SpecError, match="missing key 'comparator'"):
            EvidenceToDecision.from_dict({"population": "p", "interventions": ["A"]})
        with pytest.raises(SpecError, match=r"benefits\[0\]: unknown field 'effect'"):
            EvidenceToDecision.from_dict(
                {"population": "p", "interventions": ["A"], "comparator": "sham", "benefits": [{"effect": 1}]}
            )

    def test_subset(self):
        r = etd(harms=(HarmEffect("only B", 0.01, interventions=("B",)), HarmEffect("all", 0.1)), id="q")
        s = r.subset(["A"])
        assert s.interventions == ("A",) and [b.intervention for b in s.benefits] == ["A"]
        assert [h.name for h in s.harms] == ["all"]
        assert s.key == "q [A]" and s.label == "A"

    def test_outputs(self):
        r = etd(values="all or almost all would decline", harms=(HarmEffect("dural puncture", 0.014),))
        frame = r.to_frame()
        assert isinstance(frame, pd.DataFrame)
        assert list(frame["criterion"])[:4] == ["problem", "desirable_effects", "undesirable_effects", "certainty"]
        assert len(frame) == len(CRITERIA) + 1
        assert list(r.benefits_frame()["intervention"]) == ["A", "B"]
        assert r.harms_frame().loc[0, "per_1000"] == pytest.approx(14.0)
        text = r.summary()
        assert "Certainty of the evidence: low (lowest among critical outcomes)" in text
        assert "dural puncture 1.4% (14 per 1,000)" in text
        d = json.loads(r.to_json())
        assert d["certainty_by_intervention"] == {"A": "moderate", "B": "low"}
        assert d["judgements"]["values"]["judgement"] == "all or almost all would decline the intervention"
        assert r.to_json() == etd(values="all or almost all would decline", harms=(HarmEffect("dural puncture", 0.014),)).to_json()

    def test_frozen(self):
        r = etd()
        with pytest.raises(Exception):
            r.population = "x"

    def test_lowest_certainty(self):
        assert lowest_certainty(["high", "Low", "moderate"]) == "low"
        assert lowest_certainty([]) is None
