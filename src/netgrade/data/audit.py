"""Extraction audit: compare two independent extractions, reconcile them, and check one
for numbers that cannot be right.

Issue 6 of the spine dispute was that "one trial's data were mis-extracted".  Double data
extraction by two reviewers, with disagreements resolved by discussion, is the standard
remedy (Cochrane Handbook, version 6.4, chapter 5; Buscemi N, Hartling L, Vandermeer B,
Tjosvold L, Klassen TP. Single data extraction generated more errors than double data
extraction in systematic reviews.  J Clin Epidemiol 2006;59:697-703).  This module makes
both halves of that remedy checkable:

* :func:`compare_extractions` lines up two extraction files row by row (arm level:
  ``study, treatment``; contrast level: ``study, treatment1, treatment2``) and lists every
  disagreement -- rows present in one file only, cells that differ beyond a tolerance,
  treatment labels that differ -- with the row of each file (spreadsheet numbering, as the
  readers count: the header is row 1), the study, the column and both values.
* :func:`reconcile` resolves each disagreement by an explicit choice ("a", "b" or a value)
  *with a reason*; anything left unresolved is an error that lists it.
  :func:`write_reconciled` writes the reconciled table (and the decisions) as CSV, so that
  the re-analysis with file a, file b or the reconciled file is the same pipeline run on a
  different file.
* :func:`plausibility_checks` looks at one arm-level (or contrast-level) extraction on its
  own for the classic extraction errors listed below, each flag naming the check, its
  severity, the file, row, study, treatment and column, the numbers and a reason in words.

Comparison rules
----------------
* Columns are matched by role (``n`` in one file and ``sample_size`` in the other are the
  same column; the aliases are those of :data:`netgrade.data.schema.COLUMN_ALIASES`),
  otherwise by name ignoring case, spaces, dots, underscores and hyphens.  Columns present
  in one file only are listed (``columns_only_a`` / ``columns_only_b``), not compared.
* Two cells that both read as numbers are compared as numbers: ``"5"`` equals ``"5.0"``.
  The default is *exact* (up to 1e-12 relative, floating-point noise); ``tolerances``
  sets an absolute and/or relative tolerance per column (cells agree when the difference
  is within either), and ``"*"`` a default for every real-valued column.  Counts and group
  sizes (``n``, ``events``) stay exact unless a tolerance names them.  Anything else is
  compared as text, exactly (``"Sham"`` is not ``"sham"``: the validator treats them as
  different treatments too).  An empty cell against a filled one is a discrepancy.
* Rows of the same study whose treatment labels differ but are similar (difflib ratio
  >= 0.8, e.g. ``placebo`` / ``plaecbo``), or that are the only unmatched row of the study
  on each side and agree in every other field, are paired and reported as one ``label``
  discrepancy (then compared field by field) instead of a missing and an extra arm.  Study
  labels are never paired: a study whose label differs is "only in a" and "only in b",
  with a hint naming the similar label.
* Contrast rows match whatever their orientation: ``A vs B`` in one file and ``B vs A`` in
  the other are the same comparison; b's estimate is reversed before the comparison
  (``-x`` and swapped, negated CI bounds for differences, ``1/x`` for ratios on the natural
  scale, ``contrast_scale="ratio"``) and the pair is listed in ``reversed``.
* A key that occurs twice in one file: the first row is compared, each further row is a
  ``duplicate_in_a`` / ``duplicate_in_b`` discrepancy.

Plausibility checks (codes, severities and thresholds; all thresholds in :class:`Thresholds`)
-----------------------------------------------------------------------------------------
``sd_looks_like_se`` (warning)
    The classic swap of a standard error for a standard deviation (SE = SD/sqrt(n)).  Two
    independent signals, either suffices:

    *Siblings*: the arm's SD is at least 2.5 times smaller than the median SD of the other
    arms of its study, **and** sd*sqrt(n) is within a factor 1.5 of that median.  Arms of a
    randomised trial measure the same outcome in comparable patients, so their SDs rarely
    differ by more than a factor of about 1.5; a factor of 2.5 is far outside that, and the
    second condition asks that the value be exactly what an SE of a sibling-sized SD would
    be.  When the scale range is known, the SDs are first divided by the largest SD
    possible at each arm's mean (below), because an arm at the floor or ceiling of a
    scale (everyone pain-free at follow-up) legitimately has a small SD; without a scale
    range such arms can be flagged, so give ``scale_min``/``scale_max``.  Arms with fewer
    than 10 participants are not judged: an SE is then at most about 3 times smaller
    than the SD, and a small sample's SD is itself too variable (its sampling CV is about
    1/sqrt(2(n-1))).  Checked by simulation when the thresholds were set: three sets of
    400 simulated trials with integer 0-10 scores (beta-binomial, floor and ceiling
    effects included; in one set the arms of a trial differ up to 16-fold in dispersion)
    raised no flag, while an SE put in place of any single SD of the shipped spine data
    is flagged (every one of the 169 arms).

    *Scale*: on a bounded scale [a, b] the largest possible SD at mean m is
    sqrt((m-a)(b-m)) (Bhatia R, Davis C. A better bound on the variance. Am Math Monthly
    2000;107:353-357).  Patient-reported scores spread over a good part of that room (a
    uniform spread gives 0.58 of it, a pain VAS with SD 2.5 at mean 5 gives 0.5); an SD
    below 0.10 of the maximum means nearly every patient scored the same, whereas an SE
    of an ordinary SD from an arm of 25 or more patients lands there.  Flagged when
    sd < 0.10 x max **and** sd*sqrt(n) lies between 0.10 x max and the maximum itself (so
    that reading the value as an SE gives a possible SD).  The scale must be the
    instrument's range, not a physiological range (HbA1c in % is not a 0-100 scale).
``mean_outside_scale`` (error)
    A mean below scale_min or above scale_max (columns, or ``scale=``).
``sd_exceeds_maximum`` (error)
    An SD above the largest one possible on the bounded scale at that mean:
    sqrt(n/(n-1) (m-a)(b-m)) for the sample SD (Bhatia & Davis 2000; the factor n/(n-1)
    turns the population bound into one for the usual sample SD), allowing for the
    rounding of the reported mean and SD (half a unit of their last decimal).
``sd_not_positive``, ``n_not_positive``, ``events_impossible`` (error); ``n_not_integer``
(warning)
    SD <= 0; group size <= 0; events < 0 or above n; a group size that is not a whole
    number (an effective sample size from a cluster adjustment can be legitimate, hence a
    warning).
``arm_sizes_total`` (warning)
    The arm sizes of a study do not add up to the study's reported total (``n_total`` in
    the studies table; exact, or within ``Thresholds.n_total_tolerance``).  A sum below
    the total can be attrition or an arm left out; a sum above it cannot be attrition.
``grim_inconsistent`` (error)
    The GRIM test (Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects
    numerous anomalies in the reporting of results in psychology.  Soc Psychol Personal
    Sci 2017;8:363-369): the mean of n integer scores is a multiple of 1/n (of 1/(n k) if
    each score is the mean of k integer items), so not every value with D decimals can
    occur.  Run only when ``integer_scored=`` says so (``True`` for integer scores, an
    integer k for a mean of k integer items); a 10 cm VAS or a converted scale is not
    integer-scored.  Decimals are counted from the cell as written (``"4.10"`` has two);
    a number held as a float has lost trailing zeros, which only makes the test more
    lenient, and a float with more than six decimals (arithmetic noise) is not tested.
    Rounding convention: the reported mean is consistent if some attainable mean lies in
    the closed interval [m - h, m + h] with h half a unit of the last decimal, so ties
    rounded up, down or to even are all accepted (``rounding="nearest"``, the default);
    ``rounding="truncate"`` accepts means that were cut off instead, [m, m + 2h) away
    from zero.  The test has no power when n k >= 10^D (every value is attainable); such
    rows are counted as not testable.  Exact rational arithmetic, no floating point.
``ci_wrong_scale`` (warning), ``estimate_outside_ci`` / ``ci_invalid`` (error)
    Rows with an estimate (or, in arm data, a mean) and ``ci_low, ci_high``.  A ratio
    reported on its natural scale (OR, RR, HR, IRR, ROM; ``measure`` column or
    ``measure=``) has an interval symmetric on the log scale; a difference (MD, SMD, RD,
    a log ratio, a mean) one symmetric on the natural scale.  Flagged when the estimate
    is off the midpoint of the claimed scale by more than 10% of the half-width (beyond
    what the rounding of the three numbers allows) but within 5% (plus rounding) of the
    midpoint on the other scale: then the interval was almost certainly made on the
    other scale (a ratio's interval computed as estimate +- 1.96 SE, or a log ratio, or a
    ratio typed into a difference column).  Narrow intervals, where the two scales
    cannot be told apart, are never flagged; intervals asymmetric on both scales (exact
    or profile-likelihood ones) are not flagged either.
``duplicate_trial`` (warning), ``duplicate_study_id`` / ``duplicate_arm`` (error)
    Two studies with the same number of arms whose arm data (n, mean, sd; or n, events),
    matched after sorting, are identical or near-identical (n equal, means and SDs within
    1% or the rounding of the coarser value): a duplicate publication or a copy-paste of
    rows.  Treatment labels are ignored.  The same study id used for two sets of the
    same arms (``duplicate_study_id``; also a study id twice in the studies table) and
    the same treatment twice in a study (``duplicate_arm``).
``not_a_number`` (error)
    A cell that should hold a number and does not (see :mod:`netgrade.data.validate`).

Checks whose columns are absent are listed in ``skipped`` with the reason, so that "no
flags" never means "not looked at".
"""

from __future__ import annotations

import dataclasses
import difflib
import html
import math
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from .._result import ResultMixin, jsonable
from ..errors import DataError, DataIssue
from .io import RawTable, as_label, as_raw, clean_cell, normalise_name, resolve_columns
from .scales import Scale
from .schema import (
    COLUMN_ALIASES,
    ESTIMATE,
    EVENTS,
    MEAN,
    N,
    SCALE_MAX,
    SCALE_MIN,
    SD,
    SE,
    STUDY,
    TIME,
    TREATMENT,
    TREATMENT1,
    TREATMENT2,
    VI,
    ArmTable,
    ContrastTable,
    StudyTable,
)
from .validate import parse_number

__all__ = [
    "Tolerance",
    "Discrepancy",
    "ExtractionComparison",
    "Choice",
    "Decision",
    "Reconciliation",
    "Thresholds",
    "Flag",
    "PlausibilityReport",
    "compare_extractions",
    "reconcile",
    "write_reconciled",
    "plausibility_checks",
    "grim_consistent",
    "max_sd",
]

CI_LOW = "ci_low"
CI_HIGH = "ci_high"
MEASURE = "measure"
N_TOTAL = "n_total"

