"""The six CINeMA domains, one pure function each.

Every function returns a :class:`~netgrade.certainty.types.DomainJudgement` whose
``rule`` says in words which rule fired and whose ``numbers`` hold everything the rule
used, so that a reader can redo the judgement by hand.

Sources
-------
* CINeMA: Nikolakopoulou A, Higgins JPT, Papakonstantinou T, Chaimani A, Del Giovane C,
  Egger M, Salanti G (2020). CINeMA: an approach for assessing confidence in the results
  of a network meta-analysis. PLoS Med 17:e1003082.
* The CINeMA software and its documentation: Papakonstantinou T, Nikolakopoulou A,
  Higgins JPT, Egger M, Salanti G (2020). CINeMA: software for semiautomated assessment
  of the confidence in the results of network meta-analysis. Campbell Syst Rev
  16:e1080; cinema.ispm.unibe.ch, source code github.com/esm-ispm-unibe-ch/cinema (the
  rules below are those of its ``netrob``, ``imprecision``, ``heterogeneity`` and
  ``incoherence`` modules; where the code and the written documentation disagree this
  is said at the rule).
* GRADE for network meta-analysis: Puhan MA et al. (2014) BMJ 349:g5630;
  Brignardello-Petersen R et al. (2018) J Clin Epidemiol 93:36-44.
* GRADE targets and imprecision: Zeng L et al. (2021) GRADE guidelines 32 (targets of
  certainty ratings), J Clin Epidemiol 137:163-175; Zeng L et al. (2022) GRADE guidance
  34 (imprecision, minimally contextualised approach), J Clin Epidemiol 150:216-224;
  Hultcrantz M et al. (2017) J Clin Epidemiol 87:4-13 (certainty as a judgement about
  where the effect lies relative to thresholds).

The judgement scale
-------------------
Imprecision, heterogeneity and incoherence compare intervals with thresholds.  GRADE
judges ratio measures by their absolute effects, so the comparison is made on the
*judgement scale*: natural units for mean differences (MD, SMD, generic), and for
OR / RR / HR the risk difference per 1,000 patients at ``outcome.baseline_risk``
(:func:`risk_difference_per_1000`); ``outcome.thresholds`` are on that scale.
:func:`imprecision` and :func:`heterogeneity` take values already on the judgement
scale (:func:`to_judgement_scale` converts); :func:`incoherence` takes node-splitting
output on the analysis scale and converts it itself.

Boundaries and crossings
------------------------
A boundary b is *crossed* by an interval [lo, hi] when lo < b < hi: the boundary lies
strictly inside the interval.  A limit exactly on a boundary touches it without
crossing it (CINeMA's code uses strict comparisons too, but its crossing count is
undefined for a limit exactly on a boundary; this is the one consistent reading).  An
interval *reaches* the region below b1 if lo < b1, the region between b1 and b2 if
lo < b2 and hi > b1, and the region above b2 if hi > b2 (CINeMA ``makeVector``).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from .._result import fmt_p
from ..errors import DataError, SpecError
from .absolute import intervention_risk
from .types import DomainJudgement, Outcome, concern

__all__ = [
    "STUDY_LEVELS",
    "CONTRIBUTION_RULES",
    "REPORTING_BIAS_LEVELS",
    "study_level",
    "within_study_bias",
    "indirectness",
    "reporting_bias",
    "imprecision",
    "heterogeneity",
    "incoherence",
    "risk_difference_per_1000",
    "to_judgement_scale",
    "judgement_scale_label",
    "count_crossings",
    "regions_reached",
]

#: Study-level judgements of risk of bias and of indirectness (CINeMA: 1, 2, 3 or L, U, H).
STUDY_LEVELS = ("low", "some concerns", "high")
_STUDY_SCORE = {"low": 1, "some concerns": 2, "high": 3}
_STUDY_TO_CONCERN = {"low": "no concerns", "some concerns": "some concerns", "high": "major concerns"}
_STUDY_ALIASES = {
    "low": "low", "l": "low", "1": "low", "low risk": "low", "low risk of bias": "low",
    "no concerns": "low", "no": "low", "none": "low", "low concerns": "low",
    "some concerns": "some concerns", "some": "some concerns", "unclear": "some concerns",
    "u": "some concerns", "2": "some concerns", "moderate": "some concerns",
    "some concern": "some concerns", "unclear risk": "some concerns",
    "high": "high", "h": "high", "3": "high", "high risk": "high", "high risk of bias": "high",
    "major concerns": "high", "major": "high", "high concerns": "high",
}

#: The three ways CINeMA summarises study-level judgements over the contributions.
CONTRIBUTION_RULES = ("majority", "average", "highest")

#: CINeMA's words for reporting bias and the concern level each one means.
REPORTING_BIAS_LEVELS = {
    "undetected": "no concerns",
    "suspected": "some concerns",
    "strongly suspected": "major concerns",
}

#: Measures judged in their own units (thresholds in the same units).
_DIFFERENCE_MEASURES = frozenset({"MD", "SMD", "SMDH", "GEN"})
#: Ratio measures (analysed as logarithms), judged as risk differences per 1,000.
_RATIO_MEASURES = frozenset({"OR", "PETO", "RR", "HR"})

_TIE_OPTIONS = ("lower", "higher")
_TOL_PCT = 1e-9  # percentage points within which two shares count as tied


def _f(x: float) -> str:
    """A number for a rule text: four significant digits, 'NA' when missing."""
    if x is None or not math.isfinite(float(x)):
        return "NA"
    return f"{float(x):.4g}"


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------------
# within-study bias and indirectness: study judgements weighted by contributions


def study_level(value: Any) -> str:
    """Normalise a study-level judgement to 'low', 'some concerns' or 'high'.

    Accepts CINeMA's codes (1/2/3, L/U/H), RoB 2 words (low, some concerns, high) and
    the concern words (no/some/major concerns)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        key = str(int(value))
    elif isinstance(value, float) and value.is_integer():
        key = str(int(value))
    else:
        key = str(value).strip().lower().replace("_", " ")
    if key not in _STUDY_ALIASES:
        raise SpecError(
            f"unknown study-level judgement {value!r}; use low / some concerns / high (or 1/2/3, L/U/H)"
        )
    return _STUDY_ALIASES[key]


