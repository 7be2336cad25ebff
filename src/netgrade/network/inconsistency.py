"""Inconsistency in network meta-analysis: local (node-splitting) and global checks.

* :func:`node_split` -- every comparison's direct estimate against the indirect estimate
  obtained by back-calculation from the network estimate (SIDE; Dias et al. 2010, Stat
  Med 29:932; König, Krahn & Binder 2013, Stat Med 32:5414), under the common-effect
  and the random-effects model, with the Bucher-type z test of their difference (Bucher
  et al. 1997, J Clin Epidemiol 50:683).
* :func:`decomposition` -- Cochran's Q split into heterogeneity within designs and
  inconsistency between designs, the between-design Q after detaching each design and
  the between-design Q of the random-effects design-by-treatment interaction model
  (Krahn, Binder & König 2013, BMC Med Res Methodol 13:35).
* :func:`design_by_treatment` -- the global Wald test of all inconsistency parameters of
  the design-by-treatment interaction model (Higgins et al. 2012, Res Synth Methods
  3:98; White et al. 2012, Res Synth Methods 3:111).
* :func:`random_inconsistency` -- the model with random inconsistency effects (Jackson
  et al. 2014, Stat Med 33:3639; Law et al. 2016, BMC Med Res Methodol 16:87) fitted by
  REML as metafor's ``rma.mv`` fits it.
* :func:`adjusted_standard_errors` -- netmeta's multi-arm adjusted standard errors
  (Rücker 2012, Res Synth Methods 3:312).

Conventions (those of netmeta 3.3, to whose output every number is checked):

* The *direct* estimate of a comparison A:B is the inverse-variance pooled estimate of
  the A-B contrasts of every study that has both arms, each with its own (unadjusted)
  sampling variance, plus the network's tau² for the random-effects model.  A
  multi-arm study enters with the one contrast it has for that pair, so its correlation
  with the study's other contrasts does not matter for the pair.  The multi-arm
  *adjusted* variances (Rücker 2012) are the weights of the edges of the network's
  electrical analogue, not those of the direct estimate.
* The proportion of direct evidence is var(network) / var(direct) (König et al. 2013,
  section 3.4.1); the indirect estimate is (network - p direct) / (1 - p) with variance
  var(network) / (1 - p).  A comparison without direct evidence gets the network
  estimate as its indirect estimate; with |p - 1| < ``tol_direct`` there is no indirect
  estimate, with |p| < ``tol_direct`` no direct estimate.
* Designs are sets of treatments compared in a study; each study enters the
  design-level model with its contrasts against its first arm (the network reference
  if present, otherwise the first in the network's treatment order) as given, pooled
  within the design by generalised least squares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .._result import ResultMixin, fmt, fmt_p, frozen_array, jsonable
from ..errors import AnalysisWarning, ModelError
from ..pairwise.fit_stats import information_criteria
from ._engine import _cs, adjusted_pair_weights
from .data import StudyBlock, treatment_sort_key
from .model import DesignQ, NMAResult

__all__ = [
    "Estimates",
    "SplitTable",
    "NodeSplit",
    "node_split",
    "adjusted_standard_errors",
    "DesignDetach",
    "Decomposition",
    "decomposition",
    "DesignByTreatmentTest",
    "design_by_treatment",
    "RandomInconsistency",
    "random_inconsistency",
]

#: netmeta's tolerance for classifying a comparison as direct-only or indirect-only
TOL_DIRECT = 5e-4


def _label(t1: str, t2: str) -> str:
    return f"{t1}:{t2}"


def _z(level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - level) / 2))


def _pval(x: float, df: int) -> float:
    return float(stats.chi2.sf(x, df)) if df > 0 and math.isfinite(x) else math.nan


# ---------------------------------------------------------------------------------
# multi-arm adjusted standard errors


def adjusted_standard_errors(res: NMAResult) -> pd.DataFrame:
    """Every pairwise comparison of every study with its standard error and netmeta's
    multi-arm adjusted standard errors ``se_adj_common`` and ``se_adj_random``.

    The adjusted standard errors are those that, used as if the pairwise comparisons
    were independent, reproduce the fit with the exact multi-arm covariance: the
    adjusted weight of pair (i, j) is minus the off-diagonal entry (i, j) of the
    Laplacian (-1/2 C R C)^+, R the study's matrix of pairwise variances, C the
    centring matrix (Rücker 2012, Res Synth Methods 3:312).  Under random effects R
    includes tau² (the network's) on every pair.  Orientation: TE = treat1 minus treat2.
    """
    common, random = [], []
    for b in res.data.blocks:  # the same pair order as NetworkData.pairs()
        W0 = adjusted_pair_weights(b.R)
        W1 = adjusted_pair_weights(b.R + res.tau2 * (1.0 - np.eye(b.n_arms)))
        for i in range(b.n_arms):
            for j in range(i + 1, b.n_arms):
                common.append(1.0 / math.sqrt(W0[i, j]) if W0[i, j] > 0 else math.inf)
                random.append(1.0 / math.sqrt(W1[i, j]) if W1[i, j] > 0 else math.inf)
    frame = res.data.pairs().rename(columns={"seTE": "se"})
    frame["se_adj_common"] = common
    frame["se_adj_random"] = random
    return frame


# ---------------------------------------------------------------------------------
# node-splitting by back-calculation


@dataclass(frozen=True, eq=False)
class Estimates:
    """Estimates of a set of comparisons with standard errors, normal-theory CIs, z
    statistics and two-sided p-values (NaN where not estimable)."""

    est: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    z: np.ndarray
    pval: np.ndarray

    @classmethod
    def make(cls, est, se, level: float) -> "Estimates":
        est = np.asarray(est, float)
        se = np.asarray(se, float)
        crit = _z(level)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = est / se
            p = 2.0 * stats.norm.sf(np.abs(z))
        return cls(*(frozen_array(x) for x in (est, se, est - crit * se, est + crit * se, z, p)))

    def flipped(self, mask: np.ndarray) -> "Estimates":
        s = np.where(mask, -1.0, 1.0)
        lo = np.where(mask, -self.ci_high, self.ci_low)
        hi = np.where(mask, -self.ci_low, self.ci_high)
        return Estimates(*(frozen_array(x) for x in (s * self.est, self.se, lo, hi, s * self.z, self.pval)))


@dataclass(frozen=True, eq=False)
class SplitTable:
    """Direct, indirect and network estimates of every comparison under one model."""

    model: str  # "common" or "random"
    tau2: float
    prop_direct: np.ndarray
    network: Estimates
    direct: Estimates
    indirect: Estimates
    difference: Estimates  # direct minus indirect


@dataclass(frozen=True, eq=False)
class NodeSplit(ResultMixin):
    """Direct versus indirect evidence for every comparison of a network.

    ``comparisons`` are (treatment1, treatment2) pairs; every estimate is treatment1
    minus treatment2 on the analysis scale.  ``k`` counts the studies that compare the
    pair directly.  ``common`` and ``random`` hold the two models (``random`` is None
    for a common-effect fit).
    """

    treatments: tuple[str, ...]
    reference: str
    measure: str
    method: str
    level: float
    comparisons: tuple[tuple[str, str], ...]
    k: np.ndarray
    common: SplitTable
    random: SplitTable | None
    tol_direct: float = TOL_DIRECT
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(_label(a, b) for a, b in self.comparisons)

    def table(self, model: str = "random") -> SplitTable:
        if model not in ("common", "random"):
            raise ModelError("model must be 'common' or 'random'")
        t = self.random if model == "random" else self.common
        if t is None:
            raise ModelError("this node-split comes from a common-effect fit: there is no random-effects model")
        return t

    def comparison(self, treatment1: str, treatment2: str, model: str = "random") -> dict:
        """One comparison, oriented as treatment1 versus treatment2 (the signs of all
        estimates flip if the table holds it the other way round)."""
        t = self.table(model)
        for i, (a, b) in enumerate(self.comparisons):
            if (a, b) == (treatment1, treatment2) or (b, a) == (treatment1, treatment2):
                flip = (b, a) == (treatment1, treatment2) and a != b
                mask = np.zeros(len(self.comparisons), bool)
                mask[i] = flip
                row = {"treatment1": treatment1, "treatment2": treatment2, "k": int(self.k[i]), "prop_direct": float(t.prop_direct[i])}
                for name, est in (("network", t.network), ("direct", t.direct), ("indirect", t.indirect), ("diff", t.difference)):
                    e = est.flipped(mask)
                    row.update(
                        {
                            name: float(e.est[i]),
                            f"{name}_se": float(e.se[i]),
                            f"{name}_ci_low": float(e.ci_low[i]),
                            f"{name}_ci_high": float(e.ci_high[i]),
                        }
                    )
                row["z"] = float(t.difference.flipped(mask).z[i])
                row["pval"] = float(t.difference.pval[i])
                return row
        raise ModelError(f"{treatment1} and {treatment2} are not both in the network")

    def records(self, random: bool = True) -> list[dict]:
        """One JSON-ready record per comparison for the random-effects model (or the
        common-effect model, with ``random=False`` or for a common-effect fit)."""
        model = "random" if random and self.random is not None else "common"
        frame = self.to_frame()
        return jsonable(frame[frame.model == model].to_dict(orient="records"))

    def to_frame(self) -> pd.DataFrame:
        frames = []
        for t in (self.common, self.random):
            if t is None:
                continue
            d = {
                "model": t.model,
                "comparison": list(self.labels),
                "treatment1": [a for a, _ in self.comparisons],
                "treatment2": [b for _, b in self.comparisons],
                "k": self.k.astype(int),
                "prop_direct": t.prop_direct,
            }
            for name, est in (("network", t.network), ("direct", t.direct), ("indirect", t.indirect), ("diff", t.difference)):
                d[name] = est.est
                d[f"{name}_se"] = est.se
                d[f"{name}_ci_low"] = est.ci_low
                d[f"{name}_ci_high"] = est.ci_high
            d["z"] = t.difference.z
            d["pval"] = t.difference.pval
            frames.append(pd.DataFrame(d))
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> str:
        lines = [
            f"Node-splitting by back-calculation ({self.measure}, analysis scale; comparison A:B = A versus B; "
            f"{int(round(self.level * 100))}% CI)",
            "direct: pairwise meta-analysis of the studies comparing A and B; indirect: back-calculated from the "
            "network estimate (König, Krahn & Binder 2013); diff = direct - indirect",
        ]
        for t in (self.common, self.random):
            if t is None:
                continue
            head = "Common-effect model" if t.model == "common" else f"Random-effects model (tau² = {fmt(t.tau2)})"
            lines += ["", head]
            sel = [i for i in range(len(self.comparisons)) if self.k[i] > 0]
            frame = pd.DataFrame(
                {
                    "comparison": [self.labels[i] for i in sel],
                    "k": [int(self.k[i]) for i in sel],
                    "prop": [f"{t.prop_direct[i]:.2f}" for i in sel],
                    "network": [fmt(t.network.est[i]) for i in sel],
                    "direct": [fmt(t.direct.est[i]) for i in sel],
                    "indirect": [fmt(t.indirect.est[i]) for i in sel],
                    "diff": [fmt(t.difference.est[i]) for i in sel],
                    "z": [fmt(t.difference.z[i], 2) for i in sel],
                    "p": [fmt_p(t.difference.pval[i]) for i in sel],
                }
            )
            lines.append(frame.to_string(index=False))
        n_ind = int(np.sum(self.k == 0))
        if n_ind:
            lines += ["", f"{n_ind} comparison(s) without direct evidence (indirect estimate = network estimate) not shown."]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "method": self.method,
                "measure": self.measure,
                "level": self.level,
                "reference": self.reference,
                "orientation": "comparison A:B = A versus B (analysis scale); diff = direct - indirect",
                "rows": self.to_frame().to_dict(orient="records"),
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )


def _comparison_order(res: NMAResult) -> list[tuple[str, str]]:
    """All pairs of treatments as netmeta's netsplit lists them: treatments in R's
    collation order, pair (i, j) with i before j, except that the reference always
    comes second."""
    trts = sorted(res.treatments, key=treatment_sort_key)
    out = []
    for i in range(len(trts)):
        for j in range(i + 1, len(trts)):
            a, b = trts[i], trts[j]
            if a == res.reference:
                a, b = b, a
            out.append((a, b))
    return out


def _direct(blocks: Sequence[StudyBlock], pairs, tau2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse-variance pooled direct estimate (treat1 - treat2) of every pair, each
    study with its own variance for the pair plus tau²; k = number of studies."""
    index = {p: n for n, p in enumerate(pairs)}
    num = np.zeros(len(pairs))
    den = np.zeros(len(pairs))
    k = np.zeros(len(pairs), int)
    for b in blocks:
        for i in range(b.n_arms):
            for j in range(b.n_arms):
                if i == j:
                    continue
                n = index.get((b.arms[i], b.arms[j]))
                if n is None:
                    continue
                w = 1.0 / (b.R[i, j] + tau2)
                num[n] += w * b.y[i, j]
                den[n] += w
                k[n] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        se = np.where(den > 0, 1.0 / np.sqrt(np.where(den > 0, den, 1.0)), np.nan)
    return est, se, k


def _split_table(model: str, fit: NMAResult, blocks, pairs, tau2: float, level: float, tol: float) -> tuple[SplitTable, np.ndarray]:
    lg = fit.league(level)
    idx = {t: i for i, t in enumerate(lg.treatments)}
    net_est = np.array([lg.est[idx[a], idx[b]] for a, b in pairs])
    net_se = np.array([lg.se[idx[a], idx[b]] for a, b in pairs])
    d_est, d_se, k = _direct(blocks, pairs, tau2)
    with np.errstate(invalid="ignore", divide="ignore"):
        prop = np.where(k > 0, net_se**2 / d_se**2, 0.0)
    # Back-calculation (König et al. 2013): theta_net = p theta_dir + (1 - p) theta_ind,
    # var_net = (1 - p) var_ind.  Without direct evidence the indirect estimate is the
    # network estimate; with (almost) only direct evidence there is none.
    only_direct = (np.abs(prop - 1.0) < tol) | (prop > 1.0)
    dir_for_calc = np.where(k > 0, d_est, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        i_est = np.where(only_direct, np.nan, (net_est - prop * dir_for_calc) / (1.0 - prop))
        i_se = np.where(only_direct, np.nan, net_se / np.sqrt(1.0 - prop))
    no_direct = np.abs(prop) < tol
    d_est = np.where(no_direct, np.nan, d_est)
    d_se = np.where(no_direct, np.nan, d_se)
    i_est = np.where(k == 0, net_est, i_est)
    i_se = np.where(k == 0, net_se, i_se)
    diff = d_est - i_est
    diff_se = np.sqrt(d_se**2 + i_se**2)
    return (
        SplitTable(
            model=model,
            tau2=float(tau2),
            prop_direct=frozen_array(prop),
            network=Estimates.make(net_est, net_se, level),
            direct=Estimates.make(d_est, d_se, level),
            indirect=Estimates.make(i_est, i_se, level),
            difference=Estimates.make(diff, diff_se, level),
        ),
        k,
    )


def node_split(
    res: NMAResult,
    *,
    method: str = "back-calculation",
    level: float | None = None,
    tol_direct: float = TOL_DIRECT,
) -> NodeSplit:
    """Split every network estimate into its direct and indirect evidence.

    For each pair of treatments (netmeta's order and orientation: the reference second)
    the direct estimate pools the studies that compare the pair (inverse variance, each
    study's own variance of that contrast, plus the network's tau² under random
    effects); the proportion of direct evidence is p = var(network) / var(direct)
    (König, Krahn & Binder 2013, Stat Med 32:5414, section 3.4.1), and the indirect
    estimate is back-calculated as (network - p direct) / (1 - p) with variance
    var(network) / (1 - p) (the SIDE approach of Dias et al. 2010, Stat Med 29:932).
    Direct and indirect evidence are treated as independent (exactly so without
    multi-arm studies), so their difference has variance var(direct) + var(indirect)
    and is tested with a z test (Bucher et al. 1997, J Clin Epidemiol 50:683).

    The common-effect model uses ``res.common`` (or ``res`` itself for a common-effect
    fit); the random-effects model ``res`` with its tau².  Comparisons without direct
    evidence are listed too (k = 0, indirect = network estimate).
    """
    m = str(method).strip().lower().replace("_", "-")
    if m not in ("back-calculation", "backcalculation", "side"):
        raise ModelError(f"unknown node-splitting method {method!r}; available: 'back-calculation'")
    if not 0 <= tol_direct < 0.5:
        raise ModelError("tol_direct must be in [0, 0.5)")
    level = res.level if level is None else float(level)
    pairs = _comparison_order(res)
    blocks = res.data.blocks
    common_fit = res.common if res.is_random else res
    if common_fit is None:  # pragma: no cover - a random-effects fit always keeps its common fit
        raise ModelError("the random-effects result carries no common-effect fit")
    common, k = _split_table("common", common_fit, blocks, pairs, 0.0, level, tol_direct)
    random = None
    if res.is_random:
        random, _ = _split_table("random", res, blocks, pairs, res.tau2, level, tol_direct)
    warnings = []
    multi = [b.study for b in blocks if b.n_arms > 2 and b.inconsistency() > 1e-10 * max(1.0, float(np.max(np.abs(b.y))))]
    if multi:
        warnings.append(
            AnalysisWarning(
                "multiarm_inconsistent",
                "direct estimates use each multi-arm study's contrasts as given, which do not add up exactly around "
                "their loops in: " + ", ".join(multi),
                tuple(multi),
            )
        )
    return NodeSplit(
        treatments=tuple(res.treatments),
        reference=res.reference,
        measure=res.measure,
        method="back-calculation",
        level=level,
        comparisons=tuple(pairs),
        k=frozen_array(k, int),
        common=common,
        random=random,
        tol_direct=float(tol_direct),
        warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------------
# the design-level model (Krahn, Binder & König 2013)


@dataclass(frozen=True)
class _Unit:
    """One study as contrasts against its first arm."""

    study: str
    arms: tuple[str, ...]
    design: str  # label: the study's treatments in network order, joined by ':'
    y: np.ndarray  # (m,)
    V: np.ndarray  # (m, m) within-study covariance
    X: np.ndarray  # (m, p) basic parameters

    @property
    def m(self) -> int:
        return len(self.arms) - 1


def _units(res: NMAResult, baselines: Mapping[str, str] | None = None) -> list[_Unit]:
    """Every study with its contrasts (as given) against its baseline arm.  The baseline
    is the study's first arm in the network's order (the reference if the study has it,
    else the first treatment in R's collation order; netmeta's choice), unless
    ``baselines`` names another arm for the study."""
    col = {t: i - 1 for i, t in enumerate(res.treatments)}
    p = len(res.treatments) - 1
    order = {t: i for i, t in enumerate(res.treatments)}
    base = dict(baselines or {})
    unknown = set(base) - {b.study for b in res.data.blocks}
    if unknown:
        raise ModelError(f"baselines given for studies not in the network: {', '.join(sorted(unknown))}")
    out = []
    for b in res.data.blocks:
        idx = sorted(range(b.n_arms), key=lambda i: order[b.arms[i]])
        if b.study in base:
            if base[b.study] not in b.arms:
                raise ModelError(f"study {b.study!r} has no arm {base[b.study]!r} (arms: {', '.join(b.arms)})")
            first = b.arms.index(base[b.study])
            idx = [first] + [i for i in idx if i != first]
        arms = tuple(b.arms[i] for i in idx)
        R = b.R[np.ix_(idx, idx)]
        Y = b.y[np.ix_(idx, idx)]
        v0 = R[1:, 0]
        V = 0.5 * (v0[:, None] + v0[None, :] - R[1:, 1:])
        np.fill_diagonal(V, v0)
        X = np.zeros((len(arms) - 1, p))
        for r, t in enumerate(arms[1:]):
            if col[t] >= 0:
                X[r, col[t]] += 1.0
            if col[arms[0]] >= 0:
                X[r, col[arms[0]]] -= 1.0
        design = ":".join(sorted(arms, key=lambda t: order[t]))
        out.append(_Unit(b.study, arms, design, Y[1:, 0].copy(), V, X))
    return out


class _DesignModel:
    """The network reduced to one pooled estimate per design (Krahn et al. 2013): each
    design's basic contrasts pooled over its studies by GLS (covariance V_s + tau² S),
    then the consistency model fitted to the design estimates by GLS."""

    def __init__(self, units: Sequence[_Unit], p: int, tau2: float):
        self.p = p
        self.tau2 = float(tau2)
        groups: dict[str, list[_Unit]] = {}
        for u in units:
            groups.setdefault(u.design, []).append(u)
        key = lambda d: (len(groups[d][0].arms) > 2, [treatment_sort_key(t) for t in d.split(":")])  # noqa: E731
        self.designs = sorted(groups, key=key)
        self.groups = groups
        te, Vd, X, owner, comps = [], [], [], [], []
        for n, d in enumerate(self.designs):
            us = groups[d]
            m = us[0].m
            A = np.zeros((m, m))
            u = np.zeros(m)
            for s in us:
                W = np.linalg.inv(s.V + self.tau2 * _cs(m + 1))
                A += W
                u += W @ s.y
            Vd_ = np.linalg.inv(A)
            Vd_ = 0.5 * (Vd_ + Vd_.T)
            te.append(Vd_ @ u)
            Vd.append(Vd_)
            X.append(us[0].X)
            owner += [n] * m
            base = us[0].arms[0]
            comps += [f"{base}:{t}" for t in us[0].arms[1:]]
        self.te = np.concatenate(te)
        self.Vblocks = Vd
        self.V = linalg.block_diag(*Vd)
        self.Winv_blocks = [np.linalg.inv(v) for v in Vd]
        self.W = linalg.block_diag(*self.Winv_blocks)
        self.X = np.vstack(X)
        self.owner = np.array(owner)
        self.comps = tuple(comps)
        self.n_studies = [len(groups[d]) for d in self.designs]
        self.n_arms = [len(groups[d][0].arms) for d in self.designs]

    @property
    def n_rows(self) -> int:
        return len(self.te)

    def fit(self, keep: np.ndarray | None = None) -> np.ndarray | None:
        """GLS estimate of the basic parameters from the rows in ``keep`` (None when
        they do not identify every parameter)."""
        keep = np.ones(self.n_rows, bool) if keep is None else keep
        X = self.X[keep]
        W = self.W[np.ix_(keep, keep)]
        M = X.T @ W @ X
        if X.shape[0] < self.p or np.linalg.matrix_rank(M, tol=1e-10 * max(1.0, float(np.max(np.abs(M))))) < self.p:
            return None
        return np.linalg.solve(M, X.T @ W @ self.te[keep])

    def residuals(self, beta: np.ndarray) -> np.ndarray:
        return self.te - self.X @ beta

    def q(self, r: np.ndarray) -> float:
        return float(r @ self.W @ r)

    def contributions(self, r: np.ndarray) -> np.ndarray:
        """Each row's contribution r_i (W r)_i to r' W r (Krahn et al. 2013)."""
        return r * (self.W @ r)

    def detached_residuals(self, d: int) -> np.ndarray | None:
        """Residuals of every row after detaching design d (its own residuals set to
        zero: the design gets its own parameters); None if the other designs do not
        identify the network."""
        keep = self.owner != d
        beta = self.fit(keep)
        if beta is None:
            return None
        r = self.residuals(beta)
        r[~keep] = 0.0
        return r

    def hat(self) -> np.ndarray:
        """H = X (X'WX)^-1 X'W: the contribution of each design row (column) to the
        network estimate of each design row's comparison (row)."""
        M = self.X.T @ self.W @ self.X
        return self.X @ np.linalg.solve(M, self.X.T @ self.W)


def _tau2_within(units: Sequence[_Unit], designs: dict[str, list[_Unit]]) -> float:
    """tau² of the full design-by-treatment interaction model by the generalised
    method of moments (Jackson, White & Riley 2012, Stat Med 31:3805), as netmeta's
    decomp.design estimates ``tau.within``: every design has its own parameters, so Q
    is the within-design Q and

        tau² = max(0, (Q_within - df_within) / (tr(W S) - tr((X'WX)^-1 X'W S W X)))

    with W = V^-1 at tau² = 0 and S the block-diagonal 1, 1/2 structure."""
    q = 0.0
    df = 0
    t1 = 0.0
    t2 = 0.0
    for us in designs.values():
        m = us[0].m
        S = _cs(m + 1)
        Ws = [np.linalg.inv(u.V) for u in us]
        A = sum(Ws)
        mu = np.linalg.solve(A, sum(W @ u.y for W, u in zip(Ws, us)))
        Ainv = np.linalg.inv(A)
        B = np.zeros((m, m))
        for W, u in zip(Ws, us):
            r = u.y - mu
            q += float(r @ W @ r)
            t1 += float(np.trace(W @ S))
            B += W @ S @ W
        t2 += float(np.trace(Ainv @ B))
        df += (len(us) - 1) * m
    den = t1 - t2
    if df == 0 or den <= 1e-12 * max(1.0, abs(t1)):
        return 0.0
    return max(0.0, (q - df) / den)


# Detaching a design gives the same kind of record as a design's own Q.
DesignDetach = DesignQ


@dataclass(frozen=True, eq=False)
class Decomposition(ResultMixin):
    """Design-based decomposition of Cochran's Q (Krahn, Binder & König 2013).

    ``q``/``q_within``/``q_between`` are the common-effect Q of the whole network,
    within designs and between designs (the latter two as in the NMA result, ``q`` their
    sum: it equals the NMA result's Q unless some multi-arm study's contrasts do not
    add up exactly, in which case the NMA's Q projects them); ``design_q`` the
    within-design Q per design; ``design_contribution`` each design's contribution to
    ``q_between``; ``detach`` the between-design Q after detaching each design in turn
    (designs whose removal disconnects the network or leaves a treatment unestimable
    are not listed, as in netmeta; they are in ``not_detachable``).
    ``q_between_random`` is the between-design Q of the random-effects model with
    tau² = ``tau2_within`` estimated in the full design-by-treatment interaction model.
    """

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
    design_contribution: tuple[tuple[str, float], ...]
    detach: tuple[DesignDetach, ...]
    not_detachable: tuple[str, ...]
    tau2_within: float
    q_between_random: float
    q_between_random_pval: float
    tau2_preset: float | None = None
    q_between_preset: float | None = None
    q_between_preset_pval: float | None = None

    @property
    def tau_within(self) -> float:
        return math.sqrt(self.tau2_within)

    def to_frame(self) -> pd.DataFrame:
        rows = [
            ("Total", self.q, self.q_df, self.q_pval),
            ("Within designs", self.q_within, self.q_within_df, self.q_within_pval),
            ("Between designs", self.q_between, self.q_between_df, self.q_between_pval),
            (
                f"Between designs, random effects (tau² within = {fmt(self.tau2_within)})",
                self.q_between_random,
                self.q_between_df,
                self.q_between_random_pval,
            ),
        ]
        if self.tau2_preset is not None:
            rows.append(
                (
                    f"Between designs, random effects (tau² = {fmt(self.tau2_preset)})",
                    self.q_between_preset,
                    self.q_between_df,
                    self.q_between_preset_pval,
                )
            )
        return pd.DataFrame(rows, columns=["component", "q", "df", "pval"])

    def designs_frame(self) -> pd.DataFrame:
        """One row per design: within-design Q, contribution to the between-design Q,
        and the between-design Q after detaching it."""
        contrib = dict(self.design_contribution)
        det = {d.design: d for d in self.detach}
        rows = []
        for dq in self.design_q:
            d = det.get(dq.design)
            rows.append(
                {
                    "design": dq.design,
                    "n_studies": dq.n_studies,
                    "q_within": dq.q,
                    "q_within_df": dq.df,
                    "q_within_pval": dq.pval,
                    "q_between_contribution": contrib.get(dq.design, math.nan),
                    "q_detached": d.q if d else math.nan,
                    "q_detached_df": d.df if d else None,
                    "q_detached_pval": d.pval if d else math.nan,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        lines = [
            "Design-based decomposition of Cochran's Q (Krahn, Binder & König 2013)",
            self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4f}"),
            "",
            "Between-design Q after detaching single designs:",
        ]
        if self.detach:
            lines.append(
                pd.DataFrame([d.to_dict() for d in self.detach]).to_string(index=False, float_format=lambda x: f"{x:.4f}")
            )
        else:
            lines.append("  (no design can be detached without disconnecting the network)")
        if self.not_detachable:
            lines.append("not detachable (removal disconnects the network): " + ", ".join(self.not_detachable))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "decomposition": self.to_frame().to_dict(orient="records"),
                "designs": self.designs_frame().to_dict(orient="records"),
                "detach": [d.to_dict() for d in self.detach],
                "not_detachable": list(self.not_detachable),
                "tau2_within": self.tau2_within,
                "tau_within": self.tau_within,
            }
        )


def _between_q(units, p: int, tau2: float) -> float:
    dm = _DesignModel(units, p, tau2)
    beta = dm.fit()
    return dm.q(dm.residuals(beta))


def decomposition(res: NMAResult, *, tau2: float | None = None) -> Decomposition:
    """Design-based decomposition of Cochran's Q (Krahn, Binder & König 2013, BMC Med
    Res Methodol 13:35).

    Q of the whole network = sum of within-design Q (heterogeneity) + between-design Q
    (inconsistency), taken from the NMA result.  Each design's contribution to the
    between-design Q is r_d' V_d^-1 r_d in the design-level model; detaching design d
    (giving it its own parameters, the model of Krahn et al. section 2.4) gives the
    between-design Q of the other designs with df = rows - (p + arms_d - 1).  Under
    random effects the between-design Q uses V_s + tau² S with tau² estimated in the
    full design-by-treatment interaction model by the method of moments (Jackson, White
    & Riley 2012; netmeta's ``tau.within``); ``tau2`` adds the same statistic at a
    preset tau².
    """
    units = _units(res)
    p = len(res.treatments) - 1
    dm = _DesignModel(units, p, 0.0)
    beta = dm.fit()
    r = dm.residuals(beta)
    contrib = dm.contributions(r)
    design_contribution = tuple((d, float(np.sum(contrib[dm.owner == n]))) for n, d in enumerate(dm.designs))
    detach, not_detachable = [], []
    for n, d in enumerate(dm.designs):
        rd = dm.detached_residuals(n)
        if rd is None:
            not_detachable.append(d)
            continue
        df = dm.n_rows - (p + dm.n_arms[n] - 1)
        if df < 0:  # pragma: no cover - a detachable design leaves df >= 0
            not_detachable.append(d)
            continue
        q = dm.q(rd)
        detach.append(DesignDetach(d, dm.n_studies[n], q, df, _pval(q, df)))
    t2w = _tau2_within(units, dm.groups)
    q_rand = _between_q(units, p, t2w) if res.q_between_df > 0 else 0.0
    preset = None
    if tau2 is not None:
        if tau2 < 0:
            raise ModelError("tau² must be non-negative")
        preset = _between_q(units, p, float(tau2)) if res.q_between_df > 0 else 0.0
    dfb = res.q_between_df
    # Total = within + between, both from each study's contrasts as given (as netmeta's
    # decomp.design); it differs from res.q (which projects the contrasts of a multi-arm
    # study onto consistent ones) only when such contrasts do not add up exactly.
    q_total = res.q_within + res.q_between
    return Decomposition(
        q=q_total,
        q_df=res.q_df,
        q_pval=_pval(q_total, res.q_df),
        q_within=res.q_within,
        q_within_df=res.q_within_df,
        q_within_pval=res.q_within_pval,
        q_between=res.q_between,
        q_between_df=dfb,
        q_between_pval=res.q_between_pval,
        design_q=tuple(res.design_q),
        design_contribution=design_contribution,
        detach=tuple(detach),
        not_detachable=tuple(not_detachable),
        tau2_within=float(t2w),
        q_between_random=float(q_rand),
        q_between_random_pval=_pval(q_rand, dfb),
        tau2_preset=None if tau2 is None else float(tau2),
        q_between_preset=preset,
        q_between_preset_pval=None if preset is None else _pval(preset, dfb),
    )


# ---------------------------------------------------------------------------------
# design-by-treatment interaction test


@dataclass(frozen=True)
class DesignByTreatmentTest(ResultMixin):
    """Global test of inconsistency: the Wald (chi-square) test that every
    design-by-treatment interaction parameter is zero (Higgins et al. 2012)."""

    q_common: float
    pval_common: float
    q_random: float
    pval_random: float
    df: int
    tau2_within: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"model": "common effect", "chi2": self.q_common, "df": self.df, "pval": self.pval_common, "tau2": 0.0},
                {"model": "random effects", "chi2": self.q_random, "df": self.df, "pval": self.pval_random, "tau2": self.tau2_within},
            ]
        )

    def summary(self) -> str:
        return "\n".join(
            [
                "Design-by-treatment interaction test of inconsistency (Higgins et al. 2012)",
                f"  common effect:  chi² = {fmt(self.q_common)} (df = {self.df}), p = {fmt_p(self.pval_common)}",
                f"  random effects: chi² = {fmt(self.q_random)} (df = {self.df}), p = {fmt_p(self.pval_random)}"
                f"  [tau² = {fmt(self.tau2_within)}, estimated in the interaction model]",
            ]
        )


