"""Evidence to decision, recommendations and budget impact."""

from .budget import BudgetImpact, budget_figure, budget_impact
from .etd import EvidenceToDecision, HarmEffect, OutcomeEffect, effects_from_sof
from .recommendation import SPINE_RULE, DecisionRule, PanelOverride, Recommendation, recommend, recommend_all

__all__ = [
    "BudgetImpact",
    "budget_figure",
    "budget_impact",
    "EvidenceToDecision",
    "HarmEffect",
    "OutcomeEffect",
    "effects_from_sof",
    "SPINE_RULE",
    "DecisionRule",
    "PanelOverride",
    "Recommendation",
    "recommend",
    "recommend_all",
]
