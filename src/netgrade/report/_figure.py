"""Shared machinery of the figures: style, layout helpers, scale names and saving.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas attached, never
through ``pyplot``: no display is needed, nothing is registered in pyplot's global list of
open figures (so callers need not close them), and the user's interactive backend is left
alone.  Every figure is drawn inside one fixed style (:data:`STYLE`), so that a user's
``matplotlibrc`` cannot change what netgrade produces; together with the settings in
:func:`save_figure` this makes the output files byte-identical from run to run.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import threading
from pathlib import Path
from typing import Callable, Iterator, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from ..errors import NetgradeError
from ..transforms import TRANSFORMS, analysis_scale

__all__ = ["PlotError", "STYLE", "save_figure"]


class PlotError(NetgradeError, ValueError):
    """Options of a figure that cannot be honoured (unknown choice, mismatched lengths...).

    A ``ValueError`` too, so that code catching the usual argument errors still works.
    """


# One font that ships with matplotlib: system fonts differ between machines and would
# make the same figure differ byte for byte (and fall-back lists hide missing glyphs).
FONT = "DejaVu Sans"

#: rcParams in force while a figure is built and saved.
STYLE: dict = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": 9.0,
    "text.usetex": False,
    "axes.unicode_minus": True,
    "axes.linewidth": 0.8,
    "axes.edgecolor": "#222222",
    "axes.labelcolor": "#222222",
    "axes.labelsize": 9.0,
    "axes.titlesize": 10.0,
    "xtick.color": "#222222",
    "ytick.color": "#222222",
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "xtick.major.size": 3.5,
    "ytick.major.size": 3.5,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
    "xtick.direction": "out",
    "ytick.direction": "out",
    "lines.solid_capstyle": "butt",
    "legend.frameon": False,
    "legend.fontsize": 8.0,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "savefig.bbox": None,
    "path.simplify": True,
    # Glyphs as paths: the SVG then shows the same text on every viewer, with no font
    # needed, and its bytes do not depend on the fonts installed.
    "svg.fonttype": "path",
    # Without a salt, matplotlib draws random ids for clip paths and glyph definitions.
    "svg.hashsalt": "netgrade",
    "svg.id": None,
    "pdf.fonttype": 42,
}

# Colours: near-black ink for the data, greys for the scaffolding.
INK = "#1a1a1a"
GREY = "#6b6b6b"


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """Apply :data:`STYLE` (over matplotlib's defaults, not the user's rc) temporarily."""
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with its own Agg canvas (no pyplot)."""
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


_MEASURE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4096)
def _text_extent(line: str, fontsize: float, weight: str) -> tuple[float, float]:
    """(width, height) of one line of text in points (cached: layouts measure a lot)."""
    with _MEASURE_LOCK:  # one shared renderer; Agg's font objects are not thread-safe
        prop = FontProperties(family=FONT, size=fontsize, weight=weight)
        w, h, _ = _RENDERER.get_text_width_height_descent(line, prop, ismath=False)
    return float(w), float(h)


# At 72 dpi one pixel is one point.
_RENDERER = RendererAgg(10, 10, 72)


class TextMeasurer:
    """Width and height of text in points, measured with the fonts used for drawing.

    Layouts are computed before anything is drawn (column widths must fit the longest
    study label), so the measurement uses a private Agg renderer; its text metrics are
    deterministic.
    """

    def size(self, text: str, fontsize: float, weight: str = "normal") -> tuple[float, float]:
        if not text:
            return 0.0, 0.0
        w = h = 0.0
        for line in str(text).split("\n"):
            lw, lh = _text_extent(line, float(fontsize), str(weight))
            w = max(w, lw)
            h += lh
        return w, h

    def width_in(self, text: str, fontsize: float, weight: str = "normal") -> float:
        """Width of ``text`` in inches."""
        return self.size(text, fontsize, weight)[0] / 72.0

    def wrap(self, text: str, fontsize: float, max_width_in: float) -> list[str]:
        """Greedy word wrap of ``text`` into lines no wider than ``max_width_in`` inches."""
        lines: list[str] = []
        for para in str(text).split("\n"):
            words = para.split(" ")
            line = ""
            for word in words:
                trial = f"{line} {word}" if line else word
                if line and self.width_in(trial, fontsize) > max_width_in:
                    lines.append(line)
                    line = word
                else:
                    line = trial
            lines.append(line)
        return lines


