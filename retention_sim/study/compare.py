"""``compare``: contact policies on one scenario, with common random numbers.

Every policy runs in replications ``k = 0, 1, ...`` with the same seed per replication (see
:mod:`retention_sim.study.design`); the result is a
:class:`~retention_sim.study.comparison.Comparison`. With ``target_halfwidth`` the study adds
batches of replications until the paired interval on the objective is narrow enough.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config.policy import Policy
from ..config.scenario import Scenario
from ..errors import InputError
from . import statistics as st
from .comparison import Comparison
from .design import (
    Arm,
    build_tasks,
    check_common,
    execute,
    record_arms,
    resolve_policies,
    resolve_scenario,
)
from .execution import Backend, Runner, replication_seed
from .groups import check_by
from .metrics import DAILY_SERIES, METRICS, metric_index
from .store import ResultStore, engine_fingerprint, policy_hash, study_key

__all__ = ["compare"]


def compare(
    scenario: Scenario | str | Path,
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
    by: Sequence[str] | str | None = None,
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
    by
        Group kinds (``"segment"``, ``"start_stage"``, ``"rfm_segment"``, ``"tier"``,
        ``"consent_channel"``) for ``"by"`` in ``comparison.json`` (:meth:`Comparison.by_group`).

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
    The process pool (loky) starts fresh interpreters that never re-run the caller's
    ``__main__``: a plain script needs no ``if __name__ == "__main__":`` guard.

    Examples
    --------
    >>> c = compare("params/scenarios/default.yaml",
    ...             ["params/policies/bau_default.yaml", "params/policies/playbook_software.yaml"],
    ...             replications=20, out="reports/study")  # doctest: +SKIP
    >>> print(c.verdict("profit", {"unsubscribe_rate": 0.003}).text)  # doctest: +SKIP
    """
    scenario = resolve_scenario(scenario)
    pols = resolve_policies(policies, scenario)
    check_common(replications, seed, customers, days)
    metric_index(objective)
    by_kinds = check_by(by)
    names = _baseline_first(list(pols), baseline)
    max_replications = _max_replications(replications, target_halfwidth, max_replications)
    arms = [Arm(p, scenario, pols[p]) for p in names]
    store = ResultStore(out) if out is not None else None
    with Runner(backend, workers=workers, dask=dask, progress=progress) as runner:
        results, n_done, computed, loaded = _run_batches(
            runner, store, arms, replications, max_replications, target_halfwidth,
            seed=seed, customers=customers, days=days, objective=objective, level=level,
        )  # fmt: skip
    n0, horizon = arms[0].size(customers, days)
    info = _study_info(scenario, pols, seed=seed, customers=n0, days=horizon, out=out)
    info.update(runs_computed=computed, runs_loaded=loaded, target_halfwidth=target_halfwidth)
    comp = _comparison(results, names, n_done, seed=seed, info=info, level=level, obj=objective)
    comp.by_kinds = by_kinds
    return comp


def _run_batches(
    runner: Runner,
    store: ResultStore | None,
    arms: list[Arm],
    replications: int,
    max_replications: int,
    target_halfwidth: float | None,
    *,
    seed: int,
    customers: int | None,
    days: int | None,
    objective: str,
    level: float,
) -> tuple[dict[tuple[str, int], dict[str, Any]], int, int, int]:
    """Run batches of replications (one, or until the target half-width is reached)."""
    names = [a.name for a in arms]
    results: dict[tuple[str, int], dict[str, Any]] = {}
    computed = loaded = 0
    n_done, n_target = 0, replications
    while True:
        record_arms(store, arms, seed=seed, customers=customers, days=days)
        tasks = build_tasks(
            arms, range(n_done, n_target), seed=seed, customers=customers, days=days
        )
        got, c, lo = execute(tasks, runner, store)
        computed, loaded = computed + c, loaded + lo
        results.update({(r["policy"], r["replication"]): r for r in got})
        n_done = n_target
        record_arms(store, arms, seed=seed, customers=customers, days=days, replications=n_done)
        if target_halfwidth is None or n_done >= max_replications or len(names) < 2:
            break
        needed = _needed_for_target(results, names, n_done, objective, target_halfwidth, level)
        if needed <= n_done:
            break
        n_target = min(max_replications, max(n_done + 1, min(needed, 2 * n_done)))
    return results, n_done, computed, loaded


def _max_replications(replications: int, target: float | None, given: int | None) -> int:
    """The cap on replications (five times the first batch when aiming at a half-width)."""
    if target is not None and not target > 0:
        raise InputError(f"target_halfwidth must be positive, got {target}")
    cap = given if given is not None else (5 * replications if target is not None else replications)
    if cap < replications:
        raise InputError(f"max_replications ({cap}) is smaller than replications ({replications})")
    return cap


def _baseline_first(names: list[str], baseline: str | None) -> list[str]:
    """The policy names with the baseline (default: the first) moved to the front."""
    if baseline is None:
        baseline = names[0]
    if baseline not in names:
        raise InputError(f"baseline {baseline!r} is not among the policies: {', '.join(names)}")
    return [baseline] + [n for n in names if n != baseline]


def _comparison(
    results: Mapping[tuple[str, int], dict[str, Any]],
    names: Sequence[str],
    n: int,
    *,
    seed: int,
    info: dict[str, Any],
    level: float,
    obj: str,
) -> Comparison:
    """The comparison of ``n`` replications of every policy, from the runs' small results."""
    return Comparison(
        policies=names,
        baseline=names[0],
        values={
            p: np.array(
                [[results[(p, k)]["metrics"][m] for m in METRICS] for k in range(n)], dtype=float
            )
            for p in names
        },
        daily={
            p: {
                s: np.array([results[(p, k)]["daily"][s] for k in range(n)], dtype=float)
                for s in DAILY_SERIES
            }
            for p in names
        },
        seeds=[replication_seed(seed, k) for k in range(n)],
        info=info,
        level=level,
        objective=obj,
        groups={p: [results[(p, k)].get("groups", {}) for k in range(n)] for p in names},
    )


def _study_info(
    scenario: Scenario,
    pols: Mapping[str, Policy | None],
    *,
    seed: int,
    customers: int,
    days: int,
    out: str | Path | None,
) -> dict[str, Any]:
    """The facts a comparison records about its study."""
    return {
        "scenario": scenario.name,
        "scenario_hash": scenario.content_hash(),
        "policy_hashes": {p: policy_hash(pol) for p, pol in pols.items()},
        "seed": seed,
        "customers": customers,
        "days": days,
        "start_date": scenario.calendar.start.isoformat(),
        "currency": scenario.economics.currency,
        "package_version": __version__,
        "engine": engine_fingerprint(),
        "study_key": study_key(scenario.content_hash(), seed=seed, customers=customers, days=days),
        "store": str(out) if out is not None else None,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


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
