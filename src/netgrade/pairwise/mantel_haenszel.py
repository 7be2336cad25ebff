"""Mantel-Haenszel pooling of 2x2 tables (common-effect), reproducing metafor's ``rma.mh``.

Estimates
---------
OR  Mantel & Haenszel (1959, J Natl Cancer Inst 22:719): OR_MH = Σ(a d / N) / Σ(b c / N);
    variance of log OR_MH by Robins, Breslow & Greenland (1986, Biometrics 42:311).
RR  RR_MH = Σ(a n2 / N) / Σ(c n1 / N); variance of log RR_MH by Greenland & Robins
    (1985, Biometrics 41:55).
RD  RD_MH = Σ(a n2 - c n1)/N / Σ(n1 n2 / N); variance by Sato, Greenland & Robins
    (1989, Biometrics 45:1323), which is consistent in both sparse and large strata
    (metafor uses this one, not the Greenland-Robins 1985 estimator).

Tests (OR only)
---------------
``co``      Cochran's (1954, Biometrics 10:417) test of a common OR of 1 (hypergeometric
            variances with N in the denominator),
``cmh``     the Mantel-Haenszel (1959) test (denominators N - 1); both with the
            continuity correction |Σ(O - E)| - 1/2 when ``correct=True``,
``bd``      Breslow & Day's (1980, Statistical Methods in Cancer Research I, IARC Sci
            Publ 32, eq. 4.30) test of homogeneity of the ORs about OR_MH,
``tarone``  Tarone's (1985, Biometrika 72:91) correction of the Breslow-Day statistic;
            both on ``k_pos - 1`` df, where ``k_pos`` counts the tables with events and
            non-events and a positive expected count under OR_MH.

Heterogeneity ``q`` is Cochran's Q computed as metafor does: inverse-variance weighted
squared deviations of the study-level effects (from :func:`escalc`, with *its*
continuity correction ``add[0]``/``to[0]``/``drop00[0]``) around the MH estimate, on
``k_yi - 1`` df where ``k_yi`` counts the studies with a defined effect;
I² = max(0, (Q - df)/Q) and H² = Q/df (Higgins & Thompson 2002, Stat Med 21:1539).

Continuity corrections
----------------------
As in metafor, ``add``, ``to`` and ``drop00`` may be pairs: the first element is used for
the study-level effects (and so for Q), the second for the Mantel-Haenszel computation
itself.  A single value ``x`` means ``(x, 0)``, ``(x, "none")`` and ``(x, False)``: the
pooled estimate uses the observed counts, which is what the method needs (metafor's
defaults: ``add=1/2, to="only0", drop00=TRUE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, note_lines, pooled_row, fmt, fmt_p
from ..data.effect_sizes import (
    ContinuityCorrection,
    EffectSizes,
    TwoByTwo,
    back_transform,
    escalc,
    measure_info,
    two_by_two,
)
from ..errors import AnalysisWarning, ExcludedStudy, ModelError

__all__ = ["MantelHaenszelResult", "mantel_haenszel"]

_TO_OPTIONS = ("only0", "all", "if0all", "none")


def _pair(value: Any, second: Any, name: str) -> tuple[Any, Any]:
    """metafor's convention: a scalar is (value, default for the pooling step)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ModelError(f"{name} must be one value or a pair (study-level effects, pooling)")
        return value[0], value[1]
    return value, second


def _options(add: Any, to: Any, drop00: Any, *, second_drop: bool = False) -> tuple[tuple, tuple, tuple]:
    adds = _pair(add, 0.0, "add")
    tos = _pair(to, "none", "to")
    drops = _pair(drop00, second_drop, "drop00")
    adds = tuple(float(a) for a in adds)
    for a in adds:
        if not math.isfinite(a) or a < 0:
            raise ModelError(f"add must be non-negative, got {a!r}")
    for t in tos:
        if t not in _TO_OPTIONS:
            raise ModelError(f"unknown continuity-correction rule to={t!r}; choose one of {', '.join(_TO_OPTIONS)}")
    return adds, tuple(tos), tuple(bool(d) for d in drops)


def _level(level: float) -> float:
    level = float(level)
    level = level / 100 if level > 1 else level
    if not 0 < level < 1:
        raise ModelError(f"confidence level must be between 0 and 1 (or 0 and 100), got {level!r}")
    return level


