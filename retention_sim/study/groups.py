"""Effects per group: every paired difference broken down by a group of the starting base.

Each run records, per group of its starting customers (read on day 0: ``segment``,
``start_stage``, ``rfm_segment``, ``tier``, ``consent_channel``; :func:`~retention_sim.model.result.
group_outcomes`), the group's size, contribution, customers retained and customers lost. For a
candidate and a group the paired difference over replications has a t interval. The p-values
of the groups are Holm-adjusted *across the groups* of that breakdown (per candidate and
metric), and the adjusted interval excludes zero exactly when Holm rejects
(:func:`~retention_sim.study.statistics.adjusted_interval`).

The group metrics:

- ``contribution``: the group's margin on purchases less the contact, discount and gift costs
  booked to its customers (discounted; fixed staff costs and arrivals are not in it);
- ``retention_rate``: the share of the group's starting customers not churned at the end;
- ``churned``: the group's starting customers lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model.result import GROUP_KINDS
from . import statistics as st

__all__ = ["GROUP_KINDS", "GROUP_METRICS", "check_by", "group_differences"]

#: The metrics of a group, and how each is read from ``[customers, contribution, retained,
#: churned]``.
GROUP_METRICS: dict[str, Any] = {
    "contribution": lambda v: v[1],
    "retention_rate": lambda v: v[2] / v[0] if v[0] else np.nan,
    "churned": lambda v: v[3],
}
_LOWER_BETTER = {"churned"}


def check_by(by: Sequence[str] | str | None) -> list[str]:
    """The group kinds asked for, validated (a string is one kind)."""
    if by is None:
        return []
    kinds = [by] if isinstance(by, str) else list(by)
    for k in kinds:
        if k not in GROUP_KINDS:
            raise InputError(f"unknown group {k!r} for --by; known: {', '.join(GROUP_KINDS)}")
    return kinds


def _values(groups: Sequence[Mapping[str, Any]], kind: str, metric: str) -> dict[str, np.ndarray]:
    """Per group label: the metric in each replication (NaN where the group is absent)."""
    read = GROUP_METRICS[metric]
    labels = sorted({g for run in groups for g in run.get(kind, {})})
    return {
        g: np.array([read(run[kind][g]) if g in run.get(kind, {}) else np.nan for run in groups])
        for g in labels
    }


def group_differences(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    baseline: str,
    candidates: Sequence[str],
    kind: str,
    *,
    metrics: Sequence[str] = tuple(GROUP_METRICS),
    level: float = 0.95,
) -> pd.DataFrame:
    """Paired differences candidate − baseline per group, Holm-adjusted across the groups.

    Parameters
    ----------
    groups
        Per policy, each replication's group outcomes (the runs' ``groups``).
    baseline, candidates
        The policies.
    kind
        One of :data:`GROUP_KINDS`.
    metrics
        Which of :data:`GROUP_METRICS`.
    level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per candidate, metric and group: ``candidate, metric, group, customers``
        (mean starting customers of the group), ``baseline_mean, mean, low, high`` (paired),
        ``adj_low, adj_high`` (Holm across the groups), ``p_value, p_holm, better, worse``.
    """
    check_by(kind)
    if not all(groups.get(p) for p in [baseline, *candidates]) or not any(
        run.get(kind) for run in groups[baseline]
    ):
        raise InputError(
            "these runs carry no group outcomes (stored before groups were recorded); run the "
            "study again with a fresh --out"
        )
    rows = []
    sizes = {
        g: float(np.nanmean(v)) for g, v in _size(groups[baseline], kind).items()
    }  # fmt: skip
    for m in metrics:
        if m not in GROUP_METRICS:
            raise InputError(f"unknown group metric {m!r}; known: {', '.join(GROUP_METRICS)}")
        base = _values(groups[baseline], kind, m)
        for c in candidates:
            cand = _values(groups[c], kind, m)
            labels = [g for g in base if g in cand]
            diffs = {g: cand[g] - base[g] for g in labels}
            diffs = {g: d[~np.isnan(d)] for g, d in diffs.items()}
            p = np.array([st.paired_p_value(d) for d in diffs.values()])
            padj = st.holm(p) if len(p) else p
            for i, g in enumerate(labels):
                d = diffs[g]
                iv = st.t_interval(d, level)
                adj = st.adjusted_interval(d, float(p[i]), float(padj[i]), level)
                sign = -1.0 if m in _LOWER_BETTER else 1.0
                lo, hi = sorted((sign * adj.low, sign * adj.high))
                rows.append(
                    {
                        "candidate": c,
                        "metric": m,
                        "group": g,
                        "customers": sizes.get(g, np.nan),
                        "baseline_mean": float(np.nanmean(base[g])),
                        "mean": iv.mean,
                        "low": iv.low,
                        "high": iv.high,
                        "adj_low": adj.low,
                        "adj_high": adj.high,
                        "p_value": float(p[i]),
                        "p_holm": float(padj[i]),
                        "better": bool(lo > 0),
                        "worse": bool(hi < 0),
                    }
                )
    return pd.DataFrame(rows)


def _size(groups: Sequence[Mapping[str, Any]], kind: str) -> dict[str, np.ndarray]:
    labels = sorted({g for run in groups for g in run.get(kind, {})})
    return {
        g: np.array([run[kind][g][0] if g in run.get(kind, {}) else np.nan for run in groups])
        for g in labels
    }
