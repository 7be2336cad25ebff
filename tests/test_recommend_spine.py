"""Recommendations from the SIMULATED spine data and the guideline's decision rule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from netgrade.cli import app
from netgrade.datasets.spine import shipped_folder
from netgrade.pipeline import grade, recommend

SPEC = shipped_folder() / "spine.toml"
GROUPS = {
    "axial-rfa": {"joint_RFA", "joint_RFA_LA_steroid"},
    "axial-epidural": {"epidural_LA", "epidural_steroid", "epidural_LA_steroid"},
    "axial-joint": {"joint_LA", "joint_steroid", "joint_LA_steroid"},
    "axial-intramuscular": {"IM_LA", "IM_LA_steroid"},
    "radicular-drg": {"DRG_PRF", "DRG_PRF_epidural_LA", "DRG_PRF_epidural_LA_steroid"},
    "radicular-epidural": {"epidural_LA", "epidural_steroid", "epidural_LA_steroid"},
}


@pytest.fixture(scope="module")
def result():
    return recommend(SPEC)


def test_six_strong_recommendations_against(result):
    recs = result.recommendations
    assert len(recs) == 6
    for r in recs:
        assert (r.direction, r.strength) == ("against", "strong"), r.summary()
        assert (r.computed_direction, r.computed_strength) == ("against", "strong")
        assert r.headline == "Strong recommendation against"
        assert r.statement.startswith("We recommend against ")
    keys = {r.to_dict()["key"] for r in recs}
    assert keys == set(GROUPS)


def test_each_group_rests_on_little_to_no_benefit_with_low_or_moderate_certainty(result):
    graded = result.graded
    for g in graded.outcomes:
        for rec in g.records:
            if rec["treatment"] == "usual_care":
                continue
            assert rec["certainty"] in ("moderate", "low"), rec
            assert rec["magnitude"] in ("little to no effect", "important harm"), rec
    text = result.summary()
    assert "SIMULATED" in text
    assert all(set(r.fired) <= {"benefit_excluded", "benefit_unlikely_low_certainty"} for r in result.recommendations)


def test_statements_use_the_guidelines_wording(result):
    recs = {(r["population"], r["treatment"]): r for r in result.graded.records()}
    assert recs[("axial", "IM_LA_steroid")]["statement"].startswith("Intramuscular local anaesthetic + steroid may increase pain")
    assert "may provide little to no difference in pain relief compared with sham procedure" in recs[("axial", "epidural_LA")]["statement"]


def test_a_moderate_certainty_important_benefit_flips_to_conditional_for(tmp_path):
    """Test case: axial epidural LA is given an important benefit (its trials' arms shifted
    2.5 cm towards less pain) with moderate certainty (a panel override with its reason)."""
    for f in shipped_folder().glob("spine_*"):
        shutil.copy(f, tmp_path / f.name)
    arms = pd.read_csv(tmp_path / "spine_arms.csv")
    mask = (arms["population"] == "axial") & (arms["treatment"] == "epidural_LA")
    arms.loc[mask, "mean"] = (arms.loc[mask, "mean"] - 2.5).round(4)
    arms.to_csv(tmp_path / "spine_arms.csv", index=False)
    spec = SPEC.read_text() + (
        "\n[[certainty.overrides]]\noutcome = \"pain\"\npopulation = \"axial\"\n"
        "comparison = [\"epidural_LA\", \"sham\"]\ndomain = \"overall\"\nlevel = \"moderate\"\n"
        "justification = \"test case: the benefit is given moderate certainty\"\n"
    )
    (tmp_path / "spine.toml").write_text(spec)
    graded = grade(tmp_path / "spine.toml")
    la = next(r for r in graded.records() if r["population"] == "axial" and r["treatment"] == "epidural_LA")
    assert la["estimate"] < -1.5 and la["certainty"] == "moderate"
    res = recommend(tmp_path / "spine.toml")
    flipped = [r for r in res.recommendations if any("Epidural local anaesthetic" == m for m in r.to_dict()["interventions"]) and "axial" in r.statement]
    assert flipped and (flipped[0].direction, flipped[0].strength) == ("for", "conditional")
    assert sum(1 for r in res.recommendations if (r.direction, r.strength) == ("against", "strong")) >= 6


def test_recommend_cli(tmp_path):
    out = CliRunner().invoke(app, ["recommend", str(SPEC), "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert len(d["recommendations"]) == 6
    assert d["budget"]["headline_spend"] == pytest.approx(9e9)
    assert "9.0 billion" in d["budget"]["headline_sentence"]
