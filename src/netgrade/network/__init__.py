"""Network meta-analysis: data, the consistency model, league tables, inconsistency, ranking."""

from .analysis import NetworkAnalysis, analyse_network, load_network
from .arm_based import ArmBasedResult, arm_based_nma
from .components import ComponentNMAResult, component_matrix, component_nma
from .contribution import network_contribution, network_study_contributions
from .data import NetworkData, StudyBlock, network_from_arms, network_from_contrasts
from .inconsistency import (
    adjusted_standard_errors,
    decomposition,
    design_by_treatment,
    node_split,
    random_inconsistency,
)
from .league import League
from .mantel_haenszel import MHNMAResult, mh_nma
from .metareg import NetworkMetaRegResult, network_metareg
from .model import NMAResult, nma
from .netheat import net_heat
from .ranking import p_scores, rank_probabilities
from .subgroup_nma import SubgroupLevel, SubgroupNMAResult, SubgroupTest, subgroup_nma

__all__ = [
    "NetworkData",
    "StudyBlock",
    "network_from_arms",
    "network_from_contrasts",
    "League",
    "NMAResult",
    "nma",
    "NetworkAnalysis",
    "analyse_network",
    "load_network",
    "node_split",
    "decomposition",
    "design_by_treatment",
    "random_inconsistency",
    "adjusted_standard_errors",
    "net_heat",
    "p_scores",
    "rank_probabilities",
    "network_contribution",
    "network_study_contributions",
    "component_nma",
    "component_matrix",
    "ComponentNMAResult",
    "mh_nma",
    "MHNMAResult",
    "arm_based_nma",
    "ArmBasedResult",
    "network_metareg",
    "NetworkMetaRegResult",
    "subgroup_nma",
    "SubgroupNMAResult",
    "SubgroupLevel",
    "SubgroupTest",
]

from .sensitivity import (  # noqa: E402  (sensitivity analyses: leave one out, exclusions, cumulative)
    NetworkCumulative,
    NetworkExclusion,
    NetworkLeaveOneOut,
    cumulative,
    exclude_before_year,
    exclude_high_risk_of_bias,
    exclude_studies,
    leave_one_out,
)

__all__ += [
    "leave_one_out",
    "exclude_studies",
    "exclude_high_risk_of_bias",
    "exclude_before_year",
    "cumulative",
    "NetworkLeaveOneOut",
    "NetworkExclusion",
    "NetworkCumulative",
]
