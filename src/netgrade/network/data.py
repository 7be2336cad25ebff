"""Network data: every study as its arms, pairwise effects and pairwise variances.

A study with n arms is held as the n x n antisymmetric matrix of pairwise effects
``y[i, j] = theta_i - theta_j`` and the matrix of their sampling variances ``R[i, j]``,
whether it came from arm-level data (effects computed pair by pair, as netmeta's
``pairwise()`` does) or from published contrasts (a multi-arm study must give all its
pairwise contrasts, from which the arm-level variances are recovered).

For a multi-arm study the covariance of two contrasts against a common arm b follows
from the pairwise variances, cov(t - b, s - b) = (v_tb + v_sb - v_ts) / 2 (Rücker 2012,
Res Synth Methods 3:312; Rücker & Schwarzer 2014, Stat Med 33:4353); pairwise variances
that fit no set of arm variances (the covariance matrix is not positive definite) are
reported as an error naming the study, instead of the negative variances other tools
produce.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .._result import ResultMixin, frozen_array
from ..data import schema
from ..data.effect_sizes import escalc, measure_info
from ..errors import AnalysisWarning, DataError, DataIssue, ExcludedStudy, ModelError

#: relative tolerance for treating a multi-arm study's contrasts as internally consistent
CONSISTENCY_RTOL = 1e-10


def treatment_sort_key(name: str) -> tuple[str, str]:
    """Order treatments as R's default collation does (case and punctuation ignored
    first), so that tables list them as netmeta users are used to."""
    return (re.sub(r"[^0-9a-z]", "", str(name).lower()), str(name))


@dataclass(frozen=True, eq=False)
class StudyBlock:
    """One study: arms (in network order, the first is the study's baseline), the
    pairwise effects y[i, j] = theta_i - theta_j, their variances R[i, j], and the
    number of patients per arm when known."""

    study: str
    arms: tuple[str, ...]
    y: np.ndarray
    R: np.ndarray
    n: np.ndarray | None = None

    @property
    def n_arms(self) -> int:
        return len(self.arms)

    @property
    def design(self) -> str:
        return ":".join(self.arms)

    def baseline_covariance(self) -> np.ndarray:
        """Covariance of the contrasts against the first arm, from pairwise variances."""
        R = self.R
        v0 = R[1:, 0]
        V = 0.5 * (v0[:, None] + v0[None, :] - R[1:, 1:])
        np.fill_diagonal(V, v0)
        return V

    def inconsistency(self) -> float:
        """Largest |y_ij - (y_i0 - y_j0)| over the study's pairs (0 if consistent)."""
        if self.n_arms < 3:
            return 0.0
        base = self.y[:, 0]
        implied = base[:, None] - base[None, :]
        return float(np.max(np.abs(self.y - implied)))


@dataclass(frozen=True, eq=False)
class NetworkData(ResultMixin):
    """The studies of a network, each reduced to pairwise effects and variances."""

    blocks: tuple[StudyBlock, ...]
    treatments: tuple[str, ...]
    measure: str
    source: str | None = None
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)

    @property
    def studies(self) -> tuple[str, ...]:
        return tuple(b.study for b in self.blocks)

    @property
    def n_studies(self) -> int:
        return len(self.blocks)

    @property
    def n_pairs(self) -> int:
        return sum(b.n_arms * (b.n_arms - 1) // 2 for b in self.blocks)

    @property
    def designs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.design for b in self.blocks))

    def pairs(self) -> pd.DataFrame:
        """All pairwise comparisons within studies (as netmeta's pairwise() lists them):
        study, treat1, treat2, TE = treat1 minus treat2, seTE."""
        rows = []
        for b in self.blocks:
            for i in range(b.n_arms):
                for j in range(i + 1, b.n_arms):
                    rows.append(
                        {
                            "study": b.study,
                            "treat1": b.arms[j],
                            "treat2": b.arms[i],
                            "TE": float(b.y[j, i]),
                            "seTE": math.sqrt(b.R[j, i]),
                        }
                    )
        return pd.DataFrame(rows, columns=["study", "treat1", "treat2", "TE", "seTE"])

    def edges(self) -> pd.DataFrame:
        """Direct comparisons: treat1, treat2 (network order) and the number of studies."""
        counts: dict[tuple[str, str], int] = {}
        for b in self.blocks:
            for i in range(b.n_arms):
                for j in range(i + 1, b.n_arms):
                    key = (b.arms[i], b.arms[j])
                    counts[key] = counts.get(key, 0) + 1
        return pd.DataFrame(
            [{"treat1": a, "treat2": c, "n_studies": n} for (a, c), n in counts.items()],
            columns=["treat1", "treat2", "n_studies"],
        )

    def patients(self) -> dict[str, float]:
        """Patients randomised to each treatment (NaN where unknown)."""
        out = {t: 0.0 for t in self.treatments}
        known = {t: False for t in self.treatments}
        for b in self.blocks:
            if b.n is None:
                continue
            for t, n in zip(b.arms, b.n):
                out[t] += float(n)
                known[t] = True
        return {t: (out[t] if known[t] else math.nan) for t in self.treatments}

    def components(self) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        """Connected sub-networks as (treatments, studies), largest first."""
        parent = {t: t for t in self.treatments}

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for b in self.blocks:
            for t in b.arms[1:]:
                ra, rb = find(b.arms[0]), find(t)
                if ra != rb:
                    parent[ra] = rb
        groups: dict[str, list[str]] = {}
        for t in self.treatments:
            groups.setdefault(find(t), []).append(t)
        comps = []
        for members in groups.values():
            mset = set(members)
            studies = tuple(b.study for b in self.blocks if b.arms[0] in mset)
            comps.append((tuple(sorted(members, key=treatment_sort_key)), studies))
        comps.sort(key=lambda c: (-len(c[1]), -len(c[0]), treatment_sort_key(c[0][0])))
        return comps

    def subset(self, treatments: Iterable[str] | None = None, studies: Iterable[str] | None = None) -> "NetworkData":
        """The network restricted to some studies and/or treatments (a study keeps the
        arms of the retained treatments and is dropped if fewer than two remain)."""
        keep_t = set(self.treatments if treatments is None else treatments)
        keep_s = None if studies is None else set(studies)
        blocks = []
        for b in self.blocks:
            if keep_s is not None and b.study not in keep_s:
                continue
            idx = [i for i, t in enumerate(b.arms) if t in keep_t]
            if len(idx) < 2:
                continue
            ix = np.ix_(idx, idx)
            blocks.append(
                StudyBlock(
                    b.study,
                    tuple(b.arms[i] for i in idx),
                    frozen_array(b.y[ix]),
                    frozen_array(b.R[ix]),
                    None if b.n is None else frozen_array(b.n[idx]),
                )
            )
        present = {t for b in blocks for t in b.arms}
        order = tuple(t for t in self.treatments if t in present)
        return NetworkData(tuple(blocks), order, self.measure, self.source, self.excluded, self.warnings)

    def reordered(self, order: Sequence[str]) -> "NetworkData":
        """The same data with arms of every study ordered by ``order`` (the first arm of
        each study becomes its baseline)."""
        rank = {t: i for i, t in enumerate(order)}
        blocks = []
        for b in self.blocks:
            idx = sorted(range(b.n_arms), key=lambda i: rank[b.arms[i]])
            if idx == list(range(b.n_arms)):
                blocks.append(b)  # already in order: reuse (blocks are immutable)
                continue
            ix = np.ix_(idx, idx)
            blocks.append(
                StudyBlock(
                    b.study,
                    tuple(b.arms[i] for i in idx),
                    frozen_array(b.y[ix]),
                    frozen_array(b.R[ix]),
                    None if b.n is None else frozen_array(b.n[idx]),
                )
            )
        return NetworkData(tuple(blocks), tuple(order), self.measure, self.source, self.excluded, self.warnings)

    def to_frame(self) -> pd.DataFrame:
        return self.pairs()

    def summary(self) -> str:
        multi = sum(1 for b in self.blocks if b.n_arms > 2)
        lines = [
            f"Network data ({self.measure}): {len(self.treatments)} treatments, {self.n_studies} studies "
            f"({multi} multi-arm), {self.n_pairs} pairwise comparisons, {len(self.designs)} designs",
            "treatments: " + ", ".join(self.treatments),
        ]
        lines += [f"excluded: {e}" for e in self.excluded]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def resolve_treatment_order(
    present: Sequence[str], reference: str | None, order: Sequence[str] | None, warnings: list
) -> tuple[str, ...]:
    """Treatments with the reference first, then in ``order`` (if given, it must list
    every treatment) or as ``present`` lists them; a missing reference defaults to the
    first treatment, with a warning appended to ``warnings``."""
    if reference is None:
        reference = present[0]
        warnings.append(AnalysisWarning("default_reference", f"no reference given; using {reference!r}"))
    if reference not in present:
        raise ModelError(f"reference {reference!r} is not in the network; treatments: {', '.join(present)}")
    if order is not None:
        order = [str(t) for t in order]
        missing = [t for t in present if t not in order]
        if missing:
            raise ModelError("order must list every treatment of the network; missing: " + ", ".join(missing))
        rest = [t for t in order if t in present and t != reference]
    else:
        rest = [t for t in present if t != reference]
    return (reference,) + tuple(rest)


