"""Root finding for variance-component score equations, shared by the pairwise and
network models."""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import optimize

_RTOL = 4 * np.finfo(float).eps


def fisher_scoring(
    score_and_information: Callable[[float], tuple[float, float]],
    start: float,
    maxiter: int = 1000,
    rtol: float = 1e-12,
) -> tuple[float, int, bool]:
    """Fisher scoring for a variance parameter t >= 0 (Jennrich & Sampson 1976).

    Steps score/information are halved while they would cross zero; the iteration
    stops when a step changes t by less than ``rtol`` relative (a relative rule,
    because an absolute one cannot be met for large t in double precision).
    Returns (t, iterations, converged).
    """
    t = max(0.0, float(start))
    for iteration in range(1, maxiter + 1):
        score, info = score_and_information(t)
        step = score / info
        while t + step < 0.0:
            step /= 2.0
        t_new = t + step
        done = abs(t_new - t) <= rtol * max(1.0, t_new)
        t = t_new
        if done:
            return t, iteration, True
    return t, maxiter, False


def polish_root(score: Callable[[float], float], t: float, widths=(1e-6, 1e-4, 1e-2, 0.5, 0.99)) -> float:
    """Solve score(t) = 0 to machine precision near an approximate root t > 0 by
    bracketing it (score decreasing through the root); returns t unchanged if no
    bracket is found."""
    scale = max(t, 1e-10)
    for width in widths:
        lo, hi = t - width * scale, t + width * scale
        if score(lo) > 0.0 and score(hi) < 0.0:
            return float(optimize.brentq(score, lo, hi, xtol=1e-300, rtol=_RTOL, maxiter=500))
    return t
