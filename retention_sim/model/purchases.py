"""Purchases and spend: the daily purchase draw and gamma–gamma transaction values."""

from __future__ import annotations

import numpy as np
from scipy import special

from ..vocabulary import STAGES, Stage
from .calendar import calendar_multipliers
from .loyalty import earn_points, reward_multiplier
from .random_streams import counter_uniform
from .world import World

__all__ = ["Purchases", "PurchaseTracker", "book_purchases", "calendar_multipliers"]


class PurchaseTracker:
    """The probability each row had of buying, and its expected spend, over a range of days.

    What the simulator's own daily draws implied (``Σ log(1 − p)`` and ``Σ p × mean basket``),
    without their noise: the replay of an experiment reads each customer's probability of
    converting in the window from it.
    """

    def __init__(self, capacity: int, first_day: int, last_day: int) -> None:
        self.first_day, self.last_day = first_day, last_day
        self.no_purchase_log = np.zeros(capacity)
        self.expected_spend = np.zeros(capacity)

    @property
    def probability(self) -> np.ndarray:
        """Probability of at least one purchase in the days tracked."""
        return -np.expm1(self.no_purchase_log)


class Purchases:
    """The daily purchase draw and gamma–gamma spend, with the run's constant tables."""

    def __init__(self, world: World) -> None:
        sc = world.scenario
        self.world = world
        # the last entry serves rows not yet arrived (stage -1); they are masked out
        mult = [sc.stages.purchase_multiplier.get(s, 1.0) for s in STAGES]
        self.stage_multiplier = np.array([*mult, 0.0])
        self.calendar = calendar_multipliers(sc, world.horizon)
        self.spend_shape = np.array([s.spend.p for s in sc.population.segments.values()])
        #: Set to a :class:`PurchaseTracker` to record what the draws implied.
        self.tracker: PurchaseTracker | None = None
        #: When set, ``[with, without]``: today's purchase hazards summed over the customers
        #: present and the days, with and without what contacts add (calibration reads the
        #: historical policy's purchase multiplier from it).
        self.meter: np.ndarray | None = None

    def daily_rate(self, rows: np.ndarray, day: int) -> np.ndarray:
        """Today's purchase hazard of ``rows`` before any contact effect (stage, reward,
        calendar and satisfaction effects on the customer's own rate)."""
        world = self.world
        pop = world.pop
        sat = world.scenario.satisfaction
        m = self.stage_multiplier[pop.stage[rows]] * reward_multiplier(world, rows, day)
        m *= float(self.calendar[min(day, world.horizon - 1)])
        if sat.purchase_sensitivity:
            m *= np.exp(sat.purchase_sensitivity * (pop.satisfaction[rows] - sat.reference))
        return m * pop.purchase_rate[rows]

    def step(self, day: int) -> None:
        """Draw today's purchases for every present customer and book them.

        Today's buyers' rows and what each spent go to ``world.today`` (``buyers``,
        ``amounts``).

        The daily purchase probability of customer *i* is ``1 - exp(-(lambda_i * m_i + h_i))``
        where ``lambda_i`` is the customer's rate (purchases per day, gamma across customers),
        ``m_i`` multiplies the stage effect, the calendar, satisfaction, the loyalty programme's
        reward effects and whatever the contact policy adds (offers), and ``h_i`` is the hazard
        a fitted message response adds in its window (none without one). A fitted response also
        multiplies the basket in its window.
        """
        world = self.world
        pop = world.pop
        sc = world.scenario
        u = world.daily_uniforms("purchase")
        present = world.present
        boost = world.today.purchase_boost
        extra, basket = world.today.purchase_hazard, world.today.basket_multiplier
        if not present.any():
            world.today.buyers, world.today.amounts = np.zeros(0, dtype=np.int64), np.zeros(0)
            return
        # every factor over all rows at once (cheaper than gathering the present rows)
        m = self.stage_multiplier[pop.stage] * reward_multiplier(world, None, day)
        m *= float(self.calendar[day])
        sat = sc.satisfaction
        if sat.purchase_sensitivity:
            m *= np.exp(sat.purchase_sensitivity * (pop.satisfaction - sat.reference))
        if self.meter is not None:
            self.meter[1] += float(np.sum(m * pop.purchase_rate, where=present))
        if boost is not None:
            m *= boost
        m *= pop.purchase_rate
        if extra is not None:
            m = np.maximum(m + extra, 0.0)
        if self.meter is not None:
            self.meter[0] += float(np.sum(m, where=present))
        p = -np.expm1(-m)
        can = present & (pop.last_purchase_day != day)  # arrivals bought already today
        buy = (u < p) & can
        buyers = np.flatnonzero(buy)
        amounts = np.zeros(0)
        if buyers.size:
            shape = self.spend_shape[pop.segment[buyers]]
            # spend luck is counter-based (customer, day): the same basket under any policy,
            # drawn for the buyers only
            u_spend = counter_uniform(world.seed, "spend", buyers, day)
            amounts = special.gammaincinv(shape, u_spend) / pop.spend_nu[buyers]
            if basket is not None:
                amounts = amounts * basket[buyers]
            book_purchases(world, buyers, amounts, day)
        if self.tracker is not None and self.tracker.first_day <= day <= self.tracker.last_day:
            self._track(p * can, basket)
        world.today.buyers, world.today.amounts = buyers, amounts

    def _track(self, p: np.ndarray, basket: np.ndarray | None) -> None:
        assert self.tracker is not None
        pop = self.world.pop
        mean = self.spend_shape[pop.segment] / pop.spend_nu
        if basket is not None:
            mean = mean * basket
        self.tracker.no_purchase_log += np.log1p(-np.minimum(p, 1.0 - 1e-16))
        self.tracker.expected_spend += p * mean


