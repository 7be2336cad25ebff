"""Forest and funnel plots: what is drawn, where, and byte-identical files.

The figures are inspected through their artists (found by the ids, ``gid``, that the
plotting functions give them): the number of study rows, the diamond's vertices against
the back-transformed model estimate, the axis scale, the risk-of-bias cells and legend,
the contour regions of a funnel.  Saving is checked for valid, deterministic files.
"""

from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from scipy import stats

from netgrade.pairwise import rma
from netgrade.report.plots import PlotError, forest_plot, funnel_plot, normalise_rob, save_figure

from .reference import data_path, expected

Z95 = float(stats.norm.ppf(0.975))
MINUS = "\u2212"


# ----------------------------------------------------------------------------- helpers


def find(fig, gid):
    """The artists of ``fig`` whose gid is ``gid`` (or starts with it, if it ends in '*')."""
    prefix = gid.endswith("*")
    key = gid[:-1] if prefix else gid

    def match(a):
        g = a.get_gid()
        return g is not None and (g.startswith(key) if prefix else g == key)

    return [a for a in fig.findobj(match=match) if a is not fig]


def one(fig, gid):
    found = find(fig, gid)
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    return found[0]


def texts(fig, gid):
    """Texts with a gid prefix, in the order of the number after the prefix."""
    found = find(fig, gid + "*")
    return [t.get_text() for t in sorted(found, key=lambda t: int(t.get_gid().rsplit("-", 1)[1]))]


def notes(fig):
    return " ".join(texts(fig, "forest-note-"))


def panel(fig):
    return one(fig, "forest-panel")


def fmt(x, d=2):
    s = f"{x:.{d}f}"
    return s.replace("-", MINUS)


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bcg():
    return expected("dat.bcg")["analyses"]["RR"]["input"]


@pytest.fixture(scope="module")
def re_fit(bcg):
    return rma(bcg["yi"], bcg["vi"], studies=bcg["slab"], measure="RR")


@pytest.fixture(scope="module")
def fe_fit(bcg):
    return rma(bcg["yi"], bcg["vi"], studies=bcg["slab"], measure="RR", method="FE")


@pytest.fixture(scope="module")
def md_fit():
    a = expected("dat.normand1999")["analyses"]["MD"]["input"]
    return rma(a["yi"], a["vi"], studies=a["slab"], measure="MD")


@pytest.fixture(scope="module")
def re_fig(re_fit):
    return forest_plot(re_fit, title="BCG vaccine", direction="lower")


@pytest.fixture(scope="module")
def rob_table(bcg):
    slab = bcg["slab"]
    return pd.DataFrame(
        {
            "Randomisation process": ["low", "some concerns", "high"] * 4 + ["Low"],
            "Missing outcome data": ["some concerns"] * 6 + ["high"] * 7,
            "Measurement of the outcome": [None, "low"] + ["low"] * 11,
            "overall": ["high", "some concerns", "low"] * 4 + ["low"],
        },
        index=slab,
    )


# ------------------------------------------------------------------- forest: random effects


def test_forest_draws_one_row_per_study(re_fig, re_fit, bcg):
    squares = one(re_fig, "forest-studies")
    offsets = squares.get_offsets()
    assert len(offsets) == re_fit.k == 13
    np.testing.assert_allclose(offsets[:, 0], np.exp(bcg["yi"]), rtol=1e-12)
    np.testing.assert_allclose(offsets[:, 1], np.arange(1, 14))
    assert texts(re_fig, "study-label-") == bcg["slab"]
    ci = one(re_fig, "forest-ci").get_segments()
    assert len(ci) == 13
    # every interval is the Wald interval of the study, back-transformed
    lo = np.exp(np.asarray(bcg["yi"]) - Z95 * np.sqrt(bcg["vi"]))
    hi = np.exp(np.asarray(bcg["yi"]) + Z95 * np.sqrt(bcg["vi"]))
    np.testing.assert_allclose([s[0][0] for s in ci], lo, rtol=1e-12)
    np.testing.assert_allclose([s[1][0] for s in ci], hi, rtol=1e-12)