#: Column aliases used by the audit: the readers' plus interval bounds and the measure.
AUDIT_ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
    **COLUMN_ALIASES,
    CI_LOW: ((CI_LOW,), ("ci_lb", "ci_lower", "lower", "lower_ci", "lcl", "lci"), ("ll", "lo", "low")),
    CI_HIGH: ((CI_HIGH,), ("ci_ub", "ci_upper", "upper", "upper_ci", "ucl", "uci"), ("ul", "hi", "high")),
    MEASURE: ((MEASURE,), ("sm", "effect_measure", "metric")),
    N_TOTAL: ((N_TOTAL,), ("total_n", "n_randomised", "n_randomized", "randomised", "randomized")),
}
COMPARE_ROLES = (STUDY, TREATMENT, TREATMENT1, TREATMENT2, N, EVENTS, MEAN, SD, SE, VI, ESTIMATE,
                 CI_LOW, CI_HIGH, TIME, SCALE_MIN, SCALE_MAX, MEASURE)
#: Columns compared exactly unless a tolerance names them.
INTEGER_ROLES = frozenset({N, EVENTS, N_TOTAL})
#: Measures whose natural scale is a ratio (their CI is symmetric on the log scale).
RATIO_MEASURES = frozenset({"OR", "RR", "HR", "IRR", "ROM", "RATIO", "PETO", "PR", "ODDSRATIO",
                            "RISKRATIO", "HAZARDRATIO", "RATEORATIO", "RATIOOFMEANS"})
#: Measures on an additive scale (CI symmetric on the natural scale).
DIFFERENCE_MEASURES = frozenset({"MD", "SMD", "SMDH", "RD", "DIFFERENCE", "MEANDIFFERENCE", "MEAN",
                                 "GEN", "WMD", "RISKDIFFERENCE", "STANDARDISEDMEANDIFFERENCE",
                                 "STANDARDIZEDMEANDIFFERENCE"})
_NOISE = 1e-12


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _raw(data: Any) -> RawTable:
    """A RawTable from a path, a data frame, a RawTable or a table netgrade read
    (ArmTable, ContrastTable, StudyTable: their source file and rows are kept)."""
    if isinstance(data, (ArmTable, ContrastTable, StudyTable)):
        return as_raw(data.frame)
    return as_raw(data)


def _number(cell: Any) -> tuple[float | None, str | None]:
    return parse_number(clean_cell(cell))


def _decimals(cell: Any) -> int | None:
    """Decimals as written: ``"4.10"`` -> 2, ``"12"`` -> 0; a float from its shortest
    representation (trailing zeros lost); None for exponent notation or float noise
    (more than six decimals)."""
    cell = clean_cell(cell)
    if cell is None or isinstance(cell, bool):
        return None
    if isinstance(cell, (int, np.integer)):
        return 0
    if isinstance(cell, str):
        text = cell.strip().lstrip("+-")
        if "e" in text.lower():
            return None
        return len(text.split(".", 1)[1]) if "." in text else 0
    if isinstance(cell, (float, np.floating)):
        if not math.isfinite(float(cell)):
            return None
        text = np.format_float_positional(float(cell), unique=True, trim="-")
        d = len(text.split(".", 1)[1]) if "." in text else 0
        return d if d <= 6 else None
    return None


def _half_unit(cell: Any) -> float:
    d = _decimals(cell)
    return 0.0 if d is None else 0.5 * 10.0 ** (-d)


