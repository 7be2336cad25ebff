"""Readers: a file or data frame in, a validated schema table out.

Each reader takes a path (CSV/TSV/TXT, XLSX, JSON; see :mod:`netgrade.data.io`), a
pandas DataFrame or a :class:`~netgrade.data.io.RawTable`, and returns the table of
:mod:`netgrade.data.schema` with canonical column names, the columns it did not use
(covariates, kept as read), and ``source_file`` / ``source_row`` so that later stages can
still point at the cell to fix.

Common arguments
----------------
columns
    ``{role: "column in your file"}``, e.g. ``{"study": "author", "events": "deaths"}``.
    Roles the mapping leaves out are found by their aliases
    (:data:`netgrade.data.schema.COLUMN_ALIASES`); metafor's wide names (``ai``,
    ``n1i``, ...) are recognised by their own name only.
where
    ``{"column": value}`` or ``{"column": [values]}``: keep only the matching records
    (compared as text), e.g. ``where={"table": "9"}`` for one of the meta-analyses in
    dat.yusuf1985.
missing
    ``"exclude"`` (default: a study with a missing required value is left out and
    listed in ``excluded`` with the file, row and column) or ``"error"``.
sheet
    The XLSX worksheet (name or 0-based position; default the first).

Every problem is collected before one :class:`~netgrade.errors.DataError` is raised;
see :mod:`netgrade.data.validate` for the rules.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import AnalysisWarning, DataError
from .io import RawTable, as_raw, filter_rows, normalise_name, require_roles, resolve_columns
from .schema import (
    COLUMN_ALIASES,
    ESTIMATE,
    EVENTS,
    MEAN,
    N,
    OVERALL,
    SCALE_MAX,
    SCALE_MIN,
    SD,
    SE,
    SOURCE_FILE,
    SOURCE_ROW,
    STUDY,
    TIME,
    TREATMENT,
    TREATMENT1,
    TREATMENT2,
    VI,
    WIDE_COLUMNS,
    WIDE_LAYOUTS,
    ArmTable,
    ContrastTable,
    RiskOfBiasTable,
    StudyTable,
)
from .validate import (
    Checked,
    MissingPolicy,
    arm_rules,
    check_arms,
    check_contrasts,
    check_risk_of_bias,
    check_studies,
    check_wide,
)

ARM_ROLES = (STUDY, TREATMENT, EVENTS, N, MEAN, SD, TIME, SCALE_MIN, SCALE_MAX)
CONTRAST_ROLES = (STUDY, TREATMENT1, TREATMENT2, ESTIMATE, SE, VI)
# metafor's wide names match only themselves; the study column keeps its aliases.
WIDE_ALIASES = {STUDY: COLUMN_ALIASES[STUDY]}

#: Columns each wide layout needs (binary: ``bi, di`` may replace ``n1i, n2i``;
#: precomputed: ``sei`` may replace ``vi``).
WIDE_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "binary": (("ai", "ci", "n1i", "n2i"), ("ai", "ci", "bi", "di")),
    "continuous": (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),),
    "single_binary": (("xi", "ni"),),
    "single_continuous": (("mi", "sdi", "ni"),),
    "precomputed": (("yi", "vi"), ("yi", "sei")),
}


# ---------------------------------------------------------------------------
# Long arm-level data
# ---------------------------------------------------------------------------


def read_arms(
    data: Any,
    columns: Mapping[str, str] | None = None,
    outcome: str | None = None,
    treatments: Sequence[str] | None = None,
    missing: MissingPolicy = "exclude",
    single_group: bool = False,
    where: Mapping[str, Any] | None = None,
    sheet: str | int | None = None,
) -> ArmTable:
    """Read long arm-level data (one row per arm) into an :class:`ArmTable`.

    Roles: ``study, treatment, n`` and ``events`` (binary) or ``mean, sd``
    (continuous); optional ``time, scale_min, scale_max``.  ``outcome=None`` infers the
    type: binary if an events column is found, continuous if mean and sd columns are;
    both or neither is an error asking for ``outcome=``.  ``treatments`` restricts the
    treatment names allowed; ``single_group=True`` accepts studies with one arm.
    """
    if outcome not in (None, "binary", "continuous"):
        raise ValueError(f"outcome must be 'binary', 'continuous' or None, not {outcome!r}")
    raw = as_raw(data, sheet)
    roles = [r for r in ARM_ROLES if not (outcome == "binary" and r in (MEAN, SD))
             and not (outcome == "continuous" and r == EVENTS)]
    found = resolve_columns(raw, roles, columns)
    outcome = outcome or _infer_outcome(raw, found)
    needed = [r.role for r in arm_rules(outcome, found)]
    require_roles(raw, found, [STUDY, TREATMENT] + needed, f"{outcome} arm data")
    used = {role: found[role] for role in [STUDY, TREATMENT] + needed}
    raw = filter_rows(raw, where, found)
    checked = check_arms(raw, used, outcome, missing=missing, single_group=single_group, treatments=treatments)
    core = {STUDY: checked.studies, TREATMENT: checked.labels[TREATMENT]}
    core.update({role: checked.numbers[role] for role in needed})
    warnings = list(checked.warnings)
    frame = _frame(raw, checked.keep, core, used.values(), warnings)
    return ArmTable(frame, outcome, raw.file, checked.excluded, tuple(warnings))


def _infer_outcome(raw: RawTable, found: Mapping[str, str]) -> str:
    binary = EVENTS in found
    continuous = MEAN in found and SD in found
    if binary and continuous:
        raise DataError(
            f"{raw.file}: both binary ({EVENTS}: {found[EVENTS]!r}) and continuous ({MEAN}: {found[MEAN]!r}, "
            f"{SD}: {found[SD]!r}) columns found; pass outcome='binary' or outcome='continuous'"
        )
    if not (binary or continuous):
        raise DataError(
            f"{raw.file}: cannot tell the outcome type: no events column (binary) and no mean and sd "
            f"columns (continuous) among {', '.join(map(repr, raw.columns))}; name them with "
            "columns={'events': ...} or columns={'mean': ..., 'sd': ...}"
        )
    return "binary" if binary else "continuous"


# ---------------------------------------------------------------------------
# Wide (metafor-style) data
# ---------------------------------------------------------------------------


def read_wide(
    data: Any,
    layout: str | None = None,
    columns: Mapping[str, str] | None = None,
    treatment: str = "treatment",
    control: str = "control",
    missing: MissingPolicy = "exclude",
    where: Mapping[str, Any] | None = None,
    sheet: str | int | None = None,
) -> ArmTable | ContrastTable:
    """Read one-row-per-study data in metafor's column names.

    Layouts (``layout=None`` infers the one whose columns are all present; more than
    one is an error asking for ``layout=``):

    ``"binary"``       ``ai, bi, ci, di`` (events/non-events) or ``ai, n1i, ci, n2i``
    ``"continuous"``   ``m1i, sd1i, n1i, m2i, sd2i, n2i``
    ``"single_binary"``      ``xi, ni``
    ``"single_continuous"``  ``mi, sdi, ni``
    ``"precomputed"``  ``yi`` with ``vi`` (preferred, as in metafor) or ``sei``

    Two-group layouts become an :class:`ArmTable` in long form with two arms per study,
    labelled ``treatment`` (group 1) then ``control`` (group 2), ``n = ai + bi`` where
    group sizes are not given; single-group layouts give one arm per study labelled
    ``treatment``; ``"precomputed"`` gives a :class:`ContrastTable` with
    ``se = sqrt(vi)``.  Map other names with ``columns``, e.g. for dat.bcg
    ``{"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg", "study": "author"}``.
    Repeated study labels are legal (each row is its own comparison): they get a
    warning and are made unique by appending ``" (row N)"``.
    """
    if treatment == control:
        raise ValueError(f"treatment and control need different labels (both are {treatment!r})")
    raw = as_raw(data, sheet)
    found = resolve_columns(raw, (STUDY,) + WIDE_COLUMNS, columns, WIDE_ALIASES)
    layout = layout or _infer_layout(raw, found)
    if layout not in WIDE_LAYOUTS:
        raise ValueError(f"layout must be one of {WIDE_LAYOUTS}, not {layout!r}")
    require_roles(raw, found, [STUDY], "wide data")
    needed = _layout_columns(raw, found, layout)
    used = {role: found[role] for role in (STUDY,) + needed}
    raw = filter_rows(raw, where, found)
    checked = check_wide(raw, used, layout, missing=missing)
    warnings = list(checked.warnings)
    if layout == "precomputed":
        se = np.sqrt(checked.numbers[VI]) if VI in used else checked.numbers["sei"]
        core = {STUDY: checked.studies, ESTIMATE: checked.numbers["yi"], SE: se}
        frame = _frame(raw, checked.keep, core, used.values(), warnings)
        return ContrastTable(frame, raw.file, checked.excluded, tuple(warnings))
    groups = _wide_groups(layout, checked, treatment, control)
    frames = [_frame(raw, checked.keep, core, used.values(), warnings if g == 0 else []) for g, core in enumerate(groups)]
    frame = _interleave(frames)
    outcome = "binary" if layout in ("binary", "single_binary") else "continuous"
    return ArmTable(frame, outcome, raw.file, checked.excluded, tuple(warnings))


def _infer_layout(raw: RawTable, found: Mapping[str, str]) -> str:
    complete = [name for name, options in WIDE_REQUIRED.items() if any(all(c in found for c in o) for o in options)]
    if len(complete) == 1:
        return complete[0]
    if complete:
        raise DataError(
            f"{raw.file}: the columns fit several wide layouts ({', '.join(complete)}); pass layout=..."
        )
    present = [c for c in WIDE_COLUMNS if c in found]
    described = "; ".join(f"{name}: {' or '.join(', '.join(o) for o in options)}" for name, options in WIDE_REQUIRED.items())
    raise DataError(
        f"{raw.file}: no wide layout is complete (found {', '.join(present) or 'none of metafor’s columns'} "
        f"among {', '.join(map(repr, raw.columns))}). Layouts: {described}. "
        "Name your columns with columns={'ai': ..., ...}."
    )


def _layout_columns(raw: RawTable, found: Mapping[str, str], layout: str) -> tuple[str, ...]:
    options = WIDE_REQUIRED[layout]
    for option in options:
        if all(c in found for c in option):
            if layout == "binary" and all(c in found for c in ("bi", "di", "n1i", "n2i")):
                return ("ai", "bi", "ci", "di", "n1i", "n2i")  # checked against each other
            return option
    require_roles(raw, found, options[0], f"the {layout} layout")
    raise AssertionError("unreachable")  # pragma: no cover


def _wide_groups(layout: str, checked: Checked, treatment: str, control: str) -> list[dict]:
    num, k = checked.numbers, len(checked.studies)
    if layout == "binary":
        spec = [(treatment, {EVENTS: num["ai"], N: num["n1i"]}), (control, {EVENTS: num["ci"], N: num["n2i"]})]
    elif layout == "continuous":
        spec = [(treatment, {MEAN: num["m1i"], SD: num["sd1i"], N: num["n1i"]}),
                (control, {MEAN: num["m2i"], SD: num["sd2i"], N: num["n2i"]})]
    elif layout == "single_binary":
        spec = [(treatment, {EVENTS: num["xi"], N: num["ni"]})]
    else:
        spec = [(treatment, {MEAN: num["mi"], SD: num["sdi"], N: num["ni"]})]
    return [{STUDY: checked.studies, TREATMENT: (label,) * k, **values} for label, values in spec]


def _interleave(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows of group frames interleaved: study 1 arm 1, study 1 arm 2, study 2 arm 1..."""
    if len(frames) == 1:
        return frames[0]
    stacked = pd.concat(frames, keys=range(len(frames)), names=["_group", "_pos"]).reset_index()
    stacked = stacked.sort_values(["_pos", "_group"], kind="stable")
    return stacked.drop(columns=["_group", "_pos"]).reset_index(drop=True)


