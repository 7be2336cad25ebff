"""Arm-based network meta-analysis with fixed study effects, as metafor fits it.

The model of the metadat help pages (dat.hasselblad1998, dat.senn2013), fitted with
metafor's ``rma.mv`` (Viechtbauer 2010, J Stat Softw 36(3):1): every arm's outcome
(a logit proportion, a mean, ...; metafor's ``escalc`` for single groups) is

    y_si = alpha_s + beta_t(si) + u_si + e_si,

with a fixed effect alpha_s per study (so that only within-study comparisons inform
the treatment effects beta -- the "contrast-based" use of arm-level data, Dias & Ades
2016, Res Synth Methods 7:23; White, Turner, Karahalios & Salanti 2019, Stat Med
38:5197), treatment effects beta against the reference, sampling errors e_si with
known variance v_si, and random arm effects u_si with variance tau² and correlation
rho between the arms of one study (``random = ~ trt | study``, struct "CS", rho fixed
at 1/2 on the help page):

    rma.mv(yi, vi, mods = ~ factor(study) + trt - 1, random = ~ trt | study, rho = 1/2)

With rho = 1/2 the differences between arms have variance v_i + v_j + tau² and
covariance tau²/2 across the contrasts of a multi-arm study: the consistency model of
the contrast-based network meta-analysis (Higgins & Whitehead 1996, Stat Med 15:2733),
whose REML estimates of tau² and beta are the same (REML does not depend on the choice
of error contrasts; Harville 1974, Biometrika 61:383).

tau² is estimated by REML (default) or ML, solved to full precision by Fisher scoring
and a root search of the score.  The study effects are profiled out study by study, so
the cost grows linearly with the number of studies.  The (restricted) log-likelihood
has metafor's constants (REML: including + 1/2 log|X'X|), so that logLik, deviance,
AIC, BIC and AICc match ``rma.mv``; QE is the residual heterogeneity Q of the fit with
tau² = 0 (Cochran 1954, Biometrics 10:101).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from .._result import ResultMixin, fmt, fmt_p, frozen_array, jsonable, note_lines
from ..data.effect_sizes import escalc, measure_info
from ..errors import AnalysisWarning, DataError, ExcludedStudy, ModelError
from ..pairwise.fit_stats import information_criteria
from .components import EffectTable
from .data import resolve_treatment_order, treatment_sort_key
from .league import League, league_from_fit

__all__ = ["ArmBasedResult", "arm_based_nma", "arm_based_fit"]

SINGLE_GROUP = ("PR", "PLN", "PLO", "PAS", "PFT", "MN", "MNLN")


@dataclass(frozen=True, eq=False)
class ArmBasedResult(ResultMixin):
    """A fitted arm-based network model with fixed study effects.

    ``treatments`` start with the ``reference``; ``coef`` (with covariance ``vcov``) are
    the other treatments' effects against it on the scale of the arm measure (for PLO a
    log odds ratio, for MN a mean difference).  ``arms`` lists the analysed arms with
    their ``yi`` and ``vi``.
    """

    treatments: tuple[str, ...]
    reference: str
    measure: str
    method: str
    rho: float
    level: float
    coef: np.ndarray
    vcov: np.ndarray
    effects_table: EffectTable
    tau2: float
    tau2_fixed: bool
    qe: float
    qe_df: int
    qe_pval: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    n_arms: int
    n_studies: int
    n_par: int
    study: tuple[str, ...]
    treatment: tuple[str, ...]
    yi: np.ndarray
    vi: np.ndarray
    larger_better: bool = False
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def k(self) -> int:
        return self.n_arms

    @property
    def se(self) -> np.ndarray:
        return self.effects_table.se

    def treatment_effects(self) -> np.ndarray:
        return np.concatenate([[0.0], np.asarray(self.coef)])

    def treatment_covariance(self) -> np.ndarray:
        T = len(self.treatments)
        C = np.zeros((T, T))
        C[1:, 1:] = self.vcov
        return C

    def league(self, level: float | None = None) -> League:
        """All pairwise estimates (row minus column); prediction intervals with the
        normal distribution and tau² (metafor's ``predict``)."""
        level = self.level if level is None else float(level)
        return league_from_fit(self.treatments, np.asarray(self.coef), np.asarray(self.vcov), self.tau2, level, None)

    def effects(self) -> pd.DataFrame:
        return self.effects_table.to_frame().rename(columns={"name": "treatment"})

    def p_scores(self, larger_better: bool | None = None):
        from .ranking import p_scores

        lb = self.larger_better if larger_better is None else bool(larger_better)
        return p_scores(self.treatment_effects(), self.treatment_covariance(), self.treatments, larger_better=lb)

    def arms(self) -> pd.DataFrame:
        return pd.DataFrame({"study": list(self.study), "treatment": list(self.treatment), "yi": self.yi, "vi": self.vi})

    def to_frame(self) -> pd.DataFrame:
        return self.effects()

    def summary(self) -> str:
        lines = [
            f"Arm-based network model with fixed study effects ({self.measure} per arm; reference: {self.reference}; "
            f"tau² by {self.method}, rho = {self.rho:g})",
            f"{self.n_arms} arms in {self.n_studies} studies, {len(self.treatments)} treatments",
            f"tau² = {fmt(self.tau2)}, tau = {fmt(self.tau)}" + (" (fixed)" if self.tau2_fixed else ""),
            f"QE = {fmt(self.qe)} (df = {self.qe_df}), p = {fmt_p(self.qe_pval)}",
            f"logLik = {fmt(self.loglik)}, AIC = {fmt(self.aic)}, BIC = {fmt(self.bic)}",
            "",
            f"Treatment effects against {self.reference} ({int(round(self.level * 100))}% CI):",
            self.effects().to_string(index=False, float_format=lambda x: f"{x:.4f}"),
        ]
        notes = note_lines(self)
        if notes:
            lines += [""] + notes
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "model": "arm-based, fixed study effects, random = ~ treatment | study (CS, rho fixed)",
                "measure": self.measure,
                "method": self.method,
                "rho": self.rho,
                "level": self.level,
                "treatments": list(self.treatments),
                "reference": self.reference,
                "effects": self.effects().to_dict(orient="records"),
                "vcov": self.vcov,
                "tau2": self.tau2,
                "tau": self.tau,
                "tau2_fixed": self.tau2_fixed,
                "qe": self.qe,
                "qe_df": self.qe_df,
                "qe_pval": self.qe_pval,
                "fit_stats": {"loglik": self.loglik, "deviance": self.deviance, "aic": self.aic, "bic": self.bic, "aicc": self.aicc},
                "n_arms": self.n_arms,
                "n_studies": self.n_studies,
                "larger_better": self.larger_better,
                "arms": self.arms().to_dict(orient="records"),
                "warnings": [w.to_dict() for w in self.warnings],
                "excluded": [e.to_dict() for e in self.excluded],
            }
        )