def test_forest_squares_grow_with_weight(re_fig, re_fit):
    sizes = one(re_fig, "forest-studies").get_sizes()
    assert list(np.argsort(sizes, kind="stable")) == list(np.argsort(re_fit.weights, kind="stable"))
    # area proportional to weight (none is small enough to hit the minimum size)
    np.testing.assert_allclose(sizes / sizes.max(), re_fit.weights / re_fit.weights.max(), rtol=1e-12)


def test_forest_diamond_is_the_back_transformed_estimate(re_fig, re_fit):
    xy = one(re_fig, "forest-diamond").get_xy()
    xs = sorted(set(np.round(xy[:, 0], 12)))
    np.testing.assert_allclose(
        xs, np.exp([re_fit.ci_low, re_fit.estimate, re_fit.ci_high]), rtol=1e-10
    )
    est = np.exp(re_fit.estimate)
    # the apexes are at the estimate, the widest points at the interval ends
    assert np.isclose(xy[1, 0], est) and np.isclose(xy[3, 0], est)
    assert one(re_fig, "pooled-label").get_text() == "Random-effects model (REML)"
    assert one(re_fig, "pooled-estimate").get_text() == (
        f"{fmt(est)} [{fmt(math.exp(re_fit.ci_low))}, {fmt(math.exp(re_fit.ci_high))}]"
    )


def test_forest_prediction_interval_under_the_diamond(re_fig, re_fit):
    (seg,) = one(re_fig, "forest-prediction").get_segments()
    np.testing.assert_allclose([seg[0][0], seg[1][0]], np.exp([re_fit.pi_low, re_fit.pi_high]), rtol=1e-10)
    diamond_y = one(re_fig, "forest-diamond").get_xy()[0, 1]
    assert seg[0][1] > diamond_y  # below it (the y axis runs downwards)
    assert one(re_fig, "prediction-label").get_text() == "95% prediction interval"


def test_forest_log_axis_with_natural_ticks(re_fig):
    ax = panel(re_fig)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Risk ratio (log scale)"
    ticks = list(ax.get_xticks())
    assert 1.0 in ticks and 0.5 in ticks
    labels = [ax.xaxis.get_major_formatter()(t, i) for i, t in enumerate(ticks)]
    assert "1" in labels and "0.5" in labels
    lo, hi = ax.get_xlim()
    assert lo <= min(ticks) and hi >= max(ticks)
    ref = one(re_fig, "forest-refline")
    assert np.allclose(ref.get_segments()[0][:, 0], 1.0)


def test_forest_text_columns(re_fig, re_fit, bcg):
    est = texts(re_fig, "study-estimate-")
    y, v = bcg["yi"][0], bcg["vi"][0]
    assert est[0] == f"{fmt(math.exp(y))} [{fmt(math.exp(y - Z95 * v**0.5))}, {fmt(math.exp(y + Z95 * v**0.5))}]"
    weights = texts(re_fig, "study-weight-")
    assert weights == [f"{w:.1f}%" for w in re_fit.weights]
    header = [t.get_text() for t in one(re_fig, "forest-table").texts if t.get_fontweight() == "bold"]
    assert "RR [95% CI]" in header and "Weight" in header and "Study" in header


def test_forest_heterogeneity_and_direction_notes(re_fig, re_fit):
    text = notes(re_fig)
    assert f"\u03c4\u00b2 = {re_fit.tau2:.2f}" in text
    assert f"I\u00b2 = {re_fit.i2:.0f}%" in text
    assert f"Q = {re_fit.q:.2f}, df = {re_fit.q_df}, p < 0.001" in text
    assert f"Test for overall effect: z = {fmt(re_fit.stat)}, p < 0.001" in text
    assert "Smaller values are better." in text
    assert one(re_fig, "favours-left").get_text() == "Favours treatment"
    assert one(re_fig, "favours-right").get_text() == "Favours control"
    assert one(re_fig, "forest-title-0").get_text() == "BCG vaccine"


def test_forest_uses_agg_without_pyplot(re_fig):
    assert isinstance(re_fig.canvas, FigureCanvasAgg)
    # not registered with pyplot (no figure manager): callers need not close the figures
    assert re_fig.canvas.manager is None


