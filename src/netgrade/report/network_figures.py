"""Write the figures of a network meta-analysis to files.

The network graph, the forest plot against the reference, the league heat map and
the rankogram, each saved deterministically (see plots.save_figure).  The rankogram
uses seeded resampling; the seed is part of the file name's record in the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .network_plots import forest_vs_reference, league_heatmap, network_graph, rankogram
from .plots import save_figure

DEFAULT_SEED = 20261121


def write_network_figures(
    res,
    folder: str | Path,
    formats: Sequence[str] = ("png", "svg"),
    seed: int = DEFAULT_SEED,
    n_sim: int = 10000,
) -> list[Path]:
    """Draw and save the figures of an NMAResult in ``folder``; return the files."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    net = res.data
    edges = list(net.edges().itertuples(index=False, name=None))
    files: list[Path] = []
    graph = network_graph(
        net.treatments,
        edges,
        node_size=net.patients(),
        reference=res.reference,
        multi_arm=[b.study for b in net.blocks if b.n_arms > 2],
    )
    files += save_figure(graph, out / "network_graph", formats=formats)
    lg = res.league()
    r = lg.index(res.reference)
    forest = forest_vs_reference(
        lg.treatments,
        lg.est[:, r],
        lg.ci_low[:, r],
        lg.ci_high[:, r],
        reference=res.reference,
        measure=res.measure,
        pi_low=lg.pi_low[:, r] if res.is_random else None,
        pi_high=lg.pi_high[:, r] if res.is_random else None,
        larger_better=res.larger_better,
        level=res.level,
    )
    files += save_figure(forest, out / "forest_vs_reference", formats=formats)
    heat = league_heatmap(lg.treatments, lg.est, lg.ci_low, lg.ci_high, measure=res.measure, larger_better=res.larger_better, level=res.level)
    files += save_figure(heat, out / "league_table", formats=formats)
    rp = res.rank_probabilities(n_sim=n_sim, seed=seed)
    files += save_figure(rankogram(rp.treatments, rp.probabilities, sucra=rp.sucra, larger_better=rp.larger_better), out / "rankogram", formats=formats)
    return files
