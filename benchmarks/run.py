"""Speed and memory benchmarks (run on demand with ``make bench``; never in the tests).

Simulates meta-analyses of several sizes, fits every tau² estimator, and records the
median time per fit and the peak memory to benchmarks/results/pairwise.json, with the
machine and versions, so that regressions can be compared run to run.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from netgrade import __version__
from netgrade.pairwise import rma
from netgrade.pairwise.tau2 import METHODS

SIZES = (10, 50, 200, 1000)
REPEATS = 5


def simulate(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    v = rng.uniform(0.01, 0.5, k)
    y = rng.normal(0.2, np.sqrt(v + 0.1))
    return y, v


def time_fit(y, v, method: str) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        rma(y, v, method=method)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    rng = np.random.default_rng(20261121)
    rows = []
    for k in SIZES:
        y, v = simulate(k, rng)
        for method in METHODS:
            tracemalloc.start()
            seconds = time_fit(y, v, method)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows.append({"k": k, "method": method, "median_seconds": seconds, "peak_bytes": peak})
            print(f"k={k:5d} {method:5s} {seconds * 1e3:9.2f} ms  peak {peak / 1e6:7.2f} MB")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    payload = {
        "benchmark": "pairwise rma",
        "netgrade": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.platform(),
        "repeats": REPEATS,
        "results": rows,
    }
    (out / "pairwise.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out / 'pairwise.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
