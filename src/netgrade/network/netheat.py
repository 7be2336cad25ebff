"""The net heat plot: where in a network the inconsistency comes from.

Krahn, Binder & König (2013, BMC Med Res Methodol 13:35) fit the consistency model to
one pooled estimate per design (the design-level model of :mod:`.inconsistency`) and
show two matrices over the designs' comparisons (a multi-arm design contributes one
row per comparison against its baseline arm):

* ``contribution`` -- the design-level hat matrix H = X (X'WX)^-1 X'W: entry (i, j) is
  the weight of the direct estimate of design row j in the network estimate of the
  comparison of row i (König, Krahn & Binder 2013, Stat Med 32:5414).  In the figure
  its absolute value is the area of the grey square in cell (i, j).
* ``change`` -- the change of row i's contribution r_i (W r)_i to the between-design Q
  when design j is *detached* (given its own parameters): contribution after minus
  contribution before.  On the diagonal it is minus the row's own contribution (a
  detached design fits itself exactly).  Negative values -- warm colours -- mean that
  detaching design j removes inconsistency at row i, so j's evidence conflicts with
  i's; positive values -- cool colours -- mean that j's evidence supports i's.

As netmeta's ``netheat`` does, designs whose detachment leaves some treatment
unconnected (bridges, designs with a treatment of their own) are omitted, and so by
default are designs with no contribution to the between-design Q (designs in no loop);
``showall=True`` keeps the latter.  Rows and columns are ordered by complete-linkage
clustering of the change matrix (Manhattan distances of rows plus columns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import pdist

from .._result import ResultMixin, fmt, frozen_array, jsonable
from ..errors import ModelError
from .inconsistency import _DesignModel, _tau2_within, _units
from .model import NMAResult

__all__ = ["NetHeat", "net_heat", "net_heat_plot", "NETHEAT_CMAP", "CAP"]

#: values beyond +-CAP are shown with the colour of +-CAP (netmeta's convention)
CAP = 8.0

#: warm (red, yellow) for a decrease of inconsistency, white for none, blue for an increase
NETHEAT_CMAP = LinearSegmentedColormap.from_list(
    "netgrade_netheat",
    [(0.0, "#c6261a"), (0.25, "#f47b20"), (0.42, "#fde68a"), (0.5, "#ffffff"), (0.75, "#9ec5e8"), (1.0, "#1f4e9c")],
    N=257,  # odd, so that no change maps to exactly white
)


@dataclass(frozen=True, eq=False)
class NetHeat(ResultMixin):
    """The matrices of a net heat plot (rows and columns in plotting order).

    ``labels`` name the design rows (a two-arm design by its label, a comparison of a
    multi-arm design as ``baseline:treatment [design]``); ``designs`` the design of
    each row.
    ``contribution[i, j]`` is the hat-matrix weight of design row j in the network
    estimate of row i's comparison; ``change[i, j]`` the change of row i's
    contribution to the between-design Q when the design of column j is detached;
    ``q_contribution[i]`` row i's contribution before detaching.  ``q_detached[j]`` is
    the between-design Q after detaching column j's design, so that the column sums of
    ``change`` are ``q_detached - q_between``.  ``omitted`` lists the designs left out,
    with the reason.
    """

    model: str
    tau2: float
    labels: tuple[str, ...]
    designs: tuple[str, ...]
    contribution: np.ndarray
    change: np.ndarray
    q_contribution: np.ndarray
    q_detached: np.ndarray
    q_between: float
    omitted: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    measure: str | None = None

    @property
    def n(self) -> int:
        return len(self.labels)

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per cell (row design comparison, detached column)."""
        rows = []
        for i, a in enumerate(self.labels):
            for j, b in enumerate(self.labels):
                rows.append(
                    {
                        "row": a,
                        "row_design": self.designs[i],
                        "column": b,
                        "column_design": self.designs[j],
                        "contribution": float(self.contribution[i, j]),
                        "change": float(self.change[i, j]),
                    }
                )
        return pd.DataFrame(rows)

    def matrix(self, which: str = "change") -> pd.DataFrame:
        if which not in ("change", "contribution"):
            raise ModelError("which must be 'change' or 'contribution'")
        return pd.DataFrame(getattr(self, which), index=list(self.labels), columns=list(self.labels))

    def hot_spots(self, threshold: float = 1.0) -> pd.DataFrame:
        """Cells whose inconsistency decreases by more than ``threshold`` when the
        column's design is detached (the warm cells), largest decrease first."""
        out = []
        for i in range(self.n):
            for j in range(self.n):
                if self.change[i, j] < -threshold:
                    out.append({"row": self.labels[i], "detached": self.designs[j], "change": float(self.change[i, j])})
        frame = pd.DataFrame(out, columns=["row", "detached", "change"])
        return frame.sort_values("change", kind="mergesort").reset_index(drop=True)

    def summary(self) -> str:
        head = "common-effect" if self.model == "common" else f"random-effects (tau² = {fmt(self.tau2)})"
        lines = [
            f"Net heat plot data ({head} design-level model; Krahn, Binder & König 2013)",
            f"{self.n} design comparisons; between-design Q = {fmt(self.q_between)}",
            "change[i, j]: change of row i's contribution to Q when column j's design is detached "
            "(negative = inconsistency removed, warm colour)",
        ]
        hs = self.hot_spots()
        if len(hs):
            lines += ["hot spots (decrease > 1):", hs.to_string(index=False, float_format=lambda x: f"{x:.3f}")]
        for d, why in self.omitted:
            lines.append(f"omitted: {d} ({why})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "model": self.model,
                "tau2": self.tau2,
                "labels": list(self.labels),
                "designs": list(self.designs),
                "contribution": self.contribution,
                "change": self.change,
                "q_contribution": self.q_contribution,
                "q_detached": self.q_detached,
                "q_between": self.q_between,
                "omitted": [{"design": d, "reason": r} for d, r in self.omitted],
            }
        )

    def figure(self, **kwargs) -> Figure:
        return net_heat_plot(self, **kwargs)


