"""Generalized linear mixed models for the meta-analysis of binary outcomes.

These are the models of metafor's ``rma.glmm`` (Viechtbauer 2010, J Stat Softw 36(3);
metafor help page ``rma.glmm``), fitted by maximum likelihood with the likelihood
written exactly for the counts instead of the normal approximation of ``rma``:

* :func:`glmm_proportions` -- single-group proportions, the binomial-normal model
  logit(p_i) = mu + u_i, u_i ~ N(0, tau²) (Hamza, van Houwelingen & Stijnen 2008,
  J Clin Epidemiol 61:41; Stijnen, Hamza & Özdemir 2010, Stat Med 29:3046).
* :func:`glmm_or` -- two-group binary data, log odds ratio, with metafor's models
  ``"UM.FS"`` (unconditional model, fixed study effects: logit p_ij = alpha_i +
  theta*group1_j + u_i*group12_j), ``"UM.RS"`` (random study effects: alpha_i =
  gamma + v_i, v_i ~ N(0, sigma²), independent of u_i) and ``"CM.EL"`` (conditional
  model, exact likelihood: a_i given a_i + c_i follows Fisher's noncentral
  hypergeometric distribution with log odds ratio theta + u_i; van Houwelingen,
  Zwinderman & Stijnen 1993, Stat Med 12:2273; Stijnen et al. 2010).

The random effects are integrated out by adaptive Gauss-Hermite quadrature: for each
study the integrand is centred at the conditional mode of the random effect and
scaled by the curvature there (Liu & Pierce 1994, Biometrika 81:624; Pinheiro & Bates
1995, J Comput Graph Stat 4:12).  One point is the Laplace approximation.  The
defaults follow metafor 3.8 / lme4: ``nAGQ = 7`` points for the single-group model
and for UM.FS (lme4::glmer, Bates, Mächler, Bolker & Walker 2015, J Stat Softw 67(1)),
the Laplace approximation for the random-effects UM.RS model (glmer cannot use more
points with two random effects per study; its common-effect version keeps 7), and for
CM.EL -- which metafor integrates numerically with ``integrate()`` -- 21 quadrature
points, which is exact to machine precision for all practical purposes.

Maximum likelihood is solved to full precision: scores are exact (complex-step
derivatives through the quadrature, Squire & Trapp 1998, SIAM Rev 40:110), a grid over
the between-study SD gives the start, a quasi-Newton method and an exact Newton polish
finish, and the largest score at the solution is reported (``grad_max``, ~1e-12).
glmer stops earlier: its estimates differ from the exact maximum by about 1e-5
relative for dat.pritz1997 and 5e-4 for UM.FS with 18 studies.

Conventions reproduced from metafor (checked against metafor 3.8-1 / lme4):

* The variance component is estimated with the fixed effects, jointly, on the
  quadrature likelihood (glmer's second stage); standard errors of the fixed effects
  come from the inverse of the Hessian of that likelihood over all parameters (fixed
  effects *and* the random-effect SD), as ``vcov`` of a glmer fit does.
* Heterogeneity tests compare the fitted common-effect model with the saturated model
  that has one parameter per study (Wald-type test of the extra coefficients, and the
  likelihood-ratio test), with k - 1 degrees of freedom.  Studies whose saturated
  estimate is infinite (no events or only events) contribute nothing to the Wald-type
  statistic, which is the limit of the glm fit R computes.
* I² = 100 tau² / (tau² + s²) and H² = 1 + tau²/s², with the typical within-study
  variance s² = (k - 1) / (sum w - sum w² / sum w) (Higgins & Thompson 2002, Stat Med
  21:1539) from the escalc sampling variances w = 1/v of the observed logits or log
  odds ratios, with 1/2 added to all cells of studies with a zero cell (metafor's
  ``add = 1/2, to = "only0"``).  The correction affects I² and H² only, never the model.
* Fit statistics: for the single-group model and UM.FS metafor reports
  logLik = logLik(saturated) - deviance/2, where deviance is lme4's deviance of the
  glmer fit: the sum of squared binomial deviance residuals at the conditional modes
  of the random effects.  (The maximised quadrature log-likelihood itself is reported
  as ``loglik_marginal``.)  For UM.RS logLik is glmer's Laplace log-likelihood, for
  CM.EL the integrated conditional log-likelihood.  deviance = -2 (logLik - logLik of
  the saturated model); AIC, BIC and AICc count the parameters as metafor does (for
  UM.FS the k study intercepts; BIC and AICc use 2k observations for UM.FS and UM.RS).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .fit_stats import information_criteria
from .._result import ResultMixin, fmt, fmt_p, jsonable
from ..errors import (
    AnalysisWarning,
    ConvergenceError,
    DataError,
    DataIssue,
    ExcludedStudy,
    ModelError,
)

__all__ = [
    "glmm_proportions",
    "glmm_or",
    "GLMMResult",
    "GLMMPrediction",
    "DEFAULT_NAGQ",
    "OR_MODELS",
]

#: metafor's default number of quadrature points (``rma.glmm(nAGQ = 7)``).
DEFAULT_NAGQ = 7
#: Quadrature points used for CM.EL, which metafor integrates with ``integrate()``.
CM_EL_NAGQ = 21
OR_MODELS = ("UM.FS", "UM.RS", "CM.EL")
METHODS = ("ML", "EE")
_METHOD_ALIASES = {"FE": "EE", "CE": "EE", "EE": "EE", "ML": "ML"}

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_CSTEP = 1e-30  # complex-step size (derivatives exact to rounding)
_GRAD_TOL = 1e-7  # |d logLik / d parameter| accepted at the solution
_GRAD_FAIL = 1e-4  # beyond this the fit is reported as not converged
_SD_MAX = 25.0  # a random-effect SD beyond this (logit scale) means the MLE is infinite
_COEF_MAX = 25.0  # a log odds (ratio) beyond this means complete separation


# ---------------------------------------------------------------------------------
# Elementary functions that also accept complex arguments (for complex-step
# differentiation: Squire & Trapp 1998, SIAM Rev 40:110; Martins, Sturdza & Alonso
# 2003, ACM Trans Math Softw 29:245).


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), stable for large |x| and analytic in complex x.

    With c = max(Re x, 0) (locally constant), log(1 + e^x) = c + log(e^-c + e^(x-c)),
    where neither exponential can overflow.
    """
    if not np.iscomplexobj(x):
        return np.logaddexp(0.0, x)
    c = np.maximum(x.real, 0.0)
    return c + np.log(np.exp(-c) + np.exp(x - c))


def _expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), stable and analytic in complex x (same device as _softplus)."""
    if not np.iscomplexobj(x):
        return special.expit(x)
    c = np.maximum(x.real, 0.0)
    e = np.exp(x - c)
    return e / (np.exp(-c) + e)


def _lchoose(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    return special.gammaln(n + 1.0) - special.gammaln(x + 1.0) - special.gammaln(n - x + 1.0)


def _logsumexp(v: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(v))) along ``axis`` for finite v; the shift uses the real part only."""
    shift = v.real.max(axis=axis, keepdims=True)
    return np.log(np.exp(v - shift).sum(axis=axis)) + np.squeeze(shift, axis=axis)


