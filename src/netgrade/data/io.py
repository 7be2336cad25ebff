"""From a file (or a data frame) to a raw table whose columns have known roles.

This module reads; it does not judge.  Values are kept as read -- text from CSV,
text or numbers from XLSX and JSON -- so that validation (:mod:`netgrade.data.validate`)
can say exactly which cell is not a number.  What it does settle:

* **Row numbers.**  Every record keeps the row a spreadsheet would show: the header is
  row 1 and the first record row 2 (blank lines count, as they do in a spreadsheet;
  for XLSX the sheet's own row numbers).  For JSON, and for data frames passed in
  directly, the row is the 1-based position of the record.
* **Missing values.**  A cell is missing when it is empty or, ignoring case and
  surrounding spaces, one of :data:`MISSING_TOKENS`: ``NA``, ``N/A``, ``NaN``, ``.``,
  ``-`` (also JSON ``null``, empty XLSX cells and NaN in a data frame).  Surrounding
  spaces of every text cell are removed.
* **Column roles.**  :func:`resolve_columns` finds, for each canonical role
  (``study``, ``events``, ...), the file's column: an explicit ``columns=`` mapping
  first, then the aliases of :data:`netgrade.data.schema.COLUMN_ALIASES`.
* **Row filters.**  :func:`filter_rows` applies a ``where={"column": value}`` filter.

Formats: ``.csv``, ``.tsv``, ``.txt`` (delimiter sniffed from the header among comma,
tab, semicolon and bar; UTF-8 with or without a byte-order mark), ``.xlsx`` (needs
openpyxl: ``pip install netgrade[excel]``) and ``.json`` (a list of records,
``{"records": [...]}``, or a dict of equal-length column lists).
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, DataIssue
from .schema import COLUMN_ALIASES, SOURCE_FILE, SOURCE_ROW

#: Cell contents read as "missing" (compared ignoring case and surrounding spaces).
MISSING_TOKENS = ("", "NA", "N/A", "NaN", ".", "-")
_MISSING = frozenset(token.lower() for token in MISSING_TOKENS)

DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")
SUPPORTED_SUFFIXES = DELIMITED_SUFFIXES + (".xlsx", ".json")
_DELIMITERS = (",", "\t", ";", "|")
FRAME_SOURCE = "<data frame>"


@dataclass(frozen=True, eq=False)
class RawTable:
    """A table as read: original column names, values as read, missing cells ``None``.

    ``rows[i]`` is the spreadsheet-style row number of ``frame.iloc[i]`` (see the
    module docstring); ``file`` is the name used in messages (the file's name, or
    ``"<data frame>"``).
    """

    frame: pd.DataFrame
    file: str
    rows: tuple[int, ...]
    path: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.frame.columns)

    def __len__(self) -> int:
        return len(self.rows)

    def select(self, keep: Sequence[bool] | np.ndarray) -> "RawTable":
        """The records where ``keep`` is true, row numbers carried along."""
        mask = np.asarray(keep, dtype=bool)
        frame = self.frame.loc[mask].reset_index(drop=True)
        rows = tuple(r for r, k in zip(self.rows, mask) if k)
        return RawTable(frame, self.file, rows, self.path)


# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------


def clean_cell(value: Any) -> Any:
    """Normalise one cell: missing tokens and NaN become ``None``, text is stripped,
    numpy scalars become Python scalars; everything else is kept as read."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        text = value.strip()
        return None if text.lower() in _MISSING else text
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def as_label(value: Any) -> str | None:
    """A cell as a label (study, treatment, ``where`` value): text as is, whole
    numbers without a decimal point (an XLSX ``1.0`` is study ``"1"``)."""
    value = clean_cell(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------


def read_table(path: str | Path, sheet: str | int | None = None) -> RawTable:
    """Read a CSV/TSV/TXT, XLSX or JSON file into a :class:`RawTable`.

    ``sheet`` selects an XLSX worksheet by name or 0-based position (default: the
    first).  Raises :class:`DataError` naming the file when it does not exist, cannot be
    read, has an unknown extension, is empty, or has a header but no records.
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        hint = " (save it as .xlsx or .csv)" if suffix in (".xls", ".ods") else ""
        raise DataError(
            f"{name}: cannot read files of type {suffix or '(no extension)'!r}{hint}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if sheet is not None and suffix != ".xlsx":
        raise DataError(f"{name}: sheet={sheet!r} applies only to .xlsx files")
    if not path.exists():
        raise DataError(f"{name}: file not found ({path})")
    if not path.is_file():
        raise DataError(f"{name}: not a file ({path})")
    try:
        if suffix == ".xlsx":
            header, records, rows = _read_xlsx(path, sheet)
        elif suffix == ".json":
            header, records, rows = _read_json(path)
        else:
            header, records, rows = _read_delimited(path)
    except OSError as exc:
        raise DataError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    return _build(header, records, rows, name, str(path))


def as_raw(data: "str | Path | pd.DataFrame | RawTable", sheet: str | int | None = None) -> RawTable:
    """Accept a path, a pandas DataFrame or a RawTable and return a RawTable.

    A DataFrame's cells are cleaned like a file's (missing tokens, NaN, spaces); its rows
    are numbered 1, 2, ... in their current order.  A frame that already carries
    ``source_file`` (one file) and ``source_row`` columns -- a table netgrade read
    earlier, perhaps edited -- keeps pointing at that file and those rows.
    """
    if isinstance(data, RawTable):
        return data
    if isinstance(data, pd.DataFrame):
        name, rows = FRAME_SOURCE, list(range(1, len(data) + 1))
        origin = _origin(data)
        if origin is not None:
            name, rows = origin
            data = data.drop(columns=[SOURCE_FILE, SOURCE_ROW])
        header = [str(c).strip() for c in data.columns]
        records = [list(r) for r in data.itertuples(index=False, name=None)]
        return _build(header, records, rows, name, None)
    if isinstance(data, (str, Path)):
        return read_table(data, sheet=sheet)
    raise TypeError(f"expected a file path, a pandas DataFrame or a RawTable, not {type(data).__name__}")


def _origin(frame: pd.DataFrame) -> tuple[str, list[int]] | None:
    """(file, rows) from a frame's source columns, if they name one file and whole rows."""
    if SOURCE_FILE not in frame.columns or SOURCE_ROW not in frame.columns or frame.empty:
        return None
    files = frame[SOURCE_FILE].dropna().unique()
    try:
        rows = [int(r) for r in frame[SOURCE_ROW]]
    except (TypeError, ValueError):
        return None
    if len(files) != 1 or frame[SOURCE_FILE].isna().any() or any(float(r) != v for r, v in zip(rows, frame[SOURCE_ROW])):
        return None
    return str(files[0]), rows


def _build(header: list, records: list[list], rows: list[int], name: str, path: str | None) -> RawTable:
    """Check the header, clean the cells and assemble the RawTable."""
    if not header:
        raise DataError(f"{name}: the file is empty")
    width = len(header)
    records = [list(r) + [None] * (width - len(r)) for r in records]
    cleaned = [[clean_cell(v) for v in r] for r in records]
    # A nameless column that holds nothing is an artefact (trailing delimiters);
    # a nameless column that holds data cannot be referred to, so it is an error.
    names = ["" if h is None else str(h).strip() for h in header]
    keep, issues = [], []
    for j, h in enumerate(names):
        if h:
            keep.append(j)
            continue
        filled = [rows[i] for i, r in enumerate(cleaned) if r[j] is not None]
        if filled:
            issues.append(
                DataIssue(f"column {j + 1} has no name in the header but holds values", name, filled[0])
            )
    seen: dict[str, int] = {}
    for j in keep:
        if names[j] in seen:
            issues.append(
                DataIssue(
                    f"the header names column {names[j]!r} twice (columns {seen[names[j]] + 1} and {j + 1})",
                    name,
                    column=names[j],
                )
            )
        seen.setdefault(names[j], j)
    if issues:
        raise DataError(f"{name}: the header cannot be used", issues)
    if not keep:
        raise DataError(f"{name}: the file is empty")
    if not cleaned:
        raise DataError(f"{name}: the file has a header but no records")
    frame = pd.DataFrame([[r[j] for j in keep] for r in cleaned], columns=[names[j] for j in keep], dtype=object)
    return RawTable(frame, name, tuple(int(r) for r in rows), path)


def _read_delimited(path: Path) -> tuple[list, list[list], list[int]]:
    name = path.name
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}: the file is not UTF-8 text (byte {exc.start}); save it as UTF-8 "
            "('CSV UTF-8' in Excel)"
        ) from exc
    if not text.strip():
        raise DataError(f"{name}: the file is empty")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter)
    header: list | None = None
    records, rows, issues = [], [], []
    try:
        for number, fields in enumerate(reader, start=1):
            if not any(f.strip() for f in fields):
                continue  # a blank line still counts as a row, as in a spreadsheet
            if header is None:
                header = fields
                continue
            if len(fields) > len(header) and any(f.strip() for f in fields[len(header):]):
                issues.append(
                    DataIssue(
                        f"{len(fields)} values but the header has {len(header)} columns"
                        + _delimiter_hint(delimiter, fields),
                        name,
                        number,
                    )
                )
                continue
            records.append(fields[: len(header)])
            rows.append(number)
    except csv.Error as exc:
        raise DataError(f"{name}: not a readable delimited text file ({exc})") from exc
    if issues:
        raise DataError(f"{name}: some rows do not fit the header", issues)
    return header or [], records, rows


