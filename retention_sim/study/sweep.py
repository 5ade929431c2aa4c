"""What-if curves: one policy on one scenario, with fields of either varied over a grid.

Every grid point runs the same replications with the same seeds (common random numbers), so the
points are compared with each other in pairs: besides each point's mean and 95% interval, the
table gives each point's paired difference from the best point on the objective.

Grid fields are dotted paths, prefixed with the model they belong to::

    {"policy:campaigns.0.cadence.every_n_days": [1, 3, 7, 14, 30, 90]}
    {"scenario:service.agents": [2, 4, 6, 8]}
    {"policy:guardrails.holdout_share": [0.0, 0.05, 0.1]}

Without a prefix the field is looked up in the policy first, then in the scenario. Several fields
make a Cartesian product of points.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.policy import Policy
from ..config.scenario import Scenario
from ..errors import InputError
from . import statistics as st
from .design import (
    Arm,
    check_common,
    resolve_policies,
    resolve_scenario,
    run_arms,
)
from .execution import Backend, Runner, replication_seed
from .guardrails import DEFAULT_GUARDRAILS, GuardrailCheck, check_guardrail, parse_guardrails
from .metrics import (
    LOWER_IS_BETTER,
    METRICS,
    RATE_METRICS,
    format_metric,
    metric_index,
    metric_label,
    runs_frame,
)
from .store import ResultStore

__all__ = [
    "sweep_runs",
    "sweep_long",
    "sweep_wide",
    "POINT_COLUMNS",
    "sweep",
    "format_sweep",
    "parse_field",
    "apply_overrides",
    "upper_limits",
]


def parse_field(key: str) -> tuple[str | None, str]:
    """Split ``"policy:campaigns.0.cadence.every_n_days"`` into ``("policy", "campaigns...")``.

    Returns
    -------
    tuple
        ``(target, path)`` with ``target`` ``"policy"``, ``"scenario"`` or ``None`` (no prefix).
    """
    if not isinstance(key, str) or not key.strip():
        raise InputError(f"a grid field must be a dotted path, got {key!r}")
    target, sep, path = key.partition(":")
    if not sep:
        return None, key.strip()
    target = target.strip().lower()
    if target not in ("policy", "scenario"):
        raise InputError(f"field prefix must be 'policy:' or 'scenario:', got {key!r}")
    if not path.strip():
        raise InputError(f"missing field path after the prefix in {key!r}")
    return target, path.strip()


def apply_overrides(
    scenario: Scenario, policy: Policy | None, assignment: Mapping[str, Any]
) -> tuple[Scenario, Policy | None]:
    """The scenario and policy with the fields of ``assignment`` replaced (re-validated).

    Parameters
    ----------
    scenario, policy
        The base models (``policy`` may be ``None`` when only scenario fields are set).
    assignment
        ``{field: value}`` with fields as accepted by :func:`parse_field`.

    Raises
    ------
    InputError
        For an unknown field or a value the model refuses.
    """
    sc_over: dict[str, Any] = {}
    po_over: dict[str, Any] = {}
    for key, value in assignment.items():
        target, path = parse_field(key)
        if target is None:
            target = _guess_target(scenario, policy, path)
        if target == "policy":
            if policy is None:
                raise InputError(f"{key!r} is a policy field but there is no policy")
            po_over[path] = value
        else:
            sc_over[path] = value
    sc = scenario.with_overrides(sc_over) if sc_over else scenario
    # a policy field with no policy was refused above, so ``po_over`` implies a policy
    # a point keeps its policy's name: the sweep labels points by their values
    po = (
        policy.with_overrides(po_over, name=policy.name)
        if po_over and policy is not None
        else policy
    )
    return sc, po


def _guess_target(scenario: Scenario, policy: Policy | None, path: str) -> str:
    if policy is not None and _has_path(policy.model_dump(mode="json"), path):
        return "policy"
    if _has_path(scenario.model_dump(mode="json"), path):
        return "scenario"
    raise InputError(f"no such policy or scenario field {path!r}", field=path)


def _has_path(data: Any, path: str) -> bool:
    node = data
    for k in path.split("."):
        if isinstance(node, list) and k.isdigit() and int(k) < len(node):
            node = node[int(k)]
        elif isinstance(node, dict) and k in node:
            node = node[k]
        else:
            return False
    return True


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> list[str]:
    """The grid's fields, each with a non-empty list of values and a well-formed path."""
    if not isinstance(grid, Mapping) or not grid:
        raise InputError("grid must map at least one field to a list of values")
    fields = list(grid)
    for f in fields:
        vals = grid[f]
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or len(vals) == 0:
            raise InputError(f"grid field {f!r} needs a non-empty list of values")
        parse_field(f)

    return fields


