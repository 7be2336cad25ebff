"""The spec's [[subgroups]]: subgroup NMA or meta-regression per network, with ICEMAN."""

from __future__ import annotations

import pandas as pd
import pytest

from netgrade.datasets import example
from netgrade.network import network_metareg, subgroup_nma
from netgrade.pipeline import grade
from netgrade.reanalysis.effect_modification import effect_modification


@pytest.fixture(scope="module")
def spine():
    g = grade(example("spine").spec_path)
    return g, effect_modification(g)


def test_one_finding_per_subgroup_and_network(spine):
    g, em = spine
    got = [(f.name, f.population) for f in em.findings]
    assert got == [
        ("region", "axial"), ("region", "radicular"), ("condition", "axial"), ("condition", "radicular"),
        ("patient-selection", "axial"), ("year", "axial"), ("year", "radicular"), ("sham-type", "axial"),
        ("sham-type", "radicular"),
    ]
    assert [f.kind for f in em.findings if f.name == "year"] == ["metaregression", "metaregression"]


def test_findings_equal_direct_calls(spine):
    g, em = spine
    studies = pd.read_csv(example("spine").path.parent / "spine_studies.csv")
    for f in em.findings:
        res = g.outcome("pain", f.population).model
        col = dict(zip(studies["study"], studies[f.covariate]))
        mapping = {s: col[s] for s in res.data.studies}
        if f.kind == "metaregression":
            direct = network_metareg(res, {s: float(v) for s, v in mapping.items()}, interactions="common", method="DL",
                                     centre="mean")
            assert f.result.qm_pval == pytest.approx(direct.qm_pval, rel=1e-12)
            name = direct.interaction_names[0]
            assert f.coefficients()[0]["estimate"] == pytest.approx(direct.coefficients.row(name)["estimate"], rel=1e-12)
        else:
            direct = subgroup_nma(res, {s: str(v) for s, v in mapping.items()}, method="DL", tau2="common")
            assert f.result.q_between_pval == pytest.approx(direct.q_between_pval, rel=1e-12)
            assert [t.pval for t in f.result.tests] == pytest.approx([t.pval for t in direct.tests], rel=1e-12, nan_ok=True)
        # between-trial comparisons of study characteristics, answered from the data
        assert f.credibility.answer("within_trial") == "definitely no"
        assert f.credibility.item("chance").source == "data"


def test_sentences_name_the_test_and_the_credibility(spine):
    _, em = spine
    for f, s in zip(em.findings, em.sentences()):
        assert s.startswith(f"{f.label} ({f.population} / pain): ")
        assert s.endswith(f"ICEMAN credibility of effect modification: {f.credibility.credibility}.")
        p = f.pval
        assert ("no evidence of effect modification" in s) == (p >= 0.1)
