"""The HTML report: content traceable to results.json, self-contained, escaped, and
readable without JavaScript (the browser test checks the interactive parts)."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
from markupsafe import escape

from netgrade import pipeline
from netgrade.report.html import slug

FIXTURES = Path(__file__).parent / "fixtures" / "specs"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "metadat"


@pytest.fixture(scope="module")
def demo(spine_demo):
    text = spine_demo.report.read_text(encoding="utf-8")
    doc = json.loads((spine_demo.folder / "results.json").read_text(encoding="utf-8"))
    return spine_demo, text, doc


def test_demo_ends_with_the_report_path(demo):
    run, _, _ = demo
    last = run.stdout.strip().splitlines()[-1]
    assert last == f"Report: {run.report.resolve()}"
    assert run.report.is_file()


def test_six_strong_recommendations_against(demo):
    _, text, doc = demo
    articles = re.findall(r'<article class="recommendation [^"]*"[^>]*data-strength="(\w+)" data-direction="(\w+)"', text)
    assert articles == [("strong", "against")] * 6
    recs = doc["recommendations"]["recommendations"]
    assert [r["headline"] for r in recs] == ["Strong recommendation against"] * 6
    for r in recs:
        assert html.escape(r["statement"], quote=False) in text
    assert "6 × strong recommendation against" in text


def test_every_recommendation_traces_to_its_estimates_and_ratings(demo):
    _, text, doc = demo
    ids = set(re.findall(r' id="([^"]+)"', text))
    ratings = {(r["population"], r["treatment"], r["comparator"]): r for o in doc["outcomes"] for r in o["ratings"]}
    groups = {g["key"]: g for g in doc["recommendations"]["recommendations"]}
    for key, rec in groups.items():
        section = text[text.index(f'id="{slug("rec", key)}"'):]
        section = section[: section.index("</article>")]
        links = re.findall(r'<a class="trace" href="#([^"]+)" data-panel="([^"]+)">([^<]+)</a>', section)
        assert len(links) == len(rec["interventions"]), key
        for target, panel, label in links:
            assert target in ids and panel in ids
            _, pop, outcome, treatment, comparator = target.split("--")
            r = ratings[(pop, treatment, comparator)]
            assert f"{r['certainty']} certainty" in label
            assert f"{r['estimate']:.2f}".replace("-", "−") in label
            # the rating row shows the same certainty, with its six domains
            row = text[text.index(f'id="{target}"'):]
            row = row[: row.index("<p class=\"explanation\">")]
            for domain, level in r["domains"].items():
                assert re.search(rf"<th scope=\"row\">{re.escape(domain)}</th><td class=\"concern [^\"]+\">{re.escape(level)}", row)


def test_report_is_self_contained(demo):
    _, text, _ = demo
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "<link" not in text and "@import" not in text and "url(" not in text
    srcs = re.findall(r'<img src="([^"]+)"', text)
    assert len(srcs) == 2 * 4 + 1  # four figures per network, and the budget figure
    assert all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    assert text.count("<script>") == 1


def test_readable_without_javascript(demo):
    """Nothing is hidden in the markup: the script hides panels and domain rows."""
    _, text, doc = demo
    assert " hidden" not in text.replace("overflow-x", "")
    for o in doc["outcomes"]:
        assert f'id="{slug("p", o["population"], o["outcome"])}"' in text
    n_ratings = sum(len(o["ratings"]) for o in doc["outcomes"])
    assert text.count('<tr class="domains"') == n_ratings
    assert text.count('<table class="netgrade-sof">') == len(doc["outcomes"])


def test_report_sections(demo):
    _, text, doc = demo
    assert "SIMULATED DATA." in text
    for heading in ("Summary of findings", "League table", "Inconsistency", "Decision aid", "Methods",
                    "Warnings and excluded studies", "Provenance", "Budget impact"):
        assert heading in text
    # methods written from the spec
    assert "Minimal important difference (MID) 1.5 cm" in text
    assert "DerSimonian-Laird" in text
    assert "rated down once for both" in text
    assert "The whole analysis was repeated under 13 pre-declared variants" in text
    assert "Spinal region: subgroup network meta-analysis (network meta-regression for a numeric covariate) by region" in text
    # warnings and provenance from the results
    for w in doc["warnings"]:
        assert html.escape(w["message"]) in text
    for name, digest in doc["provenance"]["inputs"].items():
        assert digest in text
    # inconsistency: the design-by-treatment test of each network
    for o in doc["outcomes"]:
        chi2 = o["inconsistency"]["design_by_treatment"][1]["chi2"]
        assert f"<td>{chi2:.2f}</td>" in text


@pytest.fixture()
def hostile_spec(tmp_path):
    """The senn2013 spec with markup in the title, a label and an override's reason."""
    shutil.copy(SHARED / "dat.senn2013.csv", tmp_path / "senn.csv")
    shutil.copy(FIXTURES / "senn_rob.csv", tmp_path / "senn_rob.csv")
    text = (FIXTURES / "senn.toml").read_text()
    text = text.replace("../../../../shared/data/metadat/dat.senn2013.csv", "senn.csv")
    text = text.replace('title = "Glucose', 'title = "<script>alert(1)</script> Glucose')
    text = text.replace('"illustration of an overall override"', '"<img src=x onerror=alert(2)> reason"')
    text += '\n[treatments.acarbose]\nlabel = "<b>Acarbose</b> & co"\n'
    spec = tmp_path / "senn.toml"
    spec.write_text(text)
    return spec


