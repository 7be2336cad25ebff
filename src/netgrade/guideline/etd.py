"""Evidence to decision: one structured record per recommendation question.

A recommendation question names a population, one or more interventions (a *group*, such
as "epidural injection of local anaesthetic, steroid, or both") and a comparator.  Its
evidence-to-decision (EtD) record holds what a guideline panel weighs before deciding:

- **benefits**: the effects on the outcomes of the summary of findings, each with its
  estimate and confidence interval, its magnitude (trivial / small / moderate / large,
  judged against the minimal important difference, MID) and direction (benefit / harm /
  none), its GRADE certainty and its informative statement (:class:`OutcomeEffect`);
- **harms and burdens**: rates with their uncertainty and absolute numbers per 1,000
  (e.g. "prolonged pain or stiffness 8.6%", "dural puncture 1.4%"), with certainty
  (:class:`HarmEffect`);
- **certainty of the evidence overall**: the lowest certainty among the *critical*
  outcomes, as GRADE defines it (Guyatt et al. 2013, "GRADE guidelines 11: making an
  overall rating of confidence in effect estimates for a single outcome and for all
  outcomes", J Clin Epidemiol 66:151-157; Guyatt et al. 2008, "Going from evidence to
  recommendations", BMJ 336:1049).  GRADE allows a panel to rate the overall certainty
  higher when all critical outcomes point the same way and the better-supported ones
  carry the decision; that is a judgement, so it is made here through an explicit
  :class:`~netgrade.certainty.types.Override` with a written justification, never
  silently;
- the panel's judgements on the criteria of the GRADE EtD framework for clinical
  recommendations (Alonso-Coello et al. 2016, "GRADE Evidence to Decision (EtD)
  frameworks: a systematic and transparent approach to making well informed healthcare
  choices", BMJ 353:i2016 (introduction) and i2089 (clinical practice guidelines)), each
  with the framework's judgement options and free text (:data:`CRITERIA`);
- **values and preferences** as MAGICapp and the BMJ Rapid Recommendations present them
  (Siemieniuk et al. 2016, "Introduction to BMJ Rapid Recommendations", BMJ 354:i5191;
  Vandvik et al. 2013, Chest 144:381 on MAGIC): what fully informed patients would
  choose, e.g. "all or almost all informed patients would choose to avoid" the
  procedure -- the interpretation GRADE gives a strong recommendation (Andrews et al.
  2013, "GRADE guidelines 14: going from evidence to recommendations: the significance
  and presentation of recommendations", J Clin Epidemiol 66:719-725).

The record is an input to :func:`netgrade.guideline.recommendation.recommend`; it holds
plain values so that it can be written by hand, read from a spec file
(:meth:`EvidenceToDecision.from_dict`) or filled from the certainty stage (magnitudes
from :func:`netgrade.certainty.magnitude.classify_magnitude` through
:meth:`OutcomeEffect.from_magnitude`).  Unknown judgement values are refused with a
:class:`~netgrade.errors.SpecError` that names the field and lists the options.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .._result import ResultMixin, jsonable
from ..certainty.types import CERTAINTY, Override, Thresholds
from ..certainty.types import certainty as _certainty
from ..errors import SpecError

__all__ = [
    "CRITERIA",
    "CRITERION_QUESTIONS",
    "SIZES",
    "DIRECTIONS",
    "IMPORTANCE",
    "Judgement",
    "OutcomeEffect",
    "HarmEffect",
    "EvidenceToDecision",
    "effects_from_sof",
    "certainty_rank",
    "lowest_certainty",
    "size_rank",
    "normalise_judgement",
]

# ---------------------------------------------------------------------------------------
# vocabularies

#: Magnitude classes of :mod:`netgrade.certainty.magnitude`.  "important" is an effect that
#: reaches the MID when only the MID is known (minimally contextualised approach): it ranks
#: with "small" (it reaches the MID, its size is not graded further).
SIZES = ("trivial", "small", "important", "moderate", "large")
_SIZE_RANK = {"trivial": 0, "small": 1, "important": 1, "moderate": 2, "large": 3}
DIRECTIONS = ("benefit", "harm", "none")
#: GRADE's importance of outcomes (Guyatt et al. 2011, GRADE guidelines 2, J Clin Epidemiol
#: 64:395): critical (7-9), important but not critical (4-6), of limited importance (1-3).
IMPORTANCE = ("critical", "important", "not important")

_YES_NO = ("no", "probably no", "probably yes", "yes", "varies", "don't know")
_BALANCE = (
    "favours the comparison",
    "probably favours the comparison",
    "does not favour either the intervention or the comparison",
    "probably favours the intervention",
    "favours the intervention",
    "varies",
    "don't know",
)
#: What fully informed patients would choose (MAGICapp / BMJ Rapid Recommendations; the
#: GRADE interpretation of strong and conditional recommendations, Andrews et al. 2013).
PREFERENCES = (
    "all or almost all would choose the intervention",
    "most would choose the intervention, many would not",
    "choices would vary",
    "most would decline the intervention, many would not",
    "all or almost all would decline the intervention",
    "don't know",
)

#: criterion -> (question of the GRADE EtD framework, judgement options).  Options follow
#: Alonso-Coello et al. 2016 (BMJ 353:i2016, i2089), in the framework's order; "values" is
#: the MAGICapp statement of what informed patients would choose (:data:`PREFERENCES`),
#: "values_uncertainty" the framework's own values criterion.
CRITERIA: dict[str, tuple[str, tuple[str, ...]]] = {
    "problem": ("Is the problem a priority?", _YES_NO),
    "desirable_effects": (
        "How substantial are the desirable anticipated effects?",
        ("trivial", "small", "moderate", "large", "varies", "don't know"),
    ),
    "undesirable_effects": (
        "How substantial are the undesirable anticipated effects?",
        ("large", "moderate", "small", "trivial", "varies", "don't know"),
    ),
    "values_uncertainty": (
        "Is there important uncertainty about or variability in how much people value the main outcomes?",
        (
            "important uncertainty or variability",
            "possibly important uncertainty or variability",
            "probably no important uncertainty or variability",
            "no important uncertainty or variability",
        ),
    ),
    "values": ("What would fully informed patients choose (values and preferences)?", PREFERENCES),
    "balance": (
        "Does the balance between desirable and undesirable effects favour the intervention or the comparison?",
        _BALANCE,
    ),
    "resources": (
        "How large are the resource requirements (costs)?",
        ("large costs", "moderate costs", "negligible costs and savings", "moderate savings", "large savings", "varies", "don't know"),
    ),
    "resources_certainty": (
        "What is the certainty of the evidence of resource requirements (costs)?",
        ("very low", "low", "moderate", "high", "no included studies"),
    ),
    "cost_effectiveness": (
        "Does the cost-effectiveness of the intervention favour the intervention or the comparison?",
        _BALANCE[:-1] + ("no included studies",),
    ),
    "equity": (
        "What would be the impact on health equity?",
        ("reduced", "probably reduced", "probably no impact", "probably increased", "increased", "varies", "don't know"),
    ),
    "acceptability": ("Is the intervention acceptable to key stakeholders?", _YES_NO),
    "feasibility": ("Is the intervention feasible to implement?", _YES_NO),
}
CRITERION_QUESTIONS = {k: q for k, (q, _) in CRITERIA.items()}

#: Readable names of the criteria (MAGICapp headings where they exist).
CRITERION_NAMES = {
    "problem": "Priority of the problem",
    "desirable_effects": "Desirable effects",
    "undesirable_effects": "Undesirable effects",
    "values_uncertainty": "Uncertainty or variability in values",
    "values": "Values and preferences",
    "balance": "Balance of effects",
    "resources": "Resources required",
    "resources_certainty": "Certainty of the evidence on resources",
    "cost_effectiveness": "Cost-effectiveness",
    "equity": "Equity",
    "acceptability": "Acceptability",
    "feasibility": "Feasibility",
}

# Spellings accepted for options (after lower-casing, "favor" -> "favour", "do not know"
# -> "don't know").  Keys are per criterion; "*" applies everywhere.
_ALIASES: dict[str, dict[str, str]] = {
    "*": {"dont know": "don't know", "unknown": "don't know"},
    "balance": {
        "does not favour either": "does not favour either the intervention or the comparison",
        "favours neither": "does not favour either the intervention or the comparison",
        "neither": "does not favour either the intervention or the comparison",
    },
    "cost_effectiveness": {
        "does not favour either": "does not favour either the intervention or the comparison",
        "favours neither": "does not favour either the intervention or the comparison",
    },
    "values": {
        "all or almost all would choose to avoid": "all or almost all would decline the intervention",
        "all or almost all would choose to avoid the intervention": "all or almost all would decline the intervention",
        "all or almost all would decline": "all or almost all would decline the intervention",
        "all or almost all would choose": "all or almost all would choose the intervention",
        "most would choose the intervention": "most would choose the intervention, many would not",
        "most would decline the intervention": "most would decline the intervention, many would not",
        "most would choose": "most would choose the intervention, many would not",
        "most would decline": "most would decline the intervention, many would not",
        "most would choose to avoid": "most would decline the intervention, many would not",
        "varies": "choices would vary",
        "vary": "choices would vary",
    },
    "resources": {"negligible": "negligible costs and savings"},
}


def _key(value: Any) -> str:
    v = str(value).strip().lower().replace("\u2019", "'")
    v = re.sub(r"\s+", " ", v)
    v = re.sub(r"\bfavor", "favour", v)
    v = v.replace("do not know", "don't know")
    # MAGICapp's wording names the patients and the procedure; the option does not.
    v = v.replace(" informed patients ", " ").replace(" informed people ", " ")
    v = re.sub(r"\bthe (procedure|treatment|option)\b", "the intervention", v)
    return v.rstrip(".")


def normalise_judgement(criterion: str, value: Any, where: str = "evidence_to_decision") -> str:
    """Return the canonical option for ``value`` on ``criterion``, or raise
    :class:`SpecError` naming the field (``where.criterion``) and listing the options."""
    if criterion not in CRITERIA:
        raise SpecError(f"{where}: unknown criterion {criterion!r}; use one of: {', '.join(CRITERIA)}")
    options = CRITERIA[criterion][1]
    v = _key(value)
    v = _ALIASES.get(criterion, {}).get(v, _ALIASES["*"].get(v, v))
    if v not in options:
        raise SpecError(
            f"{where}.{criterion}: unknown judgement {value!r}; use one of: "
            + "; ".join(repr(o) for o in options)
        )
    return v


def certainty_rank(level: str) -> int:
    """3 for high, 2 moderate, 1 low, 0 very low."""
    return len(CERTAINTY) - 1 - CERTAINTY.index(_certainty(level))


def lowest_certainty(levels: Iterable[str]) -> str | None:
    """The lowest of ``levels`` (None if there are none)."""
    levels = [_certainty(c) for c in levels]
    return min(levels, key=certainty_rank) if levels else None


def size_rank(size: str) -> int:
    """0 trivial, 1 small (or "important": reaches the MID, not graded), 2 moderate, 3 large."""
    return _SIZE_RANK[_size(size)]


def _size(value: Any, where: str = "magnitude") -> str:
    v = str(value).strip().lower()
    aliases = {"little to no effect": "trivial", "little to no difference": "trivial", "none": "trivial", "negligible": "trivial"}
    v = aliases.get(v, v)
    if v not in _SIZE_RANK:
        raise SpecError(f"{where}: unknown magnitude {value!r}; use one of: {', '.join(SIZES)}")
    return v


def _direction(value: Any, where: str = "direction") -> str:
    v = str(value).strip().lower()
    if v not in DIRECTIONS:
        raise SpecError(f"{where}: unknown direction {value!r}; use one of: {', '.join(DIRECTIONS)}")
    return v


def _importance(value: Any, where: str) -> str:
    v = str(value).strip().lower().replace("_", " ")
    v = {"limited": "not important", "of limited importance": "not important"}.get(v, v)
    if v not in IMPORTANCE:
        raise SpecError(f"{where}: unknown importance {value!r}; use one of: {', '.join(IMPORTANCE)}")
    return v


def _opt_float(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: expected a number, got {value!r}") from None
    if math.isnan(x):
        return None
    return x


MINUS = "\u2212"


def _num(x: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a typographic minus ('NA' if missing)."""
    if x is None or not math.isfinite(float(x)):
        return "NA"
    s = f"{float(x):.{digits}f}"
    if float(s) == 0.0:
        s = s.lstrip("-")
    return s.replace("-", MINUS)


