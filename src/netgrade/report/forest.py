"""Forest plots of pairwise meta-analyses and meta-regressions.

The layout follows the conventions of the Cochrane Handbook (ch. 10.11) and of metafor's
``forest.rma``: one row per study with its label, a square whose area is proportional to
the study's weight in the model and the study's confidence interval; text columns with the
estimate and interval on the displayed scale and the weight; the pooled estimate as a
diamond spanning its confidence interval; the prediction interval of a random-effects
model under the diamond (Riley, Higgins & Deeks 2011, BMJ 342:d549); heterogeneity
statistics and the test for the overall effect below the axis.  Risk-of-bias judgements
can be added as traffic-light columns (McGuinness & Higgins 2021, Res Synth Methods
12:55, robvis), in a colour-blind safe palette with redundant +/?/- marks.

The figure is laid out in inches before anything is drawn: column widths are measured
from the text they hold, and the height grows with the number of studies, so that long
labels and k = 100 work without overlaps or squeezed rows.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator
from scipy import stats

from ._figure import (
    GREY,
    INK,
    PlotError,
    TextMeasurer,
    display_scale,
    fmt_num,
    fmt_p,
    fmt_stat,
    fmt_tick,
    level_pct,
    log_ticks,
    new_figure,
    style_context,
)

__all__ = ["forest_plot", "DEFAULT_FAVOURS", "ROB_COLOURS", "normalise_rob"]

DEFAULT_FAVOURS = ("Favours treatment", "Favours control")
SORT_KEYS = ("estimate", "weight", "precision")

# Risk of bias: Okabe & Ito's colour-blind safe palette (bluish green, yellow,
# vermillion), with a mark in each circle so that the judgement survives greyscale print.
ROB_COLOURS = {"low": "#009E73", "some": "#F0E442", "high": "#D55E00", "none": "#FFFFFF"}
ROB_MARKS = {"low": ("+", "white"), "some": ("?", INK), "high": ("\u2212", "white"), "none": ("", INK)}
ROB_LABELS = {
    "low": "Low risk of bias (+)",
    "some": "Some concerns (?)",
    "high": "High risk of bias (\u2212)",
    "none": "No information",
}
_ROB_ALIASES = {
    "low": "low",
    "low risk": "low",
    "low risk of bias": "low",
    "+": "low",
    "some concerns": "some",
    "some concern": "some",
    "some": "some",
    "unclear": "some",
    "unclear risk": "some",
    "moderate": "some",
    "?": "some",
    "high": "high",
    "high risk": "high",
    "high risk of bias": "high",
    "-": "high",
    "\u2212": "high",
    "no information": "none",
    "not assessed": "none",
    "ni": "none",
    "": "none",
}

# Arrowheads for intervals cut at the axis limits: filled triangles whose tip is at the
# marker's origin, so that the tip sits exactly on the limit.
_ARROW_RIGHT = MplPath([(-1.0, 0.55), (0.0, 0.0), (-1.0, -0.55), (-1.0, 0.55)], closed=True)
_ARROW_LEFT = MplPath([(1.0, 0.55), (0.0, 0.0), (1.0, -0.55), (1.0, 0.55)], closed=True)


def normalise_rob(value) -> str:
    """Map a risk-of-bias judgement to 'low', 'some', 'high' or 'none' (no information).

    Accepts RoB 2 wording (low / some concerns / high), RoB 1 wording (low / unclear /
    high risk) and the symbols + ? -; missing values mean no information.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "none"
    key = " ".join(str(value).strip().lower().split())
    if key in _ROB_ALIASES:
        return _ROB_ALIASES[key]
    raise PlotError(
        f"unknown risk-of-bias judgement {value!r}; use low, some concerns or high "
        "(or unclear, +, ?, -; leave empty for no information)"
    )


def _is_pooled(res) -> bool:
    """A pooled estimate exists for an intercept-only model (not for meta-regression)."""
    return int(res.X.shape[1]) == 1 and bool(res.intercept)


