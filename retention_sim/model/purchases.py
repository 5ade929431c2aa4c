"""Purchases and spend: the daily purchase draw and gamma–gamma transaction values."""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy import special

from ..vocabulary import STAGES, Stage
from .loyalty import earn_points, reward_multiplier
from .random_streams import counter_uniform
from .world import World

__all__ = ["purchase_step", "book_purchases", "calendar_multiplier"]


def calendar_multiplier(world: World, day: int) -> float:
    """Weekday pattern × any calendar events covering ``day`` (events repeat yearly if asked)."""
    cal = world.scenario.calendar
    cache = world.components.get("calendar_multiplier")
    if cache is None:
        cache = np.ones(world.horizon)
        dates = [cal.start.toordinal() + d for d in range(world.horizon)]
        for d, o in enumerate(dates):
            date = dt.date.fromordinal(o)
            m = cal.weekday_purchase_multiplier[date.weekday()]
            for ev in cal.events:
                start = ev.start
                if ev.repeat_yearly:
                    try:
                        start = start.replace(year=date.year)
                    except ValueError:  # 29 February in a common year
                        start = start.replace(year=date.year, day=28)
                    # an event that began late last year may still run
                    if (date - start).days < 0:
                        try:
                            start = ev.start.replace(year=date.year - 1)
                        except ValueError:
                            start = ev.start.replace(year=date.year - 1, day=28)
                if 0 <= (date - start).days < ev.days:
                    m *= ev.purchase_multiplier
            cache[d] = m
        world.components["calendar_multiplier"] = cache
    return float(cache[day])


def purchase_step(world: World, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw today's purchases for every present customer; book them.

    Returns the buyers' rows and the amounts they spent.

    The daily purchase probability of customer *i* is ``1 - exp(-lambda_i * m_i)`` where
    ``lambda_i`` is the customer's rate (purchases per day, gamma across customers) and ``m_i``
    multiplies the stage effect, the calendar, satisfaction, the loyalty programme's reward
    effects and whatever the contact policy adds (offers).
    """
    pop = world.pop
    sc = world.scenario
    u = world.daily_uniforms("purchase")
    present = world.present
    if not present.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    stage_mult = world.components.get("stage_purchase_multiplier")
    if stage_mult is None:
        # the last entry serves rows not yet arrived (stage -1); they are masked out below
        mult = [sc.stages.purchase_multiplier.get(s, 1.0) for s in STAGES]
        stage_mult = np.array([*mult, 0.0])
        world.components["stage_purchase_multiplier"] = stage_mult
    # every factor over all rows at once (cheaper than gathering the present rows)
    m = stage_mult[pop.stage] * reward_multiplier(world, None, day)
    m *= calendar_multiplier(world, day)
    sat = sc.satisfaction
    if sat.purchase_sensitivity:
        m *= np.exp(sat.purchase_sensitivity * (pop.satisfaction - sat.reference))
    if world.purchase_boost is not None:
        m *= world.purchase_boost
    m *= pop.purchase_rate
    p = -np.expm1(-m)
    buy = (u < p) & present & (pop.last_purchase_day != day)  # arrivals bought already today
    buyers = np.flatnonzero(buy)
    amounts = np.zeros(0)
    if buyers.size:
        p_shape = world.components.get("spend_p")
        if p_shape is None:
            p_shape = np.array([s.spend.p for s in sc.population.segments.values()])
            world.components["spend_p"] = p_shape
        shape = p_shape[pop.segment[buyers]]
        # spend luck is counter-based (customer, day): the same basket under any policy, drawn
        # for the buyers only
        seed = int(world.components.get("seed", 0))
        u_spend = counter_uniform(seed, "spend", buyers, day)
        amounts = special.gammaincinv(shape, u_spend) / pop.spend_nu[buyers]
        book_purchases(world, buyers, amounts, day)
    return buyers, amounts


def book_purchases(world: World, rows: np.ndarray, amounts: np.ndarray, day: int) -> None:
    """Record purchases of ``rows`` on ``day``: revenue, margin, history, points, win-backs."""
    pop = world.pop
    econ = world.scenario.economics
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
