"""Estimators of the between-study variance tau² in (mixed-effects) meta-analysis.

Every estimator works with moderators (design matrix X with p columns) and returns the
estimate truncated at zero together with its standard error, using the definitions of
metafor (Viechtbauer 2010, J Stat Softw 36(3); Viechtbauer 2005, J Educ Behav Stat
30:261) so that numbers agree with R.  Iterative estimators are solved to full double
precision rather than to a default stopping rule.

Standard errors: for the method-of-moments estimators they follow from the variance
of a quadratic form in normal variables, Var(y'Ay) = 2 tr(A Sigma A Sigma) with
Sigma = diag(v_i + tau²) (Biggerstaff & Tweedie 1997, Stat Med 16:753); for ML and
REML from the expected Fisher information (Viechtbauer 2005).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .._optim import fisher_scoring, polish_root
from ..errors import ConvergenceError, ModelError
from ._gls import GLSFit, gls, ols_basis, trace_mamb

#: tau² estimators, with the names metafor uses.
METHODS = ("FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM")
ALIASES = {"EE": "FE", "CE": "FE", "COMMON": "FE", "MP": "PM"}
ITERATIVE = frozenset({"ML", "REML", "EB", "PM", "PMM"})


def canonical_method(method: str) -> str:
    """Return the canonical estimator name, accepting metafor's aliases (EE, CE, MP)."""
    m = str(method).strip()
    upper = m.upper()
    for name in METHODS:
        if name.upper() == upper:
            return name
    if upper in ALIASES:
        return ALIASES[upper]
    raise ModelError(f"unknown tau² method {method!r}; choose one of {', '.join(METHODS)}")


@dataclass(frozen=True)
class Tau2Estimate:
    """A tau² estimate with its standard error and how it was obtained."""

    method: str
    tau2: float
    se: float
    raw: float  # before truncation at zero (nan for likelihood methods)
    fixed: bool = False
    iterations: int = 0
    boundary: bool = False  # truncated at, or maximised on, tau² = 0
    tau2_start: float | None = None  # SJ's initial value
    notes: tuple[str, ...] = ()  # how the solution was reached, when not the usual way


SOLVERS = ("exact", "metafor")


def estimate_tau2(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    method: str,
    tau2_fixed: float | None = None,
    solver: str = "exact",
) -> Tau2Estimate:
    """Estimate tau² by ``method`` (or take ``tau2_fixed``) and compute its SE.

    ``solver="exact"`` (default) solves the estimating equations of the iterative
    estimators to machine precision.  ``solver="metafor"`` reproduces metafor's default
    Fisher scoring for ML, REML and EB instead (start at the Hedges estimate, stop when
    tau² changes by at most 1e-5, at most 100 iterations, then set tau² to 0 if that
    raises the likelihood by more than eps^0.25), so that numbers published from
    default metafor runs can be matched to the last digit; it does not change the
    other estimators.
    """
    method = canonical_method(method)
    if solver not in SOLVERS:
        raise ModelError(f"unknown solver {solver!r}; choose 'exact' or 'metafor'")
    k, p = X.shape
    if method == "FE":
        return Tau2Estimate("FE", 0.0, math.nan, 0.0, fixed=True)
    if tau2_fixed is not None:
        t = float(tau2_fixed)
        start = _sj_start(y) if method == "SJ" else None
        return Tau2Estimate(method, t, tau2_se(method, y, v, X, t, start), t, fixed=True, tau2_start=start)
    if k - p < 1:
        raise ModelError(
            f"cannot estimate tau² with {k} studies and {p} model coefficients "
            "(no residual degrees of freedom)"
        )
    notes: list[str] = []
    if solver == "metafor" and method in ("ML", "REML", "EB"):
        raw, iterations, start = _metafor_fisher_scoring(y, v, X, method)
    elif method in ("ML", "REML"):
        raw, iterations, notes = _likelihood(y, v, X, reml=method == "REML")
        start = None
    else:
        raw, iterations, start = _SOLVERS[method](y, v, X)
    tau2 = max(0.0, raw)
    boundary = tau2 == 0.0
    return Tau2Estimate(
        method,
        tau2,
        tau2_se(method, y, v, X, tau2, start),
        raw,
        iterations=iterations,
        boundary=boundary,
        tau2_start=start,
        notes=tuple(notes),
    )


