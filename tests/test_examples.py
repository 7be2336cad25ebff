"""The shipped example networks -- real published data with their analysis specs.

``smoking`` is dat.hasselblad1998 (Hasselblad 1998; OR, larger is better) and
``diabetes`` dat.senn2013 (Senn et al. 2013; MD in HbA1c, smaller is better), both as
distributed in metadat.  Their specs run through the pipeline from where they are
installed, and the network estimates they produce are netmeta's (generalised
DerSimonian-Laird, a closed form: relative 1e-8).  Neither data set has a published
risk-of-bias table, so both specs declare the within-study bias domain "not assessed";
the tests at the end check that declaration in the spec, the inputs and the ratings.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from netgrade import pipeline
from netgrade.certainty.rating import rate_network
from netgrade.certainty.types import Outcome, Thresholds
from netgrade.datasets import EXAMPLES, example
from netgrade.errors import DataError, SpecError
from netgrade.network import nma
from netgrade.spec import CERTAINTY_LEVELS, load_spec
from tests.nma_data import network
from tests.reference import CLOSED, assert_close, data_path, expected

#: example name -> metadat data set with the reference values
CASES = {"smoking": "dat.hasselblad1998", "diabetes": "dat.senn2013"}


@pytest.fixture(scope="module")
def graded():
    cache: dict[str, pipeline.GradeResult] = {}

    def get(name: str) -> pipeline.GradeResult:
        if name not in cache:
            cache[name] = pipeline.grade(example(name).spec_path)
        return cache[name]

    return get


def _matrix(values):
    return np.array([[np.nan if v is None else v for v in row] for row in values], float)


def _cmp(ours, ref, where, diagonal=True):
    ref = _matrix(ref)
    mask = np.isfinite(ref)
    if not diagonal:
        mask &= ~np.eye(ref.shape[0], dtype=bool)
    assert_close(np.asarray(ours, float)[mask].tolist(), ref[mask].tolist(), CLOSED, where)


# --- the shipped files ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_shipped_data_are_the_metadat_files_and_the_spec_points_at_them(name):
    ex = example(name)
    ds = CASES[name]
    assert ex.path.is_file() and ex.spec_path.is_file()
    assert ex.path.read_bytes() == data_path(ds).read_bytes()
    loaded = load_spec(ex.spec_path)
    assert loaded.resolve(loaded.spec.data.arms).resolve() == ex.path.resolve()
    assert loaded.spec.data.risk_of_bias is None
    assert loaded.spec.certainty.within_study_bias == "not assessed"
    assert loaded.spec.project.simulated is False
    assert not loaded.spec.evidence_to_decision.groups
    assert loaded.spec.model.method == "DL"
    assert loaded.spec.model.reference == expected(ds)["reference"]
    frame = ex.frame()
    if name == "smoking":
        assert frame.shape == (50, 7) and frame["study"].nunique() == 24
        assert set(frame["trt"]) == set(expected(ds)["treatments"])
    else:
        assert frame.shape == (53, 6) and frame["study"].nunique() == 26
        assert set(frame["treatment"]) == set(expected(ds)["treatments"])
    # every treatment of the data has a label for tables and statements
    assert set(loaded.spec.treatments) == set(expected(ds)["treatments"])
    assert all(t.label for t in loaded.spec.treatments.values())


def test_examples_are_registered_with_their_specs():
    assert EXAMPLES["smoking"].spec == "hasselblad1998.toml"
    assert EXAMPLES["diabetes"].spec == "senn2013.toml"
    assert EXAMPLES["spine"].spec_path.name == "spine.toml" and EXAMPLES["spine"].spec_path.is_file()
    assert "Hasselblad V" in EXAMPLES["smoking"].citation and "1998;18:37-43" in EXAMPLES["smoking"].citation
    assert "Senn S" in EXAMPLES["diabetes"].citation and "2013;22:169-189" in EXAMPLES["diabetes"].citation
    with pytest.raises(DataError, match="'bcg' has no analysis spec"):
        example("bcg").spec_path
    readme = EXAMPLES["smoking"].path.with_name("examples_README.md").read_text(encoding="utf-8")
    assert "GPL" in readme and "Med Decis Making 1998;18:37-43" in readme and "Stat Methods\n  Med Res 2013;22:169-189" in readme


def test_the_specs_state_their_mids():
    smoking = load_spec(example("smoking").spec_path).spec.outcomes[0]
    assert (smoking.measure, smoking.direction, smoking.mid, smoking.thresholds, smoking.baseline_risk) == (
        "OR", "larger_is_better", 20, [20], 0.08
    )
    # the baseline risk is the median quit proportion of the no-contact arms (15/187)
    arms = example("smoking").frame().query("trt == 'no_contact'")
    assert (arms.xi / arms.ni).median() == pytest.approx(15 / 187)
    assert round((arms.xi / arms.ni).median(), 2) == smoking.baseline_risk
    # GRADE's rough guide to appreciable benefit, RR 1.25, at that baseline risk
    assert 1000 * smoking.baseline_risk * (1.25 - 1) == pytest.approx(smoking.mid)
    diabetes = load_spec(example("diabetes").spec_path).spec.outcomes[0]
    assert (diabetes.measure, diabetes.direction, diabetes.mid, diabetes.thresholds) == (
        "MD", "smaller_is_better", 0.5, [0.5]
    )


# --- the network estimates are netmeta's ----------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_network_matches_netmeta_dl(name, graded):
    ref = expected(CASES[name])["netmeta"]["DL"]
    g = graded(name)
    assert len(g.outcomes) == 1
    res = g.outcomes[0].model
    assert (res.k, res.n_contrasts, res.n_treatments, res.n_designs) == (ref["k"], ref["m"], ref["n"], ref["d"])
    assert res.reference == ref["reference_group"]
    assert_close(res.tau2, ref["tau2"], CLOSED, "tau2")
    assert_close(res.i2 / 100, ref["I2"], CLOSED, "I2")
    assert_close(res.q, ref["Q"], CLOSED, "Q")
    assert_close(res.q_between, ref["Q_inconsistency"], CLOSED, "Q_inconsistency")
    for kind, fit in (("random", res), ("common", res.common)):
        vs = ref[f"{kind}_vs_reference"]
        eff = fit.effects().set_index("treatment").loc[vs["treatment"]]
        for ours, theirs in (("estimate", "TE"), ("se", "seTE"), ("ci_low", "lower"), ("ci_high", "upper")):
            assert_close(eff[ours].tolist(), vs[theirs], CLOSED, f"{kind}_vs_reference/{theirs}")
        lg = fit.league()
        idx = [lg.treatments.index(t) for t in ref["treatments"]]
        ix = np.ix_(idx, idx)
        league = ref[f"league_{kind}"]
        _cmp(lg.est[ix], league["TE"], f"league_{kind}/TE")
        _cmp(lg.se[ix], league["seTE"], f"league_{kind}/seTE")
        _cmp(lg.ci_low[ix], league["lower"], f"league_{kind}/lower")
        _cmp(lg.ci_high[ix], league["upper"], f"league_{kind}/upper")
    lg = res.league(pi="t")
    idx = [lg.treatments.index(t) for t in ref["treatments"]]
    _cmp(lg.pi_low[np.ix_(idx, idx)], ref["predict"]["lower"], "predict/lower", diagonal=False)
    _cmp(lg.pi_high[np.ix_(idx, idx)], ref["predict"]["upper"], "predict/upper", diagonal=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_ratings_carry_netmeta_estimates_and_prediction_intervals(name, graded):
    ref = expected(CASES[name])["netmeta"]["DL"]
    trts = ref["treatments"]
    r0 = trts.index(ref["reference_group"])
    records = graded(name).records()
    assert [(r["treatment"], r["comparator"]) for r in records] == [(t, trts[r0]) for t in trts if t != trts[r0]]
    vs = ref["random_vs_reference"]
    for r in records:
        i = vs["treatment"].index(r["treatment"])
        assert_close(r["estimate"], vs["TE"][i], CLOSED, f"{r['treatment']}/TE")
        assert_close(r["ci_low"], vs["lower"][i], CLOSED, f"{r['treatment']}/lower")
        assert_close(r["ci_high"], vs["upper"][i], CLOSED, f"{r['treatment']}/upper")
        j = trts.index(r["treatment"])
        assert_close(r["pi_low"], ref["predict"]["lower"][j][r0], CLOSED, f"{r['treatment']}/pi_low")
        assert_close(r["pi_high"], ref["predict"]["upper"][j][r0], CLOSED, f"{r['treatment']}/pi_high")


def test_smoking_is_judged_on_the_absolute_scale(graded):
    """The OR's CI is judged as quitters per 1,000 at a baseline risk of 8%."""
    ref = expected("dat.hasselblad1998")["netmeta"]["DL"]["random_vs_reference"]
    table = graded("smoking").outcomes[0].certainty
    p0 = 0.08

    def per_1000(log_or):
        odds = np.exp(log_or) * p0 / (1 - p0)
        return 1000 * (odds / (1 + odds) - p0)

    for rating in table.ratings:
        i = ref["treatment"].index(rating.treatment1)
        imp = rating.domain("imprecision").numbers
        assert imp["mid"] == 20
        assert_close(imp["ci_low"], per_1000(ref["lower"][i]), CLOSED, "ci_low per 1,000")
        assert_close(imp["ci_high"], per_1000(ref["upper"][i]), CLOSED, "ci_high per 1,000")
    # individual counselling: OR exp(0.7334) = 2.08, 73 more quitters per 1,000 (CI 25 to 138)
    ind = table.ratings[[r.treatment1 for r in table.ratings].index("ind_counseling")]
    assert ind.j_estimate == pytest.approx(73.30, abs=0.005)
    assert (ind.j_ci_low, ind.j_ci_high) == (pytest.approx(25.46, abs=0.005), pytest.approx(137.57, abs=0.005))
    assert ind.domain("imprecision").level == "no concerns"  # the whole CI beyond the MID of 20


