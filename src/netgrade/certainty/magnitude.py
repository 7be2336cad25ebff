"""How large is an effect?  Magnitude classes on the judgement scale, and groups of
interventions for drawing conclusions from a network.

GRADE judges the size of an effect against thresholds set in advance: the minimal
important difference (MID, the "small" threshold) and, when the review is partially
contextualised, thresholds for moderate and large effects (Hultcrantz et al. 2017,
J Clin Epidemiol 87:4; Zeng et al. 2021, "GRADE guidelines 32: choosing targets of GRADE
certainty of evidence ratings", J Clin Epidemiol 137:163-175).  The thresholds live on
the *judgement scale*:

- continuous outcomes: the effect in natural units (MD; an SMD is judged as it is);
- binary outcomes: the absolute effect, as a risk difference per 1,000 patients at the
  outcome's baseline (comparator) risk, because GRADE judges ratio measures by their
  absolute effects (Guyatt et al. 2013, "GRADE guidelines 12/13: summary-of-findings
  tables", J Clin Epidemiol 66:158-172 and 66:173-183).

The risk in the intervention group at baseline risk ``p`` (Cochrane Handbook, version
6.4, section 15.4.4; Guyatt et al. 2013, GRADE guidelines 12):

==========  ===========================================
measure     risk with the intervention
==========  ===========================================
RR          p * RR   (capped at 1)
OR (PETO)   OR * p / (1 - p + OR * p)
HR          1 - (1 - p) ** HR   (risk of the event by the time point of ``p``)
RD          p + RD   (already absolute; no baseline risk needed)
==========  ===========================================

and the risk difference per 1,000 is ``1000 * (risk with the intervention - p)``; for the
RR this is ``1000 * p * (RR - 1)``.

Boundaries.  An effect whose absolute size on the judgement scale is *at or above* a
threshold reaches it: with thresholds 1.5 / 3.0 / 4.5 cm, |MD| = 1.5 is a small effect,
3.0 a moderate one and 4.5 a large one, while 1.4999 is "little to no effect".  To keep
a value that is exactly at a threshold from falling below it through floating-point
noise (exp(log(x)) and the like), the comparison allows a relative tolerance of
:data:`BOUNDARY_RTOL` (1e-9).

When only the MID is given (``Thresholds(small=mid)``, the minimally contextualised
approach), an effect at or beyond the MID is *important* but its size is not graded:
``size == "important"``.  When the moderate but not the large threshold is given, an
effect at or beyond the moderate threshold is "moderate" (meaning: at least moderate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping

import pandas as pd

from .._result import jsonable
from ..errors import ModelError, SpecError
from .absolute import RATIO_MEASURES as _ABSOLUTE_RATIO
from .absolute import intervention_risk as _intervention_risk
from .types import CERTAINTY, Outcome, Thresholds, certainty as _norm_certainty

__all__ = [
    "BOUNDARY_RTOL",
    "SIZES",
    "RATIO_MEASURES",
    "GROUP_LABELS",
    "Magnitude",
    "intervention_risk",
    "judgement_scale_effect",
    "judgement_scale_interval",
    "judgement_scale_unit",
    "classify_magnitude",
    "group_interventions",
]

#: Relative tolerance with which a value at a threshold counts as reaching it.
BOUNDARY_RTOL = 1e-9

#: Magnitude classes, from none to the largest.  "important" is used when only the MID
#: is known: the effect reaches it but its size is not graded further.
SIZES = ("trivial", "small", "important", "moderate", "large")

#: Ratio measures judged by their absolute effect at a baseline risk.
RATIO_MEASURES = frozenset({"OR", "PETO", "RR", "HR"})
_AS_IS = frozenset({"MD", "SMD", "SMDH", "GEN"})
_NOT_JUDGEABLE = {
    "ROM": "a ratio of means needs a mean in the comparator group to become an absolute difference; "
    "analyse the outcome as an MD (or give thresholds on the MD scale)",
    "AS": "an arcsine risk difference has no natural absolute scale; analyse the outcome as an RD, RR or OR",
}


def _measure(outcome: Outcome) -> str:
    return str(outcome.measure).strip().upper()


def judgement_scale_unit(outcome: Outcome) -> str:
    """The unit of the judgement scale: ``"per 1,000"`` for binary outcomes, the
    outcome's unit (or ``"SD"`` for an SMD) for continuous ones."""
    m = _measure(outcome)
    if m in RATIO_MEASURES or m == "RD":
        return "per 1,000"
    if m in ("SMD", "SMDH"):
        return "SD"
    return outcome.unit