# ---------------------------------------------------------------------------------------
# names of measures and scales

#: measure -> (name on the natural scale, abbreviation for column headers).
MEASURE_NAMES: dict[str, tuple[str, str]] = {
    "OR": ("Odds ratio", "OR"),
    "PETO": ("Odds ratio (Peto)", "OR"),
    "RR": ("Risk ratio", "RR"),
    "HR": ("Hazard ratio", "HR"),
    "IRR": ("Incidence rate ratio", "IRR"),
    "ROM": ("Ratio of means", "RoM"),
    "RD": ("Risk difference", "RD"),
    "IRD": ("Incidence rate difference", "IRD"),
    "AS": ("Arcsine risk difference", "ASD"),
    "MD": ("Mean difference", "MD"),
    "SMD": ("Standardised mean difference", "SMD"),
    "SMDH": ("Standardised mean difference", "SMD"),
    "PR": ("Proportion", "Proportion"),
    "PLN": ("Proportion", "Proportion"),
    "PLO": ("Proportion", "Proportion"),
    "PAS": ("Proportion", "Proportion"),
    "PFT": ("Proportion", "Proportion"),
    "MN": ("Mean", "Mean"),
    "MNLN": ("Mean", "Mean"),
    "ZCOR": ("Correlation", "r"),
    "COR": ("Correlation", "r"),
    "GEN": ("Effect", "Estimate"),
}


def _measure_key(measure: str | None) -> str | None:
    return None if measure is None else str(measure).strip().upper()


# Measures that the effect-size registry may not list (they arrive as generic effects)
# but whose analysis scale is fixed by convention: hazard and incidence rate ratios on the
# log scale, correlations as Fisher's z.
_CONVENTIONAL_SCALES = {"HR": "log", "IRR": "log", "ZCOR": "fisher-z"}

#: analysis scale -> name of the back-transformation in :data:`netgrade.transforms.TRANSFORMS`
_SCALE_KIND = {"log": "exp", "logit": "ilogit", "arcsine": "iarcsin", "fisher-z": "tanh", "fisher z": "tanh"}


def measure_scale(measure: str | None) -> str:
    """Analysis scale of a measure ('log', 'logit', 'arcsine', 'fisher-z', 'freeman-tukey',
    'identity'), as :func:`netgrade.transforms.analysis_scale` reports it."""
    key = _measure_key(measure)
    if not key:
        return "identity"
    scale = str(analysis_scale(key)).lower()
    if scale == "identity" and key in _CONVENTIONAL_SCALES:
        return _CONVENTIONAL_SCALES[key]
    return scale


def natural_name(measure: str | None) -> tuple[str, str]:
    """(name, abbreviation) of a measure on its natural scale."""
    return MEASURE_NAMES.get(_measure_key(measure) or "", ("Effect", "Estimate"))


def analysis_name(measure: str | None) -> tuple[str, str]:
    """(name, abbreviation) of a measure on its analysis scale, e.g. 'Log risk ratio'."""
    name, abbr = natural_name(measure)
    scale = measure_scale(measure)
    if scale == "log":
        return f"Log {name[0].lower()}{name[1:]}", f"log {abbr}"
    if scale == "logit":
        return "Logit proportion", "logit"
    if scale == "arcsine":
        return "Arcsine square-root proportion", "arcsine"
    if scale in ("fisher-z", "fisher z"):
        return "Fisher's z (correlation)", "z"
    if scale == "freeman-tukey":
        return "Freeman-Tukey double arcsine proportion", "PFT"
    return name, abbr


# ---------------------------------------------------------------------------------------
# display scale


