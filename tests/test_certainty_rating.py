"""Overall certainty: the combination rule, overrides, and every estimate of a network.

The rule is GRADE's (start high for randomised evidence; -1 per domain with some
concerns, -2 per domain with major concerns; floor very low) over CINeMA's six domains.
"""

from __future__ import annotations

import json
import math
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgrade.certainty import domains as D
from netgrade.certainty.rating import (
    INCONSISTENCY_GROUP,
    CertaintyTable,
    DomainGroup,
    RatingRules,
    apply_overall_override,
    rate_estimate,
    rate_network,
)
from netgrade.certainty.types import CERTAINTY, CONCERNS, DOMAINS, DomainJudgement, Outcome, Override, Thresholds
from netgrade.errors import DataError, ModelError, SpecError
from netgrade.network import nma
from tests.nma_data import network

HBA1C = Outcome("HbA1c", "MD", False, Thresholds.from_mid(0.5), unit="%")
STUDY_LEVELS = ("low", "some concerns", "high")


def judgements(levels: dict | None = None) -> list[DomainJudgement]:
    levels = levels or {}
    return [DomainJudgement(d, levels.get(d, "no concerns"), "test") for d in DOMAINS]


# ---------------------------------------------------------------------------------
# rules


class TestRules:
    def test_describe(self):
        text = RatingRules().describe()
        for phrase in ("'high'", "randomised evidence", "1 level for each domain with some concerns",
                       "2 levels for each domain with major concerns", "never below 'very low'", "justification"):
            assert phrase in text
        capped = RatingRules(groups=(INCONSISTENCY_GROUP,)).describe()
        assert "heterogeneity, incoherence together rate down at most 2 levels" in capped
        assert RatingRules().to_dict()["description"] == text

    def test_validation(self):
        with pytest.raises(SpecError, match="floor"):
            RatingRules(start="low", floor="moderate")
        with pytest.raises(SpecError, match="some_concerns"):
            RatingRules(some_concerns=-1)
        with pytest.raises(SpecError, match="fewer levels"):
            RatingRules(some_concerns=2, major_concerns=1)
        with pytest.raises(SpecError, match="unknown certainty"):
            RatingRules(start="excellent")
        with pytest.raises(SpecError, match="unknown domain"):
            DomainGroup("x", ("precision",), 1)
        g = DomainGroup("a", ("heterogeneity",), 1)
        with pytest.raises(SpecError, match="two groups"):
            RatingRules(groups=(g, INCONSISTENCY_GROUP))
        with pytest.raises(SpecError, match="max_levels"):
            DomainGroup("x", ("imprecision",), -1)

    def test_points(self):
        r = RatingRules()
        assert [r.points(c) for c in CONCERNS] == [0, 1, 2]
        assert r.points("serious") == 1 and r.points("very serious") == 2


class TestRateEstimate:
    def test_all_clear_is_high(self):
        level, text = rate_estimate(judgements())
        assert level == "high"
        assert "Start at high" in text and "rated down 0 levels -> high" in text

    @pytest.mark.parametrize("domain", DOMAINS)
    def test_one_some_one_major(self, domain):
        assert rate_estimate(judgements({domain: "some concerns"}))[0] == "moderate"
        assert rate_estimate(judgements({domain: "major concerns"}))[0] == "low"

    def test_floor(self):
        level, text = rate_estimate(judgements({d: "major concerns" for d in DOMAINS}))
        assert level == "very low" and "floor very low reached" in text
        assert "rated down 12 levels" in text

    def test_observational_start(self):
        rules = RatingRules(start="low", start_reason="observational evidence")
        assert rate_estimate(judgements(), rules)[0] == "low"
        assert rate_estimate(judgements({"imprecision": "some concerns"}), rules)[0] == "very low"

    def test_group_cap(self):
        both = judgements({"heterogeneity": "major concerns", "incoherence": "major concerns"})
        assert rate_estimate(both)[0] == "very low"
        level, text = rate_estimate(both, RatingRules(groups=(INCONSISTENCY_GROUP,)))
        assert level == "low" and "capped at -2 (from -4)" in text
        one = judgements({"heterogeneity": "some concerns", "imprecision": "some concerns"})
        assert rate_estimate(one, RatingRules(groups=(INCONSISTENCY_GROUP,)))[0] == "low"

    def test_domain_overrides_count(self):
        doms = judgements()
        doms[3] = DomainJudgement("imprecision", "no concerns", "x", override=Override("major concerns", "reason"))
        level, text = rate_estimate(doms)
        assert level == "low" and "overridden from no concerns" in text

    def test_errors(self):
        with pytest.raises(SpecError, match="no judgement for the domain"):
            rate_estimate(judgements()[:5])
        with pytest.raises(SpecError, match="twice"):
            rate_estimate(judgements() + [DomainJudgement("imprecision", "no concerns", "x")])
        with pytest.raises(SpecError, match="DomainJudgement"):
            rate_estimate(["no concerns"] * 6)
        # a subset of domains when the rules ask for it
        assert rate_estimate(judgements()[:2], RatingRules(required=DOMAINS[:2]))[0] == "high"

    def test_overall_override(self):
        assert apply_overall_override("low", None) == ("low", "")
        level, text = apply_overall_override("very low", Override("low", "large effect", by="panel"))
        assert level == "low" and "by panel" in text and "large effect" in text
        with pytest.raises(SpecError, match="justification"):
            Override("low", "  ")