@dataclass(frozen=True)
class _Tables:
    """2x2 tables entering the pooling step, after drop00/add for that step."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    studies: tuple[str, ...]
    excluded: tuple[ExcludedStudy, ...]
    corrections: tuple[ContinuityCorrection, ...]
    study_effects: EffectSizes
    not_in_q: tuple[int, ...]  # positions (among the pooled tables) without a study-level effect


def _prepare(
    measure: str,
    ai: Any,
    bi: Any,
    ci: Any,
    di: Any,
    n1i: Any,
    n2i: Any,
    studies: Sequence[Any] | None,
    adds: tuple,
    tos: tuple,
    drops: tuple,
) -> _Tables:
    tables: TwoByTwo = two_by_two(ai, bi, ci, di, n1i, n2i, studies)
    keep = ~np.asarray(tables.missing)
    labels = tuple(s for s, k in zip(tables.studies, keep) if k)
    a, b, c, d = (np.asarray(x, dtype=float)[keep] for x in (tables.ai, tables.bi, tables.ci, tables.di))
    # study-level effects for the heterogeneity statistic: escalc with the first options
    options = dict(add=adds[0], to=tos[0], drop00=drops[0])
    effects = escalc(measure, ai=a, bi=b, ci=c, di=d, studies=labels, **options)
    # the same with positional labels, to know which tables have an effect even when
    # study labels repeat
    by_position = escalc(measure, ai=a, bi=b, ci=c, di=d, studies=[str(i) for i in range(len(a))], **options)
    has_effect = np.zeros(len(a), dtype=bool)
    has_effect[[int(s) for s in by_position.studies]] = True
    excluded = list(tables.excluded)
    use = np.ones(len(labels), dtype=bool)
    if drops[1]:
        double = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
        for i in np.flatnonzero(double):
            what = "no events" if a[i] == 0 and c[i] == 0 else "only events"
            excluded.append(
                ExcludedStudy(labels[i], f"{what} in both groups (double-zero study), dropped from the pooling (drop00)")
            )
        use &= ~double
    a, b, c, d = a[use], b[use], c[use], d[use]
    used = tuple(s for s, u in zip(labels, use) if u)
    not_in_q = tuple(int(i) for i in np.flatnonzero(~has_effect[use]))
    corrections: list[ContinuityCorrection] = []
    if adds[1] > 0 and tos[1] != "none" and len(a):
        zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        if tos[1] == "all":
            mask = np.ones(len(a), dtype=bool)
        elif tos[1] == "only0":
            mask = zero
        else:
            mask = np.full(len(a), bool(zero.any()))
        for i in np.flatnonzero(mask):
            reason = "zero cell" if zero[i] else f"to={tos[1]!r}"
            corrections.append(ContinuityCorrection(used[i], adds[1], reason + " (pooling step)"))
        add_vec = np.where(mask, adds[1], 0.0)
        a, b, c, d = a + add_vec, b + add_vec, c + add_vec, d + add_vec
    return _Tables(a, b, c, d, used, tuple(excluded), tuple(corrections), effects, not_in_q)


def _heterogeneity(effects: EffectSizes, beta: float) -> tuple[float, float, float, float, int]:
    """Cochran's Q about ``beta`` with I² and H², as metafor's rma.mh/rma.peto report them."""
    k_yi = effects.k
    if k_yi > 1 and math.isfinite(beta):
        with np.errstate(divide="ignore", invalid="ignore"):
            q = max(0.0, float(np.sum((effects.yi - beta) ** 2 / effects.vi)))
        df = k_yi - 1
        q_pval = float(stats.chi2.sf(q, df))
        i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
        h2 = q / df
        return q, q_pval, i2, h2, df
    if k_yi > 1:
        return math.nan, math.nan, math.nan, math.nan, k_yi - 1
    return 0.0, 1.0, 0.0, 1.0, 0


def _wald(beta: float, se: float, level: float) -> tuple[float, float, float, float]:
    if not (math.isfinite(beta) and math.isfinite(se)) or se <= 0:
        return math.nan, math.nan, math.nan, math.nan
    z = beta / se
    p = float(2 * stats.norm.sf(abs(z)))
    crit = float(stats.norm.ppf(1 - (1 - level) / 2))
    return z, p, beta - crit * se, beta + crit * se


def _effect_warnings(tables: _Tables, what: str) -> list[AnalysisWarning]:
    """Carry the study-level warnings and say which pooled studies are not in Q."""
    effects = tables.study_effects
    out = []
    for w in effects.warnings:
        if w.code == "continuity_correction":
            out.append(
                AnalysisWarning(
                    w.code,
                    f"study-level effects used for the heterogeneity test: {w.message}",
                    w.studies,
                )
            )
        else:
            out.append(w)
    if tables.not_in_q:
        names = tuple(tables.studies[i] for i in tables.not_in_q)
        why = {e.study: e.reason for e in effects.excluded}
        reasons = "; ".join(f"{s}: {why.get(s, 'undefined')}" for s in dict.fromkeys(names))
        out.append(
            AnalysisWarning(
                "not_in_heterogeneity_test",
                f"{len(names)} {'study contributes' if len(names) == 1 else 'studies contribute'} to the {what} "
                f"estimate but not to Q, because the study-level effect is undefined ({reasons})",
                names,
            )
        )
    return out


@dataclass(frozen=True, eq=False)
class MantelHaenszelResult(ResultMixin):
    """Mantel-Haenszel common-effect meta-analysis of 2x2 tables.

    ``estimate`` is on the analysis scale (log OR, log RR, or RD); ``display``
    properties give it back-transformed.  ``k`` counts the tables pooled, ``k_yi`` the
    studies with a defined study-level effect (Q has ``k_yi - 1`` df) and ``k_pos``
    (OR only) the tables entering the Breslow-Day test.  ``co``/``cmh``/``bd``/``tarone``
    are NaN for RR and RD.
    """

    measure: str
    k: int
    k_yi: int
    k_pos: int | None
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
    co: float
    co_pval: float
    cmh: float
    cmh_pval: float
    bd: float
    bd_pval: float
    tarone: float
    tarone_pval: float
    correct: bool
    studies: tuple[str, ...]
    effects: EffectSizes
    add: tuple[float, float]
    to: tuple[str, str]
    drop00: tuple[bool, bool]
    corrections: tuple[ContinuityCorrection, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    method: str = "MH"
    tau2: float = 0.0

    @property
    def estimate_display(self) -> float:
        return back_transform(self.measure, self.estimate)

    @property
    def ci_low_display(self) -> float:
        return back_transform(self.measure, self.ci_low)

    @property
    def ci_high_display(self) -> float:
        return back_transform(self.measure, self.ci_high)

    def to_metafor(self) -> dict:
        """The values under the names metafor's ``rma.mh`` object uses (NaN -> None)."""

        def na(x: float) -> float | None:
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else x

        return {
            "method": "FE",
            "measure": self.measure,
            "k": self.k,
            "level": self.level,
            "estimate": na(self.estimate),
            "se": na(self.se),
            "zval": na(self.stat),
            "pval": na(self.pval),
            "ci_lb": na(self.ci_low),
            "ci_ub": na(self.ci_high),
            "QE": na(self.q),
            "QEp": na(self.q_pval),
            "I2": na(self.i2),
            "H2": na(self.h2),
            "CO": na(self.co),
            "COp": na(self.co_pval),
            "MH": na(self.cmh),
            "MHp": na(self.cmh_pval),
            "BD": na(self.bd),
            "BDp": na(self.bd_pval),
            "TA": na(self.tarone),
            "TAp": na(self.tarone_pval),
            "tau2": self.tau2,
            "k_pos": self.k_pos,
        }

    def to_frame(self) -> pd.DataFrame:
        row = pooled_row(self, "Mantel-Haenszel", self.measure)
        if self.measure == "OR":
            row.update(
                co=self.co, co_pval=self.co_pval, cmh=self.cmh, cmh_pval=self.cmh_pval,
                bd=self.bd, bd_pval=self.bd_pval, tarone=self.tarone, tarone_pval=self.tarone_pval, k_pos=self.k_pos,
            )
        return pd.DataFrame([row])

    def summary(self) -> str:
        info = measure_info(self.measure)
        pct = f"{100 * self.level:g}%"
        lines = [
            f"Mantel-Haenszel common-effect model ({info.label}), k = {self.k}",
            "",
            f"estimate {fmt(self.estimate)}  se {fmt(self.se)}  z {fmt(self.stat, 2)}  p {fmt_p(self.pval)}  "
            f"{pct} CI [{fmt(self.ci_low)}, {fmt(self.ci_high)}]",
        ]
        if info.scale != "identity":
            lines.append(
                f"{info.display}: {fmt(self.estimate_display)}  {pct} CI "
                f"[{fmt(self.ci_low_display)}, {fmt(self.ci_high_display)}]"
            )
        lines.append(
            f"heterogeneity: Q({self.q_df}) = {fmt(self.q, 2)}, p {fmt_p(self.q_pval)}; "
            f"I² = {fmt(self.i2, 1)}%, H² = {fmt(self.h2, 2)}"
        )
        if self.measure == "OR":
            cc = " (continuity-corrected)" if self.correct else ""
            lines.append(f"Cochran-Mantel-Haenszel test{cc}: CMH = {fmt(self.cmh, 2)}, df = 1, p {fmt_p(self.cmh_pval)}")
            df = (self.k_pos or 0) - 1
            lines.append(
                f"Breslow-Day test: X² = {fmt(self.bd, 2)}, df = {df}, p {fmt_p(self.bd_pval)}; "
                f"Tarone's test: X² = {fmt(self.tarone, 2)}, p {fmt_p(self.tarone_pval)}"
            )
        lines += note_lines(self)
        return "\n".join(lines)


