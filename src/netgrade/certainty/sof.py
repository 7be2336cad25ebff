"""Summary-of-findings tables: one outcome, one row per comparison.

Guyatt GH, Oxman AD, Santesso N, et al. GRADE guidelines: 12. Preparing summary of
findings tables -- binary outcomes.  J Clin Epidemiol 2013;66:158-172; and Guyatt GH,
Thorlund K, Oxman AD, et al. GRADE guidelines: 13. Preparing summary of findings tables
and evidence profiles -- continuous outcomes.  J Clin Epidemiol 2013;66:173-183.

Each row shows the comparison; the relative effect with its CI (back-transformed for
ratio measures); for binary outcomes the risk with the comparator at one or more
baseline risks, the corresponding risk with the intervention and the difference, per
1,000 patients, with CIs (formulas in :mod:`netgrade.certainty.magnitude`); for
continuous outcomes the effect in natural units; the number of studies and participants
when given; the certainty of the evidence with footnotes naming each domain that lowered
it; and GRADE's informative statement (Santesso et al. 2020; see
:mod:`netgrade.certainty.statements`).

Rows are plain values -- intervention, comparator, estimate, CI, certainty and the
domains that lowered it as ``(domain, level)`` or ``(domain, level, reason)`` pairs --
or any object (or mapping) that carries them under the names used by
:class:`netgrade.certainty.rating.CertaintyRating` (``treatment1``, ``treatment2``,
``estimate``, ``ci_low``, ``ci_high``, ``final``, ``domains``), read duck-typed.  An
estimate of ``treatment1`` is taken to be *treatment1 versus treatment2* (treatment1 is
the intervention, treatment2 the comparator), the orientation of the league table.
Estimates are on the analysis scale (log ratios).

Absolute numbers per 1,000 are rounded half away from zero to whole numbers for display
(as GRADEpro does); the unrounded values are in :meth:`SummaryOfFindings.to_frame` and
:meth:`SummaryOfFindings.to_dict`.
"""

from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .._result import ResultMixin, jsonable
from ..errors import ModelError, SpecError
from .magnitude import RATIO_MEASURES, Magnitude, classify_magnitude, intervention_risk
from .statements import StatementStyle, informative_statement
from .types import CERTAINTY, Outcome, certainty as _norm_certainty, concern as _norm_concern

__all__ = ["Downgrade", "AbsoluteEffect", "SoFRow", "SummaryOfFindings", "summary_of_findings", "MEASURE_LABELS"]

#: Measure -> (short label, long label) shown in tables.
MEASURE_LABELS: dict[str, tuple[str, str]] = {
    "OR": ("OR", "Odds ratio"),
    "PETO": ("OR", "Odds ratio (Peto)"),
    "RR": ("RR", "Risk ratio"),
    "HR": ("HR", "Hazard ratio"),
    "RD": ("RD", "Risk difference"),
    "MD": ("MD", "Mean difference"),
    "SMD": ("SMD", "Standardised mean difference"),
    "SMDH": ("SMD", "Standardised mean difference"),
    "GEN": ("Effect", "Effect"),
}

#: GRADE's symbols for the four levels (filled circles for the levels reached).
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}

#: The meaning of each level (Balshem et al. 2011, GRADE guidelines 3, J Clin Epidemiol 64:401).
LEVEL_MEANINGS = {
    "high": "we are very confident that the true effect lies close to the estimate",
    "moderate": "the true effect is probably close to the estimate, but it may be substantially different",
    "low": "the true effect may be substantially different from the estimate",
    "very low": "the true effect is probably substantially different from the estimate",
}


def _round_half_up(x: float, digits: int = 0) -> Decimal:
    q = Decimal(1).scaleb(-digits)
    return Decimal(repr(abs(float(x)))).quantize(q, rounding=ROUND_HALF_UP)


def _num(x: float | None, digits: int) -> str:
    if x is None or not math.isfinite(float(x)):
        return "NA"
    r = _round_half_up(x, digits)
    return ("-" if x < 0 and r != 0 else "") + f"{r:.{digits}f}"


