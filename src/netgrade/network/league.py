"""League tables: every treatment against every other, with an explicit orientation.

Entry [i][j] of every matrix is the row treatment i versus the column treatment j
(theta_i - theta_j on the analysis scale).  The orientation is carried on the object
and printed with it, because league tables whose orientation users misread are a
classic source of reversed conclusions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, frozen_array, jsonable

ORIENTATION = "row versus column: each entry is the row treatment minus the column treatment (analysis scale)"


@dataclass(frozen=True, eq=False)
class League(ResultMixin):
    """All pairwise network estimates, with CIs, p-values and prediction intervals."""

    treatments: tuple[str, ...]
    est: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pval: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    level: float
    orientation: str = ORIENTATION

    def index(self, treatment: str) -> int:
        return self.treatments.index(treatment)

    def pair(self, treatment1: str, treatment2: str) -> dict:
        i, j = self.index(treatment1), self.index(treatment2)
        return {
            "treatment1": treatment1,
            "treatment2": treatment2,
            "estimate": float(self.est[i, j]),
            "se": float(self.se[i, j]),
            "ci_low": float(self.ci_low[i, j]),
            "ci_high": float(self.ci_high[i, j]),
            "pval": float(self.pval[i, j]),
            "pi_low": float(self.pi_low[i, j]),
            "pi_high": float(self.pi_high[i, j]),
        }

    def records(self) -> list[dict]:
        """One record per ordered pair (treatment1 != treatment2)."""
        return [
            self.pair(a, b) for a in self.treatments for b in self.treatments if a != b
        ]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records())

    def matrix(self, which: str = "est") -> pd.DataFrame:
        return pd.DataFrame(getattr(self, which), index=self.treatments, columns=self.treatments)

    def summary(self) -> str:
        cells = []
        for i in range(len(self.treatments)):
            row = []
            for j in range(len(self.treatments)):
                row.append(
                    self.treatments[i]
                    if i == j
                    else f"{self.est[i, j]:.2f} ({self.ci_low[i, j]:.2f}, {self.ci_high[i, j]:.2f})"
                )
            cells.append(row)
        table = pd.DataFrame(cells).to_string(header=False, index=False)
        return f"League table ({self.orientation}; {int(round(self.level * 100))}% CI)\n{table}"

    def to_dict(self) -> dict:
        return jsonable(
            {
                "orientation": self.orientation,
                "treatments": list(self.treatments),
                "level": self.level,
                "pairs": self.records(),
            }
        )


def league_from_fit(
    treatments: tuple[str, ...],
    coef: np.ndarray,
    vcov: np.ndarray,
    tau2: float,
    level: float,
    pi_df: int | None,
) -> League:
    """Build the league table from the basic parameters (each treatment against the
    first) and their covariance.  Prediction intervals are est ± crit sqrt(se² + tau²)
    with crit from t on ``pi_df`` degrees of freedom (netmeta's convention, Higgins,
    Thompson & Spiegelhalter 2009) or the normal distribution when ``pi_df`` is None."""
    T = len(treatments)
    theta = np.concatenate([[0.0], coef])
    C = np.zeros((T, T))
    C[1:, 1:] = vcov
    est = theta[:, None] - theta[None, :]
    d = np.diag(C)
    var = d[:, None] + d[None, :] - 2.0 * C
    se = np.sqrt(np.maximum(var, 0.0))
    z = stats.norm.ppf(1 - (1 - level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        pval = 2 * stats.norm.sf(np.abs(est / se))
    np.fill_diagonal(pval, np.nan)
    crit = stats.t.ppf(1 - (1 - level) / 2, pi_df) if pi_df is not None and pi_df > 0 else z
    half = crit * np.sqrt(se**2 + tau2)
    pi_low, pi_high = est - half, est + half
    return League(
        treatments=tuple(treatments),
        est=frozen_array(est),
        se=frozen_array(se),
        ci_low=frozen_array(est - z * se),
        ci_high=frozen_array(est + z * se),
        pval=frozen_array(pval),
        pi_low=frozen_array(pi_low),
        pi_high=frozen_array(pi_high),
        level=level,
    )
