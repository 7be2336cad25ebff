"""`netgrade audit`: plausibility flags and discrepancies between two extractions."""

from __future__ import annotations

import json
import math

import pandas as pd
from typer.testing import CliRunner

from netgrade.cli import app
from netgrade.datasets import example


def test_audit_finds_a_planted_swap_and_a_changed_mean(tmp_path):
    arms = pd.read_csv(example("spine").path)
    second = arms.copy()
    i = 10
    study, trt = second.loc[i, "study"], second.loc[i, "treatment"]
    second.loc[i, "sd"] = round(second.loc[i, "sd"] / math.sqrt(second.loc[i, "n"]), 2)  # SE entered as SD
    second.loc[i + 1, "mean"] = second.loc[i + 1, "mean"] + 1.0
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    arms.to_csv(a, index=False)
    second.to_csv(b, index=False)
    res = CliRunner().invoke(app, ["audit", str(a), str(b), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["plausibility"][str(a)]["flags"] == []
    flags = doc["plausibility"][str(b)]["flags"]
    assert [(f["code"], f["study"], f["treatment"], f["column"]) for f in flags] == [("sd_looks_like_se", study, trt, "sd")]
    found = {(d["study"], d["column"]) for d in doc["comparison"]["discrepancies"]}
    assert found == {(study, "sd"), (second.loc[i + 1, "study"], "mean")}
