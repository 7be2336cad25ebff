"""Mantel-Haenszel network meta-analysis of odds ratios for sparse binary data.

Efthimiou, Rücker, Schwarzer, Higgins, Egger & Salanti (2019, Stat Med 38:2992), as
netmeta's ``netmetabin(method = "MH")``.  Inverse-variance pooling of study log odds
ratios needs continuity corrections when events are rare, and the corrections bias
the result; the Mantel-Haenszel estimator needs none.  The model is a common-effect
model, fitted in two stages:

Stage I (the data; every exclusion is listed on the result, never silent):

i.   a study without any event, or with only events, in all its arms carries no
     information on the odds ratio and is excluded;
ii.  studies are grouped by design (the set of treatments they compare);
iii. an arm whose treatment has no event (or only events) in *all* studies of its
     design is removed from every study of that design (or, with ``cc_pooled=True``,
     ``incr`` is added to every cell of every study of that design, netmeta's
     ``cc.pooled``);
iv.  a design left with a single treatment is excluded.

Stage II (per design, then across designs):

* for a design with treatments 1..n and studies s with a_sx events, b_sx non-events
  and n_sx patients in arm x (N_s patients in the study),
  c_xy = sum_s a_sx b_sy / N_s and L_xy = log(c_xy / c_yx) is the Mantel-Haenszel log
  odds ratio of x versus y (Mantel & Haenszel 1959, J Natl Cancer Inst 22:719);
* its variance is the Robins-Breslow-Greenland estimator (Robins, Breslow & Greenland
  1986, Biometrics 42:311) with d_xy = (a_sx + b_sy) / N_s,
  U_xyy = sum c d_xy / (2 C_xy²) + sum (c_xy d_yx + c_yx d_xy) / (2 C_xy C_yx)
          + sum c_yx d_yx / (2 C_yx²),
  and the covariance of L_xy and L_xz (a multi-arm design) the extension given by
  Efthimiou et al. (2019, appendix), with terms a_x b_y b_z, n_x b_y a_z, n_x a_y b_z and
  b_x a_y a_z over N_s², each divided by 3 C C;
* the pairwise MH estimates of a multi-arm design do not add up around its loops, so
  they are made consistent by averaging, Lbar_xy = (sum_j L_xj - sum_j L_yj) / n, whose
  (co)variances follow from the U's;
* the design-level contrasts (each treatment against the design's first) are combined
  across designs by generalised least squares; the weighted residual sum of squares is
  the Q of inconsistency between designs (Q of heterogeneity within designs, and so
  the total Q, is not defined for this model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .._result import ResultMixin, fmt, fmt_p, frozen_array, jsonable, note_lines
from ..errors import AnalysisWarning, DataError, ExcludedStudy, ModelError
from .data import resolve_treatment_order, treatment_sort_key
from .league import League, league_from_fit

__all__ = ["MHDesign", "MHNMAResult", "mh_nma"]


@dataclass(frozen=True, eq=False)
class MHDesign:
    """One design's Mantel-Haenszel estimates: its treatments (the first is the
    baseline), studies, the contrasts of the other treatments against the first
    (log OR) and their covariance."""

    design: str
    treatments: tuple[str, ...]
    studies: tuple[str, ...]
    estimate: np.ndarray
    vcov: np.ndarray

    def to_dict(self) -> dict:
        return jsonable(
            {
                "design": self.design,
                "treatments": list(self.treatments),
                "studies": list(self.studies),
                "estimate": self.estimate,
                "vcov": self.vcov,
            }
        )


@dataclass(frozen=True, eq=False)
class MHNMAResult(ResultMixin):
    """A Mantel-Haenszel network meta-analysis (common effect, log odds ratios).

    ``treatments`` start with the ``reference``; ``coef`` are the other treatments
    against it, with covariance ``vcov``.  ``q_inconsistency`` is the Q between designs;
    there is no heterogeneity Q nor tau² for this model.
    """

    treatments: tuple[str, ...]
    reference: str
    level: float
    coef: np.ndarray
    vcov: np.ndarray
    q_inconsistency: float
    q_inconsistency_df: int
    q_inconsistency_pval: float
    designs: tuple[MHDesign, ...]
    studies: tuple[str, ...]
    cc_pooled: bool = False
    incr: float = 0.0
    larger_better: bool = False
    measure: str = "OR"
    method: str = "MH"
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)

    @property
    def k(self) -> int:
        return len(self.studies)

    @property
    def n_treatments(self) -> int:
        return len(self.treatments)

    @property
    def n_designs(self) -> int:
        return len(self.designs)

    def treatment_effects(self) -> np.ndarray:
        return np.concatenate([[0.0], np.asarray(self.coef)])

    def treatment_covariance(self) -> np.ndarray:
        T = self.n_treatments
        C = np.zeros((T, T))
        C[1:, 1:] = self.vcov
        return C

    def league(self, level: float | None = None) -> League:
        """All pairwise estimates (row minus column, log OR); a common-effect model, so
        the prediction intervals equal the confidence intervals."""
        level = self.level if level is None else float(level)
        return league_from_fit(self.treatments, np.asarray(self.coef), np.asarray(self.vcov), 0.0, level, None)

    def effects(self, level: float | None = None) -> pd.DataFrame:
        """Every treatment against the reference (reference row zero, z and p NaN)."""
        lg = self.league(level)
        est, se = lg.est[:, 0], lg.se[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
        return pd.DataFrame(
            {
                "treatment": list(self.treatments),
                "estimate": est,
                "se": se,
                "ci_low": lg.ci_low[:, 0],
                "ci_high": lg.ci_high[:, 0],
                "z": z,
                "pval": lg.pval[:, 0],
            }
        )

    def p_scores(self, larger_better: bool | None = None):
        """P-scores (Rücker & Schwarzer 2015) in the recorded direction of benefit."""
        from .ranking import p_scores

        lb = self.larger_better if larger_better is None else bool(larger_better)
        return p_scores(self.treatment_effects(), self.treatment_covariance(), self.treatments, larger_better=lb)

    def design_table(self) -> pd.DataFrame:
        rows = []
        for d in self.designs:
            se = np.sqrt(np.diag(np.asarray(d.vcov)))
            for t, e, s in zip(d.treatments[1:], d.estimate, se):
                rows.append({"design": d.design, "studies": len(d.studies), "treatment1": t,
                             "treatment2": d.treatments[0], "estimate": float(e), "se": float(s)})
        return pd.DataFrame(rows, columns=["design", "studies", "treatment1", "treatment2", "estimate", "se"])

    def to_frame(self) -> pd.DataFrame:
        return self.effects()

    def summary(self) -> str:
        lines = [
            f"Mantel-Haenszel network meta-analysis (log odds ratio, common effect; reference: {self.reference})",
            f"{self.k} studies, {self.n_treatments} treatments, {self.n_designs} designs"
            + (f"; {self.incr:g} added to every cell of designs with a treatment without events (cc.pooled)" if self.cc_pooled else ""),
            f"Q between designs (inconsistency) = {fmt(self.q_inconsistency)} (df = {self.q_inconsistency_df}), "
            f"p = {fmt_p(self.q_inconsistency_pval)}",
            "",
            f"Treatment effects against {self.reference} ({int(round(self.level * 100))}% CI):",
        ]
        eff = self.effects().set_index("treatment").drop(index=self.reference)
        lines.append(eff[["estimate", "se", "ci_low", "ci_high", "pval"]].to_string(float_format=lambda x: f"{x:.4f}"))
        notes = note_lines(self)
        if notes:
            lines += [""] + notes
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "method": self.method,
                "measure": self.measure,
                "treatments": list(self.treatments),
                "reference": self.reference,
                "level": self.level,
                "k": self.k,
                "studies": list(self.studies),
                "cc_pooled": self.cc_pooled,
                "incr": self.incr,
                "effects": self.effects().to_dict(orient="records"),
                "vcov": self.vcov,
                "league": self.league().records(),
                "q_inconsistency": self.q_inconsistency,
                "q_inconsistency_df": self.q_inconsistency_df,
                "q_inconsistency_pval": self.q_inconsistency_pval,
                "designs": [d.to_dict() for d in self.designs],
                "larger_better": self.larger_better,
                "warnings": [w.to_dict() for w in self.warnings],
                "excluded": [e.to_dict() for e in self.excluded],
            }
        )


# ---------------------------------------------------------------------------------
# stage II: one design


def design_estimates(a: np.ndarray, b: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mantel-Haenszel estimates of one design (Efthimiou et al. 2019, section 3).

    ``a``, ``b``, ``n``: (studies x treatments) events, non-events and patients.
    Returns Lbar (the consistent n x n matrix of log odds ratios, row versus column),
    the (n-1) contrasts of treatments 2..n against treatment 1 (Lbar[j, 0]) and their
    covariance.
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    n = np.asarray(n, float)
    S, T = a.shape
    N = n.sum(axis=1)
    c = a[:, :, None] * b[:, None, :] / N[:, None, None]  # c[s, x, y] = a_x b_y / N
    d = (a[:, :, None] + b[:, None, :]) / N[:, None, None]
    C = c.sum(axis=0)
    Ct = C.T
    with np.errstate(divide="ignore", invalid="ignore"):
        L = np.log(C / Ct)
    np.fill_diagonal(L, 0.0)
    ct = np.transpose(c, (0, 2, 1))
    dt = np.transpose(d, (0, 2, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        U2 = (
            (c * d).sum(axis=0) / (2 * C**2)
            + (c * dt + ct * d).sum(axis=0) / (2 * C * Ct)
            + (ct * dt).sum(axis=0) / (2 * Ct**2)
        )
    np.fill_diagonal(U2, 0.0)  # U2[x, y] = var(L_xy)
    # covariance of L_xy and L_xz for distinct x, y, z
    N2 = N**2
    T1 = np.einsum("sx,sy,sz,s->xyz", a, b, b, 1 / N2)
    T2 = np.einsum("sx,sy,sz,s->xyz", n, b, a, 1 / N2)
    T3 = np.einsum("sx,sy,sz,s->xyz", n, a, b, 1 / N2)
    T4 = np.einsum("sx,sy,sz,s->xyz", b, a, a, 1 / N2)
    idx = np.arange(T)
    distinct = (idx[:, None, None] != idx[None, :, None]) & (idx[:, None, None] != idx[None, None, :]) & (
        idx[None, :, None] != idx[None, None, :]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        U3 = (
            T1 / (3 * C[:, :, None] * C[:, None, :])
            + T2 / (3 * C[:, :, None] * Ct[:, None, :])
            + T3 / (3 * Ct[:, :, None] * C[:, None, :])
            + T4 / (3 * Ct[:, :, None] * Ct[:, None, :])
        )
    U3 = np.where(distinct, U3, 0.0)
    # cov(L_xy, L_xz) for y, z != x (y = z gives the variance)
    Unew = U3.copy()
    for x in range(T):
        for y in range(T):
            if x != y:
                Unew[x, y, y] = U2[x, y]
    # U+_x = var(sum_j L_xj), U+_xy = cov(sum_j L_xj, sum_k L_yk)
    Uxx = U2.sum(axis=1) + U3.sum(axis=(1, 2))
    Uxy = Unew.sum(axis=0) - Unew.sum(axis=2) - Unew.sum(axis=2).T + np.einsum("xyy->xy", Unew)
    rows = L.sum(axis=1)
    Lbar = (rows[:, None] - rows[None, :]) / T
    est = Lbar[1:, 0]
    j = np.arange(1, T)
    V = (Uxx[0] - Uxy[0, j][None, :] - Uxy[j, 0][:, None] + Uxy[np.ix_(j, j)]) / T**2
    var = (Uxx[j] - 2 * Uxy[j, 0] + Uxx[0]) / T**2
    V[np.arange(T - 1), np.arange(T - 1)] = var
    return Lbar, est, V


# ---------------------------------------------------------------------------------
# stage I and the fit


def _arm_frame(arms: Any) -> tuple[pd.DataFrame, tuple[ExcludedStudy, ...], tuple[AnalysisWarning, ...]]:
    from ..data import schema
    from ..data.readers import read_arms

    if isinstance(arms, pd.DataFrame):
        arms = read_arms(arms)
    if not isinstance(arms, schema.ArmTable):
        raise DataError(f"Mantel-Haenszel network meta-analysis needs arm-level event counts, not {type(arms).__name__}")
    if arms.outcome_type != "binary":
        raise DataError("Mantel-Haenszel network meta-analysis needs event counts; the arm data hold means")
    f = arms.frame[[schema.STUDY, schema.TREATMENT, schema.EVENTS, schema.N]].copy()
    f.columns = ["study", "treatment", "events", "n"]
    f["study"] = f["study"].astype(str)
    f["treatment"] = f["treatment"].astype(str)
    return f, tuple(arms.excluded), tuple(arms.warnings)


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def mh_nma(
    arms: Any,
    *,
    reference: str | None = None,
    level: float = 0.95,
    cc_pooled: bool = False,
    incr: float = 0.5,
    order: Sequence[str] | None = None,
    larger_better: bool = False,
) -> MHNMAResult:
    """Mantel-Haenszel network meta-analysis (Efthimiou et al. 2019, Stat Med
    38:2992; netmeta's ``netmetabin(method = "MH")``) of arm-level event counts
    (an :class:`~netgrade.data.schema.ArmTable` or a data frame with columns study,
    treatment, events, n).

    Studies and arms that carry no information are excluded as the paper's stage I
    prescribes and listed on the result (``excluded`` and ``warnings``).  With
    ``cc_pooled=True``, ``incr`` is instead added to every cell of the designs with a
    treatment without events (or with only events).  ``order`` sets the order of the
    treatments in tables (the reference first).  ``larger_better`` is the direction of
    benefit for rankings (default, as for :func:`nma`: smaller is better, i.e. the
    events are harms; set True when the event is the desired outcome).
    """
    if not 0 < level < 1:
        raise ModelError("level must be between 0 and 1")
    if cc_pooled and not incr > 0:
        raise ModelError("cc_pooled needs a positive incr")
    frame, excluded0, warnings0 = _arm_frame(arms)
    excluded = list(excluded0)
    warnings = list(warnings0)

    # arrays: studies in order of appearance, treatments in R's collation order
    study_codes, study_names = pd.factorize(frame["study"], sort=False)
    study_names = [str(x) for x in study_names]
    all_trts = sorted(set(frame["treatment"]), key=treatment_sort_key)
    tcode = {t: i for i, t in enumerate(all_trts)}
    t_of_row = np.array([tcode[t] for t in frame["treatment"]], dtype=int)
    ev_row = frame["events"].to_numpy(float)
    n_row = frame["n"].to_numpy(float)
    order_rows = np.lexsort((t_of_row, study_codes))
    bounds = np.flatnonzero(np.diff(study_codes[order_rows])) + 1
    rows_of: dict[int, np.ndarray] = {}
    for chunk in np.split(order_rows, bounds):
        if chunk.size:
            rows_of[int(study_codes[chunk[0]])] = chunk
    live: list[int] = []
    for sc in range(len(study_names)):
        rows = rows_of[sc]
        if np.any(np.diff(t_of_row[rows]) == 0):
            dup = sorted({all_trts[t] for t in t_of_row[rows][1:][np.diff(t_of_row[rows]) == 0]}, key=treatment_sort_key)
            raise DataError(f"study {study_names[sc]!r} has more than one arm of {', '.join(dup)}; combine them or relabel")
        if rows.size < 2:
            excluded.append(ExcludedStudy(study_names[sc], "only one arm: a single-arm study has no comparison"))
            continue
        live.append(sc)

    def label(codes) -> str:
        return ":".join(all_trts[c] for c in codes)  # codes are in collation order

    # step i: no events, or only events, in every arm
    ev_tot = np.bincount(study_codes, ev_row, minlength=len(study_names))
    ne_tot = np.bincount(study_codes, n_row - ev_row, minlength=len(study_names))
    none_ev = [study_names[sc] for sc in live if ev_tot[sc] == 0]
    all_ev = [study_names[sc] for sc in live if ev_tot[sc] > 0 and ne_tot[sc] == 0]
    for s in none_ev:
        excluded.append(ExcludedStudy(s, "no events in any arm: no information on the odds ratio (Mantel-Haenszel stage I)"))
    for s in all_ev:
        excluded.append(ExcludedStudy(s, "only events in every arm: no information on the odds ratio (Mantel-Haenszel stage I)"))
    if none_ev or all_ev:
        gone = none_ev + all_ev
        warnings.append(
            AnalysisWarning(
                "mh_studies_without_information",
                f"{len(gone)} {_plural(len(gone), 'study', 'studies')} without any events or with only events excluded: "
                + ", ".join(gone),
                tuple(gone),
            )
        )
        live = [sc for sc in live if ev_tot[sc] > 0 and ne_tot[sc] > 0]

    # designs (treatment sets); within a design every study has the same arms, in the
    # same (collation) order, so a design's data are (studies x treatments) matrices
    designs: dict[tuple[int, ...], list[int]] = {}
    for sc in live:
        designs.setdefault(tuple(int(t) for t in t_of_row[rows_of[sc]]), []).append(sc)
    data: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, list[int]]] = {}
    for key, scs in designs.items():
        rows = np.concatenate([rows_of[sc] for sc in scs])
        A = ev_row[rows].reshape(len(scs), len(key))
        Nn = n_row[rows].reshape(len(scs), len(key))
        data[key] = (A, Nn, list(range(len(key))))

    # step iii: treatments without events (or with only events) in a whole design
    dropped_arms: dict[tuple[int, ...], list[str]] = {}
    corrected: list[tuple[int, ...]] = []
    for key, (A, Nn, cols) in data.items():
        dlab = label(key)
        ss = [study_names[sc] for sc in designs[key]]
        tot_e, tot_n = A.sum(axis=0), Nn.sum(axis=0)
        sparse = []
        for j, c in enumerate(key):
            if tot_e[j] == 0:
                sparse.append((j, "without events"))
            elif tot_e[j] == tot_n[j]:
                sparse.append((j, "with only events"))
        if not sparse:
            continue
        if cc_pooled:
            corrected.append(key)
            data[key] = (A + incr, Nn + 2 * incr, cols)
            continue
        for j, kind in sparse:
            warnings.append(
                AnalysisWarning(
                    "mh_arm_excluded",
                    f"treatment arm {all_trts[key[j]]!r} {kind} in design {dlab!r} excluded from the network "
                    f"meta-analysis (studies {', '.join(ss)})",
                    tuple(ss),
                )
            )
        drop = {j for j, _ in sparse}
        dropped_arms[key] = [all_trts[key[j]] for j in sorted(drop)]
        data[key] = (A, Nn, [j for j in cols if j not in drop])
    if corrected:
        warnings.append(
            AnalysisWarning(
                "continuity_correction",
                f"{incr:g} added to every cell of every study in {len(corrected)} "
                f"{_plural(len(corrected), 'design', 'designs')} with a treatment without events or with only events: "
                + ", ".join(label(k) for k in corrected),
                tuple(study_names[sc] for k in corrected for sc in designs[k]),
            )
        )

    # step iv: designs left with a single treatment
    for key in list(designs):
        if len(data[key][2]) >= 2:
            continue
        dlab = label(key)
        ss = [study_names[sc] for sc in designs.pop(key)]
        del data[key]
        warnings.append(
            AnalysisWarning(
                "mh_design_excluded",
                f"design {dlab!r} with a single treatment arm left excluded from the network meta-analysis "
                f"(studies {', '.join(ss)})",
                tuple(ss),
            )
        )
        for s in ss:
            excluded.append(
                ExcludedStudy(
                    s,
                    f"design {dlab} has a single treatment with events left after removing "
                    f"{', '.join(dropped_arms.get(key, ()))} (Mantel-Haenszel stage I)",
                )
            )
    if not designs:
        raise ModelError("no study is left for the Mantel-Haenszel network meta-analysis after stage I")

    # stage II per design
    mh_designs: list[MHDesign] = []
    for key, (A, Nn, cols) in data.items():
        dlab = label(key)
        A, Nn = A[:, cols], Nn[:, cols]
        _, est, V = design_estimates(A, Nn - A, Nn)
        if not (np.all(np.isfinite(est)) and np.all(np.isfinite(V))):
            raise ModelError(f"the Mantel-Haenszel estimates of design {dlab!r} are not finite")
        trts = tuple(all_trts[key[j]] for j in cols)
        mh_designs.append(
            MHDesign(dlab, trts, tuple(study_names[sc] for sc in designs[key]), frozen_array(est), frozen_array(V))
        )

    # treatments, connectivity, reference
    present = sorted({t for d in mh_designs for t in d.treatments}, key=treatment_sort_key)
    lost = sorted(set(frame["treatment"]) - set(present), key=treatment_sort_key)
    if lost:
        warnings.append(
            AnalysisWarning("mh_treatment_lost", "no data left for treatment(s) " + ", ".join(lost) + " after stage I")
        )
    parent = {t: t for t in present}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for d in mh_designs:
        for t in d.treatments[1:]:
            parent[find(t)] = find(d.treatments[0])
    groups: dict[str, list[str]] = {}
    for t in present:
        groups.setdefault(find(t), []).append(t)
    if len(groups) > 1:
        raise ModelError(
            f"after stage I the network falls into {len(groups)} sub-networks, which cannot be compared: "
            + "; ".join("{" + ", ".join(g) + "}" for g in groups.values())
        )
    treatments = resolve_treatment_order(present, reference, order, warnings)
    reference = treatments[0]
    col = {t: i - 1 for i, t in enumerate(treatments)}
    p = len(treatments) - 1

    # stage II across designs: GLS of the design contrasts
    M = np.zeros((p, p))
    u = np.zeros(p)
    parts = []
    for d in mh_designs:
        m = len(d.treatments) - 1
        X = np.zeros((m, p))
        for r, t in enumerate(d.treatments[1:]):
            if col[t] >= 0:
                X[r, col[t]] += 1.0
            if col[d.treatments[0]] >= 0:
                X[r, col[d.treatments[0]]] -= 1.0
        W = linalg.inv(np.asarray(d.vcov))
        W = 0.5 * (W + W.T)
        M += X.T @ W @ X
        u += X.T @ W @ np.asarray(d.estimate)
        parts.append((X, W, np.asarray(d.estimate)))
    coef = linalg.solve(M, u, assume_a="pos")
    vcov = linalg.inv(M)
    q = float(sum((y - X @ coef) @ W @ (y - X @ coef) for X, W, y in parts))
    df = sum(len(d.treatments) - 1 for d in mh_designs) - p
    pval = float(stats.chi2.sf(q, df)) if df > 0 else math.nan
    used = tuple(s for d in mh_designs for s in d.studies)
    return MHNMAResult(
        treatments=treatments,
        reference=reference,
        level=float(level),
        coef=frozen_array(coef),
        vcov=frozen_array(0.5 * (vcov + vcov.T)),
        q_inconsistency=q,
        q_inconsistency_df=int(df),
        q_inconsistency_pval=pval,
        designs=tuple(mh_designs),
        studies=used,
        cc_pooled=bool(cc_pooled),
        incr=float(incr) if cc_pooled else 0.0,
        larger_better=bool(larger_better),
        warnings=tuple(warnings),
        excluded=tuple(excluded),
    )