# ---------------------------------------------------------------------------------
# the likelihood, study effects profiled out


class _Groups:
    """Studies stacked by number of arms: y (N, a), v (N, a), Z (N, a, q).

    With X = [D | Z] (D the study indicators, Z the treatment columns) and
    Sigma_s = diag(v_s) + tau² G, G = (1 - rho) I + rho 1 1', the study effects are
    eliminated by partitioned inversion: with M_s = Sigma_s^-1 - Sigma_s^-1 1 1'
    Sigma_s^-1 / (1' Sigma_s^-1 1),

        beta = (sum Z_s' M_s Z_s)^-1 sum Z_s' M_s y_s,
        log|X' Sigma^-1 X| = sum log(1' Sigma_s^-1 1) + log|sum Z_s' M_s Z_s|,
        log|X'X| = sum log a_s + log|sum Z_s' (I - 1 1'/a_s) Z_s|,
        y' P y = sum y_s' M_s y_s - beta' sum Z_s' M_s y_s,

    and P y = M_s (y_s - Z_s beta) study by study (P the REML projection), which gives
    the score and the expected information of tau² (Harville 1977, J Am Stat Assoc
    72:320) without forming any matrix larger than a study or q x q.
    """

    def __init__(self, blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], q: int, rho: float):
        by: dict[int, list[int]] = {}
        for i, (y, _, _) in enumerate(blocks):
            by.setdefault(len(y), []).append(i)
        self.groups = []
        for a, idx in sorted(by.items()):
            Y = np.stack([blocks[i][0] for i in idx])
            V = np.stack([blocks[i][1] for i in idx])
            Z = np.stack([blocks[i][2] for i in idx]).reshape(len(idx), a, q)
            G = (1.0 - rho) * np.eye(a) + rho * np.ones((a, a))
            self.groups.append((a, Y, V, Z, G))
        self.q = q
        self.n = sum(a * len(Y) for a, Y, _, _, _ in self.groups)
        self.k = len(blocks)
        self.p = self.k + q
        # log|X'X| = sum log a_s + log|Z' C Z| (C centres each study)
        ZCZ = np.zeros((q, q))
        la = 0.0
        for a, Y, _, Z, _ in self.groups:
            Zc = Z - Z.mean(axis=1, keepdims=True)
            ZCZ += np.einsum("nip,niq->pq", Zc, Zc)
            la += len(Y) * math.log(a)
        sign, ld = np.linalg.slogdet(ZCZ) if q else (1.0, 0.0)
        if q and sign <= 0:
            raise ModelError("the treatment effects are not identifiable from within-study comparisons")
        self.logdet_xx = la + ld

    def parts(self, tau2: float, derivatives: bool = False) -> dict:
        q = self.q
        A = np.zeros((q, q))
        u = np.zeros(q)
        yMy = 0.0
        logdet = 0.0
        logs1 = 0.0
        cache = []
        for a, Y, V, Z, G in self.groups:
            S = V[:, :, None] * np.eye(a)[None] + tau2 * G[None]
            ch = np.linalg.cholesky(S)
            logdet += float(2.0 * np.sum(np.log(np.diagonal(ch, axis1=1, axis2=2))))
            Si = np.linalg.inv(S)
            Si = 0.5 * (Si + np.transpose(Si, (0, 2, 1)))
            s1v = Si.sum(axis=2)  # Si 1
            s1 = s1v.sum(axis=1)  # 1' Si 1
            logs1 += float(np.sum(np.log(s1)))
            M = Si - s1v[:, :, None] * s1v[:, None, :] / s1[:, None, None]
            MZ = np.einsum("nij,njq->niq", M, Z)
            A += np.einsum("nip,niq->pq", Z, MZ)
            u += np.einsum("niq,ni->q", MZ, Y)
            yMy += float(np.einsum("ni,nij,nj->", Y, M, Y))
            cache.append((M, MZ, Si))
        beta = linalg.solve(A, u, assume_a="pos") if q else np.zeros(0)
        quad = yMy - float(u @ beta)
        _, ld_a = np.linalg.slogdet(A) if q else (1.0, 0.0)
        out = {"A": A, "beta": beta, "quad": quad, "logdet": logdet, "logs1": logs1, "ld_a": ld_a}
        if derivatives:
            Ai = linalg.inv(A) if q else np.zeros((0, 0))
            tr_MG = tr_SiG = tr_MGMG = tr_SiGSiG = rGr = 0.0
            ZMGMZ = np.zeros((q, q))
            ZMGMGMZ = np.zeros((q, q))
            for (a, Y, V, Z, G), (M, MZ, Si) in zip(self.groups, cache):
                MG = M @ G
                SiG = Si @ G
                tr_MG += float(np.einsum("nii->", MG))
                tr_SiG += float(np.einsum("nii->", SiG))
                tr_MGMG += float(np.einsum("nij,nji->", MG, MG))
                tr_SiGSiG += float(np.einsum("nij,nji->", SiG, SiG))
                GMZ = np.einsum("ij,njq->niq", G, MZ)
                ZMGMZ += np.einsum("nip,niq->pq", MZ, GMZ)
                MGMZ = np.einsum("nij,njq->niq", MG, GMZ)
                ZMGMGMZ += np.einsum("nip,niq->pq", MZ, np.einsum("ij,njq->niq", G, MGMZ))
                r = np.einsum("nij,nj->ni", M, Y) - np.einsum("niq,q->ni", MZ, beta)  # P y
                rGr += float(np.einsum("ni,ij,nj->", r, G, r))
            AZ = Ai @ ZMGMZ
            out.update(
                tr_PG=tr_MG - float(np.sum(Ai * ZMGMZ)),
                tr_PGPG=tr_MGMG - 2.0 * float(np.sum(Ai * ZMGMGMZ)) + float(np.sum(AZ * AZ.T)),
                tr_SiG=tr_SiG,
                tr_SiGSiG=tr_SiGSiG,
                rGr=rGr,
                vcov=Ai,
            )
        return out

    def loglik(self, tau2: float, reml: bool) -> float:
        f = self.parts(tau2)
        if reml:
            return float(
                -0.5 * (self.n - self.p) * math.log(2 * math.pi)
                + 0.5 * self.logdet_xx
                - 0.5 * f["logdet"]
                - 0.5 * (f["logs1"] + f["ld_a"])
                - 0.5 * f["quad"]
            )
        return float(-0.5 * self.n * math.log(2 * math.pi) - 0.5 * f["logdet"] - 0.5 * f["quad"])

    def score(self, tau2: float, reml: bool) -> tuple[float, float]:
        """d loglik / d tau² and the expected information."""
        f = self.parts(tau2, derivatives=True)
        if reml:
            return 0.5 * (f["rGr"] - f["tr_PG"]), 0.5 * f["tr_PGPG"]
        return 0.5 * (f["rGr"] - f["tr_SiG"]), 0.5 * f["tr_SiGSiG"]