def net_heat(
    res: NMAResult,
    *,
    random: bool = False,
    tau2: float | None = None,
    showall: bool = False,
    cluster: bool = True,
) -> NetHeat:
    """The matrices of the net heat plot (Krahn, Binder & König 2013).

    ``random=False`` uses the common-effect design-level model; ``random=True`` the
    random-effects one with tau² estimated in the full design-by-treatment interaction
    model (netmeta's ``tau.within``); ``tau2`` fixes tau² instead.  Raises
    :class:`ModelError` when the network has no loop, or when detaching any single
    design leaves no loop (between-design df of 1), as no inconsistency can then be
    located.
    """
    units = _units(res)
    p = len(res.treatments) - 1
    if tau2 is not None:
        if tau2 < 0:
            raise ModelError("tau² must be non-negative")
        t2, model = float(tau2), "random"
    elif random:
        dm0 = _DesignModel(units, p, 0.0)
        t2, model = _tau2_within(units, dm0.groups), "random"
    else:
        t2, model = 0.0, "common"
    dm = _DesignModel(units, p, t2)
    if len(dm.designs) <= 2:
        raise ModelError(f"a net heat plot needs more than two designs; the network has {len(dm.designs)}")
    df_between = dm.n_rows - p
    if df_between == 0:
        raise ModelError("the network contains no loop: there is no inconsistency to locate")
    if df_between == 1:
        raise ModelError("detaching any single design leaves a network without loops: inconsistency cannot be located")
    r = dm.residuals(dm.fit())
    before = dm.contributions(r)
    q_between = dm.q(r)
    n = dm.n_rows
    change = np.full((n, n), np.nan)
    q_det = np.full(n, np.nan)
    detachable = np.zeros(len(dm.designs), bool)
    for d in range(len(dm.designs)):
        rd = dm.detached_residuals(d)
        if rd is None:
            continue
        detachable[d] = True
        cols = np.flatnonzero(dm.owner == d)
        after = dm.contributions(rd)
        for c in cols:
            change[:, c] = after - before
            q_det[c] = dm.q(rd)
    H = dm.hat()
    eps = math.sqrt(np.finfo(float).eps)
    omitted = []
    keep_design = detachable.copy()
    for d, name in enumerate(dm.designs):
        if not detachable[d]:
            omitted.append((name, "detaching it leaves a treatment unconnected"))
            continue
        if not showall and np.any(np.abs(before[dm.owner == d]) <= eps):
            keep_design[d] = False
            omitted.append((name, "no contribution to the between-design Q (in no loop)"))
    keep = keep_design[dm.owner]
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        raise ModelError(
            "no design contributes to the between-design Q (the network is consistent); use showall=True to show all designs"
        )
    if len(idx) == 1:
        raise ModelError("only one informative design comparison: nothing to show")
    C = change[np.ix_(idx, idx)]
    Hs = H[np.ix_(idx, idx)]
    if cluster and len(idx) > 2:
        dist = pdist(C, "cityblock") + pdist(C.T, "cityblock")
        order = leaves_list(linkage(dist, method="complete"))
    else:
        order = np.arange(len(idx))
    idx = idx[order]
    C = C[np.ix_(order, order)]
    Hs = Hs[np.ix_(order, order)]
    labels = []
    for i in idx:
        d = dm.designs[dm.owner[i]]
        labels.append(d if dm.n_arms[dm.owner[i]] == 2 else f"{dm.comps[i]} [{d}]")
    return NetHeat(
        model=model,
        tau2=float(t2),
        labels=tuple(labels),
        designs=tuple(dm.designs[dm.owner[i]] for i in idx),
        contribution=frozen_array(Hs),
        change=frozen_array(C),
        q_contribution=frozen_array(before[idx]),
        q_detached=frozen_array(q_det[idx]),
        q_between=float(q_between),
        omitted=tuple(omitted),
        measure=res.measure,
    )


# ---------------------------------------------------------------------------------
# the figure


def _darker(rgb, factor: float = 0.78):
    return tuple(factor * c for c in rgb)


