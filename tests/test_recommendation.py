"""The recommendation engine: the spine guideline's six strong recommendations against,
a flip to a conditional recommendation for, every condition of the decision rule at its
boundary, group recommendations and panel overrides.

The spine evidence mirrors the 2025 BMJ Rapid Recommendation (Busse et al., BMJ
2025;388:e079970; Wang et al., BMJ 2025;388:e079971): the axial effects against sham are
read from ../shared/data/bmj/published_effects.csv (published abstract; DRG from the
provisional conference abstract); procedures the abstract does not report (joint RFA,
DRG combinations, radicular epidurals) get ILLUSTRATIVE values of the same kind (little to
no difference, moderate or low certainty).  Harms 8.6% and 1.4% are the published rates;
their certainty (low, observational) and the costs judgement are assumptions of the test.
"""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from netgrade.certainty.types import Override, Thresholds
from netgrade.errors import SpecError
from netgrade.guideline.budget import SPINE_EPIDURAL_VOLUME, SPINE_UNIT_COSTS, budget_impact
from netgrade.guideline.etd import EvidenceToDecision, HarmEffect, OutcomeEffect
from netgrade.guideline.recommendation import (
    CONDITIONS,
    SPINE_RULE,
    DecisionRule,
    PanelOverride,
    recommend,
    recommend_all,
    recommendation_table,
)

from .reference import SHARED

MID = 1.5
PUBLISHED = SHARED / "data" / "bmj" / "published_effects.csv"

# ILLUSTRATIVE effects (MD on a 10 cm VAS vs sham, positive = more pain) for procedures the
# published abstract does not report; all "little to no difference".
ILLUSTRATIVE = {
    "joint_RFA": (0.10, -0.60, 0.80, "moderate"),
    "joint_RFA_LA_steroid": (-0.40, -1.50, 0.70, "low"),
    "DRG_epidural_LA": (0.30, -1.00, 1.60, "low"),
    "DRG_epidural_LA_steroid": (-0.20, -1.40, 1.00, "low"),
    "radicular_epidural_LA": (-0.30, -1.20, 0.60, "moderate"),
    "radicular_epidural_steroid": (-0.50, -1.10, 0.10, "moderate"),
    "radicular_epidural_LA_steroid": (-0.40, -1.30, 0.50, "low"),
}

AXIAL = "adults with chronic axial spine pain"
RADICULAR = "adults with chronic radicular spine pain"

#: The guideline's six groups: (id, population, label, members).
GROUPS = [
    ("axial-rfa", AXIAL, "joint radiofrequency ablation with or without joint-targeted local anaesthetic and steroid",
     ("joint_RFA", "joint_RFA_LA_steroid")),
    ("axial-epidural", AXIAL, "epidural injection of local anaesthetic, steroid, or both",
     ("epidural_LA", "epidural_steroid", "epidural_LA_steroid")),
    ("axial-joint", AXIAL, "joint-targeted injection of local anaesthetic, steroid, or both",
     ("joint_LA", "joint_steroid", "joint_LA_steroid")),
    ("axial-im", AXIAL, "intramuscular injection of local anaesthetic with or without steroid",
     ("IM_LA", "IM_LA_steroid")),
    ("radicular-drg", RADICULAR,
     "pulsed radiofrequency of the dorsal root ganglion with or without epidural local anaesthetic, or local anaesthetic and steroid",
     ("DRG_radiofrequency", "DRG_epidural_LA", "DRG_epidural_LA_steroid")),
    ("radicular-epidural", RADICULAR, "epidural injection of local anaesthetic, steroid, or both",
     ("radicular_epidural_LA", "radicular_epidural_steroid", "radicular_epidural_LA_steroid")),
]


def published() -> dict[str, dict]:
    with open(PUBLISHED, newline="", encoding="utf-8") as fh:
        return {row["treatment"]: row for row in csv.DictReader(fh)}


