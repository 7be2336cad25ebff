"""The pipeline: the only place that knows the order of the stages.

spec -> inputs (validated tables) -> network per population and outcome -> model fit
-> certainty (domains, overall, overrides) -> magnitude and statements -> (later)
recommendations and report.  Every stage is a function of the previous stages'
immutable results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from . import __version__
from ._result import ResultMixin, jsonable
from .certainty.absolute import RATIO_MEASURES
from .certainty.magnitude import classify_magnitude
from .certainty.rating import CertaintyTable, DomainGroup, RatingRules, rate_network
from .certainty.statements import GRADE_STYLE, SPINE_STYLE, informative_statement
from .certainty.types import Override
from .errors import AnalysisWarning, SpecError
from ._text import in_sentence
from .inputs import AnalysisInputs, indirectness_levels, network_for, read_inputs, rob_levels
from .network import NMAResult, nma
from .spec import LoadedSpec, OutcomeSpec, PopulationSpec, load_spec


@dataclass(frozen=True, eq=False)
class GradedOutcome:
    """One population's network and certainty table for one outcome."""

    population: str | None
    outcome: OutcomeSpec
    model: NMAResult
    certainty: CertaintyTable
    records: tuple[dict, ...]
    node_split: Any = None
    design_by_treatment: Any = None

    @property
    def key(self) -> str:
        """'<population>_<outcome>' (or the outcome alone): the figures' folder and the
        key of per-network results."""
        return "_".join(x for x in (self.population, self.outcome.name) if x)


