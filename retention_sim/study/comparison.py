"""Policy comparisons: policies × replications with common random numbers, paired statistics.

:func:`compare` runs every policy in replications ``k = 0, 1, ...``; replication ``k`` of every
policy uses the same seed (:func:`~retention_sim.study.execution.replication_seed`) and therefore the
same customers and the same luck. The resulting :class:`Comparison` gives per policy and metric
the mean and its 95% interval across replications, and per candidate the paired difference
against the baseline with its interval, the probability that the candidate is better, Holm-
adjusted decisions over the candidates and the pairing efficiency (how many times narrower the
paired interval is than the one unpaired runs would give); see :mod:`retention_sim.study.statistics`.
:meth:`Comparison.verdict` turns this into adopt / reject / inconclusive with guardrails.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import InputError
from ..outputs import write_csv, write_json
from . import statistics as st
from .execution import (
    DAILY_SERIES,
    METRICS,
    Backend,
    Runner,
    RunTask,
    replication_seed,
)
from .store import ResultStore, engine_fingerprint, policy_hash, study_key

__all__ = [
    "Comparison",
    "GuardrailCheck",
    "Verdict",
    "compare",
    "LOWER_IS_BETTER",
    "MONEY_METRICS",
    "RATE_METRICS",
    "format_metric",
    "metric_label",
    "parse_guardrails",
]

#: Metrics for which a *decrease* is an improvement (the sign of "better" is flipped).
LOWER_IS_BETTER: frozenset[str] = frozenset(
    {
        "churn_rate",
        "churned",
        *(m for m in METRICS if m.startswith("churn_") and m != "churn_rate"),
        "contact_cost",
        "discount_cost",
        "reward_cost",
        "contact_cost_per_customer",
        "unsubscribe_rate",
        "complaint_rate",
        "over_fatigue_share",
        "unsubscribes",
        "complaints",
        "service_mean_wait_hours",
    }
)

#: Metrics in money (the scenario's currency).
MONEY_METRICS = frozenset(
    {
        "profit",
        "revenue",
        "gross_margin",
        "clv",
        "contact_cost",
        "discount_cost",
        "reward_cost",
        "contact_cost_per_customer",
    }
)
#: Metrics that are shares or rates (shown as percentages).
RATE_METRICS = frozenset(
    {
        "retention_rate",
        "churn_rate",
        "initial_base_retained",
        "unsubscribe_rate",
        "complaint_rate",
        "over_fatigue_share",
    }
)
_LABELS = {
    "clv": "CLV",
    "over_fatigue_share": "share of customers over their fatigue tolerance",
    "service_mean_wait_hours": "mean service wait",
    "initial_base_retained": "share of the starting base retained",
}


def metric_label(metric: str) -> str:
    """A metric's name in words (``"unsubscribe_rate"`` → ``"unsubscribe rate"``)."""
    return _LABELS.get(metric, metric.replace("_", " "))


