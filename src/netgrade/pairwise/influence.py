"""Case diagnostics for the pairwise (meta-regression) model.

Leave-one-out fits, externally studentized residuals, DFFITS, Cook's distances,
covariance ratios, DFBETAS, leverages and the influence flags follow Viechtbauer &
Cheung (2010), "Outlier and influence diagnostics for meta-analysis", Res Synth
Methods 1:112-125, with the conventions of metafor's ``influence.rma.uni``,
``leave1out``, ``rstandard`` and ``rstudent`` (Viechtbauer 2010, J Stat Softw 36(3)).
Best linear unbiased predictions of the study-specific true effects follow Raudenbush
& Bryk (1985), "Empirical Bayes meta-analysis", J Educ Stat 10:75-98 (appendix).

Every deletion refits the model with the same settings as the full fit (tau²
estimator, test, level, user weights, a fixed tau²), so that, e.g., tau² is
re-estimated without the study.  A deletion that cannot be fitted (for example a
moderator that only the deleted study carries) gives missing values for that study
and an :class:`~netgrade.errors.AnalysisWarning` on the result, as metafor gives NA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, frozen_array
from ..errors import AnalysisWarning, DataError, ModelError
from .model import RMAResult, rma

__all__ = [
    "LeaveOneOut",
    "Influence",
    "Residuals",
    "BLUP",
    "leave1out",
    "influence",
    "rstandard",
    "rstudent",
    "blup",
]

_EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------------
# result objects


@dataclass(frozen=True, eq=False)
class LeaveOneOut(ResultMixin):
    """The model refitted k times, each time without one study.

    Row ``i`` of the coefficient arrays (shape k x p) is the fit without study
    ``studies[i]``.  For a model with a single coefficient the views ``estimate``,
    ``se``, ``stat``, ``pval``, ``ci_low`` and ``ci_high`` give one value per omitted
    study.  ``q``/``q_pval`` are the (residual) heterogeneity tests, ``tau2`` (0 for a
    common-effect model), ``i2`` (percent) and ``h2`` the heterogeneity of each fit.
    """

    studies: tuple[str, ...]
    coef_names: tuple[str, ...]
    method: str
    test: str
    level: float
    coef: np.ndarray
    coef_se: np.ndarray
    coef_stat: np.ndarray
    coef_pval: np.ndarray
    coef_ci_low: np.ndarray
    coef_ci_high: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    ddf: int | None
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def k(self) -> int:
        return len(self.studies)

    def _single(self, arr: np.ndarray, name: str) -> np.ndarray:
        if arr.shape[1] != 1:
            raise ModelError(
                f"'{name}' is defined for a model with one coefficient; this model has "
                f"{arr.shape[1]} ({', '.join(self.coef_names)}): use coef/coef_se/... (k x p)"
            )
        return arr[:, 0]

    @property
    def estimate(self) -> np.ndarray:
        return self._single(self.coef, "estimate")

    @property
    def se(self) -> np.ndarray:
        return self._single(self.coef_se, "se")

    @property
    def stat(self) -> np.ndarray:
        return self._single(self.coef_stat, "stat")

    @property
    def pval(self) -> np.ndarray:
        return self._single(self.coef_pval, "pval")

    @property
    def ci_low(self) -> np.ndarray:
        return self._single(self.coef_ci_low, "ci_low")

    @property
    def ci_high(self) -> np.ndarray:
        return self._single(self.coef_ci_high, "ci_high")

    def to_frame(self) -> pd.DataFrame:
        cols: dict[str, object] = {"omitted": list(self.studies)}
        p = self.coef.shape[1]
        for j, name in enumerate(self.coef_names):
            sfx = "" if p == 1 else f"[{name}]"
            cols[f"estimate{sfx}"] = self.coef[:, j]
            cols[f"se{sfx}"] = self.coef_se[:, j]
            cols[f"{'t' if self.ddf is not None else 'z'}{sfx}"] = self.coef_stat[:, j]
            cols[f"pval{sfx}"] = self.coef_pval[:, j]
            cols[f"ci_low{sfx}"] = self.coef_ci_low[:, j]
            cols[f"ci_high{sfx}"] = self.coef_ci_high[:, j]
        cols.update(q=self.q, q_pval=self.q_pval)
        if self.method != "FE":
            cols["tau2"] = self.tau2
        cols.update(i2=self.i2, h2=self.h2)
        return pd.DataFrame(cols)

    def summary(self) -> str:
        head = (
            f"Leave-one-out analysis (k = {self.k}; "
            f"{'common-effect' if self.method == 'FE' else self.method} model, {self.test} test)"
        )
        lines = [head, "", self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4f}")]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class Influence(ResultMixin):
    """Case-deletion diagnostics (Viechtbauer & Cheung 2010).

    ``rstudent`` externally studentized residuals, ``dffits``, ``cook_d`` Cook's
    distances, ``cov_r`` covariance ratios, ``tau2_del`` and ``q_del`` (metafor's
    ``QE.del``) tau² and the residual Q without the study, ``hat`` leverages,
    ``weight`` the study's weight (percent), ``dfbetas`` (k x p) and ``influential``
    the flags of metafor's rule (see :func:`influence`).
    """

    studies: tuple[str, ...]
    coef_names: tuple[str, ...]
    method: str
    test: str
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    q_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def k(self) -> int:
        return len(self.studies)

    @property
    def influential_studies(self) -> tuple[str, ...]:
        return tuple(s for s, f in zip(self.studies, self.influential) if f)

    def to_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                "study": list(self.studies),
                "rstudent": self.rstudent,
                "dffits": self.dffits,
                "cook_d": self.cook_d,
                "cov_r": self.cov_r,
                "tau2_del": self.tau2_del,
                "q_del": self.q_del,
                "hat": self.hat,
                "weight": self.weight,
            }
        )
        for j, name in enumerate(self.coef_names):
            df[f"dfbetas[{name}]"] = self.dfbetas[:, j]
        df["influential"] = self.influential
        return df

    def summary(self) -> str:
        lines = [
            f"Influence diagnostics (k = {self.k}; "
            f"{'common-effect' if self.method == 'FE' else self.method} model)",
            "",
            self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4f}"),
            "",
        ]
        infl = self.influential_studies
        lines.append(
            "Influential studies (metafor's rule): " + (", ".join(infl) if infl else "none")
        )
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class Residuals(ResultMixin):
    """Residuals with their standard errors and standardized values (``z``).

    ``kind`` is 'standardized' (internally: y_i - x_i'b over its SE under the full
    model) or 'studentized' (externally: y_i minus the prediction from the fit without
    study i, over the SE of that difference).
    """

    studies: tuple[str, ...]
    kind: str
    resid: np.ndarray
    se: np.ndarray
    z: np.ndarray
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"study": list(self.studies), "resid": self.resid, "se": self.se, "z": self.z})

    def summary(self) -> str:
        lines = [
            f"{self.kind.capitalize()} residuals (k = {len(self.studies)})",
            "",
            self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4f}"),
        ]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class BLUP(ResultMixin):
    """Best linear unbiased predictions of the studies' true effects.

    ``pred`` shrinks each observed effect towards the model's fitted value,
    ``se`` is the standard error of the prediction error and ``pi_low``/``pi_high``
    the prediction interval (Raudenbush & Bryk 1985).
    """

    studies: tuple[str, ...]
    pred: np.ndarray
    se: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    level: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "study": list(self.studies),
                "pred": self.pred,
                "se": self.se,
                "pi_low": self.pi_low,
                "pi_high": self.pi_high,
            }
        )

    def summary(self) -> str:
        return (
            f"Best linear unbiased predictions (k = {len(self.studies)}, "
            f"{int(round(self.level * 100))}% prediction intervals)\n\n"
            + self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4f}")
        )


# ---------------------------------------------------------------------------------
# helpers


def _check(res: RMAResult, what: str) -> None:
    if not isinstance(res, RMAResult):
        raise ModelError(f"{what} needs a fitted pairwise model (from rma()); got {type(res).__name__}")
    if res.k < 2:
        raise ModelError(f"{what} needs at least 2 studies; the model has k = {res.k}")


def _deleted_fits(res: RMAResult, what: str) -> tuple[list[RMAResult | None], tuple[AnalysisWarning, ...]]:
    """Refit the model once without each study (same estimator, test, weights...).

    Returns the k fits (None where the fit without study i is impossible) and a
    warning naming those studies.  If no deletion can be fitted at all, the
    diagnostic is undefined and a ModelError explains why.
    """
    k = res.k
    fits: list[RMAResult | None] = []
    failures: list[tuple[str, str]] = []
    A = res.user_weights
    tau2_fixed = res.tau2 if res.tau2_fixed else None
    for i in range(k):
        keep = np.arange(k) != i
        try:
            fit = rma(
                res.yi[keep],
                res.vi[keep],
                mods=res.X[keep],
                intercept=False,
                method=res.method,
                test=res.test,
                level=res.level,
                tau2=tau2_fixed,
                weights=None if A is None else A[keep],
                solver=res.solver,
                studies=[s for j, s in enumerate(res.studies) if j != i],
                measure=res.measure,
                coef_names=res.coef_names,
            )
        except (ModelError, DataError) as exc:
            fits.append(None)
            failures.append((res.studies[i], str(exc).splitlines()[0]))
            continue
        fits.append(fit)
    if not any(f is not None for f in fits):
        reason = failures[0][1] if failures else "unknown"
        raise ModelError(
            f"{what} is undefined for this model: it cannot be refitted without any one of its "
            f"{k} studies ({reason})"
        )
    warnings: tuple[AnalysisWarning, ...] = ()
    if failures:
        names = tuple(s for s, _ in failures)
        warnings = (
            AnalysisWarning(
                "deletion_fit_failed",
                f"{what}: the model could not be refitted without "
                + ", ".join(f"{s} ({r})" for s, r in failures)
                + "; the values for these studies are missing",
                names,
            ),
        )
    return fits, warnings


def _hat_matrix(res: RMAResult) -> np.ndarray:
    """H = X (X'WX)^-1 X'W with W the model weights (1/(v+tau²) or the user's)."""
    X = res.X
    w = 1.0 / (res.vi + res.tau2) if res.user_weights is None else np.asarray(res.user_weights, float)
    Xw = X * w[:, None]
    return X @ np.linalg.solve(X.T @ Xw, Xw.T)


def _hat_values(res: RMAResult) -> np.ndarray:
    """Leverages (diagonal of H; values within 10 eps of 1 set to 1, as lm.influence)."""
    if res.user_weights is None:
        # h_i = w_i x_i'(X'WX)^-1 x_i from a QR decomposition of W^{1/2} X
        sw = 1.0 / np.sqrt(res.vi + res.tau2)
        Qm, _ = np.linalg.qr(res.X * sw[:, None], mode="reduced")
        h = np.sum(Qm**2, axis=1)
    else:
        h = np.diag(_hat_matrix(res)).copy()
    h[h > 1 - 10 * _EPS] = 1.0
    return h


# ---------------------------------------------------------------------------------
# public functions


def leave1out(res: RMAResult) -> LeaveOneOut:
    """Leave-one-out analysis: the model refitted without each study in turn.

    Each fit uses the full model's tau² estimator, test (z or Hartung-Knapp) and
    level, so that the heterogeneity estimates and intervals of the reduced data are
    those a reviewer would get by dropping the study (Viechtbauer & Cheung 2010,
    Res Synth Methods 1:112, section 3; metafor's ``leave1out``).  Meta-regression
    models are allowed (metafor restricts leave1out to models without moderators):
    the coefficient arrays then have one column per coefficient.
    """
    _check(res, "leave-one-out analysis")
    fits, warnings = _deleted_fits(res, "leave-one-out analysis")
    k, p = res.k, res.p
    arrs = {n: np.full((k, p), np.nan) for n in ("coef", "se", "stat", "pval", "lo", "hi")}
    vec = {n: np.full(k, np.nan) for n in ("q", "qp", "tau2", "i2", "h2")}
    ddf = None
    for i, f in enumerate(fits):
        if f is None:
            continue
        arrs["coef"][i] = f.coef
        arrs["se"][i] = f.coef_se
        arrs["stat"][i] = f.coef_stat
        arrs["pval"][i] = f.coef_pval
        arrs["lo"][i] = f.coef_ci_low
        arrs["hi"][i] = f.coef_ci_high
        vec["q"][i] = f.q
        vec["qp"][i] = f.q_pval
        vec["tau2"][i] = f.tau2
        vec["i2"][i] = f.i2
        vec["h2"][i] = f.h2
        ddf = f.ddf
    return LeaveOneOut(
        studies=tuple(res.studies),
        coef_names=tuple(res.coef_names),
        method=res.method,
        test=res.test,
        level=res.level,
        coef=frozen_array(arrs["coef"]),
        coef_se=frozen_array(arrs["se"]),
        coef_stat=frozen_array(arrs["stat"]),
        coef_pval=frozen_array(arrs["pval"]),
        coef_ci_low=frozen_array(arrs["lo"]),
        coef_ci_high=frozen_array(arrs["hi"]),
        q=frozen_array(vec["q"]),
        q_pval=frozen_array(vec["qp"]),
        tau2=frozen_array(vec["tau2"]),
        i2=frozen_array(vec["i2"]),
        h2=frozen_array(vec["h2"]),
        ddf=ddf,
        warnings=warnings,
    )


def _studentized(res: RMAResult, fits: list[RMAResult | None]):
    """Deleted residuals y_i - x_i'b_(-i) and their SEs.

    Var(y_i - x_i'b_(-i)) = s2w_(-i) (v_i + tau²_(-i)) + x_i' Var(b_(-i)) x_i, where
    s2w_(-i) is the Hartung-Knapp factor of the deleted fit (1 for z tests); with this
    scaling the studentized residual equals the test of a mean-shift outlier dummy for
    study i (Viechtbauer & Cheung 2010, eq. 8-10).
    """
    k = res.k
    resid = np.full(k, np.nan)
    se = np.full(k, np.nan)
    for i, f in enumerate(fits):
        if f is None:
            continue
        xi = res.X[i]
        delpred = float(xi @ f.coef)
        vdel = float(xi @ f.vcov @ xi)
        r = float(res.yi[i]) - delpred
        resid[i] = 0.0 if abs(r) < 100 * _EPS else r
        se[i] = math.sqrt(res.vi[i] * f.s2w + vdel + f.tau2 * f.s2w)
    return resid, se


def influence(res: RMAResult) -> Influence:
    """Outlier and influence diagnostics (Viechtbauer & Cheung 2010, Res Synth Methods 1:112).

    For each study i, with ``(-i)`` denoting the fit without it:

    - rstudent: (y_i - x_i'b_(-i)) / sqrt(s2w_(-i)(v_i + tau²_(-i)) + x_i'Var(b_(-i))x_i)
    - DFFITS: (x_i'b - x_i'b_(-i)) / sqrt(s2w_(-i) h_i (tau²_(-i) + v_i))  (standard weights;
      with user weights the variance is the i-th diagonal element of
      s2w_(-i) H diag(tau²_(-i) + v) H')
    - Cook's distance: (b - b_(-i))' Var(b)^-1 (b - b_(-i))  (all coefficients)
    - covariance ratio: det Var(b_(-i)) / det Var(b)
    - DFBETAS: (b - b_(-i)) / sqrt(s2w_(-i) diag[(X'W_(-i)X)^-1]), W_(-i) = diag 1/(v + tau²_(-i))
      over all k studies
    - tau²_(-i), the residual Q without the study, the leverage h_i and the weight (%).

    A study is flagged ``influential`` by metafor's rule when at least one of:
    |DFFITS| > 3 sqrt(p/(k-p)); the chi²(p) lower tail at Cook's distance > 0.5;
    h_i > 3p/k; any |DFBETAS| > 1.
    """
    _check(res, "influence analysis")
    fits, warnings = _deleted_fits(res, "influence analysis")
    k, p = res.k, res.p
    X, v, b = res.X, res.vi, res.coef
    hat = _hat_values(res)
    pred_full = X @ b
    vb_inv = np.linalg.inv(res.vcov)
    det_full = float(np.linalg.det(res.vcov))
    A = res.user_weights
    if A is not None:
        A = np.asarray(A, float)
        XA = X * A[:, None]
        B = np.linalg.solve(X.T @ XA, XA.T)  # (X'AX)^-1 X'A, p x k
        H = X @ B

    dffits = np.full(k, np.nan)
    cook = np.full(k, np.nan)
    covr = np.full(k, np.nan)
    tau2_del = np.full(k, np.nan)
    q_del = np.full(k, np.nan)
    dfbetas = np.full((k, p), np.nan)
    for i, f in enumerate(fits):
        if f is None:
            continue
        tau2_del[i] = f.tau2
        q_del[i] = f.q
        delpred = float(X[i] @ f.coef)
        mdel = v + f.tau2
        if A is None:
            dffits[i] = (pred_full[i] - delpred) / math.sqrt(f.s2w * hat[i] * (f.tau2 + v[i]))
            sw = 1.0 / np.sqrt(mdel)
            _, R = np.linalg.qr(X * sw[:, None], mode="reduced")
            Rinv = np.linalg.inv(R)
            vb_del = Rinv @ Rinv.T
        else:
            dffits[i] = (pred_full[i] - delpred) / math.sqrt(f.s2w * float((H[i] * mdel) @ H[i]))
            vb_del = (B * mdel[None, :]) @ B.T
        dfb = b - f.coef
        dfbetas[i] = dfb / np.sqrt(f.s2w * np.diag(vb_del))
        cook[i] = float(dfb @ vb_inv @ dfb)
        covr[i] = float(np.linalg.det(f.vcov)) / det_full

    rs_resid, rs_se = _studentized(res, fits)
    rstud = rs_resid / rs_se

    with np.errstate(divide="ignore", invalid="ignore"):
        cut_dffits = 3.0 * math.sqrt(p / (k - p)) if k > p else math.inf
        flags = (
            (np.abs(dffits) > cut_dffits)
            | (stats.chi2.cdf(cook, p) > 0.5)
            | (hat > 3.0 * p / k)
            | np.any(np.abs(dfbetas) > 1.0, axis=1)
        )
    return Influence(
        studies=tuple(res.studies),
        coef_names=tuple(res.coef_names),
        method=res.method,
        test=res.test,
        rstudent=frozen_array(rstud),
        dffits=frozen_array(dffits),
        cook_d=frozen_array(cook),
        cov_r=frozen_array(covr),
        tau2_del=frozen_array(tau2_del),
        q_del=frozen_array(q_del),
        hat=frozen_array(hat),
        weight=frozen_array(res.weights),
        dfbetas=frozen_array(dfbetas),
        influential=frozen_array(flags, dtype=bool),
        warnings=warnings,
    )


def rstudent(res: RMAResult) -> Residuals:
    """Externally studentized (deleted) residuals (Viechtbauer & Cheung 2010, eq. 8-10).

    resid_i = y_i - x_i'b_(-i); se_i = sqrt(s2w_(-i)(v_i + tau²_(-i)) + x_i'Var(b_(-i))x_i);
    z_i = resid_i / se_i, which equals the z (or t) statistic of a dummy for study i
    added to the model (a mean-shift outlier model).
    """
    _check(res, "studentized residuals")
    fits, warnings = _deleted_fits(res, "studentized residuals")
    resid, se = _studentized(res, fits)
    return Residuals(
        studies=tuple(res.studies),
        kind="studentized",
        resid=frozen_array(resid),
        se=frozen_array(se),
        z=frozen_array(resid / se),
        warnings=warnings,
    )


def rstandard(res: RMAResult) -> Residuals:
    """Internally standardized (marginal) residuals.

    e = y - Xb has covariance (I - H) M (I - H)' with M = diag(v_i + tau²) and
    H = X (X'WX)^-1 X'W the hat matrix (W = M^-1, or the user's weights); for the
    standard weights this reduces to Var(e_i) = (v_i + tau²)(1 - h_i) (Viechtbauer &
    Cheung 2010, eq. 6; Hedges & Olkin 1985, ch. 12).  The Hartung-Knapp factor does
    not enter, as in metafor.
    """
    if not isinstance(res, RMAResult):
        raise ModelError(f"standardized residuals need a fitted pairwise model (from rma()); got {type(res).__name__}")
    e = res.yi - res.X @ res.coef
    e = np.where(np.abs(e) < 100 * _EPS, 0.0, e)
    m = res.vi + res.tau2
    if res.user_weights is None:
        ve = m * (1.0 - _hat_values(res))
    else:
        ImH = np.eye(res.k) - _hat_matrix(res)
        ve = np.einsum("ij,j,ij->i", ImH, m, ImH)
    ve = np.where(ve < 0, 0.0, ve)
    se = np.sqrt(ve)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = e / se
    return Residuals(
        studies=tuple(res.studies),
        kind="standardized",
        resid=frozen_array(e),
        se=frozen_array(se),
        z=frozen_array(z),
    )


def blup(res: RMAResult, level: float | None = None) -> BLUP:
    """Best linear unbiased predictions of the true effects (Raudenbush & Bryk 1985).

    With lambda_i = tau² / (tau² + v_i) (Raudenbush & Bryk 1985, J Educ Stat 10:75,
    appendix):

        pred_i = lambda_i y_i + (1 - lambda_i) x_i'b
        Var_i  = lambda_i v_i + (1 - lambda_i)² x_i' Var(b) x_i

    and the interval pred_i ± crit sqrt(Var_i), with crit from the normal
    distribution, or from t with the model's df under Hartung-Knapp / t tests.  For a
    common-effect model (tau² = 0) the predictions are the fitted values.
    """
    if not isinstance(res, RMAResult):
        raise ModelError(f"BLUPs need a fitted pairwise model (from rma()); got {type(res).__name__}")
    if res.user_weights is not None:
        raise ModelError(
            "best linear unbiased predictions are not defined for models fitted with custom weights"
        )
    level = res.level if level is None else float(level)
    if not 0.0 < level < 1.0:
        raise ModelError("level must be between 0 and 1 (e.g. 0.95)")
    t2 = res.tau2
    lam = np.full(res.k, 1.0) if math.isinf(t2) else t2 / (t2 + res.vi)
    xb = res.X @ res.coef
    pred = lam * res.yi + (1.0 - lam) * xb
    xvx = np.einsum("ij,jk,ik->i", res.X, res.vcov, res.X)
    vpred = np.where(lam == 1.0, lam * res.vi, lam * res.vi + (1.0 - lam) ** 2 * xvx)
    se = np.sqrt(vpred)
    crit = res._crit(level)
    return BLUP(
        studies=tuple(res.studies),
        pred=frozen_array(pred),
        se=frozen_array(se),
        pi_low=frozen_array(pred - crit * se),
        pi_high=frozen_array(pred + crit * se),
        level=level,
    )