def net_heat_plot(
    heat: NetHeat,
    *,
    title: str | None = None,
    cell: float = 0.3,
    note: bool = True,
) -> Figure:
    """Draw the net heat plot of :func:`net_heat` (matplotlib, Agg canvas, no pyplot).

    Cell (i, j): the colour shows ``change[i, j]`` (warm: the inconsistency at row i
    falls when column j's design is detached; cool: it rises; capped at +-8 as in
    netmeta, the scale running to the largest absolute change); the darker square's
    area is proportional to |contribution[i, j]|, the weight of column j's design in
    row i's network estimate.  Rows and columns list the same design comparisons in
    the same order, so the diagonal shows each design's own inconsistency.
    """
    from ..report._figure import TextMeasurer, new_figure, style_context

    n = heat.n
    C = np.clip(np.nan_to_num(heat.change, nan=0.0), -CAP, CAP)
    scale = float(np.max(np.abs(C))) if n else 0.0
    scale = scale if scale > 1e-12 else 1.0
    norm = Normalize(-scale, scale)
    size = np.abs(np.nan_to_num(heat.contribution, nan=0.0))
    smax = float(np.max(size)) if size.size and np.max(size) > 0 else 1.0

    tm = TextMeasurer()
    fs = 8.0
    label_w = 1.06 * max([tm.width_in(lab, fs) for lab in heat.labels] + [0.5]) + 0.1
    grid = n * cell
    left = label_w + 0.45  # tick labels and the axis title
    top = label_w + 0.3
    bar_w = 1.2
    title_h = 0.4
    width = max(left + grid + bar_w, 4.0)
    note_lines = []
    if note:
        text = (
            "Colour: change of the row's contribution to the between-design Q when the column's design is detached "
            "(warm = inconsistency decreases, cool = increases; white = no change). Square area: contribution of the "
            "column's design to the row's network estimate."
        )
        note_lines = tm.wrap(text, 7.0, (width - 0.5) / 1.08)  # margin for hinting
    note_h = 0.14 * len(note_lines) + (0.15 if note_lines else 0.0)
    bottom = 0.15 + note_h
    height = bottom + grid + top + title_h
    ttl = title or (
        "Net heat plot (common-effect model)"
        if heat.model == "common"
        else f"Net heat plot (random-effects model, tau² = {fmt(heat.tau2, 3)})"
    )
    with style_context():
        fig = new_figure(width, height)
        ax = fig.add_axes((left / width, bottom / height, grid / width, grid / height))
        ax.set_xlim(0, n)
        ax.set_ylim(n, 0)
        ax.set_aspect("equal")
        ax.set_facecolor("#d9d9d9")  # grey shows through where a cell is undefined
        rgba = NETHEAT_CMAP(norm(C))
        rgba[~np.isfinite(heat.change)] = (0.85, 0.85, 0.85, 1.0)
        ax.imshow(rgba, extent=(0, n, n, 0), interpolation="nearest", aspect="equal", gid="netheat-colours")
        squares, fills = [], []
        for i in range(n):
            for j in range(n):
                half = 0.5 * math.sqrt(size[i, j] / smax) * 0.92
                if half > 0.01 and np.isfinite(heat.change[i, j]):
                    squares.append(Rectangle((j + 0.5 - half, i + 0.5 - half), 2 * half, 2 * half))
                    fills.append(_darker(rgba[i, j, :3]))
        if squares:
            ax.add_collection(PatchCollection(squares, facecolors=fills, edgecolors="none", gid="netheat-contribution"))
        ax.hlines(np.arange(n + 1), 0, n, colors="white", linewidth=0.4)
        ax.vlines(np.arange(n + 1), 0, n, colors="white", linewidth=0.4)
        ax.set_xlim(0, n)
        ax.set_ylim(n, 0)
        ax.set_xticks(np.arange(n) + 0.5)
        ax.set_yticks(np.arange(n) + 0.5)
        ax.set_xticklabels(heat.labels, rotation=90, fontsize=fs)
        ax.set_yticklabels(heat.labels, fontsize=fs)
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        for s in ax.spines.values():
            s.set_linewidth(1.0)
        ax.set_xlabel("detached design", fontsize=fs)
        ax.xaxis.set_label_position("top")
        ax.set_ylabel("network estimate (design comparison)", fontsize=fs)
        cax = fig.add_axes(((left + grid + 0.25) / width, bottom / height, 0.14 / width, max(grid, 1.0) / height))
        cb = fig.colorbar(ScalarMappable(norm=norm, cmap=NETHEAT_CMAP), cax=cax)
        cb.ax.tick_params(labelsize=7)
        cb.set_label("change in Q contribution", fontsize=7)
        fig.text(0.5, 1 - 0.2 / height, ttl, ha="center", va="center", fontsize=10, weight="bold")
        for k, line in enumerate(note_lines):
            fig.text(0.2 / width, (0.1 + 0.14 * (len(note_lines) - 1 - k)) / height, line, fontsize=7, va="bottom", color="#444444")
    return fig