# ------------------------------------------------------------ forest: other kinds of fit


def test_forest_common_effect(fe_fit):
    fig = forest_plot(fe_fit)
    assert one(fig, "pooled-label").get_text() == "Common-effect model"
    assert find(fig, "forest-prediction") == []
    assert "\u03c4\u00b2" not in notes(fig)
    xy = one(fig, "forest-diamond").get_xy()
    np.testing.assert_allclose(
        [xy[0, 0], xy[1, 0], xy[2, 0]], np.exp([fe_fit.ci_low, fe_fit.estimate, fe_fit.ci_high]), rtol=1e-10
    )


def test_forest_continuous_measure_on_a_linear_axis(md_fit):
    fig = forest_plot(md_fit, favours=("Favours specialist care", "Favours routine care"))
    ax = panel(fig)
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "Mean difference"
    assert np.allclose(one(fig, "forest-refline").get_segments()[0][:, 0], 0.0)
    xy = one(fig, "forest-diamond").get_xy()
    np.testing.assert_allclose([xy[0, 0], xy[1, 0], xy[2, 0]], [md_fit.ci_low, md_fit.estimate, md_fit.ci_high])
    est = texts(fig, "study-estimate-")
    assert est[0].startswith(f"{MINUS}20.00 [{MINUS}32.47, {MINUS}7.53]")
    assert one(fig, "favours-left").get_text() == "Favours specialist care"
    assert len(one(fig, "forest-studies").get_offsets()) == 9


def test_forest_analysis_scale_for_a_ratio(re_fit):
    fig = forest_plot(re_fit, transform="identity")
    ax = panel(fig)
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "Log risk ratio"
    np.testing.assert_allclose(one(fig, "forest-studies").get_offsets()[:, 0], re_fit.yi)
    assert np.allclose(one(fig, "forest-refline").get_segments()[0][:, 0], 0.0)


def test_forest_two_studies(bcg):
    res = rma(bcg["yi"][:2], bcg["vi"][:2], studies=bcg["slab"][:2], measure="OR")
    fig = forest_plot(res)
    assert len(one(fig, "forest-studies").get_offsets()) == 2
    assert texts(fig, "study-label-") == bcg["slab"][:2]
    assert "df = 1" in notes(fig)
    one(fig, "forest-diamond")
    assert panel(fig).get_xlabel() == "Odds ratio (log scale)"


def test_forest_single_study_common_effect(bcg):
    res = rma(bcg["yi"][:1], bcg["vi"][:1], studies=bcg["slab"][:1], measure="RR", method="FE")
    fig = forest_plot(res)
    assert len(one(fig, "forest-studies").get_offsets()) == 1
    assert "not estimable" in notes(fig)


def test_forest_hartung_knapp_label(bcg):
    res = rma(bcg["yi"], bcg["vi"], studies=bcg["slab"], measure="RR", test="knha")
    fig = forest_plot(res)
    assert one(fig, "pooled-label").get_text() == "Random-effects model (REML, Hartung\u2013Knapp)"
    assert f"t = {fmt(res.stat)}, df = 12" in notes(fig)


def test_forest_meta_regression_shows_studies_only(bcg):
    with open(data_path("dat.bcg"), encoding="utf-8") as fh:
        ablat = [float(r["ablat"]) for r in csv.DictReader(fh)]
    res = rma(bcg["yi"], bcg["vi"], studies=bcg["slab"], measure="RR", mods=ablat)
    fig = forest_plot(res)
    assert len(one(fig, "forest-studies").get_offsets()) == 13
    assert find(fig, "forest-diamond") == [] and find(fig, "forest-prediction") == []
    text = notes(fig)
    assert "meta-regression" in text and "no pooled estimate" in text
    assert "Residual heterogeneity" in text and "Test of moderators: QM" in text
    # the funnel of a meta-regression shows residuals around 0
    fun = funnel_plot(res)
    np.testing.assert_allclose(one(fun, "funnel-studies").get_offsets()[:, 0], res.residuals())
    assert one(fun, "funnel-panel").get_xlabel() == "Residual (log risk ratio)"


