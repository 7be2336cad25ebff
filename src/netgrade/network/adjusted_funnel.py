"""Comparison-adjusted funnel plot for network meta-analysis.

An ordinary funnel plot makes no sense across a network: the studies estimate different
comparisons, with different true effects.  Chaimani, Higgins, Mavridis, Spyridonos &
Salanti (2013, PLoS One 8:e76654; building on Chaimani & Salanti 2012, Res Synth Methods
3:161) centre each study's contrast at the summary of its own comparison, y_iXY − μ_XY,
and plot these differences against their standard errors.  In the absence of
small-study effects they scatter symmetrically around zero.

The orientation of each contrast matters and must be chosen before looking: the
treatments are put in a meaningful ``order`` (e.g. oldest to newest, or active
treatments first and placebo last) and every contrast is expressed as the treatment
that comes *earlier* in the order minus the one that comes *later* (netmeta's
``funnel.netmeta(order = ...)`` convention).  Asymmetry is then interpretable: if newer
treatments look better in small trials, the small trials sit on one side.

The asymmetry test is Egger's regression (Egger, Davey Smith, Schneider & Minder 1997,
BMJ 315:629) applied to the comparison-adjusted contrasts, as netmeta does with
``metabias(method = "Egger")`` on them: a weighted regression of the centred contrast on
its standard error, d_i = b0 + b1·se_i with weights 1/se_i²; the slope b1 measures the
asymmetry (it equals the intercept of Egger's original regression of d_i/se_i on
1/se_i), and b0 is the centred effect expected in a study of infinite precision.
Contrasts of the same multi-arm study are treated as independent, as in the papers.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator
from scipy import stats

from .._result import ResultMixin, fmt, fmt_p, frozen_array
from ..errors import DataError, ModelError
from ..report._figure import GREY, INK, TextMeasurer, analysis_name, fmt_tick, level_pct, new_figure, style_context

__all__ = ["AdjustedFunnel", "FunnelAsymmetryTest", "comparison_adjusted_funnel"]

TEST_MODELS = ("lm", "fe")

# Qualitative palette (Okabe & Ito 2008, colour-blind safe, then Tableau-like extras);
# more comparisons than colours cycle through marker shapes too.
_COLOURS = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
    "#8C564B", "#7F7F7F", "#BCBD22", "#17BECF",
)
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


@dataclass(frozen=True, eq=False)
class FunnelAsymmetryTest(ResultMixin):
    """Egger-type regression test on comparison-adjusted contrasts.

    Weighted regression d_i = intercept + slope·se_i (weights 1/se_i²).  ``model='lm'``
    (Egger et al. 1997; netmeta/meta ``metabias(method = "Egger")``) estimates a
    multiplicative dispersion and uses t with k − 2 df (``df``); ``model='fe'`` fixes the
    dispersion at 1 and uses z (metafor ``regtest(model = "rma", method = "FE")``).
    ``stat`` and ``pval`` test slope = 0 (funnel plot asymmetry).
    """

    model: str
    k: int
    intercept: float
    intercept_se: float
    slope: float
    slope_se: float
    stat: float
    df: int | None
    pval: float
    dispersion: float

    def to_frame(self) -> pd.DataFrame:
        zi = self.intercept / self.intercept_se
        p_int = 2 * (stats.t.sf(abs(zi), self.df) if self.df is not None else stats.norm.sf(abs(zi)))
        return pd.DataFrame(
            {
                "estimate": [self.intercept, self.slope],
                "se": [self.intercept_se, self.slope_se],
                "stat": [zi, self.stat],
                "pval": [float(p_int), self.pval],
            },
            index=pd.Index(["intercept", "sei"], name="coefficient"),
        )

    def summary(self) -> str:
        name = "t" if self.df is not None else "z"
        kind = (
            "weighted regression with multiplicative dispersion (Egger et al. 1997)"
            if self.model == "lm"
            else "weighted regression with dispersion fixed at 1"
        )
        return "\n".join(
            [
                "Regression test for asymmetry of the comparison-adjusted funnel plot",
                f"Model: {kind}; k = {self.k} contrasts",
                f"Slope on the standard error: {fmt(self.slope)} (se {fmt(self.slope_se)}), "
                f"{name} = {fmt(self.stat)}" + (f", df = {self.df}" if self.df is not None else "")
                + f", p = {fmt_p(self.pval)}",
                f"Intercept (centred effect as se -> 0): {fmt(self.intercept)} (se {fmt(self.intercept_se)})",
            ]
        )


@dataclass(frozen=True, eq=False)
class AdjustedFunnel(ResultMixin):
    """Contrasts oriented by ``order`` and centred at their comparison's mean.

    For contrast i: ``treat1[i]`` comes earlier in ``order`` than ``treat2[i]``,
    ``yi[i]`` = θ_treat1 − θ_treat2 as observed (sign flipped where the input had the
    other orientation, see ``flipped``), ``mean[i]`` the comparison-specific mean in the
    same orientation and ``adjusted[i]`` = yi − mean, plotted against ``sei``.
    """

    studies: tuple[str, ...]
    treat1: tuple[str, ...]
    treat2: tuple[str, ...]
    yi: np.ndarray
    sei: np.ndarray
    mean: np.ndarray
    adjusted: np.ndarray
    flipped: np.ndarray
    order: tuple[str, ...]
    measure: str | None = None

    @property
    def k(self) -> int:
        return len(self.studies)

    @property
    def comparisons(self) -> tuple[str, ...]:
        """Label of each contrast's comparison, 'A vs B' (A earlier in the order)."""
        return tuple(f"{a} vs {b}" for a, b in zip(self.treat1, self.treat2))

    @property
    def orientation(self) -> str:
        """The ordering rule in words, as stated on the figure."""
        return (
            "each contrast is the treatment earlier in the order minus the later one; order: "
            + ", ".join(self.order)
        )

    def test(self, model: str = "lm") -> FunnelAsymmetryTest:
        """Egger-type regression test for funnel plot asymmetry (see the module docstring).

        ``model='lm'`` (default): Egger et al. (1997), multiplicative dispersion, t test
        on k − 2 df, as netmeta's ``metabias(method = "Egger")`` on the adjusted
        contrasts.  ``model='fe'``: dispersion fixed at 1, z test.
        """
        model = str(model).lower()
        if model not in TEST_MODELS:
            raise ModelError(f"unknown test model {model!r}; choose 'lm' or 'fe'")
        d = np.asarray(self.adjusted, dtype=float)
        se = np.asarray(self.sei, dtype=float)
        k = d.shape[0]
        if k < 3:
            raise ModelError(f"the asymmetry test needs at least 3 contrasts; got k = {k}")
        if np.ptp(se) <= 1e-12 * float(np.max(se)):
            raise ModelError(
                "the asymmetry test needs contrasts of different precision (all standard errors are equal)"
            )
        w = 1.0 / se**2
        X = np.column_stack([np.ones(k), se])
        XtW = X.T * w
        A = XtW @ X
        A_inv = np.linalg.inv(A)
        beta = A_inv @ (XtW @ d)
        resid = d - X @ beta
        rss = float(np.sum(w * resid**2))
        if model == "lm":
            df: int | None = k - 2
            dispersion = rss / df
        else:
            df = None
            dispersion = 1.0
        cov = A_inv * dispersion
        se_b = np.sqrt(np.diag(cov))
        stat = float(beta[1] / se_b[1]) if se_b[1] > 0 else (0.0 if beta[1] == 0 else math.copysign(math.inf, beta[1]))
        if df is not None:
            pval = float(2 * stats.t.sf(abs(stat), df)) if math.isfinite(stat) else 0.0
        else:
            pval = float(2 * stats.norm.sf(abs(stat)))
        return FunnelAsymmetryTest(
            model=model,
            k=k,
            intercept=float(beta[0]),
            intercept_se=float(se_b[0]),
            slope=float(beta[1]),
            slope_se=float(se_b[1]),
            stat=stat,
            df=df,
            pval=pval,
            dispersion=float(dispersion),
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "study": list(self.studies),
                "treat1": list(self.treat1),
                "treat2": list(self.treat2),
                "comparison": list(self.comparisons),
                "yi": np.asarray(self.yi),
                "sei": np.asarray(self.sei),
                "mean": np.asarray(self.mean),
                "adjusted": np.asarray(self.adjusted),
                "flipped": np.asarray(self.flipped),
            }
        )

    def summary(self) -> str:
        comps = list(dict.fromkeys(self.comparisons))
        lines = [
            "Comparison-adjusted funnel plot (Chaimani et al. 2013)",
            f"{self.k} contrasts from {len(set(self.studies))} studies in {len(comps)} comparisons; "
            f"{int(np.sum(self.flipped))} contrast(s) reversed to follow the order.",
            f"Orientation: {self.orientation}.",
        ]
        if self.k >= 3 and np.ptp(np.asarray(self.sei)) > 0:
            t = self.test()
            name = "t" if t.df is not None else "z"
            lines.append(
                f"Egger test: slope {fmt(t.slope)} (se {fmt(t.slope_se)}), {name} = {fmt(t.stat)}, "
                f"p = {fmt_p(t.pval)}"
            )
        return "\n".join(lines)

    def figure(
        self,
        *,
        level: float = 0.95,
        title: str | None = None,
        show_test: bool = False,
        legend: bool = True,
        fontsize: float = 9.0,
    ) -> Figure:
        """The funnel: centred contrasts (x) against their standard errors (y, reversed).

        Points are coloured (and, beyond 12 comparisons, shaped) by comparison, with a
        legend; dashed lines mark the pseudo ``level`` region 0 ± z·se; the ordering rule
        is printed under the panel.  ``show_test`` adds the Egger test's p-value.  Built
        on a matplotlib Figure with its own Agg canvas (no pyplot state); save it with
        :func:`netgrade.report.plots.save_figure`.  Artist ids: ``adjfunnel-panel``,
        ``adjfunnel-<n>`` (points of the n-th comparison), ``adjfunnel-zero``,
        ``adjfunnel-pseudo-ci``, ``adjfunnel-legend``, ``adjfunnel-order``,
        ``adjfunnel-test``.
        """
        if not 0.0 < float(level) < 1.0:
            raise ModelError(f"level must lie between 0 and 1; got {level!r}")
        x = np.asarray(self.adjusted, dtype=float)
        y = np.asarray(self.sei, dtype=float)
        comps = list(dict.fromkeys(self.comparisons))
        comp_of = np.array([comps.index(c) for c in self.comparisons], dtype=int)
        z = float(stats.norm.ppf(1 - (1 - float(level)) / 2))

        ylocator = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])
        # a little room below the least precise contrast, so that no marker sits on the axis
        y_hi = float(ylocator.tick_values(0.0, 1.06 * float(y.max()))[-1])
        cand = np.concatenate([x, [-z * y_hi, z * y_hi]])
        tv = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(float(cand.min()), float(cand.max()))
        x0, x1 = float(tv[0]), float(tv[-1])

        fs = float(fontsize)
        meas = TextMeasurer()
        panel_w, panel_h = 4.2, 3.4
        left, right_pad = 0.75, 0.2
        legend_w = 0.0
        if legend:
            legend_w = 0.2 + 0.4 + max(meas.width_in(c, fs - 1) for c in comps) + 0.1
        width = left + panel_w + right_pad + legend_w
        order_lines = textwrap.wrap(
            "Each contrast: the treatment earlier in the order minus the later one. Order: "
            + ", ".join(self.order),
            width=max(40, int(width * 72 / (0.55 * (fs - 1)))),
        )
        line_h = (fs - 1) * 1.3 / 72.0
        bottom = 0.55 + 0.1 + line_h * len(order_lines)
        top = 0.2 + ((fs + 1) * 1.4 / 72.0 + 0.1 if title else 0.0)
        height = bottom + panel_h + top

        if self.measure:
            xname = f"{analysis_name(self.measure)[0]} centred at comparison-specific mean"
        else:
            xname = "Effect centred at comparison-specific mean"

        with style_context():
            fig = new_figure(width, height)
            ax = fig.add_axes((left / width, bottom / height, panel_w / width, panel_h / height))
            ax.set_gid("adjfunnel-panel")
            for side in ("right", "top"):
                ax.spines[side].set_visible(False)
            ax.set_xlim(x0, x1)
            ax.set_ylim(y_hi, 0.0)  # reversed: precise contrasts at the top
            tick_fmt = FuncFormatter(lambda v, _pos: fmt_tick(v))
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
            ax.xaxis.set_major_formatter(tick_fmt)
            ax.yaxis.set_major_formatter(tick_fmt)
            ax.set_xlabel(xname)
            ax.set_ylabel("Standard error")
            ax.plot([0.0, -z * y_hi], [0.0, y_hi], color=GREY, lw=0.9, linestyle=(0, (4, 3)), zorder=1,
                    gid="adjfunnel-pseudo-ci")
            ax.plot([0.0, z * y_hi], [0.0, y_hi], color=GREY, lw=0.9, linestyle=(0, (4, 3)), zorder=1,
                    gid="adjfunnel-pseudo-ci-right")
            ax.axvline(0.0, color=INK, lw=0.9, zorder=1.5, gid="adjfunnel-zero")
            handles = []
            for n, comp in enumerate(comps):
                colour = _COLOURS[n % len(_COLOURS)]
                marker = _MARKERS[(n // len(_COLOURS)) % len(_MARKERS)]
                sel = comp_of == n
                ax.scatter(x[sel], y[sel], s=24, marker=marker, color=colour, edgecolors=colour,
                           linewidths=0.5, zorder=3, gid=f"adjfunnel-{n}")
                handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=5,
                                      markerfacecolor=colour, markeredgecolor=colour, label=comp))
            if legend:
                leg = fig.legend(
                    handles=handles,
                    loc="upper left",
                    bbox_to_anchor=((left + panel_w + right_pad + 0.1) / width, (bottom + panel_h) / height),
                    fontsize=fs - 1,
                    title="Comparison",
                    title_fontsize=fs - 1,
                    alignment="left",
                )
                leg.set_gid("adjfunnel-legend")
            fig.text(
                left / width,
                0.1 / height,
                "\n".join(order_lines) + f"\nDashed lines: pseudo {level_pct(float(level))}% region",
                ha="left",
                va="bottom",
                fontsize=fs - 1,
                color=INK,
                gid="adjfunnel-order",
            )
            if show_test:
                t = self.test()
                ax.text(0.02, 0.98, f"Egger test: p = {fmt_p(t.pval)}", transform=ax.transAxes, ha="left",
                        va="top", fontsize=fs - 1, color=INK, gid="adjfunnel-test")
            if title:
                fig.text(left / width, 1 - 0.15 / height, title, ha="left", va="top", fontsize=fs + 1,
                         color=INK, gid="adjfunnel-title")
        return fig