def _pct(p: float) -> str:
    """A proportion as a percentage: one decimal (8.6%), two significant digits below 1%."""
    v = 100.0 * float(p)
    if v != 0 and abs(v) < 1:
        return f"{v:.2g}%"
    return f"{v:.1f}%"


def _per_1000(p: float) -> str:
    v = 1000.0 * float(p)
    if v != 0 and abs(v) < 10:
        return f"{v:.1f}".replace("-", MINUS)
    return f"{v:.0f}".replace("-", MINUS)


def join_names(names: Sequence[str], word: str = "or") -> str:
    """'a', 'a or b', 'a, b or c'."""
    names = list(names)
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {word} {names[-1]}"


# ---------------------------------------------------------------------------------------
# judgements


@dataclass(frozen=True)
class Judgement:
    """The panel's judgement on one EtD criterion: an option of the framework, the
    research evidence behind it and the panel's free text (additional considerations)."""

    criterion: str
    value: str
    text: str = ""
    evidence: str = ""

    def __post_init__(self):
        object.__setattr__(self, "value", normalise_judgement(self.criterion, self.value))
        object.__setattr__(self, "text", str(self.text or ""))
        object.__setattr__(self, "evidence", str(self.evidence or ""))

    @property
    def question(self) -> str:
        return CRITERIA[self.criterion][0]

    @property
    def name(self) -> str:
        return CRITERION_NAMES[self.criterion]

    def sentence(self) -> str:
        """'Values and preferences: all or almost all would decline the intervention. <text>'"""
        out = f"{self.name}: {self.value}."
        if self.text:
            out += f" {self.text.strip()}"
        return out

    def to_dict(self) -> dict:
        return {"criterion": self.criterion, "judgement": self.value, "text": self.text, "evidence": self.evidence}