@functools.lru_cache(maxsize=None)
def _gh_rule(nagq: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes z_j and log weights for the standard normal density.

    sum_j exp(lw_j) f(z_j) approximates the integral of f(z) exp(-z²/2) dz times
    exp(z²/2)/sqrt(2 pi), i.e. lw_j = log w_j + z_j²/2 - log sqrt(2 pi), so that
    ``log L = log sd + logsumexp(lw + h(mode + sd z))`` is the adaptive rule of
    Liu & Pierce (1994) for the integral of exp(h(u)) over u.
    """
    z, w = np.polynomial.hermite_e.hermegauss(nagq)
    lw = np.log(w) + 0.5 * z**2 - _HALF_LOG_2PI
    z.setflags(write=False)
    lw.setflags(write=False)
    return z, lw


# ---------------------------------------------------------------------------------
# Families: log-likelihood of one "row" (a group of a study, or a study's table)
# as a function of its linear predictor, with the first two derivatives.


class _Binomial:
    """Binomial counts with logit link: y eta - n log(1 + e^eta) + log C(n, y)."""

    def __init__(self, y: np.ndarray, n: np.ndarray):
        self.y = y[..., None]
        self.n = n[..., None]
        self.const = _lchoose(n, y)[..., None]

    def loglik(self, eta: np.ndarray) -> np.ndarray:
        return self.y * eta - self.n * _softplus(eta) + self.const

    def derivs(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = _expit(eta)
        return self.y - self.n * p, -self.n * p * (1.0 - p)


class _NoncentralHypergeometric:
    """a_i given the margins of its 2x2 table: Fisher's noncentral hypergeometric.

    P(a | psi) = C(n1, a) C(n2, m1 - a) psi^a / sum_x C(n1, x) C(n2, m1 - x) psi^x,
    with x over max(0, m1 - n2) .. min(n1, m1) and eta = log psi (Breslow & Day 1980,
    IARC Sci Publ 32, ch. 4; van Houwelingen et al. 1993).  One row per study.
    """

    def __init__(self, a: np.ndarray, c: np.ndarray, n1: np.ndarray, n2: np.ndarray):
        m1 = a + c
        lo = np.maximum(0.0, m1 - n2)
        hi = np.minimum(n1, m1)
        size = (hi - lo + 1).astype(int)
        S = int(size.max())
        x = lo[:, None] + np.arange(S)[None, :]
        valid = x <= hi[:, None]
        xs = np.where(valid, x, lo[:, None])
        c_x = np.where(valid, _lchoose(n1[:, None], xs) + _lchoose(n2[:, None], m1[:, None] - xs), -np.inf)
        self.x = xs[:, None, None, :]  # (k, 1, 1, S)
        self.c = c_x[:, None, None, :]
        self.a = a[:, None, None]
        self.ca = (_lchoose(n1, a) + _lchoose(n2, m1 - a))[:, None, None]
        self.lo, self.hi = lo, hi
        self.support_size = S

    def _moments(self, eta: np.ndarray):
        t = self.c + self.x * eta[..., None]
        re = np.real(t)
        shift = np.max(re, axis=-1, keepdims=True)
        with np.errstate(under="ignore"):
            w = np.exp(t - shift)
        sw = np.sum(w, axis=-1)
        lse = np.log(sw) + shift[..., 0]
        mean = np.sum(w * self.x, axis=-1) / sw
        var = np.sum(w * (self.x - mean[..., None]) ** 2, axis=-1) / sw
        return lse, mean, var

    def loglik(self, eta: np.ndarray) -> np.ndarray:
        lse, _, _ = self._moments(eta)
        return self.a * eta + self.ca - lse

    def derivs(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, mean, var = self._moments(eta)
        return self.a - mean, -var


# ---------------------------------------------------------------------------------
# The quadrature likelihood of a GLMM with study-level random effects.


class _Engine:
    """Marginal log-likelihood per study of a GLMM with q <= 2 random effects per study.

    Row j of study i has linear predictor
        eta_ij = Xg_ij' beta + Xl_ij alpha_i + sum_r Z_ijr s_r u_ir,  u_i ~ N(0, I_q),
    with global fixed effects ``beta``, an optional study-specific fixed effect
    ``alpha_i`` (the study intercepts of UM.FS) and random-effect SDs ``s`` (lme4's
    "theta": the model is written in spherical random effects as in Bates et al.
    2015, so s = 0 is an ordinary point of the parameter space).  The integral over
    u_i is computed by adaptive Gauss-Hermite quadrature centred at the conditional
    mode with the Cholesky factor of the inverse curvature as scale (Liu & Pierce
    1994; Pinheiro & Bates 1995; product rule for q = 2).
    """

    def __init__(self, fam, Xg: np.ndarray, Z: np.ndarray, Xl: np.ndarray | None, nagq: int):
        self.fam = fam
        self.Xg = np.asarray(Xg, dtype=float)
        self.Z = np.asarray(Z, dtype=float)
        self.Xl = None if Xl is None else np.asarray(Xl, dtype=float)
        self.k, self.m, self.pg = self.Xg.shape
        self.q = self.Z.shape[2]
        self.nagq = int(nagq)
        z, lw = _gh_rule(self.nagq)
        if self.q == 2:
            self.nodes = np.array(np.meshgrid(z, z, indexing="ij")).reshape(2, -1)
            self.lw = (lw[:, None] + lw[None, :]).reshape(-1)
        else:
            self.nodes = z[None, :]
            self.lw = lw
        self._u_cache: np.ndarray | None = None
        # rows of parameters evaluated in one vectorised pass (bounded for memory)
        support = getattr(fam, "support_size", 1)
        cells = self.k * self.m * max(1, self.nodes.shape[1]) * support
        self._chunk = max(1, int(4_000_000 // max(1, cells)))

    # -- the likelihood for a batch of parameter vectors ----------------------------
    def _hrow(self, f, sZ, u):
        """h(u) per study at one point u (B, k, q): log f(y | eta(u)) - |u|²/2."""
        eta = f + np.einsum("bkmq,bkq->bkm", sZ, u)
        return self.fam.loglik(eta[..., None])[..., 0].sum(axis=2) - 0.5 * (u * u).sum(axis=2)

    def _mode(self, f, sZ):
        """Conditional modes of u and the curvature A = -d²h/du² there.

        f: (B, k, m) fixed part, sZ: (B, k, m, q) scaled loadings.  h(u) = sum_j
        log f(y_ij | eta_ij(u)) - |u|²/2 is strictly concave.  Newton's method is
        safeguarded: for q = 1 the root of the (decreasing) score is kept in a bracket
        and a step leaving it is replaced by bisection; for q = 2 steps are halved until
        h does not decrease.  Decisions use real parts only, so under complex arguments
        the final (pure Newton) steps carry the derivatives.  One more step is taken
        after the steps fall below 1e-8, so that the modes -- and their derivatives --
        are exact to rounding.
        """
        B, k, q = f.shape[0], self.k, self.q
        u = np.zeros((B, k, q), dtype=np.result_type(f, sZ))
        if self._u_cache is not None:
            u = u + self._u_cache[None]
        last = False
        single = self.m == 1
        if q == 1:
            lo = np.full((B, k), -np.inf)
            hi = np.full((B, k), np.inf)
        else:
            h_cur = self._hrow(f, sZ, u).real
        for _ in range(300):
            if q == 1:
                z = sZ[..., 0]
                eta = f + z * u
                d1, d2 = self.fam.derivs(eta[..., None])
                if single:
                    zz = z[..., 0]
                    g = zz * d1[..., 0, 0] - u[..., 0]
                    a = 1.0 - zz * zz * d2[..., 0, 0]
                else:
                    g = (z * d1[..., 0]).sum(axis=2) - u[..., 0]
                    a = 1.0 - (z * z * d2[..., 0]).sum(axis=2)
                ur = u[..., 0].real
                pos = g.real > 0
                lo = np.where(pos, np.maximum(lo, ur), lo)
                hi = np.where(pos, hi, np.minimum(hi, ur))
                step = g / a
                sr = step.real
                if np.abs(sr).max() > 2.0:
                    step = step * np.minimum(1.0, 2.0 / np.maximum(np.abs(sr), 1e-300))
                    sr = step.real
                prop = ur + sr
                # (near the root Newton is trusted: rounding must not trigger bisection)
                outside = ((prop <= lo) | (prop >= hi)) & (np.abs(sr) > 1e-6)
                if outside.any():
                    mid = 0.5 * (np.where(np.isfinite(lo), lo, hi) + np.where(np.isfinite(hi), hi, lo))
                    step = np.where(outside, mid - ur, step)
                step = step[..., None]
                size = np.abs(step.real)[..., 0]
            else:
                eta = f + np.einsum("bkmq,bkq->bkm", sZ, u)
                d1, d2 = self.fam.derivs(eta[..., None])
                g = np.einsum("bkmq,bkm->bkq", sZ, d1[..., 0]) - u
                A = np.eye(q) - np.einsum("bkmq,bkm,bkmr->bkqr", sZ, d2[..., 0], sZ)
                det = A[..., 0, 0] * A[..., 1, 1] - A[..., 0, 1] * A[..., 1, 0]
                step = np.stack(
                    [
                        (A[..., 1, 1] * g[..., 0] - A[..., 0, 1] * g[..., 1]) / det,
                        (A[..., 0, 0] * g[..., 1] - A[..., 1, 0] * g[..., 0]) / det,
                    ],
                    axis=-1,
                )
                size = np.abs(step.real).max(axis=-1)
                if size.max() > 2.0:
                    step = step * np.minimum(1.0, 2.0 / np.maximum(size, 1e-300))[..., None]
                t = np.ones((B, k))
                for _ in range(50):
                    h_new = self._hrow(f, sZ, u + t[..., None] * step).real
                    worse = h_new < h_cur - 1e-13 * np.abs(h_cur)
                    if not worse.any():
                        break
                    t = np.where(worse, 0.5 * t, t)
                step = t[..., None] * step
                h_cur = h_new
                size = np.abs(step.real).max(axis=-1)
            u = u + step
            big = size.max()
            if last:
                break
            if big < 1e-8:
                last = True
        else:  # pragma: no cover - safeguarded Newton on a strictly concave function converges
            raise ConvergenceError("the conditional modes of the random effects did not converge")
        eta = f + np.einsum("bkmq,bkq->bkm", sZ, u)
        _, d2 = self.fam.derivs(eta[..., None])
        A = np.eye(q) - np.einsum("bkmq,bkm,bkmr->bkqr", sZ, d2[..., 0], sZ)
        self._u_cache = np.real(u[0]).copy()
        return u, A

    def _fixed(self, TH, AL):
        B = TH.shape[0]
        if self.pg:
            f = np.einsum("kmp,bp->bkm", self.Xg, TH[:, : self.pg])
        else:
            f = np.zeros((B, self.k, self.m), dtype=TH.dtype)
        if self.Xl is not None:
            f = f + self.Xl[None] * AL[:, :, None]
        return f

    def batch(self, TH: np.ndarray, AL: np.ndarray | None = None) -> np.ndarray:
        """Quadrature log-likelihood of each study for each row of parameters.

        TH: (B, pg + q) rows of (beta, s); AL: (B, k) study intercepts or None.
        Complex values are allowed (complex-step differentiation).  Returns (B, k).
        """
        TH = np.atleast_2d(TH)
        if TH.shape[0] > self._chunk:
            parts = [
                self.batch(TH[i : i + self._chunk], None if AL is None else AL[i : i + self._chunk])
                for i in range(0, TH.shape[0], self._chunk)
            ]
            return np.concatenate(parts, axis=0)
        f = self._fixed(TH, AL)
        if self.q == 0:
            return np.sum(self.fam.loglik(f[..., None])[..., 0], axis=2)
        sZ = self.Z[None] * TH[:, None, None, self.pg :]
        u0, A = self._mode(f, sZ)
        if self.q == 1:
            sd = 1.0 / np.sqrt(A[..., 0, 0])  # (B, k)
            u = u0[..., 0:1] + sd[..., None] * self.nodes[0]  # (B, k, N)
            eta = f[..., None] + sZ[..., 0][..., None] * u[:, :, None, :]
            h = self.fam.loglik(eta).sum(axis=2) - 0.5 * u * u
            logdet = np.log(sd)
        else:
            # C = chol(A^-1) for 2 x 2 A (closed form, complex-safe)
            det = A[..., 0, 0] * A[..., 1, 1] - A[..., 0, 1] * A[..., 1, 0]
            a11, a12, a22 = A[..., 1, 1] / det, -A[..., 0, 1] / det, A[..., 0, 0] / det
            l11 = np.sqrt(a11)
            l21 = a12 / l11
            l22 = np.sqrt(a22 - l21 * l21)
            z1, z2 = self.nodes
            u1 = u0[..., 0:1] + l11[..., None] * z1
            u2 = u0[..., 1:2] + l21[..., None] * z1 + l22[..., None] * z2
            eta = f[..., None] + sZ[..., 0][..., None] * u1[:, :, None, :] + sZ[..., 1][..., None] * u2[:, :, None, :]
            h = np.sum(self.fam.loglik(eta), axis=2) - 0.5 * (u1 * u1 + u2 * u2)
            logdet = np.log(l11) + np.log(l22)
        return logdet + _logsumexp(self.lw + h, axis=-1)

    def loglik_i(self, theta, alpha=None) -> np.ndarray:
        """Quadrature log-likelihood of each study at one parameter vector."""
        TH = np.asarray(theta)[None, :]
        AL = None if alpha is None else np.asarray(alpha)[None, :]
        return self.batch(TH, AL)[0]

    def loglik(self, theta, alpha=None) -> float:
        return float(np.sum(np.real(self.loglik_i(theta, alpha))))

    def conditional_eta(self, theta, alpha=None) -> np.ndarray:
        """Linear predictors at the conditional modes of the random effects."""
        TH = np.asarray(theta, dtype=float)[None, :]
        AL = None if alpha is None else np.asarray(alpha, dtype=float)[None, :]
        f = self._fixed(TH, AL)
        if self.q == 0:
            return f[0]
        sZ = self.Z[None] * TH[:, None, None, self.pg :]
        u0, _ = self._mode(f, sZ)
        return np.real(f + np.einsum("bkmq,bkq->bkm", sZ, u0))[0]

    # -- derivatives ---------------------------------------------------------------
    def _grads(self, THs: np.ndarray, ALs: np.ndarray | None, idx: Sequence[int], with_alpha: bool):
        """Per-study scores at R base points by complex steps, in one batch.

        Returns G (R, k, len(idx)) and ga (R, k) (d l_i / d alpha_i) or None.
        """
        idx = list(idx)
        R = THs.shape[0]
        nd = len(idx) + int(with_alpha)
        TH = np.repeat(THs.astype(complex), nd, axis=0).reshape(R, nd, -1)
        for j, i in enumerate(idx):
            TH[:, j, i] += 1j * _CSTEP
        AL = None
        if ALs is not None:
            AL = np.repeat(ALs.astype(complex), nd, axis=0).reshape(R, nd, -1)
            if with_alpha:
                AL[:, -1, :] += 1j * _CSTEP
            AL = AL.reshape(R * nd, -1)
        out = self.batch(TH.reshape(R * nd, -1), AL).imag.reshape(R, nd, self.k) / _CSTEP
        G = np.transpose(out[:, : len(idx), :], (0, 2, 1))
        ga = out[:, -1, :] if with_alpha else None
        return G, ga

    def grad_i(self, theta, alpha, idx: Sequence[int], with_alpha: bool):
        """Per-study scores by complex steps: (k, len(idx)) and (k,) for alpha_i."""
        THs = np.asarray(theta, dtype=float)[None, :]
        ALs = None if alpha is None else np.asarray(alpha, dtype=float)[None, :]
        G, ga = self._grads(THs, ALs, idx, with_alpha)
        return G[0], (None if ga is None else ga[0])

    def hessian(self, theta, alpha, idx: Sequence[int], with_alpha: bool) -> np.ndarray:
        """Hessian over theta[idx] (and alpha) by central differences of exact scores.

        The study intercepts alpha_i each enter one study only, so the Hessian has an
        arrow structure; all alpha_i are perturbed at once and read off per study.
        """
        idx = list(idx)
        ng = len(idx)
        theta = np.asarray(theta, dtype=float)
        bases_t, bases_a, steps = [], [], []
        for i in idx:
            d = 1e-5 * max(1.0, abs(float(theta[i])))
            for sgn in (1.0, -1.0):
                t = theta.copy()
                t[i] += sgn * d
                bases_t.append(t)
                bases_a.append(alpha)
            steps.append(d)
        if with_alpha:
            d = 1e-5 * max(1.0, float(np.max(np.abs(alpha))))
            for sgn in (1.0, -1.0):
                bases_t.append(theta.copy())
                bases_a.append(alpha + sgn * d)
            steps.append(d)
        THs = np.array(bases_t)
        ALs = None if alpha is None else np.array(bases_a)
        G, ga = self._grads(THs, ALs, idx, with_alpha)
        kk = self.k if with_alpha else 0
        H = np.zeros((ng + kk, ng + kk))
        for j in range(ng):
            d = steps[j]
            H[:ng, j] = np.sum(G[2 * j] - G[2 * j + 1], axis=0) / (2 * d)
            if with_alpha:
                H[ng:, j] = (ga[2 * j] - ga[2 * j + 1]) / (2 * d)
        if with_alpha:
            d = steps[-1]
            cross = (G[-2] - G[-1]) / (2 * d)  # (k, ng): d² l_i / d alpha_i d theta_j
            H[ng:, :ng] = 0.5 * (H[ng:, :ng] + cross)
            H[:ng, ng:] = H[ng:, :ng].T
            H[ng:, ng:] = np.diag((ga[-2] - ga[-1]) / (2 * d))
        H[:ng, :ng] = 0.5 * (H[:ng, :ng] + H[:ng, :ng].T)
        return H


@dataclass
class _Fit:
    theta: np.ndarray
    alpha: np.ndarray | None
    loglik: float
    free: list[int]  # indices of theta estimated (interior)
    hessian: np.ndarray  # over theta[free] and alpha
    grad_max: float
    boundary: list[int]  # indices of SDs fixed at the boundary 0


def _score_hessian(engine: _Engine, theta, alpha, free: list[int]):
    with_alpha = alpha is not None
    G, ga = engine.grad_i(theta, alpha, free, with_alpha)
    g = np.sum(G, axis=0)
    if with_alpha:
        g = np.concatenate([g, ga])
    H = engine.hessian(theta, alpha, free, with_alpha)
    return g, H


def _score(engine: _Engine, theta, alpha, free: list[int]) -> np.ndarray:
    G, ga = engine.grad_i(theta, alpha, free, alpha is not None)
    g = np.sum(G, axis=0)
    return g if alpha is None else np.concatenate([g, ga])


def _pd_solve(B: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve (B + lam I) x = g with the smallest lam >= 0 making B + lam I positive definite."""
    lam = 0.0
    scale = max(1e-8, float(np.max(np.abs(np.diag(B))))) if B.size else 1.0
    eye = np.eye(B.shape[0])
    for _ in range(80):
        try:
            L = np.linalg.cholesky(B + lam * eye)
            return np.linalg.solve(L.T, np.linalg.solve(L, g))
        except np.linalg.LinAlgError:
            lam = max(4.0 * lam, 1e-8 * scale)
    return g / scale  # pragma: no cover


def _newton(engine: _Engine, theta, alpha, free: list[int], tol: float = 1e-10, max_iter: int = 200):
    """Maximise over theta[free] (and alpha, if present) by a damped quasi-Newton method.

    Exact scores by complex steps; the curvature starts from the Hessian (central
    differences of exact scores) and is updated by BFGS (Nocedal & Wright 2006,
    Numerical Optimization, ch. 6), with the Hessian recomputed when progress stalls.
    Where the curvature matrix is not positive definite a multiple of the identity is
    added (Levenberg 1944, Q Appl Math 2:164; Marquardt 1963, SIAM J Appl Math
    11:431), and steps are halved until the log-likelihood does not decrease.  For
    fixed SDs the log-likelihood is concave in the fixed effects (the binomial logit
    and the noncentral hypergeometric are log-concave, and integration over a normal
    density preserves log-concavity: Prékopa 1973, Acta Sci Math 34:335).
    Returns theta, alpha, the log-likelihood and the number of iterations.
    """
    theta = np.array(theta, dtype=float)
    alpha = None if alpha is None else np.array(alpha, dtype=float)
    ll = engine.loglik(theta, alpha)
    nf = len(free)
    n = nf + (0 if alpha is None else alpha.size)
    if n == 0:
        return theta, alpha, ll, 0
    g = _score(engine, theta, alpha, free)
    B = None
    for it in range(max_iter):
        if float(np.max(np.abs(g))) < tol * 1e-2:
            return theta, alpha, ll, it
        if B is None:
            B = -engine.hessian(theta, alpha, free, alpha is not None)
        step = _pd_solve(B, g)
        big = float(np.max(np.abs(step)))
        if big > 3.0:  # keep steps moderate on the logit scale
            step = step * (3.0 / big)
        t = 1.0
        for _ in range(60):
            th_new = theta.copy()
            th_new[free] += t * step[:nf]
            al_new = None if alpha is None else alpha + t * step[nf:]
            ll_new = engine.loglik(th_new, al_new)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-13 * max(1.0, abs(ll)):
                break
            t *= 0.5
        else:
            if B is not None and it > 0:
                B = None  # refresh the curvature and try again
                continue
            return theta, alpha, ll, it
        g_new = _score(engine, th_new, al_new, free)
        sx = t * step
        y = g - g_new  # change of the gradient of -logLik
        theta, alpha, ll = th_new, al_new, ll_new
        if float(np.max(np.abs(sx))) < tol:
            return theta, alpha, ll, it + 1
        sy = float(sx @ y)
        if t < 0.25:
            B = None  # poor model: recompute the Hessian at the next step
        elif sy > 1e-12 * float(np.linalg.norm(sx) * np.linalg.norm(y)):
            Bs = B @ sx
            B = B - np.outer(Bs, Bs) / float(sx @ Bs) + np.outer(y, y) / sy
        g = g_new
    return theta, alpha, ll, max_iter


def _fit(engine: _Engine, theta0, alpha0, fixed_idx: list[int], sd_idx: list[int]) -> _Fit:
    """Maximum likelihood over the fixed effects and the random-effect SDs, to full precision.

    1. A coarse grid for the SD of the effect of interest (the last SD), with every
       other parameter maximised out, gives a global start.
    2. A quasi-Newton method over all parameters jointly, then an exact Newton polish.
       The likelihood is even in each SD (u and -u have the same distribution), so
       the SDs need no constraint; their sign is dropped at the end.
    3. An SD that converges to 0 is set to exactly 0 and the other parameters
       refitted; this is accepted as the boundary maximum only if the likelihood
       curves downwards there (d² logLik / d s² <= 0 at s = 0).
    The scores at the solution are returned as a convergence check.
    """
    theta = np.array(theta0, dtype=float)
    alpha = None if alpha0 is None else np.array(alpha0, dtype=float)
    free = list(fixed_idx) + list(sd_idx)
    if sd_idx:
        j = sd_idx[-1]
        inner = [i for i in free if i != j]
        best_ll, best = -np.inf, None
        th, al = theta.copy(), alpha
        for gval in (0.0, 0.25, 0.6, 1.2, 2.5):
            th = th.copy()
            th[j] = gval
            th, al, ll, _ = _newton(engine, th, al, inner, tol=1e-6)
            if ll > best_ll + 1e-9 * max(1.0, abs(ll)):
                best_ll, best = ll, (th.copy(), None if al is None else al.copy())
        theta, alpha = best
        for i in sd_idx:  # a start exactly at 0 would be a stationary point
            if abs(theta[i]) < 0.05:
                theta[i] = 0.05
    theta, alpha, ll, _ = _newton(engine, theta, alpha, free)
    theta[sd_idx] = np.abs(theta[sd_idx])
    boundary: list[int] = []
    for i in sd_idx:
        if theta[i] < 1e-6:
            th0 = theta.copy()
            th0[i] = 0.0
            rest = [j for j in free if j != i]
            th0, al0, ll0, _ = _newton(engine, th0, alpha, rest)
            H0 = engine.hessian(th0, al0, [i], False)
            if float(H0[0, 0]) <= 1e-8 * max(1.0, abs(ll0)) or ll0 >= ll:
                theta, alpha, ll = th0, al0, ll0
                boundary.append(i)
                free = rest
            # otherwise 0 is a local minimum along s and the tiny interior solution stands
    # exact Newton polish: the Hessian is needed for the standard errors anyway
    for _ in range(3):
        g, H = _score_hessian(engine, theta, alpha, free)
        if g.size == 0 or float(np.max(np.abs(g))) < 1e-12 * max(1.0, abs(ll)):
            break
        try:
            step = np.linalg.solve(-H, g)
        except np.linalg.LinAlgError:  # pragma: no cover
            break
        if float(np.max(np.abs(step))) > 1e-4:
            break  # not in the quadratic region: keep the quasi-Newton solution
        th_new = theta.copy()
        th_new[free] += step[: len(free)]
        al_new = None if alpha is None else alpha + step[len(free) :]
        ll_new = engine.loglik(th_new, al_new)
        if not ll_new >= ll - 1e-12 * max(1.0, abs(ll)):
            break
        theta, alpha, ll = th_new, al_new, ll_new
    else:
        g, H = _score_hessian(engine, theta, alpha, free)
    grad_max = float(np.max(np.abs(g))) if g.size else 0.0
    if any(theta[i] > _SD_MAX for i in sd_idx):
        raise ModelError(
            "the maximum-likelihood estimate of the between-study SD is infinite: the studies "
            "are separated (e.g. some with no events and some with only events, and none in "
            "between), so the likelihood keeps increasing with tau²"
        )
    if any(abs(theta[i]) > _COEF_MAX for i in fixed_idx):
        raise ModelError(
            "the maximum-likelihood estimate is infinite (complete separation: e.g. no events, "
            "or only events, in one group of every study)"
        )
    return _Fit(theta, alpha, ll, free, H, grad_max, boundary)


def _inverse_active(H: np.ndarray) -> np.ndarray:
    """Inverse of -H over the parameters the data inform (rows of H not identically 0).

    A study-specific parameter whose MLE is infinite (e.g. a group without events in
    the saturated UM.RS model) is dropped from its likelihood and has a zero row;
    its entries of the result are NaN.
    """
    active = np.any(H != 0.0, axis=0)
    V = np.full(H.shape, np.nan)
    try:
        V[np.ix_(active, active)] = np.linalg.inv(-H[np.ix_(active, active)])
    except np.linalg.LinAlgError as exc:
        raise ModelError(f"the Hessian of the log-likelihood is singular: {exc}") from None
    return V


def _vcov_fixed(fit: _Fit, fixed_idx: list[int]) -> np.ndarray:
    """Covariance of the global fixed effects: inverse of -Hessian over all free parameters."""
    V = _inverse_active(fit.hessian)
    pos = [fit.free.index(i) for i in fixed_idx]
    return V[np.ix_(pos, pos)]


# ---------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class GLMMPrediction(ResultMixin):
    """The summary effect with confidence and prediction intervals.

    The prediction interval is pred ± z * sqrt(se² + tau²) on the model scale
    (Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A 172:137; metafor's
    ``predict`` with ``test = "z"``); with ``transform`` the bounds are mapped to the
    natural scale (e.g. 'ilogit' for a proportion, 'exp' for an odds ratio).
    """

    pred: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    level: float
    transform: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"pred": self.pred, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high, "pi_low": self.pi_low, "pi_high": self.pi_high}]
        )

    def summary(self) -> str:
        pct = f"{100 * self.level:g}%"
        scale = f" (back-transformed: {self.transform})" if self.transform else ""
        return (
            f"Prediction{scale}: {fmt(self.pred)}; {pct} CI {fmt(self.ci_low)} to {fmt(self.ci_high)}; "
            f"{pct} prediction interval {fmt(self.pi_low)} to {fmt(self.pi_high)}"
        )


