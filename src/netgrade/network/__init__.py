"""Network meta-analysis: data, the consistency model, league tables, inconsistency, ranking."""

from .data import NetworkData, StudyBlock, network_from_arms, network_from_contrasts
from .league import League
from .model import NMAResult, nma

__all__ = ["NetworkData", "StudyBlock", "network_from_arms", "network_from_contrasts", "League", "NMAResult", "nma"]