def intervention_risk(measure: str, ratio: float, baseline_risk: float) -> float:
    """The risk with the intervention given a ratio (natural scale, e.g. OR = 0.75) and the
    comparator's risk (see the table in the module docstring for the formulas and sources)."""
    m = str(measure).strip().upper()
    p = float(baseline_risk)
    r = float(ratio)
    if not 0.0 < p < 1.0:
        raise SpecError(f"a baseline risk must be between 0 and 1 (exclusive); got {baseline_risk!r}")
    if not (r >= 0.0) or math.isnan(r):
        raise ModelError(f"a {m} must be a non-negative number on the natural scale; got {ratio!r}")
    if m not in _ABSOLUTE_RATIO:
        raise ModelError(f"no absolute risk for the measure {measure!r}; use one of OR, PETO, RR, HR")
    return float(_intervention_risk(m, r, p))


def judgement_scale_effect(
    estimate: float,
    outcome: Outcome,
    *,
    scale: Literal["analysis", "natural"] = "analysis",
) -> float:
    """The effect on the scale the outcome's thresholds use.

    ``estimate`` is on the analysis scale by default (log OR, log RR, log HR; MD as is);
    pass ``scale="natural"`` to give a ratio itself (OR = 0.75).  Mean differences (and
    SMDs) are returned as they are; a risk difference (RD, a proportion) is returned per
    1,000; ratio measures become the risk difference per 1,000 at
    ``outcome.baseline_risk`` (Guyatt et al. 2013, GRADE guidelines 12).

    Raises :class:`ModelError` for a ratio measure without a baseline risk and for
    measures with no absolute scale (ROM, AS).
    """
    if scale not in ("analysis", "natural"):
        raise SpecError(f"scale must be 'analysis' or 'natural', not {scale!r}")
    x = float(estimate)
    if math.isnan(x):
        raise ModelError(f"outcome {outcome.name!r}: the estimate is missing (NaN); it cannot be classified")
    m = _measure(outcome)
    if m in _AS_IS:
        return x
    if m == "RD":
        return 1000.0 * x
    if m in RATIO_MEASURES:
        p = outcome.baseline_risk
        if p is None:
            raise ModelError(
                f"outcome {outcome.name!r} uses a ratio measure ({m}) but has no baseline_risk: GRADE "
                "judges ratio measures by the absolute effect per 1,000 at a baseline (comparator) risk; "
                "set the outcome's baseline_risk (e.g. the median comparator risk of the trials)"
            )
        ratio = math.exp(x) if scale == "analysis" else x
        return 1000.0 * (intervention_risk(m, ratio, p) - p)
    if m in _NOT_JUDGEABLE:
        raise ModelError(f"outcome {outcome.name!r}: the measure {m} cannot be judged against thresholds: {_NOT_JUDGEABLE[m]}")
    raise ModelError(
        f"outcome {outcome.name!r}: unknown measure {outcome.measure!r} for magnitude judgements; "
        f"use one of {', '.join(sorted(_AS_IS | RATIO_MEASURES | {'RD'}))}"
    )


def judgement_scale_interval(
    ci_low: float,
    ci_high: float,
    outcome: Outcome,
    *,
    scale: Literal["analysis", "natural"] = "analysis",
) -> tuple[float, float]:
    """A confidence interval on the judgement scale (the maps are increasing, so the
    limits stay in order)."""
    lo = judgement_scale_effect(ci_low, outcome, scale=scale)
    hi = judgement_scale_effect(ci_high, outcome, scale=scale)
    return (min(lo, hi), max(lo, hi))


def _reaches(a: float, threshold: float | None) -> bool:
    return threshold is not None and a >= threshold * (1.0 - BOUNDARY_RTOL)


