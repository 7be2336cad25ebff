"""Figures of a network meta-analysis, as pure functions of arrays.

* :func:`network_graph` -- the network of treatments and direct comparisons.
* :func:`forest_vs_reference` -- every treatment against one reference.
* :func:`league_table_frame` / :func:`league_heatmap` -- all pairwise comparisons.
* :func:`rankogram` -- probabilities of each rank.

Orientation, everywhere: a league entry ``[i][j]`` is treatment ``i`` versus treatment
``j`` (row versus column), i.e. theta_i - theta_j on the analysis scale (netmeta's
``TE.random[i, j]``).  A comparison against a reference ``r`` is therefore the column
``[:, r]`` of a league matrix.  Every figure states its orientation and, when the
direction of benefit is given (``larger_better``), which side favours what: misread
league tables and rankings that ignore "smaller is better" are the most common errors in
reports of network meta-analyses (see DESIGN.md).

The functions take plain arrays and names, not result objects, so that the figures can
be drawn from any engine's output (netgrade's own fits, netmeta's JSON, a published
table).  Like the pairwise figures they are built on an Agg canvas without pyplot, inside
the fixed style of :mod:`netgrade.report._figure`, and every artist that carries content
has an id (``gid``, kept in SVG output); :func:`~netgrade.report.plots.save_figure` writes
byte-identical files.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib import patheffects
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from . import _network_layout as nl
from ._figure import (
    GREY,
    INK,
    DisplayScale,
    PlotError,
    TextMeasurer,
    display_scale,
    fmt_num,
    fmt_tick,
    level_pct,
    log_ticks,
    new_figure,
    style_context,
)
from .forest import ROB_COLOURS, normalise_rob

__all__ = [
    "network_graph",
    "forest_vs_reference",
    "league_table_frame",
    "league_heatmap",
    "league_caption",
    "rankogram",
    "LAYOUTS",
    "FOREST_SORT",
    "TRIANGLES",
    "NODE_COLOUR",
    "ROB_CMAP",
]

#: layouts of :func:`network_graph`
LAYOUTS = ("circle", "stress")

# Okabe & Ito's blue for the nodes, the project's risk-of-bias colours for the lines.
NODE_COLOUR = "#0072B2"
EDGE_COLOUR = "#4d4d4d"
EDGE_UNASSESSED = "#b3b3b3"
ROB_EDGE = {"low": ROB_COLOURS["low"], "some": ROB_COLOURS["some"], "high": ROB_COLOURS["high"],
            "none": EDGE_UNASSESSED}
ROB_EDGE_LABELS = {"low": "Low", "some": "Some concerns", "high": "High", "none": "Not assessed"}
# A continuous risk of bias in [0, 1] runs through the same three colours (0 = low,
# 0.5 = some concerns, 1 = high), so that numbers and judgements read alike.
ROB_CMAP = LinearSegmentedColormap.from_list(
    "netgrade_rob", [ROB_COLOURS["low"], ROB_COLOURS["some"], ROB_COLOURS["high"]], N=256
)

_MARGIN = 0.2  # inches around every figure
_LINE = 1.3  # line height, as a multiple of the font size

# Marker of the forest: a square; intervals cut at the axis limits end in arrowheads whose
# tip sits on the limit.
_ARROW_RIGHT = MplPath([(-1.0, 0.55), (0.0, 0.0), (-1.0, -0.55), (-1.0, 0.55)], closed=True)
_ARROW_LEFT = MplPath([(1.0, 0.55), (0.0, 0.0), (1.0, -0.55), (1.0, 0.55)], closed=True)


# =======================================================================================
# shared helpers


def _names(treatments: Sequence[str], what: str = "treatments") -> list[str]:
    if isinstance(treatments, str):
        raise PlotError(f"{what} must be a sequence of names, not one string ({treatments!r})")
    names = [str(t) for t in treatments]
    if not names:
        raise PlotError(f"{what} is empty")
    dup = sorted({t for t in names if names.count(t) > 1})
    if dup:
        raise PlotError(f"{what} has duplicates: {', '.join(dup)}")
    if any(not t.strip() for t in names):
        raise PlotError(f"{what} has an empty name")
    return names


def _larger_better(value) -> bool | None:
    """True (larger values are better), False (smaller are better) or None (not given)."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    key = " ".join(str(value).strip().lower().split())
    if key in ("higher", "larger", "higher is better", "larger is better", "undesirable"):
        return True  # netmeta's small.values = "undesirable": large values are good
    if key in ("lower", "smaller", "lower is better", "smaller is better", "desirable"):
        return False
    raise PlotError(f"larger_better must be True, False or None (or 'higher'/'lower'), not {value!r}")


def _direction_words(larger_better: bool) -> str:
    return "larger values are better" if larger_better else "smaller values are better"


