"""`netgrade grade SPEC`: certainty, magnitude and statements from one spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netgrade.cli import app
from netgrade.errors import SpecError
from netgrade.pipeline import grade
from tests.reference import SHARED

SPEC = Path(__file__).parent / "fixtures" / "specs" / "senn.toml"
runner = CliRunner()


def _spec(tmp_path, text=None):
    """A copy of the senn spec whose data path points at the shared folder."""
    body = (text or SPEC.read_text()).replace(
        "../../../../shared/data/metadat/dat.senn2013.csv", str(SHARED / "data" / "metadat" / "dat.senn2013.csv")
    )
    (tmp_path / "senn_rob.csv").write_text((SPEC.parent / "senn_rob.csv").read_text())
    p = tmp_path / "senn.toml"
    p.write_text(body)
    return p


def test_grade_rates_every_estimate_against_the_reference(tmp_path):
    res = grade(_spec(tmp_path))
    recs = res.records()
    assert len(recs) == 9  # every treatment against placebo
    for r in recs:
        assert r["comparator"] == "placebo" and r["outcome"] == "hba1c"
        assert set(r["domains"]) == {
            "within-study bias", "reporting bias", "indirectness", "imprecision", "heterogeneity", "incoherence"
        }
        assert r["certainty"] in ("high", "moderate", "low", "very low")
        assert r["statement"].endswith("compared with placebo.")
    metformin = next(r for r in recs if r["treatment"] == "metformin")
    assert metformin["magnitude"] == "moderate benefit"  # -1.13 %, thresholds 0.5/1.0/1.5
    assert metformin["estimate"] == pytest.approx(-1.1268, abs=1e-3)


def test_overrides_show_computed_and_final_and_need_a_reason(tmp_path):
    res = grade(_spec(tmp_path))
    acarbose = next(r for r in res.records() if r["treatment"] == "acarbose")
    assert acarbose["certainty"] == "moderate"
    assert acarbose["certainty_computed"] != "moderate"
    assert acarbose["overrides"]["overall"] == "illustration of an overall override"
    assert "(computed:" in res.summary()
    bad = SPEC.read_text().replace('justification = "illustration of an overall override"', 'justification = ""')
    with pytest.raises(SpecError, match="certainty.overrides\\[0\\].justification: an override needs a justification"):
        grade(_spec(tmp_path, bad))


def test_grade_cli_json_is_the_documented_list(tmp_path):
    out = runner.invoke(app, ["grade", str(_spec(tmp_path)), "--json"])
    assert out.exit_code == 0, out.output
    recs = json.loads(out.stdout)
    assert isinstance(recs, list)
    for key in ("outcome", "treatment", "comparator", "estimate", "ci_low", "ci_high", "certainty", "domains", "magnitude", "statement"):
        assert key in recs[0]
    again = runner.invoke(app, ["grade", str(_spec(tmp_path)), "--json"])
    assert again.stdout == out.stdout


def test_reporting_bias_per_comparison_and_funnel_evidence(tmp_path):
    text = SPEC.read_text().replace(
        "[model]", '[certainty]\nreporting_bias = { "metformin:placebo" = "suspected" }\n\n[model]'
    )
    res = grade(_spec(tmp_path, text))
    recs = {r["treatment"]: r for r in res.records()}
    assert recs["metformin"]["domains"]["reporting bias"] == "some concerns"
    assert recs["acarbose"]["domains"]["reporting bias"] == "no concerns"
    rating = res.outcomes[0].certainty.rating("metformin", "placebo")
    numbers = rating.domain("reporting bias").numbers
    assert "funnel_test" in numbers or any("funnel" in k for k in numbers)
    bad = SPEC.read_text().replace("[model]", '[certainty]\nreporting_bias = { "aspirin:placebo" = "suspected" }\n\n[model]')
    with pytest.raises(SpecError, match="aspirin:placebo"):
        grade(_spec(tmp_path, bad))


def test_summary_of_findings_from_the_graded_network(tmp_path):
    res = grade(_spec(tmp_path))
    sof = res.summary_of_findings("hba1c")
    frame = sof.to_frame()
    assert len(frame) == 9
    text = sof.summary()
    assert "HbA1c" in text and "placebo" in text
    html = sof.to_html()
    assert html.startswith("<") and "<table" in html
    # every downgraded row carries a footnote naming a domain
    for row in sof.rows:
        if row.certainty != "high":
            assert row.footnotes, row


def test_summary_shows_ratio_measures_on_the_ratio_scale():
    import math

    from netgrade.datasets import example
    from netgrade.pipeline import grade

    g = grade(example("smoking").spec_path)
    text = g.summary()
    assert "(OR, ratio scale)" in text
    for r in g.records():
        est, lo, hi = (math.exp(r[k]) for k in ("estimate", "ci_low", "ci_high"))
        assert f"{r['treatment']} vs {r['comparator']}: {est:.2f} [{lo:.2f}, {hi:.2f}]" in text
