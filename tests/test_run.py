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


def test_run_twice_gives_byte_identical_results(spine_dir, tmp_path):
    spec = spine_dir / "spine.toml"
    a = runner.invoke(app, ["run", str(spec), "-o", str(tmp_path / "a"), "-q"])
    b = runner.invoke(app, ["run", str(spec), "-o", str(tmp_path / "b"), "-q"])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    ra, rb = (tmp_path / "a" / "results.json").read_bytes(), (tmp_path / "b" / "results.json").read_bytes()
    assert ra == rb
    doc = json.loads(ra)
    assert doc["simulated"] is True and doc["schema_version"] == "1"
    assert set(doc["provenance"]["inputs"]) >= {"spec", "spine_arms.csv", "spine_rob.csv"}
    assert len(doc["recommendations"]["recommendations"]) == 6
    assert (tmp_path / "a" / "figures" / "axial_pain" / "league_table.svg").read_bytes() == (
        tmp_path / "b" / "figures" / "axial_pain" / "league_table.svg"
    ).read_bytes()
    assert "started_at" in json.loads((tmp_path / "a" / "run_info.json").read_text())


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
