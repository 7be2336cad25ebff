"""Pairwise meta-analysis: common, random and mixed-effects models and their diagnostics."""

from .analysis import PairwiseAnalysis, analyse_pairwise
from .glmm import GLMMPrediction, GLMMResult, glmm_or, glmm_proportions
from .heterogeneity import HeterogeneityCI, confint_tau2
from .influence import BLUP, Influence, LeaveOneOut, Residuals, blup, influence, leave1out, rstandard, rstudent
from .mantel_haenszel import MantelHaenszelResult, mantel_haenszel
from .model import Prediction, RMAResult, rma
from .peto import PetoResult, peto
from .small_study import RankTest, RegTest, TrimFill, ranktest, regtest, trimfill
from .subgroup import SubgroupResult, subgroup_analysis

__all__ = [
    "rma",
    "RMAResult",
    "Prediction",
    "HeterogeneityCI",
    "confint_tau2",
    "subgroup_analysis",
    "SubgroupResult",
    "mantel_haenszel",
    "MantelHaenszelResult",
    "peto",
    "PetoResult",
    "glmm_proportions",
    "glmm_or",
    "GLMMResult",
    "GLMMPrediction",
    "analyse_pairwise",
    "leave1out",
    "LeaveOneOut",
    "influence",
    "Influence",
    "rstandard",
    "rstudent",
    "Residuals",
    "blup",
    "BLUP",
    "regtest",
    "RegTest",
    "ranktest",
    "RankTest",
    "trimfill",
    "TrimFill",
    "PairwiseAnalysis",
]
