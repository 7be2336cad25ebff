"""Reading the data a spec names, and selecting each population's and outcome's rows.

This is the first stage of the pipeline: it turns the spec's files into validated
tables (with their file hashes, for provenance) and builds, for a population and an
outcome, the network data to analyse.  Row filters (``where``) may name a column of
the arm or contrast file or a study covariate of the studies table; a filter on a
column that exists in neither is an error naming the spec key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .data import schema
from .data.readers import read_arms, read_contrasts, read_risk_of_bias, read_studies
from .errors import AnalysisWarning, SpecError
from .network import NetworkData, network_from_arms, network_from_contrasts
from .spec import LoadedSpec, OutcomeSpec, PopulationSpec


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class AnalysisInputs:
    """The validated tables a spec names, with the hash of every file read."""

    loaded: LoadedSpec
    arms: schema.ArmTable | None
    contrasts: schema.ContrastTable | None
    studies: schema.StudyTable | None
    risk_of_bias: schema.RiskOfBiasTable | None
    treatments: pd.DataFrame | None
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def table(self):
        return self.arms if self.arms is not None else self.contrasts


def read_inputs(loaded: LoadedSpec) -> AnalysisInputs:
    """Read every file the spec's [data] section names."""
    d = loaded.spec.data
    hashes: dict[str, str] = {"spec": loaded.sha256}
    arms = contrasts = studies = rob = treatments = None
    if d.arms:
        path = loaded.resolve(d.arms)
        arms = read_arms(path, d.columns or None, missing=d.missing, sheet=d.sheet)
        hashes[path.name] = sha256_of(path)
    if d.contrasts:
        path = loaded.resolve(d.contrasts)
        contrasts = read_contrasts(path, d.columns or None, missing=d.missing, sheet=d.sheet)
        hashes[path.name] = sha256_of(path)
    if d.studies:
        path = loaded.resolve(d.studies)
        studies = read_studies(path)
        hashes[path.name] = sha256_of(path)
    if d.risk_of_bias:
        path = loaded.resolve(d.risk_of_bias)
        rob = read_risk_of_bias(path)
        hashes[path.name] = sha256_of(path)
    if d.treatments:
        path = loaded.resolve(d.treatments)
        treatments = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
        if "treatment" not in treatments.columns:
            raise SpecError(f"{path.name}: the treatments table needs a 'treatment' column")
        hashes[path.name] = sha256_of(path)
    return AnalysisInputs(loaded, arms, contrasts, studies, rob, treatments, hashes)


def _as_labels(value: Any) -> set[str]:
    values = value if isinstance(value, (list, tuple, set)) else [value]
    out = set()
    for v in values:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.add(str(v))
    return out


def _study_filter(inputs: AnalysisInputs, where: Mapping[str, Any], key: str) -> set[str] | None:
    """Studies selected by the filters that name study covariates (None: no such filter)."""
    if inputs.studies is None:
        return None
    frame = inputs.studies.frame
    keep = None
    for col, value in where.items():
        if col in frame.columns:
            mask = frame[col].map(lambda x: str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)).isin(_as_labels(value))
            chosen = set(frame.loc[mask, schema.STUDY].astype(str))
            keep = chosen if keep is None else keep & chosen
    return keep


def canonical_column(loaded: LoadedSpec, name: str, present) -> str:
    """A column named as in the data file ('trt') or as netgrade calls it ('treatment'):
    the name in the canonical table.  ``present``: the table's columns."""
    if name in present:
        return name
    return {v: k for k, v in loaded.spec.data.columns.items()}.get(name, name)


def canonical_filters(loaded: LoadedSpec, where: Mapping[str, Any], present) -> dict[str, Any]:
    """A row filter with every key resolved by :func:`canonical_column`."""
    return {canonical_column(loaded, c, present): v for c, v in where.items()}


def select_rows(inputs: AnalysisInputs, where: Mapping[str, Any], key: str):
    """The arm or contrast table restricted to ``where`` (columns of the data file or
    study covariates)."""
    table = inputs.table
    if not where:
        return table
    frame = table.frame
    study_cols = set(inputs.studies.frame.columns) if inputs.studies is not None else set()
    where = canonical_filters(inputs.loaded, where, frame.columns)
    mask = pd.Series(True, index=frame.index)
    for col, value in where.items():
        if col in frame.columns:
            labels = frame[col].map(lambda x: str(int(x)) if isinstance(x, float) and x.is_integer() else str(x))
            mask &= labels.isin(_as_labels(value))
        elif col not in study_cols:
            raise SpecError(
                f"{key}.where: no column {col!r} in the data file or the studies table "
                f"(data columns: {', '.join(map(str, frame.columns))})"
            )
    studies = _study_filter(inputs, {c: v for c, v in where.items() if c not in frame.columns}, key)
    if studies is not None:
        mask &= frame[schema.STUDY].astype(str).isin(studies)
    sub = frame[mask]
    if sub.empty:
        raise SpecError(f"{key}.where: {dict(where)} selects no rows")
    kept = set(sub[schema.STUDY].astype(str))
    excluded = tuple(e for e in table.excluded if studies is None or e.study in studies or e.study in kept)
    return replace(table, frame=sub.reset_index(drop=True), excluded=excluded)


def network_for(inputs: AnalysisInputs, population: PopulationSpec | None, outcome: OutcomeSpec) -> NetworkData:
    """Network data of one population and one outcome."""
    where = dict(population.where) if population is not None else {}
    where.update(outcome.where)
    key = f"populations[{population.name}]" if population is not None else f"outcomes[{outcome.name}]"
    table = select_rows(inputs, where, key)
    if isinstance(table, schema.ArmTable):
        return network_from_arms(table, outcome.measure)
    return network_from_contrasts(table, outcome.measure)


def rob_levels(inputs: AnalysisInputs) -> dict[str, str]:
    """Overall risk-of-bias judgement per study (low / some concerns / high).

    Without a risk-of-bias table the spec must declare the domain not assessed
    (``certainty.within_study_bias = "not assessed"``); every study of the data is then
    "not assessed", which the certainty ratings record as no concerns by declaration,
    with a warning.
    """
    if inputs.risk_of_bias is None:
        if inputs.loaded.spec.certainty.within_study_bias == "not assessed":
            return dict.fromkeys(inputs.table.frame[schema.STUDY].astype(str), "not assessed")
        raise SpecError(
            "no risk-of-bias table: the within-study bias domain needs data.risk_of_bias (study, overall); if no "
            "judgements exist, declare certainty.within_study_bias = \"not assessed\" (rated no concerns by "
            "declaration, with a warning)"
        )
    frame = inputs.risk_of_bias.frame
    col = "overall" if "overall" in frame.columns else None
    if col is None:
        raise SpecError("the risk-of-bias table needs an 'overall' column for certainty ratings")
    return dict(zip(frame[schema.STUDY].astype(str), frame[col].astype(str)))


def indirectness_levels(inputs: AnalysisInputs, column: str | None) -> tuple[dict[str, str], list[AnalysisWarning]]:
    """Per-study indirectness judgements from a studies-table column (default: low)."""
    if column is None:
        return {}, []
    if inputs.studies is None or column not in inputs.studies.frame.columns:
        raise SpecError(f"certainty.indirectness_column: no column {column!r} in the studies table")
    frame = inputs.studies.frame
    return dict(zip(frame[schema.STUDY].astype(str), frame[column].astype(str))), []
