"""Access to the reference values computed by R's metafor and netmeta (../shared/data).

The shared folder sits beside the repository (as in CI); ``NETGRADE_SHARED`` overrides
its location.  A missing folder is an error, not a skip: without it nothing is checked.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NETGRADE_SHARED", REPO.parent / "shared")).resolve()
METADAT = SHARED / "data" / "metadat"

# Tolerances of the acceptance criteria: closed forms and iterative estimates.
CLOSED = 1e-8
ITERATIVE = 1e-6
# Absolute floor for values that are zero in exact arithmetic (e.g. a slope of 1e-17).
ATOL = 1e-12


def _require_shared() -> None:
    if not METADAT.is_dir():
        raise FileNotFoundError(
            f"reference data not found at {METADAT}; clone the repository beside "
            "../shared or set NETGRADE_SHARED"
        )


def data_path(dataset: str) -> Path:
    _require_shared()
    return METADAT / f"{dataset}.csv"


@functools.lru_cache(maxsize=None)
def expected(dataset: str) -> dict:
    _require_shared()
    with open(METADAT / "expected" / f"{dataset}.json", encoding="utf-8") as fh:
        return json.load(fh)


def assert_close(actual: Any, reference: Any, rtol: float, where: str = "", atol: float = ATOL) -> None:
    """Compare numbers, arrays or nested lists; ``None`` in the reference means NA."""
    if isinstance(reference, dict):
        raise TypeError(f"{where}: compare leaves, not dicts")
    if isinstance(reference, (list, tuple)) or isinstance(actual, np.ndarray):
        ref = list(reference) if not isinstance(reference, np.ndarray) else reference.tolist()
        act = np.asarray(actual, dtype=object).tolist() if not isinstance(actual, list) else actual
        assert len(act) == len(ref), f"{where}: length {len(act)} != reference {len(ref)}"
        for i, (a, r) in enumerate(zip(act, ref)):
            assert_close(a, r, rtol, f"{where}[{i}]", atol)
        return
    if reference is None:
        assert actual is None or (isinstance(actual, float) and math.isnan(actual)), (
            f"{where}: expected NA, got {actual!r}"
        )
        return
    assert actual is not None, f"{where}: got NA, expected {reference!r}"
    a, r = float(actual), float(reference)
    if math.isinf(r):
        assert a == r, f"{where}: {a!r} != {r!r}"
        return
    assert abs(a - r) <= rtol * abs(r) + atol, (
        f"{where}: {a!r} != reference {r!r} (rel. diff {abs(a - r) / max(abs(r), 1e-300):.3g}, rtol {rtol})"
    )