def _order(res, sort_by: str | None) -> np.ndarray:
    k = res.k
    if sort_by is None:
        return np.arange(k)
    key = str(sort_by).lower()
    # Stable sorts: ties keep the input order, so the figure is the same on every run.
    if key == "estimate":
        return np.argsort(np.asarray(res.yi), kind="stable")
    if key == "weight":
        return np.argsort(-np.asarray(res.weights), kind="stable")
    if key == "precision":
        return np.argsort(np.asarray(res.vi), kind="stable")
    raise PlotError(f"unknown sort_by {sort_by!r}; choose one of {', '.join(SORT_KEYS)} or None")


def _direction(direction: str | None) -> str | None:
    if direction is None:
        return None
    d = str(direction).strip().lower()
    if d in ("lower", "smaller", "lower is better", "smaller is better"):
        return "lower"
    if d in ("higher", "larger", "higher is better", "larger is better"):
        return "higher"
    raise PlotError(f"direction must be 'lower' or 'higher' (which values are better), not {direction!r}")


def _heterogeneity_lines(res, pooled: bool) -> list[str]:
    lines = []
    prefix = "Heterogeneity" if pooled else "Residual heterogeneity"
    if res.q_df < 1 or not math.isfinite(res.q):
        lines.append(f"{prefix}: not estimable ({res.k} {'study' if res.k == 1 else 'studies'}, "
                     f"{res.q_df} degrees of freedom)")
    else:
        parts = []
        if res.is_random:
            parts.append(f"\u03c4\u00b2 = {fmt_stat(res.tau2)}")
        if math.isfinite(res.i2):
            parts.append(f"I\u00b2 = {res.i2:.0f}%")
        q = "QE" if not pooled else "Q"
        parts.append(f"{q} = {fmt_num(res.q, 2)}, df = {res.q_df}, {fmt_p(res.q_pval)}")
        lines.append(f"{prefix}: " + "; ".join(parts))
    if pooled:
        stat = "t" if res.ddf is not None else "z"
        df = f", df = {res.ddf}" if res.ddf is not None else ""
        lines.append(f"Test for overall effect: {stat} = {fmt_num(res.stat, 2)}{df}, {fmt_p(res.pval)}")
    elif math.isfinite(res.qm):
        m, ddf = res.qm_df
        if ddf is None:
            lines.append(f"Test of moderators: QM = {fmt_num(res.qm, 2)}, df = {m}, {fmt_p(res.qm_pval)}")
        else:
            lines.append(f"Test of moderators: F = {fmt_num(res.qm, 2)}, df = {m}, {ddf}, {fmt_p(res.qm_pval)}")
    return lines


def _model_label(res) -> str:
    if not res.is_random:
        return "Common-effect model"
    extra = ", Hartung\u2013Knapp" if res.test in ("knha", "adhoc") else ""
    return f"Random-effects model ({res.method}{extra})"


def _rob_matrix(risk_of_bias: pd.DataFrame, studies: Sequence[str]):
    """Judgements as a (k x columns) array of 'low'/'some'/'high'/'none', the column
    headers, the key of abbreviated domain names, and the studies without a row."""
    if not isinstance(risk_of_bias, pd.DataFrame):
        raise PlotError("risk_of_bias must be a pandas DataFrame indexed by study")
    if risk_of_bias.shape[1] == 0:
        raise PlotError("risk_of_bias has no columns (one per domain, plus optional 'overall')")
    index = [str(s) for s in risk_of_bias.index]
    if len(set(index)) != len(index):
        dup = sorted({s for s in index if index.count(s) > 1})
        raise PlotError(f"risk_of_bias has more than one row for: {', '.join(dup)}")
    if not set(index) & set(studies):
        raise PlotError(
            "risk_of_bias is indexed by study, but none of its rows is a study of this analysis "
            f"(first rows: {', '.join(index[:3])}; first studies: {', '.join(list(studies)[:3])})"
        )
    cols = [c for c in risk_of_bias.columns if str(c).strip().lower() != "overall"]
    overall = [c for c in risk_of_bias.columns if str(c).strip().lower() == "overall"]
    if len(overall) > 1:
        raise PlotError("risk_of_bias has more than one 'overall' column")
    short = all(len(str(c)) <= 3 for c in cols)
    headers = [str(c) for c in cols] if short else [f"D{j + 1}" for j in range(len(cols))]
    key = [] if short else [f"D{j + 1}, {c}" for j, c in enumerate(cols)]
    columns = cols + overall
    headers = headers + (["Overall"] if overall else [])
    frame = risk_of_bias.copy()
    frame.index = index
    missing = [s for s in studies if s not in frame.index]
    judgements = np.empty((len(studies), len(columns)), dtype=object)
    for i, s in enumerate(studies):
        for j, c in enumerate(columns):
            if s not in frame.index:
                judgements[i, j] = "none"
                continue
            try:
                judgements[i, j] = normalise_rob(frame.at[s, c])
            except PlotError as exc:
                raise PlotError(f"risk_of_bias, study {s!r}, column {c!r}: {exc}") from None
    return judgements, headers, key, missing, bool(overall)