@dataclass(frozen=True, eq=False)
class GradeResult(ResultMixin):
    """Certainty ratings, magnitudes and statements for every estimate of a spec."""

    spec: LoadedSpec
    inputs: AnalysisInputs
    outcomes: tuple[GradedOutcome, ...]
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    def records(self) -> list[dict]:
        return [r for g in self.outcomes for r in g.records]

    def outcome(self, outcome: str, population: str | None = None) -> GradedOutcome:
        for g in self.outcomes:
            if g.outcome.name == outcome and (population is None or g.population == population):
                return g
        raise SpecError(f"no graded outcome {outcome!r}" + (f" for population {population!r}" if population else ""))

    def summary_of_findings(self, outcome: str, population: str | None = None, baseline_risks=None):
        """The summary-of-findings table of one outcome (and population): relative and
        absolute effects, certainty with footnotes naming the domains that lowered it,
        and the informative statement."""
        from .certainty.sof import summary_of_findings

        g = self.outcome(outcome, population)
        spec = self.spec.spec
        labels = treatment_labels(self.inputs)
        style = SPINE_STYLE if spec.certainty.statement_style == "spine" else GRADE_STYLE
        rows = []
        for rating in g.certainty.ratings:
            rows.append(
                {
                    "intervention": labels.get(rating.treatment1, rating.treatment1),
                    "comparator": in_sentence(labels.get(rating.treatment2, rating.treatment2)),
                    "estimate": rating.estimate,
                    "ci_low": rating.ci_low,
                    "ci_high": rating.ci_high,
                    "certainty": rating.final,
                    "computed": rating.computed,
                    "domains": rating.domains,
                    "override": rating.override,
                    **_direct_evidence(g.model, rating.treatment1, rating.treatment2),
                }
            )
        return summary_of_findings(
            rows,
            g.outcome.to_outcome(),
            baseline_risks=baseline_risks,
            style=style,
            outcome_phrase=g.outcome.phrases or None,
            verb=spec.certainty.statement_verb,
        )

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for r in self.records():
            row = {k: v for k, v in r.items() if k != "domains"}
            row.update({f"domain: {d}": lvl for d, lvl in r["domains"].items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "ratings": self.records(),
                "provenance": {"netgrade": __version__, "inputs": self.inputs.hashes},
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )

    def summary(self) -> str:
        lines = [self.spec.spec.project.title]
        if self.spec.spec.project.simulated:
            lines.append("SIMULATED DATA: illustrative only, not the review's trial data.")
        for g in self.outcomes:
            ratio = g.outcome.measure.upper() in RATIO_MEASURES
            shown = (lambda x: math.exp(x)) if ratio else (lambda x: x)
            head = f"\n{g.outcome.label or g.outcome.name}" + (f" — {g.population}" if g.population else "")
            head += f" ({g.outcome.measure.upper()}{', ratio scale' if ratio else ''})"
            lines += [head, "-" * len(head.strip())]
            for r in g.records:
                changed = "" if r["certainty"] == r["certainty_computed"] else f" (computed: {r['certainty_computed']})"
                est, lo, hi = (shown(r[k]) for k in ("estimate", "ci_low", "ci_high"))
                lines.append(
                    f"{r['treatment']} vs {r['comparator']}: {est:.2f} [{lo:.2f}, {hi:.2f}], "
                    f"certainty {r['certainty']}{changed}, {r['magnitude']}"
                )
                lines.append(f"    {r['statement']}")
        lines += [f"warning: {w.message}" for w in self.warnings]
        return "\n".join(lines)


def _direct_evidence(res: NMAResult, t1: str, t2: str) -> dict:
    """Studies comparing t1 and t2 directly and the participants in those two arms
    (None when some arm size is unknown), as a summary-of-findings table counts them."""
    blocks = [b for b in res.data.blocks if {t1, t2} <= set(b.arms)]
    n: int | None = 0
    for b in blocks:
        if b.n is None:
            n = None
            break
        n += int(sum(float(x) for a, x in zip(b.arms, b.n) if a in (t1, t2)))
    return {"n_studies": len(blocks), "n_participants": n}


def treatment_labels(inputs: AnalysisInputs) -> dict[str, str]:
    """Treatment code -> label, from the spec's [treatments] and the treatments table."""
    labels: dict[str, str] = {}
    if inputs.treatments is not None and "label" in inputs.treatments.columns:
        for code, label in zip(inputs.treatments["treatment"], inputs.treatments["label"]):
            if str(label).strip():
                labels[str(code)] = str(label)
    for code, t in inputs.loaded.spec.treatments.items():
        if t.label:
            labels[code] = t.label
    return labels


def _overrides(spec, population: PopulationSpec | None, outcome: OutcomeSpec) -> dict:
    out: dict[tuple[str, str], dict[str, Override]] = {}
    for o in spec.certainty.overrides:
        if o.outcome != outcome.name:
            continue
        if o.population is not None and (population is None or o.population != population.name):
            continue
        out.setdefault((o.comparison[0], o.comparison[1]), {})[o.domain] = Override(o.level, o.justification, o.by)
    return out


def _reporting_bias(spec, res: NMAResult):
    """The spec's judgement: one for all comparisons, or a table (others undetected)."""
    rb = spec.certainty.reporting_bias
    if isinstance(rb, str):
        return rb
    table = {}
    for key, judgement in rb.items():
        parts = key.split(":")
        if len(parts) != 2 or any(p not in res.treatments for p in parts):
            raise SpecError(
                f"certainty.reporting_bias: {key!r} is not 'treatment:comparator' with treatments of the network "
                f"({', '.join(res.treatments)})"
            )
        table[(parts[0], parts[1])] = judgement
    return table


def _funnel_test(res: NMAResult):
    """The comparison-adjusted funnel test (supporting evidence only; needs >= 3
    contrasts; with fewer than 10 the rating notes its low power)."""
    from .network.adjusted_funnel import network_adjusted_funnel

    if res.data.n_pairs < 3:
        return None
    return network_adjusted_funnel(res).test()


def fit_outcome(inputs: AnalysisInputs, population: PopulationSpec | None, outcome: OutcomeSpec) -> NMAResult:
    """The network meta-analysis of one population and outcome, as the spec says."""
    spec = inputs.loaded.spec
    net = network_for(inputs, population, outcome)
    order = None
    if spec.model.order:
        order = [t for t in spec.model.order if t in net.treatments] + [t for t in net.treatments if t not in spec.model.order]
    return nma(
        net,
        reference=spec.model.reference,
        method=spec.model.method,
        level=spec.model.level,
        larger_better=outcome.larger_better,
        order=order,
    )


def grade_outcome(inputs: AnalysisInputs, population: PopulationSpec | None, outcome: OutcomeSpec) -> GradedOutcome:
    spec = inputs.loaded.spec
    from .network.inconsistency import design_by_treatment, node_split

    res = fit_outcome(inputs, population, outcome)
    split = node_split(res)
    dbt = design_by_treatment(res)
    out = outcome.to_outcome()
    studies = set(res.data.studies)
    rob = {s: lvl for s, lvl in rob_levels(inputs).items() if s in studies}
    indirect, _ = indirectness_levels(inputs, spec.certainty.indirectness_column)
    indirect = {s: lvl for s, lvl in indirect.items() if s in studies} or None
    table = rate_network(
        res,
        outcome=out,
        rob=rob,
        indirectness=indirect,
        reporting_bias=_reporting_bias(spec, res),
        funnel_test=_funnel_test(res) if spec.certainty.funnel_test else None,
        reporting_bias_default="undetected",
        rules=RatingRules(
            start=spec.certainty.starting_level,
            groups=tuple(DomainGroup(c.name, tuple(c.domains), c.max_levels) for c in spec.certainty.domain_caps),
        ),
        comparisons=spec.certainty.comparisons,
        contribution_method=spec.certainty.contribution_method,
        bias_rule=spec.certainty.bias_rule,
        overrides=_overrides(spec, population, outcome) or None,
        split=split,
        dbt=dbt,
    )
    labels = treatment_labels(inputs)
    style = SPINE_STYLE if spec.certainty.statement_style == "spine" else GRADE_STYLE
    records = []
    for r in table.ratings:
        mag = classify_magnitude(r.estimate, out)
        statement = informative_statement(
            labels.get(r.treatment1, r.treatment1),
            out,
            mag,
            r.final,
            comparator=in_sentence(labels.get(r.treatment2, r.treatment2)),
            outcome_phrase=outcome.phrases or None,
            style=style,
            verb=spec.certainty.statement_verb,
        )
        records.append(
            {
                "population": population.name if population else None,
                "outcome": outcome.name,
                "treatment": r.treatment1,
                "comparator": r.treatment2,
                "estimate": r.estimate,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "pi_low": r.pi_low,
                "pi_high": r.pi_high,
                "certainty": r.final,
                "certainty_computed": r.computed,
                "domains": {d.domain: d.level for d in r.domains},
                "domains_computed": {d.domain: d.computed for d in r.domains},
                "overrides": {
                    d.domain: d.override.justification for d in r.domains if d.override is not None
                }
                | ({"overall": r.override.justification} if getattr(r, "override", None) is not None else {}),
                "magnitude": mag.label,
                "statement": statement,
            }
        )
    return GradedOutcome(population.name if population else None, outcome, res, table, tuple(records), split, dbt)


def grade(
    spec: LoadedSpec | str | Path,
    progress: Callable[[str], None] | None = None,
    inputs: AnalysisInputs | None = None,
) -> GradeResult:
    """Run the spec up to certainty, magnitude and statements (``progress`` is told
    each stage as it starts; ``inputs``: tables already read, e.g. changed by a
    re-analysis variant)."""
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    tell = progress or (lambda _stage: None)
    if inputs is None:
        tell("reading the data")
        inputs = read_inputs(loaded)
    populations = loaded.spec.populations or [None]
    graded = []
    warnings: list[AnalysisWarning] = []
    for pop in populations:
        for outcome in loaded.spec.outcomes:
            tell(f"network meta-analysis and certainty: {(pop.name + ' / ') if pop else ''}{outcome.name}")
            g = grade_outcome(inputs, pop, outcome)
            graded.append(g)
            warnings += list(g.model.warnings) + list(getattr(g.certainty, "warnings", ()))
    return GradeResult(loaded, inputs, tuple(graded), tuple(dict.fromkeys(warnings)))


# ---------------------------------------------------------------------------------
# evidence to decision and recommendations


@dataclass(frozen=True, eq=False)
class RecommendResult(ResultMixin):
    """Recommendations with their evidence-to-decision records (and the grading)."""

    graded: GradeResult
    etds: tuple
    recommendations: tuple
    rule: Any
    budget: Any = None

    def to_frame(self) -> pd.DataFrame:
        from .guideline.recommendation import recommendation_table

        return recommendation_table(self.recommendations)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "rule": self.rule.to_dict(),
                "rule_text": self.rule.describe(),
                "recommendations": [r.to_dict() for r in self.recommendations],
                "budget": None if self.budget is None else self.budget.to_dict(),
            }
        )

    def summary(self) -> str:
        lines = [self.graded.spec.spec.project.title]
        if self.graded.spec.spec.project.simulated:
            lines.append("SIMULATED DATA: illustrative only, not the review's trial data.")
        lines += ["", "Decision rule:", self.rule.describe(), ""]
        for r in self.recommendations:
            lines += [r.summary(), ""]
        if self.budget is not None:
            lines.append(self.budget.summary())
        return "\n".join(lines).rstrip()


