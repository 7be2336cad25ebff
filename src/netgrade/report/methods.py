"""The methods section of the report, written from the spec.

Every sentence is derived from what the spec asked for and what the run did, so that a
reader can check the report against the spec and a change of the spec changes the
methods.  The sections are (title, paragraphs) pairs of plain text; the HTML layer
escapes them.
"""

from __future__ import annotations

from typing import Any

MEASURES = {
    "MD": "mean difference (MD)",
    "SMD": "standardised mean difference (SMD, Hedges' g)",
    "ROM": "ratio of means (ROM, analysed on the log scale)",
    "OR": "odds ratio (OR, analysed on the log scale)",
    "RR": "risk ratio (RR, analysed on the log scale)",
    "RD": "risk difference (RD)",
    "HR": "hazard ratio (HR, analysed on the log scale)",
}

TAU2_METHODS = {
    "DL": "the DerSimonian-Laird method of moments generalised to networks (Jackson, White & Riley 2013)",
    "REML": "restricted maximum likelihood",
    "ML": "maximum likelihood",
}

BIAS_RULES = {
    "majority": "the level of the studies contributing most to the estimate (CINeMA's majority rule)",
    "average": "the contribution-weighted average of the study judgements (CINeMA's average rule)",
    "highest": "the highest risk of bias among the contributing studies (CINeMA's highest rule)",
}