class DisplayScale:
    """How analysis-scale values are shown: the function, the axis scale and the names."""

    def __init__(self, func: Callable, kind: str, name: str, abbr: str, null: float | None):
        self.func = func
        self.kind = kind  # 'exp', 'identity', 'ilogit', 'iarcsin', 'tanh' or 'custom'
        self.name = name
        self.abbr = abbr
        self.null = null  # value of no effect on the displayed scale, if there is one

    @property
    def log_axis(self) -> bool:
        return self.kind == "exp"

    def __call__(self, x):
        return np.asarray(self.func(np.asarray(x, dtype=float)), dtype=float)


_ANALYSIS = {"identity", "none", "analysis", "raw"}
# single-group measures have no value of "no effect"
_NO_NULL = {"PR", "PLN", "PLO", "PAS", "PFT", "MN", "MNLN"}


def display_scale(measure: str | None, transform: str | Callable | None) -> DisplayScale:
    """Resolve the ``transform`` option of a figure for a result's ``measure``.

    ``None`` or ``'natural'``: the measure's natural scale (risk ratio for RR...);
    ``'identity'`` (or ``'analysis'``): the analysis scale (log risk ratio...); a
    transformation name (``'exp'``, ``'ilogit'``...) or a measure name; or a function.
    Freeman-Tukey proportions need each study's size to be back-transformed, which a
    fitted model does not carry: their natural scale falls back to the analysis scale,
    and the axis says so.
    """
    key = _measure_key(measure)
    has_null = key not in _NO_NULL
    if callable(transform):
        name, abbr = natural_name(measure)
        return DisplayScale(transform, "custom", name, abbr, None)
    t = None if transform is None else str(transform)
    if t is None or t.lower() == "natural":
        kind = _SCALE_KIND.get(measure_scale(measure), "identity")
    elif t.lower() in _ANALYSIS:
        kind = "identity"
    elif t in TRANSFORMS:
        kind = t
    elif t.upper() in MEASURE_NAMES:
        kind = _SCALE_KIND.get(measure_scale(t), "identity")
    else:
        raise PlotError(
            f"unknown transform {transform!r}: use None (natural scale), 'identity' (analysis "
            f"scale), one of {', '.join(sorted(TRANSFORMS))}, a measure name or a function"
        )
    func = TRANSFORMS[kind]
    if kind == "identity" and measure_scale(measure) != "identity":
        name, abbr = analysis_name(measure)
    else:
        name, abbr = natural_name(measure)
    null = float(func(0.0)) if has_null and kind in ("exp", "identity", "tanh") else None
    return DisplayScale(func, kind, name, abbr, null)


# ---------------------------------------------------------------------------------------
# numbers

MINUS = "\u2212"


