"""Reading files: formats, row numbers, missing tokens, column roles, filters, layouts,
and the real metadat files."""

from __future__ import annotations

import builtins
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netgrade.data.io import MISSING_TOKENS, as_raw, read_table, resolve_columns
from netgrade.data.readers import (
    load_pairwise,
    read_arms,
    read_contrasts,
    read_risk_of_bias,
    read_studies,
    read_wide,
)
from netgrade.data.schema import COLUMN_ALIASES, SOURCE_FILE, SOURCE_ROW, ArmTable, ContrastTable
from netgrade.errors import DataError
from tests.reference import data_path

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet1", extra_sheets: dict | None = None) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    for name, other in (extra_sheets or {}).items():
        extra = wb.create_sheet(name)
        for r in other:
            extra.append(r)
    wb.save(path)
    return path


# ---------------------------------------------------------------------------
# read_table: formats and row numbers
# ---------------------------------------------------------------------------


def test_csv_keeps_values_as_text_and_counts_rows_like_a_spreadsheet():
    raw = read_table(FIXTURES / "arms_binary.csv")
    assert raw.file == "arms_binary.csv"
    assert raw.columns == ("Study", "Treatment", "Events", "N", "region")
    # the blank line 7 is skipped but still counted, as a spreadsheet would show it
    assert raw.rows == (2, 3, 4, 5, 6, 8, 9)
    assert raw.frame.loc[0, "Events"] == "10"
    assert raw.frame.loc[5, "Events"] is None  # "NA"
    assert raw.frame.loc[0, "Study"] == "Adams 2001"


def test_missing_tokens_are_documented_and_recognised(tmp_path):
    assert set(MISSING_TOKENS) == {"", "NA", "N/A", "NaN", ".", "-"}
    path = write(tmp_path / "m.csv", "a,b\nNA,1\nn/a,2\nnan,3\n.,4\n-,5\n ,6\n-5,7\n")
    raw = read_table(path)
    assert list(raw.frame["a"]) == [None] * 6 + ["-5"]
    assert list(raw.frame["b"]) == [str(i) for i in range(1, 8)]


def test_values_and_headers_are_stripped_and_quoted_newlines_stay_one_row(tmp_path):
    path = write(tmp_path / "q.csv", ' study , n \n" Smith ",10\n"two\nlines",20\nLee,30\n')
    raw = read_table(path)
    assert raw.columns == ("study", "n")
    assert list(raw.frame["study"]) == ["Smith", "two\nlines", "Lee"]
    # a spreadsheet shows the quoted two-line cell as one row
    assert raw.rows == (2, 3, 4)


@pytest.mark.parametrize(
    "name, text, delimiter_name",
    [
        ("tabs.tsv", "study\ttreatment\nA\tx\n", "tab"),
        ("tabs.txt", "study\ttreatment\nA\tx\n", "tab"),
        ("semi.csv", "study;treatment\nA;x\n", "semicolon"),
        ("bar.txt", "study|treatment\nA|x\n", "bar"),
        ("comma.csv", '"study;name",treatment\nA,x\n', "comma (quoted semicolon ignored)"),
    ],
)
def test_delimiters_are_sniffed(tmp_path, name, text, delimiter_name):
    raw = read_table(write(tmp_path / name, text))
    assert len(raw.columns) == 2, delimiter_name
    assert list(raw.frame.iloc[0]) == ["A", "x"]


def test_utf8_bom_is_ignored_and_other_encodings_are_refused(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffstudy,n\nMüller,3\n".encode("utf-8"))
    raw = read_table(path)
    assert raw.columns == ("study", "n") and raw.frame.loc[0, "study"] == "Müller"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("study,n\nMüller,3\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: the file is not UTF-8"):
        read_table(latin)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", "", r"empty\.csv: the file is empty"),
        ("blank.csv", "\n\n  \n", r"blank\.csv: the file is empty"),
        ("header.csv", "study,treatment,events,n\n", r"header\.csv: the file has a header but no records"),
        ("empty.json", "", r"empty\.json: the file is empty"),
        ("nothing.json", "[]", r"nothing\.json: the file has no records"),
        ("bad.json", "{not json", r"bad\.json: not valid JSON \(line 1"),
        ("scalar.json", "42", r"scalar\.json: expected a list of records"),
        ("data.xls", "x", r"data\.xls: cannot read files of type '\.xls' \(save it as \.xlsx or \.csv\)"),
        ("data.sav", "x", r"data\.sav: cannot read files of type '\.sav'"),
    ],
)
def test_unusable_files_raise_errors_naming_the_file(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataError, match=r"dir\.csv: not a file"):
        read_table(tmp_path / "dir.csv")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match=r"broken\.xlsx: not a readable \.xlsx workbook"):
        read_table(broken)


