"""Benchmark: a network of 60 treatments and 2,000 studies (run with ``make bench``).

Generates a connected random network (mostly two-arm, some three- and four-arm
trials), fits it (FE, DL, REML), then node-splits every comparison with direct
evidence and computes the contribution matrix (random walk and shortest paths),
recording wall time and peak memory of each step to benchmarks/results/network.json.
Target: the plain fit under 1 s on a 2-core machine.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from netgrade import __version__
from netgrade._result import frozen_array
from netgrade.network import NetworkData, StudyBlock, nma

T, K, SEED = 60, 2000, 20261121


def simulate(n_treatments: int = T, n_studies: int = K, seed: int = SEED) -> NetworkData:
    rng = np.random.default_rng(seed)
    names = [f"T{i:02d}" for i in range(n_treatments)]
    truth = np.concatenate([[0.0], rng.normal(0, 0.5, n_treatments - 1)])
    blocks = []
    for s in range(n_studies):
        if s < n_treatments - 1:
            arms = [s, s + 1]  # a path through all treatments keeps the network connected
        else:
            k = rng.choice([2, 2, 2, 2, 3, 4])
            arms = list(rng.choice(n_treatments, size=k, replace=False))
        arms.sort()
        n = rng.integers(20, 400, len(arms)).astype(float)
        var = 4.0 / n
        mean = truth[arms] + rng.normal(0, 0.15) + rng.normal(0, np.sqrt(var))
        y = mean[:, None] - mean[None, :]
        R = var[:, None] + var[None, :]
        np.fill_diagonal(R, 0.0)
        blocks.append(StudyBlock(f"S{s:04d}", tuple(names[a] for a in arms), frozen_array(y), frozen_array(R), frozen_array(n)))
    return NetworkData(tuple(blocks), tuple(names), "MD")


def measure(label, fn, rows):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows.append({"step": label, "seconds": seconds, "peak_bytes": peak})
    print(f"{label:40s} {seconds:8.3f} s   peak {peak / 1e6:8.1f} MB")
    return out


def main() -> int:
    rows: list[dict] = []
    net = measure("simulate network", simulate, rows)
    fe = measure("fit FE", lambda: nma(net, reference="T00", method="FE"), rows)
    dl = measure("fit DL (plain fit)", lambda: nma(net, reference="T00", method="DL"), rows)
    measure("fit REML", lambda: nma(net, reference="T00", method="REML"), rows)
    measure("league table (60 x 60)", lambda: dl.league(), rows)
    measure("P-scores", lambda: dl.p_scores(), rows)
    try:
        from netgrade.network.inconsistency import node_split

        measure("node-split (all direct comparisons)", lambda: node_split(dl), rows)
    except ImportError as exc:  # pragma: no cover - reported, not hidden
        rows.append({"step": "node-split", "error": str(exc)})
    try:
        from netgrade.network.contribution import network_contribution

        measure("contribution matrix (random walk)", lambda: network_contribution(dl, method="randomwalk"), rows)
        measure("contribution matrix (shortest path)", lambda: network_contribution(dl, method="shortestpath"), rows)
    except ImportError as exc:  # pragma: no cover
        rows.append({"step": "contribution matrix", "error": str(exc)})
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    payload = {
        "benchmark": f"network meta-analysis, {T} treatments, {K} studies",
        "netgrade": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.platform(),
        "target": "plain fit (DL) under 1 s",
        "studies": net.n_studies,
        "pairwise_comparisons": net.n_pairs,
        "results": rows,
    }
    (out / "network.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out / 'network.json'}")
    del fe
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