# --- certainty -----------------------------------------------------------------

#: netgrade's ratings of the shipped specs (regression values; see the domains).
CERTAINTY = {
    # heterogeneity: tau² 0.60 on the log-OR scale, prediction intervals reaching harm
    "smoking": {"self_help": "low", "ind_counseling": "low", "grp_counseling": "low"},
    # one level down each: imprecision (CI crossing the MID) or heterogeneity (PI)
    "diabetes": {
        t: "moderate"
        for t in ("acarbose", "benfluorex", "metformin", "miglitol", "pioglitazone", "rosiglitazone", "sitagliptin",
                  "sulfonylurea", "vildagliptin")
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_rating_has_a_certainty_level(name, graded):
    g = graded(name)
    records = g.records()
    assert records and all(r["certainty"] in CERTAINTY_LEVELS for r in records)
    assert {r["treatment"]: r["certainty"] for r in records} == CERTAINTY[name]
    assert all(r["certainty"] == r["certainty_computed"] and not r["overrides"] for r in records)
    assert all(r["statement"] and r["magnitude"] for r in records)
    for rating in g.outcomes[0].certainty.ratings:
        wsb = rating.domain("within-study bias")
        assert wsb.level == "no concerns" and wsb.rule.startswith("not assessed")
        assert wsb.numbers["assessed"] is False
        assert set(wsb.numbers["studies"]) <= set(g.outcomes[0].model.data.studies)
    codes = [w.code for w in g.warnings]
    assert "risk_of_bias_not_assessed" in codes and "indirectness_not_given" in codes


def test_statements_use_the_treatment_labels(graded):
    smoking = {r["treatment"]: r["statement"] for r in graded("smoking").records()}
    assert smoking["ind_counseling"] == (
        "Individual counselling may result in an increase in smoking cessation compared with no contact."
    )
    diabetes = {r["treatment"]: r for r in graded("diabetes").records()}
    assert diabetes["metformin"]["statement"] == "Metformin probably results in a reduction in HbA1c compared with placebo."
    # sulfonylurea: -0.42 points, within the MID of 0.5
    assert diabetes["sulfonylurea"]["estimate"] == pytest.approx(-0.41654, abs=5e-6)
    assert diabetes["sulfonylurea"]["magnitude"] == "little to no effect"
    assert diabetes["sulfonylurea"]["statement"] == (
        "Sulfonylurea probably results in little to no difference in HbA1c compared with placebo."
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_run_writes_results_json(name, tmp_path):
    ex = example(name)
    files = pipeline.run(ex.spec_path, tmp_path / "out")
    out = tmp_path / "out" / "results.json"
    assert out in files
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["simulated"] is False and doc["recommendations"] is None
    assert doc["provenance"]["inputs"][ex.path.name] == hashlib.sha256(ex.path.read_bytes()).hexdigest()
    ref = expected(CASES[name])["netmeta"]["DL"]
    (outcome,) = doc["outcomes"]
    assert len(outcome["ratings"]) == ref["n"] - 1
    assert {r["treatment"]: r["certainty"] for r in outcome["ratings"]} == CERTAINTY[name]
    vs = ref["random_vs_reference"]
    for r in outcome["ratings"]:
        assert_close(r["estimate"], vs["TE"][vs["treatment"].index(r["treatment"])], CLOSED, "results.json estimate")
    assert "risk_of_bias_not_assessed" in [w["code"] for w in doc["warnings"]]


# --- declaring within-study bias "not assessed" ---------------------------------


def _spec(tmp_path, extra_certainty="", rob=False):
    ex = example("diabetes")
    text = f"""
[project]
title = "t"
[data]
arms = "{ex.path.as_posix()}"
columns = {{ mean = "mi", sd = "sdi", n = "ni" }}
{'risk_of_bias = "rob.csv"' if rob else ''}
[[outcomes]]
name = "hba1c"
measure = "MD"
direction = "smaller_is_better"
mid = 0.5
[model]
method = "DL"
reference = "placebo"
[certainty]
{extra_certainty}
"""
    if rob:
        studies = ex.frame()["study"].unique()
        pd.DataFrame({"study": studies, "overall": "low"}).to_csv(tmp_path / "rob.csv", index=False)
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_risk_of_bias_table_the_spec_must_declare_it(tmp_path):
    with pytest.raises(SpecError, match="within_study_bias = \"not assessed\""):
        pipeline.grade(_spec(tmp_path))


def test_a_table_and_the_declaration_together_are_refused(tmp_path):
    with pytest.raises(SpecError, match="use the table or declare the domain not assessed, not both"):
        load_spec(_spec(tmp_path, 'within_study_bias = "not assessed"', rob=True))


def test_not_assessed_rates_like_no_concerns_but_says_so(tmp_path):
    declared = pipeline.grade(_spec(tmp_path, 'within_study_bias = "not assessed"'))
    (tmp_path / "b").mkdir()
    all_low = pipeline.grade(_spec(tmp_path / "b", rob=True))
    for a, b in zip(declared.records(), all_low.records()):
        assert a["certainty"] == b["certainty"] and a["domains"] == b["domains"]
    a = declared.outcomes[0].certainty.ratings[0].domain("within-study bias")
    b = all_low.outcomes[0].certainty.ratings[0].domain("within-study bias")
    assert a.rule.startswith("not assessed") and not b.rule.startswith("not assessed")
    assert "risk_of_bias_not_assessed" in [w.code for w in declared.warnings]
    assert "risk_of_bias_not_assessed" not in [w.code for w in all_low.warnings]


def test_rate_network_refuses_a_partial_declaration():
    res = nma(network("dat.senn2013"), reference="placebo", method="DL", larger_better=False)
    out = Outcome("hba1c", "MD", False, Thresholds(0.5))
    rob = {s: "not assessed" for s in res.data.studies}
    table = rate_network(res, outcome=out, rob=rob)
    assert [w.code for w in table.warnings] == ["risk_of_bias_not_assessed", "indirectness_not_given"]
    rob[res.data.studies[0]] = "low"
    with pytest.raises(SpecError, match="cannot be mixed with study judgements"):
        rate_network(res, outcome=out, rob=rob)
    rob = {s: "not assessed" for s in res.data.studies[1:]}
    with pytest.raises(DataError, match="no judgement for 1 study"):
        rate_network(res, outcome=out, rob=rob)
