"""The command line: JSON keys and values on the public data sets, same numbers as the API."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from netgrade.cli import app
from netgrade.pairwise import rma
from netgrade.pairwise.analysis import analyse_pairwise
from tests.reference import CLOSED, ITERATIVE, assert_close, data_path, expected

runner = CliRunner()

REQUIRED = (
    "k measure method test estimate se ci_low ci_high stat pval tau2 tau2_ci_low tau2_ci_high "
    "i2 h2 q q_df q_pval pi_low pi_high"
).split()

BCG = ["--col", "ai=tpos", "--col", "bi=tneg", "--col", "ci=cpos", "--col", "di=cneg"]

# (dataset, analysis name in the reference, CLI arguments)
CASES = [
    ("dat.bcg", "RR", BCG + ["--measure", "RR"]),
    ("dat.bcg", "OR", BCG + ["--measure", "OR"]),
    ("dat.bcg", "RD", BCG + ["--measure", "RD"]),
    ("dat.normand1999", "MD", ["--measure", "MD", "--col", "study=source"]),
    ("dat.normand1999", "SMD", ["--measure", "SMD", "--col", "study=source"]),
    ("dat.normand1999", "ROM", ["--measure", "ROM", "--col", "study=source"]),
    ("dat.pritz1997", "PLO", ["--measure", "PLO"]),
    ("dat.pritz1997", "PR", ["--measure", "PR"]),
    ("dat.pritz1997", "PAS", ["--measure", "PAS"]),
    ("dat.pritz1997", "PFT", ["--measure", "PFT"]),
    ("dat.raudenbush1985", "SMD", []),
    ("dat.yusuf1985", "table_9_OR", ["--measure", "OR", "--where", "table=9", "--col", "study=trial"]),
    ("dat.yusuf1985", "table_12b_OR", ["--measure", "OR", "--where", "table=12b", "--col", "study=trial"]),
]


def _run(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def _json(args):
    return json.loads(_run(args).stdout)


def _check_against_reference(out, ref, method):
    tol = ITERATIVE if method in ("REML", "ML", "PM", "EB", "PMM") else CLOSED
    for ours, theirs in (
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
        ("stat", "zval"),
        ("pval", "pval"),
        ("tau2", "tau2"),
        ("i2", "I2"),
        ("h2", "H2"),
        ("q", "QE"),
        ("q_pval", "QEp"),
    ):
        assert_close(out[ours], ref[theirs], tol, ours)
    assert out["q_df"] == ref["QE_df"] and out["k"] == ref["k"]
    if "pi_lb" in ref["predict"]:
        assert_close(out["pi_low"], ref["predict"]["pi_lb"], tol, "pi_low")
        assert_close(out["pi_high"], ref["predict"]["pi_ub"], tol, "pi_high")
    qp = ref.get("confint_QP")
    if qp is not None:
        assert_close(out["tau2_ci_low"], qp["tau2"]["ci_lb"], ITERATIVE, "tau2_ci_low")
        if qp["tau2"]["ci_ub"] < 10 * ref["tau2"] * (1 - 1e-9):  # metafor's capped bound, see test_rma_reference
            assert_close(out["tau2_ci_high"], qp["tau2"]["ci_ub"], ITERATIVE, "tau2_ci_high")


@pytest.mark.parametrize("ds,name,args", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
@pytest.mark.parametrize("method", ["REML", "DL"])
def test_cli_json_reproduces_metafor(ds, name, args, method):
    out = _json(["pairwise", str(data_path(ds)), "--method", method, "--json", *args])
    for key in REQUIRED:
        assert key in out, key
    ref = expected(ds)["analyses"][name]["rma"][method]
    if ref.get("estimate") is None:  # metafor failed (normand MD REML)
        assert out["tau2"] > 0
        return
    _check_against_reference(out, ref, method)
    assert out["method"] == method and out["test"] == "z"


@pytest.mark.parametrize("method", ["REML", "PM", "SJ", "HE", "EB"])
def test_cli_hartung_knapp(method):
    out = _json(["pairwise", str(data_path("dat.bcg")), "--measure", "RR", "--method", method, "--test", "knha", "--json", *BCG])
    ref = expected("dat.bcg")["analyses"]["RR"]["rma_knha"][method]
    _check_against_reference(out, ref, method)
    assert out["test"] == "knha" and out["ddf"] == 12


def test_cli_common_effect_has_no_heterogeneity_interval():
    out = _json(["pairwise", str(data_path("dat.bcg")), "--measure", "OR", "--method", "FE", "--json", *BCG])
    ref = expected("dat.bcg")["analyses"]["OR"]["rma"]["FE"]
    _check_against_reference(out, ref, "FE")
    assert out["tau2"] == 0 and out["tau2_ci_low"] is None and out["pi_low"] is None


@pytest.mark.parametrize("pooling,key", [("MH", "rma_mh"), ("PETO", "rma_peto")])
def test_cli_mantel_haenszel_and_peto(pooling, key):
    out = _json(["pairwise", str(data_path("dat.bcg")), "--measure", "OR", "--method", pooling, "--json", *BCG])
    ref = expected("dat.bcg")["analyses"]["OR"][key]
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("q", "QE"), ("i2", "I2")):
        assert_close(out[ours], ref[theirs], CLOSED, ours)


def test_cli_and_api_give_the_same_numbers():
    args = ["--measure", "RR", "--method", "REML", "--json", *BCG]
    out = _json(["pairwise", str(data_path("dat.bcg")), *args])
    api = analyse_pairwise(
        data_path("dat.bcg"), measure="RR", method="REML", columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}
    )
    assert out == json.loads(api.to_json())
    a = expected("dat.bcg")["analyses"]["RR"]["input"]
    direct = rma(a["yi"], a["vi"], method="REML")
    assert out["estimate"] == pytest.approx(direct.estimate, rel=1e-12)
    assert out["tau2"] == pytest.approx(direct.tau2, rel=1e-12)


def test_cli_json_is_byte_identical_across_runs():
    args = ["pairwise", str(data_path("dat.bcg")), "--measure", "RR", "--json", *BCG]
    assert _run(args).stdout == _run(args).stdout


def test_cli_long_arm_data_needs_named_arms(tmp_path):
    f = tmp_path / "arms.csv"
    f.write_text(
        "study,treatment,events,n\nA,drug,10,100\nA,placebo,20,100\nB,drug,5,50\nB,placebo,9,50\nC,drug,7,80\nC,placebo,12,75\n"
    )
    res = runner.invoke(app, ["pairwise", str(f), "--measure", "OR"])
    assert res.exit_code == 1
    assert "--treatment" in res.stderr and "drug" in res.stderr
    out = _json(["pairwise", str(f), "--measure", "OR", "--treatment", "drug", "--control", "placebo", "--json"])
    flipped = _json(["pairwise", str(f), "--measure", "OR", "--treatment", "placebo", "--control", "drug", "--json"])
    assert out["k"] == 3 and out["estimate"] < 0
    assert flipped["estimate"] == pytest.approx(-out["estimate"], rel=1e-12)


def test_cli_contrast_data_need_no_measure(tmp_path):
    f = tmp_path / "contrasts.csv"
    f.write_text("study,estimate,se\nA,0.1,0.2\nB,0.3,0.1\nC,-0.2,0.3\nD,0.25,0.15\n")
    out = _json(["pairwise", str(f), "--method", "DL", "--json"])
    direct = rma([0.1, 0.3, -0.2, 0.25], sei=[0.2, 0.1, 0.3, 0.15], method="DL")
    assert out["estimate"] == pytest.approx(direct.estimate, rel=1e-12)
    assert out["measure"] == "GEN"


def test_cli_bad_input_names_row_and_column(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("study,treatment,events,n\nA,drug,10,100\nA,placebo,120,100\nB,drug,x,50\nB,placebo,9,50\n")
    res = runner.invoke(app, ["pairwise", str(f), "--measure", "OR", "--treatment", "drug", "--control", "placebo"])
    assert res.exit_code == 1
    assert "row 3" in res.stderr and "column 'events'" in res.stderr
    assert "row 4" in res.stderr and "study 'B'" in res.stderr


def test_cli_summary_mode_is_readable():
    res = _run(["pairwise", str(data_path("dat.bcg")), "--measure", "RR", *BCG])
    assert "Random-effects model (k = 13; tau² estimator: REML)" in res.stdout
    assert "risk ratio scale" in res.stdout and "Q-profile" in res.stdout


def test_cli_reports_excluded_studies(tmp_path):
    out = _json(["pairwise", str(data_path("dat.yusuf1985")), "--measure", "OR", "--where", "table=9", "--json"])
    excluded = {e["study"] for e in out["excluded"]}
    assert {"Ayerst", "ISIS"} <= excluded
    assert out["k"] == 26


def test_version():
    res = _run(["version"])
    assert res.stdout.strip()