def _judgement(criterion: str, value: Any, where: str) -> Judgement | None:
    """Accept None, an option string, (option, text), a mapping with 'judgement' (or
    'value') and optional 'text' / 'evidence', or a :class:`Judgement`."""
    if value is None:
        return None
    if isinstance(value, Judgement):
        if value.criterion != criterion:
            raise SpecError(f"{where}.{criterion}: a judgement on {value.criterion!r} was given")
        return value
    text = evidence = ""
    if isinstance(value, Mapping):
        unknown = set(value) - {"judgement", "value", "text", "evidence"}
        if unknown:
            raise SpecError(f"{where}.{criterion}: unknown keys {sorted(unknown)}; use judgement, text, evidence")
        raw = value.get("judgement", value.get("value"))
        if raw is None:
            raise SpecError(f"{where}.{criterion}: give a 'judgement'")
        text, evidence = value.get("text", ""), value.get("evidence", "")
    elif isinstance(value, (tuple, list)):
        if not 1 <= len(value) <= 3:
            raise SpecError(f"{where}.{criterion}: give (judgement[, text[, evidence]])")
        raw, *rest = value
        text = rest[0] if rest else ""
        evidence = rest[1] if len(rest) > 1 else ""
    else:
        raw = value
    return Judgement(criterion, normalise_judgement(criterion, raw, where), text, evidence)


# ---------------------------------------------------------------------------------------
# benefits


