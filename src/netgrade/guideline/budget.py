"""Budget impact: what a procedure costs a health system each year, and what a
recommendation against it would change.

The calculation is the simple one that budget-impact analyses start from (Sullivan et al.
2014, "Budget impact analysis -- principles of good practice: report of the ISPOR 2012
Budget Impact Analysis Good Practice II Task Force", Value Health 17:5-14): annual spend
= annual volume x unit cost, and the change under the recommendation = - share of the
current use that stops x annual spend.  Its weak point is the unit cost, which depends on
who pays and in which setting; the result therefore keeps one scenario per unit-cost
assumption, each with a low / base / high range, and a sensitivity table that shows how
the headline figure moves with the unit cost assumed.  Resource use enters GRADE's EtD
framework as "resources required" (Alonso-Coello et al. 2016, BMJ 353:i2016, i2089).

The spine example (BMJ 2025 Rapid Recommendation and the debate that followed): about
9 million epidural injections a year in the United States; unit costs of about $150-180
(physician fee), $800 (Medicare payment to a hospital outpatient department), $1,000
(the editorial's average) and $2,000-3,800 (hospital facility bills); at $1,000 the
headline is about $9 billion a year.

Ranges.  A number is a point value; ``(low, high)`` a range whose base is the midpoint;
``(low, base, high)`` or ``{low, base, high}`` all three.  All inputs are non-negative, so
the extremes of a product are the products of the extremes: spend ranges from
volume_low x cost_low to volume_high x cost_high, and the change combines them with the
adoption range in the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._result import ResultMixin, jsonable
from ..errors import SpecError

__all__ = [
    "Range",
    "CostScenario",
    "BudgetImpact",
    "budget_impact",
    "budget_figure",
    "fmt_money",
    "SPINE_UNIT_COSTS",
    "SPINE_EPIDURAL_VOLUME",
]

#: About 9 million epidural injections a year in the United States (BMJ editorial, 2025).
SPINE_EPIDURAL_VOLUME = 9_000_000
#: Unit costs quoted in the debate (US dollars per epidural injection), in increasing order.
SPINE_UNIT_COSTS: dict[str, float] = {
    "physician fee": 150.0,
    "hospital outpatient payment (Medicare)": 800.0,
    "editorial's average": 1000.0,
    "hospital facility bill": 3800.0,
}

_SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}


def fmt_money(x: float, currency: str = "USD") -> str:
    """'$9.0 billion', '$1.35 billion', '$720 million', '$1,000', '$150' (typographic minus)."""
    x = float(x)
    if not math.isfinite(x):
        return "NA"
    sym = _SYMBOLS.get(currency.upper(), f"{currency} ")
    sign = "\u2212" if x < 0 else ""
    a = abs(x)
    for scale, word in ((1e9, "billion"), (1e6, "million")):
        if a >= scale * 0.9995:
            v = a / scale
            if v < 10:
                s = f"{v:.2f}"
                s = s[:-1] if s.endswith("0") else s
            elif v < 100:
                s = f"{v:.1f}"
            else:
                s = f"{v:,.0f}"
            return f"{sign}{sym}{s} {word}"
    s = f"{a:,.0f}" if a >= 100 or a == int(a) else f"{a:,.2f}"
    return f"{sign}{sym}{s}"


@dataclass(frozen=True)
class Range:
    """A low / base / high triple (low <= base <= high)."""

    low: float
    base: float
    high: float

    @classmethod
    def of(cls, value: Any, where: str, upper: float | None = None) -> "Range":
        if isinstance(value, Range):
            vals = (value.low, value.base, value.high)
        elif isinstance(value, Mapping):
            unknown = set(value) - {"low", "base", "high"}
            if unknown or "base" not in value and not {"low", "high"} <= set(value):
                raise SpecError(f"{where}: give low, base and high (or low and high), got keys {sorted(value)}")
            lo, hi = value.get("low", value.get("base")), value.get("high", value.get("base"))
            base = value.get("base")
            if base is None:
                base = (float(lo) + float(hi)) / 2.0
            vals = (lo, base, hi)
        elif isinstance(value, (tuple, list, np.ndarray)):
            v = list(value)
            if len(v) == 2:
                vals = (v[0], (float(v[0]) + float(v[1])) / 2.0, v[1])
            elif len(v) == 3:
                vals = tuple(v)
            else:
                raise SpecError(f"{where}: give a number, (low, high) or (low, base, high); got {len(v)} values")
        else:
            vals = (value, value, value)
        try:
            lo, base, hi = (float(x) for x in vals)
        except (TypeError, ValueError):
            raise SpecError(f"{where}: expected numbers, got {value!r}") from None
        if not all(math.isfinite(x) for x in (lo, base, hi)):
            raise SpecError(f"{where}: values must be finite, got {value!r}")
        if lo < 0:
            raise SpecError(f"{where}: values must not be negative, got {value!r}")
        if not lo <= base <= hi:
            raise SpecError(f"{where}: need low <= base <= high, got {lo}, {base}, {hi}")
        if upper is not None and hi > upper:
            raise SpecError(f"{where}: values must not exceed {upper}, got {value!r}")
        return cls(lo, base, hi)

    @property
    def is_point(self) -> bool:
        return self.low == self.base == self.high

    def __mul__(self, other: "Range") -> "Range":
        return Range(self.low * other.low, self.base * other.base, self.high * other.high)

    def to_dict(self) -> dict:
        return {"low": self.low, "base": self.base, "high": self.high}


@dataclass(frozen=True)
class CostScenario:
    """One unit-cost assumption: the unit cost, annual spend, the change under the
    recommendation (negative: money no longer spent) and the spend afterwards."""

    label: str
    unit_cost: Range
    spend: Range
    change: Range
    spend_after: Range
    source: str = ""

    def to_dict(self) -> dict:
        return jsonable(
            {
                "label": self.label,
                "unit_cost": self.unit_cost.to_dict(),
                "spend": self.spend.to_dict(),
                "change": self.change.to_dict(),
                "spend_after": self.spend_after.to_dict(),
                "source": self.source,
            }
        )


@dataclass(frozen=True)
class BudgetImpact(ResultMixin):
    """Annual spend and its change under a recommendation, per unit-cost scenario.

    ``headline`` is the label of the scenario quoted as the headline figure (e.g. the
    editorial's $1,000 average); :meth:`sensitivity` shows how that figure moves with the
    unit cost assumed.
    """

    volume: Range
    adoption: Range
    scenarios: tuple[CostScenario, ...]
    headline: str
    currency: str = "USD"
    item: str = "procedure"
    setting: str = ""
    sources: tuple[str, ...] = ()

    @property
    def scenario(self) -> dict[str, CostScenario]:
        return {s.label: s for s in self.scenarios}

    @property
    def headline_scenario(self) -> CostScenario:
        return self.scenario[self.headline]

    @property
    def headline_spend(self) -> float:
        """Annual spend at base volume and the headline unit cost."""
        return self.headline_scenario.spend.base

    @property
    def headline_change(self) -> float:
        return self.headline_scenario.change.base

    def headline_sentence(self) -> str:
        """'About 9 million epidural injections a year in the United States at $1,000 each
        (editorial's average): $9.0 billion a year; ...'"""
        s = self.headline_scenario
        vol = _count(self.volume.base)
        where = f" in {self.setting}" if self.setting else ""
        out = (
            f"about {vol} {self.item}s a year{where} at {fmt_money(s.unit_cost.base, self.currency)} each "
            f"({s.label}) cost about {fmt_money(s.spend.base, self.currency)} a year"
        )
        lo = min(x.spend.low for x in self.scenarios)
        hi = max(x.spend.high for x in self.scenarios)
        if len(self.scenarios) > 1 or not s.spend.is_point:
            out += (
                f" (from {fmt_money(lo, self.currency)} to {fmt_money(hi, self.currency)} across the unit costs "
                f"assumed, {fmt_money(min(x.unit_cost.low for x in self.scenarios), self.currency)} to "
                f"{fmt_money(max(x.unit_cost.high for x in self.scenarios), self.currency)})"
            )
        if self.adoption.base > 0:
            out += (
                f"; if {_pct(self.adoption.base)} of them stopped, spending would fall by "
                f"{fmt_money(-s.change.base, self.currency)} a year"
            )
        return out + "."

    def sensitivity(self, unit_costs: Sequence[float] | None = None) -> pd.DataFrame:
        """Annual spend (base volume, with the volume range) and the change (base adoption)
        at each unit cost, and the ratio to the headline figure.  Default unit costs: every
        scenario's low, base and high value; rows that match a scenario's base name it."""
        if unit_costs is None:
            costs = sorted({c for s in self.scenarios for c in (s.unit_cost.low, s.unit_cost.base, s.unit_cost.high)})
        else:
            costs = [float(c) for c in unit_costs]
            if any(not math.isfinite(c) or c < 0 for c in costs):
                raise SpecError(f"sensitivity: unit costs must be finite and non-negative, got {list(unit_costs)}")
        head = self.headline_spend
        rows = []
        for c in costs:
            names = [s.label for s in self.scenarios if s.unit_cost.base == c]
            bounds = [f"{s.label} ({'low' if s.unit_cost.low == c else 'high'})" for s in self.scenarios
                      if not s.unit_cost.is_point and c in (s.unit_cost.low, s.unit_cost.high) and s.unit_cost.base != c]
            spend = self.volume.base * c
            rows.append(
                {
                    "unit_cost": c,
                    "scenario": "; ".join(names + bounds),
                    "spend": spend,
                    "spend_low": self.volume.low * c,
                    "spend_high": self.volume.high * c,
                    "change": -self.adoption.base * spend,
                    "spend_after": (1.0 - self.adoption.base) * spend,
                    "ratio_to_headline": spend / head if head > 0 else float("nan"),
                    "headline": bool(c == self.headline_scenario.unit_cost.base),
                }
            )
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario with low / base / high unit cost, spend, change and spend after."""
        rows = []
        for s in self.scenarios:
            row = {"scenario": s.label, "headline": s.label == self.headline}
            for name in ("unit_cost", "spend", "change", "spend_after"):
                r = getattr(s, name)
                row.update({f"{name}_low": r.low, f"{name}": r.base, f"{name}_high": r.high})
            row["source"] = s.source
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        c = self.currency
        lines = [
            f"Budget impact ({c} per year): volume {_count(self.volume.base)} {self.item}s"
            + (f" (range {_count(self.volume.low)} to {_count(self.volume.high)})" if not self.volume.is_point else "")
            + f"; share of use that stops {_pct(self.adoption.base)}"
            + (f" ({_pct(self.adoption.low)} to {_pct(self.adoption.high)})" if not self.adoption.is_point else ""),
            f"Headline: {self.headline_sentence()}",
        ]
        for s in self.scenarios:
            mark = " *" if s.label == self.headline else ""
            lines.append(
                f"  {s.label}{mark}: unit cost {_rng(s.unit_cost, c)}; spend {_rng(s.spend, c)}; "
                f"change {_rng(s.change, c)}; after {_rng(s.spend_after, c)}"
            )
        for src in self.sources:
            lines.append(f"Source: {src}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "currency": self.currency,
                "item": self.item,
                "setting": self.setting,
                "volume": self.volume.to_dict(),
                "adoption": self.adoption.to_dict(),
                "headline": self.headline,
                "headline_spend": self.headline_spend,
                "headline_change": self.headline_change,
                "headline_sentence": self.headline_sentence(),
                "scenarios": [s.to_dict() for s in self.scenarios],
                "sensitivity": self.sensitivity().to_dict(orient="records"),
                "sources": list(self.sources),
            }
        )


def _count(x: float) -> str:
    if x >= 1e9:
        return f"{x / 1e9:.3g} billion"
    if x >= 1e6:
        return f"{x / 1e6:.3g} million"
    return f"{x:,.0f}"


def _pct(x: float) -> str:
    return f"{100 * x:.3g}%"


def _rng(r: Range, currency: str) -> str:
    if r.is_point:
        return fmt_money(r.base, currency)
    return f"{fmt_money(r.base, currency)} ({fmt_money(r.low, currency)} to {fmt_money(r.high, currency)})"


def budget_impact(
    volume_per_year: Any,
    unit_costs: Mapping[str, Any],
    adoption_share: Any = 0.0,
    *,
    headline: str | None = None,
    currency: str = "USD",
    item: str = "procedure",
    setting: str = "",
    sources: Mapping[str, str] | Iterable[str] = (),
) -> BudgetImpact:
    """Annual spend and its change under a recommendation, for each unit-cost assumption.

    ``volume_per_year``: procedures a year (a number, ``(low, high)`` or ``(low, base,
    high)``); ``unit_costs``: label -> cost per procedure (same forms), one scenario each,
    in the order given; ``adoption_share``: the share of current use that stops under the
    recommendation (0 to 1; same forms); ``headline``: the scenario quoted as the headline
    (default: the first); ``sources``: text per scenario label (a mapping) or a list of
    references for the whole analysis; ``item``: what is counted, in the singular
    ("epidural injection"; texts add the plural "s"); ``setting``: where ("the United
    States").

    For each scenario: spend = volume x unit cost; change = - adoption x spend (negative:
    money no longer spent); spend after = spend + change; each low / base / high (see the
    module docstring).
    """
    volume = Range.of(volume_per_year, "budget.volume_per_year")
    adoption = Range.of(adoption_share, "budget.adoption_share", upper=1.0)
    if not isinstance(unit_costs, Mapping) or not unit_costs:
        raise SpecError("budget.unit_costs: give at least one unit cost as {label: cost or (low, high)}")
    per_label: dict[str, str] = {}
    refs: tuple[str, ...] = ()
    if isinstance(sources, Mapping):
        per_label = {str(k): str(v) for k, v in sources.items()}
        unknown = sorted(set(per_label) - {str(k) for k in unit_costs})
        if unknown:
            raise SpecError(f"budget.sources: no unit cost is labelled {unknown}")
        refs = tuple(dict.fromkeys(per_label.values()))
    else:
        refs = tuple(str(s) for s in sources)
    scenarios = []
    for label, value in unit_costs.items():
        label = str(label)
        cost = Range.of(value, f"budget.unit_costs[{label!r}]")
        spend = volume * cost
        saved = spend * adoption
        change = Range(-saved.high, -saved.base, -saved.low)
        after = Range(
            volume.low * cost.low * (1.0 - adoption.high),
            volume.base * cost.base * (1.0 - adoption.base),
            volume.high * cost.high * (1.0 - adoption.low),
        )
        scenarios.append(CostScenario(label, cost, spend, change, after, per_label.get(label, "")))
    labels = [s.label for s in scenarios]
    if headline is None:
        headline = labels[0]
    elif headline not in labels:
        raise SpecError(f"budget.headline: {headline!r} is not one of the unit costs ({', '.join(labels)})")
    return BudgetImpact(
        volume=volume,
        adoption=adoption,
        scenarios=tuple(scenarios),
        headline=str(headline),
        currency=str(currency),
        item=str(item),
        setting=str(setting),
        sources=refs,
    )


def budget_figure(
    impact: BudgetImpact,
    *,
    width: float = 6.5,
    height: float = 4.0,
    title: str | None = None,
    max_cost: float | None = None,
):
    """Annual spend against the unit cost assumed: a line at the base volume (shaded over
    the volume range), a dashed line for the spend after the recommendation (when some use
    stops), each scenario marked at its unit cost (with its cost range as a bar), and the
    headline scenario emphasised.  Returns a :class:`matplotlib.figure.Figure` built on the
    Agg canvas without pyplot; save it with :func:`netgrade.report.plots.save_figure`.

    Artists carry ids (``gid``) for inspection: ``budget-spend``, ``budget-volume-range``,
    ``budget-after``, ``scenario:<label>`` and ``headline``.
    """
    from ..report._figure import GREY, INK, TextMeasurer, new_figure, style_context  # matplotlib only when drawing

    if not isinstance(impact, BudgetImpact):
        raise SpecError(f"budget_figure() needs a BudgetImpact, got {type(impact).__name__}")
    cur = impact.currency
    top = max_cost if max_cost is not None else 1.1 * max(s.unit_cost.high for s in impact.scenarios)
    if not top > 0:
        raise SpecError("budget_figure: the unit costs are all zero; nothing to draw")
    spend_max = impact.volume.high * top
    scale, unit = (1e9, "billion") if spend_max >= 1e9 else (1e6, "million") if spend_max >= 1e6 else (1.0, "")
    ymax = spend_max / scale * 1.08
    sym = _SYMBOLS.get(cur.upper(), f"{cur} ")
    x = np.linspace(0.0, top, 201)
    fs = 7.5
    axes_box = (0.12, 0.13, 0.84, 0.70 if title else 0.76)
    ax_w, ax_h = width * axes_box[2], height * axes_box[3]
    meas = TextMeasurer()

    def upper(xf: float) -> float:  # top of the volume band, as a fraction of the axes height
        return impact.volume.high * xf * top / scale / ymax

    def lower(xf: float) -> float:
        return impact.volume.low * xf * top / scale / ymax

    with style_context():
        fig = new_figure(width, height)
        ax = fig.add_axes(axes_box)
        if not impact.volume.is_point:
            band = ax.fill_between(x, impact.volume.low * x / scale, impact.volume.high * x / scale,
                                   color="#d9d9d9", linewidth=0, label="volume range")
            band.set_gid("budget-volume-range")
        (line,) = ax.plot(x, impact.volume.base * x / scale, color=INK, linewidth=1.4,
                          label=f"{_count(impact.volume.base)} {impact.item}s a year")
        line.set_gid("budget-spend")
        if impact.adoption.base > 0:
            (after,) = ax.plot(x, (1.0 - impact.adoption.base) * impact.volume.base * x / scale, color=GREY,
                               linewidth=1.2, linestyle="--", label=f"after {_pct(impact.adoption.base)} of use stops")
            after.set_gid("budget-after")
        placed: list[tuple[float, float, float, float]] = []
        for s in sorted(impact.scenarios, key=lambda s: s.unit_cost.base):
            y = s.spend.base / scale
            is_head = s.label == impact.headline
            err = None
            if not s.unit_cost.is_point:
                err = [[s.unit_cost.base - s.unit_cost.low], [s.unit_cost.high - s.unit_cost.base]]
            cont = ax.errorbar([s.unit_cost.base], [y], xerr=err, fmt="D" if is_head else "o",
                               color=INK if is_head else GREY, markersize=7 if is_head else 5,
                               elinewidth=1.0, capsize=2, zorder=3)
            cont.lines[0].set_gid(f"scenario:{s.label}")
            if is_head:
                (ring,) = ax.plot([s.unit_cost.base], [y], marker="o", markersize=13, markerfacecolor="none",
                                  markeredgecolor=INK, markeredgewidth=1.0, linestyle="none", zorder=4)
                ring.set_gid("headline")
            lines = [s.label, f"{fmt_money(s.unit_cost.base, cur)} \u2192 {fmt_money(s.spend.base, cur)} a year"]
            weight = "bold" if is_head else "normal"
            w = max(meas.width_in(t, fs, weight) for t in lines) / ax_w + 0.01
            h = 2 * fs * 1.3 / 72.0 / ax_h
            px = s.unit_cost.base / top
            # above the band if it fits, else below it; never on top of an earlier label
            x0 = min(max(px - w / 2, 0.01), 0.99 - w)
            y0 = max(y / ymax, upper(x0 + w)) + 0.04
            above = y0 + h <= 0.97
            if not above:
                x0 = min(px + 0.02, 0.99 - w)
                y0 = min(y / ymax, lower(x0)) - 0.04 - h
            for _ in range(len(placed) + 1):
                hits = [b for b in placed if x0 < b[1] and b[0] < x0 + w and y0 < b[3] and b[2] < y0 + h]
                if not hits:
                    break
                y0 = max(b[3] for b in hits) + 0.015 if above else min(b[2] for b in hits) - 0.015 - h
            placed.append((x0, x0 + w, y0, y0 + h))
            ann = ax.annotate(
                _plain("\n".join(lines)), xy=(s.unit_cost.base, y), xycoords="data", xytext=(x0, y0),
                textcoords="axes fraction", fontsize=fs, ha="left", va="bottom", color=INK, fontweight=weight,
                arrowprops=dict(arrowstyle="-", color=GREY, linewidth=0.6, shrinkA=1, shrinkB=5),
            )
            ann.set_gid(f"label:{s.label}")
        ax.set_xlim(0, top)
        ax.set_ylim(0, ymax)
        ax.set_xlabel(_plain(f"Unit cost per {impact.item} ({cur})"))
        ax.set_ylabel(_plain(f"Annual spend ({sym.strip()} {unit})" if unit else f"Annual spend ({cur})"))
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=3, borderaxespad=0.0)
        if title:
            fig.suptitle(_plain(title), x=axes_box[0], ha="left", y=0.98)
    return fig


def _plain(text: str) -> str:
    """Text shown as written: a dollar sign would otherwise start matplotlib's mathtext."""
    return str(text).replace("$", r"\$")
