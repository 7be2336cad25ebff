"""The analysis spec: validation with errors that name the file and the key."""

from __future__ import annotations

import json
import textwrap
from importlib import resources

import pytest

from netgrade.errors import SpecError
from netgrade.spec import load_spec, parse_spec, spec_json_schema

VALID = textwrap.dedent(
    """
    [project]
    title = "Example"
    simulated = true

    [data]
    arms = "arms.csv"

    [[outcomes]]
    name = "pain"
    label = "Pain (10 cm VAS)"
    measure = "MD"
    direction = "smaller_is_better"
    mid = 1.5
    unit = "cm"

    [[populations]]
    name = "axial"
    where = { population = "axial" }

    [model]
    method = "REML"
    reference = "sham"

    [[certainty.overrides]]
    outcome = "pain"
    population = "axial"
    comparison = ["epidural_LA", "sham"]
    domain = "imprecision"
    level = "some concerns"
    justification = "the panel judged the upper limit clinically important"
    """
)


def _write(tmp_path, text, name="spec.toml"):
    (tmp_path / "arms.csv").write_text("study,treatment,mean,sd,n\nA,sham,5,2,20\nA,x,4,2,20\n")
    p = tmp_path / name
    p.write_text(text)
    return p


def test_valid_spec_loads_and_resolves_paths(tmp_path):
    loaded = load_spec(_write(tmp_path, VALID))
    assert loaded.spec.model.reference == "sham"
    assert loaded.resolve(loaded.spec.data.arms) == tmp_path / "arms.csv"
    outcome = loaded.spec.outcomes[0].to_outcome()
    assert outcome.thresholds.to_dict() == {"small": 1.5, "moderate": 3.0, "large": 4.5}
    assert not outcome.larger_better
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("mid = 1.5", "mid = -1", "spec.toml: outcomes[0].mid: Input should be greater than 0"),
        ('direction = "smaller_is_better"', 'direction = "lower"', "spec.toml: outcomes[0].direction"),
        ('reference = "sham"', "", "spec.toml: model.reference: Field required"),
        ('method = "REML"', 'method = "BAYES"', "spec.toml: model.method"),
        ('outcome = "pain"\npopulation', 'outcome = "function"\npopulation', "certainty.overrides[0].outcome: unknown outcome 'function'"),
        ('justification = "the panel judged the upper limit clinically important"', 'justification = "  "', "spec.toml: certainty.overrides[0].justification: an override needs a justification"),
        ('unit = "cm"', 'unit = "cm"\ncolour = "red"', "spec.toml: outcomes[0].colour: Extra inputs are not permitted"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, old, new, message):
    assert old in VALID
    p = _write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(SpecError) as exc:
        load_spec(p)
    assert message in str(exc.value)


def test_missing_data_file_and_bad_toml(tmp_path):
    p = _write(tmp_path, VALID.replace('arms = "arms.csv"', 'arms = "nope.csv"'))
    with pytest.raises(SpecError, match="data.arms: file not found"):
        load_spec(p)
    q = _write(tmp_path, "[project\ntitle=1", name="broken.toml")
    with pytest.raises(SpecError, match="broken.toml: not valid TOML"):
        load_spec(q)


def test_thresholds_must_start_at_the_mid():
    import tomllib

    data = tomllib.loads(VALID.replace("mid = 1.5", "mid = 1.5\nthresholds = [1.0, 3.0, 4.5]"))
    with pytest.raises(SpecError, match="the first threshold"):
        parse_spec(data, "x.toml")


def test_shipped_json_schema_is_current():
    shipped = json.loads(resources.files("netgrade").joinpath("spec.schema.json").read_text())
    assert shipped == json.loads(json.dumps(spec_json_schema(), sort_keys=True))
    assert "outcomes" in shipped["properties"] and "certainty" in shipped["properties"]