def format_metric(
    metric: str, value: float, currency: str = "", *, difference: bool = False
) -> str:
    """Format a metric's value (or a difference of it) with its unit.

    Money gets thousands separators and the currency, rates are shown in percent (differences in
    percentage points), hours with two decimals, counts with one.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "+" if difference else ""
    if metric in MONEY_METRICS:
        digits = 0 if abs(value) >= 100 or value == 0 else 2
        text = f"{value:{sign},.{digits}f}"
        return f"{text} {currency}".rstrip()
    if metric in RATE_METRICS:
        pct = 100.0 * value
        digits = 3 if abs(pct) < 1 and pct != 0 else 2
        return f"{pct:{sign}.{digits}f}" + (" pp" if difference else "%")
    if metric == "service_mean_wait_hours":
        return f"{value:{sign}.2f} h"
    return f"{value:{sign},.1f}"


# ----------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class GuardrailCheck:
    """One guardrail of a verdict.

    Attributes
    ----------
    metric
        The guarded metric.
    kind
        ``"max"`` (an upper limit on the candidate's mean) or ``"max_increase"`` (an upper limit
        on the mean paired increase over the baseline).
    limit
        The limit.
    value
        The candidate's mean (``"max"``) or its mean increase over the baseline.
    held
        ``value <= limit``.
    """

    metric: str
    kind: str
    limit: float
    value: float
    held: bool

    def describe(self, currency: str = "") -> str:
        """One line of plain English."""
        state = "held" if self.held else "BROKEN"
        if self.kind == "max":
            return (
                f"{metric_label(self.metric)} {format_metric(self.metric, self.value, currency)} "
                f"(limit {format_metric(self.metric, self.limit, currency)}): {state}"
            )
        return (
            f"{metric_label(self.metric)} change "
            f"{format_metric(self.metric, self.value, currency, difference=True)} over the "
            f"baseline (limit {format_metric(self.metric, self.limit, currency, difference=True)}"
            f"): {state}"
        )


@dataclass(frozen=True)
class Verdict:
    """The decision on a candidate (or on several) and its reasons in plain English.

    Attributes
    ----------
    decision
        ``"adopt"``, ``"reject"`` or ``"inconclusive"``.
    text
        What a strategist reads: the objective's change with its interval and currency, each
        guardrail held or broken, and for an inconclusive result how many replications would
        roughly settle it.
    candidate
        The candidate the decision is about (for several candidates: the one to adopt, or
        ``None``).
    baseline
        The baseline policy.
    objective
        The metric the decision is made on.
    difference, low, high
        Mean paired difference candidate − baseline on the objective and its Holm-adjusted
        interval (family-wise ``level``).
    probability_better
        Posterior probability that the candidate is better on the objective.
    guardrails
        The guardrail checks.
    replications
        Replications behind the verdict.
    replications_needed
        For ``inconclusive``: roughly how many replications in all would make the interval
        exclude zero if the mean difference stayed as estimated (``None`` otherwise, or when the
        estimated difference is zero).
    by_candidate
        With several candidates: the verdict on each.
    """

    decision: str
    text: str
    candidate: str | None
    baseline: str
    objective: str
    difference: float = math.nan
    low: float = math.nan
    high: float = math.nan
    probability_better: float = math.nan
    guardrails: tuple[GuardrailCheck, ...] = ()
    replications: int = 0
    replications_needed: int | None = None
    by_candidate: dict[str, Verdict] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text


def parse_guardrails(guardrails: Mapping[str, Any] | None) -> list[tuple[str, str, float]]:
    """Validate guardrails: ``{metric: limit}`` or ``{metric: {"max" | "max_increase": x}}``.

    Returns
    -------
    list of tuple
        ``(metric, kind, limit)`` with ``kind`` ``"max"`` or ``"max_increase"``.

    Raises
    ------
    InputError
        For an unknown metric or a limit that is not a number.
    """
    out = []
    for metric, spec in (guardrails or {}).items():
        if metric not in METRICS:
            raise InputError(
                f"unknown guardrail metric {metric!r}; known: {', '.join(METRICS)}",
                field="guardrails",
            )
        if isinstance(spec, Mapping):
            if len(spec) != 1 or next(iter(spec)) not in ("max", "max_increase"):
                raise InputError(
                    f"guardrail {metric!r} must be a number or {{'max': x}} or "
                    f"{{'max_increase': x}}, got {dict(spec)!r}",
                    field="guardrails",
                )
            kind, limit = next(iter(spec.items()))
        else:
            kind, limit = "max", spec
        try:
            limit = float(limit)
        except (TypeError, ValueError):
            raise InputError(
                f"guardrail {metric!r}: limit must be a number, got {limit!r}", field="guardrails"
            ) from None
        if math.isnan(limit):
            raise InputError(f"guardrail {metric!r}: limit is NaN", field="guardrails")
        out.append((metric, kind, limit))
    return out


# ----------------------------------------------------------------------------- comparison
class Comparison:
    """The outcome of :func:`compare`: every run's metrics and the statistics built on them.

    Build one with :func:`compare`. Values are kept per policy as arrays of shape
    ``(replications, len(METRICS))`` in replication order, so every statistic pairs candidate and
    baseline replication by replication.

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
        Default objective of :meth:`summary`, :meth:`verdict` and the text table.
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
        daily: Mapping[str, Mapping[str, np.ndarray]],
        seeds: Sequence[int],
        info: Mapping[str, Any],
        level: float = 0.95,
        objective: str = "profit",
    ):
        self.policies = list(policies)
        self.baseline = baseline
        self.candidates = [p for p in self.policies if p != baseline]
        self._values = {p: np.asarray(values[p], dtype=float) for p in self.policies}
        self._daily = {p: {k: np.asarray(v, float) for k, v in daily[p].items()} for p in policies}
        self.seeds = [int(s) for s in seeds]
        self.replications = len(self.seeds)
        self.info = dict(info)
        self.level = level
        self.objective = objective

    def __repr__(self) -> str:
        return (
            f"Comparison({len(self.policies)} policies, {self.replications} replications, "
            f"baseline {self.baseline!r})"
        )

    # raw values ----------------------------------------------------------------------
    @property
    def currency(self) -> str:
        """The scenario's currency."""
        return str(self.info.get("currency", ""))

    def values(self, policy: str, metric: str) -> np.ndarray:
        """One metric of one policy, one value per replication (in replication order)."""
        self._check_policy(policy)
        return self._values[policy][:, _metric_index(metric)].copy()

    def _check_policy(self, policy: str) -> None:
        if policy not in self._values:
            raise InputError(f"unknown policy {policy!r}; known: {', '.join(self.policies)}")

    def table(self) -> pd.DataFrame:
        """Every run's metrics in long format.

        Returns
        -------
        pandas.DataFrame
            Columns ``policy, replication, metric, value``; rows ordered by policy (as given),
            replication and metric (as in :data:`~retention_sim.study.execution.METRICS`).
        """
        frames = []
        n, m = self.replications, len(METRICS)
        for p in self.policies:
            frames.append(
                pd.DataFrame(
                    {
                        "policy": p,
                        "replication": np.repeat(np.arange(n), m),
                        "metric": np.tile(np.array(METRICS, dtype=object), n),
                        "value": self._values[p].reshape(-1),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    # statistics ----------------------------------------------------------------------
    def interval(self, policy: str, metric: str) -> st.Interval:
        """Mean and interval of a metric for one policy, across replications."""
        return st.t_interval(self.values(policy, metric), self.level)

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

    def _holm(self, metric: str) -> dict[str, tuple[float, float]]:
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
        _metric_index(metric)
        base = self.values(self.baseline, metric)
        holm = self._holm(metric)
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

    def summary(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Means with intervals per policy and metric, then the paired difference rows.

        Parameters
        ----------
        metrics
            Metrics to include (default: all of :data:`~retention_sim.study.execution.METRICS`).

        Returns
        -------
        pandas.DataFrame
            Columns ``kind`` (``"policy"`` or ``"difference"``), ``policy``, ``metric``,
            ``mean``, ``low``, ``high``, ``replications`` and, on difference rows (candidate −
            baseline, paired), ``baseline``, ``probability_better``, ``p_value``, ``p_holm``
            (Holm over the candidates, per metric) and ``pairing_efficiency``.
        """
        metrics = list(metrics) if metrics is not None else list(METRICS)
        rows = []
        for p in self.policies:
            for m in metrics:
                iv = self.interval(p, m)
                rows.append(
                    {
                        "kind": "policy",
                        "policy": p,
                        "metric": m,
                        "mean": iv.mean,
                        "low": iv.low,
                        "high": iv.high,
                        "replications": iv.n,
                    }
                )
        for m in metrics:
            d = self.differences(m)
            for r in d.to_dict("records"):
                rows.append(
                    {
                        "kind": "difference",
                        "policy": r["candidate"],
                        "metric": m,
                        "mean": r["mean"],
                        "low": r["low"],
                        "high": r["high"],
                        "replications": r["replications"],
                        "baseline": r["baseline"],
                        "probability_better": r["probability_better"],
                        "p_value": r["p_value"],
                        "p_holm": r["p_holm"],
                        "pairing_efficiency": r["pairing_efficiency"],
                    }
                )
        cols = [
            "kind",
            "policy",
            "metric",
            "mean",
            "low",
            "high",
            "replications",
            "baseline",
            "probability_better",
            "p_value",
            "p_holm",
            "pairing_efficiency",
        ]
        return pd.DataFrame(rows).reindex(columns=cols)

    def daily(
        self, series: Sequence[str] | None = None, *, difference: bool = False
    ) -> pd.DataFrame:
        """Daily curves with bands: mean and 95% interval across replications, per date.

        Parameters
        ----------
        series
            Which of ``customers``, ``customers_initial_base``, ``profit_cumulative``,
            ``churned_cumulative`` (default: all).
        difference
            Give paired differences candidate − baseline (per candidate) instead of levels.

        Returns
        -------
        pandas.DataFrame
            Long format: ``policy, date, series, mean, low, high``.
        """
        series = list(series) if series is not None else list(DAILY_SERIES)
        for s in series:
            if s not in DAILY_SERIES:
                raise InputError(f"unknown daily series {s!r}; known: {', '.join(DAILY_SERIES)}")
        days = int(self.info["days"])
        dates = pd.Timestamp(self.info["start_date"]) + pd.to_timedelta(np.arange(days), "D")
        n = self.replications
        tq = _t_quantile(self.level, n)
        frames = []
        for p in self.candidates if difference else self.policies:
            for s in series:
                a = self._daily[p][s]
                if difference:
                    a = a - self._daily[self.baseline][s]
                mean = a.mean(axis=0)
                if n > 1:
                    hw = tq * a.std(axis=0, ddof=1) / math.sqrt(n)
                else:
                    hw = np.full(days, np.nan)
                frames.append(
                    pd.DataFrame(
                        {
                            "policy": p,
                            "date": dates,
                            "series": s,
                            "mean": mean,
                            "low": mean - hw,
                            "high": mean + hw,
                        }
                    )
                )
        return pd.concat(frames, ignore_index=True)

    # verdict -------------------------------------------------------------------------
    def verdict(
        self,
        objective: str | None = None,
        guardrails: Mapping[str, Any] | None = None,
        *,
        candidate: str | None = None,
    ) -> Verdict:
        """Adopt, reject or inconclusive, with the reasons in plain English.

        Parameters
        ----------
        objective
            The metric to improve (default: the comparison's objective, ``"profit"``). For
            metrics where lower is better (:data:`LOWER_IS_BETTER`) an improvement is a decrease.
        guardrails
            ``{metric: limit}``: an upper limit on the candidate's mean, e.g.
            ``{"unsubscribe_rate": 0.003, "complaint_rate": 0.0005,
            "contact_cost_per_customer": 40000, "over_fatigue_share": 0.05}``; or
            ``{metric: {"max_increase": x}}``: an upper limit on the mean paired increase over
            the baseline.
        candidate
            Decide on this candidate only. By default every candidate is judged; with several,
            the overall decision is ``adopt`` (naming the adoptable candidate with the largest
            improvement) if any candidate is adopted, ``reject`` if all are rejected, else
            ``inconclusive``.

        Returns
        -------
        Verdict
            ``adopt`` when the Holm-adjusted paired interval on the objective lies entirely on
            the better side of zero and no guardrail is broken; ``reject`` when it lies entirely
            on the worse side or a guardrail is broken; otherwise ``inconclusive`` with a rough
            number of replications that would settle it.
        """
        objective = objective or self.objective
        _metric_index(objective)
        checks = parse_guardrails(guardrails)
        if not self.candidates:
            raise InputError("a verdict needs at least one candidate besides the baseline")
        if candidate is not None:
            self._check_policy(candidate)
            if candidate == self.baseline:
                raise InputError(f"{candidate!r} is the baseline, not a candidate")
            return self._verdict_one(candidate, objective, checks)
        verdicts = {c: self._verdict_one(c, objective, checks) for c in self.candidates}
        if len(verdicts) == 1:
            return next(iter(verdicts.values()))
        sign = -1.0 if objective in LOWER_IS_BETTER else 1.0
        adopted = [v for v in verdicts.values() if v.decision == "adopt"]
        if adopted:
            best = max(adopted, key=lambda v: sign * v.difference)
            decision, chosen = "adopt", best.candidate
            head = (
                f"Verdict: ADOPT {chosen} instead of {self.baseline} "
                f"({len(adopted)} of {len(verdicts)} candidates pass; {chosen} improves "
                f"{metric_label(objective)} the most)."
            )
        elif all(v.decision == "reject" for v in verdicts.values()):
            decision, chosen = "reject", None
            head = f"Verdict: REJECT every candidate; keep {self.baseline}."
        else:
            decision, chosen = "inconclusive", None
            head = (
                f"Verdict: INCONCLUSIVE: no candidate is shown better than {self.baseline}; "
                "at least one is not shown worse."
            )
        # each candidate's block, headed by its own decision ("REJECT x; keep y.")
        blocks = [v.text.removeprefix("Verdict: ") for v in verdicts.values()]
        text = "\n\n".join([head, *blocks])
        ref = verdicts[chosen] if chosen else None
        return Verdict(
            decision=decision,
            text=text,
            candidate=chosen,
            baseline=self.baseline,
            objective=objective,
            difference=ref.difference if ref else math.nan,
            low=ref.low if ref else math.nan,
            high=ref.high if ref else math.nan,
            probability_better=ref.probability_better if ref else math.nan,
            guardrails=ref.guardrails if ref else (),
            replications=self.replications,
            replications_needed=max(
                (v.replications_needed or 0 for v in verdicts.values()), default=0
            )
            or None,
            by_candidate=verdicts,
        )

    def _verdict_one(
        self, candidate: str, objective: str, checks: list[tuple[str, str, float]]
    ) -> Verdict:
        cur = self.currency
        n = self.replications
        m = len(self.candidates)
        d = self.values(candidate, objective) - self.values(self.baseline, objective)
        p, padj = self._holm(objective)[candidate]
        adj = st.adjusted_interval(d, p, padj, self.level)
        lower_better = objective in LOWER_IS_BETTER
        prob = st.probability_better(d, lower_is_better=lower_better)
        better = adj.high < 0 if lower_better else adj.low > 0
        worse = adj.low > 0 if lower_better else adj.high < 0

        guard: list[GuardrailCheck] = []
        for metric, kind, limit in checks:
            if kind == "max":
                value = float(self.values(candidate, metric).mean())
            else:
                value = float(
                    (self.values(candidate, metric) - self.values(self.baseline, metric)).mean()
                )
            guard.append(GuardrailCheck(metric, kind, limit, value, value <= limit))
        broken = [g for g in guard if not g.held]

        needed: int | None = None
        if broken:
            decision = "reject"
        elif better:
            decision = "adopt"
        elif worse:
            decision = "reject"
        else:
            decision = "inconclusive"
            if n >= 2 and adj.sd > 0 and d.mean() != 0:
                needed = max(n + 1, st.replications_for_halfwidth(adj.sd, abs(adj.mean), adj.level))

        label = metric_label(objective)
        horizon = (
            f"over {int(self.info['days']):,} days for "
            f"{int(self.info['customers']):,} starting customers"
        )
        adj_note = (
            f"{self.level:.0%} interval, Holm-adjusted for {m} candidates"
            if m > 1
            else f"{self.level:.0%} interval"
        )
        change = (
            f"{label[0].upper() + label[1:]} changes by "
            f"{format_metric(objective, adj.mean, cur, difference=True)} {horizon} "
            f"({adj_note}: {format_metric(objective, adj.low, cur, difference=True)} to "
            f"{format_metric(objective, adj.high, cur, difference=True)}; {n} paired "
            f"replications). Probability that {candidate} is better on {label}: {prob:.1%}."
        )
        if decision == "adopt":
            head = f"Verdict: ADOPT {candidate} instead of {self.baseline}."
            why = f"The whole interval shows an improvement in {label} and every guardrail holds."
        elif decision == "reject":
            head = f"Verdict: REJECT {candidate}; keep {self.baseline}."
            reasons = []
            if worse:
                reasons.append(f"the whole interval shows {label} getting worse")
            if broken:
                names = ", ".join(metric_label(g.metric) for g in broken)
                reasons.append(f"guardrail broken: {names}")
            why = "Reason: " + "; ".join(reasons) + "."
        else:
            head = f"Verdict: INCONCLUSIVE for {candidate} against {self.baseline}."
            if needed is None:
                why = (
                    "The interval includes zero and the estimated difference is zero: more "
                    "replications are unlikely to settle it; the policies perform the same here."
                )
            elif needed >= 10**6:
                why = (
                    "The interval includes zero; the estimated difference is so small that "
                    "more than a million replications would be needed to settle it."
                )
            else:
                why = (
                    f"The interval includes zero. Roughly {needed:,} replications in all "
                    f"({needed - n:,} more) would settle it if the difference stays as estimated."
                )
        if guard:
            glines = "Guardrails:\n" + "\n".join("  " + g.describe(cur) for g in guard)
        else:
            glines = "Guardrails: none set."
        text = "\n".join([head, change, why, glines])
        return Verdict(
            decision=decision,
            text=text,
            candidate=candidate,
            baseline=self.baseline,
            objective=objective,
            difference=adj.mean,
            low=adj.low,
            high=adj.high,
            probability_better=prob,
            guardrails=tuple(guard),
            replications=n,
            replications_needed=needed,
        )

    # reporting -----------------------------------------------------------------------
    def to_text(self, metrics: Sequence[str] | None = None) -> str:
        """The comparison table as plain text (what ``retention-sim compare`` prints).

        One block per metric: each policy's mean with its interval and, for candidates, the
        paired difference from the baseline with its interval, the probability of being better,
        the Holm-adjusted p-value and how many times pairing narrowed the interval.
        """
        metrics = list(metrics) if metrics is not None else _default_metrics(self.objective)
        cur = self.currency
        i = self.info
        n = self.replications
        lines = [
            f"scenario {i['scenario']} ({i['scenario_hash']}), {int(i['customers']):,} starting "
            f"customers, {int(i['days'])} days, {n} replications (seed {i['seed']}; replication "
            "k of every policy uses the same seed)",
            f"mean [{self.level:.0%} interval]; diff = paired difference candidate - "
            f"{self.baseline} [{self.level:.0%} interval]",
        ]
        width = max(len(p) for p in self.policies) + len(" (baseline)") + 2
        for m in metrics:
            lines.append("")
            lines.append(metric_label(m))
            diffs = {r["candidate"]: r for r in self.differences(m).to_dict("records")}
            for p in self.policies:
                iv = self.interval(p, m)
                tag = f"{p} (baseline)" if p == self.baseline else p
                row = (
                    f"  {tag:<{width}}{format_metric(m, iv.mean, cur):>20} "
                    f"[{format_metric(m, iv.low, cur)}, {format_metric(m, iv.high, cur)}]"
                )
                r = diffs.get(p)
                if r is not None:
                    row += (
                        f"   diff {format_metric(m, r['mean'], cur, difference=True)} "
                        f"[{format_metric(m, r['low'], cur, difference=True)}, "
                        f"{format_metric(m, r['high'], cur, difference=True)}]  "
                        f"P(better) {_pct(r['probability_better'])}  "
                        f"Holm p {_num(r['p_holm'])}  "
                        f"pairing {_num(r['pairing_efficiency'], 1)}x narrower"
                    )
                lines.append(row)
        return "\n".join(lines)

    def to_dict(self, verdict: Verdict | None = None) -> dict[str, Any]:
        """A JSON-ready record of the study: facts, summary, every run's metrics, the verdict."""
        out: dict[str, Any] = {
            "study": _clean(self.info),
            "policies": self.policies,
            "baseline": self.baseline,
            "replications": self.replications,
            "seeds": self.seeds,
            "level": self.level,
            "objective": self.objective,
            "metrics": list(METRICS),
            "summary": _clean(self.summary().to_dict("records")),
            "runs": {
                p: {m: _clean(self._values[p][:, k].tolist()) for k, m in enumerate(METRICS)}
                for p in self.policies
            },
        }
        if verdict is not None:
            out["verdict"] = _clean(_verdict_dict(verdict))
        return out

    def write(self, out: str | Path, *, verdict: Verdict | None = None) -> list[Path]:
        """Write ``comparison.json`` (:meth:`to_dict`) and ``comparison.csv`` (:meth:`summary`)
        under ``out``, atomically.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        out = Path(out)
        return [
            write_json(out / "comparison.json", self.to_dict(verdict)),
            write_csv(out / "comparison.csv", self.summary(), index=False),
        ]


def _verdict_dict(v: Verdict) -> dict[str, Any]:
    return {
        "decision": v.decision,
        "candidate": v.candidate,
        "baseline": v.baseline,
        "objective": v.objective,
        "difference": v.difference,
        "low": v.low,
        "high": v.high,
        "probability_better": v.probability_better,
        "replications": v.replications,
        "replications_needed": v.replications_needed,
        "guardrails": [
            {"metric": g.metric, "kind": g.kind, "limit": g.limit, "value": g.value, "held": g.held}
            for g in v.guardrails
        ],
        "text": v.text,
        "by_candidate": {c: _verdict_dict(x) for c, x in v.by_candidate.items()},
    }


def _clean(obj: Any) -> Any:
    """JSON-ready: NaN and infinities become None, numpy scalars become Python numbers."""
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (pd.Timestamp, dt.date)):
        return obj.isoformat()
    return obj


def _pct(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.1%}"


def _num(x: float, digits: int | None = None) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}" if digits is not None else f"{x:.3g}"


def _default_metrics(objective: str) -> list[str]:
    base = [
        objective,
        "retention_rate",
        "unsubscribe_rate",
        "complaint_rate",
        "contact_cost_per_customer",
    ]
    return list(dict.fromkeys(base))


def _metric_index(metric: str) -> int:
    try:
        return METRICS.index(metric)
    except ValueError:
        raise InputError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}") from None


def _t_quantile(level: float, n: int) -> float:
    return st.t_quantile(0.5 + level / 2.0, n - 1) if n > 1 else math.nan


# ----------------------------------------------------------------------------- inputs
def resolve_scenario(scenario: Any) -> Any:
    """A :class:`~retention_sim.Scenario` from a scenario or a path to a scenario file."""
    from ..config.scenario import Scenario, load_scenario

    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    raise InputError(f"expected a Scenario or a scenario file, got {type(scenario).__name__}")


def resolve_policies(policies: Any, scenario: Any) -> dict[str, Any]:
    """``{name: Policy or None}`` from policies, policy files or a mapping of names to them.

    ``None`` (no contact at all) is named ``"no_contact"`` in a sequence. Names must be unique.
    """
    from ..config.policy import Policy, load_policy

    def one(p: Any) -> Any:
        if p is None or isinstance(p, Policy):
            return p
        if isinstance(p, (str, Path)):
            return load_policy(p, scenario=scenario)
        raise InputError(f"expected a Policy or a policy file, got {type(p).__name__}")

    out: dict[str, Any] = {}
    if isinstance(policies, Mapping):
        items = [(str(k), one(v)) for k, v in policies.items()]
    elif isinstance(policies, (str, Path)) or not isinstance(policies, Sequence):
        items = [(None, one(policies))]
    else:
        items = [(None, one(p)) for p in policies]
    for name, pol in items:
        if name is None:
            name = "no_contact" if pol is None else pol.name
        if name in out:
            raise InputError(f"policy name {name!r} is given twice; policy names must be unique")
        out[name] = pol
    if not out:
        raise InputError("no policies to compare")
    return out


def execute(
    tasks: Sequence[RunTask], runner: Runner, store: ResultStore | None
) -> tuple[list[dict[str, Any]], int, int]:
    """Run tasks, reading finished ones from the store and writing new ones to it.

    Returns
    -------
    tuple
        ``(results in task order, runs computed, runs read from the store)``.
    """
    if store is None:
        return runner.run(tasks), len(tasks), 0
    results: list[dict[str, Any] | None] = [store.load(t) for t in tasks]
    todo = [i for i, r in enumerate(results) if r is None]
    done = runner.run([tasks[i] for i in todo], on_result=store.save)
    for i, r in zip(todo, done, strict=True):
        results[i] = r
    return results, len(todo), len(tasks) - len(todo)  # type: ignore[return-value]


def _check_common(replications: int, seed: int, customers: Any, days: Any) -> None:
    if isinstance(replications, bool) or not isinstance(replications, (int, np.integer)):
        raise InputError(f"replications must be a whole number, got {replications!r}")
    if replications < 2:
        raise InputError(f"replications must be at least 2 (for intervals), got {replications}")
    if seed < 0:
        raise InputError(f"seed must be non-negative, got {seed}")
    if customers is not None and customers < 1:
        raise InputError(f"customers must be at least 1, got {customers}")
    if days is not None and days < 1:
        raise InputError(f"days must be at least 1, got {days}")


# ----------------------------------------------------------------------------- compare
def compare(
    scenario: Any,
    policies: Any,
    *,
    baseline: str | None = None,
    replications: int = 20,
    seed: int = 0,
    customers: int | None = None,
    days: int | None = None,
    backend: Backend = "processes",
    workers: int | None = None,
    dask: str | None = None,
    out: str | Path | None = None,
    target_halfwidth: float | None = None,
    max_replications: int | None = None,
    objective: str = "profit",
    level: float = 0.95,
    progress: bool = True,
) -> Comparison:
    """Compare contact policies on one scenario with common random numbers.

    Parameters
    ----------
    scenario
        A :class:`~retention_sim.Scenario` or the path of a scenario file.
    policies
        Policies (:class:`~retention_sim.config.policy.Policy`), policy files, ``None`` (no contact), or
        a mapping ``{name: policy}``. Names must be unique.
    baseline
        Name of the baseline policy (default: the first).
    replications
        Replications per policy (at least 2); with ``target_halfwidth``, the first batch.
    seed
        The study's seed; replication ``k`` of every policy runs with
        ``int(SeedSequence([seed, k]).generate_state(1)[0])``.
    customers, days
        Starting base and horizon (default: the scenario's).
    backend
        ``"serial"``, ``"processes"`` (default; a local process pool) or ``"dask"``.
    workers
        Worker processes (default: one per core; 2 for ``dask="local"``).
    dask
        ``"local"`` (start a ``distributed.LocalCluster`` and close it) or a scheduler address
        such as ``"tcp://host:8786"``; implies ``backend="dask"``.
    out
        Folder of the result store: every run is written there as soon as it finishes, and a
        study run again reads its finished runs instead of recomputing them (see
        :mod:`retention_sim.study.store`).
    target_halfwidth
        Keep adding batches of replications until the paired 95% interval on the objective has at
        most this half-width for every candidate, or ``max_replications`` is reached. Each batch
        aims at the replications the current spread says are needed, at most doubling the total.
    max_replications
        Upper bound with ``target_halfwidth`` (default: five times ``replications``).
    objective
        The metric of ``target_halfwidth`` and the default of :meth:`Comparison.verdict`.
    level
        Confidence level of the intervals.
    progress
        Show a tqdm progress bar.

    Returns
    -------
    Comparison
        Every run's metrics and the statistics built on them.

    Raises
    ------
    InputError
        For a bad argument (unknown baseline or objective, too few replications, ...).

    Notes
    -----
    The process pool starts fresh interpreters (``spawn``): in a plain Python *script*, call
    :func:`compare` under ``if __name__ == "__main__":`` (notebooks and the CLI need nothing).

    Examples
    --------
    >>> c = compare("params/scenarios/default.yaml",
    ...             ["params/policies/bau_default.yaml", "params/policies/playbook_software.yaml"],
    ...             replications=20, out="reports/study")  # doctest: +SKIP
    >>> print(c.verdict("profit", {"unsubscribe_rate": 0.003}).text)  # doctest: +SKIP
    """
    scenario = resolve_scenario(scenario)
    pols = resolve_policies(policies, scenario)
    _check_common(replications, seed, customers, days)
    _metric_index(objective)
    names = list(pols)
    if baseline is None:
        baseline = names[0]
    if baseline not in pols:
        raise InputError(f"baseline {baseline!r} is not among the policies: {', '.join(names)}")
    names.remove(baseline)
    names.insert(0, baseline)
    if target_halfwidth is not None and not target_halfwidth > 0:
        raise InputError(f"target_halfwidth must be positive, got {target_halfwidth}")
    if max_replications is None:
        max_replications = 5 * replications if target_halfwidth is not None else replications
    if max_replications < replications:
        raise InputError(
            f"max_replications ({max_replications}) is smaller than replications ({replications})"
        )

    n0 = scenario.population.initial_customers if customers is None else int(customers)
    horizon = scenario.calendar.horizon_days if days is None else int(days)
    store = ResultStore(out) if out is not None else None
    runner = Runner(backend, workers=workers, dask=dask, progress=progress)
    results: dict[tuple[str, int], dict[str, Any]] = {}
    computed = loaded = 0
    n_done, n_target = 0, replications
    with runner:
        while True:
            if store is not None:
                store.write_manifest(
                    scenario, {p: pols[p] for p in names}, seed=seed, customers=n0, days=horizon
                )
            tasks = [
                RunTask(
                    policy_name=p,
                    replication=k,
                    seed=replication_seed(seed, k),
                    scenario=scenario,
                    policy=pols[p],
                    customers=n0,
                    days=horizon,
                    study_seed=seed,
                )
                for k in range(n_done, n_target)
                for p in names
            ]
            got, c, lo = execute(tasks, runner, store)
            computed, loaded = computed + c, loaded + lo
            for r in got:
                results[(r["policy"], r["replication"])] = r
            n_done = n_target
            if store is not None:
                store.write_manifest(
                    scenario,
                    {p: pols[p] for p in names},
                    seed=seed,
                    customers=n0,
                    days=horizon,
                    replications=n_done,
                )
            if target_halfwidth is None or n_done >= max_replications or len(names) < 2:
                break
            needed = _needed_for_target(results, names, n_done, objective, target_halfwidth, level)
            if needed <= n_done:
                break
            n_target = min(max_replications, max(n_done + 1, min(needed, 2 * n_done)))

    values = {
        p: np.array(
            [[results[(p, k)]["metrics"][m] for m in METRICS] for k in range(n_done)], dtype=float
        )
        for p in names
    }
    daily = {
        p: {
            s: np.array([results[(p, k)]["daily"][s] for k in range(n_done)], dtype=float)
            for s in DAILY_SERIES
        }
        for p in names
    }
    info = {
        "scenario": scenario.name,
        "scenario_hash": scenario.content_hash(),
        "policy_hashes": {p: policy_hash(pols[p]) for p in names},
        "seed": seed,
        "customers": n0,
        "days": horizon,
        "start_date": scenario.calendar.start.isoformat(),
        "currency": scenario.economics.currency,
        "package_version": __version__,
        "engine": engine_fingerprint(),
        "study_key": study_key(scenario.content_hash(), seed=seed, customers=n0, days=horizon),
        "store": str(out) if out is not None else None,
        "runs_computed": computed,
        "runs_loaded": loaded,
        "target_halfwidth": target_halfwidth,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return Comparison(
        policies=names,
        baseline=baseline,
        values=values,
        daily=daily,
        seeds=[replication_seed(seed, k) for k in range(n_done)],
        info=info,
        level=level,
        objective=objective,
    )


def _needed_for_target(
    results: Mapping[tuple[str, int], dict[str, Any]],
    names: Sequence[str],
    n: int,
    objective: str,
    target: float,
    level: float,
) -> int:
    """Replications the current spread says every candidate needs to reach the half-width."""
    base = np.array([results[(names[0], k)]["metrics"][objective] for k in range(n)])
    needed = 0
    for c in names[1:]:
        d = np.array([results[(c, k)]["metrics"][objective] for k in range(n)]) - base
        iv = st.t_interval(d, level)
        if iv.halfwidth <= target:
            needed = max(needed, n)
        else:
            needed = max(needed, st.replications_for_halfwidth(iv.sd, target, level))
    return needed
