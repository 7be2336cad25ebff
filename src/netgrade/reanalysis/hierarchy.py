"""Lump or split: the network at each level of the treatment hierarchy.

The treatments table (``data.treatments``: treatment, label, parent, level) says which
node belongs to which class and which technique to which node.  :func:`lump_split`
builds one variant per level -- coarser levels by merging every treatment into its
ancestor at that level (arms of the same study combined, Cochrane Handbook 6.5.2.10),
a finer level by taking treatments from a finer data column (e.g. ``treatment_split``)
-- runs them all, and reports per node whether the estimate, its certainty or its
magnitude class changes (:class:`~netgrade.reanalysis.robustness.Reanalysis`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..data import schema
from ..errors import SpecError
from ..inputs import read_inputs
from ..spec import LoadedSpec, VariantSpec, load_spec
from .robustness import Reanalysis, reanalyse


def hierarchy_levels(loaded: LoadedSpec) -> tuple[str | None, list[str], list[str]]:
    """(level of the data's treatments, coarser levels, finer levels), from the
    treatments table's ``parent`` and ``level`` columns."""
    inputs = read_inputs(loaded)
    t = inputs.treatments
    if t is None or not {"parent", "level"} <= set(t.columns):
        raise SpecError("lump/split needs data.treatments with 'parent' and 'level' columns")
    level = {str(a): str(b) for a, b in zip(t["treatment"], t["level"])}
    parent = {str(a): str(b) for a, b in zip(t["treatment"], t["parent"]) if str(b).strip()}
    codes = set(inputs.table.frame[schema.TREATMENT].astype(str))
    data_levels = {level.get(c) for c in codes}
    if len(data_levels) != 1 or None in data_levels:
        raise SpecError(f"the data's treatments are not all at one level of the hierarchy: {sorted(map(str, data_levels))}")
    here = data_levels.pop()
    coarser, node = [], next(iter(codes))
    while node in parent:
        node = parent[node]
        coarser.append(level[node])
    finer = sorted({level[c] for c, p in parent.items() if level.get(p) == here})
    return here, coarser, finer


def lump_split(
    spec: LoadedSpec | str | Path,
    finer_column: str | None = None,
    reference: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Reanalysis:
    """The network at every level of the hierarchy, compared with the data's level.

    ``finer_column``: the data column holding the finer level (needed to split);
    ``reference``: level -> the reference treatment at that level when the base
    reference itself is lumped or split (e.g. {"technique": "sham_inert"}).
    """
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    here, coarser, finer = hierarchy_levels(loaded)
    reference = reference or {}
    variants = []
    for lv in coarser:
        variants.append(
            VariantSpec(
                name=f"level-{lv}",
                label=f"Lumped to {lv} level",
                claim=f"Treatments analysed as {lv}es rather than as {here}s." if not lv.endswith("s") else f"Treatments analysed at {lv} level.",
                rationale=f"Merge every {here} into its {lv}.",
                level=lv,
                set={"model.reference": reference[lv]} if lv in reference else {},
            )
        )
    if finer and finer_column:
        for lv in finer:
            variants.append(
                VariantSpec(
                    name=f"level-{lv}",
                    label=f"Split to {lv} level",
                    claim=f"Different {lv}s were lumped into one {here}.",
                    rationale=f"Take treatments from the data column {finer_column}.",
                    treatment_column=finer_column,
                    set={"model.reference": reference[lv]} if lv in reference else {},
                )
            )
    if not variants:
        raise SpecError(f"no other level of the hierarchy to compare with {here!r}"
                        + ("" if finer_column else " (give finer_column to split)"))
    return reanalyse(loaded, progress=progress, variants=variants, noun=("level of the hierarchy", "levels of the hierarchy"))
