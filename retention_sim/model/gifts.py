"""A gift at a spend threshold (seed 004's gift programme: "customers receive a gift when they
reach a certain spend").

Each member's spend inside the current qualification window is ``window_spend`` (members only;
it restarts at 0 with the window's points at each tier review, §5). The first time in a window
that it reaches ``spend_threshold``, on a purchase on day ``d``, the member receives the gift
(:class:`~retention_sim.config.loyalty.SpendGift`), as a redeemed reward is received:

- ``value`` is booked as ``reward_cost`` (and ``gift_cost``; ``gifts_given`` counts the gifts)
  and, discounted, comes off the member's contribution;
- satisfaction rises by ``responses.reward_satisfaction_gain`` (as a gift in a message does);
- ``last_reward_day = d``: the post-reward dip follows (§5).

On the way there the goal gradient pulls toward the nearer goal:
``progress = max(points / redemption_points, window_spend / spend_threshold)`` (the gift's
part 0 once it was given this window) in ``reward_multiplier``.
"""

from __future__ import annotations

import numpy as np

from .world import World

__all__ = ["give_gifts", "gift_progress", "window_start"]


def window_start(world: World, day: int) -> int:
    """First day of the qualification window ``day`` is in (windows start on day 0, W, 2W, …)."""
    w = world.scenario.loyalty.qualification_window_days
    return (day // w) * w


def give_gifts(world: World, rows: np.ndarray, amounts: np.ndarray, day: int) -> None:
    """Add the members' purchases to their window spend; give the gift to those who reach the
    threshold for the first time this window."""
    gift = world.scenario.loyalty.spend_gift
    if gift is None or rows.size == 0:
        return
    pop = world.pop
    pop.window_spend[rows] += amounts
    due = (pop.window_spend[rows] >= gift.spend_threshold) & (
        pop.gift_day[rows] < window_start(world, day)
    )
    r = rows[due]
    world.log.add("gifts_given", float(r.size))
    if r.size == 0:
        return
    pop.gift_day[r] = day
    pop.last_reward_day[r] = day
    world.log.add("gift_cost", gift.value * r.size)
    world.log.add("reward_cost", gift.value * r.size)
    pop.pv_contribution[r] -= gift.value * world.discount_factor(day)
    gain = world.scenario.responses.reward_satisfaction_gain
    pop.satisfaction[r] = np.minimum(1.0, pop.satisfaction[r] + gain)


def gift_progress(world: World, idx: np.ndarray | slice, day: int) -> np.ndarray:
    """Progress of ``idx`` toward this window's gift, in [0, 1] (0 once given this window)."""
    gift = world.scenario.loyalty.spend_gift
    pop = world.pop
    if gift is None:
        return np.zeros(pop.window_spend[idx].shape)
    progress = np.minimum(pop.window_spend[idx] * (1.0 / gift.spend_threshold), 1.0)
    progress[pop.gift_day[idx] >= window_start(world, day)] = 0.0
    return progress
