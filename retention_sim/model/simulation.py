"""One simulation run: the SimPy environment and the processes that advance the population.

The daily process does what every customer does every day, vectorised over the population
(arrivals, satisfaction drift, purchases, service demand, contacts, churn, stages, metrics).
Sparse, stateful behaviour runs as its own SimPy processes: each service request, each
customer's journey, competitor campaigns and the loyalty programme's tier reviews.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from typing import Any

import numpy as np
import simpy

from ..config.scenario import Scenario
from ..vocabulary import STAGES
from . import arrivals, competition, satisfaction, social
from .churn import churn_step
from .logs import DailyLog, EventLog
from .loyalty import tier_review_process
from .observed import build_observed_population
from .population import build_population
from .purchases import purchase_step
from .random_streams import Streams
from .result import SimulationResult, build_result
from .service_desk import ServiceDesk
from .stages import classify, stage_step
from .world import World

__all__ = ["simulate", "build_world", "run_world", "StepTimer"]


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
    )
    world.components["seed"] = seed
    world.components["arrivals_per_day"] = arrivals
    world.components["scale"] = scale  # the desk's staff scales with the base, as arrivals do
    # the starting base is present on day 0, in the stage its history puts it in
    base = np.arange(n0)
    world.present[base] = True
    if n0:
        pop.stage[base] = classify(world, base, 0)
    world.components["stage_counts_start"] = np.bincount(
        pop.stage[base], minlength=len(STAGES)
    ).tolist()
    world.components["service_desk"] = ServiceDesk(world)
    return world


def _arrive(world: World, day: int) -> None:
    lo, hi = world.arrivals_index[day], world.arrivals_index[day + 1]
    arrivals.activate(world, np.arange(lo, hi), day)


def _record(world: World, day: int) -> None:
    pop = world.pop
    log = world.log
    known = pop.stage[pop.stage >= 0]
    counts = np.bincount(known, minlength=len(STAGES))
    for k, name in enumerate(STAGES):
        log.set(f"customers_{name}", float(counts[k]))
    present = world.present
    n_present = int(np.count_nonzero(present))
    log.set("customers", float(n_present))
    log.set("customers_initial_base", float(np.count_nonzero(present[: pop.n_initial])))
    # mean satisfaction of the customers in the base (0 when nobody is: results hold no NaN)
    sat = float(np.sum(pop.satisfaction, where=present)) / n_present if n_present else 0.0
    log.set("satisfaction_mean", sat)
    log.set("competitor_pressure", world.competitor_pressure)
    log.set("unresolved_issues", float(np.sum(pop.unresolved, where=present)))
    if world.scenario.loyalty.enabled:
        for k, name in enumerate(pop.tier_names):
            log.set(f"tier_{name}", float(np.count_nonzero((pop.tier == k) & present)))


class StepTimer:
    """Accumulates wall time per part of the daily step (used by the benchmark)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def start(self) -> None:
        """Start timing a new day."""
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        """Book the time since the last lap to ``name``."""
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._t
        self._t = now


class _NoTimer:
    def start(self) -> None:
        pass

    def lap(self, name: str) -> None:
        pass


def daily_process(world: World, contacts: Any = None):
    """The SimPy process that runs the vectorised daily step, day after day."""
    env = world.env
    desk: ServiceDesk = world.components["service_desk"]
    timer = world.components.get("step_timer") or _NoTimer()
    for day in range(world.horizon):
        timer.start()
        world.day = day
        world.log.day = day
        _arrive(world, day)
        satisfaction.drift(world)
        social.decay_exposure(world)
        world.competitor_pressure = competition.scheduled_pressure(world, day)
        timer.lap("arrivals and upkeep")
        if contacts is not None:
            contacts.before_purchases(day)
            timer.lap("contacts")
        buyers, amounts = purchase_step(world, day)
        timer.lap("purchases")
        if contacts is not None:
            contacts.after_purchases(day, buyers, amounts)
            timer.lap("contacts")
        desk.demand_step(day)
        desk.book_costs()
        timer.lap("service desk")
        if contacts is not None:
            contacts.contact_step(day)
            timer.lap("contacts")
        churn_step(world, day)
        timer.lap("churn")
        stage_step(world, day)
        timer.lap("stages")
        _record(world, day)
        timer.lap("metrics")
        yield env.timeout(1)


@contextlib.contextmanager
def _fewer_gc_passes(gen0: int = 50_000):
    """Run the cyclic garbage collector less often for the duration of a run.

    A large base keeps tens of thousands of SimPy processes pending (journeys, open issues);
    with Python's default thresholds the full collections that traverse them took about a
    tenth of the run at a million customers. The engine frees its objects by reference
    counting, so collecting rarely costs no memory. The thresholds are restored when the last
    of any overlapping runs ends.
    """
    global _gc_depth, _gc_saved
    with _gc_lock:  # runs may overlap in threads (a threaded Dask worker): restore once, last
        if _gc_depth == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_gc_saved[0], gen0), *_gc_saved[1:])
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0:
                gc.set_threshold(*_gc_saved)


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved = gc.get_threshold()


def run_world(world: World, contacts: Any = None) -> None:
    """Start every process and run the environment to the end of the horizon."""
    env = world.env
    env.process(daily_process(world, contacts))
    env.process(tier_review_process(world))
    env.process(competition.competitor_process(world))
    with _fewer_gc_passes():
        if contacts is not None:
            contacts.start_processes()
        env.run(until=world.horizon)


def simulate(
    scenario: Scenario,
    policy: Any = None,
    *,
    seed: int = 0,
    customers: int | None = None,
    days: int | None = None,
    record_messages: bool = False,
    history: Any = None,
) -> SimulationResult:
    """Run one replication of a scenario under a contact policy.

    Parameters
    ----------
    scenario
        A validated scenario (see :func:`retention_sim.load_scenario`).
    policy
        A contact policy; ``None`` means no marketing contact at all.
    seed
        The replication's seed. The same seed gives bit-identical results; every policy run with
        the same seed sees the same customers and the same luck.
    customers
        Size of the starting base (default: the scenario's). Arrivals scale in proportion.
    days
        Horizon in days (default: the scenario's).
    record_messages
        Keep every contact attempt (``customer_id, date, campaign, channel, outcome``) in
        ``result.extras["messages"]``, for audits.
    history
        Observed customers (a customers file written by ``retention-sim calibrate
        --customers-out``, or its table): they replace the synthetic starting base, each
        customer's unobserved state drawn from its posterior (see :mod:`retention_sim.model.observed`).
        ``result.extras["observed_customer_id"]`` gives the id of each base row.

    Returns
    -------
    SimulationResult
        ``.daily``, ``.summary``, ``.customers`` and ``.transactions``.
    """
    reserve = 0
    if policy is not None and policy.programmes.referral is not None:
        from .referral import reserve_size

        reserve = reserve_size(scenario, policy, customers=customers, days=days)
    world = build_world(
        scenario, seed=seed, customers=customers, days=days, reserve=reserve, history=history
    )
    contacts = None
    if policy is not None:
        from .contacts.engine import ContactEngine

        contacts = ContactEngine(world, policy, record_messages=record_messages)
    run_world(world, contacts)
    result = build_result(world, policy)
    if history is not None:
        result.extras["observed_customer_id"] = world.pop.extra["observed_customer_id"]
    return result