def _contribution_judgement(
    domain: str,
    what: str,
    study_contributions: Mapping[str, float],
    judgements: Mapping[str, Any],
    rule: str,
    tie: str,
) -> DomainJudgement:
    rule = str(rule).strip().lower()
    if rule not in CONTRIBUTION_RULES:
        raise SpecError(f"{domain}: unknown rule {rule!r}; choose one of {', '.join(CONTRIBUTION_RULES)}")
    if tie not in _TIE_OPTIONS:
        raise SpecError(f"{domain}: tie must be 'lower' (CINeMA) or 'higher', not {tie!r}")
    contrib: dict[str, float] = {}
    for study, value in dict(study_contributions).items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise DataError(f"{domain}: the contribution of study {study!r} is {value!r}, not a number") from None
        if not math.isfinite(v) or v < 0:
            raise DataError(f"{domain}: the contribution of study {study!r} is {value!r}; it must be a number >= 0")
        contrib[str(study)] = v
    contributing = {s: v for s, v in contrib.items() if v > 0}
    if not contributing:
        raise DataError(f"{domain}: no study contributes to this estimate (all contributions are zero or none given)")
    levels_in = {str(k): v for k, v in dict(judgements).items()}
    missing = [s for s in contributing if s not in levels_in or levels_in[s] is None
               or (isinstance(levels_in[s], float) and math.isnan(levels_in[s]))]
    if missing:
        raise DataError(
            f"{domain}: no {what} judgement for the contributing stud{'y' if len(missing) == 1 else 'ies'} "
            + ", ".join(repr(s) for s in missing)
            + f"; give every study a judgement (low / some concerns / high) - netgrade does not guess"
        )
    levels = {s: study_level(levels_in[s]) for s in contributing}
    total = math.fsum(contributing.values())
    shares = {lv: 0.0 for lv in STUDY_LEVELS}
    for s, v in contributing.items():
        shares[levels[s]] += v
    shares = {lv: 100.0 * x / total for lv, x in shares.items()}
    mean = math.fsum(_STUDY_SCORE[lv] * x for lv, x in shares.items()) / 100.0
    numbers: dict[str, Any] = {
        "rule": rule,
        "total_contribution": total,
        "share_low": shares["low"],
        "share_some_concerns": shares["some concerns"],
        "share_high": shares["high"],
        "mean_score": mean,
        "studies": {s: {"contribution": contributing[s], "level": levels[s]} for s in contributing},
    }
    share_txt = ", ".join(f"{lv} {shares[lv]:.1f}%" for lv in STUDY_LEVELS)
    note = "" if abs(total - 100.0) <= 1e-6 else f" (contributions sum to {_f(total)}%; shares are relative to their sum)"
    if rule == "majority":
        top = max(shares.values())
        tied = [lv for lv in STUDY_LEVELS if top - shares[lv] <= _TOL_PCT]
        chosen = tied[0] if tie == "lower" else tied[-1]
        numbers["tied_levels"] = tied
        tie_txt = (
            f"; {' and '.join(tied)} tie, the {'less' if tie == 'lower' else 'more'} serious level is taken"
            + (" (CINeMA)" if tie == "lower" else "")
            if len(tied) > 1
            else ""
        )
        text = (
            f"majority rule (CINeMA): the {what} level holding the largest share of the contributions to this "
            f"estimate{note} - {share_txt}{tie_txt} -> {chosen}"
            + ("" if _STUDY_TO_CONCERN[chosen] == chosen else f" -> {_STUDY_TO_CONCERN[chosen]}")
        )
    elif rule == "average":
        m = round(mean, 10)  # rounding noise in the percentages must not decide
        chosen = "low" if m < 1.5 else ("some concerns" if m < 2.5 else "high")
        text = (
            f"average rule (CINeMA): contribution-weighted mean {what} score (low = 1, some concerns = 2, high = 3) "
            f"= {mean:.4f}{note} ({share_txt}); mean < 1.5 -> no concerns, 1.5 <= mean < 2.5 -> some "
            f"concerns, mean >= 2.5 -> major concerns (the mean rounded half up, as CINeMA does) -> "
            f"{_STUDY_TO_CONCERN[chosen]}"
        )
    else:
        chosen = max((levels[s] for s in contributing), key=_STUDY_SCORE.__getitem__)
        worst = [s for s in contributing if levels[s] == chosen]
        text = (
            f"highest rule (CINeMA): the most serious {what} level among the {len(contributing)} contributing "
            f"studies is {chosen} ({', '.join(worst[:5])}{', ...' if len(worst) > 5 else ''}; {share_txt}) -> "
            f"{_STUDY_TO_CONCERN[chosen]}"
        )
    numbers["study_level"] = chosen
    return DomainJudgement(domain, _STUDY_TO_CONCERN[chosen], text, numbers)