def design_by_treatment(res: NMAResult, decomp: Decomposition | None = None) -> DesignByTreatmentTest:
    """The design-by-treatment interaction test (Higgins et al. 2012, Res Synth Methods
    3:98; White et al. 2012, Res Synth Methods 3:111).

    In the interaction model every design has its own effects; the inconsistency
    parameters are the differences from the consistency model, and their Wald
    statistic is Q(consistency) - Q(interaction) = Q_total - Q_within, the
    between-design Q of Krahn, Binder & König (2013), on df = Q df - within df.  Under
    random effects tau² is estimated in the interaction model (method of moments,
    Jackson, White & Riley 2012) and held fixed in both models.
    """
    d = decomp if decomp is not None else decomposition(res)
    return DesignByTreatmentTest(
        q_common=d.q_between,
        pval_common=d.q_between_pval,
        q_random=d.q_between_random,
        pval_random=d.q_between_random_pval,
        df=d.q_between_df,
        tau2_within=d.tau2_within,
    )


# ---------------------------------------------------------------------------------
# random inconsistency effects (Jackson et al. 2014; Law et al. 2016)


@dataclass(frozen=True, eq=False)
class RandomInconsistency(ResultMixin):
    """The consistency model with random inconsistency effects, fitted by REML.

    y = X d + u_study + v_design + e: ``tau2`` is the between-study variance and
    ``gamma2`` the inconsistency (between-design) variance, each with correlation 1/2
    between the different comparisons of a study or design.  ``coef_names`` are the
    treatments compared with the ``reference``.
    """

    reference: str
    coef_names: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    vcov: np.ndarray
    tau2: float
    gamma2: float
    rho: float
    phi: float
    level: float
    k: int
    qe: float
    qe_df: int
    qe_pval: float
    qm: float
    qm_df: int
    qm_pval: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def gamma(self) -> float:
        return math.sqrt(self.gamma2)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "treatment": list(self.coef_names),
                "estimate": self.estimate,
                "se": self.se,
                "zval": self.zval,
                "pval": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def summary(self) -> str:
        lines = [
            f"Random inconsistency effects model (REML; Jackson et al. 2014, Law et al. 2016; reference {self.reference})",
            f"tau² (between studies) = {fmt(self.tau2)}, gamma² (inconsistency, between designs) = {fmt(self.gamma2)}",
            f"QE = {fmt(self.qe)} (df = {self.qe_df}), p = {fmt_p(self.qe_pval)}; "
            f"QM = {fmt(self.qm)} (df = {self.qm_df}), p = {fmt_p(self.qm_pval)}",
            f"logLik (REML) = {fmt(self.loglik)}, AIC = {fmt(self.aic)}, BIC = {fmt(self.bic)}",
            "",
            self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4f}"),
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "reference": self.reference,
                "coef_names": list(self.coef_names),
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "pval": self.pval,
                "vcov": self.vcov,
                "tau2": self.tau2,
                "gamma2": self.gamma2,
                "rho": self.rho,
                "phi": self.phi,
                "level": self.level,
                "k": self.k,
                "QE": self.qe,
                "QE_df": self.qe_df,
                "QEp": self.qe_pval,
                "QM": self.qm,
                "QM_df": self.qm_df,
                "QMp": self.qm_pval,
                "fit_stats": {"logLik": self.loglik, "deviance": self.deviance, "AIC": self.aic, "BIC": self.bic, "AICc": self.aicc},
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )


class _REML:
    """Restricted likelihood of y ~ N(X b, V + sum_k theta_k G_k) with metafor's
    constants (rma.mv: -1/2 [(n-p) log 2pi - log|X'X| + log|Sigma| + log|X'Sigma^-1 X|
    + r'Sigma^-1 r]; Harville 1977, J Am Stat Assoc 72:320; Viechtbauer 2010, J Stat
    Softw 36(3)).  Sigma is block diagonal (``blocks``: row indices of independent
    groups), so every quantity is accumulated block by block; the score and the
    expected information use tr(P G_k) and tr(P G_k P G_l) with
    P = Sigma^-1 - Sigma^-1 X (X'Sigma^-1 X)^-1 X'Sigma^-1."""

    def __init__(self, y, X, V, G, blocks):
        self.X = X
        n, p = X.shape
        self.p = p
        self.K = len(G)
        self.blocks = [
            (y[ix], X[ix], V[np.ix_(ix, ix)], [g[np.ix_(ix, ix)] for g in G]) for ix in (np.asarray(b) for b in blocks)
        ]
        _, ld_xx = np.linalg.slogdet(X.T @ X)
        self.const = -0.5 * (n - p) * math.log(2 * math.pi) + 0.5 * ld_xx

    def _factor(self, theta):
        out = []
        for y, X, V, G in self.blocks:
            S = V + sum(t * g for t, g in zip(theta, G))
            c = linalg.cho_factor(S, lower=True, check_finite=False)
            Si = linalg.cho_solve(c, np.eye(len(y)), check_finite=False)
            out.append((Si, 2.0 * float(np.sum(np.log(np.diag(c[0]))))))
        return out

    def parts(self, theta, with_derivatives: bool = False):
        """loglik, beta, (X'Sigma^-1 X)^-1 and, if asked, the score and information."""
        fac = self._factor(theta)
        M = np.zeros((self.p, self.p))
        u = np.zeros(self.p)
        ld_s = 0.0
        for (y, X, _, _), (Si, ld) in zip(self.blocks, fac):
            SiX = Si @ X
            M += X.T @ SiX
            u += SiX.T @ y
            ld_s += ld
        Mi = np.linalg.inv(M)
        Mi = 0.5 * (Mi + Mi.T)
        beta = Mi @ u
        rss = 0.0
        for (y, X, _, _), (Si, _) in zip(self.blocks, fac):
            r = y - X @ beta
            rss += float(r @ Si @ r)
        _, ld_m = np.linalg.slogdet(M)
        ll = self.const - 0.5 * (ld_s + ld_m + rss)
        if not with_derivatives:
            return ll, beta, Mi
        K, p = self.K, self.p
        tr_SiG = np.zeros(K)
        tr_SiGSiG = np.zeros((K, K))
        B = np.zeros((K, p, p))  # X'Si G_k Si X
        C = np.zeros((K, K, p, p))  # X'Si G_k Si G_l Si X
        quad = np.zeros(K)  # (Py)' G_k (Py)
        vSiv = np.zeros((K, K))  # sum over blocks of v_k' Si v_l, v_k = G_k P y
        Xv = np.zeros((K, p))  # X' Si v_k
        for (y, X, _, G), (Si, _) in zip(self.blocks, fac):
            SiX = Si @ X
            Py = Si @ (y - X @ beta)
            SiG = [Si @ g for g in G]
            v = [g @ Py for g in G]
            for k in range(K):
                tr_SiG[k] += np.trace(SiG[k])
                quad[k] += float(Py @ v[k])
                B[k] += SiX.T @ G[k] @ SiX
                Xv[k] += SiX.T @ v[k]
                for l in range(K):
                    tr_SiGSiG[k, l] += float(np.sum(SiG[k] * SiG[l].T))
                    C[k, l] += SiX.T @ G[k] @ SiG[l] @ SiX
                    vSiv[k, l] += float(v[k] @ Si @ v[l])
        score = np.array([-0.5 * (tr_SiG[k] - np.sum(Mi * B[k])) + 0.5 * quad[k] for k in range(K)])
        expected = np.zeros((K, K))  # 1/2 tr(P G_k P G_l)
        for k in range(K):
            for l in range(K):
                expected[k, l] = 0.5 * (
                    tr_SiGSiG[k, l] - 2.0 * np.sum(Mi * C[k, l]) + float(np.sum((Mi @ B[k]) * (Mi @ B[l]).T))
                )
        expected = 0.5 * (expected + expected.T)
        yPGPGPy = vSiv - Xv @ Mi @ Xv.T
        observed = 0.5 * (yPGPGPy + yPGPGPy.T) - expected  # minus the Hessian
        return ll, beta, Mi, score, expected, observed

    def _kkt(self, theta) -> tuple[bool, float]:
        """Kuhn-Tucker conditions of the maximum over theta >= 0: zero (standardised)
        score for positive components, non-positive score for those at 0."""
        ll, _, _, s, expected, _ = self.parts(theta, True)
        z = s / np.sqrt(np.maximum(np.diag(expected), 1e-300))
        pos = theta > 0
        return bool(np.all(np.abs(z[pos]) <= 1e-5) and np.all(z[~pos] <= 1e-8)), ll

    def _newton(self, theta, free_only=None, max_iter: int = 200):
        """Projected Newton ascent over theta >= 0: components at 0 whose score is
        negative stay fixed; the others take a Newton step (observed information where
        positive definite, else Fisher scoring), projected onto theta >= 0 and halved
        until the likelihood increases.  ``free_only`` restricts the search to some
        components (the others stay at 0)."""
        theta = np.array(theta, float)
        allowed = np.ones(self.K, bool) if free_only is None else np.asarray(free_only, bool)
        theta[~allowed] = 0.0
        for _ in range(max_iter):
            ll, _, _, s, expected, observed = self.parts(theta, True)
            free = allowed & ~((theta <= 0) & (s <= 0))
            if not free.any():
                return theta
            f = np.flatnonzero(free)
            obs = observed[np.ix_(f, f)]
            info = obs if np.all(np.linalg.eigvalsh(obs) > 0) else expected[np.ix_(f, f)]
            try:
                step = np.linalg.solve(info, s[f])
            except np.linalg.LinAlgError:
                return theta
            t_new = theta.copy()
            for _ in range(60):
                t_new[f] = np.maximum(theta[f] + step, 0.0)
                if self.parts(t_new)[0] >= ll - 1e-12 * max(1.0, abs(ll)):
                    break
                step = step / 2.0
            else:
                return theta
            done = np.all(np.abs(t_new - theta) <= 1e-12 * np.maximum(1.0, t_new))
            theta = t_new
            if done:
                return theta
        return theta

    def maximise(self, start: Sequence[float]) -> tuple[np.ndarray, float, bool]:
        """REML estimates over theta >= 0: projected Newton from ``start``; if the
        result does not satisfy the Kuhn-Tucker conditions, every face of the boundary
        (each subset of components free, the others 0) is searched and the best point
        that satisfies them is kept."""
        theta = self._newton(start)
        ok, ll = self._kkt(theta)
        if ok:
            return theta, ll, True
        best = None
        for mask in range(1, 1 << self.K):
            allowed = np.array([mask >> k & 1 for k in range(self.K)], bool)
            t = self._newton(np.where(allowed, start, 0.0), allowed, max_iter=500)
            ok, ll = self._kkt(t)
            if ok and (best is None or ll > best[1]):
                best = (t, ll)
        zero = np.zeros(self.K)
        ok, ll = self._kkt(zero)
        if ok and (best is None or ll > best[1]):
            best = (zero, ll)
        if best is None:
            return theta, self.parts(theta)[0], False
        return best[0], best[1], True


