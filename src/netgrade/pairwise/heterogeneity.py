"""Confidence intervals for the amount of heterogeneity: tau², tau, I² and H².

Q-profile (Viechtbauer 2007, Stat Med 26:37): the bounds are the values of tau² at
which the generalised Q statistic, Q(tau²) = sum w_i(tau²) (y_i - x_i' beta(tau²))²,
equals the chi-square quantiles with k - p df.  It does not depend on the tau²
estimator.

Profile likelihood (Hardy & Thompson 1996, Stat Med 15:619): the bounds are the values
of tau² at which twice the drop of the (restricted) log-likelihood from its maximum
equals the chi-square(1) quantile; for ML and REML fits.

Intervals for I² and H² follow from those for tau² through the typical within-study
variance s² (Higgins & Thompson 2002, Stat Med 21:1539): I² = tau²/(tau² + s²),
H² = (tau² + s²)/s².

The upper bound is found by expanding the search interval until it brackets the
root, without the fixed cap metafor applies (its ``tau2.max``), so a very large upper
bound is reported as computed rather than stopped at the cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._result import ResultMixin, fmt
from ..errors import AnalysisWarning, ModelError
from ._gls import gls
from .tau2 import log_likelihood

_RTOL = 4 * np.finfo(float).eps


@dataclass(frozen=True)
class Interval:
    estimate: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class HeterogeneityCI(ResultMixin):
    """Confidence intervals for tau², tau, I² (percent) and H²."""

    type: str
    level: float
    tau2: Interval
    tau: Interval
    i2: Interval
    h2: Interval
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        rows = {"tau2": self.tau2, "tau": self.tau, "I2": self.i2, "H2": self.h2}
        return pd.DataFrame(
            [[r.estimate, r.ci_low, r.ci_high] for r in rows.values()],
            index=list(rows),
            columns=["estimate", "ci_low", "ci_high"],
        )

    def summary(self) -> str:
        name = {"QP": "Q-profile", "PL": "profile likelihood"}[self.type]
        lines = [f"{int(round(self.level * 100))}% confidence intervals for heterogeneity ({name})"]
        for label, r in (("tau²", self.tau2), ("tau", self.tau), ("I²(%)", self.i2), ("H²", self.h2)):
            lines.append(f"  {label:6s} {fmt(r.estimate):>10s}  [{fmt(r.ci_low)}, {fmt(r.ci_high)}]")
        lines += [f"  note: {w.message}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "level": self.level,
            "tau2": self.tau2.to_dict(),
            "tau": self.tau.to_dict(),
            "i2": self.i2.to_dict(),
            "h2": self.h2.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def confint_tau2(res, type: str = "QP", level: float | None = None) -> HeterogeneityCI:
    """Confidence intervals for tau², tau, I² and H² of a fitted random-effects model."""
    kind = str(type).upper()
    if kind not in ("QP", "PL"):
        raise ModelError("type must be 'QP' (Q-profile) or 'PL' (profile likelihood)")
    if not res.is_random:
        raise ModelError("heterogeneity intervals need a random-effects model (method other than FE)")
    if res.user_weights is not None:
        raise ModelError("heterogeneity intervals are not available with custom weights")
    level = res.level if level is None else float(level)
    y, v, X = np.asarray(res.yi), np.asarray(res.vi), np.asarray(res.X)
    if kind == "QP":
        lo, hi, notes = q_profile_bounds(y, v, X, level)
    else:
        if res.method not in ("ML", "REML"):
            raise ModelError("profile-likelihood intervals are for ML or REML fits")
        lo, hi, notes = profile_likelihood_bounds(y, v, X, res.tau2, res.method == "REML", level)
    s2 = res.s2

    def i2(t):
        return 100.0 * t / (t + s2)

    def h2(t):
        return (t + s2) / s2

    return HeterogeneityCI(
        type=kind,
        level=level,
        tau2=Interval(res.tau2, lo, hi),
        tau=Interval(math.sqrt(res.tau2), math.sqrt(lo), math.sqrt(hi)),
        i2=Interval(res.i2, i2(lo), i2(hi)),
        h2=Interval(res.h2, h2(lo), h2(hi)),
        warnings=tuple(notes),
    )


def _bracket_up(f, start: float) -> float:
    """Smallest tried value (growing by 10x) at which the decreasing f is below 0."""
    hi = max(start, 1e-4)
    for _ in range(400):
        if f(hi) < 0.0:
            return hi
        hi *= 10.0
    raise ModelError("could not bracket the upper confidence bound for tau²")


def q_profile_bounds(y: np.ndarray, v: np.ndarray, X: np.ndarray, level: float) -> tuple[float, float, list]:
    """Q-profile bounds (Viechtbauer 2007) for tau²."""
    k, p = X.shape
    df = k - p
    alpha = 1.0 - level
    crit_lo = float(stats.chi2.ppf(1 - alpha / 2, df))  # gives the lower bound
    crit_hi = float(stats.chi2.ppf(alpha / 2, df))  # gives the upper bound

    def q(t):
        return gls(y, v + t, X).q

    notes: list[AnalysisWarning] = []
    q0 = q(0.0)
    scale = max(float(np.var(y)), float(np.mean(v)), 1e-8)

    def solve(crit):
        f = lambda t: q(t) - crit  # noqa: E731 - decreasing in t
        hi = _bracket_up(f, scale)
        return float(optimize.brentq(f, 0.0, hi, xtol=1e-300, rtol=_RTOL, maxiter=1000))

    if q0 < crit_hi:
        notes.append(
            AnalysisWarning(
                "tau2_ci_empty",
                "Q(0) is below the lower chi-square quantile: both Q-profile bounds are 0 "
                "(the interval is the null set at tau² = 0)",
            )
        )
        return 0.0, 0.0, notes
    upper = solve(crit_hi)
    if q0 < crit_lo:
        lower = 0.0
        notes.append(AnalysisWarning("tau2_ci_lower_zero", "lower Q-profile bound truncated at 0"))
    else:
        lower = solve(crit_lo)
    return lower, upper, notes


def profile_likelihood_bounds(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2_hat: float, reml: bool, level: float
) -> tuple[float, float, list]:
    """Profile-likelihood bounds (Hardy & Thompson 1996) for tau²."""
    crit = float(stats.chi2.ppf(level, 1))
    ll_max = log_likelihood(y, v, X, tau2_hat, reml)

    def f(t):
        return 2.0 * (ll_max - log_likelihood(y, v, X, t, reml)) - crit

    notes: list[AnalysisWarning] = []
    if tau2_hat <= 0.0 or f(0.0) <= 0.0:
        lower = 0.0
        notes.append(AnalysisWarning("tau2_ci_lower_zero", "lower profile-likelihood bound truncated at 0"))
    else:
        lower = float(optimize.brentq(f, 0.0, tau2_hat, xtol=1e-300, rtol=_RTOL, maxiter=1000))
    step = max(tau2_hat, float(np.var(y)), float(np.mean(v)), 1e-6)
    hi = tau2_hat + step
    for _ in range(400):
        if f(hi) > 0.0:
            break
        step *= 10.0
        hi = tau2_hat + step
    else:
        raise ModelError("could not bracket the upper profile-likelihood bound for tau²")
    upper = float(optimize.brentq(f, tau2_hat, hi, xtol=1e-300, rtol=_RTOL, maxiter=1000))
    return lower, upper, notes
