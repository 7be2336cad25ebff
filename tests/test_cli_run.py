"""`netgrade run` and `netgrade demo`: progress on stderr, quiet mode, the report path
as the last line, one-line failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netgrade.cli import app

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures" / "specs"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "metadat"


def _senn(tmp_path: Path) -> Path:
    shutil.copy(SHARED / "dat.senn2013.csv", tmp_path / "senn.csv")
    shutil.copy(FIXTURES / "senn_rob.csv", tmp_path / "senn_rob.csv")
    text = (FIXTURES / "senn.toml").read_text().replace("../../../../shared/data/metadat/dat.senn2013.csv", "senn.csv")
    spec = tmp_path / "senn.toml"
    spec.write_text(text)
    return spec


def test_run_shows_progress_and_ends_with_the_report(tmp_path):
    spec = _senn(tmp_path)
    res = runner.invoke(app, ["run", str(spec), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    for stage in ("reading the data", "network meta-analysis and certainty: hba1c", "figures: hba1c", "writing the report"):
        assert f"✓ {stage}" in res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[-1] == f"Report: {(tmp_path / 'out' / 'report.html').resolve()}"
    assert "  results.json" in lines and "  report.html" in lines


def test_quiet_run_prints_only_the_report_path(tmp_path):
    spec = _senn(tmp_path)
    res = runner.invoke(app, ["run", str(spec), "-o", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert res.stderr == ""
    assert res.stdout.strip() == f"Report: {(tmp_path / 'out' / 'report.html').resolve()}"


def test_failure_is_one_line_with_exit_code_1(tmp_path):
    spec = _senn(tmp_path)
    spec.write_text(spec.read_text().replace('reference = "placebo"', 'reference = "placebo"\nmethd = "DL"'))
    res = runner.invoke(app, ["run", str(spec), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 1
    assert res.stderr.strip().count("\n") == 0
    assert "model.methd" in res.stderr and "senn.toml" in res.stderr
    assert not (tmp_path / "out").exists()


def test_demo_examples(tmp_path):
    res = runner.invoke(app, ["demo", "--example", "diabetes", "-o", str(tmp_path / "d"), "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"Report: {(tmp_path / 'd' / 'report.html').resolve()}"
    bcg = runner.invoke(app, ["demo", "--example", "bcg", "-o", str(tmp_path / "b"), "-q"])
    assert bcg.exit_code == 0, bcg.output
    assert (tmp_path / "b" / "forest.svg").is_file()
    bad = runner.invoke(app, ["demo", "--example", "nope"])
    assert bad.exit_code == 1 and "no example data set 'nope'" in bad.stderr


def test_error_keys_in_brackets_survive_the_console(tmp_path):
    spec = _senn(tmp_path)
    spec.write_text(spec.read_text().replace("[model]", '[[populations]]\nname = "p1"\nwhere = { xyz = 1 }\n\n[model]'))
    res = runner.invoke(app, ["run", str(spec), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 1
    assert "populations[p1].where: no column 'xyz'" in res.stderr


def test_population_filter_may_use_the_file_column_name(tmp_path):
    """hasselblad1998's arm file calls the treatment 'trt' (mapped to treatment): a
    population filter may name either."""
    from netgrade import pipeline
    from netgrade.datasets import example

    src = example("smoking").spec_path
    shutil.copy(src.parent / "hasselblad1998.csv", tmp_path / "hasselblad1998.csv")
    for col in ("trt", "treatment"):
        text = src.read_text().replace(
            "[model]", f'[[populations]]\nname = "two"\nwhere = {{ {col} = ["no_contact", "self_help"] }}\n\n[model]'
        )
        (tmp_path / "s.toml").write_text(text)
        g = pipeline.grade(tmp_path / "s.toml")
        assert g.outcomes[0].model.treatments == ("no_contact", "self_help")
