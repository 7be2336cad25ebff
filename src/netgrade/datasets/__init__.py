"""Example data sets shipped with netgrade, with their sources.

Each is a published data set (as distributed in the R package metadat) so that the
examples and ``netgrade demo`` run without any download.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from ..errors import DataError


@dataclass(frozen=True)
class ExampleData:
    name: str
    file: str
    title: str
    citation: str
    description: str

    @property
    def path(self) -> Path:
        return Path(str(resources.files(__package__).joinpath(self.file)))

    def frame(self) -> pd.DataFrame:
        return pd.read_csv(self.path)


EXAMPLES = {
    "bcg": ExampleData(
        name="bcg",
        file="bcg.csv",
        title="BCG vaccine against tuberculosis (13 trials)",
        citation=(
            "Colditz GA, Brewer TF, Berkey CS, et al. Efficacy of BCG vaccine in the prevention of "
            "tuberculosis: meta-analysis of the published literature. JAMA 1994;271:698-702."
        ),
        description=(
            "TB cases (tpos) and non-cases (tneg) among vaccinated, cpos/cneg among unvaccinated; "
            "absolute latitude (ablat), year and allocation method as study covariates."
        ),
    ),
}


def example(name: str) -> ExampleData:
    """Return the example data set ``name`` (see ``EXAMPLES``)."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise DataError(f"no example data set {name!r}; available: {', '.join(sorted(EXAMPLES))}") from None
