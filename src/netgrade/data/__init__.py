"""Data: schema and validation, readers, effect sizes, scales, and the extraction audit."""

from .audit import (
    Choice,
    Discrepancy,
    ExtractionComparison,
    Flag,
    PlausibilityReport,
    Reconciliation,
    Thresholds,
    Tolerance,
    compare_extractions,
    grim_consistent,
    plausibility_checks,
    reconcile,
    write_reconciled,
)

__all__ = [
    "Choice",
    "Discrepancy",
    "ExtractionComparison",
    "Flag",
    "PlausibilityReport",
    "Reconciliation",
    "Thresholds",
    "Tolerance",
    "compare_extractions",
    "grim_consistent",
    "plausibility_checks",
    "reconcile",
    "write_reconciled",
]