# --- method-of-moments estimators -------------------------------------------------


def _dl(y, v, X):
    """DerSimonian & Laird (1986, Control Clin Trials 7:177); with moderators
    Raudenbush (2009): tau² = (Q_FE - (k - p)) / tr(P_FE)."""
    f = gls(y, v, X)
    return (f.q - (f.k - f.p)) / f.trace_P, 0, None


def _he(y, v, X):
    """Hedges (1983, Psychol Bull 93:388), Hedges & Olkin (1985): unweighted
    method of moments, tau² = (RSS_OLS - tr(P_OLS V)) / (k - p)."""
    k, p = X.shape
    Q = ols_basis(X)
    r = y - Q @ (Q.T @ y)
    h = np.sum(Q * Q, axis=1)
    return (float(r @ r) - float(np.sum((1.0 - h) * v))) / (k - p), 0, None


def _hs(y, v, X):
    """Hunter & Schmidt (2004, Methods of Meta-Analysis, 2nd ed.):
    tau² = (Q_FE - k) / sum(w)."""
    f = gls(y, v, X)
    return (f.q - f.k) / float(np.sum(f.w)), 0, None


def _hsk(y, v, X):
    """Hunter-Schmidt with the small-sample correction k/(k-p) applied to Q
    (Brannick et al. 2019, Res Synth Methods 10:329)."""
    f = gls(y, v, X)
    k, p = X.shape
    return (k / (k - p) * f.q - k) / float(np.sum(f.w)), 0, None


def _sj_start(y: np.ndarray) -> float:
    """SJ's crude initial value: the (biased, divisor k) variance of the y_i."""
    return float(np.mean((y - np.mean(y)) ** 2))


def _sj(y, v, X):
    """Sidik & Jonkman (2005, J Biopharm Stat 15:823; 2007, Stat Med 26:1964):
    tau² = tau0² * Q(tau0²) / (k - p) with tau0² the variance of the y_i."""
    t0 = _sj_start(y)
    k, p = X.shape
    return t0 * gls(y, v + t0, X).q / (k - p), 0, t0


# --- estimators defined by an estimating equation in Q(tau²) ----------------------


def _q_root(y, v, X, target: float) -> tuple[float, int]:
    """Solve Q(tau²) = target.  Q is strictly decreasing in tau², so the root is
    unique; if Q(0) < target the estimate is truncated to 0 (returned as is, negative
    roots are not computed)."""
    q0 = gls(y, v, X).q
    if q0 <= target:
        return 0.0, 0
    upper = max(1.0, float(np.var(y)) * 10.0)
    n = 0
    while gls(y, v + upper, X).q > target:
        upper *= 10.0
        n += 1
        if n > 60:
            raise ConvergenceError("could not bracket the root of Q(tau²) = target")
    root, info = optimize.brentq(
        lambda t: gls(y, v + t, X).q - target,
        0.0,
        upper,
        xtol=1e-300,
        rtol=4 * np.finfo(float).eps,
        maxiter=1000,
        full_output=True,
    )
    return float(root), int(info.iterations)


def _pm(y, v, X):
    """Paule & Mandel (1982, J Res Natl Bur Stand 87:377); DerSimonian & Kacker
    (2007, Contemp Clin Trials 28:105): Q(tau²) = k - p."""
    k, p = X.shape
    root, it = _q_root(y, v, X, float(k - p))
    return root, it, None


def _pmm(y, v, X):
    """Median-unbiased Paule-Mandel (Viechtbauer 2021, in metafor; Ruhkin 2013):
    Q(tau²) equals the median of the chi-square distribution with k - p df."""
    k, p = X.shape
    root, it = _q_root(y, v, X, float(stats.chi2.ppf(0.5, k - p)))
    return root, it, None


