"""The vocabulary of certainty ratings: outcomes, levels, judgements and overrides.

GRADE rates the certainty of evidence as high, moderate, low or very low (Guyatt et al.
2008, BMJ 336:924); CINeMA judges each domain as no, some or major concerns
(Nikolakopoulou et al. 2020, PLoS Med 17:e1003082).  Every judgement carries the rule
that produced it and the numbers behind it, and may be overridden only with a written
justification, so that a reader can check each step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .._result import jsonable
from ..errors import SpecError

CONCERNS = ("no concerns", "some concerns", "major concerns")
CERTAINTY = ("high", "moderate", "low", "very low")
DOMAINS = (
    "within-study bias",
    "reporting bias",
    "indirectness",
    "imprecision",
    "heterogeneity",
    "incoherence",
)

Concern = Literal["no concerns", "some concerns", "major concerns"]
Certainty = Literal["high", "moderate", "low", "very low"]


def concern(value: str) -> str:
    """Normalise a concern level ('no', 'some', 'major', with or without 'concerns')."""
    v = str(value).strip().lower()
    aliases = {
        "no": "no concerns",
        "none": "no concerns",
        "no concern": "no concerns",
        "some": "some concerns",
        "some concern": "some concerns",
        "serious": "some concerns",
        "major": "major concerns",
        "major concern": "major concerns",
        "very serious": "major concerns",
    }
    v = aliases.get(v, v)
    if v not in CONCERNS:
        raise SpecError(f"unknown concern level {value!r}; use one of: {', '.join(CONCERNS)}")
    return v


def certainty(value: str) -> str:
    """Normalise a certainty level."""
    v = str(value).strip().lower().replace("_", " ")
    if v not in CERTAINTY:
        raise SpecError(f"unknown certainty level {value!r}; use one of: {', '.join(CERTAINTY)}")
    return v


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds on the outcome's natural scale, as multiples of nothing:
    absolute values (e.g. small = 1.5 cm, moderate = 3.0, large = 4.5 on a 10 cm
    VAS).  ``small`` is the minimal important difference (MID)."""

    small: float
    moderate: float | None = None
    large: float | None = None

    def __post_init__(self):
        vals = [v for v in (self.small, self.moderate, self.large) if v is not None]
        if any(v <= 0 for v in vals) or vals != sorted(vals):
            raise SpecError(f"thresholds must be positive and increasing (small < moderate < large); got {vals}")

    @classmethod
    def from_mid(cls, mid: float, multiples: tuple[float, float, float] = (1.0, 2.0, 3.0)) -> "Thresholds":
        """Small, moderate and large effects as multiples of the MID (default 1x, 2x, 3x)."""
        return cls(mid * multiples[0], mid * multiples[1], mid * multiples[2])

    def to_dict(self) -> dict:
        return {"small": self.small, "moderate": self.moderate, "large": self.large}


@dataclass(frozen=True)
class Outcome:
    """An outcome as certainty ratings and statements need it.

    ``measure`` is the effect measure (MD, SMD, OR, RR, ...); ``larger_better`` the
    direction of benefit (pain: False; response: True); ``thresholds`` are on the
    scale the judgements are made on: natural units for mean differences, and for
    ratio measures the absolute risk difference per 1,000 patients at
    ``baseline_risk`` (GRADE judges ratio measures by their absolute effects);
    ``target`` is what imprecision is rated against: "mid" (minimally contextualised:
    is the effect important?) or "null" (is there an effect?).
    """

    name: str
    measure: str
    larger_better: bool
    thresholds: Thresholds
    unit: str = ""
    target: Literal["mid", "null"] = "mid"
    baseline_risk: float | None = None
    description: str = ""

    def __post_init__(self):
        if self.target not in ("mid", "null"):
            raise SpecError(f"outcome {self.name!r}: target must be 'mid' or 'null', not {self.target!r}")
        if self.baseline_risk is not None and not 0 < self.baseline_risk < 1:
            raise SpecError(f"outcome {self.name!r}: baseline_risk must be between 0 and 1")

    @property
    def mid(self) -> float:
        return self.thresholds.small

    def to_dict(self) -> dict:
        return jsonable(
            {
                "name": self.name,
                "measure": self.measure,
                "larger_better": self.larger_better,
                "thresholds": self.thresholds.to_dict(),
                "unit": self.unit,
                "target": self.target,
                "baseline_risk": self.baseline_risk,
                "description": self.description,
            }
        )


@dataclass(frozen=True)
class Override:
    """A judgement replaced by the panel, with its reason (required)."""

    level: str
    justification: str
    by: str = ""

    def __post_init__(self):
        if not str(self.justification).strip():
            raise SpecError(
                f"an override to {self.level!r} needs a justification: say why the computed judgement is replaced"
            )

    def to_dict(self) -> dict:
        return {"level": self.level, "justification": self.justification, "by": self.by}


@dataclass(frozen=True)
class DomainJudgement:
    """One domain's judgement for one estimate: the computed level, the rule that
    fired and the numbers behind it, and the final level after any override."""

    domain: str
    computed: str
    rule: str
    numbers: dict = field(default_factory=dict)
    override: Override | None = None

    @property
    def level(self) -> str:
        return self.override.level if self.override is not None else self.computed

    def to_dict(self) -> dict:
        return jsonable(
            {
                "domain": self.domain,
                "level": self.level,
                "computed": self.computed,
                "rule": self.rule,
                "numbers": self.numbers,
                "override": None if self.override is None else self.override.to_dict(),
            }
        )
