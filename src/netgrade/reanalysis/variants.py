"""Spec variants: one critique, one changed copy of the base analysis.

A variant (``[[variants]]`` in the spec, or in a file named by ``variant_files``)
changes the data -- keep or exclude studies by covariate, exclude named studies, keep
only studies at low risk of bias, add trials, correct extracted values, split or lump
treatment nodes -- and/or single settings of the spec (``set``, dotted keys).
:func:`apply_variant` returns the changed spec and tables with a log of every change,
so that the re-analysis says exactly what it did; nothing is dropped silently (every
study excluded is listed with the variant's reason).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import pandas as pd

from .._result import jsonable
from ..data import schema
from ..data.prep import combine_arms
from ..data.readers import read_arms, read_risk_of_bias
from ..errors import ExcludedStudy, SpecError
from ..inputs import AnalysisInputs, canonical_column, canonical_filters, rob_levels, sha256_of
from ..spec import LoadedSpec, VariantSpec, parse_spec

ROB_ORDER = {"low": 0, "some concerns": 1, "high": 2}


@dataclass(frozen=True, eq=False)
class AppliedVariant:
    """A variant applied to the base inputs: the changed spec and tables, the log of
    changes, the studies excluded (with reasons) and the treatment mapping from base
    codes to the variant's codes (for comparing estimates across lumps and splits)."""

    variant: VariantSpec
    loaded: LoadedSpec
    inputs: AnalysisInputs
    changes: tuple[str, ...]
    excluded: tuple[ExcludedStudy, ...] = field(default_factory=tuple)
    treatment_map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.variant.name

    def to_dict(self) -> dict:
        return jsonable(
            {
                "name": self.variant.name,
                "label": self.variant.label,
                "claim": self.variant.claim,
                "rationale": self.variant.rationale,
                "changes": list(self.changes),
                "excluded": [e.to_dict() for e in self.excluded],
                "treatment_map": {k: list(v) for k, v in sorted(self.treatment_map.items()) if list(v) != [k]},
            }
        )


# ---------------------------------------------------------------------------------
# spec settings by dotted key


def _named_index(items: list, key: str, where: str) -> int:
    if key.isdigit():
        i = int(key)
        if i >= len(items):
            raise SpecError(f"{where}: index {i} out of range (0-{len(items) - 1})")
        return i
    for i, item in enumerate(items):
        if isinstance(item, dict) and (item.get("name") == key or item.get("id") == key):
            return i
    names = [str(it.get("name", it.get("id"))) for it in items if isinstance(it, dict)]
    raise SpecError(f"{where}: no entry named {key!r} (entries: {', '.join(names)})")


