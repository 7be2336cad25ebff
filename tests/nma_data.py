"""The three public networks, read as a user would, for the network tests."""

from __future__ import annotations

import functools

from netgrade.data.readers import read_arms, read_contrasts
from netgrade.network import network_from_arms, network_from_contrasts
from tests.reference import data_path

NETWORKS = ("dat.hasselblad1998", "dat.senn2013", "dat.linde2016")


@functools.lru_cache(maxsize=None)
def network(ds: str):
    if ds == "dat.hasselblad1998":
        arms = read_arms(data_path(ds), {"study": "study", "treatment": "trt", "events": "xi", "n": "ni"})
        return network_from_arms(arms, "OR")
    if ds == "dat.senn2013":
        return network_from_arms(read_arms(data_path(ds), {"mean": "mi", "sd": "sdi", "n": "ni"}), "MD")
    if ds == "dat.linde2016":
        cols = {"study": "id", "estimate": "lnOR", "se": "selnOR", "treatment1": "treat1", "treatment2": "treat2"}
        return network_from_contrasts(read_contrasts(data_path(ds), cols), "OR")
    raise KeyError(ds)
