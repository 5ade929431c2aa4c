"""A study's design: its inputs resolved and checked, its arms, and the runs they make.

Every study (a comparison, a sweep, a robustness study) is a set of **arms**, each a scenario
and a policy under a name, run in replications ``k`` with the seeds of
:func:`~retention_sim.study.execution.replication_seed`: the same seed for every arm in
replication ``k`` (common random numbers). :func:`build_tasks` turns arms and replications
into runs, the one place this is done; :func:`execute` runs them, reading finished ones from a
result store and writing new ones to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..config.policy import Policy, load_policy
from ..config.scenario import Scenario, load_scenario
from ..errors import InputError
from .execution import Runner, RunTask, replication_seed
from .store import ResultStore

__all__ = [
    "Arm",
    "build_tasks",
    "check_common",
    "execute",
    "run_arms",
    "record_arms",
    "resolve_policies",
    "resolve_scenario",
]


@dataclass(frozen=True)
class Arm:
    """One arm of a study: a policy on a scenario, under a name.

    Attributes
    ----------
    name
        The arm's label in results (``"no_contact"`` for ``policy=None``).
    scenario
        The scenario it runs on (sweeps and robustness studies vary it between arms).
    policy
        The contact policy, or ``None`` (no contact at all).
    point
        A free index (the grid point of a sweep, the world of a robustness study).
    extra
        JSON-ready facts recorded in the result store's manifest beside the arm.
    """

    name: str
    scenario: Scenario
    policy: Policy | None
    point: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def size(self, customers: int | None, days: int | None) -> tuple[int, int]:
        """The effective starting base and horizon (the scenario's when not given)."""
        n0 = self.scenario.population.initial_customers if customers is None else int(customers)
        horizon = self.scenario.calendar.horizon_days if days is None else int(days)
        return n0, horizon


def build_tasks(
    arms: Sequence[Arm],
    replications: range,
    *,
    seed: int,
    customers: int | None,
    days: int | None,
) -> list[RunTask]:
    """The runs of ``arms`` in ``replications``: replication by replication, arm by arm.

    Replication ``k`` of every arm runs with ``replication_seed(seed, k)``.
    """
    tasks = []
    for k in replications:
        for arm in arms:
            n0, horizon = arm.size(customers, days)
            tasks.append(
                RunTask(
                    policy_name=arm.name,
                    replication=k,
                    seed=replication_seed(seed, k),
                    scenario=arm.scenario,
                    policy=arm.policy,
                    customers=n0,
                    days=horizon,
                    study_seed=seed,
                    point=arm.point,
                )
            )
    return tasks


def record_arms(
    store: ResultStore | None,
    arms: Sequence[Arm],
    *,
    seed: int,
    customers: int | None,
    days: int | None,
    replications: int | None = None,
) -> None:
    """Write the store's manifests: one per scenario and set of extra facts, naming its arms."""
    if store is None:
        return
    groups: dict[tuple[int, str], list[Arm]] = {}
    for arm in arms:
        groups.setdefault((id(arm.scenario), repr(sorted(arm.extra.items()))), []).append(arm)
    for group in groups.values():
        first = group[0]
        n0, horizon = first.size(customers, days)
        store.write_manifest(
            first.scenario,
            {a.name: a.policy for a in group},
            seed=seed,
            customers=n0,
            days=horizon,
            replications=replications,
            extra=dict(first.extra) or None,
        )


def resolve_scenario(scenario: Scenario | str | Path) -> Scenario:
    """A :class:`~retention_sim.Scenario` from a scenario or a path to a scenario file."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    raise InputError(f"expected a Scenario or a scenario file, got {type(scenario).__name__}")


def resolve_policies(policies: Any, scenario: Scenario) -> dict[str, Policy | None]:
    """``{name: Policy or None}`` from policies, policy files or a mapping of names to them.

    ``None`` (no contact at all) is named ``"no_contact"`` in a sequence. Names must be unique.
    """

    def one(p: Any) -> Policy | None:
        if p is None or isinstance(p, Policy):
            return p
        if isinstance(p, (str, Path)):
            return load_policy(p, scenario=scenario)
        raise InputError(f"expected a Policy or a policy file, got {type(p).__name__}")

    out: dict[str, Policy | None] = {}
    items: list[tuple[str | None, Policy | None]]
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
    try:
        done = runner.run([tasks[i] for i in todo], on_result=store.save)
    except BaseException:  # record the checksums of what finished, also when interrupted;
        with contextlib.suppress(OSError):  # but report the first error (a full disk fails both)
            store.flush()
        raise
    store.flush()
    for i, r in zip(todo, done, strict=True):
        results[i] = r
    # every missing result has just been filled in: no ``None`` is left
    return cast("list[dict[str, Any]]", results), len(todo), len(tasks) - len(todo)


def run_arms(
    runner: Runner,
    store: ResultStore | None,
    arms: Sequence[Arm],
    replications: range,
    *,
    seed: int,
    customers: int | None,
    days: int | None,
) -> tuple[list[dict[str, Any]], int, int]:
    """Record the arms in the store, then run their ``replications`` through it
    (:func:`record_arms`, :func:`build_tasks`, :func:`execute`).

    Returns
    -------
    tuple
        ``(results in task order, runs computed, runs read from the store)``.
    """
    record_arms(store, arms, seed=seed, customers=customers, days=days)
    tasks = build_tasks(arms, replications, seed=seed, customers=customers, days=days)
    return execute(tasks, runner, store)


def check_common(replications: int, seed: int, customers: Any, days: Any) -> None:
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