def within_study_bias(
    study_contributions: Mapping[str, float],
    rob: Mapping[str, Any],
    rule: str = "majority",
    *,
    tie: str = "lower",
) -> DomainJudgement:
    """Within-study bias of one network estimate from study-level risk of bias.

    ``study_contributions`` maps each study to its percentage contribution to the
    estimate (a row of the study-level contribution matrix, Papakonstantinou et al.
    2018, F1000Research 7:610; :func:`netgrade.network.network_study_contributions`);
    ``rob`` maps studies to low / some concerns / high.  Studies contributing nothing
    are ignored; a contributing study without a judgement is an error naming it.

    Rules (CINeMA; Nikolakopoulou et al. 2020, the software's ``netrob`` module):

    * ``"majority"``: the level with the largest share of the contributions (a
      plurality, not necessarily more than 50%).  Shares equal within 1e-9
      percentage points tie; CINeMA's code keeps the first level reached in the order
      low, some concerns, high, i.e. the *less* serious one (``tie="lower"``, the
      default); ``tie="higher"`` takes the more serious one.
    * ``"average"``: the contribution-weighted mean of the scores low = 1,
      some concerns = 2, high = 3, rounded half up (JavaScript ``Math.round``): mean
      < 1.5 -> no concerns, 1.5 <= mean < 2.5 -> some concerns, mean >= 2.5 -> major
      concerns.
    * ``"highest"``: the most serious level among the contributing studies.

    Low maps to no concerns, some concerns to some concerns, high to major concerns.
    """
    return _contribution_judgement("within-study bias", "risk of bias", study_contributions, rob, rule, tie)


def indirectness(
    study_contributions: Mapping[str, float],
    judgements: Mapping[str, Any],
    rule: str = "majority",
    *,
    tie: str = "lower",
) -> DomainJudgement:
    """Indirectness of one network estimate from study-level indirectness judgements
    (low / some concerns / high relevance concerns for the research question), summarised
    over the study contributions exactly as :func:`within_study_bias` does ("the
    indirectness domain is identical to within-study bias", CINeMA documentation)."""
    return _contribution_judgement("indirectness", "indirectness", study_contributions, judgements, rule, tie)


# ---------------------------------------------------------------------------------
# reporting bias


def _funnel_numbers(funnel_test: Any) -> dict:
    if isinstance(funnel_test, Mapping):
        get = funnel_test.get
    else:
        def get(name, default=None):
            return getattr(funnel_test, name, default)
    pval = get("pval", None)
    if pval is None:
        pval = get("p", None)
    if not _finite(pval):
        raise SpecError("funnel_test: give the asymmetry test's p-value ('pval')")
    out = {"pval": float(pval)}
    for name in ("stat", "df", "k", "model", "slope", "slope_se", "intercept"):
        v = get(name, None)
        if v is not None:
            out[name] = v if isinstance(v, str) else (int(v) if name in ("df", "k") else float(v))
    return out


def reporting_bias(
    judgement: str,
    funnel_test: Any = None,
    *,
    suggest_alpha: float = 0.10,
    min_studies: int = 10,
) -> DomainJudgement:
    """Reporting (publication) bias of one estimate, as the reviewers judge it.

    CINeMA asks reviewers to state whether reporting bias is "undetected",
    "suspected" or "strongly suspected" (Nikolakopoulou et al. 2020); these map to no,
    some and major concerns.  (The concern words themselves are accepted too.)

    ``funnel_test`` -- a comparison-adjusted funnel asymmetry test (Chaimani et al.
    2013, PLoS One 8:e76654; :class:`netgrade.network.adjusted_funnel.FunnelAsymmetryTest`
    or a mapping with ``pval`` and optionally ``stat``, ``k``) -- is recorded in
    ``numbers`` as supporting evidence and never changes the judgement.  When its
    p-value is below ``suggest_alpha`` (0.10, the level Egger et al. 1997, BMJ 315:629,
    used) and the judgement is "undetected", ``numbers["suggestion"]`` says so; with
    fewer than ``min_studies`` studies (10; Sterne et al. 2011, BMJ 343:d4002) the test
    is flagged as having low power.
    """
    word = str(judgement).strip().lower().replace("_", " ")
    if word in REPORTING_BIAS_LEVELS:
        level, label = REPORTING_BIAS_LEVELS[word], word
    else:
        try:
            level = concern(word)
        except SpecError:
            raise SpecError(
                f"reporting bias: unknown judgement {judgement!r}; use 'undetected', 'suspected' or "
                "'strongly suspected' (CINeMA) or no / some / major concerns"
            ) from None
        label = {v: k for k, v in REPORTING_BIAS_LEVELS.items()}[level]
    numbers: dict[str, Any] = {"judgement": label}
    text = f"reporting bias judged {label!r} by the reviewers (CINeMA: {label} -> {level})"
    if funnel_test is not None:
        ft = _funnel_numbers(funnel_test)
        numbers["funnel_test"] = ft
        stat = f", statistic {_f(ft['stat'])}" if "stat" in ft else ""
        text += (
            f"; comparison-adjusted funnel asymmetry test p = {fmt_p(ft['pval'])}{stat} recorded as supporting "
            "evidence, not applied"
        )
        if ft.get("k") is not None and ft["k"] < min_studies:
            numbers["low_power"] = f"only {ft['k']} studies (< {min_studies}): the asymmetry test has low power"
        if ft["pval"] < suggest_alpha and level == "no concerns":
            numbers["suggestion"] = (
                f"the asymmetry test gives p = {fmt_p(ft['pval'])} < {suggest_alpha}: consider judging reporting "
                "bias 'suspected'"
            )
        elif ft["pval"] >= suggest_alpha and level == "major concerns":
            numbers["suggestion"] = (
                f"the asymmetry test gives p = {fmt_p(ft['pval'])}: state what makes reporting bias strongly "
                "suspected (e.g. unpublished trials known to exist)"
            )
    return DomainJudgement("reporting bias", level, text, numbers)


# ---------------------------------------------------------------------------------
# the judgement scale


