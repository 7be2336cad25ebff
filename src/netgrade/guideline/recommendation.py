"""From an evidence-to-decision record to a recommendation, by an explicit decision rule.

GRADE recommendations have a direction (for or against) and a strength (strong or
conditional).  A strong recommendation means that all or almost all fully informed
patients would choose the recommended course; a conditional one that most would, but
many would not (Andrews et al. 2013, "GRADE guidelines 14: going from evidence to
recommendations: the significance and presentation of recommendations", J Clin Epidemiol
66:719-725; "GRADE guidelines 15: going from evidence to recommendation -- determinants
of a recommendation's direction and strength", J Clin Epidemiol 66:726-735).  The GRADE
Evidence to Decision framework lists what the panel weighs (Alonso-Coello et al. 2016,
BMJ 353:i2016 and i2089); MAGICapp presents the result as a recommendation with its
rationale and key information -- benefits and harms, certainty, values and preferences,
resources -- as in the BMJ Rapid Recommendations (Siemieniuk et al. 2016, BMJ 354:i5191).

netgrade writes the panel's reasoning down as a :class:`DecisionRule`: an ordered list of
conditions, evaluated for each intervention of a question; the first that holds decides,
and every condition checked is reported with the numbers behind it.  The default rule is
the one of the 2025 BMJ Rapid Recommendation on interventional procedures for chronic
spine pain (Busse et al., BMJ 2025;388:e079970): *recommend a procedure only if it offers
an important benefit -- at least a small effect, i.e. one reaching the minimal important
difference, on a critical outcome -- with at least moderate certainty; otherwise recommend
against it.*  The conditions, in order (parameters of :class:`DecisionRule` in brackets):

1. ``no_evidence`` -- no effect on a counted outcome [``outcomes``] is recorded for the
   intervention: *conditional against* (the rule needs evidence of benefit).
2. ``benefit_outweighed`` -- an important benefit (direction benefit, size at least
   [``min_benefit``], "small" = reaching the MID) on a counted outcome with at least
   [``min_certainty``] certainty, but harms outweigh it [``outweighed_if``]: the panel
   judged the balance of effects to favour or probably favour the comparison
   (``balance_against``), or a counted outcome shows an important harm, with at least
   [``min_certainty``] certainty, at least as large as the benefit (``important_harm``):
   *conditional against*.
3. ``strong_benefit`` -- an important benefit with at least [``strong_for_certainty``,
   default high] certainty and the EtD supports [``strong_for_requires``: the balance
   favours the intervention, and all or almost all informed patients would choose it]:
   *strong for*.
4. ``important_benefit`` -- an important benefit with at least [``min_certainty``]
   certainty: *conditional for*.
5. ``benefit_excluded`` -- no counted outcome shows an important benefit (every point
   estimate is below the MID or on the side of harm), the certainty of that evidence (the
   lowest among the counted outcomes, GRADE's overall certainty) is at least
   [``strong_against_certainty``, default moderate], and the EtD supports it
   [``strong_against_requires``: the intervention carries harms or burdens]: *strong
   against*.
6. ``benefit_unlikely_low_certainty`` -- no counted outcome shows an important benefit, the
   certainty is at least [``low_certainty_floor``, default low], and the EtD supports a
   strong recommendation despite the low certainty [``low_certainty_requires``: harms or
   burdens (optionally rated at least [``low_certainty_harm_certainty``]), moderate or
   large costs, and values under which all or almost all informed patients would decline
   the intervention]: *strong against*.  This is the reasoning of the second of the five
   paradigmatic situations in which GRADE accepts a strong recommendation despite low
   certainty ("uncertain benefit, certain harm": Andrews et al. 2013, J Clin Epidemiol
   66:726, table; Alexander et al. 2014, J Clin Epidemiol 67:629); GRADE's table asks for
   high or moderate certainty of the harm, which ``low_certainty_harm_certainty =
   "moderate"`` enforces -- the spine guideline's harms come from observational studies,
   so the default leaves it open and says so in :meth:`DecisionRule.describe`.
7. ``otherwise`` -- *conditional against*.

A question with several interventions (a group) gets one recommendation when every member
reaches the same direction and strength; otherwise :func:`recommend` refuses (name the
members or give a :class:`PanelOverride`) and :func:`recommend_all` splits the group into
consistent parts, saying so in a remark.  A panel may replace the computed recommendation
with a :class:`PanelOverride`, which needs a written justification; both are shown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .._result import ResultMixin, jsonable
from .._text import in_sentence
from ..certainty.types import certainty as _certainty
from ..errors import SpecError
from .etd import (
    SIZES,
    EvidenceToDecision,
    HarmEffect,
    OutcomeEffect,
    certainty_rank,
    join_names,
    lowest_certainty,
    size_rank,
)

__all__ = [
    "DIRECTIONS",
    "STRENGTHS",
    "CONDITIONS",
    "SUPPORTS",
    "DecisionRule",
    "SPINE_RULE",
    "ConditionCheck",
    "MemberDecision",
    "PanelOverride",
    "Recommendation",
    "recommend",
    "recommend_all",
    "evaluate",
    "recommendation_table",
]

DIRECTIONS = ("for", "against")
STRENGTHS = ("strong", "conditional")

#: Condition keys, in the order in which they are evaluated.
CONDITIONS = (
    "no_evidence",
    "benefit_outweighed",
    "strong_benefit",
    "important_benefit",
    "benefit_excluded",
    "benefit_unlikely_low_certainty",
    "otherwise",
)
_OUTCOME = {
    "no_evidence": ("against", "conditional"),
    "benefit_outweighed": ("against", "conditional"),
    "strong_benefit": ("for", "strong"),
    "important_benefit": ("for", "conditional"),
    "benefit_excluded": ("against", "strong"),
    "benefit_unlikely_low_certainty": ("against", "strong"),
    "otherwise": ("against", "conditional"),
}

_AGAINST_BALANCE = ("favours the comparison", "probably favours the comparison")
_COSTS = ("moderate costs", "large costs")
_UNDESIRABLE = ("small", "moderate", "large")

#: EtD supports a rule may require, with their wording.
SUPPORTS: dict[str, str] = {
    "undesirable": "the intervention carries harms or burdens (a harm or burden recorded, or undesirable effects judged small, moderate or large)",
    "costs": "resources required are judged moderate or large costs",
    "values_decline": "all or almost all informed patients would decline the intervention (values and preferences)",
    "values_choose": "all or almost all informed patients would choose the intervention (values and preferences)",
    "balance_for": "the panel judged the balance of effects to favour the intervention",
    "balance_against": "the panel judged the balance of effects to favour or probably favour the comparison",
    "important_harm": "a counted outcome shows an important harm, with at least the required certainty, at least as large as the benefit",
}


def _norm_direction(value: Any, where: str) -> str:
    v = str(value).strip().lower()
    if v not in DIRECTIONS:
        raise SpecError(f"{where}: direction must be 'for' or 'against', not {value!r}")
    return v


def _norm_strength(value: Any, where: str) -> str:
    v = str(value).strip().lower()
    v = {"weak": "conditional", "conditional (weak)": "conditional"}.get(v, v)
    if v not in STRENGTHS:
        raise SpecError(f"{where}: strength must be 'strong' or 'conditional', not {value!r}")
    return v


# ---------------------------------------------------------------------------------------
# the rule


@dataclass(frozen=True)
class DecisionRule:
    """A guideline panel's decision rule, as an ordered list of conditions (see the module
    docstring for the list and its sources; :meth:`describe` writes it out with the
    parameters filled in).

    Parameters: ``min_benefit`` -- the smallest magnitude that counts as an important
    benefit ("small": reaching the MID); ``min_certainty`` -- the certainty that benefit
    needs; ``outcomes`` -- the importance levels that count (GRADE: critical);
    ``outweighed_if`` -- what makes harms outweigh an important benefit (any of
    ``balance_against``, ``important_harm``); ``strong_for_certainty`` and
    ``strong_for_requires`` -- a strong recommendation for (None: never);
    ``strong_against_certainty`` and ``strong_against_requires`` -- strong against when an
    important benefit is absent with that certainty; ``low_certainty_floor``,
    ``low_certainty_requires`` and ``low_certainty_harm_certainty`` -- strong against
    despite lower certainty (None: never).  Requirements are keys of :data:`SUPPORTS`.
    """

    name: str = "important benefit with at least moderate certainty"
    min_benefit: str = "small"
    min_certainty: str = "moderate"
    outcomes: tuple[str, ...] = ("critical",)
    outweighed_if: tuple[str, ...] = ("balance_against", "important_harm")
    strong_for_certainty: str | None = "high"
    strong_for_requires: tuple[str, ...] = ("balance_for", "values_choose")
    strong_against_certainty: str | None = "moderate"
    strong_against_requires: tuple[str, ...] = ("undesirable",)
    low_certainty_floor: str | None = "low"
    low_certainty_requires: tuple[str, ...] = ("undesirable", "costs", "values_decline")
    low_certainty_harm_certainty: str | None = None
    source: str = (
        "Busse et al. BMJ 2025;388:e079970 (decision rule); GRADE EtD (Alonso-Coello et al. 2016, "
        "BMJ 353:i2016, i2089); Andrews et al. 2013, J Clin Epidemiol 66:719 and 66:726"
    )

    def __post_init__(self):
        where = f"decision_rule {self.name!r}"
        size = str(self.min_benefit).strip().lower()
        if size not in SIZES or size == "trivial":
            raise SpecError(f"{where}: min_benefit must be one of small, moderate, large (not {self.min_benefit!r})")
        object.__setattr__(self, "min_benefit", "small" if size == "important" else size)
        for f in ("min_certainty",):
            object.__setattr__(self, f, self._cert(getattr(self, f), f))
        for f in ("strong_for_certainty", "strong_against_certainty", "low_certainty_floor", "low_certainty_harm_certainty"):
            v = getattr(self, f)
            object.__setattr__(self, f, None if v is None else self._cert(v, f))
        outcomes = (self.outcomes,) if isinstance(self.outcomes, str) else tuple(self.outcomes)
        outcomes = tuple(str(o).strip().lower() for o in outcomes)
        bad = [o for o in outcomes if o not in ("critical", "important", "not important")]
        if not outcomes or bad:
            raise SpecError(f"{where}: outcomes must list importance levels (critical, important), got {self.outcomes!r}")
        object.__setattr__(self, "outcomes", outcomes)
        for f in ("outweighed_if", "strong_for_requires", "strong_against_requires", "low_certainty_requires"):
            v = getattr(self, f)
            v = (v,) if isinstance(v, str) else tuple(v)
            unknown = [k for k in v if k not in SUPPORTS]
            if unknown:
                raise SpecError(f"{where}: {f} has unknown keys {unknown}; use: {', '.join(SUPPORTS)}")
            object.__setattr__(self, f, v)
        if self.strong_for_certainty is not None and certainty_rank(self.strong_for_certainty) < certainty_rank(self.min_certainty):
            raise SpecError(
                f"{where}: strong_for_certainty ({self.strong_for_certainty}) is below min_certainty "
                f"({self.min_certainty}); a strong recommendation cannot need less certainty than a conditional one"
            )

    def _cert(self, value: Any, f: str) -> str:
        try:
            return _certainty(value)
        except SpecError as exc:
            raise SpecError(f"decision_rule {self.name!r}: {f}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DecisionRule":
        """Build from a spec table (``[decision_rule]``) with the field names of this class
        (lists for the tuples; ``"none"`` or an absent key for None where allowed)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SpecError(f"decision_rule: unknown keys {unknown}; use: {', '.join(sorted(names))}")
        kw = {}
        for k, v in data.items():
            if isinstance(v, list):
                v = tuple(v)
            if isinstance(v, str) and v.strip().lower() == "none" and k.endswith(("certainty", "floor")):
                v = None
            kw[k] = v
        return cls(**kw)

    def to_dict(self) -> dict:
        return jsonable({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    # ---------------------------------------------------------------------- wording

    def headline(self) -> str:
        size = {"small": "at least a small effect, i.e. reaching the minimal important difference"}.get(
            self.min_benefit, f"at least a {self.min_benefit} effect"
        )
        return (
            f"recommend an intervention only if it offers an important benefit ({size}) on "
            f"{join_names(self._outcome_words(), 'or')} outcome with at least {self.min_certainty} certainty; "
            "otherwise recommend against it"
        )

    def _outcome_words(self) -> list[str]:
        return ["a " + o if i == 0 else o for i, o in enumerate(self.outcomes)]

    def _req(self, keys: Sequence[str]) -> str:
        return "; ".join(SUPPORTS[k] for k in keys) if keys else "nothing further"

    def condition_texts(self) -> list[tuple[str, str, str, str]]:
        """(key, text, direction, strength) for each condition, in order."""
        ben = f"an important benefit (a {self.min_benefit} or larger effect in the direction of benefit) on a counted outcome"
        out = [
            ("no_evidence", "no effect on a counted outcome is recorded for the intervention"),
            (
                "benefit_outweighed",
                f"{ben} with at least {self.min_certainty} certainty, but harms outweigh it: "
                + ("; or ".join(SUPPORTS[k] for k in self.outweighed_if) or "(never: outweighed_if is empty)"),
            ),
            (
                "strong_benefit",
                (
                    f"{ben} with at least {self.strong_for_certainty} certainty, and: {self._req(self.strong_for_requires)}"
                    if self.strong_for_certainty
                    else "(disabled: strong_for_certainty is None)"
                ),
            ),
            ("important_benefit", f"{ben} with at least {self.min_certainty} certainty"),
            (
                "benefit_excluded",
                (
                    "no counted outcome shows an important benefit (every point estimate below the MID or on the "
                    f"side of harm), with certainty (lowest among the counted outcomes) at least "
                    f"{self.strong_against_certainty}, and: {self._req(self.strong_against_requires)}"
                    if self.strong_against_certainty
                    else "(disabled: strong_against_certainty is None)"
                ),
            ),
            (
                "benefit_unlikely_low_certainty",
                (
                    "no counted outcome shows an important benefit, with certainty at least "
                    f"{self.low_certainty_floor}, and: {self._req(self.low_certainty_requires)}"
                    + (
                        f"; the harm rated at least {self.low_certainty_harm_certainty} certainty"
                        if self.low_certainty_harm_certainty
                        else "; the certainty of the harms is not required to be high or moderate (GRADE's paradigmatic "
                        "situation 2 asks for it; set low_certainty_harm_certainty = 'moderate' to enforce it)"
                    )
                    if self.low_certainty_floor
                    else "(disabled: low_certainty_floor is None)"
                ),
            ),
            ("otherwise", "none of the above holds"),
        ]
        return [(k, t, *_OUTCOME[k]) for k, t in out]

    def describe(self) -> str:
        """The rule written out: its headline, then each condition with its outcome."""
        lines = [
            f"Decision rule: {self.name}",
            f"  {self.headline()[0].upper()}{self.headline()[1:]}.",
            f"  Counted outcomes: {', '.join(self.outcomes)}.  Evaluated for each intervention; the first "
            "condition that holds decides:",
        ]
        for i, (key, text, direction, strength) in enumerate(self.condition_texts(), start=1):
            lines.append(f"  {i}. {key}: {text} -> {strength} recommendation {direction}")
        lines.append(f"  Sources: {self.source}")
        return "\n".join(lines)


#: The decision rule of the 2025 BMJ Rapid Recommendation on spine procedures (defaults).
SPINE_RULE = DecisionRule(name="BMJ Rapid Recommendations 2025, chronic spine pain procedures")


# ---------------------------------------------------------------------------------------
# evaluation


@dataclass(frozen=True)
class ConditionCheck:
    """One condition of the rule checked for one intervention: did it hold, and why."""

    order: int
    key: str
    holds: bool
    detail: str

    def to_dict(self) -> dict:
        return {"order": self.order, "key": self.key, "holds": self.holds, "detail": self.detail}


@dataclass(frozen=True)
class MemberDecision:
    """The rule applied to one intervention: the outcome, the condition that fired, its
    reason, the member's certainty and every condition checked up to it."""

    intervention: str
    direction: str
    strength: str
    condition: str
    order: int
    reason: str
    certainty: str | None
    trace: tuple[ConditionCheck, ...]

    def to_dict(self) -> dict:
        return jsonable(
            {
                "intervention": self.intervention,
                "direction": self.direction,
                "strength": self.strength,
                "condition": self.condition,
                "order": self.order,
                "reason": self.reason,
                "certainty": self.certainty,
                "trace": [c.to_dict() for c in self.trace],
            }
        )


def _effect_brief(e: OutcomeEffect) -> str:
    return f"{e.outcome}: {e.magnitude_label}, {e.certainty} certainty"


def _supports(etd: EvidenceToDecision, member: str, harm_certainty: str | None = None) -> dict[str, tuple[bool, str]]:
    """Each EtD support of :data:`SUPPORTS` (except important_harm) for one member:
    (holds, the evidence or judgement behind it)."""
    out: dict[str, tuple[bool, str]] = {}
    harms = [h for h in etd.harms_for(member)]
    if harm_certainty is not None:
        harms = [h for h in harms if h.certainty and certainty_rank(h.certainty) >= certainty_rank(harm_certainty)]
    und = etd.undesirable_effects
    und_ok = und is not None and und.value in _UNDESIRABLE and harm_certainty is None
    if harms or und_ok:
        parts = [h.describe() for h in harms]
        if und_ok:
            parts.append(f"undesirable effects judged {und.value}")
        out["undesirable"] = (True, "harms or burdens: " + "; ".join(parts))
    else:
        need = f" rated at least {harm_certainty} certainty" if harm_certainty else ""
        out["undesirable"] = (False, f"no harm or burden{need} recorded for {member}")
    res = etd.resources
    out["costs"] = (
        (True, f"resources: {res.value}")
        if res is not None and res.value in _COSTS
        else (False, f"resources {'not judged' if res is None else 'judged ' + repr(res.value)}")
    )
    val = etd.values
    vtxt = "values not judged" if val is None else f"values: {val.value}"
    out["values_decline"] = (val is not None and val.value == "all or almost all would decline the intervention", vtxt)
    out["values_choose"] = (val is not None and val.value == "all or almost all would choose the intervention", vtxt)
    bal = etd.balance
    btxt = "balance not judged" if bal is None else f"balance of effects: {bal.value}"
    out["balance_for"] = (bal is not None and bal.value == "favours the intervention", btxt)
    out["balance_against"] = (bal is not None and bal.value in _AGAINST_BALANCE, btxt)
    return out


def _all_hold(keys: Sequence[str], sup: Mapping[str, tuple[bool, str]]) -> tuple[bool, str]:
    if not keys:
        return True, "no further requirement"
    parts, ok = [], True
    for k in keys:
        holds, why = sup[k]
        ok &= holds
        parts.append(f"{'yes' if holds else 'NO'} -- {why}")
    return ok, "; ".join(parts)


def evaluate(etd: EvidenceToDecision, member: str, rule: DecisionRule) -> MemberDecision:
    """Apply ``rule`` to one intervention of ``etd`` (see the module docstring)."""
    effects = etd.effects(member, rule.outcomes)
    cert = etd.certainty_override.level if etd.certainty_override is not None else lowest_certainty(e.certainty for e in effects)
    cert_note = " (panel override)" if etd.certainty_override is not None else " (lowest among counted outcomes)"
    need = size_rank(rule.min_benefit)
    if need > 1:
        ungraded = [e for e in effects if e.magnitude == "important" and e.direction == "benefit"]
        if ungraded:
            raise SpecError(
                f"{etd.key}: {member} on {ungraded[0].outcome!r} reaches the MID but its size is not graded "
                f"(only the MID is known), while the rule needs at least a {rule.min_benefit} benefit; give "
                "the outcome moderate and large thresholds"
            )
    important = [e for e in effects if e.direction == "benefit" and size_rank(e.magnitude) >= need]
    qualifying = [e for e in important if certainty_rank(e.certainty) >= certainty_rank(rule.min_certainty)]
    sup = _supports(etd, member)
    trace: list[ConditionCheck] = []

    def check(key: str, holds: bool, detail: str) -> MemberDecision | None:
        order = CONDITIONS.index(key) + 1
        trace.append(ConditionCheck(order, key, bool(holds), detail))
        if not holds:
            return None
        direction, strength = _OUTCOME[key]
        return MemberDecision(member, direction, strength, key, order, detail, cert, tuple(trace))

    # 1. no evidence
    if d := check(
        "no_evidence",
        not effects,
        f"no effect on a {join_names(list(rule.outcomes))} outcome recorded for {member}"
        if not effects
        else f"{len(effects)} counted outcome(s): " + "; ".join(_effect_brief(e) for e in effects),
    ):
        return d

    qual_txt = "; ".join(_effect_brief(e) for e in qualifying)
    # 2. important benefit, but harms outweigh it
    if qualifying:
        best = max(size_rank(e.magnitude) for e in qualifying)
        harms_ev = [
            e
            for e in effects
            if e.direction == "harm"
            and size_rank(e.magnitude) >= max(need, best)
            and certainty_rank(e.certainty) >= certainty_rank(rule.min_certainty)
        ]
        reasons = []
        if "balance_against" in rule.outweighed_if and sup["balance_against"][0]:
            reasons.append(sup["balance_against"][1])
        if "important_harm" in rule.outweighed_if and harms_ev:
            reasons.append("important harm: " + "; ".join(_effect_brief(e) for e in harms_ev))
        detail = f"important benefit ({qual_txt}); " + (
            "harms outweigh it: " + "; ".join(reasons) if reasons else "harms are not judged to outweigh it"
        )
        if d := check("benefit_outweighed", bool(reasons), detail):
            return d
    else:
        check(
            "benefit_outweighed",
            False,
            f"no important benefit with at least {rule.min_certainty} certainty",
        )

    # 3. strong for
    if rule.strong_for_certainty is not None:
        strong_q = [e for e in qualifying if certainty_rank(e.certainty) >= certainty_rank(rule.strong_for_certainty)]
        ok, why = _all_hold(rule.strong_for_requires, sup)
        if strong_q:
            detail = f"important benefit with at least {rule.strong_for_certainty} certainty ({'; '.join(_effect_brief(e) for e in strong_q)}); {why}"
        else:
            detail = f"no important benefit with at least {rule.strong_for_certainty} certainty"
        if d := check("strong_benefit", bool(strong_q) and ok, detail):
            return d
    else:
        check("strong_benefit", False, "disabled (strong_for_certainty is None)")

    # 4. conditional for
    if qualifying:
        detail = f"important benefit with at least {rule.min_certainty} certainty: {qual_txt}"
    elif important:
        detail = (
            f"a possible important benefit, but with less than {rule.min_certainty} certainty: "
            + "; ".join(_effect_brief(e) for e in important)
        )
    else:
        detail = f"no counted outcome reaches a {rule.min_benefit} benefit: " + "; ".join(_effect_brief(e) for e in effects)
    if d := check("important_benefit", bool(qualifying), detail):
        return d

    # 5. strong against: an important benefit is absent with enough certainty
    absent = not important
    cert_txt = f"certainty {cert}{cert_note}"
    if rule.strong_against_certainty is not None:
        cert_ok = certainty_rank(cert) >= certainty_rank(rule.strong_against_certainty)
        ok, why = _all_hold(rule.strong_against_requires, sup)
        if not absent:
            detail = "a possible important benefit is not excluded: " + "; ".join(_effect_brief(e) for e in important)
        else:
            detail = (
                f"no important benefit ({'; '.join(_effect_brief(e) for e in effects)}); {cert_txt}, "
                f"{'at least' if cert_ok else 'below'} {rule.strong_against_certainty}; {why}"
            )
        if d := check("benefit_excluded", absent and cert_ok and ok, detail):
            return d
    else:
        check("benefit_excluded", False, "disabled (strong_against_certainty is None)")

    # 6. strong against despite low certainty
    if rule.low_certainty_floor is not None:
        cert_ok = certainty_rank(cert) >= certainty_rank(rule.low_certainty_floor)
        sup6 = _supports(etd, member, rule.low_certainty_harm_certainty) if rule.low_certainty_harm_certainty else sup
        ok, why = _all_hold(rule.low_certainty_requires, sup6)
        if not absent:
            detail = "a possible important benefit is not excluded: " + "; ".join(_effect_brief(e) for e in important)
        else:
            detail = (
                f"no important benefit; {cert_txt}, {'at least' if cert_ok else 'below'} {rule.low_certainty_floor}; {why}"
            )
        if d := check("benefit_unlikely_low_certainty", absent and cert_ok and ok, detail):
            return d
    else:
        check("benefit_unlikely_low_certainty", False, "disabled (low_certainty_floor is None)")

    # 7. otherwise
    return check(
        "otherwise",
        True,
        f"no important benefit with at least {rule.min_certainty} certainty, and the conditions for a strong "
        f"recommendation against are not met ({cert_txt})",
    )


# ---------------------------------------------------------------------------------------
# override and result


@dataclass(frozen=True)
class PanelOverride:
    """The panel's recommendation replacing the computed one; the justification is
    required and shown next to the computed recommendation."""

    direction: str
    strength: str
    justification: str
    by: str = ""

    def __post_init__(self):
        object.__setattr__(self, "direction", _norm_direction(self.direction, "panel override"))
        object.__setattr__(self, "strength", _norm_strength(self.strength, "panel override"))
        if not str(self.justification or "").strip():
            raise SpecError(
                f"a panel override to a {self.strength} recommendation {self.direction} needs a justification: "
                "say why the computed recommendation is replaced"
            )
        object.__setattr__(self, "justification", str(self.justification).strip())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PanelOverride":
        unknown = sorted(set(data) - {"direction", "strength", "justification", "by"})
        if unknown:
            raise SpecError(f"panel override: unknown keys {unknown}; use direction, strength, justification, by")
        missing = [k for k in ("direction", "strength") if k not in data]
        if missing:
            raise SpecError(f"panel override: missing {missing}")
        return cls(data["direction"], data["strength"], data.get("justification", ""), data.get("by", ""))

    def to_dict(self) -> dict:
        return {"direction": self.direction, "strength": self.strength, "justification": self.justification, "by": self.by}


def _headline(direction: str, strength: str) -> str:
    if direction == "mixed" or strength == "mixed":
        return "Mixed (members differ)"
    return f"{strength.capitalize()} recommendation {direction}"


@dataclass(frozen=True)
class Recommendation(ResultMixin):
    """A recommendation on one question (one intervention or a group), as MAGICapp shows
    it: headline and statement, rationale, the rule that fired, the key information and
    remarks; the computed direction and strength, and the final ones after any panel
    override (``direction``, ``strength``).

    ``computed_direction``/``computed_strength`` are "mixed" only for a group whose
    members differ and which the panel kept together by an override.
    """

    key: str
    population: str
    interventions: tuple[str, ...]
    comparator: str
    label: str
    computed_direction: str
    computed_strength: str
    members: tuple[MemberDecision, ...]
    fired: tuple[str, ...]
    certainty: str | None
    certainty_range: str
    rationale: tuple[str, ...]
    key_info: tuple[tuple[str, str], ...]
    remarks: tuple[str, ...]
    rule: DecisionRule
    override: PanelOverride | None = None
    etd: EvidenceToDecision | None = None

    @property
    def direction(self) -> str:
        return self.override.direction if self.override is not None else self.computed_direction

    @property
    def strength(self) -> str:
        return self.override.strength if self.override is not None else self.computed_strength

    @property
    def overridden(self) -> bool:
        return self.override is not None

    @property
    def headline(self) -> str:
        """'Strong recommendation against' (final)."""
        return _headline(self.direction, self.strength)

    @property
    def computed_headline(self) -> str:
        return _headline(self.computed_direction, self.computed_strength)

    @property
    def statement(self) -> str:
        """GRADE wording: strong -- "We recommend (against)"; conditional -- "We suggest
        (against)" (Andrews et al. 2013, J Clin Epidemiol 66:719)."""
        verb = "recommend" if self.strength == "strong" else "suggest"
        against = " against" if self.direction == "against" else ""
        pop = f" for {self.population}" if self.population else ""
        return f"We {verb}{against} {in_sentence(self.label)}{pop}."

    @property
    def member(self) -> dict[str, MemberDecision]:
        return {m.intervention: m for m in self.members}

    def rationale_text(self) -> str:
        return " ".join(self.rationale)

    def summary(self) -> str:
        lines = [self.headline, self.statement]
        if self.override is not None:
            lines.append(
                f"Computed: {self.computed_headline}; final: {self.headline} (panel override"
                + (f" by {self.override.by}" if self.override.by else "")
                + f": {self.override.justification})"
            )
        lines.append(f"Comparator: {self.comparator}; certainty of the evidence: {self.certainty_range}")
        lines.append("Rationale")
        lines += [f"  {s}" for s in self.rationale]
        lines.append(f"Decision rule ({self.rule.name}): first condition that holds, per intervention")
        for m in self.members:
            lines.append(f"  {m.intervention}: [{m.order}] {m.condition} -> {m.strength} {m.direction}: {m.reason}")
        lines.append("Key info")
        lines += [f"  {k}: {v}" for k, v in self.key_info]
        if self.remarks:
            lines.append("Remarks")
            lines += [f"  {r}" for r in self.remarks]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per member: the computed outcome, the condition that fired, and the
        recommendation's final direction and strength."""
        rows = [
            {
                "key": self.key,
                "intervention": m.intervention,
                "comparator": self.comparator,
                "certainty": m.certainty,
                "condition": m.condition,
                "order": m.order,
                "computed_direction": m.direction,
                "computed_strength": m.strength,
                "direction": self.direction,
                "strength": self.strength,
                "overridden": self.overridden,
                "reason": m.reason,
            }
            for m in self.members
        ]
        return pd.DataFrame(rows)

    def decision_aid(self) -> pd.DataFrame:
        """The outcome-by-outcome view of MAGICapp's decision aids (Siemieniuk et al. 2016;
        Agoritsas et al. 2015, "Decision aids that really promote shared decision making:
        the pace quickens", BMJ 350:g7624): one row per intervention and outcome with the
        effect, its magnitude and certainty and the plain-language statement, then one row
        per harm or burden with its rate per 1,000."""
        rows = []
        if self.etd is not None:
            for m in self.interventions:
                for b in self.etd.benefits:
                    if b.intervention != m:
                        continue
                    rows.append(
                        {
                            "intervention": m,
                            "kind": "benefit outcome",
                            "outcome": b.outcome,
                            "importance": b.importance,
                            "effect": b.effect_text(),
                            "per_1000": None,
                            "magnitude": b.magnitude_label,
                            "certainty": b.certainty,
                            "statement": b.statement_text(),
                        }
                    )
            for h in self.etd.harms:
                rows.append(
                    {
                        "intervention": ", ".join(h.interventions) or "all",
                        "kind": "harm or burden",
                        "outcome": h.name,
                        "importance": h.importance,
                        "effect": h.describe(),
                        "per_1000": h.per_1000,
                        "magnitude": None,
                        "certainty": h.certainty,
                        "statement": h.text,
                    }
                )
        cols = ["intervention", "kind", "outcome", "importance", "effect", "per_1000", "magnitude", "certainty", "statement"]
        return pd.DataFrame(rows, columns=cols)

    def trace_frame(self) -> pd.DataFrame:
        """Every condition checked, per member, in order (holds True for the one that fired)."""
        rows = [
            {"intervention": m.intervention, **c.to_dict()} for m in self.members for c in m.trace
        ]
        return pd.DataFrame(rows, columns=["intervention", "order", "key", "holds", "detail"])

    def to_dict(self) -> dict:
        return jsonable(
            {
                "key": self.key,
                "population": self.population,
                "interventions": list(self.interventions),
                "comparator": self.comparator,
                "label": self.label,
                "headline": self.headline,
                "statement": self.statement,
                "direction": self.direction,
                "strength": self.strength,
                "computed_direction": self.computed_direction,
                "computed_strength": self.computed_strength,
                "overridden": self.overridden,
                "override": None if self.override is None else self.override.to_dict(),
                "certainty": self.certainty,
                "certainty_range": self.certainty_range,
                "fired": list(self.fired),
                "members": [m.to_dict() for m in self.members],
                "rationale": list(self.rationale),
                "key_info": [{"heading": k, "text": v} for k, v in self.key_info],
                "remarks": list(self.remarks),
                "rule": self.rule.to_dict(),
                "etd": None if self.etd is None else self.etd.to_dict(),
            }
        )


# ---------------------------------------------------------------------------------------
# rationale


def _harm_line(h: HarmEffect, etd: EvidenceToDecision) -> str:
    scope = f" (with {join_names(list(h.interventions), 'or')})" if h.interventions and len(h.interventions) < len(etd.interventions) else ""
    return h.describe() + scope


_REASON = {
    "no_evidence": "no evidence on a counted outcome",
    "benefit_outweighed": "an important benefit whose harms outweigh it",
    "strong_benefit": "an important benefit with {strong_for_certainty} certainty that almost all informed patients would choose",
    "important_benefit": "an important benefit with at least {min_certainty} certainty",
    "benefit_excluded": "no important benefit on any counted outcome, with at least {strong_against_certainty} certainty, while carrying harms or burdens",
    "benefit_unlikely_low_certainty": (
        "no important benefit, with at least {low_certainty_floor} certainty, together with harms or burdens, costs, and "
        "values under which all or almost all informed patients would decline it (a strong recommendation despite "
        "low certainty, as in GRADE's paradigmatic situations)"
    ),
    "otherwise": "no important benefit established with at least {min_certainty} certainty; the conditions for a strong recommendation are not met",
}


def _rationale(etd: EvidenceToDecision, rule: DecisionRule, decisions: Sequence[MemberDecision]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    sentences: list[str] = []
    ben = [b.sentence() for m in etd.interventions for b in etd.effects(m, rule.outcomes)]
    other = [
        b.sentence()[:-1] + f" [{b.importance} outcome, not counted by the rule]."
        for m in etd.interventions
        for b in etd.benefits
        if b.intervention == m and b.importance not in rule.outcomes
    ]
    sentences += ben
    rule_head = rule.headline()
    sentences.append(f"Decision rule: {rule_head}.")
    groups: dict[str, list[str]] = {}
    for d in decisions:
        groups.setdefault(d.condition, []).append(d.intervention)
    params = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)}
    for cond, members in groups.items():
        direction, strength = _OUTCOME[cond]
        sentences.append(
            f"{join_names(members, 'and')}: {_REASON[cond].format(**params)} "
            f"-> {strength} recommendation {direction} (condition {CONDITIONS.index(cond) + 1}, {cond})."
        )
    key_info: list[tuple[str, str]] = []
    harms = [_harm_line(h, etd) for h in etd.harms]
    ben_info = " ".join(ben + other)
    if harms:
        sentences.append("Harms and burdens: " + "; ".join(harms) + ".")
        ben_info += " Harms and burdens: " + "; ".join(harms) + "."
    key_info.append(("Benefits and harms", ben_info.strip()))
    if etd.certainty_override is not None:
        cert = (
            f"{etd.certainty} (panel override of the computed {etd.computed_certainty}: "
            f"{etd.certainty_override.justification})"
        )
    else:
        cert = f"{etd.certainty or 'no evidence'} (the lowest certainty among the critical outcomes)"
        if len(etd.interventions) > 1:
            cert += "; by intervention: " + ", ".join(f"{m} {etd.certainty_of(m)}" for m in etd.interventions)
    sentences.append(f"Certainty of the evidence: {cert}.")
    key_info.append(("Certainty of the evidence", cert))
    if etd.values is not None:
        sentences.append(etd.values.sentence())
        key_info.append(("Values and preferences", etd.values.sentence().split(": ", 1)[1]))
    res_parts = []
    if etd.resources is not None:
        res_parts.append(etd.resources.sentence())
    headline = getattr(etd.budget, "headline_sentence", None)
    if callable(headline):
        res_parts.append(f"Budget impact: {headline()}")
    for c in ("balance", "undesirable_effects", "desirable_effects", "values_uncertainty", "resources_certainty",
              "cost_effectiveness", "equity", "acceptability", "feasibility", "problem"):
        j = getattr(etd, c)
        if j is not None:
            (sentences if c in ("balance",) else res_parts).append(j.sentence())
    if res_parts:
        sentences += [p for p in res_parts]
        key_info.append(("Resources and other considerations", " ".join(res_parts)))
    return tuple(sentences), tuple(key_info)


# ---------------------------------------------------------------------------------------
# entry points


def _consistency_remarks(etd: EvidenceToDecision, direction: str) -> list[str]:
    """Panel judgements that contradict the computed direction (typically judgements made
    on the original evidence, kept while a re-analysis changed the evidence)."""
    out = []
    val, bal = etd.values, etd.balance
    if val is not None:
        if direction == "for" and "decline" in val.value:
            out.append(f"Check the values judgement: '{val.value}' contradicts a recommendation for.")
        if direction == "against" and "would choose the intervention" in val.value:
            out.append(f"Check the values judgement: '{val.value}' contradicts a recommendation against.")
    if bal is not None:
        if direction == "against" and bal.value in ("favours the intervention", "probably favours the intervention"):
            out.append(f"Check the balance judgement: '{bal.value}' contradicts a recommendation against.")
    return out


def _combine(decisions: Sequence[MemberDecision]) -> tuple[str, str] | None:
    outcomes = {(d.direction, d.strength) for d in decisions}
    return next(iter(outcomes)) if len(outcomes) == 1 else None


def recommend(
    etd: EvidenceToDecision,
    rule: DecisionRule | None = None,
    override: PanelOverride | Mapping[str, Any] | None = None,
    remarks: Iterable[str] = (),
) -> Recommendation:
    """Apply ``rule`` (default :data:`SPINE_RULE`) to every intervention of ``etd`` and
    return one :class:`Recommendation` with its rationale.

    A group whose members reach different outcomes cannot be one recommendation: a
    :class:`SpecError` names each member's outcome (split the group, e.g. with
    :func:`recommend_all`, or keep it with a :class:`PanelOverride`).
    """
    if not isinstance(etd, EvidenceToDecision):
        raise SpecError(f"recommend() needs an EvidenceToDecision, got {type(etd).__name__}")
    rule = SPINE_RULE if rule is None else rule
    if isinstance(override, Mapping):
        override = PanelOverride.from_dict(override)
    decisions = tuple(evaluate(etd, m, rule) for m in etd.interventions)
    combined = _combine(decisions)
    if combined is None and override is None:
        detail = "; ".join(f"{d.intervention}: {d.strength} {d.direction} ({d.condition})" for d in decisions)
        raise SpecError(
            f"{etd.key}: the grouped interventions do not share one recommendation ({detail}); split the group "
            "(recommend_all splits it for you) or give a PanelOverride with a justification"
        )
    direction, strength = combined if combined is not None else ("mixed", "mixed")
    rationale, key_info = _rationale(etd, rule, decisions)
    extra = list(etd.remarks) + [str(r) for r in remarks]
    extra += _consistency_remarks(etd, override.direction if override is not None else direction)
    if override is not None:
        rationale = rationale + (
            f"Panel override: computed {_headline(direction, strength).lower()}; the panel made a "
            f"{override.strength} recommendation {override.direction}: {override.justification}",
        )
    fired = tuple(dict.fromkeys(d.condition for d in decisions))
    return Recommendation(
        key=etd.key,
        population=etd.population,
        interventions=etd.interventions,
        comparator=etd.comparator,
        label=etd.group_label,
        computed_direction=direction,
        computed_strength=strength,
        members=decisions,
        fired=fired,
        certainty=etd.certainty,
        certainty_range=etd.certainty_range(),
        rationale=rationale,
        key_info=key_info,
        remarks=tuple(extra),
        rule=rule,
        override=override,
        etd=etd,
    )


def recommend_all(
    etds: Iterable[EvidenceToDecision],
    rule: DecisionRule | None = None,
    overrides: Mapping[str, PanelOverride | Mapping[str, Any]] | None = None,
) -> tuple[Recommendation, ...]:
    """Recommendations for several questions.  A group whose members reach different
    outcomes is split into consistent parts (in the order of its members), each with a
    remark naming the original group -- unless ``overrides`` (keyed by the question's
    ``key``) holds a panel override for it, which keeps the group whole."""
    rule = SPINE_RULE if rule is None else rule
    etds = list(etds)
    overrides = dict(overrides or {})
    keys = [e.key for e in etds]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise SpecError(f"evidence_to_decision: questions share the key(s) {dup}; give each an id")
    unknown = sorted(set(overrides) - set(keys))
    if unknown:
        raise SpecError(f"panel overrides for unknown questions {unknown}; known: {', '.join(keys)}")
    out: list[Recommendation] = []
    for etd in etds:
        ov = overrides.get(etd.key)
        decisions = [evaluate(etd, m, rule) for m in etd.interventions]
        if ov is not None or _combine(decisions) is not None:
            out.append(recommend(etd, rule, override=ov))
            continue
        parts: dict[tuple[str, str], list[str]] = {}
        for d in decisions:
            parts.setdefault((d.direction, d.strength), []).append(d.intervention)
        summary = "; ".join(f"{join_names(ms, 'and')}: {s} {d}" for (d, s), ms in parts.items())
        for members in parts.values():
            sub = etd.subset(members)
            note = (
                f"Split from the group '{etd.group_label}' because its members do not share one recommendation "
                f"({summary})."
            )
            out.append(recommend(sub, rule, remarks=(note,)))
    return tuple(out)


def recommendation_table(recommendations: Iterable[Recommendation]) -> pd.DataFrame:
    """One row per recommendation: the question, the final and computed outcome, whether
    the panel overrode it, the certainty and the conditions that fired."""
    rows = [
        {
            "key": r.key,
            "population": r.population,
            "recommendation": r.label,
            "interventions": ", ".join(r.interventions),
            "comparator": r.comparator,
            "direction": r.direction,
            "strength": r.strength,
            "computed_direction": r.computed_direction,
            "computed_strength": r.computed_strength,
            "overridden": r.overridden,
            "certainty": r.certainty_range,
            "conditions": ", ".join(r.fired),
            "statement": r.statement,
        }
        for r in recommendations
    ]
    return pd.DataFrame(rows)
