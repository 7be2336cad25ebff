"""Ranking treatments in a network meta-analysis: P-scores, rank probabilities, SUCRA.

- :func:`p_scores` / :func:`p_scores_from_league`: the frequentist P-score (Rücker &
  Schwarzer 2015, BMC Med Res Methodol 15:58).  For treatments i and j with network
  estimates θ_i, θ_j, the probability that i is better than j is taken as
  Φ((θ_i − θ_j)/se_ij) when larger values are better and Φ((θ_j − θ_i)/se_ij) when
  smaller values are better, with se_ij² = Var(θ_i − θ_j) = c_ii + c_jj − 2 c_ij.  The
  P-score of i is the mean of these probabilities over the T − 1 competitors j ≠ i:
  the mean certainty that i beats another treatment, on 0 (worst) to 1 (best).  This is
  netmeta's ``netrank`` (whose ``small.values = "undesirable"`` means larger is better)
  and the ``pscores`` of metafor's documentation (the matrix P_row_larger_than_col
  holds Φ((θ_i − θ_j)/se_ij) whatever the direction).
- :func:`rank_probabilities`: the Bayesian-style summary by resampling (Salanti, Ades &
  Ioannidis 2011, J Clin Epidemiol 64:163): draws from the joint normal distribution of
  the estimates, the probability of each rank, SUCRA (the surface under the cumulative
  ranking curve), and the mean and median rank.  Rücker & Schwarzer (2015) prove that the
  P-score is the SUCRA of this distribution, so the simulated SUCRA converges to the
  P-score as the number of draws grows.

Direction matters: a ranking that ignores "smaller is better" silently inverts.  Every
function here therefore takes ``larger_better`` as a required keyword, records it on
the result and states it in the summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr

from .._result import ResultMixin, fmt, frozen_array
from ..errors import DataError, ModelError

__all__ = [
    "PScores",
    "RankProbabilities",
    "p_scores",
    "p_scores_from_league",
    "rank_probabilities",
]


def _direction_text(larger_better: bool) -> str:
    return "larger values are better" if larger_better else "smaller values are better"


def _check_direction(larger_better) -> bool:
    if not isinstance(larger_better, (bool, np.bool_)):
        raise ModelError(
            "larger_better must be True or False: say whether larger values of the outcome "
            f"are better (got {larger_better!r}); rankings without a direction silently invert"
        )
    return bool(larger_better)


def _check_treatments(treatments: Sequence[str], n: int, what: str) -> tuple[str, ...]:
    trts = tuple(str(t) for t in treatments)
    if len(trts) != n:
        raise DataError(f"{what}: {len(trts)} treatment names for {n} treatments")
    seen: set[str] = set()
    dup = [t for t in trts if t in seen or seen.add(t)]
    if dup:
        raise DataError(f"{what}: duplicated treatment names {sorted(set(dup))}")
    if n < 2:
        raise ModelError(f"{what}: ranking needs at least two treatments; got {n}")
    return trts


def _estimates_and_cov(estimates, cov, treatments, what: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    est = np.asarray(estimates, dtype=float).reshape(-1)
    n = est.shape[0]
    trts = _check_treatments(treatments, n, what)
    c = np.asarray(cov, dtype=float)
    if c.shape != (n, n):
        raise DataError(f"{what}: the covariance matrix is {c.shape}, expected ({n}, {n})")
    if not np.all(np.isfinite(est)):
        bad = [trts[i] for i in np.flatnonzero(~np.isfinite(est))]
        raise DataError(f"{what}: estimates missing or not finite for {bad}")
    if not np.all(np.isfinite(c)):
        raise DataError(f"{what}: the covariance matrix has missing or infinite entries")
    scale = max(float(np.max(np.abs(c))), 1e-300)
    if np.max(np.abs(c - c.T)) > 1e-10 * scale:
        raise DataError(f"{what}: the covariance matrix is not symmetric")
    return est, 0.5 * (c + c.T), trts


def _difference_se(c: np.ndarray, trts: tuple[str, ...], what: str) -> np.ndarray:
    """se_ij = sqrt(c_ii + c_jj - 2 c_ij), checked to be positive off the diagonal."""
    d = np.diag(c)
    var = d[:, None] + d[None, :] - 2.0 * c
    n = len(trts)
    off = ~np.eye(n, dtype=bool)
    scale = max(float(np.max(np.abs(d))), 1e-300)
    bad = off & (var <= 1e-14 * scale)
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ModelError(
            f"{what}: Var({trts[i]} - {trts[j]}) = {var[i, j]:.3g} is not positive; the "
            "covariance matrix must be that of estimates against a common reference "
            "(positive semidefinite, every difference estimated with error)"
        )
    se = np.sqrt(np.where(off, var, 0.0))
    se[~off] = np.nan
    return se


# ---------------------------------------------------------------------------------
# P-scores


@dataclass(frozen=True, eq=False)
class PScores(ResultMixin):
    """P-scores of the treatments of a network (Rücker & Schwarzer 2015).

    ``p_score[i]`` is the mean over j ≠ i of ``p_better[i, j]``, the probability that
    treatment i (row) is better than treatment j (column) in the direction recorded in
    ``larger_better``.  ``p_row_larger_than_col[i, j]`` is Φ((θ_i − θ_j)/se_ij)
    regardless of direction (metafor's matrix of that name); diagonals are NaN.
    ``rank`` is 1 for the treatment with the largest P-score (ties share the smallest
    rank).
    """

    treatments: tuple[str, ...]
    p_score: np.ndarray
    p_better: np.ndarray
    p_row_larger_than_col: np.ndarray
    larger_better: bool

    @property
    def direction(self) -> str:
        return _direction_text(self.larger_better)

    @property
    def rank(self) -> np.ndarray:
        p = np.asarray(self.p_score)
        return np.array([1 + int(np.sum(p > v)) for v in p], dtype=int)

    def as_dict(self) -> dict[str, float]:
        """Treatment -> P-score."""
        return {t: float(v) for t, v in zip(self.treatments, self.p_score)}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"p_score": np.asarray(self.p_score), "rank": self.rank},
            index=pd.Index(self.treatments, name="treatment"),
        )

    def summary(self) -> str:
        order = sorted(range(len(self.treatments)), key=lambda i: (-self.p_score[i], i))
        width = max(len(t) for t in self.treatments)
        lines = [
            "P-scores (Rücker & Schwarzer 2015)",
            f"Direction: {self.direction}; a P-score is the mean certainty that a treatment",
            "is better than another (1 = best, 0 = worst).",
            "",
            f"{'rank':>4}  {'treatment':<{width}}  P-score",
        ]
        ranks = self.rank
        for i in order:
            lines.append(f"{ranks[i]:>4}  {self.treatments[i]:<{width}}  {fmt(self.p_score[i])}")
        return "\n".join(lines)


def _pscores_core(diff: np.ndarray, se: np.ndarray, trts: tuple[str, ...], larger_better: bool) -> PScores:
    n = len(trts)
    off = ~np.eye(n, dtype=bool)
    z = np.full((n, n), np.nan)
    z[off] = diff[off] / se[off]
    p_larger = np.full((n, n), np.nan)
    p_larger[off] = ndtr(z[off])
    p_better = np.full((n, n), np.nan)
    # Φ(-z) evaluated directly (not 1 - Φ(z)) keeps full relative precision in the tails
    p_better[off] = ndtr(z[off] if larger_better else -z[off])
    score = np.array([np.mean(p_better[i, off[i]]) for i in range(n)])
    return PScores(
        treatments=trts,
        p_score=frozen_array(score),
        p_better=frozen_array(p_better),
        p_row_larger_than_col=frozen_array(p_larger),
        larger_better=larger_better,
    )


def p_scores(estimates, cov, treatments: Sequence[str], *, larger_better: bool) -> PScores:
    """P-scores from network estimates against a common reference and their covariance.

    ``estimates[i]`` is treatment i against any common reference (the reference's own
    entry 0) and ``cov`` their T x T covariance (the reference's row and column 0), so
    that Var(θ_i − θ_j) = c_ii + c_jj − 2 c_ij.  With Φ the standard normal
    distribution function, P(i better than j) = Φ(±(θ_i − θ_j)/se_ij) (+ when larger
    values are better) and the P-score of i is its mean over the other treatments
    (Rücker & Schwarzer 2015, BMC Med Res Methodol 15:58, eq. 3-5).
    """
    direction = _check_direction(larger_better)
    est, c, trts = _estimates_and_cov(estimates, cov, treatments, "p_scores")
    se = _difference_se(c, trts, "p_scores")
    diff = est[:, None] - est[None, :]
    return _pscores_core(diff, se, trts, direction)


def p_scores_from_league(est, se, treatments: Sequence[str], larger_better: bool) -> PScores:
    """P-scores from league matrices: ``est[i][j]`` = θ_i − θ_j (row versus column).

    ``se[i][j]`` is the standard error of that difference.  Diagonal entries are ignored
    (they may be 0, NaN or None).  The matrices must be consistent with the row versus
    column orientation: ``est`` antisymmetric and ``se`` symmetric (a transposed league
    table is antisymmetric too, so check the orientation of your source: netmeta's
    ``TE.common[i, j]`` and metafor's ``predict`` contrasts i − j both use it).
    """
    direction = _check_direction(larger_better)
    e = np.array(est, dtype=float)  # None -> nan
    s = np.array(se, dtype=float)
    if e.ndim != 2 or e.shape[0] != e.shape[1]:
        raise DataError(f"p_scores_from_league: est must be a square matrix; got shape {e.shape}")
    n = e.shape[0]
    if s.shape != (n, n):
        raise DataError(f"p_scores_from_league: se has shape {s.shape}, expected ({n}, {n})")
    trts = _check_treatments(treatments, n, "p_scores_from_league")
    off = ~np.eye(n, dtype=bool)
    bad = off & ~(np.isfinite(e) & np.isfinite(s))
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ModelError(
            f"p_scores_from_league: no estimate for {trts[i]} versus {trts[j]} (is the network "
            "connected?); P-scores need every pair of treatments"
        )
    if np.any(s[off] <= 0):
        i, j = np.argwhere(off & (s <= 0))[0]
        raise DataError(f"p_scores_from_league: standard error of {trts[i]} versus {trts[j]} is not positive")
    scale = max(float(np.max(np.abs(e[off]))), 1.0)
    if np.max(np.abs(e[off] + e.T[off])) > 1e-8 * scale:
        i, j = np.argwhere(off & (np.abs(e + e.T) > 1e-8 * scale))[0]
        raise DataError(
            f"p_scores_from_league: est is not antisymmetric ({trts[i]} vs {trts[j]} = {float(e[i, j])!r}, "
            f"{trts[j]} vs {trts[i]} = {float(e[j, i])!r}); est[i][j] must be treatment i minus treatment j"
        )
    if np.max(np.abs(s[off] - s.T[off])) > 1e-8 * float(np.max(s[off])):
        raise DataError("p_scores_from_league: se is not symmetric")
    return _pscores_core(e, s, trts, direction)


# ---------------------------------------------------------------------------------
# rank probabilities and SUCRA by resampling


@dataclass(frozen=True, eq=False)
class RankProbabilities(ResultMixin):
    """Rank probabilities, SUCRA and mean/median ranks from resampling.

    ``probabilities[i, r]`` is the probability that treatment i has rank r + 1 (rank 1 =
    best in the recorded direction).  Draws in which treatments tie (equal within
    rounding) share the tied ranks equally, so every row and every column sums to 1.
    ``sucra[i]`` = Σ_{r<T} P(rank_i ≤ r)/(T − 1) = (T − mean rank)/(T − 1) (Salanti et al.
    2011); ``median_rank`` is the smallest r with P(rank ≤ r) ≥ 1/2.  ``n_sim`` draws from
    ``numpy.random.default_rng(seed)``: the same seed gives the same result.
    """

    treatments: tuple[str, ...]
    probabilities: np.ndarray
    sucra: np.ndarray
    mean_rank: np.ndarray
    median_rank: np.ndarray
    larger_better: bool
    n_sim: int
    seed: int
    n_ties: int

    @property
    def direction(self) -> str:
        return _direction_text(self.larger_better)

    @property
    def cumulative(self) -> np.ndarray:
        """P(rank ≤ r) for r = 1..T (the cumulative ranking curves)."""
        return np.cumsum(np.asarray(self.probabilities), axis=1)

    def to_frame(self) -> pd.DataFrame:
        n = len(self.treatments)
        df = pd.DataFrame(
            np.asarray(self.probabilities),
            index=pd.Index(self.treatments, name="treatment"),
            columns=[f"rank_{r}" for r in range(1, n + 1)],
        )
        df["sucra"] = np.asarray(self.sucra)
        df["mean_rank"] = np.asarray(self.mean_rank)
        df["median_rank"] = np.asarray(self.median_rank)
        return df

    def summary(self) -> str:
        order = sorted(range(len(self.treatments)), key=lambda i: (-self.sucra[i], i))
        width = max(len(t) for t in self.treatments)
        lines = [
            "Rank probabilities and SUCRA (Salanti, Ades & Ioannidis 2011)",
            f"Direction: {self.direction}; rank 1 = best.",
            f"{self.n_sim} draws from the joint normal distribution of the estimates, seed {self.seed}.",
            "",
            f"{'treatment':<{width}}  {'SUCRA':>7}  {'P(best)':>7}  {'mean rank':>9}  {'median':>6}",
        ]
        for i in order:
            lines.append(
                f"{self.treatments[i]:<{width}}  {fmt(self.sucra[i]):>7}  {fmt(self.probabilities[i, 0]):>7}"
                f"  {self.mean_rank[i]:>9.2f}  {int(self.median_rank[i]):>6}"
            )
        if self.n_ties:
            lines += ["", f"note: {self.n_ties} draw(s) with tied treatments; tied ranks shared equally"]
        return "\n".join(lines)


def _sampling_factor(c: np.ndarray) -> np.ndarray:
    """A matrix F with F Fᵀ = c, for a positive semidefinite c (reference rows zero).

    Cholesky on the rows and columns with positive variance; where that block is itself
    singular (e.g. a treatment estimated only through another), a symmetric
    eigendecomposition with negative rounding-level eigenvalues set to zero.
    """
    n = c.shape[0]
    F = np.zeros((n, n))
    idx = np.flatnonzero(np.diag(c) > 0)
    if idx.size == 0:
        return F
    sub = c[np.ix_(idx, idx)]
    try:
        F[np.ix_(idx, idx)] = np.linalg.cholesky(sub)
        return F
    except np.linalg.LinAlgError:
        pass
    w, v = np.linalg.eigh(c)
    if np.min(w) < -1e-10 * max(float(np.max(np.abs(w))), 1e-300):
        raise ModelError("rank_probabilities: the covariance matrix is not positive semidefinite")
    return v * np.sqrt(np.clip(w, 0.0, None))


def rank_probabilities(
    estimates,
    cov,
    treatments: Sequence[str],
    *,
    larger_better: bool,
    n_sim: int = 10000,
    seed: int,
) -> RankProbabilities:
    """Rank probabilities, SUCRA, mean and median ranks by sampling the joint normal.

    ``n_sim`` vectors θ* = θ̂ + F z with z ~ N(0, I) and F Fᵀ = ``cov`` are drawn with
    ``numpy.random.default_rng(seed)`` (one block of standard normals, so a seed fixes
    every draw); in each draw the treatments are ranked (1 = best in the direction
    given), and the proportions of draws give the rank probabilities.  SUCRA and the mean
    rank follow Salanti, Ades & Ioannidis (2011, J Clin Epidemiol 64:163).  Ties
    (treatments whose draws are equal within 1e-12 of the scale, as happens when a
    difference has no variance) share the tied ranks equally.  SUCRA converges to the
    P-score (Rücker & Schwarzer 2015) as ``n_sim`` grows.
    """
    direction = _check_direction(larger_better)
    est, c, trts = _estimates_and_cov(estimates, cov, treatments, "rank_probabilities")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ModelError(
            f"rank_probabilities: seed must be a non-negative integer (recorded on the result); got {seed!r}"
        )
    if isinstance(n_sim, bool) or not isinstance(n_sim, (int, np.integer)) or n_sim < 1:
        raise ModelError(f"rank_probabilities: n_sim must be a positive integer; got {n_sim!r}")
    n_sim, seed = int(n_sim), int(seed)
    n = len(trts)
    F = _sampling_factor(c)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_sim, n))
    draws = est[None, :] + z @ F.T
    if not direction:
        draws = -draws  # rank by "larger is better" from here on
    tol = 1e-12 * (1.0 + float(np.max(np.abs(est))) + math.sqrt(max(float(np.max(np.diag(c))), 0.0)))

    counts = np.zeros((n, n))
    n_ties = 0
    chunk = max(1, 2_000_000 // (n * n))
    ranks_pos = np.arange(n)
    for start in range(0, n_sim, chunk):
        x = draws[start : start + chunk]
        d = x[:, None, :] - x[:, :, None]  # d[s, i, j] = x_j - x_i
        better = np.sum(d > tol, axis=2)  # treatments strictly better than i
        tied = np.sum(np.abs(d) <= tol, axis=2)  # including i itself
        has_tie = np.any(tied > 1, axis=1)
        n_ties += int(np.sum(has_tie))
        # untied draws: rank = better + 1 exactly
        clean = ~has_tie
        if np.any(clean):
            r = better[clean]
            np.add.at(counts, (np.broadcast_to(ranks_pos, r.shape).ravel(), r.ravel()), 1.0)
        if np.any(has_tie):
            # a treatment tied with t - 1 others holds ranks better+1 .. better+t, 1/t each
            b, t = better[has_tie], tied[has_tie]
            who = np.broadcast_to(ranks_pos, b.shape)
            for offset in range(int(t.max())):
                m = offset < t
                np.add.at(counts, (who[m], b[m] + offset), 1.0 / t[m])
    probs = counts / n_sim
    cum = np.cumsum(probs, axis=1)
    sucra = np.sum(cum[:, : n - 1], axis=1) / (n - 1)
    mean_rank = probs @ np.arange(1, n + 1)
    median_rank = 1 + np.argmax(cum >= 0.5 - 1e-12, axis=1)
    return RankProbabilities(
        treatments=trts,
        probabilities=frozen_array(probs),
        sucra=frozen_array(sucra),
        mean_rank=frozen_array(mean_rank),
        median_rank=frozen_array(median_rank, dtype=int),
        larger_better=direction,
        n_sim=n_sim,
        seed=seed,
        n_ties=n_ties,
    )
