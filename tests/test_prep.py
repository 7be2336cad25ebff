"""Data-preparation helpers (prep.py) and scale conversion (scales.py).

Numbers are checked against worked examples (Cochrane Handbook), independent hand
derivations, exact algebraic identities, and simulation of large normal samples.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from netgrade.data import schema
from netgrade.data.prep import (
    SMALL_SAMPLE_N,
    MeanSD,
    combine_arms,
    combine_binary,
    combine_groups,
    estimate_from_ci,
    luo_mean,
    mean_sd_from_quantiles,
    sd_from_ci,
    sd_from_se,
    se_from_ci,
    se_from_p,
    wan_sd,
)
from netgrade.data.scales import (
    Rescaled,
    Scale,
    rescale,
    rescale_arms,
    rescale_difference,
    rescale_mean,
    rescale_sd,
    rescale_se,
)
from netgrade.errors import DataError

# --------------------------------------------------------------------------------------
# SE and SD from reported statistics


def test_se_from_ci_ratio_measure_by_hand():
    # OR 95% CI 0.5 to 2.0: log limits ±ln 2, width 2 ln 2 = 1.3862944; / (2 × 1.959964)
    assert se_from_ci(0.5, 2.0, ratio=True) == pytest.approx(2 * math.log(2) / 3.919928, rel=1e-6)
    assert estimate_from_ci(0.5, 2.0, ratio=True) == pytest.approx(0.0, abs=1e-15)
    # difference on the natural scale, 90% level: z = 1.644854
    assert se_from_ci(-1.0, 3.0, level=0.90) == pytest.approx(4 / (2 * 1.644854), rel=1e-6)
    assert se_from_ci(-1.0, 3.0, level=90) == se_from_ci(-1.0, 3.0, level=0.90)
    # t-based CI: with df the t quantile is used
    assert se_from_ci(0, 1, df=10) == pytest.approx(1 / (2 * stats.t.ppf(0.975, 10)), rel=1e-12)
    np.testing.assert_allclose(se_from_ci([0, 1], [2, 5]), np.array([2, 4]) / (2 * stats.norm.ppf(0.975)))


def test_se_from_p_cochrane_example():
    # Cochrane Handbook (obtaining SEs from P values): MD = 3.8, P = 0.008, groups of 25
    # and 22 -> t with 45 df is 2.78 and SE = 3.8 / 2.78 = 1.37
    se = se_from_p(3.8, 0.008, df=45)
    assert 3.8 / se == pytest.approx(2.78, abs=0.005)
    assert se == pytest.approx(1.37, abs=0.005)


def test_se_from_p_inverts_the_wald_test():
    for est, se in [(0.3, 0.1), (-1.2, 0.8), (2.0, 3.0)]:
        p = 2 * stats.norm.sf(abs(est / se))
        assert se_from_p(est, p) == pytest.approx(se, rel=1e-10)
    # ratio measures: SE of the log ratio
    p = 2 * stats.norm.sf(math.log(1.5) / 0.2)
    assert se_from_p(1.5, p, ratio=True) == pytest.approx(0.2, rel=1e-10)
    with pytest.raises(DataError, match="no effect"):
        se_from_p(0.0, 0.5)
    with pytest.raises(DataError, match=r"\(0, 1\]"):
        se_from_p(1.0, 0.0)


def test_sd_from_se_and_ci():
    assert sd_from_se(2.0, 25) == 10.0
    np.testing.assert_allclose(sd_from_se([1.0, 0.5], [16, 100]), [4.0, 5.0])
    # Cochrane Handbook 6.5.2.2: for n = 25, 3.92 is replaced by 2 × t(0.975, 24) = 4.128
    assert sd_from_ci(3.0, 7.0, 25) == pytest.approx(5 * 4 / 4.128, rel=2e-4)
    # large samples use the normal quantile: 3.92
    assert sd_from_ci(3.0, 7.0, 400) == pytest.approx(20 * 4 / 3.919928, rel=1e-6)
    # the documented rule: t below SMALL_SAMPLE_N, z from it on; both can be forced
    n = SMALL_SAMPLE_N
    assert sd_from_ci(0, 1, n - 1) == pytest.approx(math.sqrt(n - 1) / (2 * stats.t.ppf(0.975, n - 2)))
    assert sd_from_ci(0, 1, n) == pytest.approx(math.sqrt(n) / (2 * stats.norm.ppf(0.975)))
    assert sd_from_ci(0, 1, 200, dist="t") == pytest.approx(math.sqrt(200) / (2 * stats.t.ppf(0.975, 199)))
    assert sd_from_ci(0, 1, 10, dist="z") == pytest.approx(math.sqrt(10) / (2 * stats.norm.ppf(0.975)))
    with pytest.raises(DataError, match="below the lower"):
        sd_from_ci(2, 1, 10)


def test_sd_from_ci_recovers_simulated_sd():
    rng = np.random.default_rng(20240101)
    for n in (12, 200):
        x = rng.normal(50, 8, size=n)
        m, s = x.mean(), x.std(ddof=1)
        half = stats.t.ppf(0.975, n - 1) * s / math.sqrt(n) if n < SMALL_SAMPLE_N else 1.959964 * s / math.sqrt(n)
        assert sd_from_ci(m - half, m + half, n) == pytest.approx(s, rel=1e-6)


# --------------------------------------------------------------------------------------
# mean and SD from median / quartiles / range


def test_wan_scenarios_by_formula_constants():
    n = 100
    xi = 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))
    eta = 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    assert wan_sd(n, minimum=10, maximum=60) == pytest.approx(50 / xi, rel=1e-12)
    assert wan_sd(n, q1=30, q3=45) == pytest.approx(15 / eta, rel=1e-12)
    # S3 is exactly the average of the S1 and S2 estimates
    s3 = wan_sd(n, minimum=10, q1=30, q3=45, maximum=60)
    assert s3 == pytest.approx((50 / xi + 15 / eta) / 2, rel=1e-12)
    # for large n the IQR divisor tends to 2 × 0.6744898 = 1.34898 (IQR of a normal)
    assert wan_sd(10**7, q1=-0.6744898, q3=0.6744898) == pytest.approx(1.0, rel=1e-6)


def test_luo_weights_by_hand():
    n = 16  # n^0.75 = 8, n^0.55 = 4.5948
    assert luo_mean(n, minimum=0, median=5, maximum=20) == pytest.approx((4 / 12) * 10 + (8 / 12) * 5, rel=1e-12)
    w = 0.7 + 0.39 / 16
    assert luo_mean(n, q1=2, median=5, q3=10) == pytest.approx(w * 6 + (1 - w) * 5, rel=1e-12)
    w1 = 2.2 / (2.2 + 8)
    w2 = 0.7 - 0.72 / 16**0.55
    got = luo_mean(n, minimum=0, q1=2, median=5, q3=10, maximum=20)
    assert got == pytest.approx(w1 * 10 + w2 * 6 + (1 - w1 - w2) * 5, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(5, 1000),
    st.floats(-100, 100),
    st.floats(0.1, 10),
    st.sampled_from(["S1", "S2", "S3"]),
)
def test_quantile_estimators_are_location_scale_equivariant(n, shift, scale, scenario):
    q = dict(minimum=-2.5, q1=-0.7, median=0.1, q3=0.8, maximum=2.9)
    keys = {"S1": ("minimum", "median", "maximum"), "S2": ("q1", "median", "q3"), "S3": tuple(q)}[scenario]
    base = {k: q[k] for k in keys}
    moved = {k: shift + scale * v for k, v in base.items()}
    a, b = mean_sd_from_quantiles(n, **base), mean_sd_from_quantiles(n, **moved)
    assert a.scenario == scenario
    assert b.mean == pytest.approx(shift + scale * a.mean, rel=1e-9, abs=1e-9)
    assert b.sd == pytest.approx(scale * a.sd, rel=1e-9)
    # symmetric summaries give mean = median
    sym = {k: shift + scale * v for k, v in dict(minimum=-3, q1=-1, median=0, q3=1, maximum=3).items() if k in keys}
    assert mean_sd_from_quantiles(n, **sym).mean == pytest.approx(shift, abs=1e-9 * max(1, abs(shift)))


@pytest.mark.parametrize("n", [25, 200])
def test_quantile_estimators_recover_normal_parameters(n):
    """Simulation: averaged over many normal samples the estimators are close to (mu, sigma)."""
    rng = np.random.default_rng(12345 + n)
    mu, sigma, reps = 10.0, 3.0, 4000
    x = np.sort(rng.normal(mu, sigma, size=(reps, n)), axis=1)
    mn, mx = x[:, 0], x[:, -1]
    med = np.median(x, axis=1)
    q1, q3 = np.quantile(x, [0.25, 0.75], axis=1)
    for kw in (
        dict(minimum=mn, median=med, maximum=mx),
        dict(q1=q1, median=med, q3=q3),
        dict(minimum=mn, q1=q1, median=med, q3=q3, maximum=mx),
    ):
        est = mean_sd_from_quantiles(n, **kw)
        assert np.mean(est.mean) == pytest.approx(mu, abs=0.02)
        assert np.mean(est.sd) == pytest.approx(sigma, rel=0.03)
        # the optimally weighted mean is no worse than the median alone
        assert np.mean((est.mean - mu) ** 2) <= np.mean((med - mu) ** 2) * 1.01


def test_quantile_input_errors():
    with pytest.raises(DataError, match="both the minimum and the maximum"):
        mean_sd_from_quantiles(10, median=1, minimum=0)
    with pytest.raises(DataError, match="range"):
        mean_sd_from_quantiles(10, median=1)
    with pytest.raises(DataError, match="below"):
        mean_sd_from_quantiles(10, q1=3, median=2, q3=4)
    res = mean_sd_from_quantiles(30, q1=1, median=2, q3=4)
    assert isinstance(res, MeanSD) and res.to_dict()["scenario"] == "S2"


# --------------------------------------------------------------------------------------
# combining groups


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(2, 40), min_size=2, max_size=4), st.integers(0, 10**6))
def test_combine_groups_equals_pooled_raw_data(sizes, seed):
    """Table 6.5.a applied in turn gives exactly the mean and SD of the pooled observations."""
    rng = np.random.default_rng(seed)
    groups = [rng.normal(rng.uniform(-5, 5), rng.uniform(0.5, 4), size=n) for n in sizes]
    res = combine_groups([len(g) for g in groups], [g.mean() for g in groups], [g.std(ddof=1) for g in groups])
    pooled = np.concatenate(groups)
    assert res.n == len(pooled)
    assert res.mean == pytest.approx(pooled.mean(), rel=1e-10, abs=1e-12)
    assert res.sd == pytest.approx(pooled.std(ddof=1), rel=1e-10)


def test_combine_groups_two_group_formula_by_hand():
    # N1 = 10, M1 = 5, SD1 = 2; N2 = 20, M2 = 8, SD2 = 3
    var = (9 * 4 + 19 * 9 + 10 * 20 / 30 * 9) / 29
    res = combine_groups([10, 20], [5, 8], [2, 3])
    assert (res.n, res.mean) == (30.0, pytest.approx(7.0))
    assert res.sd == pytest.approx(math.sqrt(var), rel=1e-14)
    assert combine_binary([3, 5], [20, 25]) == (8.0, 45.0)
    with pytest.raises(DataError):
        combine_binary([30], [20])
    with pytest.raises(DataError):
        combine_groups([10, 0], [1, 1], [1, 1])


def test_combine_arms_in_a_table():
    frame = pd.DataFrame(
        {
            "study": ["A", "A", "A", "B", "B"],
            "treatment": ["low dose", "high dose", "placebo", "high dose", "placebo"],
            "n": [10, 20, 15, 12, 12],
            "mean": [5.0, 8.0, 9.0, 7.0, 9.5],
            "sd": [2.0, 3.0, 2.5, 2.0, 2.0],
        }
    )
    out = combine_arms(frame, ["low dose", "high dose"], "active")
    assert list(out["study"]) == ["A", "A", "B", "B"]
    assert list(out["treatment"]) == ["active", "placebo", "active", "placebo"]
    a = out.iloc[0]
    ref = combine_groups([10, 20], [5, 8], [2, 3])
    assert (a["n"], a["mean"], a["sd"]) == (ref.n, ref.mean, ref.sd)
    assert out.iloc[2]["n"] == 12 and out.iloc[2]["mean"] == 7.0
    binary = pd.DataFrame({"study": ["A", "A"], "treatment": ["x", "y"], "events": [1, 2], "n": [10, 10]})
    merged = combine_arms(binary, ["x", "y"], "xy")
    assert merged.iloc[0]["events"] == 3 and merged.iloc[0]["n"] == 20 and len(merged) == 1


# --------------------------------------------------------------------------------------
# scales

VAS_MM = Scale("VAS 0-100 mm", 0, 100, higher_is_better=False)
VAS_CM = Scale("VAS 0-10 cm", 0, 10, higher_is_better=False)
RELIEF = Scale("pain relief 0-10", 0, 10, higher_is_better=True)
QOL = Scale("function 0-100", 0, 100, higher_is_better=True)


def test_same_direction_rescaling():
    m = rescale_mean(45.0, VAS_MM, VAS_CM)
    assert isinstance(m, Rescaled) and m.value == pytest.approx(4.5)
    assert m.factor == pytest.approx(0.1) and not m.reversed
    assert m.scale is VAS_CM and m.source is VAS_MM and m.higher_is_better is False
    assert rescale_sd(20.0, VAS_MM, VAS_CM).value == pytest.approx(2.0)
    assert rescale_se(3.0, VAS_MM, VAS_CM).value == pytest.approx(0.3)
    # a mean difference of -15 mm (less pain) is -1.5 cm: scaled, not shifted
    assert rescale_difference(-15.0, VAS_MM, VAS_CM).value == pytest.approx(-1.5)


def test_opposite_direction_rescaling():
    # pain 3/10 (lower better) is relief 70/100 on a higher-is-better scale
    m = rescale_mean(3.0, VAS_CM, QOL)
    assert m.value == pytest.approx(70.0) and m.reversed and m.higher_is_better
    # a 2-point pain reduction (MD = -2, benefit) is a 20-point gain (benefit) on QOL
    d = rescale_difference(-2.0, VAS_CM, QOL)
    assert d.value == pytest.approx(20.0) and d.reversed
    # SDs and SEs never change sign
    assert rescale_sd(2.0, VAS_CM, QOL).value == pytest.approx(20.0)
    assert rescale_se(0.5, VAS_CM, RELIEF).value == pytest.approx(0.5)
    with pytest.raises(DataError, match="negative"):
        rescale_sd(-1.0, VAS_CM, QOL)


def test_offset_scales():
    likert = Scale("1-5 Likert", 1, 5, higher_is_better=True)
    pct = Scale("0-100", 0, 100, higher_is_better=True)
    assert rescale_mean(1.0, likert, pct).value == pytest.approx(0.0)
    assert rescale_mean(3.0, likert, pct).value == pytest.approx(50.0)
    assert rescale_difference(1.0, likert, pct).value == pytest.approx(25.0)
    assert rescale_mean(np.array([1.0, 5.0]), likert, pct).value.tolist() == pytest.approx([0.0, 100.0])


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-50, 150), st.floats(-50, 150),
    st.tuples(st.floats(-10, 10), st.floats(0.5, 100)), st.tuples(st.floats(-10, 10), st.floats(0.5, 100)),
    st.booleans(), st.booleans(),
)
def test_difference_of_rescaled_means_is_rescaled_difference(x, y, s1, s2, hib1, hib2):
    a = Scale("a", s1[0], s1[0] + s1[1], hib1)
    b = Scale("b", s2[0], s2[0] + s2[1], hib2)
    mx, my = rescale_mean(x, a, b).value, rescale_mean(y, a, b).value
    assert mx - my == pytest.approx(rescale_difference(x - y, a, b).value, rel=1e-9, abs=1e-9)
    # converting there and back is the identity
    assert rescale_mean(mx, b, a).value == pytest.approx(x, rel=1e-9, abs=1e-9)
    assert rescale_sd(rescale_sd(abs(x), a, b).value, b, a).value == pytest.approx(abs(x), rel=1e-9, abs=1e-12)


def test_scale_validation_and_export():
    with pytest.raises(DataError, match="low < high"):
        Scale("bad", 10, 0, True)
    assert "lower is better" in str(VAS_CM)
    r = rescale(np.array([1.0, 2.0]), "mean", VAS_CM, VAS_MM)
    assert r.to_dict()["value"] == [10.0, 20.0] and r.to_dict()["scale"]["higher_is_better"] is False
    with pytest.raises(DataError, match="unknown kind"):
        rescale(1.0, "median", VAS_CM, VAS_MM)  # type: ignore[arg-type]


def test_rescale_arms():
    frame = pd.DataFrame(
        {"study": ["A", "A"], "treatment": ["x", "y"], "n": [10, 10], "mean": [60.0, 40.0], "sd": [20.0, 10.0],
         "scale_min": [0, 0], "scale_max": [100, 100]}
    )
    arms = schema.ArmTable(frame, "continuous", source="pain.csv")
    out = rescale_arms(arms, VAS_MM, RELIEF)
    assert isinstance(out, schema.ArmTable) and out.source == "pain.csv"
    assert out.frame["mean"].tolist() == pytest.approx([4.0, 6.0])
    assert out.frame["sd"].tolist() == pytest.approx([2.0, 1.0])
    assert out.frame["scale_max"].tolist() == [10.0, 10.0]
    assert frame["mean"].tolist() == [60.0, 40.0]  # input untouched
    binary = pd.DataFrame({"study": ["A"], "treatment": ["x"], "n": [10], "events": [2]})
    with pytest.raises(DataError, match="continuous"):
        rescale_arms(binary, VAS_MM, VAS_CM)
