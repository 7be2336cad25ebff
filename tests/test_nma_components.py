"""Additive component network meta-analysis (netgrade.network.components).

Reference: netmeta 3.3-1 ``netcomb(net, inactive = 'Placebo')`` on dat.linde2016
(expected("dat.linde2016")["netmeta"]["netcomb"]).  Everything in it is a closed form
given the data (tau² is netcomb's DerSimonian-Laird-type moment estimator on the
additive model), so every value is compared to a relative 1e-8.  Properties: a network
of single-component treatments gives back the standard network meta-analysis; renaming
components permutes the results; exact additive data are recovered exactly; components
the network cannot separate give a ModelError naming them.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgrade._result import frozen_array
from netgrade.errors import DataError, ModelError
from netgrade.network import NetworkData, StudyBlock, nma
from netgrade.network.components import ComponentNMAResult, component_matrix, component_nma
from netgrade.network.data import treatment_sort_key
from tests.nma_data import network
from tests.reference import CLOSED, assert_close, expected

REF = expected("dat.linde2016")["netmeta"]["netcomb"]
INACTIVE = "Placebo"


@functools.lru_cache(maxsize=None)
def _netcomb() -> ComponentNMAResult:
    return component_nma(network("dat.linde2016"), inactive=INACTIVE)


# ---------------------------------------------------------------------------------
# netmeta's netcomb on dat.linde2016

COMP_FIELDS = [("TE", "est"), ("seTE", "se"), ("lower", "ci_low"), ("upper", "ci_high"), ("statistic", "z"), ("pval", "pval")]
COMB_FIELDS = [("TE", "est"), ("seTE", "se"), ("lower", "ci_low"), ("upper", "ci_high")]
SCALARS = [
    ("Q_additive", "q_additive"),
    ("df_Q_additive", "q_additive_df"),
    ("pval_Q_additive", "q_additive_pval"),
    ("Q_standard", "q_standard"),
    ("df_Q_standard", "q_standard_df"),
    ("Q_diff", "q_diff"),
    ("df_Q_diff", "q_diff_df"),
    ("pval_Q_diff", "q_diff_pval"),
    ("tau", "tau"),
    ("I2", "i2"),
]
# every key of the reference entry, and the test that checks it
CHECKED = {
    "call": "test_call_and_inactive",
    "inactive": "test_call_and_inactive",
    "components": "test_components_and_c_matrix",
    "C_matrix": "test_components_and_c_matrix",
    "Comp_common": "test_component_effects",
    "Comp_random": "test_component_effects",
    "combinations": "test_call_and_inactive",
    "Comb_common": "test_combination_effects",
    "Comb_random": "test_combination_effects",
    "tau2": "test_tau2_is_not_reported_by_netcomb",
    **{key: "test_heterogeneity_and_fit" for key, _ in SCALARS},
}


def test_every_netcomb_reference_value_is_checked():
    assert set(REF) == set(CHECKED), set(REF) ^ set(CHECKED)
    for block, fields in (("Comp_common", COMP_FIELDS), ("Comp_random", COMP_FIELDS),
                          ("Comb_common", COMB_FIELDS), ("Comb_random", COMB_FIELDS)):
        assert set(REF[block]) == {k for k, _ in fields}, block


def test_call_and_inactive():
    assert REF["call"] == "netcomb(net, inactive = 'Placebo')"
    res = _netcomb()
    assert res.inactive == REF["inactive"] == INACTIVE
    # netcomb's 'combinations' entry (user-specified combinations) was not requested
    assert REF["combinations"] is None


def test_components_and_c_matrix():
    res = _netcomb()
    assert list(res.components) == REF["components"]
    cm = REF["C_matrix"]
    assert cm["colnames"] == REF["components"]
    ours = res.c_matrix()
    assert sorted(cm["rownames"]) == sorted(ours.index)
    np.testing.assert_array_equal(ours.loc[cm["rownames"], cm["colnames"]].to_numpy(), np.asarray(cm["values"], float))


@pytest.mark.parametrize("model", ["common", "random"])
@pytest.mark.parametrize("theirs,ours", COMP_FIELDS)
def test_component_effects(model, theirs, ours):
    res = _netcomb()
    table = res.common if model == "common" else res.random
    assert list(table.names) == REF["components"]
    assert_close(np.asarray(getattr(table, ours)).tolist(), REF[f"Comp_{model}"][theirs], CLOSED, f"Comp_{model}/{theirs}")


@pytest.mark.parametrize("model", ["common", "random"])
@pytest.mark.parametrize("theirs,ours", COMB_FIELDS)
def test_combination_effects(model, theirs, ours):
    res = _netcomb()
    table = res.combinations_common if model == "common" else res.combinations_random
    order = REF["C_matrix"]["rownames"]  # netmeta's treatment order
    idx = [table.names.index(t) for t in order]
    assert_close(np.asarray(getattr(table, ours))[idx].tolist(), REF[f"Comb_{model}"][theirs], CLOSED, f"Comb_{model}/{theirs}")


@pytest.mark.parametrize("theirs,ours", SCALARS)
def test_heterogeneity_and_fit(theirs, ours):
    res = _netcomb()
    value = getattr(res, ours)
    if theirs == "I2":
        value = value / 100
    if theirs.startswith("df_"):
        assert value == REF[theirs]
    else:
        assert_close(value, REF[theirs], CLOSED, theirs)


def test_tau2_is_not_reported_by_netcomb():
    """netcomb reports tau only; tau² is its square."""
    assert REF["tau2"] is None
    res = _netcomb()
    assert_close(res.tau2, REF["tau"] ** 2, CLOSED, "tau2")


def test_standard_q_is_the_q_of_the_network_fit():
    res = _netcomb()
    std = nma(network("dat.linde2016"), reference=INACTIVE, method="DL")
    assert_close(res.q_standard, std.q, CLOSED, "Q_standard")
    assert res.q_standard_df == std.q_df
    ref = expected("dat.linde2016")["netmeta"]["DL"]
    assert_close(res.q_standard, ref["Q"], CLOSED, "netmeta DL Q")


def test_combinations_are_sums_of_components_and_the_league_agrees():
    res = _netcomb()
    for model in ("common", "random"):
        comb = res.combinations(model).set_index("treatment")
        comp = res.effects(model).set_index("component")
        both = comb.loc["Face-to-face CBT + SSRI", "estimate"]
        assert both == pytest.approx(comp.loc["Face-to-face CBT", "estimate"] + comp.loc["SSRI", "estimate"], abs=1e-13)
        assert comb.loc[INACTIVE, "estimate"] == 0 and comb.loc[INACTIVE, "se"] == 0
        assert math.isnan(comb.loc[INACTIVE, "pval"])
        lg = res.league(model)
        j = lg.index(INACTIVE)
        np.testing.assert_allclose(lg.est[:, j], comb.loc[list(lg.treatments), "estimate"], atol=1e-13)
        np.testing.assert_allclose(lg.se[:, j], comb.loc[list(lg.treatments), "se"], atol=1e-13)
        ce = res.complex_effect("Face-to-face CBT + SSRI", model=model)
        assert ce["estimate"] == pytest.approx(both, abs=1e-13)
        assert ce["se"] == pytest.approx(comb.loc["Face-to-face CBT + SSRI", "se"], rel=1e-12)
        # netcomparison: CBT + SSRI against SSRI alone is the CBT component
        cmp_ = res.complex_effect(["Face-to-face CBT", "SSRI"], model=model, against=["SSRI"])
        assert cmp_["estimate"] == pytest.approx(comp.loc["Face-to-face CBT", "estimate"], abs=1e-13)
        assert cmp_["se"] == pytest.approx(comp.loc["Face-to-face CBT", "se"], rel=1e-12)
    with pytest.raises(ModelError, match="not a component"):
        res.complex_effect("Face-to-face CBT + Acupuncture")


def test_result_presents_itself_and_serialises():
    res = _netcomb()
    text = res.summary()
    assert "Placebo" in text and "Q difference" in text and "Face-to-face CBT" in text
    d = json.loads(res.to_json())
    assert d["components"] == REF["components"] and d["inactive"] == INACTIVE
    assert len(res.to_frame()) == 2 * len(REF["components"])
    assert "<pre>" in res._repr_html_()


# ---------------------------------------------------------------------------------
# hand-built networks


def _net(studies, measure="MD") -> NetworkData:
    """studies: list of (name, {treatment: (arm value, arm variance)})."""
    blocks = []
    for name, arms in studies:
        trts = sorted(arms, key=treatment_sort_key)
        th = np.array([arms[t][0] for t in trts], float)
        v = np.array([arms[t][1] for t in trts], float)
        y = th[:, None] - th[None, :]
        R = v[:, None] + v[None, :]
        np.fill_diagonal(R, 0.0)
        blocks.append(StudyBlock(name, tuple(trts), frozen_array(y), frozen_array(R)))
    order = tuple(sorted({t for _, a in studies for t in a}, key=treatment_sort_key))
    return NetworkData(tuple(blocks), order, measure)


# spine-like components: effects on a 10 cm pain scale (negative = less pain)
TRUE = {"LA": -0.4, "steroid": -0.3, "RFA": -0.8}


def _spine(noise: np.ndarray | None = None, drop: tuple[str, ...] = ()) -> NetworkData:
    def theta(t):
        return sum(TRUE[c] for c in t.split("+")) if t != "sham" else 0.0

    designs = [
        ("s1", ["sham", "LA"]),
        ("s2", ["sham", "LA+steroid"]),
        ("s3", ["LA", "LA+steroid"]),
        ("s4", ["sham", "steroid"]),
        ("s5", ["sham", "RFA"]),
        ("s6", ["RFA", "RFA+LA+steroid"]),
        ("s7", ["sham", "LA", "LA+steroid"]),
        ("s8", ["steroid", "LA+steroid"]),
        ("s9", ["sham", "RFA+LA+steroid"]),
    ]
    rng_noise = iter(noise if noise is not None else [])
    studies = []
    for name, trts in designs:
        if name in drop:
            continue
        arms = {}
        for i, t in enumerate(trts):
            e = next(rng_noise, 0.0)
            arms[t] = (theta(t) + e, 0.05 + 0.01 * i + 0.002 * int(name[1:]))
        studies.append((name, arms))
    return _net(studies)


def test_exact_additive_data_are_recovered_exactly():
    res = component_nma(_spine(), inactive="sham")
    assert res.components == ("LA", "RFA", "steroid")
    comp = res.effects("common").set_index("component")["estimate"]
    for c, v in TRUE.items():
        assert comp[c] == pytest.approx(v, abs=1e-12)
    assert res.q_additive == pytest.approx(0.0, abs=1e-20)
    assert res.q_diff == 0.0 and res.tau2 == 0.0
    assert any(w.code == "tau2_boundary" for w in res.warnings)
    comb = res.combinations("random").set_index("treatment")["estimate"]
    assert comb["RFA+LA+steroid"] == pytest.approx(TRUE["RFA"] + TRUE["LA"] + TRUE["steroid"], abs=1e-12)
    # 6 treatments, 3 components: rank(B) - rank(BC) = 5 - 3 df test additivity
    assert res.q_diff_df == 2 and res.q_additive_df == res.q_standard_df + 2


NOISE = np.array([0.3, -0.2, 0.1, 0.4, -0.5, 0.2, 0.0, 0.3, -0.1, 0.6, -0.4, 0.2, 0.1, -0.3, 0.5, -0.2, 0.1, 0.0, 0.2, -0.1])


def test_dl_tau2_by_hand_on_two_arm_studies():
    """Generalised DL on the additive model (Jackson, White & Riley 2012) with two-arm
    studies only: (Q - df) / (tr W - tr((Z'WZ)^-1 Z'W²Z))."""
    net = _spine(NOISE, drop=("s7",))
    res = component_nma(net, inactive="sham")
    Z, y, w = [], [], []
    for b in net.blocks:
        z = np.zeros(3)
        for sign, t in ((1, b.arms[1]), (-1, b.arms[0])):
            for c in ([] if t == "sham" else t.split("+")):
                z[res.components.index(c)] += sign
        Z.append(z)
        y.append(b.y[1, 0])
        w.append(1.0 / b.R[1, 0])
    Z, y, w = np.array(Z), np.array(y), np.array(w)
    M = Z.T @ (w[:, None] * Z)
    beta = np.linalg.solve(M, Z.T @ (w * y))
    q = float(np.sum(w * (y - Z @ beta) ** 2))
    df = len(y) - 3
    tr = np.sum(w) - np.trace(np.linalg.solve(M, Z.T @ ((w**2)[:, None] * Z)))
    assert_close(res.q_additive, q, CLOSED, "Q")
    assert res.q_additive_df == df
    assert_close(res.tau2, max(0.0, (q - df) / tr), CLOSED, "tau2")
    assert res.tau2 > 0
    W1 = 1.0 / (1.0 / w + res.tau2)
    M1 = Z.T @ (W1[:, None] * Z)
    assert_close(np.asarray(res.random.est).tolist(), np.linalg.solve(M1, Z.T @ (W1 * y)).tolist(), CLOSED, "random est")
    assert_close(np.asarray(res.random.se).tolist(), np.sqrt(np.diag(np.linalg.inv(M1))).tolist(), CLOSED, "random se")


def test_noisy_spine_network_fe_dl_reml_ml_and_fixed_tau2():
    net = _spine(2 * NOISE)
    fits = {m: component_nma(net, inactive="sham", method=m) for m in ("FE", "DL", "REML", "ML")}
    assert fits["FE"].tau2 == 0.0
    np.testing.assert_array_equal(fits["FE"].random.est, fits["FE"].common.est)
    for m in ("DL", "REML", "ML"):
        assert fits[m].tau2 > 0
        np.testing.assert_allclose(fits[m].common.est, fits["FE"].common.est, rtol=1e-14, atol=1e-15)
    assert fits["ML"].tau2 < fits["REML"].tau2
    fixed = component_nma(net, inactive="sham", tau2=fits["REML"].tau2)
    assert fixed.tau2_fixed and fixed.tau2 == fits["REML"].tau2
    # with tau² fixed at the REML value, the netmeta-weighted random fit equals the REML
    # fit (exactly consistent multi-arm data: nothing to project)
    np.testing.assert_allclose(fixed.random.est, fits["REML"].random.est, rtol=1e-10)
    np.testing.assert_allclose(fixed.random.se, fits["REML"].random.se, rtol=1e-10)


def test_reml_score_is_zero_at_the_additive_reml_estimate():
    from netgrade.network import _engine
    from netgrade.network.components import _additive_design

    noise = np.linspace(-0.5, 0.5, 20) * np.array([1, -1] * 10)
    net = _spine(noise)
    res = component_nma(net, inactive="sham", method="REML")
    design = _engine.Design(net, "sham")
    C = res.c_matrix().loc[list(design.treatments)].to_numpy()
    add = _additive_design(design, C[1:] - C[0])
    f = _engine.fit(add, res.tau2, y_fixed=add.raw())
    assert abs(f.rWSWr - f.trace_PS) < 1e-9 * f.trace_PS
    np.testing.assert_allclose(f.beta, res.random.est, rtol=1e-12)


def test_unidentifiable_components_are_named():
    # LA and steroid only ever given together: their sum is estimable, not each
    net = _net([
        ("a", {"sham": (0, 0.1), "LA+steroid": (-0.6, 0.1)}),
        ("b", {"sham": (0, 0.1), "RFA": (-0.8, 0.1)}),
        ("c", {"RFA": (-0.8, 0.1), "LA+steroid": (-0.7, 0.1)}),
    ])
    with pytest.raises(ModelError, match=r"'LA', 'steroid'") as err:
        component_nma(net, inactive="sham")
    assert "RFA" not in str(err.value).split("(")[0]
    assert "no information on LA - steroid" in str(err.value)
    assert "singular" not in str(err.value).lower()
    # LA is in both arms of every study that has it: it never differs within a study
    net2 = _net([
        ("a", {"LA": (0, 0.1), "LA+steroid": (-0.3, 0.1)}),
        ("b", {"sham": (0, 0.1), "steroid": (-0.3, 0.1)}),
    ])
    with pytest.raises(ModelError, match=r"'LA'.*no information on LA; 'LA' never differs between the arms"):
        component_nma(net2, inactive="sham")


def test_components_connect_a_disconnected_network():
    """netmeta's discomb: {placebo, A, B} and {A+B, C} share no treatment, but the
    additive model links them through A and B."""
    net = _net([
        ("1", {"placebo": (0.0, 0.1), "A": (1.0, 0.1)}),
        ("2", {"placebo": (0.0, 0.2), "B": (2.0, 0.1)}),
        ("3", {"placebo": (0.0, 0.1), "A": (1.1, 0.1), "B": (1.9, 0.15)}),
        ("4", {"A+B": (3.0, 0.1), "C": (0.5, 0.1)}),
        ("5", {"A+B": (3.1, 0.2), "C": (0.4, 0.1)}),
    ])
    assert len(net.components()) == 2
    with pytest.raises(ModelError, match="disconnected"):
        nma(net, reference="placebo")
    res = component_nma(net, inactive="placebo")
    assert any(w.code == "disconnected_network" for w in res.warnings)
    # standard model: Q summed over the two sub-networks (4 - 2 and 2 - 1 df)
    assert res.q_standard_df == 3
    # 6 contrasts, 3 components; the three components are a reparametrisation of the
    # three basic parameters (A, B against placebo; A+B against C): the same fit
    assert res.q_additive_df == 3 and res.q_diff_df == 0
    assert res.q_diff == 0.0 and math.isnan(res.q_diff_pval)
    parts = [nma(net.subset(treatments=t, studies=s), reference=sorted(t)[0], method="FE").q for t, s in net.components()]
    assert_close(res.q_standard, sum(parts), CLOSED, "Q_standard")
    comp = res.effects("common").set_index("component")["estimate"]
    # C = A + B - (A+B - C) estimate: checked against weighted least squares by hand
    X, y, W = [], [], []
    for b in net.blocks:
        V = b.baseline_covariance()
        rows = []
        for t in b.arms[1:]:
            x = np.zeros(3)
            for c in (t.split("+") if t != "placebo" else []):
                x["ABC".index(c)] += 1
            for c in (b.arms[0].split("+") if b.arms[0] != "placebo" else []):
                x["ABC".index(c)] -= 1
            rows.append(x)
        X.append(np.array(rows))
        y.append(b.y[1:, 0])
        W.append(np.linalg.inv(V))
    M = sum(x.T @ w @ x for x, w in zip(X, W))
    u = sum(x.T @ w @ yy for x, w, yy in zip(X, W, y))
    np.testing.assert_allclose(comp[["A", "B", "C"]].to_numpy(), np.linalg.solve(M, u), rtol=1e-12)


# ---------------------------------------------------------------------------------
# properties on the reference networks


@pytest.mark.parametrize("ds", ["dat.hasselblad1998", "dat.senn2013"])
@pytest.mark.parametrize("method", ["DL", "REML", "ML"])
def test_single_component_treatments_give_the_standard_nma(ds, method):
    """Every treatment its own component, the reference inactive: the additive model is
    the standard model (Rücker et al. 2020, section 3.2)."""
    net = network(ds)
    ref = expected(ds)["reference"]
    cnma = component_nma(net, inactive=ref, method=method)
    std = nma(net, reference=ref, method=method)
    assert set(cnma.components) == set(std.treatments[1:])
    idx = [cnma.components.index(t) for t in std.treatments[1:]]
    tol = CLOSED if method == "DL" else 1e-9
    assert_close(cnma.tau2, std.tau2, tol, "tau2")
    assert_close(np.asarray(cnma.random.est)[idx].tolist(), np.asarray(std.coef).tolist(), tol, "random est", atol=1e-12)
    assert_close(np.asarray(cnma.vcov_random)[np.ix_(idx, idx)].tolist(), np.asarray(std.vcov).tolist(), tol, "random vcov", atol=1e-14)
    assert_close(np.asarray(cnma.common.est)[idx].tolist(), np.asarray(std.common.coef).tolist(), CLOSED, "common est", atol=1e-12)
    assert_close(cnma.q_additive, std.q, CLOSED, "Q")
    assert cnma.q_diff == 0.0 and cnma.q_diff_df == 0 and math.isnan(cnma.q_diff_pval)
    assert_close(cnma.i2, std.i2, CLOSED, "I2")


@pytest.mark.parametrize("ds", ["dat.hasselblad1998", "dat.senn2013", "dat.linde2016"])
def test_input_can_be_a_fitted_nma(ds):
    net = network(ds)
    ref = expected(ds)["reference"]
    fit = nma(net, reference=ref, method="REML", level=0.9, larger_better=True)
    inactive = ref if ds != "dat.linde2016" else INACTIVE
    a = component_nma(fit, inactive=inactive)
    b = component_nma(net, inactive=inactive, level=0.9, larger_better=True)
    assert a.level == 0.9 and a.larger_better is True
    np.testing.assert_array_equal(a.random.ci_low, b.random.ci_low)


@settings(max_examples=15, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(list(range(18))))
def test_relabelling_components_permutes_the_results(perm):
    """Rename linde's 18 components to c00..c17 in a random order (so that the
    alphabetical order of components changes): every component result moves with its
    component, nothing else changes."""
    base = _netcomb()
    new_name = {c: f"c{perm[i]:02d}" for i, c in enumerate(base.components)}
    C = base.c_matrix()
    mapping = {t: [new_name[c] for c in base.components if C.loc[t, c] == 1] for t in base.treatments}
    res = component_nma(network("dat.linde2016"), inactive=INACTIVE, components=mapping)
    assert res.components == tuple(sorted(new_name.values()))
    idx = [res.components.index(new_name[c]) for c in base.components]
    for model in ("common", "random"):
        ours, theirs = getattr(res, model), getattr(base, model)
        np.testing.assert_allclose(np.asarray(ours.est)[idx], theirs.est, rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(np.asarray(ours.se)[idx], theirs.se, rtol=1e-11)
    np.testing.assert_allclose(res.combinations_random.est, base.combinations_random.est, rtol=1e-11, atol=1e-14)
    assert res.q_additive == pytest.approx(base.q_additive, rel=1e-12)
    assert res.tau2 == pytest.approx(base.tau2, rel=1e-10)


def test_c_matrix_as_data_frame_and_mapping_agree_with_the_default_split():
    base = _netcomb()
    C = base.c_matrix()
    from_frame = component_nma(network("dat.linde2016"), inactive=INACTIVE, components=C)
    np.testing.assert_array_equal(from_frame.random.est, base.random.est)
    as_strings = {t: t for t in base.treatments if t != INACTIVE}
    from_strings = component_nma(network("dat.linde2016"), inactive=INACTIVE, components=as_strings)
    np.testing.assert_array_equal(from_strings.random.est, base.random.est)


def test_component_matrix_rules():
    names, C = component_matrix(["sham", "LA + steroid", "LA", "Placebo+RFA"], inactive="sham")
    assert names == ("LA", "Placebo", "RFA", "steroid")
    names, C = component_matrix(["Placebo", "LA + steroid", "LA", "Placebo+RFA"], inactive="Placebo")
    assert names == ("LA", "RFA", "steroid")  # the inactive name is no component
    np.testing.assert_array_equal(C, [[0, 0, 0], [1, 0, 1], [1, 0, 0], [0, 1, 0]])
    names, C = component_matrix(["sham", "LA/steroid"], inactive="sham", sep="/")
    assert names == ("LA", "steroid")
    with pytest.raises(ModelError, match="not in the network"):
        component_matrix(["A", "B"], inactive="placebo")
    with pytest.raises(DataError, match="no components given for treatment"):
        component_matrix(["sham", "A", "B"], {"A": ["a"]}, inactive="sham")
    with pytest.raises(DataError, match="must have no components"):
        component_matrix(["sham", "A"], {"sham": ["x"], "A": ["a"]}, inactive="sham")
    with pytest.raises(DataError, match="no row for"):
        component_matrix(["sham", "A"], pd.DataFrame({"a": [1.0]}, index=["A"]), inactive="sham")
    with pytest.raises(DataError, match="zero row"):
        component_matrix(["sham", "A"], pd.DataFrame({"a": [1.0, 1.0]}, index=["A", "sham"]), inactive="sham")


def test_bad_arguments():
    net = network("dat.linde2016")
    with pytest.raises(ModelError, match="unknown method"):
        component_nma(net, inactive=INACTIVE, method="PM")
    with pytest.raises(ModelError, match="non-negative"):
        component_nma(net, inactive=INACTIVE, tau2=-1.0)
    with pytest.raises(ModelError, match="level"):
        component_nma(net, inactive=INACTIVE, level=1.5)
    with pytest.raises(DataError, match="cannot build a network"):
        component_nma([1, 2, 3])
