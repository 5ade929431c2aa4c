"""Policy comparisons: the outcome of :func:`~retention_sim.compare`.

:func:`~retention_sim.compare` runs every policy in replications ``k = 0, 1, ...``; replication
``k`` of every policy uses the same seed (:func:`~retention_sim.study.execution.replication_seed`)
and therefore the same customers and the same luck. The resulting :class:`Comparison` gives per
policy and metric the mean and its 95% interval across replications, and per candidate the
paired difference against the baseline with its interval, the probability that the candidate is
better, Holm-adjusted decisions over the candidates and the pairing efficiency (how many times
narrower the paired interval is than the one unpaired runs would give); see
:mod:`retention_sim.study.statistics`. :meth:`Comparison.verdict` turns this into adopt /
trade-off / equivalent / reject / inconclusive with guardrails (:mod:`retention_sim.study.verdict`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..outputs import write_csv, write_json
from . import statistics as st
from .groups import GROUP_METRICS, check_by, group_differences
from .guardrails import DEFAULT_MIN_EFFECT
from .metrics import DAILY_SERIES, METRICS, format_metric, metric_label, runs_frame
from .paired import PairedStudy
from .verdict import Verdict, judge, verdict_record

__all__ = ["Comparison", "comparison_text", "comparison_record", "format_by", "json_ready"]


class Comparison(PairedStudy):
    """The outcome of :func:`compare`: every run's metrics and the statistics built on them.

    Build one with :func:`~retention_sim.compare`. The statistics are those of
    :class:`~retention_sim.study.paired.PairedStudy`; a comparison adds the daily curves, the
    tables, the verdict and the output files.

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
        groups: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        by: Sequence[str] = (),
    ):
        super().__init__(
            policies=policies,
            baseline=baseline,
            values=values,
            seeds=seeds,
            info=info,
            level=level,
            objective=objective,
        )
        self._daily = {p: {k: np.asarray(v, float) for k, v in daily[p].items()} for p in policies}
        self._groups = {p: list((groups or {}).get(p, [])) for p in policies}
        self.by_kinds = check_by(list(by))

    def __repr__(self) -> str:
        return (
            f"Comparison({len(self.policies)} policies, {self.replications} replications, "
            f"baseline {self.baseline!r})"
        )

    def table(self) -> pd.DataFrame:
        """Every run's metrics in long format.

        Returns
        -------
        pandas.DataFrame
            Columns ``policy, replication, metric, value``; rows ordered by policy (as given),
            replication and metric (as in :data:`~retention_sim.study.execution.METRICS`).
        """
        n = self.replications
        return runs_frame(
            [({"policy": p}, k, self._values[p][k]) for p in self.policies for k in range(n)]
        )

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

    def by_group(self, kind: str, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Every candidate's paired difference per group of the starting base, Holm-adjusted
        across the groups (see :func:`retention_sim.study.groups.group_differences`).

        Parameters
        ----------
        kind
            ``"segment"``, ``"start_stage"``, ``"rfm_segment"``, ``"tier"`` or ``"consent_channel"``.
        metrics
            Group metrics (default: contribution, retention rate, churned).
        """
        return group_differences(
            self._groups,
            self.baseline,
            self.candidates,
            kind,
            metrics=tuple(metrics) if metrics is not None else tuple(GROUP_METRICS),
            level=self.level,
        )

    def verdict(
        self,
        objective: str | None = None,
        guardrails: Mapping[str, Any] | None = None,
        *,
        candidate: str | None = None,
        min_effect: float = DEFAULT_MIN_EFFECT,
    ) -> Verdict:
        """Adopt, trade-off, equivalent, reject or inconclusive, with the reasons in plain English.

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
            the baseline. ``None`` (default) applies
            :data:`~retention_sim.study.guardrails.DEFAULT_GUARDRAILS`; ``{}`` applies none. A
            guardrail holds only if the upper bound of its 95% interval is inside the limit.
        candidate
            Decide on this candidate only. By default every candidate is judged; with several,
            the overall decision is ``adopt`` (naming the adoptable candidate with the largest
            improvement) if any candidate is adopted, else ``trade-off`` if any wins at a cost,
            ``reject`` if all are rejected, ``equivalent`` if none is better or worse than
            practically nothing, else ``inconclusive``.
        min_effect
            The practical-significance threshold as a share of the baseline's mean (default
            :data:`~retention_sim.study.guardrails.DEFAULT_MIN_EFFECT`, 1%; 0 turns it off).

        Returns
        -------
        Verdict
            See :mod:`retention_sim.study.verdict` for the rules.
        """
        return judge(self, objective, guardrails, candidate=candidate, min_effect=min_effect)

    def to_text(self, metrics: Sequence[str] | None = None) -> str:
        """The comparison table as plain text (what ``retention-sim compare`` prints).

        One block per metric: each policy's mean with its interval and, for candidates, the
        paired difference from the baseline with its interval, the probability of being better,
        the Holm-adjusted p-value and how many times pairing narrowed the interval.
        """
        return comparison_text(self, metrics)

    def to_dict(self, verdict: Verdict | None = None) -> dict[str, Any]:
        """A JSON-ready record of the study: facts, summary, every run's metrics, the verdict."""
        return comparison_record(self, verdict)

    def write(self, out: str | Path, *, verdict: Verdict | None = None) -> list[Path]:
        """Write ``comparison.json`` (:meth:`to_dict`), ``comparison.csv`` (:meth:`summary`)
        and ``runs.csv`` (:meth:`table`: one row per policy, replication and metric, the
        long shape pandas and seaborn expect) under ``out``, atomically.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        out = Path(out)
        return [
            write_json(out / "comparison.json", self.to_dict(verdict)),
            write_csv(out / "comparison.csv", self.summary(), index=False),
            write_csv(out / "runs.csv", self.table(), index=False),
        ]


def comparison_text(c: Comparison, metrics: Sequence[str] | None = None) -> str:
    """The comparison table as plain text (what ``retention-sim compare`` prints).

    One block per metric: each policy's mean with its interval and, for candidates, the
    paired difference from the baseline with its interval, the probability of being better,
    the Holm-adjusted p-value and how many times pairing narrowed the interval.
    """
    metrics = list(metrics) if metrics is not None else _default_metrics(c.objective)
    cur = c.currency
    i = c.info
    n = c.replications
    lines = [
        f"scenario {i['scenario']} ({i['scenario_hash']}), {int(i['customers']):,} starting "
        f"customers, {int(i['days'])} days, {n} replications (seed {i['seed']}; replication "
        "k of every policy uses the same seed)",
        f"mean [{c.level:.0%} interval]; diff = paired difference candidate - "
        f"{c.baseline} [{c.level:.0%} interval]",
    ]
    width = max(len(p) for p in c.policies) + len(" (baseline)") + 2
    for m in metrics:
        lines.append("")
        lines.append(metric_label(m))
        diffs = {r["candidate"]: r for r in c.differences(m).to_dict("records")}
        for p in c.policies:
            iv = c.interval(p, m)
            tag = f"{p} (baseline)" if p == c.baseline else p
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
                    f"P(better) {st.format_probability(r['probability_better'], n)}  "
                    f"Holm p {_num(r['p_holm'])}  "
                    f"pairing {_num(r['pairing_efficiency'], 1)}x narrower"
                )
            lines.append(row)
    return "\n".join(lines)


def comparison_record(c: Comparison, verdict: Verdict | None = None) -> dict[str, Any]:
    """A JSON-ready record of the study: facts, summary, every run's metrics, the verdict."""
    out: dict[str, Any] = {
        "study": json_ready(c.info),
        "policies": c.policies,
        "baseline": c.baseline,
        "replications": c.replications,
        "seeds": c.seeds,
        "level": c.level,
        "objective": c.objective,
        "metrics": list(METRICS),
        "summary": json_ready(c.summary().to_dict("records")),
        "runs": {
            p: {m: json_ready(c._values[p][:, k].tolist()) for k, m in enumerate(METRICS)}
            for p in c.policies
        },
    }
    if c.by_kinds:
        out["by"] = {k: json_ready(c.by_group(k).to_dict("records")) for k in c.by_kinds}
    if verdict is not None:
        out["verdict"] = json_ready(verdict_record(verdict))
    return out


