"""Re-analysis: the base analysis and every variant, and what changes.

:func:`reanalyse` runs the spec's base analysis and each variant through the same
stages (network, certainty, magnitude, statement, recommendation) and compares every
variant with the base: for each estimate the change in the estimate and its CI, in the
position of the CI relative to the MID, in certainty, in magnitude class and in the
statement; for each recommendation its direction and strength.  Each variant gets one
sentence saying whether any recommendation changes, and the whole re-analysis one
sentence ("no critique changes any recommendation", or which do and why).

A variant that makes an estimate or a recommendation impossible (a treatment with no
trials left, a network that falls apart) is reported as such, never skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from .._result import ResultMixin, jsonable
from .._text import in_sentence
from ..errors import AnalysisWarning, NetgradeError, SpecError
from ..spec import LoadedSpec, load_spec
from .variants import AppliedVariant, apply_variant


@dataclass(frozen=True, eq=False)
class Analysis:
    """One run (the base or a variant): grading, recommendations by group id, and what
    could not be estimated or recommended, with the reason."""

    name: str
    label: str
    claim: str
    applied: AppliedVariant | None
    graded: Any
    recommendations: Mapping[str, Any]
    not_estimable: tuple[tuple[str, str], ...] = ()
    not_recommended: tuple[tuple[str, str], ...] = ()
    rule: Any = None

    def rating(self, population, outcome, t1, t2):
        for g in self.graded.outcomes:
            if g.population == population and g.outcome.name == outcome:
                for rec, r in zip(g.records, g.certainty.ratings):
                    if (r.treatment1, r.treatment2) == (t1, t2):
                        return g, rec, r
        return None


def _mid_position(j_lo: float, j_hi: float, mid: float, larger_better: bool) -> str:
    """Where the CI lies relative to the MID on the judgement scale: which important
    effects (benefit, harm) it includes."""
    benefit_lo, benefit_hi = (mid, math.inf) if larger_better else (-math.inf, -mid)
    harm_lo, harm_hi = (-math.inf, -mid) if larger_better else (mid, math.inf)
    ben = j_hi >= benefit_lo and j_lo <= benefit_hi
    harm = j_hi >= harm_lo and j_lo <= harm_hi
    if ben and not harm and (j_lo >= benefit_lo and j_hi <= benefit_hi):
        return "important benefit only"
    if harm and not ben and (j_lo >= harm_lo and j_hi <= harm_hi):
        return "important harm only"
    if ben and harm:
        return "includes important benefit and harm"
    if ben:
        return "includes important benefit"
    if harm:
        return "includes important harm"
    return "within the MID"


def _grade_tolerant(loaded: LoadedSpec, inputs) -> tuple[Any, tuple[tuple[str, str], ...]]:
    """pipeline.grade, but an outcome whose network cannot be fitted is recorded with
    the reason instead of stopping the whole re-analysis."""
    from ..pipeline import GradeResult, grade_outcome

    graded, missing, warnings = [], [], []
    for pop in loaded.spec.populations or [None]:
        for outcome in loaded.spec.outcomes:
            where = "/".join(x for x in ((pop.name if pop else None), outcome.name) if x)
            try:
                g = grade_outcome(inputs, pop, outcome)
            except NetgradeError as exc:
                missing.append((where, str(exc).splitlines()[0]))
                continue
            graded.append(g)
            warnings += list(g.model.warnings) + list(getattr(g.certainty, "warnings", ()))
    return GradeResult(loaded, inputs, tuple(graded), tuple(dict.fromkeys(warnings))), tuple(missing)


def _recommend_tolerant(graded) -> tuple[dict, tuple[tuple[str, str], ...], Any]:
    """Recommendations per group; members absent from the variant's network are left
    out of the group (and said so); a group with none left is not recommended."""
    from ..guideline.recommendation import DecisionRule, PanelOverride, recommend_all
    from ..pipeline import _budget, build_etd

    s = graded.spec.spec
    if not s.evidence_to_decision.groups:
        return {}, (), None
    rule = DecisionRule.from_dict(s.decision_rule) if s.decision_rule else DecisionRule()
    budget = _budget(s)
    etds, missing = [], []
    for group in s.evidence_to_decision.groups:
        pop = group.population if group.population is not None else (s.populations[0].name if s.populations else None)
        comparator = group.comparator or s.model.reference
        nets = [g for g in graded.outcomes if g.population == pop]
        if not nets:
            missing.append((group.id, f"no network for {pop or 'the analysis'} in this variant"))
            continue
        present = [c for c in group.interventions if all(c in g.model.treatments for g in nets)]
        if comparator not in nets[0].model.treatments:
            missing.append((group.id, f"the comparator {comparator} is not in the network"))
            continue
        if not present:
            missing.append((group.id, f"none of {', '.join(group.interventions)} is in the network"))
            continue
        g2 = group.model_copy(update={"interventions": present})
        try:
            etds.append(build_etd(graded, g2, budget))
        except SpecError as exc:
            missing.append((group.id, str(exc).splitlines()[0]))
            continue
        if len(present) < len(group.interventions):
            gone = [c for c in group.interventions if c not in present]
            missing.append((group.id, f"partly: {', '.join(gone)} not in the network"))
    overrides = {
        o.group: PanelOverride(o.direction, o.strength, o.justification, o.by) for o in s.evidence_to_decision.panel_overrides
    }
    recs = recommend_all(etds, rule, overrides={k: v for k, v in overrides.items() if any(e.key == k for e in etds)})
    return {r.key: r for r in recs}, tuple(missing), rule


def run_analysis(loaded: LoadedSpec, inputs, applied: AppliedVariant | None = None) -> Analysis:
    graded, missing = _grade_tolerant(loaded, inputs)
    recs, not_rec, rule = _recommend_tolerant(graded)
    v = applied.variant if applied is not None else None
    return Analysis(
        name=v.name if v else "base",
        label=(v.label or v.name) if v else "Base analysis",
        claim=v.claim if v else "",
        applied=applied,
        graded=graded,
        recommendations=recs,
        not_estimable=missing,
        not_recommended=not_rec,
        rule=rule,
    )


# ---------------------------------------------------------------------------------
# comparison


def _counterparts(applied: AppliedVariant, base_ref: str, variant_ref: str, t1: str, t2: str) -> list[tuple[str, str]]:
    m = applied.treatment_map
    firsts = list(m.get(t1, (t1,)))
    seconds = list(m.get(t2, (t2,)))
    if t2 == base_ref and variant_ref not in seconds:
        seconds.append(variant_ref)
    return [(a, b) for a in firsts for b in seconds if a != b]


def estimate_changes(base: Analysis, variant: Analysis) -> list[dict]:
    """One row per base estimate and its counterpart in the variant."""
    rows = []
    for g in base.graded.outcomes:
        out = g.outcome.to_outcome()
        mid = out.thresholds.small
        lb = out.larger_better
        vg = next((x for x in variant.graded.outcomes if x.population == g.population and x.outcome.name == g.outcome.name), None)
        # the variant may judge against another MID: its own CI positions use it
        v_mid = vg.outcome.to_outcome().thresholds.small if vg is not None else mid
        for rec, r in zip(g.records, g.certainty.ratings):
            row = {
                "variant": variant.name,
                "population": g.population,
                "outcome": g.outcome.name,
                "treatment": r.treatment1,
                "comparator": r.treatment2,
                "base_estimate": r.estimate,
                "base_ci_low": r.ci_low,
                "base_ci_high": r.ci_high,
                "base_mid_position": _mid_position(r.j_ci_low, r.j_ci_high, mid, lb),
                "base_certainty": r.final,
                "base_magnitude": rec["magnitude"],
                "base_statement": rec["statement"],
            }
            if vg is None:
                reason = dict(variant.not_estimable).get("/".join(x for x in (g.population, g.outcome.name) if x), "not estimable")
                rows.append({**row, "status": f"not estimable: {reason}"})
                continue
            found = False
            for a, b in _counterparts(variant.applied, g.model.reference, vg.model.reference, r.treatment1, r.treatment2):
                hit = next(((vr, vv) for vr, vv in zip(vg.records, vg.certainty.ratings) if (vv.treatment1, vv.treatment2) == (a, b)), None)
                if hit is None:
                    continue
                vrec, v = hit
                found = True
                pos = _mid_position(v.j_ci_low, v.j_ci_high, v_mid, lb)
                rows.append(
                    {
                        **row,
                        "variant_treatment": a,
                        "variant_comparator": b,
                        "status": "compared" if (a, b) == (r.treatment1, r.treatment2) else f"compared as {a} vs {b}",
                        "estimate": v.estimate,
                        "ci_low": v.ci_low,
                        "ci_high": v.ci_high,
                        "change": v.estimate - r.estimate,
                        "mid_position": pos,
                        "certainty": v.final,
                        "magnitude": vrec["magnitude"],
                        "statement": vrec["statement"],
                        "mid_position_changed": pos != row["base_mid_position"],
                        "certainty_changed": v.final != r.final,
                        "magnitude_changed": vrec["magnitude"] != rec["magnitude"],
                        "statement_changed": vrec["statement"] != rec["statement"],
                    }
                )
            if not found:
                rows.append({**row, "status": "not estimable: the treatment is not in the variant's network"})
    return rows


def recommendation_changes(base: Analysis, variant: Analysis) -> list[dict]:
    rows = []
    missing = dict(variant.not_recommended)
    for key, r in base.recommendations.items():
        # a group whose members now differ is split by recommend_all into "key [members]"
        parts = [x for k, x in variant.recommendations.items() if k == key or k.startswith(key + " [")]
        v = parts[0] if len(parts) == 1 else None
        row = {
            "variant": variant.name,
            "group": key,
            "label": r.label,
            "base": r.headline,
            "base_direction": r.direction,
            "base_strength": r.strength,
        }
        if len(parts) > 1:
            rows.append(
                {
                    **row,
                    "variant_headline": "; ".join(f"{', '.join(x.interventions)}: {x.headline.lower()}" for x in parts),
                    "direction": "mixed" if len({x.direction for x in parts}) > 1 else parts[0].direction,
                    "strength": "mixed" if len({x.strength for x in parts}) > 1 else parts[0].strength,
                    "changed": any((x.direction, x.strength) != (r.direction, r.strength) for x in parts),
                    "status": "compared (the members now differ: split into separate recommendations)",
                    "reason": "; ".join(f"{m.intervention}: {m.reason}" for x in parts for m in x.members),
                }
            )
            continue
        if v is None:
            rows.append({**row, "variant_headline": None, "changed": None, "status": f"not recommended: {missing.get(key, 'no estimate')}"})
            continue
        why = "; ".join(f"{m.intervention}: {m.reason}" for m in v.members)
        note = missing.get(key)
        rows.append(
            {
                **row,
                "variant_headline": v.headline,
                "direction": v.direction,
                "strength": v.strength,
                "changed": (v.direction, v.strength) != (r.direction, r.strength),
                "status": "compared" + (f" ({note})" if note else ""),
                "reason": why,
            }
        )
    return rows


def variant_sentence(variant: Analysis, est_rows: list[dict], rec_rows: list[dict]) -> str:
    """One sentence: does any recommendation change, and what else moves."""
    changed = [r for r in rec_rows if r["changed"]]
    lost = [r for r in rec_rows if r["changed"] is None]
    compared = [r for r in est_rows if "estimate" in r]
    cert = sum(r["certainty_changed"] for r in compared)
    mag = sum(r["magnitude_changed"] for r in compared)
    mid = sum(r["mid_position_changed"] for r in compared)
    head = f"{variant.label}: "
    if changed:
        parts = [f"{r['label']}: {r['base'].lower()} -> {in_sentence(r['variant_headline'])}" for r in changed]
        text = head + f"changes {len(changed)} recommendation{'s' if len(changed) != 1 else ''} ({'; '.join(parts)})"
    else:
        kept = len(rec_rows) - len(lost)
        text = head + (f"no recommendation changes ({kept} of {len(rec_rows)} unchanged" if rec_rows else "no recommendations to compare (")
        text += ")" if rec_rows else "estimates only)"
    extras = []
    if lost:
        extras.append(f"{len(lost)} cannot be made ({'; '.join(r['group'] + ': ' + r['status'].removeprefix('not recommended: ') for r in lost)})")
    extras.append(f"{cert} certainty rating{'s' if cert != 1 else ''}, {mag} magnitude class{'es' if mag != 1 else ''} and "
                  f"{mid} CI position{'s' if mid != 1 else ''} relative to the MID change")
    return text + "; " + "; ".join(extras) + "."


@dataclass(frozen=True, eq=False)
class Reanalysis(ResultMixin):
    """The base analysis, every variant, and the robustness table."""

    base: Analysis
    variants: tuple[Analysis, ...]
    estimates: tuple[dict, ...]
    recommendations: tuple[dict, ...]
    sentences: tuple[str, ...]
    headline: str
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    effect_modification: Any = None  # the spec's [[subgroups]] (EffectModification), if any

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.estimates))

    def recommendation_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.recommendations))

    def to_dict(self) -> dict:
        return jsonable(
            {
                "headline": self.headline,
                "sentences": list(self.sentences),
                "variants": [
                    {
                        **(v.applied.to_dict() if v.applied is not None else {"name": v.name}),
                        "sentence": s,
                        "not_estimable": [{"where": w, "reason": r} for w, r in v.not_estimable],
                        "not_recommended": [{"group": g, "reason": r} for g, r in v.not_recommended],
                    }
                    for v, s in zip(self.variants, self.sentences)
                ],
                "estimates": list(self.estimates),
                "recommendations": list(self.recommendations),
                "base_recommendations": {k: r.headline for k, r in self.base.recommendations.items()},
                "effect_modification": None if self.effect_modification is None else self.effect_modification.to_dict(),
            }
        )

    def summary(self) -> str:
        lines = [self.base.graded.spec.spec.project.title, ""]
        if self.base.graded.spec.spec.project.simulated:
            lines += ["SIMULATED DATA: illustrative only.", ""]
        lines += [self.headline, ""]
        for v, s in zip(self.variants, self.sentences):
            lines.append(f"- {s}")
            if v.claim:
                lines.append(f"    critique: {v.claim}")
            for c in v.applied.changes:
                lines.append(f"    change: {c}")
        if self.effect_modification is not None and self.effect_modification.findings:
            lines += ["", "Subgroup analyses (test for subgroup differences, ICEMAN credibility):"]
            lines += [f"- {s}" for s in self.effect_modification.sentences()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        items = "".join(f"<li>{html.escape(s)}</li>" for s in self.sentences)
        return f"<p><strong>{html.escape(self.headline)}</strong></p><ul>{items}</ul>"


def reanalyse(spec: LoadedSpec | str | Path, progress: Callable[[str], None] | None = None,
              only: list[str] | None = None, graded=None, variants=None, noun: tuple[str, str] = ("critique", "critiques")) -> Reanalysis:
    """Run the base analysis and every variant of the spec (or those named in
    ``only``, or the ``variants`` given) and compare them (``graded``: the base
    grading, if already done; ``noun``: singular and plural naming the variants in the headline)."""
    from ..inputs import read_inputs

    tell = progress or (lambda _s: None)
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    variants = list(loaded.variants if variants is None else variants)
    if only:
        unknown = [n for n in only if n not in {v.name for v in variants}]
        if unknown:
            raise SpecError(f"no variant named {', '.join(unknown)}; variants: {', '.join(v.name for v in variants)}")
        variants = [v for v in variants if v.name in only]
    if not variants:
        raise SpecError(f"{loaded.path.name if loaded.path else 'spec'}: no [[variants]] to re-analyse")
    if graded is not None:
        inputs = graded.inputs
        recs, not_rec, rule = _recommend_tolerant(graded)
        base = Analysis("base", "Base analysis", "", None, graded, recs, (), not_rec, rule)
    else:
        tell("reading the data")
        inputs = read_inputs(loaded)
        tell("base analysis")
        base = run_analysis(loaded, inputs)
    analyses, est, recs, sentences = [], [], [], []
    for v in variants:
        tell(f"variant: {v.name}")
        applied = apply_variant(inputs, v)
        a = run_analysis(applied.loaded, applied.inputs, applied)
        e = estimate_changes(base, a)
        r = recommendation_changes(base, a)
        analyses.append(a)
        est += e
        recs += r
        sentences.append(variant_sentence(a, e, r))
    em = None
    if loaded.spec.subgroups:
        from .effect_modification import effect_modification

        tell("subgroup analyses")
        em = effect_modification(base.graded)
    changers = [a for a in analyses if any(r["changed"] for r in recs if r["variant"] == a.name)]
    if not base.recommendations:
        headline = f"{len(analyses)} variants re-analysed (the spec makes no recommendations)."
    elif not changers:
        headline = f"No {noun[0]} changes any recommendation ({len(analyses)} variants re-analysed)."
    else:
        headline = (
            f"{len(changers)} of {len(analyses)} {noun[1]} change at least one recommendation: "
            + ", ".join(a.label for a in changers) + "."
        )
    return Reanalysis(base, tuple(analyses), tuple(est), tuple(recs), tuple(sentences), headline, effect_modification=em)