# ---------------------------------------------------------------------------------
# building


def _order(treatments: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(treatments), key=treatment_sort_key))


def _check_covariance(block: StudyBlock, issues: list[DataIssue], source: str | None) -> None:
    if block.n_arms < 3:
        if not block.R[1, 0] > 0:
            issues.append(
                DataIssue(f"non-positive variance {block.R[1, 0]!r} for {block.arms[1]} vs {block.arms[0]}", file=source, study=block.study)
            )
        return
    V = block.baseline_covariance()
    eig = np.linalg.eigvalsh(V)
    if not np.all(np.isfinite(eig)) or eig[0] <= 1e-12 * max(1.0, float(eig[-1])):
        pairs = ", ".join(
            f"v({block.arms[i]}, {block.arms[j]}) = {block.R[i, j]:.4g}"
            for i in range(block.n_arms)
            for j in range(i + 1, block.n_arms)
        )
        issues.append(
            DataIssue(
                "the pairwise variances of this multi-arm study fit no set of arm variances "
                f"(the implied covariance matrix is not positive definite: {pairs}); check the extraction",
                file=source,
                study=block.study,
            )
        )


def _check_one_scale(arms: schema.ArmTable, measure: str) -> None:
    """Mean differences (and ratios of means) need every arm on one scale: arms whose
    scale_min/scale_max differ must be rescaled first (netgrade.data.scales), never
    mixed silently.  SMDs are scale-free and exempt."""
    if measure not in ("MD", "ROM"):
        return
    f = arms.frame
    cols = [c for c in (schema.SCALE_MIN, schema.SCALE_MAX) if c in f.columns]
    if not cols:
        return
    scales = f[cols].astype(float).apply(tuple, axis=1)
    distinct = list(dict.fromkeys(scales[scales.map(lambda t: all(np.isfinite(t)))]))
    if len(distinct) > 1:
        examples = []
        for sc in distinct[:3]:
            rows = f[scales == sc]
            examples.append(
                f"{'-'.join(f'{x:g}' for x in sc)} (e.g. study {rows[schema.STUDY].iloc[0]!r}"
                + (f", row {int(rows[schema.SOURCE_ROW].iloc[0])}" if schema.SOURCE_ROW in rows else "")
                + ")"
            )
        raise DataError(
            f"{arms.source or 'the arm data'}: arms are on different scales ({'; '.join(examples)}); "
            f"a {measure} needs one scale: rescale the arms first (netgrade.data.scales.rescale_arms)"
        )


