"""Generalised least squares for network meta-analysis, vectorised over studies.

The consistency model for the baseline contrasts y_s of study s (each arm against the
study's first arm) is y_s = X_s d + e_s with Var(e_s) = V_s + tau² S_s, where d holds
the basic parameters (each treatment against the network reference), V_s the
within-study covariance (from pairwise variances, see data.py) and S_s has 1 on the
diagonal and 1/2 off it: one heterogeneity variance shared by every comparison, the
"consistency" assumption (Higgins & Whitehead 1996, Stat Med 15:2733; Lu & Ades 2004,
Stat Med 23:3105).  With the contrasts of a multi-arm study projected onto consistent
ones by inverse-variance weighted least squares over all its pairs (and the residual
of that projection kept in Q), this is exactly netmeta's graph-theoretical model
(Rücker 2012, Res Synth Methods 3:312) and metafor's ``rma.mv`` with rho = 1/2.

Studies are grouped by number of arms so that every operation is a batched numpy
call: the fit of thousands of studies stays well under a second.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import linalg

from .data import NetworkData, treatment_sort_key


def _cs(a: int) -> np.ndarray:
    """S for a study with a arms: 1 on the diagonal, 1/2 off it ((a-1) x (a-1))."""
    m = a - 1
    return 0.5 * (np.ones((m, m)) + np.eye(m))


@dataclass
class _Group:
    """Studies with the same number of arms, stacked."""

    arms: int
    index: np.ndarray  # positions of the studies in data.blocks
    Y: np.ndarray  # (N, a, a) pairwise effects
    R: np.ndarray  # (N, a, a) pairwise variances
    X: np.ndarray  # (N, a-1, p) design of the baseline contrasts
    consistent: np.ndarray  # (N,) bool: contrasts add up exactly

    @property
    def m(self) -> int:
        return self.arms - 1


@dataclass
class Reduced:
    """Baseline contrasts, their covariance and the projection residual at one tau²."""

    y: list  # per group (N, m)
    V: list  # per group (N, m, m), including tau² S
    c: float  # sum of within-study projection residuals


class Design:
    """The network's studies as stacked groups, for one choice of reference."""

    def __init__(self, data: NetworkData, reference: str, order: tuple[str, ...] | None = None):
        # A canonical order (reference first, then R's collation order, unless the user
        # gives one) so that the result never depends on the order the data arrived in.
        if order is None:
            order = tuple(sorted((t for t in data.treatments if t != reference), key=treatment_sort_key))
        order = (reference,) + tuple(t for t in order if t != reference)
        data = data.reordered(order)
        self.data = data
        self.treatments = order
        self.p = len(order) - 1
        col = {t: i - 1 for i, t in enumerate(order)}
        by_arms: dict[int, list[int]] = {}
        for i, b in enumerate(data.blocks):
            by_arms.setdefault(b.n_arms, []).append(i)
        self.groups: list[_Group] = []
        for a, idx in sorted(by_arms.items()):
            blocks = [data.blocks[i] for i in idx]
            Y = np.stack([b.y for b in blocks])
            R = np.stack([b.R for b in blocks])
            X = np.zeros((len(blocks), a - 1, self.p))
            for n, b in enumerate(blocks):
                base = col[b.arms[0]]
                for r, t in enumerate(b.arms[1:]):
                    if col[t] >= 0:
                        X[n, r, col[t]] += 1.0
                    if base >= 0:
                        X[n, r, base] -= 1.0
            base = Y[:, 1:, 0]
            implied = base[:, :, None] - base[:, None, :]
            gap = np.max(np.abs(Y[:, 1:, 1:] - implied), axis=(1, 2)) if a > 2 else np.zeros(len(blocks))
            scale = np.maximum(1.0, np.max(np.abs(Y), axis=(1, 2)))
            self.groups.append(_Group(a, np.array(idx), Y, R, X, gap <= 1e-10 * scale))
        self.k = len(data.blocks)
        self.n_obs = sum(g.m * len(g.index) for g in self.groups)  # baseline contrasts
        self.df = self.n_obs - self.p

    # -- reduction of every study to baseline contrasts ------------------------
    def raw(self) -> Reduced:
        """Each study's contrasts against its first arm as given (metafor's reduction of
        contrast-level input), without projecting multi-arm studies onto consistent
        contrasts; only ``y`` is meaningful (V is recomputed by fit())."""
        return Reduced([g.Y[:, 1:, 0].copy() for g in self.groups], [], 0.0)

    def reduce(self, tau2: float) -> Reduced:
        ys, Vs, c = [], [], 0.0
        for g in self.groups:
            R = g.R + tau2 * (1.0 - np.eye(g.arms))[None]
            v0 = R[:, 1:, 0]
            V = 0.5 * (v0[:, :, None] + v0[:, None, :] - R[:, 1:, 1:])
            d = np.arange(g.m)
            V[:, d, d] = v0
            y = g.Y[:, 1:, 0].copy()
            bad = np.flatnonzero(~g.consistent)
            for n in bad:
                y[n], resid = _project(g.Y[n], R[n])
                c += resid
            ys.append(y)
            Vs.append(V)
        return Reduced(ys, Vs, c)


