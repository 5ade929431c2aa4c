"""The metric catalogue: every number a study compares, in one place.

Each :class:`Metric` says its name, its label in words, its unit, which direction is better,
and how it is read from one run's summary. Everything that extracts, compares, judges, formats
or draws metrics reads this catalogue (the unit of work, the comparison, the verdict, sweeps,
robustness, the figures and the report), so adding a metric is adding one entry to
:data:`CATALOGUE`.

The daily series kept from every run for curves with bands (:data:`DAILY_SERIES`) are listed
here too, with how each is computed from a run's daily table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError, unknown
from ..vocabulary import CAUSES

__all__ = [
    "runs_frame",
    "Metric",
    "CATALOGUE",
    "METRICS",
    "LOWER_IS_BETTER",
    "MONEY_METRICS",
    "RATE_METRICS",
    "DAILY_SERIES",
    "metric",
    "metric_index",
    "metric_label",
    "chart_title",
    "chart_label",
    "format_metric",
    "flatten_summary",
    "daily_series",
]

Unit = Literal["money", "rate", "count", "hours"]


@dataclass(frozen=True)
class Metric:
    """One metric of a run.

    Attributes
    ----------
    name
        Its key (in run files, tables, guardrails, the command line).
    label
        Its name in words, for sentences (``"unsubscribe rate"``).
    unit
        ``"money"`` (the scenario's currency), ``"rate"`` (a share, shown in percent),
        ``"count"`` or ``"hours"``.
    better
        ``"higher"`` or ``"lower"``: which direction is an improvement.
    read
        How the value is read from a run's summary (``SimulationResult.summary``).
    chart
        Its title on a figure (default: the label, capitalised).
    """

    name: str
    label: str
    unit: Unit
    better: Literal["higher", "lower"]
    read: Callable[[Mapping[str, Any]], float]
    chart: str | None = None

    @property
    def chart_label(self) -> str:
        """The title on a figure."""
        return self.chart or self.label[0].upper() + self.label[1:]


def _key(name: str, default: float | None = None) -> Callable[[Mapping[str, Any]], float]:
    if default is None:
        return lambda s: s[name]
    return lambda s: s.get(name, default)


def _cause(cause: str) -> Callable[[Mapping[str, Any]], float]:
    return lambda s: s.get("churn_by_cause", {}).get(cause, 0)


def _message(name: str) -> Callable[[Mapping[str, Any]], float]:
    # a run without a contact policy has no messages block: its message counts are 0
    return lambda s: (s.get("messages") or {}).get(name, 0)


def _touches(name: str) -> Callable[[Mapping[str, Any]], float]:
    # a summary without the touches block (an older run) has nothing to average: 0
    return lambda s: (s.get("touches") or {}).get(name, 0.0)


#: Every metric of a run, in the order of run files and tables.
CATALOGUE: tuple[Metric, ...] = (
    Metric("profit", "profit", "money", "higher", _key("profit")),
    Metric("revenue", "revenue", "money", "higher", _key("revenue")),
    Metric("gross_margin", "gross margin", "money", "higher", _key("gross_margin")),
    Metric("clv", "CLV", "money", "higher", _key("clv"), chart="CLV per customer"),
    Metric("retention_rate", "retention rate", "rate", "higher", _key("retention_rate")),
    Metric("churn_rate", "net churn rate", "rate", "lower", _key("churn_rate")),
    Metric(
        "initial_base_retained",
        "share of the starting base retained",
        "rate",
        "higher",
        _key("initial_base_retained"),
        chart="Starting base retained",
    ),
    Metric("churned", "churned", "count", "lower", _key("churned")),
    *(
        Metric(f"churn_{c}", f"churn {c}", "count", "lower", _cause(c), chart=f"Churn: {c}")
        for c in CAUSES
    ),
    Metric("contact_cost", "contact cost", "money", "lower", _key("contact_cost", 0.0)),
    Metric("discount_cost", "discount cost", "money", "lower", _key("discount_cost", 0.0)),
    Metric("reward_cost", "reward cost", "money", "lower", _key("reward_cost", 0.0)),
    Metric(
        "contact_cost_per_customer",
        "contact cost per customer",
        "money",
        "lower",
        _key("contact_cost_per_customer", 0.0),
        chart="Contact cost / customer",
    ),
    Metric(
        "unsubscribe_rate",
        "unsubscribe rate",
        "rate",
        "lower",
        _key("unsubscribe_rate", 0.0),
        chart="Unsubscribes per message",
    ),
    Metric(
        "complaint_rate",
        "complaint rate",
        "rate",
        "lower",
        _key("complaint_rate", 0.0),
        chart="Complaints per message",
    ),
    Metric(
        "over_fatigue_share",
        "share of customers over their fatigue tolerance",
        "rate",
        "lower",
        _key("over_fatigue_share", 0.0),
        chart="Share over fatigue tolerance",
    ),
    Metric("messages_delivered", "messages delivered", "count", "higher", _message("delivered")),
    Metric(
        "touches_per_purchase_cycle",
        "touches per purchase cycle",
        "count",
        "lower",
        _touches("per_purchase_cycle"),
        chart="Touches between two purchases",
    ),
    Metric(
        "touches_before_first_repeat",
        "touches before a new customer's second purchase",
        "count",
        "lower",
        _touches("before_first_repeat"),
        chart="Touches before the first repeat",
    ),
    Metric("unsubscribes", "unsubscribes", "count", "lower", _message("unsubscribes")),
    Metric("complaints", "complaints", "count", "lower", _message("complaints")),
    Metric(
        "service_mean_wait_hours",
        "mean service wait",
        "hours",
        "lower",
        lambda s: s.get("service", {}).get("mean_wait_hours", 0.0),
    ),
)

_BY_NAME = {m.name: m for m in CATALOGUE}
#: The metric names, in catalogue order.
METRICS: tuple[str, ...] = tuple(_BY_NAME)
#: Metrics for which a *decrease* is an improvement.
LOWER_IS_BETTER: frozenset[str] = frozenset(m.name for m in CATALOGUE if m.better == "lower")
#: Metrics in money (the scenario's currency).
MONEY_METRICS: frozenset[str] = frozenset(m.name for m in CATALOGUE if m.unit == "money")
#: Metrics that are shares or rates (shown as percentages).
RATE_METRICS: frozenset[str] = frozenset(m.name for m in CATALOGUE if m.unit == "rate")


def metric(name: str) -> Metric:
    """The catalogue entry of ``name``.

    Raises
    ------
    InputError
        For a name that is not a metric (the message lists the known ones).
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InputError(unknown("metric", name, METRICS)) from None


def metric_index(name: str) -> int:
    """Position of ``name`` in :data:`METRICS` (the column of a study's value arrays)."""
    metric(name)
    return METRICS.index(name)


def metric_label(name: str) -> str:
    """A metric's name in words (``"unsubscribe_rate"`` → ``"unsubscribe rate"``)."""
    m = _BY_NAME.get(name)
    return m.label if m is not None else name.replace("_", " ")


def chart_title(name: str) -> str:
    """A metric's title on a figure."""
    m = _BY_NAME.get(name)
    return m.chart_label if m is not None else name.replace("_", " ").capitalize()


def chart_label(name: str, currency: str = "") -> str:
    """A figure's axis label: the chart title with its unit (``%`` or the currency)."""
    base = chart_title(name)
    if name in RATE_METRICS:
        return f"{base} (%)"
    if currency and name in MONEY_METRICS:
        return f"{base} ({currency})"
    return base


def format_metric(
    name: str, value: float | None, currency: str = "", *, difference: bool = False
) -> str:
    """Format a metric's value (or a difference of it) with its unit.

    Money gets thousands separators and the currency, rates are shown in percent (differences in
    percentage points), hours with two decimals, counts with one.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "+" if difference else ""
    unit = _BY_NAME[name].unit if name in _BY_NAME else "count"
    if unit == "money":
        digits = 0 if abs(value) >= 100 or value == 0 else 2
        text = f"{value:{sign},.{digits}f}"
        return f"{text} {currency}".rstrip()
    if unit == "rate":
        pct = 100.0 * value
        digits = 3 if abs(pct) < 1 and pct != 0 else 2
        return f"{pct:{sign}.{digits}f}" + (" pp" if difference else "%")
    if unit == "hours":
        return f"{value:{sign}.2f} h"
    return f"{value:{sign},.1f}"


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, float]:
    """The scalar metrics of one run's summary, as floats, keyed as in :data:`METRICS`.

    A run without a contact policy has no ``messages`` block: its message metrics (contact cost
    per customer, unsubscribe and complaint rates, over-fatigue share, messages delivered,
    unsubscribes, complaints) are 0.

    Parameters
    ----------
    summary
        ``SimulationResult.summary``.

    Returns
    -------
    dict
        ``{metric: value}`` for every name in :data:`METRICS`.
    """
    return {m.name: float(m.read(summary)) for m in CATALOGUE}


#: Daily series kept from every run (one value per day), and how each is computed.
DAILY_SERIES: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "customers": lambda d: d["customers"].to_numpy(dtype=float),
    "customers_initial_base": lambda d: d["customers_initial_base"].to_numpy(dtype=float),
    "profit_cumulative": lambda d: np.cumsum(d["profit"].to_numpy(dtype=float)),
    "churned_cumulative": lambda d: np.cumsum(d["churned"].to_numpy(dtype=float)),
}


def daily_series(daily: pd.DataFrame) -> dict[str, list[float]]:
    """The :data:`DAILY_SERIES` of one run's daily table, as lists of floats."""
    return {k: [float(x) for x in f(daily)] for k, f in DAILY_SERIES.items()}


def runs_frame(runs: list[tuple[Mapping[str, Any], int, np.ndarray]]) -> pd.DataFrame:
    """Every run of a study in long format, the shape pandas and seaborn expect.

    Parameters
    ----------
    runs
        ``(labels, replication, metric values in the order of METRICS)`` per run; ``labels``
        name the arm (``{"policy": ...}``, or a point and its field values), the same keys for
        every run.

    Returns
    -------
    pandas.DataFrame
        The label columns, then ``replication``, ``metric`` and ``value``: one row per run and
        metric, runs in the order given.
    """
    m = len(METRICS)
    keys = list(runs[0][0]) if runs else []
    columns: dict[str, Any] = {
        k: np.repeat(np.array([labels[k] for labels, _, _ in runs]), m) for k in keys
    }
    columns["replication"] = np.repeat(np.array([k for _, k, _ in runs], dtype=np.int64), m)
    columns["metric"] = np.tile(np.array(METRICS, dtype=object), len(runs))
    columns["value"] = np.array([v for _, _, v in runs], dtype=float).reshape(-1)
    return pd.DataFrame(columns)