def risk_difference_per_1000(value: Any, measure: str, baseline_risk: float | None, *, log_scale: bool = True):
    """Risk difference per 1,000 patients implied by a relative effect.

    ``value`` is on the analysis scale (log OR, log RR, log HR) unless
    ``log_scale=False`` (OR, RR, HR themselves); ``baseline_risk`` p0 is the risk with
    the comparator.  With p1 the risk with the intervention (GRADE's absolute effects;
    Guyatt et al. 2013, J Clin Epidemiol 66:158; Schünemann et al., Cochrane Handbook
    ch. 14):

    * OR: p1 = OR p0 / (1 - p0 + OR p0)
    * RR: p1 = RR p0, capped at 1 (a risk ratio cannot make a risk exceed 100%)
    * HR: p1 = 1 - (1 - p0)^HR (proportional hazards over the horizon of p0)
    * RD (analysis scale already a risk difference): 1000 RD, p0 unused

    and the result is 1000 (p1 - p0).  Scalars give floats, arrays give arrays.
    """
    m = str(measure).strip().upper()
    x = np.asarray(value, dtype=float)
    if m == "RD":
        out = 1000.0 * x
        return float(out) if out.ndim == 0 else out
    if m not in _RATIO_MEASURES:
        raise SpecError(f"risk_difference_per_1000: {measure!r} is not a ratio measure (OR, RR, HR) or RD")
    if baseline_risk is None or not (0.0 < float(baseline_risk) < 1.0):
        raise SpecError(
            f"risk_difference_per_1000: a baseline risk strictly between 0 and 1 is needed to turn the {m} into "
            f"an absolute effect; got {baseline_risk!r}"
        )
    p0 = float(baseline_risk)
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.exp(x) if log_scale else x
    if np.any(r[np.isfinite(r)] < 0):
        raise SpecError(f"risk_difference_per_1000: a {m} cannot be negative")
    out = 1000.0 * (np.asarray(intervention_risk(m, r, p0)) - p0)
    return float(out) if out.ndim == 0 else out


def to_judgement_scale(values: Any, outcome: Outcome):
    """Map values from the analysis scale of ``outcome.measure`` to the judgement scale:
    unchanged for MD, SMD, SMDH and GEN; the risk difference per 1,000 at
    ``outcome.baseline_risk`` for OR, PETO, RR and HR (analysed as logarithms) and for RD.
    Other measures have no agreed judgement scale and are refused."""
    m = str(outcome.measure).strip().upper()
    if m in _DIFFERENCE_MEASURES:
        x = np.asarray(values, dtype=float)
        return float(x) if x.ndim == 0 else x
    if m in _RATIO_MEASURES or m == "RD":
        if m != "RD" and outcome.baseline_risk is None:
            raise SpecError(
                f"outcome {outcome.name!r}: the {m} is judged by its absolute effect (GRADE), so the outcome needs "
                "a baseline_risk (the comparator's risk) and thresholds per 1,000 patients"
            )
        return risk_difference_per_1000(values, m, outcome.baseline_risk)
    raise SpecError(
        f"outcome {outcome.name!r}: no judgement scale for measure {outcome.measure!r}; certainty ratings support "
        "MD, SMD, SMDH, GEN (natural units) and OR, PETO, RR, HR, RD (risk difference per 1,000)"
    )


def judgement_scale_label(outcome: Outcome) -> str:
    """Words for the judgement scale of ``outcome`` (for rule texts and reports)."""
    m = str(outcome.measure).strip().upper()
    unit = f" {outcome.unit}".rstrip() if outcome.unit else ""
    if m in _RATIO_MEASURES:
        p0 = outcome.baseline_risk
        base = "" if p0 is None else f" at a baseline risk of {1000 * p0:.4g} per 1,000"
        return f"risk difference per 1,000 patients ({m}{base})"
    if m == "RD":
        return "risk difference per 1,000 patients"
    return f"{m}{(' (' + outcome.unit + ')') if unit else ''}"


# ---------------------------------------------------------------------------------
# boundaries, regions, crossings


def count_crossings(lo: float, hi: float, boundaries: Sequence[float]) -> int:
    """Number of boundaries b with lo < b < hi (strictly inside the interval)."""
    return sum(1 for b in boundaries if lo < b < hi)


def regions_reached(lo: float, hi: float, b1: float, b2: float) -> tuple[bool, bool, bool]:
    """Whether [lo, hi] reaches the region below b1, between b1 and b2, above b2
    (CINeMA's ``makeVector``: lo < b1; lo < b2 and hi > b1; hi > b2)."""
    return (lo < b1, lo < b2 and hi > b1, hi > b2)


def _check_interval(name: str, lo: float, hi: float, est: float | None = None) -> None:
    for v, what in ((lo, "lower limit"), (hi, "upper limit")):
        if not _finite(v):
            raise DataError(f"{name}: the {what} is {v!r}; a finite number is needed")
    if lo > hi:
        raise DataError(f"{name}: the lower limit {_f(lo)} is above the upper limit {_f(hi)}")
    if est is not None:
        if not _finite(est):
            raise DataError(f"{name}: the estimate is {est!r}; a finite number is needed")
        if not lo <= est <= hi:
            raise DataError(f"{name}: the estimate {_f(est)} lies outside its interval ({_f(lo)}, {_f(hi)})")


def _sides(outcome: Outcome, treatments: tuple[str, str] | None) -> tuple[str, str]:
    """(what values below zero favour, what values above zero favour)."""
    t1, t2 = treatments if treatments is not None else ("the first treatment", "the second treatment")
    # value = treatment1 minus treatment2 on the judgement scale
    return (t2, t1) if outcome.larger_better else (t1, t2)


def _mid(outcome: Outcome) -> float:
    mid = float(outcome.thresholds.small)
    if not mid > 0:
        raise SpecError(f"outcome {outcome.name!r}: the MID (thresholds.small) must be positive")
    return mid