@dataclass(frozen=True)
class OutcomeEffect:
    """The effect of one intervention against the comparator on one outcome, as a row of
    the summary of findings: estimate and CI, magnitude (size and direction against the
    MID), GRADE certainty and the informative statement.

    ``magnitude`` is a size of :data:`SIZES` (trivial = below the MID) or any object
    with ``size`` and ``direction`` (a :class:`netgrade.certainty.magnitude.Magnitude`);
    without it, the estimate is classified with
    :func:`netgrade.certainty.magnitude.classify_magnitude` from ``thresholds`` (or a
    bare MID) and ``larger_better`` -- the estimate must then be on the thresholds'
    scale (natural units for a mean difference).  ``importance`` is GRADE's: only
    critical outcomes enter the overall certainty (and, by default, the decision rule).
    ``absolute`` is an optional absolute effect as text ("30 fewer per 1,000").
    """

    intervention: str
    comparator: str
    outcome: str
    estimate: float
    certainty: str
    ci_low: float | None = None
    ci_high: float | None = None
    magnitude: Any = None
    direction: str | None = None
    statement: str = ""
    importance: str = "critical"
    measure: str = ""
    unit: str = ""
    absolute: str = ""
    thresholds: Any = None
    larger_better: bool | None = None
    source: str = ""

    def __post_init__(self):
        where = f"benefit {self.intervention!r} vs {self.comparator!r} on {self.outcome!r}"
        for name in ("intervention", "comparator", "outcome"):
            if not str(getattr(self, name) or "").strip():
                raise SpecError(f"{where}: {name} is empty")
            object.__setattr__(self, name, str(getattr(self, name)).strip())
        est = _opt_float(self.estimate, f"{where}: estimate")
        if est is None or not math.isfinite(est):
            raise SpecError(f"{where}: the estimate is missing")
        object.__setattr__(self, "estimate", est)
        lo = _opt_float(self.ci_low, f"{where}: ci_low")
        hi = _opt_float(self.ci_high, f"{where}: ci_high")
        if (lo is None) != (hi is None):
            raise SpecError(f"{where}: give both ci_low and ci_high, or neither")
        if lo is not None and not lo <= est <= hi:
            raise SpecError(f"{where}: the estimate {est} lies outside its CI [{lo}, {hi}]")
        object.__setattr__(self, "ci_low", lo)
        object.__setattr__(self, "ci_high", hi)
        try:
            object.__setattr__(self, "certainty", _certainty(self.certainty))
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None
        object.__setattr__(self, "importance", _importance(self.importance, where))
        if isinstance(self.thresholds, (int, float)) and not isinstance(self.thresholds, bool):
            object.__setattr__(self, "thresholds", Thresholds(small=float(self.thresholds)))
        elif self.thresholds is not None and not isinstance(self.thresholds, Thresholds):
            raise SpecError(f"{where}: thresholds must be a Thresholds or a number (the MID)")

        mag = self.magnitude
        if mag is not None and not isinstance(mag, str):  # a Magnitude-like object
            size, direction = getattr(mag, "size", None), getattr(mag, "direction", None)
            if size is None or direction is None:
                raise SpecError(f"{where}: magnitude must be a size or an object with .size and .direction")
            if self.direction is not None and _direction(self.direction, where) != direction:
                raise SpecError(f"{where}: direction {self.direction!r} contradicts the magnitude's {direction!r}")
            mag, dirn = size, direction
        elif mag is None:
            if self.thresholds is None or self.larger_better is None:
                raise SpecError(
                    f"{where}: give the magnitude (trivial/small/moderate/large) and direction, or thresholds "
                    "(the MID) and larger_better so that the estimate can be classified"
                )
            from ..certainty.magnitude import classify_magnitude  # call time: another stage's module
            from ..certainty.types import Outcome

            oc = Outcome(
                name=self.outcome,
                measure=self.measure or "MD",
                larger_better=bool(self.larger_better),
                thresholds=self.thresholds,
                unit=self.unit,
            )
            m = classify_magnitude(est, oc, scale="natural")
            mag, dirn = m.size, m.direction
        else:
            dirn = self.direction
        mag = _size(mag, where)
        if dirn is None:
            if mag != "trivial":
                raise SpecError(f"{where}: a {mag} effect needs a direction (benefit or harm)")
            dirn = "none"
        dirn = _direction(dirn, where)
        if mag != "trivial" and dirn == "none":
            raise SpecError(f"{where}: a {mag} effect must be a benefit or a harm, not 'none'")
        object.__setattr__(self, "magnitude", mag)
        object.__setattr__(self, "direction", dirn)
        for name in ("statement", "measure", "unit", "absolute", "source"):
            object.__setattr__(self, name, str(getattr(self, name) or ""))

    @classmethod
    def from_magnitude(cls, magnitude: Any, **fields: Any) -> "OutcomeEffect":
        """Build from a :class:`~netgrade.certainty.magnitude.Magnitude` (or any object with
        ``size``, ``direction`` and, optionally, ``estimate``, ``measure`` and ``unit``)."""
        fields.setdefault("estimate", getattr(magnitude, "estimate", None))
        if getattr(magnitude, "measure", None) and "measure" not in fields:
            fields["measure"] = magnitude.measure
        return cls(magnitude=magnitude, **fields)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "benefit") -> "OutcomeEffect":
        return _from_mapping(cls, data, where, aliases={"treatment": "intervention", "lower": "ci_low", "upper": "ci_high"})

    @property
    def important_benefit_size(self) -> int:
        """Size rank in the direction of benefit (0 unless a benefit)."""
        return size_rank(self.magnitude) if self.direction == "benefit" else 0

    @property
    def magnitude_label(self) -> str:
        if self.magnitude == "trivial":
            return "little to no difference (below the MID)"
        if self.magnitude == "important":
            return f"important {self.direction} (reaches the MID)"
        return f"{self.magnitude} {self.direction}"

    def effect_text(self) -> str:
        """'MD 0.28 cm (95% CI -1.18 to 1.75)'."""
        unit = f" {self.unit}" if self.unit else ""
        out = f"{self.measure + ' ' if self.measure else ''}{_num(self.estimate)}{unit}"
        if self.ci_low is not None:
            out += f" (95% CI {_num(self.ci_low)} to {_num(self.ci_high)})"
        if self.absolute:
            out += f"; {self.absolute}"
        return out

    def statement_text(self) -> str:
        """The informative statement, or GRADE's standard wording when none was given
        (Santesso et al. 2020, "GRADE guidelines 26: informative statements to communicate
        the findings of systematic reviews of interventions", J Clin Epidemiol 119:126):
        high certainty "results in", moderate "probably results in", low "may result in",
        very low "the evidence is very uncertain about"."""
        if self.statement:
            return self.statement
        if self.certainty == "very low":
            return f"the evidence is very uncertain about the effect on {self.outcome}"
        verb = {"high": "results in", "moderate": "probably results in", "low": "may result in"}[self.certainty]
        if self.magnitude == "trivial":
            return f"{verb} little to no difference in {self.outcome}"
        size = "an important" if self.magnitude == "important" else f"a {self.magnitude}"
        return f"{verb} {size} {self.direction} on {self.outcome}"

    def sentence(self, comparator: bool = True) -> str:
        """'Compared with sham, epidural LA probably provides little to no difference in
        pain relief (pain: MD 0.28 cm (95% CI -1.18 to 1.75); moderate certainty; little to
        no difference (below the MID)).'"""
        details = f"({self.outcome}: {self.effect_text()}; {self.certainty} certainty; {self.magnitude_label})"
        st = self.statement_text().strip()
        if st.lower().startswith(self.intervention.lower()):
            # a whole sentence already (as the summary-of-findings statements are)
            return f"{st.rstrip('.')} {details}."
        head = f"Compared with {self.comparator}, {self.intervention}" if comparator else self.intervention
        return f"{head} {st} {details}."

    def to_dict(self) -> dict:
        return jsonable(
            {
                "intervention": self.intervention,
                "comparator": self.comparator,
                "outcome": self.outcome,
                "importance": self.importance,
                "measure": self.measure,
                "unit": self.unit,
                "estimate": self.estimate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "magnitude": self.magnitude,
                "direction": self.direction,
                "certainty": self.certainty,
                "statement": self.statement_text(),
                "absolute": self.absolute,
                "source": self.source,
            }
        )


