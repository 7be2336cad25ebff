"""Small-study effects: regression test, rank correlation test, trim and fill.

- :func:`regtest`: Egger's regression test for funnel plot asymmetry (Egger, Davey
  Smith, Schneider & Minder 1997, BMJ 315:629) in the meta-regression form of Sterne &
  Egger (2005, in Rothstein, Sutton & Borenstein, Publication Bias in Meta-Analysis,
  ch. 6), with the "limit estimate" at a standard error of zero (Stanley & Doucouliagos
  2014, Res Synth Methods 5:60; Rücker et al. 2011, Biostatistics 12:122).
- :func:`ranktest`: Begg & Mazumdar's (1994, Biometrics 50:1088) rank correlation
  between standardized effects and sampling variances, with Kendall's exact null
  distribution (Kendall 1938, Biometrika 30:81) or the normal approximation with
  ties (Kendall 1970, Rank Correlation Methods, ch. 4).
- :func:`trimfill`: Duval & Tweedie's (2000, Biometrics 56:455; JASA 95:89) trim and
  fill with the L0 and R0 estimators of the number of missing studies.

The conventions are metafor's (``regtest``, ``ranktest``, ``trimfill``; Viechtbauer
2010, J Stat Softw 36(3)); where netgrade deliberately differs it says so below.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, fmt, fmt_p, frozen_array
from ..errors import AnalysisWarning, ConvergenceError, DataError, ModelError
from ._gls import full_rank, gls
from .model import RMAResult, rma

__all__ = ["RegTest", "RankTest", "TrimFill", "regtest", "ranktest", "trimfill", "kendall_exact_pvalue"]

PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
# Exact Kendall null distribution: R computes the permutation counts in double
# precision, which overflow beyond n = 170 (170! is the largest finite factorial); metafor
# then falls back to the normal approximation.  The same limit is used here.
EXACT_MAX_K = 170


def _require_model(res: Any, what: str) -> RMAResult:
    if not isinstance(res, RMAResult):
        raise ModelError(f"{what} needs a fitted pairwise model (from rma()); got {type(res).__name__}")
    return res


def _is_intercept_only(res: RMAResult) -> bool:
    return res.p == 1 and bool(np.all(np.abs(res.X[:, 0] - 1.0) < 1e-8))


# ---------------------------------------------------------------------------------
# Egger's regression test


@dataclass(frozen=True, eq=False)
class RegTest(ResultMixin):
    """Regression test for funnel plot asymmetry.

    ``stat`` is the z (or t, when ``ddf`` is set) statistic of the coefficient of the
    predictor (``sei`` for the classical Egger test), ``pval`` its two-sided p-value.
    ``limit_estimate`` (with ``limit_ci_low``/``limit_ci_high``) is the model's
    intercept, the expected effect of a study with infinite precision; it is only
    defined when the predictor vanishes at infinite precision (sei, vi, ninv,
    sqrtninv) and the model has no other moderators.  ``coef``/``coef_se``/... are the
    coefficients of the test regression, and ``fit`` the fitted model for
    ``model='rma'``.
    """

    model: str
    predictor: str
    method: str | None
    k: int
    stat: float
    pval: float
    ddf: int | None
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    level: float
    coef_names: tuple[str, ...]
    coef: np.ndarray
    coef_se: np.ndarray
    coef_stat: np.ndarray
    coef_pval: np.ndarray
    fit: RMAResult | None = None
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"estimate": self.coef, "se": self.coef_se, "stat": self.coef_stat, "pval": self.coef_pval},
            index=pd.Index(self.coef_names, name="coefficient"),
        )

    def summary(self) -> str:
        if self.model == "lm":
            kind = "weighted regression with multiplicative dispersion"
        elif self.method == "FE":
            kind = "common-effect meta-regression"
        else:
            kind = f"mixed-effects meta-regression ({self.method})"
        name = "t" if self.ddf is not None else "z"
        lines = [
            "Regression test for funnel plot asymmetry (Egger's test)",
            "",
            f"Model: {kind}; predictor: {self.predictor}; k = {self.k}",
            f"Test for funnel plot asymmetry: {name} = {fmt(self.stat)}"
            + (f", df = {self.ddf}" if self.ddf is not None else "")
            + f", p = {fmt_p(self.pval)}",
        ]
        if math.isfinite(self.limit_estimate):
            lines.append(
                f"Limit estimate (as sei -> 0): {fmt(self.limit_estimate)} "
                f"(CI: {fmt(self.limit_ci_low)} to {fmt(self.limit_ci_high)})"
            )
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)


def regtest(
    res: RMAResult,
    model: str = "rma",
    predictor: str = "sei",
    *,
    ni: Any = None,
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
    solver: str | None = None,
) -> RegTest:
    """Egger's regression test for funnel plot asymmetry (Egger et al. 1997, BMJ 315:629).

    The model's design matrix is extended by a measure of precision -- the standard
    error (``predictor='sei'``, the classical test), the sampling variance (``'vi'``),
    the sample size (``'ni'``), its inverse (``'ninv'``), its square root (``'sqrtni'``)
    or the inverse square root (``'sqrtninv'``) -- and the coefficient of that
    predictor is tested (Sterne & Egger 2005).

    ``model='rma'`` fits the extended model with the same tau² estimator, test and
    weights as ``res`` (``method``/``test``/``level`` override them), so a
    random-effects fit gives a mixed-effects meta-regression.  ``model='lm'`` is
    Egger's original weighted regression: least squares with weights 1/v_i and a
    multiplicative dispersion parameter, tested with t on k - p - 1 df.

    Sample-size predictors use ``ni`` (one per study), by default the sample sizes the
    model was fitted with (from its effect sizes).

    ``solver`` ('exact' or 'metafor') is used for the test regression; by default the
    fit's own (see :func:`~netgrade.pairwise.rma`).
    """
    res = _require_model(res, "the regression test")
    model = str(model).lower()
    if model not in ("rma", "lm"):
        raise ModelError(f"unknown model {model!r} for the regression test; choose 'rma' or 'lm'")
    predictor = str(predictor).lower()
    if predictor not in PREDICTORS:
        raise ModelError(f"unknown predictor {predictor!r}; choose one of {', '.join(PREDICTORS)}")
    k, p = res.k, res.p
    y, v = np.asarray(res.yi, float), np.asarray(res.vi, float)

    if predictor in ("sei", "vi"):
        col = np.sqrt(v) if predictor == "sei" else v.copy()
    else:
        if ni is None:
            ni = res.ni
        if ni is None:
            raise ModelError(
                f"predictor {predictor!r} needs the studies' sample sizes: pass ni=[...] (one per study)"
            )
        n = np.asarray(ni, dtype=float).reshape(-1)
        if n.shape[0] != k:
            raise DataError(f"ni has {n.shape[0]} values for {k} studies")
        if not np.all(np.isfinite(n)) or np.any(n <= 0):
            raise DataError("sample sizes (ni) must be positive numbers")
        col = {"ni": n, "ninv": 1.0 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1.0 / np.sqrt(n)}[predictor]
    X = np.column_stack([res.X, col])
    names = tuple(res.coef_names) + (predictor,)
    if k < p + 2:
        raise ModelError(
            f"the regression test needs at least {p + 2} studies for a model with {p} "
            f"coefficient(s) plus the predictor; got k = {k}"
        )
    if not full_rank(X):
        raise ModelError(
            f"the model matrix is no longer of full rank after adding the predictor {predictor!r} "
            "(e.g. all studies have the same precision): the test cannot be carried out"
        )
    lvl = res.level if level is None else float(level)
    has_limit = predictor in ("sei", "vi", "ninv", "sqrtninv") and _is_intercept_only(res)
    nan = math.nan
    warnings: tuple[AnalysisWarning, ...] = ()

    if model == "rma":
        fit = rma(
            y,
            v,
            mods=X,
            intercept=False,
            method=res.method if method is None else method,
            test=res.test if test is None else test,
            level=lvl,
            tau2=res.tau2 if (res.tau2_fixed and method is None) else None,
            weights=res.user_weights,
            solver=solver or res.solver,
            studies=res.studies,
            measure=res.measure,
            coef_names=names,
        )
        coef, se, zs, ps = fit.coef, fit.coef_se, fit.coef_stat, fit.coef_pval
        stat, pval, ddf = float(zs[p]), float(ps[p]), fit.ddf
        if has_limit:
            est, lo, hi = float(coef[0]), float(fit.coef_ci_low[0]), float(fit.coef_ci_high[0])
        else:
            est = lo = hi = nan
        meth = fit.method
        warnings = tuple(fit.warnings)
    else:
        # weighted least squares with weights 1/v_i and an estimated dispersion
        # (Egger et al. 1997: the regression of y_i/se_i on 1/se_i, written as WLS)
        fe = gls(y, v, X)
        ddf = k - p - 1
        sigma2 = fe.q / ddf
        vb = fe.vb * sigma2
        coef = fe.beta
        se = np.sqrt(np.diag(vb))
        zs = coef / se
        ps = 2.0 * stats.t.sf(np.abs(zs), ddf)
        stat, pval = float(zs[p]), float(ps[p])
        if has_limit:
            crit = float(stats.t.ppf(1 - (1 - lvl) / 2, ddf))
            est = float(coef[0])
            lo, hi = est - crit * float(se[0]), est + crit * float(se[0])
        else:
            est = lo = hi = nan
        fit = None
        meth = None
    return RegTest(
        model=model,
        predictor=predictor,
        method=meth,
        k=k,
        stat=stat,
        pval=pval,
        ddf=ddf,
        limit_estimate=est,
        limit_ci_low=lo,
        limit_ci_high=hi,
        level=lvl,
        coef_names=names,
        coef=frozen_array(coef),
        coef_se=frozen_array(se),
        coef_stat=frozen_array(zs),
        coef_pval=frozen_array(ps),
        fit=fit,
        warnings=warnings,
    )


# ---------------------------------------------------------------------------------
# Begg and Mazumdar's rank correlation test


@functools.lru_cache(maxsize=64)
def _kendall_counts(n: int) -> tuple[int, ...]:
    """Number of permutations of n items with j inversions, j = 0..n(n-1)/2.

    These are the Mahonian numbers, the exact null distribution of Kendall's statistic
    (the number of concordant pairs) without ties (Kendall 1938, Biometrika 30:81).  The
    generating function is prod_{i=1}^{n} (1 + x + ... + x^{i-1}); it is expanded one
    factor at a time with exact integer arithmetic (a running sum of width i).
    """
    counts = [1]
    for i in range(2, n + 1):
        m = len(counts) + i - 1
        new = [0] * m
        run = 0
        for j in range(m):
            if j < len(counts):
                run += counts[j]
            if j - i >= 0:
                run -= counts[j - i]
            new[j] = run
        counts = new
    return tuple(counts)


def kendall_exact_pvalue(concordant: int, n: int) -> float:
    """Two-sided exact p-value of Kendall's tau without ties, as R's ``cor.test``.

    ``concordant`` is the number of concordant pairs T.  With N = n(n-1)/2 and the
    Mahonian distribution of T, the one-sided tail is P(T >= T_obs) if T_obs > N/2,
    else P(T <= T_obs); the two-sided p-value is min(1, 2 * tail).
    """
    if n < 2:
        raise ModelError("Kendall's test needs at least 2 observations")
    counts = _kendall_counts(n)
    total = math.factorial(n)
    N = n * (n - 1) // 2
    q = int(concordant)
    if not 0 <= q <= N:
        raise ValueError(f"number of concordant pairs {q} outside 0..{N}")
    if 4 * q > 2 * N:  # q > N/2
        tail = sum(counts[q:])
    else:
        tail = sum(counts[: q + 1])
    return min(1.0, 2 * tail / total)


@dataclass(frozen=True, eq=False)
class RankTest(ResultMixin):
    """Rank correlation test for funnel plot asymmetry (Begg & Mazumdar 1994).

    ``tau`` is Kendall's tau (tau-b when there are ties) between the standardized
    effects and the sampling variances, ``pval`` its two-sided p-value, ``exact``
    whether that p-value comes from Kendall's exact null distribution (then
    ``statistic`` is T, the number of concordant pairs) or from the normal
    approximation (``statistic`` is z).
    """

    k: int
    tau: float
    pval: float
    exact: bool
    statistic: float
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"k": [self.k], "tau": [self.tau], "statistic": [self.statistic], "pval": [self.pval], "exact": [self.exact]}
        )

    def summary(self) -> str:
        stat = f"T = {int(self.statistic)}" if self.exact else f"z = {fmt(self.statistic)}"
        lines = [
            "Rank correlation test for funnel plot asymmetry (Begg & Mazumdar)",
            "",
            f"Kendall's tau = {fmt(self.tau)}, {stat}, p = {fmt_p(self.pval)}"
            f" ({'exact' if self.exact else 'normal approximation'}; k = {self.k})",
        ]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)


def _tie_sizes(x: np.ndarray) -> np.ndarray:
    _, c = np.unique(x, return_counts=True)
    return c[c > 1].astype(float)


def ranktest(res: RMAResult, exact: bool | None = True) -> RankTest:
    """Begg & Mazumdar's rank correlation test (Biometrics 1994, 50:1088).

    With the common-effect estimate theta = sum(w y)/sum(w), w = 1/v, and its variance
    v. = 1/sum(w), the standardized effects are y*_i = (y_i - theta)/sqrt(v_i - v.);
    Kendall's tau between y* and v tests funnel plot asymmetry.  The common-effect
    estimate is used whatever the model's tau² estimator (as metafor does).

    p-value: with ``exact=True`` (metafor's choice) the exact null distribution is used
    when there are no ties and k <= 170; with ``exact=None`` R's own default (exact
    when k < 50 and no ties); with ``exact=False`` never.  Otherwise the normal
    approximation for S = (concordant - discordant) with the tie-corrected variance
        Var(S) = [n(n-1)(2n+5) - sum t(t-1)(2t+5) - sum u(u-1)(2u+5)]/18
                 + [sum t(t-1)][sum u(u-1)] / (2n(n-1))
                 + [sum t(t-1)(t-2)][sum u(u-1)(u-2)] / (9n(n-1)(n-2))
    (t, u the sizes of tied groups in either variable; Kendall 1970, eq. 4.4) and
    tau-b = S / sqrt((N - T1)(N - T2)), as R's ``cor.test``.  An exact p-value that
    ties prevent is recorded as an AnalysisWarning ("Cannot compute exact p-value with
    ties").
    """
    res = _require_model(res, "the rank correlation test")
    if not _is_intercept_only(res):
        raise ModelError("the rank correlation test is only defined for models without moderators")
    y, v = np.asarray(res.yi, float), np.asarray(res.vi, float)
    n = y.shape[0]
    if n < 2:
        raise ModelError(f"the rank correlation test needs at least 2 studies; got k = {n}")
    if np.any(v <= 0):
        raise ModelError("the rank correlation test needs positive sampling variances")
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    vb = 1.0 / float(np.sum(w))
    ystar = (y - theta) / np.sqrt(v - vb)
    # Kendall's S from all pairs
    sx = np.sign(ystar[:, None] - ystar[None, :])
    sy = np.sign(v[:, None] - v[None, :])
    iu = np.triu_indices(n, 1)
    prod = (sx * sy)[iu]
    S = float(np.sum(prod))
    N = n * (n - 1) / 2.0
    tx, ty = _tie_sizes(ystar), _tie_sizes(v)
    T1 = float(np.sum(tx * (tx - 1)) / 2.0)
    T2 = float(np.sum(ty * (ty - 1)) / 2.0)
    denom = math.sqrt((N - T1) * (N - T2))
    if denom == 0.0:
        raise ModelError(
            "the rank correlation test is undefined: all sampling variances (or all "
            "standardized effects) are equal"
        )
    tau = S / denom
    ties = tx.size > 0 or ty.size > 0
    want_exact = (n < 50) if exact is None else bool(exact)
    warnings: list[AnalysisWarning] = []
    if want_exact and not ties and n <= EXACT_MAX_K:
        concordant = int(np.sum(prod > 0))
        pval = kendall_exact_pvalue(concordant, n)
        return RankTest(k=n, tau=tau, pval=pval, exact=True, statistic=float(concordant))
    if want_exact and ties:
        warnings.append(
            AnalysisWarning(
                "ranktest_ties",
                "Cannot compute exact p-value with ties: the p-value of the rank correlation "
                "test uses the normal approximation with the tie correction",
            )
        )
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(tx * (tx - 1) * (2 * tx + 5)))
    vu = float(np.sum(ty * (ty - 1) * (2 * ty + 5)))
    v1 = float(np.sum(tx * (tx - 1))) * float(np.sum(ty * (ty - 1)))
    v2 = float(np.sum(tx * (tx - 1) * (tx - 2))) * float(np.sum(ty * (ty - 1) * (ty - 2)))
    var_s = (v0 - vt - vu) / 18.0 + v1 / (2.0 * n * (n - 1))
    if n > 2:
        var_s += v2 / (9.0 * n * (n - 1) * (n - 2))
    z = S / math.sqrt(var_s)
    pval = float(2.0 * stats.norm.sf(abs(z)))
    return RankTest(k=n, tau=tau, pval=pval, exact=False, statistic=z, warnings=tuple(warnings))


# ---------------------------------------------------------------------------------
# trim and fill


@dataclass(frozen=True, eq=False)
class TrimFill(ResultMixin):
    """Trim-and-fill analysis (Duval & Tweedie 2000).

    ``k0`` studies estimated missing on ``side`` (with ``se_k0``; ``p_k0`` is the
    p-value of the R0 test of k0 = 0, NaN for L0), the filled studies' effects
    ``filled_yi`` and variances ``filled_vi`` (labelled "Filled 1", "Filled 2", ...),
    and ``fit``, the model refitted to the observed plus filled studies (the original
    fit when nothing is filled); ``filled`` flags the filled rows of ``fit``.
    """

    estimator: str
    side: str
    k0: int
    se_k0: float
    p_k0: float
    iterations: int
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    filled: np.ndarray
    fit: RMAResult
    original: RMAResult
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def k(self) -> int:
        return self.fit.k

    @property
    def estimate(self) -> float:
        return self.fit.estimate

    @property
    def se(self) -> float:
        return self.fit.se

    @property
    def ci_low(self) -> float:
        return self.fit.ci_low

    @property
    def ci_high(self) -> float:
        return self.fit.ci_high

    @property
    def pval(self) -> float:
        return self.fit.pval

    @property
    def filled_studies(self) -> tuple[str, ...]:
        return tuple(s for s, f in zip(self.fit.studies, self.filled) if f)

    def to_frame(self) -> pd.DataFrame:
        df = self.fit.study_frame()
        df["filled"] = self.filled
        return df

    def summary(self) -> str:
        lines = [
            f"Trim and fill ({self.estimator} estimator)",
            "",
            f"Estimated number of missing studies on the {self.side} side: {self.k0} "
            f"(SE = {fmt(self.se_k0)})"
            + (f"; test of k0 = 0: p = {fmt_p(self.p_k0)}" if math.isfinite(self.p_k0) else ""),
            f"Original estimate: {fmt(self.original.estimate)} "
            f"(CI {fmt(self.original.ci_low)} to {fmt(self.original.ci_high)}); "
            f"after filling: {fmt(self.estimate)} (CI {fmt(self.ci_low)} to {fmt(self.ci_high)})",
            "",
            self.fit.summary(),
        ]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)


def _side(res: RMAResult, solver: str | None = None) -> str:
    """metafor's default side: regress y on sqrt(v) with the model's estimator.

    A negative slope (less precise studies show smaller effects, so the funnel is
    thinned on the right) puts the missing studies on the right, otherwise left.
    """
    X = np.column_stack([np.ones(res.k), np.sqrt(res.vi)])
    if not full_rank(X):
        raise ModelError(
            "cannot choose the side of the funnel plot on which studies are missing: all "
            "studies have the same standard error. Give side='left' or side='right'"
        )
    try:
        fit = rma(
            res.yi,
            res.vi,
            mods=X,
            intercept=False,
            method=res.method,
            weights=res.user_weights,
            solver=solver or res.solver,
            coef_names=("intrcpt", "sei"),
        )
    except ModelError as exc:
        raise ModelError(
            f"cannot choose the side of the funnel plot automatically ({exc}); give side='left' or 'right'"
        ) from None
    return "right" if fit.coef[1] < 0 else "left"


def _rank_first(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties broken by position (R's rank(ties.method='first'))."""
    order = np.argsort(a, kind="stable")
    r = np.empty(a.shape[0], dtype=float)
    r[order] = np.arange(1, a.shape[0] + 1)
    return r


def trimfill(
    res: RMAResult,
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
    solver: str | None = None,
) -> TrimFill:
    """Trim and fill (Duval & Tweedie 2000, Biometrics 56:455 and JASA 95:89).

    The studies are flipped if the missing side is the right one and sorted by effect.
    Iteratively, the k0 most extreme studies are trimmed, the model (with the fit's
    tau² estimator) is refitted to the rest, the effects are centred at that estimate
    and ranked by absolute value (ties: first come, first ranked), and k0 is
    re-estimated from the signed ranks until it no longer changes:

    - L0 = (4 S_r - k(k+1)) / (2k - 1), S_r the sum of the positive ranks, with
      SE = 4 sqrt(Var S_r)/(2k - 1), Var S_r = [k(k+1)(2k+1) + 10 L³ + 27 L² + 17 L
      - 18 k L² - 18 k L + 6 k² L]/24 at the unrounded L (Duval & Tweedie 2000, JASA,
      eq. 5 and appendix);
    - R0 = gamma* - 1, gamma* the length of the rightmost run of positive ranks, with
      SE = sqrt(2 max(0, R0) + 2) and p-value P(R0 >= r0) = 0.5^(r0 + 1) under symmetry.

    k0 is rounded (half to even, like R) and truncated at 0.  The k0 trimmed studies
    are mirrored about the last trimmed estimate (2 b - y_i, same variance) and the
    model is refitted to the observed plus filled studies.

    ``side=None`` chooses the side as metafor does: the slope of y on sqrt(v) in a
    meta-regression with the fit's estimator; negative -> 'right', otherwise 'left'.
    Deliberate difference from metafor: the filled model keeps the fit's test and
    level (metafor refits it with a z test and 95% level whatever the original model).
    The tau² estimator is re-estimated in every fit (as metafor) even when the
    original fit fixed tau².
    
    ``solver`` ('exact' or 'metafor') is used for the fits to the trimmed and filled
    data; by default the fit's own (see :func:`~netgrade.pairwise.rma`).
    """
    res = _require_model(res, "trim and fill")
    if not _is_intercept_only(res):
        raise ModelError("trim and fill is only defined for models without moderators")
    k = res.k
    if k < 3:
        raise ModelError(f"trim and fill needs at least 3 studies; got k = {k}")
    est = str(estimator).upper()
    if est not in ("L0", "R0"):
        raise ModelError(f"unknown estimator {estimator!r}; choose 'L0' or 'R0'")
    if side is None:
        side = _side(res, solver)
    else:
        side = str(side).lower()
        if side not in ("left", "right"):
            raise ModelError(f"side must be 'left' or 'right'; got {side!r}")

    y = np.asarray(res.yi, float)
    v = np.asarray(res.vi, float)
    A = None if res.user_weights is None else np.asarray(res.user_weights, float)
    yf = -y if side == "right" else y.copy()
    order = np.argsort(yf, kind="stable")
    ys, vs = yf[order], v[order]
    As = None if A is None else A[order]

    k0, k0_prev, it = 0, -1, 0
    beta = math.nan
    se_k0 = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise ConvergenceError(
                f"trim and fill did not converge in {maxiter} iterations (k0 = {k0}); increase maxiter"
            )
        m = k - k0
        try:
            fit_t = rma(
                ys[:m],
                vs[:m],
                method=res.method,
                weights=None if As is None else As[:m],
                solver=solver or res.solver,
            )
        except ModelError as exc:
            raise ModelError(
                f"trim and fill failed: the model cannot be fitted to the {m} studies left after "
                f"trimming {k0} ({exc})"
            ) from None
        beta = float(fit_t.coef[0])
        yc = ys - beta
        signed = np.sign(yc) * _rank_first(np.abs(yc))
        if est == "R0":
            neg = -signed[signed < 0]
            gamma = k - (float(np.max(neg)) if neg.size else 0.0)
            k0_raw = gamma - 1.0
            se_k0 = math.sqrt(2.0 * max(0.0, k0_raw) + 2.0)
        else:
            Sr = float(np.sum(signed[signed > 0]))
            L = (4.0 * Sr - k * (k + 1)) / (2.0 * k - 1.0)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * L**3
                + 27 * L**2
                + 17 * L
                - 18 * k * L**2
                - 18 * k * L
                + 6 * k**2 * L
            ) / 24.0
            k0_raw = L
            se_k0 = 4.0 * math.sqrt(var_sr) / (2.0 * k - 1.0) if var_sr >= 0 else math.nan
        k0 = max(0, int(round(k0_raw)))
        if math.isfinite(se_k0):
            se_k0 = max(0.0, se_k0)

    p_k0 = 0.5 ** (k0 + 1) if est == "R0" else math.nan
    warnings: list[AnalysisWarning] = []
    if k0 > 0:
        idx = np.arange(k - k0, k)
        fill_f = 2.0 * beta - ys[idx]  # mirrored on the flipped scale
        fill_y = -fill_f if side == "right" else fill_f
        fill_v = vs[idx]
        labels = tuple(f"Filled {j + 1}" for j in range(k0))
        fit = rma(
            np.concatenate([y, fill_y]),
            np.concatenate([v, fill_v]),
            method=res.method,
            test=res.test,
            level=res.level,
            weights=None if A is None else np.concatenate([A, As[idx]]),
            solver=solver or res.solver,
            studies=tuple(res.studies) + labels,
            measure=res.measure,
        )
        if res.excluded:
            fit = replace(fit, excluded=res.excluded)
        filled = np.concatenate([np.zeros(k, bool), np.ones(k0, bool)])
        warnings.append(
            AnalysisWarning(
                "trimfill_filled",
                f"trim and fill ({est}) imputed {k0} stud{'y' if k0 == 1 else 'ies'} on the {side} side",
                labels,
            )
        )
    else:
        fill_y = np.empty(0)
        fill_v = np.empty(0)
        fit = res
        filled = np.zeros(k, bool)
    return TrimFill(
        estimator=est,
        side=side,
        k0=int(k0),
        se_k0=float(se_k0),
        p_k0=float(p_k0),
        iterations=it,
        filled_yi=frozen_array(fill_y),
        filled_vi=frozen_array(fill_v),
        filled=frozen_array(filled, dtype=bool),
        fit=fit,
        original=res,
        warnings=tuple(warnings),
    )
