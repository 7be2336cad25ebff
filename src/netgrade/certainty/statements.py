"""GRADE informative statements: the certainty and the size of an effect in words.

Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative statements to
communicate the findings of systematic reviews of interventions.  J Clin Epidemiol
2020;119:126-135 (Table 3; reproduced as Table 16 of the CDC ACIP GRADE handbook,
chapter 11).  The statement combines

- the certainty of the evidence, as a hedge: high -> no hedge ("results in"), moderate
  -> "probably" (or "likely"; Santesso et al. use both), low -> "may", very low -> "the
  evidence is very uncertain";
- the size of the effect: large ("a large reduction/increase"), moderate ("reduces /
  increases", or "results in a reduction/increase"), small important ("reduces /
  increases ... slightly", or "results in a slight reduction/increase"), trivial, small
  unimportant or no effect ("results in little to no difference in");
- the outcome and, when needed, the comparator ("compared with Y").

The wording is data (:class:`StatementStyle`), not code, so that a guideline can use its
own: the BMJ Rapid Recommendation on spine procedures (Busse et al. 2025; Wang et al.
2025) writes "probably provide little to no difference in pain relief" and "may
increase pain" (:data:`SPINE_STYLE`).

Santesso's table, as implemented by :data:`GRADE_STYLE` (form "result in") and
:data:`VERB_FORMS` (form "reduces/increases"), for intervention X and outcome Y:

=========  ===============================================  ======================================
certainty  size                                             statement
=========  ===============================================  ======================================
high       large                                            X results in a large reduction in Y
high       moderate (or important, MID only)                X results in a reduction in Y / X reduces Y
high       small important                                  X results in a slight reduction in Y / X reduces Y slightly
high       trivial, small unimportant or none               X results in little to no difference in Y
moderate   (as high, with "probably")                       X probably results in ... / X probably reduces Y
low        (as high, with "may")                            X may result in ... / X may reduce Y
very low   any                                              The evidence is very uncertain about the effect of X on Y.
=========  ===============================================  ======================================

("increase" for an increase; "compared with Z" is appended when a comparator is given.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

from ..errors import SpecError
from .._text import in_sentence
from .magnitude import SIZES, Magnitude, classify_magnitude
from .types import Outcome, certainty as _norm_certainty

__all__ = [
    "HEDGES",
    "RESULT_FORMS",
    "VERB_FORMS",
    "VERY_LOW",
    "VERY_LOW_WITH_DIRECTION",
    "StatementStyle",
    "GRADE_STYLE",
    "SPINE_STYLE",
    "conjugate",
    "statement_predicate",
    "informative_statement",
]

#: Certainty -> hedge (Santesso et al. 2020, Table 3).  Very low certainty has its own
#: sentence (:data:`VERY_LOW`); its hedge is used only by :data:`VERY_LOW_WITH_DIRECTION`.
HEDGES: Mapping[str, str] = MappingProxyType({"high": "", "moderate": "probably", "low": "may", "very low": "may"})

#: Size -> predicate, "results in" form (Santesso et al. 2020, Table 3, second wording of
#: each cell).  Placeholders: ``{verb}`` (the style's verb, e.g. "result in" or
#: "provide", conjugated), ``{change_verb}`` ("reduce"/"increase", conjugated),
#: ``{change}`` ("reduction"/"increase"), ``{a_change}`` (with its article),
#: ``{outcome}``.
RESULT_FORMS: Mapping[str, str] = MappingProxyType(
    {
        "large": "{verb} a large {change} in {outcome}",
        "moderate": "{verb} {a_change} in {outcome}",
        "important": "{verb} {a_change} in {outcome}",
        "small": "{verb} a slight {change} in {outcome}",
        "trivial": "{verb} little to no difference in {outcome}",
    }
)

#: Size -> predicate, "reduces/increases" form (Santesso et al. 2020, Table 3, first
#: wording of each cell; a large effect has only the "results in" form).
VERB_FORMS: Mapping[str, str] = MappingProxyType(
    {
        "large": "{verb} a large {change} in {outcome}",
        "moderate": "{change_verb} {outcome}",
        "important": "{change_verb} {outcome}",
        "small": "{change_verb} {outcome} slightly",
        "trivial": "{verb} little to no difference in {outcome}",
    }
)

#: Very low certainty, any size (Santesso et al. 2020, Table 3, first wording).
VERY_LOW = "The evidence is very uncertain about the effect of {intervention} on {outcome}{comparison}."
#: Very low certainty, the alternative wording that keeps the direction (Santesso et al.
#: 2020: "X may reduce/increase/have little to no effect on Y but the evidence is very
#: uncertain").  ``{Intervention}`` is the capitalised subject, ``{predicate}`` the
#: predicate with the very-low hedge ("may ...").
VERY_LOW_WITH_DIRECTION = "{Intervention} {predicate}{comparison}, but the evidence is very uncertain."

_MODALS = frozenset({"may", "might", "could", "can", "will", "would", "should", "must", "shall"})


@dataclass(frozen=True)
class StatementStyle:
    """The wording of informative statements, as data.

    ``hedges`` maps each certainty level to its hedge; ``verb`` is the verb of the
    "results in" wordings ("result in", or "provide" in the spine guideline's style), in
    its base form; ``forms`` maps each size (see :data:`netgrade.certainty.magnitude.SIZES`)
    to a predicate template; ``very_low`` is the sentence for very low certainty;
    ``comparison`` is appended after the outcome when a comparator is given;
    ``change_nouns``/``change_verbs`` name the change ("reduction"/"reduce",
    "increase"/"increase").  Verbs are conjugated for a singular subject unless the hedge
    is a modal ("may") or the subject is plural.
    """

    hedges: Mapping[str, str] = field(default_factory=lambda: dict(HEDGES))
    verb: str = "result in"
    forms: Mapping[str, str] = field(default_factory=lambda: dict(RESULT_FORMS))
    very_low: str = VERY_LOW
    comparison: str = " compared with {comparator}"
    change_nouns: Mapping[str, str] = field(default_factory=lambda: {"increase": "increase", "decrease": "reduction"})
    change_verbs: Mapping[str, str] = field(default_factory=lambda: {"increase": "increase", "decrease": "reduce"})
    source: str = "Santesso et al. 2020, J Clin Epidemiol 119:126-135 (GRADE guidelines 26), Table 3"

    def __post_init__(self):
        missing = [s for s in SIZES if s not in self.forms]
        if missing:
            raise SpecError(f"a statement style needs a template for every size; missing: {', '.join(missing)}")
        missing = [c for c in ("high", "moderate", "low") if c not in self.hedges]
        if missing:
            raise SpecError(f"a statement style needs a hedge for every certainty level; missing: {', '.join(missing)}")

    def with_verb(self, verb: str) -> "StatementStyle":
        return replace(self, verb=str(verb))

    def to_dict(self) -> dict:
        return {
            "hedges": dict(self.hedges),
            "verb": self.verb,
            "forms": dict(self.forms),
            "very_low": self.very_low,
            "comparison": self.comparison,
            "change_nouns": dict(self.change_nouns),
            "change_verbs": dict(self.change_verbs),
            "source": self.source,
        }


#: GRADE's default wording: "X probably results in a slight reduction in Y".
GRADE_STYLE = StatementStyle()

#: The wording of the BMJ Rapid Recommendation on spine procedures (Wang et al. BMJ
#: 2025;388:e079971; Busse et al. BMJ 2025;388:e079970): "probably provide little to no
#: difference in pain relief", "may increase pain".  Use it with
#: ``outcome_phrase={"none": "pain relief", "default": "pain"}``.
SPINE_STYLE = StatementStyle(
    verb="provide",
    forms=dict(VERB_FORMS),
    source="Santesso et al. 2020 (Table 3, 'reduces/increases' wordings) with the verb 'provide' "
    "of Wang et al. BMJ 2025;388:e079971",
)


def conjugate(verb: str, *, singular: bool) -> str:
    """Third person singular of a verb phrase in its base form ("result in" ->
    "results in", "reduce" -> "reduces", "have" -> "has"); unchanged if not singular."""
    if not singular or not verb:
        return verb
    head, sep, tail = verb.partition(" ")
    low = head.lower()
    if low == "have":
        head = head[:-2] + "s"
    elif low == "be":
        head = "is"
    elif low == "do" or low == "go":
        head = head + "es"
    elif re.search(r"(s|sh|ch|x|z)$", low):
        head = head + "es"
    elif re.search(r"[^aeiou]y$", low):
        head = head[:-1] + "ies"
    else:
        head = head + "s"
    return head + sep + tail


def _phrase(outcome: Outcome | str, outcome_phrase: str | Mapping[str, str] | None, key: str) -> str:
    name = outcome.name if isinstance(outcome, Outcome) else str(outcome)
    if outcome_phrase is None:
        return name
    if isinstance(outcome_phrase, str):
        return outcome_phrase
    if isinstance(outcome_phrase, Mapping):
        unknown = set(outcome_phrase) - {"increase", "decrease", "none", "default"}
        if unknown:
            raise SpecError(
                f"outcome_phrase keys must be among 'increase', 'decrease', 'none', 'default'; got {sorted(unknown)}"
            )
        return str(outcome_phrase.get(key, outcome_phrase.get("default", name)))
    raise SpecError(f"outcome_phrase must be a string or a mapping, not {type(outcome_phrase).__name__}")


def _resolve_magnitude(magnitude: Magnitude | float, outcome: Outcome | str) -> Magnitude:
    if isinstance(magnitude, Magnitude):
        return magnitude
    if not isinstance(outcome, Outcome):
        raise SpecError("give a Magnitude, or an estimate together with an Outcome (to classify it)")
    return classify_magnitude(float(magnitude), outcome)


def _style(style: StatementStyle | None, verb: str | None) -> StatementStyle:
    s = GRADE_STYLE if style is None else style
    if not isinstance(s, StatementStyle):
        raise SpecError(f"style must be a StatementStyle, not {type(s).__name__}")
    return s.with_verb(verb) if verb is not None else s


def _article(noun_phrase: str) -> str:
    return ("an " if noun_phrase[:1].lower() in "aeiou" else "a ") + noun_phrase


def statement_predicate(
    magnitude: Magnitude | float,
    certainty: str,
    outcome: Outcome | str,
    *,
    outcome_phrase: str | Mapping[str, str] | None = None,
    style: StatementStyle | None = None,
    verb: str | None = None,
    plural: bool = False,
) -> str:
    """The statement without its subject, e.g. "probably results in little to no
    difference in pain" -- the part the published tables print after the intervention.

    For very low certainty this is the predicate with the very-low hedge ("may ...");
    :func:`informative_statement` uses the style's ``very_low`` sentence instead.
    """
    mag = _resolve_magnitude(magnitude, outcome)
    cert = _norm_certainty(certainty)
    s = _style(style, verb)
    hedge = str(s.hedges.get(cert, HEDGES[cert])).strip()
    modal = bool(hedge) and hedge.split(" ")[-1].lower() in _MODALS
    singular = not plural and not modal
    size = mag.size if mag.direction != "none" else "trivial"
    key = "none" if size == "trivial" else mag.change
    out = _phrase(outcome, outcome_phrase, key)
    change = mag.change if mag.change in ("increase", "decrease") else "increase"
    noun = s.change_nouns[change]
    body = s.forms[size].format(
        verb=conjugate(s.verb, singular=singular),
        change_verb=conjugate(s.change_verbs[change], singular=singular),
        change=noun,
        a_change=_article(noun),
        outcome=out,
    )
    return f"{hedge} {body}" if hedge else body


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def informative_statement(
    intervention: str,
    outcome: Outcome | str,
    magnitude: Magnitude | float,
    certainty: str,
    *,
    comparator: str | None = None,
    outcome_phrase: str | Mapping[str, str] | None = None,
    style: StatementStyle | None = None,
    verb: str | None = None,
    plural: bool = False,
    capitalise: bool = True,
) -> str:
    """GRADE's informative statement (Santesso et al. 2020) for one effect.

    ``magnitude`` is a :class:`~netgrade.certainty.magnitude.Magnitude` (or an estimate
    on the analysis scale, classified against ``outcome``); ``certainty`` a GRADE level.
    ``outcome_phrase`` names the outcome in the sentence (default: ``outcome.name``); a
    mapping may name it per wording: keys "increase", "decrease", "none" (little to no
    difference) and "default" -- e.g. ``{"none": "pain relief", "default": "pain"}``
    gives "probably provide little to no difference in pain relief" and "may increase
    pain".  ``verb`` replaces the style's verb ("result in" by default; "provide" in the
    spine guideline's style); ``plural`` conjugates for a plural subject ("epidural
    injections probably provide").

    Examples (MID 1.5 cm, pain on a 10 cm VAS, lower is better)::

        "Epidural steroid probably results in little to no difference in pain."
        "Intramuscular LA + steroid may result in an increase in pain."
        "X results in a slight reduction in pain."
        "The evidence is very uncertain about the effect of X on pain."
    """
    mag = _resolve_magnitude(magnitude, outcome)
    cert = _norm_certainty(certainty)
    s = _style(style, verb)
    subject = str(intervention).strip()
    if not subject:
        raise SpecError("an informative statement needs the name of the intervention")
    comparison = s.comparison.format(comparator=comparator) if comparator else ""
    if cert == "very low":
        predicate = statement_predicate(mag, cert, outcome, outcome_phrase=outcome_phrase, style=s, plural=plural)
        text = s.very_low.format(
            # inside the sentence: 'the effect of usual care', but 'of DRG pulsed radiofrequency'
            intervention=in_sentence(subject),
            Intervention=_capitalise(subject) if capitalise else subject,
            outcome=_phrase(outcome, outcome_phrase, "default"),
            comparison=comparison,
            comparator=comparator or "",
            predicate=predicate,
        )
        return text
    predicate = statement_predicate(mag, cert, outcome, outcome_phrase=outcome_phrase, style=s, plural=plural)
    head = _capitalise(subject) if capitalise else subject
    return f"{head} {predicate}{comparison}."
