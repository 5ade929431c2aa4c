"""Arrivals: customers joining the base (from the acquisition funnel or through a referral)."""

from __future__ import annotations

import numpy as np

from ..vocabulary import Stage
from .purchases import book_purchases
from .world import World

__all__ = ["activate"]


def activate(world: World, rows: np.ndarray, day: int) -> None:
    """Bring pre-drawn rows into the base on ``day``: stage ``new``, first purchase booked.

    The first purchase is the arrival itself (the funnel's attraction → discovery → purchase),
    booked like any other purchase with the spend drawn when the row was created.
    """
    if rows.size == 0:
        return
    pop = world.pop
    world.present[rows] = True
    pop.stage[rows] = Stage.NEW
    pop.acquired_day[rows] = day
    pop.first_purchase_day[rows] = day
    pop.last_valued_touch_day[rows] = day
    pop.exposure[rows] = 0.0  # ties who left before this customer arrived do not count
    first = pop.extra["arrival_first_spend"][rows - pop.n_initial]
    pop.n_purchases[rows] = 0
    book_purchases(world, rows, first, day)
    world.log.add("arrivals", float(rows.size))
    cost = world.scenario.economics.acquisition_cost
    if cost:
        world.log.add("acquisition_cost", cost * rows.size)