def _zone(estimate: float, outcome: Outcome, target: str) -> tuple[list[float], str]:
    """The boundaries a CI is judged against, and how they were chosen."""
    mid = _mid(outcome)
    if target == "mid":
        return [-mid, mid], f"range of equivalence ({_f(-mid)}, {_f(mid)})"
    # target "null": CINeMA's current rule ("Toshi's rule" in its code): the line of no
    # effect and the MID on the side opposite to the point estimate.
    if estimate > 0:
        return [-mid, 0.0], f"the line of no effect (0) and the MID on the side opposite to the estimate ({_f(-mid)})"
    if estimate < 0:
        return [0.0, mid], f"the line of no effect (0) and the MID on the side opposite to the estimate ({_f(mid)})"
    return [-mid, 0.0, mid], "the line of no effect (0) and both MIDs (the estimate lies exactly on the null)"


def _in_equivalence(lo: float, hi: float, mid: float) -> bool:
    """CINeMA's ``effectInZone``: the interval lies strictly inside (-MID, MID)."""
    return lo > -mid and hi < mid


def _region_names(boundaries: Sequence[float], outcome: Outcome, treatments) -> list[str]:
    """Names of the regions between consecutive boundaries (values are treatment 1
    minus treatment 2; which side each treatment is favoured on follows
    ``outcome.larger_better``)."""
    below, above = _sides(outcome, treatments)
    mid = float(outcome.thresholds.small)
    edges = [-math.inf, *boundaries, math.inf]
    names = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= -mid:
            names.append(f"important effect favouring {below} (below {_f(b)})")
        elif a >= mid:
            names.append(f"important effect favouring {above} (above {_f(a)})")
        elif a >= -mid and b <= mid:
            if a <= -mid and b >= mid:
                names.append(f"no important difference ({_f(a)} to {_f(b)})")
            elif b <= 0:
                names.append(f"unimportant effect favouring {below} ({_f(a)} to {_f(b)})")
            else:
                names.append(f"unimportant effect favouring {above} ({_f(a)} to {_f(b)})")
        elif b <= 0:
            names.append(f"effect favouring {below} (below {_f(b)})")
        elif a >= 0:
            names.append(f"effect favouring {above} (above {_f(a)})")
        else:
            names.append(f"{_f(a)} to {_f(b)}")
    return names


def _grade34_boundaries(outcome: Outcome) -> tuple[list[float], list[str]]:
    t = outcome.thresholds
    vals = [("small", t.small), ("moderate", t.moderate), ("large", t.large)]
    vals = [(n, float(v)) for n, v in vals if v is not None]
    bounds = sorted([-v for _, v in vals] + [v for _, v in vals])
    return bounds, [n for n, _ in vals]


def _grade34_names(bounds: Sequence[float], sizes: Sequence[str], outcome: Outcome, treatments) -> list[str]:
    below, above = _sides(outcome, treatments)
    k = len(sizes)
    names = []
    # regions from -inf: largest effect favouring `below` ... trivial ... largest favouring `above`
    for i in range(len(bounds) + 1):
        j = i - k  # -k .. k ; 0 = trivial
        if j == 0:
            names.append(f"trivial or no effect (|effect| < {_f(bounds[k])})")
        elif j < 0:
            names.append(f"{sizes[-j - 1]} or larger effect favouring {below}" if -j == k
                         else f"{sizes[-j - 1]} effect favouring {below}")
        else:
            names.append(f"{sizes[j - 1]} or larger effect favouring {above}" if j == k
                         else f"{sizes[j - 1]} effect favouring {above}")
    return names


def _reached_names(lo: float, hi: float, bounds: Sequence[float], names: Sequence[str]) -> list[str]:
    edges = [-math.inf, *bounds, math.inf]
    out = []
    for (a, b), name in zip(zip(edges[:-1], edges[1:]), names):
        if lo < b and hi > a:
            out.append(name)
    if not out:  # a zero-width interval exactly on a boundary
        out = [names[int(np.searchsorted(np.asarray(bounds), lo, side="right"))]]
    return out


_LEVEL_OF_CROSSINGS = {0: "no concerns", 1: "some concerns"}


def _level(n: int) -> str:
    return _LEVEL_OF_CROSSINGS.get(n, "major concerns")


# ---------------------------------------------------------------------------------
# imprecision


