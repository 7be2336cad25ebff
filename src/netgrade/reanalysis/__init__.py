"""Re-analysis ("dispute mode"): the same analysis under every critique.

Variants of a spec (:mod:`.variants`), the base and each variant run through the same
stages and compared (:mod:`.robustness`).
"""

from .robustness import Analysis, Reanalysis, reanalyse, run_analysis
from .variants import AppliedVariant, apply_variant, set_by_key

__all__ = ["Analysis", "AppliedVariant", "Reanalysis", "apply_variant", "reanalyse", "run_analysis", "set_by_key"]

from .hierarchy import hierarchy_levels, lump_split  # noqa: E402

__all__ += ["hierarchy_levels", "lump_split"]
