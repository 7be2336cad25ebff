"""The ``netgrade`` command line: a thin layer over the Python API.

Every command parses its options, calls one API function and prints the result: a
readable summary by default, one JSON object with ``--json``.  Errors end with a
non-zero exit code and a message that says what is wrong and where.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from . import __version__
from ._result import dumps
from .errors import NetgradeError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="netgrade: evidence synthesis from extracted trial data to checkable results.",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _pairs(values: Optional[List[str]], option: str) -> dict:
    """Parse repeated ``key=value`` options; a repeated key collects a list."""
    result: dict = {}
    for item in values or []:
        if "=" not in item:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        key, value = (part.strip() for part in item.split("=", 1))
        if not key:
            raise typer.BadParameter(f"empty key in {item!r}", param_hint=option)
        if key in result:
            prev = result[key]
            result[key] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            result[key] = value
    return result


def _fail(exc: Exception) -> None:
    from rich.markup import escape

    # the message names spec keys like populations[axial]: never read it as markup
    err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
    raise typer.Exit(code=1)


@app.command()
def pairwise(
    data: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV, Excel or JSON file."),
    measure: Optional[str] = typer.Option(
        None, "--measure", "-m", help="Effect measure: OR, RR, RD, MD, SMD, ROM, PLO, ... (not needed for contrasts)."
    ),
    method: str = typer.Option("REML", "--method", help="FE, DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM, MH or PETO."),
    test: str = typer.Option("z", "--test", help="z (Wald), knha (Hartung-Knapp), t or adhoc."),
    treatment: Optional[str] = typer.Option(None, "--treatment", help="Experimental arm (long arm-level data)."),
    control: Optional[str] = typer.Option(None, "--control", help="Comparator arm (long arm-level data)."),
    level: float = typer.Option(0.95, "--level", help="Confidence level."),
    col: Optional[List[str]] = typer.Option(
        None, "--col", help="Column map CANONICAL=COLUMN, e.g. --col ai=tpos --col study=author (repeatable)."
    ),
    where: Optional[List[str]] = typer.Option(None, "--where", help="Keep rows with COLUMN=VALUE (repeatable)."),
    layout: Optional[str] = typer.Option(
        None, "--layout", help="Force a wide layout: binary, continuous, single_binary, single_continuous, precomputed."
    ),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet name."),
    add: float = typer.Option(0.5, "--add", help="Continuity correction added to cells (metafor's add)."),
    to: str = typer.Option("only0", "--to", help="Where to add it: only0, all, if0all, none."),
    drop00: Optional[bool] = typer.Option(
        None, "--drop00/--keep00", help="Drop or keep double-zero studies (default: metafor's for the method)."
    ),
    missing: str = typer.Option("exclude", "--missing", help="Studies with missing values: exclude (listed) or error."),
    forest: Optional[Path] = typer.Option(None, "--forest", help="Write a forest plot (.png or .svg)."),
    funnel: Optional[Path] = typer.Option(None, "--funnel", help="Write a funnel plot (.png or .svg)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
) -> None:
    """Pairwise meta-analysis of one data file."""
    from .pairwise.analysis import analyse_pairwise

    try:
        result = analyse_pairwise(
            data,
            measure=measure,
            method=method,
            test=test,
            level=level,
            treatment=treatment,
            control=control,
            columns=_pairs(col, "--col") or None,
            where=_pairs(where, "--where") or None,
            layout=layout,
            sheet=sheet,
            add=add,
            to=to,
            drop00=drop00,
            missing=missing,
        )
        written = _figures(result, forest, funnel)
    except NetgradeError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(dumps(result.to_dict()) + "\n")
        return
    out.print(result.summary(), markup=False)
    for path in written:
        out.print(f"wrote {path}", markup=False)


@app.command()
def nma(
    data: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV, Excel or JSON file."),
    measure: Optional[str] = typer.Option(
        None, "--measure", "-m", help="Effect measure for arm-level data: OR, RR, RD, MD, SMD, ROM (labels contrasts)."
    ),
    reference: Optional[str] = typer.Option(None, "--reference", "-r", help="Reference treatment (e.g. placebo)."),
    method: str = typer.Option("DL", "--method", help="FE, DL (generalised DerSimonian-Laird), REML or ML."),
    larger_better: bool = typer.Option(
        False, "--larger-better", help="Larger outcome values are better (default: smaller are better) for rankings."
    ),
    level: float = typer.Option(0.95, "--level", help="Confidence level."),
    col: Optional[List[str]] = typer.Option(
        None, "--col", help="Column map CANONICAL=COLUMN, e.g. --col treatment1=treat1 (repeatable)."
    ),
    where: Optional[List[str]] = typer.Option(None, "--where", help="Keep rows with COLUMN=VALUE (repeatable)."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet name."),
    component: Optional[int] = typer.Option(
        None, "--component", help="Analyse this sub-network of a disconnected network (number from the error message)."
    ),
    missing: str = typer.Option("exclude", "--missing", help="Studies with missing values: exclude (listed) or error."),
    figures: Optional[Path] = typer.Option(
        None, "--figures", help="Write the network graph, forest plot, league heat map and rankogram to this folder."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
) -> None:
    """Network meta-analysis of one data file (arm-level or contrast-level)."""
    from .network.analysis import analyse_network

    try:
        result = analyse_network(
            data,
            measure=measure,
            reference=reference,
            method=method,
            level=level,
            larger_better=larger_better,
            columns=_pairs(col, "--col") or None,
            where=_pairs(where, "--where") or None,
            sheet=sheet,
            missing=missing,
            component=component,
        )
        written = []
        if figures is not None:
            from .report.network_figures import write_network_figures

            written = write_network_figures(result.model, figures)
    except NetgradeError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(dumps(result.to_dict()) + "\n")
        return
    out.print(result.summary(), markup=False)
    for path in written:
        out.print(f"wrote {path}", markup=False)


def _figures(result, forest: Optional[Path], funnel: Optional[Path]) -> list[Path]:
    if forest is None and funnel is None:
        return []
    from .report.pairwise_figures import write_pairwise_figures

    return write_pairwise_figures(result, forest=forest, funnel=funnel)


def _spec_command(run, spec: Path, as_json: bool, to_json) -> None:
    """Run a spec-level pipeline function and print its result (summary or JSON)."""
    try:
        result = run(spec)
    except NetgradeError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(dumps(to_json(result)) + "\n")
        return
    out.print(result.summary(), markup=False)


@app.command()
def grade(
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Analysis spec (TOML)."),
    as_json: bool = typer.Option(False, "--json", help="Print the ratings as one JSON list."),
) -> None:
    """Certainty of evidence, magnitude and informative statement for every estimate."""
    from .pipeline import grade as run_grade

    _spec_command(run_grade, spec, as_json, lambda r: r.records())


@app.command()
def recommend(
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Analysis spec (TOML)."),
    as_json: bool = typer.Option(False, "--json", help="Print the recommendations as JSON."),
) -> None:
    """Evidence to decision and recommendations from the spec's decision rule."""
    from .pipeline import recommend as run_recommend

    _spec_command(run_recommend, spec, as_json, lambda r: r.to_dict())