def _criteria(*sources) -> dict:
    from .spec import ETD_CRITERIA

    out = {}
    for src in sources:
        for name in ETD_CRITERIA:
            value = getattr(src, name, None)
            if value is not None:
                out[name] = value
    return out


def _budget(spec):
    if spec.budget is None:
        return None
    from .guideline.budget import budget_impact

    def num(x):
        return tuple(x) if isinstance(x, list) else x

    b = spec.budget
    return budget_impact(
        num(b.volume_per_year),
        {k: num(v) for k, v in b.unit_costs.items()},
        num(b.adoption_share),
        headline=b.headline,
        currency=b.currency,
        item=b.item,
        setting=b.setting,
        sources=tuple(b.sources),
    )


def _absolute_text(graded: GradeResult, g: GradedOutcome, label: str, rec: dict) -> str:
    """The SoF table's absolute effect of one estimate ("129 more per 1,000 (from ... to
    ...)" at the outcome's baseline risk), or "" without a baseline risk."""
    if g.outcome.baseline_risk is None:
        return ""
    sof = graded.summary_of_findings(g.outcome.name, g.population)
    for row in sof.rows:
        if row.intervention == label and row.estimate == rec["estimate"] and row.absolute:
            a = row.absolute[0]
            return f"{a.difference_text()} at a baseline risk of {100 * g.outcome.baseline_risk:g}%"
    return ""