def _solve_tau2(g: _Groups, reml: bool, start: float) -> tuple[float, list[str]]:
    notes: list[str] = []
    t = max(start, 0.0)
    converged = False
    for _ in range(500):
        s, info = g.score(t, reml)
        step = s / info
        while t + step < 0.0:
            step /= 2.0
            if abs(step) < 1e-300:
                break
        t_new = max(t + step, 0.0)
        done = abs(t_new - t) <= 1e-13 * max(1.0, t_new)
        t = t_new
        if done:
            converged = True
            break
    if not converged:
        notes.append("Fisher scoring did not settle; tau² located on a grid of the likelihood")
        grid = np.concatenate([[0.0], np.geomspace(1e-8, 1e3, 400)])
        lls = [g.loglik(x, reml) for x in grid]
        t = float(grid[int(np.argmax(lls))])
    if t > 0.0:
        for width in (1e-8, 1e-6, 1e-4, 1e-2, 0.5):
            lo, hi = t * (1 - width), t * (1 + width)
            if g.score(lo, reml)[0] > 0 > g.score(hi, reml)[0]:
                t = float(optimize.brentq(lambda x: g.score(x, reml)[0], lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps))
                break
        if g.loglik(0.0, reml) > g.loglik(t, reml):
            notes.append("the likelihood is higher at tau² = 0 than at the interior stationary point; tau² = 0")
            t = 0.0
    return t, notes