def _lookup_mean(means: dict[tuple[str, str], float], a: str, b: str) -> float:
    fwd = means.get((a, b))
    rev = means.get((b, a))
    if fwd is not None and rev is not None:
        if not math.isclose(fwd, -rev, rel_tol=1e-9, abs_tol=1e-12):
            raise DataError(
                f"comparison_means gives {a!r} vs {b!r} = {fwd!r} and {b!r} vs {a!r} = {rev!r}; "
                "the two orientations must be negatives of each other"
            )
        return fwd
    if fwd is not None:
        return fwd
    if rev is not None:
        return -rev
    raise ModelError(
        f"no comparison-specific mean for {a!r} vs {b!r}: comparison_means must give the summary "
        "of every comparison that has studies (either orientation)"
    )


def comparison_adjusted_funnel(
    studies: Sequence[str],
    treat1: Sequence[str],
    treat2: Sequence[str],
    yi,
    sei,
    comparison_means: Mapping[tuple[str, str], float],
    order: Sequence[str],
    *,
    measure: str | None = None,
) -> AdjustedFunnel:
    """Comparison-adjusted funnel plot data (Chaimani et al. 2013, PLoS One 8:e76654).

    Each study contrast ``yi[i]`` = θ_treat1 − θ_treat2 (standard error ``sei[i]``; one row
    per contrast, so a three-arm study gives up to three rows) is oriented by ``order``
    -- expressed as the treatment earlier in ``order`` minus the later one, its sign
    flipped if needed -- and centred at its comparison's mean: d_i = y_iXY − μ_XY.
    ``comparison_means[(X, Y)]`` is the summary of comparison X vs Y on the analysis scale
    (the direct pairwise estimate, as netmeta's ``TE.direct``, or another summary of the
    caller's choice), as X minus Y; either orientation may be given.

    Every treatment of every contrast must appear in ``order``, else a
    :class:`~netgrade.errors.ModelError` names the comparison; the order is chosen before
    looking at the plot (e.g. oldest to newest, placebo last).  ``measure`` (e.g. "OR")
    only labels the figure's axis.
    """
    st = [str(s) for s in studies]
    t1 = [str(t) for t in treat1]
    t2 = [str(t) for t in treat2]
    y = np.asarray(yi, dtype=float).reshape(-1)
    s = np.asarray(sei, dtype=float).reshape(-1)
    k = len(st)
    if not (len(t1) == len(t2) == y.shape[0] == s.shape[0] == k):
        raise DataError(
            f"comparison_adjusted_funnel: lengths differ (studies {k}, treat1 {len(t1)}, treat2 {len(t2)}, "
            f"yi {y.shape[0]}, sei {s.shape[0]})"
        )
    if k == 0:
        raise DataError("comparison_adjusted_funnel: no contrasts given")
    ordr = tuple(str(t) for t in order)
    dup = sorted({t for t in ordr if ordr.count(t) > 1})
    if dup:
        raise ModelError(f"order lists treatment(s) {dup} more than once")
    pos = {t: i for i, t in enumerate(ordr)}
    for i in range(k):
        if t1[i] == t2[i]:
            raise DataError(f"study {st[i]!r} (row {i + 1}): contrast of {t1[i]!r} with itself")
        if not math.isfinite(y[i]):
            raise DataError(f"study {st[i]!r} (row {i + 1}, {t1[i]} vs {t2[i]}): effect yi is missing or not finite")
        if not (math.isfinite(s[i]) and s[i] > 0):
            raise DataError(
                f"study {st[i]!r} (row {i + 1}, {t1[i]} vs {t2[i]}): standard error {float(s[i])!r} "
                "must be a positive number"
            )
    missing: dict[tuple[str, str], list[str]] = {}
    for i in range(k):
        absent = [t for t in (t1[i], t2[i]) if t not in pos]
        if absent:
            missing[(t1[i], t2[i])] = absent
    if missing:
        desc = "; ".join(f"{a} vs {b} (missing {', '.join(repr(x) for x in m)})" for (a, b), m in missing.items())
        raise ModelError(
            f"the order of treatments does not cover the comparison(s) {desc}: give every treatment "
            "a place in order so that each contrast can be oriented"
        )
    means: dict[tuple[str, str], float] = {}
    for key, value in dict(comparison_means).items():
        try:
            a, b = key
            means[(str(a), str(b))] = float(value)
        except (TypeError, ValueError):
            raise DataError(
                f"comparison_means: entry {key!r}: {value!r} must map a pair (treatment1, treatment2) to a number"
            ) from None
    flipped = np.array([pos[t1[i]] > pos[t2[i]] for i in range(k)], dtype=bool)
    o1 = tuple(t2[i] if flipped[i] else t1[i] for i in range(k))
    o2 = tuple(t1[i] if flipped[i] else t2[i] for i in range(k))
    yo = np.where(flipped, -y, y)
    mu = np.array([_lookup_mean(means, o1[i], o2[i]) for i in range(k)], dtype=float)
    if not np.all(np.isfinite(mu)):
        bad = int(np.flatnonzero(~np.isfinite(mu))[0])
        raise DataError(f"comparison_means for {o1[bad]!r} vs {o2[bad]!r} is not a finite number")
    return AdjustedFunnel(
        studies=tuple(st),
        treat1=o1,
        treat2=o2,
        yi=frozen_array(yo),
        sei=frozen_array(s),
        mean=frozen_array(mu),
        adjusted=frozen_array(yo - mu),
        flipped=frozen_array(flipped, dtype=bool),
        order=ordr,
        measure=measure,
    )