def _size(a: float, t: Thresholds) -> str:
    if not _reaches(a, t.small):
        return "trivial"
    if t.moderate is None:
        return "important"
    if not _reaches(a, t.moderate):
        return "small"
    if t.large is None or not _reaches(a, t.large):
        return "moderate"
    return "large"


@dataclass(frozen=True)
class Magnitude:
    """The size and direction of one effect on the judgement scale.

    ``size`` is one of :data:`SIZES`; ``direction`` is ``"benefit"``, ``"harm"`` or
    ``"none"`` (little to no effect); ``change`` is what happens to the outcome's quantity
    (``"increase"``, ``"decrease"`` or ``"none"``), e.g. less pain is a ``"decrease"``
    and, with ``larger_better=False``, a ``"benefit"``.  ``effect`` is the value on the
    judgement scale (``unit``), ``estimate`` the value as given (``scale``).
    """

    size: str
    direction: str
    change: str
    label: str
    effect: float
    estimate: float
    measure: str
    unit: str
    thresholds: Thresholds
    larger_better: bool
    baseline_risk: float | None = None
    scale: str = "analysis"

    @property
    def important(self) -> bool:
        """True when the effect reaches the MID (the small threshold)."""
        return self.size != "trivial"

    def __str__(self) -> str:
        return self.label

    def to_dict(self) -> dict:
        return jsonable(
            {
                "size": self.size,
                "direction": self.direction,
                "change": self.change,
                "label": self.label,
                "effect": self.effect,
                "estimate": self.estimate,
                "measure": self.measure,
                "unit": self.unit,
                "thresholds": self.thresholds.to_dict(),
                "larger_better": self.larger_better,
                "baseline_risk": self.baseline_risk,
                "scale": self.scale,
            }
        )


def classify_magnitude(
    estimate: float,
    outcome: Outcome,
    *,
    scale: Literal["analysis", "natural"] = "analysis",
) -> Magnitude:
    """Classify an effect as little to no effect, or a small / moderate / large (or, with
    only an MID, "important") benefit or harm.

    The absolute effect on the judgement scale is compared with ``outcome.thresholds``;
    reaching a threshold exactly counts as reaching it (see the module docstring).
    Benefit or harm follows from the sign and ``outcome.larger_better``: for pain
    (``larger_better=False``) a negative MD (less pain) is a benefit; for a binary
    outcome the sign is that of the risk difference (fewer events with
    ``larger_better=False`` is a benefit).
    """
    effect = judgement_scale_effect(estimate, outcome, scale=scale)
    size = _size(abs(effect), outcome.thresholds)
    change = "increase" if effect > 0 else "decrease" if effect < 0 else "none"
    if size == "trivial" or change == "none":
        size = "trivial"
        direction = "none"
        label = "little to no effect"
    else:
        good = (effect > 0) == bool(outcome.larger_better)
        direction = "benefit" if good else "harm"
        label = f"{size} {direction}"
    return Magnitude(
        size=size,
        direction=direction,
        change=change,
        label=label,
        effect=effect,
        estimate=float(estimate),
        measure=_measure(outcome),
        unit=judgement_scale_unit(outcome),
        thresholds=outcome.thresholds,
        larger_better=bool(outcome.larger_better),
        baseline_risk=outcome.baseline_risk if _measure(outcome) in RATIO_MEASURES else None,
        scale=scale,
    )


# ---------------------------------------------------------------------------------
# groups of interventions (NMA conclusions)

#: Category -> group label (Brignardello-Petersen et al. 2020, BMJ 371:m3900 and m3907).
#: Positive categories are better than the reference, negative ones worse.  A guideline
#: may pass its own labels to :func:`group_interventions`.
GROUP_LABELS: dict[int, str] = {
    2: "among the most effective",
    1: "among the intermediate effective",
    0: "no different from the reference",
    -1: "among the intermediate harmful",
    -2: "among the most harmful",
}

#: Certainty groups, presented separately (Brignardello-Petersen et al. 2020).
CERTAINTY_GROUPS = {"high": "high or moderate", "moderate": "high or moderate", "low": "low or very low", "very low": "low or very low"}


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj and obj[name] is not None:
                return obj[name]
        elif getattr(obj, name, None) is not None:
            return getattr(obj, name)
    return default