def _eb(y, v, X):
    """Empirical Bayes (Morris 1983, J Am Stat Assoc 78:47; Berkey et al. 1995,
    Stat Med 14:395).  Its fixed point, sum w_i (k/(k-p) r_i² - v_i - tau²) = 0,
    is k/(k-p) Q(tau²) = k, i.e. the Paule-Mandel equation, solved exactly here."""
    return _pm(y, v, X)


# --- likelihood-based estimators ---------------------------------------------------


def log_likelihood(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float, reml: bool) -> float:
    """(Restricted) log-likelihood of the normal-normal model at tau²
    (Viechtbauer 2005; Harville 1977, J Am Stat Assoc 72:320)."""
    f = gls(y, v + tau2, X)
    return _loglik_from_fit(f, v + tau2, reml)


def _loglik_from_fit(f: GLSFit, v_total: np.ndarray, reml: bool) -> float:
    k, p = f.k, f.p
    ll = -0.5 * (np.sum(np.log(v_total)) + f.q)
    if reml:
        # metafor's REML likelihood keeps the + 1/2 log|X'X| term so that it does not
        # depend on the parameterisation of X.
        _, logdet_xx = np.linalg.slogdet(f.X.T @ f.X)
        return float(ll - 0.5 * (k - p) * math.log(2 * math.pi) - 0.5 * f.logdet_xwx + 0.5 * logdet_xx)
    return float(ll - 0.5 * k * math.log(2 * math.pi))


def _score(y, v, X, tau2, reml):
    f = gls(y, v + tau2, X)
    return f.yPPy - (f.trace_P if reml else float(np.sum(f.w))), f


def _likelihood(y, v, X, reml: bool):
    """Maximise the (restricted) likelihood over tau² >= 0.

    Fisher scoring from the Hedges estimate (as metafor does, so that both land on the
    same maximum when the likelihood is multimodal), then the root of the score
    equation is polished by bracketing to full precision.  If scoring does not settle,
    a grid search over tau² locates the global maximum.  Finally the boundary is
    checked: if the likelihood at tau² = 0 is higher, the estimate is 0.
    """
    he, _, _ = _he(y, v, X)

    def score_info(t):
        s, f = _score(y, v, X, t, reml)
        return s, (f.trace_PP if reml else float(np.sum(f.w**2)))

    t, iterations, converged = fisher_scoring(score_info, he)
    notes = []
    if not converged:
        t = _grid_maximum(y, v, X, reml)
        notes.append(
            f"Fisher scoring did not settle in {iterations} iterations; the maximum of the "
            "likelihood was located by a grid search and then solved exactly"
        )
    t = _polish_score_root(y, v, X, t, reml)
    if t > 0.0 and log_likelihood(y, v, X, 0.0, reml) > log_likelihood(y, v, X, t, reml):
        notes.append(
            f"the likelihood is higher at tau² = 0 than at the local maximum {t:.4g} "
            "found by Fisher scoring, so tau² = 0"
        )
        t = 0.0
    return t, iterations, notes


def _polish_score_root(y, v, X, t: float, reml: bool) -> float:
    """Solve the score equation to machine precision near t; a non-positive score at
    tau² = 0 means the maximum is on the boundary."""
    if t == 0.0 and _score(y, v, X, 0.0, reml)[0] <= 0.0:
        return 0.0
    return polish_root(lambda x: _score(y, v, X, x, reml)[0], t)


def _grid_maximum(y, v, X, reml: bool) -> float:
    """Global search for the likelihood maximum on a log-spaced grid of tau²."""
    hi = max(10.0 * float(np.var(y)), 10.0 * float(np.max(v)), 1e-6)
    grid = np.concatenate([[0.0], np.geomspace(hi * 1e-10, hi, 400)])
    lls = np.array([log_likelihood(y, v, X, g, reml) for g in grid])
    i = int(np.argmax(lls))
    lo_b = grid[max(i - 1, 0)]
    hi_b = grid[min(i + 1, grid.size - 1)]
    res = optimize.minimize_scalar(
        lambda t: -log_likelihood(y, v, X, t, reml),
        bounds=(lo_b, hi_b),
        method="bounded",
        options={"xatol": 1e-14},
    )
    return float(res.x)