def with_design(design: Design, X: list) -> Design:
    """The same studies with other design rows for their baseline contrasts.

    ``X`` holds one array per group of ``design.groups`` (same order), of shape
    (N, a-1, q): row r of study n is the design row of that study's contrast of arm
    r+1 against its first arm, over q parameters of the caller's choosing (the rows of
    ``design.groups[i].X`` are the network's basic parameters; ``g.index`` gives the
    study positions in ``design.data.blocks``, to look up study-level covariates).
    Covariances, the reduction of multi-arm studies, ``fit``, ``loglik`` and the tau²
    estimators work unchanged on the result; ``p`` and ``df`` become those of the new
    design (the caller must make it of full column rank).  ``treatments`` keep their
    meaning: the network's treatments, reference first.  Used by network
    meta-regression (treatment-by-covariate interaction columns).
    """
    if len(X) != len(design.groups):
        raise ValueError(f"{len(X)} design blocks for {len(design.groups)} groups of studies")
    q = None
    groups = []
    for g, x in zip(design.groups, X):
        x = np.asarray(x, dtype=float)
        if x.ndim != 3 or x.shape[:2] != g.X.shape[:2] or (q is not None and x.shape[2] != q):
            raise ValueError(f"design block of shape {x.shape} does not fit {g.X.shape[:2]} x q")
        q = x.shape[2]
        groups.append(dataclasses.replace(g, X=x))
    new = copy.copy(design)
    new.groups = groups
    new.p = int(q if q is not None else 0)
    new.df = design.n_obs - new.p
    return new


def adjusted_pair_weights(R: np.ndarray) -> np.ndarray:
    """netmeta's multi-arm adjusted weights of the pairs of one study.

    With R the matrix of pairwise variances (plus tau² off the diagonal for random
    effects), the pair weights that make independent pairwise contrasts equivalent to
    the study's correlated contrasts are minus the off-diagonal entries of the
    Laplacian L = (-1/2 C R C)^+, C the centring matrix (Rücker 2012, Res Synth Methods
    3:312); 1/sqrt(w_ij) is netmeta's seTE.adj.  Returns the a x a matrix of weights
    (zero diagonal); for two arms it is 1/R_12.
    """
    a = R.shape[0]
    if a == 2:
        W = np.zeros((2, 2))
        W[0, 1] = W[1, 0] = 1.0 / R[0, 1]
        return W
    C = np.eye(a) - 1.0 / a
    L = np.linalg.pinv(-0.5 * C @ R @ C)
    W = -L
    np.fill_diagonal(W, 0.0)
    return W


