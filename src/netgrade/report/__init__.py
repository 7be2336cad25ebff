"""Reports: figures (forest and funnel plots) and their files."""

from .plots import PlotError, forest_plot, funnel_plot, save_figure

__all__ = ["forest_plot", "funnel_plot", "save_figure", "PlotError"]