def _metafor_fisher_scoring(y, v, X, method: str, threshold: float = 1e-5, maxiter: int = 100):
    """Fisher scoring with metafor's default control (Viechtbauer 2005, J Educ Behav
    Stat 30:261; metafor's rma.uni): steps (y'PPy - tr P)/tr(PP) for REML,
    (y'PPy - sum w)/sum w² for ML and (k/(k-p) Q - k)/sum w for EB, halved while they
    would cross 0, until tau² changes by at most ``threshold``."""
    k, p = X.shape
    he, _, _ = _he(y, v, X)
    t = max(0.0, he)
    for iterations in range(1, maxiter + 2):
        f = gls(y, v + t, X)
        if method == "REML":
            step = (f.yPPy - f.trace_P) / f.trace_PP
        elif method == "ML":
            step = (f.yPPy - float(np.sum(f.w))) / float(np.sum(f.w**2))
        else:
            step = (f.q * k / (k - p) - k) / float(np.sum(f.w))
        while t + step < 0.0:
            step /= 2.0
        t_new = t + step
        change = abs(t_new - t)
        t = t_new
        if change <= threshold:
            break
    else:
        raise ConvergenceError(
            f"Fisher scoring with metafor's default control did not converge for {method} "
            f"in {maxiter} iterations; use solver='exact'"
        )
    if method in ("ML", "REML"):
        reml = method == "REML"
        tol = np.finfo(float).eps ** 0.25
        if t > threshold and log_likelihood(y, v, X, 0.0, reml) - log_likelihood(y, v, X, t, reml) > tol:
            t = 0.0
    return t, iterations, None


_SOLVERS = {
    "DL": _dl,
    "HE": _he,
    "HS": _hs,
    "HSk": _hsk,
    "SJ": _sj,
    "EB": _eb,
    "PM": _pm,
    "PMM": _pmm,
}


# --- standard errors ---------------------------------------------------------------


def tau2_se(method: str, y, v, X, tau2: float, tau2_start: float | None = None) -> float:
    """Standard error of a tau² estimate (conventions of metafor 3.8).

    Method-of-moments estimators of the form (y'Ay - c)/d have variance
    2 tr(A Sigma A Sigma)/d² under the model (Biggerstaff & Tweedie 1997); ML and REML
    use the inverse expected information, 2/sum(w²) and 2/tr(P P) (Viechtbauer 2005);
    PM, PMM and EB use 2k²/(k-p)/sum(w)² (delta method on the EB fixed point).
    """
    method = canonical_method(method)
    k, p = X.shape
    t = max(tau2, 0.0)
    if method == "FE":
        return math.nan
    if method in ("DL", "HS", "HSk"):
        f = gls(y, v, X)
        var_q = 2 * (k - p) + 4 * t * f.trace_P + 2 * t * t * f.trace_PP
        if method == "DL":
            return math.sqrt(var_q) / f.trace_P
        se = math.sqrt(var_q) / float(np.sum(f.w))
        return se * k / (k - p) if method == "HSk" else se
    if method == "HE":
        Q = ols_basis(X)
        h = np.sum(Q * Q, axis=1)
        tr_pvpv = trace_mamb(Q, v, v)
        tr_pv = float(np.sum((1.0 - h) * v))
        return math.sqrt(2 * tr_pvpv + 4 * t * tr_pv + 2 * t * t * (k - p)) / (k - p)
    if method == "SJ":
        t0 = _sj_start(y) if tau2_start is None else tau2_start
        f0 = gls(y, v + t0, X)
        ones = np.ones_like(v)
        var = 2 * f0.trace_PAPB(v, v) + 4 * t * f0.trace_PAPB(v, ones) + 2 * t * t * f0.trace_PP
        return t0 * math.sqrt(var) / (k - p)
    f = gls(y, v + t, X)
    if method == "ML":
        return math.sqrt(2.0 / float(np.sum(f.w**2)))
    if method == "REML":
        return math.sqrt(2.0 / f.trace_PP)
    # EB, PM, PMM
    return math.sqrt(2.0 * k * k / (k - p)) / float(np.sum(f.w))
