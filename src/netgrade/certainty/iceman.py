"""ICEMAN: the credibility of an apparent effect modification in a meta-analysis of RCTs.

ICEMAN, the Instrument for assessing the Credibility of Effect Modification Analyses
(Schandelmaier S, Briel M, Varadhan R, Schmid CH, Devasenapathy N, Hayward RA, Gagnier J,
Borenstein M, van der Heijden GJMG, Dahabreh IJ, Sun X, Sauerbrei W, Walsh M, Ioannidis
JPA, Thabane L, Guyatt GH. Development of the Instrument to assess the Credibility of
Effect Modification Analyses (ICEMAN) in randomized controlled trials and
meta-analyses. CMAJ 2020;192:E901-E906, doi:10.1503/cmaj.200077), judges whether a
subgroup effect (interaction, effect modification) is real.  The abstract describes the
instrument as "a set of preliminary considerations, core questions (5 for RCTs, 8 for
meta-analyses) with 4 response options, 1 optional item for additional considerations
and a rating of credibility on a visual analogue scale ranging from very low to high".
This module implements the version for meta-analyses.

What is implemented, and where each piece comes from
----------------------------------------------------
Sources read (stored copies, 2026): the CMAJ abstract (PubMed 32778601); the ICEMAN
manual at iceman.help (``manual/meta.html``, ``manual/rct.html``, ``manual/faq.html``,
``manual/index.html``) and the interactive form (``tool.html``, version 1.1); a
published application of the meta-analysis form (Stem Cell Res Ther 2022,
doi:10.1186/s13287-022-02883-3, Table 2) for the item-specific response labels; and a
public re-statement of the eight meta-analysis questions that says it copied them from
Table 1 of the paper ("The 8 META-ANALYSIS core questions were READ FROM TABLE 1 of the
paper (PMC7829020)").  The full text of the paper and the PDF form were *not* available;
every statement below says how firm it is.

A second search (2026) looked again for primary text -- the CMAJ full text (PMC copy,
cmaj.ca), the iceman.help form and manual pages, and later papers that apply or describe
ICEMAN (GRADE guidance 36, J Clin Epidemiol 2023; Core GRADE 3, BMJ 2025;389:e081905).
Only abstracts of those papers were stored, so none of the five open points below could
be settled from a primary source.  What it added: the older iceman.help FAQ
(``/frequently-asked-questions``) -- "state that you applied ICEMAN to potential effect
modifications with an interaction p-value of 0.1 or smaller. In the results, provide
interaction p-values and credibility ratings using the wording as suggested in ICEMAN.
If the credibility is moderate or high, justify using ICEMAN criteria."; the manual's
reporting page (``manual/index.html``) -- "We do not recommend reporting overall
credibility as a percentage" and the legend of its summary tables, "(–) definitely
reduces credibility; (-) probably reduces credibility or uncl[ear]"; and the Core GRADE 3
abstract -- "Critical criteria for judging the credibility of any apparent subgroup
effects include whether the analysis is based on within trial or between trial
comparisons, the P value of a test of interaction, and whether the analysis is based on
a small number of a priori hypotheses with a specified direction."

Status of the open points (second search):

1. Wording of items 2-8: still only the re-statement; item 6 now keeps its comma
   ("effect modifiers, or consider"), as the re-statement has it.  Not verified against
   Table 1.
2. Response labels: no new source; item 1 labels other than "Completely between" remain
   netgrade's, and "Chance a likely explanation" remains inferred.
3. p-value categories for item 5: no source gives them; the netgrade default stands.
4. Wording of the optional item: not found; netgrade's three considerations stand.
5. Overall rating: every source found leaves it to judgement (the form: "Click scale to
   rate manually"; the manual: no percentages; the FAQ: justify moderate or high by the
   items); no algorithm was found, so netgrade's default rule stands.

The eight core questions (:data:`QUESTIONS`, numbers as on the form):

1. "Is the analysis of effect modification based on comparison within rather than
   between trials?" -- verbatim from the manual (meta-analyses, item 1).
2. "For within-trial comparisons, is the effect modification similar from trial to
   trial?"
3. "For between-trial comparisons, is the number of trials large?"
4. "Was the direction of effect modification correctly hypothesized a priori?"
5. "Does a test for interaction suggest that chance is an unlikely explanation of the
   apparent effect modification?"
6. "Did the authors test only a small number of effect modifiers, or consider the
   number in their statistical analysis?"
7. "Did the authors use a random-effects model?"
8. "If the effect modifier is a continuous variable, were arbitrary cut points avoided?"

Items 2-8 are quoted from the re-statement of Table 1; their order agrees with the
published application (its columns Q1-Q8 hold "Completely between", "NA", "Large",
"Definitely yes", "Chance a very likely explanation (0.1)", "Definitely yes",
"Definitely yes", "NA").

Response options.  Every item has four ordered options, stored here on one canonical
scale -- ``"definitely yes"``, ``"probably yes"``, ``"probably no"``, ``"definitely
no"`` -- plus ``"not applicable"`` for items 2, 3 and 8, whose wording makes them
conditional.  The manual names the third option "Probably no or unclear" (RCT item 1),
so ``"unclear"`` is accepted as ``"probably no"``, and an unanswered question is treated
as "probably no or unclear" by the rating rule.  Where the form uses item-specific
labels they are accepted as aliases and shown in the output:

* item 3: "Large" / "Rather large" / "Rather small or unclear" / "Very small" (labels
  seen in the published application);
* item 5: "Chance an unlikely explanation" / "Chance may not explain" / "Chance a likely
  explanation" / "Chance a very likely explanation" (the first, second and fourth seen in
  the published application; "Chance a likely explanation" is inferred from the pattern
  and **not verified**);
* item 1: "Completely between" is seen in the published application; the other three
  labels used here ("Completely within", "Mostly within", "Mixed or unclear") are
  netgrade's wording.

The response descriptions of item 4 are those the manual gives for the same question in
the RCT form: "Definitely yes -- Prior protocol available and includes hypothesis with
correct specification of direction, e.g. based on biologic rationale"; "Probably yes --
No protocol available but unequivocal statement of a priori hypothesis with correct
direction"; "Probably no or unclear -- Vague hypothesis or hypothesized direction
unclear"; "Definitely no -- Clearly post-hoc, results inconsistent with hypothesized
direction, or biologically very implausible".

Scope.  The form says: "ICEMAN was developed to assess the credibility of a suggested
effect modification (interaction or meta-regression p < 0.1). It does not apply when
there is no suggestion of effect modification."  The FAQ adds: "When the statistical
evidence for effect modification is weak, the overall credibility will be low regardless
of other items."  An interaction p of 0.1 or more is therefore rated but flagged with a
warning, and item 5 caps the rating at low.  The sources differ at p = 0.1 exactly: the
form says "p < 0.1", the FAQ "a p-value ≤ 0.1" and "Skip ICEMAN when the interaction
p-value exceeds 0.1" (older FAQ: "0.1 or smaller").  netgrade follows the form (and its
own effect-modification verdict, which uses p < 0.1), so p = 0.1 is flagged.

The optional item ("additional considerations").  Its wording was not found.  netgrade
records three considerations the brief and the subgroup literature name -- consistency
across closely related outcomes, a gradient across ordered subgroups, and support from
prior evidence or a biological rationale -- on the same four-option scale.  The manual's
RCT item 1 places prior evidence and biological rationale inside the a-priori-direction
question, so they also feed item 4 when it is derived from spec facts.

Rules that are netgrade's, not the instrument's
-----------------------------------------------
ICEMAN leaves both the answers and the overall rating to judgement ("Click scale to rate
manually").  To compute them from data, netgrade uses the documented, deliberately
conservative defaults below; each answer records the rule and the numbers it used.

* Item 5 (chance), p-value cut-points: definitely yes p < 0.001; probably yes
  0.001 <= p < 0.01; probably no 0.01 <= p < 0.05; definitely no p >= 0.05
  (:data:`CHANCE_CUTPOINTS`).  The instrument's own cut-points were **not found**; these
  agree with the two published data points seen (p = 0.007 -> "Chance may not explain";
  p = 0.06 -> "Chance a very likely explanation").  Pass ``chance_cutpoints=`` to use
  others.
* Item 1 from ``comparison``: "within-trial" -> definitely yes (the manual: an analysis
  "is definitely free of study-level confounding if it is completely based on
  within-trial information"); "mixed" -> probably no (the manual: most analyses "combine
  within and between trial information", with the confounding risk of the between part);
  "between-trial" -> definitely no (the manual: analyses "completely based on
  between-study comparisons, e.g. using meta-regression ... are at a high risk of
  study-level confounding").
* Item 2 from the heterogeneity of the within-trial interaction estimates (I² in
  percent, benchmarks 25/50/75 of Higgins et al. 2003, BMJ 327:557; heterogeneity
  p < 0.10 as the conventional flag of the Cochrane Handbook ch. 10.10.2): I² < 25 ->
  definitely yes, < 50 -> probably yes, < 75 -> probably no, otherwise definitely no; a
  heterogeneity p < 0.10 caps the answer at probably no (and p < 0.01 without I² gives
  definitely no); a single trial -> probably no (similarity cannot be judged).
* Item 3 from the number of trials (total k and the smallest number per subgroup m),
  after the Cochrane Handbook's advice that meta-regression "should generally not be
  considered when there are fewer than ten studies" (ch. 10.11.5.1): k < 5 or m < 2 ->
  definitely no ("Very small"); k < 10 or m < 3 -> probably no ("Rather small or
  unclear"); k < 20 or m < 5 -> probably yes ("Rather large"); otherwise definitely yes
  ("Large").
* Item 6 from the number of effect modifiers tested: adjusted for multiplicity, or one
  modifier -> definitely yes; 2-3 -> probably yes; 4-10 -> probably no; more ->
  definitely no (after Burke JF et al. 2015, BMJ 351:h5651, "three simple rules": few,
  pre-specified hypotheses).
* Item 7 from the model: random effects -> definitely yes; common effect with residual
  I² = 0 -> probably yes; common effect, residual heterogeneity unknown -> probably no;
  common effect with residual I² > 0 -> definitely no.
* Item 8 from spec facts: not continuous -> not applicable; analysed as continuous (no
  cut points) -> definitely yes; established cut points -> probably yes; arbitrary cut
  points -> probably no; data-driven or several cut points tried -> definitely no.
* Gradient (optional item): the inverse-variance weighted linear trend of the subgroup
  estimates on ordered scores (weighted least squares slope, z test; see
  :func:`trend_test`), p < 0.05 with monotone estimates
  -> definitely yes; monotone or p < 0.05 -> probably yes; neither -> probably no;
  fewer than three ordered levels -> not applicable.  Estimates and intervals must be on
  the scale on which they are roughly normal (log scale for ratio measures).

The overall rating (:func:`assess_credibility`)
-----------------------------------------------
ICEMAN rates overall credibility on a visual analogue scale from very low to high and
gives no algorithm.  netgrade's default rule, conservative by design:

1. Every answer sets a ceiling on the rating (:data:`CEILINGS`): in general
   definitely/probably yes -> high, probably no -> moderate, definitely no -> low.
   Exceptions: item 5 (chance) probably yes -> moderate and probably no -> low; item 7
   (random effects) definitely no -> moderate; item 1 definitely no (completely between
   trials) -> low, or moderate when item 3 says the number of trials is large or rather
   large (the published application shows "Maximum usually moderate" and "Maximum
   usually low" next to between-trial analyses, though not consistently with the
   number of trials: "Very small" sits next to "moderate" and "Rather large" next to
   "low", so it cannot ground a rule); optional items cap only when
   "definitely no" (-> moderate) and never raise a rating.
2. An applicable core question left unanswered counts as "probably no or unclear".
3. The rating is the lowest ceiling; if three or more applicable core questions are
   answered probably no or definitely no (unanswered ones included), it drops one
   further level, because independent weaknesses compound.
4. When data and spec answer the same question, the less favourable answer is kept and
   a warning names both.

The computed rating is always kept.  An override (:class:`~netgrade.certainty.types.
Override`) replaces it only with a written justification; the FAQ asks users to
"Justify ratings of moderate-to-high credibility with reference to the individual
items".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .._result import ResultMixin, fmt, fmt_p, jsonable
from ..errors import SpecError
from .types import Override

__all__ = [
    "RESPONSES",
    "NOT_APPLICABLE",
    "CREDIBILITY",
    "SOURCES",
    "CHANCE_CUTPOINTS",
    "COMPARISONS",
    "SPEC_KEYS",
    "Question",
    "QUESTIONS",
    "CORE_QUESTIONS",
    "CEILINGS",
    "Answer",
    "IcemanItem",
    "IcemanAssessment",
    "question",
    "response",
    "credibility_level",
    "trend_test",
    "iceman_from_data",
    "iceman_from_result",
    "answers_from_spec",
    "assess_credibility",
]

#: The four response options on one ordered scale, most to least favourable.
RESPONSES = ("definitely yes", "probably yes", "probably no", "definitely no")
NOT_APPLICABLE = "not applicable"
#: Overall credibility, the end points of ICEMAN's scale and the two marks between them.
CREDIBILITY = ("high", "moderate", "low", "very low")
#: Who answered a question: the data (computed here) or a spec / a user (judgement).
SOURCES = ("data", "spec", "user")
#: How the effect modification was estimated (item 1).
COMPARISONS = ("within-trial", "between-trial", "mixed")
#: p-value cut-points of item 5 (netgrade default; see the module docstring).
CHANCE_CUTPOINTS = (0.001, 0.01, 0.05)
#: ICEMAN's scope: a suggested effect modification (interaction p < 0.1).
SCOPE_P = 0.1

_DY, _PY, _PN, _DN = RESPONSES
_RANK = {r: i for i, r in enumerate(RESPONSES)}
_LEVEL = {c: i for i, c in enumerate(CREDIBILITY)}
_Z975 = 1.959963984540054


@dataclass(frozen=True)
class Question:
    """One ICEMAN question: its number on the form, key, wording and response labels.

    ``labels`` maps each canonical response to the item's own label (shown in output and
    accepted as input); ``can_be_na`` says whether "not applicable" is allowed;
    ``core`` is False for the optional additional considerations; ``source`` says where
    the wording comes from.
    """

    number: int
    key: str
    text: str
    labels: tuple[tuple[str, str], ...] = ()
    can_be_na: bool = False
    core: bool = True
    source: str = ""

    def label(self, resp: str | None) -> str:
        if resp is None:
            return "unanswered"
        return dict(self.labels).get(resp, resp)

    @property
    def allowed(self) -> tuple[str, ...]:
        return RESPONSES + ((NOT_APPLICABLE,) if self.can_be_na else ())


_TABLE1 = "CMAJ 2020;192:E901 Table 1 (as re-stated publicly; full text not read)"
QUESTIONS: tuple[Question, ...] = (
    Question(
        1,
        "within_trial",
        "Is the analysis of effect modification based on comparison within rather than between trials?",
        (
            (_DY, "Completely within (netgrade label)"),
            (_PY, "Mostly within (netgrade label)"),
            (_PN, "Mixed or unclear (netgrade label)"),
            (_DN, "Completely between"),
        ),
        source="ICEMAN manual, meta-analyses, item 1 (verbatim)",
    ),
    Question(
        2,
        "similar_across_trials",
        "For within-trial comparisons, is the effect modification similar from trial to trial?",
        can_be_na=True,
        source=_TABLE1,
    ),
    Question(
        3,
        "number_of_trials",
        "For between-trial comparisons, is the number of trials large?",
        ((_DY, "Large"), (_PY, "Rather large"), (_PN, "Rather small or unclear"), (_DN, "Very small")),
        can_be_na=True,
        source=_TABLE1 + "; labels from a published application",
    ),
    Question(
        4,
        "direction_a_priori",
        "Was the direction of effect modification correctly hypothesized a priori?",
        (
            (_DY, "Prior protocol available and includes hypothesis with correct specification of direction"),
            (_PY, "No protocol available but unequivocal statement of a priori hypothesis with correct direction"),
            (_PN, "Vague hypothesis or hypothesized direction unclear"),
            (_DN, "Clearly post-hoc, results inconsistent with hypothesized direction, or biologically very implausible"),
        ),
        source=_TABLE1 + "; descriptions from the manual, RCT item 1",
    ),
    Question(
        5,
        "chance",
        "Does a test for interaction suggest that chance is an unlikely explanation of the apparent effect modification?",
        (
            (_DY, "Chance an unlikely explanation"),
            (_PY, "Chance may not explain"),
            (_PN, "Chance a likely explanation (label inferred)"),
            (_DN, "Chance a very likely explanation"),
        ),
        source=_TABLE1 + "; labels from a published application",
    ),
    Question(
        6,
        "few_modifiers",
        "Did the authors test only a small number of effect modifiers, or consider the number in their statistical analysis?",
        source=_TABLE1,
    ),
    Question(
        7,
        "random_effects",
        "Did the authors use a random-effects model?",
        source=_TABLE1,
    ),
    Question(
        8,
        "cut_points",
        "If the effect modifier is a continuous variable, were arbitrary cut points avoided?",
        can_be_na=True,
        source=_TABLE1,
    ),
    Question(
        9,
        "related_outcomes",
        "Additional consideration: is the effect modification consistent across closely related outcomes?",
        can_be_na=True,
        core=False,
        source="netgrade wording (ICEMAN's optional item; its wording was not found)",
    ),
    Question(
        10,
        "gradient",
        "Additional consideration: across ordered subgroups, do the effects show a gradient (dose-response)?",
        can_be_na=True,
        core=False,
        source="netgrade wording (ICEMAN's optional item; its wording was not found)",
    ),
    Question(
        11,
        "prior_evidence",
        "Additional consideration: is the effect modification supported by prior evidence or a biological rationale?",
        can_be_na=True,
        core=False,
        source="netgrade wording (ICEMAN's optional item; its wording was not found)",
    ),
)
_BY_KEY = {q.key: q for q in QUESTIONS}
CORE_QUESTIONS = tuple(q.key for q in QUESTIONS if q.core)

# Ceilings on the overall rating set by each answer (rule 1 of the module docstring).
_DEFAULT_CEILING = {_DY: "high", _PY: "high", _PN: "moderate", _DN: "low", NOT_APPLICABLE: "high"}
_OPTIONAL_CEILING = {_DY: "high", _PY: "high", _PN: "high", _DN: "moderate", NOT_APPLICABLE: "high"}
CEILINGS: dict[str, dict[str, str]] = {q.key: dict(_DEFAULT_CEILING) for q in QUESTIONS if q.core}
CEILINGS["chance"].update({_PY: "moderate", _PN: "low", _DN: "low"})
CEILINGS["random_effects"].update({_DN: "moderate"})
CEILINGS.update({q.key: dict(_OPTIONAL_CEILING) for q in QUESTIONS if not q.core})

_ALIASES = {
    "dy": _DY, "py": _PY, "pn": _PN, "dn": _DN,
    "probably no or unclear": _PN, "unclear": _PN, "probably no / unclear": _PN,
    "na": NOT_APPLICABLE, "n/a": NOT_APPLICABLE, "not applicable": NOT_APPLICABLE,
}  # fmt: skip


def question(key: str) -> Question:
    """The :class:`Question` with this key (or form number); SpecError names the keys."""
    if isinstance(key, Question):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        for q in QUESTIONS:
            if q.number == key:
                return q
    k = str(key).strip().lower().replace("-", "_").replace(" ", "_")
    if k in _BY_KEY:
        return _BY_KEY[k]
    raise SpecError(
        f"unknown ICEMAN question {key!r}; use one of: "
        + ", ".join(f"{q.key} ({q.number})" for q in QUESTIONS)
    )


def response(key: str, value: Any) -> str:
    """Normalise a response to question ``key``; SpecError names the allowed ones.

    Accepts the canonical options, their abbreviations (``"dy"``, ``"pn"``...),
    ``"unclear"`` (= probably no, "Probably no or unclear" in the manual), ``"na"`` for
    questions that allow it, and the item's own labels (e.g. ``"Very small"``).
    """
    q = question(key)
    v = str(value).strip().lower().replace("_", " ").replace("-", " ")
    v = " ".join(v.split())
    v = _ALIASES.get(v, v)
    if v not in q.allowed:
        for canon, lab in q.labels:
            plain = lab.lower().replace(" (netgrade label)", "").replace(" (label inferred)", "")
            if v in (lab.lower(), plain):
                v = canon
                break
    if v not in q.allowed:
        labels = "; item labels: " + ", ".join(f"{lab!r} = {c}" for c, lab in q.labels) if q.labels else ""
        raise SpecError(
            f"ICEMAN question {q.number} ({q.key}, {q.text!r}): invalid response {value!r}; "
            f"allowed: {', '.join(q.allowed)}{labels}"
        )
    return v


def credibility_level(value: Any) -> str:
    """Normalise an overall credibility level (high, moderate, low, very low)."""
    v = " ".join(str(value).strip().lower().replace("_", " ").split())
    if v not in CREDIBILITY:
        raise SpecError(f"unknown credibility level {value!r}; use one of: {', '.join(CREDIBILITY)}")
    return v


@dataclass(frozen=True)
class Answer:
    """One answer: the question, the response, who answered it and why.

    ``source`` is ``"data"`` (computed by :func:`iceman_from_data`), ``"spec"`` (read
    from an analysis spec) or ``"user"``; ``reason`` says why in words; ``numbers`` hold
    what a data rule used; ``by`` optionally names the person.  Construction validates
    the question and the response (SpecError names the allowed responses).
    """

    question: str
    response: str
    source: str = "spec"
    reason: str = ""
    numbers: dict = field(default_factory=dict)
    by: str = ""

    def __post_init__(self):
        q = question(self.question)
        object.__setattr__(self, "question", q.key)
        object.__setattr__(self, "response", response(q.key, self.response))
        src = str(self.source).strip().lower()
        if src not in SOURCES:
            raise SpecError(f"ICEMAN question {q.key}: unknown answer source {self.source!r}; use one of: {', '.join(SOURCES)}")
        object.__setattr__(self, "source", src)

    @property
    def label(self) -> str:
        return question(self.question).label(self.response)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "question": self.question,
                "response": self.response,
                "label": self.label,
                "source": self.source,
                "reason": self.reason,
                "numbers": self.numbers,
                "by": self.by,
            }
        )


# ---------------------------------------------------------------------------------
# answers from data


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _check_p(name: str, p: Any) -> float | None:
    if p is None:
        return None
    v = _finite(p)
    if v is None or not 0.0 <= v <= 1.0:
        raise SpecError(f"{name} must be a p-value between 0 and 1, not {p!r}")
    return v


def _check_count(name: str, n: Any) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or _finite(n) is None or float(n) != int(float(n)) or int(float(n)) < 0:
        raise SpecError(f"{name} must be a non-negative whole number, not {n!r}")
    return int(float(n))


def _comparison(value: Any) -> str | None:
    if value is None:
        return None
    v = str(value).strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {
        "within": "within-trial", "within-study": "within-trial", "within-trials": "within-trial",
        "between": "between-trial", "between-study": "between-trial", "between-trials": "between-trial",
        "meta-regression": "between-trial", "both": "mixed", "combined": "mixed",
    }  # fmt: skip
    v = aliases.get(v, v)
    if v not in COMPARISONS:
        raise SpecError(f"comparison must be one of {', '.join(COMPARISONS)}, not {value!r}")
    return v


def _chance(p: float, cut: Sequence[float]) -> tuple[str, str]:
    a, b, c = cut
    if p < a:
        return _DY, f"interaction p = {fmt_p(p)} < {a:g}"
    if p < b:
        return _PY, f"{a:g} <= interaction p = {fmt_p(p)} < {b:g}"
    if p < c:
        return _PN, f"{b:g} <= interaction p = {fmt_p(p)} < {c:g}"
    return _DN, f"interaction p = {fmt_p(p)} >= {c:g}"


def _level_value(obj: Any, names: Sequence[str]) -> Any:
    for n in names:
        if isinstance(obj, Mapping):
            if n in obj:
                return obj[n]
        elif hasattr(obj, n):
            return getattr(obj, n)
    return None


def _levels(levels: Any) -> list[dict]:
    """Normalise subgroup levels to dicts with name, estimate, se, ci_low, ci_high, k."""
    if levels is None:
        return []
    if isinstance(levels, Mapping):
        items = [dict(name=k, **(dict(v) if isinstance(v, Mapping) else {"estimate": v})) for k, v in levels.items()]
    else:
        items = list(levels)
    out = []
    for i, lv in enumerate(items):
        name = _level_value(lv, ("name", "level", "subgroup", "group"))
        est = _finite(_level_value(lv, ("estimate", "est", "yi", "effect")))
        se = _finite(_level_value(lv, ("se", "std_error", "sei")))
        lo = _finite(_level_value(lv, ("ci_low", "ci_lb", "lower")))
        hi = _finite(_level_value(lv, ("ci_high", "ci_ub", "upper")))
        k = _level_value(lv, ("k", "n_trials", "n_studies"))
        studies = _level_value(lv, ("studies",))
        if k is None and isinstance(studies, (list, tuple)):
            k = len(studies)
        if se is None and lo is not None and hi is not None:
            if hi < lo:
                raise SpecError(f"subgroup {name if name is not None else i + 1}: ci_high {hi} is below ci_low {lo}")
            se = (hi - lo) / (2.0 * _Z975)
        if se is not None and se <= 0:
            raise SpecError(f"subgroup {name if name is not None else i + 1}: standard error must be positive, got {se}")
        out.append(
            {
                "name": str(name) if name is not None else f"level {i + 1}",
                "estimate": est,
                "se": se,
                "ci_low": lo,
                "ci_high": hi,
                "k": _check_count(f"subgroup {name} number of trials", k) if k is not None else None,
            }
        )
    return out


def trend_test(estimates: Sequence[float], ses: Sequence[float], scores: Sequence[float] | None = None) -> dict:
    """Inverse-variance weighted linear trend of subgroup estimates on ordered scores.

    Weighted least squares with weights w = 1/se²: slope b = S_xy / S_xx with
    S_xx = sum w (x - x_w)², S_xy = sum w (x - x_w)(y - y_w), se(b) = 1/sqrt(S_xx),
    z = b / se(b), two-sided normal p (the meta-regression of the subgroup estimates on
    the level scores with known variances; e.g. Borenstein et al. 2009, Introduction to
    Meta-Analysis, ch. 20).  Scores default to 0, 1, 2, ...  Returns slope, se, z, pval
    and whether the estimates are monotone in the order given.
    """
    y = [float(v) for v in estimates]
    s = [float(v) for v in ses]
    if len(y) != len(s) or len(y) < 3:
        raise SpecError("a trend test needs estimates and standard errors for at least three ordered levels")
    x = [float(v) for v in scores] if scores is not None else [float(i) for i in range(len(y))]
    if len(x) != len(y):
        raise SpecError(f"trend test: {len(x)} scores for {len(y)} levels")
    if any(v <= 0 or not math.isfinite(v) for v in s):
        raise SpecError("trend test: standard errors must be positive and finite")
    w = [1.0 / v**2 for v in s]
    sw = sum(w)
    xw = sum(wi * xi for wi, xi in zip(w, x)) / sw
    yw = sum(wi * yi for wi, yi in zip(w, y)) / sw
    sxx = sum(wi * (xi - xw) ** 2 for wi, xi in zip(w, x))
    if sxx <= 0:
        raise SpecError("trend test: the level scores must not all be equal")
    sxy = sum(wi * (xi - xw) * (yi - yw) for wi, xi, yi in zip(w, x, y))
    slope = sxy / sxx
    se = 1.0 / math.sqrt(sxx)
    z = slope / se
    p = math.erfc(abs(z) / math.sqrt(2.0))
    order = [yi for _, yi in sorted(zip(x, y))]
    diffs = [b - a for a, b in zip(order, order[1:])]
    monotone = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
    return {"slope": slope, "se": se, "z": z, "pval": p, "monotone": monotone, "scores": x}


def iceman_from_data(
    *,
    interaction_p: float | None = None,
    comparison: str | None = None,
    n_trials: int | None = None,
    trials_per_subgroup: Mapping[str, int] | Sequence[int] | None = None,
    levels: Any = None,
    ordered: bool = False,
    scores: Sequence[float] | None = None,
    within_i2: float | None = None,
    within_het_p: float | None = None,
    n_trials_within: int | None = None,
    model: str | None = None,
    residual_i2: float | None = None,
    interaction_estimate: float | None = None,
    related_outcomes: Sequence[float] | bool | None = None,
    chance_cutpoints: Sequence[float] = CHANCE_CUTPOINTS,
) -> dict[str, Answer]:
    """Answer the questions that plain numbers answer; every answer has source "data".

    The inputs are numbers and labels only, so that the module does not depend on how
    they were computed (pairwise subgroup analysis, meta-regression, network
    meta-regression, IPD):

    ``interaction_p``
        p-value of the test for interaction (subgroup differences / meta-regression
        coefficient) -> item 5 (cut-points :data:`CHANCE_CUTPOINTS`, or
        ``chance_cutpoints=(a, b, c)``); p >= 0.1 also records that ICEMAN's scope is
        "a suggested effect modification (interaction ... p < 0.1)".
    ``comparison``
        ``"within-trial"``, ``"between-trial"`` or ``"mixed"`` -> item 1, and the
        applicability of items 2 and 3.
    ``n_trials``, ``trials_per_subgroup``
        total trials and trials per subgroup (mapping or sequence) -> item 3; also read
        from ``levels[i]["k"]``.
    ``within_i2``, ``within_het_p``, ``n_trials_within``
        I² (percent) and heterogeneity p of the within-trial interaction estimates, and
        the number of trials contributing them -> item 2.
    ``model``, ``residual_i2``
        ``"random"`` or ``"common"`` (aliases fixed / FE / EE / CE and metafor's tau²
        estimator names) and the residual I² -> item 7.
    ``levels``, ``ordered``, ``scores``
        subgroup estimates (mappings or objects with ``name``, ``estimate`` and ``se``
        or ``ci_low``/``ci_high``, optionally ``k``); recorded with item 5; with
        ``ordered=True`` and three or more levels -> the gradient consideration.
    ``related_outcomes``, ``interaction_estimate``
        interaction estimates for closely related outcomes (same sign convention as
        ``interaction_estimate``) or a plain True/False -> the related-outcomes
        consideration.

    Returns a dict keyed by question key; questions the data do not answer are absent.
    """
    out: dict[str, Answer] = {}
    cut = tuple(float(c) for c in chance_cutpoints)
    if len(cut) != 3 or not 0 < cut[0] < cut[1] < cut[2] <= 1:
        raise SpecError(f"chance_cutpoints must be three increasing p-values in (0, 1], got {tuple(chance_cutpoints)}")
    p = _check_p("interaction_p", interaction_p)
    comp = _comparison(comparison)
    n = _check_count("n_trials", n_trials)
    lv = _levels(levels)

    # item 1
    if comp is not None:
        resp, why = {
            "within-trial": (_DY, "completely based on within-trial comparisons, so free of study-level confounding"),
            "mixed": (_PN, "within- and between-trial information combined, so partly open to study-level confounding"),
            "between-trial": (_DN, "completely based on between-trial comparisons (subgroups of trials / meta-regression), at high risk of study-level confounding"),
        }[comp]  # fmt: skip
        out["within_trial"] = Answer("within_trial", resp, "data", f"comparison = {comp}: {why}", {"comparison": comp})

    # item 2
    i2 = _finite(within_i2)
    if within_i2 is not None and (i2 is None or not 0 <= i2 <= 100):
        raise SpecError(f"within_i2 must be I² in percent (0 to 100), not {within_i2!r}")
    hp = _check_p("within_het_p", within_het_p)
    nw = _check_count("n_trials_within", n_trials_within)
    if comp == "between-trial":
        out["similar_across_trials"] = Answer(
            "similar_across_trials", NOT_APPLICABLE, "data", "between-trial comparison: no within-trial estimates to compare", {"comparison": comp}
        )
    elif comp is not None:
        nums = {"within_i2": i2, "within_het_p": hp, "n_trials_within": nw}
        k_within = nw if nw is not None else (n if comp == "within-trial" else None)
        if k_within == 1:
            out["similar_across_trials"] = Answer(
                "similar_across_trials", _PN, "data", "one trial gives the within-trial estimate: similarity from trial to trial cannot be judged (unclear)", nums
            )
        elif i2 is not None:
            resp = _DY if i2 < 25 else _PY if i2 < 50 else _PN if i2 < 75 else _DN
            why = f"I² of the within-trial interaction estimates = {i2:.1f}% ({'<25' if i2 < 25 else '<50' if i2 < 50 else '<75' if i2 < 75 else '>=75'}%, Higgins 2003 benchmarks)"
            if hp is not None and hp < 0.10 and _RANK[resp] < _RANK[_PN]:
                resp = _PN
                why += f"; heterogeneity p = {fmt_p(hp)} < 0.10 caps the answer at probably no"
            elif hp is not None:
                why += f"; heterogeneity p = {fmt_p(hp)}"
            out["similar_across_trials"] = Answer("similar_across_trials", resp, "data", why, nums)
        elif hp is not None:
            resp = _DN if hp < 0.01 else _PN if hp < 0.10 else _PY
            out["similar_across_trials"] = Answer(
                "similar_across_trials", resp, "data",
                f"heterogeneity p of the within-trial interaction estimates = {fmt_p(hp)} (no I² given; a non-significant Q test alone gives at most probably yes)",
                nums,
            )  # fmt: skip

    # item 3
    per: list[int] = []
    if trials_per_subgroup is not None:
        vals = trials_per_subgroup.values() if isinstance(trials_per_subgroup, Mapping) else trials_per_subgroup
        per = [_check_count("trials_per_subgroup", v) for v in vals]
    elif lv and all(x["k"] is not None for x in lv):
        per = [x["k"] for x in lv]
    if n is None and per and comp == "between-trial":
        n = sum(per)
    if comp == "within-trial":
        out["number_of_trials"] = Answer("number_of_trials", NOT_APPLICABLE, "data", "within-trial comparison: the number of trials compared between subgroups does not apply", {"comparison": comp})
    elif comp is not None and n is not None:
        m = min(per) if per else None
        nums = {"n_trials": n, "min_trials_per_subgroup": m, "trials_per_subgroup": per or None}
        mtxt = f", smallest subgroup {m}" if m is not None else ""
        if n < 5 or (m is not None and m < 2):
            resp, why = _DN, "fewer than 5 trials or a subgroup with fewer than 2"
        elif n < 10 or (m is not None and m < 3):
            resp, why = _PN, "fewer than 10 trials (Cochrane Handbook 10.11.5.1) or a subgroup with fewer than 3"
        elif n < 20 or (m is not None and m < 5):
            resp, why = _PY, "10 to 19 trials, or a subgroup with fewer than 5"
        else:
            resp, why = _DY, "20 or more trials and at least 5 in every subgroup"
        out["number_of_trials"] = Answer("number_of_trials", resp, "data", f"{n} trials{mtxt}: {why}", nums)

    # item 5 (with the subgroup estimates as context)
    if p is not None:
        resp, why = _chance(p, cut)
        nums: dict[str, Any] = {"interaction_p": p, "cutpoints": list(cut)}
        if lv:
            nums["levels"] = lv
        shown = [x for x in lv if x["estimate"] is not None]
        if shown:
            why += "; subgroup estimates: " + "; ".join(
                f"{x['name']} {fmt(x['estimate'], 3)}"
                + (f" [{fmt(x['ci_low'], 3)}, {fmt(x['ci_high'], 3)}]" if x["ci_low"] is not None else "")
                for x in shown
            )
        if p >= SCOPE_P:
            why += f"; p >= {SCOPE_P:g}: outside ICEMAN's scope (a suggested effect modification, p < 0.1)"
        out["chance"] = Answer("chance", resp, "data", why, nums)

    # item 7
    if model is not None:
        mod = str(model).strip().lower()
        common = mod in ("common", "fixed", "fe", "ee", "ce", "common-effect", "fixed-effect", "common effect", "fixed effect")
        random_ = mod in ("random", "random-effects", "random effects", "re") or mod.upper() in (
            "DL", "HE", "HS", "HSK", "SJ", "ML", "REML", "EB", "PM", "PMM",
        )  # fmt: skip
        if not (common or random_):
            raise SpecError(f"model must be 'random' or 'common' (or a tau² estimator name), not {model!r}")
        ri2 = _finite(residual_i2)
        nums = {"model": "random" if random_ else "common", "residual_i2": ri2}
        if random_:
            out["random_effects"] = Answer("random_effects", _DY, "data", f"random-effects model ({model})", nums)
        elif ri2 is None:
            out["random_effects"] = Answer("random_effects", _PN, "data", "common-effect model; residual heterogeneity not given (unclear whether it matters)", nums)
        elif ri2 <= 0:
            out["random_effects"] = Answer("random_effects", _PY, "data", "common-effect model, but residual I² = 0%", nums)
        else:
            out["random_effects"] = Answer("random_effects", _DN, "data", f"common-effect model despite residual I² = {ri2:.1f}%: the interaction p is too small", nums)

    # additional considerations: gradient
    if ordered and lv:
        usable = [x for x in lv if x["estimate"] is not None and x["se"] is not None]
        if len(lv) < 3:
            out["gradient"] = Answer("gradient", NOT_APPLICABLE, "data", f"only {len(lv)} ordered levels: a gradient needs at least three", {"n_levels": len(lv)})
        elif len(usable) == len(lv):
            t = trend_test([x["estimate"] for x in usable], [x["se"] for x in usable], scores)
            sig = t["pval"] < 0.05
            resp = _DY if (sig and t["monotone"]) else _PY if (sig or t["monotone"]) else _PN
            why = (
                f"weighted linear trend over {len(usable)} ordered levels: slope {fmt(t['slope'], 4)} "
                f"(se {fmt(t['se'], 4)}), p = {fmt_p(t['pval'])}; estimates {'' if t['monotone'] else 'not '}monotone"
            )
            out["gradient"] = Answer("gradient", resp, "data", why, {k: t[k] for k in ("slope", "se", "z", "pval", "monotone", "scores")})

    # additional considerations: related outcomes
    if related_outcomes is not None:
        if isinstance(related_outcomes, bool):
            out["related_outcomes"] = Answer(
                "related_outcomes", _PY if related_outcomes else _PN, "data",
                f"stated {'consistent' if related_outcomes else 'not consistent'} across related outcomes",
                {"related_outcomes": related_outcomes},
            )  # fmt: skip
        else:
            main = _finite(interaction_estimate)
            if main is None or main == 0:
                raise SpecError("related_outcomes as estimates needs a non-zero interaction_estimate to compare signs with")
            rel = [_finite(v) for v in related_outcomes]
            if not rel or any(v is None for v in rel):
                raise SpecError("related_outcomes must be finite interaction estimates (or True/False)")
            same = sum(1 for v in rel if v * main > 0)
            share = same / len(rel)
            resp = (_DY if len(rel) >= 2 else _PY) if share == 1 else _PN if share >= 0.5 else _DN
            out["related_outcomes"] = Answer(
                "related_outcomes", resp, "data",
                f"{same} of {len(rel)} related outcomes show an interaction in the same direction",
                {"interaction_estimate": main, "related": rel, "same_direction": same},
            )  # fmt: skip
    return out


_P_NAMES = ("interaction_p", "pval_interaction", "p_interaction", "interaction_pval", "q_between_pval", "qm_pval", "pval")


def _get(obj: Any, names: Sequence[str]) -> Any:
    for n in names:
        if isinstance(obj, Mapping):
            if n in obj and obj[n] is not None:
                return obj[n]
        else:
            v = getattr(obj, n, None)
            if v is not None:
                return v
    return None


def iceman_from_result(result: Any, **overrides: Any) -> dict[str, Answer]:
    """:func:`iceman_from_data` fed from any result object or mapping (duck-typed).

    Reads, by attribute or key, the first present of: interaction p (``interaction_p``,
    ``pval_interaction``, ``p_interaction``, ``q_between_pval``, ``qm_pval``, ``pval``;
    an array such as metafor-style ``qm_pval`` is not expected -- pass a scalar),
    ``comparison``, ``n_trials`` (or ``k``), ``levels`` (or netgrade's
    :class:`~netgrade.pairwise.subgroup.SubgroupResult` ``groups`` + ``fits``),
    ``ordered``, ``scores``, ``within_i2``, ``within_het_p``, ``n_trials_within``,
    ``model`` (or ``method``: "FE" is common effect, other tau² estimators random),
    ``residual_i2``, ``interaction_estimate``, ``related_outcomes``.  Keyword arguments
    override what is read.  A level's number of trials is read from ``k`` (or
    ``n_trials``) or the length of its ``studies``.

    For netgrade's subgroup network meta-analysis (``SubgroupNMAResult``) the global
    ``q_between_pval`` is read; to assess one treatment's interaction pass its p-value,
    e.g. ``iceman_from_result(res, interaction_p=res.tests[0].pval)``.  A subgroup
    analysis of trial-level characteristics is a between-trial comparison, but the
    object cannot say so: pass ``comparison=`` (otherwise item 1 stays unanswered).
    """
    args: dict[str, Any] = {
        "interaction_p": _get(result, _P_NAMES),
        "comparison": _get(result, ("comparison",)),
        "n_trials": _get(result, ("n_trials", "k", "n_studies")),
        "ordered": bool(_get(result, ("ordered",)) or False),
        "scores": _get(result, ("scores",)),
        "within_i2": _get(result, ("within_i2",)),
        "within_het_p": _get(result, ("within_het_p",)),
        "n_trials_within": _get(result, ("n_trials_within",)),
        "model": _get(result, ("model", "method")),
        "residual_i2": _get(result, ("residual_i2",)),
        "interaction_estimate": _get(result, ("interaction_estimate",)),
        "related_outcomes": _get(result, ("related_outcomes",)),
        "trials_per_subgroup": _get(result, ("trials_per_subgroup",)),
    }
    levels = _get(result, ("levels",))
    if levels is None:
        groups, fits = _get(result, ("groups",)), _get(result, ("fits",))
        if groups is not None and fits is not None:
            levels = [
                {"name": g, "estimate": getattr(f, "estimate", None), "se": getattr(f, "se", None),
                 "ci_low": getattr(f, "ci_low", None), "ci_high": getattr(f, "ci_high", None), "k": getattr(f, "k", None)}
                for g, f in zip(groups, fits)
            ]  # fmt: skip
            if args["n_trials"] is None and all(getattr(f, "k", None) is not None for f in fits):
                args["n_trials"] = sum(int(f.k) for f in fits)
    args["levels"] = levels
    if isinstance(args["interaction_p"], (list, tuple)) or hasattr(args["interaction_p"], "shape"):
        raise SpecError("the result's interaction p-value is not a single number; pass interaction_p= explicitly")
    args.update(overrides)
    return iceman_from_data(**args)


# ---------------------------------------------------------------------------------
# answers from a spec

#: Spec keys that are facts (the rest of a spec mapping must be question keys).
SPEC_KEYS = (
    "prespecified", "direction", "protocol", "rationale", "prior_evidence",
    "n_modifiers_tested", "multiplicity_adjusted", "continuous_modifier", "cut_points",
    "reasons", "by",
)  # fmt: skip
_DIRECTIONS = ("correct", "opposite", "none", "unclear")
_RATIONALES = ("strong", "weak", "none", "implausible")
_PRIOR = ("supports", "none", "conflicts")
_CUTS = ("none", "established", "arbitrary", "data-driven")


def _choice(name: str, value: Any, allowed: Sequence[str], aliases: Mapping[str, str] = {}) -> str:
    v = str(value).strip().lower().replace("_", "-")
    v = aliases.get(v, v)
    if v not in allowed:
        raise SpecError(f"ICEMAN spec key {name!r}: invalid value {value!r}; allowed: {', '.join(allowed)}")
    return v


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise SpecError(f"ICEMAN spec key {name!r} must be true or false, not {value!r}")


def answers_from_spec(spec: Mapping[str, Any] | None, source: str = "spec") -> dict[str, Answer]:
    """Answers from a spec mapping (a TOML table or dict), validated.

    Two kinds of keys may be mixed:

    * a question key (:data:`QUESTIONS`, e.g. ``few_modifiers``) with a response, or a
      table ``{response = "...", reason = "..."}``: the answer as given;
    * facts (:data:`SPEC_KEYS`) from which answers are derived by the rules of the
      module docstring:

      - ``prespecified`` (bool), ``direction`` (the hypothesised direction compared with
        the observed: correct / opposite / none / unclear), ``protocol`` (bool: a prior
        protocol or analysis plan states the hypothesis), ``rationale`` (strong / weak /
        none / implausible) -> item 4: opposite direction, post hoc, or implausible
        rationale -> definitely no; correct direction with protocol -> definitely yes;
        correct without protocol -> probably yes; otherwise probably no (vague or
        unclear);
      - ``n_modifiers_tested`` (int), ``multiplicity_adjusted`` (bool) -> item 6;
      - ``continuous_modifier`` (bool), ``cut_points`` (none / established / arbitrary /
        data-driven) -> item 8;
      - ``prior_evidence`` (supports / none / conflicts, or bool) with ``rationale`` ->
        the prior-evidence consideration;
      - ``reasons`` (question key -> text) adds the spec author's reason to an answer;
        ``by`` names who answered.

    A question answered directly wins over the same question derived from facts.
    Unknown keys and invalid values raise SpecError naming what is allowed.
    """
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise SpecError(f"an ICEMAN spec must be a mapping (TOML table), not {type(spec).__name__}")
    by = str(spec.get("by", "") or "")
    reasons = spec.get("reasons", {}) or {}
    if not isinstance(reasons, Mapping):
        raise SpecError("ICEMAN spec key 'reasons' must map question keys to text")
    reasons = {question(k).key: str(v) for k, v in reasons.items()}
    out: dict[str, Answer] = {}

    def add(key: str, resp: str, why: str, facts: dict) -> None:
        extra = reasons.get(key)
        text = why + (f"; {extra}" if extra else "")
        out[key] = Answer(key, resp, source, text, facts, by)

    # item 4
    pre = _bool("prespecified", spec["prespecified"]) if spec.get("prespecified") is not None else None
    prot = _bool("protocol", spec["protocol"]) if spec.get("protocol") is not None else None
    direc = _choice("direction", spec["direction"], _DIRECTIONS, {"predicted": "correct", "same": "correct", "wrong": "opposite", "reversed": "opposite", "not-stated": "none"}) if spec.get("direction") is not None else None  # fmt: skip
    rat = _choice("rationale", spec["rationale"], _RATIONALES) if spec.get("rationale") is not None else None
    if pre is not None or direc is not None or rat == "implausible":
        facts = {"prespecified": pre, "direction": direc, "protocol": prot, "rationale": rat}
        if direc == "opposite":
            add("direction_a_priori", _DN, "results inconsistent with the hypothesised direction", facts)
        elif rat == "implausible":
            add("direction_a_priori", _DN, "biologically very implausible", facts)
        elif pre is False:
            add("direction_a_priori", _DN, "clearly post hoc", facts)
        elif direc == "correct" and prot:
            add("direction_a_priori", _DY, "prior protocol states the hypothesis with the correct direction", facts)
        elif direc == "correct":
            add("direction_a_priori", _PY, "a priori hypothesis with correct direction, no protocol available", facts)
        else:
            add("direction_a_priori", _PN, "vague hypothesis or hypothesised direction unclear", facts)

    # item 6
    nmod = spec.get("n_modifiers_tested")
    adj = _bool("multiplicity_adjusted", spec["multiplicity_adjusted"]) if spec.get("multiplicity_adjusted") is not None else None
    if nmod is not None or adj:
        nm = _check_count("ICEMAN spec key 'n_modifiers_tested'", nmod)
        if nm == 0:
            raise SpecError("ICEMAN spec key 'n_modifiers_tested' must be at least 1 (the modifier assessed)")
        facts = {"n_modifiers_tested": nm, "multiplicity_adjusted": adj}
        if adj:
            add("few_modifiers", _DY, "the number of modifiers tested was accounted for (multiplicity adjustment)", facts)
        elif nm == 1:
            add("few_modifiers", _DY, "a single effect modifier tested", facts)
        elif nm <= 3:
            add("few_modifiers", _PY, f"{nm} effect modifiers tested (a small number)", facts)
        elif nm <= 10:
            add("few_modifiers", _PN, f"{nm} effect modifiers tested without adjustment", facts)
        else:
            add("few_modifiers", _DN, f"{nm} effect modifiers tested without adjustment", facts)

    # item 8
    cont = _bool("continuous_modifier", spec["continuous_modifier"]) if spec.get("continuous_modifier") is not None else None
    cuts = _choice("cut_points", spec["cut_points"], _CUTS, {"continuous": "none", "data-dependent": "data-driven", "multiple": "data-driven", "optimal": "data-driven"}) if spec.get("cut_points") is not None else None  # fmt: skip
    if cont is False:
        add("cut_points", NOT_APPLICABLE, "the effect modifier is not continuous", {"continuous_modifier": False})
    elif cuts is not None:
        facts = {"continuous_modifier": cont, "cut_points": cuts}
        resp, why = {
            "none": (_DY, "analysed as a continuous variable, no cut points"),
            "established": (_PY, "established (external, pre-specified) cut points"),
            "arbitrary": (_PN, "arbitrary cut points"),
            "data-driven": (_DN, "data-driven cut points (several tried or chosen on the results)"),
        }[cuts]  # fmt: skip
        add("cut_points", resp, why, facts)

    # additional consideration: prior evidence / rationale
    prior = spec.get("prior_evidence")
    if prior is not None:
        prior = ("supports" if prior else "none") if isinstance(prior, bool) else _choice(
            "prior_evidence", prior, _PRIOR, {"consistent": "supports", "yes": "supports", "contradicts": "conflicts", "no": "none"}
        )  # fmt: skip
    if prior is not None or rat is not None:
        facts = {"prior_evidence": prior, "rationale": rat}
        if prior == "conflicts" or rat == "implausible":
            add("prior_evidence", _DN, "prior evidence conflicts or the rationale is implausible", facts)
        elif prior == "supports" and rat == "strong":
            add("prior_evidence", _DY, "supported by prior evidence and a strong rationale", facts)
        elif prior == "supports" or rat == "strong":
            add("prior_evidence", _PY, "supported by prior evidence" if prior == "supports" else "strong biological rationale", facts)
        else:
            add("prior_evidence", _PN, "no supporting prior evidence or rationale", facts)

    # direct answers (win over derived ones)
    for key, val in spec.items():
        if key in SPEC_KEYS:
            continue
        q = question(key) if key in _BY_KEY else None
        if q is None:
            raise SpecError(
                f"unknown ICEMAN spec key {key!r}; use a question key ({', '.join(_BY_KEY)}) "
                f"or a fact ({', '.join(SPEC_KEYS)})"
            )
        if isinstance(val, Mapping):
            bad = set(val) - {"response", "reason", "by"}
            if bad or "response" not in val:
                raise SpecError(f"ICEMAN question {q.key}: a table needs 'response' (and optionally 'reason', 'by'); got {sorted(val)}")
            resp_, why = val["response"], str(val.get("reason", "") or "")
            who = str(val.get("by", by) or "")
        else:
            resp_, why, who = val, "", by
        extra = reasons.get(q.key)
        text = why or "answered in the spec"
        out[q.key] = Answer(q.key, resp_, source, text + (f"; {extra}" if extra else ""), {}, who)
    return out


# ---------------------------------------------------------------------------------
# the assessment


@dataclass(frozen=True)
class IcemanItem:
    """One question in an assessment: its answer (None if unanswered) and ceiling."""

    number: int
    question: str
    text: str
    core: bool
    response: str | None
    label: str
    source: str | None
    reason: str
    ceiling: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return jsonable({f: getattr(self, f) for f in self.__dataclass_fields__})


@dataclass(frozen=True, eq=False)
class IcemanAssessment(ResultMixin):
    """An ICEMAN assessment: every question with its answer and source, the computed
    overall credibility with the rule that produced it, and any override.

    ``credibility`` is the final rating (the override's level if there is one);
    ``computed`` is always the rule's rating; ``rule`` lists, step by step, why;
    ``unanswered`` names applicable core questions with no answer (each counted as
    "probably no or unclear").
    """

    items: tuple[IcemanItem, ...]
    computed: str
    rule: tuple[str, ...]
    unanswered: tuple[str, ...]
    override: Override | None = None
    warnings: tuple[str, ...] = ()
    instrument: str = "ICEMAN for meta-analyses (Schandelmaier et al. 2020, CMAJ 192:E901)"

    @property
    def credibility(self) -> str:
        return self.override.level if self.override is not None else self.computed

    def item(self, key: str) -> IcemanItem:
        k = question(key).key
        return next(i for i in self.items if i.question == k)

    def answer(self, key: str) -> str | None:
        return self.item(key).response

    def summary(self) -> str:
        head = f"{self.instrument}\nCredibility of the effect modification: {self.credibility.upper()}"
        if self.override is not None:
            head += f" (override of computed {self.computed!r}: {self.override.justification}"
            head += f"; by {self.override.by})" if self.override.by else ")"
        else:
            head += " (computed)"
        lines = [head, ""]
        for it in self.items:
            if it.response is None and not it.core:
                continue
            ans = "UNANSWERED (counted as probably no or unclear)" if it.response is None else it.response
            if it.response is not None and it.label != it.response:
                ans += f" -- {it.label}"
            src = f" [{it.source}]" if it.source else ""
            lines.append(f"{it.number}. {it.text}")
            lines.append(f"   {ans}{src}{': ' + it.reason if it.reason else ''}")
        lines += ["", "Rule:"] + [f"  - {r}" for r in self.rule]
        if self.unanswered:
            lines.append("Unanswered: " + ", ".join(self.unanswered))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {
                "number": it.number,
                "question": it.question,
                "text": it.text,
                "core": it.core,
                "response": it.response,
                "label": it.label,
                "source": it.source,
                "reason": it.reason,
                "ceiling": it.ceiling,
            }
            for it in self.items
        ]
        return pd.DataFrame(rows).set_index("number")

    def to_dict(self) -> dict:
        return jsonable(
            {
                "instrument": self.instrument,
                "credibility": self.credibility,
                "computed": self.computed,
                "rule": list(self.rule),
                "unanswered": list(self.unanswered),
                "override": None if self.override is None else self.override.to_dict(),
                "warnings": list(self.warnings),
                "items": [it.to_dict() for it in self.items],
            }
        )


def _as_answers(obj: Any, what: str) -> dict[str, Answer]:
    if obj is None:
        return {}
    if isinstance(obj, Answer):
        return {obj.question: obj}
    if isinstance(obj, Mapping):
        vals = list(obj.values())
        if vals and all(isinstance(v, Answer) for v in vals):
            out = {}
            for k, v in obj.items():
                if question(k).key != v.question:
                    raise SpecError(f"{what}: key {k!r} holds an answer to {v.question!r}")
                out[v.question] = v
            return out
        if any(isinstance(v, Answer) for v in vals):
            raise SpecError(f"{what}: mix of Answer objects and plain values; use one or the other")
        return answers_from_spec(obj)
    out = {}
    for a in obj:
        if not isinstance(a, Answer):
            raise SpecError(f"{what}: expected Answer objects, got {type(a).__name__}")
        if a.question in out:
            raise SpecError(f"{what}: question {a.question!r} answered twice")
        out[a.question] = a
    return out


def _as_override(override: Any) -> Override | None:
    if override is None:
        return None
    if isinstance(override, Override):
        ov = override
    elif isinstance(override, Mapping):
        bad = set(override) - {"level", "justification", "by"}
        if bad or "level" not in override:
            raise SpecError(f"an ICEMAN override needs 'level' and 'justification' (optionally 'by'); got {sorted(override)}")
        ov = Override(str(override["level"]), str(override.get("justification", "") or ""), str(override.get("by", "") or ""))
    else:
        raise SpecError(f"an ICEMAN override must be an Override or a mapping, not {type(override).__name__}")
    lvl = credibility_level(ov.level)
    return Override(lvl, ov.justification, ov.by) if lvl != ov.level else ov


def _lower(level: str, steps: int = 1) -> str:
    return CREDIBILITY[min(len(CREDIBILITY) - 1, _LEVEL[level] + steps)]


def _worse(a: str, b: str) -> str:
    return a if _LEVEL[a] >= _LEVEL[b] else b


def assess_credibility(
    data_answers: Mapping[str, Answer] | Iterable[Answer] | None = None,
    spec_answers: Mapping[str, Any] | Iterable[Answer] | None = None,
    override: Override | Mapping[str, Any] | None = None,
) -> IcemanAssessment:
    """Combine data and spec answers into an overall ICEMAN credibility rating.

    ``data_answers`` usually come from :func:`iceman_from_data` /
    :func:`iceman_from_result`; ``spec_answers`` may be Answer objects or a spec
    mapping (see :func:`answers_from_spec`).  The rating follows the default rule of the
    module docstring (ceilings per answer, unanswered = probably no or unclear, one
    level lower when three or more core questions are answered probably no or worse).
    ``override`` (an :class:`~netgrade.certainty.types.Override` or a mapping with
    ``level`` and ``justification``) replaces the final rating; the computed one is
    kept, and an override without a justification raises SpecError.
    """
    data = _as_answers(data_answers, "data answers")
    spec = _as_answers(spec_answers, "spec answers")
    ov = _as_override(override)
    warnings: list[str] = []

    merged: dict[str, Answer] = {}
    for key in [q.key for q in QUESTIONS]:
        a, b = data.get(key), spec.get(key)
        if a is not None and b is not None and a.response != b.response:
            # keep the less favourable; an applicable answer is less favourable than NA
            def badness(x: Answer) -> int:
                return -1 if x.response == NOT_APPLICABLE else _RANK[x.response]

            keep = a if badness(a) >= badness(b) else b
            warnings.append(
                f"question {key}: {a.source} answered {a.response!r} and {b.source} answered {b.response!r}; "
                f"the less favourable ({keep.source}: {keep.response!r}) is kept"
            )
            merged[key] = keep
        elif a is not None or b is not None:
            merged[key] = a if a is not None else b  # type: ignore[assignment]

    rule: list[str] = []
    items: list[IcemanItem] = []
    unanswered: list[str] = []
    ceilings: dict[str, str] = {}
    negatives: list[str] = []

    q3 = merged.get("number_of_trials")
    for q in QUESTIONS:
        a = merged.get(q.key)
        if a is None:
            if q.core:
                unanswered.append(q.key)
                negatives.append(q.key)
                ceil = CEILINGS[q.key][_PN]
            else:
                ceil = "high"
            items.append(IcemanItem(q.number, q.key, q.text, q.core, None, "unanswered", None, "", ceil))
            ceilings[q.key] = ceil
            continue
        ceil = CEILINGS[q.key][a.response]
        if q.key == "within_trial" and a.response == _DN and q3 is not None and q3.response in (_DY, _PY):
            ceil = "moderate"
            rule.append("between-trial comparison with a large or rather large number of trials: maximum moderate")
        if q.core and a.response in (_PN, _DN):
            negatives.append(q.key)
        ceilings[q.key] = ceil
        items.append(IcemanItem(q.number, q.key, q.text, q.core, a.response, a.label, a.source, a.reason, ceil, a.numbers))

    chance = merged.get("chance")
    p = chance.numbers.get("interaction_p") if chance is not None else None
    if p is not None and p >= SCOPE_P:
        warnings.append(
            f"interaction p = {fmt_p(p)} >= {SCOPE_P:g}: ICEMAN was developed for a suggested effect modification "
            "(p < 0.1) and does not apply when there is none; credibility is low at best"
        )
    if unanswered:
        warnings.append(
            "unanswered ICEMAN questions (counted as 'probably no or unclear'): "
            + ", ".join(f"{question(k).number} {k}" for k in unanswered)
        )

    level = "high"
    for it in items:
        if _LEVEL[it.ceiling] > _LEVEL["high"]:
            why = "unanswered" if it.response is None else it.response
            rule.append(f"item {it.number} ({it.question}) {why}: maximum {it.ceiling}")
        level = _worse(level, it.ceiling)
    if not rule:
        rule.append("no answer limits the rating: maximum high")
    rule.append(f"lowest ceiling: {level}")
    if len(negatives) >= 3:
        new = _lower(level)
        rule.append(
            f"{len(negatives)} core questions answered probably no, definitely no or unanswered "
            f"({', '.join(negatives)}): one level lower, {level} -> {new}"
        )
        level = new
    rule.append(f"computed credibility: {level}")
    return IcemanAssessment(
        items=tuple(items),
        computed=level,
        rule=tuple(rule),
        unanswered=tuple(unanswered),
        override=ov,
        warnings=tuple(warnings),
    )
