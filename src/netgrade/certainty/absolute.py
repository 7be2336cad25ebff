"""Absolute effects from relative ones: the risk with the intervention.

GRADE judges ratio measures by their absolute effects (Guyatt et al. 2013, GRADE
guidelines 12, J Clin Epidemiol 66:158; Cochrane Handbook ch. 14).  With p0 the risk
with the comparator and p1 the risk with the intervention:

* OR: p1 = OR p0 / (1 - p0 + OR p0)
* RR: p1 = RR p0, capped at 1 (a risk ratio cannot make a risk exceed 100%)
* HR: p1 = 1 - (1 - p0)^HR (proportional hazards over the horizon of p0)

The single implementation used by the certainty domains, magnitudes and summary of
findings.
"""

from __future__ import annotations

import numpy as np

RATIO_MEASURES = frozenset({"OR", "PETO", "RR", "HR"})


def intervention_risk(measure: str, ratio, baseline_risk: float):
    """p1 for ratio(s) on the natural scale (OR = 0.75, not its logarithm); scalars give
    floats, arrays give arrays.  The caller checks the measure and the baseline risk."""
    m = str(measure).strip().upper()
    p0 = float(baseline_risk)
    r = np.asarray(ratio, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        if m in ("OR", "PETO"):
            p1 = np.where(np.isinf(r), 1.0, r * p0 / (1.0 - p0 + r * p0))
        elif m == "RR":
            p1 = np.minimum(r * p0, 1.0)
        elif m == "HR":
            p1 = 1.0 - (1.0 - p0) ** r
        else:
            raise ValueError(f"{measure!r} is not a ratio measure")
    return float(p1) if p1.ndim == 0 else p1