# ---------------------------------------------------------------------------
# Contrast-level data
# ---------------------------------------------------------------------------


def read_contrasts(
    data: Any,
    columns: Mapping[str, str] | None = None,
    missing: MissingPolicy = "exclude",
    where: Mapping[str, Any] | None = None,
    sheet: str | int | None = None,
    treatments: Sequence[str] | None = None,
) -> ContrastTable:
    """Read contrast-level data into a :class:`ContrastTable`.

    Roles: ``study, estimate`` and ``se`` (or ``vi``, converted to ``se = sqrt(vi)``;
    ``se`` wins when both are present), plus ``treatment1, treatment2`` for network
    data (estimate = treatment1 versus treatment2; both or neither).  Pairwise data
    have one row per study (repeated labels are made unique, with a warning); network
    data one row per comparison.  ``treatments`` restricts the treatment names allowed
    in network data.
    """
    raw = as_raw(data, sheet)
    found = resolve_columns(raw, CONTRAST_ROLES, columns)
    if (TREATMENT1 in found) != (TREATMENT2 in found):
        have, lack = (TREATMENT1, TREATMENT2) if TREATMENT1 in found else (TREATMENT2, TREATMENT1)
        raise DataError(
            f"{raw.file}: found a {have} column ({found[have]!r}) but no {lack} column; network contrasts "
            f"need both (name it with columns={{{lack!r}: ...}})"
        )
    spread = SE if SE in found else VI
    require_roles(raw, found, [STUDY, ESTIMATE, spread], "contrast data")
    network = (TREATMENT1, TREATMENT2) if TREATMENT1 in found else ()
    roles = (STUDY,) + network + (ESTIMATE, spread)
    used = {role: found[role] for role in roles}
    raw = filter_rows(raw, where, found)
    checked = check_contrasts(raw, used, missing=missing, treatments=treatments)
    se = checked.numbers[SE] if spread == SE else np.sqrt(checked.numbers[VI])
    core = {STUDY: checked.studies, **{t: checked.labels[t] for t in network}, ESTIMATE: checked.numbers[ESTIMATE], SE: se}
    warnings = list(checked.warnings)
    frame = _frame(raw, checked.keep, core, used.values(), warnings)
    return ContrastTable(frame, raw.file, checked.excluded, tuple(warnings))


