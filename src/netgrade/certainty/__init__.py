"""Certainty of evidence: GRADE / CINeMA domains, magnitude, statements, summary of findings."""

from .iceman import (
    IcemanAssessment,
    assess_credibility,
    answers_from_spec,
    iceman_from_data,
    iceman_from_result,
)
from .domains import (
    heterogeneity,
    imprecision,
    incoherence,
    indirectness,
    reporting_bias,
    within_study_bias,
)
from .magnitude import Magnitude, classify_magnitude, group_interventions
from .rating import CertaintyRating, CertaintyTable, RatingRules, rate_network
from .sof import SummaryOfFindings, summary_of_findings
from .statements import GRADE_STYLE, SPINE_STYLE, StatementStyle, informative_statement
from .types import CERTAINTY, CONCERNS, DOMAINS, DomainJudgement, Outcome, Override, Thresholds

__all__ = [
    "IcemanAssessment",
    "assess_credibility",
    "answers_from_spec",
    "iceman_from_data",
    "iceman_from_result",
    "within_study_bias",
    "indirectness",
    "reporting_bias",
    "imprecision",
    "heterogeneity",
    "incoherence",
    "Magnitude",
    "classify_magnitude",
    "group_interventions",
    "CertaintyRating",
    "CertaintyTable",
    "RatingRules",
    "rate_network",
    "SummaryOfFindings",
    "summary_of_findings",
    "StatementStyle",
    "GRADE_STYLE",
    "SPINE_STYLE",
    "informative_statement",
    "CERTAINTY",
    "CONCERNS",
    "DOMAINS",
    "DomainJudgement",
    "Outcome",
    "Override",
    "Thresholds",
]
