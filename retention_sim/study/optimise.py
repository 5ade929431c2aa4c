"""``optimise``: the best value of policy (or scenario) fields, for the base and for each group.

A pattern search (:mod:`retention_sim.study.pattern_search`) over the ranges of ``vary``. It
starts on a coarse grid and refines around each target's best point; every point runs the same
replications with the same seeds (common random numbers). The targets are the whole base on
the objective, and with ``by`` each group of the starting base on the group metric that matches
the objective: contribution for money, ``retention_rate`` or ``churned`` for those
(:mod:`retention_sim.study.groups`). Reading each group from the same runs gives the best value
*for that group* when the field applies to everyone. Use the recommendation per group by
targeting audiences in the policy.

A point is feasible when every guardrail holds on the whole base: each upper limit's 95% upper
bound inside it (as in ``sweep``; the defaults unless given otherwise). Each target's best is
its best feasible mean. The result gives, per target:

- the recommended value of each field, and the objective there with its 95% interval;
- the range of values whose paired interval against the best includes zero, that is, values
  that the study cannot tell apart from the best;
- the probability that each guardrail's limit is exceeded at the recommended point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.policy import Policy
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
from .groups import GROUP_METRICS, check_by
from .guardrails import check_guardrail
from .metrics import (
    LOWER_IS_BETTER,
    METRICS,
    format_metric,
    metric_index,
    metric_label,
    runs_frame,
)
from .pattern_search import Dimension, Point, indistinguishable, pattern_search
from .store import ResultStore
from .sweep import apply_overrides, upper_limits

__all__ = ["Optimum", "optimise", "parse_vary"]


@dataclass
class Optimum:
    """The outcome of :func:`optimise`: ``record`` (what ``optimum.json`` holds) and ``text``."""

    record: dict[str, Any]
    text: str
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)

    def write(self, out: str | Path) -> list[Path]:
        """Write ``optimum.json`` and ``runs.csv`` (every run, long: ``point``, each field,
        ``replication, metric, value``) under ``out``, atomically."""
        from ..outputs import write_csv, write_json

        return [
            write_json(Path(out) / "optimum.json", self.record),
            write_csv(Path(out) / "runs.csv", self.runs, index=False),
        ]


def parse_vary(vary: Mapping[str, Sequence[float]] | Sequence[str]) -> list[Dimension]:
    """``["FIELD=LOW..HIGH", ...]`` or ``{FIELD: (low, high)}`` → dimensions. Whole-number
    bounds (``1..60``, or two ``int``) make an integer field."""
    items: list[tuple[str, Any, Any, bool]] = []
    if isinstance(vary, Mapping):
        for f, rng in vary.items():
            a, b = rng
            items.append((f, a, b, isinstance(a, int) and isinstance(b, int)))
    else:
        for item in map(str, vary):
            f, sep, text = item.partition("=")
            lo, dots, hi = text.partition("..")
            if not sep or not dots or not f.strip():
                raise InputError(f"--vary expects FIELD=LOW..HIGH, got {item!r}")
            integer = not any(c in (lo + hi) for c in ".eE")
            items.append((f.strip(), lo, hi, integer))
    if not items:
        raise InputError("optimise needs at least one --vary FIELD=LOW..HIGH")
    dims = []
    for f, lo, hi, integer in items:
        try:
            low, high = float(lo), float(hi)
        except (TypeError, ValueError):
            raise InputError(f"--vary {f}: LOW and HIGH must be numbers") from None
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise InputError(f"--vary {f}: need finite LOW < HIGH, got {lo}..{hi}")
        dims.append(Dimension(f, low, high, integer))
    return dims


def _group_metric(objective: str) -> str:
    return objective if objective in GROUP_METRICS else "contribution"


def optimise(
    scenario: Scenario | str | Path,
    policy: Policy | str | Path | None,
    vary: Mapping[str, Sequence[float]] | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    objective: str = "profit",
    guardrails: Mapping[str, Any] | None = None,
    replications: int = 10,
    grid: int = 5,
    seed: int = 0,
    customers: int | None = None,
    days: int | None = None,
    backend: Backend = "processes",
    workers: int | None = None,
    dask: str | None = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> Optimum:
    """Find the best value of the ``vary`` fields (see the module docstring).

    Parameters
    ----------
    scenario, policy
        The scenario and the policy whose fields vary (``None``: no contact; scenario fields
        only).
    vary
        ``{field: (low, high)}`` or ``["field=low..high"]``; fields as in ``sweep``
        (``policy:campaigns.0.cadence.every_n_days``).
    by
        Group kinds to optimise for separately (``"segment"``, ``"start_stage"``, ...).
    objective, guardrails
        The metric to make best, and upper limits that every recommended point must hold.
    replications, grid
        Replications per point (the same seeds at every point) and the starting grid's values
        per field.
    seed, customers, days, backend, workers, dask, out, progress
        As in :func:`~retention_sim.study.compare.compare`.

    Returns
    -------
    Optimum
        ``record`` holds per target (``all`` and ``KIND=GROUP``) ``recommended``, ``mean``,
        ``low``, ``high``, ``indistinguishable`` (per field, the lowest and highest value that
        ties the best), and ``guardrails`` (``probability_broken`` per limit); and every
        evaluated point.
    """
    scenario = resolve_scenario(scenario)
    pol = next(iter(resolve_policies([policy], scenario).values()))
    check_common(replications, seed, customers, days)
    metric_index(objective)
    kinds = check_by(by)
    checks = upper_limits(guardrails)
    dims = parse_vary(vary)
    for d in dims:  # refuse unknown fields before any run
        apply_overrides(scenario, pol, {d.field: int(d.low) if d.integer else d.low})
    sign = -1.0 if objective in LOWER_IS_BETTER else 1.0
    gm = _group_metric(objective)
    gsign = -1.0 if gm == "churned" else 1.0
    store = ResultStore(out) if out is not None else None
    base_name = pol.name if pol is not None else "no_contact"
    metrics: dict[Point, np.ndarray] = {}
    index: dict[Point, int] = {}

    with Runner(backend, workers=workers, dask=dask, progress=progress) as runner:

        def evaluate(points: list[Point]) -> dict[Point, dict[str, np.ndarray]]:
            arms = []
            for p in points:
                index[p] = len(index)
                assign = {
                    d.field: (int(v) if d.integer else v) for d, v in zip(dims, p, strict=True)
                }
                sc, po = apply_overrides(scenario, pol, assign)
                arms.append(Arm(f"{base_name}@{index[p]}", sc, po, point=index[p],
                                extra={"optimise_point": assign}))  # fmt: skip
            got, _, _ = run_arms(
                runner, store, arms, range(replications), seed=seed, customers=customers, days=days
            )
            by_point = {index[p]: p for p in points}
            rows: dict[Point, list[Any]] = {p: [None] * replications for p in points}
            for r in got:
                rows[by_point[r["point"]]][r["replication"]] = r
            out_: dict[Point, dict[str, np.ndarray]] = {}
            for p, runs in rows.items():
                metrics[p] = np.array([[r["metrics"][m] for m in METRICS] for r in runs])
                t = {"all": sign * metrics[p][:, metric_index(objective)]}
                for k in kinds:
                    for g in runs[0]["groups"].get(k, {}):
                        t[f"{k}={g}"] = gsign * np.array(
                            [GROUP_METRICS[gm](r["groups"][k][g]) for r in runs]
                        )
                out_[p] = t
            return out_

        def feasible(p: Point) -> bool:
            return all(_check(metrics[p], c).held for c in checks)

        result = pattern_search(dims, evaluate, grid=grid, feasible=feasible)
    return _optimum(scenario, base_name, dims, result, metrics, checks, objective, gm, sign,
                    gsign, replications)  # fmt: skip


def _check(vals: np.ndarray, c: tuple[str, str, float]) -> Any:
    m, _, limit = c
    x = vals[:, metric_index(m)]
    return check_guardrail(m, "max", limit, x, x)


def _optimum(
    scenario: Scenario,
    base_name: str,
    dims: list[Dimension],
    result: Any,
    metrics: dict[Point, np.ndarray],
    checks: list[tuple[str, str, float]],
    objective: str,
    gm: str,
    sign: float,
    gsign: float,
    replications: int,
) -> Optimum:
    targets: dict[str, Any] = {}
    for t, best in sorted(result.best.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        s = sign if t == "all" else gsign
        iv = st.t_interval(s * result.values[best][t])
        ok = {p for p in result.values if all(_check(metrics[p], c).held for c in checks)}
        ties = [p for p in indistinguishable(result.values, t, best) if p in ok or not ok]
        span = [best, *ties]
        targets[t] = {
            "metric": objective if t == "all" else gm,
            "recommended": {d.field: best[i] for i, d in enumerate(dims)},
            "mean": iv.mean,
            "low": iv.low,
            "high": iv.high,
            "indistinguishable": {
                d.field: [min(p[i] for p in span), max(p[i] for p in span)]
                for i, d in enumerate(dims)
            },
            "tied_points": [list(p) for p in sorted(span)],
            "guardrails": [
                {
                    "metric": c[0],
                    "limit": c[2],
                    "upper": g.upper,
                    "probability_broken": g.probability_broken,
                    "state": g.state,
                }
                for c in checks
                for g in [_check(metrics[best], c)]
            ],  # fmt: skip
        }
    evaluated = [
        {
            **{d.field: p[i] for i, d in enumerate(dims)},
            "mean": float(sign * np.mean(r["all"])),
            "feasible": all(_check(metrics[p], c).held for c in checks),
        }
        for p, r in sorted(result.values.items())
    ]
    record = {
        "scenario": scenario.name,
        "policy": base_name,
        "objective": objective,
        "dimensions": [
            {"field": d.field, "low": d.low, "high": d.high, "integer": d.integer} for d in dims
        ],  # fmt: skip
        "replications": replications,
        "points_evaluated": len(evaluated),
        "rounds": result.rounds,
        "targets": targets,
        "evaluated": evaluated,
    }
    record = json_ready(record)
    long = runs_frame(
        [
            ({"point": i, **{d.field: v for d, v in zip(dims, p, strict=True)}}, k, row)
            for i, p in enumerate(metrics)  # in the order evaluated: the point numbers
            for k, row in enumerate(metrics[p])
        ]
    )
    return Optimum(record, _text(record, scenario.economics.currency), long)


def _formatter(m: str, cur: str) -> Any:
    if m in METRICS:
        return lambda x: format_metric(m, x, cur)
    return lambda x: f"{x:,.0f} {cur}".rstrip()


def _text(rec: dict[str, Any], cur: str) -> str:
    lines = [
        f"{rec['points_evaluated']} points evaluated ({rec['rounds']} refinement rounds after "
        f"the grid), {rec['replications']} replications each on the same seeds"
    ]
    for t, r in rec["targets"].items():
        m = r["metric"]
        fmt = _formatter(m, cur)
        rec_v = ", ".join(f"{f}={v:g}" for f, v in r["recommended"].items())
        ties = "; ".join(f"{f} {lo:g} to {hi:g}" for f, (lo, hi) in r["indistinguishable"].items())
        lines.append(
            f"{t}: {rec_v} -> {metric_label(m)} {fmt(r['mean'])} [{fmt(r['low'])}, "
            f"{fmt(r['high'])}]; not told apart from the best (feasible): {ties}"
        )
        for g in r["guardrails"]:
            lines.append(
                f"    {metric_label(g['metric'])}: P(limit exceeded) "
                f"{st.format_probability(g['probability_broken'], rec['replications'])} "
                f"({g['state']})"
            )
    return "\n".join(lines)