def pain(member: str, estimate: float, lo: float, hi: float, cert: str, statement: str = "", **kw) -> OutcomeEffect:
    return OutcomeEffect(
        member, "sham", "pain", estimate, cert, lo, hi, thresholds=MID, larger_better=False, measure="MD",
        unit="cm", statement=statement, **kw,
    )


def spine_effects() -> dict[str, OutcomeEffect]:
    out = {}
    for t, row in published().items():
        out[t] = pain(t, float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]), row["certainty"],
                      source=row["source"])
    for t, (est, lo, hi, cert) in ILLUSTRATIVE.items():
        out[t] = pain(t, est, lo, hi, cert, source="ILLUSTRATIVE (not published)")
    return out


def harms(members) -> tuple[HarmEffect, ...]:
    epidural = tuple(m for m in members if "epidural" in m)
    out = [HarmEffect("prolonged pain or stiffness", 0.086, certainty="low", source="observational studies")]
    if epidural:
        out.append(HarmEffect("dural puncture", 0.014, certainty="low", interventions=epidural))
    return tuple(out)


VALUES = ("all or almost all informed patients would choose to avoid",
          "Given little or no benefit, the harms, burden and costs of the procedures.")


def spine_etd(gid: str, effects: dict | None = None, **kw) -> EvidenceToDecision:
    effects = effects or spine_effects()
    _, population, label, members = next(g for g in GROUPS if g[0] == gid)
    kw.setdefault("values", VALUES)
    kw.setdefault("resources", "moderate costs")
    return EvidenceToDecision(
        population=population,
        interventions=members,
        comparator="sham",
        benefits=tuple(effects[m] for m in members),
        harms=kw.pop("harms", harms(members)),
        label=label,
        id=gid,
        **kw,
    )


def question(*effects: OutcomeEffect, **kw) -> EvidenceToDecision:
    """A one-intervention question 'A' vs sham with the spine judgements (unless replaced)."""
    kw.setdefault("values", VALUES)
    kw.setdefault("resources", "moderate costs")
    kw.setdefault("harms", (HarmEffect("prolonged pain or stiffness", 0.086, certainty="low"),))
    members = tuple(dict.fromkeys(e.intervention for e in effects)) or ("A",)
    return EvidenceToDecision(AXIAL, kw.pop("interventions", members), "sham", effects, **kw)


def A(estimate: float, cert: str, outcome: str = "pain", **kw) -> OutcomeEffect:
    return OutcomeEffect("A", "sham", outcome, estimate, cert, thresholds=MID, larger_better=False, measure="MD", **kw)


def fired(etd, rule=SPINE_RULE) -> tuple[str, str, str]:
    r = recommend(etd, rule)
    return r.members[0].condition, r.computed_direction, r.computed_strength


# ------------------------------------------------------------------------- the spine guideline


