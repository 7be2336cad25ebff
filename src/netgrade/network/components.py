"""Additive component network meta-analysis (CNMA).

Some treatments of a network are combinations of components: "LA + steroid" is local
anaesthetic plus steroid, "Face-to-face CBT + SSRI" a psychotherapy plus a drug.  The
additive model assumes that the effect of a combination is the sum of the effects of
its components, so that components shared by two arms cancel out of their comparison
(Welton, Caldwell, Adamopoulos & Vedhara 2009, Am J Epidemiol 169:1158; Mills, Thorlund
& Ioannidis 2012, J Clin Epidemiol 65:1282).  The frequentist version used here is that
of Rücker, Petropoulou & Schwarzer (2020, Biometrical J 62:808), netmeta's ``netcomb``:

    delta = B theta,   theta = C beta

with B the design matrix of the network (which treatments each contrast compares), C
the treatments x components matrix (C[t, c] = 1 if treatment t contains component c)
and beta the component effects.  beta is estimated by the same generalised least
squares as the standard network model (multi-arm studies with their exact covariance,
which is netmeta's weighting with multi-arm adjusted weights, Rücker 2012, Res Synth
Methods 3:312), with the design B C in place of B.  The inactive treatment (placebo,
sham) has no components: its row of C is zero, and every combination's effect C_t beta
is its effect against it.

Heterogeneity and fit (Rücker et al. 2020, section 3):

* Q_additive is the weighted residual sum of squares of the additive model, on
  df = (number of contrasts) - rank(B C).  Q_standard is the Q of the standard
  (consistency) network model; Q_diff = Q_additive - Q_standard on
  rank(B) - rank(B C) df tests the additivity assumption.
* tau² (netcomb's default, ``method="DL"``) is the generalised DerSimonian-Laird
  estimator applied to the additive model, max(0, (Q_additive - df) / tr((I - H) S W))
  with H the hat matrix of the additive model, W the (multi-arm adjusted) weights and S
  the structure of the random effects (1 on the diagonal, 1/2 between contrasts of the
  same study) -- the moment estimator of Jackson, White & Riley (2012, Stat Med
  31:3805) for the design B C.  REML and ML on the additive model are offered too.
* I² = (Q_additive - df) / Q_additive (Higgins & Thompson 2002, Stat Med 21:1539).

A component that the network cannot separate from another (two components that are
always given together; a component only ever compared with a combination containing
it...) makes B C rank-deficient; netmeta then warns and reports a generalised-inverse
solution.  Here it is an error that names the components and the combination of them
that is not estimable.  A network that is disconnected as a network of treatments may
still be connected through shared components (netmeta's ``discomb``): that is allowed
whenever every component is identifiable.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._result import ResultMixin, fmt, fmt_p, frozen_array, jsonable, note_lines
from ..errors import AnalysisWarning, DataError, ExcludedStudy, ModelError
from . import _engine
from .data import NetworkData, network_from_arms, network_from_contrasts, treatment_sort_key
from .league import League
from .model import NMAResult, i2_interval

__all__ = ["EffectTable", "ComponentNMAResult", "component_nma", "component_matrix"]

#: relative tolerance below which a singular value of B C counts as zero
RANK_RTOL = 1e-10
#: netmeta's zero threshold for Q_diff (.Machine$double.eps^0.75)
QDIFF_ZERO = np.finfo(float).eps ** 0.75


def _crit(level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - level) / 2))


@dataclass(frozen=True, eq=False)
class EffectTable(ResultMixin):
    """Named estimates with standard errors, normal-theory confidence intervals, z
    statistics and two-sided p-values (z and p are NaN where se is 0)."""

    names: tuple[str, ...]
    est: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    z: np.ndarray
    pval: np.ndarray
    level: float

    @classmethod
    def make(cls, names: Sequence[str], est, se, level: float) -> "EffectTable":
        est = np.asarray(est, float)
        se = np.asarray(se, float)
        crit = _crit(level)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
        p = np.where(np.isfinite(z), 2.0 * stats.norm.sf(np.abs(z)), np.nan)
        return cls(
            tuple(names),
            frozen_array(est),
            frozen_array(se),
            frozen_array(est - crit * se),
            frozen_array(est + crit * se),
            frozen_array(z),
            frozen_array(p),
            float(level),
        )

    def __len__(self) -> int:
        return len(self.names)

    def row(self, name: str) -> dict:
        i = self.names.index(name)
        return {
            "name": name,
            "estimate": float(self.est[i]),
            "se": float(self.se[i]),
            "ci_low": float(self.ci_low[i]),
            "ci_high": float(self.ci_high[i]),
            "z": float(self.z[i]),
            "pval": float(self.pval[i]),
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "name": list(self.names),
                "estimate": self.est,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "z": self.z,
                "pval": self.pval,
            }
        )

    def summary(self) -> str:
        return self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4f}")

    def to_dict(self) -> dict:
        return jsonable({"level": self.level, "rows": self.to_frame().to_dict(orient="records")})


# ---------------------------------------------------------------------------------
# the C matrix


def _split(name: str, sep: str) -> list[str]:
    if not sep:
        return [name.strip()]
    return [p.strip() for p in str(name).split(sep) if p.strip()]


def component_matrix(
    treatments: Sequence[str],
    components: Mapping[str, Any] | pd.DataFrame | None = None,
    *,
    inactive: str | None = None,
    sep: str = "+",
) -> tuple[tuple[str, ...], np.ndarray]:
    """The C matrix (treatments x components) and the component names.

    ``components`` is ``None`` (split every treatment name on ``sep`` and strip blanks,
    as netmeta's ``createC``), a mapping treatment -> list of components (or a string,
    split on ``sep``), or a data frame with treatments as rows and components as
    columns (netcomb's ``C.matrix``; entries need not be 0/1).  The ``inactive``
    treatment has no components, and its name is not a component of any combination
    ("Placebo + X" is X).  Components are listed in R's collation order unless a data
    frame gives them.
    """
    treatments = tuple(str(t) for t in treatments)
    if inactive is not None and inactive not in treatments:
        raise ModelError(f"inactive treatment {inactive!r} is not in the network; treatments: {', '.join(treatments)}")
    if isinstance(components, pd.DataFrame):
        frame = components.copy()
        frame.index = [str(i) for i in frame.index]
        missing = [t for t in treatments if t not in frame.index]
        if missing:
            raise DataError("the component matrix has no row for: " + ", ".join(missing))
        names = tuple(str(c) for c in frame.columns)
        if len(set(names)) != len(names):
            raise DataError("the component matrix has duplicated column names")
        C = frame.loc[list(treatments)].to_numpy(dtype=float)
        if not np.all(np.isfinite(C)):
            bad = [treatments[i] for i in np.flatnonzero(~np.all(np.isfinite(C), axis=1))]
            raise DataError("the component matrix has missing or infinite entries for: " + ", ".join(bad))
        if inactive is not None and np.any(C[treatments.index(inactive)] != 0):
            raise DataError(f"the inactive treatment {inactive!r} must have no components (a zero row of C)")
        return names, C
    lists: dict[str, list[str]] = {}
    if components is None:
        for t in treatments:
            lists[t] = [] if t == inactive else _split(t, sep)
    else:
        missing = [t for t in treatments if t not in components and t != inactive]
        if missing:
            raise DataError("no components given for treatment(s): " + ", ".join(missing))
        for t in treatments:
            spec = components.get(t) or []
            parts = _split(spec, sep) if isinstance(spec, str) else [str(c).strip() for c in spec]
            parts = [p for p in parts if p and p != inactive]
            if t == inactive and parts:
                raise DataError(f"the inactive treatment {inactive!r} must have no components; given: {', '.join(parts)}")
            lists[t] = parts
    for t in treatments:
        lists[t] = list(dict.fromkeys(c for c in lists[t] if c != inactive))
    names = tuple(sorted({c for v in lists.values() for c in v}, key=treatment_sort_key))
    if not names:
        raise ModelError("no treatment has any component")
    col = {c: j for j, c in enumerate(names)}
    C = np.zeros((len(treatments), len(names)))
    for i, t in enumerate(treatments):
        for c in lists[t]:
            C[i, col[c]] = 1.0
    return names, C


# ---------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class ComponentNMAResult(ResultMixin):
    """A fitted additive component network meta-analysis.

    ``components`` are the columns of ``C`` (rows: ``treatments``, in R's collation
    order).  ``common`` and ``random`` hold the component effects, ``combinations_common``
    and ``combinations_random`` every treatment's effect C_t beta (against the inactive
    treatment if there is one); ``vcov_common`` / ``vcov_random`` the covariance of the
    component effects.  ``i2`` is a percentage.
    """

    data: NetworkData
    treatments: tuple[str, ...]
    components: tuple[str, ...]
    C: np.ndarray
    inactive: str | None
    method: str
    level: float
    measure: str
    common: EffectTable
    random: EffectTable
    combinations_common: EffectTable
    combinations_random: EffectTable
    vcov_common: np.ndarray
    vcov_random: np.ndarray
    q_additive: float
    q_additive_df: int
    q_additive_pval: float
    q_standard: float
    q_standard_df: int
    q_standard_pval: float
    q_diff: float
    q_diff_df: int
    q_diff_pval: float
    tau2: float
    tau2_fixed: bool
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    larger_better: bool = False
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2) if math.isfinite(self.tau2) else math.nan

    @property
    def k(self) -> int:
        return self.data.n_studies

    def _pick(self, model: str):
        if model == "common":
            return self.common, self.combinations_common, np.asarray(self.vcov_common), 0.0
        if model == "random":
            return self.random, self.combinations_random, np.asarray(self.vcov_random), self.tau2
        raise ModelError("model must be 'common' or 'random'")

    def effects(self, model: str = "random") -> pd.DataFrame:
        """The component effects of one model as a table."""
        return self._pick(model)[0].to_frame().rename(columns={"name": "component"})

    def combinations(self, model: str = "random") -> pd.DataFrame:
        """Every treatment of the network as the sum of its components."""
        return self._pick(model)[1].to_frame().rename(columns={"name": "treatment"})

    def complex_effect(self, components: Sequence[str] | str | Mapping[str, float], model: str = "random",
                       against: Sequence[str] | str | Mapping[str, float] = ()) -> dict:
        """The effect of any combination of components (present in the network or not)
        against another (default: against nothing, i.e. the inactive treatment), as
        netmeta's ``netcomplex`` / ``netcomparison``.  A string is split on "+"; a
        mapping gives a weight (e.g. a dose multiple) per component."""
        _, _, V, _ = self._pick(model)
        beta = np.asarray(self._pick(model)[0].est)

        def vec(spec) -> np.ndarray:
            if isinstance(spec, str):
                spec = _split(spec, "+")
            items = spec.items() if isinstance(spec, Mapping) else [(c, 1.0) for c in spec]
            v = np.zeros(len(self.components))
            for c, w in items:
                if c == self.inactive:
                    continue
                if c not in self.components:
                    raise ModelError(f"{c!r} is not a component of this model; components: {', '.join(self.components)}")
                v[self.components.index(c)] += float(w)
            return v

        x = vec(components) - vec(against)
        est = float(x @ beta)
        se = math.sqrt(max(float(x @ V @ x), 0.0))
        t = EffectTable.make(["complex"], [est], [se], self.level)
        return {k: v for k, v in t.row("complex").items() if k != "name"}

    def league(self, model: str = "random") -> League:
        """Every treatment against every other under the additive model (row minus
        column); prediction intervals use the normal distribution and tau²."""
        _, _, V, t2 = self._pick(model)
        beta = np.asarray(self._pick(model)[0].est)
        C = np.asarray(self.C)
        theta = C @ beta
        cov = C @ V @ C.T
        est = theta[:, None] - theta[None, :]
        d = np.diag(cov)
        se = np.sqrt(np.maximum(d[:, None] + d[None, :] - 2 * cov, 0.0))
        z = _crit(self.level)
        with np.errstate(invalid="ignore", divide="ignore"):
            pval = np.where(se > 0, 2 * stats.norm.sf(np.abs(est / np.where(se > 0, se, 1.0))), np.nan)
        half = z * np.sqrt(se**2 + t2)
        np.fill_diagonal(half, 0.0)
        return League(
            treatments=self.treatments,
            est=frozen_array(est),
            se=frozen_array(se),
            ci_low=frozen_array(est - z * se),
            ci_high=frozen_array(est + z * se),
            pval=frozen_array(pval),
            pi_low=frozen_array(est - half),
            pi_high=frozen_array(est + half),
            level=self.level,
        )

    def c_matrix(self) -> pd.DataFrame:
        return pd.DataFrame(np.asarray(self.C), index=list(self.treatments), columns=list(self.components))

    def to_frame(self) -> pd.DataFrame:
        frames = []
        for model in ("common", "random"):
            f = self.effects(model)
            f.insert(0, "model", model)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> str:
        lines = [
            f"Additive component network meta-analysis ({self.measure}"
            + (f"; inactive treatment: {self.inactive}" if self.inactive else "")
            + f"; tau² by {self.method})",
            f"{self.k} studies, {len(self.treatments)} treatments, {len(self.components)} components",
            "",
            f"tau² = {fmt(self.tau2)}, tau = {fmt(self.tau)}" + (" (fixed)" if self.tau2_fixed else ""),
            f"I² = {fmt(self.i2, 1)}% [{fmt(self.i2_ci_low, 1)}%, {fmt(self.i2_ci_high, 1)}%]",
            f"Q additive model = {fmt(self.q_additive)} (df = {self.q_additive_df}), p = {fmt_p(self.q_additive_pval)}",
            f"Q standard model = {fmt(self.q_standard)} (df = {self.q_standard_df}), p = {fmt_p(self.q_standard_pval)}",
            f"Q difference (test of additivity) = {fmt(self.q_diff)} (df = {self.q_diff_df}), p = {fmt_p(self.q_diff_pval)}",
            "",
        ]
        for model in ("common", "random"):
            lines.append(f"Component effects, {model} effects model ({int(round(self.level * 100))}% CI):")
            lines.append(self.effects(model).to_string(index=False, float_format=lambda x: f"{x:.4f}"))
            lines.append("")
        lines += note_lines(self)
        return "\n".join(lines).rstrip()

    def to_dict(self) -> dict:
        return jsonable(
            {
                "measure": self.measure,
                "method": self.method,
                "level": self.level,
                "inactive": self.inactive,
                "treatments": list(self.treatments),
                "components": list(self.components),
                "C": np.asarray(self.C),
                "common": self.common.to_dict(),
                "random": self.random.to_dict(),
                "combinations_common": self.combinations_common.to_dict(),
                "combinations_random": self.combinations_random.to_dict(),
                "vcov_common": np.asarray(self.vcov_common),
                "vcov_random": np.asarray(self.vcov_random),
                "q_additive": self.q_additive,
                "q_additive_df": self.q_additive_df,
                "q_additive_pval": self.q_additive_pval,
                "q_standard": self.q_standard,
                "q_standard_df": self.q_standard_df,
                "q_standard_pval": self.q_standard_pval,
                "q_diff": self.q_diff,
                "q_diff_df": self.q_diff_df,
                "q_diff_pval": self.q_diff_pval,
                "tau2": self.tau2,
                "tau": self.tau,
                "tau2_fixed": self.tau2_fixed,
                "i2": self.i2,
                "i2_ci_low": self.i2_ci_low,
                "i2_ci_high": self.i2_ci_high,
                "larger_better": self.larger_better,
                "warnings": [w.to_dict() for w in self.warnings],
                "excluded": [e.to_dict() for e in self.excluded],
            }
        )


# ---------------------------------------------------------------------------------
# fitting


def _pval(q: float, df: int) -> float:
    return float(stats.chi2.sf(q, df)) if df > 0 and math.isfinite(q) else math.nan


def _additive_design(design: _engine.Design, D: np.ndarray) -> _engine.Design:
    """The same studies with the design of the additive model: every baseline contrast
    row x (over the basic parameters) becomes x D (over the components)."""
    add = copy.copy(design)
    add.groups = [dataclasses.replace(g, X=np.einsum("nip,pc->nic", g.X, D)) for g in design.groups]
    add.p = D.shape[1]
    add.df = design.n_obs - D.shape[1]
    return add


def _unidentifiable(Z: np.ndarray, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """The components involved in the null space of the stacked design B C, and the
    null-space directions (combinations of component effects the data cannot see)."""
    _, s, vt = np.linalg.svd(Z, full_matrices=True)
    tol = RANK_RTOL * (s[0] if s.size and s[0] > 0 else 1.0)
    rank = int(np.sum(s > tol))
    null = vt[rank:]
    if null.size == 0:
        return [], []
    involved = [names[j] for j in range(len(names)) if np.any(np.abs(null[:, j]) > 1e-8)]
    directions = []
    for v in null:
        v = v / v[np.argmax(np.abs(v))]
        terms = []
        for j in np.flatnonzero(np.abs(v) > 1e-8):
            c = round(float(v[j]), 3)
            mag = "" if abs(c) == 1 else f"{abs(c):g} "
            sign = "-" if c < 0 else "+"
            terms.append(f"{sign} {mag}{names[j]}")
        text = " ".join(terms)
        directions.append(text[2:] if text.startswith("+ ") else "-" + text[1:])
    return involved, directions


def _rank(Z: np.ndarray) -> int:
    if Z.size == 0:
        return 0
    s = np.linalg.svd(Z, compute_uv=False)
    return int(np.sum(s > RANK_RTOL * (s[0] if s[0] > 0 else 1.0)))


def _stacked(design: _engine.Design) -> np.ndarray:
    return np.vstack([g.X.reshape(-1, g.X.shape[2]) for g in design.groups]) if design.groups else np.zeros((0, design.p))


def _standard_q(data: NetworkData, reference: str) -> tuple[float, int]:
    """Q and df of the standard (consistency) model, common effect, netmeta's
    weighting; for a network in several pieces the sum over its sub-networks."""
    comps = data.components()
    q, df = 0.0, 0
    for trts, studies in comps:
        sub = data if len(comps) == 1 else data.subset(treatments=trts, studies=studies)
        ref = reference if reference in trts else sub.treatments[0]
        design = _engine.Design(sub, ref)
        f = _engine.fit(design, 0.0)
        q += float(f.q)
        df += int(design.df)
    return q, df


def _as_network(obj: Any, measure: str | None, arm_options: Mapping[str, Any]) -> tuple[NetworkData, dict]:
    from ..data import schema

    info: dict = {}
    if isinstance(obj, NMAResult):
        info = {"level": obj.level, "larger_better": obj.larger_better}
        return obj.data, info
    if isinstance(obj, NetworkData):
        return obj, info
    if isinstance(obj, schema.ArmTable):
        if not measure:
            raise DataError("arm-level data need an effect measure (e.g. OR, RR, MD, SMD)")
        return network_from_arms(obj, measure, **arm_options), info
    if isinstance(obj, schema.ContrastTable):
        return network_from_contrasts(obj, measure), info
    raise DataError(f"cannot build a network from {type(obj).__name__}")


def component_nma(
    res_or_data: Any,
    *,
    components: Mapping[str, Any] | pd.DataFrame | None = None,
    inactive: str | None = None,
    sep: str = "+",
    method: str = "DL",
    tau2: float | None = None,
    level: float | None = None,
    measure: str | None = None,
    larger_better: bool | None = None,
    **arm_options: Any,
) -> ComponentNMAResult:
    """Additive component network meta-analysis (Rücker, Petropoulou & Schwarzer 2020,
    Biometrical J 62:808; netmeta's ``netcomb``).

    ``res_or_data`` is a fitted :class:`NMAResult` (its data, level and direction of
    benefit are used), :class:`NetworkData`, an arm table (with ``measure`` and the
    continuity-correction options of :func:`network_from_arms`) or a network contrast
    table.  ``components`` maps treatments to their components (default: split names on
    ``sep``, e.g. "LA+steroid" -> LA, steroid) or is a C matrix as a data frame;
    ``inactive`` is the treatment without components (placebo, sham).

    ``method``: "DL" (default) estimates tau² for the random-effects additive model by
    netcomb's generalised DerSimonian-Laird estimator on the additive model; "REML" or
    "ML" maximise the (restricted) likelihood of the additive model (metafor's rma.mv
    likelihood, each study's contrasts against its first arm); "FE" sets tau² = 0;
    ``tau2`` fixes it (netcomb's ``tau.preset`` squared).  Raises :class:`ModelError`
    naming the components the network cannot separate.
    """
    data, info = _as_network(res_or_data, measure, arm_options)
    level = float(info.get("level", 0.95) if level is None else level)
    if not 0 < level < 1:
        raise ModelError("level must be between 0 and 1")
    lb = bool(info.get("larger_better", False) if larger_better is None else larger_better)
    m = str(method).strip().upper()
    m = {"COMMON": "FE", "FIXED": "FE", "EE": "FE", "CE": "FE", "RANDOM": "DL"}.get(m, m)
    if m not in ("FE", "DL", "REML", "ML"):
        raise ModelError(f"unknown method {method!r}; choose FE, DL, REML or ML")
    warnings = list(data.warnings)
    if len(data.treatments) < 2:
        raise ModelError("a network needs at least two treatments")

    treatments = tuple(data.treatments)
    names, C = component_matrix(treatments, components, inactive=inactive, sep=sep)
    reference = inactive if inactive is not None else treatments[0]
    design = _engine.Design(data, reference)
    row = {t: i for i, t in enumerate(treatments)}
    Cd = C[[row[t] for t in design.treatments]]
    D = Cd[1:] - Cd[0]  # basic parameter (t vs reference) -> components
    add = _additive_design(design, D)

    Z = _stacked(add)
    rank_add = _rank(Z)
    if rank_add < len(names):
        involved, directions = _unidentifiable(Z, names)
        zero = [c for j, c in enumerate(names) if not np.any(Z[:, j] != 0)]
        detail = ""
        if zero:
            detail = (
                f"; {', '.join(repr(c) for c in zero)} never "
                + ("differs" if len(zero) == 1 else "differ")
                + " between the arms of a study"
            )
        raise ModelError(
            "the network cannot separate the effects of component"
            + ("s " if len(involved) > 1 else " ")
            + ", ".join(repr(c) for c in involved)
            + " (the additive model is not identifiable: the data carry no information on "
            + "; ".join(directions)
            + detail
            + "). Combine them into one component, add studies that compare them, or give another C matrix"
        )

    comps = data.components()
    if len(comps) > 1:
        warnings.append(
            AnalysisWarning(
                "disconnected_network",
                f"the network of treatments falls into {len(comps)} sub-networks, connected only through shared "
                "components (the additive model bridges them, as netmeta's discomb does)",
            )
        )
    q_std, df_std = _standard_q(data, reference)
    rank_std = design.n_obs - df_std
    df_add = design.n_obs - rank_add
    df_diff = rank_std - rank_add

    f0 = _engine.fit(add, 0.0)
    q_add = float(f0.q)
    q_diff = q_add - q_std
    if abs(q_diff) < QDIFF_ZERO:
        q_diff = 0.0

    fixed = tau2 is not None
    if m == "FE":
        t2 = 0.0
    elif fixed:
        t2 = float(tau2)
        if not t2 >= 0:
            raise ModelError("tau² must be non-negative")
    elif df_add < 1:
        warnings.append(AnalysisWarning("no_heterogeneity_df", "no degrees of freedom to estimate tau²; tau² = 0"))
        t2 = 0.0
    elif m == "DL":
        t2 = max(0.0, (q_add - df_add) / f0.trace_PS)
    else:
        from .model import _estimate_tau2

        t2, notes = _estimate_tau2(add, m, f0)
        warnings += [AnalysisWarning("tau2_solver", f"{m}: {n}") for n in notes]
    if m != "FE" and not fixed and t2 == 0.0 and df_add >= 1:
        warnings.append(AnalysisWarning("tau2_boundary", f"tau² estimated at 0 by {m}"))
    if m in ("REML", "ML"):
        f1 = _engine.fit(add, t2, y_fixed=add.raw())
    else:
        f1 = f0 if t2 == 0.0 else _engine.fit(add, t2)
    i2, i2_lo, i2_hi = i2_interval(q_add, df_add, level)

    def tables(f):
        beta = np.asarray(f.beta)
        V = np.asarray(f.vcov)
        comp = EffectTable.make(names, beta, np.sqrt(np.maximum(np.diag(V), 0.0)), level)
        theta = C @ beta
        cov = C @ V @ C.T
        comb = EffectTable.make(treatments, theta, np.sqrt(np.maximum(np.diag(cov), 0.0)), level)
        return comp, comb, V

    comp0, comb0, V0 = tables(f0)
    comp1, comb1, V1 = tables(f1)
    return ComponentNMAResult(
        data=data,
        treatments=treatments,
        components=names,
        C=frozen_array(C),
        inactive=inactive,
        method=m,
        level=level,
        measure=data.measure,
        common=comp0,
        random=comp1,
        combinations_common=comb0,
        combinations_random=comb1,
        vcov_common=frozen_array(V0),
        vcov_random=frozen_array(V1),
        q_additive=q_add,
        q_additive_df=int(df_add),
        q_additive_pval=_pval(q_add, df_add),
        q_standard=q_std,
        q_standard_df=int(df_std),
        q_standard_pval=_pval(q_std, df_std),
        q_diff=float(q_diff),
        q_diff_df=int(df_diff),
        q_diff_pval=_pval(q_diff, df_diff),
        tau2=float(t2),
        tau2_fixed=bool(fixed and m != "FE"),
        i2=i2,
        i2_ci_low=i2_lo,
        i2_ci_high=i2_hi,
        larger_better=lb,
        warnings=tuple(warnings),
        excluded=tuple(data.excluded),
    )
