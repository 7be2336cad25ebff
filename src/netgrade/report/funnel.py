"""Funnel plots, plain or contour-enhanced, with studies added by trim and fill.

A funnel plot shows each study's effect (on the analysis scale, where the sampling
distribution is approximately normal) against a measure of its precision (Light & Pillemer
1984; Sterne & Egger 2001, J Clin Epidemiol 54:1046, who recommend the standard error on a
reversed vertical axis).  In the absence of small-study effects and heterogeneity the
studies scatter symmetrically inside the pseudo-confidence region, estimate ± z·SE.

Contour-enhanced funnels (Peters, Sutton, Jones, Abrams & Rushton 2008, J Clin Epidemiol
61:991) shade the regions in which a study's effect would be statistically significant at
given levels, centred on the null (0 on the analysis scale): if the studies that seem to be
missing fall in regions of non-significance, publication bias is a plausible reason for the
asymmetry; if they fall in regions of significance, other causes are more likely.

For a meta-regression the residuals (observed minus fitted effects) are plotted around 0,
as metafor's ``funnel`` does.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator
from scipy import stats

from ._figure import (
    GREY,
    INK,
    PlotError,
    TextMeasurer,
    analysis_name,
    fmt_tick,
    level_pct,
    new_figure,
    style_context,
)
from .forest import _is_pooled

__all__ = ["funnel_plot", "YAXES"]

YAXES = {
    "sei": "Standard error",
    "vi": "Sampling variance",
    "seinv": "Precision (1 / standard error)",
}


def _levels(contours: Sequence[float]) -> list[float]:
    levels = []
    for c in contours:
        c = float(c)
        if 1.0 < c < 100.0:  # percentages, as metafor accepts (90, 95, 99)
            c /= 100.0
        if not 0.0 < c < 1.0:
            raise PlotError(f"contour levels must lie between 0 and 1 (e.g. 0.90, 0.95, 0.99); got {c!r}")
        levels.append(c)
    levels = sorted(set(levels))
    if not levels:
        raise PlotError("contours is empty; give levels such as (0.90, 0.95, 0.99) or None")
    return levels


def _fmt_alpha(a: float) -> str:
    s = f"{a:.3g}"
    if "." in s and len(s.split(".")[1]) < 2:
        s = f"{a:.2f}"
    return s


def _filled_arrays(filled: Any) -> tuple[np.ndarray, np.ndarray]:
    """Accept (yi, vi), {'yi':..., 'vi':...}, or an object with filled_yi/filled_vi or yi/vi."""
    if isinstance(filled, dict):
        keys = ("filled_yi", "filled_vi") if "filled_yi" in filled else ("yi", "vi")
        if keys[0] not in filled or keys[1] not in filled:
            raise PlotError("filled must hold 'yi' and 'vi' (the filled studies' effects and variances)")
        fy, fv = filled[keys[0]], filled[keys[1]]
    elif hasattr(filled, "filled_yi") and hasattr(filled, "filled_vi"):
        fy, fv = filled.filled_yi, filled.filled_vi
    elif isinstance(filled, (tuple, list)) and len(filled) == 2:
        fy, fv = filled
    else:
        raise PlotError(
            "filled must be (yi, vi) of the filled studies, a dict with yi and vi, or a trim-and-fill result"
        )
    fy = np.atleast_1d(np.asarray(fy, dtype=float))
    fv = np.atleast_1d(np.asarray(fv, dtype=float))
    if fy.shape != fv.shape:
        raise PlotError(f"filled studies: {fy.size} effects but {fv.size} variances")
    if np.any(~np.isfinite(fy)) or np.any(~np.isfinite(fv)) or np.any(fv <= 0):
        raise PlotError("filled studies need finite effects and positive variances")
    return fy, fv


def _grey(v: float) -> str:
    g = int(round(v * 255))
    return f"#{g:02x}{g:02x}{g:02x}"


def funnel_plot(
    res,
    *,
    contours: Sequence[float] | None = None,
    yaxis: str = "sei",
    refline: float | bool | None = None,
    filled: Any = None,
    title: str | None = None,
    pseudo_ci: bool | None = None,
    xlim: tuple[float, float] | None = None,
    legend: bool | None = None,
    fontsize: float = 9.0,
) -> Figure:
    """Funnel plot of a fitted pairwise model (:class:`~netgrade.pairwise.RMAResult`).

    Parameters
    ----------
    res
        The fit.  Effects are shown on the analysis scale (log risk ratio, mean
        difference...); for a meta-regression the residuals are shown around 0.
    contours
        Significance levels of a contour-enhanced funnel, e.g. ``(0.90, 0.95, 0.99)``
        (percentages such as 90 are accepted).  The regions between the contours, centred
        on the null effect 0, are shaded from white (p above the largest alpha) to dark grey
        (p below the smallest), with a legend (Peters et al. 2008).
    yaxis
        ``'sei'`` (standard error, reversed so the most precise studies are at the top; the
        default, as recommended by Sterne & Egger 2001), ``'vi'`` (sampling variance,
        reversed) or ``'seinv'`` (precision, 1/SE).
    refline
        Vertical reference line on the analysis scale.  Default: the model estimate (0 for a
        meta-regression's residuals); ``False`` removes it.  It is also the centre of the
        pseudo-confidence region.
    filled
        Studies imputed by trim and fill, drawn as open circles: ``(yi, vi)`` arrays, a dict
        with ``yi`` and ``vi``, or an object with ``filled_yi`` and ``filled_vi``.  Pass the
        adjusted estimate as ``refline`` to centre the funnel on it.
    title
        Title above the panel.
    pseudo_ci
        Draw the pseudo-confidence region (refline ± z·SE at the model's level) as dashed
        lines.  Default: yes, unless contours are drawn.
    xlim
        Limits of the effect axis (analysis scale).  Default: the studies and the region.
    legend
        Show a legend to the right of the panel.  Default: when contours or filled studies
        are drawn.
    fontsize
        Base font size in points.

    Returns
    -------
    matplotlib.figure.Figure
        Artists carry ids: ``funnel-studies``, ``funnel-filled``, ``funnel-refline``,
        ``funnel-pseudo-ci``, ``funnel-contour-<level>`` (polygon of the region inside a
        contour) and ``funnel-legend``.
    """
    for attr in ("yi", "vi", "X", "level"):
        if not hasattr(res, attr):
            raise PlotError(f"funnel_plot needs a fitted model (RMAResult); got {type(res).__name__}")
    yaxis = str(yaxis).lower()
    if yaxis not in YAXES:
        raise PlotError(f"unknown yaxis {yaxis!r}; choose one of {', '.join(YAXES)}")
    pooled = _is_pooled(res)
    vi = np.asarray(res.vi, dtype=float)
    if pooled:
        x = np.asarray(res.yi, dtype=float)
        centre = float(res.estimate)
        xname = analysis_name(res.measure)[0]
    else:
        x = np.asarray(res.residuals(), dtype=float)
        centre = 0.0
        xname = f"Residual ({analysis_name(res.measure)[0].lower()})"
    if np.any(vi <= 0):
        raise PlotError("a funnel plot needs positive sampling variances")
    fy = fv = None
    if filled is not None:
        if not pooled:
            raise PlotError("filled studies (trim and fill) apply to a model without moderators")
        fy, fv = _filled_arrays(filled)
    if refline is None:
        ref = centre
    elif refline is False:
        ref = None
    else:
        ref = float(refline)
    centre_ci = ref if ref is not None else centre
    levels = _levels(contours) if contours is not None else []
    show_ci = (not levels) if pseudo_ci is None else bool(pseudo_ci)
    show_legend = bool(levels or fy is not None) if legend is None else bool(legend)

    def to_y(v):
        v = np.asarray(v, dtype=float)
        if yaxis == "sei":
            return np.sqrt(v)
        return v if yaxis == "vi" else 1.0 / np.sqrt(v)

    def s_of_y(y):
        """Standard error at a position of the vertical axis."""
        y = np.asarray(y, dtype=float)
        if yaxis == "sei":
            return y
        return np.sqrt(np.clip(y, 0, None)) if yaxis == "vi" else 1.0 / y

    yy = to_y(vi)
    all_y = yy if fv is None else np.concatenate([yy, to_y(fv)])
    all_x = x if fy is None else np.concatenate([x, fy])

    # Vertical limits: from 0 (or the least precise study for 'seinv') to a round value.
    ylocator = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])
    if yaxis == "seinv":
        # Precision 0 would be an infinitely wide funnel: start just below the least
        # precise study instead (as metafor does).
        t = ylocator.tick_values(float(all_y.min()) * 0.9, float(all_y.max()))
        y_lo, y_hi = float(all_y.min()) * 0.9, float(t[-1])
    else:
        t = ylocator.tick_values(0.0, float(all_y.max()))
        y_lo, y_hi = 0.0, float(t[-1])
    # the least precise end of the axis, where the funnel is widest
    y_wide = y_lo if yaxis == "seinv" else y_hi
    s_wide = float(s_of_y(y_wide))

    z_ci = float(stats.norm.ppf(1 - (1 - float(res.level)) / 2))
    zs = [float(stats.norm.ppf(1 - (1 - L) / 2)) for L in levels]

    if xlim is None:
        cand = list(all_x)
        if ref is not None:
            cand.append(ref)
        if show_ci:
            cand += [centre_ci - z_ci * s_wide, centre_ci + z_ci * s_wide]
        if levels:
            cand += [-zs[-1] * s_wide, zs[-1] * s_wide]
        cand = np.asarray(cand, dtype=float)
        lo, hi = float(cand.min()), float(cand.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        tv = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
        x0, x1 = float(tv[0]), float(tv[-1])
    else:
        if len(xlim) != 2 or not float(xlim[0]) < float(xlim[1]):
            raise PlotError(f"xlim must be (lower, upper) with lower < upper; got {xlim!r}")
        x0, x1 = float(xlim[0]), float(xlim[1])

    # Legend entries, to size the figure.
    lvl = level_pct(float(res.level))
    entries: list[tuple[Any, str]] = []
    entries.append((Line2D([], [], linestyle="none", marker="o", markersize=5, markerfacecolor=INK,
                           markeredgecolor=INK), "Studies"))
    if fy is not None:
        entries.append((Line2D([], [], linestyle="none", marker="o", markersize=5, markerfacecolor="white",
                               markeredgecolor=INK), "Filled studies (trim and fill)"))
    if ref is not None:
        entries.append((Line2D([], [], color=INK, lw=0.9),
                        "Pooled estimate" if (refline is None and pooled) else "Reference line"))
    if show_ci:
        entries.append((Line2D([], [], color=GREY, lw=0.9, linestyle=(0, (4, 3))), f"Pseudo {lvl}% confidence region"))
    shades: list[str] = []
    if levels:
        alphas = [1 - L for L in levels]
        shades = ["#ffffff"] + [_grey(g) for g in np.linspace(0.85, 0.55, len(levels))]
        labels = [f"p > {_fmt_alpha(alphas[0])}"]
        for i in range(1, len(levels)):
            labels.append(f"{_fmt_alpha(alphas[i])} < p \u2264 {_fmt_alpha(alphas[i - 1])}")
        labels.append(f"p \u2264 {_fmt_alpha(alphas[-1])}")
        for shade, lab in zip(shades, labels):
            entries.append((Patch(facecolor=shade, edgecolor=GREY, linewidth=0.5), lab))

    fs = float(fontsize)
    meas = TextMeasurer()
    panel_w, panel_h = 4.2, 3.4
    left, bottom, right_pad = 0.75, 0.55, 0.2
    legend_w = 0.0
    if show_legend:
        legend_w = 0.2 + 0.45 + max(meas.width_in(lab, fs - 1) for _, lab in entries) + 0.1
    top = 0.2 + ((fs + 1) * 1.4 / 72.0 + 0.1 if title else 0.0)
    width = left + panel_w + right_pad + legend_w
    height = bottom + panel_h + top

    with style_context():
        fig = new_figure(width, height)
        ax = fig.add_axes((left / width, bottom / height, panel_w / width, panel_h / height))
        ax.set_gid("funnel-panel")
        for side in ("right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xlim(x0, x1)
        if yaxis == "seinv":
            ax.set_ylim(y_lo, y_hi)
        else:
            ax.set_ylim(y_hi, y_lo)  # reversed: precise studies at the top
        fmt = FuncFormatter(lambda v, _pos: fmt_tick(v))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(fmt)
        ax.yaxis.set_major_formatter(fmt)
        ax.set_xlabel(xname)
        ax.set_ylabel(YAXES[yaxis])

        # Curves of the regions, sampled along the vertical axis (straight lines for 'sei').
        grid = np.linspace(y_lo, y_hi, 2 if yaxis == "sei" else 241)
        s_grid = s_of_y(grid)

        def region(c, z):
            left_b = np.column_stack([c - z * s_grid, grid])
            right_b = np.column_stack([c + z * s_grid, grid])[::-1]
            return np.vstack([left_b, right_b])

        if levels:
            # darkest shade (most significant) as the background, then each contour's inner
            # region from the widest to the narrowest, ending with white (not significant)
            ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, facecolor=shades[-1], edgecolor="none",
                                   zorder=0, gid="funnel-contour-outer"))
            for i in range(len(levels) - 1, -1, -1):
                ax.add_patch(Polygon(region(0.0, zs[i]), closed=True, facecolor=shades[i], edgecolor="none",
                                     zorder=0.1 + 0.01 * (len(levels) - i), gid=f"funnel-contour-{levels[i]:g}"))
        if show_ci:
            pts = region(centre_ci, z_ci)
            n = grid.size
            ax.plot(pts[:n, 0], pts[:n, 1], color=GREY, lw=0.9, linestyle=(0, (4, 3)), zorder=1,
                    gid="funnel-pseudo-ci")
            ax.plot(pts[n:, 0], pts[n:, 1], color=GREY, lw=0.9, linestyle=(0, (4, 3)), zorder=1,
                    gid="funnel-pseudo-ci-right")
        if ref is not None:
            ax.axvline(ref, color=INK, lw=0.9, zorder=1.5, gid="funnel-refline")
        ax.scatter(x, yy, s=22, marker="o", color=INK, edgecolors=INK, linewidths=0.5, zorder=3,
                   gid="funnel-studies")
        if fy is not None:
            ax.scatter(fy, to_y(fv), s=22, marker="o", facecolors="white", edgecolors=INK, linewidths=0.8,
                       zorder=3, gid="funnel-filled")
        if show_legend:
            leg = ax.legend([h for h, _ in entries], [lab for _, lab in entries], loc="upper left",
                            bbox_to_anchor=(1.0 + 0.2 / panel_w, 1.0), borderaxespad=0.0, fontsize=fs - 1,
                            handlelength=1.6, frameon=False)
            leg.set_gid("funnel-legend")
            for t in leg.get_texts():
                t.set_parse_math(False)
        if title:
            fig.text(left / width, (height - 0.12) / height, str(title), ha="left", va="top", fontsize=fs + 1,
                     fontweight="bold", parse_math=False, gid="funnel-title")
    return fig
