"""Subgroup network meta-analysis: one network per level of a study-level covariate.

The studies are split by a categorical covariate (region, diagnosis, patient
selection...) and the network is fitted within every level against the same reference
treatment.  For each treatment the level-specific estimates are compared by the test for
subgroup differences, Cochran's Q between levels,

    Q_t = sum_g w_g (theta_tg - theta_t.)²,   w_g = 1 / se_tg²,   df = G_t - 1,

over the G_t levels whose network estimates treatment t (Borenstein, Hedges, Higgins &
Rothstein 2009, Introduction to Meta-Analysis, ch. 19; Cochrane Handbook ch. 10.11.3;
for networks, Dias, Sutton, Welton & Ades, NICE DSU TSD 3, section 2, "subgroup
analysis").  The levels are disjoint sets of studies, so their estimates are
independent.  The global test over all treatments is the multivariate version: the
generalised least-squares residual of the hypothesis "every treatment has the same
effect in every level" fitted to the stacked level estimates with their (block
diagonal) covariance,

    Q = sum_g (theta_g - A_g mu)' V_g^-1 (theta_g - A_g mu) at the GLS mu,
    df = sum_g p_g - p,

with p_g the treatments estimated in level g and p those estimated in any.  With a tau²
common to the levels this is exactly the omnibus interaction test QM of the network
meta-regression on the covariate with independent interactions (Cooper et al. 2009,
Stat Med 28:1861; :func:`netgrade.network.network_metareg`): that model is the
stacked per-level model, reparametrised.

``tau2="separate"`` gives every level its own tau² (as R's meta does for pairwise
subgroups); ``tau2="common"`` estimates one tau² jointly from all levels -- the
(restricted) likelihood of the full treatment-by-level interaction network
meta-regression, whose parameters are exactly the per-level treatment effects -- and
fits every level with it fixed.  A number fixes tau² for every level.

A level whose network does not include the reference, or is disconnected, is not
analysed, and says why (``disconnected="reference"`` analyses the sub-network that
contains the reference instead, listing what it leaves out); treatments absent from a
level are listed with it.  Nothing is dropped silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, fmt, fmt_p, jsonable, note_lines
from ..errors import AnalysisWarning, ExcludedStudy, ModelError
from .data import NetworkData
from .metareg import NetworkMetaRegResult, _as_network, _label, _missing_values, _sorted_levels, network_metareg, study_covariate
from .model import NMAResult, _canonical, nma

__all__ = ["SubgroupLevel", "SubgroupTest", "SubgroupNMAResult", "subgroup_nma"]


@dataclass(frozen=True, eq=False)
class SubgroupLevel(ResultMixin):
    """One level of the covariate: its studies and treatments, and its network fit
    (``fit`` is None when it could not be analysed; ``reason`` says why).  ``absent``
    lists the network's treatments no study of this level includes; ``left_out`` those
    present but not connected to the reference (``disconnected="reference"``)."""

    level: str
    studies: tuple[str, ...]
    treatments: tuple[str, ...]
    absent: tuple[str, ...]
    fit: NMAResult | None
    reason: str | None = None
    left_out: tuple[str, ...] = ()

    @property
    def analysed(self) -> bool:
        return self.fit is not None

    @property
    def k(self) -> int:
        return len(self.studies)

    def to_frame(self) -> pd.DataFrame:
        return self.fit.effects() if self.fit is not None else pd.DataFrame()

    def summary(self) -> str:
        head = f"level {self.level}: {self.k} studies, treatments {', '.join(self.treatments)}"
        if self.fit is None:
            return head + f"\n  not analysed: {self.reason}"
        return head + "\n" + self.fit.summary()

    def to_dict(self) -> dict:
        return jsonable(
            {
                "level": self.level,
                "studies": list(self.studies),
                "treatments": list(self.treatments),
                "absent": list(self.absent),
                "left_out": list(self.left_out),
                "analysed": self.analysed,
                "reason": self.reason,
                "tau2": None if self.fit is None else self.fit.tau2,
                "effects": None if self.fit is None else self.fit.effects().to_dict(orient="records"),
            }
        )


@dataclass(frozen=True)
class SubgroupTest:
    """The test for subgroup differences of one treatment against the reference."""

    treatment: str
    levels: tuple[str, ...]
    q: float
    df: int
    pval: float

    def to_dict(self) -> dict:
        return jsonable({"treatment": self.treatment, "levels": list(self.levels), "q": self.q, "df": self.df, "pval": self.pval})


@dataclass(frozen=True, eq=False)
class SubgroupNMAResult(ResultMixin):
    """Per-level network fits, the per-treatment tests for subgroup differences and the
    global test over all treatments (``q_between``).  ``tau2`` is the tau² shared by the
    levels (NaN when each level has its own); ``metareg`` the full-interaction network
    meta-regression that gave the common tau² (None otherwise)."""

    data: NetworkData
    treatments: tuple[str, ...]
    reference: str
    covariate: str
    levels: tuple[SubgroupLevel, ...]
    tests: tuple[SubgroupTest, ...]
    q_between: float
    q_between_df: int
    q_between_pval: float
    method: str
    tau2_mode: str
    tau2: float
    level: float
    measure: str
    metareg: NetworkMetaRegResult | None = None
    larger_better: bool = False
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)

    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(lv.level for lv in self.levels)

    def get(self, level: Any) -> SubgroupLevel:
        lab = _label(level)
        for lv in self.levels:
            if lv.level == lab:
                return lv
        raise ModelError(f"{level!r} is not a level of {self.covariate!r}; levels: {', '.join(self.level_names)}")

    def fit(self, level: Any) -> NMAResult | None:
        return self.get(level).fit

    def test(self, treatment: str) -> SubgroupTest:
        for t in self.tests:
            if t.treatment == treatment:
                return t
        raise ModelError(f"no test for {treatment!r}; treatments: {', '.join(t.treatment for t in self.tests)}")

    def tests_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"treatment": t.treatment, "n_levels": len(t.levels), "q": t.q, "df": t.df, "pval": t.pval} for t in self.tests],
            columns=["treatment", "n_levels", "q", "df", "pval"],
        )

    def to_frame(self) -> pd.DataFrame:
        """Every treatment against the reference in every level (NaN where a level
        does not estimate it, with the reason in ``note``)."""
        rows = []
        for lv in self.levels:
            eff = lv.fit.effects().set_index("treatment") if lv.fit is not None else None
            counts = {t: 0 for t in self.treatments}
            for b in self.data.blocks:
                if b.study in set(lv.studies):
                    for t in b.arms:
                        counts[t] += 1
            for t in self.treatments[1:]:
                row = {"level": lv.level, "treatment": t, "n_studies": counts[t]}
                if eff is not None and t in eff.index:
                    r = eff.loc[t]
                    row.update({c: float(r[c]) for c in ("estimate", "se", "ci_low", "ci_high", "pval", "pi_low", "pi_high")})
                    row["note"] = ""
                else:
                    row.update({c: math.nan for c in ("estimate", "se", "ci_low", "ci_high", "pval", "pi_low", "pi_high")})
                    if lv.fit is None:
                        row["note"] = f"level not analysed: {lv.reason}"
                    elif t in lv.left_out:
                        row["note"] = f"not connected to {self.reference} in this level"
                    else:
                        row["note"] = "not studied in this level"
                rows.append(row)
        cols = ["level", "treatment", "n_studies", "estimate", "se", "ci_low", "ci_high", "pval", "pi_low", "pi_high", "note"]
        return pd.DataFrame(rows, columns=cols)

    def summary(self) -> str:
        mode = {"separate": "tau² separate per level", "common": "one tau² common to the levels"}.get(
            self.tau2_mode, f"tau² fixed at {fmt(self.tau2)}"
        )
        kind = "common-effect" if self.method == "FE" else f"random-effects, {self.method}"
        lines = [
            f"Subgroup network meta-analysis by {self.covariate} ({self.measure}; reference: {self.reference}; {kind}"
            + ("" if self.method == "FE" else f"; {mode}") + ")",
            "",
        ]
        for lv in self.levels:
            if lv.fit is None:
                lines.append(f"  {lv.level}: {lv.k} studies -- not analysed: {lv.reason}")
                continue
            extra = f"; not in this level: {', '.join(lv.absent)}" if lv.absent else ""
            extra += f"; not connected to {self.reference}: {', '.join(lv.left_out)}" if lv.left_out else ""
            het = "" if self.method == "FE" else f", tau² = {fmt(lv.fit.tau2)}"
            lines.append(f"  {lv.level}: {lv.fit.k} studies, {lv.fit.n_treatments} treatments{het}{extra}")
        if self.tau2_mode == "common" and self.method != "FE":
            lines.append(f"  common tau² = {fmt(self.tau2)}")
        lines += ["", f"Treatment effects against {self.reference} ({int(round(self.level * 100))}% CI) and tests for subgroup differences:"]
        frame = self.to_frame()
        table = []
        for t in self.treatments[1:]:
            row = {"treatment": t}
            for lv in self.levels:
                r = frame[(frame["level"] == lv.level) & (frame["treatment"] == t)].iloc[0]
                row[lv.level] = "-" if not math.isfinite(r["estimate"]) else f"{r['estimate']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
            test = next((x for x in self.tests if x.treatment == t), None)
            row["Q"] = fmt(test.q, 2) if test and test.df > 0 else "-"
            row["df"] = str(test.df) if test and test.df > 0 else "-"
            row["p"] = fmt_p(test.pval) if test and test.df > 0 else "-"
            table.append(row)
        lines.append(pd.DataFrame(table).to_string(index=False))
        lines += [
            "",
            f"Global test for subgroup differences (all treatments): Q = {fmt(self.q_between)} "
            f"(df = {self.q_between_df}), p = {fmt_p(self.q_between_pval)}",
        ]
        notes = note_lines(self)
        if notes:
            lines += [""] + notes
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "covariate": self.covariate,
                "reference": self.reference,
                "treatments": list(self.treatments),
                "measure": self.measure,
                "method": self.method,
                "tau2_mode": self.tau2_mode,
                "tau2": self.tau2,
                "level": self.level,
                "levels": [lv.to_dict() for lv in self.levels],
                "effects": self.to_frame().to_dict(orient="records"),
                "tests": [t.to_dict() for t in self.tests],
                "q_between": self.q_between,
                "q_between_df": self.q_between_df,
                "q_between_pval": self.q_between_pval,
                "larger_better": self.larger_better,
                "warnings": [w.to_dict() for w in self.warnings],
                "excluded": [e.to_dict() for e in self.excluded],
            }
        )


# ---------------------------------------------------------------------------------


def _pval(q: float, df: int) -> float:
    return float(stats.chi2.sf(q, df)) if df > 0 and math.isfinite(q) else math.nan


def _q_per_treatment(fits: list[tuple[str, NMAResult]], treatment: str) -> SubgroupTest:
    est, var, labs = [], [], []
    for lab, f in fits:
        if treatment in f.treatments[1:]:
            i = f.treatments.index(treatment) - 1
            est.append(float(f.coef[i]))
            var.append(float(f.vcov[i, i]))
            labs.append(lab)
    if len(est) < 2:
        return SubgroupTest(treatment, tuple(labs), math.nan, 0, math.nan)
    y, w = np.asarray(est), 1.0 / np.asarray(var)
    mean = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - mean) ** 2))
    return SubgroupTest(treatment, tuple(labs), q, len(est) - 1, _pval(q, len(est) - 1))


def _q_global(fits: list[tuple[str, NMAResult]]) -> tuple[float, int]:
    """GLS residual of 'same effects in every level' fitted to the stacked per-level
    estimates (independent levels, each with its full covariance)."""
    union = sorted({t for _, f in fits for t in f.treatments[1:]})
    col = {t: j for j, t in enumerate(union)}
    p = len(union)
    M = np.zeros((p, p))
    u = np.zeros(p)
    const = 0.0
    n = 0
    for _, f in fits:
        theta = np.asarray(f.coef)
        W = np.linalg.inv(np.asarray(f.vcov))
        A = np.zeros((len(theta), p))
        for i, t in enumerate(f.treatments[1:]):
            A[i, col[t]] = 1.0
        M += A.T @ W @ A
        u += A.T @ W @ theta
        const += float(theta @ W @ theta)
        n += len(theta)
    mu = np.linalg.solve(M, u)
    q = max(0.0, const - float(u @ mu))
    return q, n - p


def subgroup_nma(
    data: Any,
    covariate: Any,
    *,
    studies: Any = None,
    reference: str | None = None,
    method: str = "REML",
    tau2: str | float = "separate",
    levels: Sequence[Any] | None = None,
    level: float | None = None,
    measure: str | None = None,
    larger_better: bool | None = None,
    multiarm: str | None = None,
    disconnected: str = "skip",
    missing: str = "error",
    covariate_name: str | None = None,
    **arm_options: Any,
) -> SubgroupNMAResult:
    """Network meta-analysis within every level of a categorical covariate, with tests
    for subgroup differences (see the module docstring).

    ``data`` and ``covariate`` are given as to :func:`network_metareg` (a fitted
    :class:`NMAResult`, network data, arm or contrast table; a column of the ``studies``
    table, a mapping study -> level, ...); values are used as text labels, ordered by
    ``levels`` or as R orders factor levels.  ``method``: REML (default), ML, DL or FE.
    ``tau2``: "separate" (each level its own), "common" (one, estimated jointly) or a
    number (fixed).  ``disconnected``: "skip" (default: a level whose network is
    disconnected is not analysed) or "reference" (analyse its sub-network that contains
    the reference).  Studies without a level are an error unless ``missing="exclude"``.
    """
    net, info = _as_network(data, measure, arm_options)
    reference = info.get("reference") if reference is None else reference
    level = float(info.get("level", 0.95) if level is None else level)
    larger_better = bool(info.get("larger_better", False) if larger_better is None else larger_better)
    multiarm = info.get("multiarm", "netmeta") if multiarm is None else multiarm
    method = _canonical(method)
    if not 0 < level < 1:
        raise ModelError("level must be between 0 and 1")
    if disconnected not in ("skip", "reference"):
        raise ModelError("disconnected must be 'skip' or 'reference'")
    if isinstance(tau2, str):
        mode = tau2.strip().lower()
        if mode not in ("separate", "common"):
            raise ModelError("tau2 must be 'separate', 'common' or a number")
        fixed_t2 = None
    else:
        fixed_t2 = float(tau2)
        if not (math.isfinite(fixed_t2) and fixed_t2 >= 0):
            raise ModelError("tau² must be a non-negative number")
        mode = "fixed"

    warnings: list[AnalysisWarning] = list(net.warnings)
    label, series = study_covariate(covariate, studies, net.studies, covariate_name)
    bad, excluded = _missing_values(series, missing, label)
    if bad:
        net = net.subset(studies=[s for s in net.studies if s not in set(bad)])
        warnings.append(AnalysisWarning("covariate_missing", f"{len(bad)} studies without a value of {label!r} left out", tuple(bad)))
    if reference is None:
        reference = net.treatments[0]
        warnings.append(AnalysisWarning("default_reference", f"no reference given; using {reference!r}"))
    if reference not in net.treatments:
        raise ModelError(f"reference {reference!r} is not in the network; treatments: {', '.join(net.treatments)}")

    raw = series.loc[list(net.studies)]
    labs = [_label(v) for v in raw]
    by_study = dict(zip(net.studies, labs))
    if levels is not None:
        order = [_label(v) for v in levels]
        unknown = sorted(set(labs) - set(order))
        if unknown:
            raise ModelError(f"levels must list every value of {label!r}; missing: {', '.join(unknown)}")
        empty = [lv for lv in order if lv not in set(labs)]
        if empty:
            warnings.append(AnalysisWarning("empty_level", f"no study has {label} = {', '.join(empty)}"))
        order = [lv for lv in order if lv in set(labs)]
    else:
        order = _sorted_levels(labs, list(raw))
    if len(order) < 2:
        warnings.append(AnalysisWarning("single_level", f"every study has {label} = {order[0]}: nothing to compare"))

    # -- the network of every level ----------------------------------------------------
    plans = []  # (label, studies, treatments, absent, sub-network or None, reason, left_out)
    for lv in order:
        st = tuple(s for s in net.studies if by_study[s] == lv)
        sub = net.subset(studies=st)
        present = sub.treatments
        absent = tuple(t for t in net.treatments if t not in set(present))
        reason, left_out = None, ()
        if reference not in present:
            reason = f"no study in this level includes the reference {reference}"
        else:
            comps = sub.components()
            if len(comps) > 1:
                desc = "; ".join(f"{', '.join(ts)} (studies {', '.join(ss)})" for ts, ss in comps)
                if disconnected == "skip":
                    reason = f"the network of this level is disconnected into {len(comps)} sub-networks: {desc}"
                else:
                    ts, ss = next(c for c in comps if reference in c[0])
                    left_out = tuple(t for t in present if t not in set(ts))
                    sub = sub.subset(treatments=ts, studies=ss)
                    warnings.append(
                        AnalysisWarning(
                            "subgroup_disconnected",
                            f"{label} = {lv}: analysing the sub-network of {reference} ({', '.join(ts)}); "
                            f"not connected to it: {', '.join(left_out)}",
                            tuple(s for s in st if s not in set(ss)),
                        )
                    )
        if reason is not None:
            warnings.append(AnalysisWarning("subgroup_not_analysed", f"{label} = {lv} not analysed: {reason}", st))
        plans.append((lv, st, present, absent, None if reason else sub, reason, left_out))

    usable = [p for p in plans if p[4] is not None]
    if not usable:
        raise ModelError(f"no level of {label!r} has a connected network that includes the reference {reference}")

    # -- tau² common to the levels: the full-interaction network meta-regression --------
    mr = None
    t2_common = math.nan
    if method != "FE" and mode == "common":
        joint_studies = [s for p in usable for s in p[4].studies]
        joint = net.subset(studies=joint_studies)
        mr = network_metareg(
            joint,
            {s: by_study[s] for s in joint_studies},
            reference=reference,
            interactions="independent",
            method=method,
            categorical=True,
            levels=[p[0] for p in usable],
            level=level,
            larger_better=larger_better,
            multiarm=multiarm,
            covariate_name=label,
        )
        t2_common = mr.tau2
        warnings += [
            AnalysisWarning(w.code, f"common tau²: {w.message}", w.studies)
            for w in mr.warnings
            if w.code in ("tau2_boundary", "tau2_solver", "no_heterogeneity_df")
        ]
    elif mode == "fixed":
        t2_common = fixed_t2

    # -- the fits -------------------------------------------------------------------------
    records, fits = [], []
    for lv, st, present, absent, sub, reason, left_out in plans:
        fit = None
        if sub is not None:
            fit = nma(
                sub,
                reference=reference,
                method=method,
                level=level,
                tau2=None if (mode == "separate" or method == "FE") else t2_common,
                larger_better=larger_better,
                multiarm=multiarm,
            )
            fits.append((lv, fit))
        records.append(SubgroupLevel(lv, st, present, absent, fit, reason, left_out))

    treatments = (reference,) + tuple(t for t in _treatment_order(net, reference))
    tests = tuple(_q_per_treatment(fits, t) for t in treatments[1:])
    if len(fits) >= 2:
        qb, qb_df = _q_global(fits)
    else:
        qb, qb_df = math.nan, 0
    return SubgroupNMAResult(
        data=net,
        treatments=treatments,
        reference=reference,
        covariate=label,
        levels=tuple(records),
        tests=tests,
        q_between=float(qb),
        q_between_df=int(qb_df),
        q_between_pval=_pval(qb, qb_df),
        method=method,
        tau2_mode=mode,
        tau2=float(t2_common) if method != "FE" else 0.0,
        level=level,
        measure=net.measure,
        metareg=mr,
        larger_better=larger_better,
        warnings=tuple(warnings),
        excluded=tuple(net.excluded) + tuple(excluded),
    )


def _treatment_order(net: NetworkData, reference: str) -> tuple[str, ...]:
    """The non-reference treatments in the order network results list them."""
    from .data import treatment_sort_key

    return tuple(sorted((t for t in net.treatments if t != reference), key=treatment_sort_key))