# ---------------------------------------------------------------------------------
# properties


concern_lists = st.lists(st.sampled_from(CONCERNS), min_size=6, max_size=6)


@settings(max_examples=200, deadline=None)
@given(concern_lists)
def test_rating_is_start_minus_points_floored(levels):
    doms = judgements(dict(zip(DOMAINS, levels)))
    level, _ = rate_estimate(doms)
    down = sum(CONCERNS.index(lv) for lv in levels)
    assert level == CERTAINTY[min(down, 3)]
    assert level in CERTAINTY  # never below very low


@settings(max_examples=200, deadline=None)
@given(concern_lists, st.integers(0, 5))
def test_one_more_major_concern_lowers_two_levels(levels, k):
    levels = list(levels)
    levels[k] = "no concerns"
    before = CERTAINTY.index(rate_estimate(judgements(dict(zip(DOMAINS, levels))))[0])
    levels[k] = "major concerns"
    after = CERTAINTY.index(rate_estimate(judgements(dict(zip(DOMAINS, levels))))[0])
    assert after == min(before + 2, 3)


def test_perfect_evidence_is_high():
    """A precise, consistent, unbiased, homogeneous estimate, judged by the domain rules."""
    doms = [
        D.within_study_bias({"s1": 60, "s2": 40}, {"s1": "low", "s2": "low"}),
        D.reporting_bias("undetected"),
        D.indirectness({"s1": 60, "s2": 40}, {"s1": "low", "s2": "low"}),
        D.imprecision(-1.0, -1.01, -0.99, HBA1C),
        D.heterogeneity(-1.0, -1.01, -0.99, -1.02, -0.98, HBA1C, tau2=0.0),
        D.incoherence(
            {"k": 3, "prop_direct": 0.7, "pval": 0.9, "direct": -1.0, "direct_ci_low": -1.02,
             "direct_ci_high": -0.98, "indirect": -1.0, "indirect_ci_low": -1.03, "indirect_ci_high": -0.97},
            0.9, HBA1C,
        ),
    ]
    assert all(d.computed == "no concerns" for d in doms)
    assert rate_estimate(doms)[0] == "high"


# ---------------------------------------------------------------------------------
# a whole network: dat.senn2013 (MD in HbA1c, smaller is better, MID 0.5%)


@pytest.fixture(scope="module")
def senn():
    return nma(network("dat.senn2013"), reference="placebo", method="DL", larger_better=False)


def synthetic(res, salt: str = "") -> dict[str, str]:
    """Deterministic study-level judgements from the study name."""
    return {b.study: STUDY_LEVELS[zlib.crc32((salt + b.study).encode()) % 3] for b in res.data.blocks}


@pytest.fixture(scope="module")
def table(senn) -> CertaintyTable:
    return rate_network(senn, outcome=HBA1C, rob=synthetic(senn), indirectness=synthetic(senn, "ind"))