def mantel_haenszel(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    measure: str = "OR",
    level: float = 0.95,
    correct: bool = True,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    studies: Sequence[Any] | None = None,
) -> MantelHaenszelResult:
    """Mantel-Haenszel pooled OR, RR or RD with metafor's defaults (see module docstring).

    Tables are given as ``ai, bi, ci, di`` (or ``ai, n1i, ci, n2i``), group 1 being the
    treatment.  Studies with missing counts are excluded with the reason.  Note that
    metafor's default ``drop00=True`` only removes double-zero studies from Q (their
    study-level effect is undefined); they stay in the pooled tables, to which they
    contribute nothing.
    """
    code = measure_info(measure).code
    if code not in ("OR", "RR", "RD"):
        raise ModelError(f"the Mantel-Haenszel method is available for OR, RR and RD, not {code}")
    level = _level(level)
    adds, tos, drops = _options(add, to, drop00)
    t = _prepare(code, ai, bi, ci, di, n1i, n2i, studies, adds, tos, drops)
    k = len(t.a)
    if k == 0:
        raise ModelError("no 2x2 table left to pool (all studies excluded)")
    a, b, c, d = t.a, t.b, t.c, t.d
    n1, n2 = a + b, c + d
    n = n1 + n2
    warnings: list[AnalysisWarning] = []
    co = co_pval = cmh = cmh_pval = bd = bd_pval = ta = ta_p = math.nan
    k_pos: int | None = None

    with np.errstate(divide="ignore", invalid="ignore"):
        if code == "OR":
            beta, se, k_pos, co, co_pval, cmh, cmh_pval, bd, bd_pval, ta, ta_p = _odds_ratio(a, b, c, d, correct)
        elif code == "RR":
            beta, se = _risk_ratio(a, b, c, d)
        else:
            beta, se = _risk_difference(a, b, c, d)
    if not math.isfinite(beta):
        warnings.append(
            AnalysisWarning(
                "estimate_undefined",
                f"the Mantel-Haenszel {measure_info(code).display} is undefined: "
                + ("no events in one of the groups across all tables" if code == "RR" else
                   "a zero numerator or denominator sum across all tables"),
            )
        )
    stat, pval, ci_low, ci_high = _wald(beta, se, level)
    q, q_pval, i2, h2, q_df = _heterogeneity(t.study_effects, beta)
    warnings = _effect_warnings(t, "Mantel-Haenszel") + warnings
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
    return MantelHaenszelResult(
        measure=code,
        k=k,
        k_yi=t.study_effects.k,
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
        co=co,
        co_pval=co_pval,
        cmh=cmh,
        cmh_pval=cmh_pval,
        bd=bd,
        bd_pval=bd_pval,
        tarone=ta,
        tarone_pval=ta_p,
        correct=bool(correct),
        studies=t.studies,
        effects=t.study_effects,
        add=adds,
        to=tos,
        drop00=drops,
        corrections=t.corrections,
        excluded=t.excluded,
        warnings=tuple(warnings),
    )


