"""Every entry of the pairwise reference files is checked by some test.

If a new kind of entry appears in ../shared/data/metadat/expected, this test fails
until a test for it is written, so that no reference value goes unchecked.
"""

from __future__ import annotations

from tests.reference import expected

PAIRWISE = ["dat.bcg", "dat.normand1999", "dat.pritz1997", "dat.raudenbush1985", "dat.yusuf1985"]

# entry -> the test module that compares it
CHECKED_BY = {
    "escalc": "test_effect_sizes (options used for yi/vi)",
    "input": "test_effect_sizes (yi, vi, slab)",
    "table": "test_effect_sizes / test_mantel_haenszel (yusuf table selection)",
    "rows_used_id": "test_effect_sizes / test_mantel_haenszel",
    "rma": "test_rma_reference",
    "rma_knha": "test_rma_reference",
    "metareg": "test_rma_reference",
    "leave1out_REML": "test_influence",
    "leave1out_FE": "test_influence",
    "blup_REML": "test_influence",
    "influence_REML": "test_influence",
    "rstandard_REML": "test_influence",
    "regtest": "test_small_study",
    "ranktest": "test_small_study",
    "trimfill": "test_small_study",
    "rma_mh": "test_mantel_haenszel",
    "rma_peto": "test_mantel_haenszel",
    "rma_glmm": "test_glmm",
    "predict_REML_ilogit": "test_rma_reference::test_back_transformed_prediction",
}
# analyses that are themselves one fit (not a measure with sub-entries)
WHOLE_ANALYSES = {"PR_EE_weights_ni": "test_rma_reference::test_custom_weights_common_effect"}


def test_every_pairwise_reference_entry_has_a_test():
    unchecked = []
    for ds in PAIRWISE:
        for name, analysis in expected(ds)["analyses"].items():
            if name in WHOLE_ANALYSES:
                continue
            for key in analysis:
                if key not in CHECKED_BY:
                    unchecked.append(f"{ds}/{name}/{key}")
    assert not unchecked, f"reference entries without a test: {unchecked}"


def test_reference_files_are_the_expected_versions():
    for ds in PAIRWISE:
        sw = expected(ds)["software"]
        assert sw["metafor"] == "3.8-1", ds
        assert "1e-13" in expected(ds)["conventions"]["convergence"]
