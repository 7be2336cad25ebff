"""One pairwise meta-analysis from a data file: read, compute effects, fit, summarise.

This is the function behind ``netgrade pairwise``; the command line only parses its
options and prints the result.  It accepts every layout the readers know (long arm
data, metafor-style wide rows, contrast-level estimates) and every pooling method:
the tau² estimators of :func:`~netgrade.pairwise.rma`, Mantel-Haenszel ("MH") and
Peto ("PETO").
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import __version__
from .._result import ResultMixin, jsonable
from ..data import schema
from ..data.effect_sizes import MEASURES, EffectSizes, effects_from_arms, effects_from_single_arms, escalc, measure_info
from ..data.readers import load_pairwise
from ..errors import AnalysisWarning, DataError, ExcludedStudy, ModelError
from .heterogeneity import HeterogeneityCI
from .mantel_haenszel import mantel_haenszel
from .model import RMAResult, rma
from .peto import peto
from .tau2 import canonical_method

POOLING_ONLY = ("MH", "PETO")


@dataclass(frozen=True, eq=False)
class PairwiseAnalysis(ResultMixin):
    """A pairwise meta-analysis of one data file: effect sizes, model, heterogeneity."""

    effects: EffectSizes
    model: Any  # RMAResult, MantelHaenszelResult or PetoResult
    heterogeneity: HeterogeneityCI | None
    measure: str
    treatment: str | None
    control: str | None
    source: str | None = None
    source_sha256: str | None = None
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)

    def key_results(self) -> dict:
        """The headline numbers (analysis scale), with the names the CLI prints."""
        m = self.model
        if isinstance(m, RMAResult):
            pr = m.predict()
            het = self.heterogeneity
            return {
                "k": m.k,
                "measure": self.measure,
                "method": m.method,
                "test": m.test,
                "level": m.level,
                "estimate": m.estimate,
                "se": m.se,
                "ci_low": m.ci_low,
                "ci_high": m.ci_high,
                "stat": m.stat,
                "pval": m.pval,
                "ddf": m.ddf,
                "tau2": m.tau2,
                "tau2_ci_low": het.tau2.ci_low if het else None,
                "tau2_ci_high": het.tau2.ci_high if het else None,
                "tau": m.tau,
                "se_tau2": m.se_tau2,
                "i2": m.i2,
                "i2_ci_low": het.i2.ci_low if het else None,
                "i2_ci_high": het.i2.ci_high if het else None,
                "h2": m.h2,
                "q": m.q,
                "q_df": m.q_df,
                "q_pval": m.q_pval,
                "pi_low": float(pr.pi_low[0]),
                "pi_high": float(pr.pi_high[0]),
            }
        return {
            "k": m.k,
            "measure": self.measure,
            "method": "MH" if m.method == "MH" else "PETO",
            "test": "z",
            "level": m.level,
            "estimate": m.estimate,
            "se": m.se,
            "ci_low": m.ci_low,
            "ci_high": m.ci_high,
            "stat": m.stat,
            "pval": m.pval,
            "ddf": None,
            "tau2": 0.0,
            "tau2_ci_low": None,
            "tau2_ci_high": None,
            "tau": 0.0,
            "se_tau2": None,
            "i2": m.i2,
            "i2_ci_low": None,
            "i2_ci_high": None,
            "h2": m.h2,
            "q": m.q,
            "q_df": m.q_df,
            "q_pval": m.q_pval,
            "pi_low": None,
            "pi_high": None,
        }

    def natural_scale(self) -> dict | None:
        """Estimate and intervals back-transformed (ratio measures), else None."""
        info = measure_info(self.measure) if self.measure != "GEN" else None
        if info is None or info.scale in ("identity", "freeman-tukey"):
            return None
        from ..transforms import scale_inverse

        f = scale_inverse(info.scale)
        key = self.key_results()
        out = {}
        for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            v = key[name]
            out[name] = None if v is None or not math.isfinite(v) else float(f(v))
        out["scale"] = info.display
        return out

    def to_dict(self) -> dict:
        d = dict(self.key_results())
        d.update(
            {
                "natural_scale": self.natural_scale(),
                "treatment": self.treatment,
                "control": self.control,
                "studies": self.effects.to_frame().drop(columns=["ci_low", "ci_high"]).to_dict(orient="records"),
                "weights": dict(zip(self.effects.studies, self._weights())),
                "warnings": [w.to_dict() for w in self.warnings],
                "excluded": [e.to_dict() for e in self.excluded],
                "provenance": {
                    "netgrade": __version__,
                    "input": self.source,
                    "input_sha256": self.source_sha256,
                },
            }
        )
        return jsonable(d)

    def _weights(self) -> list[float]:
        m = self.model
        if isinstance(m, RMAResult):
            return [float(w) for w in m.weights]
        return [math.nan] * self.effects.k

    def to_frame(self) -> pd.DataFrame:
        frame = self.effects.to_frame()
        frame["weight"] = self._weights()
        return frame

    def summary(self) -> str:
        lines = []
        if self.source:
            lines.append(f"Data: {self.source}")
        if self.treatment and self.control:
            lines.append(f"Comparison: {self.treatment} versus {self.control}")
        lines.append(self.model.summary())
        if self.heterogeneity is not None:
            lines += ["", self.heterogeneity.summary()]
        nat = self.natural_scale()
        if nat:
            pi = ""
            if nat["pi_low"] is not None:
                pi = f"; prediction interval {nat['pi_low']:.4f} to {nat['pi_high']:.4f}"
            lines += [
                "",
                f"On the {nat['scale']} scale: {nat['estimate']:.4f} "
                f"({nat['ci_low']:.4f} to {nat['ci_high']:.4f}){pi}",
            ]
        shown = {w.message for w in getattr(self.model, "warnings", ())}
        extra = [w for w in self.warnings if w.message not in shown]
        if extra:
            lines += ["", "Data warnings:"] + [f"  - {w.message}" for w in extra]
        if self.excluded and not getattr(self.model, "excluded", ()):
            lines += ["", "Excluded studies:"] + [f"  - {e}" for e in self.excluded]
        return "\n".join(lines)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def analyse_pairwise(
    data: Any,
    *,
    measure: str | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    treatment: str | None = None,
    control: str | None = None,
    columns: Mapping[str, str] | None = None,
    where: Mapping[str, Any] | None = None,
    layout: str | None = None,
    sheet: str | int | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool | None = None,
    vtype: str = "LS",
    missing: str = "exclude",
    correct: bool = True,
) -> PairwiseAnalysis:
    """Run a pairwise meta-analysis of a data file (or DataFrame).

    ``method`` is a tau² estimator (FE, DL, REML, ...), "MH" (Mantel-Haenszel) or
    "PETO".  For long arm data ``treatment`` and ``control`` name the two arms (the
    effect is treatment versus control); wide files have their groups 1 and 2 as
    treatment and control.  Contrast-level input (``study, estimate, se``) needs no
    ``measure``; if given, it only labels the scale.  Continuity-correction options
    (``add``, ``to``, ``drop00``) and defaults are metafor's: ``drop00=None`` means
    each function's own default (FALSE for the study-level effects, TRUE for the
    heterogeneity test of Mantel-Haenszel and Peto).
    """
    method_key = str(method).strip().upper()
    pooling = method_key if method_key in POOLING_ONLY else None
    if pooling is None:
        method = canonical_method(method)
    source = sha = None
    if isinstance(data, (str, Path)):
        source = Path(data).name
        if Path(data).is_file():
            sha = file_sha256(data)
    single_group = bool(measure) and str(measure).upper() in MEASURES and measure_info(measure).kind in ("proportion", "mean")
    table = load_pairwise(
        data,
        columns,
        where=where,
        missing=missing,
        sheet=sheet,
        layout=layout,
        treatment=treatment or "treatment",
        control=control or "control",
        single_group=single_group,
    )
    if isinstance(table, schema.ContrastTable):
        if pooling:
            raise ModelError(f"{pooling} pooling needs 2x2 counts, not contrast-level estimates")
        es, treatment, control = _contrast_effects(table, measure, treatment, control)
        label = es.measure
    else:
        if not measure:
            kind = "events" if table.outcome_type == "binary" else "means"
            hint = "OR, RR or RD" if kind == "events" else "MD, SMD or ROM"
            raise DataError(f"the data hold arm-level {kind}: choose an effect measure with --measure ({hint})")
        info = measure_info(measure)
        label = info.code
        esc = dict(add=add, to=to, drop00=bool(drop00), vtype=vtype)
        if info.kind in ("proportion", "mean"):
            es = effects_from_single_arms(table, label, treatment if _has_arm(table, treatment) else None, missing=missing, **esc)
            control = None
        else:
            treatment, control = _pick_arms(table, treatment, control)
            es = effects_from_arms(table, label, treatment, control, missing=missing, **esc)
    if es.k == 0:
        reasons = "; ".join(str(e) for e in es.excluded)
        raise DataError("no study can be analysed" + (f": {reasons}" if reasons else ""))
    het = None
    if pooling:
        a, n1, c, n2, labels = _two_by_two(table, treatment, control, set(es.studies) | {e.study for e in es.excluded})
        fn = mantel_haenszel if pooling == "MH" else peto
        kwargs = dict(n1i=n1, n2i=n2, level=level, studies=labels, add=add, to=to)
        if drop00 is not None:
            kwargs["drop00"] = bool(drop00)
        if pooling == "MH":
            kwargs.update(measure=label, correct=correct)
        model = fn(a, None, c, None, **kwargs)
    else:
        model = rma(es, method=method, test=test, level=level, measure=label)
        if model.is_random:
            try:
                het = model.confint("QP")
            except ModelError as exc:
                model = _with_warning(model, AnalysisWarning("tau2_ci_unavailable", f"no Q-profile interval: {exc}"))
    warnings = tuple(dict.fromkeys(tuple(getattr(table, "warnings", ())) + tuple(es.warnings) + tuple(getattr(model, "warnings", ()))))
    excluded = tuple(dict.fromkeys(tuple(es.excluded)))
    return PairwiseAnalysis(
        effects=es,
        model=model,
        heterogeneity=het,
        measure=label,
        treatment=treatment,
        control=control,
        source=source,
        source_sha256=sha,
        warnings=warnings,
        excluded=excluded,
    )


def _with_warning(model: RMAResult, w: AnalysisWarning) -> RMAResult:
    return replace(model, warnings=tuple(model.warnings) + (w,))


def _has_arm(table: schema.ArmTable, name: str | None) -> bool:
    return bool(name) and name in set(table.frame[schema.TREATMENT])


def _pick_arms(table: schema.ArmTable, treatment: str | None, control: str | None) -> tuple[str, str]:
    found = sorted(set(table.frame[schema.TREATMENT]))
    if treatment and control:
        missing = [t for t in (treatment, control) if t not in found]
        if missing:
            raise DataError(
                f"treatment {', '.join(repr(m) for m in missing)} not in the data"
                f"{' (' + table.source + ')' if table.source else ''}; treatments found: {', '.join(found)}"
            )
        return treatment, control
    if set(found) == {"treatment", "control"}:
        return "treatment", "control"
    raise DataError(
        "name the experimental arm with --treatment and the comparator with --control "
        f"(treatments found: {', '.join(found)})"
    )


def _contrast_effects(table, measure, treatment, control):
    f = table.frame
    if table.is_network:
        pairs = {frozenset((a, b)) for a, b in zip(f[schema.TREATMENT1], f[schema.TREATMENT2])}
        if not (treatment and control):
            if len(pairs) == 1:
                a, b = tuple(next(iter(pairs)))
                first = f.iloc[0]
                treatment, control = str(first[schema.TREATMENT1]), str(first[schema.TREATMENT2])
            else:
                raise DataError(
                    "the contrasts compare several pairs of treatments (a network): name one pair "
                    "with --treatment and --control, or use a network meta-analysis"
                )
        keep = [frozenset((a, b)) == frozenset((treatment, control)) for a, b in zip(f[schema.TREATMENT1], f[schema.TREATMENT2])]
        sub = f[keep]
        if sub.empty:
            raise DataError(f"no contrast compares {treatment} with {control}")
        sign = np.where(sub[schema.TREATMENT1].to_numpy() == treatment, 1.0, -1.0)
        y = sign * sub[schema.ESTIMATE].to_numpy(float)
        se = sub[schema.SE].to_numpy(float)
        studies = sub[schema.STUDY].astype(str).tolist()
    else:
        y = f[schema.ESTIMATE].to_numpy(float)
        se = f[schema.SE].to_numpy(float)
        studies = f[schema.STUDY].astype(str).tolist()
    es = escalc("GEN", yi=y, sei=se, studies=studies)
    label = measure.upper() if measure and measure.upper() in MEASURES else "GEN"
    es = replace(
        es,
        measure=label,
        excluded=tuple(table.excluded) + tuple(es.excluded),
        warnings=tuple(table.warnings) + tuple(es.warnings),
    )
    return es, treatment, control


def _two_by_two(table: schema.ArmTable, treatment: str, control: str, studies: set[str]):
    f = table.frame
    if table.outcome_type != "binary":
        raise ModelError("Mantel-Haenszel and Peto pooling need binary (events) data")
    a, n1, c, n2, labels = [], [], [], [], []
    for study in table.studies:
        if study not in studies:
            continue
        rows = f[f[schema.STUDY] == study]
        t = rows[rows[schema.TREATMENT] == treatment]
        ctl = rows[rows[schema.TREATMENT] == control]
        if len(t) != 1 or len(ctl) != 1:
            continue
        a.append(float(t[schema.EVENTS].iloc[0]))
        n1.append(float(t[schema.N].iloc[0]))
        c.append(float(ctl[schema.EVENTS].iloc[0]))
        n2.append(float(ctl[schema.N].iloc[0]))
        labels.append(study)
    return np.array(a), np.array(n1), np.array(c), np.array(n2), labels