def arm_based_fit(
    study: Sequence[Any],
    treatment: Sequence[Any],
    yi: Sequence[float],
    vi: Sequence[float],
    *,
    reference: str | None = None,
    measure: str = "GEN",
    method: str = "REML",
    rho: float = 0.5,
    tau2: float | None = None,
    level: float = 0.95,
    order: Sequence[str] | None = None,
    larger_better: bool = False,
    warnings: Sequence[AnalysisWarning] = (),
    excluded: Sequence[ExcludedStudy] = (),
) -> ArmBasedResult:
    """Fit the arm-based model to arm-level estimates ``yi`` with sampling variances
    ``vi`` (one row per arm).  ``method`` is "REML" (metafor's default), "ML" or "FE"
    (tau² = 0); ``tau2`` fixes tau²; ``rho`` is the fixed correlation of the random
    effects of two arms of a study (1/2: the consistency model of contrast-based NMA).
    """
    m = str(method).strip().upper()
    m = {"COMMON": "FE", "EE": "FE", "CE": "FE", "FIXED": "FE"}.get(m, m)
    if m not in ("REML", "ML", "FE"):
        raise ModelError(f"unknown method {method!r}; choose REML, ML or FE")
    if not 0 < level < 1:
        raise ModelError("level must be between 0 and 1")
    if not -1.0 < float(rho) < 1.0:
        raise ModelError("rho must lie strictly between -1 and 1")
    study = [str(s) for s in study]
    treatment = [str(t) for t in treatment]
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    if not (len(study) == len(treatment) == len(yi) == len(vi)):
        raise DataError("study, treatment, yi and vi must have the same length")
    if not (np.all(np.isfinite(yi)) and np.all(np.isfinite(vi))):
        raise DataError("yi and vi must be finite (exclude arms without an estimate first)")
    if np.any(vi <= 0):
        bad = sorted({study[i] for i in np.flatnonzero(vi <= 0)})
        raise DataError("non-positive sampling variances in studies: " + ", ".join(bad))
    warnings = list(warnings)
    excluded = list(excluded)

    rows: dict[str, list[int]] = {}
    for i, s in enumerate(study):
        rows.setdefault(s, []).append(i)
    for s, idx in list(rows.items()):
        trts = [treatment[i] for i in idx]
        if len(set(trts)) != len(trts):
            raise DataError(f"study {s!r} has more than one arm of the same treatment")
        if len(idx) < 2:
            excluded.append(ExcludedStudy(s, "a single analysable arm: its study effect absorbs it, no comparison"))
            del rows[s]
    present = sorted({treatment[i] for idx in rows.values() for i in idx}, key=treatment_sort_key)
    if len(present) < 2:
        raise ModelError("the arm-based model needs at least two treatments compared within studies")
    treatments = resolve_treatment_order(present, reference, order, warnings)
    reference = treatments[0]
    col = {t: i - 1 for i, t in enumerate(treatments)}
    q = len(treatments) - 1
    blocks = []
    kept = []
    for s, idx in rows.items():
        Z = np.zeros((len(idx), q))
        for r, i in enumerate(idx):
            if col[treatment[i]] >= 0:
                Z[r, col[treatment[i]]] = 1.0
        blocks.append((yi[idx], vi[idx], Z))
        kept += idx
    g = _Groups(blocks, q, float(rho))
    # connectivity: Z'CZ singular means some treatment is not linked by within-study comparisons
    dfe = g.n - g.p
    fixed = tau2 is not None
    if m == "FE":
        t2 = 0.0
    elif fixed:
        t2 = float(tau2)
        if not t2 >= 0:
            raise ModelError("tau² must be non-negative")
    elif dfe < 1:
        warnings.append(AnalysisWarning("no_heterogeneity_df", "no degrees of freedom to estimate tau²; tau² = 0"))
        t2 = 0.0
    else:
        reml = m == "REML"
        f0 = g.parts(0.0)
        mean_v = float(np.mean(vi[kept]))
        start = max(f0["quad"] / dfe - 1.0, 0.0) * mean_v + 0.01 * mean_v
        t2, notes = _solve_tau2(g, reml, start)
        warnings += [AnalysisWarning("tau2_solver", f"{m}: {n}") for n in notes]
        if t2 == 0.0:
            warnings.append(AnalysisWarning("tau2_boundary", f"tau² estimated at 0 by {m}"))
    f = g.parts(t2, derivatives=True)
    beta, V = f["beta"], f["vcov"]
    V = 0.5 * (V + V.T)
    qe = float(g.parts(0.0)["quad"])
    reml_ll = m in ("REML", "FE")
    ll = g.loglik(t2, reml_ll)
    n_par = g.p + (0 if (m == "FE" or fixed) else 1)
    n_obs = g.n - g.p if reml_ll else g.n
    aic, bic, aicc = information_criteria(ll, n_par, n_obs)
    eff = EffectTable.make(treatments[1:], beta, np.sqrt(np.maximum(np.diag(V), 0.0)), level)
    return ArmBasedResult(
        treatments=treatments,
        reference=reference,
        measure=measure,
        method=m,
        rho=float(rho),
        level=float(level),
        coef=frozen_array(beta),
        vcov=frozen_array(V),
        effects_table=eff,
        tau2=float(t2),
        tau2_fixed=bool(fixed and m != "FE"),
        qe=qe,
        qe_df=int(dfe),
        qe_pval=float(stats.chi2.sf(qe, dfe)) if dfe > 0 else math.nan,
        loglik=ll,
        deviance=-2.0 * ll,
        aic=aic,
        bic=bic,
        aicc=aicc,
        n_arms=int(g.n),
        n_studies=int(g.k),
        n_par=int(n_par),
        study=tuple(study[i] for i in kept),
        treatment=tuple(treatment[i] for i in kept),
        yi=frozen_array(yi[kept]),
        vi=frozen_array(vi[kept]),
        larger_better=bool(larger_better),
        warnings=tuple(warnings),
        excluded=tuple(excluded),
    )