def _join(items: list[str], word: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _where(where: dict[str, Any]) -> str:
    parts = []
    for k, v in where.items():
        if isinstance(v, list):
            parts.append(f"{k} in {', '.join(str(x) for x in v)}")
        else:
            parts.append(f"{k} = {v}")
    return "; ".join(parts)


def _num(x: float) -> str:
    return f"{x:g}"


def methods_sections(graded, recommended=None, versions: dict | None = None) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of the methods, from the spec of ``graded`` (a GradeResult)
    and, when given, the recommendations (a RecommendResult)."""
    loaded = graded.spec
    spec = loaded.spec
    inputs = graded.inputs
    sections: list[tuple[str, list[str]]] = []

    # -- data ----------------------------------------------------------------------
    d = spec.data
    files = []
    for role, name in (
        ("arm-level outcome data", d.arms),
        ("contrast-level outcome data", d.contrasts),
        ("study characteristics", d.studies),
        ("risk-of-bias judgements", d.risk_of_bias),
        ("the treatment hierarchy", d.treatments),
    ):
        if name:
            digest = inputs.hashes.get(loaded.resolve(name).name, "")
            files.append(f"{role} from {name}" + (f" (SHA-256 {digest[:12]}…)" if digest else ""))
    data = [f"The analysis read {_join(files)}."]
    if spec.project.simulated:
        data.append(
            "The data are SIMULATED for illustration: they are not the trial data of any review, and no clinical "
            "conclusion may be drawn from them."
        )
    if spec.populations:
        pops = [f"{p.label or p.name} ({_where(p.where)})" if p.where else (p.label or p.name) for p in spec.populations]
        data.append(f"Each population was analysed as a separate network: {_join(pops)}.")
    data.append(
        "Studies with missing outcome data were "
        + ("excluded and listed with the reason." if d.missing == "exclude" else "an error (no study is dropped silently).")
    )
    sections.append(("Data", data))

    # -- outcomes ------------------------------------------------------------------
    outs = []
    for o in spec.outcomes:
        words = MEASURES.get(o.measure.upper(), o.measure)
        direction = "larger values are better" if o.larger_better else "smaller values are better"
        unit = f" {o.unit}" if o.unit else ""
        t = o.thresholds or [o.mid, 2 * o.mid, 3 * o.mid]
        names = ["small", "moderate", "large"][: len(t)]
        thr = _join([f"{n} from {_num(v)}{unit}" for n, v in zip(names, t)])
        text = (
            f"{o.label or o.name}: {words}; {direction}. Minimal important difference (MID) {_num(o.mid)}{unit}; "
            f"effects were classed as {thr}"
            + (" (thresholds given in the spec)." if o.thresholds else " (default multiples of the MID).")
        )
        if o.baseline_risk is not None:
            text += f" Absolute effects assume a baseline risk of {100 * o.baseline_risk:g}%."
        if o.timepoint:
            text += f" Time point: {o.timepoint}."
        text += (
            " Imprecision was judged against the MID." if o.target == "mid" else " Imprecision was judged against the null effect."
        )
        text += " Critical outcome." if o.critical else " Important (not critical) outcome."
        outs.append(text)
    sections.append(("Outcomes", outs))

    # -- model ---------------------------------------------------------------------
    m = spec.model
    level = f"{100 * m.level:g}%"
    if m.method == "FE":
        kind = "a common-effect model"
    else:
        kind = f"a random-effects model with one between-study variance (tau²) for all comparisons, estimated by {TAU2_METHODS[m.method]}"
    model = [
        "Network meta-analysis in the frequentist graph-theoretical framework (Rücker 2012, Res Synth Methods "
        "3:312), equivalent to weighted least squares on the study contrasts with the covariance of multi-arm "
        f"trials taken into account, using {kind}. Estimates are reported against {m.reference} with {level} "
        "confidence intervals and, for random effects, prediction intervals from the "
        + ("t distribution on the network's Q degrees of freedom (netmeta's convention)." if m.prediction == "t" else "normal distribution (metafor's convention).")
    ]
    model.append(
        "Heterogeneity: Cochran's Q split within and between designs, and I² with its confidence interval. "
        "Inconsistency: node-splitting by back-calculation of the indirect estimate (König, Krahn & Binder 2013, "
        "Stat Med 32:5414) and the design-by-treatment interaction test (Higgins et al. 2012, Res Synth Methods 3:98)."
    )
    model.append(
        "Ranking: P-scores (Rücker & Schwarzer 2015, BMC Med Res Methodol 15:58) and rank probabilities by "
        f"resampling from the joint normal distribution of the estimates (seed {spec.report.seed})."
    )
    sections.append(("Statistical analysis", model))

    # -- certainty -----------------------------------------------------------------
    c = spec.certainty
    cert = [
        "Certainty of the evidence was judged for each "
        + ("estimate against the reference" if c.comparisons == "reference" else "comparison")
        + " with the six domains of CINeMA (Nikolakopoulou et al. 2020, PLoS Med 17:e1003082): within-study bias, "
        "reporting bias, indirectness, imprecision, heterogeneity and incoherence; each with no, some or major concerns.",
        f"Within-study bias and indirectness were summarised over the studies' contributions to each estimate "
        f"({'shortest-path' if c.contribution_method == 'shortestpath' else 'random-walk'} contribution matrix; "
        f"Papakonstantinou et al. 2018) with {BIAS_RULES[c.bias_rule]}."
        + ("" if c.indirectness_column else " No study-level indirectness judgements were given: every study was taken as directly relevant."),
    ]
    if isinstance(c.reporting_bias, str):
        cert.append(f"Reporting bias was judged {c.reporting_bias} for every comparison"
                    + (", with the comparison-adjusted funnel test (Chaimani et al. 2013) recorded as supporting evidence." if c.funnel_test else "."))
    else:
        listed = "; ".join(f"{k}: {v}" for k, v in c.reporting_bias.items())
        cert.append(f"Reporting bias was judged per comparison ({listed}); comparisons not listed: undetected.")
    cert.append(
        f"The overall certainty started at {c.starting_level} and was rated down one level for some concerns and "
        "two for major concerns in a domain, down to very low (GRADE)."
    )
    for cap in c.domain_caps:
        cert.append(
            f"Rated down at most {cap.max_levels} level{'s' if cap.max_levels != 1 else ''} for "
            f"{_join(list(cap.domains))} together ({cap.name}): {cap.reason}."
        )
    if c.overrides:
        cert.append(
            f"The panel replaced {len(c.overrides)} computed judgement{'s' if len(c.overrides) != 1 else ''}; each is "
            "listed with its justification next to the rating, and the computed judgement is kept."
        )
    style = "the BMJ Rapid Recommendation's wording" if c.statement_style == "spine" else "GRADE's informative statements (Santesso et al. 2020, J Clin Epidemiol 119:126)"
    cert.append(f"Each estimate was classed by magnitude against the thresholds and described with {style}.")
    sections.append(("Certainty of the evidence", cert))

    # -- recommendations -----------------------------------------------------------
    if recommended is not None:
        rule = recommended.rule
        rec = [
            "Recommendations follow the GRADE evidence-to-decision framework (Alonso-Coello et al. 2016, BMJ "
            "353:i2016): benefits from the network estimates above, harms and burdens, values and preferences, "
            "resources and other criteria from the spec. Direction and strength come from an explicit decision "
            "rule, evaluated for each intervention; the first condition that holds decides:"
        ]
        rec += [
            f"{i}. {text} → {strength} recommendation {direction}."
            for i, (_key, text, direction, strength) in enumerate(rule.condition_texts(), start=1)
        ]
        rec.append(f"Decision rule: {rule.name}. Sources: {rule.source}")
        overrides = spec.evidence_to_decision.panel_overrides
        if overrides:
            rec.append(f"The panel overrode {len(overrides)} computed recommendation{'s' if len(overrides) != 1 else ''}, each with its justification.")
        sections.append(("From evidence to recommendations", rec))

    # -- effect modification and re-analyses --------------------------------------
    extra = []
    for sg in spec.subgroups:
        kind = {"subgroups": "subgroup network meta-analysis", "metaregression": "network meta-regression"}.get(sg.model)
        what = kind or "subgroup network meta-analysis (network meta-regression for a numeric covariate)"
        extra.append(
            f"{sg.label or sg.name}: {what} by {sg.covariate}, with the test for subgroup differences (Wald test of the "
            "treatment-by-covariate interactions) and the ICEMAN credibility of any effect modification (Schandelmaier "
            "et al. 2020, CMAJ 192:E901)."
        )
    variants = getattr(loaded, "variants", ())
    if variants:
        extra.append(
            f"The whole analysis was repeated under {len(variants)} pre-declared variant{'s' if len(variants) != 1 else ''} "
            "(each answering one critique: " + "; ".join(v.label or v.name for v in variants) + "), and every estimate, "
            "certainty rating, magnitude class, statement and recommendation was compared with the base analysis."
        )
    if extra:
        sections.append(("Effect modification and re-analyses", extra))

    if versions:
        sections.append(
            ("Software", ["Analysed with " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."])
        )
    return sections