@dataclass(frozen=True)
class Downgrade:
    """A domain that lowered the certainty: its name, its level (as the rating gave it),
    the reason (the rule that fired), and the panel's override justification, if any."""

    domain: str
    level: str
    reason: str = ""
    override: str = ""

    def text(self) -> str:
        if self.domain == "overall":
            s = f"overall certainty set to {self.level} by the panel"
            if self.reason:
                s += f" ({self.reason})"
            return s + (f": {self.override}" if self.override else "")
        s = f"downgraded for {self.domain} ({self.level})"
        if self.reason:
            s += f": {self.reason}"
        if self.override:
            s += f" [panel override: {self.override}]"
        return s

    def to_dict(self) -> dict:
        return {"domain": self.domain, "level": self.level, "reason": self.reason, "override": self.override}


@dataclass(frozen=True)
class AbsoluteEffect:
    """Risks per 1,000 at one baseline (comparator) risk (Guyatt et al. 2013, GRADE 12)."""

    label: str
    baseline_risk: float
    comparator_per_1000: float
    intervention_per_1000: float
    intervention_ci_low: float | None
    intervention_ci_high: float | None
    difference: float
    difference_ci_low: float | None
    difference_ci_high: float | None

    def difference_text(self) -> str:
        """GRADE's wording: "12 fewer per 1,000 (from 19 fewer to 3 fewer)"."""
        head = f"{_count(self.difference)} per 1,000"
        if self.difference_ci_low is None or self.difference_ci_high is None:
            return head
        return f"{head} (from {_count(self.difference_ci_low)} to {_count(self.difference_ci_high)})"

    def intervention_text(self) -> str:
        head = f"{_num(self.intervention_per_1000, 0)} per 1,000"
        if self.intervention_ci_low is None or self.intervention_ci_high is None:
            return head
        return f"{head} ({_num(self.intervention_ci_low, 0)} to {_num(self.intervention_ci_high, 0)})"

    def comparator_text(self) -> str:
        return f"{_num(self.comparator_per_1000, 0)} per 1,000"

    def to_dict(self) -> dict:
        return jsonable(dataclasses.asdict(self))


def _count(x: float) -> str:
    r = _round_half_up(x, 0)
    if r == 0:
        return "0"
    return f"{r:.0f} {'more' if x > 0 else 'fewer'}"


@dataclass(frozen=True)
class SoFRow:
    """One comparison of a summary-of-findings table.

    ``estimate``/``ci_low``/``ci_high`` are on the analysis scale; ``effect``,
    ``effect_ci_low`` and ``effect_ci_high`` on the natural scale (the ratio for ratio
    measures, the difference otherwise); ``footnotes`` are the keys of the table's
    footnotes that explain the certainty.
    """

    intervention: str
    comparator: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    effect: float
    effect_ci_low: float | None
    effect_ci_high: float | None
    absolute: tuple[AbsoluteEffect, ...]
    n_studies: int | None
    n_participants: int | None
    certainty: str
    downgrades: tuple[Downgrade, ...]
    footnotes: tuple[str, ...]
    magnitude: Magnitude
    statement: str

    def to_dict(self) -> dict:
        return jsonable(
            {
                "intervention": self.intervention,
                "comparator": self.comparator,
                "estimate": self.estimate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "effect": self.effect,
                "effect_ci_low": self.effect_ci_low,
                "effect_ci_high": self.effect_ci_high,
                "absolute": [a.to_dict() for a in self.absolute],
                "n_studies": self.n_studies,
                "n_participants": self.n_participants,
                "certainty": self.certainty,
                "downgrades": [d.to_dict() for d in self.downgrades],
                "footnotes": list(self.footnotes),
                "magnitude": self.magnitude.to_dict(),
                "statement": self.statement,
            }
        )


