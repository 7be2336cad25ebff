"""Comparison-adjusted funnel plot (Chaimani et al. 2013) and its asymmetry test."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib._pylab_helpers import Gcf
from matplotlib.figure import Figure
from scipy import stats

from netgrade.errors import DataError, ModelError
from netgrade.network.adjusted_funnel import AdjustedFunnel, comparison_adjusted_funnel
from netgrade.pairwise import rma
from netgrade.pairwise.small_study import regtest
from netgrade.report.plots import save_figure

# A small network given in mixed orientations.  Comparison means: A-B 0.5, A-C -0.1, B-C 0.4.
STUDIES = ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]
T1 = ["A", "B", "A", "C", "A", "B", "C"]
T2 = ["B", "A", "C", "A", "C", "C", "B"]
YI = [0.9, -0.2, 0.3, 0.4, -0.25, 0.7, -0.35]
SEI = [0.10, 0.25, 0.30, 0.20, 0.15, 0.40, 0.12]
MEANS = {("A", "B"): 0.5, ("A", "C"): -0.1, ("B", "C"): 0.4}


def _funnel(order=("A", "B", "C"), **kw):
    args = dict(studies=STUDIES, treat1=T1, treat2=T2, yi=YI, sei=SEI, comparison_means=MEANS, order=order)
    args.update(kw)
    return comparison_adjusted_funnel(**args)


def test_orientation_and_centring_by_hand():
    f = _funnel()
    assert f.treat1 == ("A", "A", "A", "A", "A", "B", "B")
    assert f.treat2 == ("B", "B", "C", "C", "C", "C", "C")
    np.testing.assert_array_equal(f.flipped, [False, True, False, True, False, False, True])
    np.testing.assert_allclose(f.yi, [0.9, 0.2, 0.3, -0.4, -0.25, 0.7, 0.35])
    np.testing.assert_allclose(f.mean, [0.5, 0.5, -0.1, -0.1, -0.1, 0.4, 0.4])
    np.testing.assert_allclose(f.adjusted, [0.4, -0.3, 0.4, -0.3, -0.15, 0.3, -0.05], atol=1e-15)
    assert f.comparisons[0] == "A vs B" and f.k == 7
    assert "earlier in the order minus the later one; order: A, B, C" in f.orientation
    frame = f.to_frame()
    assert list(frame.columns) == ["study", "treat1", "treat2", "comparison", "yi", "sei", "mean", "adjusted",
                                   "flipped"]
    text = f.summary()
    assert "Chaimani" in text and "3 contrast(s) reversed" in text and "order: A, B, C" in text


def test_reversed_order_flips_every_sign():
    f = _funnel()
    g = _funnel(order=("C", "B", "A"))
    assert g.treat1 == f.treat2 and g.treat2 == f.treat1
    np.testing.assert_allclose(g.adjusted, -np.asarray(f.adjusted), atol=1e-15)
    np.testing.assert_array_equal(g.flipped, ~np.asarray(f.flipped))
    tf, tg = f.test(), g.test()
    assert tg.slope == pytest.approx(-tf.slope, abs=1e-12)
    assert tg.intercept == pytest.approx(-tf.intercept, abs=1e-12)
    assert tg.pval == pytest.approx(tf.pval, rel=1e-12)


def test_input_orientation_and_mean_orientation_do_not_matter():
    f = _funnel()
    # every contrast given the other way round
    g = comparison_adjusted_funnel(STUDIES, T2, T1, -np.asarray(YI), SEI, MEANS, ("A", "B", "C"))
    np.testing.assert_allclose(g.adjusted, f.adjusted, atol=1e-15)
    assert g.treat1 == f.treat1
    # comparison means given the other way round
    rev = {(b, a): -v for (a, b), v in MEANS.items()}
    h = comparison_adjusted_funnel(STUDIES, T1, T2, YI, SEI, rev, ("A", "B", "C"))
    np.testing.assert_allclose(h.adjusted, f.adjusted, atol=1e-15)
    # both orientations, consistent: fine; inconsistent: an error
    both = {**MEANS, **rev}
    comparison_adjusted_funnel(STUDIES, T1, T2, YI, SEI, both, ("A", "B", "C"))
    both[("B", "A")] = 0.5
    with pytest.raises(DataError, match="negatives"):
        comparison_adjusted_funnel(STUDIES, T1, T2, YI, SEI, both, ("A", "B", "C"))


def test_symmetric_funnel_has_zero_slope():
    # pairs of contrasts at the same precision, mirrored around their comparison's mean
    # once oriented: s4 (A - C) and s5 (C - A) both lie 0.05 above their own orientation's
    # mean, so after s5 is reversed they sit at +0.05 and -0.05
    studies = [f"s{i}" for i in range(8)]
    t1 = ["A", "A", "B", "B", "A", "C", "C", "C"]
    t2 = ["B", "B", "C", "C", "C", "A", "A", "A"]
    means = {("A", "B"): 0.3, ("B", "C"): -0.2, ("A", "C"): 0.1}
    d = [0.2, -0.2, 0.5, -0.5, 0.05, 0.05, 0.4, -0.4]
    se = [0.1, 0.1, 0.4, 0.4, 0.2, 0.2, 0.3, 0.3]
    yi = []
    for a, b, di in zip(t1, t2, d):
        m = means[(a, b)] if (a, b) in means else -means[(b, a)]
        yi.append(m + di)
    f = comparison_adjusted_funnel(studies, t1, t2, yi, se, means, ["A", "B", "C"])
    np.testing.assert_allclose(f.adjusted, [0.2, -0.2, 0.5, -0.5, 0.05, -0.05, -0.4, 0.4], atol=1e-15)
    for model in ("lm", "fe"):
        t = f.test(model)
        assert t.slope == pytest.approx(0.0, abs=1e-12)
        assert t.intercept == pytest.approx(0.0, abs=1e-12)
        assert t.pval == pytest.approx(1.0, abs=1e-10)


def test_egger_test_matches_the_original_regression_and_the_pairwise_regtest():
    f = _funnel()
    d, se = np.asarray(f.adjusted), np.asarray(f.sei)
    t = f.test()
    # Egger et al. (1997): ordinary least squares of d/se on 1/se; its intercept is our slope
    ols = stats.linregress(1.0 / se, d / se)
    assert t.slope == pytest.approx(ols.intercept, rel=1e-10)
    assert t.intercept == pytest.approx(ols.slope, rel=1e-10)
    assert t.slope_se == pytest.approx(ols.intercept_stderr, rel=1e-10)
    assert t.df == len(d) - 2
    assert t.pval == pytest.approx(2 * stats.t.sf(abs(ols.intercept / ols.intercept_stderr), len(d) - 2),
                                   rel=1e-10)
    # the same data through the pairwise module's regression test
    lm = regtest(rma(d, se**2, method="FE"), model="lm")
    assert t.stat == pytest.approx(lm.stat, rel=1e-10) and t.pval == pytest.approx(lm.pval, rel=1e-10)
    fe = f.test("fe")
    ref = regtest(rma(d, se**2, method="FE"), model="rma")
    assert fe.df is None
    assert fe.stat == pytest.approx(ref.stat, rel=1e-10) and fe.pval == pytest.approx(ref.pval, rel=1e-10)
    assert fe.slope == pytest.approx(t.slope, rel=1e-12)
    assert fe.slope_se == pytest.approx(t.slope_se / np.sqrt(t.dispersion), rel=1e-12)
    frame = t.to_frame()
    assert list(frame.index) == ["intercept", "sei"]
    assert "Egger" in t.summary() and "t = " in t.summary() and "z = " in fe.summary()


def test_test_validation():
    f = _funnel()
    with pytest.raises(ModelError, match="unknown test model"):
        f.test("rank")
    g = comparison_adjusted_funnel(["a", "b"], ["A", "A"], ["B", "B"], [0.1, 0.2], [0.1, 0.2], MEANS, ["A", "B"])
    with pytest.raises(ModelError, match="at least 3"):
        g.test()
    h = comparison_adjusted_funnel(["a", "b", "c"], ["A"] * 3, ["B"] * 3, [0.1, 0.2, 0.3], [0.2] * 3, MEANS,
                                   ["A", "B"])
    with pytest.raises(ModelError, match="different precision"):
        h.test()


def test_treatment_missing_from_order_is_named():
    with pytest.raises(ModelError, match=r"B vs C \(missing 'C'\)"):
        _funnel(order=("A", "B"))
    with pytest.raises(ModelError, match="more than once"):
        _funnel(order=("A", "B", "C", "A"))
    with pytest.raises(ModelError, match="no comparison-specific mean for 'A' vs 'C'"):
        comparison_adjusted_funnel(STUDIES, T1, T2, YI, SEI, {("A", "B"): 0.5, ("B", "C"): 0.4}, ("A", "B", "C"))


def test_input_validation():
    with pytest.raises(DataError, match="lengths differ"):
        comparison_adjusted_funnel(STUDIES, T1, T2, YI[:-1], SEI, MEANS, "ABC")
    with pytest.raises(DataError, match=r"study 's1' \(row 1, A vs B\): standard error 0.0"):
        comparison_adjusted_funnel(STUDIES, T1, T2, YI, [0.0] + SEI[1:], MEANS, "ABC")
    with pytest.raises(DataError, match="with itself"):
        comparison_adjusted_funnel(["x"], ["A"], ["A"], [0.1], [0.1], MEANS, "ABC")
    with pytest.raises(DataError, match="not finite"):
        comparison_adjusted_funnel(["x"], ["A"], ["B"], [np.nan], [0.1], MEANS, "ABC")


def test_figure():
    before = Gcf.get_num_fig_managers()
    f = _funnel(measure="OR")
    fig = f.figure(show_test=True, title="Adjusted funnel")
    assert isinstance(fig, Figure)
    assert Gcf.get_num_fig_managers() == before  # no pyplot state
    ax = next(a for a in fig.axes if a.get_gid() == "adjfunnel-panel")
    assert ax.get_ylim()[0] > ax.get_ylim()[1] == 0.0  # standard error axis reversed
    assert "Log odds ratio centred at comparison-specific mean" == ax.get_xlabel()
    legend = next(c for c in fig.get_children() if c.get_gid() == "adjfunnel-legend")
    assert [t.get_text() for t in legend.get_texts()] == ["A vs B", "A vs C", "B vs C"]
    texts = {t.get_gid(): t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and a.get_gid())}
    assert "Order: A, B, C" in texts["adjfunnel-order"]
    assert texts["adjfunnel-test"].startswith("Egger test: p = ")
    # points coloured by comparison: three scatter groups, in the first-seen order
    groups = [c for c in ax.collections if (c.get_gid() or "").startswith("adjfunnel-")]
    assert [len(c.get_offsets()) for c in groups] == [2, 3, 2]
    colours = {tuple(np.round(c.get_facecolor()[0], 3)) for c in groups}
    assert len(colours) == 3
    np.testing.assert_allclose(groups[1].get_offsets(), [[0.4, 0.3], [-0.3, 0.2], [-0.15, 0.15]], atol=1e-12)


def test_figure_files_are_deterministic(tmp_path):
    f = _funnel()
    a = save_figure(f.figure(), tmp_path / "a", formats=("png", "svg"))
    b = save_figure(f.figure(), tmp_path / "b", formats=("png", "svg"))
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes()
    assert isinstance(f, AdjustedFunnel)
    buf = io.StringIO(f.to_json())
    assert '"order"' in buf.getvalue()