def _run_spec(spec: Path, output: Path, quiet: bool) -> list[Path]:
    """Run a spec with a progress display on stderr (none with --quiet); a failure ends
    with exit code 1 and a one-line reason."""
    import time

    from .pipeline import run as run_all

    try:
        if quiet:
            return run_all(spec, output)
        t0 = time.perf_counter()
        last = {"stage": None, "t": t0}

        def done_stage() -> None:
            if last["stage"] is not None:
                err.print(f"[green]✓[/] {last['stage']} [dim]({time.perf_counter() - last['t']:.1f} s)[/]")

        with err.status("netgrade: starting", spinner="dots") as status:

            def progress(stage: str) -> None:
                done_stage()
                last["stage"], last["t"] = stage, time.perf_counter()
                status.update(f"netgrade: {stage}")

            files = run_all(spec, output, progress=progress)
        done_stage()
        err.print(f"[dim]finished in {time.perf_counter() - t0:.1f} s[/]")
        return files
    except NetgradeError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(NetgradeError(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")))
    return []


def _print_outputs(files: list[Path], output: Path, quiet: bool) -> None:
    if not quiet:
        for path in files:
            out.print(f"  {path.relative_to(output)}", markup=False)
        out.print(f"Results written to {output.resolve()}", markup=False)
    report = output / "report.html"
    if report in files:
        out.print(f"Report: {report.resolve()}", markup=False)


@app.command()
def run(
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Analysis spec (TOML)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for results.json, the figures and report.html."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; print only where the report is."),
) -> None:
    """Run the whole analysis: results.json (with provenance), figures and report.html."""
    files = _run_spec(spec, output, quiet)
    _print_outputs(files, output, quiet)


@app.command()
def reanalyse(
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Analysis spec (TOML) with [[variants]]."),
    variant: Optional[List[str]] = typer.Option(None, "--variant", "-v", help="Run only this variant (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the robustness table as JSON."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write robustness.json and robustness.csv here."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    hierarchy: bool = typer.Option(False, "--hierarchy", help="Instead of the spec's variants: every level of the treatment hierarchy (lump/split)."),
    finer_column: Optional[str] = typer.Option(None, "--finer-column", help="With --hierarchy: the data column of the finer level (to split)."),
    level_reference: Optional[List[str]] = typer.Option(None, "--level-reference", help="With --hierarchy: LEVEL=TREATMENT reference at that level (repeatable)."),
) -> None:
    """Re-run the analysis under every variant (critique) and show what changes."""
    from functools import partial

    from .reanalysis import lump_split
    from .reanalysis import reanalyse as run_reanalyse

    if hierarchy:
        runner_fn = partial(lump_split, finer_column=finer_column, reference=_pairs(level_reference, "--level-reference"))
    else:
        runner_fn = partial(run_reanalyse, only=variant)
    try:
        if quiet or as_json:
            result = runner_fn(spec)
        else:
            with err.status("netgrade: re-analysis", spinner="dots") as status:
                result = runner_fn(spec, progress=lambda s: status.update(f"netgrade: {s}"))
    except NetgradeError as exc:
        _fail(exc)
        return
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "robustness.json").write_text(dumps(result.to_dict()) + "\n", encoding="utf-8")
        result.to_frame().to_csv(output / "robustness.csv", index=False)
    if as_json:
        sys.stdout.write(dumps(result.to_dict()) + "\n")
        return
    out.print(result.summary(), markup=False)
    if output is not None:
        out.print(f"Robustness table written to {output.resolve()}", markup=False)


@app.command()
def audit(
    extraction: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Arm- or contrast-level extraction."),
    second: Optional[Path] = typer.Argument(None, exists=True, dir_okay=False, readable=True, help="A second, independent extraction to compare with."),
    studies: Optional[Path] = typer.Option(None, "--studies", exists=True, dir_okay=False, help="Study table (n_total) for the arm-size check."),
    integer_scored: bool = typer.Option(False, "--integer-scored", help="The outcome is an integer-scored scale (run the GRIM test)."),
    tolerance: Optional[List[str]] = typer.Option(None, "--tolerance", help="COLUMN=ABS tolerance for the comparison (repeatable; * for all real columns)."),
    as_json: bool = typer.Option(False, "--json", help="Print the audit as JSON."),
) -> None:
    """Extraction audit: plausibility checks (SD/SE swaps, impossible means, GRIM, sizes,
    duplicates, CIs on the wrong scale) and, given a second extraction, every discrepancy."""
    from .data.audit import compare_extractions, plausibility_checks

    tolerances = {k: float(v) for k, v in _pairs(tolerance, "--tolerance").items()} if tolerance else None
    try:
        checks = [plausibility_checks(p, studies=studies, integer_scored=integer_scored) for p in [extraction] + ([second] if second else [])]
        comparison = compare_extractions(extraction, second, tolerances=tolerances) if second else None
    except (NetgradeError, ValueError) as exc:
        _fail(exc)
        return
    if as_json:
        doc = {"plausibility": {str(p): c.to_dict() for p, c in zip([extraction, second], checks)}}
        if comparison is not None:
            doc["comparison"] = comparison.to_dict()
        sys.stdout.write(dumps(doc) + "\n")
        return
    for path, c in zip([extraction, second], checks):
        out.print(f"Plausibility of {path.name}:", markup=False)
        out.print(c.summary(), markup=False)
        out.print("")
    if comparison is not None:
        out.print(comparison.summary(), markup=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the analysis spec."""
    from .spec import spec_json_schema

    sys.stdout.write(dumps(spec_json_schema()) + "\n")


@app.command()
def demo(
    output: Path = typer.Option(Path("demo-output"), "--output", "-o", help="Folder for the results."),
    example: str = typer.Option(
        "spine", "--example", "-e", help="spine (SIMULATED, the default), smoking, diabetes or bcg (pairwise)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; print only where the report is."),
) -> None:
    """Run a built-in example: by default the SIMULATED spine guideline, with its report."""
    from .demo import demo_spec, run_pairwise_demo

    if example == "bcg":
        try:
            summary, files = run_pairwise_demo(output)
        except NetgradeError as exc:
            _fail(exc)
            return
        if not quiet:
            out.print(summary, markup=False)
            out.print("")
        out.print(f"Results written to {output.resolve()}:", markup=False)
        for path in files:
            out.print(f"  {path.name}", markup=False)
        return
    try:
        spec = demo_spec(example)
    except NetgradeError as exc:
        _fail(exc)
        return
    if not quiet:
        err.print(f"Example: {spec}", markup=False)
    files = _run_spec(spec, output, quiet)
    _print_outputs(files, output, quiet)


@app.command()
def version() -> None:
    """Print the netgrade version."""
    out.print(__version__)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