def arm_based_nma(
    arms: Any,
    *,
    measure: str | None = None,
    reference: str | None = None,
    method: str = "REML",
    rho: float = 0.5,
    tau2: float | None = None,
    add: float = 0.5,
    to: str = "all",
    vtype: str = "LS",
    level: float = 0.95,
    order: Sequence[str] | None = None,
    larger_better: bool = False,
) -> ArmBasedResult:
    """Arm-based network meta-analysis with fixed study effects (metafor's
    ``rma.mv(yi, vi, mods = ~ factor(study) + trt - 1, random = ~ trt | study,
    rho = 1/2)``) of an :class:`~netgrade.data.schema.ArmTable`.

    Each arm's outcome is computed with metafor's single-group ``escalc``: ``measure``
    PLO (default for event counts: logit, with ``add`` added to every cell of every arm
    for ``to="all"``, as the help page does), PR, PLN, PAS, PFT, or MN (default for
    means), MNLN.  Differences between treatments are then log odds ratios (PLO), mean
    differences (MN), ...  Arms without an estimate are excluded with the reason, and a
    study left with one arm carries no comparison.
    """
    from ..data import schema
    from ..data.readers import read_arms

    if isinstance(arms, pd.DataFrame):
        arms = read_arms(arms)
    if not isinstance(arms, schema.ArmTable):
        raise DataError(f"the arm-based model needs arm-level data, not {type(arms).__name__}")
    binary = arms.outcome_type == "binary"
    code = measure_info(measure or ("PLO" if binary else "MN")).code
    if code not in SINGLE_GROUP:
        raise ModelError(f"measure {code} is not a single-group (arm) measure; choose one of {', '.join(SINGLE_GROUP)}")
    f = arms.frame
    labels = [str(i) for i in range(len(f))]
    if code in ("MN", "MNLN"):
        if binary:
            raise DataError(f"measure {code} needs means and SDs; the arm data hold event counts")
        es = escalc(code, mi=f[schema.MEAN], sdi=f[schema.SD], ni=f[schema.N], studies=labels, vtype=vtype)
    else:
        if not binary:
            raise DataError(f"measure {code} needs event counts; the arm data hold means")
        es = escalc(code, xi=f[schema.EVENTS], ni=f[schema.N], add=add, to=to, studies=labels, vtype=vtype)
    pos = {lab: i for i, lab in enumerate(es.studies)}
    keep = np.array([i for i in range(len(f)) if labels[i] in pos], dtype=int)
    at = np.array([pos[labels[i]] for i in keep], dtype=int)
    study_col = f[schema.STUDY].astype(str).to_numpy()
    trt_col = f[schema.TREATMENT].astype(str).to_numpy()
    excluded = list(arms.excluded)
    warnings = list(arms.warnings)
    for e in es.excluded:
        i = int(e.study)
        excluded.append(ExcludedStudy(study_col[i], f"arm {trt_col[i]!r} excluded: {e.reason}"))
    added = np.zeros(len(es.yi)) if es.added is None else np.asarray(es.added, float)
    if code not in ("MN", "MNLN") and np.any(added > 0):
        hit = np.flatnonzero(added[at] > 0)
        warnings.append(
            AnalysisWarning(
                "continuity_correction",
                f"{add:g} added to the events and non-events of {hit.size} arm{'s' if hit.size != 1 else ''} (escalc to={to!r})",
                tuple(dict.fromkeys(study_col[keep[hit]])),
            )
        )
    return arm_based_fit(
        study_col[keep],
        trt_col[keep],
        np.asarray(es.yi)[at],
        np.asarray(es.vi)[at],
        reference=reference,
        measure=code,
        method=method,
        rho=rho,
        tau2=tau2,
        level=level,
        order=order,
        larger_better=larger_better,
        warnings=warnings,
        excluded=excluded,
    )
