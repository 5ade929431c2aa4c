"""Referral programme: customers bring friends, who arrive tied to the customer who referred them.

Referred customers come from a reserve of rows drawn up front from their own stream
(``referral_pool``), so the rest of the population is the same with or without the programme.
Each referral adds a tie between the two customers: if one later churns, the other is exposed
(social contagion), as for any other tie.
"""

from __future__ import annotations

import math

import numpy as np

from . import arrivals
from .world import World

__all__ = ["ReferralPool", "reserve_size"]


def reserve_size(scenario, policy, *, customers: int | None, days: int | None) -> int:
    """Rows to reserve: generously above the expected number of referrals in the horizon."""
    ref = policy.programmes.referral
    n0 = scenario.population.initial_customers if customers is None else customers
    horizon = scenario.calendar.horizon_days if days is None else days
    scale = (
        n0 / scenario.population.initial_customers if scenario.population.initial_customers else 1
    )
    people = n0 + scenario.population.arrivals_per_day * scale * horizon
    expected = ref.referrals_per_year * people * horizon / 365.0
    return int(math.ceil(1.5 * expected + 5 * math.sqrt(expected) + 10))


class ReferralPool:
    """Hands out reserve rows as referred customers arrive."""

    def __init__(self, world: World):
        pop = world.pop
        self.next = int(pop.extra["reserve_start"])
        self.end = pop.capacity

    def activate(self, world: World, referrers: np.ndarray, day: int) -> int:
        """Bring in one referred customer per referrer while reserve rows last.

        Returns how many arrived; referrals beyond the reserve are counted as unfilled.
        """
        k = min(referrers.size, self.end - self.next)
        if k < referrers.size:
            world.log.add("referrals_unfilled", float(referrers.size - k))
        if k <= 0:
            return 0
        rows = np.arange(self.next, self.next + k)
        self.next += k
        arrivals.activate(world, rows, day)
        world.extra_ties.add(referrers[:k], rows)
        return k
