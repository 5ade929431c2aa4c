"""Reactivation: a churned customer won back by a win-back message returns with a purchase.

Only customers who left for a reason the company can answer (not death, not relocation) can be
reached. A reactivated customer is present again in stage ``won_back``, has a fresh set of churn
clocks (new Exp(1) thresholds, cumulative hazards reset) and makes a purchase on the day they
return. The draws are counter-based, keyed on the customer, the cause and how many times they
were won back, so they are the same under every policy that wins them back.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ..vocabulary import CAUSES, Stage
from .purchases import book_purchases
from .random_streams import counter_uniform
from .world import World

__all__ = ["GONE_FOR_GOOD", "reachable", "reachable_churned", "reactivate"]

#: The churn causes no message can answer (death, relocation).
GONE_FOR_GOOD = (CAUSES.index("death"), CAUSES.index("relocation"))


def reachable(world: World, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` are churned customers a win-back message could still reach (a mask)."""
    pop = world.pop
    out = pop.stage[rows] == Stage.CHURNED
    cause = pop.churn_cause[rows]
    for gone in GONE_FOR_GOOD:  # as np.isin, without its sort on a few rows
        out &= cause != gone
    return out


def reachable_churned(world: World) -> np.ndarray:
    """Rows of churned customers a win-back message could still reach."""
    pop = world.pop
    return np.flatnonzero((pop.stage == Stage.CHURNED) & ~np.isin(pop.churn_cause, GONE_FOR_GOOD))


def reactivate(world: World, rows: np.ndarray, day: int) -> None:
    """Bring churned ``rows`` back into the base on ``day`` with a purchase."""
    if rows.size == 0:
        return
    pop = world.pop
    seed = world.seed
    world.present[rows] = True
    world.set_stage(rows, Stage.WON_BACK)
    pop.times_won_back[rows] += 1
    pop.won_back_day[rows] = day
    pop.churn_day[rows] = -1
    pop.churn_cause[rows] = -1
    times = pop.times_won_back[rows].astype(np.int64)
    for k in range(len(CAUSES)):
        u = counter_uniform(seed, "rethreshold", rows, k, times)
        pop.churn_clock[rows, k] = np.maximum(-np.log1p(-u), np.finfo(np.float64).tiny)
    p_shape = np.array([s.spend.p for s in world.scenario.population.segments.values()])
    u = counter_uniform(seed, "reactivation_spend", rows, times)
    amounts = special.gammaincinv(p_shape[pop.segment[rows]], u) / pop.spend_nu[rows]
    book_purchases(world, rows, amounts, day)
    world.log.add("reactivated", float(rows.size))
