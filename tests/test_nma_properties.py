"""Network meta-analysis: special networks, bad input and invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgrade._result import frozen_array
from netgrade.data.readers import read_contrasts
from netgrade.errors import DataError, ModelError
from netgrade.network import NetworkData, StudyBlock, network_from_contrasts, nma
from netgrade.pairwise import rma
from tests.nma_data import network

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _block(study, arms, means, variances, n=None):
    """A study from arm-level means and variances (so its contrasts are consistent)."""
    m = np.asarray(means, float)
    v = np.asarray(variances, float)
    y = m[:, None] - m[None, :]
    R = v[:, None] + v[None, :]
    np.fill_diagonal(R, 0.0)
    return StudyBlock(study, tuple(arms), frozen_array(y), frozen_array(R), None if n is None else frozen_array(n))


def _net(blocks, measure="MD"):
    treatments = tuple(sorted({t for b in blocks for t in b.arms}))
    return NetworkData(tuple(blocks), treatments, measure)


def _contrast_frame(rows):
    return pd.DataFrame(rows, columns=["study", "treatment1", "treatment2", "estimate", "se"])


# --- special networks ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "ML"])
def test_two_treatment_network_is_a_pairwise_meta_analysis(method):
    rng = np.random.default_rng(3)
    y = rng.normal(0.3, 0.4, 9)
    v = rng.uniform(0.02, 0.3, 9)
    blocks = [_block(f"S{i}", ("A", "B"), [0.0, y[i]], [v[i] / 2, v[i] / 2]) for i in range(9)]
    res = nma(_net(blocks), reference="A", method=method)
    pw = rma(y, v, method=method)
    assert res.coef[0] == pytest.approx(pw.estimate, rel=1e-9)
    assert np.sqrt(res.vcov[0, 0]) == pytest.approx(pw.se, rel=1e-9)
    assert res.tau2 == pytest.approx(pw.tau2, rel=1e-8, abs=1e-12)
    assert res.q == pytest.approx(pw.q, rel=1e-12)
    assert res.q_between == pytest.approx(0.0, abs=1e-9) and res.q_between_df == 0


def test_star_network_reproduces_each_direct_meta_analysis():
    rng = np.random.default_rng(5)
    blocks, direct = [], {}
    for t in ("B", "C", "D"):
        y = rng.normal(0.5, 0.2, 4)
        v = rng.uniform(0.05, 0.2, 4)
        direct[t] = rma(y, v, method="FE")
        blocks += [_block(f"{t}{i}", ("A", t), [0.0, y[i]], [v[i] / 2, v[i] / 2]) for i in range(4)]
    res = nma(_net(blocks), reference="A", method="FE")
    eff = res.effects().set_index("treatment")
    for t, fit in direct.items():
        assert eff.loc[t, "estimate"] == pytest.approx(fit.estimate, rel=1e-12)
        assert eff.loc[t, "se"] == pytest.approx(fit.se, rel=1e-12)


def test_treatment_in_a_single_study_is_estimated_through_it():
    """A leaf treatment reached by one study: against its neighbour the network
    estimate is that study's contrast, with that study's standard error."""
    blocks = [
        _block("S1", ("A", "B"), [0.0, 0.4], [0.02, 0.03]),
        _block("S2", ("A", "B"), [0.0, 0.6], [0.05, 0.01]),
        _block("S3", ("B", "C"), [0.0, -0.2], [0.04, 0.06]),
    ]
    res = nma(_net(blocks), reference="A", method="FE")
    pair = res.league().pair("C", "B")
    assert pair["estimate"] == pytest.approx(-0.2, rel=1e-12)
    assert pair["se"] == pytest.approx(np.sqrt(0.10), rel=1e-12)


def test_disconnected_network_names_each_subnetwork_and_can_analyse_one():
    blocks = [
        _block("S1", ("A", "B"), [0.0, 0.4], [0.02, 0.03]),
        _block("S2", ("A", "B"), [0.0, 0.5], [0.02, 0.03]),
        _block("S3", ("C", "D"), [0.0, -0.2], [0.04, 0.06]),
    ]
    net = _net(blocks)
    with pytest.raises(ModelError) as exc:
        nma(net, reference="A")
    msg = str(exc.value)
    assert "disconnected into 2 sub-networks" in msg
    assert "[0] treatments A, B (studies S1, S2)" in msg and "[1] treatments C, D (studies S3)" in msg
    res = nma(net, reference="C", component=["C", "D"])
    assert res.treatments == ("C", "D") and res.k == 1
    assert any(w.code == "disconnected_network" and "S1" in w.studies for w in res.warnings)
    res0 = nma(net, reference="A", component=0)
    assert res0.k == 2


def test_multiarm_variances_that_fit_no_arm_variances_are_an_error():
    rows = [
        ("S1", "B", "A", 0.5, 0.1),
        ("S1", "C", "A", 0.3, 0.1),
        ("S1", "C", "B", -0.2, 0.9),  # v_BC = 0.81 > (sqrt(v_AB) + sqrt(v_AC))² would need negative arm variance
        ("S2", "B", "A", 0.4, 0.2),
    ]
    with pytest.raises(DataError) as exc:
        network_from_contrasts(read_contrasts(_contrast_frame(rows)))
    assert "study 'S1'" in str(exc.value) and "not positive definite" in str(exc.value)


def test_multiarm_study_missing_a_pair_is_an_error():
    rows = [("S1", "B", "A", 0.5, 0.2), ("S1", "C", "A", 0.3, 0.2), ("S2", "B", "A", 0.4, 0.2)]
    with pytest.raises(DataError) as exc:
        network_from_contrasts(read_contrasts(_contrast_frame(rows)))
    assert "study 'S1'" in str(exc.value) and "missing: B vs C" in str(exc.value)


def test_multiarm_contrasts_that_do_not_add_up_are_combined_and_reported():
    rows = [
        ("S1", "B", "A", 0.50, 0.20),
        ("S1", "C", "A", 0.30, 0.22),
        ("S1", "C", "B", -0.15, 0.25),  # -0.20 would be consistent
        ("S2", "B", "A", 0.40, 0.20),
        ("S3", "C", "B", -0.10, 0.30),
    ]
    net = network_from_contrasts(read_contrasts(_contrast_frame(rows)))
    assert any(w.code == "multiarm_inconsistent" and w.studies == ("S1",) for w in net.warnings)
    res = nma(net, reference="A", method="FE")
    # the fit does not depend on which arm is taken as the study's baseline
    other = nma(net, reference="C", method="FE").with_reference("A")
    np.testing.assert_allclose(res.league().est, other.league().est, atol=1e-12)
    assert res.q > 0


def test_arm_level_and_contrast_level_input_agree():
    """hasselblad's arms, and the same study contrasts given as contrast-level data."""
    arms = network("dat.hasselblad1998")
    pairs = arms.pairs()
    frame = pd.DataFrame(
        {"study": pairs.study, "treatment1": pairs.treat1, "treatment2": pairs.treat2, "estimate": pairs.TE, "se": pairs.seTE}
    )
    contrasts = network_from_contrasts(read_contrasts(frame), "OR")
    for method in ("FE", "DL", "REML"):
        a = nma(arms, reference="no_contact", method=method)
        b = nma(contrasts, reference="no_contact", method=method)
        np.testing.assert_allclose(a.league().est, b.league().est, rtol=1e-9, atol=1e-12)
        assert a.tau2 == pytest.approx(b.tau2, rel=1e-9, abs=1e-12)