class TestSpineGuideline:
    def test_published_rows_are_little_to_no_difference(self):
        effects = spine_effects()
        for t in published():
            e = effects[t]
            assert e.certainty in ("moderate", "low")
            assert not (e.direction == "benefit" and e.magnitude != "trivial"), t

    @pytest.mark.parametrize("gid", [g[0] for g in GROUPS])
    def test_six_strong_recommendations_against(self, gid):
        r = recommend(spine_etd(gid))
        assert (r.direction, r.strength) == ("against", "strong")
        assert r.headline == "Strong recommendation against"
        assert r.statement.startswith("We recommend against ")
        assert r.interventions == next(g[3] for g in GROUPS if g[0] == gid)
        for m in r.members:
            expected = "benefit_excluded" if m.certainty == "moderate" else "benefit_unlikely_low_certainty"
            assert m.condition == expected, (m.intervention, m.certainty)

    def test_the_epidural_group(self):
        r = recommend(spine_etd("axial-epidural"))
        assert r.statement == (
            "We recommend against epidural injection of local anaesthetic, steroid, or both for adults with "
            "chronic axial spine pain."
        )
        assert r.member["epidural_LA"].condition == "benefit_excluded"
        assert r.member["epidural_steroid"].condition == "benefit_unlikely_low_certainty"
        assert r.certainty == "low" and r.certainty_range == "low to moderate"
        text = r.rationale_text()
        for needle in (
            "MD 0.28 cm (95% CI \u22121.18 to 1.75); moderate certainty; little to no difference (below the MID)",
            "MD 0.39 cm (95% CI \u22120.94 to 1.71); low certainty",
            "prolonged pain or stiffness 8.6% (86 per 1,000), low certainty",
            "dural puncture 1.4% (14 per 1,000), low certainty",
            "all or almost all would decline the intervention",
            "reaching the minimal important difference",
            "epidural_LA and epidural_LA_steroid: no important benefit",
            "condition 6, benefit_unlikely_low_certainty",
        ):
            assert needle in text, needle
        headings = [k for k, _ in r.key_info]
        assert headings == ["Benefits and harms", "Certainty of the evidence", "Values and preferences",
                            "Resources and other considerations"]

    def test_intramuscular_group_includes_a_possible_harm(self):
        r = recommend(spine_etd("axial-im"))
        im = spine_effects()["IM_LA_steroid"]
        assert (im.magnitude, im.direction) == ("important", "harm")  # 1.82 cm more pain, low certainty
        assert r.member["IM_LA_steroid"].condition == "benefit_unlikely_low_certainty"

    def test_all_six_at_once(self):
        recs = recommend_all([spine_etd(g[0]) for g in GROUPS])
        assert [r.key for r in recs] == [g[0] for g in GROUPS]
        assert {(r.direction, r.strength) for r in recs} == {("against", "strong")}
        table = recommendation_table(recs)
        assert list(table["key"]) == [g[0] for g in GROUPS]
        assert set(table["strength"]) == {"strong"} and not table["overridden"].any()

    def test_budget_headline_in_the_rationale(self):
        b = budget_impact(SPINE_EPIDURAL_VOLUME, SPINE_UNIT_COSTS, 1.0, headline="editorial's average",
                          item="epidural injection", setting="the United States")
        r = recommend(spine_etd("axial-epidural", budget=b))
        assert "cost about $9.0 billion a year" in r.rationale_text()

    def test_flip_one_procedure_to_a_moderate_certainty_important_benefit(self):
        effects = spine_effects()
        effects["epidural_LA"] = pain("epidural_LA", -1.6, -2.4, -0.8, "moderate")
        etd = spine_etd("axial-epidural", effects)
        with pytest.raises(SpecError) as exc:
            recommend(etd)
        msg = str(exc.value)
        assert "do not share one recommendation" in msg
        assert "epidural_LA: conditional for (important_benefit)" in msg
        assert "epidural_steroid: strong against" in msg

        recs = recommend_all([spine_etd(g[0], effects) for g in GROUPS])
        assert len(recs) == 7
        flipped = [r for r in recs if r.direction == "for"]
        assert len(flipped) == 1
        r = flipped[0]
        assert r.interventions == ("epidural_LA",)
        assert (r.direction, r.strength) == ("for", "conditional")
        assert r.headline == "Conditional recommendation for"
        assert r.statement == "We suggest epidural_LA for adults with chronic axial spine pain."
        assert r.fired == ("important_benefit",)
        assert any("Split from the group 'epidural injection of local anaesthetic, steroid, or both'" in x for x in r.remarks)
        assert "Check the values judgement: 'all or almost all would decline the intervention' contradicts a recommendation for." in r.remarks
        rest = next(r for r in recs if r.key == "axial-epidural [epidural_steroid, epidural_LA_steroid]")
        assert not any(x.startswith("Check") for x in rest.remarks)
        assert (rest.direction, rest.strength) == ("against", "strong")
        assert rest.label == "epidural_steroid or epidural_LA_steroid"


# ------------------------------------------------------------------------- boundaries