def build_etd(graded: GradeResult, group, budget=None):
    """The evidence-to-decision record of one recommendation group, its benefits taken
    from the graded network estimates (every outcome, critical ones marked so)."""
    from .guideline.etd import EvidenceToDecision

    spec = graded.spec.spec
    labels = treatment_labels(graded.inputs)
    comparator = group.comparator or spec.model.reference
    population = group.population if group.population is not None else (spec.populations[0].name if spec.populations else None)
    benefits = []
    for g in graded.outcomes:
        if g.population != population:
            continue
        out = g.outcome.to_outcome()
        for code in group.interventions:
            rec = next(
                (r for r in g.records if r["treatment"] == code and r["comparator"] == comparator),
                None,
            )
            if rec is None:
                raise SpecError(
                    f"evidence_to_decision.groups[{group.id}]: no estimate of {code} versus {comparator} "
                    f"for {g.outcome.name}{' in ' + population if population else ''}; "
                    f"treatments: {', '.join(g.model.treatments)}"
                )
            mag = classify_magnitude(rec["estimate"], out)
            effect = {"estimate": rec["estimate"], "ci_low": rec["ci_low"], "ci_high": rec["ci_high"],
                      "unit": g.outcome.unit, "absolute": ""}
            if g.outcome.measure.upper() in RATIO_MEASURES:
                # ratios read on their own scale (OR 1.71, not its logarithm); the MID's unit
                # (per 1,000) belongs to the absolute effect, which the SoF table gives
                effect = {k: math.exp(rec[k]) for k in ("estimate", "ci_low", "ci_high")}
                effect["unit"] = ""
                effect["absolute"] = _absolute_text(graded, g, labels.get(code, code), rec)
            benefits.append(
                {
                    "intervention": labels.get(code, code),
                    "comparator": in_sentence(labels.get(comparator, comparator)),
                    "outcome": g.outcome.label or g.outcome.name,
                    **effect,
                    "certainty": rec["certainty"],
                    "magnitude": mag,
                    "statement": rec["statement"],
                    "importance": "critical" if g.outcome.critical else "important",
                    "measure": g.outcome.measure,
                }
            )
    members = [labels.get(c, c) for c in group.interventions]
    harms = []
    for h in spec.evidence_to_decision.harms:
        applies = [labels.get(c, c) for c in h.interventions]
        if applies and not set(applies) & set(members):
            continue
        d = h.model_dump()
        d["interventions"] = tuple(a for a in applies if a in members)
        harms.append(d)
    data = {
        "id": group.id,
        "label": group.label,
        "population": in_sentence(next((p.label or p.name for p in spec.populations if p.name == population), population or "")),
        "interventions": members,
        "comparator": in_sentence(labels.get(comparator, comparator)),
        "benefits": benefits,
        "harms": harms,
        "remarks": list(group.remarks),
        **_criteria(spec.evidence_to_decision, group),
    }
    etd = EvidenceToDecision.from_dict(data)
    if budget is not None and group.id in spec.budget.groups:
        from dataclasses import replace as _replace

        etd = _replace(etd, budget=budget)
    return etd