def _fmt(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    return str(value)


def _plural(k: int, word: str, plural: str | None = None) -> str:
    return f"{k} {word if k == 1 else (plural or word + 's')}"


# ---------------------------------------------------------------------------
# Comparison of two extractions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """How far two numbers may differ and still agree: within ``absolute`` or within
    ``relative`` times the larger magnitude (either suffices, as :func:`math.isclose`).
    ``Tolerance()`` is exact (up to 1e-12 relative floating-point noise)."""

    absolute: float = 0.0
    relative: float = 0.0

    def __post_init__(self) -> None:
        for name in ("absolute", "relative"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"tolerance {name} must be a finite number >= 0, not {value!r}")

    def allows(self, x: float, y: float) -> bool:
        scale = max(abs(x), abs(y))
        return abs(x - y) <= max(self.absolute, self.relative * scale) + _NOISE * max(1.0, scale)

    @property
    def exact(self) -> bool:
        return self.absolute == 0 and self.relative == 0

    def describe(self) -> str:
        if self.exact:
            return "exact"
        parts = []
        if self.absolute:
            parts.append(f"absolute {self.absolute:g}")
        if self.relative:
            parts.append(f"relative {self.relative:g}")
        return " or ".join(parts)

    @classmethod
    def parse(cls, spec: Any) -> "Tolerance":
        """A number (absolute), ``(absolute, relative)``, ``{"abs": .., "rel": ..}`` or a Tolerance."""
        if isinstance(spec, Tolerance):
            return spec
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            return cls(float(spec), 0.0)
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"abs", "rel", "absolute", "relative"}
            if unknown:
                raise ValueError(f"tolerance keys are 'abs' and 'rel', not {sorted(unknown)}")
            return cls(float(spec.get("abs", spec.get("absolute", 0.0))), float(spec.get("rel", spec.get("relative", 0.0))))
        if isinstance(spec, (tuple, list)) and len(spec) == 2:
            return cls(float(spec[0]), float(spec[1]))
        raise ValueError(
            f"cannot read the tolerance {spec!r}: give a number (absolute), (absolute, relative), "
            "{'abs': ..., 'rel': ...} or Tolerance(...)"
        )


KINDS = ("only_in_a", "only_in_b", "duplicate_in_a", "duplicate_in_b", "label", "value")
_KIND_RANK = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Discrepancy:
    """One disagreement between extraction a and extraction b.

    ``kind``: ``only_in_a`` / ``only_in_b`` (a row one file lacks), ``duplicate_in_a`` /
    ``duplicate_in_b`` (a key twice in one file), ``label`` (rows paired although a key
    label differs, e.g. a misspelt treatment) or ``value`` (a cell that differs).
    ``key`` holds the key labels (those of file a for paired rows), ``column`` the
    compared column (the canonical role name where the column has one, else file a's
    name; ``None`` for row-level kinds), ``column_a`` / ``column_b`` the files' own names,
    ``row_a`` / ``row_b`` the spreadsheet rows (None where the file has no such row),
    ``difference`` = b - a for numbers.  ``id`` is what :func:`reconcile` expects in its
    ``choices``.
    """

    kind: str
    id: str
    study: str | None
    key: tuple[str | None, ...]
    column: str | None
    value_a: Any
    value_b: Any
    row_a: int | None
    row_b: int | None
    message: str
    column_a: str | None = None
    column_b: str | None = None
    difference: float | None = None

    def __str__(self) -> str:
        return f"[{self.id}] {self.message}"

    def to_dict(self) -> dict:
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class _Field:
    name: str
    col_a: str
    col_b: str
    role: str | None


@dataclass(frozen=True, eq=False)
class _Plan:
    """What :func:`reconcile` needs to rebuild a table: the raw tables, the matched rows
    and, per discrepancy id, the rows it concerns."""

    raw_a: RawTable
    raw_b: RawTable
    ci_b: Mapping[str, str | None]
    key_a: tuple[str, ...]
    key_b: tuple[str, ...]
    fields: tuple[_Field, ...]
    only_b_columns: tuple[str, ...]
    pairs: tuple[tuple[int, int, bool], ...]
    rows_of: Mapping[str, tuple[int | None, int | None]]
    contrast_scale: str


@dataclass(frozen=True, eq=False)
class ExtractionComparison(ResultMixin):
    """Two extractions compared row by row and field by field.

    ``discrepancies`` are sorted by study, key and column; ``counts`` gives them by kind,
    ``by_study`` / ``by_field`` grouped.  ``matched`` is the number of row pairs compared,
    ``reversed`` the contrast pairs that file b orients the other way (compared after
    reversing b), ``tolerances`` the tolerance used per numeric column.
    """

    file_a: str
    file_b: str
    key: tuple[str, ...]
    discrepancies: tuple[Discrepancy, ...]
    columns: tuple[str, ...]
    columns_only_a: tuple[str, ...]
    columns_only_b: tuple[str, ...]
    rows_a: int
    rows_b: int
    matched: int
    reversed: tuple[str, ...]
    tolerances: Mapping[str, Tolerance]
    _plan: _Plan = field(repr=False, compare=False, default=None)

    # -- views -----------------------------------------------------------
    @property
    def identical(self) -> bool:
        """True when the files agree on every row and compared field."""
        return not self.discrepancies

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.discrepancies)

    @property
    def counts(self) -> dict[str, int]:
        """Number of discrepancies of each kind (every kind listed, zeros included)."""
        out = {k: 0 for k in KINDS}
        for d in self.discrepancies:
            out[d.kind] += 1
        return out

    @property
    def studies(self) -> tuple[str, ...]:
        """Studies with at least one discrepancy, sorted."""
        return tuple(sorted({d.study for d in self.discrepancies if d.study is not None}))

    @property
    def by_study(self) -> dict[str, tuple[Discrepancy, ...]]:
        out: dict[str, list[Discrepancy]] = defaultdict(list)
        for d in self.discrepancies:
            out[d.study if d.study is not None else "(no study label)"].append(d)
        return {s: tuple(v) for s, v in out.items()}

    @property
    def by_field(self) -> dict[str, tuple[Discrepancy, ...]]:
        """Discrepancies by column; row-level kinds under ``"(row)"``."""
        out: dict[str, list[Discrepancy]] = defaultdict(list)
        for d in self.discrepancies:
            out[d.column if d.column is not None else "(row)"].append(d)
        return {c: tuple(v) for c, v in out.items()}

    def get(self, id: str) -> Discrepancy:
        for d in self.discrepancies:
            if d.id == id:
                return d
        raise KeyError(id)

    # -- output ----------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per discrepancy: id, kind, the key columns, column, both values,
        difference (b - a), both rows, message."""
        key_names = list(self.key)
        records = []
        for d in self.discrepancies:
            row = {"id": d.id, "kind": d.kind}
            row.update({name: label for name, label in zip(key_names, d.key)})
            row.update({
                "column": d.column, "value_a": d.value_a, "value_b": d.value_b,
                "difference": d.difference, "row_a": d.row_a, "row_b": d.row_b, "message": d.message,
            })
            records.append(row)
        columns = ["id", "kind", *key_names, "column", "value_a", "value_b", "difference", "row_a", "row_b", "message"]
        frame = pd.DataFrame.from_records(records, columns=columns)
        for c in ("row_a", "row_b"):
            frame[c] = frame[c].astype("Int64")
        frame["difference"] = frame["difference"].astype(float)
        return frame

    def to_dict(self) -> dict:
        return {
            "file_a": self.file_a,
            "file_b": self.file_b,
            "key": list(self.key),
            "rows_a": self.rows_a,
            "rows_b": self.rows_b,
            "matched": self.matched,
            "counts": self.counts,
            "columns": list(self.columns),
            "columns_only_a": list(self.columns_only_a),
            "columns_only_b": list(self.columns_only_b),
            "reversed": list(self.reversed),
            "tolerances": {c: {"absolute": t.absolute, "relative": t.relative} for c, t in self.tolerances.items()},
            "discrepancies": [d.to_dict() for d in self.discrepancies],
        }

    def summary(self) -> str:
        lines = [
            f"Extraction comparison: a = {self.file_a} ({_plural(self.rows_a, 'row')}), "
            f"b = {self.file_b} ({_plural(self.rows_b, 'row')}); key: {', '.join(self.key)}",
            f"{_plural(self.matched, 'row pair')} compared on {_plural(len(self.columns), 'column')}"
            + (f" ({', '.join(self.columns)})" if self.columns else ""),
        ]
        loose = {c: t.describe() for c, t in self.tolerances.items() if not t.exact}
        if loose:
            lines.append("tolerances: " + "; ".join(f"{c} {t}" for c, t in loose.items()) + "; everything else exact")
        if self.columns_only_a:
            lines.append(f"columns only in a (not compared): {', '.join(self.columns_only_a)}")
        if self.columns_only_b:
            lines.append(f"columns only in b (not compared): {', '.join(self.columns_only_b)}")
        if self.reversed:
            lines.append(f"contrasts oriented the other way in b (compared after reversing b): {', '.join(self.reversed)}")
        if self.identical:
            lines.append("No discrepancies: the two extractions agree.")
            return "\n".join(lines)
        counts = ", ".join(f"{k} {n}" for k, n in self.counts.items() if n)
        lines.append(
            f"{_plural(len(self.discrepancies), 'discrepancy', 'discrepancies')} in "
            f"{_plural(len(self.by_study), 'study', 'studies')} ({counts}):"
        )
        for study, items in self.by_study.items():
            lines.append(f"  {study}:")
            for d in items:
                where = ", ".join(x for x in (
                    f"a row {d.row_a}" if d.row_a is not None else None,
                    f"b row {d.row_b}" if d.row_b is not None else None,
                ) if x)
                lines.append(f"    - {d.message} [{where}] (id: {d.id!r})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self.to_frame().to_html(index=False, border=0, na_rep="")
        return f"<pre>{html.escape(self.summary())}</pre>\n{table}"

    def reconcile(self, choices: Mapping[Any, Any]) -> "Reconciliation":
        """Resolve every discrepancy by an explicit choice; see :func:`reconcile`."""
        return _reconcile(self, choices)


def _key_column(raw: RawTable, roles: Mapping[str, str], name: str, which: str) -> str:
    if name in roles:
        return roles[name]
    if name in raw.columns:
        return name
    near = [c for c in raw.columns if normalise_name(c) == normalise_name(name)]
    if near:
        return near[0]
    raise DataError(
        f"{raw.file} (file {which}): no column for the key {name!r}; available columns: "
        f"{', '.join(map(repr, raw.columns))} (name it with columns={{{name!r}: ...}} or change key=)"
    )


def _infer_key(roles_a: Mapping[str, str], roles_b: Mapping[str, str]) -> tuple[str, ...]:
    both = set(roles_a) & set(roles_b)
    if TREATMENT in both:
        return (STUDY, TREATMENT)
    if TREATMENT1 in both and TREATMENT2 in both:
        return (STUDY, TREATMENT1, TREATMENT2)
    return (STUDY,)


def _fields(
    raw_a: RawTable, raw_b: RawTable, roles_a: Mapping[str, str], roles_b: Mapping[str, str],
    key_a: Sequence[str], key_b: Sequence[str],
) -> tuple[list[_Field], list[str], list[str]]:
    role_of_a = {c: r for r, c in roles_a.items()}
    role_of_b = {c: r for r, c in roles_b.items()}
    free_b = [c for c in raw_b.columns if c not in key_b]
    fields, used_b = [], set()
    for col in raw_a.columns:
        if col in key_a:
            continue
        role = role_of_a.get(col)
        partner = None
        if role is not None and role in roles_b and roles_b[role] in free_b:
            partner = roles_b[role]
        else:
            for c in free_b:
                if c not in used_b and role_of_b.get(c) is None and normalise_name(c) == normalise_name(col):
                    partner = c
                    break
        if partner is None or partner in used_b:
            continue
        used_b.add(partner)
        fields.append(_Field(role or col, col, partner, role))
    only_a = [c for c in raw_a.columns if c not in key_a and c not in {f.col_a for f in fields}]
    only_b = [c for c in free_b if c not in used_b]
    return fields, only_a, only_b


def _select_fields(fields: list[_Field], names: Iterable[str] | None, what: str) -> set[str]:
    if names is None:
        return set()
    names = [names] if isinstance(names, str) else list(names)
    lookup = {}
    for f in fields:
        for alias in (f.name, f.col_a, f.col_b):
            lookup.setdefault(alias, f.name)
            lookup.setdefault(normalise_name(alias), f.name)
    out, unknown = set(), []
    for n in names:
        hit = lookup.get(n, lookup.get(normalise_name(n)))
        if hit is None:
            unknown.append(n)
        else:
            out.add(hit)
    if unknown:
        raise ValueError(
            f"{what} names {', '.join(map(repr, unknown))}, which is not a column both files have; "
            f"compared columns: {', '.join(f.name for f in fields) or 'none'}"
        )
    return out


def _tolerances(fields: list[_Field], spec: Mapping[str, Any] | None) -> dict[str, Tolerance]:
    spec = dict(spec or {})
    default = Tolerance.parse(spec.pop("*")) if "*" in spec else Tolerance()
    chosen = {}
    for name, value in spec.items():
        (target,) = _select_fields(fields, [name], "tolerances=")
        chosen[target] = Tolerance.parse(value)
    out = {}
    for f in fields:
        if f.name in chosen:
            out[f.name] = chosen[f.name]
        else:
            out[f.name] = Tolerance() if f.role in INTEGER_ROLES else default
    return out


def _reverse(value: Any, role: str | None, scale: str) -> Any:
    """b's value of an oriented column after turning 'B vs A' into 'A vs B' (bounds
    are swapped by the caller)."""
    if role not in (ESTIMATE, CI_LOW, CI_HIGH):
        return value
    number, problem = _number(value)
    if number is None or problem:
        return value
    if scale == "ratio":
        return 1.0 / number if number != 0 else math.inf
    return -number


def _cell_b(raw_b: RawTable, ib: int, f: _Field, flipped: bool, ci_b: Mapping[str, str | None], scale: str) -> Any:
    """b's cell for field ``f``, turned to a's orientation when the contrast is reversed
    (a's lower bound is then b's upper bound, reversed)."""
    if flipped and f.role in (CI_LOW, CI_HIGH):
        other = ci_b.get(CI_HIGH if f.role == CI_LOW else CI_LOW)
        if other is not None:
            return _reverse(raw_b.frame[other].iloc[ib], f.role, scale)
    value = raw_b.frame[f.col_b].iloc[ib]
    return _reverse(value, f.role, scale) if flipped else value


def _compare_cells(x: Any, y: Any, tolerance: Tolerance) -> tuple[bool, Any, Any, float | None]:
    """(same, value_a, value_b, b - a) for two cells."""
    x, y = clean_cell(x), clean_cell(y)
    if x is None and y is None:
        return True, None, None, None
    nx, px = parse_number(x)
    ny, py = parse_number(y)
    if nx is not None and ny is not None:
        return tolerance.allows(nx, ny), nx, ny, ny - nx
    vx = nx if nx is not None else (None if x is None else as_label(x))
    vy = ny if ny is not None else (None if y is None else as_label(y))
    if x is None or y is None:
        return False, vx, vy, None
    return as_label(x) == as_label(y), vx, vy, None


def compare_extractions(
    a: Any,
    b: Any,
    *,
    key: Sequence[str] | None = None,
    tolerances: Mapping[str, Any] | None = None,
    columns: Mapping[str, str] | None = None,
    columns_b: Mapping[str, str] | None = None,
    fields: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    match_labels: bool = True,
    label_similarity: float = 0.8,
    contrast_scale: Literal["difference", "ratio"] = "difference",
) -> ExtractionComparison:
    """Compare two independent extractions of the same trials, row by row and field by field.

    ``a`` and ``b`` are paths (CSV/TSV/XLSX/JSON), data frames, raw tables or tables
    netgrade read.  ``key`` names the columns that identify a row (roles or column
    names); by default ``("study", "treatment")`` for arm data and ``("study",
    "treatment1", "treatment2")`` when both files have treatment1/treatment2 columns.
    ``tolerances`` maps a column (or ``"*"``: every real-valued column) to a number
    (absolute), ``(absolute, relative)``, ``{"abs": .., "rel": ..}`` or a
    :class:`Tolerance`; without one numbers must be equal.  ``columns`` maps roles to
    file columns as in the readers (for both files; ``columns_b`` for b when its names
    differ); ``fields`` restricts and ``ignore`` removes compared columns.
    ``match_labels`` pairs rows of a study whose key labels differ only by a typo (see
    the module docstring); ``contrast_scale`` says how to reverse a contrast that b
    orients the other way ("difference": -x; "ratio": 1/x).  The rules are in the
    module docstring.
    """
    if contrast_scale not in ("difference", "ratio"):
        raise ValueError(f"contrast_scale must be 'difference' or 'ratio', not {contrast_scale!r}")
    if not 0 < label_similarity <= 1:
        raise ValueError(f"label_similarity must be in (0, 1], not {label_similarity!r}")
    raw_a, raw_b = _raw(a), _raw(b)
    roles_a = resolve_columns(raw_a, COMPARE_ROLES, columns, AUDIT_ALIASES)
    roles_b = resolve_columns(raw_b, COMPARE_ROLES, columns_b if columns_b is not None else columns, AUDIT_ALIASES)
    key = _infer_key(roles_a, roles_b) if key is None else tuple([key] if isinstance(key, str) else key)
    if not key:
        raise ValueError("key needs at least one column")
    key_a = tuple(_key_column(raw_a, roles_a, k, "a") for k in key)
    key_b = tuple(_key_column(raw_b, roles_b, k, "b") for k in key)
    all_fields, only_a, only_b = _fields(raw_a, raw_b, roles_a, roles_b, key_a, key_b)
    keep = _select_fields(all_fields, fields, "fields=") if fields is not None else {f.name for f in all_fields}
    drop = _select_fields(all_fields, ignore, "ignore=")
    chosen = [f for f in all_fields if f.name in keep and f.name not in drop]
    tol = _tolerances(chosen, tolerances)
    ci_b = {CI_LOW: roles_b.get(CI_LOW), CI_HIGH: roles_b.get(CI_HIGH)}

    study_pos = key.index(STUDY) if STUDY in key else None
    pair_pos = (key.index(TREATMENT1), key.index(TREATMENT2)) if TREATMENT1 in key and TREATMENT2 in key else None
    names = {"a": raw_a.file, "b": raw_b.file}

    def labels(raw: RawTable, cols: Sequence[str]) -> list[tuple[str | None, ...]]:
        columns_ = [raw.frame[c].tolist() for c in cols]
        return [tuple(as_label(col[i]) for col in columns_) for i in range(len(raw))]

    def canon(lab: tuple) -> tuple[tuple, bool]:
        if pair_pos is None:
            return lab, False
        i, j = pair_pos
        if lab[i] <= lab[j]:
            return lab, False
        swapped = list(lab)
        swapped[i], swapped[j] = lab[j], lab[i]
        return tuple(swapped), True

    labels_a, labels_b = labels(raw_a, key_a), labels(raw_b, key_b)
    discrepancies: list[Discrepancy] = []
    rows_of: dict[str, tuple[int | None, int | None]] = {}

    def add(d: Discrepancy, ia: int | None, ib: int | None) -> None:
        discrepancies.append(d)
        rows_of[d.id] = (ia, ib)

    def key_id(lab: tuple) -> str:
        return " | ".join("?" if v is None else v for v in lab)

    def study_of(lab: tuple) -> str | None:
        return lab[study_pos] if study_pos is not None else None

    def index(side: str, raw: RawTable, labs: list[tuple]) -> tuple[dict, dict]:
        first: dict[tuple, int] = {}
        orient: dict[int, bool] = {}
        for i, lab in enumerate(labs):
            row = raw.rows[i]
            if any(v is None for v in lab):
                missing = [k for k, v in zip(key, lab) if v is None]
                add(Discrepancy(
                    f"only_in_{side}", f"{side} row {row}", study_of(lab), lab, None, None, None,
                    row if side == "a" else None, row if side == "b" else None,
                    f"row {row} of {side} ({names[side]}) has no {', '.join(missing)} label, so it cannot be "
                    "matched with a row of the other file",
                ), i if side == "a" else None, i if side == "b" else None)
                continue
            c, flipped = canon(lab)
            orient[i] = flipped
            if c in first:
                j = first[c]
                add(Discrepancy(
                    f"duplicate_in_{side}", f"{key_id(lab)} | duplicate in {side}, row {row}", study_of(lab), lab,
                    None, None, None, row if side == "a" else None, row if side == "b" else None,
                    f"{', '.join(key)} {key_id(lab)!r} appears twice in {side} ({names[side]} rows "
                    f"{raw.rows[j]} and {row}); the first is compared, this one is not",
                ), i if side == "a" else None, i if side == "b" else None)
                continue
            first[c] = i
        return first, orient

    first_a, orient_a = index("a", raw_a, labels_a)
    first_b, orient_b = index("b", raw_b, labels_b)

    pairs: list[tuple[int, int, bool]] = []
    for c, ia in first_a.items():
        if c in first_b:
            ib = first_b[c]
            pairs.append((ia, ib, orient_a[ia] != orient_b[ib]))
    unmatched_a = [ia for c, ia in first_a.items() if c not in first_b]
    unmatched_b = [ib for c, ib in first_b.items() if c not in first_a]

    def same_fields(ia: int, ib: int) -> bool:
        return all(
            _compare_cells(raw_a.frame[f.col_a].iloc[ia], raw_b.frame[f.col_b].iloc[ib], tol[f.name])[0]
            for f in chosen
        )

    label_pairs: list[tuple[int, int]] = []
    if match_labels and study_pos is not None and len(key) > 1:
        by_study_a: dict[str, list[int]] = defaultdict(list)
        by_study_b: dict[str, list[int]] = defaultdict(list)
        for ia in unmatched_a:
            by_study_a[labels_a[ia][study_pos]].append(ia)
        for ib in unmatched_b:
            by_study_b[labels_b[ib][study_pos]].append(ib)
        for study in sorted(set(by_study_a) & set(by_study_b)):
            ua, ub = by_study_a[study], by_study_b[study]
            candidates = []
            for ia in ua:
                rest_a = tuple(v for k, v in enumerate(labels_a[ia]) if k != study_pos)
                for ib in ub:
                    rest_b = tuple(v for k, v in enumerate(labels_b[ib]) if k != study_pos)
                    ta, tb = " / ".join(rest_a), " / ".join(rest_b)
                    score = difflib.SequenceMatcher(None, ta.casefold(), tb.casefold()).ratio()
                    if normalise_name(ta) == normalise_name(tb):
                        score = max(score, 1.0)
                    if score >= label_similarity or (len(ua) == 1 and len(ub) == 1 and same_fields(ia, ib)):
                        candidates.append((-score, ta, tb, ia, ib))
            taken_a, taken_b = set(), set()
            for _, _, _, ia, ib in sorted(candidates):
                if ia in taken_a or ib in taken_b:
                    continue
                taken_a.add(ia)
                taken_b.add(ib)
                label_pairs.append((ia, ib))
        paired_a = {ia for ia, _ in label_pairs}
        paired_b = {ib for _, ib in label_pairs}
        unmatched_a = [i for i in unmatched_a if i not in paired_a]
        unmatched_b = [i for i in unmatched_b if i not in paired_b]

    # label discrepancies of the paired rows
    for ia, ib in label_pairs:
        la, lb = labels_a[ia], labels_b[ib]
        for k, name in enumerate(key):
            if la[k] != lb[k]:
                add(Discrepancy(
                    "label", f"{key_id(la)} | {name}", study_of(la), la, name, la[k], lb[k],
                    raw_a.rows[ia], raw_b.rows[ib],
                    f"{name} is {la[k]!r} in a but {lb[k]!r} in b; the rows are paired as the same "
                    "(similar labels or identical data)",
                    key_a[k], key_b[k],
                ), ia, ib)

    # rows in one file only
    studies_a = {labels_a[i][study_pos] for i in first_a.values()} if study_pos is not None else set()
    studies_b = {labels_b[i][study_pos] for i in first_b.values()} if study_pos is not None else set()

    def hint(study: str | None, own: set, other: set, other_side: str) -> str:
        if study is None or study in other:
            return ""
        near = difflib.get_close_matches(study, sorted(other - own), n=1, cutoff=0.8)
        extra = f"; {other_side} has a similar study label {near[0]!r}" if near else ""
        return f" (study {study!r} is not in {other_side} at all{extra})"

    for side, unmatched, labs, raw, own, other in (
        ("a", unmatched_a, labels_a, raw_a, studies_a, studies_b),
        ("b", unmatched_b, labels_b, raw_b, studies_b, studies_a),
    ):
        other_side = "b" if side == "a" else "a"
        for i in unmatched:
            lab = labs[i]
            row = raw.rows[i]
            study = study_of(lab)
            add(Discrepancy(
                f"only_in_{side}", key_id(lab), study, lab, None, None, None,
                row if side == "a" else None, row if side == "b" else None,
                f"{', '.join(key)} {key_id(lab)!r} is in {side} (row {row}) but not in {other_side}"
                + hint(study, own, other, other_side),
            ), i if side == "a" else None, i if side == "b" else None)

    # field-by-field comparison of the paired rows
    reversed_ids = []
    for ia, ib, flipped in pairs + [(ia, ib, False) for ia, ib in label_pairs]:
        la = labels_a[ia]
        if flipped:
            reversed_ids.append(key_id(la))
        for f in chosen:
            va = raw_a.frame[f.col_a].iloc[ia]
            vb = _cell_b(raw_b, ib, f, flipped, ci_b, contrast_scale)
            same, xa, xb, diff = _compare_cells(va, vb, tol[f.name])
            if same:
                continue
            t = tol[f.name]
            if diff is not None:
                how = f"difference {diff:+.6g}, " + ("compared exactly" if t.exact else f"beyond the tolerance ({t.describe()})")
            elif xa is None or xb is None:
                how = f"empty in {'a' if xa is None else 'b'}"
            else:
                how = "compared as text"
            note = " (b's value reversed to a's orientation)" if flipped and f.role in (ESTIMATE, CI_LOW, CI_HIGH) else ""
            add(Discrepancy(
                "value", f"{key_id(la)} | {f.name}", study_of(la), la, f.name, xa, xb,
                raw_a.rows[ia], raw_b.rows[ib],
                f"{f.name}: a has {_fmt(xa)}, b has {_fmt(xb)}{note} ({how})",
                f.col_a, f.col_b, diff,
            ), ia, ib)

    order = {f.name: j for j, f in enumerate(chosen)}
    order.update({k: -1 for k in key})

    def sort_key(d: Discrepancy) -> tuple:
        labs = tuple("" if v is None else v for v in d.key)
        return (d.study or "", labs, _KIND_RANK[d.kind], order.get(d.column, -2), d.row_a or 0, d.row_b or 0, d.id)

    discrepancies.sort(key=sort_key)
    ids = [d.id for d in discrepancies]
    if len(set(ids)) != len(ids):  # pragma: no cover - ids are built unique
        raise AssertionError("discrepancy ids are not unique")
    plan = _Plan(
        raw_a, raw_b, MappingProxyType(ci_b), key_a, key_b, tuple(chosen), tuple(only_b),
        tuple(sorted(pairs) + sorted((ia, ib, False) for ia, ib in label_pairs)),
        MappingProxyType(rows_of), contrast_scale,
    )
    return ExtractionComparison(
        file_a=raw_a.file,
        file_b=raw_b.file,
        key=tuple(key),
        discrepancies=tuple(discrepancies),
        columns=tuple(f.name for f in chosen),
        columns_only_a=tuple(only_a),
        columns_only_b=tuple(only_b),
        rows_a=len(raw_a),
        rows_b=len(raw_b),
        matched=len(pairs) + len(label_pairs),
        reversed=tuple(sorted(reversed_ids)),
        tolerances=MappingProxyType(tol),
        _plan=plan,
    )


# ---------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """How one discrepancy (or every discrepancy of a study) is resolved, and why.

    ``take`` is ``"a"`` or ``"b"`` (that file's value; for a row in one file only: keep
    it if that file has it, drop it if not) or ``"value"`` with ``value`` the value to
    use (for ``value`` and ``label`` discrepancies).  ``reason`` is required.
    """

    take: Literal["a", "b", "value"]
    reason: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.take not in ("a", "b", "value"):
            raise ValueError(f"a choice takes 'a', 'b' or 'value', not {self.take!r}")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("every choice needs a reason (why this value is the right one)")

    @classmethod
    def parse(cls, spec: Any, where: str) -> "Choice":
        """``Choice``; ``("a" | "b" | value, reason)``; ``{"choice": ..., "reason": ...}``
        (``{"value": ..., "reason": ...}`` for a value)."""
        if isinstance(spec, Choice):
            return spec
        try:
            if isinstance(spec, Mapping):
                unknown = set(spec) - {"choice", "take", "value", "reason"}
                if unknown:
                    raise ValueError(f"unknown keys {sorted(unknown)} (use 'choice', 'value', 'reason')")
                take = spec.get("choice", spec.get("take"))
                if take is None and "value" in spec:
                    return cls("value", spec.get("reason", ""), spec["value"])
                return cls._from(take, spec.get("reason", ""), spec.get("value"))
            if isinstance(spec, (tuple, list)) and len(spec) == 2:
                return cls._from(spec[0], spec[1], None)
        except ValueError as exc:
            raise ValueError(f"choice for {where!r}: {exc}") from None
        raise ValueError(
            f"choice for {where!r}: give ('a' or 'b' or a value, 'reason'), {{'choice': ..., 'reason': ...}} "
            f"or Choice(...); a bare {spec!r} has no reason"
        )

    @classmethod
    def _from(cls, take: Any, reason: Any, value: Any) -> "Choice":
        if take in ("a", "b"):
            return cls(take, reason, None)
        if take == "value":
            return cls("value", reason, value)
        return cls("value", reason, take)


@dataclass(frozen=True)
class Decision:
    """A discrepancy and how it was resolved: ``take`` ("a", "b", "value"), the value now
    in the table (``None`` for a dropped row), the reason, and ``by`` ("id" when the
    choice named the discrepancy, "study" when it named its study)."""

    id: str
    kind: str
    study: str | None
    column: str | None
    value_a: Any
    value_b: Any
    take: str
    value: Any
    reason: str
    by: str

    def to_dict(self) -> dict:
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True, eq=False)
class Reconciliation(ResultMixin):
    """A reconciled extraction: ``table`` has file a's columns (then b's extra ones),
    cells as read, one row per arm (or contrast) kept; ``decisions`` records every
    choice with its reason.  ``to_frame()`` returns (a copy of) the table,
    ``decisions_frame()`` the decisions; :func:`write_reconciled` writes both."""

    table: pd.DataFrame
    decisions: tuple[Decision, ...]
    comparison: ExtractionComparison

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def decisions_frame(self) -> pd.DataFrame:
        columns = [f.name for f in dataclasses.fields(Decision)]
        return pd.DataFrame.from_records([dataclasses.astuple(d) for d in self.decisions], columns=columns)

    def to_dict(self) -> dict:
        return {
            "file_a": self.comparison.file_a,
            "file_b": self.comparison.file_b,
            "rows": len(self.table),
            "columns": [str(c) for c in self.table.columns],
            "decisions": [d.to_dict() for d in self.decisions],
            "table": jsonable(self.table.astype(object).where(self.table.notna(), None)),
        }

    def summary(self) -> str:
        takes = defaultdict(int)
        for d in self.decisions:
            takes[d.take] += 1
        lines = [
            f"Reconciled extraction of {self.comparison.file_a} (a) and {self.comparison.file_b} (b): "
            f"{_plural(len(self.table), 'row')}, {_plural(len(self.decisions), 'decision')} "
            f"(a {takes['a']}, b {takes['b']}, other value {takes['value']})",
        ]
        for d in self.decisions:
            shown = "row dropped" if d.kind.startswith(("only_in", "duplicate_in")) and d.value is None else (
                "row kept" if d.kind.startswith(("only_in", "duplicate_in")) else _fmt(d.value))
            lines.append(f"  - {d.id}: {d.take} -> {shown}; reason: {d.reason}")
        return "\n".join(lines)


def reconcile(a: Any, b: Any, choices: Mapping[Any, Any], **options: Any) -> Reconciliation:
    """Reconcile two extractions: compare them (``options`` as for
    :func:`compare_extractions`) and resolve every discrepancy by an explicit choice.

    ``choices`` maps a discrepancy id (:attr:`Discrepancy.id`, e.g.
    ``"Smith 2010 | sham | mean"``) -- or a study label, for every discrepancy of that
    study not chosen individually (only "a" or "b") -- to ``("a" | "b" | value,
    "reason")``, ``{"choice": ..., "reason": ...}`` or a :class:`Choice`.  A choice of
    "a"/"b" takes that file's cell; for a row present in one file only it keeps the row
    when that file has it and drops it otherwise; a value is written as given (value and
    label discrepancies only).  Every choice needs a reason.  Discrepancies left
    without a choice, choices that match nothing, and duplicated keys chosen to be kept
    are errors (:class:`~netgrade.errors.DataError` listing each one).
    """
    if isinstance(a, ExtractionComparison):
        raise TypeError("reconcile(a, b, choices) takes the two extractions; use comparison.reconcile(choices)")
    return _reconcile(compare_extractions(a, b, **options), choices)


def _reconcile(comparison: ExtractionComparison, choices: Mapping[Any, Any]) -> Reconciliation:
    plan = comparison._plan
    if plan is None:  # pragma: no cover - always set by compare_extractions
        raise ValueError("this comparison cannot be reconciled (made without compare_extractions)")
    by_id = {d.id: d for d in comparison.discrepancies}
    studies = {d.study for d in comparison.discrepancies if d.study is not None}
    parsed: dict[str, Choice] = {}
    per_study: dict[str, Choice] = {}
    problems: list[DataIssue] = []
    for name, spec in dict(choices).items():
        name = str(name) if not isinstance(name, Discrepancy) else name.id
        choice = Choice.parse(spec, name)
        if name in by_id:
            parsed[name] = choice
        elif name in studies:
            if choice.take == "value":
                raise ValueError(f"choice for study {name!r}: a whole study can take 'a' or 'b', not a value")
            per_study[name] = choice
        else:
            near = difflib.get_close_matches(name, list(by_id) + sorted(studies), n=1)
            problems.append(DataIssue(
                f"the choice {name!r} matches no discrepancy and no study with discrepancies"
                + (f" (did you mean {near[0]!r}?)" if near else "")
            ))
    decisions: list[Decision] = []
    resolved: dict[str, tuple[Choice, str]] = {}
    for d in comparison.discrepancies:
        if d.id in parsed:
            resolved[d.id] = (parsed[d.id], "id")
        elif d.study in per_study:
            resolved[d.id] = (per_study[d.study], "study")
        else:
            problems.append(DataIssue(
                f"unresolved {d.kind} discrepancy {d.id!r}: {d.message}",
                comparison.file_a if d.row_a is not None or d.row_b is None else comparison.file_b,
                d.row_a if d.row_a is not None else d.row_b, d.study, d.column_a or d.column_b or d.column,
            ))
            continue
        choice = resolved[d.id][0]
        if d.kind not in ("value", "label") and choice.take == "value":
            problems.append(DataIssue(
                f"{d.id!r} is a {d.kind} discrepancy: choose 'a' or 'b' (keep or drop the row), not a value",
                study=d.study,
            ))
        if d.kind.startswith("duplicate_in") and choice.take == d.kind[-1]:
            problems.append(DataIssue(
                f"{d.id!r}: keeping a second row with the same key would leave the table ambiguous; "
                "merge or correct the rows in the file, or drop this one",
                study=d.study,
            ))
    if problems:
        raise DataError(
            f"cannot reconcile {comparison.file_a} and {comparison.file_b}: "
            f"{_plural(len(problems), 'problem')} with the choices", problems,
        )

    raw_a, raw_b = plan.raw_a, plan.raw_b
    out_columns = list(raw_a.columns) + list(plan.only_b_columns)
    field_by_name = {f.name: f for f in plan.fields}
    key_map_b = dict(zip(plan.key_a, plan.key_b))
    col_b_of = {f.col_a: f.col_b for f in plan.fields}
    col_b_of.update(key_map_b)

    def row_from_a(ia: int) -> dict:
        row = {c: raw_a.frame[c].iloc[ia] for c in raw_a.columns}
        row.update({c: None for c in plan.only_b_columns})
        return row

    def row_from_b(ib: int) -> dict:
        row = {c: (raw_b.frame[col_b_of[c]].iloc[ib] if c in col_b_of else None) for c in raw_a.columns}
        row.update({c: raw_b.frame[c].iloc[ib] for c in plan.only_b_columns})
        return row

    # every paired row starts from a, with b's extra columns
    flipped_of = {(ia, ib): flipped for ia, ib, flipped in plan.pairs}
    rows: dict[tuple[str, int], dict] = {}
    for ia, ib, _ in plan.pairs:
        row = row_from_a(ia)
        row.update({c: raw_b.frame[c].iloc[ib] for c in plan.only_b_columns})
        rows[("a", ia)] = row
    dropped_a: set[int] = set()
    added_b: list[int] = []
    for d in comparison.discrepancies:
        choice, by = resolved[d.id]
        ia, ib = plan.rows_of[d.id]
        final: Any
        if d.kind in ("only_in_a", "duplicate_in_a"):
            if choice.take == "a":
                rows[("a", ia)] = row_from_a(ia)
                final = "kept"
            else:
                dropped_a.add(ia)
                final = None
        elif d.kind in ("only_in_b", "duplicate_in_b"):
            if choice.take == "b":
                added_b.append(ib)
                final = "kept"
            else:
                final = None
        elif d.kind == "label":
            k = comparison.key.index(d.column)
            column = plan.key_a[k]
            final = {"a": d.value_a, "b": d.value_b, "value": choice.value}[choice.take]
            rows[("a", ia)][column] = final
        else:  # value
            f = field_by_name[d.column]
            if choice.take == "a":
                final = raw_a.frame[f.col_a].iloc[ia]
            elif choice.take == "b":
                final = _cell_b(raw_b, ib, f, flipped_of.get((ia, ib), False), plan.ci_b, plan.contrast_scale)
            else:
                final = choice.value
            rows[("a", ia)][f.col_a] = final
        decisions.append(Decision(d.id, d.kind, d.study, d.column, d.value_a, d.value_b, choice.take,
                                  clean_cell(final), choice.reason.strip(), by))

    # assemble in a's order; rows kept from b go after the last row of their study
    ordered: list[dict] = [rows[("a", ia)] for ia in range(len(raw_a)) if ("a", ia) in rows and ia not in dropped_a]
    study_col = plan.key_a[comparison.key.index(STUDY)] if STUDY in comparison.key else None
    for ib in sorted(added_b):
        row = row_from_b(ib)
        position = len(ordered)
        if study_col is not None:
            same = [j for j, r in enumerate(ordered) if as_label(r[study_col]) == as_label(row[study_col])]
            if same:
                position = same[-1] + 1
        ordered.insert(position, row)
    table = pd.DataFrame.from_records(ordered, columns=out_columns) if ordered else pd.DataFrame(columns=out_columns)
    table = table.astype(object).where(table.notna(), None)
    return Reconciliation(table, tuple(decisions), comparison)


def write_reconciled(
    reconciliation: Reconciliation,
    path: str | Path,
    *,
    decisions: str | Path | bool = True,
) -> tuple[Path, Path | None]:
    """Write the reconciled table as CSV (UTF-8, comma-separated, empty cells for missing
    values) and, unless ``decisions=False``, the decisions with their reasons next to it
    (``<name>_decisions.csv``, or the path given).  Returns both paths.  Run the
    pipeline on the written file as on any extraction."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"write_reconciled writes CSV; give a path ending in .csv, not {path.name!r}")
    reconciliation.table.to_csv(path, index=False, na_rep="")
    log = None
    if decisions:
        log = Path(decisions) if not isinstance(decisions, bool) else path.with_name(f"{path.stem}_decisions.csv")
        reconciliation.decisions_frame().to_csv(log, index=False, na_rep="")
    return path, log


# ---------------------------------------------------------------------------
# Plausibility checks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The thresholds of :func:`plausibility_checks` (justified in the module docstring).

    se_scale_fraction
        SD below this fraction of the largest SD possible at its mean looks like an SE
        (0.10).
    se_sibling_ratio
        SD this many times smaller than the median SD of the study's other arms (2.5) ...
    se_sibling_match
        ... with sd*sqrt(n) within this factor of that median (1.5).
    se_min_n
        Arms smaller than this (10) are not judged for an SD/SE swap: their SE is at most
        sqrt(n) ~ 3 times smaller than the SD, and the SD of a small sample is itself
        too variable (sampling CV about 1/sqrt(2(n - 1)): 0.24 at n = 10, 0.35 at n = 5).
    ci_claimed, ci_other
        An estimate more than ``ci_claimed`` (0.10) half-widths off the midpoint of the
        claimed scale, but within ``ci_other`` (0.05) of the midpoint on the other scale
        (each beyond the rounding of the reported numbers), flags a wrong-scale interval.
    duplicate_relative
        Near-identical arm data: means and SDs within this relative difference (0.01) or
        the rounding of the coarser value, and equal n.
    n_total_tolerance
        Allowed |sum of arm sizes - n_total| (0: exact).
    """

    se_scale_fraction: float = 0.10
    se_sibling_ratio: float = 2.5
    se_sibling_match: float = 1.5
    se_min_n: int = 10
    ci_claimed: float = 0.10
    ci_other: float = 0.05
    duplicate_relative: float = 0.01
    n_total_tolerance: float = 0.0


SEVERITIES = ("error", "warning")
CHECKS = ("numbers", "sample_size", "scale_range", "sd_se_swap", "grim", "arm_sizes_total",
          "confidence_intervals", "duplicates")


@dataclass(frozen=True)
class Flag:
    """One implausible item: ``code``, ``severity`` ("error": impossible as reported;
    "warning": suspicious, check the source), where it is (``file``, ``rows`` -- the
    first is ``row`` --, ``study``, ``treatment``, ``column``), the numbers involved
    (``values``) and the ``reason`` in words."""

    code: str
    severity: str
    reason: str
    file: str | None
    rows: tuple[int, ...]
    study: str | None
    treatment: str | None
    column: str | None
    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    @property
    def row(self) -> int | None:
        return self.rows[0] if self.rows else None

    def to_issue(self) -> DataIssue:
        return DataIssue(f"{self.code} ({self.severity}): {self.reason}", self.file, self.row, self.study, self.column)

    def __str__(self) -> str:
        return str(self.to_issue())

    def to_dict(self) -> dict:
        return {
            "code": self.code, "severity": self.severity, "reason": self.reason, "file": self.file,
            "row": self.row, "rows": list(self.rows), "study": self.study, "treatment": self.treatment,
            "column": self.column, "values": jsonable(dict(self.values)),
        }


@dataclass(frozen=True, eq=False)
class PlausibilityReport(ResultMixin):
    """Flags raised by :func:`plausibility_checks`, with the checks that ran and those
    skipped (and why).  ``ok`` is True when nothing was flagged."""

    file: str
    rows: int
    flags: tuple[Flag, ...]
    checks: tuple[str, ...]
    skipped: Mapping[str, str]
    thresholds: Thresholds
    studies_file: str | None = None

    @property
    def ok(self) -> bool:
        return not self.flags

    @property
    def errors(self) -> tuple[Flag, ...]:
        return tuple(f for f in self.flags if f.severity == "error")

    @property
    def codes(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for f in self.flags:
            out[f.code] += 1
        return dict(out)

    def for_study(self, study: str) -> tuple[Flag, ...]:
        return tuple(f for f in self.flags if f.study == study)

    def to_frame(self) -> pd.DataFrame:
        columns = ["code", "severity", "file", "row", "rows", "study", "treatment", "column", "values", "reason"]
        records = [
            {
                "code": f.code, "severity": f.severity, "file": f.file, "row": f.row,
                "rows": ", ".join(map(str, f.rows)), "study": f.study, "treatment": f.treatment,
                "column": f.column, "values": "; ".join(f"{k} = {_fmt(v)}" for k, v in f.values.items()),
                "reason": f.reason,
            }
            for f in self.flags
        ]
        frame = pd.DataFrame.from_records(records, columns=columns)
        frame["row"] = frame["row"].astype("Int64")
        return frame

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "studies_file": self.studies_file,
            "rows": self.rows,
            "checks": list(self.checks),
            "skipped": dict(self.skipped),
            "thresholds": dataclasses.asdict(self.thresholds),
            "counts": self.codes,
            "flags": [f.to_dict() for f in self.flags],
        }

    def summary(self) -> str:
        lines = [f"Plausibility checks of {self.file} ({_plural(self.rows, 'row')})"
                 + (f" with {self.studies_file}" if self.studies_file else "")]
        lines.append(f"checks run: {', '.join(self.checks) or 'none'}")
        for check, why in self.skipped.items():
            lines.append(f"not run: {check} ({why})")
        if self.ok:
            lines.append("No flags.")
            return "\n".join(lines)
        n_err = len(self.errors)
        lines.append(f"{_plural(len(self.flags), 'flag')} ({n_err} error{'s' if n_err != 1 else ''}, "
                     f"{len(self.flags) - n_err} warning{'s' if len(self.flags) - n_err != 1 else ''}):")
        for f in self.flags:
            where = DataIssue(f.reason, f.file, f.row, f.study, f.column)
            lines.append(f"  - [{f.severity}] {f.code}: {where}")
        return "\n".join(lines)


def max_sd(mean: float, low: float, high: float, n: float | None = None) -> float:
    """The largest SD possible for values on [low, high] with this mean:
    sqrt((mean - low)(high - mean)) (Bhatia & Davis 2000), times sqrt(n/(n-1)) for the
    sample SD (n - 1 denominator) when ``n`` > 1 is given.  0 outside the range."""
    room = (mean - low) * (high - mean)
    if room <= 0:
        return 0.0
    factor = n / (n - 1) if n is not None and n > 1 else 1.0
    return math.sqrt(room * factor)


def grim_consistent(
    mean: Any, n: int, items: int = 1, *, decimals: int | None = None,
    rounding: Literal["nearest", "truncate"] = "nearest",
) -> bool:
    """GRIM (Brown & Heathers 2017): can ``n`` integer scores (each the mean of ``items``
    integer items) have a mean that reports as ``mean`` with ``decimals`` decimals?

    ``mean`` is best given as the text reported (``"4.10"``: two decimals);
    ``decimals`` overrides.  ``rounding="nearest"`` accepts ties rounded either way
    (the interval [m - h, m + h], h half a unit of the last decimal);
    ``"truncate"`` means cut off at the last decimal ([m, m + 2h) away from zero).
    Exact rational arithmetic.  Always True when n * items >= 10**decimals.
    """
    if rounding not in ("nearest", "truncate"):
        raise ValueError(f"rounding must be 'nearest' or 'truncate', not {rounding!r}")
    n, items = int(n), int(items)
    if n <= 0 or items <= 0:
        raise ValueError("n and items must be positive integers")
    d = _decimals(mean) if decimals is None else int(decimals)
    if d is None:
        raise ValueError(f"cannot tell the number of decimals of {mean!r}; pass decimals=")
    text = mean.strip() if isinstance(mean, str) else np.format_float_positional(float(mean), unique=True, trim="-")
    try:
        m = Fraction(text)
    except ValueError:
        raise ValueError(f"{mean!r} is not a number") from None
    m = Fraction(round(m * 10**d), 10**d)  # exact at the stated decimals
    unit = Fraction(1, 10**d)
    denominator = n * items
    if denominator >= 10**d:
        return True
    # attainable means are T / denominator for integer T; find T in the interval of
    # true means that report as m
    if rounding == "nearest":  # [m - unit/2, m + unit/2], ties either way
        t_low = math.ceil((m - unit / 2) * denominator)
        t_high = math.floor((m + unit / 2) * denominator)
    elif m >= 0:  # truncated: [m, m + unit)
        t_low = math.ceil(m * denominator)
        t_high = math.ceil((m + unit) * denominator) - 1
    else:  # truncated towards zero: (m - unit, m]
        t_low = math.floor((m - unit) * denominator) + 1
        t_high = math.floor(m * denominator)
    return t_low <= t_high


def _scale_bounds(scale: Any) -> tuple[float, float] | None:
    if scale is None:
        return None
    if isinstance(scale, Scale):
        return float(scale.low), float(scale.high)
    if isinstance(scale, (tuple, list)) and len(scale) == 2:
        low, high = float(scale[0]), float(scale[1])
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"scale=(low, high) needs finite end points with low < high, not {scale!r}")
        return low, high
    raise ValueError(f"scale must be (low, high) or a netgrade.data.scales.Scale, not {scale!r}")


def _measure_kind(label: str | None) -> str | None:
    """'ratio', 'difference' or None (unknown) for a measure name."""
    if label is None:
        return None
    key = normalise_name(label).upper()
    if key.startswith(("LOG", "LN")):
        return "difference"
    if key in RATIO_MEASURES:
        return "ratio"
    if key in DIFFERENCE_MEASURES:
        return "difference"
    return None


class _Rows:
    """Typed access to the cells of one raw table, recording unreadable numbers."""

    def __init__(self, raw: RawTable, roles: Mapping[str, str], flags: list[Flag], study_col: str | None,
                 treatment_of: Any):
        self.raw, self.roles, self.flags = raw, roles, flags
        self.study = [as_label(v) for v in raw.frame[study_col]] if study_col else [None] * len(raw)
        self.treatment_of = treatment_of
        self.cells = {role: raw.frame[col].tolist() for role, col in roles.items()}
        self.numbers: dict[str, list[float | None]] = {}

    def number(self, role: str) -> list[float | None]:
        if role in self.numbers:
            return self.numbers[role]
        out: list[float | None] = []
        if role in self.cells:
            for i, cell in enumerate(self.cells[role]):
                value, problem = _number(cell)
                if problem:
                    self.flags.append(Flag(
                        "not_a_number", "error", f"{problem}; this cell was left out of the checks",
                        self.raw.file, (self.raw.rows[i],), self.study[i], self.treatment_of(i), self.roles[role],
                        {role: clean_cell(cell)},
                    ))
                out.append(value)
        else:
            out = [None] * len(self.raw)
        self.numbers[role] = out
        return out


def plausibility_checks(
    arms: Any,
    *,
    studies: Any = None,
    scale: Any = None,
    integer_scored: bool | int = False,
    measure: str | None = None,
    columns: Mapping[str, str] | None = None,
    study_columns: Mapping[str, str] | None = None,
    rounding: Literal["nearest", "truncate"] = "nearest",
    mean_decimals: int | None = None,
    thresholds: Thresholds | None = None,
) -> PlausibilityReport:
    """Check one extraction for numbers that cannot be right (see the module docstring
    for every check, its threshold and why).

    ``arms`` is arm-level data (path, data frame or :class:`ArmTable`); contrast-level
    data with ``estimate, ci_low, ci_high`` get the interval checks.  ``studies`` (a
    study table with ``n_total``) enables the arm-size check; ``scale`` = ``(low,
    high)`` or a :class:`~netgrade.data.scales.Scale` applies to every row and overrides
    ``scale_min``/``scale_max`` columns.  ``integer_scored`` turns on GRIM (``True``:
    each participant's score is an integer; ``k``: the mean of k integer items).
    ``measure`` names the effect measure of every row (else a ``measure`` column), for
    the interval checks.  ``columns`` / ``study_columns`` map roles to columns as in the
    readers.  Returns a :class:`PlausibilityReport`; nothing is raised for implausible
    data (only for unreadable files or unusable arguments).
    """
    th = thresholds or Thresholds()
    if rounding not in ("nearest", "truncate"):
        raise ValueError(f"rounding must be 'nearest' or 'truncate', not {rounding!r}")
    items = None
    if integer_scored is True:
        items = 1
    elif integer_scored is not False and integer_scored is not None:
        if isinstance(integer_scored, bool) or not isinstance(integer_scored, (int, np.integer)) or integer_scored < 1:
            raise ValueError(f"integer_scored must be True/False or a number of items >= 1, not {integer_scored!r}")
        items = int(integer_scored)
    bounds = _scale_bounds(scale)

    raw = _raw(arms)
    roles = resolve_columns(raw, COMPARE_ROLES, columns, AUDIT_ALIASES)
    if STUDY not in roles:
        raise DataError(
            f"{raw.file}: no study column (recognised names: "
            f"{', '.join(a for tier in COLUMN_ALIASES[STUDY] for a in tier)}); name it with columns={{'study': ...}}"
        )
    flags: list[Flag] = []
    checks: list[str] = ["numbers"]
    skipped: dict[str, str] = {}

    if TREATMENT in roles:
        treatments = [as_label(v) for v in raw.frame[roles[TREATMENT]]]
    elif TREATMENT1 in roles and TREATMENT2 in roles:
        t1 = [as_label(v) for v in raw.frame[roles[TREATMENT1]]]
        t2 = [as_label(v) for v in raw.frame[roles[TREATMENT2]]]
        treatments = [f"{x} vs {y}" for x, y in zip(t1, t2)]
    else:
        treatments = [None] * len(raw)
    rows = _Rows(raw, roles, flags, roles[STUDY], lambda i: treatments[i])
    study = rows.study
    file = raw.file

    def flag(code, severity, reason, i_or_rows, column_role, values, *, study_=None, treatment=None, file_=None):
        idx = [i_or_rows] if isinstance(i_or_rows, (int, np.integer)) else list(i_or_rows)
        first = idx[0] if idx else None
        flags.append(Flag(
            code, severity, reason, file_ or file, tuple(raw.rows[i] for i in idx),
            study_ if study_ is not None else (study[first] if first is not None else None),
            treatment if treatment is not None else (treatments[first] if first is not None and len(idx) == 1 else None),
            roles.get(column_role, column_role) if column_role else None, values,
        ))

    n = rows.number(N)
    mean = rows.number(MEAN)
    sd = rows.number(SD)
    events = rows.number(EVENTS)
    arm_level = N in roles and (MEAN in roles or EVENTS in roles)

    # -- sample sizes, SDs, events ----------------------------------------
    if N in roles:
        checks.append("sample_size")
        for i, v in enumerate(n):
            if v is None:
                continue
            if v <= 0:
                flag("n_not_positive", "error", f"group size {v:g}: a group needs at least one participant", i, N, {"n": v})
            elif not float(v).is_integer():
                flag("n_not_integer", "warning",
                     f"group size {v:g} is not a whole number (an effective sample size? otherwise a typo)", i, N, {"n": v})
    elif MEAN in roles or SD in roles or EVENTS in roles:
        skipped["sample_size"] = "no n column"
    for i, v in enumerate(sd):
        if v is not None and v <= 0:
            flag("sd_not_positive", "error", f"SD {v:g}: a standard deviation must be positive", i, SD, {"sd": v})
    for i, (e, size) in enumerate(zip(events, n)):
        if e is None:
            continue
        if e < 0 or (size is not None and size > 0 and e > size):
            flag("events_impossible", "error",
                 f"{e:g} events in a group of {_fmt(size)}: events must be between 0 and n", i, EVENTS,
                 {"events": e, "n": size})

    # -- scale range --------------------------------------------------------
    impossible_sd: set[int] = set()  # not used as a reference for the SD/SE check
    if bounds is not None or (SCALE_MIN in roles and SCALE_MAX in roles):
        low_col = [bounds[0]] * len(raw) if bounds else rows.number(SCALE_MIN)
        high_col = [bounds[1]] * len(raw) if bounds else rows.number(SCALE_MAX)
    else:
        low_col = high_col = [None] * len(raw)
    have_scale = any(lo is not None and hi is not None and lo < hi for lo, hi in zip(low_col, high_col))
    if have_scale and MEAN in roles:
        checks.append("scale_range")
        for i in range(len(raw)):
            lo, hi, m, s = low_col[i], high_col[i], mean[i], sd[i]
            if lo is None or hi is None or m is None or not lo < hi:
                continue
            slack = _NOISE * max(1.0, abs(lo), abs(hi))
            where = f"[{lo:g}, {hi:g}]"
            if m < lo - slack or m > hi + slack:
                flag("mean_outside_scale", "error",
                     f"mean {m:g} lies outside the scale's range {where}: a wrong scale, a change score "
                     "or a typo", i, MEAN, {"mean": m, "scale_min": lo, "scale_max": hi})
                continue
            if s is None or s <= 0:
                continue
            hm, hs = _half_unit(rows.cells[MEAN][i]), _half_unit(rows.cells[SD][i]) if SD in roles else 0.0
            size = n[i] if n[i] is not None and n[i] > 1 else 2.0
            nearest = min(max((lo + hi) / 2, m - hm), m + hm)  # the rounded mean's most lenient true value
            bound = max_sd(nearest, lo, hi, size)
            if s - hs > bound * (1 + 1e-9):
                impossible_sd.add(i)
                flag("sd_exceeds_maximum", "error",
                     f"SD {s:g} is larger than any SD possible on {where} at mean {m:g} "
                     f"(at most {bound:.3g} with n = {size:g}; Bhatia-Davis bound): a variance, a range, "
                     "a wrong scale or a typo", i, SD,
                     {"sd": s, "mean": m, "n": n[i], "max_sd": bound, "scale_min": lo, "scale_max": hi})
    elif MEAN in roles:
        skipped["scale_range"] = "no scale_min/scale_max columns and no scale= given"

    # -- SD reported as SE ---------------------------------------------------
    if SD in roles and N in roles:
        checks.append("sd_se_swap")
        def room_of(j: int) -> float | None:
            lo_, hi_, m_ = low_col[j], high_col[j], mean[j]
            if lo_ is None or hi_ is None or m_ is None or not lo_ <= m_ <= hi_:
                return None
            return max_sd(m_, lo_, hi_)

        per_study: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(study):
            if s is not None and sd[i] is not None and sd[i] > 0 and n[i] is not None and n[i] > 1:
                per_study[s].append(i)
        for s_label, members in per_study.items():
            for i in members:
                if n[i] < th.se_min_n:
                    continue
                s, size, m = sd[i], n[i], mean[i]
                implied = s * math.sqrt(size)
                reasons, values = [], {"sd": s, "n": size, "sd_times_sqrt_n": implied}
                others = [j for j in members if j != i and j not in impossible_sd]
                if others:
                    # on a known bounded scale, compare SDs relative to the room each mean
                    # leaves (an arm at the floor or ceiling legitimately has a small SD)
                    rooms = [room_of(j) for j in [i] + others]
                    if all(r is not None and r > 0 for r in rooms):
                        mine, ref = s / rooms[0], float(np.median([sd[j] / r for j, r in zip(others, rooms[1:])]))
                        relative = " (compared as fractions of the largest SD possible at each arm's mean)"
                    else:
                        mine, ref, relative = s, float(np.median([sd[j] for j in others])), ","
                    implied_rel = mine * math.sqrt(size)
                    if mine * th.se_sibling_ratio <= ref and ref / th.se_sibling_match <= implied_rel <= ref * th.se_sibling_match:
                        sibling_sd = float(np.median([sd[j] for j in others]))
                        reasons.append(
                            f"it is {ref / mine:.1f} times smaller than the SD of the study's other arm"
                            f"{'s' if len(others) > 1 else ''} ({sibling_sd:g}){relative} while sd x sqrt(n) = "
                            f"{implied:.3g} is close to it"
                        )
                        values["sibling_sd"] = sibling_sd
                lo, hi = low_col[i], high_col[i]
                if m is not None and lo is not None and hi is not None and lo <= m <= hi:
                    room = max_sd(m, lo, hi)
                    if room > 0 and s < th.se_scale_fraction * room and th.se_scale_fraction * room <= implied <= max_sd(m, lo, hi, size):
                        reasons.append(
                            f"it is only {s / room:.1%} of the largest SD possible at mean {m:g} on "
                            f"[{lo:g}, {hi:g}] ({room:.3g}), while sd x sqrt(n) = {implied:.3g} is an ordinary SD"
                        )
                        values["max_sd"] = room
                if reasons:
                    flag("sd_looks_like_se", "warning",
                         f"SD {s:g} (n = {size:g}) looks like a standard error: " + "; and ".join(reasons)
                         + f". If it is an SE, the SD is {implied:.3g}", i, SD, values)
    elif SD in roles:
        skipped["sd_se_swap"] = "no n column"

    # -- GRIM -----------------------------------------------------------------
    if items is not None and MEAN in roles and N in roles:
        checks.append("grim")
        untestable = 0
        for i in range(len(raw)):
            m_cell, size = rows.cells[MEAN][i], n[i]
            if mean[i] is None or size is None or size <= 0 or not float(size).is_integer():
                continue
            d = mean_decimals if mean_decimals is not None else _decimals(m_cell)
            if d is None or int(size) * items >= 10**d:
                untestable += 1
                continue
            if not grim_consistent(m_cell if isinstance(clean_cell(m_cell), str) else mean[i], int(size), items,
                                   decimals=d, rounding=rounding):
                granularity = f"1/{int(size) * items}" if items > 1 else f"1/{int(size)}"
                flag("grim_inconsistent", "error",
                     f"mean {clean_cell(m_cell)} is impossible for n = {int(size)} integer-scored "
                     f"participant{'s' if size != 1 else ''}{f' on {items} items' if items > 1 else ''}: "
                     f"attainable means are multiples of {granularity}, and none rounds to it "
                     f"({d} decimals, {rounding} rounding; GRIM, Brown & Heathers 2017)", i, MEAN,
                     {"mean": mean[i], "n": size, "items": items, "decimals": d})
        if untestable:
            skipped["grim (some rows)"] = (
                f"{_plural(untestable, 'row')} not testable: n x items >= 10^decimals, or decimals unknown"
            )
    elif items is None and MEAN in roles:
        skipped["grim"] = "the scale was not declared integer-scored; pass integer_scored="

    # -- confidence intervals ----------------------------------------------------
    centre_role = ESTIMATE if ESTIMATE in roles else (MEAN if MEAN in roles else None)
    if centre_role and CI_LOW in roles and CI_HIGH in roles:
        checks.append("confidence_intervals")
        est, lo_ci, hi_ci = rows.number(centre_role), rows.number(CI_LOW), rows.number(CI_HIGH)
        labels = [as_label(v) for v in raw.frame[roles[MEASURE]]] if MEASURE in roles else [measure] * len(raw)
        if measure is not None:
            labels = [measure] * len(raw)
        unknown = set()
        for i in range(len(raw)):
            x, lo, hi = est[i], lo_ci[i], hi_ci[i]
            if x is None or lo is None or hi is None:
                continue
            kind = "difference" if centre_role == MEAN and labels[i] is None else _measure_kind(labels[i])
            values = {"estimate": x, "ci_low": lo, "ci_high": hi, "measure": labels[i]}
            if lo > hi:
                flag("ci_invalid", "error", f"ci_low {lo:g} is above ci_high {hi:g}", i, CI_LOW, values)
                continue
            h = [_half_unit(rows.cells[r][i]) for r in (centre_role, CI_LOW, CI_HIGH)]
            if x < lo - h[0] - h[1] - _NOISE or x > hi + h[0] + h[2] + _NOISE:
                flag("estimate_outside_ci", "error",
                     f"the estimate {x:g} lies outside its interval [{lo:g}, {hi:g}]", i, centre_role, values)
                continue
            if kind is None:
                unknown.add(labels[i])
                continue
            if kind == "ratio" and lo <= 0:
                flag("ci_invalid", "error",
                     f"a ratio ({labels[i]}) cannot have a bound <= 0 (ci_low {lo:g}): a log ratio or a "
                     "difference in a ratio row?", i, CI_LOW, values)
                continue
            natural = _asymmetry(x, lo, hi, h[0] + (h[1] + h[2]) / 2)
            logged = None
            if x > 0 and lo > 0:
                allowance = h[0] / x + (h[1] / lo + h[2] / hi) / 2
                logged = _asymmetry(math.log(x), math.log(lo), math.log(hi), allowance)
            if logged is None:
                continue
            claimed, other = (logged, natural) if kind == "ratio" else (natural, logged)
            if _off(claimed, th.ci_claimed) and not _off(other, th.ci_other):
                if kind == "ratio":
                    why = (f"as a ratio ({labels[i] or 'ratio'}) its interval should be symmetric on the log scale, "
                           "but it is symmetric on the natural scale: computed as estimate +- 1.96 SE on the "
                           "ratio scale, or a difference in a ratio row")
                else:
                    why = (f"as a difference ({labels[i] or 'mean'}) its interval should be symmetric around "
                           "the estimate, but it is symmetric on the log scale: a ratio (OR, RR, HR) "
                           "entered as a difference?")
                values.update({"midpoint_offset_claimed": claimed[0] / claimed[1], "midpoint_offset_other": other[0] / other[1]})
                flag("ci_wrong_scale", "warning",
                     f"{x:g} [{lo:g}, {hi:g}]: {why}", i, CI_LOW, values)
        if unknown:
            skipped["confidence_intervals (some rows)"] = (
                "measure unknown for " + ", ".join(sorted("(none given)" if u is None else str(u) for u in unknown))
                + " (give measure= or a measure column)"
            )
    elif CI_LOW in roles or CI_HIGH in roles:
        skipped["confidence_intervals"] = "needs an estimate (or mean) with both ci_low and ci_high"

    # -- duplicates -----------------------------------------------------------------
    if TREATMENT in roles:
        checks.append("duplicates")
        _duplicates(raw, study, treatments, n, mean, sd, events, rows, th, flag)
    elif TREATMENT1 in roles and TREATMENT2 in roles:
        checks.append("duplicates")
        seen: dict[tuple, int] = {}
        for i, s in enumerate(study):
            if s is None or t1[i] is None or t2[i] is None:
                continue
            pair = (s, frozenset((t1[i], t2[i])))
            if pair in seen:
                flag("duplicate_arm", "error",
                     f"the comparison {treatments[i]} appears twice in study {s!r} "
                     f"(rows {raw.rows[seen[pair]]} and {raw.rows[i]})", [seen[pair], i], TREATMENT1, {})
            else:
                seen[pair] = i
    else:
        skipped["duplicates"] = "no treatment column"

    # -- arm sizes against the studies table --------------------------------------------
    studies_file = None
    if studies is not None:
        sraw = _raw(studies)
        studies_file = sraw.file
        sroles = resolve_columns(sraw, (STUDY, N_TOTAL), study_columns, AUDIT_ALIASES)
        if STUDY not in sroles:
            raise DataError(f"{sraw.file}: the studies table has no study column; name it with study_columns={{'study': ...}}")
        slabels = [as_label(v) for v in sraw.frame[sroles[STUDY]]]
        first: dict[str, int] = {}
        for k, s in enumerate(slabels):
            if s is None:
                continue
            if s in first:
                flags.append(Flag(
                    "duplicate_study_id", "error",
                    f"study {s!r} has two rows in the studies table (rows {sraw.rows[first[s]]} and {sraw.rows[k]})",
                    sraw.file, (sraw.rows[first[s]], sraw.rows[k]), s, None, sroles[STUDY], {},
                ))
            else:
                first[s] = k
        if N_TOTAL in sroles and N in roles:
            checks.append("arm_sizes_total")
            arms_of: dict[str, list[int]] = defaultdict(list)
            for i, s in enumerate(study):
                if s is not None:
                    arms_of[s].append(i)
            for s, k in first.items():
                total, problem = _number(sraw.frame[sroles[N_TOTAL]].iloc[k])
                if problem:
                    flags.append(Flag("not_a_number", "error", f"{problem}; this cell was left out of the checks",
                                      sraw.file, (sraw.rows[k],), s, None, sroles[N_TOTAL], {}))
                if total is None or s not in arms_of:
                    continue
                sizes = [n[i] for i in arms_of[s]]
                if any(v is None for v in sizes):
                    continue
                added = float(sum(sizes))
                if abs(added - total) > th.n_total_tolerance + _NOISE * max(1.0, total):
                    more = added > total
                    reason = (
                        f"the arm sizes add up to {added:g} ({' + '.join(f'{v:g}' for v in sizes)}) but the study "
                        f"reports {total:g} participants (studies table row {sraw.rows[k]}): "
                        + ("more than were in the study -- a double-counted arm or a typo"
                           if more else "fewer -- attrition, an arm left out, or a typo")
                    )
                    flag("arm_sizes_total", "warning", reason, arms_of[s], N,
                         {"sum_of_arms": added, "n_total": total, "studies_row": sraw.rows[k]}, study_=s)
        elif N in roles:
            skipped["arm_sizes_total"] = "the studies table has no n_total column"
    elif N in roles and arm_level:
        skipped["arm_sizes_total"] = "no studies table given (studies=)"

    severity_rank = {s: k for k, s in enumerate(SEVERITIES)}
    flags.sort(key=lambda f: (f.row if f.row is not None else 10**12, f.file or "", severity_rank.get(f.severity, 9), f.code))
    return PlausibilityReport(
        file=file, rows=len(raw), flags=tuple(flags), checks=tuple(dict.fromkeys(checks)),
        skipped=MappingProxyType(skipped), thresholds=th, studies_file=studies_file,
    )


def _asymmetry(x: float, lo: float, hi: float, allowance: float) -> tuple[float, float, float]:
    """(|x - midpoint|, half-width, rounding allowance) on one scale."""
    return abs(x - (lo + hi) / 2), (hi - lo) / 2, allowance


def _off(a: tuple[float, float, float], fraction: float) -> bool:
    """Is the estimate off the midpoint by more than ``fraction`` half-widths plus rounding?"""
    offset, half, allowance = a
    return offset > fraction * half + allowance + _NOISE * max(1.0, half)


def _near(x: float, y: float, hx: float, hy: float, relative: float) -> bool:
    return abs(x - y) <= max(relative * max(abs(x), abs(y)), max(hx, hy)) + _NOISE * max(1.0, abs(x), abs(y))


def _duplicates(raw, study, treatments, n, mean, sd, events, rows, th: Thresholds, flag) -> None:
    """Repeated arms, repeated study ids, and studies whose arm data are (near-)identical."""
    arms_of: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(study):
        if s is not None:
            arms_of[s].append(i)
    clean: dict[str, list[int]] = {}
    for s, members in arms_of.items():
        seen: dict[str, list[int]] = defaultdict(list)
        for i in members:
            if treatments[i] is not None:
                seen[treatments[i]].append(i)
        repeated = {t: idx for t, idx in seen.items() if len(idx) > 1}
        if repeated and len(seen) > 1 and all(len(idx) == 2 for idx in seen.values()):
            listed = sorted(i for idx in seen.values() for i in idx)
            flag("duplicate_study_id", "error",
                 f"study {s!r} appears twice: each of its arms ({', '.join(sorted(seen))}) has two rows "
                 f"({', '.join(str(raw.rows[i]) for i in listed)}) -- the same trial entered twice, or two "
                 "trials under one id", listed, STUDY, {"arms": len(seen)}, study_=s)
            continue
        for t, idx in repeated.items():
            flag("duplicate_arm", "error",
                 f"treatment {t!r} appears {len(idx)} times in study {s!r} (rows "
                 f"{', '.join(str(raw.rows[i]) for i in idx)})", idx, TREATMENT, {}, study_=s, treatment=t)
        if not repeated:
            clean[s] = members
    binary = any(v is not None for v in events) and not any(v is not None for v in mean)

    def signature(members: list[int]) -> list[tuple] | None:
        out = []
        for i in members:
            if binary:
                if n[i] is None or events[i] is None:
                    return None
                out.append((n[i], events[i], None))
            else:
                if n[i] is None or mean[i] is None or sd[i] is None:
                    return None
                out.append((n[i], mean[i], sd[i]))
        return out

    def cell_half(role: str, i: int) -> float:
        return _half_unit(rows.cells[role][i]) if role in rows.cells else 0.0

    groups: dict[tuple, list[str]] = defaultdict(list)
    sigs: dict[str, list[tuple[tuple, int]]] = {}
    for s, members in clean.items():
        sig = signature(members)
        if sig is None or len(members) < 2:
            continue
        order = sorted(range(len(members)), key=lambda k: (sig[k][0], sig[k][1], sig[k][2] or 0))
        sigs[s] = [(sig[k], members[k]) for k in order]
        groups[(len(members), tuple(sorted(v[0] for v in sig)))].append(s)
    reported: set[frozenset] = set()
    for candidates in groups.values():
        candidates = sorted(candidates)
        for x in range(len(candidates)):
            for y in range(x + 1, len(candidates)):
                s1, s2 = candidates[x], candidates[y]
                a, b = sigs[s1], sigs[s2]
                same, identical = True, True
                for (va, ia), (vb, ib) in zip(a, b):
                    if va[0] != vb[0]:
                        same = False
                        break
                    for k, role in ((1, EVENTS if binary else MEAN), (2, SD)):
                        if va[k] is None:
                            continue
                        if va[k] != vb[k]:
                            identical = False
                        if not _near(va[k], vb[k], cell_half(role, ia), cell_half(role, ib), th.duplicate_relative):
                            same = False
                    if not same:
                        break
                if not same or frozenset((s1, s2)) in reported:
                    continue
                reported.add(frozenset((s1, s2)))
                what = "(n, events)" if binary else "(n, mean, sd)"
                listed = [i for _, i in a] + [i for _, i in b]
                flag("duplicate_trial", "warning",
                     f"studies {s1!r} and {s2!r} have {'identical' if identical else 'near-identical'} arm data "
                     f"{what} in {'both' if len(a) == 2 else f'all {len(a)}'} arms: a duplicate publication of one trial, or rows copied "
                     "from one study to another", listed, STUDY,
                     {"study": s1, "other_study": s2, "identical": identical}, study_=s1)
