"""Budget impact: the spine example's $9 billion headline, its four unit-cost scenarios,
adoption shares 0 and 1, ranges, the sensitivity table and the figure."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from matplotlib.figure import Figure

from netgrade.errors import SpecError
from netgrade.guideline.budget import (
    SPINE_EPIDURAL_VOLUME,
    SPINE_UNIT_COSTS,
    BudgetImpact,
    Range,
    budget_figure,
    budget_impact,
    fmt_money,
)
from netgrade.report.plots import save_figure

HEAD = "editorial's average"


def spine(adoption=0.0, **kw) -> BudgetImpact:
    kw.setdefault("headline", HEAD)
    return budget_impact(SPINE_EPIDURAL_VOLUME, SPINE_UNIT_COSTS, adoption, item="epidural injection",
                         setting="the United States", **kw)


def find(fig, gid):
    return [a for a in fig.findobj(lambda a: a.get_gid() == gid)]


class TestSpineExample:
    def test_headline_is_nine_billion(self):
        b = spine()
        assert b.headline_spend == pytest.approx(9e9, rel=1e-12)
        assert fmt_money(b.headline_spend) == "$9.0 billion"
        assert b.headline_sentence().startswith(
            "about 9 million epidural injections a year in the United States at $1,000 each (editorial's average) "
            "cost about $9.0 billion a year"
        )

    def test_four_unit_cost_scenarios(self):
        b = spine()
        assert [s.label for s in b.scenarios] == list(SPINE_UNIT_COSTS)
        spends = [s.spend.base for s in b.scenarios]
        assert spends == pytest.approx([1.35e9, 7.2e9, 9.0e9, 34.2e9], rel=1e-12)
        assert [fmt_money(x) for x in spends] == ["$1.35 billion", "$7.2 billion", "$9.0 billion", "$34.2 billion"]
        assert all(s.spend.is_point for s in b.scenarios)

    def test_adoption_share_zero(self):
        b = spine(0.0)
        for s in b.scenarios:
            assert s.change.base == 0.0 and s.spend_after.base == s.spend.base
        assert "stopped" not in b.headline_sentence()

    def test_adoption_share_one(self):
        b = spine(1.0)
        for s in b.scenarios:
            assert s.change.base == pytest.approx(-s.spend.base) and s.spend_after.base == 0.0
        assert b.headline_change == pytest.approx(-9e9)
        assert b.headline_sentence().endswith("if 100% of them stopped, spending would fall by $9.0 billion a year.")

    def test_default_headline_is_the_first_scenario(self):
        b = budget_impact(SPINE_EPIDURAL_VOLUME, SPINE_UNIT_COSTS)
        assert b.headline == "physician fee" and b.headline_spend == pytest.approx(1.35e9)


class TestRanges:
    def test_forms(self):
        assert Range.of(5, "x") == Range(5.0, 5.0, 5.0)
        assert Range.of((150, 180), "x") == Range(150.0, 165.0, 180.0)
        assert Range.of((2000, 2500, 3800), "x") == Range(2000.0, 2500.0, 3800.0)
        assert Range.of({"low": 1, "high": 3}, "x") == Range(1.0, 2.0, 3.0)
        assert Range.of({"base": 2}, "x") == Range(2.0, 2.0, 2.0)

    def test_quoted_ranges(self):
        b = budget_impact(
            (8e6, 9e6, 10e6),
            {"physician fee": (150, 180), "outpatient payment": 800, HEAD: 1000, "facility bill": (2000, 3800)},
            (0.5, 1.0),
            headline=HEAD,
        )
        head = b.headline_scenario
        assert (head.spend.low, head.spend.base, head.spend.high) == pytest.approx((8e9, 9e9, 10e9))
        assert b.adoption == Range(0.5, 0.75, 1.0)
        # change: -(adoption x spend); its low is the largest saving
        assert (head.change.low, head.change.base, head.change.high) == pytest.approx((-10e9, -6.75e9, -4e9))
        assert (head.spend_after.low, head.spend_after.base, head.spend_after.high) == pytest.approx((0.0, 2.25e9, 5e9))
        fee = b.scenario["physician fee"]
        assert (fee.unit_cost.base, fee.spend.low, fee.spend.high) == pytest.approx((165.0, 1.2e9, 1.8e9))
        facility = b.scenario["facility bill"]
        assert (facility.spend.low, facility.spend.high) == pytest.approx((16e9, 38e9))
        assert "from $1.2 billion to $38.0 billion across the unit costs assumed, $150 to $3,800" in b.headline_sentence()

    @pytest.mark.parametrize(
        "args, message",
        [
            ((-1, {"a": 1}), "volume_per_year: values must not be negative"),
            ((1, {"a": (3, 2)}), r"unit_costs\['a'\]: need low <= base <= high"),
            ((1, {"a": 1}, 1.5), "adoption_share: values must not exceed 1"),
            ((1, {}), "give at least one unit cost"),
            ((1, {"a": (1, 2, 3, 4)}), "got 4 values"),
            ((1, {"a": "cheap"}), "expected numbers"),
            ((float("nan"), {"a": 1}), "must be finite"),
        ],
    )
    def test_validation(self, args, message):
        with pytest.raises(SpecError, match=message):
            budget_impact(*args)

    def test_headline_and_sources_must_name_a_scenario(self):
        with pytest.raises(SpecError, match="headline: 'x' is not one of the unit costs"):
            budget_impact(1, {"a": 1}, headline="x")
        with pytest.raises(SpecError, match=r"no unit cost is labelled \['b'\]"):
            budget_impact(1, {"a": 1}, sources={"b": "ref"})
        b = budget_impact(1, {"a": 1, "c": 2}, sources={"a": "BMJ editorial 2025"})
        assert b.scenario["a"].source == "BMJ editorial 2025" and b.sources == ("BMJ editorial 2025",)


class TestSensitivity:
    def test_headline_moves_with_the_unit_cost(self):
        t = spine(0.5).sensitivity()
        assert list(t["unit_cost"]) == [150.0, 800.0, 1000.0, 3800.0]
        assert list(t["ratio_to_headline"]) == pytest.approx([0.15, 0.8, 1.0, 3.8])
        assert list(t["spend"]) == pytest.approx([1.35e9, 7.2e9, 9e9, 34.2e9])
        assert list(t["change"]) == pytest.approx([-0.675e9, -3.6e9, -4.5e9, -17.1e9])
        assert list(t["headline"]) == [False, False, True, False]
        assert t.loc[3, "scenario"] == "hospital facility bill"

    def test_range_bounds_and_custom_grid(self):
        b = budget_impact((8e6, 10e6), {"fee": (150, 180), HEAD: 1000}, headline=HEAD)
        t = b.sensitivity()
        assert list(t["scenario"]) == ["fee (low)", "fee", "fee (high)", HEAD]
        assert (t.loc[3, "spend_low"], t.loc[3, "spend_high"]) == pytest.approx((8e9, 10e9))
        g = b.sensitivity([0, 500, 2000])
        assert list(g["spend"]) == pytest.approx([0, 4.5e9, 18e9])
        with pytest.raises(SpecError, match="finite and non-negative"):
            b.sensitivity([-1])


class TestOutputs:
    def test_summary_frame_json(self):
        b = spine(1.0)
        s = b.summary()
        assert "editorial's average *: unit cost $1,000; spend $9.0 billion; change \u2212$9.0 billion; after $0" in s
        f = b.to_frame()
        assert isinstance(f, pd.DataFrame) and list(f["scenario"]) == list(SPINE_UNIT_COSTS)
        assert f.loc[f["headline"], "spend"].item() == pytest.approx(9e9)
        d = json.loads(b.to_json())
        assert d["headline_spend"] == 9e9 and len(d["sensitivity"]) == 4
        assert b.to_json() == spine(1.0).to_json()

    @pytest.mark.parametrize(
        "x, text",
        [(9e9, "$9.0 billion"), (1.35e9, "$1.35 billion"), (34.2e9, "$34.2 billion"), (7.2e8, "$720 million"),
         (1000, "$1,000"), (150, "$150"), (-4.5e9, "\u2212$4.5 billion"), (0, "$0"), (12.5, "$12.50")],
    )
    def test_fmt_money(self, x, text):
        assert fmt_money(x) == text

    def test_other_currencies(self):
        assert fmt_money(2.5e6, "EUR") == "\u20ac2.5 million"
        assert fmt_money(100, "CHF") == "CHF 100"


class TestFigure:
    def test_what_is_drawn(self):
        import matplotlib.pyplot as plt

        before = plt.get_fignums()
        b = budget_impact((8e6, 9e6, 10e6), {**SPINE_UNIT_COSTS, "physician fee": (150, 180)}, 0.5, headline=HEAD)
        fig = budget_figure(b, title="Epidural injections, United States")
        assert isinstance(fig, Figure)
        assert plt.get_fignums() == before  # no pyplot state
        (line,) = find(fig, "budget-spend")
        xs, ys = line.get_data()
        assert ys[-1] == pytest.approx(9e6 * xs[-1] / 1e9)  # billions
        assert find(fig, "budget-volume-range") and find(fig, "budget-after")
        for label in SPINE_UNIT_COSTS:
            assert find(fig, f"scenario:{label}") and find(fig, f"label:{label}")
        (ring,) = find(fig, "headline")
        assert (ring.get_xdata()[0], ring.get_ydata()[0]) == pytest.approx((1000.0, 9.0))
        ax = fig.axes[0]
        assert ax.get_ylabel() == r"Annual spend (\$ billion)"
        assert ax.get_xlim()[1] == pytest.approx(1.1 * 3800)
        text = find(fig, f"label:{HEAD}")[0].get_text()
        assert "9.0 billion" in text and r"\$1,000" in text

    def test_no_adoption_no_after_line(self):
        fig = budget_figure(spine(0.0))
        assert not find(fig, "budget-after") and not find(fig, "budget-volume-range")

    def test_saved_files_are_deterministic(self, tmp_path):
        b = spine(0.5)
        p1 = save_figure(budget_figure(b), tmp_path / "a", formats=("svg", "png"), dpi=60)
        p2 = save_figure(budget_figure(b), tmp_path / "b", formats=("svg", "png"), dpi=60)
        for a, c in zip(p1, p2):
            assert a.read_bytes() == c.read_bytes()

    def test_refuses_other_objects(self):
        with pytest.raises(SpecError, match="needs a BudgetImpact"):
            budget_figure({"spend": 1})
