"""The built-in examples that ``netgrade demo`` (and ``make demo``) runs.

By default the SIMULATED spine guideline (``datasets/spine.toml``): the whole pipeline
from the arm-level data to the report with its six recommendations.  The shipped real
data sets with specs run the same way (``--example smoking``, ``--example diabetes``);
``--example bcg`` is the pairwise BCG vaccine meta-analysis (forest and funnel plots).
"""

from __future__ import annotations

from pathlib import Path

from ._result import dumps
from .datasets import EXAMPLES, example
from .errors import DataError
from .pairwise.analysis import analyse_pairwise

BCG_COLUMNS = {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg", "study": "author"}


def demo_spec(name: str = "spine") -> Path:
    """The spec of the example ``name`` (an example with a spec)."""
    data = example(name)
    if getattr(data, "spec", None) is None:
        with_spec = sorted(k for k, v in EXAMPLES.items() if getattr(v, "spec", None))
        raise DataError(f"the example {name!r} has no analysis spec; examples with one: {', '.join(with_spec)}; or bcg")
    return data.spec_path


def run_pairwise_demo(output: str | Path) -> tuple[str, list[Path]]:
    """The pairwise BCG example: write its results and plots; return (summary, files)."""
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