class TestBoundaries:
    def test_certainty_of_an_important_benefit_moderate_vs_low(self):
        assert fired(question(A(-2.0, "moderate"))) == ("important_benefit", "for", "conditional")
        assert fired(question(A(-2.0, "low"))) == ("otherwise", "against", "conditional")

    def test_magnitude_at_the_mid_vs_just_below(self):
        assert fired(question(A(-1.5, "moderate"))) == ("important_benefit", "for", "conditional")
        assert fired(question(A(-1.4999, "moderate"))) == ("benefit_excluded", "against", "strong")

    def test_magnitude_given_as_a_size(self):
        small = OutcomeEffect("A", "sham", "pain", -1.5, "moderate", magnitude="small", direction="benefit")
        trivial = OutcomeEffect("A", "sham", "pain", -1.4, "moderate", magnitude="trivial")
        assert fired(question(small))[0] == "important_benefit"
        with pytest.raises(SpecError, match="its size is not graded"):
            recommend(question(A(-5.0, "moderate")), DecisionRule(min_benefit="moderate"))
        assert fired(question(trivial))[0] == "benefit_excluded"

    def test_benefit_excluded_certainty_moderate_vs_low(self):
        assert fired(question(A(0.2, "moderate"))) == ("benefit_excluded", "against", "strong")
        assert fired(question(A(0.2, "low"))) == ("benefit_unlikely_low_certainty", "against", "strong")

    def test_low_certainty_floor_low_vs_very_low(self):
        assert fired(question(A(0.2, "low")))[0] == "benefit_unlikely_low_certainty"
        assert fired(question(A(0.2, "very low"))) == ("otherwise", "against", "conditional")

    @pytest.mark.parametrize("missing", ["harms", "resources", "values"])
    def test_each_part_of_the_low_certainty_condition(self, missing):
        kw = {missing: () if missing == "harms" else None}
        assert fired(question(A(0.2, "low"), **kw)) == ("otherwise", "against", "conditional")

    @pytest.mark.parametrize(
        "kw",
        [
            {"values": "most would decline the intervention"},
            {"resources": "negligible costs and savings"},
            {"harms": (), "undesirable_effects": "trivial"},
        ],
    )
    def test_supports_just_short_of_the_requirement(self, kw):
        assert fired(question(A(0.2, "low"), **kw))[2] == "conditional"

    def test_undesirable_effects_judgement_stands_for_harms(self):
        assert fired(question(A(0.2, "low"), harms=(), undesirable_effects="small"))[0] == "benefit_unlikely_low_certainty"
        assert fired(question(A(0.2, "moderate"), harms=(), undesirable_effects="moderate"))[0] == "benefit_excluded"

    def test_benefit_excluded_needs_harms_or_burdens(self):
        # no harm at moderate certainty: neither 5 nor 6 holds
        assert fired(question(A(0.2, "moderate"), harms=())) == ("otherwise", "against", "conditional")
        burden = HarmEffect("time off work", text="a day per procedure")
        assert fired(question(A(0.2, "moderate"), harms=(burden,)))[0] == "benefit_excluded"

    def test_possible_benefit_with_low_certainty_is_not_strong_against(self):
        assert fired(question(A(-2.0, "low"))) == ("otherwise", "against", "conditional")
        trace = recommend(question(A(-2.0, "low"))).members[0].trace
        assert "possible important benefit is not excluded" in trace[4].detail

    def test_possible_harm_counts_as_no_benefit(self):
        assert fired(question(A(1.8, "low")))[0] == "benefit_unlikely_low_certainty"

    def test_lowest_critical_certainty_decides(self):
        e = question(A(0.2, "moderate"), A(0.1, "low", outcome="function"), A(0.0, "very low", outcome="sleep", importance="important"))
        assert fired(e)[0] == "benefit_unlikely_low_certainty"

    def test_harms_outweigh_by_balance_judgement(self):
        assert fired(question(A(-2.0, "moderate"), balance="probably favours the comparison")) == (
            "benefit_outweighed", "against", "conditional")
        assert fired(question(A(-2.0, "moderate"), balance="favours the comparison"))[0] == "benefit_outweighed"
        assert fired(question(A(-2.0, "moderate"), balance="does not favour either"))[0] == "important_benefit"
        no_balance = DecisionRule(outweighed_if=("important_harm",))
        assert fired(question(A(-2.0, "moderate"), balance="favours the comparison"), no_balance)[0] == "important_benefit"

    def test_harms_outweigh_by_an_important_harm(self):
        harm_same = A(2.0, "moderate", outcome="function")
        assert fired(question(A(-2.0, "moderate"), harm_same))[0] == "benefit_outweighed"
        harm_low = A(2.0, "low", outcome="function")
        assert fired(question(A(-2.0, "moderate"), harm_low))[0] == "important_benefit"
        graded = DecisionRule(min_benefit="small")
        t = dict(thresholds=Thresholds.from_mid(MID))
        big_benefit = OutcomeEffect("A", "sham", "pain", -3.2, "moderate", larger_better=False, **t)
        small_harm = OutcomeEffect("A", "sham", "function", 1.6, "moderate", larger_better=False, **t)
        assert fired(question(big_benefit, small_harm), graded)[0] == "important_benefit"

    def test_strong_for_at_high_certainty_vs_moderate(self):
        kw = dict(balance="favours the intervention", values="all or almost all would choose the intervention")
        assert fired(question(A(-2.0, "high"), **kw)) == ("strong_benefit", "for", "strong")
        assert fired(question(A(-2.0, "moderate"), **kw)) == ("important_benefit", "for", "conditional")
        assert fired(question(A(-2.0, "high"), balance="favours the intervention"))[0] == "important_benefit"
        assert fired(question(A(-2.0, "high"), **kw), DecisionRule(strong_for_certainty=None))[0] == "important_benefit"

    def test_no_evidence_on_a_critical_outcome(self):
        e = question(A(-2.0, "high", importance="important"))
        assert fired(e) == ("no_evidence", "against", "conditional")
        rule = DecisionRule(outcomes=("critical", "important"))
        assert fired(e, rule)[0] == "important_benefit"

    def test_rule_parameters(self):
        assert fired(question(A(-2.0, "low")), DecisionRule(min_certainty="low", strong_for_certainty=None))[0] == "important_benefit"
        small = OutcomeEffect("A", "sham", "pain", -2.0, "moderate", thresholds=Thresholds.from_mid(MID), larger_better=False)
        # with min_benefit = moderate a small benefit is not an important one
        assert fired(question(small), DecisionRule(min_benefit="moderate"))[0] == "benefit_excluded"
        assert fired(question(small))[0] == "important_benefit"
        assert fired(question(A(0.2, "moderate")), DecisionRule(strong_against_certainty="high"))[0] == "benefit_unlikely_low_certainty"
        assert fired(question(A(0.2, "low")), DecisionRule(low_certainty_floor=None))[0] == "otherwise"
        need_costs = DecisionRule(strong_against_requires=("undesirable", "costs"))
        assert fired(question(A(0.2, "moderate"), resources=None), need_costs)[0] == "otherwise"

    def test_harm_certainty_requirement_of_paradigmatic_situation_2(self):
        strict = DecisionRule(low_certainty_harm_certainty="moderate")
        assert fired(question(A(0.2, "low")), strict)[0] == "otherwise"
        firm = (HarmEffect("prolonged pain or stiffness", 0.086, certainty="moderate"),)
        assert fired(question(A(0.2, "low"), harms=firm), strict)[0] == "benefit_unlikely_low_certainty"
        unrated = (HarmEffect("prolonged pain or stiffness", 0.086),)
        assert fired(question(A(0.2, "low"), harms=unrated), strict)[0] == "otherwise"

    def test_contradicting_balance_is_flagged(self):
        r = recommend(question(A(0.2, "moderate"), balance="probably favours the intervention"))
        assert r.direction == "against"
        assert "Check the balance judgement: 'probably favours the intervention' contradicts a recommendation against." in r.remarks

    def test_certainty_override_applies_to_the_rule(self):
        ov = Override("moderate", "indirectness judged not serious by the panel")
        assert fired(question(A(0.2, "low"), harms=(HarmEffect("x", 0.1),), values=None, resources=None,
                              certainty_override=ov))[0] == "benefit_excluded"

    def test_trace_reports_conditions_in_order_until_one_fires(self):
        r = recommend(question(A(0.2, "low")))
        trace = r.members[0].trace
        assert [c.key for c in trace] == list(CONDITIONS[:6])
        assert [c.holds for c in trace] == [False] * 5 + [True]
        assert "certainty low (lowest among counted outcomes), below moderate" in trace[4].detail
        frame = r.trace_frame()
        assert list(frame.columns) == ["intervention", "order", "key", "holds", "detail"]
        assert list(frame["order"]) == [1, 2, 3, 4, 5, 6]