def forest_plot(
    res,
    *,
    transform: str | Callable | None = None,
    labels: Sequence[str] | None = None,
    sort_by: str | None = None,
    show_weights: bool = True,
    show_prediction: bool = True,
    risk_of_bias: pd.DataFrame | None = None,
    xlim: tuple[float, float] | None = None,
    ref_line: float | bool | None = None,
    favours: tuple[str, str] | None = DEFAULT_FAVOURS,
    title: str | None = None,
    direction: str | None = None,
    note: str | None = None,
    digits: int = 2,
    fontsize: float = 9.0,
    panel_width: float = 3.2,
    row_height: float = 0.24,
    max_label_width: float | None = 3.0,
) -> Figure:
    """Forest plot of a fitted pairwise model (:class:`~netgrade.pairwise.RMAResult`).

    Parameters
    ----------
    res
        The fit.  For an intercept-only model the pooled estimate is drawn as a diamond
        (and, for random-effects models, the prediction interval under it); for a
        meta-regression only the study rows are drawn, with a note saying why.
    transform
        Scale of the display.  ``None`` (default): the measure's natural scale (risk ratio
        for RR, proportion for PLO...); ``'identity'``: the analysis scale (log risk
        ratio...); a transformation name (``'exp'``, ``'ilogit'``...), a measure name, or a
        function.  Ratio measures shown on the natural scale get a logarithmic axis with
        natural-scale tick labels (0.5, 1, 2...), so that intervals look symmetric.
    labels
        Study labels in the order of the fit (default: ``res.studies``).  Labels are shown
        verbatim (no mathtext: ``$`` and ``_`` are ordinary characters).
    sort_by
        ``None`` (input order), ``'estimate'`` (smallest first), ``'weight'`` (largest
        first) or ``'precision'`` (most precise, i.e. smallest variance, first).
    show_weights
        Add the column of weights (percent of the model's total weight).
    show_prediction
        Draw the prediction interval of a random-effects model under the diamond.
    risk_of_bias
        A DataFrame indexed by study (the names in ``res.studies``) with one column per
        domain and optionally an ``'overall'`` column; values low / some concerns / high
        (RoB 1's "unclear" counts as some concerns; empty cells mean no information).
        Drawn as traffic-light columns with a legend; domain names longer than three
        characters are shown as D1, D2... with a key below the figure.
    xlim
        Axis limits on the displayed scale (e.g. ``(0.1, 10)`` for a risk ratio).
        Intervals reaching beyond them are cut and end in an arrowhead.  Default: wide
        enough for every interval, extended outwards to the next labelled tick.
    ref_line
        Position of the line of no effect on the displayed scale.  Default 1 for ratio
        measures, 0 for differences, none for single-group measures (proportions, means);
        ``False`` removes it.
    favours
        Labels (left, right) under the axis, on either side of the line of no effect, or
        ``None``.  The default ("Favours treatment", "Favours control") suits outcomes for
        which lower values are better; with ``direction='higher'`` the default is swapped.
        Single-group measures (proportions, means) get no default labels.
    title
        Title above the figure.
    direction
        ``'lower'`` or ``'higher'``: which values of the outcome are better.  Adds a note
        ("Smaller values are better.") so that the figure states its direction.
    note
        Free text added to the notes under the figure.
    digits
        Decimals of the estimates and intervals in the text column.
    fontsize, panel_width, row_height
        Base font size (points), width of the plotting panel and height of a row (inches).
    max_label_width
        Study labels wider than this (inches) are wrapped onto more lines at spaces, and
        their rows grow to fit; ``None`` never wraps (the label column grows instead).

    Returns
    -------
    matplotlib.figure.Figure
        A figure with an Agg canvas, not registered with pyplot.  Save it with
        :func:`~netgrade.report.plots.save_figure`.  Its artists carry ids (``gid``) such
        as ``forest-studies`` (the squares), ``forest-ci``, ``forest-diamond``,
        ``forest-prediction``, ``study-label-<i>``, ``rob-legend``, which also appear in SVG
        output.
    """
    for attr in ("yi", "vi", "weights", "studies", "X", "level"):
        if not hasattr(res, attr):
            raise PlotError(f"forest_plot needs a fitted model (RMAResult); got {type(res).__name__}")
    k = int(res.k)
    order = _order(res, sort_by)
    studies = [str(s) for s in res.studies]
    if labels is None:
        labels_all = studies
    else:
        labels_all = [str(s) for s in labels]
        if len(labels_all) != k:
            raise PlotError(f"{len(labels_all)} labels given for {k} studies")
    direction_ = _direction(direction)
    if favours is not None:
        if len(favours) != 2:
            raise PlotError("favours must be a pair of labels (left, right) or None")
        if direction_ == "higher" and tuple(favours) == DEFAULT_FAVOURS:
            favours = (DEFAULT_FAVOURS[1], DEFAULT_FAVOURS[0])
    digits = int(digits)

    scale = display_scale(res.measure, transform)
    if favours is not None and tuple(favours) in (DEFAULT_FAVOURS, DEFAULT_FAVOURS[::-1]) and scale.null is None:
        # single-group measures (proportions, means) have no side that favours anything
        favours = None
    pooled = _is_pooled(res)
    level = float(res.level)
    crit = float(stats.norm.ppf(1 - (1 - level) / 2))

    # Study values in the displayed order (study intervals are Wald intervals from each
    # study's own variance, as in metafor and RevMan).
    yi = np.asarray(res.yi, dtype=float)[order]
    sei = np.sqrt(np.asarray(res.vi, dtype=float))[order]
    w = np.asarray(res.weights, dtype=float)[order]
    est = scale(yi)
    lo, hi = scale(yi - crit * sei), scale(yi + crit * sei)
    # A decreasing custom transformation swaps the ends.
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    shown_studies = [studies[i] for i in order]
    shown_labels = [labels_all[i] for i in order]

    p_est = p_lo = p_hi = pi_lo = pi_hi = math.nan
    show_pi = False
    if pooled:
        p_est = float(scale(res.estimate))
        p_lo, p_hi = sorted((float(scale(res.ci_low)), float(scale(res.ci_high))))
        if show_prediction and res.is_random:
            pi_lo, pi_hi = sorted((float(scale(res.pi_low)), float(scale(res.pi_high))))
            show_pi = math.isfinite(pi_lo) and math.isfinite(pi_hi)

    rob = None
    if risk_of_bias is not None:
        rob = _rob_matrix(risk_of_bias, shown_studies)

    # ---- x axis limits on the displayed scale ---------------------------------------
    if ref_line is None:
        ref = scale.null
    elif ref_line is False:
        ref = None
    else:
        ref = float(ref_line)
    log_axis = scale.log_axis
    if xlim is not None:
        if len(xlim) != 2 or not float(xlim[0]) < float(xlim[1]):
            raise PlotError(f"xlim must be (lower, upper) with lower < upper; got {xlim!r}")
        x0, x1 = float(xlim[0]), float(xlim[1])
        if log_axis and x0 <= 0:
            raise PlotError(f"xlim must be positive on the ratio scale (log axis); got {xlim!r}")
        ticks = log_ticks(x0, x1, expand=False)[0] if log_axis else None
    else:
        vals = np.concatenate([lo, hi, est, [p_lo, p_hi] if pooled else [], [pi_lo, pi_hi] if show_pi else []])
        if ref is not None:
            vals = np.append(vals, ref)
        vals = vals[np.isfinite(vals)]
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
            loc = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10])
            tv = loc.tick_values(x0, x1)
            x0, x1 = float(tv[0]), float(tv[-1])
    if log_axis and len(ticks) < 3:
        # a narrow ratio range (e.g. 0.8 to 1.25) has too few 1-2-5 values: use evenly
        # spaced natural values instead
        tv = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(x0, x1)
        ticks = [float(t) for t in tv if x0 * (1 - 1e-9) <= t <= x1 * (1 + 1e-9) and t > 0]

    fs = float(fontsize)
    fs_small = fs - 1.0
    m = TextMeasurer()
    if max_label_width is not None:
        shown_labels = [
            "\n".join(m.wrap(s, fs, float(max_label_width))) if m.width_in(s, fs) > max_label_width else s
            for s in shown_labels
        ]

    # ---- rows (one unit = one row; wrapped labels make taller rows) -------------------
    line_units = 1.4 * fs / 72.0 / row_height
    heights = np.array([1.0 + s.count("\n") * line_units for s in shown_labels])
    y_study = 0.5 + np.cumsum(heights) - heights / 2
    y_pool = y_study[-1] + heights[-1] / 2 + 1.1 if pooled else math.nan
    y_pi = y_pool + 1.0 if show_pi else math.nan
    last = y_pi if show_pi else (y_pool if pooled else float(y_study[-1]))
    y_top, y_bottom = -0.7, last + 0.8

    # ---- text of the columns --------------------------------------------------------
    lvl = level_pct(level)
    est_header = f"{scale.abbr} [{lvl}% CI]"
    est_text = [f"{fmt_num(e, digits)} [{fmt_num(a, digits)}, {fmt_num(b, digits)}]" for e, a, b in zip(est, lo, hi)]
    pool_label = _model_label(res) if pooled else ""
    pool_text = f"{fmt_num(p_est, digits)} [{fmt_num(p_lo, digits)}, {fmt_num(p_hi, digits)}]" if pooled else ""
    pi_label = f"{lvl}% prediction interval"
    pi_text = f"[{fmt_num(pi_lo, digits)}, {fmt_num(pi_hi, digits)}]" if show_pi else ""
    w_text = [f"{x:.1f}%" for x in w]

    label_w = max(
        [m.width_in(s, fs) for s in shown_labels]
        + [m.width_in("Study", fs, "bold")]
        + ([m.width_in(pool_label, fs, "bold")] if pooled else [])
        + ([m.width_in(pi_label, fs)] if show_pi else [])
    )
    est_w = max([m.width_in(s, fs) for s in est_text] + [m.width_in(est_header, fs, "bold")]
                + ([m.width_in(pool_text, fs, "bold"), m.width_in(pi_text, fs)] if pooled else []))
    weight_w = max(m.width_in("Weight", fs, "bold"), m.width_in("100.0%", fs, "bold")) if show_weights else 0.0

    # Columns, in inches from the left edge.
    margin, gap = 0.15, 0.22
    x_label = margin
    x_panel = x_label + label_w + gap
    x_est_right = x_panel + panel_width + gap + est_w
    x_weight_right = x_est_right + (gap + weight_w if show_weights else 0.0)
    right = x_weight_right
    rob_x = []
    rob_spacing = 0.3
    if rob is not None:
        judgements, headers, rob_key, rob_missing, has_overall = rob
        n_dom = len(headers) - int(has_overall)
        start = right + gap + rob_spacing / 2
        rob_x = [start + j * rob_spacing for j in range(n_dom)]
        if has_overall:
            ow = max(m.width_in("Overall", fs, "bold"), rob_spacing)
            rob_x.append((rob_x[-1] + rob_spacing / 2 if rob_x else right + gap) + 0.08 + ow / 2)
            right = rob_x[-1] + ow / 2
        else:
            right = rob_x[-1] + rob_spacing / 2
    width = right + margin

    # ---- notes under the figure -----------------------------------------------------
    notes = _heterogeneity_lines(res, pooled)
    if not pooled:
        mods = [c for c in res.coef_names if c not in ("intrcpt", "intercept", "(Intercept)")]
        kind = "Mixed-effects" if res.is_random else "Common-effect"
        notes.append(
            f"{kind} meta-regression on {', '.join(mods) or 'moderators'}: study estimates only; "
            "no pooled estimate is shown because the average effect depends on the moderators."
        )
    if direction_ is not None:
        notes.append(f"{'Smaller' if direction_ == 'lower' else 'Larger'} values are better.")
    if rob is not None:
        if rob_key:
            notes.append("Risk-of-bias domains: " + "; ".join(rob_key) + ".")
        if rob_missing:
            notes.append("No risk-of-bias assessment for: " + ", ".join(rob_missing) + ".")
    excluded = getattr(res, "excluded", ()) or ()
    if excluded:
        notes.append("Not in the analysis: " + "; ".join(f"{e.study} ({e.reason})" for e in excluded) + ".")
    if note:
        notes.append(str(note))
    note_lines: list[str] = []
    for n in notes:
        note_lines.extend(m.wrap(n, fs_small, width - 2 * margin))
    line_h = fs_small * 1.4 / 72.0

    # ---- heights (inches) -----------------------------------------------------------
    title_lines = m.wrap(str(title), fs + 1, width - 2 * margin) if title else []
    top_h = 0.12 + len(title_lines) * (fs + 1) * 1.35 / 72.0 + (0.08 if title_lines else 0.0)
    table_h = (y_bottom - y_top) * row_height
    # tick labels, favours labels and the axis title under the panel
    axis_h = (3.5 + 3.5 + 8 * 1.25 + (fs_small * 1.3 + 4 if favours else 0) + 4 + fs * 1.3 + 8) / 72.0
    notes_h = len(note_lines) * line_h + (0.06 if note_lines else 0.0)
    legend_h = 0.32 if rob is not None else 0.0
    height = top_h + table_h + axis_h + notes_h + legend_h + 0.12

    with style_context():
        fig = new_figure(width, height)
        ax_bottom = (height - top_h - table_h) / height
        # One transparent axes for all text and the risk-of-bias circles, in inch
        # coordinates across the whole width; the forest panel sits on top of it and shares
        # its rows.
        tab = fig.add_axes((0.0, ax_bottom, 1.0, table_h / height))
        tab.set_gid("forest-table")
        tab.set_xlim(0.0, width)
        tab.set_ylim(y_bottom, y_top)
        tab.axis("off")
        ax = fig.add_axes((x_panel / width, ax_bottom, panel_width / width, table_h / height), sharey=tab)
        ax.set_gid("forest-panel")
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
        # the axis title goes below the favours labels when there are any
        pad = (fs_small * 1.3 + 8) if favours else 4
        ax.set_xlabel(scale.name + (" (log scale)" if log_axis else ""), labelpad=pad)

        def text(x, y, s, ha="left", weight="normal", gid=None, size=fs, color=INK):
            return tab.text(x, y, s, ha=ha, va="center", fontsize=size, fontweight=weight, color=color,
                            parse_math=False, gid=gid, clip_on=False)

        # header and rule
        text(x_label, 0, "Study", weight="bold")
        text(x_est_right, 0, est_header, ha="right", weight="bold")
        if show_weights:
            text(x_weight_right, 0, "Weight", ha="right", weight="bold")
        tab.add_line(Line2D([margin, width - margin], [0.55, 0.55], color=GREY, lw=0.6, gid="forest-header-rule"))

        # study rows
        for i in range(k):
            y = y_study[i]
            text(x_label, y, shown_labels[i], gid=f"study-label-{i}")
            text(x_est_right, y, est_text[i], ha="right", gid=f"study-estimate-{i}")
            if show_weights:
                text(x_weight_right, y, w_text[i], ha="right", gid=f"study-weight-{i}")

        # reference line from the header rule down to the axis
        if ref is not None and x0 < ref < x1:
            ax.vlines(ref, 0.55, y_bottom, colors=GREY, linewidth=0.8, zorder=1, gid="forest-refline")

        # confidence intervals, cut at the limits with arrowheads
        segs, arrows_l, arrows_r = [], [], []
        for a, b, y in zip(lo, hi, y_study):
            _clip_interval(a, b, y, x0, x1, segs, arrows_l, arrows_r)
        ax.add_collection(LineCollection(segs, colors=INK, linewidths=1.0, zorder=2, gid="forest-ci"),
                          autolim=False)

        # squares with area proportional to weight
        side_max = 0.78 * row_height * 72.0
        wmax = float(np.max(w)) if np.max(w) > 0 else 1.0
        side = np.maximum(side_max * np.sqrt(np.clip(w, 0, None) / wmax), 3.0)
        inside = (est >= x0) & (est <= x1)
        ax.scatter(est[inside], y_study[inside], s=side[inside] ** 2, marker="s", color=INK, linewidths=0,
                   zorder=3, gid="forest-studies")

        if pooled:
            h = 0.34
            diamond = Polygon(
                [(p_lo, y_pool), (p_est, y_pool - h), (p_hi, y_pool), (p_est, y_pool + h)],
                closed=True, facecolor=INK, edgecolor=INK, linewidth=0.8, zorder=3, gid="forest-diamond",
            )
            ax.add_patch(diamond)
            # the diamond is clipped at the limits like the intervals, with arrowheads
            _clip_interval(p_lo, p_hi, y_pool, x0, x1, [], arrows_l, arrows_r)
            text(x_label, y_pool, pool_label, weight="bold", gid="pooled-label")
            text(x_est_right, y_pool, pool_text, ha="right", weight="bold", gid="pooled-estimate")
            if show_weights:
                text(x_weight_right, y_pool, "100.0%", ha="right", weight="bold")
            if show_pi:
                pseg, pl, pr = [], [], []
                _clip_interval(pi_lo, pi_hi, y_pi, x0, x1, pseg, pl, pr)
                ax.add_collection(LineCollection(pseg, colors=INK, linewidths=1.6, zorder=2,
                                                 gid="forest-prediction"), autolim=False)
                arrows_l += pl
                arrows_r += pr
                # whiskers at the ends that are inside the panel
                ends = [v for v in (pi_lo, pi_hi) if x0 <= v <= x1]
                if ends:
                    ax.scatter(ends, [y_pi] * len(ends), marker="|", s=(0.4 * row_height * 72) ** 2,
                               color=INK, linewidths=1.2, zorder=2, gid="forest-prediction-ends")
                text(x_label, y_pi, pi_label, gid="prediction-label")
                text(x_est_right, y_pi, pi_text, ha="right", gid="prediction-estimate")

        if arrows_l:
            xs, ys = zip(*arrows_l)
            ax.scatter(xs, ys, marker=_ARROW_LEFT, s=36, color=INK, linewidths=0, clip_on=False,
                       zorder=4, gid="forest-arrows-left")
        if arrows_r:
            xs, ys = zip(*arrows_r)
            ax.scatter(xs, ys, marker=_ARROW_RIGHT, s=36, color=INK, linewidths=0, clip_on=False,
                       zorder=4, gid="forest-arrows-right")

        # favours labels on either side of the line of no effect (or of the panel centre)
        if favours is not None:
            if ref is not None and x0 < ref < x1:
                xf = ref
            else:
                xf = math.sqrt(x0 * x1) if log_axis else (x0 + x1) / 2
            off = 3.5 + 3.5 + 8 * 1.25 + 3
            for s, ha, dx, gid in ((favours[0], "right", -5, "favours-left"), (favours[1], "left", 5, "favours-right")):
                ax.annotate(str(s), xy=(xf, 0), xycoords=("data", "axes fraction"), xytext=(dx, -off),
                            textcoords="offset points", ha=ha, va="top", fontsize=fs_small, color=INK,
                            parse_math=False, gid=gid, annotation_clip=False)

        # risk of bias
        if rob is not None:
            _draw_rob(fig, tab, judgements, headers, rob_x, y_study, row_height, fs, width, height,
                      margin, legend_top=0.12 + legend_h)

        # title and notes
        y_in = height - 0.12
        for j, line in enumerate(title_lines):
            fig.text(margin / width, y_in / height, line, ha="left", va="top", fontsize=fs + 1,
                     fontweight="bold", parse_math=False, gid=f"forest-title-{j}")
            y_in -= (fs + 1) * 1.35 / 72.0
        y_in = height - top_h - table_h - axis_h
        for j, line in enumerate(note_lines):
            fig.text(margin / width, y_in / height, line, ha="left", va="top", fontsize=fs_small, color=INK,
                     parse_math=False, gid=f"forest-note-{j}")
            y_in -= line_h
    return fig


