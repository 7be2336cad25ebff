"""Invariants of the pairwise engine (hypothesis): study order, sign flips, scaling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgrade.pairwise import rma
from netgrade.pairwise.tau2 import METHODS

METHODS_RE = [m for m in METHODS if m != "FE"]


@st.composite
def meta_data(draw, min_k=3, max_k=12):
    k = draw(st.integers(min_k, max_k))
    y = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k))
    v = draw(st.lists(st.floats(0.01, 2.0, allow_nan=False), min_size=k, max_size=k))
    return np.array(y), np.array(v)


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _key(res):
    return np.array([res.estimate, res.se, res.tau2, res.q, res.i2, res.ci_low, res.ci_high])


@SETTINGS
@given(data=meta_data(), method=st.sampled_from(list(METHODS)), seed=st.integers(0, 2**31 - 1))
def test_study_order_does_not_matter(data, method, seed):
    y, v = data
    perm = np.random.default_rng(seed).permutation(y.size)
    a = rma(y, v, method=method)
    b = rma(y[perm], v[perm], method=method)
    np.testing.assert_allclose(_key(a), _key(b), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(a.weights[perm], b.weights, rtol=1e-7, atol=1e-10)


@SETTINGS
@given(data=meta_data(), method=st.sampled_from(list(METHODS)), test=st.sampled_from(["z", "knha"]))
def test_sign_flip_negates_estimate_and_keeps_heterogeneity(data, method, test):
    y, v = data
    if test == "knha" and np.ptp(y) < 1e-9:
        return
    a = rma(y, v, method=method, test=test)
    b = rma(-y, v, method=method, test=test)
    assert b.estimate == pytest.approx(-a.estimate, rel=1e-7, abs=1e-10)
    assert b.se == pytest.approx(a.se, rel=1e-7, abs=1e-12)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-7, abs=1e-12)
    assert b.ci_low == pytest.approx(-a.ci_high, rel=1e-7, abs=1e-10)
    assert b.pval == pytest.approx(a.pval, rel=1e-7, abs=1e-12)


@SETTINGS
@given(data=meta_data(), method=st.sampled_from(list(METHODS)), c=st.floats(0.1, 20))
def test_rescaling_scales_estimates_and_keeps_relative_heterogeneity(data, method, c):
    """Changing the unit of a mean difference (y -> c y, v -> c² v) scales the
    estimate by c and tau² by c²; I², H², Q and p-values are unit-free."""
    y, v = data
    a = rma(y, v, method=method)
    b = rma(c * y, c * c * v, method=method)
    assert b.estimate == pytest.approx(c * a.estimate, rel=1e-6, abs=1e-9)
    assert b.se == pytest.approx(c * a.se, rel=1e-6)
    assert b.tau2 == pytest.approx(c * c * a.tau2, rel=1e-6, abs=1e-9)
    assert b.i2 == pytest.approx(a.i2, rel=1e-6, abs=1e-7)
    assert b.q == pytest.approx(a.q, rel=1e-8)
    assert b.pval == pytest.approx(a.pval, rel=1e-6, abs=1e-12)


@SETTINGS
@given(data=meta_data(min_k=4), method=st.sampled_from(METHODS_RE))
def test_heterogeneity_interval_contains_consistent_values(data, method):
    y, v = data
    res = rma(y, v, method=method)
    ci = res.confint()
    assert 0.0 <= ci.tau2.ci_low <= ci.tau2.ci_high
    assert ci.i2.ci_low <= ci.i2.ci_high <= 100.0
    if method in ("ML", "REML"):
        pl = res.confint("PL")
        assert pl.tau2.ci_low <= res.tau2 <= pl.tau2.ci_high


def test_metaregression_invariant_to_moderator_shift():
    """Centring a moderator changes the intercept only."""
    rng = np.random.default_rng(1)
    x = rng.uniform(10, 50, 15)
    y = 0.5 - 0.03 * x + rng.normal(0, 0.2, 15)
    v = rng.uniform(0.02, 0.2, 15)
    a = rma(y, v, mods=x, method="REML")
    b = rma(y, v, mods=x - x.mean(), method="REML")
    assert a.coef[1] == pytest.approx(b.coef[1], rel=1e-9)
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-9)
    assert a.qm == pytest.approx(b.qm, rel=1e-9)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-9)
