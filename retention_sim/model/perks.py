"""Perks for long tenure (seed 001 §4.7: give long-standing customers better prices, exclusive
discounts and services; "customers need to be rewarded for their loyalty").

A member whose tenure ``d − acquired_day`` is at least ``after_days`` holds the perk
(:class:`~retention_sim.config.loyalty.TenurePerk`). Holding it

- multiplies the points of their purchases by ``points_multiplier`` (the extra points are
  redeemable, as special days' are: :mod:`.bonus_points`);
- multiplies the daily hazard of ``churn_cause`` by ``hazard_multiplier``
  (:class:`~retention_sim.model.churn.Churn`);
- costs ``cost_per_year / 365`` a day per holder, booked as ``reward_cost`` (and
  ``perk_cost``) and taken off the holder's discounted contribution.

Tenure counts from the first purchase ever (``acquired_day``), also for a customer won back.
Holding the perk needs no draw: it follows from tenure and membership.
"""

from __future__ import annotations

import numpy as np

from ..config.loyalty import TenurePerk
from ..config.scenario import Scenario
from .world import World

__all__ = ["perk_of", "holders", "step"]


def perk_of(scenario: Scenario) -> TenurePerk | None:
    """The scenario's tenure perk, when the programme runs and has one."""
    loy = scenario.loyalty
    return loy.tenure_perk if loy.enabled else None


def holders(world: World, rows: np.ndarray | slice, day: int) -> np.ndarray:
    """Which of ``rows`` hold the perk on ``day`` (members with enough tenure; presence is not
    checked). All ``False`` without a perk."""
    perk = perk_of(world.scenario)
    pop = world.pop
    if perk is None:
        return np.zeros(pop.enrolled[rows].shape, dtype=bool)
    return pop.enrolled[rows] & (day - pop.acquired_day[rows] >= perk.after_days)


def step(world: World, day: int) -> None:
    """Book the day's cost of the perk for the holders in the base."""
    perk = perk_of(world.scenario)
    if perk is None or perk.cost_per_year <= 0:
        return
    held = holders(world, slice(None), day) & world.present
    n = int(np.count_nonzero(held))
    per_day = perk.cost_per_year / 365.0
    world.log.add("perk_cost", per_day * n)
    world.log.add("reward_cost", per_day * n)
    world.pop.pv_contribution[held] -= per_day * world.discount_factor(day)
