"""A study's paired values and the statistics on them, policy against baseline.

Values are kept per policy as an array of shape ``(replications, len(METRICS))`` in replication
order; replication *k* of every policy ran with the same seed (common random numbers), so every
difference is paired replication by replication (see :mod:`retention_sim.study.statistics`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from . import statistics as st
from .metrics import LOWER_IS_BETTER, RATE_METRICS, metric_index

__all__ = ["PairedStudy"]


class PairedStudy:
    """Every run's metrics of a study, and the paired statistics candidate − baseline.

    Attributes
    ----------
    policies
        Policy names, in the order given (the baseline first).
    baseline
        The baseline's name.
    candidates
        The other policies.
    replications
        Replications per policy.
    seeds
        The seed of each replication.
    level
        Confidence level of every interval (0.95).
    objective
        The default metric of the statistics.
    info
        Study facts: scenario name and hash, policy hashes, seed, customers, days, currency,
        start date, package version, store folder, runs computed and runs read from the store.
    """

    def __init__(
        self,
        *,
        policies: Sequence[str],
        baseline: str,
        values: Mapping[str, np.ndarray],
        seeds: Sequence[int],
        info: Mapping[str, Any],
        level: float = 0.95,
        objective: str = "profit",
    ):
        self.policies = list(policies)
        self.baseline = baseline
        self.candidates = [p for p in self.policies if p != baseline]
        self._values = {p: np.asarray(values[p], dtype=float) for p in self.policies}
        self.seeds = [int(s) for s in seeds]
        self.replications = len(self.seeds)
        self.info = dict(info)
        self.level = level
        self.objective = objective

    @property
    def currency(self) -> str:
        """The scenario's currency."""
        return str(self.info.get("currency", ""))

    def values(self, policy: str, metric: str) -> np.ndarray:
        """One metric of one policy, one value per replication (in replication order)."""
        self._check_policy(policy)
        return self._values[policy][:, metric_index(metric)].copy()

    def _check_policy(self, policy: str) -> None:
        if policy not in self._values:
            raise InputError(f"unknown policy {policy!r}; known: {', '.join(self.policies)}")

    def interval(self, policy: str, metric: str) -> st.Interval:
        """Mean and interval of a metric for one policy, across replications.

        A rate or share (:data:`~retention_sim.study.metrics.RATE_METRICS`) whose values lie in
        [0, 1] gets :func:`~retention_sim.study.statistics.rate_interval`, which stays inside
        [0, 1]; every other metric the Student-t interval. (``churn_rate`` is the net loss of
        customers over the starting base and is negative when arrivals outnumber losses; such a
        study gets the t interval.)
        """
        x = self.values(policy, metric)
        if metric in RATE_METRICS and bool(np.all((x >= 0.0) & (x <= 1.0))):
            return st.rate_interval(x, self.level)
        return st.t_interval(x, self.level)

    def paired(self, candidate: str, metric: str) -> st.Interval:
        """Paired difference candidate − baseline of a metric, with its (unadjusted) interval."""
        return st.paired_difference(
            self.values(candidate, metric), self.values(self.baseline, metric), self.level
        )

    def pairing_efficiency(self, metric: str | None = None) -> dict[str, float]:
        """Per candidate: unpaired (Welch) interval half-width / paired half-width on ``metric``.

        A value of 5 means common random numbers made the interval five times narrower than
        independent runs with the same number of replications would have.
        """
        metric = metric or self.objective
        base = self.values(self.baseline, metric)
        return {
            c: st.pairing_efficiency(self.values(c, metric), base, self.level)
            for c in self.candidates
        }

    def holm(self, metric: str) -> dict[str, tuple[float, float]]:
        """Per candidate: the paired t-test p-value on ``metric`` and its Holm adjustment."""
        base = self.values(self.baseline, metric)
        diffs = {c: self.values(c, metric) - base for c in self.candidates}
        p = np.array([st.paired_p_value(d) for d in diffs.values()])
        adj = st.holm(p) if len(p) else p
        return {c: (float(p[i]), float(adj[i])) for i, c in enumerate(self.candidates)}

    def differences(self, metric: str | None = None) -> pd.DataFrame:
        """Paired differences candidate − baseline on one metric (default: the objective).

        Returns
        -------
        pandas.DataFrame
            One row per candidate: ``mean, low, high`` (95% paired interval), ``adj_low,
            adj_high`` (Holm-adjusted over the candidates), ``probability_better``, ``p_value``,
            ``p_holm``, ``pairing_efficiency``, ``sd``, ``replications``.
        """
        metric = metric or self.objective
        metric_index(metric)
        base = self.values(self.baseline, metric)
        holm = self.holm(metric)
        rows = []
        for c in self.candidates:
            d = self.values(c, metric) - base
            iv = st.t_interval(d, self.level)
            p, padj = holm[c]
            adj = st.adjusted_interval(d, p, padj, self.level)
            rows.append(
                {
                    "candidate": c,
                    "baseline": self.baseline,
                    "metric": metric,
                    "mean": iv.mean,
                    "low": iv.low,
                    "high": iv.high,
                    "adj_low": adj.low,
                    "adj_high": adj.high,
                    "probability_better": st.probability_better(
                        d, lower_is_better=metric in LOWER_IS_BETTER
                    ),
                    "p_value": p,
                    "p_holm": padj,
                    "pairing_efficiency": st.pairing_efficiency(
                        self.values(c, metric), base, self.level
                    ),
                    "sd": iv.sd,
                    "replications": iv.n,
                }
            )
        return pd.DataFrame(rows)