def imprecision(
    estimate: float,
    ci_low: float,
    ci_high: float,
    outcome: Outcome,
    *,
    scheme: str = "cinema",
    treatments: tuple[str, str] | None = None,
) -> DomainJudgement:
    """Imprecision of one estimate, on the judgement scale (see the module docstring).

    ``scheme="cinema"`` (default; Nikolakopoulou et al. 2020, CINeMA ``imprecision``):

    * ``outcome.target == "mid"``: the CI is compared with the range of equivalence
      (-MID, MID).  No boundary crossed (the CI lies entirely within the range, or
      entirely beyond the MID on one side) -> no concerns; one boundary crossed ->
      some concerns; both crossed (the CI includes important effects in both
      directions) -> major concerns.
    * ``outcome.target == "null"``: CINeMA's current software rule: the boundaries are
      the line of no effect and the MID on the side opposite to the point estimate.
      A CI that crosses neither -> no concerns; crosses the null only -> some concerns;
      crosses the null and the opposite MID -> major concerns.  A CI lying strictly
      inside (-MID, MID) has no concerns (CINeMA's ``effectInZone``: the conclusion "no
      important difference" is clear).  An estimate exactly on the null is judged
      against the null and both MIDs.

    ``scheme="grade34"`` (GRADE guidance 34, Zeng et al. 2022; thresholds as Hultcrantz
    et al. 2017 frame them): minimally contextualised, target "mid" only.  The
    boundaries are +-small (the MID), +-moderate and +-large (those given in
    ``outcome.thresholds``); a CI within one category -> no concerns, crossing one
    threshold -> some concerns (rate down one level), two or more -> major concerns
    (two levels).  GRADE 34 allows rating down three levels when a CI crosses three or
    more thresholds; ``numbers["grade_levels"]`` records that count, which the six-domain
    scale cannot express (override the overall rating if the panel wants it).  The
    optimal information size check GRADE 34 asks for when the CI crosses no threshold
    is not made here; ``numbers["ois_checked"]`` is False.

    A limit exactly on a boundary does not cross it.  ``treatments`` names the two
    sides in the rule text (values are treatment 1 minus treatment 2).
    """
    scheme = str(scheme).strip().lower()
    if scheme not in ("cinema", "grade34"):
        raise SpecError(f"imprecision: unknown scheme {scheme!r}; choose 'cinema' or 'grade34'")
    _check_interval("imprecision", ci_low, ci_high, estimate)
    est, lo, hi = float(estimate), float(ci_low), float(ci_high)
    mid = _mid(outcome)
    scale = judgement_scale_label(outcome)
    numbers: dict[str, Any] = {
        "scheme": scheme,
        "target": outcome.target,
        "scale": scale,
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "mid": mid,
    }
    ci_txt = f"95% CI ({_f(lo)}, {_f(hi)})"
    if scheme == "grade34":
        if outcome.target != "mid":
            raise SpecError(
                "imprecision: GRADE guidance 34 is the minimally contextualised approach (target 'mid'); use "
                "scheme='cinema' for target 'null'"
            )
        bounds, sizes = _grade34_boundaries(outcome)
        names = _grade34_names(bounds, sizes, outcome, treatments)
        n = count_crossings(lo, hi, bounds)
        level = _level(n)
        reached = _reached_names(lo, hi, bounds, names)
        numbers.update(
            boundaries=bounds, crossed=[b for b in bounds if lo < b < hi], n_crossed=n, regions=reached,
            grade_levels=min(n, 3), ois_checked=False,
        )
        text = (
            f"GRADE 34 (minimally contextualised): thresholds {', '.join(_f(b) for b in bounds)} on the {scale}; "
            f"the {ci_txt} reaches {' / '.join(reached)}; {n} threshold{'s' if n != 1 else ''} crossed -> {level}"
        )
        if n >= 3:
            text += " (GRADE 34 would consider rating down three levels)"
        return DomainJudgement("imprecision", level, text, numbers)

    if outcome.target == "null" and _in_equivalence(lo, hi, mid):
        numbers.update(boundaries=[-mid, mid], crossed=[], n_crossed=0, within_equivalence=True,
                       regions=[f"no important difference ({_f(-mid)} to {_f(mid)})"])
        text = (
            f"CINeMA, target 'null': the {ci_txt} lies strictly inside the range of equivalence ({_f(-mid)}, "
            f"{_f(mid)}) on the {scale}: no important difference either way -> no concerns"
        )
        return DomainJudgement("imprecision", "no concerns", text, numbers)
    bounds, how = _zone(est, outcome, outcome.target)
    names = _region_names(bounds, outcome, treatments)
    crossed = [b for b in bounds if lo < b < hi]
    n = min(len(crossed), 2)
    level = _level(n)
    reached = _reached_names(lo, hi, bounds, names)
    numbers.update(boundaries=bounds, crossed=crossed, n_crossed=len(crossed), regions=reached)
    if outcome.target == "null":
        numbers["within_equivalence"] = False
    what = {0: "no boundary crossed", 1: "one boundary crossed", 2: "both boundaries crossed"}[min(len(crossed), 2)]
    if outcome.target == "null" and len(bounds) == 3 and crossed:
        what = f"{len(crossed)} of the null and the two MIDs crossed"
    text = (
        f"CINeMA, target '{outcome.target}': {how} on the {scale}; the {ci_txt} reaches "
        f"{' / '.join(reached)}: {what} -> {level}"
    )
    return DomainJudgement("imprecision", level, text, numbers)


# ---------------------------------------------------------------------------------
# heterogeneity