def json_ready(obj: Any) -> Any:
    """JSON-ready: NaN and infinities become None, numpy scalars become Python numbers, dates
    become ISO strings."""
    if isinstance(obj, Mapping):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (pd.Timestamp, dt.date)):
        return obj.isoformat()
    return obj


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


def _t_quantile(level: float, n: int) -> float:
    return st.t_quantile(0.5 + level / 2.0, n - 1) if n > 1 else math.nan


def format_by(frame: pd.DataFrame, currency: str = "") -> str:
    """A :meth:`Comparison.by_group` table as plain text (what ``compare --by`` prints)."""
    lines = []
    for (cand, key), rows in frame.groupby(["candidate", "metric"], sort=False):
        metric = str(key)
        lines.append(f"{cand} - baseline, {metric.replace('_', ' ')} by group (Holm across groups)")
        for r in rows.to_dict("records"):
            f = _group_fmt(metric, currency)
            mark = "  <- better" if r["better"] else ("  <- worse" if r["worse"] else "")
            lines.append(
                f"  {r['group']:<16} {int(round(r['customers'])):>8,} customers  "
                f"{f(r['mean'])} [{f(r['adj_low'])}, {f(r['adj_high'])}]{mark}"
            )
    return "\n".join(lines)


def _group_fmt(metric: str, currency: str) -> Any:
    if metric == "retention_rate":
        return lambda x: "n/a" if x != x else f"{100 * x:+.2f} pp"
    if metric == "contribution":
        return lambda x: "n/a" if x != x else f"{x:+,.0f} {currency}".rstrip()
    return lambda x: "n/a" if x != x else f"{x:+,.1f}"