def _coerce_effect(treatment: str, value: Any) -> tuple[float, str, float | None, float | None]:
    """(estimate, certainty[, ci_low, ci_high]) tuple, a mapping, or an object with
    ``estimate`` and ``final``/``certainty`` (a CertaintyRating)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 2:
            est, cert = value
            lo = hi = None
        elif len(value) == 4:
            est, cert, lo, hi = value
        else:
            raise SpecError(
                f"effect of {treatment!r}: give (estimate, certainty) or (estimate, certainty, ci_low, ci_high); "
                f"got {len(value)} values"
            )
    else:
        est = _get(value, "estimate")
        cert = _get(value, "final", "certainty")
        lo = _get(value, "ci_low")
        hi = _get(value, "ci_high")
        if est is None or cert is None:
            raise SpecError(f"effect of {treatment!r}: needs an estimate and a certainty (final) level")
    return float(est), _norm_certainty(cert), (None if lo is None else float(lo)), (None if hi is None else float(hi))


def _oriented(x: float, outcome: Outcome) -> float:
    """A judgement-scale value oriented so that positive means benefit."""
    return x if outcome.larger_better else -x


def group_interventions(
    effects: Mapping[str, Any],
    outcome: Outcome,
    *,
    approach: Literal["partially", "minimally"] = "partially",
    reference: str | None = None,
    comparisons: Mapping[tuple[str, str], Any] | None = None,
    labels: Mapping[int, str] | None = None,
    scale: Literal["analysis", "natural"] = "analysis",
) -> pd.DataFrame:
    """Group the interventions of a network by their effect against the reference.

    Brignardello-Petersen et al. (2020), "GRADE approach to drawing conclusions from a
    network meta-analysis using a minimally contextualised framework" (BMJ 371:m3900)
    and "... using a partially contextualised framework" (BMJ 371:m3907): interventions
    are placed in categories from the most to the least effective (or harmful), and
    those supported by high or moderate certainty evidence are presented apart from
    those supported by low or very low certainty evidence.

    ``effects`` maps each intervention to its effect against the reference: a tuple
    ``(estimate, certainty)`` or ``(estimate, certainty, ci_low, ci_high)``, or an object
    (mapping) with ``estimate``, ``final``/``certainty`` and optionally ``ci_low``,
    ``ci_high`` -- estimates on ``scale`` (analysis scale: log ratios).

    ``approach="partially"`` (default; m3907) places each intervention by the magnitude
    of its point estimate against ``outcome.thresholds``:

    - category 2, "among the most effective": moderate or large benefit;
    - category 1, "among the intermediate effective": small benefit (or an important
      benefit when only the MID is given);
    - category 0, "no different from the reference": little to no effect;
    - category -1, "among the intermediate harmful": small (or important) harm;
    - category -2, "among the most harmful": moderate or large harm.

    ``approach="minimally"`` (m3900) needs confidence intervals: category 1 holds the
    interventions whose CI lies entirely on the benefit side of the threshold (the null,
    or the MID when ``outcome.target == "mid"``: "superior to the reference"), -1 those
    entirely on the harm side, 0 the rest; an intervention in category 1 that is itself
    superior (CI beyond the same threshold) to at least one other category 1 intervention
    moves to category 2 -- this needs ``comparisons``, a mapping ``(a, b) -> (estimate,
    ci_low, ci_high)`` of a versus b (the other orientation is inferred); -2 mirrors it
    on the harm side.  Without ``comparisons`` no intervention reaches category 2.  A CI
    limit exactly on the threshold does not exclude it.

    Returns one row per intervention (and one for ``reference`` if given), sorted from
    the best category down, with: treatment, estimate, effect (judgement scale), size,
    direction, magnitude, certainty, certainty_group ("high or moderate" / "low or very
    low"), category, group and conclusion (the group, prefixed by "may be" for low or
    very low certainty, as GRADE's wording for low certainty).
    """
    if approach not in ("partially", "minimally"):
        raise SpecError(f"approach must be 'partially' or 'minimally', not {approach!r}")
    names = dict(GROUP_LABELS)
    if labels is not None:
        names.update({int(k): str(v) for k, v in labels.items()})
    rows = []
    parsed = {str(t): _coerce_effect(str(t), v) for t, v in effects.items()}
    threshold = 0.0 if outcome.target == "null" else outcome.mid

    cats: dict[str, int] = {}
    for t, (est, cert, lo, hi) in parsed.items():
        mag = classify_magnitude(est, outcome, scale=scale)
        if approach == "partially":
            if mag.direction == "none":
                cat = 0
            else:
                step = 2 if mag.size in ("moderate", "large") else 1
                cat = step if mag.direction == "benefit" else -step
        else:
            if lo is None or hi is None:
                raise SpecError(
                    f"effect of {t!r}: the minimally contextualised approach needs a confidence interval "
                    "(estimate, certainty, ci_low, ci_high)"
                )
            jlo, jhi = judgement_scale_interval(lo, hi, outcome, scale=scale)
            olo, ohi = sorted((_oriented(jlo, outcome), _oriented(jhi, outcome)))
            cat = 1 if olo > threshold else -1 if ohi < -threshold else 0
        cats[t] = cat
        rows.append(
            {
                "treatment": t,
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "effect": mag.effect,
                "size": mag.size,
                "direction": mag.direction,
                "magnitude": mag.label,
            }
        )

    if approach == "minimally" and comparisons:
        pairs: dict[tuple[str, str], tuple[float, float]] = {}
        for (a, b), v in comparisons.items():
            if isinstance(v, (tuple, list)):
                if len(v) != 3:
                    raise SpecError(f"comparison {a!r} vs {b!r}: give (estimate, ci_low, ci_high)")
                _, clo, chi = v
            else:
                clo, chi = _get(v, "ci_low"), _get(v, "ci_high")
            if clo is None or chi is None:
                raise SpecError(f"comparison {a!r} vs {b!r}: needs ci_low and ci_high")
            jlo, jhi = judgement_scale_interval(float(clo), float(chi), outcome, scale=scale)
            olo, ohi = sorted((_oriented(jlo, outcome), _oriented(jhi, outcome)))
            pairs[(str(a), str(b))] = (olo, ohi)
            pairs[(str(b), str(a))] = (-ohi, -olo)
        new = dict(cats)
        for sign in (1, -1):
            members = [t for t, c in cats.items() if c == sign]
            for a in members:
                for b in members:
                    if a != b and (a, b) in pairs:
                        olo, ohi = pairs[(a, b)]
                        if (sign == 1 and olo > threshold) or (sign == -1 and ohi < -threshold):
                            new[a] = 2 * sign
        cats = new

    for row in rows:
        t = row["treatment"]
        cert = parsed[t][1]
        cat = cats[t]
        row.update(
            {
                "certainty": cert,
                "certainty_group": CERTAINTY_GROUPS[cert],
                "category": cat,
                "group": names[cat],
                "conclusion": names[cat] if cert in ("high", "moderate") else f"may be {names[cat]}",
            }
        )
    if reference is not None and str(reference) not in parsed:
        rows.append(
            {
                "treatment": str(reference),
                "estimate": 0.0 if scale == "analysis" or _measure(outcome) not in RATIO_MEASURES else 1.0,
                "ci_low": None,
                "ci_high": None,
                "effect": 0.0,
                "size": "reference",
                "direction": "none",
                "magnitude": "reference",
                "certainty": None,
                "certainty_group": None,
                "category": 0,
                "group": names[0],
                "conclusion": "reference",
            }
        )
    order = {c: i for i, c in enumerate(CERTAINTY)}
    rows.sort(
        key=lambda r: (
            -r["category"],
            r["size"] != "reference",
            r["certainty_group"] == "low or very low",
            -_oriented(r["effect"], outcome),
            order.get(r["certainty"], -1),
            r["treatment"],
        )
    )
    cols = [
        "treatment", "estimate", "ci_low", "ci_high", "effect", "size", "direction", "magnitude",
        "certainty", "certainty_group", "category", "group", "conclusion",
    ]
    frame = pd.DataFrame(rows, columns=cols)
    frame.attrs["approach"] = approach
    frame.attrs["outcome"] = outcome.name
    frame.attrs["direction"] = "larger values are better" if outcome.larger_better else "smaller values are better"
    frame.attrs["judgement_scale"] = judgement_scale_unit(outcome)
    return frame
