"""Design matrices for meta-regression, from arrays, data frames or formulas.

A moderator specification becomes a model matrix with an intercept (unless removed)
and columns named as R names them, so that coefficients can be compared one to one
with metafor: a numeric moderator keeps its name (``ablat``), a categorical moderator
is dummy-coded against its first level in sorted order (``factor(alloc)random``, or
``allocrandom`` when the column is text and not wrapped in ``factor()``), and
interactions join names with ``:``.
"""

from __future__ import annotations

import re
from itertools import combinations
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, DataIssue, ModelError

INTERCEPT = "intrcpt"


def build_design(
    mods: Any,
    k: int,
    intercept: bool = True,
    data: pd.DataFrame | None = None,
    coef_names: Sequence[str] | None = None,
    studies: Sequence[str] | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return (X, column names) for ``k`` studies.

    ``mods`` may be None (intercept only), a vector or matrix of moderator values
    (without the intercept column), a DataFrame (numeric columns as is, text columns
    dummy-coded), or a formula string such as ``"~ ablat + factor(alloc)"`` evaluated
    in ``data``.  An intercept column is a column of ones named ``intrcpt``.
    """
    if isinstance(mods, str):
        if data is None:
            raise ModelError(f"the moderator formula {mods!r} needs a data frame of study covariates (data=...)")
        X, names, has_int = _from_formula(mods, data, intercept)
    elif mods is None:
        X, names, has_int = np.empty((k, 0)), [], intercept
    elif isinstance(mods, pd.DataFrame):
        X, names = _from_frame(mods)
        has_int = intercept
    elif isinstance(mods, pd.Series):
        X, names = _from_frame(mods.to_frame())
        has_int = intercept
    else:
        X = np.asarray(mods, dtype=float)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        names = list(coef_names) if coef_names is not None and len(coef_names) == X.shape[1] else (
            ["mods"] if X.shape[1] == 1 else [f"mods{j + 1}" for j in range(X.shape[1])]
        )
        has_int = intercept
        if coef_names is not None and len(coef_names) == X.shape[1] + int(intercept):
            names = list(coef_names)[int(intercept):]
    if X.shape[0] != k:
        raise DataError(f"moderators have {X.shape[0]} rows for {k} studies")
    _check_missing(X, names, studies)
    # A column of ones among the moderators is the intercept (moved to the front).
    ones = [j for j in range(X.shape[1]) if np.all(X[:, j] == 1.0)]
    if ones:
        X = np.delete(X, ones, axis=1)
        names = [n for i, n in enumerate(names) if i not in ones]
        has_int = True
    if has_int:
        X = np.column_stack([np.ones(k), X]) if X.size else np.ones((k, 1))
        names = [INTERCEPT] + list(names)
    return np.asarray(X, dtype=float), tuple(names)


def intercept_index(names: Sequence[str]) -> int | None:
    return 0 if names and names[0] == INTERCEPT else None


def _check_missing(X: np.ndarray, names: Sequence[str], studies: Sequence[str] | None) -> None:
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        issues = [
            DataIssue(
                "moderator value is missing",
                study=None if studies is None else str(studies[i]),
                row=None,
                column=str(names[j]) if j < len(names) else None,
            )
            for i, j in bad
        ]
        raise DataError(
            "moderators have missing values; exclude those studies explicitly or complete the data",
            issues,
        )


def _from_frame(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    cols, names = [], []
    for col in frame.columns:
        s = frame[col]
        if _is_numeric(s):
            cols.append(pd.to_numeric(s).to_numpy(dtype=float))
            names.append(str(col))
        else:
            D, dn = _dummies(s, str(col))
            cols.extend(D.T)
            names.extend(dn)
    X = np.column_stack(cols) if cols else np.empty((len(frame), 0))
    return X, names


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _levels(s: pd.Series) -> list:
    values = s.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _dummies(s: pd.Series, prefix: str) -> tuple[np.ndarray, list[str]]:
    """Treatment (reference) coding against the first level in sorted order, as R's
    default contrasts do."""
    levels = _levels(s)
    if s.isna().any():
        D = np.full((len(s), max(len(levels) - 1, 0)), np.nan)
    else:
        D = np.zeros((len(s), max(len(levels) - 1, 0)))
    names = []
    for j, lev in enumerate(levels[1:]):
        col = (s == lev).to_numpy(dtype=float)
        col[s.isna().to_numpy()] = np.nan
        D[:, j] = col
        names.append(f"{prefix}{_level_label(lev)}")
    return D, names


def _level_label(lev: Any) -> str:
    if isinstance(lev, float) and lev.is_integer():
        return str(int(lev))
    return str(lev)


_TERM_FACTOR = re.compile(r"^factor\((?P<name>[^()]+)\)$")


def _from_formula(formula: str, data: pd.DataFrame, intercept: bool) -> tuple[np.ndarray, list[str], bool]:
    """Parse a small formula language: ``~ a + factor(b) + a:c + a*c - 1``."""
    rhs = formula.split("~", 1)[1] if "~" in formula else formula
    rhs = rhs.replace(" ", "")
    has_int = intercept
    # "-1", "+0" or a leading "0" remove the intercept; "+1" keeps it.
    if re.search(r"(^|[+])0($|[+])", rhs) or re.search(r"-1($|[+])", rhs):
        has_int = False
        rhs = re.sub(r"-1($|(?=[+]))", "", rhs)
    terms: list[str] = []
    for tok in re.split(r"\+(?![^()]*\))", rhs):
        if tok in ("", "0", "1"):
            continue
        if "-" in re.sub(r"\([^()]*\)", "", tok):
            raise ModelError(f"cannot parse the term {tok!r} in the moderator formula {formula!r}")
        if "*" in tok:
            parts = tok.split("*")
            for size in range(1, len(parts) + 1):
                terms.extend(":".join(c) for c in combinations(parts, size))
        else:
            terms.append(tok)
    cols: list[np.ndarray] = []
    names: list[str] = []
    seen = set()
    for term in terms:
        if term in seen:
            continue
        seen.add(term)
        M, mn = _term_matrix(term, data)
        cols.extend(M.T)
        names.extend(mn)
    X = np.column_stack(cols) if cols else np.empty((len(data), 0))
    return X, names, has_int


def _term_matrix(term: str, data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    factors = term.split(":")
    mats = [_variable_matrix(f, data) for f in factors]
    M, names = mats[0]
    for M2, n2 in mats[1:]:
        M = np.column_stack([M[:, i] * M2[:, j] for j in range(M2.shape[1]) for i in range(M.shape[1])])
        names = [f"{a}:{b}" for b in n2 for a in names]
    return M, names


def _variable_matrix(token: str, data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    m = _TERM_FACTOR.match(token)
    name = m.group("name") if m else token
    if name not in data.columns:
        raise ModelError(
            f"moderator {name!r} is not a study covariate; available: {', '.join(map(str, data.columns))}"
        )
    s = data[name]
    if m or not _is_numeric(s):
        D, dn = _dummies(s, token)
        return D, dn
    return pd.to_numeric(s).to_numpy(dtype=float).reshape(-1, 1), [name]
