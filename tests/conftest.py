"""Shared fixtures: the demo run (the SIMULATED spine guideline) is made once per
session by the command ``make demo`` runs, and read by the report, run and browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner


@dataclass(frozen=True)
class DemoRun:
    folder: Path
    stdout: str
    exit_code: int

    @property
    def report(self) -> Path:
        return self.folder / "report.html"


@pytest.fixture(scope="session")
def spine_demo(tmp_path_factory) -> DemoRun:
    from netgrade.cli import app

    folder = tmp_path_factory.mktemp("demo") / "demo-output"
    res = CliRunner().invoke(app, ["demo", "--output", str(folder)])
    assert res.exit_code == 0, res.output
    return DemoRun(folder, res.stdout, res.exit_code)