def _table(
    vals: np.ndarray,
    points: list[dict[str, Any]],
    metrics: list[str],
    *,
    objective: str,
    best: int,
    level: float,
) -> pd.DataFrame:
    """One row per point: its values, each metric's mean and interval, the paired difference
    from the best point on the objective."""
    obj = METRICS.index(objective)
    replications = vals.shape[1]
    rows = []
    for i, a in enumerate(points):
        row: dict[str, Any] = {"point": i, **a, "replications": replications}
        for m in metrics:
            x = vals[i, :, METRICS.index(m)]
            rate = m in RATE_METRICS and bool(np.all((x >= 0) & (x <= 1)))
            iv = st.rate_interval(x, level) if rate else st.t_interval(x, level)
            row[f"{m}_mean"], row[f"{m}_low"], row[f"{m}_high"] = iv.mean, iv.low, iv.high
        d = st.paired_difference(vals[i, :, obj], vals[best, :, obj], level)
        row["diff_vs_best_mean"] = d.mean
        row["diff_vs_best_low"] = d.low if i != best else 0.0
        row["diff_vs_best_high"] = d.high if i != best else 0.0
        row["best"] = i == best
        rows.append(row)
    return pd.DataFrame(rows)


def sweep(
    scenario: Scenario | str | Path,
    policy: Policy | str | Path | None,
    grid: Mapping[str, Sequence[Any]],
    *,
    replications: int = 10,
    seed: int = 0,
    customers: int | None = None,
    days: int | None = None,
    objective: str = "profit",
    metrics: Sequence[str] | None = None,
    backend: Backend = "processes",
    workers: int | None = None,
    dask: str | None = None,
    out: str | Path | None = None,
    level: float = 0.95,
    progress: bool = True,
    guardrails: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """What-if curve: the objective (and other metrics) at every point of a grid.

    Parameters
    ----------
    scenario
        A :class:`~retention_sim.Scenario` or a scenario file.
    policy
        A :class:`~retention_sim.config.policy.Policy`, a policy file, or ``None`` (no contact; then
        only scenario fields can vary).
    grid
        ``{field: [values]}`` (see the module docstring); several fields give their product.
    replications
        Replications per point (at least 2), the same seeds at every point.
    seed, customers, days
        As in :func:`~retention_sim.study.comparison.compare`.
    objective
        The metric that picks the best point (the highest, or the lowest for metrics in
        :data:`~retention_sim.study.comparison.LOWER_IS_BETTER`).
    metrics
        Metrics to tabulate (default: the objective, retention rate, unsubscribe rate, complaint
        rate, contact cost per customer).
    backend, workers, dask, out, level, progress
        As in :func:`~retention_sim.study.comparison.compare`; ``out`` is a result store, so a sweep
        run again reads its finished runs.
    guardrails
        Upper limits on a point's mean, as in :meth:`Comparison.verdict` (``None``: the
        defaults of :mod:`retention_sim.study.guardrails`; ``{}``: none). A sweep has no
        baseline, so only ``max`` limits apply. The best point is the best mean among the points
        whose every guardrail holds (its 95% upper bound inside the limit); if none does, the
        best mean of all, and ``.attrs["best_feasible"]`` is False.

    Returns
    -------
    pandas.DataFrame
        Long: one row per point and metric (the metrics asked for, plus every guardrail's):
        ``point``, one column per grid field, ``metric``, ``mean``, ``low``, ``high`` (rates
        with intervals inside [0, 1]), ``p_exceeded`` (a guardrail metric's probability of
        breaking its limit), then the point's ``replications``, paired difference from the best
        point on the objective (``diff_vs_best_mean``, ``diff_vs_best_low``,
        ``diff_vs_best_high``), ``best`` (True on the best point), ``ties_best`` (True where the
        paired interval against the best point includes zero: the data cannot tell the two
        apart) and ``guardrails_hold``. :func:`sweep_wide` gives one row per point instead.
        ``.attrs``: ``objective``, ``best_point``, ``tied_points``, ``best_feasible``,
        ``guardrails``, ``seed``, ``seeds``, ``level``, ``fields``, ``runs`` (:func:`sweep_runs`).
    """
    scenario = resolve_scenario(scenario)
    pol = next(iter(resolve_policies([policy], scenario).values()))
    check_common(replications, seed, customers, days)
    metric_index(objective)
    if metrics is None:
        metrics = [
            objective,
            "retention_rate",
            "unsubscribe_rate",
            "complaint_rate",
            "contact_cost_per_customer",
        ]
    checks = upper_limits(guardrails)
    metrics = list(dict.fromkeys([objective, *metrics, *(m for m, _, _ in checks)]))
    for m in metrics:
        metric_index(m)
    fields = _check_grid(grid)
    points = [dict(zip(fields, combo, strict=True)) for combo in itertools.product(*grid.values())]
    models = [apply_overrides(scenario, pol, a) for a in points]
    base_name = pol.name if pol is not None else "no_contact"
    arms = [
        Arm(f"{base_name}@{i}", sc, po, point=i, extra={"sweep_point": points[i]})
        for i, (sc, po) in enumerate(models)
    ]
    store = ResultStore(out) if out is not None else None
    with Runner(backend, workers=workers, dask=dask, progress=progress) as runner:
        results, computed, loaded = run_arms(
            runner, store, arms, range(replications), seed=seed, customers=customers, days=days
        )

    n_pts = len(points)
    vals = np.full((n_pts, replications, len(METRICS)), np.nan)
    for r in results:
        vals[r["point"], r["replication"]] = [r["metrics"][m] for m in METRICS]

    best, feasible, held = _best_point(vals, checks, objective)
    frame = _table(vals, points, metrics, objective=objective, best=best, level=level)
    _mark(frame, best, feasible, held, checks)
    frame.attrs.update(
        {
            "objective": objective,
            "best_point": best,
            "tied_points": [int(i) for i in frame.loc[frame["ties_best"], "point"]],
            "best_feasible": bool(feasible),
            "guardrails": {m: limit for m, _, limit in checks},
            "seed": seed,
            "seeds": [replication_seed(seed, k) for k in range(replications)],
            "level": level,
            "fields": fields,
            "runs_computed": computed,
            "runs_loaded": loaded,
            "currency": scenario.economics.currency,
            "runs": sweep_runs(vals, points, fields),
        }
    )
    return sweep_long(frame, metrics)


#: A sweep's columns that belong to the point (the same on each of its metric rows).
POINT_COLUMNS = (
    "replications",
    "diff_vs_best_mean",
    "diff_vs_best_low",
    "diff_vs_best_high",
    "best",
    "ties_best",
    "guardrails_hold",
)


def sweep_long(wide: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per point and metric: ``point``, the fields, ``metric``, ``mean``, ``low``,
    ``high``, ``p_exceeded`` (a guardrail metric's probability of breaking its limit, else
    NaN), then the point's :data:`POINT_COLUMNS`. :func:`sweep_wide` is the inverse."""
    fields = list(wide.attrs.get("fields", []))
    rows = []
    for r in wide.to_dict("records"):
        head = {"point": r["point"], **{f: r[f] for f in fields}}
        tail = {c: r[c] for c in POINT_COLUMNS if c in r}
        for m in metrics:
            rows.append(
                {
                    **head,
                    "metric": m,
                    "mean": r[f"{m}_mean"],
                    "low": r[f"{m}_low"],
                    "high": r[f"{m}_high"],
                    "p_exceeded": r.get(f"{m}_p_exceeded", math.nan),
                    **tail,
                }
            )
    long = pd.DataFrame(rows)
    long.attrs.update(wide.attrs)
    return long


def sweep_wide(frame: pd.DataFrame) -> pd.DataFrame:
    """A sweep with one row per point (a column per metric and statistic, as for a table or a
    plot): the inverse of :func:`sweep_long`; a frame already wide is returned as it is."""
    if "metric" not in frame.columns:
        return frame
    fields = list(frame.attrs.get("fields", []))
    metrics = list(dict.fromkeys(frame["metric"]))
    first = frame[frame["metric"] == metrics[0]].reset_index(drop=True)
    wide = first[["point", *fields, "replications"]].copy()
    for m in metrics:
        sub = frame[frame["metric"] == m].reset_index(drop=True)
        for stat in ("mean", "low", "high"):
            wide[f"{m}_{stat}"] = sub[stat].to_numpy()
    for c in POINT_COLUMNS[1:]:
        if c in first:
            wide[c] = first[c].to_numpy()
    for m in frame.attrs.get("guardrails", {}):
        if m in metrics:
            wide[f"{m}_p_exceeded"] = frame.loc[frame["metric"] == m, "p_exceeded"].to_numpy()
    wide.attrs.update(frame.attrs)
    return wide


def sweep_runs(vals: np.ndarray, points: list[dict[str, Any]], fields: list[str]) -> pd.DataFrame:
    """Every run of a sweep in long format: ``point``, each field's value, ``replication``,
    ``metric``, ``value`` (one row per point, replication and metric)."""
    n_pts, n_rep, _ = vals.shape
    return runs_frame(
        [
            ({"point": i, **{f: points[i][f] for f in fields}}, k, vals[i, k])
            for i in range(n_pts)
            for k in range(n_rep)
        ]
    )


def upper_limits(guardrails: Mapping[str, Any] | None) -> list[tuple[str, str, float]]:
    """The sweep's guardrails (the defaults for ``None``): upper limits on a point's mean."""
    checks = parse_guardrails(DEFAULT_GUARDRAILS if guardrails is None else guardrails)
    for metric, kind, _ in checks:
        if kind != "max":
            raise InputError(
                f"guardrail {metric!r}: a sweep has no baseline, so only an upper limit on the "
                "mean applies, not max_increase",
                field="guardrails",
            )
    return checks


def _best_point(
    vals: np.ndarray, checks: list[tuple[str, str, float]], objective: str
) -> tuple[int, list[int], dict[tuple[int, str], GuardrailCheck]]:
    """The best point among those whose every guardrail holds (of all points if none does),
    the feasible points, and every point's guardrail checks."""
    n_pts = vals.shape[0]
    sign = -1.0 if objective in LOWER_IS_BETTER else 1.0
    means = vals[:, :, METRICS.index(objective)].mean(axis=1)
    held = {
        (i, m): check_guardrail(m, "max", limit, vals[i, :, METRICS.index(m)], vals[i, :, 0])
        for i in range(n_pts)
        for m, _, limit in checks
    }
    feasible = [i for i in range(n_pts) if all(held[(i, m)].held for m, _, _ in checks)]
    pool = feasible or list(range(n_pts))
    return max(pool, key=lambda i: (sign * means[i], -i)), feasible, held


def _mark(
    frame: pd.DataFrame,
    best: int,
    feasible: list[int],
    held: dict[tuple[int, str], GuardrailCheck],
    checks: list[tuple[str, str, float]],
) -> None:
    """Add ``ties_best``, ``guardrails_hold`` and each guardrail's ``<metric>_p_exceeded``."""
    n_pts = len(frame)
    frame["ties_best"] = [
        i != best and r["diff_vs_best_low"] <= 0 <= r["diff_vs_best_high"]
        for i, r in enumerate(frame.to_dict("records"))
    ]
    frame["guardrails_hold"] = [i in feasible for i in range(n_pts)]
    for m, _, _ in checks:
        frame[f"{m}_p_exceeded"] = [held[(i, m)].probability_broken for i in range(n_pts)]


def format_sweep(frame: pd.DataFrame) -> str:
    """A sweep table as plain text (what ``retention-sim sweep`` prints).

    The best point is marked "<- best" only when the paired interval of every other point
    against it excludes zero; otherwise it is "<- highest mean" (or lowest) and the text names
    the points it ties with. Points whose guardrails do not hold are marked.
    """
    frame = sweep_wide(frame)
    objective = frame.attrs.get("objective", "profit")
    cur = frame.attrs.get("currency", "")
    fields = frame.attrs.get("fields", [])
    metrics = [c[: -len("_mean")] for c in frame.columns if c.endswith("_mean")]
    metrics = [m for m in metrics if m != "diff_vs_best"]
    tied = frame.attrs.get("tied_points", [])
    lines = [
        f"{len(frame)} points x {int(frame['replications'].iloc[0])} replications "
        f"(same seeds at every point); objective {metric_label(objective)}"
    ]
    word = "lowest" if objective in LOWER_IS_BETTER else "highest"
    for r in frame.to_dict("records"):
        where = ", ".join(f"{f}={r[f]}" for f in fields)
        cells = [
            f"{metric_label(m)} {format_metric(m, r[f'{m}_mean'], cur)} "
            f"[{format_metric(m, r[f'{m}_low'], cur)}, {format_metric(m, r[f'{m}_high'], cur)}]"
            for m in metrics
        ]
        mark = ""
        if r["best"]:
            mark = "  <- best" if not tied else f"  <- {word} mean, not separated from the ties"
        elif r.get("ties_best"):
            mark = "  <- ties the best"
        if not r.get("guardrails_hold", True):
            mark += "  (a guardrail is not shown to hold)"
        diff = ""
        if not r["best"] and not math.isnan(r["diff_vs_best_mean"]):
            diff = (
                f"; vs best {format_metric(objective, r['diff_vs_best_mean'], cur, difference=True)}"
                f" [{format_metric(objective, r['diff_vs_best_low'], cur, difference=True)}, "
                f"{format_metric(objective, r['diff_vs_best_high'], cur, difference=True)}]"
            )
        lines.append(f"  {r['point']:>3}  {where}: " + "; ".join(cells) + diff + mark)
    best = int(frame.attrs.get("best_point", 0))
    if tied:
        lines.append(
            f"Points {', '.join(str(i) for i in [best, *tied])} tie: each paired 95% interval "
            f"against point {best} includes zero, so these data cannot pick one of them. More "
            "replications, or `retention-sim select`, would."
        )
    if not frame.attrs.get("best_feasible", True):
        lines.append("No point holds every guardrail: the best mean of all is shown.")
    return "\n".join(lines)