def network_from_arms(
    arms: schema.ArmTable,
    measure: str,
    *,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    vtype: str = "LS",
) -> NetworkData:
    """Network data from arm-level data, computing every pairwise effect of every study.

    Continuity corrections follow netmeta's ``pairwise()``: if any arm of a study has a
    zero cell, ``add`` is added to every cell of every arm of that study (so that its
    pairwise effects stay consistent); a study with no events (or only events) in all
    arms is excluded with its reason when ``drop00`` is true, as netmeta does.  ``to``
    may be "all" to correct every study.
    """
    info = measure_info(measure)
    if info.kind not in ("2x2", "means"):
        raise ModelError(f"measure {info.code} is not a comparative measure for a network")
    frame = arms.frame
    binary = arms.outcome_type == "binary"
    if info.kind == "2x2" and not binary:
        raise DataError(f"measure {info.code} needs event counts; the arm data hold means")
    if info.kind == "means" and binary:
        raise DataError(f"measure {info.code} needs means and SDs; the arm data hold event counts")
    _check_one_scale(arms, info.code)
    order = _order(frame[schema.TREATMENT])
    rank = {t: i for i, t in enumerate(order)}
    blocks, excluded, warnings, issues = [], list(arms.excluded), list(arms.warnings), []
    corrected = []
    for study in arms.studies:
        rows = frame[frame[schema.STUDY] == study]
        rows = rows.iloc[sorted(range(len(rows)), key=lambda i: rank[rows[schema.TREATMENT].iloc[i]])]
        t = tuple(str(x) for x in rows[schema.TREATMENT])
        if len(t) < 2:
            excluded.append(ExcludedStudy(study, "only one arm: a single-arm study has no comparison"))
            continue
        n = rows[schema.N].to_numpy(float)
        if binary:
            ev = rows[schema.EVENTS].to_numpy(float)
            nonev = n - ev
            if drop00 and info.code in ("OR", "RR", "PETO") and (np.all(ev == 0) or (info.code == "OR" and np.all(nonev == 0))):
                excluded.append(
                    ExcludedStudy(study, "no events (or only events) in every arm: the study carries no information on relative effects")
                )
                continue
            zero = bool(np.any(ev == 0) or np.any(nonev == 0))
            inc = add if (to == "all" or (to in ("only0", "if0all") and zero)) and info.code != "RD" else 0.0
            if info.code == "RD":
                inc = 0.0
            if inc > 0:
                corrected.append(study)
            ai, ni_ = ev + inc, n + 2 * inc
        y = np.zeros((len(t), len(t)))
        R = np.zeros((len(t), len(t)))
        for i in range(len(t)):
            for j in range(i + 1, len(t)):
                if binary:
                    es = escalc(info.code, ai=[ai[j]], n1i=[ni_[j]], ci=[ai[i]], n2i=[ni_[i]], add=0.0, to="none", vtype=vtype)
                else:
                    m = rows[schema.MEAN].to_numpy(float)
                    sd = rows[schema.SD].to_numpy(float)
                    es = escalc(
                        info.code, m1i=[m[j]], sd1i=[sd[j]], n1i=[n[j]], m2i=[m[i]], sd2i=[sd[i]], n2i=[n[i]], vtype=vtype
                    )
                if es.k != 1:
                    reason = es.excluded[0].reason if es.excluded else "effect undefined"
                    issues.append(DataIssue(f"{t[j]} vs {t[i]}: {reason}", file=arms.source, study=study))
                    continue
                y[j, i], y[i, j] = es.yi[0], -es.yi[0]
                R[i, j] = R[j, i] = es.vi[0]
        block = StudyBlock(study, t, frozen_array(y), frozen_array(R), frozen_array(n))
        _check_covariance(block, issues, arms.source)
        blocks.append(block)
    if issues:
        raise DataError("the network cannot be built from the arm data", issues)
    if corrected:
        warnings.append(
            AnalysisWarning(
                "continuity_correction",
                f"{add:g} added to every cell of every arm of {len(corrected)} stud{'y' if len(corrected) == 1 else 'ies'} "
                f"with a zero cell: {', '.join(corrected)}",
                tuple(corrected),
            )
        )
    if excluded:
        new = [e for e in excluded if e not in arms.excluded]
        if new:
            warnings.append(
                AnalysisWarning(
                    "excluded_studies",
                    f"{len(new)} stud{'y' if len(new) == 1 else 'ies'} excluded: " + "; ".join(str(e) for e in new),
                    tuple(e.study for e in new),
                )
            )
    present = {tt for b in blocks for tt in b.arms}
    return NetworkData(
        tuple(blocks), tuple(x for x in order if x in present), info.code, arms.source, tuple(excluded), tuple(warnings)
    )


