"""Dispute mode: spec variants, the robustness table and the one-sentence verdicts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netgrade._result import dumps
from netgrade.cli import app
from netgrade.data.readers import read_arms
from netgrade.datasets import example
from netgrade.errors import SpecError
from netgrade.inputs import read_inputs
from netgrade.network import network_from_arms, nma
from netgrade.reanalysis import apply_variant, lump_split, reanalyse, run_analysis
from netgrade.reanalysis.variants import set_by_key
from netgrade.spec import VariantSpec, load_spec


@pytest.fixture(scope="module")
def spine():
    return reanalyse(example("spine").spec_path)


def test_spine_critiques_one_sentence_per_variant(spine):
    names = [v.name for v in spine.variants]
    assert len(names) == 13 and names[0] == "lumbar-only"
    assert len(spine.sentences) == 13
    for v, s in zip(spine.variants, spine.sentences):
        assert s.startswith(f"{v.label}: ")
        assert s.count(". ") == 0 and s.endswith(".")
        changes = any(r["changed"] for r in spine.recommendations if r["variant"] == v.name)
        verdict = s[len(v.label) + 2:]
        assert verdict.startswith("changes ") if changes else verdict.startswith("no recommendation changes (")
    changed = {r["variant"] for r in spine.recommendations if r["changed"]}
    assert spine.headline == (
        f"{len(changed)} of 13 critiques change at least one recommendation: "
        + ", ".join(v.label for v in spine.variants if v.name in changed) + "."
    )
    # the extraction correction and the null target leave every recommendation alone
    for name in ("extraction-corrected", "imprecision-vs-null"):
        assert "no recommendation changes (6 of 6 unchanged)" in spine.sentences[names.index(name)]


def test_robustness_rows_match_the_runs(spine):
    """Every compared row carries the numbers of the base and the variant runs."""
    base = spine.base
    for v in spine.variants:
        for row in (r for r in spine.estimates if r["variant"] == v.name and "estimate" in r):
            _, _, b = base.rating(row["population"], row["outcome"], row["treatment"], row["comparator"])
            _, _, x = v.rating(row["population"], row["outcome"], row["variant_treatment"], row["variant_comparator"])
            assert row["base_estimate"] == b.estimate and row["estimate"] == x.estimate
            assert row["change"] == pytest.approx(x.estimate - b.estimate, abs=1e-14)
            assert row["certainty_changed"] == (b.final != x.final)
    # the sham split compares against inert sham
    rows = [r for r in spine.estimates if r["variant"] == "sham-split" and "estimate" in r]
    assert rows and all(r["variant_comparator"] == "sham_inert" for r in rows)
    # a lumbar-only network still has the ablation estimate
    assert any(r["variant"] == "lumbar-only" and r["treatment"] == "joint_RFA" and "estimate" in r for r in spine.estimates)


def test_to_dict_is_deterministic(spine):
    again = reanalyse(example("spine").spec_path, only=["mid-1cm", "sham-split"])
    first = [v for v in spine.to_dict()["variants"] if v["name"] in ("mid-1cm", "sham-split")]
    assert dumps(again.to_dict()["variants"]) == dumps(first)


def test_mid_variant_moves_ci_positions_with_its_own_mid(spine):
    rows = [r for r in spine.estimates if r["variant"] == "mid-1cm" and "estimate" in r]
    assert all(r["change"] == 0 for r in rows)
    moved = [r for r in rows if r["mid_position_changed"]]
    assert moved
    for r in moved:
        # same CI: the position changed only because the MID did
        lo, hi = r["ci_low"], r["ci_high"]
        reaches_1 = lo <= -1.0
        reaches_15 = lo <= -1.5
        harm_1, harm_15 = hi >= 1.0, hi >= 1.5
        assert (reaches_1, harm_1) != (reaches_15, harm_15)


# ---------------------------------------------------------------------------------
# variants on a small real network (dat.hasselblad1998)


@pytest.fixture()
def smoking():
    loaded = load_spec(example("smoking").spec_path)
    return loaded, read_inputs(loaded)


def test_lump_equals_nodes_merged_by_hand(smoking, tmp_path):
    loaded, inputs = smoking
    v = VariantSpec(name="counselling", lump={"ind_counseling": "counselling", "grp_counseling": "counselling"})
    applied = apply_variant(inputs, v)
    a = run_analysis(applied.loaded, applied.inputs, applied)
    _, _, rating = a.rating(None, "cessation", "counselling", "no_contact")
    raw = pd.read_csv(example("smoking").path)
    raw["trt"] = raw["trt"].replace({"ind_counseling": "counselling", "grp_counseling": "counselling"})
    merged = raw.groupby(["study", "trt"], sort=False, as_index=False)[["xi", "ni"]].sum()
    merged.columns = ["study", "treatment", "events", "n"]
    # head-to-head counselling trials become single-arm: the variant leaves them out, saying so
    single = merged.groupby("study")["treatment"].transform("size") == 1
    gone = sorted(set(merged.loc[single, "study"].astype(str)))
    assert gone
    assert {e.study for e in a.graded.outcomes[0].model.excluded} >= set(gone)
    merged = merged[~single]
    merged.to_csv(tmp_path / "merged.csv", index=False)
    by_hand = nma(network_from_arms(read_arms(tmp_path / "merged.csv"), "OR"), reference="no_contact", method="DL")
    lg = by_hand.league()
    i, j = lg.index("counselling"), lg.index("no_contact")
    assert rating.estimate == pytest.approx(lg.est[i, j], rel=1e-10)
    assert rating.ci_low == pytest.approx(lg.ci_low[i, j], rel=1e-10)
    assert a.graded.outcomes[0].model.tau2 == pytest.approx(by_hand.tau2, rel=1e-10)
    assert applied.treatment_map["ind_counseling"] == ("counselling",)
    assert any("lumped" in c and "combined within studies" in c for c in applied.changes)


def test_exclusions_are_listed_with_the_reason(smoking):
    _, inputs = smoking
    studies = sorted(set(inputs.table.frame["study"].astype(str)))[:2]
    with pytest.raises(ValueError, match="exclude_studies needs an exclude_reason"):
        VariantSpec(name="x", exclude_studies=studies)
    applied = apply_variant(inputs, VariantSpec(name="x", exclude_studies=studies, exclude_reason="duplicate publication"))
    assert [e.study for e in applied.excluded] == studies
    assert all(e.reason == "variant x: duplicate publication" for e in applied.excluded)
    assert set(applied.inputs.table.frame["study"].astype(str)).isdisjoint(studies)
    with pytest.raises(SpecError, match="not in the data: nope"):
        apply_variant(inputs, VariantSpec(name="y", exclude_studies=["nope"], exclude_reason="r"))


def test_corrections_replace_one_value_and_say_so(smoking):
    _, inputs = smoking
    frame = inputs.table.frame
    study, trt, old = str(frame["study"].iloc[0]), str(frame["treatment"].iloc[0]), frame["events"].iloc[0]
    v = VariantSpec(name="fix", corrections=[{"study": study, "treatment": trt, "column": "events", "value": old + 5, "reason": "second extraction"}])
    applied = apply_variant(inputs, v)
    new = applied.inputs.table.frame
    assert new["events"].iloc[0] == old + 5 and (new["events"].iloc[1:] == frame["events"].iloc[1:]).all()
    assert applied.changes == (f"corrected {study} {trt} events: {old:g} -> {old + 5:g} (second extraction)",)
    with pytest.raises(SpecError, match="no row for study 'zz'"):
        apply_variant(inputs, VariantSpec(name="f", corrections=[{"study": "zz", "column": "events", "value": 1, "reason": "r"}]))
    with pytest.raises(SpecError, match="no column 'evnts'"):
        apply_variant(inputs, VariantSpec(name="f", corrections=[{"study": study, "column": "evnts", "value": 1, "reason": "r"}]))


def test_ranges_and_settings(smoking):
    loaded, inputs = smoking
    v = VariantSpec(name="r", keep_where={"events": {"min": 10}}, set={"model.method": "REML", "outcomes.cessation.mid": 30, "outcomes.cessation.thresholds": [30]})
    applied = apply_variant(inputs, v)
    assert (applied.inputs.table.frame["events"] >= 10).all()
    assert applied.loaded.spec.model.method == "REML" and applied.loaded.spec.outcomes[0].mid == 30
    assert loaded.spec.model.method == "DL"  # the base spec is untouched
    with pytest.raises(SpecError, match=r"variants\[bad\]\.set: .*model\.methd"):
        apply_variant(inputs, VariantSpec(name="bad", set={"model.methd": "REML"}))
    with pytest.raises(SpecError, match="no entry named 'pain'"):
        apply_variant(inputs, VariantSpec(name="bad", set={"outcomes.pain.mid": 1}))
    raw = {"outcomes": [{"name": "a", "mid": 1}]}
    set_by_key(raw, "outcomes.0.mid", 2, "x")
    assert raw["outcomes"][0]["mid"] == 2


def test_variant_files_and_unique_names(tmp_path):
    src = example("smoking").spec_path
    shutil.copy(src.parent / "hasselblad1998.csv", tmp_path / "hasselblad1998.csv")
    text = src.read_text()
    (tmp_path / "more.toml").write_text('[[variants]]\nname = "reml"\nset = { "model.method" = "REML" }\n')
    (tmp_path / "s.toml").write_text('variant_files = ["more.toml"]\n' + text)
    loaded = load_spec(tmp_path / "s.toml")
    assert [v.name for v in loaded.variants] == ["reml"]
    r = reanalyse(loaded)
    assert r.sentences == (r.sentences[0],) and r.sentences[0].startswith("reml: no recommendations to compare")
    (tmp_path / "s2.toml").write_text('variant_files = ["more.toml"]\n' + text + '\n[[variants]]\nname = "reml"\n')
    with pytest.raises(SpecError, match="repeated: reml"):
        load_spec(tmp_path / "s2.toml")
    (tmp_path / "bad.toml").write_text('[[variants]]\nname = "x"\nkeep_wher = { a = 1 }\n')
    (tmp_path / "s3.toml").write_text('variant_files = ["bad.toml"]\n' + text)
    with pytest.raises(SpecError, match=r"bad.toml: variants\[0\]: keep_wher"):
        load_spec(tmp_path / "s3.toml")


def test_lump_split_on_the_spine_hierarchy():
    r = lump_split(example("spine").spec_path, finer_column="treatment_split",
                   reference={"class": "control", "technique": "sham_inert"})
    assert [v.name for v in r.variants] == ["level-class", "level-technique"]
    cls = [e for e in r.estimates if e["variant"] == "level-class" and "estimate" in e]
    assert {e["variant_treatment"] for e in cls} >= {"epidural", "joint_targeted", "ablation"}
    assert all(e["variant_comparator"] == "control" for e in cls)
    tech = [e for e in r.estimates if e["variant"] == "level-technique" and e["treatment"] == "epidural_LA" and "estimate" in e]
    assert {e["variant_treatment"] for e in tech} >= {"epidural_LA_transforaminal", "epidural_LA_interlaminar"}


def test_cli_reanalyse_json(tmp_path):
    res = CliRunner().invoke(app, ["reanalyse", str(example("spine").spec_path), "-v", "no-obsolete-techniques", "--json",
                                   "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [v["name"] for v in doc["variants"]] == ["no-obsolete-techniques"]
    assert doc["variants"][0]["excluded"] and all(e["reason"].startswith("variant no-obsolete-techniques: ") for e in doc["variants"][0]["excluded"])
    assert (tmp_path / "robustness.csv").is_file() and json.loads((tmp_path / "robustness.json").read_text()) == doc
    bad = CliRunner().invoke(app, ["reanalyse", str(example("spine").spec_path), "-v", "nope"])
    assert bad.exit_code == 1 and "no variant named nope" in bad.stderr


def test_cli_reanalyse_hierarchy():
    res = CliRunner().invoke(app, ["reanalyse", str(example("spine").spec_path), "--hierarchy", "--level-reference",
                                   "class=control", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [v["name"] for v in doc["variants"]] == ["level-class"]  # no finer column given: lump only
    assert doc["variants"][0]["treatment_map"]["epidural_LA"] == ["epidural"]


def test_variant_filters_may_use_the_file_column_name(smoking):
    _, inputs = smoking
    a = apply_variant(inputs, VariantSpec(name="a", exclude_where={"trt": "self_help"}))
    b = apply_variant(inputs, VariantSpec(name="b", exclude_where={"treatment": "self_help"}))
    assert a.inputs.table.frame.equals(b.inputs.table.frame)
    assert "self_help" not in set(a.inputs.table.frame["treatment"])
