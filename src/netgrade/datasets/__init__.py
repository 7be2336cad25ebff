"""Example data sets shipped with netgrade, with their sources.

Published data sets (as distributed in the R package metadat) and one SIMULATED
illustrative network that mirrors the 2025 BMJ review of spine procedures (its trial
data are not public); each says which it is.  The examples and ``netgrade demo`` run
without any download.  Examples with an analysis spec (``spec``) run through the whole
pipeline: ``netgrade.pipeline.grade(example("smoking").spec_path)``.  Sources, licence
and the choices made in the specs: ``examples_README.md`` and ``spine_README.md``.
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
    spec: str | None = None

    @property
    def path(self) -> Path:
        return Path(str(resources.files(__package__).joinpath(self.file)))

    @property
    def spec_path(self) -> Path:
        """The shipped analysis spec (TOML) of this example; its data paths are relative
        to it, so it runs from where it is installed."""
        if self.spec is None:
            raise DataError(f"the example data set {self.name!r} has no analysis spec")
        return Path(str(resources.files(__package__).joinpath(self.spec)))

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
    "spine": ExampleData(
        name="spine",
        file="spine_arms.csv",
        title=(
            "SIMULATED illustrative network: interventional procedures for chronic spine pain "
            "(81 trials, 7,977 patients; not real data)"
        ),
        citation=(
            "SIMULATED by netgrade (netgrade.datasets.spine, seed 79973) to mirror the network of "
            "Wang et al. BMJ 2025;388:e079971; not the review's trial data."
        ),
        description=(
            "Pain on a 10 cm VAS (n, mean, sd per arm; MD, smaller is better, MID 1.5 cm); axial and radicular "
            "networks (column population) against sham. Covariates in spine_studies.csv, RoB 2 in spine_rob.csv, "
            "hierarchy in spine_treatments.csv; load everything with netgrade.datasets.spine.load_spine()."
        ),
        spec="spine.toml",
    ),
    "smoking": ExampleData(
        name="smoking",
        file="hasselblad1998.csv",
        title="Counselling for smoking cessation (24 trials, 4 treatments; dat.hasselblad1998)",
        citation="Hasselblad V. Meta-analysis of multitreatment studies. Med Decis Making 1998;18:37-43.",
        description=(
            "Quitters xi out of ni per arm (study, authors, year, trt); no contact, self-help, individual and group "
            "counselling; OR, larger is better, reference no contact; as distributed in the R package metadat "
            "(dat.hasselblad1998). No risk-of-bias table exists: the spec declares that domain not assessed."
        ),
        spec="hasselblad1998.toml",
    ),
    "diabetes": ExampleData(
        name="diabetes",
        file="senn2013.csv",
        title="Glucose-lowering agents for type 2 diabetes, HbA1c (26 trials, 10 treatments; dat.senn2013)",
        citation=(
            "Senn S, Gavini F, Magrez D, Scheen A. Issues in performing a network meta-analysis. "
            "Stat Methods Med Res 2013;22:169-189."
        ),
        description=(
            "HbA1c per arm: mean mi (change from baseline, or final value where comment = 'raw'), sd sdi, n ni; "
            "MD in percentage points, smaller is better, reference placebo; as distributed in the R package metadat "
            "(dat.senn2013). No risk-of-bias table exists: the spec declares that domain not assessed."
        ),
        spec="senn2013.toml",
    ),
}


def example(name: str) -> ExampleData:
    """Return the example data set ``name`` (see ``EXAMPLES``)."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise DataError(f"no example data set {name!r}; available: {', '.join(sorted(EXAMPLES))}") from None
