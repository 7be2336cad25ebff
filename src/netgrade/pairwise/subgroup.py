"""Subgroup analysis with the test for subgroup differences.

Two conventions are in use and both are offered (Borenstein, Hedges, Higgins &
Rothstein 2009, Introduction to Meta-Analysis, ch. 19):

``tau2="separate"`` (default; RevMan and R's meta)
    each subgroup is a random-effects meta-analysis with its own tau²; the test for
    subgroup differences is Cochran's Q between the subgroup estimates weighted by
    their inverse variances, Q_between = sum_g (theta_g - theta_bar)² / se_g², on
    G - 1 df (Deeks, Higgins & Altman, Cochrane Handbook ch. 10.11.3).
``tau2="common"``
    one tau² pooled across subgroups: the mixed-effects meta-regression on the
    subgroup factor (its omnibus test QM on G - 1 df is the test for subgroup
    differences) and each subgroup estimated with that tau² fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, fmt, fmt_p
from ..errors import AnalysisWarning, DataError, ModelError
from .model import RMAResult, rma
from .tau2 import canonical_method


@dataclass(frozen=True, eq=False)
class SubgroupResult(ResultMixin):
    """Per-subgroup fits and the test for subgroup differences."""

    groups: tuple[str, ...]
    fits: tuple[RMAResult, ...]
    q_between: float
    q_between_df: int
    q_between_pval: float
    q_within: float
    q_within_df: int
    tau2_mode: str
    method: str
    test: str
    moderator: str | None = None
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    def fit(self, group: str) -> RMAResult:
        return self.fits[self.groups.index(group)]

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for g, f in zip(self.groups, self.fits):
            pr = f.predict()
            rows.append(
                {
                    "subgroup": g,
                    "k": f.k,
                    "estimate": f.estimate,
                    "se": f.se,
                    "ci_low": f.ci_low,
                    "ci_high": f.ci_high,
                    "pi_low": float(pr.pi_low[0]),
                    "pi_high": float(pr.pi_high[0]),
                    "tau2": f.tau2,
                    "i2": f.i2,
                    "q": f.q,
                    "q_df": f.q_df,
                }
            )
        return pd.DataFrame(rows).set_index("subgroup")

    def summary(self) -> str:
        head = f"Subgroup analysis{' by ' + self.moderator if self.moderator else ''} ({self.method}, tau² {self.tau2_mode})"
        table = self.to_frame()[["k", "estimate", "ci_low", "ci_high", "tau2", "i2"]].to_string(
            float_format=lambda x: f"{x:.4f}"
        )
        lines = [
            head,
            "",
            table,
            "",
            f"Test for subgroup differences: Q = {fmt(self.q_between)}, df = {self.q_between_df}, p = {fmt_p(self.q_between_pval)}",
            f"Within-subgroup heterogeneity: Q = {fmt(self.q_within)}, df = {self.q_within_df}",
        ]
        lines += [f"Warning: {w.message}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "moderator": self.moderator,
            "tau2_mode": self.tau2_mode,
            "method": self.method,
            "test": self.test,
            "subgroups": [dict(subgroup=g, **f.to_dict()) for g, f in zip(self.groups, self.fits)],
            "q_between": self.q_between,
            "q_between_df": self.q_between_df,
            "q_between_pval": self.q_between_pval,
            "q_within": self.q_within,
            "q_within_df": self.q_within_df,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def subgroup_analysis(
    yi: Any,
    vi: Any = None,
    groups: Sequence[Any] | None = None,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tau2: str = "separate",
    studies: Sequence[str] | None = None,
    measure: str | None = None,
    moderator: str | None = None,
) -> SubgroupResult:
    """Fit the model within each subgroup and test whether the subgroups differ.

    ``yi`` may be a fitted :class:`RMAResult` (its data, method, test and level are
    reused unless given) or effect sizes with ``vi``.  ``groups`` assigns each study to
    a subgroup (missing values are an error: a study must be placed or excluded
    explicitly).
    """
    if isinstance(yi, RMAResult):
        base = yi
        y, v = np.asarray(base.yi), np.asarray(base.vi)
        studies = base.studies if studies is None else studies
        measure = base.measure if measure is None else measure
    else:
        y = np.asarray(getattr(yi, "yi", yi), dtype=float)
        v = np.asarray(getattr(yi, "vi", vi), dtype=float)
        studies = studies if studies is not None else getattr(yi, "studies", None)
        measure = measure if measure is not None else getattr(yi, "measure", None)
    k = y.shape[0]
    studies = tuple(str(s) for s in studies) if studies is not None else tuple(str(i + 1) for i in range(k))
    if groups is None or len(groups) != k:
        raise DataError(f"give one subgroup label per study ({k} studies)")
    labels = pd.Series(list(groups), dtype=object)
    missing = [studies[i] for i in np.flatnonzero(labels.isna().to_numpy())]
    if missing:
        raise DataError(f"subgroup label missing for {', '.join(missing)}; assign or exclude these studies")
    labels = labels.astype(str)
    order = list(dict.fromkeys(sorted(labels.unique())))
    if len(order) < 2:
        raise ModelError("a subgroup analysis needs at least two subgroups")
    mode = str(tau2).lower()
    if mode not in ("separate", "common"):
        raise ModelError("tau2 must be 'separate' or 'common'")
    warnings: list[AnalysisWarning] = []

    common_tau2 = None
    if mode == "common":
        if method.upper() in ("FE", "EE", "CE"):
            raise ModelError("a common tau² needs a random-effects method")
        meta = rma(y, v, mods=pd.DataFrame({"group": labels}), method=method, test=test, level=level, studies=studies)
        common_tau2 = meta.tau2

    fits = []
    for g in order:
        idx = np.flatnonzero(labels.to_numpy() == g)
        sub_studies = [studies[i] for i in idx]
        if idx.size == 1:
            f = rma(y[idx], v[idx], method="FE", level=level, studies=sub_studies, measure=measure)
            warnings.append(
                AnalysisWarning(
                    "single_study_subgroup",
                    f"subgroup {g!r} has one study ({sub_studies[0]}); its estimate is that study's",
                    tuple(sub_studies),
                )
            )
        else:
            f = rma(
                y[idx],
                v[idx],
                method=method,
                test=test,
                level=level,
                tau2=common_tau2,
                studies=sub_studies,
                measure=measure,
            )
        fits.append(f)

    if mode == "common":
        qb, qb_df, qb_p = meta.qm, meta.qm_df[0], meta.qm_pval
        if meta.qm_df[1] is not None:
            qb = qb * qb_df  # report the chi-square scale statistic; p-value from F
    else:
        est = np.array([f.estimate for f in fits])
        w = 1.0 / np.array([f.se for f in fits]) ** 2
        pooled = float(np.sum(w * est) / np.sum(w))
        qb = float(np.sum(w * (est - pooled) ** 2))
        qb_df = len(fits) - 1
        qb_p = float(stats.chi2.sf(qb, qb_df))
    q_within = float(np.nansum([f.q for f in fits]))
    q_within_df = int(sum(f.q_df for f in fits))
    return SubgroupResult(
        groups=tuple(order),
        fits=tuple(fits),
        q_between=float(qb),
        q_between_df=int(qb_df),
        q_between_pval=float(qb_p) if math.isfinite(qb_p) else math.nan,
        q_within=q_within,
        q_within_df=q_within_df,
        tau2_mode=mode,
        method=canonical_method(method),
        test=test,
        moderator=moderator,
        warnings=tuple(warnings),
    )