@pytest.mark.parametrize(
    "sort_by, key",
    [("estimate", lambda y, v, w: y), ("weight", lambda y, v, w: -w), ("precision", lambda y, v, w: v)],
)
def test_forest_sorting(re_fit, sort_by, key):
    fig = forest_plot(re_fit, sort_by=sort_by)
    order = np.argsort(key(re_fit.yi, re_fit.vi, re_fit.weights), kind="stable")
    assert texts(fig, "study-label-") == [re_fit.studies[i] for i in order]
    np.testing.assert_allclose(one(fig, "forest-studies").get_offsets()[:, 0], np.exp(re_fit.yi[order]))


def test_forest_custom_labels_and_bad_options(re_fit):
    labels = [f"S{i}" for i in range(re_fit.k)]
    assert texts(forest_plot(re_fit, labels=labels), "study-label-") == labels
    with pytest.raises(PlotError, match="labels"):
        forest_plot(re_fit, labels=labels[:3])
    with pytest.raises(PlotError, match="sort_by"):
        forest_plot(re_fit, sort_by="year")
    with pytest.raises(PlotError, match="direction"):
        forest_plot(re_fit, direction="up")
    with pytest.raises(PlotError, match="positive"):
        forest_plot(re_fit, xlim=(0, 2))
    with pytest.raises(PlotError, match="transform"):
        forest_plot(re_fit, transform="cube")
    with pytest.raises(PlotError, match="RMAResult"):
        forest_plot(object())


def test_forest_xlim_cuts_intervals_with_arrows(re_fit):
    fig = forest_plot(re_fit, xlim=(0.1, 2))
    ax = panel(fig)
    assert ax.get_xlim() == pytest.approx((0.1, 2))
    segs = one(fig, "forest-ci").get_segments()
    assert all(0.1 - 1e-12 <= s[0][0] and s[1][0] <= 2 + 1e-12 for s in segs)
    lo = np.exp(re_fit.yi - Z95 * np.sqrt(re_fit.vi))
    hi = np.exp(re_fit.yi + Z95 * np.sqrt(re_fit.vi))
    left = one(fig, "forest-arrows-left").get_offsets()
    right = one(fig, "forest-arrows-right").get_offsets()
    assert len(left) == int(np.sum(lo < 0.1)) and np.allclose(left[:, 0], 0.1)
    assert len(right) == int(np.sum(hi > 2)) and np.allclose(right[:, 0], 2)
    assert ax.get_xticks()[0] >= 0.1 and ax.get_xticks()[-1] <= 2
    # a diamond wholly outside the limits is shown by an arrowhead on its row
    fig = forest_plot(re_fit, xlim=(0.8, 1.25))
    pooled_y = one(fig, "forest-diamond").get_xy()[0, 1]
    left = one(fig, "forest-arrows-left").get_offsets()
    assert pooled_y in set(left[:, 1])


def test_forest_direction_higher_swaps_default_favours(md_fit):
    fig = forest_plot(md_fit, direction="higher")
    assert one(fig, "favours-left").get_text() == "Favours control"
    assert "Larger values are better." in notes(fig)
    assert find(forest_plot(md_fit, favours=None), "favours-left") == []


def test_forest_long_labels_do_not_overlap(bcg):
    long = "A very long study label: the Multicentre Randomised Trial of Something Else Entirely (MRTS-2) $5 a_b"
    res = rma(bcg["yi"][:2], bcg["vi"][:2], studies=[long, "B"], measure="RR")
    for max_w in (3.0, None):
        fig = forest_plot(res, max_label_width=max_w)
        label = find(fig, "study-label-0")[0]
        # shown verbatim: no mathtext for '$' and '_'
        assert label.get_text().replace("\n", " ") == long and label.get_parse_math() is False
        renderer = fig.canvas.get_renderer()
        box = label.get_window_extent(renderer)
        ax_box = panel(fig).get_window_extent(renderer)
        assert box.x1 < ax_box.x0
        assert box.x0 >= 0
        if max_w is not None:
            assert "\n" in label.get_text() and box.width <= max_w * fig.dpi + 1
            # the wrapped row is taller: the next row moves down by more than one row
            ys = one(fig, "forest-studies").get_offsets()[:, 1]
            assert ys[1] - ys[0] > 1.2
        else:
            assert "\n" not in label.get_text()


