"""The state of a run before day 0: the population (synthetic or observed), the logs, who is
present and in which stage."""

from __future__ import annotations

from typing import Any

import numpy as np
import simpy

from ..config.scenario import Scenario
from ..vocabulary import STAGES
from . import bonus_points, enrolment
from .logs import DailyLog, EventLog
from .observed import build_observed_population
from .population import build_population
from .random_streams import Streams
from .stages import classify
from .world import World

__all__ = ["build_world"]


def build_world(
    scenario: Scenario,
    *,
    seed: int = 0,
    customers: int | None = None,
    days: int | None = None,
    reserve: int = 0,
    history: Any = None,
) -> World:
    """Create the environment, the population and the logs for one run (nothing runs yet).

    ``reserve`` rows are drawn for customers who can arrive only through referrals.
    ``history`` (observed customers, see :mod:`retention_sim.model.observed`) replaces the synthetic
    starting base; it cannot be combined with ``customers``.
    """
    if customers is not None and customers < 0:
        raise ValueError("customers must be non-negative")
    if days is not None and days < 1:
        raise ValueError("days must be at least 1")
    if history is not None and customers is not None:
        raise ValueError("customers and history are exclusive: the history is the base")
    pop_cfg = scenario.population
    n0 = pop_cfg.initial_customers if customers is None else int(customers)
    horizon = scenario.calendar.horizon_days if days is None else int(days)
    # a smaller (or larger) base keeps the scenario's shape: arrivals scale with it
    scale = n0 / pop_cfg.initial_customers if pop_cfg.initial_customers else 1.0
    arrivals = pop_cfg.arrivals_per_day * scale
    streams = Streams(seed)
    if history is None:
        pop = build_population(
            scenario,
            streams,
            n_initial=n0,
            arrivals_per_day=arrivals,
            horizon_days=horizon,
            n_reserve=reserve,
        )
    else:
        pop = build_observed_population(
            scenario,
            streams,
            history,
            arrivals_per_day=arrivals,
            horizon_days=horizon,
            n_reserve=reserve,
        )
        n0 = pop.n_initial
    arr_days = pop.acquired_day[n0:]
    index = np.concatenate(
        [[n0], n0 + np.searchsorted(arr_days, np.arange(1, horizon + 1), side="left")]
    ).astype(np.int64)
    env = simpy.Environment()
    world = World(
        env=env,
        scenario=scenario,
        pop=pop,
        streams=streams,
        horizon=horizon,
        log=DailyLog(horizon),
        transactions=EventLog(("customer_id", "day", "amount")),
        service_log=EventLog(("customer_id", "day", "wait_hours", "served", "kind")),
        present=np.zeros(pop.capacity, dtype=bool),
        arrivals_index=index,
        arrivals_per_day=arrivals,
        scale=scale,  # the desk's staff scales with the base, as arrivals do
    )
    # who is a member of the loyalty programme (all, unless the scenario says otherwise), and
    # the sale days that earn extra points
    enrolment.start(world)
    bonus_points.prepare(world)
    # the starting base is present on day 0, in the stage its history puts it in
    base = np.arange(n0)
    world.present[base] = True
    if n0:
        pop.stage[base] = classify(world, base, 0)
    world.stage_counts_start = np.bincount(pop.stage[base], minlength=len(STAGES)).tolist()
    return world