# ------------------------------------------------------------------------- the rule itself


class TestDecisionRule:
    def test_describe_lists_every_condition_in_order(self):
        text = SPINE_RULE.describe()
        positions = [text.index(f"{i}. {k}:") for i, k in enumerate(CONDITIONS, start=1)]
        assert positions == sorted(positions)
        assert "important benefit (at least a small effect, i.e. reaching the minimal important difference) on a critical outcome with at least moderate certainty" in text
        assert "5. benefit_excluded:" in text and "at least moderate" in text
        assert "-> strong recommendation against" in text
        assert "low_certainty_harm_certainty = 'moderate'" in text
        assert "Alonso-Coello" in text

    def test_describe_follows_parameters(self):
        rule = DecisionRule(name="stricter", min_certainty="high", strong_for_certainty="high", min_benefit="moderate")
        assert "at least a moderate effect" in rule.describe() and "at least high certainty" in rule.describe()

    def test_validation(self):
        with pytest.raises(SpecError, match="min_benefit must be one of"):
            DecisionRule(min_benefit="trivial")
        with pytest.raises(SpecError, match="min_certainty: unknown certainty level"):
            DecisionRule(min_certainty="sure")
        with pytest.raises(SpecError, match=r"low_certainty_requires has unknown keys \['money'\]"):
            DecisionRule(low_certainty_requires=("undesirable", "money"))
        with pytest.raises(SpecError, match="cannot need less certainty"):
            DecisionRule(strong_for_certainty="low")
        with pytest.raises(SpecError, match="outcomes must list importance levels"):
            DecisionRule(outcomes=("vital",))

    def test_from_dict_and_back(self):
        rule = DecisionRule.from_dict(
            {"name": "x", "min_certainty": "moderate", "low_certainty_floor": "none",
             "low_certainty_requires": ["undesirable", "values_decline"]}
        )
        assert rule.low_certainty_floor is None and rule.low_certainty_requires == ("undesirable", "values_decline")
        assert DecisionRule.from_dict(SPINE_RULE.to_dict()) == SPINE_RULE
        with pytest.raises(SpecError, match=r"unknown keys \['mid'\]"):
            DecisionRule.from_dict({"mid": 1.5})