def test_unknown_reference_and_method():
    net = network("dat.senn2013")
    with pytest.raises(ModelError, match="reference 'aspirin' is not in the network"):
        nma(net, reference="aspirin")
    with pytest.raises(ModelError, match="unknown network method"):
        nma(net, reference="placebo", method="PM")


# --- invariants (hypothesis) -------------------------------------------------------


@st.composite
def random_network(draw):
    T = draw(st.integers(3, 6))
    names = [f"T{i}" for i in range(T)]
    truth = np.array([0.0] + [draw(st.floats(-1, 1)) for _ in range(T - 1)])
    blocks = []
    # a spanning path keeps the network connected
    for i in range(1, T):
        blocks.append((names[i - 1], names[i]))
    for _ in range(draw(st.integers(2, 8))):
        k = draw(st.sampled_from([2, 2, 3]))
        arms = draw(st.permutations(names))[:k]
        blocks.append(tuple(arms))
    out = []
    for s, arms in enumerate(blocks):
        idx = [names.index(a) for a in arms]
        noise = [draw(st.floats(-0.3, 0.3)) for _ in arms]
        var = [draw(st.floats(0.01, 0.2)) for _ in arms]
        out.append(_block(f"S{s}", arms, truth[idx] + np.array(noise), var))
    return _net(out)


@SETTINGS
@given(net=random_network(), method=st.sampled_from(["FE", "DL", "REML"]), data=st.data())
def test_reference_choice_does_not_change_the_league(net, method, data):
    ref_a = data.draw(st.sampled_from(net.treatments))
    ref_b = data.draw(st.sampled_from(net.treatments))
    a, b = nma(net, reference=ref_a, method=method), nma(net, reference=ref_b, method=method)
    la, lb = a.league(), b.league()
    perm = [lb.treatments.index(t) for t in la.treatments]
    np.testing.assert_allclose(la.est, lb.est[np.ix_(perm, perm)], atol=1e-9)
    np.testing.assert_allclose(la.se, lb.se[np.ix_(perm, perm)], atol=1e-9)
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-7, abs=1e-10)
    assert a.q == pytest.approx(b.q, rel=1e-10)


