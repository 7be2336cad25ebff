"""Transformations between the analysis scale and the natural scale.

Ratio measures are analysed as logarithms, proportions on the logit, arcsine or
Freeman-Tukey scale; reports show the natural scale.  This module is the one place
that defines those maps, so that effect sizes, predictions and plots agree.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from scipy import special

from .errors import ModelError


def identity(x):
    return np.asarray(x, dtype=float)


def exp(x):
    with np.errstate(over="ignore"):
        return np.exp(np.asarray(x, dtype=float))


def ilogit(x):
    """Inverse logit, 1 / (1 + exp(-x))."""
    return special.expit(np.asarray(x, dtype=float))


def iarcsin(x):
    """Inverse of the arcsine square-root transformation, sin(x)² on [0, pi/2]."""
    return np.sin(np.clip(np.asarray(x, dtype=float), 0.0, math.pi / 2)) ** 2


def tanh(x):
    """Inverse of Fisher's z transformation."""
    return np.tanh(np.asarray(x, dtype=float))


def pft(x: Any, n: Any) -> Any:
    """Freeman-Tukey double arcsine as defined by metafor: the mean of the two arcsines.

    Freeman & Tukey (1950, Ann Math Stat 21:607) define the sum
    asin(sqrt(x/(n+1))) + asin(sqrt((x+1)/(n+1))); metafor uses half of it so that the
    transform is on the same scale as the arcsine transform, with variance 1/(4n+2).
    """
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (n + 1.0))))


def ipft(t: Any, n: float) -> np.ndarray:
    """Inverse of metafor's halved Freeman-Tukey transform (Miller 1978, Am Stat 32:138).

    With ``t`` on metafor's scale (half the Freeman-Tukey sum), ``s = sin(2t)`` and
    p = 1/2 * (1 - sign(cos 2t) * sqrt(1 - (s + (s - 1/s)/n)^2)); values beyond the
    transforms of p = 0 and p = 1 are clamped to 0 and 1.  For a pooled estimate ``n``
    is the harmonic mean of the study sizes (metafor's ``transf.ipft.hm``).
    """
    t = np.asarray(t, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * t)
        inner = 1 - (s + (s - 1 / s) / n) ** 2
        p = 0.5 * (1 - np.sign(np.cos(2 * t)) * np.sqrt(np.maximum(inner, 0.0)))
    p = np.where(t <= pft(0.0, n), 0.0, p)
    return np.where(t >= pft(n, n), 1.0, p)


TRANSFORMS: dict[str, Callable] = {
    "identity": identity,
    "exp": exp,
    "ilogit": ilogit,
    "iarcsin": iarcsin,
    "tanh": tanh,
}

#: analysis scale -> name of the map back to the natural scale
SCALE_INVERSE = {"identity": "identity", "log": "exp", "logit": "ilogit", "arcsine": "iarcsin", "fisher-z": "tanh"}


def scale_inverse(scale: str, n: float | None = None) -> Callable:
    """The map from an analysis scale ('log', 'logit', ...) back to the natural scale."""
    if scale == "freeman-tukey":
        if n is None:
            raise ModelError(
                "back-transforming a Freeman-Tukey proportion needs a sample size n "
                "(for a pooled estimate, the harmonic mean of the study sizes)"
            )
        return lambda t: ipft(t, float(n))
    try:
        return TRANSFORMS[SCALE_INVERSE[scale]]
    except KeyError:
        raise ModelError(f"no back-transformation for the scale {scale!r}") from None


def analysis_scale(measure: str | None) -> str:
    """The scale a measure is analysed on ('log', 'logit', ..., 'identity' if unknown)."""
    if not measure:
        return "identity"
    from .data.effect_sizes import MEASURES

    info = MEASURES.get(str(measure).strip().upper())
    return info.scale if info is not None else "identity"


def back_transform(name: str, n: float | None = None) -> Callable:
    """The function mapping analysis-scale values to the natural scale.

    ``name`` is a transformation ('exp', 'ilogit', 'iarcsin', 'tanh', 'identity') or an
    effect measure ('OR', 'PLO', ...), which maps through its analysis scale; ``n`` is
    needed for Freeman-Tukey proportions.
    """
    key = str(name)
    if key in TRANSFORMS:
        return TRANSFORMS[key]
    return scale_inverse(analysis_scale(key), n)
