"""`netgrade nma`: JSON keys and values on the public networks, same numbers as the API."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from netgrade.cli import app
from netgrade.network import analyse_network
from tests.reference import CLOSED, assert_close, data_path, expected

runner = CliRunner()

ARGS = {
    "dat.hasselblad1998": ["--measure", "OR", "--col", "treatment=trt", "--col", "events=xi", "--col", "n=ni", "--col", "study=study", "--larger-better"],
    "dat.senn2013": ["--measure", "MD", "--col", "mean=mi", "--col", "sd=sdi", "--col", "n=ni"],
    "dat.linde2016": ["--measure", "OR", "--col", "study=id", "--col", "estimate=lnOR", "--col", "se=selnOR", "--col", "treatment1=treat1", "--col", "treatment2=treat2", "--larger-better"],
}
REQUIRED = "treatments reference k n_contrasts method tau2 i2 q q_df q_pval q_within q_between effects league p_scores node_split".split()


def _json(ds, *extra):
    res = runner.invoke(app, ["nma", str(data_path(ds)), "--reference", expected(ds)["reference"], "--json", *ARGS[ds], *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.mark.parametrize("ds", list(ARGS))
def test_nma_json_reproduces_netmeta_dl(ds):
    out = _json(ds)
    for key in REQUIRED:
        assert key in out, key
    ref = expected(ds)["netmeta"]["DL"]
    assert out["k"] == ref["k"] and out["n_contrasts"] == ref["m"] and out["method"] == "DL"
    assert out["treatments"][0] == out["reference"] == expected(ds)["reference"]
    assert_close(out["tau2"], ref["tau2"], CLOSED, "tau2")
    assert_close(out["i2"], 100 * ref["I2"], CLOSED, "i2 (percent)")
    for ours, theirs in (("q", "Q"), ("q_within", "Q_heterogeneity"), ("q_between", "Q_inconsistency")):
        assert_close(out[ours], ref[theirs], CLOSED, ours)
    assert out["q_df"] == ref["df_Q"]
    vs = ref["random_vs_reference"]
    eff = {e["treatment"]: e for e in out["effects"]}
    for t, te, se, lo, hi in zip(vs["treatment"], vs["TE"], vs["seTE"], vs["lower"], vs["upper"]):
        assert_close([eff[t]["estimate"], eff[t]["se"], eff[t]["ci_low"], eff[t]["ci_high"]], [te, se, lo, hi], CLOSED, t)
    T = len(out["treatments"])
    assert len(out["league"]) == T * (T - 1)
    order = ref["treatments"]
    lg = ref["league_random"]
    for rec in out["league"]:
        i, j = order.index(rec["treatment1"]), order.index(rec["treatment2"])
        assert_close(rec["estimate"], lg["TE"][i][j], CLOSED, f"league {rec['treatment1']}:{rec['treatment2']}", atol=1e-12)
        assert_close(rec["ci_low"], lg["lower"][i][j], CLOSED, "league lower", atol=1e-12)
    # P-scores in the data set's direction of benefit
    pscores = ref["netrank"]["pscore_random"]
    assert out["p_scores_direction"] == ("larger values are better" if ref["netrank"]["small.values"] == "undesirable" else "smaller values are better")
    for t, v in pscores.items():
        assert_close(out["p_scores"][t], v, CLOSED, f"P-score {t}")
    # node-splitting of every comparison with direct evidence (random effects)
    split = ref["netsplit"]["random"]
    ours = {(r["treatment1"], r["treatment2"]): r for r in out["node_split"]}
    n_direct = 0
    for n, label in enumerate(split["comparison"]):
        if split["k"][n] == 0:
            continue
        n_direct += 1
        a, b = label.split(":")
        r = ours[(a, b)]
        for key, block, col in (
            ("direct", "direct", "TE"),
            ("direct_se", "direct", "seTE"),
            ("indirect", "indirect", "TE"),
            ("indirect_se", "indirect", "seTE"),
            ("diff", "compare", "TE"),
            ("pval", "compare", "p"),
        ):
            assert_close(r[key], split[block][col][n], 1e-8, f"node_split {label} {key}", atol=1e-12)
    assert len(out["node_split"]) == n_direct


def test_nma_reml_on_contrast_input_matches_metafor():
    out = _json("dat.linde2016", "--method", "REML")
    assert out["tau2"] == pytest.approx(expected("dat.linde2016")["metafor"]["RE_REML"]["tau2"], rel=1e-5)


def test_nma_direction_of_benefit_inverts_p_scores():
    smaller = _json("dat.senn2013")
    larger = _json("dat.senn2013", "--larger-better")
    for t in smaller["p_scores"]:
        assert larger["p_scores"][t] == pytest.approx(1 - smaller["p_scores"][t], abs=1e-12)


def test_nma_cli_and_api_agree_and_are_deterministic():
    ds = "dat.senn2013"
    a = runner.invoke(app, ["nma", str(data_path(ds)), "--reference", "placebo", "--json", *ARGS[ds]]).stdout
    b = runner.invoke(app, ["nma", str(data_path(ds)), "--reference", "placebo", "--json", *ARGS[ds]]).stdout
    assert a == b
    api = analyse_network(data_path(ds), measure="MD", reference="placebo", columns={"mean": "mi", "sd": "sdi", "n": "ni"})
    assert json.loads(a) == json.loads(api.to_json())


def test_nma_summary_and_figures(tmp_path):
    ds = "dat.senn2013"
    res = runner.invoke(app, ["nma", str(data_path(ds)), "--reference", "placebo", "--figures", str(tmp_path), *ARGS[ds]])
    assert res.exit_code == 0, res.output
    assert "Random-effects network meta-analysis (MD; reference: placebo; tau² by DL)" in res.stdout
    assert "smaller values are better" in res.stdout
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"{stem}.{ext}" for stem in ("network_graph", "forest_vs_reference", "league_table", "rankogram") for ext in ("png", "svg"))


def test_nma_disconnected_network_fails_with_the_subnetworks(tmp_path):
    f = tmp_path / "disc.csv"
    f.write_text(
        "study,treatment1,treatment2,estimate,se\nS1,B,A,0.5,0.2\nS2,B,A,0.4,0.3\nS3,D,C,0.1,0.2\n"
    )
    res = runner.invoke(app, ["nma", str(f), "--reference", "A", "--json"])
    assert res.exit_code == 1
    assert "disconnected into 2 sub-networks" in res.stderr and "treatments C, D" in res.stderr
    ok = runner.invoke(app, ["nma", str(f), "--reference", "C", "--component", "1", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["treatments"] == ["C", "D"]


def test_nma_arm_data_need_a_measure():
    res = runner.invoke(app, ["nma", str(data_path("dat.senn2013")), "--reference", "placebo", "--col", "mean=mi", "--col", "sd=sdi", "--col", "n=ni"])
    assert res.exit_code == 1 and "--measure" in res.stderr
