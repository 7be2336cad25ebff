"""The pipeline on other shapes of analysis than the spine example: contrast-level data
with a ratio measure, a common-effect model, no populations, SVG only."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from netgrade import pipeline
from netgrade.datasets import example

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "metadat"

LINDE = """
[project]
title = "Antidepressants: response (dat.linde2016)"

[data]
contrasts = "linde.csv"
columns = { study = "id", treatment1 = "treat1", treatment2 = "treat2", estimate = "lnOR", se = "selnOR" }

[[outcomes]]
name = "response"
measure = "OR"
direction = "larger_is_better"
baseline_risk = 0.35
mid = 50
unit = "per 1,000"

[model]
method = "REML"
reference = "Placebo"

[certainty]
within_study_bias = "not assessed"

[[evidence_to_decision.groups]]
id = "ssri"
label = "SSRIs"
interventions = ["SSRI"]
"""


@pytest.fixture()
def linde(tmp_path):
    shutil.copy(SHARED / "dat.linde2016.csv", tmp_path / "linde.csv")
    (tmp_path / "linde.toml").write_text(LINDE)
    return tmp_path / "linde.toml"


def test_ratio_measure_benefits_read_on_the_ratio_scale_with_absolute_effects(linde):
    rec = pipeline.recommend(linde)
    g = rec.graded.outcome("response")
    r = next(x for x in g.records if x["treatment"] == "SSRI")
    b = rec.etds[0].benefits[0]
    assert b.estimate == pytest.approx(math.exp(r["estimate"]), rel=1e-12)
    assert b.ci_low == pytest.approx(math.exp(r["ci_low"]), rel=1e-12)
    sof = rec.graded.summary_of_findings("response")
    row = next(x for x in sof.rows if x.intervention == "SSRI")
    assert b.absolute == f"{row.absolute[0].difference_text()} at a baseline risk of 35%"
    text = b.effect_text()
    assert text.startswith(f"OR {math.exp(r['estimate']):.2f} (95% CI ") and "per 1,000" not in text.split(";")[0]
    assert "more per 1,000" in text


def test_common_effect_run_without_populations(tmp_path):
    src = example("diabetes").spec_path
    shutil.copy(src.parent / "senn2013.csv", tmp_path / "senn2013.csv")
    text = src.read_text().replace('method = "DL"', 'method = "FE"')
    text += '\n[report]\nformats = ["svg"]\n'
    (tmp_path / "s.toml").write_text(text)
    files = pipeline.run(tmp_path / "s.toml", tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in files}
    assert "report.html" in names and not any(n.endswith(".png") for n in names)
    html_text = (tmp_path / "out" / "report.html").read_text()
    assert "common effect" in html_text and "tau² =" not in html_text.split('id="evidence"')[1].split("</p>")[0]
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["outcomes"][0]["network"]["method"] == "FE" and doc["recommendations"] is None
