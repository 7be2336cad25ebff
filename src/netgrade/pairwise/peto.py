"""Peto's one-step odds ratio for 2x2 tables, reproducing metafor's ``rma.peto``.

For each table the observed events in group 1 (O = a) are compared with their
expectation under no effect, E = (a + c) n1 / N, with hypergeometric variance
V = (a + c)(b + d) n1 n2 / (N² (N - 1)).  The pooled log odds ratio is
Σ(O - E) / ΣV with standard error 1/sqrt(ΣV) (Yusuf, Peto, Lewis, Collins & Sleight
1985, Prog Cardiovasc Dis 27:335).

Heterogeneity is Peto's statistic Q = Σ (O - E)²/V - (Σ(O - E))²/ΣV over the tables with
V > 0 (Yusuf et al. 1985), on ``k_yi - 1`` df, where ``k_yi`` counts the studies with a
defined study-level Peto log odds ratio (from :func:`escalc` with ``add[0]``, ``to[0]``,
``drop00[0]``): this is how metafor computes it, and with its default ``drop00=True``
double-zero studies are not counted.  ``k_pos`` is the number of tables with V > 0.
I² = max(0, (Q - df)/Q), H² = Q/df (Higgins & Thompson 2002, Stat Med 21:1539).
When ``k_pos`` <= 1, Q has no information: metafor then reports Q's p-value as 1,
I² = 0 and H² = 1, and so do we.

``add``, ``to`` and ``drop00`` follow metafor's pair convention (first element for the
study-level effects, second for the pooling step; a single value ``x`` means
``(x, 0)``, ``(x, "none")``, ``(x, False)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, note_lines, pooled_row, fmt, fmt_p
from ..data.effect_sizes import ContinuityCorrection, EffectSizes, back_transform
from ..errors import AnalysisWarning, ExcludedStudy, ModelError
from .mantel_haenszel import _effect_warnings, _level, _options, _prepare, _wald

__all__ = ["PetoResult", "peto"]


@dataclass(frozen=True, eq=False)
class PetoResult(ResultMixin):
    """Peto common-effect meta-analysis (log odds ratio scale)."""

    k: int
    k_yi: int
    k_pos: int
    level: float
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float
    q: float
    q_df: int
    q_pval: float
    i2: float
    h2: float
    studies: tuple[str, ...]
    effects: EffectSizes
    add: tuple[float, float]
    to: tuple[str, str]
    drop00: tuple[bool, bool]
    corrections: tuple[ContinuityCorrection, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    measure: str = "PETO"
    method: str = "Peto"
    tau2: float = 0.0

    @property
    def estimate_display(self) -> float:
        return back_transform("PETO", self.estimate)

    @property
    def ci_low_display(self) -> float:
        return back_transform("PETO", self.ci_low)

    @property
    def ci_high_display(self) -> float:
        return back_transform("PETO", self.ci_high)

    def to_metafor(self) -> dict:
        """The values under the names metafor's ``rma.peto`` object uses."""
        return {
            "method": "FE",
            "measure": "PETO",
            "k": self.k,
            "level": self.level,
            "estimate": self.estimate,
            "se": self.se,
            "zval": self.stat,
            "pval": self.pval,
            "ci_lb": self.ci_low,
            "ci_ub": self.ci_high,
            "QE": self.q,
            "QEp": self.q_pval,
            "I2": self.i2,
            "H2": self.h2,
            "tau2": self.tau2,
            "k_pos": self.k_pos,
        }

    def to_frame(self) -> pd.DataFrame:
        row = pooled_row(self, "Peto", "PETO")
        row["k_pos"] = self.k_pos
        return pd.DataFrame([row])

    def summary(self) -> str:
        pct = f"{100 * self.level:g}%"
        lines = [
            f"Peto common-effect model (log odds ratio), k = {self.k} ({self.k_pos} informative)",
            "",
            f"estimate {fmt(self.estimate)}  se {fmt(self.se)}  z {fmt(self.stat, 2)}  p {fmt_p(self.pval)}  "
            f"{pct} CI [{fmt(self.ci_low)}, {fmt(self.ci_high)}]",
            f"odds ratio (Peto): {fmt(self.estimate_display)}  {pct} CI "
            f"[{fmt(self.ci_low_display)}, {fmt(self.ci_high_display)}]",
            f"heterogeneity: Q({self.q_df}) = {fmt(self.q, 2)}, p {fmt_p(self.q_pval)}; "
            f"I² = {fmt(self.i2, 1)}%, H² = {fmt(self.h2, 2)}",
        ]
        lines += note_lines(self)
        return "\n".join(lines)


