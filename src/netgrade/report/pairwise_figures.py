"""Write the figures of a pairwise analysis (forest and funnel plots) to files."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..errors import NetgradeError
from .plots import forest_plot, funnel_plot, save_figure

FIGURE_FORMATS = ("png", "svg", "pdf")


def _target(path: Path, formats: Sequence[str] | None) -> tuple[Path, tuple[str, ...]]:
    """A path with a known suffix gives that format; a bare stem gives ``formats``."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FIGURE_FORMATS:
        return path.with_suffix(""), (suffix,)
    if suffix:
        raise NetgradeError(f"cannot write a figure as '.{suffix}' ({path}); use .png, .svg or .pdf")
    return path, tuple(formats or ("png", "svg"))


def write_pairwise_figures(
    analysis,
    forest: str | Path | None = None,
    funnel: str | Path | None = None,
    formats: Sequence[str] | None = None,
) -> list[Path]:
    """Draw the forest and/or funnel plot of ``analysis`` (a PairwiseAnalysis or an
    RMAResult) and save them; returns the files written."""
    model = getattr(analysis, "model", analysis)
    if not hasattr(model, "yi"):
        raise NetgradeError("figures need an inverse-variance model (not Mantel-Haenszel or Peto pooling)")
    written: list[Path] = []
    if forest is not None:
        stem, fmts = _target(Path(forest), formats)
        stem.parent.mkdir(parents=True, exist_ok=True)
        written += save_figure(forest_plot(model), stem, formats=fmts)
    if funnel is not None:
        stem, fmts = _target(Path(funnel), formats)
        stem.parent.mkdir(parents=True, exist_ok=True)
        contours = (0.90, 0.95, 0.99) if model.p == 1 else None
        written += save_figure(funnel_plot(model, contours=contours), stem, formats=fmts)
    return written