# ------------------------------------------------------------------------- overrides


class TestOverride:
    def test_refused_without_justification(self):
        for empty in ("", "   ", None):
            with pytest.raises(SpecError, match="needs a justification: say why the computed recommendation is replaced"):
                PanelOverride("against", "conditional", empty)
        with pytest.raises(SpecError, match="direction must be 'for' or 'against'"):
            PanelOverride("maybe", "strong", "x")
        with pytest.raises(SpecError, match="strength must be 'strong' or 'conditional'"):
            PanelOverride("for", "very", "x")
        assert PanelOverride("for", "weak", "x").strength == "conditional"

    def test_computed_and_final_are_both_shown(self):
        ov = PanelOverride("against", "conditional", "Patients with facet-mediated pain selected by blocks may differ.", by="panel vote 14-8")
        r = recommend(spine_etd("axial-joint"), override=ov)
        assert (r.computed_direction, r.computed_strength) == ("against", "strong")
        assert (r.direction, r.strength, r.overridden) == ("against", "conditional", True)
        assert r.headline == "Conditional recommendation against"
        assert r.statement.startswith("We suggest against joint-targeted injection")
        s = r.summary()
        assert "Computed: Strong recommendation against; final: Conditional recommendation against" in s
        assert "panel vote 14-8" in s and "selected by blocks" in s
        d = json.loads(r.to_json())
        assert d["computed_strength"] == "strong" and d["strength"] == "conditional"
        assert d["override"]["justification"].startswith("Patients with facet")
        assert "Panel override" in r.rationale[-1]
        frame = r.to_frame()
        assert set(frame["computed_strength"]) == {"strong"} and set(frame["strength"]) == {"conditional"}

    def test_override_keeps_a_mixed_group_together(self):
        effects = spine_effects()
        effects["epidural_LA"] = pain("epidural_LA", -1.6, -2.4, -0.8, "moderate")
        etd = spine_etd("axial-epidural", effects)
        ov = PanelOverride("against", "strong", "the single positive trial set is at high risk of bias")
        r = recommend(etd, override=ov)
        assert (r.computed_direction, r.computed_strength) == ("mixed", "mixed")
        assert (r.direction, r.strength) == ("against", "strong")
        assert r.member["epidural_LA"].direction == "for"
        recs = recommend_all([etd], overrides={"axial-epidural": ov})
        assert len(recs) == 1 and recs[0].overridden
        recs = recommend_all([etd], overrides={"axial-epidural": {"direction": "against", "strength": "strong",
                                                                   "justification": "as above"}})
        assert recs[0].override.justification == "as above"
        with pytest.raises(SpecError, match="needs a justification"):
            recommend_all([etd], overrides={"axial-epidural": {"direction": "against", "strength": "strong"}})
        with pytest.raises(SpecError, match=r"panel overrides for unknown questions \['nope'\]"):
            recommend_all([etd], overrides={"nope": ov})