def network_adjusted_funnel(res, order: Sequence[str] | None = None, random: bool | None = None) -> AdjustedFunnel:
    """The comparison-adjusted funnel of a fitted network (an NMAResult).

    Every pairwise contrast of every study is centred at its comparison's direct
    estimate (netmeta's ``TE.direct``: common-effect, or random-effects with the
    network's tau² when ``random`` is true; default: as the fit).  ``order`` orients
    the contrasts; the default lists the other treatments in the network's order and
    the reference last, so that every contrast reads "active versus reference" where
    it can.  Choose the order before looking at the plot (e.g. older to newer).
    """
    from .inconsistency import node_split

    use_random = res.is_random if random is None else bool(random)
    split = node_split(res)
    model = "random" if use_random and split.random is not None else "common"
    table = split.table(model)
    means = {}
    for i, (a, b) in enumerate(split.comparisons):
        if split.k[i] > 0:
            means[(a, b)] = float(table.direct.est[i])
    if order is None:
        order = tuple(t for t in res.treatments if t != res.reference) + (res.reference,)
    pairs = res.data.pairs()
    return comparison_adjusted_funnel(
        pairs["study"], pairs["treat1"], pairs["treat2"], pairs["TE"], pairs["seTE"], means, order, measure=res.measure
    )