def _project(Y: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverse-variance projection of a multi-arm study's pairwise contrasts onto
    consistent ones with the adjusted pair weights w_ij (adjusted_pair_weights);
    returns the baseline contrasts of the minimiser and the minimum of
    sum_{i<j} w_ij (y_ij - (delta_i - delta_j))²."""
    a = Y.shape[0]
    C = np.eye(a) - 1.0 / a
    Lp = -0.5 * C @ R @ C
    W = adjusted_pair_weights(R)
    b = np.sum(W * Y, axis=1)
    delta = Lp @ b
    const = 0.5 * float(np.sum(W * Y * Y))
    resid = max(0.0, const - float(b @ delta))
    return delta[1:] - delta[0], resid


@dataclass
class GLSFit:
    """The weighted least-squares fit of the baseline contrasts at one tau²."""

    design: Design
    tau2: float
    red: Reduced
    W: list  # per group (N, m, m) inverse covariance
    M: np.ndarray  # X' W X
    beta: np.ndarray
    q: float  # generalised Q including projection residuals
    logdet_sigma: float

    @cached_property
    def vcov(self) -> np.ndarray:
        # numpy, not scipy: scipy.linalg.inv of these small matrices was up to 100x slower
        # with a multi-threaded BLAS (measured in the network leave-one-out)
        return np.linalg.inv(self.M)

    def residuals(self) -> list:
        return [y - np.einsum("nip,p->ni", g.X, self.beta) for g, y in zip(self.design.groups, self.red.y)]

    # traces needed by the estimators (all computed without forming n x n matrices)
    @cached_property
    def _wsw(self):
        """Per group W S, and X' W S W X."""
        WS, XWSWX = [], np.zeros_like(self.M)
        for g, W in zip(self.design.groups, self.W):
            ws = W @ _cs(g.arms)
            WS.append(ws)
            A = np.einsum("nij,njp->nip", ws @ W, g.X)
            XWSWX += np.einsum("nip,niq->pq", g.X, A)
        return WS, XWSWX

    @property
    def trace_WS(self) -> float:
        WS, _ = self._wsw
        return float(sum(np.einsum("nii->", ws) for ws in WS))

    @property
    def trace_PS(self) -> float:
        _, XWSWX = self._wsw
        return self.trace_WS - float(np.sum(self.vcov * XWSWX))

    @property
    def trace_WSWS(self) -> float:
        WS, _ = self._wsw
        return float(sum(np.einsum("nij,nji->", ws, ws) for ws in WS))

    @property
    def trace_PSPS(self) -> float:
        WS, XWSWX = self._wsw
        # X' W S W S W X
        XWSWSWX = np.zeros_like(self.M)
        for g, W, ws in zip(self.design.groups, self.W, WS):
            A = np.einsum("nij,njp->nip", ws @ ws @ W, g.X)
            XWSWSWX += np.einsum("nip,niq->pq", g.X, A)
        Mi = self.vcov
        return self.trace_WSWS - 2.0 * float(np.sum(Mi * XWSWSWX)) + float(np.sum((Mi @ XWSWX) * (Mi @ XWSWX).T))

    @property
    def rWSWr(self) -> float:
        """r' W S W r, the data part of the score for tau²."""
        total = 0.0
        for g, r, W in zip(self.design.groups, self.residuals(), self.W):
            Wr = np.einsum("nij,nj->ni", W, r)
            total += float(np.einsum("ni,ij,nj->", Wr, _cs(g.arms), Wr))
        return total


def fit(design: Design, tau2: float, y_fixed: Reduced | None = None) -> GLSFit:
    """GLS of the baseline contrasts with covariance V + tau² S.

    ``y_fixed`` keeps the (projected) contrasts of another reduction, so that only the
    covariance changes with tau² -- what a likelihood over tau² needs when some
    multi-arm study's contrasts are not exactly consistent.
    """
    red = design.reduce(tau2)
    if y_fixed is not None:
        red = Reduced(y_fixed.y, red.V, y_fixed.c)
    p = design.p
    M = np.zeros((p, p))
    u = np.zeros(p)
    Ws = []
    logdet = 0.0
    for g, y, V in zip(design.groups, red.y, red.V):
        if g.m == 1:
            W = 1.0 / V
            logdet += float(np.sum(np.log(V)))
        else:
            ch = np.linalg.cholesky(V)
            logdet += float(2.0 * np.sum(np.log(np.diagonal(ch, axis1=1, axis2=2))))
            W = np.linalg.inv(V)
            W = 0.5 * (W + np.transpose(W, (0, 2, 1)))
        Ws.append(W)
        WX = np.einsum("nij,njp->nip", W, g.X)
        M += np.einsum("nip,niq->pq", g.X, WX)
        u += np.einsum("nip,ni->p", WX, y)
    beta = linalg.solve(M, u, assume_a="pos", check_finite=False)
    q = red.c
    for g, y, W in zip(design.groups, red.y, Ws):
        r = y - np.einsum("nip,p->ni", g.X, beta)
        q += float(np.einsum("ni,nij,nj->", r, W, r))
    return GLSFit(design, tau2, red, Ws, M, beta, q, logdet)


def loglik(f: GLSFit, reml: bool) -> float:
    """(Restricted) log-likelihood of the consistency model at f.tau2, with metafor's
    constants (rma.mv): the REML version keeps + 1/2 log|X'X|."""
    n, p = f.design.n_obs, f.design.p
    quad = f.q - f.red.c
    ll = -0.5 * (f.logdet_sigma + quad)
    if reml:
        XX = np.zeros((p, p))
        for g in f.design.groups:
            XX += np.einsum("nip,niq->pq", g.X, g.X)
        _, ld_xx = np.linalg.slogdet(XX)
        _, ld_m = np.linalg.slogdet(f.M)
        return float(ll - 0.5 * (n - p) * math.log(2 * math.pi) - 0.5 * ld_m + 0.5 * ld_xx)
    return float(ll - 0.5 * n * math.log(2 * math.pi))