def heterogeneity(
    estimate: float,
    ci_low: float,
    ci_high: float,
    pi_low: float | None,
    pi_high: float | None,
    outcome: Outcome,
    tau2: float | None = None,
    *,
    model: str | None = None,
    treatments: tuple[str, str] | None = None,
) -> DomainJudgement:
    """Heterogeneity of one estimate: do the CI and the prediction interval lead to the
    same conclusion relative to the clinically important values? (CINeMA; values on the
    judgement scale).

    The boundaries are those of :func:`imprecision` with the CINeMA scheme (target
    "mid": -MID and MID; target "null": the null and the MID opposite the estimate,
    with the range of equivalence when the CI lies strictly inside it, CINeMA's
    ``jointCrosses``).  With c the boundaries the CI crosses and p those the PI
    crosses (p >= c, the PI contains the CI), CINeMA's table gives: p - c = 0 (the PI
    reaches no region the CI does not) -> no concerns; 1 -> some concerns; 2 -> major
    concerns.

    ``tau2`` is reported.  Without a prediction interval (``pi_low``/``pi_high`` None
    or NaN), or with ``model="common"`` (a common-effect model, whose prediction
    interval equals its CI), there is no information about heterogeneity: the rule
    then gives no concerns and the text says why (fit a random-effects model, or
    override, if heterogeneity is plausible).
    """
    _check_interval("heterogeneity", ci_low, ci_high, estimate)
    est, lo, hi = float(estimate), float(ci_low), float(ci_high)
    mid = _mid(outcome)
    scale = judgement_scale_label(outcome)
    numbers: dict[str, Any] = {
        "target": outcome.target,
        "scale": scale,
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "pi_low": float(pi_low) if _finite(pi_low) else None,
        "pi_high": float(pi_high) if _finite(pi_high) else None,
        "tau2": float(tau2) if _finite(tau2) else None,
        "mid": mid,
        "model": model,
    }
    tau_txt = f" (tau² = {_f(tau2)})" if _finite(tau2) else ""
    if not (_finite(pi_low) and _finite(pi_high)) or model == "common":
        numbers["assessable"] = False
        why = (
            "the estimate comes from a common-effect model, which assumes no heterogeneity (its prediction interval "
            "equals the CI)"
            if model == "common"
            else "no prediction interval is available (common-effect model, or tau² not estimable)"
        )
        text = (
            f"heterogeneity cannot be judged from the data: {why}{tau_txt}; the CINeMA rule finds no region reached "
            "by a prediction interval beyond the CI -> no concerns. If heterogeneity is plausible, fit a random-"
            "effects model or override this judgement with a reason."
        )
        return DomainJudgement("heterogeneity", "no concerns", text, numbers)
    pl, ph = float(pi_low), float(pi_high)
    _check_interval("heterogeneity (prediction interval)", pl, ph)
    if pl > lo + 1e-12 * max(1.0, abs(lo)) or ph < hi - 1e-12 * max(1.0, abs(hi)):
        raise DataError(
            f"heterogeneity: the prediction interval ({_f(pl)}, {_f(ph)}) does not contain the CI ({_f(lo)}, {_f(hi)})"
        )
    numbers["assessable"] = True
    if outcome.target == "null" and _in_equivalence(lo, hi, mid):
        ci_bounds, how_ci = [], "the CI lies strictly inside the range of equivalence"
        pi_bounds = [-mid, mid]
        how = f"range of equivalence ({_f(-mid)}, {_f(mid)})"
        c = 0
    else:
        pi_bounds, how = _zone(est, outcome, outcome.target)
        ci_bounds = pi_bounds
        how_ci = ""
        c = count_crossings(lo, hi, ci_bounds)
    p = count_crossings(pl, ph, pi_bounds)
    extra = max(p - c, 0)
    level = _level(min(extra, 2))
    names = _region_names(pi_bounds, outcome, treatments)
    ci_regions = _reached_names(lo, hi, pi_bounds, names)
    pi_regions = _reached_names(pl, ph, pi_bounds, names)
    more = [r for r in pi_regions if r not in ci_regions]
    numbers.update(
        boundaries=pi_bounds, ci_crossings=c, pi_crossings=p, extra_regions=extra,
        ci_regions=ci_regions, pi_regions=pi_regions,
    )
    detail = f"the prediction interval reaches {len(more)} region{'s' if len(more) != 1 else ''} the CI does not"
    if more:
        detail += f" ({' / '.join(more)})"
    text = (
        f"CINeMA: {how} on the {scale}{'; ' + how_ci if how_ci else ''}; 95% CI ({_f(lo)}, {_f(hi)}) crosses {c}, "
        f"95% prediction interval ({_f(pl)}, {_f(ph)}) crosses {p} boundar{'y' if p == 1 else 'ies'}{tau_txt}: "
        f"{detail} -> {level}"
    )
    return DomainJudgement("heterogeneity", level, text, numbers)


# ---------------------------------------------------------------------------------
# incoherence


def _dbt_p(design_by_treatment: Any, model: str) -> tuple[float | None, dict]:
    if design_by_treatment is None:
        return None, {}
    if isinstance(design_by_treatment, (int, float, np.floating)):
        p = float(design_by_treatment)
        return (p if math.isfinite(p) else None), {"dbt_pval": p if math.isfinite(p) else None}
    if isinstance(design_by_treatment, Mapping):
        get = design_by_treatment.get
    else:
        def get(name, default=None):
            return getattr(design_by_treatment, name, default)
    df = get("df", None)
    p = get("pval_random" if model == "random" else "pval_common", None)
    if p is None:
        p = get("pval", None)
    q = get("q_random" if model == "random" else "q_common", None)
    info = {"dbt_model": model, "dbt_q": q, "dbt_df": df, "dbt_pval": p}
    if df is not None and int(df) <= 0:
        return None, info
    return (float(p) if _finite(p) else None), info


def _p_level(p: float, p_lo: float, p_hi: float) -> str:
    if p >= p_hi:
        return "no concerns"
    if p >= p_lo:
        return "some concerns"
    return "major concerns"


