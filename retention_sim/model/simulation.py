"""One simulation run: the world, the mechanisms that advance it, and the order of the day.

Every day, the mechanisms of :data:`DAY_ORDER` run one after the other inside one SimPy process,
each vectorised over the whole population (arrivals, satisfaction drift, loyalty enrolment and
perks, purchases, service demand, contacts, churn, stages, the day's records). Sparse, stateful
behaviour runs as SimPy processes of its own (:data:`PROCESSES`): each service request, each
customer's journey, competitor campaigns and the loyalty programme's tier reviews.

Each step of the day declares which day values (:class:`~retention_sim.model.world.DayState`)
it reads and writes and which population columns it uses; ``tests/model/test_day_order.py``
checks that whatever a step reads was written earlier that day (or at build time) and that the
declarations match what a run does.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from ..config.policy import Policy
from ..config.scenario import Scenario
from . import arrivals, enrolment, perks, satisfaction, social
from .build import build_world
from .churn import Churn
from .competition import Competitor
from .contacts.engine import ContactEngine
from .fatigue import Fatigue
from .loyalty import tier_review_process
from .purchases import Purchases
from .records import record_day
from .result import SimulationResult, build_result, record_start
from .service_desk import ServiceDesk
from .stages import Stages
from .visits import Visits
from .world import NO_POLICY_DAY, World

__all__ = [
    "simulate",
    "build_world",
    "assemble",
    "run_world",
    "Mechanisms",
    "Step",
    "DAY_ORDER",
    "PROCESSES",
    "StepTimer",
]


@dataclass
class Mechanisms:
    """The mechanisms of one run, built before it starts with their constant tables.

    Attributes
    ----------
    world, desk
        The run's state; the service desk (agents and account managers, a SimPy resource).
    competitor
        Competitor campaigns and pressure.
    purchases, churn, stages, visits
        The daily purchase draw, the churn clocks, the reclassification and the visit draw.
    fatigue, contacts
        Contact fatigue and the contact engine (``None`` without a contact policy).
    timer
        Wall time per part of the day (the benchmark's), if any.
    """

    world: World
    desk: ServiceDesk
    competitor: Competitor
    purchases: Purchases
    churn: Churn
    stages: Stages
    visits: Visits
    fatigue: Fatigue | None = None
    contacts: ContactEngine | None = None
    timer: StepTimer | None = None


def assemble(
    world: World,
    policy: Policy | None = None,
    *,
    record_messages: bool = False,
    timer: StepTimer | None = None,
) -> Mechanisms:
    """Build every mechanism of a run on ``world`` (under ``policy``, if any); nothing runs yet."""
    desk = ServiceDesk(world, policy.staffing if policy is not None else None)
    purchases = Purchases(world)
    fatigue = contacts = None
    if policy is not None:
        fatigue = Fatigue(world)
        contacts = ContactEngine(
            world,
            policy,
            desk=desk,
            fatigue=fatigue,
            purchases=purchases,
            record_messages=record_messages,
        )
    else:
        world.today.constant.update(NO_POLICY_DAY)
        world.today.new_day()
    return Mechanisms(
        world=world,
        desk=desk,
        competitor=Competitor(world),
        purchases=purchases,
        churn=Churn(world),
        stages=Stages(world),
        visits=Visits(world),
        fatigue=fatigue,
        contacts=contacts,
        timer=timer,
    )


# ----------------------------------------------------------------------------- the day
@dataclass(frozen=True)
class Step:
    """One mechanism's part of the day.

    Attributes
    ----------
    name
        What the step does.
    part
        The part of the day it is timed under (the benchmark's profile).
    run
        ``run(mechanisms, day)``.
    reads, writes
        Day values (:class:`~retention_sim.model.world.DayState` fields) it reads and writes.
    uses
        Population columns it reads or changes.
    contacts
        ``True`` when the step belongs to a contact policy (skipped in a run without one).
    """

    name: str
    part: str
    run: Callable[[Mechanisms, int], None]
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    contacts: bool = False


def _arrivals(m: Mechanisms, day: int) -> None:
    w = m.world
    lo, hi = w.arrivals_index[day], w.arrivals_index[day + 1]
    arrivals.activate(w, np.arange(lo, hi), day)


def _cols(names: str) -> tuple[str, ...]:
    """Population columns, written as one string of names."""
    return tuple(names.split())


def _discard(value: object) -> None:
    """Steps return nothing; a mechanism's return value is for callers outside the day."""


def _contacts(m: Mechanisms) -> ContactEngine:
    assert m.contacts is not None
    return m.contacts


def _fatigue(m: Mechanisms) -> Fatigue:
    assert m.fatigue is not None
    return m.fatigue


DAY_ORDER: tuple[Step, ...] = (
    Step(
        "arrivals",
        "arrivals and upkeep",
        _arrivals,
        uses=_cols(  # the first purchase earns points, extra points and maybe a gift
            "acquired_day birthday_doy enrolled exposure first_purchase_day gift_day "
            "last_purchase_day last_reward_day last_valued_touch_day n_purchases period_points "
            "points pv_contribution satisfaction spend_total stage tier touches_since_purchase "
            "upgraded_day window_spend"
        ),
    ),
    Step(
        "satisfaction drift",
        "arrivals and upkeep",
        lambda m, d: satisfaction.drift(m.world),
        uses=_cols("satisfaction"),
    ),
    Step(
        "exposure decay",
        "arrivals and upkeep",
        lambda m, d: social.decay_exposure(m.world),
        uses=_cols("exposure"),
    ),
    Step(
        "competitor pressure",
        "arrivals and upkeep",
        lambda m, d: m.competitor.step(d),
        writes=("competitor_pressure",),
    ),
    Step(
        "enrolment",
        "arrivals and upkeep",
        lambda m, d: enrolment.step(m.world, d),
        uses=_cols("enrolled"),
    ),
    Step(
        "tenure perks",
        "arrivals and upkeep",
        lambda m, d: perks.step(m.world, d),
        uses=_cols("acquired_day enrolled pv_contribution"),
    ),
    Step(
        "fatigue decay",
        "contacts",
        lambda m, d: _fatigue(m).decay(d),
        contacts=True,
        uses=_cols("fatigue"),
    ),
    Step(
        "offers, guardrail windows, RFM, wake-ups",
        "contacts",
        lambda m, d: _contacts(m).before_purchases(d),
        writes=(
            "purchase_boost",
            "woken",
            "wakeup_multiplier",
            "purchase_hazard",
            "basket_multiplier",
            "visit_hazard",
        ),
        contacts=True,
        uses=_cols(  # the RFM refresh also scores predicted value (model/value.py)
            "base_hazard discount_sensitivity last_purchase_day n_purchases purchase_rate "
            "segment spend_nu spend_total"
        ),
    ),
    Step(
        "purchases",
        "purchases",
        lambda m, d: m.purchases.step(d),
        reads=("purchase_boost", "purchase_hazard", "basket_multiplier"),
        writes=("buyers", "amounts"),
        uses=_cols(
            "acquired_day birthday_doy enrolled gift_day last_purchase_day last_reward_day "
            "n_purchases period_points points purchase_rate pv_contribution reward_sensitivity "
            "satisfaction segment spend_nu spend_total stage tier times_won_back "
            "touches_since_purchase upgraded_day window_spend won_back_day"
        ),
    ),
    Step(
        "visits", "purchases", lambda m, d: m.visits.step(d), ("visit_hazard",), (), ("visit_rate",)
    ),
    Step(
        "discounts used",
        "contacts",
        lambda m, d: _contacts(m).after_purchases(d),
        reads=("buyers", "amounts"),
        contacts=True,
        uses=_cols("pv_contribution"),
    ),
    Step(
        "service demand",
        "service desk",
        lambda m, d: m.desk.demand_step(d),
        uses=_cols("satisfaction unresolved"),
    ),
    Step("staff cost", "service desk", lambda m, d: m.desk.book_costs(d)),
    Step(
        "contacts",
        "contacts",
        lambda m, d: _contacts(m).contact_step(d),
        contacts=True,
        uses=_cols(
            "acquired_day birthday_doy churn_cause churn_clock churn_day consent "
            "discount_sensitivity enrolled exposure fatigue fatigue_tolerance "
            "first_purchase_day gift_day last_purchase_day last_reward_day "
            "last_valued_touch_day n_purchases onboarded period_points points "
            "preferred_channel pv_contribution satisfaction segment "
            "segment_cycle_days spend_nu spend_total stage tier times_won_back "
            "touches_since_purchase unsubscribed upgraded_day window_spend won_back_day"
        ),
    ),
    Step(
        "fatigue totals",
        "contacts",
        lambda m, d: _fatigue(m).totals(d),
        writes=("fatigue_total",),
        contacts=True,
        uses=_cols("fatigue fatigue_tolerance"),
    ),
    Step(
        "churn",
        "churn",
        lambda m, d: _discard(m.churn.step(d)),
        reads=("competitor_pressure", "woken", "wakeup_multiplier", "fatigue_total"),
        uses=_cols(
            "acquired_day base_hazard churn_cause churn_clock churn_day demoted_day enrolled "
            "exposure fatigue_tolerance frailty last_valued_touch_day onboarded satisfaction stage "
            "tie_indices tie_indptr tier unresolved"
        ),
    ),
    Step(
        "stages",
        "stages",
        lambda m, d: m.stages.step(d),
        uses=_cols(
            "acquired_day first_purchase_day last_purchase_day n_purchases segment "
            "segment_cycle_days stage tier won_back_day"
        ),
    ),
    Step(
        "daily records",
        "metrics",
        lambda m, d: record_day(m.world, d),
        reads=("competitor_pressure",),
        uses=_cols("acquired_day enrolled satisfaction stage tier unresolved"),
    ),
)
"""The order of the day. Contact steps run only under a contact policy."""

#: The SimPy processes besides the day's, in the order they start, and what each does.
PROCESSES: tuple[tuple[str, str], ...] = (
    ("daily step", "runs DAY_ORDER once a day, at whole days"),
    ("tier reviews", "sets tiers from each qualification window, half a day before it ends"),
    ("competitor campaigns", "random competitor campaigns, a Poisson process"),
    ("service requests", "one per request: queue for an agent, be served or give up"),
    ("desk queue", "instead of those, with the kernels on: the compiled queue, once a day"),
    ("journeys", "one per customer in a journey: waits for each step, then queues its message"),
)


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


def daily_process(m: Mechanisms) -> Generator[simpy.Event, Any, None]:
    """The SimPy process that runs :data:`DAY_ORDER`, day after day."""
    world = m.world
    env = world.env
    timer: StepTimer | _NoTimer = m.timer or _NoTimer()
    steps = [s for s in DAY_ORDER if m.contacts is not None or not s.contacts]
    today = world.today
    for day in range(world.horizon):
        timer.start()
        world.day = day
        world.log.day = day
        today.new_day()
        for step in steps:
            today.step = step.name
            step.run(m, day)
            timer.lap(step.part)
        today.step = None
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


def run_world(world: World, mechanisms: Mechanisms | None = None) -> Mechanisms:
    """Start every process and run the environment to the end of the horizon.

    Without ``mechanisms``, the run has no contact policy. Returns the mechanisms (the result
    reads the contact engine's and the desk's counters from them).
    """
    m = assemble(world) if mechanisms is None else mechanisms
    env = world.env
    env.process(daily_process(m))
    env.process(tier_review_process(world))
    env.process(m.competitor.process())
    with _fewer_gc_passes():
        if m.contacts is not None:
            m.contacts.start_processes()
        env.run(until=world.horizon)
    return m


def simulate(
    scenario: Scenario,
    policy: Policy | None = None,
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
    mechanisms = assemble(world, policy, record_messages=record_messages)
    record_start(world)  # who is in the base on day 0, and their stage and tier (for groups)
    run_world(world, mechanisms)
    result = build_result(world, desk=mechanisms.desk, contacts=mechanisms.contacts)
    if history is not None:
        result.extras["observed_customer_id"] = world.pop.extra["observed_customer_id"]
    return result
