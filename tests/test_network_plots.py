"""Figures of a network meta-analysis: what is drawn, where, in which orientation.

Each figure is inspected through the ids (``gid``) of its artists: the nodes and lines of
the network graph (widths ordered by the number of studies, node areas proportional to the
number of patients, sub-networks side by side), the rows of the forest against a
reference and its "favours" labels, the T x T cells of the league table with their
row-versus-column texts and the caption that states the orientation, the panels of the
rankogram.  The realistic case is dat.senn2013 with netmeta's random-effects league
(reference placebo, mean difference of HbA1c, smaller is better).  Saving is checked to
give byte-identical PNG and SVG files.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba

from netgrade.report import _network_layout as nl
from netgrade.report.network_plots import (
    ROB_CMAP,
    ROB_EDGE,
    forest_vs_reference,
    league_caption,
    league_heatmap,
    league_table_frame,
    network_graph,
    rankogram,
)
from netgrade.report.plots import PlotError, save_figure

from .reference import expected

MINUS = "\u2212"


# ----------------------------------------------------------------------------- helpers


def find(fig, gid):
    """Artists of ``fig`` whose gid is ``gid`` (or starts with it, if it ends in '*')."""
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


def numbered(fig, prefix):
    """Artists ``<prefix><n>`` (n an integer) sorted by n."""
    found = [a for a in find(fig, prefix + "*") if a.get_gid()[len(prefix):].isdigit()]
    return sorted(found, key=lambda a: int(a.get_gid()[len(prefix):]))


def notes(fig, prefix):
    return " ".join(a.get_text().replace("\n", " ") for a in numbered(fig, prefix))


def fmt(x, d=2):
    s = f"{x:.{d}f}"
    if float(s) == 0:
        s = s.lstrip("-")
    return s.replace("-", MINUS)


def diameters(fig):
    """Node diameters in points (scatter sizes are points squared)."""
    return np.sqrt(one(fig, "network-nodes").get_sizes())


def positions(fig):
    return one(fig, "network-nodes").get_offsets()


def edge_widths(fig):
    return np.array([ln.get_linewidth() for ln in numbered(fig, "network-edge-")])


# ---------------------------------------------------------------------------- fixtures

ABCD = ["A", "B", "C", "D"]
EDGES = [("A", "B", 1), ("A", "C", 3), ("B", "C", 2), ("C", "D", 5)]


@pytest.fixture(scope="module")
def senn():
    d = expected("dat.senn2013")["netmeta"]["DL"]
    league = d["league_random"]
    as_array = lambda x: np.array(x, dtype=float)  # noqa: E731
    return {
        "treatments": list(d["treatments"]),
        "TE": as_array(league["TE"]),
        "lower": as_array(league["lower"]),
        "upper": as_array(league["upper"]),
        "pi_lower": as_array(d["predict"]["lower"]),
        "pi_upper": as_array(d["predict"]["upper"]),
    }


@pytest.fixture(scope="module")
def or3():
    """A hand-made league of three treatments on the log odds ratio scale."""
    theta = np.array([0.0, np.log(0.5), np.log(0.8)])  # A, B, C (log odds)
    se = np.array([[0, 0.20, 0.25], [0.20, 0, 0.30], [0.25, 0.30, 0]])
    est = theta[:, None] - theta[None, :]
    lo, hi = est - 1.96 * se, est + 1.96 * se
    return ["A", "B", "C"], est, lo, hi


# ------------------------------------------------------------------------ network graph


def test_graph_draws_every_node_and_edge_with_widths_ordered_by_studies():
    fig = network_graph(ABCD, EDGES)
    assert isinstance(fig.canvas, FigureCanvasAgg) and fig.canvas.manager is None
    assert len(positions(fig)) == 4
    lines = numbered(fig, "network-edge-")
    assert len(lines) == len(EDGES)
    n = np.array([e[2] for e in EDGES], dtype=float)
    w = edge_widths(fig)
    assert list(np.argsort(w, kind="stable")) == list(np.argsort(n, kind="stable"))
    np.testing.assert_allclose(w / n, w[0] / n[0])  # proportional (no width hits a bound here)
    # each line joins the nodes of its two treatments
    pos = positions(fig)
    for (t1, t2, _), ln in zip(EDGES, lines):
        xs, ys = ln.get_data()
        np.testing.assert_allclose([xs[0], ys[0]], pos[ABCD.index(t1)])
        np.testing.assert_allclose([xs[1], ys[1]], pos[ABCD.index(t2)])
    assert [t.get_text() for t in numbered(fig, "edge-label-")] == ["1", "3", "2", "5"]
    assert [t.get_text() for t in numbered(fig, "node-label-")] == ABCD
    assert "proportional to the number of studies" in notes(fig, "network-note-")


def test_graph_node_area_is_proportional_to_patients():
    patients = {"A": 100, "B": 400, "C": 900, "D": 1600}
    fig = network_graph(ABCD, EDGES, node_size=patients)
    d = diameters(fig)
    np.testing.assert_allclose(d / d[0], [1, 2, 3, 4], rtol=1e-12)  # diameter ~ sqrt(patients)
    sizes = one(fig, "network-nodes").get_sizes()
    np.testing.assert_allclose(sizes / sizes[0], [1, 4, 9, 16], rtol=1e-12)  # area ~ patients
    # the legend's circles use the same scale
    legend = one(fig, "network-size-legend")
    ld = np.sqrt(legend.get_sizes())
    assert len(ld) >= 1
    np.testing.assert_allclose(ld[-1], d[3] * math.sqrt(1000 / 1600), rtol=1e-12)
    assert "Node area is proportional to the number of patients." in notes(fig, "network-note-")


def test_graph_missing_patient_counts_are_open_and_listed():
    fig = network_graph(ABCD, EDGES, node_size={"A": 100, "B": 400, "C": 900})
    faces = one(fig, "network-nodes").get_facecolors()
    assert tuple(faces[3]) == to_rgba("white") and tuple(faces[0]) != to_rgba("white")
    assert "No number of patients for: D" in notes(fig, "network-note-")
    unknown = network_graph(ABCD, EDGES, node_size={t: math.nan for t in ABCD})
    assert len(set(diameters(unknown))) == 1
    assert "Numbers of patients unknown" in notes(unknown, "network-note-")
    with pytest.raises(PlotError, match="unknown treatments"):
        network_graph(ABCD, EDGES, node_size={"E": 10})
    with pytest.raises(PlotError, match="no positive number"):
        network_graph(ABCD, EDGES, node_size={"A": 0, "B": 0})
    with pytest.raises(PlotError, match="non-negative"):
        network_graph(ABCD, EDGES, node_size={"A": -1})


def test_graph_circle_puts_the_reference_on_top_then_clockwise():
    fig = network_graph(ABCD, EDGES, reference="C")
    pos = positions(fig)
    centre = pos.mean(axis=0)
    ang = np.degrees(np.arctan2(pos[:, 1] - centre[1], pos[:, 0] - centre[0]))
    assert ang[2] == pytest.approx(90.0)  # C at the top
    # then clockwise in the order given, skipping the reference: A, B, D
    order = [0, 1, 3]
    clockwise = [(90.0 - ang[i]) % 360 for i in order]
    assert clockwise == sorted(clockwise) and clockwise[0] > 0
    assert one(fig, "node-label-2").get_fontweight() == "bold"
    with pytest.raises(PlotError, match="reference"):
        network_graph(ABCD, EDGES, reference="Z")


def test_graph_stress_layout_is_deterministic_and_follows_graph_distances():
    path = [("A", "B", 1), ("B", "C", 1), ("C", "D", 1)]
    fig1 = network_graph(ABCD, path, layout="stress")
    fig2 = network_graph(ABCD, path, layout="stress")
    p = positions(fig1)
    np.testing.assert_array_equal(p, positions(fig2))
    # a path is drawn straight, the reference (A) at the top, with equal steps
    assert np.ptp(p[:, 0]) < 1e-9
    assert list(np.argsort(-p[:, 1])) == [0, 1, 2, 3]
    steps = -np.diff(p[:, 1])
    np.testing.assert_allclose(steps, steps[0], rtol=1e-6)


def test_stress_layout_recovers_distances():
    # a cycle of 6: a regular hexagon (all edges equal); node 0 at the top
    cyc = [(i, (i + 1) % 6) for i in range(6)]
    x = nl.stress_layout(nl.graph_distances(6, cyc))
    e = [np.hypot(*(x[a] - x[b])) for a, b in cyc]
    np.testing.assert_allclose(e, e[0], rtol=1e-6)
    assert abs(x[0, 0]) < 1e-9 and x[0, 1] > 0
    # a complete graph (classical scaling not unique) still gives a deterministic layout
    k5 = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    a = nl.stress_layout(nl.graph_distances(5, k5))
    b = nl.stress_layout(nl.graph_distances(5, k5))
    np.testing.assert_array_equal(a, b)
    assert nl.components(5, [(0, 2), (3, 4)]) == [[0, 2], [1], [3, 4]]
    d = nl.graph_distances(4, [(0, 1), (1, 2)])
    assert d[0, 2] == 2 and math.isinf(d[0, 3])


@pytest.mark.parametrize("layout", ["circle", "stress"])
def test_graph_disconnected_network_side_by_side_with_a_note(layout):
    names = ["A", "B", "C", "D", "E", "F"]
    fig = network_graph(names, [("A", "B", 2), ("B", "C", 1), ("D", "E", 3)], layout=layout)
    text = notes(fig, "network-note-")
    assert "disconnected: 3 sub-networks ({A, B, C}; {D, E}; {F})" in text
    pos = positions(fig)
    assert pos[[0, 1, 2], 0].max() < pos[[3, 4], 0].min() <= pos[[3, 4], 0].max() < pos[5, 0]
    connected = network_graph(names[:3], [("A", "B", 2), ("B", "C", 1)], layout=layout)
    assert "disconnected" not in notes(connected, "network-note-")


def test_graph_edge_colour_by_risk_of_bias():
    rob = {("B", "A"): "low", ("A", "C"): "Some concerns", ("C", "D"): "high"}
    fig = network_graph(ABCD, EDGES, edge_colour=rob)
    colours = [to_rgba(ln.get_color()) for ln in numbered(fig, "network-edge-")]
    assert colours == [to_rgba(ROB_EDGE[c]) for c in ("low", "some", "none", "high")]
    for cat in ("low", "some", "high", "none"):
        assert len(find(fig, f"network-rob-legend-{cat}")) == 1
    assert one(fig, "network-rob-legend-label-none").get_text() == "Not assessed"
    # numbers in [0, 1] run through the same colours, with a colour bar
    fig = network_graph(ABCD, EDGES, edge_colour={("A", "B"): 0.0, ("A", "C"): 1.0})
    colours = [to_rgba(ln.get_color()) for ln in numbered(fig, "network-edge-")]
    assert colours[0] == ROB_CMAP(0.0) and colours[1] == ROB_CMAP(1.0)
    assert one(fig, "network-rob-colourbar") is not None
    assert "0 = low, 1 = high" in notes(fig, "network-note-")
    with pytest.raises(PlotError, match="not edges"):
        network_graph(ABCD, EDGES, edge_colour={("A", "D"): "low"})
    with pytest.raises(PlotError, match="unknown risk-of-bias"):
        network_graph(ABCD, EDGES, edge_colour={("A", "B"): "dreadful"})
    with pytest.raises(PlotError, match=r"\[0, 1\]"):
        network_graph(ABCD, EDGES, edge_colour={("A", "B"): 1.5})
    with pytest.raises(PlotError, match="mixes"):
        network_graph(ABCD, EDGES, edge_colour={("A", "B"): 0.5, ("A", "C"): "low"})


def test_graph_notes_and_bad_edges():
    fig = network_graph(ABCD, EDGES, multi_arm=["Willms 1999"], note="Doses lumped.", title="Network")
    text = notes(fig, "network-note-")
    assert "1 multi-arm trial (Willms 1999) contributes to more than one line" in text
    assert text.endswith("Doses lumped.")
    assert one(fig, "network-title-0").get_text() == "Network"
    assert "3 multi-arm trials contribute" in notes(network_graph(ABCD, EDGES, multi_arm=3), "network-note-")
    with pytest.raises(PlotError, match="both join A and B"):
        network_graph(ABCD, EDGES + [("B", "A", 2)])
    with pytest.raises(PlotError, match="not among the treatments"):
        network_graph(ABCD, [("A", "Z", 1)])
    with pytest.raises(PlotError, match="compared with itself"):
        network_graph(ABCD, [("A", "A", 1)])
    with pytest.raises(PlotError, match="whole number >= 1"):
        network_graph(ABCD, [("A", "B", 0)])
    with pytest.raises(PlotError, match="layout"):
        network_graph(ABCD, EDGES, layout="spring")
    with pytest.raises(PlotError, match="duplicates"):
        network_graph(["A", "A"], [])


def _label_boxes(fig):
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in numbered(fig, "node-label-")]


@pytest.mark.parametrize("n", [2, 8, 60])
def test_graph_circle_labels_stay_apart_and_inside(n):
    names = [f"Treatment {i:02d}" for i in range(n)]
    edges = [(names[0], names[i], 1 + i % 4) for i in range(1, n)]
    fig = network_graph(names, edges, node_size={t: 50 + 10 * i for i, t in enumerate(names)})
    labels = numbered(fig, "node-label-")
    boxes = _label_boxes(fig)
    w, h = fig.canvas.get_width_height()
    for b in boxes:
        assert b.x0 >= 0 and b.y0 >= 0 and b.x1 <= w and b.y1 <= h
    if n < 60:  # horizontal labels whose boxes do not touch
        assert all(t.get_rotation() == 0.0 for t in labels)
        for i in range(n):
            for j in range(i + 1, n):
                assert not boxes[i].overlaps(boxes[j]), (names[i], names[j])
    else:
        # labels written radially outwards: neighbours' starting points are at least one
        # text height apart, so the diverging labels cannot overlap
        assert any(t.get_rotation() not in (0.0, 360.0) for t in labels)
        ax = one(fig, "network-graph")
        anchors = np.array([ax.transData.transform(t.get_position()) for t in labels])
        height_px = labels[0].get_fontsize() * fig.dpi / 72.0
        gaps = np.hypot(*(anchors - np.roll(anchors, -1, axis=0)).T)
        assert gaps.min() >= height_px
        assert not find(fig, "edge-label-*")  # numbers left out: they would hide the network


# ------------------------------------------------------------------ forest vs reference


def test_forest_one_row_per_treatment_versus_the_reference(senn):
    tr, te, lo, hi = senn["treatments"], senn["TE"], senn["lower"], senn["upper"]
    fig = forest_vs_reference(tr, te[:, 0], lo[:, 0], hi[:, 0], reference="placebo", measure="MD",
                              larger_better=False)
    others = tr[1:]
    pts = one(fig, "nma-forest-estimates").get_offsets()
    assert len(pts) == len(tr) - 1 == 9
    # treatment versus placebo: the placebo column of the league (row versus column)
    np.testing.assert_allclose(pts[:, 0], te[1:, 0], rtol=1e-12)
    assert [t.get_text() for t in numbered(fig, "nma-forest-label-")] == others
    texts = [t.get_text() for t in numbered(fig, "nma-forest-estimate-")]
    assert texts[0] == f"{fmt(te[1, 0])} [{fmt(lo[1, 0])}, {fmt(hi[1, 0])}]" == "−0.84 [−1.32, −0.36]"
    segs = one(fig, "nma-forest-ci").get_segments()
    np.testing.assert_allclose([s[0][0] for s in segs], lo[1:, 0], rtol=1e-12)
    np.testing.assert_allclose([s[1][0] for s in segs], hi[1:, 0], rtol=1e-12)
    assert one(fig, "nma-forest-panel").get_xscale() == "linear"
    assert one(fig, "nma-forest-refline").get_segments()[0][0][0] == 0.0
    # smaller is better: below 0 favours the treatment, on the left
    assert one(fig, "favours-left").get_text() == "Favours treatment"
    assert one(fig, "favours-right").get_text() == "Favours placebo"
    assert one(fig, "nma-forest-caption").get_text() == "Each row: the treatment versus placebo."
    assert ("Mean differences below 0 favour the treatment over placebo (smaller values are better)."
            in notes(fig, "nma-forest-note-"))


def test_forest_favours_labels_swap_with_the_direction(senn):
    tr, te, lo, hi = senn["treatments"], senn["TE"], senn["lower"], senn["upper"]
    args = (tr, te[:, 0], lo[:, 0], hi[:, 0])
    up = forest_vs_reference(*args, reference="placebo", measure="MD", larger_better=True)
    assert one(up, "favours-left").get_text() == "Favours placebo"
    assert one(up, "favours-right").get_text() == "Favours treatment"
    assert "above 0 favour the treatment over placebo (larger values are better)" in notes(up, "nma-forest-note-")
    unknown = forest_vs_reference(*args, reference="placebo", measure="MD")
    assert not find(unknown, "favours-*")
    assert "direction of benefit was not given" in notes(unknown, "nma-forest-note-")


def test_forest_ratio_measure_on_a_log_axis_with_prediction_intervals(or3):
    names, est, lo, hi = or3
    pil, pih = est[:, 0] - 3 * 0.3, est[:, 0] + 3 * 0.3
    fig = forest_vs_reference(names, est[:, 0], lo[:, 0], hi[:, 0], reference="A", measure="OR",
                              pi_low=pil, pi_high=pih, larger_better=True)
    assert one(fig, "nma-forest-panel").get_xscale() == "log"
    np.testing.assert_allclose(one(fig, "nma-forest-estimates").get_offsets()[:, 0], [0.5, 0.8], rtol=1e-12)
    pi = one(fig, "nma-forest-pi").get_segments()
    np.testing.assert_allclose([s[0][0] for s in pi], np.exp(pil[1:]), rtol=1e-12)
    np.testing.assert_allclose([s[1][0] for s in pi], np.exp(pih[1:]), rtol=1e-12)
    ci_w = one(fig, "nma-forest-ci").get_linewidths()[0]
    assert one(fig, "nma-forest-pi").get_linewidths()[0] < ci_w
    assert [t.get_text() for t in numbered(fig, "nma-forest-pi-text-")] == [
        f"[{math.exp(pil[i]):.2f}, {math.exp(pih[i]):.2f}]" for i in (1, 2)]
    assert one(fig, "favours-left").get_text() == "Favours A"
    assert "Odds ratios above 1 favour the treatment over A (larger values are better)." in notes(
        fig, "nma-forest-note-")


def test_forest_sorting_missing_rows_and_errors(senn, or3):
    tr, te, lo, hi = senn["treatments"], senn["TE"], senn["lower"], senn["upper"]
    args = (tr, te[:, 0], lo[:, 0], hi[:, 0])
    fig = forest_vs_reference(*args, reference="placebo", sort_by="benefit", larger_better=False)
    labels = [t.get_text() for t in numbered(fig, "nma-forest-label-")]
    assert labels == [tr[i] for i in np.argsort(te[1:, 0], kind="stable") + 1]
    assert labels[0] == "rosiglitazone"
    fig = forest_vs_reference(*args, reference="placebo", sort_by="benefit", larger_better=True)
    assert [t.get_text() for t in numbered(fig, "nma-forest-label-")][0] == "sulfonylurea"
    fig = forest_vs_reference(*args, reference="placebo", sort_by="name")
    assert [t.get_text() for t in numbered(fig, "nma-forest-label-")] == sorted(tr[1:])
    fig = forest_vs_reference(*args, reference="placebo", sort_by=list(reversed(tr[1:])))
    assert [t.get_text() for t in numbered(fig, "nma-forest-label-")] == list(reversed(tr[1:]))
    with pytest.raises(PlotError, match="needs larger_better"):
        forest_vs_reference(*args, reference="placebo", sort_by="benefit")
    # a row of the league instead of its column: the reference is not 0 against itself
    names, est, lo3, hi3 = or3
    with pytest.raises(PlotError, match="not 0"):
        forest_vs_reference(names, est[1, :], lo3[1, :], hi3[1, :], reference="A", measure="OR")
    with pytest.raises(PlotError, match="does not contain"):
        forest_vs_reference(names, est[:, 0], hi3[:, 0], lo3[:, 0], reference="A", measure="OR")
    # a treatment without an estimate keeps its row and says why
    e, a, b = est[:, 0].copy(), lo3[:, 0].copy(), hi3[:, 0].copy()
    e[2] = a[2] = b[2] = np.nan
    fig = forest_vs_reference(names, e, a, b, reference="A", measure="OR")
    assert [t.get_text() for t in numbered(fig, "nma-forest-estimate-")][1] == "not estimable"
    assert len(one(fig, "nma-forest-estimates").get_offsets()) == 1
    assert "Not estimable: C" in notes(fig, "nma-forest-note-")
    # a reference outside the list: every treatment is a row
    fig = forest_vs_reference(names[1:], est[1:, 0], lo3[1:, 0], hi3[1:, 0], reference="A", measure="OR")
    assert len(one(fig, "nma-forest-estimates").get_offsets()) == 2


# ------------------------------------------------------------------------- league table


def test_league_frame_cells_are_row_versus_column(or3):
    names, est, lo, hi = or3
    frame = league_table_frame(names, est, lo, hi, measure="OR", larger_better=False)
    assert list(frame.index) == list(frame.columns) == names
    assert frame.index.name == "row versus column"
    for i in range(3):
        assert frame.iat[i, i] == names[i]
        for j in range(3):
            if i != j:
                e, a, b = np.exp([est[i, j], lo[i, j], hi[i, j]])
                assert frame.iat[i, j] == f"{fmt(e)} ({fmt(a)} to {fmt(b)})"
    assert frame.loc["B", "A"] == "0.50 (0.34 to 0.74)"  # B versus A
    assert frame.loc["A", "B"] == "2.00 (1.35 to 2.96)"
    assert frame.attrs["caption"] == (
        "Each cell: row treatment versus column treatment (OR < 1 favours the row treatment; "
        "smaller values are better).")
    lower = league_table_frame(names, est, lo, hi, measure="OR", triangle="lower")
    assert lower.loc["A", "B"] == "" and lower.loc["B", "A"] == "0.50 (0.34 to 0.74)"
    upper = league_table_frame(names, est, lo, hi, transform="identity", measure="OR", triangle="upper", digits=3)
    assert upper.loc["B", "A"] == "" and upper.loc["A", "B"].startswith(fmt(est[0, 1], 3))


def test_league_rejects_what_is_not_a_league(or3):
    names, est, lo, hi = or3
    with pytest.raises(PlotError, match="not a league matrix"):  # odds ratios instead of their logs
        league_table_frame(names, np.exp(est), np.exp(lo), np.exp(hi), measure="OR")
    with pytest.raises(PlotError, match="shape"):
        league_table_frame(names, est[:2, :2], lo, hi)
    with pytest.raises(PlotError, match="does not contain"):
        league_table_frame(names, est, hi, lo)
    with pytest.raises(PlotError, match="triangle"):
        league_table_frame(names, est, lo, hi, triangle="diagonal")


def test_league_heatmap_cells_and_orientation_caption(or3):
    names, est, lo, hi = or3
    fig = league_heatmap(names, est, lo, hi, measure="OR", larger_better=False, title="Three")
    cells = find(fig, "league-cell-*")
    assert len(cells) == 9
    assert len(one(fig, "league-cells").get_paths()) == 9
    cell = one(fig, "league-cell-0-1").get_text()
    e, a, b = np.exp([est[0, 1], lo[0, 1], hi[0, 1]])
    assert cell == f"{fmt(e)}\n({fmt(a)} to {fmt(b)})" == "2.00\n(1.35 to 2.96)"
    assert [one(fig, f"league-cell-{i}-{i}").get_text() for i in range(3)] == names
    caption = one(fig, "league-caption").get_text().replace("\n", " ")
    assert caption.startswith("Each cell: row treatment versus column treatment")
    assert "OR < 1 favours the row treatment" in caption
    assert caption == league_caption("OR", None, False)
    assert one(fig, "league-title-0").get_text() == "Three"
    # A vs B: CI excludes 1 -> bold; B vs C (0.625, CI 0.35 to 1.12) -> not bold
    assert one(fig, "league-cell-0-1").get_fontweight() == "bold"
    assert one(fig, "league-cell-1-2").get_fontweight() == "normal"
    assert "Bold: the 95% interval excludes no effect (OR = 1)." in notes(fig, "league-note-")
    # the bar's ends say which side favours whom
    assert one(fig, "league-favours-left").get_text().endswith("Favours row")
    assert one(fig, "league-favours-right").get_text().startswith("Favours column")
    higher = league_heatmap(names, est, lo, hi, measure="OR", larger_better=True)
    assert "OR > 1 favours the row treatment" in one(higher, "league-caption").get_text().replace("\n", " ")
    neutral = league_heatmap(names, est, lo, hi, measure="OR")
    assert "direction of benefit was not given" in one(neutral, "league-caption").get_text().replace("\n", " ")
    assert not find(neutral, "league-favours-*")


def test_league_heatmap_colours_favourable_cells_blue(or3):
    names, est, lo, hi = or3
    fig = league_heatmap(names, est, lo, hi, measure="OR", larger_better=False)
    faces = one(fig, "league-cells").get_facecolors().reshape(3, 3, 4)
    # smaller is better: B vs A (OR 0.5) favours the row -> blue; A vs B -> red
    assert faces[1, 0, 2] > faces[1, 0, 0]
    assert faces[0, 1, 0] > faces[0, 1, 2]
    # a diverging map centred at no effect and symmetric: B vs A and A vs B sit at
    # mirrored positions of the map
    cmap, vmax = colormaps["RdBu_r"], np.abs(est).max()
    for i, j in ((1, 0), (0, 1), (2, 1)):
        np.testing.assert_allclose(faces[i, j], cmap(0.5 + est[i, j] / (2 * vmax)), atol=1e-9)
    assert tuple(faces[0, 0]) == tuple(faces[1, 1])  # the diagonal is grey


def test_league_heatmap_senn2013_matches_the_table(senn):
    tr, te, lo, hi = senn["treatments"], senn["TE"], senn["lower"], senn["upper"]
    frame = league_table_frame(tr, te, lo, hi, measure="MD")
    fig = league_heatmap(tr, te, lo, hi, measure="MD", larger_better=False)
    T = len(tr)
    assert len(find(fig, "league-cell-*")) == T * T == 100
    cells = {t.get_gid(): t.get_text() for t in find(fig, "league-cell-*")}
    for i in range(T):
        for j in range(T):
            assert cells[f"league-cell-{i}-{j}"].replace("\n", " ") == frame.iat[i, j]
    # netmeta: placebo versus acarbose, 0.84 (0.36 to 1.32)
    assert frame.loc["placebo", "acarbose"] == "0.84 (0.36 to 1.32)"
    assert frame.loc["acarbose", "placebo"] == "−0.84 (−1.32 to −0.36)"
    assert one(fig, "league-cell-0-1").get_fontweight() == "bold"
    sita = tr.index("sitagliptin")
    assert one(fig, f"league-cell-0-{sita}").get_fontweight() == "normal"  # CI crosses 0
    assert "MD < 0 favours the row treatment" in one(fig, "league-caption").get_text().replace("\n", " ")


def test_league_heatmap_scales_fonts_for_25_treatments():
    T = 25
    rng = np.random.default_rng(7)
    theta = rng.normal(0, 0.5, T)
    est = theta[:, None] - theta[None, :]
    se = np.full((T, T), 0.2)
    names = [f"Treatment {i}" for i in range(T)]
    fig = league_heatmap(names, est, est - 1.96 * se, est + 1.96 * se, measure="RR")
    assert len(find(fig, "league-cell-*")) == T * T
    assert fig.get_figwidth() <= 15.0 + 2 * 0.2 + 0.1
    assert 4.0 <= one(fig, "league-cell-0-1").get_fontsize() < 5.0
    # ten treatments fit at the full size; a narrower limit shrinks them
    small = league_heatmap(names[:10], est[:10, :10], (est - 0.4)[:10, :10], (est + 0.4)[:10, :10], measure="RR")
    assert one(small, "league-cell-0-1").get_fontsize() == 8.0
    narrow = league_heatmap(names[:10], est[:10, :10], (est - 0.4)[:10, :10], (est + 0.4)[:10, :10],
                            measure="RR", max_width=7.0)
    assert 4.0 < one(narrow, "league-cell-0-1").get_fontsize() < 8.0
    assert narrow.get_figwidth() <= 7.0 + 2 * 0.2 + 1e-9


# ---------------------------------------------------------------------------- rankogram


def _rank_probs(T=4):
    P = np.full((T, T), 0.1 / (T - 1))
    for i in range(T):
        P[i, i] = 0.9
    return P


def test_rankogram_one_panel_per_treatment_with_sucra():
    names = ["A", "B", "C", "D"]
    P = _rank_probs()
    sucra = {"A": 0.95, "B": 0.65, "C": 0.35, "D": 0.05}
    fig = rankogram(names, P, sucra=sucra, larger_better=False, title="Ranks")
    panels = find(fig, "rankogram-panel-*")
    assert len(panels) == 4
    for i in range(4):
        heights = [one(fig, f"rankogram-bar-{i}-{r}").get_height() for r in range(1, 5)]
        np.testing.assert_allclose(heights, P[i])
    assert one(fig, "rankogram-title-0").get_text() == "A\nSUCRA 95.0%"
    assert "Rank 1 = best (smaller values are better)." in notes(fig, "rankogram-note-")
    assert one(fig, "rankogram-figtitle-0").get_text() == "Ranks"
    neutral = rankogram(names, P)
    assert "direction of benefit was not given" in notes(neutral, "rankogram-note-")
    assert one(neutral, "rankogram-title-0").get_text() == "A"


def test_rankogram_sorting_cumulative_and_errors():
    names = ["A", "B", "C", "D"]
    P = _rank_probs()
    fig = rankogram(names, P, sucra=[0.05, 0.35, 0.95, 0.65], sort_by="sucra", cumulative=True, ncols=4)
    lefts = {i: one(fig, f"rankogram-panel-{i}").get_position().x0 for i in range(4)}
    assert sorted(lefts, key=lefts.get) == [2, 3, 1, 0]
    np.testing.assert_allclose(one(fig, "rankogram-cumulative-0").get_ydata(), np.cumsum(P[0]))
    with pytest.raises(PlotError, match="sums to"):
        rankogram(names, P * 0.5)
    with pytest.raises(PlotError, match="shape"):
        rankogram(names, P[:3])
    with pytest.raises(PlotError, match="needs sucra"):
        rankogram(names, P, sort_by="sucra")
    with pytest.raises(PlotError, match="between 0 and 1"):
        rankogram(names, P, sucra=[95, 65, 35, 5])


# ------------------------------------------------------------------------------ saving


def _figures(senn):
    tr, te, lo, hi = senn["treatments"], senn["TE"], senn["lower"], senn["upper"]
    return {
        "graph": lambda: network_graph(ABCD, EDGES, node_size={"A": 100, "B": 400, "C": 900, "D": 1600},
                                       edge_colour={("A", "B"): "low"}, layout="stress", title="Net"),
        "forest": lambda: forest_vs_reference(tr, te[:, 0], lo[:, 0], hi[:, 0], reference="placebo", measure="MD",
                                              pi_low=senn["pi_lower"][:, 0], pi_high=senn["pi_upper"][:, 0],
                                              larger_better=False),
        "league": lambda: league_heatmap(tr[:4], te[:4, :4], lo[:4, :4], hi[:4, :4], measure="MD",
                                         larger_better=False),
        "rankogram": lambda: rankogram(ABCD, _rank_probs(), sucra=[0.9, 0.6, 0.4, 0.1], larger_better=True),
    }


@pytest.mark.parametrize("kind", ["graph", "forest", "league", "rankogram"])
def test_save_is_byte_identical(tmp_path, senn, kind):
    make = _figures(senn)[kind]
    fig = make()
    first = save_figure(fig, tmp_path / "a" / kind, dpi=30)
    assert [p.name for p in first] == [f"{kind}.png", f"{kind}.svg"]
    blobs = [p.read_bytes() for p in first]
    if kind == "graph":  # the same figure saved again
        assert [p.read_bytes() for p in save_figure(fig, tmp_path / "b" / kind, dpi=30)] == blobs
    # a figure built again from the same arrays gives the same bytes
    assert [p.read_bytes() for p in save_figure(make(), tmp_path / "c" / kind, dpi=30)] == blobs
    png, svg = blobs
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    root = ET.fromstring(svg)
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    wanted = {"graph": "network-nodes", "forest": "nma-forest-ci", "league": "league-cell-0-1",
              "rankogram": "rankogram-panel-0"}[kind]
    assert wanted in ids


def test_frame_is_a_plain_dataframe(or3):
    names, est, lo, hi = or3
    frame = league_table_frame(names, est, lo, hi, measure="OR")
    assert isinstance(frame, pd.DataFrame) and frame.shape == (3, 3)
    assert frame.to_csv().splitlines()[0] == "row versus column,A,B,C"


def test_user_rcparams_do_not_change_the_files(tmp_path, or3):
    import matplotlib

    names, est, lo, hi = or3
    a = save_figure(league_heatmap(names, est, lo, hi, measure="OR"), tmp_path / "a", formats=("png",), dpi=30)
    with matplotlib.rc_context({"font.size": 20, "lines.linewidth": 5, "image.cmap": "jet"}):
        b = save_figure(league_heatmap(names, est, lo, hi, measure="OR"), tmp_path / "b", formats=("png",), dpi=30)
    assert a[0].read_bytes() == b[0].read_bytes()
