"""Common-effect, random-effects and mixed-effects (meta-regression) models.

``rma`` fits the normal-normal model y_i = x_i' beta + u_i + e_i with
e_i ~ N(0, v_i) and u_i ~ N(0, tau²) (tau² = 0 for the common-effect model) by
weighted least squares at the estimated tau² (Hedges & Olkin 1985; DerSimonian &
Laird 1986; Raudenbush 2009; Viechtbauer 2010, J Stat Softw 36(3)).  Tests and
intervals for the coefficients are Wald-type (normal) by default, or use the
Hartung-Knapp / Sidik-Jonkman adjustment (Hartung & Knapp 2001, Stat Med 20:3875;
Sidik & Jonkman 2002, Stat Med 21:3153; Knapp & Hartung 2003, Stat Med 22:2693).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, fmt, fmt_p, frozen_array, jsonable
from ..errors import AnalysisWarning, DataError, DataIssue, ExcludedStudy, ModelError
from . import tau2 as _tau2
from ._gls import full_rank, gls, wls
from .fit_stats import information_criteria

TESTS = ("z", "t", "knha", "adhoc")
_TEST_ALIASES = {"hk": "knha", "hksj": "knha", "hartung-knapp": "knha", "knapp-hartung": "knha"}


def _canonical_test(test: str) -> str:
    t = str(test).strip().lower()
    t = _TEST_ALIASES.get(t, t)
    if t not in TESTS:
        raise ModelError(f"unknown test {test!r}; choose one of z, t, knha, adhoc")
    return t


@dataclass(frozen=True, eq=False)
class Prediction(ResultMixin):
    """Predicted (average) effects with confidence and prediction intervals.

    The prediction interval is pred ± crit * sqrt(se² + tau²), with crit from the
    normal distribution, or from t with k - p df under Hartung-Knapp (Riley, Higgins &
    Deeks 2011, BMJ 342:d549 discuss the t-based version; metafor's convention is
    followed here).  For common-effect models there is no prediction interval.
    """

    pred: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    level: float
    transform: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "pred": self.pred,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "pi_low": self.pi_low,
                "pi_high": self.pi_high,
            }
        )

    def summary(self) -> str:
        return self.to_frame().to_string(float_format=lambda x: f"{x:.4f}")


@dataclass(frozen=True, eq=False)
class RMAResult(ResultMixin):
    """A fitted pairwise (meta-regression) model.

    Coefficient arrays are ``coef``, ``coef_se``, ``coef_stat``, ``coef_pval``,
    ``coef_ci_low``, ``coef_ci_high``; for a model with a single coefficient the
    scalars ``estimate``, ``se``, ``stat``, ``pval``, ``ci_low``, ``ci_high``,
    ``pi_low`` and ``pi_high`` are available.  ``i2`` is a percentage, as in metafor.
    """

    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    studies: tuple[str, ...]
    coef_names: tuple[str, ...]
    measure: str | None
    method: str
    test: str
    level: float
    intercept: bool
    coef: np.ndarray
    vcov: np.ndarray
    coef_se: np.ndarray
    coef_stat: np.ndarray
    coef_pval: np.ndarray
    coef_ci_low: np.ndarray
    coef_ci_high: np.ndarray
    ddf: int | None
    tau2: float
    se_tau2: float
    tau2_fixed: bool
    s2: float  # typical within-study variance (Higgins & Thompson 2002)
    i2: float
    h2: float
    q: float
    q_df: int
    q_pval: float
    qm: float
    qm_df: tuple[int, int | None]
    qm_pval: float
    r2: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    weights: np.ndarray  # percent
    s2w: float  # Hartung-Knapp variance factor (1 for z tests)
    user_weights: np.ndarray | None = None
    solver: str = "exact"
    ni: np.ndarray | None = None  # total sample size per study, when known
    tau2_start: float | None = None
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)

    # -- sizes and scalar views --------------------------------------------------
    @property
    def k(self) -> int:
        return int(self.yi.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def is_random(self) -> bool:
        return self.method != "FE"

    def _single(self, arr: np.ndarray, name: str) -> float:
        if arr.shape[0] != 1:
            raise ModelError(
                f"'{name}' is defined for a model with one coefficient; this model has "
                f"{arr.shape[0]} ({', '.join(self.coef_names)}): see coef_frame() or predict()"
            )
        return float(arr[0])

    @property
    def estimate(self) -> float:
        return self._single(self.coef, "estimate")

    @property
    def se(self) -> float:
        return self._single(self.coef_se, "se")

    @property
    def stat(self) -> float:
        return self._single(self.coef_stat, "stat")

    @property
    def pval(self) -> float:
        return self._single(self.coef_pval, "pval")

    @property
    def ci_low(self) -> float:
        return self._single(self.coef_ci_low, "ci_low")

    @property
    def ci_high(self) -> float:
        return self._single(self.coef_ci_high, "ci_high")

    @property
    def pi_low(self) -> float:
        self._single(self.coef, "pi_low")
        return float(self.predict().pi_low[0])

    @property
    def pi_high(self) -> float:
        self._single(self.coef, "pi_high")
        return float(self.predict().pi_high[0])

    # -- derived quantities ------------------------------------------------------
    def _crit(self, level: float) -> float:
        alpha = 1.0 - level
        if self.ddf is not None:
            return float(stats.t.ppf(1 - alpha / 2, self.ddf))
        return float(stats.norm.ppf(1 - alpha / 2))

    def predict(
        self,
        newmods: Any = None,
        level: float | None = None,
        transform: str | None = None,
    ) -> Prediction:
        """Predicted effect for given moderator values (the pooled effect if none).

        ``newmods`` holds the moderator values without the intercept column, one row
        per prediction.  ``transform`` back-transforms to the natural scale ('exp',
        'ilogit', or a measure name such as 'OR', 'PLO').
        """
        level = self.level if level is None else float(level)
        if newmods is None:
            if self.p == 1 and self.intercept:
                Xn = np.ones((1, 1))
            else:
                Xn = self.X
        else:
            n_mods = self.p - int(self.intercept)
            Xn = np.asarray(newmods, dtype=float)
            if Xn.ndim == 0:
                Xn = Xn.reshape(1, 1)
            elif Xn.ndim == 1:
                Xn = Xn.reshape(-1, 1) if n_mods == 1 else Xn.reshape(1, -1)
            if Xn.shape[1] != n_mods:
                raise ModelError(
                    f"newmods has {Xn.shape[1]} columns; the model has {n_mods} moderators "
                    f"({', '.join(self.coef_names[int(self.intercept):])})"
                )
            if self.intercept:
                Xn = np.column_stack([np.ones(Xn.shape[0]), Xn])
        pred = Xn @ self.coef
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, self.vcov, Xn))
        crit = self._crit(level)
        ci_low, ci_high = pred - crit * se, pred + crit * se
        if self.is_random:
            half = crit * np.sqrt(se**2 + self.tau2)
            pi_low, pi_high = pred - half, pred + half
        else:
            pi_low = pi_high = np.full_like(pred, np.nan)
        if transform is not None:
            from ..transforms import back_transform

            f = back_transform(transform)
            pred, ci_low, ci_high, pi_low, pi_high = (f(a) for a in (pred, ci_low, ci_high, pi_low, pi_high))
            se = np.full_like(pred, np.nan)
        return Prediction(
            frozen_array(pred),
            frozen_array(se),
            frozen_array(ci_low),
            frozen_array(ci_high),
            frozen_array(pi_low),
            frozen_array(pi_high),
            level,
            transform,
        )

    def confint(self, type: str = "QP", level: float | None = None):
        """Confidence intervals for tau², tau, I² and H² (Q-profile or profile likelihood)."""
        from .heterogeneity import confint_tau2

        return confint_tau2(self, type=type, level=level)

    def fitted(self) -> np.ndarray:
        return self.X @ self.coef

    def residuals(self) -> np.ndarray:
        return self.yi - self.fitted()

    def refit(self, **changes: Any) -> "RMAResult":
        """Refit the same data with other settings (method, test, level, tau2...)."""
        kwargs = dict(
            mods=self.X,
            intercept=False,
            method=self.method,
            test=self.test,
            level=self.level,
            weights=self.user_weights,
            studies=self.studies,
            measure=self.measure,
            coef_names=self.coef_names,
            solver=self.solver,
        )
        kwargs.update(changes)
        res = rma(self.yi, self.vi, **kwargs)
        return replace(res, intercept=self.intercept, excluded=self.excluded, ni=self.ni)

    # -- presentation ------------------------------------------------------------
    def coef_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "estimate": self.coef,
                "se": self.coef_se,
                "stat": self.coef_stat,
                "pval": self.coef_pval,
                "ci_low": self.coef_ci_low,
                "ci_high": self.coef_ci_high,
            },
            index=pd.Index(self.coef_names, name="coefficient"),
        )

    def study_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"study": self.studies, "yi": self.yi, "vi": self.vi, "weight": self.weights}
        )

    def to_frame(self) -> pd.DataFrame:
        return self.coef_frame()

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "k": self.k,
            "p": self.p,
            "measure": self.measure,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "coef_names": list(self.coef_names),
            "coef": self.coef,
            "coef_se": self.coef_se,
            "coef_stat": self.coef_stat,
            "coef_pval": self.coef_pval,
            "coef_ci_low": self.coef_ci_low,
            "coef_ci_high": self.coef_ci_high,
            "vcov": self.vcov,
            "ddf": self.ddf,
            "tau2": self.tau2,
            "tau": self.tau,
            "se_tau2": self.se_tau2,
            "tau2_fixed": self.tau2_fixed,
            "i2": self.i2,
            "h2": self.h2,
            "q": self.q,
            "q_df": self.q_df,
            "q_pval": self.q_pval,
            "qm": self.qm,
            "qm_df": list(self.qm_df),
            "qm_pval": self.qm_pval,
            "r2": self.r2,
            "loglik": self.loglik,
            "deviance": self.deviance,
            "aic": self.aic,
            "bic": self.bic,
            "aicc": self.aicc,
            "studies": list(self.studies),
            "yi": self.yi,
            "vi": self.vi,
            "weights": self.weights,
            "warnings": [w.to_dict() for w in self.warnings],
            "excluded": [e.to_dict() for e in self.excluded],
        }
        if self.p == 1:
            pr = self.predict()
            d.update(
                estimate=self.estimate,
                se=self.se,
                stat=self.stat,
                pval=self.pval,
                ci_low=self.ci_low,
                ci_high=self.ci_high,
                pi_low=float(pr.pi_low[0]),
                pi_high=float(pr.pi_high[0]),
            )
        return jsonable(d)

    def summary(self) -> str:
        kind = "Common-effect model" if not self.is_random else (
            "Random-effects model" if self.p == 1 and self.intercept else "Mixed-effects model"
        )
        if not self.is_random and self.p > 1:
            kind = "Common-effect meta-regression"
        head = f"{kind} (k = {self.k}"
        if self.is_random:
            head += f"; tau² estimator: {self.method}" + (" (fixed)" if self.tau2_fixed else "")
        head += ")"
        if self.measure:
            head += f", measure {self.measure}"
        lines = [head, ""]
        if self.is_random:
            lines += [
                f"tau² = {fmt(self.tau2)} (SE = {fmt(self.se_tau2)}), tau = {fmt(self.tau)}",
                f"I² = {fmt(self.i2, 2)}%, H² = {fmt(self.h2, 2)}",
            ]
        else:
            lines += [f"I² = {fmt(self.i2, 2)}%, H² = {fmt(self.h2, 2)}"]
        if self.p > 1 and self.is_random and not math.isnan(self.r2):
            lines.append(f"R² (heterogeneity accounted for) = {fmt(self.r2, 2)}%")
        lines += [
            "",
            f"Test for (residual) heterogeneity: Q(df = {self.q_df}) = {fmt(self.q)}, p = {fmt_p(self.q_pval)}",
        ]
        if self.p > 1:
            if self.qm_df[1] is None:
                lines.append(f"Test of moderators: QM(df = {self.qm_df[0]}) = {fmt(self.qm)}, p = {fmt_p(self.qm_pval)}")
            else:
                lines.append(
                    f"Test of moderators: F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]}) = {fmt(self.qm)}, p = {fmt_p(self.qm_pval)}"
                )
        stat_name = "t" if self.ddf is not None else "z"
        lines += ["", f"Model results ({stat_name} test{', df = ' + str(self.ddf) if self.ddf is not None else ''}):"]
        frame = self.coef_frame().rename(columns={"stat": stat_name})
        lines.append(frame.to_string(float_format=lambda x: f"{x:.4f}"))
        if self.p == 1 and self.is_random:
            pr = self.predict()
            lines.append(
                f"\n{int(round(self.level * 100))}% prediction interval: "
                f"{fmt(pr.pi_low[0])} to {fmt(pr.pi_high[0])}"
            )
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        if self.excluded:
            lines += ["", "Excluded studies:"] + [f"  - {e}" for e in self.excluded]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------


def _as_array(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return arr


def _validate_inputs(yi, vi, studies, weights_given: bool, method: str) -> None:
    issues = []
    for i, (y, v) in enumerate(zip(yi, vi)):
        s = studies[i]
        if not math.isfinite(y):
            issues.append(DataIssue("effect size is missing or not finite", row=None, study=s, column="yi"))
        if not math.isfinite(v):
            issues.append(DataIssue("sampling variance is missing or not finite", study=s, column="vi"))
        elif v < 0:
            issues.append(DataIssue(f"sampling variance is negative ({v!r})", study=s, column="vi"))
        elif v == 0 and not weights_given:
            issues.append(
                DataIssue(
                    "sampling variance is zero, so the study would get infinite weight; "
                    "check the extraction or supply weights",
                    study=s,
                    column="vi",
                )
            )
    if issues:
        raise DataError("cannot fit the model: invalid effect sizes", issues)


def rma(
    yi: Any = None,
    vi: Any = None,
    *,
    sei: Any = None,
    mods: Any = None,
    intercept: bool = True,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tau2: float | None = None,
    weights: Any = None,
    studies: Sequence[str] | None = None,
    measure: str | None = None,
    coef_names: Sequence[str] | None = None,
    data: pd.DataFrame | None = None,
    solver: str = "exact",
) -> RMAResult:
    """Fit a common-effect, random-effects or mixed-effects meta-analysis model.

    Parameters follow metafor's ``rma.uni``: ``yi`` effect sizes (or an
    :class:`~netgrade.data.effect_sizes.EffectSizes`), ``vi`` sampling variances (or
    ``sei`` standard errors), ``mods`` moderators (array without intercept column, a
    DataFrame, or a formula string such as ``"~ ablat + factor(alloc)"`` evaluated in
    ``data``), ``method`` one of FE (alias EE, CE), DL, HE, HS, HSk, SJ, ML, REML, EB,
    PM, PMM; ``test`` 'z' (Wald), 't', 'knha' (Hartung-Knapp) or 'adhoc' (Knapp &
    Hartung's truncated version); ``tau2`` fixes tau² at a value; ``weights`` gives
    custom weights for the coefficients; ``solver`` 'exact' (default) solves iterative
    estimators to machine precision, 'metafor' stops ML/REML/EB as metafor's default
    control does (to reproduce published default runs exactly).
    """
    warnings: list[AnalysisWarning] = []
    excluded: tuple[ExcludedStudy, ...] = ()
    ni = None
    if yi is not None and hasattr(yi, "yi") and hasattr(yi, "vi"):
        es = yi
        yi, vi = es.yi, es.vi
        studies = studies if studies is not None else getattr(es, "studies", None)
        measure = measure if measure is not None else getattr(es, "measure", None)
        warnings.extend(getattr(es, "warnings", ()))
        excluded = tuple(getattr(es, "excluded", ()))
        ni = getattr(es, "ni", None)
    if yi is None:
        raise DataError("no effect sizes given (yi)")
    y = _as_array(yi, "yi")
    if vi is None:
        if sei is None:
            raise DataError("give the sampling variances (vi) or standard errors (sei)")
        v = _as_array(sei, "sei") ** 2
    else:
        v = _as_array(vi, "vi")
    k = y.shape[0]
    if v.shape[0] != k:
        raise DataError(f"yi has {k} values but vi has {v.shape[0]}")
    studies = tuple(str(s) for s in studies) if studies is not None else tuple(str(i + 1) for i in range(k))
    if len(studies) != k:
        raise DataError(f"{len(studies)} study labels for {k} effect sizes")

    method = _tau2.canonical_method(method)
    test = _canonical_test(test)
    if not 0.0 < float(level) < 1.0:
        level = float(level) / 100.0 if 1.0 < float(level) < 100.0 else float("nan")
        if not 0.0 < level < 1.0:
            raise ModelError("level must be between 0 and 1 (e.g. 0.95)")
    level = float(level)

    A = None
    if weights is not None:
        A = _as_array(weights, "weights")
        if A.shape[0] != k or np.any(~np.isfinite(A)) or np.any(A < 0) or not np.any(A > 0):
            raise DataError("weights must be finite, non-negative, not all zero, one per study")
    _validate_inputs(y, v, studies, A is not None, method)

    # Design matrix
    from .metareg import INTERCEPT, build_design

    X, names = build_design(mods, k, intercept=intercept, data=data, coef_names=coef_names, studies=studies)
    has_intercept = names[0] == INTERCEPT
    p = X.shape[1]
    if p == 0:
        raise ModelError("the model has no coefficients (no intercept and no moderators)")
    if not full_rank(X):
        raise ModelError(
            f"the moderators are collinear (model matrix not of full rank: {', '.join(names)}); "
            "remove redundant moderators"
        )
    if k < 2 and (method != "FE" or test != "z"):
        raise ModelError(
            f"a random-effects model needs at least 2 studies; got {k}"
            + (f" ({studies[0]})" if k == 1 else "")
        )
    if k == 0:
        raise ModelError("no studies to analyse")
    if k < p:
        raise ModelError(f"{k} studies cannot estimate {p} coefficients ({', '.join(names)})")
    if k == 1:
        warnings.append(AnalysisWarning("single_study", f"only one study ({studies[0]}): the result is that study's estimate"))

    # tau²
    v_pos = bool(np.all(v > 0))
    if method != "FE" and not v_pos:
        raise DataError(
            "zero sampling variances are only allowed in a common-effect model with custom weights",
            [DataIssue("sampling variance is zero", study=studies[i], column="vi") for i in np.flatnonzero(v == 0)],
        )
    est = _tau2.estimate_tau2(y, v, X, method, tau2_fixed=tau2, solver=solver)
    t2 = est.tau2
    warnings.extend(AnalysisWarning("tau2_solver", f"{method}: {note}") for note in est.notes)
    if est.boundary and method != "FE":
        warnings.append(
            AnalysisWarning(
                "tau2_boundary",
                f"tau² estimated at the boundary (0) by {method}"
                + (f" (untruncated value {est.raw:.4g})" if math.isfinite(est.raw) and est.raw < 0 else "")
                + ": no between-study heterogeneity beyond sampling error is estimated",
            )
        )

    vt = v + t2
    # Coefficients
    if A is None:
        fit = gls(y, vt, X)
        beta, vb = fit.beta, fit.vb
        w_model = fit.w
    else:
        fitA = wls(y, A, X)
        beta = fitA.beta
        bread = fitA.vb @ (X.T * A)
        vb = bread @ (vt[:, None] * bread.T)
        w_model = A
    weights_pct = 100.0 * w_model / np.sum(w_model)

    # Heterogeneity statistics from the common-effect weights (Cochran 1954;
    # Higgins & Thompson 2002, Stat Med 21:1539)
    q_df = k - p
    if v_pos:
        fe = gls(y, v, X)
        q = fe.q
        q_pval = float(stats.chi2.sf(q, q_df)) if q_df > 0 else math.nan
        s2 = q_df / fe.trace_P if q_df > 0 else math.nan
    else:
        q = q_pval = s2 = math.nan
    if method == "FE":
        if q_df > 0 and math.isfinite(q):
            i2 = 100.0 * max(0.0, (q - q_df) / q) if q > 0 else 0.0
            h2 = q / q_df
        else:
            i2 = h2 = math.nan
    else:
        i2 = 100.0 * t2 / (t2 + s2) if math.isfinite(s2) else math.nan
        h2 = (t2 + s2) / s2 if math.isfinite(s2) else math.nan

    # Hartung-Knapp adjustment of the coefficient covariance
    s2w = 1.0
    ddf: int | None = None
    if test in ("knha", "adhoc"):
        if q_df < 1:
            raise ModelError("the Hartung-Knapp adjustment needs k - p >= 1 residual degrees of freedom")
        resid = y - X @ beta
        q_model = float(np.sum(resid**2 / vt))
        s2w = q_model / q_df
        # Residuals at rounding level mean the effects are identical (given the moderators).
        if not math.isfinite(s2w) or np.max(np.abs(resid)) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
            raise ModelError(
                "the Hartung-Knapp variance factor is zero because the effects are identical "
                "(after accounting for moderators); the adjusted standard error would be 0. "
                "Use test='z' or test='adhoc'"
            )
        if test == "adhoc" and s2w < 1.0:
            warnings.append(
                AnalysisWarning("knha_adhoc", f"Hartung-Knapp factor {s2w:.4g} < 1 truncated to 1 (ad hoc rule)")
            )
            s2w = 1.0
        vb = s2w * vb
        ddf = q_df
    elif test == "t":
        if q_df < 1:
            raise ModelError("t tests need k - p >= 1 residual degrees of freedom")
        ddf = q_df

    se = np.sqrt(np.diag(vb))
    stat = beta / se
    if ddf is not None:
        pval = 2 * stats.t.sf(np.abs(stat), ddf)
        crit = float(stats.t.ppf(1 - (1 - level) / 2, ddf))
    else:
        pval = 2 * stats.norm.sf(np.abs(stat))
        crit = float(stats.norm.ppf(1 - (1 - level) / 2))
    ci_low, ci_high = beta - crit * se, beta + crit * se

    # Omnibus test of moderators (all coefficients except the intercept)
    m_idx = np.arange(1, p) if has_intercept else np.arange(p)
    m = m_idx.size
    if m > 0:
        b_m = beta[m_idx]
        qm = float(b_m @ np.linalg.solve(vb[np.ix_(m_idx, m_idx)], b_m))
        if ddf is not None:
            qm = qm / m
            qm_pval = float(stats.f.sf(qm, m, ddf))
            qm_df: tuple[int, int | None] = (m, ddf)
        else:
            qm_pval = float(stats.chi2.sf(qm, m))
            qm_df = (m, None)
    else:
        qm, qm_pval, qm_df = math.nan, math.nan, (0, None)

    # Pseudo-R² (Raudenbush 2009): proportional reduction of tau² by the moderators.
    # For a common-effect model metafor reports the proportional reduction of H²
    # (the excess of Q over its degrees of freedom) instead.
    r2 = math.nan
    if p > 1 and has_intercept and tau2 is None and A is None:
        if method == "FE":
            if v_pos and k > 1:
                h2_null = gls(y, v, np.ones((k, 1))).q / (k - 1)
                r2 = 100.0 * max(0.0, (h2_null - h2) / h2_null) if h2_null > 0 else 0.0
        else:
            t2_null = _tau2.estimate_tau2(y, v, np.ones((k, 1)), method, solver=solver).tau2
            r2 = 100.0 * max(0.0, (t2_null - t2) / t2_null) if t2_null > 0 else 0.0

    # Fit statistics (metafor's conventions: ML likelihood except for REML; the
    # deviance of non-REML fits is relative to the saturated model)
    reml = method == "REML"
    if A is None and v_pos:
        ll = _tau2.log_likelihood(y, v, X, t2, reml)
        n_par = p + (0 if (method == "FE" or est.fixed) else 1)
        n_obs = k - p if reml else k
        if reml:
            deviance = -2.0 * ll
        else:
            ll_sat = -0.5 * float(np.sum(np.log(2 * math.pi * v)))
            deviance = -2.0 * (ll - ll_sat)
        aic, bic, aicc = information_criteria(ll, n_par, n_obs)
    else:
        ll = deviance = aic = bic = aicc = math.nan

    return RMAResult(
        yi=frozen_array(y),
        vi=frozen_array(v),
        X=frozen_array(X),
        studies=studies,
        coef_names=tuple(names),
        measure=measure,
        method=method,
        test=test,
        level=level,
        intercept=has_intercept,
        coef=frozen_array(beta),
        vcov=frozen_array(vb),
        coef_se=frozen_array(se),
        coef_stat=frozen_array(stat),
        coef_pval=frozen_array(pval),
        coef_ci_low=frozen_array(ci_low),
        coef_ci_high=frozen_array(ci_high),
        ddf=ddf,
        tau2=float(t2),
        se_tau2=float(est.se),
        tau2_fixed=bool(est.fixed and method != "FE"),
        s2=float(s2),
        i2=float(i2),
        h2=float(h2),
        q=float(q),
        q_df=int(q_df),
        q_pval=float(q_pval),
        qm=float(qm),
        qm_df=qm_df,
        qm_pval=float(qm_pval),
        r2=float(r2),
        loglik=float(ll),
        deviance=float(deviance),
        aic=float(aic),
        bic=float(bic),
        aicc=float(aicc),
        weights=frozen_array(weights_pct),
        s2w=float(s2w),
        user_weights=None if A is None else frozen_array(A),
        solver=solver,
        ni=None if ni is None or len(ni) != k else frozen_array(ni),
        tau2_start=est.tau2_start,
        warnings=tuple(warnings),
        excluded=excluded,
    )