def _odds_ratio(a, b, c, d, correct: bool):
    """MH odds ratio, RBG variance, Cochran/CMH tests, Breslow-Day and Tarone tests."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    # Robins, Breslow & Greenland (1986): P = (a+d)/N, Q = (b+c)/N, R = ad/N, S = bc/N
    P = (a + d) / n
    Q = (b + c) / n
    R = a * d / n
    S = b * c / n
    sum_r, sum_s = float(R.sum()), float(S.sum())
    if sum_r == 0 or sum_s == 0:
        beta = se = math.nan
        or_mh = math.nan
    else:
        or_mh = sum_r / sum_s
        beta = math.log(or_mh)
        var = 0.5 * (
            float((P * R).sum()) / sum_r**2
            + float((P * S + Q * R).sum()) / (sum_r * sum_s)
            + float((Q * S).sum()) / sum_s**2
        )
        se = math.sqrt(var)

    # Cochran (1954) and Mantel-Haenszel (1959) tests of OR = 1
    events = a + c
    nonevents = b + d
    co = co_pval = cmh = cmh_pval = math.nan
    if events.sum() > 0 and nonevents.sum() > 0:
        dev = abs(float((a - n1 * events / n).sum())) - (0.5 if correct else 0.0)
        hyper = (n1 / n) * (n2 / n) * events * nonevents
        co = dev**2 / float((hyper / n).sum())
        cmh = dev**2 / float((hyper / (n - 1)).sum())
        co_pval = float(stats.chi2.sf(co, 1))
        cmh_pval = float(stats.chi2.sf(cmh, 1))

    # Breslow & Day (1980) homogeneity test about OR_MH, with Tarone's (1985) correction
    if not math.isfinite(or_mh):
        return beta, se, 0, co, co_pval, cmh, cmh_pval, math.nan, math.nan, math.nan, math.nan
    fitted = _fitted_cell(or_mh, n1, n2, events)
    pos = (fitted > 0) & (events > 0) & (nonevents > 0)
    k_pos = int(pos.sum())
    e11 = fitted[pos]
    e12 = n1[pos] - e11
    e21 = events[pos] - e11
    e22 = n2[pos] - e21
    var = 1.0 / (1 / e11 + 1 / e12 + 1 / e21 + 1 / e22)
    dev = a[pos] - e11
    bd = max(0.0, float((dev**2 / var).sum()))
    ta = max(0.0, bd - float(dev.sum()) ** 2 / float(var.sum()))
    if k_pos > 1:
        bd_pval = float(stats.chi2.sf(bd, k_pos - 1))
        ta_p = float(stats.chi2.sf(ta, k_pos - 1))
    else:
        bd_pval = ta_p = math.nan
    return beta, se, k_pos, co, co_pval, cmh, cmh_pval, bd, bd_pval, ta, ta_p


def _fitted_cell(psi: float, n1: np.ndarray, n2: np.ndarray, m1: np.ndarray) -> np.ndarray:
    """Expected count in cell a given the margins and a common odds ratio ``psi``.

    Solves x (n2 - m1 + x) = psi (n1 - x)(m1 - x) (Breslow & Day 1980, eq. 4.29), i.e.
    (psi - 1) x² - [psi (n1 + m1) + n2 - m1] x + psi n1 m1 = 0, taking the root inside
    [max(0, m1 - n2), min(n1, m1)] (the smaller root for psi > 1, the positive one for
    psi < 1); x = n1 m1 / N when psi = 1.
    """
    if psi == 1.0:
        return n1 * m1 / (n1 + n2)
    lin = psi * (n1 + m1) + (n2 - m1)
    disc = np.sqrt(lin**2 - 4 * (psi - 1) * psi * n1 * m1)
    return (lin - disc) / (2 * (psi - 1))


def _risk_ratio(a, b, c, d):
    """MH risk ratio with the Greenland & Robins (1985) variance of its log."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    R = float((a * n2 / n).sum())
    S = float((c * n1 / n).sum())
    if a.sum() == 0 or c.sum() == 0:
        return math.nan, math.nan
    beta = math.log(R / S)
    num = float(((n1 * n2 * (a + c) - a * c * n) / n**2).sum())
    return beta, math.sqrt(num / (R * S))


def _risk_difference(a, b, c, d):
    """MH risk difference with the Sato, Greenland & Robins (1989) variance."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    w = float((n1 * n2 / n).sum())
    beta = float(((a * n2 - c * n1) / n).sum()) / w
    p_term = float(((n1**2 * c - n2**2 * a + n1 * n2 * (n2 - n1) / 2) / n**2).sum())
    q_term = float(((a * (n2 - c) + c * (n1 - a)) / (2 * n)).sum())
    var = (beta * p_term + q_term) / w**2
    return beta, math.sqrt(var) if var >= 0 else math.nan