def set_by_key(raw: dict, dotted: str, value: Any, where: str) -> None:
    """Replace one setting of a raw spec dict: ``model.method``, ``outcomes.pain.mid``
    (list entries by name, id or index), ``certainty.domain_caps``."""
    parts = dotted.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(node, list):
            node = node[_named_index(node, part, f"{where}: {dotted}")]
            continue
        if part not in node:
            node[part] = [] if nxt.isdigit() else {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[_named_index(node, last, f"{where}: {dotted}")] = value
    else:
        node[last] = value


def _variant_spec(loaded: LoadedSpec, variant: VariantSpec, mapping: Mapping[str, tuple[str, ...]]) -> LoadedSpec:
    raw = copy.deepcopy(loaded.raw)
    raw.pop("variants", None)
    raw.pop("variant_files", None)
    where = f"{loaded.path.name if loaded.path else 'spec'}: variants[{variant.name}].set"
    # treatments renamed by a lump or split are renamed in the spec too (recommendation
    # groups, order, overrides), so that the same questions are asked of the new nodes
    if mapping:
        def remap_list(codes):
            out = []
            for c in codes:
                for new in mapping.get(c, (c,)):
                    if new not in out:
                        out.append(new)
            return out

        for g in raw.get("evidence_to_decision", {}).get("groups", []):
            g["interventions"] = remap_list(g.get("interventions", []))
            if g.get("comparator") in mapping and len(mapping[g["comparator"]]) == 1:
                g["comparator"] = mapping[g["comparator"]][0]
        for h in raw.get("evidence_to_decision", {}).get("harms", []):
            if h.get("interventions"):
                h["interventions"] = remap_list(h["interventions"])
        model = raw.get("model", {})
        if model.get("order"):
            model["order"] = remap_list(model["order"])
        ref = model.get("reference")
        if ref in mapping and len(mapping[ref]) == 1:
            model["reference"] = mapping[ref][0]
        def one_to_one(t):
            new = mapping.get(t, (t,))
            return new[0] if len(new) == 1 else None

        cert = raw.get("certainty", {})
        if isinstance(cert.get("reporting_bias"), dict):
            table = {}
            for key, judgement in cert["reporting_bias"].items():
                a, _, b = key.partition(":")
                if one_to_one(a) and one_to_one(b):
                    table[f"{one_to_one(a)}:{one_to_one(b)}"] = judgement
            cert["reporting_bias"] = table
        overrides = raw.get("certainty", {}).get("overrides", [])
        raw.setdefault("certainty", {})["overrides"] = [
            o for o in overrides if all(len(mapping.get(t, (t,))) == 1 and mapping.get(t, (t,))[0] == t for t in o["comparison"])
        ]
    for key, value in variant.set.items():
        set_by_key(raw, key, copy.deepcopy(value), where)
    spec = parse_spec(raw, where)
    text = json.dumps({"base": loaded.sha256, "variant": variant.model_dump(by_alias=True)}, sort_keys=True).encode()
    return LoadedSpec(spec, loaded.path, text, raw, ())


# ---------------------------------------------------------------------------------
# data changes


def _labels(series: pd.Series) -> pd.Series:
    return series.map(lambda x: str(int(x)) if isinstance(x, float) and x.is_integer() else str(x))


def _matches(series: pd.Series, value: Any, where: str) -> pd.Series:
    """value, list of values, or {min, max} (inclusive) for numbers."""
    if isinstance(value, Mapping):
        unknown = set(value) - {"min", "max"}
        if unknown:
            raise SpecError(f"{where}: a range takes 'min' and/or 'max', not {', '.join(sorted(unknown))}")
        num = pd.to_numeric(series, errors="coerce")
        mask = num.notna()
        if "min" in value:
            mask &= num >= float(value["min"])
        if "max" in value:
            mask &= num <= float(value["max"])
        return mask
    values = value if isinstance(value, (list, tuple)) else [value]
    wanted = {str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values}
    return _labels(series).isin(wanted)


def _study_mask(frame: pd.DataFrame, studies: pd.DataFrame | None, where_map: Mapping[str, Any], where: str) -> pd.Series:
    """Rows of ``frame`` matching every condition (data columns row by row; study
    covariates study by study)."""
    mask = pd.Series(True, index=frame.index)
    for col, value in where_map.items():
        if col in frame.columns:
            mask &= _matches(frame[col], value, f"{where}.{col}")
        elif studies is not None and col in studies.columns:
            chosen = set(studies.loc[_matches(studies[col], value, f"{where}.{col}"), schema.STUDY].astype(str))
            mask &= frame[schema.STUDY].astype(str).isin(chosen)
        else:
            cols = list(frame.columns) + ([] if studies is None else list(studies.columns))
            raise SpecError(f"{where}: no column {col!r} in the data or the studies table (columns: {', '.join(map(str, cols))})")
    return mask


def _ancestors(treatments: pd.DataFrame | None) -> tuple[dict[str, str], dict[str, str]]:
    if treatments is None or "parent" not in treatments.columns:
        return {}, {}
    parent = {str(t): str(p) for t, p in zip(treatments["treatment"], treatments["parent"]) if str(p).strip()}
    level = {str(t): str(lv) for t, lv in zip(treatments["treatment"], treatments.get("level", [""] * len(treatments)))}
    return parent, level


def _lump_target(code: str, target_level: str, parent: Mapping[str, str], level: Mapping[str, str]) -> str:
    seen = set()
    node = code
    while node not in seen:
        seen.add(node)
        if level.get(node) == target_level:
            return node
        if node not in parent:
            break
        node = parent[node]
    return code


def apply_variant(base: AnalysisInputs, variant: VariantSpec) -> AppliedVariant:
    """Apply one variant to the base inputs (see the module docstring for the order)."""
    loaded = base.loaded
    where = f"{loaded.path.name if loaded.path else 'spec'}: variants[{variant.name}]"
    table = base.table
    frame = table.frame.copy()
    studies = base.studies.frame if base.studies is not None else None
    changes: list[str] = []
    excluded: list[ExcludedStudy] = []
    hashes = dict(base.hashes)

    def drop(mask: pd.Series, reason: str) -> None:
        nonlocal frame
        gone = list(dict.fromkeys(frame.loc[mask, schema.STUDY].astype(str)))
        partial = [s for s in gone if s in set(frame.loc[~mask, schema.STUDY].astype(str))]
        frame = frame[~mask]
        whole = [s for s in gone if s not in partial]
        excluded.extend(ExcludedStudy(s, f"variant {variant.name}: {reason}") for s in whole)
        if whole:
            changes.append(f"excluded {len(whole)} stud{'y' if len(whole) == 1 else 'ies'} ({reason})")
        if partial:
            changes.append(f"removed some arms of {len(partial)} stud{'y' if len(partial) == 1 else 'ies'} ({reason}): "
                           + ", ".join(partial))

    def canonical(filters: Mapping[str, Any]) -> dict:
        return canonical_filters(loaded, filters, frame.columns)

    if variant.keep_where:
        keep = _study_mask(frame, studies, canonical(variant.keep_where), f"{where}.keep_where")
        drop(~keep, "not " + _describe(variant.keep_where))
    if variant.exclude_where:
        out = _study_mask(frame, studies, canonical(variant.exclude_where), f"{where}.exclude_where")
        drop(out, _describe(variant.exclude_where))
    if variant.exclude_studies:
        present = set(base.table.frame[schema.STUDY].astype(str))
        unknown = [s for s in variant.exclude_studies if s not in present]
        if unknown:
            raise SpecError(f"{where}.exclude_studies: not in the data: {', '.join(unknown)}")
        drop(frame[schema.STUDY].astype(str).isin(variant.exclude_studies), variant.exclude_reason)
    if variant.max_risk_of_bias is not None:
        rob = rob_levels(base)
        limit = ROB_ORDER[variant.max_risk_of_bias]
        unknown = sorted({str(s) for s in frame[schema.STUDY]} - set(rob))
        if unknown:
            raise SpecError(f"{where}.max_risk_of_bias: no risk-of-bias judgement for {', '.join(unknown)}")
        bad = frame[schema.STUDY].astype(str).map(lambda s: ROB_ORDER.get(rob[s].strip().lower(), 3) > limit)
        drop(bad, f"overall risk of bias worse than {variant.max_risk_of_bias}")
    if variant.add_arms:
        path = loaded.resolve(variant.add_arms)
        if not path.is_file():
            raise SpecError(f"{where}.add_arms: file not found: {path}")
        if not isinstance(table, schema.ArmTable):
            raise SpecError(f"{where}.add_arms: the base analysis uses contrast-level data; add contrasts instead")
        extra = read_arms(path, loaded.spec.data.columns or None, missing=loaded.spec.data.missing)
        clash = sorted(set(extra.frame[schema.STUDY].astype(str)) & set(base.table.frame[schema.STUDY].astype(str)))
        if clash:
            raise SpecError(f"{where}.add_arms: {path.name} repeats studies already in the data: {', '.join(clash)}")
        frame = pd.concat([frame, extra.frame], ignore_index=True)
        hashes[path.name] = sha256_of(path)
        added = list(dict.fromkeys(extra.frame[schema.STUDY].astype(str)))
        changes.append(f"added {len(added)} stud{'y' if len(added) == 1 else 'ies'} from {path.name}: {', '.join(added)}")
        excluded.extend(extra.excluded)
    rob_table = base.risk_of_bias
    if variant.add_risk_of_bias:
        path = loaded.resolve(variant.add_risk_of_bias)
        if not path.is_file():
            raise SpecError(f"{where}.add_risk_of_bias: file not found: {path}")
        extra_rob = read_risk_of_bias(path)
        if rob_table is None:
            raise SpecError(f"{where}.add_risk_of_bias: the base analysis has no risk-of-bias table to add to")
        clash = sorted(set(extra_rob.frame[schema.STUDY].astype(str)) & set(rob_table.frame[schema.STUDY].astype(str)))
        if clash:
            raise SpecError(f"{where}.add_risk_of_bias: {path.name} repeats studies already judged: {', '.join(clash)}")
        rob_table = replace(rob_table, frame=pd.concat([rob_table.frame, extra_rob.frame], ignore_index=True))
        hashes[path.name] = sha256_of(path)
    for c in variant.corrections:
        mask = frame[schema.STUDY].astype(str) == c.study
        if c.treatment is not None:
            mask &= frame[schema.TREATMENT].astype(str) == c.treatment
        if not mask.any():
            raise SpecError(f"{where}.corrections: no row for study {c.study!r}" + (f", treatment {c.treatment!r}" if c.treatment else ""))
        if c.column not in frame.columns:
            raise SpecError(f"{where}.corrections: no column {c.column!r} (columns: {', '.join(map(str, frame.columns))})")
        old = frame.loc[mask, c.column].tolist()
        frame.loc[mask, c.column] = c.value
        arm = f" {c.treatment}" if c.treatment else ""
        changes.append(f"corrected {c.study}{arm} {c.column}: {', '.join(map(_fmt, old))} -> {_fmt(c.value)} ({c.reason})")

    mapping: dict[str, list[str]] = {}
    base_codes = list(dict.fromkeys(frame[schema.TREATMENT].astype(str)))
    if variant.treatment_column:
        col = variant.treatment_column
        col = canonical_column(loaded, col, frame.columns)
        if col not in frame.columns:
            raise SpecError(f"{where}.treatment_column: no column {col!r} in the data")
        finer = frame[col].astype(str)
        sel = frame[schema.TREATMENT].astype(str).isin(variant.split) if variant.split else pd.Series(True, index=frame.index)
        empty = sel & (finer.str.strip().isin(["", "nan", "None"]))
        if empty.any():
            s = frame.loc[empty, schema.STUDY].iloc[0]
            raise SpecError(f"{where}.treatment_column: {col!r} is empty for study {s}")
        for old, new in zip(frame.loc[sel, schema.TREATMENT].astype(str), finer[sel]):
            mapping.setdefault(old, [])
            if new not in mapping[old]:
                mapping[old].append(new)
        frame.loc[sel, schema.TREATMENT] = finer[sel]
        what = ", ".join(variant.split) if variant.split else "every node"
        changes.append(f"split {what} by {col}: " + "; ".join(f"{k} -> {', '.join(v)}" for k, v in mapping.items() if v != [k]))
    lump = dict(variant.lump)
    if variant.level:
        parent, level = _ancestors(base.treatments)
        if not parent:
            raise SpecError(f"{where}.level: the lump needs data.treatments with 'parent' and 'level' columns")
        if variant.level not in set(level.values()):
            raise SpecError(f"{where}.level: no level {variant.level!r} in the treatments table (levels: {', '.join(sorted(set(level.values())))})")
        for code in dict.fromkeys(frame[schema.TREATMENT].astype(str)):
            target = _lump_target(code, variant.level, parent, level)
            if target != code:
                lump[code] = target
    if lump:
        present = set(frame[schema.TREATMENT].astype(str))
        unknown = [t for t in variant.lump if t not in present and t not in mapping]
        if unknown:
            raise SpecError(f"{where}.lump: not in the data: {', '.join(unknown)}")
        targets: dict[str, list[str]] = {}
        for src, dst in lump.items():
            targets.setdefault(dst, []).append(src)
        n_before = len(frame)
        for dst, srcs in targets.items():
            frame = combine_arms(frame, srcs + ([dst] if dst in present and dst not in srcs else []), dst)
        for src, dst in lump.items():
            for origin, news in list(mapping.items()):
                mapping[origin] = list(dict.fromkeys(dst if n == src else n for n in news))
            if not any(src in v for v in mapping.values()):
                mapping.setdefault(src, [dst])
        merged = n_before - len(frame)
        changes.append(
            "lumped " + "; ".join(f"{', '.join(s)} -> {d}" for d, s in targets.items())
            + (f" ({merged} arm{'s' if merged != 1 else ''} combined within studies, Cochrane Handbook 6.5.2.10)" if merged else "")
        )
    for code in base_codes:
        mapping.setdefault(code, [code])
    new_loaded = _variant_spec(loaded, variant, {k: tuple(v) for k, v in mapping.items() if v != [k]})
    if variant.set:
        changes.append("settings: " + "; ".join(f"{k} = {json.dumps(v)}" for k, v in variant.set.items()))
    if not changes:
        changes.append("no change (the variant is identical to the base analysis)")
    new_table = replace(table, frame=frame.reset_index(drop=True), excluded=tuple(table.excluded) + tuple(excluded))
    digest = hashlib.sha256(json.dumps(variant.model_dump(by_alias=True), sort_keys=True).encode()).hexdigest()
    hashes["variant:" + variant.name] = digest
    inputs = replace(
        base,
        loaded=new_loaded,
        arms=new_table if isinstance(new_table, schema.ArmTable) else None,
        contrasts=None if isinstance(new_table, schema.ArmTable) else new_table,
        risk_of_bias=rob_table,
        hashes=hashes,
    )
    return AppliedVariant(variant, new_loaded, inputs, tuple(changes), tuple(excluded), {k: tuple(v) for k, v in mapping.items()})


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _describe(where_map: Mapping[str, Any]) -> str:
    parts = []
    for col, value in where_map.items():
        if isinstance(value, Mapping):
            rng = []
            if "min" in value:
                rng.append(f">= {_fmt(value['min'])}")
            if "max" in value:
                rng.append(f"<= {_fmt(value['max'])}")
            parts.append(f"{col} {' and '.join(rng)}")
        elif isinstance(value, (list, tuple)):
            parts.append(f"{col} in {', '.join(map(_fmt, value))}")
        else:
            parts.append(f"{col} = {_fmt(value)}")
    return "; ".join(parts)