def test_rows_longer_than_the_header_are_reported_with_their_row(tmp_path):
    path = write(tmp_path / "ragged.csv", "study,mean,sd,n\nA,1.5,2,10\nB,1,5,2,10\nC,1,2,10,\n")
    with pytest.raises(DataError) as info:
        read_table(path)
    (issue,) = info.value.issues
    assert (issue.file, issue.row) == ("ragged.csv", 3)
    assert "5 values but the header has 4 columns" in issue.problem
    assert "decimal comma" in issue.problem
    assert "ragged.csv, row 3: 5 values" in str(info.value)


def test_header_problems(tmp_path):
    with pytest.raises(DataError) as info:
        read_table(write(tmp_path / "dup.csv", "study,n,n\nA,1,2\n"))
    assert info.value.issues[0].column == "n"
    assert "names column 'n' twice (columns 2 and 3)" in str(info.value)
    with pytest.raises(DataError, match=r"column 2 has no name in the header but holds values"):
        read_table(write(tmp_path / "noname.csv", "study,,n\nA,x,1\n"))
    # trailing delimiters (an empty, nameless column) are harmless
    raw = read_table(write(tmp_path / "trailing.csv", "study,n,\nA,1,\nB,2,\n"))
    assert raw.columns == ("study", "n")


def test_json_list_of_records(tmp_path):
    raw = read_table(FIXTURES / "wide_binary.json")
    assert raw.columns == ("author", "year", "tpos", "tneg", "cpos", "cneg")
    assert raw.rows == (1, 2, 3)
    assert raw.frame.loc[0, "tpos"] == 4 and isinstance(raw.frame.loc[0, "tpos"], int)


def test_json_records_object_and_column_lists():
    raw = read_table(FIXTURES / "contrasts_network.json")
    assert raw.rows == (1, 2, 3, 4) and raw.frame.loc[3, "treat2"] == "Placebo"
    raw = read_table(FIXTURES / "contrasts_columns.json")
    assert raw.columns == ("study", "yi", "vi", "weeks")
    assert raw.frame.loc[2, "vi"] == 0.0279 and raw.rows == (1, 2, 3)


def test_json_shape_errors(tmp_path):
    records = write(tmp_path / "r.json", json.dumps([{"study": "A", "n": 1}, {"study": "B"}, ["x"]]))
    with pytest.raises(DataError) as info:
        read_table(records)
    assert info.value.issues[0].row == 3 and "record is a list" in info.value.issues[0].problem
    unequal = write(tmp_path / "c.json", json.dumps({"study": ["A", "B"], "n": [1]}))
    with pytest.raises(DataError, match=r"c\.json: the column lists differ in length \('study': 2, 'n': 1\)"):
        read_table(unequal)
    nested = write(tmp_path / "n.json", json.dumps([{"study": "A", "n": [1, 2]}]))
    with pytest.raises(DataError) as info:
        read_table(nested)
    issue = info.value.issues[0]
    assert (issue.row, issue.column) == (1, "n")


def test_json_missing_keys_and_nulls_are_missing(tmp_path):
    path = write(tmp_path / "m.json", json.dumps([{"study": "A", "n": 10}, {"study": "B", "n": None}, {"study": "C"}]))
    raw = read_table(path)
    assert list(raw.frame["n"]) == [10, None, None]


def test_xlsx_uses_sheet_rows_and_keeps_numbers(tmp_path):
    path = write_xlsx(
        tmp_path / "arms.xlsx",
        [
            [None],  # a title row left empty: the header is on row 2
            ["study", "treatment", "events", "n"],
            ["A", "placebo", 3, 30],
            [None, None, None, None],
            ["A", "drug", "NA", 31.0],
        ],
    )
    raw = read_table(path)
    assert raw.columns == ("study", "treatment", "events", "n")
    assert raw.rows == (3, 5)
    assert raw.frame.loc[0, "events"] == 3
    assert raw.frame.loc[1, "events"] is None


def test_xlsx_sheet_selection(tmp_path):
    path = write_xlsx(
        tmp_path / "book.xlsx",
        [["notes"], ["nothing here"]],
        sheet="About",
        extra_sheets={"Data": [["study", "n"], ["A", 5]]},
    )
    assert read_table(path).columns == ("notes",)
    assert read_table(path, sheet="Data").frame.loc[0, "n"] == 5
    assert read_table(path, sheet=1).frame.loc[0, "study"] == "A"
    with pytest.raises(DataError, match=r"book\.xlsx: no sheet named 'Dat'; sheets: About, Data"):
        read_table(path, sheet="Dat")
    with pytest.raises(DataError, match=r"sheet=.* applies only to \.xlsx"):
        read_table(FIXTURES / "studies.csv", sheet="Data")