def fmt_num(x: float, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a typographic minus ('NA' if not finite)."""
    x = float(x)
    if not math.isfinite(x):
        return "NA" if math.isnan(x) else ("\u221e" if x > 0 else f"{MINUS}\u221e")
    s = f"{x:.{digits}f}"
    if float(s) == 0.0:
        s = s.lstrip("-")  # no '-0.00'
    return s.replace("-", MINUS)


def fmt_stat(x: float) -> str:
    """Heterogeneity statistics: two decimals, more significant digits when small."""
    x = float(x)
    if not math.isfinite(x):
        return "NA"
    if x != 0 and abs(x) < 0.01:
        return f"{x:.2g}".replace("-", MINUS)
    return fmt_num(x, 2)


def fmt_p(p: float) -> str:
    """'p < 0.001', 'p = 0.004', 'p = 0.35' (the journals' convention)."""
    p = float(p)
    if not math.isfinite(p):
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def level_pct(level: float) -> str:
    return f"{level * 100:.4g}"


# ---------------------------------------------------------------------------------------
# ticks

_NICE = (1.0, 2.0, 5.0)


def log_ticks(lo: float, hi: float, expand: bool = True, max_ticks: int = 9) -> tuple[list[float], float, float]:
    """Ticks on a logarithmic axis at 1-2-5 values (natural scale), and the limits.

    With ``expand`` the limits move outward to the nearest tick so that the axis ends on a
    labelled value.  When the range spans too many 1-2-5 values only powers of ten (and
    then every other power) are kept.
    """
    lo, hi = float(lo), float(hi)
    if not (lo > 0 and hi > lo):
        raise PlotError(f"invalid limits for a log axis: {lo!r} to {hi!r}")
    e0, e1 = math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1
    cands = sorted({round(m * 10.0**e, 12) for e in range(e0, e1 + 1) for m in _NICE})
    if expand:
        lo = max([c for c in cands if c <= lo * (1 + 1e-9)], default=lo)
        hi = min([c for c in cands if c >= hi * (1 - 1e-9)], default=hi)
    inside = [c for c in cands if lo * (1 - 1e-9) <= c <= hi * (1 + 1e-9)]
    if len(inside) > max_ticks:
        inside = [c for c in inside if math.isclose(math.log10(c), round(math.log10(c)), abs_tol=1e-9)]
        step = 1
        while len(inside[::step]) > max_ticks:
            step += 1
        inside = inside[::step]
    return inside, lo, hi


def fmt_tick(x: float) -> str:
    """Tick labels without trailing zeros ('0.5', '1', '10'), with a typographic minus."""
    if x == 0:
        return "0"
    s = f"{x:.6g}"
    if "e" in s:
        s = f"{x:g}"
    return s.replace("-", MINUS)


# ---------------------------------------------------------------------------------------
# saving

#: format -> savefig metadata that removes dates and version strings.
_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
FORMATS = tuple(_METADATA)


def save_figure(
    fig: Figure,
    path_or_stem: str | os.PathLike,
    formats: Sequence[str] = ("png", "svg"),
    dpi: float = 150,
) -> list[Path]:
    """Write ``fig`` as PNG and/or SVG (or PDF) files that are byte-identical on every run.

    ``path_or_stem`` ending in ``.png``, ``.svg`` or ``.pdf`` names one file and writes
    that format only (it must be one of ``formats``); any other path is a stem to which
    each format's suffix is appended (``"out/forest"`` gives ``out/forest.png`` and
    ``out/forest.svg``; ``"forest.v2"`` gives ``forest.v2.png``...).  Missing parent
    folders are created.  ``dpi`` sets the PNG resolution.

    Determinism: the figure's own size is kept (no tight bounding box); SVG ids come from
    a fixed hash salt instead of random numbers; glyphs are written as paths; the date and
    the software version are left out of the metadata (PNG ``Software``, SVG ``Date`` and
    ``Creator``, PDF dates); and the whole write happens inside the fixed :data:`STYLE`,
    so a user's rcParams cannot change the bytes.  Returns the paths written, in the
    order of ``formats``.
    """
    fmts = [str(f).lower().lstrip(".") for f in formats]
    for f in fmts:
        if f not in _METADATA:
            raise PlotError(f"unsupported format {f!r}; choose from {', '.join(FORMATS)}")
    if not fmts:
        raise PlotError("no format given")
    path = Path(path_or_stem)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in _METADATA:
        if suffix not in fmts:
            raise PlotError(f"{path.name}: the suffix .{suffix} is not among the formats {fmts}")
        targets = [(suffix, path)]
    else:
        seen: list[str] = []
        for f in fmts:
            if f not in seen:
                seen.append(f)
        targets = [(f, Path(f"{path}.{f}")) for f in seen]
    written = []
    for fmt, target in targets:
        data = figure_bytes(fig, fmt, dpi)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def figure_bytes(fig: Figure, fmt: str = "svg", dpi: float = 150) -> bytes:
    """The bytes :func:`save_figure` would write for one format (for embedding a figure
    in a report without a file); deterministic in the same way."""
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in _METADATA:
        raise PlotError(f"unsupported format {fmt!r}; choose from {', '.join(FORMATS)}")
    with style_context():
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=dict(_METADATA[fmt]), bbox_inches=None)
    return buf.getvalue()