class TestRateNetwork:
    def test_every_estimate_gets_six_domains_and_the_rule(self, senn, table):
        assert len(table) == len(senn.treatments) - 1
        assert table.comparisons == tuple((t, "placebo") for t in senn.treatments[1:])
        lg = senn.league(pi="t")
        for r in table:
            assert tuple(d.domain for d in r.domains) == DOMAINS
            for d in r.domains:
                assert d.rule and d.numbers and d.computed in CONCERNS and d.override is None
            assert r.computed == r.final == rate_estimate(r.domains)[0]
            p = lg.pair(r.treatment1, r.treatment2)
            assert (r.estimate, r.ci_low, r.ci_high, r.pi_low, r.pi_high) == tuple(
                p[k] for k in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
            )
            assert r.j_estimate == r.estimate  # an MD is judged in its own units
            assert r.evidence in ("mixed", "direct only", "indirect only")
            assert r.explanation.startswith("Computed: Start at high")
        assert not table.warnings

    def test_domain_numbers_follow_the_network(self, senn, table):
        from netgrade.network import network_study_contributions

        sc = network_study_contributions(senn)
        r = table.rating("metformin", "placebo")
        rows = sc[(sc.treat1 == "placebo") & (sc.treat2 == "metformin")]
        expected = D.within_study_bias(dict(zip(rows.study, rows.contribution)), synthetic(senn))
        assert r.domain("within-study bias").computed == expected.computed
        assert r.domain("risk of bias").numbers["studies"] == expected.numbers["studies"]
        assert r.domain("heterogeneity").numbers["tau2"] == pytest.approx(senn.tau2)
        assert r.domain("incoherence").numbers["evidence"] == "mixed"
        assert table.rating("benfluorex", "placebo").domain("incoherence").numbers["evidence"] == "direct only"
        # the imprecision rule by hand: CI (-1.43, -0.82) is entirely beyond -0.5
        assert r.domain("imprecision").computed == "no concerns"
        # sulfonylurea: CI (-0.89, 0.06) crosses -0.5 only
        assert table.rating("sulfonylurea", "placebo").domain("imprecision").computed == "some concerns"

    def test_all_pairs(self, senn):
        t = rate_network(senn, outcome=HBA1C, rob=synthetic(senn), indirectness=synthetic(senn, "ind"),
                         comparisons="all", rules=RatingRules(groups=(INCONSISTENCY_GROUP,)))
        n = len(senn.treatments)
        assert len(t) == n * (n - 1) // 2
        assert all(r.treatment2 == "placebo" for r in t if "placebo" in (r.treatment1, r.treatment2))
        kinds = {r.evidence for r in t}
        assert kinds == {"mixed", "direct only", "indirect only"}
        for r in t:
            assert r.final == rate_estimate(r.domains, t.rules)[0]

    def test_overrides_show_computed_and_final(self, senn, table):
        ov = {
            "metformin:placebo": {"imprecision": Override("major", "the panel's MID for this population is 1%",
                                                          by="panel")},
            ("placebo", "rosiglitazone"): {"overall": Override("very low", "concerns about cardiovascular safety")},
        }
        t = rate_network(senn, outcome=HBA1C, rob=synthetic(senn), indirectness=synthetic(senn, "ind"), overrides=ov)
        r = t.rating("metformin", "placebo")
        d = r.domain("imprecision")
        assert (d.computed, d.level) == ("no concerns", "major concerns")
        assert r.computed == table.rating("metformin", "placebo").computed
        assert r.final == rate_estimate(r.domains)[0]
        assert CERTAINTY.index(r.final) == min(CERTAINTY.index(r.computed) + 2, 3)
        assert r.overridden == ("imprecision",)
        assert "With the panel's domain overrides" in r.explanation
        r2 = t.rating("rosiglitazone", "placebo")
        assert r2.final == "very low" and r2.override.justification.startswith("concerns")
        assert r2.computed == table.rating("rosiglitazone", "placebo").computed
        assert "Overall rating overridden" in r2.explanation
        frame = t.to_frame().set_index("comparison")
        assert frame.loc["metformin:placebo", "imprecision"] == "major concerns"
        assert frame.loc["metformin:placebo", "imprecision (computed)"] == "no concerns"
        assert frame.loc["rosiglitazone:placebo", "certainty"] == "very low"
        assert frame.loc["rosiglitazone:placebo", "overridden"] == "overall"
        text = t.summary()
        assert "Overrides:" in text and "the panel's MID for this population is 1%" in text

    def test_override_without_justification_is_refused(self, senn):
        rob = synthetic(senn)
        with pytest.raises(SpecError, match="needs a justification"):
            rate_network(senn, outcome=HBA1C, rob=rob,
                         overrides={("metformin", "placebo"): {"overall": Override("low", "")}})
        with pytest.raises(SpecError, match="needs a justification"):
            rate_network(senn, outcome=HBA1C, rob=rob,
                         overrides={("metformin", "placebo"): {"overall": {"level": "low", "justification": " "}}})
        with pytest.raises(SpecError, match="bare level"):
            rate_network(senn, outcome=HBA1C, rob=rob, overrides={("metformin", "placebo"): {"imprecision": "some"}})

    def test_override_errors(self, senn):
        rob = synthetic(senn)
        with pytest.raises(SpecError, match="not one of the rated comparisons"):
            rate_network(senn, outcome=HBA1C, rob=rob,
                         overrides={("metformin", "acarbose"): {"overall": Override("low", "x")}})
        with pytest.raises(SpecError, match="unknown domain"):
            rate_network(senn, outcome=HBA1C, rob=rob,
                         overrides={("metformin", "placebo"): {"precision": Override("some", "x")}})
        with pytest.raises(SpecError, match="unknown certainty"):
            rate_network(senn, outcome=HBA1C, rob=rob,
                         overrides={("metformin", "placebo"): {"overall": Override("some concerns", "x")}})
        with pytest.raises(SpecError, match="unknown concern"):
            rate_network(senn, outcome=HBA1C, rob=rob,
                         overrides={("metformin", "placebo"): {"imprecision": Override("low", "x")}})

    def test_missing_study_judgements_are_named(self, senn):
        rob = synthetic(senn)
        rob.pop("Costa (1997)")
        rob["Costa 1997"] = "low"
        with pytest.raises(DataError, match=r"'Costa \(1997\)'.*'Costa 1997'"):
            rate_network(senn, outcome=HBA1C, rob=rob)

    def test_indirectness_not_given_is_said(self, senn):
        t = rate_network(senn, outcome=HBA1C, rob=synthetic(senn))
        assert [w.code for w in t.warnings] == ["indirectness_not_given"]
        assert all(r.domain("indirectness").computed == "no concerns" for r in t)
        assert "no study-level indirectness" in t.ratings[0].domain("indirectness").rule

    def test_reporting_bias_per_comparison(self, senn):
        trts = senn.treatments[1:]
        rep = {f"{t}:placebo": ("strongly suspected" if t == "metformin" else "undetected") for t in trts}
        t = rate_network(senn, outcome=HBA1C, rob=synthetic(senn), reporting_bias=rep,
                         funnel_test={"pval": 0.04, "k": 26})
        r = t.rating("metformin", "placebo").domain("reporting bias")
        assert r.computed == "major concerns" and r.numbers["funnel_test"]["pval"] == 0.04
        assert "suggestion" in t.rating("acarbose", "placebo").domain("reporting bias").numbers
        rep.pop("acarbose:placebo")
        with pytest.raises(SpecError, match="acarbose:placebo"):
            rate_network(senn, outcome=HBA1C, rob=synthetic(senn), reporting_bias=rep)

    def test_common_effect_heterogeneity_is_explained(self):
        fe = nma(network("dat.senn2013"), reference="placebo", method="FE", larger_better=False)
        t = rate_network(fe, outcome=HBA1C, rob=synthetic(fe), indirectness=synthetic(fe, "ind"))
        for r in t:
            h = r.domain("heterogeneity")
            assert h.computed == "no concerns" and h.numbers["assessable"] is False
            assert "common-effect" in h.rule
        assert t.model == "common"

    def test_lookup_and_export(self, table):
        with pytest.raises(ModelError, match=r"stored as metformin versus placebo"):
            table.rating("placebo", "metformin")
        with pytest.raises(ModelError, match="no certainty rating"):
            table.rating("metformin", "acarbose")
        frame = table.to_frame()
        assert list(frame.columns[:4]) == ["comparison", "treatment1", "treatment2", "evidence"]
        for d in DOMAINS:
            assert d in frame.columns and f"{d} (computed)" in frame.columns
        assert {"certainty (computed)", "certainty"} <= set(frame.columns)
        d = table.to_dict()
        assert len(d["ratings"]) == len(table) and d["rules"]["description"]
        assert table.to_json() == table.to_json()
        json.loads(table.to_json())
        assert "smaller is better" in table.summary()
        assert "<pre>" in table._repr_html_()
        assert "within-study bias" in table.ratings[0].summary()

    def test_deterministic(self, senn, table):
        again = rate_network(senn, outcome=HBA1C, rob=synthetic(senn), indirectness=synthetic(senn, "ind"))
        assert again.to_json() == table.to_json()

    def test_spec_errors(self, senn):
        with pytest.raises(SpecError, match="analysed as 'MD'"):
            rate_network(senn, outcome=Outcome("x", "SMD", False, Thresholds(0.2)), rob=synthetic(senn))
        with pytest.raises(SpecError, match="comparisons"):
            rate_network(senn, outcome=HBA1C, rob=synthetic(senn), comparisons="some")
        with pytest.raises(SpecError, match="not in the network"):
            rate_network(senn, outcome=HBA1C, rob=synthetic(senn), comparisons=[("metformin", "aspirin")])
        t = rate_network(senn, outcome=HBA1C, rob=synthetic(senn), comparisons=["metformin:acarbose"])
        assert t.comparisons == (("metformin", "acarbose"),)


def test_odds_ratio_network_is_judged_per_1000():
    res = nma(network("dat.hasselblad1998"), method="DL", larger_better=True)
    o = Outcome("abstinence", "OR", True, Thresholds(20, 40, 60), baseline_risk=0.1)
    t = rate_network(res, outcome=o, rob={b.study: "low" for b in res.data.blocks})
    for r in t:
        assert r.j_estimate == pytest.approx(D.risk_difference_per_1000(r.estimate, "OR", 0.1))
        assert r.j_ci_low == pytest.approx(D.risk_difference_per_1000(r.ci_low, "OR", 0.1))
        imp = r.domain("imprecision")
        assert imp.numbers["boundaries"] == [-20.0, 20.0]
        assert "per 1,000" in imp.numbers["scale"]
        assert math.isfinite(r.j_pi_high)
