"""End-to-end invariants of a pairwise analysis (read -> effect sizes -> model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgrade.pairwise.analysis import analyse_pairwise

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def binary_arms(draw):
    k = draw(st.integers(3, 8))
    rows = []
    for i in range(k):
        for arm in ("drug", "placebo"):
            n = draw(st.integers(10, 300))
            rows.append({"study": f"S{i}", "treatment": arm, "events": draw(st.integers(1, n - 1)), "n": n})
    return pd.DataFrame(rows)


@st.composite
def continuous_arms(draw):
    k = draw(st.integers(3, 8))
    rows = []
    for i in range(k):
        for arm in ("drug", "placebo"):
            rows.append(
                {
                    "study": f"S{i}",
                    "treatment": arm,
                    "mean": draw(st.floats(-5, 5)),
                    "sd": draw(st.floats(0.5, 3)),
                    "n": draw(st.integers(5, 200)),
                }
            )
    return pd.DataFrame(rows)


@SETTINGS
@given(arms=binary_arms(), measure=st.sampled_from(["OR", "RR", "RD"]), method=st.sampled_from(["DL", "REML", "FE"]))
def test_swapping_treatment_and_control_flips_the_sign(arms, measure, method):
    a = analyse_pairwise(arms, measure=measure, method=method, treatment="drug", control="placebo")
    b = analyse_pairwise(arms, measure=measure, method=method, treatment="placebo", control="drug")
    ka, kb = a.key_results(), b.key_results()
    assert kb["estimate"] == pytest.approx(-ka["estimate"], rel=1e-9, abs=1e-12)
    assert kb["se"] == pytest.approx(ka["se"], rel=1e-9)
    assert kb["tau2"] == pytest.approx(ka["tau2"], rel=1e-7, abs=1e-12)
    assert kb["q"] == pytest.approx(ka["q"], rel=1e-9)


@SETTINGS
@given(arms=continuous_arms(), c=st.floats(0.1, 100), method=st.sampled_from(["DL", "REML", "PM"]))
def test_changing_units_scales_mean_differences_and_keeps_smd(arms, c, method):
    scaled = arms.assign(mean=arms["mean"] * c, sd=arms["sd"] * c)
    md = analyse_pairwise(arms, measure="MD", method=method, treatment="drug", control="placebo").key_results()
    md_c = analyse_pairwise(scaled, measure="MD", method=method, treatment="drug", control="placebo").key_results()
    assert md_c["estimate"] == pytest.approx(c * md["estimate"], rel=1e-7, abs=1e-10)
    assert md_c["se"] == pytest.approx(c * md["se"], rel=1e-7)
    assert md_c["tau2"] == pytest.approx(c * c * md["tau2"], rel=1e-6, abs=1e-10)
    assert md_c["i2"] == pytest.approx(md["i2"], rel=1e-6, abs=1e-7)
    smd = analyse_pairwise(arms, measure="SMD", method=method, treatment="drug", control="placebo").key_results()
    smd_c = analyse_pairwise(scaled, measure="SMD", method=method, treatment="drug", control="placebo").key_results()
    assert smd_c["estimate"] == pytest.approx(smd["estimate"], rel=1e-7, abs=1e-10)


@SETTINGS
@given(arms=binary_arms(), seed=st.integers(0, 2**31 - 1))
def test_row_order_of_the_file_does_not_matter(arms, seed):
    shuffled = arms.sample(frac=1.0, random_state=seed % (2**32 - 1)).reset_index(drop=True)
    a = analyse_pairwise(arms, measure="OR", method="REML", treatment="drug", control="placebo").key_results()
    b = analyse_pairwise(shuffled, measure="OR", method="REML", treatment="drug", control="placebo").key_results()
    for key in ("estimate", "se", "tau2", "q", "pi_low", "pi_high"):
        assert b[key] == pytest.approx(a[key], rel=1e-7, abs=1e-10)
