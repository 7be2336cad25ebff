"""The analysis specification: one TOML file that says what to analyse and how.

A review team writes its analysis down once -- data files and column maps, outcomes
(measure, direction of benefit, minimal important difference and thresholds, time
point), populations analysed as separate networks, treatments, the model, certainty
inputs and overrides, evidence-to-decision inputs, the decision rule, budget
assumptions and report options -- and every command reads it.  The spec is validated
with pydantic; every error names the file and the key (``spine.toml: outcomes[0].mid:
must be positive``).  ``spec_json_schema()`` gives the JSON Schema that is shipped with
the package (``netgrade/spec.schema.json``) for editors and other tools.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SpecError

CONCERN_LEVELS = ("no concerns", "some concerns", "major concerns")
CERTAINTY_LEVELS = ("high", "moderate", "low", "very low")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectSpec(_Model):
    title: str = Field(description="Title of the analysis, shown on the report.")
    question: str = Field("", description="The clinical question, in words.")
    simulated: bool = Field(False, description="True if the data are simulated (labelled everywhere).")
    authors: list[str] = Field(default_factory=list)


class DataSpec(_Model):
    arms: str | None = Field(None, description="Arm-level data file (study, treatment, n, events | mean, sd).")
    contrasts: str | None = Field(None, description="Contrast-level data file (study, treatment1, treatment2, estimate, se).")
    studies: str | None = Field(None, description="Study-level covariates (study + columns).")
    risk_of_bias: str | None = Field(None, description="Risk-of-bias judgements (study + domains + overall).")
    treatments: str | None = Field(None, description="Treatment table (treatment, label, components, class, parent).")
    columns: dict[str, str] = Field(default_factory=dict, description="Column map for the arm or contrast file: canonical -> file column.")
    sheet: str | None = None
    missing: Literal["exclude", "error"] = "exclude"

    @model_validator(mode="after")
    def _one_source(self):
        if not (self.arms or self.contrasts):
            raise ValueError("give the arm-level data ('arms') or the contrast-level data ('contrasts')")
        if self.arms and self.contrasts:
            raise ValueError("give either 'arms' or 'contrasts', not both")
        return self


class OutcomeSpec(_Model):
    name: str = Field(description="Short name used as a key (e.g. 'pain').")
    label: str = Field("", description="Label for tables (e.g. 'Pain (10 cm VAS)').")
    measure: str = Field(description="Effect measure: MD, SMD, OR, RR, RD, ROM, ...")
    direction: Literal["smaller_is_better", "larger_is_better"] = Field(
        description="Direction of benefit of the outcome (pain: smaller_is_better)."
    )
    mid: float = Field(gt=0, description="Minimal important difference on the judgement scale.")
    thresholds: list[float] | None = Field(
        None, description="Small, moderate and large effect thresholds (default: 1x, 2x, 3x the MID)."
    )
    unit: str = ""
    target: Literal["mid", "null"] = Field("mid", description="Rate imprecision against the MID or the null.")
    baseline_risk: float | None = Field(None, gt=0, lt=1, description="For ratio measures: baseline risk for absolute effects.")
    critical: bool = True
    timepoint: str = Field("", description="Time-point rule, in words (e.g. 'closest to but not over 3 months').")
    phrases: dict[str, str] = Field(
        default_factory=dict,
        description="How statements name the outcome: keys increase, decrease, none, default (e.g. none = 'pain relief').",
    )
    where: dict[str, Any] = Field(default_factory=dict, description="Row filter selecting this outcome's data.")

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, v):
        if v is not None:
            if not 1 <= len(v) <= 3 or any(x <= 0 for x in v) or v != sorted(v):
                raise ValueError("thresholds must be one to three positive increasing values (small, moderate, large)")
        return v

    @model_validator(mode="after")
    def _mid_is_small(self):
        if self.thresholds is not None and abs(self.thresholds[0] - self.mid) > 1e-12 * max(1.0, self.mid):
            raise ValueError("the first threshold (small effect) must equal the MID")
        return self

    @property
    def larger_better(self) -> bool:
        return self.direction == "larger_is_better"

    def to_outcome(self):
        from .certainty.types import Outcome, Thresholds

        t = self.thresholds or [self.mid, 2 * self.mid, 3 * self.mid]
        t = list(t) + [None] * (3 - len(t))
        return Outcome(
            name=self.name,
            measure=self.measure.upper(),
            larger_better=self.larger_better,
            thresholds=Thresholds(*t),
            unit=self.unit,
            target=self.target,
            baseline_risk=self.baseline_risk,
            description=self.label or self.name,
        )


class PopulationSpec(_Model):
    name: str
    label: str = ""
    where: dict[str, Any] = Field(default_factory=dict, description="Row filter on the data (e.g. {population = 'axial'}).")


class TreatmentSpec(_Model):
    label: str = ""
    components: list[str] = Field(default_factory=list)
    klass: str = Field("", alias="class")
    parent: str = ""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ModelSpec(_Model):
    method: Literal["FE", "DL", "REML", "ML"] = "REML"
    reference: str = Field(description="Reference treatment (e.g. 'sham').")
    level: float = Field(0.95, gt=0, lt=1)
    prediction: Literal["t", "z"] = Field("t", description="Prediction intervals from t (netmeta) or z (metafor).")
    order: list[str] | None = Field(None, description="Order of treatments in tables.")


class OverrideSpec(_Model):
    population: str | None = None
    outcome: str
    comparison: list[str] = Field(min_length=2, max_length=2, description="[treatment, comparator]")
    domain: str = Field(description="A certainty domain, or 'overall'.")
    level: str
    justification: str = Field(description="Why the computed judgement is replaced (required, not empty).")
    by: str = ""

    @field_validator("justification")
    @classmethod
    def _not_empty(cls, v):
        if not v.strip():
            raise ValueError("an override needs a justification: say why the computed judgement is replaced")
        return v


class DomainCapSpec(_Model):
    """Domains whose downgrades together are capped (e.g. GRADE's advice to rate down
    once, not twice, when imprecision is due to heterogeneity)."""

    name: str
    domains: list[str] = Field(min_length=1)
    max_levels: int = Field(ge=0)
    reason: str = Field(description="Why these domains are capped together (shown on the report).")

    @field_validator("reason")
    @classmethod
    def _not_empty(cls, v):
        if not v.strip():
            raise ValueError("a domain cap needs a reason")
        return v


class CertaintySpec(_Model):
    starting_level: Literal["high", "moderate", "low", "very low"] = "high"
    domain_caps: list[DomainCapSpec] = Field(default_factory=list)
    bias_rule: Literal["majority", "average", "highest"] = "majority"
    contribution_method: Literal["shortestpath", "randomwalk"] = "shortestpath"
    comparisons: Literal["reference", "all"] = "reference"
    reporting_bias: str | dict[str, str] = Field(
        "undetected",
        description="undetected, suspected or strongly suspected; or a table 'treatment:comparator' -> judgement "
        "(comparisons not listed: undetected).",
    )
    funnel_test: bool = Field(
        True, description="Record the comparison-adjusted funnel test (Chaimani 2013) as supporting evidence."
    )
    indirectness_column: str | None = Field(
        None, description="Column of the studies table with per-study indirectness (low/some/high); default: low for all."
    )
    within_study_bias: Literal["assessed", "not assessed"] = Field(
        "assessed",
        description="'assessed': study judgements from data.risk_of_bias (required). 'not assessed': no risk-of-bias "
        "judgements exist (e.g. a published data set without a risk-of-bias table); the domain is then no concerns "
        "by declaration for every estimate, its rule says 'not assessed' and a warning is carried on the results. "
        "Not together with data.risk_of_bias.",
    )
    statement_style: Literal["grade", "spine"] = Field(
        "grade", description="Wording of informative statements: GRADE's (Santesso 2020) or the spine guideline's."
    )
    statement_verb: str | None = Field(None, description="Verb of the statements (default: the style's, e.g. 'result in').")
    overrides: list[OverrideSpec] = Field(default_factory=list)


class HarmSpec(_Model):
    name: str
    rate: float | None = Field(None, ge=0, le=1, description="Event rate as a proportion (8.6% = 0.086).")
    ci_low: float | None = Field(None, ge=0, le=1)
    ci_high: float | None = Field(None, ge=0, le=1)
    comparator_rate: float | None = Field(None, ge=0, le=1)
    certainty: str | None = None
    interventions: list[str] = Field(default_factory=list, description="The interventions it applies to (default: all).")
    importance: Literal["critical", "important", "not important"] = "important"
    text: str = ""
    source: str = ""


#: Evidence-to-decision criteria (Alonso-Coello et al. 2016); each takes a judgement
#: string or {judgement, text, evidence}.
ETD_CRITERIA = (
    "problem",
    "desirable_effects",
    "undesirable_effects",
    "values_uncertainty",
    "values",
    "balance",
    "resources",
    "resources_certainty",
    "cost_effectiveness",
    "equity",
    "acceptability",
    "feasibility",
)

Criterion = str | dict[str, Any] | None


class _EtdCriteria(_Model):
    """The evidence-to-decision criteria, each a judgement or {judgement, text, evidence}."""

    problem: Criterion = None
    desirable_effects: Criterion = None
    undesirable_effects: Criterion = None
    values_uncertainty: Criterion = None
    values: Criterion = None
    balance: Criterion = None
    resources: Criterion = None
    resources_certainty: Criterion = None
    cost_effectiveness: Criterion = None
    equity: Criterion = None
    acceptability: Criterion = None
    feasibility: Criterion = None


class EtdGroupSpec(_EtdCriteria):
    """One recommendation: a population and the interventions it covers together
    (its criteria replace the shared ones)."""

    id: str
    population: str | None = None
    label: str = ""
    interventions: list[str] = Field(min_length=1)
    comparator: str | None = Field(None, description="Default: the model's reference.")
    remarks: list[str] = Field(default_factory=list)


class PanelOverrideSpec(_Model):
    group: str
    direction: Literal["for", "against"]
    strength: Literal["strong", "conditional"]
    justification: str
    by: str = ""

    @field_validator("justification")
    @classmethod
    def _not_empty(cls, v):
        if not v.strip():
            raise ValueError("a panel override needs a justification: say why the computed recommendation is replaced")
        return v


class EvidenceToDecisionSpec(_EtdCriteria):
    """Shared evidence-to-decision judgements, harms and the recommendation groups."""

    harms: list[HarmSpec] = Field(default_factory=list)
    groups: list[EtdGroupSpec] = Field(default_factory=list)
    panel_overrides: list[PanelOverrideSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _groups(self):
        ids = [g.id for g in self.groups]
        if len(set(ids)) != len(ids):
            raise ValueError(f"evidence_to_decision.groups: ids must be unique; got {ids}")
        for i, o in enumerate(self.panel_overrides):
            if o.group not in ids:
                raise ValueError(f"panel_overrides[{i}].group: unknown group {o.group!r} (groups: {', '.join(ids)})")
        return self


Number = float | list[float]


class BudgetSpec(_Model):
    volume_per_year: Number = Field(description="Procedures a year: a number, [low, high] or [low, base, high].")
    unit_costs: dict[str, Number] = Field(description="Label -> unit cost (number, [low, high] or [low, base, high]).")
    adoption_share: Number = Field(0.0, description="Share of current use that stops under the recommendation.")
    headline: str | None = Field(None, description="The unit-cost label of the headline figure.")
    currency: str = "USD"
    item: str = Field("procedure", description="Singular noun for what is counted.")
    setting: str = ""
    sources: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list, description="Recommendation groups the budget concerns (default: none).")


class ReportSpec(_Model):
    formats: list[Literal["png", "svg", "pdf"]] = Field(default_factory=lambda: ["png", "svg"])
    seed: int = 20261121
    title: str | None = None


class CorrectionSpec(_Model):
    """One extracted value replaced, with the reason (e.g. a second extraction)."""

    study: str
    treatment: str | None = Field(None, description="The arm (arm-level data); omit for a study-level field.")
    column: str = Field(description="Column of the data file (canonical name: mean, sd, n, events, ...).")
    value: float | int | str
    reason: str = Field(description="Why the value is replaced (required).")

    @field_validator("reason")
    @classmethod
    def _not_empty(cls, v):
        if not v.strip():
            raise ValueError("a correction needs a reason")
        return v


class VariantSpec(_Model):
    """A named change to the base analysis: one critique, one re-analysis.

    Data changes apply in this order: keep_where, exclude_where, exclude_studies,
    max_risk_of_bias, add_arms, corrections, treatment_column/split, lump, level.  Spec
    changes (``set``) replace single settings by dotted keys, e.g. ``"model.method" =
    "REML"``, ``"outcomes.pain.mid" = 1.0``, ``"certainty.domain_caps" = []``.
    """

    name: str = Field(description="Short id (e.g. 'lumbar-only').")
    label: str = Field("", description="Title of the variant in tables.")
    claim: str = Field("", description="The critique this variant answers, in words.")
    rationale: str = Field("", description="Why this re-analysis answers it.")
    keep_where: dict[str, Any] = Field(
        default_factory=dict,
        description="Keep only rows/studies matching (data or study columns); a value, a list, or {min, max}.",
    )
    exclude_where: dict[str, Any] = Field(default_factory=dict, description="Exclude the studies matching (same forms).")
    exclude_studies: list[str] = Field(default_factory=list, description="Studies to exclude, by id.")
    exclude_reason: str = Field("", description="Why those studies are excluded (shown with each).")
    max_risk_of_bias: Literal["low", "some concerns"] | None = Field(
        None, description="Keep only studies whose overall risk of bias is at most this level."
    )
    add_arms: str | None = Field(None, description="Arm-level file of trials to add (same columns as data.arms).")
    add_risk_of_bias: str | None = Field(None, description="Risk-of-bias judgements of the added trials (study, overall).")
    corrections: list[CorrectionSpec] = Field(default_factory=list)
    treatment_column: str | None = Field(
        None, description="Take treatments from this data column instead (e.g. 'treatment_split')."
    )
    split: list[str] = Field(
        default_factory=list,
        description="Split only these nodes using treatment_column (e.g. ['sham'] for inert versus active sham).",
    )
    lump: dict[str, str] = Field(default_factory=dict, description="Treatment -> the node it is merged into.")
    level: str | None = Field(
        None, description="Lump every treatment to its ancestor at this level of the treatments table (column 'level')."
    )
    set: dict[str, Any] = Field(default_factory=dict, description="Spec settings replaced, by dotted key.")

    @model_validator(mode="after")
    def _consistent(self):
        if self.split and not self.treatment_column:
            raise ValueError("split names nodes to split but no treatment_column says into what")
        if self.exclude_studies and not self.exclude_reason.strip():
            raise ValueError("exclude_studies needs an exclude_reason")
        return self


class SubgroupSpec(_Model):
    """An effect modifier to test: subgroup network meta-analysis by a study covariate,
    the test for interaction, and the ICEMAN credibility of any effect modification."""

    name: str
    covariate: str = Field(description="Column of the studies table (or the data file) that defines the subgroups.")
    label: str = ""
    populations: list[str] = Field(default_factory=list, description="Populations to test (default: all).")
    outcomes: list[str] = Field(default_factory=list, description="Outcomes to test (default: all).")
    levels: list[str] = Field(default_factory=list, description="Order of the levels (for a gradient); default: as found.")
    ordered: bool = Field(False, description="The levels are ordered (test a gradient across them).")
    model: Literal["auto", "subgroups", "metaregression"] = Field(
        "auto",
        description="Subgroup NMA by level, or network meta-regression (one common interaction per unit); "
        "auto: meta-regression for a numeric covariate, subgroups otherwise.",
    )
    credibility: dict[str, Any] = Field(
        default_factory=dict,
        description="ICEMAN answers the data cannot give: prespecified, direction, prior_evidence, n_modifiers_tested, ...",
    )


class Spec(_Model):
    """A whole analysis."""

    project: ProjectSpec
    data: DataSpec
    outcomes: list[OutcomeSpec] = Field(min_length=1)
    populations: list[PopulationSpec] = Field(default_factory=list)
    treatments: dict[str, TreatmentSpec] = Field(default_factory=dict)
    model: ModelSpec
    certainty: CertaintySpec = Field(default_factory=CertaintySpec)
    evidence_to_decision: EvidenceToDecisionSpec = Field(default_factory=EvidenceToDecisionSpec)
    decision_rule: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields of the decision rule (netgrade.guideline.recommendation.DecisionRule); default: its defaults (the rule of the 2025 BMJ Rapid Recommendation on spine procedures, under a generic name).",
    )
    budget: BudgetSpec | None = None
    report: ReportSpec = Field(default_factory=ReportSpec)
    subgroups: list[SubgroupSpec] = Field(
        default_factory=list, description="Effect modifiers to test (subgroup NMA, interaction test, ICEMAN)."
    )
    variants: list[VariantSpec] = Field(
        default_factory=list, description="Named re-analyses of this spec (netgrade reanalyse)."
    )
    variant_files: list[str] = Field(
        default_factory=list, description="TOML files with more [[variants]] (paths relative to this spec)."
    )

    @model_validator(mode="after")
    def _cross_references(self):
        vnames = [v.name for v in self.variants]
        if len(set(vnames)) != len(vnames):
            raise ValueError(f"variant names must be unique; got {vnames}")
        if self.certainty.within_study_bias == "not assessed" and self.data.risk_of_bias:
            raise ValueError(
                "certainty.within_study_bias = 'not assessed' but data.risk_of_bias names a risk-of-bias table: "
                "use the table or declare the domain not assessed, not both"
            )
        names = [o.name for o in self.outcomes]
        if len(set(names)) != len(names):
            raise ValueError(f"outcome names must be unique; got {names}")
        pops = [p.name for p in self.populations]
        if len(set(pops)) != len(pops):
            raise ValueError(f"population names must be unique; got {pops}")
        for i, o in enumerate(self.certainty.overrides):
            if o.outcome not in names:
                raise ValueError(f"certainty.overrides[{i}].outcome: unknown outcome {o.outcome!r} (outcomes: {', '.join(names)})")
            if o.population is not None and o.population not in pops:
                raise ValueError(f"certainty.overrides[{i}].population: unknown population {o.population!r}")
        for i, g in enumerate(self.evidence_to_decision.groups):
            if g.population is not None and g.population not in pops:
                raise ValueError(f"evidence_to_decision.groups[{i}].population: unknown population {g.population!r}")
        if self.decision_rule:
            from .guideline.recommendation import DecisionRule

            try:
                DecisionRule.from_dict(self.decision_rule)
            except (SpecError, TypeError, ValueError) as exc:
                raise ValueError(str(exc)) from None
        return self


class LoadedSpec:
    """A validated spec with the file it came from (paths resolve against its folder)."""

    def __init__(self, spec: Spec, path: Path | None, text: bytes, raw: dict | None = None,
                 variants: tuple | None = None):
        self.spec = spec
        self.path = path
        self.sha256 = hashlib.sha256(text).hexdigest()
        self.raw = raw if raw is not None else spec.model_dump(by_alias=True, exclude_none=True)
        self.variants = tuple(spec.variants) if variants is None else tuple(variants)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def resolve(self, name: str | None) -> Path | None:
        if name is None:
            return None
        p = Path(name)
        return p if p.is_absolute() else (self.folder / p)

    def __getattr__(self, item):
        return getattr(self.spec, item)


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(".[", "[")
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def parse_spec(data: dict, source: str = "<spec>") -> Spec:
    """Validate a spec given as a dict (as parsed from TOML)."""
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        # one problem: one line naming the file and the key; several: one line each
        lines = _format_errors(exc, source).splitlines()
        if len(lines) == 1:
            raise SpecError(f"invalid analysis spec: {lines[0]}") from None
        raise SpecError(f"invalid analysis spec ({len(lines)} problems)\n" + "\n".join(lines)) from None


def load_spec(path: str | Path) -> LoadedSpec:
    """Read and validate a TOML spec; relative data paths resolve against its folder."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"{p}: cannot read the spec ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{p.name}: not valid TOML: {exc}") from None
    spec = parse_spec(data, p.name)
    variants = list(spec.variants)
    for i, name in enumerate(spec.variant_files):
        vp = Path(name) if Path(name).is_absolute() else p.resolve().parent / name
        try:
            vdata = tomllib.loads(vp.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SpecError(f"{p.name}: variant_files[{i}]: cannot read {vp} ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{vp.name}: not valid TOML: {exc}") from None
        extra = set(vdata) - {"variants"}
        if extra:
            raise SpecError(f"{vp.name}: only [[variants]] tables are allowed here; found {', '.join(sorted(extra))}")
        for j, v in enumerate(vdata.get("variants", [])):
            try:
                variants.append(VariantSpec.model_validate(v))
            except ValidationError as exc:
                raise SpecError(f"invalid variant: {_format_errors(exc, f'{vp.name}: variants[{j}]')}") from None
    names = [v.name for v in variants]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SpecError(f"{p.name}: variant names must be unique across files; repeated: {', '.join(dup)}")
    loaded = LoadedSpec(spec, p.resolve(), raw, data, tuple(variants))
    for key in ("arms", "contrasts", "studies", "risk_of_bias", "treatments"):
        name = getattr(spec.data, key)
        if name is not None and not loaded.resolve(name).is_file():
            raise SpecError(f"{p.name}: data.{key}: file not found: {loaded.resolve(name)}")
    return loaded


def spec_json_schema() -> dict:
    """The JSON Schema of the spec (shipped as netgrade/spec.schema.json)."""
    return Spec.model_json_schema(by_alias=True)


def write_json_schema(path: str | Path) -> Path:
    p = Path(path)
    p.write_text(json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return p