@dataclass(frozen=True)
class GLMMResult(ResultMixin):
    """A fitted binomial-normal / logistic mixed model (metafor's ``rma.glmm``).

    ``estimate`` is the average logit (single-group model) or log odds ratio; ``z`` and
    ``pval`` its Wald test; ``qe_wld``/``qe_lrt`` the Wald-type and likelihood-ratio
    tests for heterogeneity with ``qe_df`` degrees of freedom; ``i2`` is a percentage.
    ``sigma2`` is the variance of the random study intercepts (UM.RS only).
    ``loglik_marginal`` is the maximised quadrature log-likelihood; ``loglik`` follows
    metafor's convention (see the module documentation).  ``grad_max`` is the largest
    absolute score at the solution (a convergence check).
    """

    measure: str
    model: str
    method: str
    level: float
    nagq: int
    k: int
    studies: tuple[str, ...]
    estimate: float
    se: float
    z: float
    pval: float
    ci_low: float
    ci_high: float
    tau2: float
    sigma2: float
    qe_wld: float
    qe_wld_pval: float
    qe_lrt: float
    qe_lrt_pval: float
    qe_df: int
    i2: float
    h2: float
    vt: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    loglik_marginal: float
    n_par: int
    k_eff: int
    grad_max: float
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def stat(self) -> float:
        """The Wald statistic (alias of ``z``, as in :class:`RMAResult`)."""
        return self.z

    @property
    def is_random(self) -> bool:
        return self.method == "ML"

    def predict(self, transf: str | Callable | None = None, level: float | None = None) -> GLMMPrediction:
        """The summary effect with CI and prediction interval, optionally back-transformed.

        ``transf`` is a name ('ilogit', 'exp', or a measure such as 'PLO', 'OR') or a
        function applied to the estimate and every bound.
        """
        level = self.level if level is None else _check_level(level)
        crit = float(stats.norm.ppf(1 - (1 - level) / 2))
        pred, se = self.estimate, self.se
        ci_low, ci_high = pred - crit * se, pred + crit * se
        if self.is_random:
            half = crit * math.sqrt(se * se + self.tau2)
            pi_low, pi_high = pred - half, pred + half
        else:
            pi_low = pi_high = math.nan
        name = None
        if transf is not None:
            if callable(transf):
                f = transf
                name = getattr(transf, "__name__", "custom")
            else:
                from ..transforms import back_transform

                f = back_transform(str(transf))
                name = str(transf)
            pred, ci_low, ci_high, pi_low, pi_high = (float(f(v)) for v in (pred, ci_low, ci_high, pi_low, pi_high))
            se = math.nan
        return GLMMPrediction(pred, se, ci_low, ci_high, pi_low, pi_high, level, name)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"estimate": self.estimate, "se": self.se, "z": self.z, "pval": self.pval, "ci_low": self.ci_low, "ci_high": self.ci_high}],
            index=pd.Index(["intrcpt"], name="coefficient"),
        )

    def to_dict(self) -> dict:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["tau"] = self.tau
        d["warnings"] = [w.to_dict() for w in self.warnings]
        d["excluded"] = [e.to_dict() for e in self.excluded]
        return jsonable(d)

    def summary(self) -> str:
        what = {
            "PLO": "Binomial-normal model for proportions (logit scale)",
            "OR": f"Logistic mixed model for odds ratios ({self.model})",
        }[self.measure]
        kind = "random-effects" if self.is_random else "common-effect"
        integral = self.is_random or self.model == "UM.RS"  # UM.RS: random intercepts
        how = ""
        if integral:
            how = " with " + (
                "the Laplace approximation" if self.nagq == 1 else f"{self.nagq}-point adaptive Gauss-Hermite quadrature"
            )
        lines = [f"{what}, {kind}, k = {self.k}; {self.method}{how}", ""]
        if self.is_random:
            lines.append(f"tau² = {fmt(self.tau2)}, tau = {fmt(self.tau)}")
            if math.isfinite(self.sigma2):
                lines.append(f"sigma² (study intercepts) = {fmt(self.sigma2)}")
        lines += [
            f"I² = {fmt(self.i2, 2)}%, H² = {fmt(self.h2, 2)}",
            "",
            "Tests for heterogeneity:",
            f"  Wald-type:         Q(df = {self.qe_df}) = {fmt(self.qe_wld)}, p = {fmt_p(self.qe_wld_pval)}",
            f"  Likelihood ratio:  Q(df = {self.qe_df}) = {fmt(self.qe_lrt)}, p = {fmt_p(self.qe_lrt_pval)}",
            "",
            f"logLik = {fmt(self.loglik)}, deviance = {fmt(self.deviance)}, AIC = {fmt(self.aic)}, "
            f"BIC = {fmt(self.bic)}, AICc = {fmt(self.aicc)}",
            "",
            "Model results:",
            self.to_frame().to_string(float_format=lambda x: f"{x:.4f}"),
        ]
        transf = "ilogit" if self.measure == "PLO" else "exp"
        pr = self.predict(transf)
        pct = f"{100 * self.level:g}%"
        label = "Summary proportion" if self.measure == "PLO" else "Summary odds ratio"
        line = f"\n{label}: {fmt(pr.pred)} ({pct} CI {fmt(pr.ci_low)} to {fmt(pr.ci_high)})"
        if self.is_random:
            line += f"; {pct} prediction interval {fmt(pr.pi_low)} to {fmt(pr.pi_high)}"
        lines.append(line)
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        if self.excluded:
            lines += ["", "Excluded studies:"] + [f"  - {e}" for e in self.excluded]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------