def incoherence(
    split: Mapping[str, Any] | None,
    design_by_treatment: Any,
    outcome: Outcome,
    p_thresholds: tuple[float, float] = (0.01, 0.10),
    *,
    model: str = "random",
    direct_only: str = "global",
    untestable: str = "major concerns",
    tol_direct: float = 5e-4,
    treatments: tuple[str, str] | None = None,
) -> DomainJudgement:
    """Incoherence of one network estimate (CINeMA; Nikolakopoulou et al. 2020; the
    software's ``incoherence`` module).

    ``split`` is the node-splitting record of the comparison on the analysis scale, as
    :meth:`netgrade.network.inconsistency.NodeSplit.comparison` returns it (``k``,
    ``prop_direct``, ``direct``/``indirect`` with ``*_ci_low``/``*_ci_high``, ``pval``
    of the SIDE test, Dias et al. 2010); ``design_by_treatment`` the global
    design-by-treatment test (Higgins et al. 2012; a ``DesignByTreatmentTest``, a
    mapping, or its p-value), whose ``model`` ("random", CINeMA's choice, or
    "common") p-value is used.  With ``(p_lo, p_hi) = p_thresholds``:

    * **Mixed evidence** (direct and indirect): SIDE p >= p_hi -> no concerns.
      Otherwise the 95% CIs of the direct and the indirect estimate (converted to the
      judgement scale) are placed against the range of equivalence (-MID, MID): each
      reaches some of the three regions below -MID, between, above MID; the number of
      regions on which the two agree (both reach it or both do not) decides: 3 -> no
      concerns, 2 -> some concerns, 0 or 1 -> major concerns (the CINeMA
      documentation's table of "common areas").  CINeMA uses only p_hi here.
    * **Indirect evidence only**, and **direct evidence only** with
      ``direct_only="global"`` (default, CINeMA's current software): the global test,
      p >= p_hi -> no concerns, p_lo <= p < p_hi -> some concerns, p < p_lo -> major
      concerns.  The CINeMA documentation gives 0.01 and 0.10 (the default); its code
      uses 0.05 and 0.10 -- pass ``p_thresholds=(0.05, 0.10)`` to reproduce it.  With
      ``direct_only="none"`` (the documentation's earlier rule) direct-only
      comparisons have no concerns.  When there is no global test (no loops in the
      network, df = 0, or no test given) the judgement is ``untestable`` (default
      major concerns, as CINeMA's code does for star networks).

    A p-value exactly at a cut-off is not below it (p = 0.10 -> no concerns, p = 0.01
    -> some concerns).  ``prop_direct`` within ``tol_direct`` of 1 means no indirect
    evidence (netmeta's tolerance).
    """
    p_lo, p_hi = (float(p_thresholds[0]), float(p_thresholds[1]))
    if not (0.0 < p_lo <= p_hi < 1.0):
        raise SpecError(f"incoherence: p_thresholds must satisfy 0 < low <= high < 1; got {p_thresholds!r}")
    if model not in ("random", "common"):
        raise SpecError("incoherence: model must be 'random' or 'common'")
    if direct_only not in ("global", "none"):
        raise SpecError("incoherence: direct_only must be 'global' (CINeMA's software) or 'none'")
    untestable = concern(untestable)
    if split is None:
        raise SpecError("incoherence: give the node-splitting record of the comparison (NodeSplit.comparison(...))")
    k = int(split.get("k", 0) or 0)
    prop = split.get("prop_direct", math.nan)
    has_direct = k > 0 and _finite(split.get("direct"))
    has_indirect = _finite(split.get("indirect")) and not (_finite(prop) and abs(float(prop) - 1.0) < tol_direct)
    if has_direct and has_indirect:
        evidence = "mixed"
    elif has_direct:
        evidence = "direct only"
    elif has_indirect:
        evidence = "indirect only"
    else:
        raise DataError("incoherence: the node-splitting record has neither a direct nor an indirect estimate")
    mid = _mid(outcome)
    numbers: dict[str, Any] = {
        "evidence": evidence,
        "k_direct": k,
        "prop_direct": float(prop) if _finite(prop) else None,
        "p_thresholds": [p_lo, p_hi],
        "mid": mid,
    }
    if evidence == "mixed":
        p = split.get("pval")
        if not _finite(p):
            raise DataError("incoherence: the SIDE p-value of a comparison with mixed evidence is missing")
        p = float(p)
        conv = {}
        for name in ("direct", "indirect"):
            vals = [split[f"{name}_ci_low"], split[name], split[f"{name}_ci_high"]]
            lo_, est_, hi_ = (float(v) for v in to_judgement_scale(np.asarray(vals, float), outcome))
            conv[name] = (lo_, est_, hi_)
        numbers.update(
            side_pval=p, side_z=split.get("z"), diff=split.get("diff"),
            direct=conv["direct"][1], direct_ci_low=conv["direct"][0], direct_ci_high=conv["direct"][2],
            indirect=conv["indirect"][1], indirect_ci_low=conv["indirect"][0],
            indirect_ci_high=conv["indirect"][2], scale=judgement_scale_label(outcome),
        )
        if p >= p_hi:
            text = (
                f"CINeMA, mixed evidence: SIDE test of direct versus indirect evidence p = {fmt_p(p)} >= {p_hi} -> "
                "no concerns"
            )
            return DomainJudgement("incoherence", "no concerns", text, numbers)
        dv = regions_reached(conv["direct"][0], conv["direct"][2], -mid, mid)
        iv = regions_reached(conv["indirect"][0], conv["indirect"][2], -mid, mid)
        agree = sum(1 for a, b in zip(dv, iv) if a == b)
        level = {3: "no concerns", 2: "some concerns"}.get(agree, "major concerns")
        numbers.update(direct_regions=list(dv), indirect_regions=list(iv), regions_agreeing=agree)
        below, above = _sides(outcome, treatments)
        rnames = (f"below {_f(-mid)} (favouring {below})", f"{_f(-mid)} to {_f(mid)}", f"above {_f(mid)} (favouring {above})")

        def where(v):
            return " + ".join(n for n, r in zip(rnames, v) if r) or "no region"

        text = (
            f"CINeMA, mixed evidence: SIDE p = {fmt_p(p)} < {p_hi}, so the direct 95% CI ({_f(conv['direct'][0])}, "
            f"{_f(conv['direct'][2])}) and the indirect 95% CI ({_f(conv['indirect'][0])}, "
            f"{_f(conv['indirect'][2])}) on the {judgement_scale_label(outcome)} are compared with the range of "
            f"equivalence: direct reaches {where(dv)}, indirect reaches {where(iv)}; they agree on {agree} of 3 "
            f"regions (3 -> no, 2 -> some, 0-1 -> major concerns) -> {level}"
        )
        return DomainJudgement("incoherence", level, text, numbers)
    if evidence == "direct only" and direct_only == "none":
        text = "direct evidence only and direct_only='none' (the CINeMA documentation's rule) -> no concerns"
        return DomainJudgement("incoherence", "no concerns", text, numbers)
    p, info = _dbt_p(design_by_treatment, model)
    numbers.update(info)
    if p is None:
        text = (
            f"{evidence} evidence and no global design-by-treatment test available (no closed loops, or none "
            f"given): incoherence cannot be checked -> {untestable} (CINeMA's rule for star networks)"
        )
        numbers["testable"] = False
        return DomainJudgement("incoherence", untestable, text, numbers)
    numbers["testable"] = True
    level = _p_level(p, p_lo, p_hi)
    text = (
        f"CINeMA, {evidence} evidence: global design-by-treatment interaction test ({model} effects) p = {fmt_p(p)}; "
        f"p >= {p_hi} -> no concerns, {p_lo} <= p < {p_hi} -> some concerns, p < {p_lo} -> major concerns -> {level}"
    )
    return DomainJudgement("incoherence", level, text, numbers)

