"""Effect modification: the spec's subgroup analyses with their credibility.

For each ``[[subgroups]]`` entry and each network it applies to: a subgroup network
meta-analysis by the study covariate (the network fitted within each level), the test
for subgroup differences per treatment and over all treatments (the Wald test of the
treatment-by-subgroup interactions of the network meta-regression), and the ICEMAN
credibility of the effect modification (Schandelmaier et al. 2020, CMAJ 192:E901) --
the questions the data answer taken from the analysis, the others from the spec.  This
is the reproducible form of "subgroup analyses showed no differences".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from .._result import ResultMixin, jsonable
from ..certainty.iceman import answers_from_spec, assess_credibility, iceman_from_data
from ..data import schema
from ..errors import AnalysisWarning, ModelError, NetgradeError, SpecError
from ..inputs import canonical_column


@dataclass(frozen=True, eq=False)
class SubgroupFinding:
    """One subgroup analysis of one network: the fit per level, the interaction tests
    and the credibility assessment (or why it could not be done)."""

    name: str
    label: str
    covariate: str
    population: str | None
    outcome: str
    result: Any = None
    credibility: Any = None
    treatment_credibility: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    kind: str = "subgroups"  # or "metaregression"

    @property
    def pval(self) -> float:
        if self.result is None:
            return math.nan
        return float(self.result.qm_pval if self.kind == "metaregression" else self.result.q_between_pval)

    def coefficients(self) -> list[dict]:
        """The interaction coefficients of a meta-regression (name, estimate, CI, p)."""
        if self.kind != "metaregression" or self.result is None:
            return []
        return [{"name": n, **{k: self.result.coefficients.row(n)[k] for k in ("estimate", "se", "ci_low", "ci_high", "pval")}}
                for n in self.result.interaction_names]

    def sentence(self, labels: Mapping[str, str] | None = None) -> str:
        labels = labels or {}
        where = " / ".join(x for x in (self.population, self.outcome) if x)
        head = f"{self.label or self.name} ({where})"
        if self.result is None:
            return f"{head}: not analysed ({self.reason})."
        r = self.result
        if self.kind == "metaregression":
            p = r.qm_pval
            verdict = ("no evidence of effect modification" if not (p < 0.1) else
                       "some evidence of effect modification" if p >= 0.01 else "strong evidence of effect modification")
            coefs = "; ".join(
                f"{c['name']} {c['estimate']:.3g} per unit (95% CI {c['ci_low']:.3g} to {c['ci_high']:.3g})" for c in self.coefficients()
            )
            return (f"{head}: network meta-regression ({r.interactions} interaction, centred at {r.centre:.1f}), {coefs}; "
                    f"test for interaction p = {_p(p)} (chi² = {r.qm:.2f}, df = {r.qm_df}), {verdict}; "
                    f"ICEMAN credibility of effect modification: {self.credibility.credibility}.")
        p = r.q_between_pval
        levels = [lv for lv in r.levels if lv.fit is not None]
        verdict = (
            "no evidence of effect modification" if not (p < 0.1) else
            "some evidence of effect modification" if p >= 0.01 else "strong evidence of effect modification"
        )
        parts = [
            f"{head}: test for subgroup differences over all treatments p = {_p(p)} (chi² = {r.q_between:.2f}, "
            f"df = {r.q_between_df}; {len(levels)} levels analysed), {verdict}"
        ]
        flagged = [t for t in r.tests if t.pval < 0.1]
        if flagged:
            parts.append("per treatment: " + ", ".join(f"{labels.get(t.treatment, t.treatment)} p = {_p(t.pval)}" for t in flagged))
        parts.append(f"ICEMAN credibility of effect modification: {self.credibility.credibility}")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict:
        return jsonable(
            {
                "name": self.name,
                "label": self.label,
                "covariate": self.covariate,
                "population": self.population,
                "outcome": self.outcome,
                "reason": self.reason,
                "kind": self.kind,
                "subgroup_nma": None if self.result is None or self.kind != "subgroups" else self.result.to_dict(),
                "metaregression": None if self.result is None or self.kind != "metaregression" else self.result.to_dict(),
                "credibility": None if self.credibility is None else self.credibility.to_dict(),
                "treatment_credibility": {k: v.to_dict() for k, v in self.treatment_credibility.items()},
                "sentence": self.sentence(),
            }
        )


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True, eq=False)
class EffectModification(ResultMixin):
    """Every subgroup analysis of a spec."""

    findings: tuple[SubgroupFinding, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    def sentences(self) -> list[str]:
        return [f.sentence(self.labels) for f in self.findings]

    def summary(self) -> str:
        return "\n".join(f"- {s}" for s in self.sentences())

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for f in self.findings:
            if f.result is None:
                rows.append({"subgroup": f.name, "population": f.population, "outcome": f.outcome, "treatment": None,
                             "q": None, "df": None, "pval": None, "credibility": None, "reason": f.reason})
                continue
            if f.kind == "metaregression":
                rows.append({"subgroup": f.name, "population": f.population, "outcome": f.outcome, "treatment": "all",
                             "q": f.result.qm, "df": f.result.qm_df, "pval": f.result.qm_pval,
                             "credibility": f.credibility.credibility, "reason": None})
                continue
            rows.append({"subgroup": f.name, "population": f.population, "outcome": f.outcome, "treatment": "all",
                         "q": f.result.q_between, "df": f.result.q_between_df, "pval": f.result.q_between_pval,
                         "credibility": f.credibility.credibility, "reason": None})
            for t in f.result.tests:
                c = f.treatment_credibility.get(t.treatment)
                rows.append({"subgroup": f.name, "population": f.population, "outcome": f.outcome, "treatment": t.treatment,
                             "q": t.q, "df": t.df, "pval": t.pval, "credibility": None if c is None else c.credibility,
                             "reason": None})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return jsonable({"findings": [f.to_dict() for f in self.findings], "sentences": self.sentences()})


def _covariate_map(inputs, column: str, studies: tuple[str, ...], where: str) -> dict[str, str]:
    """study -> level, from the studies table or (one value per study) the data file."""
    column = canonical_column(inputs.loaded, column, inputs.table.frame.columns)
    if inputs.studies is not None and column in inputs.studies.frame.columns:
        frame = inputs.studies.frame
        values = dict(zip(frame[schema.STUDY].astype(str), frame[column]))
    elif column in inputs.table.frame.columns:
        frame = inputs.table.frame
        values = {}
        for study, vals in frame.groupby(schema.STUDY, sort=False)[column]:
            distinct = list(dict.fromkeys(vals.astype(str)))
            if len(distinct) > 1:
                raise SpecError(f"{where}: {column!r} differs between the arms of study {study} ({', '.join(distinct)}); "
                                "a subgroup covariate must be a study-level characteristic")
            values[str(study)] = vals.iloc[0]
    else:
        raise SpecError(f"{where}: no column {column!r} in the studies table or the data file")
    out = {}
    for s in studies:
        v = values.get(s)
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
            continue
        out[s] = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
    return out


def _levels_for(result, treatment: str) -> list[dict]:
    rows = []
    for lv in result.levels:
        if lv.fit is None or treatment not in lv.fit.treatments:
            continue
        eff = lv.fit.effects().set_index("treatment").loc[treatment]
        rows.append({"name": lv.level, "estimate": float(eff["estimate"]), "se": float(eff["se"]),
                     "ci_low": float(eff["ci_low"]), "ci_high": float(eff["ci_high"]),
                     "k": sum(1 for b in lv.fit.data.blocks if treatment in b.arms)})
    return rows


def effect_modification(graded) -> EffectModification:
    """Run every ``[[subgroups]]`` analysis of the graded spec's networks."""
    from ..network.subgroup_nma import subgroup_nma
    from ..pipeline import treatment_labels

    spec = graded.spec.spec
    findings = []
    n_modifiers = len(spec.subgroups)
    for i, sg in enumerate(spec.subgroups):
        where = f"{graded.spec.path.name if graded.spec.path else 'spec'}: subgroups[{sg.name}]"
        spec_answers = dict(sg.credibility)
        spec_answers.setdefault("n_modifiers_tested", n_modifiers)
        spec_answers.setdefault("continuous_modifier", False)
        answers = answers_from_spec(spec_answers)
        for g in graded.outcomes:
            if sg.populations and g.population not in sg.populations:
                continue
            if sg.outcomes and g.outcome.name not in sg.outcomes:
                continue
            res = g.model
            base = dict(name=sg.name, label=sg.label or sg.name, covariate=sg.covariate, population=g.population,
                        outcome=g.outcome.name)
            mapping = _covariate_map(graded.inputs, sg.covariate, res.data.studies, where)
            numeric = _numeric(mapping)
            if sg.model == "metaregression" or (sg.model == "auto" and numeric is not None):
                if numeric is None:
                    raise SpecError(f"{where}: model = 'metaregression' needs a numeric covariate; {sg.covariate!r} is not")
                findings.append(_metaregression(res, numeric, sg, base, answers_continuous(sg, n_modifiers)))
                continue
            if len(set(mapping.values())) < 2:
                findings.append(SubgroupFinding(**base, reason=f"{sg.covariate} has fewer than two levels in this network"))
                continue
            try:
                sub = subgroup_nma(
                    res, mapping, method=res.method if res.method in ("FE", "DL", "REML", "ML") else "REML",
                    tau2="common" if res.is_random else "separate", levels=sg.levels or None, missing="exclude",
                    covariate_name=sg.covariate,
                )
            except NetgradeError as exc:
                findings.append(SubgroupFinding(**base, reason=str(exc).splitlines()[0]))
                continue
            n_trials = sum(lv.k for lv in sub.levels if lv.fit is not None)
            common = dict(comparison="between-trial", n_trials=n_trials, model="random" if res.is_random else "common",
                          ordered=sg.ordered)
            data_answers = iceman_from_data(interaction_p=sub.q_between_pval, **common)
            overall = assess_credibility(data_answers, answers)
            per_treatment = {}
            for t in sub.tests:
                if t.pval < 0.1:
                    lv = _levels_for(sub, t.treatment)
                    try:
                        d = iceman_from_data(interaction_p=t.pval, levels=lv or None, **common)
                    except (SpecError, ModelError):
                        d = iceman_from_data(interaction_p=t.pval, **common)
                    per_treatment[t.treatment] = assess_credibility(d, answers)
            findings.append(SubgroupFinding(**base, result=sub, credibility=overall, treatment_credibility=per_treatment))
    return EffectModification(tuple(findings), treatment_labels(graded.inputs))