@SETTINGS
@given(net=random_network(), method=st.sampled_from(["FE", "DL"]))
def test_relabelling_treatments_relabels_the_league(net, method):
    mapping = {t: f"renamed {t[::-1]}" for t in net.treatments}
    blocks = [StudyBlock(b.study, tuple(mapping[t] for t in b.arms), b.y, b.R, b.n) for b in net.blocks]
    renamed = _net(blocks)
    a = nma(net, reference=net.treatments[0], method=method)
    b = nma(renamed, reference=mapping[net.treatments[0]], method=method)
    la, lb = a.league(), b.league()
    perm = [lb.treatments.index(mapping[t]) for t in la.treatments]
    np.testing.assert_allclose(la.est, lb.est[np.ix_(perm, perm)], atol=1e-9)
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-9, abs=1e-12)


@SETTINGS
@given(net=random_network())
def test_duplicating_the_network_doubles_no_estimate(net):
    twice = _net(list(net.blocks) + [StudyBlock(b.study + "'", b.arms, b.y, b.R, b.n) for b in net.blocks])
    a = nma(net, reference=net.treatments[0], method="FE")
    b = nma(twice, reference=net.treatments[0], method="FE")
    np.testing.assert_allclose(b.coef, a.coef, atol=1e-9)
    np.testing.assert_allclose(np.diag(b.vcov), np.diag(a.vcov) / 2, rtol=1e-9)
    assert b.q == pytest.approx(2 * a.q, rel=1e-9, abs=1e-9)


def test_contribution_of_a_star_network_is_all_direct():
    from netgrade.network.contribution import network_contribution, network_study_contributions

    rng = np.random.default_rng(11)
    blocks = []
    for t in ("B", "C", "D"):
        for i in range(3):
            blocks.append(_block(f"{t}{i}", ("A", t), [0.0, rng.normal(0.4, 0.1)], rng.uniform(0.02, 0.1, 2)))
    res = nma(_net(blocks), reference="A", method="FE")
    for method in ("shortestpath", "randomwalk"):
        cm = network_contribution(res, method=method)
        np.testing.assert_allclose(cm.values.sum(axis=1), 100.0)
        for t in ("B", "C", "D"):
            row = cm.row(("A", t))
            assert row[("A", t)] == pytest.approx(100.0)
    studies = network_study_contributions(res)
    sub = studies[studies.comparison == "A:B"].set_index("study")["contribution"]
    w = {b.study: 1.0 / b.R[0, 1] for b in blocks if b.arms == ("A", "B")}
    total = sum(w.values())
    for s, share in sub.items():
        assert share == pytest.approx(100.0 * w[s] / total)


def test_network_adjusted_funnel_is_centred_at_the_direct_estimates():
    from netgrade.network.adjusted_funnel import network_adjusted_funnel

    res = nma(network("dat.senn2013"), reference="placebo", method="FE")
    f = network_adjusted_funnel(res)
    assert f.order[-1] == "placebo"
    # with common-effect direct estimates, each comparison's weighted residuals sum to 0
    w = 1.0 / np.asarray(f.sei) ** 2
    comparisons = {}
    for i, (a, b) in enumerate(zip(f.treat1, f.treat2)):
        comparisons.setdefault(frozenset((a, b)), []).append(i)
    for idx in comparisons.values():
        assert abs(np.sum(w[idx] * np.asarray(f.adjusted)[idx])) < 1e-9
    assert len(f.yi) == res.data.n_pairs


def test_mean_differences_on_mixed_scales_are_refused():
    """Arms on 0-10 and 0-100 must be rescaled before a mean difference is computed."""
    from netgrade.data.readers import read_arms
    from netgrade.network import network_from_arms

    frame = pd.DataFrame(
        {
            "study": ["A", "A", "B", "B"],
            "treatment": ["x", "y", "x", "y"],
            "mean": [5.0, 4.0, 50.0, 41.0],
            "sd": [2.0, 2.0, 20.0, 20.0],
            "n": [30, 30, 40, 40],
            "scale_min": [0, 0, 0, 0],
            "scale_max": [10, 10, 100, 100],
        }
    )
    arms = read_arms(frame)
    with pytest.raises(DataError, match="different scales.*0-10.*0-100|different scales.*0-100.*0-10"):
        network_from_arms(arms, "MD")
    assert network_from_arms(arms, "SMD").n_studies == 2  # standardised differences are scale-free