# ---------------------------------------------------------------------------
# Study-level tables
# ---------------------------------------------------------------------------


def read_studies(
    data: Any,
    columns: Mapping[str, str] | None = None,
    where: Mapping[str, Any] | None = None,
    sheet: str | int | None = None,
) -> StudyTable:
    """Read study-level covariates into a :class:`StudyTable`: a ``study`` column
    (unique, never missing) and every other column kept as read."""
    raw = as_raw(data, sheet)
    found = resolve_columns(raw, (STUDY,), columns)
    require_roles(raw, found, [STUDY], "a study table")
    raw = filter_rows(raw, where, found)
    checked = check_studies(raw, found)
    frame = _frame(raw, checked.keep, {STUDY: checked.studies}, found.values(), [])
    return StudyTable(frame, raw.file)


def read_risk_of_bias(
    data: Any,
    columns: Mapping[str, str] | None = None,
    domains: Sequence[str] | None = None,
    where: Mapping[str, Any] | None = None,
    sheet: str | int | None = None,
) -> RiskOfBiasTable:
    """Read risk-of-bias judgements into a :class:`RiskOfBiasTable`.

    One row per study; ``domains`` names the judgement columns (default: every column
    except the study and ``overall`` columns).  Judgements are normalised ignoring case,
    spaces, underscores and hyphens: "low", "low risk" -> ``low``; "some", "some
    concerns", "unclear", "moderate" -> ``some concerns``; "high", "high risk",
    "serious" -> ``high`` (full list: ``schema.RISK_OF_BIAS_SYNONYMS``).  Anything
    else, or a missing judgement, is an error naming the row and column.
    """
    raw = as_raw(data, sheet)
    found = resolve_columns(raw, (STUDY, OVERALL), columns)
    require_roles(raw, found, [STUDY], "a risk-of-bias table")
    raw = filter_rows(raw, where, found)
    inferred = domains is None
    if domains is None:
        domains = [c for c in raw.columns if c not in found.values()]
    else:
        domains = [str(d) for d in domains]
        unknown = [d for d in domains if d not in raw.columns]
        if unknown:
            raise DataError(
                f"{raw.file}: domains= names {', '.join(map(repr, unknown))}, which the file does not have; "
                f"available columns: {', '.join(map(repr, raw.columns))}"
            )
        clash = [d for d in domains if d in found.values()]
        if clash:
            raise DataError(f"{raw.file}: domains= includes the {', '.join(map(repr, clash))} column, which is not a domain")
    if not domains and OVERALL not in found:
        raise DataError(
            f"{raw.file}: a risk-of-bias table needs an 'overall' column or domain columns besides "
            f"{', '.join(map(repr, found.values()))}"
        )
    checked = check_risk_of_bias(raw, found, domains, inferred)
    core = {STUDY: checked.studies, **{d: checked.labels[d] for d in domains}}
    if OVERALL in found:
        core[OVERALL] = checked.labels[OVERALL]
    # Columns that are neither judged nor the study are kept too (notes, support text).
    frame = _frame(raw, checked.keep, core, list(found.values()) + list(domains), [])
    return RiskOfBiasTable(frame, tuple(domains), raw.file)