def effects_from_sof(
    sof: Any,
    importance: str = "critical",
    interventions: Sequence[str] | None = None,
    baseline: int = 0,
) -> tuple[OutcomeEffect, ...]:
    """The rows of a summary-of-findings table as :class:`OutcomeEffect` objects.

    ``sof`` is a :class:`netgrade.certainty.sof.SummaryOfFindings` (or any object with
    ``outcome`` -- name and unit --, ``measure`` and ``rows`` whose items carry
    intervention, comparator, effect and effect_ci_low/high on the natural scale,
    certainty, magnitude and statement); read by attribute, so this module does not
    import the certainty stage.  ``interventions`` keeps only those rows; ``baseline``
    picks the absolute effect shown for binary outcomes (GRADE's "per 1,000" text).
    """
    outcome = getattr(sof, "outcome", None)
    name = getattr(outcome, "name", None) or str(outcome)
    unit = getattr(outcome, "unit", "") or ""
    measure = str(getattr(sof, "measure", "") or "")
    keep = None if interventions is None else set(interventions)
    out = []
    for row in getattr(sof, "rows", ()):
        if keep is not None and row.intervention not in keep:
            continue
        absolute = ""
        abs_effects = getattr(row, "absolute", ()) or ()
        if abs_effects:
            a = abs_effects[min(baseline, len(abs_effects) - 1)]
            absolute = a.difference_text() if hasattr(a, "difference_text") else str(a)
        est = getattr(row, "effect", None)
        lo, hi = getattr(row, "effect_ci_low", None), getattr(row, "effect_ci_high", None)
        if est is None:
            est, lo, hi = row.estimate, row.ci_low, row.ci_high
        out.append(
            OutcomeEffect(
                intervention=row.intervention,
                comparator=row.comparator,
                outcome=name,
                estimate=est,
                certainty=row.certainty,
                ci_low=lo,
                ci_high=hi,
                magnitude=row.magnitude,
                statement=getattr(row, "statement", "") or "",
                importance=importance,
                measure=measure,
                unit=unit if measure.upper() not in ("OR", "RR", "HR", "PETO") else "",
                absolute=absolute,
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------
# harms and burdens


@dataclass(frozen=True)
class HarmEffect:
    """A harm or burden: a rate (proportion of patients, 0-1) with its CI and certainty,
    shown as a percentage and per 1,000; or a burden without a rate, described in text.

    ``interventions`` names the members of the question it applies to (empty: all);
    ``comparator_rate`` turns the rate into an absolute difference ("66 more per
    1,000"); ``importance`` "critical" puts its certainty into the overall certainty
    (GRADE: the lowest among critical outcomes, harms included).
    """

    name: str
    rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    certainty: str | None = None
    interventions: tuple[str, ...] = ()
    comparator_rate: float | None = None
    importance: str = "important"
    text: str = ""
    source: str = ""

    def __post_init__(self):
        where = f"harm {self.name!r}"
        if not str(self.name or "").strip():
            raise SpecError("harm: the name is empty")
        object.__setattr__(self, "name", str(self.name).strip())
        vals = {}
        for f in ("rate", "ci_low", "ci_high", "comparator_rate"):
            x = _opt_float(getattr(self, f), f"{where}: {f}")
            if x is not None and not 0.0 <= x <= 1.0:
                raise SpecError(f"{where}: {f} must be a proportion between 0 and 1 (8.6% is 0.086); got {x}")
            vals[f] = x
            object.__setattr__(self, f, x)
        if (vals["ci_low"] is None) != (vals["ci_high"] is None):
            raise SpecError(f"{where}: give both ci_low and ci_high, or neither")
        if vals["ci_low"] is not None:
            if vals["rate"] is None:
                raise SpecError(f"{where}: a CI needs a rate")
            if not vals["ci_low"] <= vals["rate"] <= vals["ci_high"]:
                raise SpecError(f"{where}: the rate {vals['rate']} lies outside its CI [{vals['ci_low']}, {vals['ci_high']}]")
        if vals["rate"] is None and not str(self.text or "").strip():
            raise SpecError(f"{where}: give a rate, or describe the burden in text")
        if self.certainty is not None:
            try:
                object.__setattr__(self, "certainty", _certainty(self.certainty))
            except SpecError as exc:
                raise SpecError(f"{where}: {exc}") from None
        if isinstance(self.interventions, str):
            object.__setattr__(self, "interventions", (self.interventions,))
        object.__setattr__(self, "interventions", tuple(str(i).strip() for i in self.interventions))
        object.__setattr__(self, "importance", _importance(self.importance, where))
        object.__setattr__(self, "text", str(self.text or ""))
        object.__setattr__(self, "source", str(self.source or ""))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "harm") -> "HarmEffect":
        return _from_mapping(cls, data, where, aliases={"lower": "ci_low", "upper": "ci_high"})

    @property
    def per_1000(self) -> float | None:
        return None if self.rate is None else 1000.0 * self.rate

    @property
    def difference_per_1000(self) -> float | None:
        if self.rate is None or self.comparator_rate is None:
            return None
        return 1000.0 * (self.rate - self.comparator_rate)

    def applies_to(self, intervention: str) -> bool:
        return not self.interventions or intervention in self.interventions

    def describe(self) -> str:
        """'prolonged pain or stiffness 8.6% (95% CI 5.0% to 13.0%; 86 per 1,000, 50 to
        130), low certainty'."""
        if self.rate is None:
            out = f"{self.name} ({self.text.strip()})"
        else:
            out = f"{self.name} {_pct(self.rate)}"
            inner = []
            if self.ci_low is not None:
                inner.append(f"95% CI {_pct(self.ci_low)} to {_pct(self.ci_high)}")
            absn = f"{_per_1000(self.rate)} per 1,000"
            if self.ci_low is not None:
                absn += f", {_per_1000(self.ci_low)} to {_per_1000(self.ci_high)}"
            inner.append(absn)
            if self.comparator_rate is not None:
                d = self.difference_per_1000
                word = "more" if d >= 0 else "fewer"
                inner.append(f"{_per_1000(abs(d) / 1000.0)} {word} per 1,000 than with the comparator ({_pct(self.comparator_rate)})")
            out += f" ({'; '.join(inner)})"
            if self.text:
                out += f" -- {self.text.strip()}"
        if self.certainty:
            out += f", {self.certainty} certainty"
        return out

    def to_dict(self) -> dict:
        return jsonable(
            {
                "name": self.name,
                "rate": self.rate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "per_1000": self.per_1000,
                "comparator_rate": self.comparator_rate,
                "difference_per_1000": self.difference_per_1000,
                "certainty": self.certainty,
                "interventions": list(self.interventions),
                "importance": self.importance,
                "text": self.text,
                "source": self.source,
                "description": self.describe(),
            }
        )


def _from_mapping(cls, data: Mapping[str, Any], where: str, aliases: Mapping[str, str] = {}):
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}: expected a table of fields, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for k, v in data.items():
        k2 = aliases.get(k, k)
        if k2 not in names:
            raise SpecError(f"{where}: unknown field {k!r}; use: {', '.join(sorted(names))}")
        kwargs[k2] = v
    if "interventions" in kwargs and isinstance(kwargs["interventions"], list):
        kwargs["interventions"] = tuple(kwargs["interventions"])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise SpecError(f"{where}: {exc}") from None