@dataclass(frozen=True, eq=False)
class SummaryOfFindings(ResultMixin):
    """A GRADE summary-of-findings table for one outcome (Guyatt et al. 2013, GRADE 12/13).

    ``baseline_risks`` are the (label, risk) pairs at which absolute effects are shown
    (binary outcomes); ``judged_at`` is the baseline risk at which magnitudes (and so the
    statements) were judged; ``footnotes`` are (key, text) pairs; ``notes`` record any
    choice made for the user.
    """

    outcome: Outcome
    measure: str
    measure_label: str
    rows: tuple[SoFRow, ...]
    baseline_risks: tuple[tuple[str, float], ...]
    footnotes: tuple[tuple[str, str], ...]
    judged_at: float | None = None
    notes: tuple[str, ...] = ()
    digits: int = 2

    # -- helpers -------------------------------------------------------------------
    @property
    def binary(self) -> bool:
        return bool(self.baseline_risks)

    @property
    def short_label(self) -> str:
        return MEASURE_LABELS.get(self.measure, (self.measure, self.measure))[0]

    @property
    def direction(self) -> str:
        return "larger values are better" if self.outcome.larger_better else "smaller values are better"

    def _title(self) -> str:
        return f"Summary of findings: {self.outcome.description or self.outcome.name}"

    def _thresholds_text(self) -> str:
        t = self.outcome.thresholds
        unit = self.rows[0].magnitude.unit if self.rows else ""
        u = f" {unit}" if unit else ""
        parts = [f"MID {_g(t.small)}{u}"]
        if t.moderate is not None:
            parts.append(f"moderate {_g(t.moderate)}{u}")
        if t.large is not None:
            parts.append(f"large {_g(t.large)}{u}")
        at = f" at a baseline risk of {_pct(self.judged_at)}" if self.judged_at is not None else ""
        return "magnitudes judged against " + ", ".join(parts) + at

    def effect_text(self, row: SoFRow) -> str:
        """The relative effect ("OR 0.75 (0.60 to 0.94)") or, for continuous outcomes, the
        difference in natural units ("0.28 cm higher (1.18 lower to 1.75 higher)")."""
        d = self.digits
        if self.measure in RATIO_MEASURES:
            ci = ""
            if row.effect_ci_low is not None and row.effect_ci_high is not None:
                ci = f" ({_num(row.effect_ci_low, d)} to {_num(row.effect_ci_high, d)})"
            return f"{self.short_label} {_num(row.effect, d)}{ci}"
        scale = 1000.0 if self.measure == "RD" else 1.0
        unit = " per 1,000" if self.measure == "RD" else (f" {self.outcome.unit}" if self.outcome.unit and self.measure == "MD" else "")
        if self.measure == "RD":
            lo = None if row.effect_ci_low is None else row.effect_ci_low * scale
            hi = None if row.effect_ci_high is None else row.effect_ci_high * scale
            head = f"{_count(row.effect * scale)}{unit}"
            return head if lo is None else f"{head} (from {_count(lo)} to {_count(hi)})"
        head = f"{self.short_label} {_hl(row.effect, d, unit)}"
        if row.effect_ci_low is None or row.effect_ci_high is None:
            return head
        return f"{head} ({_hl(row.effect_ci_low, d)} to {_hl(row.effect_ci_high, d)})"

    @staticmethod
    def certainty_text(row: SoFRow) -> str:
        keys = f" ({', '.join(row.footnotes)})" if row.footnotes else ""
        return f"{row.certainty.capitalize()}{keys}"

    @staticmethod
    def studies_text(row: SoFRow) -> str:
        if row.n_studies is None and row.n_participants is None:
            return "NA"
        if row.n_studies == 0:
            return "0 (indirect evidence only)"
        k = "NA" if row.n_studies is None else str(row.n_studies)
        n = "" if row.n_participants is None else f" ({row.n_participants:,})"
        return k + n

    # -- outputs -------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        records = []
        for r in self.rows:
            rec: dict[str, Any] = {
                "intervention": r.intervention,
                "comparator": r.comparator,
                "measure": self.measure,
                "estimate": r.estimate,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "effect": r.effect,
                "effect_ci_low": r.effect_ci_low,
                "effect_ci_high": r.effect_ci_high,
            }
            for a in r.absolute:
                tag = f"[{a.label}]"
                rec.update(
                    {
                        f"baseline_risk{tag}": a.baseline_risk,
                        f"risk_comparator_per_1000{tag}": a.comparator_per_1000,
                        f"risk_intervention_per_1000{tag}": a.intervention_per_1000,
                        f"risk_intervention_ci_low{tag}": a.intervention_ci_low,
                        f"risk_intervention_ci_high{tag}": a.intervention_ci_high,
                        f"risk_difference_per_1000{tag}": a.difference,
                        f"risk_difference_ci_low{tag}": a.difference_ci_low,
                        f"risk_difference_ci_high{tag}": a.difference_ci_high,
                    }
                )
            rec.update(
                {
                    "unit": self.outcome.unit if not self.binary else "",
                    "n_studies": r.n_studies,
                    "n_participants": r.n_participants,
                    "certainty": r.certainty,
                    "downgraded_for": "; ".join(d.domain for d in r.downgrades if d.domain != "overall"),
                    "overall_override": next((d.level for d in r.downgrades if d.domain == "overall"), None),
                    "footnotes": ",".join(r.footnotes),
                    "magnitude": r.magnitude.label,
                    "statement": r.statement,
                }
            )
            records.append(rec)
        frame = pd.DataFrame.from_records(records)
        for col in ("n_studies", "n_participants"):
            if col in frame:
                frame[col] = frame[col].astype("Int64")
        return frame

    def to_dict(self) -> dict:
        return jsonable(
            {
                "outcome": self.outcome.to_dict(),
                "measure": self.measure,
                "measure_label": self.measure_label,
                "direction": self.direction,
                "baseline_risks": [{"label": lab, "risk": p} for lab, p in self.baseline_risks],
                "judged_at": self.judged_at,
                "rows": [r.to_dict() for r in self.rows],
                "footnotes": [{"key": k, "text": t} for k, t in self.footnotes],
                "notes": list(self.notes),
            }
        )

    def _columns(self) -> list[tuple[str, Any]]:
        cols: list[tuple[str, Any]] = [
            ("Comparison", lambda r: f"{r.intervention} vs {r.comparator}"),
            (f"{self.measure_label} (95% CI)", self.effect_text),
        ]
        for i, (lab, p) in enumerate(self.baseline_risks):
            cols.append((f"Difference, {lab} ({_pct(p)})", lambda r, i=i: r.absolute[i].difference_text()))
        cols += [
            ("Studies (participants)", self.studies_text),
            ("Certainty", self.certainty_text),
        ]
        return cols

    def summary(self) -> str:
        lines = [
            self._title(),
            f"{self.measure_label}; {self.direction}; {self._thresholds_text()}.",
        ]
        if self.binary:
            lines.append(
                "Absolute effects per 1,000 at baseline (comparator) risks: "
                + ", ".join(f"{lab} {_pct(p)}" for lab, p in self.baseline_risks)
                + "."
            )
        lines.append("")
        cols = self._columns()
        cells = [[h for h, _ in cols]] + [[str(f(r)) for _, f in cols] for r in self.rows]
        widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
        fmt_row = lambda row: " | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
        lines.append(fmt_row(cells[0]))
        lines.append("-+-".join("-" * w for w in widths))
        lines += [fmt_row(row) for row in cells[1:]]
        lines += ["", "What happens:"]
        lines += [f"  {r.intervention} vs {r.comparator}: {r.statement}" for r in self.rows]
        if self.footnotes:
            lines += ["", "Footnotes:"]
            lines += [f"  {k}: {t}" for k, t in self.footnotes]
        if self.notes:
            lines += [""] + [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_html(self) -> str:
        """A plain, accessible HTML table (caption, scoped headers, footnotes; every
        name escaped; no external assets)."""
        e = lambda x: html.escape(str(x), quote=True)  # noqa: E731
        head = ["Intervention", "Comparator", f"{self.measure_label} (95% CI)"]
        for lab, p in self.baseline_risks:
            head += [
                f"Risk with comparator, {lab} ({_pct(p)})",
                f"Risk with intervention, {lab}",
                f"Risk difference, {lab} (95% CI)",
            ]
        head += ["Studies (participants)", "Certainty of the evidence", "What happens"]
        out = ['<table class="netgrade-sof">']
        out.append(
            f"<caption>{e(self._title())}. {e(self.measure_label)}; {e(self.direction)}; "
            f"{e(self._thresholds_text())}.</caption>"
        )
        out.append("<thead><tr>" + "".join(f'<th scope="col">{e(h)}</th>' for h in head) + "</tr></thead>")
        out.append("<tbody>")
        for r in self.rows:
            cells = [f'<th scope="row">{e(r.intervention)}</th>', f"<td>{e(r.comparator)}</td>", f"<td>{e(self.effect_text(r))}</td>"]
            for a in r.absolute:
                cells += [
                    f"<td>{e(a.comparator_text())}</td>",
                    f"<td>{e(a.intervention_text())}</td>",
                    f"<td>{e(a.difference_text())}</td>",
                ]
            sup = f"<sup>{e(','.join(r.footnotes))}</sup>" if r.footnotes else ""
            sym = SYMBOLS.get(r.certainty, "")
            cells += [
                f"<td>{e(self.studies_text(r))}</td>",
                f'<td><span aria-hidden="true">{sym}</span> {e(r.certainty.capitalize())}{sup}</td>',
                f"<td>{e(r.statement)}</td>",
            ]
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody>")
        out.append("</table>")
        if self.footnotes:
            out.append('<dl class="netgrade-sof-footnotes">')
            for k, t in self.footnotes:
                out.append(f"<dt>{e(k)}</dt><dd>{e(t)}</dd>")
            out.append("</dl>")
        out.append('<p class="netgrade-sof-legend">CI: confidence interval. GRADE certainty of the evidence: '
                   + "; ".join(f"{e(level.capitalize())}: {e(LEVEL_MEANINGS[level])}" for level in CERTAINTY)
                   + ".</p>")
        if self.notes:
            out.append('<ul class="netgrade-sof-notes">' + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.to_html()


def _g(x: float) -> str:
    return f"{x:g}"


def _pct(p: float | None) -> str:
    if p is None:
        return "NA"
    return f"{100 * p:g}%"


def _hl(x: float, digits: int, unit: str = "") -> str:
    """GRADE's "0.28 higher" / "1.18 lower" for differences."""
    r = _round_half_up(x, digits)
    if r == 0:
        return f"{0:.{digits}f}{unit}"
    return f"{r:.{digits}f}{unit} {'higher' if x > 0 else 'lower'}"


# ---------------------------------------------------------------------------------
# building the table


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj and obj[name] is not None:
                return obj[name]
        else:
            v = getattr(obj, name, None)
            if v is not None:
                return v
    return None


def _level_text(level: Any) -> str:
    if isinstance(level, str):
        return level
    v = getattr(level, "level", None)
    return str(v if v is not None else level)


def _lowered(level: str) -> bool:
    """False for "no concerns" (in any of its spellings), True otherwise."""
    try:
        return _norm_concern(level) != "no concerns"
    except SpecError:
        return str(level).strip().lower() not in ("not serious", "none", "no", "")


def _downgrades(row: Any, where: str) -> tuple[Downgrade, ...]:
    raw = _get(row, "downgrades")
    if raw is None:
        raw = _get(row, "domains")
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        raw = list(raw.items())
    out = []
    for item in raw:
        reason = override = ""
        if isinstance(item, (tuple, list)):
            if len(item) not in (2, 3):
                raise SpecError(f"{where}: a downgrade is (domain, level) or (domain, level, reason); got {item!r}")
            domain, level = item[0], _level_text(item[1])
            if len(item) == 3 and item[2]:
                reason = str(item[2])
        else:
            domain = _get(item, "domain")
            level = _get(item, "level")
            if domain is None or level is None:
                raise SpecError(f"{where}: a downgrade needs a domain and a level; got {item!r}")
            level = _level_text(level)
            reason = str(_get(item, "reason", "rule") or "")
            ov = _get(item, "override")
            if ov is not None:
                just = _get(ov, "justification")
                computed = _get(item, "computed")
                override = (f"computed {computed}; " if computed is not None else "") + str(just or "")
        if _lowered(level):
            out.append(Downgrade(str(domain), str(level), reason, override))
    return tuple(out)


def _overall_override(row: Any) -> Downgrade | None:
    """The panel's override of the overall rating (CertaintyRating.override), if any."""
    ov = _get(row, "override")
    if ov is None or isinstance(ov, str):
        return None
    level, just = _get(ov, "level"), _get(ov, "justification")
    if level is None or just is None:
        return None
    computed = _get(row, "computed")
    reason = f"computed: {_level_text(computed)}" if computed is not None else ""
    return Downgrade("overall", _level_text(level), reason, str(just))


def _opt_float(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return None if math.isnan(v) else v


def _opt_int(x: Any, what: str, where: str) -> int | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: {what} must be a whole number; got {x!r}") from None
    if math.isnan(v):
        return None
    if v != int(v) or v < 0:
        raise SpecError(f"{where}: {what} must be a non-negative whole number; got {x!r}")
    return int(v)


def _baselines(baseline_risks: Any, outcome: Outcome, measure: str) -> tuple[tuple[str, float], ...]:
    binary = measure in RATIO_MEASURES or measure == "RD"
    if baseline_risks is None:
        if not binary:
            return ()
        if outcome.baseline_risk is None:
            raise ModelError(
                f"outcome {outcome.name!r} ({measure}): a summary of findings for a binary outcome shows absolute "
                "effects per 1,000 and needs a baseline risk; give baseline_risks={'low risk': 0.05, ...} or set "
                "the outcome's baseline_risk"
            )
        return (("baseline risk", float(outcome.baseline_risk)),)
    if not binary:
        raise SpecError(
            f"outcome {outcome.name!r}: baseline_risks apply to binary outcomes (OR, RR, HR, RD), not to {measure}"
        )
    if isinstance(baseline_risks, Mapping):
        pairs = [(str(k), v) for k, v in baseline_risks.items()]
    elif isinstance(baseline_risks, (int, float)):
        pairs = [("baseline risk", baseline_risks)]
    else:
        pairs = [(f"risk {_pct(float(v))}", v) for v in baseline_risks]
    if not pairs:
        raise SpecError("baseline_risks is empty")
    out = []
    for lab, v in pairs:
        p = float(v)
        if not 0.0 < p < 1.0:
            raise SpecError(f"baseline risk {lab!r} must be between 0 and 1 (exclusive); got {v!r}")
        out.append((lab, p))
    return tuple(out)


def _absolute(measure: str, est: float, lo: float | None, hi: float | None, label: str, p: float) -> AbsoluteEffect:
    def risk(x: float | None) -> float | None:
        if x is None:
            return None
        if measure == "RD":
            return min(1.0, max(0.0, p + x))
        return intervention_risk(measure, math.exp(x), p)

    r, rl, rh = risk(est), risk(lo), risk(hi)
    per = lambda v: None if v is None else 1000.0 * v  # noqa: E731
    diff = lambda v: None if v is None else 1000.0 * (v - p)  # noqa: E731
    return AbsoluteEffect(
        label=label,
        baseline_risk=p,
        comparator_per_1000=1000.0 * p,
        intervention_per_1000=per(r),
        intervention_ci_low=per(rl),
        intervention_ci_high=per(rh),
        difference=diff(r),
        difference_ci_low=diff(rl),
        difference_ci_high=diff(rh),
    )


def _letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        s = chr(ord("a") + rem) + s
    return s


def summary_of_findings(
    rows: Iterable[Any],
    outcome: Outcome,
    *,
    baseline_risks: Mapping[str, float] | Sequence[float] | float | None = None,
    measure_label: str | None = None,
    comparator: str | None = None,
    style: StatementStyle | None = None,
    outcome_phrase: str | Mapping[str, str] | None = None,
    verb: str | None = None,
    plural: bool = False,
    digits: int = 2,
) -> SummaryOfFindings:
    """Build a GRADE summary-of-findings table (Guyatt et al. 2013, GRADE 12 and 13).

    ``rows``: one per comparison, each a mapping or an object with

    - ``intervention`` (or ``treatment1``) and ``comparator`` (or ``treatment2``;
      default: the ``comparator`` argument);
    - ``estimate`` and optionally ``ci_low``, ``ci_high``: intervention versus comparator
      on the analysis scale (log OR, log RR, log HR; MD, SMD, RD as they are);
    - ``certainty`` (or ``final``): the GRADE level;
    - ``downgrades``: the domains that lowered it, as ``(domain, level)`` or ``(domain,
      level, reason)`` pairs or mappings; or ``domains``: judgement objects with
      ``.domain``, ``.level`` and optionally ``.rule`` (the reason), ``.computed`` and
      ``.override`` (with ``.justification``) -- those at "no concerns" are left out;
    - optionally ``n_studies`` (or ``k``), ``n_participants``, ``statement`` (to
      replace the generated informative statement), and ``override`` (an object with
      ``.level`` and ``.justification``: the panel's override of the overall rating,
      shown as a footnote with ``computed``, the rating it replaced).

    ``baseline_risks`` (binary outcomes): the comparator risks at which absolute effects
    are shown, e.g. ``{"low risk": 0.05, "high risk": 0.20}`` (default: the outcome's
    ``baseline_risk``).  Magnitudes and statements are judged at ``outcome.baseline_risk``
    (the risk the thresholds were set at), or, if the outcome has none, at the first
    baseline risk given -- recorded in ``judged_at`` and in a note.

    ``style``, ``outcome_phrase``, ``verb`` and ``plural`` are passed to
    :func:`netgrade.certainty.statements.informative_statement`.
    """
    measure = str(outcome.measure).strip().upper()
    if measure not in MEASURE_LABELS:
        raise ModelError(
            f"outcome {outcome.name!r}: no summary of findings for the measure {outcome.measure!r}; "
            f"use one of {', '.join(MEASURE_LABELS)}"
        )
    short, long = MEASURE_LABELS[measure]
    if measure_label is None:
        measure_label = long + (f" ({outcome.unit})" if outcome.unit and measure == "MD" else "")
    bases = _baselines(baseline_risks, outcome, measure)
    notes: list[str] = []
    judge = outcome
    judged_at = None
    if measure in RATIO_MEASURES:
        if outcome.baseline_risk is None:
            judge = dataclasses.replace(outcome, baseline_risk=bases[0][1])
            notes.append(
                f"the outcome has no baseline_risk: magnitudes and statements were judged at the first baseline "
                f"risk given ({bases[0][0]}, {_pct(bases[0][1])})"
            )
        judged_at = judge.baseline_risk

    built: list[dict] = []
    for i, row in enumerate(rows):
        where = f"summary of findings for {outcome.name!r}, row {i + 1}"
        interv = _get(row, "intervention", "treatment1")
        comp = _get(row, "comparator", "treatment2")
        if comp is None:
            comp = comparator
        if interv is None or comp is None:
            raise SpecError(f"{where}: needs an intervention (treatment1) and a comparator (treatment2)")
        est = _opt_float(_get(row, "estimate"))
        if est is None:
            raise SpecError(f"{where} ({interv} vs {comp}): the estimate is missing")
        lo, hi = _opt_float(_get(row, "ci_low")), _opt_float(_get(row, "ci_high"))
        if (lo is None) != (hi is None):
            raise SpecError(f"{where} ({interv} vs {comp}): give both ci_low and ci_high, or neither")
        if lo is not None and not lo <= est <= hi:
            raise SpecError(f"{where} ({interv} vs {comp}): the estimate {est} is not inside its CI [{lo}, {hi}]")
        cert_raw = _get(row, "certainty", "final")
        if cert_raw is None:
            raise SpecError(f"{where} ({interv} vs {comp}): the certainty (final) level is missing")
        cert = _norm_certainty(_level_text(cert_raw))
        downs = _downgrades(row, where)
        overall = _overall_override(row)
        if overall is not None:
            downs = downs + (overall,)
        mag = classify_magnitude(est, judge)
        statement = _get(row, "statement")
        if statement is None:
            statement = informative_statement(
                str(interv),
                judge,
                mag,
                cert,
                comparator=str(comp),
                outcome_phrase=outcome_phrase,
                style=style,
                verb=verb,
                plural=plural,
            )
        if measure in RATIO_MEASURES:
            eff, elo, ehi = math.exp(est), (None if lo is None else math.exp(lo)), (None if hi is None else math.exp(hi))
        else:
            eff, elo, ehi = est, lo, hi
        built.append(
            dict(
                intervention=str(interv),
                comparator=str(comp),
                estimate=est,
                ci_low=lo,
                ci_high=hi,
                effect=eff,
                effect_ci_low=elo,
                effect_ci_high=ehi,
                absolute=tuple(_absolute(measure, est, lo, hi, lab, p) for lab, p in bases),
                n_studies=_opt_int(_get(row, "n_studies", "k"), "n_studies", where),
                n_participants=_opt_int(_get(row, "n_participants", "participants"), "n_participants", where),
                certainty=cert,
                downgrades=downs,
                magnitude=mag,
                statement=str(statement),
            )
        )

    keys: dict[str, str] = {}
    out_rows = []
    for b in built:
        fk = []
        for d in b["downgrades"]:
            t = d.text()
            if t not in keys:
                keys[t] = _letters(len(keys))
            if keys[t] not in fk:
                fk.append(keys[t])
        out_rows.append(SoFRow(footnotes=tuple(fk), **b))
    return SummaryOfFindings(
        outcome=outcome,
        measure=measure,
        measure_label=measure_label,
        rows=tuple(out_rows),
        baseline_risks=bases,
        footnotes=tuple((k, t) for t, k in keys.items()),
        judged_at=judged_at,
        notes=tuple(notes),
        digits=int(digits),
    )
