"""From domain judgements to a certainty rating, for every network estimate.

CINeMA computes the six domain judgements and leaves their summary into one rating to
the reviewers (Nikolakopoulou et al. 2020, PLoS Med 17:e1003082; Papakonstantinou et
al. 2020, Campbell Syst Rev 16:e1080: "judgments across the domains are summarized into
a single confidence rating").  netgrade computes that summary too, with a rule that is
written down (:meth:`RatingRules.describe`) and configurable, and lets a panel replace
any domain judgement or the overall rating only with a written justification.

The default rule is GRADE's: evidence from randomised trials starts at high certainty
(Guyatt et al. 2008, BMJ 336:924; Balshem et al. 2011, J Clin Epidemiol 64:401) and is
rated down one level for each domain with some concerns ("serious") and two levels for
each domain with major concerns ("very serious"), never below very low.  GRADE applies
the same domains to network estimates (Puhan et al. 2014, BMJ 349:g5630), rating
imprecision on the network estimate only (Brignardello-Petersen et al. 2018, J Clin
Epidemiol 93:36-44), and CINeMA's domains are GRADE's with inconsistency split into
heterogeneity and incoherence.  Because those two -- and heterogeneity and imprecision
-- are not independent (Nikolakopoulou et al. 2020, Discussion), a maximum total
downgrade per group of domains can be set (:class:`DomainGroup`), e.g. at most two
levels for heterogeneity and incoherence together, as GRADE's single inconsistency
domain would allow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .._result import ResultMixin, fmt, jsonable
from ..errors import AnalysisWarning, DataError, ModelError, SpecError
from . import domains as D
from .types import CERTAINTY, DOMAINS, DomainJudgement, Outcome, Override, certainty, concern

__all__ = [
    "DomainGroup",
    "INCONSISTENCY_GROUP",
    "RatingRules",
    "rate_estimate",
    "apply_overall_override",
    "CertaintyRating",
    "CertaintyTable",
    "rate_network",
]

_DOMAIN_ALIASES = {
    "within-study bias": "within-study bias",
    "within study bias": "within-study bias",
    "risk of bias": "within-study bias",
    "rob": "within-study bias",
    "study limitations": "within-study bias",
    "reporting bias": "reporting bias",
    "publication bias": "reporting bias",
    "across-studies bias": "reporting bias",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "heterogeneity": "heterogeneity",
    "incoherence": "incoherence",
}
_SHORT = {"no concerns": "no", "some concerns": "some", "major concerns": "major"}


def _domain_name(name: str) -> str:
    key = str(name).strip().lower().replace("_", " ")
    if key not in _DOMAIN_ALIASES:
        raise SpecError(f"unknown domain {name!r}; use one of: {', '.join(DOMAINS)} (or 'overall')")
    return _DOMAIN_ALIASES[key]


# ---------------------------------------------------------------------------------
# rules


@dataclass(frozen=True)
class DomainGroup:
    """Domains whose downgrades together are capped at ``max_levels`` levels."""

    name: str
    domains: tuple[str, ...]
    max_levels: int

    def __post_init__(self):
        object.__setattr__(self, "domains", tuple(_domain_name(d) for d in self.domains))
        if len(set(self.domains)) != len(self.domains) or not self.domains:
            raise SpecError(f"domain group {self.name!r}: list each domain once")
        if int(self.max_levels) != self.max_levels or self.max_levels < 0:
            raise SpecError(f"domain group {self.name!r}: max_levels must be a whole number >= 0")

    def to_dict(self) -> dict:
        return {"name": self.name, "domains": list(self.domains), "max_levels": int(self.max_levels)}


#: GRADE's single "inconsistency" domain covers CINeMA's heterogeneity and incoherence:
#: together they rate down at most two levels.
INCONSISTENCY_GROUP = DomainGroup("inconsistency (heterogeneity and incoherence)", ("heterogeneity", "incoherence"), 2)


@dataclass(frozen=True)
class RatingRules:
    """How domain judgements combine into a certainty rating.

    ``start`` is the level before any rating down ("high" for randomised evidence,
    GRADE; "low" for observational evidence), with ``start_reason`` for the text;
    ``some_concerns`` and ``major_concerns`` the levels rated down per domain (1 and 2);
    ``floor`` the lowest level ("very low"); ``groups`` optional caps on the total
    downgrade of groups of domains; ``required`` the domains a rating must have.
    """

    start: str = "high"
    start_reason: str = "randomised evidence"
    some_concerns: int = 1
    major_concerns: int = 2
    floor: str = "very low"
    groups: tuple[DomainGroup, ...] = ()
    required: tuple[str, ...] = DOMAINS

    def __post_init__(self):
        object.__setattr__(self, "start", certainty(self.start))
        object.__setattr__(self, "floor", certainty(self.floor))
        if CERTAINTY.index(self.floor) < CERTAINTY.index(self.start):
            raise SpecError(f"rating rules: the floor {self.floor!r} is above the starting level {self.start!r}")
        for name in ("some_concerns", "major_concerns"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or v < 0:
                raise SpecError(f"rating rules: {name} must be a whole number of levels >= 0, not {v!r}")
        if self.major_concerns < self.some_concerns:
            raise SpecError("rating rules: major concerns cannot rate down fewer levels than some concerns")
        groups = tuple(self.groups)
        for g in groups:
            if not isinstance(g, DomainGroup):
                raise SpecError(f"rating rules: groups must be DomainGroup objects, not {type(g).__name__}")
        seen: dict[str, str] = {}
        for g in groups:
            for d in g.domains:
                if d in seen:
                    raise SpecError(f"rating rules: domain {d!r} is in two groups ({seen[d]!r} and {g.name!r})")
                seen[d] = g.name
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "required", tuple(_domain_name(d) for d in self.required))

    def points(self, level: str) -> int:
        """Levels rated down for one domain judged at ``level``."""
        return {"no concerns": 0, "some concerns": int(self.some_concerns), "major concerns": int(self.major_concerns)}[
            concern(level)
        ]

    def describe(self) -> str:
        """The combination rule in words."""

        def lv(n: int) -> str:
            return f"{n} level{'s' if n != 1 else ''}"

        text = (
            f"Certainty starts at {self.start!r} ({self.start_reason}) and is rated down {lv(self.some_concerns)} "
            f"for each domain with some concerns and {lv(self.major_concerns)} for each domain with major concerns "
            f"(GRADE: Guyatt et al. 2008, Puhan et al. 2014; domains of CINeMA, Nikolakopoulou et al. 2020), never "
            f"below {self.floor!r}."
        )
        for g in self.groups:
            text += f" {g.name}: {', '.join(g.domains)} together rate down at most {lv(g.max_levels)}."
        text += (
            f" Domains rated: {', '.join(self.required)}. A domain judgement or the overall rating may be "
            "overridden only with a written justification; the computed rating is kept next to the final one."
        )
        return text

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "start_reason": self.start_reason,
            "some_concerns": int(self.some_concerns),
            "major_concerns": int(self.major_concerns),
            "floor": self.floor,
            "groups": [g.to_dict() for g in self.groups],
            "required": list(self.required),
            "description": self.describe(),
        }


def rate_estimate(domains: Sequence[DomainJudgement], rules: RatingRules | None = None) -> tuple[str, str]:
    """Combine domain judgements (their final levels, i.e. after domain overrides)
    into a certainty level with ``rules``; returns ``(level, explanation)``.

    Every domain of ``rules.required`` must be present, and no domain twice."""
    rules = RatingRules() if rules is None else rules
    by_name: dict[str, DomainJudgement] = {}
    for d in domains:
        if not isinstance(d, DomainJudgement):
            raise SpecError(f"rate_estimate: expected DomainJudgement objects, got {type(d).__name__}")
        name = _domain_name(d.domain)
        if name in by_name:
            raise SpecError(f"rate_estimate: domain {name!r} is judged twice")
        by_name[name] = d
    missing = [d for d in rules.required if d not in by_name]
    if missing:
        raise SpecError(f"rate_estimate: no judgement for the domain(s) {', '.join(missing)}")
    order = [d for d in DOMAINS if d in by_name] + [d for d in by_name if d not in DOMAINS]
    points = {d: rules.points(by_name[d].level) for d in order}
    parts = []
    for d in order:
        j = by_name[d]
        tag = f" (overridden from {j.computed})" if j.override is not None else ""
        parts.append(f"{d}: {j.level}{tag} (-{points[d]})")
    total = 0
    grouped: set[str] = set()
    cap_notes = []
    for g in rules.groups:
        present = [d for d in g.domains if d in points]
        raw = sum(points[d] for d in present)
        used = min(raw, int(g.max_levels))
        if raw > used:
            cap_notes.append(f"{g.name} capped at -{used} (from -{raw})")
        total += used
        grouped.update(present)
    total += sum(p for d, p in points.items() if d not in grouped)
    start = CERTAINTY.index(rules.start)
    floor = CERTAINTY.index(rules.floor)
    idx = min(start + total, floor)
    level = CERTAINTY[idx]
    floored = start + total > floor
    text = f"Start at {rules.start} ({rules.start_reason}). " + "; ".join(parts) + "."
    if cap_notes:
        text += " " + "; ".join(cap_notes) + "."
    text += f" Total: rated down {total} level{'s' if total != 1 else ''} -> {level}"
    text += f" (floor {rules.floor} reached)." if floored else "."
    return level, text


def apply_overall_override(computed: str, override: Override | None) -> tuple[str, str]:
    """The final overall level: ``override.level`` if there is an override (with its
    justification in the text), else ``computed``."""
    computed = certainty(computed)
    if override is None:
        return computed, ""
    if not isinstance(override, Override):
        raise SpecError("an overall override must be an Override(level, justification)")
    level = certainty(override.level)
    by = f" by {override.by}" if override.by else ""
    return level, f"Overall rating overridden{by} from {computed} to {level}: {override.justification}"


# ---------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class CertaintyRating(ResultMixin):
    """The certainty of one network estimate, treatment1 versus treatment2.

    ``estimate``/``ci_low``/``ci_high``/``pi_low``/``pi_high`` are on the analysis scale
    (treatment1 minus treatment2, e.g. a log odds ratio); ``j_*`` the same on the
    judgement scale (``judgement_scale``: natural units, or risk difference per 1,000).
    ``computed`` is the rating from the computed domain judgements alone; ``final`` the
    rating after the panel's overrides (``override`` is the overall one, if any).
    """

    treatment1: str
    treatment2: str
    evidence: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    judgement_scale: str
    j_estimate: float
    j_ci_low: float
    j_ci_high: float
    j_pi_low: float
    j_pi_high: float
    domains: tuple[DomainJudgement, ...]
    computed: str
    final: str
    override: Override | None
    explanation: str

    @property
    def comparison(self) -> str:
        return f"{self.treatment1}:{self.treatment2}"

    @property
    def level(self) -> str:
        return self.final

    @property
    def overridden(self) -> tuple[str, ...]:
        out = tuple(d.domain for d in self.domains if d.override is not None)
        return out + (("overall",) if self.override is not None else ())

    def domain(self, name: str) -> DomainJudgement:
        name = _domain_name(name)
        for d in self.domains:
            if d.domain == name:
                return d
        raise SpecError(f"{self.comparison}: no judgement for the domain {name!r}")

    def row(self) -> dict:
        row = {
            "comparison": self.comparison,
            "treatment1": self.treatment1,
            "treatment2": self.treatment2,
            "evidence": self.evidence,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pi_low": self.pi_low,
            "pi_high": self.pi_high,
            "j_estimate": self.j_estimate,
            "j_ci_low": self.j_ci_low,
            "j_ci_high": self.j_ci_high,
            "j_pi_low": self.j_pi_low,
            "j_pi_high": self.j_pi_high,
        }
        for d in self.domains:
            row[d.domain] = d.level
            row[f"{d.domain} (computed)"] = d.computed
        row["certainty (computed)"] = self.computed
        row["certainty"] = self.final
        row["overridden"] = ", ".join(self.overridden)
        return row

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.row()])

    def summary(self) -> str:
        lines = [
            f"{self.treatment1} versus {self.treatment2} ({self.evidence} evidence): estimate {fmt(self.estimate)} "
            f"(95% CI {fmt(self.ci_low)} to {fmt(self.ci_high)}); on the {self.judgement_scale}: "
            f"{fmt(self.j_estimate)} ({fmt(self.j_ci_low)} to {fmt(self.j_ci_high)})",
        ]
        for d in self.domains:
            tag = ""
            if d.override is not None:
                by = f" by {d.override.by}" if d.override.by else ""
                tag = f" [overridden{by} from {d.computed}: {d.override.justification}]"
            lines.append(f"  {d.domain}: {d.level}{tag}")
            lines.append(f"      {d.rule}")
        lines.append(f"  certainty: {self.final} (computed: {self.computed})")
        lines.append(f"  {self.explanation}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "treatment1": self.treatment1,
                "treatment2": self.treatment2,
                "comparison": self.comparison,
                "evidence": self.evidence,
                "analysis_scale": {
                    "estimate": self.estimate,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "pi_low": self.pi_low,
                    "pi_high": self.pi_high,
                },
                "judgement_scale": {
                    "scale": self.judgement_scale,
                    "estimate": self.j_estimate,
                    "ci_low": self.j_ci_low,
                    "ci_high": self.j_ci_high,
                    "pi_low": self.j_pi_low,
                    "pi_high": self.j_pi_high,
                },
                "domains": [d.to_dict() for d in self.domains],
                "computed": self.computed,
                "final": self.final,
                "override": None if self.override is None else self.override.to_dict(),
                "explanation": self.explanation,
            }
        )


@dataclass(frozen=True, eq=False)
class CertaintyTable(ResultMixin):
    """Certainty ratings of the network estimates of one outcome."""

    outcome: Outcome
    rules: RatingRules
    ratings: tuple[CertaintyRating, ...]
    reference: str
    measure: str
    model: str
    settings: dict = field(default_factory=dict)
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.ratings)

    def __iter__(self):
        return iter(self.ratings)

    @property
    def comparisons(self) -> tuple[tuple[str, str], ...]:
        return tuple((r.treatment1, r.treatment2) for r in self.ratings)

    def rating(self, treatment1: str, treatment2: str) -> CertaintyRating:
        """The rating of treatment1 versus treatment2.  Ratings are stored in one
        orientation; asking for the other raises an error naming the stored one (the
        judgement-scale values of a ratio measure depend on which arm is the comparator,
        so they are not silently flipped)."""
        for r in self.ratings:
            if (r.treatment1, r.treatment2) == (treatment1, treatment2):
                return r
        for r in self.ratings:
            if (r.treatment2, r.treatment1) == (treatment1, treatment2):
                raise ModelError(
                    f"the certainty of {treatment1} versus {treatment2} is stored as {r.treatment1} versus "
                    f"{r.treatment2}: ask for rating({r.treatment1!r}, {r.treatment2!r}) (same certainty, estimates "
                    "with the opposite sign)"
                )
        raise ModelError(f"no certainty rating for {treatment1} versus {treatment2} in this table")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.row() for r in self.ratings])

    def summary(self) -> str:
        o = self.outcome
        direction = "larger is better" if o.larger_better else "smaller is better"
        scale = D.judgement_scale_label(o)
        lines = [
            f"Certainty of evidence (CINeMA domains, GRADE rating): {o.name} ({self.measure}, {direction}); "
            f"comparison A:B = A versus B",
            f"Judged on the {scale}; MID {fmt(o.thresholds.small)}; target {o.target!r}; {self.model}-effects network "
            f"estimates against {self.reference!r}.",
            f"Rule: {self.rules.describe()}",
            "",
        ]
        head = ["comparison", "estimate (95% CI)"] + ["RoB", "Rep", "Ind", "Impr", "Het", "Inc"] + ["computed", "final"]
        rows = []
        for r in self.ratings:
            levels = {d.domain: _SHORT[d.level] + ("*" if d.override is not None else "") for d in r.domains}
            rows.append(
                [r.comparison, f"{fmt(r.estimate, 3)} ({fmt(r.ci_low, 3)}, {fmt(r.ci_high, 3)})"]
                + [levels.get(d, "-") for d in DOMAINS]
                + [r.computed, r.final + ("*" if r.override is not None else "")]
            )
        lines.append(pd.DataFrame(rows, columns=head).to_string(index=False))
        lines.append(
            "RoB within-study bias, Rep reporting bias, Ind indirectness, Impr imprecision, Het heterogeneity, "
            "Inc incoherence; no / some / major concerns; * overridden (reasons below)."
        )
        notes = []
        for r in self.ratings:
            for d in r.domains:
                if d.override is not None:
                    by = f" by {d.override.by}" if d.override.by else ""
                    notes.append(
                        f"{r.comparison}, {d.domain}: {d.computed} -> {d.level}{by}: {d.override.justification}"
                    )
            if r.override is not None:
                by = f" by {r.override.by}" if r.override.by else ""
                notes.append(f"{r.comparison}, overall: {r.computed} -> {r.final}{by}: {r.override.justification}")
        if notes:
            lines += ["", "Overrides:"] + [f"  {n}" for n in notes]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "outcome": self.outcome.to_dict(),
                "measure": self.measure,
                "reference": self.reference,
                "model": self.model,
                "judgement_scale": D.judgement_scale_label(self.outcome),
                "orientation": "comparison A:B = A versus B; estimates are A minus B (analysis scale)",
                "rules": self.rules.to_dict(),
                "settings": self.settings,
                "ratings": [r.to_dict() for r in self.ratings],
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )


# ---------------------------------------------------------------------------------
# rating a whole network


def _pair_key(key: Any, what: str) -> tuple[str, str]:
    if isinstance(key, str):
        parts = key.split(":")
        if len(parts) != 2:
            raise SpecError(f"{what}: {key!r} is not a comparison; write 'A:B' or ('A', 'B')")
        return parts[0].strip(), parts[1].strip()
    try:
        a, b = key
    except (TypeError, ValueError):
        raise SpecError(f"{what}: {key!r} is not a comparison; write 'A:B' or ('A', 'B')") from None
    return str(a), str(b)


def _match(pair: tuple[str, str], rated: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    for c in rated:
        if c == pair or (c[1], c[0]) == pair:
            return c
    return None


def _study_map(values: Any, what: str) -> dict[str, Any]:
    if isinstance(values, pd.Series):
        values = values.to_dict()
    if isinstance(values, pd.DataFrame):
        raise SpecError(f"{what}: give a mapping study -> judgement (e.g. a pandas Series indexed by study)")
    if not isinstance(values, Mapping):
        raise SpecError(f"{what}: give a mapping study -> judgement, not {type(values).__name__}")
    out = {}
    for k, v in values.items():
        out[str(k)] = D.study_level(v)
    return out


#: The study-level value declaring that within-study bias was not assessed: no
#: risk-of-bias judgements exist (e.g. a published data set without a risk-of-bias
#: table).  It must be given for every study of the network or for none.
NOT_ASSESSED = "not assessed"


def _rob_not_assessed(rob: Any) -> bool:
    """Whether ``rob`` declares within-study bias not assessed (every value
    ``"not assessed"``); a mix of that declaration and study judgements is refused."""
    values = rob.to_dict() if isinstance(rob, pd.Series) else rob
    if not isinstance(values, Mapping) or not values:
        return False
    flags = [isinstance(v, str) and v.strip().lower() == NOT_ASSESSED for v in values.values()]
    if any(flags) and not all(flags):
        raise SpecError(
            f"rob: {NOT_ASSESSED!r} declares the within-study bias domain unassessed for the whole network; it "
            "cannot be mixed with study judgements (low / some concerns / high)"
        )
    return all(flags)


def _bias_not_assessed(contributions: Mapping[str, float]) -> DomainJudgement:
    """The within-study bias domain when no risk-of-bias judgements exist: no concerns
    by declaration, with a rule that says so (never by assessment)."""
    return DomainJudgement(
        "within-study bias",
        "no concerns",
        "not assessed: no study-level risk-of-bias judgements exist for this network (declared 'not assessed'); "
        "the domain is recorded as no concerns by declaration, not by assessment - the rating does not reflect "
        "within-study bias",
        {
            "assessed": False,
            "judgements_given": False,
            "studies": {s: {"contribution": float(v)} for s, v in contributions.items() if float(v) > 0},
        },
    )


def _check_studies(studies: Sequence[str], judged: Mapping[str, Any], what: str) -> None:
    missing = [s for s in studies if s not in judged]
    if missing:
        unknown = [s for s in judged if s not in set(studies)]
        hint = f" (judgements given for studies not in the network: {', '.join(map(repr, unknown[:10]))})" if unknown else ""
        raise DataError(
            f"{what}: no judgement for {len(missing)} stud{'y' if len(missing) == 1 else 'ies'} of the network: "
            + ", ".join(repr(s) for s in missing)
            + hint
            + "; give every study low / some concerns / high - netgrade does not guess"
        )


def _comparison_list(res, comparisons) -> list[tuple[str, str]]:
    trts = list(res.treatments)
    if isinstance(comparisons, str):
        if comparisons == "reference":
            return [(t, res.reference) for t in trts if t != res.reference]
        if comparisons == "all":
            return [(trts[j], trts[i]) for i in range(len(trts)) for j in range(i + 1, len(trts))]
        raise SpecError(f"comparisons must be 'reference', 'all' or a list of pairs, not {comparisons!r}")
    out = []
    for item in comparisons:
        a, b = _pair_key(item, "comparisons")
        for t in (a, b):
            if t not in trts:
                raise SpecError(f"comparisons: treatment {t!r} is not in the network ({', '.join(trts)})")
        if a == b:
            raise SpecError(f"comparisons: {a!r} is compared with itself")
        if _match((a, b), out) is not None:
            raise SpecError(f"comparisons: {a} versus {b} is listed twice")
        out.append((a, b))
    if not out:
        raise SpecError("comparisons: no comparison to rate")
    return out


def _parse_overrides(overrides: Any, rated: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Override]]:
    out: dict[tuple[str, str], dict[str, Override]] = {}
    if overrides is None:
        return out
    if not isinstance(overrides, Mapping):
        raise SpecError("overrides must be a mapping {(treatment1, treatment2): {domain or 'overall': Override}}")
    for key, entries in overrides.items():
        pair = _pair_key(key, "overrides")
        c = _match(pair, rated)
        if c is None:
            raise SpecError(
                f"overrides: {pair[0]} versus {pair[1]} is not one of the rated comparisons "
                f"({', '.join(f'{a}:{b}' for a, b in rated[:12])}{', ...' if len(rated) > 12 else ''})"
            )
        if not isinstance(entries, Mapping):
            raise SpecError(f"overrides for {pair[0]}:{pair[1]}: give a mapping {{domain or 'overall': Override}}")
        slot = out.setdefault(c, {})
        for dname, ov in entries.items():
            name = "overall" if str(dname).strip().lower() == "overall" else _domain_name(dname)
            where = f"override of {name} for {c[0]}:{c[1]}"
            if isinstance(ov, Mapping):
                ov = Override(**dict(ov))  # refuses a missing justification
            if not isinstance(ov, Override):
                raise SpecError(
                    f"{where}: {ov!r} is a bare level; give Override(level, justification) - an override needs a "
                    "written reason"
                )
            level = certainty(ov.level) if name == "overall" else concern(ov.level)
            if name in slot:
                raise SpecError(f"{where} is given twice")
            slot[name] = Override(level=level, justification=ov.justification, by=ov.by)
    return out


def _reporting_map(
    reporting_bias: Any, rated: list[tuple[str, str]], default: str | None = None
) -> dict[tuple[str, str], str]:
    if isinstance(reporting_bias, str):
        return {c: reporting_bias for c in rated}
    if not isinstance(reporting_bias, Mapping):
        raise SpecError("reporting_bias must be one judgement for all comparisons or a mapping comparison -> judgement")
    out = {}
    for key, value in reporting_bias.items():
        pair = _pair_key(key, "reporting_bias")
        c = _match(pair, rated)
        if c is None:
            raise SpecError(f"reporting_bias: {pair[0]} versus {pair[1]} is not one of the rated comparisons")
        out[c] = value
    missing = [c for c in rated if c not in out]
    if missing and default is not None:
        out.update({c: default for c in missing})
    elif missing:
        raise SpecError(
            "reporting_bias: no judgement for " + ", ".join(f"{a}:{b}" for a, b in missing)
            + " (undetected / suspected / strongly suspected)"
        )
    return out


def rate_network(
    res,
    *,
    outcome: Outcome,
    rob: Mapping[str, Any],
    indirectness: Mapping[str, Any] | None = None,
    reporting_bias: str | Mapping[Any, str] = "undetected",
    rules: RatingRules | None = None,
    comparisons: str | Sequence[Any] = "reference",
    contribution_method: str = "shortestpath",
    bias_rule: str = "majority",
    indirectness_rule: str | None = None,
    tie: str = "lower",
    imprecision_scheme: str = "cinema",
    p_thresholds: tuple[float, float] = (0.01, 0.10),
    direct_only: str = "global",
    untestable: str = "major concerns",
    funnel_test: Any = None,
    reporting_bias_default: str | None = None,
    overrides: Mapping[Any, Mapping[str, Any]] | None = None,
    split=None,
    dbt=None,
) -> CertaintyTable:
    """Rate the certainty of every network estimate of ``res`` (an NMAResult).

    For each comparison -- every treatment against the reference
    (``comparisons="reference"``), every pair (``"all"``; the treatment later in the
    network's order first, so the reference is always second), or a list of pairs --
    the six CINeMA domains are judged:

    * within-study bias and indirectness: the study judgements ``rob`` /
      ``indirectness`` (study -> low / some concerns / high) weighted by the studies'
      contributions to that estimate (:func:`netgrade.network.network_study_contributions`
      with ``contribution_method``), summarised with ``bias_rule`` (and
      ``indirectness_rule``, default the same) -- :func:`domains.within_study_bias`.
      Without ``indirectness`` every study is taken as directly relevant and a warning
      says so.  ``rob`` giving ``"not assessed"`` for every study declares that no
      risk-of-bias judgements exist: the domain is then no concerns by declaration, its
      rule says "not assessed" and a warning (``risk_of_bias_not_assessed``) says so;
    * reporting bias: ``reporting_bias`` (one judgement, or one per comparison), with
      ``funnel_test`` recorded as evidence; with a mapping, comparisons it does not list
      take ``reporting_bias_default`` (an error if that is None);
    * imprecision and heterogeneity: the network estimate, its 95% CI and 95%
      prediction interval (t on the network's Q df, netmeta's convention as in CINeMA)
      on the judgement scale of ``outcome``;
    * incoherence: node-splitting (``split``, default :func:`node_split(res)`) and the
      design-by-treatment test (``dbt``, default :func:`design_by_treatment(res)`), of
      the random-effects model for a random-effects fit.

    The overall certainty follows ``rules`` (:class:`RatingRules`).  ``overrides`` maps
    comparisons ("A:B" or (A, B), either orientation) to ``{domain or "overall":
    Override(level, justification)}``; the computed judgements and rating are kept next
    to the final ones.  An override without a justification, or naming an unknown
    comparison or domain, is an error.
    """
    from ..network.contribution import network_study_contributions
    from ..network.inconsistency import design_by_treatment, node_split

    rules = RatingRules() if rules is None else rules
    if not isinstance(outcome, Outcome):
        raise SpecError("rate_network: outcome must be a netgrade.certainty.types.Outcome")
    if str(outcome.measure).strip().upper() != str(res.measure).strip().upper():
        raise SpecError(
            f"rate_network: the outcome {outcome.name!r} is measured as {outcome.measure!r} but the network was "
            f"analysed as {res.measure!r}"
        )
    warnings: list[AnalysisWarning] = []
    if bool(getattr(res, "larger_better", outcome.larger_better)) != bool(outcome.larger_better):
        warnings.append(
            AnalysisWarning(
                "direction_mismatch",
                f"the network was fitted with larger_better={res.larger_better} but the outcome says "
                f"larger_better={outcome.larger_better}; certainty uses the outcome's direction (check rankings)",
            )
        )
    rated = _comparison_list(res, comparisons)
    ov = _parse_overrides(overrides, rated)
    rep = _reporting_map(reporting_bias, rated, reporting_bias_default)
    model = "random" if res.is_random else "common"

    studies = [b.study for b in res.data.blocks]
    if _rob_not_assessed(rob):
        declared = rob.to_dict() if isinstance(rob, pd.Series) else rob
        _check_studies(studies, {str(k): v for k, v in declared.items()}, "rob (within-study bias)")
        rob_map = None
        warnings.append(
            AnalysisWarning(
                "risk_of_bias_not_assessed",
                "within-study bias was not assessed: no study-level risk-of-bias judgements exist, so the domain is "
                "recorded as no concerns by declaration for every estimate; the certainty ratings do not reflect "
                "risk of bias and may be too high",
            )
        )
    else:
        rob_map = _study_map(rob, "rob")
        _check_studies(studies, rob_map, "rob (within-study bias)")
    if indirectness is None:
        ind_map = {s: "low" for s in studies}
        warnings.append(
            AnalysisWarning(
                "indirectness_not_given",
                "no study-level indirectness judgements were given: every study is taken as directly relevant "
                "(low indirectness); give `indirectness` to assess this domain",
            )
        )
    else:
        ind_map = _study_map(indirectness, "indirectness")
        _check_studies(studies, ind_map, "indirectness")
    ind_rule = bias_rule if indirectness_rule is None else indirectness_rule

    contrib = network_study_contributions(res, method=contribution_method)
    by_pair: dict[frozenset, dict[str, float]] = {}
    for t1, t2, s, v in zip(contrib["treat1"], contrib["treat2"], contrib["study"], contrib["contribution"]):
        row = by_pair.setdefault(frozenset((t1, t2)), {})
        row[s] = row.get(s, 0.0) + float(v)

    split = node_split(res) if split is None else split
    dbt = design_by_treatment(res) if dbt is None else dbt
    split_model = model if getattr(split, "random", None) is not None or model == "common" else "common"
    league = res.league(pi="t")

    ratings = []
    for t1, t2 in rated:
        pair = league.pair(t1, t2)
        est, lo, hi, pl, ph = (pair[k] for k in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"))
        j_est, j_lo, j_hi, j_pl, j_ph = (float(x) for x in D.to_judgement_scale([est, lo, hi, pl, ph], outcome))
        names = (t1, t2)
        sc = by_pair.get(frozenset((t1, t2)))
        if not sc:
            raise ModelError(f"no study contributions for {t1} versus {t2}")
        rec = split.comparison(t1, t2, split_model)
        doms = [
            D.within_study_bias(sc, rob_map, bias_rule, tie=tie) if rob_map is not None else _bias_not_assessed(sc),
            D.reporting_bias(rep[(t1, t2)], funnel_test),
            D.indirectness(sc, ind_map, ind_rule, tie=tie),
            D.imprecision(j_est, j_lo, j_hi, outcome, scheme=imprecision_scheme, treatments=names),
            D.heterogeneity(
                j_est, j_lo, j_hi, j_pl, j_ph, outcome, res.tau2 if res.is_random else None,
                model=model, treatments=names,
            ),
            D.incoherence(
                rec, dbt, outcome, p_thresholds, model=split_model, direct_only=direct_only,
                untestable=untestable, treatments=names,
            ),
        ]
        if indirectness is None:
            d = doms[2]
            doms[2] = dataclasses.replace(
                d, rule="no study-level indirectness judgements given: every study taken as directly relevant (low) - "
                + d.rule, numbers={**d.numbers, "judgements_given": False},
            )
        evidence = doms[5].numbers["evidence"]
        entry = ov.get((t1, t2), {})
        doms = [dataclasses.replace(d, override=entry[d.domain]) if d.domain in entry else d for d in doms]
        plain = [dataclasses.replace(d, override=None) for d in doms]
        computed, computed_text = rate_estimate(plain, rules)
        explanation = f"Computed: {computed_text}"
        with_domains = computed
        if any(d.override is not None for d in doms):
            with_domains, dom_text = rate_estimate(doms, rules)
            explanation += f" With the panel's domain overrides: {dom_text}"
        final, ov_text = apply_overall_override(with_domains, entry.get("overall"))
        if ov_text:
            explanation += f" {ov_text}."
        ratings.append(
            CertaintyRating(
                treatment1=t1, treatment2=t2, evidence=evidence,
                estimate=est, ci_low=lo, ci_high=hi, pi_low=pl, pi_high=ph,
                judgement_scale=D.judgement_scale_label(outcome),
                j_estimate=j_est, j_ci_low=j_lo, j_ci_high=j_hi, j_pi_low=j_pl, j_pi_high=j_ph,
                domains=tuple(doms), computed=computed, final=final, override=entry.get("overall"),
                explanation=explanation,
            )
        )
    settings = {
        "comparisons": comparisons if isinstance(comparisons, str) else [f"{a}:{b}" for a, b in rated],
        "contribution_method": contribution_method,
        "bias_rule": bias_rule,
        "indirectness_rule": ind_rule,
        "tie": tie,
        "imprecision_scheme": imprecision_scheme,
        "p_thresholds": list(p_thresholds),
        "direct_only": direct_only,
        "untestable": concern(untestable),
        "prediction_interval": "t distribution on the network's Q degrees of freedom (netmeta)",
        "incoherence_model": split_model,
    }
    return CertaintyTable(
        outcome=outcome,
        rules=rules,
        ratings=tuple(ratings),
        reference=res.reference,
        measure=res.measure,
        model=model,
        settings=settings,
        warnings=tuple(warnings),
    )
