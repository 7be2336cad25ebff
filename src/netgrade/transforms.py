"""Back-transformations from the analysis scale to the natural scale.

Ratio measures are analysed as logarithms, proportions on the logit, arcsine or
Freeman-Tukey scale; reports show the natural scale.  One table maps each measure to
its back-transformation so that effect sizes, predictions and plots agree.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def ilogit(x):
    """Inverse logit, 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def iarcsin(x):
    """Inverse of the arcsine square-root transformation, sin(x)²."""
    x = np.clip(np.asarray(x, dtype=float), 0.0, np.pi / 2)
    return np.sin(x) ** 2


def identity(x):
    return np.asarray(x, dtype=float)


def exp(x):
    return np.exp(np.asarray(x, dtype=float))


TRANSFORMS: dict[str, Callable] = {
    "identity": identity,
    "exp": exp,
    "ilogit": ilogit,
    "iarcsin": iarcsin,
    "tanh": lambda x: np.tanh(np.asarray(x, dtype=float)),
}

#: measure -> name of its back-transformation to the natural scale.
MEASURE_TRANSFORM = {
    "OR": "exp",
    "RR": "exp",
    "PETO": "exp",
    "ROM": "exp",
    "PLN": "exp",
    "MNLN": "exp",
    "IRR": "exp",
    "HR": "exp",
    "PLO": "ilogit",
    "PAS": "iarcsin",
    "ZCOR": "tanh",
}


def back_transform(name: str) -> Callable:
    """The function that maps analysis-scale values to the natural scale.

    ``name`` is a transformation ('exp', 'ilogit', ...) or a measure ('OR', 'PLO',
    ...); measures analysed on their natural scale map to the identity.
    """
    key = str(name)
    if key in TRANSFORMS:
        return TRANSFORMS[key]
    upper = key.upper()
    return TRANSFORMS[MEASURE_TRANSFORM.get(upper, "identity")]


def analysis_scale(measure: str | None) -> str:
    """'log', 'logit', 'arcsine' or 'identity': the scale a measure is analysed on."""
    t = MEASURE_TRANSFORM.get(str(measure).upper(), "identity") if measure else "identity"
    return {"exp": "log", "ilogit": "logit", "iarcsin": "arcsine", "tanh": "Fisher z"}.get(t, "identity")
