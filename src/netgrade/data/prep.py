"""Data-preparation helpers: the conversions a reviewer does by hand before pooling.

All functions are pure and vectorised (numbers or array-likes in, the same shape out),
and each cites where its formula comes from.  They never guess silently: impossible
inputs (upper < lower, n < 2, quantiles out of order, p outside (0, 1]) raise
:class:`~netgrade.errors.DataError`.

Sources
-------
* Cochrane Handbook for Systematic Reviews of Interventions, version 6.4 (2023),
  Higgins JPT, Li T, Deeks JJ (eds.), chapter 6 ("Choosing effect measures and
  computing estimates of effect"): section 6.3.1 (SE from a CI), 6.3.2 (SE from a P
  value), 6.5.2.2 (SD from a SE or a CI of a mean), Table 6.5.a (combining groups).
* Altman DG, Bland JM (2011). How to obtain the P value from a confidence interval /
  How to obtain the confidence interval from a P value. BMJ 343:d2304, d2090.
* Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation
  from the sample size, median, range and/or interquartile range. BMC Med Res Methodol
  14:135 (SD estimators, scenarios S1-S3).
* Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the
  sample size, median, mid-range, and/or mid-quartile range. Stat Methods Med Res
  27(6):1785-1805 (mean estimators).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, DataIssue
from . import schema

__all__ = [
    "se_from_ci",
    "estimate_from_ci",
    "se_from_p",
    "sd_from_se",
    "sd_from_ci",
    "MeanSD",
    "mean_sd_from_quantiles",
    "wan_sd",
    "luo_mean",
    "CombinedGroup",
    "combine_groups",
    "combine_binary",
    "combine_arms",
    "SMALL_SAMPLE_N",
]

#: Below this sample size a CI of a mean is taken to be t-based (Cochrane Handbook 6.5.2.2).
SMALL_SAMPLE_N = 60


def _out(x: np.ndarray) -> Any:
    return float(x) if np.ndim(x) == 0 else x


def _arr(x: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numeric, got {x!r}") from None


def _check(condition: np.ndarray, message: str) -> None:
    if np.any(condition):
        raise DataError(message)


def _level(level: float) -> float:
    level = float(level)
    level = level / 100 if level > 1 else level
    if not 0 < level < 1:
        raise DataError(f"confidence level must be between 0 and 1 (or 0 and 100), got {level!r}")
    return level


def _critical(level: float, df: Any = None) -> np.ndarray:
    """Two-sided critical value: z, or t with ``df`` degrees of freedom."""
    tail = 1 - (1 - _level(level)) / 2
    if df is None:
        return np.asarray(stats.norm.ppf(tail))
    df = _arr(df, "df")
    _check(df <= 0, "degrees of freedom must be positive")
    return np.asarray(stats.t.ppf(tail, df))


def se_from_ci(lower: Any, upper: Any, *, level: float = 0.95, ratio: bool = False, df: Any = None) -> Any:
    """Standard error from a confidence interval: (upper - lower) / (2 × critical value).

    Cochrane Handbook 6.3.1: for a 95% CI from a normal approximation the width is
    2 × 1.96 SE.  For ratio measures (``ratio=True``: OR, RR, HR...) the limits are
    log-transformed first and the SE is that of the log ratio.  ``df`` switches to a t
    critical value (for a CI that was computed with a t distribution, e.g. a mean
    difference from a small trial).
    """
    lo, hi = _arr(lower, "lower"), _arr(upper, "upper")
    if ratio:
        _check((lo <= 0) | (hi <= 0), "ratio confidence limits must be positive")
        lo, hi = np.log(lo), np.log(hi)
    _check(hi < lo, "upper confidence limit is below the lower one")
    return _out((hi - lo) / (2 * _critical(level, df)))


def estimate_from_ci(lower: Any, upper: Any, *, ratio: bool = False) -> Any:
    """Point estimate implied by a symmetric CI: the midpoint (on the log scale for ratios).

    For ratio measures the returned value is on the log scale (the geometric midpoint
    is exp of it); Altman & Bland (2011, BMJ 343:d2304).
    """
    lo, hi = _arr(lower, "lower"), _arr(upper, "upper")
    if ratio:
        _check((lo <= 0) | (hi <= 0), "ratio confidence limits must be positive")
        lo, hi = np.log(lo), np.log(hi)
    _check(hi < lo, "upper confidence limit is below the lower one")
    return _out((lo + hi) / 2)


def se_from_p(estimate: Any, p: Any, *, df: Any = None, ratio: bool = False) -> Any:
    """Standard error from an estimate and its two-sided P value: SE = |estimate| / |z|.

    z (or t with ``df``) is the quantile of 1 - p/2 (Cochrane Handbook 6.3.2; Altman &
    Bland 2011, BMJ 343:d2090).  For ratio measures give the ratio and ``ratio=True``;
    the SE is that of its log.  The P value must be exact (not "p < 0.05"), and an
    estimate of no effect (0, or a ratio of 1) carries no information about the SE.
    """
    est = _arr(estimate, "estimate")
    pv = _arr(p, "p")
    _check((pv <= 0) | (pv > 1), "P values must be in (0, 1]")
    if ratio:
        _check(est <= 0, "a ratio estimate must be positive")
        est = np.log(est)
    _check(est == 0, "an estimate of no effect gives no information about its SE")
    _check(pv == 1, "P = 1 gives no information about the SE")
    tail = 1 - pv / 2
    if df is None:
        crit = stats.norm.ppf(tail)
    else:
        dfa = _arr(df, "df")
        _check(dfa <= 0, "degrees of freedom must be positive")
        crit = stats.t.ppf(tail, dfa)
    return _out(np.abs(est) / crit)


def sd_from_se(se: Any, n: Any) -> Any:
    """Standard deviation of a group from the standard error of its mean: SD = SE × sqrt(n).

    Cochrane Handbook 6.5.2.2.
    """
    s, nn = _arr(se, "se"), _arr(n, "n")
    _check(s < 0, "standard errors must be non-negative")
    _check(nn <= 0, "sample sizes must be positive")
    return _out(s * np.sqrt(nn))


def sd_from_ci(
    lower: Any,
    upper: Any,
    n: Any,
    *,
    level: float = 0.95,
    dist: Literal["auto", "t", "z"] = "auto",
) -> Any:
    """Standard deviation of a group from the CI of its mean.

    SD = sqrt(n) × (upper - lower) / (2 × critical value) (Cochrane Handbook 6.5.2.2).
    The Handbook notes that for small samples the CI will have been computed with a t
    distribution; our rule for ``dist="auto"``: the t quantile with n - 1 df when
    n < 60 (:data:`SMALL_SAMPLE_N`), the normal quantile otherwise.  ``dist="t"`` or
    ``"z"`` forces one of them.
    """
    lo, hi, nn = _arr(lower, "lower"), _arr(upper, "upper"), _arr(n, "n")
    _check(hi < lo, "upper confidence limit is below the lower one")
    _check(nn < 2, "a CI of a mean needs n >= 2")
    tail = 1 - (1 - _level(level)) / 2
    z = stats.norm.ppf(tail)
    t = stats.t.ppf(tail, nn - 1)
    if dist == "z":
        crit = np.broadcast_to(z, np.shape(t))
    elif dist == "t":
        crit = t
    elif dist == "auto":
        crit = np.where(nn < SMALL_SAMPLE_N, t, z)
    else:
        raise DataError(f"dist must be 'auto', 't' or 'z', got {dist!r}")
    return _out(np.sqrt(nn) * (hi - lo) / (2 * crit))


# --------------------------------------------------------------------------------------
# mean and SD from the median, quartiles and range


def _xi(n: np.ndarray) -> np.ndarray:
    """ξ(n) = 2 Φ⁻¹((n - 0.375)/(n + 0.25)): approximate expected range of n standard normals (Wan 2014)."""
    return 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def _eta(n: np.ndarray) -> np.ndarray:
    """η(n) = 2 Φ⁻¹((0.75 n - 0.125)/(n + 0.25)): approximate expected IQR of n standard normals (Wan 2014)."""
    return 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


def _scenario(minimum: Any, q1: Any, q3: Any, maximum: Any) -> str:
    has_range = minimum is not None and maximum is not None
    has_iqr = q1 is not None and q3 is not None
    if (minimum is None) != (maximum is None):
        raise DataError("give both the minimum and the maximum, or neither")
    if (q1 is None) != (q3 is None):
        raise DataError("give both quartiles (q1 and q3), or neither")
    if has_range and has_iqr:
        return "S3"
    if has_range:
        return "S1"
    if has_iqr:
        return "S2"
    raise DataError("need the range (minimum, maximum) and/or the quartiles (q1, q3)")


def _ordered(values: Sequence[np.ndarray | None], names: Sequence[str]) -> None:
    present = [(v, nm) for v, nm in zip(values, names) if v is not None]
    for (v1, n1), (v2, n2) in zip(present, present[1:]):
        _check(v2 < v1, f"{n2} is below {n1}: need minimum <= q1 <= median <= q3 <= maximum")


def wan_sd(
    n: Any, *, minimum: Any = None, q1: Any = None, q3: Any = None, maximum: Any = None
) -> Any:
    """Standard deviation from the range and/or the interquartile range (Wan et al. 2014).

    S1 (min, max):         SD ≈ (max - min) / ξ(n)
    S2 (q1, q3):           SD ≈ (q3 - q1) / η(n)
    S3 (min, q1, q3, max): SD ≈ (max - min)/(2 ξ(n)) + (q3 - q1)/(2 η(n))
    with ξ(n) = 2 Φ⁻¹((n - 0.375)/(n + 0.25)) and η(n) = 2 Φ⁻¹((0.75n - 0.125)/(n + 0.25))
    (Blom's approximation to the expected normal order statistics).  S1-S3 are Wan et
    al.'s scenarios C1-C3.  Assumes normally distributed data.
    """
    nn = _arr(n, "n")
    scenario = _scenario(minimum, q1, q3, maximum)
    a = None if minimum is None else _arr(minimum, "minimum")
    b = None if maximum is None else _arr(maximum, "maximum")
    l1 = None if q1 is None else _arr(q1, "q1")
    l3 = None if q3 is None else _arr(q3, "q3")
    _ordered([a, l1, l3, b], ["minimum", "q1", "q3", "maximum"])
    if scenario in ("S1", "S3"):
        _check(nn < 2, "the range needs n >= 2")
    if scenario == "S2":
        _check(nn < 1, "n must be positive")
    if scenario == "S1":
        sd = (b - a) / _xi(nn)
    elif scenario == "S2":
        sd = (l3 - l1) / _eta(nn)
    else:
        sd = (b - a) / (2 * _xi(nn)) + (l3 - l1) / (2 * _eta(nn))
    return _out(sd)


def luo_mean(
    n: Any, *, median: Any, minimum: Any = None, q1: Any = None, q3: Any = None, maximum: Any = None
) -> Any:
    """Sample mean from the median with the range and/or quartiles (Luo et al. 2018).

    S1: w = 4 / (4 + n^0.75);          mean ≈ w (min + max)/2 + (1 - w) median
    S2: w = 0.7 + 0.39 / n;            mean ≈ w (q1 + q3)/2 + (1 - w) median
    S3: w1 = 2.2 / (2.2 + n^0.75), w2 = 0.7 - 0.72 / n^0.55;
        mean ≈ w1 (min + max)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) median
    (Luo et al. 2018, the optimally weighted estimators for scenarios C1-C3.)
    """
    nn = _arr(n, "n")
    _check(nn < 1, "n must be positive")
    scenario = _scenario(minimum, q1, q3, maximum)
    m = _arr(median, "median")
    a = None if minimum is None else _arr(minimum, "minimum")
    b = None if maximum is None else _arr(maximum, "maximum")
    l1 = None if q1 is None else _arr(q1, "q1")
    l3 = None if q3 is None else _arr(q3, "q3")
    _ordered([a, l1, m, l3, b], ["minimum", "q1", "median", "q3", "maximum"])
    if scenario == "S1":
        w = 4 / (4 + nn**0.75)
        mean = w * (a + b) / 2 + (1 - w) * m
    elif scenario == "S2":
        w = 0.7 + 0.39 / nn
        mean = w * (l1 + l3) / 2 + (1 - w) * m
    else:
        w1 = 2.2 / (2.2 + nn**0.75)
        w2 = 0.7 - 0.72 / nn**0.55
        mean = w1 * (a + b) / 2 + w2 * (l1 + l3) / 2 + (1 - w1 - w2) * m
    return _out(mean)


@dataclass(frozen=True)
class MeanSD:
    """An estimated mean and SD, with the scenario and the methods that produced them."""

    mean: Any
    sd: Any
    scenario: str
    mean_method: str = "Luo et al. 2018"
    sd_method: str = "Wan et al. 2014"

    def to_dict(self) -> dict:
        return {
            "mean": np.asarray(self.mean).tolist(),
            "sd": np.asarray(self.sd).tolist(),
            "scenario": self.scenario,
            "mean_method": self.mean_method,
            "sd_method": self.sd_method,
        }


def mean_sd_from_quantiles(
    n: Any, *, median: Any, minimum: Any = None, q1: Any = None, q3: Any = None, maximum: Any = None
) -> MeanSD:
    """Mean (Luo et al. 2018) and SD (Wan et al. 2014) from a median with range and/or IQR.

    Scenario S1: minimum, median, maximum; S2: q1, median, q3; S3: all five.  Both
    estimators assume roughly normal data; for skewed data (median far from the middle
    of the quartiles or range) they can mislead, which a report should say.
    """
    scenario = _scenario(minimum, q1, q3, maximum)
    mean = luo_mean(n, median=median, minimum=minimum, q1=q1, q3=q3, maximum=maximum)
    sd = wan_sd(n, minimum=minimum, q1=q1, q3=q3, maximum=maximum)
    return MeanSD(mean=mean, sd=sd, scenario=scenario)


# --------------------------------------------------------------------------------------
# combining groups


@dataclass(frozen=True)
class CombinedGroup:
    """Sample size, mean and SD of groups merged into one."""

    n: float
    mean: float
    sd: float


def combine_groups(n: Sequence[float], mean: Sequence[float], sd: Sequence[float]) -> CombinedGroup:
    """Merge two or more groups into one (Cochrane Handbook Table 6.5.a).

    For two groups: N = N1 + N2, M = (N1 M1 + N2 M2)/N and
    SD² = [(N1 - 1) SD1² + (N2 - 1) SD2² + N1 N2/(N1 + N2) (M1 - M2)²] / (N - 1).
    More groups are merged one after the other, which is exact: the result is the
    mean and SD (n - 1 denominator) of the pooled individual observations.
    """
    ns, ms, ss = _arr(n, "n").ravel(), _arr(mean, "mean").ravel(), _arr(sd, "sd").ravel()
    if not (len(ns) == len(ms) == len(ss)):
        raise DataError("n, mean and sd must have the same length")
    if len(ns) < 1:
        raise DataError("nothing to combine")
    _check(ns <= 0, "group sizes must be positive")
    _check(ss < 0, "standard deviations must be non-negative")
    _check(~np.isfinite(ns) | ~np.isfinite(ms) | ~np.isfinite(ss), "missing or infinite values cannot be combined")
    n1, m1, s1 = ns[0], ms[0], ss[0]
    for n2, m2, s2 in zip(ns[1:], ms[1:], ss[1:]):
        tot = n1 + n2
        if tot <= 1:
            raise DataError("combined group needs more than one participant for an SD")
        var = ((n1 - 1) * s1**2 + (n2 - 1) * s2**2 + n1 * n2 / tot * (m1 - m2) ** 2) / (tot - 1)
        m1 = (n1 * m1 + n2 * m2) / tot
        s1 = float(np.sqrt(var))
        n1 = tot
    return CombinedGroup(n=float(n1), mean=float(m1), sd=float(s1))


def combine_binary(events: Sequence[float], n: Sequence[float]) -> tuple[float, float]:
    """Merge binary groups: events and sample sizes add up (Cochrane Handbook 6.5.a, 23.3.4)."""
    ev, nn = _arr(events, "events").ravel(), _arr(n, "n").ravel()
    if len(ev) != len(nn):
        raise DataError("events and n must have the same length")
    _check(ev < 0, "event counts must be non-negative")
    _check(ev > nn, "events exceed the group size")
    return float(ev.sum()), float(nn.sum())


def combine_arms(frame: pd.DataFrame, treatments: Sequence[str], into: str) -> pd.DataFrame:
    """Merge, within each study, the arms of ``treatments`` into one arm named ``into``.

    Works on canonical arm data (``study, treatment, n`` plus ``events`` or
    ``mean, sd``).  Studies with one of the treatments just have it renamed; studies
    with several have them combined (:func:`combine_binary` / :func:`combine_groups`);
    other arms are left alone.  The merged arm keeps the first arm's other columns
    (including its ``source_row``).  Study order and arm order are kept.
    """
    need = [schema.STUDY, schema.TREATMENT, schema.N]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DataError(f"arm data lack column(s) {', '.join(missing)}")
    binary = schema.EVENTS in frame.columns
    continuous = schema.MEAN in frame.columns and schema.SD in frame.columns
    if not (binary or continuous):
        raise DataError("arm data need events (binary) or mean and sd (continuous)")
    wanted = {str(t) for t in treatments}
    out_rows = []
    issues = []
    for study, rows in frame.groupby(schema.STUDY, sort=False):
        sel = rows[rows[schema.TREATMENT].astype(str).isin(wanted)]
        if len(sel) == 0:
            out_rows.extend(r for _, r in rows.iterrows())
            continue
        first_pos = sel.index[0]
        merged = sel.iloc[0].copy()
        merged[schema.TREATMENT] = into
        try:
            if len(sel) > 1:
                if continuous and sel[[schema.MEAN, schema.SD]].notna().all().all():
                    g = combine_groups(sel[schema.N], sel[schema.MEAN], sel[schema.SD])
                    merged[schema.N], merged[schema.MEAN], merged[schema.SD] = g.n, g.mean, g.sd
                if binary and sel[schema.EVENTS].notna().all():
                    e, nn = combine_binary(sel[schema.EVENTS], sel[schema.N])
                    merged[schema.EVENTS], merged[schema.N] = e, nn
        except DataError as exc:
            issues.append(DataIssue(f"cannot combine arms {', '.join(map(str, sel[schema.TREATMENT]))}: {exc}",
                                    study=str(study)))
            continue
        for pos, row in rows.iterrows():
            if pos == first_pos:
                out_rows.append(merged)
            elif pos not in sel.index:
                out_rows.append(row)
    if issues:
        raise DataError("arms could not be combined", issues)
    return pd.DataFrame(out_rows).reset_index(drop=True)
