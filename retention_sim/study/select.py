"""``select``: the best of many policies, with a stated probability of being right.

The KN procedure (:mod:`retention_sim.study.ranking_selection`) runs on the engine: a first
stage of ``first_stage`` replications of every policy, then one replication at a time of the
policies still in contention only, every policy's replication ``r`` on the same seed (common
random numbers), until one is left. Each run goes through the result store like ``compare``'s,
so a study run again reads its finished runs.

Guardrails are checked on the first stage, before the sequential part: a policy whose estimate
is beyond a guardrail's limit (the verdict's "broken") leaves as infeasible. The selected
policy's guardrails are checked again on all its replications, with their upper bounds and the
probability that each limit is exceeded. The PCS guarantee is about the objective among the
feasible policies; the feasibility screen is not part of it.

The indifference zone is given in the objective's units, or as a share of the first policy's
first-stage mean (``"1%"``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.scenario import Scenario
from ..errors import InputError
from . import statistics as st
from .comparison import json_ready
from .design import (
    Arm,
    check_common,
    resolve_policies,
    resolve_scenario,
    run_arms,
)
from .execution import Backend, Runner
from .guardrails import DEFAULT_GUARDRAILS, GuardrailCheck, check_guardrail, parse_guardrails
from .metrics import (
    LOWER_IS_BETTER,
    METRICS,
    format_metric,
    metric_index,
    metric_label,
    runs_frame,
)
from .ranking_selection import KNOutcome, kn_select
from .store import ResultStore

__all__ = ["Selection", "select", "parse_indifference"]

PROCEDURE = (
    "KN: Kim, S.-H. and Nelson, B. L. (2001), A fully sequential procedure for "
    "indifference-zone selection in simulation, ACM TOMACS 11(3), 251-273"
)


@dataclass
class Selection:
    """The outcome of :func:`select`.

    Attributes
    ----------
    selected
        The selected policy.
    record
        Everything ``selection.json`` holds (see :func:`select`).
    text
        What the command prints.
    """

    selected: str
    record: dict[str, Any]
    text: str
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)

    def write(self, out: str | Path) -> list[Path]:
        """Write ``selection.json`` and ``runs.csv`` (every run, long: ``policy, replication,
        metric, value``) under ``out``, atomically."""
        from ..outputs import write_csv, write_json

        return [
            write_json(Path(out) / "selection.json", self.record),
            write_csv(Path(out) / "runs.csv", self.runs, index=False),
        ]


def parse_indifference(value: float | str) -> tuple[float | None, float | None]:
    """``"1%"`` → ``(None, 0.01)`` (a share); ``250000`` → ``(250000.0, None)`` (absolute)."""
    if isinstance(value, str):
        t = value.strip()
        try:
            if t.endswith("%"):
                share = float(t[:-1]) / 100.0
                if not share > 0 or not math.isfinite(share):
                    raise ValueError
                return None, share
            value = float(t)
        except ValueError:
            raise InputError(
                f"indifference must be a positive number or a share such as 1%, got {value!r}",
                field="indifference",
            ) from None
    if isinstance(value, bool) or not float(value) > 0 or not math.isfinite(float(value)):
        raise InputError(f"indifference must be positive, got {value!r}", field="indifference")
    return float(value), None


def select(
    scenario: Scenario | str | Path,
    policies: Any,
    *,
    pcs: float = 0.95,
    indifference: float | str = "1%",
    objective: str = "profit",
    guardrails: Mapping[str, Any] | None = None,
    first_stage: int = 10,
    max_replications: int = 500,
    seed: int = 0,
    customers: int | None = None,
    days: int | None = None,
    backend: Backend = "processes",
    workers: int | None = None,
    dask: str | None = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> Selection:
    """Select the best policy on ``objective`` with probability at least ``pcs``.

    Parameters
    ----------
    scenario, policies
        As in :func:`~retention_sim.study.compare.compare` (at least two policies).
    pcs
        The stated probability of correct selection, between ``1/k`` and 1.
    indifference
        The smallest difference worth detecting: in the objective's units, or ``"x%"`` of the
        first policy's first-stage mean.
    objective
        The metric to make best (lower is better for costs, rates, churn).
    guardrails
        As in :meth:`Comparison.verdict`; ``None`` applies the defaults.
    first_stage
        Replications of every policy before the sequential part (``n0``; at least 2).
    max_replications
        A cap per policy; if reached, the largest mean is selected and ``capped`` is set.
    seed, customers, days, backend, workers, dask, out, progress
        As in :func:`~retention_sim.study.compare.compare`.

    Returns
    -------
    Selection
        ``record`` holds ``selected``, ``pcs``, ``indifference`` (absolute, and the share if
        given so), ``replications`` per policy, ``total_replications``, ``equal_allocation``
        (what equal allocation would need for the same guarantee), ``eliminated`` (policy,
        after how many replications, behind which policy, or as infeasible), ``intervals``
        (every other policy against the selected one, paired over their common replications),
        ``guardrails`` (the selected policy's checks), ``capped`` and the study's facts.
    """
    scenario = resolve_scenario(scenario)
    pols = resolve_policies(policies, scenario)
    names = list(pols)
    if len(names) < 2:
        raise InputError("select needs at least two policies")
    check_common(first_stage, seed, customers, days)
    metric_index(objective)
    checks = parse_guardrails(DEFAULT_GUARDRAILS if guardrails is None else guardrails)
    absolute, share = parse_indifference(indifference)
    if not 1.0 / len(names) < pcs < 1.0:
        raise InputError(f"pcs must lie between 1/{len(names)} and 1, got {pcs}", field="pcs")
    if max_replications < first_stage:
        raise InputError(
            f"max_replications ({max_replications}) is smaller than first_stage ({first_stage})"
        )
    sign = -1.0 if objective in LOWER_IS_BETTER else 1.0
    arms = [Arm(p, scenario, pols[p]) for p in names]
    store = ResultStore(out) if out is not None else None
    runs = _Runs(arms, seed=seed, customers=customers, days=days, store=store)
    values = runs.values
    from tqdm.auto import tqdm

    bar = tqdm(total=None, desc="select: runs", unit="run", disable=not progress)
    with Runner(backend, workers=workers, dask=dask, progress=False) as runner:

        def run(systems: list[int], reps: range) -> None:
            bar.update(runs.run(runner, systems, reps))

        run(list(range(len(names))), range(first_stage))
        col = metric_index(objective)
        first = np.array([[values[k][p][col] for p in names] for k in range(first_stage)])
        if absolute is not None:
            delta = absolute
        else:
            delta = float(share or 0.0) * abs(float(first[:, 0].mean()))
        if not delta > 0:
            raise InputError(
                f"the first policy's mean {metric_label(objective)} is 0: give the "
                "indifference in its units, not as a share",
                field="indifference",
            )
        infeasible = _infeasible(names, values, first_stage, checks)
        feasible = [i for i, p in enumerate(names) if p not in infeasible]
        if not feasible:
            raise InputError("every policy breaks a guardrail on the first stage")

        def sample(systems: Any, r: int) -> np.ndarray:
            if any(names[s] not in values.get(r, {}) for s in systems):
                run(list(systems), range(r, r + 1))
            return np.array([sign * values[r][names[s]][col] for s in systems])

        if len(feasible) == 1:
            outcome = KNOutcome(selected=feasible[0], replications=[first_stage] * len(names))
            outcome.means = list(first.mean(axis=0))
        else:
            outcome = kn_select(
                sign * first,
                sample,
                pcs=pcs,
                indifference=delta,
                max_replications=max_replications,
                alive=feasible,
            )
    bar.close()
    return _selection(
        scenario, names, values, outcome, infeasible, checks,
        objective=objective, pcs=pcs, delta=delta, share=share, first_stage=first_stage,
        seed=seed, customers=arms[0].size(customers, days), computed=runs.computed,
    )  # fmt: skip


class _Runs:
    """The study's runs so far, replication by replication, through the result store."""

    def __init__(
        self,
        arms: list[Arm],
        *,
        seed: int,
        customers: int | None,
        days: int | None,
        store: ResultStore | None,
    ):
        self.arms, self.seed, self.customers, self.days, self.store = (
            arms, seed, customers, days, store,
        )  # fmt: skip
        self.values: dict[int, dict[str, np.ndarray]] = {}  # replication -> policy -> metrics
        self.computed = [0, 0]

    def run(self, runner: Runner, systems: list[int], reps: range) -> int:
        """Run replications ``reps`` of ``systems``; returns the number of runs."""
        todo = [self.arms[s] for s in systems]
        n0, horizon = self.customers, self.days
        got, c, lo = run_arms(
            runner, self.store, todo, reps, seed=self.seed, customers=n0, days=horizon
        )
        self.computed[0] += c
        self.computed[1] += lo
        for r in got:
            row = np.array([r["metrics"][m] for m in METRICS], dtype=float)
            self.values.setdefault(r["replication"], {})[r["policy"]] = row
        return len(got)


def _infeasible(
    names: list[str],
    values: dict[int, dict[str, np.ndarray]],
    n: int,
    checks: list[tuple[str, str, float]],
) -> dict[str, list[str]]:
    """Policies whose first-stage estimate is beyond a guardrail's limit, with the metrics."""
    out: dict[str, list[str]] = {}
    base = names[0]
    for p in names:
        for metric, kind, limit in checks:
            c = _series(values, p, metric, n)
            g = check_guardrail(metric, kind, limit, c, _series(values, base, metric, n))
            if g.state == "broken":
                out.setdefault(p, []).append(metric)
    return out


def _series(
    values: dict[int, dict[str, np.ndarray]], policy: str, metric: str, n: int
) -> np.ndarray:
    col = metric_index(metric)
    return np.array([values[k][policy][col] for k in range(n)])


def _selection(
    scenario: Scenario,
    names: list[str],
    values: dict[int, dict[str, np.ndarray]],
    outcome: KNOutcome,
    infeasible: dict[str, list[str]],
    checks: list[tuple[str, str, float]],
    *,
    objective: str,
    pcs: float,
    delta: float,
    share: float | None,
    first_stage: int,
    seed: int,
    customers: tuple[int, int],
    computed: list[int],
) -> Selection:
    """The record and the text of a finished selection."""
    best = names[outcome.selected]
    reps = dict(zip(names, outcome.replications, strict=True))
    cur = scenario.economics.currency
    intervals = {}
    for p in names:
        if p == best:
            continue
        n = min(reps[p], reps[best])
        d = _series(values, p, objective, n) - _series(values, best, objective, n)
        iv = st.t_interval(d)
        intervals[p] = {"mean": iv.mean, "low": iv.low, "high": iv.high, "replications": n}
    guard: list[GuardrailCheck] = []
    for metric, kind, limit in checks:
        # a limit on the increase is paired with the first policy over their common replications
        n = reps[best] if kind == "max" else min(reps[best], reps[names[0]])
        c = _series(values, best, metric, n)
        b = _series(values, names[0], metric, n) if kind == "max_increase" else np.zeros(n)
        guard.append(check_guardrail(metric, kind, limit, c, b))
    eliminated = [
        {"policy": p, "after_replications": first_stage, "by": None, "reason": "guardrail",
         "guardrails": ms}
        for p, ms in infeasible.items()
    ] + [
        {"policy": names[i], "after_replications": r, "by": names[j], "reason": "objective"}
        for i, r, j in outcome.eliminated
    ]  # fmt: skip
    record: dict[str, Any] = {
        "procedure": PROCEDURE,
        "objective": objective,
        "better": "lower" if objective in LOWER_IS_BETTER else "higher",
        "selected": best,
        "pcs": pcs,
        "indifference": delta,
        "indifference_share": share,
        "first_stage": first_stage,
        "eta": outcome.eta,
        "h2": outcome.h2,
        "replications": reps,
        "total_replications": int(sum(reps.values())),
        "equal_allocation": outcome.equal_allocation,
        "capped": outcome.capped,
        "eliminated": eliminated,
        "means": {p: float(_series(values, p, objective, reps[p]).mean()) for p in names},
        "intervals": intervals,
        "guardrails": [
            {
                "metric": g.metric,
                "kind": g.kind,
                "limit": g.limit,
                "value": g.value,
                "upper": g.upper,
                "probability_broken": g.probability_broken,
                "state": g.state,
            }
            for g in guard
        ],
        "study": {
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "seed": seed,
            "customers": customers[0],
            "days": customers[1],
            "runs_computed": computed[0],
            "runs_loaded": computed[1],
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        },
    }
    record = json_ready(record)
    long = runs_frame(
        [({"policy": p}, k, row) for k, by in sorted(values.items()) for p, row in by.items()]
    )
    return Selection(best, record, _text(record, cur), long)


def _text(rec: dict[str, Any], cur: str) -> str:
    obj = rec["objective"]
    f = lambda x: format_metric(obj, x, cur)  # noqa: E731
    fd = lambda x: format_metric(obj, x, cur, difference=True)  # noqa: E731
    share = rec["indifference_share"]
    zone = fd(rec["indifference"]).lstrip("+") + (
        f" ({share:.1%} of the first policy)" if share else ""
    )
    lines = [
        f"Selected: {rec['selected']} (best {metric_label(obj)}, with probability at least "
        f"{rec['pcs']:.0%} when the best leads the rest by {zone} or more; otherwise a policy "
        f"within {zone} of the best).",
        f"Replications: {rec['total_replications']:,} in all, against {rec['equal_allocation']:,} "
        "for equal allocation with the same guarantee; "
        + ", ".join(f"{p} {n}" for p, n in rec["replications"].items())
        + ".",
    ]
    if rec["capped"]:
        lines.append(
            "The replication cap was reached before the procedure stopped: the largest mean is "
            "selected and the stated probability does not hold."
        )
    lines.append("Eliminated:")
    for e in rec["eliminated"]:
        if e["reason"] == "guardrail":
            lines.append(
                f"  {e['policy']}: breaks a guardrail ({', '.join(e['guardrails'])}) on the "
                f"first {e['after_replications']} replications"
            )
        else:
            lines.append(
                f"  {e['policy']}: after {e['after_replications']} replications, behind {e['by']}"
            )
    lines.append(
        f"Against {rec['selected']} (mean {f(rec['means'][rec['selected']])}; paired 95% intervals):"
    )
    for p, iv in rec["intervals"].items():
        lines.append(
            f"  {p}: {fd(iv['mean'])} [{fd(iv['low'])}, {fd(iv['high'])}] over "
            f"{iv['replications']} replications"
        )
    if rec["guardrails"]:
        lines.append(f"Guardrails of {rec['selected']}:")
        for g in rec["guardrails"]:
            lines.append(
                f"  {metric_label(g['metric'])} {format_metric(g['metric'], g['value'], cur)} "
                f"(95% upper bound {format_metric(g['metric'], g['upper'], cur)}; limit "
                f"{format_metric(g['metric'], g['limit'], cur)}): {g['state'].upper()}"
            )
    return "\n".join(lines)