# ---------------------------------------------------------------------------------------
# the record

_JUDGED = tuple(CRITERIA)


@dataclass(frozen=True)
class EvidenceToDecision(ResultMixin):
    """The evidence-to-decision record of one recommendation question.

    ``interventions`` may hold several members that the guideline recommends on together
    ("epidural injection of local anaesthetic, steroid, or both"); ``label`` is the
    wording of the group in the recommendation (default: the members joined with "or").
    Every member must have its effects in ``benefits``; harms apply to all members unless
    they name some.  The criteria of :data:`CRITERIA` take an option string, a tuple
    ``(option, text)``, a mapping ``{judgement, text, evidence}`` or a :class:`Judgement`.
    ``certainty_override`` replaces the computed overall certainty (lowest among critical
    outcomes) with a justification; the decision rule then uses it for every member.
    ``budget`` may hold a :class:`netgrade.guideline.budget.BudgetImpact` whose headline
    the recommendation's rationale quotes under resources.
    """

    population: str
    interventions: tuple[str, ...]
    comparator: str
    benefits: tuple[OutcomeEffect, ...]
    harms: tuple[HarmEffect, ...] = ()
    label: str = ""
    id: str = ""
    problem: Any = None
    desirable_effects: Any = None
    undesirable_effects: Any = None
    values_uncertainty: Any = None
    values: Any = None
    balance: Any = None
    resources: Any = None
    resources_certainty: Any = None
    cost_effectiveness: Any = None
    equity: Any = None
    acceptability: Any = None
    feasibility: Any = None
    certainty_override: Override | None = None
    budget: Any = None
    remarks: tuple[str, ...] = ()

    def __post_init__(self):
        where = f"evidence_to_decision {self.id or self.label or self.interventions!r}"
        interventions = (self.interventions,) if isinstance(self.interventions, str) else tuple(self.interventions)
        interventions = tuple(str(i).strip() for i in interventions)
        if not interventions or any(not i for i in interventions):
            raise SpecError(f"{where}: interventions must name at least one intervention (no empty names)")
        dup = sorted({i for i in interventions if interventions.count(i) > 1})
        if dup:
            raise SpecError(f"{where}: interventions listed twice: {dup}")
        object.__setattr__(self, "interventions", interventions)
        if not str(self.comparator or "").strip():
            raise SpecError(f"{where}: the comparator is empty")
        object.__setattr__(self, "comparator", str(self.comparator).strip())
        object.__setattr__(self, "population", str(self.population or "").strip())
        object.__setattr__(self, "label", str(self.label or "").strip())
        object.__setattr__(self, "id", str(self.id or "").strip())

        benefits = []
        for i, b in enumerate(self.benefits):
            if isinstance(b, Mapping):
                b = OutcomeEffect.from_dict({"comparator": self.comparator, **b}, f"{where}.benefits[{i}]")
            if not isinstance(b, OutcomeEffect):
                raise SpecError(f"{where}.benefits[{i}]: expected an OutcomeEffect or a table, got {type(b).__name__}")
            if b.intervention not in interventions:
                raise SpecError(
                    f"{where}.benefits[{i}]: intervention {b.intervention!r} is not one of the question's "
                    f"interventions ({', '.join(interventions)})"
                )
            if b.comparator.lower() != self.comparator.lower():
                raise SpecError(
                    f"{where}.benefits[{i}]: the effect is against {b.comparator!r}, but the question's "
                    f"comparator is {self.comparator!r}"
                )
            benefits.append(b)
        object.__setattr__(self, "benefits", tuple(benefits))

        harms = []
        for i, h in enumerate(self.harms):
            if isinstance(h, Mapping):
                h = HarmEffect.from_dict(h, f"{where}.harms[{i}]")
            if not isinstance(h, HarmEffect):
                raise SpecError(f"{where}.harms[{i}]: expected a HarmEffect or a table, got {type(h).__name__}")
            unknown = [m for m in h.interventions if m not in interventions]
            if unknown:
                raise SpecError(
                    f"{where}.harms[{i}] ({h.name!r}): {unknown} not among the question's interventions "
                    f"({', '.join(interventions)})"
                )
            harms.append(h)
        object.__setattr__(self, "harms", tuple(harms))

        for name in _JUDGED:
            object.__setattr__(self, name, _judgement(name, getattr(self, name), where))
        ov = self.certainty_override
        if ov is not None:
            if isinstance(ov, Mapping):
                unknown = sorted(set(ov) - {"level", "justification", "by"})
                if unknown or "level" not in ov:
                    raise SpecError(f"{where}.certainty_override: give level, justification (and by); got {sorted(ov)}")
                ov = Override(ov["level"], ov.get("justification", ""), ov.get("by", ""))
            if not isinstance(ov, Override):
                raise SpecError(f"{where}.certainty_override: expected an Override(level, justification)")
            try:
                ov = Override(_certainty(ov.level), ov.justification, ov.by)
            except SpecError as exc:
                raise SpecError(f"{where}.certainty_override: {exc}") from None
            object.__setattr__(self, "certainty_override", ov)
        remarks = (self.remarks,) if isinstance(self.remarks, str) else tuple(self.remarks)
        object.__setattr__(self, "remarks", tuple(str(r) for r in remarks))

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EvidenceToDecision":
        """Build from a spec table (``[[evidence_to_decision]]``): the field names of this
        class; ``benefits`` and ``harms`` as lists of tables; ``certainty_override`` as
        ``{level, justification, by}``; ``budget`` is not read here (pass a
        :class:`~netgrade.guideline.budget.BudgetImpact`)."""
        if not isinstance(data, Mapping):
            raise SpecError("evidence_to_decision: expected a table")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        where = f"evidence_to_decision {data.get('id') or data.get('label') or ''}".strip()
        if unknown:
            raise SpecError(f"{where}: unknown keys {unknown}; use: {', '.join(sorted(names))}")
        kw = dict(data)
        for key in ("interventions", "remarks"):
            if isinstance(kw.get(key), list):
                kw[key] = tuple(kw[key])
        kw["benefits"] = tuple(kw.get("benefits", ()))
        kw["harms"] = tuple(kw.get("harms", ()))
        for key in ("population", "interventions", "comparator"):
            if key not in kw:
                raise SpecError(f"{where}: missing key {key!r}")
        return cls(**kw)

    def subset(self, interventions: Sequence[str], label: str | None = None, id: str | None = None) -> "EvidenceToDecision":
        """The same question restricted to some members (for splitting a group)."""
        members = tuple(interventions)
        missing = [m for m in members if m not in self.interventions]
        if missing:
            raise SpecError(f"{self.key}: {missing} are not among the interventions ({', '.join(self.interventions)})")
        harms = tuple(
            dataclasses.replace(h, interventions=tuple(m for m in h.interventions if m in members))
            for h in self.harms
            if not h.interventions or any(m in members for m in h.interventions)
        )
        return dataclasses.replace(
            self,
            interventions=members,
            benefits=tuple(b for b in self.benefits if b.intervention in members),
            harms=harms,
            label=join_names(members) if label is None else label,
            id=f"{self.key} [{', '.join(members)}]" if id is None else id,
        )

    # ------------------------------------------------------------------ queries

    @property
    def key(self) -> str:
        """The question's identifier: ``id``, else "population: label" (the label defaults
        to the members joined with "or")."""
        if self.id:
            return self.id
        return f"{self.population}: {self.group_label}" if self.population else self.group_label

    @property
    def group_label(self) -> str:
        return self.label or join_names(self.interventions)

    def effects(self, intervention: str, importance: Sequence[str] = ("critical",)) -> tuple[OutcomeEffect, ...]:
        """The member's effects on outcomes of the given importance."""
        return tuple(b for b in self.benefits if b.intervention == intervention and b.importance in importance)

    def harms_for(self, intervention: str) -> tuple[HarmEffect, ...]:
        return tuple(h for h in self.harms if h.applies_to(intervention))

    def computed_certainty_of(self, intervention: str) -> str | None:
        """Lowest certainty among the member's critical outcomes (benefits, and harms rated
        critical with a certainty), or None without any."""
        levels = [b.certainty for b in self.effects(intervention)]
        levels += [h.certainty for h in self.harms_for(intervention) if h.importance == "critical" and h.certainty]
        return lowest_certainty(levels)

    def certainty_of(self, intervention: str) -> str | None:
        """The member's overall certainty: the override if given, else computed."""
        if self.certainty_override is not None:
            return self.certainty_override.level
        return self.computed_certainty_of(intervention)

    @property
    def computed_certainty(self) -> str | None:
        """Overall certainty of the question: the lowest among the critical outcomes of all
        members (GRADE guidelines 11, Guyatt et al. 2013)."""
        return lowest_certainty([c for m in self.interventions if (c := self.computed_certainty_of(m))])

    @property
    def certainty(self) -> str | None:
        """Final overall certainty (override, else computed)."""
        return self.certainty_override.level if self.certainty_override is not None else self.computed_certainty

    def certainty_range(self) -> str:
        """'low to moderate' across the members (or one level)."""
        levels = [c for m in self.interventions if (c := self.certainty_of(m))]
        if not levels:
            return "no evidence"
        lo = min(levels, key=certainty_rank)
        hi = max(levels, key=certainty_rank)
        return lo if lo == hi else f"{lo} to {hi}"

    def judgement(self, criterion: str) -> Judgement | None:
        if criterion not in CRITERIA:
            raise SpecError(f"unknown criterion {criterion!r}; use one of: {', '.join(CRITERIA)}")
        return getattr(self, criterion)

    def judged(self) -> tuple[Judgement, ...]:
        return tuple(j for c in _JUDGED if (j := getattr(self, c)) is not None)

    # ------------------------------------------------------------------ output

    def benefits_frame(self) -> pd.DataFrame:
        cols = [
            "intervention", "comparator", "outcome", "importance", "measure", "unit", "estimate",
            "ci_low", "ci_high", "magnitude", "direction", "certainty", "statement",
        ]
        return pd.DataFrame([{k: b.to_dict()[k] for k in cols} for b in self.benefits], columns=cols)

    def harms_frame(self) -> pd.DataFrame:
        cols = ["name", "rate", "ci_low", "ci_high", "per_1000", "certainty", "interventions", "importance", "description"]
        rows = []
        for h in self.harms:
            d = h.to_dict()
            d["interventions"] = ", ".join(h.interventions) or "all"
            rows.append({k: d[k] for k in cols})
        return pd.DataFrame(rows, columns=cols)

    def to_frame(self) -> pd.DataFrame:
        """One row per EtD criterion: question, judgement (or 'not judged') and text; the
        certainty row is computed (lowest among critical outcomes) unless overridden."""
        rows = []
        for c in _JUDGED:
            j = getattr(self, c)
            rows.append(
                {
                    "criterion": c,
                    "name": CRITERION_NAMES[c],
                    "question": CRITERIA[c][0],
                    "judgement": j.value if j else None,
                    "text": j.text if j else "",
                    "evidence": j.evidence if j else "",
                }
            )
        ov = self.certainty_override
        rows.insert(
            3,
            {
                "criterion": "certainty",
                "name": "Certainty of the evidence",
                "question": "What is the overall certainty of the evidence of effects?",
                "judgement": self.certainty,
                "text": (
                    f"overridden from {self.computed_certainty}: {ov.justification}"
                    if ov
                    else "lowest certainty among the critical outcomes (GRADE)"
                    + (f"; by member: {self.certainty_range()}" if len(self.interventions) > 1 else "")
                ),
                "evidence": "",
            },
        )
        return pd.DataFrame(rows, columns=["criterion", "name", "question", "judgement", "text", "evidence"])

    def summary(self) -> str:
        lines = [f"Evidence to decision: {self.group_label} vs {self.comparator}"]
        if self.population:
            lines.append(f"Population: {self.population}")
        lines.append("Benefits (critical outcomes first):")
        order = {k: i for i, k in enumerate(IMPORTANCE)}
        for b in sorted(self.benefits, key=lambda b: (order[b.importance], self.interventions.index(b.intervention))):
            lines.append(f"  [{b.importance}] {b.sentence()}")
        if self.harms:
            lines.append("Harms and burdens:")
            for h in self.harms:
                scope = f" [{', '.join(h.interventions)}]" if h.interventions else ""
                lines.append(f"  {h.describe()}{scope}")
        cert = self.certainty or "no evidence"
        if self.certainty_override is not None:
            cert += f" (computed {self.computed_certainty}; override: {self.certainty_override.justification})"
        else:
            cert += " (lowest among critical outcomes)"
        lines.append(f"Certainty of the evidence: {cert}")
        for j in self.judged():
            lines.append(f"{j.name}: {j.value}" + (f" -- {j.text}" if j.text else ""))
        for r in self.remarks:
            lines.append(f"Remark: {r}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        out = {
            "id": self.key,
            "population": self.population,
            "interventions": list(self.interventions),
            "label": self.group_label,
            "comparator": self.comparator,
            "benefits": [b.to_dict() for b in self.benefits],
            "harms": [h.to_dict() for h in self.harms],
            "certainty": self.certainty,
            "computed_certainty": self.computed_certainty,
            "certainty_by_intervention": {m: self.certainty_of(m) for m in self.interventions},
            "certainty_override": None if self.certainty_override is None else self.certainty_override.to_dict(),
            "judgements": {c: (None if getattr(self, c) is None else getattr(self, c).to_dict()) for c in _JUDGED},
            "budget": None if self.budget is None else jsonable(self.budget),
            "remarks": list(self.remarks),
        }
        return jsonable(out)