def test_forest_height_scales_with_k():
    rng = np.random.default_rng(7)
    heights = {}
    for k in (5, 100):
        res = rma(rng.normal(0, 0.3, k), rng.uniform(0.02, 0.2, k), measure="OR")
        fig = forest_plot(res, show_weights=False)
        heights[k] = fig.get_figheight()
        assert len(one(fig, "forest-studies").get_offsets()) == k
        assert find(fig, "study-weight-*") == []
    assert heights[100] - heights[5] == pytest.approx(95 * 0.24, rel=1e-9)


# ---------------------------------------------------------------- forest: risk of bias


def test_forest_risk_of_bias_columns(re_fit, rob_table):
    fig = forest_plot(re_fit, risk_of_bias=rob_table)
    headers = texts(fig, "rob-header-")
    assert headers == ["D1", "D2", "D3", "Overall"]
    judged = rob_table.apply(lambda col: col.map(normalise_rob))
    for cat in ("low", "some", "high", "none"):
        expected_n = int((judged == cat).to_numpy().sum())
        cells = find(fig, f"rob-{cat}")
        got = len(cells[0].get_offsets()) if cells else 0
        assert got == expected_n, cat
    # the single missing judgement is Aronson's third domain, drawn in the third column
    none = one(fig, "rob-none").get_offsets()
    assert len(none) == 1 and none[0][1] == 1.0
    assert none[0][0] == pytest.approx(one(fig, "rob-header-2").get_position()[0])
    legend = one(fig, "rob-legend")
    assert [t.get_text() for t in legend.get_texts()] == [
        "Low risk of bias (+)",
        "Some concerns (?)",
        "High risk of bias (\u2212)",
        "No information",
    ]
    # colour-blind safe palette (Okabe-Ito), one colour per judgement
    colours = {matplotlib.colors.to_hex(one(fig, f"rob-{c}").get_facecolor()[0]) for c in ("low", "some", "high")}
    assert colours == {"#009e73", "#f0e442", "#d55e00"}
    marks = [t.get_text() for t in one(fig, "forest-table").texts if t.get_text() in {"+", "?", "\u2212"}]
    assert len(marks) == int((judged != "none").to_numpy().sum())
    text = notes(fig)
    assert "D1, Randomisation process" in text and "D3, Measurement of the outcome" in text


def test_forest_risk_of_bias_follows_sorting_and_reports_missing(re_fit, rob_table):
    partial = rob_table.drop(index=re_fit.studies[0])
    fig = forest_plot(re_fit, risk_of_bias=partial, sort_by="estimate")
    order = np.argsort(re_fit.yi, kind="stable")
    row_of_first = int(np.flatnonzero(order == 0)[0]) + 1
    none = one(fig, "rob-none").get_offsets()
    assert set(none[:, 1]) == {row_of_first}
    assert len(none) == 4  # all columns of the study without a row
    assert f"No risk-of-bias assessment for: {re_fit.studies[0]}." in notes(fig)


def test_forest_risk_of_bias_rejects_unknown_judgements(re_fit, rob_table):
    bad = rob_table.copy()
    bad.iloc[2, 0] = "medium"
    with pytest.raises(PlotError, match=r"Rosenthal et al, 1960.*Randomisation process.*medium"):
        forest_plot(re_fit, risk_of_bias=bad)
    with pytest.raises(PlotError, match="none of its rows"):
        forest_plot(re_fit, risk_of_bias=pd.DataFrame({"D1": ["low"]}, index=["Nobody"]))
    assert [normalise_rob(v) for v in ("Low", "unclear", "+", "-", "High risk", None, float("nan"))] == [
        "low", "some", "low", "high", "high", "none", "none"
    ]


# ------------------------------------------------------------------------------ funnel


