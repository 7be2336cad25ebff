"""Information criteria of a fitted model, with metafor's conventions."""

from __future__ import annotations

import math


def information_criteria(loglik: float, n_par: int, n_obs: int) -> tuple[float, float, float]:
    """AIC (Akaike 1974), BIC (Schwarz 1978) and AICc (Hurvich & Tsai 1989).

    ``n_obs`` is the number of observations the likelihood is based on (k for ML,
    k - p for REML, as metafor counts them).  AICc uses max(n_obs, n_par + 2) so that
    it stays finite for saturated models, as metafor does.
    """
    aic = -2.0 * loglik + 2.0 * n_par
    bic = -2.0 * loglik + n_par * math.log(n_obs) if n_obs > 0 else math.nan
    nn = max(n_obs, n_par + 2)
    aicc = -2.0 * loglik + 2.0 * n_par * nn / (nn - n_par - 1)
    return aic, bic, aicc
