"""Sensitivity analyses of a network: leave one study out, exclude studies, add them in order.

"Does any single trial change the conclusion?", "what if the high risk-of-bias trials
are left out?", "what did the evidence say before the newer trials?" -- the questions
of a dispute about a published network meta-analysis -- are answered by refitting the
network on a subset of its studies with exactly the settings of the original fit (the
same reference, tau² estimator or fixed tau², confidence level, direction of benefit,
treatment order and multi-arm handling), so that every refit equals
``nma(data.subset(studies=...), ...)`` with those settings.

* :func:`leave_one_out` -- the network without each study in turn, in the spirit of the
  one-study-removed analysis of pairwise meta-analysis (Viechtbauer & Cheung 2010, Res
  Synth Methods 1:112) and of netmeta's ``netleave``; per treatment, the range of its
  estimates against the reference and the omissions that move its confidence interval
  across the line of no effect or a minimal important difference (the thresholds the
  minimally contextualised GRADE approach judges against; Brignardello-Petersen et al.
  2020, J Clin Epidemiol 117:95).
* :func:`exclude_studies`, :func:`exclude_high_risk_of_bias`,
  :func:`exclude_before_year` -- the network without a set of studies, side by side
  with the original (the restriction to low risk of bias studies recommended by the
  Cochrane Handbook, chapter 10.14 and chapter 7).
* :func:`cumulative` -- the network fitted as the studies accumulate in a chosen order
  (e.g. year of publication; Lau et al. 1992, N Engl J Med 327:248, for the pairwise
  cumulative meta-analysis).

A refit that cannot estimate everything is reported, never dropped: a treatment that
no remaining study includes is *absent*; one that remaining studies include but that
they do not connect to the reference is *unconnected* (the refit is then the
sub-network of the reference, as ``nma(..., component=[reference])`` fits it, and the
studies of the other sub-networks are listed as unused); a refit without the reference,
or one that cannot be fitted at all, records why.  All estimates are on the analysis
scale (log scale for ratio measures), treatment versus the reference.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._result import ResultMixin, fmt, jsonable
from ..errors import AnalysisWarning, DataError, ExcludedStudy, ModelError, NetgradeError
from .model import NMAResult, nma

__all__ = [
    "TreatmentEstimate",
    "RefitStep",
    "TreatmentRobustness",
    "NetworkLeaveOneOut",
    "NetworkExclusion",
    "NetworkCumulative",
    "leave_one_out",
    "exclude_studies",
    "exclude_high_risk_of_bias",
    "exclude_before_year",
    "cumulative",
]

MISSING_POLICIES = ("error", "keep", "exclude")
CUMULATIVE_MISSING = ("error", "last", "exclude")


# ---------------------------------------------------------------------------------
# thresholds and conclusions


def _short(x: float) -> str:
    return f"{float(x):.4g}"


@dataclass(frozen=True)
class Thresholds:
    """Values an interval is judged against (analysis scale), with their names.

    ``null`` is the line of no effect (None: not used); ``mid`` the minimal important
    difference, giving the thresholds null - mid and null + mid (around 0 if ``null``
    is None).
    """

    null: float | None = 0.0
    mid: float | None = None

    def __post_init__(self):
        if self.null is not None and not math.isfinite(float(self.null)):
            raise ModelError(f"null must be a finite number on the analysis scale, not {self.null!r}")
        if self.mid is not None and not (math.isfinite(float(self.mid)) and float(self.mid) > 0):
            raise ModelError(f"mid must be a positive number on the analysis scale, not {self.mid!r}")

    @property
    def values(self) -> tuple[tuple[str, float], ...]:
        out = []
        centre = 0.0 if self.null is None else float(self.null)
        if self.mid is not None:
            out.append((f"-MID ({_short(centre - self.mid)})", centre - float(self.mid)))
        if self.null is not None:
            out.append((f"null ({_short(centre)})", centre))
        if self.mid is not None:
            out.append((f"+MID ({_short(centre + self.mid)})", centre + float(self.mid)))
        return tuple(out)

    def position(self, lo: float, hi: float) -> tuple[int, int] | None:
        """The regions between thresholds that the interval [lo, hi] reaches: region r
        lies above r thresholds.  An interval touching a threshold includes it."""
        vals = [v for _, v in self.values]
        if not vals or not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        return sum(v < lo for v in vals), sum(v <= hi for v in vals)

    def describe(self, lo: float, hi: float) -> str | None:
        """The interval against the thresholds, in words."""
        pos = self.position(lo, hi)
        if pos is None:
            return None
        named = self.values
        i, j = pos
        if i == j:
            if i == 0:
                return f"CI below {named[0][0]}"
            if i == len(named):
                return f"CI above {named[-1][0]}"
            return f"CI between {named[i - 1][0]} and {named[i][0]}"
        inside = [name for name, _ in named[i:j]]
        text = "CI includes " + (inside[0] if len(inside) == 1 else ", ".join(inside[:-1]) + " and " + inside[-1])
        bounds = ([f"above {named[i - 1][0]}"] if i > 0 else []) + ([f"below {named[j][0]}"] if j < len(named) else [])
        return text + ("; " + ", ".join(bounds) if bounds else "")

    def to_dict(self) -> dict:
        return jsonable(
            {"null": self.null, "mid": self.mid, "thresholds": [{"name": n, "value": v} for n, v in self.values]}
        )


# ---------------------------------------------------------------------------------
# one refit


@dataclass(frozen=True)
class TreatmentEstimate:
    """One treatment against the reference in one fit (NaN where not estimable;
    ``reason`` says why)."""

    treatment: str
    estimable: bool
    estimate: float = math.nan
    se: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    pval: float = math.nan
    conclusion: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return jsonable(
            {
                "treatment": self.treatment,
                "estimable": self.estimable,
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "pval": self.pval,
                "conclusion": self.conclusion,
                "reason": self.reason,
            }
        )


@dataclass(frozen=True, eq=False)
class RefitStep:
    """The network refitted on a subset of its studies.

    ``studies`` are the studies this step omits (leave-one-out), adds (cumulative) or
    excludes (exclusion); ``k`` the studies in the fit; ``estimates`` every
    non-reference treatment of the original network against the reference.
    ``absent`` treatments are in no study of the subset, ``unconnected`` ones are not
    connected to the reference by it (``unused`` lists the studies of those other
    sub-networks).  ``failure`` says why nothing could be fitted, if so.  ``warnings``
    are those of the refit that the original fit does not have.
    """

    label: str
    studies: tuple[str, ...]
    k: int
    n_treatments: int
    tau2: float
    i2: float
    q: float
    q_df: int | None
    q_pval: float
    estimates: tuple[TreatmentEstimate, ...]
    absent: tuple[str, ...] = ()
    unconnected: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()
    failure: str | None = None
    key: Any = None
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        """Every treatment of the original network is estimable."""
        return self.failure is None and all(e.estimable for e in self.estimates)

    @property
    def estimable(self) -> tuple[str, ...]:
        return tuple(e.treatment for e in self.estimates if e.estimable)

    def estimate_of(self, treatment: str) -> TreatmentEstimate:
        for e in self.estimates:
            if e.treatment == treatment:
                return e
        raise ModelError(f"{treatment!r} is not a non-reference treatment of the network")

    def notes(self) -> str:
        if self.failure is not None:
            return f"no fit: {self.failure}"
        parts = []
        if self.absent:
            parts.append("absent: " + ", ".join(self.absent))
        if self.unconnected:
            parts.append("not connected to the reference: " + ", ".join(self.unconnected))
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "label": self.label,
                "key": _json_key(self.key),
                "studies": list(self.studies),
                "k": self.k,
                "n_treatments": self.n_treatments,
                "tau2": self.tau2,
                "i2": self.i2,
                "q": self.q,
                "q_df": self.q_df,
                "q_pval": self.q_pval,
                "absent": list(self.absent),
                "unconnected": list(self.unconnected),
                "unused": list(self.unused),
                "failure": self.failure,
                "estimates": [e.to_dict() for e in self.estimates],
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )

    def rows(self) -> list[dict]:
        """Long-format rows, one per treatment."""
        out = []
        for e in self.estimates:
            out.append(
                {
                    "treatment": e.treatment,
                    "estimable": e.estimable,
                    "estimate": e.estimate,
                    "se": e.se,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "pval": e.pval,
                    "conclusion": e.conclusion,
                    "k": self.k,
                    "tau2": self.tau2,
                    "i2": self.i2,
                    "q": self.q,
                    "reason": e.reason,
                }
            )
        return out


def _json_key(key: Any) -> Any:
    if key is None or isinstance(key, (bool, str, int, float, np.integer, np.floating)):
        return key
    return str(key)


def _check_result(res: Any, what: str) -> NMAResult:
    if not isinstance(res, NMAResult):
        raise ModelError(f"{what} needs a fitted network (from nma()); got {type(res).__name__}")
    return res


def _settings(res: NMAResult) -> dict:
    return {
        "reference": res.reference,
        "method": res.method,
        "level": res.level,
        "tau2": res.tau2 if res.tau2_fixed else None,
        "larger_better": res.larger_better,
        "multiarm": res.multiarm,
    }


def _step_from_fit(
    res: NMAResult,
    fit: NMAResult,
    label: str,
    studies: tuple[str, ...],
    thresholds: Thresholds,
    key: Any = None,
    absent: tuple[str, ...] = (),
    unconnected: tuple[str, ...] = (),
    unused: tuple[str, ...] = (),
) -> RefitStep:
    lg = fit.league()  # column 0: every treatment against the reference, as NMAResult.effects()
    row = {t: i for i, t in enumerate(fit.treatments)}
    known = {(w.code, w.message) for w in res.warnings}
    new = tuple(
        w for w in fit.warnings if (w.code, w.message) not in known and w.code not in ("disconnected_network", "default_reference")
    )
    ests = []
    for t in res.treatments[1:]:
        if t in row:
            i = row[t]
            lo, hi = float(lg.ci_low[i, 0]), float(lg.ci_high[i, 0])
            ests.append(
                TreatmentEstimate(
                    t, True, float(lg.est[i, 0]), float(lg.se[i, 0]), lo, hi, float(lg.pval[i, 0]), thresholds.describe(lo, hi)
                )
            )
        elif t in absent:
            ests.append(TreatmentEstimate(t, False, reason="no study in this analysis includes it"))
        else:
            ests.append(TreatmentEstimate(t, False, reason=f"not connected to {res.reference} by the studies in this analysis"))
    return RefitStep(
        label=label,
        studies=studies,
        k=fit.k,
        n_treatments=fit.n_treatments,
        tau2=float(fit.tau2),
        i2=float(fit.i2),
        q=float(fit.q),
        q_df=int(fit.q_df),
        q_pval=float(fit.q_pval),
        estimates=tuple(ests),
        absent=absent,
        unconnected=unconnected,
        unused=unused,
        key=key,
        warnings=new,
    )


def _refit(
    res: NMAResult, keep: Iterable[str], label: str, studies: tuple[str, ...], thresholds: Thresholds, key: Any = None
) -> tuple[RefitStep, NMAResult | None]:
    """Refit ``res`` on the studies ``keep`` with the original settings."""
    keep = set(keep)
    data = res.data.subset(studies=[s for s in res.data.studies if s in keep])
    present = set(data.treatments)
    absent = tuple(t for t in res.treatments if t not in present)
    ref = res.reference

    def failed(reason: str, unconnected=(), unused=()) -> tuple[RefitStep, None]:
        ests = tuple(
            TreatmentEstimate(
                t,
                False,
                reason=("no study in this analysis includes it" if t in absent else f"no fit ({reason})"),
            )
            for t in res.treatments[1:]
        )
        step = RefitStep(
            label=label,
            studies=studies,
            k=0,
            n_treatments=0,
            tau2=math.nan,
            i2=math.nan,
            q=math.nan,
            q_df=None,
            q_pval=math.nan,
            estimates=ests,
            absent=tuple(t for t in absent if t != ref),
            unconnected=tuple(unconnected),
            unused=tuple(unused),
            failure=reason,
            key=key,
        )
        return step, None

    if data.n_studies == 0:
        return failed("no study left")
    if ref not in present:
        return failed(f"no study in this analysis includes the reference {ref}")
    comps = data.components()
    ref_comp = next(c for c in comps if ref in c[0])
    unconnected = tuple(t for t in res.treatments if t in present and t not in ref_comp[0])
    unused = tuple(s for s in data.studies if s not in set(ref_comp[1]))
    order = None if res.order is None else tuple(t for t in res.order if t in present)
    try:
        fit = nma(data, order=order, component=[ref] if len(comps) > 1 else None, **_settings(res))
    except NetgradeError as exc:
        return failed(str(exc).splitlines()[0], unconnected, unused)
    step = _step_from_fit(
        res,
        fit,
        label,
        studies,
        thresholds,
        key=key,
        absent=tuple(t for t in absent if t != ref),
        unconnected=unconnected,
        unused=unused,
    )
    return step, fit


def _full_step(res: NMAResult, thresholds: Thresholds, label: str = "all studies") -> RefitStep:
    return _step_from_fit(res, res, label, (), thresholds)


def _grouped_warnings(
    steps: Sequence[RefitStep], what: str, *, warn_missing: bool = True
) -> tuple[AnalysisWarning, ...]:
    """One warning per distinct refit warning (and per kind of lost treatment), naming
    the steps it occurred in."""
    groups: dict[tuple[str, str], list[RefitStep]] = {}
    for s in steps:
        for w in s.warnings:
            groups.setdefault((w.code, w.message), []).append(s)
        if warn_missing:
            if s.failure is not None:
                groups.setdefault(("refit_failed", f"no fit: {s.failure}"), []).append(s)
            else:
                if s.absent:
                    msg = f"no remaining study includes {', '.join(s.absent)}"
                    groups.setdefault(("treatment_removed", msg), []).append(s)
                if s.unconnected:
                    msg = (
                        f"{', '.join(s.unconnected)} no longer connected to the reference"
                        + (f" (studies left out of the fit: {', '.join(s.unused)})" if s.unused else "")
                    )
                    groups.setdefault(("disconnected", msg), []).append(s)
    out = []
    for (code, msg), ss in groups.items():
        labels = ", ".join(s.label for s in ss)
        names = tuple(dict.fromkeys(x for s in ss for x in s.studies))
        out.append(AnalysisWarning(code, f"{what} ({labels}): {msg}", names))
    return tuple(out)


def _reported_settings(result) -> dict:
    """The refit settings every sensitivity result reports (one place for the keys)."""
    return {
        "reference": result.reference,
        "method": result.method,
        "tau2_fixed": result.tau2_fixed,
        "measure": result.measure,
        "level": result.level,
        "scale": _scale_note(result.measure),
        "thresholds": result.thresholds.to_dict(),
    }


def _scale_note(measure: str) -> str:
    try:
        from ..data.effect_sizes import measure_info

        info = measure_info(measure)
    except NetgradeError:
        return "analysis scale"
    return "log scale" if info.scale == "log" else "analysis scale"


def _fmt_ci(e: TreatmentEstimate) -> str:
    if not e.estimable:
        return "not estimable"
    return f"{fmt(e.estimate)} [{fmt(e.ci_low)}, {fmt(e.ci_high)}]"


def _steps_table(steps: Sequence[RefitStep], first: str) -> str:
    frame = pd.DataFrame(
        {
            first: [s.label for s in steps],
            "k": [s.k for s in steps],
            "tau2": [fmt(s.tau2) for s in steps],
            "I2 (%)": [fmt(s.i2, 1) for s in steps],
            "Q": [fmt(s.q, 2) for s in steps],
            "notes": [s.notes() for s in steps],
        }
    )
    return frame.to_string(index=False)


def _mapping(values: Any, what: str) -> dict[str, Any]:
    """A study -> value mapping keyed by study names as strings."""
    if not hasattr(values, "items"):
        raise DataError(f"{what} must map study names to values (a dict or a pandas Series)")
    out: dict[str, Any] = {}
    for k, v in values.items():
        s = str(k)
        if s in out and not _same(out[s], v):
            raise DataError(f"{what}: study {s!r} is given twice with different values ({out[s]!r} and {v!r})")
        out[s] = v
    return out


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or (_is_missing(a) and _is_missing(b))
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == "" or v.strip().upper() in ("NA", "NAN", "NULL")
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _natural_key(name: str) -> tuple:
    """Study names in natural order ("2" before "10"), case ignored first."""
    parts = re.split(r"(\d+)", str(name))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts if p != "") + ((2, 0, str(name)),)


# ---------------------------------------------------------------------------------
# leave one out


@dataclass(frozen=True, eq=False)
class TreatmentRobustness:
    """How one treatment's estimate against the reference moves when single studies are
    omitted.

    ``min_estimate``/``max_estimate`` (and the studies whose omission gives them) span
    the estimates over the omissions that leave the treatment estimable; ``changed_by``
    lists (study, conclusion without it) for every omission that moves the confidence
    interval across a threshold; ``not_estimable_without`` the studies without which
    the treatment cannot be estimated.
    """

    treatment: str
    estimate: float
    ci_low: float
    ci_high: float
    conclusion: str | None
    min_estimate: float
    min_study: str | None
    max_estimate: float
    max_study: str | None
    changed_by: tuple[tuple[str, str | None], ...]
    not_estimable_without: tuple[str, ...]

    @property
    def changes_conclusion(self) -> bool:
        """Some single omission moves the interval across a threshold."""
        return bool(self.changed_by)

    @property
    def robust(self) -> bool:
        """No single omission changes the conclusion or makes the treatment inestimable."""
        return not self.changed_by and not self.not_estimable_without

    def to_dict(self) -> dict:
        return jsonable(
            {
                "treatment": self.treatment,
                "estimate": self.estimate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "conclusion": self.conclusion,
                "min_estimate": self.min_estimate,
                "min_study": self.min_study,
                "max_estimate": self.max_estimate,
                "max_study": self.max_study,
                "changes_conclusion": self.changes_conclusion,
                "changed_by": [{"study": s, "conclusion": c} for s, c in self.changed_by],
                "not_estimable_without": list(self.not_estimable_without),
                "robust": self.robust,
            }
        )


@dataclass(frozen=True, eq=False)
class NetworkLeaveOneOut(ResultMixin):
    """The network refitted without each study in turn.

    ``full`` is the original fit as a step; ``steps[i]`` the fit without
    ``studies[i]``; ``treatments`` the per-treatment :class:`TreatmentRobustness`
    (estimates against ``reference``, analysis scale); ``thresholds`` what the
    intervals are judged against.
    """

    reference: str
    method: str
    measure: str
    level: float
    tau2_fixed: bool
    thresholds: Thresholds
    full: RefitStep
    steps: tuple[RefitStep, ...]
    treatments: tuple[TreatmentRobustness, ...]
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def studies(self) -> tuple[str, ...]:
        return tuple(s.studies[0] for s in self.steps)

    @property
    def changes_conclusion(self) -> bool:
        """Some single omission changes the conclusion about some treatment."""
        return any(t.changes_conclusion for t in self.treatments)

    @property
    def influential_studies(self) -> tuple[str, ...]:
        """Studies whose omission changes a conclusion or makes a treatment inestimable
        (in the order of the data)."""
        hit = {s for t in self.treatments for s, _ in t.changed_by} | {
            s for t in self.treatments for s in t.not_estimable_without
        }
        return tuple(s for s in self.studies if s in hit)

    @property
    def disconnecting_studies(self) -> tuple[str, ...]:
        """Studies whose omission removes a treatment, disconnects one from the
        reference or prevents any fit."""
        return tuple(s.studies[0] for s in self.steps if not s.complete)

    def step(self, study: str) -> RefitStep:
        for s in self.steps:
            if s.studies[0] == study:
                return s
        raise ModelError(f"study {study!r} is not in the network")

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for s in self.steps:
            for r in s.rows():
                rows.append({"omitted": s.studies[0], **r})
        cols = ["omitted", "treatment", "estimable", "estimate", "se", "ci_low", "ci_high", "pval", "conclusion", "k", "tau2", "i2", "q", "reason"]
        return pd.DataFrame(rows, columns=cols)

    def treatment_frame(self) -> pd.DataFrame:
        """One row per treatment: the full estimate, the range over omissions, and the
        omissions that change the conclusion."""
        return pd.DataFrame(
            [
                {
                    "treatment": t.treatment,
                    "estimate": t.estimate,
                    "ci_low": t.ci_low,
                    "ci_high": t.ci_high,
                    "conclusion": t.conclusion,
                    "min_estimate": t.min_estimate,
                    "min_study": t.min_study,
                    "max_estimate": t.max_estimate,
                    "max_study": t.max_study,
                    "changes_conclusion": t.changes_conclusion,
                    "changed_by": ", ".join(s for s, _ in t.changed_by),
                    "not_estimable_without": ", ".join(t.not_estimable_without),
                }
                for t in self.treatments
            ]
        )

    def summary(self) -> str:
        pct = int(round(self.level * 100))
        thr = ", ".join(n for n, _ in self.thresholds.values) or "none"
        lines = [
            f"Leave-one-out network meta-analysis ({self.measure}, {_scale_note(self.measure)}; reference: {self.reference}; "
            f"{_method_text_from(self.method, self.tau2_fixed)}; {pct}% CI)",
            f"{len(self.steps)} refits, each without one study; thresholds: {thr}",
            "",
            "Each refit:",
            _steps_table([self.full] + list(self.steps), "omitted"),
            "",
            f"Each treatment against {self.reference}:",
        ]
        frame = pd.DataFrame(
            {
                "treatment": [t.treatment for t in self.treatments],
                "all studies": [_fmt_ci(self.full.estimate_of(t.treatment)) for t in self.treatments],
                "lowest (without)": [
                    f"{fmt(t.min_estimate)} ({t.min_study})" if t.min_study is not None else "NA" for t in self.treatments
                ],
                "highest (without)": [
                    f"{fmt(t.max_estimate)} ({t.max_study})" if t.max_study is not None else "NA" for t in self.treatments
                ],
                "conclusion": [t.conclusion or "" for t in self.treatments],
            }
        )
        lines.append(frame.to_string(index=False))
        lines.append("")
        changed = [t for t in self.treatments if not t.robust]
        if not self.thresholds.values:
            lines.append("No thresholds given: conclusions not judged.")
        elif not changed:
            lines.append("No single omitted study changes the conclusion about any treatment.")
        for t in changed:
            for s, c in t.changed_by:
                lines.append(f"{t.treatment}: without {s}, {c} (all studies: {t.conclusion})")
            for s in t.not_estimable_without:
                lines.append(f"{t.treatment}: not estimable without {s}")
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "analysis": "leave_one_out",
                **_reported_settings(self),
                "full": self.full.to_dict(),
                "steps": [s.to_dict() for s in self.steps],
                "treatments": [t.to_dict() for t in self.treatments],
                "changes_conclusion": self.changes_conclusion,
                "influential_studies": list(self.influential_studies),
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )


def _method_text_from(method: str, tau2_fixed: bool) -> str:
    if method == "FE":
        return "common effect"
    return f"random effects, tau² {'fixed' if tau2_fixed else 'by ' + method}"


def leave_one_out(
    res: NMAResult,
    *,
    mid: float | None = None,
    null: float | None = 0.0,
    studies: Iterable[str] | None = None,
) -> NetworkLeaveOneOut:
    """Refit the network without each study in turn ("does any single trial change
    the conclusion?").

    Every refit uses the settings of ``res`` (reference, tau² estimator or fixed tau²,
    level, direction, treatment order, multi-arm handling) and equals
    ``nma(res.data.subset(studies=<the others>), ...)`` with them.  An omission that
    removes a treatment (its only study) or disconnects treatments from the reference
    is reported on its step (``absent``, ``unconnected``) and in the warnings; the
    other treatments are still estimated, in the reference's sub-network.

    Per treatment the result gives the range of its estimates over the omissions and
    the omissions that move its confidence interval across a threshold: the line of no
    effect ``null`` (analysis scale, default 0; None to ignore it) and, if ``mid`` (a
    minimal important difference on the analysis scale, e.g. log(1.25) for an odds
    ratio) is given, null - mid and null + mid.  A conclusion "changes" when the set of
    thresholds the interval lies below, includes or lies above changes.

    ``studies`` restricts the omissions to some studies (e.g. the contested trials;
    default: every study, in the order of the data).
    """
    res = _check_result(res, "leave-one-out analysis")
    thresholds = Thresholds(null, mid)
    all_studies = res.data.studies
    if len(all_studies) < 2:
        raise ModelError(f"leave-one-out analysis needs at least 2 studies; the network has {len(all_studies)}")
    if studies is None:
        omit = list(all_studies)
    else:
        if isinstance(studies, str):
            studies = [studies]
        wanted = list(dict.fromkeys(str(s) for s in studies))
        unknown = [s for s in wanted if s not in set(all_studies)]
        if unknown:
            raise DataError("leave_one_out: not studies of the network: " + ", ".join(repr(u) for u in unknown))
        omit = [s for s in all_studies if s in set(wanted)]
    full = _full_step(res, thresholds)
    steps = []
    for s in omit:
        step, _ = _refit(res, (x for x in all_studies if x != s), f"without {s}", (s,), thresholds)
        steps.append(step)
    robust = []
    for i, t in enumerate(res.treatments[1:]):
        f = full.estimates[i]
        pos = thresholds.position(f.ci_low, f.ci_high)
        ok = [(s.studies[0], s.estimates[i]) for s in steps if s.estimates[i].estimable]
        lo = min(ok, key=lambda x: x[1].estimate) if ok else None
        hi = max(ok, key=lambda x: x[1].estimate) if ok else None
        changed = tuple(
            (s, e.conclusion) for s, e in ok if pos is not None and thresholds.position(e.ci_low, e.ci_high) != pos
        )
        robust.append(
            TreatmentRobustness(
                treatment=t,
                estimate=f.estimate,
                ci_low=f.ci_low,
                ci_high=f.ci_high,
                conclusion=f.conclusion,
                min_estimate=lo[1].estimate if lo else math.nan,
                min_study=lo[0] if lo else None,
                max_estimate=hi[1].estimate if hi else math.nan,
                max_study=hi[0] if hi else None,
                changed_by=changed,
                not_estimable_without=tuple(s.studies[0] for s in steps if not s.estimates[i].estimable),
            )
        )
    return NetworkLeaveOneOut(
        reference=res.reference,
        method=res.method,
        measure=res.measure,
        level=res.level,
        tau2_fixed=res.tau2_fixed,
        thresholds=thresholds,
        full=full,
        steps=tuple(steps),
        treatments=tuple(robust),
        warnings=_grouped_warnings(steps, "leave-one-out"),
    )


# ---------------------------------------------------------------------------------
# exclusions


@dataclass(frozen=True, eq=False)
class NetworkExclusion(ResultMixin):
    """The network without some studies, compared with the original fit.

    ``original`` and ``refit`` hold every treatment against the reference (analysis
    scale); ``excluded`` the studies left out with the reason; ``kept_unassessed``
    the studies kept although the criterion could not be assessed for them
    (``missing="keep"``); ``fit`` the refitted network itself (None if no fit was
    possible; ``refit.failure`` says why).
    """

    criterion: str
    reference: str
    method: str
    measure: str
    level: float
    tau2_fixed: bool
    thresholds: Thresholds
    original: RefitStep
    refit: RefitStep
    excluded: tuple[ExcludedStudy, ...]
    kept_unassessed: tuple[str, ...] = ()
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    fit: NMAResult | None = field(default=None, repr=False, compare=False)

    @property
    def excluded_studies(self) -> tuple[str, ...]:
        return tuple(e.study for e in self.excluded)

    @property
    def changed_conclusions(self) -> tuple[str, ...]:
        """Treatments whose interval moves across a threshold (or that become
        inestimable) when the studies are excluded."""
        out = []
        for a, b in zip(self.original.estimates, self.refit.estimates):
            if not b.estimable or (
                self.thresholds.position(a.ci_low, a.ci_high) != self.thresholds.position(b.ci_low, b.ci_high)
            ):
                out.append(a.treatment)
        return tuple(out)

    def comparison(self) -> pd.DataFrame:
        """Original and refitted estimates side by side, with their difference
        (refit minus original) and the change in standard error."""
        rows = []
        for a, b in zip(self.original.estimates, self.refit.estimates):
            rows.append(
                {
                    "treatment": a.treatment,
                    "estimate_original": a.estimate,
                    "ci_low_original": a.ci_low,
                    "ci_high_original": a.ci_high,
                    "estimate_refit": b.estimate,
                    "ci_low_refit": b.ci_low,
                    "ci_high_refit": b.ci_high,
                    "difference": b.estimate - a.estimate,
                    "se_ratio": b.se / a.se if a.se > 0 else math.nan,
                    "conclusion_original": a.conclusion,
                    "conclusion_refit": b.conclusion,
                    "conclusion_changed": a.treatment in self.changed_conclusions,
                    "estimable": b.estimable,
                    "reason": b.reason,
                }
            )
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for name, s in (("original", self.original), ("refit", self.refit)):
            for r in s.rows():
                rows.append({"analysis": name, **r})
        cols = ["analysis", "treatment", "estimable", "estimate", "se", "ci_low", "ci_high", "pval", "conclusion", "k", "tau2", "i2", "q", "reason"]
        return pd.DataFrame(rows, columns=cols)

    def summary(self) -> str:
        pct = int(round(self.level * 100))
        thr = ", ".join(n for n, _ in self.thresholds.values) or "none"
        lines = [
            f"Sensitivity analysis without {self.criterion} ({self.measure}, {_scale_note(self.measure)}; "
            f"reference: {self.reference}; {_method_text_from(self.method, self.tau2_fixed)}; {pct}% CI)",
            f"{len(self.excluded)} stud{'y' if len(self.excluded) == 1 else 'ies'} excluded; thresholds: {thr}",
        ]
        lines += [f"  - {e}" for e in self.excluded]
        if self.kept_unassessed:
            lines.append("kept although not assessed: " + ", ".join(self.kept_unassessed))
        lines += ["", _steps_table([self.original, self.refit], "analysis"), ""]
        if self.refit.failure is not None:
            lines.append(f"The network cannot be refitted without these studies: {self.refit.failure}")
        else:
            frame = pd.DataFrame(
                {
                    "treatment": [a.treatment for a in self.original.estimates],
                    "original": [_fmt_ci(a) for a in self.original.estimates],
                    "refit": [_fmt_ci(b) for b in self.refit.estimates],
                    "difference": [fmt(b.estimate - a.estimate) for a, b in zip(self.original.estimates, self.refit.estimates)],
                    "conclusion (refit)": [b.conclusion or "" for b in self.refit.estimates],
                }
            )
            lines += [f"Each treatment against {self.reference}:", frame.to_string(index=False)]
            if self.thresholds.values:
                ch = self.changed_conclusions
                lines += ["", ("Conclusion changed for: " + ", ".join(ch)) if ch else "No conclusion changes."]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "analysis": "exclusion",
                "criterion": self.criterion,
                **_reported_settings(self),
                "excluded": [e.to_dict() for e in self.excluded],
                "kept_unassessed": list(self.kept_unassessed),
                "original": self.original.to_dict(),
                "refit": self.refit.to_dict(),
                "comparison": self.comparison().to_dict(orient="records"),
                "changed_conclusions": list(self.changed_conclusions),
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )


def _exclusion(
    res: NMAResult,
    excluded: Sequence[ExcludedStudy],
    criterion: str,
    thresholds: Thresholds,
    kept_unassessed: Sequence[str] = (),
    extra_warnings: Sequence[AnalysisWarning] = (),
) -> NetworkExclusion:
    drop = {e.study for e in excluded}
    names = tuple(e.study for e in excluded)
    step, fit = _refit(res, (s for s in res.data.studies if s not in drop), f"without {criterion}", names, thresholds)
    warnings = list(extra_warnings)
    if not excluded:
        warnings.append(AnalysisWarning("nothing_excluded", f"no study to exclude ({criterion}): the refit is the original network"))
    if kept_unassessed:
        warnings.append(
            AnalysisWarning(
                "criterion_not_assessed",
                f"kept without the information needed to judge them ({criterion}): {', '.join(kept_unassessed)}",
                tuple(kept_unassessed),
            )
        )
    warnings += _grouped_warnings([step], "sensitivity analysis")
    return NetworkExclusion(
        criterion=criterion,
        reference=res.reference,
        method=res.method,
        measure=res.measure,
        level=res.level,
        tau2_fixed=res.tau2_fixed,
        thresholds=thresholds,
        original=_full_step(res, thresholds, "original"),
        refit=step,
        excluded=tuple(excluded),
        kept_unassessed=tuple(kept_unassessed),
        warnings=tuple(warnings),
        fit=fit,
    )


def _unknown_studies(res: NMAResult, names: Iterable[str], what: str) -> tuple[list[str], list[AnalysisWarning]]:
    """Split requested names into the network's studies; names excluded when the network
    was built give a warning, names unknown altogether an error."""
    known = set(res.data.studies)
    built = {e.study: e.reason for e in res.data.excluded}
    keep, warn, unknown = [], [], []
    for n in names:
        if n in known:
            keep.append(n)
        elif n in built:
            warn.append(
                AnalysisWarning("already_excluded", f"{what}: study {n!r} was already excluded from the network ({built[n]})", (n,))
            )
        else:
            unknown.append(n)
    if unknown:
        raise DataError(
            f"{what}: not studies of the network: {', '.join(repr(u) for u in unknown)} "
            f"(the network's studies: {', '.join(res.data.studies[:20])}{', ...' if len(res.data.studies) > 20 else ''})"
        )
    return keep, warn


def exclude_studies(
    res: NMAResult,
    studies: Iterable[str],
    reason: str | Mapping[str, str],
    *,
    criterion: str | None = None,
    mid: float | None = None,
    null: float | None = 0.0,
) -> NetworkExclusion:
    """Refit the network without ``studies`` and compare it with the original.

    ``reason`` is recorded for every excluded study (one text for all, or a mapping
    study -> reason); ``criterion`` names what is left out, for titles ("the network
    without <criterion>"; default: "<n> selected studies (<reason>)").  Names
    that are not studies of the network are an error; studies excluded already when
    the network was built are noted in the warnings.  ``null``/``mid`` are the
    thresholds (analysis scale) against which :attr:`NetworkExclusion.changed_conclusions`
    judges the intervals, as in :func:`leave_one_out`.
    """
    res = _check_result(res, "an exclusion sensitivity analysis")
    if isinstance(studies, str):
        studies = [studies]
    names = list(dict.fromkeys(str(s) for s in studies))
    keep, warns = _unknown_studies(res, names, "exclude_studies")
    if isinstance(reason, str):
        reasons = {s: reason for s in keep}
        crit = criterion or f"{len(keep)} selected stud{'y' if len(keep) == 1 else 'ies'} ({reason})"
    else:
        rmap = _mapping(reason, "reason")
        missing = [s for s in keep if _is_missing(rmap.get(s))]
        if missing:
            raise DataError(f"exclude_studies: no reason given for {', '.join(repr(s) for s in missing)}")
        reasons = {s: str(rmap[s]) for s in keep}
        crit = criterion or f"{len(keep)} selected stud{'y' if len(keep) == 1 else 'ies'}"
    order = {s: i for i, s in enumerate(res.data.studies)}
    excluded = [ExcludedStudy(s, reasons[s]) for s in sorted(keep, key=order.get)]
    return _exclusion(res, excluded, crit, Thresholds(null, mid), extra_warnings=warns)


def _split_missing(res: NMAResult, values: dict[str, Any], what: str, missing: str) -> tuple[list[str], list[str]]:
    if missing not in MISSING_POLICIES:
        raise ModelError(f"missing must be one of {', '.join(MISSING_POLICIES)}, not {missing!r}")
    absent = [s for s in res.data.studies if _is_missing(values.get(s))]
    if absent and missing == "error":
        raise DataError(
            f"no {what} for {len(absent)} stud{'y' if len(absent) == 1 else 'ies'} of the network: "
            + ", ".join(repr(s) for s in absent)
            + " (give them, or pass missing='keep' or missing='exclude')"
        )
    return [s for s in res.data.studies if s not in set(absent)], absent


def _norm_level(v: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[_\-]", " ", str(v).strip().lower()))


def exclude_high_risk_of_bias(
    res: NMAResult,
    rob: Mapping[str, Any],
    levels: Sequence[str] = ("high",),
    *,
    missing: str = "error",
    mid: float | None = None,
    null: float | None = 0.0,
) -> NetworkExclusion:
    """Refit the network without the studies whose risk of bias is one of ``levels``
    (judgements compared ignoring case, "_" and "-": "Some_concerns" matches "some
    concerns").

    Every study of the network needs a judgement in ``rob``: a study without one is an
    error naming it, unless ``missing="keep"`` (kept, and listed) or
    ``missing="exclude"`` (excluded for want of a judgement).
    """
    res = _check_result(res, "an exclusion sensitivity analysis")
    if isinstance(levels, str):
        levels = (levels,)
    wanted = {_norm_level(x) for x in levels}
    if not wanted:
        raise ModelError("levels must name at least one risk-of-bias level (e.g. 'high')")
    values = _mapping(rob, "rob")
    judged, absent = _split_missing(res, values, "risk-of-bias judgement", missing)
    excluded = [ExcludedStudy(s, f"risk of bias: {values[s]}") for s in judged if _norm_level(values[s]) in wanted]
    kept = []
    if missing == "exclude":
        excluded += [ExcludedStudy(s, "no risk-of-bias judgement") for s in absent]
    elif missing == "keep":
        kept = absent
    order = {s: i for i, s in enumerate(res.data.studies)}
    excluded.sort(key=lambda e: order[e.study])
    crit = f"studies at {' or '.join(sorted(wanted))} risk of bias"
    return _exclusion(res, excluded, crit, Thresholds(null, mid), kept_unassessed=kept)


def _number(v: Any, study: str, what: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise DataError(f"{what} of study {study!r} is {v!r}, not a number") from None
    if not math.isfinite(x):
        raise DataError(f"{what} of study {study!r} is {v!r}, not a finite number")
    return x


def _fmt_year(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def exclude_before_year(
    res: NMAResult,
    years: Mapping[str, Any],
    year: float,
    *,
    missing: str = "error",
    mid: float | None = None,
    null: float | None = 0.0,
) -> NetworkExclusion:
    """Refit the network without the studies from before ``year`` (``years[study] <
    year``; e.g. to leave out obsolete techniques).

    Every study of the network needs a year: a study without one is an error naming
    it, unless ``missing="keep"`` or ``missing="exclude"``.
    """
    res = _check_result(res, "an exclusion sensitivity analysis")
    cut = _number(year, "(cut-off)", "year")
    values = _mapping(years, "years")
    dated, absent = _split_missing(res, values, "year", missing)
    excluded = []
    for s in dated:
        y = _number(values[s], s, "the year")
        if y < cut:
            excluded.append(ExcludedStudy(s, f"year {_fmt_year(y)}, before {_fmt_year(cut)}"))
    kept = []
    if missing == "exclude":
        excluded += [ExcludedStudy(s, "no year") for s in absent]
    elif missing == "keep":
        kept = absent
    order = {s: i for i, s in enumerate(res.data.studies)}
    excluded.sort(key=lambda e: order[e.study])
    return _exclusion(res, excluded, f"studies from before {_fmt_year(cut)}", Thresholds(null, mid), kept_unassessed=kept)


# ---------------------------------------------------------------------------------
# cumulative


@dataclass(frozen=True, eq=False)
class NetworkCumulative(ResultMixin):
    """The network fitted as its studies accumulate in a given order.

    ``steps[i]`` adds ``steps[i].studies`` (those sharing the ordering value
    ``steps[i].key``) to the studies of the earlier steps.  ``excluded`` lists the
    studies left out for want of an ordering value (``missing="exclude"``).
    """

    reference: str
    method: str
    measure: str
    level: float
    tau2_fixed: bool
    thresholds: Thresholds
    order_by: str
    steps: tuple[RefitStep, ...]
    excluded: tuple[ExcludedStudy, ...] = ()
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def final(self) -> RefitStep:
        return self.steps[-1]

    def first_estimable(self) -> dict[str, Any]:
        """For each treatment, the ordering value of the first step that estimates it
        (None if none does)."""
        out: dict[str, Any] = {}
        for e in self.steps[0].estimates if self.steps else ():
            out[e.treatment] = None
        for s in self.steps:
            for e in s.estimates:
                if e.estimable and out.get(e.treatment) is None:
                    out[e.treatment] = s.key
        return out

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for i, s in enumerate(self.steps, start=1):
            for r in s.rows():
                rows.append({"step": i, "key": s.key, "added": ", ".join(s.studies), **r})
        cols = ["step", "key", "added", "treatment", "estimable", "estimate", "se", "ci_low", "ci_high", "pval", "conclusion", "k", "tau2", "i2", "q", "reason"]
        return pd.DataFrame(rows, columns=cols)

    def summary(self) -> str:
        pct = int(round(self.level * 100))
        lines = [
            f"Cumulative network meta-analysis by {self.order_by} ({self.measure}, {_scale_note(self.measure)}; "
            f"reference: {self.reference}; {_method_text_from(self.method, self.tau2_fixed)}; {pct}% CI)",
            f"{len(self.steps)} steps; studies sharing a value are added together",
            "",
        ]
        frame = pd.DataFrame(
            {
                "step": list(range(1, len(self.steps) + 1)),
                self.order_by: [str(s.key) for s in self.steps],
                "added": [", ".join(s.studies) for s in self.steps],
                "k": [s.k for s in self.steps],
                "estimable": [f"{len(s.estimable)}/{len(s.estimates)}" for s in self.steps],
                "tau2": [fmt(s.tau2) for s in self.steps],
                "I2 (%)": [fmt(s.i2, 1) for s in self.steps],
            }
        )
        lines += [frame.to_string(index=False), "", f"Each treatment against {self.reference}, step by step:"]
        for i, s in enumerate(self.steps, start=1):
            lines.append(f"step {i} ({self.order_by} {s.key}):")
            if s.failure is not None:
                lines.append(f"  no fit: {s.failure}")
                continue
            for e in s.estimates:
                if e.estimable:
                    lines.append(f"  {e.treatment}: {_fmt_ci(e)}" + (f"  {e.conclusion}" if e.conclusion else ""))
            rest = [e.treatment for e in s.estimates if not e.estimable]
            if rest:
                lines.append("  not estimable yet: " + ", ".join(rest))
        if self.excluded:
            lines += ["", "Excluded:"] + [f"  - {e}" for e in self.excluded]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "analysis": "cumulative",
                "order_by": self.order_by,
                **_reported_settings(self),
                "steps": [s.to_dict() for s in self.steps],
                "excluded": [e.to_dict() for e in self.excluded],
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )


def cumulative(
    res: NMAResult,
    order: Mapping[str, Any],
    *,
    order_by: str = "order",
    missing: str = "error",
    mid: float | None = None,
    null: float | None = 0.0,
) -> NetworkCumulative:
    """Fit the network cumulatively, adding studies in the order of ``order[study]``
    (e.g. the year of publication; ``order_by`` names it in tables).

    Studies with equal values are added together in one step; steps follow ascending
    values and the studies of a step are listed in natural order of their names (so
    the result does not depend on the order of the input).  At each step the network
    of the studies so far is fitted with the settings of ``res``; the reference must
    be among them for anything to be estimated, and treatments not yet studied or not
    yet connected to the reference are reported as not estimable rather than as
    errors.  The last step (all studies) equals ``res``.

    Every study needs a value: one without is an error naming it, unless
    ``missing="last"`` (added in a final step) or ``missing="exclude"`` (left out,
    and listed).
    """
    res = _check_result(res, "a cumulative analysis")
    if missing not in CUMULATIVE_MISSING:
        raise ModelError(f"missing must be one of {', '.join(CUMULATIVE_MISSING)}, not {missing!r}")
    thresholds = Thresholds(null, mid)
    values = _mapping(order, "order")
    studies = res.data.studies
    absent = [s for s in studies if _is_missing(values.get(s))]
    if absent and missing == "error":
        raise DataError(
            f"no {order_by} value for {len(absent)} stud{'y' if len(absent) == 1 else 'ies'} of the network: "
            + ", ".join(repr(s) for s in absent)
            + " (give them, or pass missing='last' or missing='exclude')"
        )
    present = [s for s in studies if s not in set(absent)]
    try:
        keys = sorted({values[s] for s in present})
    except TypeError as exc:
        raise DataError(f"the {order_by} values cannot be ordered ({exc}); give values of one type (e.g. years)") from None
    groups: list[tuple[Any, list[str]]] = [(k, [s for s in present if values[s] == k]) for k in keys]
    if absent and missing == "last":
        groups.append((None, list(absent)))
    excluded = tuple(ExcludedStudy(s, f"no {order_by} value") for s in absent) if missing == "exclude" else ()
    steps = []
    so_far: list[str] = []
    for k, members in groups:
        members = sorted(members, key=_natural_key)
        so_far += members
        label = f"{order_by} {'(none)' if k is None else k}"
        step, _ = _refit(res, so_far, label, tuple(members), thresholds, key=k)
        steps.append(step)
    warnings = list(_grouped_warnings(steps, "cumulative analysis", warn_missing=False))
    if excluded:
        warnings.append(
            AnalysisWarning(
                "excluded_studies",
                f"left out of the cumulative analysis for want of a {order_by} value: " + ", ".join(e.study for e in excluded),
                tuple(e.study for e in excluded),
            )
        )
    return NetworkCumulative(
        reference=res.reference,
        method=res.method,
        measure=res.measure,
        level=res.level,
        tau2_fixed=res.tau2_fixed,
        thresholds=thresholds,
        order_by=order_by,
        steps=tuple(steps),
        excluded=excluded,
        warnings=tuple(warnings),
    )