def _square(x, T: int, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise PlotError(f"{name} must be a {T} x {T} array of numbers") from None
    if a.shape != (T, T):
        raise PlotError(f"{name} has shape {a.shape}; expected ({T}, {T}) for {T} treatments")
    return a


def _vector(x, n: int, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise PlotError(f"{name} must be {n} numbers") from None
    if a.ndim != 1 or a.shape[0] != n:
        raise PlotError(f"{name} has {a.size if a.ndim else 1} values; expected {n} (one per treatment)")
    return a


def _increasing(scale: DisplayScale) -> bool:
    """Whether the display transformation increases (a custom one might decrease)."""
    a, b = float(scale(0.0)), float(scale(1.0))
    return not (math.isfinite(a) and math.isfinite(b) and b < a)


def _contrast_null(scale: DisplayScale) -> float:
    """No effect on the displayed scale: contrasts are 0 on the analysis scale."""
    return scale.null if scale.null is not None else float(scale(0.0))


def _plural(name: str) -> str:
    """'Odds ratio' -> 'odds ratios', 'Ratio of means' -> 'ratios of means'."""
    words = name[0].lower() + name[1:]
    if " of " in words:
        head, rest = words.split(" of ", 1)
        return f"{head}s of {rest}"
    if " (" in words:
        head, rest = words.split(" (", 1)
        return f"{head}s ({rest}"
    return words if words.endswith("s") else words + "s"


class _Measurer(TextMeasurer):
    """Text sizes for layout, with room for hinting: Agg snaps glyph advances to whole
    pixels, so the same text renders up to ~12% wider (or narrower) at 100 or 150 dpi than
    measured at 72 dpi.  Widths are padded by that much, so that labels, columns and
    wrapped notes stay inside their space at every resolution."""

    SLACK = 1.12

    def size(self, text: str, fontsize: float, weight: str = "normal") -> tuple[float, float]:
        w, h = super().size(text, fontsize, weight)
        return w * self.SLACK, h


def _wrap(m: TextMeasurer, paragraphs: Sequence[str], fs: float, width_in: float) -> list[str]:
    """Each paragraph word-wrapped to ``width_in``, as one string with newlines."""
    return ["\n".join(m.wrap(p, fs, width_in)) for p in paragraphs if p]


def _block_height(paragraphs: Sequence[str], fs: float, gap: float = 0.04) -> float:
    lines = sum(p.count("\n") + 1 for p in paragraphs)
    return lines * fs * _LINE / 72.0 + gap * len(paragraphs)


def _draw_block(fig: Figure, paragraphs: Sequence[str], x_in: float, top_in: float, width: float, height: float,
                fs: float, prefix: str, weight: str = "normal", gap: float = 0.04) -> float:
    """Draw paragraphs from ``top_in`` (inches from the bottom) downwards; each paragraph is
    one text with gid ``<prefix>-<j>``.  Returns the inch position under the last one."""
    y = top_in
    for j, p in enumerate(paragraphs):
        fig.text(x_in / width, y / height, p, ha="left", va="top", fontsize=fs, fontweight=weight, color=INK,
                 linespacing=_LINE / 1.2, parse_math=False, gid=f"{prefix}-{j}")
        y -= (p.count("\n") + 1) * fs * _LINE / 72.0 + gap
    return y


def _text_colour(rgb) -> str:
    """White text on dark cells, ink on light ones (relative luminance, WCAG)."""
    def lin(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in to_rgb(rgb))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "white" if lum < 0.22 else INK


def _nice_125_below(x: float) -> float:
    """Largest 1-2-5 value (…, 10, 20, 50, 100, …) not above ``x`` (x > 0)."""
    e = math.floor(math.log10(x))
    best = 10.0**e
    for mult in (1.0, 2.0, 5.0, 10.0):
        v = mult * 10.0**e
        if v <= x * (1 + 1e-12):
            best = v
    return best


def _fmt_count(x: float) -> str:
    return f"{x:,.0f}" if x >= 1 else fmt_tick(x)


# =======================================================================================
# network graph


def _parse_edges(names: list[str], edges) -> tuple[list[tuple[int, int]], np.ndarray]:
    index = {t: i for i, t in enumerate(names)}
    pairs: list[tuple[int, int]] = []
    counts: list[float] = []
    seen: dict[tuple[int, int], int] = {}
    for k, e in enumerate(edges):
        try:
            t1, t2, n = e
        except (TypeError, ValueError):
            raise PlotError(f"edge {k}: expected (treatment1, treatment2, number of studies); got {e!r}") from None
        t1, t2 = str(t1), str(t2)
        for t in (t1, t2):
            if t not in index:
                raise PlotError(f"edge {k} ({t1} vs {t2}): {t!r} is not among the treatments")
        if t1 == t2:
            raise PlotError(f"edge {k}: {t1!r} is compared with itself")
        try:
            nf = float(n)
        except (TypeError, ValueError):
            raise PlotError(f"edge {k} ({t1} vs {t2}): the number of studies must be a number, not {n!r}") from None
        if not (math.isfinite(nf) and nf >= 1 and nf == round(nf)):
            raise PlotError(f"edge {k} ({t1} vs {t2}): the number of studies must be a whole number >= 1, not {n!r}")
        a, b = index[t1], index[t2]
        key = (min(a, b), max(a, b))
        if key in seen:
            raise PlotError(
                f"edges {seen[key]} and {k} both join {names[key[0]]} and {names[key[1]]}; give each comparison "
                "once, with the total number of studies that compare the two treatments"
            )
        seen[key] = k
        pairs.append((a, b))
        counts.append(nf)
    return pairs, np.asarray(counts, dtype=float)


def _edge_colours(names: list[str], pairs: list[tuple[int, int]], edge_colour) -> tuple[list, str | None]:
    """Colour of each edge and the kind of legend ('categories', 'numeric' or None)."""
    if edge_colour is None:
        return [EDGE_COLOUR] * len(pairs), None
    if not isinstance(edge_colour, Mapping):
        raise PlotError("edge_colour must map (treatment1, treatment2) to 'low'/'some concerns'/'high' or a number in [0, 1]")
    lookup: dict[tuple[str, str], object] = {}
    for key, value in edge_colour.items():
        try:
            t1, t2 = (str(k) for k in key)
        except (TypeError, ValueError):
            raise PlotError(f"edge_colour keys must be pairs of treatments, not {key!r}") from None
        for t in (t1, t2):
            if t not in names:
                raise PlotError(f"edge_colour has a key {key!r}: {t!r} is not among the treatments")
        k = (min(t1, t2), max(t1, t2))
        if k in lookup and lookup[k] != value:
            raise PlotError(f"edge_colour gives {t1} vs {t2} twice, with different values ({lookup[k]!r}, {value!r})")
        lookup[k] = value
    drawn = {(min(names[a], names[b]), max(names[a], names[b])) for a, b in pairs}
    extra = sorted(k for k in lookup if k not in drawn)
    if extra:
        raise PlotError("edge_colour names comparisons that are not edges: "
                        + "; ".join(f"{a} vs {b}" for a, b in extra))
    kinds = set()
    values = []
    for a, b in pairs:
        v = lookup.get((min(names[a], names[b]), max(names[a], names[b])))
        if v is None or (isinstance(v, float) and math.isnan(v)):
            values.append(("cat", "none"))
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            x = float(v)
            if not 0.0 <= x <= 1.0:
                raise PlotError(f"edge_colour for {names[a]} vs {names[b]}: numbers must lie in [0, 1] "
                                f"(0 = low, 1 = high risk of bias); got {v!r}")
            kinds.add("numeric")
            values.append(("num", x))
        else:
            try:
                cat = normalise_rob(v)
            except PlotError as exc:
                raise PlotError(f"edge_colour for {names[a]} vs {names[b]}: {exc}") from None
            if cat != "none":
                kinds.add("categories")
            values.append(("cat", cat))
    if len(kinds) > 1:
        raise PlotError("edge_colour mixes judgements (low/some concerns/high) and numbers; use one kind")
    kind = kinds.pop() if kinds else "categories"
    colours = [ROB_CMAP(x) if t == "num" else ROB_EDGE[x] for t, x in values]
    cats = [x for t, x in values if t == "cat"]
    return colours, (kind, cats)


def _box_for(anchor, w, h, ha, va):
    x, y = anchor
    x0 = x if ha == "left" else (x - w if ha == "right" else x - w / 2)
    y0 = y if va == "bottom" else (y - h if va == "top" else y - h / 2)
    return (x0, y0, x0 + w, y0 + h)


def _align(angle: float) -> tuple[str, str]:
    c, s = math.cos(angle), math.sin(angle)
    ha = "left" if c > 0.35 else ("right" if c < -0.35 else "center")
    va = "bottom" if s > 0.35 else ("top" if s < -0.35 else "center")
    return ha, va


def _overlap(a, b, pad=0.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _rotated_box(anchor, angle, w, h):
    """Axis-aligned bounds of a label written outward along ``angle`` from ``anchor``."""
    u = np.array([math.cos(angle), math.sin(angle)])
    v = np.array([-u[1], u[0]])
    a = np.asarray(anchor, dtype=float)
    pts = [a + v * h / 2, a - v * h / 2, a + u * w + v * h / 2, a + u * w - v * h / 2]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


class _Label:
    __slots__ = ("anchor", "ha", "va", "rotation", "box")

    def __init__(self, anchor, ha, va, rotation, box):
        self.anchor, self.ha, self.va, self.rotation, self.box = anchor, ha, va, rotation, box


def _circle_component(m: int, sizes, lab_h: float, r_nom: float, gap: float):
    """Radius, unit angles and label style of one component on a circle.

    Labels are horizontal outside the circle when they fit without overlapping (small
    networks); otherwise they are written radially outwards, which needs only a line
    height between neighbours, so 60 treatments stay legible."""
    if m == 1:
        return 0.0, np.array([math.pi / 2]), False
    ang = nl.circle_angles(m)
    base = {2: 0.5, 3: 0.6}.get(m, 0.8)
    if m <= 16:
        s = math.sin(math.pi / m)
        r0 = max(base, (2 * r_nom + 0.25) / (2 * s))
        for grow in (1.0, 1.15, 1.3, 1.5):
            R = r0 * grow
            boxes = []
            for a, (w, h) in zip(ang, sizes):
                anchor = ((R + r_nom + gap) * math.cos(a), (R + r_nom + gap) * math.sin(a))
                boxes.append(_box_for(anchor, w, h, *_align(a)))
            if not any(_overlap(boxes[i], boxes[j], 0.03) for i in range(m) for j in range(i + 1, m)):
                return R, ang, False
    s = math.sin(math.pi / m)
    R = max(base, (lab_h * 1.35) / (2 * s), (2 * r_nom * 0.6) / (2 * s))
    return R, ang, True


def _free_labels(pos, radii, segs, sizes, adjacency, comp_centre, gap):
    """Label positions next to the nodes of a free (stress) layout: of eight directions and
    the one pointing away from the neighbours, the one that covers the fewest nodes, lines
    and labels already placed (greedy, in node order: deterministic)."""
    n = len(pos)
    labels: list[_Label | None] = [None] * n
    placed: list[tuple] = []
    seg_pts = []
    for (p, q) in segs:
        t = np.linspace(0.08, 0.92, 13)[:, None]
        seg_pts.append(np.asarray(p)[None, :] * (1 - t) + np.asarray(q)[None, :] * t)
    seg_pts = np.concatenate(seg_pts) if seg_pts else np.zeros((0, 2))
    order = sorted(range(n), key=lambda i: (-len(adjacency[i]), i))
    for i in order:
        p = np.asarray(pos[i])
        nb = [np.asarray(pos[j]) for j in adjacency[i]]
        v = p - np.mean(nb, axis=0) if nb else p - comp_centre
        if float(np.hypot(*v)) < 1e-6:
            v = p - comp_centre
        pref = math.atan2(v[1], v[0]) if float(np.hypot(*v)) > 1e-6 else math.pi / 2
        cands = [pref] + [k * math.pi / 4 for k in (2, 1, 0, 7, 6, 5, 4, 3)]
        best = None
        for a in cands:
            ha, va = _align(a)
            r = radii[i] + gap
            anchor = (p[0] + r * math.cos(a), p[1] + r * math.sin(a))
            box = _box_for(anchor, sizes[i][0], sizes[i][1], ha, va)
            score = 0.0
            for j in range(n):
                if j == i:
                    continue
                cx, cy = pos[j]
                nx, ny = min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3])
                if (nx - cx) ** 2 + (ny - cy) ** 2 < radii[j] ** 2:
                    score += 3
            score += 2 * sum(_overlap(box, b, 0.02) for b in placed)
            if len(seg_pts):
                inside = ((seg_pts[:, 0] > box[0]) & (seg_pts[:, 0] < box[2])
                          & (seg_pts[:, 1] > box[1]) & (seg_pts[:, 1] < box[3]))
                score += 0.5 * int(inside.sum())
            d = abs((a - pref + math.pi) % (2 * math.pi) - math.pi)
            score += 0.2 * d / math.pi
            if best is None or score < best[0] - 1e-12:
                best = (score, anchor, ha, va, box)
        _, anchor, ha, va, box = best
        labels[i] = _Label(anchor, ha, va, 0.0, box)
        placed.append(box)
    return labels


def _patients(names: list[str], node_size) -> np.ndarray:
    """Number of patients per treatment (NaN where not given)."""
    patients = np.full(len(names), np.nan)
    if node_size is None:
        return patients
    if not isinstance(node_size, Mapping):
        raise PlotError("node_size must map each treatment to its number of patients")
    unknown = sorted(str(k) for k in node_size if str(k) not in names)
    if unknown:
        raise PlotError(f"node_size names unknown treatments: {', '.join(unknown)}")
    for t, v in node_size.items():
        try:
            x = float(v) if v is not None else math.nan
        except (TypeError, ValueError):
            raise PlotError(f"node_size for {t!r} must be a number of patients, not {v!r}") from None
        if math.isinf(x) or (math.isfinite(x) and x < 0):
            raise PlotError(f"node_size for {t!r} must be a non-negative number, not {v!r}")
        patients[names.index(str(t))] = x
    if np.isfinite(patients).any() and not np.any(patients > 0):
        raise PlotError("node_size gives no positive number of patients")
    return patients


def _multi_arm_note(multi_arm) -> str | None:
    if multi_arm is None:
        return None
    if isinstance(multi_arm, (int, np.integer)) and not isinstance(multi_arm, bool):
        k, listed = int(multi_arm), ""
    elif isinstance(multi_arm, (str, bool)):
        raise PlotError("multi_arm must be a number of trials or a sequence of trial names")
    else:
        trials = [str(t) for t in multi_arm]
        k, listed = len(trials), (f" ({', '.join(trials)})" if trials else "")
    if k < 0:
        raise PlotError(f"multi_arm must be >= 0, not {multi_arm!r}")
    if k == 0:
        return None
    return (f"{k} multi-arm {'trial' if k == 1 else 'trials'}{listed} {'contributes' if k == 1 else 'contribute'} "
            "to more than one line: each line counts every trial that compares its two treatments.")


_D_MIN = 4.0 / 72.0  # smallest node diameter (inches)


def _graph_layout(key, T, pairs, ref_i, patients, lab_sizes, lab_h, gap):
    """Node positions and label places (inches, each component around its own origin),
    node diameters, and the largest diameter the crowding allows."""
    # components: the reference's first, then in the order of their first treatment;
    # within one, the reference (else the first treatment) leads the layout
    comps = nl.components(T, pairs)
    comps.sort(key=lambda c: (ref_i not in c, c[0]))
    comps = [([ref_i] + [v for v in c if v != ref_i]) if ref_i in c else c for c in comps]
    adjacency: list[list[int]] = [[] for _ in range(T)]
    for a, b in pairs:
        adjacency[a].append(b)
        adjacency[b].append(a)

    pos = np.zeros((T, 2))
    node_labels: list = [None] * T
    d_max_in = 0.44  # diameter of the largest node (inches), reduced where nodes crowd
    r_nom = d_max_in / 2
    if key == "circle":
        geo = []
        for c in comps:
            R, ang, radial = _circle_component(len(c), [lab_sizes[i] for i in c], lab_h, r_nom, gap)
            geo.append((R, ang, radial))
            if len(c) > 1:
                chord = 2 * R * math.sin(math.pi / len(c))
                d_max_in = min(d_max_in, 0.8 * chord if radial else 0.75 * chord)
        r_max = d_max_in / 2
        for c, (R, ang, radial) in zip(comps, geo):
            for v, a in zip(c, ang):
                pos[v] = (R * math.cos(a), R * math.sin(a)) if len(c) > 1 else (0.0, 0.0)
                # horizontal labels where they were checked not to overlap; radial ones
                # just outside the (possibly smaller) nodes
                rr = (R if len(c) > 1 else 0.0) + (r_max if radial else r_nom) + gap
                anchor = (rr * math.cos(a), rr * math.sin(a))
                w, h = lab_sizes[v]
                if radial:
                    left = math.cos(a) < -1e-9
                    rot = math.degrees(a) + (180.0 if left else 0.0)
                    node_labels[v] = _Label(anchor, "right" if left else "left", "center", rot,
                                            _rotated_box(anchor, a, w, h))
                else:
                    ha, va = _align(a)
                    node_labels[v] = _Label(anchor, ha, va, 0.0, _box_for(anchor, w, h, ha, va))
    else:
        dist = nl.graph_distances(T, pairs)
        unit = []
        min_d, extent = math.inf, 0.0
        for c in comps:
            x = nl.stress_layout(dist[np.ix_(c, c)])
            unit.append(x)
            if len(c) > 1:
                dd = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
                min_d = min(min_d, float(dd[np.triu_indices(len(c), 1)].min()))
                extent = max(extent, float(np.ptp(x, axis=0).max()))
        u = 1.0  # inches per edge; more if nodes come too close, less if the network is huge
        if math.isfinite(min_d) and min_d > 0:
            u = max(u, 0.5 / min_d)
            if extent * u > 7.0:
                u = max(7.0 / extent, 0.34 / min_d)
            d_max_in = min(d_max_in, 0.6 * min_d * u)
        for c, x in zip(comps, unit):
            pos[c] = x * u

    # node diameters (inches): area proportional to the number of patients
    if np.isfinite(patients).any():
        pmax = float(np.nanmax(patients))
        diam = np.where(np.isfinite(patients), d_max_in * np.sqrt(np.nan_to_num(patients) / pmax), 0.0)
    else:
        diam = np.full(T, min(d_max_in, 0.2))
    diam = np.maximum(diam, _D_MIN)

    if key == "stress":
        for c in comps:
            segs = [(pos[a], pos[b]) for a, b in pairs if a in c]
            local_adj = [[c.index(w) for w in adjacency[v]] for v in c]
            lab = _free_labels([pos[v] for v in c], [diam[v] / 2 for v in c], segs, [lab_sizes[v] for v in c],
                               local_adj, pos[c].mean(axis=0), gap)
            for v, lb in zip(c, lab):
                node_labels[v] = lb
    return comps, pos, diam, node_labels, d_max_in


def _draw_graph_legends(fig, ax, rows, y, patients, d_max_in, fs, m, width, height) -> None:
    """Legend rows under the network (inch coordinates of ``ax``), from ``y`` down: node
    sizes ('Patients:' and reference circles on the nodes' scale) and risk of bias (a line
    per judgement, or a colour bar for numbers)."""
    x0 = _MARGIN
    for kind, payload, h in rows:
        yc = y - h / 2
        if kind == "size":
            ax.text(x0, yc, "Patients:", ha="left", va="center", fontsize=fs, color=INK,
                    parse_math=False, gid="network-size-legend-title")
            x = x0 + m.width_in("Patients:", fs) + 0.12
            ds = [d_max_in * math.sqrt(v / float(np.nanmax(patients))) for v in payload]
            xs = []
            for j, (v, d) in enumerate(zip(payload, ds)):
                xs.append(x + d / 2)
                lab = _fmt_count(v)
                ax.text(x + d + 0.05, yc, lab, ha="left", va="center", fontsize=fs, color=INK,
                        parse_math=False, gid=f"network-size-legend-label-{j}")
                x += d + 0.05 + m.width_in(lab, fs) + 0.2
            ax.scatter(xs, [yc] * len(xs), s=(np.asarray(ds) * 72.0) ** 2, c=NODE_COLOUR, edgecolors="white",
                       linewidths=0.8, gid="network-size-legend")
        else:
            kind_r, cats = payload
            ax.text(x0, yc, "Risk of bias:", ha="left", va="center", fontsize=fs, color=INK,
                    parse_math=False, gid="network-rob-legend-title")
            x = x0 + m.width_in("Risk of bias:", fs) + 0.12
            if kind_r == "numeric":
                cbw = 1.8
                cax = fig.add_axes((x / width, (yc - 0.05) / height, cbw / width, 0.1 / height))
                cb = fig.colorbar(ScalarMappable(norm=Normalize(0.0, 1.0), cmap=ROB_CMAP), cax=cax,
                                  orientation="horizontal")
                cb.set_ticks([0.0, 0.5, 1.0])
                cb.set_ticklabels(["0 (low)", "0.5", "1 (high)"])
                cb.ax.tick_params(labelsize=fs - 0.5, length=2)
                cb.outline.set_linewidth(0.5)
                cax.set_gid("network-rob-colourbar")
                x += cbw + 0.25
                cats = [c for c in cats if c == "none"]
            for c in [c for c in ("low", "some", "high", "none") if c in cats]:
                ax.add_line(Line2D([x, x + 0.3], [yc, yc], linewidth=3.0, color=ROB_EDGE[c], solid_capstyle="butt",
                                   path_effects=[patheffects.Stroke(linewidth=4.0, foreground="#8c8c8c"),
                                                 patheffects.Normal()],
                                   gid=f"network-rob-legend-{c}"))
                ax.text(x + 0.36, yc, ROB_EDGE_LABELS[c], ha="left", va="center", fontsize=fs, color=INK,
                        parse_math=False, gid=f"network-rob-legend-label-{c}")
                x += 0.36 + m.width_in(ROB_EDGE_LABELS[c], fs) + 0.22
        y -= h


def network_graph(
    treatments: Sequence[str],
    edges: Sequence[tuple[str, str, int]],
    *,
    node_size: Mapping[str, float] | None = None,
    edge_colour: Mapping[tuple[str, str], object] | None = None,
    layout: str = "circle",
    labels: Sequence[str] | Mapping[str, str] | None = None,
    title: str | None = None,
    reference: str | None = None,
    multi_arm: int | Sequence[str] | None = None,
    note: str | None = None,
    edge_labels: bool | None = None,
    fontsize: float = 8.0,
) -> Figure:
    """Network plot: treatments as nodes, direct comparisons as lines.

    Parameters
    ----------
    treatments
        Names of the treatments (nodes), unique.
    edges
        ``(treatment1, treatment2, n_studies)`` for every pair of treatments compared
        directly, each pair once (a multi-arm trial counts on every edge it informs).
        Line width is proportional to ``n_studies`` (at least 0.6 points, so that a single
        study stays visible next to 50; at most 8 points, less where nodes crowd), and the
        number is written on the line (see ``edge_labels``).
    node_size
        Treatment -> number of patients.  Node *area* is proportional to the number of
        patients (the diameter to its square root), with a legend.  Treatments missing
        from the mapping (or NaN, as ``NetworkData.patients()`` gives for unknown counts)
        are drawn as open circles of the smallest size and listed in a note; if no count
        is known at all, the nodes have one size and a note says so.  Without it all
        nodes have the same size.
    edge_colour
        (treatment1, treatment2) -> average risk of bias of the studies on that edge: a
        judgement ('low', 'some concerns', 'high'; RoB 1's 'unclear' counts as some
        concerns) or a number in [0, 1] (0 = low, 1 = high), in the colour-blind safe
        palette of the forest plot's traffic lights, with a legend.  Either orientation of
        a key matches; edges without a value are grey ('not assessed').
    layout
        ``'circle'``: nodes on a circle, the reference at the top and the others clockwise
        in the order given.  ``'stress'``: a stress-majorisation layout of the graph
        distances (deterministic, seed-free: classical scaling as the start, then SMACOF),
        turned so that the reference is at the top.
    labels
        Names to show instead of the treatment names (a sequence in the order of
        ``treatments``, or a mapping from treatment to label).
    title
        Title above the figure.
    reference
        The treatment placed first (at the top) and labelled in bold; default the first.
    multi_arm
        Number of multi-arm trials, or their names: adds a note saying that they
        contribute to more than one line (nothing else is drawn differently).
    note
        Free text added to the notes under the figure.
    edge_labels
        Write the number of studies on each line; default (``None``) when there are at
        most 40 lines (beyond that the numbers hide the network).
    fontsize
        Size of the node labels (points).

    A disconnected network is drawn as separate sub-networks side by side (the
    reference's first), with a note listing them.

    Returns
    -------
    matplotlib.figure.Figure
        Artists with ids: ``network-nodes`` (one scatter; offset ``i`` and size ``i`` are
        treatment ``i``; size in points², so the diameter is its square root),
        ``network-edge-<k>`` (one line per edge, in the order of ``edges``),
        ``edge-label-<k>``, ``node-label-<i>``, ``network-size-legend`` (its circles),
        ``network-rob-legend-<low|some|high|none>`` (judgements) or
        ``network-rob-colourbar`` (numbers), ``network-note-<j>``, ``network-title-<j>``;
        the axes ``network-graph`` has inch coordinates (line widths and node sizes are
        in points).
    """
    names = _names(treatments)
    T = len(names)
    if T < 2:
        raise PlotError("a network needs at least two treatments")
    if labels is None:
        shown = list(names)
    elif isinstance(labels, Mapping):
        unknown = sorted(str(k) for k in labels if str(k) not in names)
        if unknown:
            raise PlotError(f"labels for unknown treatments: {', '.join(unknown)}")
        shown = [str(labels.get(t, t)) for t in names]
    else:
        shown = [str(s) for s in labels]
        if len(shown) != T:
            raise PlotError(f"{len(shown)} labels given for {T} treatments")
    ref = names[0] if reference is None else str(reference)
    if ref not in names:
        raise PlotError(f"reference {ref!r} is not among the treatments")
    ref_i = names.index(ref)
    key = str(layout).strip().lower()
    if key not in LAYOUTS:
        raise PlotError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    pairs, counts = _parse_edges(names, edges)
    colours, rob = _edge_colours(names, pairs, edge_colour)
    if edge_labels is None:
        edge_labels = len(pairs) <= 40

    patients = _patients(names, node_size)
    ma_note = _multi_arm_note(multi_arm)
    # every count unknown (contrast-level data): nodes of one size, and a note saying so
    sized = bool(np.isfinite(patients).any())
    missing_size = [names[i] for i in range(T) if sized and not math.isfinite(patients[i])]

    fs = float(fontsize)
    fs_small = fs - 0.5
    m = _Measurer()
    lab_sizes = []
    for i in range(T):
        w, h = m.size(shown[i], fs, "bold" if i == ref_i else "normal")
        lab_sizes.append((w / 72.0, max(h, fs * 1.15) / 72.0))
    lab_h = fs * _LINE / 72.0
    gap = 0.05

    comps, pos, diam, node_labels, d_max_in = _graph_layout(
        key, T, pairs, ref_i, patients, lab_sizes, lab_h, gap)
    d_min_in = _D_MIN

    # place the components side by side, centred on one horizontal line
    boxes = []
    for c in comps:
        xs = [pos[v, 0] - diam[v] / 2 for v in c] + [pos[v, 0] + diam[v] / 2 for v in c]
        ys = [pos[v, 1] - diam[v] / 2 for v in c] + [pos[v, 1] + diam[v] / 2 for v in c]
        for v in c:
            b = node_labels[v].box
            xs += [b[0], b[2]]
            ys += [b[1], b[3]]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    comp_gap = 0.45
    graph_w = sum(b[2] - b[0] for b in boxes) + comp_gap * (len(comps) - 1)
    graph_h = max(b[3] - b[1] for b in boxes)

    # notes
    notes: list[str] = []
    if len(comps) > 1:
        parts = ["{" + ", ".join(names[v] for v in sorted(c)) + "}" for c in comps]
        notes.append(
            f"The network is disconnected: {len(comps)} sub-networks ({'; '.join(parts)}), drawn side by side. "
            "Treatments in different sub-networks are not compared by the network meta-analysis."
        )
    notes.append("Line width is proportional to the number of studies comparing the two treatments directly"
                 + (" (the number on each line)." if edge_labels else "."))
    if node_size is not None and not sized:
        notes.append("Numbers of patients unknown: nodes of equal size.")
    if sized:
        notes.append("Node area is proportional to the number of patients.")
        if missing_size:
            notes.append("No number of patients for: " + ", ".join(missing_size) + " (open circles).")
    if rob is not None and rob[0] == "numeric":
        notes.append("Line colour: average risk of bias of the studies on each comparison (0 = low, 1 = high).")
    if ma_note:
        notes.append(ma_note)
    if note:
        notes.append(str(note))

    # legends (rows under the graph)
    legend_rows = []
    if sized:
        pmax = float(np.nanmax(patients))
        top = _nice_125_below(pmax)
        vals = [top]
        for f in (0.25, 0.05):
            v = _nice_125_below(top * f) if top * f >= 1 else None
            if v is not None and v not in vals and d_max_in * math.sqrt(v / pmax) >= d_min_in * 1.2:
                vals.append(v)
        legend_rows.append(("size", sorted(vals), max(d_max_in * math.sqrt(top / pmax), lab_h) + 0.12))
    if rob is not None:
        legend_rows.append(("rob", rob, lab_h + (0.3 if rob[0] == "numeric" else 0.12)))

    legend_w = 0.0
    for kind, payload, _h in legend_rows:
        if kind == "size":
            pm = float(np.nanmax(patients))
            w = m.width_in("Patients:", fs_small) + 0.12
            w += sum(d_max_in * math.sqrt(v / pm) + 0.25 + m.width_in(_fmt_count(v), fs_small) for v in payload)
        else:
            kind_r, cats = payload
            w = m.width_in("Risk of bias:", fs_small) + 0.12 + (2.05 if kind_r == "numeric" else 0.0)
            shown_cats = [c for c in ("low", "some", "high", "none") if c in cats
                          and (kind_r != "numeric" or c == "none")]
            w += sum(0.58 + m.width_in(ROB_EDGE_LABELS[c], fs_small) for c in shown_cats)
        legend_w = max(legend_w, w)
    width = max(graph_w, legend_w) + 2 * _MARGIN
    width = max(width, 3.6)
    text_w = width - 2 * _MARGIN
    note_par = _wrap(m, notes, fs_small - 0.5, text_w)
    title_par = _wrap(m, [str(title)], fs + 2, text_w) if title else []
    title_h = _block_height(title_par, fs + 2) + (0.08 if title_par else 0.0)
    legend_h = sum(r[2] for r in legend_rows) + (0.1 if legend_rows else 0.0)
    notes_h = _block_height(note_par, fs_small - 0.5)
    height = _MARGIN + title_h + graph_h + 0.15 + legend_h + notes_h + _MARGIN

    # final positions in figure inches
    x_cursor = (width - graph_w) / 2
    graph_top = height - _MARGIN - title_h
    y_mid = graph_top - graph_h / 2
    shift = np.zeros((T, 2))
    for c, b in zip(comps, boxes):
        dx = x_cursor - b[0]
        dy = y_mid - (b[1] + b[3]) / 2
        for v in c:
            shift[v] = (dx, dy)
        x_cursor += (b[2] - b[0]) + comp_gap
    P = pos + shift

    with style_context():
        fig = new_figure(width, height)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_gid("network-graph")
        ax.set_xlim(0.0, width)
        ax.set_ylim(0.0, height)
        ax.axis("off")

        # lines: widest underneath
        max_w = min(8.0, max(2.5, 0.4 * d_max_in * 72.0))  # thinner lines where nodes crowd
        w_unit = min(1.5, max_w / float(counts.max())) if len(counts) else 1.0
        widths = np.maximum(0.6, w_unit * counts)
        order = sorted(range(len(pairs)), key=lambda k: (-widths[k], k))
        for z, k in enumerate(order):
            a, b = pairs[k]
            line = Line2D([P[a, 0], P[b, 0]], [P[a, 1], P[b, 1]], linewidth=float(widths[k]), color=colours[k],
                          solid_capstyle="butt", zorder=1 + z * 1e-4, gid=f"network-edge-{k}")
            if rob is not None:  # a grey casing keeps the yellow lines visible on white
                line.set_path_effects([patheffects.Stroke(linewidth=float(widths[k]) + 1.0, foreground="#8c8c8c"),
                                       patheffects.Normal()])
            ax.add_line(line)
        if edge_labels and pairs:
            placed: list[tuple] = []
            efs = fs - 1.0
            for k, (a, b) in enumerate(pairs):
                txt = f"{int(counts[k])}"
                w, h = m.size(txt, efs)
                w, h = w / 72.0 + 0.06, h / 72.0 + 0.04
                best = None
                for t in (0.5, 0.38, 0.62, 0.28, 0.72):
                    cx, cy = P[a] * (1 - t) + P[b] * t
                    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                    hits = sum(_overlap(box, q) for q in placed)
                    if best is None or hits < best[0]:
                        best = (hits, cx, cy, box)
                    if hits == 0:
                        break
                _, cx, cy, box = best
                placed.append(box)
                ax.text(cx, cy, txt, ha="center", va="center", fontsize=efs, color=INK, zorder=2, parse_math=False,
                        gid=f"edge-label-{k}",
                        bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.9))

        # nodes
        face = [NODE_COLOUR if (not sized or math.isfinite(patients[i])) else "white" for i in range(T)]
        edge = ["white" if f != "white" else NODE_COLOUR for f in face]
        ax.scatter(P[:, 0], P[:, 1], s=(diam * 72.0) ** 2, c=face, edgecolors=edge, linewidths=0.8, zorder=3,
                   gid="network-nodes")
        for i in range(T):
            lb = node_labels[i]
            ax.text(lb.anchor[0] + shift[i, 0], lb.anchor[1] + shift[i, 1], shown[i], ha=lb.ha, va=lb.va,
                    rotation=lb.rotation, rotation_mode="anchor", fontsize=fs,
                    fontweight="bold" if i == ref_i else "normal", color=INK, zorder=4, parse_math=False,
                    gid=f"node-label-{i}")

        _draw_graph_legends(fig, ax, legend_rows, graph_top - graph_h - 0.15, patients, d_max_in, fs_small, m,
                            width, height)
        # title and notes
        _draw_block(fig, title_par, _MARGIN, height - _MARGIN, width, height, fs + 2, "network-title", "bold")
        _draw_block(fig, note_par, _MARGIN, _MARGIN + notes_h, width, height, fs_small - 0.5, "network-note")
    return fig


