"""Frequentist network meta-analysis: the consistency model, common and random effects.

``nma`` fits the model of _engine.py to network data: every treatment against a
chosen reference by generalised least squares, tau² by the generalised
DerSimonian-Laird method (netmeta's default; Jackson, White & Riley 2012, Stat Med
31:3805, with the network's multi-arm structure), REML or ML (the likelihood of
metafor's ``rma.mv`` with rho = 1/2, solved to full precision), or fixed.  Q is split
into heterogeneity within designs and inconsistency between designs (Krahn, Binder &
König 2013, BMC Med Res Methodol 13:35).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._optim import fisher_scoring, polish_root
from .._result import ResultMixin, fmt, fmt_p, frozen_array, jsonable
from ..errors import AnalysisWarning, DataError, ExcludedStudy, ModelError
from ..pairwise.fit_stats import information_criteria
from . import _engine
from .data import NetworkData, network_from_arms, network_from_contrasts, treatment_sort_key
from .league import League, league_from_fit

METHODS = ("FE", "DL", "REML", "ML")


def _canonical(method: str) -> str:
    m = str(method).strip().upper()
    m = {"COMMON": "FE", "EE": "FE", "CE": "FE", "FIXED": "FE", "RANDOM": "DL"}.get(m, m)
    if m not in METHODS:
        raise ModelError(f"unknown network method {method!r}; choose FE, DL, REML or ML")
    return m


@dataclass(frozen=True)
class DesignQ:
    """Within-design heterogeneity of one design."""

    design: str
    n_studies: int
    q: float
    df: int
    pval: float

    def to_dict(self) -> dict:
        return {"design": self.design, "n_studies": self.n_studies, "q": self.q, "df": self.df, "pval": self.pval}


@dataclass(frozen=True, eq=False)
class NMAResult(ResultMixin):
    """A fitted network meta-analysis.

    ``treatments`` start with the ``reference``; ``coef`` are the other treatments
    against it (analysis scale) with covariance ``vcov``.  ``i2`` is a percentage.
    ``larger_better`` records the direction of benefit used for rankings.
    """

    data: NetworkData
    treatments: tuple[str, ...]
    reference: str
    method: str
    level: float
    measure: str
    coef: np.ndarray
    vcov: np.ndarray
    tau2: float
    tau2_fixed: bool
    q: float
    q_df: int
    q_pval: float
    q_within: float
    q_within_df: int
    q_within_pval: float
    q_between: float
    q_between_df: int
    q_between_pval: float
    design_q: tuple[DesignQ, ...]
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    larger_better: bool = False
    multiarm: str = "netmeta"
    order: tuple[str, ...] | None = None  # the treatment order the user asked for, if any
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)
    common: "NMAResult | None" = None  # the common-effect fit, kept with a random-effects fit

    # -- sizes --------------------------------------------------------------------
    @property
    def k(self) -> int:
        return self.data.n_studies

    @property
    def n_contrasts(self) -> int:
        return self.data.n_pairs

    @property
    def n_treatments(self) -> int:
        return len(self.treatments)

    @property
    def n_designs(self) -> int:
        return len(self.data.designs)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def qm(self) -> float:
        """Omnibus Wald test that every treatment equals the reference: coef' vcov^-1 coef
        on ``qm_df`` = T - 1 degrees of freedom (metafor's QM for rma.mv with treatment
        contrasts and no intercept; Viechtbauer 2010, J Stat Softw 36(3))."""
        b = np.asarray(self.coef, float)
        return float(b @ np.linalg.solve(np.asarray(self.vcov, float), b)) if b.size else math.nan

    @property
    def qm_df(self) -> int:
        return int(np.asarray(self.coef).size)

    @property
    def qm_pval(self) -> float:
        return float(stats.chi2.sf(self.qm, self.qm_df)) if self.qm_df else math.nan

    @property
    def is_random(self) -> bool:
        return self.method != "FE"

    # -- estimates ----------------------------------------------------------------
    def league(self, level: float | None = None, pi: str = "t") -> League:
        """All pairwise estimates.  Prediction intervals use the t distribution with
        the network's Q degrees of freedom (``pi="t"``, netmeta's convention) or the
        normal distribution (``pi="z"``, metafor's ``rma.mv``); for a common-effect
        model they equal the confidence intervals."""
        level = self.level if level is None else float(level)
        if pi not in ("t", "z"):
            raise ModelError("pi must be 't' or 'z'")
        df = self.q_df if (pi == "t" and self.is_random) else None
        return league_from_fit(self.treatments, np.asarray(self.coef), np.asarray(self.vcov), self.tau2, level, df)

    def effects(self, level: float | None = None) -> pd.DataFrame:
        """Every treatment against the reference (reference row zero)."""
        lg = self.league(level)
        j = 0
        return pd.DataFrame(
            {
                "treatment": list(self.treatments),
                "estimate": lg.est[:, j],
                "se": lg.se[:, j],
                "ci_low": lg.ci_low[:, j],
                "ci_high": lg.ci_high[:, j],
                "pval": lg.pval[:, j],
                "pi_low": lg.pi_low[:, j],
                "pi_high": lg.pi_high[:, j],
            }
        )

    def treatment_covariance(self) -> np.ndarray:
        """T x T covariance of the treatment effects against the reference (zero row
        and column for the reference itself)."""
        T = self.n_treatments
        C = np.zeros((T, T))
        C[1:, 1:] = self.vcov
        return C

    def treatment_effects(self) -> np.ndarray:
        return np.concatenate([[0.0], self.coef])

    def with_reference(self, reference: str) -> "NMAResult":
        """The same fit expressed against another reference treatment."""
        return nma(
            self.data,
            reference=reference,
            method=self.method,
            level=self.level,
            tau2=self.tau2 if self.tau2_fixed else None,
            larger_better=self.larger_better,
            multiarm=self.multiarm,
            order=self.order,
        )

    # -- rankings ------------------------------------------------------------------
    def p_scores(self, larger_better: bool | None = None):
        """P-scores (Rücker & Schwarzer 2015) in the recorded direction of benefit."""
        from .ranking import p_scores

        lb = self.larger_better if larger_better is None else bool(larger_better)
        return p_scores(self.treatment_effects(), self.treatment_covariance(), self.treatments, larger_better=lb)

    def rank_probabilities(self, n_sim: int = 10000, seed: int = 20261121, larger_better: bool | None = None):
        """Rank probabilities and SUCRA by seeded resampling from the joint normal."""
        from .ranking import rank_probabilities

        lb = self.larger_better if larger_better is None else bool(larger_better)
        return rank_probabilities(
            self.treatment_effects(), self.treatment_covariance(), self.treatments, larger_better=lb, n_sim=n_sim, seed=seed
        )

    # -- presentation ----------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        return self.effects()

    def summary(self) -> str:
        kind = "Common-effect" if not self.is_random else "Random-effects"
        head = (
            f"{kind} network meta-analysis ({self.measure}; reference: {self.reference}"
            + (f"; tau² by {self.method}" if self.is_random else "")
            + ")"
        )
        lines = [
            head,
            f"{self.k} studies, {self.n_contrasts} pairwise comparisons, {self.n_treatments} treatments, {self.n_designs} designs",
            "",
        ]
        if self.is_random:
            lines.append(f"tau² = {fmt(self.tau2)}, tau = {fmt(self.tau)}" + (" (fixed)" if self.tau2_fixed else ""))
        lines += [
            f"I² = {fmt(self.i2, 1)}% [{fmt(self.i2_ci_low, 1)}%, {fmt(self.i2_ci_high, 1)}%]",
            f"Q = {fmt(self.q)} (df = {self.q_df}), p = {fmt_p(self.q_pval)}",
            f"  within designs (heterogeneity): Q = {fmt(self.q_within)} (df = {self.q_within_df}), p = {fmt_p(self.q_within_pval)}",
            f"  between designs (inconsistency): Q = {fmt(self.q_between)} (df = {self.q_between_df}), p = {fmt_p(self.q_between_pval)}",
            "",
            f"Treatment effects against {self.reference} ({int(round(self.level * 100))}% CI):",
        ]
        eff = self.effects().set_index("treatment").drop(index=self.reference)
        lines.append(eff[["estimate", "se", "ci_low", "ci_high", "pval"]].to_string(float_format=lambda x: f"{x:.4f}"))
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w.message}" for w in self.warnings]
        if self.excluded:
            lines += ["", "Excluded studies:"] + [f"  - {e}" for e in self.excluded]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        eff = self.effects()
        return jsonable(
            {
                "treatments": list(self.treatments),
                "reference": self.reference,
                "measure": self.measure,
                "method": self.method,
                "level": self.level,
                "k": self.k,
                "n_contrasts": self.n_contrasts,
                "n_designs": self.n_designs,
                "tau2": self.tau2,
                "tau": self.tau,
                "i2": self.i2,
                "i2_ci_low": self.i2_ci_low,
                "i2_ci_high": self.i2_ci_high,
                "q": self.q,
                "q_df": self.q_df,
                "q_pval": self.q_pval,
                "q_within": self.q_within,
                "q_within_df": self.q_within_df,
                "q_within_pval": self.q_within_pval,
                "q_between": self.q_between,
                "q_between_df": self.q_between_df,
                "q_between_pval": self.q_between_pval,
                "qm": self.qm,
                "qm_df": self.qm_df,
                "qm_pval": self.qm_pval,
                "design_q": [d.to_dict() for d in self.design_q],
                "effects": eff[["treatment", "estimate", "se", "ci_low", "ci_high", "pval", "pi_low", "pi_high"]].to_dict(orient="records"),
                "league": self.league().records(),
                "larger_better": self.larger_better,
                "fit_stats": {"loglik": self.loglik, "deviance": self.deviance, "aic": self.aic, "bic": self.bic, "aicc": self.aicc},
                "warnings": [w.to_dict() for w in self.warnings],
                "excluded": [e.to_dict() for e in self.excluded],
            }
        )


# ---------------------------------------------------------------------------------


def i2_interval(q: float, df: int, level: float) -> tuple[float, float, float]:
    """I² (percent) with the test-based interval of Higgins & Thompson (2002, Stat Med
    21:1539, appendix), computed through H = sqrt(Q/df) as R's meta and netmeta do."""
    if df < 1 or not math.isfinite(q):
        return math.nan, math.nan, math.nan
    z = stats.norm.ppf(1 - (1 - level) / 2)
    h = math.sqrt(max(q / df, 0.0))
    if q > df + 1:
        se_ln_h = 0.5 * (math.log(q) - math.log(df)) / (math.sqrt(2 * q) - math.sqrt(2 * df - 1))
    else:
        se_ln_h = math.sqrt(1.0 / (2 * (df - 1)) * (1 - 1.0 / (3 * (df - 1) ** 2))) if df > 1 else math.nan
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    if not math.isfinite(se_ln_h):
        return 100 * i2, math.nan, math.nan
    h_lo = max(1.0, math.exp(math.log(max(h, 1e-300)) - z * se_ln_h))
    h_hi = max(1.0, math.exp(math.log(max(h, 1e-300)) + z * se_ln_h))
    return 100 * i2, 100 * (h_lo**2 - 1) / h_lo**2, 100 * (h_hi**2 - 1) / h_hi**2


def _within_designs(design: _engine.Design, red: _engine.Reduced) -> tuple[DesignQ, ...]:
    """Q of each design around its own (design-specific) common-effect means.

    As netmeta's decomp.design does, each multi-arm study enters with its contrasts
    against its first arm as given (not projected onto consistent contrasts), so that
    the split agrees with netmeta also for rounded contrast-level input.  Two-arm
    designs are handled in one vectorised pass (there can be thousands of them).
    """
    labels_all, q_all, df_all, n_all = [], [], [], []
    for g, V in zip(design.groups, red.V):
        y = g.Y[:, 1:, 0]
        labels = np.array([design.data.blocks[i].design for i in g.index])
        uniq, inv = np.unique(labels, return_inverse=True)
        if g.m == 1:
            w = 1.0 / V[:, 0, 0]
            yy = y[:, 0]
            sw = np.bincount(inv, w)
            swy = np.bincount(inv, w * yy)
            swyy = np.bincount(inv, w * yy * yy)
            q = np.maximum(swyy - swy * swy / sw, 0.0)
            counts = np.bincount(inv)
            labels_all += list(uniq)
            q_all += list(q)
            n_all += list(counts)
            df_all += list(counts - 1)
            continue
        W = np.linalg.inv(V)
        for d, lab in enumerate(uniq):
            idx = np.flatnonzero(inv == d)
            Wd, yd = W[idx], y[idx]
            mu = np.linalg.solve(Wd.sum(axis=0), np.einsum("nij,nj->i", Wd, yd))
            r = yd - mu
            labels_all.append(lab)
            q_all.append(float(np.einsum("ni,nij,nj->", r, Wd, r)))
            n_all.append(len(idx))
            df_all.append((len(idx) - 1) * g.m)
    df_arr = np.asarray(df_all, float)
    q_arr = np.asarray(q_all, float)
    pvals = np.where(df_arr > 0, stats.chi2.sf(q_arr, np.maximum(df_arr, 1)), np.nan)
    # first-appearance order of designs in the data
    first = {}
    for b in design.data.blocks:
        first.setdefault(b.design, len(first))
    order = sorted(range(len(labels_all)), key=lambda i: first[labels_all[i]])
    return tuple(
        DesignQ(str(labels_all[i]), int(n_all[i]), float(q_arr[i]), int(df_arr[i]), float(pvals[i])) for i in order
    )


def _ml_deviance(design: _engine.Design, ll: float) -> float:
    """-2 (ll - ll_saturated), the saturated model fitting every contrast exactly."""
    f_sat = _engine.fit(design, 0.0)
    ll_sat = -0.5 * (design.n_obs * math.log(2 * math.pi) + f_sat.logdet_sigma)
    return -2.0 * (ll - ll_sat)


def _estimate_tau2(design: _engine.Design, method: str, f0: _engine.GLSFit) -> tuple[float, list[str]]:
    """tau² by generalised DL, REML or ML.  The likelihood is that of metafor's
    rma.mv on each study's contrasts against its first arm (for exactly consistent
    multi-arm data the choice of arm does not matter)."""
    notes: list[str] = []
    if method == "DL":
        return max(0.0, (f0.q - design.df) / f0.trace_PS), notes
    reml = method == "REML"
    raw = design.raw()

    def score(t):
        f = _engine.fit(design, t, y_fixed=raw)
        return f.rWSWr - (f.trace_PS if reml else f.trace_WS), f

    def score_info(t):
        s, f = score(t)
        return s, (f.trace_PSPS if reml else f.trace_WSWS)

    t, _, converged = fisher_scoring(score_info, (f0.q - design.df) / f0.trace_PS, maxiter=200)
    if not converged:
        notes.append("Fisher scoring did not settle; tau² was located by a grid search of the likelihood")
        grid = np.concatenate([[0.0], np.geomspace(1e-8, 100.0, 300)])
        lls = [_engine.loglik(_engine.fit(design, g, y_fixed=raw), reml) for g in grid]
        t = float(grid[int(np.argmax(lls))])
    if t > 0.0:
        t = polish_root(lambda x: score(x)[0], t)
        ll_t = _engine.loglik(_engine.fit(design, t, y_fixed=raw), reml)
        ll_0 = _engine.loglik(_engine.fit(design, 0.0, y_fixed=raw), reml)
        if ll_0 > ll_t:
            notes.append("the likelihood is higher at tau² = 0 than at the interior maximum; tau² = 0")
            t = 0.0
    return t, notes


def nma(
    data: Any,
    *,
    reference: str | None = None,
    method: str = "DL",
    level: float = 0.95,
    tau2: float | None = None,
    measure: str | None = None,
    larger_better: bool = False,
    component: int | Sequence[str] | None = None,
    multiarm: str = "netmeta",
    order: Sequence[str] | None = None,
    **arm_options: Any,
) -> NMAResult:
    """Fit a network meta-analysis.

    ``data`` is a :class:`NetworkData`, an arm table (then ``measure`` and optional
    continuity-correction options ``add``, ``to``, ``drop00`` are used) or a network
    contrast table.  ``method`` is FE (common effect), DL (generalised DerSimonian-
    Laird, netmeta's default), REML or ML; ``tau2`` fixes tau².  The network must be
    connected: for a disconnected network the error lists every sub-network, and
    ``component`` (its number in that list, or a set of its treatments) analyses one.
    ``larger_better`` records the direction of benefit for rankings (default: smaller
    outcome values are better).

    ``multiarm`` matters only when the contrasts of a multi-arm study do not add up
    exactly (rounded published contrasts; SMDs computed pair by pair): "netmeta"
    (default) combines all its pairwise contrasts by inverse-variance least squares
    for the common-effect and DL fits, as netmeta does; "baseline" uses its contrasts
    against its first arm, as metafor's rma.mv does.  REML and ML always use the latter.

    ``order`` lists the treatments in the order tables should show them (the reference
    is moved first); it also decides which arm of a multi-arm study is its baseline,
    which changes only the constant of the REML likelihood (metafor's 1/2 log|X'X|).
    By default treatments follow R's collation order.
    """
    from ..data import schema

    if isinstance(data, schema.ArmTable):
        if not measure:
            raise DataError("arm-level data need an effect measure (e.g. OR, RR, MD, SMD)")
        data = network_from_arms(data, measure, **arm_options)
    elif isinstance(data, schema.ContrastTable):
        data = network_from_contrasts(data, measure)
    elif not isinstance(data, NetworkData):
        raise DataError(f"cannot build a network from {type(data).__name__}")
    method = _canonical(method)
    if not 0 < level < 1:
        raise ModelError("level must be between 0 and 1")
    warnings = list(data.warnings)

    if order is not None:
        order = tuple(order)
        missing = [t for t in data.treatments if t not in order]
        unknown = [t for t in order if t not in data.treatments]
        if missing or unknown or len(set(order)) != len(order):
            raise ModelError(
                "order must list every treatment of the network once"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; not in the network: {', '.join(unknown)}" if unknown else "")
            )
    comps = data.components()
    if len(comps) > 1:
        if component is None:
            desc = "; ".join(
                f"[{i}] treatments {', '.join(ts)} (studies {', '.join(ss)})" for i, (ts, ss) in enumerate(comps)
            )
            raise ModelError(
                f"the network is disconnected into {len(comps)} sub-networks, which cannot be compared: {desc}. "
                "Analyse one with component=<number or treatments>"
            )
        if isinstance(component, (int, np.integer)):
            if not 0 <= int(component) < len(comps):
                raise ModelError(f"component must be between 0 and {len(comps) - 1}")
            chosen = comps[int(component)]
        else:
            wanted = set(component)
            matches = [c for c in comps if wanted <= set(c[0])]
            if not matches:
                raise ModelError(f"no sub-network contains {', '.join(sorted(wanted))}")
            chosen = matches[0]
        dropped = [c for c in comps if c is not chosen]
        warnings.append(
            AnalysisWarning(
                "disconnected_network",
                f"analysing the sub-network of {', '.join(chosen[0])}; left out: "
                + "; ".join(f"{', '.join(ts)} (studies {', '.join(ss)})" for ts, ss in dropped),
                tuple(s for _, ss in dropped for s in ss),
            )
        )
        data = data.subset(treatments=chosen[0], studies=chosen[1])
    if len(data.treatments) < 2:
        raise ModelError("a network needs at least two treatments")
    if reference is None:
        reference = data.treatments[0]
        warnings.append(AnalysisWarning("default_reference", f"no reference given; using {reference!r}"))
    if reference not in data.treatments:
        raise ModelError(f"reference {reference!r} is not in the network; treatments: {', '.join(data.treatments)}")

    if multiarm not in ("netmeta", "baseline"):
        raise ModelError("multiarm must be 'netmeta' or 'baseline'")
    if order is not None:
        order = tuple(t for t in order if t in data.treatments)  # validated above; a sub-network keeps its own
    design = _engine.Design(data, reference, order)
    f0 = _engine.fit(design, 0.0, y_fixed=design.raw() if multiarm == "baseline" else None)
    q, df = f0.q, design.df
    q_pval = float(stats.chi2.sf(q, df)) if df > 0 else math.nan
    dq = _within_designs(design, f0.red)
    q_within = float(sum(d.q for d in dq))
    df_within = int(sum(d.df for d in dq))
    # Between designs: the Q of the design-level model (Krahn, Binder & König 2013), from
    # the same unprojected contrasts as the within-design part; it equals Q - Q_within
    # whenever every multi-arm study's contrasts are exactly consistent.
    q_raw = f0.q if multiarm == "baseline" else _engine.fit(design, 0.0, y_fixed=design.raw()).q
    q_between = max(0.0, q_raw - q_within)
    df_between = df - df_within
    i2, i2_lo, i2_hi = i2_interval(q, df, level)

    fixed = tau2 is not None
    if method == "FE":
        t2 = 0.0
    elif fixed:
        t2 = float(tau2)
        if t2 < 0:
            raise ModelError("tau² must be non-negative")
    else:
        if df < 1:
            warnings.append(AnalysisWarning("no_heterogeneity_df", "no degrees of freedom to estimate tau²; tau² = 0"))
            t2 = 0.0
        else:
            t2, notes = _estimate_tau2(design, method, f0)
            warnings += [AnalysisWarning("tau2_solver", f"{method}: {n}") for n in notes]
        if t2 == 0.0:
            warnings.append(AnalysisWarning("tau2_boundary", f"tau² estimated at 0 by {method}"))
    # Estimates: netmeta's all-pairs least squares for FE and DL; for REML and ML the
    # contrasts of the likelihood (metafor's rma.mv), identical for consistent data.
    likelihood = method in ("REML", "ML")
    if likelihood:
        f = _engine.fit(design, t2, y_fixed=design.raw())
    else:
        f = f0 if t2 == 0.0 else _engine.fit(design, t2, y_fixed=design.raw() if multiarm == "baseline" else None)

    # metafor's network fits are rma.mv models; without random effects rma.mv keeps its
    # REML likelihood, so the common-effect fit reports the restricted likelihood too.
    reml = method in ("REML", "FE")
    if method in ("REML", "ML", "FE"):
        ll = _engine.loglik(_engine.fit(design, t2, y_fixed=design.raw()), reml)
        n_par = design.p + (0 if method == "FE" or fixed else 1)
        n_obs = design.n_obs - design.p if reml else design.n_obs
        aic, bic, aicc = information_criteria(ll, n_par, n_obs)
        deviance = -2.0 * ll if reml else _ml_deviance(design, ll)
    else:
        ll = deviance = aic = bic = aicc = math.nan

    result = NMAResult(
        data=design.data,
        treatments=design.treatments,
        reference=reference,
        method=method,
        level=float(level),
        measure=data.measure,
        coef=frozen_array(f.beta),
        vcov=frozen_array(f.vcov),
        tau2=float(t2),
        tau2_fixed=bool(fixed and method != "FE"),
        q=float(q),
        q_df=int(df),
        q_pval=q_pval,
        q_within=q_within,
        q_within_df=df_within,
        q_within_pval=float(stats.chi2.sf(q_within, df_within)) if df_within > 0 else math.nan,
        q_between=float(q_between),
        q_between_df=int(df_between),
        q_between_pval=float(stats.chi2.sf(q_between, df_between)) if df_between > 0 else math.nan,
        design_q=dq,
        i2=i2,
        i2_ci_low=i2_lo,
        i2_ci_high=i2_hi,
        loglik=ll,
        deviance=deviance,
        aic=aic,
        bic=bic,
        aicc=aicc,
        larger_better=bool(larger_better),
        multiarm=multiarm,
        order=order,
        warnings=tuple(warnings),
        excluded=tuple(data.excluded),
    )
    if method != "FE":
        common = replace(
            result,
            method="FE",
            coef=frozen_array(f0.beta),
            vcov=frozen_array(f0.vcov),
            tau2=0.0,
            tau2_fixed=False,
            loglik=math.nan,
            deviance=math.nan,
            aic=math.nan,
            bic=math.nan,
            aicc=math.nan,
        )
        result = replace(result, common=common)
    return result
