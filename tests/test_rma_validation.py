"""Typed errors and warnings for bad or awkward input to the pairwise engine."""

from __future__ import annotations

import numpy as np
import pytest

from netgrade.errors import DataError, ModelError
from netgrade.pairwise import rma


def test_negative_variance_names_the_study():
    with pytest.raises(DataError) as exc:
        rma([0.1, 0.2, 0.3], [0.1, -0.2, 0.1], studies=["A", "B", "C"])
    assert "study 'B'" in str(exc.value) and "negative" in str(exc.value)
    assert exc.value.issues[0].study == "B" and exc.value.issues[0].column == "vi"


def test_zero_variance_is_an_error_without_weights():
    with pytest.raises(DataError, match="study 'C'.*zero"):
        rma([0.1, 0.2, 0.3], [0.1, 0.2, 0.0], studies=["A", "B", "C"])


def test_missing_values_name_every_study():
    with pytest.raises(DataError) as exc:
        rma([0.1, np.nan, 0.3, 0.2], [0.1, 0.2, np.nan, 0.1], studies=["A", "B", "C", "D"])
    msg = str(exc.value)
    assert "study 'B'" in msg and "study 'C'" in msg and "column 'yi'" in msg and "column 'vi'" in msg


def test_single_study_random_effects_is_a_model_error():
    with pytest.raises(ModelError, match="at least 2 studies.*Solo"):
        rma([0.1], [0.1], studies=["Solo"], method="REML")


def test_single_study_common_effect_returns_the_study_with_a_warning():
    res = rma([0.3], [0.04], studies=["Solo"], method="FE")
    assert res.estimate == pytest.approx(0.3) and res.se == pytest.approx(0.2)
    assert any(w.code == "single_study" for w in res.warnings)


def test_identical_effects_under_hartung_knapp_is_a_model_error():
    with pytest.raises(ModelError, match="identical"):
        rma([0.2, 0.2, 0.2], [0.1, 0.2, 0.3], test="knha")


def test_tau2_at_zero_is_a_warning_on_the_result():
    res = rma([0.2, 0.21, 0.19, 0.2], [0.1, 0.2, 0.3, 0.1], method="DL")
    assert res.tau2 == 0.0
    w = [w for w in res.warnings if w.code == "tau2_boundary"]
    assert w and "untruncated" in w[0].message


def test_collinear_moderators_are_reported():
    x = np.arange(5.0)
    with pytest.raises(ModelError, match="collinear"):
        rma(np.arange(5.0), np.ones(5), mods=np.column_stack([x, 2 * x]))


def test_scalar_views_refuse_multi_coefficient_models():
    res = rma([0.1, 0.3, 0.2, 0.5], [0.1, 0.1, 0.2, 0.2], mods=[1, 2, 3, 4], method="FE")
    with pytest.raises(ModelError, match="one coefficient"):
        res.estimate  # noqa: B018
    assert res.coef_frame().shape == (2, 6)


def test_unknown_method_and_test():
    with pytest.raises(ModelError, match="unknown tau² method"):
        rma([0.1, 0.2], [0.1, 0.1], method="XYZ")
    with pytest.raises(ModelError, match="unknown test"):
        rma([0.1, 0.2], [0.1, 0.1], test="w")


def test_result_objects_export_and_display():
    res = rma([0.1, 0.3, 0.2, 0.5], [0.1, 0.1, 0.2, 0.2], method="REML", studies=list("ABCD"))
    d = res.to_dict()
    for key in ("k", "estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "pi_low", "pi_high"):
        assert key in d
    assert res.to_json() == res.to_json()
    assert "Random-effects model (k = 4; tau² estimator: REML)" in res.summary()
    assert "<pre>" in res._repr_html_()
    with pytest.raises(Exception):
        res.yi[0] = 5.0  # results are read-only
