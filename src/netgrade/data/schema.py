"""The data model: tidy tables with canonical column names.

Every reader converts its input into one of these tables, whatever the original column
names or layout (long arm-level, metafor-style wide two-group rows, contrast-level).
Each row keeps the file and the row number it came from (``source_file``,
``source_row``) so that any later problem can still be reported where the user can fix
it.

Canonical columns
-----------------
arms (one row per arm)
    ``study, treatment, n`` plus ``events`` (binary) or ``mean, sd`` (continuous);
    optional ``time``, ``scale_min``, ``scale_max``.
contrasts (one row per comparison)
    ``study, estimate, se`` and, for networks, ``treatment1, treatment2``
    (estimate = treatment1 versus treatment2).
studies
    ``study`` plus any covariates.
risk of bias
    ``study`` plus one column per domain with values ``low``, ``some concerns``,
    ``high`` and optionally ``overall``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from ..errors import AnalysisWarning, ExcludedStudy

STUDY = "study"
TREATMENT = "treatment"
N = "n"
EVENTS = "events"
MEAN = "mean"
SD = "sd"
TIME = "time"
SCALE_MIN = "scale_min"
SCALE_MAX = "scale_max"
TREATMENT1 = "treatment1"
TREATMENT2 = "treatment2"
ESTIMATE = "estimate"
SE = "se"
SOURCE_FILE = "source_file"
SOURCE_ROW = "source_row"

BINARY_ARM_COLUMNS = (STUDY, TREATMENT, EVENTS, N)
CONTINUOUS_ARM_COLUMNS = (STUDY, TREATMENT, MEAN, SD, N)
OPTIONAL_ARM_COLUMNS = (TIME, SCALE_MIN, SCALE_MAX)
CONTRAST_COLUMNS = (STUDY, ESTIMATE, SE)
NETWORK_CONTRAST_COLUMNS = (STUDY, TREATMENT1, TREATMENT2, ESTIMATE, SE)

RISK_OF_BIAS_LEVELS = ("low", "some concerns", "high")

OutcomeType = Literal["binary", "continuous"]


@dataclass(frozen=True, eq=False)
class ArmTable:
    """Validated arm-level data, one row per arm, canonical columns.

    ``excluded`` lists studies that were read but cannot be analysed (with the reason);
    ``warnings`` the recoverable oddities found while reading.
    """

    frame: pd.DataFrame
    outcome_type: OutcomeType
    source: str | None = None
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def studies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.frame[STUDY]))

    @property
    def treatments(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.frame[TREATMENT])))


@dataclass(frozen=True, eq=False)
class ContrastTable:
    """Validated contrast-level data, one row per comparison, canonical columns.

    Pairwise contrast data have ``study, estimate, se``; network contrast data add
    ``treatment1, treatment2``.
    """

    frame: pd.DataFrame
    source: str | None = None
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def studies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.frame[STUDY]))

    @property
    def is_network(self) -> bool:
        return TREATMENT1 in self.frame.columns and TREATMENT2 in self.frame.columns


@dataclass(frozen=True, eq=False)
class StudyTable:
    """Study-level covariates (region, condition, year, ...), one row per study."""

    frame: pd.DataFrame
    source: str | None = None


@dataclass(frozen=True, eq=False)
class RiskOfBiasTable:
    """Risk-of-bias judgements, one row per study, one column per domain."""

    frame: pd.DataFrame
    domains: tuple[str, ...]
    source: str | None = None


# ---------------------------------------------------------------------------
# Input vocabulary (added for the readers; nothing above depends on it).
# ---------------------------------------------------------------------------

#: Input-only key: a sampling variance column, converted to ``se = sqrt(vi)``.
VI = "vi"
#: Optional overall judgement column of a risk-of-bias table.
OVERALL = "overall"

#: Recognised column names per canonical role, in tiers of decreasing priority.
#: Matching ignores case, spaces, dots, underscores and hyphens ("Sample size",
#: "sample_size" and "SAMPLE.SIZE" are the same name).  The first tier with a match
#: wins; two columns matching within that tier is an ambiguity the user resolves with
#: an explicit ``columns=`` mapping.  The tiers let a file that has both ``study`` and
#: ``id`` (dat.hasselblad1998) or ``trial`` and ``id`` (dat.yusuf1985) be read
#: without a mapping, while ``author`` next to ``authors`` is still ambiguous.
COLUMN_ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
    STUDY: ((STUDY,), ("studlab", "trial"), ("author", "authors", "id")),
    TREATMENT: ((TREATMENT,), ("treat", "trt", "arm", "group")),
    EVENTS: ((EVENTS,), ("event", "xi", "r", "responders")),
    N: ((N,), ("ni", "total", "sample_size")),
    MEAN: ((MEAN,), ("mi", "m")),
    SD: ((SD,), ("sdi", "s")),
    ESTIMATE: (
        (ESTIMATE,),
        ("yi", "te", "effect"),
        ("lnor", "logor", "lnrr", "logrr", "lnhr", "loghr", "md", "smd"),
    ),
    SE: (
        (SE,),
        ("sei", "sete"),
        ("selnor", "selogor", "selnrr", "selogrr", "selnhr", "seloghr", "semd", "sesmd"),
    ),
    VI: ((VI,), ("var", "variance")),
    TREATMENT1: ((TREATMENT1,), ("treat1", "t1")),
    TREATMENT2: ((TREATMENT2,), ("treat2", "t2")),
    TIME: ((TIME,),),
    SCALE_MIN: ((SCALE_MIN,),),
    SCALE_MAX: ((SCALE_MAX,),),
    OVERALL: ((OVERALL,),),
}

#: metafor's names for one-row-per-study ("wide") data, recognised by name only.
WIDE_BINARY_COLUMNS = ("ai", "bi", "ci", "di", "n1i", "n2i")
WIDE_CONTINUOUS_COLUMNS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
WIDE_SINGLE_COLUMNS = ("xi", "mi", "sdi", "ni")
WIDE_PRECOMPUTED_COLUMNS = ("yi", "vi", "sei")
WIDE_COLUMNS = tuple(
    dict.fromkeys(
        WIDE_BINARY_COLUMNS + WIDE_CONTINUOUS_COLUMNS + WIDE_SINGLE_COLUMNS + WIDE_PRECOMPUTED_COLUMNS
    )
)

#: Layouts of wide files: two-group counts, two-group means, one group (counts or
#: means), and effect sizes computed elsewhere.
WideLayout = Literal["binary", "continuous", "single_binary", "single_continuous", "precomputed"]
WIDE_LAYOUTS = ("binary", "continuous", "single_binary", "single_continuous", "precomputed")

#: Risk-of-bias judgements as written in the wild, mapped to RISK_OF_BIAS_LEVELS.
#: Keys are lower case with single spaces ("Low_Risk", "low-risk" normalise to them).
RISK_OF_BIAS_SYNONYMS: dict[str, str] = {
    "low": "low",
    "low risk": "low",
    "low risk of bias": "low",
    "some": "some concerns",
    "some concerns": "some concerns",
    "unclear": "some concerns",
    "unclear risk": "some concerns",
    "unclear risk of bias": "some concerns",
    "moderate": "some concerns",
    "moderate risk": "some concerns",
    "moderate risk of bias": "some concerns",
    "high": "high",
    "high risk": "high",
    "high risk of bias": "high",
    "serious": "high",
    "serious risk": "high",
    "serious risk of bias": "high",
}