# ---------------------------------------------------------------------------
# Layout sniffing
# ---------------------------------------------------------------------------


def load_pairwise(
    data: Any,
    columns: Mapping[str, str] | None = None,
    *,
    where: Mapping[str, Any] | None = None,
    missing: MissingPolicy = "exclude",
    sheet: str | int | None = None,
    outcome: str | None = None,
    treatments: Sequence[str] | None = None,
    single_group: bool = False,
    layout: str | None = None,
    treatment: str = "treatment",
    control: str = "control",
) -> ArmTable | ContrastTable:
    """Read a file whatever its layout: long arms, wide (metafor names) or contrasts.

    The rule, first match wins (an explicit ``columns`` mapping counts as the column
    being present; ``layout=`` forces the wide reader):

    1. ``treatment1`` and ``treatment2`` columns -> :func:`read_contrasts` (network).
    2. a complete two-group wide layout (``ai, ci`` with ``bi, di`` or ``n1i, n2i``;
       ``m1i ... n2i``; ``yi`` with ``vi`` or ``sei``) -> :func:`read_wide`.
    3. a ``treatment`` column -> :func:`read_arms` (long arm data; checked before the
       single-group layouts because ``study, trt, xi, ni`` is long data).
    4. a complete single-group layout (``xi, ni`` or ``mi, sdi, ni``) -> :func:`read_wide`.
    5. ``estimate`` and ``se`` (or ``vi``) -> :func:`read_contrasts` (pairwise).

    Otherwise a DataError describes the three layouts.
    """
    raw = as_raw(data, sheet)
    kind = layout and "wide" or _sniff(raw, columns or {})
    if kind == "contrasts":
        return read_contrasts(raw, columns, missing=missing, where=where, treatments=treatments)
    if kind == "arms":
        return read_arms(raw, columns, outcome=outcome, treatments=treatments, missing=missing,
                         single_group=single_group, where=where)
    return read_wide(raw, layout, columns, treatment=treatment, control=control, missing=missing, where=where)


