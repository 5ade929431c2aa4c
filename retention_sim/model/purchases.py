"""Purchases and spend: the daily purchase draw and gamma–gamma transaction values.

The day's draw has a compiled path (:meth:`Purchases.buyers_compiled`: one pass over the rows
finds the few that may buy, NumPy finishes their probabilities) beside its NumPy reference
(:meth:`Purchases.buyers_reference`); both give the same buyers. :mod:`.kernels` picks one.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ..vocabulary import STAGES, Stage
from .calendar import calendar_multipliers
from .gifts import window_start
from .kernels import compiled, njit
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
        #: Whether :meth:`step` uses the compiled kernel (see :mod:`.kernels`).
        self.compiled = compiled()
        self._scratch: tuple[np.ndarray, np.ndarray] | None = None
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
        u = world.daily_uniforms("purchase")
        present = world.present
        today = world.today  # every day value this step reads, read before anything else
        _ = today.purchase_boost, today.purchase_hazard
        basket = today.basket_multiplier
        if not present.any():
            world.today.buyers, world.today.amounts = np.zeros(0, dtype=np.int64), np.zeros(0)
            return
        if self.compiled and self.meter is None and self.tracker is None:
            buyers = self.buyers_compiled(day, u)
        else:
            buyers = self.buyers_reference(day, u)
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
        world.today.buyers, world.today.amounts = buyers, amounts

    def buyers_reference(self, day: int, u: np.ndarray) -> np.ndarray:
        """Today's buyers (ascending rows) in NumPy, given the day's uniforms ``u`` (the
        reference of :meth:`buyers_compiled`); fills the meter and the tracker when set."""
        world = self.world
        pop = world.pop
        sc = world.scenario
        present = world.present
        boost = world.today.purchase_boost
        extra, basket = world.today.purchase_hazard, world.today.basket_multiplier
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
        buyers = np.flatnonzero((u < p) & can)
        if self.tracker is not None and self.tracker.first_day <= day <= self.tracker.last_day:
            self._track(p * can, basket)
        return buyers

    def _track(self, p: np.ndarray, basket: np.ndarray | None) -> None:
        assert self.tracker is not None
        pop = self.world.pop
        mean = self.spend_shape[pop.segment] / pop.spend_nu
        if basket is not None:
            mean = mean * basket
        self.tracker.no_purchase_log += np.log1p(-np.minimum(p, 1.0 - 1e-16))
        self.tracker.expected_spend += p * mean

    def buyers_compiled(self, day: int, u: np.ndarray) -> np.ndarray:
        """Today's buyers by the compiled kernel: exactly what :meth:`buyers_reference` returns.

        The kernel bounds each row's hazard from above without its two transcendental
        functions (the satisfaction factor at its largest, and ``1 − e^(−m) ≤ m``) and keeps
        the rows whose uniform falls below the bound, a few in a hundred, with the product of
        the factors before the satisfaction factor. Their probabilities are then finished in
        NumPy, operation for operation as the reference, so the buyers are the reference's to
        the last bit (NumPy's SIMD ``exp`` is not the C library's).
        """
        world = self.world
        pop = world.pop
        sc = world.scenario
        loy = sc.loyalty
        sat = sc.satisfaction
        gift = loy.spend_gift if loy.enabled else None
        today = world.today
        boost, extra = today.purchase_boost, today.purchase_hazard
        if self._scratch is None or self._scratch[0].size != pop.capacity:
            # untouched pages of np.empty take no memory: only the day's candidates are written
            self._scratch = (np.empty(pop.capacity, dtype=np.int64), np.empty(pop.capacity))
        rows, partial = self._scratch
        sens = float(sat.purchase_sensitivity)
        top = max(np.exp(sens * (0.0 - sat.reference)), np.exp(sens * (1.0 - sat.reference)))
        n = _candidates_kernel(
            day, u, world.present, pop.stage, self.stage_multiplier, pop.last_purchase_day,
            pop.purchase_rate, float(self.calendar[day]), pop.satisfaction,
            float(top) * (1.0 + 1e-9) if sens else 1.0 + 1e-9,
            bool(loy.enabled), pop.reward_sensitivity, pop.points,
            1.0 / loy.redemption_points if loy.enabled else 0.0, float(loy.goal_gradient),
            pop.last_reward_day, int(loy.post_reward_days), np.float32(loy.post_reward_dip),
            gift is not None, pop.window_spend, 1.0 / gift.spend_threshold if gift else 0.0,
            pop.gift_day, window_start(world, day) if gift else 0,
            _EMPTY if boost is None else boost, _EMPTY if extra is None else extra,
            rows, partial,
        )  # fmt: skip
        cand = rows[:n]
        m = partial[:n].copy()
        if sens:
            m *= np.exp(sens * (pop.satisfaction[cand] - sat.reference))
        if boost is not None:
            m *= boost[cand]
        m *= pop.purchase_rate[cand]
        if extra is not None:
            m = np.maximum(m + extra[cand], 0.0)
        return cand[u[cand] < -np.expm1(-m)]


_EMPTY = np.zeros(0)


_BLOCK = 2048  # rows per block of the candidates kernel (its buffers stay in L1)


@njit
def _candidates_kernel(
    day, u, present, stage, stage_mult, last_purchase_day, rate, calendar, sat, sat_top,
    loyalty, reward_sens, points, inv_redemption, goal_gradient,
    last_reward_day, post_reward_days, dip32,
    gift, window_spend, inv_threshold, gift_day, window_first,
    boost, extra, rows, partial,
):  # fmt: skip
    """The rows that may buy today, ascending, into ``rows``; returns how many.

    Per row, the factors of :meth:`Purchases.buyers_reference` before the satisfaction factor,
    in its order and floating-point types (the reward multiplier as
    :func:`~retention_sim.model.loyalty.reward_multiplier` computes it: a post-reward dip is
    float32 arithmetic there, ``1 − dip × s`` for a float32 ``s``), into ``partial``. A row is
    kept when its uniform is below an upper bound of the probability: the satisfaction factor
    at its largest over [0, 1] (``sat_top``, with a margin far above rounding), the boost, the
    rate and the fitted hazard, and ``1 − e^(−m) ≤ m``. A satisfaction outside [0, 1] keeps
    the row. ``boost`` and ``extra`` are empty when not set today. Block by block: the bound
    of every row by :func:`_bounds` (branch-free, over the block's slices from 0, so that it
    is vectorised), then the rows kept.
    """
    has_boost = boost.size > 0
    has_extra = extra.size > 0
    a_buf = np.empty(_BLOCK)
    keep_buf = np.empty(_BLOCK, dtype=np.bool_)
    n = 0
    for lo in range(0, present.size, _BLOCK):
        hi = min(lo + _BLOCK, present.size)
        a_out, keep = a_buf[: hi - lo], keep_buf[: hi - lo]
        _bounds(
            day, u[lo:hi], present[lo:hi], stage[lo:hi], stage_mult, last_purchase_day[lo:hi],
            rate[lo:hi], calendar, sat[lo:hi], sat_top,
            loyalty, reward_sens[lo:hi], points[lo:hi], inv_redemption, goal_gradient,
            last_reward_day[lo:hi], post_reward_days, dip32,
            gift, window_spend[lo:hi], inv_threshold, gift_day[lo:hi], window_first,
            boost[lo:hi] if has_boost else boost, has_boost,
            extra[lo:hi] if has_extra else extra, has_extra, a_out, keep,
        )  # fmt: skip
        for t in range(keep.size):
            if keep[t]:
                rows[n] = lo + t
                partial[n] = a_out[t]
                n += 1
    return n


@njit
def _bounds(
    day, u, present, stage, stage_mult, last_purchase_day, rate, calendar, sat, sat_top,
    loyalty, reward_sens, points, inv_redemption, goal_gradient,
    last_reward_day, post_reward_days, dip32,
    gift, window_spend, inv_threshold, gift_day, window_first,
    boost, has_boost, extra, has_extra, a_out, keep,
):  # fmt: skip
    """One block of :func:`_candidates_kernel`: each row's factors before satisfaction into
    ``a_out`` and whether it is kept into ``keep``."""
    for t in range(u.size):
        r = 1.0
        if loyalty:
            s = reward_sens[t]
            progress = min(points[t] * inv_redemption, 1.0)
            if gift:
                g = (
                    0.0
                    if gift_day[t] >= window_first
                    else min(window_spend[t] * inv_threshold, 1.0)
                )
                progress = max(progress, g)
            r = 1.0 + (goal_gradient * progress) * np.float64(s)
            dip = max(0.0, np.float64(np.float32(1.0) - dip32 * s))
            r = dip if day - last_reward_day[t] < post_reward_days else r
        a = stage_mult[stage[t]] * r
        a *= calendar
        bound = a * sat_top
        if has_boost:
            bound *= boost[t]
        bound *= rate[t]
        if has_extra:
            bound += extra[t]
        a_out[t] = a
        can = present[t] and last_purchase_day[t] != day  # arrivals bought already today
        keep[t] = can and (u[t] < bound or not (0.0 <= sat[t] <= 1.0))


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