def _clip_interval(a, b, y, x0, x1, segs, arrows_l, arrows_r) -> None:
    """Add the part of [a, b] inside [x0, x1] at height y, and arrowheads where it is cut."""
    if not (math.isfinite(a) or math.isfinite(b)):
        return
    ca, cb = max(a, x0), min(b, x1)
    if ca < cb:
        segs.append([(ca, y), (cb, y)])
    if a < x0 and b >= x0:
        arrows_l.append((x0, y))
    if b > x1 and a <= x1:
        arrows_r.append((x1, y))
    # an interval wholly outside the panel gets one arrowhead pointing to where it is
    if b < x0:
        arrows_l.append((x0, y))
    if a > x1:
        arrows_r.append((x1, y))


def _draw_rob(fig, tab, judgements, headers, rob_x, y_study, row_height, fs, width, height, margin, legend_top):
    """Traffic-light columns, their headers and the legend of judgements."""
    for j, (x, h) in enumerate(zip(rob_x, headers)):
        tab.text(x, 0, h, ha="center", va="center", fontsize=fs, fontweight="bold", color=INK,
                 parse_math=False, gid=f"rob-header-{j}")
    d = 0.72 * row_height * 72.0  # circle diameter (points)
    present = []
    for cat in ("low", "some", "high", "none"):
        mask = judgements == cat
        if not mask.any():
            continue
        present.append(cat)
        ii, jj = np.nonzero(mask)
        xs = [rob_x[j] for j in jj]
        ys = [y_study[i] for i in ii]
        tab.scatter(xs, ys, s=d**2, marker="o", color=ROB_COLOURS[cat],
                    edgecolors=(GREY if cat == "none" else "none"), linewidths=0.6, zorder=3,
                    clip_on=False, gid=f"rob-{cat}")
        mark, colour = ROB_MARKS[cat]
        if mark:
            for x, y in zip(xs, ys):
                tab.text(x, y, mark, ha="center", va="center_baseline", fontsize=fs * 0.95, fontweight="bold",
                         color=colour, zorder=4, clip_on=False)
    handles = [
        Line2D([], [], linestyle="none", marker="o", markersize=8, markerfacecolor=ROB_COLOURS[c],
               markeredgecolor=(GREY if c == "none" else ROB_COLOURS[c]), markeredgewidth=0.6, label=ROB_LABELS[c])
        for c in present
    ]
    leg = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(margin / width, legend_top / height),
                     ncol=len(handles), fontsize=fs - 1, handletextpad=0.3, columnspacing=1.2, borderaxespad=0.0,
                     title=None)
    leg.set_gid("rob-legend")