def _sniff(raw: RawTable, columns: Mapping[str, str]) -> str:
    names = {normalise_name(c) for c in raw.columns}

    def has(role: str) -> bool:
        if role in columns:
            return True
        aliases = COLUMN_ALIASES.get(role, ((role,),)) if role not in WIDE_COLUMNS else ((role,),)
        return any(normalise_name(a) in names for tier in aliases for a in tier)

    def complete(layout: str) -> bool:
        return any(all(has(c) for c in option) for option in WIDE_REQUIRED[layout])

    if has(TREATMENT1) and has(TREATMENT2):
        return "contrasts"
    if any(complete(l) for l in ("binary", "continuous", "precomputed")):
        return "wide"
    if has(TREATMENT):
        return "arms"
    if complete("single_binary") or complete("single_continuous"):
        return "wide"
    if has(ESTIMATE) and (has(SE) or has(VI)):
        return "contrasts"
    raise DataError(
        f"{raw.file}: cannot tell the layout from the columns {', '.join(map(repr, raw.columns))}. "
        "Expected long arm data (study, treatment, events, n / mean, sd, n), wide data in metafor's names "
        "(ai, bi, ci, di / ai, n1i, ci, n2i / m1i, sd1i, n1i, m2i, sd2i, n2i / xi, ni / mi, sdi, ni / yi, vi), "
        "or contrasts (study, [treatment1, treatment2,] estimate, se). Name your columns with columns={...}."
    )


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------


def _frame(
    raw: RawTable,
    keep: np.ndarray,
    core: Mapping[str, Sequence],
    used: Any,
    warnings: list[AnalysisWarning],
) -> pd.DataFrame:
    """Canonical columns, then the unused columns as read, then the source columns;
    only the rows of studies that were kept."""
    used = set(used)
    data: dict[str, Any] = {}
    for name, values in core.items():
        data[name] = np.asarray(values, dtype=float) if isinstance(values, np.ndarray) else list(values)
    reserved = set(core) | {SOURCE_FILE, SOURCE_ROW}
    for column in raw.columns:
        if column in used:
            continue
        name = column
        if name in reserved:
            # An unused column whose name is a canonical one (e.g. a second "n" when
            # columns= chose another) must not overwrite or masquerade as it.
            name = f"{column}_original"
            warnings.append(AnalysisWarning(
                "renamed_column",
                f"{raw.file}: column {column!r} clashes with a column netgrade fills in; kept as {name!r}",
            ))
        data[name] = raw.frame[column].tolist()
    data[SOURCE_FILE] = [raw.file] * len(raw)
    data[SOURCE_ROW] = np.asarray(raw.rows, dtype=np.int64)
    frame = pd.DataFrame(data)
    return frame.loc[np.asarray(keep, dtype=bool)].reset_index(drop=True)
