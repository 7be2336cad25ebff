"""The guideline report: one self-contained HTML file.

The report is a thin layer over the results: :func:`report_context` turns a graded
(and recommended) run into plain values -- texts, numbers already formatted, figures as
data URIs -- and :func:`render_report` fills the jinja2 template with autoescaping on,
so every study name, label and justification from the user's files is escaped.  The
style sheet and the small vanilla script are inlined; nothing is fetched when the file
is opened.  Without JavaScript every panel, table and domain judgement is shown; the
script only adds tabs for population and outcome, league-table ordering, sortable
estimate tables and collapsible domain judgements.  The output has no timestamp, so the
same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import math
import re
from importlib import resources
from typing import Any, Mapping

import numpy as np
from markupsafe import Markup

from ..certainty.sof import SYMBOLS
from ._figure import display_scale, fmt_num
from .methods import methods_sections
from .network_plots import league_caption

FIGURES = (
    ("network_graph", "Network of treatment comparisons"),
    ("forest_vs_reference", "Estimates against the reference"),
    ("league_table", "League table (heat map)"),
    ("rankogram", "Rank probabilities"),
)


def slug(*parts: Any) -> str:
    """An HTML id from parts ('axial', 'pain', 'RFA+LA') -> 'axial--pain--RFA-LA'."""
    out = []
    for p in parts:
        if p is None or p == "":
            continue
        out.append(re.sub(r"[^A-Za-z0-9_]+", "-", str(p)).strip("-") or "x")
    return "--".join(out)


def data_uri(data: bytes, fmt: str) -> str:
    mime = {"svg": "image/svg+xml", "png": "image/png"}[fmt]
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(float(x))


def _p(p) -> str:
    if not _finite(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _ci(scale, est, lo, hi, digits: int = 2) -> tuple[str, str]:
    """(estimate, 'low to high') on the display scale."""
    e, a, b = (float(scale(np.array([v]))[0]) if _finite(v) else math.nan for v in (est, lo, hi))
    a, b = min(a, b), max(a, b)
    est_s = fmt_num(e, digits) if math.isfinite(e) else "NA"
    ci_s = f"{fmt_num(a, digits)} to {fmt_num(b, digits)}" if math.isfinite(a) and math.isfinite(b) else ""
    return est_s, ci_s


def _sort_value(scale, x) -> str:
    if not _finite(x):
        return ""
    return repr(float(scale(np.array([x]))[0]))


def _labels(graded) -> dict[str, str]:
    from ..pipeline import treatment_labels

    return treatment_labels(graded.inputs)


def _network_panel(g, labels: Mapping[str, str], figures: Mapping[str, str], panel_id: str, pop_label: str) -> dict:
    res = g.model
    net = res.data
    scale = display_scale(res.measure, None)
    name = lambda t: labels.get(t, t)  # noqa: E731
    lg = res.league()
    T = len(lg.treatments)
    ps = res.p_scores()
    pscore = {t: float(v) for t, v in zip(ps.treatments, ps.p_score)}
    patients = net.patients()
    n_patients = int(round(float(np.nansum(np.asarray(list(patients.values()) if isinstance(patients, Mapping) else patients, float)))))

    # league table: row treatment versus column treatment, every cell
    league_rows = []
    for i, ti in enumerate(lg.treatments):
        cells = []
        for j, tj in enumerate(lg.treatments):
            if i == j:
                cells.append({"col": tj, "diag": True, "text": name(ti), "est": "", "ci": "", "cls": "diag"})
                continue
            est, ci = _ci(scale, lg.est[i, j], lg.ci_low[i, j], lg.ci_high[i, j])
            lo, hi = float(lg.ci_low[i, j]), float(lg.ci_high[i, j])
            sig = math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0)
            better = (lg.est[i, j] > 0) == bool(res.larger_better)
            cls = ("better" if better else "worse") if sig else ""
            cells.append({"col": tj, "diag": False, "text": "", "est": est, "ci": ci, "cls": cls})
        league_rows.append({"treatment": ti, "label": name(ti), "pscore": f"{pscore.get(ti, math.nan):.3f}",
                            "pscore_value": repr(pscore.get(ti, math.nan)), "cells": cells})
    by_pscore = sorted(lg.treatments, key=lambda t: (-pscore.get(t, -1.0), lg.treatments.index(t)))
    by_name = sorted(lg.treatments, key=lambda t: (name(t).lower(), t))

    # estimates with certainty (one tbody per rating so that sorting keeps the domains with it)
    ratings = []
    for rec, rating in zip(g.records, g.certainty.ratings):
        est, ci = _ci(scale, rec["estimate"], rec["ci_low"], rec["ci_high"])
        _, pi = _ci(scale, rec["estimate"], rec["pi_low"], rec["pi_high"])
        domains = []
        for d in rating.domains:
            domains.append(
                {
                    "domain": d.domain,
                    "level": d.level,
                    "computed": d.computed,
                    "rule": d.rule,
                    "override": None if d.override is None else d.override.justification,
                    "by": "" if d.override is None else (d.override.by or ""),
                }
            )
        ratings.append(
            {
                "id": slug("r", g.population, g.outcome.name, rec["treatment"], rec["comparator"]),
                "treatment": name(rec["treatment"]),
                "comparator": name(rec["comparator"]),
                "estimate": est,
                "ci": ci,
                "pi": pi,
                "sort_estimate": _sort_value(scale, rec["estimate"]),
                "certainty": rec["certainty"],
                "certainty_rank": ["high", "moderate", "low", "very low"].index(rec["certainty"]),
                "computed": rec["certainty_computed"],
                "symbol": SYMBOLS.get(rec["certainty"], ""),
                "magnitude": rec["magnitude"],
                "statement": rec["statement"],
                "explanation": rating.explanation,
                "override": None if rating.override is None else rating.override.justification,
                "domains": domains,
                "evidence": rating.evidence,
            }
        )

    # inconsistency
    split_rows = []
    split = g.node_split
    if split is not None:
        use_random = split.random is not None
        for row in split.records(random=use_random):
            if not row["k"]:
                continue
            d_est, d_ci = _ci(scale, row["direct"], row["direct_ci_low"], row["direct_ci_high"])
            i_est, i_ci = _ci(scale, row["indirect"], row["indirect_ci_low"], row["indirect_ci_high"])
            n_est, n_ci = _ci(scale, row["network"], row["network_ci_low"], row["network_ci_high"])
            f_est, f_ci = _ci(scale, row["diff"], row["diff_ci_low"], row["diff_ci_high"])
            split_rows.append(
                {
                    "comparison": f"{name(row['treatment1'])} vs {name(row['treatment2'])}",
                    "k": int(row["k"]),
                    "prop": f"{row['prop_direct']:.2f}" if _finite(row["prop_direct"]) else "NA",
                    "network": f"{n_est} ({n_ci})",
                    "direct": f"{d_est} ({d_ci})",
                    "indirect": f"{i_est} ({i_ci})" if i_ci else "no indirect evidence",
                    "diff": f"{f_est} ({f_ci})" if f_ci else "NA",
                    "p": _p(row["pval"]),
                }
            )
    dbt = g.design_by_treatment
    dbt_rows = []
    if dbt is not None:
        for r in dbt.to_frame().to_dict(orient="records"):
            dbt_rows.append({"model": r["model"], "chi2": fmt_num(r["chi2"], 2) if _finite(r["chi2"]) else "NA",
                             "df": int(r["df"]), "p": _p(r["pval"]), "tau2": fmt_num(r["tau2"], 3)})

    scale_words = scale.name
    diff_words = "ratio of the direct to the indirect estimate" if scale.log_axis else "direct minus indirect"
    network = {
        "k": res.k,
        "n_treatments": T,
        "n_patients": f"{n_patients:,}",
        "n_designs": res.n_designs,
        "n_multi": sum(1 for b in net.blocks if b.n_arms > 2),
        "model": "common effect" if not res.is_random else f"random effects (tau² by {res.method})",
        "tau2": fmt_num(res.tau2, 3) if res.is_random else "",
        "tau": fmt_num(math.sqrt(res.tau2), 3) if res.is_random else "",
        "i2": f"{res.i2:.1f}%" if _finite(res.i2) else "NA",
        "i2_ci": f"{res.i2_ci_low:.1f}% to {res.i2_ci_high:.1f}%" if _finite(res.i2_ci_low) else "",
        "q": fmt_num(res.q, 2),
        "q_df": res.q_df,
        "q_p": _p(res.q_pval),
        "q_within": fmt_num(res.q_within, 2),
        "q_within_df": res.q_within_df,
        "q_within_p": _p(res.q_within_pval),
        "q_between": fmt_num(res.q_between, 2),
        "q_between_df": res.q_between_df,
        "q_between_p": _p(res.q_between_pval),
    }
    outcome = g.outcome
    return {
        "id": panel_id,
        "population": g.population,
        "population_label": pop_label,
        "outcome": outcome.name,
        "outcome_label": outcome.label or outcome.name,
        "title": (f"{pop_label}: " if pop_label else "") + (outcome.label or outcome.name),
        "measure": res.measure,
        "scale_name": scale_words,
        "reference": name(res.reference),
        "direction": "larger values are better" if res.larger_better else "smaller values are better",
        "network": network,
        "figures": [{"key": k, "title": t, "src": figures[k]} for k, t in FIGURES if k in figures],
        "league": {
            "caption": league_caption(res.measure, None, res.larger_better),
            "treatments": [{"code": t, "label": name(t)} for t in lg.treatments],
            "rows": league_rows,
            "orders": {
                "network": list(lg.treatments),
                "pscore": by_pscore,
                "name": by_name,
            },
        },
        "ratings": ratings,
        "split": split_rows,
        "split_caption": (
            f"Node-splitting ({'random' if split is not None and split.random is not None else 'common'}-effect model; "
            f"{scale_words}; comparison A vs B = A versus B; difference: {diff_words}). Only comparisons with direct evidence are shown."
        ),
        "dbt": dbt_rows,
        "excluded": [{"study": e.study, "reason": e.reason} for e in res.excluded],
        "warnings": [w.message for w in res.warnings],
        "sof": None,
    }


def _recommendation(rec, spec, labels, panels_by_pop_outcome) -> dict:
    group = next((gr for gr in spec.evidence_to_decision.groups if gr.id == rec.key), None)
    traces = []
    if group is not None:
        population = group.population if group.population is not None else (spec.populations[0].name if spec.populations else None)
        comparator = group.comparator or spec.model.reference
        for outcome in spec.outcomes:
            panel = panels_by_pop_outcome.get((population, outcome.name))
            if panel is None:
                continue
            for code in group.interventions:
                rid = slug("r", population, outcome.name, code, comparator)
                row = next((r for r in panel["ratings"] if r["id"] == rid), None)
                if row is None:
                    continue
                traces.append(
                    {
                        "href": "#" + rid,
                        "panel": panel["id"],
                        "text": f"{row['treatment']} vs {row['comparator']} ({outcome.label or outcome.name}): "
                        f"{row['estimate']} ({row['ci']}), {row['certainty']} certainty",
                    }
                )
    aid = rec.decision_aid()
    benefits = aid[aid["kind"] == "benefit outcome"].to_dict(orient="records")
    harms = aid[aid["kind"] != "benefit outcome"].to_dict(orient="records")
    return {
        "id": slug("rec", rec.key),
        "key": rec.key,
        "headline": rec.headline,
        "statement": rec.statement,
        "direction": rec.direction,
        "strength": rec.strength,
        "computed_headline": rec.computed_headline,
        "override": None if rec.override is None else rec.override.to_dict(),
        "population": rec.population,
        "comparator": rec.comparator,
        "interventions": list(rec.interventions),
        "certainty_range": rec.certainty_range,
        "rationale": list(rec.rationale),
        "members": [
            {"intervention": m.intervention, "certainty": m.certainty, "order": m.order, "condition": m.condition,
             "strength": m.strength, "direction": m.direction, "reason": m.reason}
            for m in rec.members
        ],
        "key_info": [{"heading": k, "text": v} for k, v in rec.key_info],
        "remarks": list(rec.remarks),
        "benefits": benefits,
        "harms": harms,
        "traces": traces,
    }


def _reanalysis(reanalysis, labels: Mapping[str, str], graded) -> dict | None:
    """The robustness section: one line per variant, the recommendation matrix and the
    estimate changes (formatted on the display scale)."""
    if reanalysis is None:
        return None
    name = lambda t: labels.get(t, t)  # noqa: E731
    measures = {(g.population, g.outcome.name): g.model.measure for g in graded.outcomes}
    variants = []
    for v, sentence in zip(reanalysis.variants, reanalysis.sentences):
        recs = [r for r in reanalysis.recommendations if r["variant"] == v.name]
        rows = []
        for e in reanalysis.estimates:
            if e["variant"] != v.name:
                continue
            scale = display_scale(measures.get((e["population"], e["outcome"])), None)
            base_est, base_ci = _ci(scale, e["base_estimate"], e["base_ci_low"], e["base_ci_high"])
            row = {
                "where": " / ".join(x for x in (e["population"], e["outcome"]) if x),
                "comparison": f"{name(e['treatment'])} vs {name(e['comparator'])}",
                "base": f"{base_est} ({base_ci})",
                "base_certainty": e["base_certainty"],
                "base_magnitude": e["base_magnitude"],
                "base_mid": e["base_mid_position"],
                "status": e["status"],
            }
            if "estimate" in e:
                est, ci = _ci(scale, e["estimate"], e["ci_low"], e["ci_high"])
                row.update(
                    {
                        "variant": f"{est} ({ci})",
                        "as": "" if e["status"] == "compared" else f"{name(e['variant_treatment'])} vs {name(e['variant_comparator'])}",
                        "certainty": e["certainty"],
                        "magnitude": e["magnitude"],
                        "mid": e["mid_position"],
                        "certainty_changed": e["certainty_changed"],
                        "magnitude_changed": e["magnitude_changed"],
                        "mid_changed": e["mid_position_changed"],
                        "statement_changed": e["statement_changed"],
                        "changed": e["certainty_changed"] or e["magnitude_changed"] or e["mid_position_changed"],
                    }
                )
            rows.append(row)
        variants.append(
            {
                "id": slug("variant", v.name),
                "name": v.name,
                "label": v.label,
                "claim": v.claim,
                "rationale": v.applied.variant.rationale if v.applied is not None else "",
                "changes": list(v.applied.changes) if v.applied is not None else [],
                "excluded": [{"study": x.study, "reason": x.reason} for x in (v.applied.excluded if v.applied else ())],
                "sentence": sentence,
                "changes_recommendation": any(r["changed"] for r in recs),
                "recs": recs,
                "estimates": rows,
                "n_changed": sum(1 for r in rows if r.get("changed")),
            }
        )
    groups = [{"key": k, "label": r.label, "headline": r.headline} for k, r in reanalysis.base.recommendations.items()]
    matrix = []
    for gr in groups:
        cells = []
        for v in variants:
            rec = next((r for r in v["recs"] if r["group"] == gr["key"]), None)
            if rec is None or rec["changed"] is None:
                cells.append({"text": "not made" + (f": {rec['status'].removeprefix('not recommended: ')}" if rec else ""), "cls": "not-made"})
            else:
                cells.append({"text": rec["variant_headline"], "cls": "changed" if rec["changed"] else "same"})
        matrix.append({**gr, "cells": cells})
    return {"headline": reanalysis.headline, "variants": variants, "groups": groups, "matrix": matrix}


def _influence(loo, labels: Mapping[str, str], measure: str) -> dict | None:
    """Leave-one-study-out per treatment: the range of estimates and the trials whose
    omission changes the conclusion (CI against the null and the MID)."""
    if loo is None:
        return None
    scale = display_scale(measure, None)
    name = lambda t: labels.get(t, t)  # noqa: E731
    rows = []
    for r in loo.treatment_frame().to_dict(orient="records"):
        lo = _ci(scale, r["min_estimate"], r["min_estimate"], r["min_estimate"])[0] if _finite(r["min_estimate"]) else "NA"
        hi = _ci(scale, r["max_estimate"], r["max_estimate"], r["max_estimate"])[0] if _finite(r["max_estimate"]) else "NA"
        rows.append({
            "treatment": name(r["treatment"]),
            "estimate": _ci(scale, r["estimate"], r["ci_low"], r["ci_high"])[0],
            "range": f"{lo} (without {r['min_study']}) to {hi} (without {r['max_study']})",
            "changes": bool(r["changes_conclusion"]),
            "changed_by": r["changed_by"] or "",
            "not_estimable_without": r["not_estimable_without"] or "",
        })
    n = sum(r["changes"] for r in rows)
    against = "the null and the MID" if loo.thresholds.mid is not None else "the null"
    head = (f"Omitting any single trial changes the position of the CI relative to {against} for {n} of {len(rows)} "
            "treatments." if n else f"No single trial's omission changes the position of any CI relative to {against}.")
    return {"headline": head, "rows": rows}


def _subgroups(em, labels: Mapping[str, str], graded) -> list[dict] | None:
    """The subgroup analyses: per finding the levels, the tests and the ICEMAN items."""
    if em is None or not em.findings:
        return None
    name = lambda t: labels.get(t, t)  # noqa: E731
    out = []
    for f in em.findings:
        entry = {"id": slug("sg", f.name, f.population, f.outcome), "title": f"{f.label} ({' / '.join(x for x in (f.population, f.outcome) if x)})",
                 "sentence": f.sentence(labels), "reason": f.reason, "levels": [], "tests": [], "iceman": [], "credibility": None,
                 "rule": []}
        entry["kind"] = f.kind
        entry["coefficients"] = [
            {"name": c["name"], "estimate": fmt_num(c["estimate"], 3), "ci": f"{fmt_num(c['ci_low'], 3)} to {fmt_num(c['ci_high'], 3)}",
             "p": _p(c["pval"])} for c in f.coefficients()
        ]
        if f.result is not None and f.kind == "metaregression":
            entry["credibility"] = f.credibility.credibility
            entry["rule"] = list(f.credibility.rule)
            entry["iceman"] = [{"number": it.number, "text": it.text, "answer": it.label if it.response else "unanswered",
                                "source": it.source or "", "reason": it.reason}
                               for it in f.credibility.items if it.response is not None or it.core]
        elif f.result is not None:
            r = f.result
            scale = display_scale(r.measure, None)
            for lv in r.levels:
                entry["levels"].append({"level": lv.level, "k": lv.k, "analysed": lv.fit is not None, "reason": lv.reason or ""})
            for t in r.tests:
                cells = []
                for lv in r.levels:
                    if lv.fit is None or t.treatment not in lv.fit.treatments:
                        cells.append("")
                        continue
                    eff = lv.fit.effects().set_index("treatment").loc[t.treatment]
                    est, ci = _ci(scale, eff["estimate"], eff["ci_low"], eff["ci_high"])
                    cells.append(f"{est} ({ci})")
                c = f.treatment_credibility.get(t.treatment)
                entry["tests"].append({"treatment": name(t.treatment), "cells": cells, "q": fmt_num(t.q, 2), "df": t.df,
                                       "p": _p(t.pval), "flag": t.pval < 0.1, "credibility": c.credibility if c else ""})
            entry["credibility"] = f.credibility.credibility
            entry["rule"] = list(f.credibility.rule)
            for it in f.credibility.items:
                if it.response is None and not it.core:
                    continue
                entry["iceman"].append({"number": it.number, "text": it.text, "answer": it.label if it.response else "unanswered",
                                        "source": it.source or "", "reason": it.reason})
        out.append(entry)
    return out


def report_context(graded, recommended=None, figures: Mapping[str, Mapping[str, str]] | None = None,
                   budget_figure: str | None = None, document: Mapping | None = None,
                   versions: Mapping[str, str] | None = None, reanalysis=None, subgroups=None,
                   influence: Mapping[str, Any] | None = None) -> dict:
    """Everything the template shows, as plain values.  ``figures`` maps a panel name
    (``"<population>_<outcome>"``) to {figure key: data URI}."""
    spec = graded.spec.spec
    labels = _labels(graded)
    pop_labels = {p.name: (p.label or p.name) for p in spec.populations}
    figures = figures or {}
    panels = []
    for g in graded.outcomes:
        name = g.key
        panel = _network_panel(g, labels, figures.get(name, {}), slug("p", g.population, g.outcome.name),
                               pop_labels.get(g.population, g.population or ""))
        # the summary-of-findings table escapes its own text (certainty/sof.py)
        panel["sof"] = Markup(graded.summary_of_findings(g.outcome.name, g.population).to_html())
        panel["influence"] = _influence((influence or {}).get(name), labels, g.model.measure)
        panels.append(panel)
    by = {(p["population"], p["outcome"]): p for p in panels}
    recs = [] if recommended is None else [_recommendation(r, spec, labels, by) for r in recommended.recommendations]
    excluded: dict[tuple[str, str], None] = {}
    for g in graded.outcomes:
        for e in g.model.excluded:
            excluded[(e.study, e.reason)] = None
    overrides = [
        {
            "where": " / ".join(x for x in (pop_labels.get(o.population, o.population or ""), o.outcome) if x),
            "comparison": " vs ".join(labels.get(t, t) for t in o.comparison),
            "domain": o.domain,
            "level": o.level,
            "justification": o.justification,
            "by": o.by,
        }
        for o in spec.certainty.overrides
    ]
    provenance = (document or {}).get("provenance", {})
    budget = None
    if recommended is not None and recommended.budget is not None:
        budget = {"summary": recommended.budget.summary(), "figure": budget_figure}
    counts: dict[str, int] = {}
    for r in recs:
        counts[r["headline"]] = counts.get(r["headline"], 0) + 1
    return {
        "title": spec.report.title or spec.project.title,
        "question": spec.project.question,
        "authors": list(spec.project.authors),
        "simulated": spec.project.simulated,
        "methods": methods_sections(graded, recommended, dict(versions) if versions else None),
        "reanalysis": _reanalysis(reanalysis, labels, graded),
        "subgroups": _subgroups(subgroups, labels, graded),
        "panels": panels,
        "recommendations": recs,
        "recommendation_counts": sorted(counts.items()),
        "rule_name": None if recommended is None else recommended.rule.name,
        "budget": budget,
        "overrides": overrides,
        "warnings": [{"code": w.code, "message": w.message, "studies": list(w.studies)} for w in graded.warnings],
        "excluded": [{"study": s, "reason": r} for s, r in excluded],
        "inputs": sorted((provenance.get("inputs") or graded.inputs.hashes).items()),
        "versions": sorted((provenance.get("versions") or dict(versions or {})).items()),
        "seed": spec.report.seed,
        "schema_version": (document or {}).get("schema_version", ""),
    }


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def render_report(context: Mapping[str, Any]) -> str:
    """Fill the report template (autoescaped) with a :func:`report_context`."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda n: _asset(n)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    template = env.get_template("report.html.j2")
    return template.render(css=_asset("report.css"), js=_asset("report.js"), **context)
