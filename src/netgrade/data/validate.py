"""Validation: turn raw cells into typed values, or say precisely what is wrong.

Every check runs to the end before anything is raised, so one :class:`DataError`
lists every problem in the input, each a :class:`DataIssue` with the file, row, study
and column (the file's own column name, so that the user can find the cell).

Rules
-----
* A cell that should hold a number must be a plain number: ``12``, ``-0.5``, ``1e-3``.
  ``"12a"`` or ``"abc"`` is an error, and so are ``"1,234"`` and ``"1 234"``: a comma
  may be a thousands separator or a decimal comma and a space may split two numbers, and
  guessing which would silently change the data.
* Counts (events) must be >= 0 and at most the group size; group sizes must be > 0;
  standard deviations, standard errors and variances must be > 0.  Non-integer counts
  or group sizes are accepted with an :class:`AnalysisWarning` (as metafor does).
* Missing values (see :data:`netgrade.data.io.MISSING_TOKENS`) in a required column:
  with ``missing="exclude"`` the whole study is left out and listed as an
  :class:`ExcludedStudy` whose reason names the file, row and column, plus one
  ``missing_values`` warning; with ``missing="error"`` each is an error.  A missing
  study label is always an error (there would be nothing to list it under).
* Long arm data: the same treatment twice in one study, a study with a single arm
  (unless ``single_group=True``) and treatments outside an allowed list are errors;
  treatment names that differ only in case get a warning.
* Contrast data: ``treatment1`` equal to ``treatment2`` or the same comparison twice in
  a study are errors; a multi-arm study whose contrasts do not connect its treatments is
  an error and one whose contrasts disagree around a loop gets a warning.

Nothing is dropped silently: every study read is either kept or excluded with a reason.
The ``check_*`` functions return a :class:`Checked` record; the readers
(:mod:`netgrade.data.readers`) turn it into the schema tables.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np

from ..errors import AnalysisWarning, DataError, DataIssue, ExcludedStudy
from .io import RawTable, as_label
from .schema import (
    ESTIMATE,
    EVENTS,
    MEAN,
    N,
    OVERALL,
    RISK_OF_BIAS_LEVELS,
    RISK_OF_BIAS_SYNONYMS,
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
)

MissingPolicy = Literal["exclude", "error"]
MISSING_POLICIES = ("exclude", "error")

#: Kinds of numeric column: counts (>= 0), sizes (> 0), positive (> 0: sd, se, vi),
#: non-negative (time) and real (means, estimates, scale bounds).
NumberKind = Literal["count", "size", "positive", "nonnegative", "real"]

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WITH_COMMA = re.compile(r"[+-]?[\d.]*\d,[\d,.]*")
_WITH_SPACE = re.compile(r"[+-]?[\d.]+(?:\s+[\d.]+)+")


def parse_number(value: Any) -> tuple[float | None, str | None]:
    """Read one cell as a number.

    Returns ``(number, None)``, ``(None, None)`` for a missing cell, or
    ``(None, problem)`` where ``problem`` says in words why the cell is not a number.
    """
    if value is None:
        return None, None
    if isinstance(value, (bool, np.bool_)):
        return None, f"{value!r} is a true/false value, not a number"
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if math.isnan(number):
            return None, None
        if math.isinf(number):
            return None, f"{value!r} is not a finite number"
        return number, None
    if not isinstance(value, str):
        return None, f"{value!r} ({type(value).__name__}) is not a number"
    text = value.strip()
    if _PLAIN_NUMBER.fullmatch(text):
        return float(text), None
    if _WITH_COMMA.fullmatch(text):
        return None, (
            f"{text!r} is not a plain number: the comma could be a thousands separator or a "
            "decimal comma, so it is not guessed; write e.g. 1234 or 1.5"
        )
    if _WITH_SPACE.fullmatch(text):
        return None, (
            f"{text!r} is not a plain number: it contains a space (a thousands separator, or "
            "two values in one cell?); write e.g. 1234"
        )
    if text.endswith("%") and _PLAIN_NUMBER.fullmatch(text[:-1].strip()):
        return None, f"{text!r} is a percentage; give the number itself (e.g. the count of events)"
    if text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        return None, f"{text!r} is not a finite number"
    return None, f"{text!r} is not a number"


@dataclass(frozen=True)
class NumberRule:
    """A numeric column to type and check: its role, kind and whether it is required
    (a missing value in a required column excludes the study or is an error)."""

    role: str
    kind: NumberKind
    required: bool = True
    integer: bool = False  # non-integer values earn a warning (counts, group sizes)


@dataclass(frozen=True, eq=False)
class Checked:
    """The typed content of validated rows, aligned with the raw table's rows.

    ``studies[i]`` and ``labels[role][i]`` are text, ``numbers[role][i]`` floats (NaN
    where an optional value is missing); ``keep[i]`` is false for rows of excluded
    studies.
    """

    studies: tuple[str, ...]
    labels: dict[str, tuple[str | None, ...]]
    numbers: dict[str, np.ndarray]
    keep: np.ndarray
    excluded: tuple[ExcludedStudy, ...] = ()
    warnings: tuple[AnalysisWarning, ...] = ()


class Findings:
    """Collects errors, missing cells and warnings while checking one raw table."""

    def __init__(self, raw: RawTable, roles: Mapping[str, str], missing: MissingPolicy = "exclude"):
        if missing not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {MISSING_POLICIES}, not {missing!r}")
        self.raw = raw
        self.roles = dict(roles)
        self.policy = missing
        self.issues: list[DataIssue] = []
        self.missing_cells: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.warnings: list[AnalysisWarning] = []
        self.non_integer: list[tuple[str, int, str, float]] = []
        self.studies: list[str | None] = []

    # -- recording -------------------------------------------------------
    def error(self, i: int | None, problem: str, role: str | None = None, column: str | None = None) -> None:
        row = self.raw.rows[i] if i is not None else None
        study = self.studies[i] if i is not None and i < len(self.studies) else None
        column = column if column is not None else (self.roles.get(role) if role else None)
        self.issues.append(DataIssue(problem, self.raw.file, row, study, column))

    def missing(self, i: int, role: str) -> None:
        """A required cell is empty: exclude the study or record an error."""
        study = self.studies[i]
        if self.policy == "error" or study is None:
            self.error(i, "missing value" + (" (the default, excluding such studies with a listed reason, would leave it out)" if study else ""), role)
        else:
            self.missing_cells[study].append((self.raw.rows[i], self.roles[role]))

    def warn(self, code: str, message: str, studies: Iterable[str] = ()) -> None:
        self.warnings.append(AnalysisWarning(code, message, tuple(dict.fromkeys(studies))))

    # -- typing ----------------------------------------------------------
    def study_labels(self) -> tuple[str | None, ...]:
        """Read the study column; a missing label is always an error."""
        column = self.raw.frame[self.roles[STUDY]]
        self.studies = [as_label(v) for v in column]
        for i, label in enumerate(self.studies):
            if label is None:
                self.error(i, "missing study label; every row must name its study", STUDY)
        return tuple(self.studies)

    def labels(self, role: str, required: bool = True) -> tuple[str | None, ...]:
        """Read a text column (treatment names); missing cells follow the policy."""
        values = tuple(as_label(v) for v in self.raw.frame[self.roles[role]])
        if required:
            for i, label in enumerate(values):
                if label is None:
                    self.missing(i, role)
        return values

    def numbers(self, rule: NumberRule) -> np.ndarray:
        """Type one numeric column and check its range; NaN where not usable."""
        column = self.roles[rule.role]
        out = np.full(len(self.raw), np.nan)
        for i, cell in enumerate(self.raw.frame[column]):
            value, problem = parse_number(cell)
            if problem:
                self.error(i, problem, rule.role)
                continue
            if value is None:
                if rule.required:
                    self.missing(i, rule.role)
                continue
            bad = _range_problem(rule, value)
            if bad:
                self.error(i, bad, rule.role)
                continue
            if rule.integer and not value.is_integer():
                self.non_integer.append((self.studies[i], self.raw.rows[i], column, value))
            out[i] = value
        return out

    # -- results ---------------------------------------------------------
    def raise_if_errors(self, what: str) -> None:
        if self.issues:
            # in reading order: by row, then by the column's place in the file
            order = {c: j for j, c in enumerate(self.raw.columns)}
            self.issues.sort(key=lambda i: (i.row if i.row is not None else -1, order.get(i.column, -1)))
            count = len(self.issues)
            raise DataError(
                f"{self.raw.file}: {count} problem{'s' if count > 1 else ''} in the {what}; nothing was read",
                self.issues,
            )

    def finish(self, labels: dict, numbers: dict) -> Checked:
        """Raise if anything is wrong, else exclude studies with missing cells."""
        if self.non_integer:
            shown = "; ".join(
                f"study {s!r} row {r} column {c!r} = {v:g}" for s, r, c, v in self.non_integer[:10]
            )
            more = f" and {len(self.non_integer) - 10} more" if len(self.non_integer) > 10 else ""
            self.warn(
                "non_integer_counts",
                f"non-integer counts accepted as given (metafor does the same): {shown}{more}",
                (s for s, *_ in self.non_integer),
            )
        excluded = []
        for study, cells in self.missing_cells.items():
            by_row: dict[int, list[str]] = defaultdict(list)
            order = {c: j for j, c in enumerate(self.raw.columns)}
            for row, column in sorted(cells, key=lambda rc: (rc[0], order.get(rc[1], 0))):
                if column not in by_row[row]:
                    by_row[row].append(column)
            where = "; ".join(
                f"{self.raw.file}, row {row}, column{'s' if len(cols) > 1 else ''} {', '.join(map(repr, cols))}"
                for row, cols in by_row.items()
            )
            excluded.append(ExcludedStudy(study, f"missing value(s): {where}"))
        if excluded:
            names = ", ".join(repr(e.study) for e in excluded)
            self.warn(
                "missing_values",
                f"{len(excluded)} stud{'y' if len(excluded) == 1 else 'ies'} excluded because of missing values: {names}",
                (e.study for e in excluded),
            )
        gone = {e.study for e in excluded}
        keep = np.array([s not in gone for s in self.studies], dtype=bool)
        return Checked(
            studies=tuple(self.studies),
            labels=labels,
            numbers=numbers,
            keep=keep,
            excluded=tuple(excluded),
            warnings=tuple(self.warnings),
        )


def _range_problem(rule: NumberRule, value: float) -> str | None:
    name = rule.role
    if rule.kind == "count" and value < 0:
        return f"{name} cannot be negative (got {value:g})"
    if rule.kind == "size" and value <= 0:
        return f"{name} must be positive: a group needs at least one participant (got {value:g})"
    if rule.kind == "positive" and value <= 0:
        return f"{name} must be positive (got {value:g})"
    if rule.kind == "nonnegative" and value < 0:
        return f"{name} cannot be negative (got {value:g})"
    return None


def _not_above(f: Findings, part: np.ndarray, whole: np.ndarray, part_role: str, whole_role: str) -> None:
    for i in np.flatnonzero(part > whole):  # NaN compares false: skipped
        f.error(
            i,
            f"{part_role} ({part[i]:g}) exceeds the group size {whole_role} ({whole[i]:g})",
            part_role,
        )


# ---------------------------------------------------------------------------
# Long arm-level data
# ---------------------------------------------------------------------------


def arm_rules(outcome: str, roles: Mapping[str, str]) -> list[NumberRule]:
    """The numeric columns of long arm data for an outcome type."""
    if outcome == "binary":
        rules = [NumberRule(EVENTS, "count", integer=True), NumberRule(N, "size", integer=True)]
    else:
        rules = [NumberRule(MEAN, "real"), NumberRule(SD, "positive"), NumberRule(N, "size", integer=True)]
    optional = [NumberRule(TIME, "nonnegative", False), NumberRule(SCALE_MIN, "real", False),
                NumberRule(SCALE_MAX, "real", False)]
    return rules + [r for r in optional if r.role in roles]


def check_arms(
    raw: RawTable,
    roles: Mapping[str, str],
    outcome: str,
    *,
    missing: MissingPolicy = "exclude",
    single_group: bool = False,
    treatments: Sequence[str] | None = None,
) -> Checked:
    """Validate long arm-level data (one row per arm); see the module docstring."""
    f = Findings(raw, roles, missing)
    studies = f.study_labels()
    arms = f.labels(TREATMENT)
    numbers = {rule.role: f.numbers(rule) for rule in arm_rules(outcome, roles)}
    if outcome == "binary":
        _not_above(f, numbers[EVENTS], numbers[N], EVENTS, N)
    _check_scale(f, numbers)
    _check_arm_structure(f, studies, arms, single_group)
    if treatments is not None:
        _check_allowed(f, arms, treatments, TREATMENT)
    _warn_case_variants(f, [arms])
    f.raise_if_errors("arm data")
    return f.finish({TREATMENT: arms}, numbers)


def _check_scale(f: Findings, numbers: dict[str, np.ndarray]) -> None:
    if SCALE_MIN in numbers and SCALE_MAX in numbers:
        low, high = numbers[SCALE_MIN], numbers[SCALE_MAX]
        for i in np.flatnonzero(low >= high):
            f.error(i, f"scale_min ({low[i]:g}) must be below scale_max ({high[i]:g})", SCALE_MIN)
        if MEAN in numbers:
            mean = numbers[MEAN]
            outside = np.flatnonzero((mean < low) | (mean > high))
            if outside.size:
                shown = ", ".join(f"row {f.raw.rows[i]}" for i in outside[:10])
                f.warn(
                    "mean_outside_scale",
                    f"means outside their scale's range ({shown}); check the scale or the extraction",
                    (f.studies[i] for i in outside),
                )


def _check_arm_structure(
    f: Findings, studies: Sequence[str | None], arms: Sequence[str | None], single_group: bool
) -> None:
    first_row: dict[tuple[str, str], int] = {}
    per_study: dict[str, list[int]] = defaultdict(list)
    for i, (study, arm) in enumerate(zip(studies, arms)):
        if study is None:
            continue
        per_study[study].append(i)
        if arm is None:
            continue
        if (study, arm) in first_row:
            j = first_row[(study, arm)]
            f.error(
                i,
                f"treatment {arm!r} appears twice in study {study!r} (rows {f.raw.rows[j]} and "
                f"{f.raw.rows[i]}); each arm needs one row",
                TREATMENT,
            )
        else:
            first_row[(study, arm)] = i
    if single_group:
        return
    for study, rows in per_study.items():
        if len(rows) == 1 and study not in f.missing_cells:
            i = rows[0]
            f.error(
                i,
                f"study {study!r} has a single arm ({arms[i]!r}); comparative data need at least two "
                "arms per study (one-group data need a single-group measure such as PR, PLO or MN)",
                TREATMENT,
            )


def _check_allowed(f: Findings, values: Sequence[str | None], allowed: Sequence[str], role: str) -> None:
    allowed = [str(a) for a in allowed]
    known = set(allowed)
    for i, value in enumerate(values):
        if value is not None and value not in known:
            near = difflib.get_close_matches(value, allowed, n=1)
            near = near or [a for a in allowed if a.lower() == value.lower()]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            f.error(i, f"unknown treatment {value!r}{hint}; allowed: {', '.join(map(repr, allowed))}", role)


def _warn_case_variants(f: Findings, columns: Sequence[Sequence[str | None]]) -> None:
    names = {v for col in columns for v in col if v is not None}
    groups: dict[str, set[str]] = defaultdict(set)
    for name in names:
        groups[name.casefold()].add(name)
    clashes = [sorted(g) for g in groups.values() if len(g) > 1]
    if clashes:
        shown = "; ".join(" / ".join(map(repr, g)) for g in sorted(clashes))
        f.warn(
            "treatment_names_differ_in_case",
            f"treatment names that differ only in case are different treatments: {shown}",
        )


# ---------------------------------------------------------------------------
# Wide (one row per study, metafor names) data
# ---------------------------------------------------------------------------

WIDE_RULES: dict[str, list[NumberRule]] = {
    "binary": [NumberRule("ai", "count", integer=True), NumberRule("ci", "count", integer=True)],
    "continuous": [
        NumberRule("m1i", "real"), NumberRule("sd1i", "positive"), NumberRule("n1i", "size", integer=True),
        NumberRule("m2i", "real"), NumberRule("sd2i", "positive"), NumberRule("n2i", "size", integer=True),
    ],
    "single_binary": [NumberRule("xi", "count", integer=True), NumberRule("ni", "size", integer=True)],
    "single_continuous": [
        NumberRule("mi", "real"), NumberRule("sdi", "positive"), NumberRule("ni", "size", integer=True),
    ],
    "precomputed": [NumberRule("yi", "real")],
}


def check_wide(raw: RawTable, roles: Mapping[str, str], layout: str, *, missing: MissingPolicy = "exclude") -> Checked:
    """Validate one-row-per-study data in metafor's names for ``layout``.

    Binary rows give ``ai, ci`` with either ``bi, di`` (non-events) or ``n1i, n2i``
    (group sizes); when both are present they must agree.  Precomputed rows give ``yi``
    with ``vi`` (preferred, as in metafor) or ``sei``.  Repeated study labels are legal
    (each row is its own comparison) and become unique by appending ``" (row N)"`` to
    every copy, with a ``duplicate_study_labels`` warning.
    """
    f = Findings(raw, roles, missing)
    f.study_labels()
    _make_unique(f)
    numbers = {rule.role: f.numbers(rule) for rule in WIDE_RULES[layout]}
    if layout == "binary":
        _check_wide_binary(f, numbers)
    elif layout == "single_binary":
        _not_above(f, numbers["xi"], numbers["ni"], "xi", "ni")
    elif layout == "precomputed":
        spread = VI if VI in roles else "sei"
        numbers[spread] = f.numbers(NumberRule(spread, "positive"))
    f.raise_if_errors(f"{layout.replace('_', ' ')} data")
    return f.finish({}, numbers)


def _check_wide_binary(f: Findings, numbers: dict[str, np.ndarray]) -> None:
    roles = f.roles
    for events, rest, size in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
        if rest in roles:
            numbers[rest] = f.numbers(NumberRule(rest, "count", integer=True))
            total = numbers[events] + numbers[rest]
            for i in np.flatnonzero(total <= 0) if size not in roles else ():
                f.error(i, f"the group has no participants ({events} + {rest} = 0)", rest)
        if size in roles:
            numbers[size] = f.numbers(NumberRule(size, "size", integer=True))
            _not_above(f, numbers[events], numbers[size], events, size)
            if rest in roles:
                total = numbers[events] + numbers[rest]
                for i in np.flatnonzero(np.abs(total - numbers[size]) > 1e-9 * np.maximum(1, numbers[size])):
                    f.error(
                        i,
                        f"{events} + {rest} = {total[i]:g} but {size} = {numbers[size][i]:g}",
                        size,
                    )
        if size not in numbers:
            numbers[size] = numbers[events] + numbers[rest]


def _make_unique(f: Findings) -> None:
    """Give repeated study labels of one-row-per-comparison data a row suffix."""
    counts: dict[str, int] = defaultdict(int)
    for s in f.studies:
        if s is not None:
            counts[s] += 1
    repeated = [s for s, k in counts.items() if k > 1]
    if not repeated:
        return
    renamed = []
    for i, s in enumerate(f.studies):
        if s is not None and counts[s] > 1:
            f.studies[i] = f"{s} (row {f.raw.rows[i]})"
            renamed.append(f.studies[i])
    f.warn(
        "duplicate_study_labels",
        "study labels used on more than one row (each row is its own comparison) were made unique "
        f"by adding the row number: {', '.join(map(repr, renamed))}",
        renamed,
    )


# ---------------------------------------------------------------------------
# Contrast-level data
# ---------------------------------------------------------------------------


def check_contrasts(
    raw: RawTable,
    roles: Mapping[str, str],
    *,
    missing: MissingPolicy = "exclude",
    treatments: Sequence[str] | None = None,
) -> Checked:
    """Validate contrast-level data: ``study, estimate, se`` (or ``vi``), plus
    ``treatment1, treatment2`` for networks.

    Pairwise contrast data have one row per study (repeated labels are made unique as in
    :func:`check_wide`).  In network data each study's contrasts must connect its
    treatments; a multi-arm study whose estimates disagree around a loop
    (d_AB + d_BC != d_AC beyond rounding) gets a ``multiarm_inconsistent`` warning.
    """
    network = TREATMENT1 in roles and TREATMENT2 in roles
    f = Findings(raw, roles, missing)
    f.study_labels()
    labels: dict[str, tuple] = {}
    if network:
        labels = {TREATMENT1: f.labels(TREATMENT1), TREATMENT2: f.labels(TREATMENT2)}
    else:
        _make_unique(f)
    numbers = {ESTIMATE: f.numbers(NumberRule(ESTIMATE, "real"))}
    spread = SE if SE in roles else VI
    numbers[spread] = f.numbers(NumberRule(spread, "positive"))
    if network:
        _check_network_contrasts(f, labels[TREATMENT1], labels[TREATMENT2], numbers[ESTIMATE])
        if treatments is not None:
            _check_allowed(f, labels[TREATMENT1], treatments, TREATMENT1)
            _check_allowed(f, labels[TREATMENT2], treatments, TREATMENT2)
        _warn_case_variants(f, [labels[TREATMENT1], labels[TREATMENT2]])
    f.raise_if_errors("contrast data")
    return f.finish(labels, numbers)


def _check_network_contrasts(f: Findings, t1: Sequence, t2: Sequence, estimate: np.ndarray) -> None:
    seen: dict[tuple[str, frozenset], int] = {}
    per_study: dict[str, list[int]] = defaultdict(list)
    for i, (study, a, b) in enumerate(zip(f.studies, t1, t2)):
        if study is None or a is None or b is None:
            continue
        if a == b:
            f.error(i, f"treatment1 and treatment2 are both {a!r}; a contrast compares two treatments", TREATMENT2)
            continue
        key = (study, frozenset((a, b)))
        if key in seen:
            f.error(
                i,
                f"the comparison {a!r} vs {b!r} appears twice in study {study!r} (rows "
                f"{f.raw.rows[seen[key]]} and {f.raw.rows[i]})",
                TREATMENT1,
            )
            continue
        seen[key] = i
        per_study[study].append(i)
    for study, rows in per_study.items():
        if len(rows) > 1:
            _check_study_loops(f, study, rows, t1, t2, estimate)


def _check_study_loops(f: Findings, study: str, rows: list[int], t1, t2, estimate: np.ndarray) -> None:
    """Walk a spanning tree of the study's contrasts; every other contrast must agree.

    Tolerance: 1e-3 absolute plus 1e-3 relative to the largest |estimate| of the study,
    enough for values published to 3-4 decimals, small next to any real discrepancy.
    """
    adjacency: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    for i in rows:
        # estimate = theta(t1) - theta(t2): stepping t1 -> t2 subtracts it
        adjacency[t1[i]].append((t2[i], i, -1.0))
        adjacency[t2[i]].append((t1[i], i, 1.0))
    start = t1[rows[0]]
    # level[x] = theta(x) - theta(start), built along a spanning tree
    level, tree, queue = {start: 0.0}, set(), [start]
    while queue:
        node = queue.pop(0)
        for other, i, sign in adjacency[node]:
            if other not in level and not math.isnan(estimate[i]):
                level[other] = level[node] + sign * estimate[i]
                tree.add(i)
                queue.append(other)
    unreached = sorted(set(adjacency) - set(level))
    if unreached and not any(math.isnan(estimate[i]) for i in rows):
        f.error(
            rows[0],
            f"the contrasts of study {study!r} do not connect its treatments ({', '.join(map(repr, unreached))} "
            "cannot be reached); give every contrast against one common arm",
            TREATMENT1,
        )
        return
    scale = max((abs(estimate[i]) for i in rows if not math.isnan(estimate[i])), default=0.0)
    tolerance = 1e-3 + 1e-3 * scale
    bad = []
    for i in rows:
        if i in tree or math.isnan(estimate[i]) or t1[i] not in level or t2[i] not in level:
            continue
        implied = level[t1[i]] - level[t2[i]]
        if abs(implied - estimate[i]) > tolerance:
            bad.append(f"row {f.raw.rows[i]}: {t1[i]!r} vs {t2[i]!r} = {estimate[i]:g}, other contrasts imply {implied:g}")
    if bad:
        f.warn(
            "multiarm_inconsistent",
            f"study {study!r}: contrasts of a multi-arm study do not add up ({'; '.join(bad)}); "
            "check the extraction",
            [study],
        )


# ---------------------------------------------------------------------------
# Study-level tables
# ---------------------------------------------------------------------------


def check_unique_studies(raw: RawTable, roles: Mapping[str, str], what: str) -> Findings:
    """Study labels present and unique (one row per study); returns the findings so a
    caller can add its own checks before raising."""
    f = Findings(raw, roles)
    f.study_labels()
    first: dict[str, int] = {}
    for i, study in enumerate(f.studies):
        if study is None:
            continue
        if study in first:
            f.error(i, f"study {study!r} appears twice (rows {raw.rows[first[study]]} and {raw.rows[i]}); "
                       f"{what} need one row per study", STUDY)
        else:
            first[study] = i
    return f


def check_studies(raw: RawTable, roles: Mapping[str, str]) -> Checked:
    """Validate a study table: every row has a study label, no label twice."""
    f = check_unique_studies(raw, roles, "study tables")
    f.raise_if_errors("study table")
    return f.finish({}, {})


def normalise_judgement(value: Any) -> str | None:
    """A risk-of-bias judgement in one of RISK_OF_BIAS_LEVELS, or None if unrecognised."""
    label = as_label(value)
    if label is None:
        return None
    key = re.sub(r"[\s_\-]+", " ", label).strip().lower()
    return RISK_OF_BIAS_SYNONYMS.get(key)


def check_risk_of_bias(
    raw: RawTable, roles: Mapping[str, str], domains: Sequence[str], inferred: bool = False
) -> Checked:
    """Validate risk-of-bias judgements: unique studies; every domain (and ``overall``,
    if present) judged, each judgement one of the recognised words.  ``inferred`` says
    the domains were not named by the user (the messages then say how to name them)."""
    f = check_unique_studies(raw, roles, "risk-of-bias tables")
    judged: dict[str, tuple[str | None, ...]] = {}
    allowed = ", ".join(sorted(RISK_OF_BIAS_SYNONYMS))
    hint = "; if this column is not a domain, name the domains with domains=[...]" if inferred else ""
    for column in list(domains) + ([roles[OVERALL]] if OVERALL in roles else []):
        values = []
        for i, cell in enumerate(raw.frame[column]):
            level = normalise_judgement(cell)
            if as_label(cell) is None:
                f.error(i, "missing judgement; every study needs one in every domain "
                           "(leave a domain out with domains=[...])", column=column)
            elif level is None:
                f.error(i, f"{as_label(cell)!r} is not a risk-of-bias judgement; use "
                           f"{' / '.join(RISK_OF_BIAS_LEVELS)} (recognised: {allowed}){hint}", column=column)
            values.append(level)
        judged[OVERALL if OVERALL in roles and column == roles[OVERALL] else column] = tuple(values)
    f.raise_if_errors("risk-of-bias table")
    return f.finish(judged, {})