def _delimiter_hint(delimiter: str, fields: list[str]) -> str:
    if delimiter == ",":
        return " (a decimal comma in a comma-separated file? use '.' or quote the value)"
    return ""


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most fields (comma on ties).

    Counting fields with the csv parser itself respects quoted names that contain a
    delimiter, which csv.Sniffer's heuristics do not always do.
    """
    first = next((line for line in text.splitlines() if line.strip()), "")
    best, width = ",", 1
    for delimiter in _DELIMITERS:
        fields = next(csv.reader([first], delimiter=delimiter), [])
        if len(fields) > width:
            best, width = delimiter, len(fields)
    return best


def _read_xlsx(path: Path, sheet: str | int | None) -> tuple[list, list[list], list[int]]:
    name = path.name
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching
        raise DataError(
            f"{name}: reading .xlsx files needs openpyxl: pip install netgrade[excel]"
        ) from exc
    import zipfile

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DataError(f"{name}: not a readable .xlsx workbook ({exc})") from exc
    except Exception as exc:  # openpyxl's InvalidFileException and friends
        raise DataError(f"{name}: not a readable .xlsx workbook ({exc})") from exc
    try:
        sheets = workbook.sheetnames
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(sheets):
                raise DataError(f"{name}: no sheet number {sheet} (0-based); sheets: {', '.join(sheets)}")
            worksheet = workbook.worksheets[sheet]
        elif sheet in sheets:
            worksheet = workbook[sheet]
        else:
            raise DataError(f"{name}: no sheet named {sheet!r}; sheets: {', '.join(sheets)}")
        header: list | None = None
        records, rows = [], []
        for number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1):
            if all(clean_cell(v) is None for v in values):
                continue
            if header is None:
                header = list(values)
                continue
            records.append(list(values))
            rows.append(number)
    finally:
        workbook.close()
    width = len(header or [])
    # read-only worksheets can report rows longer than the header (formatted cells)
    for i, r in enumerate(records):
        extra = [v for v in r[width:] if clean_cell(v) is not None]
        if extra:
            raise DataError(
                f"{name}: values to the right of the last named column",
                [DataIssue(f"{len(extra)} value(s) beyond the header's {width} columns", name, rows[i])],
            )
        records[i] = r[:width]
    return header or [], records, rows


def _read_json(path: Path) -> tuple[list, list[list], list[int]]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: the file is not UTF-8 text") from exc
    if not text.strip():
        raise DataError(f"{name}: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if isinstance(data, dict) and isinstance(data.get("records"), list) and (
        len(data) == 1 or all(isinstance(r, dict) for r in data["records"])
    ):
        data = data["records"]
    if isinstance(data, list):
        return _json_records(data, name)
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        return _json_columns(data, name)
    raise DataError(
        f"{name}: expected a list of records, {{\"records\": [...]}}, or a dict of "
        "equal-length column lists"
    )


def _json_records(data: list, name: str) -> tuple[list, list[list], list[int]]:
    if not data:
        raise DataError(f"{name}: the file has no records")
    issues = [
        DataIssue(f"record is a {type(r).__name__}, not an object of column: value pairs", name, i)
        for i, r in enumerate(data, start=1)
        if not isinstance(r, dict)
    ]
    if issues:
        raise DataError(f"{name}: not a list of records", issues)
    header = list(dict.fromkeys(str(k) for r in data for k in r))
    records = [[r.get(h) for h in header] for r in data]
    _check_json_scalars(header, records, name)
    return header, records, list(range(1, len(records) + 1))


def _json_columns(data: dict, name: str) -> tuple[list, list[list], list[int]]:
    lengths = {k: len(v) for k, v in data.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k!r}: {n}" for k, n in lengths.items())
        raise DataError(f"{name}: the column lists differ in length ({shown})")
    header = [str(k) for k in data]
    records = [list(r) for r in zip(*data.values())]
    if not records:
        raise DataError(f"{name}: the file has no records")
    _check_json_scalars(header, records, name)
    return header, records, list(range(1, len(records) + 1))


def _check_json_scalars(header: list, records: list[list], name: str) -> None:
    issues = [
        DataIssue(f"a cell must be a single value, not a {type(v).__name__}", name, i, column=h)
        for i, r in enumerate(records, start=1)
        for h, v in zip(header, r)
        if isinstance(v, (list, dict))
    ]
    if issues:
        raise DataError(f"{name}: nested values cannot be read as a table", issues)


# ---------------------------------------------------------------------------
# Column roles
# ---------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """Column names compared ignoring case, spaces, dots, underscores and hyphens."""
    return re.sub(r"[\s._\-]+", "", str(name)).lower()


def resolve_columns(
    raw: RawTable,
    roles: Iterable[str],
    columns: Mapping[str, str] | None = None,
    aliases: Mapping[str, Sequence[Sequence[str]]] = COLUMN_ALIASES,
) -> dict[str, str]:
    """Map each role in ``roles`` that the file has to the file's column name.

    ``columns`` (role -> file column) is used first and must name existing columns;
    roles it does not mention are looked up in ``aliases`` (tiers of names, see
    :data:`netgrade.data.schema.COLUMN_ALIASES`; a role without aliases is matched by its
    own name).  Roles not found are absent from the result: the caller decides which
    are required (see :func:`require_roles`).  Raises :class:`DataError` for a mapping
    key that is not a role of this reader, a mapped column that does not exist, one
    column mapped to two roles, or two columns matching a role in the same tier.
    """
    roles = list(dict.fromkeys(roles))
    columns = dict(columns or {})
    available = raw.columns
    unknown = [k for k in columns if k not in roles]
    if unknown:
        raise DataError(
            f"{raw.file}: columns= names {', '.join(map(repr, unknown))}, which this reader does not use; "
            f"it understands: {', '.join(roles)}"
        )
    found: dict[str, str] = {}
    for role, column in columns.items():
        if column not in available:
            near = [c for c in available if normalise_name(c) == normalise_name(column)]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise DataError(
                f"{raw.file}: columns= maps {role!r} to {column!r}, which is not a column of the file"
                f"{hint}; available columns: {', '.join(map(repr, available))}"
            )
        found[role] = column
    clashes = {c: [r for r, col in found.items() if col == c] for c in found.values()}
    clashes = {c: rs for c, rs in clashes.items() if len(rs) > 1}
    if clashes:
        column, rs = next(iter(clashes.items()))
        raise DataError(f"{raw.file}: columns= maps {' and '.join(map(repr, rs))} to the same column {column!r}")
    taken = set(found.values())
    for role in roles:
        if role in found:
            continue
        for tier in aliases.get(role, ((role,),)):
            names = {normalise_name(a) for a in tier}
            matches = [c for c in available if c not in taken and normalise_name(c) in names]
            if len(matches) > 1:
                raise DataError(
                    f"{raw.file}: columns {', '.join(map(repr, matches))} could each be the {role!r} column; "
                    f"say which one with columns={{{role!r}: {matches[0]!r}}}"
                )
            if matches:
                found[role] = matches[0]
                taken.add(matches[0])
                break
    return found


def require_roles(raw: RawTable, found: Mapping[str, str], needed: Iterable[str], what: str) -> None:
    """Raise a DataError listing the roles in ``needed`` that ``found`` lacks."""
    absent = [r for r in needed if r not in found]
    if not absent:
        return
    lines = []
    for role in absent:
        names = [a for tier in COLUMN_ALIASES.get(role, ((role,),)) for a in tier]
        lines.append(f"{role!r} (recognised names: {', '.join(names)})")
    raise DataError(
        f"{raw.file}: cannot find the column(s) {what} needs: {'; '.join(lines)}. "
        f"Available columns: {', '.join(map(repr, raw.columns))}. "
        "Name them with columns={'role': 'column in your file'}."
    )


# ---------------------------------------------------------------------------
# Row filters
# ---------------------------------------------------------------------------


def filter_rows(raw: RawTable, where: Mapping[str, Any] | None, roles: Mapping[str, str] | None = None) -> RawTable:
    """Keep the records whose columns equal the given value(s): ``{"table": "9"}`` or
    ``{"table": ["6", "9"]}``.  Values are compared as labels (text; whole numbers
    without a decimal point).  A key may be the file's column name or a role that was
    resolved (names must match exactly); an unknown column, or a filter that leaves no record, is a DataError."""
    if not where:
        return raw
    keep = np.ones(len(raw), dtype=bool)
    for key, wanted in where.items():
        column = _where_column(raw, key, roles or {})
        values = wanted if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
        accepted = {as_label(v) for v in values}
        cells = [as_label(v) for v in raw.frame[column]]
        keep &= np.array([c in accepted for c in cells], dtype=bool)
    if not keep.any():
        present = []
        for key in where:
            column = _where_column(raw, key, roles or {})
            labels = list(dict.fromkeys(l for l in map(as_label, raw.frame[column]) if l is not None))
            shown = ", ".join(map(repr, labels[:20])) + (" ..." if len(labels) > 20 else "")
            present.append(f"column {column!r} holds {shown}")
        raise DataError(f"{raw.file}: no record matches where={dict(where)!r}; " + "; ".join(present))
    return raw.select(keep)


def _where_column(raw: RawTable, key: str, roles: Mapping[str, str]) -> str:
    if key in raw.columns:
        return key
    if key in roles:
        return roles[key]
    near = [c for c in raw.columns if normalise_name(c) == normalise_name(key)]
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise DataError(
        f"{raw.file}: where= names column {key!r}, which the file does not have{hint}; "
        f"available columns: {', '.join(map(repr, raw.columns))}"
    )