# =======================================================================================
# forest plot against a reference

#: ``sort_by`` keys of :func:`forest_vs_reference`
FOREST_SORT = ("estimate", "benefit", "name")


def _xaxis(values: np.ndarray, ref: float | None, log_axis: bool, xlim):
    """Limits and ticks of a forest axis on the displayed scale (as in forest_plot)."""
    if xlim is not None:
        if len(xlim) != 2 or not float(xlim[0]) < float(xlim[1]):
            raise PlotError(f"xlim must be (lower, upper) with lower < upper; got {xlim!r}")
        x0, x1 = float(xlim[0]), float(xlim[1])
        if log_axis and x0 <= 0:
            raise PlotError(f"xlim must be positive on the ratio scale (log axis); got {xlim!r}")
        ticks = log_ticks(x0, x1, expand=False)[0] if log_axis else None
    else:
        vals = values[np.isfinite(values)]
        if ref is not None and math.isfinite(ref):
            vals = np.append(vals, ref)
        if log_axis:
            vals = vals[vals > 0]
        if vals.size == 0:
            raise PlotError("no finite values to plot")
        x0, x1 = float(vals.min()), float(vals.max())
        if log_axis:
            if x0 == x1:
                x0, x1 = x0 / 2, x1 * 2
            ticks, x0, x1 = log_ticks(x0, x1, expand=True)
        else:
            if x0 == x1:
                x0, x1 = x0 - 1, x1 + 1
            ticks = None
            tv = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(x0, x1)
            x0, x1 = float(tv[0]), float(tv[-1])
    if log_axis and len(ticks) < 3:
        tv = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(x0, x1)
        ticks = [float(t) for t in tv if x0 * (1 - 1e-9) <= t <= x1 * (1 + 1e-9) and t > 0]
    return x0, x1, ticks