def test_funnel_plain(re_fit):
    fig = funnel_plot(re_fit)
    ax = one(fig, "funnel-panel")
    offsets = one(fig, "funnel-studies").get_offsets()
    np.testing.assert_allclose(offsets[:, 0], re_fit.yi)
    np.testing.assert_allclose(offsets[:, 1], np.sqrt(re_fit.vi))
    assert ax.get_xlabel() == "Log risk ratio" and ax.get_ylabel() == "Standard error"
    assert ax.yaxis_inverted() and ax.get_ylim()[1] == 0
    assert np.allclose(one(fig, "funnel-refline").get_xdata(), re_fit.estimate)
    # pseudo-confidence region: estimate ± 1.96 SE, apex at SE = 0
    xs, ys = one(fig, "funnel-pseudo-ci").get_data()
    np.testing.assert_allclose(xs, re_fit.estimate - Z95 * np.asarray(ys))
    assert ys[0] == 0 and ys[-1] == ax.get_ylim()[0]
    assert find(fig, "funnel-legend") == []


def test_funnel_contours(re_fit):
    fig = funnel_plot(re_fit, contours=(0.99, 0.90, 0.95))
    ax = one(fig, "funnel-panel")
    ymax = ax.get_ylim()[0]
    for level in (0.90, 0.95, 0.99):
        xy = one(fig, f"funnel-contour-{level:g}").get_xy()
        z = stats.norm.ppf(1 - (1 - level) / 2)
        # centred on the null, half-width z * SE at every SE
        np.testing.assert_allclose(np.abs(xy[:, 0]), z * xy[:, 1], rtol=1e-12, atol=1e-15)
        assert np.isclose(xy[:, 0].max(), z * ymax)
    one(fig, "funnel-contour-outer")
    legend = [t.get_text() for t in one(fig, "funnel-legend").get_texts()]
    assert legend == [
        "Studies",
        "Pooled estimate",
        "p > 0.10",
        "0.05 < p \u2264 0.10",
        "0.01 < p \u2264 0.05",
        "p \u2264 0.01",
    ]
    # shading darkens with significance
    shades = [one(fig, f"funnel-contour-{lv:g}").get_facecolor()[0] for lv in (0.90, 0.95, 0.99)]
    assert shades[0] > shades[1] > shades[2]
    assert find(fig, "funnel-pseudo-ci") == []
    # percentages are accepted, as in metafor
    fig2 = funnel_plot(re_fit, contours=(90, 95))
    assert [t.get_text() for t in one(fig2, "funnel-legend").get_texts()][-1] == "p \u2264 0.05"
    with pytest.raises(PlotError, match="between 0 and 1"):
        funnel_plot(re_fit, contours=(0.95, 1.5e2))


def test_funnel_filled_studies(bcg):
    tf = expected("dat.bcg")["analyses"]["RR"]["trimfill"]["REML_L0"]
    assert tf["k0"] == 1
    res = rma(bcg["yi"], bcg["vi"], studies=bcg["slab"], measure="RR")
    fig = funnel_plot(res, filled=(tf["filled_yi"], tf["filled_vi"]), refline=tf["estimate"])
    filled = one(fig, "funnel-filled")
    np.testing.assert_allclose(filled.get_offsets(), np.column_stack([tf["filled_yi"], np.sqrt(tf["filled_vi"])]))
    assert np.allclose(filled.get_facecolor()[0], (1, 1, 1, 1))  # open circles
    assert len(one(fig, "funnel-studies").get_offsets()) == 13
    assert np.allclose(one(fig, "funnel-refline").get_xdata(), tf["estimate"])
    legend = [t.get_text() for t in one(fig, "funnel-legend").get_texts()]
    assert "Filled studies (trim and fill)" in legend and "Reference line" in legend
    # a dict or a trim-and-fill-like object work too
    fig2 = funnel_plot(res, filled={"yi": tf["filled_yi"], "vi": tf["filled_vi"]})
    assert len(one(fig2, "funnel-filled").get_offsets()) == 1
    with pytest.raises(PlotError, match="variances"):
        funnel_plot(res, filled=([0.1, 0.2], [0.3]))