def recommend(spec: LoadedSpec | str | Path, graded: GradeResult | None = None) -> RecommendResult:
    """Run the spec through certainty to evidence to decision and recommendations
    (``graded``: the spec's grading, if already done)."""
    from .guideline.recommendation import DecisionRule, PanelOverride, recommend_all

    graded = grade(spec) if graded is None else graded
    s = graded.spec.spec
    if not s.evidence_to_decision.groups:
        raise SpecError(f"{graded.spec.path.name if graded.spec.path else 'spec'}: evidence_to_decision.groups: no recommendation groups")
    rule = DecisionRule.from_dict(s.decision_rule) if s.decision_rule else DecisionRule()
    budget = _budget(s)
    etds = tuple(build_etd(graded, g, budget) for g in s.evidence_to_decision.groups)
    overrides = {
        o.group: PanelOverride(o.direction, o.strength, o.justification, o.by) for o in s.evidence_to_decision.panel_overrides
    }
    recs = recommend_all(etds, rule, overrides=overrides)
    return RecommendResult(graded, etds, tuple(recs), rule, budget)


# ---------------------------------------------------------------------------------
# the whole run: results.json and figures (the HTML report is the next stage)

RESULTS_SCHEMA_VERSION = "1"


def _versions() -> dict:
    import platform

    import matplotlib
    import numpy
    import scipy

    return {
        "netgrade": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _p_scores(res: NMAResult) -> dict:
    ps = res.p_scores()
    return {
        "larger_better": bool(ps.larger_better),
        "scores": [{"treatment": t, "p_score": float(v)} for t, v in zip(ps.treatments, ps.p_score)],
    }


def single_trial_influence(graded: GradeResult) -> dict:
    """Leave-one-study-out for every network: does omitting any single trial move a
    treatment's CI across the null or (for differences in natural units) the MID?
    Keyed "<population>_<outcome>" like the figures."""
    from .network.sensitivity import leave_one_out

    out = {}
    for g in graded.outcomes:
        mid = None if g.outcome.measure.upper() in RATIO_MEASURES else g.outcome.mid
        out[g.key] = leave_one_out(g.model, mid=mid)
    return out


def results_document(graded: GradeResult, recommended: "RecommendResult | None", reanalysis=None, subgroups=None,
                     influence: dict | None = None) -> dict:
    """Every number of the run, with provenance (input hashes, versions, seed) and no
    timestamp, so that the same inputs give byte-identical JSON."""
    spec = graded.spec.spec
    outcomes = []
    for g in graded.outcomes:
        outcomes.append(
            {
                "population": g.population,
                "outcome": g.outcome.name,
                "network": g.model.to_dict(),
                "p_scores": _p_scores(g.model),
                "certainty": g.certainty.to_dict(),
                "summary_of_findings": graded.summary_of_findings(g.outcome.name, g.population).to_dict(),
                "inconsistency": {
                    "node_split": g.node_split.to_dict(),
                    "design_by_treatment": g.design_by_treatment.to_frame().to_dict(orient="records"),
                },
                "ratings": list(g.records),
                "leave_one_out": None if influence is None else influence[g.key].treatment_frame().to_dict(orient="records"),
            }
        )
    return jsonable(
        {
            "schema_version": RESULTS_SCHEMA_VERSION,
            "project": spec.project.model_dump(),
            "simulated": spec.project.simulated,
            "provenance": {
                "inputs": graded.inputs.hashes,
                "versions": _versions(),
                "seed": spec.report.seed,
            },
            "outcomes": outcomes,
            "recommendations": None if recommended is None else recommended.to_dict(),
            "reanalysis": None if reanalysis is None else {k: v for k, v in reanalysis.to_dict().items() if k != "effect_modification"},
            "effect_modification": None if subgroups is None else subgroups.to_dict(),
            "warnings": [w.to_dict() for w in graded.warnings],
        }
    )


def run(
    spec: LoadedSpec | str | Path,
    outdir: str | Path,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Run the whole spec and write ``results.json``, the figures and ``report.html`` to
    ``outdir``; return the files written.

    Everything is computed before anything is written, and the files are written to a
    temporary folder that replaces ``outdir`` only when complete, so that a failure
    leaves no partial output.  The wall-clock time goes to ``run_info.json``, outside
    the results, so that results.json (and the report) are byte-identical for the same
    inputs.  ``progress`` is told each stage as it starts.
    """
    import datetime
    import os
    import shutil
    import tempfile

    from ._result import dumps
    from .report._figure import figure_bytes
    from .report.html import data_uri, render_report, report_context
    from .report.network_figures import draw_network_figures
    from .report.plots import save_figure

    tell = progress or (lambda _stage: None)
    tell("reading the spec")
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    graded = grade(loaded, progress=tell)
    recommended = None
    if loaded.spec.evidence_to_decision.groups:
        tell("evidence to decision and recommendations")
        recommended = recommend(loaded, graded=graded)
    reanalysis = subgroups = None
    if loaded.variants:
        from .reanalysis import reanalyse

        reanalysis = reanalyse(loaded, progress=lambda stage: tell(f"re-analysis: {stage}"), graded=graded)
        subgroups = reanalysis.effect_modification
    elif loaded.spec.subgroups:
        from .reanalysis.effect_modification import effect_modification

        tell("subgroup analyses")
        subgroups = effect_modification(graded)
    else:
        subgroups = None
    tell("leave-one-study-out")
    influence = single_trial_influence(graded)
    document = results_document(graded, recommended, reanalysis, subgroups, influence)
    formats = tuple(loaded.spec.report.formats)
    figures: dict[str, dict] = {}
    embedded: dict[str, dict[str, str]] = {}
    for g in graded.outcomes:
        name = g.key
        tell(f"figures: {name}")
        figures[name] = draw_network_figures(g.model, seed=loaded.spec.report.seed, labels=treatment_labels(graded.inputs))
        embedded[name] = {k: data_uri(figure_bytes(f, "svg"), "svg") for k, f in figures[name].items()}
    budget_fig = budget_uri = None
    if recommended is not None and recommended.budget is not None:
        from .guideline.budget import budget_figure

        budget_fig = budget_figure(recommended.budget)
        budget_uri = data_uri(figure_bytes(budget_fig, "svg"), "svg")
    tell("writing the report")
    html = render_report(
        report_context(graded, recommended, embedded, budget_uri, document, document["provenance"]["versions"], reanalysis, subgroups, influence)
    )
    tell("writing the files")
    out = Path(outdir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".netgrade-", dir=out.parent))
    try:
        (tmp / "results.json").write_text(dumps(document) + "\n", encoding="utf-8")
        (tmp / "report.html").write_text(html, encoding="utf-8")
        for name, figs in figures.items():
            for key, fig in figs.items():
                save_figure(fig, tmp / "figures" / name / key, formats=formats)
        if budget_fig is not None:
            save_figure(budget_fig, tmp / "figures" / "budget_impact", formats=formats)
        info = {"started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "spec": str(loaded.path)}
        (tmp / "run_info.json").write_text(dumps(info) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(p for p in out.rglob("*") if p.is_file())
