"""`netgrade run SPEC -o OUTDIR`: deterministic results, nothing partial on failure."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from netgrade.cli import app
from netgrade.datasets.spine import shipped_folder

runner = CliRunner()


@pytest.fixture()
def spine_dir(tmp_path):
    folder = tmp_path / "spine"
    folder.mkdir()
    for f in shipped_folder().glob("spine*"):
        shutil.copy(f, folder / f.name)
    return folder


def test_run_twice_gives_byte_identical_results(spine_demo, spine_dir, tmp_path):
    """The demo's run and a run of a copy of the same spec and data elsewhere give the
    same bytes: results.json, the report and the figures (only run_info.json differs)."""
    spec = spine_dir / "spine.toml"
    b = runner.invoke(app, ["run", str(spec), "-o", str(tmp_path / "b"), "-q"])
    assert b.exit_code == 0, b.output
    a_dir, b_dir = spine_demo.folder, tmp_path / "b"
    ra, rb = (a_dir / "results.json").read_bytes(), (b_dir / "results.json").read_bytes()
    assert ra == rb
    doc = json.loads(ra)
    assert doc["simulated"] is True and doc["schema_version"] == "1"
    assert set(doc["provenance"]["inputs"]) >= {"spec", "spine_arms.csv", "spine_rob.csv"}
    assert len(doc["recommendations"]["recommendations"]) == 6
    assert (a_dir / "report.html").read_bytes() == (b_dir / "report.html").read_bytes()
    names = sorted(p.relative_to(a_dir) for p in a_dir.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b_dir) for p in b_dir.rglob("*") if p.is_file())
    for name in names:
        if name.name != "run_info.json":
            assert (a_dir / name).read_bytes() == (b_dir / name).read_bytes(), name
    assert "started_at" in json.loads((a_dir / "run_info.json").read_text())
    assert b.stdout.strip().splitlines()[-1] == f"Report: {(b_dir / 'report.html').resolve()}"


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda t: t.replace('reference = "sham"', 'referense = "sham"'), "model.referense: Extra inputs are not permitted"),
        (lambda t: t.replace('arms = "spine_arms.csv"', 'arms = "missing_arms.csv"'), "data.arms: file not found"),
        (lambda t: t.replace('interventions = ["IM_LA", "IM_LA_steroid"]', 'interventions = ["IM_LA", "IM_LA_steriod"]'), "IM_LA_steriod"),
    ],
    ids=["typo-in-key", "missing-file", "unknown-treatment"],
)
def test_bad_specs_fail_with_a_message_and_write_nothing(spine_dir, tmp_path, edit, message):
    spec = spine_dir / "spine.toml"
    spec.write_text(edit(spec.read_text()))
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(spec), "-o", str(out)])
    assert res.exit_code == 1
    assert message in res.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".netgrade-")]