def random_inconsistency(
    res: NMAResult,
    *,
    level: float | None = None,
    baselines: Mapping[str, str] | None = None,
) -> RandomInconsistency:
    """The design-by-treatment interaction model with random inconsistency effects
    (Jackson et al. 2014, Stat Med 33:3639; Law et al. 2016, BMC Med Res Methodol
    16:87), fitted by REML as metafor does with

        rma.mv(yi, V, mods = X, random = list(~ comp | study, ~ comp | design),
               rho = 1/2, phi = 1/2, method = "REML")

    Every study enters with its contrasts against its baseline arm as given (the
    reference if the study has it, else its first treatment in R's collation order;
    ``baselines`` maps a study to another arm, e.g. to reproduce a program that used
    the first-listed arm).  Rows of the same study share a random effect with variance
    tau² (correlation 1/2 between different comparisons); rows of the same design
    (treatment set) share one with variance gamma² (correlation 1/2).  The estimates
    do not depend on the baselines for consistent multi-arm data; the REML constant
    1/2 log|X'X| does.
    """
    level = res.level if level is None else float(level)
    units = _units(res, baselines)
    y = np.concatenate([u.y for u in units])
    X = np.vstack([u.X for u in units])
    V = linalg.block_diag(*[u.V for u in units])
    study = np.concatenate([[n] * u.m for n, u in enumerate(units)])
    design = np.concatenate([[u.design] * u.m for u in units])
    comp = np.concatenate([[f"{t}:{u.arms[0]}" for t in u.arms[1:]] for u in units])
    same_comp = comp[:, None] == comp[None, :]
    corr = np.where(same_comp, 1.0, 0.5)
    G_study = np.where(study[:, None] == study[None, :], corr, 0.0)
    G_design = np.where(design[:, None] == design[None, :], corr, 0.0)
    n, p = X.shape
    if n - p < 1:
        raise ModelError("no degrees of freedom for the variance components of the random inconsistency model")
    blocks = [np.flatnonzero(design == d) for d in dict.fromkeys(design)]
    reml = _REML(y, X, V, [G_study, G_design], blocks)
    scale = float(np.median(np.diag(V)))
    theta, ll, ok = reml.maximise([0.5 * scale, 0.5 * scale])
    warnings = []
    if not ok:
        warnings.append(AnalysisWarning("reml_not_converged", "REML did not converge; variance components set to 0"))
    tau2, gamma2 = float(theta[0]), float(theta[1])
    for name, val in (("tau²", tau2), ("gamma²", gamma2)):
        if val == 0.0:
            warnings.append(AnalysisWarning("variance_boundary", f"{name} estimated at 0 (boundary of the parameter space)"))
    ll, beta, Mi = reml.parts(theta)
    se = np.sqrt(np.diag(Mi))
    crit = _z(level)
    z = beta / se
    # residual heterogeneity: the fixed-effects Q of the same contrasts
    Wv = np.linalg.inv(V)
    b0 = np.linalg.solve(X.T @ Wv @ X, X.T @ Wv @ y)
    r0 = y - X @ b0
    qe = float(r0 @ Wv @ r0)
    qm = float(beta @ np.linalg.solve(Mi, beta))
    n_par = p + 2
    aic, bic, aicc = information_criteria(ll, n_par, n - p)
    return RandomInconsistency(
        reference=res.reference,
        coef_names=tuple(res.treatments[1:]),
        estimate=frozen_array(beta),
        se=frozen_array(se),
        ci_low=frozen_array(beta - crit * se),
        ci_high=frozen_array(beta + crit * se),
        zval=frozen_array(z),
        pval=frozen_array(2 * stats.norm.sf(np.abs(z))),
        vcov=frozen_array(Mi),
        tau2=tau2,
        gamma2=gamma2,
        rho=0.5,
        phi=0.5,
        level=level,
        k=int(n),
        qe=qe,
        qe_df=int(n - p),
        qe_pval=_pval(qe, n - p),
        qm=qm,
        qm_df=int(p),
        qm_pval=_pval(qm, p),
        loglik=float(ll),
        deviance=float(-2.0 * ll),
        aic=aic,
        bic=bic,
        aicc=aicc,
        warnings=tuple(warnings),
    )