def test_xlsx_without_openpyxl_says_how_to_install(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "a.xlsx", [["study"], ["A"]])
    real_import = builtins.__import__

    def no_openpyxl(name, *args, **kwargs):
        if name == "openpyxl" or name.startswith("openpyxl."):
            raise ImportError("No module named 'openpyxl'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openpyxl)
    with pytest.raises(DataError, match=r"a\.xlsx: .*pip install netgrade\[excel\]"):
        read_table(path)


def test_xlsx_arm_file_reads_like_the_csv(tmp_path):
    csv_table = read_arms(FIXTURES / "arms_binary.csv", single_group=False)
    rows = [list(read_table(FIXTURES / "arms_binary.csv").frame.columns)]
    for r in pd.read_csv(FIXTURES / "arms_binary.csv", keep_default_na=False).itertuples(index=False):
        rows.append([int(v) if isinstance(v, str) and v.isdigit() else v for v in r])
    xlsx_table = read_arms(write_xlsx(tmp_path / "arms.xlsx", rows))
    cols = ["study", "treatment", "events", "n", "region"]
    pd.testing.assert_frame_equal(csv_table.frame[cols], xlsx_table.frame[cols])
    assert [e.study for e in xlsx_table.excluded] == ["Chen 2010"]
    # the xlsx has no blank line, so Chen's NA is on row 7 there, row 8 in the csv
    assert "arms.xlsx, row 7, column 'Events'" in xlsx_table.excluded[0].reason


def test_data_frames_are_accepted_with_1_based_rows():
    frame = pd.DataFrame({"study": ["A", "A"], "treatment": ["x", "y"], "events": [1, np.nan], "n": [10, 12]})
    raw = as_raw(frame)
    assert raw.file == "<data frame>" and raw.rows == (1, 2) and raw.frame.loc[1, "events"] is None
    table = read_arms(frame)
    assert table.excluded[0].reason == "missing value(s): <data frame>, row 2, column 'events'"
    assert as_raw(raw) is raw
    with pytest.raises(TypeError):
        as_raw(42)


# ---------------------------------------------------------------------------
# Column roles
# ---------------------------------------------------------------------------


def test_aliases_are_found_ignoring_case_and_separators():
    table = read_arms(FIXTURES / "arms_continuous.tsv")  # trial, arm, m, s, "sample size"
    assert table.outcome_type == "continuous"
    assert list(table.frame.columns) == ["study", "treatment", "mean", "sd", "n", SOURCE_FILE, SOURCE_ROW]
    assert table.frame["mean"].tolist() == [6.1, 4.9, 5.8, 5.0]
    assert table.frame["n"].tolist() == [40.0, 41.0, 30.0, 29.0]


def test_alias_list_is_disjoint_between_roles():
    seen = {}
    for role, tiers in COLUMN_ALIASES.items():
        for tier in tiers:
            for alias in tier:
                assert alias not in seen, f"{alias!r} is an alias of {seen.get(alias)!r} and {role!r}"
                seen[alias] = role


def test_higher_tier_wins_and_same_tier_is_ambiguous(tmp_path):
    # study beats id and authors (dat.hasselblad1998); trial beats id (dat.yusuf1985)
    raw = as_raw(pd.DataFrame({"id": [1], "study": ["A"], "authors": ["X"], "trt": ["t"]}))
    assert resolve_columns(raw, ["study", "treatment"]) == {"study": "study", "treatment": "trt"}
    raw = as_raw(pd.DataFrame({"id": [1], "Trial": ["A"]}))
    assert resolve_columns(raw, ["study"]) == {"study": "Trial"}
    path = write(tmp_path / "amb.csv", "author,authors,arm,group,events,n\nA,B,x,y,1,2\n")
    with pytest.raises(DataError) as info:
        read_arms(path)
    message = str(info.value)
    assert "amb.csv: columns 'author', 'authors' could each be the 'study' column" in message
    assert "columns={'study': 'author'}" in message
    with pytest.raises(DataError, match=r"columns 'arm', 'group' could each be the 'treatment' column"):
        read_arms(path, columns={"study": "author"})


def test_explicit_mapping_overrides_aliases_and_is_checked(tmp_path):
    path = write(
        tmp_path / "map.csv",
        "Trial name,Intervention,Deaths,Randomised,n\nA,x,1,10,9\nA,y,2,12,11\n",
    )
    table = read_arms(path, columns={"study": "Trial name", "treatment": "Intervention", "events": "Deaths",
                                     "n": "Randomised"})
    assert table.frame["n"].tolist() == [10.0, 12.0]
    # the unused "n" column is kept, renamed so that it cannot pass for the canonical one
    assert table.frame["n_original"].tolist() == ["9", "11"]
    assert any(w.code == "renamed_column" for w in table.warnings)
    with pytest.raises(DataError) as info:
        read_arms(path, columns={"study": "trial name", "treatment": "Intervention", "events": "Deaths"})
    message = str(info.value)
    assert "columns= maps 'study' to 'trial name', which is not a column of the file (did you mean 'Trial name'?)" in message
    assert "available columns: 'Trial name', 'Intervention', 'Deaths', 'Randomised', 'n'" in message
    with pytest.raises(DataError, match=r"columns= names 'evnts', which this reader does not use"):
        read_arms(path, columns={"evnts": "Deaths"})
    with pytest.raises(DataError, match=r"columns= maps 'events' and 'n' to the same column 'Deaths'"):
        read_arms(path, columns={"study": "Trial name", "treatment": "Intervention", "events": "Deaths", "n": "Deaths"})


def test_missing_roles_are_listed_with_their_aliases(tmp_path):
    path = write(tmp_path / "short.csv", "study,treatment,events\nA,x,1\nA,y,2\n")
    with pytest.raises(DataError) as info:
        read_arms(path)
    message = str(info.value)
    assert "short.csv: cannot find the column(s) binary arm data needs: 'n' (recognised names: n, ni, total, sample_size)" in message
    assert "Available columns: 'study', 'treatment', 'events'" in message


def test_outcome_inference(tmp_path):
    both = write(tmp_path / "both.csv", "study,treatment,events,mean,sd,n\nA,x,1,2,3,10\nA,y,1,2,3,10\n")
    with pytest.raises(DataError, match=r"both binary \(events: 'events'\) and continuous .* pass outcome="):
        read_arms(both)
    assert read_arms(both, outcome="continuous").frame["mean"].tolist() == [2.0, 2.0]
    binary = read_arms(both, outcome="binary")
    assert binary.outcome_type == "binary" and binary.frame["mean"].tolist() == ["2", "2"]  # a covariate now
    neither = write(tmp_path / "neither.csv", "study,treatment,n\nA,x,10\n")
    with pytest.raises(DataError, match=r"cannot tell the outcome type"):
        read_arms(neither)
    with pytest.raises(ValueError):
        read_arms(both, outcome="count")


def test_covariates_are_kept_as_read():
    table = read_arms(FIXTURES / "arms_binary.csv")
    assert list(table.frame.columns) == ["study", "treatment", "events", "n", "region", SOURCE_FILE, SOURCE_ROW]
    assert table.frame["region"].tolist() == ["Europe", "Europe", "Asia", "Asia", "Asia"]
    assert table.frame[SOURCE_ROW].tolist() == [2, 3, 4, 5, 6]
    assert set(table.frame[SOURCE_FILE]) == {"arms_binary.csv"}


# ---------------------------------------------------------------------------
# where filter
# ---------------------------------------------------------------------------


def test_where_filter_single_and_several_values():
    path = data_path("dat.yusuf1985")
    assert len(read_wide(path, where={"table": "6"}).studies) == 21
    assert len(read_wide(path, where={"table": 6}).studies) == 21  # compared as text
    both = read_wide(path, where={"table": ["6", "9"]})
    assert len(both.studies) == 21 + 26
    assert set(both.frame["table"]) == {"6", "9"}


def test_where_errors():
    path = data_path("dat.yusuf1985")
    with pytest.raises(DataError) as info:
        read_wide(path, where={"Table": "9"})
    message = str(info.value)
    assert "where= names column 'Table', which the file does not have (did you mean 'table'?)" in message
    with pytest.raises(DataError) as info:
        read_wide(path, where={"table": "7"})
    assert "no record matches where={'table': '7'}; column 'table' holds '6', '9', '10', '11', '12a', '12b'" in str(info.value)


def test_where_accepts_a_role_name(tmp_path):
    path = write(tmp_path / "w.csv", "trial,arm,events,n\nA,x,1,10\nA,y,2,10\nB,x,1,10\nB,y,2,10\n")
    table = read_arms(path, where={"study": "B"})
    assert table.studies == ("B",)
    assert table.frame[SOURCE_ROW].tolist() == [4, 5]


# ---------------------------------------------------------------------------
# Wide files
# ---------------------------------------------------------------------------


def test_wide_binary_json_becomes_long_arms():
    table = read_wide(
        FIXTURES / "wide_binary.json",
        columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg", "study": "author"},
        treatment="BCG",
        control="none",
    )
    assert table.outcome_type == "binary"
    assert table.frame["treatment"].tolist() == ["BCG", "none"] * 3
    assert table.frame["events"].tolist() == [4, 11, 6, 29, 3, 11]
    assert table.frame["n"].tolist() == [123, 139, 306, 303, 231, 220]
    assert table.frame["year"].tolist() == [1948, 1948, 1949, 1949, 1960, 1960]
    assert table.frame[SOURCE_ROW].tolist() == [1, 1, 2, 2, 3, 3]


def test_wide_binary_with_group_sizes_and_both_forms(tmp_path):
    sizes = write(tmp_path / "s.csv", "study,ai,n1i,ci,n2i\nA,3,30,5,31\n")
    assert read_wide(sizes).frame["n"].tolist() == [30, 31]
    both = write(tmp_path / "b.csv", "study,ai,bi,ci,di,n1i,n2i\nA,3,27,5,26,30,31\nB,3,27,5,26,31,31\n")
    with pytest.raises(DataError) as info:
        read_wide(both)
    (issue,) = info.value.issues
    assert (issue.row, issue.study, issue.column) == (3, "B", "n1i")
    assert issue.problem == "ai + bi = 30 but n1i = 31"


def test_wide_layout_inference_errors(tmp_path):
    mixed = write(tmp_path / "mixed.csv", "study,ai,bi,ci,di,yi,vi\nA,1,2,3,4,0.1,0.2\n")
    with pytest.raises(DataError, match=r"fit several wide layouts \(binary, precomputed\); pass layout="):
        read_wide(mixed)
    assert isinstance(read_wide(mixed, layout="precomputed"), ContrastTable)
    partial = write(tmp_path / "partial.csv", "study,ai,ci\nA,1,2\n")
    with pytest.raises(DataError, match=r"no wide layout is complete \(found ai, ci"):
        read_wide(partial)
    with pytest.raises(DataError, match=r"the binary layout needs: 'n1i'"):
        read_wide(partial, layout="binary")
    with pytest.raises(ValueError):
        read_wide(partial, layout="long")
    with pytest.raises(ValueError):
        read_wide(partial, treatment="x", control="x")


def test_wide_precomputed_with_sei(tmp_path):
    path = write(tmp_path / "p.csv", "study,yi,sei\nA,0.5,0.2\nB,-0.1,0.3\n")
    table = read_wide(path)
    assert table.frame["se"].tolist() == [0.2, 0.3] and table.frame["estimate"].tolist() == [0.5, -0.1]


# ---------------------------------------------------------------------------
# Contrasts, studies, risk of bias
# ---------------------------------------------------------------------------


def test_network_contrasts_from_json_records_object():
    table = read_contrasts(FIXTURES / "contrasts_network.json")
    assert table.is_network and table.studies == ("1", "4")
    assert table.frame["treatment1"].tolist() == ["TCA", "TCA", "SNRI", "TCA"]
    assert table.frame["estimate"].tolist()[0] == -0.570249
    assert table.frame["se"].tolist()[3] == 0.555278


def test_pairwise_contrasts_with_variances_from_column_lists():
    table = read_contrasts(FIXTURES / "contrasts_columns.json")
    assert not table.is_network
    assert table.frame["se"].tolist() == pytest.approx([math.sqrt(0.0156), math.sqrt(0.0216), math.sqrt(0.0279)], rel=1e-15)
    assert table.frame["weeks"].tolist() == [2, 21, 19]


def test_half_a_network_contrast_is_an_error(tmp_path):
    path = write(tmp_path / "half.csv", "study,treat1,estimate,se\nA,x,1,1\n")
    with pytest.raises(DataError, match=r"found a treatment1 column \('treat1'\) but no treatment2 column"):
        read_contrasts(path)


def test_studies_table():
    table = read_studies(FIXTURES / "studies.csv")
    assert table.frame["study"].tolist() == ["Adams 2001", "Baker 2005", "Chen 2010"]
    assert table.frame["condition"].tolist() == ["low back pain", "neck pain", "low back pain"]
    assert table.source == "studies.csv"


def test_risk_of_bias_table_normalises_judgements():
    table = read_risk_of_bias(FIXTURES / "risk_of_bias.csv")
    assert table.domains == ("randomisation", "deviations", "missing outcome data", "measurement", "selection")
    assert table.frame.loc[0, ["randomisation", "deviations", "missing outcome data", "measurement", "selection"]].tolist() == [
        "low", "low", "some concerns", "some concerns", "low"]
    assert table.frame.loc[1, ["randomisation", "measurement", "missing outcome data"]].tolist() == [
        "high", "high", "some concerns"]
    assert table.frame["overall"].tolist() == ["some concerns", "high", "low"]
    chosen = read_risk_of_bias(FIXTURES / "risk_of_bias.csv", domains=["randomisation"])
    assert chosen.domains == ("randomisation",)
    assert chosen.frame["deviations"].tolist() == ["low risk", "Low", "low"]  # kept as read, not judged


def test_risk_of_bias_unknown_domain():
    with pytest.raises(DataError, match=r"domains= names 'blinding', which the file does not have"):
        read_risk_of_bias(FIXTURES / "risk_of_bias.csv", domains=["blinding"])


# ---------------------------------------------------------------------------
# load_pairwise sniffing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dataset, kwargs, kind, detail",
    [
        ("dat.bcg", {"columns": {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg", "study": "author"}},
         ArmTable, "binary"),
        ("dat.yusuf1985", {"where": {"table": "9"}}, ArmTable, "binary"),
        ("dat.normand1999", {"columns": {"study": "source"}}, ArmTable, "continuous"),
        ("dat.pritz1997", {}, ArmTable, "binary"),
        ("dat.hasselblad1998", {}, ArmTable, "binary"),
        ("dat.senn2013", {}, ArmTable, "continuous"),
        ("dat.raudenbush1985", {}, ContrastTable, False),
        ("dat.linde2016", {}, ContrastTable, True),
    ],
)
def test_load_pairwise_sniffs_every_metadat_layout(dataset, kwargs, kind, detail):
    table = load_pairwise(data_path(dataset), **kwargs)
    assert isinstance(table, kind)
    if kind is ArmTable:
        assert table.outcome_type == detail
    else:
        assert table.is_network is detail


def test_load_pairwise_unknown_layout(tmp_path):
    path = write(tmp_path / "odd.csv", "study,x,y\nA,1,2\n")
    with pytest.raises(DataError, match=r"odd\.csv: cannot tell the layout from the columns 'study', 'x', 'y'"):
        load_pairwise(path)
    path = write(tmp_path / "te.csv", "studlab,TE,seTE\nA,0.1,0.2\n")
    assert load_pairwise(path).frame["se"].tolist() == [0.2]


# ---------------------------------------------------------------------------
# The real metadat files
# ---------------------------------------------------------------------------


def test_dat_bcg_wide_binary_with_column_map():
    table = read_wide(
        data_path("dat.bcg"), columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg", "study": "author"}
    )
    assert len(table.studies) == 13 and len(table.frame) == 26
    first = table.frame.iloc[:2]
    assert first["study"].tolist() == ["Aronson", "Aronson"]
    assert first["events"].tolist() == [4, 11] and first["n"].tolist() == [123, 139]
    assert table.frame["events"].sum() == 2575 and table.frame["n"].sum() == 357347
    # two author labels repeat (Rosenthal et al, Comstock et al): made unique, with a warning
    assert "Rosenthal et al (row 4)" in table.studies and "Comstock et al (row 14)" in table.studies
    (warning,) = table.warnings
    assert warning.code == "duplicate_study_labels" and len(warning.studies) == 4
    assert table.frame["ablat"].tolist()[:2] == ["44", "44"]
    assert table.excluded == ()


def test_dat_normand1999_wide_continuous():
    table = read_wide(data_path("dat.normand1999"), columns={"study": "source"})
    assert table.outcome_type == "continuous" and len(table.studies) == 9
    edinburgh = table.frame.iloc[:2]
    assert edinburgh["mean"].tolist() == [55, 75]
    assert edinburgh["sd"].tolist() == [47, 64]
    assert edinburgh["n"].tolist() == [155, 156]
    assert table.frame["study_original"].tolist()[:2] == ["1", "1"]  # the numeric "study" column


def test_dat_pritz1997_single_group():
    table = read_wide(data_path("dat.pritz1997"))
    assert len(table.frame) == 14 and set(table.frame["treatment"]) == {"treatment"}
    assert table.frame["events"].tolist()[:3] == [16, 10, 4]
    assert table.frame["n"].tolist()[:3] == [17, 12, 8]
    assert table.frame["authors"].tolist()[0] == "Giannotta et al."
    arms = read_arms(data_path("dat.pritz1997"), columns={"study": "authors", "treatment": "study"}, single_group=True)
    assert len(arms.frame) == 14


def test_dat_raudenbush1985_precomputed():
    table = read_wide(data_path("dat.raudenbush1985"))
    assert isinstance(table, ContrastTable) and len(table.frame) == 19
    assert table.frame["estimate"].tolist()[:3] == [0.03, 0.12, -0.14]
    np.testing.assert_allclose(table.frame["se"] ** 2, [0.0156, 0.0216, 0.0279] + table.frame["se"].pow(2).tolist()[3:], rtol=1e-14)
    assert table.frame["se"].iloc[0] == math.sqrt(0.0156)
    assert table.frame["n1i"].tolist()[:2] == ["77", "60"]  # not used: kept as a covariate


def test_dat_yusuf1985_table_9():
    table = read_wide(data_path("dat.yusuf1985"), where={"table": "9"})
    assert len(table.studies) == 26 and len(table.frame) == 52
    assert [e.study for e in table.excluded] == ["Ayerst", "ISIS"]
    assert table.excluded[0].reason == "missing value(s): dat.yusuf1985.csv, row 47, columns 'ai', 'n1i', 'ci', 'n2i'"
    assert table.excluded[1].reason.startswith("missing value(s): dat.yusuf1985.csv, row 48")
    (warning,) = table.warnings
    assert warning.code == "missing_values" and warning.studies == ("Ayerst", "ISIS")
    # both 'id 3.5' rows (Norris 1 and Norris 2) are kept as separate studies; "3.10" stays text
    norris = table.frame[table.frame["id"] == "3.5"]
    assert norris["study"].unique().tolist() == ["Norris 1", "Norris 2"]
    assert "3.10" in table.frame["id"].tolist()
    # the studies metafor analyses (expected slabs), in the same order
    from tests.reference import expected

    assert list(table.studies) == expected("dat.yusuf1985")["analyses"]["table_9_OR"]["input"]["slab"]
    mia = table.frame[table.frame["study"] == "MIAMI"]
    assert mia["events"].tolist() == [74, 87] and mia["n"].tolist() == [2877, 2901]


def test_dat_yusuf1985_table_9_by_id_labels():
    table = read_wide(data_path("dat.yusuf1985"), where={"table": "9"}, columns={"study": "id"})
    assert "3.5 (row 28)" in table.studies and "3.5 (row 29)" in table.studies
    codes = [w.code for w in table.warnings]
    assert codes == ["duplicate_study_labels", "missing_values"]
    assert [e.study for e in table.excluded] == ["3.23", "3.24"]
    assert len(table.studies) == 26


def test_dat_yusuf1985_repeated_names_across_tables():
    table = read_wide(data_path("dat.yusuf1985"))  # all six meta-analyses at once
    assert sum(1 for w in table.warnings if w.code == "duplicate_study_labels") == 1
    assert len(table.studies) + len(table.excluded) == 130
    assert all(s not in table.studies for s in ("Ayerst", "ISIS"))


def test_dat_hasselblad1998_long_binary():
    table = read_arms(data_path("dat.hasselblad1998"))
    assert table.outcome_type == "binary"
    assert len(table.studies) == 24 and len(table.frame) == 50
    assert table.treatments == ("grp_counseling", "ind_counseling", "no_contact", "self_help")
    sizes = table.frame.groupby("study", sort=False).size()
    assert (sizes == 3).sum() == 2 and (sizes == 2).sum() == 22
    assert table.frame.iloc[0][["study", "treatment", "events", "n"]].tolist() == ["1", "no_contact", 75, 731]
    assert table.frame["authors"].iloc[0] == "Reid et al."
    assert table.warnings == () and table.excluded == ()


def test_dat_senn2013_long_continuous():
    table = read_arms(data_path("dat.senn2013"))
    assert table.outcome_type == "continuous"
    assert len(table.studies) == 26 and len(table.frame) == 53
    assert len(table.treatments) == 10
    row = table.frame.iloc[0]
    assert row[["study", "treatment", "mean", "sd", "n"]].tolist() == ["De Fronzo (1995)", "metformin", -1.7, 1.459, 213]
    assert table.frame["comment"].iloc[0] == "change"


def test_dat_linde2016_network_contrasts():
    table = read_contrasts(data_path("dat.linde2016"))
    assert table.is_network and len(table.frame) == 124 and len(table.studies) == 93
    assert table.frame.iloc[0][["study", "treatment1", "treatment2", "estimate", "se"]].tolist() == [
        "1", "TCA", "SNRI", -0.570249, 0.362066]
    treatments = set(table.frame["treatment1"]) | set(table.frame["treatment2"])
    assert len(treatments) == 22
    assert table.warnings == ()  # every multi-arm loop adds up
    explicit = read_contrasts(
        data_path("dat.linde2016"),
        columns={"study": "id", "estimate": "lnOR", "se": "selnOR", "treatment1": "treat1", "treatment2": "treat2"},
    )
    pd.testing.assert_frame_equal(explicit.frame, table.frame)


def _two_groups(table):
    """Arrays of the treatment (even) and control (odd) arms of a wide-derived table."""
    f = table.frame
    return f.iloc[0::2].reset_index(drop=True), f.iloc[1::2].reset_index(drop=True)


def _corrected(*cells):
    """metafor's add=1/2, to="only0": add 1/2 to every cell of a study with a zero cell."""
    zero = np.logical_or.reduce([c == 0 for c in cells])
    return [c + 0.5 * zero for c in cells]


def test_wide_readers_feed_metafor_the_same_numbers():
    """The arms read from the metadat files reproduce metafor's escalc input (yi, vi),
    computed here in closed form, to the closed-form tolerance."""
    from tests.reference import CLOSED, assert_close, expected

    t, c = _two_groups(read_wide(data_path("dat.bcg"), columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}))
    a, b, cc, d = _corrected(t.events, t.n - t.events, c.events, c.n - c.events)
    ref = expected("dat.bcg")["analyses"]["RR"]["input"]
    assert_close(np.log((a / (a + b)) / (cc / (cc + d))), ref["yi"], CLOSED, "bcg RR yi")
    assert_close(1 / a - 1 / (a + b) + 1 / cc - 1 / (cc + d), ref["vi"], CLOSED, "bcg RR vi")

    t, c = _two_groups(read_wide(data_path("dat.yusuf1985"), where={"table": "9"}))
    a, b, cc, d = _corrected(t.events, t.n - t.events, c.events, c.n - c.events)
    ref = expected("dat.yusuf1985")["analyses"]["table_9_OR"]["input"]
    assert_close(np.log(a * d / (b * cc)), ref["yi"], CLOSED, "yusuf OR yi")
    assert_close(1 / a + 1 / b + 1 / cc + 1 / d, ref["vi"], CLOSED, "yusuf OR vi")

    t, c = _two_groups(read_wide(data_path("dat.normand1999"), columns={"study": "source"}))
    ref = expected("dat.normand1999")["analyses"]["MD"]["input"]
    assert list(t.study) == ref["slab"]
    assert_close(t["mean"] - c["mean"], ref["yi"], CLOSED, "normand MD yi")
    assert_close(t.sd**2 / t.n + c.sd**2 / c.n, ref["vi"], CLOSED, "normand MD vi")

    arms = read_wide(data_path("dat.pritz1997")).frame
    x, rest = _corrected(arms.events, arms.n - arms.events)
    ref = expected("dat.pritz1997")["analyses"]["PLO"]["input"]
    assert_close(np.log(x / rest), ref["yi"], CLOSED, "pritz PLO yi")
    assert_close(1 / x + 1 / rest, ref["vi"], CLOSED, "pritz PLO vi")

    contrasts = read_wide(data_path("dat.raudenbush1985")).frame
    ref = expected("dat.raudenbush1985")["analyses"]["SMD"]["input"]
    assert_close(contrasts.estimate, ref["yi"], CLOSED, "raudenbush yi")
    assert_close(contrasts.se**2, ref["vi"], CLOSED, "raudenbush vi")


def test_a_table_read_earlier_keeps_pointing_at_its_file():
    table = read_arms(FIXTURES / "arms_binary.csv")
    edited = table.frame.copy()
    edited.loc[3, "events"] = 200  # Baker 2005, drug A: now more events than patients
    with pytest.raises(DataError) as info:
        read_arms(edited)
    (issue,) = info.value.issues
    assert (issue.file, issue.row, issue.study, issue.column) == ("arms_binary.csv", 5, "Baker 2005", "events")
    again = read_arms(table.frame)
    pd.testing.assert_frame_equal(again.frame, table.frame)
    # several files cannot be one RawTable's file: the frame's own rows are used instead
    mixed = table.frame.assign(source_file=["a.csv", "b.csv"] * 2 + ["a.csv"])
    assert as_raw(mixed).file == "<data frame>"
