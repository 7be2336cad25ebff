"""What every result object shares: JSON export, a text summary, a table, notebook HTML.

Results are frozen dataclasses.  Array fields are stored read-only so that a result,
once made, cannot change under a report that shows it.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from typing import Any

import numpy as np
import pandas as pd


def frozen_array(values: Any, dtype: Any = float) -> np.ndarray:
    """Return a read-only copy of ``values`` as a numpy array."""
    arr = np.array(values, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def jsonable(obj: Any) -> Any:
    """Convert results, numpy values and containers into plain JSON-ready values.

    NaN and infinities become ``None`` (JSON has no representation for them); floats
    keep their shortest round-trip representation so that the same inputs give
    byte-identical JSON.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, pd.DataFrame):
        return jsonable(obj.to_dict(orient="records"))
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON")


def dumps(obj: Any, indent: int | None = 2) -> str:
    """Deterministic JSON text: sorted keys, no NaN, stable float formatting."""
    return json.dumps(jsonable(obj), indent=indent, sort_keys=True, allow_nan=False)


class ResultMixin:
    """Shared behaviour of result objects: ``summary()``, ``to_frame()``, ``to_dict()``.

    Subclasses implement ``summary`` and ``to_frame``; ``to_dict`` defaults to every
    dataclass field and may be overridden to choose the exported keys.
    """

    def summary(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_json(self, indent: int | None = 2) -> str:
        return dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        table = self.to_frame().to_html(float_format=lambda x: f"{x:.4g}", border=0)
        return f"<pre>{html.escape(self.summary())}</pre>\n{table}"


def fmt(x: float | None, digits: int = 4) -> str:
    """Format a number for text summaries ('NA' for missing)."""
    if x is None:
        return "NA"
    x = float(x)
    if not math.isfinite(x):
        return "NA"
    if x != 0 and (abs(x) < 10 ** -(digits) or abs(x) >= 10**7):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}f}"


def fmt_p(p: float | None) -> str:
    """Format a p-value the way reviewers expect ('<.0001' below 1e-4)."""
    if p is None or not math.isfinite(float(p)):
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def note_lines(result: Any) -> list[str]:
    """The 'excluded: ...' and 'warning: ...' lines that end a text summary."""
    lines = [f"excluded: {e}" for e in getattr(result, "excluded", ())]
    lines += [f"warning: {w}" for w in getattr(result, "warnings", ())]
    return lines


POOLED_FIELDS = (
    "k", "estimate", "se", "ci_low", "ci_high", "stat", "pval",
    "estimate_display", "ci_low_display", "ci_high_display",
    "q", "q_df", "q_pval", "i2", "h2", "tau2",
)


def pooled_row(result: Any, method: str, measure: str) -> dict:
    """One table row with the fields common to common-effect pooling results."""
    row = {"method": method, "measure": measure}
    row.update({name: getattr(result, name) for name in POOLED_FIELDS})
    return row