def _close_purchase_cycles(world: World, rows: np.ndarray) -> None:
    """Count the touches of the purchase cycles these purchases end, then start new cycles.

    A cycle runs from one purchase in the run to the next; its touches are the marketing
    messages delivered in between (``touches_since_purchase``, counted by the contact engine).
    Cycles that began before the run (-1) are left out, as is a new customer's arrival, which
    is the first purchase itself. A new customer's first cycle (arrival to second purchase) is
    also counted apart: the touches before the first repeat purchase.
    """
    pop = world.pop
    touches = pop.touches_since_purchase[rows]
    closed = (touches >= 0) & (pop.n_purchases[rows] > 0)
    if closed.any():
        world.log.add("purchase_cycles", float(closed.sum()))
        world.log.add("cycle_touches", float(touches[closed].sum()))
        first = closed & (pop.n_purchases[rows] == 1) & (rows >= pop.n_initial)
        if first.any():
            world.log.add("first_repeats", float(first.sum()))
            world.log.add("first_repeat_touches", float(touches[first].sum()))
    pop.touches_since_purchase[rows] = 0


def book_purchases(world: World, rows: np.ndarray, amounts: np.ndarray, day: int) -> None:
    """Record purchases of ``rows`` on ``day``: revenue, margin, history, points, win-backs."""
    pop = world.pop
    econ = world.scenario.economics
    _close_purchase_cycles(world, rows)
    pop.n_purchases[rows] += 1
    pop.last_purchase_day[rows] = day
    pop.spend_total[rows] += amounts
    revenue = float(amounts.sum())
    world.log.add("purchases", float(rows.size))
    world.log.add("revenue", revenue)
    world.log.add("gross_margin", revenue * econ.gross_margin)
    pop.pv_contribution[rows] += amounts * econ.gross_margin * world.discount_factor(day)
    world.transactions.append(
        customer_id=rows.astype(np.int32),
        day=np.full(rows.size, day, dtype=np.int32),
        amount=amounts,
    )
    earn_points(world, rows, amounts, day)
    lapsed = rows[pop.stage[rows] == Stage.LAPSED]
    if lapsed.size:
        pop.times_won_back[lapsed] += 1
        pop.won_back_day[lapsed] = day
        world.set_stage(lapsed, Stage.WON_BACK)
        world.log.add("won_back", float(lapsed.size))
