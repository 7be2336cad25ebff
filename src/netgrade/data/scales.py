"""Linear conversion of outcomes between measurement scales, with the direction of benefit.

Trials report the same construct on different instruments (a 0-100 mm VAS, a 0-10 NRS,
a 0-10 cm line where 10 is "no pain"...).  Converting a scale with range [L1, H1] to one
with range [L2, H2] is the affine map x -> L2 + (x - L1) × r with r = (H2 - L2)/(H1 - L1)
(Thorlund K, Walter SD, Johnston BC, Furukawa TA, Guyatt GH 2011, "Pooling
health-related quality of life outcomes in meta-analysis - a tutorial and review of
methods for enhancing interpretability", Res Synth Methods 2:188-203: conversion of all
instruments to the units of one common instrument; the Cochrane Handbook, version 6.4,
section 6.5.1.2, for multiplying by -1 the values of scales that run in the opposite
direction).  What that means for each kind of number:

* a mean (a location) is shifted and scaled;
* an SD, an SE, or a variance's square root scales by |r| only;
* a difference (a mean difference, a change score, an MID) scales by r without shift.

When one scale has higher = better and the other lower = better, the position on the
scale is mirrored first (x -> L1 + H1 - x) so that "better" keeps its meaning: means
are mirrored, differences change sign, SDs and SEs are unchanged.  Every converted
value carries the :class:`Scale` it is now on, so that its direction of benefit is
never lost.  Standardized measures (SMD) and ratios are scale-free and must not be
passed through these functions (only their sign depends on the direction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataError
from . import schema

__all__ = [
    "Scale",
    "Rescaled",
    "rescale",
    "rescale_mean",
    "rescale_sd",
    "rescale_se",
    "rescale_difference",
    "rescale_arms",
]

Kind = Literal["mean", "sd", "se", "difference"]


@dataclass(frozen=True)
class Scale:
    """A bounded measurement scale and its direction of benefit.

    ``low``/``high`` are the scale's end points (e.g. 0 and 100); ``higher_is_better``
    says which end is the good one (False for pain, True for function or quality of
    life).
    """

    name: str
    low: float
    high: float
    higher_is_better: bool

    def __post_init__(self) -> None:
        low, high = float(self.low), float(self.high)
        if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
            raise DataError(f"scale {self.name!r}: need finite end points with low < high (got {self.low}, {self.high})")

    @property
    def width(self) -> float:
        return float(self.high) - float(self.low)

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    def __str__(self) -> str:
        return f"{self.name} ({self.low:g}-{self.high:g}, {self.direction})"

    def to_dict(self) -> dict:
        return {"name": self.name, "low": self.low, "high": self.high, "higher_is_better": self.higher_is_better}


@dataclass(frozen=True, eq=False)
class Rescaled:
    """Values converted to ``scale``: what they are, by which factor and whether mirrored.

    ``factor`` is the ratio of the scale widths (target/source); ``reversed`` is True
    when the two scales run in opposite directions of benefit.
    """

    value: Any
    kind: Kind
    scale: Scale
    source: Scale
    factor: float
    reversed: bool

    @property
    def higher_is_better(self) -> bool:
        return self.scale.higher_is_better

    def to_dict(self) -> dict:
        v = self.value
        return {
            "value": v.tolist() if isinstance(v, np.ndarray) else v,
            "kind": self.kind,
            "scale": self.scale.to_dict(),
            "source": self.source.to_dict(),
            "factor": self.factor,
            "reversed": self.reversed,
        }


def _out(x: np.ndarray) -> Any:
    return float(x) if np.ndim(x) == 0 else x


def rescale(value: Any, kind: Kind, source: Scale, target: Scale) -> Rescaled:
    """Convert ``value`` of the given ``kind`` from ``source`` to ``target`` (see module doc)."""
    x = np.asarray(value, dtype=float)
    factor = target.width / source.width
    reverse = source.higher_is_better != target.higher_is_better
    if kind == "mean":
        pos = (x - source.low) / source.width
        if reverse:
            pos = 1.0 - pos
        out = target.low + pos * target.width
    elif kind in ("sd", "se"):
        if np.any(x < 0):
            raise DataError(f"cannot rescale a negative {kind.upper()}")
        out = x * factor
    elif kind == "difference":
        out = x * factor * (-1.0 if reverse else 1.0)
    else:
        raise DataError(f"unknown kind {kind!r}: use 'mean', 'sd', 'se' or 'difference'")
    return Rescaled(_out(out), kind, target, source, factor, reverse)


def rescale_mean(value: Any, source: Scale, target: Scale) -> Rescaled:
    """A mean (or any location on the scale): shifted, scaled, mirrored if needed."""
    return rescale(value, "mean", source, target)


def rescale_sd(value: Any, source: Scale, target: Scale) -> Rescaled:
    """A standard deviation: scaled by the ratio of widths."""
    return rescale(value, "sd", source, target)


def rescale_se(value: Any, source: Scale, target: Scale) -> Rescaled:
    """A standard error: scaled by the ratio of widths."""
    return rescale(value, "se", source, target)


def rescale_difference(value: Any, source: Scale, target: Scale) -> Rescaled:
    """A difference of means (MD, change, MID): scaled, sign flipped if directions differ."""
    return rescale(value, "difference", source, target)


def rescale_arms(
    arms: schema.ArmTable | pd.DataFrame, source: Scale, target: Scale
) -> schema.ArmTable | pd.DataFrame:
    """Convert continuous arm data (``mean``, ``sd``) from ``source`` to ``target``.

    Returns the same type it was given; ``scale_min``/``scale_max`` columns, if present,
    are set to the target's end points.  Arms of binary outcomes cannot be rescaled.
    """
    frame = arms.frame if isinstance(arms, schema.ArmTable) else arms
    if schema.MEAN not in frame.columns or schema.SD not in frame.columns:
        raise DataError("only continuous arm data (mean, sd) can be rescaled")
    out = frame.copy()
    out[schema.MEAN] = np.asarray(rescale_mean(frame[schema.MEAN].to_numpy(float), source, target).value)
    out[schema.SD] = np.asarray(rescale_sd(frame[schema.SD].to_numpy(float), source, target).value)
    if schema.SCALE_MIN in out.columns:
        out[schema.SCALE_MIN] = float(target.low)
    if schema.SCALE_MAX in out.columns:
        out[schema.SCALE_MAX] = float(target.high)
    if isinstance(arms, schema.ArmTable):
        return replace(arms, frame=out)
    return out
