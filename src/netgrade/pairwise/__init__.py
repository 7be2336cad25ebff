"""Pairwise meta-analysis: common, random and mixed-effects models and their diagnostics."""

from .heterogeneity import HeterogeneityCI, confint_tau2
from .model import Prediction, RMAResult, rma

__all__ = ["rma", "RMAResult", "Prediction", "HeterogeneityCI", "confint_tau2"]
