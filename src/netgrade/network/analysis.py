"""One network meta-analysis from a data file: read, build the network, fit, rank,
split nodes.  This is the function behind ``netgrade nma``; the command line only
parses options and prints."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .. import __version__
from .._result import ResultMixin, jsonable
from ..data import schema
from ..data.readers import load_pairwise
from ..errors import AnalysisWarning, DataError, ExcludedStudy
from .data import NetworkData, network_from_arms, network_from_contrasts
from .model import NMAResult, nma


@dataclass(frozen=True, eq=False)
class NetworkAnalysis(ResultMixin):
    """A network meta-analysis with its rankings and node-splitting."""

    model: NMAResult
    p_scores: Any
    node_split: Any
    source: str | None = None
    source_sha256: str | None = None
    warnings: tuple[AnalysisWarning, ...] = field(default_factory=tuple)
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)

    def node_split_records(self) -> list[dict]:
        """Node-split results of every comparison with direct evidence (the model's
        own: random effects for a random-effects fit)."""
        if self.node_split is None:
            return []
        return [r for r in self.node_split.records(random=self.model.is_random) if r["k"] > 0]

    def to_dict(self) -> dict:
        m = self.model
        d = m.to_dict()
        d["effects"] = [
            {k: r[k] for k in ("treatment", "estimate", "se", "ci_low", "ci_high", "pval", "pi_low", "pi_high")}
            for r in d["effects"]
        ]
        d["p_scores"] = dict(zip(self.p_scores.treatments, (float(x) for x in self.p_scores.p_score)))
        d["p_scores_direction"] = "larger values are better" if m.larger_better else "smaller values are better"
        d["node_split"] = self.node_split_records()
        d["provenance"] = {"netgrade": __version__, "input": self.source, "input_sha256": self.source_sha256}
        return jsonable(d)

    def to_frame(self) -> pd.DataFrame:
        eff = self.model.effects()
        eff["p_score"] = [float(self.p_scores.p_score[self.p_scores.treatments.index(t)]) for t in eff["treatment"]]
        return eff

    def summary(self) -> str:
        lines = []
        if self.source:
            lines.append(f"Data: {self.source}")
        lines.append(self.model.summary())
        lines += ["", self.p_scores.summary()]
        if self.node_split is not None:
            lines += ["", self.node_split.summary()]
        return "\n".join(lines)


def load_network(
    data: Any,
    *,
    measure: str | None = None,
    columns: Mapping[str, str] | None = None,
    where: Mapping[str, Any] | None = None,
    sheet: str | int | None = None,
    missing: str = "exclude",
    **arm_options: Any,
) -> NetworkData:
    """Read a data file as network data: long arm-level data (study, treatment, events,
    n or mean, sd, n) need ``measure``; contrast-level data (study, treatment1,
    treatment2, estimate, se) give every pairwise contrast of a multi-arm study."""
    table = load_pairwise(data, columns, where=where, missing=missing, sheet=sheet)
    if isinstance(table, schema.ContrastTable):
        if not table.is_network:
            raise DataError(
                "contrast-level network data need treatment1 and treatment2 columns "
                "(estimate = treatment1 versus treatment2)"
            )
        return network_from_contrasts(table, measure)
    if not measure:
        kind = "events" if table.outcome_type == "binary" else "means"
        hint = "OR, RR or RD" if kind == "events" else "MD, SMD or ROM"
        raise DataError(f"the data hold arm-level {kind}: choose an effect measure with --measure ({hint})")
    return network_from_arms(table, measure, **arm_options)


def analyse_network(
    data: Any,
    *,
    measure: str | None = None,
    reference: str | None = None,
    method: str = "DL",
    level: float = 0.95,
    larger_better: bool = False,
    columns: Mapping[str, str] | None = None,
    where: Mapping[str, Any] | None = None,
    sheet: str | int | None = None,
    missing: str = "exclude",
    component: Any = None,
    **arm_options: Any,
) -> NetworkAnalysis:
    """Run a network meta-analysis of a data file (or DataFrame, or NetworkData)."""
    from ..pairwise.analysis import file_sha256
    from .inconsistency import node_split

    source = sha = None
    if isinstance(data, (str, Path)):
        source = Path(data).name
        if Path(data).is_file():
            sha = file_sha256(data)
    net = data if isinstance(data, NetworkData) else load_network(
        data, measure=measure, columns=columns, where=where, sheet=sheet, missing=missing, **arm_options
    )
    res = nma(net, reference=reference, method=method, level=level, larger_better=larger_better, component=component)
    ps = res.p_scores()
    split = node_split(res)
    warnings = tuple(dict.fromkeys(tuple(res.warnings) + tuple(getattr(split, "warnings", ()))))
    return NetworkAnalysis(res, ps, split, source, sha, warnings, tuple(res.excluded))
