"""Validation: every bad input is reported with its file, row, study and column, all at
once; missing values exclude studies with a reason; nothing is dropped silently."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgrade.data.readers import read_arms, read_contrasts, read_risk_of_bias, read_studies, read_wide
from netgrade.data.schema import SOURCE_ROW
from netgrade.data.validate import normalise_judgement, parse_number
from netgrade.errors import DataError, DataIssue

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(call, *args, **kwargs) -> tuple[DataError, tuple[DataIssue, ...]]:
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    return info.value, info.value.issues


def only_issue(call, *args, **kwargs) -> DataIssue:
    error, issues = issues_of(call, *args, **kwargs)
    assert len(issues) == 1, str(error)
    issue = issues[0]
    assert str(issue) in str(error)
    return issue


ARMS_HEADER = "study,treatment,events,n\n"


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, value",
    [("12", 12.0), (" -0.5 ", -0.5), ("1e-3", 0.001), ("+3.", 3.0), (".25", 0.25), (7, 7.0), (2.5, 2.5),
     (None, None), (float("nan"), None)],
)
def test_plain_numbers_parse(cell, value):
    assert parse_number(cell) == (value, None)


@pytest.mark.parametrize(
    "cell, fragment",
    [
        ("12a", "'12a' is not a number"),
        ("abc", "'abc' is not a number"),
        ("1,234", "the comma could be a thousands separator or a decimal comma"),
        ("6,1", "the comma could be a thousands separator or a decimal comma"),
        ("1 234", "it contains a space"),
        ("12%", "is a percentage"),
        ("inf", "not a finite number"),
        ("1_000", "'1_000' is not a number"),  # Python's float() would accept it
        (True, "true/false value"),
        (float("inf"), "not a finite number"),
    ],
)
def test_non_numbers_are_explained(cell, fragment):
    value, problem = parse_number(cell)
    assert value is None and fragment in problem


@pytest.mark.parametrize(
    "cell, column, fragment",
    [
        ("12a", "events", "'12a' is not a number"),
        ("abc", "n", "'abc' is not a number"),
        ('"1,234"', "n", "'1,234' is not a plain number: the comma could be a thousands separator"),
        ("1 234", "n", "'1 234' is not a plain number: it contains a space"),
    ],
)
def test_non_numeric_cells_name_row_study_and_column(tmp_path, cell, column, fragment):
    values = {"events": "3", "n": "2000"}
    values[column] = cell
    path = write(tmp_path, "arms.csv", ARMS_HEADER + f"A,x,{values['events']},{values['n']}\nA,y,4,30\n")
    issue = only_issue(read_arms, path)
    assert (issue.file, issue.row, issue.study, issue.column) == ("arms.csv", 2, "A", column)
    assert fragment in issue.problem
    assert str(issue).startswith(f"arms.csv, row 2, study 'A', column '{column}': ")


def test_decimal_commas_in_a_semicolon_file_are_errors_not_guesses():
    error, issues = issues_of(read_arms, FIXTURES / "arms_semicolon.csv")
    assert [(i.row, i.column) for i in issues] == [(2, "mean"), (2, "sd"), (3, "mean"), (3, "sd")]
    assert "'6,1' is not a plain number" in issues[0].problem
    assert "arms_semicolon.csv: 4 problems in the arm data; nothing was read" in str(error)


@pytest.mark.parametrize(
    "rows, column, fragment",
    [
        ("A,x,31,30\nA,y,4,30\n", "events", "events (31) exceeds the group size n (30)"),
        ("A,x,-1,30\nA,y,4,30\n", "events", "events cannot be negative (got -1)"),
        ("A,x,0,0\nA,y,4,30\n", "n", "n must be positive: a group needs at least one participant (got 0)"),
        ("A,x,0,-3\nA,y,4,30\n", "n", "n must be positive"),
    ],
)
def test_impossible_binary_values(tmp_path, rows, column, fragment):
    issue = only_issue(read_arms, write(tmp_path, "b.csv", ARMS_HEADER + rows))
    assert (issue.row, issue.study, issue.column) == (2, "A", column)
    assert fragment in issue.problem


@pytest.mark.parametrize("sd, fragment", [("0", "sd must be positive (got 0)"), ("-1.5", "sd must be positive (got -1.5)")])
def test_standard_deviation_must_be_positive(tmp_path, sd, fragment):
    path = write(tmp_path, "c.csv", f"study,treatment,mean,sd,n\nA,x,1.0,2.0,10\nA,y,1.5,{sd},12\n")
    issue = only_issue(read_arms, path)
    assert (issue.file, issue.row, issue.study, issue.column) == ("c.csv", 3, "A", "sd")
    assert issue.problem == fragment


def test_standard_error_and_variance_must_be_positive(tmp_path):
    path = write(tmp_path, "se.csv", "study,estimate,se\nA,0.1,0.2\nB,0.3,0\nC,0.2,-0.1\n")
    error, issues = issues_of(read_contrasts, path)
    assert [(i.row, i.study, i.column, i.problem) for i in issues] == [
        (3, "B", "se", "se must be positive (got 0)"),
        (4, "C", "se", "se must be positive (got -0.1)"),
    ]
    path = write(tmp_path, "vi.csv", "study,yi,vi\nA,0.1,0.0\n")
    issue = only_issue(read_wide, path)
    assert (issue.row, issue.study, issue.column, issue.problem) == (2, "A", "vi", "vi must be positive (got 0)")


def test_wide_checks_use_the_files_column_names():
    bad = pd.DataFrame({"author": ["A", "B"], "tpos": [5, 3], "tneg": [-1, 10], "cpos": [1, 40], "cneg": [2, 3]})
    error, issues = issues_of(read_wide, bad, columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg", "study": "author"})
    assert [(i.row, i.study, i.column) for i in issues] == [(1, "A", "tneg")]
    assert issues[0].problem == "bi cannot be negative (got -1)"
    sizes = pd.DataFrame({"study": ["A"], "ai": [5], "n1i": [4], "ci": [1], "n2i": [0]})
    error, issues = issues_of(read_wide, sizes)
    assert [(i.column, i.problem) for i in issues] == [
        ("ai", "ai (5) exceeds the group size n1i (4)"),
        ("n2i", "n2i must be positive: a group needs at least one participant (got 0)"),
    ]
    nobody = pd.DataFrame({"study": ["A"], "ai": [0], "bi": [0], "ci": [1], "di": [3]})
    issue = only_issue(read_wide, nobody)
    assert (issue.column, issue.problem) == ("bi", "the group has no participants (ai + bi = 0)")


def test_single_group_events_above_n(tmp_path):
    issue = only_issue(read_wide, write(tmp_path, "s.csv", "study,xi,ni\nA,3,4\nB,5,4\n"))
    assert (issue.row, issue.study, issue.column, issue.problem) == (3, "B", "xi", "xi (5) exceeds the group size ni (4)")


def test_non_integer_counts_are_a_warning_not_an_error(tmp_path):
    path = write(tmp_path, "f.csv", ARMS_HEADER + "A,x,2.5,30\nA,y,4,30.5\nB,x,1,10\nB,y,2,10\n")
    table = read_arms(path)
    (warning,) = table.warnings
    assert warning.code == "non_integer_counts"
    assert warning.studies == ("A",)
    assert "study 'A' row 2 column 'events' = 2.5" in warning.message
    assert "study 'A' row 3 column 'n' = 30.5" in warning.message
    assert table.frame["events"].tolist() == [2.5, 4, 1, 2]


def test_scale_bounds(tmp_path):
    path = write(
        tmp_path, "scale.csv",
        "study,treatment,mean,sd,n,scale_min,scale_max\nA,x,5,2,10,0,10\nA,y,12,2,10,0,10\nB,x,5,2,10,10,0\nB,y,5,2,10,0,10\n",
    )
    issue = only_issue(read_arms, path)
    assert (issue.row, issue.study, issue.column) == (4, "B", "scale_min")
    ok = write(tmp_path, "ok.csv", "study,treatment,mean,sd,n,scale_min,scale_max\nA,x,5,2,10,0,10\nA,y,12,2,10,0,10\n")
    table = read_arms(ok)
    assert [w.code for w in table.warnings] == ["mean_outside_scale"]
    assert table.frame["scale_max"].tolist() == [10.0, 10.0]


# ---------------------------------------------------------------------------
# Missing values
# ---------------------------------------------------------------------------


def test_missing_value_excludes_the_whole_study_with_a_located_reason():
    table = read_arms(FIXTURES / "arms_binary.csv")
    assert table.studies == ("Adams 2001", "Baker 2005")
    (excluded,) = table.excluded
    assert excluded.study == "Chen 2010"
    assert excluded.reason == "missing value(s): arms_binary.csv, row 8, column 'Events'"
    (warning,) = table.warnings
    assert warning.code == "missing_values" and warning.studies == ("Chen 2010",)
    assert "1 study excluded because of missing values: 'Chen 2010'" == warning.message


def test_missing_value_is_an_error_on_request():
    issue = only_issue(read_arms, FIXTURES / "arms_binary.csv", missing="error")
    assert (issue.file, issue.row, issue.study, issue.column) == ("arms_binary.csv", 8, "Chen 2010", "Events")
    assert issue.problem.startswith("missing value")
    with pytest.raises(ValueError):
        read_arms(FIXTURES / "arms_binary.csv", missing="drop")


def test_missing_treatment_follows_the_missing_policy(tmp_path):
    path = write(tmp_path, "t.csv", ARMS_HEADER + "A,x,1,10\nA,NA,2,10\nB,x,1,10\nB,y,2,10\n")
    table = read_arms(path)
    assert table.studies == ("B",)
    assert table.excluded[0].reason == "missing value(s): t.csv, row 3, column 'treatment'"
    issue = only_issue(read_arms, path, missing="error")
    assert (issue.row, issue.study, issue.column) == (3, "A", "treatment")


def test_missing_study_label_is_always_an_error(tmp_path):
    path = write(tmp_path, "s.csv", ARMS_HEADER + "A,x,1,10\nA,y,2,10\n,x,3,10\nN/A,y,4,10\n")
    error, issues = issues_of(read_arms, path)
    assert [(i.row, i.study, i.column) for i in issues] == [(4, None, "study"), (5, None, "study")]
    assert issues[0].problem == "missing study label; every row must name its study"
    assert "s.csv, row 4, column 'study': missing study label" in str(error)


def test_several_missing_cells_are_all_in_the_reason(tmp_path):
    path = write(tmp_path, "m.csv", "study,treatment,mean,sd,n\nA,x,.,-,10\nA,y,1,,\nB,x,1,1,10\nB,y,1,1,10\n")
    table = read_arms(path)
    assert table.excluded[0].reason == (
        "missing value(s): m.csv, row 2, columns 'mean', 'sd'; m.csv, row 3, columns 'sd', 'n'"
    )


def test_missing_contrast_values(tmp_path):
    path = write(tmp_path, "c.csv", "study,treat1,treat2,estimate,se\nA,x,y,0.1,0.2\nB,x,y,NA,0.2\nB,x,z,0.1,0.3\n")
    table = read_contrasts(path)
    assert table.studies == ("A",)
    assert table.excluded[0].reason == "missing value(s): c.csv, row 3, column 'estimate'"


# ---------------------------------------------------------------------------
# Structure of long arm data
# ---------------------------------------------------------------------------


def test_duplicated_arm_names_both_rows(tmp_path):
    path = write(tmp_path, "d.csv", ARMS_HEADER + "A,x,1,10\nA,y,2,10\nA,x,3,10\n")
    issue = only_issue(read_arms, path)
    assert (issue.row, issue.study, issue.column) == (4, "A", "treatment")
    assert issue.problem == "treatment 'x' appears twice in study 'A' (rows 2 and 4); each arm needs one row"


def test_single_arm_study_is_an_error_unless_single_group(tmp_path):
    path = write(tmp_path, "one.csv", ARMS_HEADER + "A,x,1,10\nA,y,2,10\nB,x,3,10\n")
    issue = only_issue(read_arms, path)
    assert (issue.row, issue.study, issue.column) == (4, "B", "treatment")
    assert "study 'B' has a single arm ('x')" in issue.problem and "single-group measure" in issue.problem
    table = read_arms(path, single_group=True)
    assert table.studies == ("A", "B")


def test_unknown_treatments_are_named(tmp_path):
    path = write(tmp_path, "u.csv", ARMS_HEADER + "A,placebo,1,10\nA,Placbo,2,10\nB,placebo,1,10\nB,RF,2,10\n")
    error, issues = issues_of(read_arms, path, treatments=["placebo", "RF ablation"])
    assert [(i.row, i.study, i.column) for i in issues] == [(3, "A", "treatment"), (5, "B", "treatment")]
    assert issues[0].problem == "unknown treatment 'Placbo' (did you mean 'placebo'?); allowed: 'placebo', 'RF ablation'"
    assert issues[1].problem.startswith("unknown treatment 'RF'")
    assert read_arms(path, treatments=["placebo", "Placbo", "RF"]).treatments == ("Placbo", "RF", "placebo")


def test_treatment_names_differing_in_case_get_a_warning(tmp_path):
    path = write(tmp_path, "c.csv", ARMS_HEADER + "A,Placebo,1,10\nA,x,2,10\nB,placebo,1,10\nB,x,2,10\n")
    table = read_arms(path)
    assert [w.code for w in table.warnings] == ["treatment_names_differ_in_case"]
    assert "'Placebo' / 'placebo'" in table.warnings[0].message


def test_every_problem_is_reported_at_once():
    error, issues = issues_of(read_arms, FIXTURES / "arms_errors.csv")
    located = [(i.row, i.study, i.column) for i in issues]
    assert located == [
        (2, "S1", "events"),
        (3, "S1", "events"),
        (4, "S2", "events"),
        (5, "S2", "events"),
        (6, "S3", "n"),
        (7, "S3", "treatment"),
        (8, None, "study"),
        (9, "S4", "treatment"),
    ]
    assert all(i.file == "arms_errors.csv" for i in issues)
    assert str(error).startswith("arms_errors.csv: 8 problems in the arm data; nothing was read")
    text = str(error)
    assert "row 4, study 'S2', column 'events': events (30) exceeds the group size n (20)" in text
    assert "row 7, study 'S3', column 'treatment': treatment 'placebo' appears twice in study 'S3' (rows 6 and 7)" in text


# ---------------------------------------------------------------------------
# Empty input and filters
# ---------------------------------------------------------------------------


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(DataError, match=r"^e\.csv: the file is empty$"):
        read_arms(write(tmp_path, "e.csv", ""))
    with pytest.raises(DataError, match=r"h\.csv: the file has a header but no records"):
        read_arms(write(tmp_path, "h.csv", ARMS_HEADER))


def test_a_filter_that_leaves_nothing(tmp_path):
    path = write(tmp_path, "f.csv", "table," + ARMS_HEADER + "1,A,x,1,10\n1,A,y,2,10\n")
    with pytest.raises(DataError, match=r"f\.csv: no record matches where=\{'table': '2'\}; column 'table' holds '1'"):
        read_arms(path, where={"table": "2"})


def test_all_studies_excluded_leaves_an_empty_table_with_reasons(tmp_path):
    path = write(tmp_path, "all.csv", ARMS_HEADER + "A,x,NA,10\nA,y,2,10\n")
    table = read_arms(path)
    assert len(table.frame) == 0 and [e.study for e in table.excluded] == ["A"]


# ---------------------------------------------------------------------------
# Contrasts
# ---------------------------------------------------------------------------


def test_contrast_structure_errors(tmp_path):
    path = write(
        tmp_path, "n.csv",
        "study,treat1,treat2,estimate,se\nA,x,x,0.1,0.2\nB,x,y,0.1,0.2\nB,y,x,0.3,0.2\nC,x,y,0.1,0.2\nC,z,w,0.2,0.2\n",
    )
    error, issues = issues_of(read_contrasts, path)
    assert [(i.row, i.study, i.column) for i in issues] == [(2, "A", "treat2"), (4, "B", "treat1"), (5, "C", "treat1")]
    assert issues[0].problem == "treatment1 and treatment2 are both 'x'; a contrast compares two treatments"
    assert issues[1].problem == "the comparison 'y' vs 'x' appears twice in study 'B' (rows 3 and 4)"
    assert "do not connect its treatments ('w', 'z' cannot be reached)" in issues[2].problem


def test_contrast_issue_columns_are_file_names(tmp_path):
    path = write(tmp_path, "n.csv", "study,treat1,treat2,estimate,se\nA,x,x,0.1,0.2\n")
    issue = only_issue(read_contrasts, path)
    assert issue.column == "treat2"


def test_multiarm_loops_must_add_up(tmp_path):
    good = "study,treat1,treat2,estimate,se\nA,x,y,0.5,0.2\nA,x,z,0.2,0.2\nA,y,z,-0.3,0.2\n"
    assert read_contrasts(write(tmp_path, "g.csv", good)).warnings == ()
    bad = good.replace("A,y,z,-0.3", "A,y,z,0.3")
    (warning,) = read_contrasts(write(tmp_path, "b.csv", bad)).warnings
    assert warning.code == "multiarm_inconsistent" and warning.studies == ("A",)
    assert "row 4: 'y' vs 'z' = 0.3, other contrasts imply -0.3" in warning.message


def test_unknown_treatments_in_network_contrasts(tmp_path):
    path = write(tmp_path, "u.csv", "study,treat1,treat2,estimate,se\nA,TCA,Placebo,0.1,0.2\nB,SSRI,Placebo,0.2,0.2\n")
    issue = only_issue(read_contrasts, path, treatments=["TCA", "Placebo"])
    assert (issue.row, issue.study, issue.column) == (3, "B", "treat1")
    assert issue.problem.startswith("unknown treatment 'SSRI'")


def test_pairwise_contrasts_with_repeated_study_labels(tmp_path):
    path = write(tmp_path, "p.csv", "study,yi,sei\nA,0.1,0.2\nA,0.2,0.2\nB,0.3,0.1\n")
    table = read_contrasts(path)
    assert table.studies == ("A (row 2)", "A (row 3)", "B")
    assert table.warnings[0].code == "duplicate_study_labels"


# ---------------------------------------------------------------------------
# Studies and risk of bias
# ---------------------------------------------------------------------------


def test_study_table_needs_unique_labels(tmp_path):
    path = write(tmp_path, "s.csv", "study,region\nA,EU\nB,US\nA,EU\nNA,EU\n")
    error, issues = issues_of(read_studies, path)
    assert [(i.row, i.study, i.column) for i in issues] == [(4, "A", "study"), (5, None, "study")]
    assert issues[0].problem == "study 'A' appears twice (rows 2 and 4); study tables need one row per study"


def test_risk_of_bias_judgement_errors(tmp_path):
    path = write(tmp_path, "r.csv", "study,D1,D2,overall\nA,low,unclear,Low risk\nB,maybe,,high\nA,low,low,bad\n")
    error, issues = issues_of(read_risk_of_bias, path)
    located = [(i.row, i.study, i.column) for i in issues]
    assert located == [(3, "B", "D1"), (3, "B", "D2"), (4, "A", "study"), (4, "A", "overall")]
    assert issues[0].problem.startswith("'maybe' is not a risk-of-bias judgement; use low / some concerns / high")
    assert issues[1].problem.startswith("missing judgement")
    assert issues[3].problem.startswith("'bad' is not a risk-of-bias judgement")
    assert "r.csv, row 3, study 'B', column 'D1': 'maybe' is not a risk-of-bias judgement" in str(error)


def test_risk_of_bias_inferred_domains_say_how_to_choose(tmp_path):
    path = write(tmp_path, "r.csv", "study,D1,notes\nA,low,blinded by pharmacy\n")
    issue = only_issue(read_risk_of_bias, path)
    assert (issue.row, issue.study, issue.column) == (2, "A", "notes")
    assert issue.problem.endswith("name the domains with domains=[...]")
    table = read_risk_of_bias(path, domains=["D1"])
    assert table.frame["notes"].tolist() == ["blinded by pharmacy"]


@pytest.mark.parametrize(
    "text, level",
    [("Low", "low"), ("low risk", "low"), ("Low_Risk", "low"), ("some", "some concerns"),
     ("Some concerns", "some concerns"), ("unclear", "some concerns"), ("moderate", "some concerns"),
     ("HIGH", "high"), ("high risk", "high"), ("serious", "high"), ("critical", None), ("?", None)],
)
def test_judgement_normalisation(text, level):
    assert normalise_judgement(text) == level


# ---------------------------------------------------------------------------
# Invariants
# ---------------------------------------------------------------------------


def _arm_rows(draw_counts: list[tuple[int, int, int]]) -> list[tuple[str, str, str, str]]:
    rows = []
    for s, (k, events, extra) in enumerate(draw_counts):
        for a in range(k):
            n = events + extra + a + 1
            rows.append((f"S{s}", f"T{(s + a) % 5}", str(min(events + a, n)), str(n)))
    return rows


arm_layouts = st.lists(
    st.tuples(st.integers(2, 4), st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=8
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=arm_layouts, data=st.data())
def test_row_order_changes_only_the_order(layout, data):
    rows = _arm_rows(layout)
    shuffled = data.draw(st.permutations(rows))
    frames = []
    for order in (rows, shuffled):
        frame = pd.DataFrame(order, columns=["study", "treatment", "events", "n"])
        table = read_arms(frame)
        frames.append(table.frame.drop(columns=[SOURCE_ROW]).sort_values(["study", "treatment"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(frames[0], frames[1])


@settings(max_examples=60, deadline=None)
@given(layout=arm_layouts, holes=st.sets(st.integers(0, 40), max_size=6))
def test_no_study_is_dropped_silently(layout, holes):
    rows = [list(r) for r in _arm_rows(layout)]
    for h in holes:
        if h < len(rows):
            rows[h][2 + h % 2] = "NA"
    table = read_arms(pd.DataFrame(rows, columns=["study", "treatment", "events", "n"]))
    read = {r[0] for r in rows}
    kept, excluded = set(table.studies), {e.study for e in table.excluded}
    assert kept | excluded == read and not kept & excluded
    holed = {rows[h][0] for h in holes if h < len(rows)}
    assert excluded == holed
    for e in table.excluded:
        assert e.reason.startswith("missing value(s): <data frame>, row ")
    assert math.isfinite(table.frame["events"].sum())