def test_user_text_is_escaped(hostile_spec, tmp_path):
    pipeline.run(hostile_spec, tmp_path / "out")
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Glucose" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(2)&gt; reason" in text
    assert "<b>Acarbose</b>" not in text and "&lt;b&gt;Acarbose&lt;/b&gt; &amp; co" in text
    # no recommendation groups in this spec: the report has no recommendations section
    assert 'id="recommendations"' not in text and "Summary of findings" in text


def test_sof_counts_direct_studies_and_participants():
    """Studies (participants) in the SoF table: the trials comparing the two treatments
    directly and the patients in those two arms, counted here from the CSV."""
    import pandas as pd

    from netgrade.datasets import example

    graded = pipeline.grade(example("spine").spec_path)
    arms = pd.read_csv(example("spine").path)
    arms = arms[arms["population"] == "axial"]
    sof = graded.summary_of_findings("pain", "axial")
    labels = pipeline.treatment_labels(graded.inputs)
    code = {v: k for k, v in labels.items()}
    seen_indirect = False
    for row in sof.rows:
        t = code[row.intervention]
        both = arms.groupby("study").filter(lambda d: {t, "sham"} <= set(d["treatment"]))
        k = both["study"].nunique()
        assert row.n_studies == k
        if k:
            assert row.n_participants == int(both[both["treatment"].isin([t, "sham"])]["n"].sum())
            assert sof.studies_text(row) == f"{k} ({row.n_participants:,})"
        else:
            seen_indirect = True
            assert sof.studies_text(row) == "0 (indirect evidence only)"
    assert any(r.n_studies for r in sof.rows)
    assert seen_indirect or all(r.n_studies for r in sof.rows)


def test_results_hold_the_numbers_the_report_shows(demo):
    """P-scores and the summary-of-findings rows of the report come from results.json."""
    _, text, doc = demo
    for o in doc["outcomes"]:
        for s in o["p_scores"]["scores"]:
            assert f'data-value="{s["p_score"]!r}">{s["p_score"]:.3f}</td>' in text
        rows = o["summary_of_findings"]["rows"]
        assert len(rows) == len(o["ratings"])
        for r in rows:
            assert html.escape(r["statement"], quote=True) in text


def test_report_shows_the_robustness_table_and_subgroups(demo):
    """The demo's report carries the re-analysis under the spine critiques and the
    subgroup analyses, sentence for sentence as in results.json."""
    _, text, doc = demo
    esc = lambda x: str(escape(x))  # noqa: E731  (jinja2's escaping)
    re_doc = doc["reanalysis"]
    assert len(re_doc["variants"]) == 13
    assert esc(re_doc["headline"]) in text
    for sentence in re_doc["sentences"]:
        assert esc(sentence) in text
    assert text.count('<details class="variant"') == 13
    em = doc["effect_modification"]
    assert em["sentences"] and all(esc(s) in text for s in em["sentences"])
    assert text.count("<table class=\"iceman\">") == sum(1 for f in em["findings"] if f["subgroup_nma"] is not None or f["metaregression"] is not None)


def test_single_trial_influence_matches_a_direct_leave_one_out(demo):
    from netgrade.network.sensitivity import leave_one_out

    _, text, doc = demo
    graded = pipeline.grade(Path(__file__).resolve().parents[1] / "src" / "netgrade" / "datasets" / "spine.toml")
    for g, o in zip(graded.outcomes, doc["outcomes"]):
        direct = leave_one_out(g.model, mid=1.5).treatment_frame()
        assert [r["treatment"] for r in o["leave_one_out"]] == list(direct["treatment"])
        assert [r["changes_conclusion"] for r in o["leave_one_out"]] == list(direct["changes_conclusion"])
        n = int(direct["changes_conclusion"].sum())
        assert (f"relative to the null and the MID for {n} of {len(direct)} treatments." in text) or n == 0
