"""Study-level effect sizes and their sampling variances (metafor's ``escalc`` as reference).

Every measure follows the definition used by R's metafor (Viechtbauer 2010, J Stat
Softw 36(3):1-48, function ``escalc``) so that the numbers agree with it to rounding
error; the paper behind each formula is cited next to it in :func:`_compute`.

Measures
--------
two-group, 2x2 tables (``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``)
    ``OR`` log odds ratio, ``RR`` log risk ratio, ``RD`` risk difference, ``AS``
    arcsine square-root risk difference, ``PETO`` Peto's log odds ratio.
two-group, means (``m1i, sd1i, n1i, m2i, sd2i, n2i``)
    ``MD`` raw mean difference, ``SMD`` Hedges' g, ``SMDH`` standardized mean
    difference with heteroscedastic SDs, ``ROM`` log ratio of means.
single group, proportions (``xi`` and ``ni``, or ``xi`` and ``mi`` = non-events)
    ``PR`` raw, ``PLN`` log, ``PLO`` logit, ``PAS`` arcsine square root, ``PFT``
    Freeman-Tukey double arcsine (metafor's halved definition).
single group, means (``mi`` = mean, ``sdi``, ``ni``)
    ``MN`` raw mean, ``MNLN`` log mean.
generic (``yi`` with ``vi`` or ``sei``)
    ``GEN`` pass-through of precomputed estimates.

Group 1 (``ai, bi, m1i, ...``) is the treatment and group 2 the comparator, so the
effect is "treatment versus control".

Zero cells
----------
``add``/``to``/``drop00`` have metafor's meaning.  ``to="only0"`` adds ``add`` to every
cell of the tables (or to ``xi`` and ``mi`` for proportions) that contain a zero;
``"all"`` adds it everywhere; ``"if0all"`` adds it everywhere as soon as one study has
a zero; ``"none"`` never.  ``drop00=True`` excludes two-group studies with no events
(or only events) in both groups.  The default ``add=0.5`` applies to every count-based
measure, as in metafor 3.8-1, the version that produced the reference values (its
dat.pritz1997 values for PAS and PFT include the correction).  More recent metafor
versions set ``add=0`` internally for the measures that are defined at zero counts
(``AS``, ``PAS``, ``PFT``; escalc help page, 'Note'); pass ``add=0`` to get that
behaviour.  Every correction is recorded per study (:class:`ContinuityCorrection`) and as an
:class:`~netgrade.errors.AnalysisWarning`; every study left out is an
:class:`~netgrade.errors.ExcludedStudy` with its reason.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .._result import ResultMixin, note_lines, fmt, frozen_array
from ..errors import AnalysisWarning, DataError, DataIssue, ExcludedStudy, ModelError
from .. import transforms
from . import schema

__all__ = [
    "MEASURES",
    "MeasureInfo",
    "ContinuityCorrection",
    "EffectSizes",
    "escalc",
    "effects_from_arms",
    "effects_from_single_arms",
    "back_transform",
    "measure_info",
    "measure_scale",
    "DEFINED_AT_ZERO",
    "hedges_correction",
]


# --------------------------------------------------------------------------------------
# measure registry


@dataclass(frozen=True)
class MeasureInfo:
    """What a measure is, on which scale it is analysed and how it is shown.

    ``scale`` names the analysis scale ("log", "logit", "arcsine", "freeman-tukey",
    "identity"); :func:`back_transform` maps it to ``display``.  ``null`` is the value
    of no effect on the analysis scale (``None`` for single-group measures).
    """

    code: str
    label: str
    display: str
    kind: Literal["2x2", "means", "proportion", "mean", "generic"]
    scale: str
    null: float | None


MEASURES: dict[str, MeasureInfo] = {
    m.code: m
    for m in (
        MeasureInfo("OR", "log odds ratio", "odds ratio", "2x2", "log", 0.0),
        MeasureInfo("RR", "log risk ratio", "risk ratio", "2x2", "log", 0.0),
        MeasureInfo("RD", "risk difference", "risk difference", "2x2", "identity", 0.0),
        MeasureInfo("AS", "arcsine square-root risk difference", "arcsine risk difference", "2x2", "identity", 0.0),
        MeasureInfo("PETO", "Peto log odds ratio", "odds ratio (Peto)", "2x2", "log", 0.0),
        MeasureInfo("MD", "mean difference", "mean difference", "means", "identity", 0.0),
        MeasureInfo("SMD", "standardized mean difference (Hedges' g)", "standardized mean difference", "means", "identity", 0.0),
        MeasureInfo("SMDH", "standardized mean difference (heteroscedastic)", "standardized mean difference", "means", "identity", 0.0),
        MeasureInfo("ROM", "log ratio of means", "ratio of means", "means", "log", 0.0),
        MeasureInfo("PR", "proportion", "proportion", "proportion", "identity", None),
        MeasureInfo("PLN", "log proportion", "proportion", "proportion", "log", None),
        MeasureInfo("PLO", "logit proportion", "proportion", "proportion", "logit", None),
        MeasureInfo("PAS", "arcsine square-root proportion", "proportion", "proportion", "arcsine", None),
        MeasureInfo("PFT", "Freeman-Tukey double arcsine proportion", "proportion", "proportion", "freeman-tukey", None),
        MeasureInfo("MN", "mean", "mean", "mean", "identity", None),
        MeasureInfo("MNLN", "log mean", "mean", "mean", "log", None),
        MeasureInfo("GEN", "generic effect", "effect", "generic", "identity", 0.0),
    )
}

#: Measures defined at zero counts (recent metafor versions use ``add=0`` for them).
DEFINED_AT_ZERO = frozenset({"AS", "PAS", "PFT"})
_TWO_BY_TWO = frozenset(m for m, i in MEASURES.items() if i.kind == "2x2")
_MEANS = frozenset(m for m, i in MEASURES.items() if i.kind == "means")
_PROPORTIONS = frozenset(m for m, i in MEASURES.items() if i.kind == "proportion")
_SINGLE_MEANS = frozenset(m for m, i in MEASURES.items() if i.kind == "mean")
_TO_OPTIONS = ("only0", "all", "if0all", "none")
_VTYPES = {
    "RD": ("LS", "UB", "HO"),
    "MD": ("LS", "UB", "HO"),
    "SMD": ("LS", "UB", "HO"),
    "ROM": ("LS", "HO"),
    "PR": ("LS", "UB", "HO"),
    "PLN": ("LS", "HO"),
    "PLO": ("LS", "HO"),
}


def measure_info(measure: str) -> MeasureInfo:
    """Return the :class:`MeasureInfo` of ``measure`` (case-insensitive)."""
    code = str(measure).strip().upper()
    if code not in MEASURES:
        raise ModelError(f"unknown effect measure {measure!r}; choose one of {', '.join(MEASURES)}")
    return MEASURES[code]


def measure_scale(measure: str) -> str:
    """Name of the analysis scale of ``measure`` ("log", "logit", "identity", ...)."""
    return measure_info(measure).scale


def back_transform(measure: str, x: Any, n: float | None = None) -> Any:
    """Map values from the analysis scale of ``measure`` to its display scale.

    exp for log ratios and log means/proportions (OR, RR, PETO, ROM, PLN, MNLN), the
    inverse logit for PLO, ``sin(x)**2`` for PAS (clamped to [0, pi/2]), and for PFT
    the inversion of the Freeman-Tukey double arcsine by Miller (1978, Am Stat 32:138),
    which needs a sample size ``n``; see :mod:`netgrade.transforms`.  Other measures are
    returned unchanged.  Scalars give scalars, arrays give arrays.
    """
    info = measure_info(measure)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = np.asarray(transforms.scale_inverse(info.scale, n)(np.asarray(x, dtype=float)), dtype=float)
    return float(out) if out.ndim == 0 else out


_pft = transforms.pft


def hedges_correction(m: Any) -> Any:
    """Exact small-sample correction c(m) = Γ(m/2) / (sqrt(m/2) Γ((m-1)/2)) for d.

    Hedges (1981, J Educ Stat 6:107), eq. 6b; computed on the log scale to avoid
    overflow.  ``m`` is the degrees of freedom (n1 + n2 - 2); undefined (NaN) for m <= 1.
    """
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(
            m > 1,
            np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2)),
            np.nan,
        )
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------
# result objects


@dataclass(frozen=True)
class ContinuityCorrection:
    """A continuity correction applied to one study: how much was added and why."""

    study: str
    add: float
    reason: str

    def __str__(self) -> str:
        return f"{self.study}: +{self.add:g} ({self.reason})"

    def to_dict(self) -> dict:
        return {"study": self.study, "add": self.add, "reason": self.reason}


@dataclass(frozen=True, eq=False)
class EffectSizes(ResultMixin):
    """Study-level effect sizes ``yi`` with sampling variances ``vi``.

    Only analysable studies are in ``yi``/``vi``/``studies``/``ni`` (all finite, in input
    order); every other study is in ``excluded`` with the reason.  ``ni`` is the total
    sample size per study before any continuity correction (``None`` for GEN without
    ``ni``); ``added`` the continuity correction added to each count of each analysed
    study (0 where none).  ``add``, ``to``, ``drop00`` and ``vtype`` record the options
    used.
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    studies: tuple[str, ...]
    ni: np.ndarray | None = None
    corrections: tuple[ContinuityCorrection, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    add: float | None = None
    to: str | None = None
    drop00: bool | None = None
    vtype: str | None = None
    added: np.ndarray | None = None

    @property
    def sei(self) -> np.ndarray:
        """Standard errors sqrt(vi)."""
        return np.sqrt(self.vi)

    @property
    def k(self) -> int:
        """Number of analysable studies."""
        return int(self.yi.shape[0])

    @property
    def info(self) -> MeasureInfo:
        return measure_info(self.measure)

    @property
    def scale(self) -> str:
        return self.info.scale

    def __len__(self) -> int:
        return self.k

    def confint(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Wald confidence limits yi ± z * sei on the analysis scale."""
        z = stats.norm.ppf(1 - (1 - _level(level)) / 2)
        return self.yi - z * self.sei, self.yi + z * self.sei

    def to_frame(self, level: float = 0.95, back: bool = False) -> pd.DataFrame:
        """One row per analysable study: yi, vi, sei, CI, ni and the correction applied.

        With ``back=True`` the estimate and CI are also shown back-transformed
        (columns ``est_display``, ``ci_low_display``, ``ci_high_display``) where the
        measure allows it without further information.
        """
        lo, hi = self.confint(level)
        frame = pd.DataFrame(
            {
                "study": list(self.studies),
                "yi": self.yi,
                "vi": self.vi,
                "sei": self.sei,
                "ci_low": lo,
                "ci_high": hi,
                "ni": self.ni if self.ni is not None else np.full(self.k, np.nan),
                "continuity_correction": self.added if self.added is not None else np.zeros(self.k),
            }
        )
        if back and self.scale != "freeman-tukey":
            frame["est_display"] = back_transform(self.measure, self.yi)
            frame["ci_low_display"] = back_transform(self.measure, lo)
            frame["ci_high_display"] = back_transform(self.measure, hi)
        return frame

    def summary(self) -> str:
        info = self.info
        lines = [f"Effect sizes: {info.label} ({self.measure}), k = {self.k}"]
        if self.measure in _TWO_BY_TWO:
            lines.append(f"continuity correction: add = {self.add:g}, to = {self.to!r}, drop00 = {self.drop00}")
        elif self.measure in _PROPORTIONS:
            lines.append(f"continuity correction: add = {self.add:g}, to = {self.to!r}")
        width = max([len(s) for s in self.studies] + [5])
        lines.append(f"{'study':<{width}}  {'yi':>10}  {'vi':>10}  {'95% CI':>23}")
        lo, hi = self.confint()
        for s, y, v, a, b in zip(self.studies, self.yi, self.vi, lo, hi):
            lines.append(f"{s:<{width}}  {fmt(y):>10}  {fmt(v):>10}  [{fmt(a):>10}, {fmt(b):>10}]")
        for c in self.corrections:
            lines.append(f"corrected: {c}")
        lines += note_lines(self)
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# escalc


def escalc(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    m1i: Any = None,
    sd1i: Any = None,
    m2i: Any = None,
    sd2i: Any = None,
    xi: Any = None,
    ni: Any = None,
    mi: Any = None,
    sdi: Any = None,
    yi: Any = None,
    vi: Any = None,
    sei: Any = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    studies: Sequence[Any] | None = None,
) -> EffectSizes:
    """Compute effect sizes and sampling variances as metafor's ``escalc`` does.

    Arguments are metafor's (see the module docstring for which measure needs which).
    For proportions ``mi`` is the number of non-events (metafor's convention), for
    ``MN``/``MNLN`` it is the mean.  ``studies`` labels the rows (default "1", "2",
    ...).  Rows with missing inputs are excluded with the reason; invalid inputs
    (negative counts, events above the group size, SD or n <= 0, unequal lengths)
    raise :class:`~netgrade.errors.DataError` naming the study and the argument.
    """
    info = measure_info(measure)
    code = info.code
    if to not in _TO_OPTIONS:
        raise ModelError(f"unknown continuity-correction rule to={to!r}; choose one of {', '.join(_TO_OPTIONS)}")
    vtype = str(vtype).upper()
    allowed = _VTYPES.get(code, ("LS",))
    if vtype not in allowed:
        raise ModelError(
            f"vtype={vtype!r} is not available for measure {code}; choose one of {', '.join(allowed)}"
        )
    add = float(add)
    if not math.isfinite(add) or add < 0:
        raise ModelError(f"add must be a non-negative number, got {add!r}")

    given = {
        "ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i,
        "m1i": m1i, "sd1i": sd1i, "m2i": m2i, "sd2i": sd2i,
        "xi": xi, "ni": ni, "mi": mi, "sdi": sdi, "yi": yi, "vi": vi, "sei": sei,
    }
    arrays = {name: _as_array(val, name) for name, val in given.items() if val is not None}
    k = _common_length(arrays)
    labels = _labels(studies, k)

    if code in _TWO_BY_TWO:
        core = _prepare_2x2(arrays, labels)
    elif code in _MEANS:
        core = _prepare_means(arrays, labels)
    elif code in _PROPORTIONS:
        core = _prepare_proportions(arrays, labels)
    elif code in _SINGLE_MEANS:
        core = _prepare_single_means(arrays, labels)
    else:
        core = _prepare_generic(arrays, labels)

    return _compute(code, core, labels, add=add, to=to, drop00=bool(drop00), vtype=vtype)


def _level(level: float) -> float:
    level = float(level)
    return level / 100 if level > 1 else level


def _as_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, (pd.Series, pd.Index)):
        value = pd.to_numeric(value, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"argument {name!r} must be numeric ({exc})") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise DataError(f"argument {name!r} must be one-dimensional, got shape {arr.shape}")
    return arr


def _common_length(arrays: dict[str, np.ndarray]) -> int:
    if not arrays:
        raise DataError("no data given: specify the arguments the measure needs")
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n} has {m}" for n, m in lengths.items())
        raise DataError(f"arguments have different lengths ({shown})")
    return next(iter(lengths.values()))


def _labels(studies: Sequence[Any] | None, k: int) -> tuple[str, ...]:
    if studies is None:
        return tuple(str(i + 1) for i in range(k))
    labels = tuple(str(s) for s in (studies.tolist() if hasattr(studies, "tolist") else studies))
    if len(labels) != k:
        raise DataError(f"{len(labels)} study labels given for {k} studies")
    return labels


def _require(arrays: dict[str, np.ndarray], names: Iterable[str], what: str) -> None:
    missing = [n for n in names if n not in arrays]
    if missing:
        raise DataError(f"{what} needs argument(s) {', '.join(missing)}")


def _finite_check(arrays: dict[str, np.ndarray], labels: tuple[str, ...], names: Iterable[str]) -> list[DataIssue]:
    issues = []
    for name in names:
        arr = arrays.get(name)
        if arr is None:
            continue
        for i in np.flatnonzero(np.isinf(arr)):
            issues.append(DataIssue(f"{name} is infinite", study=labels[i], column=name))
    return issues


def _missing_mask(labels: tuple[str, ...], arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, list[ExcludedStudy]]:
    k = len(labels)
    mask = np.zeros(k, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(k)]
    for name, arr in arrays.items():
        for i in np.flatnonzero(np.isnan(arr)):
            mask[i] = True
            reasons[i].append(name)
    excluded = [
        ExcludedStudy(labels[i], f"missing value(s) in {', '.join(reasons[i])}") for i in np.flatnonzero(mask)
    ]
    return mask, excluded


@dataclass
class _Core:
    """Validated inputs of one family of measures (internal)."""

    values: dict[str, np.ndarray]
    missing: np.ndarray
    excluded: list[ExcludedStudy]
    ni: np.ndarray | None


def _raise_issues(issues: list[DataIssue]) -> None:
    if issues:
        raise DataError(f"invalid effect-size input ({len(issues)} problem(s))", issues)


def _prepare_2x2(arrays: dict[str, np.ndarray], labels: tuple[str, ...]) -> _Core:
    _require(arrays, ("ai", "ci"), "a 2x2-table measure")
    if "bi" not in arrays and "n1i" not in arrays:
        raise DataError("a 2x2-table measure needs bi or n1i (group 1 size)")
    if "di" not in arrays and "n2i" not in arrays:
        raise DataError("a 2x2-table measure needs di or n2i (group 2 size)")
    issues = _finite_check(arrays, labels, ("ai", "bi", "ci", "di", "n1i", "n2i"))
    ai, ci = arrays["ai"], arrays["ci"]
    with np.errstate(invalid="ignore"):
        bi = arrays["bi"] if "bi" in arrays else arrays["n1i"] - ai
        di = arrays["di"] if "di" in arrays else arrays["n2i"] - ci
    for name in ("ai", "bi", "ci", "di", "n1i", "n2i"):
        arr = arrays.get(name)
        if arr is None:
            continue
        for i in np.flatnonzero(arr < 0):
            issues.append(DataIssue(f"{name} is negative ({arr[i]:g})", study=labels[i], column=name))
    for events, total, nonevents in (("ai", "n1i", "bi"), ("ci", "n2i", "di")):
        if total in arrays and nonevents not in arrays:
            ev, tot = arrays[events], arrays[total]
            for i in np.flatnonzero(ev > tot):
                issues.append(
                    DataIssue(f"{events} ({ev[i]:g}) exceeds {total} ({tot[i]:g})", study=labels[i], column=events)
                )
        if total in arrays and nonevents in arrays:
            ev, tot, non = arrays[events], arrays[total], arrays[nonevents]
            bad = np.flatnonzero(np.abs(ev + non - tot) > 1e-9 * np.maximum(1.0, np.abs(tot)))
            for i in bad:
                issues.append(
                    DataIssue(
                        f"{events} + {nonevents} ({ev[i] + non[i]:g}) differs from {total} ({tot[i]:g})",
                        study=labels[i],
                        column=total,
                    )
                )
    _raise_issues(issues)
    values = {"ai": ai, "bi": bi, "ci": ci, "di": di}
    given = {n: arrays[n] for n in ("ai", "bi", "ci", "di", "n1i", "n2i") if n in arrays}
    missing, excluded = _missing_mask(labels, given)
    return _Core(values, missing, excluded, ai + bi + ci + di)


def _prepare_means(arrays: dict[str, np.ndarray], labels: tuple[str, ...]) -> _Core:
    names = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    _require(arrays, names, "a two-group mean measure")
    issues = _finite_check(arrays, labels, names)
    for name in ("sd1i", "sd2i", "n1i", "n2i"):
        arr = arrays[name]
        for i in np.flatnonzero(arr <= 0):
            issues.append(DataIssue(f"{name} must be positive (got {arr[i]:g})", study=labels[i], column=name))
    _raise_issues(issues)
    values = {n: arrays[n] for n in names}
    missing, excluded = _missing_mask(labels, values)
    return _Core(values, missing, excluded, arrays["n1i"] + arrays["n2i"])


def _prepare_proportions(arrays: dict[str, np.ndarray], labels: tuple[str, ...]) -> _Core:
    _require(arrays, ("xi",), "a proportion measure")
    if "ni" not in arrays and "mi" not in arrays:
        raise DataError("a proportion measure needs ni (group size) or mi (number of non-events)")
    issues = _finite_check(arrays, labels, ("xi", "ni", "mi"))
    xi = arrays["xi"]
    with np.errstate(invalid="ignore"):
        mi = arrays["mi"] if "mi" in arrays else arrays["ni"] - xi
    for name in ("xi", "ni", "mi"):
        arr = arrays.get(name)
        if arr is None:
            continue
        for i in np.flatnonzero(arr < 0):
            issues.append(DataIssue(f"{name} is negative ({arr[i]:g})", study=labels[i], column=name))
    if "ni" in arrays and "mi" not in arrays:
        for i in np.flatnonzero(xi > arrays["ni"]):
            issues.append(
                DataIssue(f"xi ({xi[i]:g}) exceeds ni ({arrays['ni'][i]:g})", study=labels[i], column="xi")
            )
    if "ni" in arrays and "mi" in arrays:
        nn = arrays["ni"]
        for i in np.flatnonzero(np.abs(xi + mi - nn) > 1e-9 * np.maximum(1.0, np.abs(nn))):
            issues.append(
                DataIssue(f"xi + mi ({xi[i] + mi[i]:g}) differs from ni ({nn[i]:g})", study=labels[i], column="ni")
            )
    _raise_issues(issues)
    values = {"xi": xi, "mi": mi}
    missing, excluded = _missing_mask(labels, {n: arrays[n] for n in ("xi", "ni", "mi") if n in arrays})
    for i in np.flatnonzero(~missing & (xi + mi <= 0)):
        issues.append(DataIssue("group size is zero", study=labels[i], column="ni"))
    _raise_issues(issues)
    return _Core(values, missing, excluded, xi + mi)


def _prepare_single_means(arrays: dict[str, np.ndarray], labels: tuple[str, ...]) -> _Core:
    names = ("mi", "sdi", "ni")
    _require(arrays, names, "a single-group mean measure")
    issues = _finite_check(arrays, labels, names)
    for name in ("sdi", "ni"):
        arr = arrays[name]
        for i in np.flatnonzero(arr <= 0):
            issues.append(DataIssue(f"{name} must be positive (got {arr[i]:g})", study=labels[i], column=name))
    _raise_issues(issues)
    values = {n: arrays[n] for n in names}
    missing, excluded = _missing_mask(labels, values)
    return _Core(values, missing, excluded, arrays["ni"])


def _prepare_generic(arrays: dict[str, np.ndarray], labels: tuple[str, ...]) -> _Core:
    _require(arrays, ("yi",), "measure GEN")
    if "vi" not in arrays and "sei" not in arrays:
        raise DataError("measure GEN needs vi (sampling variances) or sei (standard errors)")
    issues = _finite_check(arrays, labels, ("yi", "vi", "sei", "ni"))
    variance = arrays["vi"] if "vi" in arrays else arrays["sei"] ** 2
    for name in ("vi", "sei"):
        arr = arrays.get(name)
        if arr is None:
            continue
        for i in np.flatnonzero(arr < 0):
            issues.append(DataIssue(f"{name} is negative ({arr[i]:g})", study=labels[i], column=name))
    _raise_issues(issues)
    values = {"yi": arrays["yi"], "vi": variance}
    missing, excluded = _missing_mask(labels, {n: arrays[n] for n in ("yi", "vi", "sei") if n in arrays})
    return _Core(values, missing, excluded, arrays.get("ni"))


def _corrections(
    zero: np.ndarray, usable: np.ndarray, add: float, to: str, labels: tuple[str, ...], what: str
) -> tuple[np.ndarray, list[ContinuityCorrection]]:
    """Which studies get ``add`` under rule ``to`` (metafor's add/to semantics).

    Returns the mask of corrected studies and one record per corrected study, in the
    order of the mask.
    """
    k = len(labels)
    zero = zero & usable
    if add == 0 or to == "none":
        mask = np.zeros(k, dtype=bool)
    elif to == "all":
        mask = usable.copy()
    elif to == "only0":
        mask = zero.copy()
    else:  # if0all
        mask = usable.copy() if zero.any() else np.zeros(k, dtype=bool)
    records = []
    for i in np.flatnonzero(mask):
        if zero[i]:
            reason = f"zero {what}" + ("" if to == "only0" else f" (to={to!r})")
        elif to == "all":
            reason = "to='all': added to every study"
        else:
            reason = f"to='if0all': another study has a zero {what}"
        records.append(ContinuityCorrection(labels[i], add, reason))
    return mask, records


def _compute(
    code: str, core: _Core, labels: tuple[str, ...], *, add: float, to: str, drop00: bool, vtype: str
) -> EffectSizes:
    k = len(labels)
    v = core.values
    usable = ~core.missing
    excluded = list(core.excluded)
    warnings: list[AnalysisWarning] = []
    corrections: list[ContinuityCorrection] = []
    corr_mask = np.zeros(k, dtype=bool)
    record_add, record_to, record_drop = None, None, None

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if code in _TWO_BY_TWO:
            record_add, record_to, record_drop = add, to, drop00
            a, b, c, d = (v[n].copy() for n in ("ai", "bi", "ci", "di"))
            if drop00:
                double = usable & (((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
                for i in np.flatnonzero(double):
                    what = "no events" if a[i] == 0 and c[i] == 0 else "only events"
                    excluded.append(
                        ExcludedStudy(labels[i], f"{what} in both groups (double-zero study); excluded because drop00=True")
                    )
                usable &= ~double
            zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
            corr_mask, corrections = _corrections(zero, usable, add, to, labels, "cell")
            added = np.where(corr_mask, add, 0.0)
            a, b, c, d = a + added, b + added, c + added, d + added
            n1, n2 = a + b, c + d
            p1, p2 = a / n1, c / n2
            if code == "OR":
                # log odds ratio and Woolf's (1955, Ann Hum Genet 19:251) variance
                yi = np.log(a * d / (b * c))
                vi = 1 / a + 1 / b + 1 / c + 1 / d
            elif code == "RR":
                # log risk ratio; variance by the delta method (Katz et al. 1978, Biometrics 34:469)
                yi = np.log(p1) - np.log(p2)
                vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
            elif code == "RD":
                # risk difference (Fleiss & Berlin 2009, Handbook of Research Synthesis, ch. 13)
                yi = p1 - p2
                if vtype == "UB":
                    vi = p1 * (1 - p1) / (n1 - 1) + p2 * (1 - p2) / (n2 - 1)
                elif vtype == "HO":
                    q1 = a[usable].sum() / n1[usable].sum()
                    q2 = c[usable].sum() / n2[usable].sum()
                    vi = q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2
                else:
                    vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
            elif code == "AS":
                # arcsine square-root risk difference (Rücker et al. 2009, Stat Med 28:721)
                yi = np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p2))
                vi = 1 / (4 * n1) + 1 / (4 * n2)
            else:  # PETO
                # Peto's one-step log odds ratio (Yusuf et al. 1985, Prog Cardiovasc Dis 27:335):
                # (O - E) / V with the hypergeometric mean E and variance V
                n = n1 + n2
                xt, yt = a + c, b + d
                expected = xt * n1 / n
                var = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
                yi = (a - expected) / var
                vi = 1 / var
            cells = {"ai": a, "bi": b, "ci": c, "di": d}
        elif code in _MEANS:
            m1, s1, n1, m2, s2, n2 = (v[x] for x in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))
            df = n1 + n2 - 2
            sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
            if code == "MD":
                # raw mean difference (Borenstein 2009, Handbook of Research Synthesis, eqs 12.3/12.5)
                yi = m1 - m2
                vi = sp**2 * (1 / n1 + 1 / n2) if vtype == "HO" else s1**2 / n1 + s2**2 / n2
            elif code == "SMD":
                # Hedges' g: d with the exact correction c(m) (Hedges 1981, J Educ Stat 6:107);
                # LS variance: Hedges (1982, Psychol Bull 92:490) eq. 8; UB: Hedges (1983,
                # Psychol Bull 93:388) eq. 9; HO: LS with the n-weighted mean of the g's
                cm = hedges_correction(df)
                yi = cm * (m1 - m2) / sp
                ntot = n1 + n2
                if vtype == "UB":
                    vi = 1 / n1 + 1 / n2 + (1 - (df - 2) / (df * cm**2)) * yi**2
                elif vtype == "HO":
                    ok = usable & np.isfinite(yi)
                    gbar = (ntot[ok] * yi[ok]).sum() / ntot[ok].sum()
                    vi = 1 / n1 + 1 / n2 + gbar**2 / (2 * ntot)
                else:
                    vi = 1 / n1 + 1 / n2 + yi**2 / (2 * ntot)
            elif code == "SMDH":
                # SMD standardized by sqrt((s1² + s2²)/2) with heteroscedastic variance
                # (Bonett 2009, Psychol Methods 14:225, eq. 5); corrected by c(m) and the
                # corrected value plugged into the variance, as metafor 3.8 does
                cm = hedges_correction(df)
                savg2 = (s1**2 + s2**2) / 2
                yi = cm * (m1 - m2) / np.sqrt(savg2)
                vi = (
                    yi**2 * (s1**4 / (n1 - 1) + s2**4 / (n2 - 1)) / (2 * (s1**2 + s2**2) ** 2)
                    + (s1**2 / (n1 - 1) + s2**2 / (n2 - 1)) / savg2
                )
                vi = cm**2 * vi
            else:  # ROM
                # log ratio of means (Hedges, Gurevitch & Curtis 1999, Ecology 80:1150, eq. 1)
                yi = np.log(m1 / m2)
                if vtype == "HO":
                    vi = sp**2 / (n1 * m1**2) + sp**2 / (n2 * m2**2)
                else:
                    vi = s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
            cells = {}
        elif code in _PROPORTIONS:
            record_add, record_to = add, to
            x, m = v["xi"].copy(), v["mi"].copy()
            zero = (x == 0) | (m == 0)
            what = "events or non-events"
            corr_mask, corrections = _corrections(zero, usable, add, to, labels, what)
            added = np.where(corr_mask, add, 0.0)
            x, m = x + added, m + added
            n = x + m
            p = x / n
            if code == "PR":
                # raw proportion with the binomial variance
                yi = p
                if vtype == "UB":
                    vi = p * (1 - p) / (n - 1)
                elif vtype == "HO":
                    pbar = x[usable].sum() / n[usable].sum()
                    vi = pbar * (1 - pbar) / n
                else:
                    vi = p * (1 - p) / n
            elif code == "PLN":
                # log proportion, delta-method variance 1/x - 1/n
                yi = np.log(p)
                if vtype == "HO":
                    pbar = x[usable].sum() / n[usable].sum()
                    vi = 1 / (pbar * n) - 1 / n
                else:
                    vi = 1 / x - 1 / n
            elif code == "PLO":
                # logit proportion, delta-method variance 1/x + 1/(n-x)
                yi = np.log(p / (1 - p))
                if vtype == "HO":
                    pbar = x[usable].sum() / n[usable].sum()
                    vi = 1 / (pbar * n) + 1 / ((1 - pbar) * n)
                else:
                    vi = 1 / x + 1 / m
            elif code == "PAS":
                # angular transformation, variance 1/(4n) (Anscombe 1948, Biometrika 35:246)
                yi = np.arcsin(np.sqrt(p))
                vi = 1 / (4 * n)
            else:  # PFT
                # Freeman & Tukey (1950, Ann Math Stat 21:607) double arcsine, halved as in
                # metafor, with variance 1/(4n + 2)
                yi = _pft(x, n)
                vi = 1 / (4 * n + 2)
            cells = {"xi": x, "mi": m}
        elif code in _SINGLE_MEANS:
            mean, sd, n = v["mi"], v["sdi"], v["ni"]
            if code == "MN":
                yi = mean.copy()
                vi = sd**2 / n
            else:
                # log mean, delta-method variance sd² / (n mean²)
                # (Nakagawa et al. 2015, Methods Ecol Evol 6:143)
                yi = np.log(mean)
                vi = sd**2 / (n * mean**2)
            cells = {}
        else:  # GEN
            yi = v["yi"].copy()
            vi = v["vi"].copy()
            cells = {}

    bad = usable & ~(np.isfinite(yi) & np.isfinite(vi) & (vi >= 0))
    for i in np.flatnonzero(bad):
        excluded.append(ExcludedStudy(labels[i], _undefined_reason(code, i, v, cells, add, to, yi, vi)))
    keep = usable & ~bad
    if corrections:
        corrections = [cc for cc, i in zip(corrections, np.flatnonzero(corr_mask)) if keep[i]]
        if corrections:
            names = tuple(cc.study for cc in corrections)
            unit = "cell of the 2x2 table" if code in _TWO_BY_TWO else "count (events and non-events)"
            warnings.append(
                AnalysisWarning(
                    "continuity_correction",
                    f"{add:g} added to each {unit} of {len(names)} "
                    f"{'study' if len(names) == 1 else 'studies'} (to={to!r}): {', '.join(names)}",
                    names,
                )
            )
    zero_var = keep & (vi == 0)
    if zero_var.any():
        names = tuple(labels[i] for i in np.flatnonzero(zero_var))
        warnings.append(
            AnalysisWarning(
                "zero_variance",
                f"sampling variance is zero for {', '.join(names)}; inverse-variance weighting is undefined for "
                "these studies",
                names,
            )
        )
    counts = Counter(labels)
    dup = sorted(s for s, c in counts.items() if c > 1)
    if dup:
        warnings.append(
            AnalysisWarning("duplicate_study_labels", f"study labels used more than once: {', '.join(dup)}", tuple(dup))
        )
    # order excluded studies as in the input
    order = {s: i for i, s in reversed(list(enumerate(labels)))}
    excluded.sort(key=lambda e: order.get(e.study, k))
    ni_out = frozen_array(core.ni[keep]) if core.ni is not None else None
    return EffectSizes(
        measure=code,
        yi=frozen_array(yi[keep]),
        vi=frozen_array(vi[keep]),
        studies=tuple(labels[i] for i in np.flatnonzero(keep)),
        ni=ni_out,
        corrections=tuple(corrections),
        excluded=tuple(excluded),
        warnings=tuple(warnings),
        add=record_add,
        to=record_to,
        drop00=record_drop,
        vtype=vtype if code in _VTYPES else None,
        added=frozen_array(np.where(corr_mask, add, 0.0)[keep]),
    )


def _undefined_reason(
    code: str,
    i: int,
    raw: dict[str, np.ndarray],
    cells: dict[str, np.ndarray],
    add: float,
    to: str,
    yi: np.ndarray,
    vi: np.ndarray,
) -> str:
    label = measure_info(code).label
    if code in _TWO_BY_TWO or code in _PROPORTIONS:
        zeros = [n for n, arr in cells.items() if arr[i] == 0]
        if code == "PETO":
            return (
                f"{label} undefined: no events (or only events) in both groups, so the "
                "hypergeometric variance is zero"
            )
        if zeros:
            return (
                f"{label} undefined: zero count(s) in {', '.join(zeros)} and no continuity correction "
                f"applied (add={add:g}, to={to!r})"
            )
    if code == "ROM":
        return (
            f"{label} undefined: both means must be positive (m1i={raw['m1i'][i]:g}, m2i={raw['m2i'][i]:g})"
        )
    if code == "MNLN":
        return f"{label} undefined: the mean must be positive (mi={raw['mi'][i]:g})"
    if code in ("SMD", "SMDH"):
        return (
            f"{label} undefined: n1i + n2i must exceed 3 for the small-sample correction "
            f"(n1i={raw['n1i'][i]:g}, n2i={raw['n2i'][i]:g})"
        )
    return f"{label} undefined for this study (yi={yi[i]!r}, vi={vi[i]!r})"


# --------------------------------------------------------------------------------------
# glue from the data model


def _arm_columns(arms: schema.ArmTable, code: str) -> None:
    info = measure_info(code)
    frame = arms.frame
    if info.kind in ("2x2", "proportion"):
        need = (schema.STUDY, schema.TREATMENT, schema.EVENTS, schema.N)
        kind = "binary (events/n)"
    elif info.kind in ("means", "mean"):
        need = (schema.STUDY, schema.TREATMENT, schema.MEAN, schema.SD, schema.N)
        kind = "continuous (mean/sd/n)"
    else:
        raise ModelError(f"measure {code} cannot be computed from arm-level data")
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DataError(
            f"measure {code} needs {kind} arm data, but the arm table lacks column(s) {', '.join(missing)}"
            + (f" (file {arms.source})" if arms.source else "")
        )


def _issue(arms: schema.ArmTable, rows: pd.DataFrame, study: str, problem: str) -> DataIssue:
    row = None
    file = arms.source
    if schema.SOURCE_ROW in rows.columns and len(rows):
        try:
            row = int(rows[schema.SOURCE_ROW].iloc[0])
        except (TypeError, ValueError):
            row = None
    if schema.SOURCE_FILE in rows.columns and len(rows):
        file = str(rows[schema.SOURCE_FILE].iloc[0])
    return DataIssue(problem, file=file, row=row, study=study)


def effects_from_arms(
    arms: schema.ArmTable,
    measure: str,
    treatment: str,
    control: str,
    *,
    missing: Literal["error", "exclude"] = "error",
    **escalc_options: Any,
) -> EffectSizes:
    """Two-group effect sizes (``treatment`` versus ``control``) from long arm data.

    Every study must have exactly one ``treatment`` arm and one ``control`` arm and no
    other arms; otherwise a :class:`~netgrade.errors.DataError` names each offending
    study and lists the arms it has.  With ``missing="exclude"``, studies that lack
    one of the two arms are listed as excluded instead (studies with other arms are
    always an error: pick the arms first).  ``escalc_options`` (add, to, drop00,
    vtype) are passed to :func:`escalc`.  Exclusions and warnings already recorded on
    the arm table are carried over.
    """
    code = measure_info(measure).code
    if code not in _TWO_BY_TWO | _MEANS:
        raise ModelError(f"measure {code} is not a two-group measure; use effects_from_single_arms")
    _arm_columns(arms, code)
    frame = arms.frame
    issues: list[DataIssue] = []
    excluded: list[ExcludedStudy] = []
    t_rows, c_rows, labels = [], [], []
    for study in arms.studies:
        rows = frame[frame[schema.STUDY] == study]
        have = [str(t) for t in rows[schema.TREATMENT]]
        n_t = have.count(str(treatment))
        n_c = have.count(str(control))
        others = [t for t in have if t not in (str(treatment), str(control))]
        if n_t == 1 and n_c == 1 and not others:
            t_rows.append(rows[rows[schema.TREATMENT].astype(str) == str(treatment)].iloc[0])
            c_rows.append(rows[rows[schema.TREATMENT].astype(str) == str(control)].iloc[0])
            labels.append(str(study))
            continue
        listing = ", ".join(repr(t) for t in have)
        if others or n_t > 1 or n_c > 1:
            issues.append(
                _issue(
                    arms,
                    rows,
                    str(study),
                    f"needs exactly one {treatment!r} arm and one {control!r} arm and no others; it has {listing}",
                )
            )
        elif missing == "exclude":
            lacking = treatment if n_t == 0 else control
            excluded.append(ExcludedStudy(str(study), f"no {lacking!r} arm (arms: {listing})"))
        else:
            issues.append(
                _issue(arms, rows, str(study), f"needs one {treatment!r} arm and one {control!r} arm; it has {listing}")
            )
    if issues:
        raise DataError(f"cannot form {treatment} versus {control} comparisons", issues)
    if not labels:
        raise DataError(f"no study compares {treatment!r} with {control!r}")
    t = pd.DataFrame(t_rows)
    c = pd.DataFrame(c_rows)
    if code in _TWO_BY_TWO:
        res = escalc(
            code,
            ai=t[schema.EVENTS],
            n1i=t[schema.N],
            ci=c[schema.EVENTS],
            n2i=c[schema.N],
            studies=labels,
            **escalc_options,
        )
    else:
        res = escalc(
            code,
            m1i=t[schema.MEAN],
            sd1i=t[schema.SD],
            n1i=t[schema.N],
            m2i=c[schema.MEAN],
            sd2i=c[schema.SD],
            n2i=c[schema.N],
            studies=labels,
            **escalc_options,
        )
    return _carry(res, arms, excluded)


def effects_from_single_arms(
    arms: schema.ArmTable,
    measure: str,
    treatment: str | None = None,
    *,
    missing: Literal["error", "exclude"] = "error",
    **escalc_options: Any,
) -> EffectSizes:
    """Single-group effect sizes (PR, PLN, PLO, PAS, PFT, MN, MNLN) from arm data.

    Without ``treatment`` every study must have exactly one arm; with it, the arm of
    that treatment is taken from each study (a study without it is an error, or an
    excluded study with ``missing="exclude"``; a study with two such arms is an error).
    """
    code = measure_info(measure).code
    if code not in _PROPORTIONS | _SINGLE_MEANS:
        raise ModelError(f"measure {code} is not a single-group measure; use effects_from_arms")
    _arm_columns(arms, code)
    frame = arms.frame
    issues: list[DataIssue] = []
    excluded: list[ExcludedStudy] = []
    picked, labels = [], []
    for study in arms.studies:
        rows = frame[frame[schema.STUDY] == study]
        have = [str(t) for t in rows[schema.TREATMENT]]
        if treatment is None:
            if len(rows) != 1:
                issues.append(
                    _issue(
                        arms,
                        rows,
                        str(study),
                        f"has {len(rows)} arms ({', '.join(map(repr, have))}); name the treatment to use",
                    )
                )
                continue
            chosen = rows.iloc[0]
        else:
            sel = rows[rows[schema.TREATMENT].astype(str) == str(treatment)]
            if len(sel) == 0:
                if missing == "exclude":
                    excluded.append(ExcludedStudy(str(study), f"no {treatment!r} arm (arms: {', '.join(map(repr, have))})"))
                else:
                    issues.append(
                        _issue(arms, rows, str(study), f"has no {treatment!r} arm; it has {', '.join(map(repr, have))}")
                    )
                continue
            if len(sel) > 1:
                issues.append(_issue(arms, rows, str(study), f"has {len(sel)} {treatment!r} arms"))
                continue
            chosen = sel.iloc[0]
        picked.append(chosen)
        labels.append(str(study))
    if issues:
        raise DataError("cannot compute single-group effect sizes", issues)
    if not labels:
        raise DataError("no study has an arm to analyse" + (f" for {treatment!r}" if treatment else ""))
    p = pd.DataFrame(picked)
    if code in _PROPORTIONS:
        res = escalc(code, xi=p[schema.EVENTS], ni=p[schema.N], studies=labels, **escalc_options)
    else:
        res = escalc(code, mi=p[schema.MEAN], sdi=p[schema.SD], ni=p[schema.N], studies=labels, **escalc_options)
    return _carry(res, arms, excluded)


def _carry(res: EffectSizes, arms: schema.ArmTable, excluded: list[ExcludedStudy]) -> EffectSizes:
    if not (arms.excluded or arms.warnings or excluded):
        return res
    return EffectSizes(
        measure=res.measure,
        yi=res.yi,
        vi=res.vi,
        studies=res.studies,
        ni=res.ni,
        corrections=res.corrections,
        excluded=tuple(arms.excluded) + tuple(excluded) + res.excluded,
        warnings=tuple(arms.warnings) + res.warnings,
        add=res.add,
        to=res.to,
        drop00=res.drop00,
        vtype=res.vtype,
        added=res.added,
    )


# --------------------------------------------------------------------------------------
# shared with the Mantel-Haenszel and Peto methods


@dataclass(frozen=True, eq=False)
class TwoByTwo:
    """Validated 2x2 tables: cell counts per study (NaN rows already listed as excluded)."""

    ai: np.ndarray
    bi: np.ndarray
    ci: np.ndarray
    di: np.ndarray
    studies: tuple[str, ...]
    missing: np.ndarray
    excluded: tuple[ExcludedStudy, ...]


def two_by_two(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    studies: Sequence[Any] | None = None,
) -> TwoByTwo:
    """Validate 2x2 table input exactly as :func:`escalc` does (``bi``/``di`` or group sizes)."""
    given = {"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i}
    arrays = {name: _as_array(val, name) for name, val in given.items() if val is not None}
    k = _common_length(arrays)
    labels = _labels(studies, k)
    core = _prepare_2x2(arrays, labels)
    v = core.values
    return TwoByTwo(
        ai=frozen_array(v["ai"]),
        bi=frozen_array(v["bi"]),
        ci=frozen_array(v["ci"]),
        di=frozen_array(v["di"]),
        studies=labels,
        missing=frozen_array(core.missing, dtype=bool),
        excluded=tuple(core.excluded),
    )