def peto(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    level: float = 0.95,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    studies: Sequence[Any] | None = None,
) -> PetoResult:
    """Peto's pooled log odds ratio with metafor's defaults (see the module docstring)."""
    level = _level(level)
    adds, tos, drops = _options(add, to, drop00)
    t = _prepare("PETO", ai, bi, ci, di, n1i, n2i, studies, adds, tos, drops)
    k = len(t.a)
    if k == 0:
        raise ModelError("no 2x2 table left to pool (all studies excluded)")
    a, b, c, d = t.a, t.b, t.c, t.d
    n1, n2 = a + b, c + d
    n = n1 + n2
    events, nonevents = a + c, b + d
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = events * n1 / n
        var = events * nonevents * (n1 / n) * (n2 / n) / (n - 1)
    var = np.where(np.isfinite(var), var, 0.0)
    sum_v = float(var.sum())
    if sum_v == 0:
        raise ModelError(
            "Peto's method cannot be used: one of the two outcomes never occurred in any table "
            "(every hypergeometric variance is zero)"
        )
    dev = a - expected
    beta = float(dev.sum()) / sum_v
    se = 1.0 / math.sqrt(sum_v)
    stat, pval, ci_low, ci_high = _wald(beta, se, level)

    pos = var > 0
    k_pos = int(pos.sum())
    q = max(0.0, float((dev[pos] ** 2 / var[pos]).sum()) - float(dev.sum()) ** 2 / sum_v)
    k_yi = t.study_effects.k
    q_df = k_yi - 1
    if k_pos > 1 and q_df > 0:
        q_pval = float(stats.chi2.sf(q, q_df))
        i2 = max(0.0, 100.0 * (q - q_df) / q) if q > 0 else 0.0
        h2 = q / q_df
    else:
        q_pval, i2, h2 = 1.0, 0.0, 1.0

    warnings = _effect_warnings(t, "Peto")
    uninformative = [s for s, p in zip(t.studies, pos) if not p]
    if uninformative:
        warnings.append(
            AnalysisWarning(
                "uninformative_tables",
                f"{len(uninformative)} table(s) with no events or only events carry no information for Peto's "
                f"method (zero variance): {', '.join(uninformative)}",
                tuple(uninformative),
            )
        )
    if t.corrections:
        names = tuple(cc.study for cc in t.corrections)
        warnings.append(
            AnalysisWarning(
                "continuity_correction",
                f"{adds[1]:g} added to each cell of {len(names)} table(s) before pooling (to={tos[1]!r}): "
                + ", ".join(names),
                names,
            )
        )
    return PetoResult(
        k=k,
        k_yi=k_yi,
        k_pos=k_pos,
        level=level,
        estimate=beta,
        se=se,
        stat=stat,
        pval=pval,
        ci_low=ci_low,
        ci_high=ci_high,
        q=q,
        q_df=q_df,
        q_pval=q_pval,
        i2=i2,
        h2=h2,
        studies=t.studies,
        effects=t.study_effects,
        add=adds,
        to=tos,
        drop00=drops,
        corrections=t.corrections,
        excluded=t.excluded,
        warnings=tuple(warnings),
    )
