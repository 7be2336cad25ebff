"""Write the figures of a network meta-analysis to files.

The network graph, the forest plot against the reference, the league heat map and
the rankogram, each saved deterministically (see plots.save_figure).  The rankogram
uses seeded resampling; the seed is part of the file name's record in the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from .network_plots import forest_vs_reference, league_heatmap, network_graph, rankogram
from .plots import save_figure

DEFAULT_SEED = 20261121


def draw_network_figures(res, seed: int = DEFAULT_SEED, n_sim: int = 10000, labels: Mapping[str, str] | None = None) -> dict:
    """The figures of an NMAResult, by name: network_graph, forest_vs_reference,
    league_table (heat map) and rankogram (seeded).  ``labels`` maps treatment codes to
    the names shown (default: the codes)."""
    labels = dict(labels or {})
    name = lambda t: labels.get(t, t)  # noqa: E731
    net = res.data
    edges = [(name(a), name(b), *rest) for a, b, *rest in net.edges().itertuples(index=False, name=None)]
    figures = {}
    figures["network_graph"] = network_graph(
        [name(t) for t in net.treatments],
        edges,
        node_size={name(t): n for t, n in net.patients().items()},
        reference=name(res.reference),
        multi_arm=[b.study for b in net.blocks if b.n_arms > 2],
    )
    lg = res.league()
    r = lg.index(res.reference)
    shown = [name(t) for t in lg.treatments]
    figures["forest_vs_reference"] = forest_vs_reference(
        shown,
        lg.est[:, r],
        lg.ci_low[:, r],
        lg.ci_high[:, r],
        reference=name(res.reference),
        measure=res.measure,
        pi_low=lg.pi_low[:, r] if res.is_random else None,
        pi_high=lg.pi_high[:, r] if res.is_random else None,
        larger_better=res.larger_better,
        level=res.level,
    )
    figures["league_table"] = league_heatmap(
        shown, lg.est, lg.ci_low, lg.ci_high, measure=res.measure, larger_better=res.larger_better, level=res.level
    )
    rp = res.rank_probabilities(n_sim=n_sim, seed=seed)
    figures["rankogram"] = rankogram([name(t) for t in rp.treatments], rp.probabilities, sucra=rp.sucra, larger_better=rp.larger_better)
    return figures


def write_network_figures(
    res,
    folder: str | Path,
    formats: Sequence[str] = ("png", "svg"),
    seed: int = DEFAULT_SEED,
    n_sim: int = 10000,
    labels: Mapping[str, str] | None = None,
) -> list[Path]:
    """Draw and save the figures of an NMAResult in ``folder``; return the files."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for name, fig in draw_network_figures(res, seed=seed, n_sim=n_sim, labels=labels).items():
        files += save_figure(fig, out / name, formats=formats)
    return files
