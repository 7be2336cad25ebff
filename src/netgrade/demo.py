"""The built-in example that ``netgrade demo`` (and ``make demo``) runs.

For now it is the BCG vaccine meta-analysis (13 trials; a published data set shipped
with the package): effect sizes, a random-effects model, heterogeneity intervals,
small-study diagnostics and the forest and funnel plots, written to one folder.
"""

from __future__ import annotations

from pathlib import Path

from ._result import dumps
from .datasets import example
from .pairwise.analysis import analyse_pairwise

BCG_COLUMNS = {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg", "study": "author"}


def run_demo(output: str | Path) -> tuple[str, list[Path]]:
    """Run the example analysis and write its outputs; return (summary, files)."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    data = example("bcg")
    result = analyse_pairwise(
        data.path,
        measure="RR",
        method="REML",
        columns=BCG_COLUMNS,
        treatment="BCG vaccine",
        control="no vaccine",
    )
    header = f"Example: {data.title}\nSource: {data.citation}\n"
    summary = header + "\n" + result.summary()
    files = []
    results_json = out / "results.json"
    payload = {"example": data.name, "title": data.title, "citation": data.citation, "analysis": result.to_dict()}
    results_json.write_text(dumps(payload) + "\n", encoding="utf-8")
    files.append(results_json)
    summary_txt = out / "summary.txt"
    summary_txt.write_text(summary + "\n", encoding="utf-8")
    files.append(summary_txt)
    from .report.pairwise_figures import write_pairwise_figures

    files += write_pairwise_figures(result, forest=out / "forest", funnel=out / "funnel", formats=("png", "svg"))
    return summary, files