def network_from_contrasts(contrasts: schema.ContrastTable, measure: str | None = None) -> NetworkData:
    """Network data from published contrasts (``study, treatment1, treatment2, estimate,
    se``; estimate = treatment1 versus treatment2).

    A two-arm study gives one contrast.  A multi-arm study must give the contrasts of
    every pair of its arms (as netmeta's ``pairwise()`` lists them): their variances
    identify the arm-level variances and so the covariance of the contrasts.  A
    multi-arm study whose contrasts do not add up around a loop is analysed after an
    inverse-variance projection onto consistent contrasts, with a warning.
    """
    if not contrasts.is_network:
        raise DataError("network contrasts need treatment1 and treatment2 columns")
    f = contrasts.frame
    order = _order(list(f[schema.TREATMENT1]) + list(f[schema.TREATMENT2]))
    rank = {t: i for i, t in enumerate(order)}
    blocks, issues, warnings = [], [], list(contrasts.warnings)
    inconsistent = []
    for study in contrasts.studies:
        rows = f[f[schema.STUDY] == study]
        arms = sorted(set(rows[schema.TREATMENT1]) | set(rows[schema.TREATMENT2]), key=lambda t: rank[t])
        n = len(arms)
        idx = {t: i for i, t in enumerate(arms)}
        y = np.full((n, n), np.nan)
        R = np.full((n, n), np.nan)
        np.fill_diagonal(y, 0.0)
        np.fill_diagonal(R, 0.0)
        for _, r in rows.iterrows():
            i, j = idx[r[schema.TREATMENT1]], idx[r[schema.TREATMENT2]]
            if not np.isnan(R[i, j]):
                issues.append(
                    DataIssue(
                        f"comparison {r[schema.TREATMENT1]} vs {r[schema.TREATMENT2]} given twice",
                        file=contrasts.source,
                        row=int(r[schema.SOURCE_ROW]) if schema.SOURCE_ROW in r else None,
                        study=study,
                    )
                )
                continue
            y[i, j], y[j, i] = r[schema.ESTIMATE], -r[schema.ESTIMATE]
            R[i, j] = R[j, i] = float(r[schema.SE]) ** 2
        missing = [(arms[i], arms[j]) for i in range(n) for j in range(i + 1, n) if np.isnan(R[i, j])]
        if missing:
            issues.append(
                DataIssue(
                    f"multi-arm study with {n} arms ({', '.join(arms)}) gives {n * (n - 1) // 2 - len(missing)} of its "
                    f"{n * (n - 1) // 2} pairwise contrasts; missing: "
                    + ", ".join(f"{a} vs {b}" for a, b in missing)
                    + ". The covariance of its contrasts needs every pair (or give the arm-level data)",
                    file=contrasts.source,
                    study=study,
                )
            )
            continue
        block = StudyBlock(study, tuple(arms), frozen_array(y), frozen_array(R), None)
        _check_covariance(block, issues, contrasts.source)
        gap = block.inconsistency()
        scale = max(1.0, float(np.max(np.abs(y))))
        if gap > CONSISTENCY_RTOL * scale:
            inconsistent.append(f"{study} (largest loop discrepancy {gap:.3g})")
        blocks.append(block)
    if issues:
        raise DataError("the network cannot be built from the contrasts", issues)
    if inconsistent:
        warnings.append(
            AnalysisWarning(
                "multiarm_inconsistent",
                "the contrasts of these multi-arm studies do not add up exactly around their loops; "
                "they are combined by inverse-variance weighted least squares over all pairs, as netmeta does: "
                + "; ".join(inconsistent),
                tuple(s.split(" (")[0] for s in inconsistent),
            )
        )
    code = measure.upper() if measure else "GEN"
    present = {t for b in blocks for t in b.arms}
    return NetworkData(
        tuple(blocks), tuple(t for t in order if t in present), code, contrasts.source, tuple(contrasts.excluded), tuple(warnings)
    )