@pytest.mark.parametrize("yaxis, f, inverted", [("vi", lambda v: v, True), ("seinv", lambda v: 1 / np.sqrt(v), False)])
def test_funnel_other_vertical_axes(re_fit, yaxis, f, inverted):
    fig = funnel_plot(re_fit, yaxis=yaxis)
    ax = one(fig, "funnel-panel")
    np.testing.assert_allclose(one(fig, "funnel-studies").get_offsets()[:, 1], f(re_fit.vi))
    assert bool(ax.yaxis_inverted()) is inverted
    xs, ys = one(fig, "funnel-pseudo-ci").get_data()
    se = np.sqrt(ys) if yaxis == "vi" else 1 / np.asarray(ys)
    np.testing.assert_allclose(xs, re_fit.estimate - Z95 * se)
    assert np.all(np.isfinite(xs))
    with pytest.raises(PlotError, match="yaxis"):
        funnel_plot(re_fit, yaxis="n")


# ------------------------------------------------------------------------------ saving


def test_save_is_byte_identical_and_valid(tmp_path, bcg, rob_table):
    res = rma(bcg["yi"][:4], bcg["vi"][:4], studies=bcg["slab"][:4], measure="RR")
    fig = forest_plot(res, risk_of_bias=rob_table, title="Determinism")
    first = save_figure(fig, tmp_path / "a" / "forest", dpi=40)
    assert [p.name for p in first] == ["forest.png", "forest.svg"]
    blobs = [p.read_bytes() for p in first]
    second = save_figure(fig, tmp_path / "b" / "forest", dpi=40)
    assert [p.read_bytes() for p in second] == blobs
    # a freshly built figure of the same result gives the same bytes
    again = forest_plot(res, risk_of_bias=rob_table, title="Determinism")
    fresh = save_figure(again, tmp_path / "c" / "forest", dpi=40)
    assert [p.read_bytes() for p in fresh] == blobs
    png, svg = blobs
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert b"<dc:date>" not in svg and b"Matplotlib v" not in svg
    assert b"Software" not in png and b"Matplotlib" not in png
    # the ids survive into the SVG, and are unique
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)) and "forest-diamond" in ids


def test_save_ignores_user_rcparams(tmp_path, md_fit):
    fig_a = funnel_plot(md_fit, contours=(0.9, 0.95, 0.99))
    a = [p.read_bytes() for p in save_figure(fig_a, tmp_path / "a", dpi=40)]
    with matplotlib.rc_context({"font.size": 20, "lines.linewidth": 5, "svg.hashsalt": None, "svg.fonttype": "none"}):
        fig_b = funnel_plot(md_fit, contours=(0.9, 0.95, 0.99))
        b = [p.read_bytes() for p in save_figure(fig_b, tmp_path / "b", dpi=40)]
    assert a == b


def test_save_paths_and_formats(tmp_path, md_fit):
    fig = funnel_plot(md_fit)
    (only,) = save_figure(fig, tmp_path / "one.svg", dpi=40)
    assert only.name == "one.svg" and not (tmp_path / "one.png").exists()
    ET.fromstring(only.read_bytes())
    (png,) = save_figure(fig, tmp_path / "fig.v2", formats=("png",), dpi=40)
    assert png.name == "fig.v2.png" and png.stat().st_size > 0
    with pytest.raises(PlotError, match="not among the formats"):
        save_figure(fig, tmp_path / "x.png", formats=("svg",))
    with pytest.raises(PlotError, match="unsupported format"):
        save_figure(fig, tmp_path / "x", formats=("gif",))


def test_forest_single_group_measure_has_no_null():
    res = rma([-1.2, -0.5, 0.3], [0.1, 0.2, 0.05], measure="PLO")
    fig = forest_plot(res)
    ax = panel(fig)
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "Proportion"
    assert find(fig, "forest-refline") == [] and find(fig, "favours-left") == []
    xy = one(fig, "forest-diamond").get_xy()
    ilogit = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert xy[1, 0] == pytest.approx(ilogit(res.estimate))
    assert xy[0, 0] == pytest.approx(ilogit(res.ci_low)) and xy[2, 0] == pytest.approx(ilogit(res.ci_high))


def test_forest_narrow_ratio_range_keeps_enough_ticks(re_fit):
    ax = panel(forest_plot(re_fit, xlim=(0.8, 1.25)))
    ticks = ax.get_xticks()
    assert len(ticks) >= 3 and 1.0 in ticks
    assert ticks.min() >= 0.8 and ticks.max() <= 1.25