# Input handling


def _check_level(level: float) -> float:
    level = float(level)
    if 1.0 < level < 100.0:
        level /= 100.0
    if not 0.0 < level < 1.0:
        raise ModelError("level must be between 0 and 1 (e.g. 0.95)")
    return level


def _canonical_method(method: str) -> str:
    m = _METHOD_ALIASES.get(str(method).strip().upper())
    if m is None:
        raise ModelError(f"unknown method {method!r}; choose 'ML' (random effects) or 'EE' (common effect)")
    return m


def _check_nagq(nagq: Any) -> int:
    try:
        n = int(nagq)
    except (TypeError, ValueError):
        raise ModelError(f"nagq must be a positive integer, got {nagq!r}") from None
    if n != nagq or n < 1 or n > 100:
        raise ModelError(f"nagq must be an integer between 1 and 100, got {nagq!r}")
    return n


def _counts(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric counts: {exc}") from None
    return arr


def _labels(studies: Sequence[Any] | None, k: int) -> tuple[str, ...]:
    if studies is None:
        return tuple(str(i + 1) for i in range(k))
    labels = tuple(str(s) for s in studies)
    if len(labels) != k:
        raise DataError(f"{len(labels)} study labels for {k} studies")
    return labels


def _validate(arrays: dict[str, np.ndarray], labels: tuple[str, ...], totals: dict[str, str]) -> None:
    issues: list[DataIssue] = []
    for name, arr in arrays.items():
        for i, v in enumerate(arr):
            if not math.isfinite(v):
                issues.append(DataIssue("count is missing or not finite", study=labels[i], column=name))
            elif v < 0:
                issues.append(DataIssue(f"count is negative ({v:g})", study=labels[i], column=name))
            elif v != math.floor(v):
                issues.append(DataIssue(f"count is not a whole number ({v:g})", study=labels[i], column=name))
    for events, total in totals.items():
        for i, (x, n) in enumerate(zip(arrays[events], arrays[total])):
            if math.isfinite(x) and math.isfinite(n) and x > n:
                issues.append(DataIssue(f"more events ({x:g}) than participants ({n:g})", study=labels[i], column=events))
    if issues:
        raise DataError("cannot fit the model: invalid counts", issues)


def _typical_variance(vi: np.ndarray) -> float:
    """s² = (k - 1) / (sum w - sum w²/sum w), w = 1/v (Higgins & Thompson 2002)."""
    w = 1.0 / vi
    k = w.size
    if k < 2:
        return math.nan
    return (k - 1) / (np.sum(w) - np.sum(w * w) / np.sum(w))


def _wald_from_independent(theta: np.ndarray, w: np.ndarray) -> float:
    """sum w (theta - weighted mean)² over studies with finite estimates (w > 0)."""
    ok = (w > 0) & np.isfinite(theta)
    if not np.any(ok):
        return 0.0
    t, ww = theta[ok], w[ok]
    tbar = np.sum(ww * t) / np.sum(ww)
    return float(np.sum(ww * (t - tbar) ** 2))


def _binom_sat_loglik(y: np.ndarray, n: np.ndarray) -> float:
    """Binomial log-likelihood at the observed proportions (0 log 0 = 0)."""
    return float(np.sum(_lchoose(n, y) + special.xlogy(y, y / np.where(n > 0, n, 1)) + special.xlogy(n - y, (n - y) / np.where(n > 0, n, 1))))


def _conditional_deviance(y: np.ndarray, n: np.ndarray, eta: np.ndarray) -> float:
    """Sum of squared binomial deviance residuals (lme4's ``deviance`` of a glmer fit)."""
    mu = special.expit(eta)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = 2.0 * (special.xlogy(y, y / (n * mu)) + special.xlogy(n - y, (n - y) / (n * (1.0 - mu))))
    return float(np.sum(np.where(n > 0, d, 0.0)))


def _fit_stats(ll: float, ll_sat: float, n_par: int, k_eff: int) -> tuple[float, float, float, float]:
    """deviance (relative to the saturated model), AIC, BIC and AICc as in metafor."""
    dev = -2.0 * (ll - ll_sat)
    aic, bic, aicc = information_criteria(ll, n_par, k_eff)
    return dev, aic, bic, aicc


def _het_pvals(qe_wld: float, qe_lrt: float, df: int) -> tuple[float, float]:
    if df > 0:
        return float(stats.chi2.sf(qe_wld, df)), float(stats.chi2.sf(qe_lrt, df))
    return 1.0, 1.0


def _check_gradient(fit: _Fit, what: str, warnings: list[AnalysisWarning]) -> None:
    if not math.isfinite(fit.grad_max) or fit.grad_max > _GRAD_FAIL:
        raise ConvergenceError(
            f"{what}: the maximum-likelihood fit did not converge (largest score {fit.grad_max:.3g})"
        )
    if fit.grad_max > _GRAD_TOL:
        warnings.append(
            AnalysisWarning(
                "convergence",
                f"{what}: the largest score at the solution is {fit.grad_max:.3g}; estimates may be imprecise",
            )
        )


def _boundary_warning(name: str, what: str) -> AnalysisWarning:
    return AnalysisWarning(
        "tau2_boundary",
        f"{name} estimated at the boundary (0) by ML ({what}): the data show no heterogeneity "
        "beyond what the binomial sampling model explains; the random-effects results equal the "
        "common-effect ones",
    )


def _assemble(
    *,
    measure: str,
    model: str,
    method: str,
    level: float,
    nagq: int,
    labels: tuple[str, ...],
    beta: float,
    var_beta: float,
    tau2: float,
    sigma2: float,
    qe_wld: float,
    qe_lrt: float,
    qe_df: int,
    vt: float,
    loglik: float,
    ll_sat: float,
    loglik_marginal: float,
    n_par: int,
    k_eff: int,
    grad_max: float,
    warnings: list[AnalysisWarning],
    excluded: list[ExcludedStudy],
) -> GLMMResult:
    if not (var_beta > 0 and math.isfinite(var_beta)):
        raise ModelError("the variance of the estimate is not positive: the model is not identified by these data")
    se = math.sqrt(var_beta)
    z = beta / se
    crit = float(stats.norm.ppf(1 - (1 - level) / 2))
    # negative values (rounding) are set to 0, as in metafor; NaN stays NaN
    qe_wld = 0.0 if qe_wld <= 0 else qe_wld
    qe_lrt = 0.0 if qe_lrt <= 0 else qe_lrt
    p_wld, p_lrt = _het_pvals(qe_wld, qe_lrt, qe_df)
    i2 = 100.0 * tau2 / (vt + tau2) if math.isfinite(vt) else math.nan
    h2 = tau2 / vt + 1.0 if math.isfinite(vt) else math.nan
    dev, aic, bic, aicc = _fit_stats(loglik, ll_sat, n_par, k_eff)
    return GLMMResult(
        measure=measure,
        model=model,
        method=method,
        level=level,
        nagq=nagq,
        k=len(labels),
        studies=labels,
        estimate=float(beta),
        se=se,
        z=float(z),
        pval=float(2 * stats.norm.sf(abs(z))),
        ci_low=float(beta - crit * se),
        ci_high=float(beta + crit * se),
        tau2=float(tau2),
        sigma2=float(sigma2),
        qe_wld=float(qe_wld),
        qe_wld_pval=p_wld,
        qe_lrt=float(qe_lrt),
        qe_lrt_pval=p_lrt,
        qe_df=int(qe_df),
        i2=float(i2),
        h2=float(h2),
        vt=float(vt),
        loglik=float(loglik),
        deviance=float(dev),
        aic=float(aic),
        bic=float(bic),
        aicc=float(aicc),
        loglik_marginal=float(loglik_marginal),
        n_par=int(n_par),
        k_eff=int(k_eff),
        grad_max=float(grad_max),
        warnings=tuple(warnings),
        excluded=tuple(excluded),
    )


# ---------------------------------------------------------------------------------
# Single-group proportions


def _plo_engine(x: np.ndarray, n: np.ndarray, nagq: int, random: bool) -> _Engine:
    k = x.size
    fam = _Binomial(x[:, None], n[:, None])
    Xg = np.ones((k, 1, 1))
    Z = np.ones((k, 1, 1)) if random else np.zeros((k, 1, 0))
    return _Engine(fam, Xg, Z, None, nagq)


def glmm_proportions(
    xi: Any,
    ni: Any,
    *,
    level: float = 0.95,
    nagq: int = DEFAULT_NAGQ,
    method: str = "ML",
    studies: Sequence[Any] | None = None,
) -> GLMMResult:
    """Binomial-normal random-effects model for single-group proportions (logit scale).

    x_i ~ Binomial(n_i, p_i), logit(p_i) = mu + u_i, u_i ~ N(0, tau²) (Hamza et al.
    2008; Stijnen, Hamza & Özdemir 2010, Stat Med 29:3046), fitted by maximum
    likelihood with ``nagq``-point adaptive Gauss-Hermite quadrature (Pinheiro & Bates
    1995; metafor's ``rma.glmm(measure = "PLO")`` with its default ``nAGQ = 7``, which
    calls ``lme4::glmer``).  ``method = "EE"`` fits the common-effect logistic model.
    Studies with 0 or n_i events need no continuity correction; studies with n_i = 0
    are excluded (and listed).  ``predict("ilogit")`` gives the summary proportion.

    metafor labels this model "UM.FS" (its default ``model`` argument), which the
    result repeats; with one group per study there is no study effect to condition on.
    """
    method = _canonical_method(method)
    level = _check_level(level)
    nagq = _check_nagq(nagq)
    d = _plo_prepare(xi, ni, studies, method)
    x, n, k = d["x"], d["n"], d["x"].size
    common = dict(
        labels=d["labels"], level=level, qe_wld=d["qe_wld"], qe_lrt=d["qe_lrt"], vt=d["vt"],
        ll_sat=d["ll_sat"], warnings=d["warnings"], excluded=d["excluded"],
    )
    if method == "EE":
        pbar = d["pbar"]
        mu = math.log(pbar / (1.0 - pbar))
        var = 1.0 / float(np.sum(n * pbar * (1.0 - pbar)))
        return _assemble(
            measure="PLO", model="UM.FS", method="EE", nagq=nagq, beta=mu, var_beta=var, tau2=0.0,
            sigma2=math.nan, qe_df=k - 1, loglik=d["ll_fe"], loglik_marginal=d["ll_fe"], n_par=1,
            k_eff=k, grad_max=0.0, **common,
        )

    engine = _plo_engine(x, n, nagq, random=True)
    mu0 = math.log((np.sum(x) + 0.5) / (np.sum(n - x) + 0.5))
    fit = _fit(engine, np.array([mu0, 0.5]), None, fixed_idx=[0], sd_idx=[1])
    _check_gradient(fit, "binomial-normal model", d["warnings"])
    if fit.boundary:
        d["warnings"].append(_boundary_warning("tau²", "binomial-normal model"))
    return _plo_ml_result(engine, x, n, fit.theta, grad_max=fit.grad_max, **common)


def _plo_prepare(xi: Any, ni: Any, studies: Sequence[Any] | None, method: str) -> dict:
    """Validated counts, exclusions, and the closed-form parts of the PLO analysis."""
    x_all = _counts(xi, "xi")
    n_all = _counts(ni, "ni")
    if x_all.size != n_all.size:
        raise DataError(f"xi has {x_all.size} values but ni has {n_all.size}")
    labels_all = _labels(studies, x_all.size)
    _validate({"xi": x_all, "ni": n_all}, labels_all, {"xi": "ni"})
    keep = n_all > 0
    excluded = [ExcludedStudy(labels_all[i], "no participants (ni = 0)") for i in np.flatnonzero(~keep)]
    x, n = x_all[keep], n_all[keep]
    labels = tuple(l for l, kp in zip(labels_all, keep) if kp)
    k = x.size
    if k == 0:
        raise ModelError("no studies to analyse" + (" (all were excluded)" if excluded else ""))
    if method == "ML" and k < 2:
        raise ModelError(f"the random-effects model needs at least 2 studies; got {k} ({labels[0]})")
    if np.all(x == 0) or np.all(x == n):
        raise ModelError(
            "every study has " + ("no events" if np.all(x == 0) else "only events")
            + ": the summary logit is infinite and the model cannot be estimated"
        )
    warnings: list[AnalysisWarning] = []

    # common-effect and saturated models (closed forms)
    pbar = float(np.sum(x) / np.sum(n))
    ll_fe = float(np.sum(stats.binom.logpmf(x, n, pbar)))
    ll_sat = _binom_sat_loglik(x, n)
    finite = (x > 0) & (x < n)
    logit = np.where(finite, np.log(np.where(finite, x, 1) / np.where(finite, n - x, 1)), np.nan)
    w_sat = np.where(finite, x * (n - x) / n, 0.0)
    qe_wld = _wald_from_independent(logit, w_sat)
    qe_lrt = -2.0 * (ll_fe - ll_sat)

    # typical within-study variance from escalc(PLO, add = 1/2, to = "only0")
    corr = (x == 0) | (x == n)
    vi = 1.0 / (x + 0.5 * corr) + 1.0 / ((n - x) + 0.5 * corr)
    vt = _typical_variance(vi)
    if np.any(corr):
        warnings.append(
            AnalysisWarning(
                "continuity_correction",
                "1/2 added to the cells of studies with 0 or n events, only to compute the "
                "typical within-study variance for I² and H² (the model itself uses the exact "
                "binomial likelihood)",
                tuple(labels[i] for i in np.flatnonzero(corr)),
            )
        )
    return dict(
        x=x, n=n, labels=labels, excluded=excluded, warnings=warnings, pbar=pbar, ll_fe=ll_fe,
        ll_sat=ll_sat, qe_wld=qe_wld, qe_lrt=qe_lrt, vt=vt,
    )


def _plo_at(xi: Any, ni: Any, mu: float, tau2: float, *, nagq: int = DEFAULT_NAGQ, level: float = 0.95) -> GLMMResult:
    """The binomial-normal model's reported quantities at given (mu, tau²), without fitting.

    For checking conventions against another program at that program's own solution
    (e.g. glmer stops its optimiser before the exact maximum).  ``grad_max`` holds the
    largest score at the given point.
    """
    d = _plo_prepare(xi, ni, None, "ML")
    engine = _plo_engine(d["x"], d["n"], _check_nagq(nagq), random=True)
    theta = np.array([float(mu), math.sqrt(float(tau2))])
    G, _ = engine.grad_i(theta, None, [0, 1], False)
    return _plo_ml_result(
        engine, d["x"], d["n"], theta, labels=d["labels"], level=_check_level(level), qe_wld=d["qe_wld"],
        qe_lrt=d["qe_lrt"], vt=d["vt"], ll_sat=d["ll_sat"], grad_max=float(np.max(np.abs(G.sum(axis=0)))),
        warnings=d["warnings"], excluded=d["excluded"],
    )


def _plo_ml_result(engine, x, n, theta, *, labels, level, qe_wld, qe_lrt, vt, ll_sat, grad_max, warnings, excluded) -> GLMMResult:
    """Everything metafor reports for the binomial-normal model, at (mu, tau) = theta.

    var(mu) is the (mu, mu) element of the inverse of minus the Hessian of the
    quadrature log-likelihood over (mu, tau) -- glmer's ``vcov`` (lme4 uses the
    finite-difference Hessian of its deviance function over (theta, beta)).  logLik
    is metafor's: logLik(saturated) - deviance(glmer fit)/2, with lme4's deviance =
    sum of squared deviance residuals at the conditional modes of the random effects.
    """
    theta = np.asarray(theta, dtype=float)
    idx = [0, 1] if theta[1] > 0 else [0]
    H = engine.hessian(theta, None, idx, False)
    var = float(np.linalg.inv(-H)[0, 0])
    eta = engine.conditional_eta(theta)[:, 0]
    ll_ml = ll_sat - 0.5 * _conditional_deviance(x, n, eta)
    return _assemble(
        measure="PLO", model="UM.FS", method="ML", level=level, nagq=engine.nagq, labels=labels,
        beta=float(theta[0]), var_beta=var, tau2=float(theta[1]) ** 2, sigma2=math.nan, qe_wld=qe_wld,
        qe_lrt=qe_lrt, qe_df=len(labels) - 1, vt=vt, loglik=ll_ml, ll_sat=ll_sat,
        loglik_marginal=engine.loglik(theta), n_par=2, k_eff=len(labels), grad_max=grad_max,
        warnings=warnings, excluded=excluded,
    )


# ---------------------------------------------------------------------------------
# Two-group binary data: log odds ratio


def _or_vi(a, b, c, d) -> tuple[np.ndarray, np.ndarray]:
    """escalc(OR, add = 1/2, to = "only0") sampling variances and the corrected studies."""
    corr = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    add = 0.5 * corr
    vi = 1.0 / (a + add) + 1.0 / (b + add) + 1.0 / (c + add) + 1.0 / (d + add)
    return vi, corr


def _log_or_start(a, b, c, d) -> float:
    """Mantel-Haenszel log odds ratio (with 1/2 added if a sum is 0) as a start value."""
    n = a + b + c + d
    num, den = float(np.sum(a * d / n)), float(np.sum(b * c / n))
    if num <= 0 or den <= 0:
        num, den = float(np.sum((a + 0.5) * (d + 0.5) / (n + 2))), float(np.sum((b + 0.5) * (c + 0.5) / (n + 2)))
    return math.log(num / den)


def _cond_mle(fam: _NoncentralHypergeometric) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-study conditional MLE of the log odds ratio, its information and log-likelihood.

    Studies with a_i at an end of its support have an infinite MLE; their maximised
    conditional likelihood is 1 and their information 0 (the limit).
    """
    a = fam.a[:, 0, 0]
    interior = (a > fam.lo) & (a < fam.hi)
    theta = np.zeros(a.size)
    lo = np.full(a.size, -np.inf)
    hi = np.full(a.size, np.inf)
    for _ in range(300):  # Newton on the decreasing score, safeguarded by bisection
        d1, d2 = fam.derivs(theta[:, None, None])
        d1, d2 = d1[:, 0, 0], d2[:, 0, 0]
        lo = np.where(d1 > 0, np.maximum(lo, theta), lo)
        hi = np.where(d1 > 0, hi, np.minimum(hi, theta))
        step = np.where(interior, d1 / np.where(interior, -d2, 1.0), 0.0)
        step = np.clip(step, -3.0, 3.0)
        prop = theta + step
        outside = interior & ((prop <= lo) | (prop >= hi)) & (np.abs(step) > 1e-9)
        if outside.any():
            mid = 0.5 * (np.where(np.isfinite(lo), lo, hi) + np.where(np.isfinite(hi), hi, lo))
            step = np.where(outside, mid - theta, step)
        theta = theta + step
        if np.max(np.abs(step)) < 1e-13:
            break
    else:  # pragma: no cover
        raise ConvergenceError("conditional maximum-likelihood estimates did not converge")
    _, d2 = fam.derivs(theta[:, None, None])
    info = np.where(interior, -d2[:, 0, 0], 0.0)
    ll = np.where(interior, fam.loglik(theta[:, None, None])[:, 0, 0], 0.0)
    theta = np.where(interior, theta, np.where(a <= fam.lo, -np.inf, np.inf))
    return theta, info, ll


def glmm_or(
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    *,
    model: str = "UM.FS",
    method: str = "ML",
    level: float = 0.95,
    nagq: int | None = None,
    studies: Sequence[Any] | None = None,
    drop00: bool = True,
) -> GLMMResult:
    """Logistic mixed models for the odds ratio of two-group binary data (``rma.glmm``).

    ``ai`` events out of ``n1i`` in group 1, ``ci`` out of ``n2i`` in group 2; the
    estimate is the log odds ratio of group 1 versus group 2.  Models (metafor's
    names; Stijnen, Hamza & Özdemir 2010; Jackson, Law, Stijnen, Viechtbauer & White
    2018, Stat Med 37:1059):

    * ``"UM.FS"``: logit p_ij = alpha_i + theta g1_j + u_i g_j, u_i ~ N(0, tau²),
      fixed study intercepts alpha_i, group coding g = +1/2, -1/2 (metafor's
      ``coding = 1/2``); ``nagq`` defaults to 7.
    * ``"UM.RS"``: as UM.FS with random study intercepts alpha_i = gamma + v_i,
      v_i ~ N(0, sigma²) independent of u_i; ``nagq`` defaults to 1 (Laplace) for
      ``method = "ML"``, as metafor must use with glmer for two random effects per
      study, and to 7 for ``method = "EE"`` (one random effect per study).  As in
      metafor, the saturated model of the heterogeneity tests has one log odds ratio
      per study and random intercepts for group 2, so those tests (not the fit)
      depend on which group is group 1.
    * ``"CM.EL"``: conditional on a_i + c_i, a_i follows Fisher's noncentral
      hypergeometric distribution with log odds ratio theta + u_i (exact conditional
      likelihood; van Houwelingen et al. 1993); ``nagq`` defaults to 21.

    ``method = "EE"`` fits the common-effect version (tau² = 0).  With ``drop00`` (the
    default, as metafor) studies without events, or with only events, in both groups
    are excluded and listed.
    """
    model = str(model).strip().upper()
    if model not in OR_MODELS:
        raise ModelError(f"unknown model {model!r}; choose one of {', '.join(OR_MODELS)}")
    method = _canonical_method(method)
    level = _check_level(level)
    if nagq is None:
        # metafor: glmer cannot use nAGQ > 1 with the two random effects of UM.RS,
        # so rma.glmm sets nAGQ = 1 for model = "UM.RS", method = "ML" (and only then)
        nagq = {"UM.FS": DEFAULT_NAGQ, "UM.RS": 1 if method == "ML" else DEFAULT_NAGQ, "CM.EL": CM_EL_NAGQ}[model]
    nagq = _check_nagq(nagq)
    arrays = {name: _counts(v, name) for name, v in (("ai", ai), ("n1i", n1i), ("ci", ci), ("n2i", n2i))}
    sizes = {v.size for v in arrays.values()}
    if len(sizes) != 1:
        raise DataError("ai, n1i, ci and n2i must have the same length: " + ", ".join(f"{k} {v.size}" for k, v in arrays.items()))
    k_all = arrays["ai"].size
    labels_all = _labels(studies, k_all)
    _validate(arrays, labels_all, {"ai": "n1i", "ci": "n2i"})
    a_all, n1_all, c_all, n2_all = arrays["ai"], arrays["n1i"], arrays["ci"], arrays["n2i"]
    b_all, d_all = n1_all - a_all, n2_all - c_all

    excluded: list[ExcludedStudy] = []
    keep = np.ones(k_all, dtype=bool)
    for i in range(k_all):
        if n1_all[i] == 0 or n2_all[i] == 0:
            keep[i] = False
            excluded.append(ExcludedStudy(labels_all[i], "a group without participants"))
        elif drop00 and a_all[i] == 0 and c_all[i] == 0:
            keep[i] = False
            excluded.append(ExcludedStudy(labels_all[i], "no events in either group (drop00)"))
        elif drop00 and b_all[i] == 0 and d_all[i] == 0:
            keep[i] = False
            excluded.append(ExcludedStudy(labels_all[i], "only events in both groups (drop00)"))
    a, b, c, d = a_all[keep], b_all[keep], c_all[keep], d_all[keep]
    n1, n2 = n1_all[keep], n2_all[keep]
    labels = tuple(l for l, kp in zip(labels_all, keep) if kp)
    k = a.size
    if k == 0:
        raise ModelError("no studies to analyse" + (" (all were excluded)" if excluded else ""))
    if method == "ML" and k < 2:
        raise ModelError(f"the random-effects model needs at least 2 studies; got {k}" + (f" ({labels[0]})" if k else ""))
    if model == "CM.EL" and (np.all(a == np.maximum(0, a + c - n2)) or np.all(a == np.minimum(n1, a + c))):
        raise ModelError("every table is at the end of its conditional support: the odds ratio is infinite")

    warnings: list[AnalysisWarning] = []
    vi, corr = _or_vi(a, b, c, d)
    vt = _typical_variance(vi)
    if np.any(corr):
        warnings.append(
            AnalysisWarning(
                "continuity_correction",
                "1/2 added to the cells of studies with a zero cell, only to compute the typical "
                "within-study variance for I² and H² (the model uses the exact likelihood)",
                tuple(labels[i] for i in np.flatnonzero(corr)),
            )
        )
    beta0 = _log_or_start(a, b, c, d)
    common = dict(measure="OR", model=model, level=level, nagq=nagq, labels=labels, qe_df=k - 1, vt=vt)

    if model == "UM.FS":
        return _fit_um_fs(a, c, n1, n2, beta0, method, nagq, warnings, excluded, common)
    if model == "UM.RS":
        return _fit_um_rs(a, c, n1, n2, beta0, method, nagq, warnings, excluded, common)
    return _fit_cm_el(a, c, n1, n2, beta0, method, nagq, warnings, excluded, common)


def _two_group_rows(a, c, n1, n2):
    y = np.stack([a, c], axis=1)
    n = np.stack([n1, n2], axis=1)
    return y, n


def _fit_um_fs(a, c, n1, n2, beta0, method, nagq, warnings, excluded, common) -> GLMMResult:
    k = a.size
    y, n = _two_group_rows(a, c, n1, n2)
    fam = _Binomial(y, n)
    Xg = np.zeros((k, 2, 1))
    Xg[:, 0, 0] = 1.0  # group-1 dummy: the log odds ratio
    Xl = np.ones((k, 2))  # study intercepts
    Z = np.zeros((k, 2, 1))
    Z[:, 0, 0], Z[:, 1, 0] = 0.5, -0.5
    alpha0 = np.log((c + 0.5) / (n2 - c + 0.5))

    ll_sat = _binom_sat_loglik(y, n)
    # Wald-type test: study log odds ratios of the saturated model, independent
    finite = (a > 0) & (c > 0) & (a < n1) & (c < n2)
    safe = lambda v: np.where(finite, v, 1.0)  # noqa: E731
    lor = np.where(finite, np.log(safe(a) * safe(n2 - c) / (safe(n1 - a) * safe(c))), np.nan)
    w = np.where(finite, 1.0 / (1 / safe(a) + 1 / safe(n1 - a) + 1 / safe(c) + 1 / safe(n2 - c)), 0.0)
    qe_wld = _wald_from_independent(lor, w)

    fe_engine = _Engine(fam, Xg, Z[:, :, :0], Xl, 1)
    fe = _fit(fe_engine, np.array([beta0]), alpha0, fixed_idx=[0], sd_idx=[])
    _check_gradient(fe, "UM.FS common-effect model", warnings)
    ll_fe = fe.loglik
    qe_lrt = -2.0 * (ll_fe - ll_sat)

    if method == "EE":
        var = float(_vcov_fixed(fe, [0])[0, 0])
        return _assemble(
            method="EE", beta=float(fe.theta[0]), var_beta=var, tau2=0.0, sigma2=math.nan,
            qe_wld=qe_wld, qe_lrt=qe_lrt, loglik=ll_fe, ll_sat=ll_sat, loglik_marginal=ll_fe,
            n_par=1 + k, k_eff=2 * k, grad_max=fe.grad_max, warnings=warnings, excluded=excluded, **common,
        )
    engine = _Engine(fam, Xg, Z, Xl, nagq)
    fit = _fit(engine, np.array([fe.theta[0], 0.3]), fe.alpha, fixed_idx=[0], sd_idx=[1])
    _check_gradient(fit, "UM.FS model", warnings)
    if fit.boundary:
        warnings.append(_boundary_warning("tau²", "UM.FS"))
    var = float(_vcov_fixed(fit, [0])[0, 0])
    eta = engine.conditional_eta(fit.theta, fit.alpha)
    ll_ml = ll_sat - 0.5 * _conditional_deviance(y, n, eta)
    return _assemble(
        method="ML", beta=float(fit.theta[0]), var_beta=var, tau2=float(fit.theta[1]) ** 2,
        sigma2=math.nan, qe_wld=qe_wld, qe_lrt=qe_lrt, loglik=ll_ml, ll_sat=ll_sat,
        loglik_marginal=fit.loglik, n_par=1 + k + 1, k_eff=2 * k, grad_max=fit.grad_max,
        warnings=warnings, excluded=excluded, **common,
    )


def _fit_um_rs(a, c, n1, n2, beta0, method, nagq, warnings, excluded, common) -> GLMMResult:
    k = a.size
    y, n = _two_group_rows(a, c, n1, n2)
    fam = _Binomial(y, n)
    # theta = [log OR, gamma (mean group-2 logit), sigma, (tau)]
    Xg = np.zeros((k, 2, 2))
    Xg[:, 0, 0] = 1.0
    Xg[:, :, 1] = 1.0
    Z = np.zeros((k, 2, 2))
    Z[:, :, 0] = 1.0
    Z[:, 0, 1], Z[:, 1, 1] = 0.5, -0.5
    gamma0 = float(np.mean(np.log((c + 0.5) / (n2 - c + 0.5))))

    # common-effect model: random intercepts only
    fe_engine = _Engine(fam, Xg, Z[:, :, :1], None, nagq)
    fe = _fit(fe_engine, np.array([beta0, gamma0, 1.0]), None, fixed_idx=[0, 1], sd_idx=[2])
    _check_gradient(fe, "UM.RS common-effect model", warnings)
    ll_fe = fe.loglik

    # saturated model: one log odds ratio per study, random intercepts
    informative = (a > 0) & (a < n1)  # group-1 rows with a finite own parameter
    n_sat = n.copy()
    n_sat[~informative, 0] = 0.0
    y_sat = y.copy()
    y_sat[~informative, 0] = 0.0
    fam_sat = _Binomial(y_sat, n_sat)
    Xg_sat = np.ones((k, 2, 1))  # gamma
    Xl_sat = np.zeros((k, 2))
    Xl_sat[:, 0] = 1.0  # delta_i on group 1
    sat_engine = _Engine(fam_sat, Xg_sat, Z[:, :, :1], Xl_sat, nagq)
    delta0 = np.where(informative, np.log((a + 0.5) / (n1 - a + 0.5)) - np.log((c + 0.5) / (n2 - c + 0.5)), 0.0)
    sat = _fit(sat_engine, np.array([fe.theta[1], float(fe.theta[2])]), delta0, fixed_idx=[0], sd_idx=[1])
    _check_gradient(sat, "UM.RS saturated model", warnings)
    ll_sat = sat.loglik
    qe_lrt = -2.0 * (ll_fe - ll_sat)
    # Wald-type test of equal log odds ratios: contrasts of the delta_i with finite MLE
    # (glmer's vcov of the fixed effects: inverse Hessian over (sigma, gamma, delta))
    V = _inverse_active(sat.hessian)
    pos = [len(sat.free) + i for i in np.flatnonzero(informative)]
    if len(pos) >= 2:
        dlt = sat.alpha[informative]
        Vd = V[np.ix_(pos, pos)]
        D = np.hstack([np.eye(len(pos) - 1), -np.ones((len(pos) - 1, 1))])
        cd = D @ dlt
        qe_wld = float(cd @ np.linalg.solve(D @ Vd @ D.T, cd))
    else:
        qe_wld = 0.0

    if method == "EE":
        var = float(_vcov_fixed(fe, [0])[0, 0])
        return _assemble(
            method="EE", beta=float(fe.theta[0]), var_beta=var, tau2=0.0,
            sigma2=float(fe.theta[2]) ** 2, qe_wld=qe_wld, qe_lrt=qe_lrt, loglik=ll_fe, ll_sat=ll_sat,
            loglik_marginal=ll_fe, n_par=1 + 1 + 1, k_eff=2 * k, grad_max=fe.grad_max,
            warnings=warnings, excluded=excluded, **common,
        )
    engine = _Engine(fam, Xg, Z, None, nagq)
    fit = _fit(engine, np.array([fe.theta[0], fe.theta[1], fe.theta[2], 0.3]), None, fixed_idx=[0, 1], sd_idx=[2, 3])
    _check_gradient(fit, "UM.RS model", warnings)
    if 3 in fit.boundary:
        warnings.append(_boundary_warning("tau²", "UM.RS"))
    if 2 in fit.boundary:
        warnings.append(
            AnalysisWarning("sigma2_boundary", "sigma² (variance of the study intercepts) estimated at the boundary (0) by ML (UM.RS)")
        )
    var = float(_vcov_fixed(fit, [0])[0, 0])
    return _assemble(
        method="ML", beta=float(fit.theta[0]), var_beta=var, tau2=float(fit.theta[3]) ** 2,
        sigma2=float(fit.theta[2]) ** 2, qe_wld=qe_wld, qe_lrt=qe_lrt, loglik=fit.loglik,
        ll_sat=ll_sat, loglik_marginal=fit.loglik, n_par=1 + 1 + 2, k_eff=2 * k,
        grad_max=fit.grad_max, warnings=warnings, excluded=excluded, **common,
    )


def _fit_cm_el(a, c, n1, n2, beta0, method, nagq, warnings, excluded, common) -> GLMMResult:
    k = a.size
    fam = _NoncentralHypergeometric(a, c, n1, n2)
    theta_i, info_i, ll_i = _cond_mle(fam)
    ll_sat = float(np.sum(ll_i))
    qe_wld = _wald_from_independent(theta_i, info_i)

    Xg = np.ones((k, 1, 1))
    fe_engine = _Engine(fam, Xg, np.zeros((k, 1, 0)), None, 1)
    fe = _fit(fe_engine, np.array([beta0]), None, fixed_idx=[0], sd_idx=[])
    _check_gradient(fe, "CM.EL common-effect model", warnings)
    ll_fe = fe.loglik
    qe_lrt = -2.0 * (ll_fe - ll_sat)
    if method == "EE":
        var = float(_vcov_fixed(fe, [0])[0, 0])
        return _assemble(
            method="EE", beta=float(fe.theta[0]), var_beta=var, tau2=0.0, sigma2=math.nan,
            qe_wld=qe_wld, qe_lrt=qe_lrt, loglik=ll_fe, ll_sat=ll_sat, loglik_marginal=ll_fe,
            n_par=1, k_eff=k, grad_max=fe.grad_max, warnings=warnings, excluded=excluded, **common,
        )
    engine = _Engine(fam, Xg, np.ones((k, 1, 1)), None, nagq)
    fit = _fit(engine, np.array([fe.theta[0], 0.3]), None, fixed_idx=[0], sd_idx=[1])
    _check_gradient(fit, "CM.EL model", warnings)
    if fit.boundary:
        warnings.append(_boundary_warning("tau²", "CM.EL"))
    var = float(_vcov_fixed(fit, [0])[0, 0])
    return _assemble(
        method="ML", beta=float(fit.theta[0]), var_beta=var, tau2=float(fit.theta[1]) ** 2,
        sigma2=math.nan, qe_wld=qe_wld, qe_lrt=qe_lrt, loglik=fit.loglik, ll_sat=ll_sat,
        loglik_marginal=fit.loglik, n_par=2, k_eff=k, grad_max=fit.grad_max, warnings=warnings,
        excluded=excluded, **common,
    )