def _numeric(mapping: Mapping[str, str]) -> dict[str, float] | None:
    try:
        values = {s: float(v) for s, v in mapping.items()}
    except ValueError:
        return None
    return values if len(set(values.values())) > 2 else None


def answers_continuous(sg, n_modifiers: int):
    spec_answers = dict(sg.credibility)
    spec_answers.setdefault("n_modifiers_tested", n_modifiers)
    spec_answers.setdefault("continuous_modifier", True)
    spec_answers.setdefault("cut_points", "none")
    return answers_from_spec(spec_answers)


def _metaregression(res, values: Mapping[str, float], sg, base: dict, answers) -> SubgroupFinding:
    """Network meta-regression with one common interaction per unit of the covariate
    (centred at its mean), its Wald test, and ICEMAN with no cut points."""
    from ..network.metareg import network_metareg

    try:
        mr = network_metareg(
            res, dict(values), interactions="common", method=res.method if res.method in ("FE", "DL", "REML", "ML") else "REML",
            centre="mean", missing="exclude", covariate_name=sg.covariate,
        )
    except NetgradeError as exc:
        return SubgroupFinding(**base, reason=str(exc).splitlines()[0], kind="metaregression")
    data = iceman_from_data(interaction_p=mr.qm_pval, comparison="between-trial", n_trials=len(values),
                            model="random" if res.is_random else "common")
    return SubgroupFinding(**base, result=mr, credibility=assess_credibility(data, answers), kind="metaregression")