def _clip(a, b, y, x0, x1, segs, arrows_l, arrows_r) -> None:
    """The part of [a, b] inside [x0, x1] at height y, with arrowheads where it is cut."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return
    ca, cb = max(a, x0), min(b, x1)
    if ca < cb:
        segs.append([(ca, y), (cb, y)])
    if a < x0 <= b or b < x0:
        arrows_l.append((x0, y))
    if a <= x1 < b or a > x1:
        arrows_r.append((x1, y))


def _direction_note(scale: DisplayScale, larger_better: bool | None, who: str, other: str) -> str:
    """'Odds ratios above 1 favour the treatment over placebo (larger values are better).'"""
    null = _contrast_null(scale)
    plural = _plural(scale.name)
    inc = _increasing(scale)
    if larger_better is None:
        side = "above" if inc else "below"
        return (f"{plural[0].upper()}{plural[1:]} {side} {fmt_tick(null)}: higher values of the outcome with "
                f"{who} than with {other}. The direction of benefit was not given, so no side is marked as favourable.")
    side = "above" if larger_better == inc else "below"
    return (f"{plural[0].upper()}{plural[1:]} {side} {fmt_tick(null)} favour {who} over {other} "
            f"({_direction_words(larger_better)}).")


def forest_vs_reference(
    treatments: Sequence[str],
    estimates,
    ci_low,
    ci_high,
    *,
    reference: str,
    measure: str | None = None,
    transform: str | Callable | None = None,
    pi_low=None,
    pi_high=None,
    sort_by: str | Sequence[str] | None = None,
    larger_better: bool | None = None,
    title: str | None = None,
    level: float = 0.95,
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    note: str | None = None,
    fontsize: float = 9.0,
    panel_width: float = 3.0,
) -> Figure:
    """Forest plot of every treatment versus one reference (a network's summary).

    Parameters
    ----------
    treatments
        Treatment names.  If ``reference`` is among them its entry is dropped (its
        estimate must be 0 or missing: a treatment against itself); otherwise every
        treatment gets a row.
    estimates, ci_low, ci_high
        Treatment versus reference, theta_treatment - theta_reference, on the analysis
        scale (log odds ratio, mean difference...), one value per treatment.  From a league
        matrix (row versus column) that is the column of the reference, ``league[:, r]``
        -- netmeta's ``TE.random[, reference]``.  Missing values (a treatment not connected
        to the reference) give a row that says "not estimable".
    reference
        Name of the comparator of every row.
    measure, transform
        As for :func:`~netgrade.report.plots.forest_plot`: values are shown on the
        measure's natural scale (odds ratios on a logarithmic axis) unless ``transform``
        says otherwise.
    pi_low, pi_high
        Prediction intervals (analysis scale), drawn as thinner grey lines behind the
        confidence intervals, with their own text column.
    sort_by
        ``None`` (order of ``treatments``), ``'estimate'`` (smallest first),
        ``'benefit'`` (most favourable first; needs ``larger_better``), ``'name'``, or a
        sequence of treatment names giving the order.
    larger_better
        Direction of benefit of the outcome: True (larger values are better), False
        (smaller are better) or None (not given; no side is then labelled as favourable).
        Places "Favours treatment" / "Favours <reference>" under the axis, on the right
        sides, and states the direction in a note.
    title, level, digits, xlim, note, fontsize, panel_width
        Title; confidence level of the intervals (for the headers only); decimals;
        axis limits on the displayed scale; free text for the notes; base font size
        (points); width of the plotting panel (inches).

    Returns
    -------
    matplotlib.figure.Figure
        Artists with ids: ``nma-forest-panel``, ``nma-forest-estimates`` (one scatter, one
        point per estimable row, top to bottom), ``nma-forest-ci``, ``nma-forest-pi``,
        ``nma-forest-refline``, ``nma-forest-label-<row>``, ``nma-forest-estimate-<row>``,
        ``nma-forest-pi-text-<row>``, ``favours-left``, ``favours-right``,
        ``nma-forest-caption``, ``nma-forest-note-<j>``, ``nma-forest-title-<j>``.
    """
    names = _names(treatments)
    ref = str(reference)
    n_all = len(names)
    est_all = _vector(estimates, n_all, "estimates")
    lo_all = _vector(ci_low, n_all, "ci_low")
    hi_all = _vector(ci_high, n_all, "ci_high")
    if (pi_low is None) != (pi_high is None):
        raise PlotError("give both pi_low and pi_high, or neither")
    has_pi = pi_low is not None
    if has_pi:
        pil_all = _vector(pi_low, n_all, "pi_low")
        pih_all = _vector(pi_high, n_all, "pi_high")
    if ref in names:
        r = names.index(ref)
        scale_ = max(1.0, float(np.nanmax(np.abs(est_all))) if np.isfinite(est_all).any() else 1.0)
        if math.isfinite(est_all[r]) and abs(est_all[r]) > 1e-9 * scale_:
            raise PlotError(
                f"the estimate of the reference {ref!r} against itself is {est_all[r]!r}, not 0: the values must be "
                "each treatment versus the reference on the analysis scale (the reference's column of a league "
                "table, row versus column)"
            )
        rows = [i for i in range(n_all) if i != r]
    else:
        rows = list(range(n_all))
    if not rows:
        raise PlotError("no treatment to compare with the reference")
    lb = _larger_better(larger_better)
    for i in rows:
        e, a, b = est_all[i], lo_all[i], hi_all[i]
        if all(math.isfinite(v) for v in (e, a, b)) and not (a <= e + 1e-12 * (1 + abs(e)) and e <= b + 1e-12 * (1 + abs(e))):
            raise PlotError(f"{names[i]}: the interval [{a!r}, {b!r}] does not contain the estimate {e!r}")

    # order of the rows
    if sort_by is None:
        order = rows
    elif isinstance(sort_by, str):
        key = sort_by.strip().lower()
        if key == "estimate":
            order = sorted(rows, key=lambda i: (not math.isfinite(est_all[i]), est_all[i] if math.isfinite(est_all[i]) else 0.0, i))
        elif key == "benefit":
            if lb is None:
                raise PlotError("sort_by='benefit' needs larger_better (which values are better)")
            sign = -1.0 if lb else 1.0
            order = sorted(rows, key=lambda i: (not math.isfinite(est_all[i]),
                                                sign * est_all[i] if math.isfinite(est_all[i]) else 0.0, i))
        elif key == "name":
            order = sorted(rows, key=lambda i: (names[i].lower(), i))
        else:
            raise PlotError(f"unknown sort_by {sort_by!r}; choose one of {', '.join(FOREST_SORT)}, a list of "
                            "treatments, or None")
    else:
        wanted = [str(t) for t in sort_by]
        if sorted(wanted) != sorted(names[i] for i in rows):
            raise PlotError("sort_by as a list must name every treatment except the reference, once each")
        order = [names.index(t) for t in wanted]

    scale = display_scale(measure, transform)
    null = _contrast_null(scale)
    inc = _increasing(scale)
    est = scale(est_all[order])
    lo, hi = scale(lo_all[order]), scale(hi_all[order])
    lo, hi = np.fmin(lo, hi), np.fmax(lo, hi)
    if has_pi:
        pil, pih = scale(pil_all[order]), scale(pih_all[order])
        pil, pih = np.fmin(pil, pih), np.fmax(pil, pih)
    else:
        pil = pih = np.full(len(order), np.nan)
    k = len(order)
    log_axis = scale.log_axis
    x0, x1, ticks = _xaxis(np.concatenate([est, lo, hi, pil, pih]), null, log_axis, xlim)

    fs = float(fontsize)
    fs_small = fs - 1.0
    digits = int(digits)
    m = _Measurer()
    lvl = level_pct(float(level))
    labels = [names[i] for i in order]
    labels = ["\n".join(m.wrap(s, fs, 2.6)) if m.width_in(s, fs) > 2.6 else s for s in labels]
    finite = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
    est_text = [f"{fmt_num(e, digits)} [{fmt_num(a, digits)}, {fmt_num(b, digits)}]" if ok else "not estimable"
                for e, a, b, ok in zip(est, lo, hi, finite)]
    pi_text = [f"[{fmt_num(a, digits)}, {fmt_num(b, digits)}]" if math.isfinite(a) and math.isfinite(b) else ""
               for a, b in zip(pil, pih)]
    label_header = "Treatment"
    est_header = f"{scale.abbr} [{lvl}% CI]"
    pi_header = f"{lvl}% PI"

    # favours labels
    favours = None
    if lb is not None:
        left_is_treatment = lb != inc
        favours = ("Favours treatment", f"Favours {ref}") if left_is_treatment else (f"Favours {ref}", "Favours treatment")

    row_h = 0.26
    line_units = _LINE * fs / 72.0 / row_h
    heights = np.array([1.0 + s.count("\n") * line_units for s in labels])
    y_rows = 0.5 + np.cumsum(heights) - heights / 2
    y_top, y_bottom = -0.7, float(y_rows[-1] + heights[-1] / 2) + 0.4

    label_w = max([m.width_in(s, fs) for s in labels] + [m.width_in(label_header, fs, "bold")])
    est_w = max([m.width_in(s, fs) for s in est_text] + [m.width_in(est_header, fs, "bold")])
    pi_w = max([m.width_in(s, fs) for s in pi_text] + [m.width_in(pi_header, fs, "bold")]) if has_pi else 0.0
    gap = 0.22
    x_label = _MARGIN
    x_panel = x_label + label_w + gap
    x_est_right = x_panel + panel_width + gap + est_w
    x_pi_right = x_est_right + (gap + pi_w if has_pi else 0.0)
    fav_w = (2 * max(m.width_in(f, fs_small) for f in favours) + 0.3) if favours else 0.0
    width = max(x_pi_right + _MARGIN, x_panel + fav_w + _MARGIN, 4.0)
    text_w = width - 2 * _MARGIN

    caption = [f"Each row: the treatment versus {ref}."]
    notes = [_direction_note(scale, lb, "the treatment", ref)]
    if has_pi:
        notes.append(f"Thick black lines: {lvl}% confidence intervals; thin grey lines: {lvl}% prediction intervals.")
    if not finite.all():
        notes.append("Not estimable: " + ", ".join(names[order[j]] for j in range(k) if not finite[j])
                     + f" (not connected to {ref} in the network, or no estimate given).")
    if note:
        notes.append(str(note))
    title_par = _wrap(m, [str(title)], fs + 1, text_w) if title else []
    cap_par = _wrap(m, caption, fs, text_w)
    note_par = _wrap(m, notes, fs_small, text_w)
    title_h = _block_height(title_par, fs + 1) if title_par else 0.0
    cap_h = _block_height(cap_par, fs)
    top_h = _MARGIN * 0.6 + title_h + cap_h + 0.05
    table_h = (y_bottom - y_top) * row_h
    axis_h = (3.5 + 3.5 + 8 * 1.25 + (fs_small * 1.3 + 4 if favours else 0) + 4 + fs * 1.3 + 8) / 72.0
    notes_h = _block_height(note_par, fs_small)
    height = top_h + table_h + axis_h + notes_h + _MARGIN

    with style_context():
        fig = new_figure(width, height)
        ax_bottom = (height - top_h - table_h) / height
        tab = fig.add_axes((0.0, ax_bottom, 1.0, table_h / height))
        tab.set_gid("nma-forest-table")
        tab.set_xlim(0.0, width)
        tab.set_ylim(y_bottom, y_top)
        tab.axis("off")
        ax = fig.add_axes((x_panel / width, ax_bottom, panel_width / width, table_h / height), sharey=tab)
        ax.set_gid("nma-forest-panel")
        ax.patch.set_visible(False)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", left=False, labelleft=False)
        if log_axis:
            ax.set_xscale("log")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y_bottom, y_top)
        if log_axis:
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tick(v)))
        ax.set_xlabel(f"{scale.name}, treatment versus {ref}" + (" (log scale)" if log_axis else ""),
                      labelpad=(fs_small * 1.3 + 8) if favours else 4)

        def text(x, y, s, ha="left", weight="normal", gid=None):
            return tab.text(x, y, s, ha=ha, va="center", fontsize=fs, fontweight=weight, color=INK,
                            parse_math=False, gid=gid, clip_on=False)

        text(x_label, 0, label_header, weight="bold")
        text(x_est_right, 0, est_header, ha="right", weight="bold")
        if has_pi:
            text(x_pi_right, 0, pi_header, ha="right", weight="bold")
        tab.add_line(Line2D([_MARGIN, width - _MARGIN], [0.55, 0.55], color=GREY, lw=0.6, gid="nma-forest-rule"))
        for j in range(k):
            text(x_label, y_rows[j], labels[j], gid=f"nma-forest-label-{j}")
            text(x_est_right, y_rows[j], est_text[j], ha="right", gid=f"nma-forest-estimate-{j}")
            if has_pi:
                text(x_pi_right, y_rows[j], pi_text[j], ha="right", gid=f"nma-forest-pi-text-{j}")

        if x0 < null < x1:
            ax.vlines(null, 0.55, y_bottom, colors=GREY, linewidth=0.8, zorder=1, gid="nma-forest-refline")
        arrows_l, arrows_r = [], []
        if has_pi:
            psegs = []
            for a, b, y in zip(pil, pih, y_rows):
                _clip(a, b, y, x0, x1, psegs, arrows_l, arrows_r)
            ax.add_collection(LineCollection(psegs, colors="#9a9a9a", linewidths=0.9, zorder=2, gid="nma-forest-pi"),
                              autolim=False)
        segs = []
        for a, b, y in zip(lo, hi, y_rows):
            _clip(a, b, y, x0, x1, segs, arrows_l, arrows_r)
        ax.add_collection(LineCollection(segs, colors=INK, linewidths=1.6, zorder=3, gid="nma-forest-ci"),
                          autolim=False)
        inside = finite & (est >= x0) & (est <= x1)
        ax.scatter(est[inside], y_rows[inside], s=(0.42 * row_h * 72.0) ** 2, marker="s", color=INK, linewidths=0,
                   zorder=4, gid="nma-forest-estimates")
        for pts, marker, gid in ((arrows_l, _ARROW_LEFT, "nma-forest-arrows-left"),
                                 (arrows_r, _ARROW_RIGHT, "nma-forest-arrows-right")):
            if pts:
                xs, ys = zip(*pts)
                ax.scatter(xs, ys, marker=marker, s=36, color=INK, linewidths=0, clip_on=False, zorder=5, gid=gid)
        if favours is not None:
            xf = null if x0 < null < x1 else (math.sqrt(x0 * x1) if log_axis else (x0 + x1) / 2)
            off = 3.5 + 3.5 + 8 * 1.25 + 3
            for s, ha, dx, gid in ((favours[0], "right", -5, "favours-left"), (favours[1], "left", 5, "favours-right")):
                ax.annotate(s, xy=(xf, 0), xycoords=("data", "axes fraction"), xytext=(dx, -off),
                            textcoords="offset points", ha=ha, va="top", fontsize=fs_small, color=INK,
                            parse_math=False, gid=gid, annotation_clip=False)

        y = _draw_block(fig, title_par, _MARGIN, height - _MARGIN * 0.6, width, height, fs + 1, "nma-forest-title",
                        "bold")
        for p in cap_par:
            fig.text(_MARGIN / width, y / height, p, ha="left", va="top", fontsize=fs, color=INK,
                     linespacing=_LINE / 1.2, parse_math=False, gid="nma-forest-caption")
        _draw_block(fig, note_par, _MARGIN, _MARGIN + notes_h, width, height, fs_small, "nma-forest-note")
    return fig


# =======================================================================================
# league table

#: ``triangle`` choices of the league table: every cell, or only one half of it
TRIANGLES = ("both", "lower", "upper")


def league_caption(measure: str | None = None, transform: str | Callable | None = None,
                   larger_better: bool | None = None) -> str:
    """The sentence that states a league table's orientation, e.g. "Each cell: row
    treatment versus column treatment (OR < 1 favours the row treatment)."  Put it on
    every rendering of the table (figure, HTML, spreadsheet)."""
    scale = display_scale(measure, transform)
    lb = _larger_better(larger_better)
    inc = _increasing(scale)
    null = fmt_tick(_contrast_null(scale))
    head = "Each cell: row treatment versus column treatment"
    if lb is None:
        op = ">" if inc else "<"
        return (f"{head} ({scale.abbr} {op} {null}: higher values with the row treatment; "
                "the direction of benefit was not given).")
    op = ">" if lb == inc else "<"
    return f"{head} ({scale.abbr} {op} {null} favours the row treatment; {_direction_words(lb)})."


def _league(treatments, est, ci_low, ci_high, measure, transform, digits, triangle):
    """Validated league matrices and their display strings (shared by table and figure)."""
    names = _names(treatments)
    T = len(names)
    if T < 2:
        raise PlotError("a league table needs at least two treatments")
    E = _square(est, T, "est")
    Lo = _square(ci_low, T, "ci_low")
    Hi = _square(ci_high, T, "ci_high")
    tri = str(triangle).strip().lower()
    if tri not in TRIANGLES:
        raise PlotError(f"unknown triangle {triangle!r}; choose one of {', '.join(TRIANGLES)}")
    off = ~np.eye(T, dtype=bool)
    both = off & np.isfinite(E) & np.isfinite(E.T)
    tol = 1e-6 * max(1.0, float(np.nanmax(np.abs(np.where(off, E, np.nan)))) if np.isfinite(E[off]).any() else 1.0)
    bad = both & (np.abs(E + E.T) > tol)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise PlotError(
            f"est is not a league matrix on the analysis scale: est[{i}][{j}] = {E[i, j]!r} ({names[i]} vs {names[j]}) "
            f"but est[{j}][{i}] = {E[j, i]!r}; entry [i][j] must be theta_i - theta_j, so that [j][i] = -[i][j] "
            "(ratios must be given as logarithms; transform= shows them on the natural scale)"
        )
    for i, j in np.argwhere(off & np.isfinite(E) & np.isfinite(Lo) & np.isfinite(Hi)):
        e = E[i, j]
        if not (Lo[i, j] <= e + 1e-9 * (1 + abs(e)) and e <= Hi[i, j] + 1e-9 * (1 + abs(e))):
            raise PlotError(f"{names[i]} vs {names[j]}: the interval [{Lo[i, j]!r}, {Hi[i, j]!r}] does not contain "
                            f"the estimate {e!r}")
    scale = display_scale(measure, transform)
    e_d = scale(E)
    a_d, b_d = scale(Lo), scale(Hi)
    a_d, b_d = np.fmin(a_d, b_d), np.fmax(a_d, b_d)
    show = off.copy()
    if tri == "lower":
        show &= np.tril(np.ones((T, T), dtype=bool), -1)
    elif tri == "upper":
        show &= np.triu(np.ones((T, T), dtype=bool), 1)
    finite = np.isfinite(E) & np.isfinite(Lo) & np.isfinite(Hi)
    sig = finite & ((Lo > 0) | (Hi < 0))
    est_s = np.full((T, T), "", dtype=object)
    ci_s = np.full((T, T), "", dtype=object)
    d = int(digits)
    for i in range(T):
        for j in range(T):
            if i == j or not show[i, j]:
                continue
            if np.isfinite(e_d[i, j]):
                est_s[i, j] = fmt_num(e_d[i, j], d)
                if np.isfinite(a_d[i, j]) and np.isfinite(b_d[i, j]):
                    ci_s[i, j] = f"({fmt_num(a_d[i, j], d)} to {fmt_num(b_d[i, j], d)})"
            else:
                est_s[i, j] = "NA"
    return names, E, scale, est_s, ci_s, show, sig


def league_table_frame(
    treatments: Sequence[str],
    est,
    ci_low,
    ci_high,
    *,
    measure: str | None = None,
    transform: str | Callable | None = None,
    digits: int = 2,
    triangle: str = "both",
    larger_better: bool | None = None,
) -> pd.DataFrame:
    """League table as text: cell ``[i][j]`` is treatment ``i`` (row) versus treatment
    ``j`` (column), e.g. ``"0.45 (0.30 to 0.67)"``, with the treatment names on the
    diagonal.

    ``est``, ``ci_low`` and ``ci_high`` are T x T matrices on the analysis scale
    (theta_i - theta_j; netmeta's ``TE.random``, ``lower.random``, ``upper.random``); the
    diagonal is ignored.  They are checked to be a league matrix (``est[j][i] ==
    -est[i][j]``), which catches natural-scale values passed by mistake.  ``measure`` /
    ``transform`` choose the displayed scale as in the forest plot (default: the natural
    scale, odds ratios for OR).  ``triangle`` keeps every cell (``'both'``) or only the
    cells below (``'lower'``, i > j) or above (``'upper'``, i < j) the diagonal, the others
    left empty; the orientation of a cell never changes.  Missing estimates read "NA".

    The frame's index and columns are the treatments; the index is named "row versus
    column" and ``frame.attrs['caption']`` holds :func:`league_caption`, to be printed with
    the table.
    """
    names, _E, _scale, est_s, ci_s, show, _sig = _league(treatments, est, ci_low, ci_high, measure, transform,
                                                         digits, triangle)
    T = len(names)
    cells = [[names[i] if i == j else (f"{est_s[i, j]} {ci_s[i, j]}".strip() if show[i, j] else "")
              for j in range(T)] for i in range(T)]
    frame = pd.DataFrame(cells, index=pd.Index(names, name="row versus column"), columns=list(names))
    frame.attrs["caption"] = league_caption(measure, transform, larger_better)
    return frame


def _diverging(lb: bool | None):
    """Colour-blind safe diverging maps (ColorBrewer): blue where the row treatment is
    better, red where it is worse; purple/orange when the direction is not known."""
    if lb is None:
        return colormaps["PuOr"]
    return colormaps["RdBu"] if lb else colormaps["RdBu_r"]


def league_heatmap(
    treatments: Sequence[str],
    est,
    ci_low,
    ci_high,
    *,
    measure: str | None = None,
    transform: str | Callable | None = None,
    larger_better: bool | None = None,
    digits: int = 2,
    title: str | None = None,
    triangle: str = "both",
    level: float = 0.95,
    note: str | None = None,
    max_width: float = 15.0,
) -> Figure:
    """League table as a coloured T x T grid.

    Each off-diagonal cell ``[i][j]`` holds treatment ``i`` (row) versus treatment ``j``
    (column) -- estimate over its interval, on the displayed scale -- and the diagonal
    holds the treatment names (bold, on grey).  Arguments as for
    :func:`league_table_frame`; the texts are the same (on two lines).

    Colour shows the size of the effect on the analysis scale, in a diverging colour-blind
    safe map centred at no effect and symmetric (log odds ratio +/- the largest one), with
    a colour bar on the natural scale.  With ``larger_better`` given, blue cells favour the
    row treatment and red cells the column treatment, and the bar's ends say so; without
    it the map is purple/orange, which implies no value.  Cells whose ``level`` interval
    excludes no effect are in bold.  The orientation is stated on the figure, above the
    grid (:func:`league_caption`).

    Up to about 25 treatments fit: the font shrinks (down to 4 points) to keep the grid
    within ``max_width`` inches (25 treatments take about 4.3 points in 15 inches: a
    figure to zoom into, as SVG or PDF); longer names wrap, or shrink further.

    Returns
    -------
    matplotlib.figure.Figure
        Artists with ids: ``league-grid`` (the axes), ``league-cells`` (one collection of
        T x T rectangles, row by row), ``league-cell-<i>-<j>`` (the text of each cell; the
        name on the diagonal), ``league-caption``, ``league-colourbar``,
        ``league-favours-left``, ``league-favours-right``, ``league-note-<j>``,
        ``league-title-<j>``.
    """
    names, E, scale, est_s, ci_s, show, sig = _league(treatments, est, ci_low, ci_high, measure, transform,
                                                      digits, triangle)
    T = len(names)
    lb = _larger_better(larger_better)
    m = _Measurer()
    lvl = level_pct(float(level))

    # DejaVu Sans has digits of one width: measuring each text's shape (digits as 0) gives
    # the widths of hundreds of cells from a handful of measurements
    shapes = sorted({re.sub(r"\d", "0", str(x)) for x in list(est_s[show]) + list(ci_s[show])})

    def geometry(fs: float):
        pad_w, pad_h = 0.0175 * fs, 0.015 * fs  # 0.14 and 0.12 inches at 8 points
        w = max([m.width_in(x, fs, "bold") for x in shapes] + [m.width_in("0.00 (0.00 to 0.00)", fs) * 0.6])
        cw = w + pad_w
        name_lines, name_fs = [], []
        for t in names:
            lines = m.wrap(t, fs, cw - 0.08)
            widest = max(m.width_in(s, fs, "bold") for s in lines)
            f = fs if widest <= cw - 0.08 else max(4.0, fs * (cw - 0.08) / widest)
            name_lines.append("\n".join(lines))
            name_fs.append(f)
        n_lines = max([2] + [s.count("\n") + 1 for s in name_lines])
        ch = n_lines * fs * _LINE / 72.0 + pad_h
        return cw, ch, name_lines, name_fs

    fs = 8.0
    cw, ch, name_lines, name_fs = geometry(fs)
    if T * cw > max_width:  # every width scales with the font
        fs = max(4.0, fs * max_width / (T * cw))
        cw, ch, name_lines, name_fs = geometry(fs)
    fs_small = max(fs - 0.5, 6.5)
    grid_w, grid_h = T * cw, T * ch
    width = max(grid_w + 2 * _MARGIN, 5.0)
    text_w = width - 2 * _MARGIN

    # colours
    cmap = _diverging(lb)
    offvals = E[show & np.isfinite(E)]
    vmax = float(np.max(np.abs(offvals))) if offvals.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    norm = Normalize(-vmax, vmax)
    diag_colour, blank_colour, na_colour = "#e3e3e3", "white", "#f2f2f2"
    faces = []
    for i in range(T):
        for j in range(T):
            if i == j:
                faces.append(diag_colour)
            elif not show[i, j]:
                faces.append(blank_colour)
            elif not np.isfinite(E[i, j]):
                faces.append(na_colour)
            else:
                faces.append(cmap(norm(E[i, j])))

    caption = league_caption(measure, transform, lb)
    null = fmt_tick(_contrast_null(scale))
    notes = [f"Bold: the {lvl}% interval excludes no effect ({scale.abbr} = {null})."]
    if (show & ~np.isfinite(E)).any():
        notes.append("NA: no estimate (e.g. treatments in sub-networks that are not connected).")
    if note:
        notes.append(str(note))
    title_par = _wrap(m, [str(title)], 10.0, text_w) if title else []
    cap_par = _wrap(m, [caption], 9.0, text_w)
    note_par = _wrap(m, notes, fs_small, text_w)
    title_h = _block_height(title_par, 10.0) if title_par else 0.0
    cap_h = _block_height(cap_par, 9.0)
    bar_h = 0.12
    bar_block = 0.2 + bar_h + (3.5 + 8 * 1.3 + 4 + 8 * 1.3) / 72.0 + (8 * 1.3 / 72.0 if lb is not None else 0.0) + 0.1
    notes_h = _block_height(note_par, fs_small)
    top = _MARGIN + title_h + cap_h + 0.08
    height = top + grid_h + bar_block + notes_h + _MARGIN

    with style_context():
        fig = new_figure(width, height)
        gx = _MARGIN
        gy = height - top - grid_h
        ax = fig.add_axes((gx / width, gy / height, grid_w / width, grid_h / height))
        ax.set_gid("league-grid")
        ax.set_xlim(0, T)
        ax.set_ylim(T, 0)
        ax.axis("off")
        rects = [Rectangle((j, i), 1, 1) for i in range(T) for j in range(T)]
        ax.add_collection(PatchCollection(rects, facecolors=faces, edgecolors="white", linewidths=1.0,
                                          gid="league-cells"))
        k = 0
        for i in range(T):
            for j in range(T):
                face = faces[k]
                k += 1
                if i == j:
                    ax.text(j + 0.5, i + 0.5, name_lines[i], ha="center", va="center", fontsize=name_fs[i],
                            fontweight="bold", color=INK, linespacing=_LINE / 1.2, parse_math=False,
                            gid=f"league-cell-{i}-{j}")
                    continue
                s = f"{est_s[i, j]}\n{ci_s[i, j]}" if ci_s[i, j] else est_s[i, j]
                ax.text(j + 0.5, i + 0.5, s, ha="center", va="center", fontsize=fs,
                        fontweight="bold" if sig[i, j] and show[i, j] else "normal",
                        color=_text_colour(face), linespacing=_LINE / 1.2, parse_math=False,
                        gid=f"league-cell-{i}-{j}")

        # colour bar on the natural scale
        bar_w = min(3.2, max(grid_w, 2.4))
        by = gy - 0.2 - bar_h
        cax = fig.add_axes((gx / width, by / height, bar_w / width, bar_h / height))
        cax.set_gid("league-colourbar")
        cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
        cb.outline.set_linewidth(0.5)
        if scale.kind == "exp":
            lo_n, hi_n = math.exp(-vmax), math.exp(vmax)
            ticks = log_ticks(lo_n, hi_n, expand=False, max_ticks=7)[0]
            if len(ticks) < 3:  # a narrow range: evenly spaced natural values
                ticks = [float(t) for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(lo_n, hi_n)
                         if lo_n * (1 - 1e-9) <= t <= hi_n * (1 + 1e-9) and t > 0]
            pos = [math.log(t) for t in ticks]
            labels = [fmt_tick(float(f"{t:.3g}")) for t in ticks]
        else:
            pos = [float(p) for p in MaxNLocator(nbins=6, symmetric=True).tick_values(-vmax, vmax)
                   if -vmax - 1e-12 <= p <= vmax + 1e-12]
            labels = [fmt_tick(float(f"{float(scale(p)):.3g}")) for p in pos]
        cb.set_ticks(pos)
        cb.set_ticklabels(labels)
        cb.ax.tick_params(labelsize=7.5, length=3)
        cb.ax.xaxis.set_minor_locator(NullLocator())
        cb.set_label(f"{scale.name}, row versus column" + (" (log scale)" if scale.kind == "exp" else ""),
                     fontsize=8.0)
        if lb is not None:
            right_row = lb  # positive analysis values (right) mean the row treatment is better iff larger is better
            left_s, right_s = ("Favours column", "Favours row") if right_row else ("Favours row", "Favours column")
            yf = (by - (3.5 + 8 * 1.3 + 4 + 8 * 1.3) / 72.0 - 0.04) / height
            fig.text(gx / width, yf, "\u2190 " + left_s, ha="left", va="top", fontsize=7.5, color=INK,
                     parse_math=False, gid="league-favours-left")
            fig.text((gx + bar_w) / width, yf, right_s + " \u2192", ha="right", va="top", fontsize=7.5, color=INK,
                     parse_math=False, gid="league-favours-right")

        y = _draw_block(fig, title_par, _MARGIN, height - _MARGIN, width, height, 10.0, "league-title", "bold")
        for p in cap_par:
            fig.text(_MARGIN / width, y / height, p, ha="left", va="top", fontsize=9.0, color=INK,
                     linespacing=_LINE / 1.2, parse_math=False, gid="league-caption")
        _draw_block(fig, note_par, _MARGIN, _MARGIN + notes_h, width, height, fs_small, "league-note")
    return fig


# =======================================================================================
# rankogram


def rankogram(
    treatments: Sequence[str],
    rank_probs,
    *,
    sucra: Mapping[str, float] | Sequence[float] | None = None,
    larger_better: bool | None = None,
    title: str | None = None,
    cumulative: bool = False,
    sort_by: str | None = None,
    ncols: int | None = None,
    note: str | None = None,
) -> Figure:
    """Rank probabilities as small multiples: one panel per treatment, a bar per rank.

    Parameters
    ----------
    treatments
        Treatment names.
    rank_probs
        T x T array: row = treatment, column = rank 1..T (rank 1 = best), each row a
        probability distribution (rows must sum to 1 within 0.02, allowing for rounded
        published values).
    sucra
        SUCRA (surface under the cumulative ranking curve, 0 to 1) per treatment, as a
        mapping or a sequence in the order of ``treatments``: shown in the panel titles.
    larger_better
        Direction of benefit used for the ranking; stated in a note ("Rank 1 = best;
        larger values are better").  Rankings that ignore "smaller is better" invert the
        ranks, so pass it whenever it is known.
    title
        Title above the panels.
    cumulative
        Add the cumulative probability of being ranked r or better (a line; its area,
        rescaled, is the SUCRA).
    sort_by
        ``None`` (order of ``treatments``) or ``'sucra'`` (highest first; needs ``sucra``).
    ncols
        Panels per row (default: about the square root of T, at most 6).
    note
        Free text added to the notes.

    Returns
    -------
    matplotlib.figure.Figure
        Artists with ids, ``<i>`` being the treatment's index in ``treatments`` (not the
        panel position): ``rankogram-panel-<i>`` (axes), ``rankogram-bar-<i>-<r>`` (bar of
        rank r = 1..T), ``rankogram-cumulative-<i>``, ``rankogram-title-<i>``,
        ``rankogram-note-<j>``, ``rankogram-figtitle-<j>``.
    """
    names = _names(treatments)
    T = len(names)
    if T < 2:
        raise PlotError("ranking needs at least two treatments")
    P = _square(rank_probs, T, "rank_probs")
    if not np.all(np.isfinite(P)):
        raise PlotError("rank_probs has missing or infinite values")
    if (P < -1e-9).any() or (P > 1 + 1e-9).any():
        raise PlotError("rank_probs must hold probabilities (between 0 and 1)")
    sums = P.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 0.02)
    if bad.size:
        i = int(bad[0])
        raise PlotError(
            f"rank_probs row {i} ({names[i]}) sums to {sums[i]:.4g}, not 1: each row must be one treatment's "
            "probabilities of ranks 1..T (rows = treatments, columns = ranks)"
        )
    lb = _larger_better(larger_better)
    s_vals = None
    if sucra is not None:
        if isinstance(sucra, Mapping):
            missing = [t for t in names if t not in {str(k) for k in sucra}]
            if missing:
                raise PlotError(f"sucra has no value for: {', '.join(missing)}")
            lookup = {str(k): v for k, v in sucra.items()}
            s_vals = np.array([float(lookup[t]) for t in names])
        else:
            s_vals = _vector(sucra, T, "sucra")
        if not np.all((s_vals >= -1e-9) & (s_vals <= 1 + 1e-9)):
            raise PlotError("sucra values must lie between 0 and 1 (give percentages divided by 100)")
    if sort_by is None:
        order = list(range(T))
    elif str(sort_by).strip().lower() == "sucra":
        if s_vals is None:
            raise PlotError("sort_by='sucra' needs sucra")
        order = sorted(range(T), key=lambda i: (-s_vals[i], i))
    else:
        raise PlotError(f"unknown sort_by {sort_by!r}; choose 'sucra' or None")

    nc = int(ncols) if ncols is not None else min(6, max(1, math.ceil(math.sqrt(T))))
    if nc < 1:
        raise PlotError("ncols must be at least 1")
    nr = math.ceil(T / nc)
    m = _Measurer()
    fs = 8.0
    pw, ph = 1.55, 1.05  # panel size (inches)
    title_lines = []
    for i in range(T):
        head = "\n".join(m.wrap(names[i], fs, pw))
        if s_vals is not None:
            head += f"\nSUCRA {100 * s_vals[i]:.1f}%"
        title_lines.append(head)
    t_h = max(s.count("\n") + 1 for s in title_lines) * fs * _LINE / 72.0 + 0.06
    gap_x, gap_y = 0.3, 0.38  # room for the tick labels and the rank axis label
    left = _MARGIN + 0.35
    width = left + nc * pw + (nc - 1) * gap_x + _MARGIN
    text_w = width - 2 * _MARGIN
    notes = []
    if lb is None:
        notes.append("Rank 1 = best. The direction of benefit was not given: check that the ranks were computed "
                     "with the outcome's direction (a ranking that ignores 'smaller is better' is inverted).")
    else:
        notes.append(f"Rank 1 = best ({_direction_words(lb)}).")
    notes.append("Bars: probability of each rank" + ("; line: probability of that rank or better (cumulative)."
                                                      if cumulative else "."))
    if s_vals is not None:
        notes.append("SUCRA: surface under the cumulative ranking curve (100% = certainly the best, 0% = certainly "
                     "the worst).")
    if note:
        notes.append(str(note))
    title_par = _wrap(m, [str(title)], 10.0, text_w) if title else []
    note_par = _wrap(m, notes, 7.5, text_w)
    title_h = _block_height(title_par, 10.0) + (0.06 if title_par else 0.0)
    notes_h = _block_height(note_par, 7.5)
    cell_h = t_h + ph + gap_y
    height = _MARGIN + title_h + nr * cell_h + 0.05 + notes_h + _MARGIN
    ranks = np.arange(1, T + 1)
    step = max(1, math.ceil(T / 6))
    xticks = [1] + [int(r) for r in ranks if r > 1 and r % step == 0]

    with style_context():
        fig = new_figure(width, height)
        y_top = height - _MARGIN - title_h
        for p, i in enumerate(order):
            r, c = divmod(p, nc)
            x0 = left + c * (pw + gap_x)
            y0 = y_top - r * cell_h - t_h - ph
            ax = fig.add_axes((x0 / width, y0 / height, pw / width, ph / height))
            ax.set_gid(f"rankogram-panel-{i}")
            bars = ax.bar(ranks, P[i], width=0.8, color=NODE_COLOUR, linewidth=0)
            for rk, bar in zip(ranks, bars):
                bar.set_gid(f"rankogram-bar-{i}-{rk}")
            if cumulative:
                ax.plot(ranks, np.cumsum(P[i]), color=INK, linewidth=1.0, marker="o", markersize=2.0,
                        gid=f"rankogram-cumulative-{i}")
            ax.set_xlim(0.4, T + 0.6)
            ax.set_ylim(0.0, 1.0)
            ax.set_yticks([0.0, 0.5, 1.0])
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tick(v)))
            ax.set_xticks(xticks)
            ax.tick_params(labelsize=7.0, length=2.5)
            ax.tick_params(axis="y", labelleft=(c == 0))
            for side in ("right", "top"):
                ax.spines[side].set_visible(False)
            ax.grid(False)
            last_row = r == nr - 1 or (p + nc >= T)
            if last_row:
                ax.set_xlabel("Rank", fontsize=7.5, labelpad=1.5)
            if c == 0:
                ax.set_ylabel("Probability", fontsize=7.5, labelpad=2)
            tt = ax.set_title(title_lines[i], fontsize=fs, loc="left", pad=3, color=INK)
            tt.set_gid(f"rankogram-title-{i}")
        _draw_block(fig, title_par, _MARGIN, height - _MARGIN, width, height, 10.0, "rankogram-figtitle", "bold")
        _draw_block(fig, note_par, _MARGIN, _MARGIN + notes_h, width, height, 7.5, "rankogram-note")
    return fig
