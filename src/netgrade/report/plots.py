"""Publication-quality figures: forest and funnel plots, saved as PNG, SVG (or PDF).

>>> from netgrade.pairwise import rma
>>> from netgrade.report.plots import forest_plot, funnel_plot, save_figure
>>> res = rma(yi, vi, studies=labels, measure="RR")            # doctest: +SKIP
>>> save_figure(forest_plot(res, direction="lower"), "out/forest")  # doctest: +SKIP
[PosixPath('out/forest.png'), PosixPath('out/forest.svg')]

Figures are plain :class:`matplotlib.figure.Figure` objects built with the Agg backend
(no display, no pyplot state); :func:`save_figure` writes byte-identical files for the
same figure on every run.
"""

from __future__ import annotations

from ._figure import STYLE, PlotError, save_figure
from .forest import DEFAULT_FAVOURS, ROB_COLOURS, forest_plot, normalise_rob
from .funnel import YAXES, funnel_plot

__all__ = [
    "forest_plot",
    "funnel_plot",
    "save_figure",
    "PlotError",
    "STYLE",
    "DEFAULT_FAVOURS",
    "ROB_COLOURS",
    "YAXES",
    "normalise_rob",
]
