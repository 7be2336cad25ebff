"""Extraction audit: comparison of two extractions, reconciliation, plausibility checks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netgrade.datasets
from netgrade.data import (
    Choice,
    ExtractionComparison,
    PlausibilityReport,
    Reconciliation,
    Thresholds,
    Tolerance,
    compare_extractions,
    grim_consistent,
    plausibility_checks,
    reconcile,
    write_reconciled,
)
from netgrade.data.audit import max_sd
from netgrade.data.readers import read_arms
from netgrade.errors import DataError

DATASETS = Path(netgrade.datasets.__file__).parent
HEADER = ("study", "treatment", "n", "mean", "sd", "scale_min", "scale_max")

# A clean arm-level extraction on a 0-10 integer-scored scale: every mean is attainable
# for its n (GRIM), every SD possible, SDs alike within a study; spreadsheet rows 2-14.
CLEAN = [
    ("S01", "drug", "20", "4.35", "2.10"),        # row 2
    ("S01", "placebo", "20", "5.10", "2.30"),     # row 3
    ("S02", "drug", "25", "3.84", "2.00"),        # row 4
    ("S02", "placebo", "24", "4.75", "2.20"),     # row 5
    ("S03", "drug", "30", "4.20", "2.40"),        # row 6
    ("S03", "placebo", "30", "5.00", "2.50"),     # row 7
    ("S03", "usual_care", "28", "5.50", "2.60"),  # row 8
    ("S04", "drug", "40", "3.90", "1.90"),        # row 9
    ("S04", "placebo", "40", "4.60", "2.10"),     # row 10
    ("S05", "drug", "16", "4.25", "2.20"),        # row 11
    ("S05", "placebo", "16", "5.00", "2.40"),     # row 12
    ("S06", "drug", "50", "3.70", "2.00"),        # row 13
    ("S06", "placebo", "50", "4.66", "2.30"),     # row 14
]
TOTALS = {"S01": 40, "S02": 49, "S03": 88, "S04": 80, "S05": 32, "S06": 100}


def write_csv(path: Path, rows, header=HEADER, scale=("0", "10")) -> Path:
    lines = [",".join(header)]
    for r in rows:
        lines.append(",".join(list(r) + (list(scale) if len(r) < len(header) else [])))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_studies(path: Path, totals: dict) -> Path:
    lines = ["study,n_total,region"] + [f"{s},{t},lumbar" for s, t in totals.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# compare_extractions
# ---------------------------------------------------------------------------

# Extraction b: studies in the reverse order, with six planted discrepancies.
B_ROWS = [
    ("S06", "drug", "50", "3.70", "2.00"),        # row 2
    ("S06", "placebo", "50", "4.66", "2.30"),     # row 3
    ("S05", "drug", "16", "4.25", "2.20"),        # row 4
    ("S05", "placebo", "16", "5.00", "2.40"),     # row 5
    ("S05", "usual_care", "15", "5.40", "2.50"),  # row 6   extra arm
    ("S04", "drug", "40", "3.90", "0.30"),        # row 7   SE (1.90/sqrt(40)) taken for the SD
    ("S04", "placebo", "40", "4.60", "2.10"),     # row 8
    ("S03", "drug", "30", "4.20", "2.40"),        # row 9
    ("S03", "placebo", "35", "5.00", "2.50"),     # row 10  n changed (30 -> 35)
    #                                                        S03 usual_care missing
    ("S02", "drug", "25", "3.48", "2.00"),        # row 11  mean changed (3.84 -> 3.48)
    ("S02", "placebo", "24", "4.75", "2.20"),     # row 12
    ("S01", "drug", "20", "4.35", "2.10"),        # row 13
    ("S01", "plaecbo", "20", "5.10", "2.30"),     # row 14  typo in a treatment name
]

PLANTED = [
    # (id, kind, study, treatment, column, value_a, value_b, row_a, row_b)
    ("S01 | placebo | treatment", "label", "S01", "placebo", "treatment", "placebo", "plaecbo", 3, 14),
    ("S02 | drug | mean", "value", "S02", "drug", "mean", 3.84, 3.48, 4, 11),
    ("S03 | placebo | n", "value", "S03", "placebo", "n", 30.0, 35.0, 7, 10),
    ("S03 | usual_care", "only_in_a", "S03", "usual_care", None, None, None, 8, None),
    ("S04 | drug | sd", "value", "S04", "drug", "sd", 1.9, 0.3, 9, 7),
    ("S05 | usual_care", "only_in_b", "S05", "usual_care", None, None, None, None, 6),
]


@pytest.fixture
def pair(tmp_path):
    a = write_csv(tmp_path / "extraction_a.csv", CLEAN)
    b = write_csv(tmp_path / "extraction_b.csv", B_ROWS)
    return a, b


def test_comparison_finds_every_planted_discrepancy_and_nothing_else(pair):
    a, b = pair
    cmp = compare_extractions(a, b)
    assert isinstance(cmp, ExtractionComparison)
    assert cmp.key == ("study", "treatment")
    assert cmp.file_a == "extraction_a.csv" and cmp.file_b == "extraction_b.csv"
    assert (cmp.rows_a, cmp.rows_b, cmp.matched) == (13, 13, 12)
    assert cmp.columns == ("n", "mean", "sd", "scale_min", "scale_max")
    found = [
        (d.id, d.kind, d.study, d.key[1], d.column, d.value_a, d.value_b, d.row_a, d.row_b)
        for d in cmp.discrepancies
    ]
    assert found == PLANTED
    assert cmp.counts == {"only_in_a": 1, "only_in_b": 1, "duplicate_in_a": 0, "duplicate_in_b": 0,
                          "label": 1, "value": 3}
    assert cmp.studies == ("S01", "S02", "S03", "S04", "S05")
    assert [d.id for d in cmp.by_study["S03"]] == ["S03 | placebo | n", "S03 | usual_care"]
    assert {c: len(v) for c, v in cmp.by_field.items()} == {"treatment": 1, "mean": 1, "n": 1, "(row)": 2, "sd": 1}
    assert cmp.get("S02 | drug | mean").difference == pytest.approx(-0.36, abs=1e-12)
    assert cmp.get("S03 | placebo | n").difference == 5.0
    assert not cmp.identical


def test_comparison_outputs(pair):
    cmp = compare_extractions(*pair)
    frame = cmp.to_frame()
    assert list(frame.columns) == ["id", "kind", "study", "treatment", "column", "value_a", "value_b",
                                   "difference", "row_a", "row_b", "message"]
    assert frame["id"].tolist() == [p[0] for p in PLANTED]
    assert frame["row_a"].tolist()[:3] == [3, 4, 7]
    assert pd.isna(frame.loc[5, "row_a"]) and frame.loc[5, "row_b"] == 6
    text = cmp.summary()
    assert "6 discrepancies in 5 studies (only_in_a 1, only_in_b 1, label 1, value 3)" in text
    assert "mean: a has 3.84, b has 3.48 (difference -0.36, compared exactly)" in text
    assert "treatment is 'placebo' in a but 'plaecbo' in b" in text
    data = json.loads(cmp.to_json())
    assert data["counts"]["value"] == 3 and len(data["discrepancies"]) == 6
    assert data["discrepancies"][1]["value_b"] == 3.48
    assert "<pre>" in cmp._repr_html_()


def test_identical_extractions_have_no_discrepancies(tmp_path):
    a = write_csv(tmp_path / "a.csv", CLEAN)
    # the same numbers written differently, in another order, with the columns renamed
    rows = [(s, t, n, f"{float(m):g}", f"{float(sd):g}") for s, t, n, m, sd in reversed(CLEAN)]
    b = write_csv(tmp_path / "b.csv", rows, header=("Trial", "arm", "sample_size", "Mean", "SD", "scale_min", "scale_max"))
    cmp = compare_extractions(a, b)
    assert cmp.identical and cmp.matched == 13
    assert cmp.columns == ("n", "mean", "sd", "scale_min", "scale_max")
    assert "No discrepancies" in cmp.summary()


def test_tolerances(pair):
    a, b = pair
    loose = compare_extractions(a, b, tolerances={"mean": 0.4})
    assert "S02 | drug | mean" not in loose.ids and len(loose.discrepancies) == 5
    assert loose.tolerances["mean"] == Tolerance(0.4, 0.0)
    relative = compare_extractions(a, b, tolerances={"mean": {"rel": 0.05}})
    assert "S02 | drug | mean" in relative.ids  # 0.36 > 5% of 3.84
    relative = compare_extractions(a, b, tolerances={"mean": (0, 0.1)})
    assert "S02 | drug | mean" not in relative.ids
    # '*' loosens every real-valued column but not the sample sizes
    star = compare_extractions(a, b, tolerances={"*": 5})
    assert [d.id for d in star.discrepancies if d.kind == "value"] == ["S03 | placebo | n"]
    assert star.tolerances["n"].exact
    # naming n explicitly does loosen it
    assert "S03 | placebo | n" not in compare_extractions(a, b, tolerances={"n": 5}).ids
    with pytest.raises(ValueError, match="'means'"):
        compare_extractions(a, b, tolerances={"means": 0.1})
    with pytest.raises(ValueError, match="tolerance"):
        compare_extractions(a, b, tolerances={"mean": "loose"})


def test_fields_and_ignore(pair):
    a, b = pair
    only_mean = compare_extractions(a, b, fields=["mean"])
    assert only_mean.columns == ("mean",)
    assert [d.kind for d in only_mean.discrepancies] == ["label", "value", "only_in_a", "only_in_b"]
    no_sd = compare_extractions(a, b, ignore=["sd"])
    assert "S04 | drug | sd" not in no_sd.ids and len(no_sd.discrepancies) == 5


def test_label_pairing_off_reports_missing_and_extra_arm(pair):
    cmp = compare_extractions(*pair, match_labels=False)
    kinds = {(d.id, d.kind) for d in cmp.discrepancies}
    assert ("S01 | placebo", "only_in_a") in kinds and ("S01 | plaecbo", "only_in_b") in kinds
    assert len(cmp.discrepancies) == 7


def test_text_cells_empty_cells_and_study_hints(tmp_path):
    a = write_csv(tmp_path / "a.csv", [("Smith 2010", "drug", "20", "4.35", "2.10"),
                                       ("Smith 2010", "placebo", "20", "5.10", "2.30"),
                                       ("Jones 2012", "drug", "30", "4.20", "2.40"),
                                       ("Jones 2012", "placebo", "30", "5.00", "2.50")])
    b = write_csv(tmp_path / "b.csv", [("Smith 2010", "drug", "20", "4.35", ""),
                                       ("Smith 2010", "placebo", "20", "5.1O", "2.30"),
                                       ("Jones 2013", "drug", "30", "4.20", "2.40"),
                                       ("Jones 2013", "placebo", "30", "5.00", "2.50")])
    cmp = compare_extractions(a, b)
    d = cmp.get("Smith 2010 | drug | sd")
    assert (d.value_a, d.value_b) == (2.1, None) and "empty in b" in d.message
    d = cmp.get("Smith 2010 | placebo | mean")
    assert (d.value_a, d.value_b) == (5.1, "5.1O") and "compared as text" in d.message
    only_a = [d for d in cmp.discrepancies if d.kind == "only_in_a"]
    assert [d.id for d in only_a] == ["Jones 2012 | drug", "Jones 2012 | placebo"]
    assert "b has a similar study label 'Jones 2013'" in only_a[0].message
    assert cmp.counts["only_in_b"] == 2


def test_duplicated_key_in_one_file(tmp_path):
    a = write_csv(tmp_path / "a.csv", CLEAN[:4])
    b = write_csv(tmp_path / "b.csv", CLEAN[:4] + [("S02", "drug", "25", "3.84", "2.00")])
    cmp = compare_extractions(a, b)
    (d,) = cmp.discrepancies
    assert (d.kind, d.id, d.row_b) == ("duplicate_in_b", "S02 | drug | duplicate in b, row 6", 6)


def test_contrast_level_comparison(tmp_path):
    header = ("study", "treatment1", "treatment2", "estimate", "ci_low", "ci_high", "se")
    a = write_csv(tmp_path / "a.csv", [
        ("C1", "drug", "placebo", "-0.50", "-0.90", "-0.10", "0.204"),
        ("C2", "drug", "placebo", "-0.30", "-0.70", "0.10", "0.204"),
        ("C3", "drug", "usual_care", "0.20", "-0.20", "0.60", "0.204"),
    ], header=header)
    b = write_csv(tmp_path / "b.csv", [
        ("C1", "placebo", "drug", "0.50", "0.10", "0.90", "0.204"),         # reversed, same numbers
        ("C2", "drug", "placebo", "-0.35", "-0.75", "0.05", "0.204"),      # changed
        ("C3", "usual_care", "drug", "-0.25", "-0.60", "0.20", "0.204"),   # reversed, estimate changed
        ("C4", "drug", "placebo", "-0.10", "-0.50", "0.30", "0.204"),      # only in b
    ], header=header)
    cmp = compare_extractions(a, b)
    assert cmp.key == ("study", "treatment1", "treatment2")
    assert cmp.reversed == ("C1 | drug | placebo", "C3 | drug | usual_care")
    found = [(d.id, d.kind, d.value_a, d.value_b, d.row_a, d.row_b) for d in cmp.discrepancies]
    assert found == [
        ("C2 | drug | placebo | estimate", "value", -0.3, -0.35, 3, 3),
        ("C2 | drug | placebo | ci_low", "value", -0.7, -0.75, 3, 3),
        ("C2 | drug | placebo | ci_high", "value", 0.1, 0.05, 3, 3),
        ("C3 | drug | usual_care | estimate", "value", 0.2, 0.25, 4, 4),
        ("C4 | drug | placebo", "only_in_b", None, None, None, 5),
    ]
    assert "reversed to a's orientation" in cmp.get("C3 | drug | usual_care | estimate").message
    # ratios on the natural scale reverse as 1/x
    ra = write_csv(tmp_path / "ra.csv", [("R1", "drug", "placebo", "2.00", "1.25", "3.20", "0.24")], header=header)
    rb = write_csv(tmp_path / "rb.csv", [("R1", "placebo", "drug", "0.50", "0.3125", "0.80", "0.24")], header=header)
    assert compare_extractions(ra, rb, contrast_scale="ratio").identical
    assert len(compare_extractions(ra, rb).discrepancies) == 3


def test_key_errors(pair):
    a, b = pair
    with pytest.raises(DataError, match="no column for the key 'visit'"):
        compare_extractions(a, b, key=("study", "visit"))


# ---------------------------------------------------------------------------
# reconcile / write_reconciled
# ---------------------------------------------------------------------------

CHOICES = {
    "S01 | placebo | treatment": ("a", "b misspelt the label; the paper says placebo"),
    "S02 | drug | mean": ("a", "Table 2 reports 3.84"),
    "S03 | placebo | n": (32, "CONSORT flow diagram: 32 analysed"),
    "S03 | usual_care": ("a", "three-arm trial; b missed the third arm"),
    "S04 | drug | sd": ("a", "b copied the SE (0.30 = 1.90/sqrt(40))"),
    "S05 | usual_care": {"choice": "b", "reason": "a missed the usual-care arm"},
}


def test_reconcile_applies_every_choice(pair, tmp_path):
    a, b = pair
    rec = reconcile(a, b, CHOICES)
    assert isinstance(rec, Reconciliation)
    table = rec.to_frame()
    assert list(table.columns) == list(HEADER)
    assert len(table) == 14
    assert table["study"].tolist() == ["S01"] * 2 + ["S02"] * 2 + ["S03"] * 3 + ["S04"] * 2 + ["S05"] * 3 + ["S06"] * 2
    assert table["treatment"].tolist()[:2] == ["drug", "placebo"]
    assert table.loc[2, "mean"] == "3.84"  # S02 drug, as written in a
    assert table.loc[5, "n"] == 32  # S03 placebo: the value chosen
    assert table.loc[7, "sd"] == "1.90"  # S04 drug
    assert table.loc[11].tolist() == ["S05", "usual_care", "15", "5.40", "2.50", "0", "10"]
    taken = {d.id: (d.take, d.value, d.by) for d in rec.decisions}
    assert taken["S03 | placebo | n"] == ("value", 32, "id")
    assert taken["S05 | usual_care"] == ("b", "kept", "id")
    assert taken["S04 | drug | sd"] == ("a", "1.90", "id")
    assert "6 decisions (a 4, b 1, other value 1)" in rec.summary()

    out, log = write_reconciled(rec, tmp_path / "reconciled.csv")
    assert log == tmp_path / "reconciled_decisions.csv"
    arms = read_arms(out)
    assert len(arms.frame) == 14 and arms.studies == ("S01", "S02", "S03", "S04", "S05", "S06")
    s03 = arms.frame[arms.frame.study == "S03"].set_index("treatment")
    assert s03.loc["placebo", "n"] == 32.0 and s03.loc["usual_care", "mean"] == 5.5
    assert arms.frame.loc[arms.frame.study.eq("S04") & arms.frame.treatment.eq("drug"), "sd"].item() == 1.9
    decisions = pd.read_csv(log)
    assert decisions["reason"].tolist()[0] == "b misspelt the label; the paper says placebo"
    # the reconciled file agrees with a except for the decided changes
    again = compare_extractions(a, out)
    assert [(d.id, d.value_b) for d in again.discrepancies] == [("S03 | placebo | n", 32.0), ("S05 | usual_care", None)]


def test_reconcile_taking_b_and_study_level_choices(pair):
    a, b = pair
    choices = dict(CHOICES)
    del choices["S04 | drug | sd"]
    choices["S04"] = Choice("b", "trust the second extractor for this trial")
    choices["S01 | placebo | treatment"] = ("b", "test: take b's label")
    choices["S03 | usual_care"] = ("b", "test: drop the arm b lacks")
    rec = reconcile(a, b, choices)
    table = rec.table
    assert "plaecbo" in table["treatment"].tolist()
    assert table.loc[table.study.eq("S04") & table.treatment.eq("drug"), "sd"].item() == "0.30"
    assert len(table) == 13 and "usual_care" not in table.loc[table.study.eq("S03"), "treatment"].tolist()
    assert {d.id: d.by for d in rec.decisions}["S04 | drug | sd"] == "study"


def test_reconcile_refuses_unresolved_and_bad_choices(pair):
    a, b = pair
    partial = {k: v for k, v in CHOICES.items() if k not in ("S02 | drug | mean", "S05 | usual_care")}
    with pytest.raises(DataError) as info:
        reconcile(a, b, partial)
    problems = [str(i) for i in info.value.issues]
    assert len(problems) == 2
    assert "unresolved value discrepancy 'S02 | drug | mean'" in problems[0] and "row 4" in problems[0]
    assert "unresolved only_in_b discrepancy 'S05 | usual_care'" in problems[1]
    with pytest.raises(ValueError, match="has no reason"):
        reconcile(a, b, {**CHOICES, "S02 | drug | mean": "a"})
    with pytest.raises(ValueError, match="needs a reason"):
        reconcile(a, b, {**CHOICES, "S02 | drug | mean": ("a", "  ")})
    with pytest.raises(DataError, match="matches no discrepancy"):
        reconcile(a, b, {**CHOICES, "S02 | drug | means": ("a", "typo")})
    with pytest.raises(DataError, match="choose 'a' or 'b'"):
        reconcile(a, b, {**CHOICES, "S03 | usual_care": (3, "not a row choice")})
    with pytest.raises(TypeError):
        reconcile(compare_extractions(a, b), b, CHOICES)
    # the comparison's own method gives the same table
    cmp = compare_extractions(a, b)
    assert cmp.reconcile(CHOICES).table.equals(reconcile(a, b, CHOICES).table)


# ---------------------------------------------------------------------------
# Row order does not change the comparison (hypothesis)
# ---------------------------------------------------------------------------


@st.composite
def extraction_pairs(draw):
    k = draw(st.integers(2, 5))
    rows = []
    for s in range(k):
        arms = draw(st.integers(2, 3))
        for t in ["drug", "placebo", "usual_care"][:arms]:
            rows.append({
                "study": f"T{s:02d}", "treatment": t,
                "n": draw(st.integers(5, 200)),
                "mean": draw(st.integers(0, 1000)) / 100,
                "sd": draw(st.integers(10, 400)) / 100,
            })
    a = pd.DataFrame(rows)
    b = a.copy()
    for i in draw(st.sets(st.integers(0, len(b) - 1), max_size=3)):
        column = draw(st.sampled_from(["n", "mean", "sd"]))
        b.loc[i, column] = b.loc[i, column] + draw(st.integers(1, 9))
    dropped = draw(st.sets(st.integers(0, len(b) - 1), max_size=2))
    b = b.drop(index=sorted(dropped))
    if draw(st.booleans()):
        b = pd.concat([b, pd.DataFrame([{"study": "T00", "treatment": "sham", "n": 10, "mean": 5.0, "sd": 2.0}])])
    if draw(st.booleans()) and len(b):
        b.iloc[0, b.columns.get_loc("treatment")] = b.iloc[0]["treatment"].upper()
    a = a.assign(source_file="a.csv", source_row=np.arange(2, len(a) + 2))
    b = b.reset_index(drop=True).assign(source_file="b.csv", source_row=np.arange(2, len(b) + 2))
    order_a = draw(st.permutations(range(len(a))))
    order_b = draw(st.permutations(range(len(b))))
    return a, b, a.iloc[list(order_a)], b.iloc[list(order_b)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extraction_pairs())
def test_row_order_does_not_change_the_comparison(data):
    a, b, a_shuffled, b_shuffled = data
    first = compare_extractions(a, b)
    second = compare_extractions(a_shuffled, b_shuffled)
    pd.testing.assert_frame_equal(first.to_frame(), second.to_frame())
    assert first.counts == second.counts and first.matched == second.matched
    assert first.to_json() == second.to_json()


# ---------------------------------------------------------------------------
# plausibility_checks
# ---------------------------------------------------------------------------


def test_shipped_spine_data_raise_no_flags():
    report = plausibility_checks(DATASETS / "spine_arms.csv", studies=DATASETS / "spine_studies.csv")
    assert isinstance(report, PlausibilityReport)
    assert report.ok and report.flags == () and report.rows == 169
    assert report.checks == ("numbers", "sample_size", "scale_range", "sd_se_swap", "duplicates", "arm_sizes_total")
    assert dict(report.skipped) == {"grim": "the scale was not declared integer-scored; pass integer_scored="}
    assert "No flags." in report.summary()
    # the as-reported file, half of it on a 0-100 mm scale, is clean too
    reported = plausibility_checks(DATASETS / "spine_arms_reported.csv", studies=DATASETS / "spine_studies.csv")
    assert reported.ok


def test_every_sd_of_the_spine_data_replaced_by_its_se_is_flagged():
    arms = pd.read_csv(DATASETS / "spine_arms.csv")
    missed = []
    for i in range(0, len(arms), 7):
        planted = arms.copy()
        planted.loc[i, "sd"] = round(planted.loc[i, "sd"] / math.sqrt(planted.loc[i, "n"]), 2)
        flags = plausibility_checks(planted).flags
        if [(f.code, f.row) for f in flags] != [("sd_looks_like_se", i + 1)]:
            missed.append((i, flags))
    assert missed == []


def test_clean_hand_made_data_raise_no_flags(tmp_path):
    arms = write_csv(tmp_path / "clean.csv", CLEAN)
    studies = write_studies(tmp_path / "studies.csv", TOTALS)
    report = plausibility_checks(arms, studies=studies, integer_scored=True)
    assert report.ok, report.summary()
    assert "grim" in report.checks and "arm_sizes_total" in report.checks
    assert report.to_frame().empty


@pytest.fixture
def planted(tmp_path):
    rows = [list(r) for r in CLEAN]
    rows[3][3] = "12.25"   # row 5, S02 placebo: mean above the 0-10 scale
    rows[7][4] = "0.30"    # row 9, S04 drug: the SE (1.90/sqrt(40)) in the SD column
    rows[9][4] = "6.10"    # row 11, S05 drug: SD larger than possible at mean 4.25 on 0-10
    rows[12][3] = "4.67"   # row 14, S06 placebo: 4.67 x 50 = 233.5, not an integer sum
    rows += [
        ["S07", "active", "20", "4.35", "2.10"],   # rows 15-16: S01's arms again
        ["S07", "sham", "20", "5.10", "2.30"],
        ["S08", "drug", "22", "4.50", "2.00"],     # rows 17-20: S08 entered twice
        ["S08", "placebo", "22", "5.00", "2.10"],
        ["S08", "drug", "22", "4.50", "2.00"],
        ["S08", "placebo", "22", "5.00", "2.10"],
    ]
    totals = dict(TOTALS, S03=90, S07=40, S08=44)  # S03: the arms add up to 88
    arms = write_csv(tmp_path / "planted.csv", [tuple(r) for r in rows])
    studies = write_studies(tmp_path / "studies.csv", totals)
    return plausibility_checks(arms, studies=studies, integer_scored=True)


def test_planted_problems_are_each_flagged(planted):
    found = sorted((f.code, f.study, f.column, f.rows, f.severity) for f in planted.flags)
    assert found == sorted([
        ("mean_outside_scale", "S02", "mean", (5,), "error"),
        ("sd_looks_like_se", "S04", "sd", (9,), "warning"),
        ("sd_exceeds_maximum", "S05", "sd", (11,), "error"),
        ("grim_inconsistent", "S06", "mean", (14,), "error"),
        ("arm_sizes_total", "S03", "n", (6, 7, 8), "warning"),
        ("duplicate_trial", "S01", "study", (2, 3, 15, 16), "warning"),
        ("duplicate_study_id", "S08", "study", (17, 18, 19, 20), "error"),
        ("arm_sizes_total", "S08", "n", (17, 18, 19, 20), "warning"),
    ])
    flagged_rows = {r for f in planted.flags for r in f.rows}
    assert flagged_rows.isdisjoint({4, 10, 12, 13})  # the untouched arms of touched studies
    assert {f.study for f in planted.flags} == {"S01", "S02", "S03", "S04", "S05", "S06", "S08"}
    assert {f.file for f in planted.flags} == {"planted.csv"}


def test_planted_flags_carry_the_numbers(planted):
    by_code = {f.code: f for f in planted.flags}
    se = by_code["sd_looks_like_se"]
    assert se.treatment == "drug"
    assert se.values["sd"] == 0.3 and se.values["n"] == 40 and se.values["sibling_sd"] == 2.1
    assert se.values["sd_times_sqrt_n"] == pytest.approx(0.3 * math.sqrt(40))
    assert se.values["max_sd"] == pytest.approx(math.sqrt(3.9 * 6.1))
    assert "6.9 times smaller than the SD of the study's other arm (2.1) (compared as fractions" in se.reason and "If it is an SE, the SD is 1.9" in se.reason
    big = by_code["sd_exceeds_maximum"]
    assert big.values["max_sd"] == pytest.approx(math.sqrt(16 / 15 * 4.255 * 5.745))
    assert "larger than any SD possible on [0, 10] at mean 4.25" in big.reason
    grim = by_code["grim_inconsistent"]
    assert grim.values == {"mean": 4.67, "n": 50.0, "items": 1, "decimals": 2}
    assert "multiples of 1/50" in grim.reason
    sizes = [f for f in planted.flags if f.code == "arm_sizes_total" and f.study == "S03"][0]
    assert sizes.values == {"sum_of_arms": 88.0, "n_total": 90.0, "studies_row": 4}
    assert "fewer" in sizes.reason
    dup = by_code["duplicate_trial"]
    assert dup.values == {"study": "S01", "other_study": "S07", "identical": True}
    frame = planted.to_frame()
    assert len(frame) == 8 and set(frame.severity) == {"error", "warning"}
    assert len(planted.errors) == 4
    assert planted.codes["arm_sizes_total"] == 2
    assert json.loads(planted.to_json())["counts"]["grim_inconsistent"] == 1
    assert "8 flags (4 errors, 4 warnings)" in planted.summary()
    assert str(by_code["mean_outside_scale"].to_issue()).startswith("planted.csv, row 5, study 'S02', column 'mean'")


def test_sd_se_swap_needs_no_scale_when_siblings_show_it(tmp_path):
    rows = [r[:5] for r in CLEAN]
    rows[7] = ("S04", "drug", "40", "3.90", "0.30")
    frame = pd.DataFrame(rows, columns=HEADER[:5])
    report = plausibility_checks(frame)
    assert [(f.code, f.study, f.row) for f in report.flags] == [("sd_looks_like_se", "S04", 8)]
    assert "max_sd" not in report.flags[0].values  # the sibling signal alone
    assert report.skipped["scale_range"].startswith("no scale_min/scale_max")


def test_sd_se_swap_of_a_whole_study_caught_by_the_scale(tmp_path):
    rows = [r[:5] for r in CLEAN]
    rows[7] = ("S04", "drug", "40", "3.90", "0.30")
    rows[8] = ("S04", "placebo", "40", "4.60", "0.33")
    report = plausibility_checks(pd.DataFrame(rows, columns=HEADER[:5]), scale=(0, 10))
    assert [(f.code, f.row) for f in report.flags] == [("sd_looks_like_se", 8), ("sd_looks_like_se", 9)]
    assert all("sibling_sd" not in f.values for f in report.flags)


def test_small_sd_at_the_floor_of_the_scale_is_not_an_se():
    # everyone nearly pain-free in the drug arm: the SD is small because the mean is at the floor
    frame = pd.DataFrame([("F1", "drug", 40, 0.20, 0.45, 0, 10), ("F1", "placebo", 40, 4.0, 2.2, 0, 10)],
                         columns=HEADER)
    assert plausibility_checks(frame).ok
    # without the scale range the same arm looks like an SE (documented limitation)
    assert [f.code for f in plausibility_checks(frame.drop(columns=["scale_min", "scale_max"])).flags] == [
        "sd_looks_like_se"]


def test_sample_size_and_event_checks():
    frame = pd.DataFrame({
        "study": ["A", "A", "B", "B"], "treatment": ["x", "y", "x", "y"],
        "n": [12.5, 20, 0, 30], "events": [3, 25, 0, 4],
    })
    report = plausibility_checks(frame)
    assert sorted((f.code, f.row, f.severity) for f in report.flags) == [
        ("events_impossible", 2, "error"),
        ("n_not_integer", 1, "warning"),
        ("n_not_positive", 3, "error"),
    ]


def test_unreadable_cells_are_flagged_not_raised():
    frame = pd.DataFrame({"study": ["A", "A"], "treatment": ["x", "y"], "n": ["20", "2O"],
                          "mean": ["4.1", "5.0"], "sd": ["2.0", "2.1"]})
    (flag,) = plausibility_checks(frame).flags
    assert (flag.code, flag.row, flag.column, flag.values["n"]) == ("not_a_number", 2, "n", "2O")


def test_arm_table_input_keeps_file_and_rows(tmp_path):
    rows = [list(r) for r in CLEAN]
    rows[3][3] = "12.25"
    arms = read_arms(write_csv(tmp_path / "arms.csv", [tuple(r) for r in rows]))
    report = plausibility_checks(arms)
    assert [(f.code, f.file, f.row) for f in report.flags] == [("mean_outside_scale", "arms.csv", 5)]


def test_scale_argument_overrides_columns(tmp_path):
    frame = pd.DataFrame([r[:5] for r in CLEAN], columns=HEADER[:5])
    assert plausibility_checks(frame, scale=(0, 10)).ok
    flags = plausibility_checks(frame, scale=(0, 5)).flags
    outside = [f.row for f in flags if f.code == "mean_outside_scale"]
    assert outside == [2, 7]  # 5.10 and 5.50 lie above 5
    # on 0-5, SDs above 2.5 or so are impossible: every other arm's SD is now too large
    assert {f.code for f in flags} == {"mean_outside_scale", "sd_exceeds_maximum"}


def test_wrong_scale_confidence_intervals(tmp_path):
    header = ("study", "treatment1", "treatment2", "measure", "estimate", "ci_low", "ci_high")
    path = write_csv(tmp_path / "contrasts.csv", [
        ("K1", "drug", "placebo", "OR", "2.00", "1.25", "3.20"),     # row 2: symmetric on the log scale
        ("K2", "drug", "placebo", "OR", "2.00", "0.50", "3.50"),     # row 3: symmetric on the natural scale
        ("K3", "drug", "placebo", "MD", "-0.80", "-1.50", "-0.10"),  # row 4: symmetric
        ("K4", "drug", "placebo", "MD", "1.00", "0.25", "4.00"),     # row 5: log-symmetric 'difference'
        ("K5", "drug", "placebo", "RR", "0.95", "0.90", "1.00"),     # row 6: too narrow to tell
        ("K6", "drug", "placebo", "logOR", "0.69", "0.22", "1.16"),  # row 7: a log ratio, symmetric
        ("K7", "drug", "placebo", "HR", "0.70", "0.80", "1.10"),     # row 8: estimate outside its CI
    ], header=header)
    report = plausibility_checks(path)
    assert report.checks == ("numbers", "confidence_intervals", "duplicates")
    found = [(f.code, f.study, f.row, f.column, f.treatment) for f in report.flags]
    assert found == [
        ("ci_wrong_scale", "K2", 3, "ci_low", "drug vs placebo"),
        ("ci_wrong_scale", "K4", 5, "ci_low", "drug vs placebo"),
        ("estimate_outside_ci", "K7", 8, "estimate", "drug vs placebo"),
    ]
    k2 = report.flags[0]
    assert "symmetric on the natural scale" in k2.reason
    assert k2.values["midpoint_offset_claimed"] == pytest.approx(
        abs(math.log(2) - (math.log(0.5) + math.log(3.5)) / 2) / ((math.log(3.5) - math.log(0.5)) / 2))
    assert k2.values["midpoint_offset_other"] == 0.0
    assert "a ratio (OR, RR, HR) entered as a difference" in report.flags[1].reason
    # measure= for the whole table: K1 read as a difference is log-symmetric, hence flagged
    as_md = plausibility_checks(path, measure="MD")
    assert [(f.code, f.study) for f in as_md.flags] == [
        ("ci_wrong_scale", "K1"), ("ci_wrong_scale", "K4"), ("estimate_outside_ci", "K7")]


def test_intervals_without_a_measure_are_skipped_not_guessed(tmp_path):
    frame = pd.DataFrame({"study": ["K2"], "treatment1": ["a"], "treatment2": ["b"],
                          "estimate": [2.0], "ci_low": [0.5], "ci_high": [3.5]})
    report = plausibility_checks(frame)
    assert report.ok
    assert "measure unknown" in report.skipped["confidence_intervals (some rows)"]
    assert [f.code for f in plausibility_checks(frame, measure="OR").flags] == ["ci_wrong_scale"]


def test_grim():
    # n = 28: attainable means near 5.19 are 145/28 = 5.1786 and 146/28 = 5.2143
    assert not grim_consistent("5.19", 28)
    assert grim_consistent("5.18", 28) and grim_consistent("5.21", 28)
    assert not grim_consistent("4.11", 40) and grim_consistent("4.10", 40)
    # an exact tie (165/40 = 4.125) is accepted whichever way it was rounded
    assert grim_consistent("4.12", 40) and grim_consistent("4.13", 40)
    # trailing zeros count as decimals: "4.10" (2 decimals) is impossible for n = 7, "4.1" is not
    assert not grim_consistent("4.10", 7) and grim_consistent("4.1", 7)
    assert grim_consistent(4.10, 7)  # a float has lost the trailing zero: the lenient reading
    assert not grim_consistent(4.10, 7, decimals=2)
    # three items per score: multiples of 1/30
    assert grim_consistent("2.47", 10, items=3) and not grim_consistent("2.45", 10, items=3)
    # ties: 21/8 = 2.625 reports as 2.63 (half up) or 2.62 (half even, truncation)
    assert grim_consistent("2.63", 8) and grim_consistent("2.62", 8)
    assert grim_consistent("2.62", 8, rounding="truncate") and not grim_consistent("2.63", 8, rounding="truncate")
    assert grim_consistent("-2.62", 8, rounding="truncate") and not grim_consistent("-2.63", 8, rounding="truncate")
    # no power once n x items >= 10^decimals
    assert grim_consistent("5.19", 100) and grim_consistent("5.1", 10)
    with pytest.raises(ValueError):
        grim_consistent("5.19", 0)


def test_grim_never_flags_real_integer_data():
    rng = np.random.default_rng(20170101)
    rows = []
    for s in range(60):
        for t in ("a", "b"):
            n = int(rng.integers(5, 90))
            scores = rng.integers(0, 11, size=n)
            rows.append((f"G{s}", t, n, f"{scores.mean():.2f}", f"{scores.std(ddof=1):.2f}", 0, 10))
    report = plausibility_checks(pd.DataFrame(rows, columns=HEADER), integer_scored=True)
    assert report.ok, report.summary()
    # the same means shifted by 0.01: flagged exactly when no integer total gives them
    shifted = [(s, t, n, f"{float(m) + 0.01:.2f}", sd, lo, hi) for s, t, n, m, sd, lo, hi in rows]
    report = plausibility_checks(pd.DataFrame(shifted, columns=HEADER), integer_scored=True)
    flagged = {f.row for f in report.flags if f.code == "grim_inconsistent"}
    impossible = {
        i + 1 for i, (_, _, n, m, *_rest) in enumerate(shifted)
        if not any(abs(total / n - float(m)) <= 0.005 + 1e-9 for total in range(0, 10 * n + 1))
    }
    assert flagged == impossible and len(impossible) > 20
    assert {f.code for f in report.flags} == {"grim_inconsistent"}


def test_max_sd_bound():
    assert max_sd(5, 0, 10) == 5.0
    assert max_sd(5, 0, 10, n=2) == pytest.approx(5 * math.sqrt(2))
    assert max_sd(0, 0, 10) == 0.0 and max_sd(11, 0, 10) == 0.0
    # attained by a sample split between the two ends of the scale
    x = np.array([0.0] * 6 + [10.0] * 4)
    assert x.std(ddof=1) == pytest.approx(max_sd(x.mean(), 0, 10, n=len(x)))


def test_near_identical_trials_and_thresholds():
    frame = pd.DataFrame([
        ("D1", "x", "30", "4.20", "2.40"), ("D1", "y", "30", "5.00", "2.50"),
        ("D2", "p", "30", "4.23", "2.40"), ("D2", "q", "30", "5.00", "2.51"),   # within 1%
        ("D3", "p", "30", "4.50", "2.40"), ("D3", "q", "30", "5.00", "2.50"),   # one mean 7% off
    ], columns=HEADER[:5])
    report = plausibility_checks(frame)
    assert [(f.code, f.rows, f.values["study"], f.values["other_study"], f.values["identical"]) for f in report.flags] == [
        ("duplicate_trial", (1, 2, 3, 4), "D1", "D2", False)]
    assert "near-identical arm data (n, mean, sd) in both arms" in report.flags[0].reason
    # without the 1% allowance only the rounding of the last decimal (0.005) is left
    assert plausibility_checks(frame, thresholds=Thresholds(duplicate_relative=0.0)).ok


def test_duplicate_arm_and_study_table_duplicates(tmp_path):
    frame = pd.DataFrame([("A", "x", 20, 4.0, 2.0), ("A", "y", 20, 5.0, 2.0), ("A", "x", 20, 4.4, 2.1)],
                         columns=HEADER[:5])
    studies = tmp_path / "studies.csv"
    studies.write_text("study,n_total\nA,60\nA,60\n", encoding="utf-8")
    report = plausibility_checks(frame, studies=studies)
    found = sorted((f.code, f.file, f.rows) for f in report.flags)
    assert found == [("duplicate_arm", "<data frame>", (1, 3)), ("duplicate_study_id", "studies.csv", (2, 3))]


def test_integer_scored_argument_is_checked():
    frame = pd.DataFrame([r[:5] for r in CLEAN], columns=HEADER[:5])
    with pytest.raises(ValueError, match="integer_scored"):
        plausibility_checks(frame, integer_scored=0.5)
    report = plausibility_checks(frame, integer_scored=3)  # means of 3 items: granularity 1/(3n)
    assert report.ok and "grim" in report.checks
