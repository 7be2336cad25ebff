"""Weighted least squares at a given tau², the building block of every pairwise model.

For the normal-normal model y = X beta + u + e with Var(u_i) = tau², Var(e_i) = v_i,
the generalised least-squares estimate at a given tau² is

    beta(tau²) = (X' W X)^-1 X' W y,   W = diag(1 / (v_i + tau²)),

and the "residual-maker" matrix P = W - W X (X' W X)^-1 X' W gives the generalised
Q statistic Q(tau²) = y' P y = sum_i w_i (y_i - x_i' beta)^2 (Raudenbush 2009, in
Cooper, Hedges & Valentine, The Handbook of Research Synthesis, 2nd ed., ch. 16;
Viechtbauer 2005, J Educ Behav Stat 30:261).

The computation goes through a QR factorisation of W^{1/2} X rather than inverting
X' W X, because moderators such as a publication year make X' W X ill-conditioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.linalg import solve_triangular


@dataclass(frozen=True)
class GLSFit:
    """Quantities of the weighted least-squares fit at one value of tau²."""

    y: np.ndarray
    X: np.ndarray
    w: np.ndarray  # weights used for beta
    beta: np.ndarray
    vb: np.ndarray  # (X' W X)^-1
    resid: np.ndarray  # y - X beta
    q: float  # sum w r^2 = y' P y
    _Qmat: np.ndarray  # orthonormal basis of W^{1/2} X
    _logdet_xwx: float

    @property
    def k(self) -> int:
        return self.y.shape[0]

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @cached_property
    def hat(self) -> np.ndarray:
        """Diagonal of X (X'WX)^-1 X' W (leverages)."""
        return np.sum(self._Qmat**2, axis=1)

    @cached_property
    def P(self) -> np.ndarray:
        sw = np.sqrt(self.w)
        M = -self._Qmat @ self._Qmat.T
        M[np.diag_indices_from(M)] += 1.0
        return sw[:, None] * M * sw[None, :]

    @property
    def trace_P(self) -> float:
        return float(np.sum(self.w * (1.0 - self.hat)))

    @property
    def trace_PP(self) -> float:
        return trace_mamb(self._Qmat, self.w, self.w)

    def trace_PAPB(self, a: np.ndarray, b: np.ndarray) -> float:
        """tr(P A P B) for diagonal A, B (given as vectors), without forming P.

        With P = D M D, D = W^{1/2} and M = I - QQ', tr(PAPB) = tr(M (DAD) M (DBD)).
        """
        return trace_mamb(self._Qmat, self.w * a, self.w * b)

    @property
    def Py(self) -> np.ndarray:
        """P y = W (y - X beta)."""
        return self.w * self.resid

    @property
    def yPPy(self) -> float:
        r = self.Py
        return float(r @ r)

    @property
    def logdet_xwx(self) -> float:
        return self._logdet_xwx


def gls(y: np.ndarray, v_total: np.ndarray, X: np.ndarray) -> GLSFit:
    """Weighted least squares with weights 1 / v_total."""
    w = 1.0 / v_total
    return wls(y, w, X)


def wls(y: np.ndarray, w: np.ndarray, X: np.ndarray) -> GLSFit:
    """Weighted least squares with arbitrary positive weights ``w``."""
    sw = np.sqrt(w)
    Xs = X * sw[:, None]
    Qm, R = np.linalg.qr(Xs, mode="reduced")
    ys = y * sw
    beta = solve_triangular(R, Qm.T @ ys)
    Rinv = solve_triangular(R, np.eye(R.shape[0]))
    vb = Rinv @ Rinv.T
    resid = y - X @ beta
    q = float(np.sum(w * resid * resid))
    logdet = float(2.0 * np.sum(np.log(np.abs(np.diag(R)))))
    return GLSFit(y=y, X=X, w=w, beta=beta, vb=vb, resid=resid, q=q, _Qmat=Qm, _logdet_xwx=logdet)


def q_statistic(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Generalised Q(tau²) = y' P(tau²) y."""
    return gls(y, v + tau2, X).q


def trace_mamb(Q: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """tr(M A M B) for M = I - Q Q' (Q with orthonormal columns) and diagonal A, B.

    Expanding, tr(MAMB) = sum(a b) - 2 sum(h a b) + tr((Q'AQ)(Q'BQ)) with h the row
    sums of Q², which costs O(k p²) instead of the O(k²) of forming M.
    """
    h = np.sum(Q * Q, axis=1)
    qa = Q.T @ (a[:, None] * Q)
    qb = Q.T @ (b[:, None] * Q)
    return float(np.sum(a * b) - 2.0 * np.sum(h * a * b) + np.sum(qa * qb.T))


def ols_basis(X: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of X (for the OLS residual maker)."""
    Qm, _ = np.linalg.qr(X, mode="reduced")
    return Qm


def ols_projection(X: np.ndarray) -> np.ndarray:
    """I - X (X'X)^-1 X', the ordinary least-squares residual maker."""
    Qm, _ = np.linalg.qr(X, mode="reduced")
    M = -Qm @ Qm.T
    M[np.diag_indices_from(M)] += 1.0
    return M


def full_rank(X: np.ndarray) -> bool:
    """True if the design matrix has full column rank."""
    if X.shape[0] < X.shape[1]:
        return False
    s = np.linalg.svd(X, compute_uv=False)
    return bool(s.size and s[-1] > s[0] * X.shape[0] * np.finfo(float).eps * 10)