# ------------------------------------------------------------------------- outputs


class TestOutputs:
    def test_frames_and_json(self):
        r = recommend(spine_etd("radicular-drg"))
        frame = r.to_frame()
        assert isinstance(frame, pd.DataFrame) and len(frame) == 3
        assert list(frame["intervention"]) == ["DRG_radiofrequency", "DRG_epidural_LA", "DRG_epidural_LA_steroid"]
        assert r.to_json() == recommend(spine_etd("radicular-drg")).to_json()
        d = json.loads(r.to_json())
        assert d["rule"]["min_certainty"] == "moderate" and d["etd"]["id"] == "radicular-drg"
        assert r._repr_html_().startswith("<pre>")

    def test_decision_aid(self):
        aid = recommend(spine_etd("axial-epidural")).decision_aid()
        assert list(aid["kind"]) == ["benefit outcome"] * 3 + ["harm or burden"] * 2
        assert list(aid["per_1000"][3:]) == pytest.approx([86.0, 14.0])
        assert aid.loc[0, "certainty"] == "moderate" and aid.loc[4, "intervention"] == "epidural_LA, epidural_steroid, epidural_LA_steroid"

    def test_keys_must_be_unique(self):
        a = spine_etd("axial-epidural")
        with pytest.raises(SpecError, match="share the key"):
            recommend_all([a, a])

    def test_keys_default_to_population_and_label(self):
        e = question(A(0.2, "moderate"))
        assert e.key == f"{AXIAL}: A"

    def test_not_an_etd(self):
        with pytest.raises(SpecError, match="needs an EvidenceToDecision"):
            recommend({"population": "x"})
