"""What a candidate changes on every headline metric: absolute, % of the baseline, per customer.

Every verdict opens with these lines, so that a profit gain is read beside what it costs in
customers, unsubscribes, complaints and contact spend.

For each headline metric (:data:`HEADLINE_METRICS`) and candidate, on the paired replications:

- the **change** is the mean paired difference ``d̄`` with its 95% t interval;
- the **% of the baseline** is the ratio ``r = d̄ / b̄`` (``b̄`` the baseline's mean), with the
  delta-method interval of a ratio of paired means, ``r ± t · sd(d − r·b) / (|b̄| √n)``, so the
  baseline's own uncertainty is counted;
- **per customer** is the change divided by the starting customers (money and counts; a rate
  already is per customer, and has no such column).

A headline metric **gets worse** when its whole interval lies on the worse side of zero and the
estimated worsening is larger than the practical threshold, ``min_effect · |b̄|``
(:data:`~retention_sim.study.guardrails.DEFAULT_MIN_EFFECT`). It is **possibly worse** when the
estimate is worse beyond the threshold but the interval still includes no change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import statistics as st
from .metrics import (
    LOWER_IS_BETTER,
    MONEY_METRICS,
    RATE_METRICS,
    format_metric,
    metric_index,
    metric_label,
)
from .paired import PairedStudy

__all__ = ["HEADLINE_METRICS", "MetricChange", "metric_change", "headline_changes"]

#: The metrics every verdict reports first.
HEADLINE_METRICS: tuple[str, ...] = (
    "profit",
    "retention_rate",
    "churned",
    "unsubscribes",
    "complaints",
    "contact_cost",
)


@dataclass(frozen=True)
class MetricChange:
    """A candidate's change on one metric against the baseline.

    Attributes
    ----------
    metric
        The metric.
    baseline
        The baseline's mean.
    change, low, high
        The mean paired difference candidate − baseline and its 95% interval.
    relative, relative_low, relative_high
        The change as a share of the baseline's mean, and its interval (NaN for a zero
        baseline).
    per_customer, per_customer_low, per_customer_high
        The change per starting customer (NaN for rates).
    threshold
        The practical threshold, ``min_effect · |baseline|``.
    better, worse
        The whole interval lies on the better (worse) side of zero; ``worse`` also needs the
        estimated worsening to exceed ``threshold``.
    possibly_worse
        The estimated worsening exceeds ``threshold`` but the interval still includes no change.
    """

    metric: str
    baseline: float
    change: float
    low: float
    high: float
    relative: float
    relative_low: float
    relative_high: float
    per_customer: float
    per_customer_low: float
    per_customer_high: float
    threshold: float
    better: bool
    worse: bool
    possibly_worse: bool

    def describe(self, currency: str = "") -> str:
        """One line: the change with its interval, the % of the baseline and per customer."""
        f = lambda x: format_metric(self.metric, x, currency, difference=True)  # noqa: E731
        label = metric_label(self.metric)
        text = f"{label[0].upper() + label[1:]}: {f(self.change)} [{f(self.low)}, {f(self.high)}]"
        if not math.isnan(self.relative):
            text += (
                f"; {_pct(self.relative)} of the baseline "
                f"[{_pct(self.relative_low)}, {_pct(self.relative_high)}]"
            )
        if not math.isnan(self.per_customer):
            text += f"; {_per_customer(self.metric, self.per_customer, currency)} per customer"
        if self.worse:
            text += "  <- worse"
        elif self.possibly_worse:
            text += "  <- possibly worse"
        elif self.better:
            text += "  <- better"
        return text

    def record(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def metric_change(
    study: PairedStudy, candidate: str, metric: str, *, min_effect: float = 0.0
) -> MetricChange:
    """The change of ``candidate`` against the study's baseline on one metric (see the module)."""
    metric_index(metric)
    c = study.values(candidate, metric)
    b = study.values(study.baseline, metric)
    d = c - b
    iv = st.t_interval(d, study.level)
    base = float(b.mean())
    n = d.size
    if base != 0.0 and n >= 2:
        r = iv.mean / base
        resid = (d - r * b) / abs(base)
        hw = st.t_quantile(0.5 + study.level / 2.0, n - 1) * float(resid.std(ddof=1)) / math.sqrt(n)
        rel = (r, r - hw, r + hw)
    else:
        rel = (iv.mean / base if base else math.nan, math.nan, math.nan)
    customers = float(study.info.get("customers") or 0)
    if metric in RATE_METRICS or customers <= 0:
        per = (math.nan, math.nan, math.nan)
    else:
        per = (iv.mean / customers, iv.low / customers, iv.high / customers)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    lo_b, hi_b = sorted((sign * iv.low, sign * iv.high))
    threshold = abs(min_effect * base)
    better = bool(lo_b > 0)
    beyond = bool(-sign * iv.mean > threshold)
    worse = bool(hi_b < 0 and beyond)
    return MetricChange(
        metric,
        base,
        iv.mean,
        iv.low,
        iv.high,
        *rel,
        *per,
        threshold,
        better,
        worse,
        beyond and not worse,
    )


def headline_changes(
    study: PairedStudy,
    candidate: str,
    *,
    min_effect: float = 0.0,
    metrics: tuple[str, ...] = HEADLINE_METRICS,
) -> list[MetricChange]:
    """:func:`metric_change` for every headline metric, in the order of ``metrics``."""
    return [metric_change(study, candidate, m, min_effect=min_effect) for m in metrics]


def _pct(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{100 * x:+.2f}%"


def _per_customer(metric: str, x: float, currency: str) -> str:
    if metric in RATE_METRICS:
        return "n/a"
    if abs(x) >= 100 or x == 0:
        return format_metric(metric, x, currency, difference=True)
    text = f"{x:+,.4f}" if abs(x) < 1 else f"{x:+,.2f}"
    unit = currency if metric in MONEY_METRICS else ""
    return f"{text} {unit}".rstrip()
